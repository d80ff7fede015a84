/* The retry policy of webhook deliveries: back-off, which failures are
 * worth another attempt, and Retry-After. The wall-clock time is an
 * integer the test gives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "retry.h"

/* Doubling from the initial delay, up to the maximum; jitter picks a
 * point in the upper half. */
static void backoff(void **state)
{
    (void)state;
    assert_int_equal(retry_backoff_ms(1000, 300000, 1, 0.0), 500);
    assert_int_equal(retry_backoff_ms(1000, 300000, 1, 0.999999), 999);
    assert_int_equal(retry_backoff_ms(1000, 300000, 2, 0.0), 1000);
    assert_int_equal(retry_backoff_ms(1000, 300000, 4, 0.0), 4000);
    assert_int_equal(retry_backoff_ms(1000, 300000, 30, 0.0), 150000);
    assert_int_equal(retry_backoff_ms(1000, 300000, 1000, 0.5), 225000);
}

/* No answer, 5xx, 408 and 429 may pass; any other answer will not. */
static void transient(void **state)
{
    (void)state;
    assert_true(retry_transient(false, 0));
    assert_true(retry_transient(true, 500));
    assert_true(retry_transient(true, 503));
    assert_true(retry_transient(true, 408));
    assert_true(retry_transient(true, 429));
    assert_false(retry_transient(true, 400));
    assert_false(retry_transient(true, 401));
    assert_false(retry_transient(true, 404));
    assert_false(retry_transient(true, 301));
}

/* Retry-After: seconds or an HTTP date, capped at an hour. */
static void retry_after(void **state)
{
    (void)state;
    const int64_t now = 784111777000; /* Sun, 06 Nov 1994 08:49:37 GMT */
    assert_int_equal(retry_after_ms("0", now), 0);
    assert_int_equal(retry_after_ms("120", now), 120000);
    assert_int_equal(retry_after_ms("3600", now), 3600000);
    assert_int_equal(retry_after_ms("3601", now), 3600000);
    assert_int_equal(retry_after_ms("9300000000000000", now), 3600000);
    assert_int_equal(retry_after_ms("99999999999999999999999", now), 3600000);
    assert_int_equal(retry_after_ms("Sun, 06 Nov 1994 08:50:37 GMT", now), 60000);
    assert_int_equal(retry_after_ms("Sun, 06 Nov 1994 08:48:37 GMT", now), 0);
    assert_int_equal(retry_after_ms("Mon, 07 Nov 1994 08:49:37 GMT", now), 3600000);
    assert_int_equal(retry_after_ms("-5", now), -1);
    assert_int_equal(retry_after_ms("soon", now), -1);
    assert_int_equal(retry_after_ms("", now), -1);
}

/* SMTP: a 4xx reply or none may pass later; a 5xx reply is final. */
static void smtp_transient(void **state)
{
    (void)state;
    assert_true(retry_smtp_transient(0));   /* no reply: connection refused, timeout */
    assert_true(retry_smtp_transient(421)); /* service closing */
    assert_true(retry_smtp_transient(450)); /* mailbox busy */
    assert_true(retry_smtp_transient(451)); /* local error, greylisting */
    assert_true(retry_smtp_transient(452)); /* insufficient storage */
    assert_true(retry_smtp_transient(250)); /* taken, then the connection broke */
    assert_false(retry_smtp_transient(500));
    assert_false(retry_smtp_transient(535)); /* authentication failed */
    assert_false(retry_smtp_transient(550)); /* no such mailbox */
    assert_false(retry_smtp_transient(554));
    assert_false(retry_smtp_transient(599));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backoff),
        cmocka_unit_test(transient),
        cmocka_unit_test(retry_after),
        cmocka_unit_test(smtp_transient),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
