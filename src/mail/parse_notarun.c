/* The not-a-run classifier (see parse_notarun.h). */
#include "mail/parse_notarun.h"

#include "mail/mime.h"
#include "util/xalloc.h"

#include <string.h>

int mail_parse_notarun(const struct mail_msg *m, const struct mail_parse_ctx *ctx,
                       struct mail_result *r)
{
    const char *text = *m->html_text ? m->html_text : m->text;
    const char *why = NULL;
    static const char *const digests[] = {"daily summary",     "daily report", "daily recap",
                                          "malware detection", "digest",       "weekly report"};
    bool veeam = mail_strcasestr(text, "Veeam Backup & Replication") ||
                 mail_strcasestr(text, "Veeam Backup for Microsoft 365");
    for (size_t i = 0; i < sizeof digests / sizeof digests[0] && !why; i++)
        if (mail_strcasestr(m->subject, digests[i]))
            why = veeam ? "a Veeam report that is not a job session" : "a digest or summary";
    if (!why && veeam)
        why = "a Veeam report that is not a job session";
    if (!why && mail_strcasestr(text, "Acronis") && mail_strcasestr(text, "recap"))
        why = "an Acronis daily recap (a digest)";
    if (!why && (m->list_mail || mail_strcasestr(text, "unsubscribe")))
        why = "list mail (a newsletter)";
    if (!why)
        return 0;
    r->kind = MAIL_NOT_A_RUN;
    r->product = veeam ? "veeam" : NULL;
    r->reason = xstrdup(why);
    return 1;
}
