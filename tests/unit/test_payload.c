/* Payload builders against fixed expectations, the Standard Webhooks test
 * vector, and journald fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "payload.h"
#include "payload_am.h"
#include "report.h"
#include "secret.h"

#define FFFD "\xEF\xBF\xBD"

static struct kv labels[] = {{"team", "web", false}, {"tier", "1", false}};

static struct target_conf target(void)
{
    struct target_conf t;
    memset(&t, 0, sizeof(t));
    t.name = "homepage";
    t.url = t.shown_url = "https://example.com/";
    t.method = "GET";
    t.labels = labels;
    t.nlabels = 2;
    return t;
}

/* A webhook of format f named n, with every other key unset. */
#define HOOK(f, n) (&(struct webhook_conf){.name = (n), .format = (f)})

static struct alert down(void)
{
    struct alert a;
    memset(&a, 0, sizeof(a));
    a.type = EVT_DOWN;
    a.state = ST_SERVER_ERROR;
    a.previous = PREV_UP;
    a.severity = SEV_CRITICAL;
    a.filter_severity = SEV_CRITICAL;
    a.time_ms = 1614265330000;
    a.since_ms = 1614265320000;
    a.duration_ms = 10000;
    a.code = 503;
    a.cls = CLASS_SERVER_ERROR;
    a.latency_us = 12345;
    return a;
}

static void standard_webhooks_vector(void **state)
{
    (void)state;
    char sig[128];
    const char *body = "{\"test\": 2432232314}";

    assert_int_equal(payload_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                                  "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body, strlen(body),
                                  sig, sizeof(sig)),
                     0);
    assert_string_equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    /* Another timestamp, another signature. */
    assert_int_equal(payload_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                                  "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331, body, strlen(body),
                                  sig, sizeof(sig)),
                     0);
    assert_string_not_equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    /* Not a secret: refused, nothing signed. */
    assert_int_equal(payload_sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "x", 1, body, strlen(body),
                                  sig, sizeof(sig)),
                     -1);
    assert_true(secret_valid("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
    assert_false(secret_valid("whsec_"));
    assert_false(secret_valid("whsec_abc"));
    assert_false(secret_valid("secret"));
}

static void standard_body(void **state)
{
    (void)state;
    struct target_conf t = target();
    struct alert a = down();
    char *body = payload_body(HOOK(WEBHOOK_STANDARD, "ops"), &a, &t, "mon1", NULL);
    json_error_t err;
    json_t *o = json_loads(body, 0, &err);

    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "type")), "upmon.target.down");
    assert_string_equal(json_string_value(json_object_get(o, "timestamp")),
                        "2021-02-25T15:02:10.000Z");
    json_t *d = json_object_get(o, "data");
    assert_string_equal(json_string_value(json_object_get(d, "target")), "homepage");
    assert_string_equal(json_string_value(json_object_get(d, "url")), "https://example.com/");
    assert_string_equal(json_string_value(json_object_get(d, "event")), "down");
    assert_string_equal(json_string_value(json_object_get(d, "state")), "server_error");
    assert_string_equal(json_string_value(json_object_get(d, "previous_state")), "up");
    assert_string_equal(json_string_value(json_object_get(d, "severity")), "critical");
    assert_int_equal(json_integer_value(json_object_get(d, "code")), 503);
    assert_string_equal(json_string_value(json_object_get(d, "phrase")), "Service Unavailable");
    assert_string_equal(json_string_value(json_object_get(d, "class")), "server_error");
    assert_true(json_is_null(json_object_get(d, "location")));
    assert_true(json_is_null(json_object_get(d, "error")));
    assert_true(json_real_value(json_object_get(d, "latency_ms")) == 12.3);
    assert_string_equal(json_string_value(json_object_get(d, "since")), "2021-02-25T15:02:00.000Z");
    assert_string_equal(json_string_value(json_object_get(d, "host")), "mon1");
    assert_string_equal(json_string_value(json_object_get(json_object_get(d, "labels"), "team")),
                        "web");
    assert_string_equal(json_string_value(json_object_get(d, "summary")),
                        "homepage is down: 503 Service Unavailable (https://example.com/)");
    json_decref(o);
    free(body);
}

static json_t *slack_as(const struct webhook_conf *w, const struct alert *a,
                        const struct target_conf *t)
{
    char *body = payload_body(w, a, t, "mon1", NULL);
    json_t *o = json_loads(body, 0, NULL);
    free(body);
    assert_non_null(o);
    return o;
}

static json_t *slack(const struct alert *a, const struct target_conf *t)
{
    return slack_as(HOOK(WEBHOOK_SLACK, "chat"), a, t);
}

static json_t *slack_attachment(json_t *o)
{
    json_t *list = json_object_get(o, "attachments");
    assert_int_equal(json_array_size(list), 1);
    return json_array_get(list, 0);
}

/* The value of the field with that title, or NULL when there is none. */
static const char *slack_field(json_t *o, const char *title)
{
    json_t *fields = json_object_get(slack_attachment(o), "fields");
    size_t i;
    json_t *f;

    json_array_foreach(fields, i, f)
    {
        if (strcmp(json_string_value(json_object_get(f, "title")), title) == 0) {
            assert_true(json_is_boolean(json_object_get(f, "short")));
            return json_string_value(json_object_get(f, "value"));
        }
    }
    return NULL;
}

static void slack_body(void **state)
{
    (void)state;
    struct target_conf t = target();
    struct alert a = down();
    json_t *o = slack(&a, &t);
    const char *summary = "homepage is down: 503 Service Unavailable (https://example.com/)";

    assert_string_equal(json_string_value(json_object_get(o, "text")), summary);
    json_t *att = slack_attachment(o);
    assert_string_equal(json_string_value(json_object_get(att, "fallback")), summary);
    assert_string_equal(json_string_value(json_object_get(att, "color")), "#d50200");
    assert_string_equal(slack_field(o, "Code"), "503 Service Unavailable");
    assert_string_equal(slack_field(o, "Monitor"), "mon1");
    assert_string_equal(slack_field(o, "URL"), "https://example.com/");
    assert_string_equal(slack_field(o, "Labels"), "team=web, tier=1");
    assert_null(slack_field(o, "Error"));
    assert_null(slack_field(o, "Location"));
    /* The order people read them in: the answer first. */
    json_t *fields = json_object_get(att, "fields");
    assert_string_equal(json_string_value(json_object_get(json_array_get(fields, 0), "title")),
                        "Code");
    assert_int_equal(json_object_size(o), 2); /* text and attachments: no username, no icon */
    json_decref(o);

    /* No answer: an error and no code; no labels: no labels field. */
    a.code = 0;
    a.cls = CLASS_TRANSPORT;
    a.error = PERR_CONNECT;
    snprintf(a.message, sizeof(a.message), "Failed to connect to example.com port 443");
    t.nlabels = 0;
    o = slack(&a, &t);
    assert_null(slack_field(o, "Code"));
    assert_string_equal(slack_field(o, "Error"),
                        "connect: Failed to connect to example.com port 443");
    assert_null(slack_field(o, "Labels"));
    json_decref(o);

    /* A redirect: its Location. */
    a = down();
    a.type = EVT_REDIRECT;
    a.state = ST_REDIRECTING;
    a.severity = SEV_WARNING;
    a.code = 301;
    snprintf(a.location, sizeof(a.location), "https://www.example.com/");
    o = slack(&a, &t);
    assert_string_equal(slack_field(o, "Code"), "301 Moved Permanently");
    assert_string_equal(slack_field(o, "Location"), "https://www.example.com/");
    json_decref(o);
}

/* One colour per severity: red for critical, amber for warning, green
 * for a recovery. */
static void slack_colour_per_severity(void **state)
{
    (void)state;
    struct target_conf t = target();
    struct alert a = down();
    static const struct {
        enum event_type type;
        enum severity severity;
        const char *color;
    } want[] = {
        {EVT_DOWN, SEV_CRITICAL, "#d50200"},
        {EVT_REDIRECT, SEV_WARNING, "#e09d00"},
        {EVT_SLOW, SEV_WARNING, "#e09d00"},
        {EVT_RECOVERED, SEV_OK, "#2eb886"},
    };

    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        a.type = want[i].type;
        a.severity = want[i].severity;
        json_t *o = slack(&a, &t);
        assert_string_equal(json_string_value(json_object_get(slack_attachment(o), "color")),
                            want[i].color);
        json_decref(o);
    }
}

/* What Slack would read as markup, from the configuration (the name, the
 * URL) and from the wire (the Location, the error message), goes out as
 * entities; nothing else is touched. */
static void slack_escapes_markup(void **state)
{
    (void)state;
    struct target_conf t = target();
    struct alert a = down();

    static struct kv odd_labels[] = {{"team", "<web> & ops", false}};
    t.name = "a<b>&c";
    t.url = t.shown_url = "https://example.com/?x=1&y=<2>";
    t.labels = odd_labels;
    t.nlabels = 1;
    char *body = payload_body(HOOK(WEBHOOK_SLACK, "chat"), &a, &t, "mon1", NULL);
    json_t *o = json_loads(body, 0, NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "text")),
                        "a&lt;b&gt;&amp;c is down: 503 Service Unavailable "
                        "(https://example.com/?x=1&amp;y=&lt;2&gt;)");
    json_decref(o);
    free(body);

    a.type = EVT_REDIRECT;
    a.code = 302;
    snprintf(a.location, sizeof(a.location), "https://example.net/<@U123>&amp;");
    body = payload_body(HOOK(WEBHOOK_SLACK, "chat"), &a, &t, "mon1", NULL);
    o = json_loads(body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(o, "text")),
                        "a&lt;b&gt;&amp;c redirects: 302 Found -&gt; "
                        "https://example.net/&lt;@U123&gt;&amp;amp;");
    assert_string_equal(slack_field(o, "Location"), "https://example.net/&lt;@U123&gt;&amp;amp;");
    assert_string_equal(slack_field(o, "URL"), "https://example.com/?x=1&amp;y=&lt;2&gt;");
    assert_string_equal(slack_field(o, "Labels"), "team=&lt;web&gt; &amp; ops");
    assert_string_equal(json_string_value(json_object_get(slack_attachment(o), "fallback")),
                        json_string_value(json_object_get(o, "text")));
    json_decref(o);
    free(body);

    a.type = EVT_DOWN;
    a.code = 0;
    a.error = PERR_PROTOCOL;
    snprintf(a.message, sizeof(a.message), "<!channel> \"quoted\" \xc3\xbc");
    body = payload_body(HOOK(WEBHOOK_SLACK, "chat"), &a, &t, "mon1", NULL);
    o = json_loads(body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(o, "text")),
                        "a&lt;b&gt;&amp;c is down: protocol: &lt;!channel&gt; \"quoted\" \xc3\xbc "
                        "(https://example.com/?x=1&amp;y=&lt;2&gt;)");
    json_decref(o);
    free(body);
}

/* username and the icons go out only when set, and only in a slack body. */
static void slack_username_and_icon(void **state)
{
    (void)state;
    struct target_conf t = target();
    struct alert a = down();
    struct webhook_conf w = {.name = "chat", .format = WEBHOOK_SLACK};
    json_t *o;

    w.username = "upmon <mon1>";
    w.icon_url = "https://example.com/upmon.png?a=1&b=2";
    o = slack_as(&w, &a, &t);
    /* Names, not markup: sent as they are. */
    assert_string_equal(json_string_value(json_object_get(o, "username")), "upmon <mon1>");
    assert_string_equal(json_string_value(json_object_get(o, "icon_url")),
                        "https://example.com/upmon.png?a=1&b=2");
    assert_null(json_object_get(o, "icon_emoji"));
    json_decref(o);

    w.username = NULL;
    w.icon_url = NULL;
    w.icon_emoji = ":rotating_light:";
    o = slack_as(&w, &a, &t);
    assert_string_equal(json_string_value(json_object_get(o, "icon_emoji")), ":rotating_light:");
    assert_null(json_object_get(o, "username"));
    assert_null(json_object_get(o, "icon_url"));
    json_decref(o);

    /* Another format carries none of them. */
    w.username = "upmon";
    w.format = WEBHOOK_STANDARD;
    char *body = payload_body(&w, &a, &t, "mon1", NULL);
    assert_null(strstr(body, "username"));
    assert_null(strstr(body, "icon"));
    free(body);
}

static json_t *am(const struct alert *a, const struct target_conf *t)
{
    char *body = payload_body(HOOK(WEBHOOK_ALERTMANAGER_WEBHOOK, "pager"), a, t, "mon1", NULL);
    json_t *o = json_loads(body, 0, NULL);
    free(body);
    assert_non_null(o);
    return o;
}

static void alertmanager_body(void **state)
{
    (void)state;
    struct target_conf t = target();
    struct alert a = down();
    json_t *fire = am(&a, &t);

    assert_string_equal(json_string_value(json_object_get(fire, "version")), "4");
    assert_string_equal(json_string_value(json_object_get(fire, "status")), "firing");
    assert_string_equal(json_string_value(json_object_get(fire, "receiver")), "pager");
    json_t *alert = json_array_get(json_object_get(fire, "alerts"), 0);
    assert_string_equal(json_string_value(json_object_get(alert, "status")), "firing");
    assert_string_equal(json_string_value(json_object_get(alert, "endsAt")),
                        "0001-01-01T00:00:00Z");
    assert_string_equal(json_string_value(json_object_get(alert, "startsAt")),
                        "2021-02-25T15:02:00.000Z");
    json_t *l = json_object_get(alert, "labels");
    assert_string_equal(json_string_value(json_object_get(l, "alertname")), "UpmonTargetDown");
    assert_string_equal(json_string_value(json_object_get(l, "target")), "homepage");
    assert_string_equal(json_string_value(json_object_get(l, "severity")), "critical");
    assert_string_equal(json_string_value(json_object_get(l, "team")), "web");
    const char *fp = json_string_value(json_object_get(alert, "fingerprint"));
    assert_int_equal(strlen(fp), 16);

    /* The recovery resolves the same alert: same fingerprint. */
    struct alert r = down();
    r.type = EVT_RECOVERED;
    r.state = ST_UP;
    r.previous = PREV_SERVER_ERROR;
    r.severity = SEV_OK;
    r.time_ms = 1614265390000;
    json_t *res = am(&r, &t);
    json_t *ralert = json_array_get(json_object_get(res, "alerts"), 0);
    assert_string_equal(json_string_value(json_object_get(res, "status")), "resolved");
    assert_string_equal(json_string_value(json_object_get(ralert, "fingerprint")), fp);
    assert_string_equal(json_string_value(json_object_get(ralert, "endsAt")),
                        "2021-02-25T15:03:10.000Z");
    /* Another target, another fingerprint; a redirect is another alert. */
    struct target_conf t2 = target();
    t2.name = "shop";
    json_t *other = am(&a, &t2);
    assert_string_not_equal(
        json_string_value(
            json_object_get(json_array_get(json_object_get(other, "alerts"), 0), "fingerprint")),
        fp);
    struct alert rd = down();
    rd.type = EVT_REDIRECT;
    json_t *redir = am(&rd, &t);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(redir, "commonLabels"), "alertname")),
        "UpmonTargetRedirecting");
    assert_int_equal(json_array_size(json_object_get(fire, "alerts")), 1);
    /* A redirect that becomes an outage: the outage fires, and the
     * redirect is resolved in a notification of its own, with the
     * redirect's fingerprint: one alert name per notification. */
    struct alert worse = down();
    worse.previous = PREV_REDIRECTING;
    char *bodies[AM_NOTIFICATIONS_MAX];
    assert_int_equal(am_notifications(&worse, &t, "mon1", NULL, "pager", bodies), 2);
    json_t *first = json_loads(bodies[0], 0, NULL), *both = json_loads(bodies[1], 0, NULL);
    free(bodies[0]);
    free(bodies[1]);
    assert_int_equal(json_array_size(json_object_get(first, "alerts")), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(first, "groupLabels"), "alertname")),
        "UpmonTargetDown");
    json_decref(first);
    json_t *list = json_object_get(both, "alerts");
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(json_string_value(json_object_get(both, "status")), "resolved");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(both, "groupLabels"), "alertname")),
        "UpmonTargetRedirecting");
    json_t *gone = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(gone, "status")), "resolved");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(gone, "labels"), "alertname")),
        "UpmonTargetRedirecting");
    assert_string_equal(json_string_value(json_object_get(gone, "fingerprint")),
                        json_string_value(json_object_get(
                            json_array_get(json_object_get(redir, "alerts"), 0), "fingerprint")));
    json_decref(both);
    /* One that supersedes nothing is one notification; an instance's
     * location is a label of its alerts. */
    assert_int_equal(am_notifications(&a, &t, "mon1", "fra1", "pager", bodies), 1);
    json_t *located = json_loads(bodies[0], 0, NULL);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_array_get(json_object_get(located, "alerts"), 0), "labels"),
            "location")),
        "fra1");
    json_decref(located);
    free(bodies[0]);
    json_decref(fire);
    json_decref(res);
    json_decref(other);
    json_decref(redir);
}

static void journal_fields(void **state)
{
    (void)state;
    struct target_conf t = target();
    struct alert a = down();
    char *f[PAYLOAD_JOURNAL_MAX];
    size_t n = payload_journal(&a, &t, "mon1", NULL, f);
    const char *want[] = {
        "MESSAGE=homepage is down: 503 Service Unavailable (https://example.com/)",
        "PRIORITY=2",
        "MESSAGE_ID=fae04c57cc4b4b288cb6f314c58b5cdd",
        "SYSLOG_IDENTIFIER=upmond",
        "UPMON_TARGET=homepage",
        "UPMON_URL=https://example.com/",
        "UPMON_EVENT=down",
        "UPMON_STATE=server_error",
        "UPMON_PREVIOUS_STATE=up",
        "UPMON_SEVERITY=critical",
        "UPMON_CLASS=server_error",
        "UPMON_HOST=mon1",
        "UPMON_DETAIL=503 Service Unavailable",
        "UPMON_CODE=503",
        "UPMON_PHRASE=Service Unavailable",
        "UPMON_LATENCY_MS=12.3",
        "UPMON_SINCE=2021-02-25T15:02:00.000Z",
        "UPMON_LABEL_TEAM=web",
        "UPMON_LABEL_TIER=1",
    };
    assert_int_equal(n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(f[i], want[i]);
        free(f[i]);
    }
}

/* The instance's location, when it has one, beside the host in the
 * standard body, the slack fields and the journal; never mixed with
 * a->location, where a redirect leads. */
static void instance_location(void **state)
{
    (void)state;
    struct target_conf t = target();
    struct alert a = down();
    char *f[PAYLOAD_JOURNAL_MAX];

    char *body = payload_body(HOOK(WEBHOOK_STANDARD, "ops"), &a, &t, "mon1", NULL);
    json_t *o = json_loads(body, 0, NULL);
    json_t *d = json_object_get(o, "data");
    assert_true(json_is_null(json_object_get(d, "instance_location")));
    json_decref(o);
    free(body);

    snprintf(a.location, sizeof(a.location), "https://example.net/");
    body = payload_body(HOOK(WEBHOOK_STANDARD, "ops"), &a, &t, "mon1", "fra1");
    o = json_loads(body, 0, NULL);
    d = json_object_get(o, "data");
    assert_string_equal(json_string_value(json_object_get(d, "instance_location")), "fra1");
    assert_string_equal(json_string_value(json_object_get(d, "location")), "https://example.net/");
    json_decref(o);
    free(body);

    body = payload_body(HOOK(WEBHOOK_SLACK, "chat"), &a, &t, "mon1", "fra<1>");
    o = json_loads(body, 0, NULL);
    assert_string_equal(slack_field(o, "Monitor"), "mon1");
    assert_string_equal(slack_field(o, "Monitor location"), "fra&lt;1&gt;");
    json_decref(o);
    free(body);
    body = payload_body(HOOK(WEBHOOK_SLACK, "chat"), &a, &t, "mon1", NULL);
    o = json_loads(body, 0, NULL);
    assert_null(slack_field(o, "Monitor location"));
    json_decref(o);
    free(body);

    size_t n = payload_journal(&a, &t, "mon1", "fra1", f), found = 0;
    for (size_t i = 0; i < n; i++) {
        found += strcmp(f[i], "UPMON_INSTANCE_LOCATION=fra1") == 0;
        free(f[i]);
    }
    assert_int_equal(found, 1);
    n = payload_journal(&a, &t, "mon1", NULL, f);
    for (size_t i = 0; i < n; i++) {
        assert_null(strstr(f[i], "UPMON_INSTANCE_LOCATION"));
        free(f[i]);
    }
}

/* A certificate near its end: every sink says which one and when. */
static void cert_expiring_says_which_certificate(void **state)
{
    (void)state;
    struct target_conf t = target();
    struct alert a = down();
    const char *subject = "CN=R3,O=Let's Encrypt,C=US";
    const char *issuer = "CN=ISRG Root X1,O=Internet Security Research Group,C=US";

    a.type = EVT_CERT_EXPIRING;
    a.state = ST_UP;
    a.severity = a.filter_severity = SEV_WARNING;
    a.code = 200;
    a.cls = CLASS_SUCCESS;
    a.cert_not_after = 1614265330 + 5 * 86400;
    snprintf(a.cert_subject, sizeof(a.cert_subject), "%s", subject);
    snprintf(a.cert_issuer, sizeof(a.cert_issuer), "%s", issuer);

    char *body = payload_body(HOOK(WEBHOOK_STANDARD, "ops"), &a, &t, "mon1", NULL);
    json_t *o = json_loads(body, 0, NULL);
    free(body);
    json_t *d = json_object_get(o, "data");
    assert_string_equal(json_string_value(json_object_get(d, "cert_expires")),
                        "2021-03-02T15:02:10.000Z");
    assert_string_equal(json_string_value(json_object_get(d, "cert_subject")), subject);
    assert_string_equal(json_string_value(json_object_get(d, "cert_issuer")), issuer);
    assert_string_equal(json_string_value(json_object_get(d, "summary")),
                        "homepage: the TLS certificate \"CN=R3,O=Let's Encrypt,C=US\" issued by "
                        "\"CN=ISRG Root X1,O=Internet Security Research Group,C=US\" expires in "
                        "5d, at 2021-03-02T15:02:10Z");
    json_decref(o);

    o = slack(&a, &t);
    assert_string_equal(slack_field(o, "Certificate"), subject);
    assert_string_equal(slack_field(o, "Issuer"), issuer);
    assert_string_equal(slack_field(o, "Expires"), "2021-03-02T15:02:10.000Z");
    assert_non_null(strstr(json_string_value(json_object_get(o, "text")), subject));
    json_decref(o);

    o = am(&a, &t);
    json_t *ann = json_object_get(o, "commonAnnotations");
    assert_string_equal(json_string_value(json_object_get(ann, "cert_subject")), subject);
    assert_string_equal(json_string_value(json_object_get(ann, "cert_issuer")), issuer);
    assert_string_equal(json_string_value(json_object_get(ann, "cert_expires")),
                        "2021-03-02T15:02:10.000Z");
    json_decref(o);

    char *f[PAYLOAD_JOURNAL_MAX];
    size_t n = payload_journal(&a, &t, "mon1", NULL, f);
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        seen += strcmp(f[i], "UPMON_CERT_EXPIRES=2021-03-02T15:02:10.000Z") == 0;
        seen += strcmp(f[i], "UPMON_CERT_SUBJECT=CN=R3,O=Let's Encrypt,C=US") == 0;
        seen += strcmp(f[i], "UPMON_CERT_ISSUER=CN=ISRG Root X1,O=Internet Security Research "
                             "Group,C=US") == 0;
        free(f[i]);
    }
    assert_int_equal(seen, 3);

    /* Another event of a target whose certificate is known: the body
     * says when it ends, the chat message keeps to the event. */
    a.type = EVT_DOWN;
    o = slack(&a, &t);
    assert_null(slack_field(o, "Certificate"));
    assert_null(slack_field(o, "Expires"));
    json_decref(o);
}

/* Whether s holds a control character (C0, DEL or C1). */
static bool has_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
            return true;
    return false;
}

/* Whether s is valid UTF-8, by jansson's own check. */
static bool is_utf8(const char *s)
{
    json_t *j = json_string(s);
    json_decref(j);
    return j != NULL;
}

static const char *get_string(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        fail_msg("\"%s\" is missing or not a string", key);
    return json_string_value(v);
}

/* What a site sent, as it may reach the builders: a Location with bytes
 * that are not UTF-8, one cut in the middle of a character at the end of
 * its buffer, one with terminal escapes, and an error message with both.
 * Every body keeps location and its summary (jansson refuses a string that
 * is not UTF-8, and the key used to go missing); where people read a line
 * (the summary, the chat text, the journal's MESSAGE), controls are
 * escaped. */
static void wire_text_never_drops_a_key(void **state)
{
    (void)state;
    struct target_conf t = target();
    char cut[STATE_LOCATION_MAX];
    size_t n = (size_t)snprintf(cut, sizeof(cut), "http://example.net/x");

    while (n + 3 + 2 <= sizeof(cut) - 1) {
        memcpy(cut + n, "\xe2\x82\xac", 3);
        n += 3;
    }
    memcpy(cut + n, "\xe2\x82", 3); /* 511 bytes: the last euro sign cut short */
    assert_int_equal(strlen(cut), sizeof(cut) - 1);
    const struct {
        const char *sent, *json, *line;
    } cases[] = {
        {"http://example.net/caf\xe9/\xff\xfe", "http://example.net/caf" FFFD "/" FFFD FFFD,
         "http://example.net/caf" FFFD "/" FFFD FFFD},
        {cut, NULL, NULL},
        {"http://example.net/\x1b[2J\x07", "http://example.net/\x1b[2J\x07",
         "http://example.net/\\x1b[2J\\x07"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct alert a = down();
        a.type = EVT_REDIRECT;
        a.state = ST_REDIRECTING;
        a.cls = CLASS_REDIRECTION;
        a.severity = a.filter_severity = SEV_WARNING;
        a.code = 302;
        snprintf(a.location, sizeof(a.location), "%s", cases[i].sent);

        char *body = payload_body(HOOK(WEBHOOK_STANDARD, "ops"), &a, &t, "mon1", NULL);
        json_t *o = json_loads(body, 0, NULL);
        free(body);
        assert_non_null(o);
        json_t *d = json_object_get(o, "data");
        const char *loc = get_string(d, "location");
        const char *summary = get_string(d, "summary");
        assert_true(strncmp(summary, "homepage redirects: 302 Found -> http://example.net/", 52) ==
                    0);
        assert_false(has_control(summary));
        if (cases[i].json) {
            assert_string_equal(loc, cases[i].json);
            char want[600];
            snprintf(want, sizeof(want), "homepage redirects: 302 Found -> %s", cases[i].line);
            assert_string_equal(summary, want);
        } else {
            assert_memory_equal(loc, cut, n); /* every whole character */
        }
        json_decref(o);

        o = slack(&a, &t);
        const char *text = get_string(o, "text");
        assert_true(strncmp(text, "homepage redirects: 302 Found -&gt; http://example.net/", 55) ==
                    0);
        assert_false(has_control(text));
        assert_string_equal(get_string(slack_attachment(o), "fallback"), text);
        assert_non_null(slack_field(o, "Location"));
        if (cases[i].json)
            assert_string_equal(slack_field(o, "Location"), cases[i].json);
        json_decref(o);

        o = am(&a, &t);
        json_t *alert = json_array_get(json_object_get(o, "alerts"), 0);
        for (int k = 0; k < 2; k++) {
            json_t *ann =
                k ? json_object_get(o, "commonAnnotations") : json_object_get(alert, "annotations");
            assert_false(has_control(get_string(ann, "summary")));
            if (cases[i].json)
                assert_string_equal(get_string(ann, "location"), cases[i].json);
            else
                assert_memory_equal(get_string(ann, "location"), cut, n);
        }
        json_decref(o);

        char *f[PAYLOAD_JOURNAL_MAX];
        size_t nf = payload_journal(&a, &t, "mon1", NULL, f);
        int seen = 0;
        for (size_t k = 0; k < nf; k++) {
            assert_true(is_utf8(f[k]));
            if (strncmp(f[k], "MESSAGE=", 8) == 0 || strncmp(f[k], "UPMON_DETAIL=", 13) == 0) {
                assert_false(has_control(f[k]));
                seen++;
            }
            if (strncmp(f[k], "UPMON_LOCATION=", 15) == 0) {
                if (cases[i].json)
                    assert_string_equal(f[k] + 15, cases[i].json);
                seen++;
            }
            free(f[k]);
        }
        assert_int_equal(seen, 3);
    }

    /* An error message that quotes the server. */
    struct alert a = down();
    a.code = 0;
    a.cls = CLASS_TRANSPORT;
    a.error = PERR_PROTOCOL;
    snprintf(a.message, sizeof(a.message), "Weird server reply: \xff\x1b]0;x\x07");
    char *body = payload_body(HOOK(WEBHOOK_STANDARD, "ops"), &a, &t, "mon1", NULL);
    json_t *o = json_loads(body, 0, NULL);
    free(body);
    assert_non_null(o);
    json_t *d = json_object_get(o, "data");
    assert_string_equal(get_string(d, "message"), "Weird server reply: " FFFD "\x1b]0;x\x07");
    assert_string_equal(get_string(d, "summary"),
                        "homepage is down: protocol: Weird server reply: " FFFD
                        "\\x1b]0;x\\x07 (https://example.com/)");
    json_decref(o);
    o = slack(&a, &t);
    assert_string_equal(slack_field(o, "Error"),
                        "protocol: Weird server reply: " FFFD "\x1b]0;x\x07");
    json_decref(o);
}

/* upmond --once --json: the same for a probe's result as it is shown. */
static void report_never_drops_a_key(void **state)
{
    (void)state;
    struct target_conf t = target();
    struct probe_result r;
    struct verdict v = {ST_REDIRECTING, SEV_WARNING, CLASS_REDIRECTION, PERR_NONE, false};

    probe_result_init(&r);
    r.code = 302;
    snprintf(r.location, sizeof(r.location), "http://example.net/caf\xe9");
    snprintf(r.message, sizeof(r.message), "header X is \"\xff\"");
    r.cert_not_after = 1614265330;
    snprintf(r.cert_subject, sizeof(r.cert_subject), "CN=\xc3");
    snprintf(r.cert_issuer, sizeof(r.cert_issuer), "CN=ok");
    json_t *o = report_json(&t, &r, &v);
    assert_string_equal(get_string(o, "location"), "http://example.net/caf" FFFD);
    assert_string_equal(get_string(o, "message"), "header X is \"" FFFD "\"");
    assert_string_equal(get_string(o, "cert_subject"), "CN=" FFFD);
    assert_string_equal(get_string(o, "cert_issuer"), "CN=ok");
    json_decref(o);
}

static void message_ids_and_priorities(void **state)
{
    (void)state;
    for (int i = 0; i < EVT_COUNT; i++) {
        const char *id = payload_message_id((enum event_type)i);
        assert_int_equal(strlen(id), 32);
        assert_int_equal(strspn(id, "0123456789abcdef"), 32);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(id, payload_message_id((enum event_type)j));
    }
    assert_int_equal(payload_priority(SEV_CRITICAL), 2);
    assert_int_equal(payload_priority(SEV_WARNING), 4);
    assert_int_equal(payload_priority(SEV_OK), 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(standard_webhooks_vector),
        cmocka_unit_test(standard_body),
        cmocka_unit_test(slack_body),
        cmocka_unit_test(slack_escapes_markup),
        cmocka_unit_test(slack_colour_per_severity),
        cmocka_unit_test(slack_username_and_icon),
        cmocka_unit_test(alertmanager_body),
        cmocka_unit_test(journal_fields),
        cmocka_unit_test(instance_location),
        cmocka_unit_test(cert_expiring_says_which_certificate),
        cmocka_unit_test(wire_text_never_drops_a_key),
        cmocka_unit_test(report_never_drops_a_key),
        cmocka_unit_test(message_ids_and_priorities),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
