/* Internals shared by the files of the web layer: the server object, one request as handlers
 * see it, the route table and the response helpers. Not for use outside src/web and its
 * tests. */
#ifndef BK_WEB_WEB_INTERNAL_H
#define BK_WEB_WEB_INTERNAL_H

#include "auth/auth.h"
#include "store/runs.h"
#include "store/store.h"
#include "util/err.h"
#include "web/params.h"
#include "web/ratelimit.h"
#include "web/web.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define WEB_MAX_CAPS 2
#define WEB_POOL_MAX 32 /* idle store handles kept */
#define WEB_COOKIE "bk_session"
#define WEB_COUNT_SLOTS 64
#define WEB_COUNT_TTL_MS 1000

/* A list's total (COUNT(*) visits every matching row) kept for a moment: a repeated page
 * request costs one short query instead of two. Entries die after WEB_COUNT_TTL_MS, and at
 * once when this process changes data (generation bump on every successful change, or
 * web_data_changed() after a poll). */
struct web_count_slot {
    char *key; /* SQL + parameters */
    int64_t total;
    struct store_run_segments segs; /* for a key of web_segs_put (owned) */
    int64_t at_mono_ms;
    uint_fast64_t gen;
};

struct MHD_Daemon;
struct MHD_Connection;

/* One open connection, from MHD's "started" notification to its "closed" one: the reaper
 * thread closes it when no complete request header arrived by the deadline (slowloris). */
struct web_conn {
    struct web_conn *prev, *next;
    int fd;
    int64_t header_deadline; /* monotonic ms; 0 while a request is being handled */
};

struct web {
    const struct bk_config *cfg; /* borrowed */
    struct web_opts opts;        /* copied; strings borrowed */
    struct web_hooks hooks;      /* copied; NULL members allowed */
    struct MHD_Daemon *mhd;
    bool tls;
    bool loopback; /* listening on a loopback address only */
    unsigned port; /* the port bound (listen may say 0) */
    char *tls_cert_pem, *tls_key_pem;
    pthread_mutex_t pool_lock;
    struct bk_store *pool[WEB_POOL_MAX];
    uint_fast64_t pool_epoch[WEB_POOL_MAX]; /* the stats epoch each pooled handle opened in */
    size_t npool;
    atomic_uint_fast64_t stats_epoch;    /* bumped by web_store_stats_changed */
    struct web_ratelimit *login_user_rl; /* failures per user name */
    struct web_ratelimit *login_ip_rl;   /* failures per client address */
    struct web_ratelimit *ping_uuid_rl;  /* push check-ins per ping uuid */
    struct web_ratelimit *ping_ip_rl;    /* push check-ins per client address */
    atomic_uint_fast64_t requests[6];    /* by status class: [1]=1xx … [5]=5xx, [0] other */
    atomic_uint_fast64_t login_failures;
    atomic_uint_fast64_t data_gen; /* bumped whenever data may have changed */
    pthread_mutex_t count_lock;
    struct web_count_slot counts[WEB_COUNT_SLOTS];
    /* connections and their header deadlines (conn_lock) */
    pthread_mutex_t conn_lock;
    pthread_cond_t conn_cond;
    struct web_conn *conns;
    bool reaper_started, reaper_stop;
    pthread_t reaper;
    atomic_uint_fast64_t header_timeouts; /* connections closed for a late request header */
};

struct web_req;
typedef void (*web_handler)(struct web_req *rq);

enum web_route_flag {
    WR_PUBLIC = 1u << 0,        /* no authentication */
    WR_BODY = 1u << 1,          /* a JSON object body is required */
    WR_METRICS = 1u << 2,       /* public when opts.metrics_public */
    WR_AUTH_OPTIONAL = 1u << 3, /* GET only: the handler runs anonymous (rq->authed false)
                                 * when there are no valid credentials, instead of a 401 */
    WR_RAW = 1u << 4,           /* any body, kept as bytes (push check-ins) */
};

struct web_route {
    const char *method;  /* GET, POST, DELETE */
    const char *pattern; /* "/api/v1/jobs/{id}": {id} is a positive integer, {name} a segment */
    web_handler fn;
    enum bk_role min_role;
    unsigned flags;
};

extern const struct web_route web_routes[];
extern const size_t web_nroutes;

/* Match path against pattern; captures (borrowed pointers into path + lengths) for each
 * {…} segment. Pure. */
bool web_route_match(const char *pattern, const char *path, const char **cap, size_t *caplen,
                     size_t maxcaps);
/* The route for method+path, or NULL; *path_known true when another method matches the path
 * (405). HEAD finds GET routes. */
const struct web_route *web_route_find(const char *method, const char *path, const char **cap,
                                       size_t *caplen, bool *path_known);
/* "GET, POST" for the Allow header of a 405. */
void web_route_allow(const char *path, char *out, size_t outsz);

/* The OpenAPI 3.0 document served at /api/v1/openapi.json (static string). */
const char *web_openapi_json(void);

struct web_req {
    struct web *w;
    struct MHD_Connection *conn;
    const struct web_route *route;
    const char *method; /* as sent (HEAD stays HEAD) */
    const char *path;
    char *cap[WEB_MAX_CAPS]; /* owned copies of the {…} segments */
    int64_t id;              /* the {id} segment, when the pattern has one */
    struct web_params q;
    json_t *body; /* WR_BODY routes: the parsed object */
    struct bk_store *st;
    uint_fast64_t st_epoch; /* the stats epoch st opened in */
    struct auth_identity who;
    bool authed;
    char peer[64];      /* client IP, for rate limiting */
    char log_path[128]; /* the path as logs show it: a ping uuid cut to its first 8 chars */
    const char *raw;    /* WR_RAW routes: the body (not NUL-terminated), borrowed */
    size_t rawlen;
    /* response */
    unsigned status;
    json_t *json;
    char *text; /* a body written as text (lists, metrics, openapi); owned */
    bool text_is_json;
    const char *ctype;
    char disposition[96]; /* Content-Disposition when set ("attachment; filename=…") */
    char *set_cookie;
    char retry_after[24];
    char allow[64];
    char msg[256]; /* scratch for params_* messages */
};

/* Responses: each sets rq->status and the body (replacing any earlier one). */
void web_reply(struct web_req *rq, unsigned status, json_t *body); /* takes ownership */
__attribute__((format(printf, 4, 5))) void web_error(struct web_req *rq, unsigned status,
                                                     const char *code, const char *fmt, ...);
/* 400 with rq->msg (a params_* failure). */
void web_bad_request(struct web_req *rq);
/* 500 for a store failure; the detail goes to the log only. */
void web_internal(struct web_req *rq, const struct bk_err *err);

/* Audit row for a change made through the API (who = the caller). before/after may be NULL;
 * they are compact JSON of what changed and must hold no secrets. Logs on failure. */
int web_audit(struct web_req *rq, const char *action, const char *target, const json_t *before,
              const json_t *after);

/* The session cookie sent with the request, or NULL (borrowed). */
const char *web_cookie(struct web_req *rq);

/* The cached total for key, if fresh (true + *total). */
bool web_count_get(struct web *w, const char *key, int64_t *total);
/* Remember total for key as of generation gen (read before the query ran). */
void web_count_put(struct web *w, const char *key, int64_t total, uint_fast64_t gen);
/* The same for the segments of Run Checks grouped by customer (store/runs.h): get copies
 * into *out (free with store_run_segments_free), put copies segs. */
bool web_segs_get(struct web *w, const char *key, struct store_run_segments *out);
void web_segs_put(struct web *w, const char *key, const struct store_run_segments *segs,
                  uint_fast64_t gen);

/* JSON helpers: NULL → null, invalid UTF-8 repaired; epoch ms → ISO 8601 (0/NULL → null). */
json_t *web_jstr(const char *s);
json_t *web_jtime(int64_t ms);

/* Handlers (api.c, metrics.c, web.c). */
/* ping.c: push check-ins (issue 14) */
void api_ping(struct web_req *rq);
void api_push_job_create(struct web_req *rq);
void api_job_ping_url(struct web_req *rq);
/* api_inbox.c: report e-mails that wait for an operator (issue 14) */
void api_inbox(struct web_req *rq);
void api_inbox_raw(struct web_req *rq);
void api_inbox_assign(struct web_req *rq);
/* The path of url as a log line may show it (ping uuids cut short), into out. Pure. */
void web_log_path(const char *url, char *out, size_t n);
void api_healthz(struct web_req *rq);
void api_readyz(struct web_req *rq);
void api_openapi(struct web_req *rq);
void api_metrics(struct web_req *rq);
void api_session_create(struct web_req *rq);
void api_session_get(struct web_req *rq);
void api_session_delete(struct web_req *rq);
void api_customers(struct web_req *rq);
void api_sources(struct web_req *rq);
void api_source_poll(struct web_req *rq);
void api_alerts(struct web_req *rq);
void api_alert_retry(struct web_req *rq);
void api_source_pause(struct web_req *rq);
void api_source_resume(struct web_req *rq);
void api_jobs(struct web_req *rq);
void api_job_get(struct web_req *rq);
void api_job_schedule_put(struct web_req *rq);
void api_job_schedule_delete(struct web_req *rq);
void api_daily(struct web_req *rq);
void api_runs(struct web_req *rq);
void api_run_get(struct web_req *rq);
void api_run_review(struct web_req *rq);
void api_runs_review(struct web_req *rq);
void api_remarks(struct web_req *rq);
void api_remark_create(struct web_req *rq);
void api_remark_update(struct web_req *rq);
void api_remark_delete(struct web_req *rq);
void api_session_probe(struct web_req *rq);
void api_user_update(struct web_req *rq);
void api_overrides(struct web_req *rq);
void api_override_create(struct web_req *rq);
void api_overrides_delete(struct web_req *rq);
void api_override_update(struct web_req *rq);
void api_override_delete(struct web_req *rq);
void api_audit(struct web_req *rq);
void api_users(struct web_req *rq);
void api_user_create(struct web_req *rq);
void api_user_delete(struct web_req *rq);
void api_tokens(struct web_req *rq);
void api_token_create(struct web_req *rq);
void api_token_delete(struct web_req *rq);

#endif
