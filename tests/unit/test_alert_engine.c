/* Unit tests of the alert rules (alert/engine.c) on a real SQLite file with an injected clock:
 * one incident per failure however often evaluated, recovered once (or never with
 * recovered = no), reminders until the run is reviewed, maintenance windows that mute an
 * opening and tell once after, overrides and min_severity that never alert, `after` N
 * failures in a row, a source down as one incident that hides its jobs' staleness, and
 * recurring windows across time zones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "alert/alert.h"
#include "alert/engine.h"
#include "store/alerts.h"
#include "config/config.h"
#include "store/store.h"
#include "util/err.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include "testdb.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIN (60 * 1000LL)
#define H (60 * MIN)
#define D (24 * H)

static char g_dir[64];
static struct bk_config *g_cfg;
static struct bk_store *g_s;
static int64_t g_src;
static int64_t g_t0;

static int64_t at(int y, int m, int d, int hh, int mm)
{
    return (bk_days_from_civil(y, (unsigned)m, (unsigned)d) * 86400 + hh * 3600 + mm * 60) * 1000;
}

static void open_with(const char *alert_keys, const char *extra)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/bk-alert-XXXXXX");
    assert_non_null(mkdtemp(g_dir));
    char *sec = testdb_section(g_dir);
    char *text = xasprintf("%s[server]\ntimezone = UTC\n"
                           "[alert \"ops\"]\nwebhook = http://127.0.0.1:1/hook\n%s\n%s",
                           sec, alert_keys ? alert_keys : "", extra ? extra : "");
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
                                .interval_ms = H,
                                .enabled = true};
    assert_int_equal(store_source_sync(g_s, &src, &g_src, &e), 0);
    struct store_param p[] = {SP_INT(g_src)};
    assert_int_equal(store_exec(g_s,
                                "INSERT INTO customer (id, source_id, external_id, name,"
                                " created_at, updated_at) VALUES (1, ?1, 'c1', 'Acme', 0, 0)",
                                p, 1, NULL, NULL, &e),
                     0);
    g_t0 = at(2026, 3, 10, 2, 0);
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

static int64_t add_job(const char *name)
{
    struct bk_err e = {0};
    int64_t id = 0;
    struct store_param p[] = {SP_INT(g_src), SP_TEXT(name), SP_INT(g_t0 - 30 * D)};
    assert_int_equal(store_exec(g_s,
                                "INSERT INTO job (source_id, customer_id, external_id, name, kind,"
                                " created_at, updated_at) VALUES (?1, 1, ?2, ?2, 'server', ?3, ?3)",
                                p, 3, NULL, &id, &e),
                     0);
    return id;
}

static int64_t add_run(int64_t job, int64_t start, const char *status, int override)
{
    struct bk_err e = {0};
    char vid[32];
    snprintf(vid, sizeof vid, "r%" PRId64, start);
    int64_t id = 0;
    struct store_param p[] = {SP_INT(job),     SP_TEXT(vid),
                              SP_INT(start),   SP_INT(start + 10 * MIN),
                              SP_TEXT(status), SP_INT(override)};
    assert_int_equal(store_exec(g_s,
                                "INSERT INTO job_run (job_id, vendor_run_id, start_at, end_at,"
                                " status, raw_status, override, created_at, updated_at)"
                                " VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?3, ?3)",
                                p, 6, NULL, &id, &e),
                     0);
    return id;
}

static void add_poll(int64_t t, const char *result)
{
    struct bk_err e = {0};
    struct store_param p[] = {SP_INT(g_src), SP_INT(t), SP_TEXT(result)};
    assert_int_equal(store_exec(g_s,
                                "INSERT INTO poll_run (source_id, started_at, finished_at, result)"
                                " VALUES (?1, ?2, ?2, ?3)",
                                p, 3, NULL, NULL, &e),
                     0);
}

static int int_cb(const struct store_row *r, void *ud)
{
    *(int64_t *)ud = store_row_int(r, 0);
    return 0;
}

static int64_t q_int(const char *sql)
{
    struct bk_err e = {0};
    int64_t v = -1;
    if (store_query(g_s, sql, NULL, 0, int_cb, &v, &e) < 0)
        fail_msg("%s: %s", sql, e.msg);
    return v;
}

static int text_cb(const struct store_row *r, void *ud)
{
    snprintf(ud, 200, "%s", store_row_text(r, 0) ? store_row_text(r, 0) : "");
    return 0;
}

/* Appends the row's text to the events string (portable: no group_concat/string_agg). */
static int event_cb(const struct store_row *r, void *ud)
{
    char *out = ud;
    size_t l = strlen(out);
    snprintf(out + l, 200 - l, "%s%s", l ? " " : "", store_row_text(r, 0));
    return 0;
}

/* The events queued so far, oldest first, space separated. */
static const char *events(void)
{
    static char out[200];
    out[0] = '\0';
    struct bk_err e = {0};
    if (store_query(g_s, "SELECT event FROM alert_outbox ORDER BY id", NULL, 0, event_cb, out, &e) <
        0)
        fail_msg("events: %s", e.msg);
    return out;
}

static struct alert_eval_stats eval(int64_t now)
{
    struct alert_eval_stats st;
    struct bk_err e = {0};
    if (alert_evaluate(g_s, g_cfg, now, &st, &e) < 0)
        fail_msg("alert_evaluate: %s", e.msg);
    return st;
}

static void test_one_incident_then_recovered(void **state)
{
    (void)state;
    open_with(NULL, NULL);
    add_poll(g_t0, "ok");
    int64_t j = add_job("srv-01");
    add_run(j, g_t0 - 2 * D, "success", 0);
    assert_int_equal(eval(g_t0).queued, 0);
    add_run(j, g_t0 - H, "failed", 0);
    assert_int_equal(eval(g_t0).opened, 1);
    for (int i = 1; i <= 5; i++) /* however often evaluated: one message */
        assert_int_equal(eval(g_t0 + i * MIN).queued, 0);
    add_run(j, g_t0 + 10 * MIN, "failed", 0); /* another failure of the same incident */
    assert_int_equal(eval(g_t0 + 20 * MIN).queued, 0);
    add_run(j, g_t0 + 30 * MIN, "running", 0); /* a rerun in progress is not a recovery */
    assert_int_equal(eval(g_t0 + 35 * MIN).closed, 0);
    add_run(j, g_t0 + 40 * MIN, "success", 0);
    assert_int_equal(eval(g_t0 + 50 * MIN).closed, 1);
    assert_int_equal(eval(g_t0 + 60 * MIN).queued, 0);
    assert_string_equal(events(), "run.failed run.recovered");
    assert_int_equal(q_int("SELECT COUNT(*) FROM alert_incident WHERE closed_at IS NULL"), 0);
    /* a new failure is a new incident */
    add_run(j, g_t0 + 2 * H, "failed", 0);
    assert_int_equal(eval(g_t0 + 3 * H).opened, 1);
    assert_int_equal(q_int("SELECT COUNT(DISTINCT uid) FROM alert_incident"), 2);
}

static void test_retired_job_closes_quietly(void **state)
{
    (void)state;
    open_with(NULL, NULL);
    add_poll(g_t0, "ok");
    int64_t j = add_job("srv-01");
    add_run(j, g_t0 - H, "failed", 0);
    assert_int_equal(eval(g_t0).opened, 1);
    struct bk_err e = {0};
    struct store_param p[] = {SP_INT(j)};
    assert_int_equal(
        store_exec(g_s, "UPDATE job SET retired_at = 1 WHERE id = ?1", p, 1, NULL, NULL, &e), 0);
    assert_int_equal(eval(g_t0 + H).queued, 0);
    assert_int_equal(q_int("SELECT COUNT(*) FROM alert_incident WHERE closed_at IS NULL"), 0);
    assert_string_equal(events(), "run.failed");
}

static void test_filters(void **state)
{
    (void)state;
    /* a section for another customer, and one for Acme's servers named db-* only */
    open_with("customer = Contoso", "[alert \"db\"]\nwebhook = http://127.0.0.1:1/db\n"
                                    "customer = Ac*\njob = db-*\nkind = server\n");
    add_poll(g_t0, "ok");
    add_run(add_job("srv-01"), g_t0 - H, "failed", 0);
    add_run(add_job("db-01"), g_t0 - H, "failed", 0);
    assert_int_equal(eval(g_t0).opened, 1);
    assert_int_equal(q_int("SELECT COUNT(*) FROM alert_incident WHERE alert = 'db'"), 1);
    assert_int_equal(q_int("SELECT COUNT(*) FROM alert_incident WHERE alert = 'ops'"), 0);
    assert_int_equal(q_int("SELECT COUNT(*) FROM alert_incident i JOIN job j ON j.id = i.target_id"
                           " WHERE j.name = 'db-01'"),
                     1);
}

static void test_recovered_off_and_override(void **state)
{
    (void)state;
    open_with("recovered = no", NULL);
    add_poll(g_t0, "ok");
    int64_t j = add_job("srv-01"), k = add_job("srv-02");
    add_run(j, g_t0 - H, "failed", 0);
    add_run(k, g_t0 - H, "failed", 1); /* overridden: success, never an alert */
    assert_int_equal(eval(g_t0).opened, 1);
    add_run(j, g_t0 + H, "success", 0);
    struct alert_eval_stats st = eval(g_t0 + 2 * H);
    assert_int_equal(st.queued, 0);
    assert_string_equal(events(), "run.failed");
    assert_int_equal(q_int("SELECT COUNT(*) FROM alert_incident WHERE closed_at IS NULL"), 0);
}

static void test_reminders_stop_on_review(void **state)
{
    (void)state;
    open_with("repeat = 1h", NULL);
    add_poll(g_t0, "ok");
    int64_t j = add_job("srv-01");
    int64_t r = add_run(j, g_t0 - H, "failed", 0);
    assert_int_equal(eval(g_t0).opened, 1);
    assert_int_equal(eval(g_t0 + 30 * MIN).reminders, 0);
    assert_int_equal(eval(g_t0 + 61 * MIN).reminders, 1);
    assert_int_equal(eval(g_t0 + 90 * MIN).reminders, 0); /* an hour after the last one */
    assert_int_equal(eval(g_t0 + 122 * MIN).reminders, 1);
    struct bk_err e = {0};
    struct store_param p[] = {SP_INT(r)};
    assert_int_equal(store_exec(g_s,
                                "UPDATE job_run SET reviewed_at = 1, reviewed_by = 'op'"
                                " WHERE id = ?1",
                                p, 1, NULL, NULL, &e),
                     0);
    for (int i = 3; i < 8; i++)
        assert_int_equal(eval(g_t0 + i * H).reminders, 0);
    assert_string_equal(events(), "run.failed reminder reminder");
}

static void test_maintenance_mutes_then_tells_once(void **state)
{
    (void)state;
    open_with("repeat = 1h", "[maintenance \"patch night\"]\ncustomer = Acme\n"
                             "start = 2026-03-10 01:00\nend = 2026-03-10 05:00\ntimezone = UTC\n");
    add_poll(g_t0, "ok");
    int64_t j = add_job("srv-01"), k = add_job("srv-02");
    add_run(j, g_t0 - 30 * MIN, "failed", 0); /* 01:30, in the window */
    add_run(k, g_t0 - 30 * MIN, "failed", 0);
    struct alert_eval_stats st = eval(g_t0);
    assert_int_equal(st.muted, 2);
    assert_int_equal(st.queued, 0);
    add_run(k, g_t0 + H, "success", 0); /* k recovers inside the window: no message of its own */
    assert_int_equal(eval(g_t0 + 2 * H).queued, 0);
    assert_int_equal(eval(g_t0 + 2 * H + 30 * MIN).reminders, 0); /* muted: no reminder */
    /* 05:00: the window is over: one summary of what happened in it */
    st = eval(at(2026, 3, 10, 5, 1));
    assert_int_equal(st.queued, 1);
    assert_string_equal(events(), "maintenance.summary");
    char buf[200] = "";
    struct bk_err e = {0};
    assert_int_equal(store_query(g_s, "SELECT title FROM alert_outbox", NULL, 0, text_cb, buf, &e),
                     0);
    assert_string_equal(buf, "After maintenance: 2 incident(s), 1 still open");
    assert_int_equal(q_int("SELECT COUNT(*) FROM alert_outbox"
                           " WHERE payload LIKE '%Acme / srv-01 (cove-test): failed, STILL OPEN%'"
                           " AND payload LIKE '%Acme / srv-02 (cove-test): failed, recovered"
                           " during the window%'"),
                     1);
    assert_int_equal(eval(at(2026, 3, 10, 5, 30)).queued, 0); /* told once */
    /* j is an ordinary incident from now on: it reminds, then recovers */
    assert_int_equal(eval(at(2026, 3, 10, 6, 2)).reminders, 1);
    add_run(j, at(2026, 3, 10, 6, 10), "success", 0);
    assert_int_equal(eval(at(2026, 3, 10, 6, 20)).closed, 1);
    assert_string_equal(events(), "maintenance.summary reminder run.recovered");
}

static void test_min_severity_and_after(void **state)
{
    (void)state;
    open_with("min_severity = failed\nafter = 2", NULL);
    add_poll(g_t0, "ok");
    int64_t j = add_job("srv-01");
    add_run(j, g_t0 - 3 * H, "warning", 0);
    assert_int_equal(eval(g_t0 - 2 * H).queued, 0);
    add_run(j, g_t0 - 2 * H, "failed", 0);
    assert_int_equal(eval(g_t0 - 90 * MIN).queued, 0); /* one failure: not yet */
    add_run(j, g_t0 - H, "failed", 1);                 /* overridden: breaks the streak */
    add_run(j, g_t0 - 30 * MIN, "failed", 0);
    assert_int_equal(eval(g_t0 - 20 * MIN).queued, 0);
    add_run(j, g_t0 - 10 * MIN, "failed", 0); /* the second in a row */
    assert_int_equal(eval(g_t0).opened, 1);
    assert_string_equal(events(), "run.failed");
}

static void test_source_down_is_one_incident(void **state)
{
    (void)state;
    open_with(NULL, NULL);
    add_poll(g_t0 - 10 * D, "ok");
    for (int i = 0; i < 20; i++) {
        char n[16];
        snprintf(n, sizeof n, "dev-%02d", i);
        add_run(add_job(n), g_t0 - 10 * D, "success", 0); /* all stale by now */
    }
    add_poll(g_t0 - H, "failed");
    struct alert_eval_stats st = eval(g_t0);
    assert_int_equal(st.opened, 1);
    assert_string_equal(events(), "source.down");
    /* polls work again: the source recovers, and its jobs' staleness now speaks */
    add_poll(g_t0 + H, "ok");
    st = eval(g_t0 + 2 * H);
    assert_int_equal(st.closed, 1);
    assert_int_equal(st.opened, 20);
    assert_int_equal(q_int("SELECT COUNT(*) FROM alert_outbox WHERE event = 'job.stale'"), 20);
}

static void test_recurring_window_in_a_zone(void **state)
{
    (void)state;
    struct bk_maint_cfg m = {.name = (char *)"nightly",
                             .cron = (char *)"0 22 * * *",
                             .duration_ms = 2 * H,
                             .timezone = (char *)"Europe/Paris"};
    /* 22:00-24:00 Paris = 21:00-23:00 UTC in winter, 20:00-22:00 UTC in summer */
    assert_false(alert_maint_open(&m, NULL, at(2026, 1, 15, 20, 59)));
    assert_true(alert_maint_open(&m, NULL, at(2026, 1, 15, 21, 0)));
    assert_true(alert_maint_open(&m, NULL, at(2026, 1, 15, 22, 59)));
    assert_false(alert_maint_open(&m, NULL, at(2026, 1, 15, 23, 0)));
    assert_true(alert_maint_open(&m, NULL, at(2026, 7, 15, 20, 30)));
    assert_false(alert_maint_open(&m, NULL, at(2026, 7, 15, 22, 0)));
    /* the customer's zone when the section has none */
    m.timezone = NULL;
    assert_true(alert_maint_open(&m, "America/New_York", at(2026, 1, 16, 3, 30)));
    assert_false(alert_maint_open(&m, "America/New_York", at(2026, 1, 16, 1, 30)));
}

static void test_daily_summary_once_a_day(void **state)
{
    (void)state;
    open_with("summary = 06:00", "[customer \"Acme\"]\ntimezone = Europe/Paris\n");
    struct bk_err e = {0};
    assert_int_equal(
        store_exec(g_s, "UPDATE customer SET timezone = 'Europe/Paris'", NULL, 0, NULL, NULL, &e),
        0);
    add_poll(g_t0, "ok");
    int64_t j = add_job("srv-01"), k = add_job("srv-02");
    add_run(j, at(2026, 3, 10, 1, 0), "failed", 0);
    add_run(k, at(2026, 3, 10, 1, 0), "success", 0);
    eval(at(2026, 3, 10, 4, 59)); /* 05:59 in Paris: not yet */
    assert_int_equal(q_int("SELECT COUNT(*) FROM alert_outbox WHERE event = 'summary'"), 0);
    eval(at(2026, 3, 10, 5, 1)); /* 06:01 in Paris */
    assert_int_equal(q_int("SELECT COUNT(*) FROM alert_outbox WHERE event = 'summary'"), 1);
    char buf[200] = "";
    assert_int_equal(store_query(g_s, "SELECT title FROM alert_outbox WHERE event = 'summary'",
                                 NULL, 0, text_cb, buf, &e),
                     0);
    assert_non_null(strstr(buf, "Acme"));
    assert_non_null(strstr(buf, "1 problem"));
    for (int h = 6; h < 24; h++)
        eval(at(2026, 3, 10, h, 0));
    assert_int_equal(q_int("SELECT COUNT(*) FROM alert_outbox WHERE event = 'summary'"), 1);
    /* the next day: nothing failed in the last 24 h, so "all 2 backups OK" */
    add_run(j, at(2026, 3, 11, 1, 0), "success", 0);
    eval(at(2026, 3, 11, 5, 30));
    assert_int_equal(q_int("SELECT COUNT(*) FROM alert_outbox WHERE event = 'summary'"), 2);
    assert_int_equal(store_query(g_s,
                                 "SELECT title FROM alert_outbox WHERE event = 'summary'"
                                 " ORDER BY id DESC LIMIT 1",
                                 NULL, 0, text_cb, buf, &e),
                     0);
    assert_non_null(strstr(buf, "OK"));
}

static int count_claim(const struct store_outbox_row *r, void *ud)
{
    int *seen = ud;
    seen[r->id]++;
    return 0;
}

/* Two instances on one database claim disjoint rows; a claim whose holder died is taken
 * again when its lease expires, by anyone. */
static void test_claims_never_overlap(void **state)
{
    (void)state;
    open_with(NULL, NULL);
    add_poll(g_t0, "ok");
    for (int i = 0; i < 30; i++) {
        char n[16];
        snprintf(n, sizeof n, "dev-%02d", i);
        add_run(add_job(n), g_t0 - H, "failed", 0);
    }
    assert_int_equal(eval(g_t0).queued, 30);
    struct bk_store *other;
    struct bk_err e = {0};
    assert_int_equal(store_open(g_cfg, &other, &e), 0);
    int seen[64] = {0};
    int n1, n2, total = 0;
    do {
        n1 = store_outbox_claim(g_s, "a", g_t0, 60000, 4, count_claim, seen, &e);
        n2 = store_outbox_claim(other, "b", g_t0, 60000, 3, count_claim, seen, &e);
        assert_true(n1 >= 0 && n2 >= 0);
        total += n1 + n2;
    } while (n1 + n2 > 0);
    assert_int_equal(total, 30);
    for (int i = 1; i <= 30; i++)
        assert_int_equal(seen[i], 1);
    /* "a" died holding its rows: nothing is due until the lease ends, then "b" takes them */
    assert_int_equal(
        store_outbox_claim(other, "b", g_t0 + 59000, 60000, 100, count_claim, seen, &e), 0);
    assert_int_equal(
        store_outbox_claim(other, "b", g_t0 + 61000, 60000, 100, count_claim, seen, &e), 30);
    /* a late answer from the old holder changes nothing */
    assert_int_equal(store_outbox_done(g_s, 1, "a", "sent", g_t0, 200, NULL, g_t0, &e), 0);
    assert_int_equal(q_int("SELECT COUNT(*) FROM alert_outbox WHERE state = 'sent'"), 0);
    assert_int_equal(store_outbox_done(other, 1, "b", "sent", g_t0, 200, NULL, g_t0, &e), 0);
    assert_int_equal(q_int("SELECT COUNT(*) FROM alert_outbox WHERE state = 'sent'"), 1);
    /* a worker that stops gives back what it did not send: due at once, attempt not counted */
    assert_int_equal(store_outbox_release(other, 2, "b", &e), 0);
    assert_int_equal(
        q_int("SELECT state = 'pending' AND attempts = 1 FROM alert_outbox WHERE id = 2"), 1);
    store_close(other);
}

static void test_webhook_bodies(void **state)
{
    (void)state;
    struct bk_alert_msg m = {.id = "k-1",
                             .incident_id = "inc-1",
                             .event = "run.failed",
                             .customer = "Acme \"<b>\"",
                             .source = "cove-msp",
                             .job = "srv-01",
                             .status = "failed",
                             .title = "Failed: Acme / srv-01 (cove-msp)",
                             .text = "Status: failed\nMessage: disk full",
                             .run_json = "{\"id\":7,\"status\":\"failed\"}",
                             .url = "https://bk.example/#/jobs/3",
                             .at_ms = 1767225600000LL};
    json_error_t je;
    char *b = alert_webhook_body(BK_ALERT_JSON, &m);
    json_t *o = json_loads(b, 0, &je);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "id")), "k-1");
    assert_string_equal(json_string_value(json_object_get(o, "event")), "run.failed");
    assert_string_equal(json_string_value(json_object_get(o, "customer")), "Acme \"<b>\"");
    assert_string_equal(json_string_value(json_object_get(o, "job")), "srv-01");
    assert_string_equal(json_string_value(json_object_get(o, "url")),
                        "https://bk.example/#/jobs/3");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "run"), "id")), 7);
    assert_string_equal(json_string_value(json_object_get(o, "at")), "2026-01-01T00:00:00Z");
    json_decref(o);
    free(b);
    b = alert_webhook_body(BK_ALERT_SLACK, &m);
    o = json_loads(b, 0, &je);
    assert_non_null(o);
    assert_int_equal(json_object_size(o), 1); /* Slack's incoming webhooks take {"text"} */
    assert_non_null(strstr(json_string_value(json_object_get(o, "text")), "disk full"));
    assert_non_null(
        strstr(json_string_value(json_object_get(o, "text")), "<https://bk.example/#/jobs/3|"));
    json_decref(o);
    free(b);
    b = alert_webhook_body(BK_ALERT_TEAMS, &m);
    o = json_loads(b, 0, &je);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "@type")), "MessageCard");
    assert_string_equal(json_string_value(json_object_get(o, "title")), m.title);
    json_t *act = json_array_get(json_object_get(o, "potentialAction"), 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(act, "targets"), 0), "uri")),
                        m.url);
    json_decref(o);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_one_incident_then_recovered, teardown),
        cmocka_unit_test_teardown(test_recovered_off_and_override, teardown),
        cmocka_unit_test_teardown(test_filters, teardown),
        cmocka_unit_test_teardown(test_retired_job_closes_quietly, teardown),
        cmocka_unit_test_teardown(test_reminders_stop_on_review, teardown),
        cmocka_unit_test_teardown(test_maintenance_mutes_then_tells_once, teardown),
        cmocka_unit_test_teardown(test_min_severity_and_after, teardown),
        cmocka_unit_test_teardown(test_source_down_is_one_incident, teardown),
        cmocka_unit_test(test_recurring_window_in_a_zone),
        cmocka_unit_test_teardown(test_daily_summary_once_a_day, teardown),
        cmocka_unit_test(test_webhook_bodies),
        cmocka_unit_test_teardown(test_claims_never_overlap, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
