/* The NAKIVO placeholder parser (see parse_nakivo.h). */
#include "mail/parse_nakivo.h"

#include "mail/mime.h"
#include "util/str.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

/* The value of a "Key: value" line of text (the first one), fresh, or NULL. */
static char *line_value(const char *text, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, key, kl) == 0 && p[kl] == ':') {
            const char *v = p + kl + 1;
            return mail_trim_dup(v, strcspn(v, "\r\n"));
        }
    }
    return NULL;
}

int mail_parse_nakivo(const struct mail_msg *m, const struct mail_parse_ctx *ctx,
                      struct mail_result *r)
{
    const char *text = *m->text ? m->text : m->html_text;
    if (!mail_strcasestr(text, "NAKIVO"))
        return 0;
    char *job = line_value(text, "Job"), *status = line_value(text, "Status");
    if (!job || !status) {
        free(job);
        free(status);
        return 0;
    }
    r->kind = MAIL_RUN;
    r->product = "nakivo";
    r->job_type = xstrdup("Backup");
    r->job_name = job;
    r->raw_status = status;
    if (strncmp(status, "Successful", 10) == 0)
        r->status = BK_RUN_SUCCESS;
    else if (strncmp(status, "Failed", 6) == 0)
        r->status = BK_RUN_FAILED;
    else if (strncmp(status, "Stopped", 7) == 0) {
        /* "Stopped (3 VM successful. 0 VM failed. 2 VM stopped)": failed VMs make it failed */
        const char *f = strstr(status, " VM failed");
        int64_t nf = 0;
        if (f) {
            const char *d = f;
            while (d > status && d[-1] >= '0' && d[-1] <= '9')
                d--;
            char num[12];
            size_t n = (size_t)(f - d) < sizeof num ? (size_t)(f - d) : sizeof num - 1;
            memcpy(num, d, n);
            num[n] = '\0';
            if (str_to_i64(num, &nf) < 0)
                nf = 0;
        }
        r->status = nf > 0 ? BK_RUN_FAILED : BK_RUN_WARNING;
    } else
        r->status = BK_RUN_UNKNOWN;
    return 1;
}
