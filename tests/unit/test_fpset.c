/* Unit tests of core/fpset: the fingerprint hash table (insert, replace, seen flags, growth
 * through many keys, keys that share a prefix) and the batch fingerprints (every field the
 * store writes moves the fingerprint; the poll clock and the order of runs and objects do
 * not; a run whose job is not in the batch is reported). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/fpset.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_set_basics(void **state)
{
    (void)state;
    struct bk_fpset *s = bk_fpset_new();
    uint64_t fp = 0;
    assert_false(bk_fpset_get(s, "a", &fp));
    assert_false(bk_fpset_mark_seen(s, "a"));
    bk_fpset_put(s, "a", 7);
    bk_fpset_put(s, "ab", 8);
    bk_fpset_put(s, "", 9);
    assert_int_equal(bk_fpset_count(s), 3);
    assert_true(bk_fpset_get(s, "a", &fp));
    assert_int_equal(fp, 7);
    assert_true(bk_fpset_get(s, "ab", &fp));
    assert_int_equal(fp, 8);
    assert_true(bk_fpset_get(s, "", NULL));
    assert_false(bk_fpset_get(s, "b", NULL));
    assert_false(bk_fpset_seen(s, "a"));
    assert_true(bk_fpset_mark_seen(s, "a"));
    assert_true(bk_fpset_mark_seen(s, "a"));
    assert_true(bk_fpset_seen(s, "a"));
    assert_false(bk_fpset_seen(s, "ab"));
    assert_false(bk_fpset_seen(s, "zz"));
    assert_int_equal(bk_fpset_seen_count(s), 1);
    /* replacing keeps the count and the seen flag */
    bk_fpset_put(s, "a", 70);
    assert_int_equal(bk_fpset_count(s), 3);
    assert_true(bk_fpset_get(s, "a", &fp));
    assert_int_equal(fp, 70);
    assert_true(bk_fpset_seen(s, "a"));
    bk_fpset_free(s);
    bk_fpset_free(NULL);
}

static void test_set_many(void **state)
{
    (void)state;
    struct bk_fpset *s = bk_fpset_new();
    char k[32];
    for (int i = 0; i < 100000; i++) {
        snprintf(k, sizeof k, "%d", 200000 + i);
        bk_fpset_put(s, k, (uint64_t)i * 3 + 1);
    }
    assert_int_equal(bk_fpset_count(s), 100000);
    for (int i = 0; i < 100000; i += 2) {
        snprintf(k, sizeof k, "%d", 200000 + i);
        assert_true(bk_fpset_mark_seen(s, k));
    }
    for (int i = 0; i < 100000; i++) {
        uint64_t fp = 0;
        snprintf(k, sizeof k, "%d", 200000 + i);
        assert_true(bk_fpset_get(s, k, &fp));
        assert_int_equal(fp, (uint64_t)i * 3 + 1);
        assert_int_equal(bk_fpset_seen(s, k), i % 2 == 0);
    }
    assert_int_equal(bk_fpset_seen_count(s), 50000);
    snprintf(k, sizeof k, "%d", 300000);
    assert_false(bk_fpset_get(s, k, NULL));
    bk_fpset_free(s);
}

/* A batch of two jobs: "d1" with one run of two objects, "d2" with none, and a run of "d3". */
static void make_batch(struct bk_batch *b)
{
    memset(b, 0, sizeof *b);
    const char *ids[] = {"d1", "d2"};
    for (int i = 0; i < 2; i++) {
        struct bk_job_rec j = {
            .external_id = xstrdup(ids[i]),
            .name = xstrdup(ids[i]),
            .kind = xstrdup("server"),
            .customer_ext_id = xstrdup("c1"),
            .customer_name = xstrdup("Contoso"),
            .colour_bar = xstrdup("5585"),
            .colour_bar_as_of_ms = 1000,
        };
        bk_batch_add_job(b, &j);
    }
    struct bk_run_rec r = {
        .job_external_id = xstrdup("d1"),
        .vendor_run_id = xstrdup("1700000000"),
        .start_ms = 1700000000000,
        .end_ms = 1700000600000,
        .status = BK_RUN_SUCCESS,
        .raw_status = xstrdup("5"),
        .error_count = 0,
    };
    const char *objs[] = {"Files and Folders", "System State"};
    for (int i = 0; i < 2; i++) {
        struct bk_obj_rec o = {
            .name = xstrdup(objs[i]), .status = BK_RUN_SUCCESS, .raw_status = xstrdup("5")};
        bk_run_add_object(&r, &o);
    }
    bk_batch_add_run(b, &r);
    struct bk_run_rec r3 = {
        .job_external_id = xstrdup("d3"),
        .vendor_run_id = xstrdup("1"),
        .status = BK_RUN_RUNNING,
        .raw_status = xstrdup("1"),
        .error_count = -1,
    };
    bk_batch_add_run(b, &r3);
}

static void fps(const struct bk_batch *b, uint64_t out[2])
{
    long run_job[2];
    bk_batch_fingerprints(b, out, run_job);
    assert_int_equal(run_job[0], 0);
    assert_int_equal(run_job[1], -1);
    assert_int_not_equal(out[0], BK_FP_NONE);
    assert_int_not_equal(out[1], BK_FP_NONE);
}

static void replace(char **field, const char *v)
{
    free(*field);
    *field = v ? xstrdup(v) : NULL;
}

static void test_batch_fingerprints(void **state)
{
    (void)state;
    struct bk_batch b;
    uint64_t base[2], now[2];
    make_batch(&b);
    fps(&b, base);
    assert_int_not_equal(base[0], base[1]); /* the external id and the run count */
    fps(&b, now);
    assert_memory_equal(base, now, sizeof base);

    /* the poll clock is not what the vendor reported */
    b.jobs[0].colour_bar_as_of_ms = 99999;
    fps(&b, now);
    assert_int_equal(now[0], base[0]);
    /* neither is the order of objects */
    struct bk_obj_rec t = b.runs[0].objects[0];
    b.runs[0].objects[0] = b.runs[0].objects[1];
    b.runs[0].objects[1] = t;
    fps(&b, now);
    assert_int_equal(now[0], base[0]);
    bk_batch_free(&b);

    /* every field the store writes moves the job's fingerprint, and only that job's */
    for (int field = 0; field < 16; field++) {
        make_batch(&b);
        struct bk_job_rec *j = &b.jobs[0];
        struct bk_run_rec *r = &b.runs[0];
        struct bk_obj_rec *o = &r->objects[1];
        switch (field) {
        case 0:
            replace(&j->name, "d1 renamed");
            break;
        case 1:
            replace(&j->kind, "workstation");
            break;
        case 2:
            replace(&j->customer_ext_id, "c2");
            break;
        case 3:
            replace(&j->customer_name, "Contoso Ltd");
            break;
        case 4:
            replace(&j->colour_bar, "5582");
            break;
        case 5:
            replace(&j->colour_bar, NULL);
            break;
        case 6:
            replace(&r->vendor_run_id, "1700000001");
            break;
        case 7:
            r->start_ms++;
            break;
        case 8:
            r->end_ms = 0;
            break;
        case 9:
            r->status = BK_RUN_WARNING;
            break;
        case 10:
            replace(&r->raw_status, "8");
            break;
        case 11:
            r->error_count = 3;
            break;
        case 12:
            replace(&r->message, "3 errors");
            break;
        case 13:
            o->status = BK_RUN_FAILED;
            break;
        case 14:
            replace(&o->raw_status, "2");
            break;
        case 15:
            replace(&o->message, "access denied");
            break;
        }
        fps(&b, now);
        if (now[0] == base[0])
            fail_msg("field %d did not change the fingerprint", field);
        assert_int_equal(now[1], base[1]);
        bk_batch_free(&b);
    }
    /* an object more, or one fewer */
    make_batch(&b);
    bk_obj_rec_clear(&b.runs[0].objects[1]);
    b.runs[0].nobjects = 1;
    fps(&b, now);
    assert_int_not_equal(now[0], base[0]);
    bk_batch_free(&b);
    /* the run gone */
    make_batch(&b);
    b.runs[0].job_external_id[1] = '9';
    long run_job[2];
    bk_batch_fingerprints(&b, now, run_job);
    assert_int_equal(run_job[0], -1);
    assert_int_not_equal(now[0], base[0]);
    bk_batch_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_basics),
        cmocka_unit_test(test_set_many),
        cmocka_unit_test(test_batch_fingerprints),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
