/* The generic half of the configuration schema: every operation on a
 * level's keys, driven by its rows (see schema.h). The rows themselves
 * live in confschema.c. */
#include "schema.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "duration.h"
#include "size.h"

_Static_assert(sizeof(enum severity) == sizeof(int), "enum fields are int-sized");

/* ---- scalar values: from text, as YAML gives them and as defaults are written ---- */

static const char *const yes_words[] = {"true", "True", "TRUE", "yes", "on"};
static const char *const no_words[] = {"false", "False", "FALSE", "no", "off"};

/* A hint for a word among a closed set: case does not matter ("get" is
 * GET) and a clear abbreviation counts ("warn" is warning). The sets are
 * small (methods, severities, events); past CHOICES_MAX no hint is given. */
#define CHOICES_MAX 32

static const char *choice_hint(const struct choices *ch, const char *word)
{
    char fw[64], fc[CHOICES_MAX][32];
    const char *cands[CHOICES_MAX] = {NULL};
    unsigned n = ch->set->count;
    size_t i;

    if (n > CHOICES_MAX)
        return NULL;
    for (i = 0; i + 1 < sizeof(fw) && word[i]; i++)
        fw[i] = (char)tolower((unsigned char)word[i]);
    fw[i] = '\0';
    for (unsigned k = 0; k < n; k++) {
        for (i = 0; i + 1 < sizeof(fc[k]) && ch->set->name[k][i]; i++)
            fc[k][i] = (char)tolower((unsigned char)ch->set->name[k][i]);
        fc[k][i] = '\0';
        cands[k] = fc[k];
    }
    const char *hint = closest(fw, cands, n);
    /* A hint that shares nothing with the word ("4" for "0") is none. */
    if (hint == NULL || levenshtein(fw, hint) >= strlen(hint))
        return NULL;
    for (unsigned k = 0; k < n; k++)
        if (cands[k] == hint)
            return ch->set->name[k];
    return NULL;
}

static int choice_find(const struct choices *ch, const char *s, unsigned *out)
{
    int v = names_parse(ch->set, s);

    if (v < 0)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* "unknown severity "info" (use ok, warning or critical)" */
static void choice_error(const struct choices *ch, const char *s, char *err, size_t len)
{
    const char *hint = choice_hint(ch, s);
    size_t off;

    if (hint) {
        errbuf_set(err, len, "unknown %s \"%s\" (did you mean \"%s\"?)", ch->noun, s, hint);
        return;
    }
    errbuf_set(err, len, "unknown %s \"%s\" (use ", ch->noun, s);
    for (unsigned i = 0; i < ch->set->count; i++) {
        off = strlen(err);
        snprintf(err + off, len - off, "%s%s", ch->set->name[i],
                 i + 2 < ch->set->count   ? ", "
                 : i + 1 < ch->set->count ? " or "
                                          : ")");
    }
}

int get_choice(struct ctx *c, const yaml_node_t *n, const struct choices *ch, unsigned *out)
{
    char err[512];

    if (choice_find(ch, scalar(n), out) == 0)
        return 0;
    choice_error(ch, scalar(n), err, sizeof(err));
    err_at(c, n, "%s", err);
    return -1;
}

/* Durations and sizes: a number with a unit, each with its own notation. */
struct quantity {
    const char *noun; /* "A duration" */
    int (*parse)(const char *s, uint64_t *v, char *err, size_t errlen);
    void (*format)(uint64_t v, char *out, size_t outlen);
    const char *pattern; /* of the notation, for the JSON Schema */
};

/* Durations as duration.h reads them, largest unit first. */
#define DURATION_PATTERN "^(0|([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?)$"

static const struct quantity durations = {"A duration", duration_parse, duration_format,
                                          DURATION_PATTERN};
static const struct quantity sizes = {"A size", size_parse, size_format,
                                      "^[0-9]+(B|KiB|MiB|GiB)?$"};

static const struct quantity *quantity_of(const struct opt *o)
{
    return o->type == OPT_SIZE ? &sizes : o->type == OPT_DURATION ? &durations : NULL;
}

/* Parses the text of a scalar key into its field. */
static int scalar_parse(const struct opt *o, const char *s, void *base, char *err, size_t len)
{
    void *f = FIELD(base, o->offset);
    unsigned long long u;
    uint64_t ms;
    unsigned idx;
    char a[32], b[32], why[256];

    switch (o->type) {
    case OPT_STRING:
        if (s[0] == '\0') {
            errbuf_set(err, len, "%s needs a value", o->name);
            return -1;
        }
        /* fall through */
    case OPT_TEXT:
        if (o->choices && choice_find(o->choices, s, &idx) < 0) {
            choice_error(o->choices, s, err, len);
            return -1;
        }
        free(*(char **)f);
        *(char **)f = xstrdup(s);
        return 0;
    case OPT_BOOL:
        for (size_t i = 0; i < ARRAY_SIZE(yes_words); i++) {
            if (strcmp(s, yes_words[i]) == 0 || strcmp(s, no_words[i]) == 0) {
                *(bool *)f = strcmp(s, yes_words[i]) == 0;
                return 0;
            }
        }
        errbuf_set(err, len, "%s must be true or false, not \"%s\"", o->name, s);
        return -1;
    case OPT_UINT:
        if (parse_uint(s, &u) < 0) {
            errbuf_set(err, len, "%s must be a whole number, not \"%s\"", o->name, s);
            return -1;
        }
        if (u < o->min || u > o->max) {
            errbuf_set(err, len, "%s must be between %u and %u, not %llu", o->name,
                       (unsigned)o->min, (unsigned)o->max, u);
            return -1;
        }
        *(unsigned *)f = (unsigned)u;
        return 0;
    case OPT_DURATION:
    case OPT_SIZE:
        if (quantity_of(o)->parse(s, &ms, why, sizeof(why)) < 0) {
            errbuf_set(err, len, "%s: %s", o->name, why);
            return -1;
        }
        if (!(ms == 0 && (o->flags & OPT_ZERO_OFF)) && (ms < o->min || ms > o->max)) {
            quantity_of(o)->format(o->min, a, sizeof(a));
            quantity_of(o)->format(o->max, b, sizeof(b));
            errbuf_set(err, len, "%s must be between %s and %s%s, not %s", o->name, a, b,
                       (o->flags & OPT_ZERO_OFF) ? " (or 0 for never)" : "", s);
            return -1;
        }
        *(uint64_t *)f = ms;
        return 0;
    case OPT_ENUM:
        if (choice_find(o->choices, s, &idx) < 0) {
            choice_error(o->choices, s, err, len);
            return -1;
        }
        *(int *)f = (int)idx;
        return 0;
    case OPT_FLAGS:
        /* Only as a default: "all". */
        if (strcmp(s, "all") != 0) {
            errbuf_set(err, len, "%s: \"%s\" is not a default", o->name, s);
            return -1;
        }
        *(uint32_t *)f = (uint32_t)((1ull << o->choices->set->count) - 1);
        return 0;
    case OPT_NODE:
    case OPT_CUSTOM:
        break;
    }
    errbuf_set(err, len, "%s has no default", o->name);
    return -1;
}

static int flags_parse(struct ctx *c, const struct opt *o, const yaml_node_t *v, void *base)
{
    char what[64];
    uint32_t bits = 0;
    unsigned idx;
    int rc = 0;

    if (v->type != YAML_SEQUENCE_NODE) {
        err_at(c, v, "%s must be a list of %s names, not %s", o->name, o->choices->noun,
               node_kind(v));
        return -1;
    }
    snprintf(what, sizeof(what), "an %s name", o->choices->noun);
    SEQUENCE_FOREACH(c, v, item)
    {
        yaml_node_t *e = node(c, *item);
        if (!want_scalar(c, e, what) || get_choice(c, e, o->choices, &idx) < 0)
            rc = -1;
        else
            bits |= 1u << idx;
    }
    *(uint32_t *)FIELD(base, o->offset) = bits;
    return rc;
}

/* Parses one key's value into base. */
static int value_parse(struct ctx *c, const struct opt *o, const yaml_node_t *v, void *base)
{
    char err[512];

    switch (o->type) {
    case OPT_NODE:
        *(const yaml_node_t **)FIELD(base, o->offset) = v;
        return 0;
    case OPT_CUSTOM:
        return o->ops->parse(c, v, o, base);
    case OPT_FLAGS:
        return flags_parse(c, o, v, base);
    case OPT_TEXT:
        if (v->type != YAML_SCALAR_NODE) {
            err_at(c, v, "%s must be text, not %s", o->name, node_kind(v));
            return -1;
        }
        break;
    default:
        if (!want_scalar(c, v, o->name))
            return -1;
        break;
    }
    if (scalar_parse(o, scalar(v), base, err, sizeof(err)) < 0) {
        err_at(c, v, "%s", err);
        return -1;
    }
    if (o->check && o->check(c, v, scalar(v)) < 0)
        return -1;
    return 0;
}

/* ---- walking a level ---- */

unsigned schema_index(const struct schema_level *l, const char *name)
{
    for (unsigned i = 0; i < l->n; i++)
        if (strcmp(l->opts[i].name, name) == 0)
            return i;
    fprintf(stderr, "upmond: no key %s in the %s schema\n", name, l->name);
    abort();
}

void schema_parse(struct ctx *c, const struct schema_level *l, const yaml_node_t *map, void *base,
                  const char *what, bool defaults, struct given *g)
{
    const char *names[SCHEMA_MAX_KEYS];

    for (unsigned i = 0; i < l->n; i++)
        names[i] = l->opts[i].name;
    MAPPING_FOREACH(c, map, pair)
    {
        yaml_node_t *k = node(c, pair->key);
        unsigned i;

        if (k->type != YAML_SCALAR_NODE) {
            err_at(c, k, "%s keys must be names, not %s", what, node_kind(k));
            continue;
        }
        /* Known keys first: an unknown one is an error anyway, and checking
         * only the few known ones for repeats keeps a mapping of thousands
         * of stray keys cheap. */
        for (i = 0; i < l->n; i++)
            if (strcmp(scalar(k), names[i]) == 0)
                break;
        if (i == l->n) {
            err_unknown(c, k, what, scalar(k), names, l->n);
            continue;
        }
        if (repeated_key(c, map, pair, false))
            continue;
        const struct opt *o = &l->opts[i];
        g->given |= KEY_BIT(i);
        if (defaults && (o->flags & OPT_NO_DEFAULTS)) {
            err_at(c, k, "%s cannot be given in defaults, only in a target", o->name);
            continue;
        }
        if (value_parse(c, o, node(c, pair->value), base) == 0) {
            g->set |= KEY_BIT(i);
            g->pos[i] = pos_of(c, k);
        }
    }
}

void schema_defaults(const struct schema_level *l, void *base)
{
    char err[256];

    for (unsigned i = 0; i < l->n; i++) {
        const struct opt *o = &l->opts[i];
        if (o->def && scalar_parse(o, o->def, base, err, sizeof(err)) < 0) {
            fprintf(stderr, "upmond: bad default of %s: %s\n", o->name, err);
            abort();
        }
    }
}

static size_t scalar_size(enum opt_type t)
{
    switch (t) {
    case OPT_BOOL:
        return sizeof(bool);
    case OPT_UINT:
        return sizeof(unsigned);
    case OPT_DURATION:
    case OPT_SIZE:
        return sizeof(uint64_t);
    case OPT_ENUM:
        return sizeof(int);
    case OPT_FLAGS:
        return sizeof(uint32_t);
    case OPT_NODE:
        return sizeof(const yaml_node_t *);
    default:
        return 0;
    }
}

void schema_copy(const struct schema_level *l, unsigned i, void *dst, const void *src, bool merge)
{
    const struct opt *o = &l->opts[i];
    char **d = (char **)FIELD(dst, o->offset);
    char *const *s = (char *const *)FIELD(src, o->offset);

    switch (o->type) {
    case OPT_STRING:
    case OPT_TEXT:
        free(*d);
        *d = *s ? xstrdup(*s) : NULL;
        break;
    case OPT_CUSTOM:
        o->ops->copy(dst, src, o, merge && (o->flags & OPT_MERGE));
        break;
    default:
        memcpy(FIELD(dst, o->offset), FIELD(src, o->offset), scalar_size(o->type));
        break;
    }
}

void schema_copy_all(const struct schema_level *l, void *dst, const void *src)
{
    for (unsigned i = 0; i < l->n; i++)
        schema_copy(l, i, dst, src, false);
}

void schema_clear(const struct schema_level *l, void *base)
{
    for (unsigned i = 0; i < l->n; i++) {
        const struct opt *o = &l->opts[i];
        if (o->type == OPT_STRING || o->type == OPT_TEXT) {
            char **p = (char **)FIELD(base, o->offset);
            free(*p);
            *p = NULL;
        } else if (o->type == OPT_CUSTOM) {
            o->ops->clear(base, o);
        }
    }
}

bool str_eq(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

bool schema_equal(const struct schema_level *l, const void *a, const void *b, unsigned flags)
{
    for (unsigned i = 0; i < l->n; i++) {
        const struct opt *o = &l->opts[i];
        if ((o->flags & flags) != flags)
            continue;
        switch (o->type) {
        case OPT_STRING:
        case OPT_TEXT:
            if (!str_eq(*(char *const *)FIELD(a, o->offset), *(char *const *)FIELD(b, o->offset)))
                return false;
            break;
        case OPT_CUSTOM:
            if (!o->ops->equal(a, b, o))
                return false;
            break;
        default:
            if (memcmp(FIELD(a, o->offset), FIELD(b, o->offset), scalar_size(o->type)) != 0)
                return false;
            break;
        }
    }
    return true;
}

/* ---- the dump ---- */

static json_t *url_json(const char *url, bool secret)
{
    char *shown = url_shown(url, secret);
    json_t *j = json_string(shown ? shown : "(hidden)");

    free(shown);
    return j;
}

static json_t *value_json(const struct opt *o, const void *base)
{
    const void *f = FIELD(base, o->offset);
    char buf[32];

    switch (o->type) {
    case OPT_STRING:
    case OPT_TEXT: {
        const char *s = *(char *const *)f;
        if (s && (o->flags & OPT_URL))
            return url_json(s, o->flags & OPT_SECRET);
        return s ? json_string(s) : json_null();
    }
    case OPT_BOOL:
        return json_boolean(*(const bool *)f);
    case OPT_UINT:
        return json_integer(*(const unsigned *)f);
    case OPT_DURATION:
    case OPT_SIZE:
        quantity_of(o)->format(*(const uint64_t *)f, buf, sizeof(buf));
        return json_string(buf);
    case OPT_ENUM: {
        unsigned v = (unsigned)*(const int *)f;
        return v < o->choices->set->count ? json_string(o->choices->set->name[v]) : json_null();
    }
    case OPT_FLAGS: {
        json_t *a = json_array();
        for (unsigned i = 0; i < o->choices->set->count; i++)
            if (*(const uint32_t *)f & (1u << i))
                json_array_append_new(a, json_string(o->choices->set->name[i]));
        return a;
    }
    case OPT_CUSTOM:
        return o->ops->value(base, o);
    case OPT_NODE:
        break;
    }
    return NULL;
}

json_t *schema_values(const struct schema_level *l, const void *base)
{
    json_t *obj = json_object();

    for (unsigned i = 0; i < l->n; i++) {
        const struct opt *o = &l->opts[i];
        json_t *v = value_json(o, base);
        if (v == NULL)
            continue;
        if ((o->flags & OPT_SECRET) && !(o->flags & OPT_URL) && o->type != OPT_CUSTOM &&
            !json_is_null(v)) {
            json_decref(v);
            v = json_string("(secret)");
        }
        json_object_set_new(obj, o->name, v);
    }
    return obj;
}

/* ---- JSON Schema ---- */

/* What YAML may write for a boolean that the loader accepts: YAML 1.2
 * editors read yes/no/on/off as strings. */
static json_t *bool_schema(void)
{
    json_t *e = json_array();

    json_array_append_new(e, json_true());
    json_array_append_new(e, json_false());
    for (size_t i = 0; i < ARRAY_SIZE(yes_words); i++) { /* quoted, too */
        json_array_append_new(e, json_string(yes_words[i]));
        json_array_append_new(e, json_string(no_words[i]));
    }
    return json_pack("{s:o}", "enum", e);
}

json_t *schema_text_json(void)
{
    return json_pack("{s:[s,s,s]}", "type", "string", "number", "boolean");
}

json_t *schema_choices_json(const struct choices *ch)
{
    json_t *e = json_array();
    bool numbers = false;

    for (unsigned i = 0; i < ch->set->count; i++) {
        json_array_append_new(e, json_string(ch->set->name[i]));
        /* YAML reads `ip_version: 4` and `http_version: 1.1` as numbers;
         * the loader takes them. */
        const char *name = ch->set->name[i];
        char *end;
        double d = strtod(name, &end);
        if (name[0] >= '0' && name[0] <= '9' && *end == '\0') {
            json_array_append_new(e, strchr(name, '.') ? json_real(d) : json_integer(atoi(name)));
            numbers = true;
        }
    }
    return numbers ? json_pack("{s:o}", "enum", e)
                   : json_pack("{s:s, s:o}", "type", "string", "enum", e);
}

static json_t *opt_schema(const struct opt *o)
{
    json_t *s;
    char a[32], b[32];

    switch (o->type) {
    case OPT_STRING:
        s = o->choices ? schema_choices_json(o->choices) : schema_text_json();
        if (!o->choices)
            json_object_set_new(s, "minLength", json_integer(1));
        break;
    case OPT_TEXT:
        s = schema_text_json();
        break;
    case OPT_BOOL:
        s = bool_schema();
        break;
    case OPT_UINT: /* "3" is 3 to the loader too */
        s = json_pack("{s:[{s:s, s:I, s:I}, {s:s, s:s}]}", "anyOf", "type", "integer", "minimum",
                      (json_int_t)o->min, "maximum", (json_int_t)o->max, "type", "string",
                      "pattern", "^[0-9]+$");
        break;
    case OPT_DURATION:
        s = json_pack("{s:s, s:s, s:i}", "type", "string", "pattern", DURATION_PATTERN, "minLength",
                      1);
        if (o->flags & OPT_ZERO_OFF)
            s = json_pack("{s:[o, {s:s, s:i}]}", "anyOf", s, "type", "integer", "const", 0);
        break;
    case OPT_SIZE: /* a number alone is bytes */
        s = json_pack("{s:[{s:s, s:s}, {s:s, s:I, s:I}]}", "anyOf", "type", "string", "pattern",
                      sizes.pattern, "type", "integer", "minimum", (json_int_t)o->min, "maximum",
                      (json_int_t)o->max);
        break;
    case OPT_ENUM:
        s = schema_choices_json(o->choices);
        break;
    case OPT_FLAGS:
        s = json_pack("{s:s, s:o}", "type", "array", "items", schema_choices_json(o->choices));
        break;
    case OPT_NODE:
    case OPT_CUSTOM:
    default:
        s = o->ops && o->ops->schema ? o->ops->schema(o) : schema_level_json(o->sub, false);
        /* An empty block is no block; keywords other than type still
         * apply to what is there, so editors report within it. */
        if (o->type == OPT_NODE && json_is_string(json_object_get(s, "type")))
            json_object_set_new(s, "type", json_pack("[O,s]", json_object_get(s, "type"), "null"));
        break;
    }
    if (quantity_of(o)) {
        /* Editors show the description: say what a pattern cannot. */
        quantity_of(o)->format(o->min, a, sizeof(a));
        quantity_of(o)->format(o->max, b, sizeof(b));
        char *doc = xasprintf("%s %s, %s to %s%s.", o->doc, quantity_of(o)->noun, a, b,
                              (o->flags & OPT_ZERO_OFF) ? ", or 0" : "");
        json_object_set_new(s, "description", json_string(doc));
        free(doc);
    } else {
        json_object_set_new(s, "description", json_string(o->doc));
    }
    if (o->def) {
        void *tmp = xcalloc(1, o->offset + sizeof(uint64_t));
        char err[256];
        if (scalar_parse(o, o->def, tmp, err, sizeof(err)) == 0)
            json_object_set_new(s, "default", value_json(o, tmp));
        if (o->type == OPT_STRING || o->type == OPT_TEXT)
            free(*(char **)FIELD(tmp, o->offset));
        free(tmp);
    }
    return s;
}

/* A mapping of the level's keys; a defaults block takes every key that is
 * allowed there, and requires none. */
json_t *schema_level_json(const struct schema_level *l, bool defaults)
{
    json_t *props = json_object(), *req = json_array();

    for (unsigned i = 0; i < l->n; i++) {
        const struct opt *o = &l->opts[i];
        if (defaults && (o->flags & OPT_NO_DEFAULTS))
            continue;
        json_object_set_new(props, o->name, opt_schema(o));
        if (!defaults && (o->flags & OPT_REQUIRED))
            json_array_append_new(req, json_string(o->name));
    }
    json_t *s = json_pack("{s:s, s:o, s:b}", "type", "object", "properties", props,
                          "additionalProperties", 0);
    if (json_array_size(req))
        json_object_set_new(s, "required", req);
    else
        json_decref(req);
    return s;
}

json_t *schema_json(const struct schema_level *l, const char *title)
{
    json_t *s = schema_level_json(l, false);

    json_object_set_new(s, "$schema", json_string("https://json-schema.org/draft/2020-12/schema"));
    json_object_set_new(s, "title", json_string(title));
    return s;
}
