/* The schedule heap and plan arithmetic: invariants under random use, no
 * drift, even spread. Time is an integer the test drives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sched.h"
#include "util.h"

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
    struct sched s;
    struct sched_item items[N];
    bool removed[N] = {false};
    size_t expect = N;

    sched_init(&s);
    for (int i = 0; i < N; i++) {
        sched_item_init(&items[i]);
        sched_add(&s, &items[i], (int64_t)(next_rand() % 100000));
    }
    for (int i = 0; i < N; i += 7)
        sched_add(&s, &items[i], (int64_t)(next_rand() % 100000)); /* move */
    for (int i = 3; i < N; i += 11) {
        sched_remove(&s, &items[i]);
        assert_false(sched_pending(&items[i]));
        removed[i] = true;
        expect--;
    }
    int64_t last = -1;
    size_t got = 0;
    struct sched_item *it;
    while ((it = sched_pop_due(&s, INT64_MAX)) != NULL) {
        assert_true(it->due >= last);
        assert_false(removed[it - items]);
        assert_false(sched_pending(it));
        last = it->due;
        got++;
    }
    assert_int_equal(got, expect);
    assert_null(sched_peek(&s));
    sched_free(&s);
}

static void pop_only_what_is_due(void **state)
{
    (void)state;
    struct sched s;
    struct sched_item a, b;

    sched_init(&s);
    sched_item_init(&a);
    sched_item_init(&b);
    sched_add(&s, &a, 100);
    sched_add(&s, &b, 200);
    assert_null(sched_pop_due(&s, 99));
    assert_ptr_equal(sched_pop_due(&s, 100), &a);
    assert_null(sched_pop_due(&s, 150));
    assert_ptr_equal(sched_peek(&s), &b);
    assert_ptr_equal(sched_pop_due(&s, 1000), &b);
    sched_remove(&s, &a); /* not scheduled: harmless */
    sched_free(&s);
}

/* The next run comes from the plan, however late the last one ran. */
static void no_drift(void **state)
{
    (void)state;
    uint64_t missed;
    int64_t plan = 1000000;
    const uint64_t iv = 10000000; /* 10 s */

    for (int i = 0; i < 1000; i++) {
        int64_t ran_at = plan + (int64_t)(next_rand() % 3000000); /* up to 3 s late */
        int64_t next = sched_next_due(plan, iv, ran_at, &missed);
        assert_int_equal(missed, 0);
        assert_int_equal(next, plan + (int64_t)iv);
        plan = next;
    }
    assert_int_equal(plan, 1000000 + 1000 * (int64_t)iv);
}

/* After a long stall, missed runs are skipped, not fired in a burst, and
 * the phase is kept. */
static void stall_skips_and_keeps_phase(void **state)
{
    (void)state;
    uint64_t missed;
    /* The run planned at 0 starts at 105: the slots 10 to 100 have passed
     * (the one starting now stands for one of them), the next is at 110,
     * never at once after this one. */
    int64_t next = sched_next_due(0, 10, 105, &missed);
    assert_int_equal(next, 110);
    assert_int_equal(missed, 10);
    next = sched_next_due(0, 10, 15, &missed);
    assert_int_equal(next, 20);
    assert_int_equal(missed, 1);
    next = sched_next_due(0, 10, 10, &missed); /* a whole interval late */
    assert_int_equal(next, 20);
    assert_int_equal(missed, 1);
    next = sched_next_due(0, 10, 9, &missed); /* late, but before the next slot */
    assert_int_equal(next, 10);
    assert_int_equal(missed, 0);
    /* The sweep's follow-up run, found in the past, joins the plan ahead. */
    next = sched_after_sweep(7, 0, 10, 31, &missed);
    assert_true(next > 31 && (next - 7) % 10 == 0);
}

/* The watchdog's view: probes in flight must keep ending. A quiet spell
 * before a probe starts is not held against it. */
static void flight_progress(void **state)
{
    (void)state;
    struct sched_flight f = {0};
    const int64_t limit = 40;

    assert_true(sched_flight_progressing(&f, 1000, limit)); /* nothing in flight */
    sched_flight_start(&f, 0);
    sched_flight_end(&f, 5);
    /* Quiet until 500, then a probe that hangs up to its timeout. */
    sched_flight_start(&f, 500);
    assert_true(sched_flight_progressing(&f, 500, limit));
    assert_true(sched_flight_progressing(&f, 540, limit));
    assert_false(sched_flight_progressing(&f, 541, limit)); /* stuck */
    /* Another starting meanwhile does not reset the clock... */
    sched_flight_start(&f, 520);
    assert_false(sched_flight_progressing(&f, 541, limit));
    /* ...an end does. */
    sched_flight_end(&f, 545);
    assert_true(sched_flight_progressing(&f, 580, limit));
    assert_false(sched_flight_progressing(&f, 590, limit));
    /* Once none is in flight, nothing is stuck. */
    sched_flight_cancel(&f, 600);
    assert_int_equal(f.n, 0);
    assert_true(sched_flight_progressing(&f, 10000, limit));
    /* The probe that opened a stretch is cancelled (a reload); one started
     * later goes on, and is not held to the cancelled one's start. */
    sched_flight_start(&f, 20000);
    sched_flight_start(&f, 20020);
    sched_flight_cancel(&f, 20025);
    assert_true(sched_flight_progressing(&f, 20050, limit));
    assert_false(sched_flight_progressing(&f, 20066, limit));
}

/* 10,000 targets with one interval spread over it: no millisecond holds
 * more than a handful, and the phase is stable per name. */
static void first_runs_spread(void **state)
{
    (void)state;
    enum { N = 10000 };
    const uint64_t iv = 10000000;
    static uint16_t per_ms[10000];
    char name[32];

    memset(per_ms, 0, sizeof(per_ms));
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "site-%d.example.com", i);
        int64_t due = sched_first_due(5000, iv, hash64(name));
        assert_true(due >= 5000 && due < 5000 + (int64_t)iv);
        assert_int_equal(due, sched_first_due(5000, iv, hash64(name)));
        per_ms[(due - 5000) / 1000]++;
    }
    unsigned worst = 0;
    for (int i = 0; i < 10000; i++)
        if (per_ms[i] > worst)
            worst = per_ms[i];
    assert_true(worst <= 8);
    /* Long intervals start within the first minute. */
    int64_t due = sched_first_due(0, 3600ull * 1000000, hash64("hourly"));
    assert_true(due < 60 * 1000000);
}

/* A handful of targets are all probed within milliseconds of the start;
 * ten thousand are swept at about a thousand a second; then each settles on
 * its phase, the second run between half and one and a half intervals
 * after the first. */
static void startup_sweep(void **state)
{
    (void)state;
    const uint64_t iv = 30000000; /* 30 s */
    char name[32];
    uint64_t missed;

    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof(name), "t%d", i);
        int64_t first = sched_sweep_due(1000, iv, hash64(name), 3);
        assert_true(first >= 1000 && first < 1000 + 3000);
    }
    unsigned per_second[10] = {0};
    for (int i = 0; i < 10000; i++) {
        snprintf(name, sizeof(name), "site-%d", i);
        uint64_t h = hash64(name);
        int64_t first = sched_sweep_due(0, 10000000, h, 10000);
        assert_true(first >= 0 && first < 10000000);
        per_second[first / 1000000]++;
        int64_t phase = sched_first_due(0, 10000000, h);
        int64_t second = sched_after_sweep(phase, first, 10000000, first, &missed);
        assert_int_equal(missed, 0);
        assert_true(second - first >= 5000000);
        assert_true(second - first < 15000000);
        assert_int_equal((second - phase) % 10000000, 0); /* on its phase */
    }
    for (int s = 0; s < 10; s++)
        assert_true(per_second[s] > 800 && per_second[s] < 1200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(heap_order_and_nothing_lost),
        cmocka_unit_test(pop_only_what_is_due),
        cmocka_unit_test(no_drift),
        cmocka_unit_test(stall_skips_and_keeps_phase),
        cmocka_unit_test(first_runs_spread),
        cmocka_unit_test(startup_sweep),
        cmocka_unit_test(flight_progress),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
