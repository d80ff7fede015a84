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
 * A window holds every alert, and so does a silence (silence.h), but one:
 * the recovery from trouble receivers know of. A failing parent holds the
 * alerts of the target's state (down, changed, redirect, flapping,
 * reminders). A recovery goes out unless the trouble it ends was itself
 * held, so an incident receivers know of is closed when it ends, and an
 * alert Alertmanager keeps firing by re-sends stops with the outage. A
 * parent counts as failing from its first bad probe: the children of a
 * gateway that died often confirm before it does.
 *
 * An alert that goes on with, or ends, the trouble receivers were told of
 * (changed, a reminder, a recovery) is dated from when they were told it
 * began: a hold can let the target recover and fail again unsaid, and
 * receivers (PagerDuty's dedup key, "down for 2h") count from what they
 * heard. */
#ifndef UPMON_HOLD_H
#define UPMON_HOLD_H

#include <stdbool.h>
#include <stdint.h>

#include "state.h"

/* What holds a target's alerts now. */
struct hold_cond {
    bool window;  /* inside a maintenance window */
    bool parent;  /* a target it depends on fails, or its last probe did */
    bool silence; /* a silence holds it */
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
    enum severity told_severity; /* of told_state */
    int64_t told_since_ms;       /* wall clock: when told_state began, as they heard */
    uint64_t told_location;      /* hash of the redirect target */
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
    /* The state alert held was made up from the saved state after a
     * restart (hold_restore): its probe's details are the next probe's,
     * and it is not let go before that probe (probed). */
    bool restored, probed;
};

#define HOLD_BY_WINDOW  1u
#define HOLD_BY_PARENT  2u
#define HOLD_BY_SILENCE 4u

/* What of a hold survives a restart (the store keeps it with the
 * target's state): what receivers were told, and what was held. */
struct hold_saved {
    bool known; /* false: nothing kept (an older upmond): told as the state says */
    enum target_state told_state;
    enum severity told_severity;
    int64_t told_since_ms;
    uint64_t told_location;
    bool told_flapping, told_slow;
    bool held_state, held_slow; /* a state or slowness alert was held */
    bool held_cert;             /* a certificate's warning was held: it is not kept, so the
                                   saved state must not say it was given */
    unsigned held_by;
    enum alert_previous held_from;
};

/* A target whose alerts have all gone out: receivers know it as s says
 * (a target known from before a restart was told of then). */
void hold_init(struct hold *h, const struct tstate_saved *s);

/* What of h to keep across a restart. Whether it says anything a
 * target's saved state does not: receivers were told otherwise, or
 * something is held. */
void hold_save(const struct hold *h, struct hold_saved *out);
bool hold_saved_news(const struct hold_saved *hs, const struct tstate_saved *s);
bool hold_saved_same(const struct hold_saved *a, const struct hold_saved *b);

/* A target known from before a restart: receivers know it as hs says
 * (as s says when hs is NULL or unknown). An alert held then is held
 * again, made up from s as the target is now (the time it was held is
 * taken as now); the next probe that sees the same state gives it its
 * details (hold_detail). A certificate's held warning is not kept. */
void hold_restore(struct hold *h, const struct tstate_saved *s, const struct hold_saved *hs,
                  struct instant now);

/* A probe of the target (its result r judged v), before what it confirms
 * (call it before letting go what no longer holds): a held state alert
 * made up by hold_restore takes the probe's code, error and message when
 * the probe sees the state it is about, and may be let go from now on. */
void hold_detail(struct hold *h, const struct probe_result *r, const struct verdict *v);

/* Frees what is held (a target removed from the configuration). */
void hold_free(struct hold *h);

/* Whether one of the target's alerts is to be held. If not, it goes out
 * (dated from the trouble receivers know, as above) and receivers will
 * know what it says. */
bool hold_alert(struct hold *h, struct alert *a, struct hold_cond c, int64_t now_mono);

/* What receivers were last told of the target: its state with its
 * severity and start, and whether it flaps and is slow (for those that
 * repeat it, such as Alertmanager's re-sends). */
struct hold_told {
    enum target_state state;
    enum severity severity; /* of state */
    int64_t since_ms;       /* when state began, as receivers heard */
    bool flapping, slow;
    bool cert_held; /* a certificate's warning is held: not told */
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
