/* The alert delivery worker (see deliver.h). */
#include "alert/deliver.h"

#include "alert/alert.h"
#include "config/config.h"
#include "store/alerts.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t alert_backoff_ms(int attempts)
{
    int64_t d = 30000;
    for (int i = 1; i < attempts && d < 3600000; i++)
        d *= 2;
    return d > 3600000 ? 3600000 : d;
}

struct row {
    int64_t id;
    char *uid, *alert, *channel, *event, *title, *payload, *incident;
    int seq, attempts;
};

struct rows {
    struct row *v;
    size_t n, cap;
};

static int take(const struct store_outbox_row *r, void *ud)
{
    struct rows *c = ud;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->v = xrealloc(c->v, c->cap * sizeof *c->v);
    }
    struct row *o = &c->v[c->n++];
    o->id = r->id;
    o->uid = xstrdup(r->uid);
    o->alert = xstrdup(r->alert);
    o->channel = xstrdup(r->channel);
    o->event = xstrdup(r->event);
    o->title = xstrdup(r->title);
    o->payload = xstrdup(r->payload);
    o->incident = xstrdup(r->incident_uid);
    o->seq = r->seq;
    o->attempts = r->attempts;
    return 0;
}

static const struct bk_alert_cfg *find_alert(const struct bk_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nalerts; i++)
        if (strcmp(cfg->alerts[i].name, name) == 0)
            return &cfg->alerts[i];
    return NULL;
}

static void send_row(const struct bk_config *cfg, const struct row *r, struct bk_send_result *res)
{
    memset(res, 0, sizeof *res);
    const struct bk_alert_cfg *a = find_alert(cfg, r->alert);
    if (!a) {
        res->outcome = BK_SEND_FAILED;
        snprintf(res->error, sizeof res->error, "alert \"%.100s\" is no longer configured",
                 r->alert);
        return;
    }
    struct bk_alert_secrets_owned sec = {0};
    struct bk_err e = {0};
    if (alert_secrets_load(a, &sec, &e) < 0) {
        res->outcome = BK_SEND_RETRY; /* a secret file being rotated: try again later */
        snprintf(res->error, sizeof res->error, "%.290s", e.msg);
        return;
    }
    json_error_t je;
    json_t *p = json_loads(r->payload, 0, &je);
    char *run = NULL;
    json_t *jr = p ? json_object_get(p, "run") : NULL;
    if (jr && json_is_object(jr))
        run = json_dumps(jr, JSON_COMPACT);
    json_int_t at = p ? json_integer_value(json_object_get(p, "at")) : 0;
#define S(k) (p ? json_string_value(json_object_get(p, k)) : NULL)
    struct bk_alert_msg m = {.id = r->uid,
                             .incident_id = r->incident,
                             .seq = r->seq,
                             .event = r->event,
                             .customer = S("customer"),
                             .source = S("source"),
                             .job = S("job"),
                             .status = S("status"),
                             .title = r->title,
                             .text = S("text"),
                             .html = S("html"),
                             .run_json = run,
                             .url = S("url"),
                             .at_ms = (int64_t)at};
#undef S
    if (strcmp(r->channel, "email") == 0)
        alert_mail_send(a, &sec.s, &m, 8000, res); /* serve stops within 10 s */
    else
        alert_webhook_send(a, &sec.s, &m, 8000, res);
    free(run);
    json_decref(p);
    alert_secrets_free(&sec);
}

int alert_deliver_due(struct bk_store *s, const struct bk_config *cfg, const char *instance,
                      int64_t now_ms, int max, volatile sig_atomic_t *stop,
                      struct alert_deliver_stats *st, struct bk_err *err)
{
    struct rows rows = {0};
    int rc = store_outbox_claim(s, instance, now_ms, ALERT_LEASE_MS, max, take, &rows, err);
    size_t i = 0;
    for (; rc >= 0 && i < rows.n && !(stop && *stop); i++) {
        struct row *r = &rows.v[i];
        struct bk_send_result res;
        send_row(cfg, r, &res);
        const char *state = "sent";
        int64_t next = now_ms;
        if (res.outcome == BK_SEND_RETRY && r->attempts < ALERT_MAX_ATTEMPTS) {
            state = "pending";
            int64_t wait =
                res.retry_after_ms > 0 ? res.retry_after_ms : alert_backoff_ms(r->attempts);
            if (wait > 3600000)
                wait = 3600000;
            next = now_ms + wait;
            log_warn("alert %s (%s, %s): attempt %d failed, next in %lld s: %s", r->alert,
                     r->channel, r->event, r->attempts, (long long)(wait / 1000), res.error);
            if (st)
                st->retried++;
        } else if (res.outcome != BK_SEND_OK) {
            state = "failed";
            log_err("alert %s (%s, %s): not delivered after %d attempt(s): %s", r->alert,
                    r->channel, r->event, r->attempts, res.error);
            if (st)
                st->failed++;
        } else {
            log_info("alert %s (%s): %s delivered", r->alert, r->channel, r->event);
            if (st)
                st->sent++;
        }
        rc = store_outbox_done(s, r->id, instance, state, next, res.code, res.error, now_ms, err);
    }
    for (; i < rows.n; i++) { /* stopping: the next serve sends them at once, not in 5 min */
        struct bk_err e2 = {0};
        store_outbox_release(s, rows.v[i].id, instance, &e2);
    }
    for (size_t k = 0; k < rows.n; k++) {
        struct row *r = &rows.v[k];
        free(r->uid);
        free(r->alert);
        free(r->channel);
        free(r->event);
        free(r->title);
        free(r->payload);
        free(r->incident);
    }
    free(rows.v);
    return rc < 0 ? rc : (int)rows.n;
}
