/* Unit tests of the HYCU parsers: envelope shapes, entities, jobs, status mapping, run-now
 * replies and the v1 dialect — including the malformed and surprising replies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "providers/hycu_parse.h"
#include "util/err.h"

#include <stdbool.h>
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

/* Item 28: "1" is the one ambiguous completitionPct; the job's status decides. */
static void test_job_pct(void **state)
{
    struct {
        const char *json;
        double pct;
    } cases[] = {
        {"{\"uuid\":\"a\",\"status\":\"OK\",\"completitionPct\":1}", 100},
        {"{\"uuid\":\"a\",\"status\":\"WARNING\",\"completitionPct\":1.0}", 100},
        {"{\"uuid\":\"a\",\"status\":\"EXECUTING\",\"completitionPct\":1}", 1},
        {"{\"uuid\":\"a\",\"status\":\"QUEUED\",\"completitionPct\":1.0}", 1},
        {"{\"uuid\":\"a\",\"status\":\"ERROR\",\"completitionPct\":1}", 1},
        {"{\"uuid\":\"a\",\"status\":\"EXECUTING\",\"completitionPct\":0.99}", 99},
        {"{\"uuid\":\"a\",\"status\":\"EXECUTING\",\"completitionPct\":2}", 2},
        {"{\"uuid\":\"a\",\"status\":\"OK\",\"completitionPct\":100}", 100},
        {"{\"uuid\":\"a\",\"status\":\"OK\",\"completitionPct\":250}", 100},
        {"{\"uuid\":\"a\",\"status\":\"EXECUTING\",\"completitionPct\":0}", 0},
        {"{\"uuid\":\"a\",\"status\":\"EXECUTING\",\"completitionPct\":-3}", -1},
        {"{\"uuid\":\"a\",\"status\":\"EXECUTING\"}", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct bk_err e = {0};
        struct hycu_job j;
        json_t *o = json_loads(cases[i].json, 0, NULL);
        assert_non_null(o);
        assert_int_equal(hycu_parse_job(o, &j, &e), 0);
        if (j.pct < cases[i].pct - 0.01 || j.pct > cases[i].pct + 0.01)
            fail_msg("%s: pct %g, want %g", cases[i].json, j.pct, cases[i].pct);
        hycu_job_clear(&j);
        json_decref(o);
    }
}

/* Item 27: each entityMap shape hycu-sim serves (docs/hycu.md) yields the entity's uuid. */
static void test_job_entity_map_shapes(void **state)
{
    const char *maps[] = {
        "{\"vm-1\":\"app01\"}",
        "{\"VM\":\"vm-1\"}",
        "{\"VM\":[\"vm-1\"]}",
        "{\"VM\":[{\"uuid\":\"vm-1\",\"name\":\"app01\"}]}",
        "[{\"uuid\":\"vm-1\",\"name\":\"app01\"}]",
        "[\"vm-1\"]",
    };
    for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
        char body[256];
        snprintf(body, sizeof body, "{\"uuid\":\"j\",\"status\":\"OK\",\"entityMap\":%s}", maps[i]);
        json_t *o = json_loads(body, 0, NULL);
        assert_non_null(o);
        struct bk_err e = {0};
        struct hycu_job j;
        assert_int_equal(hycu_parse_job(o, &j, &e), 0);
        bool found = false;
        for (size_t k = 0; k < j.n_entity_ids; k++)
            found |= strcmp(j.entity_ids[k], "vm-1") == 0;
        if (!found)
            fail_msg("entityMap %s: vm-1 not found", maps[i]);
        hycu_job_clear(&j);
        json_decref(o);
    }
}

/* Item 26: job "type" words, read loosely; unknown words are their own answer. */
static void test_job_type(void **state)
{
    struct {
        const char *word;
        enum hycu_job_type t;
    } cases[] = {
        {NULL, HYCU_JOB_BACKUP},
        {"", HYCU_JOB_BACKUP},
        {"BACKUP", HYCU_JOB_BACKUP},
        {"Backup", HYCU_JOB_BACKUP},
        {"backup", HYCU_JOB_BACKUP},
        {"VM_BACKUP", HYCU_JOB_BACKUP},
        {"BACKUP_VM", HYCU_JOB_BACKUP},
        {"backup-app", HYCU_JOB_BACKUP},
        {"Share backup", HYCU_JOB_BACKUP},
        {"vmBackup", HYCU_JOB_BACKUP},
        {"BACKUPS", HYCU_JOB_BACKUP},
        {"FULL_BACKUP", HYCU_JOB_BACKUP},
        {"INCREMENTAL_BACKUP", HYCU_JOB_BACKUP},
        {"SNAPSHOT_ONLY_BACKUP", HYCU_JOB_BACKUP},
        {"ASYNC_BACKUP", HYCU_JOB_BACKUP},
        {"RESTORE", HYCU_JOB_OTHER},
        {"restore_vm", HYCU_JOB_OTHER},
        {"RestoreVm", HYCU_JOB_OTHER},
        {"RESTORE_FROM_BACKUP", HYCU_JOB_OTHER},
        {"BACKUP_COPY", HYCU_JOB_OTHER},
        {"EXPIRE_BACKUP", HYCU_JOB_OTHER},
        {"BACKUP_VALIDATION", HYCU_JOB_OTHER},
        {"ARCHIVE", HYCU_JOB_OTHER},
        {"MOUNT", HYCU_JOB_OTHER},
        {"sync", HYCU_JOB_OTHER},
        {"MYSTERY_TASK", HYCU_JOB_UNKNOWN},
        {"PROTECT", HYCU_JOB_UNKNOWN},
        {"___", HYCU_JOB_UNKNOWN},
        {"BACK UP", HYCU_JOB_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (hycu_job_type_parse(cases[i].word) != cases[i].t)
            fail_msg("\"%s\": got %d, want %d", cases[i].word ? cases[i].word : "(null)",
                     hycu_job_type_parse(cases[i].word), cases[i].t);
    /* The job parser keeps the word. */
    json_t *o = json_loads("{\"uuid\":\"j\",\"status\":\"OK\",\"type\":\"Vm_Backup\"}", 0, NULL);
    struct bk_err e = {0};
    struct hycu_job j;
    assert_int_equal(hycu_parse_job(o, &j, &e), 0);
    assert_string_equal(j.type, "Vm_Backup");
    hycu_job_clear(&j);
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

/* Policy RPOs in every shape the simulator serves (and a controller might): the same 24 h or
 * 4 h however it is written; nonsense and out-of-range values give no RPO at all. */
static int64_t rpo_of(const char *json)
{
    json_error_t je;
    json_t *v = json_loads(json, JSON_DECODE_ANY, &je);
    assert_non_null(v);
    int64_t s = -1;
    bool ok = hycu_parse_rpo(v, &s);
    json_decref(v);
    return ok ? s : -1;
}

static void test_policy_rpo(void **state)
{
    (void)state;
    const char *day[] = {"86400000",
                         "86400",
                         "24",
                         "\"24h\"",
                         "\"1d\"",
                         "\"24 hours\"",
                         "\"PT24H\"",
                         "\"P1D\"",
                         "\"86400\"",
                         "{\"value\":24,\"unit\":\"HOURS\"}",
                         "{\"amount\":1,\"timeUnit\":\"DAY\"}",
                         "{\"value\":\"1440\",\"unit\":\"minutes\"}",
                         "{\"value\":86400}",
                         "{\"duration\":\"P1D\"}",
                         "24.0",
                         "\" 1 day \""};
    for (size_t i = 0; i < sizeof day / sizeof day[0]; i++) {
        print_message("rpo %s\n", day[i]);
        assert_int_equal(rpo_of(day[i]), 86400);
    }
    assert_int_equal(rpo_of("14400000"), 4 * 3600);
    assert_int_equal(rpo_of("14400"), 4 * 3600);
    assert_int_equal(rpo_of("4"), 4 * 3600);
    assert_int_equal(rpo_of("\"1h30m\""), 5400);
    assert_int_equal(rpo_of("\"PT1H30M\""), 5400);
    assert_int_equal(rpo_of("\"90 minutes\""), 5400);
    assert_int_equal(rpo_of("\"1 day, 12 hours\""), 36 * 3600);
    assert_int_equal(rpo_of("\"P1W\""), 7 * 86400);
    assert_int_equal(rpo_of("0.25"), 900); /* a quarter of an hour */
    assert_int_equal(rpo_of("900"), 900);  /* 15 min in seconds, not 900 hours */
    const char *bad[] = {"0",
                         "-24",
                         "null",
                         "true",
                         "\"\"",
                         "\"soon\"",
                         "\"24 parsecs\"",
                         "\"PT\"",
                         "\"P1H\"",
                         "\"nan\"",
                         "\"inf\"",
                         "[24]",
                         "{}",
                         "{\"unit\":\"HOURS\"}",
                         "{\"value\":24,\"unit\":\"fortnights\"}",
                         "1e30",
                         "\"400d\"",
                         "\"30s\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        print_message("rpo %s\n", bad[i]);
        assert_int_equal(rpo_of(bad[i]), -1);
    }
    /* a policy entity carries its RPO; other kinds never do */
    json_t *pol = json_pack("{s:s, s:s, s:s}", "uuid", "p1", "name", "Gold", "rpo", "PT12H");
    struct hycu_entity ent;
    struct bk_err e = {0};
    assert_int_equal(hycu_parse_entity(pol, HYCU_POLICY, &ent, &e), 0);
    assert_int_equal(ent.rpo_s, 12 * 3600);
    hycu_entity_clear(&ent);
    assert_int_equal(hycu_parse_entity(pol, HYCU_VG, &ent, &e), 0);
    assert_int_equal(ent.rpo_s, 0);
    hycu_entity_clear(&ent);
    json_decref(pol);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envelope),
        cmocka_unit_test(test_entity),
        cmocka_unit_test(test_job),
        cmocka_unit_test(test_status_mapping),
        cmocka_unit_test(test_trigger),
        cmocka_unit_test(test_v1),
        cmocka_unit_test(test_error_text),
        cmocka_unit_test(test_job_pct),
        cmocka_unit_test(test_job_entity_map_shapes),
        cmocka_unit_test(test_job_type),
        cmocka_unit_test(test_policy_rpo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
