/* Result reports: --once's JSON and table, upmonctl's table, times. */
#include "report.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codes.h"
#include "duration.h"
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

/* n decimal digits at s, or -1. */
static int digits(const char *s, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int report_parse_time(const char *s, int64_t *ms)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    size_t len = strlen(s);

    if (len >= 1 && len <= 11 && strspn(s, "0123456789") == len) {
        *ms = strtoll(s, NULL, 10) * 1000;
        return 0;
    }
    /* YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM) */
    if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        s[13] != ':' || s[16] != ':')
        return -1;
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
    int h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 ||
        sec > 60 || d > mdays[mo - 1] + (mo == 2 && leap(y)))
        return -1;
    const char *p = s + 19;
    int64_t frac_ms = 0;
    if (*p == '.') {
        int nd = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, nd++)
            if (nd < 3)
                frac_ms = frac_ms * 10 + (*p - '0');
        if (nd == 0)
            return -1;
        for (; nd < 3; nd++)
            frac_ms *= 10;
    }
    int64_t offset_s = 0;
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
        offset_s = 0;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
        int oh = digits(p + 1, 2), om = digits(p + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return -1;
        offset_s = (*p == '-' ? -1 : 1) * (int64_t)(oh * 3600 + om * 60);
    } else {
        return -1;
    }
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = sec};
    int64_t t = (int64_t)timegm(&tm) - offset_s;
    if (t < 0)
        return -1;
    *ms = t * 1000 + frac_ms;
    return 0;
}

static void appendf(struct buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void appendf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    if (s == NULL)
        return;
    buf_append(b, s, strlen(s));
    free(s);
}

static const char *get_str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* The detail column: why it failed, where it redirects, or the phrase. */
static void detail(const json_t *row, char *out, size_t len)
{
    const char *phrase = json_string_value(json_object_get(row, "phrase"));
    const char *location = get_str(row, "location"), *message = get_str(row, "message");
    int code = (int)json_integer_value(json_object_get(row, "code"));

    if (location[0])
        snprintf(out, len, "%s -> %s", phrase ? phrase : "", location);
    else if (message[0])
        snprintf(out, len, "%s%s%s", phrase ? phrase : "", phrase ? ": " : "", message);
    else if (phrase)
        snprintf(out, len, "%s", phrase);
    else if (code)
        snprintf(out, len, "(unregistered %s)", codes_class_name(codes_class(code)));
    else
        out[0] = '\0';
}

/* A cell padded to width, in colour when asked: the padding stays
 * outside the escapes so that the columns line up. */
static void cell(struct buf *b, const char *text, int width, const char *color)
{
    int pad = width - (int)strlen(text);

    if (color)
        appendf(b, "\033[%sm%s\033[0m", color, text);
    else
        appendf(b, "%s", text);
    if (pad > 0)
        appendf(b, "%*s", pad, "");
}

static const char *severity_color(const char *severity)
{
    return strcmp(severity, "ok") == 0         ? "32"
           : strcmp(severity, "warning") == 0  ? "33"
           : strcmp(severity, "critical") == 0 ? "1;31"
                                               : NULL;
}

void report_table(struct buf *out, const json_t *rows, unsigned flags, int64_t now_ms)
{
    bool live = flags & REPORT_LIVE, color = flags & REPORT_COLOR;
    size_t n = json_array_size(rows);
    int wname = 6;
    char name[4 * 256];

    for (size_t i = 0; i < n; i++) {
        const char *t = get_str(json_array_get(rows, i), "target");
        int len = (int)text_sanitize(name, sizeof(name), t, strlen(t), TEXT_ESCAPE);
        if (len > wname)
            wname = len;
    }
    appendf(out, "%-*s  %-12s  %s%-8s  %4s  %9s  %s%s\n", wname, "TARGET", "STATE",
            live ? "FOR       " : "", "SEVERITY", "CODE", "LATENCY", live ? " UPTIME  " : "",
            "DETAIL");
    for (size_t i = 0; i < n; i++) {
        const json_t *row = json_array_get(rows, i);
        const char *t = get_str(row, "target"), *severity = get_str(row, "severity");
        const char *state = get_str(row, live ? "confirmed" : "state");
        const char *error = json_string_value(json_object_get(row, "error"));
        json_t *code = json_object_get(row, "code"), *lat = json_object_get(row, "latency_ms");
        char codes[8] = "-", lats[16] = "-", raw[768], det[4 * sizeof(raw)];

        text_sanitize(name, sizeof(name), t, strlen(t), TEXT_ESCAPE);
        if (json_is_integer(code))
            snprintf(codes, sizeof(codes), "%d", (int)json_integer_value(code));
        if (json_is_number(lat))
            snprintf(lats, sizeof(lats), "%.1f ms", json_number_value(lat));
        detail(row, raw, sizeof(raw));
        /* It quotes what a site sent (a Location, a message): on the
         * operator's terminal, printable and one row per target. */
        text_sanitize(det, sizeof(det), raw, strlen(raw), TEXT_ESCAPE | TEXT_ELLIPSIS);
        if (!live && error && strcmp(state, "unreachable") == 0)
            state = error;
        if (state[0] == '\0')
            state = "-";
        appendf(out, "%-*s  ", wname, name);
        cell(out, state, 12, color ? severity_color(severity) : NULL);
        appendf(out, "  ");
        if (live) {
            int64_t since;
            char dur[32] = "-";
            if (report_parse_time(get_str(row, "since"), &since) == 0 && now_ms >= since) {
                /* To the second, to the minute beyond a day. */
                uint64_t ms = (uint64_t)(now_ms - since);
                ms = ms >= 86400000 ? ms / 60000 * 60000 : ms / 1000 * 1000;
                if (ms)
                    duration_format(ms, dur, sizeof(dur));
                else
                    snprintf(dur, sizeof(dur), "0s");
            }
            appendf(out, "%-8s  ", dur);
        }
        cell(out, severity[0] ? severity : "-", 8, color ? severity_color(severity) : NULL);
        appendf(out, "  %4s  %9s  ", codes, lats);
        if (live) {
            json_t *up = json_object_get(json_object_get(row, "uptime"), "24h");
            char ups[16] = "-";
            if (json_is_number(up))
                snprintf(ups, sizeof(ups), "%.2f%%", 100 * json_number_value(up));
            appendf(out, "%7s  ", ups);
        }
        appendf(out, "%s\n", det);
    }
}
