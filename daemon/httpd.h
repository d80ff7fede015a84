/* The daemon's HTTP server: libevent's evhttp on the loop that runs the
 * probes, listening on every http.listen address (TCP, and unix sockets,
 * whose clients are trusted). It answers GET and HEAD through the route
 * table (route.h) with a view of the daemon the caller fills in for each
 * request. It is built not to hurt the loop: limits on a request's size,
 * one request per connection, a deadline to send the request and another
 * to read the answer (a client that trickles cannot hold a connection),
 * and at most http.max_connections at once (one more is answered 503 and
 * closed at once). */
#ifndef UPMON_HTTPD_H
#define UPMON_HTTPD_H

#include <event2/event.h>

#include "config.h"
#include "view.h"

struct httpd;

/* Fills v for one request; what it points to stays valid until the
 * handler has returned. */
typedef void (*httpd_view_fn)(struct view *v, void *arg);

struct httpd *httpd_new(struct event_base *base, httpd_view_fn view, void *arg);

/* Applies cfg's http block (at start and on every reload): listens on the
 * addresses newly listed, stops listening on those no longer listed
 * (connections open on them finish), and takes the limits for the
 * connections that come next. An address it cannot listen on is logged;
 * the others work. Returns how many failed. */
unsigned httpd_configure(struct httpd *h, const struct config *cfg);

/* Closes every listener (removing the unix sockets it made) and every
 * connection. */
void httpd_free(struct httpd *h);

#endif
