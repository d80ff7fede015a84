/* Alertmanager's re-sends on the loop: while a target's alert fires,
 * every webhook of format alertmanager gets it again every resend_every,
 * so that Alertmanager keeps it firing (payload_am.h). A round looks at
 * every target, a slice of them per turn of the loop, so ten thousand
 * targets do not hold it, and each slice's re-sends go to a webhook in
 * one request; a webhook takes a target only when nothing was queued for
 * it lately nor waits to go (webhooks_am_resend). The first
 * round is at once: after a restart, what fires is sent again from the
 * stored state. */
#ifndef UPMON_AMRESEND_H
#define UPMON_AMRESEND_H

#include <event2/event.h>

#include "config.h"
#include "history.h"
#include "hold.h"
#include "monitor.h"
#include "payload_am.h"
#include "webhook.h"

struct amresend_ops {
    /* What receivers were last told of a target, and the target as it is
     * (amresend_target makes both from the caller's state). */
    void (*target)(struct target_rt *rt, void *arg, struct am_told *told, struct alert *base);
    void *arg;
};

struct amresend;

/* NULL when its timer cannot be had. host outlives it. */
struct amresend *amresend_new(struct event_base *base, struct webhooks *w,
                              const struct amresend_ops *ops, const char *host);
void amresend_free(struct amresend *r);

/* The monitor runs cfg (at start, and after each reload): its webhooks of
 * format alertmanager are looked at from now, a round at once. */
void amresend_configure(struct amresend *r, struct monitor *m, const struct config *cfg);

/* What receivers were last told (hold) and the stored state (ts) say is
 * firing, and the target as its last probe saw it, when that probe agrees
 * with the state told (h: the history, NULL when none). */
void amresend_target(const struct hold *hold, const struct tstate *ts, const struct htarget *h,
                     struct am_told *told, struct alert *base);

#endif
