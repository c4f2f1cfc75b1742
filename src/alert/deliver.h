/* The alert delivery worker (issue 10): claims due outbox rows, sends each through its
 * channel once, and records sent / retry at (backoff, or the receiver's Retry-After) /
 * failed (after ALERT_MAX_ATTEMPTS or a permanent refusal). Every attempt of a row carries
 * the same Idempotency-Key (the row's uid). A row a dead worker left claimed is taken again
 * when its lease expires: delivery is at least once, never lost. */
#ifndef BK_ALERT_DELIVER_H
#define BK_ALERT_DELIVER_H

#include <signal.h>
#include <stdint.h>

struct bk_config;
struct bk_store;
struct bk_err;

#define ALERT_MAX_ATTEMPTS 12
#define ALERT_LEASE_MS (5 * 60 * 1000)

struct alert_deliver_stats {
    int64_t sent, retried, failed;
};
/* One round: at most max rows. Returns the rows handled, or <0. */
/* stop (may be NULL): when set, no further row is started (a claimed row left is taken again
 * when its lease ends). */
int alert_deliver_due(struct bk_store *s, const struct bk_config *cfg, const char *instance,
                      int64_t now_ms, int max, volatile sig_atomic_t *stop,
                      struct alert_deliver_stats *st, struct bk_err *err);
/* Backoff before attempt n+1 after n failed ones: 30 s doubling to 1 h. */
int64_t alert_backoff_ms(int attempts);

#endif
