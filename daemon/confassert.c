/* The keys that check an answer beyond its status, each with its ops:
 * header_matches (a response header to a pattern) and json (a path into
 * a JSON body to the value expected there). The checks themselves run in
 * assertion.c; these read, copy, compare and show the keys. */
#include "schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assertion.h"
#include "util.h"

/* Entries of one assertion key: far more than a health check needs. */
#define MAX_ASSERTIONS 100

static size_t pairs_of(const yaml_node_t *map)
{
    return (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
}

static bool assertions_within_limit(struct ctx *c, const yaml_node_t *map, const char *what)
{
    if (pairs_of(map) <= MAX_ASSERTIONS)
        return true;
    err_at(c, map, "%s: %zu entries, at most %d", what, pairs_of(map), MAX_ASSERTIONS);
    return false;
}

static void header_matches_free(struct header_assertion *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        assertion_header_free(&v[i]);
    free(v);
}

/* header_matches: response header name to the pattern its value must
 * match. Names compare without case, as in HTTP. */
static int header_matches_parse(struct ctx *c, const yaml_node_t *n, const struct opt *o,
                                void *base)
{
    struct target_conf *t = base;
    struct header_assertion *v;
    size_t nv = 0;
    char err[256], what[256];
    int rc = 0;

    if (!want_mapping(c, n, o->name) || !assertions_within_limit(c, n, o->name))
        return -1;
    v = xcalloc(pairs_of(n) + 1, sizeof(*v));
    MAPPING_FOREACH(c, n, pair)
    {
        yaml_node_t *k = node(c, pair->key), *val = node(c, pair->value);
        if (!want_scalar(c, k, "a header name") || repeated_key(c, n, pair, true)) {
            rc = -1;
            continue;
        }
        if (!valid_header_name(scalar(k))) {
            err_at(c, k, "\"%s\" is not a valid header name", scalar(k));
            rc = -1;
            continue;
        }
        snprintf(what, sizeof(what), "%s %s", o->name, scalar(k));
        if (!want_scalar(c, val, what)) {
            rc = -1;
            continue;
        }
        if (assertion_header_init(&v[nv], scalar(k), scalar(val), err, sizeof(err)) < 0) {
            err_at(c, val, "%s \"%s\" is not a valid extended regular expression: %s", what,
                   scalar(val), err);
            rc = -1;
            continue;
        }
        nv++;
    }
    if (rc < 0) {
        header_matches_free(v, nv);
        return -1;
    }
    o->ops->clear(base, o);
    t->header_matches = v;
    t->nheader_matches = nv;
    return 0;
}

static void header_matches_clear(void *base, const struct opt *o)
{
    struct target_conf *t = base;

    (void)o;
    header_matches_free(t->header_matches, t->nheader_matches);
    t->header_matches = NULL;
    t->nheader_matches = 0;
}

static void header_matches_copy(void *dst, const void *src, const struct opt *o, bool merge)
{
    struct target_conf *d = dst;
    const struct target_conf *s = src;
    char err[256];

    (void)merge;
    header_matches_clear(dst, o);
    if (s->nheader_matches == 0)
        return; /* most targets have none: no allocation for each */
    d->header_matches = xcalloc(s->nheader_matches, sizeof(*d->header_matches));
    for (size_t i = 0; i < s->nheader_matches; i++) {
        const struct header_assertion *h = &s->header_matches[i];
        /* Valid when first read: only memory can fail here. */
        if (assertion_header_init(&d->header_matches[i], h->name, h->pattern, err, sizeof(err)) <
            0) {
            fprintf(stderr, "upmond: copying header_matches %s: %s\n", h->name, err);
            abort();
        }
    }
    d->nheader_matches = s->nheader_matches;
}

static bool header_matches_eq(const void *a, const void *b, const struct opt *o)
{
    const struct target_conf *x = a, *y = b;

    (void)o;
    if (x->nheader_matches != y->nheader_matches)
        return false;
    for (size_t i = 0; i < x->nheader_matches; i++)
        if (!assertion_header_equal(&x->header_matches[i], &y->header_matches[i]))
            return false;
    return true;
}

static json_t *header_matches_value(const void *base, const struct opt *o)
{
    const struct target_conf *t = base;
    json_t *obj = json_object();

    (void)o;
    for (size_t i = 0; i < t->nheader_matches; i++)
        json_object_set_new(obj, t->header_matches[i].name,
                            json_string(t->header_matches[i].pattern));
    return obj;
}

static json_t *header_matches_schema(const struct opt *o)
{
    (void)o;
    return json_pack("{s:s, s:{s:s}, s:o, s:i}", "type", "object", "propertyNames", "pattern",
                     "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", "additionalProperties", schema_text_json(),
                     "maxProperties", MAX_ASSERTIONS);
}

const struct opt_ops header_matches_ops = {header_matches_parse, header_matches_copy,
                                           header_matches_clear, header_matches_eq,
                                           header_matches_value, header_matches_schema};

/* A scalar of YAML as the JSON value it stands for, by YAML 1.2's core
 * rules: unquoted null, ~ or nothing is null, true and false are
 * booleans, a number as JSON writes it is a number; anything else, and
 * anything quoted, is a string ("1" is the string, 1 the number). */
static json_t *scalar_json(const yaml_node_t *n)
{
    static const char *const nulls[] = {"Null", "NULL"};
    static const char *const trues[] = {"true", "True", "TRUE"};
    static const char *const falses[] = {"false", "False", "FALSE"};
    const char *s = scalar(n);

    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return json_string(s);
    if (is_null(n))
        return json_null();
    for (size_t i = 0; i < ARRAY_SIZE(trues); i++) {
        if (strcmp(s, trues[i]) == 0)
            return json_true();
        if (strcmp(s, falses[i]) == 0)
            return json_false();
        if (i < ARRAY_SIZE(nulls) && strcmp(s, nulls[i]) == 0)
            return json_null();
    }
    json_t *v = json_loads(s, JSON_DECODE_ANY, NULL);
    if (v && json_is_number(v))
        return v;
    json_decref(v);
    return json_string(s);
}

/* What one json entry expects: a scalar, or {matches: PATTERN}. */
static int json_expected(struct ctx *c, const yaml_node_t *val, struct json_assertion *j)
{
    char err[256];
    const yaml_node_t *pattern = NULL;
    int rc = 0;

    if (val->type == YAML_SCALAR_NODE) {
        assertion_json_equals(j, scalar_json(val));
        return 0;
    }
    if (val->type != YAML_MAPPING_NODE) {
        err_at(c, val,
               "json %s must be a string, a number, true, false, null or {matches: PATTERN}, "
               "not %s",
               j->path_src, node_kind(val));
        return -1;
    }
    MAPPING_FOREACH(c, val, pair)
    {
        yaml_node_t *k = node(c, pair->key);
        if (k->type != YAML_SCALAR_NODE || strcmp(scalar(k), "matches") != 0) {
            err_at(c, k, "json %s: the only key here is matches, for {matches: PATTERN}",
                   j->path_src);
            rc = -1;
            continue;
        }
        if (repeated_key(c, val, pair, false)) {
            rc = -1;
            continue;
        }
        pattern = node(c, pair->value);
    }
    if (rc < 0)
        return -1;
    if (pattern == NULL) {
        err_at(c, val, "json %s: give {matches: PATTERN}, or a value", j->path_src);
        return -1;
    }
    char what[256];
    snprintf(what, sizeof(what), "json %s matches", j->path_src);
    if (!want_scalar(c, pattern, what))
        return -1;
    if (assertion_json_matches(j, scalar(pattern), err, sizeof(err)) < 0) {
        err_at(c, pattern, "json %s \"%s\" is not a valid extended regular expression: %s",
               j->path_src, scalar(pattern), err);
        return -1;
    }
    return 0;
}

static void json_assertions_free(struct json_assertion *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        assertion_json_free(&v[i]);
    free(v);
}

/* json: a path into a JSON body to the value expected there. */
static int json_key_parse(struct ctx *c, const yaml_node_t *n, const struct opt *o, void *base)
{
    struct target_conf *t = base;
    struct json_assertion *v;
    size_t nv = 0;
    char err[256];
    int rc = 0;

    if (!want_mapping(c, n, o->name) || !assertions_within_limit(c, n, o->name))
        return -1;
    v = xcalloc(pairs_of(n) + 1, sizeof(*v));
    MAPPING_FOREACH(c, n, pair)
    {
        yaml_node_t *k = node(c, pair->key), *val = node(c, pair->value);
        if (!want_scalar(c, k, "a JSON path") || repeated_key(c, n, pair, false)) {
            rc = -1;
            continue;
        }
        if (assertion_json_init(&v[nv], scalar(k), err, sizeof(err)) < 0) {
            err_at(c, k, "json path \"%s\" is not valid: %s", scalar(k), err);
            rc = -1;
            continue;
        }
        if (json_expected(c, val, &v[nv]) < 0) {
            assertion_json_free(&v[nv]);
            rc = -1;
            continue;
        }
        nv++;
    }
    if (rc < 0) {
        json_assertions_free(v, nv);
        return -1;
    }
    o->ops->clear(base, o);
    t->json = v;
    t->njson = nv;
    return 0;
}

static void json_key_clear(void *base, const struct opt *o)
{
    struct target_conf *t = base;

    (void)o;
    json_assertions_free(t->json, t->njson);
    t->json = NULL;
    t->njson = 0;
}

static void json_key_copy(void *dst, const void *src, const struct opt *o, bool merge)
{
    struct target_conf *d = dst;
    const struct target_conf *s = src;

    (void)merge;
    json_key_clear(dst, o);
    if (s->njson == 0)
        return;
    d->json = xcalloc(s->njson, sizeof(*d->json));
    for (size_t i = 0; i < s->njson; i++)
        assertion_json_copy(&d->json[i], &s->json[i]);
    d->njson = s->njson;
}

static bool json_key_eq(const void *a, const void *b, const struct opt *o)
{
    const struct target_conf *x = a, *y = b;

    (void)o;
    if (x->njson != y->njson)
        return false;
    for (size_t i = 0; i < x->njson; i++)
        if (!assertion_json_equal(&x->json[i], &y->json[i]))
            return false;
    return true;
}

static json_t *json_key_value(const void *base, const struct opt *o)
{
    const struct target_conf *t = base;
    json_t *obj = json_object();

    (void)o;
    for (size_t i = 0; i < t->njson; i++)
        json_object_set_new(obj, t->json[i].path_src, assertion_json_expected(&t->json[i]));
    return obj;
}

static json_t *json_key_schema(const struct opt *o)
{
    (void)o;
    return json_pack("{s:s, s:{s:i}, s:{s:[{s:[s,s,s,s]}, {s:s, s:{s:o}, s:[s], s:b}]}, s:i}",
                     "type", "object", "propertyNames", "minLength", 1, "additionalProperties",
                     "anyOf", "type", "string", "number", "boolean", "null", "type", "object",
                     "properties", "matches", schema_text_json(), "required", "matches",
                     "additionalProperties", 0, "maxProperties", MAX_ASSERTIONS);
}

const struct opt_ops json_ops = {json_key_parse, json_key_copy,  json_key_clear,
                                 json_key_eq,    json_key_value, json_key_schema};
