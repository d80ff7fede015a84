/* The --once mode: one loop, one run of every target, a table or JSON. */
#include "once.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "clock.h"
#include "codes.h"
#include "http.h"
#include "log.h"
#include "monitor.h"
#include "report.h"

static void all_done(void *arg)
{
    event_base_loopbreak(arg);
}

/* The detail column: why it failed, where it redirects, or the phrase. */
static void detail(const struct target_rt *rt, char *out, size_t len)
{
    const struct probe_result *r = &rt->last;
    const char *phrase = codes_phrase(r->code);

    if (r->location[0])
        snprintf(out, len, "%s -> %s", phrase ? phrase : "", r->location);
    else if (r->message[0])
        snprintf(out, len, "%s%s%s", phrase ? phrase : "", phrase ? ": " : "", r->message);
    else if (phrase)
        snprintf(out, len, "%s", phrase);
    else if (r->code)
        snprintf(out, len, "(unregistered %s)", codes_class_name(codes_class(r->code)));
    else
        out[0] = '\0';
}

static void print_table(struct target_rt **t, size_t n)
{
    int wname = 6;

    for (size_t i = 0; i < n; i++) {
        int len = (int)strlen(t[i]->conf->name);
        if (len > wname)
            wname = len;
    }
    printf("%-*s  %-12s  %-8s  %4s  %9s  %s\n", wname, "TARGET", "STATE", "SEVERITY", "CODE",
           "LATENCY", "DETAIL");
    for (size_t i = 0; i < n; i++) {
        const struct target_rt *rt = t[i];
        char code[8] = "-", lat[16] = "-", det[768];
        if (rt->last.code)
            snprintf(code, sizeof(code), "%d", rt->last.code);
        if (rt->last.total_us >= 0)
            snprintf(lat, sizeof(lat), "%.1f ms", report_ms(rt->last.total_us));
        detail(rt, det, sizeof(det));
        const char *state = state_name(rt->verdict.state);
        if (rt->verdict.error != PERR_NONE && rt->verdict.state == ST_UNREACHABLE)
            state = probe_error_name(rt->verdict.error);
        printf("%-*s  %-12s  %-8s  %4s  %9s  %s\n", wname, rt->conf->name, state,
               codes_severity_name(rt->verdict.severity), code, lat, det);
    }
}

int once_run(const struct config *cfg, bool json)
{
    struct event_config *ecfg = event_config_new();
    event_config_set_flag(ecfg, EVENT_BASE_FLAG_NOLOCK | EVENT_BASE_FLAG_PRECISE_TIMER);
    struct event_base *base = event_base_new_with_config(ecfg);
    event_config_free(ecfg);
    if (base == NULL) {
        log_err("cannot create the event loop");
        return PLUGIN_UNKNOWN;
    }
    struct http *http = http_new(base);
    struct monitor_callbacks cb = {.all_done = all_done, .arg = base};
    struct monitor *m = http ? monitor_new(base, http, &cb) : NULL;
    if (m == NULL) {
        log_err("cannot set up the probe engine");
        http_free(http);
        event_base_free(base);
        return PLUGIN_UNKNOWN;
    }
    monitor_start(m, cfg, true, clock_mono_us());
    event_base_dispatch(base);

    struct target_rt **t;
    size_t n = monitor_targets(m, &t);
    enum plugin_status status = n ? PLUGIN_OK : PLUGIN_UNKNOWN;
    for (size_t i = 0; i < n; i++)
        status = report_fold(status, &t[i]->verdict);
    if (json) {
        for (size_t i = 0; i < n; i++) {
            json_t *o = report_json(t[i]->conf, &t[i]->last, &t[i]->verdict);
            char *line = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(12));
            if (line)
                puts(line);
            free(line);
            json_decref(o);
        }
    } else if (n) {
        print_table(t, n);
    } else {
        printf("no enabled targets\n");
    }
    fflush(stdout);

    monitor_free(m);
    http_free(http);
    event_base_free(base);
    return status;
}
