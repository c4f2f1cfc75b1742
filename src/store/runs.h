/* The order of Run Checks (issue 13): runs grouped by customer, worst first. One rule, here:
 * a run's review rank (STORE_RUN_RANK_OF) is what "worst first" sorts on everywhere, and the
 * schema indexes exactly this expression (migration 13), so a page of the grouped list is read
 * from the index in order instead of sorting every unreviewed run. */
#ifndef BK_STORE_RUNS_H
#define BK_STORE_RUNS_H

#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bk_err;

/* Worst first: failed 6, missed 5, warning 4, unknown (and any other text) 3, running 2,
 * success 1; an overridden run ranks as a success. S and O name the status and override
 * columns. Changing it needs a migration that recreates the index job_run_review_rank, whose
 * expression must stay textually the same as the queries' (or SQLite stops using it). */
#define STORE_RUN_RANK_OF(S, O)                                                                    \
    "(CASE WHEN " O " = 1 THEN 1 WHEN " S " = 'failed' THEN 6 WHEN " S " = 'missed' THEN 5"        \
    " WHEN " S " = 'warning' THEN 4 WHEN " S " = 'unknown' THEN 3 WHEN " S " = 'running' THEN 2"   \
    " WHEN " S " = 'success' THEN 1 ELSE 3 END)"
#define STORE_RUN_RANK STORE_RUN_RANK_OF("r.status", "r.override")

/* The FROM of the run lists: r job_run, j job, s source, c customer (LEFT JOIN). */
#define STORE_RUN_FROM                                                                             \
    "job_run r JOIN job j ON j.id = r.job_id JOIN source s ON s.id = j.source_id"                  \
    " LEFT JOIN customer c ON c.id = j.customer_id"

/* The total order of "sort=customer" (what store_runs_by_customer pages through): customer
 * name, customer id (no customer first), rank descending, job name, job id, newest first. */
#define STORE_RUN_ORDER_CUSTOMER                                                                   \
    "COALESCE(c.name, ''), c.id, " STORE_RUN_RANK " DESC, j.name, j.id, r.start_at DESC,"          \
    " r.id DESC"

/* Conditions on runs r by their job, as subqueries so they read r alone ('?' placeholders). */
#define STORE_RUNS_OF_KIND "r.job_id IN (SELECT id FROM job WHERE kind = ?)"
#define STORE_RUNS_OF_SOURCE                                                                       \
    "r.job_id IN (SELECT id FROM job WHERE source_id IN (SELECT id FROM source WHERE name = ?))"
#define STORE_RUNS_OF_CUSTOMER_ID_OR_NAME                                                          \
    "r.job_id IN (SELECT id FROM job WHERE customer_id IN"                                         \
    " (SELECT id FROM customer WHERE id = ? OR name = ?))"
#define STORE_RUNS_OF_CUSTOMER_NAME                                                                \
    "r.job_id IN (SELECT id FROM job WHERE customer_id IN (SELECT id FROM customer WHERE name = "  \
    "?))"

/* A text condition on runs: the job name, the customer name or the run's message contains text,
 * case-insensitively. SQL over the aliases of STORE_RUN_FROM with '?' placeholders (in order),
 * its parameters in p (room for STORE_RUNS_TEXT_PARAMS; *np of them) borrowing the strings put
 * in owned[0..1] (caller frees them and the SQL after the query). The message part reads the
 * trigram index (migration 13, SQLite) when text has 3 characters or more, else (and on
 * PostgreSQL, which has no such index yet) it scans. */
#define STORE_RUNS_TEXT_PARAMS 3
char *store_runs_text_cond(const struct bk_store *s, const char *text, struct store_param *p,
                           size_t *np, char *owned[2]);

/* The (customer, rank) segments of the runs matching where (SQL over r alone, the conditions
 * above, with params p[0..np)) in the STORE_RUN_ORDER_CUSTOMER order, with their sizes: what
 * a page of the grouped list is read from, and what a caller may keep for a moment (a copy is
 * cheap: one entry per customer and rank). One covering pass over the index of the matching
 * runs. */
struct store_run_segment {
    bool no_customer;
    int64_t customer, rank, n;
};
struct store_run_segments {
    struct store_run_segment *v;
    size_t n;
    int64_t total; /* the sum of the sizes: the matching runs */
};
int store_runs_segments(struct bk_store *s, const char *where, const struct store_param *p,
                        size_t np, struct store_run_segments *out, struct bk_err *err);
void store_run_segments_free(struct store_run_segments *segs);

/* One page of those runs, skipping offset: their ids into ids (room for limit), *n of them.
 * A small set (a selective search) is sorted in one query; otherwise only the segments the
 * page overlaps are read, each in index order (no sort of the whole set). 0 or -1. */
int store_runs_page(struct bk_store *s, const struct store_run_segments *segs, const char *where,
                    const struct store_param *p, size_t np, int64_t limit, int64_t offset,
                    int64_t *ids, size_t *n, struct bk_err *err);

/* Both: the segments, then the page, and *total. 0 or -1. */
int store_runs_by_customer(struct bk_store *s, const char *where, const struct store_param *p,
                           size_t np, int64_t limit, int64_t offset, int64_t *ids, size_t *n,
                           int64_t *total, struct bk_err *err);

/* A review freezes a run (polls never change a reviewed run), so a run still running is never
 * reviewed: it would stay "running" and hide the failure that may follow. The unreviewed runs
 * of ids[0..n) (n > 0), or else of job, get reviewed_at = now and reviewed_by = who;
 * *reviewed says how many, *skipped how many were left because they are running. Runs in the
 * caller's transaction (the audit row goes with it). 0 or -1. */
int store_runs_review(struct bk_store *s, const int64_t *ids, size_t n, int64_t job,
                      const char *who, int64_t now, int64_t *reviewed, int64_t *skipped,
                      struct bk_err *err);

#endif
