/* A timer queue: deadlines embedded in their owners, each with its own
 * callback (h2o's timers), kept in a binary min-heap. timerq_run calls
 * the callback of every item that has come due. Pure: time is always an
 * argument, in microseconds of the monotonic clock, so tests drive it with
 * integers; looptimer.h keeps one libevent timer set for the earliest
 * deadline and runs the queue when it fires. */
#ifndef UPMON_TIMERQ_H
#define UPMON_TIMERQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct timerq_item;

/* An item's time has come. It has left the queue already, so the callback
 * may add it again, add or remove other items, or free its owner. now is
 * the time the queue is run at, the same for every item of one run. */
typedef void (*timerq_cb)(struct timerq_item *it, int64_t now);

struct timerq_item {
    int64_t due;  /* when it runs; still there in its callback */
    size_t index; /* position in the heap; SIZE_MAX when not queued */
    timerq_cb cb;
};

/* The owner of an embedded item, from within its callback. */
#define TIMERQ_OWNER(it, type, member) ((type *)(void *)((char *)(it)-offsetof(type, member)))

struct timerq {
    struct timerq_item **heap;
    size_t n, cap;
    /* A run also takes the items due up to this much after now: a loop
     * whose timers fire to the millisecond starts them on time rather than
     * late, and together. None runs earlier than that. */
    int64_t slack;
};

void timerq_init(struct timerq *q, int64_t slack);
/* Items still queued are left out, not run. */
void timerq_free(struct timerq *q);
void timerq_item_init(struct timerq_item *it, timerq_cb cb);
bool timerq_pending(const struct timerq_item *it);

/* Adds it, or moves it if already queued. */
void timerq_add(struct timerq *q, struct timerq_item *it, int64_t due);
/* Harmless on an item not queued. */
void timerq_remove(struct timerq *q, struct timerq_item *it);
/* The earliest item, or NULL. */
const struct timerq_item *timerq_peek(const struct timerq *q);

/* Calls the callback of each item due at or before now (plus the slack),
 * earliest first, and returns how many ran. An item added during the run
 * that is due by then runs in it too: nothing due is left behind, but a
 * callback that always adds an item due at once makes a run that never
 * ends. */
size_t timerq_run(struct timerq *q, int64_t now);

#endif
