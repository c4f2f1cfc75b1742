/* Runs of scheduler-triggered backups (issue 14): `backupctl backup --config F` records the
 * HYCU jobs it started as runs of source_type 'trigger', so a backup a scheduler ran shows as
 * what it is. All their SQL lives in trigger.c.
 *
 * The run is the same row the poller writes for that HYCU job (same job: the source and the
 * entity uuid; same vendor run id: the HYCU job uuid), so a backup is never stored twice,
 * whichever of `backup` and `poll` sees it first; the poller's later updates (a final status)
 * keep its source_type. A reviewed run is never changed. */
#ifndef BK_STORE_TRIGGER_H
#define BK_STORE_TRIGGER_H

#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

struct bk_store;
struct bk_err;

/* The entity a backup was started for, when it is a job of its own (a VM, application,
 * share or volume group); NULL for a policy, whose runs belong to its VMs. */
struct store_trigger_job {
    const char *external_id; /* HYCU entity uuid */
    const char *name;
    const char *kind; /* the poller's word: vm, application, share, volumegroup */
};

struct store_trigger_run {
    const char *const *job_external_ids; /* candidates (the entity, or the uuids of the HYCU
                                          * job's entity map): the first that is a job wins */
    size_t n_ids;
    const char *vendor_run_id; /* the HYCU job uuid */
    int64_t start_ms, end_ms;  /* 0 = unknown / not finished */
    enum bk_run_status status;
    const char *raw_status; /* the vendor's word, may be NULL */
    const char *message;    /* may be NULL */
};

struct store_trigger_result {
    int written;  /* runs inserted or changed */
    int skipped;  /* runs whose entity is no job of this source yet (the next poll adds it) */
    int reviewed; /* runs left alone: an operator reviewed them */
};

/* Record runs under source_id, in one transaction: the job (created with customer, when new,
 * exactly as the poller would: an existing job is left as the poller last wrote it), then
 * each run, inserted or updated in place (source_type becomes 'trigger'), overrides applied.
 * A run a retention pruned (tombstoned) is not inserted again. */
int store_trigger_record(struct bk_store *s, int64_t source_id, const char *customer,
                         const struct store_trigger_job *job, const struct store_trigger_run *runs,
                         size_t nruns, int64_t now_ms, struct store_trigger_result *out,
                         struct bk_err *err);

#endif
