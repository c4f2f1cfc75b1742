/* TEMPORARY (branch i10-mail): the webhook channel is built on another branch, which
 * replaces this file on merge. Until then it refuses, so nothing mistakes it for a delivery. */
#include "alert/alert.h"

#include <stdio.h>
#include <string.h>

void alert_webhook_send(const struct bk_alert_cfg *a, const struct bk_alert_secrets *sec,
                        const struct bk_alert_msg *m, long timeout_ms, struct bk_send_result *res)
{
    (void)a;
    (void)sec;
    (void)m;
    (void)timeout_ms;
    memset(res, 0, sizeof *res);
    res->outcome = BK_SEND_FAILED;
    snprintf(res->error, sizeof res->error, "webhook delivery is not built on this branch");
}
