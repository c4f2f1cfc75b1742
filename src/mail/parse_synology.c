/* The Synology placeholder parser (see parse_synology.h). */
#include "mail/parse_synology.h"

#include "mail/mime.h"
#include "util/xalloc.h"

#include <string.h>

int mail_parse_synology(const struct mail_msg *m, const struct mail_parse_ctx *ctx,
                        struct mail_result *r)
{
    const char *text = *m->text ? m->text : m->html_text;
    bool hb = mail_strcasestr(text, "Hyper Backup") || mail_strcasestr(m->subject, "Hyper Backup");
    bool abb = mail_strcasestr(text, "Active Backup for Business") ||
               mail_strcasestr(m->subject, "Active Backup for Business");
    if (!hb && !abb)
        return 0;
    const char *t = mail_strcasestr(text, "task [");
    const char *end = t ? strchr(t + 6, ']') : NULL;
    if (!t || !end || end - t > 300)
        return 0;
    r->kind = MAIL_RUN;
    r->product = abb ? "synology_abb" : "synology_hyper_backup";
    r->job_type = xstrdup(abb ? "Active Backup for Business" : "Hyper Backup");
    r->job_name = mail_trim_dup(t + 6, (size_t)(end - t - 6));
    const char *rest = end + 1;
    static const struct {
        const char *word;
        enum bk_run_status st;
    } outcomes[] = {{"partially completed", BK_RUN_WARNING},
                    {"failed", BK_RUN_FAILED},
                    {"cancelled", BK_RUN_FAILED},
                    {"canceled", BK_RUN_FAILED},
                    {"suspended", BK_RUN_FAILED},
                    {"completed", BK_RUN_SUCCESS},
                    {"succeeded", BK_RUN_SUCCESS}};
    r->status = BK_RUN_UNKNOWN;
    for (size_t i = 0; i < sizeof outcomes / sizeof outcomes[0]; i++)
        if (mail_strcasestr(rest, outcomes[i].word)) {
            r->status = outcomes[i].st;
            r->raw_status = xstrdup(outcomes[i].word);
            break;
        }
    if (!r->raw_status)
        r->raw_status = xstrdup("none");
    return 1;
}
