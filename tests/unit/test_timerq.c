/* The timer queue: invariants under random use (the earliest comes
 * first, none is lost). Time is an integer the test drives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "timerq.h"

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* 1000 random deadlines, some moved, some removed: they come out in order
 * and none is lost. */
static void heap_order_and_nothing_lost(void **state)
{
    (void)state;
    enum { N = 1000 };
    struct timerq q;
    struct timerq_item items[N];
    bool removed[N] = {false};
    size_t expect = N;

    timerq_init(&q);
    for (int i = 0; i < N; i++) {
        timerq_item_init(&items[i]);
        timerq_add(&q, &items[i], (int64_t)(next_rand() % 100000));
    }
    for (int i = 0; i < N; i += 7)
        timerq_add(&q, &items[i], (int64_t)(next_rand() % 100000)); /* move */
    for (int i = 3; i < N; i += 11) {
        timerq_remove(&q, &items[i]);
        assert_false(timerq_pending(&items[i]));
        removed[i] = true;
        expect--;
    }
    int64_t last = -1;
    size_t got = 0;
    struct timerq_item *it;
    while ((it = timerq_pop_due(&q, INT64_MAX)) != NULL) {
        assert_true(it->due >= last);
        assert_false(removed[it - items]);
        assert_false(timerq_pending(it));
        last = it->due;
        got++;
    }
    assert_int_equal(got, expect);
    assert_null(timerq_peek(&q));
    timerq_free(&q);
}

static void pop_only_what_is_due(void **state)
{
    (void)state;
    struct timerq q;
    struct timerq_item a, b;

    timerq_init(&q);
    timerq_item_init(&a);
    timerq_item_init(&b);
    timerq_add(&q, &a, 100);
    timerq_add(&q, &b, 200);
    assert_null(timerq_pop_due(&q, 99));
    assert_ptr_equal(timerq_pop_due(&q, 100), &a);
    assert_null(timerq_pop_due(&q, 150));
    assert_ptr_equal(timerq_peek(&q), &b);
    assert_ptr_equal(timerq_pop_due(&q, 1000), &b);
    timerq_remove(&q, &a); /* not queued: harmless */
    timerq_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(heap_order_and_nothing_lost),
        cmocka_unit_test(pop_only_what_is_due),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
