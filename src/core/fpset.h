/* Job fingerprints (issue 12): a 64-bit hash of everything the store would write for a job —
 * its record, its runs and their objects, as the provider hands them over (the canonical
 * records, not the vendor's bytes, so no change can hide in a field the hash skipped) — and a
 * hash table of them keyed by the job's external id. The poller loads the fingerprints the
 * store holds once per poll, drops a job whose fingerprint is unchanged before any SQL, and
 * marks it seen so the apply does not retire it. */
#ifndef BK_CORE_FPSET_H
#define BK_CORE_FPSET_H

#include "core/model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a fingerprint never is: 0 means "none" on a bk_job_rec and in the store. */
#define BK_FP_NONE ((uint64_t)0)

struct bk_fpset;

/* An empty set; caller frees with bk_fpset_free(). */
struct bk_fpset *bk_fpset_new(void);
void bk_fpset_free(struct bk_fpset *s);
/* Insert key (copied) with fp and a cleared seen flag, or replace the fp of an existing key
 * (its seen flag is kept). */
void bk_fpset_put(struct bk_fpset *s, const char *key, uint64_t fp);
/* true and *fp (may be NULL) when key is in the set. */
bool bk_fpset_get(const struct bk_fpset *s, const char *key, uint64_t *fp);
/* Set key's seen flag; false when key is not in the set. */
bool bk_fpset_mark_seen(struct bk_fpset *s, const char *key);
/* key is in the set and marked seen. */
bool bk_fpset_seen(const struct bk_fpset *s, const char *key);
size_t bk_fpset_count(const struct bk_fpset *s);
size_t bk_fpset_seen_count(const struct bk_fpset *s);

/* The fingerprint of every job of b: fp[i] for b->jobs[i] (never BK_FP_NONE) covers the job
 * record (colour_bar_as_of_ms excepted: it is the poll's clock, and the store rewrites it only
 * with the bar) and every run of b whose job_external_id is the job's, with their objects, in
 * any order. run_job[k] gets the index of run k's job in b->jobs, or -1 when b has no such job
 * (that run cannot be fingerprinted and must be staged as is). Both arrays are the caller's,
 * sized b->njobs and b->nruns. Pure. */
void bk_batch_fingerprints(const struct bk_batch *b, uint64_t *fp, long *run_job);

#endif
