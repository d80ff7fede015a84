/* Reloading the configuration off the loop. A reload request starts a
 * worker thread that loads and validates the files (config_load, which
 * touches nothing shared) and hands the result back to the loop through a
 * pipe; the loop only swaps it in. Requests that arrive while a load runs
 * collapse into one more load, started when it ends, so a storm of SIGHUPs
 * costs two loads, and probes, watchdog pings and SIGTERM never wait for
 * one. */
#ifndef UPMON_RELOADER_H
#define UPMON_RELOADER_H

#include <stdbool.h>

#include <event2/event.h>

#include "config.h"

struct reloader;

/* Called on the loop with the new configuration (the callee owns it) or
 * NULL and the diagnostics of a failed load (freed after the call; none
 * when no load could start). settled: no other load follows. */
typedef void (*reload_done_cb)(struct config *cfg, const struct diags *diags, bool settled,
                               void *arg);

struct reloader *reloader_new(struct event_base *base, const char *path,
                              const struct config_env *env, reload_done_cb cb, void *arg);
/* Asks for a reload; returns true if one starts now, false if it is
 * folded into one already pending, or cannot start (said in the log). */
bool reloader_request(struct reloader *r);
/* Whether a load is running. */
bool reloader_busy(const struct reloader *r);
/* Waits for a load in flight to end (its result is dropped) and frees. */
void reloader_free(struct reloader *r);

#endif
