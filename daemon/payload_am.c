/* Alertmanager bodies (see payload_am.h). */
#include "payload_am.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "codes.h"
#include "report.h"
#include "text.h"
#include "util.h"

static const char *const alertnames[AM_KINDS] = {
    [AM_DOWN] = "UpmonTargetDown",          [AM_REDIRECTING] = "UpmonTargetRedirecting",
    [AM_SLOW] = "UpmonTargetSlow",          [AM_FLAPPING] = "UpmonTargetFlapping",
    [AM_CERT] = "UpmonCertificateExpiring",
};

/* The labels upmond sets itself. A target's label of the same name is
 * sent as exported_NAME, as Prometheus renames a scraped label that
 * clashes with one it sets: the alert's identity stays upmond's. */
static const char *const own_labels[] = {"alertname", "target",  "severity",
                                         "instance",  "monitor", "location"};

#define BIT(k) (1u << (k))

const char *am_alertname(enum am_kind k)
{
    return (unsigned)k < AM_KINDS ? alertnames[k] : alertnames[AM_DOWN];
}

unsigned am_told_firing(const struct am_told *t)
{
    unsigned bits = 0;

    if (t->state == ST_REDIRECTING)
        bits |= BIT(AM_REDIRECTING);
    else if (state_is_failing(t->state))
        bits |= BIT(AM_DOWN);
    if (t->slow && t->state == ST_UP)
        bits |= BIT(AM_SLOW);
    if (t->flapping)
        bits |= BIT(AM_FLAPPING);
    if (t->cert)
        bits |= BIT(AM_CERT);
    return bits;
}

unsigned am_sent_firing(const struct am_sent *s)
{
    unsigned bits = 0;

    for (int k = 0; k < AM_KINDS; k++)
        if (s->sev[k])
            bits |= BIT(k);
    return bits;
}

static json_t *iso(int64_t ms)
{
    char when[40];

    report_time(ms, when, sizeof(when));
    return text_json(when);
}

static bool own_label(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(own_labels); i++)
        if (strcmp(name, own_labels[i]) == 0)
            return true;
    return false;
}

static json_t *push_labels(const struct target_conf *t, const struct am_site *site, enum am_kind k,
                           enum severity sev)
{
    json_t *l = json_object();

    /* An empty value is no label to Alertmanager, as to Prometheus. */
    for (size_t i = 0; i < t->nlabels; i++) {
        if (!t->labels[i].value[0])
            continue;
        if (own_label(t->labels[i].key)) {
            char name[64];
            snprintf(name, sizeof(name), "exported_%s", t->labels[i].key);
            text_json_set(l, name, text_json(t->labels[i].value));
        } else {
            text_json_set(l, t->labels[i].key, text_json(t->labels[i].value));
        }
    }
    text_json_set(l, "alertname", text_json(am_alertname(k)));
    text_json_set(l, "target", text_json(t->name));
    text_json_set(l, "severity", text_json(codes_severity_name(sev)));
    text_json_set(l, "instance", text_json(t->shown_url));
    text_json_set(l, "monitor", text_json(site->host));
    /* The same target seen from two places is two alerts. */
    if (site->location)
        text_json_set(l, "location", text_json(site->location));
    return l;
}

/* What people read: the summary line, the answer in words, and each fact
 * by itself for templates. */
static json_t *push_annotations(const struct alert *a, const struct target_conf *t)
{
    char summary[1024], detail[ALERT_DETAIL_MAX];
    const struct code_info *ci = a->code ? codes_lookup(a->code) : NULL;
    json_t *o = json_object();

    alert_message(a, t, summary, sizeof(summary));
    alert_detail(a, detail, sizeof(detail));
    text_json_set(o, "summary", text_json(summary));
    text_json_set(o, "description", text_json(detail));
    text_json_set(o, "url", text_json(t->shown_url));
    text_json_set(o, "event", text_json(eventtype_name(a->type)));
    text_json_set(o, "state", text_json(state_name(a->state)));
    if (a->code) {
        text_json_set(o, "code", json_sprintf("%d", a->code));
        if (ci) {
            text_json_set(o, "phrase", text_json(ci->phrase));
            text_json_set(o, "meaning", text_json(ci->meaning));
        }
    }
    if (a->error != PERR_NONE) {
        text_json_set(o, "error", text_json(probe_error_name(a->error)));
        if (a->message[0])
            text_json_set(o, "error_message", text_json(a->message));
    }
    if (a->location[0])
        text_json_set(o, "redirect_location", text_json(a->location));
    if (a->cert_not_after > 0) {
        text_json_set(o, "cert_expires", iso(a->cert_not_after * 1000));
        if (a->cert_subject[0])
            text_json_set(o, "cert_subject", text_json(a->cert_subject));
        if (a->cert_issuer[0])
            text_json_set(o, "cert_issuer", text_json(a->cert_issuer));
    }
    return o;
}

/* One PostableAlert. */
static json_t *postable(const struct alert *a, const struct target_conf *t,
                        const struct am_site *site, enum am_kind k, enum severity sev,
                        int64_t starts_ms, int64_t ends_ms)
{
    json_t *o = json_object();

    text_json_set(o, "labels", push_labels(t, site, k, sev));
    text_json_set(o, "annotations", push_annotations(a, t));
    text_json_set(o, "startsAt", iso(starts_ms));
    text_json_set(o, "endsAt", iso(ends_ms));
    if (site->external_url && site->external_url[0])
        text_json_set(o, "generatorURL", text_json(site->external_url));
    return o;
}

/* The kind an event fires (-1: none) and the kinds it ends. */
static int fired_kind(const struct alert *a)
{
    switch (a->type) {
    case EVT_DOWN:
    case EVT_CHANGED:
    case EVT_REMINDER:
        return AM_DOWN;
    case EVT_REDIRECT:
        return AM_REDIRECTING;
    case EVT_SLOW:
        return AM_SLOW;
    case EVT_FLAPPING:
        return AM_FLAPPING;
    case EVT_CERT_EXPIRING:
        return AM_CERT;
    case EVT_RECOVERED:
        break;
    }
    return -1;
}

static unsigned ended_kinds(const struct alert *a)
{
    /* A state the target is in ends every other state, flapping (state
     * alerts come only once it settles) and slowness (only up is slow). */
    const unsigned states = BIT(AM_DOWN) | BIT(AM_REDIRECTING) | BIT(AM_FLAPPING) | BIT(AM_SLOW);

    switch (a->type) {
    case EVT_DOWN:
    case EVT_CHANGED:
    case EVT_REMINDER:
    case EVT_REDIRECT:
        return states;
    case EVT_RECOVERED:
        return a->previous == PREV_SLOW ? BIT(AM_SLOW) : states;
    case EVT_SLOW:
    case EVT_FLAPPING:
    case EVT_CERT_EXPIRING:
        break;
    }
    return 0;
}

/* When a kind fired by an event began: the state's start for the state
 * kinds, the event for the others. */
static int64_t fired_start(const struct alert *a, enum am_kind k)
{
    if ((k == AM_DOWN || k == AM_REDIRECTING) && a->since_ms > 0)
        return a->since_ms;
    return a->time_ms;
}

char *am_event_body(struct am_sent *s, const struct alert *a, const struct target_conf *t,
                    const struct am_site *site, int64_t ttl_ms)
{
    int fired = fired_kind(a);
    unsigned ended = ended_kinds(a);
    enum severity sev = a->severity;
    json_t *list = json_array();

    s->known = true;
    for (int k = 0; k < AM_KINDS; k++) {
        if (!s->sev[k] || !(ended & BIT(k)))
            continue;
        /* The same alert firing on needs no resolving; one that fires
         * with another severity is another alert, and the old one ends. */
        if (k == fired && s->sev[k] == sev + 1)
            continue;
        text_json_append(list, postable(a, t, site, (enum am_kind)k, (enum severity)(s->sev[k] - 1),
                                        s->starts_ms[k], a->time_ms));
        s->sev[k] = 0;
    }
    if (fired >= 0) {
        if (s->sev[fired] != sev + 1) {
            s->sev[fired] = (uint8_t)(sev + 1);
            s->starts_ms[fired] = fired_start(a, (enum am_kind)fired);
        }
        text_json_append(list, postable(a, t, site, (enum am_kind)fired, sev, s->starts_ms[fired],
                                        a->time_ms + ttl_ms));
    }
    if (json_array_size(list) == 0) {
        json_decref(list);
        return NULL;
    }
    return text_json_dump(list);
}

void am_seed(struct am_sent *s, const struct am_told *told, int64_t now_ms)
{
    unsigned firing = am_told_firing(told);

    memset(s, 0, sizeof(*s));
    s->known = true;
    for (int k = 0; k < AM_KINDS; k++) {
        if (!(firing & BIT(k)))
            continue;
        bool state_kind = k == AM_DOWN || k == AM_REDIRECTING;
        s->sev[k] = (uint8_t)((state_kind ? told->severity : SEV_WARNING) + 1);
        s->starts_ms[k] = state_kind && told->since_ms > 0 ? told->since_ms : now_ms;
    }
}

static int kind_of_previous(enum alert_previous p);

void am_assume_previous(struct am_sent *s, const struct alert *a)
{
    int k = kind_of_previous(a->previous);

    memset(s, 0, sizeof(*s));
    s->known = true;
    if (k < 0)
        return;
    bool state_kind = k == AM_DOWN || k == AM_REDIRECTING;
    s->sev[k] = (uint8_t)((state_kind ? a->filter_severity : SEV_WARNING) + 1);
    s->starts_ms[k] = a->since_ms > 0 ? a->since_ms : a->time_ms;
}

void am_filter(struct am_sent *s, uint32_t events, enum severity min)
{
    static const enum event_type fired_by[AM_KINDS] = {[AM_DOWN] = EVT_DOWN,
                                                       [AM_REDIRECTING] = EVT_REDIRECT,
                                                       [AM_SLOW] = EVT_SLOW,
                                                       [AM_FLAPPING] = EVT_FLAPPING,
                                                       [AM_CERT] = EVT_CERT_EXPIRING};

    for (int k = 0; k < AM_KINDS; k++)
        if (s->sev[k] && (!(events & (1u << fired_by[k])) || s->sev[k] - 1 < (int)min))
            s->sev[k] = 0;
}

/* The event a re-sent kind is shown as: a down target is still down. */
static enum event_type resend_event(enum am_kind k)
{
    static const enum event_type ev[AM_KINDS] = {[AM_DOWN] = EVT_REMINDER,
                                                 [AM_REDIRECTING] = EVT_REDIRECT,
                                                 [AM_SLOW] = EVT_SLOW,
                                                 [AM_FLAPPING] = EVT_FLAPPING,
                                                 [AM_CERT] = EVT_CERT_EXPIRING};
    return ev[k];
}

char *am_resend_body(struct am_sent *s, const struct am_told *told, const struct alert *base,
                     const struct target_conf *t, const struct am_site *site, int64_t now_ms,
                     int64_t ttl_ms)
{
    unsigned firing = am_told_firing(told);
    json_t *list = json_array();

    for (int k = 0; k < AM_KINDS; k++) {
        if (!s->sev[k])
            continue;
        struct alert a = *base;
        enum severity sev = (enum severity)(s->sev[k] - 1);
        a.type = resend_event((enum am_kind)k);
        a.severity = a.filter_severity = sev;
        a.time_ms = now_ms;
        a.since_ms = s->starts_ms[k];
        a.duration_ms = now_ms - s->starts_ms[k];
        if (firing & BIT(k)) {
            text_json_append(list, postable(&a, t, site, (enum am_kind)k, sev, s->starts_ms[k],
                                            now_ms + ttl_ms));
        } else {
            text_json_append(list,
                             postable(&a, t, site, (enum am_kind)k, sev, s->starts_ms[k], now_ms));
            s->sev[k] = 0;
        }
    }
    if (json_array_size(list) == 0) {
        json_decref(list);
        return NULL;
    }
    return text_json_dump(list);
}

char *am_refresh(const char *body, int64_t created_ms, int64_t now_ms, int64_t ttl_ms)
{
    char made[40], ends[40];
    json_t *list = json_loads(body, 0, NULL);
    size_t i;
    json_t *alert;

    if (!json_is_array(list)) {
        json_decref(list);
        return NULL;
    }
    /* The times are all report_time's: compared as strings, they compare
     * as times. */
    report_time(created_ms, made, sizeof(made));
    report_time(now_ms + ttl_ms, ends, sizeof(ends));
    json_array_foreach(list, i, alert)
    {
        const char *e = json_string_value(json_object_get(alert, "endsAt"));
        if (e && strcmp(e, made) > 0)
            json_object_set_new(alert, "endsAt", json_string(ends));
    }
    return text_json_dump(list);
}

size_t am_body_targets(const char *body, char ***out)
{
    json_t *list = json_loads(body, 0, NULL);
    size_t i, n = 0;
    json_t *alert;

    *out = xcalloc(json_array_size(list) + 1, sizeof(**out));
    json_array_foreach(list, i, alert)
    {
        const char *t =
            json_string_value(json_object_get(json_object_get(alert, "labels"), "target"));
        bool seen = t == NULL;
        for (size_t j = 0; j < n && !seen; j++)
            seen = strcmp((*out)[j], t) == 0;
        if (!seen)
            (*out)[n++] = xstrdup(t);
    }
    json_decref(list);
    return n;
}

char *am_endpoint(const char *url)
{
    CURLU *u = curl_url();
    char *path = NULL, *full = NULL, *out;

    if (u == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
        curl_url_cleanup(u);
        return xstrdup(url);
    }
    if ((path[0] == '\0' || strcmp(path, "/") == 0) &&
        curl_url_set(u, CURLUPART_PATH, "/api/v2/alerts", 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_URL, &full, 0) == CURLUE_OK)
        out = xstrdup(full);
    else
        out = xstrdup(url);
    curl_free(full);
    curl_free(path);
    curl_url_cleanup(u);
    return out;
}

/* ---- format alertmanager-webhook ---- */

static json_t *iso_or_null(int64_t ms)
{
    return ms > 0 ? iso(ms) : json_null();
}

/* The kind that what came before an event had fired; -1 for up and
 * unknown, which fire nothing. */
static int kind_of_previous(enum alert_previous p)
{
    switch (p) {
    case PREV_REDIRECTING:
        return AM_REDIRECTING;
    case PREV_SLOW:
        return AM_SLOW;
    case PREV_FLAPPING:
        return AM_FLAPPING;
    case PREV_UP:
    case PREV_UNKNOWN:
        return -1;
    case PREV_CLIENT_ERROR:
    case PREV_SERVER_ERROR:
    case PREV_UNREACHABLE:
    case PREV_CONTENT:
    case PREV_UNEXPECTED:
        break;
    }
    return AM_DOWN; /* every failing state */
}

/* What an event fires or, for recovered, resolves. */
static enum am_kind kind_of(const struct alert *a)
{
    int k = a->type == EVT_RECOVERED ? kind_of_previous(a->previous) : fired_kind(a);
    return k >= 0 ? (enum am_kind)k : AM_DOWN;
}

/* Stable per target and alert name, so a recovery resolves what its
 * outage fired. */
static void fingerprint(const struct target_conf *t, const char *name, char out[17])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, t->name, strlen(t->name) + 1);
    EVP_DigestUpdate(ctx, name, strlen(name));
    EVP_DigestFinal_ex(ctx, md, NULL);
    EVP_MD_CTX_free(ctx);
    for (int i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static json_t *labels_object(const struct target_conf *t)
{
    json_t *o = json_object();

    for (size_t i = 0; i < t->nlabels; i++)
        text_json_set(o, t->labels[i].key, text_json(t->labels[i].value));
    return o;
}

static json_t *v4_alert(const struct alert *a, const struct target_conf *t, const char *host,
                        const char *location, const char *name, bool resolved)
{
    char summary[1024], fp[17];
    json_t *labels = labels_object(t);

    alert_message(a, t, summary, sizeof(summary));
    fingerprint(t, name, fp);
    text_json_set(labels, "alertname", text_json(name));
    text_json_set(labels, "target", text_json(t->name));
    text_json_set(labels, "instance", text_json(t->shown_url));
    text_json_set(labels, "severity",
                  text_json(codes_severity_name(resolved ? a->filter_severity : a->severity)));
    text_json_set(labels, "monitor", text_json(host));
    if (location)
        text_json_set(labels, "location", text_json(location));

    json_t *ann = json_object();
    text_json_set(ann, "summary", text_json(summary));
    text_json_set(ann, "event", text_json(eventtype_name(a->type)));
    text_json_set(ann, "state", text_json(state_name(a->state)));
    if (a->code)
        text_json_set(ann, "code", json_sprintf("%d", a->code));
    if (a->error != PERR_NONE)
        text_json_set(ann, "error", text_json(probe_error_name(a->error)));
    if (a->location[0])
        text_json_set(ann, "location", text_json(a->location));
    if (a->cert_not_after > 0) {
        text_json_set(ann, "cert_expires", iso(a->cert_not_after * 1000));
        if (a->cert_subject[0])
            text_json_set(ann, "cert_subject", text_json(a->cert_subject));
        if (a->cert_issuer[0])
            text_json_set(ann, "cert_issuer", text_json(a->cert_issuer));
    }

    json_t *alert = json_object();
    text_json_set(alert, "status", text_json(resolved ? "resolved" : "firing"));
    text_json_set(alert, "labels", labels);
    text_json_set(alert, "annotations", ann);
    text_json_set(alert, "startsAt", iso_or_null(a->since_ms > 0 ? a->since_ms : a->time_ms));
    text_json_set(alert, "endsAt",
                  resolved ? iso_or_null(a->time_ms) : text_json("0001-01-01T00:00:00Z"));
    text_json_set(alert, "generatorURL", text_json(t->shown_url));
    text_json_set(alert, "fingerprint", text_json(fp));
    return alert;
}

/* One notification of one alert, as Alertmanager groups by alertname and
 * target. */
static char *v4_notification(const struct alert *a, const struct target_conf *t, const char *host,
                             const char *location, const char *receiver, const char *name,
                             bool resolved)
{
    char gk[512];
    json_t *alert = v4_alert(a, t, host, location, name, resolved);
    json_t *alerts = json_array();

    json_t *group = json_object();
    text_json_set(group, "alertname", text_json(name));
    text_json_set(group, "target", text_json(t->name));
    snprintf(gk, sizeof(gk), "{}:{alertname=\"%s\", target=\"%s\"}", name, t->name);

    json_t *o = json_object();
    text_json_set(o, "version", text_json("4"));
    text_json_set(o, "groupKey", text_json(gk));
    text_json_set(o, "truncatedAlerts", json_integer(0));
    text_json_set(o, "status", text_json(resolved ? "resolved" : "firing"));
    text_json_set(o, "receiver", text_json(receiver));
    text_json_set(o, "groupLabels", group);
    text_json_set(o, "commonLabels", json_deep_copy(json_object_get(alert, "labels")));
    text_json_set(o, "commonAnnotations", json_deep_copy(json_object_get(alert, "annotations")));
    text_json_set(o, "externalURL", text_json(""));
    text_json_append(alerts, alert);
    text_json_set(o, "alerts", alerts);
    return text_json_dump(o);
}

size_t am_notifications(const struct alert *a, const struct target_conf *t, const char *host,
                        const char *location, const char *receiver, char **out)
{
    bool resolved = a->type == EVT_RECOVERED;
    enum am_kind k = kind_of(a);
    int before = kind_of_previous(a->previous);
    size_t n = 0;

    out[n++] = v4_notification(a, t, host, location, receiver, am_alertname(k), resolved);
    if (!resolved && before >= 0 && (enum am_kind)before != k && a->type != EVT_CERT_EXPIRING &&
        a->type != EVT_FLAPPING)
        out[n++] = v4_notification(a, t, host, location, receiver,
                                   am_alertname((enum am_kind)before), true);
    return n;
}
