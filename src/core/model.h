/* The vendor-neutral records providers produce and the store persists (DESIGN §5). A
 * provider hands them over a page at a time (struct bk_batch) so memory stays flat however
 * large the fleet. All strings are owned by the record (free with the *_clear functions). */
#ifndef BK_CORE_MODEL_H
#define BK_CORE_MODEL_H

#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

struct bk_err;

/* A backup job as the vendor knows it: a Cove device, a HYCU VM/application/share/… */
struct bk_job_rec {
    char *external_id;     /* Cove AccountId, HYCU entity uuid */
    char *name;            /* device / entity name */
    char *kind;            /* server, workstation, m365, vm, application, share, volumegroup */
    char *customer_ext_id; /* vendor id of the customer: Cove PartnerId, HYCU customer key */
    char *customer_name;
    char *colour_bar; /* Cove D09F08 (digits, last = most recent day) or NULL */
    int64_t colour_bar_as_of_ms;
    char *policy;         /* HYCU: the entity's policy (protectionGroupName) or NULL */
    int64_t policy_rpo_s; /* HYCU: that policy's RPO in seconds, 0 = none given */
    uint64_t fingerprint; /* set by the poller (core/fpset.h) for the store; 0 = none */
};

/* One datasource / object of a run (Cove D01 "Files and Folders", …). */
struct bk_obj_rec {
    char *name;
    enum bk_run_status status;
    char *raw_status;
    char *message; /* may be NULL */
};

/* One run of a job. (job, vendor_run_id) is unique in the store. */
struct bk_run_rec {
    char *job_external_id;
    char *vendor_run_id; /* Cove: last-session time D09F15; HYCU: job uuid */
    int64_t start_ms;    /* 0 = unknown */
    int64_t end_ms;      /* 0 = unknown / still running */
    enum bk_run_status status;
    char *raw_status;    /* the vendor's word or code, never NULL */
    int64_t error_count; /* -1 = unknown */
    char *message;       /* may be NULL */
    struct bk_obj_rec *objects;
    size_t nobjects;
};

/* One page of results. */
struct bk_batch {
    struct bk_job_rec *jobs;
    size_t njobs, jobs_cap;
    struct bk_run_rec *runs;
    size_t nruns, runs_cap;
};

void bk_job_rec_clear(struct bk_job_rec *j);
void bk_obj_rec_clear(struct bk_obj_rec *o);
void bk_run_rec_clear(struct bk_run_rec *r);
/* Append (taking ownership of the record's strings; *j / *r are zeroed). */
void bk_batch_add_job(struct bk_batch *b, struct bk_job_rec *j);
void bk_batch_add_run(struct bk_batch *b, struct bk_run_rec *r);
void bk_run_add_object(struct bk_run_rec *r, struct bk_obj_rec *o);
/* Frees every record; the batch can be reused. NULL-safe. */
void bk_batch_clear(struct bk_batch *b);
/* bk_batch_clear() and release the arrays. NULL-safe. */
void bk_batch_free(struct bk_batch *b);

/* Called by a provider for every page; return 0 to go on, a negative error to stop. The
 * callee may keep nothing that points into the batch after returning. */
typedef int (*bk_batch_fn)(const struct bk_batch *b, void *ud, struct bk_err *err);

#endif
