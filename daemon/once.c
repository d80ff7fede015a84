/* The --once mode: one loop, one run of every target, a table or JSON. */
#include "once.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "clock.h"
#include "http.h"
#include "log.h"
#include "monitor.h"
#include "report.h"
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
    monitor_start(m, cfg, true);
    monitor_plan(m, clock_mono_us());
    event_base_dispatch(base);

    struct target_rt **t;
    size_t n = monitor_targets(m, &t);
    enum plugin_status status = n ? PLUGIN_OK : PLUGIN_UNKNOWN;
    for (size_t i = 0; i < n; i++)
        status = report_fold(status, &((const struct row *)t[i]->user)->v);
    json_t *rows = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct row *row = t[i]->user;
        text_json_append(rows, report_json(t[i]->conf, &row->r, &row->v));
    }
    if (json) {
        for (size_t i = 0; i < n; i++) {
            char *line =
                json_dumps(json_array_get(rows, i), JSON_COMPACT | JSON_REAL_PRECISION(12));
            if (line)
                puts(line);
            free(line);
        }
    } else if (n) {
        struct buf table = {0};
        report_table(&table, rows, 0, 0);
        fputs(table.data, stdout);
        buf_free(&table);
    } else {
        printf("no enabled targets\n");
    }
    json_decref(rows);
    fflush(stdout);

    monitor_drain(m);
    monitor_free(m);
    http_free(http);
    event_base_free(base);
    return status;
}
