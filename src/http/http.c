/* libcurl wrapper. One easy handle is reused so libcurl keeps the connection alive across
 * the trigger and every status poll; options are reset per request because a reused handle
 * remembers the previous method and body. */
#include "http/http.h"

#include "util/err.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct http_client {
    CURL *curl;
    struct http_opts o;
    char *ca_file;
    char *auth_header; /* "Authorization: …" */
    char errbuf[CURL_ERROR_SIZE];
    long connections;
    unsigned seed;
};

struct write_ctx {
    struct bk_buf *buf;
    bool too_big;
};

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct write_ctx *w = ud;
    size_t n = size * nmemb;
    if (bk_buf_append(w->buf, ptr, n) < 0) {
        w->too_big = true;
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    }
    return n;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    struct http_client *c = ud;
    return c->o.stop && *c->o.stop ? 1 : 0;
}

struct http_client *http_client_new(const struct http_opts *opts)
{
    struct http_client *c = xcalloc(1, sizeof *c);
    if (opts)
        c->o = *opts;
    if (!c->o.connect_timeout_ms)
        c->o.connect_timeout_ms = 10000;
    if (!c->o.timeout_ms)
        c->o.timeout_ms = 60000;
    if (!c->o.max_body)
        c->o.max_body = 16u << 20;
    if (c->o.retries < 0)
        c->o.retries = 0;
    if (!c->o.backoff_ms)
        c->o.backoff_ms = 500;
    if (!c->o.backoff_max_ms)
        c->o.backoff_max_ms = 10000;
    if (c->o.ca_file) {
        c->ca_file = xstrdup(c->o.ca_file);
        c->o.ca_file = c->ca_file;
    }
    c->seed = (unsigned)bk_now_ms() ^ ((unsigned)getpid() << 16);
    c->curl = curl_easy_init();
    if (!c->curl) {
        free(c->ca_file);
        free(c);
        return NULL;
    }
    return c;
}

void http_client_free(struct http_client *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->curl);
    free(c->ca_file);
    free(c->auth_header);
    free(c);
}

void http_client_set_auth(struct http_client *c, const char *value)
{
    free(c->auth_header);
    c->auth_header = NULL;
    if (value) {
        log_add_secret(value);
        const char *sp = strchr(value, ' ');
        if (sp)
            log_add_secret(sp + 1);
        c->auth_header = xasprintf("Authorization: %s", value);
    }
}

long http_client_connections(const struct http_client *c)
{
    return c->connections;
}

void http_resp_free(struct http_resp *r)
{
    if (r)
        bk_buf_free(&r->body);
}

static bool retryable_status(long s)
{
    return s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504;
}

bool http_should_retry(enum http_retry p, int rc, long status)
{
    if (p == HTTP_RETRY_NONE || rc == 0)
        return false;
    int code = rc < 0 ? -rc : rc;
    if (p == HTTP_RETRY_UNSENT)
        return code == BK_ECONNECT; /* refused/unreachable: nothing was sent */
    switch (code) {
    case BK_ECONNECT:
    case BK_ETIMEOUT:
    case BK_EIO: /* connection dropped mid-reply */
        return true;
    case BK_EHTTP:
        return retryable_status(status);
    default:
        return false;
    }
}

long http_backoff_ms(const struct http_opts *o, int attempt, long retry_after_s, unsigned *seed)
{
    if (retry_after_s > 0)
        return retry_after_s > 120 ? 120000 : retry_after_s * 1000;
    long d = o->backoff_ms;
    for (int i = 1; i < attempt && d < o->backoff_max_ms; i++)
        d *= 2;
    if (d > o->backoff_max_ms)
        d = o->backoff_max_ms;
    /* xorshift: good enough to spread retries of many clients; not a secret. */
    unsigned x = *seed ? *seed : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *seed = x;
    long half = d / 2;
    return half + (half > 0 ? (long)(x % (unsigned)(half + 1)) : 0);
}

static int classify_curl(CURLcode cc, bool too_big)
{
    switch (cc) {
    case CURLE_OK:
        return 0;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return BK_EDNS;
    case CURLE_COULDNT_CONNECT:
        return BK_ECONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return BK_ETIMEOUT;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        return BK_ETLS;
    case CURLE_ABORTED_BY_CALLBACK:
        return BK_EINTR;
    case CURLE_WRITE_ERROR:
        return too_big ? BK_ETOOBIG : BK_EIO;
    case CURLE_FILESIZE_EXCEEDED:
        return BK_ETOOBIG;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return BK_EINVAL;
    default:
        return BK_EIO; /* GOT_NOTHING, RECV_ERROR, SEND_ERROR, PARTIAL_FILE … */
    }
}

static int attempt_once(struct http_client *c, const struct http_req *req, struct http_resp *resp,
                        long *retry_after, struct bk_err *err)
{
    CURL *h = c->curl;
    struct curl_slist *hdrs = NULL;
    struct write_ctx w = {.buf = &resp->body, .too_big = false};
    bk_buf_reset(&resp->body);
    resp->status = 0;
    resp->transport = 0;
    *retry_after = 0;
    /* Messages and log lines name the URL without its user-info and query string: errors
     * end up in the store, the API and on terminals. */
    char url[400];
    snprintf(url, sizeof url, "%s", req->url);
    log_redact(url);

    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->o.connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->o.timeout_ms);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->o.max_body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &w);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "backupctl/" BK_VERSION);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->o.insecure ? 0L : 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->o.insecure ? 0L : 2L);
    if (c->o.ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->o.ca_file);
    c->errbuf[0] = '\0';

    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    if (c->auth_header)
        hdrs = curl_slist_append(hdrs, c->auth_header);
    if (req->headers)
        for (const char *const *p = req->headers; *p; p++)
            hdrs = curl_slist_append(hdrs, *p);
    if (req->body) {
        char *ct = xasprintf("Content-Type: %s",
                             req->content_type ? req->content_type : "application/json");
        hdrs = curl_slist_append(hdrs, ct);
        free(ct);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);

    const char *m = req->method ? req->method : "GET";
    if (req->body) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, strcmp(m, "POST") ? m : NULL);
    } else if (strcmp(m, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
        if (strcmp(m, "POST") == 0) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
        }
    }

    int64_t t0 = bk_mono_ms();
    CURLcode cc = curl_easy_perform(h);
    curl_slist_free_all(hdrs);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);

    long nconn = 0;
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &nconn);
    c->connections += nconn;

    int code = classify_curl(cc, w.too_big);
    if (code) {
        resp->transport = code;
        const char *detail = c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc);
        log_debug("HTTP %s %s failed after %lld ms: %s", m, url, (long long)(bk_mono_ms() - t0),
                  detail);
        switch (code) {
        case BK_EDNS:
            return bk_err_set(err, code, "%s %s: host name does not resolve (%s)", m, url, detail);
        case BK_ETLS:
            return bk_err_set(err, code,
                              "%s %s: TLS certificate not trusted or handshake failed (%s); "
                              "use --ca-file FILE, or --insecure for a self-signed controller",
                              m, url, detail);
        case BK_ETOOBIG:
            return bk_err_set(err, code, "%s %s: response larger than %zu bytes", m, url,
                              c->o.max_body);
        case BK_EINTR:
            return bk_err_set(err, code, "%s %s: interrupted", m, url);
        default:
            return bk_err_set(err, code, "%s %s: %s", m, url, detail);
        }
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    curl_off_t ra = 0;
    if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
        *retry_after = (long)ra;
    log_debug("HTTP %s %s -> %ld (%lld ms, %zu bytes)", m, url, resp->status,
              (long long)(bk_mono_ms() - t0), resp->body.len);
    if (resp->status >= 200 && resp->status < 300)
        return 0;
    if (resp->status == 401 || resp->status == 403) {
        struct bk_err e2 = {0};
        bk_err_set(&e2, BK_EAUTH, "%s %s: HTTP %ld: credentials rejected", m, url, resp->status);
        e2.http = resp->status;
        if (err)
            *err = e2;
        return -BK_EAUTH;
    }
    bk_err_set(err, BK_EHTTP, "%s %s: HTTP %ld", m, url, resp->status);
    if (err)
        err->http = resp->status;
    return -BK_EHTTP;
}

int http_request(struct http_client *c, const struct http_req *req, struct http_resp *resp,
                 struct bk_err *err)
{
    bk_buf_init(&resp->body, c->o.max_body);
    resp->attempts = 0;
    resp->status = 0;
    resp->transport = 0;
    resp->retry_after_s = 0;
    int rc;
    for (;;) {
        long retry_after = 0;
        resp->attempts++;
        rc = attempt_once(c, req, resp, &retry_after, err);
        resp->retry_after_s = retry_after;
        if (rc == 0 || resp->attempts > c->o.retries ||
            !http_should_retry(req->retry, rc, resp->status))
            break;
        long wait = http_backoff_ms(&c->o, resp->attempts, retry_after, &c->seed);
        log_warn("%s; retrying in %.1f s (attempt %d of %d)", err ? err->msg : "request failed",
                 (double)wait / 1000.0, resp->attempts + 1, c->o.retries + 1);
        if (bk_sleep_ms(wait, c->o.stop) < 0) {
            char url[400];
            snprintf(url, sizeof url, "%s", req->url);
            log_redact(url);
            rc = bk_err_set(err, BK_EINTR, "%s %s: interrupted", req->method, url);
            break;
        }
    }
    return rc;
}
