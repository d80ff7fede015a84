/* Holding alerts back, and letting them go. Pure: the caller says what
 * holds a target now (a maintenance window, a target it depends on that
 * fails), and gives the target's confirmed state and the time.
 *
 * Probes and the state machine go on while alerts are held; what is kept
 * here is what receivers were last told of the target (its state, whether
 * it flapped, whether it was slow) and the latest alert held since. When
 * nothing holds the target any longer, the held alert is weighed against
 * the target as it is then: one that differs from what receivers know
 * raises one alert, saying where it is and what it was as they knew it;
 * one that came back inside the hold raises nothing.
 *
 * A window holds every alert. A failing parent holds the alerts of the
 * target's state (down, changed, redirect, flapping, reminders); a
 * recovery goes out unless the failure it ends was itself held, so an
 * incident receivers know of is closed when it ends. A parent counts as
 * failing from its first bad probe: the children of a gateway that died
 * often confirm before it does. */
#ifndef UPMON_HOLD_H
#define UPMON_HOLD_H

#include <stdbool.h>
#include <stdint.h>

#include "state.h"

/* What holds a target's alerts now. */
struct hold_cond {
    bool window; /* inside a maintenance window */
    bool parent; /* a target it depends on fails, or its last probe did */
};

/* Held alerts are kept per kind, each weighed on its own. */
enum hold_track {
    HOLD_STATE, /* down, changed, redirect, flapping, recovered */
    HOLD_SLOW,  /* slow, and answering within max_latency again */
    HOLD_CERT,  /* a certificate near its end */
};
#define HOLD_TRACKS 3

struct hold {
    /* What receivers were last told. */
    enum target_state told_state;
    uint64_t told_location; /* hash of the redirect target */
    bool told_flapping, told_slow;
    /* The latest alert held on each track (NULL: none), and when
     * (monotonic ms). Allocated while held: an alert is a kilobyte and a
     * half, and tens of thousands of targets hold none. */
    struct alert *held[HOLD_TRACKS];
    int64_t held_mono[HOLD_TRACKS];
    unsigned held_by; /* HOLD_BY_* bits: what held them, until all are let go */
    /* What the target was before the first state alert held: receivers
     * never told anything take that for what they knew. */
    enum alert_previous held_from;
};

#define HOLD_BY_WINDOW 1u
#define HOLD_BY_PARENT 2u

/* A target whose alerts have all gone out: receivers know it as s says
 * (a target known from before a restart was told of then). */
void hold_init(struct hold *h, const struct tstate_saved *s);

/* Frees what is held (a target removed from the configuration). */
void hold_free(struct hold *h);

/* Whether one of the target's alerts is to be held. If not, it goes out
 * and receivers will know what it says. */
bool hold_alert(struct hold *h, const struct alert *a, struct hold_cond c, int64_t now_mono);

/* What receivers were last told of the target: its state, and whether it
 * flaps and is slow (for those that repeat it, such as Alertmanager's
 * re-sends). */
struct hold_told {
    enum target_state state;
    bool flapping, slow;
};
struct hold_told hold_told(const struct hold *h);

/* Whether any alert is held. */
bool hold_pending(const struct hold *h);

/* Lets go of what no longer holds, against the target's confirmed state
 * s. Fills out[] with the alerts to raise now (at most HOLD_TRACKS) and
 * returns how many; a held alert whose news is stale is dropped. */
unsigned hold_release(struct hold *h, const struct tstate_saved *s, struct hold_cond c,
                      struct instant now, struct alert *out);

#endif
