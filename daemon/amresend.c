/* Alertmanager's re-sends on the loop (see amresend.h). */
#include "amresend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Targets looked at per turn of the loop. */
#define SLICE 512

struct amresend {
    struct webhooks *w;
    struct amresend_ops ops;
    const char *host;
    struct monitor *m;
    const struct config *cfg;
    struct event *timer;
    size_t next; /* the next target of the round under way */
    bool in_round;
    int64_t every_ms; /* between rounds: a quarter of the least resend_every */
};

static void arm(struct amresend *r, int64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000 * 1000)};
    evtimer_add(r->timer, &tv);
}

static void round_cb(evutil_socket_t fd, short what, void *arg)
{
    struct amresend *r = arg;
    struct target_rt **targets;
    size_t n = monitor_targets(r->m, &targets);
    (void)fd;
    (void)what;

    if (!r->in_round) {
        r->in_round = true;
        r->next = 0;
    }
    size_t end = r->next + SLICE < n ? r->next + SLICE : n;
    for (; r->next < end; r->next++) {
        struct am_told told;
        struct alert base;
        r->ops.target(targets[r->next], r->ops.arg, &told, &base);
        for (size_t i = 0; i < r->cfg->nwebhooks; i++) {
            const struct webhook_conf *c = &r->cfg->webhooks[i];
            if (c->format != WEBHOOK_ALERTMANAGER)
                continue;
            /* Rounds come every quarter of the least resend_every: a
             * target is sent again once it has been quiet for all but
             * one round of its webhook's, so never later than that. */
            webhooks_am_resend(r->w, c->name, targets[r->next]->conf, &told, &base, r->host,
                               (int64_t)c->resend_every_ms - r->every_ms);
        }
    }
    webhooks_am_flush(r->w);
    if (r->next < n) {
        arm(r, 0); /* the rest after what else waits on the loop */
        return;
    }
    r->in_round = false;
    arm(r, r->every_ms);
}

struct amresend *amresend_new(struct event_base *base, struct webhooks *w,
                              const struct amresend_ops *ops, const char *host)
{
    struct amresend *r = xcalloc(1, sizeof(*r));

    r->w = w;
    r->ops = *ops;
    r->host = host;
    r->timer = evtimer_new(base, round_cb, r);
    if (r->timer == NULL) {
        free(r);
        return NULL;
    }
    return r;
}

void amresend_free(struct amresend *r)
{
    if (r == NULL)
        return;
    event_free(r->timer);
    free(r);
}

void amresend_configure(struct amresend *r, struct monitor *m, const struct config *cfg)
{
    uint64_t least = 0;

    r->m = m;
    r->cfg = cfg;
    for (size_t i = 0; i < cfg->nwebhooks; i++)
        if (cfg->webhooks[i].format == WEBHOOK_ALERTMANAGER &&
            (least == 0 || cfg->webhooks[i].resend_every_ms < least))
            least = cfg->webhooks[i].resend_every_ms;
    evtimer_del(r->timer);
    r->in_round = false;
    if (least == 0)
        return;
    r->every_ms = (int64_t)least / 4;
    arm(r, 0);
}

void amresend_target(const struct hold *hold, const struct tstate *ts, const struct htarget *h,
                     struct am_told *told, struct alert *base)
{
    struct hold_told ht = hold_told(hold);

    *told = (struct am_told){
        .state = ht.state,
        .severity = ht.severity,
        .since_ms = ht.since_ms,
        .slow = ht.slow,
        .flapping = ht.flapping,
        /* A warning given and not held (a renewal clears the state's). */
        .cert = ts->s.cert_warned != 0 && !ht.cert_held,
    };
    memset(base, 0, sizeof(*base));
    base->state = ht.state;
    base->previous = (enum alert_previous)ht.state;
    base->error = PERR_NONE;
    base->latency_us = -1;
    base->cert_not_after = ts->s.cert_warned;
    if (h == NULL || h->last.wall_ms == 0 || h->last.state != ht.state)
        return; /* nothing seen that agrees with what is told */
    base->code = h->last.code;
    base->cls = h->cls;
    base->error = h->last.error;
    base->latency_us = h->last.total_us;
    if (h->message)
        snprintf(base->message, sizeof(base->message), "%s", h->message);
    if (h->location)
        snprintf(base->location, sizeof(base->location), "%s", h->location);
    if (h->cert_subject)
        snprintf(base->cert_subject, sizeof(base->cert_subject), "%s", h->cert_subject);
    if (h->cert_issuer)
        snprintf(base->cert_issuer, sizeof(base->cert_issuer), "%s", h->cert_issuer);
}
