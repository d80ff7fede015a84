/* Alertmanager bodies: the alerts pushed to /api/v2/alerts, what is kept
 * of them between events and re-sends, the endsAt of a late attempt, and
 * the endpoint. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "payload_am.h"

#define TTL 240000 /* four times a resend_every of 1m */

static struct kv labels[] = {{"team", "web", false},
                             {"severity", "low", false},
                             {"alertname", "mine", false},
                             {"empty", "", false}};

static struct target_conf target(void)
{
    struct target_conf t;
    memset(&t, 0, sizeof(t));
    t.name = "homepage";
    t.url = t.shown_url = "https://example.com/";
    t.method = "GET";
    t.labels = labels;
    t.nlabels = 4;
    return t;
}

static const struct am_site site = {"mon1", "https://status.example.com/", NULL};
static const struct am_site bare = {"mon1", NULL, NULL};

static struct alert down(void)
{
    struct alert a;
    memset(&a, 0, sizeof(a));
    a.type = EVT_DOWN;
    a.state = ST_SERVER_ERROR;
    a.previous = PREV_UP;
    a.severity = SEV_CRITICAL;
    a.filter_severity = SEV_CRITICAL;
    a.time_ms = 1614265330000;  /* 2021-02-25T15:02:10Z */
    a.since_ms = 1614265320000; /* 2021-02-25T15:02:00Z */
    a.duration_ms = 10000;
    a.code = 503;
    a.cls = CLASS_SERVER_ERROR;
    a.latency_us = 12345;
    return a;
}

static struct alert recovered(int64_t time_ms, enum alert_previous was, enum severity of)
{
    struct alert a = down();
    a.type = EVT_RECOVERED;
    a.state = ST_UP;
    a.previous = was;
    a.severity = SEV_OK;
    a.filter_severity = of;
    a.time_ms = time_ms;
    a.code = 200;
    a.cls = CLASS_SUCCESS;
    return a;
}

static json_t *parse(char *body)
{
    assert_non_null(body);
    json_t *o = json_loads(body, 0, NULL);
    free(body);
    assert_true(json_is_array(o));
    return o;
}

static const char *str(json_t *o, const char *path1, const char *path2)
{
    json_t *v = json_object_get(o, path1);
    if (path2)
        v = json_object_get(v, path2);
    return json_string_value(v);
}

/* The alert of the list with that alertname and severity, or NULL. */
static json_t *find(json_t *list, const char *name, const char *sev)
{
    size_t i;
    json_t *a;
    json_array_foreach(list, i, a)
    {
        if (strcmp(str(a, "labels", "alertname"), name) == 0 &&
            strcmp(str(a, "labels", "severity"), sev) == 0)
            return a;
    }
    return NULL;
}

static void firing_alert(void **state)
{
    (void)state;
    struct target_conf t = target();
    struct alert a = down();
    struct am_sent s = {0};
    json_t *list = parse(am_event_body(&s, &a, &t, &site, TTL));

    assert_int_equal(json_array_size(list), 1);
    json_t *x = json_array_get(list, 0);
    assert_string_equal(str(x, "labels", "alertname"), "UpmonTargetDown");
    assert_string_equal(str(x, "labels", "target"), "homepage");
    assert_string_equal(str(x, "labels", "severity"), "critical");
    assert_string_equal(str(x, "labels", "instance"), "https://example.com/");
    assert_string_equal(str(x, "labels", "monitor"), "mon1");
    assert_string_equal(str(x, "labels", "team"), "web");
    /* The target's own severity and alertname do not replace upmond's:
     * they go as exported_, as Prometheus renames them; an empty one is
     * no label. */
    assert_string_equal(str(x, "labels", "exported_severity"), "low");
    assert_string_equal(str(x, "labels", "exported_alertname"), "mine");
    assert_null(json_object_get(json_object_get(x, "labels"), "empty"));
    assert_int_equal(json_object_size(json_object_get(x, "labels")), 8);
    /* The push format has no status, fingerprint nor receiver:
     * Alertmanager's PostableAlert. */
    assert_null(json_object_get(x, "status"));
    assert_null(json_object_get(x, "fingerprint"));
    assert_string_equal(str(x, "startsAt", NULL), "2021-02-25T15:02:00.000Z");
    assert_string_equal(str(x, "endsAt", NULL), "2021-02-25T15:06:10.000Z");
    assert_string_equal(str(x, "generatorURL", NULL), "https://status.example.com/");
    assert_string_equal(str(x, "annotations", "summary"),
                        "homepage is down: 503 Service Unavailable (https://example.com/)");
    assert_string_equal(str(x, "annotations", "description"), "503 Service Unavailable");
    assert_string_equal(str(x, "annotations", "code"), "503");
    assert_string_equal(str(x, "annotations", "phrase"), "Service Unavailable");
    assert_non_null(str(x, "annotations", "meaning"));
    assert_true(strlen(str(x, "annotations", "meaning")) > 10);
    assert_string_equal(str(x, "annotations", "url"), "https://example.com/");
    assert_null(json_object_get(json_object_get(x, "annotations"), "redirect_location"));
    assert_int_equal(am_sent_firing(&s), 1u << AM_DOWN);
    json_decref(list);

    /* Without an external URL, no generatorURL. */
    struct am_sent s2 = {0};
    list = parse(am_event_body(&s2, &a, &t, &bare, TTL));
    assert_null(json_object_get(json_array_get(list, 0), "generatorURL"));
    assert_null(json_object_get(json_object_get(json_array_get(list, 0), "labels"), "location"));
    json_decref(list);

    /* An instance with a location: a label of its own, which a target's
     * label of that name does not replace. */
    struct am_site located = {"mon1", NULL, "fra1"};
    struct kv more[5];
    memcpy(more, t.labels, sizeof(*more) * t.nlabels);
    more[t.nlabels] = (struct kv){(char *)"location", (char *)"rack 4", false};
    t.labels = more;
    t.nlabels++;
    struct am_sent s3 = {0};
    list = parse(am_event_body(&s3, &a, &t, &located, TTL));
    x = json_array_get(list, 0);
    assert_string_equal(str(x, "labels", "location"), "fra1");
    assert_string_equal(str(x, "labels", "exported_location"), "rack 4");
    json_decref(list);
}

static void recovery_resolves_what_fired(void **state)
{
    (void)state;
    struct target_conf t = target();
    struct alert a = down();
    struct am_sent s = {0};
    json_decref(parse(am_event_body(&s, &a, &t, &site, TTL)));

    /* A reminder fires on: the same alert, from when it began. */
    struct alert r = down();
    r.type = EVT_REMINDER;
    r.time_ms += 60000;
    json_t *list = parse(am_event_body(&s, &r, &t, &site, TTL));
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(str(json_array_get(list, 0), "startsAt", NULL), "2021-02-25T15:02:00.000Z");
    assert_string_equal(str(json_array_get(list, 0), "endsAt", NULL), "2021-02-25T15:07:10.000Z");
    json_decref(list);

    /* 503 (critical) becomes 404 (warning): another severity is another
     * alert to Alertmanager, so the critical one ends as the warning one
     * fires, from when the outage began. */
    struct alert c = down();
    c.type = EVT_CHANGED;
    c.state = ST_CLIENT_ERROR;
    c.previous = PREV_SERVER_ERROR;
    c.code = 404;
    c.severity = c.filter_severity = SEV_WARNING;
    c.time_ms += 120000;
    list = parse(am_event_body(&s, &c, &t, &site, TTL));
    assert_int_equal(json_array_size(list), 2);
    json_t *old = find(list, "UpmonTargetDown", "critical");
    json_t *now = find(list, "UpmonTargetDown", "warning");
    assert_non_null(old);
    assert_non_null(now);
    assert_string_equal(str(old, "endsAt", NULL), "2021-02-25T15:04:10.000Z");
    assert_string_equal(str(now, "startsAt", NULL), "2021-02-25T15:02:00.000Z");
    assert_string_equal(str(now, "endsAt", NULL), "2021-02-25T15:08:10.000Z");
    json_decref(list);

    /* The recovery resolves it under the labels it fired with (the
     * warning), endsAt now, whatever severity the recovery names. */
    struct alert up = recovered(1614265630000, PREV_CLIENT_ERROR, SEV_CRITICAL);
    list = parse(am_event_body(&s, &up, &t, &site, TTL));
    assert_int_equal(json_array_size(list), 1);
    json_t *x = find(list, "UpmonTargetDown", "warning");
    assert_non_null(x);
    assert_string_equal(str(x, "endsAt", NULL), "2021-02-25T15:07:10.000Z");
    assert_string_equal(str(x, "startsAt", NULL), "2021-02-25T15:02:00.000Z");
    assert_string_equal(str(x, "annotations", "event"), "recovered");
    assert_int_equal(am_sent_firing(&s), 0);
    json_decref(list);

    /* Recovered again: nothing is firing, nothing to say. */
    assert_null(am_event_body(&s, &up, &t, &site, TTL));
}

static void redirect_then_outage(void **state)
{
    (void)state;
    struct target_conf t = target();
    struct am_sent s = {0};
    struct alert rd = down();
    rd.type = EVT_REDIRECT;
    rd.state = ST_REDIRECTING;
    rd.code = 301;
    rd.cls = CLASS_REDIRECTION;
    rd.severity = rd.filter_severity = SEV_WARNING;
    snprintf(rd.location, sizeof(rd.location), "https://example.net/");
    json_t *list = parse(am_event_body(&s, &rd, &t, &site, TTL));
    json_t *x = find(list, "UpmonTargetRedirecting", "warning");
    assert_non_null(x);
    assert_string_equal(str(x, "annotations", "redirect_location"), "https://example.net/");
    json_decref(list);

    /* It becomes an outage: the redirect ends, the outage fires, in one
     * body (one target: its order holds). */
    struct alert worse = down();
    worse.previous = PREV_REDIRECTING;
    worse.time_ms += 60000;
    list = parse(am_event_body(&s, &worse, &t, &site, TTL));
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(str(find(list, "UpmonTargetRedirecting", "warning"), "endsAt", NULL),
                        "2021-02-25T15:03:10.000Z");
    assert_non_null(find(list, "UpmonTargetDown", "critical"));
    assert_int_equal(am_sent_firing(&s), 1u << AM_DOWN);
    json_decref(list);

    /* A certificate warning and flapping fire beside it; a slow spell
     * fires and ends on its own. */
    struct alert cert = down();
    cert.type = EVT_CERT_EXPIRING;
    cert.severity = SEV_WARNING;
    cert.cert_not_after = 1614865330;
    snprintf(cert.cert_subject, sizeof(cert.cert_subject), "CN=example.com");
    list = parse(am_event_body(&s, &cert, &t, &site, TTL));
    assert_int_equal(json_array_size(list), 1);
    x = find(list, "UpmonCertificateExpiring", "warning");
    assert_string_equal(str(x, "annotations", "cert_subject"), "CN=example.com");
    assert_string_equal(str(x, "startsAt", NULL), "2021-02-25T15:02:10.000Z");
    json_decref(list);
    assert_int_equal(am_sent_firing(&s), (1u << AM_DOWN) | (1u << AM_CERT));

    struct am_sent q = {0};
    struct alert slow = down();
    slow.type = EVT_SLOW;
    slow.state = ST_UP;
    slow.severity = SEV_WARNING;
    json_decref(parse(am_event_body(&q, &slow, &t, &site, TTL)));
    assert_int_equal(am_sent_firing(&q), 1u << AM_SLOW);
    struct alert fast = recovered(slow.time_ms + 1000, PREV_SLOW, SEV_WARNING);
    list = parse(am_event_body(&q, &fast, &t, &site, TTL));
    assert_non_null(find(list, "UpmonTargetSlow", "warning"));
    assert_int_equal(am_sent_firing(&q), 0);
    json_decref(list);
}

static void resend(void **state)
{
    (void)state;
    struct target_conf t = target();
    struct am_told told = {ST_SERVER_ERROR, SEV_CRITICAL, 1614265320000, false, false, true};
    struct am_sent s;
    struct alert base = down();
    int64_t now = 1614265930000; /* 2021-02-25T15:12:10Z */

    assert_int_equal(am_told_firing(&told), (1u << AM_DOWN) | (1u << AM_CERT));
    /* After a restart: from the stored state. */
    am_seed(&s, &told, now - 1000);
    assert_true(s.known);
    assert_int_equal(am_sent_firing(&s), (1u << AM_DOWN) | (1u << AM_CERT));
    json_t *list = parse(am_resend_body(&s, &told, &base, &t, &site, now, TTL));
    assert_int_equal(json_array_size(list), 2);
    json_t *x = find(list, "UpmonTargetDown", "critical");
    assert_string_equal(str(x, "startsAt", NULL), "2021-02-25T15:02:00.000Z");
    assert_string_equal(str(x, "endsAt", NULL), "2021-02-25T15:16:10.000Z");
    assert_string_equal(str(x, "annotations", "summary"),
                        "homepage is still down after 10m10s: 503 Service Unavailable "
                        "(https://example.com/)");
    x = find(list, "UpmonCertificateExpiring", "warning");
    assert_string_equal(str(x, "startsAt", NULL), "2021-02-25T15:12:09.000Z");
    json_decref(list);

    /* The certificate was renewed (no event says so): the re-send ends
     * it. The outage goes on. */
    told.cert = false;
    list = parse(am_resend_body(&s, &told, &base, &t, &site, now + 60000, TTL));
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(str(find(list, "UpmonCertificateExpiring", "warning"), "endsAt", NULL),
                        "2021-02-25T15:13:10.000Z");
    assert_string_equal(str(find(list, "UpmonTargetDown", "critical"), "endsAt", NULL),
                        "2021-02-25T15:17:10.000Z");
    assert_int_equal(am_sent_firing(&s), 1u << AM_DOWN);
    json_decref(list);

    /* Told up (a recovery this webhook did not take): ended once, then
     * nothing. */
    told.state = ST_UP;
    list = parse(am_resend_body(&s, &told, &base, &t, &site, now + 120000, TTL));
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
    assert_null(am_resend_body(&s, &told, &base, &t, &site, now + 180000, TTL));

    /* Up, slow and flapping as told. */
    struct am_told f = {ST_UP, SEV_OK, 1, true, true, false};
    assert_int_equal(am_told_firing(&f), (1u << AM_SLOW) | (1u << AM_FLAPPING));
    f.state = ST_REDIRECTING; /* only up is slow */
    assert_int_equal(am_told_firing(&f), (1u << AM_REDIRECTING) | (1u << AM_FLAPPING));
}

static void assumed_before(void **state)
{
    (void)state;
    struct target_conf t = target();
    struct am_sent s;
    /* With no record, a recovery resolves what it says it ends. */
    struct alert up = recovered(1614265630000, PREV_SERVER_ERROR, SEV_CRITICAL);
    am_assume_previous(&s, &up);
    json_t *list = parse(am_event_body(&s, &up, &t, &site, TTL));
    json_t *x = find(list, "UpmonTargetDown", "critical");
    assert_non_null(x);
    assert_string_equal(str(x, "startsAt", NULL), "2021-02-25T15:02:00.000Z");
    json_decref(list);
    /* From up, nothing was firing. */
    struct alert a = down();
    am_assume_previous(&s, &a);
    assert_int_equal(am_sent_firing(&s), 0);
}

static void late_attempt(void **state)
{
    (void)state;
    struct target_conf t = target();
    struct am_sent s = {0};
    struct alert rd = down();
    rd.type = EVT_REDIRECT;
    rd.state = ST_REDIRECTING;
    rd.severity = SEV_WARNING;
    json_decref(parse(am_event_body(&s, &rd, &t, &site, TTL)));
    struct alert worse = down();
    worse.previous = PREV_REDIRECTING;
    char *body = am_event_body(&s, &worse, &t, &site, TTL);

    /* Sent ten minutes late: the firing alert ends four minutes after the
     * attempt, the resolved one when it ended. */
    json_t *list = parse(am_refresh(body, worse.time_ms, worse.time_ms + 600000, TTL));
    assert_string_equal(str(find(list, "UpmonTargetDown", "critical"), "endsAt", NULL),
                        "2021-02-25T15:16:10.000Z");
    assert_string_equal(str(find(list, "UpmonTargetRedirecting", "warning"), "endsAt", NULL),
                        "2021-02-25T15:02:10.000Z");
    json_decref(list);
    free(body);
    assert_null(am_refresh("{\"version\":\"4\"}", 0, 0, TTL));
    /* The targets a batch carries, each once. */
    char **names;
    size_t n = am_body_targets("[{\"labels\":{\"target\":\"a\"}},{\"labels\":{\"target\":\"b\"}},"
                               "{\"labels\":{\"target\":\"a\"}},{\"labels\":{}}]",
                               &names);
    assert_int_equal(n, 2);
    assert_string_equal(names[0], "a");
    assert_string_equal(names[1], "b");
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    assert_int_equal(am_body_targets("not json", &names), 0);
    free(names);
    assert_null(am_refresh("not json", 0, 0, TTL));
}

static void endpoint(void **state)
{
    (void)state;
    const char *cases[][2] = {
        {"http://127.0.0.1:9093", "http://127.0.0.1:9093/api/v2/alerts"},
        {"http://127.0.0.1:9093/", "http://127.0.0.1:9093/api/v2/alerts"},
        {"https://am.example.com/?x=1", "https://am.example.com/api/v2/alerts?x=1"},
        {"http://host/prefix/api/v2/alerts", "http://host/prefix/api/v2/alerts"},
        {"http://host/prefix/", "http://host/prefix/"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *u = am_endpoint(cases[i][0]);
        assert_string_equal(u, cases[i][1]);
        free(u);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(firing_alert),
        cmocka_unit_test(recovery_resolves_what_fired),
        cmocka_unit_test(redirect_then_outage),
        cmocka_unit_test(resend),
        cmocka_unit_test(assumed_before),
        cmocka_unit_test(late_attempt),
        cmocka_unit_test(endpoint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
