/* Alerts (issue 10): the SQL of incidents and of the outbox. The rules (what opens, closes or
 * reminds an incident) live in alert/engine.c; this module only reads and writes rows. */
#ifndef BK_STORE_ALERTS_H
#define BK_STORE_ALERTS_H

#include "store/page.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bk_err;
struct bk_store;

/* Every live job with what the rules need: its latest run and freshness inputs. Strings are
 * borrowed for the callback. */
struct store_alert_job {
    int64_t job_id, source_id;
    const char *customer, *customer_tz, *source, *job, *kind;
    int64_t run_id;          /* latest run, 0 none */
    const char *status;      /* its status ("none" if never ran) */
    const char *source_type; /* "expected" for Missed / offline runs */
    const char *message;
    bool override, reviewed;
    int64_t run_at;    /* its start (or end) */
    int consec_failed; /* failed non-overridden runs since the last other final run */
    int64_t last_real, warn_ms, crit_ms, first_seen; /* STORE_FRESH_COLUMNS */
};
int store_alert_jobs_each(struct bk_store *s, int (*cb)(const struct store_alert_job *j, void *ud),
                          void *ud, struct bk_err *err);

/* Every polled source with its last finished poll and last good poll. */
struct store_alert_source {
    int64_t id;
    const char *name, *kind;
    int64_t interval_ms, last_ok_at;
    const char *last_result, *last_error; /* of the latest finished poll, NULL if none */
};
int store_alert_sources_each(struct bk_store *s,
                             int (*cb)(const struct store_alert_source *r, void *ud), void *ud,
                             struct bk_err *err);

/* An open incident. */
struct store_incident {
    int64_t id;
    char *uid, *alert, *scope, *kind;
    int64_t target_id, run_id, opened_at, last_sent_at;
    bool muted;
    int seq;
};
/* All open incidents, sorted by (alert, scope, target_id). Free with store_incidents_free. */
int store_incidents_open(struct bk_store *s, struct store_incident **out, size_t *n,
                         struct bk_err *err);
void store_incidents_free(struct store_incident *v, size_t n);

/* Inside a transaction the caller holds: */
int store_incident_insert(struct bk_store *s, const char *uid, const char *alert, const char *scope,
                          int64_t target, const char *kind, int64_t run_id, bool muted,
                          int64_t now_ms, int64_t *id, struct bk_err *err);
/* seq, kind, run and last_sent_at after a message; closed when close is set. */
int store_incident_update(struct bk_store *s, int64_t id, int seq, const char *kind, int64_t run_id,
                          int64_t sent_at, bool close, int64_t now_ms, struct bk_err *err);
int store_outbox_insert(struct bk_store *s, const char *uid, const char *alert, const char *channel,
                        int64_t incident_id, int seq, const char *event, const char *title,
                        const char *payload, int64_t now_ms, struct bk_err *err);

/* The daily summary's inputs: each customer with its zone and live job count, and the
 * failed / missed / warning runs (not overridden) that started in [from_ms, to_ms). */
struct store_summary_customer {
    const char *name, *tz;
    int64_t jobs;
};
int store_summary_customers(struct bk_store *s,
                            int (*cb)(const struct store_summary_customer *c, void *ud), void *ud,
                            struct bk_err *err);
struct store_summary_run {
    const char *customer, *source, *job, *status, *message;
    int64_t job_id, start_at;
};
/* customer NULL = every customer. */
int store_summary_runs(struct bk_store *s, const char *customer, int64_t from_ms, int64_t to_ms,
                       int (*cb)(const struct store_summary_run *r, void *ud), void *ud,
                       struct bk_err *err);
/* Incidents of one section opened during maintenance and not yet in an end-of-window
 * summary (open or closed since), with what they concern. */
struct store_maint_incident {
    int64_t id, job_id;
    const char *scope, *kind, *customer, *tz, *source, *job;
    bool closed;
};
int store_maint_incidents(struct bk_store *s, const char *alert,
                          int (*cb)(const struct store_maint_incident *r, void *ud), void *ud,
                          struct bk_err *err);
/* Told by a summary: no longer muted (an open one now reminds and recovers as usual). */
int store_maint_told(struct bk_store *s, int64_t id, int64_t now_ms, struct bk_err *err);
/* Whether an outbox row with this uid exists. */
/* /metrics: backupctl_alerts_sent_total by channel and result, and the messages waiting
 * (pending or being sent). */
int store_alert_counters_each(struct bk_store *s,
                              int (*cb)(const char *channel, const char *result, int64_t n,
                                        void *ud),
                              void *ud, struct bk_err *err);
int store_alert_pending(struct bk_store *s, int64_t *n, struct bk_err *err);
int store_outbox_exists(struct bk_store *s, const char *uid, bool *exists, struct bk_err *err);

/* Delivery: claim up to max due rows (pending with next_at <= now, or sending with an expired
 * claim) for lease_ms in one transaction; cb gets each claimed row afterwards. */
struct store_outbox_row {
    int64_t id;
    const char *uid, *alert, *channel, *event, *title, *payload;
    int seq, attempts;
    const char *incident_uid;
};
int store_outbox_claim(struct bk_store *s, const char *instance, int64_t now_ms, int64_t lease_ms,
                       int max, int (*cb)(const struct store_outbox_row *r, void *ud), void *ud,
                       struct bk_err *err);
/* The outcome of one attempt: state "sent", "pending" (retry at next_at) or "failed"; counts
 * it in alert_counter (result sent|retry|failed). Only the claimer's row is updated. */
int store_outbox_done(struct bk_store *s, int64_t id, const char *instance, const char *state,
                      int64_t next_at, long code, const char *error, int64_t now_ms,
                      struct bk_err *err);
/* Give a claimed row back unsent (the worker is stopping): pending again, the claim's attempt
 * not counted. */
int store_outbox_release(struct bk_store *s, int64_t id, const char *instance, struct bk_err *err);
/* Retry now: a failed or pending row becomes pending, due now. *found false if no such row. */
int store_outbox_retry(struct bk_store *s, int64_t id, int64_t now_ms, bool *found,
                       struct bk_err *err);

/* GET /api/v1/alerts, the outbox newest first: id, alert, channel, event, title, state,
 * attempts, next_at, last_error, last_code, created_at, sent_at, incident uid, job id (of a job
 * incident). Conditions on it ('?' placeholders) below. */
extern const struct store_listq STORE_LIST_ALERTS;
#define STORE_ALERTS_STATE "o.state = ?"
#define STORE_ALERTS_ALERT "o.alert = ?"

#endif
