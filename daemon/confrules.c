/* The rules between keys of the configuration: a target's (a probe ends
 * before the next is due, one of two keys and not both, a HEAD request
 * has no body to check, ...) and a webhook's, each reported where it is
 * first broken; and where they find their keys in the schema tables. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "config_impl.h"
#include "duration.h"
#include "schema.h"
#include "secret.h"

struct config_keys config_keys;
/* And a webhook's. */
static struct {
    unsigned name, url, secret_file, secret_credential, retry_initial, retry_max, username,
        icon_url, icon_emoji;
} W;

void config_keys_init(void)
{
    const struct schema_level *t = &schema_target, *w = &schema_webhook;

    if (K.known)
        return;
    K.known = true;
    K.name = schema_index(t, "name");
    K.url = schema_index(t, "url");
    K.method = schema_index(t, "method");
    K.interval = schema_index(t, "interval");
    K.timeout = schema_index(t, "timeout");
    K.max_latency = schema_index(t, "max_latency");
    K.body_contains = schema_index(t, "body_contains");
    K.body_regex = schema_index(t, "body_regex");
    K.body_not_contains = schema_index(t, "body_not_contains");
    K.json = schema_index(t, "json");
    K.webhooks = schema_index(t, "webhooks");
    K.remind_every = schema_index(t, "remind_every");
    K.retry_interval = schema_index(t, "retry_interval");
    K.flap_threshold = schema_index(t, "flap_threshold");
    K.flap_window = schema_index(t, "flap_window");
    K.client_cert = schema_index(t, "client_cert");
    K.client_key = schema_index(t, "client_key");
    K.client_key_credential = schema_index(t, "client_key_credential");
    K.connect_to = schema_index(t, "connect_to");
    K.proxy = schema_index(t, "proxy");
    K.tls_server_name = schema_index(t, "tls_server_name");
    K.depends_on = schema_index(t, "depends_on");
    K.ip_version = schema_index(t, "ip_version");
    W.name = schema_index(w, "name");
    W.url = schema_index(w, "url");
    W.secret_file = schema_index(w, "secret_file");
    W.secret_credential = schema_index(w, "secret_credential");
    W.retry_initial = schema_index(w, "retry_initial");
    W.retry_max = schema_index(w, "retry_max");
    W.username = schema_index(w, "username");
    W.icon_url = schema_index(w, "icon_url");
    W.icon_emoji = schema_index(w, "icon_emoji");
}

#define OWN(k)        (own & KEY_BIT(K.k))
#define WHERE(k1, k2) (OWN(k1) ? merged->g.pos[K.k1] : merged->g.pos[K.k2])

/* The rules between the keys of a probe's client (see cross_check). */
static int client_check(struct ctx *c, const struct partial *merged, uint64_t own)
{
    const struct target_conf *t = &merged->t;
    uint64_t key_bits = KEY_BIT(K.client_key) | KEY_BIT(K.client_key_credential);
    bool own_key = own & key_bits;
    unsigned key = (merged->g.set & KEY_BIT(K.client_key)) ? K.client_key : K.client_key_credential;
    int rc = 0;

    if ((merged->g.set & key_bits) == key_bits && own_key) {
        err_pos(c,
                merged->g.pos[own & KEY_BIT(K.client_key) ? K.client_key_credential : K.client_key],
                "give client_key or client_key_credential, not both");
        rc = -1;
    } else if (!t->client_cert.data != !t->client_key.data && (OWN(client_cert) || own_key)) {
        if (t->client_cert.data)
            err_pos(c, merged->g.pos[K.client_cert],
                    "client_cert needs client_key or client_key_credential");
        else
            err_pos(c, merged->g.pos[key], "%s needs client_cert", schema_target.opts[key].name);
        rc = -1;
    } else if (t->client_cert.data && (OWN(client_cert) || own_key) &&
               !tls_key_matches(t->client_cert.data, t->client_key.data)) {
        err_pos(c, merged->g.pos[own_key ? key : K.client_cert],
                "%s is not the key of the first certificate in client_cert",
                schema_target.opts[key].name);
        rc = -1;
    }
    if (t->connect_to && t->proxy && (OWN(connect_to) || OWN(proxy))) {
        err_pos(c, merged->g.pos[OWN(connect_to) ? K.connect_to : K.proxy],
                "give connect_to or proxy, not both: through a proxy, the proxy connects");
        rc = -1;
    }
    /* A defaults block has no URL: the rule waits for the target. */
    if (t->tls_server_name && t->url && (OWN(tls_server_name) || OWN(url)) &&
        strncasecmp(t->url, "https:", 6) != 0) {
        err_pos(c, merged->g.pos[OWN(tls_server_name) ? K.tls_server_name : K.url],
                "tls_server_name needs an https URL");
        rc = -1;
    }
    return rc;
}

/* The IP version of host when it is an address (4 or 6; 0 for a name), as
 * URLs and connect_to write one: IPv6 in brackets; IPv4 in any form the
 * resolver reads as an address (127.1 and 0x7f000001 too; a URL's host
 * comes from curl in dotted quads already). */
static int address_version(const char *host)
{
    char inner[INET6_ADDRSTRLEN];
    struct in6_addr a6;
    struct in_addr a4;
    size_t n = strlen(host);

    if (n > 2 && n - 2 < sizeof(inner) && host[0] == '[' && host[n - 1] == ']') {
        memcpy(inner, host + 1, n - 2);
        inner[n - 2] = '\0';
        return inet_pton(AF_INET6, inner, &a6) == 1 ? 6 : 0;
    }
    return inet_aton(host, &a4) ? 4 : 0;
}

/* ip_version pins the family of the address a probe connects to: connect_to's
 * host, else the proxy's, else the URL's. Given an address of the other
 * family there, no probe could ever connect. Debian 12's curl fails such
 * a probe, but a newer one (8.21) connects anyway, no longer applying the
 * pin to addresses: so the rule is the configuration's, the same under
 * every libcurl. */
static int family_check(struct ctx *c, const struct partial *merged, uint64_t own)
{
    const struct target_conf *t = &merged->t;
    char host[256];
    unsigned port, key;

    if (t->ip_version == IP_ANY)
        return 0;
    if (t->connect_to) {
        key = K.connect_to;
        if (host_port_split(t->connect_to, host, sizeof(host), &port) < 0)
            return 0; /* reported by its own check */
    } else {
        /* A defaults block has no URL: the rule waits for the target. */
        key = t->proxy ? K.proxy : K.url;
        const char *url = t->proxy ? t->proxy : t->url;
        char *h = url ? url_host(url, t->proxy ? CURLU_NON_SUPPORT_SCHEME : 0) : NULL;
        if (h == NULL)
            return 0;
        snprintf(host, sizeof(host), "%s", h);
        free(h);
    }
    int want = t->ip_version == IP_V4 ? 4 : 6, have = address_version(host);
    if (have == 0 || have == want || !(OWN(ip_version) || (own & KEY_BIT(key))))
        return 0;
    err_pos(c, merged->g.pos[OWN(ip_version) ? K.ip_version : key],
            "ip_version %d cannot reach %s, the IPv%d address of %s", want, host, have,
            schema_target.opts[key].name);
    return -1;
}

/* Whether body check k (a key index) is set to a check, not to none. */
static bool body_check_given(const struct target_conf *t, unsigned k)
{
    if (k == K.body_contains)
        return t->body_contains != NULL;
    if (k == K.body_regex)
        return t->body_regex_src != NULL;
    if (k == K.body_not_contains)
        return t->body_not_contains != NULL;
    return t->njson > 0;
}

/* Rules between keys. Each is reported only where one of its keys is given
 * at this level (own), so an error in defaults is not repeated per target. */
int config_cross_check(struct ctx *c, const struct partial *merged, uint64_t own, bool clamped)
{
    const struct target_conf *t = &merged->t;
    char a[32], b[32];
    int rc = 0;

    if (t->timeout_ms > t->interval_ms && (merged->g.set & KEY_BIT(K.timeout)) &&
        (OWN(timeout) || OWN(interval))) {
        duration_format(t->timeout_ms, a, sizeof(a));
        duration_format(t->interval_ms, b, sizeof(b));
        err_pos(c, WHERE(timeout, interval),
                "timeout %s is longer than interval %s: a probe must end before the next one "
                "is due",
                a, b);
        rc = -1;
    }
    /* A timeout never given follows a shorter interval down, so then the
     * interval is what breaks the rule. */
    if (t->max_latency_ms && t->max_latency_ms >= t->timeout_ms &&
        (OWN(max_latency) || OWN(timeout) || (clamped && OWN(interval)))) {
        duration_format(t->max_latency_ms, a, sizeof(a));
        duration_format(t->timeout_ms, b, sizeof(b));
        struct pos where = OWN(max_latency) ? merged->g.pos[K.max_latency]
                           : OWN(timeout)   ? merged->g.pos[K.timeout]
                                            : merged->g.pos[K.interval];
        err_pos(c, where, "max_latency %s must be shorter than timeout %s", a, b);
        rc = -1;
    }
    if (t->flap_threshold && t->flap_threshold > t->flap_window &&
        (OWN(flap_threshold) || OWN(flap_window))) {
        err_pos(c, WHERE(flap_threshold, flap_window),
                "flap_threshold %u cannot exceed flap_window %u", t->flap_threshold,
                t->flap_window);
        rc = -1;
    }
    if (t->remind_every_ms && t->remind_every_ms < t->interval_ms &&
        (OWN(remind_every) || OWN(interval))) {
        duration_format(t->remind_every_ms, a, sizeof(a));
        duration_format(t->interval_ms, b, sizeof(b));
        err_pos(c, WHERE(remind_every, interval), "remind_every %s is shorter than interval %s", a,
                b);
        rc = -1;
    }
    if (t->retry_interval_ms && t->retry_interval_ms >= t->interval_ms &&
        (OWN(retry_interval) || OWN(interval))) {
        duration_format(t->retry_interval_ms, a, sizeof(a));
        duration_format(t->interval_ms, b, sizeof(b));
        err_pos(c, WHERE(retry_interval, interval),
                "retry_interval %s must be shorter than interval %s", a, b);
        rc = -1;
    }
    if (t->body_contains && t->body_regex_src && (OWN(body_contains) || OWN(body_regex))) {
        err_pos(c, merged->g.pos[OWN(body_regex) ? K.body_regex : K.body_contains],
                "give body_contains or body_regex, not both");
        rc = -1;
    }
    if (strcmp(t->method, "HEAD") == 0) {
        /* The first body check there is, and the first given here. */
        const unsigned body_keys[] = {K.body_contains, K.body_regex, K.body_not_contains, K.json};
        unsigned there = schema_target.n, here = schema_target.n;
        for (size_t i = 0; i < ARRAY_SIZE(body_keys); i++) {
            unsigned k = body_keys[i];
            if (!body_check_given(t, k))
                continue;
            if (there == schema_target.n)
                there = k;
            if (here == schema_target.n && (own & KEY_BIT(k)))
                here = k;
        }
        if (there < schema_target.n && (OWN(method) || here < schema_target.n)) {
            unsigned k = here < schema_target.n ? here : there;
            err_pos(c, merged->g.pos[OWN(method) ? K.method : k],
                    "a HEAD request has no body for %s to check", schema_target.opts[k].name);
            rc = -1;
        }
    }
    rc |= client_check(c, merged, own);
    rc |= family_check(c, merged, own);
#undef WHERE
#undef OWN
    return rc;
}

/* ---- webhooks ---- */

/* The first key given of those only a slack-format body carries, or -1. */
static int slack_only_key(const struct given *g, enum webhook_format f)
{
    const unsigned keys[] = {W.username, W.icon_url, W.icon_emoji};

    for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
        if ((g->set & KEY_BIT(keys[i])) && !(f == WEBHOOK_EMAIL && keys[i] == W.username))
            return (int)keys[i];
    return -1;
}

void config_parse_webhook(struct ctx *c, const yaml_node_t *map)
{
    struct config *cfg = c->cfg;
    struct webhook_conf w = {0};
    struct given g = {0};
    size_t before = c->nitems;

    schema_defaults(&schema_webhook, &w);
    if (!want_mapping(c, map, "a webhook")) {
        schema_clear(&schema_webhook, &w);
        return;
    }
    schema_parse(c, &schema_webhook, map, &w, "webhook key", false, &g);
    if (c->nitems == before) {
        if (!(g.set & KEY_BIT(W.name)))
            err_at(c, map, "webhook has no name");
        else if (!(g.set & KEY_BIT(W.url)))
            err_at(c, map, "webhook %s has no url", w.name);
        else if (w.retry_max_ms < w.retry_initial_ms)
            err_pos(c, g.pos[(g.set & KEY_BIT(W.retry_max)) ? W.retry_max : W.retry_initial],
                    "retry_max must not be shorter than retry_initial");
        else if ((g.set & KEY_BIT(W.secret_file)) && (g.set & KEY_BIT(W.secret_credential)))
            err_pos(c, g.pos[W.secret_credential],
                    "give secret_file or secret_credential, not both");
        else if (w.secret && w.format != WEBHOOK_STANDARD)
            err_pos(c,
                    g.pos[(g.set & KEY_BIT(W.secret_file)) ? W.secret_file : W.secret_credential],
                    "the %s format is not signed; a secret is only used by the standard format",
                    webhook_format_name(w.format));
        else if (w.format != WEBHOOK_SLACK && slack_only_key(&g, w.format) >= 0)
            err_pos(c, g.pos[slack_only_key(&g, w.format)], "%s applies only to format: slack",
                    schema_webhook.opts[slack_only_key(&g, w.format)].name);
        else if ((g.set & KEY_BIT(W.icon_url)) && (g.set & KEY_BIT(W.icon_emoji)))
            err_pos(c, g.pos[W.icon_emoji], "give icon_url or icon_emoji, not both");
        else if (w.secret && !secret_valid(w.secret))
            err_pos(c,
                    g.pos[(g.set & KEY_BIT(W.secret_file)) ? W.secret_file : W.secret_credential],
                    "the secret in %s must be \"whsec_\" followed by base64", w.secret_source);
        else if (config_check_receiver(c, &w, &g, map) < 0)
            goto discard;
        else {
            for (size_t i = 0; i < cfg->nwebhooks; i++) {
                if (strcmp(cfg->webhooks[i].name, w.name) == 0) {
                    err_pos(c, g.pos[W.name],
                            "duplicate webhook name \"%s\" (first defined at %s:%u:%u)", w.name,
                            cfg->webhooks[i].file, cfg->webhooks[i].line, cfg->webhooks[i].col);
                    goto discard;
                }
            }
            w.file = c->file;
            w.line = (unsigned)map->start_mark.line + 1;
            w.col = (unsigned)map->start_mark.column + 1;
            cfg->webhooks =
                xreallocarray(cfg->webhooks, cfg->nwebhooks + 1, sizeof(*cfg->webhooks));
            cfg->webhooks[cfg->nwebhooks++] = w;
            return;
        }
    }
discard:
    schema_clear(&schema_webhook, &w);
}
