/* The rows of the configuration schema, one table per level, and the
 * compound keys that belong to one level only. To add a key: add its row
 * here and its entry to upmon.yaml(5); the tests check that the two agree
 * and that reloads, dumps and the JSON Schema see it. */
#include "schema.h"

#include <arpa/inet.h>
#include <regex.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <curl/curl.h>

#include "eventtype.h"
#include "redact.h"
#include "shard.h"
#include "util.h"

/* ---- choices ---- */

static const struct choices event_choices = {"event", &eventtype_names};

static const char *const format_list[] = {
    "standard", "slack", "alertmanager", "alertmanager-webhook", "pagerduty", "email"};
static const struct names format_names = {format_list, ARRAY_SIZE(format_list), "standard"};
static const struct choices format_choices = {"webhook format", &format_names};

const char *webhook_format_name(enum webhook_format f)
{
    return names_get(&format_names, f);
}

static const char *const ip_version_list[] = {"any", "4", "6"};
static const struct names ip_version_names = {ip_version_list, ARRAY_SIZE(ip_version_list), "any"};
static const struct choices ip_version_choices = {"IP version", &ip_version_names};

static const char *const tls_version_list[] = {"1.0", "1.1", "1.2", "1.3"};
static const struct names tls_version_names = {tls_version_list, ARRAY_SIZE(tls_version_list),
                                               "1.2"};
static const struct choices tls_version_choices = {"TLS version", &tls_version_names};

static const char *const http_version_list[] = {"auto", "1.1", "2"};
static const struct names http_version_names = {http_version_list, ARRAY_SIZE(http_version_list),
                                                "auto"};
static const struct choices http_version_choices = {"HTTP version", &http_version_names};

static const char *const method_list[] = {"GET",   "HEAD",   "POST",   "PUT",
                                          "PATCH", "DELETE", "OPTIONS"};
static const struct names method_names = {method_list, ARRAY_SIZE(method_list), NULL};
static const struct choices method_choices = {"method", &method_names};

/* ---- checks of plain strings ---- */

static bool valid_name(const char *s)
{
    return s[0] != '\0' && strlen(s) <= 200 && !has_control_chars(s);
}

/* A short text people read: a name, a chat username. */
int check_short_text(struct ctx *c, const yaml_node_t *v, const char *value, const char *key)
{
    if (valid_name(value))
        return 0;
    err_at(c, v, "%s must be 1 to 200 characters without control characters", key);
    return -1;
}

int check_name(struct ctx *c, const yaml_node_t *v, const char *value)
{
    return check_short_text(c, v, value, "name");
}

static int check_url_value(struct ctx *c, const yaml_node_t *v, const char *value)
{
    (void)value;
    return check_url(c, v, "url");
}

static int check_username(struct ctx *c, const yaml_node_t *v, const char *value)
{
    return check_short_text(c, v, value, "username");
}

static int check_icon_url(struct ctx *c, const yaml_node_t *v, const char *value)
{
    (void)value;
    return check_url(c, v, "icon_url");
}

static int check_external_url(struct ctx *c, const yaml_node_t *v, const char *value)
{
    (void)value;
    return check_url(c, v, "external_url");
}

/* An emoji as chat servers name it: :name:, the name of letters, digits
 * and the few signs emoji names use (+1, thumbs-up, skin-tone-2). */
static int check_icon_emoji(struct ctx *c, const yaml_node_t *v, const char *value)
{
    size_t n = strlen(value);

    if (n >= 3 && n <= 100 && value[0] == ':' && value[n - 1] == ':' &&
        strspn(value + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-'") ==
            n - 2)
        return 0;
    err_at(c, v, "icon_emoji must be an emoji name between colons, such as :rotating_light:");
    return -1;
}

static int check_location(struct ctx *c, const yaml_node_t *v, const char *value)
{
    return check_short_text(c, v, value, "location");
}

static int check_shard(struct ctx *c, const yaml_node_t *v, const char *value)
{
    struct shard s;

    if (shard_parse(value, &s) == 0)
        return 0;
    err_at(c, v, "shard \"%s\" must be I/N, 1 <= I <= N <= %d", value, SHARD_MAX);
    return -1;
}

static int check_user_agent(struct ctx *c, const yaml_node_t *v, const char *value)
{
    if (!has_control_chars(value))
        return 0;
    err_at(c, v, "user_agent must not contain control characters");
    return -1;
}

/* connect_to: HOST or HOST:PORT, an IPv6 address in brackets. */
static int check_connect_to(struct ctx *c, const yaml_node_t *v, const char *value)
{
    char host[256];
    unsigned port;

    if (host_port_split(value, host, sizeof(host), &port) == 0)
        return 0;
    err_at(c, v,
           "connect_to \"%s\" must be HOST or HOST:PORT (an IPv6 address in brackets, a port "
           "from 1 to 65535)",
           value);
    return -1;
}

/* proxy: a URL of one of the kinds curl speaks that make sense here. */
static int check_proxy(struct ctx *c, const yaml_node_t *v, const char *value)
{
    static const char *const schemes[] = {"http", "https", "socks5", "socks5h"};
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    int rc = -1;

    CURLUcode uc =
        u ? curl_url_set(u, CURLUPART_URL, value, CURLU_NON_SUPPORT_SCHEME) : CURLUE_OUT_OF_MEMORY;
    if (uc != CURLUE_OK) {
        err_at(c, v, "proxy is not a valid URL: %s", curl_url_strerror(uc));
    } else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
               curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0]) {
        err_at(c, v, "proxy needs a scheme and a host, as in http://proxy.example:3128");
    } else {
        for (size_t i = 0; i < ARRAY_SIZE(schemes); i++)
            if (strcmp(scheme, schemes[i]) == 0)
                rc = 0;
        if (rc != 0)
            err_at(c, v, "proxy scheme must be http, https, socks5 or socks5h, not %s", scheme);
    }
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

/* tls_server_name: a DNS name, as SNI carries (never an address). */
static int check_server_name(struct ctx *c, const yaml_node_t *v, const char *value)
{
    size_t len = strlen(value);
    bool ok =
        len > 0 && len <= 253 && value[0] != '.' && value[0] != '-' &&
        strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == len &&
        strspn(value, "0123456789.") != len;

    if (ok)
        return 0;
    err_at(c, v, "tls_server_name \"%s\" must be a host name (letters, digits, dots, hyphens)",
           value);
    return -1;
}

int names_count(struct ctx *c, const yaml_node_t *n, const char *kind, size_t *count)
{
    if (n->type == YAML_SCALAR_NODE && !is_null(n)) {
        *count = 1;
    } else if (n->type == YAML_SEQUENCE_NODE || is_null(n)) {
        *count =
            is_null(n) ? 0 : (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    } else {
        err_at(c, n, "%s, not %s", kind, node_kind(n));
        return -1;
    }
    return 0;
}

/* webhooks of a target: which receivers it routes to. Unset routes to
 * every one; an empty list to none. */
static int routes_parse(struct ctx *c, const yaml_node_t *n, const struct opt *o, void *base)
{
    struct target_conf *t = base;
    size_t count;
    int rc = 0;

    o->ops->clear(base, o);
    if (names_count(c, n, "webhooks must be a list of webhook names", &count) < 0)
        return -1;
    t->webhooks = xcalloc(count, sizeof(*t->webhooks));
    t->webhooks_set = true;
    for (size_t i = 0; i < count; i++) {
        const yaml_node_t *it =
            n->type == YAML_SEQUENCE_NODE ? node(c, n->data.sequence.items.start[i]) : n;
        if (!want_scalar(c, it, "a webhook name")) {
            rc = -1;
            continue;
        }
        t->webhooks[t->nwebhooks++] = xstrdup(scalar(it));
    }
    return rc;
}

static void routes_clear(void *base, const struct opt *o)
{
    struct target_conf *t = base;

    (void)o;
    for (size_t i = 0; i < t->nwebhooks; i++)
        free(t->webhooks[i]);
    free(t->webhooks);
    t->webhooks = NULL;
    t->nwebhooks = 0;
    t->webhooks_set = false;
}

static void routes_copy(void *dst, const void *src, const struct opt *o, bool merge)
{
    struct target_conf *d = dst;
    const struct target_conf *s = src;

    (void)merge;
    routes_clear(dst, o);
    d->webhooks_set = s->webhooks_set;
    if (s->nwebhooks == 0)
        return;
    d->webhooks = xcalloc(s->nwebhooks, sizeof(*d->webhooks));
    for (size_t i = 0; i < s->nwebhooks; i++)
        d->webhooks[i] = xstrdup(s->webhooks[i]);
    d->nwebhooks = s->nwebhooks;
}

static bool routes_eq(const void *a, const void *b, const struct opt *o)
{
    const struct target_conf *x = a, *y = b;

    (void)o;
    if (x->webhooks_set != y->webhooks_set || x->nwebhooks != y->nwebhooks)
        return false;
    for (size_t i = 0; i < x->nwebhooks; i++)
        if (strcmp(x->webhooks[i], y->webhooks[i]) != 0)
            return false;
    return true;
}

static json_t *routes_value(const void *base, const struct opt *o)
{
    const struct target_conf *t = base;
    json_t *a;

    (void)o;
    if (!t->webhooks_set)
        return json_null();
    a = json_array();
    for (size_t i = 0; i < t->nwebhooks; i++)
        json_array_append_new(a, json_string(t->webhooks[i]));
    return a;
}

/* A name or a list of names, as webhooks and watch take them. */
json_t *name_list_schema(const struct opt *o)
{
    (void)o;
    return json_pack("{s:[o, {s:s, s:o}, {s:s}]}", "anyOf", schema_text_json(), "type", "array",
                     "items", schema_text_json(), "type", "null");
}

static const struct opt_ops routes_ops = {routes_parse, routes_copy,  routes_clear,
                                          routes_eq,    routes_value, name_list_schema};

/* redact_query: names of query parameters whose values are never shown,
 * besides the usual ones (redact.h), which no configuration can take
 * away: char ** at offset, count at aux. Merged with those of defaults. */
#define NAMES(base, o)  ((char ***)FIELD(base, (o)->offset))
#define NNAMES(base, o) ((size_t *)FIELD(base, (o)->aux))

/* Parameter names a target adds: more than anyone needs. */
#define MAX_REDACT 100

static bool has_name(char *const *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(v[i], name) == 0)
            return true;
    return false;
}

/* Adds a name unless the list has it (names compare without case). */
static void names_add(char ***v, size_t *n, const char *name)
{
    if (has_name(*v, *n, name))
        return;
    *v = xreallocarray(*v, *n + 1, sizeof(**v));
    (*v)[(*n)++] = xstrdup(name);
}

static void redact_clear(void *base, const struct opt *o)
{
    char **v = *NAMES(base, o);

    for (size_t i = 0; i < *NNAMES(base, o); i++)
        free(v[i]);
    free(v);
    *NAMES(base, o) = NULL;
    *NNAMES(base, o) = 0;
}

/* A key given as one text or a list of them, char ** at offset and the
 * count at aux: each item is checked by check (which reports), at most
 * max of them; with fold, one equal to an earlier but for case is left
 * out. On any error the field is left as it was. */
static int texts_parse(struct ctx *c, const yaml_node_t *n, const struct opt *o, void *base,
                       const char *kind, const char *item, size_t max, bool fold,
                       int (*check)(struct ctx *c, const yaml_node_t *it, const char *value,
                                    char *const *so_far, size_t nso_far))
{
    char **v = NULL;
    size_t nv = 0, count;
    int rc = 0;

    if (names_count(c, n, kind, &count) < 0)
        return -1;
    if (count > max) {
        err_at(c, n, "%s: %zu given, at most %zu", o->name, count, max);
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        const yaml_node_t *it =
            n->type == YAML_SEQUENCE_NODE ? node(c, n->data.sequence.items.start[i]) : n;
        if (!want_scalar(c, it, item) || check(c, it, scalar(it), v, nv) < 0) {
            rc = -1;
            continue;
        }
        if (fold) {
            names_add(&v, &nv, scalar(it));
        } else {
            v = xreallocarray(v, nv + 1, sizeof(*v));
            v[nv++] = xstrdup(scalar(it));
        }
    }
    if (rc < 0) {
        for (size_t i = 0; i < nv; i++)
            free(v[i]);
        free(v);
        return -1;
    }
    redact_clear(base, o);
    *NAMES(base, o) = v;
    *NNAMES(base, o) = nv;
    return 0;
}

static int check_redact_name(struct ctx *c, const yaml_node_t *it, const char *name,
                             char *const *so_far, size_t nso_far)
{
    (void)so_far;
    (void)nso_far;
    if (name[0] != '\0' && strlen(name) <= 200 && !has_control_chars(name))
        return 0;
    err_at(c, it,
           "redact_query: a parameter name is 1 to 200 characters without control characters");
    return -1;
}

static int redact_parse(struct ctx *c, const yaml_node_t *n, const struct opt *o, void *base)
{
    return texts_parse(c, n, o, base, "redact_query must be a list of query parameter names",
                       "a query parameter name", MAX_REDACT, true, check_redact_name);
}

static void redact_copy(void *dst, const void *src, const struct opt *o, bool merge)
{
    char **s = *NAMES(src, o);

    if (!merge)
        redact_clear(dst, o);
    for (size_t i = 0; i < *NNAMES(src, o); i++)
        names_add(NAMES(dst, o), NNAMES(dst, o), s[i]);
}

static bool redact_eq(const void *a, const void *b, const struct opt *o)
{
    char **x = *NAMES(a, o), **y = *NAMES(b, o);

    if (*NNAMES(a, o) != *NNAMES(b, o))
        return false;
    for (size_t i = 0; i < *NNAMES(a, o); i++)
        if (strcmp(x[i], y[i]) != 0)
            return false;
    return true;
}

/* Every name hidden: the usual ones, then the target's. */
static json_t *redact_names_json(char *const *v, size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; i < redact_ndefault; i++)
        json_array_append_new(a, json_string(redact_default_names[i]));
    for (size_t i = 0; i < n; i++)
        if (!redact_name_matches(v[i], strlen(v[i]), NULL, 0))
            json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *redact_value(const void *base, const struct opt *o)
{
    return redact_names_json(*NAMES(base, o), *NNAMES(base, o));
}

static json_t *redact_schema(const struct opt *o)
{
    (void)o;
    return json_pack("{s:[o, {s:s, s:o, s:i}, {s:s}], s:o}", "anyOf", schema_text_json(), "type",
                     "array", "items", schema_text_json(), "maxItems", MAX_REDACT, "type", "null",
                     "default", redact_names_json(NULL, 0));
}

static const struct opt_ops redact_ops = {redact_parse, redact_copy,  redact_clear,
                                          redact_eq,    redact_value, redact_schema};

/* http.listen: where the HTTP server listens, "HOST:PORT" (an IP address,
 * or localhost) or "unix:PATH" (absolute): char ** at offset, count at
 * aux, as redact_query's. */
#define MAX_LISTEN 16

static int check_listen(struct ctx *c, const yaml_node_t *it, const char *a, char *const *so_far,
                        size_t nso_far)
{
    char host[256];
    unsigned port;
    unsigned char addr[16];

    for (size_t i = 0; i < nso_far; i++) {
        if (strcmp(so_far[i], a) == 0) {
            err_at(c, it, "listen: \"%s\" is given twice", a);
            return -1;
        }
    }
    if (strncmp(a, "unix:", 5) == 0) {
        const char *path = a + 5;
        if (path[0] != '/' || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path) ||
            has_control_chars(path)) {
            err_at(c, it, "listen: \"%s\": a unix socket is unix:/ABSOLUTE/PATH, under %zu bytes",
                   a, sizeof(((struct sockaddr_un *)0)->sun_path));
            return -1;
        }
        return 0;
    }
    if (host_port_split(a, host, sizeof(host), &port) < 0 || port == 0) {
        err_at(c, it, "listen: \"%s\" is not HOST:PORT or unix:PATH", a);
        return -1;
    }
    size_t hl = strlen(host);
    if (host[0] == '[' && hl > 2) {
        host[hl - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, addr) == 1)
            return 0;
    } else if (inet_pton(AF_INET, host, addr) == 1 || strcmp(host, "localhost") == 0) {
        return 0;
    }
    err_at(c, it, "listen: \"%s\": the host is an IP address ([...] for IPv6) or localhost", a);
    return -1;
}

static int listen_parse(struct ctx *c, const yaml_node_t *n, const struct opt *o, void *base)
{
    return texts_parse(c, n, o, base, "listen must be an address or a list of addresses",
                       "an address", MAX_LISTEN, false, check_listen);
}

static json_t *listen_value(const void *base, const struct opt *o)
{
    json_t *a = json_array();

    for (size_t i = 0; i < *NNAMES(base, o); i++)
        json_array_append_new(a, json_string((*NAMES(base, o))[i]));
    return a;
}

static json_t *listen_schema(const struct opt *o)
{
    (void)o;
    return json_pack("{s:[o, {s:s, s:o, s:i}, {s:s}], s:[]}", "anyOf", schema_text_json(), "type",
                     "array", "items", schema_text_json(), "maxItems", MAX_LISTEN, "type", "null",
                     "default");
}

static const struct opt_ops listen_ops = {listen_parse, redact_copy,  redact_clear,
                                          redact_eq,    listen_value, listen_schema};

/* A label name: what the status page groups targets by. */
static int check_label_name(struct ctx *c, const yaml_node_t *v, const char *value)
{
    return check_short_text(c, v, value, "group_by");
}

/* body_regex: the source at offset, compiled (regex_t *) at aux when the
 * target is complete (config.c compiles it once, not per level). */
static int regex_parse(struct ctx *c, const yaml_node_t *v, const struct opt *o, void *base)
{
    regex_t re;
    int rc;

    if (!want_scalar(c, v, o->name))
        return -1;
    rc = regcomp(&re, scalar(v), REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char msg[256];
        regerror(rc, &re, msg, sizeof(msg));
        err_at(c, v, "body_regex \"%s\" is not a valid extended regular expression: %s", scalar(v),
               msg);
        return -1;
    }
    regfree(&re);
    o->ops->clear(base, o);
    *(char **)FIELD(base, o->offset) = xstrdup(scalar(v));
    return 0;
}

static void regex_clear(void *base, const struct opt *o)
{
    char **src = (char **)FIELD(base, o->offset);
    regex_t **re = (regex_t **)FIELD(base, o->aux);

    free(*src);
    *src = NULL;
    if (*re) {
        regfree(*re);
        free(*re);
        *re = NULL;
    }
}

static void regex_copy(void *dst, const void *src, const struct opt *o, bool merge)
{
    const char *s = *(char *const *)FIELD(src, o->offset);

    (void)merge;
    regex_clear(dst, o);
    *(char **)FIELD(dst, o->offset) = s ? xstrdup(s) : NULL;
}

/* Whether the strings at offset are the same (body_regex, secrets). */
static bool string_eq(const void *a, const void *b, const struct opt *o)
{
    return str_eq(*(char *const *)FIELD(a, o->offset), *(char *const *)FIELD(b, o->offset));
}

static json_t *regex_value(const void *base, const struct opt *o)
{
    const char *s = *(char *const *)FIELD(base, o->offset);

    return s ? json_string(s) : json_null();
}

/* POSIX extended, which is not JSON Schema's "regex" (ECMA-262). */
static json_t *text_schema(const struct opt *o)
{
    (void)o;
    return schema_text_json();
}

static const struct opt_ops regex_ops = {regex_parse, regex_copy,  regex_clear,
                                         string_eq,   regex_value, text_schema};

/* alerts.webhooks: the list of receivers, each read by the loader. */
static int webhooks_parse(struct ctx *c, const yaml_node_t *v, const struct opt *o, void *base)
{
    (void)o;
    (void)base;
    if (is_null(v))
        return 0;
    if (v->type != YAML_SEQUENCE_NODE) {
        err_at(c, v, "webhooks must be a list, not %s", node_kind(v));
        return -1;
    }
    SEQUENCE_FOREACH(c, v, item)
    config_parse_webhook(c, node(c, *item));
    return 0;
}

static void webhooks_clear(void *base, const struct opt *o)
{
    struct config *cfg = base;

    (void)o;
    for (size_t i = 0; i < cfg->nwebhooks; i++)
        schema_clear(&schema_webhook, &cfg->webhooks[i]);
    free(cfg->webhooks);
    cfg->webhooks = NULL;
    cfg->nwebhooks = 0;
}

static json_t *webhooks_value(const void *base, const struct opt *o)
{
    const struct config *cfg = base;
    json_t *a = json_array();

    (void)o;
    for (size_t i = 0; i < cfg->nwebhooks; i++)
        json_array_append_new(a, schema_values(&schema_webhook, &cfg->webhooks[i]));
    return a;
}

static json_t *webhooks_schema(const struct opt *o)
{
    (void)o;
    return json_pack("{s:[s,s], s:o}", "type", "array", "null", "items",
                     schema_level_json(&schema_webhook, false));
}

static const struct opt_ops webhooks_ops = {.parse = webhooks_parse,
                                            .clear = webhooks_clear,
                                            .value = webhooks_value,
                                            .schema = webhooks_schema};

/* Keys of the main file and of watch lists only hold their node for the
 * loader; their schemas are those of what they hold. */
static json_t *defaults_schema(const struct opt *o)
{
    (void)o;
    return schema_level_json(&schema_target, true);
}

static json_t *targets_schema(const struct opt *o)
{
    (void)o;
    return json_pack("{s:s, s:o}", "type", "array", "items",
                     schema_level_json(&schema_target, false));
}

static const struct opt_ops defaults_ops = {.schema = defaults_schema};
static const struct opt_ops targets_ops = {.schema = targets_schema};
static const struct opt_ops watch_ops = {.schema = name_list_schema};

/* ---- views of a whole configuration, by level ---- */

json_t *config_json_schema(bool watch_list)
{
    return watch_list ? schema_json(&schema_watch, "upmon watch list")
                      : schema_json(&schema_main, "upmon configuration");
}

json_t *config_values(const struct config *cfg)
{
    json_t *targets = json_array();
    json_t *alerts = schema_values(&schema_alerts, cfg);

    for (size_t i = 0; i < cfg->ntargets; i++) {
        const struct target_conf *t = &cfg->targets[i];
        json_t *v = schema_values(&schema_target, t);
        /* The URL as everywhere else: without its password or the values
         * of its secret parameters. */
        json_object_set_new(v, "url", json_string(t->shown_url));
        char *where = xasprintf("%s:%u:%u", t->file, t->line, t->col);
        json_object_set_new(v, "defined_at", json_string(where));
        free(where);
        json_array_append_new(targets, v);
    }
    json_t *maintenance = json_array();
    for (size_t i = 0; i < cfg->nmaintenance; i++)
        json_array_append_new(maintenance, schema_values(&schema_maint_rule, &cfg->maintenance[i]));
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "engine",
                     schema_values(&schema_engine, cfg), "http", schema_values(&schema_http, cfg),
                     "history", schema_values(&schema_history, cfg), "instance",
                     schema_values(&schema_instance, cfg), "alerts", alerts, "maintenance",
                     maintenance, "targets", targets);
}

/* ---- the tables ---- */

/* One row per key, kept compact so a table reads as a table. */
// clang-format off

_Static_assert(sizeof(enum webhook_format) == sizeof(int), "OPT_ENUM fields are int-sized");
_Static_assert(sizeof(enum starttls) == sizeof(int), "OPT_ENUM fields are int-sized");
_Static_assert(sizeof(enum ip_version) == sizeof(int), "OPT_ENUM fields are int-sized");

#define HOUR 3600000ull
#define DAY  (24 * HOUR)

#define T(f) offsetof(struct target_conf, f)
static const struct opt target_opts[] = {
    {.name = "name", .type = OPT_STRING, .offset = T(name),
     .flags = OPT_REQUIRED | OPT_NO_DEFAULTS, .check = check_name,
     .doc = "The target's name, unique across every file: 1 to 200 characters."},
    {.name = "url", .type = OPT_STRING, .offset = T(url),
     .flags = OPT_REQUIRED | OPT_NO_DEFAULTS | OPT_PROBE | OPT_URL, .check = check_url_value,
     .doc = "The http or https URL to probe."},
    {.name = "redact_query", .type = OPT_CUSTOM, .offset = T(redact_query),
     .aux = T(nredact_query), .flags = OPT_MERGE, .ops = &redact_ops,
     .doc = "Query parameters whose values are never shown, besides the usual ones."},
    {.name = "method", .type = OPT_STRING, .offset = T(method), .flags = OPT_PROBE, .def = "GET",
     .choices = &method_choices, .doc = "The request method, in upper case."},
    {.name = "headers", .type = OPT_CUSTOM, .offset = T(headers), .aux = T(nheaders),
     .flags = OPT_PROBE | OPT_MERGE, .ops = &headers_ops,
     .doc = "Extra request headers, name to value; merged with those of defaults."},
    {.name = "body", .type = OPT_TEXT, .offset = T(body), .flags = OPT_PROBE,
     .doc = "A request body, sent with whatever method is given."},
    {.name = "interval", .type = OPT_DURATION, .offset = T(interval_ms), .flags = OPT_PROBE,
     .min = 1000, .max = DAY, .def = "30s", .doc = "How often the target is probed."},
    {.name = "timeout", .type = OPT_DURATION, .offset = T(timeout_ms), .flags = OPT_PROBE,
     .min = 10, .max = HOUR, .def = "10s",
     .doc = "How long one probe may take; at most the interval."},
    {.name = "retry_interval", .type = OPT_DURATION, .offset = T(retry_interval_ms),
     .flags = OPT_ZERO_OFF, .min = 1000, .max = HOUR, .def = "0",
     .doc = "While a change of state waits for its confirming probes, they come this soon, "
            "not on the plan (0: on the plan)."},
    {.name = "expect", .type = OPT_CUSTOM, .offset = T(expect), .aux = T(nexpect),
     .ops = &expect_ops, .doc = "The status codes or classes that count as up (default: any 2xx)."},
    {.name = "severity", .type = OPT_CUSTOM, .offset = T(severity), .aux = T(nseverity),
     .ops = &severity_ops, .doc = "Severities of unexpected answers, by status code or class."},
    {.name = "follow_redirects", .type = OPT_BOOL, .offset = T(follow_redirects),
     .flags = OPT_PROBE, .def = "false",
     .doc = "Follow redirects and judge the final answer, instead of seeing the redirect."},
    {.name = "body_contains", .type = OPT_STRING, .offset = T(body_contains), .flags = OPT_PROBE,
     .doc = "Text the answer's body must contain."},
    {.name = "body_regex", .type = OPT_CUSTOM, .offset = T(body_regex_src), .aux = T(body_regex),
     .flags = OPT_PROBE, .ops = &regex_ops,
     .doc = "An extended regular expression the answer's body must match."},
    {.name = "body_not_contains", .type = OPT_STRING, .offset = T(body_not_contains),
     .flags = OPT_PROBE, .doc = "Text the answer's body must not contain."},
    {.name = "header_matches", .type = OPT_CUSTOM, .offset = T(header_matches),
     .aux = T(nheader_matches), .ops = &header_matches_ops,
     .doc = "Response headers, name to an extended regular expression their value must match."},
    {.name = "json", .type = OPT_CUSTOM, .offset = T(json), .aux = T(njson), .flags = OPT_PROBE,
     .ops = &json_ops,
     .doc = "Values of a JSON body, path to the value expected, or to {matches: PATTERN}."},
    {.name = "max_latency", .type = OPT_DURATION, .offset = T(max_latency_ms),
     .flags = OPT_ZERO_OFF, .min = 1, .max = HOUR, .def = "0",
     .doc = "An answer slower than this raises a slow alert; shorter than timeout (0: off)."},
    {.name = "tls_verify", .type = OPT_BOOL, .offset = T(tls_verify), .flags = OPT_PROBE,
     .def = "true", .doc = "Verify the server's certificate and host name."},
    {.name = "ca_file", .type = OPT_CUSTOM, .offset = T(ca_file.data), .aux = T(ca_file.source),
     .flags = OPT_PROBE, .ops = &cert_file_ops,
     .doc = "PEM certificates of the CAs trusted instead of the system's."},
    {.name = "ca_path", .type = OPT_CUSTOM, .offset = T(ca_path), .flags = OPT_PROBE,
     .ops = &dir_ops, .doc = "A directory of hashed CA certificates trusted instead of the system's."},
    {.name = "client_cert", .type = OPT_CUSTOM, .offset = T(client_cert.data),
     .aux = T(client_cert.source), .flags = OPT_PROBE, .ops = &cert_file_ops,
     .doc = "A PEM client certificate (and its chain) presented to the server."},
    {.name = "client_key", .type = OPT_CUSTOM, .offset = T(client_key.data),
     .aux = T(client_key.source), .flags = OPT_PROBE | OPT_SECRET, .ops = &key_file_ops,
     .doc = "The client certificate's PEM private key, from a file."},
    {.name = "client_key_credential", .type = OPT_CUSTOM, .offset = T(client_key.data),
     .aux = T(client_key.source), .flags = OPT_PROBE | OPT_SECRET, .ops = &key_credential_ops,
     .doc = "The client certificate's PEM private key, from a systemd credential."},
    {.name = "tls_min_version", .type = OPT_ENUM, .offset = T(tls_min_version),
     .flags = OPT_PROBE, .def = "1.2", .choices = &tls_version_choices,
     .doc = "The oldest TLS version accepted."},
    {.name = "tls_server_name", .type = OPT_STRING, .offset = T(tls_server_name),
     .flags = OPT_PROBE, .check = check_server_name,
     .doc = "The name sent as SNI and verified, instead of the URL's host."},
    {.name = "http_version", .type = OPT_ENUM, .offset = T(http_version), .flags = OPT_PROBE,
     .def = "auto", .choices = &http_version_choices,
     .doc = "Speak HTTP/1.1 only (1.1), HTTP/2 only (2), or what the server offers (auto)."},
    {.name = "connect_to", .type = OPT_STRING, .offset = T(connect_to), .flags = OPT_PROBE,
     .check = check_connect_to,
     .doc = "Connect to this HOST[:PORT] instead; the URL's host stays the Host and SNI."},
    {.name = "proxy", .type = OPT_STRING, .offset = T(proxy), .flags = OPT_PROBE | OPT_URL,
     .check = check_proxy, .doc = "Probe through this http, https, socks5 or socks5h proxy."},
    {.name = "basic_auth", .type = OPT_CUSTOM, .offset = T(basic_auth_user),
     .aux = T(basic_auth_password), .flags = OPT_PROBE | OPT_SECRET, .ops = &basic_auth_ops,
     .doc = "A username and the file or credential its password is read from."},
    {.name = "read_body", .type = OPT_BOOL, .offset = T(read_body), .flags = OPT_PROBE,
     .def = "true",
     .doc = "Read the whole answer, as a browser would (false: judge it at its headers)."},
    {.name = "max_body", .type = OPT_SIZE, .offset = T(max_body), .flags = OPT_PROBE,
     .min = 1024, .max = 64 << 20, .def = "1MiB",
     .doc = "Read at most this much of a body, then judge what came."},
    {.name = "ip_version", .type = OPT_ENUM, .offset = T(ip_version), .flags = OPT_PROBE,
     .def = "any", .choices = &ip_version_choices,
     .doc = "Connect over IPv4 only (4), IPv6 only (6), or either (any)."},
    {.name = "cert_expiry_warning", .type = OPT_DURATION, .offset = T(cert_expiry_warning_ms),
     .flags = OPT_PROBE | OPT_ZERO_OFF, .min = HOUR, .max = 365 * DAY, .def = "14d",
     .doc = "Raise cert_expiring when an https certificate ends within this (0: off)."},
    {.name = "labels", .type = OPT_CUSTOM, .offset = T(labels), .aux = T(nlabels),
     .flags = OPT_MERGE, .ops = &labels_ops,
     .doc = "Name to value, carried by every alert; merged with those of defaults."},
    {.name = "webhooks", .type = OPT_CUSTOM, .offset = T(webhooks), .aux = T(nwebhooks),
     .ops = &routes_ops,
     .doc = "The webhooks this target's alerts go to (default: every one; [] for none)."},
    {.name = "enabled", .type = OPT_BOOL, .offset = T(enabled), .flags = OPT_PROBE, .def = "true",
     .doc = "Whether the target is probed at all."},
    {.name = "failure_threshold", .type = OPT_UINT, .offset = T(failure_threshold), .min = 1,
     .max = 100, .def = "2", .doc = "Consecutive bad probes before an alert."},
    {.name = "recovery_threshold", .type = OPT_UINT, .offset = T(recovery_threshold), .min = 1,
     .max = 100, .def = "1", .doc = "Consecutive good probes before recovered."},
    {.name = "remind_every", .type = OPT_DURATION, .offset = T(remind_every_ms),
     .flags = OPT_ZERO_OFF, .min = 60000, .max = 365 * DAY, .def = "0",
     .doc = "Repeat the alert this often while the target still fails (0: never)."},
    {.name = "flap_threshold", .type = OPT_UINT, .offset = T(flap_threshold), .min = 0, .max = 100,
     .def = "6", .doc = "State changes within flap_window probes that mean flapping (0: off)."},
    {.name = "flap_window", .type = OPT_UINT, .offset = T(flap_window), .min = 2, .max = 64,
     .def = "20", .doc = "How many recent probes flap_threshold counts over."},
    {.name = "maintenance", .type = OPT_CUSTOM, .offset = T(windows), .aux = T(nwindows),
     .ops = &windows_ops,
     .doc = "Maintenance windows: alerts wait while one holds, and what is still true at its end "
            "is raised then ([] for none)."},
    {.name = "depends_on", .type = OPT_CUSTOM, .offset = T(depends_on), .aux = T(ndepends_on),
     .ops = &target_names_ops,
     .doc = "Targets this one sits behind: while one of them fails, this one's alerts wait."},
};
#undef T
const struct schema_level schema_target = {"target", target_opts, ARRAY_SIZE(target_opts)};
_Static_assert(ARRAY_SIZE(target_opts) <= SCHEMA_MAX_KEYS, "a level has at most 64 keys");

#define W(f) offsetof(struct webhook_conf, f)
static const struct opt webhook_opts[] = {
    {.name = "name", .type = OPT_STRING, .offset = W(name), .flags = OPT_REQUIRED,
     .check = check_name, .doc = "The webhook's name, unique: targets route to it by name."},
    {.name = "url", .type = OPT_STRING, .offset = W(url),
     .flags = OPT_REQUIRED | OPT_URL | OPT_SECRET, .check = check_webhook_url,
     .doc = "The http or https URL alerts are POSTed to (its path may be its key); "
            "format email: smtp:// or smtps://."},
    {.name = "format", .type = OPT_ENUM, .offset = W(format), .def = "standard",
     .choices = &format_choices,
     .doc = "The body: standard (signed), slack, alertmanager (alerts pushed into Alertmanager), "
            "alertmanager-webhook (Alertmanager's own notification), pagerduty or email."},
    {.name = "secret_file", .type = OPT_CUSTOM, .offset = W(secret), .aux = W(secret_source),
     .flags = OPT_SECRET, .ops = &secret_file_ops,
     .doc = "A file whose first line is the signing secret, \"whsec_\" and base64."},
    {.name = "secret_credential", .type = OPT_CUSTOM, .offset = W(secret), .aux = W(secret_source),
     .flags = OPT_SECRET, .ops = &secret_credential_ops,
     .doc = "The name of a systemd credential that holds the signing secret."},
    {.name = "min_severity", .type = OPT_ENUM, .offset = W(min_severity), .def = "warning",
     .choices = &severity_choices, .doc = "The least severity of an alert sent here."},
    {.name = "events", .type = OPT_FLAGS, .offset = W(events), .def = "all",
     .choices = &event_choices, .doc = "The events sent here (default: every event)."},
    {.name = "timeout", .type = OPT_DURATION, .offset = W(timeout_ms), .min = 100, .max = 300000,
     .def = "10s", .doc = "How long one delivery attempt may take."},
    {.name = "max_age", .type = OPT_DURATION, .offset = W(max_age_ms), .min = 60000,
     .max = 30 * DAY, .def = "1d", .doc = "A delivery not made within this is dropped."},
    {.name = "max_pending", .type = OPT_UINT, .offset = W(max_pending), .min = 5, .max = 1000000,
     .def = "1000", .doc = "How many deliveries may wait at once; the oldest beyond are dropped."},
    {.name = "headers", .type = OPT_CUSTOM, .offset = W(headers), .aux = W(nheaders),
     .ops = &headers_ops, .doc = "Extra request headers, name to value."},
    {.name = "retry_initial", .type = OPT_DURATION, .offset = W(retry_initial_ms), .min = 100,
     .max = HOUR, .def = "1s", .doc = "The first back-off after a failed attempt; it doubles."},
    {.name = "retry_max", .type = OPT_DURATION, .offset = W(retry_max_ms), .min = 1000, .max = DAY,
     .def = "5m", .doc = "The longest back-off."},
    {.name = "resend_every", .type = OPT_DURATION, .offset = W(resend_every_ms), .min = 1000,
     .max = HOUR, .def = "1m",
     .doc = "format alertmanager: how often a firing alert is sent again, so that Alertmanager "
            "keeps it firing."},
    {.name = "username", .type = OPT_STRING, .offset = W(username), .check = check_username,
     .doc = "format slack: the name the message is posted under; format email: the SMTP login."},
    {.name = "icon_url", .type = OPT_STRING, .offset = W(icon_url), .flags = OPT_URL,
     .check = check_icon_url, .doc = "format slack: the URL of the picture the message is posted with."},
    {.name = "icon_emoji", .type = OPT_STRING, .offset = W(icon_emoji), .check = check_icon_emoji,
     .doc = "format slack: an emoji, such as :rotating_light:, the message is posted with."},
    {.name = "routing_key_file", .type = OPT_CUSTOM, .offset = W(routing_key),
     .aux = W(routing_key_source), .flags = OPT_SECRET, .ops = &secret_file_ops,
     .doc = "format pagerduty: a file whose first line is the integration's routing key."},
    {.name = "routing_key_credential", .type = OPT_CUSTOM, .offset = W(routing_key),
     .aux = W(routing_key_source), .flags = OPT_SECRET, .ops = &secret_credential_ops,
     .doc = "format pagerduty: the name of a systemd credential that holds the routing key."},
    {.name = "from", .type = OPT_STRING, .offset = W(mail_from), .check = check_mail_address,
     .doc = "format email: the sender's address."},
    {.name = "to", .type = OPT_CUSTOM, .offset = W(mail_to), .aux = W(nmail_to), .ops = &mail_to_ops,
     .doc = "format email: the recipients' addresses (one, or a list)."},
    {.name = "starttls", .type = OPT_ENUM, .offset = W(starttls), .def = "required",
     .choices = &starttls_choices,
     .doc = "format email, smtp://: required, optional (when offered) or off (plain text)."},
    {.name = "password_file", .type = OPT_CUSTOM, .offset = W(password), .aux = W(password_source),
     .flags = OPT_SECRET, .ops = &secret_file_ops,
     .doc = "format email: a file whose first line is the SMTP password (with username)."},
    {.name = "password_credential", .type = OPT_CUSTOM, .offset = W(password),
     .aux = W(password_source), .flags = OPT_SECRET, .ops = &secret_credential_ops,
     .doc = "format email: the name of a systemd credential that holds the SMTP password."},
};
#undef W
const struct schema_level schema_webhook = {"webhook", webhook_opts, ARRAY_SIZE(webhook_opts)};
_Static_assert(ARRAY_SIZE(webhook_opts) <= SCHEMA_MAX_KEYS, "a level has at most 64 keys");

#define C(f) offsetof(struct config, f)
static const struct opt alerts_opts[] = {
    {.name = "journald", .type = OPT_BOOL, .offset = C(journald), .def = "true",
     .doc = "Write one structured journal entry per alert."},
    {.name = "webhooks", .type = OPT_CUSTOM, .offset = C(webhooks), .aux = C(nwebhooks),
     .ops = &webhooks_ops, .doc = "The webhook receivers."},
};
const struct schema_level schema_alerts = {"alerts", alerts_opts, ARRAY_SIZE(alerts_opts)};
_Static_assert(ARRAY_SIZE(alerts_opts) <= SCHEMA_MAX_KEYS, "a level has at most 64 keys");

static const struct opt engine_opts[] = {
    {.name = "max_concurrent", .type = OPT_UINT, .offset = C(max_concurrent), .min = 1,
     .max = 100000, .def = "500", .doc = "How many probes may be in flight at once."},
    {.name = "user_agent", .type = OPT_STRING, .offset = C(user_agent),
     .def = "upmon/" UPMON_VERSION, .check = check_user_agent,
     .doc = "The User-Agent of probes and webhook deliveries."},
    {.name = "dns_cache", .type = OPT_DURATION, .offset = C(dns_cache_ms), .flags = OPT_ZERO_OFF,
     .min = 1000, .max = HOUR, .def = "60s",
     .doc = "How long a resolved host name is reused (0: resolve for every probe)."},
    {.name = "max_lookups", .type = OPT_UINT, .offset = C(max_lookups), .min = 1, .max = 10000,
     .def = "64", .doc = "How many host names may be looked up at once; a probe waiting for its "
                         "lookup holds no probe slot."},
};
const struct schema_level schema_engine = {"engine", engine_opts, ARRAY_SIZE(engine_opts)};
_Static_assert(ARRAY_SIZE(engine_opts) <= SCHEMA_MAX_KEYS, "a level has at most 64 keys");

static const struct opt http_opts[] = {
    {.name = "listen", .type = OPT_CUSTOM, .offset = C(http_listen), .aux = C(nhttp_listen),
     .ops = &listen_ops,
     .doc = "Where the status page, the API and /metrics are served: HOST:PORT or unix:PATH, or "
            "a list of them (none: nothing listens)."},
    {.name = "token_file", .type = OPT_CUSTOM, .offset = C(http_token),
     .aux = C(http_token_source), .flags = OPT_SECRET, .ops = &secret_file_ops,
     .doc = "A file whose first line is the bearer token the API and /metrics ask for over TCP."},
    {.name = "token_credential", .type = OPT_CUSTOM, .offset = C(http_token),
     .aux = C(http_token_source), .flags = OPT_SECRET, .ops = &secret_credential_ops,
     .doc = "The name of a systemd credential that holds that token."},
    {.name = "title", .type = OPT_STRING, .offset = C(http_title), .def = "upmon",
     .check = check_name, .doc = "The status page's title."},
    {.name = "group_by", .type = OPT_STRING, .offset = C(http_group_by),
     .check = check_label_name,
     .doc = "A label whose value groups targets on the status page (unset: by watch file)."},
    {.name = "max_connections", .type = OPT_UINT, .offset = C(http_max_connections), .min = 1,
     .max = 10000, .def = "64", .doc = "How many clients may be connected at once."},
    {.name = "timeout", .type = OPT_DURATION, .offset = C(http_timeout_ms), .min = 100,
     .max = 300000, .def = "10s",
     .doc = "How long a client may take to send its request, and to read the answer."},
    {.name = "refresh", .type = OPT_DURATION, .offset = C(http_refresh_ms), .flags = OPT_ZERO_OFF,
     .min = 5000, .max = HOUR, .def = "60s",
     .doc = "How often the status page reloads itself (0: never)."},
    {.name = "external_url", .type = OPT_STRING, .offset = C(http_external_url), .flags = OPT_URL,
     .check = check_external_url,
     .doc = "The URL people reach the status page at, for the links in alerts (Alertmanager's "
            "generatorURL)."},
};
const struct schema_level schema_http = {"http", http_opts, ARRAY_SIZE(http_opts)};
_Static_assert(ARRAY_SIZE(http_opts) <= SCHEMA_MAX_KEYS, "a level has at most 64 keys");

static const struct opt history_opts[] = {
    {.name = "enabled", .type = OPT_BOOL, .offset = C(history), .def = "true",
     .doc = "Keep each target's history: probes, failures and latency by minute and hour, and "
            "incidents."},
    {.name = "retention", .type = OPT_DURATION, .offset = C(history_retention_ms), .min = DAY,
     .max = 3650 * DAY, .def = "90d", .doc = "How long history and incidents are kept."},
    {.name = "compact_after", .type = OPT_DURATION, .offset = C(history_compact_after_ms),
     .min = HOUR, .max = 90 * DAY, .def = "2d",
     .doc = "How long per-minute buckets are kept before they are folded into hourly ones."},
};
const struct schema_level schema_history = {"history", history_opts, ARRAY_SIZE(history_opts)};
_Static_assert(ARRAY_SIZE(history_opts) <= SCHEMA_MAX_KEYS, "a level has at most 64 keys");

static const struct opt instance_opts[] = {
    {.name = "location", .type = OPT_STRING, .offset = C(location), .check = check_location,
     .doc = "Where this instance probes from, such as fra1: a label on every metric and alert."},
    {.name = "shard", .type = OPT_STRING, .offset = C(shard_spec), .check = check_shard,
     .doc = "I/N: probe only the targets shard I of N owns (unset: every target)."},
};
#undef C
const struct schema_level schema_instance = {"instance", instance_opts, ARRAY_SIZE(instance_opts)};
_Static_assert(ARRAY_SIZE(instance_opts) <= SCHEMA_MAX_KEYS, "a level has at most 64 keys");

/* The keys of a maintenance window; the main file's windows have them
 * too (struct maint_rule starts with its window), and two more. */
#define WIN(f) offsetof(struct window, f)
#define WINDOW_ROWS \
    {.name = "name", .type = OPT_STRING, .offset = WIN(name), .check = check_name, \
     .doc = "The window's name, shown in the journal."}, \
    {.name = "comment", .type = OPT_STRING, .offset = WIN(comment), .check = check_comment, \
     .doc = "Why the window is there, for people."}, \
    {.name = "start", .type = OPT_STRING, .offset = WIN(start), .check = check_window_start, \
     .doc = "A recurring window: the local time it starts at, HH:MM."}, \
    {.name = "duration", .type = OPT_DURATION, .offset = WIN(duration_ms), .min = 60000, \
     .max = 7 * DAY, .doc = "A recurring window: how long it lasts, in elapsed time."}, \
    {.name = "every", .type = OPT_CUSTOM, .offset = WIN(days), .ops = &days_ops, \
     .doc = "A recurring window: the days it starts on, daily or days of the week."}, \
    {.name = "timezone", .type = OPT_STRING, .offset = WIN(timezone), .def = "UTC", \
     .check = check_timezone, .doc = "A recurring window: the IANA time zone of start and every."}, \
    {.name = "from", .type = OPT_STRING, .offset = WIN(from), .check = check_window_time, \
     .doc = "A one-off window: when it starts, in RFC 3339 with an offset."}, \
    {.name = "until", .type = OPT_STRING, .offset = WIN(until), .check = check_window_time, \
     .doc = "A one-off window: when it ends, in RFC 3339 with an offset."}

static const struct opt window_opts[] = {WINDOW_ROWS};
const struct schema_level schema_window = {"window", window_opts, ARRAY_SIZE(window_opts)};

_Static_assert(offsetof(struct maint_rule, w) == 0, "a main-file window starts with its window");
#define R(f) offsetof(struct maint_rule, f)
static const struct opt maint_rule_opts[] = {
    WINDOW_ROWS,
    {.name = "match", .type = OPT_CUSTOM, .offset = R(match_labels), .aux = R(nmatch_labels),
     .ops = &match_ops, .doc = "The targets it holds, by their labels: {labels: {team: web}}."},
    {.name = "targets", .type = OPT_CUSTOM, .offset = R(targets), .aux = R(ntargets),
     .ops = &target_names_ops, .doc = "The targets it holds, by name."},
};
#undef R
#undef WIN
const struct schema_level schema_maint_rule = {"maintenance window", maint_rule_opts,
                                               ARRAY_SIZE(maint_rule_opts)};

#define N(f) offsetof(struct doc_nodes, f)
static const struct opt main_opts[] = {
    {.name = "defaults", .type = OPT_NODE, .offset = N(defaults), .ops = &defaults_ops,
     .doc = "Target keys every target inherits."},
    {.name = "watch", .type = OPT_NODE, .offset = N(watch), .ops = &watch_ops,
     .doc = "Watch lists to read: a path or glob, or a list of them, relative to this file."},
    {.name = "alerts", .type = OPT_NODE, .offset = N(alerts), .sub = &schema_alerts,
     .doc = "Where alerts go: the journal and webhooks."},
    {.name = "engine", .type = OPT_NODE, .offset = N(engine), .sub = &schema_engine,
     .doc = "How probes are made."},
    {.name = "http", .type = OPT_NODE, .offset = N(http), .sub = &schema_http,
     .doc = "The HTTP server: status page, JSON API and /metrics."},
    {.name = "history", .type = OPT_NODE, .offset = N(history), .sub = &schema_history,
     .doc = "What is kept of each target's past."},
    {.name = "instance", .type = OPT_NODE, .offset = N(instance), .sub = &schema_instance,
     .doc = "This instance among several: its location and its shard of the targets."},
    {.name = "maintenance", .type = OPT_NODE, .offset = N(maintenance), .ops = &maintenance_ops,
     .doc = "Maintenance windows for the targets they select, by label or by name."},
    {.name = "targets", .type = OPT_NODE, .offset = N(targets), .ops = &targets_ops,
     .doc = "Targets, as in a watch list."},
};
const struct schema_level schema_main = {"main", main_opts, ARRAY_SIZE(main_opts)};
_Static_assert(ARRAY_SIZE(main_opts) <= SCHEMA_MAX_KEYS, "a level has at most 64 keys");

static const struct opt watch_opts[] = {
    {.name = "defaults", .type = OPT_NODE, .offset = N(defaults), .ops = &defaults_ops,
     .doc = "Target keys every target of this file inherits, over the main file's defaults."},
    {.name = "targets", .type = OPT_NODE, .offset = N(targets), .flags = OPT_REQUIRED,
     .ops = &targets_ops, .doc = "The targets to probe."},
};
#undef N
const struct schema_level schema_watch = {"watch list", watch_opts, ARRAY_SIZE(watch_opts)};
_Static_assert(ARRAY_SIZE(watch_opts) <= SCHEMA_MAX_KEYS, "a level has at most 64 keys");
// clang-format on
