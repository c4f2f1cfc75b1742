/* simcore: vendor-neutral server plumbing shared by the simulators (see simcore.h).
 *
 * Threading: libmicrohttpd runs one thread per connection, so keep-alive connections each have
 * their own thread and the handler may block (latency, slow faults) without stalling others.
 * Shared state here is the fault table and the request log, each behind its own mutex. */
#include "simcore.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "util/buf.h"
#include "util/str.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

/* Per-request state, created by the URI log callback (the only place MHD shows the raw URI,
 * which the request log needs verbatim) and freed when the request completes. */
struct sim_conn_req {
    char *uri;
    int64_t ts;
    bool started;
    bool too_big;
    struct bk_buf body;
};

struct sim_server {
    const struct sim_app *app;
    struct sim_config *cfg;
    pthread_mutex_t fault_lock;
    pthread_mutex_t log_lock;
    FILE *log;
};

/* Set once SIGINT/SIGTERM arrives so sleeping handlers give up and the daemon can stop. */
static volatile sig_atomic_t g_stopping;

/* Fault kinds the simulator added (cove-sim's JSON-RPC errors). Global rather than in the config
 * because sim_fault_parse() is also reached from /__sim/fault, which has no option context; it is
 * written once by main before any thread exists. */
static const char *const *g_app_kinds;

/* ------------------------------------------------------------------------------------------ */
/* configuration                                                                              */

static const char *const shared_opts[] = {
    "--port", "--request-log", "--tls-cert", "--tls-key", "--latency-ms", "--fault",
};

void sim_config_init(struct sim_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
}

void sim_config_free(struct sim_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < cfg->nfaults; i++)
        sim_fault_clear(&cfg->faults[i]);
    free(cfg->faults);
    cfg->faults = NULL;
    cfg->nfaults = 0;
}

bool sim_config_is_option(const char *name)
{
    for (size_t i = 0; i < sizeof(shared_opts) / sizeof(shared_opts[0]); i++)
        if (strcmp(name, shared_opts[i]) == 0)
            return true;
    return false;
}

const char *sim_config_usage(void)
{
    return "  --port P             listen on 127.0.0.1:P (0 = any free port, the default)\n"
           "  --request-log F      append one JSON line per request to F (secrets masked)\n"
           "  --tls-cert F --tls-key F   serve HTTPS with this PEM certificate and key\n"
           "  --latency-ms N       delay every response by N ms\n"
           "  --fault SPEC         KIND[,count=N][,after=N][,path=PREFIX][,method=M][,rpc=M]\n"
           "                       [,retry_after=S][,ms=N][,handled=1]; KIND is one of\n"
           "                       500 502 503 504 408 429 401 403 drop malformed truncated slow\n"
           "                       (repeatable; also POST/DELETE /__sim/fault at run time);\n"
           "                       rpc=M matches a JSON body whose top-level \"method\" is M\n";
}

static int parse_nonneg(const char *val, int64_t max, int64_t *out)
{
    int64_t v;
    if (val == NULL || str_to_i64(val, &v) != 0 || v < 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

int sim_config_option(struct sim_config *cfg, const char *name, const char *val, char *errbuf,
                      size_t errsz)
{
    int64_t v;

    if (!sim_config_is_option(name))
        return 0;
    if (val == NULL) {
        snprintf(errbuf, errsz, "%s needs a value", name);
        return -1;
    }
    if (strcmp(name, "--port") == 0) {
        if (parse_nonneg(val, 65535, &v) != 0) {
            snprintf(errbuf, errsz, "--port: not a port number: %s", val);
            return -1;
        }
        cfg->port = (int)v;
    } else if (strcmp(name, "--request-log") == 0) {
        cfg->request_log = val;
    } else if (strcmp(name, "--tls-cert") == 0) {
        cfg->tls_cert = val;
    } else if (strcmp(name, "--tls-key") == 0) {
        cfg->tls_key = val;
    } else if (strcmp(name, "--latency-ms") == 0) {
        if (parse_nonneg(val, 3600000, &v) != 0) {
            snprintf(errbuf, errsz, "--latency-ms: not a delay in ms: %s", val);
            return -1;
        }
        cfg->latency_ms = v;
    } else { /* --fault */
        struct sim_fault f;
        if (sim_fault_parse(val, &f, errbuf, errsz) != 0)
            return -1;
        cfg->faults = xrealloc(cfg->faults, (cfg->nfaults + 1) * sizeof(*cfg->faults));
        cfg->faults[cfg->nfaults++] = f;
    }
    return 1;
}

/* ------------------------------------------------------------------------------------------ */
/* faults                                                                                     */

void sim_fault_clear(struct sim_fault *f)
{
    if (f == NULL)
        return;
    free(f->path);
    free(f->method);
    free(f->spec);
    free(f->rpc);
    memset(f, 0, sizeof(*f));
}

void sim_fault_kinds_register(const char *const *kinds)
{
    g_app_kinds = kinds;
}

static int fault_kind(const char *kind, struct sim_fault *f)
{
    static const unsigned codes[] = {500, 502, 503, 504, 408, 429, 401, 403};
    int64_t code;

    for (size_t i = 0; g_app_kinds != NULL && g_app_kinds[i] != NULL; i++) {
        if (strcmp(kind, g_app_kinds[i]) == 0) {
            f->kind = SIM_FAULT_APP;
            f->app_kind = g_app_kinds[i];
            return 0;
        }
    }
    if (strcmp(kind, "drop") == 0)
        f->kind = SIM_FAULT_DROP;
    else if (strcmp(kind, "malformed") == 0)
        f->kind = SIM_FAULT_MALFORMED;
    else if (strcmp(kind, "truncated") == 0)
        f->kind = SIM_FAULT_TRUNCATED;
    else if (strcmp(kind, "slow") == 0)
        f->kind = SIM_FAULT_SLOW;
    else if (str_to_i64(kind, &code) == 0) {
        for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
            if (codes[i] == code) {
                f->kind = SIM_FAULT_STATUS;
                f->status = (unsigned)code;
                return 0;
            }
        }
        return -1;
    } else
        return -1;
    return 0;
}

int sim_fault_parse(const char *spec, struct sim_fault *f, char *errbuf, size_t errsz)
{
    char *copy = xstrdup(spec);
    char *item = copy;
    bool first = true;
    int rc = -1;

    memset(f, 0, sizeof(*f));
    f->count = 1;
    f->retry_after = 1;
    f->ms = 5000;
    while (item != NULL) {
        char *next = strchr(item, ',');
        if (next != NULL)
            *next++ = '\0';
        if (first) {
            if (fault_kind(item, f) != 0) {
                snprintf(errbuf, errsz, "fault: unknown kind '%s'", item);
                goto out;
            }
            first = false;
            item = next;
            continue;
        }
        char *eq = strchr(item, '=');
        if (eq == NULL) {
            snprintf(errbuf, errsz, "fault: expected key=value, got '%s'", item);
            goto out;
        }
        *eq = '\0';
        const char *key = item, *val = eq + 1;
        int64_t *num = NULL;
        int64_t max = INT64_MAX / 2;
        if (strcmp(key, "count") == 0)
            num = &f->count;
        else if (strcmp(key, "after") == 0)
            num = &f->after;
        else if (strcmp(key, "retry_after") == 0)
            num = &f->retry_after;
        else if (strcmp(key, "ms") == 0) {
            num = &f->ms;
            max = 3600000;
        } else if (strcmp(key, "path") == 0) {
            free(f->path);
            f->path = xstrdup(val);
        } else if (strcmp(key, "method") == 0) {
            free(f->method);
            f->method = xstrdup(val);
        } else if (strcmp(key, "rpc") == 0) {
            free(f->rpc);
            f->rpc = xstrdup(val);
        } else if (strcmp(key, "handled") == 0) {
            bool b;
            if (str_parse_bool(val, &b) != 0) {
                snprintf(errbuf, errsz, "fault: handled: not a yes/no value: '%s'", val);
                goto out;
            }
            f->handled = b;
        } else {
            snprintf(errbuf, errsz, "fault: unknown key '%s'", key);
            goto out;
        }
        if (num != NULL && parse_nonneg(val, max, num) != 0) {
            snprintf(errbuf, errsz, "fault: %s: not a non-negative integer: '%s'", key, val);
            goto out;
        }
        item = next;
    }
    if (first) {
        snprintf(errbuf, errsz, "fault: empty spec");
        goto out;
    }
    f->spec = xstrdup(spec);
    rc = 0;
out:
    if (rc != 0)
        sim_fault_clear(f);
    free(copy);
    return rc;
}

/* The JSON-RPC method a body names ("" when the body is not a JSON object with a string
 * "method"), so a fault can target one call on a single-URL API. */
static void body_rpc_method(const struct sim_request *req, char *out, size_t outsz)
{
    json_t *doc = json_loadb(req->body, req->body_len, 0, NULL);
    json_t *m = json_object_get(doc, "method");

    snprintf(out, outsz, "%s", json_is_string(m) ? json_string_value(m) : "");
    json_decref(doc);
}

/* Every fault counts the requests it matches independently, so a fault's behaviour depends only
 * on the request sequence ("the 3rd and 4th GET /jobs"), never on the other faults; when several
 * fire on the same request the first listed wins. Returns whether one fired, copied into *out
 * (path/method/rpc not copied). */
static bool fault_pick(struct sim_server *srv, const struct sim_request *req, struct sim_fault *out)
{
    bool fired = false, have_rpc = false;
    char rpc[128];

    pthread_mutex_lock(&srv->fault_lock);
    for (size_t i = 0; i < srv->cfg->nfaults; i++) {
        struct sim_fault *f = &srv->cfg->faults[i];
        if (f->path != NULL && strncmp(req->path, f->path, strlen(f->path)) != 0)
            continue;
        if (f->method != NULL && strcasecmp(req->method, f->method) != 0)
            continue;
        if (f->rpc != NULL) {
            if (!have_rpc) { /* parsed at most once, and only when some fault asks */
                body_rpc_method(req, rpc, sizeof(rpc));
                have_rpc = true;
            }
            if (strcmp(rpc, f->rpc) != 0)
                continue;
        }
        f->seen++;
        if (f->seen <= f->after || (f->count != 0 && f->seen > f->after + f->count))
            continue;
        if (!fired) {
            *out = *f;
            out->path = out->method = out->spec = out->rpc = NULL;
            fired = true;
        }
    }
    pthread_mutex_unlock(&srv->fault_lock);
    return fired;
}

static const char *fault_name(const struct sim_fault *f, char *buf, size_t bufsz)
{
    switch (f->kind) {
    case SIM_FAULT_STATUS:
        snprintf(buf, bufsz, "%u", f->status);
        return buf;
    case SIM_FAULT_DROP:
        return "drop";
    case SIM_FAULT_MALFORMED:
        return "malformed";
    case SIM_FAULT_TRUNCATED:
        return "truncated";
    case SIM_FAULT_SLOW:
        return "slow";
    case SIM_FAULT_APP:
        return f->app_kind;
    }
    return "?";
}

/* ------------------------------------------------------------------------------------------ */
/* request helpers                                                                            */

const char *sim_req_arg(const struct sim_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *sim_req_header(const struct sim_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

void sim_sleep_ms(int64_t ms)
{
    if (ms > 0)
        bk_sleep_ms(ms, &g_stopping);
}

void sim_resp_header(struct sim_response *resp, const char *name, const char *value)
{
    for (size_t i = 0; i < SIM_MAX_HEADERS; i++) {
        if (resp->hdr_name[i] == NULL) {
            resp->hdr_name[i] = xstrdup(name);
            resp->hdr_value[i] = xstrdup(value);
            return;
        }
    }
}

void sim_resp_set(struct sim_response *resp, unsigned status, char *body)
{
    free(resp->body);
    resp->status = status;
    resp->body = body;
}

static void resp_free(struct sim_response *resp)
{
    free(resp->body);
    for (size_t i = 0; i < SIM_MAX_HEADERS; i++) {
        free(resp->hdr_name[i]);
        free(resp->hdr_value[i]);
    }
    memset(resp, 0, sizeof(*resp));
}

/* ------------------------------------------------------------------------------------------ */
/* request log with secrets masked                                                            */

static bool name_is_secret(const char *name, size_t len)
{
    static const char *const words[] = {"token",  "password", "passwd",  "secret",
                                        "cookie", "apikey",   "api-key", "api_key"};
    for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
        size_t wl = strlen(words[w]);
        for (size_t i = 0; i + wl <= len; i++)
            if (strncasecmp(name + i, words[w], wl) == 0)
                return true;
    }
    return false;
}

/* Invalid UTF-8 would make jansson refuse the string; the log must still get a line. */
static json_t *json_string_lossy(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    if (j != NULL)
        return j;
    char *copy = xmalloc(n + 1);
    for (size_t i = 0; i < n; i++)
        copy[i] = (s[i] & 0x80) || s[i] == '\0' ? '?' : s[i];
    copy[n] = '\0';
    j = json_stringn(copy, n);
    free(copy);
    return j;
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    json_t *headers = cls;
    const char *out = value != NULL ? value : "";
    char *masked = NULL;

    if (strcasecmp(key, "Authorization") == 0 || strcasecmp(key, "Proxy-Authorization") == 0) {
        const char *sp = strchr(out, ' ');
        masked = sp != NULL ? xasprintf("%.*s ***", (int)(sp - out), out) : xstrdup("***");
        out = masked;
    } else if (name_is_secret(key, strlen(key))) {
        out = "***";
    }
    json_object_set_new(headers, key, json_string_lossy(out, strlen(out)));
    free(masked);
    return MHD_YES;
}

/* "a=1&token=x" → "a=1&token=***". Returns a new string. */
static char *mask_form(const char *s)
{
    struct bk_buf b;
    const char *p = s;

    bk_buf_init(&b, SIZE_MAX);
    bk_buf_appends(&b, "");
    while (*p != '\0') {
        const char *amp = strchr(p, '&');
        size_t len = amp != NULL ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (eq != NULL && name_is_secret(p, (size_t)(eq - p))) {
            bk_buf_append(&b, p, (size_t)(eq - p) + 1);
            bk_buf_appends(&b, "***");
        } else {
            bk_buf_append(&b, p, len);
        }
        if (amp == NULL)
            break;
        bk_buf_appends(&b, "&");
        p = amp + 1;
    }
    return bk_buf_steal(&b);
}

static bool mask_json(json_t *j)
{
    bool changed = false;
    if (json_is_object(j)) {
        const char *key;
        json_t *val;
        json_object_foreach(j, key, val)
        {
            if (name_is_secret(key, strlen(key)) && (json_is_string(val) || json_is_number(val))) {
                json_object_set_new(j, key, json_string("***"));
                changed = true;
            } else {
                changed |= mask_json(val);
            }
        }
    } else if (json_is_array(j)) {
        size_t i;
        json_t *val;
        json_array_foreach(j, i, val) changed |= mask_json(val);
    }
    return changed;
}

/* The body as logged: raw unless it carried a secret, then re-serialised with it masked. */
static json_t *masked_body(const struct sim_request *req)
{
    json_t *doc = json_loadb(req->body, req->body_len, JSON_DECODE_ANY, NULL);
    json_t *out;

    if (doc != NULL) {
        if (mask_json(doc)) {
            char *s = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
            out = json_string_lossy(s, strlen(s));
            free(s);
        } else {
            out = json_string_lossy(req->body, req->body_len);
        }
        json_decref(doc);
        return out;
    }
    if (memchr(req->body, '=', req->body_len) != NULL) {
        char *m = mask_form(req->body);
        out = json_string_lossy(m, strlen(m));
        free(m);
        return out;
    }
    return json_string_lossy(req->body, req->body_len);
}

static void log_request(struct sim_server *srv, const struct sim_request *req, int64_t ts,
                        unsigned status, const char *fault)
{
    if (srv->log == NULL)
        return;
    json_t *line = json_object();
    json_t *headers = json_object();
    char *query = mask_form(req->query);

    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, collect_header, headers);
    json_object_set_new(line, "ts", json_integer(ts));
    json_object_set_new(line, "peer", json_string(req->peer));
    json_object_set_new(line, "method", json_string_lossy(req->method, strlen(req->method)));
    json_object_set_new(line, "path", json_string_lossy(req->path, strlen(req->path)));
    json_object_set_new(line, "query", json_string_lossy(query, strlen(query)));
    json_object_set_new(line, "headers", headers);
    json_object_set_new(line, "body", masked_body(req));
    json_object_set_new(line, "status", json_integer(status));
    if (fault != NULL)
        json_object_set_new(line, "fault", json_string(fault));
    char *s = json_dumps(line, JSON_COMPACT);
    pthread_mutex_lock(&srv->log_lock);
    fputs(s, srv->log);
    fputc('\n', srv->log);
    fflush(srv->log);
    pthread_mutex_unlock(&srv->log_lock);
    free(s);
    free(query);
    json_decref(line);
}

/* ------------------------------------------------------------------------------------------ */
/* /__sim/fault                                                                               */

static char *plain_json(const char *key, const char *value)
{
    json_t *o = json_pack("{ss}", key, value);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static void serve_fault_admin(struct sim_server *srv, const struct sim_request *req,
                              struct sim_response *resp)
{
    if (strcmp(req->method, "POST") == 0) {
        char errbuf[256];
        struct sim_fault f;
        /* Tests write the spec with echo/curl -d, so tolerate surrounding whitespace. */
        const char *b = req->body;
        size_t n = req->body_len;
        while (n > 0 && (*b == ' ' || *b == '\n' || *b == '\r' || *b == '\t')) {
            b++;
            n--;
        }
        while (n > 0 &&
               (b[n - 1] == ' ' || b[n - 1] == '\n' || b[n - 1] == '\r' || b[n - 1] == '\t'))
            n--;
        char *spec = xstrndup(b, n);
        if (sim_fault_parse(spec, &f, errbuf, sizeof(errbuf)) != 0) {
            sim_resp_set(resp, 400, plain_json("error", errbuf));
        } else {
            pthread_mutex_lock(&srv->fault_lock);
            srv->cfg->faults =
                xrealloc(srv->cfg->faults, (srv->cfg->nfaults + 1) * sizeof(*srv->cfg->faults));
            srv->cfg->faults[srv->cfg->nfaults++] = f;
            pthread_mutex_unlock(&srv->fault_lock);
            sim_resp_set(resp, 200, plain_json("added", spec));
        }
        free(spec);
    } else if (strcmp(req->method, "DELETE") == 0) {
        pthread_mutex_lock(&srv->fault_lock);
        sim_config_free(srv->cfg);
        pthread_mutex_unlock(&srv->fault_lock);
        sim_resp_set(resp, 200, plain_json("cleared", "all"));
    } else if (strcmp(req->method, "GET") == 0) {
        json_t *arr = json_array();
        pthread_mutex_lock(&srv->fault_lock);
        for (size_t i = 0; i < srv->cfg->nfaults; i++)
            json_array_append_new(arr, json_pack("{sssI}", "spec", srv->cfg->faults[i].spec, "seen",
                                                 (json_int_t)srv->cfg->faults[i].seen));
        pthread_mutex_unlock(&srv->fault_lock);
        json_t *o = json_pack("{so}", "faults", arr);
        sim_resp_set(resp, 200, json_dumps(o, JSON_COMPACT));
        json_decref(o);
    } else {
        sim_resp_set(resp, 405, plain_json("error", "method not allowed"));
    }
}

/* ------------------------------------------------------------------------------------------ */
/* MHD callbacks                                                                              */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct sim_conn_req *cr = xcalloc(1, sizeof(*cr));
    cr->uri = xstrdup(uri != NULL ? uri : "");
    cr->ts = bk_now_ms();
    bk_buf_init(&cr->body, SIM_BODY_MAX);
    return cr;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct sim_conn_req *cr = *con_cls;
    if (cr == NULL)
        return;
    free(cr->uri);
    bk_buf_free(&cr->body);
    free(cr);
    *con_cls = NULL;
}

static void format_peer(struct MHD_Connection *conn, char *out, size_t outsz)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;

    snprintf(out, outsz, "?");
    if (ci == NULL || ci->client_addr == NULL)
        return;
    if (ci->client_addr->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)ci->client_addr;
        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
        port = ntohs(sin->sin_port);
        snprintf(out, outsz, "%s:%u", host, port);
    } else if (ci->client_addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 =
            (const struct sockaddr_in6 *)(const void *)ci->client_addr;
        inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
        port = ntohs(sin6->sin6_port);
        snprintf(out, outsz, "[%s]:%u", host, port);
    }
}

/* MHD reports a deliberate "drop" fault as an internal error; everything else it says goes to
 * stderr as usual. */
__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (strncmp(msg, "Application reported internal error", 35) == 0)
        return;
    fprintf(stderr, "sim: %s%s", msg, msg[0] != '\0' && msg[strlen(msg) - 1] == '\n' ? "" : "\n");
}

static enum MHD_Result send_response(struct MHD_Connection *conn, struct sim_response *resp)
{
    const char *body = resp->body != NULL ? resp->body : "";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc;

    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            resp->content_type != NULL ? resp->content_type : "application/json");
    for (size_t i = 0; i < SIM_MAX_HEADERS; i++)
        if (resp->hdr_name[i] != NULL)
            MHD_add_response_header(r, resp->hdr_name[i], resp->hdr_value[i]);
    rc = MHD_queue_response(conn, resp->status, r);
    MHD_destroy_response(r);
    return rc;
}

/* Applies a fired fault to the response. Returns false when the connection must be dropped. */
static bool apply_fault(struct sim_server *srv, const struct sim_fault *f,
                        const struct sim_request *req, struct sim_response *resp)
{
    const char *path = req->path;
    char msg[64];

    switch (f->kind) {
    case SIM_FAULT_STATUS:
        snprintf(msg, sizeof(msg), "Injected fault: HTTP %u", f->status);
        sim_resp_set(resp, f->status, srv->app->error_body(srv->app->ctx, path, f->status, msg));
        if (f->status == 429) {
            char ra[32];
            snprintf(ra, sizeof(ra), "%" PRId64, f->retry_after);
            sim_resp_header(resp, "Retry-After", ra);
        }
        return true;
    case SIM_FAULT_DROP:
        return false;
    case SIM_FAULT_MALFORMED:
        /* Looks like the start of a real reply, so a client that sniffs the first byte is
         * still caught out. */
        if (srv->app->malformed_body != NULL)
            sim_resp_set(resp, 200, srv->app->malformed_body(srv->app->ctx, path));
        else
            sim_resp_set(resp, 200,
                         xstrdup("{\"entities\": [ {\"uuid\": <<garbage>> \x01 not json ]"));
        return true;
    case SIM_FAULT_TRUNCATED: {
        if (resp->body != NULL)
            resp->body[strlen(resp->body) / 2] = '\0';
        resp->status = 200;
        return true;
    }
    case SIM_FAULT_SLOW:
        sim_sleep_ms(f->ms);
        return true;
    case SIM_FAULT_APP:
        if (srv->app->fault != NULL)
            srv->app->fault(srv->app->ctx, req, f->app_kind, resp);
        else
            sim_resp_set(resp, 500, srv->app->error_body(srv->app->ctx, path, 500, f->app_kind));
        return true;
    }
    return true;
}

static enum MHD_Result serve(struct sim_server *srv, struct MHD_Connection *conn, const char *url,
                             const char *method, struct sim_conn_req *cr)
{
    struct sim_response resp = {0};
    struct sim_request req;
    struct sim_fault fault = {0};
    bool fired = false, keep = true;
    char peer[80], fname[16];
    const char *q = strchr(cr->uri, '?');
    enum MHD_Result rc;

    format_peer(conn, peer, sizeof(peer));
    req.conn = conn;
    req.method = method;
    req.path = url;
    req.query = q != NULL ? q + 1 : "";
    req.body = cr->body.data != NULL ? cr->body.data : "";
    req.body_len = cr->body.len;
    req.peer = peer;

    if (strcmp(url, "/__sim/fault") == 0) {
        serve_fault_admin(srv, &req, &resp);
        goto send;
    }
    if (strncmp(url, "/__sim/", 7) == 0) {
        srv->app->handle(srv->app->ctx, &req, &resp);
        goto send;
    }
    if (cr->too_big) {
        sim_resp_set(&resp, 413,
                     srv->app->error_body(srv->app->ctx, url, 413, "Request body too large"));
        log_request(srv, &req, cr->ts, resp.status, NULL);
        goto send;
    }

    fired = fault_pick(srv, &req, &fault);
    /* Faults that replace the answer skip the handler unless handled=1 asks for its state change.
     */
    if (!fired || fault.handled ||
        (fault.kind != SIM_FAULT_STATUS && fault.kind != SIM_FAULT_DROP &&
         fault.kind != SIM_FAULT_APP))
        srv->app->handle(srv->app->ctx, &req, &resp);
    if (fired)
        keep = apply_fault(srv, &fault, &req, &resp);
    log_request(srv, &req, cr->ts, keep ? resp.status : 0,
                fired ? fault_name(&fault, fname, sizeof(fname)) : NULL);
    sim_sleep_ms(srv->cfg->latency_ms);
    if (!keep) {
        resp_free(&resp);
        return MHD_NO;
    }
send:
    if (resp.status == 0)
        resp.status = 500;
    rc = send_response(conn, &resp);
    resp_free(&resp);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct sim_server *srv = cls;
    struct sim_conn_req *cr = *con_cls;

    if (cr == NULL) /* MHD always calls on_uri first; this is belt and braces */
        *con_cls = cr = on_uri(NULL, url, conn);
    if (!cr->started) {
        cr->started = true;
        /* Refuse an announced oversized body before reading it, so a client that waits for
         * "100 Continue" gets its answer at once. */
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        int64_t len;
        if (cl != NULL && str_to_i64(cl, &len) == 0 && len > (int64_t)SIM_BODY_MAX) {
            cr->too_big = true;
            return serve(srv, conn, url, method, cr);
        }
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        if (!cr->too_big && bk_buf_append(&cr->body, upload_data, *upload_data_size) != 0)
            cr->too_big = true;
        *upload_data_size = 0;
        return MHD_YES;
    }
    return serve(srv, conn, url, method, cr);
}

/* ------------------------------------------------------------------------------------------ */
/* run                                                                                        */

static char *read_pem(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct bk_buf b;
    char chunk[4096];
    size_t n;

    if (f == NULL) {
        fprintf(stderr, "sim: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    bk_buf_init(&b, SIM_BODY_MAX);
    bk_buf_appends(&b, "");
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (bk_buf_append(&b, chunk, n) != 0) {
            fprintf(stderr, "sim: %s: file too large\n", path);
            fclose(f);
            bk_buf_free(&b);
            return NULL;
        }
    }
    fclose(f);
    return bk_buf_steal(&b);
}

int sim_run(struct sim_config *cfg, const struct sim_app *app)
{
    struct sim_server srv = {.app = app, .cfg = cfg};
    struct MHD_OptionItem opts[10];
    struct sockaddr_in sa;
    struct MHD_Daemon *d = NULL;
    char *cert = NULL, *key = NULL;
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
    size_t no = 0;
    sigset_t set;
    int sig, rc = -1;

    pthread_mutex_init(&srv.fault_lock, NULL);
    pthread_mutex_init(&srv.log_lock, NULL);

    /* Block before MHD creates threads so they inherit the mask and only sigwait() sees them. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN); /* a client hanging up mid-TLS-write must not kill the sim */

    if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL)) {
        fprintf(stderr, "sim: --tls-cert and --tls-key go together\n");
        goto out;
    }
    if (cfg->tls_cert != NULL) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            fprintf(stderr, "sim: this libmicrohttpd has no TLS support\n");
            goto out;
        }
        if ((cert = read_pem(cfg->tls_cert)) == NULL || (key = read_pem(cfg->tls_key)) == NULL)
            goto out;
        flags |= MHD_USE_TLS;
    }
    if (cfg->request_log != NULL) {
        srv.log = fopen(cfg->request_log, "a");
        if (srv.log == NULL) {
            fprintf(stderr, "sim: cannot open request log %s: %s\n", cfg->request_log,
                    strerror(errno));
            goto out;
        }
    }

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)cfg->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* The logger must come first or MHD uses its default one for earlier options. */
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_log, &srv};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &sa};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, &srv};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, &srv};
    if (cert != NULL) {
        opts[no++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, cert};
        opts[no++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, key};
    }
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

    d = MHD_start_daemon(flags, (uint16_t)cfg->port, NULL, NULL, on_request, &srv, MHD_OPTION_ARRAY,
                         opts, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "sim: cannot listen on 127.0.0.1:%d\n", cfg->port);
        goto out;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("listening on 127.0.0.1:%u\n", di != NULL ? (unsigned)di->port : 0u);
    fflush(stdout);

    for (;;) {
        if (sigwait(&set, &sig) == 0 && (sig == SIGINT || sig == SIGTERM))
            break;
    }
    g_stopping = 1;
    MHD_stop_daemon(d);
    rc = 0;
out:
    if (srv.log != NULL)
        fclose(srv.log);
    free(cert);
    free(key);
    pthread_mutex_destroy(&srv.fault_lock);
    pthread_mutex_destroy(&srv.log_lock);
    return rc;
}
