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
#include "state.h"
#include "text.h"
#include "util.h"

/* What one target's probe found. */
struct row {
    struct probe_result r;
    struct verdict v;
};

static void on_result(struct target_rt *rt, const struct probe_result *r, const struct verdict *v,
                      void *arg)
{
    struct row *row = xmalloc(sizeof(*row));
    (void)arg;

    row->r = *r;
    row->v = *v;
    rt->user = row;
}

static void on_forget(struct target_rt *rt, void *arg)
{
    (void)arg;
    free(rt->user);
    rt->user = NULL;
}

static void all_done(void *arg)
{
    event_base_loopbreak(arg);
}

/* The detail column: why it failed, where it redirects, or the phrase. */
static void detail(const struct row *row, char *out, size_t len)
{
    const struct probe_result *r = &row->r;
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
        const struct row *row = t[i]->user;
        char code[8] = "-", lat[16] = "-", raw[768], det[4 * sizeof(raw)];
        if (row->r.code)
            snprintf(code, sizeof(code), "%d", row->r.code);
        if (row->r.total_us >= 0)
            snprintf(lat, sizeof(lat), "%.1f ms", report_ms(row->r.total_us));
        detail(row, raw, sizeof(raw));
        /* It quotes what a site sent (a Location, a message): on the
         * operator's terminal, printable and one row per target. */
        text_sanitize(det, sizeof(det), raw, strlen(raw), TEXT_ESCAPE | TEXT_ELLIPSIS);
        const char *state = state_name(row->v.state);
        if (row->v.error != PERR_NONE && row->v.state == ST_UNREACHABLE)
            state = probe_error_name(row->v.error);
        printf("%-*s  %-12s  %-8s  %4s  %9s  %s\n", wname, t[i]->conf->name, state,
               codes_severity_name(row->v.severity), code, lat, det);
    }
}

int once_run(const struct config *cfg, bool json)
{
    struct event_base *base = http_loop_new();
    if (base == NULL) {
        log_err("cannot create the event loop");
        return PLUGIN_UNKNOWN;
    }
    struct http *http = http_new(base);
    struct monitor_callbacks cb = {
        .result = on_result, .all_done = all_done, .forget = on_forget, .arg = base};
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
        status = report_fold(status, &((const struct row *)t[i]->user)->v);
    if (json) {
        for (size_t i = 0; i < n; i++) {
            const struct row *row = t[i]->user;
            json_t *o = report_json(t[i]->conf, &row->r, &row->v);
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

    monitor_drain(m);
    monitor_free(m);
    http_free(http);
    event_base_free(base);
    return status;
}
