/* Result reports for --once. */
#include "report.h"

#include <math.h>
#include <time.h>

#include "codes.h"
#include "state.h"

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

    json_object_set_new(o, "target", json_string(t->name));
    json_object_set_new(o, "url", json_string(t->shown_url));
    json_object_set_new(o, "code", r->code ? json_integer(r->code) : json_null());
    json_object_set_new(o, "phrase", phrase ? json_string(phrase) : json_null());
    json_object_set_new(o, "class", json_string(codes_class_name(v->cls)));
    json_object_set_new(o, "severity", json_string(codes_severity_name(v->severity)));
    json_object_set_new(o, "state", json_string(state_name(v->state)));
    json_object_set_new(
        o, "error", v->error == PERR_NONE ? json_null() : json_string(probe_error_name(v->error)));
    json_object_set_new(o, "message", r->message[0] ? json_string(r->message) : json_null());
    json_object_set_new(o, "location", r->location[0] ? json_string(r->location) : json_null());
    json_object_set_new(o, "latency_ms", ms_or_null(r->total_us));
    json_t *tm = json_object();
    json_object_set_new(tm, "dns_ms", ms_or_null(r->dns_us));
    json_object_set_new(tm, "connect_ms", ms_or_null(r->connect_us));
    json_object_set_new(tm, "tls_ms", ms_or_null(r->tls_us));
    json_object_set_new(tm, "first_byte_ms", ms_or_null(r->ttfb_us));
    json_object_set_new(tm, "total_ms", ms_or_null(r->total_us));
    json_object_set_new(o, "timings", tm);
    if (r->cert_not_after > 0) {
        report_time(r->cert_not_after * 1000, when, sizeof(when));
        json_object_set_new(o, "cert_expires", json_string(when));
        json_object_set_new(o, "cert_subject", json_string(r->cert_subject));
        json_object_set_new(o, "cert_issuer", json_string(r->cert_issuer));
    }
    if (r->started_wall_ms > 0) {
        report_time(r->started_wall_ms, when, sizeof(when));
        json_object_set_new(o, "time", json_string(when));
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
