/* The poll pipeline: provider pages → store staging → one apply transaction. */
#include "poller/poller.h"

#include "core/fpset.h"
#include "providers/provider.h"
#include "secrets/secretfile.h"
#include "store/overrides.h"
#include "util/err.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CURSOR_KEY "cursor"

struct stage_ctx {
    struct bk_store *store;
    int64_t poll_id;
    int64_t pages;
    int64_t store_ms;
    struct bk_fpset *fps; /* the store's fingerprints (whole_jobs providers), else NULL */
    int64_t unchanged;    /* jobs skipped: fingerprint unchanged */
    /* the page as staged: shallow copies of the records kept (the strings stay the batch's) */
    struct bk_batch keep;
    uint64_t *fp;
    long *run_job;
    size_t fp_cap, run_cap;
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

static int stage_page(const struct bk_batch *b, void *ud, struct bk_err *err)
{
    struct stage_ctx *c = ud;
    int64_t t0 = bk_mono_ms();
    int rc = 0;
    if (c->fps)
        b = filter_page(c, b);
    /* a page of unchanged jobs costs no SQL at all */
    if (b->njobs || b->nruns)
        rc = store_poll_stage(c->store, c->poll_id, b, err);
    c->store_ms += bk_mono_ms() - t0;
    c->pages++;
    return rc;
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
    struct stage_ctx ctx = {.store = store};
    int rc;

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
        int64_t tl = bk_mono_ms();
        ctx.fps = bk_fpset_new();
        if (store_fingerprints_load(store, source_id, ctx.fps, &err) < 0) {
            /* no fingerprints: a full poll, slower but as correct */
            log_warn("source %s: fingerprints not loaded: %s", src->name, err.msg);
            bk_fpset_free(ctx.fps);
            ctx.fps = NULL;
            bk_err_clear(&err);
        }
        ctx.store_ms += bk_mono_ms() - tl;
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
        struct provider_poll_args a = {
            .src = src,
            .password = password,
            .token = token,
            .state_in = state,
            .now_ms = bk_now_ms(),
            .stop = stop,
            .cb = stage_page,
            .ud = &ctx,
        };
        rc = ops->poll(&a, &res, &err);
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
    int64_t ta = bk_mono_ms();
    if (store_poll_finish(store, poll_id, source_id, &o, &st, &ferr) < 0) {
        snprintf(sum->error, sizeof sum->error, "store: %.480s", ferr.msg);
        sum->code = BK_EIO;
        goto out;
    }
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
    ctx.store_ms += bk_mono_ms() - ta;
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
    sum->t_store = (double)ctx.store_ms / 1000.0;
    sum->seconds = (double)(bk_mono_ms() - t0) / 1000.0;
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
}

static int src_id_row(const struct store_row *r, void *ud)
{
    *(int64_t *)ud = store_row_int(r, 0);
    return 0;
}

void poller_evaluate(struct bk_store *store, const struct bk_config *cfg, const char *source_name,
                     int64_t now_ms, bool quiet)
{
    struct bk_err err = {0};
    int64_t id = 0;
    if (source_name) {
        struct store_param p[] = {SP_TEXT(source_name)};
        if (store_query(store, "SELECT id FROM source WHERE name = ?1", p, 1, src_id_row, &id,
                        &err) < 0) {
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
