/* The status page at /: server-rendered HTML5 that needs no script, no
 * inline style and nothing from elsewhere, so it works with JavaScript
 * off and under a Content-Security-Policy of default-src 'none' with
 * style-src 'self'. Its one stylesheet is served by page_css_handler.
 * Pure: a function of the view and the request.
 *
 * The overview leads with a summary (counts by state, one status line)
 * and the failing targets, then the groups (by the label http.group_by
 * names, or by watch file). A configuration of up to PAGE_SIZE targets
 * is shown whole, each group a <details> that can be folded; a larger
 * one lists its groups with their counts, each a link to the group's
 * own pages (?group=NAME&page=N, PAGE_SIZE targets each), so that one
 * answer stays a few hundred kilobytes whatever the number of targets. */
#ifndef UPMON_PAGE_H
#define UPMON_PAGE_H

#include <stdint.h>

#include "view.h"

/* Targets shown in full in one answer: each carries a 90-day strip, so
 * about 6 kB. */
#define PAGE_SIZE 50
/* Failing targets the overview lists (shorter rows, about 1 kB). */
#define PAGE_FAILING_MAX 100

/* GET / (with ?group= and &page=). */
void page_handler(const struct view *v, const struct hrequest *rq, struct hreply *rp);

/* GET /static/upmon.css: the page's stylesheet, cached for long (the page
 * links it with a version parameter that changes with it). */
void page_css_handler(const struct view *v, const struct hrequest *rq, struct hreply *rp);

/* That version: a hash of the stylesheet. */
uint64_t page_css_version(void);

#endif
