/* The daemon proper. Signals arrive as libevent signal events, so nothing
 * runs inside a signal handler. */
#include "service.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "clock.h"
#include "codes.h"
#include "http.h"
#include "log.h"
#include "monitor.h"
#include "report.h"

struct service {
    const struct service_opts *opts;
    struct event_base *base;
    struct http *http;
    struct monitor *monitor;
    struct config *cfg;
    struct event *sigterm, *sigint, *sigusr1;
};

/* Runtime state the service keeps per target. */
struct tstate {
    enum target_state state;
};

static void on_result(struct target_rt *rt, int64_t now, void *arg)
{
    struct tstate *ts = rt->user;
    const struct probe_result *r = &rt->last;
    const struct verdict *v = &rt->verdict;
    (void)now;
    (void)arg;

    if (ts == NULL)
        ts = rt->user = xcalloc(1, sizeof(*ts));
    if (ts->state == v->state)
        return;
    const char *phrase = codes_phrase(r->code);
    char what[640];
    if (r->code && codes_valid(r->code))
        snprintf(what, sizeof(what), "%d %s%s%s", r->code, phrase ? phrase : "(unregistered)",
                 r->location[0] ? " -> " : "", r->location);
    else
        snprintf(what, sizeof(what), "%s: %s", probe_error_name(v->error), r->message);
    log_info("%s: %s -> %s (%s)", rt->conf->name, state_name(ts->state), state_name(v->state),
             what);
    ts->state = v->state;
}

static void on_forget(struct target_rt *rt, void *arg)
{
    (void)arg;
    free(rt->user);
    rt->user = NULL;
}

static json_t *stats_json(const struct monitor_stats *s, unsigned inflight)
{
    json_t *o = json_object();

    json_object_set_new(o, "started", json_integer((json_int_t)s->started));
    json_object_set_new(o, "completed", json_integer((json_int_t)s->completed));
    json_object_set_new(o, "late", json_integer((json_int_t)s->late));
    json_object_set_new(o, "skipped", json_integer((json_int_t)s->skipped));
    json_object_set_new(o, "dropped", json_integer((json_int_t)s->dropped));
    json_object_set_new(o, "cancelled", json_integer((json_int_t)s->cancelled));
    json_object_set_new(o, "in_flight", json_integer(inflight));
    json_object_set_new(o, "lateness_p50_ms",
                        json_real(report_ms(monitor_lateness_percentile(s, 0.50))));
    json_object_set_new(o, "lateness_p99_ms",
                        json_real(report_ms(monitor_lateness_percentile(s, 0.99))));
    json_object_set_new(o, "lateness_max_ms", json_real(report_ms(s->lateness_max_us)));
    return o;
}

static void log_stats(struct service *svc)
{
    json_t *o = stats_json(monitor_stats(svc->monitor), monitor_in_flight(svc->monitor));
    char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(12));
    log_notice("statistics: %s", s ? s : "?");
    free(s);
    json_decref(o);
}

static void stop_cb(evutil_socket_t sig, short what, void *arg)
{
    struct service *svc = arg;
    (void)what;

    log_info("%s received, stopping", strsignal((int)sig));
    event_base_loopbreak(svc->base);
}

static void usr1_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    log_stats(arg);
}

int service_run(struct config *cfg, const struct service_opts *opts)
{
    struct service svc = {.opts = opts, .cfg = cfg};
    struct monitor_callbacks cb = {.result = on_result, .forget = on_forget, .arg = &svc};
    int status = 1;
    char summary[256];

    struct event_config *ecfg = event_config_new();
    event_config_set_flag(ecfg, EVENT_BASE_FLAG_NOLOCK | EVENT_BASE_FLAG_PRECISE_TIMER);
    svc.base = event_base_new_with_config(ecfg);
    event_config_free(ecfg);
    if (svc.base == NULL) {
        log_err("cannot create the event loop");
        goto out;
    }
    svc.http = http_new(svc.base);
    if (svc.http == NULL || (svc.monitor = monitor_new(svc.base, svc.http, &cb)) == NULL) {
        log_err("cannot set up the probe engine");
        goto out;
    }
    svc.sigterm = evsignal_new(svc.base, SIGTERM, stop_cb, &svc);
    svc.sigint = evsignal_new(svc.base, SIGINT, stop_cb, &svc);
    svc.sigusr1 = evsignal_new(svc.base, SIGUSR1, usr1_cb, &svc);
    if (!svc.sigterm || !svc.sigint || !svc.sigusr1 || evsignal_add(svc.sigterm, NULL) < 0 ||
        evsignal_add(svc.sigint, NULL) < 0 || evsignal_add(svc.sigusr1, NULL) < 0) {
        log_err("cannot install signal handlers");
        goto out;
    }

    monitor_start(svc.monitor, cfg, false, clock_mono_us());
    config_summary(cfg, summary, sizeof(summary));
    log_info("upmond %s started: %s", UPMON_VERSION, summary);
    event_base_dispatch(svc.base);
    status = 0;
    if (opts->stats) {
        json_t *o = stats_json(monitor_stats(svc.monitor), monitor_in_flight(svc.monitor));
        char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(12));
        if (s)
            printf("%s\n", s);
        fflush(stdout);
        free(s);
        json_decref(o);
    }
out:
    /* Teardown order: transfers first (monitor), then curl's multi handle
     * (http), then libevent objects, then the base. */
    monitor_free(svc.monitor);
    http_free(svc.http);
    if (svc.sigterm)
        event_free(svc.sigterm);
    if (svc.sigint)
        event_free(svc.sigint);
    if (svc.sigusr1)
        event_free(svc.sigusr1);
    if (svc.base)
        event_base_free(svc.base);
    config_free(svc.cfg);
    return status;
}
