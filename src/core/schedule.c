/* Expected schedules: parsing, learning, slots, duration anomalies, offline check. The rules
 * and thresholds, with the reasons for them, are in the design note of schedule.h. */
#define _POSIX_C_SOURCE 200809L
#include "core/schedule.h"

#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_S 86400
#define H (BK_SCHED_HORIZON_DAYS)
#define WHOLE_DAY 1440
#define MAX_LEAD_MIN 720

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int wday_of(int64_t days)
{
    return (int)((days % 7 + 11) % 7);
}

static int popcount64(uint64_t v)
{
    int n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

/* ---- durations ----------------------------------------------------------------------- */

int bk_sched_parse_duration(const char *s, int64_t *out_s, struct bk_err *err)
{
    if (!s || !*s)
        return bk_err_set(err, BK_EINVAL, "duration: empty (expected e.g. 30m, 12h, 1d, 1w)");
    if (strcmp(s, "0") == 0) {
        *out_s = 0;
        return 0;
    }
    int64_t total = 0;
    const char *p = s;
    while (*p) {
        const char *start = p;
        int64_t v = 0;
        if (*p < '0' || *p > '9')
            return bk_err_set(err, BK_EINVAL, "duration \"%.40s\": column %d: expected a number", s,
                              (int)(p - s) + 1);
        while (*p >= '0' && *p <= '9') {
            v = v * 10 + (*p++ - '0');
            if (v > 366 * DAY_S)
                return bk_err_set(err, BK_EINVAL, "duration \"%.40s\": column %d: too large", s,
                                  (int)(start - s) + 1);
        }
        int64_t unit;
        switch (*p) {
        case 's':
            unit = 1;
            break;
        case 'm':
            unit = 60;
            break;
        case 'h':
            unit = 3600;
            break;
        case 'd':
            unit = DAY_S;
            break;
        case 'w':
            unit = 7 * DAY_S;
            break;
        default:
            return bk_err_set(err, BK_EINVAL,
                              "duration \"%.40s\": column %d: expected a unit (s, m, h, d, w)", s,
                              (int)(p - s) + 1);
        }
        p++;
        total += v * unit;
        if (total > 366 * DAY_S)
            return bk_err_set(err, BK_EINVAL, "duration \"%.40s\": longer than 366 days", s);
    }
    *out_s = total;
    return 0;
}

/* ---- cron ---------------------------------------------------------------------------- */

static const char *const field_names[5] = {"minute", "hour", "day-of-month", "month",
                                           "day-of-week"};
static const int field_lo[5] = {0, 0, 1, 1, 0}, field_hi[5] = {59, 23, 31, 12, 7};
static const char *const month_names[12] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                            "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *const wday_names[7] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

struct cron_ctx {
    const char *spec;
    struct bk_err *err;
};

static int cron_fail(const struct cron_ctx *c, int field, const char *at, const char *what)
{
    return bk_err_set(c->err, BK_EINVAL, "cron \"%.60s\": column %d (%s): %s", c->spec,
                      (int)(at - c->spec) + 1, field_names[field], what);
}

static int upcase(int ch)
{
    return ch >= 'a' && ch <= 'z' ? ch - 'a' + 'A' : ch;
}

/* A number or (month, weekday) a three-letter name. */
static int cron_value(const struct cron_ctx *c, int f, const char **pp, int *out)
{
    const char *p = *pp;
    if (*p >= '0' && *p <= '9') {
        int v = 0;
        while (*p >= '0' && *p <= '9') {
            v = v * 10 + (*p++ - '0');
            if (v > 1000)
                break;
        }
        if (v < field_lo[f] || v > field_hi[f]) {
            char msg[80];
            snprintf(msg, sizeof msg, "%d is out of range %d-%d", v, field_lo[f], field_hi[f]);
            return cron_fail(c, f, *pp, msg);
        }
        *out = v;
        *pp = p;
        return 0;
    }
    if ((f == 3 || f == 4) && p[0] && p[1] && p[2]) {
        const char *const *names = f == 3 ? month_names : wday_names;
        int n = f == 3 ? 12 : 7;
        for (int i = 0; i < n; i++)
            if (upcase(p[0]) == names[i][0] && upcase(p[1]) == names[i][1] &&
                upcase(p[2]) == names[i][2]) {
                *out = f == 3 ? i + 1 : i;
                *pp = p + 3;
                return 0;
            }
    }
    return cron_fail(c, f, p,
                     f == 3   ? "expected a number or a month name (JAN-DEC)"
                     : f == 4 ? "expected a number or a day name (SUN-SAT)"
                              : "expected a number or '*'");
}

/* One field (between blanks): comma-separated items. Sets *bits, *any. */
static int cron_field(const struct cron_ctx *c, int f, const char *p, const char *end,
                      uint64_t *bits, bool *any)
{
    *bits = 0;
    *any = false;
    for (;;) {
        const char *item = p;
        int lo, hi, step = 1;
        bool star = false;
        if (*p == '*') {
            star = true;
            lo = field_lo[f];
            hi = f == 4 ? 6 : field_hi[f];
            p++;
        } else {
            if (cron_value(c, f, &p, &lo) < 0)
                return -BK_EINVAL;
            hi = lo;
            if (*p == '-') {
                const char *at = ++p;
                if (cron_value(c, f, &p, &hi) < 0)
                    return -BK_EINVAL;
                if (hi < lo)
                    return cron_fail(c, f, at, "range ends before it starts");
            }
        }
        if (*p == '/') {
            const char *at = ++p;
            if (*p < '0' || *p > '9')
                return cron_fail(c, f, at, "expected a step number after '/'");
            step = 0;
            while (*p >= '0' && *p <= '9' && step <= 1000)
                step = step * 10 + (*p++ - '0');
            if (step < 1 || step > field_hi[f])
                return cron_fail(c, f, at, "step out of range");
            if (!star && lo == hi)
                hi = f == 4 ? 6 : field_hi[f]; /* "5/15" = from 5 every 15 */
        }
        if (star && step == 1)
            *any = true;
        for (int v = lo; v <= hi; v += step)
            *bits |= 1ULL << (f == 4 && v == 7 ? 0 : v);
        if (p == end)
            return 0;
        if (*p != ',')
            return cron_fail(c, f, p, "unexpected character (expected ',' '-' '/' or a blank)");
        if (++p == end)
            return cron_fail(c, f, p, "list ends with ','");
        (void)item;
    }
}

int bk_sched_parse_cron(const char *s, struct bk_cron *out, struct bk_err *err)
{
    memset(out, 0, sizeof *out);
    if (!s)
        s = "";
    const char *macro = NULL;
    const char *t = s;
    while (*t == ' ' || *t == '\t')
        t++;
    if (*t == '@') {
        if (strcmp(t, "@hourly") == 0)
            macro = "0 * * * *";
        else if (strcmp(t, "@daily") == 0 || strcmp(t, "@midnight") == 0)
            macro = "0 0 * * *";
        else if (strcmp(t, "@weekly") == 0)
            macro = "0 0 * * 0";
        else if (strcmp(t, "@monthly") == 0)
            macro = "0 0 1 * *";
        else
            return bk_err_set(err, BK_EINVAL,
                              "cron \"%.60s\": unknown macro (@hourly @daily @weekly @monthly)", s);
        return bk_sched_parse_cron(macro, out, err);
    }
    struct cron_ctx c = {s, err};
    const char *fs[6], *fe[6];
    int nf = 0;
    for (const char *p = s; *p;) {
        if (*p == ' ' || *p == '\t') {
            p++;
            continue;
        }
        if (nf == 5)
            return bk_err_set(err, BK_EINVAL,
                              "cron \"%.60s\": column %d: more than 5 fields (minute hour "
                              "day-of-month month day-of-week)",
                              s, (int)(p - s) + 1);
        fs[nf] = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        fe[nf++] = p;
    }
    if (nf != 5)
        return bk_err_set(err, BK_EINVAL,
                          "cron \"%.60s\": %d field%s, expected 5 (minute hour day-of-month month "
                          "day-of-week)",
                          s, nf, nf == 1 ? "" : "s");
    uint64_t bits[5];
    bool any[5];
    for (int f = 0; f < 5; f++)
        if (cron_field(&c, f, fs[f], fe[f], &bits[f], &any[f]) < 0)
            return -BK_EINVAL;
    out->minutes = bits[0];
    out->hours = (uint32_t)bits[1];
    out->mdays = (uint32_t)bits[2];
    out->months = (uint16_t)bits[3];
    out->wdays = (uint8_t)bits[4];
    out->mday_any = any[2];
    out->wday_any = any[4];
    return 0;
}

/* Half the shortest gap between two consecutive times of a day (circular), at most 12 h. */
static int16_t cron_lead(const struct bk_cron *c)
{
    int prev = -1, first = -1, gap = WHOLE_DAY;
    for (int h = 0; h < 24; h++) {
        if (!(c->hours >> h & 1))
            continue;
        for (int m = 0; m < 60; m++) {
            if (!(c->minutes >> m & 1))
                continue;
            int t = h * 60 + m;
            if (prev >= 0 && t - prev < gap)
                gap = t - prev;
            if (first < 0)
                first = t;
            prev = t;
        }
    }
    if (first >= 0 && first + WHOLE_DAY - prev < gap)
        gap = first + WHOLE_DAY - prev;
    return (int16_t)(gap / 2 < MAX_LEAD_MIN ? gap / 2 : MAX_LEAD_MIN);
}

int bk_sched_parse(const char *spec, int64_t grace_s, struct bk_schedule *out, struct bk_err *err)
{
    memset(out, 0, sizeof *out);
    out->origin = BK_SCHED_CONFIGURED;
    out->grace_s = grace_s < 0 ? BK_SCHED_DEFAULT_GRACE_S : grace_s;
    out->confidence = 100;
    if (!spec)
        spec = "";
    if (strlen(spec) >= BK_SCHED_MAX_SPEC)
        return bk_err_set(err, BK_EINVAL, "schedule: longer than %d characters",
                          BK_SCHED_MAX_SPEC - 1);
    const char *t = spec;
    while (*t == ' ' || *t == '\t')
        t++;
    bool blank = false;
    for (const char *p = t; *p; p++)
        if (*p == ' ' || *p == '\t')
            blank = true;
    snprintf(out->spec, sizeof out->spec, "%s", t);
    if (*t == '@' || blank) {
        if (bk_sched_parse_cron(t, &out->cron, err) < 0)
            return -BK_EINVAL;
        out->kind = BK_SCHED_CRON;
        out->cron_lead_min = cron_lead(&out->cron);
        return 0;
    }
    int64_t every;
    if (bk_sched_parse_duration(t, &every, err) < 0)
        return -BK_EINVAL;
    if (every < 300)
        return bk_err_set(err, BK_EINVAL, "schedule \"%.40s\": every must be at least 5m", t);
    out->kind = BK_SCHED_EVERY;
    out->every_s = every;
    return 0;
}

const char *bk_sched_kind_name(enum bk_sched_kind k)
{
    switch (k) {
    case BK_SCHED_IRREGULAR:
        return "irregular";
    case BK_SCHED_DAILY:
        return "daily";
    case BK_SCHED_MULTI:
        return "several-daily";
    case BK_SCHED_WEEKLY:
        return "weekly";
    case BK_SCHED_MONTHLY:
        return "monthly";
    case BK_SCHED_EVERY:
        return "every";
    case BK_SCHED_CRON:
        return "cron";
    case BK_SCHED_UNKNOWN:
        break;
    }
    return "unknown";
}

struct sbuf {
    char *p;
    size_t n, len;
};

static void sb_add(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_add(struct sbuf *b, const char *fmt, ...)
{
    if (b->len >= b->n)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(b->p + b->len, b->n - b->len, fmt, ap);
    va_end(ap);
    if (w > 0)
        b->len += (size_t)w;
    if (w < 0 || b->len >= b->n)
        b->len = b->n - 1; /* truncated: the text ends there */
}

static void sb_windows(struct sbuf *b, const struct bk_schedule *s)
{
    if (s->nwin == 1 && s->win[0].len_min >= WHOLE_DAY)
        return;
    for (int i = 0; i < s->nwin && i < BK_SCHED_MAX_WINDOWS; i++) {
        int a = ((s->win[i].start_min % WHOLE_DAY) + WHOLE_DAY) % WHOLE_DAY,
            e = ((a + s->win[i].len_min) % WHOLE_DAY + WHOLE_DAY) % WHOLE_DAY;
        sb_add(b, "%s%02d:%02d", i ? ", " : " ", a / 60, a % 60);
        if (s->win[i].len_min > 0)
            sb_add(b, "-%02d:%02d", e / 60, e % 60);
    }
}

void bk_sched_describe(const struct bk_schedule *s, char *out, size_t outsz)
{
    struct sbuf b = {out, outsz, 0};
    if (!outsz)
        return;
    out[0] = '\0';
    switch (s->kind) {
    case BK_SCHED_DAILY:
        sb_add(&b, "daily");
        break;
    case BK_SCHED_MULTI:
        sb_add(&b, "%d times a day at", s->nwin);
        break;
    case BK_SCHED_WEEKLY:
        sb_add(&b, "weekly");
        for (int w = 1, k = 0, first = 1; k < 7; k++, w = (w + 1) % 7) /* Monday first */
            if (s->wdays >> w & 1) {
                sb_add(&b, "%s%c%c%c", first ? " " : ",", wday_names[w][0], wday_names[w][1] | 0x20,
                       wday_names[w][2] | 0x20);
                first = 0;
            }
        break;
    case BK_SCHED_MONTHLY: {
        sb_add(&b, "monthly on");
        int k = 0;
        for (int d = 1; d <= 31; d++)
            if (s->mdays >> d & 1)
                sb_add(&b, "%s%d", k++ ? "," : " ", d);
        if (s->mdays & 1)
            sb_add(&b, "%slast", k ? "," : " ");
        break;
    }
    case BK_SCHED_EVERY:
        sb_add(&b, "every %s", s->spec);
        return;
    case BK_SCHED_CRON:
        sb_add(&b, "cron %s", s->spec);
        return;
    case BK_SCHED_IRREGULAR:
        sb_add(&b, "irregular");
        return;
    case BK_SCHED_UNKNOWN:
        sb_add(&b, "unknown (not enough history)");
        return;
    }
    sb_windows(&b, s);
}

/* ---- learning ------------------------------------------------------------------------ */

struct learn {
    int pivot;    /* minutes: a backup day starts at local midnight + pivot */
    int64_t base; /* backup day of index 0 */
    uint8_t active[H];
    uint16_t runs[H];
};

static int64_t backup_day(const struct bk_tz *tz, int64_t utc_s, int pivot)
{
    return floor_div(utc_s + bk_tz_offset(tz, utc_s) - (int64_t)pivot * 60, DAY_S);
}

/* Middle of the widest empty stretch of the clock among the occupied minutes. */
static int find_pivot(const uint16_t *hist)
{
    int first = -1, prev = -1, best_gap = -1, pivot = 0;
    for (int m = 0; m < WHOLE_DAY; m++) {
        if (!hist[m])
            continue;
        if (prev >= 0 && m - prev > best_gap) {
            best_gap = m - prev;
            pivot = prev + best_gap / 2;
        }
        if (first < 0)
            first = m;
        prev = m;
    }
    if (first < 0)
        return 0;
    int wrap = first + WHOLE_DAY - prev;
    if (wrap > best_gap)
        pivot = (prev + wrap / 2) % WHOLE_DAY;
    return pivot;
}

static bool is_last_day(int64_t days)
{
    int y, m, d, y2, m2, d2;
    bk_civil_from_days(days, &y, &m, &d);
    bk_civil_from_days(days + 1, &y2, &m2, &d2);
    (void)y;
    (void)y2;
    (void)m;
    (void)m2;
    return d2 == 1;
}

static int mday_of(int64_t days)
{
    int y, m, d;
    bk_civil_from_days(days, &y, &m, &d);
    return d;
}

static bool day_matches(const struct bk_schedule *s, int64_t day)
{
    if (s->kind == BK_SCHED_MONTHLY) {
        int d = mday_of(day);
        return (s->mdays >> d & 1) || ((s->mdays & 1) && is_last_day(day));
    }
    return s->wdays >> wday_of(day) & 1;
}

/* Time-of-day windows from the runs' minutes (relative to the pivot, sorted). */
static void learn_windows(struct bk_schedule *s, const int16_t *rel, size_t nrel, int pivot,
                          int per_day, int days_with_runs)
{
    s->nwin = 1;
    s->win[0] = (struct bk_window){(int16_t)pivot, WHOLE_DAY, 0};
    if (nrel == 0 || per_day > BK_SCHED_MAX_WINDOWS)
        return;
    int n = per_day < 1 ? 1 : per_day;
    if ((size_t)n > nrel)
        n = (int)nrel;
    /* split after the n-1 widest gaps */
    size_t cut[BK_SCHED_MAX_WINDOWS + 1];
    size_t ncut = 0;
    for (int k = 0; k < n - 1; k++) {
        size_t best = 0;
        int bestgap = -1;
        for (size_t i = 1; i < nrel; i++) {
            int g = rel[i] - rel[i - 1];
            bool taken = false;
            for (size_t c = 0; c < ncut; c++)
                taken |= cut[c] == i;
            if (!taken && g > bestgap) {
                bestgap = g;
                best = i;
            }
        }
        if (bestgap <= 0)
            break;
        cut[ncut++] = best;
    }
    /* sort the cuts, then add the end */
    for (size_t i = 1; i < ncut; i++)
        for (size_t j = i; j > 0 && cut[j] < cut[j - 1]; j--) {
            size_t t = cut[j];
            cut[j] = cut[j - 1];
            cut[j - 1] = t;
        }
    cut[ncut++] = nrel;
    struct bk_window w[BK_SCHED_MAX_WINDOWS];
    int nw = 0;
    size_t a = 0;
    for (size_t c = 0; c < ncut; a = cut[c++]) {
        size_t size = cut[c] - a;
        if (ncut > 1 && size * 10 < (size_t)days_with_runs * 4)
            continue; /* ad-hoc runs */
        size_t trim = size >= 10 ? size / 10 : 0;
        int lo = rel[a + trim], hi = rel[cut[c] - 1 - trim];
        if (hi - lo > MAX_LEAD_MIN) { /* too spread to be a window */
            return;
        }
        w[nw++] = (struct bk_window){(int16_t)(pivot + lo), (int16_t)(hi - lo), 0};
    }
    if (nw == 0)
        return;
    for (int i = 0; i < nw; i++) {
        int prev_end = i == 0 ? w[nw - 1].start_min + w[nw - 1].len_min - WHOLE_DAY
                              : w[i - 1].start_min + w[i - 1].len_min;
        int quiet = w[i].start_min - prev_end;
        if (quiet < 0)
            quiet = 0;
        w[i].lead_min = (int16_t)(quiet / 2 < MAX_LEAD_MIN ? quiet / 2 : MAX_LEAD_MIN);
    }
    memcpy(s->win, w, (size_t)nw * sizeof w[0]);
    s->nwin = (uint8_t)nw;
}

static int confidence(int matched, int expected, int needed)
{
    if (expected <= 0)
        return 0;
    double c = (double)matched / expected * (matched >= needed ? 1.0 : (double)matched / needed);
    int v = (int)(c * 100 + 0.5);
    return v > 100 ? 100 : v;
}

void bk_sched_learn(const struct bk_learn_in *in, struct bk_schedule *out)
{
    memset(out, 0, sizeof *out);
    out->origin = BK_SCHED_LEARNED;
    out->grace_s = BK_SCHED_DEFAULT_GRACE_S;
    const struct bk_tz *tz = in->tz;
    const int64_t far = 100000000000000000LL;
    int64_t now_ms = in->now_ms < -far ? -far : in->now_ms > far ? far : in->now_ms;
    int64_t now_s = floor_div(now_ms, 1000), horizon_s = now_s - (int64_t)H * DAY_S;

    /* the runs inside the horizon, newest BK_SCHED_MAX_RUNS */
    size_t hi = in->nruns, lo;
    while (hi > 0 && floor_div(in->runs_ms[hi - 1], 1000) > now_s)
        hi--;
    lo = hi;
    while (lo > 0 && hi - lo < BK_SCHED_MAX_RUNS &&
           floor_div(in->runs_ms[lo - 1], 1000) >= horizon_s)
        lo--;
    /* local seconds of each run: one zone lookup per run, the hot loop of a cycle */
    int64_t local[BK_SCHED_MAX_RUNS];
    int16_t mins[BK_SCHED_MAX_RUNS], rel[BK_SCHED_MAX_RUNS];
    uint16_t hist[WHOLE_DAY] = {0};
    size_t nr = hi - lo;
    for (size_t i = 0; i < nr; i++) {
        int64_t t = floor_div(in->runs_ms[lo + i], 1000);
        local[i] = t + bk_tz_offset(tz, t);
        mins[i] = (int16_t)((local[i] - floor_div(local[i], DAY_S) * DAY_S) / 60);
        hist[mins[i]]++;
    }
    struct learn L = {.pivot = find_pivot(hist)};
    out->day_start_min = (int16_t)L.pivot;
    L.base = backup_day(tz, now_s, L.pivot) - (H - 1);
    memset(L.active, 0, sizeof L.active);
    memset(L.runs, 0, sizeof L.runs);
    for (size_t i = 0; i < nr; i++) {
        int64_t d = floor_div(local[i] - (int64_t)L.pivot * 60, DAY_S) - L.base;
        if (d >= 0 && d < H) {
            L.active[d] = 1;
            if (L.runs[d] < UINT16_MAX)
                L.runs[d]++;
        }
    }
    if (in->bar && in->bar_as_of_ms > 0) {
        size_t n = strlen(in->bar);
        int64_t last_utc_day = floor_div(in->bar_as_of_ms, 86400000);
        int64_t rep = nr ? floor_div(in->runs_ms[hi - 1], 1000) : 0;
        int64_t rep_sod = nr ? rep - floor_div(rep, DAY_S) * DAY_S : DAY_S / 2;
        for (size_t k = 0; k < n && k < H + 2; k++) {
            char ch = in->bar[n - 1 - k];
            if (ch < '1' || ch > '9')
                continue;
            int64_t utc = (last_utc_day - (int64_t)k) * DAY_S + rep_sod;
            int64_t d = backup_day(tz, utc, L.pivot) - L.base;
            if (d >= 0 && d < H)
                L.active[d] = 1;
        }
    }
    int first = -1, last = -1, nact = 0;
    for (int i = 0; i < H; i++)
        if (L.active[i]) {
            if (first < 0)
                first = i;
            last = i;
            nact++;
        }
    out->evidence = nact;
    if (nact < BK_SCHED_MIN_EVIDENCE)
        return; /* UNKNOWN */
    int span = last - first + 1;
    int occ[32] = {0}, act[32] = {0};

    enum bk_sched_kind kind = BK_SCHED_IRREGULAR;
    int matched = 0, expected = 0, needed = 14;
    if (span >= 4 && nact >= 4 && nact * 100 >= 75 * span) {
        kind = BK_SCHED_DAILY;
        out->wdays = 0x7f;
        matched = nact;
        expected = span;
    }
    if (kind == BK_SCHED_IRREGULAR && span >= 14) {
        for (int i = first; i <= last; i++) {
            int w = wday_of(L.base + i);
            occ[w]++;
            act[w] += L.active[i];
        }
        uint8_t chosen = 0;
        bool clean = true;
        int outside = 0, m = 0, e = 0;
        for (int w = 0; w < 7; w++) {
            if (act[w] * 10 >= occ[w] * 6 && occ[w] > 0) {
                chosen |= (uint8_t)(1u << w);
                m += act[w];
                e += occ[w];
            } else {
                outside += act[w];
                clean &= act[w] * 4 <= occ[w];
            }
        }
        if (chosen && clean && outside * 100 <= 15 * nact) {
            kind = chosen == 0x7f ? BK_SCHED_DAILY : BK_SCHED_WEEKLY;
            out->wdays = chosen;
            matched = m;
            expected = e;
            needed = 4 * popcount64(chosen);
            if (needed > 14)
                needed = 14;
        }
    }
    if (kind == BK_SCHED_IRREGULAR && span >= 45) {
        memset(occ, 0, sizeof occ);
        memset(act, 0, sizeof act);
        for (int i = first; i <= last; i++) {
            int d = mday_of(L.base + i);
            occ[d]++;
            act[d] += L.active[i];
            if (is_last_day(L.base + i)) {
                occ[0]++;
                act[0] += L.active[i];
            }
        }
        uint32_t chosen = 0;
        for (int d = 0; d < 32; d++)
            if (occ[d] >= 2 && act[d] * 10 >= occ[d] * 6)
                chosen |= 1u << d;
        if (chosen & 1)
            chosen &= ~(0xfu << 28);
        if (chosen && popcount64(chosen) <= 10) {
            struct bk_schedule probe = {.kind = BK_SCHED_MONTHLY, .mdays = chosen};
            int m = 0, e = 0;
            for (int i = first; i <= last; i++)
                if (day_matches(&probe, L.base + i)) {
                    e++;
                    m += L.active[i];
                }
            if ((nact - m) * 100 <= 15 * nact) {
                kind = BK_SCHED_MONTHLY;
                out->mdays = chosen;
                matched = m;
                expected = e;
                needed = 3;
            }
        }
    }
    out->kind = kind;
    if (kind == BK_SCHED_IRREGULAR) {
        out->confidence = confidence(nact, nact, 14);
        return;
    }
    out->confidence = confidence(matched, expected, needed);

    /* times of day, from the runs on scheduled days */
    uint16_t per[H];
    int ndays = 0;
    size_t nrel = 0;
    for (int i = first; i <= last; i++)
        if (L.runs[i] && day_matches(out, L.base + i))
            per[ndays++] = L.runs[i];
    /* counting sort of the qualifying runs' minutes, relative to the pivot */
    memset(hist, 0, sizeof hist);
    bool all_days = out->kind == BK_SCHED_DAILY;
    for (size_t i = 0; i < nr; i++) {
        int64_t d = floor_div(local[i] - (int64_t)L.pivot * 60, DAY_S);
        if (d - L.base >= first && d - L.base <= last && (all_days || day_matches(out, d)))
            hist[(mins[i] - L.pivot + WHOLE_DAY) % WHOLE_DAY]++;
    }
    for (int m = 0; m < WHOLE_DAY; m++)
        for (int c = 0; c < hist[m]; c++)
            rel[nrel++] = (int16_t)m;
    int per_day = 0;
    if (ndays > 0) {
        for (int i = 1; i < ndays; i++) /* insertion sort: at most H values */
            for (int j = i; j > 0 && per[j] < per[j - 1]; j--) {
                uint16_t t = per[j];
                per[j] = per[j - 1];
                per[j - 1] = t;
            }
        per_day = per[ndays / 2];
    }
    out->per_day = per_day;
    learn_windows(out, rel, nrel, L.pivot, per_day, ndays);
    if (out->kind == BK_SCHED_DAILY && out->nwin > 1)
        out->kind = BK_SCHED_MULTI;
    /* Every window after midnight (a 03:00 job's day starts at 15:00): name the days by the
     * calendar day the runs happen on, so "weekly Sun 03:00" is Sunday 03:00. */
    bool after_midnight = true;
    for (int i = 0; i < out->nwin; i++)
        after_midnight &= out->win[i].start_min >= WHOLE_DAY;
    if (after_midnight) {
        for (int i = 0; i < out->nwin; i++)
            out->win[i].start_min = (int16_t)(out->win[i].start_min - WHOLE_DAY);
        out->wdays = (uint8_t)(((out->wdays << 1) | (out->wdays >> 6)) & 0x7f);
        uint32_t md = out->mdays, shifted = (md << 1) & ~1u;
        if ((md & 1) || (md >> 31 & 1))
            shifted |= 1u << 1; /* the day after the last day / the 31st is the 1st */
        out->mdays = shifted;
    }
}

size_t bk_sched_merge_bar(const int64_t *runs_ms, size_t nruns, const char *bar,
                          int64_t bar_as_of_ms, int64_t *out, size_t cap)
{
    if (bar_as_of_ms > 100000000000000000LL) /* ~3 million years: keeps day * 86400000 sane */
        bar_as_of_ms = 100000000000000000LL;
    size_t n = bar && bar_as_of_ms > 0 ? strlen(bar) : 0, k = 0, j = 0;
    int64_t last_day = floor_div(bar_as_of_ms, 86400000);
    int64_t sod =
        nruns ? runs_ms[nruns - 1] - floor_div(runs_ms[nruns - 1], 86400000) * 86400000 : 43200000;
    if (n > H + 2)
        n = H + 2;
    size_t len = bar ? strlen(bar) : 0;
    /* the bar's days oldest first, merged with the runs (both ascending) */
    for (size_t i = n; i-- > 0 && k < cap;) {
        char ch = bar[len - 1 - i];
        int64_t day = last_day - (int64_t)i;
        while (j < nruns && runs_ms[j] < day * 86400000 && k < cap)
            out[k++] = runs_ms[j++];
        bool has_run = j < nruns && runs_ms[j] < (day + 1) * 86400000;
        if (ch >= '1' && ch <= '9' && !has_run && k < cap) {
            int64_t t = day * 86400000 + sod;
            out[k++] = t < bar_as_of_ms ? t : bar_as_of_ms;
        }
    }
    while (j < nruns && k < cap)
        out[k++] = runs_ms[j++];
    return k;
}

/* ---- slots --------------------------------------------------------------------------- */

struct emit {
    struct bk_slot *out;
    size_t cap, n;
    int64_t from_s, to_s, last_s;
};

/* Adds a slot (times in UTC seconds); false once full. */
static bool emit(struct emit *e, int64_t start, int64_t open, int64_t close, int64_t due)
{
    if (start < e->from_s || start >= e->to_s || start <= e->last_s)
        return true;
    if (e->n == e->cap)
        return false;
    /* odd zone rules (a DST shorter than a day) can bend the conversions: keep the order */
    open = open < start ? open : start;
    close = close > start ? close : start;
    due = due > close ? due : close;
    e->out[e->n++] =
        (struct bk_slot){start * 1000, open * 1000, close * 1000, due * 1000, -1, BK_SLOT_EXPECTED};
    e->last_s = start;
    return e->n < e->cap;
}

static bool cron_day(const struct bk_cron *c, int64_t day)
{
    int y, m, d;
    bk_civil_from_days(day, &y, &m, &d);
    if (!(c->months >> m & 1))
        return false;
    bool md = c->mdays >> d & 1, wd = c->wdays >> wday_of(day) & 1;
    if (c->mday_any && c->wday_any)
        return true;
    if (c->mday_any)
        return wd;
    if (c->wday_any)
        return md;
    return md || wd;
}

size_t bk_sched_slots(const struct bk_schedule *s, const struct bk_tz *tz, int64_t from_ms,
                      int64_t to_ms, struct bk_slot *out, size_t cap)
{
    const int64_t far = 100000000000000000LL; /* ~3 million years, in ms */
    from_ms = from_ms < -far ? -far : from_ms > far ? far : from_ms;
    to_ms = to_ms < -far ? -far : to_ms > far ? far : to_ms;
    struct emit e = {out,      cap, 0, floor_div(from_ms, 1000), floor_div(to_ms + 999, 1000),
                     INT64_MIN};
    if (cap == 0 || to_ms <= from_ms)
        return 0;
    if (e.to_s - e.from_s > 3700LL * DAY_S) /* ten years is more than anyone lists */
        e.to_s = e.from_s + 3700LL * DAY_S;
    int64_t d0 = floor_div(e.from_s + bk_tz_offset(tz, e.from_s), DAY_S) - 2;
    int64_t d1 = floor_div(e.to_s + bk_tz_offset(tz, e.to_s), DAY_S) + 1;
    /* a schedule read back from the store may be anything: stay in bounds */
    int64_t grace = s->grace_s < 0 ? 0 : s->grace_s > 366LL * DAY_S ? 366LL * DAY_S : s->grace_s;
    int nwin = s->nwin > BK_SCHED_MAX_WINDOWS ? BK_SCHED_MAX_WINDOWS : s->nwin;
    switch (s->kind) {
    case BK_SCHED_DAILY:
    case BK_SCHED_MULTI:
    case BK_SCHED_WEEKLY:
    case BK_SCHED_MONTHLY:
        for (int64_t d = d0; d <= d1; d++) {
            if (!day_matches(s, d))
                continue;
            for (int i = 0; i < nwin; i++) {
                const struct bk_window *w = &s->win[i];
                int64_t local = d * DAY_S + (int64_t)w->start_min * 60;
                int64_t start = bk_tz_local_to_utc(tz, local);
                int64_t open = bk_tz_local_to_utc(tz, local - (int64_t)w->lead_min * 60);
                int64_t end = bk_tz_local_to_utc(tz, local + (int64_t)w->len_min * 60);
                /* a run late by more than half the quiet time belongs to the next slot */
                int next_lead = s->win[i + 1 < nwin ? i + 1 : 0].lead_min;
                int64_t late = grace < next_lead * 60 ? grace : next_lead * 60;
                if (!emit(&e, start, open, end + late, end + grace))
                    return e.n;
            }
        }
        break;
    case BK_SCHED_EVERY: {
        int64_t ev = s->every_s;
        if (ev < 60 || ev > 366LL * DAY_S)
            break;
        if (DAY_S % ev == 0 || ev % DAY_S == 0) { /* aligned on local midnight */
            int64_t nd = ev >= DAY_S ? ev / DAY_S : 1, anchor = nd % 7 == 0 ? 4 : 0;
            for (int64_t d = d0 - nd; d <= d1; d++) {
                if (((d - anchor) % nd + nd) % nd != 0)
                    continue;
                for (int64_t k = 0; k < (ev >= DAY_S ? 1 : DAY_S / ev); k++) {
                    int64_t local = d * DAY_S + (int64_t)s->day_start_min * 60 + k * ev;
                    int64_t start = bk_tz_local_to_utc(tz, local);
                    int64_t end = bk_tz_local_to_utc(tz, local + ev);
                    if (!emit(&e, start, start, end, end + grace))
                        return e.n;
                }
            }
        } else {
            for (int64_t t = floor_div(e.from_s, ev) * ev; t < e.to_s; t += ev)
                if (!emit(&e, t, t, t + ev, t + ev + grace))
                    return e.n;
        }
        break;
    }
    case BK_SCHED_CRON:
        for (int64_t d = d0; d <= d1; d++) {
            if (!cron_day(&s->cron, d))
                continue;
            for (int h = 0; h < 24; h++) {
                if (!(s->cron.hours >> h & 1))
                    continue;
                for (int m = 0; m < 60; m++) {
                    if (!(s->cron.minutes >> m & 1))
                        continue;
                    int64_t local = d * DAY_S + h * 3600 + m * 60;
                    int64_t start = bk_tz_local_to_utc(tz, local);
                    int64_t open = bk_tz_local_to_utc(tz, local - (int64_t)s->cron_lead_min * 60);
                    int64_t late = grace < s->cron_lead_min * 60 ? grace : s->cron_lead_min * 60;
                    if (!emit(&e, start, open, start + late, start + grace))
                        return e.n;
                }
            }
        }
        break;
    case BK_SCHED_UNKNOWN:
    case BK_SCHED_IRREGULAR:
        break;
    }
    return e.n;
}

static size_t lower_bound(const int64_t *v, size_t n, int64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

size_t bk_sched_check(const struct bk_schedule *s, const struct bk_tz *tz, const int64_t *runs_ms,
                      size_t nruns, int64_t from_ms, int64_t to_ms, int64_t now_ms,
                      struct bk_slot *out, size_t cap)
{
    size_t n = bk_sched_slots(s, tz, from_ms, to_ms, out, cap);
    size_t next_free = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = lower_bound(runs_ms, nruns, out[i].open_ms);
        if (j < next_free)
            j = next_free;
        if (j < nruns && runs_ms[j] < out[i].close_ms && runs_ms[j] <= now_ms) {
            out[i].state = BK_SLOT_RAN;
            out[i].run = (int32_t)j;
            next_free = j + 1;
        } else {
            out[i].state = out[i].due_ms <= now_ms ? BK_SLOT_MISSED : BK_SLOT_EXPECTED;
        }
    }
    return n;
}

/* ---- durations ----------------------------------------------------------------------- */

void bk_sched_format_duration(int64_t ms, char *out, size_t outsz)
{
    if (ms < 0)
        ms = 0;
    int64_t s = (ms + 500) / 1000, mins = (s + 30) / 60;
    if (s < 90)
        snprintf(out, outsz, "%lld s", (long long)s);
    else if (mins < 60)
        snprintf(out, outsz, "%lld min", (long long)mins);
    else if (s < 48 * 3600) {
        int64_t h = mins / 60, m = mins % 60;
        if (h < 10 && m)
            snprintf(out, outsz, "%lld h %lld min", (long long)h, (long long)m);
        else
            snprintf(out, outsz, "%lld h", (long long)((mins + 30) / 60));
    } else
        snprintf(out, outsz, "%lld d", (long long)((s + DAY_S / 2) / DAY_S));
}

/* The k-th smallest of v[0..n) (Hoare's quickselect; reorders v). */
static int64_t select_kth(int64_t *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        int64_t pivot = v[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                int64_t t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            break;
    }
    return v[k];
}

int bk_sched_duration_anomaly(const int64_t *hist_ms, size_t n, int64_t duration_ms,
                              const struct bk_dur_opts *o, char *reason, size_t rsz)
{
    if (rsz)
        reason[0] = '\0';
    double factor = o && o->factor > 1 ? o->factor : 3.0;
    int64_t min_delta = o && o->min_delta_ms > 0 ? o->min_delta_ms : 5 * 60000;
    size_t min_samples = o && o->min_samples ? o->min_samples : 5;
    int64_t v[1024];
    size_t k = 0;
    for (size_t i = n > 1024 ? n - 1024 : 0; i < n; i++)
        if (hist_ms[i] >= 0)
            v[k++] = hist_ms[i];
    if (k < min_samples || duration_ms < 0)
        return 0;
    int64_t med = select_kth(v, k, k / 2); /* the upper median: no sort, O(n) */
    int64_t delta = duration_ms > med ? duration_ms - med : med - duration_ms;
    bool odd =
        (double)duration_ms * factor < (double)med || (double)duration_ms > (double)med * factor;
    if (!odd || delta < min_delta)
        return 0;
    char a[32], b[32];
    bk_sched_format_duration(duration_ms, a, sizeof a);
    bk_sched_format_duration(med, b, sizeof b);
    if (rsz)
        snprintf(reason, rsz, "ran %s, usually %s", a, b);
    return 1;
}

/* ---- stale --------------------------------------------------------------------------- */

int64_t bk_sched_period_s(const struct bk_schedule *s, const char *kind)
{
    int64_t p = kind && strcmp(kind, "workstation") == 0 ? 3 * DAY_S : DAY_S;
    if (!s)
        return p;
    switch (s->kind) {
    case BK_SCHED_DAILY:
        return DAY_S;
    case BK_SCHED_MULTI: {
        int gap = 0, nwin = s->nwin > BK_SCHED_MAX_WINDOWS ? BK_SCHED_MAX_WINDOWS : s->nwin;
        for (int i = 0; i < nwin; i++) {
            int next = i + 1 < nwin ? s->win[i + 1].start_min : s->win[0].start_min + WHOLE_DAY;
            if (next - s->win[i].start_min > gap)
                gap = next - s->win[i].start_min;
        }
        return gap > 0 && gap <= WHOLE_DAY ? (int64_t)gap * 60 : DAY_S;
    }
    case BK_SCHED_WEEKLY: {
        int gap = 0;
        for (int w = 0; w < 7; w++) {
            if (!(s->wdays >> w & 1))
                continue;
            int k = 1;
            while (k < 7 && !(s->wdays >> ((w + k) % 7) & 1))
                k++;
            if (k > gap)
                gap = k;
        }
        return gap > 0 ? (int64_t)gap * DAY_S : 7 * DAY_S;
    }
    case BK_SCHED_MONTHLY:
        return 31 * DAY_S;
    case BK_SCHED_EVERY:
        return s->every_s >= 60 && s->every_s <= 366LL * DAY_S ? s->every_s : DAY_S;
    case BK_SCHED_CRON: {
        /* the days of the week or month it runs on; finer crons still allow a day */
        if (!s->cron.mday_any || s->cron.months != 0x1ffe)
            return 31 * DAY_S;
        if (!s->cron.wday_any) {
            struct bk_schedule w = {.kind = BK_SCHED_WEEKLY, .wdays = s->cron.wdays};
            return bk_sched_period_s(&w, kind);
        }
        return DAY_S;
    }
    case BK_SCHED_UNKNOWN:
    case BK_SCHED_IRREGULAR:
        break;
    }
    return p;
}

void bk_sched_stale_defaults(const struct bk_schedule *s, const char *kind,
                             struct bk_stale_opts *out)
{
    int64_t p = bk_sched_period_s(s, kind);
    out->warn_ms = (p + 7200) * 1000;
    out->crit_ms = (2 * p + 7200) * 1000;
}

enum bk_fresh bk_sched_freshness(int64_t last_run_ms, int64_t first_seen_ms, int64_t now_ms,
                                 const struct bk_stale_opts *o)
{
    int64_t warn = o && o->warn_ms > 0 ? o->warn_ms : 26 * 3600000LL;
    int64_t crit = o && o->crit_ms > 0 ? o->crit_ms : 50 * 3600000LL;
    if (last_run_ms <= 0)
        return first_seen_ms > 0 && now_ms - first_seen_ms <= crit ? BK_FRESH_NEVER_NEW
                                                                   : BK_FRESH_NEVER_OLD;
    int64_t age = now_ms - last_run_ms;
    return age > crit ? BK_FRESH_STALE : age > warn ? BK_FRESH_OLD : BK_FRESH_OK;
}

/* ---- offline ------------------------------------------------------------------------- */

void bk_sched_offline(const char *bar, int64_t bar_as_of_ms, int64_t last_session_ms,
                      int64_t now_ms, int warn_days, int error_days, struct bk_offline *out)
{
    memset(out, 0, sizeof *out);
    if (warn_days <= 0)
        warn_days = 3;
    if (error_days <= 0)
        error_days = 7;
    int64_t today = floor_div(now_ms, 86400000), last = INT64_MIN;
    size_t n = bar && bar_as_of_ms > 0 ? strlen(bar) : 0;
    int64_t bar_day = floor_div(bar_as_of_ms, 86400000);
    for (size_t k = 0; k < n; k++)
        if (bar[n - 1 - k] >= '1' && bar[n - 1 - k] <= '9') {
            last = bar_day - (int64_t)k;
            break;
        }
    if (last_session_ms > 0 && floor_div(last_session_ms, 86400000) > last)
        last = floor_div(last_session_ms, 86400000);
    int64_t days;
    if (last != INT64_MIN) {
        days = today - last;
    } else if (n > 0) {
        days = today - bar_day + (int64_t)n;
        out->at_least = true;
    } else {
        out->level = BK_OFFLINE_NEVER;
        out->days = -1;
        snprintf(out->reason, sizeof out->reason, "never backed up");
        return;
    }
    if (days < 0)
        days = 0;
    if (days > 100000)
        days = 100000;
    out->days = (int)days;
    out->level = days >= error_days  ? BK_OFFLINE_ERROR
                 : days >= warn_days ? BK_OFFLINE_WARNING
                                     : BK_OFFLINE_OK;
    if (out->level != BK_OFFLINE_OK)
        snprintf(out->reason, sizeof out->reason, "offline: no backup for %s%d days",
                 out->at_least ? "at least " : "", out->days);
}

/* ---- vendor policy ------------------------------------------------------------------- */

bool bk_sched_policy(const struct bk_schedule *learned, int64_t rpo_s, const char *kind,
                     struct bk_schedule *out)
{
    if (rpo_s < 60 || rpo_s > 366LL * DAY_S)
        return false;
    bool none =
        !learned || learned->kind == BK_SCHED_UNKNOWN || learned->kind == BK_SCHED_IRREGULAR;
    if (!none && bk_sched_period_s(learned, kind) <= rpo_s)
        return false;
    char spec[32];
    if (rpo_s % DAY_S == 0)
        snprintf(spec, sizeof spec, "%lldd", (long long)(rpo_s / DAY_S));
    else if (rpo_s % 3600 == 0)
        snprintf(spec, sizeof spec, "%lldh", (long long)(rpo_s / 3600));
    else if (rpo_s % 60 == 0)
        snprintf(spec, sizeof spec, "%lldm", (long long)(rpo_s / 60));
    else
        snprintf(spec, sizeof spec, "%llds", (long long)rpo_s);
    struct bk_schedule s;
    if (bk_sched_parse(spec, -1, &s, NULL) < 0 || s.kind != BK_SCHED_EVERY)
        return false;
    s.origin = BK_SCHED_POLICY;
    s.confidence = 0;
    if (learned)
        s.day_start_min = learned->day_start_min;
    *out = s;
    return true;
}
