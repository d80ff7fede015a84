/* Scheduling and running probes. Each target's next run waits in a timer
 * queue on the loop; when its time comes, the target is dispatched: its
 * probe begins (names looked up first where needed, holding no slot),
 * then starts if a slot is free or is queued for one; the run is skipped
 * if the previous one is still under way. Its next run is planned from
 * the plan, not from when this one ends. */
#include "monitor.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "looptimer.h"
#include "plan.h"
#include "state.h"
#include "util.h"

#define LATE_US 10000 /* "late" in the statistics: over 10 ms behind plan */

/* The timer queue's slack: when the timer fires, runs due within this much
 * more start too. The loop's timers have millisecond resolution, so this
 * keeps starts on time rather than up to a millisecond late, and batches
 * them. A run never starts more than this early, and its plan is
 * unchanged. */
#define SLACK_US 1000

TAILQ_HEAD(waitq, target_rt);

struct monitor {
    struct http *http;
    struct prober *prober;
    struct monitor_callbacks cb;
    bool once;
    unsigned max_concurrent;

    struct target_rt **targets;
    size_t ntargets;
    struct looptimer *timers;
    struct waitq waiting;
    struct plan_flight flight;
    unsigned resolving;      /* runs waiting for their names */
    size_t once_pending;     /* once mode: targets yet to report */
    uint64_t max_timeout_us; /* the longest timeout of any target */

    struct monitor_stats stats;
};

static void run_probe(struct monitor *m, struct target_rt *rt, int64_t now);

static void record_lateness(struct monitor_stats *s, int64_t late_us)
{
    if (late_us < 0)
        late_us = 0;
    size_t b = (size_t)(late_us / LATENESS_BUCKET_US);
    if (b >= LATENESS_BUCKETS)
        b = LATENESS_BUCKETS - 1;
    s->lateness[b]++;
    s->lateness_sum_us += late_us;
    if (late_us > s->lateness_max_us)
        s->lateness_max_us = late_us;
    if (late_us > LATE_US)
        s->late++;
}

int64_t monitor_lateness_percentile(const struct monitor_stats *s, double p)
{
    uint64_t total = 0, seen = 0;

    for (size_t i = 0; i < LATENESS_BUCKETS; i++)
        total += s->lateness[i];
    if (total == 0)
        return 0;
    uint64_t want = (uint64_t)(p * (double)total);
    if (want >= total)
        want = total - 1;
    for (size_t i = 0; i < LATENESS_BUCKETS; i++) {
        seen += s->lateness[i];
        if (seen > want)
            return i == LATENESS_BUCKETS - 1 ? s->lateness_max_us
                                             : (int64_t)(i + 1) * LATENESS_BUCKET_US;
    }
    return s->lateness_max_us;
}

/* Records a result and hands it on. */
static void finish(struct monitor *m, struct target_rt *rt, const struct probe_result *r)
{
    struct verdict v;

    m->stats.completed++;
    verdict_judge(r, rt->conf, &v);
    log_debug("%s: %d %s in %.1f ms%s%s", rt->conf->name, r->code, state_name(v.state),
              r->total_us >= 0 ? (double)r->total_us / 1000.0 : 0.0, r->message[0] ? ": " : "",
              r->message);
    if (m->cb.result)
        m->cb.result(rt, r, &v, m->cb.arg);
    if (m->once && --m->once_pending == 0 && m->cb.all_done)
        m->cb.all_done(m->cb.arg);
}

/* Free slots go to the targets that have waited longest. */
static void start_waiting(struct monitor *m, int64_t now)
{
    while (m->flight.n < m->max_concurrent && !TAILQ_EMPTY(&m->waiting)) {
        struct target_rt *next = TAILQ_FIRST(&m->waiting);
        TAILQ_REMOVE(&m->waiting, next, wait_link);
        next->waiting = false;
        run_probe(m, next, now);
    }
}

/* A run whose names are known takes a slot, or waits for one. */
static void want_slot(struct monitor *m, struct target_rt *rt, int64_t now)
{
    rt->resolved = now;
    if (m->flight.n < m->max_concurrent) {
        run_probe(m, rt, now);
    } else {
        rt->waiting = true;
        TAILQ_INSERT_TAIL(&m->waiting, rt, wait_link);
    }
}

static void probe_ready(void *arg)
{
    struct target_rt *rt = arg;
    struct monitor *m = rt->m;

    rt->resolving = false;
    m->resolving--;
    want_slot(m, rt, clock_mono_us());
}

static void probe_done(const struct probe_result *r, void *arg)
{
    struct target_rt *rt = arg;
    struct monitor *m = rt->m;
    int64_t now = clock_mono_us();

    rt->probe = NULL;
    if (rt->running) {
        rt->running = false;
        plan_flight_end(&m->flight, now);
        start_waiting(m, now);
    } else {
        /* A lookup failed: the probe ends here, having held no slot. */
        rt->resolving = false;
        m->resolving--;
        m->stats.started++;
        record_lateness(&m->stats, rt->begun - rt->planned);
    }
    finish(m, rt, r);
}

static const struct probe_callbacks probe_cbs = {probe_ready, probe_done};

/* Lateness is what the run waited for the monitor (its timer, a slot),
 * not for its lookup, which is part of the probe and of its timings. */
static void run_probe(struct monitor *m, struct target_rt *rt, int64_t now)
{
    record_lateness(&m->stats, (rt->begun - rt->planned) + (now - rt->resolved));
    m->stats.started++;
    if (probe_run(rt->probe) == 0) {
        rt->running = true;
        plan_flight_start(&m->flight, now);
        return;
    }
    probe_cancel(rt->probe);
    rt->probe = NULL;
    /* curl refused to start it (out of memory or file descriptors): that is
     * this probe's result, not a reason to stop. */
    struct probe_result r;
    probe_result_init(&r);
    r.error = PERR_INTERNAL;
    r.started_wall_ms = clock_wall_ms();
    snprintf(r.message, sizeof(r.message), "could not start the transfer");
    finish(m, rt, &r);
}

/* The run planned at rt->planned begins: its probe looks up its names
 * (unless the hosts table or the cache know them), then wants a slot. */
static void begin_run(struct monitor *m, struct target_rt *rt, int64_t now)
{
    bool ready;

    rt->begun = now;
    rt->probe = probe_new(m->prober, rt->spec, &probe_cbs, rt, now, &ready);
    if (ready) {
        want_slot(m, rt, now);
    } else {
        rt->resolving = true;
        m->resolving++;
    }
}

/* The target's run planned at rt->timer.due has come. */
static void due_cb(struct timerq_item *it, int64_t now)
{
    struct target_rt *rt = TIMERQ_OWNER(it, struct target_rt, timer);
    struct monitor *m = rt->m;
    int64_t planned = rt->timer.due;
    uint64_t missed = 0;

    if (rt->probe) {
        m->stats.skipped++;
        log_debug("%s: previous probe still running, run skipped", rt->conf->name);
    } else {
        rt->planned = planned;
        begin_run(m, rt, now);
    }
    if (m->once)
        return;
    int64_t next;
    if (rt->resume) {
        /* A retry: the plan goes on from the run it came before, which it
         * stands for if that run's time has passed meanwhile. */
        next = rt->resume > now
                   ? rt->resume
                   : plan_next_due(rt->resume, rt->conf->interval_ms * 1000, now, &missed);
        rt->resume = 0;
    } else if (rt->phase) {
        next = plan_after_sweep(rt->phase, planned, rt->conf->interval_ms * 1000, now, &missed);
        rt->phase = 0;
    } else {
        next = plan_next_due(planned, rt->conf->interval_ms * 1000, now, &missed);
    }
    m->stats.dropped += missed;
    if (missed)
        log_warn("%s: %llu planned runs passed while the monitor was behind", rt->conf->name,
                 (unsigned long long)missed);
    looptimer_add(m->timers, &rt->timer, next);
}

struct monitor *monitor_new(struct event_base *base, struct http *http,
                            const struct monitor_callbacks *cb)
{
    struct monitor *m = xcalloc(1, sizeof(*m));

    m->http = http;
    m->cb = *cb;
    TAILQ_INIT(&m->waiting);
    m->timers = looptimer_new(base, SLACK_US);
    m->prober = prober_new(base, http);
    if (m->timers == NULL || m->prober == NULL) {
        looptimer_free(m->timers);
        prober_free(m->prober);
        free(m);
        return NULL;
    }
    return m;
}

static struct target_rt *rt_new(struct monitor *m, const struct target_conf *t)
{
    struct target_rt *rt = xcalloc(1, sizeof(*rt));

    rt->m = m;
    rt->conf = t;
    rt->spec = probe_spec_new(t);
    rt->unplanned = true;
    timerq_item_init(&rt->timer, due_cb);
    return rt;
}

/* Stops the target's run under way, if any: its lookups, its wait for a
 * slot or its transfer. Only a transfer stopped counts as cancelled. */
static void cancel_probe(struct monitor *m, struct target_rt *rt)
{
    if (rt->probe == NULL)
        return;
    probe_cancel(rt->probe);
    rt->probe = NULL;
    if (rt->running) {
        rt->running = false;
        plan_flight_cancel(&m->flight, clock_mono_us());
        m->stats.cancelled++;
    }
    if (rt->resolving) {
        rt->resolving = false;
        m->resolving--;
    }
    if (rt->waiting) {
        TAILQ_REMOVE(&m->waiting, rt, wait_link);
        rt->waiting = false;
    }
}

/* Stops whatever the target has under way and frees it. */
static void rt_free(struct monitor *m, struct target_rt *rt)
{
    cancel_probe(m, rt);
    looptimer_remove(m->timers, &rt->timer);
    if (m->cb.forget)
        m->cb.forget(rt, m->cb.arg);
    probe_spec_free(rt->spec);
    free(rt);
}

/* Plans a target's first run, one of `count` starting together. */
static void plan_first(struct monitor *m, struct target_rt *rt, int64_t now, size_t count)
{
    uint64_t iv = rt->conf->interval_ms * 1000, h = hash64(rt->conf->name);

    rt->phase = plan_first_due(now, iv, h);
    looptimer_add(m->timers, &rt->timer, plan_sweep_due(now, iv, h, count));
}

static void apply_engine_settings(struct monitor *m, const struct config *cfg)
{
    m->max_concurrent = cfg->max_concurrent ? cfg->max_concurrent : 1;
    prober_configure(m->prober, cfg);
    m->max_timeout_us = 0;
    for (size_t i = 0; i < cfg->ntargets; i++)
        if (cfg->targets[i].timeout_ms * 1000 > m->max_timeout_us)
            m->max_timeout_us = cfg->targets[i].timeout_ms * 1000;
}

void monitor_start(struct monitor *m, const struct config *cfg, bool once)
{
    m->once = once;
    apply_engine_settings(m, cfg);
    m->targets = xcalloc(cfg->ntargets, sizeof(*m->targets));
    for (size_t i = 0; i < cfg->ntargets; i++)
        if (cfg->targets[i].enabled)
            m->targets[m->ntargets++] = rt_new(m, &cfg->targets[i]);
    m->once_pending = m->ntargets;
    if (once && m->ntargets == 0 && m->cb.all_done)
        m->cb.all_done(m->cb.arg);
}

void monitor_plan(struct monitor *m, int64_t now)
{
    size_t fresh = 0; /* swept in together */

    for (size_t i = 0; i < m->ntargets; i++)
        fresh += m->targets[i]->unplanned;
    for (size_t i = 0; i < m->ntargets && fresh > 0; i++) {
        struct target_rt *rt = m->targets[i];
        if (!rt->unplanned)
            continue;
        rt->unplanned = false;
        if (m->once)
            looptimer_add(m->timers, &rt->timer, now);
        else
            plan_first(m, rt, now, fresh);
    }
}

void monitor_swap(struct monitor *m, const struct config *cfg, int64_t now)
{
    struct strmap old = {0};
    struct target_rt **targets = xcalloc(cfg->ntargets, sizeof(*targets));
    size_t n = 0;

    for (size_t i = 0; i < m->ntargets; i++) {
        m->targets[i]->kept = false;
        strmap_put(&old, m->targets[i]->conf->name, m->targets[i]);
    }
    for (size_t i = 0; i < cfg->ntargets; i++) {
        const struct target_conf *t = &cfg->targets[i];
        if (!t->enabled)
            continue;
        struct target_rt *rt = strmap_get(&old, t->name);
        bool again = false;
        if (rt == NULL) {
            rt = rt_new(m, t);
        } else {
            rt->kept = true;
            if (target_conf_probe_equal(rt->conf, t)) {
                probe_spec_retarget(rt->spec, t);
            } else {
                /* A probe in flight carries the old request: stop it, the
                 * new one runs at the next planned time. One that has not
                 * started its transfer begins again with the new request. */
                again = rt->probe && !rt->running;
                cancel_probe(m, rt);
                probe_spec_free(rt->spec);
                rt->spec = probe_spec_new(t);
                if (rt->conf->interval_ms != t->interval_ms) {
                    rt->phase = 0; /* a new plan; no sweep run to follow */
                    rt->resume = 0;
                    looptimer_add(m->timers, &rt->timer,
                                  plan_first_due(now, t->interval_ms * 1000, hash64(t->name)));
                }
            }
            rt->conf = t;
            if (again)
                begin_run(m, rt, now);
        }
        targets[n++] = rt;
    }
    strmap_free(&old);
    for (size_t i = 0; i < m->ntargets; i++)
        if (!m->targets[i]->kept)
            rt_free(m, m->targets[i]);
    free(m->targets);
    m->targets = targets;
    m->ntargets = n;
    apply_engine_settings(m, cfg);
    /* Cancelled probes and a larger max_concurrent free slots now. */
    start_waiting(m, now);
}

void monitor_retry(struct monitor *m, struct target_rt *rt, int64_t now)
{
    uint64_t retry_us = rt->conf->retry_interval_ms * 1000;

    if (m->once || retry_us == 0 || rt->resume || !timerq_pending(&rt->timer))
        return;
    int64_t at = plan_retry_due(now, retry_us, rt->timer.due);
    if (at == 0)
        return;
    rt->resume = rt->timer.due;
    looptimer_add(m->timers, &rt->timer, at);
    log_debug("%s: a change to confirm: probed again in %.1f s", rt->conf->name,
              (double)retry_us / 1e6);
}

void monitor_stop(struct monitor *m)
{
    for (size_t i = 0; i < m->ntargets; i++)
        rt_free(m, m->targets[i]);
    free(m->targets);
    m->targets = NULL;
    m->ntargets = 0;
}

void monitor_drain(struct monitor *m)
{
    monitor_stop(m);
    prober_drain(m->prober);
}

void monitor_free(struct monitor *m)
{
    if (m == NULL)
        return;
    monitor_stop(m);
    looptimer_free(m->timers);
    prober_free(m->prober);
    free(m);
}

size_t monitor_targets(const struct monitor *m, struct target_rt ***out)
{
    *out = m->targets;
    return m->ntargets;
}

const struct monitor_stats *monitor_stats(const struct monitor *m)
{
    return &m->stats;
}

bool monitor_progressing(const struct monitor *m, int64_t now)
{
    /* Every probe ends by its timeout; if none has ended for longer than
     * the longest timeout while some are in flight, transfers are stuck. */
    return plan_flight_progressing(&m->flight, now, (int64_t)m->max_timeout_us + 10000000);
}

unsigned monitor_in_flight(const struct monitor *m)
{
    return m->flight.n;
}

unsigned monitor_resolving(const struct monitor *m)
{
    return m->resolving;
}

const struct dnscache_stats *monitor_dns_stats(const struct monitor *m)
{
    return prober_dns_stats(m->prober);
}
