/* Which pending deliveries a webhook drops when it holds more than it may
 * keep: the oldest, never one in flight, exactly as many as it must. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backlog.h"
#include "testrand.h"

/* A delivery as the test sees it: its number in order of making, and
 * whether an attempt of it is in flight. */
struct item {
    int id;
    bool busy;
    bool gone; /* dropped or delivered */
    struct backlog_node node;
};

#define ITEM(nd) ((struct item *)(void *)((char *)(nd)-offsetof(struct item, node)))

static bool busy(const struct backlog_node *nd)
{
    return ITEM(nd)->busy;
}

/* Drops as the webhook sink does: asks, removes, asks again. Returns how
 * many went, their numbers in dropped[]. */
static size_t trim(struct backlog *b, size_t cap, int *dropped)
{
    struct backlog_node *nd;
    size_t n = 0;

    while ((nd = backlog_victim(b, cap, busy)) != NULL) {
        assert_false(ITEM(nd)->busy);
        ITEM(nd)->gone = true;
        dropped[n++] = ITEM(nd)->id;
        backlog_remove(b, nd);
    }
    return n;
}

/* At or under the cap nothing goes; over it, the oldest. */
static void oldest_go_first(void **state)
{
    struct backlog b;
    struct item it[8] = {{0}};
    int dropped[8];
    (void)state;

    backlog_init(&b);
    for (int i = 0; i < 5; i++) {
        it[i].id = i;
        backlog_push(&b, &it[i].node);
    }
    assert_null(backlog_victim(&b, 5, busy));
    assert_int_equal(trim(&b, 5, dropped), 0);
    for (int i = 5; i < 8; i++) {
        it[i].id = i;
        backlog_push(&b, &it[i].node);
    }
    assert_int_equal(trim(&b, 5, dropped), 3);
    assert_int_equal(dropped[0], 0);
    assert_int_equal(dropped[1], 1);
    assert_int_equal(dropped[2], 2);
    assert_int_equal(b.n, 5);
    assert_ptr_equal(TAILQ_FIRST(&b.nodes), &it[3].node);
}

/* One in flight is passed over: the next oldest goes instead, and the
 * one in flight stays the oldest. */
static void in_flight_is_passed_over(void **state)
{
    struct backlog b;
    struct item it[7] = {{0}};
    int dropped[7];
    (void)state;

    backlog_init(&b);
    for (int i = 0; i < 7; i++) {
        it[i].id = i;
        backlog_push(&b, &it[i].node);
    }
    it[0].busy = it[2].busy = true;
    assert_int_equal(trim(&b, 4, dropped), 3);
    assert_int_equal(dropped[0], 1);
    assert_int_equal(dropped[1], 3);
    assert_int_equal(dropped[2], 4);
    assert_ptr_equal(TAILQ_FIRST(&b.nodes), &it[0].node);
}

/* All in flight: none can go, and the backlog stays over the cap until
 * an attempt ends. */
static void all_in_flight_drops_none(void **state)
{
    struct backlog b;
    struct item it[3] = {{0}};
    int dropped[3];
    (void)state;

    backlog_init(&b);
    for (int i = 0; i < 3; i++) {
        it[i].busy = true;
        backlog_push(&b, &it[i].node);
    }
    assert_int_equal(trim(&b, 1, dropped), 0);
    assert_int_equal(b.n, 3);
    it[1].busy = false;
    assert_int_equal(trim(&b, 1, dropped), 1);
    assert_int_equal(b.n, 2);
}

/* Random use, a thousand times: deliveries made, some in flight, some
 * done (removed from anywhere), and a trim after each new one. After each
 * trim at most the cap are left, or only deliveries in flight are;
 * every one dropped was older than every one kept that is not in flight;
 * the order is the order of making. */
static void random_use_keeps_the_newest(void **state)
{
    enum { N = 1000, CAP = 20 };
    static struct item it[N];
    struct backlog b;
    int dropped[N];
    size_t total = 0, most = 0;
    (void)state;

    backlog_init(&b);
    for (int i = 0; i < N; i++) {
        it[i] = (struct item){.id = i, .busy = next_rand() % 8 == 0};
        backlog_push(&b, &it[i].node);
        /* Now and then an attempt ends: delivered (it leaves) or failed
         * (it stays, no longer in flight). */
        if (i > 0 && next_rand() % 2) {
            struct item *x = &it[next_rand() % (unsigned)i];
            for (int k = 0; k < i && !(x->busy && !x->gone); k++)
                x = &it[(x->id + 1) % i];
            if (x->busy && !x->gone) {
                x->busy = false;
                if (next_rand() % 2) {
                    x->gone = true; /* delivered */
                    backlog_remove(&b, &x->node);
                }
            }
        }
        size_t n = trim(&b, CAP, dropped);
        size_t busy_kept = 0;
        int last = -1;
        struct backlog_node *nd;
        TAILQ_FOREACH(nd, &b.nodes, link)
        {
            assert_true(ITEM(nd)->id > last);
            last = ITEM(nd)->id;
            busy_kept += ITEM(nd)->busy;
            for (size_t k = 0; k < n && !ITEM(nd)->busy; k++)
                assert_true(dropped[k] < ITEM(nd)->id);
        }
        assert_true(b.n <= CAP || busy_kept == b.n);
        assert_true(n <= 1 + 1); /* one made, one no longer in flight */
        total += n;
        if (busy_kept > most)
            most = busy_kept;
    }
    /* The draw made both happen: many drops, and several in flight at once. */
    assert_true(total > N / 2);
    assert_true(most >= 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(oldest_go_first),
        cmocka_unit_test(in_flight_is_passed_over),
        cmocka_unit_test(all_in_flight_drops_none),
        cmocka_unit_test(random_use_keeps_the_newest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
