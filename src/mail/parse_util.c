/* Helpers shared by the report parsers, and the registry (see parse.h). */
#include "mail/parse.h"

#include "core/tzfile.h"
#include "mail/mime.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const mail_parser_fn registry[] = {
    mail_parse_veeam, /* VBR jobs and Veeam Agent: the Veeam HTML session report */
    mail_parse_vb365, /* before veeam's not-a-run pass: VB365 has its own layout */
    mail_parse_nakivo,    mail_parse_synology,
    mail_parse_duplicati, mail_parse_notarun, /* summaries, digests, newsletters */
    mail_parse_generic,                       /* keyword rules (WSB scripts) last */
};

const char *mail_kind_name(enum mail_kind k)
{
    return k == MAIL_RUN ? "run" : k == MAIL_NOT_A_RUN ? "not_a_run" : "unknown";
}

void mail_parse(const struct mail_msg *m, const struct mail_parse_ctx *ctx, struct mail_result *r)
{
    memset(r, 0, sizeof *r);
    r->status = BK_RUN_UNKNOWN;
    for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++) {
        if (registry[i](m, ctx, r)) {
            if (r->kind == MAIL_RUN && (!r->job_name || !*r->job_name)) {
                /* a run without a job cannot be stored as one */
                mail_result_clear(r);
                r->reason = xstrdup("recognised, but no job name found");
                break;
            }
            return;
        }
        mail_result_clear(r);
    }
    r->kind = MAIL_UNKNOWN;
    r->status = mail_keyword_status(m->subject);
    if (r->status == BK_RUN_UNKNOWN)
        r->status = mail_keyword_status(*m->text ? m->text : m->html_text);
    if (!r->reason)
        r->reason = xstrdup("no parser recognised this mail");
}

void mail_result_clear(struct mail_result *r)
{
    free(r->job_type);
    free(r->job_name);
    free(r->raw_status);
    free(r->message);
    free(r->reason);
    for (size_t i = 0; i < r->nobjects; i++)
        bk_obj_rec_clear(&r->objects[i]);
    free(r->objects);
    memset(r, 0, sizeof *r);
    r->status = BK_RUN_UNKNOWN;
}

const char *mail_strcasestr(const char *hay, const char *needle)
{
    if (!hay || !needle)
        return NULL;
    size_t n = strlen(needle);
    if (!n)
        return hay;
    for (const char *p = hay; *p; p++) {
        size_t i = 0;
        while (i < n && p[i] && tolower((unsigned char)p[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return p;
    }
    return NULL;
}

/* A word match: the needle not glued to letters on either side. */
static bool has_word(const char *text, const char *w)
{
    size_t n = strlen(w);
    for (const char *p = mail_strcasestr(text, w); p; p = mail_strcasestr(p + 1, w)) {
        bool left = p == text || !isalpha((unsigned char)p[-1]);
        bool right = !isalpha((unsigned char)p[n]);
        if (left && right)
            return true;
    }
    return false;
}

enum bk_run_status mail_keyword_status(const char *text)
{
    static const char *const fail[] = {"failed", "failure", "error",         "errors",
                                       "fatal",  "aborted", "échec",         "échoué",
                                       "fehler", "mislukt", "fehlgeschlagen"};
    static const char *const warn[] = {"warning",       "warnings", "partially",
                                       "avertissement", "warnung",  "waarschuwing"};
    static const char *const ok[] = {"success", "successful",  "succeeded", "completed", "succès",
                                     "réussi",  "erfolgreich", "geslaagd",  "ok"};
    if (!text)
        return BK_RUN_UNKNOWN;
    /* "0 errors" / "no errors" are not failures */
    for (size_t i = 0; i < sizeof fail / sizeof fail[0]; i++) {
        size_t n = strlen(fail[i]);
        for (const char *p = mail_strcasestr(text, fail[i]); p;
             p = mail_strcasestr(p + 1, fail[i])) {
            bool left = p == text || !isalpha((unsigned char)p[-1]);
            bool right = !isalpha((unsigned char)p[n]);
            if (!left || !right)
                continue;
            const char *q = p;
            while (q > text && q[-1] == ' ')
                q--;
            bool zero =
                (q > text && q[-1] == '0' && (q - 1 == text || !isdigit((unsigned char)q[-2]))) ||
                (q - text >= 2 && tolower((unsigned char)q[-1]) == 'o' &&
                 tolower((unsigned char)q[-2]) == 'n' &&
                 (q - 2 == text || !isalpha((unsigned char)q[-3])));
            if (!zero)
                return BK_RUN_FAILED;
        }
    }
    for (size_t i = 0; i < sizeof warn / sizeof warn[0]; i++)
        if (has_word(text, warn[i]))
            return BK_RUN_WARNING;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (has_word(text, ok[i]))
            return BK_RUN_SUCCESS;
    return BK_RUN_UNKNOWN;
}

static int digits(const char *s, int max, int *v)
{
    int n = 0, x = 0;
    while (n < max && isdigit((unsigned char)s[n]))
        x = x * 10 + (s[n++] - '0');
    *v = x;
    return n;
}

int mail_parse_clock(const char *s, int *plus_days)
{
    if (plus_days)
        *plus_days = 0;
    if (!s)
        return -1;
    while (*s == ' ')
        s++;
    int h, mi, se = 0, k;
    if (!(k = digits(s, 2, &h)) || s[k] != ':')
        return -1;
    s += k + 1;
    if (digits(s, 2, &mi) != 2)
        return -1;
    s += 2;
    if (*s == ':') {
        if (digits(s + 1, 2, &se) != 2)
            return -1;
        s += 3;
    }
    if (h > 23 || mi > 59 || se > 60)
        return -1;
    while (*s == ' ')
        s++;
    /* 12-hour clocks: "10:00:06 PM" */
    if ((s[0] == 'P' || s[0] == 'p') && (s[1] == 'M' || s[1] == 'm') && h < 12)
        h += 12;
    else if ((s[0] == 'A' || s[0] == 'a') && (s[1] == 'M' || s[1] == 'm') && h == 12)
        h = 0;
    const char *pl = strstr(s, "(+");
    if (pl && plus_days) {
        int d;
        if (digits(pl + 2, 2, &d) > 0 && d < 100)
            *plus_days = d;
    }
    return h * 3600 + mi * 60 + (se > 59 ? 59 : se);
}

struct month_name {
    const char *name;
    int month;
};
static const struct month_name months[] = {
    {"january", 1},
    {"february", 2},
    {"march", 3},
    {"april", 4},
    {"may", 5},
    {"june", 6},
    {"july", 7},
    {"august", 8},
    {"september", 9},
    {"october", 10},
    {"november", 11},
    {"december", 12}, /* English */
    {"januari", 1},
    {"februari", 2},
    {"maart", 3},
    {"mei", 5},
    {"juni", 6},
    {"juli", 7},
    {"augustus", 8},
    {"oktober", 10}, /* Dutch (the rest as English) */
    {"janvier", 1},
    {"février", 2},
    {"mars", 3},
    {"avril", 4},
    {"juin", 6},
    {"juillet", 7},
    {"août", 8},
    {"septembre", 9},
    {"octobre", 10},
    {"novembre", 11},
    {"décembre", 12}, /* French */
    {"januar", 1},
    {"februar", 2},
    {"märz", 3},
    {"mai", 5},
    {"dezember", 12},
    /* German (juni, juli, august, september, oktober, november as above) */
    {"jan", 1},
    {"feb", 2},
    {"mar", 3},
    {"apr", 4},
    {"jun", 6},
    {"jul", 7},
    {"aug", 8},
    {"sep", 9},
    {"oct", 10},
    {"nov", 11},
    {"dec", 12},
};

/* The month of the word at s (letters, UTF-8 bytes included) of length n, 0 if none. */
static int month_of(const char *s, size_t n)
{
    char w[16];
    if (n >= sizeof w)
        return 0;
    for (size_t i = 0; i < n; i++)
        w[i] = (char)tolower((unsigned char)s[i]);
    w[n] = '\0';
    if (n && w[n - 1] == '.')
        w[--n] = '\0';
    for (size_t i = 0; i < sizeof months / sizeof months[0]; i++)
        if (strcmp(w, months[i].name) == 0)
            return months[i].month;
    return 0;
}

int64_t mail_parse_long_date(const char *s, int *sec_of_day)
{
    if (sec_of_day)
        *sec_of_day = -1;
    if (!s)
        return -1;
    int y = 0, mo = 0, d = 0;
    const char *p = s, *after = NULL;
    /* numeric forms first: 2026-11-24, 24/11/2026, 24.11.2026 */
    for (const char *q = s; *q && !after; q++) {
        if (!isdigit((unsigned char)*q) || (q > s && isdigit((unsigned char)q[-1])))
            continue;
        int a, b, c, ka, kb, kc;
        ka = digits(q, 4, &a);
        if (ka == 4 && q[4] == '-' && (kb = digits(q + 5, 2, &b)) > 0 && q[5 + kb] == '-' &&
            (kc = digits(q + 6 + kb, 2, &c)) > 0) {
            y = a, mo = b, d = c, after = q + 6 + kb + kc;
        } else if (ka >= 1 && ka <= 2 && (q[ka] == '/' || q[ka] == '.') &&
                   (kb = digits(q + ka + 1, 2, &b)) > 0 && q[ka + 1 + kb] == q[ka] &&
                   (kc = digits(q + ka + 2 + kb, 4, &c)) == 4) {
            d = a, mo = b, y = c, after = q + ka + 2 + kb + kc; /* day first (Europe) */
        }
    }
    if (!after) {
        /* words: find a month name, a 1-2 digit day and a 4-digit year around it */
        int day = 0, year = 0, month = 0;
        const char *end = NULL;
        while (*p) {
            if (isalpha((unsigned char)*p) || (unsigned char)*p >= 0x80) {
                const char *w = p;
                while (*p && (isalpha((unsigned char)*p) || (unsigned char)*p >= 0x80 || *p == '.'))
                    p++;
                int m = month_of(w, (size_t)(p - w));
                if (m && !month)
                    month = m;
                continue;
            }
            if (isdigit((unsigned char)*p)) {
                int v, k = digits(p, 5, &v);
                if (p[k] == ':') /* a clock: the date is over */
                    break;
                if (k == 4 && !year) {
                    year = v;
                    end = p + k;
                } else if (k <= 2 && !day && v >= 1 && v <= 31) {
                    day = v;
                }
                p += k;
                continue;
            }
            p++;
        }
        if (!month || !day || !year)
            return -1;
        y = year, mo = month, d = day, after = end ? end : p;
    }
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31)
        return -1;
    if (sec_of_day) {
        const char *c = after;
        while (*c && !isdigit((unsigned char)*c))
            c++;
        *sec_of_day = mail_parse_clock(c, NULL);
    }
    return bk_days_from_civil(y, (unsigned)mo, (unsigned)d);
}

int64_t mail_local_days(const struct bk_tz *tz, int64_t utc_ms, int *sec_of_day)
{
    struct bk_civil c;
    int64_t s = utc_ms / 1000;
    if (utc_ms < 0 && utc_ms % 1000)
        s--;
    bk_tz_civil(tz, s, &c);
    if (sec_of_day)
        *sec_of_day = c.sec_of_day;
    return c.days;
}

int64_t mail_local_to_utc_ms(const struct bk_tz *tz, int64_t days, int sec_of_day)
{
    return bk_tz_local_to_utc(tz, days * 86400 + sec_of_day) * 1000;
}

void mail_result_add_object(struct mail_result *r, const char *name, enum bk_run_status st,
                            const char *raw, const char *message)
{
    if (!name || !*name || r->nobjects >= 100000)
        return;
    for (size_t i = 0; i < r->nobjects; i++) /* a name once: the store keys objects by name */
        if (strcmp(r->objects[i].name, name) == 0)
            return;
    struct bk_obj_rec o = {.name = xstrdup(name),
                           .status = st,
                           .raw_status = xstrdup(raw ? raw : ""),
                           .message = message && *message ? xstrdup(message) : NULL};
    r->objects = xrealloc(r->objects, (r->nobjects + 1) * sizeof *r->objects);
    r->objects[r->nobjects++] = o;
}

char *mail_trim_dup(const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return xstrndup(s, n);
}
