/* The exposition formats' writer. Numbers are formatted by hand, exactly
 * and without printf: a scrape of 10,000 targets writes some 400,000
 * lines. */
#include "exposition.h"

#include <string.h>

#include "text.h"

static void put(struct buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

static size_t fmt_u64(char *p, uint64_t v)
{
    char tmp[24];
    size_t n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    p[n] = '\0';
    return n;
}

/* v / 10^decimals, exactly, without trailing zeros. */
static size_t fmt_scaled(char *p, int64_t v, unsigned decimals)
{
    uint64_t scale = 1, u;
    size_t n = 0;

    for (unsigned i = 0; i < decimals; i++)
        scale *= 10;
    if (v < 0) {
        p[n++] = '-';
        u = (uint64_t)0 - (uint64_t)v;
    } else {
        u = (uint64_t)v;
    }
    n += fmt_u64(p + n, u / scale);
    uint64_t frac = u % scale;
    if (frac) {
        p[n++] = '.';
        for (uint64_t s = scale / 10; s && frac; s /= 10) {
            p[n++] = (char)('0' + frac / s);
            frac %= s;
        }
    }
    p[n] = '\0';
    return n;
}

/* Microseconds as seconds in the canonical form (see expo_le). */
static size_t fmt_canonical(char *p, int64_t us)
{
    char d[24];
    size_t nd, n = 0;
    int zeros = 0;

    if (us <= 0) {
        memcpy(p, "0.0", 4);
        return 3;
    }
    nd = fmt_u64(d, (uint64_t)us);
    while (nd > 1 && d[nd - 1] == '0') {
        nd--;
        zeros++;
    }
    int shift = zeros - 6;         /* seconds = digits * 10^shift */
    int exp = (int)nd - 1 + shift; /* in scientific notation */
    if (exp < -4 || exp >= 6) {
        p[n++] = d[0];
        if (nd > 1) {
            p[n++] = '.';
            memcpy(p + n, d + 1, nd - 1);
            n += nd - 1;
        }
        p[n++] = 'e';
        p[n++] = exp < 0 ? '-' : '+';
        int a = exp < 0 ? -exp : exp;
        if (a < 10)
            p[n++] = '0';
        n += fmt_u64(p + n, (uint64_t)a);
    } else if (shift >= 0) {
        memcpy(p + n, d, nd);
        n += nd;
        for (int i = 0; i < shift; i++)
            p[n++] = '0';
        memcpy(p + n, ".0", 2);
        n += 2;
    } else {
        int whole = (int)nd + shift; /* digits before the point */
        if (whole > 0) {
            memcpy(p + n, d, (size_t)whole);
            n += (size_t)whole;
            p[n++] = '.';
            memcpy(p + n, d + whole, nd - (size_t)whole);
            n += nd - (size_t)whole;
        } else {
            p[n++] = '0';
            p[n++] = '.';
            for (int i = 0; i < -whole; i++)
                p[n++] = '0';
            memcpy(p + n, d, nd);
            n += nd;
        }
    }
    p[n] = '\0';
    return n;
}

void expo_le(char out[EXPO_LE_MAX], int64_t us)
{
    memcpy(out, "le=\"", 4);
    size_t k = 4 + fmt_canonical(out + 4, us);
    memcpy(out + k, "\"", 2);
}

static const char *suffix_of(const struct expo_family *f)
{
    return f->kind == EXPO_COUNTER ? "_total" : f->kind == EXPO_INFO ? "_info" : "";
}

void expo_family(struct expo *e, const struct expo_family *f)
{
    static const char *const om_types[] = {
        [EXPO_GAUGE] = "gauge",       [EXPO_COUNTER] = "counter", [EXPO_HISTOGRAM] = "histogram",
        [EXPO_STATESET] = "stateset", [EXPO_INFO] = "info",
    };

    if (e->om) {
        /* In the order the specification asks: TYPE, UNIT, HELP. */
        put(e->b, "# TYPE ");
        put(e->b, f->name);
        buf_append(e->b, " ", 1);
        put(e->b, om_types[f->kind]);
        if (f->seconds) {
            put(e->b, "\n# UNIT ");
            put(e->b, f->name);
            put(e->b, " seconds");
        }
        put(e->b, "\n# HELP ");
        put(e->b, f->name);
    } else {
        const char *type = f->kind == EXPO_COUNTER     ? "counter"
                           : f->kind == EXPO_HISTOGRAM ? "histogram"
                                                       : "gauge";
        /* HELP first, as Prometheus's own clients write it. */
        put(e->b, "# HELP ");
        put(e->b, f->name);
        put(e->b, suffix_of(f));
        buf_append(e->b, " ", 1);
        put(e->b, f->help);
        put(e->b, "\n# TYPE ");
        put(e->b, f->name);
        put(e->b, suffix_of(f));
        buf_append(e->b, " ", 1);
        put(e->b, type);
        buf_append(e->b, "\n", 1);
        return;
    }
    buf_append(e->b, " ", 1);
    put(e->b, f->help);
    buf_append(e->b, "\n", 1);
}

/* Appends part to the label list at p, after a comma when one came. */
static char *label_part(char *p, bool *first, const char *part, size_t len)
{
    if (len == 0)
        return p;
    if (!*first)
        *p++ = ',';
    *first = false;
    memcpy(p, part, len);
    return p + len;
}

void expo_sample(struct expo *e, const char *name, const char *suffix, const char *labels,
                 size_t llen, const char *extra, const char *value)
{
    size_t nl = strlen(name), sl = strlen(suffix), el = extra ? strlen(extra) : 0;
    size_t vl = strlen(value);
    char *p = buf_reserve(e->b, nl + sl + e->ncommon + llen + el + vl + 6);

    memcpy(p, name, nl);
    p += nl;
    memcpy(p, suffix, sl);
    p += sl;
    if (e->ncommon || llen || el) {
        bool first = true;
        *p++ = '{';
        p = label_part(p, &first, e->common, e->ncommon);
        p = label_part(p, &first, labels, llen);
        p = label_part(p, &first, extra, el);
        *p++ = '}';
    }
    *p++ = ' ';
    memcpy(p, value, vl);
    p += vl;
    *p++ = '\n';
    *p = '\0';
    e->b->len = (size_t)(p - e->b->data);
}

void expo_u64(struct expo *e, const struct expo_family *f, const char *labels, size_t llen,
              const char *extra, uint64_t v)
{
    char num[24];

    fmt_u64(num, v);
    expo_sample(e, f->name, suffix_of(f), labels, llen, extra, num);
}

void expo_seconds(struct expo *e, const struct expo_family *f, const char *labels, size_t llen,
                  const char *extra, int64_t v, unsigned decimals)
{
    char num[32];

    fmt_scaled(num, v, decimals);
    expo_sample(e, f->name, "", labels, llen, extra, num);
}

void expo_histogram(struct expo *e, const struct expo_family *f, const char *labels, size_t llen,
                    char (*le)[EXPO_LE_MAX], const uint64_t *cum, size_t nle, uint64_t count,
                    int64_t sum_us)
{
    char num[32];

    for (size_t i = 0; i < nle; i++) {
        fmt_u64(num, cum[i]);
        expo_sample(e, f->name, "_bucket", labels, llen, le[i], num);
    }
    fmt_u64(num, count);
    expo_sample(e, f->name, "_bucket", labels, llen, "le=\"+Inf\"", num);
    fmt_scaled(num, sum_us, 6);
    expo_sample(e, f->name, "_sum", labels, llen, NULL, num);
    fmt_u64(num, count);
    expo_sample(e, f->name, "_count", labels, llen, NULL, num);
}

void expo_value(struct expo *e, struct buf *b, const char *s)
{
    size_t len = strlen(s);

    /* Only text that is not ASCII can be invalid UTF-8: that is made
     * valid first (U+FFFD for what is not), in at most three bytes per
     * byte. */
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] >= 0x80) {
            e->scratch.len = 0;
            buf_reserve(&e->scratch, 3 * len);
            len = text_sanitize(e->scratch.data, 3 * len + 1, s, len, 0);
            s = e->scratch.data;
            break;
        }
    }
    char *p = buf_reserve(b, 2 * len);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\' || s[i] == '"' || s[i] == '\n') {
            *p++ = '\\';
            *p++ = s[i] == '\n' ? 'n' : s[i];
        } else {
            *p++ = s[i];
        }
    }
    *p = '\0';
    b->len = (size_t)(p - b->data);
}

void expo_end(struct expo *e)
{
    if (e->om)
        put(e->b, "# EOF\n");
    buf_free(&e->scratch);
}
