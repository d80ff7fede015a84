/* The string map: every key put is found until it is deleted, and never
 * after, however deletions and collisions interleave. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testrand.h"
#include "util.h"

#define NKEYS 512

static void put_get_del(void **state)
{
    (void)state;
    struct strmap m = {0};
    char *a = "a", *b = "b";

    assert_null(strmap_del(&m, "a")); /* empty: nothing to delete */
    assert_null(strmap_put(&m, "a", a));
    assert_null(strmap_put(&m, "b", b));
    assert_ptr_equal(strmap_put(&m, "a", b), a); /* kept, not replaced */
    assert_ptr_equal(strmap_del(&m, "a"), a);
    assert_null(strmap_get(&m, "a"));
    assert_null(strmap_del(&m, "a"));
    assert_ptr_equal(strmap_get(&m, "b"), b);
    assert_int_equal(m.n, 1);
    strmap_free(&m);
}

/* Random puts and deletes against a plain array: a deletion that left a
 * hole in a run of colliding keys would lose the keys after it. */
static void random_against_reference(void **state)
{
    (void)state;
    static char keys[NKEYS][24];
    bool in[NKEYS] = {0};
    struct strmap m = {0};
    size_t n = 0;

    for (size_t i = 0; i < NKEYS; i++)
        snprintf(keys[i], sizeof(keys[i]), "%llx", (unsigned long long)next_rand());
    for (int round = 0; round < 200000; round++) {
        /* One draw for both: consecutive draws of xorshift are not
         * independent enough to pair a key with an operation. */
        uint64_t r = next_rand();
        size_t k = (size_t)((r >> 32) % NKEYS);
        if ((r >> 7) & 1) {
            assert_ptr_equal(strmap_put(&m, keys[k], keys[k]), in[k] ? keys[k] : NULL);
            n += !in[k];
            in[k] = true;
        } else {
            assert_ptr_equal(strmap_del(&m, keys[k]), in[k] ? keys[k] : NULL);
            n -= in[k];
            in[k] = false;
        }
        if (round % 997 == 0)
            for (size_t i = 0; i < NKEYS; i++)
                assert_ptr_equal(strmap_get(&m, keys[i]), in[i] ? keys[i] : NULL);
        assert_int_equal(m.n, n);
    }
    for (size_t i = 0; i < NKEYS; i++)
        assert_ptr_equal(strmap_get(&m, keys[i]), in[i] ? keys[i] : NULL);
    strmap_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put_get_del),
        cmocka_unit_test(random_against_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
