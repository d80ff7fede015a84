/* The resolver's decisions: what the hosts table and the cache answer and
 * for how long, one lookup per name however many wait, the budget of
 * lookups in flight and the share of it slow names may take, and what
 * happens to a lookup nobody waits for. Time is an integer the test
 * drives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "dnscache.h"
#include "testrand.h"

#define S INT64_C(1000000)

static struct dnscache *cache(int64_t ttl, unsigned max)
{
    struct dnscache *c = dnscache_new();
    dnscache_configure(c, ttl, max);
    return c;
}

/* Starts the next lookup, which must be for name. */
static struct dns_lookup *start(struct dnscache *c, const char *name, int64_t now)
{
    struct dns_lookup *l = dnscache_next(c, now);
    assert_non_null(l);
    assert_string_equal(l->name, name);
    return l;
}

/* Answers a running lookup and tells its waiters: how many there were. */
static int answer(struct dnscache *c, struct dns_lookup *l, const char *addrs, bool no_answer,
                  int64_t now)
{
    int n = 0;
    dnscache_done(c, l, addrs, no_answer, now);
    while (dnscache_take(l))
        n++;
    dnscache_lookup_free(l);
    return n;
}

/* An answer lasts the cache time from when it came, then the name is
 * asked again; with no cache time it is not kept at all. */
static void answers_last_the_cache_time(void **state)
{
    (void)state;
    struct dnscache *c = cache(60 * S, 4);
    struct dns_waiter w = {0};

    assert_null(dnscache_find(c, "www.example.com", IP_ANY, 0));
    dnscache_wait(c, "www.example.com", IP_ANY, &w, 0);
    struct dns_lookup *l = start(c, "www.example.com", 1 * S);
    assert_int_equal(answer(c, l, "192.0.2.1,[2001:db8::1]", false, 2 * S), 1);
    assert_null(w.lookup);
    assert_string_equal(dnscache_find(c, "www.example.com", IP_ANY, 2 * S),
                        "192.0.2.1,[2001:db8::1]");
    assert_string_equal(dnscache_find(c, "WWW.Example.COM", IP_ANY, 62 * S - 1),
                        "192.0.2.1,[2001:db8::1]");
    assert_null(dnscache_find(c, "www.example.com", IP_ANY, 62 * S));
    /* Another IP version is another question. */
    assert_null(dnscache_find(c, "www.example.com", IP_V4, 2 * S));
    assert_int_equal(dnscache_stats(c)->hits, 2);
    dnscache_free(c);

    c = cache(0, 4);
    dnscache_wait(c, "www.example.com", IP_ANY, &w, 0);
    answer(c, start(c, "www.example.com", 0), "192.0.2.1", false, 0);
    assert_null(dnscache_find(c, "www.example.com", IP_ANY, 0));
    dnscache_free(c);
}

/* A failure is not kept: the next probe asks again. */
static void failures_are_not_kept(void **state)
{
    (void)state;
    struct dnscache *c = cache(60 * S, 4);
    struct dns_waiter w = {0};

    dnscache_wait(c, "gone.example", IP_ANY, &w, 0);
    answer(c, start(c, "gone.example", 0), NULL, false, 1);
    assert_null(dnscache_find(c, "gone.example", IP_ANY, 2));
    dnscache_wait(c, "gone.example", IP_ANY, &w, 2);
    answer(c, start(c, "gone.example", 2), NULL, false, 3);
    assert_int_equal(dnscache_stats(c)->lookups, 2);
    assert_int_equal(dnscache_stats(c)->failed, 2);
    dnscache_free(c);
}

/* Many probes of one name wait for one lookup; each IP version has its
 * own. */
static void one_lookup_per_name(void **state)
{
    (void)state;
    struct dnscache *c = cache(60 * S, 8);
    struct dns_waiter w[5] = {{0}};

    for (int i = 0; i < 3; i++)
        dnscache_wait(c, "shop.example", IP_ANY, &w[i], i);
    dnscache_wait(c, "Shop.Example", IP_V6, &w[3], 3);
    struct dns_lookup *any = start(c, "shop.example", 4);
    assert_int_equal(any->family, IP_ANY);
    /* One that comes while the lookup runs joins it. */
    dnscache_wait(c, "shop.example", IP_ANY, &w[4], 5);
    assert_ptr_equal(w[4].lookup, any);
    struct dns_lookup *v6 = start(c, "shop.example", 5);
    assert_int_equal(v6->family, IP_V6);
    assert_null(dnscache_next(c, 5));
    assert_int_equal(answer(c, any, "192.0.2.7", false, 6), 4);
    assert_int_equal(answer(c, v6, NULL, false, 6), 1);
    assert_int_equal(dnscache_stats(c)->lookups, 2);
    dnscache_free(c);
}

/* At most max lookups in flight; the others wait in the order they came
 * and start as slots free up. */
static void budget_and_order(void **state)
{
    (void)state;
    struct dnscache *c = cache(60 * S, 2);
    struct dns_waiter w[4] = {{0}};
    const char *names[] = {"a.example", "b.example", "c.example", "d.example"};

    for (int i = 0; i < 4; i++)
        dnscache_wait(c, names[i], IP_ANY, &w[i], i);
    struct dns_lookup *a = start(c, "a.example", 10);
    struct dns_lookup *b = start(c, "b.example", 10);
    assert_null(dnscache_next(c, 10));
    assert_int_equal(dnscache_stats(c)->running, 2);
    assert_int_equal(dnscache_stats(c)->queued, 2);
    answer(c, b, "192.0.2.2", false, 11);
    struct dns_lookup *cl = start(c, "c.example", 11);
    assert_null(dnscache_next(c, 11));
    /* A smaller budget applies as lookups end. */
    dnscache_configure(c, 60 * S, 1);
    answer(c, a, "192.0.2.1", false, 12);
    assert_null(dnscache_next(c, 12));
    answer(c, cl, "192.0.2.3", false, 13);
    struct dns_lookup *d = start(c, "d.example", 13);
    answer(c, d, "192.0.2.4", false, 14);
    assert_int_equal(dnscache_stats(c)->running, 0);
    assert_int_equal(dnscache_stats(c)->queued, 0);
    dnscache_free(c);
}

/* A lookup nobody waits for any more: dropped from the queue, or, in
 * flight, given up with its slot freed at once. One waiter leaving does
 * not stop a lookup others wait for. */
static void lookups_nobody_waits_for(void **state)
{
    (void)state;
    struct dnscache *c = cache(60 * S, 1);
    struct dns_waiter w[3] = {{0}};

    dnscache_wait(c, "a.example", IP_ANY, &w[0], 0);
    dnscache_wait(c, "a.example", IP_ANY, &w[1], 0);
    dnscache_wait(c, "b.example", IP_ANY, &w[2], 0);
    struct dns_lookup *a = start(c, "a.example", 0);
    assert_null(dnscache_leave(c, &w[0], true, 1));
    assert_int_equal(a->state, DNS_RUNNING);
    /* b, queued, is dropped when its only waiter goes. */
    assert_null(dnscache_leave(c, &w[2], true, 1));
    assert_null(w[2].lookup);
    assert_int_equal(dnscache_stats(c)->queued, 0);
    /* a's last waiter goes: a is given up, its slot free. */
    assert_ptr_equal(dnscache_leave(c, &w[1], false, 2), a);
    assert_int_equal(a->state, DNS_ABANDONED);
    assert_int_equal(dnscache_stats(c)->running, 0);
    assert_int_equal(dnscache_stats(c)->abandoned, 1);
    dnscache_lookup_free(a); /* when its question reports back */
    /* Leaving twice, or after the answer, does nothing. */
    assert_null(dnscache_leave(c, &w[1], false, 2));
    dnscache_wait(c, "a.example", IP_ANY, &w[0], 3);
    a = start(c, "a.example", 3);
    dnscache_done(c, a, "192.0.2.1", false, 4);
    assert_null(dnscache_leave(c, &w[0], false, 4));
    assert_null(dnscache_take(a));
    dnscache_lookup_free(a);
    dnscache_free(c);
}

/* Freed with a question out (the daemon stopping): the lookup in flight
 * stays its sender's, to free when evdns lets go of it; a queued one goes
 * with the cache. */
static void freed_with_lookups_out(void **state)
{
    (void)state;
    struct dnscache *c = cache(60 * S, 1);
    struct dns_waiter w[2] = {{0}};

    dnscache_wait(c, "out.example", IP_ANY, &w[0], 0);
    dnscache_wait(c, "queued.example", IP_ANY, &w[1], 0);
    struct dns_lookup *l = start(c, "out.example", 0);
    assert_ptr_equal(dnscache_leave(c, &w[0], false, 1), l);
    dnscache_leave(c, &w[1], false, 1);
    dnscache_wait(c, "out2.example", IP_ANY, &w[0], 2);
    dnscache_wait(c, "queued2.example", IP_ANY, &w[1], 2);
    struct dns_lookup *l2 = start(c, "out2.example", 2);
    /* The waiters are the caller's: let them go without the cache. */
    TAILQ_INIT(&l2->waiters);
    dnscache_free(c);
    assert_null(l2->owner);
    dnscache_lookup_free(l2);
    dnscache_lookup_free(l);
}

/* Names whose name servers do not answer take at most half the slots:
 * names that answer find room beside them, though they came later. */
static void slow_names_take_half(void **state)
{
    (void)state;
    struct dnscache *c = cache(60 * S, 4);
    struct dns_waiter w[8] = {{0}};
    char names[6][32];

    /* Six names time out once, four and then two at a time: they are
     * slow from then on. */
    for (int i = 0; i < 6; i++) {
        snprintf(names[i], sizeof(names[i]), "silent%d.example", i);
        dnscache_wait(c, names[i], IP_ANY, &w[i], 0);
    }
    struct dns_lookup *first[6];
    for (int i = 0; i < 6; i++) {
        if (i == 4) {
            assert_null(dnscache_next(c, 1)); /* four slots */
            for (int k = 0; k < 4; k++) {
                assert_ptr_equal(dnscache_leave(c, &w[k], true, 2), first[k]);
                dnscache_lookup_free(first[k]);
            }
        }
        first[i] = start(c, names[i], 2);
        assert_false(first[i]->slow);
    }
    for (int k = 4; k < 6; k++) {
        assert_ptr_equal(dnscache_leave(c, &w[k], true, 3), first[k]);
        dnscache_lookup_free(first[k]);
    }
    for (int i = 0; i < 6; i++)
        dnscache_wait(c, names[i], IP_ANY, &w[i], 10 + i);
    dnscache_wait(c, "shop.example", IP_ANY, &w[6], 20);
    struct dns_lookup *s0 = start(c, "silent0.example", 21);
    struct dns_lookup *s1 = start(c, "silent1.example", 21);
    assert_true(s0->slow && s1->slow);
    struct dns_lookup *shop = start(c, "shop.example", 21);
    assert_false(shop->slow);
    /* The fourth slot stays for names that answer. */
    assert_null(dnscache_next(c, 21));
    assert_int_equal(dnscache_stats(c)->running_slow, 2);
    dnscache_wait(c, "news.example", IP_ANY, &w[7], 22);
    struct dns_lookup *news = start(c, "news.example", 22);
    assert_false(news->slow);
    assert_null(dnscache_next(c, 22));
    /* A slow lookup that ends lets the next slow one in. */
    answer(c, shop, "192.0.2.9", false, 23);
    assert_null(dnscache_next(c, 23));
    answer(c, s0, "192.0.2.10", false, 24);
    struct dns_lookup *s2 = start(c, "silent2.example", 24);
    assert_true(s2->slow);
    /* An answer makes a slow name one that answers again. */
    dnscache_configure(c, 0, 4); /* no cache: every probe asks */
    dnscache_wait(c, "silent0.example", IP_ANY, &w[0], 25);
    assert_false(w[0].lookup->slow);
    answer(c, s1, NULL, true, 25);
    answer(c, s2, NULL, true, 25);
    answer(c, news, "192.0.2.11", false, 25);
    for (struct dns_lookup *l; (l = dnscache_next(c, 26)) != NULL;)
        answer(c, l, NULL, true, 26);
    for (int i = 0; i < 8; i++)
        assert_null(w[i].lookup);
    assert_int_equal(dnscache_stats(c)->running, 0);
    assert_int_equal(dnscache_stats(c)->queued, 0);
    dnscache_free(c);
}

/* A name that answered last time goes ahead of names never heard of: a
 * name that resolves must not time out in the queue behind hundreds of
 * new names of a silent name server. */
static void names_that_answered_go_first(void **state)
{
    (void)state;
    struct dnscache *c = cache(0, 1);
    struct dns_waiter w[4] = {{0}};

    dnscache_wait(c, "shop.example", IP_ANY, &w[0], 0);
    answer(c, start(c, "shop.example", 0), "192.0.2.1", false, 1);
    dnscache_wait(c, "gone.example", IP_ANY, &w[0], 1);
    answer(c, start(c, "gone.example", 1), NULL, false, 2); /* NXDOMAIN: an answer */
    dnscache_wait(c, "busy.example", IP_ANY, &w[0], 2);
    struct dns_lookup *busy = start(c, "busy.example", 2);
    dnscache_wait(c, "new.example", IP_ANY, &w[1], 3);
    dnscache_wait(c, "shop.example", IP_ANY, &w[2], 4);
    dnscache_wait(c, "gone.example", IP_ANY, &w[3], 5);
    answer(c, busy, "192.0.2.2", false, 6);
    answer(c, start(c, "shop.example", 6), "192.0.2.1", false, 7);
    answer(c, start(c, "gone.example", 7), NULL, false, 8);
    answer(c, start(c, "new.example", 8), NULL, true, 9);
    dnscache_free(c);
}

/* A name server that fails (or that evdns gave up on) makes the name slow
 * as well; the budget of one still lets a slow name run. */
static void no_answer_is_slow(void **state)
{
    (void)state;
    struct dnscache *c = cache(60 * S, 1);
    struct dns_waiter w = {0};

    dnscache_wait(c, "x.example", IP_V4, &w, 0);
    answer(c, start(c, "x.example", 0), NULL, true, 5 * S);
    dnscache_wait(c, "x.example", IP_V4, &w, 6 * S);
    struct dns_lookup *l = start(c, "x.example", 6 * S);
    assert_true(l->slow);
    answer(c, l, "192.0.2.1", false, 6 * S);
    dnscache_free(c);
}

static void hosts_table(void **state)
{
    (void)state;
    struct dnscache *c = cache(60 * S, 4);

    dnscache_set_hosts(c, "# comment\n"
                          "127.0.0.1\tlocalhost\n"
                          "::1 localhost ip6-localhost  # trailing\n"
                          "192.0.2.10 Intranet.Example intra\r\n"
                          "192.0.2.11 intranet.example\n"
                          "2001:db8::5 v6only.example\n"
                          "fe80::1%eth0 scoped.example\n"
                          "not-an-address bogus.example\n"
                          "192.0.2.12 bad..name ok.example");
    assert_string_equal(dnscache_find(c, "localhost", IP_ANY, 0), "127.0.0.1,[::1]");
    assert_string_equal(dnscache_find(c, "localhost", IP_V4, 0), "127.0.0.1");
    assert_string_equal(dnscache_find(c, "LOCALHOST", IP_V6, 0), "[::1]");
    assert_string_equal(dnscache_find(c, "intranet.example", IP_ANY, 0), "192.0.2.10,192.0.2.11");
    assert_string_equal(dnscache_find(c, "INTRA", IP_V4, 0), "192.0.2.10");
    assert_string_equal(dnscache_find(c, "ok.example", IP_V4, 0), "192.0.2.12");
    /* No address of the version asked: the name servers are asked. */
    assert_null(dnscache_find(c, "v6only.example", IP_V4, 0));
    assert_string_equal(dnscache_find(c, "v6only.example", IP_V6, 0), "[2001:db8::5]");
    assert_null(dnscache_find(c, "scoped.example", IP_ANY, 0));
    assert_null(dnscache_find(c, "bogus.example", IP_ANY, 0));
    assert_int_equal(dnscache_stats(c)->hosts, 7);
    /* A new file replaces the table. */
    dnscache_set_hosts(c, "192.0.2.99 intra\n");
    assert_null(dnscache_find(c, "localhost", IP_ANY, 0));
    assert_string_equal(dnscache_find(c, "intra", IP_ANY, 0), "192.0.2.99");
    dnscache_set_hosts(c, NULL);
    assert_null(dnscache_find(c, "intra", IP_ANY, 0));
    dnscache_free(c);
}

static void valid_names(void **state)
{
    (void)state;
    char label64[80], long_name[300];

    assert_true(dns_name_valid("example.com"));
    assert_true(dns_name_valid("example.com."));
    assert_true(dns_name_valid("_acme-challenge.x-1.example"));
    assert_true(dns_name_valid("xn--bcher-kva.example"));
    assert_false(dns_name_valid(""));
    assert_false(dns_name_valid("."));
    assert_false(dns_name_valid("a..b"));
    assert_false(dns_name_valid(".a"));
    assert_false(dns_name_valid("a b"));
    assert_false(dns_name_valid("b\xc3\xbc"
                                "cher.example"));
    memset(label64, 'x', 64);
    strcpy(label64 + 64, ".invalid");
    assert_false(dns_name_valid(label64));
    assert_true(dns_name_valid(label64 + 1));
    for (int i = 0; i < 63; i++)
        memcpy(long_name + 4 * i, "abc.", 4);
    strcpy(long_name + 252, "a");
    assert_true(dns_name_valid(long_name)); /* 253 */
    strcpy(long_name + 252, "ab");
    assert_false(dns_name_valid(long_name));
}

static void address_lists(void **state)
{
    (void)state;
    struct buf b = {0};
    unsigned char v4[4] = {192, 0, 2, 1}, v6[16] = {0x20, 0x01, 0x0d, 0xb8};

    dns_addrs_add(&b, AF_INET, v4);
    dns_addrs_add(&b, AF_INET6, v6);
    dns_addrs_add(&b, AF_INET, v4); /* again: left out */
    assert_string_equal(b.data, "192.0.2.1,[2001:db8::]");
    for (unsigned char i = 2; i < 40; i++) {
        v4[3] = i;
        dns_addrs_add(&b, AF_INET, v4);
    }
    size_t commas = 0;
    for (const char *p = b.data; *p; p++)
        commas += *p == ',';
    assert_int_equal(commas + 1, DNS_MAX_ADDRS);
    buf_free(&b);
}

/* Names nobody asks for are forgotten after a while; names in use are not. */
static void unused_names_are_forgotten(void **state)
{
    (void)state;
    struct dnscache *c = cache(60 * S, 4);
    struct dns_waiter w = {0};

    dnscache_wait(c, "old.example", IP_ANY, &w, 0);
    answer(c, start(c, "old.example", 0), "192.0.2.1", false, 0);
    dnscache_wait(c, "used.example", IP_ANY, &w, 0);
    answer(c, start(c, "used.example", 0), NULL, true, 0);
    assert_int_equal(dnscache_stats(c)->names, 2);
    for (int64_t t = 0; t <= 11 * 60 * S; t += 30 * S)
        dnscache_find(c, "used.example", IP_ANY, t);
    assert_int_equal(dnscache_stats(c)->names, 1);
    /* used.example is still known to be slow. */
    dnscache_wait(c, "used.example", IP_ANY, &w, 12 * 60 * S);
    struct dns_lookup *l = start(c, "used.example", 12 * 60 * S);
    assert_true(l->slow);
    answer(c, l, NULL, true, 12 * 60 * S);
    dnscache_free(c);
}

/* Random waits, answers, timeouts and cancellations: the budget and the
 * slow names' share are never exceeded, every waiter ends told or gone,
 * and the counts add up. */
static void random_schedule(void **state)
{
    (void)state;
    enum { NW = 64, MAX = 6 };
    struct dnscache *c = cache(5 * S, MAX);
    struct dns_waiter w[NW] = {{0}};
    struct dns_lookup *running[64];
    size_t nrunning = 0;
    int64_t now = 0;
    char name[32];

    for (int round = 0; round < 100000; round++) {
        uint64_t r = next_rand();
        now += (int64_t)((r >> 40) % 50000);
        size_t i = (size_t)((r >> 8) % NW);
        switch (r & 3) {
        case 0: /* a probe asks, if this waiter is free */
            if (w[i].lookup == NULL) {
                snprintf(name, sizeof(name), "n%u.example", (unsigned)((r >> 20) % 16));
                if (dnscache_find(c, name, (enum ip_version)((r >> 30) % 3), now) == NULL)
                    dnscache_wait(c, name, (enum ip_version)((r >> 30) % 3), &w[i], now);
            }
            break;
        case 1: { /* a waiter gives up */
            struct dns_lookup *l = dnscache_leave(c, &w[i], (r >> 4) & 1, now);
            if (l) {
                for (size_t k = 0; k < nrunning; k++)
                    if (running[k] == l)
                        running[k] = running[--nrunning];
                dnscache_lookup_free(l);
            }
            break;
        }
        case 2: /* an answer */
            if (nrunning) {
                size_t k = (size_t)((r >> 12) % nrunning);
                struct dns_lookup *l = running[k];
                running[k] = running[--nrunning];
                answer(c, l, (r >> 5) & 1 ? "192.0.2.1" : NULL, (r >> 6) & 1, now);
            }
            break;
        default: /* lookups start as the budget allows */
            for (struct dns_lookup *l; (l = dnscache_next(c, now)) != NULL;)
                running[nrunning++] = l;
            break;
        }
        const struct dnscache_stats *s = dnscache_stats(c);
        assert_int_equal(s->running, nrunning);
        assert_true(s->running <= MAX);
        assert_true(s->running_slow <= MAX / 2);
    }
    for (size_t i = 0; i < NW; i++) {
        struct dns_lookup *l = dnscache_leave(c, &w[i], false, now);
        if (l) {
            for (size_t k = 0; k < nrunning; k++)
                if (running[k] == l)
                    running[k] = running[--nrunning];
            dnscache_lookup_free(l);
        }
    }
    assert_int_equal(nrunning, 0);
    assert_int_equal(dnscache_stats(c)->queued, 0);
    dnscache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(answers_last_the_cache_time),
        cmocka_unit_test(failures_are_not_kept),
        cmocka_unit_test(one_lookup_per_name),
        cmocka_unit_test(budget_and_order),
        cmocka_unit_test(lookups_nobody_waits_for),
        cmocka_unit_test(freed_with_lookups_out),
        cmocka_unit_test(slow_names_take_half),
        cmocka_unit_test(names_that_answered_go_first),
        cmocka_unit_test(no_answer_is_slow),
        cmocka_unit_test(hosts_table),
        cmocka_unit_test(valid_names),
        cmocka_unit_test(address_lists),
        cmocka_unit_test(unused_names_are_forgotten),
        cmocka_unit_test(random_schedule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
