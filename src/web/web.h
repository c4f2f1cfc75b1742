/* The HTTP server of `backupctl serve`: JSON API under /api/v1, /metrics, /healthz, /readyz
 * (and, later, the web UI's static assets). It reads and writes the store and authenticates
 * through auth/, and never links vendor credentials or providers: what needs the daemon
 * ("poll this source now", pause/resume, process counters) goes through struct web_hooks. */
#ifndef BK_WEB_WEB_H
#define BK_WEB_WEB_H

#include "config/config.h"
#include "util/buf.h"

#include <stdbool.h>

struct bk_err;
struct web;

struct web_hooks {
    void *ud;
    /* Queue an immediate poll of a configured source. -BK_ENOTFOUND for an unknown source. */
    int (*poll_now)(void *ud, const char *source, const char *who, struct bk_err *err);
    /* Pause or resume a source's schedule. */
    int (*set_paused)(void *ud, const char *source, bool paused, const char *who,
                      struct bk_err *err);
    /* Append the daemon's own metrics (process counters) in Prometheus text format. */
    void (*metrics)(void *ud, struct bk_buf *out);
    /* /readyz: the daemon has opened the store and started its scheduler. */
    bool (*ready)(void *ud);
    /* Runs changed outside a poll (a ping, a review, an override, a remark): the alert
     * rules should look again soon. Called from request threads; must not block. */
    void (*changed)(void *ud);
};
/* Tell the daemon (hooks.changed) that a request changed runs. */
struct web_req;
void web_changed(struct web_req *rq);

struct web_opts {
    const char *listen;   /* "127.0.0.1:8080" */
    const char *tls_cert; /* PEM files, both or neither */
    const char *tls_key;
    /* The key's PEM text, read by the caller through the secret-file rule (refused when
     * group/other can read it); copied and wiped by the server. Required with tls_key. */
    const char *tls_key_pem;
    unsigned threads;        /* MHD thread pool size, default 4 */
    unsigned max_conns;      /* default 1024 (the file limit is raised to fit) */
    unsigned max_conns_ip;   /* per client address, default 64 */
    size_t max_body;         /* default 64 KiB → 413 */
    unsigned idle_timeout;   /* seconds, default 30 */
    unsigned header_timeout; /* seconds to send a complete request header, default 10 */
    int64_t session_ttl_ms;  /* default 12 h */
    /* /metrics without credentials. Off by default: metrics name customers and systems, so a
     * scraper sends `Authorization: Bearer TOKEN` (any role). */
    bool metrics_public;
};

/* Start serving (returns once listening). cfg and hooks are borrowed for the server's life.
 * *port_out gets the bound port (useful with port 0). */
int web_start(const struct bk_config *cfg, const struct web_opts *o, const struct web_hooks *h,
              struct web **out, unsigned *port_out, struct bk_err *err);
/* Tell the server that the store changed behind its back (a poll was applied), so list
 * totals it keeps for up to a second are recounted. Thread-safe; NULL-safe. */
void web_data_changed(struct web *w);
/* Tell the server that the planner statistics were refreshed (store_analyze): a SQLite
 * connection reads them only when it opens, so the pooled handles are replaced as they come
 * back. Thread-safe; NULL-safe. */
void web_store_stats_changed(struct web *w);
/* Stop accepting, finish in-flight requests, free. NULL-safe. */
void web_stop(struct web *w);

#endif
