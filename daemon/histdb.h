/* The history database: STATE_DIRECTORY/history.db (SQLite, WAL), apart
 * from the alert state's upmon.db so that years of buckets never slow or
 * endanger alerts. Closed minute buckets and incident changes are handed
 * over from the loop and written in batches on a thread of its own; the
 * loop never waits on this disk. Once an hour is over its minutes are
 * summed into an hourly bucket, once a UTC day is over its hours into a
 * daily one; minutes are deleted after history.compact_after, everything
 * after history.retention, on that thread too. A target removed from the
 * configuration keeps its rows until retention ends. */
#ifndef UPMON_HISTDB_H
#define UPMON_HISTDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "config.h"
#include "history.h"

struct histdb;

/* Opens (creating, mode 0600) DIR/history.db. NULL with a reason in err
 * when it cannot; the daemon then runs without history. */
struct histdb *histdb_open(struct event_base *base, const char *dir, const struct config *cfg,
                           char *err, size_t errlen);
/* Writes what was handed over, then closes. */
void histdb_close(struct histdb *db);
/* retention and compact_after of the live configuration (every reload). */
void histdb_configure(struct histdb *db, const struct config *cfg);

/* At start, on the loop: what memory holds of a target (its hour and day
 * totals, its last closed incidents and its open one), and the next
 * incident id. */
void histdb_restore(struct histdb *db, const char *target, struct htarget *h, int64_t now_ms);
/* The same for many targets at once (at start: ten thousand in one pass
 * over the recent rows instead of a few hundred lookups each): find gives
 * the htarget of a name, or NULL for one to leave alone. When few of them
 * have rows, those are read one by one instead (below). */
void histdb_restore_all(struct histdb *db, int64_t now_ms,
                        struct htarget *(*find)(const char *target, void *arg), void *arg);
/* Reading one target's rows by itself (some 115 lookups: 1.3 ms at 90
 * days) costs about what a pass over the rows of this many targets does
 * (23 us a target at 10,000): histdb_restore_all reads targets one by one
 * while they are fewer than the targets in the database divided by this. */
#define HISTDB_RESTORE_RATIO 64
uint64_t histdb_next_incident_id(struct histdb *db);

/* Handed over from the loop, written later on the database's thread. */
void histdb_put_bucket(struct histdb *db, const char *target, const struct hbucket *b);
void histdb_put_incident(struct histdb *db, const char *target, const struct incident *inc);

/* Read on the loop (bounded work, for the API): a target's buckets from
 * from_ms (rounded down to a minute) to to_ms summed by step_ms (at most
 * HISTDB_MAX_POINTS steps), what is not yet written included. *out (to
 * free) holds one bucket per step, start_ms its start, probes 0 where
 * nothing was recorded. Whole UTC days and hours are read from the day
 * and hour rows; minutes are kept for history.compact_after only, so a
 * step that is not a whole number of hours sees nothing before that.
 * -1 when step_ms is not a whole number of minutes, the range is empty,
 * or it would take more than HISTDB_MAX_POINTS steps or
 * HISTDB_MAX_LOOKUPS rows (ask with a coarser step). */
#define HISTDB_MAX_POINTS  2000
#define HISTDB_MAX_LOOKUPS 20000
int histdb_series(struct histdb *db, const char *target, int64_t from_ms, int64_t to_ms,
                  int64_t step_ms, struct hbucket **out, size_t *n);

/* An incident with its target's name. */
struct incident_row {
    char *target;
    struct incident inc;
};
/* Incidents that began before before_ms (0: any), newest first, at most
 * limit, of one target or (target NULL) of all; what is not yet written
 * included. *out to free with histdb_rows_free. */
int histdb_incidents(struct histdb *db, const char *target, int64_t before_ms, size_t limit,
                     struct incident_row **out, size_t *n);
void histdb_rows_free(struct incident_row *rows, size_t n);

#endif
