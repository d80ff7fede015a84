/* /metrics: the running daemon (view.h) as Prometheus scrapes it, in the
 * text exposition format 0.0.4, or in OpenMetrics 1.0.0 when the Accept
 * header prefers it. Every metric is listed in upmond(8), METRICS. Pure. */
#ifndef UPMON_METRICS_H
#define UPMON_METRICS_H

#include "util.h"
#include "view.h"

enum metrics_format {
    METRICS_TEXT,        /* text/plain; version=0.0.4 */
    METRICS_OPENMETRICS, /* application/openmetrics-text; version=1.0.0 */
};

/* The format an Accept header asks for: the one its most specific
 * matching media range gives the higher q, the range listed first on a
 * tie, the text format when both tie on one range or nothing matches (a
 * scraper always gets an answer it can read). A range naming a version
 * matches only that version. */
enum metrics_format metrics_negotiate(const char *accept);

/* Its Content-Type. */
const char *metrics_content_type(enum metrics_format f);

/* Appends the whole exposition of v to out. */
void metrics_render(const struct view *v, enum metrics_format f, struct buf *out);

/* The same in steps: a scrape under way, started in format f. */
struct metrics_state;
struct metrics_state *metrics_start(enum metrics_format f);

/* Appends the next part of the exposition to out: targets one after
 * another until out has grown by at least bytes (a target's lines are
 * never split), or the end. Returns whether a part follows. Every call of
 * one scrape must see the same targets (view.generation); the parts
 * together are metrics_render's text, whatever bytes is. */
bool metrics_step(const struct view *v, struct metrics_state *m, struct buf *out, size_t bytes);

void metrics_free(struct metrics_state *m);

/* The size of a step of the handler: some 3,000 lines, well under a
 * millisecond of the loop. */
#define METRICS_STEP_BYTES (256 * 1024)

/* The handler of /metrics (handler_fn). */
void metrics_handler(const struct view *v, const struct hrequest *rq, struct hreply *rp);

#endif
