/* The HTTP server's requests before any handler sees them: the request
 * target checked and percent-decoded segment by segment (a target's name
 * may hold any character, "/" too, sent as %2F), the query decoded into
 * key=value pairs, and the route that answers it. Pure and bounded:
 * whatever a client sends is refused here, with the status to answer, or
 * comes out within fixed sizes. */
#ifndef UPMON_ROUTE_H
#define UPMON_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "view.h"

#define ROUTE_MAX_TARGET   4096 /* bytes of a request target; longer: 414 */
#define ROUTE_MAX_SEGMENTS 16   /* of a path */
#define ROUTE_MAX_PARAMS   16   /* of a query */
#define ROUTE_MAX_KEY      64   /* bytes of a query key, decoded */
#define ROUTE_MAX_VALUE    1024 /* bytes of a query value, decoded */

/* One row of the route table. */
struct route {
    /* Segments separated by '/': a literal, "*" (any one segment: the
     * tail), or "*SUFFIX" (a segment that ends in SUFFIX: the tail is
     * what comes before it). */
    const char *pattern;
    handler_fn handler;
    bool token; /* over TCP, asks for http's bearer token when one is set */
};

/* Whether the route takes POST and DELETE too (over a unix socket only:
 * httpd.c); its handler tells them apart (hrequest.method). */
bool route_writes(const struct route *r);

/* A request target taken apart. Every string points into buf. */
struct route_match {
    const struct route *route;
    const char *path; /* decoded, for messages: segments joined by '/' */
    const char *tail; /* the decoded segment the pattern's '*' matched, or "" */
    struct query query;
    struct query_param params[ROUTE_MAX_PARAMS];
    char buf[2 * ROUTE_MAX_TARGET + 2 * ROUTE_MAX_PARAMS + ROUTE_MAX_SEGMENTS + 8];
};

/* Checks and decodes target (origin-form "/path?query", or absolute-form
 * "http://host/path?query") and finds its route. Returns 0 with m filled,
 * or the status to answer with a reason in err: 400 for a malformed
 * target (a bad escape, a NUL or control character, a "." or ".."
 * segment, an empty segment, too many parameters or too long a key or
 * value), 414 when it is too long, 404 when no route matches (m->path is
 * then set). */
int route_find(const char *target, struct route_match *m, char *err, size_t errlen);

/* Whether an Authorization header ("Bearer TOKEN"; NULL: none) carries
 * token, compared in time that does not depend on where they differ. */
bool route_token_ok(const char *authorization, const char *token);

/* An error answer: JSON {"error": msg} under /api/, plain text elsewhere. */
void route_error(const char *path, int status, const char *msg, struct hreply *rp);

#endif
