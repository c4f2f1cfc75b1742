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
/* Default config path: $BACKUPCTL_CONFIG, else /etc/backupctl/backupctl.conf. */
const char *config_default_path(void);

#endif
