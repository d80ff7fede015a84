/* How one probe result is shown to people and programs: the JSON object of
 * `upmond --once --json` and the exit code of a monitoring plugin. Pure. */
#ifndef UPMON_REPORT_H
#define UPMON_REPORT_H

#include <jansson.h>

#include "config.h"
#include "result.h"
#include "verdict.h"

/* One object: target, url, code, phrase, class, severity, state, error,
 * message, location, latency_ms, timings, time (and cert_expires,
 * cert_subject and cert_issuer). */
json_t *report_json(const struct target_conf *t, const struct probe_result *r,
                    const struct verdict *v);

/* Monitoring-plugin exit codes. */
enum plugin_status {
    PLUGIN_OK = 0,
    PLUGIN_WARNING = 1,
    PLUGIN_CRITICAL = 2,
    PLUGIN_UNKNOWN = 3,
};

/* Folds one more verdict into the overall status: critical beats unknown
 * (a local failure to probe) beats warning beats ok. */
enum plugin_status report_fold(enum plugin_status so_far, const struct verdict *v);

/* Milliseconds, rounded to 0.1, or -1 when the phase was not reached. */
double report_ms(int64_t us);

/* ISO 8601 UTC for a Unix time in milliseconds. */
void report_time(int64_t wall_ms, char *out, size_t len);

#endif
