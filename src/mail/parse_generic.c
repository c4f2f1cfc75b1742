/* The keyword parser (see parse_generic.h). */
#include "mail/parse_generic.h"

#include "mail/mime.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

int mail_parse_generic(const struct mail_msg *m, const struct mail_parse_ctx *ctx,
                       struct mail_result *r)
{
    const char *on = mail_strcasestr(m->subject, "Backup on ");
    if (!on)
        return 0;
    const char *host = on + strlen("Backup on ");
    size_t hl = strcspn(host, " ");
    if (!hl)
        return 0;
    r->kind = MAIL_RUN;
    r->product = "wsb";
    r->job_type = xstrdup("Windows Server Backup");
    r->job_name = mail_trim_dup(host, hl);
    const char *text = *m->html_text ? m->html_text : m->text;
    enum bk_run_status a = mail_keyword_status(m->subject);
    const char *res = mail_strcasestr(text, "Backup Result");
    char *line = res ? mail_trim_dup(res + 13, strcspn(res + 13, "\n")) : NULL;
    enum bk_run_status b = line ? mail_keyword_status(line) : BK_RUN_UNKNOWN;
    free(line);
    /* failure beats success, wherever it is said */
    r->status = a == BK_RUN_FAILED || b == BK_RUN_FAILED     ? BK_RUN_FAILED
                : a == BK_RUN_WARNING || b == BK_RUN_WARNING ? BK_RUN_WARNING
                : a == BK_RUN_SUCCESS                        ? BK_RUN_SUCCESS
                                                             : BK_RUN_UNKNOWN;
    r->raw_status = mail_trim_dup(m->subject, (size_t)(on - m->subject));
    const char *em = mail_strcasestr(text, "Error Message");
    if (em && r->status == BK_RUN_FAILED) {
        em += strlen("Error Message");
        while (*em == ':' || *em == ' ' || *em == '\t' || *em == '\n')
            em++;
        size_t n = strcspn(em, "\n");
        if (n)
            r->message = mail_trim_dup(em, n);
    }
    return 1;
}
