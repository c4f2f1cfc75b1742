/* Prometheus metrics from the store (see metrics.h). Each family is written whole (HELP,
 * TYPE, then its samples) as the text format requires; the job families are filled in one
 * pass over store_status_each into three buffers and then concatenated. */
#include "web/metrics.h"

#include "config/config.h"
#include "store/alerts.h"
#include "store/store.h"
#include "util/err.h"
#include "util/timeutil.h"
#include "util/xalloc.h"
#include "web/params.h"
#include "web/web_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_MAX (64u * 1024 * 1024)

int metrics_escape_label(struct bk_buf *out, const char *v)
{
    if (!v)
        v = "";
    size_t n = strlen(v);
    bool utf8 = params_utf8_valid(v, n);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c == '\\')
            rc = bk_buf_append(out, "\\\\", 2);
        else if (c == '"')
            rc = bk_buf_append(out, "\\\"", 2);
        else if (c == '\n')
            rc = bk_buf_append(out, "\\n", 2);
        else if (c >= 0x80 && !utf8)
            rc = bk_buf_append(out, "?", 1);
        else
            rc = bk_buf_append(out, &v[i], 1);
    }
    return rc;
}

/* Seconds with millisecond precision, as Prometheus timestamps-as-values are written. */
static void secs(struct bk_buf *b, int64_t ms)
{
    bk_buf_printf(b, "%" PRId64 ".%03" PRId64, ms / 1000, ms % 1000);
}

struct job_ctx {
    struct bk_buf status, last_run, last_ok, stale;
    int64_t now;
    const char *prev[4]; /* labels of the previous row, to skip exact duplicates */
    char *prev_own[4];
};

static void job_labels(struct bk_buf *b, const struct store_status_row *r)
{
    bk_buf_appends(b, "{customer=\"");
    metrics_escape_label(b, r->customer);
    bk_buf_appends(b, "\",source=\"");
    metrics_escape_label(b, r->source);
    bk_buf_appends(b, "\",job=\"");
    metrics_escape_label(b, r->job);
    bk_buf_appends(b, "\",kind=\"");
    metrics_escape_label(b, r->kind);
    bk_buf_appends(b, "\"");
}

static bool same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static int job_cb(const struct store_status_row *r, void *ud)
{
    struct job_ctx *c = ud;
    /* Two jobs with the same labels (a vendor allows duplicate names) would make a duplicate
     * series, which invalidates the whole exposition: the first one (lowest id) wins. Rows
     * come ordered by customer, source, job, id, so duplicates are adjacent. */
    const char *cur[4] = {r->customer, r->source, r->job, r->kind};
    if (c->prev_own[0] && same(cur[0], c->prev[0]) && same(cur[1], c->prev[1]) &&
        same(cur[2], c->prev[2]) && same(cur[3], c->prev[3]))
        return 0;
    for (int i = 0; i < 4; i++) {
        free(c->prev_own[i]);
        c->prev_own[i] = xstrdup(cur[i] ? cur[i] : "");
        c->prev[i] = c->prev_own[i];
    }
    const char *status = r->override ? "success" : r->status;
    bk_buf_appends(&c->status, "backupctl_job_status");
    job_labels(&c->status, r);
    bk_buf_appends(&c->status, ",status=\"");
    metrics_escape_label(&c->status, status);
    bk_buf_appends(&c->status, "\"} 1\n");
    /* issue 9: stale (or never ran for longer than the critical threshold), the rule check uses */
    enum bk_fresh f = store_job_freshness(r->last_real_run_at, r->first_seen_at, c->now,
                                          r->warn_after_ms, r->crit_after_ms, 0, 0);
    bk_buf_appends(&c->stale, "backupctl_job_stale");
    job_labels(&c->stale, r);
    bk_buf_appends(&c->stale, f == BK_FRESH_STALE || f == BK_FRESH_NEVER_OLD ? "} 1\n" : "} 0\n");
    if (r->last_run_at > 0) {
        bk_buf_appends(&c->last_run, "backupctl_job_last_run_timestamp_seconds");
        job_labels(&c->last_run, r);
        bk_buf_appends(&c->last_run, "} ");
        secs(&c->last_run, r->last_run_at);
        bk_buf_appends(&c->last_run, "\n");
    }
    if (r->last_success_at > 0) {
        bk_buf_appends(&c->last_ok, "backupctl_job_last_success_timestamp_seconds");
        job_labels(&c->last_ok, r);
        bk_buf_appends(&c->last_ok, "} ");
        secs(&c->last_ok, r->last_success_at);
        bk_buf_appends(&c->last_ok, "\n");
    }
    return 0;
}

struct src_ctx {
    const struct bk_config *cfg;
    int64_t now;
    struct bk_buf up, last_ok, duration;
};

static void source_label(struct bk_buf *b, const char *name)
{
    bk_buf_appends(b, "{source=\"");
    metrics_escape_label(b, name);
    bk_buf_appends(b, "\"}");
}

static int src_cb(const struct store_source_row *r, void *ud)
{
    struct src_ctx *c = ud;
    const char *name = r->name;
    if (!name || (c->cfg && !config_find_source(c->cfg, name)))
        return 0; /* a source removed from the config is no longer watched */
    int64_t interval = r->interval_ms, last_ok = r->last_success_at;
    bool up = store_source_up(last_ok, interval, c->now);
    bk_buf_appends(&c->up, "backupctl_source_up");
    source_label(&c->up, name);
    bk_buf_printf(&c->up, " %d\n", up ? 1 : 0);
    if (last_ok > 0) {
        bk_buf_appends(&c->last_ok, "backupctl_source_last_success_timestamp_seconds");
        source_label(&c->last_ok, name);
        bk_buf_appends(&c->last_ok, " ");
        secs(&c->last_ok, last_ok);
        bk_buf_appends(&c->last_ok, "\n");
    }
    if (r->last_duration_ms >= 0) {
        int64_t d = r->last_duration_ms;
        bk_buf_appends(&c->duration, "backupctl_source_poll_duration_seconds");
        source_label(&c->duration, name);
        bk_buf_appends(&c->duration, " ");
        secs(&c->duration, d > 0 ? d : 0);
        bk_buf_appends(&c->duration, "\n");
    }
    return 0;
}

struct count_ctx {
    const struct bk_config *cfg;
    struct bk_buf *out;
};

static int count_cb(const char *name, const char *result, int64_t n, void *ud)
{
    struct count_ctx *c = ud;
    if (c->cfg && !config_find_source(c->cfg, name))
        return 0;
    bk_buf_appends(c->out, "backupctl_poll_runs_total{source=\"");
    metrics_escape_label(c->out, name);
    bk_buf_appends(c->out, "\",result=\"");
    metrics_escape_label(c->out, result);
    bk_buf_printf(c->out, "\"} %" PRId64 "\n", n);
    return 0;
}

static int alert_count_cb(const char *channel, const char *result, int64_t n, void *ud)
{
    struct bk_buf *b = ud;
    bk_buf_appends(b, "backupctl_alerts_sent_total{channel=\"");
    metrics_escape_label(b, channel);
    bk_buf_appends(b, "\",result=\"");
    metrics_escape_label(b, result);
    bk_buf_printf(b, "\"} %" PRId64 "\n", n);
    return 0;
}

static void family(struct bk_buf *out, const char *name, const char *type, const char *help,
                   const struct bk_buf *samples)
{
    bk_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    if (samples && samples->len)
        bk_buf_append(out, samples->data, samples->len);
}

int metrics_render(struct bk_store *s, const struct bk_config *cfg, int64_t now_ms,
                   struct bk_buf *out, struct bk_err *err)
{
    struct job_ctx jc = {0};
    struct src_ctx sc = {.cfg = cfg, .now = now_ms};
    struct bk_buf counts;
    bk_buf_init(&jc.status, METRICS_MAX);
    bk_buf_init(&jc.last_run, METRICS_MAX);
    bk_buf_init(&jc.last_ok, METRICS_MAX);
    bk_buf_init(&jc.stale, METRICS_MAX);
    jc.now = bk_now_ms();
    bk_buf_init(&sc.up, METRICS_MAX);
    bk_buf_init(&sc.last_ok, METRICS_MAX);
    bk_buf_init(&sc.duration, METRICS_MAX);
    bk_buf_init(&counts, METRICS_MAX);
    struct count_ctx cc = {cfg, &counts};
    int rc = store_status_each(s, NULL, job_cb, &jc, err);
    if (rc == 0)
        rc = store_source_each(s, src_cb, &sc, err);
    if (rc == 0)
        rc = store_poll_counters_each(s, count_cb, &cc, err);
    struct bk_buf alerts, pending;
    bk_buf_init(&alerts, METRICS_MAX);
    bk_buf_init(&pending, 4096);
    if (rc == 0)
        rc = store_alert_counters_each(s, alert_count_cb, &alerts, err);
    int64_t npending = 0;
    if (rc == 0 && (rc = store_alert_pending(s, &npending, err)) == 0)
        bk_buf_printf(&pending, "backupctl_alerts_pending %" PRId64 "\n", npending);
    if (rc == 0) {
        family(out, "backupctl_alerts_sent_total", "counter",
               "Alert delivery attempts, by channel and result (sent, retry, failed).", &alerts);
        family(out, "backupctl_alerts_pending", "gauge",
               "Alert messages waiting for delivery (pending or being sent).", &pending);
        family(out, "backupctl_job_status", "gauge",
               "Current effective status of each job (state set: the series present is the "
               "status; none = never ran).",
               &jc.status);
        family(out, "backupctl_job_last_run_timestamp_seconds", "gauge",
               "Start (or end) time of the job's latest run.", &jc.last_run);
        family(out, "backupctl_job_last_success_timestamp_seconds", "gauge",
               "End time of the job's latest successful (or overridden) run.", &jc.last_ok);
        family(out, "backupctl_job_stale", "gauge",
               "1 when the job's last real run is older than its critical threshold (or it never "
               "ran and is known for longer), as backupctl check counts stale.",
               &jc.stale);
        family(out, "backupctl_source_up", "gauge",
               "1 when the source's last successful poll is at most 3 intervals old.", &sc.up);
        family(out, "backupctl_source_last_success_timestamp_seconds", "gauge",
               "End time of the source's last successful poll.", &sc.last_ok);
        family(out, "backupctl_source_poll_duration_seconds", "gauge",
               "Duration of the source's latest finished poll.", &sc.duration);
        family(out, "backupctl_poll_runs_total", "counter",
               "Finished polls, by source and result (kept when retention prunes poll records).",
               &counts);
        if (out->max && out->len >= out->max)
            rc = bk_err_set(err, BK_ETOOBIG, "metrics larger than the buffer");
    }
    bk_buf_free(&jc.status);
    bk_buf_free(&jc.last_run);
    bk_buf_free(&jc.last_ok);
    bk_buf_free(&jc.stale);
    for (int i = 0; i < 4; i++)
        free(jc.prev_own[i]);
    bk_buf_free(&sc.up);
    bk_buf_free(&sc.last_ok);
    bk_buf_free(&sc.duration);
    bk_buf_free(&counts);
    bk_buf_free(&alerts);
    bk_buf_free(&pending);
    return rc;
}

void api_metrics(struct web_req *rq)
{
    struct bk_err err = {0};
    struct bk_buf b;
    static const char *const none[] = {NULL};
    if (params_check_allowed(&rq->q, none, rq->msg, sizeof rq->msg) < 0) {
        web_bad_request(rq);
        return;
    }
    bk_buf_init(&b, METRICS_MAX);
    bk_buf_appends(&b, "");
    if (metrics_render(rq->st, rq->w->cfg, bk_now_ms(), &b, &err) < 0) {
        bk_buf_free(&b);
        web_internal(rq, &err);
        return;
    }
    struct web *w = rq->w;
    bk_buf_appends(&b, "# HELP backupctl_http_responses_total HTTP responses sent by the API, "
                       "by status class.\n# TYPE backupctl_http_responses_total counter\n");
    static const char *const cls[] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
    for (int i = 1; i < 6; i++)
        bk_buf_printf(&b, "backupctl_http_responses_total{code=\"%s\"} %" PRIuFAST64 "\n", cls[i],
                      (uint_fast64_t)atomic_load(&w->requests[i]));
    bk_buf_printf(&b,
                  "# HELP backupctl_login_failures_total Failed logins to the API.\n"
                  "# TYPE backupctl_login_failures_total counter\n"
                  "backupctl_login_failures_total %" PRIuFAST64 "\n",
                  (uint_fast64_t)atomic_load(&w->login_failures));
    if (w->hooks.metrics)
        w->hooks.metrics(w->hooks.ud, &b);
    web_reply(rq, 200, NULL);
    rq->text = bk_buf_steal(&b);
    rq->ctype = "text/plain; version=0.0.4; charset=utf-8";
}
