/* Config parsing. inih calls the handler per key; the handler fills a draft struct and on the
 * first error records a message and returns 0, which makes ini_parse return that line number
 * — that is how every error gets its file:line. Validation that needs the whole file (required
 * keys, duplicate sources) runs afterwards and names the section's line. */
#include "config/config.h"
#include "config/config_int.h"

#include "core/schedule.h"
#include "core/tzfile.h"
#include "util/err.h"
#include "util/str.h"
#include "util/xalloc.h"

#include <fnmatch.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct draft {
    struct bk_config *c;
    char msg[400];
    int line; /* line counter maintained by our own reader */
    enum {
        SEC_NONE,
        SEC_DATABASE,
        SEC_SERVER,
        SEC_RETENTION,
        SEC_SOURCE,
        SEC_ALERT,
        SEC_SCHEDULE,
        SEC_CUSTOMER,
        SEC_EXPECTED,
        SEC_MAINT,
        SEC_BAD
    } sec;
    char *cur_section;   /* raw section name of the last section seen */
    bool new_section;    /* the reader saw a [section] line since the last key */
    int section_line;    /* line of the last [section] header */
    int bad_header_line; /* first "[name" line without "]" (inih reports only its number) */
    char bad_header[200];
    const char *basedir;
};

static void secret_ref_free(struct bk_secret_ref *r)
{
    free(r->file);
    free(r->env);
}

void config_free(struct bk_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nsources; i++) {
        struct bk_source_cfg *s = &c->sources[i];
        free(s->name);
        free(s->url);
        free(s->partner);
        free(s->username);
        secret_ref_free(&s->password);
        secret_ref_free(&s->token);
        free(s->customer);
        free(s->ca_file);
        free(s->maildir);
        free(s->timezone);
        free(s->imap_url);
        free(s->imap_processed);
        free(s->graph_tenant);
        free(s->graph_mailbox);
        free(s->graph_folder);
        free(s->graph_processed);
        free(s->graph_url);
        free(s->graph_token_url);
    }
    free(c->sources);
    cfg_alerts_free(c);
    for (size_t i = 0; i < c->nschedules; i++) {
        struct bk_schedule_cfg *sc = &c->schedules[i];
        free(sc->name);
        free(sc->customer);
        free(sc->source);
        free(sc->job);
        free(sc->kind);
        free(sc->spec);
        free(sc->timezone);
    }
    free(c->schedules);
    for (size_t i = 0; i < c->ncustomers; i++) {
        free(c->customers[i].name);
        free(c->customers[i].timezone);
    }
    free(c->customers);
    for (size_t i = 0; i < c->expected.nstale; i++)
        free(c->expected.stale[i].kind);
    free(c->expected.stale);
    free(c->timezone);
    free(c->public_url);
    free(c->path);
    free(c->db_url);
    free(c->db_path);
    free(c->db_password.file);
    free(c->db_password.env);
    free(c->listen);
    free(c->tls_cert);
    free(c->tls_key);
    free(c);
}

const char *bk_source_type_name(enum bk_source_type t)
{
    return t == BK_SOURCE_HYCU   ? "hycu"
           : t == BK_SOURCE_PUSH ? "push"
           : t == BK_SOURCE_MAIL ? "mail"
                                 : "cove";
}

bool bk_source_type_passive(enum bk_source_type t)
{
    return t == BK_SOURCE_PUSH || t == BK_SOURCE_MAIL; /* mail: serve scans its Maildir */
}

const char *config_default_path(void)
{
    const char *e = getenv("BACKUPCTL_CONFIG");
    return e && *e ? e : "/etc/backupctl/backupctl.conf";
}

const struct bk_source_cfg *config_find_source(const struct bk_config *c, const char *name)
{
    for (size_t i = 0; i < c->nsources; i++)
        if (strcmp(c->sources[i].name, name) == 0)
            return &c->sources[i];
    return NULL;
}

static bool glob_match(const char *pat, const char *v)
{
    if (!pat)
        return true;
    return fnmatch(pat, v ? v : "", 0) == 0;
}

const struct bk_schedule_cfg *config_match_schedule(const struct bk_config *c, const char *customer,
                                                    const char *source, const char *job,
                                                    const char *kind)
{
    for (size_t i = 0; i < c->nschedules; i++) {
        const struct bk_schedule_cfg *sc = &c->schedules[i];
        if (glob_match(sc->customer, customer) && glob_match(sc->source, source) &&
            glob_match(sc->job, job) && glob_match(sc->kind, kind))
            return sc;
    }
    return NULL;
}

const struct bk_customer_cfg *config_find_customer(const struct bk_config *c, const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < c->ncustomers; i++)
        if (strcmp(c->customers[i].name, name) == 0)
            return &c->customers[i];
    return NULL;
}

const struct bk_stale_cfg *config_find_stale(const struct bk_config *c, const char *kind)
{
    if (!kind)
        return NULL;
    for (size_t i = 0; i < c->expected.nstale; i++)
        if (strcmp(c->expected.stale[i].kind, kind) == 0)
            return &c->expected.stale[i];
    return NULL;
}

static int fail(struct draft *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct draft *d, const char *fmt, ...)
{
    if (!d->msg[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->msg, sizeof d->msg, fmt, ap);
        va_end(ap);
    }
    return 0;
}

/* `source "name"` → name; NULL if the section is not of that form. */
static char *quoted_name(const char *section, const char *kind)
{
    size_t kl = strlen(kind);
    if (strncmp(section, kind, kl) != 0 || section[kl] != ' ')
        return NULL;
    const char *p = section + kl + 1;
    while (*p == ' ')
        p++;
    size_t n = strlen(p);
    if (n < 3 || p[0] != '"' || p[n - 1] != '"')
        return NULL;
    char *name = xstrndup(p + 1, n - 2);
    if (!*name || strpbrk(name, "\"\\/\n")) {
        free(name);
        return NULL;
    }
    return name;
}

bool cfg_valid_url(const char *v)
{
    return (str_starts_with(v, "https://") || str_starts_with(v, "http://")) && strlen(v) > 8 &&
           !strpbrk(v, " \t");
}

static bool valid_env_name(const char *v)
{
    if (!*v)
        return false;
    for (const char *p = v; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return false;
    return !(v[0] >= '0' && v[0] <= '9');
}

int cfg_secret(struct bk_secret_ref *r, const char *base, const char *key, const char *value,
               char *msg, size_t n)
{
    size_t bl = strlen(base);
    const char *sfx = key + bl;
    if (strcmp(sfx, "") == 0)
        snprintf(msg, n, "\"%s\" must not hold the secret itself: use %s_file or %s_env", key, base,
                 base);
    else if (strcmp(sfx, "_file") != 0 && strcmp(sfx, "_env") != 0)
        snprintf(msg, n, "unknown key \"%.60s\" (%s_file or %s_env)", key, base, base);
    else if (r->file || r->env)
        snprintf(msg, n, "%s given twice (%s_file and %s_env are exclusive)", base, base, base);
    else if (!*value)
        snprintf(msg, n, "%s is empty", key);
    else if (strcmp(sfx, "_file") == 0)
        r->file = xstrdup(value);
    else if (!valid_env_name(value))
        snprintf(msg, n, "%s: \"%.60s\" is not an environment variable name", key, value);
    else
        r->env = xstrdup(value);
    return r->file || r->env ? 1 : 0;
}

static int set_secret(struct draft *d, struct bk_secret_ref *r, const char *base, const char *key,
                      const char *value)
{
    char msg[sizeof d->msg] = "";
    if (cfg_secret(r, base, key, value, msg, sizeof msg))
        return 1;
    return fail(d, "%s", msg);
}

static int check_zone(struct draft *d, const char *key, const char *value);

static int parse_source_key(struct draft *d, struct bk_source_cfg *s, const char *key,
                            const char *value)
{
    if (strcmp(key, "type") == 0) {
        if (strcmp(value, "cove") == 0)
            s->type = BK_SOURCE_COVE;
        else if (strcmp(value, "hycu") == 0)
            s->type = BK_SOURCE_HYCU;
        else if (strcmp(value, "push") == 0)
            s->type = BK_SOURCE_PUSH;
        else if (strcmp(value, "mail") == 0)
            s->type = BK_SOURCE_MAIL;
        else
            return fail(d, "type must be cove, hycu, push or mail, not \"%s\"", value);
    } else if (strcmp(key, "url") == 0) {
        if (!cfg_valid_url(value)) {
            /* echo it without what a URL may hide: user-info and the query string */
            if (str_url_has_userinfo(value))
                return fail(d, "url is not an http(s) URL");
            return fail(d, "url \"%.*s%s\" is not an http(s) URL", (int)strcspn(value, "?#"), value,
                        strpbrk(value, "?#") ? "?***" : "");
        }
        if (str_url_has_userinfo(value))
            return fail(d, "url must not contain credentials (user:password@): use username "
                           "with password_file/password_env, or token_file/token_env");
        free(s->url);
        s->url = xstrdup(value);
    } else if (strcmp(key, "partner") == 0) {
        free(s->partner);
        s->partner = xstrdup(value);
    } else if (strcmp(key, "username") == 0) {
        free(s->username);
        s->username = xstrdup(value);
    } else if (str_starts_with(key, "password")) {
        return set_secret(d, &s->password, "password", key, value);
    } else if (str_starts_with(key, "token")) {
        return set_secret(d, &s->token, "token", key, value);
    } else if (strcmp(key, "customer") == 0) {
        if (!*value)
            return fail(d, "customer is empty");
        free(s->customer);
        s->customer = xstrdup(value);
    } else if (strcmp(key, "interval") == 0) {
        double sec;
        if (str_parse_duration(value, &sec) < 0 || sec < 10)
            return fail(d, "interval \"%s\" is not a duration of at least 10s (e.g. 15m)", value);
        s->interval_ms = (int64_t)(sec * 1000);
    } else if (strcmp(key, "page_size") == 0 || strcmp(key, "history_pages") == 0) {
        int64_t n;
        bool ps = strcmp(key, "page_size") == 0;
        if (str_to_i64(value, &n) < 0 || n < 1 || n > (ps ? 10000 : 1000))
            return fail(d, "%s \"%s\" must be an integer from 1 to %d", key, value,
                        ps ? 10000 : 1000);
        if (ps)
            s->page_size = (int)n;
        else
            s->history_pages = (int)n;
    } else if (strcmp(key, "enabled") == 0 || strcmp(key, "insecure") == 0) {
        bool b;
        if (str_parse_bool(value, &b) < 0 || !*value)
            return fail(d, "%s must be yes or no, not \"%s\"", key, value);
        if (strcmp(key, "enabled") == 0)
            s->enabled = b;
        else
            s->insecure = b;
    } else if (strcmp(key, "ca_file") == 0) {
        free(s->ca_file);
        s->ca_file = xstrdup(value);
    } else if (strcmp(key, "maildir") == 0) {
        if (!*value)
            return fail(d, "maildir is empty");
        free(s->maildir);
        s->maildir =
            value[0] == '/' || !d->basedir ? xstrdup(value) : xasprintf("%s/%s", d->basedir, value);
    } else if (strcmp(key, "imap_url") == 0) {
        if (!(str_starts_with(value, "imaps://") || str_starts_with(value, "imap://")) ||
            str_url_has_userinfo(value) || !strchr(value + 7, '/') || strpbrk(value, " \"\r\n"))
            return fail(d, "imap_url must be imaps://HOST[:PORT]/FOLDER (or imap:// with "
                           "STARTTLS), without credentials");
        free(s->imap_url);
        s->imap_url = xstrdup(value);
    } else if (strcmp(key, "imap_auth") == 0) {
        if (strcmp(value, "password") != 0 && strcmp(value, "xoauth2") != 0)
            return fail(d, "imap_auth must be password or xoauth2, not \"%s\"", value);
        s->imap_xoauth2 = strcmp(value, "xoauth2") == 0;
    } else if (strcmp(key, "imap_processed") == 0) {
        if (!*value || strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                     "0123456789._/-") != strlen(value))
            return fail(d, "imap_processed must be a folder name of letters, digits, . _ / -");
        free(s->imap_processed);
        s->imap_processed = xstrdup(value);
    } else if (strcmp(key, "graph_tenant") == 0 || strcmp(key, "graph_mailbox") == 0 ||
               strcmp(key, "graph_folder") == 0 || strcmp(key, "graph_processed") == 0) {
        /* these go into URL paths and OData filters: no character that would need quoting */
        if (!*value || strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                     "0123456789._@+-=") != strlen(value))
            return fail(d, "%s must be letters, digits and . _ @ + - = only", key);
        char **f = strcmp(key, "graph_tenant") == 0    ? &s->graph_tenant
                   : strcmp(key, "graph_mailbox") == 0 ? &s->graph_mailbox
                   : strcmp(key, "graph_folder") == 0  ? &s->graph_folder
                                                       : &s->graph_processed;
        free(*f);
        *f = xstrdup(value);
    } else if (strcmp(key, "graph_url") == 0 || strcmp(key, "graph_token_url") == 0) {
        if (!(str_starts_with(value, "https://") || str_starts_with(value, "http://")) ||
            str_url_has_userinfo(value) || strpbrk(value, " \"\r\n?#"))
            return fail(d, "%s must be an http(s) URL without credentials or query", key);
        char **f = strcmp(key, "graph_url") == 0 ? &s->graph_url : &s->graph_token_url;
        free(*f);
        *f = xstrdup(value);
    } else if (strcmp(key, "timezone") == 0) {
        if (!check_zone(d, key, value))
            return 0;
        free(s->timezone);
        s->timezone = xstrdup(value);
    } else {
        return fail(d, "unknown key \"%s\" in a source section", key);
    }
    return 1;
}

/* A zone name the core can load (validated at load time, so `config check` catches it). */
static int check_zone(struct draft *d, const char *key, const char *value)
{
    struct bk_tz *tz = NULL;
    struct bk_err e = {0};
    if (!*value)
        return fail(d, "%s is empty", key);
    if (bk_tz_load(value, &tz, &e) < 0)
        return fail(d, "%s \"%.60s\" is not a known time zone (e.g. Europe/Paris)", key, value);
    bk_tz_free(tz);
    return 1;
}

static int parse_schedule_key(struct draft *d, struct bk_schedule_cfg *sc, const char *key,
                              const char *value)
{
    char **dst = strcmp(key, "customer") == 0 ? &sc->customer
                 : strcmp(key, "source") == 0 ? &sc->source
                 : strcmp(key, "job") == 0    ? &sc->job
                 : strcmp(key, "kind") == 0   ? &sc->kind
                                              : NULL;
    if (dst) {
        if (!*value)
            return fail(d, "%s is empty (leave it out to match any)", key);
        free(*dst);
        *dst = xstrdup(value);
        return 1;
    }
    if (strcmp(key, "every") == 0 || strcmp(key, "cron") == 0) {
        bool every = key[0] == 'e';
        if (sc->spec)
            return fail(d, "schedule \"%s\": every and cron given twice (one of them)", sc->name);
        struct bk_schedule tmp;
        struct bk_err e = {0};
        bool has_blank = strpbrk(value, " \t") != NULL || value[0] == '@';
        if (every && has_blank)
            return fail(d, "every \"%.60s\" is not a duration (e.g. 1d, 12h)", value);
        if (!every && !has_blank)
            return fail(d, "cron \"%.60s\" is not a cron expression (e.g. 0 22 * * *)", value);
        if (bk_sched_parse(value, -1, &tmp, &e) < 0)
            return fail(d, "%s: %s", key, e.msg);
        sc->spec = xstrdup(value);
        return 1;
    }
    if (strcmp(key, "timezone") == 0) {
        if (!check_zone(d, key, value))
            return 0;
        free(sc->timezone);
        sc->timezone = xstrdup(value);
        return 1;
    }
    if (strcmp(key, "grace") == 0) {
        double sec;
        if (str_parse_duration(value, &sec) < 0 || sec < 0 || sec > 7 * 86400.0)
            return fail(d, "grace \"%s\" must be a duration from 0 to 7d (e.g. 2h)", value);
        sc->grace_ms = (int64_t)(sec * 1000);
        return 1;
    }
    return fail(d,
                "unknown key \"%s\" in a schedule section (customer, source, job, kind, "
                "every, cron, timezone, grace)",
                key);
}

static int parse_days(struct draft *d, const char *key, const char *value, int *out)
{
    double sec;
    if (str_parse_duration(value, &sec) < 0 || sec < 86400 || sec > 366 * 86400.0)
        return fail(d, "%s \"%s\" must be a duration of whole days from 1d to 366d", key, value);
    *out = (int)(sec / 86400);
    return 1;
}

static int parse_expected_key(struct draft *d, struct bk_expected_cfg *x, const char *key,
                              const char *value)
{
    if (str_starts_with(key, "stale_warn_") || str_starts_with(key, "stale_crit_")) {
        const char *kind = key + strlen("stale_warn_");
        if (!*kind)
            return fail(d, "%s names no job kind (e.g. stale_warn_server)", key);
        double sec;
        if (str_parse_duration(value, &sec) < 0 || sec < 60)
            return fail(d, "%s \"%s\" must be a duration of at least 1m (e.g. 26h)", key, value);
        struct bk_stale_cfg *st = NULL;
        for (size_t i = 0; i < x->nstale; i++)
            if (strcmp(x->stale[i].kind, kind) == 0)
                st = &x->stale[i];
        if (!st) {
            x->stale = xrealloc(x->stale, (x->nstale + 1) * sizeof *x->stale);
            st = &x->stale[x->nstale++];
            memset(st, 0, sizeof *st);
            st->kind = xstrdup(kind);
        }
        if (key[6] == 'w')
            st->warn_ms = (int64_t)(sec * 1000);
        else
            st->crit_ms = (int64_t)(sec * 1000);
        if (st->warn_ms && st->crit_ms && st->crit_ms < st->warn_ms)
            return fail(d, "stale_crit_%s must not be shorter than stale_warn_%s", kind, kind);
        return 1;
    }
    if (strcmp(key, "offline_warn") == 0)
        return parse_days(d, key, value, &x->offline_warn_days);
    if (strcmp(key, "offline_error") == 0)
        return parse_days(d, key, value, &x->offline_error_days);
    if (strcmp(key, "workstations_missed") == 0) {
        bool b;
        if (str_parse_bool(value, &b) < 0 || !*value)
            return fail(d, "workstations_missed must be yes or no, not \"%s\"", value);
        x->workstations_missed = b;
        return 1;
    }
    if (strcmp(key, "duration_factor") == 0) {
        char *end = NULL;
        double f = strtod(value, &end);
        if (!*value || !end || *end || !(f > 1.0 && f <= 100.0))
            return fail(d, "duration_factor \"%s\" must be a number above 1 (e.g. 3)", value);
        x->duration_factor = f;
        return 1;
    }
    if (strcmp(key, "backfill") == 0) {
        double sec;
        if (str_parse_duration(value, &sec) < 0 || sec < 0 || sec > 35 * 86400.0)
            return fail(d, "backfill \"%s\" must be a duration from 0 to 35d", value);
        x->backfill_ms = (int64_t)(sec * 1000);
        return 1;
    }
    return fail(d,
                "unknown key \"%s\" in [expected] (stale_warn_KIND, stale_crit_KIND, "
                "offline_warn, offline_error, workstations_missed, duration_factor, backfill)",
                key);
}

static int handler(void *ud, const char *section, const char *key, const char *value)
{
    struct draft *d = ud;
    struct bk_config *c = d->c;
    if (!d->cur_section || d->new_section || strcmp(d->cur_section, section) != 0) {
        d->new_section = false;
        /* A new section begins (inih reports keys only, so sections are seen here). */
        free(d->cur_section);
        d->cur_section = xstrdup(section);
        char *name;
        if (strcmp(section, "database") == 0) {
            d->sec = SEC_DATABASE;
        } else if (strcmp(section, "server") == 0) {
            d->sec = SEC_SERVER;
        } else if (strcmp(section, "retention") == 0) {
            d->sec = SEC_RETENTION;
        } else if ((name = quoted_name(section, "source")) != NULL) {
            for (size_t i = 0; i < c->nsources; i++)
                if (strcmp(c->sources[i].name, name) == 0) {
                    free(name);
                    return fail(d, "source \"%s\" is defined twice", c->sources[i].name);
                }
            c->sources = xrealloc(c->sources, (c->nsources + 1) * sizeof *c->sources);
            struct bk_source_cfg *s = &c->sources[c->nsources++];
            memset(s, 0, sizeof *s);
            s->name = name;
            s->type = (enum bk_source_type) - 1;
            s->interval_ms = 15 * 60 * 1000;
            s->page_size = 0; /* the type's default, set once the whole section is read */
            s->history_pages = 5;
            s->enabled = true;
            s->line = d->section_line;
            d->sec = SEC_SOURCE;
        } else if ((name = quoted_name(section, "alert")) != NULL) {
            for (size_t i = 0; i < c->nalerts; i++)
                if (strcmp(c->alerts[i].name, name) == 0) {
                    free(name);
                    return fail(d, "alert \"%s\" is defined twice", c->alerts[i].name);
                }
            c->alerts = xrealloc(c->alerts, (c->nalerts + 1) * sizeof *c->alerts);
            struct bk_alert_cfg *a = &c->alerts[c->nalerts++];
            memset(a, 0, sizeof *a);
            a->name = name;
            a->line = d->section_line;
            a->min_severity = BK_SEV_WARNING;
            a->after = 1;
            a->recovered = true;
            a->summary_minute = -1;
            d->sec = SEC_ALERT;
        } else if ((name = quoted_name(section, "maintenance")) != NULL) {
            for (size_t i = 0; i < c->nmaints; i++)
                if (strcmp(c->maints[i].name, name) == 0) {
                    free(name);
                    return fail(d, "maintenance \"%s\" is defined twice", c->maints[i].name);
                }
            c->maints = xrealloc(c->maints, (c->nmaints + 1) * sizeof *c->maints);
            struct bk_maint_cfg *m = &c->maints[c->nmaints++];
            memset(m, 0, sizeof *m);
            m->name = name;
            m->line = d->section_line;
            d->sec = SEC_MAINT;
        } else if ((name = quoted_name(section, "schedule")) != NULL) {
            for (size_t i = 0; i < c->nschedules; i++)
                if (strcmp(c->schedules[i].name, name) == 0) {
                    free(name);
                    return fail(d, "schedule \"%s\" is defined twice", c->schedules[i].name);
                }
            c->schedules = xrealloc(c->schedules, (c->nschedules + 1) * sizeof *c->schedules);
            struct bk_schedule_cfg *sc = &c->schedules[c->nschedules++];
            memset(sc, 0, sizeof *sc);
            sc->name = name;
            sc->grace_ms = -1;
            sc->line = d->section_line;
            d->sec = SEC_SCHEDULE;
        } else if ((name = quoted_name(section, "customer")) != NULL) {
            for (size_t i = 0; i < c->ncustomers; i++)
                if (strcmp(c->customers[i].name, name) == 0) {
                    free(name);
                    return fail(d, "customer \"%s\" is defined twice", c->customers[i].name);
                }
            c->customers = xrealloc(c->customers, (c->ncustomers + 1) * sizeof *c->customers);
            struct bk_customer_cfg *cu = &c->customers[c->ncustomers++];
            memset(cu, 0, sizeof *cu);
            cu->name = name;
            cu->line = d->section_line;
            d->sec = SEC_CUSTOMER;
        } else if (strcmp(section, "expected") == 0) {
            d->sec = SEC_EXPECTED;
        } else {
            d->sec = SEC_BAD;
            return fail(d,
                        "unknown section [%s] (expected database, server, retention, expected, "
                        "source \"NAME\", alert \"NAME\", schedule \"NAME\", maintenance "
                        "\"NAME\" or customer \"NAME\")",
                        section);
        }
    }
    switch (d->sec) {
    case SEC_DATABASE:
        if (strcmp(key, "password_file") == 0 || strcmp(key, "password_env") == 0) {
            char **slot = key[9] == 'f' ? &c->db_password.file : &c->db_password.env;
            free(*slot);
            *slot = key[9] == 'f' && value[0] != '/' && d->basedir
                        ? xasprintf("%s/%s", d->basedir, value)
                        : xstrdup(value);
            return 1;
        }
        if (strcmp(key, "statement_timeout") == 0) {
            double sec;
            if (str_parse_duration(value, &sec) < 0 || sec < 1 || sec > 86400)
                return fail(d, "statement_timeout \"%s\" must be a duration from 1s to 1d", value);
            c->db_statement_timeout_ms = (int64_t)(sec * 1000);
            return 1;
        }
        if (strcmp(key, "url") != 0)
            return fail(d,
                        "unknown key \"%s\" in [database] (url, password_file, password_env, "
                        "statement_timeout)",
                        key);
        free(c->db_url);
        c->db_url = xstrdup(value);
        if (str_starts_with(value, "sqlite://")) {
            const char *p = value + strlen("sqlite://");
            if (!*p)
                return fail(d, "database url \"%s\" has no path", value);
            free(c->db_path);
            c->db_path =
                p[0] == '/' || !d->basedir ? xstrdup(p) : xasprintf("%s/%s", d->basedir, p);
        } else if (str_starts_with(value, "postgresql://") ||
                   str_starts_with(value, "postgres://")) {
            free(c->db_path);
            c->db_path = NULL;
            /* The URL is logged and shown; a password belongs in password_file/_env. Say
             * where, never what. */
            const char *auth = value + strcspn(value, ":") + 3;
            size_t hostpart = strcspn(auth, "/?");
            const char *at = memchr(auth, '@', hostpart);
            if ((at && memchr(auth, ':', (size_t)(at - auth))) || strstr(value, "password=")) {
                free(c->db_url);
                c->db_url = NULL;
                return fail(d, "database url holds a password; put it in password_file or "
                               "password_env under [database]");
            }
        } else {
            return fail(d, "database url must start with sqlite:// or postgresql://");
        }
        return 1;
    case SEC_SERVER:
        if (strcmp(key, "listen") == 0) {
            if (!strchr(value, ':'))
                return fail(d, "listen \"%s\" must be HOST:PORT", value);
            free(c->listen);
            c->listen = xstrdup(value);
        } else if (strcmp(key, "tls_cert") == 0 || strcmp(key, "tls_key") == 0) {
            char **dst = key[4] == 'c' ? &c->tls_cert : &c->tls_key;
            free(*dst);
            *dst = xstrdup(value);
        } else if (strcmp(key, "metrics_public") == 0) {
            bool b;
            if (str_parse_bool(value, &b) < 0 || !*value)
                return fail(d, "metrics_public must be yes or no, not \"%s\"", value);
            c->metrics_public = b;
        } else if (strcmp(key, "session_ttl") == 0) {
            double sec;
            if (str_parse_duration(value, &sec) < 0 || sec < 60)
                return fail(d, "session_ttl \"%s\" must be a duration of at least 1m", value);
            c->session_ttl_ms = (int64_t)(sec * 1000);
        } else if (strcmp(key, "timezone") == 0) {
            if (!check_zone(d, key, value))
                return 0;
            free(c->timezone);
            c->timezone = xstrdup(value);
        } else if (strcmp(key, "public_url") == 0) {
            if (!cfg_valid_url(value) || str_url_has_userinfo(value) || strpbrk(value, "?#"))
                return fail(d, "public_url must be an http(s) URL without credentials or query "
                               "(e.g. https://backups.example/)");
            free(c->public_url);
            c->public_url = xstrdup(value);
        } else {
            return fail(d, "unknown key \"%s\" in [server]", key);
        }
        return 1;
    case SEC_RETENTION: {
        int64_t *dst = strcmp(key, "poll_runs") == 0 ? &c->retain_poll_runs_ms
                       : strcmp(key, "audit") == 0   ? &c->retain_audit_ms
                       : strcmp(key, "runs") == 0    ? &c->retain_runs_ms
                                                     : NULL;
        if (!dst)
            return fail(d, "unknown key \"%s\" in [retention] (poll_runs, audit, runs)", key);
        double sec;
        if (strcmp(value, "forever") == 0 || strcmp(value, "0") == 0)
            sec = 0;
        else if (str_parse_duration(value, &sec) < 0 || sec < 86400)
            return fail(d, "%s \"%s\" must be a duration of at least 1d, or forever", key, value);
        *dst = (int64_t)(sec * 1000);
        return 1;
    }
    case SEC_SOURCE:
        return parse_source_key(d, &c->sources[c->nsources - 1], key, value);
    case SEC_ALERT:
    case SEC_MAINT: {
        char msg[sizeof d->msg] = "";
        if (d->sec == SEC_ALERT
                ? cfg_alert_key(&c->alerts[c->nalerts - 1], key, value, msg, sizeof msg)
                : cfg_maint_key(&c->maints[c->nmaints - 1], key, value, msg, sizeof msg))
            return 1;
        return fail(d, "%s", msg);
    }
    case SEC_SCHEDULE:
        return parse_schedule_key(d, &c->schedules[c->nschedules - 1], key, value);
    case SEC_CUSTOMER: {
        struct bk_customer_cfg *cu = &c->customers[c->ncustomers - 1];
        if (strcmp(key, "timezone") != 0)
            return fail(d, "unknown key \"%s\" in a customer section (timezone)", key);
        if (!check_zone(d, key, value))
            return 0;
        free(cu->timezone);
        cu->timezone = xstrdup(value);
        return 1;
    }
    case SEC_EXPECTED:
        return parse_expected_key(d, &c->expected, key, value);
    default:
        return fail(d, "key \"%s\" outside a section", key);
    }
}

/* inih's string reader does not tell the handler the line number; we track it by counting
 * the lines consumed, using ini_parse_stream with a reader that counts. */
struct reader {
    const char *p;
    struct draft *d;
};

static char *read_line(char *str, int num, void *stream)
{
    struct reader *r = stream;
    if (!*r->p || num < 2)
        return NULL;
    int i = 0;
    while (i < num - 1 && r->p[i] && r->p[i] != '\n')
        i++;
    if (r->p[i] == '\n' && i < num - 1)
        i++;
    memcpy(str, r->p, (size_t)i);
    str[i] = '\0';
    r->p += i;
    r->d->line++; /* 1-based number of the line just read */
    /* inih reports keys, not sections: note section lines so that a repeated section name
     * ("[source "a"]" twice) is seen as a new section. */
    const char *t = str;
    while (*t == ' ' || *t == '\t')
        t++;
    if (*t == '[') {
        r->d->new_section = true;
        r->d->section_line = r->d->line;
        /* inih flags "[name" without "]" by line number only, and the keys that follow would
         * be blamed on the previous section: name the malformed line itself. */
        size_t n = strcspn(t, "]\r\n");
        if (t[n] != ']' && !r->d->bad_header_line) {
            r->d->bad_header_line = r->d->line;
            snprintf(r->d->bad_header, sizeof r->d->bad_header,
                     "section header \"%.*s\" has no closing \"]\"", (int)(n > 60 ? 60 : n), t);
        }
    }
    return str;
}

static int validate(struct draft *d, const char *name, struct bk_err *err)
{
    struct bk_config *c = d->c;
    if (!c->db_url) {
        c->db_url = xstrdup("sqlite://backupctl.db");
        c->db_path =
            d->basedir ? xasprintf("%s/backupctl.db", d->basedir) : xstrdup("backupctl.db");
    }
    if (!c->listen)
        c->listen = xstrdup("127.0.0.1:8080");
    if ((c->tls_cert == NULL) != (c->tls_key == NULL))
        return bk_err_set(err, BK_ECONFIG, "%s: [server] tls_cert and tls_key go together", name);
    if (!c->session_ttl_ms)
        c->session_ttl_ms = 12 * 3600 * 1000LL;
    if (!c->db_statement_timeout_ms)
        c->db_statement_timeout_ms = 30000;
    for (size_t i = 0; i < c->nschedules; i++)
        if (!c->schedules[i].spec)
            return bk_err_set(err, BK_ECONFIG, "%s:%d: schedule \"%s\": every or cron is required",
                              name, c->schedules[i].line, c->schedules[i].name);
    if (!c->expected.offline_warn_days)
        c->expected.offline_warn_days = 3;
    if (!c->expected.offline_error_days)
        c->expected.offline_error_days = 7;
    if (c->expected.offline_error_days < c->expected.offline_warn_days)
        return bk_err_set(err, BK_ECONFIG,
                          "%s: [expected] offline_error must not be shorter than "
                          "offline_warn",
                          name);
    if (c->expected.duration_factor <= 1.0)
        c->expected.duration_factor = 3.0;
    if (c->expected.backfill_ms < 0)
        c->expected.backfill_ms = 7 * 86400 * 1000LL;
    int arc = cfg_alerts_validate(c, name, err);
    if (arc < 0)
        return arc;
    for (size_t i = 0; i < c->nsources; i++) {
        struct bk_source_cfg *s = &c->sources[i];
        const char *missing = NULL;
        if ((int)s->type == -1)
            missing = "type";
        else if (s->type == BK_SOURCE_PUSH && (s->url || s->username || s->password.file ||
                                               s->password.env || s->token.file || s->token.env))
            return bk_err_set(err, BK_ECONFIG,
                              "%s:%d: source \"%s\": a push source takes no url or credentials "
                              "(its jobs are pinged: backupctl job add)",
                              name, s->line, s->name);
        else if (s->type == BK_SOURCE_MAIL &&
                 (s->url || s->token.file || s->token.env ||
                  (!s->imap_url && !s->graph_tenant &&
                   (s->username || s->password.file || s->password.env))))
            return bk_err_set(err, BK_ECONFIG,
                              "%s:%d: source \"%s\": a mail source takes no url or credentials "
                              "(mails arrive: maildir = PATH, or backupctl mail ingest), "
                              "but imap_url or graph_tenant with username and "
                              "password_file/password_env",
                              name, s->line, s->name);
        else if (s->type == BK_SOURCE_MAIL && s->imap_url && s->graph_tenant)
            return bk_err_set(err, BK_ECONFIG,
                              "%s:%d: source \"%s\": imap_url and graph_tenant are two inputs "
                              "with their own credentials: one per source",
                              name, s->line, s->name);
        else if (s->type == BK_SOURCE_MAIL && s->graph_tenant && !s->graph_mailbox)
            missing = "graph_mailbox (for graph_tenant)";
        else if (s->type == BK_SOURCE_MAIL && s->graph_tenant && !s->username)
            missing = "username (the app's client id, for graph_tenant)";
        else if (s->type == BK_SOURCE_MAIL && s->graph_tenant && !s->password.file &&
                 !s->password.env)
            missing = "password_file or password_env (the client secret, for graph_tenant)";
        else if (s->type == BK_SOURCE_MAIL && !s->graph_tenant &&
                 (s->graph_mailbox || s->graph_folder || s->graph_processed || s->graph_url ||
                  s->graph_token_url))
            missing = "graph_tenant (for the graph_* settings)";
        else if (s->type == BK_SOURCE_MAIL && s->imap_url && !s->username)
            missing = "username (for imap_url)";
        else if (s->type == BK_SOURCE_MAIL && s->imap_url && !s->password.file && !s->password.env)
            missing = "password_file or password_env (for imap_url)";
        else if (s->type == BK_SOURCE_PUSH || s->type == BK_SOURCE_MAIL)
            missing = NULL;
        else if (!s->url)
            missing = "url";
        else if (s->type == BK_SOURCE_COVE && !s->username)
            missing = "username";
        else if (s->type == BK_SOURCE_COVE && !s->password.file && !s->password.env)
            missing = "password_file or password_env";
        else if (s->type == BK_SOURCE_HYCU && !s->token.file && !s->token.env &&
                 !(s->username && (s->password.file || s->password.env)))
            missing = "token_file or token_env (or username with password_file/password_env)";
        if (missing)
            return bk_err_set(err, BK_ECONFIG, "%s:%d: source \"%s\": %s is required", name,
                              s->line, s->name, missing);
        if (!s->page_size)
            s->page_size = s->type == BK_SOURCE_COVE ? 1000 : 100;
        if ((s->type == BK_SOURCE_HYCU || s->type == BK_SOURCE_PUSH || s->type == BK_SOURCE_MAIL) &&
            !s->customer)
            s->customer = xstrdup(s->name);
        if (s->type == BK_SOURCE_MAIL && !s->imap_processed)
            s->imap_processed = xstrdup("Processed");
        if (s->type == BK_SOURCE_MAIL && s->graph_tenant) {
            if (!s->graph_folder)
                s->graph_folder = xstrdup("inbox");
            if (!s->graph_processed)
                s->graph_processed = xstrdup("Processed");
            if (!s->graph_url)
                s->graph_url = xstrdup("https://graph.microsoft.com/v1.0");
            if (!s->graph_token_url)
                s->graph_token_url = xasprintf(
                    "https://login.microsoftonline.com/%s/oauth2/v2.0/token", s->graph_tenant);
        }
        if (s->type == BK_SOURCE_MAIL && s->graph_tenant)
            s->url = xasprintf("%s/users/%s/mailFolders/%s", s->graph_url, s->graph_mailbox,
                               s->graph_folder);
        else if (s->type == BK_SOURCE_MAIL && (s->imap_url || s->maildir))
            s->url = xstrdup(s->imap_url ? s->imap_url : s->maildir);
        else if (s->type == BK_SOURCE_PUSH || s->type == BK_SOURCE_MAIL)
            s->url = xstrdup(""); /* nothing to reach: pings come to us */
    }
    return 0;
}

int config_parse_string(const char *text, const char *name, const char *basedir,
                        struct bk_config **out, struct bk_err *err)
{
    *out = NULL;
    struct draft d = {0};
    d.c = xcalloc(1, sizeof *d.c);
    d.basedir = basedir;
    d.c->path = xstrdup(name);
    d.c->retain_poll_runs_ms = 90 * 86400 * 1000LL;
    d.c->retain_audit_ms = 730 * 86400 * 1000LL;
    d.c->expected.backfill_ms = -1;
    struct reader r = {.p = text, .d = &d};
    int line = ini_parse_stream(read_line, &r, handler, &d);
    free(d.cur_section);
    int rc = 0;
    if (line != 0) {
        const char *msg = line == d.bad_header_line ? d.bad_header
                          : d.msg[0]                ? d.msg
                                     : "syntax error (expected [section] or key = value)";
        rc = bk_err_set(err, BK_ECONFIG, "%s:%d: %s", name, line > 0 ? line : 0, msg);
    } else {
        rc = validate(&d, name, err);
    }
    if (rc < 0) {
        config_free(d.c);
        return rc;
    }
    *out = d.c;
    return 0;
}

int config_load(const char *path, struct bk_config **out, struct bk_err *err)
{
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (!f)
        return bk_err_set(err, BK_ECONFIG, "%s: cannot open the configuration file", path);
    char *text = xmalloc(1 << 20);
    size_t n = fread(text, 1, (1 << 20) - 1, f);
    bool big = !feof(f);
    fclose(f);
    text[n] = '\0';
    if (big) {
        free(text);
        return bk_err_set(err, BK_ECONFIG, "%s: larger than 1 MiB", path);
    }
    if (memchr(text, '\0', n)) {
        free(text);
        return bk_err_set(err, BK_ECONFIG, "%s: contains a NUL byte", path);
    }
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else {
        free(dir);
        dir = xstrdup(".");
    }
    int rc = config_parse_string(text, path, dir, out, err);
    free(dir);
    free(text);
    return rc;
}
