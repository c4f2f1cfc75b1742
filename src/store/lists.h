/* What the lists of the UI show on every row beside the row itself (issue 13): a job's 28-day
 * history strip, a run's objects (the datasources, so a row can name the failing one) and how
 * many remarks it has. One query per kind for a whole page of ids, never one per row. */
#ifndef BK_STORE_LISTS_H
#define BK_STORE_LISTS_H

#include "store/store.h"

#include <stddef.h>
#include <stdint.h>

struct bk_err;

#define STORE_HISTORY_DAYS 28

/* One letter per UTC day, oldest first, the last = now's UTC day: F failed, M missed,
 * W warning, U unknown, R running, S success (an override counts as success), '-' nothing.
 * The worst run of a day wins; a vendor colour bar (Cove D09F08) gives the days it covers,
 * except a day without a backup that backupctl recorded as Missed. out[i] belongs to jobs[i]
 * (NUL-terminated). Ids are borrowed; duplicates are fine. */
int store_lists_history(struct bk_store *s, const int64_t *jobs, size_t n, int64_t now,
                        char (*out)[STORE_HISTORY_DAYS + 1], struct bk_err *err);

/* The letter of a normalised status ("failed" → 'F'; unknown text → 'U'). */
char store_lists_letter(const char *status);

/* For the runs of ids: obj_cb once per object (ordered by run, name), remark_cb once per run
 * with remarks (its count). Strings are valid during the callback only. Either callback may be
 * NULL. A callback's nonzero return stops and is returned. */
int store_lists_run_extras(struct bk_store *s, const int64_t *runs, size_t n,
                           int (*obj_cb)(int64_t run, const char *name, const char *status,
                                         const char *raw_status, const char *message, void *ud),
                           int (*remark_cb)(int64_t run, int64_t count, void *ud), void *ud,
                           struct bk_err *err);

#endif
