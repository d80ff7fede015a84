/* Webhook deliveries: the outbox in memory, the chains that keep each
 * target's deliveries in order, and their timers. The transfers are
 * webhook_send.c, the held log lines webhook_trouble.c, Alertmanager's
 * re-sends webhook_am.c. */
#include "webhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>

#include "backlog.h"
#include "clock.h"
#include "log.h"
#include "looptimer.h"
#include "payload.h"
#include "payload_mail.h"
#include "payload_pd.h"
#include "payload_am.h"
#include "util.h"
#include "webhook_impl.h"

/* Whether d may be attempted now: it is the oldest of its chain, and no
 * batch of re-sends that carries its target waits. */
static bool first_in_chain(const struct delivery *d)
{
    return d->chain->first == d && d->chain->blocked == 0;
}

void webhook_new_id(char *out, size_t len)
{
    unsigned char b[16];

    if (getrandom(b, sizeof(b), 0) != sizeof(b)) {
        uint64_t t = (uint64_t)clock_wall_ms() ^ ((uint64_t)clock_mono_us() << 20);
        memcpy(b, &t, sizeof(t));
        memcpy(b + 8, &t, sizeof(t));
    }
    int off = snprintf(out, len, "msg_");
    for (size_t i = 0; i < sizeof(b) && (size_t)off + 2 < len; i++)
        off += snprintf(out + off, len - (size_t)off, "%02x", b[i]);
}

struct hook *webhook_hook(struct webhooks *w, const char *name)
{
    for (size_t i = 0; i < w->nhooks; i++)
        if (strcmp(w->hooks[i].conf->name, name) == 0)
            return &w->hooks[i];
    return NULL;
}

static struct hookstate *hookstate_get(struct webhooks *w, const char *name)
{
    struct hookstate *hs = strmap_get(&w->states, name);

    if (hs == NULL) {
        hs = xcalloc(1, sizeof(*hs));
        hs->name = xstrdup(name);
        hs->w = w;
        backlog_init(&hs->pending);
        for (int k = 0; k < TROUBLE_COUNT; k++) {
            hs->sum[k].hs = hs;
            hs->sum[k].kind = (enum trouble)k;
            tally_init(&hs->sum[k].tally);
            timerq_item_init(&hs->sum[k].timer, webhook_summary_due_cb);
        }
        strmap_put(&w->states, hs->name, hs);
    }
    return hs;
}

/* Plans the next attempt in delay_ms (the outbox keeps it as a time on
 * the wall clock, for after a restart). */
void webhook_plan(struct webhooks *w, struct delivery *d, int64_t delay_ms)
{
    if (delay_ms < 0)
        delay_ms = 0;
    d->next_ms = clock_wall_ms() + delay_ms;
    looptimer_add(w->timers, &d->timer, clock_mono_us() + delay_ms * 1000);
}

static void delivery_free(struct webhooks *w, struct delivery *d)
{
    struct chain *c = d->chain;

    /* Only the first of a chain is ever attempted, so it is the one that
     * ends here as a rule; another is dropped for max_pending (one of the
     * oldest of its webhook, so near the head of its chain) or freed at
     * shutdown. */
    if (c->first == d) {
        c->first = d->later;
        if (c->first == NULL)
            c->last = NULL;
        else if (c->first->durable && c->blocked == 0 && !w->shutting_down)
            webhook_plan(w, c->first, 0);
    } else {
        struct delivery *p = c->first;
        while (p && p->later != d)
            p = p->later;
        if (p)
            p->later = d->later;
        if (c->last == d)
            c->last = p;
    }
    /* The targets a batch carried may go on. */
    for (size_t i = 0; i < d->ncarries; i++) {
        struct chain *held = d->carries[i];
        if (--held->blocked == 0 && held->first && held->first->durable && !w->shutting_down)
            webhook_plan(w, held->first, 0);
    }
    free(d->carries);
    if (d->inflight) {
        http_remove(w->http, &d->xfer);
        curl_easy_cleanup(d->xfer.easy);
    }
    looptimer_remove(w->timers, &d->timer);
    if (!d->durable) {
        TAILQ_REMOVE(&w->fresh, d, ready);
    } else if (d->queued) {
        /* Dropped while it waited for a slot (only a queued one is in the
         * ready queue of a configured webhook). */
        struct hook *h = webhook_hook(w, d->webhook);
        if (h)
            TAILQ_REMOVE(&h->ready, d, ready);
    }
    backlog_remove(&d->hs->pending, &d->node);
    TAILQ_REMOVE(&w->all, d, all);
    w->count--;
    curl_slist_free_all(d->headers);
    free(d->webhook);
    free(d->event);
    free(d->target);
    free(d->body);
    free(d);
}

/* Done with a delivery for good: delivered, refused or given up. */
void webhook_finish(struct webhooks *w, struct delivery *d)
{
    store_outbox_delete(w->store, d->id);
    delivery_free(w, d);
}

static struct delivery *delivery_of(const struct backlog_node *nd)
{
    return (struct delivery *)(void *)((char *)(uintptr_t)nd - offsetof(struct delivery, node));
}

static bool in_flight(const struct backlog_node *nd)
{
    return delivery_of(nd)->inflight;
}

/* At most max_pending deliveries wait for a webhook: beyond that the
 * oldest not in flight are dropped, from memory and from the outbox
 * (backlog.h), counted and logged. */
void webhook_trim(struct webhooks *w, struct hookstate *hs)
{
    struct hook *h = webhook_hook(w, hs->name);
    unsigned cap = (h ? h->conf : &w->defaults)->max_pending;
    struct summary *s = &hs->sum[TROUBLE_DROPPED];
    struct backlog_node *nd;
    uint64_t n = 0;

    while ((nd = backlog_victim(&hs->pending, cap, in_flight)) != NULL) {
        struct delivery *d = delivery_of(nd);
        if (n == 0 && first_held(s))
            snprintf(s->one, sizeof(s->one),
                     "webhook %s: %s %s of %s dropped unsent: more than max_pending (%u) waiting "
                     "(%llu dropped since start)",
                     hs->name, d->event, d->id, d->target, cap,
                     (unsigned long long)hs->troubles[TROUBLE_DROPPED] + 1);
        n++;
        webhook_finish(w, d);
    }
    if (n) {
        char why[64];
        snprintf(why, sizeof(why), "more than max_pending (%u) waiting", cap);
        webhook_tell(s, n, why);
    }
}

/* A delivery's time has come. Its plan is on the wall clock, so the
 * queue's now is not needed. */
static void due_cb(struct timerq_item *it, int64_t now)
{
    struct delivery *d = TIMERQ_OWNER(it, struct delivery, timer);
    struct webhooks *w = d->w;
    struct hook *h = webhook_hook(w, d->webhook);
    uint64_t max_age = (h ? h->conf : &w->defaults)->max_age_ms;
    (void)now;

    if (age_ms(d) > (int64_t)max_age) {
        struct summary *s = &d->hs->sum[TROUBLE_EXPIRED];
        char why[64];
        snprintf(why, sizeof(why), "not delivered after %u attempts", d->attempts);
        if (first_held(s))
            snprintf(s->one, sizeof(s->one),
                     "webhook %s: %s %s of %s dropped: older than max_age after %u attempts",
                     d->webhook, d->event, d->id, d->target, d->attempts);
        webhook_tell(s, 1, why);
        webhook_finish(w, d);
        return;
    }
    if (h == NULL) {
        /* Kept in the outbox in case the webhook comes back; dropped when
         * it is older than the default max_age. */
        d->parked = true;
        webhook_plan(w, d, (int64_t)w->defaults.max_age_ms + 1 - age_ms(d));
        return;
    }
    d->queued = true;
    TAILQ_INSERT_TAIL(&h->ready, d, ready);
    webhook_start_ready(w, h);
}

/* The outbox rows written in this pass of the loop are committed: their
 * first attempts may start. */
static void committed_cb(void *arg)
{
    struct webhooks *w = arg;
    struct delivery *d;

    while ((d = TAILQ_FIRST(&w->fresh)) != NULL) {
        TAILQ_REMOVE(&w->fresh, d, ready);
        d->durable = true;
        if (first_in_chain(d))
            webhook_plan(w, d, d->next_ms - clock_wall_ms()); /* due now, as a rule */
    }
}

/* The database was started anew: every delivery still pending is
 * written again, oldest first. */
static void store_reset_cb(void *arg)
{
    struct webhooks *w = arg;
    struct delivery *d;

    TAILQ_FOREACH(d, &w->all, all)
    {
        struct delivery_row row = {
            .id = d->id,
            .webhook = d->webhook,
            .event = d->event,
            .target = d->carries ? "" : d->target, /* a batch: its chain */
            .body = d->body,
            .created_ms = d->created_ms,
            .next_ms = d->next_ms,
            .attempts = d->attempts,
        };
        store_outbox_add(w->store, &row);
    }
}

struct webhooks *webhooks_new(struct event_base *base, struct http *http, struct store *store)
{
    struct webhooks *w = xcalloc(1, sizeof(*w));

    w->http = http;
    w->store = store;
    webhook_conf_defaults(&w->defaults);
    TAILQ_INIT(&w->all);
    TAILQ_INIT(&w->fresh);
    w->timers = looptimer_new(base, 0);
    w->logtimers = looptimer_new(base, 0);
    if (w->timers == NULL || w->logtimers == NULL) {
        looptimer_free(w->timers);
        looptimer_free(w->logtimers);
        free(w);
        return NULL;
    }
    store_on_commit(store, committed_cb, w);
    store_on_reset(store, store_reset_cb, w);
    return w;
}

void webhooks_free(struct webhooks *w)
{
    if (w == NULL)
        return;
    store_on_commit(w->store, NULL, NULL);
    store_on_reset(w->store, NULL, w);
    /* What the held lines count is said now, or never. */
    int64_t now_us = clock_mono_us();
    for (size_t i = 0; i < w->states.cap; i++) {
        struct hookstate *hs = w->states.slots[i].value;
        for (int k = 0; w->states.slots[i].key && k < TROUBLE_COUNT; k++)
            webhook_say(&hs->sum[k], now_us);
    }
    w->shutting_down = true;
    while (!TAILQ_EMPTY(&w->all))
        delivery_free(w, TAILQ_FIRST(&w->all));
    for (size_t i = 0; i < w->chains.cap; i++) {
        struct chain *c = w->chains.slots[i].value;
        if (w->chains.slots[i].key) {
            free(c->key);
            free(c);
        }
    }
    strmap_free(&w->chains);
    looptimer_free(w->logtimers); /* before the summaries its queue points to */
    for (size_t i = 0; i < w->states.cap; i++) {
        struct hookstate *hs = w->states.slots[i].value;
        if (w->states.slots[i].key) {
            free(hs->name);
            buf_free(&hs->batch);
            free(hs->bchains);
            free(hs);
        }
    }
    strmap_free(&w->states);
    looptimer_free(w->timers);
    free(w->hooks);
    free(w->user_agent);
    free(w->location);
    free(w->external_url);
    free(w);
}

void webhooks_configure(struct webhooks *w, const struct config *cfg)
{
    struct hook *hooks = xcalloc(cfg->nwebhooks, sizeof(*hooks));
    struct delivery *d;

    free(w->user_agent);
    w->user_agent = xstrdup(cfg->user_agent);
    free(w->external_url);
    w->external_url = cfg->http_external_url ? xstrdup(cfg->http_external_url) : NULL;
    free(w->location);
    w->location = cfg->location ? xstrdup(cfg->location) : NULL;
    for (size_t i = 0; i < cfg->nwebhooks; i++) {
        hooks[i].conf = &cfg->webhooks[i];
        hooks[i].state = hookstate_get(w, cfg->webhooks[i].name);
        TAILQ_INIT(&hooks[i].ready);
    }
    free(w->hooks);
    w->hooks = hooks;
    w->nhooks = cfg->nwebhooks;
    /* Attempts in flight are counted afresh (a webhook removed and added
     * back by two reloads still has its attempts of before under way).
     * The old ready queues are gone: whatever waited in them, or was
     * parked for want of its webhook, is due again. */
    TAILQ_FOREACH(d, &w->all, all)
    {
        struct hook *h = d->inflight ? webhook_hook(w, d->webhook) : NULL;
        if (h)
            h->inflight++;
        if (d->queued || d->parked) {
            d->queued = d->parked = false;
            webhook_plan(w, d, 0);
        }
    }
    /* A lowered max_pending holds from now. */
    for (size_t i = 0; i < w->nhooks; i++)
        webhook_trim(w, w->hooks[i].state);
}

/* The chain of a webhook and target; NULL when there is none and create
 * is false. */
struct chain *webhook_chain(struct webhooks *w, const char *webhook, const char *target,
                            bool create)
{
    char *key = xasprintf("%s\x1f%s", webhook, target);
    struct chain *c = strmap_get(&w->chains, key);

    if (c == NULL && create) {
        c = xcalloc(1, sizeof(*c));
        c->key = key;
        strmap_put(&w->chains, c->key, c);
    } else {
        free(key);
    }
    return c;
}

static struct delivery *delivery_new(struct webhooks *w, const struct delivery_row *row)
{
    struct delivery *d = xcalloc(1, sizeof(*d));

    d->w = w;
    snprintf(d->id, sizeof(d->id), "%s", row->id);
    d->webhook = xstrdup(row->webhook);
    d->event = xstrdup(row->event);
    d->target = xstrdup(row->target);
    d->body = xstrdup(row->body);
    d->created_ms = row->created_ms;
    d->next_ms = row->next_ms;
    /* Its age so far: from the wall clock, once (after a restart there is
     * no other clock to ask; a time in the future counts as now). */
    d->created_mono =
        instant_mono_of(row->created_ms, (struct instant){mono_ms(), clock_wall_ms()});
    d->attempts = row->attempts;
    timerq_item_init(&d->timer, due_cb);
    struct chain *c = webhook_chain(w, row->webhook, row->target, true);
    d->chain = c;
    if (c->last)
        c->last->later = d;
    else
        c->first = d;
    c->last = d;
    d->hs = hookstate_get(w, row->webhook);
    backlog_push(&d->hs->pending, &d->node);
    TAILQ_INSERT_TAIL(&w->all, d, all);
    w->count++;
    return d;
}

/* A batch is logged by how many targets it carries (its outbox row has
 * none: it is in its webhook's chain of batches). */
void webhook_name_batch(struct delivery *d)
{
    free(d->target);
    d->target = xasprintf("%zu target%s", d->ncarries, d->ncarries == 1 ? "" : "s");
}

static void resume_row(const struct delivery_row *row, void *arg)
{
    struct webhooks *w = arg;
    struct delivery *d = delivery_new(w, row);

    d->durable = true;
    /* A batch of re-sends holds its targets again. */
    if (row->target[0] == '\0') {
        char **names;
        d->ncarries = am_body_targets(row->body, &names);
        d->carries = xcalloc(d->ncarries + 1, sizeof(*d->carries));
        for (size_t i = 0; i < d->ncarries; i++) {
            d->carries[i] = webhook_chain(w, row->webhook, names[i], true);
            d->carries[i]->blocked++;
            free(names[i]);
        }
        free(names);
        webhook_name_batch(d);
    }
    /* After a restart every pending delivery is tried at once, in order. */
    if (first_in_chain(d))
        webhook_plan(w, d, 0);
    /* An outbox written before max_pending was lowered, or by a version
     * with no bound, is brought within it as it is read, so reading it
     * takes no more memory than running does (a webhook gone from the
     * configuration has the default). */
    webhook_trim(w, d->hs);
}

void webhooks_resume(struct webhooks *w)
{
    store_outbox_load(w->store, resume_row, w);
    if (w->count)
        log_notice("%u webhook deliveries pending from before the restart", w->count);
}

/* Writes a delivery to the outbox; its first attempt is once the write
 * is committed (committed_cb). */
struct delivery *webhook_queue(struct webhooks *w, const char *webhook, const char *event,
                               const char *target, const char *body, int64_t now_ms, const char *id)
{
    struct delivery_row row = {
        .id = id,
        .webhook = webhook,
        .event = event,
        .target = target,
        .body = body,
        .created_ms = now_ms,
        .next_ms = now_ms,
        .attempts = 0,
        .last_error = NULL,
    };
    store_outbox_add(w->store, &row);
    struct delivery *d = delivery_new(w, &row);
    TAILQ_INSERT_TAIL(&w->fresh, d, ready);
    return d;
}

/* The bodies an alert makes for webhook c, in order, each with the id of
 * its delivery: one, but for the alertmanager formats (payload_am.h),
 * whose push tells what changed from what was sent, and pagerduty, which
 * resolves first the incident an alert ends by starting another (one
 * event a request). */
#define BODIES_MAX 2
static size_t bodies_of(struct webhooks *w, const struct webhook_conf *c, const struct alert *a,
                        const struct target_conf *t, const char *host, char **out, char ids[][40])
{
    for (size_t i = 0; i < BODIES_MAX; i++)
        webhook_new_id(ids[i], sizeof(ids[i]));
    switch (c->format) {
    case WEBHOOK_ALERTMANAGER_WEBHOOK:
        return am_notifications(a, t, host, w->location, c->name, out);
    case WEBHOOK_PAGERDUTY: {
        size_t n = 0;
        char *before = pagerduty_superseded(a, t, host);
        if (before)
            out[n++] = before;
        out[n++] = payload_body(c, a, t, host, w->location);
        return n;
    }
    case WEBHOOK_EMAIL: /* its Message-ID is its delivery's id: the same on every attempt */
        out[0] = payload_mail(c, a, t, host, w->location, ids[0]);
        return 1;
    case WEBHOOK_STANDARD:
    case WEBHOOK_SLACK:
        out[0] = payload_body(c, a, t, host, w->location);
        return 1;
    case WEBHOOK_ALERTMANAGER:
        break;
    }
    struct chain *ch = webhook_chain(w, c->name, t->name, true);
    struct am_site site = {host, w->external_url, w->location};
    if (!ch->am.known)
        am_assume_previous(&ch->am, a);
    out[0] = am_event_body(&ch->am, a, t, &site, 4 * (int64_t)c->resend_every_ms);
    if (out[0] == NULL)
        return 0;
    ch->am_queued_mono = mono_ms();
    return 1;
}

void webhooks_enqueue(struct webhooks *w, const struct alert *a, const struct target_conf *t,
                      const char *host)
{
    for (size_t i = 0; i < w->nhooks; i++) {
        const struct webhook_conf *c = w->hooks[i].conf;
        if (!target_routes_to(t, c->name) || !(c->events & (1u << a->type)) ||
            a->filter_severity < c->min_severity)
            continue;
        char *bodies[BODIES_MAX], ids[BODIES_MAX][40];
        size_t n = bodies_of(w, c, a, t, host, bodies, ids);
        for (size_t b = 0; b < n; b++) {
            struct delivery *d = webhook_queue(w, c->name, eventtype_name(a->type), t->name,
                                               bodies[b], a->time_ms, ids[b]);
            free(bodies[b]);
            webhook_trim(w, d->hs);
        }
    }
}

unsigned webhooks_pending(const struct webhooks *w)
{
    return w->count;
}
