/* Escaping and the words and figures of the status page and the badges. */
#include "markup.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "state.h"
#include "text.h"

/* Escapes the valid, printable UTF-8 in s (n bytes). */
static void escape(struct buf *b, const char *s, size_t n)
{
    size_t run = 0;

    for (size_t i = 0; i < n; i++) {
        const char *ref;

        switch (s[i]) {
        case '&':
            ref = "&amp;";
            break;
        case '<':
            ref = "&lt;";
            break;
        case '>':
            ref = "&gt;";
            break;
        case '"':
            ref = "&quot;";
            break;
        case '\'':
            ref = "&#39;";
            break;
        default:
            continue;
        }
        buf_append(b, s + run, i - run);
        buf_append(b, ref, strlen(ref));
        run = i + 1;
    }
    buf_append(b, s + run, n - run);
}

void markup_textn(struct buf *b, const char *s, size_t n)
{
    char small[1024], *clean = small;
    size_t need = 4 * n + 1, len;
    bool plain = true;

    /* Names and labels are nearly always printable ASCII: no copy. */
    for (size_t i = 0; i < n && plain; i++)
        plain = (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7F;
    if (plain) {
        escape(b, s, n);
        return;
    }
    /* An escape is at most four bytes for one (\xHH) and a replacement
     * three for one, so 4n + 1 holds anything. */
    if (need > sizeof(small))
        clean = xmalloc(need);
    len = text_sanitize(clean, need, s, n, TEXT_ESCAPE);
    escape(b, clean, len);
    if (clean != small)
        free(clean);
}

void markup_text(struct buf *b, const char *s)
{
    markup_textn(b, s, strlen(s));
}

void markup_query(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            buf_append(b, p, 1);
        } else {
            char pct[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            buf_append(b, pct, 3);
        }
    }
}

enum markup_tier markup_tier(enum target_state s)
{
    if (s == ST_UP)
        return TIER_OK;
    if (s == ST_REDIRECTING)
        return TIER_WARN;
    if (state_is_failing(s))
        return TIER_DOWN;
    return TIER_NONE;
}

const char *markup_tier_name(enum markup_tier t)
{
    static const char *const names[] = {"none", "ok", "warn", "down"};

    return (size_t)t < ARRAY_SIZE(names) ? names[t] : "none";
}

const char *markup_state_label(enum target_state s)
{
    /* state_name's words are identifiers (JSON, the journal); these are
     * for a page people read. */
    static const char *const labels[ST_COUNT] = {
        [ST_UNKNOWN] = "unknown",           [ST_UP] = "up",
        [ST_REDIRECTING] = "redirecting",   [ST_CLIENT_ERROR] = "client error",
        [ST_SERVER_ERROR] = "server error", [ST_UNREACHABLE] = "unreachable",
        [ST_CONTENT] = "content mismatch",  [ST_UNEXPECTED] = "unexpected status",
    };

    return (size_t)s < ST_COUNT ? labels[s] : labels[ST_UNKNOWN];
}

bool markup_uptime(double share, char *out, size_t len)
{
    double hundredths;

    if (share < 0 || isnan(share)) {
        snprintf(out, len, "no data");
        return false;
    }
    if (share >= 1) {
        snprintf(out, len, "100%%");
        return true;
    }
    /* Down, not to the nearest: 99.996% with a failure is not 100%. The
     * small epsilon keeps a share that is exactly 99.95% from becoming
     * 99.94% through binary rounding. */
    hundredths = floor(share * 10000 + 1e-6);
    snprintf(out, len, "%.2f%%", hundredths / 100);
    return true;
}

void markup_duration(int64_t ms, char *out, size_t len)
{
    const int64_t s = 1000, m = 60 * s, h = 60 * m, d = 24 * h;
    int64_t unit;

    if (ms < s) {
        snprintf(out, len, "0s");
        return;
    }
    unit = ms >= d ? h : ms >= h ? m : ms >= m ? m : s;
    duration_format((uint64_t)(ms / unit * unit), out, len);
}
