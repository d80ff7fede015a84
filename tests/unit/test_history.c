/* Each target's history in memory: minutes that close on the next probe
 * or on a tick, uptime over whole hours and days, the daily strip across
 * UTC midnight, and incidents, also across a restore. Time is passed in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "history.h"
#include "state.h"

#define SEC  1000LL
#define MIN  (60 * SEC)
#define HOUR (60 * MIN)
#define DAY  (24 * HOUR)
#define T0   1710028800000LL /* 2024-03-10T00:00:00Z */

static uint64_t next_id = 1;

/* One probe answered with code (0: none) or err, judged state, at t;
 * the confirmed state after it and when that began. */
static struct hchanges probe_at(struct htarget *h, int64_t t, int code, enum probe_error err,
                                enum target_state state, int64_t latency_ms,
                                enum target_state confirmed, int64_t since)
{
    struct probe_result r;
    struct verdict v = {.state = state, .error = err};
    struct hchanges ch;

    probe_result_init(&r);
    r.code = code;
    r.error = err;
    r.total_us = latency_ms < 0 ? -1 : latency_ms * 1000;
    r.started_wall_ms = t - (latency_ms > 0 ? latency_ms : 0);
    htarget_observe(h, &r, &v, confirmed, since, t, &next_id, &ch);
    return ch;
}

static struct hchanges up_at(struct htarget *h, int64_t t)
{
    return probe_at(h, t, 200, PERR_NONE, ST_UP, 30, ST_UP, T0);
}

static void latency_buckets(void **unused)
{
    (void)unused;
    assert_int_equal(hist_lat_bucket(0), 0);
    assert_int_equal(hist_lat_bucket(25000), 0); /* "le": the bound is in */
    assert_int_equal(hist_lat_bucket(25001), 1);
    assert_int_equal(hist_lat_bucket(999999), 5);
    assert_int_equal(hist_lat_bucket(10000000), HIST_LAT_BUCKETS - 2);
    assert_int_equal(hist_lat_bucket(10000001), HIST_LAT_BUCKETS - 1);
    for (unsigned i = 1; i < HIST_LAT_BUCKETS - 1; i++)
        assert_true(hist_lat_bounds_us[i] > hist_lat_bounds_us[i - 1]);
}

static void state_ranks(void **unused)
{
    static const enum target_state order[] = {ST_UNKNOWN,      ST_UP,         ST_REDIRECTING,
                                              ST_UNEXPECTED,   ST_CONTENT,    ST_CLIENT_ERROR,
                                              ST_SERVER_ERROR, ST_UNREACHABLE};
    (void)unused;
    for (size_t i = 1; i < sizeof(order) / sizeof(order[0]); i++)
        assert_true(hist_state_rank(order[i]) > hist_state_rank(order[i - 1]));
}

static void minute_rolls_over_on_the_next_probe(void **unused)
{
    struct htarget h;
    struct hchanges ch;
    (void)unused;

    htarget_init(&h);
    ch = probe_at(&h, T0 + 10 * SEC, 200, PERR_NONE, ST_UP, 20, ST_UP, T0);
    assert_false(ch.minute_closed);
    ch = probe_at(&h, T0 + 30 * SEC, 503, PERR_NONE, ST_SERVER_ERROR, 300, ST_UP, T0);
    assert_false(ch.minute_closed);
    ch = probe_at(&h, T0 + 50 * SEC, 0, PERR_DNS, ST_UNREACHABLE, -1, ST_UP, T0);
    assert_false(ch.minute_closed);
    assert_int_equal(h.minute.probes, 3);

    ch = probe_at(&h, T0 + MIN + 5 * SEC, 200, PERR_NONE, ST_UP, 20, ST_UP, T0);
    assert_true(ch.minute_closed);
    assert_int_equal(ch.closed.start_ms, T0);
    assert_int_equal(ch.closed.probes, 3);
    assert_int_equal(ch.closed.failures, 2);
    assert_int_equal(ch.closed.worst, ST_UNREACHABLE);
    /* The lookup that failed has no total time: no latency. */
    assert_int_equal(ch.closed.latency_sum_us, 320000);
    assert_int_equal(ch.closed.latency_max_us, 300000);
    assert_int_equal(ch.closed.lat[0], 1);
    assert_int_equal(ch.closed.lat[hist_lat_bucket(300000)], 1);
    assert_int_equal(h.minute.start_ms, T0 + MIN);
    assert_int_equal(h.minute.probes, 1);

    assert_int_equal(h.by_state[ST_UP], 2);
    assert_int_equal(h.by_state[ST_SERVER_ERROR], 1);
    assert_int_equal(h.by_state[ST_UNREACHABLE], 1);
    assert_int_equal(h.duration_sum_us, 20000 + 300000 + 20000);
    assert_int_equal(h.last.code, 200);
    assert_int_equal(h.last.wall_ms, T0 + MIN + 5 * SEC - 20);
    htarget_free(&h);
}

static void tick_closes_an_idle_minute_once(void **unused)
{
    struct htarget h;
    struct hbucket b;
    (void)unused;

    htarget_init(&h);
    assert_false(htarget_tick(&h, T0 + 5 * MIN, &b)); /* nothing yet */
    up_at(&h, T0 + 2 * MIN + 10 * SEC);
    assert_false(htarget_tick(&h, T0 + 3 * MIN - 1, &b));
    assert_true(htarget_tick(&h, T0 + 3 * MIN, &b));
    assert_int_equal(b.start_ms, T0 + 2 * MIN);
    assert_int_equal(b.probes, 1);
    assert_false(htarget_tick(&h, T0 + 4 * MIN, &b));
    /* The next probe starts a minute of its own; nothing closes twice. */
    struct hchanges ch = up_at(&h, T0 + 7 * MIN);
    assert_false(ch.minute_closed);
    htarget_free(&h);
}

static void uptime_over_whole_hours_and_days(void **unused)
{
    struct htarget h;
    int64_t now = T0 + 10 * DAY + 10 * HOUR + 30 * MIN;
    (void)unused;

    htarget_init(&h);
    assert_true(htarget_uptime(&h, 24 * HOUR, now) < 0); /* no probe: no figure */
    /* 25 hours back, the hour before the window: outside 24 h. */
    probe_at(&h, now - 25 * HOUR, 0, PERR_CONNECT, ST_UNREACHABLE, -1, ST_UP, T0);
    /* 24 hours back, within the hour 24 whole hours before this one. */
    probe_at(&h, now - 24 * HOUR, 0, PERR_CONNECT, ST_UNREACHABLE, -1, ST_UP, T0);
    /* 2 hours back. */
    probe_at(&h, now - 2 * HOUR, 500, PERR_NONE, ST_SERVER_ERROR, 10, ST_UP, T0);
    up_at(&h, now - 1 * MIN);
    up_at(&h, now);
    up_at(&h, now);
    up_at(&h, now);
    up_at(&h, now);
    up_at(&h, now);

    assert_true(htarget_uptime(&h, 1 * HOUR, now) == 1.0);
    /* The hour under way and the 2 before it: 6 up of 7. */
    assert_true(htarget_uptime(&h, 2 * HOUR, now) == 6.0 / 7.0);
    assert_true(htarget_uptime(&h, 24 * HOUR, now) == 6.0 / 8.0);
    /* Days: today (6 up, 1 failed 2 h ago) and yesterday (2 failed),
     * whichever "7 d" or "30 d". */
    assert_true(htarget_uptime(&h, 7 * DAY, now) == 6.0 / 9.0);
    assert_true(htarget_uptime(&h, 30 * DAY, now) == 6.0 / 9.0);
    /* A day later the 24 h window has moved past all but nothing. */
    assert_true(htarget_uptime(&h, 24 * HOUR, now + 26 * HOUR) < 0);
    assert_true(htarget_uptime(&h, 7 * DAY, now + 26 * HOUR) == 6.0 / 9.0);
    /* Eight days on, yesterday's failures are outside "7 d" (today and
     * the 7 whole days before it), not outside "30 d". */
    assert_true(htarget_uptime(&h, 7 * DAY, now + 7 * DAY) == 6.0 / 7.0);
    assert_true(htarget_uptime(&h, 7 * DAY, now + 8 * DAY) < 0);
    assert_true(htarget_uptime(&h, 30 * DAY, now + 8 * DAY) == 6.0 / 9.0);
    htarget_free(&h);
}

static void day_strip_across_utc_midnight(void **unused)
{
    struct htarget h;
    struct hspan d[4];
    (void)unused;

    htarget_init(&h);
    probe_at(&h, T0 + DAY - 10 * SEC, 503, PERR_NONE, ST_SERVER_ERROR, 10, ST_UP, T0);
    up_at(&h, T0 + DAY - 5 * SEC);
    struct hchanges ch = up_at(&h, T0 + DAY + 10 * SEC);
    assert_true(ch.minute_closed); /* 23:59 ended at midnight */
    assert_int_equal(ch.closed.start_ms, T0 + DAY - MIN);

    htarget_days(&h, T0 + DAY + 20 * SEC, d, 4);
    assert_int_equal(d[3].probes, 1);
    assert_int_equal(d[3].failures, 0);
    assert_int_equal(d[3].worst, ST_UP);
    assert_int_equal(d[2].probes, 2);
    assert_int_equal(d[2].failures, 1);
    assert_int_equal(d[2].worst, ST_SERVER_ERROR);
    assert_int_equal(d[1].probes, 0);
    assert_int_equal(d[1].worst, ST_UNKNOWN);
    assert_int_equal(h.ndays, 2);

    /* Asked two days later, with no probe since: the strip moves. */
    htarget_days(&h, T0 + 3 * DAY + HOUR, d, 4);
    assert_int_equal(d[3].probes, 0);
    assert_int_equal(d[2].probes, 0);
    assert_int_equal(d[1].probes, 1);
    assert_int_equal(d[0].probes, 2);
    htarget_free(&h);
}

static void days_grow_to_ninety_and_no_further(void **unused)
{
    struct htarget h;
    struct hspan d[HIST_DAYS];
    (void)unused;

    htarget_init(&h);
    for (int i = 0; i < HIST_DAYS + 10; i++)
        up_at(&h, T0 + i * DAY + HOUR);
    assert_int_equal(h.ndays, HIST_DAYS);
    htarget_days(&h, T0 + (HIST_DAYS + 9) * DAY, d, HIST_DAYS);
    for (int i = 0; i < HIST_DAYS; i++)
        assert_int_equal(d[i].probes, 1);
    /* After a silence longer than the window, one day again. */
    up_at(&h, T0 + 400 * DAY);
    assert_int_equal(h.ndays, 1);
    assert_int_equal(h.nhours, 1);
    htarget_free(&h);
}

static void restored_totals_count_with_live_ones(void **unused)
{
    struct htarget h;
    int64_t now = T0 + 5 * DAY + 12 * HOUR;
    (void)unused;

    htarget_init(&h);
    /* As the database gives them: in any order, some too old to keep. */
    htarget_add_day(&h, T0 + 4 * DAY, &(struct hspan){100, 10, ST_SERVER_ERROR});
    htarget_add_day(&h, T0 + 2 * DAY, &(struct hspan){100, 0, ST_UP});
    htarget_add_day(&h, T0 + 5 * DAY, &(struct hspan){50, 0, ST_UP});
    htarget_add_day(&h, T0 + 5 * DAY - 200 * DAY, &(struct hspan){9, 9, ST_UNREACHABLE});
    htarget_add_hour(&h, now - 3 * HOUR, &(struct hspan){30, 3, ST_CLIENT_ERROR});
    htarget_add_hour(&h, now - 30 * HOUR, &(struct hspan){30, 30, ST_UNREACHABLE});
    htarget_add_hour(&h, now - HOUR, &(struct hspan){20, 0, ST_UP});
    up_at(&h, now);

    assert_true(htarget_uptime(&h, 24 * HOUR, now) == 48.0 / 51.0);
    assert_true(htarget_uptime(&h, 7 * DAY, now) == 241.0 / 251.0);
    struct hspan d[3];
    htarget_days(&h, now, d, 3);
    assert_int_equal(d[2].probes, 51);
    assert_int_equal(d[1].worst, ST_SERVER_ERROR);
    assert_int_equal(d[0].probes, 0);
    htarget_free(&h);
}

/* Probes through the real state machine with failure_threshold 2. */
static struct hchanges judged(struct htarget *h, struct tstate *ts, int64_t t, int code,
                              enum probe_error err, enum target_state state)
{
    struct target_conf c;
    struct probe_result r;
    struct verdict v = {.state = state, .error = err, .severity = SEV_CRITICAL};
    struct alert alerts[STATE_MAX_ALERTS];
    struct hchanges ch;
    bool changed;

    memset(&c, 0, sizeof(c));
    c.name = "shop";
    c.failure_threshold = 2;
    c.recovery_threshold = 2;
    c.flap_window = 20;
    c.interval_ms = 10000;
    probe_result_init(&r);
    r.code = code;
    r.error = err;
    r.total_us = 1000;
    r.started_wall_ms = t - 1;
    if (code == 200)
        v.severity = SEV_OK;
    state_step(ts, &c, &r, &v, (struct instant){t, t}, alerts, &changed);
    htarget_observe(h, &r, &v, ts->s.state, ts->s.since_ms, t, &next_id, &ch);
    return ch;
}

static void incident_opens_gathers_and_closes(void **unused)
{
    struct htarget h;
    struct tstate ts;
    struct hchanges ch;
    (void)unused;

    htarget_init(&h);
    tstate_init(&ts);
    next_id = 7;
    judged(&h, &ts, T0, 200, PERR_NONE, ST_UP);
    judged(&h, &ts, T0 + 10 * SEC, 200, PERR_NONE, ST_UP);
    ch = judged(&h, &ts, T0 + 20 * SEC, 503, PERR_NONE, ST_SERVER_ERROR);
    assert_null(ch.incident); /* one failure: not confirmed */
    assert_null(h.open);
    ch = judged(&h, &ts, T0 + 30 * SEC, 0, PERR_TIMEOUT, ST_UNREACHABLE);
    assert_null(ch.incident); /* a different failing state starts the count again */
    ch = judged(&h, &ts, T0 + 40 * SEC, 0, PERR_CONNECT, ST_UNREACHABLE);
    assert_non_null(ch.incident);
    assert_ptr_equal(ch.incident, h.open);
    assert_int_equal(h.open->id, 7);
    assert_int_equal(next_id, 8);
    /* It began when the confirmed state did: the first of its streak. */
    assert_int_equal(h.open->start_ms, T0 + 30 * SEC);
    assert_int_equal(h.open->end_ms, 0);
    assert_int_equal(h.open->worst, ST_UNREACHABLE);
    /* The run of failing probes that led to it, the 503 included. */
    assert_int_equal(h.open->ncodes, 1);
    assert_int_equal(h.open->codes[0], 503);
    assert_int_equal(h.open->errors, (1u << PERR_TIMEOUT) | (1u << PERR_CONNECT));

    ch = judged(&h, &ts, T0 + 50 * SEC, 0, PERR_CONNECT, ST_UNREACHABLE);
    assert_null(ch.incident); /* nothing new */
    ch = judged(&h, &ts, T0 + 60 * SEC, 502, PERR_NONE, ST_SERVER_ERROR);
    assert_non_null(ch.incident); /* a code */
    assert_int_equal(h.open->ncodes, 2);
    assert_int_equal(h.open->codes[1], 502);
    assert_int_equal(h.open->worst, ST_UNREACHABLE);

    ch = judged(&h, &ts, T0 + 70 * SEC, 200, PERR_NONE, ST_UP);
    assert_null(ch.incident); /* one up: not yet recovered */
    ch = judged(&h, &ts, T0 + 80 * SEC, 200, PERR_NONE, ST_UP);
    assert_non_null(ch.incident);
    assert_null(h.open);
    assert_int_equal(h.nclosed, 1);
    assert_ptr_equal(ch.incident, &h.closed[0]);
    assert_int_equal(h.closed[0].id, 7);
    assert_int_equal(h.closed[0].end_ms, T0 + 70 * SEC);
    assert_int_equal(h.closed[0].ncodes, 2); /* the 200s are no part of it */
    tstate_free(&ts);
    htarget_free(&h);
}

static void closed_incidents_newest_first(void **unused)
{
    struct htarget h;
    (void)unused;

    htarget_init(&h);
    next_id = 1;
    for (int i = 0; i < HIST_INCIDENTS + 2; i++) {
        int64_t t = T0 + i * HOUR;
        probe_at(&h, t, 500, PERR_NONE, ST_SERVER_ERROR, 5, ST_SERVER_ERROR, t);
        probe_at(&h, t + MIN, 200, PERR_NONE, ST_UP, 5, ST_UP, t + MIN);
    }
    assert_int_equal(h.nclosed, HIST_INCIDENTS);
    for (unsigned i = 0; i < HIST_INCIDENTS; i++)
        assert_int_equal(h.closed[i].id, HIST_INCIDENTS + 2 - i);
    htarget_free(&h);
}

/* Ids handed out while no database was open are replaced by ones above
 * all it holds; ids it gave are kept. */
static void renumbered_above_the_database(void **unused)
{
    struct htarget h;
    uint64_t next = 100;
    (void)unused;

    htarget_init(&h);
    next_id = 1;
    probe_at(&h, T0, 500, PERR_NONE, ST_SERVER_ERROR, 5, ST_SERVER_ERROR, T0);
    probe_at(&h, T0 + MIN, 200, PERR_NONE, ST_UP, 5, ST_UP, T0 + MIN);
    probe_at(&h, T0 + HOUR, 500, PERR_NONE, ST_SERVER_ERROR, 5, ST_SERVER_ERROR, T0 + HOUR);
    assert_non_null(h.open);
    assert_int_equal(h.open->id, 2);
    assert_int_equal(h.closed[0].id, 1);
    htarget_renumber(&h, 100, &next);
    assert_int_equal(h.open->id, 100);
    assert_int_equal(h.closed[0].id, 101);
    assert_int_equal(next, 102);
    htarget_renumber(&h, 100, &next);
    assert_int_equal(h.open->id, 100);
    assert_int_equal(next, 102);
    htarget_free(&h);
}

static void incidents_across_a_restore(void **unused)
{
    struct htarget before, after;
    struct hchanges ch;
    (void)unused;

    htarget_init(&before);
    next_id = 40;
    probe_at(&before, T0, 503, PERR_NONE, ST_SERVER_ERROR, 5, ST_SERVER_ERROR, T0);
    probe_at(&before, T0 + MIN, 200, PERR_NONE, ST_UP, 5, ST_UP, T0 + MIN);
    probe_at(&before, T0 + HOUR, 0, PERR_TLS, ST_UNREACHABLE, -1, ST_UNREACHABLE, T0 + HOUR);
    assert_non_null(before.open);

    /* What the database gives back after a restart, oldest closed last. */
    htarget_init(&after);
    struct incident older = before.closed[0];
    older.id = 3;
    older.start_ms -= DAY;
    older.end_ms -= DAY;
    htarget_add_incident(&after, &older);
    htarget_add_incident(&after, before.open);
    htarget_add_incident(&after, &before.closed[0]);
    assert_int_equal(after.nclosed, 2);
    assert_int_equal(after.closed[0].id, 40);
    assert_int_equal(after.closed[1].id, 3);
    assert_int_equal(after.open->id, 41);

    /* The alert state came back failing: the same incident goes on. */
    next_id = 42;
    ch = probe_at(&after, T0 + HOUR + MIN, 0, PERR_RESET, ST_UNREACHABLE, -1, ST_UNREACHABLE,
                  T0 + HOUR);
    assert_ptr_equal(ch.incident, after.open);
    assert_int_equal(after.open->id, 41);
    assert_int_equal(after.open->errors, (1u << PERR_TLS) | (1u << PERR_RESET));
    /* The alert state was lost: unknown closes nothing; up does. */
    ch = probe_at(&after, T0 + HOUR + 2 * MIN, 200, PERR_NONE, ST_UP, 5, ST_UNKNOWN, 0);
    assert_null(ch.incident);
    assert_non_null(after.open);
    ch =
        probe_at(&after, T0 + HOUR + 3 * MIN, 200, PERR_NONE, ST_UP, 5, ST_UP, T0 + HOUR + 3 * MIN);
    assert_non_null(ch.incident);
    assert_int_equal(ch.incident->id, 41);
    assert_int_equal(ch.incident->end_ms, T0 + HOUR + 3 * MIN);
    assert_int_equal(after.nclosed, 3);
    assert_int_equal(next_id, 42); /* no new id was taken */
    htarget_free(&before);
    htarget_free(&after);
}

static void removal_ends_the_open_incident(void **unused)
{
    struct htarget h;
    (void)unused;

    htarget_init(&h);
    assert_null(htarget_end(&h, T0));
    probe_at(&h, T0, 404, PERR_NONE, ST_CLIENT_ERROR, 5, ST_CLIENT_ERROR, T0);
    const struct incident *inc = htarget_end(&h, T0 + 5 * MIN);
    assert_non_null(inc);
    assert_int_equal(inc->end_ms, T0 + 5 * MIN);
    assert_null(h.open);
    htarget_free(&h);
}

static void last_probe_texts_follow_the_site(void **unused)
{
    struct htarget h;
    struct probe_result r;
    struct verdict v = {.state = ST_REDIRECTING};
    struct hchanges ch;
    (void)unused;

    htarget_init(&h);
    probe_result_init(&r);
    r.code = 301;
    snprintf(r.location, sizeof(r.location), "https://example.com/");
    snprintf(r.cert_subject, sizeof(r.cert_subject), "CN=example.com");
    r.cert_not_after = 1800000000;
    r.ttfb_us = 4000;
    r.total_us = 5000;
    htarget_observe(&h, &r, &v, ST_UP, T0, T0, &next_id, &ch);
    assert_string_equal(h.location, "https://example.com/");
    assert_string_equal(h.cert_subject, "CN=example.com");
    assert_null(h.cert_issuer);
    assert_null(h.message);
    assert_int_equal(h.ttfb_us, 4000);
    assert_int_equal(h.dns_us, -1);
    assert_int_equal(h.cert_not_after, 1800000000);
    r.location[0] = '\0';
    snprintf(r.message, sizeof(r.message), "Connection refused");
    htarget_observe(&h, &r, &v, ST_UP, T0, T0 + SEC, &next_id, &ch);
    assert_null(h.location);
    assert_string_equal(h.message, "Connection refused");

    /* The recent list: the last HIST_RECENT, oldest at recent[next]. */
    for (int i = 0; i < HIST_RECENT + 3; i++)
        up_at(&h, T0 + (10 + i) * SEC);
    assert_int_equal(h.nrecent, HIST_RECENT);
    assert_int_equal(h.recent[h.next].wall_ms, T0 + 13 * SEC - 30);
    assert_int_equal(h.recent[(h.next + HIST_RECENT - 1) % HIST_RECENT].wall_ms,
                     T0 + (10 + HIST_RECENT + 2) * SEC - 30);
    htarget_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(latency_buckets),
        cmocka_unit_test(state_ranks),
        cmocka_unit_test(minute_rolls_over_on_the_next_probe),
        cmocka_unit_test(tick_closes_an_idle_minute_once),
        cmocka_unit_test(uptime_over_whole_hours_and_days),
        cmocka_unit_test(day_strip_across_utc_midnight),
        cmocka_unit_test(days_grow_to_ninety_and_no_further),
        cmocka_unit_test(restored_totals_count_with_live_ones),
        cmocka_unit_test(incident_opens_gathers_and_closes),
        cmocka_unit_test(closed_incidents_newest_first),
        cmocka_unit_test(renumbered_above_the_database),
        cmocka_unit_test(incidents_across_a_restore),
        cmocka_unit_test(removal_ends_the_open_incident),
        cmocka_unit_test(last_probe_texts_follow_the_site),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
