/* The JSON API handlers (DESIGN §2): each reads its query parameters with params_*, runs
 * portable SQL through the store's generic query API with ?N placeholders (never string
 * concatenation of client input), and answers with jansson objects. Lists answer
 * {"items", "total", "limit", "offset"} in a stable order (id as the last tie-breaker); an
 * overridden run answers status "success" with "override": true and its "original_status".
 * Every change writes an audit row with the acting user. */
#include "core/schedule.h"
#include "core/tzfile.h"
#include "store/alerts.h"
#include "store/audit.h"
#include "store/lists.h"
#include "store/overrides.h"
#include "store/remarks.h"
#include "store/runs.h"
#include "store/sources.h"
#include "store/users.h"
#include "web/web_internal.h"

#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS (86400LL * 1000)
#define BAR_DAYS 28
#define DETAIL_RUNS 50

static const char *const RUN_STATUSES[] = {"success", "warning", "failed", "running",
                                           "missed",  "unknown", NULL};
static const char *const JOB_STATUSES[] = {"success", "warning", "failed", "running",
                                           "missed",  "unknown", "none",   NULL};

/* ---- SQL building -------------------------------------------------------------------------- */

#define QB_MAXP 32

/* A WHERE clause grown one condition at a time; '?' in a fragment becomes the next ?N. */
struct qb {
    struct bk_buf where;
    struct store_param p[QB_MAXP + 2];
    size_t np;
    char *owned[8];
    size_t nowned;
};

static void qb_init(struct qb *q)
{
    memset(q, 0, sizeof *q);
    bk_buf_init(&q->where, 16384);
    bk_buf_appends(&q->where, "1 = 1");
}

static void qb_free(struct qb *q)
{
    bk_buf_free(&q->where);
    for (size_t i = 0; i < q->nowned; i++)
        free(q->owned[i]);
}

/* Keep s alive as long as the query (for parameters built here). */
static const char *qb_own(struct qb *q, char *s)
{
    if (q->nowned == sizeof q->owned / sizeof q->owned[0])
        abort(); /* a programming error: raise the array size */
    q->owned[q->nowned++] = s;
    return s;
}

static void qb_and(struct qb *q, const char *frag, const struct store_param *ps)
{
    size_t k = 0;
    bk_buf_appends(&q->where, " AND (");
    for (const char *c = frag; *c; c++) {
        if (*c != '?') {
            bk_buf_append(&q->where, c, 1);
            continue;
        }
        if (q->np == QB_MAXP)
            abort();
        q->p[q->np++] = ps[k++];
        bk_buf_printf(&q->where, "?%zu", q->np);
    }
    bk_buf_appends(&q->where, ")");
}
#define QB_AND(q, frag, ...) qb_and((q), (frag), (const struct store_param[]){__VA_ARGS__})
#define QB_AND0(q, frag) qb_and((q), (frag), NULL)

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* ---- rows → JSON ---------------------------------------------------------------------------- */

enum col_type {
    C_INT,         /* integer or null */
    C_TEXT,        /* string or null */
    C_TIME,        /* epoch ms → ISO 8601 or null */
    C_BOOL,        /* integer != 0 */
    C_SET,         /* true when the column is not NULL */
    C_SECS,        /* ms → whole seconds */
    C_JSON,        /* stored JSON text → the value (a string when it does not parse) */
    C_EFF_STATUS,  /* a run's status: "success" when column aux (override) is 1 */
    C_ORIG_STATUS, /* the stored status when column aux (override) is 1, else null */
    C_JOB_STATUS,  /* C_EFF_STATUS of the latest run, "none" when the job never ran */
    C_CONFIGURED,  /* the column (a source name) is in the configuration */
    C_UP,          /* column = last good poll (ms), aux = interval (ms): within 3 intervals */
    C_ACTIVE,      /* column = valid_from, aux = valid_until (ms, NULL = open): now inside */
    C_FRESH,       /* STORE_FRESH_COLUMNS from this column on (the next 3 are C_HIDDEN):
                    * store_job_freshness() as text */
    C_HIDDEN,      /* read by another column only */
};

/* One output field per selected column. name "a.b" nests b in object a (consecutive
 * columns); an object whose first column is NULL is written as null. */
struct col {
    const char *name;
    enum col_type type;
    int aux; /* another column some types read */
};

/* Rows are written straight to JSON text: building jansson objects for every field of every
 * row was most of the cost of a list request. */
struct rows_env {
    const struct bk_config *cfg;
    int64_t now;
};

static void jw_string(struct bk_buf *b, const char *s)
{
    size_t n = strlen(s);
    bool utf8 = params_utf8_valid(s, n);
    bk_buf_append(b, "\"", 1);
    size_t run = 0; /* bytes copied as they are, flushed in one append */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[8];
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c < 0x20) {
            snprintf(u, sizeof u, "\\u%04x", c);
            esc = u;
        } else if (c >= 0x80 && !utf8) {
            esc = "?"; /* vendor text in another encoding: keep it readable */
        }
        if (!esc) {
            run++;
            continue;
        }
        bk_buf_append(b, s + i - run, run);
        run = 0;
        bk_buf_appends(b, esc);
    }
    bk_buf_append(b, s + n - run, run);
    bk_buf_append(b, "\"", 1);
}

static void jw_time(struct bk_buf *b, int64_t ms)
{
    char iso[32];
    bk_iso8601(ms, iso, sizeof iso);
    bk_buf_printf(b, "\"%s\"", iso);
}

static void col_write(struct bk_buf *b, const struct store_row *r, int i, const struct col *c,
                      const struct rows_env *env)
{
    bool null = store_row_is_null(r, i);
    switch (c->type) {
    case C_INT:
        if (null)
            bk_buf_appends(b, "null");
        else
            bk_buf_printf(b, "%lld", (long long)store_row_int(r, i));
        return;
    case C_TEXT:
        if (null)
            bk_buf_appends(b, "null");
        else
            jw_string(b, store_row_text(r, i));
        return;
    case C_TIME:
        if (null || store_row_int(r, i) <= 0)
            bk_buf_appends(b, "null");
        else
            jw_time(b, store_row_int(r, i));
        return;
    case C_BOOL:
        bk_buf_appends(b, store_row_int(r, i) ? "true" : "false");
        return;
    case C_SET:
        bk_buf_appends(b, null ? "false" : "true");
        return;
    case C_SECS:
        if (null)
            bk_buf_appends(b, "null");
        else
            bk_buf_printf(b, "%lld", (long long)(store_row_int(r, i) / 1000));
        return;
    case C_JSON: {
        if (null) {
            bk_buf_appends(b, "null");
            return;
        }
        json_t *v = json_loads(store_row_text(r, i), JSON_DECODE_ANY, NULL);
        char *t = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        if (t)
            bk_buf_appends(b, t);
        else
            jw_string(b, store_row_text(r, i));
        free(t);
        json_decref(v);
        return;
    }
    case C_EFF_STATUS:
    case C_JOB_STATUS:
        if (null)
            bk_buf_appends(b, c->type == C_JOB_STATUS ? "\"none\"" : "null");
        else if (store_row_int(r, c->aux))
            bk_buf_appends(b, "\"success\"");
        else
            jw_string(b, store_row_text(r, i));
        return;
    case C_ORIG_STATUS:
        if (null || !store_row_int(r, c->aux))
            bk_buf_appends(b, "null");
        else
            jw_string(b, store_row_text(r, i));
        return;
    case C_CONFIGURED:
        bk_buf_appends(b, !null && env->cfg && config_find_source(env->cfg, store_row_text(r, i))
                              ? "true"
                              : "false");
        return;
    case C_UP: {
        /* store_source_up: down when the last good poll is older than 3 intervals, or never */
        int64_t last = store_row_int(r, i), interval = store_row_int(r, c->aux);
        bk_buf_appends(b, store_source_up(last, interval, env->now) ? "true" : "false");
        return;
    }
    case C_ACTIVE: {
        int64_t from = store_row_int(r, i), until = store_row_int(r, c->aux);
        bool on = (from <= 0 || from <= env->now) && (until <= 0 || env->now <= until);
        bk_buf_appends(b, on ? "true" : "false");
        return;
    }
    case C_FRESH: {
        enum bk_fresh f =
            store_job_freshness(store_row_int(r, i), store_row_int(r, i + 3), env->now,
                                store_row_int(r, i + 1), store_row_int(r, i + 2), 0, 0);
        bk_buf_printf(b, "\"%s\"", store_fresh_name(f));
        return;
    }
    case C_HIDDEN:
        return;
    }
}

static void row_write(struct bk_buf *b, const struct store_row *r, const struct col *cols, size_t n,
                      const struct rows_env *env)
{
    const char *open = NULL; /* the nested object being written */
    size_t open_len = 0;
    bool open_null = false, first = true, sub_first = true;
    bk_buf_append(b, "{", 1);
    for (size_t i = 0; i < n; i++) {
        const struct col *c = &cols[i];
        if (c->type == C_HIDDEN)
            continue;
        const char *dot = strchr(c->name, '.');
        size_t plen = dot ? (size_t)(dot - c->name) : 0;
        if (open && !(dot && plen == open_len && strncmp(c->name, open, plen) == 0)) {
            if (!open_null)
                bk_buf_append(b, "}", 1);
            open = NULL;
        }
        if (dot && !open) {
            bk_buf_printf(b, "%s\"%.*s\":", first ? "" : ",", (int)plen, c->name);
            first = false;
            open = c->name;
            open_len = plen;
            open_null = store_row_is_null(r, (int)i);
            sub_first = true;
            if (open_null) {
                bk_buf_appends(b, "null");
                continue;
            }
            bk_buf_append(b, "{", 1);
        }
        if (open && open_null)
            continue;
        if (open) {
            bk_buf_printf(b, "%s\"%s\":", sub_first ? "" : ",", dot + 1);
            sub_first = false;
        } else {
            bk_buf_printf(b, "%s\"%s\":", first ? "" : ",", c->name);
            first = false;
        }
        col_write(b, r, (int)i, c, env);
    }
    if (open && !open_null)
        bk_buf_append(b, "}", 1);
    bk_buf_append(b, "}", 1);
}

struct rows_ctx {
    const struct col *cols;
    size_t ncols;
    struct bk_buf *out;
    struct rows_env env;
    size_t n;
};

static int rows_cb(const struct store_row *r, void *ud)
{
    struct rows_ctx *c = ud;
    if (c->n++)
        bk_buf_append(c->out, ",", 1);
    row_write(c->out, r, c->cols, c->ncols, &c->env);
    return 0;
}

static int int_cb(const struct store_row *r, void *ud)
{
    *(int64_t *)ud = store_row_int(r, 0);
    return 0;
}

#define ROWS_MAX (64u * 1024 * 1024)

/* Run sql and append "[row,…]" (as cols say) to out. 0 or a store error (response set). */
static int query_text(struct web_req *rq, const char *sql, const struct store_param *p, size_t np,
                      const struct col *cols, size_t ncols, struct bk_buf *out)
{
    struct bk_err err = {0};
    struct rows_ctx c = {cols, ncols, out, {rq->w->cfg, bk_now_ms()}, 0};
    bk_buf_append(out, "[", 1);
    int rc = store_query(rq->st, sql, p, np, rows_cb, &c, &err);
    bk_buf_append(out, "]", 1);
    if (rc < 0)
        web_internal(rq, &err);
    return rc;
}

/* Run sql and append each row (as cols say) to the jansson array arr (for answers that are
 * assembled from several queries). */
static int query_rows(struct web_req *rq, const char *sql, const struct store_param *p, size_t np,
                      const struct col *cols, size_t ncols, json_t *arr)
{
    struct bk_buf b;
    bk_buf_init(&b, ROWS_MAX);
    int rc = query_text(rq, sql, p, np, cols, ncols, &b);
    if (rc == 0) {
        json_t *rows = json_loadb(b.data, b.len, 0, NULL);
        if (!json_is_array(rows)) {
            web_error(rq, 500, "internal", "cannot encode the response");
            rc = -BK_EPROTO;
        } else {
            json_array_extend(arr, rows);
        }
        json_decref(rows);
    }
    bk_buf_free(&b);
    return rc;
}

/* The rows a store function gives rows_cb (as cols say), appended to the jansson array arr:
 * rows_begin, the store call with rows_cb and c, then rows_end with its result. */
static void rows_begin(struct web_req *rq, struct rows_ctx *c, const struct col *cols, size_t ncols,
                       struct bk_buf *b)
{
    bk_buf_init(b, ROWS_MAX);
    bk_buf_append(b, "[", 1);
    *c = (struct rows_ctx){cols, ncols, b, {rq->w->cfg, bk_now_ms()}, 0};
}

/* 0, or -1 with the response set. */
static int rows_end(struct web_req *rq, struct rows_ctx *c, int rc, const struct bk_err *err,
                    json_t *arr)
{
    bk_buf_append(c->out, "]", 1);
    if (rc < 0) {
        web_internal(rq, err);
    } else {
        json_t *rows = json_loadb(c->out->data, c->out->len, 0, NULL);
        if (!json_is_array(rows)) {
            web_error(rq, 500, "internal", "cannot encode the response");
            rc = -1;
        } else {
            json_array_extend(arr, rows);
        }
        json_decref(rows);
    }
    bk_buf_free(c->out);
    return rc < 0 ? -1 : 0;
}

/* Does job id exist? 0, or -1 with the response set. */
static int job_known(struct web_req *rq, int64_t id, bool *known)
{
    struct bk_err err = {0};
    int rc = store_job_exists(rq->st, id, known, &err);
    if (rc < 0)
        web_internal(rq, &err);
    return rc;
}

static int query_int(struct web_req *rq, const char *sql, const struct store_param *p, size_t np,
                     int64_t *out)
{
    struct bk_err err = {0};
    *out = 0;
    int rc = store_query(rq->st, sql, p, np, int_cb, out, &err);
    if (rc < 0)
        web_internal(rq, &err);
    return rc;
}

/* One object (first row) or NULL when there is none; response set on a store error. */
static json_t *query_one(struct web_req *rq, const char *sql, const struct store_param *p,
                         size_t np, const struct col *cols, size_t ncols, int *rc)
{
    json_t *arr = json_array();
    *rc = query_rows(rq, sql, p, np, cols, ncols, arr);
    json_t *o = json_array_size(arr) ? json_incref(json_array_get(arr, 0)) : NULL;
    json_decref(arr);
    return o;
}

/* SELECT cols FROM from WHERE q ORDER BY order LIMIT/OFFSET, plus the COUNT(*) over
 * count_from: the list answer, as JSON text. */
/* A list answer: {"items": the rows of sql, "total", "limit", "offset"}. */
static void reply_page_sql(struct web_req *rq, const char *sql, const struct store_param *p,
                           size_t np, const struct col *cols, size_t ncols, int64_t total,
                           int64_t limit, int64_t offset)
{
    struct bk_buf b;
    bk_buf_init(&b, ROWS_MAX);
    bk_buf_appends(&b, "{\"items\":");
    if (query_text(rq, sql, p, np, cols, ncols, &b) < 0) {
        bk_buf_free(&b);
        return;
    }
    if (bk_buf_printf(&b, ",\"total\":%lld,\"limit\":%lld,\"offset\":%lld}", (long long)total,
                      (long long)limit, (long long)offset) < 0) {
        bk_buf_free(&b);
        web_error(rq, 500, "internal", "response too large");
        return;
    }
    web_reply(rq, 200, NULL);
    rq->text = bk_buf_steal(&b);
    rq->text_is_json = true;
}

/* A cache key (web_count_get): text and every parameter of q, typed. */
static void cache_key(struct bk_buf *key, const char *text, const struct qb *q)
{
    bk_buf_init(key, 1u << 20);
    bk_buf_appends(key, text);
    for (size_t i = 0; i < q->np; i++) {
        if (q->p[i].type == STORE_P_INT)
            bk_buf_printf(key, "\x1fi%lld", (long long)q->p[i].i);
        else if (q->p[i].type == STORE_P_TEXT)
            bk_buf_printf(key, "\x1ft%s", q->p[i].s);
        else
            bk_buf_appends(key, "\x1fn");
    }
}

static void reply_list(struct web_req *rq, const struct store_listq *l, const struct col *cols,
                       size_t ncols, struct qb *q, int64_t limit, int64_t offset)
{
    int64_t total = 0;
    char *csql = store_list_count_sql(l, q->where.data);
    struct bk_buf key;
    cache_key(&key, csql, q);
    int rc = 0;
    if (!web_count_get(rq->w, key.data, &total)) {
        uint_fast64_t gen = atomic_load(&rq->w->data_gen);
        rc = query_int(rq, csql, q->p, q->np, &total);
        if (rc == 0)
            web_count_put(rq->w, key.data, total, gen);
    }
    bk_buf_free(&key);
    free(csql);
    if (rc < 0)
        return;
    q->p[q->np] = SP_INT(limit);
    q->p[q->np + 1] = SP_INT(offset);
    char *sql = store_list_page_sql(l, q->where.data, q->np);
    reply_page_sql(rq, sql, q->p, q->np + 2, cols, ncols, total, limit, offset);
    free(sql);
}

/* Common start of a list handler: allowed parameters and paging. false = response set. */
static bool list_params(struct web_req *rq, const char *const *allowed, int64_t *limit,
                        int64_t *offset)
{
    if (params_check_allowed(&rq->q, allowed, rq->msg, sizeof rq->msg) < 0 ||
        params_paging(&rq->q, limit, offset, rq->msg, sizeof rq->msg) < 0) {
        web_bad_request(rq);
        return false;
    }
    return true;
}

static bool no_params(struct web_req *rq)
{
    static const char *const none[] = {NULL};
    if (params_check_allowed(&rq->q, none, rq->msg, sizeof rq->msg) < 0) {
        web_bad_request(rq);
        return false;
    }
    return true;
}

/* A customer filter: an id (digits) or a name. */
static void and_customer(struct qb *q, const char *v)
{
    int64_t id;
    if (all_digits(v) && str_to_i64(v, &id) == 0)
        QB_AND(q, STORE_CUSTOMERS_ID_OR_NAME, SP_INT(id), SP_TEXT(v));
    else
        QB_AND(q, STORE_CUSTOMERS_NAME, SP_TEXT(v));
}

/* The same for runs, over r alone (store/runs.h). */
static void and_run_customer(struct qb *q, const char *v)
{
    int64_t id;
    if (all_digits(v) && str_to_i64(v, &id) == 0)
        QB_AND(q, STORE_RUNS_OF_CUSTOMER_ID_OR_NAME, SP_INT(id), SP_TEXT(v));
    else
        QB_AND(q, STORE_RUNS_OF_CUSTOMER_NAME, SP_TEXT(v));
}

/* ---- health, OpenAPI ------------------------------------------------------------------------ */

void api_healthz(struct web_req *rq)
{
    web_reply(rq, 200, json_pack("{s:s}", "status", "ok"));
}

void api_readyz(struct web_req *rq)
{
    bool ready = rq->w->hooks.ready ? rq->w->hooks.ready(rq->w->hooks.ud) : true;
    web_reply(rq, ready ? 200 : 503, json_pack("{s:s}", "status", ready ? "ready" : "starting"));
}

void api_openapi(struct web_req *rq)
{
    web_reply(rq, 200, NULL);
    rq->text = xstrdup(web_openapi_json());
    rq->text_is_json = true;
}

/* ---- session ------------------------------------------------------------------------------- */

static void ident_json(struct web_req *rq, const struct auth_identity *id, int64_t expires)
{
    json_t *o = json_pack("{s:o,s:s,s:s}", "user", web_jstr(id->name), "role",
                          bk_role_name(id->role), "auth", id->via_session ? "session" : "token");
    if (id->via_session)
        json_object_set_new(o, "csrf_token", json_string(id->csrf));
    if (expires)
        json_object_set_new(o, "expires_at", web_jtime(expires));
    web_reply(rq, 200, o);
}

void api_session_create(struct web_req *rq)
{
    static const char *const fields[] = {"username", "password", NULL};
    const char *user = NULL, *pass = NULL;
    struct bk_err err = {0};
    if (params_json_check_allowed(rq->body, fields, rq->msg, sizeof rq->msg) < 0 ||
        params_json_text(rq->body, "username", 64, &user, rq->msg, sizeof rq->msg) < 0 ||
        params_json_text(rq->body, "password", 1024, &pass, rq->msg, sizeof rq->msg) < 0) {
        web_bad_request(rq);
        return;
    }
    if (!user || !*user || !pass || !*pass) {
        web_error(rq, 400, "bad_request", "username and password are required");
        return;
    }

    char ipkey[96], userkey[96];
    snprintf(ipkey, sizeof ipkey, "ip:%s", rq->peer);
    snprintf(userkey, sizeof userkey, "user:%s", user);
    for (char *c = userkey; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    /* The attempt is counted before the (slow) hash, so parallel guesses cannot all pass a
     * check made before any of them failed. */
    int64_t now = bk_now_ms(), retry = 0;
    bool ip_ok = ratelimit_take(rq->w->login_ip_rl, ipkey, now, &retry);
    if (!ip_ok || !ratelimit_take(rq->w->login_user_rl, userkey, now, &retry)) {
        if (ip_ok)
            ratelimit_refund(rq->w->login_ip_rl, ipkey);
        snprintf(rq->retry_after, sizeof rq->retry_after, "%lld", (long long)retry);
        log_warn("web: login of \"%.64s\" from %s refused: too many failures", user, rq->peer);
        web_error(rq, 429, "too_many_requests", "too many failed logins; try again in %lld seconds",
                  (long long)retry);
        return;
    }
    struct auth_identity id = {0}, sid = {0};
    int rc = auth_login(rq->st, user, pass, &id, &err);
    if (rc == -BK_EAUTH || rc == -BK_ENOTFOUND || rc == -BK_EINVAL) {
        atomic_fetch_add(&rq->w->login_failures, 1);
        log_warn("web: failed login for \"%.64s\" from %s", user, rq->peer);
        web_error(rq, 401, "unauthorized", "invalid username or password");
        return;
    }
    if (rc < 0) { /* our failure, not a guess */
        ratelimit_refund(rq->w->login_ip_rl, ipkey);
        ratelimit_refund(rq->w->login_user_rl, userkey);
        web_internal(rq, &err);
        return;
    }
    ratelimit_reset(rq->w->login_user_rl, userkey);
    ratelimit_refund(rq->w->login_ip_rl, ipkey);
    char *cookie = NULL;
    if (auth_session_create(rq->st, &id, rq->w->opts.session_ttl_ms, &cookie, &sid, &err) < 0) {
        web_internal(rq, &err);
        return;
    }
    rq->set_cookie =
        xasprintf("%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s", WEB_COOKIE, cookie,
                  (long long)(rq->w->opts.session_ttl_ms / 1000), rq->w->tls ? "; Secure" : "");
    free(cookie);
    sid.via_session = true;
    log_info("web: %s logged in from %s", sid.name, rq->peer);
    ident_json(rq, &sid, now + rq->w->opts.session_ttl_ms);
}

void api_session_get(struct web_req *rq)
{
    if (!no_params(rq))
        return;
    ident_json(rq, &rq->who, 0);
}

void api_session_probe(struct web_req *rq)
{
    if (!no_params(rq))
        return;
    if (!rq->authed) {
        web_reply(rq, 200, json_pack("{s:b}", "authenticated", false));
        return;
    }
    ident_json(rq, &rq->who, 0);
    if (json_is_object(rq->json))
        json_object_set_new(rq->json, "authenticated", json_true());
}

void api_session_delete(struct web_req *rq)
{
    struct bk_err err = {0};
    if (!no_params(rq))
        return;
    if (!rq->who.via_session) {
        web_error(rq, 400, "bad_request",
                  "authenticated with an API token, not a session (revoke the token "
                  "with DELETE /api/v1/tokens/{id})");
        return;
    }
    const char *cookie = web_cookie(rq);
    if (cookie && auth_session_delete(rq->st, cookie, &err) < 0 && err.code != BK_ENOTFOUND) {
        web_internal(rq, &err);
        return;
    }
    rq->set_cookie = xasprintf("%s=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s", WEB_COOKIE,
                               rq->w->tls ? "; Secure" : "");
    web_reply(rq, 204, NULL);
}

/* ---- customers, sources --------------------------------------------------------------------- */

void api_customers(struct web_req *rq)
{
    static const char *const allowed[] = {"limit", "offset", "source", "q", NULL};
    static const struct col cols[] = {{"id", C_INT, 0},           {"name", C_TEXT, 0},
                                      {"external_id", C_TEXT, 0}, {"external_ref", C_TEXT, 0},
                                      {"source", C_TEXT, 0},      {"jobs", C_INT, 0}};
    int64_t limit, offset;
    const char *source, *text;
    if (!list_params(rq, allowed, &limit, &offset))
        return;
    if (params_text(&rq->q, "source", 256, &source, rq->msg, sizeof rq->msg) < 0 ||
        params_text(&rq->q, "q", 256, &text, rq->msg, sizeof rq->msg) < 0) {
        web_bad_request(rq);
        return;
    }
    struct qb q;
    qb_init(&q);
    if (source)
        QB_AND(&q, STORE_CUSTOMERS_OF_SOURCE, SP_TEXT(source));
    if (text)
        QB_AND(&q, STORE_CUSTOMERS_NAME_LIKE,
               SP_TEXT(qb_own(&q, store_like_pattern("contains", text))));
    reply_list(rq, &STORE_LIST_CUSTOMERS, cols, sizeof cols / sizeof cols[0], &q, limit, offset);
    qb_free(&q);
}

void api_sources(struct web_req *rq)
{
    static const char *const allowed[] = {"limit", "offset", NULL};
    static const struct col cols[] = {
        {"id", C_INT, 0},
        {"name", C_TEXT, 0},
        {"configured", C_CONFIGURED, 0},
        {"kind", C_TEXT, 0},
        {"interval_seconds", C_SECS, 0},
        {"enabled", C_BOOL, 0},
        {"paused", C_BOOL, 0},
        {"last_success_at", C_TIME, 0},
        {"up", C_UP, 4},
        {"last_poll.started_at", C_TIME, 0},
        {"last_poll.finished_at", C_TIME, 0},
        {"last_poll.result", C_TEXT, 0},
        {"last_poll.pages", C_INT, 0},
        {"last_poll.devices", C_INT, 0},
        {"last_poll.runs_new", C_INT, 0},
        {"last_poll.runs_updated", C_INT, 0},
        {"last_poll.error", C_TEXT, 0},
        {"last_poll.instance", C_TEXT, 0},
    };
    int64_t limit, offset;
    if (!list_params(rq, allowed, &limit, &offset))
        return;
    struct qb q;
    qb_init(&q);
    reply_list(rq, &STORE_LIST_SOURCES, cols, sizeof cols / sizeof cols[0], &q, limit, offset);
    qb_free(&q);
}

/* Alerts (issue 10): the outbox, newest first, filtered by state and section. */
void api_alerts(struct web_req *rq)
{
    static const char *const allowed[] = {"limit", "offset", "state", "alert", NULL};
    static const struct col cols[] = {
        {"id", C_INT, 0},        {"alert", C_TEXT, 0},      {"channel", C_TEXT, 0},
        {"event", C_TEXT, 0},    {"title", C_TEXT, 0},      {"state", C_TEXT, 0},
        {"attempts", C_INT, 0},  {"next_at", C_TIME, 0},    {"last_error", C_TEXT, 0},
        {"last_code", C_INT, 0}, {"created_at", C_TIME, 0}, {"sent_at", C_TIME, 0},
        {"incident", C_TEXT, 0}, {"job_id", C_INT, 0},
    };
    int64_t limit, offset;
    const char *state, *alert;
    if (!list_params(rq, allowed, &limit, &offset))
        return;
    if (params_text(&rq->q, "state", 16, &state, rq->msg, sizeof rq->msg) < 0 ||
        params_text(&rq->q, "alert", 256, &alert, rq->msg, sizeof rq->msg) < 0) {
        web_bad_request(rq);
        return;
    }
    if (state && strcmp(state, "pending") != 0 && strcmp(state, "sending") != 0 &&
        strcmp(state, "sent") != 0 && strcmp(state, "failed") != 0) {
        web_error(rq, 400, "bad_request", "state: pending, sending, sent or failed");
        return;
    }
    struct qb q;
    qb_init(&q);
    if (state)
        QB_AND(&q, STORE_ALERTS_STATE, SP_TEXT(state));
    if (alert)
        QB_AND(&q, STORE_ALERTS_ALERT, SP_TEXT(alert));
    reply_list(rq, &STORE_LIST_ALERTS, cols, sizeof cols / sizeof cols[0], &q, limit, offset);
    qb_free(&q);
}

/* Send a pending or failed alert again now (operator, audited). */
void api_alert_retry(struct web_req *rq)
{
    struct bk_err err = {0};
    if (!no_params(rq))
        return;
    bool found = false;
    if (store_outbox_retry(rq->st, rq->id, bk_now_ms(), &found, &err) < 0) {
        web_internal(rq, &err);
        return;
    }
    if (!found) {
        web_error(rq, 404, "not_found", "no pending or failed alert %lld", (long long)rq->id);
        return;
    }
    char target[32];
    snprintf(target, sizeof target, "alert:%lld", (long long)rq->id);
    web_audit(rq, "alert.retry", target, NULL, NULL);
    web_data_changed(rq->w);
    web_reply(rq, 202, json_pack("{s:I,s:s}", "id", (json_int_t)rq->id, "state", "pending"));
}

/* The source named in the path: its id, or 0 with a 404 set. */
static int64_t path_source(struct web_req *rq)
{
    int64_t id = 0;
    struct bk_err err = {0};
    if (store_source_id(rq->st, rq->cap[0], &id, &err) < 0) {
        web_internal(rq, &err);
        return 0;
    }
    if (id == 0 && !config_find_source(rq->w->cfg, rq->cap[0]))
        web_error(rq, 404, "not_found", "no source with that name");
    return id;
}

void api_source_poll(struct web_req *rq)
{
    struct bk_err err = {0};
    if (!no_params(rq))
        return;
    int64_t sid = path_source(rq);
    if (rq->status)
        return;
    int rc;
    if (rq->w->hooks.poll_now) {
        rc = rq->w->hooks.poll_now(rq->w->hooks.ud, rq->cap[0], rq->who.name, &err);
    } else if (sid) {
        /* no scheduler in this process: leave the request for the instance that polls it */
        rc = store_poll_request_add(rq->st, sid, bk_now_ms(), rq->who.name, &err);
    } else {
        rc = bk_err_set(&err, BK_ENOTFOUND, "source not in the store yet");
    }
    if (rc == -BK_ENOTFOUND) {
        web_error(rq, 404, "not_found", "source is not configured");
        return;
    }
    if (rc < 0) {
        web_internal(rq, &err);
        return;
    }
    json_t *after = json_pack("{s:o}", "source", web_jstr(rq->cap[0]));
    web_audit(rq, "source.poll", rq->cap[0], NULL, after);
    json_decref(after);
    web_reply(rq, 202, json_pack("{s:o,s:s}", "source", web_jstr(rq->cap[0]), "status", "queued"));
}

static void set_paused(struct web_req *rq, bool paused)
{
    struct bk_err err = {0};
    if (!no_params(rq))
        return;
    int64_t sid = path_source(rq);
    if (rq->status)
        return;
    int rc;
    if (rq->w->hooks.set_paused) {
        rc = rq->w->hooks.set_paused(rq->w->hooks.ud, rq->cap[0], paused, rq->who.name, &err);
    } else {
        rc = store_source_paused_set(rq->st, sid, paused, bk_now_ms(), &err);
    }
    if (rc == -BK_ENOTFOUND) {
        web_error(rq, 404, "not_found", "source is not configured");
        return;
    }
    if (rc < 0) {
        web_internal(rq, &err);
        return;
    }
    json_t *after = json_pack("{s:b}", "paused", paused);
    web_audit(rq, paused ? "source.pause" : "source.resume", rq->cap[0], NULL, after);
    json_decref(after);
    web_reply(rq, 200, json_pack("{s:o,s:b}", "source", web_jstr(rq->cap[0]), "paused", paused));
}

void api_source_pause(struct web_req *rq)
{
    set_paused(rq, true);
}

void api_source_resume(struct web_req *rq)
{
    set_paused(rq, false);
}

static void day_string(int64_t epoch_day, char *out, size_t outsz);

/* ---- per-row extras of the lists (issue 13) ------------------------------------------------ */

struct item_ref {
    int64_t id;
    json_t *item; /* borrowed from the page */
};

static int ref_cmp(const void *a, const void *b)
{
    const struct item_ref *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

struct extras {
    struct item_ref *refs;
    size_t n;
};

static json_t *ref_find(struct extras *e, int64_t id)
{
    struct item_ref key = {id, NULL};
    struct item_ref *hit = bsearch(&key, e->refs, e->n, sizeof *e->refs, ref_cmp);
    return hit ? hit->item : NULL;
}

static int extras_obj_cb(int64_t run, const char *name, const char *status, const char *raw,
                         const char *message, void *ud)
{
    json_t *it = ref_find(ud, run);
    if (it)
        json_array_append_new(json_object_get(it, "objects"),
                              json_pack("{s:o,s:o,s:o,s:o}", "name", web_jstr(name), "status",
                                        web_jstr(status), "raw_status", web_jstr(raw), "message",
                                        web_jstr(message)));
    return 0;
}

static int extras_remark_cb(int64_t run, int64_t count, void *ud)
{
    json_t *it = ref_find(ud, run);
    if (it)
        json_object_set_new(it, "remarks", json_integer(count));
    return 0;
}

static int64_t item_job_id(json_t *it, bool job_items)
{
    if (job_items)
        return json_integer_value(json_object_get(it, "id"));
    return json_integer_value(json_object_get(json_object_get(it, "job"), "id"));
}

/* Every item of items gets "history" (its job's 28-day strip, lists.h) and history_start (the
 * first day, UTC); with runs also "objects" (the run's datasources) and "remarks" (a count).
 * job_items: the items are jobs (their id), else they name their job in "job". 0 or -1
 * (response set). */
static int add_extras(struct web_req *rq, json_t *items, bool job_items, bool runs)
{
    struct bk_err err = {0};
    size_t n = json_array_size(items);
    int64_t now = bk_now_ms();
    int64_t *jobs = xcalloc(n ? n : 1, sizeof *jobs);
    char(*hist)[STORE_HISTORY_DAYS + 1] = xcalloc(n ? n : 1, sizeof *hist);
    struct extras e = {xcalloc(n ? n : 1, sizeof *e.refs), n};
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *it = json_array_get(items, i);
        jobs[i] = item_job_id(it, job_items);
        e.refs[i] = (struct item_ref){json_integer_value(json_object_get(it, "id")), it};
        if (runs) {
            json_object_set_new(it, "objects", json_array());
            json_object_set_new(it, "remarks", json_integer(0));
        }
    }
    qsort(e.refs, n, sizeof *e.refs, ref_cmp);
    rc = store_lists_history(rq->st, jobs, n, now, hist, &err);
    if (rc == 0 && runs) {
        int64_t *ids = xcalloc(n ? n : 1, sizeof *ids);
        for (size_t i = 0; i < n; i++)
            ids[i] = e.refs[i].id;
        rc = store_lists_run_extras(rq->st, ids, n, extras_obj_cb, extras_remark_cb, &e, &err);
        free(ids);
    }
    if (rc < 0) {
        web_internal(rq, &err);
    } else {
        char day[16];
        day_string(now / DAY_MS - (STORE_HISTORY_DAYS - 1), day, sizeof day);
        for (size_t i = 0; i < n; i++) {
            json_t *it = json_array_get(items, i);
            json_object_set_new(it, "history", json_string(hist[i]));
            json_object_set_new(it, "history_start", json_string(day));
        }
    }
    free(jobs);
    free(hist);
    free(e.refs);
    return rc < 0 ? -1 : 0;
}

/* The runs nested in each Daily Jobs item get "objects" (their datasources) and "remarks" (a
 * count), as the runs list's extras give them. 0 or -1 (response set). */
static int add_daily_run_extras(struct web_req *rq, json_t *items)
{
    struct bk_err err = {0};
    size_t n = 0, i, k;
    json_t *it, *r;
    json_array_foreach(items, i, it) n += json_array_size(json_object_get(it, "runs"));
    struct extras e = {xcalloc(n ? n : 1, sizeof *e.refs), 0};
    int64_t *ids = xcalloc(n ? n : 1, sizeof *ids);
    json_array_foreach(items, i, it)
    {
        json_array_foreach(json_object_get(it, "runs"), k, r)
        {
            json_object_set_new(r, "objects", json_array());
            json_object_set_new(r, "remarks", json_integer(0));
            e.refs[e.n++] = (struct item_ref){json_integer_value(json_object_get(r, "id")), r};
        }
    }
    qsort(e.refs, e.n, sizeof *e.refs, ref_cmp);
    for (i = 0; i < e.n; i++)
        ids[i] = e.refs[i].id;
    int rc = store_lists_run_extras(rq->st, ids, e.n, extras_obj_cb, extras_remark_cb, &e, &err);
    if (rc < 0)
        web_internal(rq, &err);
    free(ids);
    free(e.refs);
    return rc < 0 ? -1 : 0;
}

/* The list answer reply_list() left in rq->text, with add_extras() on its items. */
static void reply_with_extras(struct web_req *rq, bool job_items, bool runs)
{
    if (rq->status != 200 || !rq->text)
        return;
    json_t *page = json_loads(rq->text, 0, NULL);
    if (!page) {
        web_error(rq, 500, "internal", "cannot encode the response");
        return;
    }
    if (add_extras(rq, json_object_get(page, "items"), job_items, runs) < 0) {
        json_decref(page);
        return;
    }
    web_reply(rq, 200, page);
}

/* ---- runs ---------------------------------------------------------------------------------- */

#define RUN_SELECT                                                                                 \
    "r.id, j.id, j.name, j.kind, c.id, c.name, s.name, r.source_type, r.vendor_run_id,"            \
    " r.start_at, r.end_at, r.status, r.status, r.override, r.raw_status, r.error_count,"          \
    " r.message, r.reviewed_at, r.reviewed_at, r.reviewed_by, r.created_at, r.updated_at,"         \
    " r.anomaly"
#define RUN_FROM STORE_RUN_FROM
#define RUN_ORDER "r.start_at DESC, r.id DESC"
/* worst first (store/runs.h): an overridden run ranks as a success */
#define RUN_RANK STORE_RUN_RANK

/* An overridden run reads as a success; its stored status stays visible. */
static const struct col RUN_COLS[] = {
    {"id", C_INT, 0},
    {"job.id", C_INT, 0},
    {"job.name", C_TEXT, 0},
    {"job.kind", C_TEXT, 0},
    {"customer.id", C_INT, 0},
    {"customer.name", C_TEXT, 0},
    {"source", C_TEXT, 0},
    {"source_type", C_TEXT, 0},
    {"vendor_run_id", C_TEXT, 0},
    {"start_at", C_TIME, 0},
    {"end_at", C_TIME, 0},
    {"status", C_EFF_STATUS, 13},
    {"original_status", C_ORIG_STATUS, 13},
    {"override", C_BOOL, 0},
    {"raw_status", C_TEXT, 0},
    {"error_count", C_INT, 0},
    {"message", C_TEXT, 0},
    {"reviewed", C_SET, 0},
    {"reviewed_at", C_TIME, 0},
    {"reviewed_by", C_TEXT, 0},
    {"created_at", C_TIME, 0},
    {"updated_at", C_TIME, 0},
    {"anomaly", C_TEXT, 0},
};
#define NRUN_COLS (sizeof RUN_COLS / sizeof RUN_COLS[0])

static const struct col OBJ_COLS[] = {
    {"name", C_TEXT, 0}, {"status", C_TEXT, 0}, {"raw_status", C_TEXT, 0}, {"message", C_TEXT, 0}};

static int add_objects(struct web_req *rq, json_t *into, int64_t run_id)
{
    json_t *objs = json_array();
    struct store_param p[] = {SP_INT(run_id)};
    int rc = query_rows(rq,
                        "SELECT name, status, raw_status, message FROM job_object"
                        " WHERE run_id = ?1 ORDER BY name, id",
                        p, 1, OBJ_COLS, 4, objs);
    json_object_set_new(into, "objects", objs);
    return rc;
}

static int remark_runs(struct web_req *rq, json_t *remarks)
{
    size_t i;
    json_t *m;
    json_array_foreach(remarks, i, m)
    {
        json_t *ids = json_array();
        static const struct col c[] = {{"id", C_INT, 0}};
        json_t *rows = json_array();
        struct bk_err err = {0};
        struct rows_ctx rc;
        struct bk_buf b;
        rows_begin(rq, &rc, c, 1, &b);
        if (rows_end(rq, &rc,
                     store_remark_runs(rq->st, json_integer_value(json_object_get(m, "id")),
                                       rows_cb, &rc, &err),
                     &err, rows) < 0) {
            json_decref(rows);
            json_decref(ids);
            return -1;
        }
        size_t k;
        json_t *r;
        json_array_foreach(rows, k, r) json_array_append(ids, json_object_get(r, "id"));
        json_decref(rows);
        json_object_set_new(m, "runs", ids);
    }
    return 0;
}

static const struct col REMARK_COLS[] = {
    {"id", C_INT, 0}, {"body", C_TEXT, 0}, {"created_by", C_TEXT, 0}, {"created_at", C_TIME, 0}};

/* The remarks on run run_id (> 0), else the newest limit on job job_id, appended to arr, each
 * with its runs. 0, or -1 with the response set. */
static int remarks_into(struct web_req *rq, int64_t run_id, int64_t job_id, int64_t limit,
                        json_t *arr)
{
    struct bk_err err = {0};
    struct rows_ctx c;
    struct bk_buf b;
    rows_begin(rq, &c, REMARK_COLS, 4, &b);
    int rc = run_id > 0 ? store_remarks_of_run(rq->st, run_id, rows_cb, &c, &err)
                        : store_remarks_of_job(rq->st, job_id, limit, rows_cb, &c, &err);
    if (rows_end(rq, &c, rc, &err, arr) < 0)
        return -1;
    return remark_runs(rq, arr);
}

/* Run Checks grouped by customer, worst first (store_runs_by_customer pages through the order
 * without sorting every matching run), in reply_list()'s shape. */
static void reply_runs_by_customer(struct web_req *rq, struct qb *q, int64_t limit, int64_t offset)
{
    struct bk_err err = {0};
    struct store_run_segments segs;
    struct bk_buf key;
    char *text = xasprintf("segments: %s", q->where.data);
    cache_key(&key, text, q);
    free(text);
    if (!web_segs_get(rq->w, key.data, &segs)) {
        uint_fast64_t gen = atomic_load(&rq->w->data_gen);
        if (store_runs_segments(rq->st, q->where.data, q->p, q->np, &segs, &err) < 0) {
            bk_buf_free(&key);
            web_internal(rq, &err);
            return;
        }
        web_segs_put(rq->w, key.data, &segs, gen);
    }
    bk_buf_free(&key);
    int64_t *ids = xcalloc(limit > 0 ? (size_t)limit : 1, sizeof *ids);
    size_t n = 0;
    int rc =
        store_runs_page(rq->st, &segs, q->where.data, q->p, q->np, limit, offset, ids, &n, &err);
    int64_t total = segs.total;
    store_run_segments_free(&segs);
    if (rc < 0) {
        free(ids);
        web_internal(rq, &err);
        return;
    }
    struct bk_buf sql;
    bk_buf_init(&sql, 1u << 20);
    bk_buf_appends(&sql, "SELECT " RUN_SELECT " FROM " RUN_FROM " WHERE r.id IN (");
    for (size_t i = 0; i < n; i++)
        bk_buf_printf(&sql, "%s%lld", i ? "," : "", (long long)ids[i]);
    bk_buf_appends(&sql, n ? ") ORDER BY " STORE_RUN_ORDER_CUSTOMER : "NULL)");
    free(ids);
    reply_page_sql(rq, sql.data, NULL, 0, RUN_COLS, NRUN_COLS, total, limit, offset);
    bk_buf_free(&sql);
}

void api_runs(struct web_req *rq)
{
    static const char *const allowed[] = {"limit", "offset", "reviewed", "status",      "job",
                                          "kind",  "q",      "customer", "source",      "from",
                                          "to",    "sort",   "extras",   "source_type", NULL};
    static const char *const sort_v[] = {"newest", "oldest", "status", "customer", NULL};
    int64_t limit, offset, job = 0, from = 0, to = 0;
    bool reviewed = false, has_reviewed, has_job, has_from, has_to, extras = false, has_extras;
    const char *status, *customer, *source, *stype, *kind, *text, *sort;
    if (!list_params(rq, allowed, &limit, &offset))
        return;
    if (params_bool(&rq->q, "reviewed", &reviewed, &has_reviewed, rq->msg, sizeof rq->msg) < 0 ||
        params_enum(&rq->q, "status", RUN_STATUSES, &status, rq->msg, sizeof rq->msg) < 0 ||
        params_int(&rq->q, "job", 1, INT64_MAX, &job, &has_job, rq->msg, sizeof rq->msg) < 0 ||
        params_text(&rq->q, "customer", 256, &customer, rq->msg, sizeof rq->msg) < 0 ||
        params_text(&rq->q, "source", 256, &source, rq->msg, sizeof rq->msg) < 0 ||
        params_time(&rq->q, "from", &from, &has_from, rq->msg, sizeof rq->msg) < 0 ||
        params_time(&rq->q, "to", &to, &has_to, rq->msg, sizeof rq->msg) < 0 ||
        params_text(&rq->q, "source_type", 32, &stype, rq->msg, sizeof rq->msg) < 0 ||
        params_text(&rq->q, "kind", 64, &kind, rq->msg, sizeof rq->msg) < 0 ||
        params_text(&rq->q, "q", 256, &text, rq->msg, sizeof rq->msg) < 0 ||
        params_enum(&rq->q, "sort", sort_v, &sort, rq->msg, sizeof rq->msg) < 0 ||
        params_bool(&rq->q, "extras", &extras, &has_extras, rq->msg, sizeof rq->msg) < 0) {
        web_bad_request(rq);
        return;
    }
    if (has_from && has_to && from > to) {
        web_error(rq, 400, "bad_request", "from: must not be after to");
        return;
    }
    struct qb q;
    qb_init(&q);
    if (kind)
        QB_AND(&q, STORE_RUNS_OF_KIND, SP_TEXT(kind));
    if (text) {
        struct store_param tp[STORE_RUNS_TEXT_PARAMS];
        size_t ntp;
        char *owned[2];
        char *cond = store_runs_text_cond(rq->st, text, tp, &ntp, owned);
        qb_and(&q, cond, tp);
        free(cond);
        qb_own(&q, owned[0]);
        if (owned[1])
            qb_own(&q, owned[1]);
    }
    if (has_reviewed)
        QB_AND0(&q, reviewed ? "r.reviewed_at IS NOT NULL" : "r.reviewed_at IS NULL");
    if (status && strcmp(status, "success") == 0)
        QB_AND0(&q, STORE_RUN_SUCCEEDED("r"));
    else if (status)
        QB_AND(&q, "r.status = ? AND r.override = 0", SP_TEXT(status));
    if (has_job)
        QB_AND(&q, "r.job_id = ?", SP_INT(job));
    if (customer)
        and_run_customer(&q, customer);
    if (source)
        QB_AND(&q, STORE_RUNS_OF_SOURCE, SP_TEXT(source));
    if (has_from)
        QB_AND(&q, "r.start_at >= ?", SP_INT(from));
    if (has_to)
        QB_AND(&q, "r.start_at <= ?", SP_INT(to));
    if (stype)
        QB_AND(&q, "r.source_type = ?", SP_TEXT(stype));
    /* every condition reads r alone (the job's by subqueries): counts need no join */
    const char *count_from = "job_run r";
    const char *order = RUN_ORDER;
    if (sort && strcmp(sort, "oldest") == 0)
        order = "r.start_at, r.id";
    else if (sort && strcmp(sort, "status") == 0)
        order = RUN_RANK " DESC, " RUN_ORDER;
    if (sort && strcmp(sort, "customer") == 0)
        reply_runs_by_customer(rq, &q, limit, offset);
    else
        reply_list(rq, &(struct store_listq){RUN_SELECT, RUN_FROM, count_from, order}, RUN_COLS,
                   NRUN_COLS, &q, limit, offset);
    qb_free(&q);
    if (extras)
        reply_with_extras(rq, false, true);
}

static json_t *load_run(struct web_req *rq, int64_t id, int *rc)
{
    struct store_param p[] = {SP_INT(id)};
    return query_one(rq, "SELECT " RUN_SELECT " FROM " RUN_FROM " WHERE r.id = ?1", p, 1, RUN_COLS,
                     NRUN_COLS, rc);
}

void api_run_get(struct web_req *rq)
{
    int rc;
    if (!no_params(rq))
        return;
    json_t *run = load_run(rq, rq->id, &rc);
    if (rc < 0)
        return;
    if (!run) {
        web_error(rq, 404, "not_found", "no run %lld", (long long)rq->id);
        return;
    }
    json_t *remarks = json_array();
    if (add_objects(rq, run, rq->id) < 0 || remarks_into(rq, rq->id, 0, 0, remarks) < 0) {
        json_decref(remarks);
        json_decref(run);
        return;
    }
    json_object_set_new(run, "remarks", remarks);
    web_reply(rq, 200, run);
}

/* The one status that is not final: such a run cannot be reviewed yet. */

void api_run_review(struct web_req *rq)
{
    struct bk_err err = {0};
    int rc;
    if (!no_params(rq))
        return;
    int64_t n = 0, running = 0;
    if (store_begin(rq->st, &err) < 0) {
        web_internal(rq, &err);
        return;
    }
    if (store_runs_review(rq->st, &rq->id, 1, 0, rq->who.name, bk_now_ms(), &n, &running, &err) < 0)
        goto dberr;
    if (running) {
        store_rollback(rq->st);
        web_error(rq, 409, "conflict",
                  "run %lld is still running: it can be reviewed once it has a final status",
                  (long long)rq->id);
        return;
    }
    if (n > 0) {
        char target[32];
        snprintf(target, sizeof target, "run:%lld", (long long)rq->id);
        json_t *after = json_pack("{s:I}", "run", (json_int_t)rq->id);
        rc = web_audit(rq, "run.review", target, NULL, after);
        json_decref(after);
        if (rc < 0)
            goto dberr_logged;
    }
    if (store_commit(rq->st, &err) < 0)
        goto dberr;
    json_t *run = load_run(rq, rq->id, &rc);
    if (rc < 0)
        return;
    if (!run) {
        web_error(rq, 404, "not_found", "no run %lld", (long long)rq->id);
        return;
    }
    web_reply(rq, 200, run);
    return;
dberr:
    store_rollback(rq->st);
    {
        web_internal(rq, &err);
        return;
    }
dberr_logged:
    store_rollback(rq->st);
    web_error(rq, 500, "internal", "internal error (see the server log)");
}

void api_runs_review(struct web_req *rq)
{
    static const char *const fields[] = {"ids", "job", NULL};
    struct bk_err err = {0};
    int64_t *ids = NULL, job = 0, total = 0, skipped = 0, now = bk_now_ms();
    size_t nids = 0;
    bool has_job;
    if (!no_params(rq))
        return;
    if (params_json_check_allowed(rq->body, fields, rq->msg, sizeof rq->msg) < 0 ||
        params_json_int(rq->body, "job", 1, INT64_MAX, &job, &has_job, rq->msg, sizeof rq->msg) <
            0) {
        web_bad_request(rq);
        return;
    }
    bool has_ids = json_object_get(rq->body, "ids") != NULL;
    if (has_ids == has_job) {
        web_error(rq, 400, "bad_request", "body: give exactly one of \"ids\" or \"job\"");
        return;
    }
    if (has_ids && params_json_ids(rq->body, "ids", PARAMS_LIMIT_MAX, &ids, &nids, rq->msg,
                                   sizeof rq->msg) < 0) {
        web_bad_request(rq);
        return;
    }
    if (has_job) {
        bool exists = false;
        if (job_known(rq, job, &exists) < 0)
            goto out;
        if (!exists) {
            web_error(rq, 404, "not_found", "no job %lld", (long long)job);
            goto out;
        }
    }
    if (store_begin(rq->st, &err) < 0) {
        web_internal(rq, &err);
        goto out;
    }
    /* Runs still running are skipped (store_runs_review) and counted in "skipped". */
    if (store_runs_review(rq->st, ids, has_job ? 0 : nids, job, rq->who.name, now, &total, &skipped,
                          &err) < 0)
        goto fail;
    json_t *after =
        json_pack("{s:I,s:I}", "count", (json_int_t)total, "skipped", (json_int_t)skipped);
    char target[48];
    if (has_job) {
        snprintf(target, sizeof target, "job:%lld", (long long)job);
    } else {
        json_t *a = json_array();
        for (size_t i = 0; i < nids; i++)
            json_array_append_new(a, json_integer(ids[i]));
        json_object_set_new(after, "ids", a);
        snprintf(target, sizeof target, "runs");
    }
    int arc = total > 0 ? web_audit(rq, "run.review", target, NULL, after) : 0;
    json_decref(after);
    if (arc < 0) {
        store_rollback(rq->st);
        web_error(rq, 500, "internal", "internal error (see the server log)");
        goto out;
    }
    if (store_commit(rq->st, &err) < 0)
        goto fail;
    web_reply(rq, 200,
              json_pack("{s:I,s:I}", "count", (json_int_t)total, "skipped", (json_int_t)skipped));
    goto out;
fail:
    store_rollback(rq->st);
    web_internal(rq, &err);
out:
    free(ids);
}

/* ---- jobs ---------------------------------------------------------------------------------- */

/* Freshness (issue 9): the job's last real run (not a synthetic Missed/offline one) against
 * the stale thresholds the evaluator stored in job_schedule (26 h / 50 h without a row). The
 * rule is the store's store_job_freshness() over STORE_FRESH_COLUMNS (C_FRESH). A list filter
 * has to say it in SQL: FRESH_* below mirror that function (and_freshness), and api.bats
 * checks that each filter returns exactly the jobs whose computed freshness it names. */
#define FRESH_LAST                                                                                 \
    "(SELECT y.start_at FROM job_run y WHERE y.job_id = j.id AND y.source_type <> 'expected'"      \
    " AND y.start_at > 0 ORDER BY y.start_at DESC LIMIT 1)"
#define FRESH_WARN "(CASE WHEN js.warn_after_ms > 0 THEN js.warn_after_ms ELSE 93600000 END)"
#define FRESH_CRIT0 "(CASE WHEN js.crit_after_ms > 0 THEN js.crit_after_ms ELSE 180000000 END)"
#define FRESH_CRIT                                                                                 \
    "(CASE WHEN " FRESH_CRIT0 " < " FRESH_WARN " THEN " FRESH_WARN " ELSE " FRESH_CRIT0 " END)"

#define JOB_SELECT                                                                                 \
    "j.id, j.name, j.kind, j.external_id, s.name, s.kind, c.id, c.name, j.retired_at,"             \
    " j.retired_at, r.status, r.id, r.status, r.override, r.status, r.raw_status, r.start_at,"     \
    " r.end_at, r.reviewed_at, j.created_at, j.updated_at, js.description, " STORE_FRESH_COLUMNS   \
    ", " FRESH_LAST
#define JOB_FROM_BASE                                                                              \
    "job j JOIN source s ON s.id = j.source_id LEFT JOIN customer c ON c.id = j.customer_id"
#define JOB_FROM                                                                                   \
    JOB_FROM_BASE " LEFT JOIN job_run r ON r.id = " STORE_LATEST_RUN_OF(                           \
        "j.id") " LEFT JOIN job_schedule js ON js.job_id = j.id"

static const struct col JOB_COLS[] = {
    {"id", C_INT, 0},
    {"name", C_TEXT, 0},
    {"kind", C_TEXT, 0},
    {"external_id", C_TEXT, 0},
    {"source", C_TEXT, 0},
    {"source_kind", C_TEXT, 0},
    {"customer.id", C_INT, 0},
    {"customer.name", C_TEXT, 0},
    {"retired", C_SET, 0},
    {"retired_at", C_TIME, 0},
    {"status", C_JOB_STATUS, 13},
    {"last_run.id", C_INT, 0},
    {"last_run.status", C_EFF_STATUS, 13},
    {"last_run.override", C_BOOL, 0},
    {"last_run.original_status", C_ORIG_STATUS, 13},
    {"last_run.raw_status", C_TEXT, 0},
    {"last_run.start_at", C_TIME, 0},
    {"last_run.end_at", C_TIME, 0},
    {"last_run.reviewed", C_SET, 0},
    {"created_at", C_TIME, 0},
    {"updated_at", C_TIME, 0},
    {"schedule", C_TEXT, 0},
    {"freshness", C_FRESH, 0},
    {"warn", C_HIDDEN, 0},
    {"crit", C_HIDDEN, 0},
    {"first_seen", C_HIDDEN, 0},
    {"last_backup_at", C_TIME, 0}, /* the last real run (not a Missed or offline record) */
};
#define NJOB_COLS (sizeof JOB_COLS / sizeof JOB_COLS[0])

/* The freshness filter: bk_sched_freshness() in SQL (ok | old | stale | never = never_new or
 * never_old | critical = stale or never_old, what the Dashboard's Stale tile counts). */
static void and_freshness(struct qb *q, const char *f, int64_t now)
{
    if (strcmp(f, "ok") == 0)
        QB_AND(q, FRESH_LAST " IS NOT NULL AND ? - " FRESH_LAST " <= " FRESH_WARN, SP_INT(now));
    else if (strcmp(f, "old") == 0)
        QB_AND(q,
               FRESH_LAST " IS NOT NULL AND ? - " FRESH_LAST " > " FRESH_WARN " AND ? - " FRESH_LAST
                          " <= " FRESH_CRIT,
               SP_INT(now), SP_INT(now));
    else if (strcmp(f, "stale") == 0)
        QB_AND(q, FRESH_LAST " IS NOT NULL AND ? - " FRESH_LAST " > " FRESH_CRIT, SP_INT(now));
    else if (strcmp(f, "never") == 0)
        QB_AND0(q, FRESH_LAST " IS NULL");
    else
        QB_AND(q,
               "CASE WHEN " FRESH_LAST
               " IS NULL THEN (j.created_at <= 0 OR ? - j.created_at > " FRESH_CRIT
               ") ELSE ? - " FRESH_LAST " > " FRESH_CRIT " END",
               SP_INT(now), SP_INT(now));
}

void api_jobs(struct web_req *rq)
{
    static const char *const allowed[] = {"limit",     "offset", "customer", "source", "kind",
                                          "status",    "q",      "retired",  "sort",   "from",
                                          "freshness", "to",     "extras",   NULL};
    static const char *const retired_v[] = {"false", "true", "all", NULL};
    static const char *const sort_v[] = {"id", "name", "status", "last", NULL};
    static const char *const fresh_v[] = {"ok", "old", "stale", "never", "critical", NULL};
    int64_t limit, offset, now = bk_now_ms(), from = 0, to = 0;
    bool has_from, has_to, extras = false, has_extras;
    const char *customer, *source, *kind, *status, *text, *retired, *sort, *fresh;
    if (!list_params(rq, allowed, &limit, &offset))
        return;
    if (params_text(&rq->q, "customer", 256, &customer, rq->msg, sizeof rq->msg) < 0 ||
        params_text(&rq->q, "source", 256, &source, rq->msg, sizeof rq->msg) < 0 ||
        params_text(&rq->q, "kind", 64, &kind, rq->msg, sizeof rq->msg) < 0 ||
        params_enum(&rq->q, "status", JOB_STATUSES, &status, rq->msg, sizeof rq->msg) < 0 ||
        params_text(&rq->q, "q", 256, &text, rq->msg, sizeof rq->msg) < 0 ||
        params_enum(&rq->q, "retired", retired_v, &retired, rq->msg, sizeof rq->msg) < 0 ||
        params_enum(&rq->q, "sort", sort_v, &sort, rq->msg, sizeof rq->msg) < 0 ||
        params_enum(&rq->q, "freshness", fresh_v, &fresh, rq->msg, sizeof rq->msg) < 0 ||
        params_time(&rq->q, "from", &from, &has_from, rq->msg, sizeof rq->msg) < 0 ||
        params_time(&rq->q, "to", &to, &has_to, rq->msg, sizeof rq->msg) < 0 ||
        params_bool(&rq->q, "extras", &extras, &has_extras, rq->msg, sizeof rq->msg) < 0) {
        web_bad_request(rq);
        return;
    }
    if (has_from && has_to && from > to) {
        web_error(rq, 400, "bad_request", "from: must not be after to");
        return;
    }
    struct qb q;
    qb_init(&q);
    /* from/to: the latest run started in the window */
    if (has_from)
        QB_AND(&q, "r.start_at >= ?", SP_INT(from));
    if (has_to)
        QB_AND(&q, "r.start_at <= ?", SP_INT(to));
    if (fresh)
        and_freshness(&q, fresh, now);
    if (!retired || strcmp(retired, "false") == 0)
        QB_AND0(&q, "j.retired_at IS NULL");
    else if (strcmp(retired, "true") == 0)
        QB_AND0(&q, "j.retired_at IS NOT NULL");
    if (customer)
        and_customer(&q, customer);
    if (source)
        QB_AND(&q, "s.name = ?", SP_TEXT(source));
    if (kind)
        QB_AND(&q, "j.kind = ?", SP_TEXT(kind));
    if (text) {
        const char *like = qb_own(&q, store_like_pattern("contains", text));
        QB_AND(&q,
               "LOWER(j.name) LIKE ? ESCAPE '\\' OR LOWER(COALESCE(c.name, '')) LIKE ? ESCAPE '\\'",
               SP_TEXT(like), SP_TEXT(like));
    }
    if (status)
        QB_AND(
            &q,
            "(CASE WHEN r.id IS NULL THEN 'none' ELSE " STORE_RUN_EFFECTIVE_STATUS("r") " END) = ?",
            SP_TEXT(status));
    const char *order = "j.id";
    if (sort && strcmp(sort, "name") == 0)
        order = "COALESCE(c.name, ''), j.name, j.id";
    else if (sort && strcmp(sort, "status") == 0)
        order = "(CASE WHEN r.id IS NULL THEN 0 ELSE " RUN_RANK " END) DESC, COALESCE(c.name, ''),"
                " j.name, j.id";
    else if (sort && strcmp(sort, "last") == 0)
        order = "r.start_at IS NULL, r.start_at DESC, j.id";
    /* the count joins only what its filters use: it visits every matching job */
    char *count_from = xasprintf(
        "job j%s%s%s%s", source ? " JOIN source s ON s.id = j.source_id" : "",
        customer || text ? " LEFT JOIN customer c ON c.id = j.customer_id" : "",
        status || has_from || has_to ? " LEFT JOIN job_run r ON r.id = " STORE_LATEST_RUN_OF("j.id")
                                     : "",
        fresh ? " LEFT JOIN job_schedule js ON js.job_id = j.id" : "");
    reply_list(rq, &(struct store_listq){JOB_SELECT, JOB_FROM, count_from, order}, JOB_COLS,
               NJOB_COLS, &q, limit, offset);
    free(count_from);
    qb_free(&q);
    if (extras)
        reply_with_extras(rq, true, false);
}

/* Cove colour-bar digits (session status codes) ↔ normalised statuses. */
static const char *cove_digit_status(char d)
{
    switch (d) {
    case '5':
        return "success";
    case '8':
        return "warning";
    case '2':
    case '3':
    case '6':
    case '7':
        return "failed";
    case '1':
    case '9':
        return "running";
    case '4':
        return "unknown";
    default:
        return "none";
    }
}

static int status_rank(const char *s)
{
    static const char *const order[] = {"none",    "success", "running", "unknown",
                                        "warning", "missed",  "failed"};
    for (int i = 0; i < 7; i++)
        if (strcmp(s, order[i]) == 0)
            return i;
    return 3; /* unmapped: unknown */
}

static char status_digit(const char *s)
{
    switch (status_rank(s)) {
    case 1:
        return '5';
    case 2:
        return '1';
    case 4:
        return '8';
    case 5:
        return '7';
    case 6:
        return '2';
    case 3:
        return '4';
    default:
        return '0';
    }
}

struct bar_ctx {
    int64_t day0; /* first day (epoch days) */
    const char *day_status[BAR_DAYS];
};

static int bar_cb(const struct store_row *r, void *ud)
{
    struct bar_ctx *b = ud;
    int64_t t = store_row_int(r, 0);
    const char *st = store_row_int(r, 2) ? "success" : store_row_text(r, 1);
    int64_t d = (t >= 0 ? t / DAY_MS : -1) - b->day0;
    if (!st || d < 0 || d >= BAR_DAYS)
        return 0;
    /* the worst run of the day colours it */
    if (!b->day_status[d] || status_rank(st) > status_rank(b->day_status[d]))
        b->day_status[d] = strcmp(st, "success") == 0   ? "success"
                           : strcmp(st, "warning") == 0 ? "warning"
                           : strcmp(st, "failed") == 0  ? "failed"
                           : strcmp(st, "running") == 0 ? "running"
                           : strcmp(st, "missed") == 0  ? "missed"
                                                        : "unknown";
    return 0;
}

static void day_string(int64_t epoch_day, char *out, size_t outsz)
{
    char iso[32];
    bk_iso8601(epoch_day * DAY_MS, iso, sizeof iso);
    snprintf(out, outsz, "%.10s", iso);
}

/* {"source": "vendor"|"computed", "digits", "as_of", "days": [{"date", "status"}]} over the
 * last 28 days, oldest first. A vendor bar (Cove D09F08) is shown as sent; other jobs get
 * one computed from their stored runs in the same digit code. */
static int colour_bar(struct web_req *rq, int64_t job_id, const char *digits, int64_t as_of,
                      json_t **out)
{
    json_t *days = json_array();
    char buf[BAR_DAYS + 1], date[16];
    if (digits && *digits) {
        size_t n = strlen(digits);
        size_t take = n < BAR_DAYS ? n : BAR_DAYS;
        int64_t last_day = (as_of > 0 ? as_of : bk_now_ms()) / DAY_MS;
        for (size_t i = 0; i < take; i++) {
            char d = digits[n - take + i];
            day_string(last_day - (int64_t)(take - 1 - i), date, sizeof date);
            json_array_append_new(
                days, json_pack("{s:s,s:s}", "date", date, "status", cove_digit_status(d)));
        }
        *out = json_pack("{s:s,s:o,s:o,s:o}", "source", "vendor", "digits", web_jstr(digits),
                         "as_of", web_jtime(as_of), "days", days);
        return 0;
    }
    int64_t now = bk_now_ms();
    struct bar_ctx b = {.day0 = now / DAY_MS - (BAR_DAYS - 1)};
    struct store_param p[] = {SP_INT(job_id), SP_INT(b.day0 * DAY_MS)};
    struct bk_err err = {0};
    if (store_query(rq->st,
                    "SELECT COALESCE(start_at, created_at), status, override FROM job_run"
                    " WHERE job_id = ?1 AND COALESCE(start_at, created_at) >= ?2",
                    p, 2, bar_cb, &b, &err) < 0) {
        json_decref(days);
        web_internal(rq, &err);
        return -1;
    }
    for (int i = 0; i < BAR_DAYS; i++) {
        const char *st = b.day_status[i] ? b.day_status[i] : "none";
        buf[i] = status_digit(st);
        day_string(b.day0 + i, date, sizeof date);
        json_array_append_new(days, json_pack("{s:s,s:s}", "date", date, "status", st));
    }
    buf[BAR_DAYS] = '\0';
    *out = json_pack("{s:s,s:s,s:o,s:o}", "source", "computed", "digits", buf, "as_of",
                     web_jtime(now), "days", days);
    return 0;
}

struct bar_src {
    char *digits;
    int64_t as_of;
};

static int bar_src_cb(const struct store_row *r, void *ud)
{
    struct bar_src *b = ud;
    const char *d = store_row_text(r, 0);
    b->digits = d ? xstrdup(d) : NULL;
    b->as_of = store_row_int(r, 1);
    return 0;
}

#define OVR_SELECT                                                                                 \
    "o.id, j.id, j.name, o.object_name, o.match_status, o.match_kind, o.match_text,"               \
    " o.valid_from, o.valid_until, o.valid_from, o.created_by, o.created_at"
#define OVR_FROM "override o LEFT JOIN job j ON j.id = o.job_id"

static const struct col OVR_COLS[] = {
    {"id", C_INT, 0},           {"job.id", C_INT, 0},        {"job.name", C_TEXT, 0},
    {"object_name", C_TEXT, 0}, {"match_status", C_TEXT, 0}, {"match_kind", C_TEXT, 0},
    {"match_text", C_TEXT, 0},  {"valid_from", C_TIME, 0},   {"valid_until", C_TIME, 0},
    {"active", C_ACTIVE, 8},    {"created_by", C_TEXT, 0},   {"created_at", C_TIME, 0},
};
#define NOVR_COLS (sizeof OVR_COLS / sizeof OVR_COLS[0])

/* The job's schedule (job_schedule as the evaluator last wrote it, with what was configured
 * through the API) and freshness, set into job as objects. schedule is null when the job was
 * never evaluated and has nothing configured. */
static int job_schedule_json(struct web_req *rq, int64_t job_id, json_t *job)
{
    static const struct col scols[] = {
        {"origin", C_TEXT, 0},
        {"kind", C_TEXT, 0},
        {"description", C_TEXT, 0},
        {"timezone", C_TEXT, 0},
        {"grace_seconds", C_SECS, 0},
        {"confidence", C_INT, 0},
        {"evidence", C_INT, 0},
        {"config_name", C_TEXT, 0},
        {"evaluated_at", C_TIME, 0},
        {"configured.spec", C_TEXT, 0},
        {"configured.timezone", C_TEXT, 0},
        {"configured.grace_seconds", C_SECS, 0},
        {"configured.created_by", C_TEXT, 0},
        {"configured.created_at", C_TIME, 0},
        {"policy.name", C_TEXT, 0},
        {"policy.rpo_seconds", C_INT, 0},
    };
    static const struct col fcols[] = {
        {"state", C_FRESH, 0},
        {"warn", C_HIDDEN, 0},
        {"crit", C_HIDDEN, 0},
        {"first_seen", C_HIDDEN, 0},
        {"last_run_at", C_TIME, 0},
        {"warn_after_seconds", C_SECS, 0},
        {"crit_after_seconds", C_SECS, 0},
    };
    struct store_param p[] = {SP_INT(job_id)};
    int rc;
    json_t *sched = query_one(rq,
                              "SELECT js.origin, js.kind, js.description, js.timezone, js.grace_ms,"
                              " js.confidence, js.evidence, js.config_name, js.updated_at,"
                              " ss.spec, ss.timezone, ss.grace_ms, ss.created_by, ss.created_at,"
                              " j.policy_name, j.policy_rpo_s"
                              " FROM job j LEFT JOIN job_schedule js ON js.job_id = j.id"
                              " LEFT JOIN job_schedule_set ss ON ss.job_id = j.id WHERE j.id = ?1",
                              p, 1, scols, sizeof scols / sizeof scols[0], &rc);
    if (rc < 0)
        return -1;
    if (sched && json_is_null(json_object_get(sched, "origin")) &&
        json_is_null(json_object_get(sched, "configured"))) {
        json_decref(sched);
        sched = NULL;
    }
    json_object_set_new(job, "schedule", sched ? sched : json_null());
    json_t *fresh =
        query_one(rq,
                  "SELECT " STORE_FRESH_COLUMNS ", " FRESH_LAST ", " FRESH_WARN ", " FRESH_CRIT
                  " FROM job j LEFT JOIN job_schedule js ON js.job_id = j.id"
                  " WHERE j.id = ?1",
                  p, 1, fcols, sizeof fcols / sizeof fcols[0], &rc);
    if (rc < 0)
        return -1;
    json_object_set_new(job, "freshness", fresh ? fresh : json_null());
    return 0;
}

void api_job_get(struct web_req *rq)
{
    int rc;
    if (!no_params(rq))
        return;
    struct store_param p[] = {SP_INT(rq->id)};
    json_t *job = query_one(rq, "SELECT " JOB_SELECT " FROM " JOB_FROM " WHERE j.id = ?1", p, 1,
                            JOB_COLS, NJOB_COLS, &rc);
    if (rc < 0)
        return;
    if (!job) {
        web_error(rq, 404, "not_found", "no job %lld", (long long)rq->id);
        return;
    }
    struct bar_src bs = {0};
    struct bk_err err = {0};
    json_t *runs = json_array(), *ovr = json_array(), *remarks = json_array(), *bar = NULL;
    int64_t nruns = 0;
    struct store_param pl[] = {SP_INT(rq->id), SP_INT(DETAIL_RUNS)};
    if (store_query(rq->st, "SELECT colour_bar, colour_bar_as_of FROM job WHERE id = ?1", p, 1,
                    bar_src_cb, &bs, &err) < 0) {
        web_internal(rq, &err);
        goto out;
    }
    if (query_rows(rq,
                   "SELECT " RUN_SELECT " FROM " RUN_FROM " WHERE r.job_id = ?1 ORDER BY " RUN_ORDER
                   " LIMIT ?2",
                   pl, 2, RUN_COLS, NRUN_COLS, runs) < 0 ||
        query_int(rq, "SELECT COUNT(*) FROM job_run WHERE job_id = ?1", p, 1, &nruns) < 0 ||
        colour_bar(rq, rq->id, bs.digits, bs.as_of, &bar) < 0 ||
        query_rows(rq,
                   "SELECT " OVR_SELECT " FROM " OVR_FROM " WHERE o.job_id = ?1 OR o.job_id IS NULL"
                   " ORDER BY o.id",
                   p, 1, OVR_COLS, NOVR_COLS, ovr) < 0 ||
        remarks_into(rq, 0, rq->id, DETAIL_RUNS, remarks) < 0)
        goto out;
    json_t *latest = json_array_get(runs, 0);
    if (latest) {
        if (add_objects(rq, job, json_integer_value(json_object_get(latest, "id"))) < 0)
            goto out;
    } else {
        json_object_set_new(job, "objects", json_array());
    }
    if (job_schedule_json(rq, rq->id, job) < 0)
        goto out;
    json_object_set_new(job, "colour_bar", bar);
    bar = NULL;
    json_object_set(job, "runs", runs);
    json_object_set_new(job, "runs_total", json_integer(nruns));
    json_object_set(job, "overrides", ovr);
    json_object_set(job, "remarks", remarks);
    web_reply(rq, 200, job);
    job = NULL;
out:
    json_decref(job);
    json_decref(runs);
    json_decref(ovr);
    json_decref(remarks);
    json_decref(bar);
    free(bs.digits);
}

/* ---- expected schedules (issue 9) ---------------------------------------------------------- */

/* Re-evaluate the job's schedule, slots and Missed runs at once, so the answer (and the job
 * page) shows what the change means. A failure is logged: the next evaluation cycle retries. */
static void eval_job(struct web_req *rq, int64_t job_id)
{
    struct bk_err err = {0};
    if (store_expected_eval_job(rq->st, rq->w->cfg, job_id, bk_now_ms(), &err) < 0)
        log_warn("web: evaluating the schedule of job %lld: %s", (long long)job_id, err.msg);
    web_data_changed(rq->w);
}

static int schedule_set_cb(const struct store_row *r, void *ud)
{
    json_t **o = ud;
    *o = json_pack(
        "{s:o,s:o,s:o}", "spec", web_jstr(store_row_text(r, 0)), "timezone",
        store_row_is_null(r, 1) ? json_null() : web_jstr(store_row_text(r, 1)), "grace_seconds",
        store_row_is_null(r, 2) ? json_null() : json_integer(store_row_int(r, 2) / 1000));
    return 0;
}

/* The job's job_schedule_set row as {spec, timezone, grace_seconds}, or NULL (none). */
static int schedule_set_get(struct web_req *rq, int64_t job_id, json_t **out, struct bk_err *err)
{
    struct store_param p[] = {SP_INT(job_id)};
    *out = NULL;
    return store_query(rq->st,
                       "SELECT spec, timezone, grace_ms FROM job_schedule_set WHERE job_id = ?1", p,
                       1, schedule_set_cb, out, err);
}

/* 0 when the job in the path exists, else -1 with a 404 (or 500) set. */
static int path_job(struct web_req *rq)
{
    bool n = false;
    if (job_known(rq, rq->id, &n) < 0)
        return -1;
    if (!n) {
        web_error(rq, 404, "not_found", "no job %lld", (long long)rq->id);
        return -1;
    }
    return 0;
}

static void reply_schedule(struct web_req *rq)
{
    json_t *o = json_object();
    if (job_schedule_json(rq, rq->id, o) == 0)
        web_reply(rq, 200, o);
    else
        json_decref(o);
}

/* Set (spec non-NULL, validated) or clear the schedule configured for job rq->id: the
 * change and its audit row in one transaction, then the job evaluated again and the
 * schedule answered. Clearing a job that had none changes, audits and evaluates nothing. */
static void schedule_write(struct web_req *rq, const char *spec, const char *tzname,
                           int64_t grace_s)
{
    struct bk_err err = {0};
    json_t *before = NULL;
    int64_t n = 0;
    if (store_begin(rq->st, &err) < 0) {
        web_internal(rq, &err);
        return;
    }
    struct store_param pd[] = {SP_INT(rq->id)};
    struct store_param pi[] = {SP_INT(rq->id),
                               SP_TEXT(spec),
                               tzname ? SP_TEXT(tzname) : SP_NULL,
                               grace_s >= 0 ? SP_INT(grace_s * 1000) : SP_NULL,
                               SP_TEXT(rq->who.name),
                               SP_INT(bk_now_ms())};
    if (schedule_set_get(rq, rq->id, &before, &err) < 0 ||
        store_exec(rq->st, "DELETE FROM job_schedule_set WHERE job_id = ?1", pd, 1, &n, NULL,
                   &err) < 0 ||
        (spec && store_exec(rq->st,
                            "INSERT INTO job_schedule_set (job_id, spec, timezone, grace_ms,"
                            " created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                            pi, 6, NULL, NULL, &err) < 0)) {
        store_rollback(rq->st);
        json_decref(before);
        web_internal(rq, &err);
        return;
    }
    bool changed = spec || n > 0;
    int arc = 0;
    if (changed) {
        json_t *after = spec ? json_pack("{s:o,s:o,s:o}", "spec", web_jstr(spec), "timezone",
                                         tzname ? web_jstr(tzname) : json_null(), "grace_seconds",
                                         grace_s >= 0 ? json_integer(grace_s) : json_null())
                             : NULL;
        char target[32];
        snprintf(target, sizeof target, "job:%lld", (long long)rq->id);
        arc =
            web_audit(rq, spec ? "job.schedule.set" : "job.schedule.clear", target, before, after);
        json_decref(after);
    }
    json_decref(before);
    if (arc < 0) {
        store_rollback(rq->st);
        web_error(rq, 500, "internal", "internal error (see the server log)");
        return;
    }
    if (store_commit(rq->st, &err) < 0) {
        store_rollback(rq->st);
        web_internal(rq, &err);
        return;
    }
    if (changed)
        eval_job(rq, rq->id);
    reply_schedule(rq);
}

void api_job_schedule_put(struct web_req *rq)
{
    static const char *const fields[] = {"spec", "timezone", "grace", NULL};
    struct bk_err err = {0};
    const char *spec = NULL, *tzname = NULL, *grace = NULL;
    int64_t grace_s = -1;
    if (!no_params(rq))
        return;
    if (params_json_check_allowed(rq->body, fields, rq->msg, sizeof rq->msg) < 0 ||
        params_json_text(rq->body, "spec", BK_SCHED_MAX_SPEC, &spec, rq->msg, sizeof rq->msg) < 0 ||
        params_json_text(rq->body, "timezone", 128, &tzname, rq->msg, sizeof rq->msg) < 0 ||
        params_json_text(rq->body, "grace", 32, &grace, rq->msg, sizeof rq->msg) < 0) {
        web_bad_request(rq);
        return;
    }
    if (!spec || !*spec) {
        web_error(rq, 400, "bad_request",
                  "spec: a cron expression (\"0 22 * * *\") or a duration (\"1d\") is required");
        return;
    }
    if (tzname && !*tzname)
        tzname = NULL;
    if (grace && *grace && bk_sched_parse_duration(grace, &grace_s, &err) < 0) {
        web_error(rq, 400, "bad_request", "grace: %s", err.msg);
        return;
    }
    struct bk_schedule sch;
    if (bk_sched_parse(spec, grace_s, &sch, &err) < 0) {
        web_error(rq, 400, "bad_request", "spec: %s", err.msg);
        return;
    }
    if (tzname) {
        struct bk_tz *tz = NULL;
        if (bk_tz_load(tzname, &tz, &err) < 0) {
            web_error(rq, 400, "bad_request", "timezone: %s", err.msg);
            return;
        }
        bk_tz_free(tz);
    }
    if (path_job(rq) < 0)
        return;
    schedule_write(rq, spec, tzname, grace_s);
}

void api_job_schedule_delete(struct web_req *rq)
{
    if (!no_params(rq))
        return;
    if (path_job(rq) < 0)
        return;
    schedule_write(rq, NULL, NULL, -1);
}

/* ---- Daily Jobs (issue 9) ------------------------------------------------------------------ */

/* A job-day's status, worst first: a slot with a run has the run's effective status; a slot
 * the evaluator saw satisfied without naming its run (a Cove night known from the colour bar)
 * has the status of the real run in its window, else the bar's digit of that UTC day; the
 * others have their state (missed, expected = not yet due, unknown = the source was down). */
static const char *const DAILY_STATUSES[] = {"success", "expected", "running", "unknown",
                                             "warning", "missed",   "failed",  NULL};
/* clang-format off */
#define DAILY_RANK(st)                                                                             \
    "(CASE " st " WHEN 'failed' THEN 7 WHEN 'missed' THEN 6 WHEN 'warning' THEN 5"                 \
    " WHEN 'unknown' THEN 4 WHEN 'running' THEN 3 WHEN 'expected' THEN 2 WHEN 'success' THEN 1"    \
    " ELSE 4 END)"
#define DAILY_EFF(r) STORE_RUN_EFFECTIVE_STATUS(r)
/* the digit of the slot's UTC day in the job's colour bar (cove_digit_status below) */
#define DAILY_BAR_STATUS                                                                           \
    "(CASE substr(bj.colour_bar, CAST(length(bj.colour_bar) - (bj.colour_bar_as_of / 86400000"     \
    " - sl.slot_start / 86400000) AS INTEGER), 1) WHEN '5' THEN 'success' WHEN '8' THEN 'warning'" \
    " WHEN '2' THEN 'failed' WHEN '3' THEN 'failed' WHEN '6' THEN 'failed' WHEN '7' THEN 'failed'" \
    " WHEN '1' THEN 'running' WHEN '9' THEN 'running' ELSE 'unknown' END)"
#define DAILY_SLOT_STATUS                                                                          \
    "(CASE WHEN r.id IS NOT NULL THEN " DAILY_EFF("r")                                             \
    " WHEN sl.state = 'ran' THEN COALESCE((SELECT " DAILY_EFF("w") " FROM job_run w"               \
    " WHERE w.job_id = sl.job_id AND w.source_type <> 'expected' AND w.start_at >= sl.open_at"     \
    " AND w.start_at < sl.close_at ORDER BY w.start_at DESC LIMIT 1), " DAILY_BAR_STATUS ")"       \
    " ELSE sl.state END)"
/* ?1 = the day (YYYY-MM-DD), [?2, ?3) = that day in the server's zone. Jobs with slots that
 * day (the evaluator's job_slot rows, day = the local backup day in the schedule's zone), and
 * jobs without any slot that day that ran in it (irregular or unknown schedules, ad-hoc runs)
 * with the runs no slot claimed. */
#define DAILY_FROM                                                                                 \
    "(SELECT sl.job_id AS job_id, 1 AS sched, MAX(" DAILY_RANK(DAILY_SLOT_STATUS) ") AS rk"        \
    " FROM job_slot sl JOIN job bj ON bj.id = sl.job_id LEFT JOIN job_run r ON r.id = sl.run_id"   \
    " WHERE sl.day = ?1 GROUP BY sl.job_id"                                                        \
    " UNION ALL SELECT r.job_id, 0, MAX(" DAILY_RANK(DAILY_EFF("r")) ") FROM job_run r"           \
    " WHERE r.start_at >= ?2 AND r.start_at < ?3 AND NOT EXISTS (SELECT 1 FROM job_slot x"         \
    " WHERE x.job_id = r.job_id AND (x.day = ?1 OR x.run_id = r.id)) GROUP BY r.job_id) d"         \
    " JOIN job j ON j.id = d.job_id JOIN source s ON s.id = j.source_id"                           \
    " LEFT JOIN customer c ON c.id = j.customer_id LEFT JOIN job_schedule js ON js.job_id = j.id"
/* clang-format on */

static const struct col DAILY_COLS[] = {
    {"job.id", C_INT, 0},      {"job.name", C_TEXT, 0},      {"job.kind", C_TEXT, 0},
    {"customer.id", C_INT, 0}, {"customer.name", C_TEXT, 0}, {"source", C_TEXT, 0},
    {"schedule", C_TEXT, 0},   {"expected", C_BOOL, 0},      {"status", C_TEXT, 0},
};

static const struct col SLOT_COLS[] = {
    {"start_at", C_TIME, 0}, {"open_at", C_TIME, 0}, {"close_at", C_TIME, 0},
    {"due_at", C_TIME, 0},   {"state", C_TEXT, 0},   {"run_id", C_INT, 0},
};

/* "YYYY-MM-DD" → days since the epoch; false when it is not a real date. */
static bool parse_ymd(const char *s, int64_t *days)
{
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return false;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > 31)
        return false;
    int64_t n = bk_days_from_civil(y, (unsigned)m, (unsigned)d);
    int yy, mm, dd;
    bk_civil_from_days(n, &yy, &mm, &dd);
    if (yy != y || mm != m || dd != d)
        return false;
    *days = n;
    return true;
}

static int daily_total_cb(const struct store_row *r, void *ud)
{
    json_t *totals = ud;
    int64_t rk = store_row_int(r, 0);
    if (rk >= 1 && rk <= 7)
        json_object_set_new(totals, DAILY_STATUSES[rk - 1], json_integer(store_row_int(r, 1)));
    return 0;
}

/* Each item's slots and runs of the day (a page holds at most 1000 jobs): the runs its slots
 * claimed, and the runs no slot claimed that started in the local day or, for a scheduled job,
 * inside the day's slot windows (a run in the morning before an evening slot is the day's). */
static int daily_details(struct web_req *rq, json_t *items, const char *date, int64_t lo,
                         int64_t hi)
{
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        int64_t job = json_integer_value(json_object_get(json_object_get(it, "job"), "id"));
        bool sched = json_is_true(json_object_get(it, "expected"));
        json_t *slots = json_array(), *runs = json_array();
        json_object_set_new(it, "slots", slots);
        json_object_set_new(it, "runs", runs);
        struct store_param ps[] = {SP_INT(job), SP_TEXT(date)};
        struct store_param pr[] = {SP_INT(job), SP_TEXT(date), SP_INT(lo),
                                   SP_INT(hi),  SP_INT(sched), SP_INT(DETAIL_RUNS)};
        if (query_rows(rq,
                       "SELECT slot_start, open_at, close_at, due_at, state, run_id FROM job_slot"
                       " WHERE job_id = ?1 AND day = ?2 ORDER BY slot_start",
                       ps, 2, SLOT_COLS, sizeof SLOT_COLS / sizeof SLOT_COLS[0], slots) < 0 ||
            query_rows(rq,
                       "SELECT " RUN_SELECT " FROM " RUN_FROM " WHERE r.job_id = ?1 AND (r.id IN"
                       " (SELECT run_id FROM job_slot WHERE job_id = ?1 AND day = ?2) OR"
                       " (((r.start_at >= ?3 AND r.start_at < ?4) OR (?5 = 1 AND r.start_at >="
                       " (SELECT MIN(open_at) FROM job_slot WHERE job_id = ?1 AND day = ?2)"
                       " AND r.start_at < (SELECT MAX(due_at) FROM job_slot WHERE job_id = ?1"
                       " AND day = ?2))) AND NOT EXISTS"
                       " (SELECT 1 FROM job_slot x WHERE x.job_id = ?1 AND x.run_id = r.id)))"
                       " ORDER BY " RUN_ORDER " LIMIT ?6",
                       pr, 6, RUN_COLS, NRUN_COLS, runs) < 0)
            return -1;
    }
    return 0;
}

void api_daily(struct web_req *rq)
{
    static const char *const allowed[] = {"limit",  "offset", "date", "customer", "source",
                                          "status", "kind",   "q",    "extras",   NULL};
    struct bk_err err = {0};
    int64_t limit, offset, days = 0;
    bool extras = false, has_extras;
    const char *date, *customer, *source, *status, *kind, *text;
    if (!list_params(rq, allowed, &limit, &offset))
        return;
    if (params_text(&rq->q, "date", 10, &date, rq->msg, sizeof rq->msg) < 0 ||
        params_text(&rq->q, "customer", 256, &customer, rq->msg, sizeof rq->msg) < 0 ||
        params_text(&rq->q, "source", 256, &source, rq->msg, sizeof rq->msg) < 0 ||
        params_enum(&rq->q, "status", DAILY_STATUSES, &status, rq->msg, sizeof rq->msg) < 0 ||
        params_text(&rq->q, "kind", 64, &kind, rq->msg, sizeof rq->msg) < 0 ||
        params_text(&rq->q, "q", 256, &text, rq->msg, sizeof rq->msg) < 0 ||
        params_bool(&rq->q, "extras", &extras, &has_extras, rq->msg, sizeof rq->msg) < 0) {
        web_bad_request(rq);
        return;
    }
    if (date && !parse_ymd(date, &days)) {
        web_error(rq, 400, "bad_request", "date: expected a day as YYYY-MM-DD");
        return;
    }
    struct bk_tz *tz = NULL;
    if (bk_tz_load(rq->w->cfg ? rq->w->cfg->timezone : NULL, &tz, &err) < 0) {
        log_warn("web: the server's time zone: %s (using UTC)", err.msg);
        tz = NULL;
    }
    const struct bk_tz *z = tz ? tz : bk_tz_utc();
    char ymd[16];
    if (!date) {
        struct bk_civil cv;
        bk_tz_civil(z, bk_now_ms() / 1000, &cv);
        days = cv.days;
        int y, m, d;
        bk_civil_from_days(days, &y, &m, &d);
        snprintf(ymd, sizeof ymd, "%04d-%02d-%02d", y, m, d);
        date = ymd;
    }
    int64_t lo = bk_tz_local_to_utc(z, days * 86400) * 1000;
    int64_t hi = bk_tz_local_to_utc(z, (days + 1) * 86400) * 1000;
    json_t *zone = web_jstr(bk_tz_name(z));
    bk_tz_free(tz);

    struct qb q;
    qb_init(&q);
    q.p[q.np++] = SP_TEXT(date);
    q.p[q.np++] = SP_INT(lo);
    q.p[q.np++] = SP_INT(hi);
    if (customer)
        and_customer(&q, customer);
    if (source)
        QB_AND(&q, "s.name = ?", SP_TEXT(source));
    if (kind)
        QB_AND(&q, "j.kind = ?", SP_TEXT(kind));
    if (text) {
        const char *like = qb_own(&q, store_like_pattern("contains", text));
        QB_AND(&q,
               "LOWER(j.name) LIKE ? ESCAPE '\\' OR LOWER(COALESCE(c.name, '')) LIKE ? ESCAPE '\\'",
               SP_TEXT(like), SP_TEXT(like));
    }
    /* the totals per status, over the other filters */
    json_t *totals = json_object();
    for (size_t k = 0; DAILY_STATUSES[k]; k++)
        json_object_set_new(totals, DAILY_STATUSES[k], json_integer(0));
    char *tsql =
        xasprintf("SELECT d.rk, COUNT(*) FROM " DAILY_FROM " WHERE %s GROUP BY d.rk", q.where.data);
    int rc = store_query(rq->st, tsql, q.p, q.np, daily_total_cb, totals, &err);
    free(tsql);
    if (rc < 0) {
        web_internal(rq, &err);
        goto out;
    }
    if (status) {
        int64_t rk = 0;
        for (size_t k = 0; DAILY_STATUSES[k]; k++)
            if (strcmp(DAILY_STATUSES[k], status) == 0)
                rk = (int64_t)k + 1;
        QB_AND(&q, "d.rk = ?", SP_INT(rk));
    }
    reply_list(rq,
               &(struct store_listq){
                   "j.id, j.name, j.kind, c.id, c.name, s.name, js.description, d.sched,"
                   " CASE d.rk WHEN 7 THEN 'failed' WHEN 6 THEN 'missed' WHEN 5 THEN 'warning'"
                   " WHEN 4 THEN 'unknown' WHEN 3 THEN 'running' WHEN 2 THEN 'expected'"
                   " ELSE 'success' END",
                   DAILY_FROM, NULL, "d.rk DESC, COALESCE(c.name, ''), j.name, j.id"},
               DAILY_COLS, sizeof DAILY_COLS / sizeof DAILY_COLS[0], &q, limit, offset);
    if (rq->status != 200)
        goto out;
    json_t *page = json_loads(rq->text, 0, NULL);
    if (!page || daily_details(rq, json_object_get(page, "items"), date, lo, hi) < 0 ||
        (extras && (add_extras(rq, json_object_get(page, "items"), false, false) < 0 ||
                    add_daily_run_extras(rq, json_object_get(page, "items")) < 0))) {
        json_decref(page);
        if (rq->status == 200)
            web_error(rq, 500, "internal", "internal error (see the server log)");
        goto out;
    }
    json_object_set_new(page, "date", json_string(date));
    json_object_set(page, "timezone", zone);
    json_object_set(page, "totals", totals);
    web_reply(rq, 200, page);
out:
    json_decref(totals);
    json_decref(zone);
    qb_free(&q);
}

/* ---- remarks ------------------------------------------------------------------------------- */

void api_remarks(struct web_req *rq)
{
    static const char *const allowed[] = {"limit", "offset", "run", "job", NULL};
    int64_t limit, offset, run = 0, job = 0;
    bool has_run, has_job;
    if (!list_params(rq, allowed, &limit, &offset))
        return;
    if (params_int(&rq->q, "run", 1, INT64_MAX, &run, &has_run, rq->msg, sizeof rq->msg) < 0 ||
        params_int(&rq->q, "job", 1, INT64_MAX, &job, &has_job, rq->msg, sizeof rq->msg) < 0) {
        web_bad_request(rq);
        return;
    }
    struct qb q;
    qb_init(&q);
    if (has_run)
        QB_AND(&q, STORE_REMARKS_OF_RUN, SP_INT(run));
    if (has_job)
        QB_AND(&q, STORE_REMARKS_OF_JOB, SP_INT(job));
    reply_list(rq, &STORE_LIST_REMARKS, REMARK_COLS, 4, &q, limit, offset);
    qb_free(&q);
    if (rq->status != 200)
        return;
    /* each remark's runs: a second query per remark of the page (remarks are few) */
    json_t *page = json_loads(rq->text, 0, NULL);
    if (!page || remark_runs(rq, json_object_get(page, "items")) < 0) {
        json_decref(page);
        if (rq->status == 200)
            web_error(rq, 500, "internal", "internal error (see the server log)");
        return;
    }
    web_reply(rq, 200, page);
}

void api_remark_create(struct web_req *rq)
{
    static const char *const fields[] = {"body", "runs", NULL};
    struct bk_err err = {0};
    const char *body = NULL;
    int64_t *ids = NULL, id = 0, now = bk_now_ms();
    size_t nids = 0;
    if (!no_params(rq))
        return;
    if (params_json_check_allowed(rq->body, fields, rq->msg, sizeof rq->msg) < 0 ||
        params_json_text(rq->body, "body", 10000, &body, rq->msg, sizeof rq->msg) < 0) {
        web_bad_request(rq);
        return;
    }
    if (!body || !*body) {
        web_error(rq, 400, "bad_request", "body: a non-empty text is required");
        return;
    }
    if (json_object_get(rq->body, "runs") &&
        params_json_ids(rq->body, "runs", PARAMS_LIMIT_MAX, &ids, &nids, rq->msg, sizeof rq->msg) <
            0) {
        web_bad_request(rq);
        return;
    }
    for (size_t i = 0; i < nids; i++) {
        bool n = false;
        if (store_run_exists(rq->st, ids[i], &n, &err) < 0) {
            web_internal(rq, &err);
            goto out;
        }
        if (!n) {
            web_error(rq, 404, "not_found", "runs[%zu]: no run %lld", i, (long long)ids[i]);
            goto out;
        }
    }
    if (store_begin(rq->st, &err) < 0) {
        web_internal(rq, &err);
        goto out;
    }
    if (store_remark_add(rq->st, body, rq->who.name, now, ids, nids, &id, &err) < 0)
        goto fail;
    json_t *runs = json_array();
    for (size_t i = 0; i < nids; i++)
        json_array_append_new(runs, json_integer(ids[i]));
    json_t *out =
        json_pack("{s:I,s:o,s:o,s:o,s:o}", "id", (json_int_t)id, "body", web_jstr(body),
                  "created_by", web_jstr(rq->who.name), "created_at", web_jtime(now), "runs", runs);
    char target[32];
    snprintf(target, sizeof target, "remark:%lld", (long long)id);
    if (web_audit(rq, "remark.create", target, NULL, out) < 0) {
        json_decref(out);
        store_rollback(rq->st);
        web_error(rq, 500, "internal", "internal error (see the server log)");
        goto out;
    }
    if (store_commit(rq->st, &err) < 0) {
        json_decref(out);
        goto fail;
    }
    web_reply(rq, 201, out);
    goto out;
fail:
    store_rollback(rq->st);
    web_internal(rq, &err);
out:
    free(ids);
}

/* The remark of the path as JSON (REMARK_COLS + runs), NULL with the response set (404). */
static json_t *load_remark(struct web_req *rq)
{
    int rc;
    struct bk_err err = {0};
    struct rows_ctx c;
    struct bk_buf b;
    json_t *arr0 = json_array();
    rows_begin(rq, &c, REMARK_COLS, 4, &b);
    rc = rows_end(rq, &c, store_remark_get(rq->st, rq->id, rows_cb, &c, &err), &err, arr0);
    json_t *m = json_array_size(arr0) ? json_incref(json_array_get(arr0, 0)) : NULL;
    json_decref(arr0);
    if (rc < 0)
        return NULL;
    if (!m) {
        web_error(rq, 404, "not_found", "no remark %lld", (long long)rq->id);
        return NULL;
    }
    json_t *arr = json_pack("[O]", m);
    json_decref(m);
    if (remark_runs(rq, arr) < 0) {
        json_decref(arr);
        return NULL;
    }
    m = json_incref(json_array_get(arr, 0));
    json_decref(arr);
    return m;
}

/* Its author or an admin may change a remark. */
static bool remark_mine(struct web_req *rq, const json_t *m)
{
    const char *by = json_string_value(json_object_get(m, "created_by"));
    if (rq->who.role == BK_ROLE_ADMIN || (by && strcmp(by, rq->who.name) == 0))
        return true;
    web_error(rq, 403, "forbidden", "only its author (%s) or an admin may change this remark",
              by ? by : "?");
    return false;
}

void api_remark_update(struct web_req *rq)
{
    static const char *const fields[] = {"body", NULL};
    struct bk_err err = {0};
    const char *body = NULL;
    if (!no_params(rq))
        return;
    if (params_json_check_allowed(rq->body, fields, rq->msg, sizeof rq->msg) < 0 ||
        params_json_text(rq->body, "body", 10000, &body, rq->msg, sizeof rq->msg) < 0) {
        web_bad_request(rq);
        return;
    }
    if (!body || !*body) {
        web_error(rq, 400, "bad_request", "body: a non-empty text is required");
        return;
    }
    json_t *before = load_remark(rq);
    if (!before)
        return;
    if (!remark_mine(rq, before)) {
        json_decref(before);
        return;
    }
    json_t *after = json_deep_copy(before);
    json_object_set_new(after, "body", web_jstr(body));
    char target[32];
    snprintf(target, sizeof target, "remark:%lld", (long long)rq->id);
    if (store_begin(rq->st, &err) < 0)
        goto dberr;
    if (store_remark_body_set(rq->st, rq->id, body, &err) < 0) {
        store_rollback(rq->st);
        goto dberr;
    }
    if (web_audit(rq, "remark.update", target, before, after) < 0) {
        store_rollback(rq->st);
        web_error(rq, 500, "internal", "internal error (see the server log)");
        goto out;
    }
    if (store_commit(rq->st, &err) < 0) {
        store_rollback(rq->st);
        goto dberr;
    }
    web_reply(rq, 200, json_incref(after));
    goto out;
dberr:
    web_internal(rq, &err);
out:
    json_decref(before);
    json_decref(after);
}

void api_remark_delete(struct web_req *rq)
{
    struct bk_err err = {0};
    if (!no_params(rq))
        return;
    json_t *before = load_remark(rq);
    if (!before)
        return;
    if (!remark_mine(rq, before)) {
        json_decref(before);
        return;
    }
    char target[32];
    snprintf(target, sizeof target, "remark:%lld", (long long)rq->id);
    if (store_begin(rq->st, &err) < 0)
        goto dberr;
    if (store_remark_delete(rq->st, rq->id, &err) < 0) {
        store_rollback(rq->st);
        goto dberr;
    }
    if (web_audit(rq, "remark.delete", target, before, NULL) < 0) {
        store_rollback(rq->st);
        web_error(rq, 500, "internal", "internal error (see the server log)");
        goto out;
    }
    if (store_commit(rq->st, &err) < 0) {
        store_rollback(rq->st);
        goto dberr;
    }
    web_reply(rq, 204, NULL);
    goto out;
dberr:
    web_internal(rq, &err);
out:
    json_decref(before);
}

/* ---- overrides ----------------------------------------------------------------------------- */

void api_overrides(struct web_req *rq)
{
    static const char *const allowed[] = {"limit", "offset", "job", NULL};
    int64_t limit, offset, job = 0;
    bool has_job;
    if (!list_params(rq, allowed, &limit, &offset))
        return;
    if (params_int(&rq->q, "job", 1, INT64_MAX, &job, &has_job, rq->msg, sizeof rq->msg) < 0) {
        web_bad_request(rq);
        return;
    }
    struct qb q;
    qb_init(&q);
    if (has_job)
        QB_AND(&q, "o.job_id = ? OR o.job_id IS NULL", SP_INT(job));
    reply_list(rq, &(struct store_listq){OVR_SELECT, OVR_FROM, "override o", "o.id"}, OVR_COLS,
               NOVR_COLS, &q, limit, offset);
    qb_free(&q);
    if (rq->status != 200 || !rq->text)
        return;
    /* each rule's matches so far and the runs it changed when it was created (its audit row);
     * one query each per rule of the page: rules are few */
    json_t *page = json_loads(rq->text, 0, NULL);
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(page, "items"), i, o)
    {
        struct bk_err err = {0};
        int64_t id = json_integer_value(json_object_get(o, "id")), matches = 0;
        if (store_override_matches(rq->st, id, &matches, &err) < 0) {
            json_decref(page);
            web_internal(rq, &err);
            return;
        }
        json_object_set_new(o, "matches", json_integer(matches));
        char target[32];
        snprintf(target, sizeof target, "override:%lld", (long long)id);
        static const struct col acol[] = {{"after", C_JSON, 0}};
        struct store_param p[] = {SP_TEXT(target)};
        int rc;
        json_t *a = query_one(rq,
                              "SELECT after_json FROM audit WHERE action = 'override.create'"
                              " AND target = ?1 ORDER BY id LIMIT 1",
                              p, 1, acol, 1, &rc);
        if (rc < 0) {
            json_decref(page);
            return;
        }
        json_t *ru = json_object_get(json_object_get(a, "after"), "runs_updated");
        json_object_set_new(o, "runs_changed", json_is_integer(ru) ? json_incref(ru) : json_null());
        json_decref(a);
    }
    web_reply(rq, 200, page);
}

void api_override_create(struct web_req *rq)
{
    static const char *const fields[] = {"job",        "object_name", "match_status", "match_kind",
                                         "match_text", "valid_from",  "valid_until",  NULL};
    static const char *const statuses[] = {"failed", "warning", "unknown", "missed", NULL};
    static const char *const kinds[] = {"contains", "equals", "starts", "ends", NULL};
    struct bk_err err = {0};
    struct store_override o = {0};
    struct store_override_changes ch;
    bool has_job, has_from, has_until;
    int64_t now = bk_now_ms(), id = 0;
    if (!no_params(rq))
        return;
    if (params_json_check_allowed(rq->body, fields, rq->msg, sizeof rq->msg) < 0 ||
        params_json_int(rq->body, "job", 1, INT64_MAX, &o.job_id, &has_job, rq->msg,
                        sizeof rq->msg) < 0 ||
        params_json_text(rq->body, "object_name", 256, &o.object_name, rq->msg, sizeof rq->msg) <
            0 ||
        params_json_text(rq->body, "match_status", 16, &o.match_status, rq->msg, sizeof rq->msg) <
            0 ||
        params_json_text(rq->body, "match_kind", 16, &o.match_kind, rq->msg, sizeof rq->msg) < 0 ||
        params_json_text(rq->body, "match_text", 1000, &o.match_text, rq->msg, sizeof rq->msg) <
            0 ||
        params_json_time(rq->body, "valid_from", &o.valid_from, &has_from, rq->msg,
                         sizeof rq->msg) < 0 ||
        params_json_time(rq->body, "valid_until", &o.valid_until, &has_until, rq->msg,
                         sizeof rq->msg) < 0) {
        web_bad_request(rq);
        return;
    }
    bool ok = !o.match_status;
    for (size_t i = 0; !ok && statuses[i]; i++)
        ok = strcmp(o.match_status, statuses[i]) == 0;
    if (!ok) {
        web_error(rq, 400, "bad_request",
                  "match_status: must be one of failed, warning, unknown, missed");
        return;
    }
    ok = !o.match_kind;
    for (size_t i = 0; !ok && kinds[i]; i++)
        ok = strcmp(o.match_kind, kinds[i]) == 0;
    if (!ok) {
        web_error(rq, 400, "bad_request",
                  "match_kind: must be one of contains, equals, starts, ends");
        return;
    }
    if (o.object_name && !*o.object_name)
        o.object_name = NULL;
    if (o.match_text && !*o.match_text)
        o.match_text = NULL;
    if (o.match_kind && !o.match_text) {
        web_error(rq, 400, "bad_request", "match_kind: needs match_text");
        return;
    }
    if (o.match_text && !o.match_kind)
        o.match_kind = "contains";
    if (has_from && has_until && o.valid_from > o.valid_until) {
        web_error(rq, 400, "bad_request", "valid_from: must not be after valid_until");
        return;
    }
    if (!store_override_has_condition(&o)) {
        web_error(rq, 400, "bad_request",
                  "body: an override needs a condition (job, object_name, match_status, "
                  "match_text, or both valid_from and valid_until); without one it would turn "
                  "every failed and warning run into a success");
        return;
    }
    if (has_job) {
        bool n = false;
        if (job_known(rq, o.job_id, &n) < 0)
            return;
        if (!n) {
            web_error(rq, 404, "not_found", "job: no job %lld", (long long)o.job_id);
            return;
        }
    }
    if (store_begin(rq->st, &err) < 0) {
        web_internal(rq, &err);
        return;
    }
    struct store_param p[] = {has_job ? SP_INT(o.job_id) : SP_NULL,
                              SP_TEXT(o.object_name),
                              SP_TEXT(o.match_status),
                              SP_TEXT(o.match_kind),
                              SP_TEXT(o.match_text),
                              has_from ? SP_INT(o.valid_from) : SP_NULL,
                              has_until ? SP_INT(o.valid_until) : SP_NULL,
                              SP_TEXT(rq->who.name),
                              SP_INT(now)};
    if (store_exec(rq->st,
                   "INSERT INTO override (job_id, object_name, match_status, match_kind,"
                   " match_text, valid_from, valid_until, created_by, created_at)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                   p, 9, NULL, &id, &err) < 0)
        goto fail;
    char target[32];
    snprintf(target, sizeof target, "override:%lld", (long long)id);
    if (store_overrides_reevaluate(rq->st, rq->who.name, target, &ch, &err) < 0)
        goto fail;
    struct store_param pi[] = {SP_INT(id)};
    int rc;
    json_t *item = query_one(rq, "SELECT " OVR_SELECT " FROM " OVR_FROM " WHERE o.id = ?1", pi, 1,
                             OVR_COLS, NOVR_COLS, &rc);
    if (rc < 0 || !item) {
        store_rollback(rq->st);
        if (!rq->status)
            web_error(rq, 500, "internal", "internal error (see the server log)");
        json_decref(item);
        return;
    }
    json_object_set_new(item, "runs_updated", json_integer(ch.set));
    if (web_audit(rq, "override.create", target, NULL, item) < 0) {
        json_decref(item);
        store_rollback(rq->st);
        {
            web_error(rq, 500, "internal", "internal error (see the server log)");
            return;
        }
    }
    if (store_commit(rq->st, &err) < 0) {
        json_decref(item);
        goto fail;
    }
    web_reply(rq, 201, item);
    return;
fail:
    store_rollback(rq->st);
    web_internal(rq, &err);
}

/* Change an override's time window (operator, audited override.update): "valid_until": now ends
 * it for the runs that come after (what the UI calls "Stop"); null opens that end again. A key
 * absent keeps its value. The runs are re-evaluated at once. */
void api_override_update(struct web_req *rq)
{
    static const char *const fields[] = {"valid_from", "valid_until", NULL};
    struct bk_err err = {0};
    struct store_override_changes ch;
    int64_t from = 0, until = 0;
    bool has_from, has_until;
    if (!no_params(rq))
        return;
    if (params_json_check_allowed(rq->body, fields, rq->msg, sizeof rq->msg) < 0 ||
        params_json_time(rq->body, "valid_from", &from, &has_from, rq->msg, sizeof rq->msg) < 0 ||
        params_json_time(rq->body, "valid_until", &until, &has_until, rq->msg, sizeof rq->msg) <
            0) {
        web_bad_request(rq);
        return;
    }
    bool key_from = json_object_get(rq->body, "valid_from") != NULL;
    bool key_until = json_object_get(rq->body, "valid_until") != NULL;
    if (!key_from && !key_until) {
        web_error(rq, 400, "bad_request", "body: give valid_from, valid_until, or both");
        return;
    }
    int rc;
    struct store_param p[] = {SP_INT(rq->id)};
    json_t *before = query_one(rq, "SELECT " OVR_SELECT " FROM " OVR_FROM " WHERE o.id = ?1", p, 1,
                               OVR_COLS, NOVR_COLS, &rc);
    if (rc < 0)
        return;
    if (!before) {
        web_error(rq, 404, "not_found", "no override %lld", (long long)rq->id);
        return;
    }
    char target[32];
    snprintf(target, sizeof target, "override:%lld", (long long)rq->id);
    json_t *after = NULL;
    if (store_begin(rq->st, &err) < 0) {
        json_decref(before);
        web_internal(rq, &err);
        return;
    }
    rc = store_override_set_validity(rq->st, rq->id, key_from, from, key_until, until, &err);
    if (rc == -BK_EINVAL) {
        store_rollback(rq->st);
        json_decref(before);
        web_error(rq, 400, "bad_request", "%s", err.msg);
        return;
    }
    if (rc < 0 || store_overrides_reevaluate(rq->st, rq->who.name, target, &ch, &err) < 0)
        goto fail;
    after = query_one(rq, "SELECT " OVR_SELECT " FROM " OVR_FROM " WHERE o.id = ?1", p, 1, OVR_COLS,
                      NOVR_COLS, &rc);
    if (rc < 0 || !after) {
        store_rollback(rq->st);
        json_decref(before);
        if (!rq->status)
            web_error(rq, 500, "internal", "internal error (see the server log)");
        return;
    }
    json_object_set_new(after, "runs_updated", json_integer(ch.set));
    json_object_set_new(after, "runs_cleared", json_integer(ch.cleared));
    if (web_audit(rq, "override.update", target, before, after) < 0) {
        store_rollback(rq->st);
        json_decref(before);
        json_decref(after);
        web_error(rq, 500, "internal", "internal error (see the server log)");
        return;
    }
    if (store_commit(rq->st, &err) < 0)
        goto fail;
    json_decref(before);
    web_reply(rq, 200, after);
    return;
fail:
    store_rollback(rq->st);
    json_decref(before);
    json_decref(after);
    web_internal(rq, &err);
}

/* Delete one override inside the caller's transaction: 1 deleted, 0 none, <0 error (set). */
static int delete_override(struct web_req *rq, int64_t id, struct bk_err *err)
{
    int rc;
    struct store_param p[] = {SP_INT(id)};
    json_t *before = query_one(rq, "SELECT " OVR_SELECT " FROM " OVR_FROM " WHERE o.id = ?1", p, 1,
                               OVR_COLS, NOVR_COLS, &rc);
    if (rc < 0)
        return rc;
    if (!before)
        return 0;
    int64_t n = 0;
    if ((rc = store_exec(rq->st, "DELETE FROM override WHERE id = ?1", p, 1, &n, NULL, err)) < 0) {
        json_decref(before);
        web_internal(rq, err);
        return rc;
    }
    char target[32];
    snprintf(target, sizeof target, "override:%lld", (long long)id);
    rc = web_audit(rq, "override.delete", target, before, NULL);
    json_decref(before);
    if (rc < 0) {
        web_error(rq, 500, "internal", "internal error (see the server log)");
        return rc;
    }
    return n > 0;
}

void api_override_delete(struct web_req *rq)
{
    struct bk_err err = {0};
    if (!no_params(rq))
        return;
    if (store_begin(rq->st, &err) < 0) {
        web_internal(rq, &err);
        return;
    }
    int rc = delete_override(rq, rq->id, &err);
    if (rc <= 0) {
        store_rollback(rq->st);
        if (rc == 0)
            web_error(rq, 404, "not_found", "no override %lld", (long long)rq->id);
        return;
    }
    char target[32];
    struct store_override_changes ch;
    snprintf(target, sizeof target, "override:%lld", (long long)rq->id);
    if (store_overrides_reevaluate(rq->st, rq->who.name, target, &ch, &err) < 0 ||
        store_commit(rq->st, &err) < 0) {
        store_rollback(rq->st);
        {
            web_internal(rq, &err);
            return;
        }
    }
    web_reply(rq, 204, NULL);
}

void api_overrides_delete(struct web_req *rq)
{
    static const char *const fields[] = {"ids", NULL};
    struct bk_err err = {0};
    int64_t *ids = NULL, count = 0;
    size_t n = 0;
    if (!no_params(rq))
        return;
    if (params_json_check_allowed(rq->body, fields, rq->msg, sizeof rq->msg) < 0 ||
        params_json_ids(rq->body, "ids", PARAMS_LIMIT_MAX, &ids, &n, rq->msg, sizeof rq->msg) < 0) {
        web_bad_request(rq);
        return;
    }
    if (store_begin(rq->st, &err) < 0) {
        free(ids);
        {
            web_internal(rq, &err);
            return;
        }
    }
    for (size_t i = 0; i < n; i++) {
        int rc = delete_override(rq, ids[i], &err);
        if (rc < 0) {
            store_rollback(rq->st);
            free(ids);
            return;
        }
        count += rc;
    }
    free(ids);
    struct store_override_changes ch;
    if (store_overrides_reevaluate(rq->st, rq->who.name, "overrides", &ch, &err) < 0 ||
        store_commit(rq->st, &err) < 0) {
        store_rollback(rq->st);
        {
            web_internal(rq, &err);
            return;
        }
    }
    web_reply(rq, 200, json_pack("{s:I}", "count", (json_int_t)count));
}

/* ---- audit --------------------------------------------------------------------------------- */

void api_audit(struct web_req *rq)
{
    static const char *const allowed[] = {"limit",  "offset", "who", "action",
                                          "target", "from",   "to",  NULL};
    static const struct col cols[] = {
        {"id", C_INT, 0},      {"at", C_TIME, 0},     {"who", C_TEXT, 0},  {"action", C_TEXT, 0},
        {"target", C_TEXT, 0}, {"before", C_JSON, 0}, {"after", C_JSON, 0}};
    int64_t limit, offset, from = 0, to = 0;
    bool has_from, has_to;
    const char *who, *action, *target;
    if (!list_params(rq, allowed, &limit, &offset))
        return;
    if (params_text(&rq->q, "who", 128, &who, rq->msg, sizeof rq->msg) < 0 ||
        params_text(&rq->q, "action", 64, &action, rq->msg, sizeof rq->msg) < 0 ||
        params_text(&rq->q, "target", 256, &target, rq->msg, sizeof rq->msg) < 0 ||
        params_time(&rq->q, "from", &from, &has_from, rq->msg, sizeof rq->msg) < 0 ||
        params_time(&rq->q, "to", &to, &has_to, rq->msg, sizeof rq->msg) < 0) {
        web_bad_request(rq);
        return;
    }
    struct qb q;
    qb_init(&q);
    if (who)
        QB_AND(&q, STORE_AUDIT_WHO, SP_TEXT(who));
    if (action)
        QB_AND(&q, STORE_AUDIT_ACTION, SP_TEXT(action));
    if (target)
        QB_AND(&q, STORE_AUDIT_TARGET, SP_TEXT(target));
    if (has_from)
        QB_AND(&q, STORE_AUDIT_FROM, SP_INT(from));
    if (has_to)
        QB_AND(&q, STORE_AUDIT_TO, SP_INT(to));
    reply_list(rq, &STORE_LIST_AUDIT, cols, sizeof cols / sizeof cols[0], &q, limit, offset);
    qb_free(&q);
}

/* ---- users --------------------------------------------------------------------------------- */

struct page {
    int64_t limit, offset, total;
    json_t *items;
};

static int user_cb(int64_t id, const char *name, enum bk_role role, int64_t created_at, void *ud)
{
    struct page *pg = ud;
    if (pg->total >= pg->offset && pg->total < pg->offset + pg->limit)
        json_array_append_new(
            pg->items, json_pack("{s:I,s:o,s:s,s:o}", "id", (json_int_t)id, "name", web_jstr(name),
                                 "role", bk_role_name(role), "created_at", web_jtime(created_at)));
    pg->total++;
    return 0;
}

static void reply_page(struct web_req *rq, struct page *pg)
{
    web_reply(rq, 200,
              json_pack("{s:o,s:I,s:I,s:I}", "items", pg->items, "total", (json_int_t)pg->total,
                        "limit", (json_int_t)pg->limit, "offset", (json_int_t)pg->offset));
}

void api_users(struct web_req *rq)
{
    static const char *const allowed[] = {"limit", "offset", NULL};
    struct page pg = {0};
    struct bk_err err = {0};
    if (!list_params(rq, allowed, &pg.limit, &pg.offset))
        return;
    pg.items = json_array();
    if (auth_user_each(rq->st, user_cb, &pg, &err) < 0) {
        json_decref(pg.items);
        {
            web_internal(rq, &err);
            return;
        }
    }
    reply_page(rq, &pg);
}

struct user_info {
    bool found;
    enum bk_role role;
    int64_t admins;
};

static int lookup_user(struct web_req *rq, const char *name, struct user_info *u)
{
    struct bk_err err = {0};
    memset(u, 0, sizeof *u);
    char role[16];
    int rc = store_user_role_admins(rq->st, name, &u->found, role, &u->admins, &err);
    if (rc < 0)
        web_internal(rq, &err);
    else if (u->found && bk_role_parse(role, &u->role) < 0)
        u->role = BK_ROLE_VIEWER;
    return rc;
}

void api_user_create(struct web_req *rq)
{
    static const char *const fields[] = {"name", "role", "password", NULL};
    struct bk_err err = {0};
    const char *name = NULL, *role_s = NULL, *pass = NULL;
    enum bk_role role;
    struct user_info u;
    if (!no_params(rq))
        return;
    if (params_json_check_allowed(rq->body, fields, rq->msg, sizeof rq->msg) < 0 ||
        params_json_text(rq->body, "name", 64, &name, rq->msg, sizeof rq->msg) < 0 ||
        params_json_text(rq->body, "role", 16, &role_s, rq->msg, sizeof rq->msg) < 0 ||
        params_json_text(rq->body, "password", 1024, &pass, rq->msg, sizeof rq->msg) < 0) {
        web_bad_request(rq);
        return;
    }
    if (!name || !*name) {
        web_error(rq, 400, "bad_request", "name: required");
        return;
    }
    if (!role_s || bk_role_parse(role_s, &role) < 0) {
        web_error(rq, 400, "bad_request", "role: must be admin, operator or viewer");
        return;
    }
    if (!pass) {
        web_error(rq, 400, "bad_request", "password: required");
        return;
    }
    if (lookup_user(rq, name, &u) < 0)
        return;
    if (u.found) {
        web_error(rq, 409, "conflict", "a user with that name exists");
        return;
    }
    int rc = auth_user_add_as(rq->st, rq->who.name, name, role, pass, &err);
    if (rc == -BK_EINVAL) {
        web_error(rq, 400, "bad_request", "%s", err.msg);
        return;
    }
    if (rc < 0) {
        web_internal(rq, &err);
        return;
    }
    web_reply(rq, 201, json_pack("{s:o,s:s}", "name", web_jstr(name), "role", bk_role_name(role)));
}

/* Change a user's role and/or password (admin, audited). Not your own role, never the last
 * admin's: either could leave nobody able to manage users. */
void api_user_update(struct web_req *rq)
{
    static const char *const fields[] = {"role", "password", NULL};
    struct bk_err err = {0};
    const char *role_s = NULL, *pass = NULL;
    enum bk_role role = BK_ROLE_VIEWER;
    struct user_info u;
    if (!no_params(rq))
        return;
    if (params_json_check_allowed(rq->body, fields, rq->msg, sizeof rq->msg) < 0 ||
        params_json_text(rq->body, "role", 16, &role_s, rq->msg, sizeof rq->msg) < 0 ||
        params_json_text(rq->body, "password", 1024, &pass, rq->msg, sizeof rq->msg) < 0) {
        web_bad_request(rq);
        return;
    }
    if (!role_s && !pass) {
        web_error(rq, 400, "bad_request", "body: give a role, a password, or both");
        return;
    }
    if (role_s && bk_role_parse(role_s, &role) < 0) {
        web_error(rq, 400, "bad_request", "role: must be admin, operator or viewer");
        return;
    }
    if (lookup_user(rq, rq->cap[0], &u) < 0)
        return;
    if (!u.found) {
        web_error(rq, 404, "not_found", "no user with that name");
        return;
    }
    bool role_change = role_s && role != u.role;
    if (role_change && strcmp(rq->cap[0], rq->who.name) == 0) {
        web_error(rq, 409, "conflict", "you cannot change your own role");
        return;
    }
    if (role_change && u.role == BK_ROLE_ADMIN && u.admins <= 1) {
        web_error(rq, 409, "conflict", "cannot change the role of the last admin");
        return;
    }
    if (pass) {
        int rc = auth_user_passwd_as(rq->st, rq->who.name, rq->cap[0], pass, &err);
        if (rc == -BK_EINVAL) {
            web_error(rq, 400, "bad_request", "%s", err.msg);
            return;
        }
        if (rc < 0) {
            web_internal(rq, &err);
            return;
        }
    }
    if (role_change) {
        json_t *before = json_pack("{s:s}", "role", bk_role_name(u.role));
        json_t *after = json_pack("{s:s}", "role", bk_role_name(role));
        int rc = store_begin(rq->st, &err);
        if (rc == 0)
            rc = store_user_role_set(rq->st, rq->cap[0], bk_role_name(role), &err);
        if (rc == 0 && web_audit(rq, "user.role", rq->cap[0], before, after) < 0)
            rc = bk_err_set(&err, BK_EIO, "cannot write the audit row");
        if (rc == 0)
            rc = store_commit(rq->st, &err);
        json_decref(before);
        json_decref(after);
        if (rc < 0) {
            store_rollback(rq->st);
            web_internal(rq, &err);
            return;
        }
    }
    web_reply(rq, 200,
              json_pack("{s:o,s:s,s:b}", "name", web_jstr(rq->cap[0]), "role",
                        bk_role_name(role_s ? role : u.role), "password_changed", pass != NULL));
}

void api_user_delete(struct web_req *rq)
{
    struct bk_err err = {0};
    struct user_info u;
    if (!no_params(rq))
        return;
    if (lookup_user(rq, rq->cap[0], &u) < 0)
        return;
    if (!u.found) {
        web_error(rq, 404, "not_found", "no user with that name");
        return;
    }
    if (strcmp(rq->cap[0], rq->who.name) == 0) {
        web_error(rq, 409, "conflict", "you cannot delete your own account");
        return;
    }
    if (u.role == BK_ROLE_ADMIN && u.admins <= 1) {
        web_error(rq, 409, "conflict", "cannot delete the last admin");
        return;
    }
    int rc = auth_user_del_as(rq->st, rq->who.name, rq->cap[0], &err);
    if (rc == -BK_ENOTFOUND) {
        web_error(rq, 404, "not_found", "no user with that name");
        return;
    }
    if (rc < 0) {
        web_internal(rq, &err);
        return;
    }
    web_reply(rq, 204, NULL);
}

/* ---- tokens -------------------------------------------------------------------------------- */

static int token_cb(int64_t id, const char *user, const char *label, int64_t created_at,
                    int64_t last_used_at, int64_t revoked_at, void *ud)
{
    struct page *pg = ud;
    if (pg->total >= pg->offset && pg->total < pg->offset + pg->limit)
        json_array_append_new(
            pg->items, json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,s:b}", "id", (json_int_t)id, "user",
                                 web_jstr(user), "name", web_jstr(label), "created_at",
                                 web_jtime(created_at), "last_used_at", web_jtime(last_used_at),
                                 "revoked_at", web_jtime(revoked_at), "revoked", revoked_at > 0));
    pg->total++;
    return 0;
}

void api_tokens(struct web_req *rq)
{
    static const char *const allowed[] = {"limit", "offset", "user", NULL};
    struct page pg = {0};
    struct bk_err err = {0};
    const char *user;
    if (!list_params(rq, allowed, &pg.limit, &pg.offset))
        return;
    if (params_text(&rq->q, "user", 64, &user, rq->msg, sizeof rq->msg) < 0) {
        web_bad_request(rq);
        return;
    }
    bool admin = rq->who.role == BK_ROLE_ADMIN;
    if (!admin) {
        if (user && strcmp(user, rq->who.name) != 0) {
            web_error(rq, 403, "forbidden", "only admins list other users' tokens");
            return;
        }
        user = rq->who.name;
    }
    pg.items = json_array();
    int rc = auth_token_each(rq->st, user, token_cb, &pg, &err);
    if (rc == -BK_ENOTFOUND) {
        json_decref(pg.items);
        {
            web_error(rq, 404, "not_found", "no user with that name");
            return;
        }
    }
    if (rc < 0) {
        json_decref(pg.items);
        {
            web_internal(rq, &err);
            return;
        }
    }
    reply_page(rq, &pg);
}

void api_token_create(struct web_req *rq)
{
    static const char *const fields[] = {"name", "user", NULL};
    struct bk_err err = {0};
    const char *label = NULL, *user = NULL;
    if (!no_params(rq))
        return;
    if (params_json_check_allowed(rq->body, fields, rq->msg, sizeof rq->msg) < 0 ||
        params_json_text(rq->body, "name", 64, &label, rq->msg, sizeof rq->msg) < 0 ||
        params_json_text(rq->body, "user", 64, &user, rq->msg, sizeof rq->msg) < 0) {
        web_bad_request(rq);
        return;
    }
    if (!user || !*user)
        user = rq->who.name;
    if (strcmp(user, rq->who.name) != 0 && rq->who.role != BK_ROLE_ADMIN) {
        web_error(rq, 403, "forbidden", "only admins create tokens for other users");
        return;
    }
    char *token = NULL;
    int64_t id = 0;
    int rc = auth_token_add_as(rq->st, rq->who.name, user, label, &token, &id, &err);
    if (rc == -BK_ENOTFOUND) {
        web_error(rq, 404, "not_found", "no user with that name");
        return;
    }
    if (rc == -BK_EINVAL) {
        web_error(rq, 400, "bad_request", "%s", err.msg);
        return;
    }
    if (rc < 0) {
        web_internal(rq, &err);
        return;
    }
    /* the only time the token is ever shown */
    web_reply(rq, 201,
              json_pack("{s:I,s:o,s:o,s:s}", "id", (json_int_t)id, "user", web_jstr(user), "name",
                        web_jstr(label), "token", token));
    free(token);
}

struct owner {
    char name[128];
    bool found;
};

void api_token_delete(struct web_req *rq)
{
    struct bk_err err = {0};
    struct owner o = {0};
    if (!no_params(rq))
        return;
    if (store_token_owner(rq->st, rq->id, &o.found, o.name, sizeof o.name, &err) < 0) {
        web_internal(rq, &err);
        return;
    }
    /* someone else's token reads as absent to a non-admin: ids are not a secret, but there is
     * nothing to gain from confirming them */
    if (!o.found || (rq->who.role != BK_ROLE_ADMIN && strcmp(o.name, rq->who.name) != 0)) {
        web_error(rq, 404, "not_found", "no token %lld", (long long)rq->id);
        return;
    }
    int rc = auth_token_revoke_as(rq->st, rq->who.name, rq->id, &err);
    if (rc == -BK_ENOTFOUND) {
        web_error(rq, 404, "not_found", "no token %lld", (long long)rq->id);
        return;
    }
    if (rc < 0) {
        web_internal(rq, &err);
        return;
    }
    web_reply(rq, 204, NULL);
}
