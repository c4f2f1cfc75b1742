/* Unit tests of the HTTP retry policy: which failures are retried for reads and triggers,
 * and the capped, jittered backoff. The transfer itself is covered by integration tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http/http.h"
#include "util/err.h"

static void test_read_policy(void **state)
{
    assert_true(http_should_retry(HTTP_RETRY_READ, -BK_ECONNECT, 0));
    assert_true(http_should_retry(HTTP_RETRY_READ, -BK_ETIMEOUT, 0));
    assert_true(http_should_retry(HTTP_RETRY_READ, -BK_EIO, 0));
    long yes[] = {408, 429, 500, 502, 503, 504};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        assert_true(http_should_retry(HTTP_RETRY_READ, -BK_EHTTP, yes[i]));
    long no[] = {400, 404, 405, 409, 501};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        assert_false(http_should_retry(HTTP_RETRY_READ, -BK_EHTTP, no[i]));
    assert_false(http_should_retry(HTTP_RETRY_READ, -BK_EAUTH, 401));
    assert_false(http_should_retry(HTTP_RETRY_READ, -BK_ETLS, 0));
    assert_false(http_should_retry(HTTP_RETRY_READ, -BK_EDNS, 0));
    assert_false(http_should_retry(HTTP_RETRY_READ, 0, 200));
}

static void test_trigger_policy(void **state)
{
    /* Only "surely never reached the server" is retried for a trigger. */
    assert_true(http_should_retry(HTTP_RETRY_UNSENT, -BK_ECONNECT, 0));
    assert_false(http_should_retry(HTTP_RETRY_UNSENT, -BK_ETIMEOUT, 0));
    assert_false(http_should_retry(HTTP_RETRY_UNSENT, -BK_EIO, 0));
    assert_false(http_should_retry(HTTP_RETRY_UNSENT, -BK_EHTTP, 503));
    assert_false(http_should_retry(HTTP_RETRY_NONE, -BK_ECONNECT, 0));
}

static void test_backoff(void **state)
{
    struct http_opts o = {.backoff_ms = 100, .backoff_max_ms = 1000};
    unsigned seed = 12345;
    for (int attempt = 1; attempt <= 10; attempt++) {
        long full = 100L << (attempt - 1);
        if (full > 1000)
            full = 1000;
        for (int k = 0; k < 50; k++) {
            long d = http_backoff_ms(&o, attempt, 0, &seed);
            assert_true(d >= full / 2 && d <= full);
        }
    }
    assert_int_equal(http_backoff_ms(&o, 1, 3, &seed), 3000);     /* Retry-After wins */
    assert_int_equal(http_backoff_ms(&o, 1, 999, &seed), 120000); /* … capped */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_policy),
        cmocka_unit_test(test_trigger_policy),
        cmocka_unit_test(test_backoff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
