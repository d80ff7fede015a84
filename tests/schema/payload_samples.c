/* Every webhook body the payload builders make for a sweep of alerts,
 * written for tests/schema/check_schemas.py to validate against schema/:
 *
 *   payload_samples DIR
 *
 * writes DIR/standard/, DIR/slack/, DIR/alertmanager/ and
 * DIR/alertmanager-webhook/, one file per body
 * (the same alert has the same number in each), and DIR/names.json: the
 * daemon's own name tables, which the schemas' enums must match. It also
 * writes DIR/journal/, the journal fields of each alert the state machine
 * raised (not of the sweep, whose alerts it never would raise, such as
 * cert_expiring with no certificate), for tests/catalog/check_fields.py.
 *
 * The alerts come from the real state machine, driven through scenarios
 * that raise every event type, and from a sweep over each field of an
 * alert of every type: every state, previous state, severity, class and
 * error, codes registered and not, and each optional field there and not. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "payload.h"
#include "state.h"
#include "util.h"

#define T0  1736933400123LL /* 2025-01-15T09:30:00.123Z */
#define DAY 86400LL
/* An intermediate, with what RFC 2253 escapes, and its root. */
#define CERT_SUBJECT "CN=Example Intermediate CA,O=Example\\, Inc. <ops>,C=US"
#define CERT_ISSUER  "CN=Example Root CA,O=Example\\, Inc.,C=US"

static const char *outdir;
static unsigned count;

static const char *const formats[] = {
    [WEBHOOK_STANDARD] = "standard",
    [WEBHOOK_SLACK] = "slack",
    [WEBHOOK_ALERTMANAGER] = "alertmanager",
    [WEBHOOK_ALERTMANAGER_WEBHOOK] = "alertmanager-webhook",
};

static void fail(const char *what, const char *path)
{
    fprintf(stderr, "payload_samples: %s %s: %s\n", what, path, strerror(errno));
    exit(1);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (f == NULL)
        fail("cannot create", path);
    if (fputs(text, f) == EOF || fclose(f) != 0)
        fail("cannot write", path);
}

static void make_dir(const char *path)
{
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        fail("cannot create", path);
}

/* The body of one alert in every format; what says where it came from
 * (letters, digits, '-' and '_': it goes into the file name). */
static void sample(const char *what, const struct alert *a, const struct target_conf *t)
{
    count++;
    for (size_t f = 0; f < ARRAY_SIZE(formats); f++) {
        struct webhook_conf w = {
            .name = "pager", .format = (enum webhook_format)f, .resend_every_ms = 60000};
        /* A slack webhook with its own name and picture, or not. */
        if (w.format == WEBHOOK_SLACK && count % 3 == 1) {
            w.username = "upmon <mon1> & co";
            w.icon_url = "https://example.com/upmon.png?size=48&round=1";
        } else if (w.format == WEBHOOK_SLACK && count % 3 == 2) {
            w.icon_emoji = ":rotating_light:";
        }
        /* Every other alert from an instance with a location. */
        char *body = payload_body(&w, a, t, "mon1.example", count % 2 ? "fra1" : NULL);
        /* A push that tells Alertmanager nothing (a recovery from what
         * never fired) is never sent. */
        if (strcmp(body, "[]") == 0) {
            free(body);
            continue;
        }
        char *path = xasprintf("%s/%s/%04u-%s-%s.json", outdir, formats[f], count,
                               eventtype_name(a->type), what);
        write_file(path, body);
        free(path);
        free(body);
    }
}

/* The journal fields of an alert, as one JSON object, beside its bodies:
 * tests/catalog checks the catalog's texts against them. */
static void journal_sample(const char *what, const struct alert *a, const struct target_conf *t)
{
    char *fields[PAYLOAD_JOURNAL_MAX];
    size_t n = payload_journal(a, t, "mon1.example", NULL, fields);
    json_t *o = json_object();

    for (size_t i = 0; i < n; i++) {
        char *eq = strchr(fields[i], '=');
        *eq = '\0';
        json_object_set_new(o, fields[i], json_string(eq + 1));
        free(fields[i]);
    }
    char *text = json_dumps(o, JSON_INDENT(1));
    char *path =
        xasprintf("%s/journal/%04u-%s-%s.json", outdir, count, eventtype_name(a->type), what);
    write_file(path, text);
    free(path);
    free(text);
    json_decref(o);
}

/* ---- targets ---- */

static struct kv web_labels[] = {{"team", "web", false}, {"tier", "1", false}};
/* Target labels with the names the alertmanager format sets itself. */
static struct kv clashing_labels[] = {{"alertname", "mine", false}, {"target", "t", false},
                                      {"instance", "i", false},     {"severity", "low", false},
                                      {"monitor", "m", false},      {"_Empty_9", "", false}};
static struct code_range only_200 = {200, 200};
static struct severity_rule warn_404 = {{404, 404}, SEV_WARNING};

static struct target_conf target(void)
{
    struct target_conf t;

    memset(&t, 0, sizeof(t));
    t.name = "homepage";
    t.url = t.shown_url = "https://example.com/";
    t.method = "GET";
    t.labels = web_labels;
    t.nlabels = ARRAY_SIZE(web_labels);
    t.failure_threshold = 1;
    t.recovery_threshold = 1;
    t.flap_window = 20;
    t.interval_ms = 10000;
    t.timeout_ms = 5000;
    t.enabled = true;
    return t;
}

/* A name of 200 characters that JSON must escape, Slack would read as
 * markup and a regular expression might trip over, and no labels. */
static struct target_conf odd_target(void)
{
    static char name[201];
    struct target_conf t = target();

    snprintf(name, sizeof(name), "%s",
             "shop \"eu\" \\ {x} <b>&amp; <@U1>: \xc3\xbc\xe2\x82\xac\xf0\x9f\x99\x82 ");
    for (size_t n = strlen(name); n < 200; n++)
        name[n] = 'x';
    name[200] = '\0';
    t.name = name;
    t.url = t.shown_url = "HTTP://[::1]:8080/a?b=c&d=e";
    t.labels = NULL;
    t.nlabels = 0;
    return t;
}

static struct target_conf clashing_target(void)
{
    struct target_conf t = target();

    t.name = "api";
    t.url = t.shown_url = "http:/api.example";
    t.labels = clashing_labels;
    t.nlabels = ARRAY_SIZE(clashing_labels);
    return t;
}

/* ---- scenarios through the state machine ---- */

struct probe {
    int64_t t_s;          /* seconds after T0 */
    int code;             /* 0: no answer */
    enum probe_error err; /* as the probe classified it */
    const char *message;  /* the probe's message, or NULL */
    const char *location; /* Location, or NULL */
    int64_t latency_ms;   /* -1: not measured */
    int64_t cert_days;    /* certificate end in days after T0; 0: unknown */
    int body_match;       /* -1: not checked, 0: not found, 1: found */
};

static void scenario(const char *name, const struct target_conf *t, const struct probe *p, size_t n)
{
    struct tstate ts;
    struct alert alerts[STATE_MAX_ALERTS];

    tstate_init(&ts);
    for (size_t i = 0; i < n; i++) {
        struct probe_result r;
        struct verdict v;
        bool changed;

        probe_result_init(&r);
        r.code = p[i].code;
        r.error = p[i].err;
        if (p[i].message)
            snprintf(r.message, sizeof(r.message), "%s", p[i].message);
        if (p[i].location)
            snprintf(r.location, sizeof(r.location), "%s", p[i].location);
        r.total_us = p[i].latency_ms < 0 ? -1 : p[i].latency_ms * 1000 + 321;
        r.cert_not_after = p[i].cert_days ? T0 / 1000 + p[i].cert_days * DAY : 0;
        if (p[i].cert_days) {
            snprintf(r.cert_subject, sizeof(r.cert_subject), "%s", CERT_SUBJECT);
            snprintf(r.cert_issuer, sizeof(r.cert_issuer), "%s", CERT_ISSUER);
        }
        r.body_match = p[i].body_match;
        r.started_wall_ms = T0 + p[i].t_s * 1000;
        verdict_judge(&r, t, &v);
        int64_t at = T0 + p[i].t_s * 1000;
        unsigned k = state_step(&ts, t, &r, &v, (struct instant){at, at}, alerts, &changed);
        for (unsigned j = 0; j < k; j++) {
            char what[64];
            snprintf(what, sizeof(what), "%s-%zu", name, i);
            sample(what, &alerts[j], t);
            journal_sample(what, &alerts[j], t);
        }
    }
    tstate_free(&ts);
}

#define RUN(name, t, p) scenario(name, t, p, ARRAY_SIZE(p))

static void scenarios(void)
{
    struct target_conf t = target();
    const char *moved = "https://www.example.com/";

    /* down, changed twice, reminder, redirect (superseding the outage),
     * another redirect, recovered from redirecting. */
    t.remind_every_ms = 60000;
    const struct probe outage[] = {
        {0, 200, PERR_NONE, NULL, NULL, 40, 0, -1},
        {10, 503, PERR_NONE, NULL, NULL, 48, 0, -1},
        {20, 0, PERR_CONNECT, "Failed to connect to example.com port 443", NULL, 3, 0, -1},
        {30, 404, PERR_NONE, NULL, NULL, 12, 0, -1},
        {95, 404, PERR_NONE, NULL, NULL, 12, 0, -1},
        {100, 301, PERR_NONE, NULL, moved, 9, 0, -1},
        {110, 302, PERR_NONE, NULL, "https://example.com/elsewhere", 9, 0, -1},
        {120, 200, PERR_NONE, NULL, NULL, 40, 0, -1},
        {130, 301, PERR_NONE, NULL, moved, 9, 0, -1},
        {140, 500, PERR_NONE, NULL, NULL, 9, 0, -1},
    };
    RUN("outage", &t, outage);

    /* Failing or redirecting from the first probe. */
    t = target();
    const struct probe start_down[] = {
        {0, 0, PERR_DNS, "Could not resolve host: example.com", NULL, -1, 0, -1},
        {10, 0, PERR_TIMEOUT, "Operation timed out after 5000 milliseconds", NULL, 5000, 0, -1},
        {20, 200, PERR_NONE, NULL, NULL, 40, 0, -1},
    };
    RUN("start_down", &t, start_down);
    const struct probe start_redirect[] = {
        {0, 308, PERR_NONE, NULL, moved, 9, 0, -1},
        {10, 200, PERR_NONE, NULL, NULL, 40, 0, -1},
    };
    RUN("start_redirect", &t, start_redirect);
    /* Refused from the start; a redirect that says nowhere. */
    const struct probe start_refused[] = {
        {0, 0, PERR_CONNECT, "Failed to connect to example.com port 443: Connection refused", NULL,
         1, 0, -1},
    };
    RUN("start_refused", &t, start_refused);
    const struct probe nowhere[] = {
        {0, 302, PERR_NONE, NULL, NULL, 9, 0, -1},
    };
    RUN("redirect_nowhere", &t, nowhere);

    /* Slow, then fast again. */
    t = target();
    t.max_latency_ms = 100;
    const struct probe slow[] = {
        {0, 200, PERR_NONE, NULL, NULL, 20, 0, -1},
        {10, 200, PERR_NONE, NULL, NULL, 2412, 0, -1},
        {20, 200, PERR_NONE, NULL, NULL, 30, 0, -1},
    };
    RUN("slow", &t, slow);

    /* A certificate near its end, then one that has ended. */
    t = target();
    t.cert_expiry_warning_ms = 14 * DAY * 1000;
    const struct probe cert[] = {
        {0, 200, PERR_NONE, NULL, NULL, 20, 60, -1},
        {10, 200, PERR_NONE, NULL, NULL, 20, 10, -1},
        {20, 200, PERR_NONE, NULL, NULL, 20, -1, -1},
    };
    RUN("cert", &t, cert);

    /* Flapping, settling down, then up; flapping that settles up, and
     * flapping that settles redirecting. */
    t = target();
    t.flap_threshold = 3;
    t.flap_window = 8;
    const struct probe flap[] = {
        {1, 200, PERR_NONE, NULL, NULL, 10, 0, -1},  {2, 503, PERR_NONE, NULL, NULL, 10, 0, -1},
        {3, 200, PERR_NONE, NULL, NULL, 10, 0, -1},  {4, 503, PERR_NONE, NULL, NULL, 10, 0, -1},
        {5, 200, PERR_NONE, NULL, NULL, 10, 0, -1},  {6, 503, PERR_NONE, NULL, NULL, 10, 0, -1},
        {7, 200, PERR_NONE, NULL, NULL, 10, 0, -1},  {8, 503, PERR_NONE, NULL, NULL, 10, 0, -1},
        {9, 503, PERR_NONE, NULL, NULL, 10, 0, -1},  {10, 503, PERR_NONE, NULL, NULL, 10, 0, -1},
        {11, 503, PERR_NONE, NULL, NULL, 10, 0, -1}, {12, 503, PERR_NONE, NULL, NULL, 10, 0, -1},
        {13, 503, PERR_NONE, NULL, NULL, 10, 0, -1}, {14, 503, PERR_NONE, NULL, NULL, 10, 0, -1},
        {15, 503, PERR_NONE, NULL, NULL, 10, 0, -1}, {16, 200, PERR_NONE, NULL, NULL, 10, 0, -1},
    };
    RUN("flap_down", &t, flap);
    struct probe flap_up[ARRAY_SIZE(flap)], flap_redirect[ARRAY_SIZE(flap)];
    for (size_t i = 0; i < ARRAY_SIZE(flap); i++) {
        flap_up[i] = flap_redirect[i] = flap[i];
        if (i >= 8) {
            flap_up[i].code = 200;
            flap_redirect[i].code = 301;
            flap_redirect[i].location = moved;
        }
    }
    RUN("flap_up", &t, flap_up);
    RUN("flap_redirect", &t, flap_redirect);
    /* Flapping before any state is confirmed: no state, no start time. */
    t.failure_threshold = t.recovery_threshold = 5;
    RUN("flap_unknown", &t, flap);

    /* A body check that fails; an answer that expect does not list; a
     * severity override; codes not registered or not valid; TLS. */
    t = target();
    t.body_contains = "Welcome";
    t.expect = &only_200;
    t.nexpect = 1;
    t.severity = &warn_404;
    t.nseverity = 1;
    const struct probe others[] = {
        {0, 200, PERR_NONE, NULL, NULL, 20, 0, 1},
        {10, 200, PERR_BODY, "body does not contain \"Welcome\"", NULL, 20, 0, 0},
        {20, 204, PERR_NONE, NULL, NULL, 20, 0, -1},
        {30, 404, PERR_NONE, NULL, NULL, 20, 0, -1},
        {40, 499, PERR_NONE, NULL, NULL, 20, 0, -1},
        {50, 599, PERR_NONE, NULL, NULL, 20, 0, -1},
        {60, 600, PERR_NONE, "status code 600 is outside 100-599", NULL, 20, 0, -1},
        {70, 0, PERR_TLS, "SSL certificate problem: certificate has expired", NULL, 2, 0, -1},
        {80, 103, PERR_NONE, NULL, NULL, 20, 0, -1},
        {90, 200, PERR_NONE, NULL, NULL, 20, 0, 1},
    };
    RUN("others", &t, others);
    struct target_conf odd = odd_target(), clash = clashing_target();
    RUN("odd_target", &odd, outage);
    RUN("clashing_labels", &clash, outage);
}

/* ---- a sweep over each field ---- */

/* An alert of type e as the state machine would raise it. */
static struct alert typical(enum event_type e)
{
    struct alert a;

    memset(&a, 0, sizeof(a));
    a.type = e;
    a.state = ST_SERVER_ERROR;
    a.previous = PREV_UP;
    a.severity = a.filter_severity = SEV_CRITICAL;
    a.time_ms = T0 + 60000;
    a.since_ms = T0;
    a.duration_ms = 60000;
    a.code = 503;
    a.cls = CLASS_SERVER_ERROR;
    a.latency_us = 48213;
    switch (e) {
    case EVT_RECOVERED:
        a.state = ST_UP;
        a.previous = PREV_SERVER_ERROR;
        a.severity = SEV_OK;
        a.code = 200;
        a.cls = CLASS_SUCCESS;
        break;
    case EVT_REDIRECT:
        a.state = ST_REDIRECTING;
        a.severity = a.filter_severity = SEV_WARNING;
        a.code = 301;
        a.cls = CLASS_REDIRECTION;
        snprintf(a.location, sizeof(a.location), "https://www.example.com/");
        break;
    case EVT_SLOW:
    case EVT_CERT_EXPIRING:
    case EVT_FLAPPING:
        a.state = ST_UP;
        a.severity = a.filter_severity = SEV_WARNING;
        a.code = 200;
        a.cls = CLASS_SUCCESS;
        a.error = e == EVT_SLOW ? PERR_TOO_SLOW : PERR_NONE;
        a.cert_not_after = e == EVT_CERT_EXPIRING ? T0 / 1000 + 10 * DAY : 0;
        if (e == EVT_CERT_EXPIRING) {
            snprintf(a.cert_subject, sizeof(a.cert_subject), "%s", CERT_SUBJECT);
            snprintf(a.cert_issuer, sizeof(a.cert_issuer), "%s", CERT_ISSUER);
        }
        a.flap_changes = e == EVT_FLAPPING ? 7 : 0;
        break;
    case EVT_DOWN:
    case EVT_CHANGED:
    case EVT_REMINDER:
        break;
    }
    return a;
}

static void sweep_one(enum event_type e, const struct target_conf *t)
{
    static const int codes[] = {0, 100, 204, 301, 404, 418, 499, 599, 600, 999};
    char what[64], text[RESULT_MESSAGE_MAX];
    struct alert a;

    a = typical(e);
    sample("sweep-typical", &a, t);
    for (int s = 0; s < ST_COUNT; s++) {
        a = typical(e);
        a.state = (enum target_state)s;
        snprintf(what, sizeof(what), "sweep-state-%s", state_name(a.state));
        sample(what, &a, t);
    }
    for (unsigned i = 0; i < PREV_COUNT; i++) {
        a = typical(e);
        a.previous = (enum alert_previous)i;
        snprintf(what, sizeof(what), "sweep-previous-%s", alert_previous_name(a.previous));
        sample(what, &a, t);
    }
    for (int s = 0; s < SEV_COUNT; s++) {
        for (int fs = 0; fs < SEV_COUNT; fs++) {
            a = typical(e);
            a.severity = (enum severity)s;
            a.filter_severity = (enum severity)fs;
            snprintf(what, sizeof(what), "sweep-severity-%s-%s", codes_severity_name(a.severity),
                     codes_severity_name(a.filter_severity));
            sample(what, &a, t);
        }
    }
    for (int c = 0; c < CLASS_COUNT; c++) {
        a = typical(e);
        a.cls = (enum code_class)c;
        snprintf(what, sizeof(what), "sweep-class-%s", codes_class_name(a.cls));
        sample(what, &a, t);
    }
    for (int err = PERR_NONE + 1; err < PERR_COUNT; err++) {
        for (int with_message = 0; with_message < 2; with_message++) {
            a = typical(e);
            a.error = (enum probe_error)err;
            a.code = 0;
            a.cls = CLASS_TRANSPORT;
            if (with_message)
                snprintf(a.message, sizeof(a.message), "%s failed", probe_error_name(a.error));
            snprintf(what, sizeof(what), "sweep-error-%s%s", probe_error_name(a.error),
                     with_message ? "-message" : "");
            sample(what, &a, t);
        }
    }
    for (size_t i = 0; i < ARRAY_SIZE(codes); i++) {
        a = typical(e);
        a.code = codes[i];
        a.cls = codes_class(a.code);
        if (!codes_valid(a.code) && a.code) {
            a.error = PERR_PROTOCOL;
            snprintf(a.message, sizeof(a.message), "status code %d is outside 100-599", a.code);
        }
        if (a.cls == CLASS_REDIRECTION)
            snprintf(a.location, sizeof(a.location), "/relative/but/not/here");
        snprintf(what, sizeof(what), "sweep-code-%d", a.code);
        sample(what, &a, t);
    }
    /* Each optional part there and not. */
    a = typical(e);
    a.latency_us = -1;
    sample("sweep-no-latency", &a, t);
    a = typical(e);
    a.latency_us = 0;
    sample("sweep-zero-latency", &a, t);
    a = typical(e);
    a.since_ms = 0;
    sample("sweep-no-since", &a, t);
    a = typical(e);
    a.cert_not_after = T0 / 1000 - DAY;
    sample("sweep-cert-ended", &a, t);
    a = typical(e);
    a.cert_not_after = 0;
    a.location[0] = '\0';
    sample("sweep-no-cert-no-location", &a, t);
    /* The longest location and message, with what JSON must escape. */
    a = typical(e);
    memset(a.location, 'l', sizeof(a.location) - 1);
    a.location[sizeof(a.location) - 1] = '\0';
    memcpy(a.location, "https://x/", 10);
    snprintf(text, sizeof(text), "%s", "line\none\ttab \"quoted\" \\ \x01 \xc3\xa9");
    for (size_t n = strlen(text); n < sizeof(text) - 1; n++)
        text[n] = 'm';
    text[sizeof(text) - 1] = '\0';
    a.error = PERR_INTERNAL;
    memcpy(a.message, text, sizeof(a.message));
    sample("sweep-longest", &a, t);
    /* What a site sent that is not UTF-8: bytes that never are, and a
     * three-byte character cut at the end of the buffer. (Certificate
     * names are not here: the probe has OpenSSL escape them to printable
     * ASCII, as the schemas say.) */
    a = typical(e);
    snprintf(a.location, sizeof(a.location), "https://x/caf\xe9/\xff\x1b[0m");
    a.error = PERR_PROTOCOL;
    snprintf(a.message, sizeof(a.message), "Weird server reply \xc3(");
    sample("sweep-not-utf8", &a, t);
    memset(a.location, 'l', sizeof(a.location) - 1);
    memcpy(a.location, "https://x/", 10);
    memcpy(a.location + sizeof(a.location) - 3, "\xe2\x82", 3);
    sample("sweep-cut-character", &a, t);
}

static void sweep(void)
{
    struct target_conf targets[] = {target(), odd_target(), clashing_target()};

    for (size_t i = 0; i < ARRAY_SIZE(targets); i++)
        for (int e = 0; e < EVT_COUNT; e++)
            sweep_one((enum event_type)e, &targets[i]);
}

/* ---- the daemon's names ---- */

static void names(void)
{
    json_t *o = json_object(), *a;

    a = json_array();
    for (int i = 0; i < EVT_COUNT; i++)
        json_array_append_new(a, json_string(eventtype_name((enum event_type)i)));
    json_object_set_new(o, "event", a);
    a = json_array();
    for (int i = 0; i < ST_COUNT; i++)
        json_array_append_new(a, json_string(state_name((enum target_state)i)));
    json_object_set_new(o, "state", a);
    /* What the state machine names as the state before: a state, or the
     * conditions that end in a recovered (see state.c). */
    a = json_array();
    for (unsigned i = 0; i < PREV_COUNT; i++)
        json_array_append_new(a, json_string(alert_previous_name((enum alert_previous)i)));
    json_object_set_new(o, "previous", a);
    a = json_array();
    for (int i = 0; i < SEV_COUNT; i++)
        json_array_append_new(a, json_string(codes_severity_name((enum severity)i)));
    json_object_set_new(o, "severity", a);
    a = json_array();
    for (int i = 0; i < CLASS_COUNT; i++)
        json_array_append_new(a, json_string(codes_class_name((enum code_class)i)));
    json_object_set_new(o, "class", a);
    /* PERR_NONE goes out as null. */
    a = json_array();
    for (int i = PERR_NONE + 1; i < PERR_COUNT; i++)
        json_array_append_new(a, json_string(probe_error_name((enum probe_error)i)));
    json_object_set_new(o, "error", a);

    char *text = json_dumps(o, JSON_INDENT(2));
    char *path = xasprintf("%s/names.json", outdir);
    write_file(path, text);
    free(path);
    free(text);
    json_decref(o);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: payload_samples DIR\n");
        return 2;
    }
    outdir = argv[1];
    make_dir(outdir);
    for (size_t f = 0; f <= ARRAY_SIZE(formats); f++) {
        char *path = xasprintf("%s/%s", outdir, f < ARRAY_SIZE(formats) ? formats[f] : "journal");
        make_dir(path);
        free(path);
    }
    names();
    scenarios();
    sweep();
    printf("%u alerts, %u bodies in %s\n", count, count * (unsigned)ARRAY_SIZE(formats), outdir);
    return 0;
}
