/* One libevent timer that follows the earliest deadline of a timer queue
 * (timerq.h): the loop's side of it. Owners add and remove their items
 * here and never touch the timer: it is set again whenever the earliest
 * deadline changes, and when it fires the queue is run at the monotonic
 * clock's now, so the due items' callbacks run. */
#ifndef UPMON_LOOPTIMER_H
#define UPMON_LOOPTIMER_H

#include <stdint.h>

#include <event2/event.h>

#include "timerq.h"

struct looptimer;

/* slack_us as in struct timerq. NULL if libevent could not make the timer. */
struct looptimer *looptimer_new(struct event_base *base, int64_t slack_us);
/* Items still queued are left out, not run; their owners free them. */
void looptimer_free(struct looptimer *lt);

/* Queues it (its callback set by timerq_item_init) to run at due, or
 * moves it there if queued already. */
void looptimer_add(struct looptimer *lt, struct timerq_item *it, int64_t due);
/* Harmless on an item not queued. */
void looptimer_remove(struct looptimer *lt, struct timerq_item *it);

#endif
