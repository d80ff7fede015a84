/* What the status page and the badges share: text made safe for HTML and
 * SVG, and how states and uptime figures are shown to people (words,
 * colour tiers, percentages). Pure. */
#ifndef UPMON_MARKUP_H
#define UPMON_MARKUP_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"
#include "verdict.h"

/* Appends s as element text or a quoted attribute's value: valid UTF-8
 * with control characters escaped (text.h), then & < > " ' as
 * references, so neither a site nor a configuration can open a tag,
 * end an attribute or break the document's well-formedness. */
void markup_text(struct buf *b, const char *s);
void markup_textn(struct buf *b, const char *s, size_t n);

/* Appends s percent-encoded for a URL's query value (all but RFC 3986's
 * unreserved characters), which needs no HTML escaping after. */
void markup_query(struct buf *b, const char *s);

/* How bad a state looks: the colour of a tag, a bar or a badge. */
enum markup_tier {
    TIER_NONE, /* nothing known */
    TIER_OK,   /* up */
    TIER_WARN, /* redirecting: not failing, not as configured either */
    TIER_DOWN, /* failing */
};

enum markup_tier markup_tier(enum target_state s);
/* "none", "ok", "warn", "down": the CSS classes t-none ... t-down. */
const char *markup_tier_name(enum markup_tier t);

/* A state in words for people: "server error", "content mismatch". */
const char *markup_state_label(enum target_state s);

/* An uptime share (0 to 1) as a percentage with two decimals, rounded
 * down so that any failure shows below 100% ("99.99%", "100%"); false
 * and "no data" when share is negative (nothing probed). */
bool markup_uptime(double share, char *out, size_t len);

/* A duration in whole largest units for people: "45s", "12m", "3h12m",
 * "2d4h". */
void markup_duration(int64_t ms, char *out, size_t len);

#endif
