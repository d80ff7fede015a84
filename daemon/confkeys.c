/* The compound configuration keys that more than one level shares, or
 * that need more than a scalar: headers, labels, expect, severity, URLs.
 * Each reads its YAML, reports every mistake at its node, and comes with
 * the ops the schema drives (copy, clear, equal, dump, JSON Schema). */
#include "schema.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "secret.h"

const struct choices severity_choices = {"severity", &codes_severity_names};

/* Values are wiped: a header's may be a token. */
static void kv_free(struct kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].key);
        secret_free(kv[i].value);
    }
    free(kv);
}

/* Sets key to value in a list, replacing an existing key; secret says
 * whether the value was read from a file or a credential. */
static void kv_set(struct kv **kv, size_t *n, const char *key, const char *value,
                   bool case_insensitive, bool secret)
{
    for (size_t i = 0; i < *n; i++) {
        if (case_insensitive ? strcasecmp((*kv)[i].key, key) == 0
                             : strcmp((*kv)[i].key, key) == 0) {
            secret_free((*kv)[i].value);
            (*kv)[i].value = xstrdup(value);
            (*kv)[i].secret = secret;
            return;
        }
    }
    *kv = xreallocarray(*kv, *n + 1, sizeof(**kv));
    (*kv)[*n].key = xstrdup(key);
    (*kv)[*n].value = xstrdup(value);
    (*kv)[*n].secret = secret;
    (*n)++;
}

/* A value that turns secret changes where it may be sent. */
static bool kv_equal(const struct kv *a, size_t na, const struct kv *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i].key, b[i].key) != 0 || strcmp(a[i].value, b[i].value) != 0 ||
            a[i].secret != b[i].secret)
            return false;
    return true;
}

static bool is_token_char(unsigned char ch)
{
    return isalnum(ch) || strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/* Headers or labels of one target or webhook: far more than anyone
 * needs, and few enough that checking them for repeats stays cheap. */
#define MAX_PAIRS 100

static bool within_limit(struct ctx *c, const yaml_node_t *map, const char *what, size_t max)
{
    size_t n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);

    if (n <= max)
        return true;
    err_at(c, map, "%s: %zu entries, at most %zu", what, n, max);
    return false;
}

bool valid_header_name(const char *s)
{
    if (s[0] == '\0')
        return false;
    for (; *s; s++)
        if (!is_token_char((unsigned char)*s))
            return false;
    return true;
}

static int get_headers(struct ctx *c, const yaml_node_t *n, const char *what, struct kv **kv,
                       size_t *nkv)
{
    int rc = 0;

    if (!want_mapping(c, n, what) || !within_limit(c, n, what, MAX_PAIRS))
        return -1;
    MAPPING_FOREACH(c, n, pair)
    {
        yaml_node_t *k = node(c, pair->key), *v = node(c, pair->value);
        if (!want_scalar(c, k, "a header name") || repeated_key(c, n, pair, true)) {
            rc = -1;
            continue;
        }
        const char *name = scalar(k);
        if (!valid_header_name(name)) {
            err_at(c, k, "\"%s\" is not a valid header name", name);
            rc = -1;
            continue;
        }
        if (v->type == YAML_MAPPING_NODE) {
            char *value = header_value_from_file(c, v, name);
            if (value == NULL) {
                rc = -1;
                continue;
            }
            kv_set(kv, nkv, name, value, true, true);
            secret_free(value);
            continue;
        }
        if (v->type != YAML_SCALAR_NODE) {
            err_at(c, v, "header %s must be a value, or where to read it from, not %s", name,
                   node_kind(v));
            rc = -1;
            continue;
        }
        if (has_control_chars(scalar(v))) {
            err_at(c, v, "header %s must not contain line breaks or control characters", name);
            rc = -1;
            continue;
        }
        kv_set(kv, nkv, name, scalar(v), true, false);
    }
    return rc;
}

static bool valid_label_name(const char *s)
{
    if (!(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return false;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return false;
    return true;
}

bool label_name_valid(const char *s)
{
    return valid_label_name(s) && strlen(s) <= 48;
}

static int get_labels(struct ctx *c, const yaml_node_t *n, struct kv **kv, size_t *nkv)
{
    int rc = 0;

    if (!want_mapping(c, n, "labels") || !within_limit(c, n, "labels", MAX_PAIRS))
        return -1;
    MAPPING_FOREACH(c, n, pair)
    {
        yaml_node_t *k = node(c, pair->key), *v = node(c, pair->value);
        if (!want_scalar(c, k, "a label name") || repeated_key(c, n, pair, false)) {
            rc = -1;
            continue;
        }
        /* 48 keeps UPMON_LABEL_<NAME> within journald's 64-byte field names. */
        if (!valid_label_name(scalar(k)) || strlen(scalar(k)) > 48) {
            err_at(c, k,
                   "label name \"%s\" must be letters, digits and underscores, not starting "
                   "with a digit (at most 48)",
                   scalar(k));
            rc = -1;
            continue;
        }
        if (!want_scalar(c, v, "a label value")) {
            rc = -1;
            continue;
        }
        if (has_control_chars(scalar(v))) {
            err_at(c, v, "label %s must not contain control characters", scalar(k));
            rc = -1;
            continue;
        }
        kv_set(kv, nkv, scalar(k), scalar(v), false, false);
    }
    return rc;
}

/* ---- status codes in expect and severity ---- */

static int parse_code_range(const char *s, struct code_range *r)
{
    unsigned long long v;

    if (strlen(s) == 3 && s[0] >= '1' && s[0] <= '5' && (s[1] == 'x' || s[1] == 'X') &&
        (s[2] == 'x' || s[2] == 'X')) {
        r->lo = (uint16_t)((s[0] - '0') * 100);
        r->hi = (uint16_t)(r->lo + 99);
        return 0;
    }
    if (parse_uint(s, &v) == 0 && v >= 100 && v <= 599) {
        r->lo = r->hi = (uint16_t)v;
        return 0;
    }
    return -1;
}

static int get_code_range(struct ctx *c, const yaml_node_t *n, const char *what,
                          struct code_range *r)
{
    if (!want_scalar(c, n, what))
        return -1;
    if (parse_code_range(scalar(n), r) < 0) {
        err_at(c, n, "%s: \"%s\" is not a status code (100-599) or a class (1xx to 5xx)", what,
               scalar(n));
        return -1;
    }
    return 0;
}

static int get_expect(struct ctx *c, const yaml_node_t *n, struct code_range **out, size_t *nout)
{
    struct code_range *v = NULL;
    size_t nv = 0;
    int rc = 0;

    if (n->type == YAML_SCALAR_NODE) {
        v = xmalloc(sizeof(*v));
        if (get_code_range(c, n, "expect", v) < 0) {
            free(v);
            return -1;
        }
        nv = 1;
    } else if (n->type == YAML_SEQUENCE_NODE) {
        size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
        if (count == 0) {
            err_at(c, n, "expect must list at least one status code or class");
            return -1;
        }
        v = xcalloc(count, sizeof(*v));
        SEQUENCE_FOREACH(c, n, item)
        {
            if (get_code_range(c, node(c, *item), "expect", &v[nv]) == 0)
                nv++;
            else
                rc = -1;
        }
    } else {
        err_at(c, n, "expect must be a status code, a class or a list of them, not %s",
               node_kind(n));
        return -1;
    }
    if (rc < 0) {
        free(v);
        return -1;
    }
    free(*out);
    *out = v;
    *nout = nv;
    return 0;
}

static int get_severity_rules(struct ctx *c, const yaml_node_t *n, struct severity_rule **out,
                              size_t *nout)
{
    struct severity_rule *v;
    size_t nv = 0;
    int rc = 0;

    if (!want_mapping(c, n, "severity"))
        return -1;
    v = xcalloc((size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start) + 1, sizeof(*v));
    MAPPING_FOREACH(c, n, pair)
    {
        yaml_node_t *k = node(c, pair->key), *val = node(c, pair->value);
        struct severity_rule r;
        if (repeated_key(c, n, pair, false) || get_code_range(c, k, "severity", &r.codes) < 0) {
            rc = -1;
            continue;
        }
        if (!want_scalar(c, val, "a severity")) {
            rc = -1;
            continue;
        }
        unsigned sev;
        if (get_choice(c, val, &severity_choices, &sev) < 0) {
            rc = -1;
            continue;
        }
        r.severity = (enum severity)sev;
        v[nv++] = r;
    }
    if (rc < 0) {
        free(v);
        return -1;
    }
    free(*out);
    *out = v;
    *nout = nv;
    return 0;
}

/* ---- URLs ---- */

int check_url(struct ctx *c, const yaml_node_t *n, const char *what)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    int rc = -1;

    if (u == NULL) {
        err_at(c, n, "%s: out of memory", what);
        return -1;
    }
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, scalar(n), 0);
    if (uc != CURLUE_OK) {
        err_at(c, n, "%s \"%s\" is not a valid URL: %s", what, scalar(n), curl_url_strerror(uc));
        goto out;
    }
    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    if (scheme == NULL || (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
        err_at(c, n, "%s \"%s\": scheme must be http or https, not %s", what, scalar(n),
               scheme ? scheme : "none");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host == NULL || !host[0]) {
        err_at(c, n, "%s \"%s\" has no host", what, scalar(n));
        goto out;
    }
    rc = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

char *url_shown(const char *url, bool origin_only)
{
    CURLU *u;
    char *out = NULL, *shown = NULL;

    /* No userinfo, nothing to hide: as written, and without parsing it
     * (loading ten thousand targets parsed every URL twice). */
    if (!origin_only && strchr(url, '@') == NULL)
        return xstrdup(url);
    u = curl_url();

    if (u == NULL || curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
        curl_url_cleanup(u);
        return NULL;
    }
    curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
    if (origin_only) {
        curl_url_set(u, CURLUPART_USER, NULL, 0);
        curl_url_set(u, CURLUPART_PATH, "/(hidden)", 0);
        curl_url_set(u, CURLUPART_QUERY, NULL, 0);
        curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
    }
    if (curl_url_get(u, CURLUPART_URL, &out, 0) == CURLUE_OK)
        shown = xstrdup(out);
    curl_free(out);
    curl_url_cleanup(u);
    return shown;
}

/* ---- compound keys ---- */

#define KV(base, o)    ((struct kv **)FIELD(base, (o)->offset))
#define COUNT(base, o) ((size_t *)FIELD(base, (o)->aux))

/* Headers and labels: a list of pairs, *(struct kv **) at offset and its
 * count at aux. Header names compare without case, and header values may
 * carry credentials, so a dump shows only their names. */
static bool is_headers(const struct opt *o)
{
    return o->ops == &headers_ops;
}

static void kv_clear(void *base, const struct opt *o)
{
    kv_free(*KV(base, o), *COUNT(base, o));
    *KV(base, o) = NULL;
    *COUNT(base, o) = 0;
}

static void kv_copy(void *dst, const void *src, const struct opt *o, bool merge)
{
    struct kv *s = *KV(src, o);

    if (!merge)
        kv_clear(dst, o);
    for (size_t i = 0; i < *COUNT(src, o); i++)
        kv_set(KV(dst, o), COUNT(dst, o), s[i].key, s[i].value, is_headers(o), s[i].secret);
}

static bool kv_eq(const void *a, const void *b, const struct opt *o)
{
    return kv_equal(*KV(a, o), *COUNT(a, o), *KV(b, o), *COUNT(b, o));
}

static json_t *kv_value(const void *base, const struct opt *o)
{
    json_t *obj = json_object();
    struct kv *kv = *KV(base, o);

    for (size_t i = 0; i < *COUNT(base, o); i++)
        json_object_set_new(obj, kv[i].key, json_string(is_headers(o) ? "(hidden)" : kv[i].value));
    return obj;
}

static int headers_parse(struct ctx *c, const yaml_node_t *v, const struct opt *o, void *base)
{
    return get_headers(c, v, o->name, KV(base, o), COUNT(base, o));
}

static json_t *headers_schema(const struct opt *o)
{
    (void)o;
    /* A header given with no value is sent empty. */
    return json_pack("{s:s, s:{s:s}, s:{s:[o, {s:s}, o]}, s:i}", "type", "object", "propertyNames",
                     "pattern", "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", "additionalProperties", "anyOf",
                     schema_text_json(), "type", "null", header_value_schema(), "maxProperties",
                     MAX_PAIRS);
}

const struct opt_ops headers_ops = {headers_parse, kv_copy,  kv_clear,
                                    kv_eq,         kv_value, headers_schema};

static int labels_parse(struct ctx *c, const yaml_node_t *v, const struct opt *o, void *base)
{
    return get_labels(c, v, KV(base, o), COUNT(base, o));
}

static json_t *labels_schema(const struct opt *o)
{
    (void)o;
    return json_pack("{s:s, s:{s:s}, s:o, s:i}", "type", "object", "propertyNames", "pattern",
                     "^[A-Za-z_][A-Za-z0-9_]{0,47}$", "additionalProperties", schema_text_json(),
                     "maxProperties", MAX_PAIRS);
}

const struct opt_ops labels_ops = {labels_parse, kv_copy, kv_clear, kv_eq, kv_value, labels_schema};

/* A status code or class, as expect and severity take them. */
static json_t *code_schema(void)
{
    return json_pack("{s:[{s:s, s:i, s:i}, {s:s, s:s}]}", "anyOf", "type", "integer", "minimum",
                     100, "maximum", 599, "type", "string", "pattern",
                     "^([1-5][0-9][0-9]|[1-5][xX][xX])$");
}

static json_t *range_json(const struct code_range *r)
{
    char buf[8];

    if (r->lo == r->hi)
        return json_integer(r->lo);
    snprintf(buf, sizeof(buf), "%dxx", r->lo / 100);
    return json_string(buf);
}

/* expect: struct code_range * at offset, count at aux. */
#define RANGES(base, o) ((struct code_range **)FIELD(base, (o)->offset))

static int expect_parse(struct ctx *c, const yaml_node_t *v, const struct opt *o, void *base)
{
    return get_expect(c, v, RANGES(base, o), COUNT(base, o));
}

static void array_clear(void *base, const struct opt *o)
{
    void **p = (void **)FIELD(base, o->offset);

    free(*p);
    *p = NULL;
    *COUNT(base, o) = 0;
}

/* Copies an array of plain structs of size elsize. */
static void array_copy(void *dst, const void *src, const struct opt *o, size_t elsize)
{
    void *const *s = (void *const *)FIELD(src, o->offset);
    void **d = (void **)FIELD(dst, o->offset);
    size_t n = *COUNT(src, o);

    array_clear(dst, o);
    if (n) {
        *d = xcalloc(n, elsize);
        memcpy(*d, *s, n * elsize);
    }
    *COUNT(dst, o) = n;
}

static bool array_eq(const void *a, const void *b, const struct opt *o, size_t elsize)
{
    size_t n = *COUNT(a, o);

    return n == *COUNT(b, o) &&
           (n == 0 || memcmp(*(void *const *)FIELD(a, o->offset),
                             *(void *const *)FIELD(b, o->offset), n * elsize) == 0);
}

static void expect_copy(void *dst, const void *src, const struct opt *o, bool merge)
{
    (void)merge;
    array_copy(dst, src, o, sizeof(struct code_range));
}

static bool expect_eq(const void *a, const void *b, const struct opt *o)
{
    return array_eq(a, b, o, sizeof(struct code_range));
}

static json_t *expect_value(const void *base, const struct opt *o)
{
    json_t *a = json_array();

    for (size_t i = 0; i < *COUNT(base, o); i++)
        json_array_append_new(a, range_json(&(*RANGES(base, o))[i]));
    return a;
}

static json_t *expect_schema(const struct opt *o)
{
    (void)o;
    return json_pack("{s:[o, {s:s, s:o, s:i}]}", "anyOf", code_schema(), "type", "array", "items",
                     code_schema(), "minItems", 1);
}

const struct opt_ops expect_ops = {expect_parse, expect_copy,  array_clear,
                                   expect_eq,    expect_value, expect_schema};

/* severity: struct severity_rule * at offset, count at aux. */
static int severity_parse(struct ctx *c, const yaml_node_t *v, const struct opt *o, void *base)
{
    return get_severity_rules(c, v, (struct severity_rule **)FIELD(base, o->offset),
                              COUNT(base, o));
}

static void severity_copy(void *dst, const void *src, const struct opt *o, bool merge)
{
    (void)merge;
    array_copy(dst, src, o, sizeof(struct severity_rule));
}

static bool severity_eq(const void *a, const void *b, const struct opt *o)
{
    return array_eq(a, b, o, sizeof(struct severity_rule));
}

static json_t *severity_value(const void *base, const struct opt *o)
{
    const struct severity_rule *r = *(struct severity_rule *const *)FIELD(base, o->offset);
    json_t *obj = json_object();
    char key[8];

    for (size_t i = 0; i < *COUNT(base, o); i++) {
        if (r[i].codes.lo == r[i].codes.hi)
            snprintf(key, sizeof(key), "%d", r[i].codes.lo);
        else
            snprintf(key, sizeof(key), "%dxx", r[i].codes.lo / 100);
        json_object_set_new(obj, key, json_string(codes_severity_name(r[i].severity)));
    }
    return obj;
}

static json_t *severity_schema(const struct opt *o)
{
    (void)o;
    return json_pack("{s:s, s:{s:s}, s:o}", "type", "object", "propertyNames", "pattern",
                     "^([1-5][0-9][0-9]|[1-5][xX][xX])$", "additionalProperties",
                     schema_choices_json(&severity_choices));
}

const struct opt_ops severity_ops = {severity_parse, severity_copy,  array_clear,
                                     severity_eq,    severity_value, severity_schema};
