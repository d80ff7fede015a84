/* Durations: every unit, combinations, and each kind of mistake. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "duration.h"

static uint64_t parse_ok(const char *s)
{
    uint64_t ms = 12345;
    char err[256] = "";
    assert_int_equal(duration_parse(s, &ms, err, sizeof(err)), 0);
    assert_string_equal(err, "");
    return ms;
}

static void parse_err(const char *s, const char *want)
{
    uint64_t ms = 0;
    char err[256] = "";
    assert_int_equal(duration_parse(s, &ms, err, sizeof(err)), -1);
    assert_non_null(strstr(err, want));
}

static void units(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("250ms"), 250);
    assert_int_equal(parse_ok("10s"), 10000);
    assert_int_equal(parse_ok("5m"), 300000);
    assert_int_equal(parse_ok("1h"), 3600000);
    assert_int_equal(parse_ok("2d"), 172800000);
    assert_int_equal(parse_ok("0"), 0);
    assert_int_equal(parse_ok("0s"), 0);
    assert_int_equal(parse_ok("1h30m"), 5400000);
    assert_int_equal(parse_ok("1m500ms"), 60500);
    assert_int_equal(parse_ok("365d"), 365ull * 86400000);
}

static void mistakes(void **state)
{
    (void)state;
    parse_err("", "empty");
    parse_err("10", "no unit");
    parse_err("10 s", "unknown unit");
    parse_err("10sec", "unknown unit");
    parse_err("1.5s", "unknown unit");
    parse_err("-1s", "expected a number");
    parse_err("s", "expected a number");
    parse_err("30m1h", "largest to smallest");
    parse_err("1s1s", "largest to smallest");
    parse_err("366d", "too long");
    parse_err("99999999999999999999s", "too long");
}

static void format(void **state)
{
    (void)state;
    char out[32];
    duration_format(5400000, out, sizeof(out));
    assert_string_equal(out, "1h30m");
    duration_format(250, out, sizeof(out));
    assert_string_equal(out, "250ms");
    duration_format(0, out, sizeof(out));
    assert_string_equal(out, "0");
    duration_format(86400000 + 1001, out, sizeof(out));
    assert_string_equal(out, "1d1s1ms");
    /* Round trip. */
    for (uint64_t ms = 1; ms < 400000000ull; ms = ms * 7 + 3) {
        uint64_t back;
        duration_format(ms, out, sizeof(out));
        assert_int_equal(duration_parse(out, &back, NULL, 0), 0);
        assert_int_equal(back, ms);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(units),
        cmocka_unit_test(mistakes),
        cmocka_unit_test(format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
