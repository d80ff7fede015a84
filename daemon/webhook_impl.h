/* What the webhook deliveries (webhook.c), their transfers
 * (webhook_send.c), their held log lines and counts (webhook_trouble.c)
 * and Alertmanager's re-sends (webhook_am.c) share: the deliveries, their
 * chains, what is kept of each webhook. Not for other modules. */
#ifndef UPMON_WEBHOOK_IMPL_H
#define UPMON_WEBHOOK_IMPL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "backlog.h"
#include "clock.h"
#include "mailer.h"
#include "payload_am.h"
#include "tally.h"
#include "timerq.h"
#include "util.h"
#include "webhook.h"

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

static inline int64_t mono_ms(void)
{
    return clock_mono_us() / 1000;
}

/* How old a delivery is, on the monotonic clock: a step of the wall
 * clock neither ages it past max_age nor keeps it young. */
static inline int64_t age_ms(const struct delivery *d)
{
    return mono_ms() - d->created_mono;
}

/* Whether the next event of s is the first held since its last line:
 * only then is its own line (s->one) worth making. */
static inline bool first_held(const struct summary *s)
{
    return s->tally.count == 0;
}

/* webhook.c: the deliveries in memory. */
struct hook *webhook_hook(struct webhooks *w, const char *name);
void webhook_new_id(char *out, size_t len);
/* Plans the next attempt in delay_ms (the outbox keeps it as a time on
 * the wall clock, for after a restart). */
void webhook_plan(struct webhooks *w, struct delivery *d, int64_t delay_ms);
/* Done with a delivery for good: delivered, refused or given up. */
void webhook_finish(struct webhooks *w, struct delivery *d);
/* Drops what is over max_pending of a webhook (backlog.h). */
void webhook_trim(struct webhooks *w, struct hookstate *hs);
/* The chain of a webhook and target; NULL when there is none and create
 * is false. */
struct chain *webhook_chain(struct webhooks *w, const char *webhook, const char *target,
                            bool create);
/* Writes a delivery to the outbox; its first attempt is once the write
 * is committed (committed_cb). */
struct delivery *webhook_queue(struct webhooks *w, const char *webhook, const char *event,
                               const char *target, const char *body, int64_t now_ms,
                               const char *id);
/* A batch is logged by how many targets it carries (its outbox row has
 * none: it is in its webhook's chain of batches). */
void webhook_name_batch(struct delivery *d);

/* webhook_send.c: the transfers. */
/* Starts what waits in the ready queue of h, as its slots allow. */
void webhook_start_ready(struct webhooks *w, struct hook *h);

/* webhook_trouble.c: the held log lines. */
/* Counts n events of s, the latest for the reason why; their line is
 * said when due. */
void webhook_tell(struct summary *s, uint64_t n, const char *why);
/* Says the line of what s holds: an event alone by its own line, more by
 * their count. */
void webhook_say(struct summary *s, int64_t now_us);
void webhook_summary_due_cb(struct timerq_item *it, int64_t now);

#endif
