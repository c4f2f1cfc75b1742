/* Unit tests of core/schedule and core/tzfile: parsing, time zones across DST, learning from
 * runs and from Cove colour bars, slots and Missed, duration anomalies, offline workstations.
 * Every function takes `now`, so the clock here is just a number. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/schedule.h"
#include "core/tzfile.h"
#include "util/err.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_MS 60000LL
#define HOUR_MS 3600000LL
#define DAY_MS 86400000LL

static struct bk_tz *paris, *newyork;

static int setup(void **state)
{
    (void)state;
    struct bk_err err = {0};
    if (bk_tz_load("Europe/Paris", &paris, &err) < 0 ||
        bk_tz_load("America/New_York", &newyork, &err) < 0) {
        fprintf(stderr, "tzdata missing: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    bk_tz_free(paris);
    bk_tz_free(newyork);
    return 0;
}

static int64_t utc_ms(int y, int mo, int d, int h, int mi)
{
    return (bk_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60) * 1000;
}

/* The instant of a local wall-clock time in tz. */
static int64_t local_ms(const struct bk_tz *tz, int y, int mo, int d, int h, int mi)
{
    return bk_tz_local_to_utc(tz, utc_ms(y, mo, d, h, mi) / 1000) * 1000;
}

static uint32_t lcg = 12345;
static int rnd(int n)
{
    lcg = lcg * 1103515245u + 12345u;
    return (int)((lcg >> 16) % (uint32_t)n);
}

/* Runs each day for `days` days ending the day before `last`, at local h:mi + jitter. */
static size_t daily_runs(const struct bk_tz *tz, int64_t *out, size_t n, int y, int mo, int d,
                         int days, int h, int mi, int jitter_min)
{
    int64_t day0 = bk_days_from_civil(y, (unsigned)mo, (unsigned)d) - days;
    for (int i = 0; i < days; i++) {
        int64_t local = (day0 + i) * 86400 + h * 3600 + mi * 60;
        int j = jitter_min ? rnd(jitter_min) : 0;
        out[n++] = bk_tz_local_to_utc(tz, local) * 1000 + j * MIN_MS;
    }
    return n;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* ---- parsing ------------------------------------------------------------------------- */

static void test_parse_duration(void **state)
{
    (void)state;
    int64_t s;
    struct bk_err err = {0};
    assert_int_equal(bk_sched_parse_duration("1d", &s, &err), 0);
    assert_int_equal(s, 86400);
    assert_int_equal(bk_sched_parse_duration("12h", &s, &err), 0);
    assert_int_equal(s, 43200);
    assert_int_equal(bk_sched_parse_duration("1w", &s, &err), 0);
    assert_int_equal(s, 7 * 86400);
    assert_int_equal(bk_sched_parse_duration("1h30m", &s, &err), 0);
    assert_int_equal(s, 5400);
    assert_int_equal(bk_sched_parse_duration("0", &s, &err), 0);
    assert_int_equal(s, 0);
    const char *bad[] = {"", "1", "1x", "d", "-1d", "1d ", "367d", "99999999999999999999s"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(bk_sched_parse_duration(bad[i], &s, &err), -BK_EINVAL);
    bk_sched_parse_duration("1h30x", &s, &err);
    assert_non_null(strstr(err.msg, "column 5"));
    assert_null(strchr(err.msg, '\n'));
}

static void test_parse_cron(void **state)
{
    (void)state;
    struct bk_cron c;
    struct bk_err err = {0};
    assert_int_equal(bk_sched_parse_cron("30 2 * * *", &c, &err), 0);
    assert_true(c.minutes == 1ULL << 30 && c.hours == 1u << 2 && c.mday_any && c.wday_any);
    assert_int_equal(c.months, 0x1ffe);
    assert_int_equal(bk_sched_parse_cron("*/15 1-3,22 1,15 JAN-mar mon-FRI", &c, &err), 0);
    assert_true(c.minutes == (1ULL | 1ULL << 15 | 1ULL << 30 | 1ULL << 45));
    assert_int_equal(c.hours, (1u << 1 | 1u << 2 | 1u << 3 | 1u << 22));
    assert_int_equal(c.mdays, (1u << 1 | 1u << 15));
    assert_int_equal(c.months, 0xe);
    assert_int_equal(c.wdays, 0x3e);
    assert_false(c.mday_any || c.wday_any);
    assert_int_equal(bk_sched_parse_cron("0 0 * * 7", &c, &err), 0); /* 7 = Sunday */
    assert_int_equal(c.wdays, 1);
    assert_int_equal(bk_sched_parse_cron("0 0 * * SAT-7", &c, &err), 0);
    assert_int_equal(c.wdays, 0x41);
    assert_int_equal(bk_sched_parse_cron("0 8-18/5 * * *", &c, &err), 0);
    assert_int_equal(c.hours, (1u << 8 | 1u << 13 | 1u << 18));
    assert_int_equal(bk_sched_parse_cron("@weekly", &c, &err), 0);
    assert_int_equal(c.wdays, 1);

    struct {
        const char *spec, *want;
    } bad[] = {
        {"0 25 * * *", "column 3 (hour): 25 is out of range 0-23"},
        {"0 2 * *", "4 fields, expected 5"},
        {"0 2 * * * *", "column 11: more than 5 fields"},
        {"0 2 * FOO *", "column 7 (month): expected a number or a month name"},
        {"0 2 * * XYZ", "column 9 (day-of-week)"},
        {"5-2 * * * *", "column 3 (minute): range ends before it starts"},
        {"*/0 * * * *", "column 3 (minute): step out of range"},
        {"0, * * * *", "column 3 (minute): list ends with ','"},
        {"0 2 0 * *", "column 5 (day-of-month): 0 is out of range 1-31"},
        {"0 2x * * *", "column 4 (hour): unexpected character"},
        {"@yearly", "unknown macro"},
        {"", "0 fields"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = '\0';
        assert_int_equal(bk_sched_parse_cron(bad[i].spec, &c, &err), -BK_EINVAL);
        if (!strstr(err.msg, bad[i].want))
            fail_msg("\"%s\": got \"%s\", want \"%s\"", bad[i].spec, err.msg, bad[i].want);
        assert_null(strchr(err.msg, '\n'));
    }
}

static void test_parse_schedule(void **state)
{
    (void)state;
    struct bk_schedule s;
    struct bk_err err = {0};
    char d[128];
    assert_int_equal(bk_sched_parse("1d", -1, &s, &err), 0);
    assert_int_equal(s.kind, BK_SCHED_EVERY);
    assert_int_equal(s.origin, BK_SCHED_CONFIGURED);
    assert_int_equal(s.grace_s, BK_SCHED_DEFAULT_GRACE_S);
    bk_sched_describe(&s, d, sizeof d);
    assert_string_equal(d, "every 1d");
    assert_int_equal(bk_sched_parse("0 2 * * 1-5", 3600, &s, &err), 0);
    assert_int_equal(s.kind, BK_SCHED_CRON);
    assert_int_equal(s.grace_s, 3600);
    assert_int_equal(s.cron_lead_min, 720);
    bk_sched_describe(&s, d, sizeof d);
    assert_string_equal(d, "cron 0 2 * * 1-5");
    assert_int_equal(bk_sched_parse("0 */6 * * *", -1, &s, &err), 0);
    assert_int_equal(s.cron_lead_min, 180);
    assert_int_equal(bk_sched_parse("1m", -1, &s, &err), -BK_EINVAL);
    assert_non_null(strstr(err.msg, "at least 5m"));
    assert_int_equal(bk_sched_parse("daily", -1, &s, &err), -BK_EINVAL);
}

/* ---- time zones ---------------------------------------------------------------------- */

static void test_tz_offsets_and_dst(void **state)
{
    (void)state;
    /* Paris: CET +1 in winter, CEST +2 in summer; the footer rule beyond the table */
    assert_int_equal(bk_tz_offset(paris, utc_ms(2026, 1, 15, 12, 0) / 1000), 3600);
    assert_int_equal(bk_tz_offset(paris, utc_ms(2026, 7, 15, 12, 0) / 1000), 7200);
    assert_int_equal(bk_tz_offset(paris, utc_ms(2075, 7, 15, 12, 0) / 1000), 7200);
    assert_int_equal(bk_tz_offset(paris, utc_ms(2075, 12, 15, 12, 0) / 1000), 3600);
    /* spring 2026-03-29: 02:00 → 03:00 local at 01:00Z; 02:30 does not exist → 03:30 */
    assert_int_equal(bk_tz_offset(paris, utc_ms(2026, 3, 29, 0, 59) / 1000), 3600);
    assert_int_equal(bk_tz_offset(paris, utc_ms(2026, 3, 29, 1, 0) / 1000), 7200);
    assert_true(local_ms(paris, 2026, 3, 29, 2, 30) == utc_ms(2026, 3, 29, 1, 30));
    assert_true(local_ms(paris, 2026, 3, 29, 3, 30) == utc_ms(2026, 3, 29, 1, 30));
    /* autumn 2026-10-25: 02:30 happens twice; the first is 00:30Z */
    assert_true(local_ms(paris, 2026, 10, 25, 2, 30) == utc_ms(2026, 10, 25, 0, 30));
    assert_true(local_ms(paris, 2026, 10, 25, 4, 0) == utc_ms(2026, 10, 25, 3, 0));
    /* New York: 2026-03-08 02:00 EST → 03:00 EDT; 2026-11-01 02:00 EDT → 01:00 EST */
    assert_int_equal(bk_tz_offset(newyork, utc_ms(2026, 3, 8, 6, 59) / 1000), -5 * 3600);
    assert_int_equal(bk_tz_offset(newyork, utc_ms(2026, 3, 8, 7, 0) / 1000), -4 * 3600);
    assert_true(local_ms(newyork, 2026, 3, 8, 2, 30) == utc_ms(2026, 3, 8, 7, 30));
    assert_true(local_ms(newyork, 2026, 11, 1, 1, 30) == utc_ms(2026, 11, 1, 5, 30));
    assert_int_equal(bk_tz_offset(newyork, utc_ms(2026, 11, 1, 6, 0) / 1000), -5 * 3600);
    struct bk_civil c;
    bk_tz_civil(newyork, utc_ms(2026, 11, 1, 6, 30) / 1000, &c);
    assert_true(c.year == 2026 && c.month == 11 && c.day == 1 && c.hour == 1 && c.min == 30);
    assert_int_equal(c.wday, 0);
}

static void test_tz_posix_and_names(void **state)
{
    (void)state;
    struct bk_tz *tz = NULL;
    struct bk_err err = {0};
    assert_int_equal(bk_tz_parse_posix("EST5EDT,M3.2.0,M11.1.0", &tz, &err), 0);
    assert_int_equal(bk_tz_offset(tz, utc_ms(2026, 7, 1, 0, 0) / 1000), -4 * 3600);
    assert_int_equal(bk_tz_offset(tz, utc_ms(2026, 12, 1, 0, 0) / 1000), -5 * 3600);
    assert_int_equal(bk_tz_offset(tz, utc_ms(2026, 3, 8, 7, 0) / 1000), -4 * 3600);
    assert_int_equal(bk_tz_offset(tz, utc_ms(2026, 3, 8, 6, 59) / 1000), -5 * 3600);
    bk_tz_free(tz);
    assert_int_equal(bk_tz_parse_posix("<+0530>-5:30", &tz, &err), 0);
    assert_int_equal(bk_tz_offset(tz, 0), 5 * 3600 + 1800);
    bk_tz_free(tz);
    /* southern hemisphere: DST across the new year */
    assert_int_equal(bk_tz_parse_posix("AEST-10AEDT,M10.1.0,M4.1.0/3", &tz, &err), 0);
    assert_int_equal(bk_tz_offset(tz, utc_ms(2026, 1, 10, 0, 0) / 1000), 11 * 3600);
    assert_int_equal(bk_tz_offset(tz, utc_ms(2026, 7, 10, 0, 0) / 1000), 10 * 3600);
    bk_tz_free(tz);
    const char *bad[] = {"", "E5", "EST", "EST5EDT,M13.1.0,M11.1.0", "EST5EDT,M3.2.0", "EST99"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(bk_tz_parse_posix(bad[i], &tz, &err), -BK_EINVAL);
    assert_int_equal(bk_tz_load("../../etc/passwd", &tz, &err), -BK_EINVAL);
    assert_non_null(strstr(err.msg, "not an IANA zone name"));
    assert_int_equal(bk_tz_load("/etc/localtime", &tz, &err), -BK_EINVAL);
    assert_int_equal(bk_tz_load("Mars/Olympus_Mons", &tz, &err), -BK_ENOTFOUND);
    assert_int_equal(bk_tz_load("UTC", &tz, &err), 0);
    assert_int_equal(bk_tz_offset(tz, 1700000000), 0);
    bk_tz_free(tz);
    /* the server's zone follows $TZ */
    setenv("TZ", "America/New_York", 1);
    assert_int_equal(bk_tz_load(NULL, &tz, &err), 0);
    assert_string_equal(bk_tz_name(tz), "America/New_York");
    bk_tz_free(tz);
    setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
    assert_int_equal(bk_tz_load("", &tz, &err), 0);
    assert_int_equal(bk_tz_offset(tz, utc_ms(2026, 7, 1, 0, 0) / 1000), 7200);
    bk_tz_free(tz);
    unsetenv("TZ");
    /* not TZif */
    const uint8_t junk[] = "TZif2 this is not a zone file at all, really not";
    assert_int_equal(bk_tz_parse_tzif("junk", junk, sizeof junk, &tz, &err), -BK_EINVAL);
}

/* ---- learning ------------------------------------------------------------------------ */

static struct bk_schedule learn(const struct bk_tz *tz, const int64_t *runs, size_t n,
                                const char *bar, int64_t now)
{
    struct bk_learn_in in = {runs, n, bar, bar ? now : 0, tz, now};
    struct bk_schedule s;
    bk_sched_learn(&in, &s);
    return s;
}

static void test_learn_daily(void **state)
{
    (void)state;
    int64_t runs[200];
    size_t n = daily_runs(paris, runs, 0, 2026, 11, 30, 60, 22, 0, 30); /* 22:00-22:30 */
    int64_t now = local_ms(paris, 2026, 11, 30, 9, 0);
    struct bk_schedule s = learn(paris, runs, n, NULL, now);
    assert_int_equal(s.kind, BK_SCHED_DAILY);
    assert_int_equal(s.origin, BK_SCHED_LEARNED);
    assert_int_equal(s.nwin, 1);
    assert_in_range(s.win[0].start_min, 22 * 60, 22 * 60 + 5);
    assert_in_range(s.win[0].len_min, 15, 30);
    assert_int_equal(s.evidence, 60);
    assert_in_range(s.confidence, 95, 100);
    assert_int_equal(s.per_day, 1);
    char d[128];
    bk_sched_describe(&s, d, sizeof d);
    assert_non_null(strstr(d, "daily 22:0"));

    /* a few nights without a run do not make it irregular */
    int64_t gappy[200];
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (i % 9 != 4)
            gappy[m++] = runs[i];
    s = learn(paris, gappy, m, NULL, now);
    assert_int_equal(s.kind, BK_SCHED_DAILY);
    assert_in_range(s.confidence, 80, 95);

    /* one week of history: daily, but not yet trusted */
    s = learn(paris, runs + n - 7, 7, NULL, now);
    assert_int_equal(s.kind, BK_SCHED_DAILY);
    assert_in_range(s.confidence, 40, 60);
}

static void test_learn_night_across_midnight(void **state)
{
    (void)state;
    int64_t runs[100];
    size_t n = 0;
    int64_t day0 = bk_days_from_civil(2026, 11, 30) - 40;
    for (int i = 0; i < 40; i++) /* 23:40-00:20, i.e. the same night on both sides */
        runs[n++] = bk_tz_local_to_utc(newyork, (day0 + i) * 86400 + 23 * 3600 + 40 * 60) * 1000 +
                    rnd(40) * MIN_MS;
    int64_t now = local_ms(newyork, 2026, 11, 30, 12, 0);
    struct bk_schedule s = learn(newyork, runs, n, NULL, now);
    assert_int_equal(s.kind, BK_SCHED_DAILY);
    assert_int_equal(s.nwin, 1);
    assert_in_range(s.win[0].start_min, 23 * 60 + 40, 23 * 60 + 45);
    assert_in_range(s.win[0].len_min, 25, 40);
}

static void test_learn_twice_daily(void **state)
{
    (void)state;
    int64_t runs[200];
    size_t n = daily_runs(paris, runs, 0, 2026, 11, 30, 45, 2, 0, 20);
    n = daily_runs(paris, runs, n, 2026, 11, 30, 45, 14, 0, 20);
    n = daily_runs(paris, runs, n, 2026, 11, 30, 3, 9, 17, 0); /* a few manual runs */
    qsort(runs, n, sizeof runs[0], cmp64);
    int64_t now = local_ms(paris, 2026, 11, 30, 8, 0);
    struct bk_schedule s = learn(paris, runs, n, NULL, now);
    assert_int_equal(s.kind, BK_SCHED_MULTI);
    assert_int_equal(s.per_day, 2);
    assert_int_equal(s.nwin, 2);
    int a = s.win[0].start_min % 1440, b = s.win[1].start_min % 1440;
    if (a > b) {
        int t = a;
        a = b;
        b = t;
    }
    assert_in_range(a, 2 * 60, 2 * 60 + 5);
    assert_in_range(b, 14 * 60, 14 * 60 + 5);
    assert_in_range(s.win[0].lead_min, 300, 360);
    char d[128];
    bk_sched_describe(&s, d, sizeof d);
    assert_non_null(strstr(d, "2 times a day at"));
}

static void test_learn_hourly(void **state)
{
    (void)state;
    static int64_t runs[24 * 30];
    size_t n = 0;
    int64_t day0 = bk_days_from_civil(2026, 11, 1);
    for (int d = 0; d < 30; d++)
        for (int h = 0; h < 24; h++)
            if (!(d == 27 && h == 13)) /* one hour without a run */
                runs[n++] = bk_tz_local_to_utc(paris, (day0 + d) * 86400 + h * 3600 + 300) * 1000 +
                            rnd(4) * MIN_MS;
    int64_t now = local_ms(paris, 2026, 11, 30, 23, 30);
    struct bk_schedule s = learn(paris, runs, n, NULL, now);
    assert_int_equal(s.kind, BK_SCHED_MULTI);
    assert_int_equal(s.nwin, 24);
    assert_int_equal(s.per_day, 24);
    assert_in_range(bk_sched_period_s(&s, NULL), 3600, 3900);
    struct bk_slot sl[64];
    size_t k = bk_sched_check(&s, paris, runs, n, local_ms(paris, 2026, 11, 28, 0, 0),
                              local_ms(paris, 2026, 11, 29, 0, 0), now, sl, 64);
    assert_int_equal(k, 24);
    for (size_t i = 0; i < k; i++)
        assert_int_equal(sl[i].state, i == 13 ? BK_SLOT_MISSED : BK_SLOT_RAN);
}

static void test_learn_weekly(void **state)
{
    (void)state;
    int64_t runs[200];
    size_t n = 0;
    int64_t now = local_ms(paris, 2026, 11, 30, 12, 0); /* a Monday */
    for (int64_t d = bk_days_from_civil(2026, 9, 1); d < bk_days_from_civil(2026, 11, 30); d++)
        if ((d + 4) % 7 == 0) /* Sundays 03:00 */
            runs[n++] = bk_tz_local_to_utc(paris, d * 86400 + 3 * 3600) * 1000 + rnd(10) * MIN_MS;
    struct bk_schedule s = learn(paris, runs, n, NULL, now);
    assert_int_equal(s.kind, BK_SCHED_WEEKLY);
    assert_int_equal(s.wdays, 1);
    assert_in_range(s.win[0].start_min, 180, 185);
    char d[128];
    bk_sched_describe(&s, d, sizeof d);
    assert_non_null(strstr(d, "weekly Sun 03:0"));

    /* Monday to Friday at 20:00 */
    n = 0;
    for (int64_t day = bk_days_from_civil(2026, 9, 1); day < bk_days_from_civil(2026, 11, 30);
         day++) {
        int w = (int)((day + 4) % 7);
        if (w >= 1 && w <= 5)
            runs[n++] = bk_tz_local_to_utc(paris, day * 86400 + 20 * 3600) * 1000;
    }
    s = learn(paris, runs, n, NULL, now);
    assert_int_equal(s.kind, BK_SCHED_WEEKLY);
    assert_int_equal(s.wdays, 0x3e);
    bk_sched_describe(&s, d, sizeof d);
    assert_string_equal(d, "weekly Mon,Tue,Wed,Thu,Fri 20:00");
    char tiny[12];
    bk_sched_describe(&s, tiny, sizeof tiny);
    assert_string_equal(tiny, "weekly Mon,");
}

static void test_learn_monthly(void **state)
{
    (void)state;
    int64_t runs[20];
    size_t n = 0;
    for (int mo = 9; mo <= 11; mo++) {
        runs[n++] = local_ms(paris, 2026, mo, 1, 1, 0);
        runs[n++] = local_ms(paris, 2026, mo, 15, 1, 0);
    }
    int64_t now = local_ms(paris, 2026, 11, 30, 12, 0);
    struct bk_schedule s = learn(paris, runs, n, NULL, now);
    assert_int_equal(s.kind, BK_SCHED_MONTHLY);
    assert_int_equal(s.mdays, (1u << 1 | 1u << 15));
    char d[128];
    bk_sched_describe(&s, d, sizeof d);
    assert_string_equal(d, "monthly on 1,15 01:00");

    /* the last day of each month */
    n = 0;
    runs[n++] = local_ms(paris, 2026, 8, 31, 23, 0);
    runs[n++] = local_ms(paris, 2026, 9, 30, 23, 0);
    runs[n++] = local_ms(paris, 2026, 10, 31, 23, 0);
    s = learn(paris, runs, n, NULL, local_ms(paris, 2026, 11, 25, 12, 0));
    assert_int_equal(s.kind, BK_SCHED_MONTHLY);
    assert_int_equal(s.mdays, 1u);
    struct bk_slot slots[4];
    size_t k = bk_sched_slots(&s, paris, local_ms(paris, 2026, 11, 1, 0, 0),
                              local_ms(paris, 2027, 3, 1, 0, 0), slots, 4);
    assert_int_equal(k, 4);
    assert_true(slots[0].start_ms == local_ms(paris, 2026, 11, 30, 23, 0));
    assert_true(slots[2].start_ms == local_ms(paris, 2027, 1, 31, 23, 0));
    assert_true(slots[3].start_ms == local_ms(paris, 2027, 2, 28, 23, 0));
}

static void test_learn_irregular_and_unknown(void **state)
{
    (void)state;
    int64_t runs[200];
    size_t n = 0;
    int64_t day0 = bk_days_from_civil(2026, 9, 1);
    lcg = 777;
    for (int i = 0; i < 90; i++)
        if (rnd(100) < 30)
            runs[n++] = bk_tz_local_to_utc(paris, (day0 + i) * 86400 + rnd(86400)) * 1000;
    int64_t now = local_ms(paris, 2026, 11, 30, 12, 0);
    struct bk_schedule s = learn(paris, runs, n, NULL, now);
    assert_int_equal(s.kind, BK_SCHED_IRREGULAR);
    assert_true(s.evidence > 10);
    struct bk_slot slots[8];
    assert_int_equal(bk_sched_check(&s, paris, runs, n, now - 30 * DAY_MS, now, now, slots, 8), 0);

    s = learn(paris, runs + n - 2, 2, NULL, now);
    assert_int_equal(s.kind, BK_SCHED_UNKNOWN);
    assert_int_equal(s.evidence, 2);
    s = learn(paris, NULL, 0, NULL, now);
    assert_int_equal(s.kind, BK_SCHED_UNKNOWN);
    /* runs older than the horizon do not count */
    n = daily_runs(paris, runs, 0, 2026, 6, 1, 30, 22, 0, 0);
    s = learn(paris, runs, n, NULL, now);
    assert_int_equal(s.kind, BK_SCHED_UNKNOWN);
}

static void test_learn_from_colour_bar(void **state)
{
    (void)state;
    int64_t now = utc_ms(2026, 11, 30, 9, 0);
    /* first poll, no runs yet: 28 days of nightly sessions (one failed) */
    struct bk_schedule s = learn(paris, NULL, 0, "5555555552555555555855555550", now);
    assert_int_equal(s.kind, BK_SCHED_DAILY);
    assert_int_equal(s.evidence, 27);
    assert_int_equal(s.nwin, 1);
    assert_int_equal(s.win[0].len_min, 1440); /* no times of day in a bar */
    /* weekly from the bar: Sundays only (2026-11-29 is a Sunday, index 26 of 28) */
    char bar[29];
    for (int i = 0; i < 28; i++)
        bar[i] = (i % 7 == 5) ? '5' : '0';
    bar[28] = '\0';
    s = learn(paris, NULL, 0, bar, now);
    assert_int_equal(s.kind, BK_SCHED_WEEKLY);
    assert_int_equal(s.wdays, 1);
    /* runs give the time, the bar the days: nightly at 21:00 UTC (22:00 Paris) */
    int64_t runs[3] = {utc_ms(2026, 11, 27, 21, 0), utc_ms(2026, 11, 28, 21, 0),
                       utc_ms(2026, 11, 29, 21, 0)};
    s = learn(paris, runs, 3, "5555555555555555555555555550", now);
    assert_int_equal(s.kind, BK_SCHED_DAILY);
    assert_int_equal(s.win[0].start_min, 22 * 60);
    assert_int_equal(s.evidence, 27);
    /* stopped five days ago: still daily, so the silence becomes Missed */
    s = learn(paris, NULL, 0, "5555555555555555555555500000", now);
    assert_int_equal(s.kind, BK_SCHED_DAILY);
    /* the bar's active days stand in for runs: 24, 25 ran, 26-29 missed, 30 not yet */
    int64_t merged[40];
    size_t nm = bk_sched_merge_bar(NULL, 0, "5555555555555555555555500000", now, merged, 40);
    assert_int_equal(nm, 23);
    assert_true(merged[22] == utc_ms(2026, 11, 25, 12, 0));
    struct bk_slot slots[16];
    size_t k = bk_sched_check(&s, paris, merged, nm, now - 7 * DAY_MS, now, now, slots, 16);
    assert_int_equal(k, 7);
    enum bk_slot_state want[7] = {BK_SLOT_RAN,    BK_SLOT_RAN,    BK_SLOT_MISSED,  BK_SLOT_MISSED,
                                  BK_SLOT_MISSED, BK_SLOT_MISSED, BK_SLOT_EXPECTED};
    for (size_t i = 0; i < k; i++)
        assert_int_equal(slots[i].state, want[i]);
    /* runs and bar together: a day with a run adds no stand-in */
    nm = bk_sched_merge_bar(runs, 3, "5555555555555555555555555550", now, merged, 40);
    assert_int_equal(nm, 27);
    assert_true(merged[24] == runs[0] && merged[26] == runs[2]);
    assert_true(merged[23] == utc_ms(2026, 11, 26, 21, 0));
    /* junk in the bar is not activity */
    s = learn(paris, NULL, 0, "xx--  ", now);
    assert_int_equal(s.kind, BK_SCHED_UNKNOWN);
}

/* ---- slots and Missed ---------------------------------------------------------------- */

static void test_slots_missed_and_late(void **state)
{
    (void)state;
    int64_t runs[200];
    /* nightly 22:00 Paris until 2026-11-26 (last run the night of the 26th) */
    size_t n = daily_runs(paris, runs, 0, 2026, 11, 27, 60, 22, 0, 10);
    int64_t now = local_ms(paris, 2026, 11, 30, 21, 0);
    struct bk_schedule s = learn(paris, runs, n, NULL, now);
    assert_int_equal(s.kind, BK_SCHED_DAILY);
    struct bk_slot sl[16];
    size_t k = bk_sched_check(&s, paris, runs, n, local_ms(paris, 2026, 11, 25, 0, 0),
                              local_ms(paris, 2026, 12, 1, 0, 0), now, sl, 16);
    assert_int_equal(k, 6); /* nights of the 25th to the 30th */
    enum bk_slot_state want[6] = {BK_SLOT_RAN,    BK_SLOT_RAN,    BK_SLOT_MISSED,
                                  BK_SLOT_MISSED, BK_SLOT_MISSED, BK_SLOT_EXPECTED};
    for (size_t i = 0; i < k; i++)
        assert_int_equal(sl[i].state, want[i]);
    assert_int_equal(sl[0].run, (int)n - 2);
    assert_int_equal(sl[2].run, -1);
    assert_true(sl[2].due_ms > sl[2].start_ms && sl[2].open_ms < sl[2].start_ms);
    /* the same check twice gives the same slots (one Missed per slot start) */
    struct bk_slot again[16];
    assert_int_equal(bk_sched_check(&s, paris, runs, n, local_ms(paris, 2026, 11, 25, 0, 0),
                                    local_ms(paris, 2026, 12, 1, 0, 0), now, again, 16),
                     k);
    assert_memory_equal(sl, again, k * sizeof sl[0]);
    /* a late run the next morning: stays Missed, and is not taken for the next night */
    runs[n++] = local_ms(paris, 2026, 11, 28, 8, 0);
    k = bk_sched_check(&s, paris, runs, n, local_ms(paris, 2026, 11, 25, 0, 0),
                       local_ms(paris, 2026, 12, 1, 0, 0), now, sl, 16);
    assert_int_equal(sl[2].state, BK_SLOT_MISSED);
    assert_int_equal(sl[3].state, BK_SLOT_MISSED);
    /* an early run (20:30 for a 22:00 night) counts */
    runs[n++] = local_ms(paris, 2026, 11, 29, 20, 30);
    k = bk_sched_check(&s, paris, runs, n, local_ms(paris, 2026, 11, 25, 0, 0),
                       local_ms(paris, 2026, 12, 1, 0, 0), now, sl, 16);
    assert_int_equal(sl[4].state, BK_SLOT_RAN);
    assert_int_equal(sl[4].run, (int)n - 1);
    /* still inside the grace: expected, not yet missed */
    int64_t in_grace = sl[5].start_ms + HOUR_MS;
    k = bk_sched_check(&s, paris, runs, n, local_ms(paris, 2026, 11, 30, 0, 0),
                       local_ms(paris, 2026, 12, 1, 0, 0), in_grace, sl, 16);
    assert_int_equal(k, 1);
    assert_int_equal(sl[0].state, BK_SLOT_EXPECTED);
    k = bk_sched_check(&s, paris, runs, n, local_ms(paris, 2026, 11, 30, 0, 0),
                       local_ms(paris, 2026, 12, 1, 0, 0), sl[0].due_ms, sl, 16);
    assert_int_equal(sl[0].state, BK_SLOT_MISSED);
}

static void test_slots_across_dst(void **state)
{
    (void)state;
    struct bk_schedule s;
    struct bk_err err = {0};
    struct bk_slot sl[8];
    /* "30 2 * * *" in Paris: the spring night has no 02:30, the slot moves to 03:30 */
    assert_int_equal(bk_sched_parse("30 2 * * *", 3600, &s, &err), 0);
    size_t k =
        bk_sched_slots(&s, paris, utc_ms(2026, 3, 28, 0, 0), utc_ms(2026, 3, 31, 0, 0), sl, 8);
    assert_int_equal(k, 3);
    assert_true(sl[0].start_ms == utc_ms(2026, 3, 28, 1, 30)); /* 02:30 CET */
    assert_true(sl[1].start_ms == utc_ms(2026, 3, 29, 1, 30)); /* 03:30 CEST */
    assert_true(sl[2].start_ms == utc_ms(2026, 3, 30, 0, 30)); /* 02:30 CEST */
    assert_true(sl[1].due_ms == sl[1].start_ms + HOUR_MS);
    /* autumn: 02:30 happens twice, the slot once */
    k = bk_sched_slots(&s, paris, utc_ms(2026, 10, 24, 0, 0), utc_ms(2026, 10, 27, 0, 0), sl, 8);
    assert_int_equal(k, 3);
    assert_true(sl[0].start_ms == utc_ms(2026, 10, 24, 0, 30));
    assert_true(sl[1].start_ms == utc_ms(2026, 10, 25, 0, 30));
    assert_true(sl[2].start_ms == utc_ms(2026, 10, 26, 1, 30));

    /* a learned 22:00 night in New York keeps its local time through both changes */
    int64_t runs[200];
    size_t n = daily_runs(newyork, runs, 0, 2026, 3, 20, 40, 22, 0, 0);
    struct bk_schedule l = learn(newyork, runs, n, NULL, local_ms(newyork, 2026, 3, 20, 12, 0));
    assert_int_equal(l.kind, BK_SCHED_DAILY);
    k = bk_sched_check(&l, newyork, runs, n, utc_ms(2026, 3, 6, 12, 0), utc_ms(2026, 3, 10, 12, 0),
                       utc_ms(2026, 3, 20, 0, 0), sl, 8);
    assert_int_equal(k, 4);
    assert_true(sl[0].start_ms == utc_ms(2026, 3, 7, 3, 0)); /* 22:00 EST */
    assert_true(sl[2].start_ms == utc_ms(2026, 3, 9, 2, 0)); /* 22:00 EDT */
    for (size_t i = 0; i < k; i++)
        assert_int_equal(sl[i].state, BK_SLOT_RAN);
    n = daily_runs(newyork, runs, 0, 2026, 11, 10, 40, 22, 0, 0);
    l = learn(newyork, runs, n, NULL, local_ms(newyork, 2026, 11, 10, 12, 0));
    k = bk_sched_check(&l, newyork, runs, n, utc_ms(2026, 10, 30, 12, 0),
                       utc_ms(2026, 11, 3, 12, 0), utc_ms(2026, 11, 10, 0, 0), sl, 8);
    assert_int_equal(k, 4);
    for (size_t i = 0; i < k; i++)
        assert_int_equal(sl[i].state, BK_SLOT_RAN);
    assert_true(sl[3].start_ms - sl[1].start_ms == 2 * DAY_MS + HOUR_MS);

    /* a learned 02:30 night in Paris: the backup software runs at 03:30 on the spring night
     * and once at the first 02:30 on the autumn night; both count, nothing is missed */
    n = 0;
    for (int64_t d = bk_days_from_civil(2026, 3, 1); d < bk_days_from_civil(2026, 4, 10); d++)
        runs[n++] = bk_tz_local_to_utc(paris, d * 86400 + 2 * 3600 + 30 * 60) * 1000;
    l = learn(paris, runs, n, NULL, local_ms(paris, 2026, 4, 10, 12, 0));
    assert_int_equal(l.kind, BK_SCHED_DAILY);
    k = bk_sched_check(&l, paris, runs, n, local_ms(paris, 2026, 3, 27, 12, 0),
                       local_ms(paris, 2026, 4, 1, 12, 0), local_ms(paris, 2026, 4, 10, 12, 0), sl,
                       8);
    assert_int_equal(k, 5);
    assert_true(sl[1].start_ms == utc_ms(2026, 3, 29, 1, 30)); /* 03:30 CEST */
    for (size_t i = 0; i < k; i++)
        assert_int_equal(sl[i].state, BK_SLOT_RAN);
    n = 0;
    for (int64_t d = bk_days_from_civil(2026, 10, 1); d < bk_days_from_civil(2026, 11, 10); d++)
        runs[n++] = bk_tz_local_to_utc(paris, d * 86400 + 2 * 3600 + 30 * 60) * 1000;
    l = learn(paris, runs, n, NULL, local_ms(paris, 2026, 11, 10, 12, 0));
    k = bk_sched_check(&l, paris, runs, n, local_ms(paris, 2026, 10, 23, 12, 0),
                       local_ms(paris, 2026, 10, 28, 12, 0), local_ms(paris, 2026, 11, 10, 12, 0),
                       sl, 8);
    assert_int_equal(k, 5);
    assert_true(sl[1].start_ms == utc_ms(2026, 10, 25, 0, 30)); /* the first 02:30 */
    assert_true(sl[2].start_ms - sl[1].start_ms == DAY_MS + HOUR_MS);
    for (size_t i = 0; i < k; i++)
        assert_int_equal(sl[i].state, BK_SLOT_RAN);
    /* a night without a run is Missed, and its neighbours' runs are not taken for it */
    memmove(&runs[28], &runs[29], (n - 29) * sizeof runs[0]); /* drop 2026-10-29 */
    n--;
    k = bk_sched_check(&l, paris, runs, n, local_ms(paris, 2026, 10, 27, 12, 0),
                       local_ms(paris, 2026, 10, 31, 12, 0), local_ms(paris, 2026, 11, 10, 12, 0),
                       sl, 8);
    assert_int_equal(k, 4);
    assert_int_equal(sl[0].state, BK_SLOT_RAN);
    assert_int_equal(sl[1].state, BK_SLOT_MISSED);
    assert_int_equal(sl[2].state, BK_SLOT_RAN);

    /* "every = 1d" in New York: the spring day is 23 h long, the autumn day 25 h */
    assert_int_equal(bk_sched_parse("1d", 0, &s, &err), 0);
    k = bk_sched_slots(&s, newyork, local_ms(newyork, 2026, 3, 8, 0, 0),
                       local_ms(newyork, 2026, 3, 9, 0, 0), sl, 8);
    assert_int_equal(k, 1);
    assert_true(sl[0].due_ms - sl[0].start_ms == 23 * HOUR_MS);
    k = bk_sched_slots(&s, newyork, local_ms(newyork, 2026, 11, 1, 0, 0),
                       local_ms(newyork, 2026, 11, 2, 0, 0), sl, 8);
    assert_int_equal(k, 1);
    assert_true(sl[0].due_ms - sl[0].start_ms == 25 * HOUR_MS);
}

static void test_configured_schedules(void **state)
{
    (void)state;
    struct bk_schedule s;
    struct bk_err err = {0};
    struct bk_slot sl[32];
    /* weekdays at 02:00 overrides an irregular learned schedule: missed nights show */
    assert_int_equal(bk_sched_parse("0 2 * * MON-FRI", 3600, &s, &err), 0);
    int64_t runs[] = {local_ms(paris, 2026, 11, 23, 2, 5), local_ms(paris, 2026, 11, 25, 1, 50)};
    int64_t now = local_ms(paris, 2026, 11, 30, 12, 0);
    size_t k = bk_sched_check(&s, paris, runs, 2, local_ms(paris, 2026, 11, 23, 0, 0),
                              local_ms(paris, 2026, 12, 1, 0, 0), now, sl, 32);
    assert_int_equal(k, 6); /* Mon 23 - Fri 27, Mon 30 */
    assert_int_equal(sl[0].state, BK_SLOT_RAN);
    assert_int_equal(sl[1].state, BK_SLOT_MISSED);
    assert_int_equal(sl[2].state, BK_SLOT_RAN); /* 01:50: ten minutes early counts */
    assert_int_equal(sl[3].state, BK_SLOT_MISSED);
    assert_int_equal(sl[4].state, BK_SLOT_MISSED);
    assert_int_equal(sl[5].state, BK_SLOT_MISSED);
    /* every 12h: periods at local 00:00 and 12:00; a run anywhere inside counts */
    assert_int_equal(bk_sched_parse("12h", 0, &s, &err), 0);
    int64_t r2[] = {local_ms(paris, 2026, 11, 29, 3, 0), local_ms(paris, 2026, 11, 29, 23, 59)};
    k = bk_sched_check(&s, paris, r2, 2, local_ms(paris, 2026, 11, 29, 0, 0),
                       local_ms(paris, 2026, 11, 30, 0, 0), now, sl, 32);
    assert_int_equal(k, 2);
    assert_true(sl[1].start_ms == local_ms(paris, 2026, 11, 29, 12, 0));
    assert_int_equal(sl[0].state, BK_SLOT_RAN);
    assert_int_equal(sl[1].state, BK_SLOT_RAN);
    /* every week: Monday to Monday */
    assert_int_equal(bk_sched_parse("1w", -1, &s, &err), 0);
    k = bk_sched_slots(&s, paris, local_ms(paris, 2026, 11, 1, 0, 0),
                       local_ms(paris, 2026, 12, 1, 0, 0), sl, 32);
    assert_int_equal(k, 5);
    assert_true(sl[0].start_ms == local_ms(paris, 2026, 11, 2, 0, 0));
    /* day-of-month OR day-of-week, as cron does */
    assert_int_equal(bk_sched_parse("0 3 1 * SUN", -1, &s, &err), 0);
    k = bk_sched_slots(&s, paris, local_ms(paris, 2026, 11, 1, 0, 0),
                       local_ms(paris, 2026, 12, 2, 0, 0), sl, 32);
    assert_int_equal(k, 6); /* Sun 1 (= the 1st), 8, 15, 22, 29, Tue Dec 1 */
    /* hourly with a 2 h grace: one missing run is one Missed at its hour, not a shift */
    assert_int_equal(bk_sched_parse("0 * * * *", 2 * 3600, &s, &err), 0);
    int64_t hourly[24];
    size_t nh = 0;
    for (int h = 0; h < 24; h++)
        if (h != 10)
            hourly[nh++] = local_ms(paris, 2026, 11, 28, h, 3);
    k = bk_sched_check(&s, paris, hourly, nh, local_ms(paris, 2026, 11, 28, 0, 0),
                       local_ms(paris, 2026, 11, 29, 0, 0), now, sl, 32);
    assert_int_equal(k, 24);
    for (size_t i = 0; i < k; i++)
        assert_int_equal(sl[i].state, i == 10 ? BK_SLOT_MISSED : BK_SLOT_RAN);
    assert_true(sl[10].close_ms == sl[10].start_ms + 30 * MIN_MS);
    assert_true(sl[10].due_ms == sl[10].start_ms + 2 * HOUR_MS);
    /* every 1d with a grace: the next day's 01:00 run does not cover the missing day */
    assert_int_equal(bk_sched_parse("1d", 3 * 3600, &s, &err), 0);
    int64_t r3[] = {local_ms(paris, 2026, 11, 26, 1, 0), local_ms(paris, 2026, 11, 28, 1, 0),
                    local_ms(paris, 2026, 11, 29, 1, 0)};
    k = bk_sched_check(&s, paris, r3, 3, local_ms(paris, 2026, 11, 26, 0, 0),
                       local_ms(paris, 2026, 11, 30, 0, 0), now, sl, 32);
    assert_int_equal(k, 4);
    assert_int_equal(sl[0].state, BK_SLOT_RAN);
    assert_int_equal(sl[1].state, BK_SLOT_MISSED);
    assert_int_equal(sl[2].state, BK_SLOT_RAN);
    assert_int_equal(sl[3].state, BK_SLOT_RAN);
    /* every 1d for a night that straddles midnight: with the learned day start (noon-ish,
     * the job's quiet time) 23:50 and 00:10 nights are one run per period, not 2 and 0 */
    int64_t night[40];
    size_t nn = 0;
    for (int i = 0; i < 30; i++)
        night[nn++] =
            local_ms(paris, 2026, 11, 1, 23, 50) + (int64_t)i * DAY_MS + (i % 2 ? 20 * MIN_MS : 0);
    struct bk_schedule learned = learn(paris, night, nn, NULL, now);
    assert_int_equal(learned.kind, BK_SCHED_DAILY);
    assert_in_range(learned.day_start_min, 11 * 60, 13 * 60);
    assert_int_equal(bk_sched_parse("1d", 3600, &s, &err), 0);
    k = bk_sched_check(&s, paris, night, nn, local_ms(paris, 2026, 11, 5, 0, 0),
                       local_ms(paris, 2026, 11, 25, 0, 0), now, sl, 32);
    int missed_midnight = 0;
    for (size_t i = 0; i < k; i++)
        missed_midnight += sl[i].state == BK_SLOT_MISSED;
    assert_true(missed_midnight > 0); /* the midnight boundary splits the nights */
    s.day_start_min = learned.day_start_min;
    k = bk_sched_check(&s, paris, night, nn, local_ms(paris, 2026, 11, 5, 0, 0),
                       local_ms(paris, 2026, 11, 25, 0, 0), now, sl, 32);
    assert_int_equal(k, 20);
    for (size_t i = 0; i < k; i++)
        assert_int_equal(sl[i].state, BK_SLOT_RAN);
    /* bounded: every minute for a day fills the array and stops */
    assert_int_equal(bk_sched_parse("* * * * *", -1, &s, &err), 0);
    k = bk_sched_slots(&s, paris, local_ms(paris, 2026, 11, 1, 0, 0),
                       local_ms(paris, 2026, 11, 2, 0, 0), sl, 32);
    assert_int_equal(k, 32);
    assert_true(sl[31].start_ms - sl[0].start_ms == 31 * MIN_MS);
    assert_int_equal(bk_sched_slots(&s, paris, 0, 0, sl, 32), 0);
}

/* ---- durations ----------------------------------------------------------------------- */

static void test_duration_anomalies(void **state)
{
    (void)state;
    int64_t hist[30];
    for (int i = 0; i < 30; i++)
        hist[i] = 2 * HOUR_MS + (i % 7 - 3) * 5 * MIN_MS;
    hist[3] = 9 * HOUR_MS; /* the odd full backup does not move the median */
    char why[96];
    assert_int_equal(bk_sched_duration_anomaly(hist, 30, 4 * MIN_MS, NULL, why, sizeof why), 1);
    assert_string_equal(why, "ran 4 min, usually 2 h");
    assert_int_equal(bk_sched_duration_anomaly(hist, 30, 7 * HOUR_MS, NULL, why, sizeof why), 1);
    assert_string_equal(why, "ran 7 h, usually 2 h");
    assert_int_equal(
        bk_sched_duration_anomaly(hist, 30, 2 * HOUR_MS + 20 * MIN_MS, NULL, why, sizeof why), 0);
    assert_string_equal(why, "");
    struct bk_dur_opts o = {.factor = 1.5};
    assert_int_equal(bk_sched_duration_anomaly(hist, 30, 70 * MIN_MS, &o, why, sizeof why), 1);
    assert_string_equal(why, "ran 1 h 10 min, usually 2 h");
    /* too little history */
    assert_int_equal(bk_sched_duration_anomaly(hist, 4, 4 * MIN_MS, NULL, why, sizeof why), 0);
    /* tiny jobs: 20 s usually, 70 s now is not worth a warning */
    int64_t small[10];
    for (int i = 0; i < 10; i++)
        small[i] = 20000;
    assert_int_equal(bk_sched_duration_anomaly(small, 10, 70000, NULL, why, sizeof why), 0);
    assert_int_equal(bk_sched_duration_anomaly(small, 10, 40 * MIN_MS, NULL, why, sizeof why), 1);
    assert_string_equal(why, "ran 40 min, usually 20 s");
    char t[32];
    bk_sched_format_duration(3 * DAY_MS, t, sizeof t);
    assert_string_equal(t, "3 d");
    bk_sched_format_duration(90 * MIN_MS, t, sizeof t);
    assert_string_equal(t, "1 h 30 min");
}

/* ---- offline workstations ------------------------------------------------------------ */

static void test_offline_escalation(void **state)
{
    (void)state;
    struct bk_offline o;
    int64_t as_of = utc_ms(2026, 11, 30, 8, 0);
    /* active today, 2, 3, 7 days ago */
    bk_sched_offline("5555555555555555555555555555", as_of, 0, as_of, 3, 7, &o);
    assert_int_equal(o.level, BK_OFFLINE_OK);
    assert_int_equal(o.days, 0);
    bk_sched_offline("5555555555555555555555555500", as_of, 0, as_of, 3, 7, &o);
    assert_int_equal(o.level, BK_OFFLINE_OK);
    assert_int_equal(o.days, 2);
    bk_sched_offline("5555555555555555555555555000", as_of, 0, as_of, 3, 7, &o);
    assert_int_equal(o.level, BK_OFFLINE_WARNING);
    assert_string_equal(o.reason, "offline: no backup for 3 days");
    bk_sched_offline("5555555555555555555550000000", as_of, 0, as_of, 3, 7, &o);
    assert_int_equal(o.level, BK_OFFLINE_ERROR);
    assert_int_equal(o.days, 7);
    /* the same bar, read two days ago: it escalates with the clock */
    bk_sched_offline("5555555555555555555555555000", as_of, 0, as_of + 4 * DAY_MS, 3, 7, &o);
    assert_int_equal(o.level, BK_OFFLINE_ERROR);
    /* activity resumes: the last session is newer than the bar */
    bk_sched_offline("5555555555555555555550000000", as_of, as_of + HOUR_MS, as_of + 2 * HOUR_MS, 3,
                     7, &o);
    assert_int_equal(o.level, BK_OFFLINE_OK);
    assert_string_equal(o.reason, "");
    /* all zeros: at least the bar's length */
    bk_sched_offline("0000000000000000000000000000", as_of, 0, as_of, 0, 0, &o);
    assert_int_equal(o.level, BK_OFFLINE_ERROR);
    assert_true(o.at_least);
    assert_int_equal(o.days, 28);
    assert_non_null(strstr(o.reason, "at least 28 days"));
    /* only the last session */
    bk_sched_offline(NULL, 0, as_of - 5 * DAY_MS, as_of, 3, 7, &o);
    assert_int_equal(o.level, BK_OFFLINE_WARNING);
    assert_int_equal(o.days, 5);
    bk_sched_offline(NULL, 0, 0, as_of, 3, 7, &o);
    assert_int_equal(o.level, BK_OFFLINE_NEVER);
}

/* ---- stale and never ran ------------------------------------------------------------ */

static void test_stale_and_never_ran(void **state)
{
    (void)state;
    struct bk_stale_opts o;
    struct bk_schedule s = {.kind = BK_SCHED_DAILY};
    bk_sched_stale_defaults(&s, "server", &o);
    assert_true(o.warn_ms == 26 * HOUR_MS && o.crit_ms == 50 * HOUR_MS); /* as check always did */
    int64_t now = utc_ms(2026, 12, 1, 10, 0);
    assert_int_equal(bk_sched_freshness(now - 20 * HOUR_MS, 1, now, &o), BK_FRESH_OK);
    assert_int_equal(bk_sched_freshness(now - 30 * HOUR_MS, 1, now, &o), BK_FRESH_OLD);
    assert_int_equal(bk_sched_freshness(now - 3 * DAY_MS, 1, now, &o), BK_FRESH_STALE);
    /* never ran: a fresh device that has not had its first night is a warning, not critical */
    assert_int_equal(bk_sched_freshness(0, now - 5 * HOUR_MS, now, &o), BK_FRESH_NEVER_NEW);
    assert_int_equal(bk_sched_freshness(0, now - 5 * DAY_MS, now, &o), BK_FRESH_NEVER_OLD);
    assert_int_equal(bk_sched_freshness(0, 0, now, &o), BK_FRESH_NEVER_OLD);
    /* a weekly job is not stale after two days */
    s = (struct bk_schedule){.kind = BK_SCHED_WEEKLY, .wdays = 1};
    assert_int_equal(bk_sched_period_s(&s, "server"), 7 * 86400);
    bk_sched_stale_defaults(&s, "server", &o);
    assert_int_equal(bk_sched_freshness(now - 3 * DAY_MS, 1, now, &o), BK_FRESH_OK);
    assert_int_equal(bk_sched_freshness(now - 8 * DAY_MS, 1, now, &o), BK_FRESH_OLD);
    s.wdays = 0x22; /* Mon and Fri: the widest gap is Fri to Mon */
    assert_int_equal(bk_sched_period_s(&s, NULL), 4 * 86400);
    /* twice a day: 12 h apart */
    s = (struct bk_schedule){.kind = BK_SCHED_MULTI, .nwin = 2};
    s.win[0].start_min = 120;
    s.win[1].start_min = 840;
    assert_int_equal(bk_sched_period_s(&s, "m365"), 12 * 3600);
    /* unknown schedules: by kind */
    assert_int_equal(bk_sched_period_s(NULL, "m365"), 86400);
    assert_int_equal(bk_sched_period_s(NULL, "workstation"), 3 * 86400);
    s = (struct bk_schedule){.kind = BK_SCHED_IRREGULAR};
    assert_int_equal(bk_sched_period_s(&s, "server"), 86400);
    struct bk_err err = {0};
    assert_int_equal(bk_sched_parse("0 3 * * SAT", -1, &s, &err), 0);
    assert_int_equal(bk_sched_period_s(&s, NULL), 7 * 86400);
    assert_int_equal(bk_sched_parse("0 3 1 * *", -1, &s, &err), 0);
    assert_int_equal(bk_sched_period_s(&s, NULL), 31 * 86400);
    assert_int_equal(bk_sched_parse("6h", -1, &s, &err), 0);
    assert_int_equal(bk_sched_period_s(&s, NULL), 6 * 3600);
}

/* The policy RPO rule: no or looser history → every RPO from the learned day boundary;
 * history as strict as the RPO → the history; nonsense RPOs never win. */
static void test_policy_rule(void **state)
{
    (void)state;
    struct bk_schedule learned = {.kind = BK_SCHED_UNKNOWN, .day_start_min = 600}, out;
    assert_true(bk_sched_policy(&learned, 86400, "vm", &out));
    assert_int_equal(out.kind, BK_SCHED_EVERY);
    assert_int_equal(out.every_s, 86400);
    assert_int_equal(out.origin, BK_SCHED_POLICY);
    assert_int_equal(out.day_start_min, 600);
    assert_int_equal(out.grace_s, BK_SCHED_DEFAULT_GRACE_S);
    char d[64];
    bk_sched_describe(&out, d, sizeof d);
    assert_string_equal(d, "every 1d");
    learned.kind = BK_SCHED_IRREGULAR;
    assert_true(bk_sched_policy(&learned, 4 * 3600, "vm", &out));
    assert_int_equal(out.every_s, 4 * 3600);
    assert_true(bk_sched_policy(NULL, 5400, "vm", &out));
    bk_sched_describe(&out, d, sizeof d);
    assert_string_equal(d, "every 90m");
    struct bk_schedule daily = {.kind = BK_SCHED_DAILY, .wdays = 0x7f, .nwin = 1};
    daily.win[0].start_min = 22 * 60;
    daily.win[0].len_min = 30;
    assert_false(bk_sched_policy(&daily, 86400, "vm", &out));
    assert_false(bk_sched_policy(&daily, 2 * 86400, "vm", &out));
    assert_true(bk_sched_policy(&daily, 6 * 3600, "vm", &out)); /* backed up less than promised */
    struct bk_schedule weekly = {.kind = BK_SCHED_WEEKLY, .wdays = 1, .nwin = 1};
    assert_true(bk_sched_policy(&weekly, 86400, "vm", &out));
    assert_false(bk_sched_policy(&weekly, 7 * 86400, "vm", &out));
    assert_false(bk_sched_policy(&learned, 0, "vm", &out));
    assert_false(bk_sched_policy(&learned, 59, "vm", &out));
    assert_false(bk_sched_policy(&learned, 367LL * 86400, "vm", &out));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_rule),
        cmocka_unit_test(test_parse_duration),
        cmocka_unit_test(test_parse_cron),
        cmocka_unit_test(test_parse_schedule),
        cmocka_unit_test(test_tz_offsets_and_dst),
        cmocka_unit_test(test_tz_posix_and_names),
        cmocka_unit_test(test_learn_daily),
        cmocka_unit_test(test_learn_night_across_midnight),
        cmocka_unit_test(test_learn_twice_daily),
        cmocka_unit_test(test_learn_hourly),
        cmocka_unit_test(test_learn_weekly),
        cmocka_unit_test(test_learn_monthly),
        cmocka_unit_test(test_learn_irregular_and_unknown),
        cmocka_unit_test(test_learn_from_colour_bar),
        cmocka_unit_test(test_slots_missed_and_late),
        cmocka_unit_test(test_slots_across_dst),
        cmocka_unit_test(test_configured_schedules),
        cmocka_unit_test(test_duration_anomalies),
        cmocka_unit_test(test_offline_escalation),
        cmocka_unit_test(test_stale_and_never_ran),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
