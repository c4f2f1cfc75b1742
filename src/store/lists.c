/* Per-row extras of the list answers (lists.h): a page's ids go into one IN (...) list of
 * integers (ids read from the store, formatted here, never client text), so a page of 1,000
 * runs costs three indexed queries whatever its size. */
#include "store/lists.h"

#include "util/buf.h"
#include "util/err.h"
#include "util/xalloc.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS (86400LL * 1000)
#define IN_MAX (1u << 20)

static void in_list(struct bk_buf *b, const int64_t *ids, size_t n)
{
    bk_buf_appends(b, "(");
    for (size_t i = 0; i < n; i++)
        bk_buf_printf(b, "%s%" PRId64, i ? "," : "", ids[i]);
    if (n == 0)
        bk_buf_appends(b, "NULL");
    bk_buf_appends(b, ")");
}

static int rank(char c)
{
    switch (c) {
    case 'F':
        return 6;
    case 'M':
        return 5;
    case 'W':
        return 4;
    case 'U':
        return 3;
    case 'R':
        return 2;
    case 'S':
        return 1;
    default:
        return 0;
    }
}

char store_lists_letter(const char *st)
{
    if (!st)
        return '-';
    if (strcmp(st, "failed") == 0)
        return 'F';
    if (strcmp(st, "missed") == 0)
        return 'M';
    if (strcmp(st, "warning") == 0)
        return 'W';
    if (strcmp(st, "running") == 0)
        return 'R';
    if (strcmp(st, "success") == 0)
        return 'S';
    return 'U';
}

/* Cove colour-bar digit (session status code) → letter; '0' = no backup that day. */
static char digit_letter(char d)
{
    switch (d) {
    case '5':
        return 'S';
    case '8':
        return 'W';
    case '2':
    case '3':
    case '6':
    case '7':
        return 'F';
    case '1':
    case '9':
        return 'R';
    case '0':
        return '-';
    default:
        return 'U';
    }
}

struct idx {
    int64_t id;
    size_t pos;
};

static int idx_cmp(const void *a, const void *b)
{
    const struct idx *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

struct hist_ctx {
    struct idx *ix;
    size_t n;
    int64_t day0;
    char (*out)[STORE_HISTORY_DAYS + 1];
};

/* Every output slot of job id (duplicates in the input share a history). */
static void each_slot(struct hist_ctx *h, int64_t id, void (*fn)(char *row, void *), void *arg)
{
    struct idx key = {id, 0};
    struct idx *hit = bsearch(&key, h->ix, h->n, sizeof *h->ix, idx_cmp);
    if (!hit)
        return;
    while (hit > h->ix && hit[-1].id == id)
        hit--;
    for (; hit < h->ix + h->n && hit->id == id; hit++)
        fn(h->out[hit->pos], arg);
}

struct day_mark {
    int64_t d;
    char c;
};

static void mark_worst(char *row, void *arg)
{
    const struct day_mark *m = arg;
    if (rank(m->c) > rank(row[m->d]))
        row[m->d] = m->c;
}

static int run_cb(const struct store_row *r, void *ud)
{
    struct hist_ctx *h = ud;
    int64_t t = store_row_int(r, 1);
    int64_t d = (t >= 0 ? t / DAY_MS : -1) - h->day0;
    if (d < 0 || d >= STORE_HISTORY_DAYS)
        return 0;
    struct day_mark m = {d, store_row_int(r, 3) ? 'S' : store_lists_letter(store_row_text(r, 2))};
    each_slot(h, store_row_int(r, 0), mark_worst, &m);
    return 0;
}

struct bar {
    const char *digits;
    int64_t last; /* index in the row of the bar's newest digit */
};

static void apply_bar(char *row, void *arg)
{
    const struct bar *b = arg;
    size_t n = strlen(b->digits);
    for (size_t k = 0; k < n; k++) {
        int64_t d = b->last - (int64_t)k;
        if (d < 0)
            break;
        if (d >= STORE_HISTORY_DAYS)
            continue;
        char c = digit_letter(b->digits[n - 1 - k]);
        /* the vendor's day wins, but a day it shows empty that backupctl found Missed (or a
         * run it does not count yet) keeps what the runs say */
        if (c != '-')
            row[d] = c;
    }
}

static int bar_cb(const struct store_row *r, void *ud)
{
    struct hist_ctx *h = ud;
    const char *digits = store_row_text(r, 1);
    int64_t as_of = store_row_int(r, 2);
    if (!digits || !*digits || as_of <= 0)
        return 0;
    struct bar b = {digits, as_of / DAY_MS - h->day0};
    each_slot(h, store_row_int(r, 0), apply_bar, &b);
    return 0;
}

int store_lists_history(struct bk_store *s, const int64_t *jobs, size_t n, int64_t now,
                        char (*out)[STORE_HISTORY_DAYS + 1], struct bk_err *err)
{
    for (size_t i = 0; i < n; i++) {
        memset(out[i], '-', STORE_HISTORY_DAYS);
        out[i][STORE_HISTORY_DAYS] = '\0';
    }
    if (n == 0)
        return 0;
    struct hist_ctx h = {xmalloc(n * sizeof *h.ix), n, now / DAY_MS - (STORE_HISTORY_DAYS - 1),
                         out};
    for (size_t i = 0; i < n; i++)
        h.ix[i] = (struct idx){jobs[i], i};
    qsort(h.ix, n, sizeof *h.ix, idx_cmp);
    struct bk_buf sql;
    bk_buf_init(&sql, IN_MAX);
    bk_buf_appends(&sql, "SELECT job_id, start_at, status, override FROM job_run WHERE job_id IN ");
    in_list(&sql, jobs, n);
    bk_buf_appends(&sql, " AND start_at >= ?1");
    struct store_param p[] = {SP_INT(h.day0 * DAY_MS)};
    int rc = store_query(s, sql.data, p, 1, run_cb, &h, err);
    if (rc == 0) {
        bk_buf_free(&sql);
        bk_buf_init(&sql, IN_MAX);
        bk_buf_appends(&sql, "SELECT id, colour_bar, colour_bar_as_of FROM job WHERE id IN ");
        in_list(&sql, jobs, n);
        bk_buf_appends(&sql, " AND colour_bar IS NOT NULL");
        rc = store_query(s, sql.data, NULL, 0, bar_cb, &h, err);
    }
    bk_buf_free(&sql);
    free(h.ix);
    return rc;
}

struct extras_ctx {
    int (*obj_cb)(int64_t, const char *, const char *, const char *, const char *, void *);
    int (*remark_cb)(int64_t, int64_t, void *);
    void *ud;
};

static int obj_row(const struct store_row *r, void *ud)
{
    struct extras_ctx *c = ud;
    return c->obj_cb(store_row_int(r, 0), store_row_text(r, 1), store_row_text(r, 2),
                     store_row_text(r, 3), store_row_text(r, 4), c->ud);
}

static int remark_row(const struct store_row *r, void *ud)
{
    struct extras_ctx *c = ud;
    return c->remark_cb(store_row_int(r, 0), store_row_int(r, 1), c->ud);
}

int store_lists_run_extras(struct bk_store *s, const int64_t *runs, size_t n,
                           int (*obj_cb)(int64_t run, const char *name, const char *status,
                                         const char *raw_status, const char *message, void *ud),
                           int (*remark_cb)(int64_t run, int64_t count, void *ud), void *ud,
                           struct bk_err *err)
{
    struct extras_ctx c = {obj_cb, remark_cb, ud};
    struct bk_buf sql;
    int rc = 0;
    if (n == 0)
        return 0;
    if (obj_cb) {
        bk_buf_init(&sql, IN_MAX);
        bk_buf_appends(&sql, "SELECT run_id, name, status, raw_status, message FROM job_object"
                             " WHERE run_id IN ");
        in_list(&sql, runs, n);
        bk_buf_appends(&sql, " ORDER BY run_id, name, id");
        rc = store_query(s, sql.data, NULL, 0, obj_row, &c, err);
        bk_buf_free(&sql);
    }
    if (rc == 0 && remark_cb) {
        bk_buf_init(&sql, IN_MAX);
        bk_buf_appends(&sql, "SELECT run_id, COUNT(*) FROM remark_run WHERE run_id IN ");
        in_list(&sql, runs, n);
        bk_buf_appends(&sql, " GROUP BY run_id ORDER BY run_id");
        rc = store_query(s, sql.data, NULL, 0, remark_row, &c, err);
        bk_buf_free(&sql);
    }
    return rc;
}
