/* The provider interface (curl vtls shape): one const ops table per vendor plus one line in
 * registry.c. A provider polls a configured source and hands back vendor-neutral records a
 * page at a time; it never touches the store — the poller persists what it returns. */
#ifndef BK_PROVIDERS_PROVIDER_H
#define BK_PROVIDERS_PROVIDER_H

#include "config/config.h"
#include "core/model.h"
#include "http/http.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

struct provider_poll_args {
    const struct bk_source_cfg *src;
    const char *password; /* resolved secret or NULL (borrowed) */
    const char *token;    /* resolved secret or NULL (borrowed) */
    const char *state_in; /* cursor saved by the previous poll, or NULL */
    int64_t now_ms;
    volatile sig_atomic_t *stop;
    bk_batch_fn cb;
    void *ud;
};

struct provider_poll_result {
    int64_t devices, runs, pages;
    int64_t expected;           /* fleet size the vendor announced, -1 unknown */
    bool partial;               /* the listing disagreed with `expected`: apply, retire nothing */
    char *state_out;            /* cursor to save (caller frees), or NULL */
    double t_download, t_parse; /* seconds, when the provider measures them */
};

struct provider_ops {
    const char *name;
    enum bk_source_type type;
    /* Every batch carries each of its jobs whole: the job record with every run (and object)
     * the vendor reports for it. Then the poller may fingerprint a job and skip it when it is
     * unchanged (core/fpset.h); a provider that spreads a job's runs over batches (or sends
     * only new runs after a cursor) must leave this false. */
    bool whole_jobs;
    /* 0, or a negative BK_E* with err filled; -BK_EPARTIAL means "every page delivered but
     * the count disagrees" (res->partial is set). */
    int (*poll)(const struct provider_poll_args *a, struct provider_poll_result *res,
                struct bk_err *err);
};

const struct provider_ops *provider_find(enum bk_source_type t);

/* The HTTP options every provider polls with: the source's TLS settings, 4 retries of
 * transient read failures from 500 ms, and the poll's stop flag. */
struct http_opts provider_http_opts(const struct provider_poll_args *a);

#endif
