/* The enum-name look-ups: names by value, values by exact name, and the
 * fallback for a value outside the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "codes.h"
#include "eventtype.h"
#include "names.h"

enum colour { RED, GREEN, BLUE, COLOUR_COUNT };

static const char *const colour_name[COLOUR_COUNT] = {
    [RED] = "red",
    [GREEN] = "green",
    [BLUE] = "blue",
};
static const struct names colours = {colour_name, COLOUR_COUNT, "none"};

static void get(void **state)
{
    (void)state;
    assert_string_equal(names_get(&colours, RED), "red");
    assert_string_equal(names_get(&colours, BLUE), "blue");
    assert_string_equal(names_get(&colours, COLOUR_COUNT), "none");
    assert_string_equal(names_get(&colours, (unsigned)-1), "none");
}

static void parse(void **state)
{
    (void)state;
    assert_int_equal(names_parse(&colours, "red"), RED);
    assert_int_equal(names_parse(&colours, "green"), GREEN);
    assert_int_equal(names_parse(&colours, "blue"), BLUE);
    /* Exact names only: no case folding, no prefixes, not the fallback. */
    assert_int_equal(names_parse(&colours, "Red"), -1);
    assert_int_equal(names_parse(&colours, "gree"), -1);
    assert_int_equal(names_parse(&colours, "greens"), -1);
    assert_int_equal(names_parse(&colours, ""), -1);
    assert_int_equal(names_parse(&colours, "none"), -1);
}

/* Every table the daemon exports names each of its values, once. */
static void daemon_tables_round_trip(void **state)
{
    (void)state;
    const struct names *tables[] = {&codes_class_names, &codes_severity_names, &eventtype_names};
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        for (unsigned v = 0; v < tables[i]->count; v++) {
            assert_non_null(tables[i]->name[v]);
            assert_int_equal(names_parse(tables[i], names_get(tables[i], v)), v);
        }
    }
    assert_int_equal(codes_class_names.count, CLASS_COUNT);
    assert_int_equal(codes_severity_names.count, SEV_COUNT);
    assert_int_equal(eventtype_names.count, EVT_COUNT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(get),
        cmocka_unit_test(parse),
        cmocka_unit_test(daemon_tables_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
