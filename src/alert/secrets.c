/* Resolving the secrets of one [alert] section (alert.h): the webhook URL (Slack and Teams
 * URLs carry their token), the HMAC signing key and the SMTP password. Errors name the section
 * and the key, never the value; alert_secrets_free wipes the copies before freeing them. */
#include "alert/alert.h"

#include "config/config.h"
#include "secrets/secretfile.h"
#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool ref_set(const struct bk_secret_ref *r)
{
    return r->file || r->env;
}

static int resolve(const struct bk_alert_cfg *a, const struct bk_secret_ref *r, const char *key,
                   char **out, struct bk_err *err)
{
    char what[200];
    snprintf(what, sizeof what, "alert \"%.100s\" %s", a->name, key);
    return secret_resolve(r, what, out, err);
}

int alert_secrets_load(const struct bk_alert_cfg *a, struct bk_alert_secrets_owned *out,
                       struct bk_err *err)
{
    memset(out, 0, sizeof *out);
    int rc = 0;
    if (ref_set(&a->webhook_ref))
        rc = resolve(a, &a->webhook_ref, "webhook", &out->webhook_url, err);
    else if (a->webhook)
        out->webhook_url = xstrdup(a->webhook);
    if (rc == 0 && ref_set(&a->hmac))
        rc = resolve(a, &a->hmac, "secret", &out->hmac_key, err);
    if (rc == 0 && ref_set(&a->smtp_password))
        rc = resolve(a, &a->smtp_password, "smtp_password", &out->smtp_password, err);
    if (rc < 0) {
        alert_secrets_free(out);
        return rc;
    }
    /* masked in every later log line; a webhook URL written in the file is no secret */
    if (ref_set(&a->webhook_ref))
        log_add_secret(out->webhook_url);
    if (out->hmac_key)
        log_add_secret(out->hmac_key);
    if (out->smtp_password)
        log_add_secret(out->smtp_password);
    out->s.webhook_url = out->webhook_url;
    out->s.hmac_key = out->hmac_key;
    out->s.smtp_password = out->smtp_password;
    return 0;
}

static void wipe(char **p)
{
    if (*p) {
        /* volatile: a memset right before free() may otherwise be optimised away */
        volatile char *v = *p;
        for (size_t i = 0; v[i]; i++)
            v[i] = 0;
        free(*p);
        *p = NULL;
    }
}

void alert_secrets_free(struct bk_alert_secrets_owned *o)
{
    if (!o)
        return;
    wipe(&o->webhook_url);
    wipe(&o->hmac_key);
    wipe(&o->smtp_password);
    memset(&o->s, 0, sizeof o->s);
}
