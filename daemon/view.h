/* The running daemon as the HTTP server's pages see it: plain data the
 * service fills in for each request (service.c), so every renderer
 * (/metrics, the status page, the badges, the API) is a function of it
 * and the request, and a test builds one by hand. Valid until the
 * handler returns to the loop. */
#ifndef UPMON_VIEW_H
#define UPMON_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "history.h"
#include "state.h"
#include "util.h"

struct histdb;
struct incident_row;
struct silence;

struct view_target {
    const struct target_conf *conf;
    const struct tstate *ts;    /* confirmed state: ts->s.state, since_ms, slow, flapping */
    const struct htarget *hist; /* last probes, counters, incidents, uptime */
};

/* A target's maintenance, as of now: the window that holds its alerts
 * (until the windows that take over from it end) and the next one to
 * come. */
struct view_maint {
    const struct window *now; /* or NULL */
    int64_t now_from, now_until;
    const struct window *next; /* or NULL */
    struct window_span next_span;
};

/* False when the target has no maintenance windows at all. */
bool view_maintenance(const struct target_conf *t, int64_t now_ms, struct view_maint *m);

/* Deliveries of one webhook since start, by outcome. */
struct view_webhook {
    const char *name;
    unsigned pending;   /* waiting, in flight or parked now */
    uint64_t delivered; /* a 2xx came */
    uint64_t retried;   /* an attempt failed and will be tried again */
    uint64_t refused;   /* an answer that will not change: given up */
    uint64_t expired;   /* older than max_age: given up */
    uint64_t dropped;   /* over max_pending: given up */
};

/* The schedule's punctuality, as the monitor counts it (monitor.h). */
struct view_schedule {
    uint64_t started, completed, late, skipped, dropped, cancelled;
    const uint64_t *lateness; /* probes per lateness bucket of bucket_us */
    size_t nlateness;         /* the last bucket holds everything beyond */
    int64_t bucket_us;
    int64_t lateness_sum_us;
    unsigned in_flight;
};

struct view {
    const struct config *cfg;
    const struct view_target *targets; /* the enabled ones, in configuration order */
    size_t ntargets;
    struct view_schedule schedule;
    const struct view_webhook *webhooks;
    size_t nwebhooks;
    unsigned outbox;    /* deliveries not yet done, every webhook */
    int64_t started_ms; /* wall clock: when the daemon started */
    int64_t reload_ms;  /* wall clock of the last reload; 0: none */
    bool reload_ok;     /* whether it was applied */
    /* Reloads tried since start, and of those the ones refused. */
    uint64_t reloads, reloads_failed;
    bool healthy;          /* the watchdog's test: the loop turns, probes complete */
    int64_t now_ms;        /* wall clock of the request */
    const char *host;      /* this machine's name */
    const char *libcurl;   /* the version of the libcurl in use (curl_version_info) */
    struct histdb *histdb; /* for what memory does not hold; NULL: history off */
    /* histdb.h's readers, set with histdb (histdb_series, histdb_incidents,
     * histdb_rows_free): the renderers reach the database through them,
     * so the pure core never links it, and a test gives its own. */
    int (*series)(struct histdb *db, const char *target, int64_t from_ms, int64_t to_ms,
                  int64_t step_ms, struct hbucket **out, size_t *n);
    int (*incidents)(struct histdb *db, const char *target, int64_t before_ms, size_t limit,
                     struct incident_row **out, size_t *n);
    void (*rows_free)(struct incident_row *rows, size_t n);
    /* Bumped each time a configuration is swapped in: the targets of one
     * generation are the same, in the same order, whichever view shows
     * them, so an answer made in steps (hreply.more) can go on walking
     * them only while this stays the same. */
    uint64_t generation;
    /* Silences (silence.h): those in force and those ended lately,
     * oldest first; and the daemon's hands to add one (a copy of s,
     * whose id it sets) and to expire one by id, each returning 0 or the
     * status to answer with a reason in err. NULL hands: none. */
    const struct silence *silences;
    size_t nsilences;
    void *silencer;
    int (*silence_add)(void *silencer, struct silence *s, char *err, size_t errlen);
    int (*silence_expire)(void *silencer, uint64_t id, char *err, size_t errlen);
};

/* A request's query, decoded: key=value pairs in order. */
struct query_param {
    const char *key, *value;
};
struct query {
    struct query_param *params;
    size_t n;
};

/* The first value of key, or NULL. */
const char *query_get(const struct query *q, const char *key);

/* A request's method: HEAD is a GET whose body is not sent. */
enum hmethod {
    HM_GET,
    HM_POST,
    HM_DELETE,
};

/* What a handler is asked. */
struct hrequest {
    const char *path; /* decoded and checked: starts with '/', no "..", no NUL */
    const char *tail; /* the part after the route's prefix (a target's name) */
    const struct query *query;
    const char *accept; /* the Accept header, "" when none */
    bool head;          /* HEAD: the body is built, then not sent */
    bool trusted;       /* over a unix socket, or with the right token (none set: false) */
    /* POST and DELETE reach only the routes that take them, and only
     * over a unix socket (httpd.c); their body, at most a few kilobytes. */
    enum hmethod method;
    const char *body;
    size_t body_len;
};

/* What it answers. */
struct hreply {
    int status;               /* 200 unless set */
    const char *content_type; /* a static string */
    const char *cache;        /* Cache-Control, or NULL for "no-store" */
    const char *allow;        /* Allow of a 405, or NULL for "GET, HEAD" */
    struct buf body;
    /* An answer too long to make in one go (/metrics of ten thousand
     * targets is tens of megabytes) is made in steps, so the loop runs
     * probes in between: the handler puts the first part in body and
     * sets more, which the server calls again on a later turn of the
     * loop, once the part before is sent, with a view filled anew of the
     * same generation; each call appends the next part to body (empty
     * then) and returns whether another follows. state is the handler's,
     * freed with state_free when the answer ends or is given up. */
    bool (*more)(const struct view *v, struct hreply *rp, void *state);
    void *state;
    void (*state_free)(void *state);
};

typedef void (*handler_fn)(const struct view *v, const struct hrequest *rq, struct hreply *rp);

/* Makes the rest of an answer left in steps (rp->more set), appending it
 * to rp->body, and frees its state: the whole answer at once, for a
 * caller that cannot send it in parts. Nothing when more is unset. */
void hreply_finish(const struct view *v, struct hreply *rp);

/* Gives up the steps left, if any: frees the state, unsets more. The
 * body stays. */
void hreply_stop(struct hreply *rp);

#endif
