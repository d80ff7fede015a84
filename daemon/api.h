/* The JSON API under /api/v1/ and /healthz, as handlers (view.h), and the
 * JSON they are made of. Pure: everything comes from the view, the
 * history database through the view's readers.
 *
 *   /api/v1/targets              every target: its last probe with the
 *                                fields of `upmond --once --json`, its
 *                                confirmed state, since when, its uptime
 *   /api/v1/targets/NAME         that, its recent probes and incidents
 *   /api/v1/targets/NAME/uptime  ?from=&to=&step=: a series of buckets
 *   /api/v1/incidents            ?limit=&before=: open and recent ones
 *   /healthz                     200 "ok" while probes complete, else 503 */
#ifndef UPMON_API_H
#define UPMON_API_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "view.h"

void healthz_handler(const struct view *v, const struct hrequest *rq, struct hreply *rp);
void api_targets_handler(const struct view *v, const struct hrequest *rq, struct hreply *rp);
void api_target_handler(const struct view *v, const struct hrequest *rq, struct hreply *rp);
void api_uptime_handler(const struct view *v, const struct hrequest *rq, struct hreply *rp);
void api_incidents_handler(const struct view *v, const struct hrequest *rq, struct hreply *rp);

/* A target as /api/v1/targets lists it. */
json_t *api_target_json(const struct view *v, const struct view_target *t);

/* /api/v1/targets in steps, as its handler sends it when long: the
 * envelope up to the list's "[" (-1: out of memory), then targets from
 * *next on until out has grown by at least bytes, or the list and the
 * envelope closed at the end; returns whether a step follows. */
int api_targets_start(const struct view *v, struct buf *out);
bool api_targets_step(const struct view *v, size_t *next, struct buf *out, size_t bytes);

/* The size of a step of the handler: some 80 targets, a fraction of a
 * millisecond of the loop. */
#define API_STEP_BYTES (64 * 1024)

#endif
