/* The poll pipeline: provider pages → store staging → one apply transaction.
 *
 * Two threads per poll: a producer runs the provider (download, parse) and drops the jobs
 * whose fingerprint is unchanged (compare), then hands a copy of what is left to the calling
 * thread, which stages it in the store. So the next page is fetched and parsed while the last
 * one is written. At most two pages are in flight (one being staged, one waiting; the producer
 * blocks on a third), so memory stays flat in the fleet size. The store and its connection are
 * only ever used by the calling thread; the fingerprint set only by the producer until it is
 * joined. A store failure stops the producer at its next page; a provider failure (or the stop
 * flag) ends the queue, and the pages already queued are staged for nothing (the apply of a
 * failed poll drops them). */
#include "poller/poller.h"

#include "core/fpset.h"
#include "providers/provider.h"
#include "secrets/secretfile.h"
#include "store/overrides.h"
#include "store/sources.h"
#include "util/err.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <pthread.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CURSOR_KEY "cursor"

#define QUEUE_PAGES 1 /* queued; with the one being staged, two pages in flight */

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct stage_ctx {
    struct bk_store *store;
    int64_t poll_id;
    int64_t pages;
    struct bk_fpset *fps; /* the store's fingerprints (whole_jobs providers), else NULL */
    int64_t unchanged;    /* jobs skipped: fingerprint unchanged */
    /* the page as kept by filter_page: shallow copies of the records (the strings stay the
     * provider's batch's until copy_batch) */
    struct bk_batch keep;
    uint64_t *fp;
    long *run_job;
    size_t fp_cap, run_cap;
    int64_t compare_us; /* producer: fingerprints and the copy for the queue */

    /* the queue between the producer and the stager */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct bk_batch q[QUEUE_PAGES];
    size_t q_head, q_len;
    bool done;    /* the producer returned */
    int stage_rc; /* the stager's failure (negative), 0 while all is well */
    struct bk_err stage_err;

    /* the producer's poll */
    const struct provider_ops *ops;
    struct provider_poll_args args;
    struct provider_poll_result *res;
    struct bk_err poll_err;
    int poll_rc;
};

/* The page minus its unchanged jobs (fingerprint equal to the one the store holds), which are
 * only marked seen; the jobs kept carry their new fingerprint for the apply to record. */
static const struct bk_batch *filter_page(struct stage_ctx *c, const struct bk_batch *b)
{
    if (b->njobs > c->fp_cap) {
        c->fp_cap = b->njobs;
        c->fp = xrealloc(c->fp, c->fp_cap * sizeof *c->fp);
        c->keep.jobs = xrealloc(c->keep.jobs, c->fp_cap * sizeof *c->keep.jobs);
    }
    if (b->nruns > c->run_cap) {
        c->run_cap = b->nruns;
        c->run_job = xrealloc(c->run_job, c->run_cap * sizeof *c->run_job);
        c->keep.runs = xrealloc(c->keep.runs, c->run_cap * sizeof *c->keep.runs);
    }
    bk_batch_fingerprints(b, c->fp, c->run_job);
    /* fp[i] becomes BK_FP_NONE for a job skipped, so its runs are skipped with it */
    c->keep.njobs = c->keep.nruns = 0;
    for (size_t i = 0; i < b->njobs; i++) {
        const struct bk_job_rec *j = &b->jobs[i];
        uint64_t old;
        if (j->external_id && bk_fpset_get(c->fps, j->external_id, &old) && old == c->fp[i]) {
            bk_fpset_mark_seen(c->fps, j->external_id);
            c->unchanged++;
            c->fp[i] = BK_FP_NONE;
            continue;
        }
        struct bk_job_rec *k = &c->keep.jobs[c->keep.njobs++];
        *k = *j;
        k->fingerprint = c->fp[i];
    }
    for (size_t r = 0; r < b->nruns; r++)
        if (c->run_job[r] < 0 || c->fp[c->run_job[r]] != BK_FP_NONE)
            c->keep.runs[c->keep.nruns++] = b->runs[r];
    return &c->keep;
}

/* A deep copy of b's records into out (empty, its own); the provider frees b's strings as
 * soon as the callback returns. */
static void copy_batch(const struct bk_batch *b, struct bk_batch *out)
{
    out->jobs_cap = b->njobs;
    out->jobs = b->njobs ? xmalloc(b->njobs * sizeof *out->jobs) : NULL;
    out->runs_cap = b->nruns;
    out->runs = b->nruns ? xmalloc(b->nruns * sizeof *out->runs) : NULL;
    for (size_t i = 0; i < b->njobs; i++) {
        const struct bk_job_rec *j = &b->jobs[i];
        struct bk_job_rec c = *j;
        c.external_id = xstrdup_or_null(j->external_id);
        c.name = xstrdup_or_null(j->name);
        c.kind = xstrdup_or_null(j->kind);
        c.customer_ext_id = xstrdup_or_null(j->customer_ext_id);
        c.customer_name = xstrdup_or_null(j->customer_name);
        c.colour_bar = xstrdup_or_null(j->colour_bar);
        c.policy = xstrdup_or_null(j->policy);
        bk_batch_add_job(out, &c);
    }
    for (size_t i = 0; i < b->nruns; i++) {
        const struct bk_run_rec *r = &b->runs[i];
        struct bk_run_rec c = *r;
        c.job_external_id = xstrdup_or_null(r->job_external_id);
        c.vendor_run_id = xstrdup_or_null(r->vendor_run_id);
        c.raw_status = xstrdup_or_null(r->raw_status);
        c.message = xstrdup_or_null(r->message);
        c.objects = r->nobjects ? xmalloc(r->nobjects * sizeof *c.objects) : NULL;
        for (size_t k = 0; k < r->nobjects; k++) {
            const struct bk_obj_rec *o = &r->objects[k];
            c.objects[k] = (struct bk_obj_rec){
                .name = xstrdup_or_null(o->name),
                .status = o->status,
                .raw_status = xstrdup_or_null(o->raw_status),
                .message = xstrdup_or_null(o->message),
            };
        }
        bk_batch_add_run(out, &c);
    }
}

/* The provider's page callback, on the producer thread: compare, then queue a copy of what
 * changed (waiting while QUEUE_PAGES pages are queued). Nonzero when the stager failed. */
static int produce_page(const struct bk_batch *b, void *ud, struct bk_err *err)
{
    struct stage_ctx *c = ud;
    int64_t t0 = mono_us();
    if (c->fps)
        b = filter_page(c, b);
    c->pages++;
    struct bk_batch page = {0};
    /* a page of unchanged jobs costs no SQL at all */
    if (b->njobs || b->nruns)
        copy_batch(b, &page);
    c->compare_us += mono_us() - t0;
    pthread_mutex_lock(&c->mu);
    while (c->q_len == QUEUE_PAGES && !c->stage_rc)
        pthread_cond_wait(&c->cv, &c->mu);
    int rc = c->stage_rc;
    if (!rc && (page.njobs || page.nruns)) {
        c->q[(c->q_head + c->q_len) % QUEUE_PAGES] = page;
        c->q_len++;
        memset(&page, 0, sizeof page);
        pthread_cond_broadcast(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
    bk_batch_free(&page);
    if (rc)
        bk_err_set(err, BK_EIO, "%s", c->stage_err.msg);
    return rc;
}

static void *producer_main(void *ud)
{
    struct stage_ctx *c = ud;
    c->poll_rc = c->ops->poll(&c->args, c->res, &c->poll_err);
    pthread_mutex_lock(&c->mu);
    c->done = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* The stager: the calling thread stages each queued page until the producer is done. After
 * a failure it keeps taking pages off the queue (and drops them) so the producer never waits
 * for room that will not come. */
static void stage_queue(struct stage_ctx *c, int64_t *stage_us)
{
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->q_len && !c->done)
            pthread_cond_wait(&c->cv, &c->mu);
        if (!c->q_len)
            break;
        struct bk_batch page = c->q[c->q_head];
        memset(&c->q[c->q_head], 0, sizeof c->q[c->q_head]);
        c->q_head = (c->q_head + 1) % QUEUE_PAGES;
        c->q_len--;
        bool failed = c->stage_rc != 0;
        pthread_mutex_unlock(&c->mu);
        int rc = 0;
        struct bk_err e = {0};
        if (!failed) {
            int64_t t0 = mono_us();
            rc = store_poll_stage(c->store, c->poll_id, &page, &e);
            *stage_us += mono_us() - t0;
        }
        /* freed outside the lock, while the producer fetches on */
        bk_batch_free(&page);
        pthread_mutex_lock(&c->mu);
        if (rc < 0 && !c->stage_rc) {
            c->stage_rc = rc;
            c->stage_err = e;
        }
        pthread_cond_broadcast(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
}

void poller_run(struct bk_store *store, const struct bk_source_cfg *src, const char *instance,
                volatile sig_atomic_t *stop, struct poller_summary *sum)
{
    memset(sum, 0, sizeof *sum);
    int64_t t0 = bk_mono_ms();
    struct bk_err err = {0};
    char *password = NULL, *token = NULL, *state = NULL;
    int64_t source_id = 0, poll_id = 0;
    struct provider_poll_result res = {0};
    struct stage_ctx ctx = {.store = store, .res = &res};
    int64_t fpload_us = 0, stage_us = 0, apply_us = 0, overrides_us = 0;
    int rc;
    pthread_mutex_init(&ctx.mu, NULL);
    pthread_cond_init(&ctx.cv, NULL);

    if ((rc = store_source_sync(store, src, &source_id, &err)) < 0 ||
        (rc = store_state_get(store, source_id, CURSOR_KEY, &state, &err)) < 0 ||
        (rc = store_poll_begin(store, source_id, instance, &poll_id, &err)) < 0) {
        snprintf(sum->error, sizeof sum->error, "%s", err.msg);
        sum->code = BK_EIO;
        goto out;
    }
    ctx.poll_id = poll_id;
    const struct provider_ops *ops = provider_find(src->type);
    if (ops && ops->whole_jobs) {
        int64_t tl = mono_us();
        ctx.fps = bk_fpset_new();
        if (store_fingerprints_load(store, source_id, ctx.fps, &err) < 0) {
            /* no fingerprints: a full poll, slower but as correct */
            log_warn("source %s: fingerprints not loaded: %s", src->name, err.msg);
            bk_fpset_free(ctx.fps);
            ctx.fps = NULL;
            bk_err_clear(&err);
        }
        fpload_us = mono_us() - tl;
    }
    char what[200];
    if (src->password.file || src->password.env) {
        snprintf(what, sizeof what, "source \"%s\" password", src->name);
        rc = secret_resolve(&src->password, what, &password, &err);
    }
    if (rc == 0 && (src->token.file || src->token.env)) {
        snprintf(what, sizeof what, "source \"%s\" token", src->name);
        rc = secret_resolve(&src->token, what, &token, &err);
    }
    if (rc == 0 && !ops)
        rc = bk_err_set(&err, BK_ECONFIG, "no provider for %s", bk_source_type_name(src->type));
    if (rc == 0) {
        ctx.ops = ops;
        ctx.args = (struct provider_poll_args){
            .src = src,
            .password = password,
            .token = token,
            .state_in = state,
            .now_ms = bk_now_ms(),
            .stop = stop,
            .cb = produce_page,
            .ud = &ctx,
        };
        pthread_t th;
        int e = pthread_create(&th, NULL, producer_main, &ctx);
        if (e != 0) {
            rc = bk_err_set(&err, BK_EIO, "cannot start the poll thread: %s", strerror(e));
        } else {
            stage_queue(&ctx, &stage_us);
            pthread_join(th, NULL);
            /* the store's failure first: it may have come after the provider's last page */
            if (ctx.stage_rc < 0) {
                rc = ctx.stage_rc;
                err = ctx.stage_err;
            } else {
                rc = ctx.poll_rc;
                err = ctx.poll_err;
            }
        }
    }
    struct store_poll_outcome o = {
        .result = rc == 0              ? STORE_POLL_OK
                  : rc == -BK_EPARTIAL ? STORE_POLL_PARTIAL
                                       : STORE_POLL_FAILED,
        .error = rc < 0 ? err.msg : NULL,
        .pages = ctx.pages,
        .devices = res.devices,
        .state_key = res.state_out ? CURSOR_KEY : NULL,
        .state_value = res.state_out,
        .seen = ctx.fps,
    };
    if (rc < 0) {
        snprintf(sum->error, sizeof sum->error, "%s", err.msg);
        sum->code = err.code ? err.code : -rc;
    }
    struct store_apply_stats st;
    struct bk_err ferr = {0};
    int64_t ta = mono_us();
    if (store_poll_finish(store, poll_id, source_id, &o, &st, &ferr) < 0) {
        snprintf(sum->error, sizeof sum->error, "store: %.480s", ferr.msg);
        sum->code = BK_EIO;
        goto out;
    }
    apply_us = mono_us() - ta;
    ta = mono_us();
    /* Override flags follow the rules in force and the runs as they are now (a run that
     * changed may match a rule, or no longer match any). */
    if (o.result != STORE_POLL_FAILED) {
        struct store_override_changes ch;
        char target[300];
        snprintf(target, sizeof target, "source:%s", src->name);
        if (store_overrides_apply_all(store, target, &ch, &ferr) < 0)
            log_warn("source %s: overrides not applied: %s", src->name, ferr.msg);
        else if (ch.set || ch.cleared)
            log_info("source %s: override set on %lld run(s), cleared on %lld", src->name,
                     (long long)ch.set, (long long)ch.cleared);
    }
    overrides_us = mono_us() - ta;
    sum->ok = o.result != STORE_POLL_FAILED;
    sum->partial = o.result == STORE_POLL_PARTIAL;
    sum->runs_new = st.runs_new;
    sum->runs_updated = st.runs_updated;
    sum->jobs_unchanged = ctx.unchanged;
out:
    sum->devices = res.devices;
    sum->pages = ctx.pages;
    sum->t_download = res.t_download;
    sum->t_parse = res.t_parse;
    sum->t_compare = (double)ctx.compare_us / 1e6;
    sum->t_stage = (double)stage_us / 1e6;
    sum->t_apply = (double)apply_us / 1e6;
    sum->t_store = (double)(fpload_us + stage_us + apply_us + overrides_us) / 1e6;
    sum->seconds = (double)(bk_mono_ms() - t0) / 1000.0;
    /* download and parse overlap the store (the producer thread): their sum is not the wall;
     * the peak RSS so far is the poll's (bench/poll_cove: the expected-runs evaluation that
     * `poll` runs next has its own) */
    if (log_get_level() >= LOG_DEBUG) {
        struct rusage ru;
        long maxrss = getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
        log_debug("source %s poll split: download=%.3fs parse=%.3fs compare=%.3fs stage=%.3fs "
                  "apply=%.3fs fingerprints_load=%.3fs overrides=%.3fs wall=%.3fs maxrss_kb=%ld",
                  src->name, sum->t_download, sum->t_parse, sum->t_compare, sum->t_stage,
                  sum->t_apply, (double)fpload_us / 1e6, (double)overrides_us / 1e6, sum->seconds,
                  maxrss);
    }
    if (password)
        memset(password, 0, strlen(password));
    if (token)
        memset(token, 0, strlen(token));
    free(password);
    free(token);
    free(state);
    free(res.state_out);
    bk_fpset_free(ctx.fps);
    free(ctx.fp);
    free(ctx.run_job);
    /* the records are the provider's: only the arrays are ours */
    free(ctx.keep.jobs);
    free(ctx.keep.runs);
    for (size_t i = 0; i < QUEUE_PAGES; i++)
        bk_batch_free(&ctx.q[i]);
    pthread_cond_destroy(&ctx.cv);
    pthread_mutex_destroy(&ctx.mu);
}

void poller_evaluate(struct bk_store *store, const struct bk_config *cfg, const char *source_name,
                     int64_t now_ms, bool quiet)
{
    struct bk_err err = {0};
    int64_t id = 0;
    if (source_name) {
        if (store_source_id(store, source_name, &id, &err) < 0) {
            log_warn("expected: source %s: %s", source_name, err.msg);
            return;
        }
        if (!id)
            return;
    }
    struct store_expected_stats st;
    int64_t t0 = bk_mono_ms();
    if (store_expected_eval(store, cfg, id, now_ms, &st, &err) < 0) {
        log_warn("expected: %s%s%s", source_name ? source_name : "", source_name ? ": " : "",
                 err.msg);
        return;
    }
    /* info in the daemon's log; debug for `poll`, whose stdout is one line per source */
    if ((st.missed_new || st.anomalies_new) && log_get_level() >= (quiet ? LOG_DEBUG : LOG_INFO))
        log_msg(quiet ? LOG_DEBUG : LOG_INFO,
                "expected%s%s: jobs=%lld missed_new=%lld unknown=%lld offline=%lld "
                "anomalies_new=%lld seconds=%.2f",
                source_name ? " " : "", source_name ? source_name : "", (long long)st.jobs,
                (long long)st.missed_new, (long long)st.unknown, (long long)st.offline,
                (long long)st.anomalies_new, (double)(bk_mono_ms() - t0) / 1000.0);
}
