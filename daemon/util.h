/* Small helpers every module uses: allocation that cannot fail (tmux's
 * xmalloc: running out of memory is fatal, so call sites stay clean), string
 * helpers and a growable buffer. No I/O beyond the fatal message. */
#ifndef UPMON_UTIL_H
#define UPMON_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define NORETURN          __attribute__((noreturn))
#else
#define PRINTF_LIKE(f, a)
#define NORETURN
#endif

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* Grows *arr (of *cap elements of size elsize) so that index n fits. */
void xgrow(void **arr, size_t *cap, size_t n, size_t elsize);

/* Bounded formatting into a caller's error buffer; never overflows. */
void errbuf_set(char *buf, size_t len, const char *fmt, ...) PRINTF_LIKE(3, 4);

/* A growable byte buffer, always NUL-terminated. */
struct buf {
    char *data;
    size_t len;
    size_t cap;
};

void buf_append(struct buf *b, const void *data, size_t len);
/* Makes room for len more bytes and their NUL after b->len, and returns
 * where they go: a writer that knows a bound on what it writes fills them
 * and moves b->len and the NUL itself, one growth check for many pieces. */
char *buf_reserve(struct buf *b, size_t len);
/* Appends a formatted string (printf). */
void buf_printf(struct buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
void buf_free(struct buf *b);

/* Edit distance, for "did you mean" hints. */
size_t levenshtein(const char *a, const char *b);

/* FNV-1a, used to spread probe phases stably by target name. */
uint64_t hash64(const char *s);

/* Splits "HOST", "HOST:PORT", "[IPv6]" or "[IPv6]:PORT" into host (an
 * IPv6 address keeps its brackets) and port (0 when absent); -1 when s is
 * none of those or the port is not 1 to 65535. */
int host_port_split(const char *s, char *host, size_t hostlen, unsigned *port);

/* A string-keyed hash map of pointers (open addressing). Keys are not
 * copied: they must outlive the map. */
struct strmap {
    struct strmap_slot {
        const char *key;
        void *value;
    } * slots;
    size_t cap, n;
};

/* Inserts key unless present; returns the value already there, or NULL. */
void *strmap_put(struct strmap *m, const char *key, void *value);
void *strmap_get(const struct strmap *m, const char *key);
/* Removes key; returns its value, or NULL when it was not there. */
void *strmap_del(struct strmap *m, const char *key);
void strmap_free(struct strmap *m);

#endif
