/* Fuzz target: every Cove reply parser (the one-pass JSON reader, envelope, totals, login,
 * row flattening and the row → job/run/object mapping). */
#include "core/model.h"
#include "providers/cove_parse.h"
#include "util/err.h"
#include "util/log.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    log_set_level(LOG_ERROR); /* skipped-row and unmapped-status warnings would flood */
    const char *s = (const char *)data;
    struct bk_err err = {0};
    struct cove_reply r;
    int rc = cove_parse_reply(s, size, &r, &err);
    if (r.vendor_error && rc != -BK_EPROTO)
        abort(); /* a vendor error is always a failed parse, never retried as malformed */
    int64_t total;
    (void)cove_total(&r, "COUNT(1)", &total);
    if (rc == 0) {
        struct bk_batch b = {0};
        size_t rows, skipped;
        (void)cove_map_page(&r, 1700000000000LL, &b, &rows, &skipped, &err);
        bk_batch_free(&b);
        struct cove_row *row = malloc(sizeof *row);
        for (size_t i = 0; row && i < r.nrows && i < 4; i++) {
            if (cove_reply_row(&r, i, row, &err) < 0)
                continue;
            (void)cove_row_get(row, "D9F0");
            struct bk_job_rec job;
            struct bk_run_rec run;
            bool has_run;
            if (cove_map_row(row, 0, &job, &run, &has_run, &err) == 0) {
                bk_job_rec_clear(&job);
                bk_run_rec_clear(&run);
            }
        }
        free(row);
    }
    cove_reply_free(&r);
    struct cove_login l;
    rc = cove_parse_login(s, size, &l, &err);
    if (rc == 0 && l.vendor_error)
        abort();
    cove_login_clear(&l);
    return 0;
}
