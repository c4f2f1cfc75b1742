/* `poll`, `status`, `check` and `config check`: the command-line face of the monitoring
 * half. Output formats are contracts (DESIGN §2): the poll summary line, the status JSON keys
 * and the Nagios plugin line are parsed by other programs. */
#include "cli/cmd_monitor.h"

#include "config/config.h"
#include "core/status.h"
#include "json/jsonu.h"
#include "poller/poller.h"
#include "poller/pollsched.h"
#include "secrets/secretfile.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

struct common {
    const char *config;
    const char *customer;
    const char *source;
    const char *format;
    const char *status; /* status --status: only jobs whose latest status is this */
    bool once;
    bool verbose;
    double warn_age, crit_age;
    bool warn_given, crit_given; /* --warn-age / --crit-age override the per-job thresholds */
};

enum {
    O_CONFIG = 300,
    O_CUSTOMER,
    O_SOURCE,
    O_FORMAT,
    O_ONCE,
    O_VERBOSE,
    O_WARN,
    O_CRIT,
    O_STATUS,
    O_HELP
};

static int parse_common(int argc, char **argv, const char *allowed, const char *usage,
                        struct common *c)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, O_CONFIG},
        {"customer", required_argument, NULL, O_CUSTOMER},
        {"source", required_argument, NULL, O_SOURCE},
        {"format", required_argument, NULL, O_FORMAT},
        {"once", no_argument, NULL, O_ONCE},
        {"verbose", no_argument, NULL, O_VERBOSE},
        {"warn-age", required_argument, NULL, O_WARN},
        {"crit-age", required_argument, NULL, O_CRIT},
        {"status", required_argument, NULL, O_STATUS},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    memset(c, 0, sizeof *c);
    c->config = config_default_path();
    c->format = "table";
    c->warn_age = 26 * 3600;
    c->crit_age = 50 * 3600;
    optind = 0;
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        const char *name = NULL;
        for (const struct option *p = opts; p->name; p++)
            if (p->val == o)
                name = p->name;
        if (name && o != O_HELP && !strstr(allowed, name)) {
            fprintf(stderr, "backupctl %s: --%s does not apply here (see 'backupctl %s --help')\n",
                    argv[0], name, argv[0]);
            return 1;
        }
        switch (o) {
        case O_CONFIG:
            c->config = optarg;
            break;
        case O_CUSTOMER:
            c->customer = optarg;
            break;
        case O_SOURCE:
            c->source = optarg;
            break;
        case O_FORMAT:
            if (strcmp(optarg, "table") && strcmp(optarg, "json")) {
                fprintf(stderr, "backupctl %s: --format must be table or json\n", argv[0]);
                return 1;
            }
            c->format = optarg;
            break;
        case O_ONCE:
            c->once = true;
            break;
        case O_STATUS: {
            enum bk_run_status st;
            if (strcmp(optarg, "none") != 0 && bk_run_status_parse(optarg, &st) < 0) {
                fprintf(stderr,
                        "backupctl %s: --status must be success, warning, failed, running, "
                        "missed, unknown or none\n",
                        argv[0]);
                return 1;
            }
            c->status = optarg;
            break;
        }
        case O_VERBOSE:
            c->verbose = true;
            break;
        case O_WARN:
        case O_CRIT: {
            double d;
            if (str_parse_duration(optarg, &d) < 0 || d <= 0) {
                fprintf(stderr, "backupctl %s: --%s: invalid duration \"%s\" (e.g. 26h, 2d)\n",
                        argv[0], name, optarg);
                return 1;
            }
            *(o == O_WARN ? &c->warn_age : &c->crit_age) = d;
            *(o == O_WARN ? &c->warn_given : &c->crit_given) = true;
            break;
        }
        case O_HELP:
            fputs(usage, stdout);
            return -1;
        case ':':
            fprintf(stderr, "backupctl %s: %s needs a value (see 'backupctl %s --help')\n", argv[0],
                    argv[optind - 1], argv[0]);
            return 1;
        default:
            fprintf(stderr, "backupctl %s: unknown option \"%s\" (see 'backupctl %s --help')\n",
                    argv[0], argv[optind - 1], argv[0]);
            return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "backupctl %s: unexpected argument \"%s\"\n", argv[0], argv[optind]);
        return 1;
    }
    if (c->verbose)
        log_set_level(LOG_DEBUG);
    return 0;
}

/* ---- poll ------------------------------------------------------------------------------ */

static const char POLL_USAGE[] =
    "Usage: backupctl poll [--config F] [--source NAME] [--once] [--verbose]\n"
    "\n"
    "Poll the configured sources into the store. --once polls each source once and exits\n"
    "0 when every source polled, 1 otherwise; without it, polls each source every\n"
    "`interval` until SIGINT/SIGTERM, with the schedule of `serve`: a failing source backs\n"
    "off (30 s doubled, capped), and a source whose credentials are rejected is not retried\n"
    "(exit 1 once no source is left to poll). One line per source on stdout:\n"
    "  source NAME: ok|failed devices=N runs_new=N runs_updated=N pages=N seconds=S "
    "[error=\"…\"]\n";

static void print_summary(const char *name, const struct poller_summary *s)
{
    /* A partial poll was applied (without retiring anything) but the fleet picture is not
     * complete: that is a failure for whoever runs `poll --once`. */
    printf("source %s: %s devices=%lld runs_new=%lld runs_updated=%lld pages=%lld seconds=%.2f",
           name, s->ok && !s->partial ? "ok" : "failed", (long long)s->devices,
           (long long)s->runs_new, (long long)s->runs_updated, (long long)s->pages, s->seconds);
    if (!s->ok || s->partial) {
        char esc[600];
        size_t o = 0;
        if (s->partial) {
            memcpy(esc, "partial poll: ", 14);
            o = 14;
        }
        for (const char *p = s->error; *p && o + 2 < sizeof esc; p++) {
            if (*p == '"' || *p == '\\')
                esc[o++] = '\\';
            esc[o++] = *p;
        }
        esc[o] = '\0';
        printf(" error=\"%s\"", esc);
    }
    putchar('\n');
    fflush(stdout);
    log_debug("source %s split: download=%.2fs parse=%.2fs store=%.2fs unchanged=%lld", name,
              s->t_download, s->t_parse, s->t_store, (long long)s->jobs_unchanged);
}

static int load(const struct common *c, struct bk_config **cfg)
{
    struct bk_err err = {0};
    if (config_load(c->config, cfg, &err) < 0) {
        fprintf(stderr, "backupctl: %s\n", err.msg);
        return -1;
    }
    return 0;
}

int cmd_poll(int argc, char **argv)
{
    struct common c;
    int rc = parse_common(argc, argv, "config source once verbose", POLL_USAGE, &c);
    if (rc)
        return rc < 0 ? 0 : 1;
    struct bk_config *cfg;
    if (load(&c, &cfg) < 0)
        return 1;
    if (c.source && !config_find_source(cfg, c.source)) {
        fprintf(stderr, "backupctl poll: no source \"%s\" in %s\n", c.source, c.config);
        config_free(cfg);
        return 1;
    }
    struct bk_store *store = NULL;
    struct bk_err err = {0};
    if (store_open(cfg, &store, &err) < 0) {
        fprintf(stderr, "backupctl poll: %s\n", err.msg);
        config_free(cfg);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    char instance[300];
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    snprintf(instance, sizeof instance, "%s:%ld", host, (long)getpid());

    /* Loop mode follows the daemon's schedule rule (poller/pollsched): interval + jitter
     * after a poll, capped exponential backoff after a failure, and no retry at all after
     * rejected credentials (DESIGN §6); --once polls every source once. */
    int code = 0;
    size_t nsrc = cfg->nsources ? cfg->nsources : 1;
    struct pollsched *sched = xcalloc(nsrc, sizeof *sched);
    unsigned seed = (unsigned)bk_now_ms() ^ (unsigned)getpid();
    for (size_t i = 0; i < cfg->nsources; i++)
        pollsched_init(&sched[i], bk_mono_ms());
    for (;;) {
        bool any = false, live = false;
        int64_t soonest = INT64_MAX;
        for (size_t i = 0; i < cfg->nsources && !g_stop; i++) {
            const struct bk_source_cfg *s = &cfg->sources[i];
            if ((c.source && strcmp(s->name, c.source) != 0) || (!c.source && !s->enabled))
                continue;
            if (bk_source_type_passive(s->type)) { /* pings come to serve: nothing to poll */
                if (c.source) {
                    fprintf(stderr, "backupctl poll: source %s is a %s source: nothing to poll\n",
                            s->name, bk_source_type_name(s->type));
                    code = 1;
                    any = true;
                }
                continue;
            }
            any = true;
            if (!c.once && !pollsched_due(&sched[i], bk_mono_ms())) {
                if (!sched[i].auth_held) {
                    live = true;
                    if (sched[i].next_due < soonest)
                        soonest = sched[i].next_due;
                }
                continue;
            }
            struct poller_summary sum;
            poller_run(store, s, instance, &g_stop, &sum);
            /* what did not happen: Missed, offline, anomalies (issue 9) */
            poller_evaluate(store, cfg, s->name, bk_now_ms(), true);
            print_summary(s->name, &sum);
            if (!sum.ok || sum.partial)
                code = 1;
            if (c.once)
                continue;
            int64_t delay = 0;
            enum pollsched_next next = pollsched_done(
                &sched[i], sum.ok, sum.code == BK_EAUTH, g_stop != 0, s->interval_ms,
                sum.ok ? pollsched_jitter(&seed, s->interval_ms) : 0, bk_mono_ms(), &delay);
            if (next == POLLSCHED_NEXT_HELD) {
                fprintf(stderr,
                        "backupctl poll: source %s: credentials rejected; not retrying (repeated "
                        "bad logins can lock the vendor account): fix them and start poll "
                        "again\n",
                        s->name);
                continue;
            }
            if (next == POLLSCHED_NEXT_BACKOFF)
                log_warn("source %s: poll failed (%d in a row), next try in %lld s", s->name,
                         sched[i].failures, (long long)(delay / 1000));
            live = true;
            if (sched[i].next_due < soonest)
                soonest = sched[i].next_due;
        }
        if (!any) {
            fprintf(stderr, "backupctl poll: no enabled source in %s\n", c.config);
            code = 1;
            break;
        }
        if (c.once || g_stop)
            break;
        if (!live) {
            fprintf(stderr, "backupctl poll: every source is waiting for fixed credentials; "
                            "stopping\n");
            code = 1;
            break;
        }
        int64_t wait = soonest - bk_mono_ms();
        if (wait > 0 && bk_sleep_ms(wait, &g_stop) < 0)
            break;
    }
    free(sched);
    store_close(store);
    config_free(cfg);
    return g_stop && !c.once ? 0 : code;
}

/* ---- status ---------------------------------------------------------------------------- */

static const char STATUS_USAGE[] =
    "Usage: backupctl status [--config F] [--customer C] [--status S] [--format table|json]\n"
    "\n"
    "Latest status of every job in the store. LAST RUN (json: last_run_at) is when the job's\n"
    "latest run started, as in the web UI; AGE counts from then. --customer takes a customer's\n"
    "name or, since two customers may share a name, its id (the web UI's customer id).\n"
    "--status shows only jobs whose latest status is S: success, warning, failed, running,\n"
    "missed, unknown or none (never ran). json: an array of {customer, source, job, kind,\n"
    "external_id, last_run_at, status, raw_status, reviewed, age_seconds, freshness,\n"
    "schedule, anomaly}. FRESH (json: freshness) is ok, old (warning), stale (critical) or\n"
    "never ran (json: never_new, a warning, or never_old, critical) by the job's thresholds\n"
    "(see check --help); SCHEDULE is its expected schedule (learned or configured). A\n"
    "Missed slot is a run of its own with status missed.\n";

/* Vendor-supplied names go to terminals and line-oriented parsers: control bytes (and the
 * bytes of `also`) are written as \xHH. */
static const char *esc_name(const char *in, char *buf, size_t bufsz, const char *also)
{
    str_escape_ctl(in ? in : "", buf, bufsz, also, false);
    return buf;
}

struct status_ctx {
    bool json;
    const char *only; /* --status */
    json_t *arr;
    int64_t now;
    size_t n;
};

static int status_row(const struct store_status_row *r, void *ud)
{
    struct status_ctx *c = ud;
    const char *status = r->override ? "success" : r->status;
    if (c->only && strcmp(c->only, status) != 0)
        return 0;
    char when[32] = "never";
    if (r->last_run_at > 0)
        bk_iso8601(r->last_run_at, when, sizeof when);
    int64_t age = r->last_run_at > 0 ? (c->now - r->last_run_at) / 1000 : -1;
    enum bk_fresh f = store_job_freshness(r->last_real_run_at, r->first_seen_at, c->now,
                                          r->warn_after_ms, r->crit_after_ms, 0, 0);
    /* a green badge on a stale job is a defect: FRESH says old / stale / never ran */
    const char *fresh = f == BK_FRESH_OK      ? "ok"
                        : f == BK_FRESH_OLD   ? "old"
                        : f == BK_FRESH_STALE ? "stale"
                                              : "never-ran";
    if (c->json) {
        json_t *o = json_object();
        json_object_set_new(o, "customer", json_string(r->customer));
        json_object_set_new(o, "source", json_string(r->source));
        json_object_set_new(o, "job", json_string(r->job));
        json_object_set_new(o, "kind", json_string(r->kind));
        json_object_set_new(o, "external_id", json_string(r->external_id));
        json_object_set_new(o, "last_run_at", r->last_run_at > 0 ? json_string(when) : json_null());
        json_object_set_new(o, "status", json_string(status));
        json_object_set_new(o, "raw_status",
                            r->raw_status ? json_string(r->raw_status) : json_null());
        json_object_set_new(o, "reviewed", json_boolean(r->reviewed));
        json_object_set_new(o, "age_seconds", age >= 0 ? json_integer(age) : json_null());
        json_object_set_new(o, "freshness", json_string(store_fresh_name((int)f)));
        json_object_set_new(o, "schedule", r->schedule ? json_string(r->schedule) : json_null());
        json_object_set_new(o, "anomaly", r->anomaly ? json_string(r->anomaly) : json_null());
        json_array_append_new(c->arr, o);
    } else {
        char agebuf[32] = "-";
        if (age >= 0) {
            if (age < 3600)
                snprintf(agebuf, sizeof agebuf, "%lldm", (long long)(age / 60));
            else if (age < 172800)
                snprintf(agebuf, sizeof agebuf, "%lldh", (long long)(age / 3600));
            else
                snprintf(agebuf, sizeof agebuf, "%lldd", (long long)(age / 86400));
        }
        char cu[128], so[128], jo[128], ki[64];
        char sc[128];
        printf("%-24.24s %-14.14s %-28.28s %-11.11s %-20s %-9s %5s %-8s %-9s %s\n",
               esc_name(r->customer, cu, sizeof cu, NULL), esc_name(r->source, so, sizeof so, NULL),
               esc_name(r->job, jo, sizeof jo, NULL), esc_name(r->kind, ki, sizeof ki, NULL), when,
               status, agebuf, r->reviewed ? "yes" : "no", fresh,
               esc_name(r->schedule ? r->schedule : "-", sc, sizeof sc, NULL));
    }
    c->n++;
    return 0;
}

static int open_ro(const struct common *c, struct bk_config **cfg, struct bk_store **store)
{
    if (load(c, cfg) < 0)
        return -1;
    struct bk_err err = {0};
    if (access((*cfg)->db_path ? (*cfg)->db_path : "", R_OK) != 0 && (*cfg)->db_path) {
        fprintf(stderr, "backupctl: database %s does not exist yet (run backupctl poll)\n",
                (*cfg)->db_path);
        config_free(*cfg);
        return -1;
    }
    if (store_open_ro(*cfg, store, &err) < 0) {
        fprintf(stderr, "backupctl: %s\n", err.msg);
        config_free(*cfg);
        return -1;
    }
    return 0;
}

int cmd_status(int argc, char **argv)
{
    struct common c;
    int rc = parse_common(argc, argv, "config customer format status verbose", STATUS_USAGE, &c);
    if (rc)
        return rc < 0 ? 0 : 1;
    struct bk_config *cfg;
    struct bk_store *store;
    if (open_ro(&c, &cfg, &store) < 0)
        return 1;
    struct bk_err err = {0};
    int code = 0;
    if (c.customer && (rc = store_customer_known(store, c.customer, &err)) <= 0) {
        /* a typo must not look like a customer without jobs */
        if (rc < 0)
            fprintf(stderr, "backupctl status: %s\n", err.msg);
        else
            fprintf(stderr, "backupctl status: no customer \"%s\" (name or id) in the store\n",
                    c.customer);
        store_close(store);
        config_free(cfg);
        return 1;
    }
    struct status_ctx ctx = {
        .json = strcmp(c.format, "json") == 0, .only = c.status, .now = bk_now_ms()};
    if (ctx.json)
        ctx.arr = json_array();
    else
        printf("%-24s %-14s %-28s %-11s %-20s %-9s %5s %-8s %-9s %s\n", "CUSTOMER", "SOURCE", "JOB",
               "KIND", "LAST RUN", "STATUS", "AGE", "REVIEWED", "FRESH", "SCHEDULE");
    if (store_status_each(store, c.customer, status_row, &ctx, &err) < 0) {
        fprintf(stderr, "backupctl status: %s\n", err.msg);
        code = 1;
    } else if (ctx.json) {
        json_dumpf(ctx.arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        putchar('\n');
    }
    json_decref(ctx.arr);
    store_close(store);
    config_free(cfg);
    return code;
}

/* ---- check (Nagios / Icinga plugin) ------------------------------------------------------ */

static const char CHECK_USAGE[] =
    "Usage: backupctl check [--config F] [--customer C] [--warn-age DUR] [--crit-age DUR]\n"
    "\n"
    "Nagios/Icinga plugin. Per job (unreviewed runs only; an override counts as success):\n"
    "  CRITICAL  the latest run failed, was Missed (no run by the end of an expected slot's\n"
    "            grace) or is unknown, or an offline workstation reached the error days;\n"
    "            stale: the last real run is older than the job's critical threshold;\n"
    "            never ran and known for longer than that threshold.\n"
    "  WARNING   the latest run is a warning (an offline workstation past the warning days\n"
    "            is one), a successful run with a duration anomaly (\"ran 4 min, usually\n"
    "            2 h\"), a last real run older than the job's warning threshold, or never\n"
    "            ran yet (a fresh device that has not had its first night).\n"
    "The thresholds follow the job's expected schedule (daily: 26h / 50h; weekly: 7d+2h /\n"
    "14d+2h; [expected] stale_warn_KIND / stale_crit_KIND in the configuration);\n"
    "--warn-age / --crit-age override them for every job when given. Synthetic Missed and\n"
    "offline runs do not count as a last run for stale. CRITICAL too for a source whose\n"
    "last successful poll is older than 3 x its interval. UNKNOWN when the store cannot be\n"
    "read or the selection matches no job (an unknown --customer, which takes a name or a\n"
    "customer id). Ages count from the start of the run.\n"
    "Exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.\n";

struct check_ctx {
    int64_t now;
    int64_t warn_ms, crit_ms; /* 0: the job's own thresholds */
    int64_t failed, warning, stale, ok, jobs, sources_down;
    char first_bad[200];
    const struct bk_config *cfg;
    bool *seen; /* per configured source: has a row in the store */
};

static int check_row(const struct store_status_row *r, void *ud)
{
    struct check_ctx *c = ud;
    c->jobs++;
    bool open = !r->override && !r->reviewed;
    bool bad_status =
        open && (strcmp(r->status, "failed") == 0 || strcmp(r->status, "missed") == 0 ||
                 strcmp(r->status, "unknown") == 0);
    enum bk_fresh f =
        store_job_freshness(r->last_real_run_at, r->first_seen_at, c->now, r->warn_after_ms,
                            r->crit_after_ms, c->warn_ms, c->crit_ms);
    const char *why = NULL;
    if (bad_status) {
        c->failed++;
        why = r->status;
    } else if (f == BK_FRESH_STALE || f == BK_FRESH_NEVER_OLD) {
        /* a monitor that cannot see must not say green */
        c->stale++;
        why = f == BK_FRESH_STALE ? "stale" : "never ran";
    } else if ((open && strcmp(r->status, "warning") == 0) ||
               (open && r->anomaly && strcmp(r->status, "success") == 0) || f == BK_FRESH_OLD ||
               f == BK_FRESH_NEVER_NEW) {
        c->warning++;
        why = open && strcmp(r->status, "warning") == 0 ? "warning"
              : f == BK_FRESH_OLD                       ? "old"
              : f == BK_FRESH_NEVER_NEW                 ? "never ran"
                                                        : "duration anomaly";
    } else {
        c->ok++;
    }
    if (why && !c->first_bad[0]) {
        /* '|' starts Nagios perfdata and a newline ends the plugin's first line */
        char cu[80], jo[80];
        snprintf(c->first_bad, sizeof c->first_bad, "%s/%s: %s",
                 esc_name(r->customer, cu, sizeof cu, "|"), esc_name(r->job, jo, sizeof jo, "|"),
                 why);
    }
    return 0;
}

static int check_source(const struct store_source_row *r, void *ud)
{
    struct check_ctx *c = ud;
    /* Only sources still in the configuration count; a removed source is history. */
    size_t i;
    for (i = 0; i < c->cfg->nsources; i++)
        if (strcmp(c->cfg->sources[i].name, r->name) == 0)
            break;
    if (i == c->cfg->nsources || !c->cfg->sources[i].enabled)
        return 0;
    c->seen[i] = true;
    if (r->paused || bk_source_type_passive(c->cfg->sources[i].type))
        return 0; /* a push source is never polled, so never "down" */
    if (!store_source_up(r->last_success_at, r->interval_ms, c->now))
        c->sources_down++;
    return 0;
}

int cmd_check(int argc, char **argv)
{
    struct common c;
    int rc = parse_common(argc, argv, "config customer warn-age crit-age verbose", CHECK_USAGE, &c);
    if (rc)
        return rc < 0 ? 0 : 3;
    struct bk_config *cfg = NULL;
    struct bk_err err = {0};
    char shown[sizeof err.msg * 4];
    if (config_load(c.config, &cfg, &err) < 0) {
        printf("BACKUPCTL UNKNOWN - %s\n", esc_name(err.msg, shown, sizeof shown, "|"));
        return 3;
    }
    struct bk_store *store = NULL;
    /* SQLite: a missing file is UNKNOWN before any open; PostgreSQL: the open tells */
    if ((cfg->db_path && access(cfg->db_path, R_OK) != 0) || store_open_ro(cfg, &store, &err) < 0) {
        printf("BACKUPCTL UNKNOWN - cannot read the store %s%s%s\n",
               cfg->db_path ? cfg->db_path : cfg->db_url, err.msg[0] ? ": " : "",
               esc_name(err.msg, shown, sizeof shown, "|"));
        config_free(cfg);
        return 3;
    }
    struct check_ctx ctx = {.now = bk_now_ms(),
                            .warn_ms = c.warn_given ? (int64_t)(c.warn_age * 1000) : 0,
                            .crit_ms = c.crit_given ? (int64_t)(c.crit_age * 1000) : 0,
                            .cfg = cfg,
                            .seen = xcalloc(cfg->nsources + 1, sizeof(bool))};
    int code = 0;
    if (c.customer && (rc = store_customer_known(store, c.customer, &err)) <= 0) {
        code = 3;
        if (rc < 0)
            printf("BACKUPCTL UNKNOWN - cannot read the store: %s\n",
                   esc_name(err.msg, shown, sizeof shown, "|"));
        else
            printf("BACKUPCTL UNKNOWN - no customer \"%s\" (name or id) in the store\n",
                   esc_name(c.customer, shown, sizeof shown, "|"));
        goto out;
    }
    if (store_status_each(store, c.customer, check_row, &ctx, &err) < 0 ||
        store_source_each(store, check_source, &ctx, &err) < 0) {
        printf("BACKUPCTL UNKNOWN - cannot read the store: %s\n",
               esc_name(err.msg, shown, sizeof shown, "|"));
        code = 3;
        goto out;
    }
    /* Configured sources never polled have no row yet: they are down too. */
    for (size_t i = 0; i < cfg->nsources; i++)
        if (cfg->sources[i].enabled && !ctx.seen[i] &&
            !bk_source_type_passive(cfg->sources[i].type))
            ctx.sources_down++;
    const char *word = "OK";
    if (ctx.failed || ctx.stale || ctx.sources_down) {
        word = "CRITICAL";
        code = 2;
    } else if (ctx.jobs == 0) {
        /* nothing selected: a monitor that sees nothing must not say OK */
        word = "UNKNOWN";
        code = 3;
    } else if (ctx.warning) {
        word = "WARNING";
        code = 1;
    }
    printf("BACKUPCTL %s - %lld failed, %lld warning, %lld stale, %lld source%s down of %lld jobs",
           word, (long long)ctx.failed, (long long)ctx.warning, (long long)ctx.stale,
           (long long)ctx.sources_down, ctx.sources_down == 1 ? "" : "s", (long long)ctx.jobs);
    if (ctx.first_bad[0])
        printf(" (%s)", ctx.first_bad);
    else if (ctx.jobs == 0)
        printf(" (no job %s)", c.customer ? "of that customer" : "in the store");
    printf(" | failed=%lld warning=%lld stale=%lld sources_down=%lld ok=%lld jobs=%lld\n",
           (long long)ctx.failed, (long long)ctx.warning, (long long)ctx.stale,
           (long long)ctx.sources_down, (long long)ctx.ok, (long long)ctx.jobs);
out:
    free(ctx.seen);
    store_close(store);
    config_free(cfg);
    return code;
}

/* ---- config check ------------------------------------------------------------------------ */

static const char CONFIG_USAGE[] =
    "Usage: backupctl config check [--config F]\n"
    "\n"
    "Validate the configuration (syntax, required keys, secret files readable and not\n"
    "accessible by group/other, environment variables set). Prints \"configuration OK\" and\n"
    "exits 0, or prints the first error with file:line and exits 1.\n";

int cmd_config(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "check") != 0 && strcmp(argv[1], "--help") != 0)) {
        fprintf(stderr, "backupctl config: expected \"check\" (see 'backupctl config --help')\n");
        return 1;
    }
    if (strcmp(argv[1], "--help") == 0) {
        fputs(CONFIG_USAGE, stdout);
        return 0;
    }
    argv[1] = argv[0];
    struct common c;
    int rc = parse_common(argc - 1, argv + 1, "config verbose", CONFIG_USAGE, &c);
    if (rc)
        return rc < 0 ? 0 : 1;
    struct bk_config *cfg;
    if (load(&c, &cfg) < 0)
        return 1;
    struct bk_err err = {0};
    int code = 0;
    if (secrets_check_config(cfg, &err) < 0) {
        fprintf(stderr, "backupctl: %s\n", err.msg);
        code = 1;
    }
    if (code == 0)
        printf("configuration OK (%zu source%s)\n", cfg->nsources, cfg->nsources == 1 ? "" : "s");
    config_free(cfg);
    return code;
}
