/* What of a hold survives a restart (hold.h): without it, a target
 * whose down was held by a window when the daemon stopped would come back
 * known to receivers as down, and the window's end would raise nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hold.h"
#include "util.h"

static uint64_t location_of(const struct tstate_saved *s)
{
    return s->state == ST_REDIRECTING && s->location && s->location[0] ? hash64(s->location) : 0;
}

void hold_save(const struct hold *h, struct hold_saved *out)
{
    *out = (struct hold_saved){
        .known = true,
        .told_state = h->told_state,
        .told_severity = h->told_severity,
        .told_since_ms = h->told_since_ms,
        .told_location = h->told_location,
        .told_flapping = h->told_flapping,
        .told_slow = h->told_slow,
        .held_state = h->held[HOLD_STATE] != NULL,
        .held_slow = h->held[HOLD_SLOW] != NULL,
        .held_cert = h->held[HOLD_CERT] != NULL,
        .held_by = h->held_by,
        .held_from = h->held_from,
    };
}

bool hold_saved_news(const struct hold_saved *hs, const struct tstate_saved *s)
{
    return hs->held_state || hs->held_slow || hs->held_cert || hs->told_state != s->state ||
           hs->told_severity != s->severity || hs->told_since_ms != s->since_ms ||
           hs->told_location != location_of(s) || hs->told_flapping != s->flapping ||
           hs->told_slow != s->slow;
}

bool hold_saved_same(const struct hold_saved *a, const struct hold_saved *b)
{
    return a->known == b->known && a->told_state == b->told_state &&
           a->told_severity == b->told_severity && a->told_since_ms == b->told_since_ms &&
           a->held_cert == b->held_cert && a->told_location == b->told_location &&
           a->told_flapping == b->told_flapping && a->told_slow == b->told_slow &&
           a->held_state == b->held_state && a->held_slow == b->held_slow &&
           a->held_by == b->held_by && a->held_from == b->held_from;
}

/* The alert of where the target is now, as far as the saved state says:
 * no probe's details. */
static struct alert *made_up(const struct tstate_saved *s, enum event_type type,
                             enum alert_previous previous, struct instant now)
{
    struct alert *a = xcalloc(1, sizeof(*a));

    a->type = type;
    a->state = s->state;
    a->previous = previous;
    a->severity = type == EVT_RECOVERED ? SEV_OK : s->severity;
    /* A recovery made up here ends an outage whose severity is not kept:
     * it goes to every receiver that may have heard of it. */
    a->filter_severity = type == EVT_RECOVERED ? SEV_CRITICAL : s->severity;
    a->time_ms = now.wall_ms;
    a->since_ms = s->since_ms;
    a->duration_ms = now.wall_ms > s->since_ms && s->since_ms > 0 ? now.wall_ms - s->since_ms : 0;
    snprintf(a->location, sizeof(a->location), "%s", s->location ? s->location : "");
    return a;
}

void hold_restore(struct hold *h, const struct tstate_saved *s, const struct hold_saved *hs,
                  struct instant now)
{
    hold_init(h, s);
    if (hs == NULL || !hs->known)
        return;
    h->told_state = hs->told_state;
    if (hs->told_since_ms > 0) { /* kept by this version: an older one kept neither */
        h->told_severity = hs->told_severity;
        h->told_since_ms = hs->told_since_ms;
    }
    h->told_location = hs->told_location;
    h->told_flapping = hs->told_flapping;
    h->told_slow = hs->told_slow;
    h->held_from = hs->held_from;
    if (hs->held_state) {
        enum event_type type = s->flapping                  ? EVT_FLAPPING
                               : s->state == ST_UP          ? EVT_RECOVERED
                               : s->state == ST_REDIRECTING ? EVT_REDIRECT
                                                            : EVT_DOWN;
        h->held[HOLD_STATE] = made_up(s, type, hs->held_from, now);
        h->held_mono[HOLD_STATE] = now.mono_ms;
        h->restored = true;
    }
    if (hs->held_slow) {
        bool slow = s->slow && s->state == ST_UP;
        h->held[HOLD_SLOW] =
            made_up(s, slow ? EVT_SLOW : EVT_RECOVERED, slow ? PREV_UP : PREV_SLOW, now);
        h->held_mono[HOLD_SLOW] = now.mono_ms;
    }
    if (hold_pending(h))
        h->held_by = hs->held_by;
}

void hold_detail(struct hold *h, const struct probe_result *r, const struct verdict *v)
{
    struct alert *a = h->held[HOLD_STATE];

    if (!h->restored || a == NULL || v->state != a->state)
        return;
    h->probed = true;
    a->code = r->code;
    a->cls = v->cls;
    a->error = v->error;
    snprintf(a->message, sizeof(a->message), "%s", r->message);
    snprintf(a->location, sizeof(a->location), "%s", r->location);
    a->latency_us = r->total_us;
    a->cert_not_after = r->cert_not_after;
    memcpy(a->cert_subject, r->cert_subject, sizeof(a->cert_subject));
    memcpy(a->cert_issuer, r->cert_issuer, sizeof(a->cert_issuer));
}
