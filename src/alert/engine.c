/* The alert rules (see engine.h). SQL is in store/alerts.c. */
#include "alert/engine.h"

#include "alert/alert.h"

#include "config/config.h"
#include "core/schedule.h"
#include "core/tzfile.h"
#include "store/alerts.h"
#include "store/push.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <fnmatch.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a job or source looks like to the rules, worst last. KEEP: say nothing new (a run in
 * progress, an unknown outcome, fewer failures than `after`): an open incident stays open. */
enum cond {
    C_OK = 0,
    C_KEEP,
    C_WARNING,
    C_OFFLINE_WARN,
    C_STALE,
    C_OFFLINE,
    C_MISSED,
    C_FAILED,
    C_DOWN
};

static const char *cond_kind(enum cond c)
{
    static const char *const k[] = {"ok",      "keep",   "warning", "offline", "stale",
                                    "offline", "missed", "failed",  "down"};
    return k[c];
}

static const char *cond_event(enum cond c)
{
    switch (c) {
    case C_WARNING:
        return "run.warning";
    case C_OFFLINE_WARN:
    case C_OFFLINE:
        return "job.offline";
    case C_STALE:
        return "job.stale";
    case C_MISSED:
        return "run.missed";
    case C_FAILED:
        return "run.failed";
    case C_DOWN:
        return "source.down";
    default:
        return "run.recovered";
    }
}

static enum bk_alert_sev cond_sev(enum cond c)
{
    return c == C_WARNING || c == C_OFFLINE_WARN ? BK_SEV_WARNING : BK_SEV_FAILED;
}

static const char *cond_title(enum cond c)
{
    switch (c) {
    case C_WARNING:
        return "Warning";
    case C_OFFLINE_WARN:
    case C_OFFLINE:
        return "Offline";
    case C_STALE:
        return "No recent backup";
    case C_MISSED:
        return "Missed";
    case C_FAILED:
        return "Failed";
    case C_DOWN:
        return "Source down";
    default:
        return "Recovered";
    }
}

struct job {
    int64_t id, source_id, run_id, run_at;
    char *customer, *tz, *source, *name, *kind, *status, *message;
    bool reviewed;
    int consec; /* failed runs in a row (see store_alert_jobs_each) */
    enum cond cond;
};

struct src {
    int64_t id;
    char *name, *error;
    bool down;
};

struct ctx {
    struct job *jobs;
    size_t njobs, cap;
    struct src *srcs;
    size_t nsrcs, scap;
    int64_t now;
};

static bool is(const char *a, const char *b)
{
    return a && strcmp(a, b) == 0;
}

/* The one place a job's latest run and freshness become an alert condition. */
static enum cond job_cond(const struct store_alert_job *j, int64_t now)
{
    const char *st = j->status;
    bool synthetic = is(j->source_type, "expected");
    if (!j->override) {
        if (is(st, "missed"))
            return C_MISSED;
        if (is(st, "failed"))
            return synthetic ? C_OFFLINE : C_FAILED;
        if (is(st, "warning"))
            return synthetic ? C_OFFLINE_WARN : C_WARNING;
    }
    if (is(st, "running") || is(st, "unknown"))
        return C_KEEP;
    enum bk_fresh f =
        store_job_freshness(j->last_real, j->first_seen, now, j->warn_ms, j->crit_ms, 0, 0);
    if (f == BK_FRESH_STALE || f == BK_FRESH_NEVER_OLD)
        return C_STALE;
    if (f == BK_FRESH_NEVER_NEW)
        return C_KEEP;
    return C_OK;
}

static int collect_job(const struct store_alert_job *j, void *ud)
{
    struct ctx *c = ud;
    if (c->njobs == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 256;
        c->jobs = xrealloc(c->jobs, c->cap * sizeof *c->jobs);
    }
    struct job *o = &c->jobs[c->njobs++];
    o->id = j->job_id;
    o->source_id = j->source_id;
    o->run_id = j->run_id;
    o->run_at = j->run_at;
    o->customer = xstrdup(j->customer ? j->customer : "");
    o->tz = j->customer_tz ? xstrdup(j->customer_tz) : NULL;
    o->source = xstrdup(j->source ? j->source : "");
    o->name = xstrdup(j->job ? j->job : "");
    o->kind = xstrdup(j->kind ? j->kind : "");
    o->status = xstrdup(j->status ? j->status : "none");
    o->message = j->message ? xstrdup(j->message) : NULL;
    o->reviewed = j->reviewed;
    o->cond = job_cond(j, c->now);
    o->consec = j->consec_failed;
    return 0;
}

static int collect_src(const struct store_alert_source *r, void *ud)
{
    struct ctx *c = ud;
    if (c->nsrcs == c->scap) {
        c->scap = c->scap ? c->scap * 2 : 16;
        c->srcs = xrealloc(c->srcs, c->scap * sizeof *c->srcs);
    }
    struct src *o = &c->srcs[c->nsrcs++];
    o->id = r->id;
    o->name = xstrdup(r->name);
    o->error = r->last_error ? xstrdup(r->last_error) : NULL;
    /* Down: its latest finished poll failed and no good poll in 3 intervals (the rule of
     * backupctl_source_up). A source never polled yet is not down: nothing was tried. */
    bool up = store_source_up(r->last_ok_at, r->interval_ms, c->now);
    o->down = r->last_result && is(r->last_result, "failed") && !up;
    return 0;
}

/* ---- maintenance windows ------------------------------------------------------------- */

static bool cron_match(const struct bk_cron *c, const struct bk_civil *t)
{
    if (!(c->minutes >> t->min & 1) || !(c->hours >> t->hour & 1) || !(c->months >> t->month & 1))
        return false;
    bool md = c->mdays >> t->day & 1, wd = c->wdays >> t->wday & 1;
    if (c->mday_any && c->wday_any)
        return true;
    if (c->mday_any)
        return wd;
    if (c->wday_any)
        return md;
    return md || wd;
}

static int64_t local_to_utc_ms(const struct bk_tz *tz, const char *when)
{
    int y, mo, d, h, mi;
    if (sscanf(when, "%d-%d-%d %d:%d", &y, &mo, &d, &h, &mi) != 5)
        return 0;
    int64_t local = bk_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60;
    return bk_tz_local_to_utc(tz, local) * 1000;
}

static bool maint_open_in(const struct bk_maint_cfg *m, const struct bk_tz *z, int64_t now_ms)
{
    struct bk_err e = {0};
    bool open = false;
    if (m->start && m->end) {
        int64_t a = local_to_utc_ms(z, m->start), b = local_to_utc_ms(z, m->end);
        open = a && b && now_ms >= a && now_ms < b;
    } else if (m->cron && m->duration_ms > 0) {
        struct bk_cron c;
        if (bk_sched_parse_cron(m->cron, &c, &e) == 0) {
            int64_t span = m->duration_ms / 60000;
            if (span > 31 * 1440)
                span = 31 * 1440;
            int64_t now_min = now_ms / 60000;
            for (int64_t k = 0; k < span && !open; k++) {
                struct bk_civil t;
                bk_tz_civil(z, (now_min - k) * 60, &t);
                open = cron_match(&c, &t);
            }
        }
    }
    return open;
}

bool alert_maint_open(const struct bk_maint_cfg *m, const char *tzname, int64_t now_ms)
{
    struct bk_tz *tz = NULL;
    struct bk_err e = {0};
    if (bk_tz_load(m->timezone ? m->timezone : tzname, &tz, &e) < 0)
        tz = NULL; /* an unknown zone name: UTC */
    bool open = maint_open_in(m, tz ? tz : bk_tz_utc(), now_ms);
    bk_tz_free(tz);
    return open;
}

/* What one evaluation learns once and asks many times: the zones it loaded (a file read
 * each) and whether a maintenance section is open in a zone. */
struct memo_tz {
    char *name;
    struct bk_tz *tz;
};
struct memo_maint {
    size_t mi;
    const struct bk_tz *tz;
    bool open;
};
struct memo {
    struct memo_tz *tz;
    size_t ntz;
    struct memo_maint *m;
    size_t nm;
};

/* The zone name (NULL = the server's), loaded once per evaluation; UTC when unknown. */
static const struct bk_tz *memo_tz(struct memo *mo, const char *name)
{
    const char *key = name ? name : "";
    for (size_t i = 0; i < mo->ntz; i++)
        if (strcmp(mo->tz[i].name, key) == 0)
            return mo->tz[i].tz ? mo->tz[i].tz : bk_tz_utc();
    struct bk_tz *tz = NULL;
    struct bk_err e = {0};
    if (bk_tz_load(name, &tz, &e) < 0)
        tz = NULL;
    mo->tz = xrealloc(mo->tz, (mo->ntz + 1) * sizeof *mo->tz);
    mo->tz[mo->ntz].name = xstrdup(key);
    mo->tz[mo->ntz].tz = tz;
    mo->ntz++;
    return tz ? tz : bk_tz_utc();
}

static void memo_free(struct memo *mo)
{
    for (size_t i = 0; i < mo->ntz; i++) {
        free(mo->tz[i].name);
        bk_tz_free(mo->tz[i].tz);
    }
    free(mo->tz);
    free(mo->m);
}

/* A job's (or, with job NULL, a source's) maintenance: a matching section open now in its
 * zone (the section's, else the customer's, else the server's), computed once per
 * (section, zone) and evaluation. */
static bool in_maintenance(struct memo *mo, const struct bk_config *cfg, const char *customer,
                           const char *customer_tz, const char *source, const char *job,
                           int64_t now)
{
    for (size_t i = 0; i < cfg->nmaints; i++) {
        const struct bk_maint_cfg *m = &cfg->maints[i];
        if (!config_maint_matches(m, customer, source, job))
            continue;
        const struct bk_tz *z = memo_tz(mo, m->timezone   ? m->timezone
                                            : customer_tz ? customer_tz
                                                          : cfg->timezone);
        size_t k = 0;
        while (k < mo->nm && !(mo->m[k].mi == i && mo->m[k].tz == z))
            k++;
        if (k == mo->nm) {
            mo->m = xrealloc(mo->m, (mo->nm + 1) * sizeof *mo->m);
            mo->m[k].mi = i;
            mo->m[k].tz = z;
            mo->m[k].open = maint_open_in(m, z, now);
            mo->nm++;
        }
        if (mo->m[k].open)
            return true;
    }
    return false;
}

/* ---- messages ------------------------------------------------------------------------ */

struct subject {
    const char *scope; /* "job" | "source" */
    int64_t target;
    const char *customer, *source, *job, *status, *message;
    int64_t run_id, run_at;
    bool reviewed;
};

static bool has_webhook(const struct bk_alert_cfg *a)
{
    return a->webhook || a->webhook_ref.file || a->webhook_ref.env;
}

static char *job_link(const struct bk_config *cfg, int64_t job_id)
{
    char path[40];
    snprintf(path, sizeof path, "/#/jobs/%lld", (long long)job_id);
    return config_public_link(cfg, path);
}

/* One outbox row per channel of a. fixed_key: a stable key (a summary's, so it is queued
 * once per day), else a fresh uuid per row. */
static int queue_rows(struct bk_store *s, const struct bk_alert_cfg *a, int64_t incident_id,
                      int seq, const char *event, const char *title, const char *payload,
                      const char *fixed_key, int64_t now, struct alert_eval_stats *st,
                      struct bk_err *err)
{
    int rc = 0;
    const char *channels[2];
    size_t nch = 0;
    if (has_webhook(a))
        channels[nch++] = "webhook";
    if (a->nto > 0)
        channels[nch++] = "email";
    for (size_t i = 0; i < nch && rc >= 0; i++) {
        char uid[80];
        if (fixed_key)
            snprintf(uid, sizeof uid, "%s-%s", fixed_key, channels[i]);
        else if ((rc = store_push_new_uuid(uid, err)) < 0)
            break;
        rc = store_outbox_insert(s, uid, a->name, channels[i], incident_id, seq, event, title,
                                 payload ? payload : "{}", now, err);
        if (rc >= 0)
            st->queued++;
    }
    return rc;
}

static int queue(struct bk_store *s, const struct bk_config *cfg, const struct bk_alert_cfg *a,
                 int64_t incident_id, int seq, const char *event, enum cond c,
                 const struct subject *x, const char *note, int64_t now,
                 struct alert_eval_stats *st, struct bk_err *err)
{
    char *title =
        strcmp(x->scope, "source") == 0
            ? xasprintf("%s: source %s", cond_title(c), x->source)
            : xasprintf("%s: %s / %s (%s)", cond_title(c), x->customer, x->job, x->source);
    if (strcmp(event, "reminder") == 0) {
        char *t = xasprintf("Reminder: %s", title);
        free(title);
        title = t;
    }
    char *url = NULL;
    if (strcmp(x->scope, "job") == 0)
        url = job_link(cfg, x->target);
    char at[40] = "";
    if (x->run_at)
        bk_iso8601(x->run_at, at, sizeof at);
    char *text =
        xasprintf("%s\n\nCustomer: %s\nSource: %s\n%s%s%sStatus: %s\n%s%s%s%s%s%s%s%s", title,
                  x->customer ? x->customer : "", x->source, x->job ? "Job: " : "",
                  x->job ? x->job : "", x->job ? "\n" : "", x->status, *at ? "Run started: " : "",
                  at, *at ? "\n" : "", x->message ? "Message: " : "", x->message ? x->message : "",
                  x->message ? "\n" : "", note ? note : "", url ? "" : "");
    if (url) {
        char *t = xasprintf("%s\nOpen the job: %s\n", text, url);
        free(text);
        text = t;
    }
    json_t *p = json_object();
    json_object_set_new(p, "event", json_string(event));
    json_object_set_new(p, "customer", x->customer ? json_string(x->customer) : json_null());
    json_object_set_new(p, "source", json_string(x->source));
    json_object_set_new(p, "job", x->job ? json_string(x->job) : json_null());
    json_object_set_new(p, "status", json_string(x->status));
    json_object_set_new(p, "title", json_string(title));
    json_object_set_new(p, "text", json_string(text));
    json_object_set_new(p, "url", url ? json_string(url) : json_null());
    json_object_set_new(p, "at", json_integer(x->run_at ? x->run_at : now));
    if (x->run_id) {
        json_t *r = json_object();
        json_object_set_new(r, "id", json_integer(x->run_id));
        json_object_set_new(r, "status", json_string(x->status));
        json_object_set_new(r, "start_at", *at ? json_string(at) : json_null());
        json_object_set_new(r, "message", x->message ? json_string(x->message) : json_null());
        json_object_set_new(r, "reviewed", json_boolean(x->reviewed));
        json_object_set_new(p, "run", r);
    }
    char *payload = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    int rc = queue_rows(s, a, incident_id, seq, event, title, payload, NULL, now, st, err);
    free(payload);
    free(text);
    free(title);
    free(url);
    return rc;
}

/* ---- the rules ----------------------------------------------------------------------- */

static int cmp_inc(const void *k, const void *e)
{
    const struct store_incident *a = k, *b = e;
    int c = strcmp(a->alert, b->alert);
    if (!c)
        c = strcmp(a->scope, b->scope);
    if (!c)
        c = a->target_id < b->target_id ? -1 : a->target_id > b->target_id;
    return c;
}

static struct store_incident *find_inc(struct store_incident *v, size_t n, const char *alert,
                                       const char *scope, int64_t target)
{
    struct store_incident k = {.alert = (char *)alert, .scope = (char *)scope, .target_id = target};
    return n ? bsearch(&k, v, n, sizeof *v, cmp_inc) : NULL;
}

/* One subject under one section: cur is its condition as this section sees it. */
static int apply(struct bk_store *s, const struct bk_config *cfg, const struct bk_alert_cfg *a,
                 struct store_incident *inc, enum cond cur, const struct subject *x, bool maint,
                 int64_t now, struct alert_eval_stats *st, struct bk_err *err)
{
    if (cur != C_OK && cur != C_KEEP && cond_sev(cur) < a->min_severity)
        cur = C_OK; /* below this section's threshold: as good as fine */
    if (!inc) {
        if (cur == C_OK || cur == C_KEEP)
            return 0;
        char uid[40];
        int64_t id = 0;
        int rc = store_push_new_uuid(uid, err);
        if (rc >= 0)
            rc = store_incident_insert(s, uid, a->name, x->scope, x->target, cond_kind(cur),
                                       x->run_id, maint, now, &id, err);
        if (rc < 0)
            return rc;
        if (maint) {
            st->muted++;
            return 0;
        }
        st->opened++;
        return queue(s, cfg, a, id, 0, cond_event(cur), cur, x, NULL, now, st, err);
    }
    if (cur == C_OK) {
        int rc = store_incident_update(s, inc->id, inc->seq + 1, inc->kind, 0, 0, true, now, err);
        if (rc < 0 || inc->muted || !a->recovered)
            return rc;
        st->closed++;
        return queue(s, cfg, a, inc->id, inc->seq + 1,
                     strcmp(x->scope, "source") == 0 ? "source.recovered" : "run.recovered", C_OK,
                     x, NULL, now, st, err);
    }
    if (inc->muted)
        return 0; /* opened during maintenance: the end-of-window summary tells about it */
    if (cur != C_KEEP && strcmp(cond_kind(cur), inc->kind) != 0) {
        int rc = store_incident_update(s, inc->id, inc->seq + 1, cond_kind(cur), x->run_id, now,
                                       false, now, err);
        if (rc < 0)
            return rc;
        st->followups++;
        return queue(s, cfg, a, inc->id, inc->seq + 1, cond_event(cur), cur, x, NULL, now, st, err);
    }
    /* Reminders while nobody reviewed the run; a review acknowledges the incident. */
    if (a->repeat_ms > 0 && !x->reviewed && inc->last_sent_at > 0 &&
        now - inc->last_sent_at >= a->repeat_ms) {
        enum cond k = cur == C_KEEP ? C_FAILED : cur;
        int rc =
            store_incident_update(s, inc->id, inc->seq + 1, inc->kind, 0, now, false, now, err);
        if (rc < 0)
            return rc;
        st->reminders++;
        return queue(s, cfg, a, inc->id, inc->seq + 1, "reminder", k, x, NULL, now, st, err);
    }
    return 0;
}

/* ---- the end of a maintenance window ------------------------------------------------ */

struct maint_ctx {
    struct memo *mo;
    const struct bk_config *cfg;
    int64_t now;
    struct bk_buf text;
    int64_t *ids;
    size_t n, open;
};

static int maint_row(const struct store_maint_incident *r, void *ud)
{
    struct maint_ctx *c = ud;
    bool job = r->scope && strcmp(r->scope, "job") == 0;
    if (in_maintenance(c->mo, c->cfg, job ? r->customer : NULL, job ? r->tz : NULL, r->source,
                       job ? r->job : NULL, c->now))
        return 0; /* its window is not over */
    c->ids = xrealloc(c->ids, (c->n + 1) * sizeof *c->ids);
    c->ids[c->n++] = r->id;
    if (!r->closed)
        c->open++;
    if (job)
        bk_buf_printf(&c->text, "- %s / %s (%s): %s, %s\n", r->customer ? r->customer : "",
                      r->job ? r->job : "", r->source ? r->source : "", r->kind,
                      r->closed ? "recovered during the window" : "STILL OPEN");
    else
        bk_buf_printf(&c->text, "- source %s: %s, %s\n", r->source ? r->source : "", r->kind,
                      r->closed ? "recovered during the window" : "STILL OPEN");
    return 0;
}

/* Once its maintenance window is over, one message per section lists what opened during it:
 * recovered since, or still open (those then remind and recover like any incident). */
static int maint_summary(struct memo *mo, struct bk_store *s, const struct bk_config *cfg,
                         const struct bk_alert_cfg *a, int64_t now, struct alert_eval_stats *st,
                         struct bk_err *err)
{
    struct maint_ctx c = {.mo = mo, .cfg = cfg, .now = now};
    bk_buf_init(&c.text, 1u << 20);
    int rc = store_maint_incidents(s, a->name, maint_row, &c, err);
    for (size_t i = 0; rc >= 0 && i < c.n; i++)
        rc = store_maint_told(s, c.ids[i], now, err);
    if (rc >= 0 && c.n > 0) {
        char *title = xasprintf("After maintenance: %zu incident(s), %zu still open", c.n, c.open);
        char *text = xasprintf("%s\n\nWhat began during the maintenance window:\n%s", title,
                               c.text.data ? c.text.data : "");
        json_t *p = json_object();
        json_object_set_new(p, "event", json_string("maintenance.summary"));
        json_object_set_new(p, "status", json_string(c.open ? "problems" : "ok"));
        json_object_set_new(p, "title", json_string(title));
        json_object_set_new(p, "text", json_string(text));
        json_object_set_new(p, "at", json_integer(now));
        char *payload = json_dumps(p, JSON_COMPACT);
        json_decref(p);
        rc = queue_rows(s, a, 0, 0, "maintenance.summary", title, payload, NULL, now, st, err);
        free(payload);
        free(text);
        free(title);
    }
    free(c.ids);
    bk_buf_free(&c.text);
    return rc;
}

/* ---- the daily summary --------------------------------------------------------------- */

struct sum_items {
    struct bk_summary_item *v;
    char **own; /* the strings of v, freed together */
    size_t n, cap, nown;
    const struct bk_config *cfg;
};

static const char *keep(struct sum_items *x, char *str)
{
    x->own = xrealloc(x->own, (x->nown + 1) * sizeof *x->own);
    x->own[x->nown++] = str;
    return str;
}

static int sum_row(const struct store_summary_run *r, void *ud)
{
    struct sum_items *x = ud;
    if (x->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 32;
        x->v = xrealloc(x->v, x->cap * sizeof *x->v);
    }
    struct bk_summary_item *it = &x->v[x->n++];
    it->customer = keep(x, xstrdup(r->customer ? r->customer : ""));
    it->source = keep(x, xstrdup(r->source ? r->source : ""));
    it->job = keep(x, xstrdup(r->job ? r->job : ""));
    it->status = keep(x, xstrdup(r->status ? r->status : ""));
    it->message = r->message ? keep(x, xstrdup(r->message)) : NULL;
    char *url = job_link(x->cfg, r->job_id);
    it->url = url ? keep(x, url) : NULL;
    it->at_ms = r->start_at;
    return 0;
}

struct scope {
    char *name, *tz;
    int64_t jobs;
};

struct scopes {
    struct scope *v;
    size_t n;
    int64_t total;
};

static int scope_row(const struct store_summary_customer *c, void *ud)
{
    struct scopes *x = ud;
    x->v = xrealloc(x->v, (x->n + 1) * sizeof *x->v);
    x->v[x->n].name = xstrdup(c->name ? c->name : "");
    x->v[x->n].tz = c->tz ? xstrdup(c->tz) : NULL;
    x->v[x->n].jobs = c->jobs;
    x->n++;
    x->total += c->jobs;
    return 0;
}

static uint64_t fnv(const char *a, const char *b)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = a; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h = (h ^ 0x1f) * 1099511628211ULL;
    for (const char *p = b; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h;
}

/* One summary per (section, scope, local day), once the section's summary time has passed
 * in the scope's zone (the customer's, else the server's): the last 24 hours' failures,
 * misses and warnings, or "all N backups OK". Its key is stable, so it is queued once. */
static int summary_one(struct memo *mo, struct bk_store *s, const struct bk_config *cfg,
                       const struct bk_alert_cfg *a, const char *scope_name, const char *tzname,
                       int64_t jobs, int64_t now, struct alert_eval_stats *st, struct bk_err *err)
{
    const struct bk_tz *tz = memo_tz(mo, tzname ? tzname : cfg->timezone);
    struct bk_civil c;
    bk_tz_civil(tz, now / 1000, &c);
    char zone[64];
    snprintf(zone, sizeof zone, "%s", bk_tz_name(tz));
    if (c.hour * 60 + c.min < a->summary_minute)
        return 0;
    char key[64];
    snprintf(key, sizeof key, "summary-%04d-%02d-%02d-%016llx", c.year, c.month, c.day,
             (unsigned long long)fnv(a->name, scope_name ? scope_name : "*"));
    char probe[80];
    snprintf(probe, sizeof probe, "%s-%s", key, has_webhook(a) ? "webhook" : "email");
    bool done = false;
    int rc = store_outbox_exists(s, probe, &done, err);
    if (rc < 0 || done)
        return rc;
    struct sum_items items = {.cfg = cfg};
    rc = store_summary_runs(s, scope_name, now - 86400000LL, now, sum_row, &items, err);
    if (rc >= 0) {
        struct bk_summary sm = {.scope = scope_name ? scope_name : "all customers",
                                .tz = zone,
                                .from_ms = now - 86400000LL,
                                .to_ms = now,
                                .total_jobs = (size_t)jobs,
                                .items = items.v,
                                .nitems = items.n};
        struct bk_alert_body b = {0};
        alert_summary_build(&sm, &b);
        json_t *p = json_object();
        json_object_set_new(p, "event", json_string("summary"));
        json_object_set_new(p, "customer", scope_name ? json_string(scope_name) : json_null());
        json_object_set_new(p, "status", json_string(items.n ? "problems" : "ok"));
        json_object_set_new(p, "title", json_string(b.title));
        json_object_set_new(p, "text", json_string(b.text));
        json_object_set_new(p, "html", b.html ? json_string(b.html) : json_null());
        json_object_set_new(p, "at", json_integer(now));
        char *payload = json_dumps(p, JSON_COMPACT);
        json_decref(p);
        rc = queue_rows(s, a, 0, 0, "summary", b.title, payload, key, now, st, err);
        free(payload);
        alert_body_free(&b);
    }
    for (size_t i = 0; i < items.nown; i++)
        free(items.own[i]);
    free(items.own);
    free(items.v);
    return rc;
}

static int summaries(struct memo *mo, struct bk_store *s, const struct bk_config *cfg, int64_t now,
                     struct alert_eval_stats *st, struct bk_err *err)
{
    bool any = false;
    for (size_t i = 0; i < cfg->nalerts; i++)
        any |= cfg->alerts[i].summary_minute >= 0;
    if (!any)
        return 0;
    struct scopes sc = {0};
    int rc = store_summary_customers(s, scope_row, &sc, err);
    for (size_t i = 0; rc >= 0 && i < cfg->nalerts; i++) {
        const struct bk_alert_cfg *a = &cfg->alerts[i];
        if (a->summary_minute < 0)
            continue;
        if (a->summary_all) {
            rc = summary_one(mo, s, cfg, a, NULL, NULL, sc.total, now, st, err);
            continue;
        }
        for (size_t k = 0; rc >= 0 && k < sc.n; k++)
            if (config_glob(a->customer, sc.v[k].name))
                rc = summary_one(mo, s, cfg, a, sc.v[k].name, sc.v[k].tz, sc.v[k].jobs, now, st,
                                 err);
    }
    for (size_t k = 0; k < sc.n; k++) {
        free(sc.v[k].name);
        free(sc.v[k].tz);
    }
    free(sc.v);
    return rc;
}

static void free_ctx(struct ctx *c)
{
    for (size_t i = 0; i < c->njobs; i++) {
        struct job *j = &c->jobs[i];
        free(j->customer);
        free(j->tz);
        free(j->source);
        free(j->name);
        free(j->kind);
        free(j->status);
        free(j->message);
    }
    free(c->jobs);
    for (size_t i = 0; i < c->nsrcs; i++) {
        free(c->srcs[i].name);
        free(c->srcs[i].error);
    }
    free(c->srcs);
}

static struct src *find_src(struct ctx *c, int64_t id)
{
    for (size_t i = 0; i < c->nsrcs; i++)
        if (c->srcs[i].id == id)
            return &c->srcs[i];
    return NULL;
}

int alert_evaluate(struct bk_store *s, const struct bk_config *cfg, int64_t now_ms,
                   struct alert_eval_stats *st, struct bk_err *err)
{
    struct alert_eval_stats local = {0};
    if (!st)
        st = &local;
    memset(st, 0, sizeof *st);
    if (!cfg->nalerts)
        return 0;
    struct ctx c = {.now = now_ms};
    struct store_incident *inc = NULL;
    size_t ninc = 0;
    bool *seen = NULL;
    struct memo mo = {0};
    int rc = store_begin(s, err); /* the write lock first: two evaluators never both open */
    if (rc < 0)
        return rc;
    if ((rc = store_alert_jobs_each(s, collect_job, &c, err)) < 0 ||
        (rc = store_alert_sources_each(s, collect_src, &c, err)) < 0 ||
        (rc = store_incidents_open(s, &inc, &ninc, err)) < 0)
        goto out;
    seen = xcalloc(ninc ? ninc : 1, sizeof *seen);
    for (size_t ai = 0; ai < cfg->nalerts && rc >= 0; ai++) {
        const struct bk_alert_cfg *a = &cfg->alerts[ai];
        bool *src_hit = xcalloc(c.nsrcs ? c.nsrcs : 1, sizeof *src_hit);
        for (size_t i = 0; i < c.njobs && rc >= 0; i++) {
            struct job *j = &c.jobs[i];
            if (!config_alert_matches(a, j->customer, j->source, j->name, j->kind))
                continue;
            struct src *sr = find_src(&c, j->source_id);
            if (sr)
                src_hit[sr - c.srcs] = true;
            enum cond cur = j->cond;
            /* A source that cannot be polled is one incident for the source: its jobs'
             * staleness says nothing new. */
            if (sr && sr->down && cur == C_STALE)
                cur = C_KEEP;
            struct store_incident *open = find_inc(inc, ninc, a->name, "job", j->id);
            if (open)
                seen[open - inc] = true;
            if (!open && cur == C_FAILED && j->consec < a->after)
                cur = C_KEEP; /* not yet `after` failures in a row */
            bool maint = !open && cur != C_OK && cur != C_KEEP &&
                         in_maintenance(&mo, cfg, j->customer, j->tz, j->source, j->name, now_ms);
            if (open && open->muted)
                maint = in_maintenance(&mo, cfg, j->customer, j->tz, j->source, j->name, now_ms);
            struct subject x = {.scope = "job",
                                .target = j->id,
                                .customer = j->customer,
                                .source = j->source,
                                .job = j->name,
                                .status = j->status,
                                .message = j->message,
                                .run_id = j->run_id,
                                .run_at = j->run_at,
                                .reviewed = j->reviewed};
            rc = apply(s, cfg, a, open, cur, &x, maint, now_ms, st, err);
        }
        for (size_t i = 0; i < c.nsrcs && rc >= 0; i++) {
            struct src *sr = &c.srcs[i];
            if (!config_glob(a->source, sr->name) || a->job || a->kind)
                continue;
            if (a->customer && !src_hit[i])
                continue;
            struct store_incident *open = find_inc(inc, ninc, a->name, "source", sr->id);
            if (open)
                seen[open - inc] = true;
            enum cond cur = sr->down ? C_DOWN : C_OK;
            bool maint =
                cur == C_DOWN && in_maintenance(&mo, cfg, NULL, NULL, sr->name, NULL, now_ms);
            struct subject x = {.scope = "source",
                                .target = sr->id,
                                .source = sr->name,
                                .status = sr->down ? "down" : "up",
                                .message = sr->error};
            rc = apply(s, cfg, a, open, cur, &x, maint, now_ms, st, err);
        }
        free(src_hit);
        if (rc >= 0 && cfg->nmaints)
            rc = maint_summary(&mo, s, cfg, a, now_ms, st, err);
    }
    /* An open incident nothing looked at: its job was retired, its source or section left
     * the configuration, or the section's filters no longer take it. Closed without a word
     * (nobody asked about it any more). */
    for (size_t i = 0; rc >= 0 && i < ninc; i++)
        if (!seen[i])
            rc = store_incident_update(s, inc[i].id, inc[i].seq, inc[i].kind, 0, 0, true, now_ms,
                                       err);
    if (rc >= 0)
        rc = summaries(&mo, s, cfg, now_ms, st, err);
out:
    free(seen);
    memo_free(&mo);
    store_incidents_free(inc, ninc);
    free_ctx(&c);
    if (rc < 0) {
        store_rollback(s);
        return rc;
    }
    return store_commit(s, err);
}
