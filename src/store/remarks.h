/* Remarks: an operator's note on runs (issue 13), as the API reads and writes them (issue 11:
 * the web layer holds no SQL). Rows of the reads are (id, body, created_by, created_at),
 * newest first; borrowed for the duration of the callback. */
#ifndef BK_STORE_REMARKS_H
#define BK_STORE_REMARKS_H

#include "store/page.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bk_err;
struct bk_store;
struct store_row;

/* GET /api/v1/remarks: (id, body, created_by, created_at). Conditions ('?' placeholders): */
extern const struct store_listq STORE_LIST_REMARKS;
#define STORE_REMARKS_OF_RUN                                                                       \
    "EXISTS (SELECT 1 FROM remark_run rr WHERE rr.remark_id = m.id AND rr.run_id = ?)"
#define STORE_REMARKS_OF_JOB                                                                       \
    "EXISTS (SELECT 1 FROM remark_run rr JOIN job_run r ON r.id = rr.run_id"                       \
    " WHERE rr.remark_id = m.id AND r.job_id = ?)"

/* The remark id (no row when there is none). 0 or -1. */
int store_remark_get(struct bk_store *s, int64_t id, int (*cb)(const struct store_row *r, void *ud),
                     void *ud, struct bk_err *err);
/* The remarks on run run_id. 0 or -1. */
int store_remarks_of_run(struct bk_store *s, int64_t run_id,
                         int (*cb)(const struct store_row *r, void *ud), void *ud,
                         struct bk_err *err);
/* The newest limit remarks on any run of job job_id, each once. 0 or -1. */
int store_remarks_of_job(struct bk_store *s, int64_t job_id, int64_t limit,
                         int (*cb)(const struct store_row *r, void *ud), void *ud,
                         struct bk_err *err);
/* The runs a remark is on, in id order: rows of (run_id). 0 or -1. */
int store_remark_runs(struct bk_store *s, int64_t remark_id,
                      int (*cb)(const struct store_row *r, void *ud), void *ud, struct bk_err *err);
/* A new remark by who at now_ms on the runs ids[0..n) (an id twice is linked once; the caller
 * checked they exist); *id gets its id. In the caller's transaction. 0 or -1. */
int store_remark_add(struct bk_store *s, const char *body, const char *who, int64_t now_ms,
                     const int64_t *ids, size_t n, int64_t *id, struct bk_err *err);
/* Change a remark's text. 0 or -1. */
int store_remark_body_set(struct bk_store *s, int64_t id, const char *body, struct bk_err *err);
/* Delete a remark and its links to runs (the caller's transaction). 0 or -1. */
int store_remark_delete(struct bk_store *s, int64_t id, struct bk_err *err);

/* Does job id / run id exist? *exists says. 0 or -1. */
int store_job_exists(struct bk_store *s, int64_t id, bool *exists, struct bk_err *err);
int store_run_exists(struct bk_store *s, int64_t id, bool *exists, struct bk_err *err);

#endif
