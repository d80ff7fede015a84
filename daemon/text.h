/* Text that came from the wire (a Location, a header a check quotes,
 * curl's messages that quote the server, certificate names), made fit for
 * every sink: JSON, which takes only valid UTF-8 (jansson refuses the
 * rest), and the journal and terminals, where control characters hide a
 * field or rewrite the screen. Pure. */
#ifndef UPMON_TEXT_H
#define UPMON_TEXT_H

#include <stddef.h>

#include <jansson.h>

/* What text_sanitize does besides making valid UTF-8. */
#define TEXT_ESCAPE   0x1u /* control characters written as escapes, for a line people read */
#define TEXT_ELLIPSIS 0x2u /* text that does not fit ends in "..." */

/* Copies the srclen bytes at src into dst (dstlen bytes, always
 * NUL-terminated when dstlen > 0) as valid UTF-8: each maximal run of
 * bytes that is not the start of a well-formed character (Unicode's
 * "maximal subpart", as WHATWG and Python's "replace" read it) becomes
 * U+FFFD, and so does a NUL. With TEXT_ESCAPE, control characters are
 * written as \n, \r, \t, \xHH (NUL, the other C0 ones and DEL) and
 * \u00HH (C1), so the text is printable and on one line; a backslash
 * stays as it is. What does not fit is cut before a
 * whole character or escape, never inside one, and with TEXT_ELLIPSIS ends
 * in "..." (when dstlen >= 4). Returns the length written. Escaped output
 * passed through again comes out the same. */
size_t text_sanitize(char *dst, size_t dstlen, const char *src, size_t srclen, unsigned flags);

/* A JSON string of s (NUL-terminated), never NULL: s itself when it is
 * valid UTF-8, else s with its invalid bytes replaced as text_sanitize
 * does. Running out of memory is fatal, as in xmalloc. */
json_t *text_json(const char *s);

/* json_object_set_new that cannot fail quietly: a NULL value or a failed
 * set (out of memory) is fatal instead of a key left out. */
void text_json_set(json_t *o, const char *key, json_t *value);

/* json_array_append_new, likewise. */
void text_json_append(json_t *a, json_t *value);

/* o as compact JSON text (reals to 12 significant digits, malloc'd), o
 * released. Running out of memory is fatal, as in xmalloc. */
char *text_json_dump(json_t *o);

#endif
