/* Push check-ins (issue 14): `GET|POST /ping/<uuid>[/start|/fail|/<exit-status>][?rid=…]`
 * without a login, rate limited per uuid and per address, and the push-job API. The rules of
 * what a ping does to runs are the store's (store/push.c); this file is HTTP only. */
#include "web/web_internal.h"

#include "config/config.h"
#include "store/push.h"
#include "util/log.h"
#include "util/str.h"
#include "util/timeutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void web_log_path(const char *url, char *out, size_t n)
{
    const char *q = strchr(url, '?');
    size_t len = q ? (size_t)(q - url) : strlen(url); /* a query (rid=…) is never logged */
    if (strncmp(url, "/ping/", 6) == 0 && len > 6) {
        const char *id = url + 6;
        size_t idlen = strcspn(id, "/?");
        const char *rest = id + idlen;
        snprintf(out, n, "/ping/%.*s…%.*s", (int)(idlen < 8 ? idlen : 8), id,
                 (int)(len - (size_t)(rest - url)), rest);
        return;
    }
    snprintf(out, n, "%.*s", (int)len, url);
}

/* The second segment: start, fail, or an exit status 0..255. */
static int ping_kind(const char *seg, struct store_ping *p)
{
    if (!seg) {
        p->kind = STORE_PING_SUCCESS;
        return 0;
    }
    if (strcmp(seg, "start") == 0) {
        p->kind = STORE_PING_START;
        return 0;
    }
    if (strcmp(seg, "fail") == 0) {
        p->kind = STORE_PING_FAIL;
        return 0;
    }
    int64_t v;
    if (strlen(seg) <= 3 && seg[0] >= '0' && seg[0] <= '9' && str_to_i64(seg, &v) == 0 && v >= 0 &&
        v <= 255) {
        p->kind = STORE_PING_EXIT;
        p->exit_status = (int)v;
        return 0;
    }
    return -1;
}

static bool rid_valid(const char *r)
{
    size_t n = strlen(r);
    if (n == 0 || n > 64)
        return false;
    for (const char *c = r; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              *c == '-' || *c == '_' || *c == '.'))
            return false;
    return true;
}

void api_ping(struct web_req *rq)
{
    static const char *const allowed[] = {"rid", NULL};
    struct store_ping p = {.uuid = rq->cap[0], .now_ms = bk_now_ms()};
    if (params_check_allowed(&rq->q, allowed, rq->msg, sizeof rq->msg) < 0) {
        web_bad_request(rq);
        return;
    }
    if (ping_kind(rq->cap[1], &p) < 0) {
        web_error(rq, 404, "not_found",
                  "a ping is /ping/UUID, /ping/UUID/start, /ping/UUID/fail "
                  "or /ping/UUID/EXIT-STATUS (0-255)");
        return;
    }
    p.rid = params_get(&rq->q, "rid");
    if (p.rid && !rid_valid(p.rid)) {
        web_error(rq, 400, "bad_request", "rid: 1 to 64 letters, digits, '-', '_' or '.'");
        return;
    }
    /* one limit per address, one per uuid (a runaway loop), counted before any SQL */
    char key[96];
    int64_t retry = 0;
    snprintf(key, sizeof key, "ip:%s", rq->peer);
    bool ip_ok = ratelimit_take(rq->w->ping_ip_rl, key, p.now_ms, &retry);
    char ukey[64];
    snprintf(ukey, sizeof ukey, "uuid:%.40s", p.uuid);
    if (!ip_ok || !ratelimit_take(rq->w->ping_uuid_rl, ukey, p.now_ms, &retry)) {
        snprintf(rq->retry_after, sizeof rq->retry_after, "%lld", (long long)retry);
        web_error(rq, 429, "too_many_requests", "too many pings; try again in %lld seconds",
                  (long long)retry);
        return;
    }
    if (!store_push_uuid_valid(p.uuid)) {
        web_error(rq, 404, "not_found", "no push job has this ping URL");
        return;
    }
    p.body = rq->raw;
    p.body_len = rq->rawlen;
    struct store_ping_result res;
    struct bk_err err = {0};
    if (store_push_ping(rq->st, &p, &res, &err) < 0) {
        web_internal(rq, &err);
        return;
    }
    if (!res.found) {
        web_error(rq, 404, "not_found", "no push job has this ping URL");
        return;
    }
    web_data_changed(rq->w);
    web_changed(rq);
    json_t *o = json_pack("{s:b,s:I,s:I,s:b}", "ok", 1, "job_id", (json_int_t)res.job_id, "run_id",
                          (json_int_t)res.run_id, "duplicate", res.duplicate);
    if (res.duration_ms >= 0)
        json_object_set_new(o, "duration_ms", json_integer(res.duration_ms));
    web_reply(rq, 200, o);
}

void api_push_job_create(struct web_req *rq)
{
    static const char *const fields[] = {"source", "name", "customer", "kind", NULL};
    const char *source = NULL, *name = NULL, *customer = NULL, *kind = NULL;
    if (params_check_allowed(&rq->q, (const char *const[]){NULL}, rq->msg, sizeof rq->msg) < 0 ||
        params_json_check_allowed(rq->body, fields, rq->msg, sizeof rq->msg) < 0 ||
        params_json_text(rq->body, "source", 200, &source, rq->msg, sizeof rq->msg) < 0 ||
        params_json_text(rq->body, "name", 200, &name, rq->msg, sizeof rq->msg) < 0 ||
        params_json_text(rq->body, "customer", 200, &customer, rq->msg, sizeof rq->msg) < 0 ||
        params_json_text(rq->body, "kind", 40, &kind, rq->msg, sizeof rq->msg) < 0) {
        web_bad_request(rq);
        return;
    }
    if (!source || !*source || !name || !*name) {
        web_error(rq, 400, "bad_request", "source and name are required");
        return;
    }
    const struct bk_source_cfg *sc = config_find_source(rq->w->cfg, source);
    if (!sc || sc->type != BK_SOURCE_PUSH) {
        web_error(rq, 400, "bad_request",
                  "source \"%.100s\" is not a push source of the configuration", source);
        return;
    }
    struct bk_err err = {0};
    int64_t sid = 0, job_id = 0;
    if (store_source_sync(rq->st, sc, &sid, &err) < 0) {
        web_internal(rq, &err);
        return;
    }
    char uuid[STORE_PUSH_UUID_LEN + 1];
    int rc = store_push_job_add(rq->st, sid, customer && *customer ? customer : sc->customer, name,
                                kind && *kind ? kind : NULL, rq->who.name, bk_now_ms(), &job_id,
                                uuid, &err);
    if (rc == -BK_EINVAL) {
        web_error(rq, 409, "conflict", "%s", err.msg);
        return;
    }
    if (rc < 0) {
        web_internal(rq, &err);
        return;
    }
    char *url = store_push_url(rq->w->cfg, rq->w->port, uuid);
    json_t *after = json_pack("{s:I,s:o,s:o}", "job_id", (json_int_t)job_id, "source",
                              web_jstr(source), "name", web_jstr(name));
    char target[32];
    snprintf(target, sizeof target, "%" PRId64, job_id);
    web_audit(rq, "job.create", target, NULL, after); /* the ping URL is not in the audit */
    json_decref(after);
    web_reply(rq, 201, json_pack("{s:I,s:s}", "id", (json_int_t)job_id, "ping_url", url));
    free(url);
}

void api_job_ping_url(struct web_req *rq)
{
    if (params_check_allowed(&rq->q, (const char *const[]){NULL}, rq->msg, sizeof rq->msg) < 0) {
        web_bad_request(rq);
        return;
    }
    char uuid[STORE_PUSH_UUID_LEN + 1];
    struct bk_err err = {0};
    int rc = store_push_job_uuid(rq->st, rq->id, uuid, &err);
    if (rc == -BK_ENOTFOUND) {
        web_error(rq, 404, "not_found", "job %" PRId64 " is not a push job", rq->id);
        return;
    }
    if (rc < 0) {
        web_internal(rq, &err);
        return;
    }
    char *url = store_push_url(rq->w->cfg, rq->w->port, uuid);
    web_reply(rq, 200, json_pack("{s:I,s:s}", "id", (json_int_t)rq->id, "ping_url", url));
    free(url);
}
