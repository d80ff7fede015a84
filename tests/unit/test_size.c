/* Sizes: every unit, the limits, every kind of mistake, and formatting
 * that reads back as the same size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "size.h"

static uint64_t parse_ok(const char *s)
{
    char err[128] = "";
    uint64_t v = 0;

    if (size_parse(s, &v, err, sizeof(err)) != 0)
        fail_msg("%s: %s", s, err);
    return v;
}

static void parse_units(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("0"), 0);
    assert_int_equal(parse_ok("65536"), 65536);
    assert_int_equal(parse_ok("512B"), 512);
    assert_int_equal(parse_ok("64KiB"), 65536);
    assert_int_equal(parse_ok("1MiB"), 1048576);
    assert_int_equal(parse_ok("2GiB"), 2147483648ULL);
    assert_int_equal(parse_ok("1024GiB"), 1ULL << 40);
}

static void parse_mistakes(void **state)
{
    static const struct {
        const char *in, *why;
    } bad[] = {
        {"", "invalid size \"\": it must start with a number"},
        {"MiB", "invalid size \"MiB\": it must start with a number"},
        {"-1", "invalid size \"-1\": it must start with a number"},
        {"1 MiB", "invalid size \"1 MiB\": unknown unit \" MiB\" (use B, KiB, MiB or GiB)"},
        {"1MB", "invalid size \"1MB\": unknown unit \"MB\" (use B, KiB, MiB or GiB)"},
        {"1mib", "invalid size \"1mib\": unknown unit \"mib\" (use B, KiB, MiB or GiB)"},
        {"1025GiB", "invalid size \"1025GiB\": too large"},
        {"99999999999999999999", "invalid size \"99999999999999999999\": too large"},
    };
    char err[128];
    uint64_t v;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(size_parse(bad[i].in, &v, err, sizeof(err)), -1);
        assert_string_equal(err, bad[i].why);
    }
}

static void format_reads_back(void **state)
{
    static const struct {
        uint64_t v;
        const char *text;
    } cases[] = {{0, "0"},          {1, "1"},
                 {1000, "1000"},    {1024, "1KiB"},
                 {1536, "1536"},    {1536 * 1024, "1536KiB"},
                 {1 << 20, "1MiB"}, {3ULL << 30, "3GiB"}};
    char buf[32];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_format(cases[i].v, buf, sizeof(buf));
        assert_string_equal(buf, cases[i].text);
        assert_int_equal(parse_ok(buf), cases[i].v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_units),
        cmocka_unit_test(parse_mistakes),
        cmocka_unit_test(format_reads_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
