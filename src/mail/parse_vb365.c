/* The VB365 parser (see parse_vb365.h). */
#include "mail/parse_vb365.h"

#include "mail/html.h"
#include "mail/mime.h"
#include "mail/parse_veeam.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

int mail_parse_vb365(const struct mail_msg *m, const struct mail_parse_ctx *ctx,
                     struct mail_result *r)
{
    if (!mail_strcasestr(m->html_text, "Veeam Backup for Microsoft 365") ||
        !(strstr(m->html, "processObjectsHeader") || strstr(m->html, "sessionDetails") ||
          mail_strcasestr(m->subject, " objects)")))
        return 0;
    r->kind = MAIL_RUN;
    r->product = "vb365";
    r->job_type = xstrdup("Microsoft 365 backup");
    /* "[Warning] Contoso - Exchange (1200 objects), 2 issues" */
    const char *lb = strchr(m->subject, '['), *rb = lb ? strchr(lb, ']') : NULL;
    if (lb && rb) {
        char *word = mail_trim_dup(lb + 1, (size_t)(rb - lb - 1));
        r->status = mail_veeam_status(word);
        r->raw_status = word;
        const char *name = rb + 1, *par = strstr(name, " (");
        if (par)
            r->job_name = mail_trim_dup(name, (size_t)(par - name));
    }
    for (size_t i = 0; i < m->nrows && (!r->job_name || !*r->job_name); i++) {
        const char *c = m->rows[i].cells[0], *j = strstr(c, " job: ");
        if (j) {
            free(r->job_name);
            r->job_name = mail_trim_dup(j + 6, strcspn(j + 6, "\n"));
        }
    }
    if (!r->raw_status) {
        r->status = mail_keyword_status(m->subject);
        r->raw_status =
            xstrdup(r->status == BK_RUN_UNKNOWN ? "none" : bk_run_status_name(r->status));
    }
    mail_veeam_objects(m, 0, r);
    return 1;
}
