/* libcurl's multi-socket API on a libevent loop: one multi handle, one
 * libevent timer for curl's timeouts, one event per socket curl watches
 * (the pattern of curl's docs/examples/multi-event.c). Every transfer of
 * the daemon, probes and webhook deliveries alike, runs here, so none can
 * block another. A caller embeds a struct http_xfer, sets up its easy
 * handle and adds it; its callback runs once when the transfer ends. */
#ifndef UPMON_HTTP_H
#define UPMON_HTTP_H

#include <curl/curl.h>
#include <event2/event.h>

struct http;
struct http_xfer;

typedef void (*http_done_cb)(struct http_xfer *x, CURLcode rc);

struct http_xfer {
    CURL *easy;
    http_done_cb done;
    int active; /* added to the multi handle and not finished */
};

/* The event loop every transfer and timer of the daemon runs on. */
struct event_base *http_loop_new(void);

struct http *http_new(struct event_base *base);
/* Every transfer must have ended or been removed before this. */
void http_free(struct http *h);

/* Starts x->easy. Returns -1 if curl refused it (x->done is not called). */
int http_add(struct http *h, struct http_xfer *x);
/* Stops x without calling x->done. Safe on a finished transfer. */
void http_remove(struct http *h, struct http_xfer *x);

#endif
