/* Result reports for --once. */
#include "report.h"

#include <math.h>
#include <time.h>

#include "codes.h"
#include "state.h"
#include "text.h"

double report_ms(int64_t us)
{
    if (us < 0)
        return -1;
    return round((double)us / 100.0) / 10.0;
}

void report_time(int64_t wall_ms, char *out, size_t len)
{
    time_t secs = (time_t)(wall_ms / 1000);
    struct tm tm;
    char base[32];

    gmtime_r(&secs, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, len, "%s.%03dZ", base, (int)(wall_ms % 1000));
}

static json_t *ms_or_null(int64_t us)
{
    return us < 0 ? json_null() : json_real(report_ms(us));
}

json_t *report_json(const struct target_conf *t, const struct probe_result *r,
                    const struct verdict *v)
{
    const char *phrase = codes_phrase(r->code);
    char when[40];
    json_t *o = json_object();

    text_json_set(o, "target", text_json(t->name));
    text_json_set(o, "url", text_json(t->shown_url));
    text_json_set(o, "code", r->code ? json_integer(r->code) : json_null());
    text_json_set(o, "phrase", phrase ? text_json(phrase) : json_null());
    text_json_set(o, "class", text_json(codes_class_name(v->cls)));
    text_json_set(o, "severity", text_json(codes_severity_name(v->severity)));
    text_json_set(o, "state", text_json(state_name(v->state)));
    text_json_set(o, "error",
                  v->error == PERR_NONE ? json_null() : text_json(probe_error_name(v->error)));
    text_json_set(o, "message", r->message[0] ? text_json(r->message) : json_null());
    text_json_set(o, "location", r->location[0] ? text_json(r->location) : json_null());
    text_json_set(o, "latency_ms", ms_or_null(r->total_us));
    json_t *tm = json_object();
    text_json_set(tm, "dns_ms", ms_or_null(r->dns_us));
    text_json_set(tm, "connect_ms", ms_or_null(r->connect_us));
    text_json_set(tm, "tls_ms", ms_or_null(r->tls_us));
    text_json_set(tm, "first_byte_ms", ms_or_null(r->ttfb_us));
    text_json_set(tm, "total_ms", ms_or_null(r->total_us));
    text_json_set(o, "timings", tm);
    if (r->cert_not_after > 0) {
        report_time(r->cert_not_after * 1000, when, sizeof(when));
        text_json_set(o, "cert_expires", text_json(when));
        text_json_set(o, "cert_subject", text_json(r->cert_subject));
        text_json_set(o, "cert_issuer", text_json(r->cert_issuer));
    }
    if (r->started_wall_ms > 0) {
        report_time(r->started_wall_ms, when, sizeof(when));
        text_json_set(o, "time", text_json(when));
    }
    return o;
}

enum plugin_status report_fold(enum plugin_status so_far, const struct verdict *v)
{
    static const int rank[] = {
        [PLUGIN_OK] = 0, [PLUGIN_WARNING] = 1, [PLUGIN_UNKNOWN] = 2, [PLUGIN_CRITICAL] = 3};
    enum plugin_status s;

    if (v->error == PERR_INTERNAL)
        s = PLUGIN_UNKNOWN;
    else if (v->severity == SEV_CRITICAL)
        s = PLUGIN_CRITICAL;
    else if (v->severity == SEV_WARNING)
        s = PLUGIN_WARNING;
    else
        s = PLUGIN_OK;
    return rank[s] > rank[so_far] ? s : so_far;
}
