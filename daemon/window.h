/* Maintenance windows: when a target's alerts are held. A window is
 * one-off (from, until) or recurring (a local start time on some days of
 * the week, for a duration, in an IANA time zone).
 *
 * The arithmetic is pure: the time is passed in, and a zone is read once,
 * when the configuration is loaded, into an object of its own (GLib's
 * GTimeZone, which reads the system's TZif files and their POSIX footer
 * rules), so the process's TZ is never touched: the configuration loads
 * on a worker thread while the loop runs.
 *
 * Across the changes of a zone's offset, a recurring window keeps these
 * rules, the ones cron follows for jobs at such times:
 *   - a start that falls in a gap (02:30 on the day clocks spring from
 *     02:00 to 03:00) starts when the gap ends (03:00), and lasts its
 *     whole duration from there;
 *   - a start that happens twice (02:30 on the day clocks fall back from
 *     03:00 to 02:00) starts the first time;
 *   - a duration is elapsed time: a 2h window is two hours long even on
 *     the days that are 23 or 25 hours long. */
#ifndef UPMON_WINDOW_H
#define UPMON_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A time zone, loaded once; shared by reference between the windows that
 * name it (copies of a configuration included). */
struct window_zone;

/* Opens an IANA zone ("Europe/Berlin", "UTC") from the system's zoneinfo
 * ($TZDIR or /usr/share/zoneinfo). Only names as the database writes them
 * are taken: no paths, no POSIX TZ rules, no fixed offsets. NULL with the
 * reason in err when there is no such zone. */
struct window_zone *window_zone_open(const char *name, char *err, size_t errlen);
struct window_zone *window_zone_ref(struct window_zone *z);
void window_zone_free(struct window_zone *z);

/* The zone's offset from UTC, in seconds, at a time in seconds since the
 * epoch. */
int32_t window_zone_offset(const struct window_zone *z, int64_t t);

/* Days of the week, as bits: 1 << 0 is Sunday. */
#define WINDOW_DAILY 0x7fu

/* The names days are written with, Sunday first. */
extern const char *const window_day_names[7];

/* One window, as configured. The text fields are what the configuration
 * said (the schema reads and compares them); the rest is derived from
 * them by window_finish. */
struct window {
    char *name;    /* or NULL */
    char *comment; /* or NULL */
    /* Recurring: start (HH:MM), duration, days, timezone. */
    char *start;
    uint64_t duration_ms;
    uint32_t days;
    char *timezone;
    /* One-off: RFC 3339 times with an offset. */
    char *from;
    char *until;

    /* Derived. */
    bool recurring;
    unsigned start_min; /* minutes after local midnight */
    int64_t from_ms, until_ms;
    struct window_zone *zone; /* of a recurring window */
};

/* When one showing of a window holds: [start_ms, end_ms). */
struct window_span {
    int64_t start_ms, end_ms;
};

/* Reads "HH:MM" (00:00 to 23:59) into minutes after midnight. */
int window_parse_clock(const char *s, unsigned *min);
/* Reads an RFC 3339 time with its offset ("2025-03-30T01:30:00+01:00",
 * "...Z"; a fraction of a second is taken) into ms since the epoch. */
int window_parse_time(const char *s, int64_t *ms);

/* Fills the derived fields from the text ones, which the configuration
 * has already checked; -1 if they do not hold (err says why). */
int window_finish(struct window *w, char *err, size_t errlen);
/* Copies the derived fields of src into dst, whose text fields are
 * copies of src's. */
void window_copy_derived(struct window *dst, const struct window *src);
/* Frees the derived fields (the zone reference). */
void window_clear_derived(struct window *w);

/* Whether now is inside a showing of w; if so, *span is that showing (of
 * two that overlap, the one that ends last). */
bool window_current(const struct window *w, int64_t now_ms, struct window_span *span);

/* The first showing of w to start after now; false when there is none
 * (a one-off window that has begun). */
bool window_next(const struct window *w, int64_t now_ms, struct window_span *span);

/* Whether now is inside any of n windows. If so, *until is when the last
 * of them to hold now ends, counting windows that continue it (one that
 * starts before another ends, or as it ends), and *which is the one that
 * holds now and ends last. */
bool windows_active(const struct window *ws, size_t n, int64_t now_ms, int64_t *until,
                    const struct window **which);

/* The first showing of any of n windows to start after now (of two that
 * start together, the longer), and the window it is of; false when none
 * is to come. */
bool windows_next(const struct window *ws, size_t n, int64_t now_ms, struct window_span *span,
                  const struct window **which);

#endif
