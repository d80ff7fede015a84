/* What the daemon proper (service.c), its history glue
 * (service_history.c) and its view (service_view.c) share: the service,
 * and what it keeps of each target. Not for other modules. */
#ifndef UPMON_SERVICE_IMPL_H
#define UPMON_SERVICE_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "histdb.h"
#include "history.h"
#include "hold.h"
#include "monitor.h"
#include "service.h"
#include "state.h"
#include "util.h"
#include "view.h"

struct service {
    const struct service_opts *opts;
    struct event_base *base;
    struct http *http;
    struct monitor *monitor;
    struct store *store;
    struct histdb *histdb; /* NULL: history is off, or its database could not be opened */
    uint64_t next_incident;
    struct webhooks *webhooks;
    struct reloader *reloader;
    struct holding *holding; /* maintenance windows, silences and dependencies */
    struct silencing *silencing;
    struct amresend *amresend; /* Alertmanager's re-sends */
    struct config *cfg;
    char host[256];
    struct strmap saved; /* name -> struct saved_row, from the store */
    bool stopping;
    bool reload_failed;
    size_t reload_errors;
    unsigned counts[ST_COUNT]; /* targets per confirmed state */
    bool status_dirty;
    struct event *sigterm, *sigint, *sighup, *sigusr1;
    struct event *status_timer, *watchdog_timer, *hist_timer;
    /* The HTTP server, and what its view of the daemon is made of. */
    struct httpd *httpd;
    struct view_target *vtargets;
    size_t vtargets_cap;
    struct view_webhook *vwebhooks;
    size_t vwebhooks_cap;
    int64_t started_ms, reload_ms;
    uint64_t generation; /* of the configuration in use: view.generation */
    uint64_t reloads, reloads_failed;
};

/* A target's alert state, whether the store has a row for it, what of
 * its alerts is held, and its history (kept in memory with history off
 * too: the pages show it). */
struct tracked {
    struct tstate ts;
    bool stored;
    bool unrestored; /* its history is still to be read from the database */
    struct hold hold;
    struct hold_saved kept; /* what of the hold the store has, or is about to */
    struct htarget hist;
};

/* service.c: a target's alert state, hold and history, made on first
 * sight (restored from the store's row, if any). */
struct tracked *service_tracked(struct service *svc, struct target_rt *rt);

/* service_view.c: the view of the HTTP server's pages (httpd.h). */
void service_fill_view(struct view *v, void *arg);

/* service_history.c: the history database on the loop. */
/* Reads the history of the targets just tracked: one at a time for a few
 * (a reload that adds some), in one pass over the recent rows for many
 * (the start). */
void service_restore_history(struct service *svc);
/* What closed goes to the history database (a no-op without one). */
void service_hand_over(struct service *svc, const char *name, const struct hbucket *b,
                       const struct incident *inc);
/* Writes the minutes of targets that have not probed since their minute
 * ended: a target probed every five minutes would otherwise keep its
 * minute in memory until the next probe. */
void service_hist_tick_cb(evutil_socket_t fd, short what, void *arg);
/* history.enabled, at start and on every reload: the database opened or
 * closed, its retention set. */
void service_history_configure(struct service *svc, const struct config *cfg);

#endif
