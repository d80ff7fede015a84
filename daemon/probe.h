/* Probing one target: sets up a curl easy handle from the target's
 * configuration, runs it on the shared http loop, reads the answer (to its
 * end, or only as far as a check needs), and reports a struct
 * probe_result. A network failure is a result, never an error of this
 * module. */
#ifndef UPMON_PROBE_H
#define UPMON_PROBE_H

#include <event2/event.h>

#include "config.h"
#include "http.h"
#include "result.h"

struct prober;
struct probe;

/* What a target needs for every probe, built once per configuration. */
struct probe_spec;

typedef void (*probe_done_cb)(const struct probe_result *r, void *arg);

struct prober *prober_new(struct http *http);
void prober_free(struct prober *p);
/* The engine settings of a configuration (user agent, DNS cache); they
 * apply to probes started from now on. */
void prober_configure(struct prober *p, const struct config *cfg);

struct probe_spec *probe_spec_new(const struct target_conf *t);
void probe_spec_free(struct probe_spec *s);
/* Points a spec at an equal target_conf of a new configuration. */
void probe_spec_retarget(struct probe_spec *s, const struct target_conf *t);

/* Starts a probe; cb runs once with the result, unless it is cancelled.
 * Returns NULL only when curl refused to start it. */
struct probe *probe_start(struct prober *p, const struct probe_spec *spec, probe_done_cb cb,
                          void *arg);
/* Stops a probe in flight; its callback will not run. */
void probe_cancel(struct probe *pr);

#endif
