/* Content assertions: what an answer whose status counts as up must also
 * satisfy (body_contains, body_regex, body_not_contains, header_matches,
 * json). Pure: the probe hands over the body it kept and a way to read a
 * response header, and gets back whether every assertion holds and, if
 * not, a message that names the one that failed. */
#ifndef UPMON_ASSERTION_H
#define UPMON_ASSERTION_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "jpath.h"

/* header_matches: a response header whose value must match. */
struct header_assertion {
    char *name;    /* compared without case */
    char *pattern; /* POSIX extended */
    regex_t re;
};

/* json: a value of the body, at a path, that must equal a JSON value or
 * match a pattern. */
struct json_assertion {
    char *path_src;
    struct jpath path;
    json_t *equals; /* a scalar: string, number, true, false or null; or NULL */
    char *pattern;  /* else the pattern its text must match */
    regex_t re;
};

struct target_conf;

/* What a probe read of one answer. */
struct assertion_answer {
    const char *body; /* the body as kept (NUL-terminated), or NULL */
    size_t len;
    bool capped; /* reading stopped at max_body */
    bool found;  /* body_contains was seen while the body came in */
    /* The value of the named response header of the final answer, every
     * field line of the name joined with ", " (RFC 9110, 5.3), in memory
     * the caller frees; NULL when the answer has none. */
    char *(*header)(void *arg, const char *name);
    void *arg;
};

/* Whether the answer satisfies every assertion of t. If not, msg names
 * the first that failed (headers, then body_contains or body_regex, then
 * body_not_contains, then json, each in the order given). */
bool assertion_check(const struct target_conf *t, const struct assertion_answer *a, char *msg,
                     size_t len);

/* Whether t has an assertion that needs the body. */
bool assertion_needs_body(const struct target_conf *t);
/* Whether the whole body must be kept, not only searched as it comes. */
bool assertion_keeps_body(const struct target_conf *t);
/* Whether t has any assertion at all. */
bool assertion_any(const struct target_conf *t);

/* Compiles a POSIX extended regular expression; on error -1 with the C
 * library's reason in err. */
int assertion_regcomp(regex_t *re, const char *pattern, char *err, size_t len);

/* Sets up a header assertion; -1 with the reason for a bad pattern. */
int assertion_header_init(struct header_assertion *h, const char *name, const char *pattern,
                          char *err, size_t len);
void assertion_header_free(struct header_assertion *h);
bool assertion_header_equal(const struct header_assertion *a, const struct header_assertion *b);

/* Sets up a json assertion at path (-1 with the reason for a bad path),
 * then gives it what the value must be: equal to a scalar (taken over),
 * or match a pattern (-1 with the reason for a bad one). */
int assertion_json_init(struct json_assertion *j, const char *path, char *err, size_t len);
void assertion_json_equals(struct json_assertion *j, json_t *value);
int assertion_json_matches(struct json_assertion *j, const char *pattern, char *err, size_t len);
void assertion_json_free(struct json_assertion *j);
void assertion_json_copy(struct json_assertion *dst, const struct json_assertion *src);
bool assertion_json_equal(const struct json_assertion *a, const struct json_assertion *b);
/* The expected side as written: the scalar, or {"matches": PATTERN}. */
json_t *assertion_json_expected(const struct json_assertion *j);

/* Whether two JSON scalars are the same value: numbers by value (1 is
 * 1.0), everything else by type and value. */
bool assertion_json_same(const json_t *a, const json_t *b);

#endif
