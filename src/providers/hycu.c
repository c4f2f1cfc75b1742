/* HYCU client I/O: URL building, pagination and the trigger's "did it start?" dance. The
 * parsing itself lives in hycu_parse.c. */
#include "providers/hycu.h"

#include "providers/provider.h"

#include "json/jsonu.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#define HYCU_MAX_PAGES 100000

struct hycu {
    char *base; /* scheme://host[:port] with the API prefix, no trailing slash */
    enum hycu_dialect dialect;
    int page_size;
    struct http_client *http;
    struct http_opts http_opts;
};

static const char *const list_paths[HYCU_KIND_COUNT] = {
    [HYCU_VM] = "vms",          [HYCU_APP] = "applications", [HYCU_SHARE] = "shares",
    [HYCU_VG] = "volumegroups", [HYCU_POLICY] = "policies",
};

static const char *const run_now_paths[HYCU_KIND_COUNT] = {
    [HYCU_VM] = "schedules/backup",         [HYCU_APP] = "schedules/backupApp",
    [HYCU_SHARE] = "schedules/backupShare", [HYCU_VG] = "schedules/backupVolumeGroup",
    [HYCU_POLICY] = "schedules/backup",
};

int hycu_open(const struct hycu_cfg *cfg, struct hycu **out, struct bk_err *err)
{
    *out = NULL;
    const char *u = cfg->url;
    if (!u || !(str_starts_with(u, "https://") || str_starts_with(u, "http://")) ||
        strlen(u) < 10 || strlen(u) > 2000 || strpbrk(u, " \t\r\n?#"))
        return bk_err_set(err, BK_EINVAL, "invalid --url \"%s\": expected https://host[:port]",
                          u ? u : "");
    struct hycu *h = xcalloc(1, sizeof *h);
    size_t n = strlen(u);
    while (n > 0 && u[n - 1] == '/')
        n--;
    char *trimmed = xstrndup(u, n);
    if (cfg->dialect == HYCU_DIALECT_REST) {
        const char *sfx = "/rest/v1.0";
        size_t sl = strlen(sfx);
        if (n >= sl && strcmp(trimmed + n - sl, sfx) == 0)
            h->base = trimmed;
        else {
            h->base = xasprintf("%s%s", trimmed, sfx);
            free(trimmed);
        }
    } else {
        h->base = xasprintf("%s/api/v1", trimmed);
        free(trimmed);
    }
    h->dialect = cfg->dialect;
    h->page_size = cfg->page_size > 0 ? cfg->page_size : 100;
    h->http_opts = cfg->http;
    h->http = http_client_new(&cfg->http);
    if (!h->http) {
        hycu_close(h);
        return bk_err_set(err, BK_EIO, "cannot initialise libcurl");
    }
    if (cfg->token && *cfg->token) {
        char *v = xasprintf("Bearer %s", cfg->token);
        http_client_set_auth(h->http, v);
        free(v);
    } else if (cfg->username && cfg->password) {
        log_add_secret(cfg->password);
        char *pair = xasprintf("%s:%s", cfg->username, cfg->password);
        char *b64 = str_base64(pair, strlen(pair));
        char *v = xasprintf("Basic %s", b64);
        http_client_set_auth(h->http, v);
        free(v);
        free(b64);
        free(pair);
    }
    *out = h;
    return 0;
}

void hycu_close(struct hycu *h)
{
    if (!h)
        return;
    http_client_free(h->http);
    free(h->base);
    free(h);
}

struct http_client *hycu_http(struct hycu *h)
{
    return h->http;
}

/* Append HYCU's own error text (if the reply has one) to err. */
static void add_vendor_text(struct bk_err *err, const struct http_resp *r)
{
    if (!err || !r->body.len)
        return;
    char *t = hycu_parse_error_text(r->body.data, r->body.len);
    if (t) {
        size_t l = strlen(err->msg);
        snprintf(err->msg + l, sizeof err->msg - l, " (%s)", t);
        free(t);
    }
}

static int do_req(struct hycu *h, const char *method, const char *url, const char *body,
                  enum http_retry retry, struct http_resp *resp, struct bk_err *err)
{
    struct http_req req = {
        .method = method,
        .url = url,
        .body = body,
        .body_len = body ? strlen(body) : 0,
        .retry = retry,
    };
    int rc = http_request(h->http, &req, resp, err);
    if (rc == -BK_EHTTP || rc == -BK_EAUTH)
        add_vendor_text(err, resp);
    return rc;
}

static char *escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    char *out = xstrdup(e ? e : "");
    curl_free(e);
    return out;
}

static long gcd_l(long a, long b)
{
    while (b) {
        long t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* The one pager of every HYCU listing. GETs path page after page and calls on_entity for each
 * element (a positive return stops the listing, a negative one fails it). The listing ends when
 * the entities received reach metadata.totalEntityCount, or on an empty page — never on
 * "page × pageSize ≥ total": a controller may serve fewer entities per page than asked (hycu-sim
 * --page-cap; HYCU itself caps what it serves). When a page is not the size asked, the pager
 * re-asks with a page size that divides what it has received (gcd), so the next pageNumber
 * starts exactly after it whichever size the server really pages by. A page that starts with
 * the same entities as the previous one means the server ignores pageNumber: that listing is
 * complete. *pages (may be NULL) counts the GETs. */
static int page_all(struct hycu *h, const char *path,
                    int (*on_entity)(const json_t *e, void *ud, struct bk_err *err), void *ud,
                    int64_t *pages, struct bk_err *err)
{
    int64_t seen = 0;
    long size = h->page_size;
    char *prev_key = NULL;
    int rc = 0;
    for (int page = 1;; page++) {
        if (page > HYCU_MAX_PAGES) {
            rc = bk_err_set(err, BK_ETOOBIG, "GET %s: more than %d pages", path, HYCU_MAX_PAGES);
            break;
        }
        long number = (long)(seen / size) + 1;
        char *url = xasprintf("%s/%s%spageSize=%ld&pageNumber=%ld", h->base, path,
                              strchr(path, '?') ? "&" : "?", size, number);
        struct http_resp resp;
        rc = do_req(h, "GET", url, NULL, HTTP_RETRY_READ, &resp, err);
        free(url);
        if (rc < 0) {
            http_resp_free(&resp);
            break;
        }
        struct hycu_page pg;
        rc = hycu_parse_page(resp.body.data, resp.body.len, &pg, err);
        http_resp_free(&resp);
        if (rc < 0) {
            bk_err_prefix(err, "GET %s page %ld: ", path, number);
            break;
        }
        if (pages)
            (*pages)++;
        size_t n = json_array_size(pg.entities);
        const char *first = n ? jsonu_str(json_array_get(pg.entities, 0), "uuid") : NULL;
        const char *last = n ? jsonu_str(json_array_get(pg.entities, n - 1), "uuid") : NULL;
        char *key = first && last ? xasprintf("%zu;%s;%s", n, first, last) : NULL;
        bool repeated = key && prev_key && strcmp(key, prev_key) == 0;
        free(prev_key);
        prev_key = key;
        for (size_t i = 0; i < n && rc == 0 && !repeated; i++)
            rc = on_entity(json_array_get(pg.entities, i), ud, err);
        int64_t total = pg.total;
        hycu_page_free(&pg);
        if (rc != 0 || n == 0 || repeated)
            break;
        seen += (int64_t)n;
        if (total >= 0 && seen >= total)
            break;
        if ((long)n != size) {
            long g = gcd_l((long)seen, (long)n);
            size = g > 0 ? g : 1;
            log_debug("GET %s: %zu entities on a page of %d asked; paging by %ld", path, n,
                      h->page_size, size);
        }
    }
    free(prev_key);
    return rc < 0 ? rc : 0;
}

/* GET a paginated collection; calls on_entity for every element. */
static int list_all(struct hycu *h, const char *path,
                    int (*on_entity)(const json_t *e, void *ud, struct bk_err *err), void *ud,
                    struct bk_err *err)
{
    return page_all(h, path, on_entity, ud, NULL, err);
}

struct collect_ctx {
    enum hycu_kind kind;
    struct hycu_entity_list *out;
    const char *name; /* exact filter or NULL */
};

static int collect_entity(const json_t *e, void *ud, struct bk_err *err)
{
    struct collect_ctx *c = ud;
    struct hycu_entity ent;
    struct bk_err perr = {0};
    if (hycu_parse_entity(e, c->kind, &ent, &perr) < 0) {
        log_debug("skipping %s", perr.msg);
        return 0;
    }
    if (c->name && strcmp(ent.name, c->name) != 0) {
        hycu_entity_clear(&ent);
        return 0;
    }
    hycu_entity_list_push(c->out, &ent);
    return 0;
}

int hycu_list(struct hycu *h, enum hycu_kind kind, struct hycu_entity_list *out, struct bk_err *err)
{
    struct collect_ctx c = {.kind = kind, .out = out, .name = NULL};
    return list_all(h, list_paths[kind], collect_entity, &c, err);
}

int hycu_lookup(struct hycu *h, const char *name, unsigned kinds, struct hycu_entity_list *out,
                struct bk_err *err)
{
    for (unsigned k = 0; k < HYCU_KIND_COUNT; k++) {
        if (!(kinds & HYCU_KIND_BIT(k)))
            continue;
        struct collect_ctx c = {.kind = (enum hycu_kind)k, .out = out, .name = name};
        int rc = list_all(h, list_paths[k], collect_entity, &c, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int hycu_get_entity(struct hycu *h, const char *uuid, unsigned kinds, struct hycu_entity *out,
                    struct bk_err *err)
{
    char *esc = escape(uuid);
    int rc = -BK_ENOTFOUND;
    for (unsigned k = 0; k < HYCU_KIND_COUNT; k++) {
        if (!(kinds & HYCU_KIND_BIT(k)))
            continue;
        char *url = xasprintf("%s/%s/%s", h->base, list_paths[k], esc);
        struct http_resp resp;
        rc = do_req(h, "GET", url, NULL, HTTP_RETRY_READ, &resp, err);
        free(url);
        if (rc == -BK_EHTTP && resp.status == 404) {
            http_resp_free(&resp);
            rc = -BK_ENOTFOUND;
            continue;
        }
        if (rc == 0) {
            struct hycu_page pg;
            rc = hycu_parse_page(resp.body.data, resp.body.len, &pg, err);
            if (rc == 0) {
                rc = json_array_size(pg.entities) == 0
                         ? bk_err_set(err, BK_EPROTO, "empty reply for %s %s",
                                      hycu_kind_name((enum hycu_kind)k), uuid)
                         : hycu_parse_entity(json_array_get(pg.entities, 0), (enum hycu_kind)k, out,
                                             err);
                hycu_page_free(&pg);
            }
        }
        http_resp_free(&resp);
        break;
    }
    free(esc);
    if (rc == -BK_ENOTFOUND)
        bk_err_set(err, BK_ENOTFOUND, "no HYCU entity has uuid %s", uuid);
    return rc;
}

struct policy_ctx {
    const char *policy_uuid;
    struct hycu_strlist *uuids;
};

static int collect_policy_vm(const json_t *e, void *ud, struct bk_err *err)
{
    struct policy_ctx *c = ud;
    const char *pg = jsonu_str(e, "protectionGroupUuid");
    const char *uuid = jsonu_str(e, "uuid");
    if (pg && uuid && strcmp(pg, c->policy_uuid) == 0)
        hycu_strlist_push(c->uuids, uuid);
    return 0;
}

static char *run_now_body(const struct hycu_strlist *uuids, const struct hycu_trigger_opts *o)
{
    json_t *b = json_object();
    json_t *l = json_array();
    for (size_t i = 0; i < uuids->n; i++)
        json_array_append_new(l, json_string(uuids->v[i]));
    json_object_set_new(b, "uuidList", l);
    json_object_set_new(b, "forceFull", json_boolean(o && o->force_full));
    if (o && o->target_uuid)
        json_object_set_new(b, "targetUuid", json_string(o->target_uuid));
    char *s = jsonu_dump(b);
    json_decref(b);
    return s;
}

static bool maybe_started(int rc, const struct http_resp *r)
{
    int code = rc < 0 ? -rc : rc;
    return code == BK_ETIMEOUT || code == BK_EIO || (code == BK_EHTTP && r->status >= 500);
}

/* A lookup failure worth another try: the network, a 5xx/408/429, or a garbled reply. */
static bool transient(const struct bk_err *e)
{
    switch (e->code) {
    case BK_ETIMEOUT:
    case BK_EIO:
    case BK_ECONNECT:
    case BK_EPROTO:
        return true;
    case BK_EHTTP:
        return e->http >= 500 || e->http == 408 || e->http == 429;
    default:
        return false;
    }
}

#define HYCU_DEFAULT_LOOKUP_MS (10 * 60 * 1000)

/* "Did the POST that failed start a job anyway?" The lookup is a read: it is retried with
 * backoff until deadline_ms (monotonic) while its answer is UNKNOWN; it never POSTs. */
static enum hycu_running lookup_until(struct hycu *h, const struct hycu_entity *e,
                                      struct hycu_strlist *ids, int64_t deadline_ms,
                                      struct bk_err *lerr)
{
    unsigned seed = (unsigned)bk_mono_ms();
    for (int k = 1;; k++) {
        bk_err_clear(lerr);
        enum hycu_running ans = hycu_running_lookup(h, e, ids, lerr);
        if (ans != HYCU_RUNNING_UNKNOWN)
            return ans;
        if (lerr->code == BK_EINTR || !transient(lerr))
            return ans;
        int64_t left = deadline_ms - bk_mono_ms();
        if (left <= 0)
            return ans;
        long wait = http_backoff_ms(&h->http_opts, k, 0, &seed);
        if (wait > left)
            wait = (long)left;
        log_warn("running-job lookup %d failed: %s; trying again in %ld ms", k, lerr->msg, wait);
        if (bk_sleep_ms(wait, h->http_opts.stop) < 0) {
            bk_err_set(lerr, BK_EINTR, "running-job lookup interrupted");
            return HYCU_RUNNING_UNKNOWN;
        }
    }
}

int hycu_trigger(struct hycu *h, const struct hycu_entity *e, const struct hycu_trigger_opts *o,
                 struct hycu_strlist *ids, enum hycu_running *lookup, struct bk_err *err)
{
    struct hycu_strlist uuids = {0};
    int rc = 0;
    char *body = NULL;
    if (lookup)
        *lookup = HYCU_RUNNING_NONE;
    int64_t deadline = o && o->lookup_deadline_ms > 0 ? o->lookup_deadline_ms
                                                      : bk_mono_ms() + HYCU_DEFAULT_LOOKUP_MS;
    if (e->kind == HYCU_POLICY) {
        struct policy_ctx c = {.policy_uuid = e->uuid, .uuids = &uuids};
        rc = list_all(h, list_paths[HYCU_VM], collect_policy_vm, &c, err);
        if (rc < 0)
            goto out;
        if (uuids.n == 0) {
            rc = bk_err_set(err, BK_ENOTFOUND, "policy \"%s\" has no VMs to back up", e->name);
            goto out;
        }
        log_info("policy \"%s\": backing up %zu VMs", e->name, uuids.n);
    } else {
        hycu_strlist_push(&uuids, e->uuid);
    }
    body = run_now_body(&uuids, o);
    char *url = xasprintf("%s/%s", h->base, run_now_paths[e->kind]);
    int attempts = h->http_opts.retries > 0 ? h->http_opts.retries + 1 : 1;
    for (int i = 1; i <= attempts; i++) {
        struct http_resp resp;
        log_debug("POST %s %s", url, body);
        rc = do_req(h, "POST", url, body, HTTP_RETRY_UNSENT, &resp, err);
        if (rc == 0) {
            rc = hycu_parse_trigger(resp.body.data, resp.body.len, ids, err);
            if (rc < 0)
                bk_err_prefix(err, "POST %s: ", run_now_paths[e->kind]);
            http_resp_free(&resp);
            break;
        }
        bool unsure = maybe_started(rc, &resp);
        http_resp_free(&resp);
        if (!unsure)
            break;
        /* The request may have reached HYCU and started a job: attach to it. Only a lookup
         * that positively answers "no job of this entity is running" allows another POST. */
        log_warn("%s; checking whether the backup started anyway", err ? err->msg : "trigger");
        struct bk_err lerr = {0};
        enum hycu_running ans = lookup_until(h, e, ids, deadline, &lerr);
        if (lookup)
            *lookup = ans;
        if (ans == HYCU_RUNNING_FOUND) {
            log_warn("found %zu running job(s) for \"%s\": monitoring them", ids->n, e->name);
            rc = 0;
            break;
        }
        if (ans == HYCU_RUNNING_UNKNOWN) {
            if (lerr.code == BK_EINTR) {
                rc = bk_err_set(err, BK_EINTR, "trigger interrupted");
                break;
            }
            char *first = xstrdup(err ? err->msg : "trigger failed");
            rc = bk_err_set(err, rc < 0 ? -rc : rc,
                            "a backup may have started: the trigger failed (%.200s) and the "
                            "running jobs could not be listed (%.200s); not posting again",
                            first, lerr.msg);
            free(first);
            break;
        }
        if (i == attempts)
            break; /* NONE: surely not started; the POST's own error stands */
        log_warn("no backup of \"%s\" is running: posting again", e->name);
        long wait = http_backoff_ms(&h->http_opts, i, 0, &(unsigned){(unsigned)bk_mono_ms()});
        if (bk_sleep_ms(wait, h->http_opts.stop) < 0) {
            rc = bk_err_set(err, BK_EINTR, "trigger interrupted");
            break;
        }
    }
    free(url);
out:
    free(body);
    hycu_strlist_free(&uuids);
    return rc;
}

static bool is_active(enum hycu_state s)
{
    return s == HYCU_QUEUED || s == HYCU_EXECUTING || s == HYCU_ABORTING;
}

static bool job_matches(const struct hycu_job *j, const struct hycu_strlist *uuids)
{
    for (size_t i = 0; i < j->n_entity_ids; i++)
        for (size_t k = 0; k < uuids->n; k++)
            if (strcmp(j->entity_ids[i], uuids->v[k]) == 0)
                return true;
    return false;
}

#define MAX_RUNNING_CANDIDATES 1000

struct running_ctx {
    struct hycu_strlist candidates;
    bool overflow;
};

static int collect_running(const json_t *e, void *ud, struct bk_err *err)
{
    (void)err;
    struct running_ctx *c = ud;
    const char *st = jsonu_str(e, "status");
    const char *uuid = jsonu_str(e, "uuid");
    if (!st || !uuid || !is_active(hycu_state_parse(st)))
        return 0;
    if (c->candidates.n >= MAX_RUNNING_CANDIDATES) {
        c->overflow = true;
        return 1; /* the answer can only be "unknown" now */
    }
    hycu_strlist_push(&c->candidates, uuid);
    return 0;
}

/* The tri-state behind hycu_find_running: FOUND (ids appended), NONE (HYCU positively listed
 * no active job of e), UNKNOWN (a listing or a candidate check failed; err says why). Every
 * page of GET /jobs is read: the order we ask for (orderBy=-createdTime) is not relied on, a
 * controller may ignore it (docs/hycu.md). */
enum hycu_running hycu_running_lookup(struct hycu *h, const struct hycu_entity *e,
                                      struct hycu_strlist *ids, struct bk_err *err)
{
    if (h->dialect != HYCU_DIALECT_REST) {
        bk_err_set(err, BK_EINVAL, "the v1 dialect has no job listing");
        return HYCU_RUNNING_UNKNOWN;
    }
    enum hycu_running ans = HYCU_RUNNING_UNKNOWN;
    struct hycu_strlist targets = {0};
    struct running_ctx c = {0};
    if (e->kind == HYCU_POLICY) {
        struct policy_ctx pc = {.policy_uuid = e->uuid, .uuids = &targets};
        if (list_all(h, list_paths[HYCU_VM], collect_policy_vm, &pc, err) < 0)
            goto out;
    }
    hycu_strlist_push(&targets, e->uuid);
    if (list_all(h, "jobs?orderBy=-createdTime", collect_running, &c, err) < 0)
        goto out;
    /* Confirm each candidate through the entity map of GET /jobs/{uuid}. */
    size_t found = 0;
    bool unsure = c.overflow;
    if (c.overflow)
        bk_err_set(err, BK_ETOOBIG, "more than %d active jobs: cannot tell which are \"%s\"'s",
                   MAX_RUNNING_CANDIDATES, e->name);
    for (size_t i = 0; i < c.candidates.n && !c.overflow; i++) {
        struct hycu_job j;
        struct bk_err jerr = {0};
        int jr = hycu_get_job(h, c.candidates.v[i], &j, &jerr);
        if (jr == -BK_EHTTP && jerr.http == 404)
            continue; /* gone since the listing: not running */
        if (jr < 0) {
            log_debug("running-job check %s: %s", c.candidates.v[i], jerr.msg);
            if (err)
                *err = jerr;
            unsure = true;
            continue;
        }
        if (is_active(j.state) && job_matches(&j, &targets)) {
            hycu_strlist_push(ids, j.uuid);
            found++;
        }
        hycu_job_clear(&j);
    }
    ans = found ? HYCU_RUNNING_FOUND : unsure ? HYCU_RUNNING_UNKNOWN : HYCU_RUNNING_NONE;
out:
    hycu_strlist_free(&c.candidates);
    hycu_strlist_free(&targets);
    return ans;
}

int hycu_find_running(struct hycu *h, const struct hycu_entity *e, struct hycu_strlist *ids,
                      struct bk_err *err)
{
    if (h->dialect != HYCU_DIALECT_REST)
        return 0;
    struct bk_err lerr = {0};
    enum hycu_running ans = hycu_running_lookup(h, e, ids, &lerr);
    if (ans != HYCU_RUNNING_UNKNOWN)
        return 0;
    if (err)
        *err = lerr;
    return lerr.code ? -lerr.code : -BK_EIO;
}

int hycu_get_job(struct hycu *h, const char *job_id, struct hycu_job *out, struct bk_err *err)
{
    char *esc = escape(job_id);
    char *url = h->dialect == HYCU_DIALECT_REST ? xasprintf("%s/jobs/%s", h->base, esc)
                                                : xasprintf("%s/backups/%s/status", h->base, esc);
    free(esc);
    struct http_resp resp;
    int rc = do_req(h, "GET", url, NULL, HTTP_RETRY_READ, &resp, err);
    free(url);
    if (rc < 0)
        goto out;
    if (h->dialect == HYCU_DIALECT_V1) {
        rc = hycu_v1_parse_status(resp.body.data, resp.body.len, job_id, out, err);
    } else {
        struct hycu_page pg;
        rc = hycu_parse_page(resp.body.data, resp.body.len, &pg, err);
        if (rc == 0) {
            rc = json_array_size(pg.entities) == 0
                     ? bk_err_set(err, BK_EPROTO, "empty reply")
                     : hycu_parse_job(json_array_get(pg.entities, 0), out, err);
            hycu_page_free(&pg);
        }
    }
    if (rc < 0)
        bk_err_prefix(err, "job %s: ", job_id);
out:
    http_resp_free(&resp);
    return rc;
}

int hycu_cancel_job(struct hycu *h, const char *job_id, struct bk_err *err)
{
    char *esc = escape(job_id);
    char *url = h->dialect == HYCU_DIALECT_REST ? xasprintf("%s/jobs/%s", h->base, esc)
                                                : xasprintf("%s/backups/%s", h->base, esc);
    free(esc);
    struct http_resp resp;
    /* Killing a job twice is harmless, so the cancel is retried like a read. */
    int rc = do_req(h, "DELETE", url, NULL, HTTP_RETRY_READ, &resp, err);
    free(url);
    http_resp_free(&resp);
    return rc;
}

int hycu_v1_trigger(struct hycu *h, const char *name, const json_t *extra, char **job_id,
                    struct bk_err *err)
{
    json_t *b = json_object();
    if (json_is_object(extra))
        json_object_update(b, (json_t *)extra);
    char ts[32];
    bk_iso8601(bk_now_ms(), ts, sizeof ts);
    json_object_set_new(b, "name", json_string(name));
    json_object_set_new(b, "timestamp", json_string(ts));
    char *body = jsonu_dump(b);
    json_decref(b);
    char *url = xasprintf("%s/backups", h->base);
    struct http_resp resp;
    int rc = do_req(h, "POST", url, body, HTTP_RETRY_UNSENT, &resp, err);
    if (rc == 0)
        rc = hycu_v1_parse_trigger(resp.body.data, resp.body.len, job_id, err);
    http_resp_free(&resp);
    free(url);
    free(body);
    return rc;
}

struct target_ctx {
    const char *want;
    char *uuid;
    int matches;
};

static int match_target(const json_t *e, void *ud, struct bk_err *err)
{
    struct target_ctx *c = ud;
    const char *uuid = jsonu_str(e, "uuid");
    const char *name = jsonu_str(e, "name");
    if (uuid && ((name && strcmp(name, c->want) == 0) || strcmp(uuid, c->want) == 0)) {
        if (!c->uuid)
            c->uuid = xstrdup(uuid);
        c->matches++;
    }
    return 0;
}

int hycu_resolve_target(struct hycu *h, const char *name_or_uuid, char **uuid, struct bk_err *err)
{
    struct target_ctx c = {.want = name_or_uuid};
    *uuid = NULL;
    int rc = list_all(h, "targets", match_target, &c, err);
    if (rc < 0) {
        free(c.uuid);
        return rc;
    }
    if (c.matches == 0)
        return bk_err_set(err, BK_ENOTFOUND, "no HYCU backup target named \"%s\"", name_or_uuid);
    if (c.matches > 1) {
        free(c.uuid);
        return bk_err_set(err, BK_EAMBIGUOUS, "%d HYCU backup targets are named \"%s\"", c.matches,
                          name_or_uuid);
    }
    *uuid = c.uuid;
    return 0;
}

/* ---- Monitoring poll ------------------------------------------------------------------ */

static const char *const poll_kind_names[HYCU_KIND_COUNT] = {
    [HYCU_VM] = "vm",          [HYCU_APP] = "application", [HYCU_SHARE] = "share",
    [HYCU_VG] = "volumegroup", [HYCU_POLICY] = "policy",
};

const char *hycu_poll_kind_name(enum hycu_kind k)
{
    return k < HYCU_KIND_COUNT ? poll_kind_names[k] : "unknown";
}

#define POLL_BATCH 500
#define MAX_TRACKED_RUNNING 1000

#define MAX_TRACKED_RECENT 2000

struct poll_cursor {
    int64_t last_created_ms;     /* newest createdTime the previous poll saw */
    int64_t since_ms;            /* the previous poll's own threshold (its predecessor's newest) */
    struct hycu_strlist running; /* jobs still running at the previous poll */
    struct hycu_strlist recent;  /* jobs the previous poll saw created at or after since_ms */
};

/* "uuid,uuid,…" up to ';' or the end, at most max entries; returns where it stopped. */
static const char *parse_uuid_list(const char *p, struct hycu_strlist *l, size_t max)
{
    while (*p && *p != ';') {
        size_t n = strcspn(p, ",;");
        if (n > 0 && n < 128 && l->n < max) {
            char *id = xstrndup(p, n);
            hycu_strlist_push(l, id);
            free(id);
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return p;
}

/* Cursor text: "<newest ms>;<running uuids>;<since ms>;<recent uuids>" (lists comma-separated).
 * The older "<newest ms>;<running uuids>" reads as since = newest, no recent jobs. */
static void cursor_parse(const char *s, struct poll_cursor *c)
{
    memset(c, 0, sizeof *c);
    if (!s)
        return;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || v < 0)
        return;
    c->last_created_ms = c->since_ms = v;
    if (*end != ';')
        return;
    const char *p = parse_uuid_list(end + 1, &c->running, MAX_TRACKED_RUNNING);
    if (*p != ';')
        return;
    long long since = strtoll(p + 1, &end, 10);
    if (end == p + 1 || since < 0 || since > v)
        return;
    c->since_ms = since;
    if (*end == ';')
        parse_uuid_list(end + 1, &c->recent, MAX_TRACKED_RECENT);
}

static void poll_cursor_free(struct poll_cursor *c)
{
    hycu_strlist_free(&c->running);
    hycu_strlist_free(&c->recent);
}

static int flush_batch(struct bk_batch *b, bk_batch_fn cb, void *ud, struct bk_err *err)
{
    if (b->njobs == 0 && b->nruns == 0)
        return 0;
    int rc = cb(b, ud, err);
    bk_batch_clear(b);
    return rc;
}

/* Turn a detailed job into a run of the inventory entity its entity map names. A job whose
 * type we cannot place is kept, with status unknown: visible, never counted as a success. */
static bool job_to_run(const struct hycu_job *j, enum hycu_job_type jt,
                       const struct hycu_entity_list *inv, struct bk_run_rec *r)
{
    const struct hycu_entity *e = NULL;
    for (size_t i = 0; i < j->n_entity_ids && !e; i++)
        for (size_t k = 0; k < inv->n; k++)
            if (strcmp(inv->v[k].uuid, j->entity_ids[i]) == 0) {
                e = &inv->v[k];
                break;
            }
    if (!e)
        return false;
    memset(r, 0, sizeof *r);
    r->job_external_id = xstrdup(e->uuid);
    r->vendor_run_id = xstrdup(j->uuid);
    r->start_ms = j->start_ms;
    r->end_ms = hycu_job_is_final(j) ? j->end_ms : 0;
    r->status = jt == HYCU_JOB_UNKNOWN ? BK_RUN_UNKNOWN : hycu_state_status(j->state);
    r->raw_status = xstrdup(j->raw_status);
    r->error_count = -1;
    if (jt == HYCU_JOB_UNKNOWN)
        r->message =
            xasprintf("HYCU job type \"%s\" is not one backupctl knows%s%s", j->type ? j->type : "",
                      j->message ? ": " : "", j->message ? j->message : "");
    else if (j->message)
        r->message = xstrdup(j->message);
    return true;
}

#define HYCU_MAX_POLL_JOBS 200000

struct job_ref {
    char *uuid;
    int64_t created; /* 0 = unknown */
};

/* What the GET /jobs listing of one poll collects. Nothing here depends on the order the
 * controller lists jobs in: every page is read and each job judged on its own createdTime. */
struct poll_list {
    const struct poll_cursor *cur;
    int64_t since;      /* count jobs created at or after this (0 = first poll: all) */
    int64_t next_since; /* the next poll's threshold: the previous poll's newest */
    int64_t newest;
    int64_t keep;                   /* first poll: the newest this many jobs (0 = all) */
    struct hycu_strlist recent_out; /* listed jobs created at or after next_since */
    struct job_ref *v;
    size_t n, cap;
    struct hycu_strlist logged_types; /* unknown type words already logged this poll */
};

static int cmp_ref(const void *a, const void *b)
{
    const struct job_ref *x = a, *y = b;
    if (x->created != y->created)
        return x->created > y->created ? -1 : 1;
    return strcmp(x->uuid, y->uuid);
}

/* Newest first, duplicates (a job seen on two pages) dropped, at most keep entries. */
static void poll_list_compact(struct poll_list *l, size_t keep)
{
    if (l->n == 0)
        return; /* l->v may be NULL, which qsort must not see */
    qsort(l->v, l->n, sizeof *l->v, cmp_ref);
    size_t w = 0;
    for (size_t i = 0; i < l->n; i++) {
        if ((w > 0 && strcmp(l->v[w - 1].uuid, l->v[i].uuid) == 0) || (keep && w >= keep)) {
            free(l->v[i].uuid);
            continue;
        }
        l->v[w++] = l->v[i];
    }
    l->n = w;
}

static bool strlist_has(const struct hycu_strlist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return true;
    return false;
}

/* Classify a job type word; an unknown one is logged once per poll. */
static enum hycu_job_type poll_job_type(struct poll_list *l, const char *type)
{
    enum hycu_job_type jt = hycu_job_type_parse(type);
    if (jt == HYCU_JOB_UNKNOWN && !strlist_has(&l->logged_types, type) && l->logged_types.n < 100) {
        log_warn("HYCU job type \"%s\" is not one backupctl knows: its runs are kept with "
                 "status unknown",
                 type);
        hycu_strlist_push(&l->logged_types, type);
    }
    return jt;
}

static int collect_poll_job(const json_t *e, void *ud, struct bk_err *err)
{
    (void)err;
    struct poll_list *l = ud;
    const char *uuid = jsonu_str(e, "uuid");
    if (!uuid || !*uuid || strlen(uuid) > 128)
        return 0;
    int64_t created = 0;
    if (!jsonu_time_ms(e, "createdTime", &created))
        jsonu_time_ms(e, "startTime", &created);
    if (created < 0)
        created = 0;
    if (created > l->newest)
        l->newest = created;
    /* Each poll looks back to its predecessor's threshold, so a job that one listing missed
     * (listings in no stable order shift while jobs are created; a controller may list a new
     * job late) is still found by the next poll; the jobs the previous poll already saw there
     * are skipped by uuid. */
    if (l->since && created && created < l->since)
        return 0; /* older: listed by an earlier poll (and re-read if it was running) */
    if (poll_job_type(l, jsonu_str(e, "type")) == HYCU_JOB_OTHER)
        return 0;
    if (l->next_since && created >= l->next_since && l->recent_out.n < MAX_TRACKED_RECENT)
        hycu_strlist_push(&l->recent_out, uuid);
    if (l->since && created && strlist_has(&l->cur->recent, uuid))
        return 0; /* seen by the previous poll: re-read only if it was running */
    if (l->n == HYCU_MAX_POLL_JOBS) {
        poll_list_compact(l, l->keep ? (size_t)l->keep : HYCU_MAX_POLL_JOBS / 2);
        if (l->n == HYCU_MAX_POLL_JOBS)
            return 0;
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n].uuid = xstrdup(uuid);
    l->v[l->n].created = created;
    l->n++;
    return 0;
}

int hycu_poll(struct hycu *h, const char *customer, int history_pages, const char *state_in,
              int64_t now_ms, bk_batch_fn cb, void *ud, struct hycu_poll_stats *stats,
              char **state_out, struct bk_err *err)
{
    memset(stats, 0, sizeof *stats);
    *state_out = NULL;
    struct hycu_entity_list inv = {0}, pols = {0};
    struct bk_batch b = {0};
    struct poll_cursor cur;
    struct poll_list jl = {0};
    struct hycu_strlist seen = {0}, still_running = {0};
    cursor_parse(state_in, &cur);
    int rc = 0;

    for (unsigned k = HYCU_VM; k <= HYCU_VG && rc == 0; k++) {
        struct collect_ctx c = {.kind = (enum hycu_kind)k, .out = &inv, .name = NULL};
        rc = page_all(h, list_paths[k], collect_entity, &c, &stats->pages, err);
    }
    if (rc < 0)
        goto out;
    /* Policies, for their RPO: an input of the expected schedule (store/expected.c). A
     * controller without the endpoint (404) gives none; any other failure fails the poll like
     * an inventory listing would, so a job never loses its policy to a transient error. */
    struct collect_ctx pc = {.kind = HYCU_POLICY, .out = &pols, .name = NULL};
    struct bk_err perr = {0};
    rc = page_all(h, list_paths[HYCU_POLICY], collect_entity, &pc, &stats->pages, &perr);
    if (rc == -BK_EHTTP && perr.http == 404) {
        log_debug("HYCU has no policies listing (404): no policy RPOs");
        rc = 0;
    } else if (rc < 0) {
        if (err)
            *err = perr;
        goto out;
    }
    for (size_t i = 0; i < inv.n && rc == 0; i++) {
        const struct hycu_entity *pol = NULL;
        for (size_t k = 0; inv.v[i].policy_uuid && k < pols.n && !pol; k++)
            if (strcmp(pols.v[k].uuid, inv.v[i].policy_uuid) == 0)
                pol = &pols.v[k];
        struct bk_job_rec j = {
            .policy = pol ? xstrdup(pol->name) : NULL,
            .policy_rpo_s = pol ? pol->rpo_s : 0,
            .external_id = xstrdup(inv.v[i].uuid),
            .name = xstrdup(inv.v[i].name),
            .kind = xstrdup(poll_kind_names[inv.v[i].kind]),
            .customer_ext_id = xstrdup(customer),
            .customer_name = xstrdup(customer),
        };
        bk_batch_add_job(&b, &j);
        if (b.njobs >= POLL_BATCH)
            rc = flush_batch(&b, cb, ud, err);
    }
    stats->devices = (int64_t)inv.n;
    if (rc == 0)
        rc = flush_batch(&b, cb, ud, err);
    if (rc < 0)
        goto out;

    /* Every job created since the previous poll's newest, from every page: orderBy is asked
     * for but not relied on (docs/hycu.md). A first poll keeps the newest history_pages pages'
     * worth. */
    jl.cur = &cur;
    jl.since = cur.since_ms;
    jl.next_since = cur.last_created_ms;
    jl.newest = cur.last_created_ms;
    jl.keep =
        cur.last_created_ms ? 0 : (int64_t)(history_pages > 0 ? history_pages : 5) * h->page_size;
    rc = page_all(h, "jobs?orderBy=-createdTime", collect_poll_job, &jl, &stats->pages, err);
    if (rc < 0)
        goto out;
    poll_list_compact(&jl, (size_t)jl.keep);
    if (!jl.next_since) { /* first poll: the next one looks back to this one's newest */
        jl.next_since = jl.newest;
        for (size_t i = 0; i < jl.n && jl.recent_out.n < MAX_TRACKED_RECENT; i++)
            if (jl.v[i].created >= jl.newest)
                hycu_strlist_push(&jl.recent_out, jl.v[i].uuid);
    }
    for (size_t i = 0; i < jl.n; i++)
        hycu_strlist_push(&seen, jl.v[i].uuid);
    /* Jobs running at the previous poll that are not among the new ones. */
    for (size_t i = 0; i < cur.running.n; i++)
        if (!strlist_has(&seen, cur.running.v[i]))
            hycu_strlist_push(&seen, cur.running.v[i]);

    for (size_t i = 0; i < seen.n && rc == 0; i++) {
        struct hycu_job j;
        struct bk_err jerr = {0};
        int jr = hycu_get_job(h, seen.v[i], &j, &jerr);
        if (jr == -BK_EHTTP && jerr.http == 404)
            continue; /* a job HYCU no longer knows */
        if (jr < 0) {
            if (err)
                *err = jerr;
            rc = jr;
            break;
        }
        enum hycu_job_type jt = poll_job_type(&jl, j.type);
        struct bk_run_rec r;
        if (jt != HYCU_JOB_OTHER && job_to_run(&j, jt, &inv, &r)) {
            bk_batch_add_run(&b, &r);
            stats->runs++;
        }
        if (!hycu_job_is_final(&j) && still_running.n < MAX_TRACKED_RUNNING)
            hycu_strlist_push(&still_running, j.uuid);
        hycu_job_clear(&j);
        if (b.nruns >= POLL_BATCH)
            rc = flush_batch(&b, cb, ud, err);
    }
    if (rc == 0)
        rc = flush_batch(&b, cb, ud, err);
    if (rc == 0) {
        struct bk_buf s;
        bk_buf_init(&s, 256 * 1024); /* 1000 running + 2000 recent uuids fit */
        bk_buf_printf(&s, "%lld;", (long long)jl.newest);
        for (size_t i = 0; i < still_running.n; i++)
            if (bk_buf_printf(&s, "%s%s", i ? "," : "", still_running.v[i]) < 0)
                break;
        bk_buf_printf(&s, ";%lld;", (long long)jl.next_since);
        for (size_t i = 0; i < jl.recent_out.n; i++)
            if (bk_buf_printf(&s, "%s%s", i ? "," : "", jl.recent_out.v[i]) < 0)
                break;
        *state_out = bk_buf_steal(&s);
    }
out:
    (void)now_ms;
    bk_batch_free(&b);
    hycu_entity_list_free(&inv);
    hycu_entity_list_free(&pols);
    poll_cursor_free(&cur);
    hycu_strlist_free(&jl.recent_out);
    for (size_t i = 0; i < jl.n; i++)
        free(jl.v[i].uuid);
    free(jl.v);
    hycu_strlist_free(&jl.logged_types);
    hycu_strlist_free(&seen);
    hycu_strlist_free(&still_running);
    return rc;
}

/* ---- provider_ops adapter ----------------------------------------------------------- */

static int hycu_provider_poll(const struct provider_poll_args *a, struct provider_poll_result *res,
                              struct bk_err *err)
{
    memset(res, 0, sizeof *res);
    res->expected = -1;
    struct hycu_cfg cfg = {
        .url = a->src->url,
        .dialect = HYCU_DIALECT_REST,
        .token = a->token,
        .username = a->src->username,
        .password = a->password,
        .page_size = a->src->page_size,
        .http = provider_http_opts(a),
    };
    struct hycu *h;
    int rc = hycu_open(&cfg, &h, err);
    if (rc < 0)
        return rc;
    struct hycu_poll_stats st;
    rc = hycu_poll(h, a->src->customer, a->src->history_pages, a->state_in, a->now_ms, a->cb, a->ud,
                   &st, &res->state_out, err);
    res->devices = st.devices;
    res->runs = st.runs;
    res->pages = st.pages;
    hycu_close(h);
    return rc;
}

const struct provider_ops hycu_provider_ops = {
    .name = "hycu",
    .type = BK_SOURCE_HYCU,
    .poll = hycu_provider_poll,
};
