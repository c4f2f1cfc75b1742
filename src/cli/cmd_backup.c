/* `backupctl backup`: resolve the entity, start the backup (or attach to a running one),
 * poll every job until it is final, the timeout passes or a signal arrives, then print the
 * report and return the exit code a scheduler acts on. */
#include "cli/cmd_backup.h"

#include "cli/backup_opts.h"
#include "cli/report.h"
#include "json/jsonu.h"
#include "platform/platform.h"
#include "providers/hycu.h"
#include "util/err.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"
#ifndef BK_BACKUP_ONLY
#include "cli/backup_record.h"
#endif

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CONSECUTIVE_POLL_FAILURES 3

static volatile sig_atomic_t g_stop;
static volatile sig_atomic_t g_signal;

/* SIGINT/SIGTERM, or Ctrl+C / console close on Windows (platform layer). */
static void install_signals(void)
{
    bk_plat_on_stop(&g_stop, &g_signal);
}

int backup_setup_exit_code(int rc, long http_status)
{
    switch (rc < 0 ? -rc : rc) {
    case BK_OK:
        return 0;
    case BK_EAUTH:
    case BK_EDNS:
    case BK_ETLS:
    case BK_EINVAL:
    case BK_ECONFIG:
    case BK_ENOTFOUND:
    case BK_EAMBIGUOUS:
        return 1;
    case BK_EINTR:
        return 7;
    case BK_EHTTP:
        /* A 4xx other than the transient ones means the URL or the request is wrong. */
        return http_status >= 400 && http_status < 500 && http_status != 408 && http_status != 429
                   ? 1
                   : 8;
    default:
        return 8;
    }
}

static bool looks_like_uuid(const char *s)
{
    size_t n = strlen(s);
    if (n != 36)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
        } else if (!isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

static const char *kinds_text(unsigned kinds)
{
    return kinds == HYCU_KIND_ALL ? "vm, app, share, vg or policy"
                                  : hycu_kind_name((enum hycu_kind)__builtin_ctz(kinds));
}

/* One entity named o->backup_name, or an error listing what was found instead. */
static int resolve_entity(struct hycu *h, const struct backup_opts *o, struct hycu_entity *out,
                          struct bk_err *err)
{
    if (o->uuid)
        return hycu_get_entity(h, o->uuid, o->kinds, out, err);
    struct hycu_entity_list l = {0};
    int rc = hycu_lookup(h, o->backup_name, o->kinds, &l, err);
    if (rc < 0)
        goto out;
    if (l.n == 1) {
        *out = l.v[0];
        memset(&l.v[0], 0, sizeof l.v[0]);
        goto out;
    }
    if (l.n == 0) {
        rc = bk_err_set(err, BK_ENOTFOUND, "no %s named \"%s\" on the controller",
                        kinds_text(o->kinds), o->backup_name);
        goto out;
    }
    char list[400] = "";
    size_t off = 0;
    for (size_t i = 0; i < l.n && off + 1 < sizeof list; i++) {
        int w = snprintf(list + off, sizeof list - off, "%s%s %s", i ? ", " : "",
                         hycu_kind_name(l.v[i].kind), l.v[i].uuid);
        if (w < 0)
            break;
        off += (size_t)w;
    }
    rc = bk_err_set(err, BK_EAMBIGUOUS,
                    "\"%s\" matches %zu entities (%s); use --target-type or --uuid", o->backup_name,
                    l.n, list);
out:
    hycu_entity_list_free(&l);
    return rc;
}

static const char *job_outcome(const struct hycu_job *j, bool warn_fail, int *code)
{
    switch (j->state) {
    case HYCU_OK:
        *code = 0;
        return "success";
    case HYCU_WARNING:
        *code = warn_fail ? 4 : 0;
        return "warning";
    case HYCU_ERROR:
    case HYCU_FATAL:
        *code = 4;
        return "failed";
    case HYCU_ABORTED:
        *code = 5;
        return "cancelled";
    default:
        *code = 6;
        return "unknown";
    }
}

static int code_rank(int code)
{
    switch (code) {
    case 4:
        return 3;
    case 5:
        return 2;
    case 6:
        return 1;
    default:
        return 0;
    }
}

static void add_job(struct backup_result *r, const char *id)
{
    for (size_t i = 0; i < r->njobs; i++)
        if (strcmp(r->jobs[i].id, id) == 0)
            return;
    r->jobs = xrealloc(r->jobs, (r->njobs + 1) * sizeof *r->jobs);
    struct backup_job_result *j = &r->jobs[r->njobs++];
    memset(j, 0, sizeof *j);
    j->id = xstrdup(id);
    j->job.pct = -1;
    j->status = "running";
}

static void cancel_jobs(struct hycu *h, struct backup_result *r)
{
    for (size_t i = 0; i < r->njobs; i++) {
        if (r->jobs[i].final)
            continue;
        struct bk_err e = {0};
        if (hycu_cancel_job(h, r->jobs[i].id, &e) == 0)
            log_info("job %s: cancel requested", r->jobs[i].id);
        else
            log_err("job %s: cancel failed: %s", r->jobs[i].id, e.msg);
    }
}

static const char *signame(int sig)
{
    return bk_plat_stop_name(sig);
}

static void set_run_error(struct backup_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_run_error(struct backup_result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    free(r->error);
    r->error = xvasprintf(fmt, ap);
    va_end(ap);
}

static int on_interrupt(struct hycu *h, const struct backup_opts *o, struct backup_result *r)
{
    int sig = g_signal;
    log_warn("interrupted by %s", signame(sig));
    if (o->cancel_on_interrupt) {
        g_stop = 0; /* let the cancel requests through; a second signal aborts them */
        cancel_jobs(h, r);
        set_run_error(r, "interrupted by %s; HYCU job(s) cancelled", signame(sig));
    } else {
        set_run_error(r, "interrupted by %s; the HYCU job(s) keep running", signame(sig));
    }
    r->status = "interrupted";
    return 7;
}

/* Poll every job until all are final. Returns the run's exit code. */
static int monitor(struct hycu *h, const struct backup_opts *o, struct backup_result *r)
{
    int64_t deadline = bk_mono_ms() + (int64_t)(o->timeout * 1000.0);
    int64_t interval = (int64_t)(o->check_interval * 1000.0);
    int failures = 0;
    struct bk_err last = {0};
    for (;;) {
        bool all_final = true, failed = false;
        for (size_t i = 0; i < r->njobs; i++) {
            struct backup_job_result *jr = &r->jobs[i];
            if (jr->final)
                continue;
            struct hycu_job j;
            struct bk_err e = {0};
            int rc = hycu_get_job(h, jr->id, &j, &e);
            if (g_stop || rc == -BK_EINTR)
                return on_interrupt(h, o, r);
            if (rc < 0) {
                failed = true;
                all_final = false;
                last = e;
                continue;
            }
            bool changed = !jr->job.raw_status || strcmp(jr->job.raw_status, j.raw_status) != 0;
            if (changed && j.state == HYCU_UNMAPPED)
                log_warn("job %s: unmapped HYCU status \"%s\" (%s)", j.uuid, j.raw_status,
                         j.end_ms ? "finished: unknown outcome" : "no finish time: still polling");
            if (changed || (j.pct >= 0 && (int)j.pct != (int)jr->job.pct))
                log_info("job %s: %s%s%.0f%%", jr->id, j.raw_status, j.pct >= 0 ? " " : "",
                         j.pct >= 0 ? j.pct : 0.0);
            hycu_job_clear(&jr->job);
            jr->job = j;
            if (hycu_job_is_final(&jr->job)) {
                jr->final = true;
                jr->status = job_outcome(&jr->job, o->warning_is_failure, &jr->exit_code);
            } else {
                all_final = false;
            }
        }
        if (failed) {
            failures++;
            if (failures >= MAX_CONSECUTIVE_POLL_FAILURES) {
                log_err("status unreadable after %d attempts: %s", failures, last.msg);
                set_run_error(r, "monitoring error: %s", last.msg);
                r->status = "monitoring_error";
                return 2;
            }
            log_warn("status poll failed (%d of %d): %s", failures, MAX_CONSECUTIVE_POLL_FAILURES,
                     last.msg);
        } else {
            failures = 0;
        }
        if (all_final)
            break;
        int64_t now = bk_mono_ms();
        if (now >= deadline) {
            log_err("timeout: still running after %.0f s", o->timeout);
            if (o->cancel_on_timeout)
                cancel_jobs(h, r);
            set_run_error(r, "timed out after %g s%s", o->timeout,
                          o->cancel_on_timeout ? "; HYCU job(s) cancelled" : "");
            r->status = "timeout";
            return 3;
        }
        int64_t wait = deadline - now < interval ? deadline - now : interval;
        if (bk_sleep_ms(wait, &g_stop) < 0 || g_stop)
            return on_interrupt(h, o, r);
    }
    int code = 0;
    bool warning = false;
    for (size_t i = 0; i < r->njobs; i++) {
        if (code_rank(r->jobs[i].exit_code) > code_rank(code))
            code = r->jobs[i].exit_code;
        warning |= r->jobs[i].job.state == HYCU_WARNING;
    }
    switch (code) {
    case 0:
        r->status = warning ? "warning" : "success";
        break;
    case 4:
        r->status = "failed";
        break;
    case 5:
        r->status = "cancelled";
        break;
    default:
        r->status = "unknown";
        break;
    }
    return code;
}

static void random_hex(char *out, size_t nbytes)
{
    unsigned char b[32] = {0};
    if (nbytes > sizeof b)
        nbytes = sizeof b;
    if (bk_plat_random(b, nbytes) < 0)
        memset(b, 0, sizeof b);
    int64_t t = bk_now_ms() ^ bk_plat_pid();
    for (size_t i = 0; i < nbytes; i++) {
        b[i] ^= (unsigned char)(t >> ((i % 8) * 8));
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    }
}

/* POST the JSON report to the webhook. Failing to notify is logged and changes nothing. */
static void notify_webhook(const struct backup_opts *o, const struct backup_result *r)
{
    struct http_opts ho = {.connect_timeout_ms = 5000,
                           .timeout_ms = 10000,
                           .retries = 2,
                           .backoff_ms = 500,
                           .backoff_max_ms = 2000,
                           .ca_file = o->ca_file,
                           .insecure = o->insecure};
    /* A fresh client: the HYCU credentials must never go to the webhook. */
    struct http_client *c = http_client_new(&ho);
    if (!c) {
        log_warn("webhook: cannot initialise libcurl");
        return;
    }
    json_t *j = report_json(r);
    char *body = jsonu_dump(j);
    json_decref(j);
    char key[65];
    random_hex(key, 16);
    char *hdr = xasprintf("Idempotency-Key: %s", key);
    const char *headers[] = {hdr, NULL};
    struct http_req req = {.method = "POST",
                           .url = o->webhook,
                           .body = body,
                           .body_len = strlen(body),
                           .headers = headers,
                           .retry = HTTP_RETRY_READ};
    struct http_resp resp;
    struct bk_err e = {0};
    if (http_request(c, &req, &resp, &e) == 0)
        log_info("webhook: report delivered (HTTP %ld)", resp.status);
    else
        log_warn("webhook: report not delivered: %s", e.msg);
    http_resp_free(&resp);
    free(hdr);
    free(body);
    http_client_free(c);
}

static void emit_report(const struct backup_opts *o, const struct backup_result *r)
{
    FILE *f = stdout;
    if (o->report_file) {
        f = bk_plat_fopen(o->report_file, "wb"); /* "\n" endings on every platform */
        if (!f) {
            log_err("--report-file %s: %s; writing the report to stdout", o->report_file,
                    strerror(errno));
            f = stdout;
        }
    }
    report_write(f, r, o->report_format, o->lang);
    if (f != stdout && fclose(f) != 0)
        log_err("--report-file %s: write failed: %s", o->report_file, strerror(errno));
    if (o->webhook)
        notify_webhook(o, r);
}

/* Start (or attach to) the backup. Fills r->jobs. Returns 0 or an exit code. */
static int start_backup(struct hycu *h, const struct backup_opts *o, struct backup_result *r)
{
    struct bk_err err = {0};
    int rc;
    if (o->api == HYCU_DIALECT_V1) {
        char *id = NULL;
        rc = hycu_v1_trigger(h, o->backup_name, o->v1_extra, &id, &err);
        if (rc < 0) {
            log_err("backup could not be started: %s", err.msg);
            set_run_error(r, "backup could not be started: %s", err.msg);
            return rc == -BK_EPROTO ? 8 : backup_setup_exit_code(rc, err.http);
        }
        log_info("backup \"%s\" started: job %s", o->backup_name, id);
        add_job(r, id);
        free(id);
        return 0;
    }

    struct hycu_entity e = {0};
    rc = resolve_entity(h, o, &e, &err);
    if (rc < 0) {
        log_err("%s", err.msg);
        set_run_error(r, "%s", err.msg);
        return backup_setup_exit_code(rc, err.http);
    }
    r->kind = hycu_kind_name(e.kind);
    free(r->entity_uuid);
    r->entity_uuid = xstrdup(e.uuid);
    if (!r->backup_name)
        r->backup_name = xstrdup(e.name);
    log_info("%s \"%s\" is %s", r->kind, e.name, e.uuid);

    int code = 0;
    char *target_uuid = NULL;
    struct hycu_strlist ids = {0};
    if (o->if_running != IF_RUNNING_START) {
        rc = hycu_find_running(h, &e, &ids, &err);
        if (rc < 0) {
            log_err("cannot list running jobs: %s", err.msg);
            set_run_error(r, "cannot list running jobs: %s", err.msg);
            code = backup_setup_exit_code(rc, err.http);
            goto out;
        }
        if (ids.n > 0 && o->if_running == IF_RUNNING_FAIL) {
            set_run_error(r, "a backup of \"%s\" is already running (job %s); --if-running fail",
                          e.name, ids.v[0]);
            log_err("%s", r->error);
            code = 1;
            goto out;
        }
        if (ids.n > 0)
            log_info("attaching to %zu running job(s) of \"%s\"", ids.n, e.name);
    }
    if (ids.n == 0) {
        if (o->target) {
            if (looks_like_uuid(o->target)) {
                target_uuid = xstrdup(o->target);
            } else if ((rc = hycu_resolve_target(h, o->target, &target_uuid, &err)) < 0) {
                log_err("backup-config target: %s", err.msg);
                set_run_error(r, "backup-config target: %s", err.msg);
                code = backup_setup_exit_code(rc, err.http);
                goto out;
            }
        }
        struct hycu_trigger_opts to = {
            .force_full = o->force_full,
            .target_uuid = target_uuid,
            .lookup_deadline_ms = bk_mono_ms() + (int64_t)(o->timeout * 1000.0),
        };
        enum hycu_running started = HYCU_RUNNING_NONE;
        rc = hycu_trigger(h, &e, &to, &ids, &started, &err);
        if (rc < 0 && rc != -BK_EINTR && started == HYCU_RUNNING_UNKNOWN) {
            /* The POST may have started a job we cannot see: a monitoring error (2), not
             * "could not be started" (8), so nobody re-runs it blindly (docs/hycu.md). */
            log_err("%s", err.msg);
            set_run_error(r, "monitoring error: %s", err.msg);
            r->status = "monitoring_error";
            code = 2;
            goto out;
        }
        if (rc < 0) {
            log_err("backup could not be started: %s", err.msg);
            set_run_error(r, "backup could not be started: %s", err.msg);
            /* After the lookup succeeded, only rejected credentials or an empty policy are
             * the operator's to fix; anything else is "could not be started" (8). */
            code = rc == -BK_EAUTH || rc == -BK_ENOTFOUND ? 1 : rc == -BK_EINTR ? 7 : 8;
            goto out;
        }
        log_info("backup of %s \"%s\" started%s: %zu job(s)", r->kind, e.name,
                 o->force_full ? " (forced full)" : "", ids.n);
    }
    for (size_t i = 0; i < ids.n; i++)
        add_job(r, ids.v[i]);
out:
    free(target_uuid);
    hycu_strlist_free(&ids);
    hycu_entity_clear(&e);
    return code;
}

static void snapshot_jobs(struct hycu *h, struct backup_result *r)
{
    for (size_t i = 0; i < r->njobs; i++) {
        struct hycu_job j;
        struct bk_err e = {0};
        if (hycu_get_job(h, r->jobs[i].id, &j, &e) == 0) {
            hycu_job_clear(&r->jobs[i].job);
            r->jobs[i].job = j;
        } else {
            log_warn("job %s: current status unreadable: %s", r->jobs[i].id, e.msg);
        }
    }
}

static const char *env_get(const char *name)
{
    return getenv(name);
}

int cmd_backup(int argc, char **argv)
{
    struct backup_opts o;
    struct bk_err err = {0};
    struct backup_result r = {0};
    struct hycu *h = NULL;
#ifndef BK_BACKUP_ONLY
    struct backup_record *rec = NULL;
#endif
    int code;
    int rc = backup_opts_parse(argc, argv, env_get, &o, &err);
    if (rc == 1) {
        code = 0;
        goto out;
    }
    if (rc < 0) {
        fprintf(stderr, "backupctl backup: %s (see 'backupctl backup --help')\n", err.msg);
        code = 1;
        goto out;
    }
    if (o.verbose)
        log_set_level(LOG_DEBUG);
    if (o.insecure)
        log_warn("--insecure: the controller's TLS certificate is NOT verified");
    g_stop = 0;
    g_signal = 0;
    install_signals();

    struct hycu_cfg cfg = {
        .url = o.url,
        .dialect = o.api,
        .token = o.token,
        .username = o.username,
        .password = o.password,
        .http = {.connect_timeout_ms = 10000,
                 .timeout_ms = (long)(o.http_timeout * 1000.0),
                 .ca_file = o.ca_file,
                 .insecure = o.insecure,
                 .retries = o.retries,
                 .backoff_ms = (long)(o.retry_backoff * 1000.0),
                 .backoff_max_ms = 10000,
                 .stop = &g_stop},
    };
    if (cfg.http.backoff_ms < 1)
        cfg.http.backoff_ms = 1;
    if ((rc = hycu_open(&cfg, &h, &err)) < 0) {
        fprintf(stderr, "backupctl backup: %s (see 'backupctl backup --help')\n", err.msg);
        code = 1;
        goto out;
    }
    r.timestamp_ms = bk_now_ms();
    r.backup_name = o.backup_name ? xstrdup(o.backup_name) : NULL;
    log_debug("controller %s, %s API, %s auth", o.url, o.api == HYCU_DIALECT_V1 ? "v1" : "REST",
              o.token ? "Bearer" : "Basic");

#ifndef BK_BACKUP_ONLY
    if (o.store_config &&
        (rc = backup_record_open(o.store_config, o.store_source, o.url, &rec, &err)) < 0) {
        fprintf(stderr, "backupctl backup: %s\n", err.msg);
        code = 1;
        goto out;
    }
#endif
    code = start_backup(h, &o, &r);
#ifndef BK_BACKUP_ONLY
    if (r.njobs > 0)
        backup_record_write(rec, &r); /* running, at once */
#endif
    if (code == 0 && r.njobs == 0)
        code = 8;
    if (code != 0) {
        if (!r.status)
            r.status = code == 7 ? "interrupted" : "error";
        goto report;
    }
    if (o.no_monitor) {
        snapshot_jobs(h, &r);
        r.status = "running";
        code = 0;
        goto report;
    }
    code = monitor(h, &o, &r);
report:
    r.exit_code = code;
    r.timestamp_ms = bk_now_ms();
#ifndef BK_BACKUP_ONLY
    backup_record_write(rec, &r);
#endif
    emit_report(&o, &r);
    log_info("exit code %d (%s)", code, r.status);
out:
#ifndef BK_BACKUP_ONLY
    backup_record_close(rec);
#endif
    hycu_close(h);
    backup_result_free(&r);
    backup_opts_free(&o);
    bk_plat_stop_done();
    return code;
}
