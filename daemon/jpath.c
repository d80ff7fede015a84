/* JSON paths: parsing the syntax of jpath.h and walking a document with
 * one. */
#include "jpath.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Indexes beyond this are certainly typos: no health answer has a
 * billion checks. */
#define INDEX_DIGITS 9

static bool name_char(unsigned char ch)
{
    return ch >= 0x20 && ch != 0x7f && ch != '.' && ch != '[' && ch != ']' && ch != '"';
}

static void add_step(struct jpath *p, enum jpath_kind kind, char *key, long long index)
{
    p->steps = xreallocarray(p->steps, p->n + 1, sizeof(*p->steps));
    p->steps[p->n++] = (struct jpath_step){kind, key, index};
}

/* A key in double quotes from s (at the opening quote); the end in *end. */
static char *quoted_key(const char *src, const char *s, const char **end, char *err, size_t len)
{
    struct buf b = {0};
    const char *p = s + 1;

    buf_append(&b, "", 0);
    for (;; p++) {
        if (*p == '\0') {
            errbuf_set(err, len, "the quote at character %zu is not closed", (size_t)(s - src) + 1);
            goto fail;
        }
        if (*p == '"')
            break;
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            errbuf_set(err, len, "a control character at character %zu", (size_t)(p - src) + 1);
            goto fail;
        }
        if (*p == '\\') {
            if (p[1] != '"' && p[1] != '\\') {
                errbuf_set(err, len,
                           "\\ at character %zu: inside quotes only \\\" and \\\\ are escapes",
                           (size_t)(p - src) + 1);
                goto fail;
            }
            p++;
        }
        buf_append(&b, p, 1);
    }
    *end = p + 1;
    return b.data;
fail:
    buf_free(&b);
    return NULL;
}

/* What is inside [ ]: an index or a quoted key; s is just past the [. */
static int bracket(const char *src, const char *s, struct jpath *p, const char **end, char *err,
                   size_t len)
{
    size_t at = (size_t)(s - src); /* of the [, from 1 */
    const char *q = s;

    if (*q == '"') {
        char *key = quoted_key(src, q, &q, err, len);
        if (key == NULL)
            return -1;
        if (*q != ']') {
            free(key);
            errbuf_set(err, len, "\"[\" at character %zu is not closed", at);
            return -1;
        }
        add_step(p, JPATH_KEY, key, 0);
        *end = q + 1;
        return 0;
    }
    bool neg = *q == '-';
    q += neg;
    size_t digits = strspn(q, "0123456789");
    if (digits == 0 || q[digits] != ']') {
        if (strchr(s, ']') == NULL)
            errbuf_set(err, len, "\"[\" at character %zu is not closed", at);
        else
            errbuf_set(err, len,
                       "inside [ ] at character %zu: an index (such as 0 or -1) or a key in "
                       "double quotes",
                       at);
        return -1;
    }
    if (digits > INDEX_DIGITS) {
        errbuf_set(err, len, "the index at character %zu is too large", at + 1);
        return -1;
    }
    long long v = strtoll(q, NULL, 10);
    add_step(p, JPATH_INDEX, NULL, neg ? -v : v);
    *end = q + digits + 1;
    return 0;
}

int jpath_parse(const char *src, struct jpath *out, char *err, size_t len)
{
    const char *s = src;

    memset(out, 0, sizeof(*out));
    if (*s == '\0') {
        errbuf_set(err, len, "the path is empty");
        return -1;
    }
    for (bool first = true; *s; first = false) {
        if (out->n == JPATH_MAX_STEPS) {
            errbuf_set(err, len, "more than %d steps", JPATH_MAX_STEPS);
            goto fail;
        }
        if (*s == '[') {
            if (bracket(src, s + 1, out, &s, err, len) < 0)
                goto fail;
            continue;
        }
        if (!first) {
            if (*s != '.') {
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                    errbuf_set(err, len, "a control character at character %zu",
                               (size_t)(s - src) + 1);
                else
                    errbuf_set(err, len, "\"%c\" at character %zu: expected \".\" or \"[\"", *s,
                               (size_t)(s - src) + 1);
                goto fail;
            }
            s++;
        }
        size_t n = 0;
        while (name_char((unsigned char)s[n]))
            n++;
        if (n == 0) {
            if (s[0] == '\0' || s[0] == '.' || s[0] == '[')
                errbuf_set(err, len, "a key is missing at character %zu", (size_t)(s - src) + 1);
            else if ((unsigned char)s[0] < 0x20 || s[0] == 0x7f)
                errbuf_set(err, len, "a control character at character %zu", (size_t)(s - src) + 1);
            else if (s[0] == '"')
                errbuf_set(err, len,
                           "a quote at character %zu: a quoted key goes in [ ], as [\"a.b\"]",
                           (size_t)(s - src) + 1);
            else
                errbuf_set(err, len, "\"%c\" at character %zu", s[0], (size_t)(s - src) + 1);
            goto fail;
        }
        add_step(out, JPATH_KEY, xstrndup(s, n), 0);
        s += n;
    }
    return 0;
fail:
    jpath_free(out);
    return -1;
}

void jpath_free(struct jpath *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->steps[i].key);
    free(p->steps);
    p->steps = NULL;
    p->n = 0;
}

const char *jpath_kind_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
        return "true";
    case JSON_FALSE:
        return "false";
    case JSON_NULL:
    default:
        return "null";
    }
}

void jpath_format(const struct jpath *p, size_t n, char *out, size_t len)
{
    struct buf b = {0};
    char num[32];

    if (n == 0) {
        errbuf_set(out, len, "the body");
        return;
    }
    buf_append(&b, "", 0);
    for (size_t i = 0; i < n && i < p->n; i++) {
        const struct jpath_step *st = &p->steps[i];
        if (st->kind == JPATH_INDEX) {
            snprintf(num, sizeof(num), "[%lld]", st->index);
            buf_append(&b, num, strlen(num));
            continue;
        }
        bool bare = st->key[0] != '\0';
        for (const char *k = st->key; *k && bare; k++)
            bare = name_char((unsigned char)*k);
        if (bare) {
            if (i > 0)
                buf_append(&b, ".", 1);
            buf_append(&b, st->key, strlen(st->key));
            continue;
        }
        buf_append(&b, "[\"", 2);
        for (const char *k = st->key; *k; k++) {
            if (*k == '"' || *k == '\\')
                buf_append(&b, "\\", 1);
            buf_append(&b, k, 1);
        }
        buf_append(&b, "\"]", 2);
    }
    errbuf_set(out, len, "%s", b.data);
    buf_free(&b);
}

const json_t *jpath_get(const struct jpath *p, const json_t *root, char *err, size_t len)
{
    const json_t *v = root;
    char where[128];

    for (size_t i = 0; i < p->n; i++) {
        const struct jpath_step *st = &p->steps[i];
        bool want_object = st->kind == JPATH_KEY;
        if (want_object ? !json_is_object(v) : !json_is_array(v)) {
            jpath_format(p, i, where, sizeof(where));
            errbuf_set(err, len, "%s is %s, not %s", where, jpath_kind_name(v),
                       want_object ? "an object" : "an array");
            return NULL;
        }
        if (want_object) {
            const json_t *next = json_object_get(v, st->key);
            if (next == NULL) {
                jpath_format(p, i, where, sizeof(where));
                errbuf_set(err, len, "%s has no key \"%s\"", where, st->key);
                return NULL;
            }
            v = next;
            continue;
        }
        size_t n = json_array_size(v);
        long long at = st->index < 0 ? (long long)n + st->index : st->index;
        if (at < 0 || (unsigned long long)at >= n) {
            jpath_format(p, i, where, sizeof(where));
            errbuf_set(err, len, "%s has %zu item%s, no [%lld]", where, n, n == 1 ? "" : "s",
                       st->index);
            return NULL;
        }
        v = json_array_get(v, (size_t)at);
    }
    return v;
}
