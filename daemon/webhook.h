/* Webhook deliveries. Each alert that passes a webhook's filters (route,
 * events, min_severity) becomes one delivery: its body is built once and
 * written to the outbox before the first attempt; it is removed when a 2xx
 * answer comes. Network errors, 5xx, 408 and 429 are retried with
 * exponential back-off and jitter (Retry-After is honoured); any other
 * answer fails at once (that policy is retry.h); a delivery older than the
 * webhook's max_age is dropped. At most max_pending deliveries wait per
 * webhook: beyond that the oldest not in flight is dropped (backlog.h).
 * Attempts are transfers on the shared loop, at most a few per webhook at
 * once, so a receiver that hangs delays nothing else. The webhook-id stays
 * the same on every attempt; the timestamp and signature are made anew for
 * each. Failures and drops are logged summed up: at most one line a
 * minute per webhook and kind, with how many (tally.h). */
#ifndef UPMON_WEBHOOK_H
#define UPMON_WEBHOOK_H

#include <event2/event.h>
#include <jansson.h>

#include "config.h"
#include "http.h"
#include "payload_am.h"
#include "state.h"
#include "store.h"
#include "view.h"

struct webhooks;

/* NULL when its timer cannot be had (out of memory). */
struct webhooks *webhooks_new(struct event_base *base, struct http *http, struct store *store);
/* Stops attempts in flight; what is pending stays in the outbox. */
void webhooks_free(struct webhooks *w);

/* The webhooks of the live configuration (again on every reload), and its
 * user agent; a changed webhook takes effect from the next attempt. */
void webhooks_configure(struct webhooks *w, const struct config *cfg);
/* Picks up what the outbox holds from before a restart. */
void webhooks_resume(struct webhooks *w);

/* Queues the deliveries one alert makes (with the location of the
 * configuration last given to webhooks_configure). */
void webhooks_enqueue(struct webhooks *w, const struct alert *a, const struct target_conf *t,
                      const char *host);

/* format alertmanager: sends again what webhook has firing of target t,
 * unless something was queued for t within the last quiet_ms or still
 * waits to go (so re-sends neither pile up while Alertmanager is away nor
 * overtake an older alert). The re-sends of many targets go in one
 * delivery, which holds back anything later of its targets until it is
 * done; they are queued by webhooks_am_flush. told is what receivers were last told (a
 * webhook that knows nothing of t yet takes it from there, through its
 * filters); base the target as it is now (am_resend_body). */
void webhooks_am_resend(struct webhooks *w, const char *webhook, const struct target_conf *t,
                        const struct am_told *told, const struct alert *base, const char *host,
                        int64_t quiet_ms);

/* Queues the re-sends gathered in this pass of the loop (in batches of
 * many targets; those of one target are never split). */
void webhooks_am_flush(struct webhooks *w);

/* Deliveries not yet done (waiting, in flight or parked). */
unsigned webhooks_pending(const struct webhooks *w);

/* By webhook name (every one configured since start, and any other the
 * outbox held): {"pending": deliveries not yet done, "dropped": deliveries
 * dropped unsent since start to keep max_pending}. */
json_t *webhooks_stats(const struct webhooks *w);

/* The same webhooks as the HTTP server's view shows them (view.h), by
 * name, into *buf (grown as needed, *cap its size, the caller's to
 * free); returns how many. The names belong to w. */
size_t webhooks_view(const struct webhooks *w, struct view_webhook **buf, size_t *cap);

#endif
