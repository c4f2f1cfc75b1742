/* `backupctl backup` options: command line, environment, --auth-file and --backup-config,
 * merged with the precedence command line > auth file > environment (DESIGN §3). */
#ifndef BK_CLI_BACKUP_OPTS_H
#define BK_CLI_BACKUP_OPTS_H

#include "providers/hycu.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

struct bk_err;

enum if_running { IF_RUNNING_START = 0, IF_RUNNING_ATTACH, IF_RUNNING_FAIL };
enum report_format { REPORT_TEXT = 0, REPORT_JSON };
enum report_lang { LANG_EN = 0, LANG_FR };

struct backup_opts {
    char *backup_name;
    unsigned kinds; /* HYCU_KIND_BIT mask; all for auto */
    char *uuid;
    char *url;
    char *token; /* resolved credential (secret) */
    char *username;
    char *password; /* resolved (secret) */
    double check_interval;
    double timeout;
    enum if_running if_running;
    char *backup_config;
    bool no_monitor;
    bool verbose;
    enum hycu_dialect api;
    bool cancel_on_timeout;
    bool cancel_on_interrupt;
    bool warning_is_failure;
    enum report_format report_format;
    char *report_file;
    char *ca_file;
    bool insecure;
    enum report_lang lang;
    int retries;
    double retry_backoff;
    double http_timeout;
    char *store_config; /* --config: record the run in backupctl's store */
    char *store_source; /* --source: that store's hycu source */
    /* From --backup-config. */
    bool force_full;
    char *target; /* HYCU backup target name or uuid */
    char *webhook;
    json_t *v1_extra; /* keys merged into the v1 trigger body (owned) */
};

/* Environment lookup seam (getenv in production, a table in tests). */
typedef const char *(*backup_getenv_fn)(const char *name);

/* Parse argv (argv[0] = "backup") + environment into o, reading the auth file, secret files
 * and the backup config. Returns 0; 1 when --help was printed; or a negative error with err
 * filled (one line, no secret) — every such error is exit code 1. Free with
 * backup_opts_free() in every case. */
int backup_opts_parse(int argc, char **argv, backup_getenv_fn env, struct backup_opts *o,
                      struct bk_err *err);
void backup_opts_free(struct backup_opts *o);
/* Parse a --backup-config document into o (exported for the fuzz target). */
int backup_config_parse(const char *buf, size_t len, enum hycu_dialect api, struct backup_opts *o,
                        struct bk_err *err);
/* Parse an --auth-file document: sets *token or *username+*password (caller frees). */
int auth_file_parse(const char *buf, size_t len, char **token, char **username, char **password,
                    struct bk_err *err);
void backup_usage(FILE *f);

#endif
