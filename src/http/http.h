/* HTTP client over one reused libcurl easy handle (keep-alive for a whole run), with bounded
 * response bodies, TLS verification on by default, and the retry policy of DESIGN §3:
 * reads retry transient failures with capped exponential backoff + jitter (honouring
 * Retry-After); a trigger is retried only when it surely never reached the server.
 * Not thread-safe: one client per thread. */
#ifndef BK_HTTP_HTTP_H
#define BK_HTTP_HTTP_H

#include "util/buf.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

struct bk_err;
struct http_client;

struct http_opts {
    long connect_timeout_ms;     /* default 10000 */
    long timeout_ms;             /* whole request; default 60000 */
    size_t max_body;             /* response cap; default 16 MiB */
    const char *ca_file;         /* borrowed; NULL = system store */
    bool insecure;               /* skip certificate verification */
    int retries;                 /* extra attempts for retryable failures; default 4 */
    long backoff_ms;             /* first backoff; doubles per attempt; default 500 */
    long backoff_max_ms;         /* cap; default 10000 */
    volatile sig_atomic_t *stop; /* when non-zero, transfers and backoffs abort (BK_EINTR) */
};

enum http_retry {
    HTTP_RETRY_NONE = 0, /* never retried */
    HTTP_RETRY_READ,     /* idempotent: connect errors, timeouts, drops, 408, 429, 5xx */
    HTTP_RETRY_UNSENT,   /* non-idempotent: only when the request surely never left */
};

struct http_req {
    const char *method; /* "GET", "POST", "DELETE" */
    const char *url;
    const char *body; /* NULL for none */
    size_t body_len;
    const char *content_type;   /* default application/json when body is set */
    const char *const *headers; /* extra "Name: value" lines, NULL-terminated; may be NULL */
    enum http_retry retry;
};

struct http_resp {
    long status;        /* last HTTP status, 0 if none */
    struct bk_buf body; /* NUL-terminated */
    int attempts;
    int transport;      /* BK_E* of the last transport failure, 0 if a response came */
    long retry_after_s; /* the last reply's Retry-After (seconds), 0 = none */
};

/* Defaults applied to zero fields. Caller frees with http_client_free(). */
struct http_client *http_client_new(const struct http_opts *opts);
void http_client_free(struct http_client *c);
/* Set the Authorization header value ("Bearer …"/"Basic …"); copied and registered as a
 * secret with the logger. NULL removes it. */
void http_client_set_auth(struct http_client *c, const char *value);
/* Number of new TCP connections opened so far (CURLINFO_NUM_CONNECTS summed). */
long http_client_connections(const struct http_client *c);

/* Perform req, retrying per req->retry. resp is initialised here; free with
 * http_resp_free() in every case. Returns 0 for a 2xx reply; -BK_EAUTH for 401/403;
 * -BK_EHTTP for other statuses (resp->status set); -BK_ECONNECT, -BK_EDNS, -BK_ETLS,
 * -BK_ETIMEOUT, -BK_ETOOBIG, -BK_EINTR for transport failures. */
int http_request(struct http_client *c, const struct http_req *req, struct http_resp *resp,
                 struct bk_err *err);
void http_resp_free(struct http_resp *r);

/* Whether a failed request (rc, resp) may be retried under policy p; exported for tests. */
bool http_should_retry(enum http_retry p, int rc, long status);
/* Backoff before retry number `attempt` (1-based): min(max, base*2^(attempt-1)), jittered
 * into [d/2, d]; a Retry-After (seconds, >0) wins, capped at 120 s. */
long http_backoff_ms(const struct http_opts *o, int attempt, long retry_after_s, unsigned *seed);

#endif
