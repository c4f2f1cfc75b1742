/* Cove Data Protection client: Login and the visa chain, then the whole device list of a
 * partner through EnumerateAccountStatistics, page by page, mapped onto the core records
 * (cove_parse.c). Never touches a store. Not thread-safe: one instance per thread. */
#ifndef BK_PROVIDERS_COVE_H
#define BK_PROVIDERS_COVE_H

#include "core/model.h"
#include "http/http.h"
#include "providers/cove_parse.h"

#include <stdbool.h>
#include <stdint.h>

struct bk_err;
struct cove;

struct cove_cfg {
    const char *url;      /* e.g. https://api.backup.management/jsonapi (borrowed) */
    const char *partner;  /* exact customer label, e.g. "Acme (admin@acme.example)"; may be
                             NULL/"" for legacy console users */
    const char *username; /* API user name */
    const char *password; /* the API token for API users; registered as a log secret */
    int page_size;        /* default 1000, at most 10000 */
    struct http_opts http;
};

/* Validate cfg and copy it. No request is made. 0 and *out set, or -BK_EINVAL (bad URL,
 * missing username/password, page size out of range) / -BK_EIO. Caller frees with
 * cove_close(). */
int cove_open(const struct cove_cfg *cfg, struct cove **out, struct bk_err *err);
/* Frees everything, the remembered visa included. NULL-safe. */
void cove_close(struct cove *c);
/* The underlying HTTP client (borrowed), e.g. for connection counts. */
struct http_client *cove_http(struct cove *c);

struct cove_poll_stats {
    int64_t devices;  /* jobs delivered */
    int64_t runs;     /* runs delivered */
    int64_t pages;    /* pages delivered */
    int64_t expected; /* COUNT(1) of the first page, -1 unknown */
    bool partial;     /* rows listed != expected, or expected unknown */
    int64_t relogins; /* logins after the first: visa older than 10 min, or error 1701 */
    int64_t skipped;  /* rows without AccountId (counted in the rows listed, not delivered) */
    double t_download, t_parse; /* seconds: HTTP round trips; JSON parsing + mapping */
};

/* Log in if needed (no visa, or one older than 10 minutes), ask the fleet size with Totals
 * COUNT(1), then page through EnumerateAccountStatistics ("I0 ASC", StartRecordNumber /
 * RecordsCount), calling cb once per non-empty page with the mapped batch (jobs for every
 * row, runs for rows that ran); the batch is freed after cb returns. Paging ends when the
 * rows listed reach COUNT(1) or a page comes back empty; a short page is not the end (the
 * server may cap the page size), and a page that brings no higher AccountId stops it.
 * Error 1701 and an old visa re-log in and resume the failing page (at most 3 times for
 * 1701 per poll); malformed or truncated replies, Login's included, are retried 3 times with
 * backoff; 2100 and other vendor errors (any other error.data) are never retried. Returns 0;
 * -BK_EAUTH, -BK_EPERM, -BK_ESESSION, -BK_EPROTO, an HTTP/transport error, cb's error or
 * -BK_EINTR; or -BK_EPARTIAL (stats->partial, after every page was delivered) when the rows
 * listed differ from COUNT(1) or totalStatistics had no usable COUNT(1). stats is always
 * filled (may be NULL). */
int cove_poll(struct cove *c, int64_t poll_time_ms, bk_batch_fn cb, void *ud,
              struct cove_poll_stats *stats, struct bk_err *err);

#endif
