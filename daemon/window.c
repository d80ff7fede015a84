/* Maintenance windows: zones, showings, and the rules across a zone's
 * changes of offset (see window.h). Every conversion goes through one
 * question put to the zone, its offset at a UTC time, so the rules for
 * gaps and repeated hours are written here once, whatever the zone. */
#include "window.h"

#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "util.h"

const char *const window_day_names[7] = {"sunday",   "monday", "tuesday", "wednesday",
                                         "thursday", "friday", "saturday"};

#define DAY_S  86400
#define DAY_MS (DAY_S * 1000ll)

/* ---- zones ---- */

/* A zone is GLib's, refcounted, immutable and safe to share between
 * threads; the type only keeps glib.h out of the header. */
static GTimeZone *gtz(const struct window_zone *z)
{
    return (GTimeZone *)(uintptr_t)z;
}

/* A name as the tz database writes them: components of letters, digits,
 * '_', '-' and '+', each starting with an upper-case letter ("Etc/GMT+5",
 * "America/Argentina/Buenos_Aires"). That leaves out paths, POSIX TZ
 * strings ("CET-1CEST"), fixed offsets ("+01:00") and the database's own
 * files that are not zones (zone.tab, posixrules, leapseconds). */
static bool zone_name_valid(const char *name)
{
    bool start = true;

    if (strlen(name) > 128)
        return false;
    for (const char *p = name; *p; p++) {
        if (start) {
            if (!(*p >= 'A' && *p <= 'Z'))
                return false;
            start = false;
        } else if (*p == '/') {
            start = true;
        } else if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '+') {
            return false;
        }
    }
    return !start;
}

/* Whether the zone's file is there and is a TZif file: GLib would take
 * another for a POSIX rule, or complain on stderr about its contents. */
static int zone_file_check(const char *name, char *err, size_t errlen)
{
    const char *dir = getenv("TZDIR");
    char *path = xasprintf("%s/%s", dir && dir[0] ? dir : "/usr/share/zoneinfo", name);
    char magic[4];
    FILE *f = fopen(path, "rb");
    int rc = -1;

    if (f == NULL)
        errbuf_set(err, errlen, "unknown time zone \"%s\" (%s: %s)", name, path,
                   errno == ENOENT ? "no such zone in the system's zoneinfo" : strerror(errno));
    else if (fread(magic, 1, sizeof(magic), f) != sizeof(magic) || memcmp(magic, "TZif", 4) != 0)
        errbuf_set(err, errlen, "unknown time zone \"%s\" (%s is not a zone file)", name, path);
    else
        rc = 0;
    if (f)
        fclose(f);
    free(path);
    return rc;
}

struct window_zone *window_zone_open(const char *name, char *err, size_t errlen)
{
    GTimeZone *tz;

    if (!zone_name_valid(name)) {
        errbuf_set(err, errlen,
                   "unknown time zone \"%s\" (use an IANA name such as Europe/Berlin or UTC)",
                   name);
        return NULL;
    }
    /* UTC needs no file: it holds where zoneinfo is not installed. */
    if (strcmp(name, "UTC") != 0 && zone_file_check(name, err, errlen) < 0)
        return NULL;
    tz = g_time_zone_new_identifier(name);
    if (tz == NULL) {
        errbuf_set(err, errlen, "time zone \"%s\" cannot be read", name);
        return NULL;
    }
    return (struct window_zone *)tz;
}

struct window_zone *window_zone_ref(struct window_zone *z)
{
    g_time_zone_ref(gtz(z));
    return z;
}

void window_zone_free(struct window_zone *z)
{
    if (z)
        g_time_zone_unref(gtz(z));
}

int32_t window_zone_offset(const struct window_zone *z, int64_t t)
{
    int i = g_time_zone_find_interval(gtz(z), G_TIME_TYPE_UNIVERSAL, t);

    return g_time_zone_get_offset(gtz(z), i);
}

/* ---- dates ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* 0 is Sunday: 1970-01-01 was a Thursday. */
static unsigned weekday(int64_t days)
{
    return (unsigned)((days % 7 + 7 + 4) % 7);
}

/* ---- local time to UTC ---- */

static int64_t local_of(const struct window_zone *z, int64_t u)
{
    return u + window_zone_offset(z, u);
}

/* The UTC second at which a local wall time (seconds since the epoch, as
 * if the zone were UTC) happens, by window.h's rules: the first of two,
 * or the end of the gap it falls in. The offsets a day either side are
 * the only ones near it (no zone changes twice within two days). */
static int64_t utc_of_local(const struct window_zone *z, int64_t local)
{
    int32_t offs[3] = {window_zone_offset(z, local - DAY_S), window_zone_offset(z, local),
                       window_zone_offset(z, local + DAY_S)};
    int32_t lo = offs[0], hi = offs[0];
    bool found = false;
    int64_t best = 0;

    for (int i = 0; i < 3; i++) {
        int64_t u = local - offs[i];
        if (local_of(z, u) == local && (!found || u < best)) {
            best = u;
            found = true;
        }
        lo = offs[i] < lo ? offs[i] : lo;
        hi = offs[i] > hi ? offs[i] : hi;
    }
    if (found)
        return best;
    /* In a gap: the first second whose local time is past it. Local time
     * only moves forward between local - hi and local - lo here. */
    int64_t a = local - hi, b = local - lo;
    while (a < b) {
        int64_t mid = a + (b - a) / 2;
        if (local_of(z, mid) > local)
            b = mid;
        else
            a = mid + 1;
    }
    return a;
}

/* ---- parsing ---- */

int window_parse_clock(const char *s, unsigned *min)
{
    if (strlen(s) != 5 || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
        s[2] != ':' || !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
        return -1;
    unsigned h = (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
    unsigned m = (unsigned)(s[3] - '0') * 10 + (unsigned)(s[4] - '0');
    if (h > 23 || m > 59)
        return -1;
    *min = h * 60 + m;
    return 0;
}

/* RFC 3339's date-time, which ISO 8601 (GLib's parser) is wider than. */
#define RFC3339                                                                                    \
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt "                                                              \
    "][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"

int window_parse_time(const char *s, int64_t *ms)
{
    regex_t re;
    char buf[64];
    size_t len = strlen(s);

    if (len >= sizeof(buf) || regcomp(&re, RFC3339, REG_EXTENDED | REG_NOSUB) != 0)
        return -1;
    int match = regexec(&re, s, 0, NULL, 0);
    regfree(&re);
    if (match != 0)
        return -1;
    memcpy(buf, s, len + 1);
    buf[10] = 'T';
    if (buf[len - 1] == 'z')
        buf[len - 1] = 'Z';
    GDateTime *dt = g_date_time_new_from_iso8601(buf, NULL);
    if (dt == NULL)
        return -1; /* February 30th, 25:00, an offset of +99:00 */
    *ms = g_date_time_to_unix(dt) * 1000 + g_date_time_get_microsecond(dt) / 1000;
    g_date_time_unref(dt);
    return 0;
}

/* ---- windows ---- */

int window_finish(struct window *w, char *err, size_t errlen)
{
    window_clear_derived(w);
    w->recurring = w->start != NULL;
    if (w->recurring) {
        if (window_parse_clock(w->start, &w->start_min) < 0) {
            errbuf_set(err, errlen, "start \"%s\" is not HH:MM", w->start);
            return -1;
        }
        w->zone = window_zone_open(w->timezone ? w->timezone : "UTC", err, errlen);
        return w->zone ? 0 : -1;
    }
    if (!w->from || !w->until || window_parse_time(w->from, &w->from_ms) < 0 ||
        window_parse_time(w->until, &w->until_ms) < 0) {
        errbuf_set(err, errlen, "a window needs start, or from and until");
        return -1;
    }
    return 0;
}

void window_copy_derived(struct window *dst, const struct window *src)
{
    window_clear_derived(dst);
    dst->recurring = src->recurring;
    dst->start_min = src->start_min;
    dst->from_ms = src->from_ms;
    dst->until_ms = src->until_ms;
    dst->zone = src->zone ? window_zone_ref(src->zone) : NULL;
}

void window_clear_derived(struct window *w)
{
    window_zone_free(w->zone);
    w->zone = NULL;
    w->recurring = false;
    w->start_min = 0;
    w->from_ms = w->until_ms = 0;
}

/* The showing of a recurring window on a local date, if it has one. */
static bool showing_on(const struct window *w, int64_t day, struct window_span *span)
{
    if (!(w->days & (1u << weekday(day))))
        return false;
    span->start_ms = utc_of_local(w->zone, day * DAY_S + (int64_t)w->start_min * 60) * 1000;
    span->end_ms = span->start_ms + (int64_t)w->duration_ms;
    return true;
}

/* The local date of a time. */
static int64_t local_day(const struct window *w, int64_t now_ms)
{
    return floor_div(local_of(w->zone, floor_div(now_ms, 1000)), DAY_S);
}

bool window_current(const struct window *w, int64_t now_ms, struct window_span *span)
{
    struct window_span s;
    bool found = false;

    if (!w->recurring) {
        if (now_ms < w->from_ms || now_ms >= w->until_ms)
            return false;
        *span = (struct window_span){w->from_ms, w->until_ms};
        return true;
    }
    /* A showing that holds now began at most its duration ago: on one of
     * the dates since then (a day more for the zone's offset). */
    int64_t today = local_day(w, now_ms);
    for (int64_t d = today - (int64_t)(w->duration_ms / DAY_MS) - 2; d <= today; d++) {
        if (showing_on(w, d, &s) && s.start_ms <= now_ms && now_ms < s.end_ms &&
            (!found || s.end_ms > span->end_ms)) {
            *span = s;
            found = true;
        }
    }
    return found;
}

bool window_next(const struct window *w, int64_t now_ms, struct window_span *span)
{
    struct window_span s;

    if (!w->recurring) {
        if (w->from_ms <= now_ms)
            return false;
        *span = (struct window_span){w->from_ms, w->until_ms};
        return true;
    }
    /* Every day of the week comes within eight local dates. */
    int64_t today = local_day(w, now_ms);
    for (int64_t d = today; d <= today + 8; d++)
        if (showing_on(w, d, &s) && s.start_ms > now_ms) {
            *span = s;
            return true;
        }
    return false;
}

bool windows_active(const struct window *ws, size_t n, int64_t now_ms, int64_t *until,
                    const struct window **which)
{
    struct window_span s;
    bool found = false;

    for (size_t i = 0; i < n; i++) {
        if (window_current(&ws[i], now_ms, &s) && (!found || s.end_ms > *until)) {
            *until = s.end_ms;
            if (which)
                *which = &ws[i];
            found = true;
        }
    }
    if (!found)
        return false;
    /* Windows that take over as another ends: a hold lasts through them.
     * Each round moves the end forward; a few rounds are all that real
     * configurations need, and the bound keeps a pathological one cheap. */
    for (int round = 0; round < 32; round++) {
        bool longer = false;
        for (size_t i = 0; i < n; i++) {
            if (window_current(&ws[i], *until, &s) && s.end_ms > *until) {
                *until = s.end_ms;
                longer = true;
            }
        }
        if (!longer)
            break;
    }
    return true;
}

bool windows_next(const struct window *ws, size_t n, int64_t now_ms, struct window_span *span,
                  const struct window **which)
{
    struct window_span s;
    bool found = false;

    for (size_t i = 0; i < n; i++) {
        if (window_next(&ws[i], now_ms, &s) &&
            (!found || s.start_ms < span->start_ms ||
             (s.start_ms == span->start_ms && s.end_ms > span->end_ms))) {
            *span = s;
            if (which)
                *which = &ws[i];
            found = true;
        }
    }
    return found;
}
