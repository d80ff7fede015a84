/* Shards: every name has exactly one owner, growing from N to N + 1
 * shards moves about 1/(N + 1) of the names and only to the new shard,
 * and the owners are the same on every machine (fixed values below, the
 * same on any architecture since the hash is byte-wise and 64-bit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shard.h"

#define NAMES 10000

static char names[NAMES][32];

static int setup(void **state)
{
    (void)state;
    for (int i = 0; i < NAMES; i++)
        snprintf(names[i], sizeof(names[i]), "site-%d.example.com", i);
    return 0;
}

static void test_parse(void **state)
{
    struct shard s = {9, 9};

    (void)state;
    assert_int_equal(shard_parse("1/3", &s), 0);
    assert_int_equal(s.index, 1);
    assert_int_equal(s.count, 3);
    assert_int_equal(shard_parse("1000/1000", &s), 0);
    assert_int_equal(s.index, 1000);
    const char *bad[] = {
        "",     "3",    "0/3",  "4/3",   "1/0", "1/1001", "-1/3", "1/-3",
        " 1/3", "1/3 ", "1//3", "1/3/4", "a/3", "+1/3",   "1/3x", "99999999999999999999/3"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        s = (struct shard){7, 8};
        assert_int_equal(shard_parse(bad[i], &s), -1);
        assert_int_equal(s.index, 7); /* left alone */
        assert_int_equal(s.count, 8);
    }
}

/* Fixed owners: a change of the hash, the mixing or the tie rule shows
 * here, since shards of one list on different machines or versions would
 * then split it differently. */
static void test_stable(void **state)
{
    static const struct {
        const char *name;
        unsigned owner[5]; /* of 1 to 5 shards */
    } cases[] = {
        {"example.com", {1, 2, 2, 2, 2}},
        {"api", {1, 2, 3, 3, 3}},
        {"shop-fra", {1, 1, 1, 1, 1}},
        {"", {1, 1, 3, 3, 3}},
        {"www.example.org/health", {1, 2, 2, 2, 5}},
        {"\xc3\x9f-unicode", {1, 1, 1, 4, 5}},
    };

    (void)state;
    assert_int_equal(shard_weight("example.com", 1), 0x1b8b58aded3c7d00ull);
    assert_int_equal(shard_weight("api", 1), 0x9908503af36c7a06ull);
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
        for (unsigned n = 1; n <= 5; n++)
            assert_int_equal(shard_owner(cases[i].name, n), cases[i].owner[n - 1]);
}

static void test_one_owner(void **state)
{
    (void)state;
    for (unsigned n = 1; n <= 7; n++) {
        unsigned per[8] = {0};
        for (int i = 0; i < NAMES; i++) {
            unsigned owners = 0;
            for (unsigned k = 1; k <= n; k++) {
                struct shard s = {k, n};
                if (shard_owns(&s, names[i])) {
                    owners++;
                    per[k]++;
                }
            }
            assert_int_equal(owners, 1);
        }
        /* And evenly: each shard within 10% of its share. */
        for (unsigned k = 1; k <= n; k++) {
            assert_true(per[k] * n * 10 >= NAMES * 9);
            assert_true(per[k] * n * 10 <= NAMES * 11);
        }
    }
    /* Not sharded: everything is owned. */
    struct shard all = {0, 0};
    assert_true(shard_owns(&all, "anything"));
}

/* From N to N + 1: a name moves only to the new shard, and about
 * 1/(N + 1) of them do (within 15% of that). */
static void test_growth(void **state)
{
    (void)state;
    for (unsigned n = 1; n <= 9; n++) {
        unsigned moved = 0;
        for (int i = 0; i < NAMES; i++) {
            unsigned before = shard_owner(names[i], n), after = shard_owner(names[i], n + 1);
            if (before != after) {
                assert_int_equal(after, n + 1);
                moved++;
            }
        }
        double expect = (double)NAMES / (n + 1);
        assert_true(moved >= expect * 0.85);
        assert_true(moved <= expect * 1.15);
    }
    /* And back: removing the last shard moves only what it owned. */
    for (int i = 0; i < NAMES; i++) {
        unsigned four = shard_owner(names[i], 4);
        if (four != 4)
            assert_int_equal(shard_owner(names[i], 3), four);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_stable),
        cmocka_unit_test(test_one_owner),
        cmocka_unit_test(test_growth),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
