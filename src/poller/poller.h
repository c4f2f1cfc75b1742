/* One poll of one configured source: resolve its secrets, run its provider, stage every page
 * in the store and apply the finished poll atomically. Shared by `backupctl poll` and the
 * daemon's scheduler. */
#ifndef BK_POLLER_POLLER_H
#define BK_POLLER_POLLER_H

#include "config/config.h"
#include "store/store.h"

#include <signal.h>
#include <stdbool.h>

struct poller_summary {
    bool ok; /* the poll was applied (ok or partial) */
    bool partial;
    int64_t devices, runs_new, runs_updated, pages;
    int64_t jobs_unchanged; /* devices skipped before any SQL: fingerprint unchanged */
    double seconds;
    double t_download, t_parse, t_store; /* split, seconds (0 when unknown) */
    /* the store's part: fingerprint compare (on the producer thread), staging, the apply */
    double t_compare, t_stage, t_apply;
    char error[512]; /* "" when ok */
    int code;        /* BK_E* of the failure (positive), 0 when ok */
};

/* Never fails as a call: the outcome is in *sum (and in the store's poll_run record). */
void poller_run(struct bk_store *store, const struct bk_source_cfg *src, const char *instance,
                volatile sig_atomic_t *stop, struct poller_summary *sum);

/* After a poll (and on the daemon's periodic tick): evaluate expected schedules, Missed,
 * offline and duration anomalies (store_expected_eval) for the source named source_name, or
 * for every source when NULL. Never fails as a call: problems are logged (the summary at
 * debug level when quiet, else info). */
void poller_evaluate(struct bk_store *store, const struct bk_config *cfg, const char *source_name,
                     int64_t now_ms, bool quiet);

#endif
