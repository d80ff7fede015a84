/* Holding alerts back and letting them go (see hold.h): a held alert is
 * only news if the target is not, when the hold ends, what receivers were
 * last told. */
#include "hold.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Unknown is not news: a target never seen is taken for up (an up target
 * raises nothing as it first comes up). */
static enum target_state known(enum target_state s)
{
    return s == ST_UNKNOWN ? ST_UP : s;
}

static uint64_t location_hash(enum target_state s, const char *loc)
{
    return s == ST_REDIRECTING && loc && loc[0] ? hash64(loc) : 0;
}

void hold_init(struct hold *h, const struct tstate_saved *s)
{
    memset(h, 0, sizeof(*h));
    h->told_state = s->state;
    h->told_severity = s->severity;
    h->told_since_ms = s->since_ms;
    h->told_location = location_hash(s->state, s->location);
    h->told_flapping = s->flapping;
    h->told_slow = s->slow;
}

/* The track an alert is weighed on; reminders are on none: one held is
 * dropped, as the state it repeats is either told already or held. */
static int track_of(const struct alert *a)
{
    switch (a->type) {
    case EVT_DOWN:
    case EVT_REDIRECT:
    case EVT_CHANGED:
    case EVT_FLAPPING:
        return HOLD_STATE;
    case EVT_RECOVERED:
        return a->previous == PREV_SLOW ? HOLD_SLOW : HOLD_STATE;
    case EVT_SLOW:
        return HOLD_SLOW;
    case EVT_CERT_EXPIRING:
        return HOLD_CERT;
    case EVT_REMINDER:
        break;
    }
    return -1;
}

/* Receivers now know what a has said. */
static void tell(struct hold *h, const struct alert *a)
{
    switch (a->type) {
    case EVT_FLAPPING:
        h->told_flapping = true;
        break;
    case EVT_DOWN:
    case EVT_CHANGED:
    case EVT_REDIRECT:
        h->told_state = a->state;
        h->told_severity = a->severity;
        h->told_since_ms = a->since_ms;
        h->told_location = location_hash(a->state, a->location);
        h->told_flapping = false;
        h->told_slow = false; /* slowness ends unsaid when the state leaves up */
        break;
    case EVT_RECOVERED:
        if (a->previous == PREV_SLOW) {
            h->told_slow = false;
        } else {
            h->told_state = ST_UP;
            h->told_severity = SEV_OK;
            h->told_since_ms = a->time_ms;
            h->told_location = 0;
            h->told_flapping = false;
        }
        break;
    case EVT_SLOW:
        h->told_slow = true;
        break;
    case EVT_REMINDER:
    case EVT_CERT_EXPIRING:
        break;
    }
}

/* Whether told is trouble an alert can go on with or end. */
static bool troubled(enum target_state told)
{
    return state_is_failing(told) || told == ST_REDIRECTING;
}

/* Dates an alert about the trouble receivers were told of from when they
 * were told it began (see hold.h). */
static void align(const struct hold *h, struct alert *a)
{
    if (h->told_since_ms <= 0 || !troubled(h->told_state))
        return;
    bool goes_on = a->type == EVT_CHANGED || a->type == EVT_REMINDER ||
                   (a->type == EVT_RECOVERED && a->previous != PREV_SLOW);
    if (goes_on && a->since_ms != h->told_since_ms) {
        a->duration_ms += a->since_ms - h->told_since_ms;
        a->since_ms = h->told_since_ms;
    }
    /* A new kind of trouble ends the one receivers know of (a redirect
     * that turns into an outage): its start is theirs too. */
    if ((a->type == EVT_DOWN || a->type == EVT_REDIRECT) && a->previous_since_ms > 0)
        a->previous_since_ms = h->told_since_ms;
}

bool hold_alert(struct hold *h, struct alert *a, struct hold_cond c, int64_t now_mono)
{
    int track = track_of(a);
    bool held, quiet = c.window || c.silence; /* these hold every alert */
    /* The end of trouble receivers know of: it closes their incident, and
     * what re-sends keep firing, whatever holds the target. */
    bool closes_known = a->type == EVT_RECOVERED && track >= 0 && !h->held[track];

    if (closes_known)
        held = false;
    else if (track == HOLD_STATE)
        held = quiet || c.parent;
    else if (track < 0) /* a reminder */
        held = quiet || c.parent;
    else
        held = quiet;
    if (!held) {
        align(h, a);
        tell(h, a);
        return false;
    }
    if (track == HOLD_STATE && !h->held[HOLD_STATE])
        h->held_from = a->previous;
    if (track >= 0) {
        if (track == HOLD_STATE)
            h->restored = false;
        if (h->held[track] == NULL)
            h->held[track] = xmalloc(sizeof(*h->held[track]));
        *h->held[track] = *a;
        h->held_mono[track] = now_mono;
        h->held_by |= (c.window ? HOLD_BY_WINDOW : 0) | (c.parent ? HOLD_BY_PARENT : 0) |
                      (c.silence ? HOLD_BY_SILENCE : 0);
    }
    return true;
}

struct hold_told hold_told(const struct hold *h)
{
    return (struct hold_told){h->told_state,    h->told_severity, h->told_since_ms,
                              h->told_flapping, h->told_slow,     h->held[HOLD_CERT] != NULL};
}

bool hold_pending(const struct hold *h)
{
    for (int i = 0; i < HOLD_TRACKS; i++)
        if (h->held[i])
            return true;
    return false;
}

void hold_free(struct hold *h)
{
    for (int i = 0; i < HOLD_TRACKS; i++) {
        free(h->held[i]);
        h->held[i] = NULL;
    }
    h->held_by = 0;
    h->restored = false;
}

/* The state alert that tells receivers where the target is, from what
 * they knew; false when it is where they knew it. */
static bool state_news(const struct hold *h, const struct tstate_saved *s, struct alert *a)
{
    enum target_state now = known(s->state);
    enum alert_previous was = h->told_flapping              ? PREV_FLAPPING
                              : h->told_state == ST_UNKNOWN ? h->held_from
                                                            : (enum alert_previous)h->told_state;

    if (s->flapping) {
        /* While it flaps, the alert that said so is the latest held. */
        if (h->told_flapping || a->type != EVT_FLAPPING)
            return false;
        a->previous = (enum alert_previous)h->told_state;
        return true;
    }
    if (!h->told_flapping && now == known(h->told_state) &&
        location_hash(now, s->location) == h->told_location)
        return false;
    if (a->state != now)
        return false; /* not the alert of where it is: nothing truthful to say */
    if (now == ST_UP)
        a->type = EVT_RECOVERED;
    else if (now == ST_REDIRECTING)
        a->type = EVT_REDIRECT;
    else
        a->type = state_is_failing(h->told_state) && !h->told_flapping ? EVT_CHANGED : EVT_DOWN;
    a->previous = was;
    return true;
}

unsigned hold_release(struct hold *h, const struct tstate_saved *s, struct hold_cond c,
                      struct instant now, struct alert *out)
{
    unsigned n = 0;

    for (int t = 0; t < HOLD_TRACKS; t++) {
        if (!h->held[t] || c.window || c.silence || (t == HOLD_STATE && c.parent))
            continue;
        /* Made up at start: said with what the next probe that sees its
         * state finds, unless the target has moved on from it. */
        if (t == HOLD_STATE && h->restored && !h->probed && s->state == h->held[t]->state)
            continue;
        struct alert a = *h->held[t];
        bool news;
        free(h->held[t]);
        h->held[t] = NULL;
        if (t == HOLD_STATE) {
            h->restored = false;
            news = state_news(h, s, &a);
        } else if (t == HOLD_SLOW) /* slow now, or not, and receivers think otherwise */
            news = (s->slow && s->state == ST_UP) != h->told_slow &&
                   (a.type == EVT_SLOW) == (s->slow && s->state == ST_UP);
        else /* the certificate warned about is still the one sent */
            news = s->cert_warned == a.cert_not_after;
        if (!news)
            continue;
        /* Raised now, about a state that went on meanwhile (a recovery
         * says how long the outage it ends was: that is unchanged). */
        if (a.type != EVT_RECOVERED)
            a.duration_ms += now.mono_ms - h->held_mono[t];
        a.time_ms = now.wall_ms;
        align(h, &a);
        tell(h, &a);
        out[n++] = a;
    }
    if (!hold_pending(h))
        h->held_by = 0;
    return n;
}
