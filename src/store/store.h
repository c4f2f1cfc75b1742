/* The store: jobs, runs and objects collected from vendors, exactly once (DESIGN §5).
 * A poll never holds the write lock across network I/O: pages land in staging tables in
 * short transactions (store_poll_stage), and the finished poll is applied to the live tables
 * in one short transaction (store_poll_finish) — a crash or kill mid-poll changes nothing
 * visible. A reviewed run is never modified. The functions dispatch to a backend
 * (store_sqlite.c today; PostgreSQL implements the same ops with the same SQL where it can).
 * Not thread-safe: one handle per thread; one writer process per SQLite file. */
#ifndef BK_STORE_STORE_H
#define BK_STORE_STORE_H

#include "core/model.h"
#include "core/schedule.h"

#include <stdbool.h>
#include <stdint.h>

struct bk_err;
struct bk_config;
struct bk_source_cfg;
struct bk_store;
struct bk_fpset;

/* Open (creating the file and running migrations) the database of cfg. Caller closes. */
int store_open(const struct bk_config *cfg, struct bk_store **out, struct bk_err *err);
/* Open an existing database for reading only (status, check): never creates or migrates. */
int store_open_ro(const struct bk_config *cfg, struct bk_store **out, struct bk_err *err);
void store_close(struct bk_store *s);
/* The engine behind a handle, for the few statements that cannot be the same on both (one
 * rule, in one place, in the module that needs it). */
enum store_engine { STORE_ENGINE_SQLITE = 0, STORE_ENGINE_POSTGRESQL };
enum store_engine store_engine(const struct bk_store *s);
/* serve: the engine's routine maintenance (SQLite's WAL checkpoints) runs on a thread of its
 * own, for s and every store opened after it, instead of inside whichever request's commit
 * crosses the line; until store_background_stop(s). A no-op where the engine needs none. */
int store_background_start(struct bk_store *s, struct bk_err *err);
void store_background_stop(struct bk_store *s);
/* Schema version after migrations. */
int store_schema_version(struct bk_store *s, int *version, struct bk_err *err);

/* Insert or update the source row of a configured source; *id receives its id. */
int store_source_sync(struct bk_store *s, const struct bk_source_cfg *src, int64_t *id,
                      struct bk_err *err);
/* Per-source key/value state (e.g. a HYCU cursor). *value NULL when absent; caller frees. */
int store_state_get(struct bk_store *s, int64_t source_id, const char *key, char **value,
                    struct bk_err *err);

/* Start a poll: discards the staging left by an interrupted poll of this source, marks its
 * poll_run "interrupted", and records a new poll_run "running". */
int store_poll_begin(struct bk_store *s, int64_t source_id, const char *instance, int64_t *poll_id,
                     struct bk_err *err);
/* Stage one page (one short transaction). Records of the same key within a poll replace each
 * other, so a page read twice (visa expiry, retry) is never counted twice. */
int store_poll_stage(struct bk_store *s, int64_t poll_id, const struct bk_batch *b,
                     struct bk_err *err);

enum store_poll_result { STORE_POLL_OK = 0, STORE_POLL_PARTIAL, STORE_POLL_FAILED };

/* The fingerprints (core/fpset.h) of the source's jobs that are not retired, put into set
 * (borrowed) as external id -> fingerprint. A job staged with a fingerprint gets it recorded by
 * the apply, in the same transaction. */
int store_fingerprints_load(struct bk_store *s, int64_t source_id, struct bk_fpset *set,
                            struct bk_err *err);

struct store_poll_outcome {
    enum store_poll_result result; /* OK: applied + disappeared jobs retired; PARTIAL: applied,
                                      nothing retired; FAILED: staging discarded */
    const char *error;             /* recorded on the poll_run (no secrets) */
    int64_t pages, devices;
    const char *state_key; /* optional state saved atomically with the apply */
    const char *state_value;
    /* Jobs the poll saw but did not stage because their fingerprint was unchanged (marked
     * seen in this set, borrowed; NULL: every job seen was staged). An OK poll retires only
     * the jobs neither staged nor marked seen here. */
    const struct bk_fpset *seen;
};

struct store_apply_stats {
    int64_t customers_changed, jobs_changed, jobs_retired, runs_new, runs_updated, objects_changed;
    int64_t runs_superseded;      /* running runs given a final status (also in runs_updated) */
    int64_t fingerprints_changed; /* job_fingerprint rows written */
};

int store_poll_finish(struct bk_store *s, int64_t poll_id, int64_t source_id,
                      const struct store_poll_outcome *o, struct store_apply_stats *st,
                      struct bk_err *err);

/* The final status of a run still "running" when a newer run of its job appeared and the
 * vendor no longer reports it. Cove's colour bar (digits, one per UTC day, the last one the day
 * of as_of_ms) tells, when the run's day has a final digit and nothing else could have
 * coloured that day: no other known run of the job that day (others_that_day) and the newer
 * run (next_start_ms) on a later day. Then *digit gets the digit and the result is its status
 * (5 success, 8 warning, 2 3 6 7 failed, 4 unknown). Otherwise *digit is '\0' and the result
 * is BK_RUN_UNKNOWN: the end was never reported — never success. Pure. */
enum bk_run_status store_superseded_status(const char *bar, int64_t as_of_ms, int64_t start_ms,
                                           int64_t next_start_ms, int64_t others_that_day,
                                           char *digit);

/* Retention: delete reviewed runs that ended before before_ms (with their objects and remark
 * links), keeping each one's (job, vendor run id) in run_tombstone so a poll that still sees it
 * at the vendor does not insert it again. One transaction; *n gets the runs deleted. */
int store_prune_runs(struct bk_store *s, int64_t before_ms, int64_t *n, struct bk_err *err);
/* Retention of poll records (never a running one) and audit rows older than before_ms. */
int store_prune_polls(struct bk_store *s, int64_t before_ms, int64_t *n, struct bk_err *err);
int store_prune_audit(struct bk_store *s, int64_t before_ms, int64_t *n, struct bk_err *err);
/* Refresh the query planner's statistics (ANALYZE: 0.24 s at 300,000 runs on 2 cores).
 * Without them SQLite cannot tell a selective filter from one that matches every run (the
 * Run Checks search reads the whole unreviewed index instead of the few matching jobs). A
 * SQLite connection reads them when it opens. */
int store_analyze(struct bk_store *s, struct bk_err *err);
/* Persist a source's pause flag (read back through store_source_each). */
int store_source_set_paused(struct bk_store *s, const char *name, bool paused, struct bk_err *err);
/* Does the store know customer sel (a name, or an id as text)? 1 yes, 0 no, or an error. */
int store_customer_known(struct bk_store *s, const char *sel, struct bk_err *err);

/* Latest state of every job (retired ones excluded), for `status` and `check`. Strings are
 * borrowed for the duration of the callback. */
struct store_status_row {
    const char *customer, *source, *job, *kind, *external_id;
    const char *status;     /* normalised status of the latest run, "none" if never ran */
    const char *raw_status; /* may be NULL */
    int64_t last_run_at;    /* ms: start of the latest run (its end if no start), 0 if never */
    bool reviewed;
    bool override;
    int64_t last_success_at; /* ms, 0 if never */
    /* issue 9: freshness inputs (see store_job_freshness) and the schedule */
    int64_t last_real_run_at;             /* ms: latest non-synthetic run start, 0 if none */
    int64_t warn_after_ms, crit_after_ms; /* 0: never evaluated (26 h / 50 h) */
    int64_t first_seen_at;
    const char *schedule; /* job_schedule.description, NULL if never evaluated */
    const char *anomaly;  /* the latest run's duration anomaly, NULL */
};
/* customer: NULL for all, else a customer's name or, when no customer has that name, its id. */
int store_status_each(struct bk_store *s, const char *customer,
                      int (*cb)(const struct store_status_row *r, void *ud), void *ud,
                      struct bk_err *err);

struct store_source_row {
    const char *name, *kind;
    int64_t interval_ms;
    bool paused;
    int64_t last_poll_at;    /* ms, 0 never */
    const char *last_result; /* NULL never */
    const char *last_error;
    int64_t last_success_at;  /* ms, 0 never */
    int64_t last_duration_ms; /* of the latest finished poll, -1 none */
};
int store_source_each(struct bk_store *s, int (*cb)(const struct store_source_row *r, void *ud),
                      void *ud, struct bk_err *err);
/* Counters of a query whose rows are (text, text, integer), NULL texts as "". */
int store_query_counters(struct bk_store *s, const char *sql,
                         int (*cb)(const char *a, const char *b, int64_t n, void *ud), void *ud,
                         struct bk_err *err);
/* backupctl_poll_runs_total: poll_counter by source name and result (never goes down, unlike
 * a COUNT over poll_run, which retention prunes). */
int store_poll_counters_each(struct bk_store *s,
                             int (*cb)(const char *source, const char *result, int64_t n, void *ud),
                             void *ud, struct bk_err *err);

/* Review every run of a job (external id) that is not reviewed and has a final status
 * (a running run cannot be reviewed: the review would freeze it as running) (tests, CLI). */
int store_review_job(struct bk_store *s, const char *source, const char *external_id,
                     const char *who, int64_t *n, struct bk_err *err);

/* ---- Expected schedules, Missed runs, stale and offline (issue 9; SQL in expected.c) -------
 * The evaluator: for each job (of source_id, 0 = all) reads its real runs of the last 90 days
 * (and its Cove colour bar), takes its schedule (job_schedule_set > config [schedule] >
 * learned), writes job_schedule, materialises job_slot for [max(first seen, now - backfill),
 * now + 2 d), inserts one synthetic Missed run per missed slot (never for a slot whose due
 * time no successful poll of its source has covered yet: that slot is `unknown`), keeps one
 * offline run per idle workstation (which skip Missed unless configured) and marks duration
 * anomalies of runs that ended since the last evaluation. Reviewed runs are never changed.
 * One transaction per batch of jobs. cfg is borrowed; st may be NULL. */
struct store_expected_stats {
    int64_t jobs;          /* jobs evaluated */
    int64_t missed_new;    /* Missed runs inserted */
    int64_t unknown;       /* slots left unknown (source not polled since due) */
    int64_t offline;       /* workstations with an offline run (warning or failed) */
    int64_t anomalies_new; /* runs given a duration anomaly */
    int64_t slots_written; /* job_slot rows inserted, updated or deleted */
};
int store_expected_eval(struct bk_store *s, const struct bk_config *cfg, int64_t source_id,
                        int64_t now_ms, struct store_expected_stats *st, struct bk_err *err);
/* The same for one job (the web API, right after a job_schedule_set change). */
int store_expected_eval_job(struct bk_store *s, const struct bk_config *cfg, int64_t job_id,
                            int64_t now_ms, struct bk_err *err);

/* Freshness (stale / never ran), the ONE rule shared by check, status, /metrics and the API:
 * bk_sched_freshness() over the job's thresholds (job_schedule.warn_after_ms/crit_after_ms;
 * 26 h / 50 h for a job never evaluated; warn_ms/crit_ms > 0 override them, as check's
 * --warn-age/--crit-age do), against its last real (non-expected) run start and, for never
 * ran, its first sighting (job.created_at). */
enum bk_fresh store_job_freshness(int64_t last_real_run_ms, int64_t first_seen_ms, int64_t now_ms,
                                  int64_t job_warn_ms, int64_t job_crit_ms, int64_t warn_ms,
                                  int64_t crit_ms);
/* Source up, the ONE rule shared by check, /metrics, the API, the expected-runs evaluator and
 * the alerts: its last successful poll (ms, 0 = never) is at most 3 intervals old. */
bool store_source_up(int64_t last_ok_ms, int64_t interval_ms, int64_t now_ms);
/* "ok", "old", "stale", "never_new", "never_old" (the API's words). */
const char *store_fresh_name(int fresh);
/* SQL columns for a query over `job j`: the job's last real run start (0 if none), its
 * thresholds (0 if never evaluated) and first sighting, to feed store_job_freshness. */
#define STORE_FRESH_COLUMNS                                                                        \
    "COALESCE((SELECT MAX(fx.start_at) FROM job_run fx WHERE fx.job_id = j.id"                     \
    " AND fx.source_type <> 'expected'), 0),"                                                      \
    " COALESCE((SELECT fs.warn_after_ms FROM job_schedule fs WHERE fs.job_id = j.id), 0),"         \
    " COALESCE((SELECT fs.crit_after_ms FROM job_schedule fs WHERE fs.job_id = j.id), 0),"         \
    " j.created_at"

/* The latest run of the job whose id is the SQL expression J, the ONE rule (check, status,
 * alerts, the API's jobs): newest start first, a run without a start after every run with one
 * (NULLS LAST: SQLite's default for DESC, not PostgreSQL's), the higher id on a tie. The same
 * plan as without NULLS LAST on SQLite 3.40 (the (job_id, start_at) index, no sort). */
#define STORE_LATEST_RUN_OF(J)                                                                     \
    "(SELECT y.id FROM job_run y WHERE y.job_id = " J                                              \
    " ORDER BY y.start_at DESC NULLS LAST, y.id DESC LIMIT 1)"
/* A run's status as it counts: an override means success, the ONE rule of every query that
 * reads a run's outcome (R names the job_run alias). */
#define STORE_RUN_EFFECTIVE_STATUS(R)                                                              \
    "(CASE WHEN " R ".override = 1 THEN 'success' ELSE " R ".status END)"
/* The same rule as a condition: the run counts as a success. */
#define STORE_RUN_SUCCEEDED(R) "(" R ".status = 'success' OR " R ".override = 1)"

/* ---- Generic queries ---------------------------------------------------------------------
 * For modules above the store (auth, web API) that need queries of their own. SQL uses ?N
 * placeholders and the portable subset of SQL shared by SQLite and PostgreSQL; a PostgreSQL
 * backend rewrites ?N to $N. */

enum store_param_type { STORE_P_NULL = 0, STORE_P_INT, STORE_P_TEXT };
struct store_param {
    enum store_param_type type;
    int64_t i;
    const char *s; /* borrowed */
};
#define SP_NULL ((struct store_param){.type = STORE_P_NULL})
#define SP_INT(v) ((struct store_param){.type = STORE_P_INT, .i = (int64_t)(v)})
/* A function, not a macro: a char array argument would make `(v) ? … : …` warn. */
static inline struct store_param sp_text(const char *v)
{
    struct store_param p = {.type = v ? STORE_P_TEXT : STORE_P_NULL, .s = v};
    return p;
}
#define SP_TEXT(v) sp_text(v)

struct store_row; /* valid only during the callback */
int store_row_count(const struct store_row *r);
bool store_row_is_null(const struct store_row *r, int col);
const char *store_row_text(const struct store_row *r, int col); /* NULL for NULL */
int64_t store_row_int(const struct store_row *r, int col);      /* 0 for NULL */
const char *store_row_name(const struct store_row *r, int col);

/* Run a query; cb gets each row (return non-zero to stop; that value is returned). */
int store_query(struct bk_store *s, const char *sql, const struct store_param *p, size_t np,
                int (*cb)(const struct store_row *r, void *ud), void *ud, struct bk_err *err);
/* Run a statement; *changes (rows changed) and *last_id (inserted row id) may be NULL. */
int store_exec(struct bk_store *s, const char *sql, const struct store_param *p, size_t np,
               int64_t *changes, int64_t *last_id, struct bk_err *err);
/* Explicit write transactions around several store_exec calls. */
int store_begin(struct bk_store *s, struct bk_err *err);
/* A write transaction for many small writes: a store_exec that asks for neither *changes
 * nor *last_id may be sent without waiting for its result (PostgreSQL pipelines it; SQLite
 * runs it at once). Its error is then reported by a later call of the transaction, at the
 * latest store_commit, and nothing after it applies: on an error, roll back as always. */
int store_begin_batch(struct bk_store *s, struct bk_err *err);
int store_commit(struct bk_store *s, struct bk_err *err);
void store_rollback(struct bk_store *s);

#endif
