/* Unit tests of the HYCU parsers: envelope shapes, entities, jobs, status mapping, run-now
 * replies and the v1 dialect — including the malformed and surprising replies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "providers/hycu_parse.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(x) x, strlen(x)

static void test_envelope(void **state)
{
    struct hycu_page p;
    struct bk_err e = {0};
    assert_int_equal(hycu_parse_page(S("{\"version\":\"v1.0\",\"entities\":[{\"uuid\":\"a\"},"
                                       "{\"uuid\":\"b\"}],\"metadata\":{\"totalEntityCount\":5}"
                                       ",\"message\":{\"type\":\"OK\"}}"),
                                     &p, &e),
                     0);
    assert_int_equal(json_array_size(p.entities), 2);
    assert_int_equal(p.total, 5);
    hycu_page_free(&p);

    /* A bare object (newer controllers) is one entity. */
    assert_int_equal(hycu_parse_page(S("{\"uuid\":\"x\",\"status\":\"OK\"}"), &p, &e), 0);
    assert_int_equal(json_array_size(p.entities), 1);
    assert_int_equal(p.total, -1);
    hycu_page_free(&p);

    /* An envelope without entities is an empty list, not the envelope itself. */
    assert_int_equal(hycu_parse_page(S("{\"metadata\":{\"totalEntityCount\":0}}"), &p, &e), 0);
    assert_int_equal(json_array_size(p.entities), 0);
    hycu_page_free(&p);

    /* total as a string, and wrong-typed entities. */
    assert_int_equal(hycu_parse_page(S("{\"entities\":[],\"metadata\":{\"totalEntityCount\":"
                                       "\"7\"}}"),
                                     &p, &e),
                     0);
    assert_int_equal(p.total, 7);
    hycu_page_free(&p);
    assert_int_equal(hycu_parse_page(S("{\"entities\":5}"), &p, &e), -BK_EPROTO);
    assert_int_equal(hycu_parse_page(S("{\"entities\": ["), &p, &e), -BK_EPROTO);
    assert_non_null(strstr(e.msg, "malformed JSON"));
    assert_int_equal(hycu_parse_page(S(""), &p, &e), -BK_EPROTO);
    assert_int_equal(hycu_parse_page(S("42"), &p, &e), -BK_EPROTO);
}

static void test_entity(void **state)
{
    struct bk_err e = {0};
    struct hycu_entity ent;
    json_t *vm = json_pack("{s:s, s:s, s:s}", "uuid", "u1", "vmName", "Daily Backup",
                           "protectionGroupUuid", "p1");
    assert_int_equal(hycu_parse_entity(vm, HYCU_VM, &ent, &e), 0);
    assert_string_equal(ent.name, "Daily Backup");
    assert_string_equal(ent.policy_uuid, "p1");
    hycu_entity_clear(&ent);
    json_decref(vm);
    json_t *noname = json_pack("{s:s}", "uuid", "u1");
    assert_int_equal(hycu_parse_entity(noname, HYCU_APP, &ent, &e), -BK_EPROTO);
    json_decref(noname);
    json_t *numname = json_pack("{s:s, s:i}", "uuid", "u1", "name", 5);
    assert_int_equal(hycu_parse_entity(numname, HYCU_SHARE, &ent, &e), -BK_EPROTO);
    json_decref(numname);
}

static void test_job(void **state)
{
    struct bk_err e = {0};
    struct hycu_job j;
    json_t *o = json_loads(
        "{\"uuid\":\"j1\",\"status\":\"EXECUTING\",\"completitionPct\":0.42,"
        "\"startTime\":1768473045000,\"finishTime\":null,"
        "\"taskExitMessage\":{\"type\":\"IN_PROGRESS\",\"titleDescriptionEn\":\"Running\"},"
        "\"entityMap\":{\"vm-uuid-1\":\"app01\"}}",
        0, NULL);
    assert_int_equal(hycu_parse_job(o, &j, &e), 0);
    assert_int_equal(j.state, HYCU_EXECUTING);
    assert_true(j.pct > 41.9 && j.pct < 42.1);
    assert_int_equal(j.start_ms, 1768473045000LL);
    assert_int_equal(j.end_ms, 0);
    assert_false(hycu_job_is_final(&j));
    /* entityMap's shape is undocumented: every key and string value is a candidate. */
    assert_int_equal(j.n_entity_ids, 2);
    assert_string_equal(j.entity_ids[0], "vm-uuid-1");
    hycu_job_clear(&j);
    json_decref(o);

    /* ISO times, percent progress, unmapped status with and without a finish time. */
    o = json_loads("{\"uuid\":\"j2\",\"status\":\"PAUSED_BY_GNOMES\",\"completitionPct\":55,"
                   "\"startTime\":\"2026-01-15T10:30:45Z\"}",
                   0, NULL);
    assert_int_equal(hycu_parse_job(o, &j, &e), 0);
    assert_int_equal(j.state, HYCU_UNMAPPED);
    assert_false(hycu_job_is_final(&j)); /* no finish time: keep polling */
    assert_true(j.pct > 54.9 && j.pct < 55.1);
    hycu_job_clear(&j);
    json_decref(o);
    o = json_loads("{\"uuid\":\"j3\",\"status\":\"PAUSED_BY_GNOMES\",\"finishTime\":1768473045000}",
                   0, NULL);
    assert_int_equal(hycu_parse_job(o, &j, &e), 0);
    assert_true(hycu_job_is_final(&j));
    hycu_job_clear(&j);
    json_decref(o);

    o = json_loads("{\"uuid\":\"j4\"}", 0, NULL);
    assert_int_equal(hycu_parse_job(o, &j, &e), -BK_EPROTO);
    json_decref(o);
    o = json_loads("[1,2]", 0, NULL);
    assert_int_equal(hycu_parse_job(o, &j, &e), -BK_EPROTO);
    json_decref(o);
}

static void test_status_mapping(void **state)
{
    struct {
        const char *word;
        enum bk_run_status st;
    } cases[] = {
        {"OK", BK_RUN_SUCCESS},        {"WARNING", BK_RUN_WARNING},  {"ERROR", BK_RUN_FAILED},
        {"FATAL", BK_RUN_FAILED},      {"ABORTED", BK_RUN_FAILED},   {"QUEUED", BK_RUN_RUNNING},
        {"EXECUTING", BK_RUN_RUNNING}, {"ABORTING", BK_RUN_RUNNING}, {"UNDEFINED", BK_RUN_UNKNOWN},
        {"ok", BK_RUN_UNKNOWN},        {"", BK_RUN_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(hycu_state_status(hycu_state_parse(cases[i].word)), cases[i].st);
}

static void test_trigger(void **state)
{
    struct bk_err e = {0};
    struct hycu_strlist ids = {0};
    assert_int_equal(hycu_parse_trigger(S("{\"entities\":[\"j1\",\"j2\"]}"), &ids, &e), 0);
    assert_int_equal(ids.n, 2);
    assert_string_equal(ids.v[1], "j2");
    hycu_strlist_free(&ids);
    assert_int_equal(hycu_parse_trigger(S("{\"entities\":[{\"jobUuid\":\"j9\"}]}"), &ids, &e), 0);
    assert_string_equal(ids.v[0], "j9");
    hycu_strlist_free(&ids);
    assert_int_equal(hycu_parse_trigger(S("{\"entities\":[]}"), &ids, &e), -BK_EPROTO);
    assert_int_equal(hycu_parse_trigger(S("{\"entities\":[null, 5]}"), &ids, &e), -BK_EPROTO);
    hycu_strlist_free(&ids);
}

static void test_v1(void **state)
{
    struct bk_err e = {0};
    char *id = NULL;
    assert_int_equal(
        hycu_v1_parse_trigger(S("{\"job_id\":\"abc\",\"status\":\"running\"}"), &id, &e), 0);
    assert_string_equal(id, "abc");
    free(id);
    assert_int_equal(hycu_v1_parse_trigger(S("{\"job_id\":12}"), &id, &e), 0);
    assert_string_equal(id, "12");
    free(id);
    assert_int_equal(hycu_v1_parse_trigger(S("{\"status\":\"running\"}"), &id, &e), -BK_EPROTO);

    struct hycu_job j;
    assert_int_equal(hycu_v1_parse_status(S("{\"status\":\"completed\",\"progress\":100,"
                                            "\"details\":{\"size\":\"10GB\"}}"),
                                          "abc", &j, &e),
                     0);
    assert_int_equal(j.state, HYCU_OK);
    assert_string_equal(j.details, "size: 10GB");
    hycu_job_clear(&j);
    const char *words[] = {"failed", "cancelled", "running", "pending"};
    enum hycu_state states[] = {HYCU_ERROR, HYCU_ABORTED, HYCU_EXECUTING, HYCU_EXECUTING};
    for (size_t i = 0; i < 4; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"status\":\"%s\"}", words[i]);
        assert_int_equal(hycu_v1_parse_status(body, strlen(body), "x", &j, &e), 0);
        assert_int_equal(j.state, states[i]);
        hycu_job_clear(&j);
    }
    assert_int_equal(hycu_v1_parse_status(S("{}"), "x", &j, &e), -BK_EPROTO);
}

static void test_error_text(void **state)
{
    char *t = hycu_parse_error_text(S("{\"message\":{\"type\":\"ERROR\",\"titleDescriptionEn\":"
                                      "\"Authentication failed\"}}"));
    assert_string_equal(t, "Authentication failed");
    free(t);
    assert_null(hycu_parse_error_text(S("<html>")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envelope),   cmocka_unit_test(test_entity),
        cmocka_unit_test(test_job),        cmocka_unit_test(test_status_mapping),
        cmocka_unit_test(test_trigger),    cmocka_unit_test(test_v1),
        cmocka_unit_test(test_error_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
