/* Allocation, strings and buffers shared by every module. */
#include "util.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static NORETURN void oom(size_t size)
{
    fprintf(stderr, "upmond: out of memory allocating %zu bytes\n", size);
    abort();
}

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (p == NULL)
        oom(size);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        oom(n * size);
    return p;
}

void *xreallocarray(void *p, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        oom(SIZE_MAX);
    size_t bytes = n * size;
    void *q = realloc(p, bytes ? bytes : 1);
    if (q == NULL)
        oom(n * size);
    return q;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        oom(strlen(fmt));
    va_end(ap);
    return s;
}

void xgrow(void **arr, size_t *cap, size_t n, size_t elsize)
{
    if (n < *cap)
        return;
    size_t ncap = *cap ? *cap * 2 : 8;
    while (ncap <= n)
        ncap *= 2;
    *arr = xreallocarray(*arr, ncap, elsize);
    *cap = ncap;
}

void errbuf_set(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;

    if (buf == NULL || len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

char *buf_reserve(struct buf *b, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 64;
        while (ncap < b->len + len + 1)
            ncap *= 2;
        b->data = xreallocarray(b->data, ncap, 1);
        b->cap = ncap;
    }
    return b->data + b->len;
}

void buf_append(struct buf *b, const void *data, size_t len)
{
    buf_reserve(b, len);
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    int n;

    /* Most pieces fit the stack buffer: one formatting pass. */
    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        buf_append(b, small, (size_t)n);
        return;
    }
    char *at = buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(at, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void buf_free(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

size_t levenshtein(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t *row = xcalloc(lb + 1, sizeof(*row));

    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = diag + cost;
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    size_t d = row[lb];
    free(row);
    return d;
}

uint64_t hash64(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

void *strmap_put(struct strmap *m, const char *key, void *value)
{
    if ((m->n + 1) * 2 > m->cap) {
        struct strmap bigger = {xcalloc(m->cap ? m->cap * 2 : 64, sizeof(*m->slots)),
                                m->cap ? m->cap * 2 : 64, 0};
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i].key)
                strmap_put(&bigger, m->slots[i].key, m->slots[i].value);
        free(m->slots);
        *m = bigger;
    }
    size_t i = (size_t)hash64(key) & (m->cap - 1);
    while (m->slots[i].key) {
        if (strcmp(m->slots[i].key, key) == 0)
            return m->slots[i].value;
        i = (i + 1) & (m->cap - 1);
    }
    m->slots[i].key = key;
    m->slots[i].value = value;
    m->n++;
    return NULL;
}

void *strmap_get(const struct strmap *m, const char *key)
{
    if (m->cap == 0)
        return NULL;
    size_t i = (size_t)hash64(key) & (m->cap - 1);
    while (m->slots[i].key) {
        if (strcmp(m->slots[i].key, key) == 0)
            return m->slots[i].value;
        i = (i + 1) & (m->cap - 1);
    }
    return NULL;
}

void *strmap_del(struct strmap *m, const char *key)
{
    if (m->cap == 0)
        return NULL;
    size_t mask = m->cap - 1, i = (size_t)hash64(key) & mask;
    while (m->slots[i].key && strcmp(m->slots[i].key, key) != 0)
        i = (i + 1) & mask;
    if (m->slots[i].key == NULL)
        return NULL;
    void *value = m->slots[i].value;
    /* Linear probing has no tombstones: the entries after the hole that
     * would no longer be found from their home slot move back into it. */
    for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
        size_t home = (size_t)hash64(m->slots[j].key) & mask;
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i].key = NULL;
    m->slots[i].value = NULL;
    m->n--;
    return value;
}

void strmap_free(struct strmap *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->n = 0;
}

int host_port_split(const char *s, char *host, size_t hostlen, unsigned *port)
{
    const char *colon, *end;

    *port = 0;
    if (s[0] == '[') {
        end = strchr(s, ']');
        if (end == NULL || end == s + 1 ||
            strspn(s + 1, "0123456789abcdefABCDEF:.") != (size_t)(end - s - 1))
            return -1;
        end++;
        colon = *end == ':' ? end : NULL;
        if (*end != '\0' && colon == NULL)
            return -1;
    } else {
        colon = strchr(s, ':');
        end = colon ? colon : s + strlen(s);
        if (end == s || (colon && strchr(colon + 1, ':')))
            return -1;
        for (const char *p = s; p < end; p++)
            if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == '_'))
                return -1;
    }
    if ((size_t)(end - s) >= hostlen)
        return -1;
    if (colon) {
        char *e;
        unsigned long p;
        if (colon[1] < '0' || colon[1] > '9')
            return -1;
        p = strtoul(colon + 1, &e, 10);
        if (*e != '\0' || p == 0 || p > 65535)
            return -1;
        *port = (unsigned)p;
    }
    memcpy(host, s, (size_t)(end - s));
    host[end - s] = '\0';
    return 0;
}
