/* Wire text made valid UTF-8, and printable where people read it. */
#include "text.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* The length of the well-formed UTF-8 character at s (n bytes there, s[0]
 * not NUL), or 0 with the length of the maximal subpart to replace in
 * *bad: the lead byte and the continuation bytes that could still have
 * made a character (Unicode 15, table 3-7 and section 3.9.6). */
static size_t utf8_char(const unsigned char *s, size_t n, size_t *bad)
{
    unsigned char lo = 0x80, hi = 0xBF;
    size_t need, i;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        need = 2;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        need = 3;
        if (s[0] == 0xE0)
            lo = 0xA0; /* not overlong */
        else if (s[0] == 0xED)
            hi = 0x9F; /* not a surrogate */
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        need = 4;
        if (s[0] == 0xF0)
            lo = 0x90; /* not overlong */
        else if (s[0] == 0xF4)
            hi = 0x8F; /* not past U+10FFFF */
    } else {
        *bad = 1; /* a continuation byte, C0, C1 or F5 to FF */
        return 0;
    }
    for (i = 1; i < need && i < n; i++) {
        if (s[i] < lo || s[i] > hi)
            break;
        lo = 0x80;
        hi = 0xBF;
    }
    if (i == need)
        return need;
    *bad = i;
    return 0;
}

/* The escape of the control character at s (len bytes), or 0 when it is
 * not one: C0 and DEL, and C1 (U+0080 to U+009F, which some terminals
 * take as CSI and the like). */
static size_t escape(char *out, const unsigned char *s, size_t len)
{
    if (len == 1 && (s[0] < 0x20 || s[0] == 0x7F)) {
        switch (s[0]) {
        case '\n':
            memcpy(out, "\\n", 2);
            return 2;
        case '\r':
            memcpy(out, "\\r", 2);
            return 2;
        case '\t':
            memcpy(out, "\\t", 2);
            return 2;
        default:
            snprintf(out, 5, "\\x%02x", s[0]);
            return 4;
        }
    }
    if (len == 2 && s[0] == 0xC2 && s[1] <= 0x9F) {
        snprintf(out, 7, "\\u%04x", s[1]);
        return 6;
    }
    return 0;
}

size_t text_sanitize(char *dst, size_t dstlen, const char *src, size_t srclen, unsigned flags)
{
    const unsigned char *s = (const unsigned char *)src;
    bool ellipsis = (flags & TEXT_ELLIPSIS) && dstlen >= 4;
    size_t i = 0, len = 0;
    size_t soft = 0; /* the last cut that leaves room for "..." */

    if (dstlen == 0)
        return 0;
    while (i < srclen) {
        char unit[8];
        const char *from = unit;
        size_t bad = 1, ulen = 0;
        size_t clen = s[i] ? utf8_char(s + i, srclen - i, &bad) : 1;
        size_t take = clen ? clen : bad;

        if (clen && (flags & TEXT_ESCAPE))
            ulen = escape(unit, s + i, clen);
        if (ulen == 0 && (clen == 0 || s[i] == 0)) {
            memcpy(unit, "\xEF\xBF\xBD", 3); /* U+FFFD */
            ulen = 3;
        } else if (ulen == 0) {
            from = src + i;
            ulen = clen;
        }
        if (ulen > dstlen - 1 - len) {
            if (ellipsis) {
                memcpy(dst + soft, "...", 4);
                return soft + 3;
            }
            break;
        }
        memcpy(dst + len, from, ulen);
        len += ulen;
        if (len + 3 <= dstlen - 1)
            soft = len;
        i += take;
    }
    dst[len] = '\0';
    return len;
}

static NORETURN void json_oom(void)
{
    fprintf(stderr, "upmond: out of memory building JSON\n");
    abort();
}

json_t *text_json(const char *s)
{
    if (s == NULL)
        return json_null();
    json_t *j = json_string(s);
    if (j == NULL) {
        /* Not UTF-8 (jansson checks): each byte becomes at most U+FFFD. */
        size_t n = strlen(s);
        char *clean = xmalloc(3 * n + 1);
        size_t len = text_sanitize(clean, 3 * n + 1, s, n, 0);
        j = json_stringn(clean, len);
        free(clean);
    }
    if (j == NULL)
        json_oom();
    return j;
}

void text_json_set(json_t *o, const char *key, json_t *value)
{
    if (value == NULL || json_object_set_new(o, key, value) < 0)
        json_oom();
}

void text_json_append(json_t *a, json_t *value)
{
    if (value == NULL || json_array_append_new(a, value) < 0)
        json_oom();
}

char *text_json_dump(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(12));

    json_decref(o);
    if (s == NULL) {
        fprintf(stderr, "upmond: out of memory building JSON\n");
        abort();
    }
    return s;
}
