/* The backend interface behind store.h: one const ops table per database engine (SQLite
 * today, PostgreSQL next), chosen from the database URL's scheme in store.c. */
#ifndef BK_STORE_BACKEND_H
#define BK_STORE_BACKEND_H

#include "store/store.h"

/* SQL both engines run as written, for the ops that are not generic queries. */
/* source_each: each source with its latest poll, last success and last duration. */
#define STORE_SQL_SOURCE_EACH                                                                      \
    "SELECT s.name, s.kind, s.interval_ms, s.paused, p.started_at, p.result, p.error,"             \
    " (SELECT MAX(finished_at) FROM poll_run x WHERE x.source_id = s.id AND x.result = 'ok'),"     \
    " (SELECT z.finished_at - z.started_at FROM poll_run z"                                        \
    "  WHERE z.source_id = s.id AND z.finished_at IS NOT NULL"                                     \
    "  ORDER BY z.started_at DESC, z.id DESC LIMIT 1)"                                             \
    " FROM source s LEFT JOIN poll_run p ON p.id = (SELECT id FROM poll_run y"                     \
    "  WHERE y.source_id = s.id ORDER BY y.started_at DESC, y.id DESC LIMIT 1)"                    \
    " ORDER BY s.name"

struct store_ops {
    const char *scheme;
    int (*open)(const struct bk_config *cfg, bool readonly, void **impl, struct bk_err *err);
    void (*close)(void *impl);
    int (*schema_version)(void *impl, int *version, struct bk_err *err);
    int (*source_sync)(void *impl, const struct bk_source_cfg *src, int64_t *id,
                       struct bk_err *err);
    int (*state_get)(void *impl, int64_t source_id, const char *key, char **value,
                     struct bk_err *err);
    int (*poll_begin)(void *impl, int64_t source_id, const char *instance, int64_t *poll_id,
                      struct bk_err *err);
    int (*poll_stage)(void *impl, int64_t poll_id, const struct bk_batch *b, struct bk_err *err);
    int (*poll_finish)(void *impl, int64_t poll_id, int64_t source_id,
                       const struct store_poll_outcome *o, struct store_apply_stats *st,
                       struct bk_err *err);
    int (*status_each)(void *impl, const char *customer,
                       int (*cb)(const struct store_status_row *r, void *ud), void *ud,
                       struct bk_err *err);
    int (*source_each)(void *impl, int (*cb)(const struct store_source_row *r, void *ud), void *ud,
                       struct bk_err *err);
    int (*review_job)(void *impl, const char *source, const char *external_id, const char *who,
                      int64_t *n, struct bk_err *err);
    int (*query)(void *impl, const char *sql, const struct store_param *p, size_t np,
                 int (*cb)(const struct store_row *r, void *ud), void *ud, struct bk_err *err);
    int (*exec)(void *impl, const char *sql, const struct store_param *p, size_t np,
                int64_t *changes, int64_t *last_id, struct bk_err *err);
    int (*begin)(void *impl, struct bk_err *err);
    /* Optional (NULL: begin): a transaction whose result-less writes may be sent ahead. */
    int (*begin_batch)(void *impl, struct bk_err *err);
    int (*commit)(void *impl, struct bk_err *err);
    void (*rollback)(void *impl);
    /* Row accessors of this backend. The row pointer is the backend's own (what its query
     * handed to the callback; store.c wraps it with the ops before callers see it). */
    int (*row_count)(const struct store_row *r);
    bool (*row_is_null)(const struct store_row *r, int col);
    const char *(*row_text)(const struct store_row *r, int col);
    int64_t (*row_int)(const struct store_row *r, int col);
    const char *(*row_name)(const struct store_row *r, int col);
    /* Optional (NULL: the engine has nothing to do): move this process's routine
     * maintenance (SQLite's WAL checkpoints) off the request path, for this handle and every
     * handle opened later, until stopped. */
    int (*background_checkpoints)(void *impl, struct bk_err *err);
    void (*background_checkpoints_stop)(void);
};

extern const struct store_ops store_sqlite_ops;
#ifdef BK_HAVE_PG
extern const struct store_ops store_pg_ops;
#endif

#endif
