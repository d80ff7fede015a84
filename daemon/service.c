/* The daemon proper: wires the monitor's results through the state machine
 * to the sinks (journal, webhooks) and the store, and speaks to systemd.
 * Signals arrive as libevent signal events, so nothing runs inside a
 * signal handler. What goes to and comes from the history database is
 * service_history.c, what the HTTP server's pages see service_view.c. */
#include "service.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "amresend.h"
#include "clock.h"
#include "codes.h"
#include "histdb.h"
#include "history.h"
#include "holding.h"
#include "http.h"
#include "httpd.h"
#include "journal.h"
#include "log.h"
#include "monitor.h"
#include "notify.h"
#include "reloader.h"
#include "service_impl.h"
#include "silencing.h"
#include "state.h"
#include "stats.h"
#include "store.h"
#include "webhook.h"

#define STATUS_EVERY_US 1000000 /* STATUS= at most once a second */
#define HIST_TICK_US    5000000 /* how soon a minute with no probe since is written */

static void count_state(struct service *svc, enum target_state from, enum target_state to)
{
    svc->counts[from]--;
    svc->counts[to]++;
    svc->status_dirty = true;
}

/* "42 targets: 40 up, 1 redirecting, 1 down, 0 pending". */
static void status_line(const struct service *svc, char *out, size_t len)
{
    unsigned down = 0, total = 0;
    size_t off = 0;

    for (int s = 0; s < ST_COUNT; s++) {
        total += svc->counts[s];
        if (state_is_failing((enum target_state)s))
            down += svc->counts[s];
    }
    if (svc->reload_failed)
        off = (size_t)snprintf(out, len,
                               "reload failed with %zu error%s, previous configuration kept; ",
                               svc->reload_errors, svc->reload_errors == 1 ? "" : "s");
    if (off >= len)
        return;
    snprintf(out + off, len - off, "%u target%s: %u up, %u redirecting, %u down, %u pending", total,
             total == 1 ? "" : "s", svc->counts[ST_UP], svc->counts[ST_REDIRECTING], down,
             svc->counts[ST_UNKNOWN]);
}

static void send_status(struct service *svc)
{
    char line[512];

    status_line(svc, line, sizeof(line));
    notify_status(line);
    svc->status_dirty = false;
}

static void status_cb(evutil_socket_t fd, short what, void *arg)
{
    struct service *svc = arg;
    (void)fd;
    (void)what;

    if (svc->status_dirty)
        send_status(svc);
}

static struct instant now(void)
{
    return (struct instant){clock_mono_us() / 1000, clock_wall_ms()};
}

/* A target's row in the store, as read at start. */
struct saved_row {
    struct tstate_saved s;
    struct hold_saved hold;
};

struct tracked *service_tracked(struct service *svc, struct target_rt *rt)
{
    struct tracked *tr = rt->user;

    if (tr)
        return tr;
    tr = rt->user = xcalloc(1, sizeof(*tr));
    const struct saved_row *saved = strmap_get(&svc->saved, rt->conf->name);
    if (saved) {
        tstate_restore(&tr->ts, &saved->s, now());
        hold_restore(&tr->hold, &tr->ts.s, &saved->hold, now());
    } else {
        tstate_init(&tr->ts);
        hold_init(&tr->hold, &tr->ts.s);
    }
    hold_save(&tr->hold, &tr->kept);
    tr->stored = saved != NULL;
    htarget_init(&tr->hist);
    tr->unrestored = true;
    svc->counts[tr->ts.s.state]++;
    svc->status_dirty = true;
    return tr;
}

/* Whether a saved state says anything a restart needs: plain "up" is what
 * a target without a row is taken for anyway. Not writing it spares the
 * disk ten thousand rows when ten thousand targets first come up. */
static bool worth_storing(const struct tstate_saved *s)
{
    return s->state != ST_UP || s->slow || s->flapping || s->cert_warned;
}

/* The database was started anew: every state worth a row is written
 * again. */
static void store_reset_cb(void *arg)
{
    struct service *svc = arg;
    struct target_rt **targets;

    if (svc->monitor == NULL)
        return;
    size_t n = monitor_targets(svc->monitor, &targets);
    for (size_t i = 0; i < n; i++) {
        struct tracked *tr = targets[i]->user;
        if (tr && tr->stored)
            store_state_save(svc->store, targets[i]->conf->name, &tr->ts.s, &tr->kept);
    }
}

/* Gives every target its alert state (restored or new), so STATUS counts
 * all of them from the start, and its history. */
static void track_targets(struct service *svc)
{
    struct target_rt **targets;
    size_t n = monitor_targets(svc->monitor, &targets);

    for (size_t i = 0; i < n; i++)
        service_tracked(svc, targets[i]);
    service_restore_history(svc);
}

static void raise_alert(struct service *svc, const struct alert *a, const struct target_conf *t)
{
    char line[1024];

    alert_message(a, t, line, sizeof(line));
    /* Under systemd with the journal sink on, the structured entry is the
     * log line; writing it to stderr too would say it twice. */
    if (!(svc->cfg->journald && log_to_journal()))
        log_at(a->severity == SEV_CRITICAL  ? LOG_ERR
               : a->severity == SEV_WARNING ? LOG_WARNING
                                            : LOG_NOTICE,
               "alert %s: %s", eventtype_name(a->type), line);
    if (svc->cfg->journald)
        journal_send(a, t, svc->host, svc->cfg->location);
    webhooks_enqueue(svc->webhooks, a, t, svc->host);
}

static void hold_target(struct target_rt *rt, void *arg, struct hold **hold,
                        const struct tstate **ts)
{
    struct tracked *tr = service_tracked(arg, rt);

    *hold = &tr->hold;
    *ts = &tr->ts;
}

static void hold_raise(struct target_rt *rt, const struct alert *a, void *arg)
{
    raise_alert(arg, a, rt->conf);
}

static void am_target(struct target_rt *rt, void *arg, struct am_told *told, struct alert *base)
{
    struct tracked *tr = service_tracked(arg, rt);

    amresend_target(&tr->hold, &tr->ts, &tr->hist, told, base);
}

static const struct silence *hold_silence(struct target_rt *rt, int64_t wall, void *arg)
{
    struct service *svc = arg;

    return svc->silencing ? silencing_holding(svc->silencing, rt->conf, wall) : NULL;
}

static void save_state(struct service *svc, struct target_rt *rt, struct tracked *tr)
{
    hold_save(&tr->hold, &tr->kept);
    store_state_save(svc->store, rt->conf->name, &tr->ts.s, &tr->kept);
    tr->stored = true;
}

/* What receivers were told, and what is held, go with the target's row:
 * a window's end after a restart raises what it held before. */
static void hold_changed(struct target_rt *rt, void *arg)
{
    struct service *svc = arg;
    struct tracked *tr = service_tracked(svc, rt);
    struct hold_saved now;

    hold_save(&tr->hold, &now);
    if (hold_saved_same(&now, &tr->kept) ||
        (!tr->stored && !hold_saved_news(&now, &tr->ts.s) && !worth_storing(&tr->ts.s)))
        return;
    save_state(svc, rt, tr);
}

static void on_result(struct target_rt *rt, const struct probe_result *r, const struct verdict *v,
                      void *arg)
{
    struct service *svc = arg;
    struct tracked *tr = service_tracked(svc, rt);
    struct tstate *ts = &tr->ts;
    struct alert alerts[STATE_MAX_ALERTS];
    enum target_state before = ts->s.state, raw_before = ts->last_raw;
    bool changed;

    /* Each change of what the probes see, at info; alerts follow only
     * when the state machine confirms one. */
    if (ts->probes == 0 || raw_before != v->state) {
        const char *phrase = codes_phrase(r->code);
        if (r->code && codes_valid(r->code) && r->error == PERR_NONE)
            log_info("%s: %s -> %s (%d %s%s%s)", rt->conf->name, state_name(raw_before),
                     state_name(v->state), r->code, phrase ? phrase : "(unregistered)",
                     r->location[0] ? " -> " : "", r->location);
        else
            log_info("%s: %s -> %s (%s: %s)", rt->conf->name, state_name(raw_before),
                     state_name(v->state), probe_error_name(v->error), r->message);
    }
    hold_detail(&tr->hold, r, v);
    holding_before(svc->holding, rt);
    struct instant at = now();
    unsigned n = state_step(ts, rt->conf, r, v, at, alerts, &changed);
    struct hchanges ch;
    htarget_observe(&tr->hist, r, v, ts->s.state, ts->s.since_ms, at.wall_ms, &svc->next_incident,
                    &ch);
    service_hand_over(svc, rt->conf->name, ch.minute_closed ? &ch.closed : NULL, ch.incident);
    if (ts->s.state != before)
        count_state(svc, before, ts->s.state);
    if (changed && (tr->stored || worth_storing(&ts->s)))
        save_state(svc, rt, tr);
    holding_after(svc->holding, rt, alerts, n);
    /* A change the probes have not confirmed yet (nor cleared): with
     * retry_interval, the next probe comes sooner. */
    if (ts->streak > 0)
        monitor_retry(svc->monitor, rt, clock_mono_us());
}

static void on_forget(struct target_rt *rt, void *arg)
{
    struct service *svc = arg;
    struct tracked *tr = rt->user;

    if (tr == NULL)
        return;
    svc->counts[tr->ts.s.state]--;
    svc->status_dirty = true;
    /* Removed from the configuration (not shut down): its history goes,
     * so a target added again later starts afresh. */
    if (!svc->stopping && tr->stored)
        store_state_delete(svc->store, rt->conf->name);
    /* The minute under way is written as it is; the rows stay until
     * retention ends, and an incident of a target no longer watched
     * ends now. */
    service_hand_over(svc, rt->conf->name, &tr->hist.minute,
                      svc->stopping ? NULL : htarget_end(&tr->hist, clock_wall_ms()));
    htarget_free(&tr->hist);
    tstate_free(&tr->ts);
    hold_free(&tr->hold);
    free(tr);
    rt->user = NULL;
}

static void stop_cb(evutil_socket_t sig, short what, void *arg)
{
    struct service *svc = arg;
    (void)what;

    log_info("%s received, stopping", strsignal((int)sig));
    notify_stopping();
    event_base_loopbreak(svc->base);
}

static void usr1_cb(evutil_socket_t sig, short what, void *arg)
{
    const struct service *svc = arg;
    char *s = stats_text(svc->monitor, svc->webhooks);
    (void)sig;
    (void)what;

    log_notice("statistics: %s", s ? s : "?");
    free(s);
}

/* SIGHUP: a new configuration is loaded beside the old, off the loop;
 * requests that come while one loads fold into one more load. */
static void reload_cb(evutil_socket_t sig, short what, void *arg)
{
    struct service *svc = arg;
    (void)sig;
    (void)what;

    if (reloader_busy(svc->reloader)) {
        reloader_request(svc->reloader); /* folded: one more load when this ends */
        return;
    }
    notify_reloading(clock_mono_us());
    log_info("reloading %s", svc->opts->config_path);
    if (!reloader_request(svc->reloader)) {
        svc->reload_failed = true;
        svc->reloads++;
        svc->reloads_failed++;
        svc->reload_ms = clock_wall_ms();
        svc->reload_errors = 0;
        send_status(svc);
        notify_ready();
    }
}

/* The loaded configuration is swapped in only if valid. */
static void reloaded(struct config *cfg, const struct diags *diags, bool settled, void *arg)
{
    struct service *svc = arg;
    char summary[256];

    if (svc->stopping) {
        config_free(cfg); /* came in while stopping: nothing left to run it */
        return;
    }
    if (cfg == NULL) {
        for (size_t i = 0; i < diags->n; i++)
            log_err("%s", diags->msgs[i]);
        log_err("reload failed with %zu error%s; the previous configuration stays in use", diags->n,
                diags->n == 1 ? "" : "s");
        svc->reload_failed = true;
        svc->reload_errors = diags->n;
        svc->reloads_failed++;
    } else {
        service_history_configure(svc, cfg);
        holding_detach(svc->holding);
        monitor_swap(svc->monitor, cfg, clock_mono_us());
        svc->generation++;
        webhooks_configure(svc->webhooks, cfg);
        track_targets(svc);
        monitor_plan(svc->monitor, clock_mono_us());
        holding_configure(svc->holding, svc->monitor);
        amresend_configure(svc->amresend, svc->monitor, cfg);
        config_free(svc->cfg);
        svc->cfg = cfg;
        svc->reload_failed = false;
        httpd_configure(svc->httpd, cfg);
        config_summary(cfg, summary, sizeof(summary));
        log_info("reloaded: %s", summary);
    }
    svc->reloads++;
    svc->reload_ms = clock_wall_ms();
    if (!settled)
        return; /* systemd hears READY=1 once the last load is in */
    send_status(svc);
    notify_ready();
}

static void watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
    struct service *svc = arg;
    (void)fd;
    (void)what;

    /* This timer firing shows the loop turns; the monitor vouches that
     * probes still complete. If not, say nothing and let systemd act. */
    if (monitor_progressing(svc->monitor, clock_mono_us()))
        notify_watchdog();
    else
        log_err("probes have stopped completing; withholding the watchdog ping");
}

static void load_saved(const char *name, const struct tstate_saved *saved,
                       const struct hold_saved *hold, void *arg)
{
    struct service *svc = arg;
    struct saved_row *copy = xmalloc(sizeof(*copy));

    copy->s = *saved;
    copy->s.location = saved->location ? xstrdup(saved->location) : NULL;
    copy->hold = *hold;
    char *key = xstrdup(name);
    if (strmap_put(&svc->saved, key, copy) != NULL) {
        free(key);
        free(copy->s.location);
        free(copy);
    }
}

/* Deletes the saved rows of targets no longer configured, or disabled. */
static void forget_unknown(struct service *svc)
{
    struct strmap known = {0};

    for (size_t t = 0; t < svc->cfg->ntargets; t++)
        if (svc->cfg->targets[t].enabled)
            strmap_put(&known, svc->cfg->targets[t].name, &svc->cfg->targets[t]);
    for (size_t i = 0; i < svc->saved.cap; i++) {
        const char *name = svc->saved.slots[i].key;
        if (name && strmap_get(&known, name) == NULL)
            store_state_delete(svc->store, name);
    }
    strmap_free(&known);
}

static void free_saved(struct service *svc)
{
    for (size_t i = 0; i < svc->saved.cap; i++) {
        if (svc->saved.slots[i].key) {
            struct saved_row *saved = svc->saved.slots[i].value;
            free((char *)svc->saved.slots[i].key);
            free(saved->s.location);
            free(saved);
        }
    }
    strmap_free(&svc->saved);
}

static struct event *add_signal(struct service *svc, int sig, event_callback_fn cb)
{
    struct event *ev = evsignal_new(svc->base, sig, cb, svc);

    if (ev == NULL || evsignal_add(ev, NULL) < 0) {
        if (ev)
            event_free(ev);
        return NULL;
    }
    return ev;
}

static struct event *add_timer(struct service *svc, uint64_t every_us, event_callback_fn cb)
{
    struct event *ev = event_new(svc->base, -1, EV_PERSIST, cb, svc);
    struct timeval tv = {(time_t)(every_us / 1000000), (suseconds_t)(every_us % 1000000)};

    if (ev == NULL || event_add(ev, &tv) < 0) {
        if (ev)
            event_free(ev);
        return NULL;
    }
    return ev;
}

void service_hold_signals(bool hold)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    sigprocmask(hold ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

int service_run(struct config *cfg, const struct service_opts *opts)
{
    struct service svc = {.opts = opts, .cfg = cfg};
    struct monitor_callbacks cb = {.result = on_result, .forget = on_forget, .arg = &svc};
    int status = 1;
    char summary[256], err[512];

    if (gethostname(svc.host, sizeof(svc.host)) < 0)
        snprintf(svc.host, sizeof(svc.host), "localhost");
    svc.host[sizeof(svc.host) - 1] = '\0';

    svc.base = http_loop_new();
    if (svc.base == NULL) {
        log_err("cannot create the event loop");
        goto out;
    }
    svc.store = store_open(svc.base, opts->state_dir, err, sizeof(err));
    if (svc.store == NULL) {
        log_err("%s", err);
        goto out;
    }
    svc.next_incident = 1;
    service_history_configure(&svc, cfg); /* its thread starts with the signals held */
    svc.http = http_new(svc.base);
    store_on_reset(svc.store, store_reset_cb, &svc);
    if (svc.http == NULL || (svc.monitor = monitor_new(svc.base, svc.http, &cb)) == NULL) {
        log_err("cannot set up the probe engine");
        goto out;
    }
    svc.webhooks = webhooks_new(svc.base, svc.http, svc.store);
    struct holding_ops hold_ops = {.target = hold_target,
                                   .raise = hold_raise,
                                   .arg = &svc,
                                   .silence = hold_silence,
                                   .changed = hold_changed};
    svc.holding = holding_new(svc.base, &hold_ops);
    struct amresend_ops am_ops = {am_target, &svc};
    svc.amresend = svc.webhooks ? amresend_new(svc.base, svc.webhooks, &am_ops, svc.host) : NULL;
    if (svc.holding)
        svc.silencing = silencing_new(svc.base, svc.store, svc.holding);
    if (svc.webhooks == NULL || svc.holding == NULL || svc.amresend == NULL ||
        svc.silencing == NULL) {
        log_err("cannot set up webhook delivery");
        goto out;
    }
    svc.reloader = reloader_new(svc.base, opts->config_path, &opts->env, reloaded, &svc);
    if (svc.reloader == NULL) {
        log_err("cannot set up reloading");
        goto out;
    }
    svc.sigterm = add_signal(&svc, SIGTERM, stop_cb);
    svc.sigint = add_signal(&svc, SIGINT, stop_cb);
    svc.sighup = add_signal(&svc, SIGHUP, reload_cb);
    svc.sigusr1 = add_signal(&svc, SIGUSR1, usr1_cb);
    svc.status_timer = add_timer(&svc, STATUS_EVERY_US, status_cb);
    svc.hist_timer = add_timer(&svc, HIST_TICK_US, service_hist_tick_cb);
    if (!svc.sigterm || !svc.sigint || !svc.sighup || !svc.sigusr1 || !svc.status_timer ||
        !svc.hist_timer) {
        log_err("cannot set up signal handling");
        goto out;
    }
    service_hold_signals(false); /* what came meanwhile is handled by the loop */
    uint64_t wd = notify_watchdog_usec();
    if (wd && (svc.watchdog_timer = add_timer(&svc, wd / 2, watchdog_cb)) == NULL) {
        log_err("cannot set up the watchdog timer");
        goto out;
    }

    /* Alert state from before a restart: a target still failing is not
     * reported again; one that came back is reported recovered. Targets no
     * longer configured, or disabled, are forgotten, as a reload forgets
     * them: one enabled later starts afresh, with no row left behind. */
    store_state_load(svc.store, load_saved, &svc);
    webhooks_configure(svc.webhooks, cfg);
    webhooks_resume(svc.webhooks);
    monitor_start(svc.monitor, cfg, false);
    forget_unknown(&svc);
    track_targets(&svc);
    holding_configure(svc.holding, svc.monitor);
    amresend_configure(svc.amresend, svc.monitor, cfg); /* what fires is sent again at once */
    free_saved(&svc); /* only for start-up: a target added later starts afresh */
    svc.started_ms = clock_wall_ms();
    if ((svc.httpd = httpd_new(svc.base, service_fill_view, &svc)) == NULL) {
        log_err("cannot set up the HTTP server");
        goto out;
    }
    httpd_configure(svc.httpd, cfg);

    config_summary(cfg, summary, sizeof(summary));
    log_info("upmond %s started: %s", UPMON_VERSION, summary);
    send_status(&svc);
    monitor_plan(svc.monitor, clock_mono_us());
    notify_ready();
    event_base_dispatch(svc.base);
    status = 0;
    if (opts->stats) {
        char *s = stats_text(svc.monitor, svc.webhooks);
        if (s)
            printf("%s\n", s);
        fflush(stdout);
        free(s);
    }
out:
    /* Teardown order: transfers first (monitor, webhooks), then curl's
     * multi handle (http), then the store, then libevent objects, then the
     * base. The monitor stops while everything is whole: the loop turns
     * once more for what the resolver gave up (monitor_drain). */
    svc.stopping = true;
    httpd_free(svc.httpd); /* no request is answered while the rest stops */
    if (svc.monitor)
        monitor_drain(svc.monitor);
    if (svc.store) {
        store_sync(svc.store);
        store_on_reset(svc.store, NULL, &svc);
    }
    reloader_free(svc.reloader); /* a load in flight is waited for, and dropped */
    monitor_free(svc.monitor);
    webhooks_free(svc.webhooks);
    silencing_free(svc.silencing);
    holding_free(svc.holding);
    amresend_free(svc.amresend);
    http_free(svc.http);
    store_close(svc.store);
    histdb_close(svc.histdb); /* after the monitor: the minutes under way were handed over */
    struct event *evs[] = {svc.sigterm,      svc.sigint,         svc.sighup,    svc.sigusr1,
                           svc.status_timer, svc.watchdog_timer, svc.hist_timer};
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        if (evs[i])
            event_free(evs[i]);
    if (svc.base)
        event_base_free(svc.base);
    free_saved(&svc);
    free(svc.vtargets);
    free(svc.vwebhooks);
    config_free(svc.cfg);
    return status;
}
