/* `backupctl job add` and `backupctl ping` (see cmd_push.h). */
#include "cli/cmd_push.h"

#include "config/config.h"
#include "http/http.h"
#include "platform/platform.h"
#include "store/push.h"
#include "store/store.h"
#include "util/err.h"
#include "util/str.h"
#include "util/xalloc.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char JOB_USAGE[] =
    "Usage: backupctl job add --source NAME --name JOB [--customer C] [--kind K] [--config F]\n"
    "\n"
    "Create a push job in a `type = push` source and print its ping URL: whatever runs the\n"
    "backup (a script, cron, systemd, a NAS task) reports each run by requesting it:\n"
    "  curl -fsS -m 10 --retry 5 URL            the run succeeded\n"
    "  curl -fsS -m 10 --retry 5 URL/start      it starts (the end ping measures the duration)\n"
    "  curl -fsS -m 10 --retry 5 URL/fail       it failed; URL/N reports exit status N\n"
    "  backupctl ping URL -- COMMAND [ARGS...]  all of that around COMMAND\n"
    "A POST body (first 10 KB) becomes the run's message; ?rid=ID makes a retried ping\n"
    "change nothing. The URL is the job's credential: keep it like a password.\n"
    "Exit 0 created, 1 error.\n";

static const char PING_USAGE[] =
    "Usage: backupctl ping URL [success|start|fail|EXIT-STATUS] [--rid ID] [--message TEXT]\n"
    "       backupctl ping URL [--timeout DUR] -- COMMAND [ARGS...]\n"
    "\n"
    "Report a run of a push job (see 'backupctl job add'). The first form sends one ping\n"
    "(default success), retried with backoff for --timeout (default 1m) under one run id, so\n"
    "a retry never counts twice. The second runs COMMAND, pinging start before and its exit\n"
    "status after, with the last 10 KB of its output (which is also shown) as the message.\n"
    "Exit: the first form 0 when the ping was accepted, 1 otherwise; the second COMMAND's exit\n"
    "status (a ping that could not be delivered is reported on stderr and does not change it;\n"
    "the job then shows Missed), 127 when COMMAND cannot be started.\n";

static int job_add(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"source", required_argument, NULL, 's'},
        {"name", required_argument, NULL, 'n'},
        {"customer", required_argument, NULL, 'C'},
        {"kind", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = config_default_path(), *source = NULL, *name = NULL, *customer = NULL,
               *kind = NULL;
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 's':
            source = optarg;
            break;
        case 'n':
            name = optarg;
            break;
        case 'C':
            customer = optarg;
            break;
        case 'k':
            kind = optarg;
            break;
        case 'h':
            fputs(JOB_USAGE, stdout);
            return 0;
        case ':':
            fprintf(stderr, "backupctl job add: %s needs a value\n", argv[optind - 1]);
            return 1;
        default:
            fprintf(stderr, "backupctl job add: unknown option \"%s\" (see --help)\n",
                    argv[optind - 1]);
            return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "backupctl job add: unexpected argument \"%s\"\n", argv[optind]);
        return 1;
    }
    if (!source || !*source || !name || !*name) {
        fprintf(stderr, "backupctl job add: --source and --name are required (see --help)\n");
        return 1;
    }
    if (strlen(name) > 200 || strpbrk(name, "\r\n") || (customer && strlen(customer) > 200)) {
        fprintf(stderr, "backupctl job add: --name and --customer: one line of at most 200 "
                        "bytes\n");
        return 1;
    }
    struct bk_config *cfg = NULL;
    struct bk_store *st = NULL;
    struct bk_err err = {0};
    int rc = config_load(config, &cfg, &err);
    const struct bk_source_cfg *sc = rc == 0 ? config_find_source(cfg, source) : NULL;
    if (rc == 0 && (!sc || sc->type != BK_SOURCE_PUSH))
        rc = bk_err_set(&err, BK_ECONFIG, "%s has no source \"%.100s\" of type push", config,
                        source);
    int64_t sid = 0, job_id = 0;
    char uuid[STORE_PUSH_UUID_LEN + 1];
    if (rc == 0)
        rc = store_open(cfg, &st, &err);
    if (rc == 0)
        rc = store_source_sync(st, sc, &sid, &err);
    if (rc == 0)
        rc = store_push_job_add(st, sid, customer && *customer ? customer : sc->customer, name,
                                kind && *kind ? kind : NULL, "cli", bk_plat_realtime_ms(), &job_id,
                                uuid, &err);
    if (rc == 0) {
        char *url = store_push_url(cfg, 0, uuid);
        printf("job %" PRId64 " \"%s\" of %s: ping URL\n%s\n", job_id, name, sc->customer, url);
        free(url);
    } else {
        fprintf(stderr, "backupctl job add: %s\n", err.msg);
    }
    store_close(st);
    config_free(cfg);
    return rc == 0 ? 0 : 1;
}

int cmd_job(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(JOB_USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    if (strcmp(argv[1], "add") == 0)
        return job_add(argc - 1, argv + 1);
    fprintf(stderr, "backupctl job: unknown subcommand \"%.40s\" (add)\n", argv[1]);
    return 1;
}

/* ---- ping ---------------------------------------------------------------------------------- */

struct tail {
    char buf[STORE_PUSH_MESSAGE_MAX];
    size_t len;
};

/* Keep the last STORE_PUSH_MESSAGE_MAX bytes, and show everything as it comes. */
static void on_output(const char *b, size_t n, void *ud)
{
    struct tail *t = ud;
    fwrite(b, 1, n, stdout);
    fflush(stdout);
    if (n >= sizeof t->buf) {
        memcpy(t->buf, b + n - sizeof t->buf, sizeof t->buf);
        t->len = sizeof t->buf;
        return;
    }
    if (t->len + n > sizeof t->buf) {
        size_t drop = t->len + n - sizeof t->buf;
        memmove(t->buf, t->buf + drop, t->len - drop);
        t->len -= drop;
    }
    memcpy(t->buf + t->len, b, n);
    t->len += n;
}

static bool url_ok(const char *u)
{
    return (str_starts_with(u, "http://") || str_starts_with(u, "https://")) &&
           strstr(u, "/ping/") && !strpbrk(u, "?# \t\r\n");
}

/* One ping, retried until timeout_ms under the same rid. */
static int send_ping(struct http_client *hc, const char *url, const char *what, const char *rid,
                     const char *body, size_t body_len, struct bk_err *err)
{
    char *full = xasprintf("%s%s%s?rid=%s", url, what ? "/" : "", what ? what : "", rid);
    struct http_req rq = {.method = "POST",
                          .url = full,
                          .body = body ? body : "",
                          .body_len = body ? body_len : 0,
                          .content_type = "text/plain; charset=utf-8",
                          .retry = HTTP_RETRY_READ}; /* idempotent: the rid */
    struct http_resp rs;
    int rc = http_request(hc, &rq, &rs, err);
    if (rc == -BK_EHTTP && rs.status == 404)
        rc = bk_err_set(err, BK_ENOTFOUND, "no push job has this ping URL (404)");
    http_resp_free(&rs);
    free(full);
    return rc;
}

int cmd_ping(int argc, char **argv)
{
    const char *url = NULL, *what = NULL, *rid = NULL, *message = NULL;
    double timeout_s = 60;
    int cmd_at = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            cmd_at = i + 1;
            break;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(PING_USAGE, stdout);
            return 0;
        }
        if (strcmp(a, "--rid") == 0 || strcmp(a, "--message") == 0 || strcmp(a, "--timeout") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "backupctl ping: %s needs a value\n", a);
                return 1;
            }
            const char *v = argv[++i];
            if (a[2] == 'r')
                rid = v;
            else if (a[2] == 'm')
                message = v;
            else if (str_parse_duration(v, &timeout_s) < 0 || timeout_s < 1 || timeout_s > 3600) {
                fprintf(stderr, "backupctl ping: --timeout \"%.40s\" must be from 1s to 1h\n", v);
                return 1;
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "backupctl ping: unknown option \"%.60s\" (see --help)\n", a);
            return 1;
        } else if (!url) {
            url = a;
        } else if (!what) {
            what = a;
        } else {
            fprintf(stderr, "backupctl ping: unexpected argument \"%.60s\"\n", a);
            return 1;
        }
    }
    if (!url || !url_ok(url)) {
        fprintf(stderr, "backupctl ping: the first argument must be a ping URL "
                        "(http(s)://HOST/ping/UUID, from 'backupctl job add')\n");
        return 1;
    }
    if (cmd_at >= 0 && (cmd_at >= argc || what || message)) {
        fprintf(stderr, cmd_at >= argc ? "backupctl ping: -- needs a COMMAND\n"
                                       : "backupctl ping: a status or --message and -- COMMAND "
                                         "exclude each other\n");
        return 1;
    }
    if (what && strcmp(what, "success") == 0)
        what = NULL;
    int64_t code;
    if (what && strcmp(what, "start") != 0 && strcmp(what, "fail") != 0 &&
        (str_to_i64(what, &code) < 0 || code < 0 || code > 255)) {
        fprintf(stderr, "backupctl ping: \"%.40s\" is not success, start, fail or 0-255\n", what);
        return 1;
    }
    char ridbuf[40];
    if (!rid) {
        unsigned char b[8] = {0};
        bk_plat_random(b, sizeof b);
        snprintf(ridbuf, sizeof ridbuf, "%02x%02x%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
                 b[4], b[5], b[6], b[7]);
        rid = ridbuf;
    }
    struct http_opts ho = {.connect_timeout_ms = 10000,
                           .timeout_ms = (long)(timeout_s * 1000),
                           .retries = 6,
                           .backoff_ms = 1000};
    struct http_client *hc = http_client_new(&ho);
    struct bk_err err = {0};
    int rc = 0;
    if (cmd_at < 0) {
        rc = send_ping(hc, url, what, rid, message, message ? strlen(message) : 0, &err);
        if (rc < 0)
            fprintf(stderr, "backupctl ping: %s\n", err.msg);
        http_client_free(hc);
        return rc < 0 ? 1 : 0;
    }
    if (send_ping(hc, url, "start", rid, NULL, 0, &err) < 0)
        fprintf(stderr, "backupctl ping: start ping not delivered: %s\n", err.msg);
    struct tail *t = xcalloc(1, sizeof *t);
    int status = 0;
    char why[300] = "";
    if (bk_plat_run(argv + cmd_at, on_output, t, &status, why, sizeof why) < 0) {
        fprintf(stderr, "backupctl ping: %s\n", why);
        status = 127;
        t->len = (size_t)snprintf(t->buf, sizeof t->buf, "%s", why);
    }
    char st[8];
    snprintf(st, sizeof st, "%d", status);
    memset(&err, 0, sizeof err);
    if (send_ping(hc, url, st, rid, t->buf, t->len, &err) < 0)
        fprintf(stderr, "backupctl ping: end ping (exit %d) not delivered: %s\n", status, err.msg);
    free(t);
    http_client_free(hc);
    return status;
}
