/* Few log lines for many like events: the first after a quiet spell at
 * once, the rest one line per interval, every event counted in exactly
 * one line. Time is an integer the test drives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tally.h"
#include "testrand.h"

#define MINUTE 60000

/* Nothing counted: no line. */
static void nothing_to_tell(void **state)
{
    struct tally t;
    int64_t since = -1;
    (void)state;

    tally_init(&t);
    assert_int_equal(tally_take(&t, 5000, &since), 0);
    /* And taking nothing is not a line: the next event is still told at once. */
    assert_int_equal(tally_add(&t, 1, 6000, MINUTE), 6000);
}

/* The first event is due at once; those after a line wait for the
 * interval to end, and are told together, with when the first came. */
static void first_at_once_then_one_line_per_interval(void **state)
{
    struct tally t;
    int64_t since;
    (void)state;

    tally_init(&t);
    assert_int_equal(tally_add(&t, 1, 1000, MINUTE), 1000);
    assert_int_equal(tally_take(&t, 1000, &since), 1);
    assert_int_equal(since, 1000);

    assert_int_equal(tally_add(&t, 1, 2000, MINUTE), 1000 + MINUTE);
    assert_int_equal(tally_add(&t, 3, 30000, MINUTE), 1000 + MINUTE);
    assert_int_equal(tally_add(&t, 1, 60999, MINUTE), 1000 + MINUTE);
    assert_int_equal(tally_take(&t, 1000 + MINUTE, &since), 5);
    assert_int_equal(since, 2000);

    /* Still failing: the next line is one more interval away. */
    assert_int_equal(tally_add(&t, 1, 61500, MINUTE), 1000 + 2 * MINUTE);
    assert_int_equal(tally_take(&t, 1000 + 2 * MINUTE, &since), 1);
    assert_int_equal(since, 61500);
}

/* An interval with no event after the last line is a quiet spell: the
 * next event is told at once again. */
static void quiet_spell_tells_at_once(void **state)
{
    struct tally t;
    int64_t since;
    (void)state;

    tally_init(&t);
    tally_add(&t, 1, 0, MINUTE);
    assert_int_equal(tally_take(&t, 0, &since), 1);
    assert_int_equal(tally_add(&t, 1, MINUTE, MINUTE), MINUTE);
    assert_int_equal(tally_take(&t, MINUTE, &since), 1);
    assert_int_equal(tally_add(&t, 1, 3 * MINUTE + 1, MINUTE), 3 * MINUTE + 1);
}

/* Several events in one pass, before the line that tells the first is
 * written: one line says how many. */
static void burst_in_one_line(void **state)
{
    struct tally t;
    int64_t since;
    (void)state;

    tally_init(&t);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(tally_add(&t, 1, 500, MINUTE), 500);
    assert_int_equal(tally_take(&t, 500, &since), 1000);
    assert_int_equal(since, 500);
    assert_int_equal(tally_take(&t, 500, &since), 0);
}

/* Events at random times for an hour, lines taken whenever due: at most
 * one line per interval after the first, none is lost, none is told
 * twice, and each is told no later than an interval after it came. */
static void storm_costs_one_line_per_interval(void **state)
{
    struct tally t;
    uint64_t events = 0, told = 0;
    int64_t last_line = -MINUTE, due = -1, since;
    unsigned lines = 0;
    (void)state;

    tally_init(&t);
    for (int64_t now = 0; now < 60 * MINUTE; now += (int64_t)(next_rand() % 50)) {
        if (due >= 0 && now >= due) {
            uint64_t n = tally_take(&t, now, &since);
            assert_true(n > 0);
            assert_true(now - last_line >= MINUTE);
            assert_true(now - since <= MINUTE + 50);
            told += n;
            lines++;
            last_line = now;
            due = -1;
        }
        uint64_t n = 1 + next_rand() % 3;
        due = tally_add(&t, n, now, MINUTE);
        assert_true(due >= now);
        events += n;
    }
    told += tally_take(&t, 60 * MINUTE, &since);
    assert_int_equal(told, events);
    assert_true(events > 100000);
    assert_in_range(lines, 60, 61);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nothing_to_tell),
        cmocka_unit_test(first_at_once_then_one_line_per_interval),
        cmocka_unit_test(quiet_spell_tells_at_once),
        cmocka_unit_test(burst_in_one_line),
        cmocka_unit_test(storm_costs_one_line_per_interval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
