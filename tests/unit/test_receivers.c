/* The bodies of the receivers besides webhooks: PagerDuty events (dedup
 * keys per incident, severities, what the outbox keeps) and e-mails
 * (RFC 5322 headers, RFC 2047 subjects, quoted-printable, no header
 * injection), and the addresses the configuration takes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "payload_mail.h"
#include "payload_pd.h"
#include "schema.h"

static struct kv labels[] = {{"team", "web", false}, {"tier", "1", false}};

static struct target_conf target(void)
{
    struct target_conf t;
    memset(&t, 0, sizeof(t));
    t.name = "api";
    t.url = t.shown_url = "https://api.example.com/health";
    t.method = "GET";
    t.labels = labels;
    t.nlabels = 2;
    t.file = "/etc/upmon/watch.d/web.yaml";
    return t;
}

#define OUTAGE_1 1614265320000
#define OUTAGE_2 1614269000000

static struct alert alert(enum event_type type, int64_t since)
{
    struct alert a;
    memset(&a, 0, sizeof(a));
    a.type = type;
    a.state = ST_SERVER_ERROR;
    a.previous = PREV_UP;
    a.severity = SEV_CRITICAL;
    a.filter_severity = SEV_CRITICAL;
    a.time_ms = 1614265330000;
    a.since_ms = since;
    a.duration_ms = 10000;
    a.code = 503;
    a.cls = CLASS_SERVER_ERROR;
    a.latency_us = 12345;
    return a;
}

static struct alert recovered(enum alert_previous from, int64_t since)
{
    struct alert a = alert(EVT_RECOVERED, since);
    a.state = ST_UP;
    a.previous = from;
    a.severity = SEV_OK;
    a.code = 200;
    a.cls = CLASS_SUCCESS;
    return a;
}

static void key_of(const struct alert *a, const struct target_conf *t, char *out)
{
    pagerduty_dedup_key(a, t, out);
    assert_int_equal(strlen(out), PD_DEDUP_KEY_LEN - 1);
    assert_memory_equal(out, "upmon-", 6);
}

/* One incident, one key: trigger, change, reminder and resolve of one
 * outage; another outage, kind or target, another key. */
static void dedup_key_per_incident(void **state)
{
    (void)state;
    struct target_conf t = target(), other = target();
    char k[8][PD_DEDUP_KEY_LEN];
    struct alert a;

    other.name = "web";
    a = alert(EVT_DOWN, OUTAGE_1);
    key_of(&a, &t, k[0]);
    a = alert(EVT_CHANGED, OUTAGE_1);
    a.state = ST_UNREACHABLE;
    a.previous = PREV_SERVER_ERROR;
    a.time_ms += 60000;
    key_of(&a, &t, k[1]);
    a = alert(EVT_REMINDER, OUTAGE_1);
    a.time_ms += 3600000;
    key_of(&a, &t, k[2]);
    a = recovered(PREV_UNREACHABLE, OUTAGE_1);
    key_of(&a, &t, k[3]);
    assert_string_equal(k[0], k[1]);
    assert_string_equal(k[0], k[2]);
    assert_string_equal(k[0], k[3]);

    /* The next outage. */
    a = alert(EVT_DOWN, OUTAGE_2);
    key_of(&a, &t, k[4]);
    assert_string_not_equal(k[4], k[0]);
    a = recovered(PREV_SERVER_ERROR, OUTAGE_2);
    key_of(&a, &t, k[5]);
    assert_string_equal(k[5], k[4]);

    /* Another target, the same moment. */
    a = alert(EVT_DOWN, OUTAGE_1);
    key_of(&a, &other, k[6]);
    assert_string_not_equal(k[6], k[0]);

    /* Another kind, the same moment: a redirect and its end. */
    a = alert(EVT_REDIRECT, OUTAGE_1);
    a.state = ST_REDIRECTING;
    key_of(&a, &t, k[6]);
    assert_string_not_equal(k[6], k[0]);
    a = recovered(PREV_REDIRECTING, OUTAGE_1);
    key_of(&a, &t, k[7]);
    assert_string_equal(k[7], k[6]);

    /* Slowness and its end: since is the up state's. */
    a = alert(EVT_SLOW, OUTAGE_1);
    a.state = ST_UP;
    key_of(&a, &t, k[6]);
    a = recovered(PREV_SLOW, OUTAGE_1);
    key_of(&a, &t, k[7]);
    assert_string_equal(k[6], k[7]);
    assert_string_not_equal(k[6], k[0]);

    /* Flapping: its start and its settling agree on no since. */
    a = alert(EVT_FLAPPING, OUTAGE_1);
    key_of(&a, &t, k[6]);
    a = recovered(PREV_FLAPPING, OUTAGE_2);
    key_of(&a, &t, k[7]);
    assert_string_equal(k[6], k[7]);

    /* A certificate by its end: the same certificate warned again (after
     * a restart), one key; a renewed one, another. */
    a = alert(EVT_CERT_EXPIRING, OUTAGE_1);
    a.cert_not_after = 1700000000;
    key_of(&a, &t, k[6]);
    a.since_ms = OUTAGE_2;
    key_of(&a, &t, k[7]);
    assert_string_equal(k[6], k[7]);
    a.cert_not_after = 1800000000;
    key_of(&a, &t, k[7]);
    assert_string_not_equal(k[6], k[7]);
}

/* The resolve that goes first, or NULL: its key checked against want. */
static void superseded(const struct alert *a, const char *want)
{
    struct target_conf t = target();
    char *body = pagerduty_superseded(a, &t, "mon1");

    if (want == NULL) {
        assert_null(body);
        return;
    }
    assert_non_null(body);
    json_t *o = json_loads(body, 0, NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "event_action")), "resolve");
    assert_string_equal(json_string_value(json_object_get(o, "dedup_key")), want);
    json_decref(o);
    free(body);
}

/* An alert that ends one kind of trouble by starting another resolves
 * the first incident: nothing is left open. */
static void superseded_incidents(void **state)
{
    (void)state;
    struct target_conf t = target();
    char redirect_key[PD_DEDUP_KEY_LEN], down_key[PD_DEDUP_KEY_LEN], flap_key[PD_DEDUP_KEY_LEN];
    struct alert a;

    a = alert(EVT_REDIRECT, OUTAGE_1);
    a.state = ST_REDIRECTING;
    pagerduty_dedup_key(&a, &t, redirect_key);
    a = alert(EVT_DOWN, OUTAGE_1);
    pagerduty_dedup_key(&a, &t, down_key);
    a = alert(EVT_FLAPPING, OUTAGE_1);
    pagerduty_dedup_key(&a, &t, flap_key);

    /* A redirect becomes an outage. */
    a = alert(EVT_DOWN, OUTAGE_2);
    a.previous = PREV_REDIRECTING;
    a.previous_since_ms = OUTAGE_1;
    superseded(&a, redirect_key);
    /* An outage becomes a redirect. */
    a = alert(EVT_REDIRECT, OUTAGE_2);
    a.state = ST_REDIRECTING;
    a.previous = PREV_SERVER_ERROR;
    a.previous_since_ms = OUTAGE_1;
    superseded(&a, down_key);
    /* A redirect to a new Location: the old one ends. */
    a.previous = PREV_REDIRECTING;
    superseded(&a, redirect_key);
    /* Flapping begins in an outage, and settles into another. */
    a = alert(EVT_FLAPPING, OUTAGE_1);
    a.previous = PREV_SERVER_ERROR;
    superseded(&a, down_key);
    a = alert(EVT_DOWN, OUTAGE_2);
    a.previous = PREV_FLAPPING;
    superseded(&a, flap_key);

    /* Nothing was open before, or the incident goes on, or ends itself. */
    a = alert(EVT_DOWN, OUTAGE_1);
    superseded(&a, NULL);
    a = alert(EVT_FLAPPING, OUTAGE_1);
    a.previous = PREV_UP;
    superseded(&a, NULL);
    a = alert(EVT_CHANGED, OUTAGE_1);
    a.previous = PREV_SERVER_ERROR;
    superseded(&a, NULL);
    a = alert(EVT_REMINDER, OUTAGE_1);
    a.previous = PREV_SERVER_ERROR;
    superseded(&a, NULL);
    a = recovered(PREV_REDIRECTING, OUTAGE_1);
    superseded(&a, NULL);
    a = alert(EVT_SLOW, OUTAGE_1);
    superseded(&a, NULL);
    a = alert(EVT_CERT_EXPIRING, OUTAGE_1);
    a.previous = PREV_SERVER_ERROR;
    superseded(&a, NULL);
}

static void severities(void **state)
{
    (void)state;
    assert_string_equal(pagerduty_severity(SEV_CRITICAL), "critical");
    assert_string_equal(pagerduty_severity(SEV_WARNING), "warning");
    assert_string_equal(pagerduty_severity(SEV_OK), "info");
}

static json_t *parse(const char *body)
{
    json_error_t err;
    json_t *o = json_loads(body, 0, &err);
    if (o == NULL)
        fail_msg("not JSON: %s: %s", err.text, body);
    return o;
}

static const char *str(json_t *o, const char *path)
{
    char buf[128], *save = NULL;
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
        o = json_object_get(o, k);
    if (!json_is_string(o))
        fail_msg("%s is not a string", path);
    return json_string_value(o);
}

static void pagerduty_trigger_and_resolve(void **state)
{
    (void)state;
    struct target_conf t = target();
    struct alert a = alert(EVT_DOWN, OUTAGE_1);
    char key[PD_DEDUP_KEY_LEN];

    pagerduty_dedup_key(&a, &t, key);
    char *body = payload_pagerduty(&a, &t, "mon1.example.com", "fra1");
    json_t *o = parse(body);
    assert_string_equal(str(o, "event_action"), "trigger");
    assert_string_equal(str(o, "dedup_key"), key);
    /* The outbox never holds the key. */
    assert_null(json_object_get(o, "routing_key"));
    assert_string_equal(str(o, "payload.summary"),
                        "api is down: 503 Service Unavailable (https://api.example.com/health)");
    assert_string_equal(str(o, "payload.source"), "https://api.example.com/health");
    assert_string_equal(str(o, "payload.severity"), "critical");
    assert_string_equal(str(o, "payload.timestamp"), "2021-02-25T15:02:10.000Z");
    assert_string_equal(str(o, "payload.component"), "api");
    assert_string_equal(str(o, "payload.group"), "web");
    assert_string_equal(str(o, "payload.class"), "down");
    assert_string_equal(str(o, "payload.custom_details.phrase"), "Service Unavailable");
    assert_string_equal(str(o, "payload.custom_details.labels.team"), "web");
    assert_string_equal(str(o, "payload.custom_details.host"), "mon1.example.com");
    assert_string_equal(str(o, "payload.custom_details.instance_location"), "fra1");
    assert_non_null(strstr(str(o, "payload.custom_details.meaning"), "overload"));
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(o, "payload"), "custom_details"), "code")),
                     503);
    assert_string_equal(str(json_array_get(json_object_get(o, "links"), 0), "href"),
                        "https://api.example.com/health");

    /* Sent with the key; the rest as stored. */
    char *keyed = pagerduty_keyed(body, "R0UTINGKEY0123456789abcdefABCDEF");
    json_t *k = parse(keyed);
    assert_string_equal(str(k, "routing_key"), "R0UTINGKEY0123456789abcdefABCDEF");
    json_object_del(k, "routing_key");
    assert_true(json_equal(k, o));
    json_decref(k);
    free(keyed);
    assert_null(pagerduty_keyed("[1]", "x"));
    assert_null(pagerduty_keyed("not json", "x"));
    json_decref(o);
    free(body);

    /* Warnings stay warnings. */
    a.severity = SEV_WARNING;
    body = payload_pagerduty(&a, &t, "mon1", NULL);
    o = parse(body);
    assert_string_equal(str(o, "payload.severity"), "warning");
    json_decref(o);
    free(body);

    /* The resolve: the key alone. */
    struct alert r = recovered(PREV_SERVER_ERROR, OUTAGE_1);
    body = payload_pagerduty(&r, &t, "mon1", NULL);
    o = parse(body);
    assert_string_equal(str(o, "event_action"), "resolve");
    assert_string_equal(str(o, "dedup_key"), key);
    assert_null(json_object_get(o, "payload"));
    json_decref(o);
    free(body);
}

/* PagerDuty refuses a summary over 1024 characters. */
static void pagerduty_summary_is_bounded(void **state)
{
    (void)state;
    struct target_conf t = target();
    struct alert a = alert(EVT_DOWN, OUTAGE_1);
    char name[201];

    char url[901] = "https://example.com/";
    memset(name, 'n', 200);
    name[200] = '\0';
    t.name = name;
    memset(url + strlen(url), 'u', sizeof(url) - 1 - strlen(url));
    url[900] = '\0';
    t.shown_url = url;
    a.code = 0;
    a.error = PERR_CONNECT;
    memset(a.message, 'm', sizeof(a.message) - 1);
    a.message[sizeof(a.message) - 1] = '\0';
    char *body = payload_pagerduty(&a, &t, "mon1", NULL);
    json_t *o = parse(body);
    const char *summary = str(o, "payload.summary");
    assert_true(strlen(summary) <= 1024);
    assert_non_null(strstr(summary, "..."));
    json_decref(o);
    free(body);
}

/* ---- e-mail ---- */

static const struct webhook_conf *mail_hook(void)
{
    static char *to[] = {"ops@example.com", "oncall@example.org"};
    static struct webhook_conf w = {
        .name = "mail",
        .format = WEBHOOK_EMAIL,
        .mail_from = "upmon@example.com",
        .mail_to = to,
        .nmail_to = 2,
    };
    return &w;
}

/* The message split into its header section and body; every line ends
 * in CRLF and no CR or LF stands alone. */
struct msg {
    char *head, *body;
};

static struct msg split(char *m)
{
    for (const char *p = m; *p; p++) {
        if (*p == '\r')
            assert_int_equal(p[1], '\n');
        if (*p == '\n')
            assert_true(p > m && p[-1] == '\r');
    }
    char *sep = strstr(m, "\r\n\r\n");
    assert_non_null(sep);
    sep[2] = '\0';
    return (struct msg){m, sep + 4};
}

/* The value of a header (unfolded), or NULL; fails when it is there
 * twice. */
static char *header(const struct msg *m, const char *name)
{
    char *found = NULL;
    size_t n = strlen(name);

    for (const char *p = m->head; *p;) {
        const char *eol = strstr(p, "\r\n");
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            assert_null(found);
            struct buf b = {0};
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            buf_append(&b, v, (size_t)(eol - v));
            /* Continuation lines: the CRLF goes, the blank stays. */
            while (eol[2] == ' ' || eol[2] == '\t') {
                const char *next = eol + 2;
                eol = strstr(next, "\r\n");
                buf_append(&b, next, (size_t)(eol - next));
            }
            found = b.data;
        }
        p = eol + 2;
    }
    return found;
}

/* The header names of a message, in order, one a line. */
static void header_names(const struct msg *m, char *out, size_t len)
{
    size_t off = 0;

    out[0] = '\0';
    for (const char *p = m->head; *p; p = strstr(p, "\r\n") + 2) {
        if (*p == ' ' || *p == '\t')
            continue;
        size_t n = strcspn(p, ":");
        off += (size_t)snprintf(out + off, len - off, "%.*s\n", (int)n, p);
    }
}

static void max_line(const char *s, size_t max)
{
    for (const char *p = s; *p;) {
        const char *eol = strstr(p, "\r\n");
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        if (n > max)
            fail_msg("a line of %zu characters: %.*s", n, (int)n, p);
        p += n + (eol ? 2 : 0);
    }
}

static void mail_headers(void **state)
{
    (void)state;
    struct target_conf t = target();
    struct alert a = alert(EVT_DOWN, OUTAGE_1);
    char names[512];

    char *m = payload_mail(mail_hook(), &a, &t, "mon1.example.com", "fra1", "msg_0123abcd");
    struct msg msg = split(m);
    header_names(&msg, names, sizeof(names));
    assert_string_equal(names, "Date\nMessage-ID\nFrom\nTo\nSubject\nAuto-Submitted\n"
                               "X-Upmon-Target\nX-Upmon-Event\nMIME-Version\nContent-Type\n"
                               "Content-Transfer-Encoding\n");
    char *v;
    assert_string_equal(v = header(&msg, "Date"), "Thu, 25 Feb 2021 15:02:10 +0000");
    free(v);
    assert_string_equal(v = header(&msg, "Message-ID"), "<msg_0123abcd@mon1.example.com>");
    free(v);
    assert_string_equal(v = header(&msg, "From"), "upmon@example.com");
    free(v);
    assert_string_equal(v = header(&msg, "To"), "ops@example.com, oncall@example.org");
    free(v);
    assert_string_equal(v = header(&msg, "Subject"), "[upmon] api is down: 503 Service Unavailable "
                                                     "(https://api.example.com/health)");
    free(v);
    assert_string_equal(v = header(&msg, "Content-Type"), "text/plain; charset=utf-8");
    free(v);
    assert_string_equal(v = header(&msg, "Content-Transfer-Encoding"), "quoted-printable");
    free(v);
    max_line(msg.head, 78);
    max_line(msg.body, 76);
    /* The facts, a line each. */
    assert_non_null(strstr(msg.body, "Target:      api\r\n"));
    assert_non_null(strstr(msg.body, "URL:         https://api.example.com/health\r\n"));
    assert_non_null(strstr(msg.body, "Answer:      503 Service Unavailable\r\n"));
    assert_non_null(strstr(msg.body, "Labels:      team=3Dweb\r\n"));
    assert_non_null(strstr(msg.body, "Since:       2021-02-25T15:02:00.000Z (10s ago)\r\n"));
    assert_non_null(strstr(msg.body, "Monitor:     mon1.example.com\r\n"));
    assert_non_null(strstr(msg.body, "Probed from: fra1\r\n"));
    free(m);

    /* The same delivery, the same message: an attempt again sends it. */
    char *again = payload_mail(mail_hook(), &a, &t, "mon1.example.com", NULL, "msg_0123abcd");
    char *first = payload_mail(mail_hook(), &a, &t, "mon1.example.com", NULL, "msg_0123abcd");
    assert_string_equal(again, first);
    free(again);
    free(first);

    /* A host name that is no domain still makes a Message-ID. */
    m = payload_mail(mail_hook(), &a, &t, "", NULL, "msg_1");
    msg = split(m);
    assert_string_equal(v = header(&msg, "Message-ID"), "<msg_1@upmon.invalid>");
    free(v);
    free(m);
}

/* Decodes a header value made of RFC 2047 words (B, UTF-8) separated by
 * blanks; checks each word's length. */
static char *decode_words(const char *v)
{
    struct buf b = {0};

    buf_append(&b, "", 0);
    while (*v) {
        while (*v == ' ')
            v++;
        assert_int_equal(strncmp(v, "=?UTF-8?B?", 10), 0);
        const char *end = strstr(v + 10, "?=");
        assert_non_null(end);
        assert_true(end + 2 - v <= 75);
        size_t n = (size_t)(end - (v + 10));
        unsigned char out[128];
        int len = EVP_DecodeBlock(out, (const unsigned char *)v + 10, (int)n);
        assert_true(len >= 0);
        len -= (n >= 1 && v[10 + n - 1] == '=') + (n >= 2 && v[10 + n - 2] == '=');
        buf_append(&b, out, (size_t)len);
        v = end + 2;
    }
    return b.data;
}

static void mail_subject_encoded(void **state)
{
    (void)state;
    struct target_conf t = target();
    struct alert a = alert(EVT_DOWN, OUTAGE_1);

    /* Not ASCII: encoded words, each within its limit, the characters
     * whole (a word that split one would not decode). */
    t.name = "caf\xc3\xa9 \xe2\x98\x95 "
             "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x82\xb5\xe3\x82\xa4\xe3\x83\x88 "
             "and a long tail of words to make it fold";
    char *m = payload_mail(mail_hook(), &a, &t, "mon1", NULL, "msg_1");
    struct msg msg = split(m);
    max_line(msg.head, 78);
    char *v = header(&msg, "Subject");
    char *decoded = decode_words(v);
    char want[512];
    snprintf(want, sizeof(want),
             "[upmon] %s is down: 503 Service Unavailable (https://api.example.com/health)",
             t.name);
    assert_string_equal(decoded, want);
    free(decoded);
    free(v);
    v = header(&msg, "X-Upmon-Target");
    decoded = decode_words(v);
    assert_string_equal(decoded, t.name);
    free(decoded);
    free(v);
    free(m);

    /* ASCII that looks like an encoded word is encoded, not taken as one. */
    t.name = "=?UTF-8?B?SGk=?=";
    m = payload_mail(mail_hook(), &a, &t, "mon1", NULL, "msg_1");
    msg = split(m);
    v = header(&msg, "X-Upmon-Target");
    decoded = decode_words(v);
    assert_string_equal(decoded, "=?UTF-8?B?SGk=?=");
    free(decoded);
    free(v);
    free(m);
}

/* ASCII folds at blanks, within 78 characters a line. */
static void mail_subject_folded(void **state)
{
    (void)state;
    struct target_conf t = target();
    struct alert a = alert(EVT_DOWN, OUTAGE_1);

    t.name = "a rather long target name that says where the site is and what it does for "
             "whom";
    char *m = payload_mail(mail_hook(), &a, &t, "mon1", NULL, "msg_1");
    struct msg msg = split(m);
    max_line(msg.head, 78);
    char *v = header(&msg, "Subject");
    assert_non_null(strstr(m, "\r\n "));
    assert_int_equal(strncmp(v, "[upmon] a rather long target name", 33), 0);
    assert_non_null(strstr(v, "for whom is down: 503"));
    free(v);
    free(m);
}

/* Nothing a site sends or a name holds adds a header. */
static void mail_header_injection(void **state)
{
    (void)state;
    struct target_conf t = target();
    struct alert a = alert(EVT_DOWN, OUTAGE_1);
    char names[512];

    t.name = "api\r\nBcc: victim@example.net";
    t.shown_url = "https://api.example.com/\r\nX-Injected-Url: 1";
    a.code = 0;
    a.error = PERR_CONNECT;
    snprintf(a.message, sizeof(a.message), "refused\r\nX-Injected: yes\r\n\r\nbody");
    snprintf(a.location, sizeof(a.location), "/x\nX-Location: 1");
    char *m = payload_mail(mail_hook(), &a, &t, "mon1\r\nX-Host: 1", NULL, "msg_1");
    struct msg msg = split(m);
    header_names(&msg, names, sizeof(names));
    assert_string_equal(names, "Date\nMessage-ID\nFrom\nTo\nSubject\nAuto-Submitted\n"
                               "X-Upmon-Target\nX-Upmon-Event\nMIME-Version\nContent-Type\n"
                               "Content-Transfer-Encoding\n");
    char *v = header(&msg, "Message-ID");
    assert_string_equal(v, "<msg_1@mon1X-Host1>");
    free(v);
    /* In the body each stays on its own line, escaped. */
    assert_null(strstr(msg.body, "\r\nX-Injected: yes"));
    assert_non_null(strstr(msg.body, "refused\\r\\nX-Injected: yes"));
    free(m);

    /* An address that is not plain is never written, even past the
     * configuration's check. */
    char *to[] = {"ops@example.com\r\nBcc: x@example.net", "ok@example.com"};
    struct webhook_conf w = *mail_hook();
    w.mail_to = to;
    w.mail_from = "a@b.example\r\nX: 1";
    m = payload_mail(&w, &a, &t, "mon1", NULL, "msg_1");
    msg = split(m);
    header_names(&msg, names, sizeof(names));
    assert_null(strstr(names, "Bcc"));
    assert_null(strstr(names, "From"));
    v = header(&msg, "To");
    assert_string_equal(v, "ok@example.com");
    free(v);
    free(m);
}

static char *qp(const char *text)
{
    struct buf b = {0};
    buf_append(&b, "", 0);
    mail_quoted_printable(&b, text);
    return b.data;
}

static void quoted_printable(void **state)
{
    (void)state;
    char *s;

    assert_string_equal(s = qp("caf\xc3\xa9 = 1\n"), "caf=C3=A9 =3D 1\r\n");
    free(s);
    /* A blank at a line's end is encoded; one inside is not. */
    assert_string_equal(s = qp("a b \nc\t\n"), "a b=20\r\nc=09\r\n");
    free(s);
    /* A dot that begins a line could end the SMTP data. */
    assert_string_equal(s = qp(".\n..x\n"), "=2E\r\n=2E.x\r\n");
    free(s);
    assert_string_equal(s = qp("a\r\nb"), "a\r\nb");
    free(s);
    /* Long lines: soft breaks, 76 characters at most, the text whole. */
    char line[301];
    memset(line, 'x', 300);
    line[300] = '\0';
    line[75] = '.';
    line[150] = '\xc3';
    line[151] = '\xa9';
    s = qp(line);
    max_line(s, 76);
    struct buf back = {0};
    buf_append(&back, "", 0);
    for (const char *p = s; *p; p++) {
        if (p[0] == '=' && p[1] == '\r') {
            p += 2;
            continue;
        }
        if (p[0] == '=') {
            char hex[3] = {p[1], p[2], 0};
            char c = (char)strtol(hex, NULL, 16);
            buf_append(&back, &c, 1);
            p += 2;
            continue;
        }
        buf_append(&back, p, 1);
    }
    assert_string_equal(back.data, line);
    buf_free(&back);
    free(s);
}

static void mail_dates(void **state)
{
    (void)state;
    char d[64];

    mail_date(0, d, sizeof(d));
    assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 +0000");
    mail_date(1614265330999, d, sizeof(d));
    assert_string_equal(d, "Thu, 25 Feb 2021 15:02:10 +0000");
    mail_date(1798761599000, d, sizeof(d));
    assert_string_equal(d, "Thu, 31 Dec 2026 23:59:59 +0000");
}

static void addresses(void **state)
{
    (void)state;
    assert_true(mail_address_valid("ops@example.com"));
    assert_true(mail_address_valid("first.last+tag@mail.example.co.uk"));
    assert_true(mail_address_valid("root@localhost"));
    assert_false(mail_address_valid(""));
    assert_false(mail_address_valid("ops"));
    assert_false(mail_address_valid("@example.com"));
    assert_false(mail_address_valid("ops@"));
    assert_false(mail_address_valid("ops@.example.com"));
    assert_false(mail_address_valid("ops@example.com."));
    assert_false(mail_address_valid("Ops <ops@example.com>"));
    assert_false(mail_address_valid("ops@example.com\r\nBcc: x@y"));
    assert_false(mail_address_valid("o ps@example.com"));
    assert_false(mail_address_valid("ops,x@example.com"));
    assert_false(mail_address_valid("ops@exa_mple.com"));
    assert_false(mail_address_valid("caf\xc3\xa9@example.com"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dedup_key_per_incident),
        cmocka_unit_test(superseded_incidents),
        cmocka_unit_test(severities),
        cmocka_unit_test(pagerduty_trigger_and_resolve),
        cmocka_unit_test(pagerduty_summary_is_bounded),
        cmocka_unit_test(mail_headers),
        cmocka_unit_test(mail_subject_encoded),
        cmocka_unit_test(mail_subject_folded),
        cmocka_unit_test(mail_header_injection),
        cmocka_unit_test(quoted_printable),
        cmocka_unit_test(mail_dates),
        cmocka_unit_test(addresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
