/* Unit tests of the expected-runs evaluator (store/expected.c) on a real SQLite file, with an
 * injected clock (now_ms): Missed created once per slot however often evaluated and
 * reviewable; a late run after a Missed; time zones across a DST change; configured schedules
 * overriding learned ones (api > config > learned); workstation offline escalation and its
 * disappearance; a source down gives unknown, not Missed; duration anomalies; freshness. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config/config.h"
#include "store/store.h"
#include "util/err.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include "testdb.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define H (3600 * 1000LL)
#define D (24 * H)

static char g_dir[64];
static struct bk_config *g_cfg;
static struct bk_store *g_s;
static int64_t g_src_id;

static int64_t at(int y, int m, int d, int hh, int mm)
{
    return (bk_days_from_civil(y, (unsigned)m, (unsigned)d) * 86400 + hh * 3600 + mm * 60) * 1000;
}

static void open_with(const char *extra)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/bk-exp-XXXXXX");
    assert_non_null(mkdtemp(g_dir));
    char *sec = testdb_section(g_dir);
    char *text = xasprintf("%s[server]\ntimezone = UTC\n%s", sec, extra ? extra : "");
    struct bk_err e = {0};
    int rc = config_parse_string(text, "t.conf", g_dir, &g_cfg, &e);
    free(text);
    free(sec);
    if (rc < 0)
        fail_msg("config: %s", e.msg);
    assert_int_equal(store_open(g_cfg, &g_s, &e), 0);
    struct bk_source_cfg src = {.name = (char *)"cove-test",
                                .type = BK_SOURCE_COVE,
                                .url = (char *)"https://example/jsonapi",
                                .interval_ms = 60000,
                                .enabled = true};
    assert_int_equal(store_source_sync(g_s, &src, &g_src_id, &e), 0);
    struct store_param p[] = {SP_INT(g_src_id)};
    assert_int_equal(store_exec(g_s,
                                "INSERT INTO customer (id, source_id, external_id, name,"
                                " created_at, updated_at) VALUES (1, ?1, 'c1', 'Acme', 0, 0)",
                                p, 1, NULL, NULL, &e),
                     0);
}

static int teardown(void **state)
{
    (void)state;
    store_close(g_s);
    g_s = NULL;
    testdb_drop(g_dir);
    rmdir(g_dir);
    config_free(g_cfg);
    g_cfg = NULL;
    return 0;
}

static int64_t add_job(const char *name, const char *kind, const char *bar, int64_t bar_as_of,
                       int64_t created)
{
    struct bk_err e = {0};
    int64_t id = 0;
    struct store_param p[] = {SP_INT(g_src_id),
                              SP_TEXT(name),
                              SP_TEXT(kind),
                              SP_TEXT(bar),
                              bar ? SP_INT(bar_as_of) : SP_NULL,
                              SP_INT(created)};
    assert_int_equal(store_exec(g_s,
                                "INSERT INTO job (source_id, customer_id, external_id, name, kind,"
                                " colour_bar, colour_bar_as_of, created_at, updated_at)"
                                " VALUES (?1, 1, ?2, ?2, ?3, ?4, ?5, ?6, ?6)",
                                p, 6, NULL, &id, &e),
                     0);
    return id;
}

static void add_run(int64_t job, int64_t start, int64_t dur, const char *status)
{
    struct bk_err e = {0};
    char vid[32];
    snprintf(vid, sizeof vid, "r%" PRId64, start);
    struct store_param p[] = {SP_INT(job), SP_TEXT(vid), SP_INT(start), SP_INT(start + dur),
                              SP_TEXT(status)};
    assert_int_equal(store_exec(g_s,
                                "INSERT INTO job_run (job_id, vendor_run_id, start_at, end_at,"
                                " status, raw_status, created_at, updated_at)"
                                " VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?3, ?3)",
                                p, 5, NULL, NULL, &e),
                     0);
}

static void add_poll(int64_t started)
{
    struct bk_err e = {0};
    struct store_param p[] = {SP_INT(g_src_id), SP_INT(started)};
    assert_int_equal(store_exec(g_s,
                                "INSERT INTO poll_run (source_id, started_at, finished_at, result)"
                                " VALUES (?1, ?2, ?2, 'ok')",
                                p, 2, NULL, NULL, &e),
                     0);
}

static int int_cb(const struct store_row *r, void *ud)
{
    *(int64_t *)ud = store_row_int(r, 0);
    return 0;
}

static int64_t q_int(const char *sql, int64_t arg)
{
    struct bk_err e = {0};
    int64_t v = -1;
    struct store_param p[] = {SP_INT(arg)};
    if (store_query(g_s, sql, p, 1, int_cb, &v, &e) < 0)
        fail_msg("%s: %s", sql, e.msg);
    return v;
}

static char g_text[256];
static int text_cb(const struct store_row *r, void *ud)
{
    (void)ud;
    snprintf(g_text, sizeof g_text, "%s", store_row_text(r, 0) ? store_row_text(r, 0) : "(null)");
    return 0;
}

static const char *q_text(const char *sql, int64_t arg)
{
    struct bk_err e = {0};
    snprintf(g_text, sizeof g_text, "(none)");
    struct store_param p[] = {SP_INT(arg)};
    if (store_query(g_s, sql, p, 1, text_cb, NULL, &e) < 0)
        fail_msg("%s: %s", sql, e.msg);
    return g_text;
}

static void eval(int64_t now)
{
    struct bk_err e = {0};
    struct store_expected_stats st;
    if (store_expected_eval(g_s, g_cfg, 0, now, &st, &e) < 0)
        fail_msg("eval: %s", e.msg);
}

#define MISSED(job)                                                                                \
    q_int("SELECT COUNT(*) FROM job_run WHERE job_id = ?1 AND status = 'missed'"                   \
          " AND source_type = 'expected'",                                                         \
          job)

/* A daily 22:00 job that stopped 3 nights ago: 3 Missed, however often evaluated. */
static void test_missed_once_and_reviewable(void **state)
{
    (void)state;
    open_with(NULL);
    int64_t now = at(2026, 1, 20, 12, 0);
    int64_t j = add_job("srv-a", "server", NULL, 0, at(2025, 12, 20, 0, 0));
    for (int d = 0; d < 23; d++)
        add_run(j, at(2025, 12, 25, 22, 0) + d * D, 40 * 60000, "success");
    add_poll(now - 60000);
    eval(now);
    assert_string_equal(
        q_text("SELECT origin || ' ' || kind FROM job_schedule WHERE job_id = ?1", j),
        "learned daily");
    assert_int_equal(MISSED(j), 3);
    assert_int_equal(q_int("SELECT COUNT(*) FROM job_slot WHERE job_id = ?1 AND state = 'missed'"
                           " AND run_id IS NOT NULL",
                           j),
                     3);
    assert_int_equal(
        q_int("SELECT COUNT(*) FROM job_slot WHERE job_id = ?1 AND state = 'expected'", j) >= 1, 1);
    assert_string_equal(q_text("SELECT vendor_run_id FROM job_run WHERE job_id = ?1 AND status ="
                               " 'missed' ORDER BY start_at LIMIT 1",
                               j),
                        "missed:1768687200000"); /* 2026-01-17 22:00 UTC */
    assert_non_null(strstr(q_text("SELECT message FROM job_run WHERE job_id = ?1 AND status ="
                                  " 'missed' LIMIT 1",
                                  j),
                           "no backup by"));
    for (int i = 0; i < 3; i++)
        eval(now + i * 60000);
    assert_int_equal(MISSED(j), 3);
    /* reviewable like any run, and a reviewed Missed is never changed */
    struct bk_err e = {0};
    int64_t n = 0;
    assert_int_equal(store_review_job(g_s, "cove-test", "srv-a", "tester", &n, &e), 0);
    assert_true(n >= 3);
    int64_t upd =
        q_int("SELECT MAX(updated_at) FROM job_run WHERE job_id = ?1 AND status = 'missed'", j);
    add_poll(now + D - 60000);
    eval(now + D);
    assert_int_equal(MISSED(j), 4); /* the next night is missed too, once */
    assert_int_equal(q_int("SELECT MAX(updated_at) FROM job_run WHERE job_id = ?1 AND status ="
                           " 'missed' AND reviewed_at IS NOT NULL",
                           j),
                     upd);
    /* the latest run is the Missed one: status says missed */
    assert_string_equal(q_text("SELECT status FROM job_run WHERE job_id = ?1 ORDER BY start_at DESC"
                               " LIMIT 1",
                               j),
                        "missed");
}

/* A late run is a run of its own: the Missed stays, no second Missed appears. */
static void test_late_run_after_missed(void **state)
{
    (void)state;
    open_with(NULL);
    int64_t now = at(2026, 1, 20, 12, 0);
    int64_t j = add_job("srv-b", "server", NULL, 0, at(2025, 12, 20, 0, 0));
    for (int d = 0; d < 25; d++)
        add_run(j, at(2025, 12, 25, 22, 0) + d * D, 40 * 60000, "success");
    add_poll(now - 60000);
    eval(now);
    assert_int_equal(MISSED(j), 1); /* 2026-01-19 */
    int64_t mid = q_int("SELECT id FROM job_run WHERE job_id = ?1 AND status = 'missed'", j);
    add_run(j, at(2026, 1, 20, 9, 0), 40 * 60000, "success"); /* the late one */
    add_poll(now + H);
    eval(now + 2 * H);
    assert_int_equal(MISSED(j), 1);
    assert_int_equal(q_int("SELECT id FROM job_run WHERE job_id = ?1 AND status = 'missed'", j),
                     mid);
    assert_string_equal(q_text("SELECT state FROM job_slot WHERE job_id = ?1 AND run_id ="
                               " (SELECT id FROM job_run WHERE status = 'missed' AND job_id = ?1)",
                               j),
                        "missed");
    assert_string_equal(q_text("SELECT status FROM job_run WHERE job_id = ?1 ORDER BY start_at DESC"
                               " LIMIT 1",
                               j),
                        "success");
}

/* cron 0 22 * * * in Europe/Paris across the spring change (2026-03-29): 22:00 local is 21:00
 * UTC before and 20:00 UTC after; runs at those times are no Missed; the missing night after
 * the change is one Missed at 20:00 UTC, on the right local day. */
static void test_dst_paris(void **state)
{
    (void)state;
    open_with("[customer \"Acme\"]\ntimezone = Europe/Paris\n"
              "[schedule \"nightly\"]\ncustomer = Acme\ncron = 0 22 * * *\n");
    int64_t now = at(2026, 4, 2, 12, 0);
    int64_t j = add_job("srv-paris", "server", NULL, 0, at(2026, 3, 1, 0, 0));
    for (int d = 20; d <= 31; d++) {
        if (d == 30)
            continue; /* the night of the 30th did not happen */
        int64_t utc_h = d >= 29 ? 20 : 21;
        add_run(j, at(2026, 3, d, (int)utc_h, 1), 30 * 60000, "success");
    }
    add_run(j, at(2026, 4, 1, 20, 2), 30 * 60000, "success");
    add_poll(now - 60000);
    eval(now);
    assert_string_equal(q_text("SELECT origin || ' ' || timezone || ' ' || config_name FROM"
                               " job_schedule WHERE job_id = ?1",
                               j),
                        "config Europe/Paris nightly");
    assert_int_equal(MISSED(j), 1);
    assert_int_equal(
        q_int("SELECT start_at FROM job_run WHERE job_id = ?1 AND status = 'missed'", j),
        at(2026, 3, 30, 20, 0));
    assert_string_equal(
        q_text("SELECT day FROM job_slot WHERE job_id = ?1 AND state = 'missed'", j), "2026-03-30");
    assert_string_equal(q_text("SELECT timezone FROM customer WHERE id = ?1", 1), "Europe/Paris");
}

/* api > config [schedule] > learned. */
static void test_priority(void **state)
{
    (void)state;
    open_with("[schedule \"weekly-a\"]\njob = srv-cfg*\ncron = 0 3 * * 0\ngrace = 1h\n");
    int64_t now = at(2026, 1, 20, 12, 0);
    int64_t a = add_job("srv-cfg1", "server", NULL, 0, at(2025, 12, 1, 0, 0));
    int64_t b = add_job("srv-learn", "server", NULL, 0, at(2025, 12, 1, 0, 0));
    for (int d = 0; d < 31; d++) {
        add_run(a, at(2025, 12, 20, 22, 0) + d * D, 40 * 60000, "success");
        add_run(b, at(2025, 12, 20, 22, 0) + d * D, 40 * 60000, "success");
    }
    add_poll(now - 60000);
    eval(now);
    assert_string_equal(q_text("SELECT origin || ' ' || kind || ' ' || grace_ms FROM job_schedule"
                               " WHERE job_id = ?1",
                               a),
                        "config cron 3600000");
    assert_string_equal(
        q_text("SELECT origin || ' ' || kind FROM job_schedule WHERE job_id = ?1", b),
        "learned daily");
    struct bk_err e = {0};
    struct store_param p[] = {SP_INT(a)};
    assert_int_equal(store_exec(g_s,
                                "INSERT INTO job_schedule_set (job_id, spec, timezone, grace_ms,"
                                " created_by, created_at) VALUES (?1, '12h', NULL, NULL, 'op', 0)",
                                p, 1, NULL, NULL, &e),
                     0);
    assert_int_equal(store_expected_eval_job(g_s, g_cfg, a, now, &e), 0);
    assert_string_equal(q_text("SELECT origin || ' ' || kind || ' ' || description FROM"
                               " job_schedule WHERE job_id = ?1",
                               a),
                        "api every every 12h");
    /* a weekly cron on a daily job: no Missed on its off days, and no slot but Sundays */
    assert_int_equal(
        q_int("SELECT COUNT(*) FROM job_slot WHERE job_id = ?1 AND state = 'missed'", b), 0);
}

/* A workstation idle for 4 days gets a warning offline run, failed at 8 days (in place), gone
 * when activity resumes; a reviewed one is never touched. No Missed for workstations. */
static void test_offline(void **state)
{
    (void)state;
    open_with(NULL);
    int64_t now = at(2026, 1, 20, 12, 0);
    char bar[29];
    memset(bar, '5', 28);
    memcpy(bar + 24, "0000", 4);
    bar[28] = '\0';
    int64_t j = add_job("ws-1", "workstation", bar, now - H, at(2025, 12, 1, 0, 0));
    for (int d = 0; d < 24; d++)
        add_run(j, at(2025, 12, 24, 9, 0) + d * D, 20 * 60000, "success"); /* to 2026-01-16 */
    add_poll(now - 60000);
    eval(now);
    assert_int_equal(MISSED(j), 0);
    assert_string_equal(q_text("SELECT status || ' ' || vendor_run_id || ' ' || raw_status FROM"
                               " job_run WHERE job_id = ?1 AND source_type = 'expected'",
                               j),
                        "warning offline:2026-01-16 offline");
    assert_non_null(strstr(g_text, "offline"));
    assert_string_equal(q_text("SELECT message FROM job_run WHERE job_id = ?1 AND source_type ="
                               " 'expected'",
                               j),
                        "offline for 4 days (last activity 2026-01-16)");
    int64_t id = q_int("SELECT id FROM job_run WHERE job_id = ?1 AND source_type = 'expected'", j);
    /* four days later: escalates in place */
    int64_t later = now + 4 * D;
    struct bk_err e = {0};
    memcpy(bar, "55555555555555555555", 20);
    memset(bar + 20, '0', 8);
    struct store_param p[] = {SP_INT(j), SP_TEXT(bar), SP_INT(later - H)};
    assert_int_equal(
        store_exec(g_s, "UPDATE job SET colour_bar = ?2, colour_bar_as_of = ?3 WHERE id = ?1", p, 3,
                   NULL, NULL, &e),
        0);
    eval(later);
    assert_int_equal(
        q_int("SELECT COUNT(*) FROM job_run WHERE job_id = ?1 AND source_type = 'expected'", j), 1);
    assert_int_equal(
        q_int("SELECT id FROM job_run WHERE job_id = ?1 AND source_type = 'expected'", j), id);
    assert_string_equal(q_text("SELECT status FROM job_run WHERE job_id = ?1 AND source_type ="
                               " 'expected'",
                               j),
                        "failed");
    /* activity resumes: the offline run disappears */
    add_run(j, later - 2 * H, 20 * 60000, "success");
    bar[27] = '5';
    assert_int_equal(
        store_exec(g_s, "UPDATE job SET colour_bar = ?2, colour_bar_as_of = ?3 WHERE id = ?1", p, 3,
                   NULL, NULL, &e),
        0);
    eval(later);
    assert_int_equal(
        q_int("SELECT COUNT(*) FROM job_run WHERE job_id = ?1 AND source_type = 'expected'", j), 0);
    /* stops again; the new offline run, once reviewed, stays when activity resumes */
    int64_t later2 = later + 5 * D;
    memcpy(bar, "5555555555555555555555500000", 28);
    struct store_param p2[] = {SP_INT(j), SP_TEXT(bar), SP_INT(later2 - H)};
    assert_int_equal(
        store_exec(g_s, "UPDATE job SET colour_bar = ?2, colour_bar_as_of = ?3 WHERE id = ?1", p2,
                   3, NULL, NULL, &e),
        0);
    eval(later2);
    assert_int_equal(
        q_int("SELECT COUNT(*) FROM job_run WHERE job_id = ?1 AND source_type = 'expected'", j), 1);
    assert_int_equal(store_exec(g_s,
                                "UPDATE job_run SET reviewed_at = 1, reviewed_by = 't' WHERE"
                                " job_id = ?1 AND source_type = 'expected'",
                                p2, 1, NULL, NULL, &e),
                     0);
    add_run(j, later2 - 2 * H, 20 * 60000, "success");
    bar[27] = '5';
    assert_int_equal(
        store_exec(g_s, "UPDATE job SET colour_bar = ?2, colour_bar_as_of = ?3 WHERE id = ?1", p2,
                   3, NULL, NULL, &e),
        0);
    eval(later2);
    assert_int_equal(q_int("SELECT COUNT(*) FROM job_run WHERE job_id = ?1 AND source_type ="
                           " 'expected' AND reviewed_at IS NOT NULL",
                           j),
                     1);
}

/* The source could not be polled since before the slots were due: unknown, no Missed; once a
 * successful poll covers them they become Missed. */
static void test_source_down_unknown(void **state)
{
    (void)state;
    open_with(NULL);
    int64_t now = at(2026, 1, 20, 12, 0);
    int64_t j = add_job("srv-c", "server", NULL, 0, at(2025, 12, 20, 0, 0));
    for (int d = 0; d < 23; d++)
        add_run(j, at(2025, 12, 25, 22, 0) + d * D, 40 * 60000, "success"); /* to 01-16 */
    add_poll(at(2026, 1, 17, 6, 0)); /* the last successful poll */
    eval(now);
    assert_int_equal(MISSED(j), 0);
    assert_int_equal(
        q_int("SELECT COUNT(*) FROM job_slot WHERE job_id = ?1 AND state = 'unknown'", j), 3);
    add_poll(now + 60000);
    eval(now + 2 * 60000);
    assert_int_equal(MISSED(j), 3);
    assert_int_equal(
        q_int("SELECT COUNT(*) FROM job_slot WHERE job_id = ?1 AND state = 'unknown'", j), 0);
}

/* A healthy source (polled within 3 intervals) whose next poll has not run since a slot
 * became due: the slot waits as expected, neither unknown nor Missed. */
static void test_due_before_next_poll(void **state)
{
    (void)state;
    open_with(NULL);
    int64_t now = at(2026, 1, 20, 0, 50); /* the 19th's 22:00 slot is due at 00:00 */
    int64_t j = add_job("srv-w", "server", NULL, 0, at(2025, 12, 20, 0, 0));
    for (int d = 0; d < 25; d++)
        add_run(j, at(2025, 12, 25, 22, 0) + d * D, 20 * 60000, "success"); /* to 01-18 */
    add_poll(now - 60000); /* interval 1 min: healthy; started after the due time */
    eval(now);
    assert_int_equal(MISSED(j), 1);
    struct bk_err e = {0};
    struct store_param p[] = {SP_INT(g_src_id)};
    assert_int_equal(store_exec(g_s, "UPDATE source SET interval_ms = 900000 WHERE id = ?1", p, 1,
                                NULL, NULL, &e),
                     0);
    /* the next night's slot is due at 00:00 on the 21st; the last poll at 23:55 */
    add_poll(at(2026, 1, 20, 23, 55));
    eval(at(2026, 1, 21, 0, 5));
    assert_int_equal(MISSED(j), 1);
    assert_string_equal(q_text("SELECT state FROM job_slot WHERE job_id = ?1 ORDER BY slot_start"
                               " DESC LIMIT 1 OFFSET 2",
                               j),
                        "expected");
    assert_int_equal(
        q_int("SELECT COUNT(*) FROM job_slot WHERE job_id = ?1 AND state = 'unknown'", j), 0);
    add_poll(at(2026, 1, 21, 0, 10));
    eval(at(2026, 1, 21, 0, 11));
    assert_int_equal(MISSED(j), 2);
}

/* A run much shorter than the job's usual duration gets a reason; its status is unchanged. */
static void test_duration_anomaly(void **state)
{
    (void)state;
    open_with(NULL);
    int64_t now = at(2026, 1, 20, 12, 0);
    int64_t j = add_job("srv-d", "server", NULL, 0, at(2025, 12, 20, 0, 0));
    for (int d = 0; d < 24; d++)
        add_run(j, at(2025, 12, 26, 22, 0) + d * D, 2 * H, "success");
    eval(at(2026, 1, 19, 12, 0));
    assert_int_equal(
        q_int("SELECT COUNT(*) FROM job_run WHERE job_id = ?1 AND anomaly IS NOT NULL", j), 0);
    add_run(j, at(2026, 1, 19, 22, 0), 4 * 60000, "success");
    add_poll(now);
    eval(now);
    assert_string_equal(
        q_text("SELECT anomaly FROM job_run WHERE job_id = ?1 AND anomaly IS NOT NULL", j),
        "ran 4 min, usually 2 h");
    assert_string_equal(
        q_text("SELECT status FROM job_run WHERE job_id = ?1 AND anomaly IS NOT NULL", j),
        "success");
    eval(now + 60000);
    assert_int_equal(
        q_int("SELECT COUNT(*) FROM job_run WHERE job_id = ?1 AND anomaly IS NOT NULL", j), 1);
}

/* Retention prunes reviewed runs: the slots they decided keep their state (no foreign key
 * error, no Missed for a night that ran). */
static void test_prune_keeps_slots(void **state)
{
    (void)state;
    open_with(NULL);
    int64_t now = at(2026, 1, 20, 12, 0);
    int64_t j = add_job("srv-p", "server", NULL, 0, at(2025, 12, 20, 0, 0));
    for (int d = 0; d < 26; d++)
        add_run(j, at(2025, 12, 25, 22, 0) + d * D, 40 * 60000, "success"); /* to 01-19 */
    add_poll(now - 60000);
    eval(now);
    assert_int_equal(MISSED(j), 0);
    int64_t ran = q_int("SELECT COUNT(*) FROM job_slot WHERE job_id = ?1 AND state = 'ran'", j);
    assert_true(ran >= 5);
    struct bk_err e = {0};
    int64_t n = 0;
    assert_int_equal(store_review_job(g_s, "cove-test", "srv-p", "op", &n, &e), 0);
    assert_int_equal(store_prune_runs(g_s, now, &n, &e), 0);
    assert_true(n >= 20);
    add_poll(now + 60000);
    eval(now + 2 * 60000);
    assert_int_equal(MISSED(j), 0);
    assert_int_equal(q_int("SELECT COUNT(*) FROM job_slot WHERE job_id = ?1 AND state = 'ran'", j),
                     ran);
}

static void test_freshness(void **state)
{
    (void)state;
    int64_t now = at(2026, 1, 20, 12, 0);
    assert_int_equal(store_job_freshness(now - H, now - 9 * D, now, 0, 0, 0, 0), BK_FRESH_OK);
    assert_int_equal(store_job_freshness(now - 27 * H, now - 9 * D, now, 0, 0, 0, 0), BK_FRESH_OLD);
    assert_int_equal(store_job_freshness(now - 51 * H, now - 9 * D, now, 0, 0, 0, 0),
                     BK_FRESH_STALE);
    assert_int_equal(store_job_freshness(0, now - H, now, 0, 0, 0, 0), BK_FRESH_NEVER_NEW);
    assert_int_equal(store_job_freshness(0, now - 9 * D, now, 0, 0, 0, 0), BK_FRESH_NEVER_OLD);
    /* a weekly job's thresholds keep day 3 ok; --warn-age overrides them */
    assert_int_equal(
        store_job_freshness(now - 3 * D, now - 90 * D, now, 7 * D + 2 * H, 14 * D + 2 * H, 0, 0),
        BK_FRESH_OK);
    assert_int_equal(store_job_freshness(now - 3 * D, now - 90 * D, now, 7 * D + 2 * H,
                                         14 * D + 2 * H, 2 * D, 0),
                     BK_FRESH_OLD);
    assert_string_equal(store_fresh_name(BK_FRESH_NEVER_OLD), "never_old");
}

/* A schedule change (configured through the API) drops the unreviewed Missed runs of slots
 * the new schedule does not have — one audit row lists them — and keeps a reviewed one; a
 * past day never shows a Missed of the old schedule beside one of the new. Clearing the
 * schedule back to the learned one does the same the other way. */
static void test_schedule_change_drops_missed(void **state)
{
    (void)state;
    open_with(NULL);
    int64_t now = at(2026, 1, 20, 12, 0);
    int64_t j = add_job("srv-change", "server", NULL, 0, at(2025, 12, 20, 0, 0));
    for (int d = 0; d < 23; d++) /* daily 22:00 UTC, stopped after 2026-01-16 */
        add_run(j, at(2025, 12, 25, 22, 0) + d * D, 40 * 60000, "success");
    add_poll(now - 60000);
    eval(now);
    assert_int_equal(MISSED(j), 3); /* the 17th, 18th and 19th */
    struct bk_err e = {0};
    /* the operator reviews the Missed of the 17th: history from now on */
    int64_t reviewed = q_int("SELECT id FROM job_run WHERE job_id = ?1 AND status = 'missed'"
                             " ORDER BY start_at LIMIT 1",
                             j);
    struct store_param rp[] = {SP_INT(reviewed)};
    assert_int_equal(store_exec(g_s,
                                "UPDATE job_run SET reviewed_at = 1, reviewed_by = 'op'"
                                " WHERE id = ?1",
                                rp, 1, NULL, NULL, &e),
                     0);
    /* the backup really runs at 03:00 now: the operator says so */
    struct store_param p[] = {SP_INT(j)};
    assert_int_equal(store_exec(g_s,
                                "INSERT INTO job_schedule_set (job_id, spec, timezone, grace_ms,"
                                " created_by, created_at) VALUES (?1, '0 3 * * *', 'UTC', NULL,"
                                " 'op', 0)",
                                p, 1, NULL, NULL, &e),
                     0);
    if (store_expected_eval_job(g_s, g_cfg, j, now, &e) < 0)
        fail_msg("eval_job: %s", e.msg);
    /* the 22:00 Missed of the 18th and 19th are gone; the reviewed one of the 17th stays; the
     * new schedule's own misses (03:00 of the 18th .. 20th) are there, once each */
    assert_int_equal(q_int("SELECT COUNT(*) FROM job_run WHERE job_id = ?1 AND status = 'missed'"
                           " AND start_at % 86400000 = 79200000",
                           j),
                     1);
    assert_int_equal(
        q_int("SELECT COUNT(*) FROM job_run WHERE id = ?1 AND reviewed_at = 1", reviewed), 1);
    assert_int_equal(q_int("SELECT COUNT(*) FROM job_slot WHERE job_id = ?1 AND run_id = "
                           "(SELECT id FROM job_run WHERE job_id = ?1 AND reviewed_at = 1)",
                           j),
                     1);
    int64_t new_missed = q_int("SELECT COUNT(*) FROM job_run WHERE job_id = ?1 AND status ="
                               " 'missed' AND start_at % 86400000 = 10800000",
                               j);
    assert_true(new_missed >= 3);
    /* no day shows two unreviewed Missed */
    assert_int_equal(q_int("SELECT COUNT(*) FROM (SELECT day FROM job_slot WHERE job_id = ?1"
                           " AND state = 'missed' AND run_id IN (SELECT id FROM job_run"
                           " WHERE reviewed_at IS NULL) GROUP BY day HAVING COUNT(*) > 1) d",
                           j),
                     0);
    assert_non_null(strstr(q_text("SELECT after_json FROM audit WHERE action ="
                                  " 'run.missed.dropped' AND target = 'job ' || ?1",
                                  j),
                           "\"runs_dropped\":2"));
    /* evaluating again changes nothing */
    int64_t total = q_int("SELECT COUNT(*) FROM job_run WHERE job_id = ?1", j);
    assert_int_equal(store_expected_eval_job(g_s, g_cfg, j, now + 60000, &e), 0);
    assert_int_equal(q_int("SELECT COUNT(*) FROM job_run WHERE job_id = ?1", j), total);
    assert_int_equal(q_int("SELECT COUNT(*) FROM audit WHERE action = 'run.missed.dropped'"
                           " AND target = 'job ' || ?1",
                           j),
                     1);
    /* back to the learned 22:00 schedule: the 03:00 Missed go, the 22:00 ones come back */
    assert_int_equal(
        store_exec(g_s, "DELETE FROM job_schedule_set WHERE job_id = ?1", p, 1, NULL, NULL, &e), 0);
    assert_int_equal(store_expected_eval_job(g_s, g_cfg, j, now + 120000, &e), 0);
    assert_int_equal(q_int("SELECT COUNT(*) FROM job_run WHERE job_id = ?1 AND status = 'missed'"
                           " AND start_at % 86400000 = 10800000",
                           j),
                     0);
    assert_int_equal(MISSED(j), 3);
}

static void set_policy(int64_t job, const char *name, int64_t rpo_s)
{
    struct bk_err e = {0};
    struct store_param p[] = {SP_INT(job), SP_TEXT(name), SP_INT(rpo_s)};
    assert_int_equal(store_exec(g_s,
                                "UPDATE job SET policy_name = ?2, policy_rpo_s = ?3 WHERE id = ?1",
                                p, 3, NULL, NULL, &e),
                     0);
}

/* A HYCU VM's policy RPO: a VM first seen with a single run is held to its policy (every
 * 12 h, Missed when a period passes without a backup) instead of waiting weeks to learn; a
 * VM whose history is as strict as its policy keeps the learned times; one backed up weekly
 * under a 24 h policy is held to the policy; a configured schedule still wins over both. */
static void test_policy_rpo(void **state)
{
    (void)state;
    open_with("[schedule \"cfg\"]\njob = vm-cfg\nevery = 1w\n");
    int64_t now = at(2026, 3, 10, 12, 0);
    int64_t fresh = add_job("vm-new", "vm", NULL, 0, now - 2 * D);
    add_run(fresh, now - 2 * D + H, 20 * 60000, "success");
    set_policy(fresh, "Silver", 12 * 3600);
    int64_t daily = add_job("vm-daily", "vm", NULL, 0, now - 40 * D);
    for (int d = 1; d <= 30; d++)
        add_run(daily, at(2026, 3, 10, 22, 0) - d * D, 30 * 60000, "success");
    set_policy(daily, "Gold", 24 * 3600);
    int64_t weekly = add_job("vm-weekly", "vm", NULL, 0, now - 60 * D);
    for (int w = 1; w <= 8; w++)
        add_run(weekly, at(2026, 3, 8, 3, 0) - (w - 1) * 7 * D, 30 * 60000, "success");
    set_policy(weekly, "Gold", 24 * 3600);
    int64_t cfg = add_job("vm-cfg", "vm", NULL, 0, now - 2 * D);
    set_policy(cfg, "Gold", 24 * 3600);
    int64_t none = add_job("vm-none", "vm", NULL, 0, now - 2 * D);
    add_run(none, now - 2 * D + H, 20 * 60000, "success");
    add_poll(now - 60000);
    eval(now);
    const char *sql = "SELECT origin || ' ' || kind || ' ' || description || ' '"
                      " || COALESCE(config_name, '-') FROM job_schedule WHERE job_id = ?1";
    assert_string_equal(q_text(sql, fresh), "policy every every 12h Silver");
    assert_true(MISSED(fresh) >= 2); /* 48 h since its only backup: periods without one */
    assert_string_equal(
        q_text("SELECT origin || ' ' || kind FROM job_schedule WHERE job_id = ?1", daily),
        "learned daily");
    assert_int_equal(MISSED(daily), 0);
    assert_string_equal(q_text(sql, weekly), "policy every every 1d Gold");
    assert_true(MISSED(weekly) >= 1);
    assert_string_equal(q_text("SELECT origin FROM job_schedule WHERE job_id = ?1", cfg), "config");
    assert_string_equal(
        q_text("SELECT origin || ' ' || kind FROM job_schedule WHERE job_id = ?1", none),
        "learned unknown");
    assert_int_equal(MISSED(none), 0);
    /* once per slot however often it runs */
    int64_t n = MISSED(fresh);
    eval(now + 60000);
    eval(now + 120000);
    assert_int_equal(MISSED(fresh), n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_missed_once_and_reviewable, teardown),
        cmocka_unit_test_teardown(test_late_run_after_missed, teardown),
        cmocka_unit_test_teardown(test_dst_paris, teardown),
        cmocka_unit_test_teardown(test_priority, teardown),
        cmocka_unit_test_teardown(test_offline, teardown),
        cmocka_unit_test_teardown(test_source_down_unknown, teardown),
        cmocka_unit_test_teardown(test_duration_anomaly, teardown),
        cmocka_unit_test_teardown(test_due_before_next_poll, teardown),
        cmocka_unit_test_teardown(test_prune_keeps_slots, teardown),
        cmocka_unit_test_teardown(test_schedule_change_drops_missed, teardown),
        cmocka_unit_test(test_freshness),
        cmocka_unit_test_teardown(test_policy_rpo, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
