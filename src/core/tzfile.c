/* TZif (RFC 8536) and POSIX TZ rule reader; see tzfile.h for why it exists. */
#define _POSIX_C_SOURCE 200809L
#include "core/tzfile.h"

#include "util/err.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TZ_MAX_TIMES 8192 /* Fat files hold a few hundred; more is a corrupt file. */
#define TZ_MAX_TYPES 256
#define TZ_MAX_FILE (1 << 20)

/* One transition date of a POSIX rule. */
struct rule_date {
    char form; /* 'M' month.week.day, 'J' Julian 1-365 without Feb 29, 'D' zero-based day */
    int m, w, d, n;
    int32_t time; /* local seconds after midnight, may be negative or > 24 h */
};

struct posix_rule {
    int32_t std_off, dst_off; /* seconds east of UTC */
    bool has_dst;
    struct rule_date start, end;
};

struct bk_tz {
    char name[64];
    size_t n; /* transitions */
    int64_t *at;
    uint8_t *idx;
    size_t ntypes;
    int32_t type_off[TZ_MAX_TYPES];
    bool has_rule;
    struct posix_rule rule;
};

static struct bk_tz utc_zone = {.name = "UTC", .has_rule = true};

const struct bk_tz *bk_tz_utc(void)
{
    return &utc_zone;
}

void bk_tz_free(struct bk_tz *tz)
{
    if (!tz || tz == &utc_zone)
        return;
    free(tz->at);
    free(tz->idx);
    free(tz);
}

const char *bk_tz_name(const struct bk_tz *tz)
{
    return tz ? tz->name : "UTC";
}

void bk_civil_from_days(int64_t z, int *year, int *month, int *day)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    *year = (int)((int64_t)yoe + era * 400 + (m <= 2));
    *month = (int)m;
    *day = (int)d;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* ---- POSIX rules --------------------------------------------------------------------- */

static const char *parse_abbr(const char *p)
{
    if (*p == '<') {
        const char *q = strchr(p, '>');
        return q && q - p >= 2 ? q + 1 : NULL;
    }
    const char *q = p;
    while ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z'))
        q++;
    return q - p >= 3 ? q : NULL;
}

static const char *parse_num(const char *p, int lo, int hi, int *out)
{
    if (*p < '0' || *p > '9')
        return NULL;
    int v = 0;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (*p++ - '0');
        if (v > hi)
            return NULL;
    }
    if (v < lo)
        return NULL;
    *out = v;
    return p;
}

/* [+-]hh[:mm[:ss]], hours up to max_h. */
static const char *parse_hms(const char *p, int max_h, int32_t *out)
{
    int sign = 1, h, m = 0, s = 0;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    if (!(p = parse_num(p, 0, max_h, &h)))
        return NULL;
    if (*p == ':') {
        if (!(p = parse_num(p + 1, 0, 59, &m)))
            return NULL;
        if (*p == ':' && !(p = parse_num(p + 1, 0, 59, &s)))
            return NULL;
    }
    *out = sign * (h * 3600 + m * 60 + s);
    return p;
}

static const char *parse_date(const char *p, struct rule_date *r)
{
    memset(r, 0, sizeof *r);
    if (*p == 'M') {
        r->form = 'M';
        if (!(p = parse_num(p + 1, 1, 12, &r->m)) || *p != '.' ||
            !(p = parse_num(p + 1, 1, 5, &r->w)) || *p != '.' ||
            !(p = parse_num(p + 1, 0, 6, &r->d)))
            return NULL;
    } else if (*p == 'J') {
        r->form = 'J';
        if (!(p = parse_num(p + 1, 1, 365, &r->n)))
            return NULL;
    } else {
        r->form = 'D';
        if (!(p = parse_num(p, 0, 365, &r->n)))
            return NULL;
    }
    r->time = 7200;
    if (*p == '/' && !(p = parse_hms(p + 1, 167, &r->time)))
        return NULL;
    return p;
}

static int parse_rule(const char *s, struct posix_rule *r)
{
    memset(r, 0, sizeof *r);
    const char *p = parse_abbr(s);
    int32_t off;
    if (!p || !(p = parse_hms(p, 24, &off)))
        return -1;
    r->std_off = r->dst_off = -off; /* POSIX counts west of UTC */
    if (!*p)
        return 0;
    if (!(p = parse_abbr(p)))
        return -1;
    r->has_dst = true;
    r->dst_off = r->std_off + 3600;
    if (*p && *p != ',') {
        if (!(p = parse_hms(p, 24, &off)))
            return -1;
        r->dst_off = -off;
    }
    if (!*p) { /* no rule given: the POSIX default is the US rule */
        parse_date("M3.2.0", &r->start);
        parse_date("M11.1.0", &r->end);
        return 0;
    }
    if (*p != ',' || !(p = parse_date(p + 1, &r->start)) || *p != ',' ||
        !(p = parse_date(p + 1, &r->end)) || *p)
        return -1;
    return 0;
}

/* Local midnight (as days) of a rule date in year y. */
static int64_t rule_day(const struct rule_date *r, int64_t y)
{
    int64_t jan1 = bk_days_from_civil(y, 1, 1);
    if (r->form == 'J')
        return jan1 + r->n - 1 + (is_leap(y) && r->n >= 60 ? 1 : 0);
    if (r->form == 'D')
        return jan1 + r->n;
    int64_t first = bk_days_from_civil(y, (unsigned)r->m, 1);
    int64_t next =
        r->m == 12 ? bk_days_from_civil(y + 1, 1, 1) : bk_days_from_civil(y, (unsigned)r->m + 1, 1);
    int wday = (int)((first % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
    int64_t day = first + (r->d - wday + 7) % 7 + (int64_t)(r->w - 1) * 7;
    while (day >= next)
        day -= 7;
    return day;
}

static int32_t rule_offset(const struct posix_rule *r, int64_t t)
{
    if (!r->has_dst)
        return r->std_off;
    const int64_t far = (int64_t)1 << 40; /* ~35,000 years: keeps the arithmetic in range */
    t = t < -far ? -far : t > far ? far : t;
    int y, m, d;
    bk_civil_from_days(floor_div(t + r->std_off, 86400), &y, &m, &d);
    int64_t start = rule_day(&r->start, y) * 86400 + r->start.time - r->std_off;
    int64_t end = rule_day(&r->end, y) * 86400 + r->end.time - r->dst_off;
    bool dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
    return dst ? r->dst_off : r->std_off;
}

int bk_tz_parse_posix(const char *rule, struct bk_tz **out, struct bk_err *err)
{
    struct posix_rule r;
    if (!rule || parse_rule(rule, &r) < 0)
        return bk_err_set(err, BK_EINVAL, "time zone rule \"%.40s\" is not a POSIX TZ rule",
                          rule ? rule : "");
    struct bk_tz *tz = xcalloc(1, sizeof *tz);
    snprintf(tz->name, sizeof tz->name, "%s", rule);
    tz->has_rule = true;
    tz->rule = r;
    *out = tz;
    return 0;
}

/* ---- TZif ---------------------------------------------------------------------------- */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_hdr {
    int version;
    uint32_t isut, isstd, leap, time, type, chars;
};

static int read_hdr(const uint8_t *p, size_t n, struct tzif_hdr *h)
{
    if (n < 44 || memcmp(p, "TZif", 4) != 0)
        return -1;
    h->version = p[4] ? p[4] - '0' : 1;
    h->isut = be32(p + 20);
    h->isstd = be32(p + 24);
    h->leap = be32(p + 28);
    h->time = be32(p + 32);
    h->type = be32(p + 36);
    h->chars = be32(p + 40);
    if (h->time > TZ_MAX_TIMES || h->type == 0 || h->type > TZ_MAX_TYPES || h->chars > 4096 ||
        h->leap > 4096 || h->isut > h->type || h->isstd > h->type)
        return -1;
    return 0;
}

static size_t block_len(const struct tzif_hdr *h, size_t tsize)
{
    return h->time * tsize + h->time + h->type * 6 + h->chars + h->leap * (tsize + 4) + h->isstd +
           h->isut;
}

int bk_tz_parse_tzif(const char *name, const uint8_t *data, size_t n, struct bk_tz **out,
                     struct bk_err *err)
{
    struct tzif_hdr h;
    const char *nm = name ? name : "zone";
    if (read_hdr(data, n, &h) < 0)
        return bk_err_set(err, BK_EINVAL, "%s: not a TZif file", nm);
    size_t tsize = 4, off = 44;
    if (h.version >= 2) { /* skip the 32-bit block, read the 64-bit one */
        off += block_len(&h, 4);
        if (off > n || read_hdr(data + off, n - off, &h) < 0)
            return bk_err_set(err, BK_EINVAL, "%s: truncated TZif file", nm);
        off += 44;
        tsize = 8;
    }
    if (block_len(&h, tsize) > n - off)
        return bk_err_set(err, BK_EINVAL, "%s: truncated TZif file", nm);
    const uint8_t *times = data + off, *idx = times + h.time * tsize, *types = idx + h.time;
    struct bk_tz *tz = xcalloc(1, sizeof *tz);
    snprintf(tz->name, sizeof tz->name, "%s", nm);
    tz->n = h.time;
    tz->ntypes = h.type;
    tz->at = xmalloc((h.time ? h.time : 1) * sizeof *tz->at);
    tz->idx = xmalloc(h.time ? h.time : 1);
    for (size_t i = 0; i < h.time; i++) {
        tz->at[i] = tsize == 8 ? be64(times + i * 8) : (int32_t)be32(times + i * 4);
        tz->idx[i] = idx[i];
        if (idx[i] >= h.type || (i > 0 && tz->at[i] <= tz->at[i - 1])) {
            bk_tz_free(tz);
            return bk_err_set(err, BK_EINVAL, "%s: corrupt TZif transitions", nm);
        }
    }
    for (size_t i = 0; i < h.type; i++) {
        int32_t o = (int32_t)be32(types + i * 6);
        if (o < -26 * 3600 || o > 26 * 3600) {
            bk_tz_free(tz);
            return bk_err_set(err, BK_EINVAL, "%s: corrupt TZif offset", nm);
        }
        tz->type_off[i] = o;
    }
    off += block_len(&h, tsize);
    /* The footer "\n<POSIX rule>\n" covers instants after the last transition. */
    if (tsize == 8 && off < n && data[off] == '\n') {
        const uint8_t *e = memchr(data + off + 1, '\n', n - off - 1);
        size_t len = e ? (size_t)(e - (data + off + 1)) : 0;
        if (e && len > 0 && len < 128) {
            char rule[128];
            memcpy(rule, data + off + 1, len);
            rule[len] = '\0';
            if (parse_rule(rule, &tz->rule) == 0)
                tz->has_rule = true;
        }
    }
    *out = tz;
    return 0;
}

static bool valid_name(const char *s)
{
    if (!*s || *s == '/' || strlen(s) > 60 || strstr(s, ".."))
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '+' || *p == '-' || *p == '/'))
            return false;
    return true;
}

static int load_file(const char *path, const char *name, struct bk_tz **out, struct bk_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return bk_err_set(err, errno == ENOENT ? BK_ENOTFOUND : BK_EIO, "time zone \"%s\": %s: %s",
                          name, path, strerror(errno));
    uint8_t *buf = xmalloc(TZ_MAX_FILE);
    size_t n = fread(buf, 1, TZ_MAX_FILE, f);
    fclose(f);
    int rc = bk_tz_parse_tzif(name, buf, n, out, err);
    free(buf);
    return rc;
}

int bk_tz_load(const char *name, struct bk_tz **out, struct bk_err *err)
{
    *out = NULL;
    if (!name || !*name) {
        const char *env = getenv("TZ");
        if (env && *env == ':')
            env++;
        if (env && *env) {
            if (valid_name(env) && bk_tz_load(env, out, NULL) == 0)
                return 0;
            return bk_tz_parse_posix(env, out, err);
        }
        /* /etc/localtime is usually a link into the zoneinfo tree: keep the zone's name */
        char link[256], nm[64] = "localtime";
        ssize_t n = readlink("/etc/localtime", link, sizeof link - 1);
        if (n > 0) {
            link[n] = '\0';
            const char *z = strstr(link, "zoneinfo/");
            if (z && valid_name(z + 9))
                snprintf(nm, sizeof nm, "%s", z + 9);
        }
        if (load_file("/etc/localtime", nm, out, NULL) == 0)
            return 0;
        name = "UTC";
    }
    if (!valid_name(name))
        return bk_err_set(err, BK_EINVAL, "time zone \"%.60s\" is not an IANA zone name", name);
    if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0) {
        struct bk_tz *tz = xcalloc(1, sizeof *tz);
        *tz = utc_zone;
        *out = tz;
        return 0;
    }
    const char *dir = getenv("TZDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    return load_file(path, name, out, err);
}

/* ---- lookups ------------------------------------------------------------------------- */

int32_t bk_tz_offset(const struct bk_tz *tz, int64_t t)
{
    if (!tz)
        return 0;
    if (tz->n == 0 || t < tz->at[0]) {
        if (tz->n == 0 && tz->has_rule)
            return rule_offset(&tz->rule, t);
        return tz->type_off[0];
    }
    if (t >= tz->at[tz->n - 1] && tz->has_rule)
        return rule_offset(&tz->rule, t);
    size_t lo = 0, hi = tz->n; /* the last transition <= t */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->at[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return tz->type_off[tz->idx[lo]];
}

void bk_tz_civil(const struct bk_tz *tz, int64_t utc_s, struct bk_civil *c)
{
    c->utoff = bk_tz_offset(tz, utc_s);
    int64_t local = utc_s + c->utoff;
    c->days = floor_div(local, 86400);
    c->sec_of_day = (int32_t)(local - c->days * 86400);
    bk_civil_from_days(c->days, &c->year, &c->month, &c->day);
    c->hour = c->sec_of_day / 3600;
    c->min = c->sec_of_day / 60 % 60;
    c->sec = c->sec_of_day % 60;
    c->wday = (int)((c->days % 7 + 11) % 7);
}

int64_t bk_tz_local_to_utc(const struct bk_tz *tz, int64_t local_s)
{
    /* Candidate offsets: those in force a day either side (real zones change at most once in
     * such a window) and, for odd rules with shorter DST, those at the naive guesses. An
     * offset o fits when the instant local - o really has offset o. */
    int32_t a = bk_tz_offset(tz, local_s - 86400), b = bk_tz_offset(tz, local_s + 86400);
    int32_t cand[4] = {a, b, bk_tz_offset(tz, local_s - a), bk_tz_offset(tz, local_s - b)};
    bool found = false;
    int64_t best = 0;
    for (int i = 0; i < 4; i++) {
        int64_t t = local_s - cand[i];
        if (bk_tz_offset(tz, t) == cand[i] && (!found || t < best)) {
            best = t; /* repeated hour: the first occurrence */
            found = true;
        }
    }
    return found ? best : local_s - a; /* skipped: the offset before the gap lands after it */
}
