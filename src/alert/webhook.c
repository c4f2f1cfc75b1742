/* The webhook channel (see alert.h): DESIGN §6's JSON, or Slack's / Teams' incoming-webhook
 * bodies; Idempotency-Key, the section's headers and an HMAC-SHA256 signature. */
#include "alert/alert.h"

#include "config/config.h"
#include "http/http.h"
#include "util/err.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *alert_webhook_body(int format, const struct bk_alert_msg *m)
{
    enum bk_alert_format f = (enum bk_alert_format)format;
    json_t *o = json_object();
    const char *title = m->title ? m->title : "backupctl";
    if (f == BK_ALERT_SLACK) {
        char *t =
            m->url ? xasprintf("%s\n%s\n<%s|Open the job>", title, m->text ? m->text : "", m->url)
                   : xasprintf("%s\n%s", title, m->text ? m->text : "");
        json_object_set_new(o, "text", json_string(t));
        free(t);
    } else if (f == BK_ALERT_TEAMS) {
        json_object_set_new(o, "@type", json_string("MessageCard"));
        json_object_set_new(o, "@context", json_string("https://schema.org/extensions"));
        json_object_set_new(o, "summary", json_string(title));
        json_object_set_new(o, "title", json_string(title));
        json_object_set_new(o, "text", json_string(m->text ? m->text : ""));
        if (m->url) {
            json_t *act = json_object(), *tgt = json_object(), *a = json_array(), *t = json_array();
            json_object_set_new(tgt, "os", json_string("default"));
            json_object_set_new(tgt, "uri", json_string(m->url));
            json_array_append_new(t, tgt);
            json_object_set_new(act, "@type", json_string("OpenUri"));
            json_object_set_new(act, "name", json_string("Open the job"));
            json_object_set_new(act, "targets", t);
            json_array_append_new(a, act);
            json_object_set_new(o, "potentialAction", a);
        }
    } else {
        json_object_set_new(o, "id", json_string(m->id ? m->id : ""));
        json_object_set_new(o, "incident",
                            m->incident_id ? json_string(m->incident_id) : json_null());
        json_object_set_new(o, "event", json_string(m->event ? m->event : ""));
#define S(k, v) json_object_set_new(o, k, (v) ? json_string(v) : json_null())
        S("customer", m->customer);
        S("source", m->source);
        S("job", m->job);
        S("status", m->status);
        S("title", m->title);
        S("text", m->text);
        S("url", m->url);
#undef S
        json_t *run = NULL;
        if (m->run_json) {
            json_error_t je;
            run = json_loads(m->run_json, 0, &je);
        }
        json_object_set_new(o, "run", run ? run : json_null());
        char at[40] = "";
        if (m->at_ms)
            bk_iso8601(m->at_ms, at, sizeof at);
        json_object_set_new(o, "at", *at ? json_string(at) : json_null());
    }
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s ? s : xstrdup("{}");
}

void alert_webhook_send(const struct bk_alert_cfg *a, const struct bk_alert_secrets *sec,
                        const struct bk_alert_msg *m, long timeout_ms, struct bk_send_result *res)
{
    memset(res, 0, sizeof *res);
    const char *url = sec && sec->webhook_url ? sec->webhook_url : a->webhook;
    if (!url) {
        res->outcome = BK_SEND_FAILED;
        snprintf(res->error, sizeof res->error, "alert \"%s\": no webhook URL", a->name);
        return;
    }
    if (sodium_init() < 0) {
        res->outcome = BK_SEND_RETRY;
        snprintf(res->error, sizeof res->error, "libsodium did not initialise");
        return;
    }
    char *body = alert_webhook_body((int)a->format, m);
    size_t nh = 0;
    const char **hdrs = xcalloc(a->nheaders + 4, sizeof *hdrs);
    char *idem = xasprintf("Idempotency-Key: %s", m->id ? m->id : "");
    hdrs[nh++] = idem;
    char *sig = NULL;
    if (sec && sec->hmac_key) {
        unsigned char mac[crypto_auth_hmacsha256_BYTES];
        crypto_auth_hmacsha256_state st;
        crypto_auth_hmacsha256_init(&st, (const unsigned char *)sec->hmac_key,
                                    strlen(sec->hmac_key));
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
        crypto_auth_hmacsha256_final(&st, mac);
        char hex[2 * sizeof mac + 1];
        sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
        sig = xasprintf("X-Backupctl-Signature: sha256=%s", hex);
        hdrs[nh++] = sig;
        sodium_memzero(&st, sizeof st);
    }
    for (size_t i = 0; i < a->nheaders; i++)
        hdrs[nh++] = a->headers[i];
    hdrs[nh] = NULL;
    struct http_opts o = {.timeout_ms = timeout_ms,
                          .connect_timeout_ms = timeout_ms < 10000 ? timeout_ms : 10000,
                          .max_body = 64 * 1024,
                          .ca_file = a->ca_file,
                          .insecure = a->insecure,
                          .retries = 0};
    struct http_client *c = http_client_new(&o);
    /* The URL may carry a token (Slack, Teams): the logger never prints it. */
    log_add_secret(url);
    struct http_req rq = {.method = "POST",
                          .url = url,
                          .body = body,
                          .body_len = strlen(body),
                          .content_type = "application/json",
                          .headers = hdrs,
                          .retry = HTTP_RETRY_NONE};
    struct http_resp rs;
    struct bk_err e = {0};
    int rc = http_request(c, &rq, &rs, &e);
    res->code = rs.status;
    if (rc == 0) {
        res->outcome = BK_SEND_OK;
    } else {
        long st = rs.status;
        bool retry = rs.transport != 0 || st == 408 || st == 425 || st == 429 || st >= 500;
        res->outcome = retry ? BK_SEND_RETRY : BK_SEND_FAILED;
        res->retry_after_ms = rs.retry_after_s > 0 ? rs.retry_after_s * 1000 : 0;
        /* never the URL: it may be the secret */
        if (st)
            snprintf(res->error, sizeof res->error, "webhook answered HTTP %ld", st);
        else
            snprintf(res->error, sizeof res->error, "webhook unreachable (%s)",
                     bk_status_name(e.code));
    }
    http_resp_free(&rs);
    http_client_free(c);
    free(sig);
    free(idem);
    free(hdrs);
    free(body);
}
