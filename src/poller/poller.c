/* The poll pipeline: provider pages → store staging → one apply transaction. */
#include "poller/poller.h"

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
};

static int stage_page(const struct bk_batch *b, void *ud, struct bk_err *err)
{
    struct stage_ctx *c = ud;
    int64_t t0 = bk_mono_ms();
    int rc = store_poll_stage(c->store, c->poll_id, b, err);
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
    char what[200];
    if (src->password.file || src->password.env) {
        snprintf(what, sizeof what, "source \"%s\" password", src->name);
        rc = secret_resolve(&src->password, what, &password, &err);
    }
    if (rc == 0 && (src->token.file || src->token.env)) {
        snprintf(what, sizeof what, "source \"%s\" token", src->name);
        rc = secret_resolve(&src->token, what, &token, &err);
    }
    const struct provider_ops *ops = provider_find(src->type);
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
