/* cove-sim: a local stand-in for N-able Cove Data Protection's JSON-RPC API (POST /jsonapi),
 * for tests, demos and benchmarks. Facts it imitates: reference/cove-api.md §1–4, §6, §9.
 *
 * The fleet is generated from the seed into compact structs (one per device, a few statistics
 * blocks each) and every Settings value is computed on demand from them, so 100k devices cost
 * tens of MB and a page is written straight into a byte buffer, never through a JSON tree.
 * Sessions only move when a test says so (POST /__sim/advance), which keeps F00/F15 changes
 * exact; the clock is wall time plus whatever /__sim/advance added, and visas expire on it.
 * Server plumbing (TLS, faults, request log, signals) lives in simcore.c; the filter/totals
 * language and column spellings live in cove_expr.c. */
#include "simcore.h"
#include "cove_expr.h"

#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "util/buf.h"
#include "util/str.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#define BAR_DAYS 28
#define MAX_DS 4
#define MAX_DEVICES 1000000
#define MAX_ORDER 4
#define VISA_BUCKETS 4096
#define MAX_METHOD_STATS 64
#define RESP_MAX ((size_t)1 << 30)
#define ROOT_PARTNER_ID 1000
#define DEFAULT_PARTNER "Acme MSP (admin@acme.example)"
#define DEFAULT_USERNAME "backupctl-api"
#define DEFAULT_PASSWORD "sim-password"
#define XSS_NAME "<img src=x onerror=alert(1)>"

/* Cove's error.data values and messages (reference §6). */
#define ERR_VISA 1701
#define ERR_LOGIN 2100
#define ERR_SECURITY 13501
#define ERR_RATE 14409
#define ERR_UNKNOWN 19001 /* a code no reference source lists: clients must report it as is */
#define MSG_UNKNOWN "Internal error: storage statistics temporarily unavailable"
#define MSG_VISA "Visa is inconsistent/corrupted"
#define MSG_LOGIN "Unknown partner/username or bad password"
#define MSG_SECURITY "Operation failed because of security reasons"

/* One data source's statistics (or the D09 total). Timestamps are Unix seconds, 0 = none. */
struct ds_stat {
    uint8_t code;       /* D-number */
    uint8_t f00;        /* last session status */
    uint8_t f16;        /* last successful status */
    uint8_t f17;        /* last completed status */
    uint32_t f06;       /* errors of the last session */
    int64_t f09;        /* last successful session start */
    int64_t f15;        /* last session start */
    int64_t f18;        /* last completed session end */
    char bar[BAR_DAYS]; /* status digit per day; [BAR_DAYS-1] is the clock's current UTC day */
};

struct device {
    int64_t id;
    uint32_t partner;     /* index into cove.partners */
    uint32_t gen;         /* number in the generated names (dev-00001); 0 for scenario devices */
    char *name;           /* NULL: dev-<gen> */
    char *computer;       /* NULL: derived from gen and type */
    uint8_t os_type;      /* I32: 0 undefined (M365), 1 workstation, 2 server */
    uint8_t account_type; /* I59: 1 systems, 2 M365 */
    uint8_t nds;
    bool auto_deployed;
    uint32_t session_no;
    int64_t used, created, last_contact;
    struct ds_stat total;
    struct ds_stat ds[MAX_DS];
};

struct partner {
    int64_t id;
    ssize_t parent; /* index, -1 for the root */
    char *name;
    const char *level;
    int64_t created;
};

struct user {
    char *partner_name;
    char *username;
    char *password;
    int64_t id;
    size_t partner;
};

struct visa {
    char *s;
    size_t user;
    int64_t last_used;
    struct visa *next;
};

/* A column bar a client may not read: a whole data source (field < 0) or one column. */
struct forbid {
    struct cove_col col;
    bool whole_ds;
};

/* The last EnumerateAccountStatistics selection, so paging through 100k devices with an
 * OrderBy sorts once, not once per page. */
struct sel_cache {
    char *key;
    uint32_t *idx;
    size_t n;
};

/* How totalStatistics is written when Totals were asked for (reference §3.4 leaves the shape
 * open, §10): the client must trust only a count it can read. */
enum totals_shape {
    TOTALS_ARRAY,   /* [{"expr":"value"}, …] sorted by expression (the inferred shape) */
    TOTALS_NUMBERS, /* [{"expr":value}, …] with JSON numbers */
    TOTALS_OBJECT,  /* {"expr":"value", …} */
    TOTALS_NULL,    /* null, as if no Totals had been asked */
    TOTALS_OMIT,    /* no totalStatistics member at all */
    TOTALS_STRING,  /* "value" of the first expression, bare */
    TOTALS_NESTED,  /* [[{"expr":"value"}, …]] */
    TOTALS_GARBLED, /* [{"expr":"n/a"}, …] */
};
static const char *const totals_shape_names[] = {"array",  "numbers", "object",  "null", "omit",
                                                 "string", "nested",  "garbled", NULL};

struct cove {
    pthread_mutex_t lock;
    bool hostile_names; /* --hostile-names: device 8 is named XSS_NAME (tests, not the demo) */
    uint64_t seed;
    int64_t start;   /* wall-clock Unix seconds at start-up */
    int64_t offset;  /* seconds added by /__sim/advance */
    int64_t bar_day; /* UTC day number of bar[BAR_DAYS-1] */
    uint64_t generation;
    struct partner *partners;
    size_t npartners;
    struct device *devs; /* sorted by id */
    size_t ndevs;
    uint32_t next_gen;
    struct user *users;
    size_t nusers;
    struct visa *visas[VISA_BUCKETS];
    size_t nvisas;
    uint64_t visa_counter;
    int64_t visa_ttl;
    struct forbid *forbid;
    size_t nforbid;
    int64_t max_records;
    int64_t short_page_at; /* -1 = off */
    bool short_page_done;
    int64_t empty_page_at; /* -1 = off */
    bool empty_page_done;
    int totals_shape; /* enum totals_shape */
    struct sel_cache cache;
    int64_t logins, login_failures;
    struct {
        char name[64];
        int64_t n;
    } methods[MAX_METHOD_STATS];
    size_t nmethods;
};

/* ------------------------------------------------------------------------------------------ */
/* small helpers                                                                              */

static uint64_t splitmix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Deterministic "random" number for (device, purpose): the fleet depends only on the seed. */
static uint64_t rnd(const struct cove *c, uint64_t n, uint64_t salt)
{
    return splitmix(splitmix(c->seed ^ (n * 0x2545f4914f6cdd1dULL)) ^ salt);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t cove_now(const struct cove *c)
{
    return bk_now_ms() / 1000 + c->offset;
}

static char *dump(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(o);
    return s;
}

/* JSON string body (without quotes) for s, appended to b. Runs of plain bytes go in one call,
 * since this writes every Settings key and value of every page. */
static void esc_append(struct bk_buf *b, const char *s)
{
    const char *run = s;
    for (const char *p = s; *p != '\0'; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        bk_buf_append(b, run, (size_t)(p - run));
        if (ch == '"')
            bk_buf_appends(b, "\\\"");
        else if (ch == '\\')
            bk_buf_appends(b, "\\\\");
        else
            bk_buf_printf(b, "\\u%04x", ch);
        run = p + 1;
    }
    bk_buf_appends(b, run);
}

/* ------------------------------------------------------------------------------------------ */
/* statuses and colour bars                                                                   */

static bool is_running(int s)
{
    return s == 1 || s == 9;
}

/* How bad a status is, for "D09F00 = worst of the data sources" and the total's colour bar.
 * Running outranks everything: the device is not done while any source still runs. */
static int status_rank(int s)
{
    switch (s) {
    case 5:
        return 1;
    case 12:
        return 2;
    case 8:
        return 3;
    case 7:
        return 4;
    case 11:
        return 5;
    case 6:
        return 6;
    case 3:
        return 7;
    case 10:
        return 8;
    case 4:
        return 9;
    case 2:
        return 10;
    case 1:
    case 9:
        return 11;
    default: /* 0: never ran */
        return 0;
    }
}

/* The bar has one character per day; how codes ≥ 10 are drawn is undocumented (reference
 * §4.6), so they are folded onto the digit of their GUI bucket: OverQuota/NoSelection are bad
 * (2), Restarted is a warning (8). */
static char status_digit(int s)
{
    if (s >= 0 && s <= 9)
        return (char)('0' + s);
    return s == 12 ? '8' : '2';
}

static int bar_pos(const struct cove *c, int64_t t)
{
    int64_t back = c->bar_day - floor_div(t, 86400);
    return back < 0 || back >= BAR_DAYS ? -1 : (int)(BAR_DAYS - 1 - back);
}

static void bar_set(const struct cove *c, struct ds_stat *d, int64_t t, int status)
{
    int pos = bar_pos(c, t);
    if (pos >= 0)
        d->bar[pos] = status_digit(status);
}

static void bar_shift(struct ds_stat *d, int64_t days)
{
    if (days >= BAR_DAYS) {
        memset(d->bar, '0', BAR_DAYS);
        return;
    }
    memmove(d->bar, d->bar + days, (size_t)(BAR_DAYS - days));
    memset(d->bar + BAR_DAYS - days, '0', (size_t)days);
}

static void ds_start(const struct cove *c, struct ds_stat *d, int64_t t, int status)
{
    d->f15 = t;
    d->f00 = (uint8_t)status;
    d->f06 = 0;
    bar_set(c, d, t, status);
}

static void ds_finish(const struct cove *c, struct ds_stat *d, int status, uint32_t errors,
                      int64_t end)
{
    d->f00 = (uint8_t)status;
    d->f17 = (uint8_t)status;
    d->f18 = end;
    d->f06 = errors;
    if (status == 5) {
        d->f09 = d->f15;
        d->f16 = 5;
    }
    bar_set(c, d, d->f15, status);
}

/* D09 is derived from the data sources whenever a session moves, so it always agrees with
 * them; /__sim/devices "set" can still poke it directly until the next session event. */
static void total_recompute(struct device *d)
{
    struct ds_stat *t = &d->total;
    bool all_succeeded = d->nds > 0;

    t->code = 9;
    t->f00 = t->f17 = 0;
    t->f06 = 0;
    t->f09 = INT64_MAX;
    t->f15 = t->f18 = 0;
    memset(t->bar, '0', BAR_DAYS);
    for (size_t i = 0; i < d->nds; i++) {
        const struct ds_stat *s = &d->ds[i];
        if (status_rank(s->f00) > status_rank(t->f00))
            t->f00 = s->f00;
        if (s->f18 != 0 && status_rank(s->f17) > status_rank(t->f17))
            t->f17 = s->f17;
        t->f06 += s->f06;
        t->f15 = s->f15 > t->f15 ? s->f15 : t->f15;
        t->f18 = s->f18 > t->f18 ? s->f18 : t->f18;
        if (s->f09 == 0)
            all_succeeded = false;
        else if (s->f09 < t->f09)
            t->f09 = s->f09;
        for (int k = 0; k < BAR_DAYS; k++)
            if (status_rank(s->bar[k] - '0') > status_rank(t->bar[k] - '0'))
                t->bar[k] = s->bar[k];
    }
    if (!all_succeeded)
        t->f09 = 0;
    t->f16 = t->f09 != 0 ? 5 : 0;
}

static bool device_running(const struct device *d)
{
    for (size_t i = 0; i < d->nds; i++)
        if (is_running(d->ds[i].f00))
            return true;
    return false;
}

/* Outcome of a device's next session: mostly Completed, some CompletedWithErrors and Failed. */
static int next_outcome(const struct cove *c, const struct device *d)
{
    uint64_t r = rnd(c, (uint64_t)d->id, 1000 + d->session_no) % 100;
    return r < 72 ? 5 : r < 86 ? 8 : r < 96 ? 2 : r < 98 ? 3 : 6;
}

static uint32_t outcome_errors(const struct cove *c, const struct device *d, int status)
{
    uint64_t r = rnd(c, (uint64_t)d->id, 3000 + d->session_no);
    switch (status) {
    case 8:
        return 1 + (uint32_t)(r % 40);
    case 2:
    case 9:
        return 1 + (uint32_t)(r % 5);
    case 3:
    case 6:
        return (uint32_t)(r % 3);
    default:
        return 0;
    }
}

static void session_start(struct cove *c, struct device *d, int64_t t, int status)
{
    d->session_no++;
    for (size_t i = 0; i < d->nds; i++)
        ds_start(c, &d->ds[i], t, status);
    total_recompute(d);
    d->last_contact = t;
}

/* Ends the running session: one data source (chosen per session) takes the outcome and its
 * errors, the others complete, so D09F00 = the outcome = the worst of the sources. */
static void session_finish(struct cove *c, struct device *d, int status, int64_t errors,
                           int64_t end)
{
    size_t worst =
        d->nds > 0 ? (size_t)(rnd(c, (uint64_t)d->id, 2000 + d->session_no) % d->nds) : 0;
    uint32_t e = errors >= 0 ? (uint32_t)errors : outcome_errors(c, d, status);
    for (size_t i = 0; i < d->nds; i++) {
        if (!is_running(d->ds[i].f00))
            continue;
        bool w = i == worst;
        ds_finish(c, &d->ds[i], w ? status : 5, w ? e : 0, end);
    }
    total_recompute(d);
    d->last_contact = end;
}

/* Moves the colour bars when the clock (wall time or /__sim/advance) enters a new UTC day. */
static void sync_day(struct cove *c)
{
    int64_t today = floor_div(cove_now(c), 86400);
    if (today <= c->bar_day)
        return;
    int64_t days = today - c->bar_day;
    for (size_t i = 0; i < c->ndevs; i++) {
        bar_shift(&c->devs[i].total, days);
        for (size_t k = 0; k < c->devs[i].nds; k++)
            bar_shift(&c->devs[i].ds[k], days);
    }
    c->bar_day = today;
    c->generation++;
}

/* ------------------------------------------------------------------------------------------ */
/* fleet                                                                                      */

/* The state a device starts in: its last session plus the history before it. */
struct seed_session {
    int status;     /* 0 never ran, 1/9 running, else final */
    int64_t t_last; /* F15 */
    int64_t duration;
    int64_t errors;       /* < 0: from the outcome model */
    int64_t last_success; /* F09 before this session; 0: read from the history digits */
    const char *history;  /* BAR_DAYS digits for the days before */
};

static size_t partner_add(struct cove *c, int64_t id, ssize_t parent, const char *name,
                          const char *level)
{
    c->partners = xrealloc(c->partners, (c->npartners + 1) * sizeof(*c->partners));
    c->partners[c->npartners] =
        (struct partner){.id = id,
                         .parent = parent,
                         .name = xstrdup(name),
                         .level = level,
                         .created = c->start - 86400 * (400 + (int64_t)c->npartners)};
    return c->npartners++;
}

static ssize_t partner_by_name(const struct cove *c, const char *name)
{
    for (size_t i = 0; i < c->npartners; i++)
        if (strcmp(c->partners[i].name, name) == 0)
            return (ssize_t)i;
    return -1;
}

static ssize_t partner_by_id(const struct cove *c, int64_t id)
{
    for (size_t i = 0; i < c->npartners; i++)
        if (c->partners[i].id == id)
            return (ssize_t)i;
    return -1;
}

/* True when p is anc or below it. */
static bool partner_within(const struct cove *c, size_t p, size_t anc)
{
    for (ssize_t q = (ssize_t)p; q >= 0; q = c->partners[q].parent)
        if ((size_t)q == anc)
            return true;
    return false;
}

static void device_set_ds(struct device *d, const uint8_t *codes, size_t n)
{
    d->nds = (uint8_t)n;
    for (size_t i = 0; i < n; i++) {
        memset(&d->ds[i], 0, sizeof(d->ds[i]));
        d->ds[i].code = codes[i];
        memset(d->ds[i].bar, '0', BAR_DAYS);
    }
    memset(&d->total, 0, sizeof(d->total));
    d->total.code = 9;
    memset(d->total.bar, '0', BAR_DAYS);
}

/* Puts a device into the state of s: history digits, the session before (F09/F16/F17/F18 read
 * from those digits at the same time of day), then the last session run through the same code
 * /__sim/advance uses, so generated and advanced devices cannot disagree. */
static void device_seed(struct cove *c, struct device *d, const struct seed_session *s)
{
    int pos = bar_pos(c, s->t_last);
    int64_t tod = s->t_last - floor_div(s->t_last, 86400) * 86400;
    int64_t prev_success = 0, prev_end = 0;
    int prev_status = 0;

    if (s->status == 0) {
        total_recompute(d);
        return;
    }
    char hist[BAR_DAYS];
    memset(hist, '0', BAR_DAYS);
    if (s->history != NULL)
        memcpy(hist, s->history, BAR_DAYS);
    int64_t back = c->bar_day - floor_div(s->t_last, 86400);
    if (back >= BAR_DAYS) /* the last session predates the bar: nothing ran since */
        memset(hist, '0', BAR_DAYS);
    for (int k = BAR_DAYS - 1; k >= 0; k--) {
        if (pos >= 0 && k >= pos) {
            hist[k] = '0'; /* the last session's day and after: set below / nothing ran */
            continue;
        }
        int64_t day_start = (c->bar_day - (BAR_DAYS - 1 - k)) * 86400;
        if (prev_status == 0 && hist[k] != '0') {
            prev_status = hist[k] - '0';
            prev_end = day_start + tod + s->duration;
        }
        if (prev_success == 0 && hist[k] == '5')
            prev_success = day_start + tod;
    }
    if (s->last_success != 0)
        prev_success = s->last_success;
    for (size_t i = 0; i < d->nds; i++) {
        struct ds_stat *x = &d->ds[i];
        memcpy(x->bar, hist, BAR_DAYS);
        x->f09 = prev_success;
        x->f16 = prev_success != 0 ? 5 : 0;
        x->f17 = (uint8_t)prev_status;
        x->f18 = prev_status != 0 ? prev_end : 0;
    }
    session_start(c, d, s->t_last, is_running(s->status) ? s->status : 1);
    if (!is_running(s->status))
        session_finish(c, d, s->status, s->errors, s->t_last + s->duration);
}

static const char *const server_ds[] = {"D01", "D01D10", "D01D08", "D01D14", "D01D07"};

/* "D01D10" → {1, 10}. Returns the count, or -1 when s is not 1..MAX_DS such codes (D09 is
 * the total, never an active source). */
static int parse_ds_list(const char *s, uint8_t *codes)
{
    int n = 0;
    while (*s != '\0') {
        unsigned v = 0;
        int digits = 0;
        if (*s++ != 'D' || n == MAX_DS)
            return -1;
        while (*s >= '0' && *s <= '9' && digits < 2) {
            v = v * 10 + (unsigned)(*s++ - '0');
            digits++;
        }
        if (digits == 0 || v == 0 || v == 9 || v > 99)
            return -1;
        codes[n++] = (uint8_t)v;
    }
    return n > 0 ? n : -1;
}

static void generate_device(struct cove *c, uint32_t i, size_t ncustomers, size_t site)
{
    struct device *d = &c->devs[c->ndevs++];
    uint64_t id = 200000 + (uint64_t)i;
    size_t cust = (i - 1) % ncustomers;
    unsigned kind = (i - 1) % 10; /* 9: M365, 2/5/7: workstation, else server */
    uint8_t codes[MAX_DS];
    int64_t now = c->start;
    int n;

    memset(d, 0, sizeof(*d));
    d->id = (int64_t)id;
    d->gen = i;
    d->partner = (uint32_t)(1 + cust);
    if (cust == 0 && ((i - 1) / ncustomers) % 4 == 1)
        d->partner = (uint32_t)site; /* a couple of devices one level further down */
    if (i == 8 && c->hostile_names)
        d->name = xstrdup(XSS_NAME);
    if (kind == 9) {
        d->os_type = 0;
        d->account_type = 2;
        n = parse_ds_list("D19D20D05D23", codes);
        d->used = (int64_t)(1 + rnd(c, id, 1) % 500) << 30;
    } else if (kind == 2 || kind == 5 || kind == 7) {
        d->os_type = 1;
        d->account_type = 1;
        n = parse_ds_list("D01", codes);
        d->used = (int64_t)(5 + rnd(c, id, 1) % 200) << 30;
    } else {
        d->os_type = 2;
        d->account_type = 1;
        n = parse_ds_list(server_ds[rnd(c, id, 2) % 5], codes);
        d->used = (int64_t)(50 + rnd(c, id, 1) % 2000) << 30;
    }
    device_set_ds(d, codes, (size_t)n);
    d->auto_deployed = rnd(c, id, 5) % 4 == 0;
    d->created =
        now - 86400 * (int64_t)(30 + rnd(c, id, 6) % 900) - (int64_t)(rnd(c, id, 7) % 86400);

    /* Status mix: mostly Completed, some CompletedWithErrors/Failed/running, ~2% never ran,
     * a sprinkle of every other documented code so clients meet them all. */
    uint64_t r = rnd(c, id, 3) % 100;
    static const int rare[] = {3, 6, 7, 10, 11, 12};
    struct seed_session s = {.errors = -1};
    s.status = r < 2    ? 0
               : r < 5  ? 1
               : r == 5 ? 9
               : r < 13 ? 2
               : r < 25 ? 8
               : r < 31 ? rare[r - 25]
                        : 5;
    bool stale = !is_running(s.status) && rnd(c, id, 4) % 100 < 4;
    s.duration = 60 + (int64_t)(rnd(c, id, 8) % 7200);
    int64_t since_midnight = now - floor_div(now, 86400) * 86400;
    int64_t back = since_midnight > 0 ? (int64_t)(rnd(c, id, 9) % (uint64_t)since_midnight) : 0;
    s.t_last = now - back;
    if (stale)
        s.t_last -= 86400 * (int64_t)(2 + rnd(c, id, 10) % 8);
    if (is_running(s.status)) {
        s.t_last = now - 60 - (int64_t)(rnd(c, id, 11) % 3600);
    } else if (s.t_last + s.duration > now) {
        s.duration = now - s.t_last;
    }
    char hist[BAR_DAYS];
    int64_t created_day = floor_div(d->created, 86400);
    for (int k = 0; k < BAR_DAYS; k++) {
        uint64_t h = rnd(c, id, 100 + (uint64_t)k) % 100;
        int64_t day = c->bar_day - (BAR_DAYS - 1 - k);
        hist[k] = day < created_day ? '0' : h < 80 ? '5' : h < 90 ? '8' : h < 96 ? '2' : '0';
    }
    /* What did not happen (issue 9), by device number so every fleet of 20 or more has them:
     * a server that stopped backing up 3-6 days ago (#4, #24, …), a weekly server (#11, #31,
     * …: one session a week, the last 1-5 days ago) and a workstation offline for 4-9 days
     * (#6, #26, …). Their colour bars and last sessions agree (device_seed zeroes the bar
     * after the last session). Running and never-run devices keep their state. */
    if (!is_running(s.status) && s.status != 0 && !stale) {
        int64_t tod = s.t_last - floor_div(s.t_last, 86400) * 86400;
        if (i % 20 == 4 && kind != 9) {
            s.t_last -= 86400 * (int64_t)(3 + (i / 20) % 4);
            stale = true;
        } else if (i % 20 == 6 && d->os_type == 1) {
            s.t_last -= 86400 * (int64_t)(4 + (i / 20) % 6);
            stale = true;
        } else if (i % 20 == 11 && kind != 9) {
            int64_t off = 1 + (int64_t)(rnd(c, id, 13) % 5);
            s.t_last = (c->bar_day - off) * 86400 + tod;
            for (int k = 0; k < BAR_DAYS; k++) {
                int64_t day = c->bar_day - (BAR_DAYS - 1 - k);
                hist[k] = day >= created_day && (BAR_DAYS - 1 - k - off) % 7 == 0 ? '5' : '0';
            }
            stale = true; /* its last contact is its last session */
        }
        if (s.t_last + s.duration > now)
            s.duration = now - s.t_last;
    }
    s.history = hist;
    device_seed(c, d, &s);
    d->last_contact =
        stale || s.status == 0 ? s.t_last + s.duration : now - (int64_t)(rnd(c, id, 12) % 900);
    if (s.status == 0)
        d->last_contact = now - (int64_t)(rnd(c, id, 12) % 900);
}

static void build_fleet(struct cove *c, int64_t ndevices, int64_t ncustomers)
{
    char name[64];

    partner_add(c, ROOT_PARTNER_ID, -1, DEFAULT_PARTNER, "Reseller");
    /* Two customers share a name on purpose: clients must key customers by id. */
    for (int64_t k = 1; k <= ncustomers; k++) {
        if (ncustomers >= 3 && k > ncustomers - 2)
            snprintf(name, sizeof(name), "Contoso");
        else
            snprintf(name, sizeof(name), "Customer %02" PRId64, k);
        partner_add(c, ROOT_PARTNER_ID + k, 0, name, "EndCustomer");
    }
    char *site = xasprintf("%s / Site B", c->partners[1].name);
    size_t site_idx = partner_add(c, ROOT_PARTNER_ID + ncustomers + 1, 1, site, "Site");
    free(site);

    c->devs = xcalloc((size_t)ndevices + 1, sizeof(*c->devs));
    for (int64_t i = 1; i <= ndevices; i++)
        generate_device(c, (uint32_t)i, (size_t)ncustomers, site_idx);
    c->next_gen = (uint32_t)ndevices + 1;
}

static int cmp_dev_id(const void *a, const void *b)
{
    const struct device *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static ssize_t device_find(const struct cove *c, int64_t id)
{
    size_t lo = 0, hi = c->ndevs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->devs[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->ndevs && c->devs[lo].id == id ? (ssize_t)lo : -1;
}

static void device_clear(struct device *d)
{
    free(d->name);
    free(d->computer);
}

/* ------------------------------------------------------------------------------------------ */
/* scenario devices (scenario file and POST /__sim/devices {"add": …})                        */

static int check_keys(json_t *o, const char *const *allowed, char *err, size_t errsz,
                      const char *where)
{
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        size_t i;
        for (i = 0; allowed[i] != NULL; i++)
            if (strcmp(key, allowed[i]) == 0)
                break;
        if (allowed[i] == NULL) {
            snprintf(err, errsz, "%s: unknown key \"%s\"", where, key);
            return -1;
        }
    }
    return 0;
}

static int get_int(json_t *o, const char *key, int64_t lo, int64_t hi, int64_t *out, char *err,
                   size_t errsz, const char *where)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        snprintf(err, errsz, "%s: \"%s\" must be an integer in %" PRId64 "..%" PRId64, where, key,
                 lo, hi);
        return -1;
    }
    *out = json_integer_value(v);
    return 1;
}

static int get_str(json_t *o, const char *key, const char **out, char *err, size_t errsz,
                   const char *where)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL)
        return 0;
    if (!json_is_string(v)) {
        snprintf(err, errsz, "%s: \"%s\" must be a string", where, key);
        return -1;
    }
    *out = json_string_value(v);
    return 1;
}

/* Scenario times: small magnitudes are relative to the sim's start, large ones absolute. */
static int64_t scenario_time(const struct cove *c, int64_t v)
{
    return v > -1000000000 && v < 1000000000 ? c->start + v : v;
}

static bool valid_status(int64_t s)
{
    return s >= 0 && s <= 12 && s != 4;
}

/* Adds one device described like a scenario entry; the array stays sorted by id. */
static int add_scenario_device(struct cove *c, json_t *o, int64_t default_id, char *err,
                               size_t errsz, const char *where)
{
    static const char *const keys[] = {
        "account_id",    "name",         "partner",    "partner_id",    "os_type",
        "account_type",  "datasources",  "status",     "errors",        "duration",
        "last_session",  "last_success", "colour_bar", "computer_name", "used_bytes",
        "auto_deployed", "last_contact", NULL};
    int64_t id = default_id, os_type = 2, account_type = 1, status = 5, errors = 0;
    int64_t duration = 120, last_session = -3600, last_success = 0, used = (int64_t)100 << 30;
    int64_t last_contact = 0;
    const char *name = NULL, *pname = NULL, *dslist = NULL, *bar = NULL, *computer = NULL;
    int64_t pid = 0;
    ssize_t p;
    uint8_t codes[MAX_DS];
    int nds;

    if (!json_is_object(o)) {
        snprintf(err, errsz, "%s: expected an object", where);
        return -1;
    }
    if (check_keys(o, keys, err, errsz, where) != 0 ||
        get_int(o, "account_id", 1, INT32_MAX, &id, err, errsz, where) < 0 ||
        get_int(o, "os_type", 0, 2, &os_type, err, errsz, where) < 0 ||
        get_int(o, "account_type", 0, 2, &account_type, err, errsz, where) < 0 ||
        get_int(o, "status", 0, 12, &status, err, errsz, where) < 0 ||
        get_int(o, "errors", 0, UINT32_MAX, &errors, err, errsz, where) < 0 ||
        get_int(o, "duration", 0, 86400 * 30, &duration, err, errsz, where) < 0 ||
        get_int(o, "last_session", INT32_MIN, INT64_MAX / 4, &last_session, err, errsz, where) <
            0 ||
        get_int(o, "last_success", INT32_MIN, INT64_MAX / 4, &last_success, err, errsz, where) <
            0 ||
        get_int(o, "last_contact", INT32_MIN, INT64_MAX / 4, &last_contact, err, errsz, where) <
            0 ||
        get_int(o, "used_bytes", 0, INT64_MAX / 4, &used, err, errsz, where) < 0 ||
        get_int(o, "partner_id", 0, INT64_MAX / 4, &pid, err, errsz, where) < 0 ||
        get_str(o, "name", &name, err, errsz, where) < 0 ||
        get_str(o, "partner", &pname, err, errsz, where) < 0 ||
        get_str(o, "datasources", &dslist, err, errsz, where) < 0 ||
        get_str(o, "colour_bar", &bar, err, errsz, where) < 0 ||
        get_str(o, "computer_name", &computer, err, errsz, where) < 0)
        return -1;
    json_t *ad = json_object_get(o, "auto_deployed");
    if (ad != NULL && !json_is_boolean(ad)) {
        snprintf(err, errsz, "%s: \"auto_deployed\" must be true or false", where);
        return -1;
    }
    if (!valid_status(status)) {
        snprintf(err, errsz, "%s: \"status\" %" PRId64 " is not a Cove session status", where,
                 status);
        return -1;
    }
    if (name == NULL || name[0] == '\0') {
        snprintf(err, errsz, "%s: \"name\" is required", where);
        return -1;
    }
    if (pid != 0)
        p = partner_by_id(c, pid);
    else
        p = partner_by_name(c, pname != NULL ? pname : c->partners[1].name);
    if (p < 0) {
        snprintf(err, errsz, "%s: unknown partner", where);
        return -1;
    }
    if (dslist == NULL)
        dslist = account_type == 2 ? "D19D20D05D23" : os_type == 2 ? "D01D10" : "D01";
    if ((nds = parse_ds_list(dslist, codes)) < 0) {
        snprintf(err, errsz, "%s: \"datasources\" must be 1-%d codes like \"D01D10\" (not D09)",
                 where, MAX_DS);
        return -1;
    }
    if (bar != NULL) {
        size_t bl = strlen(bar);
        if (bl > BAR_DAYS || strspn(bar, "0123456789") != bl) {
            snprintf(err, errsz, "%s: \"colour_bar\" must be at most %d digits", where, BAR_DAYS);
            return -1;
        }
    }
    if (device_find(c, id) >= 0) {
        snprintf(err, errsz, "%s: account_id %" PRId64 " already exists", where, id);
        return -1;
    }

    struct device d;
    memset(&d, 0, sizeof(d));
    d.id = id;
    d.partner = (uint32_t)p;
    d.name = xstrdup(name);
    d.computer = computer != NULL ? xstrdup(computer) : NULL;
    d.os_type = (uint8_t)os_type;
    d.account_type = (uint8_t)account_type;
    d.auto_deployed = ad != NULL && json_is_true(ad);
    d.used = used;
    d.created = c->start - 86400 * 365;
    device_set_ds(&d, codes, (size_t)nds);

    char hist[BAR_DAYS];
    memset(hist, '5', BAR_DAYS);
    struct seed_session s = {.status = (int)status,
                             .t_last = scenario_time(c, last_session),
                             .duration = duration,
                             .errors = errors,
                             .last_success = last_success != 0 ? scenario_time(c, last_success) : 0,
                             .history = hist};
    if (bar != NULL) {
        size_t bl = strlen(bar);
        memset(hist, '0', BAR_DAYS);
        memcpy(hist + BAR_DAYS - bl, bar, bl);
    }
    device_seed(c, &d, &s);
    if (bar != NULL) { /* the test's bar wins verbatim, even against the status */
        memcpy(d.total.bar, hist, BAR_DAYS);
        for (size_t i = 0; i < d.nds; i++)
            memcpy(d.ds[i].bar, hist, BAR_DAYS);
    }
    d.last_contact = last_contact != 0 ? scenario_time(c, last_contact) : cove_now(c) - 60;

    ssize_t at = 0;
    while ((size_t)at < c->ndevs && c->devs[at].id < id)
        at++;
    c->devs = xrealloc(c->devs, (c->ndevs + 1) * sizeof(*c->devs));
    memmove(&c->devs[at + 1], &c->devs[at], (c->ndevs - (size_t)at) * sizeof(*c->devs));
    c->devs[at] = d;
    c->ndevs++;
    c->generation++;
    return 0;
}

static int load_scenario(struct cove *c, const char *path, char *err, size_t errsz)
{
    static const char *const keys[] = {"devices", "customers", NULL};
    json_error_t je;
    json_t *doc = json_load_file(path, 0, &je);
    int rc = -1;
    char where[64];

    if (doc == NULL) {
        snprintf(err, errsz, "line %d: %s", je.line, je.text);
        return -1;
    }
    if (!json_is_object(doc)) {
        snprintf(err, errsz, "expected a JSON object");
        goto out;
    }
    if (check_keys(doc, keys, err, errsz, "scenario") != 0)
        goto out;
    json_t *custs = json_object_get(doc, "customers");
    json_t *devs = json_object_get(doc, "devices");
    if ((custs != NULL && !json_is_array(custs)) || (devs != NULL && !json_is_array(devs))) {
        snprintf(err, errsz, "\"customers\" and \"devices\" must be arrays");
        goto out;
    }
    size_t i;
    json_t *v;
    json_array_foreach(custs, i, v)
    {
        if (!json_is_string(v) || json_string_length(v) == 0) {
            snprintf(err, errsz, "customers[%zu]: expected a non-empty name", i);
            goto out;
        }
        partner_add(c, c->partners[c->npartners - 1].id + 1, 0, json_string_value(v),
                    "EndCustomer");
    }
    json_array_foreach(devs, i, v)
    {
        snprintf(where, sizeof(where), "devices[%zu]", i);
        if (add_scenario_device(c, v, 300001 + (int64_t)i, err, errsz, where) != 0)
            goto out;
    }
    rc = 0;
out:
    json_decref(doc);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* column values                                                                              */

static const struct ds_stat *device_ds(const struct device *d, unsigned code)
{
    if (code == 9)
        return &d->total;
    for (size_t i = 0; i < d->nds; i++)
        if (d->ds[i].code == code)
            return &d->ds[i];
    return NULL;
}

static void device_name(const struct device *d, char *buf, size_t bufsz, const char **out)
{
    if (d->name != NULL) {
        *out = d->name;
        return;
    }
    snprintf(buf, bufsz, "dev-%05" PRIu32, d->gen);
    *out = buf;
}

struct col_ctx {
    const struct cove *c;
    const struct device *d;
    int64_t now;
};

/* The value of one canonical column for one device; false when the device has none (the
 * Settings entry is then omitted). Unknown columns also answer false: the live service drops
 * codes it does not serve rather than failing (reference §6, "bad column code"). */
static bool device_col(void *ctx, struct cove_col col, struct cove_val *v, char *buf, size_t bufsz)
{
    const struct col_ctx *cc = ctx;
    const struct cove *c = cc->c;
    const struct device *d = cc->d;
    bool m365 = d->account_type == 2;

    *v = (struct cove_val){0};
    if (col.kind == 'I') {
        switch (col.num) {
        case 0:
            v->num = (double)d->id;
            return true;
        case 1:
            v->is_str = true;
            device_name(d, buf, bufsz, &v->str);
            return true;
        case 4:
            v->num = (double)d->created;
            return true;
        case 6:
            v->num = (double)d->last_contact;
            return true;
        case 8:
            v->is_str = true;
            v->str = c->partners[d->partner].name;
            return true;
        case 14:
            v->num = (double)d->used;
            return true;
        case 16:
            if (m365)
                return false;
            v->is_str = true;
            v->str = d->os_type == 2 ? "Windows Server 2022 Standard" : "Windows 11 Pro";
            return true;
        case 17:
            if (m365)
                return false;
            v->is_str = true;
            v->str = "25.1.0.25011";
            return true;
        case 18:
            v->is_str = true;
            if (d->computer != NULL)
                v->str = d->computer;
            else if (m365 || d->gen == 0)
                v->str = "";
            else {
                snprintf(buf, bufsz, "%s-%05" PRIu32, d->os_type == 2 ? "srv" : "ws", d->gen);
                v->str = buf;
            }
            return true;
        case 32:
            v->num = d->os_type;
            return true;
        case 59:
            v->num = d->account_type;
            return true;
        case 78: {
            size_t n = 0;
            buf[0] = '\0';
            for (size_t i = 0; i < d->nds && n + 4 < bufsz; i++)
                n += (size_t)snprintf(buf + n, bufsz - n, "D%02u", d->ds[i].code);
            v->is_str = true;
            v->str = buf;
            return true;
        }
        default:
            return false;
        }
    }
    const struct ds_stat *s = device_ds(d, col.num);
    if (s == NULL)
        return false;
    bool ran = s->f15 != 0;
    int64_t share = col.num == 9 || d->nds == 0 ? d->used : d->used / d->nds;
    switch (col.field) {
    case 0:
        v->num = s->f00;
        return true;
    case 3:
        v->num = (double)(share + share / 5);
        return ran;
    case 6:
        v->num = s->f06;
        return ran;
    case 7:
        v->num = (double)share;
        return true;
    case 8:
        if (bufsz <= BAR_DAYS)
            return false;
        memcpy(buf, s->bar, BAR_DAYS);
        buf[BAR_DAYS] = '\0';
        v->is_str = true;
        v->str = buf;
        return true;
    case 9:
        v->num = (double)s->f09;
        return s->f09 != 0;
    case 12:
        if (!ran)
            return false;
        if (is_running(s->f00))
            v->num = (double)(cc->now - s->f15);
        else
            v->num = s->f18 >= s->f15 ? (double)(s->f18 - s->f15) : 0;
        return true;
    case 15:
        v->num = (double)s->f15;
        return ran;
    case 16:
        v->num = s->f16;
        return s->f16 != 0;
    case 17:
        v->num = s->f17;
        return s->f18 != 0;
    case 18:
        v->num = (double)s->f18;
        return s->f18 != 0;
    default:
        return false;
    }
}

static const struct cove_col text_cols[] = {{'I', 1, 0}, {'I', 8, 0}, {'I', 18, 0}, {'I', 16, 0}};

static void env_init(struct cove_env *env, struct col_ctx *cc, const struct cove *c)
{
    cc->c = c;
    cc->d = NULL;
    cc->now = cove_now(c);
    *env = (struct cove_env){.col = device_col,
                             .text_cols = text_cols,
                             .ntext_cols = sizeof(text_cols) / sizeof(text_cols[0]),
                             .ctx = cc,
                             .now = cc->now};
}

static bool col_forbidden(const struct cove *c, struct cove_col col)
{
    for (size_t i = 0; i < c->nforbid; i++) {
        const struct forbid *f = &c->forbid[i];
        if (f->whole_ds ? (col.kind == 'D' && f->col.num == col.num) : cove_col_eq(f->col, col))
            return true;
    }
    return false;
}

static bool expr_col_allowed(void *ctx, struct cove_col col)
{
    return !col_forbidden(ctx, col);
}

/* ------------------------------------------------------------------------------------------ */
/* visas                                                                                      */

static size_t visa_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (size_t)(h % VISA_BUCKETS);
}

static void visa_drop_all(struct cove *c)
{
    for (size_t b = 0; b < VISA_BUCKETS; b++) {
        struct visa *v = c->visas[b];
        while (v != NULL) {
            struct visa *nx = v->next;
            free(v->s);
            free(v);
            v = nx;
        }
        c->visas[b] = NULL;
    }
    c->nvisas = 0;
}

static void visa_sweep(struct cove *c, int64_t now)
{
    for (size_t b = 0; b < VISA_BUCKETS; b++) {
        struct visa **pp = &c->visas[b];
        while (*pp != NULL) {
            struct visa *v = *pp;
            if (now - v->last_used > c->visa_ttl) {
                *pp = v->next;
                free(v->s);
                free(v);
                c->nvisas--;
            } else {
                pp = &v->next;
            }
        }
    }
}

/* Mints "<partnerId>-<userId>-1-<unixNow>-<40 hex>", the shape clients parse field 4 of
 * (reference §2.3). The table keeps it until it sits idle longer than --visa-ttl. */
static const char *visa_issue(struct cove *c, size_t user)
{
    int64_t now = cove_now(c);
    const struct user *u = &c->users[user];
    char hex[41];

    if (++c->visa_counter % 256 == 0)
        visa_sweep(c, now);
    uint64_t a = splitmix(c->seed ^ (c->visa_counter * 0x9e3779b97f4a7c15ULL) ^ (uint64_t)now);
    uint64_t b = splitmix(a), d = splitmix(b);
    snprintf(hex, sizeof(hex), "%016" PRIX64 "%016" PRIX64 "%08" PRIX64, a, b, d >> 32);
    struct visa *v = xcalloc(1, sizeof(*v));
    v->s = xasprintf("%" PRId64 "-%" PRId64 "-1-%" PRId64 "-%s", c->partners[u->partner].id, u->id,
                     now, hex);
    v->user = user;
    v->last_used = now;
    size_t h = visa_hash(v->s);
    v->next = c->visas[h];
    c->visas[h] = v;
    c->nvisas++;
    return v->s;
}

/* Finds a live visa and slides its expiry; NULL when unknown or idle too long. */
static struct visa *visa_check(struct cove *c, const char *s)
{
    int64_t now = cove_now(c);
    struct visa **pp = &c->visas[visa_hash(s)];
    for (; *pp != NULL; pp = &(*pp)->next) {
        struct visa *v = *pp;
        if (strcmp(v->s, s) != 0)
            continue;
        if (now - v->last_used > c->visa_ttl) {
            *pp = v->next;
            free(v->s);
            free(v);
            c->nvisas--;
            return NULL;
        }
        v->last_used = now;
        return v;
    }
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* JSON-RPC envelopes                                                                         */

struct rpc_err {
    int code;
    int64_t data;
    char message[320];
};

static void rpc_err_set(struct rpc_err *e, int code, int64_t data, const char *msg)
{
    e->code = code;
    e->data = data;
    snprintf(e->message, sizeof(e->message), "%.300s", msg);
}

static char *error_doc(json_t *id, int code, int64_t data, const char *message)
{
    json_t *o = json_object();
    json_object_set(o, "id", id != NULL ? id : json_null());
    json_object_set_new(o, "jsonrpc", json_string("2.0"));
    json_object_set_new(
        o, "error",
        json_pack("{sisIss}", "code", code, "data", (json_int_t)data, "message", message));
    return dump(o);
}

/* {"id":…,"jsonrpc":"2.0","result":<result>,"visa":"…"}: result is JSON text. */
static char *success_doc(json_t *id, const char *result, const char *visa)
{
    char *ids = json_dumps(id != NULL ? id : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
    struct bk_buf b;

    bk_buf_init(&b, RESP_MAX);
    bk_buf_appends(&b, "{\"id\":");
    bk_buf_appends(&b, ids);
    bk_buf_appends(&b, ",\"jsonrpc\":\"2.0\",\"result\":");
    bk_buf_appends(&b, result);
    bk_buf_appends(&b, ",\"visa\":\"");
    esc_append(&b, visa);
    bk_buf_appends(&b, "\"}");
    free(ids);
    return bk_buf_steal(&b);
}

static void count_method(struct cove *c, const char *m)
{
    size_t i;
    /* Clients choose the names, so the table is bounded: the last slot is "(other)". */
    if (strlen(m) >= sizeof(c->methods[0].name))
        m = "(other)";
    for (i = 0; i < c->nmethods; i++)
        if (strcmp(c->methods[i].name, m) == 0)
            break;
    if (i == c->nmethods) {
        if (c->nmethods == MAX_METHOD_STATS - 1)
            m = "(other)";
        for (i = 0; i < c->nmethods; i++)
            if (strcmp(c->methods[i].name, m) == 0)
                break;
        if (i == c->nmethods)
            snprintf(c->methods[c->nmethods++].name, sizeof(c->methods[0].name), "%s", m);
    }
    c->methods[i].n++;
}

/* ------------------------------------------------------------------------------------------ */
/* Login                                                                                      */

static char *rpc_login(struct cove *c, json_t *id, json_t *params)
{
    const char *partner = json_string_value(json_object_get(params, "partner"));
    const char *username = json_string_value(json_object_get(params, "username"));
    const char *password = json_string_value(json_object_get(params, "password"));
    int64_t now = cove_now(c);

    for (size_t i = 0; i < c->nusers; i++) {
        const struct user *u = &c->users[i];
        /* API users must name their partner exactly (reference §2.1); one error for all. */
        if (partner == NULL || username == NULL || password == NULL ||
            strcmp(partner, u->partner_name) != 0 || strcmp(username, u->username) != 0 ||
            strcmp(password, u->password) != 0)
            continue;
        c->logins++;
        json_t *info = json_object();
        json_object_set_new(info, "EmailAddress",
                            json_string(strchr(u->username, '@') != NULL ? u->username : ""));
        json_object_set_new(info, "FirstLoginTime", json_integer(c->start));
        json_object_set_new(info, "FirstName", json_string("API"));
        json_object_set_new(info, "Flags", json_pack("[s]", "NonInteractive"));
        json_object_set_new(info, "FullName", json_string(u->username));
        json_object_set_new(info, "Id", json_integer(u->id));
        json_object_set_new(info, "LastLoginTime", json_integer(now));
        json_object_set_new(info, "Name", json_string(u->username));
        json_object_set_new(info, "PartnerId", json_integer(c->partners[u->partner].id));
        json_object_set_new(info, "Password", json_null());
        json_object_set_new(info, "PhoneNumber", json_string(""));
        json_object_set_new(info, "RoleId", json_integer(1));
        json_object_set_new(info, "Title", json_string(""));
        json_object_set_new(info, "TwoFactorAuthenticationStatus", json_string("Disabled"));
        char *result = dump(json_pack("{so}", "result", info));
        char *doc = success_doc(id, result, visa_issue(c, i));
        free(result);
        return doc;
    }
    c->login_failures++;
    return error_doc(id, -32603, ERR_LOGIN, MSG_LOGIN);
}

/* ------------------------------------------------------------------------------------------ */
/* EnumerateAccountStatistics                                                                 */

struct req_col {
    const char *spelling; /* borrowed from the request */
    struct cove_col col;
    bool known;
    char *prefix; /* {"<spelling>":" pre-escaped */
};

static int cmp_req_col(const void *a, const void *b)
{
    return strcmp(((const struct req_col *)a)->spelling, ((const struct req_col *)b)->spelling);
}

struct order_term {
    struct cove_col col;
    bool desc;
};

struct sort_val {
    bool is_str;
    double num;
    char *str;
};

struct sort_item {
    uint32_t idx;
    int64_t id;
    size_t nterms;
    const struct order_term *terms;
    struct sort_val v[MAX_ORDER];
};

static int cmp_sort_item(const void *a, const void *b)
{
    const struct sort_item *x = a, *y = b;
    for (size_t t = 0; t < x->nterms; t++) {
        const struct sort_val *p = &x->v[t], *q = &y->v[t];
        int r;
        if (p->is_str || q->is_str)
            r = strcmp(p->is_str ? p->str : "", q->is_str ? q->str : "");
        else
            r = p->num < q->num ? -1 : p->num > q->num;
        if (r != 0)
            return x->terms[t].desc ? -r : r;
    }
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Copies the next blank-separated word of *p (stopping at a comma) into out; "" at the end. */
static void next_word(const char **p, char *out, size_t outsz)
{
    size_t n = 0;
    while (**p == ' ' || **p == '\t')
        (*p)++;
    while (**p != '\0' && **p != ' ' && **p != '\t' && **p != ',') {
        if (n + 1 < outsz)
            out[n++] = **p;
        (*p)++;
    }
    out[n] = '\0';
}

/* "I6 DESC, AN" → terms. 0, or -1 on an unknown column or direction. */
static int parse_order(const char *s, struct order_term *terms, size_t *nterms)
{
    char w1[32], w2[32], w3[32];

    *nterms = 0;
    for (;;) {
        next_word(&s, w1, sizeof(w1));
        next_word(&s, w2, sizeof(w2));
        next_word(&s, w3, sizeof(w3));
        if (w1[0] != '\0') {
            if (*nterms == MAX_ORDER || !cove_col_parse(w1, &terms[*nterms].col) || w3[0] != '\0')
                return -1;
            if (w2[0] == '\0' || str_eq_ci(w2, "ASC"))
                terms[*nterms].desc = false;
            else if (str_eq_ci(w2, "DESC"))
                terms[*nterms].desc = true;
            else
                return -1;
            (*nterms)++;
        } else if (w2[0] != '\0') {
            return -1;
        }
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s == '\0')
            return 0;
        if (*s != ',')
            return -1;
        s++;
    }
}

/* Totals "FUNC(expr)": COUNT counts rows where expr holds, SUM/MAX/MIN aggregate it. */
struct total {
    const char *spelling;
    int func; /* 0 COUNT, 1 SUM, 2 MAX, 3 MIN */
    struct cove_expr *expr;
    double acc;
    bool any;
};

static int cmp_total(const void *a, const void *b)
{
    return strcmp(((const struct total *)a)->spelling, ((const struct total *)b)->spelling);
}

static struct cove_expr *parse_total(const char *s, int *func, char *err, size_t errsz)
{
    static const char *const names[] = {"COUNT", "SUM", "MAX", "MIN"};
    while (*s == ' ')
        s++;
    const char *open = strchr(s, '(');
    size_t len = strlen(s);
    while (len > 0 && s[len - 1] == ' ')
        len--;
    if (open == NULL || len == 0 || s[len - 1] != ')') {
        snprintf(err, errsz, "expected FUNC(expression)");
        return NULL;
    }
    size_t nl = (size_t)(open - s);
    while (nl > 0 && s[nl - 1] == ' ')
        nl--;
    for (int i = 0; i < 4; i++) {
        if (strlen(names[i]) == nl && strncasecmp(s, names[i], nl) == 0) {
            char *inner = xstrndup(open + 1, (size_t)(s + len - 1 - (open + 1)));
            struct cove_expr *e = cove_expr_parse(inner, err, errsz);
            free(inner);
            *func = i;
            return e;
        }
    }
    snprintf(err, errsz, "unknown aggregate (COUNT, SUM, MAX, MIN)");
    return NULL;
}

static void sel_cache_clear(struct sel_cache *sc)
{
    free(sc->key);
    free(sc->idx);
    memset(sc, 0, sizeof(*sc));
}

/* Selects (and orders) the devices of the query into the cache; the cache key holds every
 * input, including the state generation and, for filters with ago(), the current second. */
static int select_devices(struct cove *c, size_t root, json_t *excluded, const char *filter,
                          const char *order, struct rpc_err *e)
{
    struct cove_expr *fx = NULL;
    struct order_term terms[MAX_ORDER];
    size_t nterms = 0;
    char err[200];
    int rc = -1;

    if (filter[0] != '\0') {
        fx = cove_expr_parse(filter, err, sizeof(err));
        if (fx == NULL) {
            char msg[300];
            snprintf(msg, sizeof(msg), "Invalid filter: %s", err);
            rpc_err_set(e, -32602, 0, msg);
            return -1;
        }
        if (!cove_expr_each_col(fx, expr_col_allowed, c)) {
            rpc_err_set(e, -32603, ERR_SECURITY, MSG_SECURITY);
            goto out;
        }
    }
    if (order[0] != '\0' && parse_order(order, terms, &nterms) != 0) {
        rpc_err_set(e, -32602, 0, "Invalid OrderBy");
        goto out;
    }
    for (size_t t = 0; t < nterms; t++) {
        if (col_forbidden(c, terms[t].col)) {
            rpc_err_set(e, -32603, ERR_SECURITY, MSG_SECURITY);
            goto out;
        }
    }
    char *ex = excluded != NULL ? json_dumps(excluded, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    char *key = xasprintf("%zu|%s|%" PRIu64 "|%" PRId64 "|%s|%s", root, ex != NULL ? ex : "",
                          c->generation, cove_expr_uses_now(fx) ? cove_now(c) : 0, order, filter);
    free(ex);
    if (c->cache.key != NULL && strcmp(c->cache.key, key) == 0) {
        free(key);
        rc = 0;
        goto out;
    }
    sel_cache_clear(&c->cache);
    c->cache.key = key;

    bool *scope = xcalloc(c->npartners, sizeof(*scope));
    for (size_t p = 0; p < c->npartners; p++) {
        scope[p] = partner_within(c, p, root);
        size_t i;
        json_t *v;
        json_array_foreach(excluded, i, v)
        {
            ssize_t xp = json_is_integer(v) ? partner_by_id(c, json_integer_value(v)) : -1;
            if (xp >= 0 && partner_within(c, p, (size_t)xp))
                scope[p] = false;
        }
    }
    struct cove_env env;
    struct col_ctx cc;
    char buf[128];
    env_init(&env, &cc, c);
    c->cache.idx = xmalloc((c->ndevs + 1) * sizeof(*c->cache.idx));
    for (size_t i = 0; i < c->ndevs; i++) {
        if (!scope[c->devs[i].partner])
            continue;
        if (fx != NULL) {
            struct cove_val v;
            cc.d = &c->devs[i];
            cove_expr_eval(fx, &env, &v, buf, sizeof(buf));
            if (!cove_val_truthy(&v))
                continue;
        }
        c->cache.idx[c->cache.n++] = (uint32_t)i;
    }
    free(scope);

    if (nterms > 0 && c->cache.n > 1) {
        struct sort_item *items = xcalloc(c->cache.n, sizeof(*items));
        for (size_t k = 0; k < c->cache.n; k++) {
            struct sort_item *it = &items[k];
            it->idx = c->cache.idx[k];
            it->id = c->devs[it->idx].id;
            it->nterms = nterms;
            it->terms = terms;
            cc.d = &c->devs[it->idx];
            for (size_t t = 0; t < nterms; t++) {
                struct cove_val v;
                if (!device_col(&cc, terms[t].col, &v, buf, sizeof(buf)))
                    v = (struct cove_val){.is_str = false, .num = 0};
                it->v[t].is_str = v.is_str;
                it->v[t].num = v.num;
                it->v[t].str = v.is_str ? xstrdup(v.str) : NULL;
            }
        }
        qsort(items, c->cache.n, sizeof(*items), cmp_sort_item);
        for (size_t k = 0; k < c->cache.n; k++) {
            c->cache.idx[k] = items[k].idx;
            for (size_t t = 0; t < nterms; t++)
                free(items[k].v[t].str);
        }
        free(items);
    }
    rc = 0;
out:
    cove_expr_free(fx);
    return rc;
}

static void append_settings(struct bk_buf *b, struct col_ctx *cc, const struct req_col *cols,
                            size_t ncols)
{
    char buf[128], num[32];
    bool first = true;

    bk_buf_appends(b, "[");
    for (size_t k = 0; k < ncols; k++) {
        struct cove_val v;
        if (!cols[k].known || !device_col(cc, cols[k].col, &v, buf, sizeof(buf)))
            continue;
        if (!first)
            bk_buf_appends(b, ",");
        first = false;
        bk_buf_appends(b, cols[k].prefix);
        if (v.is_str) {
            esc_append(b, v.str);
        } else {
            cove_num_format(v.num, num, sizeof(num));
            bk_buf_appends(b, num);
        }
        bk_buf_appends(b, "\"}");
    }
    bk_buf_appends(b, "]");
}

static char *rpc_enumerate_statistics(struct cove *c, size_t user, json_t *params,
                                      struct rpc_err *e)
{
    json_t *q = json_object_get(params, "query");
    struct req_col *cols = NULL;
    struct total *totals = NULL;
    size_t ncols = 0, ntotals = 0;
    char *out = NULL;

    if (!json_is_object(q)) {
        rpc_err_set(e, -32602, 0, "Invalid params: query is required");
        return NULL;
    }
    json_t *jpid = json_object_get(q, "PartnerId");
    json_t *jcols = json_object_get(q, "Columns");
    json_t *jtot = json_object_get(q, "Totals");
    json_t *jex = json_object_get(q, "ExcludedPartners");
    json_t *jstart = json_object_get(q, "StartRecordNumber");
    json_t *jcount = json_object_get(q, "RecordsCount");
    const char *filter = json_string_value(json_object_get(q, "Filter"));
    const char *order = json_string_value(json_object_get(q, "OrderBy"));
    int64_t start = 0, count = c->max_records;

    if (!json_is_integer(jpid) || (jstart != NULL && !json_is_integer(jstart)) ||
        (jcount != NULL && !json_is_integer(jcount)) ||
        (jcols != NULL && !json_is_array(jcols) && !json_is_null(jcols)) ||
        (jtot != NULL && !json_is_array(jtot) && !json_is_null(jtot)) ||
        (jex != NULL && !json_is_array(jex) && !json_is_null(jex))) {
        rpc_err_set(e, -32602, 0, "Invalid params");
        return NULL;
    }
    if (jstart != NULL)
        start = json_integer_value(jstart);
    if (jcount != NULL)
        count = json_integer_value(jcount);
    if (start < 0 || count < 0) {
        rpc_err_set(e, -32602, 0, "Invalid params: negative StartRecordNumber or RecordsCount");
        return NULL;
    }
    ssize_t root = partner_by_id(c, json_integer_value(jpid));
    if (root < 0 || !partner_within(c, (size_t)root, c->users[user].partner)) {
        rpc_err_set(e, -32603, ERR_SECURITY, MSG_SECURITY);
        return NULL;
    }

    /* Columns: keep the requested spelling, drop exact duplicates, sort by spelling. */
    size_t i;
    json_t *v;
    cols = xcalloc(json_array_size(jcols) + 1, sizeof(*cols));
    json_array_foreach(jcols, i, v)
    {
        if (!json_is_string(v))
            continue;
        struct req_col rc = {.spelling = json_string_value(v)};
        rc.known = cove_col_parse(rc.spelling, &rc.col);
        if (rc.known && col_forbidden(c, rc.col)) {
            rpc_err_set(e, -32603, ERR_SECURITY, MSG_SECURITY);
            goto out;
        }
        cols[ncols++] = rc;
    }
    qsort(cols, ncols, sizeof(*cols), cmp_req_col);
    size_t w = 0;
    for (size_t k = 0; k < ncols; k++)
        if (w == 0 || strcmp(cols[w - 1].spelling, cols[k].spelling) != 0)
            cols[w++] = cols[k];
    ncols = w;
    for (size_t k = 0; k < ncols; k++) {
        struct bk_buf pb;
        bk_buf_init(&pb, SIZE_MAX);
        bk_buf_appends(&pb, "{\"");
        esc_append(&pb, cols[k].spelling);
        bk_buf_appends(&pb, "\":\"");
        cols[k].prefix = bk_buf_steal(&pb);
    }

    totals = xcalloc(json_array_size(jtot) + 1, sizeof(*totals));
    json_array_foreach(jtot, i, v)
    {
        char err[200];
        if (!json_is_string(v))
            continue;
        struct total *t = &totals[ntotals];
        t->spelling = json_string_value(v);
        t->expr = parse_total(t->spelling, &t->func, err, sizeof(err));
        if (t->expr == NULL) {
            char msg[300];
            snprintf(msg, sizeof(msg), "Invalid totals expression: %s", err);
            rpc_err_set(e, -32602, 0, msg);
            goto out;
        }
        ntotals++;
        if (!cove_expr_each_col(t->expr, expr_col_allowed, c)) {
            rpc_err_set(e, -32603, ERR_SECURITY, MSG_SECURITY);
            goto out;
        }
    }

    if (select_devices(c, (size_t)root, jex, filter != NULL ? filter : "",
                       order != NULL ? order : "", e) != 0)
        goto out;

    size_t n = c->cache.n;
    size_t first = (uint64_t)start < n ? (size_t)start : n;
    size_t rows = n - first;
    if (count > c->max_records)
        count = c->max_records;
    if ((uint64_t)count < rows)
        rows = (size_t)count;
    /* One deliberately short page, to catch clients that stop on it or miss a count gap. */
    if (c->short_page_at >= 0 && !c->short_page_done && start == c->short_page_at && rows > 1) {
        rows /= 2;
        c->short_page_done = true;
    }
    /* One deliberately empty page: the listing ends before the announced total. */
    if (c->empty_page_at >= 0 && !c->empty_page_done && start == c->empty_page_at) {
        rows = 0;
        c->empty_page_done = true;
    }

    struct bk_buf b;
    struct cove_env env;
    struct col_ctx cc;
    bk_buf_init(&b, RESP_MAX);
    env_init(&env, &cc, c);
    bk_buf_appends(&b, "{\"result\":[");
    for (size_t k = 0; k < rows; k++) {
        const struct device *d = &c->devs[c->cache.idx[first + k]];
        cc.d = d;
        bk_buf_printf(
            &b, "%s{\"AccountId\":%" PRId64 ",\"Flags\":%s,\"PartnerId\":%" PRId64 ",\"Settings\":",
            k == 0 ? "" : ",", d->id, d->auto_deployed ? "[\"AutoDeployed\"]" : "null",
            c->partners[d->partner].id);
        append_settings(&b, &cc, cols, ncols);
        bk_buf_appends(&b, "}");
    }
    bk_buf_appends(&b, "]");
    if (jtot == NULL || json_is_null(jtot) || c->totals_shape == TOTALS_NULL) {
        bk_buf_appends(&b, ",\"totalStatistics\":null");
    } else if (c->totals_shape != TOTALS_OMIT) {
        char buf[128], num[32];
        for (size_t k = 0; k < n; k++) {
            cc.d = &c->devs[c->cache.idx[k]];
            for (size_t t = 0; t < ntotals; t++) {
                struct cove_val val;
                struct total *tt = &totals[t];
                cove_expr_eval(tt->expr, &env, &val, buf, sizeof(buf));
                if (tt->func == 0) {
                    tt->acc += cove_val_truthy(&val);
                } else {
                    double x = val.is_str ? 0 : val.num;
                    if (val.is_str)
                        str_to_double(val.str, &x);
                    if (tt->func == 1 || !tt->any)
                        tt->acc = tt->func == 1 ? tt->acc + x : x;
                    else if ((tt->func == 2 && x > tt->acc) || (tt->func == 3 && x < tt->acc))
                        tt->acc = x;
                    tt->any = true;
                }
            }
        }
        qsort(totals, ntotals, sizeof(*totals), cmp_total);
        int shape = c->totals_shape;
        bool obj = shape == TOTALS_OBJECT, quote = shape != TOTALS_NUMBERS;
        bk_buf_appends(&b, ",\"totalStatistics\":");
        if (shape == TOTALS_STRING) {
            cove_num_format(ntotals > 0 ? totals[0].acc : 0, num, sizeof(num));
            bk_buf_printf(&b, "\"%s\"", num);
        } else {
            bk_buf_appends(&b, obj ? "{" : shape == TOTALS_NESTED ? "[[" : "[");
            for (size_t t = 0; t < ntotals; t++) {
                if (t > 0 && strcmp(totals[t - 1].spelling, totals[t].spelling) == 0)
                    continue;
                cove_num_format(totals[t].acc, num, sizeof(num));
                bk_buf_appends(&b, t == 0 ? "" : ",");
                bk_buf_appends(&b, obj ? "\"" : "{\"");
                esc_append(&b, totals[t].spelling);
                bk_buf_appends(&b, quote ? "\":\"" : "\":");
                bk_buf_appends(&b, shape == TOTALS_GARBLED ? "n/a" : num);
                bk_buf_appends(&b, quote ? "\"" : "");
                bk_buf_appends(&b, obj ? "" : "}");
            }
            bk_buf_appends(&b, obj ? "}" : shape == TOTALS_NESTED ? "]]" : "]");
        }
    }
    bk_buf_appends(&b, "}");
    out = bk_buf_steal(&b);
out:
    for (size_t k = 0; k < ncols; k++)
        free(cols[k].prefix);
    free(cols);
    for (size_t t = 0; t < ntotals; t++)
        cove_expr_free(totals[t].expr);
    free(totals);
    return out;
}

/* ------------------------------------------------------------------------------------------ */
/* partners (reference §5.1)                                                                  */

/* PartnerFields: 0 Name, 1 Level, 3 ChildServiceTypes, 4 ServiceType, 5 State, 8 LocationId,
 * 9 Flags, 10 Company, 18 ExternalCode+MailFrom, 20 CreationTime. Fields not asked for are
 * null, as the service leaves them unfilled. */
static json_t *partner_json(const struct cove *c, const struct partner *p, json_t *fields)
{
    bool want[21];
    for (size_t k = 0; k < 21; k++)
        want[k] = fields == NULL || json_is_null(fields);
    size_t i;
    json_t *v;
    json_array_foreach(fields, i, v)
    {
        if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 20)
            want[(size_t)json_integer_value(v)] = true;
    }
    json_t *o = json_object();
    json_object_set_new(o, "ChildServiceTypes", want[3] ? json_array() : json_null());
    json_object_set_new(o, "Company", want[10] ? json_pack("{sn}", "PostAddress") : json_null());
    json_object_set_new(o, "CreationTime", want[20] ? json_integer(p->created) : json_null());
    json_object_set_new(o, "ExternalCode", want[18] ? json_string("") : json_null());
    json_object_set_new(o, "ExternalPartnerProperties", json_null());
    json_object_set_new(o, "Flags", json_null());
    json_object_set_new(o, "Id", json_integer(p->id));
    json_object_set_new(o, "Level", want[1] ? json_string(p->level) : json_null());
    json_object_set_new(o, "LocationId", want[8] ? json_integer(1) : json_null());
    json_object_set_new(o, "MailFrom", want[18] ? json_string("") : json_null());
    json_object_set_new(o, "Name", want[0] ? json_string(p->name) : json_null());
    json_object_set_new(o, "ParentId",
                        json_integer(p->parent >= 0 ? c->partners[p->parent].id : 100));
    json_object_set_new(o, "ServiceType", want[4] ? json_string("AllInclusive") : json_null());
    json_object_set_new(o, "State", want[5] ? json_string("InProduction") : json_null());
    return o;
}

static char *rpc_enumerate_partners(struct cove *c, size_t user, json_t *params, struct rpc_err *e)
{
    json_t *jp = json_object_get(params, "parentPartnerId");
    bool recursive = json_is_true(json_object_get(params, "fetchRecursively"));
    json_t *fields = json_object_get(params, "fields");
    ssize_t parent = json_is_integer(jp) ? partner_by_id(c, json_integer_value(jp)) : -1;

    if (parent < 0 || !partner_within(c, (size_t)parent, c->users[user].partner)) {
        rpc_err_set(e, -32603, ERR_SECURITY, MSG_SECURITY);
        return NULL;
    }
    json_t *arr = json_array();
    for (size_t p = 0; p < c->npartners; p++) {
        if (p == (size_t)parent)
            continue;
        bool in =
            recursive ? partner_within(c, p, (size_t)parent) : c->partners[p].parent == parent;
        if (in)
            json_array_append_new(arr, partner_json(c, &c->partners[p], fields));
    }
    return dump(json_pack("{so}", "result", arr));
}

static char *rpc_partner_info(struct cove *c, size_t user, json_t *params, bool by_name,
                              struct rpc_err *e)
{
    ssize_t p = -1;
    if (by_name) {
        const char *name = json_string_value(json_object_get(params, "name"));
        p = name != NULL ? partner_by_name(c, name) : -1;
    } else {
        json_t *jp = json_object_get(params, "partnerId");
        p = json_is_integer(jp) ? partner_by_id(c, json_integer_value(jp)) : -1;
    }
    if (p < 0 || !partner_within(c, (size_t)p, c->users[user].partner)) {
        rpc_err_set(e, -32603, ERR_SECURITY, MSG_SECURITY);
        return NULL;
    }
    return dump(json_pack("{so}", "result", partner_json(c, &c->partners[p], NULL)));
}

/* ------------------------------------------------------------------------------------------ */
/* /jsonapi dispatch                                                                          */

static const char *const rpc_methods[] = {"EnumerateAccountStatistics", "EnumeratePartners",
                                          "GetPartnerInfoById", "GetPartnerInfo", NULL};

static void serve_rpc(struct cove *c, const struct sim_request *req, struct sim_response *resp)
{
    json_error_t je;
    json_t *doc = json_loadb(req->body, req->body_len, 0, &je);
    json_t *id = json_object_get(doc, "id");
    json_t *jm = json_object_get(doc, "method");
    json_t *params = json_object_get(doc, "params");
    struct rpc_err e = {0};
    char *result = NULL;

    if (doc == NULL) {
        sim_resp_set(resp, 200, error_doc(NULL, -32700, 0, "Parse error"));
        return;
    }
    if (!json_is_object(doc) || !json_is_string(jm)) {
        sim_resp_set(resp, 200, error_doc(id, -32600, 0, "Invalid Request"));
        goto out;
    }
    const char *method = json_string_value(jm);
    count_method(c, method);
    if (strcmp(method, "Login") == 0) {
        sim_resp_set(resp, 200, rpc_login(c, id, params));
        goto out;
    }
    size_t m;
    for (m = 0; rpc_methods[m] != NULL; m++)
        if (strcmp(method, rpc_methods[m]) == 0)
            break;
    if (rpc_methods[m] == NULL) {
        sim_resp_set(resp, 200, error_doc(id, -32601, 0, "Method not found"));
        goto out;
    }
    /* Only the top-level member counts; a visa inside params is ignored (reference §1). */
    const char *vs = json_string_value(json_object_get(doc, "visa"));
    struct visa *visa = vs != NULL && vs[0] != '\0' ? visa_check(c, vs) : NULL;
    if (visa == NULL) {
        sim_resp_set(resp, 200, error_doc(id, -32603, ERR_VISA, MSG_VISA));
        goto out;
    }
    size_t user = visa->user;
    if (!json_is_object(params))
        params = NULL;
    switch (m) {
    case 0:
        result = rpc_enumerate_statistics(c, user, params, &e);
        break;
    case 1:
        result = rpc_enumerate_partners(c, user, params, &e);
        break;
    default:
        result = rpc_partner_info(c, user, params, m == 3, &e);
        break;
    }
    if (result == NULL)
        sim_resp_set(resp, 200, error_doc(id, e.code, e.data, e.message));
    else
        sim_resp_set(resp, 200, success_doc(id, result, visa_issue(c, user)));
out:
    free(result);
    json_decref(doc);
}

/* Answers a cove-specific injected fault with the JSON-RPC error it stands for. */
static void cove_fault(void *ctx, const struct sim_request *req, const char *kind,
                       struct sim_response *resp)
{
    struct cove *c = ctx;
    json_t *doc = json_loadb(req->body, req->body_len, 0, NULL);
    json_t *id = json_object_get(doc, "id");
    json_t *jm = json_object_get(doc, "method");

    pthread_mutex_lock(&c->lock);
    if (json_is_string(jm) && resp->body == NULL) /* handled=1 already counted it */
        count_method(c, json_string_value(jm));
    if (strcmp(kind, "visa-expire") == 0) {
        /* Expiry mid-pagination: this call fails and so does every visa the client holds. */
        visa_drop_all(c);
        sim_resp_set(resp, 200, error_doc(id, -32603, ERR_VISA, MSG_VISA));
    } else if (strcmp(kind, "rpc1701") == 0) {
        sim_resp_set(resp, 200, error_doc(id, -32603, ERR_VISA, MSG_VISA));
    } else if (strcmp(kind, "rpc2100") == 0) {
        c->login_failures++;
        sim_resp_set(resp, 200, error_doc(id, -32603, ERR_LOGIN, MSG_LOGIN));
    } else if (strcmp(kind, "rpc13501") == 0) {
        sim_resp_set(resp, 200, error_doc(id, -32603, ERR_SECURITY, MSG_SECURITY));
    } else if (strcmp(kind, "rpc-unknown") == 0) {
        sim_resp_set(resp, 200, error_doc(id, -32603, ERR_UNKNOWN, MSG_UNKNOWN));
    } else if (strcmp(kind, "login-novisa") == 0) {
        /* A Login "success" that lost its visa: well-formed JSON, unusable. */
        json_t *o = json_pack("{sOss s{s{sIss}}}", "id", id != NULL ? id : json_null(), "jsonrpc",
                              "2.0", "result", "result", "PartnerId",
                              (json_int_t)c->partners[c->users[0].partner].id, "Name",
                              c->users[0].username);
        sim_resp_set(resp, 200, dump(o));
    } else {
        sim_resp_set(resp, 200,
                     error_doc(id, -32603, ERR_RATE, "Too many concurrent login requests"));
    }
    pthread_mutex_unlock(&c->lock);
    json_decref(doc);
}

static char *cove_error_body(void *ctx, const char *path, unsigned status, const char *message)
{
    return error_doc(NULL, -32603, 0, message);
}

static char *cove_malformed_body(void *ctx, const char *path)
{
    return xstrdup("{\"id\":\"jsonrpc\",\"jsonrpc\":\"2.0\",\"result\":{\"result\":[{\"AccountId\":"
                   " <<garbage>> \x01 not json ]");
}

/* ------------------------------------------------------------------------------------------ */
/* /__sim control surface                                                                     */

static void sim_error(struct sim_response *resp, unsigned status, const char *msg)
{
    sim_resp_set(resp, status, dump(json_pack("{ss}", "error", msg)));
}

static json_t *device_json(const struct cove *c, const struct device *d)
{
    static const unsigned icols[] = {0, 1, 4, 6, 8, 14, 16, 17, 18, 32, 59, 78};
    static const unsigned fields[] = {0, 3, 6, 7, 8, 9, 12, 15, 16, 17, 18};
    struct col_ctx cc = {.c = c, .d = d, .now = cove_now(c)};
    json_t *o = json_object();
    char buf[128], key[16], num[32];
    struct cove_val v;

    json_object_set_new(o, "AccountId", json_integer(d->id));
    json_object_set_new(o, "PartnerId", json_integer(c->partners[d->partner].id));
    json_object_set_new(o, "Flags",
                        d->auto_deployed ? json_pack("[s]", "AutoDeployed") : json_null());
    for (size_t k = 0; k < sizeof(icols) / sizeof(icols[0]); k++) {
        struct cove_col col = {'I', icols[k], 0};
        if (!device_col(&cc, col, &v, buf, sizeof(buf)))
            continue;
        snprintf(key, sizeof(key), "I%u", icols[k]);
        if (!v.is_str)
            cove_num_format(v.num, num, sizeof(num));
        json_object_set_new(o, key, json_string(v.is_str ? v.str : num));
    }
    for (size_t s = 0; s <= d->nds; s++) {
        unsigned code = s == 0 ? 9 : d->ds[s - 1].code;
        for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
            struct cove_col col = {'D', code, fields[k]};
            if (!device_col(&cc, col, &v, buf, sizeof(buf)))
                continue;
            snprintf(key, sizeof(key), "D%02uF%02u", code, fields[k]);
            if (!v.is_str)
                cove_num_format(v.num, num, sizeof(num));
            json_object_set_new(o, key, json_string(v.is_str ? v.str : num));
        }
    }
    return o;
}

/* {"set": {"account_id": N, "<column>": "value", …}}: pokes stored values. Derived columns
 * (I8, I78, I0) cannot be set. */
static int device_set(struct cove *c, json_t *o, char *err, size_t errsz)
{
    json_t *jid = json_object_get(o, "account_id");
    ssize_t at = json_is_integer(jid) ? device_find(c, json_integer_value(jid)) : -1;
    const char *key;
    json_t *v;

    if (at < 0) {
        snprintf(err, errsz, "set: unknown or missing account_id");
        return -1;
    }
    struct device *d = &c->devs[at];
    json_object_foreach(o, key, v)
    {
        struct cove_col col;
        int64_t n = 0;
        const char *s = json_is_string(v) ? json_string_value(v) : NULL;
        if (strcmp(key, "account_id") == 0)
            continue;
        if (!cove_col_parse(key, &col)) {
            snprintf(err, errsz, "set: %s is not a column code", key);
            return -1;
        }
        static const unsigned i_settable[] = {1, 4, 6, 14, 18, 32, 59};
        static const unsigned f_settable[] = {0, 6, 8, 9, 15, 16, 17, 18};
        bool settable = false;
        if (col.kind == 'I') {
            for (size_t k = 0; k < sizeof(i_settable) / sizeof(i_settable[0]); k++)
                settable |= col.num == i_settable[k];
        } else {
            for (size_t k = 0; k < sizeof(f_settable) / sizeof(f_settable[0]); k++)
                settable |= col.field == f_settable[k];
        }
        if (!settable) {
            snprintf(err, errsz, "set: %s cannot be set (derived or not modelled)", key);
            return -1;
        }
        bool is_text = (col.kind == 'I' && (col.num == 1 || col.num == 18)) ||
                       (col.kind == 'D' && col.field == 8);
        if (json_is_integer(v))
            n = json_integer_value(v);
        else if (s == NULL || (!is_text && str_to_i64(s, &n) != 0)) {
            snprintf(err, errsz, "set: %s: expected a string or integer value", key);
            return -1;
        }
        if (col.kind == 'I') {
            switch (col.num) {
            case 1:
            case 18: {
                char **dst = col.num == 1 ? &d->name : &d->computer;
                free(*dst);
                *dst = xstrdup(s != NULL ? s : "");
                break;
            }
            case 4:
                d->created = n;
                break;
            case 6:
                d->last_contact = n;
                break;
            case 14:
                d->used = n;
                break;
            case 32:
                d->os_type = (uint8_t)n;
                break;
            case 59:
                d->account_type = (uint8_t)n;
                break;
            default:
                snprintf(err, errsz, "set: %s cannot be set", key);
                return -1;
            }
            continue;
        }
        struct ds_stat *st = (struct ds_stat *)device_ds(d, col.num);
        if (st == NULL) {
            snprintf(err, errsz, "set: device has no data source D%02u", col.num);
            return -1;
        }
        switch (col.field) {
        case 0:
            st->f00 = (uint8_t)n;
            break;
        case 6:
            st->f06 = (uint32_t)n;
            break;
        case 8: {
            size_t bl = s != NULL ? strlen(s) : 0;
            if (s == NULL || bl > BAR_DAYS || strspn(s, "0123456789") != bl) {
                snprintf(err, errsz, "set: %s: expected up to %d digits", key, BAR_DAYS);
                return -1;
            }
            memset(st->bar, '0', BAR_DAYS);
            memcpy(st->bar + BAR_DAYS - bl, s, bl);
            break;
        }
        case 9:
            st->f09 = n;
            break;
        case 15:
            st->f15 = n;
            break;
        case 16:
            st->f16 = (uint8_t)n;
            break;
        case 17:
            st->f17 = (uint8_t)n;
            break;
        case 18:
            st->f18 = n;
            break;
        default:
            snprintf(err, errsz, "set: %s cannot be set", key);
            return -1;
        }
    }
    c->generation++;
    return 0;
}

static void serve_devices(struct cove *c, const struct sim_request *req, struct sim_response *resp)
{
    char err[256];

    if (strcmp(req->method, "GET") == 0) {
        const char *a = sim_req_arg(req, "account_id");
        if (a != NULL) {
            int64_t id;
            ssize_t at = str_to_i64(a, &id) == 0 ? device_find(c, id) : -1;
            if (at < 0)
                sim_error(resp, 404, "no such device");
            else
                sim_resp_set(resp, 200, dump(device_json(c, &c->devs[at])));
            return;
        }
        json_t *arr = json_array();
        for (size_t i = 0; i < c->ndevs; i++)
            json_array_append_new(arr, device_json(c, &c->devs[i]));
        sim_resp_set(resp, 200, dump(json_pack("{so}", "devices", arr)));
        return;
    }
    if (strcmp(req->method, "POST") != 0) {
        sim_error(resp, 405, "use GET or POST");
        return;
    }
    json_t *doc = json_loadb(req->body, req->body_len, 0, NULL);
    json_t *add = json_object_get(doc, "add"), *rm = json_object_get(doc, "remove");
    json_t *set = json_object_get(doc, "set");
    if (!json_is_object(doc) || (add == NULL) + (rm == NULL) + (set == NULL) != 2) {
        sim_error(resp, 400,
                  "expected exactly one of {\"add\": {…}}, {\"remove\": ID}, "
                  "{\"set\": {\"account_id\": ID, …}}");
    } else if (add != NULL) {
        int64_t id = 400001;
        while (device_find(c, id) >= 0)
            id++;
        if (add_scenario_device(c, add, id, err, sizeof(err), "add") != 0) {
            sim_error(resp, 400, err);
        } else {
            json_t *jid = json_object_get(add, "account_id");
            sim_resp_set(resp, 200,
                         dump(json_pack("{sI}", "added",
                                        (json_int_t)(jid != NULL ? json_integer_value(jid) : id))));
        }
    } else if (rm != NULL) {
        ssize_t at = json_is_integer(rm) ? device_find(c, json_integer_value(rm)) : -1;
        if (at < 0) {
            sim_error(resp, 404, "no such device");
        } else {
            device_clear(&c->devs[at]);
            memmove(&c->devs[at], &c->devs[at + 1], (c->ndevs - (size_t)at - 1) * sizeof(*c->devs));
            c->ndevs--;
            c->generation++;
            sim_resp_set(resp, 200, dump(json_pack("{sI}", "removed", json_integer_value(rm))));
        }
    } else if (!json_is_object(set) || device_set(c, set, err, sizeof(err)) != 0) {
        sim_error(resp, 400, json_is_object(set) ? err : "set: expected an object");
    } else {
        ssize_t at = device_find(c, json_integer_value(json_object_get(set, "account_id")));
        sim_resp_set(resp, 200, dump(device_json(c, &c->devs[at])));
    }
    json_decref(doc);
}

/* Body keys, applied in this order: seconds (move the clock), all (start a session on every
 * device), account_id + status (finish, or start and finish, one device's session),
 * complete_running (finish every running session with its modelled outcome). */
static void serve_advance(struct cove *c, const struct sim_request *req, struct sim_response *resp)
{
    json_t *doc = json_loadb(req->body, req->body_len, 0, NULL);
    static const char *const keys[] = {"seconds",          "all", "account_id", "status", "errors",
                                       "complete_running", NULL};
    char err[256];
    int64_t seconds = 0, status = -1, errors = -1, started = 0, completed = 0;
    ssize_t at = -1;

    if (strcmp(req->method, "POST") != 0) {
        sim_error(resp, 405, "use POST");
        goto out;
    }
    if (!json_is_object(doc) || check_keys(doc, keys, err, sizeof(err), "advance") != 0 ||
        get_int(doc, "seconds", 0, 86400LL * 3650, &seconds, err, sizeof(err), "advance") < 0 ||
        get_int(doc, "status", 1, 12, &status, err, sizeof(err), "advance") < 0 ||
        get_int(doc, "errors", 0, UINT32_MAX, &errors, err, sizeof(err), "advance") < 0) {
        sim_error(resp, 400, json_is_object(doc) ? err : "expected a JSON object");
        goto out;
    }
    json_t *jid = json_object_get(doc, "account_id");
    if (jid != NULL) {
        at = json_is_integer(jid) ? device_find(c, json_integer_value(jid)) : -1;
        if (at < 0 || !valid_status(status)) {
            sim_error(resp, 400,
                      at < 0 ? "advance: unknown account_id"
                             : "advance: account_id needs a \"status\" (1-12, not 4)");
            goto out;
        }
    }
    c->offset += seconds;
    sync_day(c);
    int64_t now = cove_now(c);
    if (json_is_true(json_object_get(doc, "all"))) {
        for (size_t i = 0; i < c->ndevs; i++) {
            session_start(c, &c->devs[i], now, 1);
            started++;
        }
    }
    if (at >= 0) {
        struct device *d = &c->devs[at];
        if (is_running((int)status)) {
            session_start(c, d, now, (int)status);
            started++;
        } else {
            if (!device_running(d)) {
                session_start(c, d, now, 1);
                started++;
            }
            session_finish(c, d, (int)status, errors, now);
            completed++;
        }
    }
    if (json_is_true(json_object_get(doc, "complete_running"))) {
        for (size_t i = 0; i < c->ndevs; i++) {
            struct device *d = &c->devs[i];
            if (!device_running(d))
                continue;
            session_finish(c, d, next_outcome(c, d), -1, now);
            completed++;
        }
    }
    c->generation++;
    sim_resp_set(resp, 200,
                 dump(json_pack("{sIsIsI}", "now", (json_int_t)now, "started", (json_int_t)started,
                                "completed", (json_int_t)completed)));
out:
    json_decref(doc);
}

static void serve_stats(struct cove *c, struct sim_response *resp)
{
    json_t *reqs = json_object();
    for (size_t i = 0; i < c->nmethods; i++)
        json_object_set_new(reqs, c->methods[i].name, json_integer(c->methods[i].n));
    sim_resp_set(resp, 200,
                 dump(json_pack("{sIsIsosIsIsIsI}", "logins", (json_int_t)c->logins,
                                "login_failures", (json_int_t)c->login_failures, "requests", reqs,
                                "visas", (json_int_t)c->nvisas, "devices", (json_int_t)c->ndevs,
                                "start", (json_int_t)c->start, "now", (json_int_t)cove_now(c))));
}

static void serve_partners(struct cove *c, struct sim_response *resp)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < c->npartners; i++)
        json_array_append_new(arr, partner_json(c, &c->partners[i], NULL));
    sim_resp_set(resp, 200, dump(json_pack("{so}", "partners", arr)));
}

static void cove_handle(void *ctx, const struct sim_request *req, struct sim_response *resp)
{
    struct cove *c = ctx;

    pthread_mutex_lock(&c->lock);
    sync_day(c);
    if (strcmp(req->path, "/__sim/advance") == 0)
        serve_advance(c, req, resp);
    else if (strcmp(req->path, "/__sim/devices") == 0)
        serve_devices(c, req, resp);
    else if (strcmp(req->path, "/__sim/stats") == 0)
        serve_stats(c, resp);
    else if (strcmp(req->path, "/__sim/partners") == 0)
        serve_partners(c, resp);
    else if (strncmp(req->path, "/__sim/", 7) == 0)
        sim_error(resp, 404, "unknown /__sim endpoint");
    else if (strcmp(req->path, "/jsonapi") == 0 && strcmp(req->method, "POST") == 0)
        serve_rpc(c, req, resp);
    else {
        sim_resp_set(resp, 404, xstrdup("Not Found\n"));
        resp->content_type = "text/plain";
    }
    pthread_mutex_unlock(&c->lock);
}

/* ------------------------------------------------------------------------------------------ */
/* main                                                                                       */

static const char *const cove_fault_kinds[] = {"visa-expire",  "rpc1701",  "rpc2100",
                                               "rpc13501",     "rpc14409", "rpc-unknown",
                                               "login-novisa", NULL};

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: cove-sim [options]\n"
        "Local N-able Cove Data Protection JSON-RPC simulator (POST /jsonapi).\n"
        "%s"
        "                       cove kinds: visa-expire (1701 and every earlier visa dies),\n"
        "                       rpc1701 rpc2100 rpc13501 rpc14409 (that JSON-RPC error),\n"
        "                       rpc-unknown (error.data 19001, in no reference),\n"
        "                       login-novisa (a Login success without its visa);\n"
        "                       e.g. visa-expire,rpc=EnumerateAccountStatistics,after=2\n"
        "  --devices N          devices in the generated fleet (default 20)\n"
        "  --customers M        customer partners under the MSP (default 3; when M >= 3 the\n"
        "                       last two are both named \"Contoso\")\n"
        "  --seed S             seed of the deterministic fleet (default 1)\n"
        "  --hostile-names      name device 8 " XSS_NAME " (for tests of escaping)\n"
        "  --scenario F         JSON {\"customers\": [names], \"devices\": [{account_id, name,\n"
        "                       partner|partner_id, os_type, account_type, datasources,\n"
        "                       status, errors, duration, last_session, last_success,\n"
        "                       colour_bar, computer_name, used_bytes, auto_deployed,\n"
        "                       last_contact}]}; times < 1e9 in magnitude are relative to start\n"
        "  --partner NAME --username U --password P   an API user (repeatable, in order;\n"
        "                       default: \"" DEFAULT_PARTNER "\" / " DEFAULT_USERNAME
        " / " DEFAULT_PASSWORD ")\n"
        "  --visa-ttl SECONDS   idle lifetime of a visa, sliding (default 900)\n"
        "  --forbid-column CODE answer 13501 when CODE is requested (repeatable; Dnn* = a\n"
        "                       whole data source; none = nothing; default D02* D03*)\n"
        "  --max-records N      rows per page at most (default 5000)\n"
        "  --short-page-at N    once, answer StartRecordNumber == N with half a page\n"
        "  --empty-page-at N    once, answer StartRecordNumber == N with no rows\n"
        "  --totals-shape S     how totalStatistics is written: array (default,\n"
        "                       [{\"expr\":\"n\"}]), numbers ([{\"expr\":n}]), object\n"
        "                       ({\"expr\":\"n\"}), null, omit (no member), string (\"n\"),\n"
        "                       nested ([[…]]), garbled ([{\"expr\":\"n/a\"}])\n"
        "  --help               this text\n"
        "Test control (no auth, not logged): POST /__sim/advance, GET|POST /__sim/devices,\n"
        "GET /__sim/stats, GET /__sim/partners, GET|POST|DELETE /__sim/fault.\n",
        sim_config_usage());
}

static void cove_free(struct cove *c)
{
    for (size_t i = 0; i < c->ndevs; i++)
        device_clear(&c->devs[i]);
    free(c->devs);
    for (size_t i = 0; i < c->npartners; i++)
        free(c->partners[i].name);
    free(c->partners);
    for (size_t i = 0; i < c->nusers; i++) {
        free(c->users[i].partner_name);
        free(c->users[i].username);
        free(c->users[i].password);
    }
    free(c->users);
    visa_drop_all(c);
    free(c->forbid);
    sel_cache_clear(&c->cache);
    pthread_mutex_destroy(&c->lock);
}

static int opt_int(const char *name, const char *val, int64_t lo, int64_t hi, int64_t *out)
{
    if (val == NULL || str_to_i64(val, out) != 0 || *out < lo || *out > hi) {
        fprintf(stderr, "cove-sim: %s: expected an integer in %" PRId64 "..%" PRId64 "\n", name, lo,
                hi);
        return -1;
    }
    return 0;
}

static int add_forbid(struct cove *c, const char *code)
{
    struct forbid f = {0};
    size_t n = strlen(code);

    if (strcmp(code, "none") == 0)
        return 0;
    if (n > 1 && code[n - 1] == '*') {
        char *head = xstrndup(code, n - 1);
        char *probe = xasprintf("%sF00", head);
        bool ok = head[0] == 'D' && cove_col_parse(probe, &f.col);
        free(head);
        free(probe);
        if (!ok)
            return -1;
        f.whole_ds = true;
    } else if (!cove_col_parse(code, &f.col)) {
        return -1;
    }
    c->forbid = xrealloc(c->forbid, (c->nforbid + 1) * sizeof(*c->forbid));
    c->forbid[c->nforbid++] = f;
    return 0;
}

int main(int argc, char **argv)
{
    struct cove c;
    struct sim_config cfg;
    const char *scenario = NULL;
    const char *partners[64], *usernames[64], *passwords[64];
    const char *forbids[64];
    size_t npart = 0, nuser = 0, npass = 0, nforbid = 0;
    int64_t devices = 20, customers = 3, seed = 1;
    char err[256];
    int rc = 2;

    memset(&c, 0, sizeof(c));
    pthread_mutex_init(&c.lock, NULL);
    c.visa_ttl = 900;
    c.max_records = 5000;
    c.short_page_at = -1;
    c.empty_page_at = -1;
    sim_config_init(&cfg);
    sim_fault_kinds_register(cove_fault_kinds);

    for (int i = 1; i < argc; i++) {
        char name[64];
        const char *arg = argv[i], *val;
        const char *eq = strchr(arg, '=');
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            rc = 0;
            goto out;
        }
        if (strcmp(arg, "--hostile-names") == 0) {
            c.hostile_names = true;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0 || (eq != NULL && (size_t)(eq - arg) >= sizeof(name))) {
            fprintf(stderr, "cove-sim: unexpected argument %s\n", arg);
            usage(stderr);
            goto out;
        }
        snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - arg) : (int)strlen(arg), arg);
        val = eq != NULL ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);

        int r = sim_config_option(&cfg, name, val, err, sizeof(err));
        if (r < 0) {
            fprintf(stderr, "cove-sim: %s\n", err);
            goto out;
        }
        if (r > 0)
            continue;
        if (val == NULL) {
            fprintf(stderr, "cove-sim: %s needs a value\n", name);
            goto out;
        }
        if (strcmp(name, "--devices") == 0) {
            if (opt_int(name, val, 0, MAX_DEVICES, &devices) != 0)
                goto out;
        } else if (strcmp(name, "--customers") == 0) {
            if (opt_int(name, val, 1, 100000, &customers) != 0)
                goto out;
        } else if (strcmp(name, "--seed") == 0) {
            if (opt_int(name, val, 0, INT64_MAX, &seed) != 0)
                goto out;
        } else if (strcmp(name, "--visa-ttl") == 0) {
            if (opt_int(name, val, 1, 86400LL * 365, &c.visa_ttl) != 0)
                goto out;
        } else if (strcmp(name, "--max-records") == 0) {
            if (opt_int(name, val, 1, 1000000, &c.max_records) != 0)
                goto out;
        } else if (strcmp(name, "--short-page-at") == 0) {
            if (opt_int(name, val, 0, INT64_MAX / 2, &c.short_page_at) != 0)
                goto out;
        } else if (strcmp(name, "--empty-page-at") == 0) {
            if (opt_int(name, val, 0, INT64_MAX / 2, &c.empty_page_at) != 0)
                goto out;
        } else if (strcmp(name, "--totals-shape") == 0) {
            int k = 0;
            while (totals_shape_names[k] != NULL && strcmp(totals_shape_names[k], val) != 0)
                k++;
            if (totals_shape_names[k] == NULL) {
                fprintf(stderr,
                        "cove-sim: --totals-shape: expected array, numbers, object, null, omit, "
                        "string, nested or garbled, not \"%s\"\n",
                        val);
                goto out;
            }
            c.totals_shape = k;
        } else if (strcmp(name, "--scenario") == 0) {
            scenario = val;
        } else if (strcmp(name, "--partner") == 0 || strcmp(name, "--username") == 0 ||
                   strcmp(name, "--password") == 0 || strcmp(name, "--forbid-column") == 0) {
            const char **arr = strcmp(name, "--partner") == 0    ? partners
                               : strcmp(name, "--username") == 0 ? usernames
                               : strcmp(name, "--password") == 0 ? passwords
                                                                 : forbids;
            size_t *cnt = arr == partners    ? &npart
                          : arr == usernames ? &nuser
                          : arr == passwords ? &npass
                                             : &nforbid;
            if (*cnt == 64) {
                fprintf(stderr, "cove-sim: too many %s options\n", name);
                goto out;
            }
            if (val[0] == '\0') {
                fprintf(stderr, "cove-sim: %s must not be empty\n", name);
                goto out;
            }
            arr[(*cnt)++] = val;
        } else {
            fprintf(stderr, "cove-sim: unknown option %s\n", name);
            usage(stderr);
            goto out;
        }
    }
    if (npart != nuser || nuser != npass) {
        fprintf(stderr, "cove-sim: --partner, --username and --password go together\n");
        goto out;
    }
    if (nuser == 0) {
        partners[0] = DEFAULT_PARTNER;
        usernames[0] = DEFAULT_USERNAME;
        passwords[0] = DEFAULT_PASSWORD;
        nuser = 1;
    }
    if (nforbid == 0) {
        forbids[0] = "D02*";
        forbids[1] = "D03*";
        nforbid = 2;
    }
    for (size_t k = 0; k < nforbid; k++) {
        if (add_forbid(&c, forbids[k]) != 0) {
            fprintf(stderr, "cove-sim: --forbid-column: not a column code or Dnn*: %s\n",
                    forbids[k]);
            goto out;
        }
    }

    c.seed = (uint64_t)seed;
    c.start = bk_now_ms() / 1000;
    c.bar_day = floor_div(c.start, 86400);
    build_fleet(&c, devices, customers);
    /* The first user's partner names the MSP unless it is an existing partner, so a test can
     * log in under any root name it likes. */
    if (partner_by_name(&c, partners[0]) < 0) {
        free(c.partners[0].name);
        c.partners[0].name = xstrdup(partners[0]);
    }
    if (scenario != NULL && load_scenario(&c, scenario, err, sizeof(err)) != 0) {
        fprintf(stderr, "cove-sim: scenario %s: %s\n", scenario, err);
        goto out;
    }
    qsort(c.devs, c.ndevs, sizeof(*c.devs), cmp_dev_id);
    c.users = xcalloc(nuser, sizeof(*c.users));
    for (size_t k = 0; k < nuser; k++) {
        ssize_t p = partner_by_name(&c, partners[k]);
        if (p < 0) {
            fprintf(stderr, "cove-sim: --partner: no partner named \"%s\"\n", partners[k]);
            goto out;
        }
        c.users[c.nusers++] = (struct user){.partner_name = xstrdup(partners[k]),
                                            .username = xstrdup(usernames[k]),
                                            .password = xstrdup(passwords[k]),
                                            .id = 50001 + (int64_t)k,
                                            .partner = (size_t)p};
    }

    struct sim_app app = {.ctx = &c,
                          .handle = cove_handle,
                          .error_body = cove_error_body,
                          .fault = cove_fault,
                          .malformed_body = cove_malformed_body};
    rc = sim_run(&cfg, &app) == 0 ? 0 : 1;
out:
    sim_config_free(&cfg);
    cove_free(&c);
    return rc;
}
