/* The final report of `backupctl backup`: the original script's text layout (one block per
 * job when there are several), French labels, and the JSON form of DESIGN §3. */
#ifndef BK_CLI_REPORT_H
#define BK_CLI_REPORT_H

#include "cli/backup_opts.h"
#include "providers/hycu_parse.h"

#include <jansson.h>
#include <stdio.h>

struct backup_job_result {
    char *id;
    struct hycu_job job; /* last state seen; job.raw_status NULL if never read */
    bool final;
    int exit_code;      /* per-job code once final */
    const char *status; /* normalised: success, warning, failed, cancelled, unknown, running */
};

struct backup_result {
    int64_t timestamp_ms;
    char *backup_name;
    const char *kind; /* "vm", "policy", … or NULL */
    char *entity_uuid;
    struct backup_job_result *jobs;
    size_t njobs;
    int exit_code;
    const char *status; /* normalised run status */
    char *error;        /* run-level error (timeout, interruption, …), may be NULL */
};

void backup_result_free(struct backup_result *r);
/* Caller json_decref()s. */
json_t *report_json(const struct backup_result *r);
void report_write_text(FILE *f, const struct backup_result *r, enum report_lang lang);
/* Writes the report in the chosen format to f. */
void report_write(FILE *f, const struct backup_result *r, enum report_format fmt,
                  enum report_lang lang);

#endif
