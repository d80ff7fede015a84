/* Badges: a small flat SVG per target, as shields.io draws them, for a
 * README or a wiki to embed. GET /badge/NAME.svg shows the target's
 * state (?type=state, the default) or its uptime over a window
 * (?type=uptime&window=24h|7d|30d). An unknown target gets a 404 with a
 * "not found" badge, so an embedded image still says why. Pure. */
#ifndef UPMON_BADGE_H
#define UPMON_BADGE_H

#include "view.h"

void badge_handler(const struct view *v, const struct hrequest *rq, struct hreply *rp);

/* The width in pixels of s (UTF-8) in 11px Verdana, the badges' font:
 * from the font's advance widths for ASCII, an em for wide (East Asian)
 * characters and an average width for the rest. */
double badge_text_width(const char *s);

#endif
