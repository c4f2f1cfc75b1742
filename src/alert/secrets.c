/* An alert section's secrets, resolved for one delivery (see alert.h). */
#include "alert/alert.h"

#include "config/config.h"
#include "secrets/secretfile.h"
#include "util/err.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int one(const struct bk_alert_cfg *a, const struct bk_secret_ref *ref, const char *key,
               char **out, struct bk_err *err)
{
    if (!ref->file && !ref->env)
        return 0;
    char what[200];
    snprintf(what, sizeof what, "alert \"%s\" %s", a->name, key);
    return secret_resolve(ref, what, out, err);
}

int alert_secrets_load(const struct bk_alert_cfg *a, struct bk_alert_secrets_owned *out,
                       struct bk_err *err)
{
    memset(out, 0, sizeof *out);
    int rc;
    if ((rc = one(a, &a->webhook_ref, "webhook", &out->webhook_url, err)) < 0 ||
        (rc = one(a, &a->hmac, "secret", &out->hmac_key, err)) < 0 ||
        (rc = one(a, &a->smtp_password, "smtp_password", &out->smtp_password, err)) < 0) {
        alert_secrets_free(out);
        return rc;
    }
    if (!out->webhook_url && a->webhook)
        out->webhook_url = xstrdup(a->webhook);
    out->s.webhook_url = out->webhook_url;
    out->s.hmac_key = out->hmac_key;
    out->s.smtp_password = out->smtp_password;
    return 0;
}

static void wipe(char **p)
{
    if (*p) {
        volatile char *v = *p;
        for (size_t i = 0; v[i]; i++)
            v[i] = 0;
        free(*p);
        *p = NULL;
    }
}

void alert_secrets_free(struct bk_alert_secrets_owned *o)
{
    wipe(&o->webhook_url);
    wipe(&o->hmac_key);
    wipe(&o->smtp_password);
    memset(&o->s, 0, sizeof o->s);
}
