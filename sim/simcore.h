/* simcore: the vendor-neutral half of the local API simulators (hycu-sim, cove-sim).
 *
 * It owns everything a test harness needs from "a fake server" that is not vendor logic:
 * binding 127.0.0.1 (port 0 = pick a free one, announced as the first stdout line), optional
 * TLS, request bodies with a size cap, the JSON-lines request log with secrets masked, the
 * fault-injection engine (CLI and /__sim/fault at run time), latency, and a clean stop on
 * SIGINT/SIGTERM. A simulator supplies one request handler and one error-body builder. */
#ifndef BK_SIM_SIMCORE_H
#define BK_SIM_SIMCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_BODY_MAX ((size_t)1 << 20) /* request bodies above this get 413 */
#define SIM_MAX_HEADERS 4              /* extra response headers a handler may set */

struct MHD_Connection;

/* One request as the handler sees it. Everything is borrowed for the duration of the call. */
struct sim_request {
    struct MHD_Connection *conn;
    const char *method;
    const char *path;  /* without the query string */
    const char *query; /* raw query string, "" when none */
    const char *body;  /* NUL-terminated, "" when none */
    size_t body_len;
    const char *peer; /* "127.0.0.1:54321" */
};

/* What the handler fills. body is owned (xmalloc'ed; the core frees it); headers are copied. */
struct sim_response {
    unsigned status;
    char *body;
    const char *content_type; /* static string; NULL = application/json */
    char *hdr_name[SIM_MAX_HEADERS];
    char *hdr_value[SIM_MAX_HEADERS];
};

/* The vendor half. handle() must set resp->status and resp->body; it runs on connection
 * threads concurrently, so it does its own locking. error_body() builds the vendor's error
 * document for injected faults and core-level errors (413, bad /__sim requests); it returns an
 * xmalloc'ed string. Requests under /__sim/ other than /__sim/fault reach handle() too, but
 * bypass faults, latency and the request log (test plumbing must not perturb what it measures). */
struct sim_app {
    void *ctx;
    void (*handle)(void *ctx, const struct sim_request *req, struct sim_response *resp);
    char *(*error_body)(void *ctx, const char *path, unsigned status, const char *message);
    /* Optional (NULL in simulators that predate them). fault() answers a fired fault of a kind
     * the simulator registered with sim_fault_kinds_register(): it fills resp (replacing any
     * body the handler left with handled=1) and runs under no simcore lock. malformed_body()
     * returns the xmalloc'ed garbage for a "malformed" fault, so it can look like the start of
     * that vendor's real reply; NULL keeps the generic one. */
    void (*fault)(void *ctx, const struct sim_request *req, const char *kind,
                  struct sim_response *resp);
    char *(*malformed_body)(void *ctx, const char *path);
};

enum sim_fault_kind {
    SIM_FAULT_STATUS, /* 500 502 503 504 408 429 401 403 */
    SIM_FAULT_DROP,
    SIM_FAULT_MALFORMED,
    SIM_FAULT_TRUNCATED,
    SIM_FAULT_SLOW,
    SIM_FAULT_APP, /* a kind registered by the simulator; sim_app.fault answers it */
};

struct sim_fault {
    enum sim_fault_kind kind;
    unsigned status;     /* SIM_FAULT_STATUS only */
    int64_t count;       /* 0 = forever */
    int64_t after;       /* matching requests to let through first */
    char *path;          /* prefix; NULL = any */
    char *method;        /* NULL = any */
    int64_t retry_after; /* seconds, 429 only */
    int64_t ms;          /* slow only */
    bool handled;        /* run the handler (state changes happen) before faulting */
    int64_t seen;        /* matching requests so far */
    char *spec;          /* as given, for GET /__sim/fault */
    /* SIM_FAULT_APP: the registered kind name (static storage). */
    const char *app_kind;
    /* Only bodies whose top-level JSON "method" equals this (JSON-RPC); NULL = any. */
    char *rpc;
};

/* Server configuration filled from the shared command-line options. */
struct sim_config {
    int port;
    const char *tls_cert;
    const char *tls_key;
    const char *request_log;
    int64_t latency_ms;
    struct sim_fault *faults; /* owned */
    size_t nfaults;
};

/* Zero the config (port 0, no faults). */
void sim_config_init(struct sim_config *cfg);
/* Frees what sim_config_option allocated. NULL-safe. */
void sim_config_free(struct sim_config *cfg);
/* Consumes one shared option (name including "--", val its argument). Returns 1 when the option
 * is a shared one and was applied, 0 when it is not a shared option, -1 on a bad value (errbuf
 * gets a one-line reason). Every shared option takes a value. */
int sim_config_option(struct sim_config *cfg, const char *name, const char *val, char *errbuf,
                      size_t errsz);
/* True when name is a shared option that takes a value. */
bool sim_config_is_option(const char *name);
/* The usage lines for the shared options. */
const char *sim_config_usage(void);

/* Registers extra fault KIND names (NULL-terminated, static storage) that sim_fault_parse then
 * accepts as SIM_FAULT_APP. Call once from main before parsing options or starting the server. */
void sim_fault_kinds_register(const char *const *kinds);

/* Parses "KIND[,count=N][,after=N][,path=P][,method=M][,rpc=M][,retry_after=S][,ms=N]
 * [,handled=1]" into *f (caller frees with sim_fault_clear). 0, or -1 with errbuf set. */
int sim_fault_parse(const char *spec, struct sim_fault *f, char *errbuf, size_t errsz);
void sim_fault_clear(struct sim_fault *f);

/* Runs the server until SIGINT/SIGTERM: binds, prints "listening on 127.0.0.1:PORT" to stdout,
 * serves, then stops cleanly. Takes ownership of cfg->faults. Returns 0 on a clean stop, -1 on
 * a start-up failure (message already on stderr). Must be called from the main thread before
 * any other thread exists, because it blocks SIGINT/SIGTERM for the whole process. */
int sim_run(struct sim_config *cfg, const struct sim_app *app);

/* Query argument (percent-decoded by MHD), or NULL. */
const char *sim_req_arg(const struct sim_request *req, const char *name);
/* Request header (case-insensitive), or NULL. */
const char *sim_req_header(const struct sim_request *req, const char *name);
/* Sleeps up to ms, returning early when the server is stopping. */
void sim_sleep_ms(int64_t ms);
/* Adds a response header (copied). Silently ignored past SIM_MAX_HEADERS. */
void sim_resp_header(struct sim_response *resp, const char *name, const char *value);
/* Sets status and takes ownership of body. */
void sim_resp_set(struct sim_response *resp, unsigned status, char *body);

#endif
