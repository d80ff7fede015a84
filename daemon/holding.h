/* Holding alerts on the loop: what holds each target now (its maintenance
 * windows at the wall clock's time, a silence, the targets it depends on), a timer
 * for the end of the windows that hold alerts, and the journal's account
 * of both. The decisions are hold.h's; the caller keeps each target's
 * struct hold beside its alert state, and raises what is let through. */
#ifndef UPMON_HOLDING_H
#define UPMON_HOLDING_H

#include <stdbool.h>

#include <event2/event.h>

#include "hold.h"
#include "monitor.h"

struct holding_ops {
    /* A target's hold and alert state (created as the target is first
     * seen: the hold from the state receivers were told of then). */
    void (*target)(struct target_rt *rt, void *arg, struct hold **hold, const struct tstate **ts);
    /* An alert to raise now. */
    void (*raise)(struct target_rt *rt, const struct alert *a, void *arg);
    void *arg;
    /* The silence that holds the target at wall (silence.h), or NULL.
     * Whoever keeps the silences calls holding_recheck when one ends. */
    const struct silence *(*silence)(struct target_rt *rt, int64_t wall, void *arg);
    /* The target's hold may have changed what it keeps across a restart
     * (hold_save): something was held, raised or let go. */
    void (*changed)(struct target_rt *rt, void *arg);
};

struct holding;

struct holding *holding_new(struct event_base *base, const struct holding_ops *ops);
void holding_free(struct holding *h);

/* The monitor runs a configuration (started, or swapped in): targets are
 * found by name from here on, and what no longer holds is let go. Call it
 * before the previous configuration is freed. */
void holding_configure(struct holding *h, struct monitor *m);

/* Before the monitor swaps configurations: it frees the runtime of the
 * targets it drops, and a probe it starts meanwhile may report at once,
 * so no target is found by name until holding_configure runs again. */
void holding_detach(struct holding *h);

/* Around one probe's state step of a target: first what no longer holds
 * is let go, as the target was before the probe; then each of the step's
 * alerts is held or raised. When the target is one others depend on and
 * it stops failing, what held them is looked at again. */
void holding_before(struct holding *h, struct target_rt *rt);

/* What holds every target is looked at again (a silence ended, or was
 * expired by hand): what no longer holds is let go now. */
void holding_recheck(struct holding *h);
void holding_after(struct holding *h, struct target_rt *rt, struct alert *alerts, unsigned n);

#endif
