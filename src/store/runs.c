/* Run Checks' order at MSP scale (runs.h). The grouped order (customer, rank, job, newest)
 * spans three tables, so no single index gives it and SQLite would sort every matching run
 * (300,000 unreviewed runs after a first import: ~140 ms on 2 cores). Instead: one covering
 * pass counts the matching runs per (job, status, override), grouped in SQL into (customer,
 * rank) segments in order; a page then reads only the segments it overlaps, each in index
 * order (job by customer and name, then the runs of a job by rank and start). */
#include "store/runs.h"

#include "store/overrides.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

/* At most this many matching runs are sorted in one query rather than read by segment. */
#define SMALL_SET 5000

/* The (customer, rank) segments of the runs WHERE %s, in the list's order: counts per (job,
 * status, override) first (a covering read of an index of job_run), then per (customer, rank)
 * on integers, the names joined last. */
#define SEGMENTS_SQL                                                                               \
    "SELECT c.id, y.k, y.n FROM (SELECT j.customer_id AS cid, " STORE_RUN_RANK_OF(                 \
        "x.status",                                                                                \
        "x.override") " AS k, SUM(x.n) AS n FROM"                                                  \
                      " (SELECT r.job_id AS job_id, r.status AS status, r.override AS override, "  \
                      "COUNT(*) AS n"                                                              \
                      " FROM job_run r WHERE %s GROUP BY r.job_id, r.status, r.override) x"        \
                      " JOIN job j ON j.id = x.job_id GROUP BY 1, 2) y LEFT JOIN customer c ON "   \
                      "c.id = y.cid"                                                               \
                      " ORDER BY COALESCE(c.name, ''), c.id, y.k DESC"

static int segment_cb(const struct store_row *r, void *ud)
{
    struct store_run_segments *l = ud;
    if (l->n == 0 || (l->n >= 64 && (l->n & (l->n - 1)) == 0)) /* full at 64, 128, ... */
        l->v = xrealloc(l->v, (l->n ? 2 * l->n : 64) * sizeof *l->v);
    l->v[l->n++] = (struct store_run_segment){store_row_is_null(r, 0), store_row_int(r, 0),
                                              store_row_int(r, 1), store_row_int(r, 2)};
    l->total += store_row_int(r, 2);
    return 0;
}

struct ids {
    int64_t *v;
    size_t n, cap;
};

static int id_cb(const struct store_row *r, void *ud)
{
    struct ids *l = ud;
    if (l->n < l->cap)
        l->v[l->n++] = store_row_int(r, 0);
    return 0;
}

int store_runs_segments(struct bk_store *s, const char *where, const struct store_param *p,
                        size_t np, struct store_run_segments *out, struct bk_err *err)
{
    *out = (struct store_run_segments){0};
    char *sql = xasprintf(SEGMENTS_SQL, where);
    int rc = store_query(s, sql, p, np, segment_cb, out, err);
    free(sql);
    if (rc < 0)
        store_run_segments_free(out);
    return rc < 0 ? -1 : 0;
}

void store_run_segments_free(struct store_run_segments *segs)
{
    free(segs->v);
    *segs = (struct store_run_segments){0};
}

int store_runs_page(struct bk_store *s, const struct store_run_segments *segs, const char *where,
                    const struct store_param *p, size_t np, int64_t limit, int64_t offset,
                    int64_t *ids, size_t *n, struct bk_err *err)
{
    /* the caller's parameters, then customer, rank, limit, offset of a segment read, or
     * limit, offset of one sorted read */
    struct store_param *q = xcalloc(np + 4, sizeof *q);
    if (np)
        memcpy(q, p, np * sizeof *q);
    struct ids got = {ids, 0, limit > 0 ? (size_t)limit : 0};
    char *sql;
    int rc = 0;
    if (segs->total <= SMALL_SET) {
        /* few matches (a selective search): sorting them costs less than reading segments
         * whose rows mostly fail the filter */
        sql = xasprintf("SELECT r.id FROM " STORE_RUN_FROM
                        " WHERE %s ORDER BY " STORE_RUN_ORDER_CUSTOMER " LIMIT ?%zu OFFSET ?%zu",
                        where, np + 1, np + 2);
        q[np] = SP_INT(limit);
        q[np + 1] = SP_INT(offset);
        rc = store_query(s, sql, q, np + 2, id_cb, &got, err);
    } else {
        sql = xasprintf("SELECT r.id FROM " STORE_RUN_FROM
                        " WHERE (%s) AND j.customer_id IS NOT DISTINCT FROM ?%zu"
                        " AND " STORE_RUN_RANK " = ?%zu ORDER BY j.name, j.id, r.start_at DESC,"
                        " r.id DESC LIMIT ?%zu OFFSET ?%zu",
                        where, np + 1, np + 2, np + 3, np + 4);
        int64_t skip = offset;
        for (size_t i = 0; i < segs->n && got.n < got.cap && rc == 0; i++) {
            const struct store_run_segment *g = &segs->v[i];
            if (skip >= g->n) {
                skip -= g->n;
                continue;
            }
            q[np] = g->no_customer ? SP_NULL : SP_INT(g->customer);
            q[np + 1] = SP_INT(g->rank);
            q[np + 2] = SP_INT((int64_t)(got.cap - got.n));
            q[np + 3] = SP_INT(skip);
            skip = 0;
            rc = store_query(s, sql, q, np + 4, id_cb, &got, err);
        }
    }
    free(sql);
    free(q);
    *n = got.n;
    return rc < 0 ? -1 : 0;
}

int store_runs_by_customer(struct bk_store *s, const char *where, const struct store_param *p,
                           size_t np, int64_t limit, int64_t offset, int64_t *ids, size_t *n,
                           int64_t *total, struct bk_err *err)
{
    struct store_run_segments segs;
    *n = 0;
    *total = 0;
    if (store_runs_segments(s, where, p, np, &segs, err) < 0)
        return -1;
    *total = segs.total;
    int rc = store_runs_page(s, &segs, where, p, np, limit, offset, ids, n, err);
    store_run_segments_free(&segs);
    return rc;
}

/* The phrase of an FTS5 query: text in double quotes, each quote doubled. */
static char *fts_phrase(const char *text)
{
    struct bk_buf b;
    bk_buf_init(&b, 4096);
    bk_buf_appends(&b, "\"");
    for (const char *c = text; *c; c++) {
        if (*c == '"')
            bk_buf_appends(&b, "\"\"");
        else
            bk_buf_append(&b, c, 1);
    }
    bk_buf_appends(&b, "\"");
    return bk_buf_steal(&b);
}

/* Characters (UTF-8 code points) of s. */
static size_t chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

char *store_runs_text_cond(const struct bk_store *s, const char *text, struct store_param *p,
                           size_t *np, char *owned[2])
{
    owned[0] = store_like_pattern("contains", text);
    owned[1] = NULL;
    p[0] = SP_TEXT(owned[0]);
    p[1] = SP_TEXT(owned[0]);
    *np = 3;
    /* the jobs whose name or customer matches: a scan of the job table, not of the runs */
    const char *jobs = "r.job_id IN (SELECT tj.id FROM job tj LEFT JOIN customer tc"
                       " ON tc.id = tj.customer_id WHERE LOWER(tj.name) LIKE ? ESCAPE '\\'"
                       " OR LOWER(COALESCE(tc.name, '')) LIKE ? ESCAPE '\\')";
    if (chars(text) >= 3 && store_engine(s) == STORE_ENGINE_SQLITE) {
        owned[1] = fts_phrase(text);
        p[2] = SP_TEXT(owned[1]);
        return xasprintf("%s OR r.id IN (SELECT rowid FROM job_run_fts WHERE job_run_fts MATCH ?)",
                         jobs);
    }
    p[2] = SP_TEXT(owned[0]);
    return xasprintf("%s OR LOWER(COALESCE(r.message, '')) LIKE ? ESCAPE '\\'", jobs);
}

/* The runs a review names: "id IN (…)" (ids read from the request as integers, formatted here)
 * or "job_id = ?3". */
static char *review_scope(const int64_t *ids, size_t n)
{
    struct bk_buf b;
    bk_buf_init(&b, 1u << 20);
    if (n == 0) {
        bk_buf_appends(&b, "job_id = ?3");
        return bk_buf_steal(&b);
    }
    bk_buf_appends(&b, "id IN (");
    for (size_t i = 0; i < n; i++)
        bk_buf_printf(&b, "%s%lld", i ? "," : "", (long long)ids[i]);
    bk_buf_appends(&b, ")");
    return bk_buf_steal(&b);
}

static int count_cb(const struct store_row *r, void *ud)
{
    *(int64_t *)ud = store_row_int(r, 0);
    return 0;
}

int store_runs_review(struct bk_store *s, const int64_t *ids, size_t n, int64_t job,
                      const char *who, int64_t now, int64_t *reviewed, int64_t *skipped,
                      struct bk_err *err)
{
    *reviewed = *skipped = 0;
    char *scope = review_scope(ids, n);
    struct store_param p[] = {SP_INT(now), SP_TEXT(who), SP_INT(job)};
    size_t np = n ? 2 : 3;
    char *count = xasprintf("SELECT COUNT(*) FROM job_run WHERE %s AND reviewed_at IS NULL"
                            " AND status = 'running' AND ?1 IS NOT NULL AND ?2 IS NOT NULL",
                            scope);
    char *update = xasprintf("UPDATE job_run SET reviewed_at = ?1, reviewed_by = ?2,"
                             " updated_at = ?1 WHERE %s AND reviewed_at IS NULL"
                             " AND status <> 'running'",
                             scope);
    int rc = store_query(s, count, p, np, count_cb, skipped, err);
    if (rc == 0)
        rc = store_exec(s, update, p, np, reviewed, NULL, err);
    free(count);
    free(update);
    free(scope);
    return rc < 0 ? -1 : 0;
}
