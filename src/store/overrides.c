/* Applying overrides to stored runs (see overrides.h). The SQL is built from the parts the
 * override sets, so no parameter is ever compared with "IS NULL" (PostgreSQL cannot type an
 * untyped NULL parameter), and text is matched with LOWER(…) LIKE … ESCAPE so SQLite and
 * PostgreSQL agree. */
#include "store/overrides.h"

#include "util/buf.h"
#include "util/err.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define OVR_BAD_SET "('failed', 'warning', 'unknown', 'missed')"
#define OVR_DEFAULT_SET "('failed', 'warning', 'unknown')"

char *store_like_pattern(const char *kind, const char *text)
{
    size_t n = strlen(text);
    char *p = xmalloc(2 * n + 3);
    size_t o = 0;
    bool lead = !kind || strcmp(kind, "contains") == 0 || strcmp(kind, "ends") == 0;
    bool trail = !kind || strcmp(kind, "contains") == 0 || strcmp(kind, "starts") == 0;
    if (lead)
        p[o++] = '%';
    for (size_t i = 0; i < n; i++) {
        char c = text[i];
        if (c == '%' || c == '_' || c == '\\')
            p[o++] = '\\';
        p[o++] = (char)tolower((unsigned char)c);
    }
    if (trail)
        p[o++] = '%';
    p[o] = '\0';
    return p;
}

int store_override_apply(struct bk_store *s, const struct store_override *o, int64_t *changed,
                         struct bk_err *err)
{
    struct bk_buf sql;
    struct store_param p[8];
    size_t np = 0;
    char *like = NULL;
    bk_buf_init(&sql, 8192);
    p[np++] = SP_INT(bk_now_ms());
    bk_buf_appends(&sql, "UPDATE job_run SET override = 1, updated_at = ?1"
                         " WHERE reviewed_at IS NULL AND override = 0");
    size_t status_no = 0;
    if (o->match_status) {
        p[np++] = SP_TEXT(o->match_status);
        status_no = np;
        bk_buf_printf(&sql, " AND status = ?%zu", np);
    } else {
        bk_buf_appends(&sql, " AND status IN " OVR_DEFAULT_SET);
    }
    if (o->job_id > 0) {
        p[np++] = SP_INT(o->job_id);
        bk_buf_printf(&sql, " AND job_id = ?%zu", np);
    }
    if (o->valid_from > 0) {
        p[np++] = SP_INT(o->valid_from);
        bk_buf_printf(&sql, " AND COALESCE(start_at, created_at) >= ?%zu", np);
    }
    if (o->valid_until > 0) {
        p[np++] = SP_INT(o->valid_until);
        bk_buf_printf(&sql, " AND COALESCE(start_at, created_at) <= ?%zu", np);
    }
    size_t like_no = 0;
    if (o->match_text && *o->match_text) {
        like = store_like_pattern(o->match_kind, o->match_text);
        p[np++] = SP_TEXT(like);
        like_no = np;
    }
    if (o->object_name) {
        p[np++] = SP_TEXT(o->object_name);
        size_t name_no = np;
        bk_buf_printf(&sql,
                      " AND EXISTS (SELECT 1 FROM job_object x WHERE x.run_id = job_run.id"
                      " AND x.name = ?%zu",
                      name_no);
        if (status_no)
            bk_buf_printf(&sql, " AND x.status = ?%zu", status_no);
        else
            bk_buf_appends(&sql, " AND x.status IN " OVR_DEFAULT_SET);
        if (like_no)
            bk_buf_printf(&sql, " AND LOWER(COALESCE(x.message, '')) LIKE ?%zu ESCAPE '\\'",
                          like_no);
        bk_buf_printf(&sql,
                      ") AND NOT EXISTS (SELECT 1 FROM job_object y WHERE y.run_id = job_run.id"
                      " AND y.name <> ?%zu AND y.status IN " OVR_BAD_SET ")",
                      name_no);
    } else if (like_no) {
        bk_buf_printf(&sql, " AND LOWER(COALESCE(message, '')) LIKE ?%zu ESCAPE '\\'", like_no);
    }
    int64_t n = 0;
    int rc = store_exec(s, sql.data, p, np, &n, NULL, err);
    if (rc == 0 && changed)
        *changed = n;
    bk_buf_free(&sql);
    free(like);
    return rc;
}

struct ovr_row {
    struct store_override o;
    char *object_name, *match_status, *match_kind, *match_text;
};

struct ovr_list {
    struct ovr_row *v;
    size_t n, cap;
};

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static int collect(const struct store_row *r, void *ud)
{
    struct ovr_list *l = ud;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    struct ovr_row *x = &l->v[l->n++];
    memset(x, 0, sizeof *x);
    x->o.id = store_row_int(r, 0);
    x->o.job_id = store_row_int(r, 1);
    x->o.object_name = x->object_name = dup_or_null(store_row_text(r, 2));
    x->o.match_status = x->match_status = dup_or_null(store_row_text(r, 3));
    x->o.match_kind = x->match_kind = dup_or_null(store_row_text(r, 4));
    x->o.match_text = x->match_text = dup_or_null(store_row_text(r, 5));
    x->o.valid_from = store_row_int(r, 6);
    x->o.valid_until = store_row_int(r, 7);
    return 0;
}

int store_overrides_apply_all(struct bk_store *s, int64_t *changed, struct bk_err *err)
{
    struct ovr_list l = {0};
    int64_t total = 0;
    int rc = store_query(s,
                         "SELECT id, job_id, object_name, match_status, match_kind, match_text,"
                         " valid_from, valid_until FROM override ORDER BY id",
                         NULL, 0, collect, &l, err);
    if (rc == 0 && l.n > 0 && (rc = store_begin(s, err)) == 0) {
        for (size_t i = 0; i < l.n && rc == 0; i++) {
            int64_t n = 0;
            rc = store_override_apply(s, &l.v[i].o, &n, err);
            total += n;
        }
        if (rc == 0)
            rc = store_commit(s, err);
        if (rc < 0)
            store_rollback(s);
    }
    for (size_t i = 0; i < l.n; i++) {
        free(l.v[i].object_name);
        free(l.v[i].match_status);
        free(l.v[i].match_kind);
        free(l.v[i].match_text);
    }
    free(l.v);
    if (rc == 0 && changed)
        *changed = total;
    return rc;
}
