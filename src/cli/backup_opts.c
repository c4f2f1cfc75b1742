/* Option parsing for `backupctl backup`. Every error is one line naming the option and the
 * value (never a secret) and is a configuration error (exit 1): usage errors are never 2,
 * unlike the original's argparse. */
#include "cli/backup_opts.h"

#include "platform/platform.h"
#include "secrets/secretfile.h"
#include "json/jsonu.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"
#include "util/xalloc.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_BACKUP_NAME = 256,
    OPT_TARGET_TYPE,
    OPT_UUID,
    OPT_URL,
    OPT_AUTH_TOKEN,
    OPT_AUTH_TOKEN_FILE,
    OPT_USERNAME,
    OPT_PASSWORD_FILE,
    OPT_AUTH_FILE,
    OPT_CHECK_INTERVAL,
    OPT_TIMEOUT,
    OPT_IF_RUNNING,
    OPT_BACKUP_CONFIG,
    OPT_NO_MONITOR,
    OPT_VERBOSE,
    OPT_API,
    OPT_CANCEL_ON_TIMEOUT,
    OPT_CANCEL_ON_INTERRUPT,
    OPT_ON_WARNING,
    OPT_REPORT_FORMAT,
    OPT_REPORT_FILE,
    OPT_CA_FILE,
    OPT_INSECURE,
    OPT_LANG,
    OPT_RETRIES,
    OPT_RETRY_BACKOFF,
    OPT_HTTP_TIMEOUT,
    OPT_STORE_CONFIG,
    OPT_STORE_SOURCE,
    OPT_HELP,
};

static const struct option long_opts[] = {
    {"backup-name", required_argument, NULL, OPT_BACKUP_NAME},
    {"target-type", required_argument, NULL, OPT_TARGET_TYPE},
    {"uuid", required_argument, NULL, OPT_UUID},
    {"url", required_argument, NULL, OPT_URL},
    {"auth-token", required_argument, NULL, OPT_AUTH_TOKEN},
    {"auth-token-file", required_argument, NULL, OPT_AUTH_TOKEN_FILE},
    {"username", required_argument, NULL, OPT_USERNAME},
    {"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
    {"auth-file", required_argument, NULL, OPT_AUTH_FILE},
    {"check-interval", required_argument, NULL, OPT_CHECK_INTERVAL},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"if-running", required_argument, NULL, OPT_IF_RUNNING},
    {"backup-config", required_argument, NULL, OPT_BACKUP_CONFIG},
    {"no-monitor", no_argument, NULL, OPT_NO_MONITOR},
    {"verbose", no_argument, NULL, OPT_VERBOSE},
    {"api", required_argument, NULL, OPT_API},
    {"cancel-on-timeout", no_argument, NULL, OPT_CANCEL_ON_TIMEOUT},
    {"cancel-on-interrupt", no_argument, NULL, OPT_CANCEL_ON_INTERRUPT},
    {"on-warning", required_argument, NULL, OPT_ON_WARNING},
    {"report-format", required_argument, NULL, OPT_REPORT_FORMAT},
    {"report-file", required_argument, NULL, OPT_REPORT_FILE},
    {"ca-file", required_argument, NULL, OPT_CA_FILE},
    {"insecure", no_argument, NULL, OPT_INSECURE},
    {"lang", required_argument, NULL, OPT_LANG},
    {"retries", required_argument, NULL, OPT_RETRIES},
    {"retry-backoff", required_argument, NULL, OPT_RETRY_BACKOFF},
    {"http-timeout", required_argument, NULL, OPT_HTTP_TIMEOUT},
    {"config", required_argument, NULL, OPT_STORE_CONFIG},
    {"source", required_argument, NULL, OPT_STORE_SOURCE},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

void backup_usage(FILE *f)
{
    fputs(
        "Usage: backupctl backup --backup-name NAME --url URL [options]\n"
        "\n"
        "Start a HYCU backup, wait for it, print a report and exit with a code a job\n"
        "scheduler acts on (Visual TOM, Control-M, cron, systemd).\n"
        "\n"
        "What to back up:\n"
        "  --backup-name NAME      exact name of a VM, application, share, volume group or policy\n"
        "  --target-type TYPE      vm|app|share|vg|policy|auto (default auto: all kinds; 0 or\n"
        "                          several matches is an error listing the candidates)\n"
        "  --uuid UUID             skip the lookup (the name then only labels the report)\n"
        "Controller and credentials (command line > --auth-file > environment):\n"
        "  --url URL               controller base, e.g. https://hycu:8443   [HYCU_URL]\n"
        "  --auth-token TOKEN      API key sent as Bearer (visible in ps: prefer the env var\n"
        "                          or a file)                                [HYCU_AUTH_TOKEN]\n"
        "  --auth-token-file F     API key read from F (mode 600)       [HYCU_AUTH_TOKEN_FILE]\n"
        "  --username U            Basic auth user                           [HYCU_USERNAME]\n"
        "  --password-file F       Basic auth password from F (mode 600) [HYCU_PASSWORD holds\n"
        "                          the password itself]\n"
        "  --auth-file F           JSON {\"token\": …} or {\"username\": …, \"password\": …};\n"
        "                          refused if group/other can read it        [HYCU_AUTH_FILE]\n"
        "  --api rest|v1           rest = HYCU /rest/v1.0 (default); v1 = the original\n"
        "                          vtom-hycu script's /api/v1/backups contract    [HYCU_API]\n"
        "  --ca-file F             trust the CA certificates in F\n"
        "  --insecure              do not verify the TLS certificate (logged as a warning)\n"
        "Monitoring:\n"
        "  --check-interval DUR    time between status polls (30; accepts 0.5, 90s, 2m)\n"
        "  --timeout DUR           give up after DUR (3600) → exit 3\n"
        "  --no-monitor            trigger, report the job id(s) and current status, exit 0\n"
        "  --if-running MODE       a backup of the same entity is already running:\n"
        "                          start (default) another, attach = monitor it, fail = exit 1\n"
        "  --cancel-on-timeout     abort the HYCU job(s) before exiting 3\n"
        "  --cancel-on-interrupt   abort the HYCU job(s) on SIGINT/SIGTERM before exiting 7\n"
        "  --on-warning MODE       success (default, exit 0) or failure (exit 4) for WARNING\n"
        "  --retries N             retries of a failed read (4), capped exponential backoff\n"
        "  --retry-backoff DUR     first backoff (0.5s), doubled per retry up to 10s\n"
        "  --http-timeout DUR      timeout of one HTTP request (60s)\n"
        "Report and logs:\n"
        "  --backup-config F       JSON: type (full → forced full), target (HYCU backup\n"
        "                          target), target_type, notifications.webhook (the JSON report\n"
        "                          is POSTed there); retention, compression, encryption,\n"
        "                          schedule, priority come from the HYCU policy and are\n"
        "                          reported as ignored\n"
        "  --report-format FMT     text (default, the original layout) or json\n"
        "  --report-file F         write the report to F instead of stdout\n"
        "  --lang en|fr            report labels (default from LANG)\n"
        "  --config F              also record the run in backupctl's store (F is\n"
        "                          backupctl.conf): at once as running, then as the report\n"
        "                          says (source_type trigger; the poller's view of the same\n"
        "                          HYCU job updates that run, never a second one). A store\n"
        "                          that cannot be written is a warning, never an exit code.\n"
        "                          Needs --api rest; not in the Windows build\n"
        "  --source NAME           the hycu [source] of F to record under (default: the one\n"
        "                          whose url is --url)\n"
        "  --verbose               debug log on stderr (secrets redacted)\n"
        "  --help                  this help\n"
        "\n"
        "Exit codes:\n"
        "  0  success (HYCU OK; WARNING unless --on-warning failure); --no-monitor: accepted\n"
        "  1  configuration error: bad or missing option, URL, credentials or file; credentials\n"
        "     rejected before the trigger; unknown host; untrusted TLS certificate; target not\n"
        "     found or ambiguous; --if-running fail with a backup running\n"
        "  2  monitoring error: status unreadable after retries (network, 5xx, bad reply);\n"
        "     also a trigger that got a timeout/5xx when the running jobs then could not be\n"
        "     listed until --timeout: a backup may have started, it is not posted again\n"
        "  3  timeout: still running after --timeout\n"
        "  4  backup failed (ERROR, FATAL; WARNING with --on-warning failure)\n"
        "  5  backup cancelled (ABORTED)\n"
        "  6  unknown final status (UNDEFINED, or an unmapped status with a finish time)\n"
        "  7  interrupted by SIGINT or SIGTERM\n"
        "  8  unexpected error, including a backup that could not be started\n"
        "Several jobs (a policy): 7, 3 or 2 for the run wins; otherwise the worst job decides,\n"
        "failed (4) > cancelled (5) > unknown (6) > success (0).\n",
        f);
}

void backup_opts_free(struct backup_opts *o)
{
    if (!o)
        return;
    free(o->backup_name);
    free(o->uuid);
    free(o->url);
    free(o->token);
    free(o->username);
    free(o->password);
    free(o->backup_config);
    free(o->report_file);
    free(o->ca_file);
    free(o->store_config);
    free(o->store_source);
    free(o->target);
    free(o->webhook);
    json_decref(o->v1_extra);
    memset(o, 0, sizeof *o);
}

static void set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = xstrdup(v);
}

static int bad_value(struct bk_err *err, const char *opt, const char *v, const char *want)
{
    return bk_err_set(err, BK_EINVAL, "%s: invalid value \"%s\" (%s)", opt, v, want);
}

static int parse_duration_opt(const char *opt, const char *v, double min, double *out,
                              struct bk_err *err)
{
    double d;
    if (str_parse_duration(v, &d) < 0 || d < min)
        return bad_value(err, opt, v, "expected a duration such as 30, 0.5, 90s, 15m, 2h");
    *out = d;
    return 0;
}

int auth_file_parse(const char *buf, size_t len, char **token, char **username, char **password,
                    struct bk_err *err)
{
    *token = *username = *password = NULL;
    json_t *root = jsonu_parse(buf, len, err);
    if (!root)
        return -BK_ECONFIG;
    int rc = 0;
    if (!json_is_object(root)) {
        rc = bk_err_set(err, BK_ECONFIG, "expected a JSON object");
        goto out;
    }
    const char *t = jsonu_str(root, "token");
    if (!t)
        t = jsonu_str(root, "api_key");
    const char *u = jsonu_str(root, "username");
    const char *p = jsonu_str(root, "password");
    if (t && *t) {
        *token = xstrdup(t);
    } else if (u && *u && p && *p) {
        *username = xstrdup(u);
        *password = xstrdup(p);
    } else {
        rc = bk_err_set(err, BK_ECONFIG,
                        "expected {\"token\": …} or {\"username\": …, \"password\": …}");
    }
out:
    json_decref(root);
    return rc;
}

static const char *const policy_keys[] = {"retention", "compression", "encryption", "schedule",
                                          "priority"};

int backup_config_parse(const char *buf, size_t len, enum hycu_dialect api, struct backup_opts *o,
                        struct bk_err *err)
{
    json_t *root = jsonu_parse(buf, len, err);
    if (!root)
        return -BK_ECONFIG;
    int rc = 0;
    if (!json_is_object(root)) {
        rc = bk_err_set(err, BK_ECONFIG, "expected a JSON object");
        goto out;
    }
    json_decref(o->v1_extra);
    o->v1_extra = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        if (strcmp(key, "type") == 0) {
            const char *t = json_string_value(v);
            if (!t || (strcmp(t, "full") && strcmp(t, "incremental"))) {
                rc = bk_err_set(err, BK_ECONFIG, "\"type\" must be \"full\" or \"incremental\"");
                goto out;
            }
            o->force_full = strcmp(t, "full") == 0;
            json_object_set(o->v1_extra, key, v);
        } else if (strcmp(key, "target") == 0) {
            if (!json_is_string(v) || !*json_string_value(v)) {
                rc = bk_err_set(err, BK_ECONFIG, "\"target\" must be a non-empty string");
                goto out;
            }
            set_str(&o->target, json_string_value(v));
            json_object_set(o->v1_extra, key, v);
        } else if (strcmp(key, "target_type") == 0) {
            enum hycu_kind k;
            const char *t = json_string_value(v);
            if (!t || (strcmp(t, "auto") && hycu_kind_parse(t, &k) < 0)) {
                rc = bk_err_set(err, BK_ECONFIG,
                                "\"target_type\" must be vm, app, share, vg, policy or auto");
                goto out;
            }
            if (strcmp(t, "auto") != 0 && o->kinds == HYCU_KIND_ALL)
                o->kinds = HYCU_KIND_BIT(k);
        } else if (strcmp(key, "notifications") == 0) {
            if (!json_is_object(v)) {
                rc = bk_err_set(err, BK_ECONFIG, "\"notifications\" must be an object");
                goto out;
            }
            const char *wh = jsonu_str(v, "webhook");
            if (wh && *wh) {
                if (!str_starts_with(wh, "https://") && !str_starts_with(wh, "http://")) {
                    rc = bk_err_set(err, BK_ECONFIG,
                                    "\"notifications.webhook\" must be an http(s) URL");
                    goto out;
                }
                set_str(&o->webhook, wh);
            }
            if (jsonu_str(v, "email"))
                log_warn("backup-config: notifications.email is not sent by `backupctl backup` "
                         "(no mail transport); use notifications.webhook");
        } else {
            bool known = false;
            for (size_t i = 0; i < sizeof policy_keys / sizeof policy_keys[0]; i++)
                known |= strcmp(key, policy_keys[i]) == 0;
            if (api == HYCU_DIALECT_V1) {
                json_object_set(o->v1_extra, key, v); /* the original merged them all */
            } else if (known) {
                log_warn("backup-config: \"%s\" is set by the HYCU policy, not per backup: "
                         "ignored",
                         key);
            } else {
                log_warn("backup-config: unknown key \"%s\": ignored", key);
            }
        }
    }
out:
    json_decref(root);
    return rc;
}

static int read_json_file(const char *path, const char *what, bool secret, char **buf, size_t *len,
                          struct bk_err *err)
{
    if (secret)
        return secretfile_read(path, what, buf, len, err);
    FILE *f = bk_plat_fopen(path, "rb");
    if (!f)
        return bk_err_set(err, BK_EIO, "%s: cannot open %s", what, path);
    struct bk_buf b;
    bk_buf_init(&b, 1u << 20);
    char chunk[4096];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (bk_buf_append(&b, chunk, n) < 0) {
            rc = bk_err_set(err, BK_ECONFIG, "%s: %s is larger than 1 MiB", what, path);
            break;
        }
    if (!rc && ferror(f))
        rc = bk_err_set(err, BK_EIO, "%s: cannot read %s", what, path);
    fclose(f);
    if (rc) {
        bk_buf_free(&b);
        return rc;
    }
    *len = b.len;
    *buf = bk_buf_steal(&b);
    return 0;
}

static const char *envs(backup_getenv_fn env, const char *name)
{
    const char *v = env(name);
    return v && *v ? v : NULL;
}

int backup_opts_parse(int argc, char **argv, backup_getenv_fn env, struct backup_opts *o,
                      struct bk_err *err)
{
    memset(o, 0, sizeof *o);
    o->kinds = HYCU_KIND_ALL;
    o->check_interval = 30;
    o->timeout = 3600;
    o->retries = 4;
    o->retry_backoff = 0.5;
    o->http_timeout = 60;
    const char *lang = envs(env, "LANG");
    o->lang = lang && str_starts_with(lang, "fr") ? LANG_FR : LANG_EN;

    char *cli_token = NULL, *cli_token_file = NULL, *cli_user = NULL, *cli_pass_file = NULL;
    char *auth_file = NULL, *api = NULL;
    int rc = 0;
    bool api_set = false;

    optind = 0; /* glibc: 0 re-initialises getopt for repeated parses */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":", long_opts, NULL)) != -1) {
        switch (c) {
        case OPT_BACKUP_NAME:
            set_str(&o->backup_name, optarg);
            break;
        case OPT_TARGET_TYPE: {
            enum hycu_kind k;
            if (strcmp(optarg, "auto") == 0)
                o->kinds = HYCU_KIND_ALL;
            else if (hycu_kind_parse(optarg, &k) == 0)
                o->kinds = HYCU_KIND_BIT(k);
            else {
                rc = bad_value(err, "--target-type", optarg, "vm, app, share, vg, policy or auto");
                goto out;
            }
            break;
        }
        case OPT_UUID:
            set_str(&o->uuid, optarg);
            break;
        case OPT_URL:
            set_str(&o->url, optarg);
            break;
        case OPT_AUTH_TOKEN:
            set_str(&cli_token, optarg);
            log_add_secret(optarg);
            break;
        case OPT_AUTH_TOKEN_FILE:
            set_str(&cli_token_file, optarg);
            break;
        case OPT_USERNAME:
            set_str(&cli_user, optarg);
            break;
        case OPT_PASSWORD_FILE:
            set_str(&cli_pass_file, optarg);
            break;
        case OPT_AUTH_FILE:
            set_str(&auth_file, optarg);
            break;
        case OPT_CHECK_INTERVAL:
            if ((rc = parse_duration_opt("--check-interval", optarg, 0.01, &o->check_interval,
                                         err)) < 0)
                goto out;
            break;
        case OPT_TIMEOUT:
            if ((rc = parse_duration_opt("--timeout", optarg, 0.01, &o->timeout, err)) < 0)
                goto out;
            break;
        case OPT_IF_RUNNING:
            if (strcmp(optarg, "start") == 0)
                o->if_running = IF_RUNNING_START;
            else if (strcmp(optarg, "attach") == 0)
                o->if_running = IF_RUNNING_ATTACH;
            else if (strcmp(optarg, "fail") == 0)
                o->if_running = IF_RUNNING_FAIL;
            else {
                rc = bad_value(err, "--if-running", optarg, "start, attach or fail");
                goto out;
            }
            break;
        case OPT_BACKUP_CONFIG:
            set_str(&o->backup_config, optarg);
            break;
        case OPT_NO_MONITOR:
            o->no_monitor = true;
            break;
        case OPT_VERBOSE:
            o->verbose = true;
            break;
        case OPT_API:
            set_str(&api, optarg);
            api_set = true;
            break;
        case OPT_CANCEL_ON_TIMEOUT:
            o->cancel_on_timeout = true;
            break;
        case OPT_CANCEL_ON_INTERRUPT:
            o->cancel_on_interrupt = true;
            break;
        case OPT_ON_WARNING:
            if (strcmp(optarg, "success") == 0)
                o->warning_is_failure = false;
            else if (strcmp(optarg, "failure") == 0)
                o->warning_is_failure = true;
            else {
                rc = bad_value(err, "--on-warning", optarg, "success or failure");
                goto out;
            }
            break;
        case OPT_REPORT_FORMAT:
            if (strcmp(optarg, "text") == 0)
                o->report_format = REPORT_TEXT;
            else if (strcmp(optarg, "json") == 0)
                o->report_format = REPORT_JSON;
            else {
                rc = bad_value(err, "--report-format", optarg, "text or json");
                goto out;
            }
            break;
        case OPT_REPORT_FILE:
            set_str(&o->report_file, optarg);
            break;
        case OPT_STORE_CONFIG:
            set_str(&o->store_config, optarg);
            break;
        case OPT_STORE_SOURCE:
            set_str(&o->store_source, optarg);
            break;
        case OPT_CA_FILE:
            set_str(&o->ca_file, optarg);
            break;
        case OPT_INSECURE:
            o->insecure = true;
            break;
        case OPT_LANG:
            if (strcmp(optarg, "en") == 0)
                o->lang = LANG_EN;
            else if (strcmp(optarg, "fr") == 0)
                o->lang = LANG_FR;
            else {
                rc = bad_value(err, "--lang", optarg, "en or fr");
                goto out;
            }
            break;
        case OPT_RETRIES: {
            int64_t n;
            if (str_to_i64(optarg, &n) < 0 || n < 0 || n > 100) {
                rc = bad_value(err, "--retries", optarg, "an integer from 0 to 100");
                goto out;
            }
            o->retries = (int)n;
            break;
        }
        case OPT_RETRY_BACKOFF:
            if ((rc = parse_duration_opt("--retry-backoff", optarg, 0.001, &o->retry_backoff,
                                         err)) < 0)
                goto out;
            break;
        case OPT_HTTP_TIMEOUT:
            if ((rc = parse_duration_opt("--http-timeout", optarg, 0.1, &o->http_timeout, err)) < 0)
                goto out;
            break;
        case OPT_HELP:
            backup_usage(stdout);
            rc = 1;
            goto out;
        case ':':
            rc = bk_err_set(err, BK_EINVAL, "%s needs a value", argv[optind - 1]);
            goto out;
        default:
            rc = bk_err_set(err, BK_EINVAL, "unknown option \"%s\"", argv[optind - 1]);
            goto out;
        }
    }
    if (optind < argc) {
        rc =
            bk_err_set(err, BK_EINVAL,
                       "unexpected argument \"%s\" (values with spaces need quotes)", argv[optind]);
        goto out;
    }

    bool url_set = o->url != NULL;
    if (!o->url && envs(env, "HYCU_URL"))
        o->url = xstrdup(envs(env, "HYCU_URL"));
    if (!api_set && envs(env, "HYCU_API"))
        api = xstrdup(envs(env, "HYCU_API"));
    if (api) {
        if (strcmp(api, "rest") == 0)
            o->api = HYCU_DIALECT_REST;
        else if (strcmp(api, "v1") == 0)
            o->api = HYCU_DIALECT_V1;
        else {
            rc = bad_value(err, api_set ? "--api" : "HYCU_API", api, "rest or v1");
            goto out;
        }
    }
    if (!auth_file && envs(env, "HYCU_AUTH_FILE"))
        auth_file = xstrdup(envs(env, "HYCU_AUTH_FILE"));

    if (!o->url) {
        rc = bk_err_set(err, BK_ECONFIG, "--url (or HYCU_URL) is required");
        goto out;
    }
    /* Credentials have options of their own; a URL is logged with --verbose and echoed in
     * errors, so what it might hide is refused here, without echoing it. */
    if (str_url_has_userinfo(o->url)) {
        rc = bk_err_set(err, BK_ECONFIG,
                        "%s must not contain credentials (user:password@): use --username with "
                        "--password-file, or --auth-token-file",
                        url_set ? "--url" : "HYCU_URL");
        goto out;
    }
    if (strpbrk(o->url, "?#")) {
        rc = bk_err_set(err, BK_ECONFIG,
                        "%s must be the controller's base URL without a query string or "
                        "fragment, e.g. https://hycu:8443",
                        url_set ? "--url" : "HYCU_URL");
        goto out;
    }
    if (!o->backup_name && !(o->uuid && o->api == HYCU_DIALECT_REST)) {
        rc = bk_err_set(err, BK_ECONFIG, "--backup-name is required");
        goto out;
    }
    if (o->backup_name && !*o->backup_name) {
        rc = bk_err_set(err, BK_ECONFIG, "--backup-name is empty");
        goto out;
    }
    if (o->api == HYCU_DIALECT_V1 && o->if_running != IF_RUNNING_START) {
        rc = bk_err_set(err, BK_ECONFIG,
                        "--if-running attach|fail needs --api rest (the v1 "
                        "contract cannot list running backups)");
        goto out;
    }

    if (o->api == HYCU_DIALECT_V1 && o->store_config) {
        rc = bk_err_set(err, BK_ECONFIG,
                        "--config needs --api rest (a v1 backup names no HYCU entity to record "
                        "the run under)");
        goto out;
    }
    if (o->store_source && !o->store_config) {
        rc = bk_err_set(err, BK_ECONFIG, "--source needs --config");
        goto out;
    }
#ifdef BK_BACKUP_ONLY
    if (o->store_config) {
        rc = bk_err_set(err, BK_ECONFIG,
                        "--config: this Windows build has no store; record the run from the "
                        "Linux build, or let the poller see it");
        goto out;
    }
#endif

    /* Credentials: command line > auth file > environment. */
    if (cli_token) {
        o->token = xstrdup(cli_token);
    } else if (cli_token_file) {
        if ((rc = secretfile_read(cli_token_file, "--auth-token-file", &o->token, NULL, err)) < 0)
            goto out;
    } else if (cli_user) {
        o->username = xstrdup(cli_user);
        if (cli_pass_file) {
            if ((rc = secretfile_read(cli_pass_file, "--password-file", &o->password, NULL, err)) <
                0)
                goto out;
        } else if (envs(env, "HYCU_PASSWORD")) {
            o->password = xstrdup(envs(env, "HYCU_PASSWORD"));
        }
    } else if (auth_file) {
        char *buf = NULL;
        size_t len = 0;
        if ((rc = secretfile_read(auth_file, "--auth-file", &buf, &len, err)) < 0)
            goto out;
        rc = auth_file_parse(buf, len, &o->token, &o->username, &o->password, err);
        free(buf);
        if (rc < 0) {
            bk_err_prefix(err, "--auth-file %s: ", auth_file);
            goto out;
        }
    } else if (envs(env, "HYCU_AUTH_TOKEN")) {
        o->token = xstrdup(envs(env, "HYCU_AUTH_TOKEN"));
    } else if (envs(env, "HYCU_AUTH_TOKEN_FILE")) {
        if ((rc = secretfile_read(envs(env, "HYCU_AUTH_TOKEN_FILE"), "HYCU_AUTH_TOKEN_FILE",
                                  &o->token, NULL, err)) < 0)
            goto out;
    } else if (envs(env, "HYCU_USERNAME")) {
        o->username = xstrdup(envs(env, "HYCU_USERNAME"));
        if (cli_pass_file) {
            if ((rc = secretfile_read(cli_pass_file, "--password-file", &o->password, NULL, err)) <
                0)
                goto out;
        } else if (envs(env, "HYCU_PASSWORD")) {
            o->password = xstrdup(envs(env, "HYCU_PASSWORD"));
        }
    }
    if (o->token)
        log_add_secret(o->token);
    if (o->password)
        log_add_secret(o->password);
    if (!o->token && !o->username) {
        rc = bk_err_set(err, BK_ECONFIG,
                        "no credentials: give --auth-token-file, --auth-file, HYCU_AUTH_TOKEN "
                        "or --username with --password-file/HYCU_PASSWORD");
        goto out;
    }
    if (o->username && !o->password) {
        rc = bk_err_set(err, BK_ECONFIG,
                        "--username %s has no password: give --password-file or HYCU_PASSWORD",
                        o->username);
        goto out;
    }
    if (o->token && strpbrk(o->token, "\r\n")) {
        rc = bk_err_set(err, BK_ECONFIG, "the API token contains a line break");
        goto out;
    }

    if (o->backup_config) {
        char *buf = NULL;
        size_t len = 0;
        if ((rc = read_json_file(o->backup_config, "--backup-config", false, &buf, &len, err)) < 0)
            goto out;
        rc = backup_config_parse(buf, len, o->api, o, err);
        free(buf);
        if (rc < 0) {
            bk_err_prefix(err, "--backup-config %s: ", o->backup_config);
            goto out;
        }
    }
out:
    free(cli_token);
    free(cli_token_file);
    free(cli_user);
    free(cli_pass_file);
    free(auth_file);
    free(api);
    return rc;
}
