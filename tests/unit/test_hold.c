/* Holding alerts: what a window and a failing parent hold, and what is
 * raised when they let go, against what receivers were last told. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hold.h"

static const struct hold_cond NONE = {false, false, false}, WINDOW = {true, false, false},
                              PARENT = {false, true, false}, BOTH = {true, true, false},
                              SILENCE = {false, false, true};

static struct alert alert(enum event_type type, enum target_state state,
                          enum alert_previous previous)
{
    struct alert a;

    memset(&a, 0, sizeof(a));
    a.type = type;
    a.state = state;
    a.previous = previous;
    a.time_ms = 1000;
    a.duration_ms = 5000;
    return a;
}

#define DOWN(prev)        alert(EVT_DOWN, ST_SERVER_ERROR, (enum alert_previous)(prev))
#define CHANGED(to, prev) alert(EVT_CHANGED, to, (enum alert_previous)(prev))
#define RECOVERED(prev)   alert(EVT_RECOVERED, ST_UP, (enum alert_previous)(prev))
#define REMINDER(st)      alert(EVT_REMINDER, st, (enum alert_previous)(st))

static struct tstate_saved saved(enum target_state s)
{
    struct tstate_saved v;

    memset(&v, 0, sizeof(v));
    v.state = s;
    return v;
}

static struct hold fresh(enum target_state told)
{
    struct hold h;
    struct tstate_saved s = saved(told);

    hold_init(&h, &s);
    return h;
}

static const struct instant LATER = {.mono_ms = 65000, .wall_ms = 99000};

/* Releases against state s and returns how many alerts came, in out. */
static unsigned release(struct hold *h, enum target_state s, struct hold_cond c, struct alert *out)
{
    struct tstate_saved v = saved(s);
    return hold_release(h, &v, c, LATER, out);
}

static void nothing_holds(void **state)
{
    struct hold h = fresh(ST_UP);
    struct alert a = DOWN(ST_UP), out[HOLD_TRACKS];
    (void)state;

    assert_false(hold_alert(&h, &a, NONE, 0));
    assert_false(hold_pending(&h));
    assert_int_equal(h.told_state, ST_SERVER_ERROR);
    assert_int_equal(release(&h, ST_SERVER_ERROR, NONE, out), 0);
}

/* The case: down in a window, still down at its end: one alert. */
static void window_releases_a_down_still_down(void **state)
{
    struct hold h = fresh(ST_UP);
    struct alert a = DOWN(ST_UP), out[HOLD_TRACKS];
    (void)state;

    assert_true(hold_alert(&h, &a, WINDOW, 5000));
    assert_true(hold_pending(&h));
    /* Still inside: nothing yet. */
    assert_int_equal(release(&h, ST_SERVER_ERROR, WINDOW, out), 0);
    assert_true(hold_pending(&h));
    /* Reminders inside are dropped. */
    struct alert r = REMINDER(ST_SERVER_ERROR);
    assert_true(hold_alert(&h, &r, WINDOW, 6000));

    assert_int_equal(release(&h, ST_SERVER_ERROR, NONE, out), 1);
    assert_false(hold_pending(&h));
    assert_int_equal(out[0].type, EVT_DOWN);
    assert_int_equal(out[0].state, ST_SERVER_ERROR);
    assert_int_equal(out[0].previous, PREV_UP);
    assert_int_equal(out[0].time_ms, LATER.wall_ms);
    assert_int_equal(out[0].duration_ms, 5000 + (65000 - 5000)); /* down all along */
    /* Once: the next release has nothing. */
    assert_int_equal(release(&h, ST_SERVER_ERROR, NONE, out), 0);
    assert_int_equal(h.told_state, ST_SERVER_ERROR);
}

/* Down and back inside the window: nothing at all. */
static void recovered_inside_raises_nothing(void **state)
{
    struct hold h = fresh(ST_UP);
    struct alert d = DOWN(ST_UP), r = RECOVERED(ST_SERVER_ERROR), out[HOLD_TRACKS];
    (void)state;

    assert_true(hold_alert(&h, &d, WINDOW, 0));
    assert_true(hold_alert(&h, &r, WINDOW, 0));
    assert_int_equal(release(&h, ST_UP, NONE, out), 0);
    assert_false(hold_pending(&h));
    /* The next outage is news as usual. */
    assert_false(hold_alert(&h, &d, NONE, 0));
}

/* Down, then another kind of failure, inside: receivers never heard of
 * the first, so it is one down alert, from up, with the latest answer. */
static void changes_inside_are_one_down(void **state)
{
    struct hold h = fresh(ST_UP);
    struct alert d = DOWN(ST_UP), c = CHANGED(ST_UNREACHABLE, ST_SERVER_ERROR), out[HOLD_TRACKS];
    (void)state;

    hold_alert(&h, &d, WINDOW, 0);
    hold_alert(&h, &c, WINDOW, 0);
    assert_int_equal(release(&h, ST_UNREACHABLE, NONE, out), 1);
    assert_int_equal(out[0].type, EVT_DOWN);
    assert_int_equal(out[0].state, ST_UNREACHABLE);
    assert_int_equal(out[0].previous, PREV_UP);
}

/* Receivers were told it is down; in the window or a silence it
 * recovered: the recovery goes out at once, closing the incident they
 * know of (and what Alertmanager's re-sends keep firing). */
static void told_down_recovers_inside(void **state)
{
    struct hold h = fresh(ST_CLIENT_ERROR);
    struct alert r = RECOVERED(ST_CLIENT_ERROR), out[HOLD_TRACKS];
    (void)state;

    r.duration_ms = 7000;
    assert_false(hold_alert(&h, &r, WINDOW, 0));
    assert_int_equal(r.duration_ms, 7000); /* the outage's length, unchanged */
    assert_int_equal(h.told_state, ST_UP);
    assert_int_equal(release(&h, ST_UP, NONE, out), 0);
    h = fresh(ST_CLIENT_ERROR);
    assert_false(hold_alert(&h, &r, SILENCE, 0));
    assert_int_equal(h.told_state, ST_UP);
}

/* Told down: another failure inside is "changed"; the same failure again
 * after a recovery inside is nothing. */
static void told_down_changes_inside(void **state)
{
    struct hold h = fresh(ST_SERVER_ERROR);
    struct alert c = CHANGED(ST_UNREACHABLE, ST_SERVER_ERROR), r = RECOVERED(ST_SERVER_ERROR),
                 d = DOWN(ST_UP), out[HOLD_TRACKS];
    (void)state;

    hold_alert(&h, &c, WINDOW, 0);
    assert_int_equal(release(&h, ST_UNREACHABLE, NONE, out), 1);
    assert_int_equal(out[0].type, EVT_CHANGED);
    assert_int_equal(out[0].previous, PREV_SERVER_ERROR);

    /* Up (said at once) then down again inside: the new outage is raised
     * at the end. */
    h = fresh(ST_SERVER_ERROR);
    assert_false(hold_alert(&h, &r, WINDOW, 0));
    assert_true(hold_alert(&h, &d, WINDOW, 0));
    assert_int_equal(release(&h, ST_SERVER_ERROR, NONE, out), 1);
    assert_int_equal(out[0].type, EVT_DOWN);
    assert_int_equal(out[0].previous, PREV_UP);
}

/* What goes on with the trouble receivers know of is dated from when
 * they heard it began, though a hold let the state machine start it anew
 * (a parent hid a recovery and a new failure): PagerDuty's incident key
 * and the outage's length stay theirs. */
static void dated_from_what_receivers_heard(void **state)
{
    struct tstate_saved s = saved(ST_SERVER_ERROR);
    struct hold h;
    struct alert c = CHANGED(ST_UNREACHABLE, ST_SERVER_ERROR), rem = REMINDER(ST_SERVER_ERROR),
                 r = RECOVERED(ST_UNREACHABLE), out[HOLD_TRACKS];
    (void)state;

    s.since_ms = 1000;
    s.severity = SEV_CRITICAL;
    hold_init(&h, &s);
    c.since_ms = rem.since_ms = r.since_ms = 40000;
    c.duration_ms = 5000;
    assert_true(hold_alert(&h, &c, WINDOW, 0));
    assert_int_equal(release(&h, ST_UNREACHABLE, NONE, out), 1);
    assert_int_equal(out[0].type, EVT_CHANGED);
    assert_int_equal(out[0].since_ms, 1000);
    /* its 5 s, the 65 s it was held, and the 39 s before the start the
     * state machine knew */
    assert_int_equal(out[0].duration_ms, 109000);
    assert_false(hold_alert(&h, &rem, NONE, 0));
    assert_int_equal(rem.since_ms, 1000);
    assert_false(hold_alert(&h, &r, NONE, 0));
    assert_int_equal(r.since_ms, 1000);
    /* A new outage after it is its own. */
    struct alert d = DOWN(ST_UP);
    d.since_ms = 90000;
    assert_false(hold_alert(&h, &d, NONE, 0));
    assert_int_equal(d.since_ms, 90000);
    struct hold_told t = hold_told(&h);
    assert_int_equal(t.state, ST_SERVER_ERROR);
    assert_int_equal(t.since_ms, 90000);
}

/* A failing parent holds a child's down; when it recovers, a child still
 * failing raises its own alert, one that came back raises nothing. */
static void parent_holds_children(void **state)
{
    struct hold h = fresh(ST_UP);
    struct alert d = DOWN(ST_UP), r = RECOVERED(ST_SERVER_ERROR), out[HOLD_TRACKS];
    (void)state;

    assert_true(hold_alert(&h, &d, PARENT, 0));
    assert_int_equal(release(&h, ST_SERVER_ERROR, PARENT, out), 0);
    assert_int_equal(release(&h, ST_SERVER_ERROR, NONE, out), 1);
    assert_int_equal(out[0].type, EVT_DOWN);

    h = fresh(ST_UP);
    assert_true(hold_alert(&h, &d, PARENT, 0));
    assert_true(hold_alert(&h, &r, PARENT, 0)); /* ends a held failure: held too */
    assert_int_equal(release(&h, ST_UP, NONE, out), 0);
}

/* A child that failed before its parent was told; its reminders wait
 * while the parent fails, and its recovery goes out at once. */
static void parent_lets_recoveries_through(void **state)
{
    struct hold h = fresh(ST_SERVER_ERROR);
    struct alert rem = REMINDER(ST_SERVER_ERROR), r = RECOVERED(ST_SERVER_ERROR), out[HOLD_TRACKS];
    (void)state;

    assert_true(hold_alert(&h, &rem, PARENT, 0));
    assert_false(hold_pending(&h));
    assert_false(hold_alert(&h, &r, PARENT, 0));
    assert_int_equal(h.told_state, ST_UP);
    assert_int_equal(release(&h, ST_UP, NONE, out), 0);
}

/* A parent does not hold slowness or certificates; a window does. */
static void what_a_parent_holds(void **state)
{
    struct hold h = fresh(ST_UP);
    struct alert slow = alert(EVT_SLOW, ST_UP, PREV_UP),
                 cert = alert(EVT_CERT_EXPIRING, ST_UP, PREV_UP), out[HOLD_TRACKS];
    struct tstate_saved s = saved(ST_UP);
    (void)state;

    s.cert_warned = cert.cert_not_after = 1800000000;
    assert_false(hold_alert(&h, &slow, PARENT, 0));
    assert_false(hold_alert(&h, &cert, PARENT, 0));
    assert_true(hold_alert(&h, &cert, BOTH, 0));
    /* The window ends while the parent still fails: the certificate's
     * warning goes. */
    assert_int_equal(hold_release(&h, &s, PARENT, LATER, out), 1);
    assert_int_equal(out[0].type, EVT_CERT_EXPIRING);
}

static void window_and_parent(void **state)
{
    struct hold h = fresh(ST_UP);
    struct alert d = DOWN(ST_UP), out[HOLD_TRACKS];
    (void)state;

    hold_alert(&h, &d, BOTH, 0);
    assert_int_equal(h.held_by, HOLD_BY_WINDOW | HOLD_BY_PARENT);
    /* The window ends first: the parent still holds it. */
    assert_int_equal(release(&h, ST_SERVER_ERROR, PARENT, out), 0);
    assert_true(hold_pending(&h));
    /* The parent recovers inside a window: the window still holds it. */
    assert_int_equal(release(&h, ST_SERVER_ERROR, WINDOW, out), 0);
    assert_int_equal(release(&h, ST_SERVER_ERROR, NONE, out), 1);
    assert_int_equal(h.held_by, 0);
}

static void slowness(void **state)
{
    struct hold h = fresh(ST_UP);
    struct alert slow = alert(EVT_SLOW, ST_UP, PREV_UP), fast = RECOVERED(PREV_SLOW),
                 out[HOLD_TRACKS];
    struct tstate_saved s = saved(ST_UP);
    (void)state;

    assert_true(hold_alert(&h, &slow, WINDOW, 0));
    s.slow = true;
    assert_int_equal(hold_release(&h, &s, NONE, LATER, out), 1);
    assert_int_equal(out[0].type, EVT_SLOW);
    assert_true(h.told_slow);

    /* Fast again inside, when receivers know it slow: said at once; slow
     * again inside: raised at the end; and fast again inside after that
     * held slowness: nothing. */
    assert_false(hold_alert(&h, &fast, WINDOW, 0));
    assert_false(h.told_slow);
    assert_true(hold_alert(&h, &slow, WINDOW, 0));
    assert_int_equal(hold_release(&h, &s, NONE, LATER, out), 1);
    assert_int_equal(out[0].type, EVT_SLOW);
    h = fresh(ST_UP);
    assert_true(hold_alert(&h, &slow, WINDOW, 0));
    assert_true(hold_alert(&h, &fast, WINDOW, 0));
    s.slow = false;
    assert_int_equal(hold_release(&h, &s, NONE, LATER, out), 0);
}

/* A certificate renewed before the window ended is not news. */
static void certificates(void **state)
{
    struct hold h = fresh(ST_UP);
    struct alert cert = alert(EVT_CERT_EXPIRING, ST_UP, PREV_UP), out[HOLD_TRACKS];
    struct tstate_saved s = saved(ST_UP);
    (void)state;

    cert.cert_not_after = 1800000000;
    assert_true(hold_alert(&h, &cert, WINDOW, 0));
    s.cert_warned = 0;
    assert_int_equal(hold_release(&h, &s, NONE, LATER, out), 0);
    assert_false(hold_pending(&h));
}

static void flapping(void **state)
{
    struct hold h = fresh(ST_UP);
    struct alert flap = alert(EVT_FLAPPING, ST_UP, PREV_UP), out[HOLD_TRACKS];
    struct tstate_saved s = saved(ST_SERVER_ERROR);
    (void)state;

    /* Began flapping inside, still flapping at the end. */
    assert_true(hold_alert(&h, &flap, WINDOW, 0));
    s.flapping = true;
    assert_int_equal(hold_release(&h, &s, NONE, LATER, out), 1);
    assert_int_equal(out[0].type, EVT_FLAPPING);
    assert_true(h.told_flapping);

    /* Settled inside, down: receivers knew of flapping, so the alert is
     * a down from flapping. */
    struct alert settled = DOWN(PREV_FLAPPING);
    assert_true(hold_alert(&h, &settled, WINDOW, 0));
    s.flapping = false;
    assert_int_equal(hold_release(&h, &s, NONE, LATER, out), 1);
    assert_int_equal(out[0].type, EVT_DOWN);
    assert_int_equal(out[0].previous, PREV_FLAPPING);
    assert_false(h.told_flapping);

    /* Flapped and settled where it was, all inside: nothing. */
    h = fresh(ST_UP);
    struct alert back = RECOVERED(PREV_FLAPPING);
    hold_alert(&h, &flap, WINDOW, 0);
    hold_alert(&h, &back, WINDOW, 0);
    s = saved(ST_UP);
    assert_int_equal(hold_release(&h, &s, NONE, LATER, out), 0);
}

static void redirects(void **state)
{
    struct hold h;
    struct alert to_b = alert(EVT_REDIRECT, ST_REDIRECTING, PREV_REDIRECTING),
                 to_a = alert(EVT_REDIRECT, ST_REDIRECTING, PREV_REDIRECTING), out[HOLD_TRACKS];
    struct tstate_saved s = saved(ST_REDIRECTING);
    char a[] = "https://a.example/", b[] = "https://b.example/";
    (void)state;

    s.location = a;
    hold_init(&h, &s);
    strcpy(to_b.location, b);
    strcpy(to_a.location, a);
    /* To b and back to a inside: nothing. */
    hold_alert(&h, &to_b, WINDOW, 0);
    hold_alert(&h, &to_a, WINDOW, 0);
    assert_int_equal(hold_release(&h, &s, NONE, LATER, out), 0);
    /* To b, and there at the end: a redirect. */
    hold_alert(&h, &to_b, WINDOW, 0);
    s.location = b;
    assert_int_equal(hold_release(&h, &s, NONE, LATER, out), 1);
    assert_int_equal(out[0].type, EVT_REDIRECT);
    assert_string_equal(out[0].location, b);
}

/* A target never seen is up until told otherwise: one that starts in a
 * window and comes up says nothing; one that is down says it. */
static void new_target(void **state)
{
    struct hold h = fresh(ST_UNKNOWN);
    struct alert d = DOWN(ST_UNKNOWN), out[HOLD_TRACKS];
    (void)state;

    assert_int_equal(release(&h, ST_UP, NONE, out), 0);
    hold_alert(&h, &d, WINDOW, 0);
    assert_int_equal(release(&h, ST_SERVER_ERROR, NONE, out), 1);
    assert_int_equal(out[0].previous, PREV_UNKNOWN);

    /* One seen up first (which raised nothing), then down and another
     * failure inside: a down from up. */
    h = fresh(ST_UNKNOWN);
    struct alert up_down = DOWN(ST_UP), c = CHANGED(ST_UNREACHABLE, ST_SERVER_ERROR);
    hold_alert(&h, &up_down, WINDOW, 0);
    hold_alert(&h, &c, WINDOW, 0);
    assert_int_equal(release(&h, ST_UNREACHABLE, NONE, out), 1);
    assert_int_equal(out[0].type, EVT_DOWN);
    assert_int_equal(out[0].previous, PREV_UP);
}

/* A silence holds as a window does, and says so in held_by. */
static void silence_holds_as_a_window(void **state)
{
    struct hold h = fresh(ST_UP);
    struct alert d = DOWN(ST_UP), r = REMINDER(ST_SERVER_ERROR), out[HOLD_TRACKS];
    (void)state;

    assert_true(hold_alert(&h, &d, SILENCE, 5000));
    assert_true(hold_alert(&h, &r, SILENCE, 6000));
    assert_int_equal(h.held_by, HOLD_BY_SILENCE);
    assert_int_equal(release(&h, ST_SERVER_ERROR, SILENCE, out), 0);
    assert_int_equal(release(&h, ST_SERVER_ERROR, NONE, out), 1);
    assert_int_equal(out[0].type, EVT_DOWN);
    assert_int_equal(out[0].previous, PREV_UP);
    assert_int_equal(h.held_by, 0);
    /* A recovery inside a silence raises nothing at its end. */
    struct alert d2 = DOWN(ST_UP), rec = RECOVERED(ST_SERVER_ERROR);
    h = fresh(ST_UP);
    hold_alert(&h, &d2, SILENCE, 0);
    hold_alert(&h, &rec, SILENCE, 0);
    assert_int_equal(release(&h, ST_UP, NONE, out), 0);
    assert_false(hold_pending(&h));
}

/* Saved and restored across a restart: a down held by a window is
 * still held, made up from the saved state, and raised at the end. */
static void restored_hold_raises_at_the_end(void **state)
{
    struct hold h = fresh(ST_UP), back;
    struct alert d = DOWN(ST_UP), out[HOLD_TRACKS];
    struct hold_saved hs;
    struct tstate_saved now = saved(ST_SERVER_ERROR);
    struct instant at = {.mono_ms = 1000, .wall_ms = 50000};
    (void)state;

    assert_true(hold_alert(&h, &d, WINDOW, 5000));
    hold_save(&h, &hs);
    assert_true(hs.known && hs.held_state && !hs.held_slow);
    assert_int_equal(hs.told_state, ST_UP);
    assert_int_equal(hs.held_by, HOLD_BY_WINDOW);
    assert_true(hold_saved_news(&hs, &now));
    hold_free(&h);

    now.severity = SEV_CRITICAL;
    now.since_ms = 20000;
    hold_restore(&back, &now, &hs, at);
    assert_true(hold_pending(&back));
    assert_int_equal(back.held_by, HOLD_BY_WINDOW);
    /* Not let go before a probe: it would say nothing of the answer. */
    assert_int_equal(release(&back, ST_SERVER_ERROR, NONE, out), 0);
    assert_true(hold_pending(&back));
    /* The next probe gives it its details. */
    struct probe_result r;
    struct verdict v = {.state = ST_SERVER_ERROR, .cls = CLASS_SERVER_ERROR};
    probe_result_init(&r);
    r.code = 503;
    snprintf(r.message, sizeof(r.message), "Service Unavailable");
    hold_detail(&back, &r, &v);
    assert_int_equal(release(&back, ST_SERVER_ERROR, WINDOW, out), 0);
    assert_int_equal(release(&back, ST_SERVER_ERROR, NONE, out), 1);
    assert_int_equal(out[0].type, EVT_DOWN);
    assert_int_equal(out[0].state, ST_SERVER_ERROR);
    assert_int_equal(out[0].previous, PREV_UP);
    assert_int_equal(out[0].code, 503);
    assert_string_equal(out[0].message, "Service Unavailable");
    assert_int_equal(out[0].severity, SEV_CRITICAL);
    /* down since 20000, held from 50000 (mono 1000) to LATER */
    assert_int_equal(out[0].duration_ms, 30000 + (LATER.mono_ms - 1000));
    assert_false(hold_pending(&back));
}

/* Restored, the target recovered inside the window: nothing to raise.
 * A row kept by an older upmond (nothing known): told as the state says. */
static void restored_hold_recovered_or_unknown(void **state)
{
    struct hold h = fresh(ST_UP), back;
    struct alert d = DOWN(ST_UP), out[HOLD_TRACKS];
    struct hold_saved hs, none = {0};
    struct tstate_saved down = saved(ST_SERVER_ERROR);
    struct instant at = {.mono_ms = 1000, .wall_ms = 50000};
    (void)state;

    hold_alert(&h, &d, WINDOW, 0);
    hold_save(&h, &hs);
    hold_free(&h);
    hold_restore(&back, &down, &hs, at);
    /* The first probe sees it up: no details taken, and nothing to say. */
    struct probe_result up;
    struct verdict upv = {.state = ST_UP};
    probe_result_init(&up);
    up.code = 200;
    hold_detail(&back, &up, &upv);
    assert_int_equal(back.held[HOLD_STATE]->code, 0);
    assert_int_equal(release(&back, ST_UP, NONE, out), 0);
    assert_false(hold_pending(&back));

    hold_restore(&back, &down, &none, at);
    assert_false(hold_pending(&back));
    assert_int_equal(back.told_state, ST_SERVER_ERROR);
    hold_save(&back, &hs);
    assert_false(hold_saved_news(&hs, &down));
    assert_true(hold_saved_same(&hs, &hs));
    /* A detail for no made-up alert changes nothing. */
    struct probe_result r;
    struct verdict v = {.state = ST_SERVER_ERROR};
    probe_result_init(&r);
    hold_detail(&back, &r, &v);
    assert_false(hold_pending(&back));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nothing_holds),
        cmocka_unit_test(window_releases_a_down_still_down),
        cmocka_unit_test(recovered_inside_raises_nothing),
        cmocka_unit_test(changes_inside_are_one_down),
        cmocka_unit_test(told_down_recovers_inside),
        cmocka_unit_test(told_down_changes_inside),
        cmocka_unit_test(dated_from_what_receivers_heard),
        cmocka_unit_test(parent_holds_children),
        cmocka_unit_test(parent_lets_recoveries_through),
        cmocka_unit_test(what_a_parent_holds),
        cmocka_unit_test(window_and_parent),
        cmocka_unit_test(slowness),
        cmocka_unit_test(certificates),
        cmocka_unit_test(flapping),
        cmocka_unit_test(redirects),
        cmocka_unit_test(new_target),
        cmocka_unit_test(silence_holds_as_a_window),
        cmocka_unit_test(restored_hold_raises_at_the_end),
        cmocka_unit_test(restored_hold_recovered_or_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
