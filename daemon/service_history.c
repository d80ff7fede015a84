/* The daemon's history glue: each target's history read back from the
 * history database when it is first tracked, what closes handed over to
 * it, and the database opened, reconfigured or closed as history.enabled
 * says. */
#include "clock.h"
#include "histdb.h"
#include "history.h"
#include "log.h"
#include "monitor.h"
#include "service_impl.h"
#include "util.h"

#define RESTORE_SINGLY 32 /* more targets to restore than this: one pass for all */

static struct htarget *find_unrestored(const char *name, void *arg)
{
    struct tracked *tr = strmap_get(arg, name);
    return tr ? &tr->hist : NULL;
}

/* Reads the history of the targets just tracked: one at a time for a few
 * (a reload that adds some), in one pass over the recent rows for many
 * (the start). */
void service_restore_history(struct service *svc)
{
    struct target_rt **targets;
    size_t n = monitor_targets(svc->monitor, &targets);
    struct strmap fresh = {0};
    int64_t wall = clock_wall_ms();

    for (size_t i = 0; i < n; i++) {
        struct tracked *tr = targets[i]->user;
        if (tr && tr->unrestored && svc->histdb)
            strmap_put(&fresh, targets[i]->conf->name, tr);
        if (tr)
            tr->unrestored = false;
    }
    if (fresh.n > RESTORE_SINGLY) {
        int64_t t0 = clock_mono_us();
        histdb_restore_all(svc->histdb, wall, find_unrestored, &fresh);
        log_info("history of %zu targets read in %.0f ms", fresh.n,
                 (double)(clock_mono_us() - t0) / 1000.0);
    } else
        for (size_t i = 0; i < fresh.cap; i++)
            if (fresh.slots[i].key)
                histdb_restore(svc->histdb, fresh.slots[i].key,
                               &((struct tracked *)fresh.slots[i].value)->hist, wall);
    strmap_free(&fresh);
}

/* What closed goes to the history database (a no-op without one). */
void service_hand_over(struct service *svc, const char *name, const struct hbucket *b,
                       const struct incident *inc)
{
    if (b)
        histdb_put_bucket(svc->histdb, name, b);
    if (inc)
        histdb_put_incident(svc->histdb, name, inc);
}

/* Writes the minutes of targets that have not probed since their minute
 * ended: a target probed every five minutes would otherwise keep its
 * minute in memory until the next probe. */
void service_hist_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct service *svc = arg;
    struct target_rt **targets;
    size_t n = monitor_targets(svc->monitor, &targets);
    int64_t wall = clock_wall_ms();
    struct hbucket b;
    (void)fd;
    (void)what;

    for (size_t i = 0; i < n; i++) {
        struct tracked *tr = targets[i]->user;
        if (tr && htarget_tick(&tr->hist, wall, &b))
            service_hand_over(svc, targets[i]->conf->name, &b, NULL);
    }
}

/* history.enabled, at start and on every reload: the database opened or
 * closed, its retention set. */
void service_history_configure(struct service *svc, const struct config *cfg)
{
    char err[512];

    if (!cfg->history) {
        histdb_close(svc->histdb); /* writes what it was handed */
        svc->histdb = NULL;
        return;
    }
    if (svc->histdb) {
        histdb_configure(svc->histdb, cfg);
        return;
    }
    svc->histdb = histdb_open(svc->base, svc->opts->state_dir, cfg, err, sizeof(err));
    if (svc->histdb == NULL) {
        log_err("history database: %s; running without history", err);
        return;
    }
    uint64_t next = histdb_next_incident_id(svc->histdb);
    if (next <= svc->next_incident)
        return;
    /* Opened after start (history turned on by a reload, or a database
     * that could not be opened before): incidents that began meanwhile
     * have ids the database may hold for other targets. */
    svc->next_incident = next;
    struct target_rt **targets;
    size_t n = svc->monitor ? monitor_targets(svc->monitor, &targets) : 0;
    for (size_t i = 0; i < n; i++) {
        struct tracked *tr = targets[i]->user;
        if (tr)
            htarget_renumber(&tr->hist, next, &svc->next_incident);
    }
}
