/* Logging with redaction. Lines are built in a fixed buffer (bounded: a log line never
 * allocates without limit) and written with one fputs so threads do not interleave. */
#include "util/log.h"

#include "util/str.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

#define LOG_LINE_MAX 2048
#define MAX_SECRETS 16

static enum log_level g_level = LOG_INFO;
static enum log_format g_format = LOG_FORMAT_TEXT;
static char *g_secrets[MAX_SECRETS];
static size_t g_nsecrets;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

void log_set_level(enum log_level lvl)
{
    g_level = lvl;
}

enum log_level log_get_level(void)
{
    return g_level;
}

void log_set_format(enum log_format fmt)
{
    g_format = fmt;
}

void log_add_secret(const char *secret)
{
    if (!secret || strlen(secret) < 4)
        return;
    pthread_mutex_lock(&g_lock);
    for (size_t i = 0; i < g_nsecrets; i++)
        if (strcmp(g_secrets[i], secret) == 0)
            goto out;
    if (g_nsecrets < MAX_SECRETS)
        g_secrets[g_nsecrets++] = xstrdup(secret);
out:
    pthread_mutex_unlock(&g_lock);
}

void log_clear_secrets(void)
{
    pthread_mutex_lock(&g_lock);
    for (size_t i = 0; i < g_nsecrets; i++)
        free(g_secrets[i]);
    g_nsecrets = 0;
    pthread_mutex_unlock(&g_lock);
}

static void mask_all(char *s, const char *needle)
{
    size_t nl = strlen(needle);
    char *p;
    while ((p = strstr(s, needle)) != NULL) {
        /* "***" is never longer than a registered secret (>= 4 bytes). */
        memcpy(p, "***", 3);
        memmove(p + 3, p + nl, strlen(p + nl) + 1);
        s = p + 3;
    }
}

static char *ci_strstr(char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && tolower((unsigned char)hay[i]) == needle[i])
            i++;
        if (i == n)
            return hay;
    }
    return NULL;
}

/* Mask what follows "Authorization:" / "Cookie:" up to the end of the line, keeping the
 * scheme word so a reader still sees "Bearer ***" vs "Basic ***". */
static void mask_header(char *s, const char *name)
{
    size_t nl = strlen(name);
    for (char *p = s; (p = ci_strstr(p, name)) != NULL; p += nl) {
        char *v = p + nl;
        while (*v == ' ')
            v++;
        char *scheme_end = v;
        while (*scheme_end && *scheme_end != ' ' && *scheme_end != '\n' && *scheme_end != '"')
            scheme_end++;
        char *val = scheme_end;
        if (*val == ' ') {
            val++;
        } else {
            val = v; /* no scheme: mask everything */
        }
        char *end = val;
        while (*end && *end != '\n' && *end != '\r' && *end != '"')
            end++;
        if (end - val >= 3) {
            memcpy(val, "***", 3);
            memmove(val + 3, end, strlen(end) + 1);
        }
    }
}

/* Replace s[from..to) with min(3, to - from) stars (never grows the string). */
static char *mask_span(char *s, size_t from, size_t to)
{
    size_t n = to - from, k = n < 3 ? n : 3;
    memset(s + from, '*', k);
    memmove(s + from + k, s + to, strlen(s + to) + 1);
    return s + from + k;
}

/* In every URL ("scheme://…" up to a space or quote): user-info and the query string are
 * masked. Credentials have keys of their own, but a URL someone pasted may still carry
 * "user:pw@" or "?token=…", and URLs are what debug lines print most. */
static void mask_urls(char *s)
{
    char *p = s;
    while ((p = strstr(p, "://")) != NULL) {
        p += 3;
        size_t len = strcspn(p, " \t\n\r\"'<>");
        size_t auth = strcspn(p, "/?#");
        if (auth > len)
            auth = len;
        char *at = memchr(p, '@', auth);
        if (at) {
            size_t ui = (size_t)(at - p);
            char *after = mask_span(p, 0, ui);
            len -= ui - (size_t)(after - p);
        }
        char *q = memchr(p, '?', len);
        if (q) {
            size_t qs = (size_t)(q - p) + 1;
            size_t qe = qs + strcspn(q + 1, "#");
            if (qe > len)
                qe = len;
            if (qe > qs) {
                char *after = mask_span(p, qs, qe);
                len -= (qe - qs) - (size_t)(after - (p + qs));
            }
        }
        p += len;
    }
}

void log_redact(char *s)
{
    mask_urls(s);
    mask_header(s, "authorization:");
    mask_header(s, "cookie:");
    pthread_mutex_lock(&g_lock);
    for (size_t i = 0; i < g_nsecrets; i++)
        mask_all(s, g_secrets[i]);
    pthread_mutex_unlock(&g_lock);
}

static const char *level_name(enum log_level lvl)
{
    switch (lvl) {
    case LOG_ERROR:
        return "ERROR";
    case LOG_WARN:
        return "WARNING";
    case LOG_INFO:
        return "INFO";
    default:
        return "DEBUG";
    }
}

static void json_escape_into(char *out, size_t outsz, const char *in)
{
    size_t o = 0;
    for (; *in && o + 7 < outsz; in++) {
        unsigned char c = (unsigned char)*in;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(out + o, outsz - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    if (lvl > g_level)
        return;
    char msg[LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    log_redact(msg);

    char ts[32];
    int64_t now = bk_now_ms();
    bk_iso8601(now, ts, sizeof ts);
    char line[LOG_LINE_MAX * 2 + 256];
    if (g_format == LOG_FORMAT_JSON) {
        char esc[LOG_LINE_MAX * 2 + 64];
        json_escape_into(esc, sizeof esc, msg);
        snprintf(line, sizeof line, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"%s\"}\n", ts,
                 level_name(lvl), esc);
    } else {
        /* Control bytes (ESC in a login name, a vendor's device name) would reach a terminal
         * or a log viewer raw: write them as \xHH. */
        char esc[LOG_LINE_MAX * 2];
        str_escape_ctl(msg, esc, sizeof esc, NULL, true);
        /* The original script's format: "%(asctime)s - %(levelname)s - %(message)s". */
        snprintf(line, sizeof line, "%s - %s - %s\n", ts, level_name(lvl), esc);
    }
    fputs(line, stderr);
}
