/* JSON paths: the small syntax the json assertion names one value of a
 * JSON body with. Pure.
 *
 *   status            the key "status" of the top-level object
 *   a.b.c             keys of nested objects
 *   checks[0].state   an item of an array, counted from 0; [-1] is the last
 *   ["a.b"]  x["y z"] a key in double quotes, for keys holding . [ ] or ";
 *                     inside the quotes \" is a quote and \\ a backslash
 *
 * A bare key is any text without . [ ] " or control characters. There is
 * no wildcard and no filter: a path names exactly one value, or none. */
#ifndef UPMON_JPATH_H
#define UPMON_JPATH_H

#include <stddef.h>

#include <jansson.h>

enum jpath_kind {
    JPATH_KEY,   /* a key of an object */
    JPATH_INDEX, /* an item of an array */
};

struct jpath_step {
    enum jpath_kind kind;
    char *key;       /* JPATH_KEY */
    long long index; /* JPATH_INDEX; negative counts from the end */
};

struct jpath {
    struct jpath_step *steps;
    size_t n;
};

/* The most steps a path may have: deeper than any health answer. */
#define JPATH_MAX_STEPS 64

/* Parses src into *out (which the caller frees with jpath_free). On error
 * returns -1 and err says what is wrong and at which character (from 1). */
int jpath_parse(const char *src, struct jpath *out, char *err, size_t len);

void jpath_free(struct jpath *p);

/* The value at p in root, or NULL when there is none, with err saying
 * where the walk stopped: a key missing, an index out of range, or a
 * value that is not an object or an array. */
const json_t *jpath_get(const struct jpath *p, const json_t *root, char *err, size_t len);

/* The first n steps of p written as a path ("checks[0]"), or "the body"
 * for none, for messages. */
void jpath_format(const struct jpath *p, size_t n, char *out, size_t len);

/* What kind of JSON value v is, for messages: "a string", "an array",
 * "true", "null"... */
const char *jpath_kind_name(const json_t *v);

#endif
