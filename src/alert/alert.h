/* Alerts (issue 10): what a channel delivers, and the e-mail side's entry points.
 *
 * The pipeline: after every poll / expected-runs evaluation, the engine (engine.c) turns job
 * state changes into incidents and writes one outbox row per (alert section, message) in the
 * same transaction (store/alerts.c); the delivery worker (deliver.c) claims due rows, builds a
 * struct bk_alert_msg from each and hands it to a channel: webhook.c or mail.c. A channel makes
 * ONE attempt and says whether to retry; the worker owns backoff, Retry-After and restarts.
 * Secrets are resolved by the caller (the worker) and passed in; a channel never logs them and
 * never puts them in the error it returns. */
#ifndef BK_ALERT_ALERT_H
#define BK_ALERT_ALERT_H

#include <stddef.h>
#include <stdint.h>

struct bk_alert_cfg;

/* One message of one incident, as every channel sees it. Strings are UTF-8; NULL = absent. */
struct bk_alert_msg {
    const char *id;          /* delivery id: the webhook's Idempotency-Key, unique per message */
    const char *incident_id; /* stable per incident: threads its mails (Message-ID/In-Reply-To) */
    int seq;                 /* 0 = the message that opened the incident, 1.. the follow-ups */
    const char *event;       /* run.failed | run.missed | run.warning | run.recovered | reminder |
                                source.down | job.stale | job.offline | summary | test */
    const char *customer, *source, *job, *status;
    const char *title;    /* one line, e.g. "Failed: Acme / srv-01 (cove-msp1)" */
    const char *text;     /* plain-text body */
    const char *html;     /* HTML body (mail's text/html part), or NULL to derive it from text */
    const char *run_json; /* DESIGN §6's "run" object as JSON text, or NULL */
    const char *url;      /* link to the job page (server.public_url + #/jobs/ID), or NULL */
    int64_t at_ms;        /* when what it reports happened (UTC epoch ms) */
};

/* A channel's answer to one attempt. */
enum bk_send_outcome { BK_SEND_OK = 0, BK_SEND_RETRY = 1, BK_SEND_FAILED = 2 };
struct bk_send_result {
    enum bk_send_outcome outcome;
    int64_t retry_after_ms; /* the receiver's Retry-After, 0 = none */
    long code;              /* HTTP status or SMTP reply code, 0 = none */
    char error[300];        /* one line, no secrets, empty when OK */
};

/* Secrets a channel needs, resolved by the caller (NULL = not configured). */
struct bk_alert_secrets {
    const char *webhook_url;   /* webhook_file / webhook_env (else cfg->webhook) */
    const char *hmac_key;      /* secret_file / secret_env */
    const char *smtp_password; /* smtp_password_file / smtp_password_env */
};

/* The secrets of one alert section, resolved (secrets.c). Owned copies; alert_secrets_free
 * wipes them. 0, or -BK_ECONFIG/-BK_EIO with err naming the section and key, never the
 * value. */
struct bk_alert_secrets_owned {
    struct bk_alert_secrets s; /* points into the fields below */
    char *webhook_url, *hmac_key, *smtp_password;
};
struct bk_err;
int alert_secrets_load(const struct bk_alert_cfg *a, struct bk_alert_secrets_owned *out,
                       struct bk_err *err);
void alert_secrets_free(struct bk_alert_secrets_owned *o);

/* Webhook (webhook.c): one POST of m to sec->webhook_url (or a->webhook), body per a->format
 * (DESIGN §6 JSON, Slack or Teams), header Idempotency-Key: m->id, a->headers, and when
 * sec->hmac_key is set X-Backupctl-Signature: sha256=HEX(HMAC-SHA256(key, body)).
 * 2xx = OK; 408/425/429/5xx and transport errors = RETRY (Retry-After honoured); other
 * 4xx = FAILED. */
void alert_webhook_send(const struct bk_alert_cfg *a, const struct bk_alert_secrets *sec,
                        const struct bk_alert_msg *m, long timeout_ms, struct bk_send_result *res);
/* The body alert_webhook_send posts (allocated): DESIGN §6's JSON object, Slack's {"text"}
 * or a Teams MessageCard (format is enum bk_alert_format). */
char *alert_webhook_body(int format, const struct bk_alert_msg *m);

/* E-mail (mail.c): one message to every address of a->to over a->smtp, STARTTLS required
 * unless a->tls_off, AUTH when a->smtp_username is set; text + HTML parts, Date, Message-ID
 * "<incident_id.seq@host>", In-Reply-To/References to the incident's first message for
 * seq > 0, and the job link. timeout_ms bounds the whole attempt. */
void alert_mail_send(const struct bk_alert_cfg *a, const struct bk_alert_secrets *sec,
                     const struct bk_alert_msg *m, long timeout_ms, struct bk_send_result *res);

/* The daily summary (mail.c / summary.c): one scope (a customer, or every customer) over
 * [from_ms, to_ms). items lists the failures, misses and warnings; when nitems is 0 the
 * summary says "all N backups OK". */
struct bk_summary_item {
    const char *customer, *source, *job, *status, *message;
    const char *url; /* job page link, or NULL */
    int64_t at_ms;
};
struct bk_summary {
    const char *scope; /* customer name, or "all customers" */
    const char *tz;    /* zone name the times are shown in (NULL = UTC) */
    int64_t from_ms, to_ms;
    size_t total_jobs; /* jobs in scope expected or run during the period */
    const struct bk_summary_item *items;
    size_t nitems;
};
/* The summary's title, text and HTML, allocated (free with alert_body_free). */
struct bk_alert_body {
    char *title, *text, *html;
};
void alert_summary_build(const struct bk_summary *s, struct bk_alert_body *out);
void alert_body_free(struct bk_alert_body *b);

#endif
