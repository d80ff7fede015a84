/* The daemon's own statistics, one line of JSON: what --stats prints at
 * exit and SIGUSR1 logs. Probes started, completed, late, skipped,
 * dropped, cancelled and in flight, the name lookups, the lateness
 * percentiles, and the webhooks' deliveries. */
#ifndef UPMON_STATS_H
#define UPMON_STATS_H

#include "monitor.h"
#include "webhook.h"

/* NULL when out of memory; the caller frees it. */
char *stats_text(const struct monitor *m, const struct webhooks *w);

#endif
