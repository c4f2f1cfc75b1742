/* The one polling schedule rule of `poll` (loop mode) and `serve`: interval after success,
 * capped exponential backoff after failures, and a hold — never a retry loop — after rejected
 * credentials, lifted only by a reset (configuration changed, admin resume). */
#include "poller/pollsched.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define MIN 60000

static void test_interval_after_success(void **state)
{
    (void)state;
    struct pollsched s;
    pollsched_init(&s, 1000);
    assert_true(pollsched_due(&s, 1000));
    int64_t d = 0;
    assert_int_equal(pollsched_done(&s, true, false, false, 10 * MIN, 500, 2000, &d),
                     POLLSCHED_NEXT_INTERVAL);
    assert_int_equal(d, 10 * MIN + 500);
    assert_false(pollsched_due(&s, 2000 + 10 * MIN));
    assert_true(pollsched_due(&s, 2500 + 10 * MIN));
}

static void test_backoff_doubles_and_caps(void **state)
{
    (void)state;
    assert_int_equal(pollsched_backoff_ms(1, 10000), 30000);
    assert_int_equal(pollsched_backoff_ms(2, 10000), 60000);
    assert_int_equal(pollsched_backoff_ms(3, 10000), 120000);
    assert_int_equal(pollsched_backoff_ms(30, 10000), 3600000);
    assert_int_equal(pollsched_backoff_ms(1000, 10000), 3600000);
    /* never longer than an interval above 30 s */
    assert_int_equal(pollsched_backoff_ms(5, 2 * MIN), 2 * MIN);

    struct pollsched s;
    pollsched_init(&s, 0);
    int64_t d = 0;
    assert_int_equal(pollsched_done(&s, false, false, false, 10000, 0, 0, &d),
                     POLLSCHED_NEXT_BACKOFF);
    assert_int_equal(d, 30000); /* not the 10 s interval */
    assert_false(pollsched_due(&s, 29999));
    assert_true(pollsched_due(&s, 30000));
    pollsched_done(&s, false, false, false, 10000, 0, 30000, &d);
    assert_int_equal(d, 60000);
    assert_int_equal(s.failures, 2);
    pollsched_done(&s, true, false, false, 10000, 0, 90000, &d);
    assert_int_equal(s.failures, 0);
    assert_int_equal(d, 10000);
}

static void test_rejected_credentials_hold(void **state)
{
    (void)state;
    struct pollsched s;
    pollsched_init(&s, 0);
    int64_t d = 0;
    assert_int_equal(pollsched_done(&s, false, true, false, 10000, 999, 0, &d),
                     POLLSCHED_NEXT_HELD);
    assert_int_equal(d, -1);
    assert_true(s.auth_held);
    /* not after the interval, not after any backoff, not in a day */
    assert_false(pollsched_due(&s, 10000));
    assert_false(pollsched_due(&s, 3600000));
    assert_false(pollsched_due(&s, 86400000));
    pollsched_reset(&s, 5000);
    assert_false(s.auth_held);
    assert_int_equal(s.failures, 0);
    assert_true(pollsched_due(&s, 5000));
    /* a poll stopped by a signal says nothing about the credentials: backoff, no hold */
    assert_int_equal(pollsched_done(&s, false, true, true, 10000, 0, 6000, &d),
                     POLLSCHED_NEXT_BACKOFF);
    assert_false(s.auth_held);
}

static void test_jitter_within_ten_percent(void **state)
{
    (void)state;
    unsigned seed = 42;
    int64_t lo = 0, hi = 0;
    for (int i = 0; i < 1000; i++) {
        int64_t j = pollsched_jitter(&seed, 10 * MIN);
        assert_true(j >= -MIN && j < MIN);
        lo = j < lo ? j : lo;
        hi = j > hi ? j : hi;
    }
    assert_true(lo < -MIN / 2 && hi > MIN / 2); /* it does vary */
    assert_int_equal(pollsched_jitter(&seed, 4), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interval_after_success),
        cmocka_unit_test(test_backoff_doubles_and_caps),
        cmocka_unit_test(test_rejected_credentials_hold),
        cmocka_unit_test(test_jitter_within_ten_percent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
