/* The probe plan: when each target's runs should start, and whether the
 * probes in flight make progress. Pure: time is always an argument, in
 * microseconds of the monotonic clock. The deadlines themselves wait in a
 * timer queue (timerq.h). */
#ifndef UPMON_PLAN_H
#define UPMON_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A target's phase: the start of its plan, within min(interval, 60 s) of
 * now, taken from a hash of its name, so thousands of targets with one
 * interval spread out evenly and a target keeps its phase across restarts. */
int64_t plan_first_due(int64_t now, uint64_t interval_us, uint64_t hash);

/* The first run of one of `count` targets started together: all are
 * probed once soon, spread over min(interval, count ms), at most about a
 * thousand a second, so a few targets are seen at once and many do not
 * all fire in the same millisecond. */
int64_t plan_sweep_due(int64_t now, uint64_t interval_us, uint64_t hash, size_t count);

/* The run after that first one: the first point of the plan (phase plus
 * whole intervals) at least half an interval after it, so the gap between
 * the two is between half and one and a half intervals. From then on
 * plan_next_due keeps the plan. */
int64_t plan_after_sweep(int64_t phase, int64_t swept, uint64_t interval_us, int64_t now,
                         uint64_t *missed);

/* The run after the one planned at `planned`: planned + interval, never
 * computed from when the last run finished, so there is no drift. When the
 * run planned at `planned` started an interval or more late (a suspended
 * machine), the slots of the plan passed by then are skipped rather than
 * fired in a burst; *missed counts them. */
int64_t plan_next_due(int64_t planned, uint64_t interval_us, int64_t now, uint64_t *missed);

/* A retry: a probe retry_us after one that ended at `now` saw a change
 * still to be confirmed, between the runs of the plan, whose next is at
 * `next_planned`. Returns when, or 0 when the retry would fall within
 * half a retry_us of that run (it is left to the run: no two probes close
 * together). The plan itself is not moved: after the retries, the run at
 * next_planned comes as planned. */
int64_t plan_retry_due(int64_t now, uint64_t retry_us, int64_t next_planned);

/* Probes in flight, and whether they make progress (for the watchdog). */
struct plan_flight {
    unsigned n;   /* in flight */
    int64_t mark; /* when the last one ended, or when n last rose from 0 */
};

void plan_flight_start(struct plan_flight *f, int64_t now);
/* One ended with a result. */
void plan_flight_end(struct plan_flight *f, int64_t now);
/* One was stopped before its end. Those left are timed from now (their
 * starts are not kept; none started after now, so this errs towards
 * patience, by at most one limit). */
void plan_flight_cancel(struct plan_flight *f, int64_t now);
/* With probes in flight, one must have ended within `limit` of now, or
 * they must have been in flight for less than that. A quiet time before
 * the first of them started does not count against them. */
bool plan_flight_progressing(const struct plan_flight *f, int64_t now, int64_t limit);

#endif
