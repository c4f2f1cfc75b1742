/* The SQL of remarks (remarks.h). */
#include "store/remarks.h"

#include "store/store.h"

#define REMARK_COLUMNS "m.id, m.body, m.created_by, m.created_at"
#define REMARK_ORDER "m.created_at DESC, m.id DESC"

const struct store_listq STORE_LIST_REMARKS = {
    .select = REMARK_COLUMNS,
    .from = "remark m",
    .count_from = NULL,
    .order = REMARK_ORDER,
};

static int count_cb(const struct store_row *r, void *ud)
{
    *(int64_t *)ud = store_row_int(r, 0);
    return 0;
}

int store_remark_get(struct bk_store *s, int64_t id, int (*cb)(const struct store_row *r, void *ud),
                     void *ud, struct bk_err *err)
{
    struct store_param p[] = {SP_INT(id)};
    return store_query(s, "SELECT " REMARK_COLUMNS " FROM remark m WHERE m.id = ?1", p, 1, cb, ud,
                       err) < 0
               ? -1
               : 0;
}

int store_remarks_of_run(struct bk_store *s, int64_t run_id,
                         int (*cb)(const struct store_row *r, void *ud), void *ud,
                         struct bk_err *err)
{
    struct store_param p[] = {SP_INT(run_id)};
    return store_query(s,
                       "SELECT " REMARK_COLUMNS " FROM remark m"
                       " JOIN remark_run rr ON rr.remark_id = m.id WHERE rr.run_id = ?1"
                       " ORDER BY " REMARK_ORDER,
                       p, 1, cb, ud, err) < 0
               ? -1
               : 0;
}

int store_remarks_of_job(struct bk_store *s, int64_t job_id, int64_t limit,
                         int (*cb)(const struct store_row *r, void *ud), void *ud,
                         struct bk_err *err)
{
    struct store_param p[] = {SP_INT(job_id), SP_INT(limit)};
    return store_query(s,
                       "SELECT DISTINCT " REMARK_COLUMNS " FROM remark m"
                       " JOIN remark_run rr ON rr.remark_id = m.id JOIN job_run r ON r.id = "
                       "rr.run_id WHERE r.job_id = ?1 ORDER BY " REMARK_ORDER " LIMIT ?2",
                       p, 2, cb, ud, err) < 0
               ? -1
               : 0;
}

int store_remark_runs(struct bk_store *s, int64_t remark_id,
                      int (*cb)(const struct store_row *r, void *ud), void *ud, struct bk_err *err)
{
    struct store_param p[] = {SP_INT(remark_id)};
    return store_query(s, "SELECT run_id FROM remark_run WHERE remark_id = ?1 ORDER BY run_id", p,
                       1, cb, ud, err) < 0
               ? -1
               : 0;
}

int store_remark_add(struct bk_store *s, const char *body, const char *who, int64_t now_ms,
                     const int64_t *ids, size_t n, int64_t *id, struct bk_err *err)
{
    struct store_param p[] = {SP_TEXT(body), SP_TEXT(who), SP_INT(now_ms)};
    if (store_exec(s, "INSERT INTO remark (body, created_by, created_at) VALUES (?1, ?2, ?3)", p, 3,
                   NULL, id, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        struct store_param pr[] = {SP_INT(*id), SP_INT(ids[i])};
        int64_t dup = 0;
        if (store_query(s, "SELECT COUNT(*) FROM remark_run WHERE remark_id = ?1 AND run_id = ?2",
                        pr, 2, count_cb, &dup, err) < 0)
            return -1;
        if (dup)
            continue; /* the same id twice in the list */
        if (store_exec(s, "INSERT INTO remark_run (remark_id, run_id) VALUES (?1, ?2)", pr, 2, NULL,
                       NULL, err) < 0)
            return -1;
    }
    return 0;
}

int store_remark_body_set(struct bk_store *s, int64_t id, const char *body, struct bk_err *err)
{
    struct store_param p[] = {SP_TEXT(body), SP_INT(id)};
    return store_exec(s, "UPDATE remark SET body = ?1 WHERE id = ?2", p, 2, NULL, NULL, err) < 0
               ? -1
               : 0;
}

int store_remark_delete(struct bk_store *s, int64_t id, struct bk_err *err)
{
    struct store_param p[] = {SP_INT(id)};
    if (store_exec(s, "DELETE FROM remark_run WHERE remark_id = ?1", p, 1, NULL, NULL, err) < 0 ||
        store_exec(s, "DELETE FROM remark WHERE id = ?1", p, 1, NULL, NULL, err) < 0)
        return -1;
    return 0;
}

static int exists(struct bk_store *s, const char *sql, int64_t id, bool *out, struct bk_err *err)
{
    int64_t n = 0;
    struct store_param p[] = {SP_INT(id)};
    *out = false;
    if (store_query(s, sql, p, 1, count_cb, &n, err) < 0)
        return -1;
    *out = n > 0;
    return 0;
}

int store_job_exists(struct bk_store *s, int64_t id, bool *out, struct bk_err *err)
{
    return exists(s, "SELECT COUNT(*) FROM job WHERE id = ?1", id, out, err);
}

int store_run_exists(struct bk_store *s, int64_t id, bool *out, struct bk_err *err)
{
    return exists(s, "SELECT COUNT(*) FROM job_run WHERE id = ?1", id, out, err);
}
