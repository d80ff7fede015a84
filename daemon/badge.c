/* A target's badge: two coloured halves, a label and a message, sized
 * by the text's width in the font shields.io badges use. */
#include "badge.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "markup.h"
#include "state.h"
#include "text.h"

#define DAY_MS  86400000LL
#define HOUR_MS 3600000LL

/* Longest label drawn: a badge is a glance, not a page. */
#define BADGE_LABEL_MAX 96

/* Verdana's advance widths for ' ' to '~', in font units (2048 an em). */
static const uint16_t verdana[95] = {
    720,  806,  940,  1676, 1302, 2204, 1488, 550,  930,  930,  1302, 1676, 745,  930,  745,  930,
    1302, 1302, 1302, 1302, 1302, 1302, 1302, 1302, 1302, 1302, 930,  930,  1676, 1676, 1676, 1117,
    2048, 1400, 1404, 1430, 1578, 1295, 1177, 1588, 1539, 862,  931,  1419, 1140, 1726, 1532, 1612,
    1235, 1612, 1424, 1400, 1262, 1499, 1400, 2025, 1403, 1260, 1403, 930,  930,  930,  1676, 1302,
    1302, 1230, 1276, 1067, 1276, 1220, 720,  1276, 1296, 562,  705,  1212, 562,  1992, 1296, 1243,
    1276, 1276, 874,  1067, 807,  1296, 1212, 1676, 1212, 1212, 1076, 1300, 930,  1300, 1676,
};

/* Wide characters take a whole em: CJK, Hangul, full-width forms and
 * pictographs, the ranges East Asian Width calls wide or full. */
static bool wide(uint32_t c)
{
    return (c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0xA4CF) ||
           (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) ||
           (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF60) ||
           (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x1F300 && c <= 0x1FAFF) ||
           (c >= 0x20000 && c <= 0x3FFFD);
}

double badge_text_width(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t units = 0;

    while (*p) {
        uint32_t c = *p;
        size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;

        if (len > 1) {
            c &= 0x3Fu >> (len - 1);
            for (size_t i = 1; i < len && (p[i] & 0xC0) == 0x80; i++)
                c = c << 6 | (p[i] & 0x3Fu);
        }
        if (c >= 0x20 && c <= 0x7E)
            units += verdana[c - 0x20];
        else if (c >= 0x80)
            units += wide(c) ? 2048 : 1302; /* a digit's width: the average */
        for (size_t i = 0; i < len && *p; i++)
            p++;
    }
    return units * 11.0 / 2048;
}

/* Shields.io's colours. */
#define C_BRIGHTGREEN "#4c1"
#define C_GREEN       "#97ca00"
#define C_YELLOW      "#dfb317"
#define C_ORANGE      "#fe7d37"
#define C_RED         "#e05d44"
#define C_LIGHTGREY   "#9f9f9f"

static const char *tier_colour(enum markup_tier t)
{
    switch (t) {
    case TIER_OK:
        return C_BRIGHTGREEN;
    case TIER_WARN:
        return C_YELLOW;
    case TIER_DOWN:
        return C_RED;
    default:
        return C_LIGHTGREY;
    }
}

static const char *uptime_colour(double share)
{
    if (share < 0)
        return C_LIGHTGREY;
    if (share >= 0.999)
        return C_BRIGHTGREEN;
    if (share >= 0.99)
        return C_GREEN;
    if (share >= 0.95)
        return C_YELLOW;
    if (share >= 0.90)
        return C_ORANGE;
    return C_RED;
}

static void put(struct buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

/* One half's text: its shadow, then itself, centred at x. textLength
 * holds it to the width it was measured at in whatever font draws it. */
static void text(struct buf *b, double x, double w, const char *s)
{
    for (int shadow = 1; shadow >= 0; shadow--) {
        buf_printf(b, "<text x=\"%.1f\" y=\"%d\" textLength=\"%.1f\"%s>", x, 14 + shadow, w,
                   shadow ? " fill=\"#010101\" fill-opacity=\".3\"" : "");
        markup_text(b, s);
        put(b, "</text>");
    }
}

static void draw(struct buf *b, const char *label, const char *message, const char *colour)
{
    double lt = badge_text_width(label), mt = badge_text_width(message);
    int lw = (int)(lt + 10.5), mw = (int)(mt + 10.5), w = lw + mw;

    buf_printf(b,
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"20\" "
               "role=\"img\" aria-label=\"",
               w);
    markup_text(b, label);
    put(b, ": ");
    markup_text(b, message);
    put(b, "\"><title>");
    markup_text(b, label);
    put(b, ": ");
    markup_text(b, message);
    buf_printf(b,
               "</title><linearGradient id=\"s\" x2=\"0\" y2=\"100%%\"><stop offset=\"0\" "
               "stop-color=\"#bbb\" stop-opacity=\".1\"/><stop offset=\"1\" "
               "stop-opacity=\".1\"/></linearGradient><clipPath id=\"r\"><rect width=\"%d\" "
               "height=\"20\" rx=\"3\" fill=\"#fff\"/></clipPath><g clip-path=\"url(#r)\">"
               "<rect width=\"%d\" height=\"20\" fill=\"#555\"/><rect x=\"%d\" width=\"%d\" "
               "height=\"20\" fill=\"%s\"/><rect width=\"%d\" height=\"20\" "
               "fill=\"url(#s)\"/></g><g fill=\"#fff\" text-anchor=\"middle\" "
               "font-family=\"Verdana,Geneva,DejaVu Sans,sans-serif\" font-size=\"11\">",
               w, lw, lw, mw, colour, w);
    text(b, lw / 2.0, lt, label);
    text(b, lw + mw / 2.0, mt, message);
    put(b, "</g></svg>\n");
}

static const struct view_target *find(const struct view *v, const char *name, size_t len)
{
    for (size_t i = 0; i < v->ntargets; i++) {
        const char *n = v->targets[i].conf->name;

        if (strncmp(n, name, len) == 0 && n[len] == '\0')
            return &v->targets[i];
    }
    return NULL;
}

static void refuse(struct hreply *rp, const char *why)
{
    rp->status = 400;
    rp->content_type = "text/plain; charset=utf-8";
    put(&rp->body, why);
}

void badge_handler(const struct view *v, const struct hrequest *rq, struct hreply *rp)
{
    static const struct {
        const char *name;
        int64_t ms;
    } windows[] = {{"24h", 24 * HOUR_MS}, {"7d", 7 * DAY_MS}, {"30d", 30 * DAY_MS}};
    const char *tail = rq->tail ? rq->tail : "";
    const char *type = query_get(rq->query, "type");
    const char *window = query_get(rq->query, "window");
    size_t len = strlen(tail);
    const struct view_target *t;
    char label[BADGE_LABEL_MAX + 8], message[64]; /* room for " 24h" */
    size_t wi = 0;

    if (type && strcmp(type, "state") != 0 && strcmp(type, "uptime") != 0) {
        refuse(rp, "type is state or uptime\n");
        return;
    }
    while (window && wi < ARRAY_SIZE(windows) && strcmp(window, windows[wi].name) != 0)
        wi++;
    if (wi == ARRAY_SIZE(windows)) {
        refuse(rp, "window is 24h, 7d or 30d\n");
        return;
    }

    rp->content_type = "image/svg+xml";
    /* Long enough to spare a busy README, short enough to tell news. */
    rp->cache = "max-age=30";
    if (len > 4 && strcmp(tail + len - 4, ".svg") == 0)
        len -= 4;
    /* The name as the address gave it, made printable and short: it is
     * drawn even when no target has it. */
    text_sanitize(label, BADGE_LABEL_MAX, tail, len, TEXT_ESCAPE | TEXT_ELLIPSIS);
    t = len < strlen(tail) ? find(v, tail, len) : NULL;
    if (!t) {
        rp->status = 404;
        rp->cache = NULL;
        draw(&rp->body, label[0] ? label : "badge", "not found", C_LIGHTGREY);
        return;
    }
    if (type && strcmp(type, "uptime") == 0) {
        double u = t->hist ? htarget_uptime(t->hist, windows[wi].ms, v->now_ms) : -1;
        size_t n = strlen(label);

        markup_uptime(u, message, sizeof(message));
        snprintf(label + n, sizeof(label) - n, " %s", windows[wi].name);
        draw(&rp->body, label, message, uptime_colour(u));
    } else {
        enum target_state s = t->ts ? t->ts->s.state : ST_UNKNOWN;

        draw(&rp->body, label, markup_state_label(s), tier_colour(markup_tier(s)));
    }
}
