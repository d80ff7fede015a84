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

/* The handler of /metrics (handler_fn). */
void metrics_handler(const struct view *v, const struct hrequest *rq, struct hreply *rp);

#endif
