/* Fuzz target: the --backup-config and --auth-file documents. */
#include "cli/backup_opts.h"
#include "util/err.h"
#include "util/log.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    if (!quiet) {
        log_set_level(LOG_ERROR); /* ignored-key warnings would flood the fuzzer */
        quiet = 1;
    }
    const char *s = (const char *)data;
    struct bk_err err = {0};
    for (int api = 0; api < 2; api++) {
        struct backup_opts o;
        memset(&o, 0, sizeof o);
        o.kinds = HYCU_KIND_ALL;
        backup_config_parse(s, size, (enum hycu_dialect)api, &o, &err);
        backup_opts_free(&o);
    }
    char *t = NULL, *u = NULL, *p = NULL;
    if (auth_file_parse(s, size, &t, &u, &p, &err) == 0) {
        free(t);
        free(u);
        free(p);
    }
    return 0;
}
