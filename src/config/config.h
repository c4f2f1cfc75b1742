/* The INI configuration of DESIGN §6 (git-config style sections, parsed with inih),
 * validated into one immutable struct. Secrets are never in the file: only references
 * (`*_file` paths or `*_env` variable names) that secrets/ resolves when a source opens. */
#ifndef BK_CONFIG_CONFIG_H
#define BK_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bk_err;

enum bk_source_type { BK_SOURCE_COVE = 0, BK_SOURCE_HYCU, BK_SOURCE_PUSH, BK_SOURCE_MAIL };

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
    /* mail (issue 14): report e-mails arrive by `backupctl mail ingest` or in a Maildir that
     * serve scans every interval; the zone gives a date to body times that carry none */
    char *maildir;        /* NULL: stdin only */
    char *imap_url;       /* imaps://host[:port]/FOLDER (or imap:// with STARTTLS required); with
                             username and password_file/password_env */
    char *imap_processed; /* folder the mails move to after their commit (default Processed) */
    bool imap_xoauth2;    /* imap_auth = xoauth2: the password secret is an OAuth2 bearer token
                             (SASL XOAUTH2: Microsoft 365, Gmail) */
    /* Microsoft Graph (a Microsoft 365 mailbox, app-only): client credentials of an app
     * registration (username = its client id, password_file/env = a client secret) */
    char *graph_tenant;    /* directory (tenant) id or domain; set = this input is on */
    char *graph_mailbox;   /* the report mailbox: user principal name or id */
    char *graph_folder;    /* folder read: well-known name or id (default inbox) */
    char *graph_processed; /* folder the mails move to after their commit (default Processed,
                              made when missing) */
    char *graph_url;       /* default https://graph.microsoft.com/v1.0 */
    char *graph_token_url; /* default https://login.microsoftonline.com/TENANT/oauth2/v2.0/token */
    char *timezone;        /* NULL: server.timezone, else the system's */
    int line;              /* where the section starts, for messages */
};

/* [alert "name"] (issue 10): one or two channels (webhook, e-mail), the filters that pick the
 * incidents it tells about, the rules that keep it quiet, and an optional daily summary. */
enum bk_alert_format { BK_ALERT_JSON = 0, BK_ALERT_SLACK, BK_ALERT_TEAMS };
/* Severity order of what an alert reports (min_severity = warning | failed). */
enum bk_alert_sev { BK_SEV_WARNING = 1, BK_SEV_FAILED = 2 };

struct bk_alert_cfg {
    char *name;
    int line;
    /* webhook channel: the URL in the file, or as a secret (Slack and Teams URLs carry a token) */
    char *webhook;
    struct bk_secret_ref webhook_ref; /* webhook_file / webhook_env */
    enum bk_alert_format format;      /* format = json (default) | slack | teams */
    char **headers;                   /* header = Name: value (repeatable), sent as given */
    size_t nheaders;
    struct bk_secret_ref hmac; /* secret_file / secret_env: HMAC-SHA256 key of the signature */
    /* e-mail channel */
    char **to; /* email = a@example.com, b@example.com */
    size_t nto;
    char *smtp; /* smtp://host[:port] (STARTTLS) or smtps://host[:port]; default smtp://localhost:25
                 */
    char *from; /* From: address; NULL = backupctl@HOSTNAME */
    char *smtp_username;                /* AUTH user; with smtp_password_file / _env */
    struct bk_secret_ref smtp_password; /* smtp_password_file / smtp_password_env */
    bool tls_off;  /* tls = off: allow plain SMTP (default: STARTTLS required) */
    char *ca_file; /* webhook and SMTP: CA bundle */
    bool insecure; /* skip TLS verification (tests only) */
    /* filters: glob patterns, NULL = any */
    char *customer, *source, *job, *kind;
    enum bk_alert_sev min_severity; /* default BK_SEV_WARNING */
    /* noise rules */
    int after;          /* consecutive failed runs before an incident opens (default 1) */
    int64_t repeat_ms;  /* reminder every repeat while the incident is unreviewed; 0 = none */
    bool recovered;     /* send the "recovered" message (default yes) */
    int summary_minute; /* summary = HH:MM local time of the daily summary; -1 = none */
    bool
        summary_all; /* summary_per = all: one summary for every customer (default: per customer) */
};

/* [maintenance "name"]: a window that mutes opening incidents of what it matches. One-off
 * (start = / end = local "YYYY-MM-DD HH:MM") or recurring (cron = + duration =), in
 * timezone = or else the customer's zone. */
struct bk_maint_cfg {
    char *name;
    int line;
    char *customer, *source, *job; /* glob patterns, NULL = any */
    char *start, *end;             /* one-off, local times as written (validated) */
    char *cron;                    /* recurring: when a window opens (bk_sched_parse cron) */
    int64_t duration_ms;           /* recurring: how long it stays open */
    char *timezone;                /* NULL: the customer's zone, else the server's */
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
    char *path;    /* the file read */
    char *db_url;  /* as written */
    char *db_path; /* sqlite: resolved absolute/relative-to-config path; NULL for postgresql */
    /* postgresql: the password (never in the URL, which may be logged), and the statement
     * timeout (database.statement_timeout, default 30s) */
    struct bk_secret_ref db_password; /* database.password_file / password_env */
    int64_t db_statement_timeout_ms;
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
    struct bk_maint_cfg *maints;
    size_t nmaints;
    char
        *public_url; /* server.public_url: base of the links in alerts (e.g. https://bk.example/) */
    char *timezone;  /* server.timezone: the default zone of backup nights; NULL = the system's */
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
/* A source that is never polled: its runs arrive (push check-ins). Such a source is never
 * "down", and `poll` has nothing to do for it. */
bool bk_source_type_passive(enum bk_source_type t);
/* The first [schedule] section matching a job (NULL fields match only a "*" pattern or none),
 * or NULL. */
const struct bk_schedule_cfg *config_match_schedule(const struct bk_config *c, const char *customer,
                                                    const char *source, const char *job,
                                                    const char *kind);
/* The [customer "name"] section, or NULL. */
const struct bk_customer_cfg *config_find_customer(const struct bk_config *c, const char *name);
/* The [expected] thresholds configured for a kind, or NULL. */
const struct bk_stale_cfg *config_find_stale(const struct bk_config *c, const char *kind);
/* Does an alert section's filter take a job of this customer/source/name/kind? */
bool config_alert_matches(const struct bk_alert_cfg *a, const char *customer, const char *source,
                          const char *job, const char *kind);
/* Does a maintenance section's filter take a job (or, with job NULL, a source)? */
bool config_maint_matches(const struct bk_maint_cfg *m, const char *customer, const char *source,
                          const char *job);
/* A glob of a filter key (NULL = any) against a value (NULL = ""): the rule of every section. */
bool config_glob(const char *pattern, const char *value);
/* server.public_url without its trailing slashes followed by path ("/#/jobs/3"), allocated;
 * NULL when public_url is not set. */
char *config_public_link(const struct bk_config *cfg, const char *path);
/* Default config path: $BACKUPCTL_CONFIG, else /etc/backupctl/backupctl.conf. */
const char *config_default_path(void);

#endif
