/* Unit tests of the SQLite store on real files: exactly-once runs, unchanged polls write
 * nothing, a session completing updates its run in place, reviewed runs are never modified,
 * retirement only after a complete poll, failed polls change nothing, and interrupted polls
 * leave no trace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config/config.h"
#include "store/store.h"
#include "util/err.h"
#include "util/xalloc.h"

#include <sqlite3.h>
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
    char *text = xasprintf("[database]\nurl = sqlite://%s/t.db\n", g_dir);
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
    char p[128];
    const char *sfx[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/t.db%s", g_dir, sfx[i]);
        unlink(p);
    }
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
    sqlite3 *db;
    char path[128];
    snprintf(path, sizeof path, "%s/t.db", g_dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void poll(struct bk_store *s, int64_t sid, const struct bk_batch *b,
                 enum store_poll_result res, struct store_apply_stats *st)
{
    struct bk_err e = {0};
    int64_t pid;
    assert_int_equal(store_poll_begin(s, sid, "test", &pid, &e), 0);
    if (b)
        assert_int_equal(store_poll_stage(s, pid, b, &e), 0);
    struct store_poll_outcome o = {.result = res, .pages = 1, .devices = b ? (int64_t)b->njobs : 0};
    assert_int_equal(store_poll_finish(s, pid, sid, &o, st, &e), 0);
}

static void test_exactly_once(void **state)
{
    struct bk_store *s;
    struct bk_err e = {0};
    assert_int_equal(store_open(g_cfg, &s, &e), 0);
    int v;
    assert_int_equal(store_schema_version(s, &v, &e), 0);
    assert_int_equal(v, 4);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exactly_once),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
