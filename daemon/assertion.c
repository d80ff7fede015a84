/* Content assertions, judged on what the probe read: every body check and
 * header check of a target, with one message for the first that fails. */
#include "assertion.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "text.h"
#include "util.h"

/* The most of a value or pattern a message quotes, "..." included when
 * it is cut: a message has room for about 250 bytes, and the start of a
 * value says enough. */
#define QUOTE_MAX 60

/* s as a message quotes it: printable, valid UTF-8 whatever a site sent,
 * and cut between characters with "..." when longer than QUOTE_MAX. */
static void clip(const char *s, char *out, size_t len)
{
    text_sanitize(out, len < QUOTE_MAX + 1 ? len : QUOTE_MAX + 1, s, strlen(s),
                  TEXT_ESCAPE | TEXT_ELLIPSIS);
}

int assertion_regcomp(regex_t *re, const char *pattern, char *err, size_t len)
{
    int rc = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB);

    if (rc == 0)
        return 0;
    char why[256];
    regerror(rc, re, why, sizeof(why));
    regfree(re);
    errbuf_set(err, len, "%s", why);
    return -1;
}

/* ---- the assertions' own data ---- */

int assertion_header_init(struct header_assertion *h, const char *name, const char *pattern,
                          char *err, size_t len)
{
    memset(h, 0, sizeof(*h));
    if (assertion_regcomp(&h->re, pattern, err, len) < 0)
        return -1;
    h->name = xstrdup(name);
    h->pattern = xstrdup(pattern);
    return 0;
}

void assertion_header_free(struct header_assertion *h)
{
    if (h->pattern)
        regfree(&h->re);
    free(h->name);
    free(h->pattern);
    memset(h, 0, sizeof(*h));
}

bool assertion_header_equal(const struct header_assertion *a, const struct header_assertion *b)
{
    return strcmp(a->name, b->name) == 0 && strcmp(a->pattern, b->pattern) == 0;
}

int assertion_json_init(struct json_assertion *j, const char *path, char *err, size_t len)
{
    memset(j, 0, sizeof(*j));
    if (jpath_parse(path, &j->path, err, len) < 0)
        return -1;
    j->path_src = xstrdup(path);
    return 0;
}

void assertion_json_equals(struct json_assertion *j, json_t *value)
{
    json_decref(j->equals);
    j->equals = value;
}

int assertion_json_matches(struct json_assertion *j, const char *pattern, char *err, size_t len)
{
    if (assertion_regcomp(&j->re, pattern, err, len) < 0)
        return -1;
    j->pattern = xstrdup(pattern);
    return 0;
}

void assertion_json_free(struct json_assertion *j)
{
    if (j->pattern)
        regfree(&j->re);
    free(j->pattern);
    free(j->path_src);
    jpath_free(&j->path);
    json_decref(j->equals);
    memset(j, 0, sizeof(*j));
}

void assertion_json_copy(struct json_assertion *dst, const struct json_assertion *src)
{
    char err[256];

    /* Both were valid when first read: only memory can fail here. */
    if (assertion_json_init(dst, src->path_src, err, sizeof(err)) < 0 ||
        (src->pattern && assertion_json_matches(dst, src->pattern, err, sizeof(err)) < 0)) {
        fprintf(stderr, "upmond: copying json %s: %s\n", src->path_src, err);
        abort();
    }
    if (src->equals)
        assertion_json_equals(dst, json_deep_copy(src->equals));
}

bool assertion_json_same(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b)) {
        if (json_is_integer(a) && json_is_integer(b))
            return json_integer_value(a) == json_integer_value(b);
        double x = json_number_value(a), y = json_number_value(b);
        return !(x < y) && !(x > y);
    }
    return json_equal(a, b);
}

bool assertion_json_equal(const struct json_assertion *a, const struct json_assertion *b)
{
    if (strcmp(a->path_src, b->path_src) != 0)
        return false;
    if (a->pattern || b->pattern)
        return a->pattern && b->pattern && strcmp(a->pattern, b->pattern) == 0;
    /* For reload, 1 and 1.0 are different configurations. */
    return a->equals && b->equals && json_equal(a->equals, b->equals);
}

json_t *assertion_json_expected(const struct json_assertion *j)
{
    if (j->pattern)
        return json_pack("{s:s}", "matches", j->pattern);
    return j->equals ? json_incref(j->equals) : json_null();
}

/* ---- which assertions a target has ---- */

bool assertion_needs_body(const struct target_conf *t)
{
    return t->body_contains || t->body_regex_src || t->body_not_contains || t->njson;
}

bool assertion_keeps_body(const struct target_conf *t)
{
    return t->body_regex_src || t->body_not_contains || t->njson;
}

bool assertion_any(const struct target_conf *t)
{
    return assertion_needs_body(t) || t->nheader_matches;
}

/* ---- judging ---- */

static bool check_headers(const struct target_conf *t, const struct assertion_answer *a, char *msg,
                          size_t len)
{
    char v[QUOTE_MAX + 8], p[QUOTE_MAX + 8];

    for (size_t i = 0; i < t->nheader_matches; i++) {
        const struct header_assertion *h = &t->header_matches[i];
        char *value = a->header ? a->header(a->arg, h->name) : NULL;
        if (value == NULL) {
            errbuf_set(msg, len, "header %s is missing", h->name);
            return false;
        }
        bool ok = regexec(&h->re, value, 0, NULL, 0) == 0;
        if (!ok) {
            clip(value, v, sizeof(v));
            clip(h->pattern, p, sizeof(p));
            errbuf_set(msg, len, "header %s is \"%s\", which does not match \"%s\"", h->name, v, p);
        }
        free(value);
        if (!ok)
            return false;
    }
    return true;
}

static bool check_body_text(const struct target_conf *t, const struct assertion_answer *a,
                            char *msg, size_t len)
{
    const char *body = a->body ? a->body : "";
    char q[QUOTE_MAX + 8];
    bool ok = true;

    if (t->body_contains)
        ok = a->found; /* searched as it came in */
    else if (t->body_regex)
        ok = regexec(t->body_regex, body, 0, NULL, 0) == 0;
    if (!ok) {
        clip(t->body_contains ? t->body_contains : t->body_regex_src, q, sizeof(q));
        errbuf_set(msg, len, "%s \"%s\" in the %s%zu bytes of the body",
                   t->body_contains ? "no" : "no match for", q, a->capped ? "first " : "",
                   a->body ? a->len : 0);
        return false;
    }
    if (t->body_not_contains && a->body) {
        const char *at =
            memmem(a->body, a->len, t->body_not_contains, strlen(t->body_not_contains));
        if (at) {
            clip(t->body_not_contains, q, sizeof(q));
            errbuf_set(msg, len, "\"%s\" found in the body at byte %zu", q, (size_t)(at - a->body));
            return false;
        }
    }
    return true;
}

/* JSON as people write it: compact, and a number with the 15 digits a
 * double always keeps (0.1, not 0.10000000000000001). */
#define AS_WRITTEN (JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(15))

/* The text a pattern is matched against: a string's own, anything else's
 * JSON. In memory the caller frees. */
static char *text_of(const json_t *v)
{
    if (json_is_string(v))
        return xstrdup(json_string_value(v));
    char *s = json_dumps(v, AS_WRITTEN);
    return s ? s : xstrdup("?");
}

/* A value as JSON, cut for a message. */
static void quote_json(const json_t *v, char *out, size_t len)
{
    char *s = json_dumps(v, AS_WRITTEN);

    clip(s ? s : "?", out, len);
    free(s);
}

static bool check_json(const struct target_conf *t, const struct assertion_answer *a, char *msg,
                       size_t len)
{
    json_error_t e;
    char why[160], got[QUOTE_MAX + 8], want[QUOTE_MAX + 8];
    bool ok = true;

    if (t->njson == 0)
        return true;
    if (a->body == NULL || a->len == 0) {
        errbuf_set(msg, len, "the body is not JSON: it is empty");
        return false;
    }
    json_t *doc = json_loadb(a->body ? a->body : "", a->body ? a->len : 0,
                             JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (doc == NULL) {
        char cut[64] = "";
        if (a->capped)
            snprintf(cut, sizeof(cut), " (max_body: only the first %zu bytes were read)", a->len);
        errbuf_set(msg, len, "the body is not JSON: %s at line %d column %d%s", e.text, e.line,
                   e.column, cut);
        return false;
    }
    for (size_t i = 0; i < t->njson && ok; i++) {
        const struct json_assertion *j = &t->json[i];
        const json_t *v = jpath_get(&j->path, doc, why, sizeof(why));
        if (v == NULL) {
            errbuf_set(msg, len, "json %s: %s", j->path_src, why);
            ok = false;
        } else if (j->pattern) {
            char *text = text_of(v);
            ok = regexec(&j->re, text, 0, NULL, 0) == 0;
            free(text);
            if (!ok) {
                quote_json(v, got, sizeof(got));
                clip(j->pattern, want, sizeof(want));
                errbuf_set(msg, len, "json %s is %s, which does not match \"%s\"", j->path_src, got,
                           want);
            }
        } else if (!assertion_json_same(v, j->equals)) {
            quote_json(v, got, sizeof(got));
            quote_json(j->equals, want, sizeof(want));
            errbuf_set(msg, len, "json %s is %s, not %s", j->path_src, got, want);
            ok = false;
        }
    }
    json_decref(doc);
    return ok;
}

bool assertion_check(const struct target_conf *t, const struct assertion_answer *a, char *msg,
                     size_t len)
{
    bool ok = check_headers(t, a, msg, len) && check_body_text(t, a, msg, len) &&
              check_json(t, a, msg, len);

    /* The message goes to the journal and into JSON: it must be text on
     * one line, and jansson's own errors quote the body. */
    if (!ok && len > 0) {
        char *raw = xstrdup(msg);
        text_sanitize(msg, len, raw, strlen(raw), TEXT_ESCAPE | TEXT_ELLIPSIS);
        free(raw);
    }
    return ok;
}
