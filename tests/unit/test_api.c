/* The JSON API from a view built by hand: targets judged and fed through
 * the real verdict, state machine and history, so that a target's object
 * carries exactly what `--once --json` prints for its last probe; the
 * history database's readers are fakes that record what they were asked.
 * Bad parameters, unknown targets, and times as a query gives them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api.h"
#include "histdb.h"
#include "report.h"
#include "route.h"
#include "state.h"

#define SEC  1000LL
#define MIN  (60 * SEC)
#define HOUR (60 * MIN)
#define DAY  (24 * HOUR)
#define T0   1710028800000LL /* 2024-03-10T00:00:00Z */

#define NT 3
static struct target_conf confs[NT];
static struct tstate states[NT];
static struct htarget hists[NT];
static struct view_target vts[NT];
static struct view view;
static uint64_t next_id = 1;
static int64_t now;
static struct kv labels[] = {{"team", "web", false}};

/* The last probe of each target, as --once would have judged it. */
static struct probe_result last_r[NT];
static struct verdict last_v[NT];

static struct histdb *fake_db = (struct histdb *)&fake_db;

static struct {
    int calls;
    char target[64];
    int64_t from, to, step, before;
    size_t limit;
    bool fail;
} asked;

static int fake_series(struct histdb *db, const char *target, int64_t from_ms, int64_t to_ms,
                       int64_t step_ms, struct hbucket **out, size_t *n)
{
    assert_ptr_equal(db, fake_db);
    asked.calls++;
    snprintf(asked.target, sizeof(asked.target), "%s", target);
    asked.from = from_ms;
    asked.to = to_ms;
    asked.step = step_ms;
    if (asked.fail)
        return -1;
    *n = (size_t)((to_ms - from_ms + step_ms - 1) / step_ms);
    *out = calloc(*n, sizeof(**out));
    for (size_t i = 0; i < *n; i++) {
        (*out)[i].start_ms = from_ms + (int64_t)i * step_ms;
        if (i % 3 == 2)
            continue; /* nothing recorded */
        (*out)[i].probes = 10;
        (*out)[i].failures = (uint32_t)(i % 3);
        (*out)[i].latency_sum_us = 10 * 20000;
        (*out)[i].latency_max_us = 40000;
        (*out)[i].worst = (uint8_t)(i % 3 ? ST_SERVER_ERROR : ST_UP);
    }
    return 0;
}

/* What the database holds: closed incidents of "shop" (one of which
 * memory holds too) and of a target no longer configured. */
static const struct {
    const char *target;
    struct incident inc;
} db_rows[] = {
    {"shop", {.id = 2, .start_ms = T0 + 2 * HOUR, .end_ms = T0 + 2 * HOUR + 5 * MIN, .worst = 4}},
    {"gone", {.id = 900, .start_ms = T0 - DAY, .end_ms = T0 - DAY + MIN, .worst = 5}},
    {"shop", {.id = 901, .start_ms = T0 - 2 * DAY, .end_ms = T0 - 2 * DAY + MIN, .worst = 5}},
    {"shop", {.id = 902, .start_ms = T0 - 3 * DAY, .end_ms = 0, .worst = 5}}, /* stale open */
};

static int fake_incidents(struct histdb *db, const char *target, int64_t before_ms, size_t limit,
                          struct incident_row **out, size_t *n)
{
    assert_ptr_equal(db, fake_db);
    asked.calls++;
    snprintf(asked.target, sizeof(asked.target), "%s", target ? target : "(all)");
    asked.before = before_ms;
    asked.limit = limit;
    *out = calloc(sizeof(db_rows) / sizeof(db_rows[0]), sizeof(**out));
    *n = 0;
    for (size_t i = 0; i < sizeof(db_rows) / sizeof(db_rows[0]) && *n < limit; i++) {
        if ((target && strcmp(target, db_rows[i].target) != 0) ||
            (before_ms && db_rows[i].inc.start_ms >= before_ms))
            continue;
        (*out)[*n].target = strdup(db_rows[i].target);
        (*out)[(*n)++].inc = db_rows[i].inc;
    }
    return 0;
}

static void fake_rows_free(struct incident_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(rows[i].target);
    free(rows);
}

/* One probe of target i at now: judged, stepped, remembered. */
static void probe(size_t i, int code, enum probe_error err, int64_t total_ms, const char *message)
{
    struct probe_result r;
    struct verdict v;
    struct alert alerts[STATE_MAX_ALERTS];
    struct hchanges ch;
    bool changed;

    probe_result_init(&r);
    r.code = code;
    r.error = err;
    r.total_us = total_ms * 1000;
    r.dns_us = 100;
    r.connect_us = 300;
    r.ttfb_us = total_ms * 900;
    r.started_wall_ms = now - total_ms;
    r.body_match = code == 299 ? 0 : -1; /* 299: a failed content check */
    if (code == 299)
        r.code = 200;
    if (code == 301)
        snprintf(r.location, sizeof(r.location), "https://example.net/new");
    if (message)
        snprintf(r.message, sizeof(r.message), "%s", message);
    if (code == 200 && total_ms == 7) {
        r.cert_not_after = T0 / 1000 + 30 * 86400;
        snprintf(r.cert_subject, sizeof(r.cert_subject), "CN=example.net");
        snprintf(r.cert_issuer, sizeof(r.cert_issuer), "CN=Test CA");
    }
    verdict_judge(&r, &confs[i], &v);
    state_step(&states[i], &confs[i], &r, &v, (struct instant){now, now}, alerts, &changed);
    htarget_observe(&hists[i], &r, &v, states[i].s.state, states[i].s.since_ms, now, &next_id, &ch);
    last_r[i] = r;
    last_v[i] = v;
}

static int setup(void **state)
{
    static const char *names[NT] = {"shop", "a/b", "fresh"};
    (void)state;

    memset(confs, 0, sizeof(confs));
    for (size_t i = 0; i < NT; i++) {
        confs[i].name = (char *)names[i];
        confs[i].url = confs[i].shown_url = (char *)"https://example.net/";
        confs[i].method = (char *)"GET";
        confs[i].failure_threshold = confs[i].recovery_threshold = 1;
        confs[i].flap_window = 20;
        confs[i].interval_ms = 10000;
        confs[i].timeout_ms = 5000;
        confs[i].max_latency_ms = 500;
        tstate_init(&states[i]);
        htarget_init(&hists[i]);
        vts[i] = (struct view_target){&confs[i], &states[i], &hists[i]};
    }
    confs[0].labels = labels;
    confs[0].nlabels = 1;
    now = T0;
    memset(&asked, 0, sizeof(asked));
    view = (struct view){.targets = vts, .ntargets = NT, .healthy = true, .host = "box"};
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < NT; i++) {
        tstate_free(&states[i]);
        htarget_free(&hists[i]);
    }
    return 0;
}

/* Calls a handler on a target like the server's; the answer parsed. */
static json_t *call(handler_fn fn, const char *target, int want_status)
{
    struct route_match m;
    char err[256];
    struct hreply rp = {.status = 200};

    view.now_ms = now;
    assert_int_equal(route_find(target, &m, err, sizeof(err)), 0);
    assert_ptr_equal(m.route->handler, fn);
    struct hrequest rq = {.path = m.path, .tail = m.tail, .query = &m.query, .accept = ""};
    fn(&view, &rq, &rp);
    if (rp.status != want_status)
        fail_msg("%s: %d, want %d: %s", target, rp.status, want_status, rp.body.data);
    assert_string_equal(rp.content_type, "application/json");
    json_error_t je;
    json_t *o = json_loads(rp.body.data, 0, &je);
    if (o == NULL)
        fail_msg("%s: not JSON: %s", target, rp.body.data);
    buf_free(&rp.body);
    return o;
}

static const char *str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        fail_msg("%s is not a string", key);
    return json_string_value(v);
}

/* Every field --once --json prints, the same in the API's object. */
static void same_as_once(size_t i)
{
    json_t *once = report_json(&confs[i], &last_r[i], &last_v[i]);
    json_t *api = api_target_json(&view, &vts[i]);
    const char *key;
    json_t *value;

    json_object_foreach(once, key, value)
    {
        json_t *got = json_object_get(api, key);
        if (!json_equal(got, value)) {
            char *a = json_dumps(once, JSON_COMPACT), *b = json_dumps(api, JSON_COMPACT);
            fail_msg("%s differs:\n once: %s\n api:  %s", key, a, b);
        }
    }
    json_decref(once);
    json_decref(api);
}

static void target_is_once_json(void **state)
{
    (void)state;
    struct {
        int code;
        enum probe_error err;
        int64_t ms;
        const char *message;
    } probes[] = {
        {200, PERR_NONE, 7, NULL},
        {200, PERR_NONE, 900, NULL}, /* slow */
        {503, PERR_NONE, 20, NULL},
        {0, PERR_CONNECT, 1, "Failed to connect"},
        {0, PERR_NONE, 2, NULL}, /* no status line, no error: protocol */
        {301, PERR_NONE, 3, NULL},
        {299, PERR_NONE, 4, "body does not contain \"shop\""}, /* a content check */
        {404, PERR_BODY, 5, NULL},
        {200, PERR_TIMEOUT, 5000, "Operation timed out"},
    };
    view.now_ms = now;
    for (size_t k = 0; k < sizeof(probes) / sizeof(probes[0]); k++) {
        now += 10 * SEC;
        view.now_ms = now;
        probe(0, probes[k].code, probes[k].err, probes[k].ms, probes[k].message);
        same_as_once(0);
    }
}

static void targets_list(void **state)
{
    (void)state;
    probe(0, 200, PERR_NONE, 20, NULL);
    now += HOUR;
    probe(0, 503, PERR_NONE, 20, NULL);
    probe(1, 0, PERR_DNS, 3, "Could not resolve host");
    now += SEC;

    json_t *o = call(api_targets_handler, "/api/v1/targets", 200);
    assert_string_equal(str(o, "host"), "box");
    assert_string_equal(str(o, "time"), "2024-03-10T01:00:01.000Z");
    json_t *a = json_object_get(o, "targets");
    assert_int_equal(json_array_size(a), NT);
    json_t *shop = json_array_get(a, 0), *ab = json_array_get(a, 1), *fresh = json_array_get(a, 2);
    assert_string_equal(str(shop, "target"), "shop");
    assert_string_equal(str(shop, "state"), "server_error");
    assert_string_equal(str(shop, "confirmed"), "server_error");
    assert_string_equal(str(shop, "since"), "2024-03-10T01:00:00.000Z");
    assert_string_equal(str(json_object_get(shop, "labels"), "team"), "web");
    json_t *up = json_object_get(shop, "uptime");
    assert_true(json_real_value(json_object_get(up, "24h")) == 0.5);
    assert_true(json_real_value(json_object_get(up, "30d")) == 0.5);
    assert_false(json_is_true(json_object_get(shop, "flapping")));

    assert_string_equal(str(ab, "target"), "a/b");
    assert_string_equal(str(ab, "error"), "dns");
    assert_string_equal(str(ab, "confirmed"), "unreachable");

    /* Never probed: the same fields, nothing known. */
    assert_string_equal(str(fresh, "target"), "fresh");
    assert_string_equal(str(fresh, "state"), "unknown");
    assert_string_equal(str(fresh, "confirmed"), "unknown");
    assert_true(json_is_null(json_object_get(fresh, "code")));
    assert_true(json_is_null(json_object_get(fresh, "class")));
    assert_true(json_is_null(json_object_get(fresh, "severity")));
    assert_true(json_is_null(json_object_get(fresh, "since")));
    assert_true(json_is_null(json_object_get(fresh, "time")));
    assert_true(json_is_null(json_object_get(json_object_get(fresh, "uptime"), "24h")));
    json_t *once = report_json(&confs[2], &last_r[0], &last_v[0]);
    const char *key;
    json_t *value;
    json_object_foreach(once, key, value)
    {
        if (strncmp(key, "cert_", 5) != 0)
            assert_non_null(json_object_get(fresh, key));
    }
    json_decref(once);
    json_decref(o);
}

static void one_target(void **state)
{
    (void)state;
    for (int k = 0; k < 20; k++) {
        now += 10 * SEC;
        probe(0, k < 18 ? 200 : 503, PERR_NONE, 10 + k, NULL);
    }
    /* An incident that began at 18 and a closed one in memory (id 1..). */
    json_t *o = call(api_target_handler, "/api/v1/targets/shop", 200);
    assert_string_equal(str(o, "confirmed"), "server_error");
    json_t *recent = json_object_get(o, "recent");
    assert_int_equal(json_array_size(recent), HIST_RECENT);
    assert_string_equal(str(json_array_get(recent, 0), "state"), "server_error");
    assert_true(json_real_value(json_object_get(json_array_get(recent, 0), "latency_ms")) == 29.0);
    assert_true(json_real_value(json_object_get(json_array_get(recent, 2), "latency_ms")) == 27.0);
    json_t *inc = json_object_get(o, "incidents");
    json_t *open = json_object_get(inc, "open");
    assert_string_equal(str(open, "worst"), "server_error");
    assert_true(json_is_null(json_object_get(open, "end")));
    assert_int_equal(json_integer_value(json_array_get(json_object_get(open, "codes"), 0)), 503);
    assert_int_equal(json_array_size(json_object_get(inc, "recent")), 0);
    json_decref(o);

    /* Recovery closes it; with the database, its closed ones join,
     * each once, newest first; an open one there is not taken. */
    now += 10 * SEC;
    probe(0, 200, PERR_NONE, 10, NULL);
    hists[0].closed[0].id = 2; /* as if the database had this one too */
    hists[0].closed[0].start_ms = T0 + 2 * HOUR;
    hists[0].closed[0].end_ms = T0 + 2 * HOUR + 5 * MIN;
    o = call(api_target_handler, "/api/v1/targets/shop", 200);
    inc = json_object_get(o, "incidents");
    assert_true(json_is_null(json_object_get(inc, "open")));
    assert_int_equal(json_array_size(json_object_get(inc, "recent")), 1);
    json_decref(o);

    view.histdb = fake_db;
    view.incidents = fake_incidents;
    view.rows_free = fake_rows_free;
    o = call(api_target_handler, "/api/v1/targets/shop", 200);
    assert_string_equal(asked.target, "shop");
    inc = json_object_get(o, "incidents");
    json_t *r = json_object_get(inc, "recent");
    assert_int_equal(json_array_size(r), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(r, 0), "id")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(r, 1), "id")), 901);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(r, 0), "duration_s")), 300);
    json_decref(o);

    o = call(api_target_handler, "/api/v1/targets/nope", 404);
    assert_string_equal(str(o, "error"), "no such target");
    json_decref(o);
    o = call(api_target_handler, "/api/v1/targets/a%2Fb", 200);
    assert_string_equal(str(o, "target"), "a/b");
    json_decref(o);
}

/* A window that holds now, the next to come, or none at all. */
static void maintenance(void **state)
{
    char err[256];
    struct window ws[2] = {
        {.name = (char *)"deploy",
         .comment = (char *)"release 4.2",
         .from = (char *)"2024-03-09T23:00:00Z",
         .until = (char *)"2024-03-10T01:00:00Z"},
        {.from = (char *)"2024-03-10T04:00:00+02:00", .until = (char *)"2024-03-10T05:00:00+02:00"},
    };
    (void)state;

    for (int i = 0; i < 2; i++)
        assert_int_equal(window_finish(&ws[i], err, sizeof(err)), 0);
    confs[0].windows = ws;
    confs[0].nwindows = 2;

    json_t *o = call(api_target_handler, "/api/v1/targets/shop", 200);
    json_t *m = json_object_get(o, "maintenance");
    json_t *held = json_object_get(m, "now"), *next = json_object_get(m, "next");
    assert_string_equal(str(held, "window"), "deploy");
    assert_string_equal(str(held, "comment"), "release 4.2");
    assert_string_equal(str(held, "from"), "2024-03-09T23:00:00.000Z");
    assert_string_equal(str(held, "until"), "2024-03-10T01:00:00.000Z");
    assert_true(json_is_null(json_object_get(next, "window")));
    assert_string_equal(str(next, "from"), "2024-03-10T02:00:00.000Z");
    json_decref(o);

    now = T0 + 2 * HOUR + 30 * MIN; /* after the first, inside the second */
    o = call(api_target_handler, "/api/v1/targets/shop", 200);
    m = json_object_get(o, "maintenance");
    assert_string_equal(str(json_object_get(m, "now"), "until"), "2024-03-10T03:00:00.000Z");
    assert_true(json_is_null(json_object_get(m, "next")));
    json_decref(o);

    now = T0 + 4 * HOUR; /* both over */
    o = call(api_target_handler, "/api/v1/targets/shop", 200);
    m = json_object_get(o, "maintenance");
    assert_true(json_is_null(json_object_get(m, "now")) &&
                json_is_null(json_object_get(m, "next")));
    json_decref(o);

    o = call(api_target_handler, "/api/v1/targets/fresh", 200); /* no windows */
    assert_true(json_is_null(json_object_get(o, "maintenance")));
    json_decref(o);
    confs[0].windows = NULL;
    confs[0].nwindows = 0;
}

static void incidents(void **state)
{
    (void)state;
    now += 10 * SEC;
    probe(1, 500, PERR_NONE, 10, NULL);
    now += 10 * SEC;
    probe(1, 200, PERR_NONE, 10, NULL);
    now += 10 * SEC;
    probe(1, 0, PERR_TIMEOUT, 5000, "timed out");
    now += 10 * SEC;

    json_t *o = call(api_incidents_handler, "/api/v1/incidents", 200);
    json_t *open = json_object_get(o, "open"), *recent = json_object_get(o, "recent");
    assert_int_equal(json_array_size(open), 1);
    assert_string_equal(str(json_array_get(open, 0), "target"), "a/b");
    json_t *errors = json_object_get(json_array_get(open, 0), "errors");
    assert_string_equal(json_string_value(json_array_get(errors, 0)), "timeout");
    assert_int_equal(json_array_size(recent), 1);
    assert_int_equal(
        json_integer_value(json_array_get(json_object_get(json_array_get(recent, 0), "codes"), 0)),
        500);
    json_decref(o);

    view.histdb = fake_db;
    view.incidents = fake_incidents;
    view.rows_free = fake_rows_free;
    o = call(api_incidents_handler, "/api/v1/incidents?limit=2", 200);
    assert_string_equal(asked.target, "(all)");
    assert_int_equal(asked.limit, 2 + 1); /* one more for the open one, which is left out */
    recent = json_object_get(o, "recent");
    assert_int_equal(json_array_size(recent), 2);
    assert_string_equal(str(json_array_get(recent, 0), "target"), "shop"); /* at T0 + 2 h */
    assert_string_equal(str(json_array_get(recent, 1), "target"), "a/b");
    json_decref(o);

    o = call(api_incidents_handler, "/api/v1/incidents?before=2024-03-09T12:00:00Z", 200);
    assert_int_equal(asked.before, T0 - 12 * HOUR);
    assert_int_equal(json_array_size(json_object_get(o, "open")), 0);
    recent = json_object_get(o, "recent");
    assert_int_equal(json_array_size(recent), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(recent, 0), "id")), 900);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(recent, 1), "id")), 901);
    json_decref(o);

    const char *bad[] = {"limit=0",
                         "limit=1001",
                         "limit=x",
                         "limit=",
                         "limit=-1",
                         "before=yesterday",
                         "before=2024-13-01T00:00:00Z"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char t[128];
        snprintf(t, sizeof(t), "/api/v1/incidents?%s", bad[i]);
        o = call(api_incidents_handler, t, 400);
        assert_non_null(json_object_get(o, "error"));
        json_decref(o);
    }
}

static void uptime_series(void **state)
{
    (void)state;
    now = T0 + 30 * MIN + 5 * SEC;
    probe(0, 200, PERR_NONE, 10, NULL); /* in the minute under way */
    probe(0, 503, PERR_NONE, 30, NULL);

    json_t *o = call(api_uptime_handler, "/api/v1/targets/shop/uptime", 503);
    assert_string_equal(str(o, "error"), "history is off");
    json_decref(o);

    view.histdb = fake_db;
    view.series = fake_series;
    o = call(api_uptime_handler, "/api/v1/targets/shop/uptime", 200);
    assert_string_equal(asked.target, "shop");
    assert_int_equal(asked.to, now);
    assert_int_equal(asked.from, now - DAY - 5 * SEC); /* on the minute */
    assert_int_equal(asked.step, HOUR);
    assert_int_equal(json_integer_value(json_object_get(o, "step_s")), 3600);
    json_t *points = json_object_get(o, "points");
    assert_int_equal(json_array_size(points), 25); /* the last 5 s long */
    json_t *p0 = json_array_get(points, 0), *p2 = json_array_get(points, 2);
    assert_true(json_real_value(json_object_get(p0, "uptime")) == 1.0);
    assert_true(json_real_value(json_object_get(p0, "latency_avg_ms")) == 20.0);
    assert_true(json_real_value(json_object_get(p0, "latency_max_ms")) == 40.0);
    assert_string_equal(str(p0, "worst"), "up");
    assert_true(json_is_null(json_object_get(p2, "uptime")));
    assert_true(json_is_null(json_object_get(p2, "worst")));
    /* The last step holds the minute under way too: its 2 probes, one
     * failed, beside the database's 10 that did not. */
    json_t *last = json_array_get(points, 24);
    assert_int_equal(json_integer_value(json_object_get(last, "probes")), 12);
    assert_int_equal(json_integer_value(json_object_get(last, "failures")), 1);
    assert_string_equal(str(last, "worst"), "server_error");
    json_decref(o);

    o = call(api_uptime_handler,
             "/api/v1/targets/shop/uptime?from=2024-03-01T00:00:00%2B01:00&to=1709251200&step=1d",
             200);
    assert_int_equal(asked.from, 1709247600000LL);
    assert_int_equal(asked.to, 1709251200000LL);
    assert_int_equal(asked.step, DAY);
    assert_int_equal(json_array_size(json_object_get(o, "points")), 1);
    json_decref(o);

    const char *bad[] = {
        "from=x",
        "to=2024-02-30T00:00:00Z",
        "step=1s",
        "step=90s",
        "step=1",
        "step=-1h",
        "from=1709251200&to=1709251200",
        "from=1709251200&to=1709164800",
        "from=0&step=1m", /* 28 years by the minute */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char t[128];
        snprintf(t, sizeof(t), "/api/v1/targets/shop/uptime?%s", bad[i]);
        asked.calls = 0;
        o = call(api_uptime_handler, t, 400);
        assert_non_null(json_object_get(o, "error"));
        assert_int_equal(asked.calls, 0);
        json_decref(o);
    }
    o = call(api_uptime_handler, "/api/v1/targets/nope/uptime", 404);
    json_decref(o);
    asked.fail = true;
    o = call(api_uptime_handler, "/api/v1/targets/shop/uptime", 500);
    json_decref(o);
}

static void healthz(void **state)
{
    struct hreply rp = {.status = 200};
    struct hrequest rq = {.path = "/healthz", .tail = "", .accept = ""};
    (void)state;

    healthz_handler(&view, &rq, &rp);
    assert_int_equal(rp.status, 200);
    assert_string_equal(rp.body.data, "ok\n");
    buf_free(&rp.body);
    rp.status = 200;
    view.healthy = false;
    healthz_handler(&view, &rq, &rp);
    assert_int_equal(rp.status, 503);
    assert_string_equal(rp.body.data, "probes have stopped completing\n");
    buf_free(&rp.body);
}

static void times(void **state)
{
    int64_t ms;
    (void)state;

    assert_int_equal(report_parse_time("0", &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(report_parse_time("1710028800", &ms), 0);
    assert_int_equal(ms, T0);
    assert_int_equal(report_parse_time("2024-03-10T00:00:00Z", &ms), 0);
    assert_int_equal(ms, T0);
    assert_int_equal(report_parse_time("2024-03-10t00:00:00z", &ms), 0);
    assert_int_equal(ms, T0);
    assert_int_equal(report_parse_time("2024-03-10 00:00:00Z", &ms), 0);
    assert_int_equal(ms, T0);
    assert_int_equal(report_parse_time("2024-03-10T02:30:00+02:30", &ms), 0);
    assert_int_equal(ms, T0);
    assert_int_equal(report_parse_time("2024-03-09T23:00:00.25-01:00", &ms), 0);
    assert_int_equal(ms, T0 + 250);
    assert_int_equal(report_parse_time("2024-03-10T00:00:00.123456789Z", &ms), 0);
    assert_int_equal(ms, T0 + 123);
    assert_int_equal(report_parse_time("2024-02-29T00:00:00Z", &ms), 0);

    const char *bad[] = {
        "",
        "-1",
        "1e9",
        "999999999999",
        "2024-03-10",
        "2024-03-10T00:00:00",
        "2024-03-10T00:00Z",
        "2024-03-10T00:00:00+0200",
        "2024-03-10T00:00:00+02:00x",
        "2024-03-10T00:00:00.Z",
        "2024-03-10T24:00:00Z",
        "2024-03-10T00:60:00Z",
        "2024-03-32T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "2024-00-10T00:00:00Z",
        "1969-12-31T23:59:59Z",
        "1970-01-01T00:30:00+01:00",
        "2024-03-10T00:00:00+24:00",
        "x024-03-10T00:00:00Z",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (report_parse_time(bad[i], &ms) == 0)
            fail_msg("\"%s\" was taken", bad[i]);
}

/* The table of --once and upmonctl status, from report_json's objects. */
static void table(void **state)
{
    struct buf out = {0};
    (void)state;

    now = T0;
    probe(0, 200, PERR_NONE, 12, NULL);
    probe(1, 0, PERR_CONNECT, 1, "Failed to connect");
    json_t *rows = json_array();
    json_array_append_new(rows, report_json(&confs[0], &last_r[0], &last_v[0]));
    json_array_append_new(rows, report_json(&confs[1], &last_r[1], &last_v[1]));
    struct probe_result r;
    struct verdict v = {.state = ST_REDIRECTING, .severity = SEV_WARNING, .cls = CLASS_REDIRECTION};
    probe_result_init(&r);
    r.code = 399;
    snprintf(r.location, sizeof(r.location), "http://x/\x1b[2Jred");
    json_array_append_new(rows, report_json(&confs[2], &r, &v));
    r.location[0] = '\0';
    json_array_append_new(rows, report_json(&confs[2], &r, &v));

    report_table(&out, rows, 0, 0);
    assert_string_equal(
        out.data, "TARGET  STATE         SEVERITY  CODE    LATENCY  DETAIL\n"
                  "shop    up            ok         200    12.0 ms  OK\n"
                  "a/b     connect       critical     -     1.0 ms  Failed to connect\n"
                  "fresh   redirecting   warning    399          -   -> http://x/\\x1b[2Jred\n"
                  "fresh   redirecting   warning    399          -  (unregistered "
                  "redirection)\n");
    buf_free(&out);
    json_decref(rows);

    /* Live: the API's objects, for how long and the uptime; in colour. */
    now = T0 + HOUR + 2 * MIN + 3 * SEC;
    view.now_ms = now;
    rows = json_array();
    json_array_append_new(rows, api_target_json(&view, &vts[0]));
    json_array_append_new(rows, api_target_json(&view, &vts[2]));
    report_table(&out, rows, REPORT_LIVE, now);
    assert_string_equal(out.data, "TARGET  STATE         FOR       SEVERITY  CODE    LATENCY   "
                                  "UPTIME  DETAIL\n"
                                  "shop    up            1h2m3s    ok         200    12.0 ms  "
                                  "100.00%  OK\n"
                                  "fresh   unknown       -         -            -          -  "
                                  "      -  \n");
    buf_free(&out);
    report_table(&out, rows, REPORT_LIVE, T0 + 999);
    assert_non_null(strstr(out.data, "shop    up            0s        ok"));
    buf_free(&out);
    report_table(&out, rows, REPORT_LIVE | REPORT_COLOR, now);
    assert_non_null(strstr(out.data, "shop    \033[32mup\033[0m            1h2m3s    "
                                     "\033[32mok\033[0m         200"));
    buf_free(&out);
    json_decref(rows);
}

/* /api/v1/targets all at once: its start and one step without bound. */
static char *targets_whole(const struct view *v)
{
    struct buf b = {0};
    size_t next = 0;

    assert_int_equal(api_targets_start(v, &b), 0);
    assert_false(api_targets_step(v, &next, &b, SIZE_MAX));
    return b.data;
}

/* Made in steps of any size, the list is the one made at once, each step
 * but the last ending after a whole target. */
static void targets_in_steps(void **state)
{
    static const size_t sizes[] = {0, 1, 2, 500, 4096, SIZE_MAX};
    (void)state;

    probe(0, 200, PERR_NONE, 20, NULL);
    probe(1, 0, PERR_DNS, 3, "Could not resolve host");
    view.now_ms = now += SEC;
    for (size_t n = 0; n <= NT; n++) {
        view.ntargets = n;
        char *whole = targets_whole(&view);
        for (size_t k = 0; k < ARRAY_SIZE(sizes); k++) {
            struct buf b = {0};
            size_t next = 0, steps = 0, from;
            bool more;
            assert_int_equal(api_targets_start(&view, &b), 0);
            do {
                from = b.len;
                more = api_targets_step(&view, &next, &b, sizes[k]);
                steps++;
                assert_true(b.len > from);
                if (more)
                    assert_int_equal(b.data[b.len - 1], '}');
            } while (more);
            assert_string_equal(b.data, whole);
            /* One per target when each is one, and one to close. */
            if (sizes[k] <= 1)
                assert_int_equal(steps, n + 1);
            if (sizes[k] == SIZE_MAX)
                assert_int_equal(steps, 1);
            buf_free(&b);
        }
        free(whole);
    }
}

/* A long list is left in steps by the handler; the later ones, made from
 * later views, keep the time of the first (the uptimes are as of then). */
static void targets_handler_in_steps(void **state)
{
    enum { N = 300 };
    struct view_target many[N];
    struct hrequest rq = {.path = "/api/v1/targets", .tail = "", .accept = ""};
    struct hreply rp = {.status = 200};
    (void)state;

    probe(0, 200, PERR_NONE, 20, NULL);
    now += HOUR;
    probe(0, 503, PERR_NONE, 20, NULL);
    for (size_t i = 0; i < N; i++)
        many[i] = vts[i % NT];
    view.targets = many;
    view.ntargets = N;
    view.now_ms = now;
    char *whole = targets_whole(&view);
    assert_true(strlen(whole) > 2 * API_STEP_BYTES);
    api_targets_handler(&view, &rq, &rp);
    assert_non_null(rp.more);
    assert_string_equal(rp.content_type, "application/json");
    assert_true(rp.body.len >= API_STEP_BYTES && rp.body.len < strlen(whole));
    view.now_ms += 10 * DAY;
    hreply_finish(&view, &rp);
    assert_null(rp.more);
    assert_string_equal(rp.body.data, whole);
    json_error_t je;
    json_t *o = json_loads(rp.body.data, 0, &je);
    assert_non_null(o);
    assert_int_equal(json_array_size(json_object_get(o, "targets")), N);
    json_decref(o);
    buf_free(&rp.body);
    free(whole);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(target_is_once_json, setup, teardown),
        cmocka_unit_test_setup_teardown(targets_list, setup, teardown),
        cmocka_unit_test_setup_teardown(targets_in_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(targets_handler_in_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(one_target, setup, teardown),
        cmocka_unit_test_setup_teardown(incidents, setup, teardown),
        cmocka_unit_test_setup_teardown(maintenance, setup, teardown),
        cmocka_unit_test_setup_teardown(uptime_series, setup, teardown),
        cmocka_unit_test_setup_teardown(healthz, setup, teardown),
        cmocka_unit_test(times),
        cmocka_unit_test_setup_teardown(table, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
