/* Deriving runs' override flags from the stored rules (see overrides.h). All rules become one
 * SQL expression, (rule 1) OR (rule 2) …, built from the parts each rule sets, so no parameter
 * is ever compared with "IS NULL" (PostgreSQL cannot type an untyped NULL parameter), and text
 * is matched with LOWER(…) LIKE … ESCAPE so SQLite and PostgreSQL agree. */
#include "store/overrides.h"

#include "util/buf.h"
#include "util/err.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define OVR_BAD_SET "('failed', 'warning', 'unknown', 'missed')"
#define OVR_DEFAULT_SET "('failed', 'warning', 'unknown')"
#define OVR_SQL_MAX (64u * 1024 * 1024) /* 5,000 rules of 1 KiB text make a 10 MiB query */
#define OVR_AUDIT_IDS 1000 /* run ids listed per audit row (the counts are always exact) */

static char *like_pattern(const char *kind, const char *text, bool star)
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
        if (star && c == '*') {
            p[o++] = '%';
            continue;
        }
        if (c == '%' || c == '_' || c == '\\')
            p[o++] = '\\';
        p[o++] = (char)tolower((unsigned char)c);
    }
    if (trail)
        p[o++] = '%';
    p[o] = '\0';
    return p;
}

char *store_like_pattern(const char *kind, const char *text)
{
    return like_pattern(kind, text, false);
}

char *store_override_pattern(const char *kind, const char *text)
{
    return like_pattern(kind, text, true);
}

bool store_override_has_condition(const struct store_override *o)
{
    return o->job_id > 0 || (o->object_name && *o->object_name) || o->match_status ||
           (o->match_text && *o->match_text) || (o->valid_from > 0 && o->valid_until > 0);
}

/* Parameters of the expression; ?1 is the caller's (now). */
struct plist {
    struct store_param *v;
    size_t n, cap;
    char **owned; /* LIKE patterns */
    size_t nowned;
};

static size_t padd(struct plist *l, struct store_param p)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 32;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = p;
    return l->n;
}

/* SQLite's default limit of ?N parameters (SQLITE_MAX_VARIABLE_NUMBER); a rule needs 6. */
#define OVR_MAX_PARAMS 32000

/* Append rule o's condition on the row of job_run to sql. */
static void rule_cond(struct bk_buf *sql, struct plist *l, const struct store_override *o)
{
    size_t status_no = 0;
    bk_buf_appends(sql, "(");
    if (o->match_status) {
        status_no = padd(l, SP_TEXT(o->match_status));
        bk_buf_printf(sql, "job_run.status = ?%zu", status_no);
    } else {
        bk_buf_appends(sql, "job_run.status IN " OVR_DEFAULT_SET);
    }
    if (o->job_id > 0)
        bk_buf_printf(sql, " AND job_run.job_id = ?%zu", padd(l, SP_INT(o->job_id)));
    if (o->valid_from > 0)
        bk_buf_printf(sql, " AND COALESCE(job_run.start_at, job_run.created_at) >= ?%zu",
                      padd(l, SP_INT(o->valid_from)));
    if (o->valid_until > 0)
        bk_buf_printf(sql, " AND COALESCE(job_run.start_at, job_run.created_at) <= ?%zu",
                      padd(l, SP_INT(o->valid_until)));
    size_t like_no = 0;
    if (o->match_text && *o->match_text) {
        char *like = store_override_pattern(o->match_kind, o->match_text);
        l->owned = xrealloc(l->owned, (l->nowned + 1) * sizeof *l->owned);
        l->owned[l->nowned++] = like;
        like_no = padd(l, SP_TEXT(like));
    }
    if (o->object_name) {
        size_t name_no = padd(l, SP_TEXT(o->object_name));
        bk_buf_printf(sql,
                      " AND EXISTS (SELECT 1 FROM job_object x WHERE x.run_id = job_run.id"
                      " AND x.name = ?%zu",
                      name_no);
        if (status_no)
            bk_buf_printf(sql, " AND x.status = ?%zu", status_no);
        else
            bk_buf_appends(sql, " AND x.status IN " OVR_DEFAULT_SET);
        if (like_no)
            bk_buf_printf(sql, " AND LOWER(COALESCE(x.message, '')) LIKE ?%zu ESCAPE '\\'",
                          like_no);
        bk_buf_printf(sql,
                      ") AND NOT EXISTS (SELECT 1 FROM job_object y WHERE y.run_id = job_run.id"
                      " AND y.name <> ?%zu AND y.status IN " OVR_BAD_SET ")",
                      name_no);
    } else if (like_no) {
        bk_buf_printf(sql, " AND LOWER(COALESCE(job_run.message, '')) LIKE ?%zu ESCAPE '\\'",
                      like_no);
    }
    bk_buf_appends(sql, ")");
}

struct ovr_row {
    struct store_override o;
    char *object_name, *match_status, *match_kind, *match_text;
};

struct ovr_list {
    struct ovr_row *v;
    size_t n, cap;
};

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
    x->o.object_name = x->object_name = xstrdup_or_null(store_row_text(r, 2));
    x->o.match_status = x->match_status = xstrdup_or_null(store_row_text(r, 3));
    x->o.match_kind = x->match_kind = xstrdup_or_null(store_row_text(r, 4));
    x->o.match_text = x->match_text = xstrdup_or_null(store_row_text(r, 5));
    x->o.valid_from = store_row_int(r, 6);
    x->o.valid_until = store_row_int(r, 7);
    return 0;
}

struct change_list {
    struct bk_buf set, cleared;
    int64_t nset, ncleared;
};

static int change_cb(const struct store_row *r, void *ud)
{
    struct change_list *c = ud;
    int64_t id = store_row_int(r, 0);
    bool now_set = store_row_int(r, 1) == 0; /* flips from 0 to 1 */
    struct bk_buf *b = now_set ? &c->set : &c->cleared;
    int64_t *n = now_set ? &c->nset : &c->ncleared;
    if (*n < OVR_AUDIT_IDS)
        bk_buf_printf(b, "%s%" PRId64, *n ? "," : "", id);
    (*n)++;
    return 0;
}

/* run_id > 0: that run only (a push check-in changed one run); else every unreviewed run. */
static int reevaluate(struct bk_store *s, const char *who, const char *target, int64_t run_id,
                      struct store_override_changes *ch, struct bk_err *err)
{
    struct ovr_list rules = {0};
    struct plist pl = {0}, *l = &pl;
    struct bk_buf expr, sql;
    struct change_list c = {0};
    bk_buf_init(&expr, OVR_SQL_MAX);
    bk_buf_init(&sql, OVR_SQL_MAX);
    bk_buf_init(&c.set, 1u << 20);
    bk_buf_init(&c.cleared, 1u << 20);
    memset(ch, 0, sizeof *ch);
    int rc = store_query(s,
                         "SELECT id, job_id, object_name, match_status, match_kind, match_text,"
                         " valid_from, valid_until FROM override ORDER BY id",
                         NULL, 0, collect, &rules, err);
    if (rc < 0)
        goto out;
    padd(l, SP_INT(bk_now_ms())); /* ?1 */
    padd(l, SP_INT(run_id));      /* ?2: 0 = every run */
    /* with no rule, the runs to flip are the overridden ones, read from their partial index
     * (job_run_overridden), not found by a scan of every unreviewed run */
    bk_buf_appends(&expr, rules.n ? "override <> (CASE WHEN " : "override = 1");
    for (size_t i = 0; i < rules.n; i++) {
        if (l->n + 6 > OVR_MAX_PARAMS) {
            rc = bk_err_set(err, BK_ETOOBIG,
                            "overrides: %zu rules are more than one query can "
                            "hold; delete some",
                            rules.n);
            goto out;
        }
        if (i)
            bk_buf_appends(&expr, " OR ");
        rule_cond(&expr, l, &rules.v[i].o);
    }
    if (rules.n)
        bk_buf_appends(&expr, " THEN 1 ELSE 0 END)");
    /* expr: the runs whose flag is not what the rules say */
    /* Which runs flip, for the audit row; then flip them (same transaction, same rows). */
    bk_buf_printf(&sql,
                  "SELECT id, override FROM job_run WHERE ?1 IS NOT NULL AND reviewed_at IS NULL"
                  " AND (?2 = 0 OR id = ?2) AND %s ORDER BY id",
                  expr.data);
    if ((rc = store_query(s, sql.data, l->v, l->n, change_cb, &c, err)) < 0)
        goto out;
    if (c.nset + c.ncleared == 0)
        goto out;
    bk_buf_free(&sql);
    bk_buf_init(&sql, OVR_SQL_MAX);
    bk_buf_printf(&sql,
                  "UPDATE job_run SET override = 1 - override, updated_at = ?1"
                  " WHERE reviewed_at IS NULL AND (?2 = 0 OR id = ?2) AND %s",
                  expr.data);
    int64_t n = 0;
    if ((rc = store_exec(s, sql.data, l->v, l->n, &n, NULL, err)) < 0)
        goto out;
    struct bk_buf after;
    bk_buf_init(&after, 3u << 20);
    bk_buf_printf(&after,
                  "{\"cleared\":%" PRId64 ",\"rules\":%zu,\"runs_cleared\":[%s],"
                  "\"runs_set\":[%s],\"set\":%" PRId64 "}",
                  c.ncleared, rules.n, c.cleared.data ? c.cleared.data : "",
                  c.set.data ? c.set.data : "", c.nset);
    struct store_param ap[] = {SP_INT(bk_now_ms()), SP_TEXT(who ? who : "system"), SP_TEXT(target),
                               SP_TEXT(after.data)};
    rc = store_exec(s,
                    "INSERT INTO audit (at, who, action, target, before_json, after_json)"
                    " VALUES (?1, ?2, 'run.override', ?3, NULL, ?4)",
                    ap, 4, NULL, NULL, err);
    bk_buf_free(&after);
    if (rc < 0)
        goto out;
    ch->set = c.nset;
    ch->cleared = c.ncleared;
out:
    for (size_t i = 0; i < rules.n; i++) {
        free(rules.v[i].object_name);
        free(rules.v[i].match_status);
        free(rules.v[i].match_kind);
        free(rules.v[i].match_text);
    }
    free(rules.v);
    for (size_t i = 0; i < l->nowned; i++)
        free(l->owned[i]);
    free(l->owned);
    free(l->v);
    bk_buf_free(&expr);
    bk_buf_free(&sql);
    bk_buf_free(&c.set);
    bk_buf_free(&c.cleared);
    return rc;
}

int store_overrides_reevaluate(struct bk_store *s, const char *who, const char *target,
                               struct store_override_changes *ch, struct bk_err *err)
{
    return reevaluate(s, who, target, 0, ch, err);
}

int store_overrides_reevaluate_run(struct bk_store *s, int64_t run_id, const char *target,
                                   struct store_override_changes *ch, struct bk_err *err)
{
    return reevaluate(s, "push", target, run_id, ch, err);
}

static int count_cb(const struct store_row *r, void *ud)
{
    *(int64_t *)ud = store_row_int(r, 0);
    return 0;
}

int store_override_matches(struct bk_store *s, int64_t id, int64_t *matches, struct bk_err *err)
{
    struct ovr_list rules = {0};
    struct plist pl = {0};
    struct bk_buf sql;
    *matches = 0;
    struct store_param p[] = {SP_INT(id)};
    int rc = store_query(s,
                         "SELECT id, job_id, object_name, match_status, match_kind, match_text,"
                         " valid_from, valid_until FROM override WHERE id = ?1",
                         p, 1, collect, &rules, err);
    bk_buf_init(&sql, OVR_SQL_MAX);
    if (rc == 0 && rules.n == 1) {
        bk_buf_appends(&sql, "SELECT COUNT(*) FROM job_run WHERE ");
        rule_cond(&sql, &pl, &rules.v[0].o);
        rc = store_query(s, sql.data, pl.v, pl.n, count_cb, matches, err);
    }
    for (size_t i = 0; i < rules.n; i++) {
        free(rules.v[i].object_name);
        free(rules.v[i].match_status);
        free(rules.v[i].match_kind);
        free(rules.v[i].match_text);
    }
    free(rules.v);
    for (size_t i = 0; i < pl.nowned; i++)
        free(pl.owned[i]);
    free(pl.owned);
    free(pl.v);
    bk_buf_free(&sql);
    return rc;
}

int store_overrides_apply_all(struct bk_store *s, const char *target,
                              struct store_override_changes *ch, struct bk_err *err)
{
    int rc = store_begin(s, err);
    if (rc < 0)
        return rc;
    if ((rc = store_overrides_reevaluate(s, "poller", target, ch, err)) < 0 ||
        (rc = store_commit(s, err)) < 0) {
        store_rollback(s);
        memset(ch, 0, sizeof *ch);
    }
    return rc;
}

int store_override_set_validity(struct bk_store *s, int64_t id, bool set_from, int64_t valid_from,
                                bool set_until, int64_t valid_until, struct bk_err *err)
{
    struct ovr_list rules = {0};
    struct store_param p[] = {SP_INT(id)};
    int rc = store_query(s,
                         "SELECT id, job_id, object_name, match_status, match_kind, match_text,"
                         " valid_from, valid_until FROM override WHERE id = ?1",
                         p, 1, collect, &rules, err);
    if (rc == 0 && rules.n != 1)
        rc = bk_err_set(err, BK_ENOTFOUND, "no override %lld", (long long)id);
    if (rc == 0) {
        struct store_override o = rules.v[0].o;
        if (set_from)
            o.valid_from = valid_from;
        if (set_until)
            o.valid_until = valid_until;
        valid_from = o.valid_from;
        valid_until = o.valid_until;
        if (valid_from > 0 && valid_until > 0 && valid_from > valid_until)
            rc = bk_err_set(err, BK_EINVAL, "valid_from: must not be after valid_until");
        else if (!store_override_has_condition(&o))
            rc = bk_err_set(err, BK_EINVAL,
                            "the rule would be left without a condition (its time window was "
                            "its only one)");
    }
    if (rc == 0) {
        struct store_param u[] = {valid_from > 0 ? SP_INT(valid_from) : SP_NULL,
                                  valid_until > 0 ? SP_INT(valid_until) : SP_NULL, SP_INT(id)};
        rc = store_exec(s, "UPDATE override SET valid_from = ?1, valid_until = ?2 WHERE id = ?3", u,
                        3, NULL, NULL, err);
    }
    for (size_t i = 0; i < rules.n; i++) {
        free(rules.v[i].object_name);
        free(rules.v[i].match_status);
        free(rules.v[i].match_kind);
        free(rules.v[i].match_text);
    }
    free(rules.v);
    return rc;
}
