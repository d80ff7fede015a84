/* The monitor: runs every enabled target of a configuration on its own
 * schedule on the shared loop. It owns each target's runtime (plan, probe in
 * flight, last verdict), keeps at most max_concurrent probes in flight
 * (later ones wait their turn, and count as late), never starts a target
 * whose previous probe is still running (that run is skipped), and counts
 * all of this so the daemon measures its own punctuality. A probe whose
 * host name is being looked up holds no slot: the lookups have a budget of
 * their own (engine.max_lookups), so a silent name server cannot keep the
 * other targets waiting. What a result means for alerts is decided by the
 * caller's callback. */
#ifndef UPMON_MONITOR_H
#define UPMON_MONITOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "config.h"
#include "probe.h"
#include "result.h"
#include "timerq.h"
#include "verdict.h"

struct monitor;

struct target_rt {
    const struct target_conf *conf; /* in the live configuration */
    struct probe_spec *spec;
    struct monitor *m;
    struct timerq_item timer;
    int64_t planned; /* planned start of the run under way */
    int64_t phase;   /* start of the plan, until the first run is done */
    int64_t resume;  /* a retry is planned: the planned run it comes before; 0: none */
    /* The run under way, from its due time to its result: its names are
     * looked up (resolving), then it waits for a slot (waiting) or has one
     * (running). */
    struct probe *probe; /* or NULL */
    bool resolving, waiting, running;
    int64_t begun;    /* when the run began */
    int64_t resolved; /* when its names were known */
    bool kept;        /* during a swap: still in the new configuration */
    bool unplanned;   /* new: its first run is planned by monitor_plan */
    TAILQ_ENTRY(target_rt) wait_link;
    void *user; /* the caller's per-target state */
};

#define LATENESS_BUCKETS   10001 /* LATENESS_BUCKET_US each up to 1 s, then one for the rest */
#define LATENESS_BUCKET_US 100

struct monitor_stats {
    uint64_t started;   /* probes started, or ended by a failed lookup */
    uint64_t completed; /* probes that reported a result */
    uint64_t late;      /* started more than 10 ms after their plan */
    uint64_t skipped;   /* not started: the previous probe was still running */
    uint64_t dropped;   /* planned runs passed over after the loop fell behind */
    uint64_t cancelled; /* stopped in flight (reload, shutdown) */
    int64_t lateness_max_us;
    int64_t lateness_sum_us; /* of every start */
    uint64_t lateness[LATENESS_BUCKETS];
};

struct monitor_callbacks {
    /* A probe finished and was judged. */
    void (*result)(struct target_rt *rt, const struct probe_result *r, const struct verdict *v,
                   void *arg);
    /* Once mode: every target has reported. */
    void (*all_done)(void *arg);
    /* A target is about to be dropped (reload, shutdown): free rt->user. */
    void (*forget)(struct target_rt *rt, void *arg);
    void *arg;
};

struct monitor *monitor_new(struct event_base *base, struct http *http,
                            const struct monitor_callbacks *cb);
void monitor_free(struct monitor *m);

/* Takes cfg (which must outlive the monitor or the next swap): a runtime
 * for each enabled target, its runs planned by monitor_plan. In once mode
 * every enabled target is probed once, at once. */
void monitor_start(struct monitor *m, const struct config *cfg, bool once);

/* Plans the first run of each target new since the last call (start, or a
 * swap that added it). Called once the caller has set them up, just before
 * the loop turns again: the start-up sweep begins then, not with a backlog
 * of runs come due while the caller read their history. */
void monitor_plan(struct monitor *m, int64_t now);

/* Swaps in a new configuration: targets are matched by name; a matched one
 * keeps its runtime (state, plan, probe in flight), its plan moving only
 * if its interval changed; a removed one is cancelled; a new one starts
 * (monitor_plan).
 * The caller may free the old configuration afterwards. */
void monitor_swap(struct monitor *m, const struct config *cfg, int64_t now);

/* The result just reported saw a change still to be confirmed: with
 * retry_interval set, the target's next probe comes that soon (plan.h
 * plan_retry_due), and after it the plan goes on as it was. */
void monitor_retry(struct monitor *m, struct target_rt *rt, int64_t now);

/* Cancels everything in flight; used before freeing on shutdown. */
void monitor_stop(struct monitor *m);
/* monitor_stop, then lets the loop turn until the name lookups given up
 * are reported back (prober_drain): for the end, while the caller's state
 * is whole, as the loop's other events may run. */
void monitor_drain(struct monitor *m);

size_t monitor_targets(const struct monitor *m, struct target_rt ***out);
const struct monitor_stats *monitor_stats(const struct monitor *m);
unsigned monitor_in_flight(const struct monitor *m);
/* Runs waiting for their names to be looked up (they hold no slot). */
unsigned monitor_resolving(const struct monitor *m);
const struct dnscache_stats *monitor_dns_stats(const struct monitor *m);

/* Whether probes are still completing (for the watchdog). */
bool monitor_progressing(const struct monitor *m, int64_t now);

/* p in [0,1]: the lateness percentile, in microseconds. */
int64_t monitor_lateness_percentile(const struct monitor_stats *s, double p);

#endif
