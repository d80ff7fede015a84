/* The daemon's own statistics as JSON (stats.h). */
#include "stats.h"

#include <jansson.h>

#include "report.h"

static json_t *stats_json(const struct monitor *m, const struct webhooks *w)
{
    const struct monitor_stats *s = monitor_stats(m);
    json_t *o = json_object();

    json_object_set_new(o, "started", json_integer((json_int_t)s->started));
    json_object_set_new(o, "completed", json_integer((json_int_t)s->completed));
    json_object_set_new(o, "late", json_integer((json_int_t)s->late));
    json_object_set_new(o, "skipped", json_integer((json_int_t)s->skipped));
    json_object_set_new(o, "dropped", json_integer((json_int_t)s->dropped));
    json_object_set_new(o, "cancelled", json_integer((json_int_t)s->cancelled));
    json_object_set_new(o, "in_flight", json_integer(monitor_in_flight(m)));
    json_object_set_new(o, "resolving", json_integer(monitor_resolving(m)));
    const struct dnscache_stats *d = monitor_dns_stats(m);
    json_object_set_new(o, "dns_lookups", json_integer((json_int_t)d->lookups));
    json_object_set_new(o, "dns_failed", json_integer((json_int_t)d->failed));
    json_object_set_new(o, "dns_abandoned", json_integer((json_int_t)d->abandoned));
    json_object_set_new(o, "dns_cache_hits", json_integer((json_int_t)d->hits));
    json_object_set_new(o, "dns_hosts_hits", json_integer((json_int_t)d->hosts));
    json_object_set_new(o, "dns_in_flight", json_integer(d->running));
    json_object_set_new(o, "dns_queued", json_integer(d->queued));
    json_object_set_new(o, "lateness_p50_ms",
                        json_real(report_ms(monitor_lateness_percentile(s, 0.50))));
    json_object_set_new(o, "lateness_p99_ms",
                        json_real(report_ms(monitor_lateness_percentile(s, 0.99))));
    json_object_set_new(o, "lateness_max_ms", json_real(report_ms(s->lateness_max_us)));
    json_object_set_new(o, "webhook_pending", json_integer(webhooks_pending(w)));
    json_object_set_new(o, "webhooks", webhooks_stats(w));
    return o;
}

char *stats_text(const struct monitor *m, const struct webhooks *w)
{
    json_t *o = stats_json(m, w);
    char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(12));
    json_decref(o);
    return s;
}
