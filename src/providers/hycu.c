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
#define HYCU_RUNNING_SCAN_PAGES 5

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

/* GET a paginated collection; calls on_entity for every element. */
static int list_all(struct hycu *h, const char *path,
                    int (*on_entity)(const json_t *e, void *ud, struct bk_err *err), void *ud,
                    struct bk_err *err)
{
    int64_t seen = 0;
    int rc = 0;
    for (int page = 1; page <= HYCU_MAX_PAGES; page++) {
        char *url = xasprintf("%s/%s%spageSize=%d&pageNumber=%d", h->base, path,
                              strchr(path, '?') ? "&" : "?", h->page_size, page);
        struct http_resp resp;
        rc = do_req(h, "GET", url, NULL, HTTP_RETRY_READ, &resp, err);
        free(url);
        if (rc < 0) {
            http_resp_free(&resp);
            return rc;
        }
        struct hycu_page pg;
        rc = hycu_parse_page(resp.body.data, resp.body.len, &pg, err);
        http_resp_free(&resp);
        if (rc < 0) {
            bk_err_prefix(err, "GET %s page %d: ", path, page);
            return rc;
        }
        size_t n = json_array_size(pg.entities);
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = on_entity(json_array_get(pg.entities, i), ud, err);
        int64_t total = pg.total;
        hycu_page_free(&pg);
        if (rc < 0)
            return rc;
        seen += (int64_t)n;
        /* A server may send fewer entities than asked: only the total (or, without one, an
         * empty page) ends the listing. */
        if (n == 0)
            break;
        if (total >= 0 && seen >= total)
            break;
        if (rc > 0) /* callback asked to stop */
            break;
    }
    return rc < 0 ? rc : 0;
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

int hycu_trigger(struct hycu *h, const struct hycu_entity *e, const struct hycu_trigger_opts *o,
                 struct hycu_strlist *ids, struct bk_err *err)
{
    struct hycu_strlist uuids = {0};
    int rc = 0;
    char *body = NULL;
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
        bool again = maybe_started(rc, &resp) && i < attempts;
        http_resp_free(&resp);
        if (!again)
            break;
        /* The request may have reached HYCU and started a job: attach to it rather than
         * start a second backup of the same entity. */
        struct bk_err ferr = {0};
        log_warn("%s; checking whether the backup started anyway", err ? err->msg : "trigger");
        if (hycu_find_running(h, e, ids, &ferr) == 0 && ids->n > 0) {
            log_warn("found %zu running job(s) for \"%s\": monitoring them", ids->n, e->name);
            rc = 0;
            break;
        }
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

struct running_ctx {
    struct hycu_strlist candidates;
    int pages_left;
};

static int collect_running(const json_t *e, void *ud, struct bk_err *err)
{
    struct running_ctx *c = ud;
    const char *st = jsonu_str(e, "status");
    const char *uuid = jsonu_str(e, "uuid");
    if (st && uuid && is_active(hycu_state_parse(st)) && c->candidates.n < 200)
        hycu_strlist_push(&c->candidates, uuid);
    return 0;
}

int hycu_find_running(struct hycu *h, const struct hycu_entity *e, struct hycu_strlist *ids,
                      struct bk_err *err)
{
    if (h->dialect != HYCU_DIALECT_REST)
        return 0;
    struct hycu_strlist targets = {0};
    if (e->kind == HYCU_POLICY) {
        struct policy_ctx pc = {.policy_uuid = e->uuid, .uuids = &targets};
        int rc = list_all(h, list_paths[HYCU_VM], collect_policy_vm, &pc, err);
        if (rc < 0) {
            hycu_strlist_free(&targets);
            return rc;
        }
    }
    hycu_strlist_push(&targets, e->uuid);
    /* Active jobs are the newest ones: scan the first pages of GET /jobs (newest first),
     * then confirm each candidate through the entity map of GET /jobs/{uuid}. */
    struct running_ctx c = {0};
    int rc = 0;
    for (int page = 1; page <= HYCU_RUNNING_SCAN_PAGES; page++) {
        char *url = xasprintf("%s/jobs?orderBy=-createdTime&pageSize=%d&pageNumber=%d", h->base,
                              h->page_size, page);
        struct http_resp resp;
        rc = do_req(h, "GET", url, NULL, HTTP_RETRY_READ, &resp, err);
        free(url);
        if (rc < 0) {
            http_resp_free(&resp);
            goto out;
        }
        struct hycu_page pg;
        rc = hycu_parse_page(resp.body.data, resp.body.len, &pg, err);
        http_resp_free(&resp);
        if (rc < 0)
            goto out;
        size_t n = json_array_size(pg.entities);
        for (size_t i = 0; i < n; i++)
            collect_running(json_array_get(pg.entities, i), &c, err);
        int64_t total = pg.total;
        hycu_page_free(&pg);
        if (n == 0 || (total >= 0 && (int64_t)page * h->page_size >= total))
            break;
    }
    for (size_t i = 0; i < c.candidates.n; i++) {
        struct hycu_job j;
        struct bk_err jerr = {0};
        if (hycu_get_job(h, c.candidates.v[i], &j, &jerr) < 0) {
            log_debug("running-job check %s: %s", c.candidates.v[i], jerr.msg);
            continue;
        }
        if (is_active(j.state) && job_matches(&j, &targets))
            hycu_strlist_push(ids, j.uuid);
        hycu_job_clear(&j);
    }
out:
    hycu_strlist_free(&c.candidates);
    hycu_strlist_free(&targets);
    return rc;
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

#define POLL_BATCH 500
#define MAX_TRACKED_RUNNING 1000

struct poll_cursor {
    int64_t last_created_ms;
    struct hycu_strlist running;
};

/* Cursor text: "<last createdTime ms>;<uuid>,<uuid>…" (uuids of jobs still running). */
static void cursor_parse(const char *s, struct poll_cursor *c)
{
    memset(c, 0, sizeof *c);
    if (!s)
        return;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || v < 0)
        return;
    c->last_created_ms = v;
    if (*end != ';')
        return;
    const char *p = end + 1;
    while (*p && c->running.n < MAX_TRACKED_RUNNING) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n > 0 && n < 128) {
            char *id = xstrndup(p, n);
            hycu_strlist_push(&c->running, id);
            free(id);
        }
        p += n + (comma ? 1 : 0);
    }
}

static bool strlist_has(const struct hycu_strlist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return true;
    return false;
}

static int flush_batch(struct bk_batch *b, bk_batch_fn cb, void *ud, struct bk_err *err)
{
    if (b->njobs == 0 && b->nruns == 0)
        return 0;
    int rc = cb(b, ud, err);
    bk_batch_clear(b);
    return rc;
}

/* Turn a detailed job into a run of the inventory entity its entity map names. */
static bool job_to_run(const struct hycu_job *j, const struct hycu_entity_list *inv,
                       struct bk_run_rec *r)
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
    r->status = hycu_state_status(j->state);
    r->raw_status = xstrdup(j->raw_status);
    r->error_count = -1;
    if (j->message)
        r->message = xstrdup(j->message);
    return true;
}

int hycu_poll(struct hycu *h, const char *customer, int history_pages, const char *state_in,
              int64_t now_ms, bk_batch_fn cb, void *ud, struct hycu_poll_stats *stats,
              char **state_out, struct bk_err *err)
{
    memset(stats, 0, sizeof *stats);
    *state_out = NULL;
    struct hycu_entity_list inv = {0};
    struct bk_batch b = {0};
    struct poll_cursor cur;
    struct hycu_strlist seen = {0}, still_running = {0};
    cursor_parse(state_in, &cur);
    int64_t newest = cur.last_created_ms;
    int rc = 0;

    for (unsigned k = HYCU_VM; k <= HYCU_VG && rc == 0; k++)
        rc = hycu_list(h, (enum hycu_kind)k, &inv, err);
    if (rc < 0)
        goto out;
    for (size_t i = 0; i < inv.n && rc == 0; i++) {
        struct bk_job_rec j = {
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

    /* New jobs, newest first, until one older than the previous poll's newest. */
    bool done = false;
    for (int page = 1; !done && page <= HYCU_MAX_PAGES; page++) {
        if (cur.last_created_ms == 0 && page > history_pages)
            break;
        char *url = xasprintf("%s/jobs?orderBy=-createdTime&pageSize=%d&pageNumber=%d", h->base,
                              h->page_size, page);
        struct http_resp resp;
        rc = do_req(h, "GET", url, NULL, HTTP_RETRY_READ, &resp, err);
        free(url);
        struct hycu_page pg = {0};
        if (rc == 0)
            rc = hycu_parse_page(resp.body.data, resp.body.len, &pg, err);
        http_resp_free(&resp);
        if (rc < 0)
            goto out;
        stats->pages++;
        size_t n = json_array_size(pg.entities);
        for (size_t i = 0; i < n && rc == 0; i++) {
            json_t *e = json_array_get(pg.entities, i);
            const char *uuid = jsonu_str(e, "uuid");
            const char *type = jsonu_str(e, "type");
            int64_t created = 0;
            if (!jsonu_time_ms(e, "createdTime", &created))
                jsonu_time_ms(e, "startTime", &created);
            if (!uuid)
                continue;
            if (cur.last_created_ms && created && created < cur.last_created_ms) {
                done = true;
                break;
            }
            if (created > newest)
                newest = created;
            if (type && strcmp(type, "BACKUP") != 0)
                continue;
            hycu_strlist_push(&seen, uuid);
        }
        int64_t total = pg.total;
        hycu_page_free(&pg);
        if (n == 0 || (total >= 0 && (int64_t)page * h->page_size >= total))
            break;
    }
    /* Jobs running at the previous poll that did not reappear in the new pages. */
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
        struct bk_run_rec r;
        if (job_to_run(&j, &inv, &r)) {
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
        bk_buf_init(&s, 128 * 1024);
        bk_buf_printf(&s, "%lld;", (long long)newest);
        for (size_t i = 0; i < still_running.n; i++)
            if (bk_buf_printf(&s, "%s%s", i ? "," : "", still_running.v[i]) < 0)
                break;
        *state_out = bk_buf_steal(&s);
    }
out:
    (void)now_ms;
    bk_batch_free(&b);
    hycu_entity_list_free(&inv);
    hycu_strlist_free(&cur.running);
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
