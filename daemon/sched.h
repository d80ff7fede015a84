/* The probe schedule: a binary min-heap of deadlines whose items are embedded
 * in their owners (h2o's timers), and the arithmetic of plans. Pure: time is
 * always an argument, in microseconds of the monotonic clock. The shell arms
 * one libevent timer for the earliest deadline. */
#ifndef UPMON_SCHED_H
#define UPMON_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sched_item {
    int64_t due;
    size_t index; /* position in the heap; SIZE_MAX when not scheduled */
};

struct sched {
    struct sched_item **heap;
    size_t n, cap;
};

void sched_init(struct sched *s);
void sched_free(struct sched *s);
void sched_item_init(struct sched_item *it);
bool sched_pending(const struct sched_item *it);

/* Adds it, or moves it if already scheduled. */
void sched_add(struct sched *s, struct sched_item *it, int64_t due);
void sched_remove(struct sched *s, struct sched_item *it);
/* The earliest item, or NULL. */
struct sched_item *sched_peek(const struct sched *s);
/* Removes and returns the earliest item due at or before now, or NULL. */
struct sched_item *sched_pop_due(struct sched *s, int64_t now);

/* A target's phase: the start of its plan, within min(interval, 60 s) of
 * now, taken from a hash of its name, so thousands of targets with one
 * interval spread out evenly and a target keeps its phase across restarts. */
int64_t sched_first_due(int64_t now, uint64_t interval_us, uint64_t hash);

/* The first run of one of `count` targets started together: all are
 * probed once soon, spread over min(interval, count ms), at most about a
 * thousand a second, so a few targets are seen at once and many do not
 * all fire in the same millisecond. */
int64_t sched_sweep_due(int64_t now, uint64_t interval_us, uint64_t hash, size_t count);

/* The run after that first one: the first point of the plan (phase plus
 * whole intervals) at least half an interval after it, so the gap between
 * the two is between half and one and a half intervals. From then on
 * sched_next_due keeps the plan. */
int64_t sched_after_sweep(int64_t phase, int64_t swept, uint64_t interval_us, int64_t now,
                          uint64_t *missed);

/* The run after the one planned at `planned`: planned + interval, never
 * computed from when the last run finished, so there is no drift. When the
 * run planned at `planned` started an interval or more late (a suspended
 * machine), the slots of the plan passed by then are skipped rather than
 * fired in a burst; *missed counts them. */
int64_t sched_next_due(int64_t planned, uint64_t interval_us, int64_t now, uint64_t *missed);

/* Probes in flight, and whether they make progress (for the watchdog). */
struct sched_flight {
    unsigned n;   /* in flight */
    int64_t mark; /* when the last one ended, or when n last rose from 0 */
};

void sched_flight_start(struct sched_flight *f, int64_t now);
/* One ended with a result. */
void sched_flight_end(struct sched_flight *f, int64_t now);
/* One was stopped before its end. Those left are timed from now (their
 * starts are not kept; none started after now, so this errs towards
 * patience, by at most one limit). */
void sched_flight_cancel(struct sched_flight *f, int64_t now);
/* With probes in flight, one must have ended within `limit` of now, or
 * they must have been in flight for less than that. A quiet time before
 * the first of them started does not count against them. */
bool sched_flight_progressing(const struct sched_flight *f, int64_t now, int64_t limit);

#endif
