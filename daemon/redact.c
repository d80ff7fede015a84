/* Hiding the values of secret query and fragment parameters of URLs (see
 * redact.h). The URLs come from libcurl's parser or from a Location
 * header: the first "#" starts the fragment and the first "?" before it
 * the query (RFC 3986, 3), so no parsing beyond that is needed. */
#include "redact.h"

#include <ctype.h>
#include <string.h>

#include "util.h"

const char *const redact_default_names[] = {
    "token",    "access_token", "key", "apikey", "api_key",   "secret", "client_secret",
    "password", "passwd",       "pwd", "sig",    "signature", "auth",
};
const size_t redact_ndefault = ARRAY_SIZE(redact_default_names);

static int hex_value(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = tolower(ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Whether name[0..len), percent-decoded as a server decodes it ("+" is a
 * space in a form), is want, without regard to case. */
static bool name_is(const char *name, size_t len, const char *want)
{
    size_t j = 0;

    for (size_t i = 0; i < len; i++, j++) {
        int ch = (unsigned char)name[i];
        if (ch == '%' && i + 2 < len && hex_value((unsigned char)name[i + 1]) >= 0 &&
            hex_value((unsigned char)name[i + 2]) >= 0) {
            ch = hex_value((unsigned char)name[i + 1]) * 16 + hex_value((unsigned char)name[i + 2]);
            i += 2;
        } else if (ch == '+') {
            ch = ' ';
        }
        if (want[j] == '\0' || tolower(ch) != tolower((unsigned char)want[j]))
            return false;
    }
    return want[j] == '\0';
}

bool redact_name_matches(const char *name, size_t len, char *const *names, size_t n)
{
    for (size_t i = 0; i < redact_ndefault; i++)
        if (name_is(name, len, redact_default_names[i]))
            return true;
    for (size_t i = 0; i < n; i++)
        if (name_is(name, len, names[i]))
            return true;
    return false;
}

/* Appends the parameters of s[0..len) to b, each secret value hidden. */
static void redact_params(struct buf *b, const char *s, size_t len, char *const *names, size_t n)
{
    const char *end = s + len;

    while (s < end) {
        const char *amp = memchr(s, '&', (size_t)(end - s));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(s, '=', (size_t)(stop - s));
        if (eq && eq + 1 < stop && redact_name_matches(s, (size_t)(eq - s), names, n)) {
            buf_append(b, s, (size_t)(eq + 1 - s));
            buf_append(b, REDACT_HIDDEN, strlen(REDACT_HIDDEN));
        } else {
            buf_append(b, s, (size_t)(stop - s));
        }
        if (amp)
            buf_append(b, "&", 1);
        s = amp ? amp + 1 : end;
    }
}

char *redact_url(const char *url, char *const *names, size_t n)
{
    const char *frag = strchr(url, '#');
    const char *query = strchr(url, '?');
    const char *end = url + strlen(url);
    struct buf b = {0};

    if (query && frag && query > frag)
        query = NULL; /* a "?" in the fragment is part of it */
    const char *head_end = query ? query : frag ? frag : end;
    buf_append(&b, url, (size_t)(head_end - url));
    if (query) {
        const char *qend = frag ? frag : end;
        buf_append(&b, "?", 1);
        redact_params(&b, query + 1, (size_t)(qend - query - 1), names, n);
    }
    if (frag) {
        /* A route of a page's own router ("#/reset?token=...") is a path,
         * its parameters after a "?"; a "?" after a "=" is a value's. */
        const char *from = frag + 1, *route = strchr(from, '?');
        buf_append(&b, "#", 1);
        if (route && strcspn(from, "=&") > (size_t)(route - from)) {
            buf_append(&b, from, (size_t)(route + 1 - from));
            from = route + 1;
        }
        redact_params(&b, from, (size_t)(end - from), names, n);
    }
    return b.data ? b.data : xstrdup("");
}
