/* The store modules above the backend (push, trigger, mail, lists, overrides, retention) on
 * both engines (issue 11): each test runs on SQLite (unit.store_modules) and on the test
 * PostgreSQL server (unit.store_modules.pg), with the same assertions — the SQL of the
 * modules means the same on both. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config/config.h"
#include "store/alerts.h"
#include "store/audit.h"
#include "store/copy.h"
#include "store/instances.h"
#include "store/lists.h"
#include "store/mail.h"
#include "store/overrides.h"
#include "store/page.h"
#include "store/push.h"
#include "store/remarks.h"
#include "store/sources.h"
#include "store/store.h"
#include "store/trigger.h"
#include "util/err.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include "testdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DAY 86400000LL

static char g_dir[64];
static struct bk_config *g_cfg;
static struct bk_store *g_s;
static int64_t g_src;

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/bk-mod-XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    char *sec = testdb_section(g_dir);
    char *text = xasprintf("%s[server]\ntimezone = UTC\n", sec);
    struct bk_err e = {0};
    int rc = config_parse_string(text, "t.conf", g_dir, &g_cfg, &e);
    free(text);
    free(sec);
    if (rc < 0 || store_open(g_cfg, &g_s, &e) < 0) {
        fprintf(stderr, "setup: %s\n", e.msg);
        return -1;
    }
    struct bk_source_cfg src = {.name = (char *)"src-test",
                                .type = BK_SOURCE_HYCU,
                                .url = (char *)"https://example/",
                                .interval_ms = 60000,
                                .enabled = true};
    return store_source_sync(g_s, &src, &g_src, &e);
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

/* A call that must succeed; on failure the error says why. */
#define OK(call)                                                                                   \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ != 0)                                                                              \
            fail_msg("%s: %d %s", #call, rc_, e.msg);                                              \
    } while (0)

static int64_t q1(const char *sql)
{
    return testdb_q1(g_cfg, sql);
}

static void test_push_pings(void **state)
{
    (void)state;
    struct bk_err e = {0};
    int64_t job = 0;
    char uuid[STORE_PUSH_UUID_LEN + 1];
    const int64_t t0 = 20000 * DAY;
    OK(store_push_job_add(g_s, g_src, "Acme", "nightly", NULL, "admin", t0, &job, uuid, &e));
    assert_true(job > 0);
    assert_true(store_push_uuid_valid(uuid));
    /* the same name again for the customer is refused, and leaves nothing behind */
    int64_t job2 = 0;
    char uuid2[STORE_PUSH_UUID_LEN + 1];
    assert_int_equal(
        store_push_job_add(g_s, g_src, "Acme", "nightly", NULL, "admin", t0, &job2, uuid2, &e),
        -BK_EINVAL);
    assert_int_equal(q1("SELECT COUNT(*) FROM job"), 1);
    char got[STORE_PUSH_UUID_LEN + 1];
    OK(store_push_job_uuid(g_s, job, got, &e));
    assert_string_equal(got, uuid);

    struct store_ping p = {.uuid = uuid, .kind = STORE_PING_START, .now_ms = t0 + 1000};
    struct store_ping_result r;
    OK(store_push_ping(g_s, &p, &r, &e));
    assert_true(r.found);
    assert_int_equal(q1("SELECT COUNT(*) FROM job_run WHERE status = 'running'"), 1);
    p.kind = STORE_PING_SUCCESS;
    p.now_ms = t0 + 61000;
    p.body = "all good\n";
    p.body_len = strlen(p.body);
    OK(store_push_ping(g_s, &p, &r, &e));
    assert_int_equal(r.duration_ms, 60000);
    assert_int_equal(q1("SELECT COUNT(*) FROM job_run"), 1);
    assert_int_equal(q1("SELECT COUNT(*) FROM job_run WHERE status = 'success'"), 1);
    /* a failure with a run id, then the same ping again: one run, a duplicate */
    struct store_ping f = {
        .uuid = uuid, .kind = STORE_PING_EXIT, .exit_status = 3, .rid = "r-1", .now_ms = t0 + DAY};
    OK(store_push_ping(g_s, &f, &r, &e));
    assert_false(r.duplicate);
    f.now_ms += 5000;
    OK(store_push_ping(g_s, &f, &r, &e));
    assert_true(r.duplicate);
    assert_int_equal(q1("SELECT COUNT(*) FROM job_run WHERE status = 'failed'"), 1);
    assert_int_equal(q1("SELECT COUNT(*) FROM job_run"), 2);
    assert_int_equal(q1("SELECT last_ping_at FROM push_check"), t0 + DAY + 5000);
    /* an unknown uuid is not found, and no error */
    struct store_ping u = {.uuid = "00000000-0000-4000-8000-000000000000", .now_ms = t0};
    OK(store_push_ping(g_s, &u, &r, &e));
    assert_false(r.found);
}

static void test_trigger_record(void **state)
{
    (void)state;
    struct bk_err e = {0};
    const int64_t t0 = 20000 * DAY;
    struct store_trigger_job job = {.external_id = "ent-1", .name = "vm-1", .kind = "vm"};
    const char *ids[] = {"ent-1"};
    struct store_trigger_run run = {.job_external_ids = ids,
                                    .n_ids = 1,
                                    .vendor_run_id = "hj-1",
                                    .start_ms = t0,
                                    .status = BK_RUN_RUNNING,
                                    .raw_status = "EXECUTING"};
    struct store_trigger_result out = {0};
    OK(store_trigger_record(g_s, g_src, "Acme", &job, &run, 1, t0 + 10, &out, &e));
    assert_int_equal(out.written, 1);
    /* the same again changes nothing */
    memset(&out, 0, sizeof out);
    OK(store_trigger_record(g_s, g_src, "Acme", &job, &run, 1, t0 + 20, &out, &e));
    assert_int_equal(out.written, 0);
    /* the end: the run is updated in place, start kept when the end report has none */
    run.status = BK_RUN_SUCCESS;
    run.raw_status = "OK";
    run.start_ms = 0;
    run.end_ms = t0 + 3600000;
    memset(&out, 0, sizeof out);
    OK(store_trigger_record(g_s, g_src, "Acme", &job, &run, 1, t0 + 30, &out, &e));
    assert_int_equal(out.written, 1);
    assert_int_equal(q1("SELECT COUNT(*) FROM job_run"), 1);
    assert_int_equal(q1("SELECT start_at FROM job_run"), t0);
    assert_int_equal(q1("SELECT end_at FROM job_run"), t0 + 3600000);
    /* a reviewed run is left alone */
    int64_t n = 0;
    OK(store_review_job(g_s, "src-test", "ent-1", "admin", &n, &e));
    assert_int_equal(n, 1);
    run.status = BK_RUN_FAILED;
    run.raw_status = "FAILED";
    memset(&out, 0, sizeof out);
    OK(store_trigger_record(g_s, g_src, "Acme", &job, &run, 1, t0 + 40, &out, &e));
    assert_int_equal(out.written, 0);
    assert_int_equal(q1("SELECT COUNT(*) FROM job_run WHERE status = 'success'"), 1);
}

static void mail_in(struct store_mail_in *m, const char *msgid, const char *kind,
                    const char *status, int64_t t)
{
    static const char RAW[] = "From: a@b\r\nSubject: x\r\n\r\nbody\r\n";
    *m = (struct store_mail_in){.source_id = g_src,
                                .customer = "Acme",
                                .message_id = msgid,
                                .sender = "backup@acme.example",
                                .subject = "Backup job srv-01: Success",
                                .sent_at_ms = t,
                                .received_at_ms = t + 1000,
                                .raw = RAW,
                                .raw_len = sizeof RAW - 1,
                                .kind = kind,
                                .product = "veeam",
                                .rule_key = "backup job srv-01: *",
                                .job_name = "srv-01",
                                .job_kind = "server",
                                .vendor_run_id = msgid,
                                .start_ms = t - 3600000,
                                .end_ms = t,
                                .status = status,
                                .raw_status = status};
}

static int mail_row(const struct store_mail_row *m, void *ud)
{
    (*(int *)ud)++;
    assert_non_null(m->subject);
    return 0;
}

static void test_mail_ingest_and_inbox(void **state)
{
    (void)state;
    struct bk_err e = {0};
    const int64_t t0 = 20000 * DAY;
    struct store_mail_in m;
    struct store_mail_out out;
    mail_in(&m, "<m1@acme>", "run", "success", t0);
    OK(store_mail_ingest(g_s, &m, &out, &e));
    assert_false(out.duplicate);
    assert_true(out.run_new);
    assert_string_equal(out.state, "run");
    /* the same Message-ID again: nothing changes */
    OK(store_mail_ingest(g_s, &m, &out, &e));
    assert_true(out.duplicate);
    assert_int_equal(q1("SELECT COUNT(*) FROM mail_message"), 1);
    assert_int_equal(q1("SELECT COUNT(*) FROM job_run WHERE source_type = 'email'"), 1);
    /* an unknown mail waits in the Inbox, then an operator makes it a run of the job */
    mail_in(&m, "<m2@acme>", "unknown", "unknown", t0 + DAY);
    m.job_name = NULL;
    m.subject = "Something odd";
    m.rule_key = "something odd";
    OK(store_mail_ingest(g_s, &m, &out, &e));
    assert_string_equal(out.state, "inbox");
    int64_t inbox = out.mail_id;
    int seen = 0;
    int64_t total = 0;
    OK(store_mail_list(g_s, "inbox", NULL, 0, 10, 0, mail_row, &seen, &total, &e));
    assert_int_equal(seen, 1);
    assert_int_equal(total, 1);
    int64_t job = q1("SELECT id FROM job WHERE name = 'srv-01'"), run = 0;
    OK(store_mail_assign(g_s, inbox, job, "admin", t0 + DAY + 5, &run, &e));
    assert_true(run > 0);
    assert_int_equal(q1("SELECT COUNT(*) FROM mail_rule"), 1);
    /* the next such mail of that sender becomes a run by the rule, without the Inbox */
    mail_in(&m, "<m3@acme>", "unknown", "unknown", t0 + 2 * DAY);
    m.job_name = NULL;
    m.subject = "Something odd";
    m.rule_key = "something odd";
    OK(store_mail_ingest(g_s, &m, &out, &e));
    assert_true(out.via_rule);
    char src[256];
    OK(store_mail_source(g_s, inbox, src, &e));
    assert_string_equal(src, "src-test");
    char *raw = NULL;
    size_t len = 0;
    OK(store_mail_raw(g_s, inbox, &raw, &len, &e));
    assert_non_null(strstr(raw, "body"));
    free(raw);
    /* a new job from an Inbox mail */
    mail_in(&m, "<m4@acme>", "unknown", "unknown", t0 + 3 * DAY);
    m.job_name = NULL;
    m.sender = "other@acme.example";
    m.subject = "Different";
    m.rule_key = "different";
    OK(store_mail_ingest(g_s, &m, &out, &e));
    assert_string_equal(out.state, "inbox");
    int64_t nj = 0;
    OK(store_mail_assign_new(g_s, out.mail_id, "Acme", "nas-01", "admin", t0 + 3 * DAY + 5, &nj,
                             &run, &e));
    assert_true(nj > job);
    assert_int_equal(q1("SELECT COUNT(*) FROM job WHERE kind = 'email' AND name = 'nas-01'"), 1);
}

static int obj_cb(int64_t run, const char *name, const char *status, const char *raw,
                  const char *msg, void *ud)
{
    (void)run;
    (void)raw;
    (void)msg;
    (void)status;
    assert_string_equal(name, "disk-c");
    (*(int *)ud) += 1;
    return 0;
}

static int remark_cb(int64_t run, int64_t count, void *ud)
{
    (void)run;
    (*(int *)ud) += (int)(100 * count);
    return 0;
}

static void test_lists_and_retention(void **state)
{
    (void)state;
    struct bk_err e = {0};
    const int64_t now = 20010 * DAY + 12 * 3600000LL;
    struct bk_batch b = {0};
    struct bk_job_rec j = {.external_id = xstrdup("d1"),
                           .name = xstrdup("srv"),
                           .kind = xstrdup("server"),
                           .customer_ext_id = xstrdup("c1"),
                           .customer_name = xstrdup("Acme")};
    bk_batch_add_job(&b, &j);
    const char *st[] = {"success", "failed"};
    for (int i = 0; i < 2; i++) {
        struct bk_run_rec r = {.job_external_id = xstrdup("d1"),
                               .vendor_run_id = xasprintf("r%d", i),
                               .start_ms = now - (2 - i) * DAY,
                               .end_ms = now - (2 - i) * DAY + 3600000,
                               .status = i ? BK_RUN_FAILED : BK_RUN_SUCCESS,
                               .raw_status = xstrdup(st[i]),
                               .error_count = i};
        struct bk_obj_rec o = {
            .name = xstrdup("disk-c"), .status = r.status, .raw_status = xstrdup(st[i])};
        bk_run_add_object(&r, &o);
        bk_batch_add_run(&b, &r);
    }
    int64_t pid;
    struct store_apply_stats as;
    struct store_poll_outcome o = {.result = STORE_POLL_OK, .pages = 1, .devices = 1};
    OK(store_poll_begin(g_s, g_src, "t", &pid, &e));
    OK(store_poll_stage(g_s, pid, &b, &e));
    OK(store_poll_finish(g_s, pid, g_src, &o, &as, &e));
    bk_batch_free(&b);
    assert_int_equal(as.runs_new, 2);
    int64_t job = q1("SELECT id FROM job");
    char hist[1][STORE_HISTORY_DAYS + 1];
    OK(store_lists_history(g_s, &job, 1, now, hist, &e));
    assert_int_equal((int)strlen(hist[0]), STORE_HISTORY_DAYS);
    /* the last two days before today: a success, then a failure */
    assert_int_equal(hist[0][STORE_HISTORY_DAYS - 3], store_lists_letter("success"));
    assert_int_equal(hist[0][STORE_HISTORY_DAYS - 2], store_lists_letter("failed"));
    int64_t runs[2] = {q1("SELECT id FROM job_run WHERE vendor_run_id = 'r0'"),
                       q1("SELECT id FROM job_run WHERE vendor_run_id = 'r1'")};
    testdb_exec(g_cfg, "INSERT INTO remark (body, created_by, created_at) VALUES ('x', 'a', 1)");
    char sql[200];
    snprintf(sql, sizeof sql,
             "INSERT INTO remark_run (remark_id, run_id) SELECT id, %lld FROM remark",
             (long long)runs[1]);
    testdb_exec(g_cfg, sql);
    int n = 0;
    OK(store_lists_run_extras(g_s, runs, 2, obj_cb, remark_cb, &n, &e));
    assert_int_equal(n, 2 + 100);
    /* an override rule of failed runs marks r1 */
    testdb_exec(g_cfg, "INSERT INTO override (match_status, created_at) VALUES ('failed', 1)");
    struct store_override_changes ch = {0};
    OK(store_overrides_apply_all(g_s, "test", &ch, &e));
    assert_int_equal(ch.set, 1);
    /* retention: only reviewed runs go, and a pruned run never comes back */
    int64_t pruned = 0;
    OK(store_prune_runs(g_s, now, &pruned, &e));
    assert_int_equal(pruned, 0);
    int64_t rev = 0;
    OK(store_review_job(g_s, "src-test", "d1", "admin", &rev, &e));
    assert_int_equal(rev, 2);
    OK(store_prune_runs(g_s, now, &pruned, &e));
    assert_int_equal(pruned, 2);
    assert_int_equal(q1("SELECT COUNT(*) FROM run_tombstone"), 2);
    assert_int_equal(q1("SELECT COUNT(*) FROM job_object"), 0);
    assert_int_equal(q1("SELECT COUNT(*) FROM remark_run"), 0);
    int64_t polls = 0, audits = 0;
    OK(store_prune_polls(g_s, bk_now_ms() + 1, &polls, &e));
    assert_int_equal(polls, 1);
    OK(store_prune_audit(g_s, bk_now_ms() + 1, &audits, &e));
    assert_int_equal(store_customer_known(g_s, "Acme", &e), 1);
    OK(store_customer_known(g_s, "Nobody", &e));
    OK(store_source_set_paused(g_s, "src-test", true, &e));
    assert_int_equal(q1("SELECT paused FROM source"), 1);
}

static struct bk_config *sqlite_cfg(const char *file)
{
    char *text = xasprintf("[database]\nurl = sqlite://%s/%s\n", g_dir, file);
    struct bk_config *c = NULL;
    struct bk_err e = {0};
    assert_int_equal(config_parse_string(text, "c.conf", g_dir, &c, &e), 0);
    free(text);
    return c;
}

static int count_tables(const struct store_copy_table *t, void *ud)
{
    assert_int_equal(t->source_rows, t->target_rows);
    (*(int *)ud)++;
    return 0;
}

/* The rows that matter, in one string: the same on every store of one installation. */
static char *dump(const struct bk_config *cfg)
{
    return testdb_qtext(cfg, "SELECT COUNT(*) || ':' || SUM(r.id) || ':' || SUM(r.job_id)"
                             " || ':' || SUM(COALESCE(r.start_at, 0)) || ':'"
                             " || MAX(r.status) || ':' || MIN(r.vendor_run_id) || ':'"
                             " || SUM(r.override) || ':' || COALESCE(MAX(r.reviewed_by), '-')"
                             " FROM job_run r");
}

/* db copy (issue 11): the installation of this engine into SQLite and back (on the .pg run:
 * PostgreSQL -> SQLite -> a new PostgreSQL database), every table's count the same, a
 * non-empty target refused without force, ids kept and identities continuing after them. */
static void test_copy_round_trip(void **state)
{
    test_lists_and_retention(state); /* runs, objects, tombstones, overrides, audit … */
    test_mail_ingest_and_inbox(state);
    struct bk_err e = {0};
    int64_t job = 0;
    char uuid[STORE_PUSH_UUID_LEN + 1];
    OK(store_push_job_add(g_s, g_src, "Acme", "nightly", NULL, "admin", 20000 * DAY, &job, uuid,
                          &e));
    char *want = dump(g_cfg);

    struct bk_config *mid = sqlite_cfg("mid.db");
    struct bk_store *sm = NULL;
    OK(store_open(mid, &sm, &e));
    int n = 0;
    OK(store_copy(g_s, sm, false, count_tables, &n, &e));
    assert_int_equal(n, 32); /* every table of the migrations */
    assert_int_equal(store_copy(g_s, sm, false, NULL, NULL, &e), -BK_EINVAL);
    assert_non_null(strstr(e.msg, "--force"));
    OK(store_copy(g_s, sm, true, NULL, NULL, &e)); /* emptied, then copied again */
    char *got = dump(mid);
    assert_string_equal(got, want);
    free(got);

    /* back into a new store of this test's engine */
    char dir2[80];
    snprintf(dir2, sizeof dir2, "%s-2", g_dir);
    struct bk_config *back = NULL;
    if (testdb_is_pg()) {
        char *sec = testdb_section(dir2);
        assert_int_equal(config_parse_string(sec, "b.conf", g_dir, &back, &e), 0);
        free(sec);
    } else {
        back = sqlite_cfg("back.db");
    }
    struct bk_store *sb = NULL;
    OK(store_open(back, &sb, &e));
    OK(store_copy(sm, sb, false, NULL, NULL, &e));
    got = dump(back);
    assert_string_equal(got, want);
    free(got);
    assert_int_equal(testdb_q1(back, "SELECT COUNT(*) FROM mail_message"),
                     q1("SELECT COUNT(*) FROM mail_message"));
    assert_int_equal(testdb_q1(back, "SELECT MAX(id) FROM job"), q1("SELECT MAX(id) FROM job"));
    /* a new row after the copy takes the next id, no conflict with a copied one */
    int64_t jmax = q1("SELECT MAX(id) FROM job");
    struct bk_source_cfg src = {.name = (char *)"src-test",
                                .type = BK_SOURCE_HYCU,
                                .url = (char *)"https://example/",
                                .interval_ms = 60000,
                                .enabled = true};
    int64_t sid = 0;
    OK(store_source_sync(sb, &src, &sid, &e));
    assert_int_equal(sid, g_src);
    OK(store_push_job_add(sb, sid, "Acme", "after-copy", NULL, "admin", 20001 * DAY, &job, uuid,
                          &e));
    assert_true(job > jmax);
    store_close(sb);
    store_close(sm);
    config_free(mid);
    config_free(back);
    if (testdb_is_pg())
        testdb_drop(dir2);
    char p[128];
    const char *files[] = {"mid.db",  "mid.db-wal",  "mid.db-shm",
                           "back.db", "back.db-wal", "back.db-shm"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", g_dir, files[i]);
        unlink(p);
    }
    free(want);
}

static int text_cb(const struct store_row *r, void *ud)
{
    snprintf(ud, 64, "%s", store_row_text(r, 0) ? store_row_text(r, 0) : "");
    return 0;
}

/* Leases (issue 11): two instances on two handles; the second cannot take a held lease until
 * it expires; a renewal keeps it; a release or a stop frees it at once; "poll now" requests go
 * to the holder once. */
static int count_name(const char *source, void *ud)
{
    (void)source;
    (*(int *)ud)++;
    return 0;
}

static void count_req(const char *source, const char *who, void *ud)
{
    assert_string_equal(source, "src-test");
    assert_string_equal(who, "alice");
    (*(int *)ud)++;
}

static int lease_owner(const struct instances_lease_row *r, void *ud)
{
    snprintf(ud, 64, "%s%s", r->owner, r->valid ? "" : " (expired)");
    return 0;
}

static void test_leases(void **state)
{
    (void)state;
    struct bk_err e = {0};
    struct bk_store *b = NULL;
    OK(store_open(g_cfg, &b, &e));
    struct instances_self a_me = {
        .id = "a:1", .host = "a", .pid = 1, .version = "t", .ttl_ms = 60000};
    struct instances_self b_me = {
        .id = "b:2", .host = "b", .pid = 2, .version = "t", .ttl_ms = 60000};
    OK(instances_heartbeat(g_s, &a_me, &e));
    OK(instances_heartbeat(b, &b_me, &e));
    int64_t live = 0;
    OK(instances_live_count(g_s, &live, &e));
    assert_int_equal(live, 2);

    bool won = false;
    OK(instances_lease_acquire(g_s, "src-test", "a:1", 60000, false, &won, &e));
    assert_true(won);
    OK(instances_lease_acquire(b, "src-test", "b:2", 60000, false, &won, &e));
    assert_false(won); /* held by a */
    OK(instances_lease_acquire(g_s, "src-test", "a:1", 60000, false, &won, &e));
    assert_true(won); /* a keeps its own */
    OK(instances_lease_acquire(b, "no-such-source", "b:2", 60000, false, &won, &e));
    assert_false(won);
    int held = 0;
    OK(instances_lease_renew(g_s, "a:1", 60000, count_name, &held, &e));
    assert_int_equal(held, 1);
    held = 0;
    OK(instances_lease_renew(b, "b:2", 60000, count_name, &held, &e));
    assert_int_equal(held, 0);

    /* "poll now" through b reaches a, once */
    OK(instances_poll_request(b, "src-test", "alice", &e));
    assert_int_equal(instances_poll_request(b, "nope", "alice", &e), -BK_ENOTFOUND);
    int reqs = 0;
    OK(instances_poll_requests_take(b, "b:2", count_req, &reqs, &e));
    assert_int_equal(reqs, 0);
    OK(instances_poll_requests_take(g_s, "a:1", count_req, &reqs, &e));
    assert_int_equal(reqs, 1);
    OK(instances_poll_requests_take(g_s, "a:1", count_req, &reqs, &e));
    assert_int_equal(reqs, 1);

    /* a's lease runs out (a renewal of -1 ms: expired now): b takes it, a has lost it */
    held = 0;
    OK(instances_lease_renew(g_s, "a:1", -1, count_name, &held, &e));
    assert_int_equal(held, 0);
    char owner[64] = "";
    OK(instances_lease_each(b, lease_owner, owner, &e));
    assert_string_equal(owner, "a:1 (expired)");
    OK(instances_lease_acquire(b, "src-test", "b:2", 60000, false, &won, &e));
    assert_true(won);
    OK(instances_lease_acquire(g_s, "src-test", "a:1", 60000, false, &won, &e));
    assert_false(won);
    held = 0;
    OK(instances_lease_renew(g_s, "a:1", 60000, count_name, &held, &e));
    assert_int_equal(held, 0);
    OK(instances_lease_each(b, lease_owner, owner, &e));
    assert_string_equal(owner, "b:2");
    /* exclusive (SQLite's single instance) takes it whoever holds it */
    OK(instances_lease_acquire(g_s, "src-test", "a:1", 60000, true, &won, &e));
    assert_true(won);
    OK(instances_lease_release(g_s, "src-test", "a:1", &e));
    OK(instances_lease_acquire(b, "src-test", "b:2", 60000, false, &won, &e));
    assert_true(won);
    /* b stops: its lease is free at once, its row stopped, a alone is live */
    OK(instances_stop(b, "b:2", &e));
    OK(instances_lease_acquire(g_s, "src-test", "a:1", 60000, false, &won, &e));
    assert_true(won);
    OK(instances_live_count(g_s, &live, &e));
    assert_int_equal(live, 1);
    int64_t last = -1;
    OK(instances_last_poll_start(g_s, "src-test", &last, &e));
    assert_int_equal(last, 0);
    store_close(b);
}

/* Placeholders as SQLite numbers them: ?N, and a bare ? one more than the largest so far
 * (store/runs.c writes bare ones); a ? inside a literal is text. */
static void test_placeholders(void **state)
{
    (void)state;
    struct bk_err e = {0};
    struct store_param p[] = {SP_TEXT("a"), SP_TEXT("b"), SP_TEXT("c"), SP_TEXT("d")};
    char out[64] = "";
    OK(store_query(g_s, "SELECT ? || ?2 || ? || ?1 || ? || '?'", p, 4, text_cb, out, &e));
    assert_string_equal(out, "abcad?");
}

/* The rows of a list page (store/page.h) as "a|b|..." text, one row a line. */
static int page_text_cb(const struct store_row *r, void *ud)
{
    char *acc = ud;
    size_t len = strlen(acc);
    for (int i = 0; i < store_row_count(r); i++) {
        const char *t = store_row_text(r, i);
        snprintf(acc + len, 4096 - len, "%s%s", i ? "|" : "", t ? t : "-");
        len = strlen(acc);
    }
    snprintf(acc + len, 4096 - len, "\n");
    return 0;
}

static int count_row_cb(const struct store_row *r, void *ud)
{
    *(int64_t *)ud = store_row_int(r, 0);
    return 0;
}

static int64_t list_count(const struct store_listq *l, const char *where,
                          const struct store_param *p, size_t np)
{
    struct bk_err e = {0};
    char *sql = store_list_count_sql(l, where);
    int64_t n = -1;
    OK(store_query(g_s, sql, p, np, count_row_cb, &n, &e));
    free(sql);
    return n;
}

/* Sources (store/sources.h): the id by name, "poll now" and pause requests, per-source state,
 * and the lists of the API (sources, customers, alerts, audit) read on both engines. */
static void test_sources_and_lists(void **state)
{
    (void)state;
    struct bk_err e = {0};
    int64_t id = -1;
    OK(store_source_id(g_s, "src-test", &id, &e));
    assert_int_equal(id, g_src);
    OK(store_source_id(g_s, "no-such-source", &id, &e));
    assert_int_equal(id, 0);

    OK(store_poll_request_add(g_s, g_src, 1000, "alice", &e));
    assert_int_equal(q1("SELECT COUNT(*) FROM poll_request WHERE requested_by = 'alice'"
                        " AND requested_at = 1000"),
                     1);
    OK(store_source_paused_set(g_s, g_src, true, 2000, &e));
    assert_int_equal(q1("SELECT paused FROM source WHERE updated_at = 2000"), 1);
    OK(store_source_paused_set(g_s, g_src, false, 3000, &e));
    assert_int_equal(q1("SELECT COUNT(*) FROM source WHERE paused = 0"), 1);

    char *v = NULL;
    OK(store_source_state_set(g_s, g_src, "uid", "7", &e));
    OK(store_source_state_set(g_s, g_src, "uid", "8", &e)); /* replaces */
    OK(store_state_get(g_s, g_src, "uid", &v, &e));
    assert_string_equal(v, "8");
    free(v);

    /* the lists' SQL runs on this engine, with their conditions */
    assert_int_equal(list_count(&STORE_LIST_SOURCES, "1 = 1", NULL, 0), 1);
    struct store_param p[] = {SP_TEXT("src-test"), SP_INT(10), SP_INT(0)};
    char *sql = store_list_page_sql(&STORE_LIST_SOURCES, "1 = 1", 0);
    char got[4096] = "";
    OK(store_query(g_s, sql, p + 1, 2, page_text_cb, got, &e));
    free(sql);
    assert_non_null(strstr(got, "|src-test|src-test|"));
    assert_int_equal(list_count(&STORE_LIST_CUSTOMERS, "(" STORE_CUSTOMERS_OF_SOURCE ")", p, 1), 0);
    assert_int_equal(list_count(&STORE_LIST_ALERTS, "(" STORE_ALERTS_STATE ")", p, 1), 0);
    assert_int_equal(list_count(&STORE_LIST_AUDIT, "(" STORE_AUDIT_WHO ")", p, 1), 0);
    sql = store_list_page_sql(&STORE_LIST_ALERTS, "1 = 1", 0);
    got[0] = '\0';
    OK(store_query(g_s, sql, p + 1, 2, page_text_cb, got, &e));
    free(sql);
    assert_string_equal(got, "");
}

static int remark_row_cb(const struct store_row *r, void *ud)
{
    char *acc = ud;
    size_t len = strlen(acc);
    snprintf(acc + len, 256 - len, "%lld:%s:%s;", (long long)store_row_int(r, 0),
             store_row_text(r, 1), store_row_text(r, 2));
    return 0;
}

/* Remarks (store/remarks.h): add on a run (an id twice linked once), read by id, run and job,
 * change, delete with its links; job and run existence. */
static void test_remarks(void **state)
{
    (void)state;
    struct bk_err e = {0};
    int64_t job = 0, id = 0;
    char uuid[STORE_PUSH_UUID_LEN + 1];
    const int64_t t0 = 20000 * DAY;
    OK(store_push_job_add(g_s, g_src, "Acme", "nightly", NULL, "admin", t0, &job, uuid, &e));
    struct store_ping p = {.uuid = uuid, .kind = STORE_PING_START, .now_ms = t0 + 1000};
    struct store_ping_result r;
    OK(store_push_ping(g_s, &p, &r, &e));
    int64_t run = q1("SELECT MAX(id) FROM job_run");
    bool known = false;
    OK(store_job_exists(g_s, job, &known, &e));
    assert_true(known);
    OK(store_job_exists(g_s, job + 1000, &known, &e));
    assert_false(known);
    OK(store_run_exists(g_s, run, &known, &e));
    assert_true(known);
    OK(store_run_exists(g_s, run + 1000, &known, &e));
    assert_false(known);

    const int64_t ids[] = {run, run};
    OK(store_begin(g_s, &e));
    OK(store_remark_add(g_s, "looked at it", "alice", t0 + 5, ids, 2, &id, &e));
    OK(store_commit(g_s, &e));
    assert_true(id > 0);
    assert_int_equal(q1("SELECT COUNT(*) FROM remark_run"), 1);
    char got[256] = "";
    OK(store_remark_get(g_s, id, remark_row_cb, got, &e));
    char want[256];
    snprintf(want, sizeof want, "%lld:looked at it:alice;", (long long)id);
    assert_string_equal(got, want);
    got[0] = '\0';
    OK(store_remarks_of_run(g_s, run, remark_row_cb, got, &e));
    assert_string_equal(got, want);
    got[0] = '\0';
    OK(store_remarks_of_job(g_s, job, 10, remark_row_cb, got, &e));
    assert_string_equal(got, want);
    got[0] = '\0';
    OK(store_remarks_of_job(g_s, job, 0, remark_row_cb, got, &e));
    assert_string_equal(got, "");
    int64_t linked = 0;
    OK(store_remark_runs(g_s, id, count_row_cb, &linked, &e));
    assert_int_equal(linked, run);

    OK(store_remark_body_set(g_s, id, "fixed", &e));
    assert_int_equal(q1("SELECT COUNT(*) FROM remark WHERE body = 'fixed'"), 1);
    assert_int_equal(list_count(&STORE_LIST_REMARKS, "(" STORE_REMARKS_OF_JOB ")",
                                (struct store_param[]){SP_INT(job)}, 1),
                     1);
    OK(store_remark_delete(g_s, id, &e));
    assert_int_equal(q1("SELECT COUNT(*) FROM remark"), 0);
    assert_int_equal(q1("SELECT COUNT(*) FROM remark_run"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_push_pings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trigger_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mail_ingest_and_inbox, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lists_and_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_placeholders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sources_and_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remarks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leases, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
