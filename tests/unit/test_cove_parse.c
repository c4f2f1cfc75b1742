/* Unit tests of the Cove parsers: the JSON-RPC envelope and its error codes, Login, Settings
 * flattening (unpadded codes, any order, missing/extra keys, numbers), the status table of
 * DESIGN §4, kinds, datasource objects, totals and colour-bar validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/model.h"
#include "providers/cove_parse.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(x) x, strlen(x)
#define POLL_MS 1767225600000LL /* 2026-01-01T00:00:00Z */

/* A reply holding one row, and that row flattened (the reply must outlive the row). */
struct one_row {
    struct cove_reply reply;
    struct cove_row row;
};

static int flatten(const char *row_json, struct one_row *o)
{
    char body[4096];
    struct bk_err e = {0};
    snprintf(body, sizeof body, "{\"result\":{\"result\":[%s]}}", row_json);
    if (cove_parse_reply(body, strlen(body), &o->reply, &e) < 0)
        fail_msg("bad test JSON: %s: %s", e.msg, body);
    return cove_reply_row(&o->reply, 0, &o->row, &e);
}

/* Map a row given as JSON text. */
static int map(const char *json, struct bk_job_rec *job, struct bk_run_rec *run, bool *has_run)
{
    struct one_row *o = malloc(sizeof *o);
    struct bk_err e = {0};
    memset(job, 0, sizeof *job);
    memset(run, 0, sizeof *run);
    *has_run = false;
    int rc = flatten(json, o);
    if (rc == 0)
        rc = cove_map_row(&o->row, POLL_MS, job, run, has_run, &e);
    cove_reply_free(&o->reply);
    free(o);
    return rc;
}

static void test_envelope_success(void **state)
{
    struct cove_reply r;
    struct bk_err e = {0};
    const char *body =
        "{\"id\":\"1\",\"jsonrpc\":\"2.0\",\"result\":{\"result\":[{\"AccountId\":1}],"
        "\"totalStatistics\":[{\"COUNT(1)\":\"1234\"},{\"SUM(I14)\":5.0}]},"
        "\"visa\":\"33491-50121-1-1512736778-A99E\"}";
    assert_int_equal(cove_parse_reply(S(body), &r, &e), 0);
    assert_string_equal(r.visa, "33491-50121-1-1512736778-A99E");
    assert_int_equal(r.result_kind, COVE_RESULT_ROWS);
    assert_int_equal(r.nrows, 1);
    int64_t v = 0;
    assert_true(cove_total(&r, "COUNT(1)", &v));
    assert_int_equal(v, 1234);
    assert_true(cove_total(&r, "SUM( I14 )", &v)); /* spaces ignored */
    assert_int_equal(v, 5);
    assert_false(cove_total(&r, "COUNT(AT==1)", &v));
    cove_reply_free(&r);

    /* No visa, totalStatistics null, numeric totals, object-shaped totals. */
    assert_int_equal(
        cove_parse_reply(S("{\"result\":{\"result\":[],\"totalStatistics\":null}}"), &r, &e), 0);
    assert_null(r.visa);
    assert_int_equal(r.ntotals, 0);
    assert_false(cove_total(&r, "COUNT(1)", &v));
    cove_reply_free(&r);
    assert_int_equal(
        cove_parse_reply(S("{\"result\":{\"result\":[],\"totalStatistics\":{\"COUNT(1)\":7}}}"), &r,
                         &e),
        0);
    assert_true(cove_total(&r, "COUNT(1)", &v));
    assert_int_equal(v, 7);
    cove_reply_free(&r);
    /* Wrong-typed totals are "unknown", never a crash. */
    assert_int_equal(cove_parse_reply(S("{\"result\":{\"result\":[],\"totalStatistics\":[1,"
                                        "{\"COUNT(1)\":\"x\"}]},\"visa\":5}"),
                                      &r, &e),
                     0);
    assert_false(cove_total(&r, "COUNT(1)", &v));
    assert_null(r.visa);
    cove_reply_free(&r);
    /* Other shapes give no count to trust (the poll is then partial). */
    const char *untrusted[] = {
        "{\"result\":{\"result\":[]}}",
        "{\"result\":{\"result\":[],\"totalStatistics\":\"30\"}}",
        "{\"result\":{\"result\":[],\"totalStatistics\":30}}",
        "{\"result\":{\"result\":[],\"totalStatistics\":[[{\"COUNT(1)\":\"30\"}]]}}",
        "{\"result\":{\"result\":[],\"totalStatistics\":[{\"COUNT(1)\":\"n/a\"}]}}",
        "{\"result\":{\"result\":[],\"totalStatistics\":[{\"COUNT(1)\":null}]}}",
        "{\"result\":{\"result\":[],\"totalStatistics\":{\"COUNT(1)\":{\"v\":30}}}}",
        "{\"result\":{\"result\":[],\"totalStatistics\":[{\"COUNT(1)\":\"3.5\"}]}}",
        "{\"result\":{\"result\":[]},\"totalStatistics\":[{\"COUNT(1)\":\"30\"}]}",
    };
    for (size_t i = 0; i < sizeof untrusted / sizeof untrusted[0]; i++) {
        assert_int_equal(cove_parse_reply(S(untrusted[i]), &r, &e), 0);
        assert_false(cove_total(&r, "COUNT(1)", &v));
        cove_reply_free(&r);
    }
    /* result.result null → no rows. */
    assert_int_equal(cove_parse_reply(S("{\"result\":{\"result\":null}}"), &r, &e), 0);
    assert_int_equal(r.result_kind, COVE_RESULT_NONE);
    assert_int_equal(r.nrows, 0);
    cove_reply_free(&r);
    /* A flatter envelope {"result": [rows]} is tolerated; a Login-shaped result is an object. */
    assert_int_equal(
        cove_parse_reply(S("{\"result\":[{\"AccountId\":1},{\"AccountId\":2}]}"), &r, &e), 0);
    assert_int_equal(r.result_kind, COVE_RESULT_ROWS);
    assert_int_equal(r.nrows, 2);
    cove_reply_free(&r);
    assert_int_equal(cove_parse_reply(S("{\"result\":{\"result\":{\"PartnerId\":3}}}"), &r, &e), 0);
    assert_int_equal(r.result_kind, COVE_RESULT_OBJECT);
    assert_true(r.has_partner_id);
    cove_reply_free(&r);
    cove_reply_free(NULL);
}

static void test_envelope_errors(void **state)
{
    struct cove_reply r;
    struct bk_err e = {0};
    assert_int_equal(
        cove_parse_reply(S("{\"id\":\"jsonrpc\",\"jsonrpc\":\"2.0\",\"error\":{\"code\":"
                           "-32603,\"data\":2100,\"message\":\"Unknown partner/"
                           "username or bad password\"}}"),
                         &r, &e),
        -BK_EAUTH);
    assert_int_equal(e.code, BK_EAUTH);
    assert_string_equal(e.msg, "Cove rejected partner/username/password (2100)");
    assert_int_equal(r.error_data, 2100);
    assert_int_equal(r.error_code, -32603);
    cove_reply_free(&r);

    assert_int_equal(cove_parse_reply(S("{\"error\":{\"code\":-32603,\"data\":1701,\"message\":"
                                        "\"Visa is inconsistent/corrupted\"}}"),
                                      &r, &e),
                     -BK_ESESSION);
    assert_non_null(strstr(e.msg, "1701"));
    cove_reply_free(&r);

    /* data as a string; an error reply's visa stays readable. */
    assert_int_equal(
        cove_parse_reply(S("{\"error\":{\"code\":-32603,\"data\":\"13501\",\"message\":"
                           "\"Operation failed because of security reasons\"},"
                           "\"visa\":\"v2\"}"),
                         &r, &e),
        -BK_EPERM);
    assert_non_null(strstr(e.msg, "13501"));
    assert_string_equal(r.visa, "v2");
    cove_reply_free(&r);

    assert_int_equal(cove_parse_reply(S("{\"error\":{\"code\":-32603,\"data\":14409,\"message\":"
                                        "\"Too many\\nlogins\"}}"),
                                      &r, &e),
                     -BK_EPROTO);
    assert_non_null(strstr(e.msg, "code -32603"));
    assert_non_null(strstr(e.msg, "data 14409"));
    assert_non_null(strstr(e.msg, "Too many logins")); /* control characters flattened */
    assert_true(r.vendor_error); /* the vendor's answer: reported, never retried */
    assert_non_null(strstr(e.msg, "Cove vendor error"));
    cove_reply_free(&r);

    assert_int_equal(cove_parse_reply(S("{\"error\":{\"code\":-32603,\"data\":19001,\"message\":"
                                        "\"Internal error\"},\"visa\":\"v3\"}"),
                                      &r, &e),
                     -BK_EPROTO);
    assert_true(r.vendor_error);
    assert_string_equal(e.msg, "Cove vendor error (code -32603, data 19001): Internal error");
    cove_reply_free(&r);

    assert_int_equal(cove_parse_reply(S("{\"error\":{\"code\":-32601,\"message\":\"Method not "
                                        "found\"}}"),
                                      &r, &e),
                     -BK_EPROTO);
    assert_non_null(strstr(e.msg, "data none"));
    assert_true(r.vendor_error);
    cove_reply_free(&r);
    /* A garbled error member is a malformed reply (retried), not a vendor answer. */
    assert_int_equal(cove_parse_reply(S("{\"error\":\"boom\"}"), &r, &e), -BK_EPROTO);
    assert_false(r.vendor_error);
    cove_reply_free(&r);
    /* The known codes have their own statuses. */
    assert_int_equal(cove_parse_reply(S("{\"error\":{\"code\":-32603,\"data\":2100}}"), &r, &e),
                     -BK_EAUTH);
    assert_false(r.vendor_error);
    cove_reply_free(&r);
    /* error: null is no error. */
    assert_int_equal(cove_parse_reply(S("{\"error\":null,\"result\":{\"result\":[]}}"), &r, &e), 0);
    cove_reply_free(&r);
}

static void test_envelope_malformed(void **state)
{
    struct cove_reply r;
    struct bk_err e = {0};
    const char *bad[] = {
        "",
        "{",
        "{\"result\":{\"result\":[{\"AccountId\":1,\"Settings\":[{\"I1\":\"x",
        "<html>502 Bad Gateway</html>",
        "[1,2]",
        "42",
        "{\"jsonrpc\":\"2.0\"}",
        "{\"result\":5}",
        "{\"result\":{\"result\":[]}} trailing",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bk_err_clear(&e);
        assert_int_equal(cove_parse_reply(S(bad[i]), &r, &e), -BK_EPROTO);
        assert_int_equal(e.code, BK_EPROTO);
        assert_true(strlen(e.msg) > 0);
        assert_false(r.vendor_error);
        cove_reply_free(&r);
    }
    assert_int_equal(cove_parse_reply(NULL, 0, &r, &e), -BK_EPROTO);
    cove_reply_free(&r);
}

static void test_login(void **state)
{
    struct cove_login l;
    struct bk_err e = {0};
    assert_int_equal(cove_parse_login(S("{\"id\":\"1\",\"jsonrpc\":\"2.0\",\"result\":{\"result\":{"
                                        "\"EmailAddress\":\"a@b\",\"Flags\":[\"SecurityOfficer\"],"
                                        "\"Id\":50193,\"PartnerId\":33491,\"Password\":null}},"
                                        "\"visa\":\"33491-50193-1-1700000000-ABC\"}"),
                                      &l, &e),
                     0);
    assert_string_equal(l.visa, "33491-50193-1-1700000000-ABC");
    assert_int_equal(l.partner_id, 33491);
    cove_login_clear(&l);
    assert_int_equal(
        cove_parse_login(S("{\"result\":{\"result\":{\"PartnerId\":\"42\"}},\"visa\":\"v\"}"), &l,
                         &e),
        0);
    assert_int_equal(l.partner_id, 42);
    cove_login_clear(&l);
    assert_int_equal(cove_parse_login(S("{\"result\":{\"result\":{\"PartnerId\":42}}}"), &l, &e),
                     -BK_EPROTO);
    assert_non_null(strstr(e.msg, "visa"));
    assert_int_equal(
        cove_parse_login(S("{\"result\":{\"result\":{\"Id\":1}},\"visa\":\"v\"}"), &l, &e),
        -BK_EPROTO);
    assert_int_equal(cove_parse_login(S("{\"result\":{\"result\":{\"PartnerId\":\"x\"}},"
                                        "\"visa\":\"v\"}"),
                                      &l, &e),
                     -BK_EPROTO);
    assert_int_equal(cove_parse_login(S("{\"error\":{\"code\":-32603,\"data\":2100,\"message\":"
                                        "\"Unknown partner/username or bad password\"}}"),
                                      &l, &e),
                     -BK_EAUTH);
    assert_null(l.visa);
    assert_false(l.vendor_error);
    /* Malformed (retryable) versus a vendor error (reported as is). */
    assert_int_equal(cove_parse_login(S("{\"result\":"), &l, &e), -BK_EPROTO);
    assert_false(l.vendor_error);
    assert_int_equal(cove_parse_login(S("{\"result\":{\"result\":{\"PartnerId\":42}}}"), &l, &e),
                     -BK_EPROTO);
    assert_false(l.vendor_error);
    assert_int_equal(cove_parse_login(S("{\"error\":{\"code\":-32603,\"data\":14409,"
                                        "\"message\":\"Too many concurrent login requests\"}}"),
                                      &l, &e),
                     -BK_EPROTO);
    assert_true(l.vendor_error);
    assert_non_null(strstr(e.msg, "data 14409"));
    assert_non_null(strstr(e.msg, "Too many concurrent login requests"));
    assert_null(l.visa);
    cove_login_clear(NULL);
}

static void test_code_canon(void **state)
{
    char out[16];
    const char *in[] = {"D9F0", "D09F00", "D9F00", "D009F000", "I1", "I01", "D19F0", "D5F20"};
    const char *want[] = {"D09F00", "D09F00", "D09F00", "D09F00", "I1", "I1", "D19F00", "D05F20"};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        assert_true(cove_code_canon(in[i], out, sizeof out));
        assert_string_equal(out, want[i]);
    }
    const char *bad[] = {"AN",    "T0", "AA843", "D",   "DF0",     "D9", "D9F",
                         "D9F0x", "I",  "i1",    "I1 ", "D1234F0", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(cove_code_canon(bad[i], out, sizeof out));
    assert_false(cove_code_canon(NULL, out, sizeof out));
}

static void test_flatten(void **state)
{
    struct one_row *o = malloc(sizeof *o);
    struct cove_row *r = &o->row;
    /* Unpadded and padded codes, any order, numbers, an unrequested key, a legacy key, a
     * null, a bool and an object value, Flags null, a multi-key element and a non-object
     * element. */
    assert_int_equal(
        flatten("{\"AccountId\":\"654321\",\"Flags\":null,\"PartnerId\":456789,"
                "\"Settings\":[{\"I78\":\"D01D02\"},{\"D9F0\":\"5\"},{\"I1\":\"pc1\"},"
                "{\"I14\":586755749630},{\"D9F12\":12.0},{\"D01F07\":1.5},"
                "{\"AN\":\"legacy\"},{\"I8\":null},{\"I32\":true},{\"I2\":{\"a\":[1]}},"
                "{\"D09F15\":\"1700000000\",\"D9F6\":\"3\"},7]}",
                o),
        0);
    assert_int_equal(r->account_id, 654321);
    assert_true(r->has_partner);
    assert_int_equal(r->partner_id, 456789);
    assert_string_equal(cove_row_get(r, "D09F00"), "5");
    assert_string_equal(cove_row_get(r, "D9F00"), "5");
    assert_string_equal(cove_row_get(r, "D9F0"), "5");
    assert_string_equal(cove_row_get(r, "I1"), "pc1");
    assert_string_equal(cove_row_get(r, "I14"), "586755749630");
    assert_string_equal(cove_row_get(r, "D09F12"), "12.0"); /* numbers keep their spelling */
    assert_string_equal(cove_row_get(r, "D1F7"), "1.5");
    assert_string_equal(cove_row_get(r, "D09F15"), "1700000000");
    assert_string_equal(cove_row_get(r, "D09F06"), "3");
    assert_string_equal(cove_row_get(r, "I78"), "D01D02");
    assert_null(cove_row_get(r, "I8"));  /* null = absent */
    assert_null(cove_row_get(r, "I32")); /* bool = absent */
    assert_null(cove_row_get(r, "I2"));  /* structure = absent */
    assert_null(cove_row_get(r, "I18")); /* missing */
    assert_null(cove_row_get(r, "AN"));  /* legacy codes are not kept */
    assert_null(cove_row_get(r, "bogus"));
    assert_int_equal(r->nsettings, 8);
    cove_reply_free(&o->reply);

    /* Flags as an array, Settings as one flat object, no PartnerId, a later duplicate wins. */
    assert_int_equal(flatten("{\"AccountId\":7,\"Flags\":[\"AutoDeployed\"],\"Settings\":{"
                             "\"I1\":\"a\",\"D09F00\":\"8\",\"D9F0\":\"2\"}}",
                             o),
                     0);
    assert_false(r->has_partner);
    assert_string_equal(cove_row_get(r, "D09F00"), "2");
    assert_int_equal(r->nsettings, 2);
    cove_reply_free(&o->reply);

    /* No Settings at all is a device we know nothing about, not an error. */
    assert_int_equal(flatten("{\"AccountId\":8}", o), 0);
    assert_int_equal(r->nsettings, 0);
    cove_reply_free(&o->reply);

    /* Without a usable AccountId the row is refused. */
    const char *bad[] = {"{\"PartnerId\":1,\"Settings\":[]}",
                         "{\"AccountId\":null}",
                         "{\"AccountId\":\"abc\"}",
                         "{\"AccountId\":-5}",
                         "{\"AccountId\":1.5}",
                         "{\"AccountId\":99999999999999999999}",
                         "[1]",
                         "\"x\"",
                         "null"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(flatten(bad[i], o), -BK_EPROTO);
        cove_reply_free(&o->reply);
    }
    free(o);

    /* Many settings: the table stays bounded and lookups still work. */
    struct cove_reply rep;
    struct bk_err e = {0};
    char *big = malloc(16384);
    int n = snprintf(big, 16384, "{\"result\":{\"result\":[{\"AccountId\":9,\"Settings\":[");
    for (int i = 0; i < 400; i++)
        n += snprintf(big + n, 16384 - (size_t)n, "%s{\"I%d\":\"v\"}", i ? "," : "", i);
    snprintf(big + n, 16384 - (size_t)n, "]}]}}");
    assert_int_equal(cove_parse_reply(big, strlen(big), &rep, &e), 0);
    struct cove_row *row = malloc(sizeof *row);
    assert_int_equal(cove_reply_row(&rep, 0, row, &e), 0);
    assert_int_equal(row->nsettings, COVE_ROW_MAX);
    assert_int_equal(row->dropped, 400 - COVE_ROW_MAX);
    assert_string_equal(cove_row_get(row, "I0"), "v");
    assert_null(cove_row_get(row, "I399"));
    assert_int_equal(cove_reply_row(&rep, 1, row, &e), -BK_EINVAL);
    free(row);
    free(big);
    cove_reply_free(&rep);
}

/* The one-pass reader: everything jansson accepts that matters here, and what it refuses. */
static void test_json_reader(void **state)
{
    struct cove_reply r;
    struct bk_err e = {0};
    struct cove_row row;
    /* Escapes, UTF-8, surrogate pairs, whitespace everywhere, unknown nested members. */
    const char *good = " \r\n{ \"id\" : 1 , \"homeNodeInfo\":{\"a\":[true,false,null,-0.5e+3,"
                       "{\"b\":[[]]}]},\"result\" : { \"result\" : [ { \"AccountId\" : 1 ,"
                       " \"Settings\" : [ { \"I1\" : \"caf\\u00e9 \\\"q\\\" \\/\\\\\\n\" } ,"
                       " {\"I8\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 \\ud83d\\ude00\"} ,"
                       " {\"I\\u0031\\u0038\":\"esc key\"} ] } ] ,"
                       " \"totalStatistics\" : [ ] } , \"visa\" : \"v\" } \t\n";
    assert_int_equal(cove_parse_reply(S(good), &r, &e), 0);
    assert_int_equal(r.nrows, 1);
    assert_int_equal(cove_reply_row(&r, 0, &row, &e), 0);
    assert_string_equal(cove_row_get(&row, "I1"), "caf\xc3\xa9 \"q\" /\\\n");
    assert_string_equal(cove_row_get(&row, "I8"),
                        "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 \xf0\x9f\x98\x80");
    assert_string_equal(cove_row_get(&row, "I18"), "esc key");
    assert_string_equal(r.visa, "v");
    cove_reply_free(&r);

    const char *bad[] = {
        "{\"result\":{\"result\":[]},}",                /* trailing comma */
        "{\"result\":{\"result\":[1,]}}",               /* trailing comma */
        "{\"result\":{\"result\":[01]}}",               /* leading zero */
        "{\"result\":{\"result\":[1.]}}",               /* bad fraction */
        "{\"result\":{\"result\":[1e]}}",               /* bad exponent */
        "{\"result\":{\"result\":[-]}}",                /* bare minus */
        "{\"result\":{\"result\":[+1]}}",               /* plus sign */
        "{\"result\":{\"result\":[tru]}}",              /* bad literal */
        "{\"result\":{\"result\":[\"\\x\"]}}",          /* bad escape */
        "{\"result\":{\"result\":[\"\\u12G4\"]}}",      /* bad hex */
        "{\"result\":{\"result\":[\"\\ud800\"]}}",      /* lone high surrogate */
        "{\"result\":{\"result\":[\"\\udc00\"]}}",      /* lone low surrogate */
        "{\"result\":{\"result\":[\"\\u0000\"]}}",      /* NUL */
        "{\"result\":{\"result\":[\"a\tb\"]}}",         /* raw control character */
        "{\"result\":{\"result\":[\"\xff\"]}}",         /* invalid UTF-8 */
        "{\"result\":{\"result\":[\"\xc0\xaf\"]}}",     /* overlong */
        "{\"result\":{\"result\":[\"\xed\xa0\x80\"]}}", /* encoded surrogate */
        "{\"result\":{\"result\":[\"\xe2\x82\"]}}",     /* cut sequence */
        "{\"result\":{\"result\":[\"abc",               /* unterminated */
        "{\"result\":{\"result\":[{\"a\" 1}]}}",        /* missing colon */
        "{\"result\":{\"result\":[{1:2}]}}",            /* non-string key */
        "{\"result\":{\"result\":[]}}}",                /* extra close */
        "{\"result\":{\"result\":[]}",                  /* missing close */
        "{\"result\":{\"result\":[]}} {}",              /* two documents */
        "\xef\xbb\xbf{\"result\":null}",                /* BOM */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bk_err_clear(&e);
        if (cove_parse_reply(S(bad[i]), &r, &e) != -BK_EPROTO)
            fail_msg("accepted bad JSON #%zu: %s", i, bad[i]);
        assert_non_null(strstr(e.msg, "Cove"));
        cove_reply_free(&r);
    }
    /* Nesting is bounded (no stack exhaustion on a hostile reply). */
    char deep[400];
    int n = snprintf(deep, sizeof deep, "{\"x\":");
    for (int i = 0; i < 100; i++)
        deep[n++] = '[';
    for (int i = 0; i < 100; i++)
        deep[n++] = ']';
    snprintf(deep + n, sizeof deep - (size_t)n, ",\"result\":null}");
    assert_int_equal(cove_parse_reply(S(deep), &r, &e), -BK_EPROTO);
    assert_non_null(strstr(e.msg, "nesting"));
    cove_reply_free(&r);
    /* An embedded NUL byte is refused, not silently truncated. */
    const char nul[] = "{\"result\":{\"result\":[]}}\0";
    assert_int_equal(cove_parse_reply(nul, sizeof nul - 1, &r, &e), -BK_EPROTO);
    cove_reply_free(&r);
}

static void test_status_table(void **state)
{
    struct {
        const char *raw;
        bool ran;
        enum bk_run_status st;
    } t[] = {
        {"1", true, BK_RUN_RUNNING},   {"2", true, BK_RUN_FAILED},    {"3", true, BK_RUN_FAILED},
        {"4", true, BK_RUN_UNKNOWN},   {"5", true, BK_RUN_SUCCESS},   {"6", true, BK_RUN_FAILED},
        {"7", true, BK_RUN_FAILED},    {"8", true, BK_RUN_WARNING},   {"9", true, BK_RUN_RUNNING},
        {"10", true, BK_RUN_FAILED},   {"11", true, BK_RUN_FAILED},   {"12", true, BK_RUN_WARNING},
        {"99", true, BK_RUN_UNKNOWN},  {"-1", true, BK_RUN_UNKNOWN},  {"abc", true, BK_RUN_UNKNOWN},
        {"13", true, BK_RUN_UNKNOWN},  {"0", false, BK_RUN_UNKNOWN},  {"", false, BK_RUN_UNKNOWN},
        {NULL, false, BK_RUN_UNKNOWN}, {"5.0", true, BK_RUN_SUCCESS},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        bool ran;
        enum bk_run_status st = cove_session_status(t[i].raw, &ran);
        if (st != t[i].st || ran != t[i].ran)
            fail_msg("status \"%s\": got %d/%d", t[i].raw ? t[i].raw : "(null)", st, ran);
    }
    /* The same unmapped code twice is logged once (visible on stderr; must not crash). */
    bool ran;
    cove_session_status("99", &ran);
    assert_string_equal(cove_session_name(5), "Completed");
    assert_string_equal(cove_session_name(8), "Completed with errors");
    assert_null(cove_session_name(4));
    assert_null(cove_session_name(0));
    assert_null(cove_session_name(13));
}

/* Every status code through the whole row mapping: run presence, status, raw, message. */
static void test_run_mapping(void **state)
{
    struct {
        const char *f00;
        bool has_run;
        enum bk_run_status st;
        const char *msg;
    } t[] = {
        {"1", true, BK_RUN_RUNNING, "In progress (3 errors)"},
        {"2", true, BK_RUN_FAILED, "Failed (3 errors)"},
        {"3", true, BK_RUN_FAILED, "Aborted (3 errors)"},
        {"4", true, BK_RUN_UNKNOWN, "Unknown status 4 (3 errors)"},
        {"5", true, BK_RUN_SUCCESS, "Completed (3 errors)"},
        {"6", true, BK_RUN_FAILED, "Interrupted (3 errors)"},
        {"7", true, BK_RUN_FAILED, "Not started (3 errors)"},
        {"8", true, BK_RUN_WARNING, "Completed with errors (3 errors)"},
        {"9", true, BK_RUN_RUNNING, "In progress with faults (3 errors)"},
        {"10", true, BK_RUN_FAILED, "Over quota (3 errors)"},
        {"11", true, BK_RUN_FAILED, "No selection (3 errors)"},
        {"12", true, BK_RUN_WARNING, "Restarted (3 errors)"},
        {"99", true, BK_RUN_UNKNOWN, "Unknown status 99 (3 errors)"},
        {"0", false, 0, NULL},
        {"", false, 0, NULL},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char json[256];
        snprintf(json, sizeof json,
                 "{\"AccountId\":11,\"PartnerId\":2,\"Settings\":[{\"D09F00\":\"%s\"},"
                 "{\"D09F06\":\"3\"},{\"D09F12\":\"600\"},{\"D09F15\":\"1767225600\"}]}",
                 t[i].f00);
        struct bk_job_rec job;
        struct bk_run_rec run;
        bool has_run;
        assert_int_equal(map(json, &job, &run, &has_run), 0);
        assert_int_equal(has_run, t[i].has_run);
        if (has_run) {
            assert_int_equal(run.status, t[i].st);
            assert_string_equal(run.raw_status, t[i].f00);
            assert_string_equal(run.message, t[i].msg);
            assert_string_equal(run.job_external_id, "11");
            assert_string_equal(run.vendor_run_id, "1767225600");
            assert_int_equal(run.start_ms, 1767225600000LL);
            assert_int_equal(run.error_count, 3);
            /* Running sessions have no end yet; final ones end after D09F12 seconds. */
            assert_int_equal(run.end_ms, t[i].st == BK_RUN_RUNNING ? 0 : 1767225600000LL + 600000);
        } else {
            assert_null(run.raw_status);
            assert_null(run.vendor_run_id);
        }
        bk_job_rec_clear(&job);
        bk_run_rec_clear(&run);
    }

    /* No D09F15 (or not positive) → never ran, whatever D09F00 says. */
    const char *never[] = {
        "{\"AccountId\":1,\"Settings\":[{\"D09F00\":\"5\"}]}",
        "{\"AccountId\":1,\"Settings\":[{\"D09F00\":\"5\"},{\"D09F15\":\"0\"}]}",
        "{\"AccountId\":1,\"Settings\":[{\"D09F00\":\"5\"},{\"D09F15\":\"-3\"}]}",
        "{\"AccountId\":1,\"Settings\":[{\"D09F00\":\"5\"},{\"D09F15\":\"soon\"}]}",
        "{\"AccountId\":1,\"Settings\":[{\"D09F15\":\"1767225600\"}]}",
    };
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++) {
        struct bk_job_rec job;
        struct bk_run_rec run;
        bool has_run = true;
        assert_int_equal(map(never[i], &job, &run, &has_run), 0);
        assert_false(has_run);
        assert_string_equal(job.external_id, "1");
        bk_job_rec_clear(&job);
        bk_run_rec_clear(&run);
    }

    /* Numbers instead of strings, unpadded codes, no error count, no duration, one error. */
    struct bk_job_rec job;
    struct bk_run_rec run;
    bool has_run;
    assert_int_equal(map("{\"AccountId\":12,\"Settings\":[{\"D9F0\":2},{\"D9F15\":1767225600}]}",
                         &job, &run, &has_run),
                     0);
    assert_true(has_run);
    assert_int_equal(run.status, BK_RUN_FAILED);
    assert_string_equal(run.raw_status, "2");
    assert_int_equal(run.error_count, -1);
    assert_int_equal(run.end_ms, 0);
    assert_string_equal(run.message, "Failed");
    bk_job_rec_clear(&job);
    bk_run_rec_clear(&run);
    assert_int_equal(map("{\"AccountId\":12,\"Settings\":[{\"D9F0\":\"8\"},{\"D9F6\":\"1\"},"
                         "{\"D9F15\":\"1767225600\"}]}",
                         &job, &run, &has_run),
                     0);
    assert_string_equal(run.message, "Completed with errors (1 error)");
    bk_job_rec_clear(&job);
    bk_run_rec_clear(&run);

    /* A row without AccountId is refused, records left empty. */
    assert_int_equal(map("{\"Settings\":[{\"I1\":\"x\"}]}", &job, &run, &has_run), -BK_EPROTO);
    assert_null(job.external_id);
    assert_false(has_run);
}

static void test_job_mapping(void **state)
{
    struct {
        const char *settings;
        const char *name, *kind;
    } t[] = {
        {"{\"I1\":\"pc\"},{\"I59\":\"2\"},{\"I32\":\"2\"}", "pc", "m365"},
        {"{\"I1\":\"pc\"},{\"I59\":\"1\"},{\"I32\":\"2\"}", "pc", "server"},
        {"{\"I1\":\"pc\"},{\"I32\":\"1\"},{\"I18\":\"HOST\"}", "pc", "workstation"},
        {"{\"I32\":\"0\"},{\"I18\":\"HOST\"}", "HOST", "server"},
        {"{\"I1\":\"\"},{\"I18\":\"HOST\"}", "HOST", "server"},
        {"{\"I32\":\"0\"}", "77", "unknown"},
        {"{\"I59\":2}", "77", "m365"},
        {"{\"I59\":\"x\"},{\"I32\":\"x\"}", "77", "unknown"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char json[256];
        snprintf(json, sizeof json, "{\"AccountId\":77,\"PartnerId\":5,\"Settings\":[%s]}",
                 t[i].settings);
        struct bk_job_rec job;
        struct bk_run_rec run;
        bool has_run;
        assert_int_equal(map(json, &job, &run, &has_run), 0);
        assert_string_equal(job.name, t[i].name);
        assert_string_equal(job.kind, t[i].kind);
        assert_string_equal(job.external_id, "77");
        assert_string_equal(job.customer_ext_id, "5");
        bk_job_rec_clear(&job);
        bk_run_rec_clear(&run);
    }
    struct bk_job_rec job;
    struct bk_run_rec run;
    bool has_run;
    assert_int_equal(
        map("{\"AccountId\":1,\"Settings\":[{\"I8\":\"Acme Corp\"}]}", &job, &run, &has_run), 0);
    assert_string_equal(job.customer_name, "Acme Corp");
    assert_null(job.customer_ext_id);
    assert_null(job.colour_bar);
    assert_int_equal(job.colour_bar_as_of_ms, 0);
    bk_job_rec_clear(&job);
}

static void test_colour_bar(void **state)
{
    struct {
        const char *in, *want;
    } t[] = {
        {"5555555555555555555555555558", "5555555555555555555555555558"},
        {"555542345555555", "555542345555555"},
        {" 0005 ", "0005"},
        {"55a5", NULL},
        {"55-5", NULL},
        {"", NULL},
        {"   ", NULL},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char json[256];
        snprintf(json, sizeof json, "{\"AccountId\":1,\"Settings\":[{\"D09F08\":\"%s\"}]}",
                 t[i].in);
        struct bk_job_rec job;
        struct bk_run_rec run;
        bool has_run;
        assert_int_equal(map(json, &job, &run, &has_run), 0);
        if (t[i].want) {
            assert_string_equal(job.colour_bar, t[i].want);
            assert_int_equal(job.colour_bar_as_of_ms, POLL_MS);
        } else {
            assert_null(job.colour_bar);
        }
        bk_job_rec_clear(&job);
    }
    /* A number is tolerated; an absurdly long bar keeps its most recent (last) days. */
    struct bk_job_rec job;
    struct bk_run_rec run;
    bool has_run;
    assert_int_equal(map("{\"AccountId\":1,\"Settings\":[{\"D9F8\":5558}]}", &job, &run, &has_run),
                     0);
    assert_string_equal(job.colour_bar, "5558");
    bk_job_rec_clear(&job);
    char json[1200];
    int n = snprintf(json, sizeof json, "{\"AccountId\":1,\"Settings\":[{\"D09F08\":\"");
    for (int i = 0; i < 1000; i++)
        json[n++] = i == 999 ? '8' : '5';
    snprintf(json + n, sizeof json - (size_t)n, "\"}]}");
    assert_int_equal(map(json, &job, &run, &has_run), 0);
    assert_int_equal(strlen(job.colour_bar), 366);
    assert_int_equal(job.colour_bar[365], '8');
    bk_job_rec_clear(&job);
}

static void test_objects(void **state)
{
    struct bk_job_rec job;
    struct bk_run_rec run;
    bool has_run;
    assert_int_equal(
        map("{\"AccountId\":3,\"Settings\":[{\"D09F00\":\"8\"},{\"D09F15\":\"1767225600\"},"
            "{\"I78\":\"D1D09D10D19D99D1D07\"},{\"D01F00\":\"5\"},{\"D1F15\":\"1767225600\"},"
            "{\"D10F00\":\"2\"},{\"D19F00\":\"0\"},{\"D99F00\":\"77\"}]}",
            &job, &run, &has_run),
        0);
    assert_true(has_run);
    /* D1 short form, D09 dropped, duplicates once, unknown D99 named by its code, D07 with
     * no F00 at all. */
    assert_int_equal(run.nobjects, 5);
    assert_string_equal(run.objects[0].name, "Files and Folders");
    assert_int_equal(run.objects[0].status, BK_RUN_SUCCESS);
    assert_string_equal(run.objects[0].raw_status, "5");
    assert_string_equal(run.objects[0].message, "last session 2026-01-01T00:00:00Z");
    assert_string_equal(run.objects[1].name, "VSS MS SQL");
    assert_int_equal(run.objects[1].status, BK_RUN_FAILED);
    assert_null(run.objects[1].message);
    assert_string_equal(run.objects[2].name, "Microsoft 365 Exchange");
    assert_int_equal(run.objects[2].status, BK_RUN_UNKNOWN);
    assert_string_equal(run.objects[2].raw_status, "0");
    assert_string_equal(run.objects[3].name, "D99");
    assert_int_equal(run.objects[3].status, BK_RUN_UNKNOWN);
    assert_string_equal(run.objects[3].raw_status, "77");
    assert_string_equal(run.objects[4].name, "VSS System State");
    assert_string_equal(run.objects[4].raw_status, "");
    bk_job_rec_clear(&job);
    bk_run_rec_clear(&run);

    /* Separators and legacy letters are skipped; no I78 → no objects. */
    assert_int_equal(map("{\"AccountId\":3,\"Settings\":[{\"D09F00\":\"5\"},{\"D09F15\":\"17\"},"
                         "{\"I78\":\"FS,D04 D23x\"}]}",
                         &job, &run, &has_run),
                     0);
    assert_int_equal(run.nobjects, 2);
    assert_string_equal(run.objects[0].name, "VSS Exchange");
    assert_string_equal(run.objects[1].name, "Microsoft 365 Teams");
    bk_job_rec_clear(&job);
    bk_run_rec_clear(&run);
    assert_int_equal(map("{\"AccountId\":3,\"Settings\":[{\"D09F00\":\"5\"},{\"D09F15\":\"17\"}]}",
                         &job, &run, &has_run),
                     0);
    assert_int_equal(run.nobjects, 0);
    bk_job_rec_clear(&job);
    bk_run_rec_clear(&run);

    assert_string_equal(cove_datasource_name("D08"), "VMware Virtual Machines");
    assert_string_equal(cove_datasource_name("D8"), "VMware Virtual Machines");
    assert_string_equal(cove_datasource_name("D14"), "Hyper-V");
    assert_null(cove_datasource_name("D13"));
    assert_null(cove_datasource_name("D500"));
    assert_null(cove_datasource_name("X1"));
}

static void test_map_page(void **state)
{
    struct cove_reply r;
    struct bk_err e = {0};
    const char *body =
        "{\"result\":{\"result\":["
        "{\"AccountId\":1,\"PartnerId\":9,\"Flags\":null,\"Settings\":[{\"I1\":\"a\"},"
        "{\"D09F00\":\"5\"},{\"D09F15\":\"1767225600\"}]},"
        "{\"PartnerId\":9,\"Settings\":[{\"I1\":\"no id\"}]},"
        "{\"AccountId\":2,\"PartnerId\":9,\"Settings\":[{\"I1\":\"b\"}]},"
        "null]},\"visa\":\"v\"}";
    assert_int_equal(cove_parse_reply(S(body), &r, &e), 0);
    struct bk_batch b = {0};
    size_t rows, skipped;
    assert_int_equal(cove_map_page(&r, POLL_MS, &b, &rows, &skipped, &e), 0);
    assert_int_equal(rows, 4);
    assert_int_equal(skipped, 2);
    assert_int_equal(b.njobs, 2);
    assert_int_equal(b.nruns, 1);
    assert_string_equal(b.jobs[1].name, "b");
    assert_string_equal(b.runs[0].job_external_id, "1");
    bk_batch_free(&b);
    cove_reply_free(&r);

    assert_int_equal(cove_parse_reply(S("{\"result\":{\"result\":{\"AccountId\":1}}}"), &r, &e), 0);
    assert_int_equal(cove_map_page(&r, POLL_MS, &b, &rows, &skipped, &e), -BK_EPROTO);
    cove_reply_free(&r);
    assert_int_equal(cove_parse_reply(S("{\"result\":{\"result\":null}}"), &r, &e), 0);
    assert_int_equal(cove_map_page(&r, POLL_MS, &b, &rows, &skipped, &e), 0);
    assert_int_equal(rows, 0);
    cove_reply_free(&r);
    bk_batch_free(&b);
}

static void test_columns(void **state)
{
    size_t n;
    const char *const *c = cove_columns(&n);
    assert_int_equal(n, 16 + 13 * 2);
    bool f15 = false, i78 = false;
    for (size_t i = 0; i < n; i++) {
        char canon[16];
        assert_true(cove_code_canon(c[i], canon, sizeof canon));
        assert_string_equal(canon, c[i]); /* asked for in canonical form */
        assert_false(strncmp(c[i], "D02", 3) == 0 || strncmp(c[i], "D03", 3) == 0);
        f15 |= strcmp(c[i], "D09F15") == 0;
        i78 |= strcmp(c[i], "I78") == 0;
    }
    assert_true(f15 && i78);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envelope_success),   cmocka_unit_test(test_envelope_errors),
        cmocka_unit_test(test_envelope_malformed), cmocka_unit_test(test_login),
        cmocka_unit_test(test_code_canon),         cmocka_unit_test(test_flatten),
        cmocka_unit_test(test_json_reader),        cmocka_unit_test(test_status_table),
        cmocka_unit_test(test_run_mapping),        cmocka_unit_test(test_job_mapping),
        cmocka_unit_test(test_colour_bar),         cmocka_unit_test(test_objects),
        cmocka_unit_test(test_map_page),           cmocka_unit_test(test_columns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
