/* The polling schedule rule (see pollsched.h). */
#include "poller/pollsched.h"

#define BACKOFF_BASE_MS 30000
#define BACKOFF_MAX_MS 3600000

void pollsched_init(struct pollsched *s, int64_t now_ms)
{
    s->next_due = now_ms;
    s->failures = 0;
    s->auth_held = false;
}

void pollsched_reset(struct pollsched *s, int64_t now_ms)
{
    pollsched_init(s, now_ms);
}

bool pollsched_due(const struct pollsched *s, int64_t now_ms)
{
    return !s->auth_held && s->next_due <= now_ms;
}

int64_t pollsched_backoff_ms(int failures, int64_t interval_ms)
{
    int64_t d = BACKOFF_BASE_MS;
    for (int i = 1; i < failures && d < BACKOFF_MAX_MS; i++)
        d *= 2;
    if (d > BACKOFF_MAX_MS)
        d = BACKOFF_MAX_MS;
    if (interval_ms > BACKOFF_BASE_MS && d > interval_ms)
        d = interval_ms;
    return d;
}

enum pollsched_next pollsched_done(struct pollsched *s, bool ok, bool auth_rejected,
                                   bool interrupted, int64_t interval_ms, int64_t jitter_ms,
                                   int64_t now_ms, int64_t *delay_ms)
{
    int64_t delay;
    enum pollsched_next next;
    if (ok) {
        s->failures = 0;
        delay = interval_ms + jitter_ms;
        next = POLLSCHED_NEXT_INTERVAL;
    } else if (auth_rejected && !interrupted) {
        s->failures++;
        s->auth_held = true;
        delay = -1;
        next = POLLSCHED_NEXT_HELD;
    } else {
        s->failures++;
        delay = pollsched_backoff_ms(s->failures, interval_ms);
        next = POLLSCHED_NEXT_BACKOFF;
    }
    s->next_due = delay >= 0 ? now_ms + delay : INT64_MAX;
    if (delay_ms)
        *delay_ms = delay;
    return next;
}

int64_t pollsched_jitter(unsigned *seed, int64_t interval_ms)
{
    *seed = *seed * 1103515245u + 12345u;
    int64_t span = interval_ms / 5;
    return span > 0 ? (int64_t)(*seed % (unsigned)span) - span / 2 : 0;
}
