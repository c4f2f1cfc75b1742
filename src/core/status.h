/* The vendor-neutral run status of DESIGN §4. Vendors map their words onto these in their
 * *_parse.c tables; unmapped words become BK_RUN_UNKNOWN and never count as success. */
#ifndef BK_CORE_STATUS_H
#define BK_CORE_STATUS_H

enum bk_run_status {
    BK_RUN_SUCCESS = 0,
    BK_RUN_WARNING,
    BK_RUN_FAILED,
    BK_RUN_RUNNING,
    BK_RUN_MISSED,
    BK_RUN_UNKNOWN,
};

/* "success", "warning", … (static strings). */
const char *bk_run_status_name(enum bk_run_status s);
/* Inverse of bk_run_status_name; 0 or -BK_EINVAL. */
int bk_run_status_parse(const char *name, enum bk_run_status *out);

#endif
