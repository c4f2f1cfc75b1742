/* Runs of scheduler-triggered backups: the SQL of trigger.h. */
#include "store/trigger.h"

#include "store/overrides.h"
#include "store/store.h"
#include "util/err.h"

#include <string.h>

static int first_int(const struct store_row *r, void *ud)
{
    *(int64_t *)ud = store_row_int(r, 0);
    return 1;
}

/* The job when new, as the poller's apply would create it; an existing one is not touched. */
static int ensure_job(struct bk_store *s, int64_t source_id, const char *customer,
                      const struct store_trigger_job *job, int64_t now_ms, struct bk_err *err)
{
    struct store_param cp[] = {SP_INT(source_id), SP_TEXT(customer), SP_INT(now_ms)};
    int rc = store_exec(s,
                        "INSERT INTO customer (source_id, external_id, name, created_at,"
                        " updated_at) VALUES (?1, ?2, ?2, ?3, ?3)"
                        " ON CONFLICT (source_id, external_id) DO NOTHING",
                        cp, 3, NULL, NULL, err);
    if (rc < 0)
        return rc;
    struct store_param jp[] = {SP_INT(source_id),
                               SP_TEXT(customer),
                               SP_TEXT(job->external_id),
                               SP_TEXT(job->name ? job->name : job->external_id),
                               SP_TEXT(job->kind ? job->kind : "unknown"),
                               SP_INT(now_ms)};
    return store_exec(s,
                      "INSERT INTO job (source_id, customer_id, external_id, name, kind,"
                      " created_at, updated_at)"
                      " SELECT ?1, c.id, ?3, ?4, ?5, ?6, ?6 FROM customer c"
                      " WHERE c.source_id = ?1 AND c.external_id = ?2"
                      " ON CONFLICT (source_id, external_id) DO NOTHING",
                      jp, 6, NULL, NULL, err);
}

static int record_run(struct bk_store *s, int64_t source_id, const struct store_trigger_run *r,
                      int64_t now_ms, struct store_trigger_result *out, struct bk_err *err)
{
    int64_t job_id = 0, run_id = 0, reviewed = 0;
    int rc = 0;
    for (size_t i = 0; i < r->n_ids && job_id == 0; i++) {
        struct store_param jp[] = {SP_INT(source_id), SP_TEXT(r->job_external_ids[i])};
        if ((rc = store_query(s, "SELECT id FROM job WHERE source_id = ?1 AND external_id = ?2", jp,
                              2, first_int, &job_id, err)) < 0)
            return rc;
    }
    if (job_id == 0) {
        out->skipped++;
        return 0;
    }
    struct store_param rp[] = {SP_INT(job_id), SP_TEXT(r->vendor_run_id)};
    if ((rc = store_query(s,
                          "SELECT COUNT(*) FROM job_run WHERE job_id = ?1 AND vendor_run_id = ?2"
                          " AND reviewed_at IS NOT NULL",
                          rp, 2, first_int, &reviewed, err)) < 0)
        return rc;
    if (reviewed) {
        out->reviewed++;
        return 0;
    }
    struct store_param p[] = {
        SP_INT(job_id),
        SP_TEXT(r->vendor_run_id),
        r->start_ms > 0 ? SP_INT(r->start_ms) : SP_NULL,
        r->end_ms > 0 ? SP_INT(r->end_ms) : SP_NULL,
        SP_TEXT(bk_run_status_name(r->status)),
        SP_TEXT(r->raw_status ? r->raw_status : ""),
        SP_TEXT(r->message),
        SP_INT(now_ms),
    };
    int64_t changes = 0;
    /* an unknown start (the job was only just accepted: the trigger time) never overwrites
     * a known one */
    if ((rc = store_exec(s,
                         "INSERT INTO job_run (job_id, source_type, vendor_run_id, start_at,"
                         " end_at, status, raw_status, message, created_at, updated_at)"
                         " SELECT ?1, 'trigger', ?2, COALESCE(?3, ?8), ?4, ?5, ?6, ?7, ?8, ?8"
                         " WHERE NOT EXISTS (SELECT 1 FROM run_tombstone t WHERE t.job_id = ?1"
                         " AND t.vendor_run_id = ?2)"
                         " ON CONFLICT (job_id, vendor_run_id) DO UPDATE SET"
                         " source_type = 'trigger', start_at = COALESCE(?3, job_run.start_at),"
                         " end_at = COALESCE(?4, job_run.end_at), status = ?5, raw_status = ?6,"
                         " message = COALESCE(?7, job_run.message), updated_at = ?8"
                         " WHERE job_run.reviewed_at IS NULL AND (job_run.source_type <> 'trigger'"
                         " OR job_run.status IS DISTINCT FROM ?5"
                         " OR job_run.raw_status IS DISTINCT FROM ?6"
                         " OR (?3 IS NOT NULL AND job_run.start_at IS DISTINCT FROM ?3)"
                         " OR (?4 IS NOT NULL AND job_run.end_at IS DISTINCT FROM ?4)"
                         " OR (?7 IS NOT NULL AND job_run.message IS DISTINCT FROM ?7))",
                         p, sizeof p / sizeof p[0], &changes, NULL, err)) < 0)
        return rc;
    if (changes == 0)
        return 0;
    out->written++;
    if ((rc = store_query(s, "SELECT id FROM job_run WHERE job_id = ?1 AND vendor_run_id = ?2", rp,
                          2, first_int, &run_id, err)) < 0)
        return rc;
    struct store_override_changes ch;
    return run_id ? store_overrides_reevaluate_run(s, run_id, "trigger", &ch, err) : 0;
}

int store_trigger_record(struct bk_store *s, int64_t source_id, const char *customer,
                         const struct store_trigger_job *job, const struct store_trigger_run *runs,
                         size_t nruns, int64_t now_ms, struct store_trigger_result *out,
                         struct bk_err *err)
{
    memset(out, 0, sizeof *out);
    int rc = store_begin(s, err);
    if (rc < 0)
        return rc;
    if (job && job->external_id)
        rc = ensure_job(s, source_id, customer, job, now_ms, err);
    for (size_t i = 0; i < nruns && rc >= 0; i++)
        if (runs[i].vendor_run_id)
            rc = record_run(s, source_id, &runs[i], now_ms, out, err);
    if (rc >= 0)
        rc = store_commit(s, err);
    if (rc < 0) {
        store_rollback(s);
        memset(out, 0, sizeof *out);
    }
    return rc < 0 ? rc : 0;
}
