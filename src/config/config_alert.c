/* [alert "name"] and [maintenance "name"] sections (issue 10). Keys are checked as they are
 * read, so every mistake names its line; what needs the whole section (a channel, an e-mail
 * channel's server and sender, a window's end) is checked by cfg_alerts_validate. */
#include "config/config_int.h"

#include "core/schedule.h"
#include "core/tzfile.h"
#include "util/err.h"
#include "util/str.h"
#include "util/xalloc.h"

#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int msgf(char *msg, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int msgf(char *msg, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, n, fmt, ap);
    va_end(ap);
    return 0;
}

bool config_glob(const char *pat, const char *v)
{
    return !pat || fnmatch(pat, v ? v : "", 0) == 0;
}

bool config_alert_matches(const struct bk_alert_cfg *a, const char *customer, const char *source,
                          const char *job, const char *kind)
{
    return config_glob(a->customer, customer) && config_glob(a->source, source) &&
           config_glob(a->job, job) && config_glob(a->kind, kind);
}

bool config_maint_matches(const struct bk_maint_cfg *m, const char *customer, const char *source,
                          const char *job)
{
    return config_glob(m->customer, customer) && config_glob(m->source, source) &&
           config_glob(m->job, job);
}

char *config_public_link(const struct bk_config *cfg, const char *path)
{
    if (!cfg->public_url)
        return NULL;
    size_t n = strlen(cfg->public_url);
    while (n > 0 && cfg->public_url[n - 1] == '/')
        n--;
    return xasprintf("%.*s%s", (int)n, cfg->public_url, path);
}

/* customer/source/job/kind = PATTERN: the filter keys shared by both sections. */
static int set_pattern(char **dst, const char *key, const char *value, char *msg, size_t n)
{
    if (!*value)
        return msgf(msg, n, "%s is empty (leave it out to match any)", key);
    free(*dst);
    *dst = xstrdup(value);
    return 1;
}

/* A plain address: something@domain, no spaces, no header-breaking characters. */
static bool valid_address(const char *v)
{
    const char *at = strchr(v, '@');
    return at && at != v && at[1] && !strchr(at + 1, '@') && !strpbrk(v, " \t\r\n<>,;\"()");
}

static int add_recipients(struct bk_alert_cfg *a, const char *value, char *msg, size_t n)
{
    const char *p = value;
    if (!*p)
        return msgf(msg, n, "email is empty");
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ", ");
        if (!len)
            break;
        char *addr = xstrndup(p, len);
        if (!valid_address(addr)) {
            int rc = msgf(msg, n, "email \"%.80s\" is not an address (user@example.com)", addr);
            free(addr);
            return rc;
        }
        a->to = xrealloc(a->to, (a->nto + 1) * sizeof *a->to);
        a->to[a->nto++] = addr;
        p += len;
    }
    return 1;
}

static int parse_bool(const char *key, const char *value, bool *out, char *msg, size_t n)
{
    if (str_parse_bool(value, out) < 0 || !*value)
        return msgf(msg, n, "%s must be yes or no, not \"%.40s\"", key, value);
    return 1;
}

/* HH:MM → minute of the day. */
static int parse_hhmm(const char *v, int *out)
{
    if (strlen(v) != 5 || v[2] != ':')
        return -1;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (v[i] < '0' || v[i] > '9'))
            return -1;
    int h = (v[0] - '0') * 10 + (v[1] - '0'), m = (v[3] - '0') * 10 + (v[4] - '0');
    if (h > 23 || m > 59)
        return -1;
    *out = h * 60 + m;
    return 0;
}

int cfg_alert_key(struct bk_alert_cfg *a, const char *key, const char *value, char *msg, size_t n)
{
    if (strcmp(key, "customer") == 0)
        return set_pattern(&a->customer, key, value, msg, n);
    if (strcmp(key, "source") == 0)
        return set_pattern(&a->source, key, value, msg, n);
    if (strcmp(key, "job") == 0)
        return set_pattern(&a->job, key, value, msg, n);
    if (strcmp(key, "kind") == 0)
        return set_pattern(&a->kind, key, value, msg, n);
    if (strcmp(key, "webhook") == 0) {
        if (!cfg_valid_url(value) || str_url_has_userinfo(value))
            return msgf(msg, n, "webhook is not an http(s) URL without credentials");
        if (a->webhook || a->webhook_ref.file || a->webhook_ref.env)
            return msgf(msg, n, "webhook given twice");
        a->webhook = xstrdup(value);
        return 1;
    }
    if (strcmp(key, "webhook_file") == 0 || strcmp(key, "webhook_env") == 0) {
        if (a->webhook)
            return msgf(msg, n, "webhook given twice");
        return cfg_secret(&a->webhook_ref, "webhook", key, value, msg, n);
    }
    if (strcmp(key, "format") == 0) {
        if (strcmp(value, "json") == 0)
            a->format = BK_ALERT_JSON;
        else if (strcmp(value, "slack") == 0)
            a->format = BK_ALERT_SLACK;
        else if (strcmp(value, "teams") == 0)
            a->format = BK_ALERT_TEAMS;
        else
            return msgf(msg, n, "format must be json, slack or teams, not \"%.40s\"", value);
        return 1;
    }
    if (strcmp(key, "header") == 0) {
        const char *colon = strchr(value, ':');
        if (!colon || colon == value || strpbrk(value, "\r\n") ||
            strcspn(value, " \t") < (size_t)(colon - value))
            return msgf(msg, n, "header must be \"Name: value\"");
        a->headers = xrealloc(a->headers, (a->nheaders + 1) * sizeof *a->headers);
        a->headers[a->nheaders++] = xstrdup(value);
        return 1;
    }
    if (str_starts_with(key, "secret"))
        return cfg_secret(&a->hmac, "secret", key, value, msg, n);
    if (strcmp(key, "email") == 0)
        return add_recipients(a, value, msg, n);
    if (strcmp(key, "smtp") == 0) {
        if (!(str_starts_with(value, "smtp://") || str_starts_with(value, "smtps://")) ||
            strlen(value) < 9 || strpbrk(value, " \t@?"))
            return msgf(msg, n, "smtp must be smtp://HOST[:PORT] or smtps://HOST[:PORT]");
        free(a->smtp);
        a->smtp = xstrdup(value);
        return 1;
    }
    if (strcmp(key, "from") == 0) {
        if (!valid_address(value))
            return msgf(msg, n, "from \"%.80s\" is not an address (user@example.com)", value);
        free(a->from);
        a->from = xstrdup(value);
        return 1;
    }
    if (strcmp(key, "smtp_username") == 0) {
        if (!*value || strpbrk(value, "\r\n"))
            return msgf(msg, n, "smtp_username is empty");
        free(a->smtp_username);
        a->smtp_username = xstrdup(value);
        return 1;
    }
    if (str_starts_with(key, "smtp_password"))
        return cfg_secret(&a->smtp_password, "smtp_password", key, value, msg, n);
    if (strcmp(key, "tls") == 0) {
        if (strcmp(value, "off") == 0)
            a->tls_off = true;
        else if (strcmp(value, "on") == 0 || strcmp(value, "required") == 0)
            a->tls_off = false;
        else
            return msgf(msg, n, "tls must be on or off, not \"%.40s\"", value);
        return 1;
    }
    if (strcmp(key, "ca_file") == 0) {
        free(a->ca_file);
        a->ca_file = xstrdup(value);
        return 1;
    }
    if (strcmp(key, "insecure") == 0)
        return parse_bool(key, value, &a->insecure, msg, n);
    if (strcmp(key, "recovered") == 0)
        return parse_bool(key, value, &a->recovered, msg, n);
    if (strcmp(key, "min_severity") == 0) {
        if (strcmp(value, "warning") == 0)
            a->min_severity = BK_SEV_WARNING;
        else if (strcmp(value, "failed") == 0)
            a->min_severity = BK_SEV_FAILED;
        else
            return msgf(msg, n, "min_severity must be warning or failed, not \"%.40s\"", value);
        return 1;
    }
    if (strcmp(key, "after") == 0) {
        int64_t v;
        if (str_to_i64(value, &v) < 0 || v < 1 || v > 100)
            return msgf(msg, n, "after \"%.40s\" must be a number of runs from 1 to 100", value);
        a->after = (int)v;
        return 1;
    }
    if (strcmp(key, "repeat") == 0) {
        double sec;
        if (strcmp(value, "never") == 0 || strcmp(value, "0") == 0)
            sec = 0;
        else if (str_parse_duration(value, &sec) < 0 || sec < 300)
            return msgf(msg, n, "repeat \"%.40s\" must be a duration of at least 5m, or never",
                        value);
        a->repeat_ms = (int64_t)(sec * 1000);
        return 1;
    }
    if (strcmp(key, "summary") == 0) {
        if (strcmp(value, "off") == 0) {
            a->summary_minute = -1;
            return 1;
        }
        if (parse_hhmm(value, &a->summary_minute) < 0)
            return msgf(msg, n, "summary \"%.40s\" must be a local time HH:MM, or off", value);
        return 1;
    }
    if (strcmp(key, "summary_per") == 0) {
        if (strcmp(value, "customer") == 0)
            a->summary_all = false;
        else if (strcmp(value, "all") == 0)
            a->summary_all = true;
        else
            return msgf(msg, n, "summary_per must be customer or all, not \"%.40s\"", value);
        return 1;
    }
    return msgf(msg, n,
                "unknown key \"%.60s\" in an alert section (webhook, webhook_file, webhook_env, "
                "format, header, secret_file, secret_env, email, smtp, from, smtp_username, "
                "smtp_password_file, smtp_password_env, tls, ca_file, insecure, customer, source, "
                "job, kind, min_severity, after, repeat, recovered, summary, summary_per)",
                key);
}

/* "YYYY-MM-DD HH:MM" (a local time; the zone is applied when the window is evaluated). */
static bool valid_local_time(const char *v)
{
    static const char shape[] = "dddd-dd-dd dd:dd";
    if (strlen(v) != sizeof shape - 1)
        return false;
    for (size_t i = 0; shape[i]; i++)
        if (shape[i] == 'd' ? (v[i] < '0' || v[i] > '9') : v[i] != shape[i])
            return false;
    int mo = (v[5] - '0') * 10 + (v[6] - '0'), d = (v[8] - '0') * 10 + (v[9] - '0');
    int h = (v[11] - '0') * 10 + (v[12] - '0'), mi = (v[14] - '0') * 10 + (v[15] - '0');
    return mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59;
}

int cfg_maint_key(struct bk_maint_cfg *m, const char *key, const char *value, char *msg, size_t n)
{
    if (strcmp(key, "customer") == 0)
        return set_pattern(&m->customer, key, value, msg, n);
    if (strcmp(key, "source") == 0)
        return set_pattern(&m->source, key, value, msg, n);
    if (strcmp(key, "job") == 0)
        return set_pattern(&m->job, key, value, msg, n);
    if (strcmp(key, "start") == 0 || strcmp(key, "end") == 0) {
        if (!valid_local_time(value))
            return msgf(msg, n, "%s \"%.40s\" must be a local time YYYY-MM-DD HH:MM", key, value);
        char **dst = key[0] == 's' ? &m->start : &m->end;
        free(*dst);
        *dst = xstrdup(value);
        return 1;
    }
    if (strcmp(key, "cron") == 0) {
        struct bk_schedule tmp;
        struct bk_err e = {0};
        if (!strpbrk(value, " \t"))
            return msgf(msg, n, "cron \"%.60s\" is not a cron expression (e.g. 0 22 * * 6)", value);
        if (bk_sched_parse(value, -1, &tmp, &e) < 0)
            return msgf(msg, n, "cron: %s", e.msg);
        free(m->cron);
        m->cron = xstrdup(value);
        return 1;
    }
    if (strcmp(key, "duration") == 0) {
        double sec;
        if (str_parse_duration(value, &sec) < 0 || sec < 60 || sec > 31 * 86400.0)
            return msgf(msg, n, "duration \"%.40s\" must be from 1m to 31d (e.g. 4h)", value);
        m->duration_ms = (int64_t)(sec * 1000);
        return 1;
    }
    if (strcmp(key, "timezone") == 0) {
        struct bk_tz *tz = NULL;
        struct bk_err e = {0};
        if (!*value || bk_tz_load(value, &tz, &e) < 0)
            return msgf(msg, n, "timezone \"%.60s\" is not a known time zone (e.g. Europe/Paris)",
                        value);
        bk_tz_free(tz);
        free(m->timezone);
        m->timezone = xstrdup(value);
        return 1;
    }
    return msgf(
        msg, n,
        "unknown key \"%.60s\" in a maintenance section (customer, source, job, start, end, "
        "cron, duration, timezone)",
        key);
}

int cfg_alerts_validate(struct bk_config *c, const char *name, struct bk_err *err)
{
    for (size_t i = 0; i < c->nalerts; i++) {
        const struct bk_alert_cfg *a = &c->alerts[i];
        bool hook = a->webhook || a->webhook_ref.file || a->webhook_ref.env;
        const char *why = NULL;
        if (!hook && !a->nto)
            why = "webhook (or webhook_file/webhook_env) or email is required";
        else if ((a->smtp_password.file || a->smtp_password.env) && !a->smtp_username)
            why = "smtp_password needs smtp_username";
        else if (a->smtp && !a->nto)
            why = "smtp is set but email names no recipient";
        else if ((a->hmac.file || a->hmac.env) && !hook)
            why = "secret signs webhook bodies: it needs webhook";
        if (why)
            return bk_err_set(err, BK_ECONFIG, "%s:%d: alert \"%s\": %s", name, a->line, a->name,
                              why);
        if (a->nto && !a->smtp) /* DESIGN §6's example: the local MTA */
            c->alerts[i].smtp = xstrdup("smtp://localhost:25");
    }
    for (size_t i = 0; i < c->nmaints; i++) {
        const struct bk_maint_cfg *m = &c->maints[i];
        const char *why = NULL;
        if (m->cron && (m->start || m->end))
            why = "either start/end (one-off) or cron/duration (recurring), not both";
        else if (m->cron && !m->duration_ms)
            why = "cron needs duration";
        else if (!m->cron && m->duration_ms)
            why = "duration needs cron";
        else if (!m->cron && (!m->start || !m->end))
            why = "start and end (or cron and duration) are required";
        else if (m->start && strcmp(m->start, m->end) >= 0)
            why = "end must be after start";
        if (why)
            return bk_err_set(err, BK_ECONFIG, "%s:%d: maintenance \"%s\": %s", name, m->line,
                              m->name, why);
    }
    return 0;
}

static void ref_free(struct bk_secret_ref *r)
{
    free(r->file);
    free(r->env);
}

void cfg_alerts_free(struct bk_config *c)
{
    for (size_t i = 0; i < c->nalerts; i++) {
        struct bk_alert_cfg *a = &c->alerts[i];
        free(a->name);
        free(a->webhook);
        ref_free(&a->webhook_ref);
        for (size_t k = 0; k < a->nheaders; k++)
            free(a->headers[k]);
        free(a->headers);
        ref_free(&a->hmac);
        for (size_t k = 0; k < a->nto; k++)
            free(a->to[k]);
        free(a->to);
        free(a->smtp);
        free(a->from);
        free(a->smtp_username);
        ref_free(&a->smtp_password);
        free(a->ca_file);
        free(a->customer);
        free(a->source);
        free(a->job);
        free(a->kind);
    }
    free(c->alerts);
    for (size_t i = 0; i < c->nmaints; i++) {
        struct bk_maint_cfg *m = &c->maints[i];
        free(m->name);
        free(m->customer);
        free(m->source);
        free(m->job);
        free(m->start);
        free(m->end);
        free(m->cron);
        free(m->timezone);
    }
    free(c->maints);
}
