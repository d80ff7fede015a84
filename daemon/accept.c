/* Content negotiation. A header is parsed range by range, and each range
 * is weighed against every offer at once, so nothing is allocated. */
#include "accept.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* One media range, as far as negotiation needs it. */
struct range {
    const char *type, *sub;
    size_t tlen, slen;
    char version[16];
    bool has_version;
    int q; /* thousandths */
};

static bool tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static const char *skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static const char *token(const char *p, size_t *len)
{
    const char *s = p;

    while (tchar((unsigned char)*p))
        p++;
    *len = (size_t)(p - s);
    return s;
}

/* A qvalue: "0" to "1" with at most three decimals, in thousandths; -1
 * when it is none. */
static int qvalue(const char *s, size_t len)
{
    int q, scale = 1000;

    if (len == 0 || len > 5 || (s[0] != '0' && s[0] != '1') || (len > 1 && s[1] != '.'))
        return -1;
    q = (s[0] - '0') * 1000;
    for (size_t i = 2; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        scale /= 10;
        q += (s[i] - '0') * scale;
    }
    return q > 1000 ? -1 : q;
}

/* Parses the media range at p into r; returns where it ends (at the
 * comma or the end), or NULL when it is malformed. */
static const char *parse_range(const char *p, struct range *r)
{
    bool after_q = false; /* parameters after q are extensions */

    r->type = token(p, &r->tlen);
    p += r->tlen;
    if (r->tlen == 0 || *p++ != '/')
        return NULL;
    r->sub = token(p, &r->slen);
    p += r->slen;
    if (r->slen == 0)
        return NULL;
    r->has_version = false;
    r->q = 1000;
    for (p = skip_ows(p); *p == ';'; p = skip_ows(p)) {
        size_t nlen, vlen;
        const char *name = token(skip_ows(p + 1), &nlen), *value;
        char unq[16];
        p = name + nlen;
        if (nlen == 0 || *p++ != '=')
            return NULL;
        if (*p == '"') {
            /* A quoted string: kept only as far as a version needs. */
            vlen = 0;
            for (p++; *p && *p != '"'; p++) {
                if (*p == '\\' && p[1])
                    p++;
                if (vlen < sizeof(unq) - 1)
                    unq[vlen++] = *p;
            }
            if (*p != '"')
                return NULL;
            p++;
            unq[vlen] = '\0';
            value = unq;
        } else {
            value = token(p, &vlen);
            p += vlen;
        }
        if (nlen == 1 && (name[0] == 'q' || name[0] == 'Q')) {
            if ((r->q = qvalue(value, vlen)) < 0)
                return NULL;
            after_q = true;
        } else if (!after_q && nlen == 7 && strncasecmp(name, "version", 7) == 0) {
            /* One too long to keep is kept cut, long enough to match no
             * version offered. */
            if (vlen >= sizeof(r->version))
                vlen = sizeof(r->version) - 1;
            memcpy(r->version, value, vlen);
            r->version[vlen] = '\0';
            r->has_version = true;
        }
    }
    return *p == ',' || *p == '\0' ? p : NULL;
}

/* How an offer fares: the most specific range that matched it so far. */
struct weight {
    int spec; /* -1: none matched */
    int q;
    size_t pos; /* the range's place in the header */
};

static void weigh(const struct accept_offer *f, struct weight *w, const struct range *r, size_t pos)
{
    bool any_type = r->tlen == 1 && r->type[0] == '*';
    bool any_sub = r->slen == 1 && r->sub[0] == '*';
    int spec;

    if (any_type && any_sub)
        spec = 0;
    else if (r->tlen != strlen(f->type) || strncasecmp(r->type, f->type, r->tlen) != 0)
        return;
    else if (any_sub)
        spec = 1;
    else if (r->slen != strlen(f->subtype) || strncasecmp(r->sub, f->subtype, r->slen) != 0)
        return;
    else if (!r->has_version)
        spec = 2;
    else if (f->version && strcmp(r->version, f->version) == 0)
        spec = 3;
    else
        return;
    if (spec > w->spec)
        *w = (struct weight){spec, r->q, pos};
}

size_t accept_choose(const char *accept, const struct accept_offer *offers, size_t n)
{
    struct weight w[8];
    const char *p = accept ? accept : "";
    size_t pos = 0, best = 0;

    if (n > sizeof(w) / sizeof(w[0]))
        n = sizeof(w) / sizeof(w[0]);
    for (size_t i = 0; i < n; i++)
        w[i] = (struct weight){-1, 0, 0};
    while (*p) {
        struct range r;
        p = skip_ows(p);
        if (*p == ',') {
            p++;
            continue;
        }
        const char *end = parse_range(p, &r);
        if (end) {
            for (size_t i = 0; i < n; i++)
                weigh(&offers[i], &w[i], &r, pos);
            p = end;
        } else {
            while (*p && *p != ',')
                p++;
        }
        pos++;
    }
    for (size_t i = 1; i < n; i++)
        if (w[i].q > w[best].q || (w[i].q == w[best].q && w[i].q > 0 && w[i].pos < w[best].pos))
            best = i;
    return best;
}
