/* Fuzz target: raw bytes through the whole report e-mail decoding and every parser (MIME with
 * GMime, HTML with libxml2, the product registry, the rule key) — never a crash, a hang or a
 * run without a job name. Each parser also runs on its own on every input: in the registry a
 * parser sees only what the ones before it declined, so a Veeam-looking input would never
 * reach the Synology parser. */
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
    static const mail_parser_fn each[] = {
        mail_parse_veeam,     mail_parse_vb365,   mail_parse_synology, mail_parse_nakivo,
        mail_parse_duplicati, mail_parse_notarun, mail_parse_generic};
    for (size_t p = 0; p < sizeof each / sizeof each[0]; p++) {
        struct mail_result one = {.status = BK_RUN_UNKNOWN};
        if (each[p](m, &ctx, &one) && one.kind == MAIL_RUN)
            for (size_t i = 0; i < one.nobjects; i++)
                if (!one.objects[i].name || !one.objects[i].raw_status)
                    abort();
        mail_result_clear(&one);
    }
    char *key = mail_rule_key(m->subject);
    free(key);
    mail_result_clear(&r);
    mail_msg_free(m);
    return 0;
}
