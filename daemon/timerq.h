/* A timer queue: a binary min-heap of deadlines whose items are embedded
 * in their owners (h2o's timers). Pure: time is always an argument, in
 * microseconds of the monotonic clock. The shell arms one libevent timer
 * for the earliest deadline. */
#ifndef UPMON_TIMERQ_H
#define UPMON_TIMERQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct timerq_item {
    int64_t due;
    size_t index; /* position in the heap; SIZE_MAX when not queued */
};

struct timerq {
    struct timerq_item **heap;
    size_t n, cap;
};

void timerq_init(struct timerq *q);
void timerq_free(struct timerq *q);
void timerq_item_init(struct timerq_item *it);
bool timerq_pending(const struct timerq_item *it);

/* Adds it, or moves it if already queued. */
void timerq_add(struct timerq *q, struct timerq_item *it, int64_t due);
void timerq_remove(struct timerq *q, struct timerq_item *it);
/* The earliest item, or NULL. */
struct timerq_item *timerq_peek(const struct timerq *q);
/* Removes and returns the earliest item due at or before now, or NULL. */
struct timerq_item *timerq_pop_due(struct timerq *q, int64_t now);

#endif
