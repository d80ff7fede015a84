/* What goes wrong with webhook deliveries, told: each kind of trouble of
 * a webhook summed up in its held log lines, and counted for the status
 * page and /metrics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "looptimer.h"
#include "tally.h"
#include "util.h"
#include "webhook_impl.h"

/* Each kind of trouble of a webhook is logged at most once this often,
 * with how many times it happened. */
#define LOG_EVERY_US 60000000

/* Counts n events of s, the latest for the reason why; their line is
 * said when due. */
void webhook_tell(struct summary *s, uint64_t n, const char *why)
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
void webhook_say(struct summary *s, int64_t now_us)
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

void webhook_summary_due_cb(struct timerq_item *it, int64_t now)
{
    webhook_say(TIMERQ_OWNER(it, struct summary, timer), now);
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
