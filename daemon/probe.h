/* Probing one target: sets up a curl easy handle from the target's
 * configuration, runs it on the shared http loop, reads the answer (to its
 * end, or only as far as a check needs), and reports a struct
 * probe_result. A network failure is a result, never an error of this
 * module. */
#ifndef UPMON_PROBE_H
#define UPMON_PROBE_H

#include <event2/event.h>

#include "config.h"
#include "dnscache.h"
#include "http.h"
#include "result.h"

struct prober;
struct probe;

/* What a target needs for every probe, built once per configuration. */
struct probe_spec;

/* A probe runs in two steps: its host names are looked up (the resolver,
 * on the loop, within its own budget: a probe waiting for a lookup holds
 * no slot of engine.max_concurrent), then its transfer runs. */
struct probe_callbacks {
    /* The names are looked up: the probe may run (probe_run). */
    void (*ready)(void *arg);
    /* The probe ended: its transfer did, or a lookup failed before it
     * could start. The probe is freed already. */
    void (*done)(const struct probe_result *r, void *arg);
};

/* base: the loop the resolver asks the name servers on. */
struct prober *prober_new(struct event_base *base, struct http *http);
void prober_free(struct prober *p);
/* The engine settings of a configuration (user agent, DNS cache, lookups
 * in flight); they apply to probes started from now on. */
void prober_configure(struct prober *p, const struct config *cfg);
/* Before the end: every probe cancelled, lets the loop deliver what the
 * resolver has given up (see resolver_drain). */
void prober_drain(struct prober *p);
const struct dnscache_stats *prober_dns_stats(const struct prober *p);

struct probe_spec *probe_spec_new(const struct target_conf *t);
void probe_spec_free(struct probe_spec *s);
/* Points a spec at an equal target_conf of a new configuration. */
void probe_spec_retarget(struct probe_spec *s, const struct target_conf *t);

/* Begins a probe at now (monotonic microseconds): the target's timeout
 * runs from here, lookups included. *ready is set when nothing needs to
 * be looked up any more (an address, or names the hosts table or the cache
 * know): then cb->ready is not called. Otherwise a callback comes later. */
struct probe *probe_new(struct prober *p, const struct probe_spec *spec,
                        const struct probe_callbacks *cb, void *arg, int64_t now, bool *ready);
/* Starts the transfer of a probe that is ready. -1 when curl refused it:
 * the probe stays as it was, for the caller to cancel. */
int probe_run(struct probe *pr);
/* Stops a probe, looking up or running; no callback will come. */
void probe_cancel(struct probe *pr);

#endif
