/* Webhook deliveries: the outbox in memory, its timer, and the transfers. */
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
#include "mailer.h"
#include "payload.h"
#include "payload_mail.h"
#include "payload_pd.h"
#include "payload_am.h"
#include "retry.h"
#include "secret.h"
#include "tally.h"
#include "util.h"

/* max_pending is at least one more, so a delivery not in flight is
 * always there to drop. */
#define PER_WEBHOOK_IN_FLIGHT 4
/* Alertmanager's re-sends go in batches of at most this many targets. */
#define AM_BATCH 500
/* Each kind of trouble of a webhook is logged at most once this often,
 * with how many times it happened. */
#define LOG_EVERY_US 60000000

struct delivery {
    struct http_xfer xfer; /* first: the http callback gets this pointer */
    struct webhooks *w;
    char id[40];
    char *webhook, *event, *target, *body;
    int64_t created_ms, next_ms; /* wall clock: what the outbox keeps */
    int64_t created_mono;        /* ms, monotonic: what its age is reckoned from */
    unsigned attempts;
    bool durable; /* its outbox row is committed: it may be attempted */
    bool inflight;
    bool queued; /* due, waiting for a slot of its webhook */
    bool parked; /* its webhook is not in the configuration */
    struct timerq_item timer;
    struct curl_slist *headers; /* of this attempt; for a mail, its recipients */
    struct mail_upload mail;    /* format email: the message as curl reads it */
    char errbuf[CURL_ERROR_SIZE];
    struct chain *chain; /* deliveries of its webhook and target, oldest first */
    /* A batch of Alertmanager's re-sends (in its webhook's chain of
     * batches): the chains of the targets it carries, held until it is
     * done, so that nothing later of theirs overtakes it. */
    struct chain **carries;
    size_t ncarries;
    struct delivery *later;   /* the next in its chain */
    struct hookstate *hs;     /* of its webhook */
    struct backlog_node node; /* in its webhook's pending deliveries */
    TAILQ_ENTRY(delivery) all;
    /* In its hook's ready queue while queued, or in the fresh list until
     * durable (never both: only a durable delivery is attempted). */
    TAILQ_ENTRY(delivery) ready;
};

/* A receiver must see one target's alerts in order (a down before its
 * recovery), so per webhook and target only the oldest delivery is
 * attempted; the next one is planned when it is done. Chains are few (one
 * per webhook and target that ever alerted) and kept until shutdown. */
struct chain {
    char *key; /* "webhook\x1ftarget" */
    struct delivery *first, *last;
    /* format alertmanager: what it has been sent as firing, and when an
     * alert of the target was last queued (monotonic ms). */
    struct am_sent am;
    int64_t am_queued_mono;
    unsigned blocked; /* batches not done that carry its target */
};

TAILQ_HEAD(dlist, delivery);

/* What goes wrong with deliveries, each kind summed up in its own lines. */
enum trouble {
    TROUBLE_FAILED,  /* an attempt failed; another follows */
    TROUBLE_REFUSED, /* the receiver refused: dropped */
    TROUBLE_EXPIRED, /* older than max_age: dropped */
    TROUBLE_DROPPED, /* more than max_pending: the oldest dropped */
    TROUBLE_COUNT
};

/* The log lines of one kind of trouble of one webhook: the first after a
 * quiet spell is said at once (at the end of the loop's pass, so a burst
 * is one line), the rest once a minute with their count (tally.h). A
 * receiver that is down costs a line a minute, not one per attempt. */
struct summary {
    struct tally tally;
    struct timerq_item timer; /* when the held line is due */
    struct hookstate *hs;
    enum trouble kind;
    char one[768];                  /* the line of the first held, said as is if alone */
    char why[CURL_ERROR_SIZE + 64]; /* the reason of the latest */
};

/* What is kept of a webhook by name, across reloads, until shutdown (as
 * chains are): its pending deliveries oldest first, how many were
 * delivered and how many met each kind of trouble since start (/metrics),
 * and its held log lines. */
struct hookstate {
    char *name;
    struct webhooks *w;
    struct backlog pending;
    uint64_t delivered;
    uint64_t troubles[TROUBLE_COUNT];
    struct summary sum[TROUBLE_COUNT];
    /* Alertmanager's re-sends gathered in this pass of the loop: the
     * alerts, and the chains of their targets. */
    struct buf batch;
    struct chain **bchains;
    size_t nbatch, bcap;
    int64_t bwall; /* the wall clock of the batch's alerts */
};

struct hook {
    const struct webhook_conf *conf;
    struct hookstate *state;
    unsigned inflight;
    struct dlist ready; /* due, waiting for a slot, oldest first */
};

struct webhooks {
    struct http *http;
    struct store *store;
    char *user_agent;
    struct webhook_conf defaults; /* for deliveries whose webhook is gone */
    struct hook *hooks;
    size_t nhooks;
    struct dlist all;
    struct dlist fresh; /* not yet committed, oldest first */
    unsigned count;
    struct looptimer *timers;
    struct looptimer *logtimers; /* of the held log lines */
    struct strmap chains;        /* key -> struct chain */
    struct strmap states;        /* webhook name -> struct hookstate */
    char *external_url;          /* http.external_url, or NULL */
    char *location;              /* instance.location, or NULL */
    bool shutting_down;
};

/* Whether d may be attempted now: it is the oldest of its chain, and no
 * batch of re-sends that carries its target waits. */
static bool first_in_chain(const struct delivery *d)
{
    return d->chain->first == d && d->chain->blocked == 0;
}

static double random_unit(void)
{
    uint32_t r = 0;

    if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
        r = (uint32_t)clock_mono_us();
    return (double)r / 4294967296.0;
}

static void new_id(char *out, size_t len)
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

static struct hook *hook_by_name(struct webhooks *w, const char *name)
{
    for (size_t i = 0; i < w->nhooks; i++)
        if (strcmp(w->hooks[i].conf->name, name) == 0)
            return &w->hooks[i];
    return NULL;
}

static void summary_due_cb(struct timerq_item *it, int64_t now);

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
            timerq_item_init(&hs->sum[k].timer, summary_due_cb);
        }
        strmap_put(&w->states, hs->name, hs);
    }
    return hs;
}

/* Whether the next event of s is the first held since its last line:
 * only then is its own line (s->one) worth making. */
static bool first_held(const struct summary *s)
{
    return s->tally.count == 0;
}

/* Counts n events of s, the latest for the reason why; their line is
 * said when due. */
static void tell(struct summary *s, uint64_t n, const char *why)
{
    struct webhooks *w = s->hs->w;
    int64_t due = tally_add(&s->tally, n, clock_mono_us(), LOG_EVERY_US);

    s->hs->troubles[s->kind] += n;

    snprintf(s->why, sizeof(s->why), "%s", why);
    if (!timerq_pending(&s->timer))
        looptimer_add(w->logtimers, &s->timer, due);
}

/* Says the line of what s holds: an event alone by its own line, more by
 * their count. */
static void say(struct summary *s, int64_t now_us)
{
    int64_t since;
    uint64_t n = tally_take(&s->tally, now_us, &since);
    unsigned long long count = n;
    const char *name = s->hs->name;
    char span[64] = "";

    if (n == 0)
        return;
    if (n == 1) {
        log_at(s->kind == TROUBLE_FAILED ? LOG_WARNING : LOG_ERR, "%s", s->one);
        return;
    }
    if (now_us - since >= 1000000)
        snprintf(span, sizeof(span), " in the last %lld s",
                 (long long)((now_us - since + 500000) / 1000000));
    switch (s->kind) {
    case TROUBLE_FAILED:
        log_warn("webhook %s: %llu attempts failed%s (last: %s)", name, count, span, s->why);
        break;
    case TROUBLE_REFUSED:
        log_err("webhook %s: %llu deliveries refused%s, not retried (last: %s)", name, count, span,
                s->why);
        break;
    case TROUBLE_EXPIRED:
        log_err("webhook %s: %llu deliveries dropped%s, older than max_age (last: %s)", name, count,
                span, s->why);
        break;
    case TROUBLE_DROPPED:
        log_err("webhook %s: %llu pending deliveries dropped%s, the oldest first: %s (%llu "
                "dropped since start)",
                name, count, span, s->why, (unsigned long long)s->hs->troubles[TROUBLE_DROPPED]);
        break;
    case TROUBLE_COUNT:
        break;
    }
}

static void summary_due_cb(struct timerq_item *it, int64_t now)
{
    say(TIMERQ_OWNER(it, struct summary, timer), now);
}

static int64_t mono_ms(void)
{
    return clock_mono_us() / 1000;
}

/* How old a delivery is, on the monotonic clock: a step of the wall
 * clock neither ages it past max_age nor keeps it young. */
static int64_t age_ms(const struct delivery *d)
{
    return mono_ms() - d->created_mono;
}

/* Plans the next attempt in delay_ms (the outbox keeps it as a time on
 * the wall clock, for after a restart). */
static void plan(struct webhooks *w, struct delivery *d, int64_t delay_ms)
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
            plan(w, c->first, 0);
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
            plan(w, held->first, 0);
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
        struct hook *h = hook_by_name(w, d->webhook);
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
static void finish(struct webhooks *w, struct delivery *d)
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
static void trim(struct webhooks *w, struct hookstate *hs)
{
    struct hook *h = hook_by_name(w, hs->name);
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
        finish(w, d);
    }
    if (n) {
        char why[64];
        snprintf(why, sizeof(why), "more than max_pending (%u) waiting", cap);
        tell(s, n, why);
    }
}

static void start_ready(struct webhooks *w, struct hook *h);

static void attempt_done(struct http_xfer *x, CURLcode rc)
{
    struct delivery *d = (struct delivery *)x;
    struct webhooks *w = d->w;
    struct hook *h = hook_by_name(w, d->webhook);
    struct hookstate *hs = d->hs;
    long code = 0;
    char why[CURL_ERROR_SIZE + 64];
    int64_t asked_ms = -1; /* the wait a Retry-After asked for */

    d->inflight = false;
    if (h)
        h->inflight--;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
    if (rc == CURLE_OK) {
        struct curl_header *hdr;
        if (curl_easy_header(x->easy, "Retry-After", 0, CURLH_HEADER, -1, &hdr) == CURLHE_OK)
            asked_ms = retry_after_ms(hdr->value, clock_wall_ms());
    }
    curl_easy_cleanup(x->easy);
    x->easy = NULL;
    curl_slist_free_all(d->headers);
    d->headers = NULL;

    /* A mail is sent when curl says so: its code is the last SMTP reply. */
    if (rc == CURLE_OK && (d->mail.data || (code >= 200 && code <= 299))) {
        log_info("webhook %s: delivered %s %s of %s (attempt %u)", d->webhook, d->event, d->id,
                 d->target, d->attempts);
        hs->delivered++;
        finish(w, d);
    } else {
        if (rc != CURLE_OK && d->mail.data && code)
            snprintf(why, sizeof(why), "%s (SMTP reply %ld)",
                     d->errbuf[0] ? d->errbuf : curl_easy_strerror(rc), code);
        else if (rc != CURLE_OK)
            snprintf(why, sizeof(why), "%s", d->errbuf[0] ? d->errbuf : curl_easy_strerror(rc));
        else
            snprintf(why, sizeof(why), "answered %ld", code);
        const struct webhook_conf *c = h ? h->conf : &w->defaults;
        uint64_t max_age = c->max_age_ms;
        if (d->mail.data ? !retry_smtp_transient(code) : !retry_transient(rc == CURLE_OK, code)) {
            struct summary *s = &hs->sum[TROUBLE_REFUSED];
            if (first_held(s))
                snprintf(s->one, sizeof(s->one),
                         "webhook %s: %s %s of %s refused (%s); not retried", d->webhook, d->event,
                         d->id, d->target, why);
            tell(s, 1, why);
            finish(w, d);
        } else {
            uint64_t delay =
                retry_backoff_ms(c->retry_initial_ms, c->retry_max_ms, d->attempts, random_unit());
            /* Not before the receiver asked, nor sooner than the back-off
             * (a Retry-After of 0 must not make a tight loop). */
            if (asked_ms > (int64_t)delay)
                delay = (uint64_t)asked_ms;
            int64_t next = clock_wall_ms() + (int64_t)delay;
            if (age_ms(d) + (int64_t)delay > (int64_t)max_age) {
                struct summary *s = &hs->sum[TROUBLE_EXPIRED];
                if (first_held(s))
                    snprintf(s->one, sizeof(s->one),
                             "webhook %s: %s %s of %s dropped after %u attempts, older than "
                             "max_age (last: %s)",
                             d->webhook, d->event, d->id, d->target, d->attempts, why);
                tell(s, 1, why);
                finish(w, d);
            } else {
                struct summary *s = &hs->sum[TROUBLE_FAILED];
                if (first_held(s))
                    snprintf(s->one, sizeof(s->one),
                             "webhook %s: %s %s of %s failed (%s); attempt %u in %.1f s",
                             d->webhook, d->event, d->id, d->target, why, d->attempts + 1,
                             (double)delay / 1000.0);
                tell(s, 1, why);
                store_outbox_update(w->store, d->id, d->attempts, next, why);
                plan(w, d, (int64_t)delay);
            }
        }
    }
    /* A webhook holds more than max_pending only while every older
     * delivery was in flight; one no longer is. */
    trim(w, hs);
    if (h)
        start_ready(w, h);
}

static size_t discard_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    (void)data;
    (void)arg;
    return size * nmemb;
}

/* An HTTP POST of the delivery's body, with its headers. */
static void post_setup(struct webhooks *w, const struct webhook_conf *c, struct delivery *d,
                       CURL *e)
{
    char line[512];
    int64_t now_s = clock_wall_ms() / 1000;
    const char *body = d->body;
    char *fresh = NULL, *url = NULL;

    /* Alertmanager: its endpoint, and firing alerts that end well after
     * this attempt, however late retries made it. */
    if (c->format == WEBHOOK_ALERTMANAGER) {
        url = am_endpoint(c->url);
        fresh =
            am_refresh(d->body, d->created_ms, clock_wall_ms(), 4 * (int64_t)c->resend_every_ms);
        if (fresh)
            body = fresh;
    }
    d->headers = curl_slist_append(d->headers, "Content-Type: application/json");
    snprintf(line, sizeof(line), "webhook-id: %s", d->id);
    d->headers = curl_slist_append(d->headers, line);
    snprintf(line, sizeof(line), "webhook-timestamp: %lld", (long long)now_s);
    d->headers = curl_slist_append(d->headers, line);
    if (c->secret) {
        char sig[128];
        if (payload_sign(c->secret, d->id, now_s, body, strlen(body), sig, sizeof(sig)) == 0) {
            snprintf(line, sizeof(line), "webhook-signature: %s", sig);
            d->headers = curl_slist_append(d->headers, line);
        }
    }
    for (size_t i = 0; i < c->nheaders; i++) {
        char *hl = xasprintf("%s: %s", c->headers[i].key, c->headers[i].value);
        d->headers = curl_slist_append(d->headers, hl);
        free(hl);
    }
    curl_easy_setopt(e, CURLOPT_URL, url ? url : c->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROXY, ""); /* as probes: no proxy from the environment */
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
    curl_easy_setopt(e, CURLOPT_USERAGENT, w->user_agent);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, d->headers);
    /* PagerDuty's routing key is added at each attempt, never stored. */
    char *keyed = c->format == WEBHOOK_PAGERDUTY && c->routing_key
                      ? pagerduty_keyed(d->body, c->routing_key)
                      : NULL;
    if (keyed) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(keyed));
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, keyed);
        secret_free(keyed);
    } else if (fresh) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(fresh));
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, fresh);
    } else {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, d->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(d->body));
    }
    free(fresh);
    free(url);
}

static void attempt(struct webhooks *w, struct hook *h, struct delivery *d)
{
    const struct webhook_conf *c = h->conf;
    CURL *e = curl_easy_init();

    if (e == NULL) {
        plan(w, d, 1000);
        return;
    }
    d->attempts++;
    d->errbuf[0] = '\0';
    d->mail = (struct mail_upload){0};
    if (c->format == WEBHOOK_EMAIL)
        mailer_setup(e, c, d->body, &d->mail, &d->headers);
    else
        post_setup(w, c, d, e);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard_cb);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, d->errbuf);
    d->xfer.easy = e;
    d->xfer.done = attempt_done;
    if (http_add(w->http, &d->xfer) < 0) {
        curl_easy_cleanup(e);
        curl_slist_free_all(d->headers);
        d->headers = NULL;
        d->xfer.easy = NULL;
        d->attempts--;
        plan(w, d, 1000);
        return;
    }
    d->inflight = true;
    h->inflight++;
    log_debug("webhook %s: attempt %u of %s %s", c->name, d->attempts, d->event, d->id);
}

static void start_ready(struct webhooks *w, struct hook *h)
{
    while (h->inflight < PER_WEBHOOK_IN_FLIGHT && !TAILQ_EMPTY(&h->ready)) {
        struct delivery *d = TAILQ_FIRST(&h->ready);
        TAILQ_REMOVE(&h->ready, d, ready);
        d->queued = false;
        attempt(w, h, d);
    }
}

/* A delivery's time has come. Its plan is on the wall clock, so the
 * queue's now is not needed. */
static void due_cb(struct timerq_item *it, int64_t now)
{
    struct delivery *d = TIMERQ_OWNER(it, struct delivery, timer);
    struct webhooks *w = d->w;
    struct hook *h = hook_by_name(w, d->webhook);
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
        tell(s, 1, why);
        finish(w, d);
        return;
    }
    if (h == NULL) {
        /* Kept in the outbox in case the webhook comes back; dropped when
         * it is older than the default max_age. */
        d->parked = true;
        plan(w, d, (int64_t)w->defaults.max_age_ms + 1 - age_ms(d));
        return;
    }
    d->queued = true;
    TAILQ_INSERT_TAIL(&h->ready, d, ready);
    start_ready(w, h);
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
            plan(w, d, d->next_ms - clock_wall_ms()); /* due now, as a rule */
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
            say(&hs->sum[k], now_us);
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
        struct hook *h = d->inflight ? hook_by_name(w, d->webhook) : NULL;
        if (h)
            h->inflight++;
        if (d->queued || d->parked) {
            d->queued = d->parked = false;
            plan(w, d, 0);
        }
    }
    /* A lowered max_pending holds from now. */
    for (size_t i = 0; i < w->nhooks; i++)
        trim(w, w->hooks[i].state);
}

/* The chain of a webhook and target; NULL when there is none and create
 * is false. */
static struct chain *chain_get(struct webhooks *w, const char *webhook, const char *target,
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
    struct chain *c = chain_get(w, row->webhook, row->target, true);
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
static void name_batch(struct delivery *d)
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
            d->carries[i] = chain_get(w, row->webhook, names[i], true);
            d->carries[i]->blocked++;
            free(names[i]);
        }
        free(names);
        name_batch(d);
    }
    /* After a restart every pending delivery is tried at once, in order. */
    if (first_in_chain(d))
        plan(w, d, 0);
    /* An outbox written before max_pending was lowered, or by a version
     * with no bound, is brought within it as it is read, so reading it
     * takes no more memory than running does (a webhook gone from the
     * configuration has the default). */
    trim(w, d->hs);
}

void webhooks_resume(struct webhooks *w)
{
    store_outbox_load(w->store, resume_row, w);
    if (w->count)
        log_notice("%u webhook deliveries pending from before the restart", w->count);
}

/* Writes a delivery to the outbox; its first attempt is once the write
 * is committed (committed_cb). */
static struct delivery *queue(struct webhooks *w, const char *webhook, const char *event,
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
        new_id(ids[i], sizeof(ids[i]));
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
    struct chain *ch = chain_get(w, c->name, t->name, true);
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
            struct delivery *d =
                queue(w, c->name, eventtype_name(a->type), t->name, bodies[b], a->time_ms, ids[b]);
            free(bodies[b]);
            trim(w, d->hs);
        }
    }
}

/* Queues the re-sends gathered for a webhook as one delivery, in the
 * webhook's chain of batches (the target ""), holding the chains of its
 * targets until it is done. */
static void flush_batch(struct webhooks *w, struct hookstate *hs)
{
    if (hs->nbatch == 0)
        return;
    buf_append(&hs->batch, "]", 1);
    char id[40];
    new_id(id, sizeof(id));
    struct delivery *d = queue(w, hs->name, "resend", "", hs->batch.data, hs->bwall, id);
    d->carries = hs->bchains;
    d->ncarries = hs->nbatch;
    name_batch(d);
    for (size_t i = 0; i < d->ncarries; i++)
        d->carries[i]->blocked++;
    hs->bchains = NULL;
    hs->nbatch = hs->bcap = 0;
    hs->batch.len = 0;
    trim(w, d->hs);
}

void webhooks_am_resend(struct webhooks *w, const char *webhook, const struct target_conf *t,
                        const struct am_told *told, const struct alert *base, const char *host,
                        int64_t quiet_ms)
{
    struct hook *h = hook_by_name(w, webhook);
    const struct webhook_conf *c = h ? h->conf : NULL;
    int64_t now = mono_ms();

    if (c == NULL || c->format != WEBHOOK_ALERTMANAGER || !target_routes_to(t, c->name))
        return;
    struct chain *ch = chain_get(w, webhook, t->name, am_told_firing(told) != 0);
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

unsigned webhooks_pending(const struct webhooks *w)
{
    return w->count;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct view_webhook *)a)->name, ((const struct view_webhook *)b)->name);
}

size_t webhooks_view(const struct webhooks *w, struct view_webhook **buf, size_t *cap)
{
    size_t n = 0;

    for (size_t i = 0; i < w->states.cap; i++) {
        const struct hookstate *hs = w->states.slots[i].value;
        if (w->states.slots[i].key == NULL)
            continue;
        xgrow((void **)buf, cap, n, sizeof(**buf));
        (*buf)[n++] = (struct view_webhook){
            .name = hs->name,
            .pending = (unsigned)hs->pending.n,
            .delivered = hs->delivered,
            .retried = hs->troubles[TROUBLE_FAILED],
            .refused = hs->troubles[TROUBLE_REFUSED],
            .expired = hs->troubles[TROUBLE_EXPIRED],
            .dropped = hs->troubles[TROUBLE_DROPPED],
        };
    }
    /* In a stable order, whatever the hash table's. */
    if (n)
        qsort(*buf, n, sizeof(**buf), by_name);
    return n;
}

json_t *webhooks_stats(const struct webhooks *w)
{
    json_t *o = json_object();

    for (size_t i = 0; i < w->states.cap; i++) {
        const struct hookstate *hs = w->states.slots[i].value;
        if (w->states.slots[i].key)
            json_object_set_new(o, hs->name,
                                json_pack("{s:I, s:I}", "pending", (json_int_t)hs->pending.n,
                                          "dropped", (json_int_t)hs->troubles[TROUBLE_DROPPED]));
    }
    return o;
}
