/* Fuzz target: raw bytes through the whole report e-mail decoding and every parser (MIME with
 * GMime, HTML with libxml2, the product registry, the rule key) — never a crash, a hang or a
 * run without a job name. */
#include "core/tzfile.h"
#include "mail/ingest.h"
#include "mail/mime.h"
#include "mail/parse.h"
#include "util/err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bk_err err = {0};
    struct mail_msg *m = NULL;
    if (mail_msg_parse((const char *)data, size, &m, &err) < 0)
        return 0;
    struct mail_parse_ctx ctx = {.tz = bk_tz_utc()};
    struct mail_result r;
    mail_parse(m, &ctx, &r);
    if (r.kind == MAIL_RUN && (!r.job_name || !*r.job_name))
        abort();
    for (size_t i = 0; i < r.nobjects; i++)
        if (!r.objects[i].name || !r.objects[i].raw_status)
            abort();
    char *key = mail_rule_key(m->subject);
    free(key);
    mail_result_clear(&r);
    mail_msg_free(m);
    return 0;
}
