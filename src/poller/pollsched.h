/* The one scheduling rule of polling, shared by `backupctl poll` (loop mode) and `serve`:
 * when a source is due, how long a failing source waits (capped exponential backoff), and the
 * hold after rejected credentials — DESIGN §6: a source whose login was refused is not
 * retried in a loop (that can lock the vendor account) until its configuration changes or an
 * admin resumes it. Pure: the caller passes the monotonic time and the jitter. */
#ifndef BK_POLLER_POLLSCHED_H
#define BK_POLLER_POLLSCHED_H

#include <stdbool.h>
#include <stdint.h>

struct pollsched {
    int64_t next_due; /* monotonic ms */
    int failures;     /* consecutive failed polls */
    bool auth_held;   /* credentials rejected: never due until pollsched_reset() */
};

/* What pollsched_done() decided. */
enum pollsched_next {
    POLLSCHED_NEXT_INTERVAL, /* ok: due again after the interval (+ jitter) */
    POLLSCHED_NEXT_BACKOFF,  /* failed: due again after the backoff */
    POLLSCHED_NEXT_HELD,     /* credentials rejected: held */
};

/* A new source, due at once. */
void pollsched_init(struct pollsched *s, int64_t now_ms);
/* The configuration changed or an admin resumed it: due at once, failures and hold cleared. */
void pollsched_reset(struct pollsched *s, int64_t now_ms);
/* Whether a poll should start now. */
bool pollsched_due(const struct pollsched *s, int64_t now_ms);

/* Record a finished poll: ok (applied), or failed with auth_rejected when the vendor refused
 * the credentials (BK_EAUTH). interrupted: the poll was stopped by a signal (no hold: the
 * failure says nothing about the credentials). jitter_ms is added to the interval only.
 * *delay_ms (may be NULL) gets the wait until the next try (-1 when held). */
enum pollsched_next pollsched_done(struct pollsched *s, bool ok, bool auth_rejected,
                                   bool interrupted, int64_t interval_ms, int64_t jitter_ms,
                                   int64_t now_ms, int64_t *delay_ms);

/* Delay before retrying after the n-th consecutive failure (n >= 1): 30 s doubled per
 * failure, capped at 1 h, and never longer than an interval above 30 s. */
int64_t pollsched_backoff_ms(int failures, int64_t interval_ms);

/* ±10 % of interval_ms from a caller-owned seed (so sources with one interval do not poll in
 * lockstep). Not thread-safe on one seed. */
int64_t pollsched_jitter(unsigned *seed, int64_t interval_ms);

#endif
