/* Unit tests of the SQLite store on real files: exactly-once runs, unchanged polls write
 * nothing, a session completing updates its run in place, reviewed runs are never modified,
 * retirement only after a complete poll, failed polls change nothing, interrupted polls
 * leave no trace, superseded running runs get a final status, pruned runs never come back,
 * poll counters only rise, and override flags follow the rules in force. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config/config.h"
#include "store/overrides.h"
#include "store/store.h"
#include "util/err.h"
#include "util/xalloc.h"

#include "testdb.h"

#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_dir[64];
static struct bk_config *g_cfg;
static struct bk_source_cfg g_src;

static int setup(void **state)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/bk-store-XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    char *text = testdb_section(g_dir);
    struct bk_err e = {0};
    int rc = config_parse_string(text, "t.conf", g_dir, &g_cfg, &e);
    free(text);
    memset(&g_src, 0, sizeof g_src);
    g_src.name = (char *)"cove-test";
    g_src.type = BK_SOURCE_COVE;
    g_src.url = (char *)"https://example/jsonapi";
    g_src.interval_ms = 60000;
    g_src.enabled = true;
    return rc;
}

static int teardown(void **state)
{
    testdb_drop(g_dir);
    rmdir(g_dir);
    config_free(g_cfg);
    return 0;
}

static void add(struct bk_batch *b, const char *id, const char *cust_id, const char *cust,
                const char *run_id, enum bk_run_status st, const char *raw)
{
    struct bk_job_rec j = {.external_id = xstrdup(id),
                           .name = xasprintf("dev-%s", id),
                           .kind = xstrdup("server"),
                           .customer_ext_id = xstrdup(cust_id),
                           .customer_name = xstrdup(cust),
                           .colour_bar = xstrdup("5558")};
    bk_batch_add_job(b, &j);
    if (!run_id)
        return;
    struct bk_run_rec r = {.job_external_id = xstrdup(id),
                           .vendor_run_id = xstrdup(run_id),
                           .start_ms = 1700000000000LL,
                           .status = st,
                           .raw_status = xstrdup(raw),
                           .error_count = 0};
    struct bk_obj_rec o = {
        .name = xstrdup("Files and Folders"), .status = st, .raw_status = xstrdup(raw)};
    bk_run_add_object(&r, &o);
    bk_batch_add_run(b, &r);
}

static int64_t q1(const char *sql)
{
    return testdb_q1(g_cfg, sql);
}

static void poll(struct bk_store *s, int64_t sid, const struct bk_batch *b,
                 enum store_poll_result res, struct store_apply_stats *st)
{
    struct bk_err e = {0};
    int64_t pid;
    int rc = store_poll_begin(s, sid, "test", &pid, &e);
    if (rc == 0 && b)
        rc = store_poll_stage(s, pid, b, &e);
    struct store_poll_outcome o = {.result = res, .pages = 1, .devices = b ? (int64_t)b->njobs : 0};
    if (rc == 0)
        rc = store_poll_finish(s, pid, sid, &o, st, &e);
    if (rc != 0)
        fprintf(stderr, "poll: %s\n", e.msg);
    assert_int_equal(rc, 0);
}

static void test_exactly_once(void **state)
{
    struct bk_store *s;
    struct bk_err e = {0};
    assert_int_equal(store_open(g_cfg, &s, &e), 0);
    int v;
    assert_int_equal(store_schema_version(s, &v, &e), 0);
    assert_int_equal(v, 14);
    int64_t sid;
    assert_int_equal(store_source_sync(s, &g_src, &sid, &e), 0);

    struct bk_batch b = {0};
    add(&b, "1", "p10", "Contoso", "1700000000", BK_RUN_RUNNING, "1");
    add(&b, "2", "p11", "Contoso", "1700000100", BK_RUN_FAILED, "2"); /* same name, other id */
    add(&b, "3", "p10", "Contoso", NULL, 0, NULL);                    /* never ran */
    struct store_apply_stats st;
    poll(s, sid, &b, STORE_POLL_OK, &st);
    assert_int_equal(st.runs_new, 2);
    assert_int_equal(st.runs_updated, 0);
    assert_int_equal(q1("SELECT COUNT(*) FROM customer"), 2); /* keyed by partner id */
    assert_int_equal(q1("SELECT COUNT(*) FROM job_object"), 2);

    /* The same state again: nothing written but the poll_run record. */
    int64_t ju = q1("SELECT MAX(updated_at) FROM job"),
            ru = q1("SELECT MAX(updated_at) FROM job_run");
    poll(s, sid, &b, STORE_POLL_OK, &st);
    assert_int_equal(st.runs_new, 0);
    assert_int_equal(st.runs_updated, 0);
    assert_int_equal(st.jobs_changed, 0);
    assert_int_equal(st.objects_changed, 0);
    assert_int_equal(q1("SELECT MAX(updated_at) FROM job"), ju);
    assert_int_equal(q1("SELECT MAX(updated_at) FROM job_run"), ru);
    assert_int_equal(q1("SELECT COUNT(*) FROM poll_run WHERE result = 'ok'"), 2);
    assert_int_equal(q1("SELECT COUNT(*) FROM stage_job"), 0);
    bk_batch_free(&b);

    /* The running session completes: its run is updated in place. */
    add(&b, "1", "p10", "Contoso", "1700000000", BK_RUN_SUCCESS, "5");
    add(&b, "2", "p11", "Contoso", "1700000100", BK_RUN_FAILED, "2");
    add(&b, "3", "p10", "Contoso", NULL, 0, NULL);
    poll(s, sid, &b, STORE_POLL_OK, &st);
    assert_int_equal(st.runs_new, 0);
    assert_int_equal(st.runs_updated, 1);
    assert_int_equal(q1("SELECT COUNT(*) FROM job_run"), 2);
    assert_int_equal(q1("SELECT COUNT(*) FROM job_run WHERE status = 'success'"), 1);
    bk_batch_free(&b);

    /* A reviewed run survives a changed vendor status. */
    int64_t n;
    assert_int_equal(store_review_job(s, "cove-test", "2", "alice", &n, &e), 0);
    assert_int_equal(n, 1);
    add(&b, "1", "p10", "Contoso", "1700000000", BK_RUN_SUCCESS, "5");
    add(&b, "2", "p11", "Contoso", "1700000100", BK_RUN_SUCCESS, "5");
    add(&b, "3", "p10", "Contoso", NULL, 0, NULL);
    poll(s, sid, &b, STORE_POLL_OK, &st);
    assert_int_equal(st.runs_updated, 0);
    assert_int_equal(q1("SELECT COUNT(*) FROM job_run WHERE status = 'failed'"), 1);
    assert_int_equal(q1("SELECT COUNT(*) FROM job_object WHERE status = 'failed'"), 1);
    bk_batch_free(&b);

    /* A partial poll missing device 3 retires nothing; a complete one retires it. */
    add(&b, "1", "p10", "Contoso", "1700000000", BK_RUN_SUCCESS, "5");
    add(&b, "2", "p11", "Contoso", "1700000100", BK_RUN_SUCCESS, "5");
    poll(s, sid, &b, STORE_POLL_PARTIAL, &st);
    assert_int_equal(q1("SELECT COUNT(*) FROM job WHERE retired_at IS NOT NULL"), 0);
    poll(s, sid, &b, STORE_POLL_OK, &st);
    assert_int_equal(st.jobs_retired, 1);
    assert_int_equal(q1("SELECT COUNT(*) FROM job WHERE retired_at IS NOT NULL"), 1);
    assert_int_equal(q1("SELECT COUNT(*) FROM job"), 3); /* retired, never deleted */
    bk_batch_free(&b);

    /* A failed poll changes nothing, whatever it staged. */
    add(&b, "9", "p10", "Contoso", "1700009999", BK_RUN_FAILED, "2");
    poll(s, sid, &b, STORE_POLL_FAILED, &st);
    assert_int_equal(q1("SELECT COUNT(*) FROM job"), 3);
    assert_int_equal(q1("SELECT COUNT(*) FROM stage_run"), 0);
    assert_int_equal(q1("SELECT COUNT(*) FROM poll_run WHERE result = 'failed'"), 1);

    /* An interrupted poll (staged, never finished) is invisible and cleaned by the next. */
    int64_t pid;
    assert_int_equal(store_poll_begin(s, sid, "test", &pid, &e), 0);
    assert_int_equal(store_poll_stage(s, pid, &b, &e), 0);
    assert_int_equal(q1("SELECT COUNT(*) FROM job"), 3);
    store_close(s);
    assert_int_equal(store_open(g_cfg, &s, &e), 0);
    int64_t pid2;
    assert_int_equal(store_poll_begin(s, sid, "test", &pid2, &e), 0);
    assert_int_equal(q1("SELECT COUNT(*) FROM stage_run"), 0);
    assert_int_equal(q1("SELECT COUNT(*) FROM poll_run WHERE result = 'interrupted'"), 1);
    bk_batch_free(&b);
    store_close(s);
}

#define DAY 86400000LL

/* One job with one run (start in ms), a colour bar with its as-of time. */
static void add_at(struct bk_batch *b, const char *id, const char *run_id, int64_t start,
                   enum bk_run_status st, const char *raw, const char *bar, int64_t as_of)
{
    struct bk_job_rec j = {.external_id = xstrdup(id),
                           .name = xasprintf("dev-%s", id),
                           .kind = xstrdup("server"),
                           .customer_ext_id = xstrdup("p1"),
                           .customer_name = xstrdup("Contoso"),
                           .colour_bar = bar ? xstrdup(bar) : NULL,
                           .colour_bar_as_of_ms = bar ? as_of : 0};
    bk_batch_add_job(b, &j);
    struct bk_run_rec r = {.job_external_id = xstrdup(id),
                           .vendor_run_id = xstrdup(run_id),
                           .start_ms = start,
                           .status = st,
                           .raw_status = xstrdup(raw),
                           .error_count = 0,
                           .message = xstrdup(raw)};
    bk_batch_add_run(b, &r);
}

static char *qtext(const char *sql)
{
    return testdb_qtext(g_cfg, sql);
}

static void assert_text(const char *sql, const char *want)
{
    char *got = qtext(sql);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_superseded_status(void **state)
{
    (void)state;
    const int64_t as_of = 20000 * DAY + 3600000; /* day 20000, 01:00 */
    const int64_t d18 = 19998 * DAY + 7200000;   /* day 19998, 02:00 */
    char d = 'x';
    /* The last digit is as_of's day; two days back is the third from the end. */
    assert_int_equal(store_superseded_status("55525", as_of, d18, as_of, 0, &d), BK_RUN_SUCCESS);
    assert_int_equal(d, '5');
    assert_int_equal(store_superseded_status("55255", as_of, d18, as_of, 0, &d), BK_RUN_FAILED);
    assert_int_equal(d, '2');
    assert_int_equal(store_superseded_status("55855", as_of, d18, as_of, 0, &d), BK_RUN_WARNING);
    assert_int_equal(store_superseded_status("55655", as_of, d18, as_of, 0, &d), BK_RUN_FAILED);
    assert_int_equal(store_superseded_status("55455", as_of, d18, as_of, 0, &d), BK_RUN_UNKNOWN);
    assert_int_equal(d, '4');
    /* The bar does not tell: still running (1, 9), nothing (0), too short, no bar. */
    const char *silent[] = {"55155", "55955", "55055", "55", "", NULL};
    for (size_t i = 0; i < sizeof silent / sizeof silent[0]; i++) {
        d = 'x';
        assert_int_equal(store_superseded_status(silent[i], as_of, d18, as_of, 0, &d),
                         BK_RUN_UNKNOWN);
        assert_int_equal(d, '\0');
    }
    /* The newer run on the same day, or another run that day, may be what coloured it. */
    assert_int_equal(store_superseded_status("55555", as_of, d18, d18 + 3600000, 0, &d),
                     BK_RUN_UNKNOWN);
    assert_int_equal(d, '\0');
    assert_int_equal(store_superseded_status("55555", as_of, d18, as_of, 1, &d), BK_RUN_UNKNOWN);
    assert_int_equal(d, '\0');
    /* The vendor's clock ahead of ours: its newest session is on a later day than as_of, so
     * the bar's last digit is that day. */
    assert_int_equal(store_superseded_status("52555", as_of, d18, as_of + DAY, 0, &d),
                     BK_RUN_FAILED);
    assert_int_equal(d, '2');
    /* No newer run known, or unknown times. */
    assert_int_equal(store_superseded_status("55555", as_of, as_of + DAY, 0, 0, &d),
                     BK_RUN_UNKNOWN);
    assert_int_equal(store_superseded_status("55555", 0, d18, as_of, 0, &d), BK_RUN_UNKNOWN);
    assert_int_equal(store_superseded_status("55555", as_of, 0, as_of, 0, &d), BK_RUN_UNKNOWN);
    assert_int_equal(d, '\0');
}

static void test_superseded_runs(void **state)
{
    (void)state;
    struct bk_store *s;
    struct bk_err e = {0};
    assert_int_equal(store_open(g_cfg, &s, &e), 0);
    int64_t sid;
    assert_int_equal(store_source_sync(s, &g_src, &sid, &e), 0);
    const int64_t t0 = 20000 * DAY + 3600000, t1 = t0 + 2 * DAY;
    struct bk_batch b = {0};
    struct store_apply_stats st;
    /* Four devices with a session running on day 20000. */
    add_at(&b, "a", "t0", t0, BK_RUN_RUNNING, "1", "5551", t0);
    add_at(&b, "b", "t0", t0, BK_RUN_RUNNING, "1", "5551", t0);
    add_at(&b, "c", "t0", t0, BK_RUN_RUNNING, "1", "5551", t0);
    add_at(&b, "d", "t0", t0, BK_RUN_RUNNING, "1", "5551", t0);
    add_at(&b, "e", "t0", t0, BK_RUN_RUNNING, "EXECUTING", NULL, 0); /* no colour bar (HYCU) */
    poll(s, sid, &b, STORE_POLL_OK, &st);
    bk_batch_free(&b);
    int64_t n;
    assert_int_equal(store_review_job(s, "cove-test", "d", "alice", &n, &e), 0);
    assert_int_equal(n, 0); /* a running run is not reviewed */
    assert_int_equal(q1("UPDATE job_run SET reviewed_at = 1, reviewed_by = 'legacy' WHERE"
                        " job_id = (SELECT id FROM job WHERE external_id = 'd') RETURNING 1"),
                     1);
    /* Two days later each has a newer session; Cove reports only that one. The bar tells for
     * a (failed) and b (success); c's day still shows running: unknown, never success. */
    add_at(&b, "a", "t1", t1, BK_RUN_RUNNING, "1", "5555201", t1);
    add_at(&b, "b", "t1", t1, BK_RUN_SUCCESS, "5", "5555505", t1);
    add_at(&b, "c", "t1", t1, BK_RUN_RUNNING, "1", "5555101", t1);
    add_at(&b, "d", "t1", t1, BK_RUN_RUNNING, "1", "5555201", t1);
    add_at(&b, "e", "t1", t1, BK_RUN_RUNNING, "EXECUTING", NULL, 0);
    poll(s, sid, &b, STORE_POLL_OK, &st);
    assert_int_equal(st.runs_new, 5);
    assert_int_equal(st.runs_superseded, 4);
    assert_text("SELECT status || '/' || raw_status FROM job_run WHERE vendor_run_id = 't0' AND"
                " job_id = (SELECT id FROM job WHERE external_id = 'e')",
                "unknown/EXECUTING");
    assert_text("SELECT status || '/' || raw_status FROM job_run WHERE vendor_run_id = 't0' AND"
                " job_id = (SELECT id FROM job WHERE external_id = 'a')",
                "failed/2");
    assert_text("SELECT status || '/' || raw_status FROM job_run WHERE vendor_run_id = 't0' AND"
                " job_id = (SELECT id FROM job WHERE external_id = 'b')",
                "success/5");
    assert_text("SELECT status || '/' || raw_status FROM job_run WHERE vendor_run_id = 't0' AND"
                " job_id = (SELECT id FROM job WHERE external_id = 'c')",
                "unknown/1");
    char *msg = qtext("SELECT message FROM job_run WHERE vendor_run_id = 't0' AND"
                      " job_id = (SELECT id FROM job WHERE external_id = 'c')");
    assert_non_null(strstr(msg, "never reported the end"));
    free(msg);
    msg = qtext("SELECT message FROM job_run WHERE vendor_run_id = 't0' AND"
                " job_id = (SELECT id FROM job WHERE external_id = 'a')");
    assert_non_null(strstr(msg, "colour bar"));
    free(msg);
    /* A reviewed run is never changed. */
    assert_text("SELECT status FROM job_run WHERE vendor_run_id = 't0' AND"
                " job_id = (SELECT id FROM job WHERE external_id = 'd')",
                "running");
    /* The same poll again changes nothing more. */
    poll(s, sid, &b, STORE_POLL_OK, &st);
    assert_int_equal(st.runs_superseded, 0);
    assert_int_equal(st.runs_updated, 0);
    bk_batch_free(&b);
    store_close(s);
}

static void test_prune_never_returns(void **state)
{
    (void)state;
    struct bk_store *s;
    struct bk_err e = {0};
    assert_int_equal(store_open(g_cfg, &s, &e), 0);
    int64_t sid;
    assert_int_equal(store_source_sync(s, &g_src, &sid, &e), 0);
    struct bk_batch b = {0};
    struct store_apply_stats st;
    add(&b, "1", "p10", "Contoso", "1700000000", BK_RUN_FAILED, "2");
    add(&b, "2", "p10", "Contoso", "1700000000", BK_RUN_FAILED, "2");
    poll(s, sid, &b, STORE_POLL_OK, &st);
    assert_int_equal(st.runs_new, 2);
    int64_t n;
    assert_int_equal(store_review_job(s, "cove-test", "1", "alice", &n, &e), 0);
    assert_int_equal(n, 1);
    /* Only the reviewed, old run goes; its (job, vendor run id) is kept. */
    assert_int_equal(store_prune_runs(s, 1800000000000LL, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(q1("SELECT COUNT(*) FROM job_run"), 1);
    assert_int_equal(q1("SELECT COUNT(*) FROM run_tombstone"), 1);
    /* The vendor still reports that session: it does not come back. */
    poll(s, sid, &b, STORE_POLL_OK, &st);
    assert_int_equal(st.runs_new, 0);
    assert_int_equal(st.runs_updated, 0);
    assert_int_equal(q1("SELECT COUNT(*) FROM job_run"), 1);
    assert_int_equal(q1("SELECT COUNT(*) FROM job_object"), 1);
    assert_int_equal(q1("SELECT COUNT(*) FROM job_run WHERE reviewed_at IS NULL"), 1);
    bk_batch_free(&b);
    /* A new session of that device is a new run. */
    add(&b, "1", "p10", "Contoso", "1700086400", BK_RUN_SUCCESS, "5");
    poll(s, sid, &b, STORE_POLL_PARTIAL, &st);
    assert_int_equal(st.runs_new, 1);
    bk_batch_free(&b);
    store_close(s);
}

static void test_poll_counter_rises(void **state)
{
    (void)state;
    struct bk_store *s;
    struct bk_err e = {0};
    assert_int_equal(store_open(g_cfg, &s, &e), 0);
    int64_t sid, pid;
    assert_int_equal(store_source_sync(s, &g_src, &sid, &e), 0);
    struct store_apply_stats st;
    poll(s, sid, NULL, STORE_POLL_OK, &st);
    poll(s, sid, NULL, STORE_POLL_OK, &st);
    poll(s, sid, NULL, STORE_POLL_FAILED, &st);
    assert_int_equal(store_poll_begin(s, sid, "test", &pid, &e), 0); /* dies */
    assert_int_equal(store_poll_begin(s, sid, "test", &pid, &e), 0); /* interrupted: 1 */
    assert_int_equal(q1("SELECT n FROM poll_counter WHERE result = 'ok'"), 2);
    assert_int_equal(q1("SELECT n FROM poll_counter WHERE result = 'failed'"), 1);
    assert_int_equal(q1("SELECT n FROM poll_counter WHERE result = 'interrupted'"), 1);
    /* Retention deletes the poll records; the counters stay. */
    int64_t n;
    assert_int_equal(
        store_exec(s, "DELETE FROM poll_run WHERE result <> 'running'", NULL, 0, &n, NULL, &e), 0);
    assert_int_equal(n, 4);
    assert_int_equal(q1("SELECT n FROM poll_counter WHERE result = 'ok'"), 2);
    struct store_poll_outcome o = {.result = STORE_POLL_OK};
    assert_int_equal(store_poll_finish(s, pid, sid, &o, &st, &e), 0);
    assert_int_equal(q1("SELECT n FROM poll_counter WHERE result = 'ok'"), 3);
    store_close(s);
}

static int64_t ovr_add(struct bk_store *s, const char *sql)
{
    struct bk_err e = {0};
    int64_t id = 0;
    assert_int_equal(store_exec(s, sql, NULL, 0, NULL, &id, &e), 0);
    return id;
}

static void test_override_flags_follow_rules(void **state)
{
    (void)state;
    struct bk_store *s;
    struct bk_err e = {0};
    assert_int_equal(store_open(g_cfg, &s, &e), 0);
    int64_t sid;
    assert_int_equal(store_source_sync(s, &g_src, &sid, &e), 0);
    struct bk_batch b = {0};
    struct store_apply_stats st;
    struct store_override_changes ch;
    add_at(&b, "x", "1", 1700000000000LL, BK_RUN_FAILED, "disk full", NULL, 0);
    add_at(&b, "y", "1", 1700000000000LL, BK_RUN_FAILED, "network down", NULL, 0);
    poll(s, sid, &b, STORE_POLL_OK, &st);
    bk_batch_free(&b);
    /* A rule without a condition is refused by the API; with one it matches what it says. */
    struct store_override none = {0}, some = {.match_text = "disk"};
    assert_false(store_override_has_condition(&none));
    assert_true(store_override_has_condition(&some));
    struct store_override window = {.valid_from = 1}, closed = {.valid_from = 1, .valid_until = 2};
    assert_false(store_override_has_condition(&window));
    assert_true(store_override_has_condition(&closed));
    int64_t id = ovr_add(s, "INSERT INTO override (match_kind, match_text, created_at)"
                            " VALUES ('contains', 'DISK', 1)");
    assert_int_equal(store_overrides_apply_all(s, "test", &ch, &e), 0);
    assert_int_equal(ch.set, 1);
    assert_int_equal(ch.cleared, 0);
    assert_int_equal(q1("SELECT SUM(override) FROM job_run"), 1);
    assert_int_equal(q1("SELECT COUNT(*) FROM audit WHERE action = 'run.override'"), 1);
    /* Nothing changed: no new audit row. */
    assert_int_equal(store_overrides_apply_all(s, "test", &ch, &e), 0);
    assert_int_equal(ch.set + ch.cleared, 0);
    assert_int_equal(q1("SELECT COUNT(*) FROM audit WHERE action = 'run.override'"), 1);
    /* The run changes so the rule no longer matches: the flag is cleared by the next poll. */
    add_at(&b, "x", "1", 1700000000000LL, BK_RUN_FAILED, "tape jammed", NULL, 0);
    add_at(&b, "y", "1", 1700000000000LL, BK_RUN_FAILED, "network down", NULL, 0);
    poll(s, sid, &b, STORE_POLL_OK, &st);
    bk_batch_free(&b);
    assert_int_equal(store_overrides_apply_all(s, "source:cove-test", &ch, &e), 0);
    assert_int_equal(ch.cleared, 1);
    assert_int_equal(q1("SELECT SUM(override) FROM job_run"), 0);
    assert_text("SELECT after_json FROM audit WHERE action = 'run.override' ORDER BY id DESC",
                "{\"cleared\":1,\"rules\":1,\"runs_cleared\":[1],\"runs_set\":[],\"set\":0}");
    /* A second rule matches both; deleting it clears them again. A reviewed run keeps its
     * flag. */
    int64_t id2 = ovr_add(s, "INSERT INTO override (match_status, created_at)"
                             " VALUES ('failed', 1)");
    assert_int_equal(store_overrides_apply_all(s, "test", &ch, &e), 0);
    assert_int_equal(ch.set, 2);
    assert_int_equal(q1("UPDATE job_run SET reviewed_at = 1 WHERE id = 2 RETURNING 1"), 1);
    assert_int_equal(store_exec(s, "DELETE FROM override", NULL, 0, NULL, NULL, &e), 0);
    assert_int_equal(store_overrides_apply_all(s, "test", &ch, &e), 0);
    assert_int_equal(ch.cleared, 1);
    assert_int_equal(q1("SELECT override FROM job_run WHERE id = 1"), 0);
    assert_int_equal(q1("SELECT override FROM job_run WHERE id = 2"), 1);
    (void)id;
    (void)id2;
    store_close(s);
}

/* An error from the database names its file: a 500 or a log line must say which file failed. */
static void test_errors_name_the_file(void **state)
{
    (void)state;
    struct bk_store *s;
    struct bk_err e = {0};
    assert_int_equal(store_open(g_cfg, &s, &e), 0);
    assert_true(store_exec(s, "UPDATE no_such_table SET x = 1", NULL, 0, NULL, NULL, &e) < 0);
    /* SQLite: the file; PostgreSQL: the database (its name is the test directory's) */
    assert_non_null(strstr(e.msg, g_cfg->db_path ? g_cfg->db_path : strrchr(g_dir, '/') + 1));
    assert_non_null(strstr(e.msg, "no_such_table"));
    store_close(s);
}

struct opener {
    int rc;
    char msg[512];
};

static void *open_one(void *ud)
{
    struct opener *o = ud;
    struct bk_store *s = NULL;
    struct bk_err e = {0};
    o->rc = store_open(g_cfg, &s, &e);
    snprintf(o->msg, sizeof o->msg, "%s", e.msg);
    store_close(s);
    return NULL;
}

/* Instances starting together on a fresh database: every one opens it, the migrations run
 * once (PostgreSQL: under an advisory lock). SQLite is one writer process per file and its
 * migrate() reads the version before taking the write lock, so two first opens at once can
 * both run migration 1 ("table source already exists"): there the file is created first,
 * and the handles that open together find it migrated. */
static void test_concurrent_first_open(void **state)
{
    (void)state;
    enum { N = 4 };
    pthread_t t[N];
    struct opener o[N];
    if (!testdb_is_pg()) {
        open_one(&o[0]);
        assert_int_equal(o[0].rc, 0);
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(pthread_create(&t[i], NULL, open_one, &o[i]), 0);
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        if (o[i].rc != 0)
            fail_msg("open %d: %s", i, o[i].msg);
    }
    /* each version once */
    assert_int_equal(q1("SELECT COUNT(*) FROM schema_migrations"),
                     q1("SELECT MAX(version) FROM schema_migrations"));
}

static int int_row(const struct store_row *r, void *ud)
{
    *(int64_t *)ud = store_row_int(r, 0);
    return 0;
}

/* A server that drops the connection (a restart, an idle cut; here pg_terminate_backend)
 * costs no statement outside a transaction: the handle reconnects and runs it. In a
 * transaction the statement fails and nothing of the transaction is applied. SQLite has no
 * connection to lose: there the same calls simply succeed. */
static void test_reconnect(void **state)
{
    (void)state;
    struct bk_store *s;
    struct bk_err e = {0};
    assert_int_equal(store_open(g_cfg, &s, &e), 0);
    int64_t sid, pid = 0, n = -1;
    assert_int_equal(store_source_sync(s, &g_src, &sid, &e), 0);
    char kill[128];
    if (testdb_is_pg()) {
        assert_int_equal(store_query(s, "SELECT pg_backend_pid()", NULL, 0, int_row, &pid, &e), 0);
        snprintf(kill, sizeof kill, "SELECT pg_terminate_backend(%lld)", (long long)pid);
        assert_int_equal(testdb_q1(g_cfg, kill), 1);
    }
    assert_int_equal(store_query(s, "SELECT COUNT(*) FROM source", NULL, 0, int_row, &n, &e), 0);
    assert_int_equal(n, 1);
    /* in a transaction: the insert before the cut is gone, the statement after fails */
    assert_int_equal(store_begin(s, &e), 0);
    assert_int_equal(store_exec(s, "INSERT INTO audit (at, who, action) VALUES (1, 'test', 'x')",
                                NULL, 0, NULL, NULL, &e),
                     0);
    if (testdb_is_pg()) {
        assert_int_equal(store_query(s, "SELECT pg_backend_pid()", NULL, 0, int_row, &pid, &e), 0);
        snprintf(kill, sizeof kill, "SELECT pg_terminate_backend(%lld)", (long long)pid);
        assert_int_equal(testdb_q1(g_cfg, kill), 1);
        assert_true(store_exec(s, "INSERT INTO audit (at, who, action) VALUES (2, 'test', 'y')",
                               NULL, 0, NULL, NULL, &e) < 0);
        store_rollback(s);
        assert_int_equal(q1("SELECT COUNT(*) FROM audit"), 0);
    } else {
        store_rollback(s);
        assert_int_equal(q1("SELECT COUNT(*) FROM audit"), 0);
    }
    /* and the handle works again after the rollback */
    assert_int_equal(store_query(s, "SELECT COUNT(*) FROM source", NULL, 0, int_row, &n, &e), 0);
    assert_int_equal(n, 1);
    store_close(s);
}

static int text_row(const struct store_row *r, void *ud)
{
    snprintf(ud, 32, "%s", store_row_text(r, 0) ? store_row_text(r, 0) : "");
    return 0;
}

/* [database] statement_timeout reaches every session (PostgreSQL; SQLite has no statement
 * timeout, its busy timeout is its own). */
static void test_statement_timeout(void **state)
{
    (void)state;
    char *sec = testdb_section(g_dir);
    char *text = xasprintf("%sstatement_timeout = 7s\n", sec);
    free(sec);
    struct bk_config *cfg = NULL;
    struct bk_err e = {0};
    assert_int_equal(config_parse_string(text, "t.conf", g_dir, &cfg, &e), 0);
    free(text);
    assert_int_equal(cfg->db_statement_timeout_ms, 7000);
    struct bk_store *s;
    assert_int_equal(store_open(cfg, &s, &e), 0);
    if (testdb_is_pg()) {
        char v[32] = "";
        assert_int_equal(store_query(s, "SHOW statement_timeout", NULL, 0, text_row, v, &e), 0);
        assert_string_equal(v, "7s");
        assert_int_equal(store_engine(s), STORE_ENGINE_POSTGRESQL);
    } else {
        assert_int_equal(store_engine(s), STORE_ENGINE_SQLITE);
    }
    store_close(s);
    config_free(cfg);
}

static long long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

/* Commits of 200 KB each through a store, n of them. */
static void write_blobs(struct bk_store *s, int n)
{
    struct bk_err e = {0};
    assert_int_equal(
        store_exec(s, "CREATE TABLE IF NOT EXISTS scratch (b BLOB)", NULL, 0, NULL, NULL, &e), 0);
    for (int i = 0; i < n; i++)
        assert_int_equal(store_exec(s, "INSERT INTO scratch (b) VALUES (randomblob(200000))", NULL,
                                    0, NULL, NULL, &e),
                         0);
}

/* serve's checkpoints run on a thread of their own (sqlite_wal.h): what the stores opened
 * after store_background_start write reaches the database file without any of them
 * checkpointing, and after store_background_stop the stores opened later checkpoint inside
 * their commits again, as SQLite does by default (the CLI). Wrote 8 MB (2,000 pages, twice
 * the checkpoint threshold) each time. PostgreSQL has no WAL of ours to copy: a no-op. */
static void test_background_checkpoints(void **state)
{
    (void)state;
    struct bk_store *s1, *s2, *s3;
    struct bk_err e = {0};
    assert_int_equal(store_open(g_cfg, &s1, &e), 0);
    assert_int_equal(store_background_start(s1, &e), 0);
    if (testdb_is_pg()) {
        store_background_stop(s1);
        store_close(s1);
        return;
    }
    assert_int_equal(store_open(g_cfg, &s2, &e), 0);
    long long before = file_size(g_cfg->db_path);
    write_blobs(s2, 40);
    /* the thread copies the WAL into the file within its second; waited for, up to 20 s */
    long long size = 0;
    for (int i = 0; i < 2000 && (size = file_size(g_cfg->db_path)) < before + 8000000; i++)
        nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
    if (size < before + 8000000)
        fail_msg("the background checkpointer copied nothing: %lld bytes, %lld before", size,
                 before);
    store_background_stop(s1);
    store_close(s2);
    store_close(s1);

    assert_int_equal(store_open(g_cfg, &s3, &e), 0);
    before = file_size(g_cfg->db_path);
    write_blobs(s3, 40);
    /* checkpointed inside the commits: at most one threshold (1,000 pages) still in the WAL */
    size = file_size(g_cfg->db_path);
    if (size < before + 8000000 - 4200000)
        fail_msg("no automatic checkpoint after the background one stopped: %lld bytes, %lld "
                 "before",
                 size, before);
    store_close(s3);
}

/* store_begin_batch (PostgreSQL pipelines the writes that return nothing): 1,000 writes,
 * past several syncs, all applied; a query in the transaction sees the writes sent before
 * it; a write that fails in the middle is reported (by itself or a later call, at the
 * latest the commit) and none of the batch applies, not even the writes before it. */
static void test_batch_writes(void **state)
{
    (void)state;
    struct bk_store *s;
    struct bk_err e = {0};
    assert_int_equal(store_open(g_cfg, &s, &e), 0);
    assert_int_equal(store_exec(s, "CREATE TABLE batch_t (k BIGINT PRIMARY KEY, v TEXT NOT NULL)",
                                NULL, 0, NULL, NULL, &e),
                     0);
    assert_int_equal(store_begin_batch(s, &e), 0);
    for (int64_t i = 1; i <= 1000; i++) {
        struct store_param p[] = {SP_INT(i), SP_TEXT("x")};
        assert_int_equal(
            store_exec(s, "INSERT INTO batch_t (k, v) VALUES (?1, ?2)", p, 2, NULL, NULL, &e), 0);
    }
    int64_t n = 0;
    assert_int_equal(store_query(s, "SELECT COUNT(*) FROM batch_t", NULL, 0, int_row, &n, &e), 0);
    assert_int_equal(n, 1000);
    struct store_param p1[] = {SP_INT(1001), SP_TEXT("y")};
    assert_int_equal(
        store_exec(s, "INSERT INTO batch_t (k, v) VALUES (?1, ?2)", p1, 2, NULL, NULL, &e), 0);
    assert_int_equal(store_commit(s, &e), 0);
    n = 0;
    assert_int_equal(store_query(s, "SELECT COUNT(*) FROM batch_t", NULL, 0, int_row, &n, &e), 0);
    assert_int_equal(n, 1001);

    /* a duplicate key in the middle of the batch */
    assert_int_equal(store_begin_batch(s, &e), 0);
    int failed = 0;
    for (int64_t i = 2000; i < 2600 && !failed; i++) {
        struct store_param p[] = {SP_INT(i == 2300 ? 5 : i), SP_TEXT("z")};
        failed = store_exec(s, "INSERT INTO batch_t (k, v) VALUES (?1, ?2)", p, 2, NULL, NULL, &e);
    }
    if (!failed)
        failed = store_commit(s, &e);
    assert_true(failed < 0);
    assert_non_null(strstr(e.msg, "conflict"));
    store_rollback(s);
    n = 0;
    assert_int_equal(store_query(s, "SELECT COUNT(*) FROM batch_t", NULL, 0, int_row, &n, &e), 0);
    assert_int_equal(n, 1001);
    /* the handle works after it */
    assert_int_equal(store_begin_batch(s, &e), 0);
    struct store_param p2[] = {SP_INT(3000), SP_TEXT("w")};
    assert_int_equal(
        store_exec(s, "INSERT INTO batch_t (k, v) VALUES (?1, ?2)", p2, 2, NULL, NULL, &e), 0);
    assert_int_equal(store_commit(s, &e), 0);
    assert_int_equal(store_query(s, "SELECT COUNT(*) FROM batch_t", NULL, 0, int_row, &n, &e), 0);
    assert_int_equal(n, 1002);
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_superseded_status),
        cmocka_unit_test_setup_teardown(test_exactly_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_superseded_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_never_returns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_poll_counter_rises, setup, teardown),
        cmocka_unit_test_setup_teardown(test_override_flags_follow_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_name_the_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_first_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconnect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_statement_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_background_checkpoints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_writes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
