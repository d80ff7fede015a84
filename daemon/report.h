/* How one probe result is shown to people and programs: the JSON object of
 * `upmond --once --json` and the exit code of a monitoring plugin. Pure. */
#ifndef UPMON_REPORT_H
#define UPMON_REPORT_H

#include <jansson.h>

#include "config.h"
#include "util.h"
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

/* The other way, as a person or a query gives a time: RFC 3339
 * ("2024-05-01T12:00:00Z", a fraction and an offset allowed, report_time's
 * form among them) or Unix seconds. -1 when it is neither, or before
 * 1970. */
int report_parse_time(const char *s, int64_t *ms);

/* What report_table adds. */
#define REPORT_COLOR 0x1u /* states and severities in colour, for a terminal */
#define REPORT_LIVE  0x2u /* the running daemon's: the confirmed state, for how long, uptime */

/* The table of `upmond --once` and `upmonctl status`, into out: a header,
 * then a row per object of rows (report_json's, as many as there are):
 * TARGET, STATE, SEVERITY, CODE, LATENCY and DETAIL (why it failed, where
 * it redirects, or the code's phrase, made printable: it quotes the
 * site). REPORT_LIVE takes the objects of the API's /api/v1/targets: the
 * STATE is the confirmed one, FOR how long it has lasted at now_ms, and
 * UPTIME that of the last 24 hours. */
void report_table(struct buf *out, const json_t *rows, unsigned flags, int64_t now_ms);

#endif
