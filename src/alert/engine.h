/* The alert rules (issue 10): after every poll and expected-runs evaluation, compare each
 * job's and source's condition with the open incidents of every [alert] section it matches,
 * and open, follow up, remind or close incidents, queuing one outbox row per message and
 * channel in the same transaction as the incident change. Because it compares states (not
 * events), an evaluation that did not happen (a crash right after a poll) is made up by the
 * next one: nothing is lost, nothing is sent twice. now_ms is injectable (tests). */
#ifndef BK_ALERT_ENGINE_H
#define BK_ALERT_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

struct bk_config;
struct bk_maint_cfg;
struct bk_store;
struct bk_err;

struct alert_eval_stats {
    int64_t opened, followups, reminders, closed, muted, queued;
};
int alert_evaluate(struct bk_store *s, const struct bk_config *cfg, int64_t now_ms,
                   struct alert_eval_stats *st, struct bk_err *err);

/* Is the maintenance window open at now_ms (tz: the zone name its times are in, NULL = the
 * server's)? One-off: [start, end); recurring: a cron start within the last duration. */
bool alert_maint_open(const struct bk_maint_cfg *m, const char *tz, int64_t now_ms);

#endif
