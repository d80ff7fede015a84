/* The alert state machine, table-driven: a sequence of probe results at
 * given times in, the exact alerts of each step out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "state.h"

/* A moment when both clocks agree (no step). */
#define AT(ms) ((struct instant){(ms), (ms)})

#define S 1000LL /* ms */

struct probe {
    int64_t t_ms;
    int code;
    enum probe_error err;
    const char *location;
    int64_t latency_ms;
    int64_t cert_not_after; /* unix seconds */
    const char *want;       /* alerts of this step, "a,b", "" for none */
};

static struct target_conf policy(void)
{
    struct target_conf t;
    memset(&t, 0, sizeof(t));
    t.name = "homepage";
    t.url = t.shown_url = "https://example.com/";
    t.method = "GET";
    t.failure_threshold = 1;
    t.recovery_threshold = 1;
    t.flap_threshold = 0;
    t.flap_window = 20;
    t.interval_ms = 10000;
    t.timeout_ms = 5000;
    return t;
}

/* Runs the steps; the alerts of the last step are left in *last. */
static unsigned run(struct tstate *ts, const struct target_conf *t, const struct probe *p, size_t n,
                    struct alert *last)
{
    unsigned count = 0;

    for (size_t i = 0; i < n; i++) {
        struct probe_result r;
        struct verdict v;
        bool changed;
        char got[256] = "";

        probe_result_init(&r);
        r.code = p[i].code;
        r.error = p[i].err;
        r.total_us = p[i].latency_ms * 1000;
        r.cert_not_after = p[i].cert_not_after;
        if (p[i].location)
            snprintf(r.location, sizeof(r.location), "%s", p[i].location);
        verdict_judge(&r, t, &v);
        count = state_step(ts, t, &r, &v, AT(p[i].t_ms), last, &changed);
        for (unsigned j = 0; j < count; j++) {
            if (j)
                strcat(got, ",");
            strcat(got, eventtype_name(last[j].type));
        }
        print_message("step %zu at %lld: code %d -> [%s] state %s\n", i, (long long)p[i].t_ms,
                      p[i].code, got, state_name(ts->s.state));
        assert_string_equal(got, p[i].want);
    }
    return count;
}

static void down_redirect_recovered(void **state)
{
    (void)state;
    struct target_conf t = policy();
    struct tstate ts;
    struct alert a[STATE_MAX_ALERTS];
    const struct probe p[] = {
        {1 * S, 200, PERR_NONE, NULL, 10, 0, ""},
        {2 * S, 503, PERR_NONE, NULL, 10, 0, "down"},
        {3 * S, 301, PERR_NONE, "https://example.com/new", 10, 0, "redirect"},
        {4 * S, 200, PERR_NONE, NULL, 10, 0, "recovered"},
    };
    tstate_init(&ts);
    run(&ts, &t, p, 4, a);
    assert_int_equal(a[0].previous, PREV_REDIRECTING);
    assert_int_equal(a[0].severity, SEV_OK);
    assert_int_equal(a[0].filter_severity, SEV_WARNING);
    assert_int_equal(a[0].since_ms, 3 * S);
    tstate_free(&ts);
    /* The redirect says when the outage it ends began, and the outage
     * when the up state did. */
    tstate_init(&ts);
    run(&ts, &t, p, 3, a);
    assert_int_equal(a[0].since_ms, 3 * S);
    assert_int_equal(a[0].previous_since_ms, 2 * S);
    tstate_free(&ts);
    tstate_init(&ts);
    run(&ts, &t, p, 2, a);
    assert_int_equal(a[0].previous_since_ms, 1 * S);
    tstate_free(&ts);
}

static void up_at_start_is_silent_down_at_start_is_not(void **state)
{
    (void)state;
    struct target_conf t = policy();
    struct tstate ts;
    struct alert a[STATE_MAX_ALERTS];
    t.failure_threshold = 2;
    const struct probe up[] = {{1 * S, 200, PERR_NONE, NULL, 10, 0, ""},
                               {2 * S, 200, PERR_NONE, NULL, 10, 0, ""}};
    tstate_init(&ts);
    run(&ts, &t, up, 2, a);
    assert_int_equal(ts.s.state, ST_UP);

    const struct probe down[] = {{1 * S, 0, PERR_CONNECT, NULL, -1, 0, ""},
                                 {2 * S, 0, PERR_CONNECT, NULL, -1, 0, "down"}};
    tstate_init(&ts);
    run(&ts, &t, down, 2, a);
    assert_int_equal(a[0].previous, PREV_UNKNOWN);
    assert_int_equal(a[0].state, ST_UNREACHABLE);
    assert_int_equal(a[0].error, PERR_CONNECT);
    assert_int_equal(a[0].since_ms, 1 * S); /* from the first failing probe */
}

static void hysteresis(void **state)
{
    (void)state;
    struct target_conf t = policy();
    struct tstate ts;
    struct alert a[STATE_MAX_ALERTS];
    t.failure_threshold = 3;
    t.recovery_threshold = 2;
    const struct probe p[] = {
        {1 * S, 200, PERR_NONE, NULL, 10, 0, ""},
        {2 * S, 503, PERR_NONE, NULL, 10, 0, ""},
        {3 * S, 503, PERR_NONE, NULL, 10, 0, ""},
        {4 * S, 200, PERR_NONE, NULL, 10, 0, ""}, /* the streak breaks */
        {5 * S, 503, PERR_NONE, NULL, 10, 0, ""},
        {6 * S, 503, PERR_NONE, NULL, 10, 0, ""},
        {7 * S, 503, PERR_NONE, NULL, 10, 0, "down"},
        {8 * S, 200, PERR_NONE, NULL, 10, 0, ""},
        {9 * S, 503, PERR_NONE, NULL, 10, 0, ""},
        {10 * S, 200, PERR_NONE, NULL, 10, 0, ""},
        {11 * S, 200, PERR_NONE, NULL, 10, 0, "recovered"},
    };
    tstate_init(&ts);
    run(&ts, &t, p, sizeof(p) / sizeof(p[0]), a);
    assert_int_equal(a[0].since_ms, 5 * S); /* the outage began at the first of its streak */
}

static void changed_and_redirect_target_changed(void **state)
{
    (void)state;
    struct target_conf t = policy();
    struct tstate ts;
    struct alert a[STATE_MAX_ALERTS];
    const struct probe p[] = {
        {1 * S, 200, PERR_NONE, NULL, 10, 0, ""},
        {2 * S, 503, PERR_NONE, NULL, 10, 0, "down"},
        {3 * S, 500, PERR_NONE, NULL, 10, 0, ""}, /* still a server error */
        {4 * S, 0, PERR_CONNECT, NULL, -1, 0, "changed"},
        {5 * S, 404, PERR_NONE, NULL, 10, 0, "changed"},
        {6 * S, 302, PERR_NONE, "https://a.example/", 10, 0, "redirect"},
        {7 * S, 302, PERR_NONE, "https://a.example/", 10, 0, ""},
        {8 * S, 302, PERR_NONE, "https://b.example/", 10, 0, "redirect"},
        {9 * S, 200, PERR_NONE, NULL, 10, 0, "recovered"},
    };
    tstate_init(&ts);
    run(&ts, &t, p, sizeof(p) / sizeof(p[0]), a);
    tstate_free(&ts);
    /* The outage kept its start through its changes of kind. */
    tstate_init(&ts);
    run(&ts, &t, p, 5, a);
    assert_int_equal(a[0].previous, PREV_UNREACHABLE);
    assert_int_equal(a[0].since_ms, 2 * S);
    tstate_free(&ts);
}

static void reminders(void **state)
{
    (void)state;
    struct target_conf t = policy();
    struct tstate ts;
    struct alert a[STATE_MAX_ALERTS];
    t.remind_every_ms = 60 * S;
    const struct probe p[] = {
        {0, 503, PERR_NONE, NULL, 10, 0, "down"},
        {30 * S, 503, PERR_NONE, NULL, 10, 0, ""},
        {59 * S, 503, PERR_NONE, NULL, 10, 0, ""},
        {60 * S, 503, PERR_NONE, NULL, 10, 0, "reminder"},
        {90 * S, 0, PERR_TIMEOUT, NULL, -1, 0, "changed"},
        {149 * S, 0, PERR_TIMEOUT, NULL, -1, 0, ""},
        {150 * S, 0, PERR_TIMEOUT, NULL, -1, 0, "reminder"},
        {160 * S, 200, PERR_NONE, NULL, 10, 0, "recovered"},
        {400 * S, 200, PERR_NONE, NULL, 10, 0, ""},
    };
    tstate_init(&ts);
    run(&ts, &t, p, sizeof(p) / sizeof(p[0]), a);
}

static void slow(void **state)
{
    (void)state;
    struct target_conf t = policy();
    struct tstate ts;
    struct alert a[STATE_MAX_ALERTS];
    t.max_latency_ms = 100;
    t.failure_threshold = 2;
    const struct probe p[] = {
        {1 * S, 200, PERR_NONE, NULL, 50, 0, ""},
        {2 * S, 200, PERR_NONE, NULL, 150, 0, ""},
        {3 * S, 200, PERR_NONE, NULL, 50, 0, ""},
        {4 * S, 200, PERR_NONE, NULL, 150, 0, ""},
        {5 * S, 200, PERR_NONE, NULL, 150, 0, "slow"},
        {6 * S, 200, PERR_NONE, NULL, 170, 0, ""},
        {7 * S, 200, PERR_NONE, NULL, 50, 0, "recovered"},
    };
    tstate_init(&ts);
    run(&ts, &t, p, sizeof(p) / sizeof(p[0]), a);
    assert_int_equal(a[0].previous, PREV_SLOW);
    /* Going down while slow: the down alert supersedes slow. */
    const struct probe q[] = {
        {1 * S, 200, PERR_NONE, NULL, 150, 0, ""},
        {2 * S, 200, PERR_NONE, NULL, 150, 0, "slow"},
        {3 * S, 503, PERR_NONE, NULL, 10, 0, ""},
        {4 * S, 503, PERR_NONE, NULL, 10, 0, "down"},
        {5 * S, 200, PERR_NONE, NULL, 10, 0, "recovered"},
    };
    tstate_init(&ts);
    run(&ts, &t, q, sizeof(q) / sizeof(q[0]), a);
    assert_false(ts.s.slow);
}

static void certificate(void **state)
{
    (void)state;
    struct target_conf t = policy();
    struct tstate ts;
    struct alert a[STATE_MAX_ALERTS];
    const int64_t day = 86400;
    t.cert_expiry_warning_ms = (uint64_t)(14 * day * 1000);
    const int64_t now_s = 1800000000;
    const struct probe p[] = {
        {now_s * S, 200, PERR_NONE, NULL, 10, now_s + 30 * day, ""},
        {(now_s + 16 * day + 1) * S, 200, PERR_NONE, NULL, 10, now_s + 30 * day, "cert_expiring"},
        {(now_s + 17 * day) * S, 200, PERR_NONE, NULL, 10, now_s + 30 * day, ""},
        /* Renewed: quiet again, and the next certificate warns once too. */
        {(now_s + 18 * day) * S, 200, PERR_NONE, NULL, 10, now_s + 90 * day, ""},
        {(now_s + 80 * day) * S, 200, PERR_NONE, NULL, 10, now_s + 90 * day, "cert_expiring"},
    };
    tstate_init(&ts);
    run(&ts, &t, p, sizeof(p) / sizeof(p[0]), a);
    assert_int_equal(a[0].severity, SEV_WARNING);
    assert_int_equal(a[0].cert_not_after, now_s + 90 * day);
    t.cert_expiry_warning_ms = 0; /* off */
    tstate_init(&ts);
    const struct probe off[] = {{now_s * S, 200, PERR_NONE, NULL, 10, now_s + 1, ""}};
    run(&ts, &t, off, 1, a);
}

/* The alert says which certificate ends (in a chain, maybe not the
 * site's own) and when. */
static void certificate_names(void **state)
{
    (void)state;
    struct target_conf t = policy();
    struct tstate ts;
    struct alert a[STATE_MAX_ALERTS];
    struct probe_result r;
    struct verdict v;
    bool changed;
    char line[1024];
    const int64_t day = 86400, now_s = 1800000000; /* 2027-01-15T08:00:00Z */

    t.cert_expiry_warning_ms = (uint64_t)(14 * day * 1000);
    probe_result_init(&r);
    r.code = 200;
    r.total_us = 10000;
    r.cert_not_after = now_s + 5 * day + 1800;
    snprintf(r.cert_subject, sizeof(r.cert_subject), "CN=Test Intermediate,O=Example\\, Inc.");
    snprintf(r.cert_issuer, sizeof(r.cert_issuer), "CN=Test Root");
    verdict_judge(&r, &t, &v);
    tstate_init(&ts);
    assert_int_equal(state_step(&ts, &t, &r, &v, AT(now_s * S), a, &changed), 1);
    assert_int_equal(a[0].type, EVT_CERT_EXPIRING);
    assert_string_equal(a[0].cert_subject, "CN=Test Intermediate,O=Example\\, Inc.");
    assert_string_equal(a[0].cert_issuer, "CN=Test Root");
    alert_message(&a[0], &t, line, sizeof(line));
    assert_string_equal(line, "homepage: the TLS certificate \"CN=Test Intermediate,O=Example\\, "
                              "Inc.\" issued by \"CN=Test Root\" expires in 5d, at "
                              "2027-01-20T08:30:00Z");
    a[0].time_ms = (now_s + 6 * day) * S;
    alert_message(&a[0], &t, line, sizeof(line));
    assert_string_equal(line, "homepage: the TLS certificate \"CN=Test Intermediate,O=Example\\, "
                              "Inc.\" issued by \"CN=Test Root\" has expired, at "
                              "2027-01-20T08:30:00Z");
    /* Names not known: the certificate and its end all the same. */
    a[0].cert_subject[0] = a[0].cert_issuer[0] = '\0';
    a[0].time_ms = now_s * S;
    alert_message(&a[0], &t, line, sizeof(line));
    assert_string_equal(line,
                        "homepage: the TLS certificate expires in 5d, at 2027-01-20T08:30:00Z");
    tstate_free(&ts);
}

/* A name from the wire is shown as it is, but only as printable ASCII,
 * and within its bounds. */
static void certificate_name_made_safe(void **state)
{
    (void)state;
    char out[16];
    const char *evil = "CN=a\nb\x1b[31m\xc3\xbc\x7f";

    probe_result_name(out, sizeof(out), evil, strlen(evil));
    assert_string_equal(out, "CN=a?b?[31m???");
    probe_result_name(out, sizeof(out), "CN=a,O=bbbbbbbbbbbbbbbb", 23);
    assert_string_equal(out, "CN=a,O=bbbbb...");
    assert_int_equal(strlen(out), sizeof(out) - 1);
    /* Only the n bytes given: OpenSSL's buffer is not NUL-terminated. */
    probe_result_name(out, sizeof(out), "CN=abcdef", 4);
    assert_string_equal(out, "CN=a");
}

static void flapping(void **state)
{
    (void)state;
    struct target_conf t = policy();
    struct tstate ts;
    struct alert a[STATE_MAX_ALERTS];
    t.failure_threshold = 1;
    t.flap_threshold = 3; /* more than 3 changes ... */
    t.flap_window = 8;    /* ... in the last 8 probes */
    const struct probe p[] = {
        {1 * S, 200, PERR_NONE, NULL, 10, 0, ""},
        {2 * S, 503, PERR_NONE, NULL, 10, 0, "down"},      /* change 1 */
        {3 * S, 200, PERR_NONE, NULL, 10, 0, "recovered"}, /* 2 */
        {4 * S, 503, PERR_NONE, NULL, 10, 0, "down"},      /* 3 */
        {5 * S, 200, PERR_NONE, NULL, 10, 0, "flapping"},  /* 4: held from here */
        {6 * S, 503, PERR_NONE, NULL, 10, 0, ""},          /* 5 */
        {7 * S, 200, PERR_NONE, NULL, 10, 0, ""},          /* 6 */
        {8 * S, 503, PERR_NONE, NULL, 10, 0, ""},          /* 7 */
        {9 * S, 503, PERR_NONE, NULL, 10, 0, ""},          /* last 8 probes: 6 changes */
        {10 * S, 503, PERR_NONE, NULL, 10, 0, ""},         /* 5 */
        {11 * S, 503, PERR_NONE, NULL, 10, 0, ""},         /* 4 */
        {12 * S, 503, PERR_NONE, NULL, 10, 0, ""},         /* 3 */
        {13 * S, 503, PERR_NONE, NULL, 10, 0, ""},         /* 3 */
        {14 * S, 503, PERR_NONE, NULL, 10, 0, ""},         /* 2 */
        {15 * S, 503, PERR_NONE, NULL, 10, 0, "down"},     /* 1 <= 3/2: settled, down */
        {16 * S, 503, PERR_NONE, NULL, 10, 0, ""},
        {17 * S, 200, PERR_NONE, NULL, 10, 0, "recovered"},
    };
    tstate_init(&ts);
    run(&ts, &t, p, 15, a);
    assert_int_equal(a[0].previous, PREV_FLAPPING);
    assert_false(ts.s.flapping);
    tstate_init(&ts);
    run(&ts, &t, p, sizeof(p) / sizeof(p[0]), a);
    tstate_init(&ts);
    run(&ts, &t, p, 5, a);
    assert_true(ts.s.flapping);
    assert_int_equal(a[0].flap_changes, 4);
    /* Flapping holds the outage's alerts, not a certificate warning: the
     * next probe fails (held) with a certificate that ends now (raised). */
    t.cert_expiry_warning_ms = 1000;
    const struct probe expiring[] = {{6 * S, 503, PERR_NONE, NULL, 10, 6, "cert_expiring"}};
    run(&ts, &t, expiring, 1, a);
    assert_true(ts.s.flapping);
    assert_int_equal(a[0].cert_not_after, 6);
}

/* A threshold of two that never agrees twice: no down, but flapping. */
static void flapping_below_the_threshold(void **state)
{
    (void)state;
    struct target_conf t = policy();
    struct tstate ts;
    struct alert a[STATE_MAX_ALERTS];
    t.failure_threshold = 2;
    t.flap_threshold = 3;
    t.flap_window = 8;
    const struct probe p[] = {
        {1 * S, 200, PERR_NONE, NULL, 10, 0, ""},
        {2 * S, 503, PERR_NONE, NULL, 10, 0, ""},
        {3 * S, 200, PERR_NONE, NULL, 10, 0, ""},
        {4 * S, 503, PERR_NONE, NULL, 10, 0, ""},
        {5 * S, 200, PERR_NONE, NULL, 10, 0, "flapping"},
        {6 * S, 200, PERR_NONE, NULL, 10, 0, ""},
        {7 * S, 200, PERR_NONE, NULL, 10, 0, ""},
        {8 * S, 200, PERR_NONE, NULL, 10, 0, ""},
        {9 * S, 200, PERR_NONE, NULL, 10, 0, ""},
        {10 * S, 200, PERR_NONE, NULL, 10, 0, ""},
        {11 * S, 200, PERR_NONE, NULL, 10, 0, ""},
        {12 * S, 200, PERR_NONE, NULL, 10, 0, "recovered"},
    };
    tstate_init(&ts);
    run(&ts, &t, p, sizeof(p) / sizeof(p[0]), a);
    assert_int_equal(a[0].previous, PREV_FLAPPING);
}

/* Restarted while flapping: the history is gone, so the first probes do
 * not count as settled; a whole window of them must. */
static void flapping_across_a_restart(void **state)
{
    (void)state;
    struct target_conf t = policy();
    struct tstate ts;
    struct alert a[STATE_MAX_ALERTS];
    struct tstate_saved saved;
    memset(&saved, 0, sizeof(saved));
    saved.state = ST_UP;
    saved.severity = SEV_OK;
    saved.flapping = true;
    t.failure_threshold = 2;
    t.flap_threshold = 3;
    t.flap_window = 4;
    const struct probe p[] = {
        {1 * S, 503, PERR_NONE, NULL, 10, 0, ""},
        {2 * S, 503, PERR_NONE, NULL, 10, 0, ""}, /* confirmed, but held */
        {3 * S, 503, PERR_NONE, NULL, 10, 0, ""},
        {4 * S, 503, PERR_NONE, NULL, 10, 0, "down"}, /* a full window: settled */
    };
    tstate_restore(&ts, &saved, AT(1 * S));
    run(&ts, &t, p, sizeof(p) / sizeof(p[0]), a);
    assert_int_equal(a[0].previous, PREV_FLAPPING);
    tstate_free(&ts);
}

/* A reload that turns flap detection off ends the hold at the next probe. */
static void flapping_turned_off(void **state)
{
    (void)state;
    struct target_conf t = policy();
    struct tstate ts;
    struct alert a[STATE_MAX_ALERTS];
    t.flap_threshold = 1;
    t.flap_window = 8;
    const struct probe p[] = {
        {1 * S, 200, PERR_NONE, NULL, 10, 0, ""},
        {2 * S, 503, PERR_NONE, NULL, 10, 0, "down"},
        {3 * S, 200, PERR_NONE, NULL, 10, 0, "flapping"},
    };
    const struct probe after[] = {
        {4 * S, 503, PERR_NONE, NULL, 10, 0, "down"},
        {5 * S, 200, PERR_NONE, NULL, 10, 0, "recovered"},
    };
    tstate_init(&ts);
    run(&ts, &t, p, sizeof(p) / sizeof(p[0]), a);
    t.flap_threshold = 0;
    run(&ts, &t, after, sizeof(after) / sizeof(after[0]), a);
    assert_false(ts.s.flapping);
    tstate_free(&ts);
}

/* After a restart: a target still failing is not reported again; one that
 * came back while the daemon was down is reported recovered. */
static void restart(void **state)
{
    (void)state;
    struct target_conf t = policy();
    struct tstate ts;
    struct alert a[STATE_MAX_ALERTS];
    struct tstate_saved saved;
    memset(&saved, 0, sizeof(saved));
    saved.state = ST_SERVER_ERROR;
    saved.severity = SEV_CRITICAL;
    saved.since_ms = 100 * S;
    saved.notified_ms = 100 * S;

    const struct probe still[] = {{500 * S, 503, PERR_NONE, NULL, 10, 0, ""},
                                  {501 * S, 500, PERR_NONE, NULL, 10, 0, ""}};
    tstate_restore(&ts, &saved, AT(500 * S));
    run(&ts, &t, still, 2, a);

    const struct probe back[] = {{500 * S, 200, PERR_NONE, NULL, 10, 0, "recovered"}};
    tstate_restore(&ts, &saved, AT(500 * S));
    run(&ts, &t, back, 1, a);
    assert_int_equal(a[0].since_ms, 100 * S);
    assert_int_equal(a[0].duration_ms, 400 * S);

    /* Reminders keep their rhythm across the restart. */
    t.remind_every_ms = 3600 * S;
    const struct probe remind[] = {{3699 * S, 503, PERR_NONE, NULL, 10, 0, ""},
                                   {3700 * S, 503, PERR_NONE, NULL, 10, 0, "reminder"}};
    tstate_restore(&ts, &saved, AT(3699 * S));
    run(&ts, &t, remind, 2, a);
    tstate_free(&ts);

    /* The wall clock went back while the daemon was stopped: what was
     * saved lies in its future, and counts as just now, not as negative. */
    tstate_restore(&ts, &saved, AT(50 * S));
    run(&ts, &t, back, 1, a);
    assert_int_equal(a[0].duration_ms, 450 * S); /* the run starts at 500 s */
    tstate_free(&ts);
}

/* Steps of the wall clock while the daemon runs: durations and reminders
 * follow the monotonic clock; the wall clock only dates the alerts. */
static void wall_clock_steps(void **state)
{
    (void)state;
    struct target_conf t = policy();
    struct tstate ts;
    struct alert a[STATE_MAX_ALERTS];
    struct verdict v;
    struct probe_result r;
    bool changed;
    const int64_t day = 86400 * S;

    t.failure_threshold = 1;
    t.remind_every_ms = 3600 * S;
    tstate_init(&ts);
    probe_result_init(&r);
    r.code = 503;
    verdict_judge(&r, &t, &v);
    assert_int_equal(state_step(&ts, &t, &r, &v, AT(10 * S), a, &changed), 1);
    assert_int_equal(a[0].type, EVT_DOWN);
    /* Two days forward on the wall clock, ten seconds on the monotonic:
     * no reminder, and the outage is ten seconds old. */
    struct instant ahead = {20 * S, 2 * day + 20 * S};
    assert_int_equal(state_step(&ts, &t, &r, &v, ahead, a, &changed), 0);
    /* An hour later (monotonic), whatever the wall clock says (a day
     * back): the reminder, dated by the wall clock, an hour into it. */
    struct instant later = {3610 * S, 3610 * S - day};
    assert_int_equal(state_step(&ts, &t, &r, &v, later, a, &changed), 1);
    assert_int_equal(a[0].type, EVT_REMINDER);
    assert_int_equal(a[0].time_ms, 3610 * S - day);
    assert_int_equal(a[0].duration_ms, 3600 * S);
    char msg[512];
    alert_message(&a[0], &t, msg, sizeof(msg));
    assert_non_null(strstr(msg, "still down after 1h:"));
    /* Recovery: the outage lasted what the monotonic clock measured. */
    r.code = 200;
    verdict_judge(&r, &t, &v);
    assert_int_equal(state_step(&ts, &t, &r, &v, (struct instant){3700 * S, 5 * S}, a, &changed),
                     1);
    assert_int_equal(a[0].type, EVT_RECOVERED);
    assert_int_equal(a[0].duration_ms, 3690 * S);
    tstate_free(&ts);
}

static void severities(void **state)
{
    (void)state;
    struct target_conf t = policy();
    struct tstate ts;
    struct alert a[STATE_MAX_ALERTS];
    struct severity_rule rules[] = {{{404, 404}, SEV_WARNING}};
    t.severity = rules;
    t.nseverity = 1;
    const struct probe p[] = {{1 * S, 404, PERR_NONE, NULL, 10, 0, "down"}};
    tstate_init(&ts);
    run(&ts, &t, p, 1, a);
    assert_int_equal(a[0].severity, SEV_WARNING);
    /* A final 1xx is failing too, of another kind, with its own severity. */
    const struct probe q[] = {{2 * S, 101, PERR_NONE, NULL, 10, 0, "changed"}};
    run(&ts, &t, q, 1, a);
    assert_int_equal(ts.s.state, ST_UNEXPECTED);
    assert_int_equal(a[0].severity, SEV_WARNING);
    assert_int_equal(a[0].previous, PREV_CLIENT_ERROR);
}

static void messages(void **state)
{
    (void)state;
    struct target_conf t = policy();
    struct alert a;
    char line[512];

    memset(&a, 0, sizeof(a));
    a.type = EVT_DOWN;
    a.code = 503;
    a.previous = PREV_UP;
    a.latency_us = -1;
    alert_message(&a, &t, line, sizeof(line));
    assert_string_equal(line, "homepage is down: 503 Service Unavailable (https://example.com/)");
    /* What sits behind it (depends_on) is said while it fails. */
    t.ndependents = 40;
    alert_message(&a, &t, line, sizeof(line));
    assert_string_equal(line, "homepage is down: 503 Service Unavailable (https://example.com/); "
                              "40 targets depend on it");
    t.ndependents = 1;
    a.type = EVT_REMINDER;
    alert_message(&a, &t, line, sizeof(line));
    assert_string_equal(line, "homepage is still down after 0: 503 Service Unavailable "
                              "(https://example.com/); 1 target depends on it");
    a.type = EVT_RECOVERED;
    a.code = 200;
    alert_message(&a, &t, line, sizeof(line));
    assert_string_equal(line, "homepage recovered: 200 OK (was up for 0)");
    t.ndependents = 0;
    a.type = EVT_DOWN;
    a.code = 503;
    a.code = 0;
    a.error = PERR_DNS;
    snprintf(a.message, sizeof(a.message), "Could not resolve host: example.com");
    alert_message(&a, &t, line, sizeof(line));
    assert_string_equal(line, "homepage is down: dns: Could not resolve host: example.com "
                              "(https://example.com/)");
    a.type = EVT_RECOVERED;
    a.error = PERR_NONE;
    a.code = 200;
    a.previous = PREV_UNREACHABLE;
    a.since_ms = 1000 * S;
    a.time_ms = 1330 * S;
    a.duration_ms = 330 * S;
    alert_message(&a, &t, line, sizeof(line));
    assert_string_equal(line, "homepage recovered: 200 OK (was unreachable for 5m30s)");
    a.type = EVT_REDIRECT;
    a.code = 301;
    snprintf(a.location, sizeof(a.location), "https://example.net/");
    alert_message(&a, &t, line, sizeof(line));
    assert_string_equal(line, "homepage redirects: 301 Moved Permanently -> https://example.net/");
    /* An answer over max_latency is named by its status, not its error. */
    t.max_latency_ms = 2000;
    a.type = EVT_SLOW;
    a.code = 200;
    a.error = PERR_TOO_SLOW;
    a.latency_us = 2412000;
    alert_message(&a, &t, line, sizeof(line));
    assert_string_equal(line, "homepage is slow: 200 OK in 2412 ms, over max_latency 2000 ms");
}

static void details(void **state)
{
    (void)state;
    struct alert a;
    char d[ALERT_DETAIL_MAX];

    memset(&a, 0, sizeof(a));
    a.type = EVT_DOWN;
    a.code = 503;
    a.cls = CLASS_SERVER_ERROR;
    a.latency_us = 48000;
    alert_detail(&a, d, sizeof(d));
    assert_string_equal(d, "503 Service Unavailable");
    a.code = 0;
    a.cls = CLASS_TRANSPORT;
    a.error = PERR_CONNECT;
    alert_detail(&a, d, sizeof(d));
    assert_string_equal(d, "connect");
    snprintf(a.message, sizeof(a.message), "Failed to connect to 127.0.0.1 port 9");
    alert_detail(&a, d, sizeof(d));
    assert_string_equal(d, "connect: Failed to connect to 127.0.0.1 port 9");
    /* A redirect says where to, or that it says nowhere. */
    memset(&a, 0, sizeof(a));
    a.type = EVT_REDIRECT;
    a.code = 301;
    a.cls = CLASS_REDIRECTION;
    alert_detail(&a, d, sizeof(d));
    assert_string_equal(d, "301 Moved Permanently -> (no Location)");
    snprintf(a.location, sizeof(a.location), "https://example.net/moved");
    alert_detail(&a, d, sizeof(d));
    assert_string_equal(d, "301 Moved Permanently -> https://example.net/moved");
    a.type = EVT_CERT_EXPIRING; /* any alert whose probe saw a redirect */
    alert_detail(&a, d, sizeof(d));
    assert_string_equal(d, "301 Moved Permanently -> https://example.net/moved");
    /* Too slow: the answer it was, and how long it took. */
    memset(&a, 0, sizeof(a));
    a.type = EVT_SLOW;
    a.code = 200;
    a.cls = CLASS_SUCCESS;
    a.error = PERR_TOO_SLOW;
    a.latency_us = 2412000;
    alert_detail(&a, d, sizeof(d));
    assert_string_equal(d, "200 OK in 2412 ms");
    /* A long Location is cut, on a character, and says so. */
    memset(&a, 0, sizeof(a));
    a.type = EVT_REDIRECT;
    a.code = 302;
    a.cls = CLASS_REDIRECTION;
    memcpy(a.location, "https://x/", 10);
    memset(a.location + 10, 'l', sizeof(a.location) - 11);
    /* "302 Found -> " is 13 bytes: a two-byte character across the cut. */
    memcpy(a.location + (ALERT_DETAIL_MAX - 4) - 13 - 1, "\xc3\xbc", 2);
    alert_detail(&a, d, sizeof(d));
    assert_int_equal(strlen(d), ALERT_DETAIL_MAX - 2); /* not 239: the character went */
    assert_string_equal(d + strlen(d) - 3, "...");
    assert_int_equal((unsigned char)d[strlen(d) - 4], 'l');
    /* Never more than the buffer given. */
    char small[8];
    alert_detail(&a, small, sizeof(small));
    assert_string_equal(small, "302 ...");
}

static void names_and_failing_states(void **state)
{
    (void)state;
    enum target_state s;
    assert_string_equal(state_name(ST_CLIENT_ERROR), "client_error");
    assert_int_equal(state_parse("unreachable", &s), 0);
    assert_int_equal(s, ST_UNREACHABLE);
    assert_int_equal(state_parse("down", &s), -1);
    for (int i = 0; i < ST_COUNT; i++) {
        assert_int_equal(state_parse(state_name((enum target_state)i), &s), 0);
        assert_int_equal(s, i);
    }
    assert_true(state_is_failing(ST_SERVER_ERROR));
    assert_true(state_is_failing(ST_CONTENT));
    assert_false(state_is_failing(ST_UP));
    assert_false(state_is_failing(ST_REDIRECTING));
    assert_false(state_is_failing(ST_UNKNOWN));
    /* What an alert came from: a state's own name, or one of two more. */
    assert_string_equal(alert_previous_name(PREV_SERVER_ERROR), "server_error");
    assert_string_equal(alert_previous_name(PREV_UNEXPECTED), "unexpected");
    assert_string_equal(alert_previous_name(PREV_SLOW), "slow");
    assert_string_equal(alert_previous_name(PREV_FLAPPING), "flapping");
    assert_string_equal(alert_previous_name(PREV_COUNT), "unknown");
    assert_int_equal(state_parse("slow", &s), -1);
    assert_int_equal(state_parse("flapping", &s), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(down_redirect_recovered),
        cmocka_unit_test(up_at_start_is_silent_down_at_start_is_not),
        cmocka_unit_test(hysteresis),
        cmocka_unit_test(changed_and_redirect_target_changed),
        cmocka_unit_test(reminders),
        cmocka_unit_test(slow),
        cmocka_unit_test(certificate),
        cmocka_unit_test(flapping),
        cmocka_unit_test(flapping_below_the_threshold),
        cmocka_unit_test(flapping_across_a_restart),
        cmocka_unit_test(flapping_turned_off),
        cmocka_unit_test(restart),
        cmocka_unit_test(wall_clock_steps),
        cmocka_unit_test(severities),
        cmocka_unit_test(messages),
        cmocka_unit_test(certificate_names),
        cmocka_unit_test(certificate_name_made_safe),
        cmocka_unit_test(details),
        cmocka_unit_test(names_and_failing_states),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
