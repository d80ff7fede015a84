/* PagerDuty Events API v2 bodies. */
#include "payload_pd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "codes.h"
#include "payload.h"
#include "report.h"
#include "text.h"
#include "util.h"

/* PagerDuty's limit on payload.summary. */
#define PD_SUMMARY_MAX 1024

/* The kind of trouble a target was in before an event, or NULL for
 * none. */
static const char *previous_kind(enum alert_previous p)
{
    switch (p) {
    case PREV_UNKNOWN:
    case PREV_UP:
        return NULL;
    case PREV_REDIRECTING:
        return "redirect";
    case PREV_SLOW:
        return "slow";
    case PREV_FLAPPING:
        return "flapping";
    case PREV_CLIENT_ERROR:
    case PREV_SERVER_ERROR:
    case PREV_UNREACHABLE:
    case PREV_CONTENT:
    case PREV_UNEXPECTED:
        break;
    }
    return "down";
}

/* The kind of trouble an event is about: for a recovery, the kind it
 * ends. */
static const char *incident_kind(const struct alert *a)
{
    if (a->type == EVT_RECOVERED)
        return previous_kind(a->previous) ? previous_kind(a->previous) : "down";
    switch (a->type) {
    case EVT_REDIRECT:
        return "redirect";
    case EVT_SLOW:
        return "slow";
    case EVT_CERT_EXPIRING:
        return "cert_expiring";
    case EVT_FLAPPING:
        return "flapping";
    case EVT_RECOVERED:
    case EVT_DOWN:
    case EVT_CHANGED:
    case EVT_REMINDER:
        break;
    }
    return "down";
}

/* The key of the incident of kind that began at since (or of the
 * certificate that ends at cert_not_after). */
static void incident_key(const struct target_conf *t, const char *kind, int64_t since,
                         int64_t cert_not_after, char out[PD_DEDUP_KEY_LEN])
{
    long long anchor = strcmp(kind, "cert_expiring") == 0 ? (long long)cert_not_after
                       : strcmp(kind, "flapping") == 0    ? 0
                                                          : (long long)since;
    char when[32];
    unsigned char md[SHA256_DIGEST_LENGTH];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    if (ctx == NULL) {
        fprintf(stderr, "upmond: out of memory\n");
        abort();
    }
    snprintf(when, sizeof(when), "%lld", anchor);
    /* Each part with its NUL, so no two triples hash the same text. */
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, t->name, strlen(t->name) + 1);
    EVP_DigestUpdate(ctx, kind, strlen(kind) + 1);
    EVP_DigestUpdate(ctx, when, strlen(when) + 1);
    EVP_DigestFinal_ex(ctx, md, NULL);
    EVP_MD_CTX_free(ctx);
    memcpy(out, "upmon-", 6);
    for (int i = 0; i < 16; i++)
        snprintf(out + 6 + 2 * i, 3, "%02x", md[i]);
}

void pagerduty_dedup_key(const struct alert *a, const struct target_conf *t,
                         char out[PD_DEDUP_KEY_LEN])
{
    incident_key(t, incident_kind(a), a->since_ms, a->cert_not_after, out);
}

const char *pagerduty_severity(enum severity s)
{
    switch (s) {
    case SEV_CRITICAL:
        return "critical";
    case SEV_WARNING:
        return "warning";
    case SEV_OK:
        break;
    }
    return "info";
}

/* The name of the watch file a target is defined in, without its
 * directory and extension: PagerDuty's group, as the status page groups
 * by default. */
static json_t *group_of(const struct target_conf *t)
{
    const char *f = t->file ? t->file : "";
    const char *base = strrchr(f, '/') ? strrchr(f, '/') + 1 : f;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    char *g = xasprintf("%.*s", (int)n, base);
    json_t *j = text_json(g);

    free(g);
    return j;
}

/* A resolve of key, as from host. */
static char *resolve_body(const char *key, const char *host)
{
    json_t *o = json_object();
    char *client = xasprintf("upmon on %s", host);

    text_json_set(o, "event_action", text_json("resolve"));
    text_json_set(o, "dedup_key", text_json(key));
    text_json_set(o, "client", text_json(client));
    free(client);
    return text_json_dump(o);
}

char *payload_pagerduty(const struct alert *a, const struct target_conf *t, const char *host,
                        const char *instance_location)
{
    char key[PD_DEDUP_KEY_LEN], summary[PD_SUMMARY_MAX], when[40];
    json_t *o;

    pagerduty_dedup_key(a, t, key);
    /* A resolve needs no more: PagerDuty keeps what the trigger said. */
    if (a->type == EVT_RECOVERED)
        return resolve_body(key, host);
    o = json_object();
    text_json_set(o, "event_action", text_json("trigger"));
    text_json_set(o, "dedup_key", text_json(key));
    char *client = xasprintf("upmon on %s", host);
    text_json_set(o, "client", text_json(client));
    free(client);

    alert_message(a, t, summary, sizeof(summary));
    report_time(a->time_ms, when, sizeof(when));
    json_t *details = payload_event(a, t, host, instance_location);
    const struct code_info *ci = a->code ? codes_lookup(a->code) : NULL;
    if (ci && ci->meaning)
        text_json_set(details, "meaning", text_json(ci->meaning));

    json_t *p = json_object();
    text_json_set(p, "summary", text_json(summary));
    text_json_set(p, "source", text_json(t->shown_url));
    text_json_set(p, "severity", text_json(pagerduty_severity(a->severity)));
    text_json_set(p, "timestamp", text_json(when));
    text_json_set(p, "component", text_json(t->name));
    text_json_set(p, "group", group_of(t));
    text_json_set(p, "class", text_json(incident_kind(a)));
    text_json_set(p, "custom_details", details);
    text_json_set(o, "payload", p);

    json_t *link = json_object();
    text_json_set(link, "href", text_json(t->shown_url));
    char *text = xasprintf("%s (the URL upmon probes)", t->name);
    text_json_set(link, "text", text_json(text));
    free(text);
    json_t *links = json_array();
    text_json_append(links, link);
    text_json_set(o, "links", links);
    return text_json_dump(o);
}

char *pagerduty_superseded(const struct alert *a, const struct target_conf *t, const char *host)
{
    const char *before = previous_kind(a->previous);
    char key[PD_DEDUP_KEY_LEN];
    int64_t since = 0;

    switch (a->type) {
    case EVT_DOWN:
    case EVT_REDIRECT:
        /* Out of flapping, previous_since_ms is not that of a state, and
         * flapping's key needs none. */
        since = a->previous_since_ms;
        break;
    case EVT_FLAPPING: /* the state it began flapping in is the alert's */
        since = a->since_ms;
        break;
    case EVT_CHANGED:
    case EVT_RECOVERED:
    case EVT_REMINDER:
    case EVT_SLOW:
    case EVT_CERT_EXPIRING:
        return NULL;
    }
    /* Slowness ends with the up state it was in, unsaid: an alert does not
     * tell whether that state was slow. */
    if (before == NULL || strcmp(before, "slow") == 0)
        return NULL;
    incident_key(t, before, since, 0, key);
    return resolve_body(key, host);
}

char *pagerduty_keyed(const char *body, const char *routing_key)
{
    json_t *o = json_loads(body, 0, NULL);

    if (!json_is_object(o)) {
        json_decref(o);
        return NULL;
    }
    text_json_set(o, "routing_key", text_json(routing_key));
    return text_json_dump(o);
}
