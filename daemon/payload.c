/* Payload builders. */
#include "payload.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "codes.h"
#include "payload_am.h"
#include "payload_pd.h"
#include "report.h"
#include "secret.h"
#include "text.h"
#include "util.h"

/* Documented in systemd/upmon.catalog; never change one once released. */
static const char *const message_ids[EVT_COUNT] = {
    [EVT_DOWN] = "fae04c57cc4b4b288cb6f314c58b5cdd",
    [EVT_REDIRECT] = "4bbd98255a2a4bb18ae93a3688aaf746",
    [EVT_CHANGED] = "e4267886119740e5949c3eaf58606b1b",
    [EVT_RECOVERED] = "2fc7fe3ed9ef4f9380235529adbd838f",
    [EVT_REMINDER] = "1c111c4c545143ada063504cab2ef6fb",
    [EVT_SLOW] = "162fb8648c834c6abe6c6ef6d3323911",
    [EVT_CERT_EXPIRING] = "de28eab2a7e84335b66e2521348904c8",
    [EVT_FLAPPING] = "7c96784f4b434cbf94db1d64bab38292",
};

const char *payload_message_id(enum event_type e)
{
    return (unsigned)e < EVT_COUNT ? message_ids[e] : message_ids[EVT_DOWN];
}

int payload_priority(enum severity s)
{
    switch (s) {
    case SEV_CRITICAL:
        return 2;
    case SEV_WARNING:
        return 4;
    case SEV_OK:
        break;
    }
    return 5;
}

void payload_type(enum event_type e, char *out, size_t len)
{
    snprintf(out, len, "upmon.target.%s", eventtype_name(e));
}

static json_t *iso_or_null(int64_t ms)
{
    char when[40];

    if (ms <= 0)
        return json_null();
    report_time(ms, when, sizeof(when));
    return text_json(when);
}

static json_t *labels_object(const struct target_conf *t)
{
    json_t *o = json_object();

    for (size_t i = 0; i < t->nlabels; i++)
        text_json_set(o, t->labels[i].key, text_json(t->labels[i].value));
    return o;
}

json_t *payload_event(const struct alert *a, const struct target_conf *t, const char *host,
                      const char *instance_location)
{
    char summary[1024];
    const char *phrase = codes_phrase(a->code);
    json_t *o = json_object();

    alert_message(a, t, summary, sizeof(summary));
    text_json_set(o, "target", text_json(t->name));
    text_json_set(o, "url", text_json(t->shown_url));
    text_json_set(o, "event", text_json(eventtype_name(a->type)));
    text_json_set(o, "state", text_json(state_name(a->state)));
    text_json_set(o, "previous_state", text_json(alert_previous_name(a->previous)));
    text_json_set(o, "severity", text_json(codes_severity_name(a->severity)));
    text_json_set(o, "code", a->code ? json_integer(a->code) : json_null());
    text_json_set(o, "phrase", phrase ? text_json(phrase) : json_null());
    text_json_set(o, "class", text_json(codes_class_name(a->cls)));
    text_json_set(o, "location", a->location[0] ? text_json(a->location) : json_null());
    text_json_set(o, "error",
                  a->error == PERR_NONE ? json_null() : text_json(probe_error_name(a->error)));
    text_json_set(o, "message", a->message[0] ? text_json(a->message) : json_null());
    text_json_set(o, "latency_ms",
                  a->latency_us >= 0 ? json_real(report_ms(a->latency_us)) : json_null());
    text_json_set(o, "since", iso_or_null(a->since_ms));
    text_json_set(o, "time", iso_or_null(a->time_ms));
    if (a->cert_not_after > 0) {
        text_json_set(o, "cert_expires", iso_or_null(a->cert_not_after * 1000));
        text_json_set(o, "cert_subject", text_json(a->cert_subject));
        text_json_set(o, "cert_issuer", text_json(a->cert_issuer));
    }
    text_json_set(o, "labels", labels_object(t));
    text_json_set(o, "host", text_json(host));
    text_json_set(o, "instance_location",
                  instance_location ? text_json(instance_location) : json_null());
    text_json_set(o, "summary", text_json(summary));
    return o;
}

static char *body_standard(const struct alert *a, const struct target_conf *t, const char *host,
                           const char *instance_location)
{
    char type[64];
    json_t *o = json_object();

    payload_type(a->type, type, sizeof(type));
    text_json_set(o, "type", text_json(type));
    text_json_set(o, "timestamp", iso_or_null(a->time_ms));
    text_json_set(o, "data", payload_event(a, t, host, instance_location));
    return text_json_dump(o);
}

/* Text as Slack's message formatting wants it: &, < and > would otherwise
 * be read as markup (<URL|label>, <@mention>, &entity;). Only these three
 * are escaped, as Slack asks; everything else is shown as it is. */
static json_t *slack_text(const char *s)
{
    struct buf b = {0};

    buf_append(&b, "", 0);
    for (const char *p = s;; p++) {
        size_t n = strcspn(p, "&<>");
        buf_append(&b, p, n);
        p += n;
        if (*p == '\0')
            break;
        const char *entity = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : "&gt;";
        buf_append(&b, entity, strlen(entity));
    }
    json_t *j = text_json(b.data);
    buf_free(&b);
    return j;
}

/* The colour bar of a slack attachment: Slack's own "danger", an amber
 * for warnings and its "good" for recoveries, as hex so that Mattermost
 * and Rocket.Chat show the same colours. */
static const char *slack_color(enum severity s)
{
    switch (s) {
    case SEV_CRITICAL:
        return "#d50200";
    case SEV_WARNING:
        return "#e09d00";
    case SEV_OK:
        break;
    }
    return "#2eb886";
}

static void slack_field(json_t *fields, const char *title, const char *value, bool is_short)
{
    json_t *f = json_object();

    text_json_set(f, "title", text_json(title));
    text_json_set(f, "value", slack_text(value));
    text_json_set(f, "short", json_boolean(is_short));
    text_json_append(fields, f);
}

/* The top-level text that every receiver shows, and one legacy attachment
 * (which Slack, Mattermost and Rocket.Chat all render) with the colour of
 * the severity and the facts of the alert as fields. */
static char *body_slack(const struct webhook_conf *w, const struct alert *a,
                        const struct target_conf *t, const char *host,
                        const char *instance_location)
{
    char summary[1024], line[RESULT_MESSAGE_MAX + 64];
    const char *phrase = codes_phrase(a->code);
    json_t *fields = json_array();

    alert_message(a, t, summary, sizeof(summary));
    if (a->code) {
        snprintf(line, sizeof(line), "%d %s", a->code, phrase ? phrase : "(unregistered)");
        slack_field(fields, "Code", line, true);
    }
    slack_field(fields, "Monitor", host, true);
    if (instance_location)
        slack_field(fields, "Monitor location", instance_location, true);
    if (a->error != PERR_NONE) {
        if (a->message[0])
            snprintf(line, sizeof(line), "%s: %s", probe_error_name(a->error), a->message);
        else
            snprintf(line, sizeof(line), "%s", probe_error_name(a->error));
        slack_field(fields, "Error", line, false);
    }
    if (a->location[0])
        slack_field(fields, "Location", a->location, false);
    slack_field(fields, "URL", t->shown_url, false);
    if (t->nlabels) {
        struct buf b = {0};
        for (size_t i = 0; i < t->nlabels; i++) {
            if (i)
                buf_append(&b, ", ", 2);
            buf_append(&b, t->labels[i].key, strlen(t->labels[i].key));
            buf_append(&b, "=", 1);
            buf_append(&b, t->labels[i].value, strlen(t->labels[i].value));
        }
        slack_field(fields, "Labels", b.data, false);
        buf_free(&b);
    }
    /* Which certificate, and when: in a chain, the one that ends first
     * may not be the site's own. */
    if (a->type == EVT_CERT_EXPIRING && a->cert_not_after > 0) {
        char when[40];
        if (a->cert_subject[0])
            slack_field(fields, "Certificate", a->cert_subject, false);
        if (a->cert_issuer[0])
            slack_field(fields, "Issuer", a->cert_issuer, false);
        report_time(a->cert_not_after * 1000, when, sizeof(when));
        slack_field(fields, "Expires", when, true);
    }

    json_t *att = json_object();
    text_json_set(att, "color", text_json(slack_color(a->severity)));
    text_json_set(att, "fallback", slack_text(summary));
    text_json_set(att, "fields", fields);
    json_t *attachments = json_array();
    text_json_append(attachments, att);

    json_t *o = json_object();
    text_json_set(o, "text", slack_text(summary));
    text_json_set(o, "attachments", attachments);
    /* Only when set: otherwise the receiver's own name and picture. */
    if (w->username)
        text_json_set(o, "username", text_json(w->username));
    if (w->icon_url)
        text_json_set(o, "icon_url", text_json(w->icon_url));
    if (w->icon_emoji)
        text_json_set(o, "icon_emoji", text_json(w->icon_emoji));
    return text_json_dump(o);
}

char *payload_body(const struct webhook_conf *w, const struct alert *a, const struct target_conf *t,
                   const char *host, const char *instance_location)
{
    switch (w->format) {
    case WEBHOOK_SLACK:
        return body_slack(w, a, t, host, instance_location);
    case WEBHOOK_PAGERDUTY:
        return payload_pagerduty(a, t, host, instance_location);
    case WEBHOOK_ALERTMANAGER: {
        /* With no record of what was sent: what the event says. */
        struct am_sent sent;
        struct am_site site = {host, NULL, instance_location};
        am_assume_previous(&sent, a);
        char *body = am_event_body(&sent, a, t, &site, 4 * (int64_t)w->resend_every_ms);
        return body ? body : xstrdup("[]");
    }
    case WEBHOOK_ALERTMANAGER_WEBHOOK: {
        char *out[AM_NOTIFICATIONS_MAX];
        size_t n = am_notifications(a, t, host, instance_location, w->name, out);
        for (size_t i = 1; i < n; i++)
            free(out[i]);
        return out[0];
    }
    case WEBHOOK_EMAIL: /* a message, made with its delivery's id: payload_mail.h */
    case WEBHOOK_STANDARD:
        break;
    }
    return body_standard(a, t, host, instance_location);
}

int payload_sign(const char *secret, const char *id, int64_t timestamp, const char *body,
                 size_t body_len, char *out, size_t outlen)
{
    unsigned char key[512], mac[EVP_MAX_MD_SIZE];
    char prefix[256];
    int keylen = secret_decode(secret, key, sizeof(key));

    if (keylen < 0)
        return -1;
    int plen = snprintf(prefix, sizeof(prefix), "%s.%lld.", id, (long long)timestamp);
    if (plen < 0 || (size_t)plen >= sizeof(prefix)) {
        OPENSSL_cleanse(key, sizeof(key));
        return -1;
    }
    /* HMAC-SHA256 over id.timestamp.body, fed in two parts so the body is
     * not copied. */
    EVP_MAC *macalg = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *mctx = macalg ? EVP_MAC_CTX_new(macalg) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    size_t mlen = 0;
    int ok = mctx && EVP_MAC_init(mctx, key, (size_t)keylen, params) &&
             EVP_MAC_update(mctx, (const unsigned char *)prefix, (size_t)plen) &&
             EVP_MAC_update(mctx, (const unsigned char *)body, body_len) &&
             EVP_MAC_final(mctx, mac, &mlen, sizeof(mac));
    EVP_MAC_CTX_free(mctx);
    EVP_MAC_free(macalg);
    OPENSSL_cleanse(key, sizeof(key));
    if (!ok || outlen < 3 + 4 * ((mlen + 2) / 3) + 1)
        return -1;
    memcpy(out, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)out + 3, mac, (int)mlen);
    return 0;
}

/* KEY=value, the value valid UTF-8: journalctl shows one that is not as a
 * blob. */
static char *field(const char *key, const char *value)
{
    size_t klen = strlen(key), n = strlen(value);
    char *f = xmalloc(klen + 1 + 3 * n + 1); /* a byte becomes at most U+FFFD */

    memcpy(f, key, klen);
    f[klen] = '=';
    text_sanitize(f + klen + 1, 3 * n + 1, value, n, 0);
    return f;
}

size_t payload_journal(const struct alert *a, const struct target_conf *t, const char *host,
                       const char *instance_location, char **fields)
{
    char summary[1024], num[64], when[40], detail[ALERT_DETAIL_MAX];
    const char *phrase = codes_phrase(a->code);
    size_t n = 0;

    alert_message(a, t, summary, sizeof(summary));
    alert_detail(a, detail, sizeof(detail));
    fields[n++] = field("MESSAGE", summary);
    snprintf(num, sizeof(num), "%d", payload_priority(a->severity));
    fields[n++] = field("PRIORITY", num);
    fields[n++] = field("MESSAGE_ID", payload_message_id(a->type));
    fields[n++] = field("SYSLOG_IDENTIFIER", "upmond");
    fields[n++] = field("UPMON_TARGET", t->name);
    fields[n++] = field("UPMON_URL", t->shown_url);
    fields[n++] = field("UPMON_EVENT", eventtype_name(a->type));
    fields[n++] = field("UPMON_STATE", state_name(a->state));
    fields[n++] = field("UPMON_PREVIOUS_STATE", alert_previous_name(a->previous));
    fields[n++] = field("UPMON_SEVERITY", codes_severity_name(a->severity));
    fields[n++] = field("UPMON_CLASS", codes_class_name(a->cls));
    fields[n++] = field("UPMON_HOST", host);
    if (instance_location)
        fields[n++] = field("UPMON_INSTANCE_LOCATION", instance_location);
    /* Always there, whatever the answer: the catalog's texts name it. */
    fields[n++] = field("UPMON_DETAIL", detail);
    if (a->code) {
        snprintf(num, sizeof(num), "%d", a->code);
        fields[n++] = field("UPMON_CODE", num);
    }
    if (phrase)
        fields[n++] = field("UPMON_PHRASE", phrase);
    if (a->location[0])
        fields[n++] = field("UPMON_LOCATION", a->location);
    if (a->error != PERR_NONE)
        fields[n++] = field("UPMON_ERROR", probe_error_name(a->error));
    if (a->message[0])
        fields[n++] = field("UPMON_ERROR_MESSAGE", a->message);
    if (a->latency_us >= 0) {
        snprintf(num, sizeof(num), "%.1f", report_ms(a->latency_us));
        fields[n++] = field("UPMON_LATENCY_MS", num);
    }
    if (a->since_ms > 0) {
        report_time(a->since_ms, when, sizeof(when));
        fields[n++] = field("UPMON_SINCE", when);
    }
    if (a->cert_not_after > 0) {
        report_time(a->cert_not_after * 1000, when, sizeof(when));
        fields[n++] = field("UPMON_CERT_EXPIRES", when);
        fields[n++] = field("UPMON_CERT_SUBJECT", a->cert_subject);
        fields[n++] = field("UPMON_CERT_ISSUER", a->cert_issuer);
    }
    /* Labels as UPMON_LABEL_<NAME>, so journalctl UPMON_LABEL_TEAM=web works. */
    for (size_t i = 0; i < t->nlabels && n < PAYLOAD_JOURNAL_MAX; i++) {
        char key[96];
        int k = snprintf(key, sizeof(key), "UPMON_LABEL_");
        for (const char *p = t->labels[i].key; *p && k < (int)sizeof(key) - 1; p++)
            key[k++] = (char)toupper((unsigned char)*p);
        key[k] = '\0';
        fields[n++] = field(key, t->labels[i].value);
    }
    return n;
}
