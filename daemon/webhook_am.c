/* Alertmanager's re-sends of webhook deliveries: what fires is sent
 * again while it fires, the targets of a pass of the loop gathered into
 * batches, each one delivery that holds back its targets until done. */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "payload_am.h"
#include "util.h"
#include "webhook_impl.h"

/* Alertmanager's re-sends go in batches of at most this many targets. */
#define AM_BATCH 500

/* Queues the re-sends gathered for a webhook as one delivery, in the
 * webhook's chain of batches (the target ""), holding the chains of its
 * targets until it is done. */
static void flush_batch(struct webhooks *w, struct hookstate *hs)
{
    if (hs->nbatch == 0)
        return;
    buf_append(&hs->batch, "]", 1);
    char id[40];
    webhook_new_id(id, sizeof(id));
    struct delivery *d = webhook_queue(w, hs->name, "resend", "", hs->batch.data, hs->bwall, id);
    d->carries = hs->bchains;
    d->ncarries = hs->nbatch;
    webhook_name_batch(d);
    for (size_t i = 0; i < d->ncarries; i++)
        d->carries[i]->blocked++;
    hs->bchains = NULL;
    hs->nbatch = hs->bcap = 0;
    hs->batch.len = 0;
    webhook_trim(w, d->hs);
}

void webhooks_am_resend(struct webhooks *w, const char *webhook, const struct target_conf *t,
                        const struct am_told *told, const struct alert *base, const char *host,
                        int64_t quiet_ms)
{
    struct hook *h = webhook_hook(w, webhook);
    const struct webhook_conf *c = h ? h->conf : NULL;
    int64_t now = mono_ms();

    if (c == NULL || c->format != WEBHOOK_ALERTMANAGER || !target_routes_to(t, c->name))
        return;
    struct chain *ch = webhook_chain(w, webhook, t->name, am_told_firing(told) != 0);
    /* Nothing to say, or said lately, or still to be said: a delivery
     * waiting says it (re-sends do not pile up while Alertmanager is
     * away, and none overtakes an older alert). */
    if (ch == NULL || ch->first || ch->blocked ||
        (ch->am.known && now - ch->am_queued_mono < quiet_ms))
        return;
    struct hookstate *hs = h->state;
    /* One time for the whole batch: its firing alerts are told from its
     * resolved ones by their endsAt, against it (am_refresh). */
    if (hs->nbatch == 0)
        hs->bwall = clock_wall_ms();
    if (!ch->am.known) {
        am_seed(&ch->am, told, hs->bwall);
        am_filter(&ch->am, c->events, c->min_severity);
    }
    struct am_site site = {host, w->external_url, w->location};
    char *body =
        am_resend_body(&ch->am, told, base, t, &site, hs->bwall, 4 * (int64_t)c->resend_every_ms);
    if (body == NULL)
        return;
    /* Its alerts join the batch's array. */
    buf_append(&hs->batch, hs->nbatch ? "," : "[", 1);
    buf_append(&hs->batch, body + 1, strlen(body) - 2);
    free(body);
    xgrow((void **)&hs->bchains, &hs->bcap, hs->nbatch, sizeof(*hs->bchains));
    hs->bchains[hs->nbatch++] = ch;
    ch->am_queued_mono = now;
    if (hs->nbatch >= AM_BATCH)
        flush_batch(w, hs);
}

void webhooks_am_flush(struct webhooks *w)
{
    for (size_t i = 0; i < w->nhooks; i++)
        flush_batch(w, w->hooks[i].state);
}
