/* Record helpers for core/model.h. */
#include "core/model.h"

#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

void bk_job_rec_clear(struct bk_job_rec *j)
{
    if (!j)
        return;
    free(j->external_id);
    free(j->name);
    free(j->kind);
    free(j->customer_ext_id);
    free(j->customer_name);
    free(j->colour_bar);
    free(j->policy);
    memset(j, 0, sizeof *j);
}

void bk_obj_rec_clear(struct bk_obj_rec *o)
{
    if (!o)
        return;
    free(o->name);
    free(o->raw_status);
    free(o->message);
    memset(o, 0, sizeof *o);
}

void bk_run_rec_clear(struct bk_run_rec *r)
{
    if (!r)
        return;
    free(r->job_external_id);
    free(r->vendor_run_id);
    free(r->raw_status);
    free(r->message);
    for (size_t i = 0; i < r->nobjects; i++)
        bk_obj_rec_clear(&r->objects[i]);
    free(r->objects);
    memset(r, 0, sizeof *r);
}

void bk_batch_add_job(struct bk_batch *b, struct bk_job_rec *j)
{
    if (b->njobs == b->jobs_cap) {
        b->jobs_cap = b->jobs_cap ? b->jobs_cap * 2 : 64;
        b->jobs = xrealloc(b->jobs, b->jobs_cap * sizeof *b->jobs);
    }
    b->jobs[b->njobs++] = *j;
    memset(j, 0, sizeof *j);
}

void bk_batch_add_run(struct bk_batch *b, struct bk_run_rec *r)
{
    if (b->nruns == b->runs_cap) {
        b->runs_cap = b->runs_cap ? b->runs_cap * 2 : 64;
        b->runs = xrealloc(b->runs, b->runs_cap * sizeof *b->runs);
    }
    b->runs[b->nruns++] = *r;
    memset(r, 0, sizeof *r);
}

void bk_run_add_object(struct bk_run_rec *r, struct bk_obj_rec *o)
{
    r->objects = xrealloc(r->objects, (r->nobjects + 1) * sizeof *r->objects);
    r->objects[r->nobjects++] = *o;
    memset(o, 0, sizeof *o);
}

void bk_batch_clear(struct bk_batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->njobs; i++)
        bk_job_rec_clear(&b->jobs[i]);
    for (size_t i = 0; i < b->nruns; i++)
        bk_run_rec_clear(&b->runs[i]);
    b->njobs = b->nruns = 0;
}

void bk_batch_free(struct bk_batch *b)
{
    if (!b)
        return;
    bk_batch_clear(b);
    free(b->jobs);
    free(b->runs);
    memset(b, 0, sizeof *b);
}
