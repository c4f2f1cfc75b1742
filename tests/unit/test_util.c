/* Unit tests of util/: durations, numbers, booleans, ISO 8601, bounded buffers, redaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"
#include "util/timeutil.h"

#include <stdlib.h>
#include <string.h>

static void test_durations(void **state)
{
    double d;
    assert_int_equal(str_parse_duration("30", &d), 0);
    assert_true(d == 30);
    assert_int_equal(str_parse_duration("0.05", &d), 0);
    assert_true(d > 0.0499 && d < 0.0501);
    assert_int_equal(str_parse_duration("90s", &d), 0);
    assert_true(d == 90);
    assert_int_equal(str_parse_duration("15m", &d), 0);
    assert_true(d == 900);
    assert_int_equal(str_parse_duration("2h", &d), 0);
    assert_true(d == 7200);
    assert_int_equal(str_parse_duration("1d", &d), 0);
    assert_true(d == 86400);
    const char *bad[] = {"",    "abc",  "-5", "5x", "1e3", "inf",
                         "nan", "0x10", " 5", "5 ", "m",   "99999999999999999999d"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(str_parse_duration(bad[i], &d), -BK_EINVAL);
}

static void test_numbers_and_bools(void **state)
{
    int64_t v;
    assert_int_equal(str_to_i64("-42", &v), 0);
    assert_int_equal(v, -42);
    assert_int_equal(str_to_i64("99999999999999999999", &v), -BK_EINVAL);
    assert_int_equal(str_to_i64("12a", &v), -BK_EINVAL);
    assert_int_equal(str_to_i64("", &v), -BK_EINVAL);
    bool b;
    const char *yes[] = {"yes", "YES", "True", "1", "on", "Y"};
    const char *no[] = {"no", "False", "0", "OFF", ""};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        assert_int_equal(str_parse_bool(yes[i], &b), 0);
        assert_true(b);
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        assert_int_equal(str_parse_bool(no[i], &b), 0);
        assert_false(b);
    }
    assert_int_equal(str_parse_bool("maybe", &b), -BK_EINVAL);
}

static void test_iso8601(void **state)
{
    int64_t ms;
    assert_int_equal(bk_parse_iso8601("2026-01-15T10:30:45Z", &ms), 0);
    assert_int_equal(ms, 1768473045000LL);
    assert_int_equal(bk_parse_iso8601("2026-01-15T10:30:45.123Z", &ms), 0);
    assert_int_equal(ms, 1768473045123LL);
    assert_int_equal(bk_parse_iso8601("2026-01-15T12:30:45+02:00", &ms), 0);
    assert_int_equal(ms, 1768473045000LL);
    assert_int_equal(bk_parse_iso8601("1970-01-01", &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(bk_parse_iso8601("2026-13-01T00:00:00Z", &ms), -BK_EINVAL);
    assert_int_equal(bk_parse_iso8601("2026-01-15T10:30:45Zjunk", &ms), -BK_EINVAL);
    assert_int_equal(bk_parse_iso8601("yesterday", &ms), -BK_EINVAL);
    char out[32];
    bk_iso8601(1768473045123LL, out, sizeof out);
    assert_string_equal(out, "2026-01-15T10:30:45Z");
}

static void test_buf_bounded(void **state)
{
    struct bk_buf b;
    bk_buf_init(&b, 8);
    assert_int_equal(bk_buf_appends(&b, "1234"), 0);
    assert_int_equal(bk_buf_appends(&b, "5678"), 0);
    assert_int_equal(bk_buf_appends(&b, "9"), -BK_ETOOBIG);
    assert_int_equal(b.len, 8);
    assert_string_equal(b.data, "12345678");
    bk_buf_free(&b);
    bk_buf_free(NULL);
}

static void test_redaction(void **state)
{
    log_add_secret("s3cr3t-token-value");
    char line[256] = "GET /x Authorization: Bearer s3cr3t-token-value and s3cr3t-token-value";
    log_redact(line);
    assert_null(strstr(line, "s3cr3t"));
    assert_non_null(strstr(line, "Authorization: Bearer ***"));
    char basic[128] = "authorization: Basic YWRtaW46YWRtaW4=";
    log_redact(basic);
    assert_string_equal(basic, "authorization: Basic ***");
    log_clear_secrets();
}

static void test_url_redaction(void **state)
{
    (void)state;
    char a[256] = "GET http://u:pw@h:8080/x?token=abc&pageSize=2#f -> 200";
    log_redact(a);
    assert_string_equal(a, "GET http://***@h:8080/x?***#f -> 200");
    char b[256] = "\"https://h/a?k=v\" and https://x@h2/p?q then http://plain/path";
    log_redact(b);
    assert_string_equal(b, "\"https://h/a?***\" and https://*@h2/p?* then http://plain/path");
    char c[64] = "http://h/?";
    log_redact(c);
    assert_string_equal(c, "http://h/?");
    char d[64] = "://@?";
    log_redact(d);
    assert_string_equal(d, "://@?");
}

static void test_escape_ctl(void **state)
{
    (void)state;
    char out[64];
    str_escape_ctl("a\x1b[31mb\nc|d\te\x7f\xc2\x9b\xc3\xa9", out, sizeof out, "|", false);
    assert_string_equal(out, "a\\x1b[31mb\\x0ac\\x7cd\\x09e\\x7f\\x9b\xc3\xa9");
    str_escape_ctl("a\tb", out, sizeof out, NULL, true);
    assert_string_equal(out, "a\tb");
    /* truncation never splits an escape and always terminates */
    char small[6];
    assert_int_equal(str_escape_ctl("ab\x01"
                                    "cd",
                                    small, sizeof small, NULL, false),
                     2);
    assert_string_equal(small, "ab");
    assert_true(str_url_has_userinfo("http://u:pw@host/"));
    assert_true(str_url_has_userinfo("https://token@host"));
    assert_false(str_url_has_userinfo("https://host/a@b"));
    assert_false(str_url_has_userinfo("https://host/?x=a@b"));
    assert_false(str_url_has_userinfo("https://host"));
}

static void test_err_prefix(void **state)
{
    struct bk_err e = {0};
    assert_int_equal(bk_err_set(&e, BK_EPROTO, "bad\nline"), -BK_EPROTO);
    bk_err_prefix(&e, "ctx %d: ", 7);
    assert_string_equal(e.msg, "ctx 7: bad line");
    assert_string_equal(bk_status_name(-BK_EAUTH), "auth");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),     cmocka_unit_test(test_numbers_and_bools),
        cmocka_unit_test(test_iso8601),       cmocka_unit_test(test_buf_bounded),
        cmocka_unit_test(test_redaction),     cmocka_unit_test(test_err_prefix),
        cmocka_unit_test(test_url_redaction), cmocka_unit_test(test_escape_ctl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
