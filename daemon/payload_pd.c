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

/* The kind of trouble an event is about: for a recovery, the kind it
 * ends. */
static const char *incident_kind(const struct alert *a)
{
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
        switch (a->previous) {
        case PREV_REDIRECTING:
            return "redirect";
        case PREV_SLOW:
            return "slow";
        case PREV_FLAPPING:
            return "flapping";
        default:
            return "down";
        }
    case EVT_DOWN:
    case EVT_CHANGED:
    case EVT_REMINDER:
        break;
    }
    return "down";
}

void pagerduty_dedup_key(const struct alert *a, const struct target_conf *t,
                         char out[PD_DEDUP_KEY_LEN])
{
    const char *kind = incident_kind(a);
    long long anchor = strcmp(kind, "cert_expiring") == 0 ? (long long)a->cert_not_after
                       : strcmp(kind, "flapping") == 0    ? 0
                                                          : (long long)a->since_ms;
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

static char *dump(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(12));

    json_decref(o);
    if (s == NULL) {
        fprintf(stderr, "upmond: out of memory building JSON\n");
        abort();
    }
    return s;
}

char *payload_pagerduty(const struct alert *a, const struct target_conf *t, const char *host)
{
    char key[PD_DEDUP_KEY_LEN], summary[PD_SUMMARY_MAX], when[40];
    bool resolve = a->type == EVT_RECOVERED;
    json_t *o = json_object();

    pagerduty_dedup_key(a, t, key);
    text_json_set(o, "event_action", text_json(resolve ? "resolve" : "trigger"));
    text_json_set(o, "dedup_key", text_json(key));
    char *client = xasprintf("upmon on %s", host);
    text_json_set(o, "client", text_json(client));
    free(client);
    /* A resolve needs no more: PagerDuty keeps what the trigger said. */
    if (resolve)
        return dump(o);

    alert_message(a, t, summary, sizeof(summary));
    report_time(a->time_ms, when, sizeof(when));
    json_t *details = payload_event(a, t, host);
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
    return dump(o);
}

char *pagerduty_keyed(const char *body, const char *routing_key)
{
    json_t *o = json_loads(body, 0, NULL);

    if (!json_is_object(o)) {
        json_decref(o);
        return NULL;
    }
    text_json_set(o, "routing_key", text_json(routing_key));
    return dump(o);
}
