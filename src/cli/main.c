/* backupctl entry point: a const table of subcommands (tmux's cmd table). Only main
 * calls exit paths; every command returns its exit code. */
#include "cli/cmd_backup.h"
#include "platform/platform.h"
#include "util/log.h"
#ifndef BK_BACKUP_ONLY
#include "cli/cmd_alert.h"
#include "cli/cmd_db.h"
#include "cli/cmd_mail.h"
#include "cli/cmd_monitor.h"
#include "cli/cmd_push.h"
#include "cli/cmd_users.h"
#include "daemon/daemon.h"
#endif

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

static const struct command commands[] = {
    {"backup", cmd_backup, "trigger and monitor one HYCU backup (for job schedulers)"},
#ifndef BK_BACKUP_ONLY /* the Windows build (cmake/windows.cmake): backup only */
    {"poll", cmd_poll, "poll the configured sources (Cove, HYCU) into the store"},
    {"serve", daemon_serve, "daemon: scheduled polling, the web UI, JSON API, /metrics"},
    {"status", cmd_status, "latest status of every job in the store"},
    {"check", cmd_check, "Nagios/Icinga plugin: OK, WARNING, CRITICAL or UNKNOWN"},
    {"config", cmd_config, "validate the configuration file (config check)"},
    {"user", cmd_user, "web users: add, passwd, del, list"},
    {"token", cmd_token, "API tokens: add, list, revoke"},
    {"job", cmd_job, "push jobs: add (prints the job's ping URL)"},
    {"ping", cmd_ping, "report a run of a push job, or wrap a command and report it"},
    {"alert", cmd_alert, "alerts: test NAME sends a test message through every channel"},
    {"mail", cmd_mail, "report e-mails: ingest one from stdin into a mail source"},
    {"db", cmd_db, "database: copy an installation between SQLite and PostgreSQL"},
#endif
    {"help", cmd_help, "show help for a command"},
    {"version", cmd_version, "print the version"},
};

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void usage(FILE *f)
{
    fputs("Usage: backupctl COMMAND [options]\n\nCommands:\n", f);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
#ifdef BK_BACKUP_ONLY
    fputs("\nThis Windows build runs backups only: the monitoring side (poll, serve, status,\n"
          "check, config, user, token) is in the Linux build.\n",
          f);
#else
    fputs("\nThe configuration file is --config F, else $BACKUPCTL_CONFIG, else\n"
          "/etc/backupctl/backupctl.conf.\n",
          f);
#endif
    fputs("Run 'backupctl COMMAND --help' for a command's options and exit codes.\n", f);
}

static int cmd_version(int argc, char **argv)
{
    printf("backupctl %s\n", BK_VERSION);
    return 0;
}

static int cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        usage(stdout);
        return 0;
    }
    const struct command *c = find_command(argv[1]);
    if (!c || c->run == cmd_help) {
        fprintf(stderr, "backupctl: unknown command \"%s\" (see 'backupctl help')\n", argv[1]);
        return 1;
    }
    char *hargv[] = {argv[1], (char *)"--help", NULL};
    return c->run(2, hargv);
}

static int run(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
        return cmd_version(0, NULL);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    const struct command *c = find_command(argv[1]);
    if (!c) {
        fprintf(stderr, "backupctl: unknown command \"%s\" (see 'backupctl help')\n", argv[1]);
        return 1;
    }
    /* libcurl is initialised only by commands that talk HTTP's first handle (lazily by
     * curl_easy_init); global init here keeps it out of any thread. */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int code = c->run(argc - 1, argv + 1);
    curl_global_cleanup();
    log_clear_secrets();
    return code;
}

int main(int argc, char **argv)
{
    bk_plat_init(&argc, &argv); /* Windows: UTF-8 argv and console */
    int code = run(argc, argv);
    bk_plat_exit();
    return code;
}
