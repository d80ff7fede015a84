/* Few log lines for many like events. The first event after a quiet
 * spell is told at once; those that follow within an interval of the last
 * line are counted and told together in one line when it ends. A receiver
 * that fails ten thousand attempts a minute costs one line a minute, and
 * the line says how many. Pure: time is an argument, in any unit of a
 * monotonic clock, the same in every call. */
#ifndef UPMON_TALLY_H
#define UPMON_TALLY_H

#include <stdbool.h>
#include <stdint.h>

struct tally {
    uint64_t count; /* events not told yet */
    int64_t since;  /* when the first of them came */
    int64_t due;    /* when they are to be told */
    int64_t told;   /* when the last line was told... */
    bool ever_told; /* ...if one was */
};

void tally_init(struct tally *t);

/* Counts n events at now and returns when the line that tells them is
 * due: now, when no line was told within the last interval, else one
 * interval after the last line. */
int64_t tally_add(struct tally *t, uint64_t n, int64_t now, int64_t interval);

/* Takes the events to tell in one line at now (when due, or at the end):
 * how many (0: none, and no line), and in *since when the first came. The
 * interval starts again from now. */
uint64_t tally_take(struct tally *t, int64_t now, int64_t *since);

#endif
