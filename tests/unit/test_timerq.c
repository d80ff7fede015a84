/* The timer queue: invariants under random use (the earliest comes
 * first, none is lost, none runs early), the slack, and callbacks that
 * change the queue while it runs. Time is an integer the test drives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "timerq.h"
#include "testrand.h"

/* An owner with an embedded item, as the daemon's targets and deliveries
 * have; what its callback does is up to each test. */
struct owner {
    int id;
    struct timerq_item timer;
};

/* What the callbacks saw, in order. */
static struct {
    struct timerq *q;
    int order[64];
    int64_t now[64];
    size_t n;
} seen;

static void seen_reset(struct timerq *q)
{
    seen.q = q;
    seen.n = 0;
}

static void record_cb(struct timerq_item *it, int64_t now)
{
    struct owner *o = TIMERQ_OWNER(it, struct owner, timer);

    assert_false(timerq_pending(it)); /* it has left the queue */
    assert_true(seen.n < 64);
    seen.order[seen.n] = o->id;
    seen.now[seen.n] = now;
    seen.n++;
}

static void owners_init(struct owner *o, size_t n, timerq_cb cb)
{
    for (size_t i = 0; i < n; i++) {
        o[i].id = (int)i;
        timerq_item_init(&o[i].timer, cb);
    }
}

/* 1000 random deadlines, some moved, some removed: they come out in order
 * and none is lost. */
static struct {
    int64_t last;
    size_t got;
    const bool *removed;
    const struct timerq_item *base;
} order;

static void in_order_cb(struct timerq_item *it, int64_t now)
{
    assert_true(it->due >= order.last);
    assert_true(it->due <= now);
    assert_false(order.removed[it - order.base]);
    assert_false(timerq_pending(it));
    order.last = it->due;
    order.got++;
}

static void heap_order_and_nothing_lost(void **state)
{
    (void)state;
    enum { N = 1000 };
    struct timerq q;
    struct timerq_item items[N];
    bool removed[N] = {false};
    size_t expect = N;

    timerq_init(&q, 0);
    for (int i = 0; i < N; i++) {
        timerq_item_init(&items[i], in_order_cb);
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
    order.last = -1;
    order.got = 0;
    order.removed = removed;
    order.base = items;
    assert_int_equal(timerq_run(&q, INT64_MAX), expect);
    assert_int_equal(order.got, expect);
    assert_null(timerq_peek(&q));
    timerq_free(&q);
}

static void run_only_what_is_due(void **state)
{
    (void)state;
    struct timerq q;
    struct owner o[2];

    timerq_init(&q, 0);
    seen_reset(&q);
    owners_init(o, 2, record_cb);
    timerq_add(&q, &o[0].timer, 100);
    timerq_add(&q, &o[1].timer, 200);
    assert_int_equal(timerq_run(&q, 99), 0);
    assert_int_equal(timerq_run(&q, 100), 1);
    assert_int_equal(seen.order[0], 0);
    assert_int_equal(seen.now[0], 100);
    assert_int_equal(o[0].timer.due, 100); /* still there for its owner */
    assert_int_equal(timerq_run(&q, 150), 0);
    assert_ptr_equal(timerq_peek(&q), &o[1].timer);
    assert_int_equal(timerq_run(&q, 1000), 1);
    assert_int_equal(seen.order[1], 1);
    assert_int_equal(seen.now[1], 1000);
    assert_int_equal(seen.n, 2);
    timerq_remove(&q, &o[0].timer); /* not queued: harmless */
    assert_int_equal(timerq_run(&q, INT64_MAX), 0);
    timerq_free(&q);
}

/* Items due within the slack run with the others, and are told the real
 * now; none runs earlier than that. */
static void slack(void **state)
{
    (void)state;
    struct timerq q;
    struct owner o[3];

    timerq_init(&q, 1000);
    seen_reset(&q);
    owners_init(o, 3, record_cb);
    timerq_add(&q, &o[0].timer, 5000);
    timerq_add(&q, &o[1].timer, 6000);
    timerq_add(&q, &o[2].timer, 6001);
    assert_int_equal(timerq_run(&q, 3999), 0);
    assert_int_equal(timerq_run(&q, 5000), 2);
    assert_int_equal(seen.order[0], 0);
    assert_int_equal(seen.order[1], 1);
    assert_int_equal(seen.now[0], 5000);
    assert_int_equal(seen.now[1], 5000);
    assert_true(timerq_pending(&o[2].timer));
    assert_int_equal(timerq_run(&q, 5001), 1);
    /* No overflow at the end of time. */
    timerq_add(&q, &o[0].timer, INT64_MAX);
    assert_int_equal(timerq_run(&q, INT64_MAX - 1), 1);
    timerq_add(&q, &o[0].timer, INT64_MAX - 2000);
    assert_int_equal(timerq_run(&q, INT64_MAX), 1);
    timerq_free(&q);
}

/* A periodic owner adds itself again from its callback, one period after
 * the time it was due (as the monitor plans a target's next run), until
 * it has run three times. */
static int64_t period;
static unsigned runs;

static void periodic_cb(struct timerq_item *it, int64_t now)
{
    record_cb(it, now);
    if (++runs < 3)
        timerq_add(seen.q, it, it->due + period);
}

static void readd_from_callback(void **state)
{
    (void)state;
    struct timerq q;
    struct owner o[1];

    timerq_init(&q, 0);
    seen_reset(&q);
    owners_init(o, 1, periodic_cb);
    period = 10;
    runs = 0;
    timerq_add(&q, &o[0].timer, 0);
    /* Added again for later: it waits for a later run. */
    assert_int_equal(timerq_run(&q, 5), 1);
    assert_true(timerq_pending(&o[0].timer));
    assert_int_equal(o[0].timer.due, 10);
    assert_int_equal(timerq_run(&q, 9), 0);
    assert_int_equal(timerq_run(&q, 10), 1);
    assert_int_equal(o[0].timer.due, 20);
    /* Added again for a time already past: it runs in this same run, so
     * nothing due is left behind. */
    runs = 0;
    timerq_add(&q, &o[0].timer, 100);
    assert_int_equal(timerq_run(&q, 1000), 3);
    assert_false(timerq_pending(&o[0].timer));
    assert_int_equal(seen.now[seen.n - 1], 1000);
    timerq_free(&q);
}

/* A callback removes one owner, adds another and moves a third: the
 * removed one never runs, the added one runs in its turn. */
static struct owner meddle[5];

static void meddle_cb(struct timerq_item *it, int64_t now)
{
    record_cb(it, now);
    if (TIMERQ_OWNER(it, struct owner, timer)->id != 0)
        return;
    timerq_remove(seen.q, &meddle[1].timer);
    timerq_add(seen.q, &meddle[3].timer, 15);
    timerq_add(seen.q, &meddle[2].timer, 40);    /* moved later */
    timerq_add(seen.q, &meddle[4].timer, 10000); /* not due in this run */
}

static void change_queue_from_callback(void **state)
{
    (void)state;
    struct timerq q;

    timerq_init(&q, 0);
    seen_reset(&q);
    owners_init(meddle, 5, meddle_cb);
    timerq_add(&q, &meddle[0].timer, 10);
    timerq_add(&q, &meddle[1].timer, 20);
    timerq_add(&q, &meddle[2].timer, 30);
    assert_int_equal(timerq_run(&q, 100), 3);
    assert_int_equal(seen.n, 3);
    assert_int_equal(seen.order[0], 0);
    assert_int_equal(seen.order[1], 3);
    assert_int_equal(seen.order[2], 2);
    assert_false(timerq_pending(&meddle[1].timer));
    assert_ptr_equal(timerq_peek(&q), &meddle[4].timer);
    timerq_free(&q);
    assert_false(timerq_pending(&meddle[4].timer)); /* left out, not run */
}

/* Random use from inside the callbacks: most add themselves again, some
 * remove another owner, some add or move another. After every run the queue
 * holds exactly the owners expected, at their times, none of them due:
 * none is lost, none runs early, none runs twice. */
enum { STORM = 1000 };
static struct owner storm[STORM];
static bool storm_pending[STORM];
static int64_t storm_due[STORM];
static size_t storm_ran;

static void storm_cb(struct timerq_item *it, int64_t now)
{
    int id = TIMERQ_OWNER(it, struct owner, timer)->id;

    assert_false(timerq_pending(it));
    assert_true(storm_pending[id]);
    assert_int_equal(it->due, storm_due[id]);
    assert_true(it->due <= now);
    storm_pending[id] = false;
    storm_ran++;

    uint64_t r = next_rand();
    if (r % 8 != 0) {
        storm_due[id] = now + 1 + (int64_t)(next_rand() % 1000);
        timerq_add(seen.q, it, storm_due[id]);
        storm_pending[id] = true;
    }
    if (r % 7 == 0) {
        size_t j = next_rand() % STORM;
        timerq_remove(seen.q, &storm[j].timer);
        storm_pending[j] = false;
    }
    if (r % 3 == 0) {
        size_t j = next_rand() % STORM;
        storm_due[j] = now + 1 + (int64_t)(next_rand() % 1000);
        timerq_add(seen.q, &storm[j].timer, storm_due[j]);
        storm_pending[j] = true;
    }
}

static void callbacks_lose_nothing(void **state)
{
    (void)state;
    struct timerq q;

    timerq_init(&q, 0);
    seen_reset(&q);
    owners_init(storm, STORM, storm_cb);
    for (size_t i = 0; i < STORM; i++) {
        storm_due[i] = (int64_t)(next_rand() % 1000);
        timerq_add(&q, &storm[i].timer, storm_due[i]);
        storm_pending[i] = true;
    }
    storm_ran = 0;
    for (int64_t now = 0; now < 20000; now += 1 + (int64_t)(next_rand() % 200)) {
        size_t before = storm_ran;
        size_t ran = timerq_run(&q, now);
        assert_int_equal(ran, storm_ran - before);
        for (size_t i = 0; i < STORM; i++) {
            assert_int_equal(timerq_pending(&storm[i].timer), storm_pending[i]);
            if (storm_pending[i]) {
                assert_int_equal(storm[i].timer.due, storm_due[i]);
                assert_true(storm_due[i] > now);
            }
        }
        const struct timerq_item *first = timerq_peek(&q);
        for (size_t i = 0; first && i < STORM; i++)
            assert_true(!storm_pending[i] || first->due <= storm_due[i]);
    }
    assert_true(storm_ran > 10 * STORM);
    assert_non_null(timerq_peek(&q)); /* busy to the end */
    timerq_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(heap_order_and_nothing_lost),
        cmocka_unit_test(run_only_what_is_due),
        cmocka_unit_test(slack),
        cmocka_unit_test(readd_from_callback),
        cmocka_unit_test(change_queue_from_callback),
        cmocka_unit_test(callbacks_lose_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
