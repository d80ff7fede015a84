/* Maintenance windows: reading their times, zones from the system's
 * zoneinfo, and showings across both changes of offset in Europe/Berlin
 * and America/New_York, in zones half an hour off (Asia/Kolkata,
 * Australia/Adelaide) and one whose clocks move by half an hour
 * (Australia/Lord_Howe), after the last transition a zone file lists
 * (2040), and one-off windows. Expected instants are written in UTC. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "util.h"
#include "window.h"

#define MIN_MS  60000ll
#define HOUR_MS (60 * MIN_MS)

/* ms since the epoch of a UTC time. */
static int64_t utc(int y, int mon, int d, int h, int mi)
{
    struct tm tm = {
        .tm_year = y - 1900, .tm_mon = mon - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
    return (int64_t)timegm(&tm) * 1000;
}

static struct window *recurring(const char *start, uint64_t duration_ms, uint32_t days,
                                const char *tz)
{
    struct window *w = xcalloc(1, sizeof(*w));
    char err[256];

    w->start = xstrdup(start);
    w->duration_ms = duration_ms;
    w->days = days;
    w->timezone = xstrdup(tz);
    assert_int_equal(window_finish(w, err, sizeof(err)), 0);
    return w;
}

static struct window *oneoff(const char *from, const char *until)
{
    struct window *w = xcalloc(1, sizeof(*w));
    char err[256];

    w->from = xstrdup(from);
    w->until = xstrdup(until);
    assert_int_equal(window_finish(w, err, sizeof(err)), 0);
    return w;
}

static void drop(struct window *w)
{
    window_clear_derived(w);
    free(w->start);
    free(w->timezone);
    free(w->from);
    free(w->until);
    free(w);
}

#define DAY(name) (1u << (name))
enum { SUN, MON, TUE, WED, THU, FRI, SAT };

/* The showing that holds at `at`, which must be one. */
static struct window_span current(const struct window *w, int64_t at)
{
    struct window_span s = {0, 0};
    assert_true(window_current(w, at, &s));
    return s;
}

static struct window_span next(const struct window *w, int64_t at)
{
    struct window_span s = {0, 0};
    assert_true(window_next(w, at, &s));
    return s;
}

static void clock_times(void **state)
{
    unsigned m = 0;
    (void)state;

    assert_int_equal(window_parse_clock("02:00", &m), 0);
    assert_int_equal(m, 120);
    assert_int_equal(window_parse_clock("00:00", &m), 0);
    assert_int_equal(m, 0);
    assert_int_equal(window_parse_clock("23:59", &m), 0);
    assert_int_equal(m, 1439);
    const char *bad[] = {"24:00", "2:00", "02:60", "0200", "02:00:00", "", "ab:cd", " 2:00"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        assert_int_equal(window_parse_clock(bad[i], &m), -1);
}

static void rfc3339_times(void **state)
{
    int64_t ms = 0;
    (void)state;

    assert_int_equal(window_parse_time("2025-03-30T01:30:00+01:00", &ms), 0);
    assert_int_equal(ms, utc(2025, 3, 30, 0, 30));
    assert_int_equal(window_parse_time("2025-03-30T00:30:00Z", &ms), 0);
    assert_int_equal(ms, utc(2025, 3, 30, 0, 30));
    assert_int_equal(window_parse_time("2025-03-30t00:30:00z", &ms), 0);
    assert_int_equal(ms, utc(2025, 3, 30, 0, 30));
    assert_int_equal(window_parse_time("2025-03-30 05:00:00+05:30", &ms), 0);
    assert_int_equal(ms, utc(2025, 3, 29, 23, 30));
    assert_int_equal(window_parse_time("2025-03-30T00:30:00.250-04:00", &ms), 0);
    assert_int_equal(ms, utc(2025, 3, 30, 4, 30) + 250);
    const char *bad[] = {
        "2025-03-30T01:30:00",      /* no offset: which 01:30? */
        "2025-03-30",               /* a date */
        "2025-02-30T01:30:00Z",     /* no such day */
        "2025-03-30T25:30:00Z",     /* no such hour */
        "2025-W13-7T01:30:00Z",     /* ISO 8601, not RFC 3339 */
        "2025-03-30T01:30Z",        /* no seconds */
        "2025-03-30T01:30:00+0100", /* offset without its colon */
        "2025-03-30T01:30:00+01:00 ",
        "",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        assert_int_equal(window_parse_time(bad[i], &ms), -1);
}

static void zones(void **state)
{
    char err[256];
    (void)state;

    const char *good[] = {"Europe/Berlin", "America/New_York", "Asia/Kolkata",
                          "UTC",           "Etc/GMT+5",        "America/Argentina/Buenos_Aires"};
    for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
        struct window_zone *z = window_zone_open(good[i], err, sizeof(err));
        assert_non_null(z);
        window_zone_free(z);
    }
    struct {
        const char *name, *says;
    } bad[] = {
        {"Europe/Atlantis", "no such zone in the system's zoneinfo"},
        {"europe/berlin", "use an IANA name"},
        {"CET-1CEST", "no such zone"}, /* a POSIX TZ rule, not read as one */
        {"+01:00", "use an IANA name"},
        {"/etc/passwd", "use an IANA name"},
        {"../../etc/passwd", "use an IANA name"},
        {"Europe/../Europe/Berlin", "use an IANA name"},
        {"posixrules", "use an IANA name"},
        {"zone.tab", "use an IANA name"},
        {"Europe/", "use an IANA name"},
        {"", "use an IANA name"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        err[0] = '\0';
        assert_null(window_zone_open(bad[i].name, err, sizeof(err)));
        if (strstr(err, bad[i].says) == NULL)
            fail_msg("%s: %s", bad[i].name, err);
    }
    /* A zone directory is no zone. */
    assert_null(window_zone_open("Europe", err, sizeof(err)));
}

/* UTC holds without a zoneinfo directory; other zones need one. */
static void utc_without_zoneinfo(void **state)
{
    char err[256];
    const char *saved = getenv("TZDIR");
    char *keep = saved ? xstrdup(saved) : NULL;
    (void)state;

    setenv("TZDIR", "/nonexistent", 1);
    struct window_zone *z = window_zone_open("UTC", err, sizeof(err));
    assert_null(window_zone_open("Europe/Paris", err, sizeof(err)));
    if (keep)
        setenv("TZDIR", keep, 1);
    else
        unsetenv("TZDIR");
    free(keep);
    assert_non_null(z);
    assert_int_equal(window_zone_offset(z, utc(2025, 7, 1, 0, 0) / 1000), 0);
    window_zone_free(z);
}

/* Europe/Berlin, 2025-03-30: 02:00 CET becomes 03:00 CEST (01:00 UTC). */
static void berlin_spring_forward(void **state)
{
    (void)state;
    /* 02:30 does not happen that day: the window starts as the gap ends,
     * at 03:00 CEST, and lasts its whole hour. */
    struct window *w = recurring("02:30", HOUR_MS, WINDOW_DAILY, "Europe/Berlin");
    struct window_span s = next(w, utc(2025, 3, 29, 12, 0));
    assert_int_equal(s.start_ms, utc(2025, 3, 30, 1, 0));
    assert_int_equal(s.end_ms, utc(2025, 3, 30, 2, 0));
    assert_false(window_current(w, utc(2025, 3, 30, 0, 59), &s));
    s = current(w, utc(2025, 3, 30, 1, 0));
    assert_int_equal(s.start_ms, utc(2025, 3, 30, 1, 0));
    assert_false(window_current(w, utc(2025, 3, 30, 2, 0), &s));
    /* The days either side: 02:30 CET, then 02:30 CEST. */
    assert_int_equal(current(w, utc(2025, 3, 29, 1, 45)).start_ms, utc(2025, 3, 29, 1, 30));
    assert_int_equal(next(w, utc(2025, 3, 30, 12, 0)).start_ms, utc(2025, 3, 31, 0, 30));
    drop(w);

    /* A window across the change: 01:30 CET for two hours of real time
     * ends at 04:30 CEST. */
    w = recurring("01:30", 2 * HOUR_MS, DAY(SUN), "Europe/Berlin");
    s = current(w, utc(2025, 3, 30, 2, 0));
    assert_int_equal(s.start_ms, utc(2025, 3, 30, 0, 30));
    assert_int_equal(s.end_ms, utc(2025, 3, 30, 2, 30));
    drop(w);

    /* A start just before the gap is unmoved; one at its end, 03:00, is
     * the same instant as one in it. */
    w = recurring("01:59", MIN_MS, WINDOW_DAILY, "Europe/Berlin");
    assert_int_equal(next(w, utc(2025, 3, 29, 12, 0)).start_ms, utc(2025, 3, 30, 0, 59));
    drop(w);
    w = recurring("03:00", MIN_MS, WINDOW_DAILY, "Europe/Berlin");
    assert_int_equal(next(w, utc(2025, 3, 29, 12, 0)).start_ms, utc(2025, 3, 30, 1, 0));
    drop(w);
}

/* Europe/Berlin, 2025-10-26: 03:00 CEST becomes 02:00 CET (01:00 UTC),
 * so 02:30 happens at 00:30 UTC and again at 01:30 UTC. */
static void berlin_fall_back(void **state)
{
    struct window_span s;
    (void)state;

    struct window *w = recurring("02:30", 30 * MIN_MS, WINDOW_DAILY, "Europe/Berlin");
    s = next(w, utc(2025, 10, 25, 12, 0));
    assert_int_equal(s.start_ms, utc(2025, 10, 26, 0, 30)); /* the first time */
    assert_int_equal(s.end_ms, utc(2025, 10, 26, 1, 0));
    assert_true(window_current(w, utc(2025, 10, 26, 0, 45), &s));
    /* The second 02:30 starts nothing. */
    assert_false(window_current(w, utc(2025, 10, 26, 1, 45), &s));
    assert_int_equal(next(w, utc(2025, 10, 26, 0, 45)).start_ms, utc(2025, 10, 27, 1, 30));
    drop(w);

    /* Two hours of real time from 01:30 CEST end at 02:30 CET, the
     * second 02:30 on the clock. */
    w = recurring("01:30", 2 * HOUR_MS, DAY(SUN), "Europe/Berlin");
    s = current(w, utc(2025, 10, 26, 1, 15));
    assert_int_equal(s.start_ms, utc(2025, 10, 25, 23, 30));
    assert_int_equal(s.end_ms, utc(2025, 10, 26, 1, 30));
    drop(w);

    /* 02:00 is the first time too: 02:00 CEST. */
    w = recurring("02:00", HOUR_MS, WINDOW_DAILY, "Europe/Berlin");
    assert_int_equal(next(w, utc(2025, 10, 25, 12, 0)).start_ms, utc(2025, 10, 26, 0, 0));
    drop(w);
}

/* America/New_York, 2025: 02:00 EST becomes 03:00 EDT on March 9th
 * (07:00 UTC); 02:00 EDT becomes 01:00 EST on November 2nd (06:00 UTC). */
static void new_york(void **state)
{
    (void)state;

    struct window *w = recurring("02:15", 2 * HOUR_MS, DAY(SUN), "America/New_York");
    struct window_span s = next(w, utc(2025, 3, 5, 0, 0));
    assert_int_equal(s.start_ms, utc(2025, 3, 9, 7, 0)); /* the gap's end, 03:00 EDT */
    assert_int_equal(s.end_ms, utc(2025, 3, 9, 9, 0));
    assert_int_equal(next(w, s.start_ms).start_ms, utc(2025, 3, 16, 6, 15)); /* 02:15 EDT */
    drop(w);

    w = recurring("01:30", HOUR_MS, DAY(SUN), "America/New_York");
    s = next(w, utc(2025, 10, 30, 0, 0));
    assert_int_equal(s.start_ms, utc(2025, 11, 2, 5, 30)); /* 01:30 EDT, not EST */
    assert_int_equal(s.end_ms, utc(2025, 11, 2, 6, 30));   /* 01:30 EST */
    assert_false(window_current(w, utc(2025, 11, 2, 6, 45), &s));
    assert_int_equal(next(w, s.start_ms).start_ms, utc(2025, 11, 9, 6, 30));
    drop(w);
}

/* India is 5:30 ahead, all year: 02:00 there is 20:30 UTC the day
 * before, and the day of the week is India's. */
static void half_hour_zone(void **state)
{
    (void)state;

    struct window *w = recurring("02:00", 90 * MIN_MS, DAY(MON), "Asia/Kolkata");
    /* Sunday 2025-06-01 21:00 UTC is Monday 02:30 in India. */
    struct window_span s = current(w, utc(2025, 6, 1, 21, 0));
    assert_int_equal(s.start_ms, utc(2025, 6, 1, 20, 30));
    assert_int_equal(s.end_ms, utc(2025, 6, 1, 22, 0));
    assert_int_equal(next(w, s.start_ms).start_ms, utc(2025, 6, 8, 20, 30));
    drop(w);

    /* Adelaide, 9:30 ahead, springs from 02:00 ACST to 03:00 ACDT on
     * 2025-10-05 (16:30 UTC the day before). */
    w = recurring("02:30", HOUR_MS, DAY(SUN), "Australia/Adelaide");
    s = next(w, utc(2025, 10, 1, 0, 0));
    assert_int_equal(s.start_ms, utc(2025, 10, 4, 16, 30));
    assert_int_equal(next(w, s.start_ms).start_ms, utc(2025, 10, 11, 16, 0)); /* 02:30 ACDT */
    drop(w);

    /* Lord Howe moves its clocks by half an hour: 02:00 becomes 02:30 on
     * 2025-10-05 (15:30 UTC the day before), and the half hour from 01:30
     * comes twice on 2025-04-06 (from 14:30 and from 15:00 UTC the day
     * before). */
    w = recurring("02:10", 10 * MIN_MS, WINDOW_DAILY, "Australia/Lord_Howe");
    assert_int_equal(next(w, utc(2025, 10, 4, 12, 0)).start_ms, utc(2025, 10, 4, 15, 30));
    drop(w);
    w = recurring("01:45", 10 * MIN_MS, WINDOW_DAILY, "Australia/Lord_Howe");
    assert_int_equal(next(w, utc(2025, 4, 5, 12, 0)).start_ms, utc(2025, 4, 5, 14, 45));
    drop(w);
}

/* Past 2037 the zone files list no transitions: their footer rule does. */
static void far_future(void **state)
{
    (void)state;

    struct window *w = recurring("02:30", HOUR_MS, DAY(SUN), "Europe/Berlin");
    /* 2040-03-25 is the last Sunday of March. */
    assert_int_equal(next(w, utc(2040, 3, 20, 0, 0)).start_ms, utc(2040, 3, 25, 1, 0));
    assert_int_equal(next(w, utc(2040, 7, 2, 0, 0)).start_ms, utc(2040, 7, 8, 0, 30));
    drop(w);
}

static void days_of_the_week(void **state)
{
    struct window_span s;
    (void)state;

    /* Sundays only, from a Wednesday (2025-06-04). */
    struct window *w = recurring("02:00", 2 * HOUR_MS, DAY(SUN), "UTC");
    assert_int_equal(next(w, utc(2025, 6, 4, 12, 0)).start_ms, utc(2025, 6, 8, 2, 0));
    assert_false(window_current(w, utc(2025, 6, 4, 3, 0), &s));
    drop(w);

    /* Saturday 23:00 for two hours still holds on Sunday at 00:30; a
     * Sunday 23:00 start would not be one. */
    w = recurring("23:00", 2 * HOUR_MS, DAY(SAT), "UTC");
    s = current(w, utc(2025, 6, 8, 0, 30));
    assert_int_equal(s.start_ms, utc(2025, 6, 7, 23, 0));
    assert_false(window_current(w, utc(2025, 6, 9, 0, 30), &s));
    drop(w);

    /* Weekdays: from Friday evening, the next is Monday. */
    w = recurring("06:00", HOUR_MS, DAY(MON) | DAY(TUE) | DAY(WED) | DAY(THU) | DAY(FRI), "UTC");
    assert_int_equal(next(w, utc(2025, 6, 6, 12, 0)).start_ms, utc(2025, 6, 9, 6, 0));
    drop(w);

    /* Longer than a day: showings overlap, and the one that ends last is
     * the current one. */
    w = recurring("12:00", 30 * HOUR_MS, WINDOW_DAILY, "UTC");
    s = current(w, utc(2025, 6, 5, 13, 0));
    assert_int_equal(s.start_ms, utc(2025, 6, 5, 12, 0));
    assert_int_equal(s.end_ms, utc(2025, 6, 6, 18, 0));
    drop(w);
}

static void one_off(void **state)
{
    struct window_span s;
    (void)state;

    struct window *w = oneoff("2025-06-01T10:00:00+02:00", "2025-06-01T12:30:00+02:00");
    assert_false(w->recurring);
    assert_false(window_current(w, utc(2025, 6, 1, 7, 59), &s));
    s = current(w, utc(2025, 6, 1, 8, 0));
    assert_int_equal(s.start_ms, utc(2025, 6, 1, 8, 0));
    assert_int_equal(s.end_ms, utc(2025, 6, 1, 10, 30));
    assert_false(window_current(w, utc(2025, 6, 1, 10, 30), &s)); /* until is not inside */
    assert_int_equal(next(w, utc(2025, 5, 1, 0, 0)).start_ms, utc(2025, 6, 1, 8, 0));
    assert_false(window_next(w, utc(2025, 6, 1, 8, 0), &s)); /* begun: no next */
    drop(w);
}

static void several(void **state)
{
    int64_t until = 0;
    const struct window *which = NULL;
    (void)state;

    struct window ws[3];
    struct window *a = oneoff("2025-06-01T01:00:00Z", "2025-06-01T02:00:00Z");
    struct window *b = oneoff("2025-06-01T02:00:00Z", "2025-06-01T03:00:00Z");
    struct window *c = recurring("02:30", HOUR_MS, WINDOW_DAILY, "UTC");
    ws[0] = *a;
    ws[1] = *b;
    ws[2] = *c;

    /* One window takes over as another ends, a third overlaps it: the
     * hold lasts to the end of the last. */
    assert_true(windows_active(ws, 3, utc(2025, 6, 1, 1, 30), &until, &which));
    assert_int_equal(until, utc(2025, 6, 1, 3, 30));
    assert_ptr_equal(which, &ws[0]);
    assert_true(windows_active(ws, 3, utc(2025, 6, 1, 2, 45), &until, &which));
    assert_int_equal(until, utc(2025, 6, 1, 3, 30));
    assert_ptr_equal(which, &ws[2]);
    assert_false(windows_active(ws, 3, utc(2025, 6, 1, 3, 30), &until, &which));
    assert_false(windows_active(ws, 0, utc(2025, 6, 1, 1, 30), &until, &which));
    /* What comes next: the one-off that starts first, then the
     * recurring one; after the one-offs, only the recurring one. */
    struct window_span sp;
    assert_true(windows_next(ws, 3, utc(2025, 6, 1, 0, 0), &sp, &which));
    assert_int_equal(sp.start_ms, utc(2025, 6, 1, 1, 0));
    assert_ptr_equal(which, &ws[0]);
    assert_true(windows_next(ws, 3, utc(2025, 6, 1, 1, 30), &sp, &which));
    assert_int_equal(sp.start_ms, utc(2025, 6, 1, 2, 0));
    assert_ptr_equal(which, &ws[1]);
    assert_true(windows_next(ws, 3, utc(2025, 6, 1, 2, 45), &sp, &which));
    assert_int_equal(sp.start_ms, utc(2025, 6, 2, 2, 30));
    assert_int_equal(sp.end_ms, utc(2025, 6, 2, 3, 30));
    assert_ptr_equal(which, &ws[2]);
    assert_false(windows_next(ws, 2, utc(2025, 6, 1, 2, 45), &sp, &which));
    /* The next day only the recurring one holds. */
    assert_true(windows_active(ws, 3, utc(2025, 6, 2, 2, 30), &until, NULL));
    assert_int_equal(until, utc(2025, 6, 2, 3, 30));
    drop(a);
    drop(b);
    drop(c);
}

/* A copy shares the zone, and outlives the original. */
static void copies(void **state)
{
    struct window copy = {0};
    (void)state;

    struct window *w = recurring("02:00", HOUR_MS, WINDOW_DAILY, "Europe/Berlin");
    copy.duration_ms = w->duration_ms;
    copy.days = w->days;
    window_copy_derived(&copy, w);
    drop(w);
    assert_true(copy.recurring);
    assert_int_equal(current(&copy, utc(2025, 6, 1, 0, 30)).start_ms, utc(2025, 6, 1, 0, 0));
    window_clear_derived(&copy);
    assert_null(copy.zone);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clock_times),
        cmocka_unit_test(rfc3339_times),
        cmocka_unit_test(zones),
        cmocka_unit_test(utc_without_zoneinfo),
        cmocka_unit_test(berlin_spring_forward),
        cmocka_unit_test(berlin_fall_back),
        cmocka_unit_test(new_york),
        cmocka_unit_test(half_hour_zone),
        cmocka_unit_test(far_future),
        cmocka_unit_test(days_of_the_week),
        cmocka_unit_test(one_off),
        cmocka_unit_test(several),
        cmocka_unit_test(copies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
