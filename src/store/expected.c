/* The expected-runs evaluator (issue 9): what did not happen. core/schedule.c is the pure part
 * (learning, slots, anomalies, offline, freshness); this file is its caller: it reads each
 * job's history from the store, decides the schedule (job_schedule_set > config [schedule] >
 * learned), the range to check, "unknown — source down" instead of Missed, workstations'
 * offline check instead of Missed, and writes job_schedule, job_slot and the synthetic runs.
 *
 * Work is bounded: jobs are read once, then handled in batches of BATCH jobs by id; each
 * batch reads its runs and its slots with one query each and writes in one short
 * transaction, only what changed. Everything here is portable SQL over store_query/exec. */
#include "config/config.h"
#include "core/schedule.h"
#include "core/tzfile.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 256
#define DAY_MS (86400 * 1000LL)
#define SLOT_KEEP_MS (35 * DAY_MS) /* job_slot keeps this much history */
#define AHEAD_MS (2 * DAY_MS)
#define MAX_SLOTS 2048

enum run_flags { RF_OK = 1 };

struct run {
    int64_t job_id, id, start, end;
    int flags;
};

struct xslot { /* an existing job_slot row */
    int64_t job_id, start, run_id;
    char state[12];
};

struct job {
    int64_t id, source_id, created_at, bar_as_of, checked_until;
    char *name, *kind, *ext, *bar, *customer, *cust_tz, *source;
    char *set_spec, *set_tz;
    int64_t set_grace;    /* -1 NULL */
    char *policy;         /* HYCU policy name, or NULL */
    int64_t policy_rpo_s; /* its RPO, 0 none */
    bool has_sched;
    char *js_origin, *js_kind, *js_desc, *js_tz, *js_config;
    int64_t js_grace, js_warn, js_crit, js_conf, js_evid;
};

struct zone {
    char *name;
    struct bk_tz *tz;
};

struct srcpoll {
    int64_t source_id, last_ok_start, interval_ms;
};

struct ev {
    struct bk_store *s;
    const struct bk_config *cfg;
    int64_t now;
    struct store_expected_stats st;
    struct job *jobs;
    size_t njobs, capjobs;
    struct zone *zones;
    size_t nzones;
    struct bk_tz *server_tz;
    struct srcpoll *polls;
    size_t npolls;
    struct run *runs;
    size_t nruns, capruns;
    struct xslot *xs;
    size_t nxs, capxs;
    struct bk_slot *slots;
    int64_t *times, *merged, *durs;
};

static void job_free(struct job *j)
{
    free(j->name);
    free(j->kind);
    free(j->ext);
    free(j->bar);
    free(j->customer);
    free(j->cust_tz);
    free(j->source);
    free(j->set_spec);
    free(j->set_tz);
    free(j->js_origin);
    free(j->policy);
    free(j->js_kind);
    free(j->js_desc);
    free(j->js_tz);
    free(j->js_config);
}

static void ev_free(struct ev *e)
{
    for (size_t i = 0; i < e->njobs; i++)
        job_free(&e->jobs[i]);
    free(e->jobs);
    for (size_t i = 0; i < e->nzones; i++) {
        free(e->zones[i].name);
        bk_tz_free(e->zones[i].tz);
    }
    free(e->zones);
    bk_tz_free(e->server_tz);
    free(e->polls);
    free(e->runs);
    free(e->xs);
    free(e->slots);
    free(e->times);
    free(e->merged);
    free(e->durs);
}

/* A zone by name, loaded once per evaluation; unknown names fall back to the server's. */
static const struct bk_tz *zone_get(struct ev *e, const char *name)
{
    if (!name || !*name)
        return e->server_tz;
    for (size_t i = 0; i < e->nzones; i++)
        if (strcmp(e->zones[i].name, name) == 0)
            return e->zones[i].tz ? e->zones[i].tz : e->server_tz;
    struct bk_tz *tz = NULL;
    struct bk_err err = {0};
    if (bk_tz_load(name, &tz, &err) < 0) {
        log_msg(LOG_WARN, "expected: time zone \"%s\": %s; using the server's", name, err.msg);
        tz = NULL;
    }
    e->zones = xrealloc(e->zones, (e->nzones + 1) * sizeof *e->zones);
    e->zones[e->nzones].name = xstrdup(name);
    e->zones[e->nzones].tz = tz;
    e->nzones++;
    return tz ? tz : e->server_tz;
}

static int job_row(const struct store_row *r, void *ud)
{
    struct ev *e = ud;
    if (e->njobs == e->capjobs) {
        e->capjobs = e->capjobs ? 2 * e->capjobs : 256;
        e->jobs = xrealloc(e->jobs, e->capjobs * sizeof *e->jobs);
    }
    struct job *j = &e->jobs[e->njobs++];
    memset(j, 0, sizeof *j);
    j->id = store_row_int(r, 0);
    j->source_id = store_row_int(r, 1);
    j->name = xstrdup_or_null(store_row_text(r, 2));
    j->kind = xstrdup_or_null(store_row_text(r, 3));
    j->ext = xstrdup_or_null(store_row_text(r, 4));
    j->bar = xstrdup_or_null(store_row_text(r, 5));
    j->bar_as_of = store_row_int(r, 6);
    j->created_at = store_row_int(r, 7);
    j->customer = xstrdup_or_null(store_row_text(r, 8));
    j->cust_tz = xstrdup_or_null(store_row_text(r, 9));
    j->source = xstrdup_or_null(store_row_text(r, 10));
    j->set_spec = xstrdup_or_null(store_row_text(r, 11));
    j->set_tz = xstrdup_or_null(store_row_text(r, 12));
    j->set_grace = store_row_is_null(r, 13) ? -1 : store_row_int(r, 13);
    j->has_sched = !store_row_is_null(r, 14);
    j->js_origin = xstrdup_or_null(store_row_text(r, 14));
    j->js_kind = xstrdup_or_null(store_row_text(r, 15));
    j->js_desc = xstrdup_or_null(store_row_text(r, 16));
    j->js_tz = xstrdup_or_null(store_row_text(r, 17));
    j->js_config = xstrdup_or_null(store_row_text(r, 18));
    j->js_grace = store_row_int(r, 19);
    j->js_warn = store_row_int(r, 20);
    j->js_crit = store_row_int(r, 21);
    j->js_conf = store_row_int(r, 22);
    j->js_evid = store_row_int(r, 23);
    j->checked_until = store_row_int(r, 24);
    j->policy = xstrdup_or_null(store_row_text(r, 25));
    j->policy_rpo_s = store_row_int(r, 26);
    return 0;
}

#define JOB_SELECT                                                                                 \
    "SELECT j.id, j.source_id, j.name, j.kind, j.external_id, j.colour_bar,"                       \
    " COALESCE(j.colour_bar_as_of, 0), j.created_at, c.name, c.timezone, s.name,"                  \
    " ss.spec, ss.timezone, ss.grace_ms, js.origin, js.kind, js.description, js.timezone,"         \
    " js.config_name, js.grace_ms, js.warn_after_ms, js.crit_after_ms,"                            \
    " COALESCE(js.confidence, 0), COALESCE(js.evidence, 0), COALESCE(js.checked_until, 0),"        \
    " j.policy_name, COALESCE(j.policy_rpo_s, 0)"                                                  \
    " FROM job j JOIN source s ON s.id = j.source_id"                                              \
    " LEFT JOIN customer c ON c.id = j.customer_id"                                                \
    " LEFT JOIN job_schedule_set ss ON ss.job_id = j.id"                                           \
    " LEFT JOIN job_schedule js ON js.job_id = j.id"                                               \
    " WHERE j.retired_at IS NULL"

static int poll_row(const struct store_row *r, void *ud)
{
    struct ev *e = ud;
    e->polls = xrealloc(e->polls, (e->npolls + 1) * sizeof *e->polls);
    e->polls[e->npolls].source_id = store_row_int(r, 0);
    e->polls[e->npolls].last_ok_start = store_row_int(r, 1);
    e->polls[e->npolls].interval_ms = store_row_int(r, 2);
    const char *kind = store_row_text(r, 3);
    if (kind && strcmp(kind, "push") == 0) { /* never polled: its jobs' slots are always seen */
        e->polls[e->npolls].last_ok_start = e->now;
        e->polls[e->npolls].interval_ms = 1;
    }
    e->npolls++;
    return 0;
}

static const struct srcpoll *source_poll(const struct ev *e, int64_t source_id)
{
    static const struct srcpoll none = {0, 0, 0};
    for (size_t i = 0; i < e->npolls; i++)
        if (e->polls[i].source_id == source_id)
            return &e->polls[i];
    return &none;
}

static int run_row(const struct store_row *r, void *ud)
{
    struct ev *e = ud;
    if (e->nruns == e->capruns) {
        e->capruns = e->capruns ? 2 * e->capruns : 4096;
        e->runs = xrealloc(e->runs, e->capruns * sizeof *e->runs);
    }
    struct run *x = &e->runs[e->nruns++];
    x->job_id = store_row_int(r, 0);
    x->id = store_row_int(r, 1);
    x->start = store_row_int(r, 2);
    x->end = store_row_is_null(r, 3) ? 0 : store_row_int(r, 3);
    const char *status = store_row_text(r, 4);
    x->flags =
        status && (strcmp(status, "success") == 0 || strcmp(status, "warning") == 0) ? RF_OK : 0;
    return 0;
}

static int cmp_run(const void *a, const void *b)
{
    const struct run *x = a, *y = b;
    if (x->job_id != y->job_id)
        return x->job_id < y->job_id ? -1 : 1;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static int xslot_row(const struct store_row *r, void *ud)
{
    struct ev *e = ud;
    if (e->nxs == e->capxs) {
        e->capxs = e->capxs ? 2 * e->capxs : 4096;
        e->xs = xrealloc(e->xs, e->capxs * sizeof *e->xs);
    }
    struct xslot *x = &e->xs[e->nxs++];
    x->job_id = store_row_int(r, 0);
    x->start = store_row_int(r, 1);
    snprintf(x->state, sizeof x->state, "%s", store_row_text(r, 2) ? store_row_text(r, 2) : "");
    x->run_id = store_row_int(r, 3);
    return 0;
}

static bool sched_has_slots(enum bk_sched_kind k)
{
    return k != BK_SCHED_UNKNOWN && k != BK_SCHED_IRREGULAR;
}

static bool eq_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void utc_day(int64_t days, char *out, size_t n)
{
    int y, m, d;
    bk_civil_from_days(days, &y, &m, &d);
    snprintf(out, n, "%04d-%02d-%02d", y, m, d);
}

/* The local backup day of a slot: its calendar day, but the day before for a window that
 * starts after midnight of its backup day (start_min >= 1440: the 00:30 run of a night that
 * began the evening before). Every-periods and cron slots are named by their start's day. */
static void slot_day(const struct bk_schedule *sc, const struct bk_tz *tz, int64_t start_ms,
                     char *out, size_t n)
{
    struct bk_civil c;
    bk_tz_civil(tz, start_ms / 1000, &c);
    int64_t days = c.days;
    int mod = c.hour * 60 + c.min;
    if (sc->kind == BK_SCHED_DAILY || sc->kind == BK_SCHED_MULTI || sc->kind == BK_SCHED_WEEKLY ||
        sc->kind == BK_SCHED_MONTHLY)
        for (int i = 0; i < sc->nwin; i++)
            if (sc->win[i].start_min >= 1440 && sc->win[i].start_min - 1440 == mod) {
                days--;
                break;
            }
    utc_day(days, out, n);
}

static int write_schedule(struct ev *e, struct job *j, const char *origin,
                          const struct bk_schedule *sc, const char *desc, const char *tzname,
                          const char *config_name, const struct bk_stale_opts *so,
                          int64_t checked_until, struct bk_err *err)
{
    int64_t grace_ms = sc->grace_s * 1000;
    int64_t conf = sc->origin == BK_SCHED_LEARNED ? sc->confidence : 0;
    int64_t evid = sc->origin == BK_SCHED_LEARNED ? sc->evidence : 0;
    if (j->has_sched && eq_str(j->js_origin, origin) &&
        eq_str(j->js_kind, bk_sched_kind_name(sc->kind)) && eq_str(j->js_desc, desc) &&
        eq_str(j->js_tz, tzname) && eq_str(j->js_config, config_name) && j->js_grace == grace_ms &&
        j->js_warn == so->warn_ms && j->js_crit == so->crit_ms && j->js_conf == conf &&
        j->js_evid == evid && j->checked_until == checked_until)
        return 0;
    struct store_param p[] = {
        SP_INT(j->id),
        SP_TEXT(origin),
        SP_TEXT(bk_sched_kind_name(sc->kind)),
        SP_TEXT(desc),
        SP_TEXT(tzname),
        SP_INT(grace_ms),
        sc->origin == BK_SCHED_LEARNED ? SP_INT(conf) : SP_NULL,
        sc->origin == BK_SCHED_LEARNED ? SP_INT(evid) : SP_NULL,
        SP_TEXT(config_name),
        SP_INT(so->warn_ms),
        SP_INT(so->crit_ms),
        SP_INT(checked_until),
        SP_INT(e->now),
    };
    return store_exec(e->s,
                      "INSERT INTO job_schedule (job_id, origin, kind, description, timezone,"
                      " grace_ms, confidence, evidence, config_name, warn_after_ms, crit_after_ms,"
                      " checked_until, updated_at)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
                      " ON CONFLICT (job_id) DO UPDATE SET origin = ?2, kind = ?3,"
                      " description = ?4, timezone = ?5, grace_ms = ?6, confidence = ?7,"
                      " evidence = ?8, config_name = ?9, warn_after_ms = ?10,"
                      " crit_after_ms = ?11, checked_until = ?12, updated_at = ?13",
                      p, sizeof p / sizeof p[0], NULL, NULL, err);
}

static int id_row(const struct store_row *r, void *ud)
{
    *(int64_t *)ud = store_row_int(r, 0);
    return 0;
}

/* The synthetic Missed run of a slot: exactly one per (job, slot start) — the unique key
 * does it — and never again once retention pruned it (its tombstone). Returns its id. */
static int insert_missed(struct ev *e, const struct job *j, const struct bk_slot *sl,
                         const struct bk_tz *tz, const char *desc, int64_t *run_id,
                         struct bk_err *err)
{
    char vid[40], msg[256];
    snprintf(vid, sizeof vid, "missed:%" PRId64, sl->start_ms);
    struct bk_civil c;
    bk_tz_civil(tz, sl->due_ms / 1000, &c);
    snprintf(msg, sizeof msg, "no backup by %02d:%02d (expected %s, %s)", c.hour, c.min, desc,
             bk_tz_name(tz));
    struct store_param p[] = {SP_INT(j->id), SP_TEXT(vid), SP_INT(sl->start_ms), SP_TEXT(msg),
                              SP_INT(e->now)};
    int64_t changes = 0;
    int rc = store_exec(e->s,
                        "INSERT INTO job_run (job_id, source_type, vendor_run_id, start_at,"
                        " end_at, status, raw_status, message, created_at, updated_at)"
                        " SELECT ?1, 'expected', ?2, ?3, NULL, 'missed', 'missed', ?4, ?5, ?5"
                        " WHERE NOT EXISTS (SELECT 1 FROM run_tombstone t"
                        "  WHERE t.job_id = ?1 AND t.vendor_run_id = ?2)"
                        " ON CONFLICT (job_id, vendor_run_id) DO NOTHING",
                        p, 5, &changes, NULL, err);
    if (rc < 0)
        return rc;
    if (changes > 0)
        e->st.missed_new++;
    *run_id = 0;
    return store_query(e->s, "SELECT id FROM job_run WHERE job_id = ?1 AND vendor_run_id = ?2", p,
                       2, id_row, run_id, err);
}

static const struct xslot *find_xslot(const struct xslot *xs, size_t n, int64_t start)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (xs[mid].start < start)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && xs[lo].start == start ? &xs[lo] : NULL;
}

static int64_t run_id_at(const struct run *runs, size_t n, int64_t start)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (runs[mid].start < start)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && runs[lo].start == start ? runs[lo].id : 0;
}

/* Delete a synthetic run unless it was reviewed (a review is history); *gone says whether it
 * went. The remark links go with it, never those of a reviewed run. */
static int delete_run(struct ev *e, int64_t id, bool *gone, struct bk_err *err)
{
    struct store_param p[] = {SP_INT(id)};
    int64_t n = 0;
    int rc = store_exec(e->s,
                        "DELETE FROM remark_run WHERE run_id = ?1 AND EXISTS (SELECT 1 FROM"
                        " job_run r WHERE r.id = ?1 AND r.reviewed_at IS NULL)",
                        p, 1, NULL, NULL, err);
    if (rc == 0)
        rc = store_exec(e->s,
                        "DELETE FROM job_run WHERE id = ?1 AND reviewed_at IS NULL"
                        " AND source_type = 'expected'",
                        p, 1, &n, NULL, err);
    if (gone)
        *gone = n > 0;
    return rc;
}

/* One audit row for the unreviewed Missed runs a schedule change dropped (ids "1,2,3"). */
static int audit_dropped(struct ev *e, const struct job *j, const char *ids, int64_t n,
                         struct bk_err *err)
{
    char target[32];
    snprintf(target, sizeof target, "job %" PRId64, j->id);
    char *after = xasprintf("{\"reason\":\"the expected schedule changed\",\"runs\":[%s],"
                            "\"runs_dropped\":%" PRId64 "}",
                            ids, n);
    struct store_param p[] = {SP_INT(e->now), SP_TEXT(target), SP_TEXT(after)};
    int rc = store_exec(e->s,
                        "INSERT INTO audit (at, who, action, target, before_json, after_json)"
                        " VALUES (?1, 'system', 'run.missed.dropped', ?2, NULL, ?3)",
                        p, 3, NULL, NULL, err);
    free(after);
    return rc;
}

/* A Missed slot the schedule in force no longer has: when the schedule changed, its
 * unreviewed Missed run goes with the slot (the new schedule never expected it); a reviewed
 * one stays, with its slot, as history. */
static int drop_missed(struct ev *e, const struct job *j, const struct xslot *x, char *ids,
                       size_t idsz, int64_t *ndropped, struct bk_err *err)
{
    struct store_param p[] = {SP_INT(j->id), SP_INT(x->start)};
    int64_t n = 0;
    int rc = store_exec(e->s,
                        "DELETE FROM job_slot WHERE job_id = ?1 AND slot_start = ?2 AND NOT EXISTS"
                        " (SELECT 1 FROM job_run r WHERE r.id = job_slot.run_id"
                        " AND r.reviewed_at IS NOT NULL)",
                        p, 2, &n, NULL, err);
    if (rc < 0 || n == 0)
        return rc;
    e->st.slots_written++;
    bool gone = false;
    if (!x->run_id || (rc = delete_run(e, x->run_id, &gone, err)) < 0 || !gone)
        return rc;
    size_t l = strlen(ids);
    if (l + 24 < idsz)
        snprintf(ids + l, idsz - l, "%s%" PRId64, l ? "," : "", x->run_id);
    (*ndropped)++;
    return 0;
}

static int write_slots(struct ev *e, const struct job *j, const struct bk_schedule *sc,
                       const struct bk_tz *tz, const char *desc, const struct run *runs,
                       size_t nruns, const struct xslot *xs, size_t nxs, int64_t from, bool changed,
                       struct bk_err *err)
{
    size_t nt = 0;
    for (size_t i = 0; i < nruns; i++)
        e->times[nt++] = runs[i].start;
    const int64_t *times = e->times;
    if (j->bar && *j->bar && j->bar_as_of > 0) {
        nt = bk_sched_merge_bar(e->times, nt, j->bar, j->bar_as_of, e->merged,
                                BK_SCHED_MAX_RUNS + 64);
        times = e->merged;
    }
    int64_t to = e->now + AHEAD_MS;
    size_t ns = bk_sched_check(sc, tz, times, nt, from, to, e->now, e->slots, MAX_SLOTS);
    const struct srcpoll *sp = source_poll(e, j->source_id);
    int64_t covered = sp->last_ok_start;
    /* a source polled fine within 3 intervals (check's rule) is only waiting for its next
     * poll: the slot stays expected; one that is not is down, and the slot unknown */
    bool healthy = sp->interval_ms > 0 && store_source_up(covered, sp->interval_ms, e->now);
    int rc = 0;
    /* slots of the window that the schedule no longer has go; a missed one only when the
     * schedule changed (see drop_missed) */
    size_t k = 0;
    char ids[1024] = "";
    int64_t ndropped = 0;
    for (size_t i = 0; i < nxs; i++) {
        if (xs[i].start < from)
            continue;
        while (k < ns && e->slots[k].start_ms < xs[i].start)
            k++;
        if (k < ns && e->slots[k].start_ms == xs[i].start)
            continue;
        if (strcmp(xs[i].state, "missed") == 0) {
            if (changed && (rc = drop_missed(e, j, &xs[i], ids, sizeof ids, &ndropped, err)) < 0)
                return rc;
            continue;
        }
        struct store_param p[] = {SP_INT(j->id), SP_INT(xs[i].start)};
        if ((rc = store_exec(e->s, "DELETE FROM job_slot WHERE job_id = ?1 AND slot_start = ?2", p,
                             2, NULL, NULL, err)) < 0)
            return rc;
        e->st.slots_written++;
    }
    if (ndropped && (rc = audit_dropped(e, j, ids, ndropped, err)) < 0)
        return rc;
    for (size_t i = 0; i < ns; i++) {
        const struct bk_slot *sl = &e->slots[i];
        const struct xslot *old = find_xslot(xs, nxs, sl->start_ms);
        /* decided slots stay decided: a Missed slot stays Missed (a late run is a run of its
         * own), and a slot that ran stays ran when retention prunes its reviewed run */
        if (old && (strcmp(old->state, "missed") == 0 || strcmp(old->state, "ran") == 0))
            continue;
        const char *state = "expected";
        int64_t run_id = 0;
        if (sl->state == BK_SLOT_RAN) {
            state = "ran";
            run_id = sl->run >= 0 ? run_id_at(runs, nruns, times[sl->run]) : 0;
        } else if (sl->state == BK_SLOT_MISSED) {
            if (covered < sl->due_ms && healthy) {
                state = "expected"; /* due, but the poll that will tell has not run yet */
            } else if (covered < sl->due_ms) {
                state = "unknown"; /* no successful poll since it was due: cannot tell */
                e->st.unknown++;
            } else {
                state = "missed";
                if ((rc = insert_missed(e, j, sl, tz, desc, &run_id, err)) < 0)
                    return rc;
            }
        }
        if (old && strcmp(old->state, state) == 0 && old->run_id == run_id)
            continue;
        char day[16];
        slot_day(sc, tz, sl->start_ms, day, sizeof day);
        struct store_param p[] = {
            SP_INT(j->id),       SP_INT(sl->start_ms),
            SP_INT(sl->open_ms), SP_INT(sl->close_ms),
            SP_INT(sl->due_ms),  SP_TEXT(day),
            SP_TEXT(state),      run_id ? SP_INT(run_id) : SP_NULL,
        };
        if ((rc = store_exec(e->s,
                             "INSERT INTO job_slot (job_id, slot_start, open_at, close_at, due_at,"
                             " day, state, run_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                             " ON CONFLICT (job_id, slot_start) DO UPDATE SET open_at = ?3,"
                             " close_at = ?4, due_at = ?5, day = ?6, state = ?7, run_id = ?8",
                             p, sizeof p / sizeof p[0], NULL, NULL, err)) < 0)
            return rc;
        e->st.slots_written++;
    }
    return 0;
}

struct offline_row {
    int64_t id;
    char vid[48];
    char status[16];
    char msg[128];
    bool reviewed;
};

struct offline_rows {
    struct offline_row r[8];
    size_t n;
};

static int offline_cb(const struct store_row *r, void *ud)
{
    struct offline_rows *o = ud;
    if (o->n >= sizeof o->r / sizeof o->r[0])
        return 0;
    struct offline_row *x = &o->r[o->n++];
    x->id = store_row_int(r, 0);
    snprintf(x->vid, sizeof x->vid, "%s", store_row_text(r, 1) ? store_row_text(r, 1) : "");
    snprintf(x->status, sizeof x->status, "%s", store_row_text(r, 2) ? store_row_text(r, 2) : "");
    snprintf(x->msg, sizeof x->msg, "%s", store_row_text(r, 3) ? store_row_text(r, 3) : "");
    x->reviewed = store_row_int(r, 4) != 0;
    return 0;
}

/* A workstation's offline check: one synthetic run per stretch of inactivity, keyed by the
 * last active day, escalating in place (warning → failed) and deleted when activity resumes;
 * a reviewed one is never touched. */
static int eval_offline(struct ev *e, const struct job *j, const struct run *runs, size_t nruns,
                        struct bk_err *err)
{
    int64_t last_session = nruns ? runs[nruns - 1].start : 0;
    if (nruns && runs[nruns - 1].end > last_session)
        last_session = runs[nruns - 1].end;
    struct bk_offline off;
    bk_sched_offline(j->bar, j->bar_as_of, last_session, e->now, e->cfg->expected.offline_warn_days,
                     e->cfg->expected.offline_error_days, &off);
    struct offline_rows have = {0};
    struct store_param q[] = {SP_INT(j->id)};
    int rc = store_query(e->s,
                         "SELECT id, vendor_run_id, status, COALESCE(message, ''),"
                         " reviewed_at IS NOT NULL FROM job_run WHERE job_id = ?1"
                         " AND vendor_run_id >= 'offline:' AND vendor_run_id < 'offline;'"
                         " AND source_type = 'expected'",
                         q, 1, offline_cb, &have, err);
    if (rc < 0)
        return rc;
    char vid[48] = "";
    const char *status = NULL;
    char msg[128] = "";
    int64_t start = 0;
    if (off.level == BK_OFFLINE_WARNING || off.level == BK_OFFLINE_ERROR) {
        int64_t today = e->now / DAY_MS - (e->now < 0 ? 1 : 0);
        char day[16];
        utc_day(today - off.days, day, sizeof day);
        snprintf(vid, sizeof vid, "offline:%s", day);
        status = off.level == BK_OFFLINE_ERROR ? "failed" : "warning";
        snprintf(msg, sizeof msg, "offline for %s%d days (last activity %s)",
                 off.at_least ? "at least " : "", off.days, day);
        start = (today - off.days + 1) * DAY_MS;
        e->st.offline++;
    }
    bool found = false;
    for (size_t i = 0; i < have.n; i++) {
        struct offline_row *x = &have.r[i];
        if (x->reviewed) {
            if (strcmp(x->vid, vid) == 0)
                found = true; /* reviewed: stays as it was, and is not made again */
            continue;
        }
        if (status && strcmp(x->vid, vid) == 0) {
            found = true;
            if (strcmp(x->status, status) == 0 && strcmp(x->msg, msg) == 0)
                continue;
            struct store_param p[] = {SP_INT(x->id), SP_TEXT(status), SP_TEXT(msg), SP_INT(e->now)};
            if ((rc = store_exec(e->s,
                                 "UPDATE job_run SET status = ?2, message = ?3, updated_at = ?4"
                                 " WHERE id = ?1 AND reviewed_at IS NULL",
                                 p, 4, NULL, NULL, err)) < 0)
                return rc;
        } else if ((rc = delete_run(e, x->id, NULL, err)) < 0) {
            return rc;
        }
    }
    if (status && !found) {
        struct store_param p[] = {SP_INT(j->id),   SP_TEXT(vid), SP_INT(start),
                                  SP_TEXT(status), SP_TEXT(msg), SP_INT(e->now)};
        rc = store_exec(e->s,
                        "INSERT INTO job_run (job_id, source_type, vendor_run_id, start_at,"
                        " end_at, status, raw_status, message, created_at, updated_at)"
                        " SELECT ?1, 'expected', ?2, ?3, NULL, ?4, 'offline', ?5, ?6, ?6"
                        " WHERE NOT EXISTS (SELECT 1 FROM run_tombstone t"
                        "  WHERE t.job_id = ?1 AND t.vendor_run_id = ?2)"
                        " ON CONFLICT (job_id, vendor_run_id) DO NOTHING",
                        p, 6, NULL, NULL, err);
    }
    return rc;
}

/* Duration anomalies of the runs that ended since the last evaluation (checked_until). */
static int eval_anomalies(struct ev *e, const struct job *j, const struct run *runs, size_t nruns,
                          int64_t *checked_until, struct bk_err *err)
{
    int64_t since = j->checked_until ? j->checked_until : e->now - e->cfg->expected.backfill_ms;
    int64_t newest = j->checked_until;
    struct bk_dur_opts o = {.factor = e->cfg->expected.duration_factor};
    for (size_t i = 0; i < nruns; i++) {
        const struct run *r = &runs[i];
        if (r->end > newest)
            newest = r->end;
        if (!(r->flags & RF_OK) || r->end <= since || r->end < r->start)
            continue;
        size_t nd = 0; /* the durations before this run */
        for (size_t k = 0; k < i && nd < 1024; k++) {
            size_t idx = i - 1 - k;
            if ((runs[idx].flags & RF_OK) && runs[idx].end >= runs[idx].start && runs[idx].end)
                e->durs[nd++] = runs[idx].end - runs[idx].start;
        }
        char reason[96];
        if (!bk_sched_duration_anomaly(e->durs, nd, r->end - r->start, &o, reason, sizeof reason))
            continue;
        struct store_param p[] = {SP_INT(r->id), SP_TEXT(reason)};
        int64_t changes = 0;
        int rc = store_exec(e->s,
                            "UPDATE job_run SET anomaly = ?2 WHERE id = ?1 AND reviewed_at IS NULL"
                            " AND anomaly IS NULL",
                            p, 2, &changes, NULL, err);
        if (rc < 0)
            return rc;
        e->st.anomalies_new += changes;
    }
    *checked_until = newest;
    return 0;
}

static int eval_one(struct ev *e, struct job *j, const struct run *runs, size_t nruns,
                    const struct xslot *xs, size_t nxs, struct bk_err *err)
{
    const struct bk_config *cfg = e->cfg;
    const struct bk_customer_cfg *cc = config_find_customer(cfg, j->customer);
    const char *cust_tz = cc && cc->timezone ? cc->timezone : j->cust_tz;
    const struct bk_schedule_cfg *scfg =
        j->set_spec ? NULL : config_match_schedule(cfg, j->customer, j->source, j->name, j->kind);
    const char *tzname = j->set_spec && j->set_tz ? j->set_tz
                         : scfg && scfg->timezone ? scfg->timezone
                                                  : cust_tz;
    const struct bk_tz *tz = zone_get(e, tzname);
    const char *origin = "learned";
    struct bk_schedule sc;
    struct bk_err perr = {0};
    bool configured = false;
    if (j->set_spec && bk_sched_parse(j->set_spec, j->set_grace >= 0 ? j->set_grace / 1000 : -1,
                                      &sc, &perr) == 0) {
        origin = "api";
        configured = true;
    } else if (j->set_spec) {
        log_msg(LOG_WARN, "expected: job %" PRId64 ": schedule \"%.60s\": %s; learning instead",
                j->id, j->set_spec, perr.msg);
        scfg = config_match_schedule(cfg, j->customer, j->source, j->name, j->kind);
    }
    if (!configured && scfg &&
        bk_sched_parse(scfg->spec, scfg->grace_ms >= 0 ? scfg->grace_ms / 1000 : -1, &sc, &perr) ==
            0) {
        origin = "config";
        configured = true;
    }
    size_t nt = nruns > BK_SCHED_MAX_RUNS ? BK_SCHED_MAX_RUNS : nruns;
    const struct run *lr = runs + (nruns - nt);
    if (!configured || sc.kind == BK_SCHED_EVERY) {
        for (size_t i = 0; i < nt; i++)
            e->times[i] = lr[i].start;
        struct bk_learn_in in = {
            .runs_ms = e->times,
            .nruns = nt,
            .bar = j->bar,
            .bar_as_of_ms = j->bar_as_of,
            .tz = tz,
            .now_ms = e->now,
        };
        struct bk_schedule learned;
        bk_sched_learn(&in, &learned);
        if (!configured && bk_sched_policy(&learned, j->policy_rpo_s, j->kind, &sc))
            origin = "policy";
        else if (!configured)
            sc = learned;
        else
            sc.day_start_min = learned.day_start_min; /* the day boundary in the quiet hours */
    }
    char desc[160];
    bk_sched_describe(&sc, desc, sizeof desc);
    bool workstation = j->kind && strcmp(j->kind, "workstation") == 0;
    bool exempt = workstation && !cfg->expected.workstations_missed;
    /* an exempt workstation's stale thresholds follow its kind (3 d), not a daily schedule
     * it is not held to: the offline check speaks first */
    struct bk_stale_opts so;
    bk_sched_stale_defaults(exempt ? NULL : &sc, j->kind, &so);
    const struct bk_stale_cfg *stc = config_find_stale(cfg, j->kind);
    if (stc && stc->warn_ms)
        so.warn_ms = stc->warn_ms;
    if (stc && stc->crit_ms)
        so.crit_ms = stc->crit_ms;
    if (so.crit_ms < so.warn_ms)
        so.crit_ms = so.warn_ms;
    int rc = 0;
    /* the schedule in force changed (configured, cleared, relearned to another shape) */
    bool changed = j->has_sched && !(eq_str(j->js_origin, origin) &&
                                     eq_str(j->js_kind, bk_sched_kind_name(sc.kind)) &&
                                     eq_str(j->js_desc, desc) && eq_str(j->js_tz, bk_tz_name(tz)));
    if (sched_has_slots(sc.kind) && !exempt) {
        int64_t first = j->created_at;
        if (j->bar && *j->bar)
            first -= (int64_t)strlen(j->bar) * DAY_MS;
        int64_t from = e->now - cfg->expected.backfill_ms;
        if (first > from)
            from = first;
        if ((rc = write_slots(e, j, &sc, tz, desc, lr, nt, xs, nxs, from, changed, err)) < 0)
            return rc;
    } else if (nxs) {
        /* no slots any more (irregular, or exempt): forget the future ones, and the
         * unreviewed Missed runs of a schedule that is no longer in force */
        char ids[1024] = "";
        int64_t ndropped = 0;
        for (size_t i = 0; changed && i < nxs; i++)
            if (strcmp(xs[i].state, "missed") == 0 &&
                (rc = drop_missed(e, j, &xs[i], ids, sizeof ids, &ndropped, err)) < 0)
                return rc;
        if (ndropped && (rc = audit_dropped(e, j, ids, ndropped, err)) < 0)
            return rc;
        struct store_param p[] = {SP_INT(j->id), SP_INT(e->now)};
        if ((rc = store_exec(e->s,
                             "DELETE FROM job_slot WHERE job_id = ?1 AND state <> 'missed'"
                             " AND due_at > ?2",
                             p, 2, NULL, NULL, err)) < 0)
            return rc;
    }
    if (workstation && (rc = eval_offline(e, j, lr, nt, err)) < 0)
        return rc;
    int64_t checked = 0;
    if ((rc = eval_anomalies(e, j, lr, nt, &checked, err)) < 0)
        return rc;
    rc = write_schedule(e, j, origin, &sc, desc, bk_tz_name(tz),
                        strcmp(origin, "config") == 0   ? scfg->name
                        : strcmp(origin, "policy") == 0 ? j->policy
                                                        : NULL,
                        &so, checked, err);
    e->st.jobs++;
    return rc;
}

static int eval_batch(struct ev *e, size_t b0, size_t b1, struct bk_err *err)
{
    int64_t lo = e->jobs[b0].id, hi = e->jobs[b1 - 1].id;
    e->nruns = 0;
    e->nxs = 0;
    struct store_param p[] = {SP_INT(lo), SP_INT(hi),
                              SP_INT(e->now - (int64_t)BK_SCHED_HORIZON_DAYS * DAY_MS)};
    int rc = store_query(e->s,
                         /* covered by job_run_job_type_start (migration 7); the UPDATEs
                          * check reviewed_at and anomaly themselves */
                         "SELECT job_id, id, start_at, end_at, status FROM job_run"
                         " WHERE job_id >= ?1 AND job_id <= ?2 AND source_type <> 'expected'"
                         " AND start_at >= ?3 ORDER BY job_id",
                         p, 3, run_row, e, err);
    if (rc < 0)
        return rc;
    /* the index gives each job's runs by source type, then start: one order per job */
    if (e->nruns > 1)
        qsort(e->runs, e->nruns, sizeof *e->runs, cmp_run);
    struct store_param q[] = {SP_INT(lo), SP_INT(hi), SP_INT(e->now - SLOT_KEEP_MS)};
    if ((rc = store_query(e->s,
                          "SELECT job_id, slot_start, state, COALESCE(run_id, 0) FROM job_slot"
                          " WHERE job_id >= ?1 AND job_id <= ?2 AND slot_start >= ?3"
                          " ORDER BY job_id, slot_start",
                          q, 3, xslot_row, e, err)) < 0)
        return rc;
    /* thousands of slot and schedule writes: pipelined on PostgreSQL */
    if ((rc = store_begin_batch(e->s, err)) < 0)
        return rc;
    size_t ri = 0, xi = 0;
    for (size_t i = b0; i < b1 && rc == 0; i++) {
        struct job *j = &e->jobs[i];
        while (ri < e->nruns && e->runs[ri].job_id < j->id)
            ri++;
        size_t r0 = ri;
        while (ri < e->nruns && e->runs[ri].job_id == j->id)
            ri++;
        while (xi < e->nxs && e->xs[xi].job_id < j->id)
            xi++;
        size_t x0 = xi;
        while (xi < e->nxs && e->xs[xi].job_id == j->id)
            xi++;
        rc = eval_one(e, j, e->runs + r0, ri - r0, e->xs + x0, xi - x0, err);
    }
    if (rc == 0) {
        /* the rolling window: slots older than SLOT_KEEP_MS go (their runs stay) */
        struct store_param d[] = {SP_INT(lo), SP_INT(hi), SP_INT(e->now - SLOT_KEEP_MS)};
        rc = store_exec(e->s,
                        "DELETE FROM job_slot WHERE job_id >= ?1 AND job_id <= ?2"
                        " AND slot_start < ?3",
                        d, 3, NULL, NULL, err);
    }
    if (rc < 0) {
        store_rollback(e->s);
        return rc;
    }
    return store_commit(e->s, err);
}

static int eval_where(struct bk_store *s, const struct bk_config *cfg, const char *where,
                      int64_t arg, int64_t now_ms, struct store_expected_stats *st,
                      struct bk_err *err)
{
    struct ev e = {.s = s, .cfg = cfg, .now = now_ms};
    struct bk_err zerr = {0};
    int rc = 0;
    if (bk_tz_load(cfg->timezone, &e.server_tz, &zerr) < 0) {
        log_msg(LOG_WARN, "expected: server time zone: %s; using UTC", zerr.msg);
        e.server_tz = NULL; /* NULL zone = UTC in the core */
    }
    /* customer zones of the configuration land in customer.timezone (the API shows them) */
    for (size_t i = 0; i < cfg->ncustomers && rc == 0; i++) {
        struct store_param p[] = {SP_TEXT(cfg->customers[i].name),
                                  SP_TEXT(cfg->customers[i].timezone)};
        rc = store_exec(s,
                        "UPDATE customer SET timezone = ?2 WHERE name = ?1"
                        " AND (timezone IS NULL OR timezone <> ?2)",
                        p, 2, NULL, NULL, err);
    }
    char *sql = xasprintf("%s%s ORDER BY j.id", JOB_SELECT, where);
    struct store_param p[] = {SP_INT(arg)};
    if (rc == 0)
        rc = store_query(s, sql, p, 1, job_row, &e, err);
    free(sql);
    if (rc == 0)
        rc = store_query(s,
                         "SELECT s.id, (SELECT MAX(p.started_at) FROM poll_run p"
                         "  WHERE p.source_id = s.id AND p.result = 'ok'), s.interval_ms, s.kind"
                         " FROM source s",
                         NULL, 0, poll_row, &e, err);
    if (rc == 0 && e.njobs) {
        e.slots = xmalloc(MAX_SLOTS * sizeof *e.slots);
        e.times = xmalloc((BK_SCHED_MAX_RUNS + 64) * sizeof *e.times);
        e.merged = xmalloc((BK_SCHED_MAX_RUNS + 64) * sizeof *e.merged);
        e.durs = xmalloc(1024 * sizeof *e.durs);
        for (size_t b = 0; b < e.njobs && rc == 0; b += BATCH)
            rc = eval_batch(&e, b, b + BATCH < e.njobs ? b + BATCH : e.njobs, err);
    }
    if (st)
        *st = e.st;
    ev_free(&e);
    return rc;
}

int store_expected_eval(struct bk_store *s, const struct bk_config *cfg, int64_t source_id,
                        int64_t now_ms, struct store_expected_stats *st, struct bk_err *err)
{
    return eval_where(s, cfg, " AND (?1 = 0 OR j.source_id = ?1)", source_id, now_ms, st, err);
}

int store_expected_eval_job(struct bk_store *s, const struct bk_config *cfg, int64_t job_id,
                            int64_t now_ms, struct bk_err *err)
{
    return eval_where(s, cfg, " AND j.id = ?1", job_id, now_ms, NULL, err);
}

enum bk_fresh store_job_freshness(int64_t last_real_run_ms, int64_t first_seen_ms, int64_t now_ms,
                                  int64_t job_warn_ms, int64_t job_crit_ms, int64_t warn_ms,
                                  int64_t crit_ms)
{
    struct bk_stale_opts o = {
        .warn_ms = warn_ms > 0       ? warn_ms
                   : job_warn_ms > 0 ? job_warn_ms
                                     : 26 * 3600 * 1000LL,
        .crit_ms = crit_ms > 0       ? crit_ms
                   : job_crit_ms > 0 ? job_crit_ms
                                     : 50 * 3600 * 1000LL,
    };
    if (o.crit_ms < o.warn_ms)
        o.crit_ms = o.warn_ms;
    return bk_sched_freshness(last_real_run_ms, first_seen_ms, now_ms, &o);
}

const char *store_fresh_name(int fresh)
{
    switch (fresh) {
    case BK_FRESH_OK:
        return "ok";
    case BK_FRESH_OLD:
        return "old";
    case BK_FRESH_STALE:
        return "stale";
    case BK_FRESH_NEVER_NEW:
        return "never_new";
    case BK_FRESH_NEVER_OLD:
        return "never_old";
    default:
        return "ok";
    }
}
