/* Cove client I/O: the Login/visa chain and the paged EnumerateAccountStatistics listing.
 * Parsing and mapping live in cove_parse.c.
 *
 * Visa rules (reference/cove-api.md §2.3, §6): every reply carries a fresh visa, valid for
 * 15 idle minutes, so we keep the newest one and log in again when ours is older than 10
 * minutes or the server says 1701 — then resume the page that failed, not the whole poll.
 * A 2100 is never retried: repeated bad logins can lock the vendor account. A garbled reply
 * (Login or page) is retried with backoff; an error the vendor answered is not.
 *
 * Completeness (DESIGN: never retire on a guess): the first page asks Totals COUNT(1); paging
 * ends when that many rows came or a page is empty. Without a usable COUNT(1), or with a
 * different count, the poll is partial, so the store retires nothing.
 *
 * Prefetch (issue 12): once a page's reply has parsed as a good one, the next page is
 * downloaded on a helper thread while this one is mapped to records and handed to the poller
 * — the request that would be sent next anyway (same visa chain, start = this page's start +
 * the previous page's row count), only earlier. It is sent only when the previous page told
 * how many rows a page brings and the announced total says another page follows, and never
 * after an error reply (1701, a vendor error, bad JSON), so the requests are those of the
 * sequential listing; a guess that turns out wrong (a short page) is dropped and that page
 * fetched as before. Starting it before the JSON parse instead gained nothing measurable
 * (100,000 devices, unchanged re-poll 0.59-0.61 s either way against 0.71 s without) and sent
 * a request the sequential client would not after an error reply. The helper thread only ever runs
 * http_request() on a body built here, and the connection is not touched by this thread until it is
 * joined. */
#include "providers/cove.h"

#include "json/jsonu.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COVE_VISA_MAX_AGE_MS (10 * 60 * 1000)
#define COVE_MAX_SESSION_RELOGINS 3 /* re-logins after 1701 per poll */
#define COVE_PAGE_RETRIES 3         /* extra attempts of a page answered with bad JSON */
#define COVE_MAX_PAGES 1000000
#define COVE_DEFAULT_PAGE 1000
#define COVE_MAX_PAGE 10000

struct cove {
    char *url;
    char *partner; /* NULL for legacy users */
    char *username;
    char *password;
    int page_size;
    struct http_client *http;
    struct http_opts hopts; /* with the backoff defaults filled in */
    json_t *columns;        /* the Columns array, built once */
    char *visa;
    int64_t visa_mono_ms; /* when the visa was received */
    int64_t partner_id;
    unsigned long req_id;
    unsigned seed;
};

int cove_open(const struct cove_cfg *cfg, struct cove **out, struct bk_err *err)
{
    *out = NULL;
    const char *u = cfg->url;
    if (!u || !(str_starts_with(u, "https://") || str_starts_with(u, "http://")) ||
        strlen(u) < 10 || strlen(u) > 2000 || strpbrk(u, " \t\r\n#"))
        return bk_err_set(err, BK_EINVAL, "invalid Cove url \"%s\": expected https://host/jsonapi",
                          u ? u : "");
    if (!cfg->username || !*cfg->username)
        return bk_err_set(err, BK_EINVAL, "Cove: username is required");
    if (!cfg->password || !*cfg->password)
        return bk_err_set(err, BK_EINVAL, "Cove: password (API token) is required");
    if (cfg->page_size < 0 || cfg->page_size > COVE_MAX_PAGE)
        return bk_err_set(err, BK_EINVAL, "Cove: page_size %d out of range 1..%d", cfg->page_size,
                          COVE_MAX_PAGE);
    log_add_secret(cfg->password);
    struct cove *c = xcalloc(1, sizeof *c);
    c->url = xstrdup(u);
    c->partner = cfg->partner && *cfg->partner ? xstrdup(cfg->partner) : NULL;
    c->username = xstrdup(cfg->username);
    c->password = xstrdup(cfg->password);
    c->page_size = cfg->page_size ? cfg->page_size : COVE_DEFAULT_PAGE;
    c->hopts = cfg->http;
    if (!c->hopts.backoff_ms)
        c->hopts.backoff_ms = 500;
    if (!c->hopts.backoff_max_ms)
        c->hopts.backoff_max_ms = 10000;
    c->hopts.ca_file = NULL; /* only http_client_new reads it; we must not keep it */
    c->seed = (unsigned)bk_now_ms();
    c->http = http_client_new(&cfg->http);
    if (!c->http) {
        cove_close(c);
        return bk_err_set(err, BK_EIO, "cannot initialise libcurl");
    }
    c->columns = json_array();
    size_t n;
    const char *const *cols = cove_columns(&n);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(c->columns, json_string(cols[i]));
    *out = c;
    return 0;
}

static void drop_visa(struct cove *c)
{
    free(c->visa);
    c->visa = NULL;
}

void cove_close(struct cove *c)
{
    if (!c)
        return;
    http_client_free(c->http);
    json_decref(c->columns);
    drop_visa(c);
    if (c->password)
        memset(c->password, 0, strlen(c->password));
    free(c->password);
    free(c->username);
    free(c->partner);
    free(c->url);
    free(c);
}

struct http_client *cove_http(struct cove *c)
{
    return c->http;
}

static const char *partner_label(const struct cove *c)
{
    return c->partner ? c->partner : "(none)";
}

static void keep_visa(struct cove *c, const char *visa)
{
    if (!visa)
        return;
    if (!c->visa || strcmp(c->visa, visa) != 0) {
        free(c->visa);
        c->visa = xstrdup(visa);
    }
    c->visa_mono_ms = bk_mono_ms();
}

static bool visa_stale(const struct cove *c)
{
    return !c->visa || bk_mono_ms() - c->visa_mono_ms > COVE_VISA_MAX_AGE_MS;
}

/* POST one JSON-RPC body; *t_download accumulates the round-trip time. */
static int post(struct cove *c, json_t *req, struct http_resp *resp, double *t_download,
                struct bk_err *err)
{
    char *body = jsonu_dump(req);
    struct http_req hr = {
        .method = "POST",
        .url = c->url,
        .body = body,
        .body_len = strlen(body),
        .content_type = "application/json",
        .retry = HTTP_RETRY_READ,
    };
    int64_t t0 = bk_mono_ms();
    int rc = http_request(c->http, &hr, resp, err);
    *t_download += (double)(bk_mono_ms() - t0) / 1000.0;
    /* The Login body holds the password: wipe it before it goes back to the allocator. */
    memset(body, 0, hr.body_len);
    free(body);
    return rc;
}

static char *next_id(struct cove *c)
{
    return xasprintf("%lu", ++c->req_id);
}

/* One page request on the helper thread (see the top of the file). */
struct prefetch {
    bool running;
    pthread_t th;
    int64_t start;
    struct http_client *http;
    struct http_req hr;
    char *body;
    struct http_resp resp;
    int rc;
    struct bk_err err;
    int64_t ms;
};

static void *prefetch_main(void *ud)
{
    struct prefetch *pf = ud;
    int64_t t0 = bk_mono_ms();
    pf->rc = http_request(pf->http, &pf->hr, &pf->resp, &pf->err);
    pf->ms = bk_mono_ms() - t0;
    return NULL;
}

/* Wait for the request in flight, if any: true when it brought a reply (pf->resp, the
 * caller's to free), false when there was none (nothing to free). */
static bool prefetch_join(struct prefetch *pf, double *t_download)
{
    if (!pf->running)
        return false;
    pthread_join(pf->th, NULL);
    pf->running = false;
    free(pf->body);
    pf->body = NULL;
    *t_download += (double)pf->ms / 1000.0;
    if (pf->rc == 0)
        return true;
    http_resp_free(&pf->resp);
    log_debug("Cove: prefetch of record %" PRId64 " failed (%s); asking again", pf->start,
              pf->err.msg);
    return false;
}

static void prefetch_drop(struct prefetch *pf, double *t_download)
{
    if (prefetch_join(pf, t_download))
        http_resp_free(&pf->resp);
}

static int login_once(struct cove *c, double *t_download, bool *retryable, struct bk_err *err)
{
    *retryable = false;
    char *id = next_id(c);
    json_t *params = json_pack("{s:s, s:s}", "username", c->username, "password", c->password);
    if (c->partner)
        json_object_set_new(params, "partner", json_string(c->partner));
    json_t *req = json_pack("{s:s, s:s, s:s, s:o}", "jsonrpc", "2.0", "id", id, "method", "Login",
                            "params", params);
    struct http_resp resp;
    int rc = post(c, req, &resp, t_download, err);
    json_decref(req);
    free(id);
    if (rc < 0) {
        bk_err_prefix(err, "Cove Login: ");
        goto out;
    }
    struct cove_login l;
    rc = cove_parse_login(resp.body.data, resp.body.len, &l, err);
    if (rc == -BK_EAUTH) {
        bk_err_set(err, BK_EAUTH,
                   "Cove rejected partner \"%s\" / username \"%s\" (2100): check the exact "
                   "partner label (with the e-mail in parentheses), the username and the API "
                   "token; not retried, repeated bad logins can lock the account",
                   partner_label(c), c->username);
        goto out;
    }
    if (rc < 0) {
        /* A garbled reply (truncated, not JSON, no visa) is retried like a page; the
         * vendor's own error answer is not. */
        *retryable = rc == -BK_EPROTO && !l.vendor_error;
        bk_err_prefix(err, "Cove Login: ");
        goto out;
    }
    keep_visa(c, l.visa);
    c->partner_id = l.partner_id;
    cove_login_clear(&l);
    log_debug("Cove: logged in as \"%s\" (partner id %" PRId64 ")", c->username, c->partner_id);
out:
    http_resp_free(&resp);
    return rc;
}

/* Log in, retrying a malformed reply COVE_PAGE_RETRIES times with backoff (never a 2100 or
 * another vendor error: those fail at once). */
static int login(struct cove *c, double *t_download, struct bk_err *err)
{
    drop_visa(c);
    for (int tries = 0;; tries++) {
        bool retryable;
        int rc = login_once(c, t_download, &retryable, err);
        if (rc == 0 || !retryable || tries >= COVE_PAGE_RETRIES)
            return rc;
        long wait = http_backoff_ms(&c->hopts, tries + 1, 0, &c->seed);
        log_warn("%s; retrying in %.1f s (%d of %d)", err ? err->msg : "Cove: bad Login reply",
                 (double)wait / 1000.0, tries + 1, COVE_PAGE_RETRIES);
        if (bk_sleep_ms(wait, c->hopts.stop) < 0)
            return bk_err_set(err, BK_EINTR, "Cove poll interrupted");
    }
}

static json_t *page_request(struct cove *c, int64_t start, bool totals)
{
    json_t *q = json_pack("{s:I, s:s, s:s, s:I, s:I, s:s, s:O}", "PartnerId",
                          (json_int_t)c->partner_id, "Filter", "", "SelectionMode", "Merged",
                          "StartRecordNumber", (json_int_t)start, "RecordsCount",
                          (json_int_t)c->page_size, "OrderBy", "I0 ASC", "Columns", c->columns);
    if (totals)
        json_object_set_new(q, "Totals", json_pack("[s]", "COUNT(1)"));
    char *id = next_id(c);
    json_t *req = json_pack("{s:s, s:s, s:s, s:s, s:{s:o}}", "jsonrpc", "2.0", "id", id, "visa",
                            c->visa, "method", "EnumerateAccountStatistics", "params", "query", q);
    free(id);
    return req;
}

static void perm_message(struct cove *c, struct bk_err *err)
{
    char cols[400];
    size_t n, off = 0;
    const char *const *v = cove_columns(&n);
    cols[0] = '\0';
    for (size_t i = 0; i < n && off < sizeof cols; i++) {
        int w = snprintf(cols + off, sizeof cols - off, "%s%s", i ? "," : "", v[i]);
        if (w < 0)
            break;
        off += (size_t)w;
    }
    bk_err_set(err, BK_EPERM,
               "permission denied (13501) for partner \"%s\" (id %" PRId64 ") with columns %s",
               partner_label(c), c->partner_id, cols);
}

/* Start downloading the page at start on the helper thread. */
static void prefetch_start(struct cove *c, struct prefetch *pf, int64_t start)
{
    json_t *req = page_request(c, start, false);
    pf->body = jsonu_dump(req);
    json_decref(req);
    pf->start = start;
    pf->http = c->http;
    pf->hr = (struct http_req){
        .method = "POST",
        .url = c->url,
        .body = pf->body,
        .body_len = strlen(pf->body),
        .content_type = "application/json",
        .retry = HTTP_RETRY_READ,
    };
    memset(&pf->err, 0, sizeof pf->err);
    pf->rc = 0;
    if (pthread_create(&pf->th, NULL, prefetch_main, pf) != 0) {
        free(pf->body); /* no prefetch: the page is fetched in turn */
        pf->body = NULL;
        return;
    }
    pf->running = true;
}

/* Fetch and parse one page, re-logging in on an old visa or 1701 and retrying bad JSON.
 * On success *rep holds the page (caller frees). The reply may be the one *pf prefetched;
 * next_start >= 0: once this reply parsed, prefetch that page. */
static int fetch_page(struct cove *c, int64_t start, bool totals, int *session_relogins,
                      struct cove_poll_stats *st, struct cove_reply *rep, struct prefetch *pf,
                      int64_t next_start, struct bk_err *err)
{
    int proto_tries = 0;
    memset(rep, 0, sizeof *rep);
    for (;;) {
        if (c->hopts.stop && *c->hopts.stop) {
            prefetch_drop(pf, &st->t_download);
            return bk_err_set(err, BK_EINTR, "Cove poll interrupted");
        }
        struct http_resp resp;
        int rc = 0;
        bool pre = pf->running && pf->start == start;
        if (pre && (pre = prefetch_join(pf, &st->t_download)))
            resp = pf->resp;
        else
            prefetch_drop(pf, &st->t_download); /* another page's, or none */
        if (!pre) {
            if (visa_stale(c)) {
                bool had = c->visa != NULL;
                rc = login(c, &st->t_download, err);
                if (rc < 0)
                    return rc;
                if (had)
                    st->relogins++;
            }
            json_t *req = page_request(c, start, totals);
            rc = post(c, req, &resp, &st->t_download, err);
            json_decref(req);
        }
        if (rc < 0) {
            http_resp_free(&resp);
            bk_err_prefix(err, "Cove EnumerateAccountStatistics at record %" PRId64 ": ", start);
            return rc;
        }
        int64_t t0 = bk_mono_ms();
        rc = cove_parse_reply(resp.body.data, resp.body.len, rep, err);
        st->t_parse += (double)(bk_mono_ms() - t0) / 1000.0;
        http_resp_free(&resp);
        keep_visa(c, rep->visa);
        if (rc == 0) {
            if (next_start >= 0)
                prefetch_start(c, pf, next_start);
            return 0;
        }
        bool vendor_error = rep->vendor_error;
        cove_reply_free(rep);
        if (rc == -BK_ESESSION && *session_relogins < COVE_MAX_SESSION_RELOGINS) {
            (*session_relogins)++;
            st->relogins++;
            log_warn("Cove: visa rejected (1701) at record %" PRId64 "; logging in again", start);
            rc = login(c, &st->t_download, err);
            if (rc < 0)
                return rc;
            continue; /* ask for the same page again with the new visa */
        }
        if (rc == -BK_EPROTO && !vendor_error && proto_tries < COVE_PAGE_RETRIES) {
            proto_tries++;
            long wait = http_backoff_ms(&c->hopts, proto_tries, 0, &c->seed);
            log_warn("Cove: %s at record %" PRId64 "; retrying in %.1f s (%d of %d)",
                     err ? err->msg : "bad reply", start, (double)wait / 1000.0, proto_tries,
                     COVE_PAGE_RETRIES);
            if (bk_sleep_ms(wait, c->hopts.stop) < 0)
                return bk_err_set(err, BK_EINTR, "Cove poll interrupted");
            continue;
        }
        if (rc == -BK_EPERM)
            perm_message(c, err);
        else if (rc == -BK_EAUTH)
            bk_err_set(err, BK_EAUTH,
                       "Cove rejected partner \"%s\" / username \"%s\" (2100) during the listing",
                       partner_label(c), c->username);
        else
            bk_err_prefix(err, "Cove EnumerateAccountStatistics at record %" PRId64 ": ", start);
        return rc;
    }
}

/* Highest valid AccountId of a page, -1 when it has none. */
static int64_t page_max_id(const struct cove_reply *r)
{
    int64_t m = -1;
    for (size_t i = 0; i < r->nrows; i++)
        if (r->rows[i].valid && r->rows[i].account_id > m)
            m = r->rows[i].account_id;
    return m;
}

int cove_poll(struct cove *c, int64_t poll_time_ms, bk_batch_fn cb, void *ud,
              struct cove_poll_stats *stats, struct bk_err *err)
{
    struct cove_poll_stats local;
    struct cove_poll_stats *st = stats ? stats : &local;
    memset(st, 0, sizeof *st);
    st->expected = -1;
    struct bk_batch batch = {0};
    struct cove_reply rep = {0};
    struct prefetch pf = {0};
    int session_relogins = 0;
    int64_t start = 0, seen = 0, last_id = -1, last_rows = 0;
    int rc = 0;
    for (int64_t page = 0; page < COVE_MAX_PAGES; page++) {
        /* the page after this one, if pages keep their size and the total says one follows */
        int64_t next = last_rows > 0 && st->expected >= 0 && start + last_rows < st->expected
                           ? start + last_rows
                           : -1;
        rc = fetch_page(c, start, page == 0, &session_relogins, st, &rep, &pf, next, err);
        if (rc < 0)
            goto out;
        int64_t t0 = bk_mono_ms();
        if (page == 0) {
            int64_t total;
            if (cove_total(&rep, "COUNT(1)", &total) && total >= 0)
                st->expected = total;
        }
        int64_t max_id = page_max_id(&rep);
        size_t rows, skipped;
        rc = cove_map_page(&rep, poll_time_ms, &batch, &rows, &skipped, err);
        cove_reply_free(&rep);
        st->t_parse += (double)(bk_mono_ms() - t0) / 1000.0;
        if (rc < 0) {
            bk_err_prefix(err, "Cove EnumerateAccountStatistics at record %" PRId64 ": ", start);
            goto out;
        }
        seen += (int64_t)rows;
        st->skipped += (int64_t)skipped;
        if (rows > 0) {
            st->pages++;
            st->devices += (int64_t)batch.njobs;
            st->runs += (int64_t)batch.nruns;
            if (err)
                bk_err_clear(err);
            rc = cb(&batch, ud, err);
            bk_batch_clear(&batch);
            if (rc < 0) {
                if (err && !err->code)
                    bk_err_set(err, -rc, "Cove poll stopped by the page consumer");
                goto out;
            }
        }
        /* The end: the announced total reached, or an empty page. A short page is not the
         * end, since the server may cap RecordsCount below what we asked (cove-sim at 5000,
         * page_size up to 10000). */
        if (rows == 0 || (st->expected >= 0 && seen >= st->expected))
            break;
        /* Rows come "I0 ASC": a page that brings no higher AccountId means the server ignores
         * StartRecordNumber (or sends rows we cannot use); more pages would never end. */
        if (max_id <= last_id) {
            log_warn("Cove: the page at record %" PRId64 " brings no new device; stopping", start);
            break;
        }
        last_id = max_id;
        start += (int64_t)rows;
        last_rows = (int64_t)rows;
    }
    rc = 0;
    if (err)
        bk_err_clear(err); /* a retried page may have left its message behind */
    if (st->expected < 0) {
        /* Without a trustworthy fleet size a listing that ended early looks complete:
         * apply what came, retire nothing. */
        st->partial = true;
        rc = bk_err_set(err, BK_EPARTIAL,
                        "Cove listed %" PRId64 " devices for partner \"%s\" but gave no usable "
                        "totalStatistics COUNT(1) to check them against",
                        seen, partner_label(c));
    } else if (seen != st->expected) {
        st->partial = true;
        rc = bk_err_set(err, BK_EPARTIAL,
                        "Cove listed %" PRId64 " devices but COUNT(1) announced %" PRId64
                        " for partner \"%s\"",
                        seen, st->expected, partner_label(c));
    }
    log_debug("Cove: %" PRId64 " devices, %" PRId64 " runs in %" PRId64
              " pages (download %.3f s, parse %.3f s, %" PRId64 " re-logins)",
              st->devices, st->runs, st->pages, st->t_download, st->t_parse, st->relogins);
out:
    prefetch_drop(&pf, &st->t_download);
    cove_reply_free(&rep);
    bk_batch_free(&batch);
    return rc;
}
