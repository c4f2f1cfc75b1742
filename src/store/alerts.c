/* Alerts (issue 10): incidents and the outbox, SQL only (see alerts.h). */
#include "store/alerts.h"

#include "store/store.h"
#include "util/err.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

struct jobs_ctx {
    int (*cb)(const struct store_alert_job *j, void *ud);
    void *ud;
};

static int job_row(const struct store_row *r, void *ud)
{
    struct jobs_ctx *c = ud;
    struct store_alert_job j = {
        .job_id = store_row_int(r, 0),
        .source_id = store_row_int(r, 1),
        .customer = store_row_text(r, 2),
        .customer_tz = store_row_text(r, 3),
        .source = store_row_text(r, 4),
        .job = store_row_text(r, 5),
        .kind = store_row_text(r, 6),
        .run_id = store_row_int(r, 7),
        .status = store_row_text(r, 8),
        .source_type = store_row_text(r, 9),
        .message = store_row_text(r, 10),
        .override = store_row_int(r, 11) != 0,
        .reviewed = store_row_int(r, 12) != 0,
        .run_at = store_row_int(r, 13),
        .consec_failed = (int)store_row_int(r, 14),
        .last_real = store_row_int(r, 15),
        .warn_ms = store_row_int(r, 16),
        .crit_ms = store_row_int(r, 17),
        .first_seen = store_row_int(r, 18),
    };
    return c->cb(&j, c->ud);
}

int store_alert_jobs_each(struct bk_store *s, int (*cb)(const struct store_alert_job *j, void *ud),
                          void *ud, struct bk_err *err)
{
    struct jobs_ctx c = {cb, ud};
    /* consec_failed only for a job whose latest run failed: the failed runs after the newest
     * run that is final and not failed (an overridden failure counts as success). */
    return store_query(
        s,
        "SELECT j.id, j.source_id, COALESCE(c.name, ''), c.timezone, s.name, j.name, j.kind,"
        " COALESCE(r.id, 0), COALESCE(r.status, 'none'), r.source_type, r.message,"
        " COALESCE(r.override, 0), r.reviewed_at IS NOT NULL, COALESCE(r.start_at, r.end_at, 0),"
        " CASE WHEN r.status = 'failed' AND COALESCE(r.override, 0) = 0 THEN"
        "  (SELECT COUNT(*) FROM job_run f WHERE f.job_id = j.id AND f.status = 'failed'"
        "   AND f.override = 0 AND f.start_at > COALESCE((SELECT MAX(g.start_at) FROM job_run g"
        "    WHERE g.job_id = j.id AND g.status <> 'running'"
        "    AND (g.status <> 'failed' OR g.override = 1)), 0))"
        " ELSE 0 END,"
        " " STORE_FRESH_COLUMNS " FROM job j JOIN source s ON s.id = j.source_id"
        " LEFT JOIN customer c ON c.id = j.customer_id"
        " LEFT JOIN job_run r ON r.id = " STORE_LATEST_RUN_OF(
            "j.id") " WHERE j.retired_at IS NULL ORDER BY j.id",
        NULL, 0, job_row, &c, err);
}

struct src_ctx {
    int (*cb)(const struct store_alert_source *r, void *ud);
    void *ud;
};

static int source_row(const struct store_row *r, void *ud)
{
    struct src_ctx *c = ud;
    struct store_alert_source x = {
        .id = store_row_int(r, 0),
        .name = store_row_text(r, 1),
        .kind = store_row_text(r, 2),
        .interval_ms = store_row_int(r, 3),
        .last_ok_at = store_row_int(r, 4),
        .last_result = store_row_text(r, 5),
        .last_error = store_row_text(r, 6),
    };
    return c->cb(&x, c->ud);
}

int store_alert_sources_each(struct bk_store *s,
                             int (*cb)(const struct store_alert_source *r, void *ud), void *ud,
                             struct bk_err *err)
{
    struct src_ctx c = {cb, ud};
    return store_query(s,
                       "SELECT s.id, s.name, s.kind, s.interval_ms,"
                       " COALESCE((SELECT MAX(finished_at) FROM poll_run x WHERE x.source_id = s.id"
                       "  AND x.result = 'ok'), 0), p.result, p.error"
                       " FROM source s LEFT JOIN poll_run p ON p.id = (SELECT id FROM poll_run y"
                       "  WHERE y.source_id = s.id AND y.result <> 'running'"
                       "  ORDER BY y.started_at DESC, y.id DESC LIMIT 1)"
                       " WHERE s.kind <> 'push' ORDER BY s.id",
                       NULL, 0, source_row, &c, err);
}

struct inc_ctx {
    struct store_incident *v;
    size_t n, cap;
};

static int inc_row(const struct store_row *r, void *ud)
{
    struct inc_ctx *c = ud;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->v = xrealloc(c->v, c->cap * sizeof *c->v);
    }
    struct store_incident *i = &c->v[c->n++];
    i->id = store_row_int(r, 0);
    i->uid = xstrdup(store_row_text(r, 1));
    i->alert = xstrdup(store_row_text(r, 2));
    i->scope = xstrdup(store_row_text(r, 3));
    i->target_id = store_row_int(r, 4);
    i->kind = xstrdup(store_row_text(r, 5));
    i->run_id = store_row_int(r, 6);
    i->muted = store_row_int(r, 7) != 0;
    i->seq = (int)store_row_int(r, 8);
    i->opened_at = store_row_int(r, 9);
    i->last_sent_at = store_row_int(r, 10);
    return 0;
}

int store_incidents_open(struct bk_store *s, struct store_incident **out, size_t *n,
                         struct bk_err *err)
{
    struct inc_ctx c = {0};
    int rc =
        store_query(s,
                    "SELECT id, uid, alert, scope, target_id, kind, COALESCE(run_id, 0), muted,"
                    " seq, opened_at, COALESCE(last_sent_at, 0) FROM alert_incident"
                    " WHERE closed_at IS NULL ORDER BY alert, scope, target_id",
                    NULL, 0, inc_row, &c, err);
    if (rc < 0) {
        store_incidents_free(c.v, c.n);
        return rc;
    }
    *out = c.v;
    *n = c.n;
    return 0;
}

void store_incidents_free(struct store_incident *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].uid);
        free(v[i].alert);
        free(v[i].scope);
        free(v[i].kind);
    }
    free(v);
}

int store_incident_insert(struct bk_store *s, const char *uid, const char *alert, const char *scope,
                          int64_t target, const char *kind, int64_t run_id, bool muted,
                          int64_t now_ms, int64_t *id, struct bk_err *err)
{
    struct store_param p[] = {SP_TEXT(uid),   SP_TEXT(alert), SP_TEXT(scope),
                              SP_INT(target), SP_TEXT(kind),  run_id ? SP_INT(run_id) : SP_NULL,
                              SP_INT(muted),  SP_INT(now_ms), muted ? SP_NULL : SP_INT(now_ms)};
    return store_exec(s,
                      "INSERT INTO alert_incident (uid, alert, scope, target_id, kind, run_id,"
                      " muted, muted_summary, seq, opened_at, last_sent_at)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, 0, ?8, ?9)",
                      p, 9, NULL, id, err);
}

int store_incident_update(struct bk_store *s, int64_t id, int seq, const char *kind, int64_t run_id,
                          int64_t sent_at, bool close, int64_t now_ms, struct bk_err *err)
{
    struct store_param p[] = {SP_INT(id),
                              SP_INT(seq),
                              SP_TEXT(kind),
                              run_id ? SP_INT(run_id) : SP_NULL,
                              sent_at ? SP_INT(sent_at) : SP_NULL,
                              close ? SP_INT(now_ms) : SP_NULL};
    return store_exec(
        s,
        "UPDATE alert_incident SET seq = ?2, kind = ?3, run_id = COALESCE(?4, run_id),"
        " last_sent_at = COALESCE(?5, last_sent_at), closed_at = ?6 WHERE id = ?1",
        p, 6, NULL, NULL, err);
}

int store_outbox_insert(struct bk_store *s, const char *uid, const char *alert, const char *channel,
                        int64_t incident_id, int seq, const char *event, const char *title,
                        const char *payload, int64_t now_ms, struct bk_err *err)
{
    struct store_param p[] = {SP_TEXT(uid),     SP_TEXT(alert),
                              SP_TEXT(channel), incident_id ? SP_INT(incident_id) : SP_NULL,
                              SP_INT(seq),      SP_TEXT(event),
                              SP_TEXT(title),   SP_TEXT(payload),
                              SP_INT(now_ms)};
    return store_exec(s,
                      "INSERT INTO alert_outbox (uid, alert, channel, incident_id, seq, event,"
                      " title, payload, state, attempts, next_at, created_at)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', 0, ?9, ?9)",
                      p, 9, NULL, NULL, err);
}

struct claim_ctx {
    int64_t *ids;
    size_t n, cap;
};

static int claim_id(const struct store_row *r, void *ud)
{
    struct claim_ctx *c = ud;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->ids = xrealloc(c->ids, c->cap * sizeof *c->ids);
    }
    c->ids[c->n++] = store_row_int(r, 0);
    return 0;
}

struct each_ctx {
    int (*cb)(const struct store_outbox_row *r, void *ud);
    void *ud;
};

static int outbox_row(const struct store_row *r, void *ud)
{
    struct each_ctx *c = ud;
    struct store_outbox_row o = {
        .id = store_row_int(r, 0),
        .uid = store_row_text(r, 1),
        .alert = store_row_text(r, 2),
        .channel = store_row_text(r, 3),
        .event = store_row_text(r, 4),
        .title = store_row_text(r, 5),
        .payload = store_row_text(r, 6),
        .seq = (int)store_row_int(r, 7),
        .attempts = (int)store_row_int(r, 8),
        .incident_uid = store_row_text(r, 9),
    };
    return c->cb(&o, c->ud);
}

int store_outbox_claim(struct bk_store *s, const char *instance, int64_t now_ms, int64_t lease_ms,
                       int max, int (*cb)(const struct store_outbox_row *r, void *ud), void *ud,
                       struct bk_err *err)
{
    struct claim_ctx c = {0};
    int rc = store_begin(s, err);
    if (rc < 0)
        return rc;
    struct store_param p[] = {SP_INT(now_ms), SP_INT(max)};
    rc = store_query(s,
                     "SELECT id FROM alert_outbox WHERE (state = 'pending' AND next_at <= ?1)"
                     " OR (state = 'sending' AND claimed_until < ?1) ORDER BY next_at, id LIMIT ?2",
                     p, 2, claim_id, &c, err);
    for (size_t i = 0; rc >= 0 && i < c.n; i++) {
        struct store_param q[] = {SP_INT(c.ids[i]), SP_TEXT(instance), SP_INT(now_ms + lease_ms)};
        rc = store_exec(s,
                        "UPDATE alert_outbox SET state = 'sending', claimed_by = ?2,"
                        " claimed_until = ?3, attempts = attempts + 1 WHERE id = ?1",
                        q, 3, NULL, NULL, err);
    }
    if (rc < 0) {
        store_rollback(s);
        free(c.ids);
        return rc;
    }
    if ((rc = store_commit(s, err)) < 0) {
        free(c.ids);
        return rc;
    }
    struct each_ctx e = {cb, ud};
    for (size_t i = 0; rc >= 0 && i < c.n; i++) {
        struct store_param q[] = {SP_INT(c.ids[i]), SP_TEXT(instance)};
        rc = store_query(s,
                         "SELECT o.id, o.uid, o.alert, o.channel, o.event, o.title, o.payload,"
                         " o.seq, o.attempts, COALESCE(i.uid, o.uid) FROM alert_outbox o"
                         " LEFT JOIN alert_incident i ON i.id = o.incident_id"
                         " WHERE o.id = ?1 AND o.claimed_by = ?2",
                         q, 2, outbox_row, &e, err);
    }
    free(c.ids);
    return rc < 0 ? rc : (int)c.n;
}

int store_outbox_done(struct bk_store *s, int64_t id, const char *instance, const char *state,
                      int64_t next_at, long code, const char *error, int64_t now_ms,
                      struct bk_err *err)
{
    int rc = store_begin(s, err);
    if (rc < 0)
        return rc;
    bool sent = strcmp(state, "sent") == 0;
    struct store_param p[] = {SP_INT(id),
                              SP_TEXT(instance),
                              SP_TEXT(state),
                              SP_INT(next_at),
                              code ? SP_INT(code) : SP_NULL,
                              SP_TEXT(error && *error ? error : NULL),
                              sent ? SP_INT(now_ms) : SP_NULL};
    int64_t changes = 0;
    rc = store_exec(s,
                    "UPDATE alert_outbox SET state = ?3, next_at = ?4, last_code = ?5,"
                    " last_error = ?6, sent_at = ?7, claimed_by = NULL, claimed_until = NULL"
                    " WHERE id = ?1 AND claimed_by = ?2 AND state = 'sending'",
                    p, 7, &changes, NULL, err);
    if (rc >= 0 && changes > 0) {
        struct store_param q[] = {SP_INT(id), SP_TEXT(sent                            ? "sent"
                                                      : strcmp(state, "pending") == 0 ? "retry"
                                                                                      : "failed")};
        rc = store_exec(s,
                        "INSERT INTO alert_counter (channel, result, n)"
                        " SELECT channel, ?2, 1 FROM alert_outbox WHERE id = ?1"
                        " ON CONFLICT (channel, result) DO UPDATE SET n = alert_counter.n + 1",
                        q, 2, NULL, NULL, err);
    }
    if (rc < 0) {
        store_rollback(s);
        return rc;
    }
    return store_commit(s, err);
}

int store_outbox_release(struct bk_store *s, int64_t id, const char *instance, struct bk_err *err)
{
    struct store_param p[] = {SP_INT(id), SP_TEXT(instance)};
    return store_exec(s,
                      "UPDATE alert_outbox SET state = 'pending', attempts = attempts - 1,"
                      " claimed_by = NULL, claimed_until = NULL"
                      " WHERE id = ?1 AND claimed_by = ?2 AND state = 'sending'",
                      p, 2, NULL, NULL, err);
}

int store_outbox_retry(struct bk_store *s, int64_t id, int64_t now_ms, bool *found,
                       struct bk_err *err)
{
    struct store_param p[] = {SP_INT(id), SP_INT(now_ms)};
    int64_t changes = 0;
    int rc = store_exec(s,
                        "UPDATE alert_outbox SET state = 'pending', next_at = ?2"
                        " WHERE id = ?1 AND state IN ('failed', 'pending')",
                        p, 2, &changes, NULL, err);
    *found = changes > 0;
    return rc;
}

struct sc_ctx {
    int (*cb)(const struct store_summary_customer *c, void *ud);
    void *ud;
};

static int sc_row(const struct store_row *r, void *ud)
{
    struct sc_ctx *c = ud;
    struct store_summary_customer x = {
        .name = store_row_text(r, 0), .tz = store_row_text(r, 1), .jobs = store_row_int(r, 2)};
    return c->cb(&x, c->ud);
}

int store_summary_customers(struct bk_store *s,
                            int (*cb)(const struct store_summary_customer *c, void *ud), void *ud,
                            struct bk_err *err)
{
    struct sc_ctx c = {cb, ud};
    return store_query(s,
                       "SELECT COALESCE(c.name, ''), MAX(c.timezone), COUNT(*) FROM job j"
                       " LEFT JOIN customer c ON c.id = j.customer_id WHERE j.retired_at IS NULL"
                       " GROUP BY COALESCE(c.name, '') ORDER BY 1",
                       NULL, 0, sc_row, &c, err);
}

struct sr_ctx {
    int (*cb)(const struct store_summary_run *r, void *ud);
    void *ud;
};

static int sr_row(const struct store_row *r, void *ud)
{
    struct sr_ctx *c = ud;
    struct store_summary_run x = {.customer = store_row_text(r, 0),
                                  .source = store_row_text(r, 1),
                                  .job = store_row_text(r, 2),
                                  .status = store_row_text(r, 3),
                                  .message = store_row_text(r, 4),
                                  .job_id = store_row_int(r, 5),
                                  .start_at = store_row_int(r, 6)};
    return c->cb(&x, c->ud);
}

int store_summary_runs(struct bk_store *s, const char *customer, int64_t from_ms, int64_t to_ms,
                       int (*cb)(const struct store_summary_run *r, void *ud), void *ud,
                       struct bk_err *err)
{
    struct sr_ctx c = {cb, ud};
    struct store_param p[] = {SP_TEXT(customer), SP_INT(from_ms), SP_INT(to_ms)};
    return store_query(
        s,
        "SELECT COALESCE(c.name, ''), s.name, j.name, r.status, r.message, j.id,"
        " r.start_at FROM job_run r JOIN job j ON j.id = r.job_id"
        " JOIN source s ON s.id = j.source_id"
        " LEFT JOIN customer c ON c.id = j.customer_id"
        " WHERE r.start_at >= ?2 AND r.start_at < ?3 AND r.override = 0"
        " AND r.status IN ('failed', 'missed', 'warning') AND j.retired_at IS NULL"
        " AND (CAST(?1 AS TEXT) IS NULL OR COALESCE(c.name, '') = ?1)"
        " ORDER BY CASE r.status WHEN 'failed' THEN 0 WHEN 'missed' THEN 1 ELSE 2 END,"
        " c.name, j.name, r.start_at LIMIT 500",
        p, 3, sr_row, &c, err);
}

static int exists_row(const struct store_row *r, void *ud)
{
    (void)r;
    *(bool *)ud = true;
    return 0;
}

int store_outbox_exists(struct bk_store *s, const char *uid, bool *exists, struct bk_err *err)
{
    *exists = false;
    struct store_param p[] = {SP_TEXT(uid)};
    return store_query(s, "SELECT 1 FROM alert_outbox WHERE uid = ?1", p, 1, exists_row, exists,
                       err);
}

struct mp_ctx {
    int (*cb)(const struct store_maint_incident *r, void *ud);
    void *ud;
};

static int mp_row(const struct store_row *r, void *ud)
{
    struct mp_ctx *c = ud;
    struct store_maint_incident x = {.id = store_row_int(r, 0),
                                     .scope = store_row_text(r, 1),
                                     .kind = store_row_text(r, 2),
                                     .closed = store_row_int(r, 3) != 0,
                                     .customer = store_row_text(r, 4),
                                     .tz = store_row_text(r, 5),
                                     .source = store_row_text(r, 6),
                                     .job = store_row_text(r, 7),
                                     .job_id = store_row_int(r, 8)};
    return c->cb(&x, c->ud);
}

int store_maint_incidents(struct bk_store *s, const char *alert,
                          int (*cb)(const struct store_maint_incident *r, void *ud), void *ud,
                          struct bk_err *err)
{
    struct mp_ctx c = {cb, ud};
    struct store_param p[] = {SP_TEXT(alert)};
    return store_query(s,
                       "SELECT i.id, i.scope, i.kind, i.closed_at IS NOT NULL, c.name, c.timezone,"
                       " COALESCE(s.name, x.name), j.name, j.id FROM alert_incident i"
                       " LEFT JOIN job j ON i.scope = 'job' AND j.id = i.target_id"
                       " LEFT JOIN source s ON s.id = j.source_id"
                       " LEFT JOIN source x ON i.scope = 'source' AND x.id = i.target_id"
                       " LEFT JOIN customer c ON c.id = j.customer_id"
                       " WHERE i.alert = ?1 AND i.muted_summary = 1 ORDER BY i.id",
                       p, 1, mp_row, &c, err);
}

int store_maint_told(struct bk_store *s, int64_t id, int64_t now_ms, struct bk_err *err)
{
    struct store_param p[] = {SP_INT(id), SP_INT(now_ms)};
    return store_exec(s,
                      "UPDATE alert_incident SET muted = 0, muted_summary = 0,"
                      " last_sent_at = CASE WHEN closed_at IS NULL THEN ?2 ELSE last_sent_at END"
                      " WHERE id = ?1",
                      p, 2, NULL, NULL, err);
}

int store_alert_counters_each(struct bk_store *s,
                              int (*cb)(const char *channel, const char *result, int64_t n,
                                        void *ud),
                              void *ud, struct bk_err *err)
{
    return store_query_counters(
        s, "SELECT channel, result, n FROM alert_counter ORDER BY channel, result", cb, ud, err);
}

static int alert_pending_row(const struct store_row *r, void *ud)
{
    *(int64_t *)ud = store_row_int(r, 0);
    return 0;
}

int store_alert_pending(struct bk_store *s, int64_t *n, struct bk_err *err)
{
    *n = 0;
    int rc =
        store_query(s, "SELECT COUNT(*) FROM alert_outbox WHERE state IN ('pending', 'sending')",
                    NULL, 0, alert_pending_row, n, err);
    return rc < 0 ? rc : 0;
}

const struct store_listq STORE_LIST_ALERTS = {
    .select = "o.id, o.alert, o.channel, o.event, o.title, o.state, o.attempts, o.next_at,"
              " o.last_error, o.last_code, o.created_at, o.sent_at, i.uid,"
              " CASE WHEN i.scope = 'job' THEN i.target_id END",
    .from = "alert_outbox o LEFT JOIN alert_incident i ON i.id = o.incident_id",
    .count_from = "alert_outbox o",
    .order = "o.id DESC",
};
