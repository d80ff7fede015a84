/* The daemon as the HTTP server's pages see it: the view (view.h) filled
 * from the monitor, the webhooks, the history database and the silences,
 * for each request. */
#include <curl/curl.h>

#include "clock.h"
#include "histdb.h"
#include "monitor.h"
#include "service_impl.h"
#include "silencing.h"
#include "util.h"
#include "view.h"
#include "webhook.h"

/* The daemon as the HTTP server's pages see it, for one request. */
void service_fill_view(struct view *v, void *arg)
{
    struct service *svc = arg;
    struct target_rt **targets;
    size_t n = monitor_targets(svc->monitor, &targets);
    const struct monitor_stats *s = monitor_stats(svc->monitor);
    size_t nwebhooks = webhooks_view(svc->webhooks, &svc->vwebhooks, &svc->vwebhooks_cap);

    xgrow((void **)&svc->vtargets, &svc->vtargets_cap, n, sizeof(*svc->vtargets));
    for (size_t i = 0; i < n; i++) {
        struct tracked *tr = service_tracked(svc, targets[i]);
        svc->vtargets[i] = (struct view_target){targets[i]->conf, &tr->ts, &tr->hist};
    }
    *v = (struct view){
        .cfg = svc->cfg,
        .targets = svc->vtargets,
        .ntargets = n,
        .schedule = {s->started, s->completed, s->late, s->skipped, s->dropped, s->cancelled,
                     s->lateness, LATENESS_BUCKETS, LATENESS_BUCKET_US, s->lateness_sum_us,
                     monitor_in_flight(svc->monitor)},
        .webhooks = svc->vwebhooks,
        .nwebhooks = nwebhooks,
        .outbox = webhooks_pending(svc->webhooks),
        .started_ms = svc->started_ms,
        .reload_ms = svc->reload_ms,
        .reload_ok = !svc->reload_failed,
        .reloads = svc->reloads,
        .reloads_failed = svc->reloads_failed,
        .healthy = monitor_progressing(svc->monitor, clock_mono_us()),
        .now_ms = clock_wall_ms(),
        .host = svc->host,
        .libcurl = curl_version_info(CURLVERSION_NOW)->version,
        .histdb = svc->histdb,
        .series = histdb_series,
        .incidents = histdb_incidents,
        .rows_free = histdb_rows_free,
        .generation = svc->generation,
        .silencer = svc->silencing,
        .silence_add = silencing_add,
        .silence_expire = silencing_expire,
    };
    v->silences = silencing_list(svc->silencing, &v->nsilences);
}
