/* store/runs.c: the Run Checks order read by segments gives exactly the rows, in exactly the
 * order, that one ORDER BY over all matching runs gives — on every page, with filters, with
 * jobs without a customer, two customers of one name and overridden runs — and the text
 * condition (trigram index) finds exactly what a LIKE over job, customer and message finds,
 * also after a message changes or a run is deleted. A real SQLite file, migrated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config/config.h"
#include "store/runs.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/xalloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_dir[64];
static struct bk_config *g_cfg;
static struct bk_store *g_s;

static void exec_sql(const char *sql)
{
    struct bk_err e = {0};
    if (store_exec(g_s, sql, NULL, 0, NULL, NULL, &e) < 0)
        fail_msg("%s: %s", sql, e.msg);
}

static int one_int(const struct store_row *r, void *ud)
{
    *(int64_t *)ud = store_row_int(r, 0);
    return 0;
}

static int64_t count_sql(const char *sql)
{
    int64_t v = -1;
    struct bk_err e = {0};
    if (store_query(g_s, sql, NULL, 0, one_int, &v, &e) < 0)
        fail_msg("%s: %s", sql, e.msg);
    return v;
}

/* 7 customers (two named "Beta", one named ""), 60 jobs (every 7th without a customer, some
 * names shared), 6,600 runs of every status, some overridden, some reviewed: more than the
 * sorted-read threshold. One statement per store_exec. */
static void seed(void)
{
    static const char *const st[] = {"success", "failed",  "warning", "missed",
                                     "running", "unknown", "success", "odd"};
    static const char *const names[] = {"Alpha", "Beta", "Beta", "Gamma", "delta", "Epsilon", ""};
    struct bk_err e = {0};
    char sql[512];
    assert_int_equal(store_begin(g_s, &e), 0);
    exec_sql(
        "INSERT INTO source (id, name, kind, url, interval_ms, created_at, updated_at)"
        " VALUES (1, 'src', 'cove', 'u', 60000, 0, 0), (2, 'other', 'hycu', 'u', 60000, 0, 0)");
    for (int c = 0; c < 7; c++) {
        snprintf(sql, sizeof sql,
                 "INSERT INTO customer (id, source_id, external_id, name, created_at, updated_at)"
                 " VALUES (%d, 1, 'c%d', '%s', 0, 0)",
                 c + 1, c, names[c]);
        exec_sql(sql);
    }
    for (int j = 0; j < 60; j++) {
        char cust[16];
        if (j % 7 == 0)
            snprintf(cust, sizeof cust, "NULL");
        else
            snprintf(cust, sizeof cust, "%d", j % 7 + 1);
        snprintf(sql, sizeof sql,
                 "INSERT INTO job (id, source_id, customer_id, external_id, name, kind, created_at,"
                 " updated_at) VALUES (%d, %d, %s, 'j%d', 'job-%02d', '%s', 0, 0)",
                 j + 1, j % 5 == 0 ? 2 : 1, cust, j, (j * 37) % 50,
                 j % 3 ? "server" : "workstation");
        exec_sql(sql);
    }
    for (int r = 0; r < 6600; r++) {
        snprintf(sql, sizeof sql,
                 "INSERT INTO job_run (id, job_id, vendor_run_id, start_at, status, raw_status,"
                 " message, override, reviewed_at, created_at, updated_at)"
                 " VALUES (%d, %d, 'v%d', %d, '%s', 'x', '%s', %d, %s, 0, 0)",
                 r + 1, r % 60 + 1, r, 1000000 + (r * 7919) % 50000, st[(r / 60 + r) % 8],
                 r % 11 == 0   ? "Disk FULL on C:"
                 : r % 13 == 0 ? "50%_done \"quoted\""
                               : "Completed",
                 r % 17 == 0, r % 5 == 0 ? "5" : "NULL");
        exec_sql(sql);
    }
    assert_int_equal(store_commit(g_s, &e), 0);
    assert_int_equal(count_sql("SELECT COUNT(*) FROM job_run"), 6600);
    assert_int_equal(count_sql("SELECT COUNT(*) FROM job"), 60);
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/bk-runs-XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    char *text = xasprintf("[database]\nurl = sqlite://%s/t.db\n", g_dir);
    struct bk_err e = {0};
    int rc = config_parse_string(text, "t.conf", g_dir, &g_cfg, &e);
    free(text);
    if (rc < 0 || store_open(g_cfg, &g_s, &e) < 0)
        return -1;
    seed();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    store_close(g_s);
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

struct idlist {
    int64_t *v;
    size_t n, cap;
};

static int collect(const struct store_row *r, void *ud)
{
    struct idlist *l = ud;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = store_row_int(r, 0);
    return 0;
}

static void reference(const char *where, const struct store_param *p, size_t np, const char *order,
                      struct idlist *out)
{
    struct bk_err e = {0};
    char *sql = xasprintf("SELECT r.id FROM " STORE_RUN_FROM " WHERE %s ORDER BY %s", where, order);
    if (store_query(g_s, sql, p, np, collect, out, &e) < 0)
        fail_msg("%s: %s", sql, e.msg);
    free(sql);
}

/* Every page of size limit equals the reference's slice; the total is the reference's size. */
static void check_pages(const char *where, const struct store_param *p, size_t np, int64_t limit)
{
    struct idlist want = {0};
    reference(where, p, np, STORE_RUN_ORDER_CUSTOMER, &want);
    assert_true(want.n > 0);
    int64_t *got = xcalloc((size_t)limit, sizeof *got);
    for (int64_t off = 0; off <= (int64_t)want.n + limit; off += limit) {
        size_t n;
        int64_t total;
        struct bk_err e = {0};
        assert_int_equal(store_runs_by_customer(g_s, where, p, np, limit, off, got, &n, &total, &e),
                         0);
        assert_int_equal(total, (int64_t)want.n);
        size_t expect = off >= (int64_t)want.n ? 0 : want.n - (size_t)off;
        if (expect > (size_t)limit)
            expect = (size_t)limit;
        assert_int_equal(n, expect);
        for (size_t i = 0; i < n; i++)
            if (got[i] != want.v[(size_t)off + i])
                fail_msg("where %s, offset %" PRId64 ", row %zu: id %" PRId64 ", want %" PRId64,
                         where, off, i, got[i], want.v[(size_t)off + i]);
    }
    free(got);
    free(want.v);
}

static void test_segments_equal_one_sort(void **state)
{
    (void)state;
    /* all runs, unreviewed ones (both above the sorted-read threshold: segment reads) */
    check_pages("1 = 1", NULL, 0, 997);
    check_pages("r.reviewed_at IS NULL", NULL, 0, 250);
    /* pages that start and end inside segments, one row at a time over a boundary region */
    check_pages("r.reviewed_at IS NULL", NULL, 0, 1000);
    struct store_param p[2] = {SP_TEXT("server")};
    check_pages(STORE_RUNS_OF_KIND, p, 1, 300);
    p[0] = SP_TEXT("Beta");
    check_pages(STORE_RUNS_OF_CUSTOMER_NAME, p, 1, 100); /* two customers, few runs: one sort */
    p[0] = SP_INT(4);
    p[1] = SP_TEXT("4");
    check_pages(STORE_RUNS_OF_CUSTOMER_ID_OR_NAME, p, 2, 77);
    p[0] = SP_TEXT("other");
    check_pages(STORE_RUNS_OF_SOURCE, p, 1, 500);
    check_pages("r.status = 'success' OR r.override = 1", NULL, 0, 400);
}

static size_t check_text(const char *text)
{
    struct store_param p[STORE_RUNS_TEXT_PARAMS];
    size_t np;
    char *owned[2];
    char *cond = store_runs_text_cond(g_s, text, p, &np, owned);
    /* store's conditions use '?' in order: number them as qb would */
    struct bk_buf w;
    bk_buf_init(&w, 1u << 16);
    size_t k = 0;
    for (const char *c = cond; *c; c++) {
        if (*c == '?')
            bk_buf_printf(&w, "?%zu", ++k);
        else
            bk_buf_append(&w, c, 1);
    }
    assert_int_equal(k, np);
    struct idlist got = {0}, want = {0};
    reference(w.data, p, np, "r.id", &got);
    /* the reference: instr over lower-cased text (no LIKE wildcard to escape) */
    char *lower = xstrdup(text);
    for (char *c = lower; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    struct store_param rp[1] = {SP_TEXT(lower)};
    reference("instr(LOWER(j.name), ?1) OR instr(LOWER(COALESCE(c.name, '')), ?1) OR"
              " instr(LOWER(COALESCE(r.message, '')), ?1)",
              rp, 1, "r.id", &want);
    if (got.n != want.n)
        fail_msg("q=%s: %zu runs, want %zu", text, got.n, want.n);
    for (size_t i = 0; i < got.n; i++)
        assert_int_equal(got.v[i], want.v[i]);
    size_t n = got.n;
    free(lower);
    free(got.v);
    free(want.v);
    bk_buf_free(&w);
    free(cond);
    free(owned[0]);
    free(owned[1]);
    return n;
}

static void test_text_condition_matches_like(void **state)
{
    (void)state;
    const char *const texts[] = {
        "disk full", "DISK", "full on c:", "50%_d",        "\"quoted\"", "%", "_",
        "job-1",     "bet",  "epsilon",    "no such text", "on",         "e"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        check_text(texts[i]);
    assert_int_equal(check_text("disk full"), 600);
    assert_int_equal(check_text("no such text"), 0);
    /* the index follows the table: a changed message, a deleted run */
    exec_sql("UPDATE job_run SET message = 'Tape drive offline' WHERE id = 12");
    exec_sql("DELETE FROM job_run WHERE id = 23");
    assert_int_equal(check_text("tape drive"), 1);
    assert_int_equal(check_text("disk full"), 598); /* runs 12 and 23 had that message */
    check_text("completed");
}

static void test_review_skips_running_runs(void **state)
{
    (void)state;
    struct bk_err e = {0};
    int64_t reviewed, skipped;
    /* ids 2..9 of the seed: some running, one reviewed already, the rest final */
    int64_t ids[] = {2, 3, 4, 5, 6, 7, 8, 9};
    int64_t want_skip = count_sql("SELECT COUNT(*) FROM job_run WHERE id BETWEEN 2 AND 9 AND"
                                  " reviewed_at IS NULL AND status = 'running'");
    int64_t want_rev = count_sql("SELECT COUNT(*) FROM job_run WHERE id BETWEEN 2 AND 9 AND"
                                 " reviewed_at IS NULL AND status <> 'running'");
    assert_true(want_skip > 0 && want_rev > 0);
    assert_int_equal(store_runs_review(g_s, ids, 8, 0, "alice", 77, &reviewed, &skipped, &e), 0);
    assert_int_equal(reviewed, want_rev);
    assert_int_equal(skipped, want_skip);
    assert_int_equal(count_sql("SELECT COUNT(*) FROM job_run WHERE reviewed_by = 'alice'"),
                     want_rev);
    assert_int_equal(count_sql("SELECT COUNT(*) FROM job_run WHERE id BETWEEN 2 AND 9 AND"
                               " status = 'running' AND reviewed_at IS NOT NULL"),
                     0);
    /* again: nothing left but the running ones */
    assert_int_equal(store_runs_review(g_s, ids, 8, 0, "bob", 78, &reviewed, &skipped, &e), 0);
    assert_int_equal(reviewed, 0);
    assert_int_equal(skipped, want_skip);
    /* a whole job */
    int64_t job_rev = count_sql("SELECT COUNT(*) FROM job_run WHERE job_id = 7 AND reviewed_at"
                                " IS NULL AND status <> 'running'");
    assert_int_equal(store_runs_review(g_s, NULL, 0, 7, "carol", 79, &reviewed, &skipped, &e), 0);
    assert_int_equal(reviewed, job_rev);
    assert_int_equal(count_sql("SELECT COUNT(*) FROM job_run WHERE job_id = 7 AND reviewed_at"
                               " IS NULL AND status <> 'running'"),
                     0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_segments_equal_one_sort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_condition_matches_like, setup, teardown),
        cmocka_unit_test_setup_teardown(test_review_skips_running_runs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
