/* The daemon. Threads: the main thread handles signals (sigtimedwait) and runs the scheduler
 * tick; N worker threads each own a store handle and run one poll at a time; the HTTP server
 * has its own pool (web/). State shared with workers and the web hooks is under one mutex.
 * A slow or failing source only ever occupies one worker, so it cannot delay the others
 * beyond the worker count. */
#include "daemon/daemon.h"

#include "alert/deliver.h"
#include "alert/engine.h"
#include "auth/auth.h"
#include "config/config.h"
#include "mail/graph.h"
#include "mail/imap.h"
#include "mail/ingest.h"
#include "poller/poller.h"
#include "poller/pollsched.h"
#include "secrets/secretfile.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"
#include "util/timeutil.h"
#include "util/xalloc.h"
#include "web/metrics.h"
#include "web/web.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define WORKERS 2
#define EVAL_TICK_MS (5 * 60 * 1000) /* expected runs: slots due without a poll */
#define ALERT_TICK_MS (30 * 1000)    /* alerts: pings, reviews and reminders between polls */

struct src_state {
    char *name;
    const struct bk_source_cfg *cfg; /* points into the current config */
    struct pollsched sched;          /* next due, backoff, hold after rejected credentials */
    bool paused;
    bool running;
    bool queued;
    bool removed;
    /* counters for /metrics */
    int64_t polls_ok, polls_failed, polls_partial;
    double last_seconds;
};

struct daemon {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct bk_config *cfg;       /* current */
    struct bk_config **old_cfgs; /* superseded configs: kept alive for borrowed pointers */
    size_t nold;
    struct src_state *src;
    size_t nsrc;
    volatile sig_atomic_t stop; /* read by providers through poller_run */
    bool stopping;
    bool ready;
    char instance[300];
    int64_t started_at;
    int64_t polls_total;
    struct bk_store *hook_store; /* used by web hooks, under lock */
    struct web *web;
    bool alert_kick;  /* under lock: the outbox may have new rows */
    bool alert_dirty; /* under lock: a request changed runs; evaluate the rules soon */
    pthread_cond_t alert_cond;
};

static struct daemon g_d;

static unsigned g_seed; /* jitter, under g_d.lock */

static struct src_state *find_src(const char *name)
{
    for (size_t i = 0; i < g_d.nsrc; i++)
        if (!g_d.src[i].removed && strcmp(g_d.src[i].name, name) == 0)
            return &g_d.src[i];
    return NULL;
}

static bool source_cfg_equal(const struct bk_source_cfg *a, const struct bk_source_cfg *b)
{
#define SEQ(f) ((a->f == NULL && b->f == NULL) || (a->f && b->f && strcmp(a->f, b->f) == 0))
    return a->type == b->type && SEQ(url) && SEQ(partner) && SEQ(username) && SEQ(password.file) &&
           SEQ(password.env) && SEQ(token.file) && SEQ(token.env) && SEQ(customer) &&
           SEQ(ca_file) && SEQ(maildir) && SEQ(timezone) && SEQ(imap_url) && SEQ(imap_processed) &&
           a->imap_xoauth2 == b->imap_xoauth2 && SEQ(graph_tenant) && SEQ(graph_mailbox) &&
           SEQ(graph_folder) && SEQ(graph_processed) && SEQ(graph_url) && SEQ(graph_token_url) &&
           a->interval_ms == b->interval_ms && a->page_size == b->page_size &&
           a->enabled == b->enabled && a->insecure == b->insecure;
#undef SEQ
}

/* Install cfg's sources into the schedule (lock held). Unchanged sources keep their state. */
static void apply_sources(struct bk_config *cfg)
{
    for (size_t i = 0; i < g_d.nsrc; i++) {
        struct src_state *s = &g_d.src[i];
        if (s->removed)
            continue;
        const struct bk_source_cfg *n = config_find_source(cfg, s->name);
        if (!n || !n->enabled) {
            log_info("source %s: removed from the schedule", s->name);
            s->removed = true;
            continue;
        }
        if (!source_cfg_equal(s->cfg, n)) {
            log_info("source %s: configuration changed", s->name);
            pollsched_reset(&s->sched, bk_mono_ms());
        }
        s->cfg = n;
    }
    for (size_t i = 0; i < cfg->nsources; i++) {
        const struct bk_source_cfg *n = &cfg->sources[i];
        if (!n->enabled || bk_source_type_passive(n->type) || find_src(n->name))
            continue;
        g_d.src = xrealloc(g_d.src, (g_d.nsrc + 1) * sizeof *g_d.src);
        struct src_state *s = &g_d.src[g_d.nsrc++];
        memset(s, 0, sizeof *s);
        s->name = xstrdup(n->name);
        s->cfg = n;
        pollsched_init(&s->sched, bk_mono_ms()); /* poll at once on start */
        log_info("source %s (%s): scheduled every %lld s", n->name, bk_source_type_name(n->type),
                 (long long)(n->interval_ms / 1000));
    }
    g_d.cfg = cfg;
}

/* ---- report e-mails (issue 14) ----------------------------------------------------------
 * Each mail source with a maildir is scanned at start and then every interval, in the main
 * thread (a scan is short: at most MAIL_SCAN_BATCH mails, then the next tick goes on). A mail
 * moves from new/ to cur/ only after its commit; a crash in between re-reads it, and the
 * Message-ID dedupe makes that harmless. */
#define MAIL_SCAN_BATCH 2000
#define MAIL_MAX_SOURCES 64

struct mail_due {
    char name[128];
    int64_t next; /* monotonic ms */
};

/* Returns true when it stored something (the UI and the alerts should look). */
static bool mail_scan_due(struct bk_store *s, const struct bk_config *cfg, struct mail_due *due,
                          size_t *ndue, int64_t now)
{
    bool changed = false;
    for (size_t i = 0; i < cfg->nsources; i++) {
        const struct bk_source_cfg *src = &cfg->sources[i];
        if (src->type != BK_SOURCE_MAIL || !(src->maildir || src->imap_url || src->graph_tenant) ||
            !src->enabled)
            continue;
        struct mail_due *d = NULL;
        for (size_t k = 0; k < *ndue && !d; k++)
            if (strcmp(due[k].name, src->name) == 0)
                d = &due[k];
        if (!d && *ndue < MAIL_MAX_SOURCES) {
            d = &due[(*ndue)++];
            snprintf(d->name, sizeof d->name, "%s", src->name);
            d->next = 0;
        }
        if (!d || now < d->next)
            continue;
        struct mail_source ms;
        struct mail_scan_stats st = {0};
        struct bk_err err = {0};
        int rc = mail_source_open(s, cfg, src, &ms, &err);
        if (rc == 0 && src->maildir)
            rc = mail_maildir_scan(s, &ms, MAIL_SCAN_BATCH, NULL, &st, &err);
        if (rc == 0 && (src->imap_url || src->graph_tenant)) {
            char *pw = NULL;
            struct mail_scan_stats ist = {0};
            rc = secret_resolve(&src->password,
                                src->imap_url ? "IMAP password" : "Graph client secret", &pw, &err);
            if (rc == 0 && src->imap_url)
                rc = mail_imap_poll(s, &ms, pw, MAIL_SCAN_BATCH, &ist, &err);
            else if (rc == 0)
                rc = mail_graph_poll(s, &ms, pw, MAIL_SCAN_BATCH, &g_d.stop, &ist, &err);
            if (pw) {
                memset(pw, 0, strlen(pw));
                free(pw);
            }
            st.seen += ist.seen, st.stored += ist.stored, st.duplicates += ist.duplicates;
            st.refused += ist.refused, st.errors += ist.errors;
        }
        mail_source_close(&ms);
        if (rc < 0)
            log_warn("source %s: %s", src->name, err.msg);
        if (st.seen)
            log_info("source %s: %lld mail(s): %lld stored, %lld duplicate(s), %lld "
                     "refused, %lld error(s)",
                     src->name, (long long)st.seen, (long long)st.stored, (long long)st.duplicates,
                     (long long)st.refused, (long long)st.errors);
        changed |= st.stored > 0;
        /* a full batch: more are waiting, go on at the next tick */
        d->next = st.seen >= MAIL_SCAN_BATCH ? now : now + src->interval_ms;
    }
    return changed;
}

/* ---- alerts --------------------------------------------------------------------------- */

/* The alert rules after a poll, an expected-runs evaluation or a tick; then wake the
 * delivery thread. */
static void alerts_evaluate(struct bk_store *s, const struct bk_config *cfg)
{
    if (!cfg->nalerts)
        return;
    struct alert_eval_stats st;
    struct bk_err err = {0};
    int64_t t0 = bk_mono_ms();
    if (alert_evaluate(s, cfg, bk_now_ms(), &st, &err) < 0) {
        log_warn("alerts: %s", err.msg);
        return;
    }
    if (st.queued || st.muted)
        log_info("alerts: opened=%lld followups=%lld reminders=%lld closed=%lld muted=%lld "
                 "queued=%lld seconds=%.3f",
                 (long long)st.opened, (long long)st.followups, (long long)st.reminders,
                 (long long)st.closed, (long long)st.muted, (long long)st.queued,
                 (double)(bk_mono_ms() - t0) / 1000.0);
    if (st.queued) {
        pthread_mutex_lock(&g_d.lock);
        g_d.alert_kick = true;
        pthread_cond_broadcast(&g_d.alert_cond);
        pthread_mutex_unlock(&g_d.lock);
    }
}

/* The delivery thread: every second (or when kicked), the due outbox rows. A pending row
 * left by a previous run of serve is sent on the first round. */
static void *deliver_main(void *arg)
{
    (void)arg;
    struct bk_store *s = NULL;
    pthread_mutex_lock(&g_d.lock);
    while (!g_d.stopping) {
        const struct bk_config *cfg = g_d.cfg;
        g_d.alert_kick = false;
        pthread_mutex_unlock(&g_d.lock);
        struct bk_err err = {0};
        if (!s && store_open(cfg, &s, &err) < 0)
            log_err("alert delivery: %s", err.msg);
        int n = 0;
        if (s && cfg->nalerts) {
            n = alert_deliver_due(s, cfg, g_d.instance, bk_now_ms(), 20, &g_d.stop, NULL, &err);
            if (n < 0)
                log_warn("alert delivery: %s", err.msg);
        }
        if (n > 0)
            web_data_changed(g_d.web); /* the Alerts page and its counts */
        pthread_mutex_lock(&g_d.lock);
        if (n > 0 || g_d.alert_kick || g_d.stopping)
            continue;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&g_d.alert_cond, &g_d.lock, &ts);
    }
    pthread_mutex_unlock(&g_d.lock);
    store_close(s);
    return NULL;
}

/* ---- workers ------------------------------------------------------------------------- */

struct worker {
    pthread_t th;
    struct bk_store *store;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    pthread_mutex_lock(&g_d.lock);
    for (;;) {
        struct src_state *job = NULL;
        while (!g_d.stopping) {
            for (size_t i = 0; i < g_d.nsrc && !job; i++)
                if (g_d.src[i].queued && !g_d.src[i].running && !g_d.src[i].removed)
                    job = &g_d.src[i];
            if (job)
                break;
            pthread_cond_wait(&g_d.cond, &g_d.lock);
        }
        if (g_d.stopping)
            break;
        job->queued = false;
        job->running = true;
        const struct bk_source_cfg *cfg = job->cfg;
        const struct bk_config *whole = g_d.cfg; /* replaced configs stay allocated */
        char *name = xstrdup(job->name);
        pthread_mutex_unlock(&g_d.lock);

        if (!w->store) {
            struct bk_err err = {0};
            if (store_open(g_d.cfg, &w->store, &err) < 0)
                log_err("worker: %s", err.msg);
        }
        struct poller_summary sum = {0};
        if (w->store) {
            poller_run(w->store, cfg, g_d.instance, &g_d.stop, &sum);
            if (!g_d.stop) {
                poller_evaluate(w->store, whole, name, bk_now_ms(), false);
                alerts_evaluate(w->store, whole);
            }
        } else {
            snprintf(sum.error, sizeof sum.error, "store unavailable");
            sum.code = BK_EIO;
        }

        if (sum.ok)
            web_data_changed(g_d.web);
        pthread_mutex_lock(&g_d.lock);
        job = find_src(name); /* the array may have grown during the poll */
        if (job) {
            job->running = false;
            job->last_seconds = sum.seconds;
            g_d.polls_total++;
            int64_t now = bk_mono_ms(), delay = 0;
            int64_t interval = job->cfg->interval_ms;
            enum pollsched_next next =
                pollsched_done(&job->sched, sum.ok, sum.code == BK_EAUTH, g_d.stop != 0, interval,
                               sum.ok ? pollsched_jitter(&g_seed, interval) : 0, now, &delay);
            if (sum.ok) {
                if (sum.partial)
                    job->polls_partial++;
                else
                    job->polls_ok++;
                log_info("source %s: %s devices=%lld runs_new=%lld runs_updated=%lld pages=%lld "
                         "seconds=%.2f",
                         name, sum.partial ? "partial" : "ok", (long long)sum.devices,
                         (long long)sum.runs_new, (long long)sum.runs_updated, (long long)sum.pages,
                         sum.seconds);
            } else {
                job->polls_failed++;
                if (next == POLLSCHED_NEXT_HELD)
                    /* Repeated bad logins can lock the vendor account: wait for a fix. */
                    log_err("source %s: credentials rejected; not retrying until the "
                            "configuration changes or an admin resumes it: %s",
                            name, sum.error);
                else
                    log_warn("source %s: poll failed (%d in a row), next try in %lld s: %s", name,
                             job->sched.failures, (long long)(delay / 1000), sum.error);
            }
        }
        free(name);
        pthread_cond_broadcast(&g_d.cond);
    }
    pthread_mutex_unlock(&g_d.lock);
    store_close(w->store);
    w->store = NULL;
    return NULL;
}

/* ---- web hooks ------------------------------------------------------------------------ */

static void hook_changed(void *ud)
{
    (void)ud;
    pthread_mutex_lock(&g_d.lock);
    g_d.alert_dirty = true;
    pthread_mutex_unlock(&g_d.lock);
}

static int hook_poll_now(void *ud, const char *source, const char *who, struct bk_err *err)
{
    pthread_mutex_lock(&g_d.lock);
    struct src_state *s = find_src(source);
    int rc = 0;
    if (!s) {
        rc = bk_err_set(err, BK_ENOTFOUND, "no configured source \"%s\"", source);
    } else {
        s->sched.next_due = 0;
        s->sched.auth_held = false; /* an admin asking for a poll vouches for the credentials */
        log_info("source %s: poll requested by %s", source, who ? who : "?");
        pthread_cond_broadcast(&g_d.cond);
    }
    pthread_mutex_unlock(&g_d.lock);
    return rc;
}

static int hook_set_paused(void *ud, const char *source, bool paused, const char *who,
                           struct bk_err *err)
{
    pthread_mutex_lock(&g_d.lock);
    struct src_state *s = find_src(source);
    int rc = 0;
    if (!s) {
        rc = bk_err_set(err, BK_ENOTFOUND, "no configured source \"%s\"", source);
    } else {
        s->paused = paused;
        struct bk_err perr = {0};
        if (!g_d.hook_store && store_open(g_d.cfg, &g_d.hook_store, &perr) < 0)
            log_warn("cannot persist the pause of %s: %s", source, perr.msg);
        else if (store_source_set_paused(g_d.hook_store, source, paused, &perr) < 0)
            log_warn("cannot persist the pause of %s: %s", source, perr.msg);
        if (!paused) /* an admin's resume is the "I fixed it" signal */
            pollsched_reset(&s->sched, 0);
        log_info("source %s: %s by %s", source, paused ? "paused" : "resumed", who ? who : "?");
    }
    pthread_mutex_unlock(&g_d.lock);
    return rc;
}

static void hook_metrics(void *ud, struct bk_buf *out)
{
    pthread_mutex_lock(&g_d.lock);
    bk_buf_printf(out, "# HELP backupctl_daemon_polls_total Polls run by this process, by "
                       "source and result.\n# TYPE backupctl_daemon_polls_total counter\n");
    for (size_t i = 0; i < g_d.nsrc; i++) {
        const struct src_state *s = &g_d.src[i];
        if (s->removed)
            continue;
        struct bk_buf name;
        bk_buf_init(&name, 4096);
        metrics_escape_label(&name, s->name);
        bk_buf_printf(out,
                      "backupctl_daemon_polls_total{source=\"%s\",result=\"ok\"} %lld\n"
                      "backupctl_daemon_polls_total{source=\"%s\",result=\"partial\"} %lld\n"
                      "backupctl_daemon_polls_total{source=\"%s\",result=\"failed\"} %lld\n",
                      name.data, (long long)s->polls_ok, name.data, (long long)s->polls_partial,
                      name.data, (long long)s->polls_failed);
        bk_buf_free(&name);
    }
    bk_buf_printf(out, "# HELP backupctl_daemon_source_paused 1 when a source is paused or "
                       "waiting for fixed credentials.\n# TYPE backupctl_daemon_source_paused "
                       "gauge\n");
    for (size_t i = 0; i < g_d.nsrc; i++) {
        if (g_d.src[i].removed)
            continue;
        struct bk_buf name;
        bk_buf_init(&name, 4096);
        metrics_escape_label(&name, g_d.src[i].name);
        bk_buf_printf(out, "backupctl_daemon_source_paused{source=\"%s\"} %d\n", name.data,
                      g_d.src[i].paused || g_d.src[i].sched.auth_held);
        bk_buf_free(&name);
    }
    bk_buf_printf(out,
                  "# HELP backupctl_process_start_time_seconds Start time of the daemon.\n"
                  "# TYPE backupctl_process_start_time_seconds gauge\n"
                  "backupctl_process_start_time_seconds %lld\n"
                  "# HELP backupctl_build_info Version of the running daemon.\n"
                  "# TYPE backupctl_build_info gauge\n"
                  "backupctl_build_info{version=\"%s\"} 1\n",
                  (long long)(g_d.started_at / 1000), BK_VERSION);
    pthread_mutex_unlock(&g_d.lock);
}

static bool hook_ready(void *ud)
{
    pthread_mutex_lock(&g_d.lock);
    bool r = g_d.ready && !g_d.stopping;
    pthread_mutex_unlock(&g_d.lock);
    return r;
}

/* ---- helpers ---------------------------------------------------------------------------- */

/* sd_notify without libsystemd: one datagram to $NOTIFY_SOCKET. */
static void notify(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path));
    if (sa.sun_path[0] == '@')
        sa.sun_path[0] = '\0'; /* abstract socket */
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
    if (sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&sa, len) < 0)
        log_debug("sd_notify: %s", strerror(errno));
    close(fd);
}

/* One instance per SQLite file: a POSIX record lock on "<db>.lock", held for our lifetime. */
static int lock_instance(const struct bk_config *cfg, int *fd_out, struct bk_err *err)
{
    *fd_out = -1;
    if (!cfg->db_path)
        return 0; /* PostgreSQL: instances coordinate through row leases */
    char *path = xasprintf("%s.lock", cfg->db_path);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        int rc = bk_err_set(err, BK_EIO, "cannot create %s: %s", path, strerror(errno));
        free(path);
        return rc;
    }
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_SETLK, &fl) < 0) {
        struct flock who = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        fcntl(fd, F_GETLK, &who);
        int rc = bk_err_set(err, BK_ECONFIG,
                            "another backupctl serve (pid %ld) already uses %s; one instance per "
                            "SQLite file (use PostgreSQL to run several)",
                            (long)who.l_pid, cfg->db_path);
        close(fd);
        free(path);
        return rc;
    }
    free(path);
    *fd_out = fd;
    return 0;
}

/* The planner statistics (store_analyze), then the web's handles reopen to read them. */
static void analyze(struct bk_store *st, struct web *web)
{
    struct bk_err err = {0};
    if (store_analyze(st, &err) < 0)
        log_warn("store: cannot refresh the planner statistics: %s", err.msg);
    else
        web_store_stats_changed(web);
}

static void prune(struct bk_store *s, const struct bk_config *cfg)
{
    int64_t now = bk_now_ms(), n = 0;
    struct bk_err err = {0};
    if (cfg->retain_poll_runs_ms > 0) {
        if (store_prune_polls(s, now - cfg->retain_poll_runs_ms, &n, &err) < 0)
            log_warn("retention: %s", err.msg);
        else if (n)
            log_info("retention: pruned %lld poll records", (long long)n);
    }
    if (cfg->retain_audit_ms > 0) {
        if (store_prune_audit(s, now - cfg->retain_audit_ms, &n, &err) < 0)
            log_warn("retention: %s", err.msg);
        else if (n)
            log_info("retention: pruned %lld audit records", (long long)n);
    }
    if (cfg->retain_runs_ms > 0) {
        if (store_prune_runs(s, now - cfg->retain_runs_ms, &n, &err) < 0)
            log_warn("retention: %s", err.msg);
        else if (n)
            log_info("retention: pruned %lld reviewed runs", (long long)n);
    }
}

static int paused_row(const struct store_source_row *r, void *ud)
{
    (void)ud;
    struct src_state *s = find_src(r->name);
    if (s)
        s->paused = r->paused;
    return 0;
}

/* Persisted pause flags survive restarts (lock held by the caller). */
static void load_paused(struct bk_store *s)
{
    struct bk_err err = {0};
    if (store_source_each(s, paused_row, NULL, &err) < 0)
        log_warn("cannot read paused sources: %s", err.msg);
}

static size_t enabled_sources(const struct bk_config *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->nsources; i++)
        n += c->sources[i].enabled;
    return n;
}

/* A reload is refused, like an invalid file, when it would change what the running process
 * cannot change in place (the database: handles stay open on the old one) or silently stop
 * all polling (an empty or truncated file). */
static int check_reload(const struct bk_config *old, const struct bk_config *n, struct bk_err *err)
{
    if (old->db_path || n->db_path) {
        if (!old->db_path || !n->db_path || strcmp(old->db_path, n->db_path) != 0)
            return bk_err_set(err, BK_ECONFIG,
                              "%s: [database] url changed (from %s to %s); the database only "
                              "changes with a restart",
                              n->path, old->db_path ? old->db_path : "PostgreSQL",
                              n->db_path ? n->db_path : "PostgreSQL");
    } else if (strcmp(old->db_url ? old->db_url : "", n->db_url ? n->db_url : "") != 0) {
        /* never print a libpq url: it may hold a password */
        return bk_err_set(err, BK_ECONFIG,
                          "%s: [database] url changed; the database only changes with a restart",
                          n->path);
    }
    if (enabled_sources(old) > 0 && enabled_sources(n) == 0)
        return bk_err_set(err, BK_ECONFIG,
                          "%s: no enabled source left (the running configuration has %zu); "
                          "refusing to stop all polling (restart to run without sources)",
                          n->path, enabled_sources(old));
    return 0;
}

static const char SERVE_USAGE[] =
    "Usage: backupctl serve [--config F] [--listen HOST:PORT] [--log-format text|json] "
    "[--verbose]\n"
    "\n"
    "Run the daemon: poll every configured source on its schedule (worker threads, jitter,\n"
    "capped exponential backoff for failing sources; rejected credentials are not retried\n"
    "until the configuration changes or an admin resumes the source), serve the web UI at /\n"
    "(log in with a user from 'backupctl user add'), the JSON API under /api/v1, /metrics,\n"
    "/healthz and /readyz. SIGHUP re-reads the configuration and swaps it in only if it is\n"
    "valid, keeps the same database and leaves at least one source enabled (when one was);\n"
    "SIGTERM/SIGINT stop within 10 s, rolling back unfinished polls.\n"
    "Prints \"listening on HOST:PORT\" on stdout once the server is up.\n";

int daemon_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"listen", required_argument, NULL, 'l'},
        {"log-format", required_argument, NULL, 'f'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = config_default_path(), *listen = NULL;
    optind = 0;
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (o) {
        case 'c':
            config_path = optarg;
            break;
        case 'l':
            listen = optarg;
            break;
        case 'f':
            if (strcmp(optarg, "json") == 0)
                log_set_format(LOG_FORMAT_JSON);
            else if (strcmp(optarg, "text") != 0) {
                fprintf(stderr, "backupctl serve: --log-format must be text or json\n");
                return 1;
            }
            break;
        case 'v':
            log_set_level(LOG_DEBUG);
            break;
        case 'h':
            fputs(SERVE_USAGE, stdout);
            return 0;
        default:
            fprintf(stderr, "backupctl serve: bad option \"%s\" (see 'backupctl serve --help')\n",
                    argv[optind - 1]);
            return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "backupctl serve: unexpected argument \"%s\"\n", argv[optind]);
        return 1;
    }

    struct bk_err err = {0};
    struct bk_config *cfg = NULL;
    if (config_load(config_path, &cfg, &err) < 0 || secrets_check_config(cfg, &err) < 0) {
        log_err("not starting: %s", err.msg);
        config_free(cfg);
        return 1;
    }
    if (listen) {
        free(cfg->listen);
        cfg->listen = xstrdup(listen);
    }
    int lock_fd = -1;
    if (lock_instance(cfg, &lock_fd, &err) < 0) {
        log_err("not starting: %s", err.msg);
        config_free(cfg);
        return 1;
    }
    if (auth_init() < 0) {
        log_err("not starting: libsodium failed to initialise");
        config_free(cfg);
        return 1;
    }
    struct bk_store *main_store = NULL;
    /* checkpoints off the request path for every store this process opens from here on */
    if (store_open(cfg, &main_store, &err) < 0 || store_background_start(main_store, &err) < 0) {
        log_err("not starting: %s", err.msg);
        store_close(main_store);
        config_free(cfg);
        close(lock_fd);
        return 1;
    }

    /* Signals are handled synchronously by the main thread only. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    memset(&g_d, 0, sizeof g_d);
    pthread_mutex_init(&g_d.lock, NULL);
    pthread_cond_init(&g_d.cond, NULL);
    pthread_cond_init(&g_d.alert_cond, NULL);
    g_d.started_at = bk_now_ms();
    g_seed = (unsigned)g_d.started_at ^ (unsigned)getpid();
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    snprintf(g_d.instance, sizeof g_d.instance, "%s:%ld", host, (long)getpid());
    pthread_mutex_lock(&g_d.lock);
    apply_sources(cfg);
    load_paused(main_store);
    pthread_mutex_unlock(&g_d.lock);
    analyze(main_store, NULL);

    struct web_hooks hooks = {.poll_now = hook_poll_now,
                              .set_paused = hook_set_paused,
                              .metrics = hook_metrics,
                              .ready = hook_ready,
                              .changed = hook_changed};
    struct web_opts wo = {.listen = cfg->listen,
                          .tls_cert = cfg->tls_cert,
                          .tls_key = cfg->tls_key,
                          .session_ttl_ms = cfg->session_ttl_ms,
                          .metrics_public = cfg->metrics_public};
    struct web *web = NULL;
    unsigned port = 0;
    char *key_pem = NULL;
    int wrc = 0;
    /* The TLS private key is a secret: the secret-file rule (not group/other-readable). */
    if (cfg->tls_key)
        wrc = secretfile_read(cfg->tls_key, "[server] tls_key", &key_pem, NULL, &err);
    wo.tls_key_pem = key_pem;
    if (wrc == 0)
        wrc = web_start(cfg, &wo, &hooks, &web, &port, &err);
    if (key_pem) {
        memset(key_pem, 0, strlen(key_pem));
        free(key_pem);
    }
    if (wrc < 0) {
        log_err("not starting: %s", err.msg);
        store_background_stop(main_store);
        store_close(main_store);
        config_free(cfg);
        close(lock_fd);
        return 1;
    }
    g_d.web = web;
    char hostpart[256];
    snprintf(hostpart, sizeof hostpart, "%s", cfg->listen);
    char *colon = strrchr(hostpart, ':');
    if (colon)
        *colon = '\0';
    printf("listening on %s:%u\n", hostpart, port);
    fflush(stdout);
    log_info("backupctl %s serving on %s:%u, %zu source(s), database %s", BK_VERSION, hostpart,
             port, cfg->nsources, cfg->db_path ? cfg->db_path : "postgresql");

    struct worker workers[WORKERS];
    memset(workers, 0, sizeof workers);
    for (int i = 0; i < WORKERS; i++)
        pthread_create(&workers[i].th, NULL, worker_main, &workers[i]);
    pthread_t deliverer;
    pthread_create(&deliverer, NULL, deliver_main, NULL);
    pthread_mutex_lock(&g_d.lock);
    g_d.ready = true;
    pthread_mutex_unlock(&g_d.lock);
    notify("READY=1\nSTATUS=polling");

    int64_t next_prune = bk_mono_ms() + 60000;
    /* statistics again once the first polls filled a new database, then hourly */
    int64_t next_analyze = bk_mono_ms() + 120 * 1000;
    int64_t next_eval = bk_mono_ms() + EVAL_TICK_MS;
    int64_t next_alert = bk_mono_ms() + ALERT_TICK_MS, last_alert = 0;
    struct mail_due mail_due[MAIL_MAX_SOURCES];
    size_t nmail_due = 0;
    for (;;) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 250 * 1000000L};
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT) {
            log_info("%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
            break;
        }
        if (sig == SIGHUP) {
            notify("RELOADING=1");
            struct bk_config *ncfg = NULL;
            struct bk_err rerr = {0};
            if (config_load(config_path, &ncfg, &rerr) < 0 ||
                secrets_check_config(ncfg, &rerr) < 0 || check_reload(g_d.cfg, ncfg, &rerr) < 0) {
                log_err("SIGHUP: configuration NOT reloaded (keeping the running one): %s",
                        rerr.msg);
                config_free(ncfg);
            } else {
                pthread_mutex_lock(&g_d.lock);
                g_d.old_cfgs = xrealloc(g_d.old_cfgs, (g_d.nold + 1) * sizeof *g_d.old_cfgs);
                g_d.old_cfgs[g_d.nold++] = g_d.cfg;
                apply_sources(ncfg);
                load_paused(main_store);
                pthread_cond_broadcast(&g_d.cond);
                pthread_mutex_unlock(&g_d.lock);
                log_info("SIGHUP: configuration reloaded (%zu source(s))", ncfg->nsources);
            }
            notify("READY=1");
        }
        /* Scheduler tick: queue every due source that is not busy, paused or auth-failed. */
        pthread_mutex_lock(&g_d.lock);
        int64_t now = bk_mono_ms();
        bool any = false;
        for (size_t i = 0; i < g_d.nsrc; i++) {
            struct src_state *s = &g_d.src[i];
            if (s->removed || s->paused || s->running || s->queued)
                continue;
            if (pollsched_due(&s->sched, now)) {
                s->queued = true;
                s->sched.next_due = INT64_MAX; /* set again when the poll ends */
                any = true;
            }
        }
        if (any)
            pthread_cond_broadcast(&g_d.cond);
        pthread_mutex_unlock(&g_d.lock);
        {
            pthread_mutex_lock(&g_d.lock);
            const struct bk_config *whole = g_d.cfg;
            pthread_mutex_unlock(&g_d.lock);
            if (mail_scan_due(main_store, whole, mail_due, &nmail_due, now)) {
                web_data_changed(web);
                pthread_mutex_lock(&g_d.lock);
                g_d.alert_dirty = true;
                pthread_mutex_unlock(&g_d.lock);
            }
        }
        if (now >= next_eval) {
            /* slots that became due without a poll (a source down turns them unknown) */
            pthread_mutex_lock(&g_d.lock);
            const struct bk_config *whole = g_d.cfg;
            pthread_mutex_unlock(&g_d.lock);
            poller_evaluate(main_store, whole, NULL, bk_now_ms(), false);
            web_data_changed(web);
            next_eval = now + EVAL_TICK_MS;
        }
        pthread_mutex_lock(&g_d.lock);
        bool dirty = g_d.alert_dirty && now >= last_alert + 1000; /* at most once a second */
        pthread_mutex_unlock(&g_d.lock);
        if (dirty || now >= next_alert) {
            pthread_mutex_lock(&g_d.lock);
            const struct bk_config *whole = g_d.cfg;
            g_d.alert_dirty = false;
            pthread_mutex_unlock(&g_d.lock);
            last_alert = now;
            alerts_evaluate(main_store, whole);
            next_alert = now + ALERT_TICK_MS;
        }
        if (now >= next_prune) {
            prune(main_store, g_d.cfg);
            next_prune = now + 3600 * 1000;
        }
        if (now >= next_analyze) {
            analyze(main_store, web);
            next_analyze = now + 3600 * 1000;
        }
    }

    /* Stop: no new polls; running ones see g_d.stop, abort their HTTP transfers and are
     * recorded as failed with their staging discarded (nothing half-applied). */
    notify("STOPPING=1");
    pthread_mutex_lock(&g_d.lock);
    g_d.stopping = true;
    g_d.stop = 1;
    pthread_cond_broadcast(&g_d.cond);
    pthread_mutex_unlock(&g_d.lock);
    /* Workers return within the grace period: transfers poll the stop flag at least once a
     * second and store transactions are short. */
    pthread_cond_broadcast(&g_d.alert_cond);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(workers[i].th, NULL);
    pthread_join(deliverer, NULL);
    web_stop(web);
    store_close(g_d.hook_store);
    store_background_stop(main_store);
    store_close(main_store);
    for (size_t i = 0; i < g_d.nsrc; i++)
        free(g_d.src[i].name);
    free(g_d.src);
    for (size_t i = 0; i < g_d.nold; i++)
        config_free(g_d.old_cfgs[i]);
    free(g_d.old_cfgs);
    config_free(g_d.cfg);
    close(lock_fd);
    log_info("stopped");
    return 0;
}
