/* The HTTP server: libmicrohttpd with an internal thread pool, request bodies capped at
 * opts.max_body (413), the route table, authentication (session cookie or bearer token),
 * roles and CSRF, security headers on every answer, and a small pool of store handles (one
 * SQLite handle is never used by two threads at once). Handlers live in api.c and metrics.c. */
#include "web/web_internal.h"

#include "web/assets.h"

#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Login failures allowed per window: 5 per user name (guessing one account's password), 20 per
 * client address (spraying many accounts; higher because offices share one address). */
#define LOGIN_USER_FAILURES 5
#define LOGIN_IP_FAILURES 20
#define LOGIN_WINDOW_MS (5 * 60 * 1000)
/* Push check-ins: a script pings start + end per run; these bound a runaway loop or a
 * flood without ever limiting a real fleet behind one address (100 pings/s). */
#define PING_PER_UUID 60
#define PING_PER_IP 6000
#define PING_WINDOW_MS (60 * 1000)
#define PEM_MAX (1024 * 1024)
/* Request limits we answer ourselves, in JSON; MHD's own per-connection memory is set well
 * above them (MHD_MEMORY) so that MHD's HTML 414/431 pages are reached only far beyond. */
#define URI_MAX (8 * 1024)
#define HEADERS_MAX (32 * 1024)
#define MHD_MEMORY (128 * 1024)
#define REAPER_PERIOD_MS 500

/* One request's state across MHD's calls (created by the URI log callback). */
struct conn_req {
    char *uri; /* raw request target, query string included */
    struct bk_buf body;
    bool started;
    bool too_big;
    unsigned reject; /* 414 or 431, answered before the body is read */
};

/* ---- response helpers ---------------------------------------------------------------- */

static void clear_body(struct web_req *rq)
{
    json_decref(rq->json);
    rq->json = NULL;
    free(rq->text);
    rq->text = NULL;
    rq->text_is_json = false;
}

void web_reply(struct web_req *rq, unsigned status, json_t *body)
{
    clear_body(rq);
    rq->status = status;
    rq->json = body;
}

void web_error(struct web_req *rq, unsigned status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    web_reply(rq, status,
              json_pack("{s:{s:s,s:o}}", "error", "code", code, "message", web_jstr(msg)));
}

void web_bad_request(struct web_req *rq)
{
    web_error(rq, 400, "bad_request", "%s", rq->msg[0] ? rq->msg : "bad request");
}

void web_internal(struct web_req *rq, const struct bk_err *err)
{
    log_err("%s %s: %s", rq->method, rq->log_path,
            err && err->msg[0] ? err->msg : "internal error");
    web_error(rq, 500, "internal", "internal error (see the server log)");
}

json_t *web_jstr(const char *s)
{
    if (!s)
        return json_null();
    size_t n = strlen(s);
    if (params_utf8_valid(s, n))
        return json_stringn(s, n);
    /* vendor text in another encoding: keep it readable rather than drop it */
    char *c = xstrdup(s);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)c[i] >= 0x80)
            c[i] = '?';
    json_t *j = json_stringn(c, n);
    free(c);
    return j;
}

json_t *web_jtime(int64_t ms)
{
    if (ms <= 0)
        return json_null();
    char buf[32];
    bk_iso8601(ms, buf, sizeof buf);
    return json_string(buf);
}

void web_changed(struct web_req *rq)
{
    if (rq->w && rq->w->hooks.changed)
        rq->w->hooks.changed(rq->w->hooks.ud);
}

int web_audit(struct web_req *rq, const char *action, const char *target, const json_t *before,
              const json_t *after)
{
    web_changed(rq); /* every audited action is a change an alert may depend on */
    char *b = before ? json_dumps(before, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    char *a = after ? json_dumps(after, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    struct bk_err err = {0};
    int rc = auth_audit(rq->st, rq->who.name, action, target, b, a, &err);
    if (rc < 0)
        log_err("audit %s %s: %s", action, target ? target : "", err.msg);
    free(b);
    free(a);
    return rc;
}

const char *web_cookie(struct web_req *rq)
{
    return MHD_lookup_connection_value(rq->conn, MHD_COOKIE_KIND, WEB_COOKIE);
}

/* ---- list totals --------------------------------------------------------------------------- */

static size_t count_slot(const char *key)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return (size_t)(h % WEB_COUNT_SLOTS);
}

/* The slot of key if it is fresh (count_lock held). */
static struct web_count_slot *slot_fresh(struct web *w, const char *key)
{
    struct web_count_slot *s = &w->counts[count_slot(key)];
    if (s->key && strcmp(s->key, key) == 0 && s->gen == atomic_load(&w->data_gen) &&
        bk_mono_ms() - s->at_mono_ms < WEB_COUNT_TTL_MS)
        return s;
    return NULL;
}

/* Key's slot, emptied and stamped (count_lock held). */
static struct web_count_slot *slot_reset(struct web *w, const char *key, uint_fast64_t gen)
{
    struct web_count_slot *s = &w->counts[count_slot(key)];
    free(s->key);
    store_run_segments_free(&s->segs);
    s->key = xstrdup(key);
    s->total = 0;
    s->at_mono_ms = bk_mono_ms();
    s->gen = gen;
    return s;
}

bool web_count_get(struct web *w, const char *key, int64_t *total)
{
    pthread_mutex_lock(&w->count_lock);
    struct web_count_slot *s = slot_fresh(w, key);
    if (s)
        *total = s->total;
    pthread_mutex_unlock(&w->count_lock);
    return s != NULL;
}

void web_count_put(struct web *w, const char *key, int64_t total, uint_fast64_t gen)
{
    pthread_mutex_lock(&w->count_lock);
    slot_reset(w, key, gen)->total = total;
    pthread_mutex_unlock(&w->count_lock);
}

static void segs_copy(struct store_run_segments *to, const struct store_run_segments *from)
{
    *to = *from;
    to->v = xcalloc(from->n ? from->n : 1, sizeof *to->v);
    if (from->n)
        memcpy(to->v, from->v, from->n * sizeof *to->v);
}

bool web_segs_get(struct web *w, const char *key, struct store_run_segments *out)
{
    pthread_mutex_lock(&w->count_lock);
    struct web_count_slot *s = slot_fresh(w, key);
    if (s)
        segs_copy(out, &s->segs);
    pthread_mutex_unlock(&w->count_lock);
    return s != NULL;
}

void web_segs_put(struct web *w, const char *key, const struct store_run_segments *segs,
                  uint_fast64_t gen)
{
    pthread_mutex_lock(&w->count_lock);
    segs_copy(&slot_reset(w, key, gen)->segs, segs);
    pthread_mutex_unlock(&w->count_lock);
}

void web_data_changed(struct web *w)
{
    if (w)
        atomic_fetch_add(&w->data_gen, 1);
}

/* ---- store handles ---------------------------------------------------------------------- */

/* A store handle opened in the current stats epoch (*epoch says which). */
static struct bk_store *pool_get(struct web *w, uint_fast64_t *epoch, struct bk_err *err)
{
    struct bk_store *s = NULL, *stale[WEB_POOL_MAX];
    size_t nstale = 0;
    uint_fast64_t now = atomic_load(&w->stats_epoch);
    pthread_mutex_lock(&w->pool_lock);
    while (!s && w->npool > 0) {
        w->npool--;
        if (w->pool_epoch[w->npool] == now)
            s = w->pool[w->npool];
        else
            stale[nstale++] = w->pool[w->npool];
    }
    pthread_mutex_unlock(&w->pool_lock);
    for (size_t i = 0; i < nstale; i++)
        store_close(stale[i]);
    *epoch = now;
    if (!s && store_open(w->cfg, &s, err) < 0)
        return NULL;
    return s;
}

static void pool_put(struct web *w, struct bk_store *s, uint_fast64_t epoch)
{
    if (!s)
        return;
    pthread_mutex_lock(&w->pool_lock);
    if (w->npool < WEB_POOL_MAX && epoch == atomic_load(&w->stats_epoch)) {
        w->pool_epoch[w->npool] = epoch;
        w->pool[w->npool++] = s;
        s = NULL;
    }
    pthread_mutex_unlock(&w->pool_lock);
    store_close(s);
}

void web_store_stats_changed(struct web *w)
{
    if (w)
        atomic_fetch_add(&w->stats_epoch, 1);
}

/* ---- authentication ------------------------------------------------------------------- */

/* 0 authenticated; otherwise the response is set. */
static int authenticate(struct web_req *rq)
{
    struct bk_err err = {0};
    const char *authz = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "Authorization");
    int rc;
    if (authz) {
        if (strncasecmp(authz, "Bearer ", 7) != 0) {
            web_error(rq, 401, "unauthorized", "Authorization must be \"Bearer TOKEN\"");
            return -1;
        }
        const char *tok = authz + 7;
        while (*tok == ' ')
            tok++;
        rc = auth_token_verify(rq->st, tok, &rq->who, &err);
    } else {
        const char *cookie = MHD_lookup_connection_value(rq->conn, MHD_COOKIE_KIND, WEB_COOKIE);
        if (!cookie || !*cookie) {
            web_error(rq, 401, "unauthorized", "authentication required");
            return -1;
        }
        rc = auth_session_verify(rq->st, cookie, &rq->who, &err);
    }
    if (rc == -BK_EAUTH || rc == -BK_ENOTFOUND || rc == -BK_EINVAL) {
        web_error(rq, 401, "unauthorized", "invalid or expired credentials");
        return -1;
    }
    if (rc < 0) {
        web_internal(rq, &err);
        return -1;
    }
    rq->authed = true;
    return 0;
}

static bool changes_state(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
           strcmp(method, "OPTIONS") != 0;
}

/* ---- dispatch ----------------------------------------------------------------------------- */

static void peer_ip(struct MHD_Connection *conn, char *out, size_t outsz)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, outsz, "?");
    if (!ci || !ci->client_addr)
        return;
    if (ci->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr,
                  out, (socklen_t)outsz);
    else if (ci->client_addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6,
                  &((const struct sockaddr_in6 *)(const void *)ci->client_addr)->sin6_addr, out,
                  (socklen_t)outsz);
}

static bool json_content_type(struct MHD_Connection *conn)
{
    const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    if (strncasecmp(ct, "application/json", 16) != 0)
        return false;
    return ct[16] == '\0' || ct[16] == ';' || ct[16] == ' ';
}

static void dispatch(struct web *w, struct web_req *rq, struct conn_req *cr)
{
    const char *cap[WEB_MAX_CAPS];
    size_t caplen[WEB_MAX_CAPS];
    bool known = false;
    struct bk_err err = {0};

    if (cr->reject == 414) {
        web_error(rq, 414, "uri_too_long", "request target longer than %d bytes", URI_MAX);
        return;
    }
    if (cr->reject == 431) {
        web_error(rq, 431, "headers_too_large", "request headers larger than %d bytes",
                  HEADERS_MAX);
        return;
    }
    if (cr->too_big) {
        web_error(rq, 413, "payload_too_large", "request body larger than %zu bytes",
                  w->opts.max_body);
        return;
    }
    /* MHD decodes the path, and a %00 would cut it short where we cannot see it */
    const char *qmark = strchr(cr->uri, '?');
    size_t plen = qmark ? (size_t)(qmark - cr->uri) : strlen(cr->uri);
    for (size_t i = 0; i + 2 < plen; i++) {
        if (cr->uri[i] == '%' && cr->uri[i + 1] == '0' && cr->uri[i + 2] == '0') {
            web_error(rq, 400, "bad_request", "the path contains a NUL byte");
            return;
        }
    }
    const struct web_route *rt = web_route_find(rq->method, rq->path, cap, caplen, &known);
    if (!rt) {
        if (known) {
            web_route_allow(rq->path, rq->allow, sizeof rq->allow);
            web_error(rq, 405, "method_not_allowed", "method %s not allowed here (allowed: %s)",
                      strlen(rq->method) <= 16 ? rq->method : "?", rq->allow);
        } else {
            web_error(rq, 404, "not_found", "no such resource");
        }
        return;
    }
    rq->route = rt;
    size_t ncap = 0;
    for (const char *p = rt->pattern; (p = strchr(p, '{')) != NULL; p++) {
        rq->cap[ncap] = xstrndup(cap[ncap], caplen[ncap]);
        if (strncmp(p, "{id}", 4) == 0)
            str_to_i64(rq->cap[ncap], &rq->id);
        ncap++;
    }

    const char *qs = strchr(cr->uri, '?');
    if (params_parse_query(qs ? qs + 1 : NULL, qs ? strlen(qs + 1) : 0, &rq->q, rq->msg,
                           sizeof rq->msg) < 0) {
        web_bad_request(rq);
        return;
    }

    bool public_route =
        (rt->flags & WR_PUBLIC) || ((rt->flags & WR_METRICS) && w->opts.metrics_public);
    if (public_route && rt->fn == api_healthz) {
        rt->fn(rq); /* no store needed: liveness must not depend on the database */
        return;
    }
    if (!(rq->st = pool_get(w, &rq->st_epoch, &err))) {
        log_err("web: cannot open the store: %s", err.msg);
        web_error(rq, 503, "unavailable", "database unavailable");
        return;
    }
    if (!public_route && (rt->flags & WR_AUTH_OPTIONAL)) {
        /* "am I logged in?" without a 401 the browser would log as an error */
        if (authenticate(rq) < 0) {
            if (rq->status != 401)
                return;
            web_reply(rq, 0, NULL);
            memset(&rq->who, 0, sizeof rq->who);
        }
    } else if (!public_route) {
        if (authenticate(rq) < 0)
            return;
        if (rq->who.role < rt->min_role) {
            web_error(rq, 403, "forbidden", "this needs the %s role", bk_role_name(rt->min_role));
            return;
        }
        if (rq->who.via_session && changes_state(rq->method)) {
            const char *t = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "X-CSRF-Token");
            if (!t || !rq->who.csrf[0] || !auth_equal(t, rq->who.csrf)) {
                web_error(rq, 403, "csrf", "missing or wrong X-CSRF-Token header");
                return;
            }
        }
    }
    if (rt->flags & WR_RAW) {
        rq->raw = cr->body.data;
        rq->rawlen = cr->body.len;
    }
    if (rt->flags & WR_BODY) {
        if (cr->body.len > 0 && !json_content_type(rq->conn)) {
            web_error(rq, 415, "unsupported_media_type",
                      "the body must be JSON (Content-Type: application/json)");
            return;
        }
        if (params_json_body(cr->body.data, cr->body.len, PARAMS_JSON_DEPTH, &rq->body, rq->msg,
                             sizeof rq->msg) < 0) {
            web_bad_request(rq);
            return;
        }
    }
    rt->fn(rq);
}

static void add_common_headers(struct web *w, struct MHD_Response *r, bool json)
{
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (json)
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'none'; frame-ancestors 'none'");
    if (w->tls)
        MHD_add_response_header(r, "Strict-Transport-Security", "max-age=31536000");
}

static enum MHD_Result send_reply(struct web *w, struct web_req *rq)
{
    char *body;
    size_t len;
    bool json = rq->text == NULL || rq->text_is_json;
    if (rq->status == 0) {
        web_error(rq, 500, "internal", "no response");
        json = true;
    }
    if (rq->status == 204) {
        body = NULL;
        len = 0;
    } else if (rq->text) {
        body = rq->text;
        rq->text = NULL;
        len = strlen(body);
    } else {
        if (!rq->json)
            rq->json = json_object();
        body = json_dumps(rq->json, JSON_COMPACT);
        if (!body) { /* only on a string jansson refused: never send half an answer */
            web_error(rq, 500, "internal", "cannot encode the response");
            body = json_dumps(rq->json, JSON_COMPACT);
        }
        len = strlen(body);
    }
    struct MHD_Response *r =
        body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
             : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    if (rq->status != 204)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                rq->ctype ? rq->ctype
                                : json    ? "application/json; charset=utf-8"
                                          : "text/plain; charset=utf-8");
    add_common_headers(w, r, json);
    if (rq->disposition[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_DISPOSITION, rq->disposition);
    if (rq->set_cookie)
        MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, rq->set_cookie);
    if (rq->retry_after[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, rq->retry_after);
    if (rq->allow[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, rq->allow);
    if (rq->status == 401)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"backupctl\"");
    /* any successful change may alter list totals */
    if (changes_state(rq->method) && rq->status < 300)
        web_data_changed(w);
    unsigned cls = rq->status / 100;
    atomic_fetch_add(&w->requests[cls < 6 ? cls : 0], 1);
    if (rq->status >= 500)
        log_warn("%s %s -> %u", rq->method, rq->log_path, rq->status);
    else
        log_debug("%s %s -> %u", rq->method, rq->log_path, rq->status);
    enum MHD_Result rc = MHD_queue_response(rq->conn, rq->status, r);
    MHD_destroy_response(r);
    return rc;
}

/* The web UI: GET of a path outside /api/ and the operational endpoints is a static asset
 * compiled into the binary; an unknown path without an extension is the single-page app
 * (deep links such as /jobs/12). Returns false when the request is not for an asset. */
static bool is_asset_request(const char *url, const char *method)
{
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return false;
    return strncmp(url, "/api/", 5) != 0 && strcmp(url, "/api") != 0 &&
           strcmp(url, "/metrics") != 0 && strcmp(url, "/healthz") != 0 &&
           strcmp(url, "/readyz") != 0 && strncmp(url, "/ping/", 6) != 0;
}

static enum MHD_Result serve_asset(struct web *w, struct MHD_Connection *conn, const char *url,
                                   bool *handled)
{
    const struct web_asset *a = web_asset_find(url);
    const char *slash = strrchr(url, '/');
    if (!a && slash && !strchr(slash, '.') && !strstr(url, ".."))
        a = web_asset_index();
    *handled = a != NULL;
    if (!a)
        return MHD_NO;
    const char *inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "If-None-Match");
    bool fresh = inm && strcmp(inm, a->etag) == 0;
    struct MHD_Response *r =
        fresh ? MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT)
              : MHD_create_response_from_buffer(a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, a->mime);
    MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, a->etag);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    /* revalidate every time: the ETag makes that a 304 without a body */
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; script-src 'self'; style-src 'self'; "
                            "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
                            "base-uri 'none'; form-action 'self'");
    if (w->tls)
        MHD_add_response_header(r, "Strict-Transport-Security", "max-age=31536000");
    enum MHD_Result rc = MHD_queue_response(conn, fresh ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result handle(struct web *w, struct MHD_Connection *conn, const char *url,
                              const char *method, struct conn_req *cr)
{
    if (!cr->reject && is_asset_request(url, method)) {
        bool handled;
        enum MHD_Result arc = serve_asset(w, conn, url, &handled);
        if (handled)
            return arc;
    }
    struct web_req rq = {.w = w, .conn = conn, .method = method, .path = url};
    web_log_path(url, rq.log_path, sizeof rq.log_path);
    peer_ip(conn, rq.peer, sizeof rq.peer);
    dispatch(w, &rq, cr);
    enum MHD_Result rc = send_reply(w, &rq);
    pool_put(w, rq.st, rq.st_epoch);
    for (size_t i = 0; i < WEB_MAX_CAPS; i++)
        free(rq.cap[i]);
    params_free(&rq.q);
    json_decref(rq.body);
    clear_body(&rq);
    free(rq.set_cookie);
    return rc;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct web *w = cls;
    struct conn_req *cr = xcalloc(1, sizeof *cr);
    cr->uri = xstrdup(uri ? uri : "");
    bk_buf_init(&cr->body, w->opts.max_body);
    return cr;
}

static struct web_conn *conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* The next request header on this connection (keep-alive) has its own deadline; while a
 * request is handled there is none (deadline 0). */
static void conn_set_deadline(struct web *w, struct MHD_Connection *conn, int64_t deadline)
{
    struct web_conn *c = conn_of(conn);
    if (!c)
        return;
    pthread_mutex_lock(&w->conn_lock);
    c->header_deadline = deadline;
    pthread_mutex_unlock(&w->conn_lock);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct web *w = cls;
    struct conn_req *cr = *con_cls;
    conn_set_deadline(w, conn, bk_mono_ms() + (int64_t)w->opts.header_timeout * 1000);
    if (!cr)
        return;
    free(cr->uri);
    bk_buf_free(&cr->body);
    free(cr);
    *con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct web *w = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct web_conn *c = xcalloc(1, sizeof *c);
        c->fd = ci ? ci->connect_fd : -1;
        c->header_deadline = bk_mono_ms() + (int64_t)w->opts.header_timeout * 1000;
        pthread_mutex_lock(&w->conn_lock);
        c->next = w->conns;
        if (w->conns)
            w->conns->prev = c;
        w->conns = c;
        pthread_mutex_unlock(&w->conn_lock);
        *socket_context = c;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
        /* MHD closes the descriptor after this returns: unlinked under the lock, the reaper
         * can never shut down a descriptor number that was reused. */
        struct web_conn *c = *socket_context;
        pthread_mutex_lock(&w->conn_lock);
        if (c->prev)
            c->prev->next = c->next;
        else
            w->conns = c->next;
        if (c->next)
            c->next->prev = c->prev;
        pthread_mutex_unlock(&w->conn_lock);
        free(c);
        *socket_context = NULL;
    }
}

/* MHD's idle timeout restarts on every byte, so a client trickling a header would hold its
 * connection for ever: connections without a complete request header by their deadline are
 * shut down here (MHD then sees the end of the stream and closes them itself). */
static void *reaper_main(void *arg)
{
    struct web *w = arg;
    uint_fast64_t reported = 0;
    int64_t next_report = 0;
    pthread_mutex_lock(&w->conn_lock);
    while (!w->reaper_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += REAPER_PERIOD_MS * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&w->conn_cond, &w->conn_lock, &ts);
        int64_t now = bk_mono_ms();
        for (struct web_conn *c = w->conns; c; c = c->next) {
            if (c->header_deadline > 0 && now >= c->header_deadline && c->fd >= 0) {
                shutdown(c->fd, SHUT_RDWR);
                c->header_deadline = 0;
                atomic_fetch_add(&w->header_timeouts, 1);
            }
        }
        /* one line a minute at most, however many connections an attacker opens */
        uint_fast64_t n = atomic_load(&w->header_timeouts);
        if (n != reported && now >= next_report) {
            log_warn("web: closed %llu connection(s) that sent no complete request header "
                     "within %u s",
                     (unsigned long long)(n - reported), w->opts.header_timeout);
            reported = n;
            next_report = now + 60000;
        }
    }
    pthread_mutex_unlock(&w->conn_lock);
    return NULL;
}

struct header_size {
    size_t bytes;
};

static enum MHD_Result add_header_size(void *cls, enum MHD_ValueKind kind, const char *key,
                                       const char *value)
{
    struct header_size *h = cls;
    h->bytes += strlen(key) + (value ? strlen(value) : 0) + 4; /* ": " and CRLF */
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    struct web *w = cls;
    struct conn_req *cr = *con_cls;
    if (!cr)
        *con_cls = cr = on_uri(w, url, conn);
    if (!cr->started) {
        cr->started = true;
        conn_set_deadline(w, conn, 0); /* the header is complete */
        /* Limits MHD would answer with its own HTML page: answered here, in JSON. */
        struct header_size hs = {strlen(cr->uri) + strlen(method) + 12};
        MHD_get_connection_values(conn, MHD_HEADER_KIND, add_header_size, &hs);
        if (strlen(cr->uri) > URI_MAX)
            cr->reject = 414;
        else if (hs.bytes > HEADERS_MAX)
            cr->reject = 431;
        if (cr->reject)
            return handle(w, conn, url, method, cr);
        /* Refuse an announced oversized body before reading it (a client waiting for
         * "100 Continue" gets its answer at once). */
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        int64_t len;
        if (cl && str_to_i64(cl, &len) == 0 && len > (int64_t)w->opts.max_body) {
            cr->too_big = true;
            return handle(w, conn, url, method, cr);
        }
        return MHD_YES;
    }
    if (*upload_size != 0) {
        if (!cr->too_big && bk_buf_append(&cr->body, upload, *upload_size) != 0) {
            cr->too_big = true;
            bk_buf_free(&cr->body);
        }
        *upload_size = 0;
        return MHD_YES;
    }
    return handle(w, conn, url, method, cr);
}

/* MHD logs one line per refused connection: under a flood that would be the whole log, so
 * a message repeated within a minute is counted, not printed. */
static pthread_mutex_t g_mhd_log_lock = PTHREAD_MUTEX_INITIALIZER;
static char g_mhd_last[512];
static int64_t g_mhd_last_at;
static unsigned long g_mhd_repeats;

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    int64_t now = bk_mono_ms();
    pthread_mutex_lock(&g_mhd_log_lock);
    bool same = strcmp(msg, g_mhd_last) == 0 && now - g_mhd_last_at < 60000;
    unsigned long repeats = g_mhd_repeats;
    if (same) {
        g_mhd_repeats++;
    } else {
        memcpy(g_mhd_last, msg, n + 1);
        g_mhd_last_at = now;
        g_mhd_repeats = 0;
    }
    pthread_mutex_unlock(&g_mhd_log_lock);
    if (same)
        return;
    if (repeats)
        log_warn("web: (the previous message repeated %lu times)", repeats);
    log_warn("web: %s", msg);
}

/* ---- start / stop ---------------------------------------------------------------------------- */

static int read_pem(const char *path, char **out, struct bk_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return bk_err_set(err, BK_ECONFIG, "cannot read %s: %s", path, strerror(errno));
    struct bk_buf b;
    bk_buf_init(&b, PEM_MAX);
    bk_buf_appends(&b, "");
    char chunk[4096];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (bk_buf_append(&b, chunk, n) < 0) {
            rc = bk_err_set(err, BK_ECONFIG, "%s: larger than %d bytes", path, PEM_MAX);
            break;
        }
    }
    if (rc == 0 && ferror(f))
        rc = bk_err_set(err, BK_ECONFIG, "cannot read %s", path);
    fclose(f);
    if (rc < 0) {
        bk_buf_free(&b);
        return rc;
    }
    *out = bk_buf_steal(&b);
    return 0;
}

/* "HOST:PORT", "[v6]:PORT" or ":PORT" (all IPv4 interfaces) → a socket address. */
static int parse_listen(const char *listen, struct sockaddr_storage *sa, socklen_t *salen,
                        bool *loopback, struct bk_err *err)
{
    char host[256];
    const char *port;
    if (!listen || !*listen)
        return bk_err_set(err, BK_ECONFIG, "server listen address is empty");
    if (listen[0] == '[') {
        const char *end = strchr(listen, ']');
        if (!end || end[1] != ':' || (size_t)(end - listen - 1) >= sizeof host)
            return bk_err_set(err, BK_ECONFIG, "listen \"%s\": expected [IPV6]:PORT", listen);
        memcpy(host, listen + 1, (size_t)(end - listen - 1));
        host[end - listen - 1] = '\0';
        port = end + 2;
    } else {
        const char *colon = strrchr(listen, ':');
        if (!colon || (size_t)(colon - listen) >= sizeof host)
            return bk_err_set(err, BK_ECONFIG, "listen \"%s\": expected HOST:PORT", listen);
        memcpy(host, listen, (size_t)(colon - listen));
        host[colon - listen] = '\0';
        port = colon + 1;
    }
    int64_t p;
    if (str_to_i64(port, &p) < 0 || p < 0 || p > 65535)
        return bk_err_set(err, BK_ECONFIG, "listen \"%s\": bad port", listen);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    hints.ai_family = host[0] ? AF_UNSPEC : AF_INET;
    struct addrinfo *res = NULL;
    int g = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (g != 0 || !res)
        return bk_err_set(err, BK_ECONFIG, "listen \"%s\": %s", listen, gai_strerror(g));
    memcpy(sa, res->ai_addr, res->ai_addrlen);
    *salen = res->ai_addrlen;
    freeaddrinfo(res);
    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        *loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        *loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
    }
    return 0;
}

int web_start(const struct bk_config *cfg, const struct web_opts *o, const struct web_hooks *h,
              struct web **out, unsigned *port_out, struct bk_err *err)
{
    *out = NULL;
    struct web *w = xcalloc(1, sizeof *w);
    w->cfg = cfg;
    w->opts = *o;
    if (h)
        w->hooks = *h;
    if (!w->opts.listen)
        w->opts.listen = cfg->listen ? cfg->listen : "127.0.0.1:8080";
    if (!w->opts.threads)
        w->opts.threads = 4;
    if (!w->opts.max_conns)
        w->opts.max_conns = 1024;
    if (!w->opts.max_conns_ip)
        w->opts.max_conns_ip = 64;
    if (!w->opts.header_timeout)
        w->opts.header_timeout = 10;
    if (!w->opts.max_body)
        w->opts.max_body = 64 * 1024;
    if (!w->opts.idle_timeout)
        w->opts.idle_timeout = 30;
    if (w->opts.session_ttl_ms <= 0)
        w->opts.session_ttl_ms = 12LL * 3600 * 1000;
    pthread_mutex_init(&w->pool_lock, NULL);
    pthread_mutex_init(&w->count_lock, NULL);
    pthread_mutex_init(&w->conn_lock, NULL);
    pthread_cond_init(&w->conn_cond, NULL);
    w->login_user_rl = ratelimit_new(LOGIN_USER_FAILURES, LOGIN_WINDOW_MS, 4096);
    w->login_ip_rl = ratelimit_new(LOGIN_IP_FAILURES, LOGIN_WINDOW_MS, 4096);
    w->ping_uuid_rl = ratelimit_new(PING_PER_UUID, PING_WINDOW_MS, 16384);
    w->ping_ip_rl = ratelimit_new(PING_PER_IP, PING_WINDOW_MS, 4096);

    struct sockaddr_storage sa;
    socklen_t salen = 0;
    int rc = parse_listen(w->opts.listen, &sa, &salen, &w->loopback, err);
    if (rc < 0)
        goto fail;
    (void)salen;
    if ((w->opts.tls_cert == NULL) != (w->opts.tls_key == NULL)) {
        rc = bk_err_set(err, BK_ECONFIG, "TLS needs both a certificate and a key file");
        goto fail;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    flags |= MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES ? MHD_USE_EPOLL : MHD_USE_POLL;
    if (sa.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (w->opts.tls_cert) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            rc = bk_err_set(err, BK_ECONFIG, "this libmicrohttpd has no TLS support");
            goto fail;
        }
        if (!w->opts.tls_key_pem) {
            /* the key is a secret: whoever starts the server reads it with the secret-file
             * rule, never this layer (which does not link secrets/) */
            rc = bk_err_set(err, BK_ECONFIG, "%s: the TLS key was not read", w->opts.tls_key);
            goto fail;
        }
        if ((rc = read_pem(w->opts.tls_cert, &w->tls_cert_pem, err)) < 0)
            goto fail;
        w->tls_key_pem = xstrdup(w->opts.tls_key_pem);
        w->opts.tls_key_pem = NULL;
        flags |= MHD_USE_TLS;
        w->tls = true;
    }
    /* Check the database once before listening: a bad path fails the start, not every request. */
    struct bk_store *first = NULL;
    if ((rc = store_open(cfg, &first, err)) < 0)
        goto fail;
    pool_put(w, first, 0);

    /* Every connection is a descriptor: raise the soft limit to fit them (and the store
     * handles, the listener, logs), or serve fewer connections than asked. */
    struct rlimit rl;
    rlim_t need = (rlim_t)w->opts.max_conns + WEB_POOL_MAX + 64;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need) {
            unsigned fit =
                rl.rlim_cur > WEB_POOL_MAX + 128 ? (unsigned)rl.rlim_cur - WEB_POOL_MAX - 64 : 64;
            log_warn("web: the open file limit (%llu) allows %u connections, not %u",
                     (unsigned long long)rl.rlim_cur, fit, w->opts.max_conns);
            w->opts.max_conns = fit;
        }
    }
    unsigned per_ip =
        w->opts.max_conns_ip < w->opts.max_conns ? w->opts.max_conns_ip : w->opts.max_conns / 2;
    struct MHD_OptionItem opts[16];
    size_t no = 0;
    /* the logger first, or MHD uses its default one for the options before it */
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_log, w};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &sa};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, w->opts.threads, NULL};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, w->opts.max_conns, NULL};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, w->opts.idle_timeout, NULL};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip, NULL};
    /* request line + headers are limited by on_request (JSON 414/431); MHD's own memory per
     * connection is larger, so its HTML pages only answer absurd sizes */
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, MHD_MEMORY, NULL};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, w};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, w};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, w};
    if (w->tls) {
        opts[no++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, w->tls_cert_pem};
        opts[no++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, w->tls_key_pem};
    }
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

    w->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, w, MHD_OPTION_ARRAY, opts,
                              MHD_OPTION_END);
    if (!w->mhd) {
        rc = bk_err_set(err, BK_EIO, "cannot listen on %s (address in use or not local?)",
                        w->opts.listen);
        goto fail;
    }
    if (pthread_create(&w->reaper, NULL, reaper_main, w) != 0) {
        rc = bk_err_set(err, BK_EIO, "cannot start the connection reaper thread");
        goto fail;
    }
    w->reaper_started = true;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(w->mhd, MHD_DAEMON_INFO_BIND_PORT);
    w->port = di ? di->port : 0;
    if (port_out)
        *port_out = w->port;
    *out = w;
    return 0;
fail:
    web_stop(w);
    return rc;
}

void web_stop(struct web *w)
{
    if (!w)
        return;
    if (w->reaper_started) {
        pthread_mutex_lock(&w->conn_lock);
        w->reaper_stop = true;
        pthread_cond_signal(&w->conn_cond);
        pthread_mutex_unlock(&w->conn_lock);
        pthread_join(w->reaper, NULL);
    }
    if (w->mhd)
        MHD_stop_daemon(w->mhd); /* "closed" notifications empty w->conns */
    pthread_mutex_destroy(&w->conn_lock);
    pthread_cond_destroy(&w->conn_cond);
    for (size_t i = 0; i < w->npool; i++)
        store_close(w->pool[i]);
    pthread_mutex_destroy(&w->pool_lock);
    for (size_t i = 0; i < WEB_COUNT_SLOTS; i++) {
        free(w->counts[i].key);
        store_run_segments_free(&w->counts[i].segs);
    }
    pthread_mutex_destroy(&w->count_lock);
    ratelimit_free(w->login_user_rl);
    ratelimit_free(w->login_ip_rl);
    ratelimit_free(w->ping_uuid_rl);
    ratelimit_free(w->ping_ip_rl);
    if (w->tls_key_pem)
        memset(w->tls_key_pem, 0, strlen(w->tls_key_pem));
    free(w->tls_cert_pem);
    free(w->tls_key_pem);
    free(w);
}
