/* A strict reading of the markup the status page and the badges make,
 * for their tests: valid UTF-8; every element closed, in order (HTML's
 * void elements aside, which may end in "/>"); every attribute quoted;
 * '&' only as a character reference; no '<' or '>' in text or values;
 * and nothing a Content-Security-Policy without 'unsafe-inline' refuses
 * (<script>, <style>, style= and on...= attributes). Static functions,
 * included by the tests that need them. */
#ifndef UPMON_TEST_MARKUPCHECK_H
#define UPMON_TEST_MARKUPCHECK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool mc_void(const char *name, size_t n)
{
    static const char *const voids[] = {"area",  "base", "br",   "col",    "embed", "hr", "img",
                                        "input", "link", "meta", "source", "track", "wbr"};

    for (size_t i = 0; i < sizeof(voids) / sizeof(voids[0]); i++)
        if (strlen(voids[i]) == n && strncmp(voids[i], name, n) == 0)
            return true;
    return false;
}

/* The length of the reference at p, or 0 when it is none we make. */
static size_t mc_ref(const char *p)
{
    static const char *const named[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};
    size_t i = 2;

    for (size_t k = 0; k < sizeof(named) / sizeof(named[0]); k++)
        if (strncmp(p, named[k], strlen(named[k])) == 0)
            return strlen(named[k]);
    if (p[1] != '#')
        return 0;
    while (p[i] >= '0' && p[i] <= '9')
        i++;
    return i > 2 && p[i] == ';' ? i + 1 : 0;
}

static bool mc_utf8(const unsigned char *s)
{
    while (*s) {
        size_t n = *s < 0x80 ? 1 : (*s & 0xE0) == 0xC0 ? 2 : (*s & 0xF0) == 0xE0 ? 3 : 4;

        if (*s >= 0xF8 || (*s >= 0x80 && *s < 0xC2))
            return false;
        for (size_t i = 1; i < n; i++)
            if ((s[i] & 0xC0) != 0x80)
                return false;
        s += n;
    }
    return true;
}

static size_t mc_name(const char *p)
{
    size_t n = 0;

    while ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') ||
           (p[n] >= '0' && p[n] <= '9') || p[n] == '-' || p[n] == ':' || p[n] == '_')
        n++;
    return n;
}

static const char *mc_fail(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static const char *mc_fail(char *why, size_t len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
    return why;
}

/* NULL when s reads well, else what is wrong (in why) and where. */
static const char *markup_check(const char *s, char *why, size_t len)
{
    const char *stack[64];
    size_t depth = 0;
    const char *p = s;

    if (!mc_utf8((const unsigned char *)s))
        return mc_fail(why, len, "not valid UTF-8");
    while (*p) {
        const char *name, *q;
        size_t n;
        bool closed = false;

        if (*p == '&') {
            if (!(n = mc_ref(p)))
                return mc_fail(why, len, "bare & at %.40s", p);
            p += n;
            continue;
        }
        if (*p == '>')
            return mc_fail(why, len, "bare > at %.40s", p);
        if ((unsigned char)*p < 0x20 && *p != '\n')
            return mc_fail(why, len, "control character at %.40s", p);
        if (*p != '<') {
            p++;
            continue;
        }
        if (strncmp(p, "<!DOCTYPE html>", 15) == 0) {
            p += 15;
            continue;
        }
        if (p[1] == '/') {
            n = mc_name(p + 2);
            if (!n || p[2 + n] != '>' || !depth)
                return mc_fail(why, len, "stray end tag at %.40s", p);
            depth--;
            if (strncmp(stack[depth], p + 2, n) != 0 || mc_name(stack[depth]) != n)
                return mc_fail(why, len, "</%.*s> closes <%.*s>", (int)n, p + 2,
                               (int)mc_name(stack[depth]), stack[depth]);
            p += 3 + n;
            continue;
        }
        name = p + 1;
        n = mc_name(name);
        if (!n)
            return mc_fail(why, len, "bare < at %.40s", p);
        if ((n == 6 && strncmp(name, "script", 6) == 0) ||
            (n == 5 && strncmp(name, "style", 5) == 0))
            return mc_fail(why, len, "<%.*s> element", (int)n, name);
        q = name + n;
        for (;;) {
            size_t an;

            while (*q == ' ' || *q == '\n')
                q++;
            if (*q == '>') {
                q++;
                break;
            }
            if (q[0] == '/' && q[1] == '>') {
                q += 2;
                closed = true;
                break;
            }
            an = mc_name(q);
            if (!an || q[an] != '=' || q[an + 1] != '"')
                return mc_fail(why, len, "unquoted attribute at %.40s", q);
            if ((an == 5 && strncmp(q, "style", 5) == 0) || (an > 2 && strncmp(q, "on", 2) == 0))
                return mc_fail(why, len, "%.*s attribute", (int)an, q);
            for (q += an + 2; *q != '"'; q++) {
                if (!*q || *q == '<' || *q == '>')
                    return mc_fail(why, len, "bad attribute value at %.40s", q);
                if (*q == '&' && !mc_ref(q))
                    return mc_fail(why, len, "bare & in a value at %.40s", q);
            }
            q++;
            if (*q != ' ' && *q != '>' && *q != '/' && *q != '\n')
                return mc_fail(why, len, "no space after attribute at %.40s", q);
        }
        if (!closed && !mc_void(name, n)) {
            if (depth == sizeof(stack) / sizeof(stack[0]))
                return mc_fail(why, len, "nested too deep");
            stack[depth++] = name;
        }
        p = q;
    }
    if (depth)
        return mc_fail(why, len, "<%.*s> not closed", (int)mc_name(stack[depth - 1]),
                       stack[depth - 1]);
    return NULL;
}

/* How many times needle occurs in s. */
static size_t mc_count(const char *s, const char *needle)
{
    size_t n = 0, len = strlen(needle);

    while ((s = strstr(s, needle)) != NULL) {
        n++;
        s += len;
    }
    return n;
}

#endif
