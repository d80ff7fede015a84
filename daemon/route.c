/* Request targets checked, decoded and routed. */
#include "route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "api.h"
#include "badge.h"
#include "metrics.h"
#include "page.h"
#include "silence.h"
#include "text.h"

/* One row per route; the first that matches answers. */
static const struct route routes[] = {
    {"/", page_handler, false},
    {"/static/upmon.css", page_css_handler, false},
    {"/badge/*", badge_handler, false}, /* the tail is NAME.svg */
    {"/metrics", metrics_handler, true},
    {"/healthz", healthz_handler, false},
    {"/api/v1/targets", api_targets_handler, true},
    {"/api/v1/targets/*", api_target_handler, true},
    {"/api/v1/targets/*/uptime", api_uptime_handler, true},
    {"/api/v1/incidents", api_incidents_handler, true},
};

/* Routes that take POST and DELETE too, looked at after those above. */
static const struct route writable[] = {
    {"/api/v1/silences", api_silences_handler, true},
    {"/api/v1/silences/*", api_silence_handler, true},
    {"/api/v1/silences/*/expire", api_silence_expire_handler, true},
};

bool route_writes(const struct route *r)
{
    for (size_t i = 0; i < ARRAY_SIZE(writable); i++)
        if (r == &writable[i])
            return true;
    return false;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes the n bytes at src into out (room for n + 1), NUL-terminated;
 * with plus, '+' is a space (a query's form encoding). A bad escape, or
 * a control character written or escaped, is refused: -1 with *why. */
static int decode(const char *src, size_t n, bool plus, char *out, size_t *outlen, const char **why)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c == '%') {
            int hi = i + 2 < n ? hexval(src[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(src[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                *why = "a bad percent escape";
                return -1;
            }
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        }
        if (c < 0x20 || c == 0x7f) {
            *why = "a control character";
            return -1;
        }
        out[o++] = (char)c;
    }
    out[o] = '\0';
    *outlen = o;
    return 0;
}

/* What a request target may hold as sent: visible ASCII, no fragment. */
static bool target_chars_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f || c == '#')
            return false;
    }
    return true;
}

/* The origin-form part of an absolute-form target: "http://host/p?q" is
 * "/p?q", "http://host?q" is "?q" (the path "/"). NULL when target is
 * neither form. */
static const char *origin_form(const char *target)
{
    const char *p;

    if (target[0] == '/')
        return target;
    if (strncasecmp(target, "http://", 7) == 0)
        p = target + 7;
    else if (strncasecmp(target, "https://", 8) == 0)
        p = target + 8;
    else
        return NULL;
    return p + strcspn(p, "/?");
}

struct cursor {
    char *w, *end;
};

static char *reserve(struct cursor *c, size_t n)
{
    char *at = c->w;

    if (n > (size_t)(c->end - c->w))
        return NULL;
    c->w += n;
    return at;
}

static int split_path(const char *p, size_t n, struct cursor *c, const char **seg, size_t *nseg,
                      char *err, size_t errlen)
{
    const char *why;
    size_t len;

    *nseg = 0;
    if (n == 1)
        return 0; /* "/": no segment */
    for (size_t i = 1; i <= n;) {
        size_t e = i;
        while (e < n && p[e] != '/')
            e++;
        if (e == i && e < n) {
            errbuf_set(err, errlen, "the path has an empty segment");
            return 400;
        }
        if (*nseg == ROUTE_MAX_SEGMENTS) {
            errbuf_set(err, errlen, "the path has more than %d segments", ROUTE_MAX_SEGMENTS);
            return 400;
        }
        char *out = reserve(c, e - i + 1);
        if (out == NULL || decode(p + i, e - i, false, out, &len, &why) < 0) {
            errbuf_set(err, errlen, "the path has %s", out ? why : "too much");
            return 400;
        }
        if (strcmp(out, ".") == 0 || strcmp(out, "..") == 0) {
            errbuf_set(err, errlen, "the path has a \"%s\" segment", out);
            return 400;
        }
        seg[(*nseg)++] = out;
        i = e + 1;
    }
    return 0;
}

static int split_query(const char *q, size_t n, struct cursor *c, struct route_match *m, char *err,
                       size_t errlen)
{
    const char *why;
    size_t klen, vlen;

    for (size_t i = 0; i < n;) {
        size_t e = i + strcspn(q + i, "&");
        if (e > n)
            e = n;
        if (e == i) { /* "a=1&&b=2": nothing between */
            i = e + 1;
            continue;
        }
        if (m->query.n == ROUTE_MAX_PARAMS) {
            errbuf_set(err, errlen, "the query has more than %d parameters", ROUTE_MAX_PARAMS);
            return 400;
        }
        const char *eq = memchr(q + i, '=', e - i);
        size_t kend = eq ? (size_t)(eq - q) : e;
        size_t vstart = eq ? kend + 1 : e;
        char *k = reserve(c, kend - i + 1), *v = reserve(c, e - vstart + 1);
        if (k == NULL || v == NULL || decode(q + i, kend - i, true, k, &klen, &why) < 0 ||
            decode(q + vstart, e - vstart, true, v, &vlen, &why) < 0) {
            errbuf_set(err, errlen, "the query has %s", k && v ? why : "too much");
            return 400;
        }
        if (klen == 0 || klen > ROUTE_MAX_KEY || vlen > ROUTE_MAX_VALUE) {
            errbuf_set(err, errlen,
                       "a query parameter's name is empty or over %d bytes, or "
                       "its value over %d bytes",
                       ROUTE_MAX_KEY, ROUTE_MAX_VALUE);
            return 400;
        }
        m->params[m->query.n++] = (struct query_param){k, v};
        i = e + 1;
    }
    return 0;
}

/* Whether the route's pattern matches the segments; sets the tail. */
static bool match(const struct route *r, const char **seg, size_t nseg, const char **tail,
                  size_t *cut)
{
    const char *p = r->pattern + 1;
    size_t i = 0;

    *tail = "";
    *cut = 0;
    while (*p) {
        size_t len = strcspn(p, "/");
        if (i == nseg)
            return false;
        if (p[0] == '*') {
            size_t slen = len - 1, n = strlen(seg[i]);
            if (n <= slen || memcmp(seg[i] + n - slen, p + 1, slen) != 0)
                return false;
            *tail = seg[i];
            *cut = n - slen;
        } else if (strlen(seg[i]) != len || memcmp(seg[i], p, len) != 0) {
            return false;
        }
        i++;
        p += len;
        if (*p == '/')
            p++;
    }
    return i == nseg;
}

int route_find(const char *target, struct route_match *m, char *err, size_t errlen)
{
    struct cursor c = {m->buf, m->buf + sizeof(m->buf)};
    const char *seg[ROUTE_MAX_SEGMENTS];
    size_t nseg, tlen = strlen(target);
    int status;

    m->route = NULL;
    m->path = m->tail = "";
    m->query = (struct query){m->params, 0};
    if (tlen > ROUTE_MAX_TARGET) {
        errbuf_set(err, errlen, "the request target is over %d bytes", ROUTE_MAX_TARGET);
        return 414;
    }
    const char *o = origin_form(target);
    if (o == NULL || !target_chars_ok(target, tlen)) {
        errbuf_set(err, errlen, "the request target is not a path");
        return 400;
    }
    size_t plen = strcspn(o, "?");
    const char *query = o[plen] == '?' ? o + plen + 1 : NULL;
    const char *path = o;
    if (plen == 0) { /* "http://host?q" */
        path = "/";
        plen = 1;
    }
    if ((status = split_path(path, plen, &c, seg, &nseg, err, errlen)) != 0)
        return status;
    if (query && (status = split_query(query, strlen(query), &c, m, err, errlen)) != 0)
        return status;

    /* The decoded path, for messages and handlers. */
    char *dp = reserve(&c, tlen + 2);
    if (dp == NULL) {
        errbuf_set(err, errlen, "the request target is too long");
        return 414;
    }
    dp[0] = '/';
    dp[1] = '\0';
    for (size_t i = 0, off = 1; i < nseg; i++) {
        size_t len = strlen(seg[i]);
        memcpy(dp + off, seg[i], len);
        off += len;
        dp[off++] = i + 1 < nseg ? '/' : '\0';
        dp[off] = '\0';
    }
    m->path = dp;

    for (size_t r = 0; r < ARRAY_SIZE(routes) + ARRAY_SIZE(writable); r++) {
        const struct route *rt =
            r < ARRAY_SIZE(routes) ? &routes[r] : &writable[r - ARRAY_SIZE(routes)];
        const char *tail;
        size_t cut;
        if (match(rt, seg, nseg, &tail, &cut)) {
            if (cut)
                ((char *)tail)[cut] = '\0';
            m->route = rt;
            m->tail = tail;
            return 0;
        }
    }
    errbuf_set(err, errlen, "no such page");
    return 404;
}

bool route_token_ok(const char *authorization, const char *token)
{
    if (authorization == NULL || token == NULL || token[0] == '\0')
        return false;
    if (strncasecmp(authorization, "Bearer", 6) != 0 ||
        (authorization[6] != ' ' && authorization[6] != '\t'))
        return false;
    const char *given = authorization + 6;
    while (*given == ' ' || *given == '\t')
        given++;
    size_t n = strlen(given);
    while (n > 0 && (given[n - 1] == ' ' || given[n - 1] == '\t'))
        n--;

    /* Every byte of the token is looked at whatever was given: the time
     * tells the length given, which the client knows, and nothing of the
     * token. */
    size_t len = strlen(token);
    unsigned char diff = n != len;
    for (size_t i = 0; i < len; i++)
        diff |= (unsigned char)token[i] ^ (unsigned char)(i < n ? given[i] : 0);
    return diff == 0;
}

void route_error(const char *path, int status, const char *msg, struct hreply *rp)
{
    rp->status = status;
    rp->body.len = 0;
    if (rp->body.data)
        rp->body.data[0] = '\0';
    if (path && strncmp(path, "/api/", 5) == 0) {
        json_t *o = json_object();
        text_json_set(o, "error", text_json(msg));
        char *s = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (s == NULL)
            return;
        buf_append(&rp->body, s, strlen(s));
        buf_append(&rp->body, "\n", 1);
        free(s);
        rp->content_type = "application/json";
    } else {
        buf_append(&rp->body, msg, strlen(msg));
        buf_append(&rp->body, "\n", 1);
        rp->content_type = "text/plain; charset=utf-8";
    }
}
