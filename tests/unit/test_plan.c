/* Plan arithmetic: no drift, missed runs skipped, even spread, and the
 * watchdog's account of probes in flight. Time is an integer the test
 * drives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plan.h"
#include "testrand.h"
#include "util.h"

/* The next run comes from the plan, however late the last one ran. */
static void no_drift(void **state)
{
    (void)state;
    uint64_t missed;
    int64_t plan = 1000000;
    const uint64_t iv = 10000000; /* 10 s */

    for (int i = 0; i < 1000; i++) {
        int64_t ran_at = plan + (int64_t)(next_rand() % 3000000); /* up to 3 s late */
        int64_t next = plan_next_due(plan, iv, ran_at, &missed);
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
    int64_t next = plan_next_due(0, 10, 105, &missed);
    assert_int_equal(next, 110);
    assert_int_equal(missed, 10);
    next = plan_next_due(0, 10, 15, &missed);
    assert_int_equal(next, 20);
    assert_int_equal(missed, 1);
    next = plan_next_due(0, 10, 10, &missed); /* a whole interval late */
    assert_int_equal(next, 20);
    assert_int_equal(missed, 1);
    next = plan_next_due(0, 10, 9, &missed); /* late, but before the next slot */
    assert_int_equal(next, 10);
    assert_int_equal(missed, 0);
    /* The sweep's follow-up run, found in the past, joins the plan ahead. */
    next = plan_after_sweep(7, 0, 10, 31, &missed);
    assert_true(next > 31 && (next - 7) % 10 == 0);
}

/* The watchdog's view: probes in flight must keep ending. A quiet spell
 * before a probe starts is not held against it. */
static void flight_progress(void **state)
{
    (void)state;
    struct plan_flight f = {0};
    const int64_t limit = 40;

    assert_true(plan_flight_progressing(&f, 1000, limit)); /* nothing in flight */
    plan_flight_start(&f, 0);
    plan_flight_end(&f, 5);
    /* Quiet until 500, then a probe that hangs up to its timeout. */
    plan_flight_start(&f, 500);
    assert_true(plan_flight_progressing(&f, 500, limit));
    assert_true(plan_flight_progressing(&f, 540, limit));
    assert_false(plan_flight_progressing(&f, 541, limit)); /* stuck */
    /* Another starting meanwhile does not reset the clock... */
    plan_flight_start(&f, 520);
    assert_false(plan_flight_progressing(&f, 541, limit));
    /* ...an end does. */
    plan_flight_end(&f, 545);
    assert_true(plan_flight_progressing(&f, 580, limit));
    assert_false(plan_flight_progressing(&f, 590, limit));
    /* Once none is in flight, nothing is stuck. */
    plan_flight_cancel(&f, 600);
    assert_int_equal(f.n, 0);
    assert_true(plan_flight_progressing(&f, 10000, limit));
    /* The probe that opened a stretch is cancelled (a reload); one started
     * later goes on, and is not held to the cancelled one's start. */
    plan_flight_start(&f, 20000);
    plan_flight_start(&f, 20020);
    plan_flight_cancel(&f, 20025);
    assert_true(plan_flight_progressing(&f, 20050, limit));
    assert_false(plan_flight_progressing(&f, 20066, limit));
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
        int64_t due = plan_first_due(5000, iv, hash64(name));
        assert_true(due >= 5000 && due < 5000 + (int64_t)iv);
        assert_int_equal(due, plan_first_due(5000, iv, hash64(name)));
        per_ms[(due - 5000) / 1000]++;
    }
    unsigned worst = 0;
    for (int i = 0; i < 10000; i++)
        if (per_ms[i] > worst)
            worst = per_ms[i];
    assert_true(worst <= 8);
    /* Long intervals start within the first minute. */
    int64_t due = plan_first_due(0, 3600ull * 1000000, hash64("hourly"));
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
        int64_t first = plan_sweep_due(1000, iv, hash64(name), 3);
        assert_true(first >= 1000 && first < 1000 + 3000);
    }
    unsigned per_second[10] = {0};
    for (int i = 0; i < 10000; i++) {
        snprintf(name, sizeof(name), "site-%d", i);
        uint64_t h = hash64(name);
        int64_t first = plan_sweep_due(0, 10000000, h, 10000);
        assert_true(first >= 0 && first < 10000000);
        per_second[first / 1000000]++;
        int64_t phase = plan_first_due(0, 10000000, h);
        int64_t second = plan_after_sweep(phase, first, 10000000, first, &missed);
        assert_int_equal(missed, 0);
        assert_true(second - first >= 5000000);
        assert_true(second - first < 15000000);
        assert_int_equal((second - phase) % 10000000, 0); /* on its phase */
    }
    for (int s = 0; s < 10; s++)
        assert_true(per_second[s] > 800 && per_second[s] < 1200);
}

/* Retries come retry_us after a probe that saw a change, never close to
 * a planned run, and the plan's runs stay where they were: after any
 * number of retries the planned runs are phase + k intervals. */
static void retries_keep_the_plan(void **state)
{
    (void)state;
    const uint64_t iv = 60000000, retry = 10000000; /* 1 min, 10 s */
    const int64_t phase = 7000000;
    uint64_t missed;

    /* Probes that end 0 to 2 s after they start, each seeing a change
     * still to be confirmed: retries at +10 s until too close to the next
     * planned run (at +60 s: the retry at +50 s would leave 10 s, the one
     * after it is dropped). */
    int64_t planned = phase, last_start = -1;
    for (int round = 0; round < 200; round++) {
        int64_t next = plan_next_due(planned, iv, planned, &missed);
        assert_int_equal(next, phase + (int64_t)(round + 1) * (int64_t)iv);
        int64_t start = planned, retries = 0;
        for (;;) {
            assert_true(last_start < 0 || start - last_start >= (int64_t)retry / 2);
            last_start = start;
            int64_t ended = start + (int64_t)(next_rand() % 2000000);
            int64_t at = plan_retry_due(ended, retry, next);
            if (at == 0)
                break;
            assert_int_equal(at, ended + (int64_t)retry);
            assert_true(at <= next - (int64_t)retry / 2);
            start = at;
            retries++;
        }
        assert_true(retries >= 4 && retries <= 5);
        planned = next;
    }
    /* Off, or with no room before the next run: no retry. */
    assert_int_equal(plan_retry_due(0, 0, 100), 0);
    assert_int_equal(plan_retry_due(0, 10, 14), 0);
    assert_int_equal(plan_retry_due(0, 10, 15), 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_drift),          cmocka_unit_test(stall_skips_and_keeps_phase),
        cmocka_unit_test(first_runs_spread), cmocka_unit_test(startup_sweep),
        cmocka_unit_test(flight_progress),   cmocka_unit_test(retries_keep_the_plan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
