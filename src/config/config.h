/* The INI configuration of DESIGN §6 (git-config style sections, parsed with inih),
 * validated into one immutable struct. Secrets are never in the file: only references
 * (`*_file` paths or `*_env` variable names) that secrets/ resolves when a source opens. */
#ifndef BK_CONFIG_CONFIG_H
#define BK_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bk_err;

enum bk_source_type { BK_SOURCE_COVE = 0, BK_SOURCE_HYCU };

/* A secret reference: exactly one of file/env is set. */
struct bk_secret_ref {
    char *file;
    char *env;
};

struct bk_source_cfg {
    char *name;
    enum bk_source_type type;
    char *url;
    char *partner;                 /* cove */
    char *username;                /* cove; hycu Basic auth */
    struct bk_secret_ref password; /* cove password/API token; hycu Basic password */
    struct bk_secret_ref token;    /* hycu API key */
    char *customer;                /* hycu: customer name (default: the source name) */
    int64_t interval_ms;           /* default 15 min */
    int page_size;                 /* default 1000 (cove), 100 (hycu) */
    int history_pages;             /* hycu: pages of GET /jobs read on a first poll (default 5) */
    bool enabled;
    char *ca_file;
    bool insecure;
    int line; /* where the section starts, for messages */
};

struct bk_alert_cfg {
    char *name;
    char *webhook;
    char *email;
    char *format; /* NULL or "slack" */
};

/* [schedule "name"]: a configured expected schedule for the jobs it matches (issue 9). The
 * match keys are glob patterns (fnmatch, NULL = any); the first section that matches a job,
 * in file order, wins. spec is what bk_sched_parse() accepts ("1d" from every =, or the cron
 * expression from cron =). */
struct bk_schedule_cfg {
    char *name;
    char *customer, *source, *job, *kind;
    char *spec;
    char *timezone;   /* NULL: the customer's zone, else the server's */
    int64_t grace_ms; /* -1: the default (2 h) */
    int line;
};

/* [customer "Name"]: per-customer settings (the customer's "backup night" zone). */
struct bk_customer_cfg {
    char *name;
    char *timezone;
    int line;
};

/* [expected] stale_warn_KIND / stale_crit_KIND: stale thresholds for a job kind. */
struct bk_stale_cfg {
    char *kind;
    int64_t warn_ms, crit_ms; /* 0: from the schedule (bk_sched_stale_defaults) */
};

struct bk_expected_cfg {
    struct bk_stale_cfg *stale;
    size_t nstale;
    int offline_warn_days;    /* default 3 */
    int offline_error_days;   /* default 7 */
    bool workstations_missed; /* default no: workstations get the offline check instead */
    double duration_factor;   /* default 3 */
    int64_t backfill_ms;      /* how far back a first evaluation looks, default 7d */
};

struct bk_config {
    char *path;     /* the file read */
    char *db_url;   /* as written */
    char *db_path;  /* sqlite: resolved absolute/relative-to-config path; NULL for postgresql */
    char *listen;   /* server.listen, default 127.0.0.1:8080 */
    char *tls_cert; /* server.tls_cert / tls_key: PEM files, both or neither */
    char *tls_key;
    bool metrics_public;         /* server.metrics_public: /metrics without credentials */
    int64_t session_ttl_ms;      /* server.session_ttl, default 12h */
    int64_t retain_poll_runs_ms; /* retention.poll_runs, default 90d */
    int64_t retain_audit_ms;     /* retention.audit, default 2y (730d) */
    int64_t retain_runs_ms;      /* retention.runs, 0 = keep forever (default) */
    struct bk_source_cfg *sources;
    size_t nsources;
    struct bk_alert_cfg *alerts;
    size_t nalerts;
    char *timezone; /* server.timezone: the default zone of backup nights; NULL = the system's */
    struct bk_schedule_cfg *schedules;
    size_t nschedules;
    struct bk_customer_cfg *customers;
    size_t ncustomers;
    struct bk_expected_cfg expected;
};

/* Load and validate path. On error returns negative with err = "file:line: message" and
 * *out NULL. Caller frees with config_free(). */
int config_load(const char *path, struct bk_config **out, struct bk_err *err);
/* Same from a string (fuzz target, tests); name labels errors; basedir resolves relative
 * sqlite paths. */
int config_parse_string(const char *text, const char *name, const char *basedir,
                        struct bk_config **out, struct bk_err *err);
void config_free(struct bk_config *c);
const struct bk_source_cfg *config_find_source(const struct bk_config *c, const char *name);
const char *bk_source_type_name(enum bk_source_type t);
/* The first [schedule] section matching a job (NULL fields match only a "*" pattern or none),
 * or NULL. */
const struct bk_schedule_cfg *config_match_schedule(const struct bk_config *c, const char *customer,
                                                    const char *source, const char *job,
                                                    const char *kind);
/* The [customer "name"] section, or NULL. */
const struct bk_customer_cfg *config_find_customer(const struct bk_config *c, const char *name);
/* The [expected] thresholds configured for a kind, or NULL. */
const struct bk_stale_cfg *config_find_stale(const struct bk_config *c, const char *kind);
/* Default config path: $BACKUPCTL_CONFIG, else /etc/backupctl/backupctl.conf. */
const char *config_default_path(void);

#endif
