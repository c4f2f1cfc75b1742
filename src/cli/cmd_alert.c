/* `backupctl alert test` (see cmd_alert.h): one attempt per channel, one line per channel. */
#include "cli/cmd_alert.h"

#include "alert/alert.h"
#include "config/config.h"
#include "platform/platform.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/str.h"
#include "util/xalloc.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char ALERT_USAGE[] =
    "Usage: backupctl alert test NAME [--message TEXT] [--timeout DUR] [--config F]\n"
    "\n"
    "Send a test message through every channel of [alert \"NAME\"]: the e-mail (SMTP with\n"
    "STARTTLS unless tls = off, AUTH with smtp_username) and the webhook. One attempt each,\n"
    "bounded by --timeout (default 30s); one line per channel, e.g.\n"
    "  email ops@example.com: sent (250)\n"
    "  webhook: failed: webhook answered HTTP 404\n"
    "--message adds a line of text to the message.\n"
    "Exit 0 every channel delivered, 8 a channel failed, 1 configuration or usage error.\n";

/* A random (version 4) UUID into out (>= 37 bytes). -1 when there is no randomness. */
static int new_uuid(char *out, size_t outsz)
{
    unsigned char b[16];
    if (bk_plat_random(b, sizeof b) < 0)
        return -1;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, outsz, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    return 0;
}

static char *join_to(const struct bk_alert_cfg *a)
{
    struct bk_buf b;
    bk_buf_init(&b, 1u << 20);
    for (size_t i = 0; i < a->nto; i++)
        bk_buf_printf(&b, "%s%s", i ? ", " : "", a->to[i]);
    return b.data ? bk_buf_steal(&b) : xstrdup("");
}

static void print_result(const char *channel, const struct bk_send_result *r)
{
    if (r->outcome == BK_SEND_OK && r->code > 0)
        printf("%s: sent (%ld)\n", channel, r->code);
    else if (r->outcome == BK_SEND_OK)
        printf("%s: sent\n", channel);
    else
        printf("%s: failed%s: %s\n", channel,
               r->outcome == BK_SEND_RETRY ? " (temporary, the daemon would retry)" : "", r->error);
}

static int alert_test(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"message", required_argument, NULL, 'm'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = config_default_path(), *extra = NULL;
    double timeout_s = 30;
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'm':
            extra = optarg;
            break;
        case 't':
            if (str_parse_duration(optarg, &timeout_s) < 0 || timeout_s <= 0 || timeout_s > 3600) {
                fprintf(stderr,
                        "backupctl alert test: --timeout \"%.40s\" must be a duration "
                        "up to 1h (30s, 2m)\n",
                        optarg);
                return 1;
            }
            break;
        case 'h':
            fputs(ALERT_USAGE, stdout);
            return 0;
        case ':':
            fprintf(stderr, "backupctl alert test: %s needs a value\n", argv[optind - 1]);
            return 1;
        default:
            fprintf(stderr, "backupctl alert test: unknown option \"%s\" (see --help)\n",
                    argv[optind - 1]);
            return 1;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "backupctl alert test: one alert NAME is required (see --help)\n");
        return 1;
    }
    const char *name = argv[optind];
    struct bk_config *cfg = NULL;
    struct bk_err err = {0};
    if (config_load(config, &cfg, &err) < 0) {
        fprintf(stderr, "backupctl alert test: %s\n", err.msg);
        return 1;
    }
    const struct bk_alert_cfg *a = NULL;
    for (size_t i = 0; i < cfg->nalerts && !a; i++)
        if (strcmp(cfg->alerts[i].name, name) == 0)
            a = &cfg->alerts[i];
    if (!a) {
        struct bk_buf names;
        bk_buf_init(&names, 4096);
        for (size_t i = 0; i < cfg->nalerts; i++)
            bk_buf_printf(&names, "%s%s", i ? ", " : "", cfg->alerts[i].name);
        char shown[120];
        str_escape_ctl(name, shown, sizeof shown, NULL, false);
        fprintf(stderr, "backupctl alert test: %s has no [alert \"%s\"] (defined: %s)\n", config,
                shown, names.data ? names.data : "none");
        bk_buf_free(&names);
        config_free(cfg);
        return 1;
    }
    struct bk_alert_secrets_owned sec;
    if (alert_secrets_load(a, &sec, &err) < 0) {
        fprintf(stderr, "backupctl alert test: %s\n", err.msg);
        config_free(cfg);
        return 1;
    }
    bool hook = sec.s.webhook_url != NULL;
    char uuid[40];
    if (new_uuid(uuid, sizeof uuid) < 0) {
        fprintf(stderr, "backupctl alert test: no random bytes for a message id\n");
        alert_secrets_free(&sec);
        config_free(cfg);
        return 1;
    }
    char host[256];
    if (gethostname(host, sizeof host - 1) != 0)
        snprintf(host, sizeof host, "this machine");
    host[sizeof host - 1] = 0;
    char *to = join_to(a);
    char *title = xasprintf("backupctl test alert (%s)", a->name);
    char *chans = xasprintf("%s%s%s%s", a->nto ? "e-mail to " : "", to,
                            a->nto && hook ? " and " : "", hook ? "the webhook" : "");
    char *text = xasprintf("This is a test message from backupctl on %s for [alert \"%s\"].\n"
                           "It was sent through every channel of the section: %s.\n"
                           "If you read this, the channel works; nothing needs doing.\n%s%s",
                           host, a->name, chans, extra ? "\n" : "", extra ? extra : "");
    struct bk_alert_msg m = {
        .id = uuid,
        .incident_id = uuid,
        .seq = 0,
        .event = "test",
        .status = "test",
        .title = title,
        .text = text,
        .url = cfg->public_url,
        .at_ms = bk_plat_realtime_ms(),
    };
    long timeout_ms = (long)(timeout_s * 1000);
    int code = 0;
    if (a->nto) {
        struct bk_send_result r;
        alert_mail_send(a, &sec.s, &m, timeout_ms, &r);
        char *label = xasprintf("email %s", to);
        print_result(label, &r);
        free(label);
        if (r.outcome != BK_SEND_OK)
            code = 8;
    }
    if (hook) {
        struct bk_send_result r;
        alert_webhook_send(a, &sec.s, &m, timeout_ms, &r);
        print_result("webhook", &r);
        if (r.outcome != BK_SEND_OK)
            code = 8;
    }
    free(text);
    free(chans);
    free(title);
    free(to);
    alert_secrets_free(&sec);
    config_free(cfg);
    return code;
}

int cmd_alert(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(ALERT_USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    if (strcmp(argv[1], "test") == 0)
        return alert_test(argc - 1, argv + 1);
    fprintf(stderr, "backupctl alert: unknown subcommand \"%.40s\" (test)\n", argv[1]);
    return 1;
}
