/* Backend dispatch: the database URL's scheme picks the ops table. */
#include "store/store_backend.h"

#include "config/config.h"
#include "core/fpset.h"
#include "util/err.h"
#include "util/str.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

struct bk_store {
    const struct store_ops *ops;
    void *impl;
};

/* A row as callers see it: the backend that produced it and the backend's own row (what the
 * backend handed to the callback), so row accessors dispatch per handle — a process may have
 * a SQLite and a PostgreSQL store open at once (db copy). Lives on the stack of the callback. */
struct store_row {
    const struct store_ops *ops;
    const struct store_row *raw;
};

static const struct store_ops *const backends[] = {
    &store_sqlite_ops,
#ifdef BK_HAVE_PG
    &store_pg_ops,
#endif
};

static int open_any(const struct bk_config *cfg, bool ro, struct bk_store **out, struct bk_err *err)
{
    *out = NULL;
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
        if (!str_starts_with(cfg->db_url, backends[i]->scheme))
            continue;
        void *impl = NULL;
        int rc = backends[i]->open(cfg, ro, &impl, err);
        if (rc < 0)
            return rc;
        struct bk_store *s = xcalloc(1, sizeof *s);
        s->ops = backends[i];
        s->impl = impl;
        *out = s;
        return 0;
    }
    return bk_err_set(err, BK_ECONFIG,
                      "database url \"%.40s…\": this build stores in SQLite only (sqlite://PATH); "
                      "it was built without libpq",
                      cfg->db_url);
}

int store_open(const struct bk_config *cfg, struct bk_store **out, struct bk_err *err)
{
    return open_any(cfg, false, out, err);
}

int store_open_ro(const struct bk_config *cfg, struct bk_store **out, struct bk_err *err)
{
    return open_any(cfg, true, out, err);
}

void store_close(struct bk_store *s)
{
    if (!s)
        return;
    s->ops->close(s->impl);
    free(s);
}

int store_background_start(struct bk_store *s, struct bk_err *err)
{
    return s->ops->background_checkpoints ? s->ops->background_checkpoints(s->impl, err) : 0;
}

void store_background_stop(struct bk_store *s)
{
    if (s->ops->background_checkpoints_stop)
        s->ops->background_checkpoints_stop();
}

enum store_engine store_engine(const struct bk_store *s)
{
    return s->ops == &store_sqlite_ops ? STORE_ENGINE_SQLITE : STORE_ENGINE_POSTGRESQL;
}

int store_schema_version(struct bk_store *s, int *version, struct bk_err *err)
{
    return s->ops->schema_version(s->impl, version, err);
}

int store_source_sync(struct bk_store *s, const struct bk_source_cfg *src, int64_t *id,
                      struct bk_err *err)
{
    return s->ops->source_sync(s->impl, src, id, err);
}

int store_state_get(struct bk_store *s, int64_t source_id, const char *key, char **value,
                    struct bk_err *err)
{
    return s->ops->state_get(s->impl, source_id, key, value, err);
}

int store_poll_begin(struct bk_store *s, int64_t source_id, const char *instance, int64_t *poll_id,
                     struct bk_err *err)
{
    return s->ops->poll_begin(s->impl, source_id, instance, poll_id, err);
}

int store_poll_stage(struct bk_store *s, int64_t poll_id, const struct bk_batch *b,
                     struct bk_err *err)
{
    return s->ops->poll_stage(s->impl, poll_id, b, err);
}

static int fp_row(const struct store_row *r, void *ud)
{
    bk_fpset_put(ud, store_row_text(r, 0), (uint64_t)store_row_int(r, 1));
    return 0;
}

int store_fingerprints_load(struct bk_store *s, int64_t source_id, struct bk_fpset *set,
                            struct bk_err *err)
{
    struct store_param p[] = {SP_INT(source_id)};
    return store_query(s,
                       "SELECT j.external_id, f.fp FROM job j JOIN job_fingerprint f"
                       " ON f.job_id = j.id WHERE j.source_id = ?1 AND j.retired_at IS NULL",
                       p, 1, fp_row, set, err);
}

int store_poll_finish(struct bk_store *s, int64_t poll_id, int64_t source_id,
                      const struct store_poll_outcome *o, struct store_apply_stats *st,
                      struct bk_err *err)
{
    return s->ops->poll_finish(s->impl, poll_id, source_id, o, st, err);
}

struct counter_ctx {
    int (*cb)(const char *, const char *, int64_t, void *);
    void *ud;
};

static int counter_row(const struct store_row *r, void *ud)
{
    const struct counter_ctx *c = ud;
    const char *a = store_row_text(r, 0), *b = store_row_text(r, 1);
    return c->cb(a ? a : "", b ? b : "", store_row_int(r, 2), c->ud);
}

int store_query_counters(struct bk_store *s, const char *sql,
                         int (*cb)(const char *a, const char *b, int64_t n, void *ud), void *ud,
                         struct bk_err *err)
{
    struct counter_ctx c = {cb, ud};
    return store_query(s, sql, NULL, 0, counter_row, &c, err);
}

int store_poll_counters_each(struct bk_store *s,
                             int (*cb)(const char *source, const char *result, int64_t n, void *ud),
                             void *ud, struct bk_err *err)
{
    return store_query_counters(s,
                                "SELECT s.name, c.result, c.n FROM poll_counter c"
                                " JOIN source s ON s.id = c.source_id ORDER BY s.name, c.result",
                                cb, ud, err);
}

bool store_source_up(int64_t last_ok_ms, int64_t interval_ms, int64_t now_ms)
{
    return last_ok_ms > 0 && now_ms - last_ok_ms <= 3 * interval_ms;
}

int store_status_each(struct bk_store *s, const char *customer,
                      int (*cb)(const struct store_status_row *r, void *ud), void *ud,
                      struct bk_err *err)
{
    return s->ops->status_each(s->impl, customer, cb, ud, err);
}

int store_source_each(struct bk_store *s, int (*cb)(const struct store_source_row *r, void *ud),
                      void *ud, struct bk_err *err)
{
    return s->ops->source_each(s->impl, cb, ud, err);
}

int store_review_job(struct bk_store *s, const char *source, const char *external_id,
                     const char *who, int64_t *n, struct bk_err *err)
{
    return s->ops->review_job(s->impl, source, external_id, who, n, err);
}

enum bk_run_status store_superseded_status(const char *bar, int64_t as_of_ms, int64_t start_ms,
                                           int64_t next_start_ms, int64_t others_that_day,
                                           char *digit)
{
    const int64_t day = 86400000;
    *digit = '\0';
    if (!bar || !*bar || as_of_ms <= 0 || start_ms <= 0 || others_that_day > 0)
        return BK_RUN_UNKNOWN;
    int64_t run_day = start_ms / day;
    /* The newer session on the same day may be what colours it. */
    if (next_start_ms <= 0 || next_start_ms / day <= run_day)
        return BK_RUN_UNKNOWN;
    /* The bar's last day is the vendor's today: at least our as-of day, and at least the day
     * of its newest session (its clock may be ahead of ours). */
    int64_t bar_day = as_of_ms / day > next_start_ms / day ? as_of_ms / day : next_start_ms / day;
    int64_t back = bar_day - run_day, n = (int64_t)strlen(bar);
    if (back < 0 || back >= n)
        return BK_RUN_UNKNOWN;
    char d = bar[n - 1 - back];
    enum bk_run_status st;
    switch (d) {
    case '5':
        st = BK_RUN_SUCCESS;
        break;
    case '8':
        st = BK_RUN_WARNING;
        break;
    case '2':
    case '3':
    case '6':
    case '7':
        st = BK_RUN_FAILED;
        break;
    case '4':
        st = BK_RUN_UNKNOWN;
        break;
    default: /* 0 nothing ran, 1/9 still running, anything else: the bar does not tell */
        return BK_RUN_UNKNOWN;
    }
    *digit = d;
    return st;
}

int store_prune_runs(struct bk_store *s, int64_t before_ms, int64_t *n, struct bk_err *err)
{
#define PRUNED                                                                                     \
    "SELECT id FROM job_run WHERE COALESCE(end_at, start_at, created_at) < ?1"                     \
    " AND reviewed_at IS NOT NULL"
    struct store_param p[] = {SP_INT(before_ms), SP_INT(bk_now_ms())};
    *n = 0;
    int rc = store_begin(s, err);
    if (rc < 0)
        return rc;
    if ((rc = store_exec(s,
                         "INSERT INTO run_tombstone (job_id, vendor_run_id, pruned_at)"
                         " SELECT job_id, vendor_run_id, ?2 FROM job_run WHERE id IN (" PRUNED ")"
                         " ON CONFLICT (job_id, vendor_run_id) DO NOTHING",
                         p, 2, NULL, NULL, err)) < 0 ||
        (rc = store_exec(s, "DELETE FROM job_object WHERE run_id IN (" PRUNED ")", p, 1, NULL, NULL,
                         err)) < 0 ||
        (rc = store_exec(s, "DELETE FROM remark_run WHERE run_id IN (" PRUNED ")", p, 1, NULL, NULL,
                         err)) < 0 ||
        /* a slot keeps its state (ran, missed) when the run that decided it is pruned */
        (rc = store_exec(s, "UPDATE job_slot SET run_id = NULL WHERE run_id IN (" PRUNED ")", p, 1,
                         NULL, NULL, err)) < 0 ||
        (rc = store_exec(s, "DELETE FROM job_run WHERE id IN (" PRUNED ")", p, 1, n, NULL, err)) <
            0 ||
        (rc = store_commit(s, err)) < 0) {
        store_rollback(s);
        *n = 0;
    }
    return rc;
#undef PRUNED
}

int store_prune_polls(struct bk_store *s, int64_t before_ms, int64_t *n, struct bk_err *err)
{
    struct store_param p[] = {SP_INT(before_ms)};
    return store_exec(s, "DELETE FROM poll_run WHERE started_at < ?1 AND result <> 'running'", p, 1,
                      n, NULL, err);
}

int store_prune_audit(struct bk_store *s, int64_t before_ms, int64_t *n, struct bk_err *err)
{
    struct store_param p[] = {SP_INT(before_ms)};
    return store_exec(s, "DELETE FROM audit WHERE at < ?1", p, 1, n, NULL, err);
}

int store_analyze(struct bk_store *s, struct bk_err *err)
{
    /* a whole ANALYZE (0.24 s at 300,000 runs on 2 cores): SQLite's sampled one
     * (analysis_limit) reads each index from its start, sees one customer and one review
     * state, and makes every filter look selective */
    return store_exec(s, "ANALYZE", NULL, 0, NULL, NULL, err);
}

int store_source_set_paused(struct bk_store *s, const char *name, bool paused, struct bk_err *err)
{
    struct store_param p[] = {SP_INT(paused ? 1 : 0), SP_TEXT(name)};
    return store_exec(s, "UPDATE source SET paused = ?1 WHERE name = ?2", p, 2, NULL, NULL, err);
}

static int known_row(const struct store_row *r, void *ud)
{
    (void)r;
    *(int *)ud = 1;
    return 1;
}

int store_customer_known(struct bk_store *s, const char *sel, struct bk_err *err)
{
    struct store_param p[] = {SP_TEXT(sel)};
    int n = 0;
    int rc =
        store_query(s, "SELECT 1 FROM customer WHERE name = ?1 OR CAST(id AS TEXT) = ?1 LIMIT 1", p,
                    1, known_row, &n, err);
    return rc < 0 ? rc : n;
}

int store_row_count(const struct store_row *r)
{
    return r->ops->row_count(r->raw);
}

bool store_row_is_null(const struct store_row *r, int col)
{
    return r->ops->row_is_null(r->raw, col);
}

const char *store_row_text(const struct store_row *r, int col)
{
    return r->ops->row_text(r->raw, col);
}

int64_t store_row_int(const struct store_row *r, int col)
{
    return r->ops->row_int(r->raw, col);
}

const char *store_row_name(const struct store_row *r, int col)
{
    return r->ops->row_name(r->raw, col);
}

struct row_wrap {
    const struct store_ops *ops;
    int (*cb)(const struct store_row *r, void *ud);
    void *ud;
};

static int row_wrap_cb(const struct store_row *raw, void *ud)
{
    const struct row_wrap *w = ud;
    struct store_row row = {.ops = w->ops, .raw = raw};
    return w->cb(&row, w->ud);
}

int store_query(struct bk_store *s, const char *sql, const struct store_param *p, size_t np,
                int (*cb)(const struct store_row *r, void *ud), void *ud, struct bk_err *err)
{
    struct row_wrap w = {.ops = s->ops, .cb = cb, .ud = ud};
    return s->ops->query(s->impl, sql, p, np, cb ? row_wrap_cb : NULL, &w, err);
}

int store_exec(struct bk_store *s, const char *sql, const struct store_param *p, size_t np,
               int64_t *changes, int64_t *last_id, struct bk_err *err)
{
    return s->ops->exec(s->impl, sql, p, np, changes, last_id, err);
}

int store_begin(struct bk_store *s, struct bk_err *err)
{
    return s->ops->begin(s->impl, err);
}

int store_begin_batch(struct bk_store *s, struct bk_err *err)
{
    return s->ops->begin_batch ? s->ops->begin_batch(s->impl, err) : s->ops->begin(s->impl, err);
}

int store_commit(struct bk_store *s, struct bk_err *err)
{
    return s->ops->commit(s->impl, err);
}

void store_rollback(struct bk_store *s)
{
    s->ops->rollback(s->impl);
}
