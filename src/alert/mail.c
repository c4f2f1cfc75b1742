/* PLACEHOLDER until the e-mail channel lands (issue 10, branch i10-mail): refuses to send, so
 * nothing can mistake it for a delivery. */
#include "alert/alert.h"

#include "util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void alert_mail_send(const struct bk_alert_cfg *a, const struct bk_alert_secrets *sec,
                     const struct bk_alert_msg *m, long timeout_ms, struct bk_send_result *res)
{
    (void)a;
    (void)sec;
    (void)m;
    (void)timeout_ms;
    memset(res, 0, sizeof *res);
    res->outcome = BK_SEND_FAILED;
    snprintf(res->error, sizeof res->error, "e-mail delivery is not built yet");
}

void alert_summary_build(const struct bk_summary *s, struct bk_alert_body *out)
{
    out->title = xasprintf("Backup summary: %s", s->scope ? s->scope : "all customers");
    out->text = xasprintf("%zu problem(s) of %zu backups\n", s->nitems, s->total_jobs);
    out->html = NULL;
}

void alert_body_free(struct bk_alert_body *b)
{
    free(b->title);
    free(b->text);
    free(b->html);
    memset(b, 0, sizeof *b);
}
