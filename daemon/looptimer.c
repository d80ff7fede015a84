/* A timer queue on the loop: one libevent timer per queue, set for its
 * earliest deadline. */
#include "looptimer.h"

#include <stdbool.h>
#include <stdlib.h>

#include "clock.h"
#include "util.h"

struct looptimer {
    struct timerq q;
    struct event *ev;
    bool running;      /* in timerq_run: the timer is set once, at its end */
    bool armed;        /* the timer is pending... */
    int64_t armed_due; /* ...for this deadline */
};

/* Sets the timer for the earliest deadline, or deletes it when the queue
 * is empty. A deadline already past fires on the next pass of the loop. */
static void arm(struct looptimer *lt)
{
    const struct timerq_item *first = timerq_peek(&lt->q);

    if (lt->running)
        return;
    if (first == NULL) {
        if (lt->armed)
            evtimer_del(lt->ev);
        lt->armed = false;
        return;
    }
    if (lt->armed && lt->armed_due == first->due)
        return;
    int64_t delay = first->due - clock_mono_us();
    if (delay < 0)
        delay = 0;
    struct timeval tv = {(time_t)(delay / 1000000), (suseconds_t)(delay % 1000000)};
    evtimer_add(lt->ev, &tv);
    lt->armed = true;
    lt->armed_due = first->due;
}

static void fire_cb(evutil_socket_t fd, short what, void *arg)
{
    struct looptimer *lt = arg;
    (void)fd;
    (void)what;

    lt->armed = false;
    lt->running = true;
    timerq_run(&lt->q, clock_mono_us());
    lt->running = false;
    arm(lt);
}

struct looptimer *looptimer_new(struct event_base *base, int64_t slack_us)
{
    struct looptimer *lt = xcalloc(1, sizeof(*lt));

    timerq_init(&lt->q, slack_us);
    lt->ev = evtimer_new(base, fire_cb, lt);
    if (lt->ev == NULL) {
        free(lt);
        return NULL;
    }
    return lt;
}

void looptimer_free(struct looptimer *lt)
{
    if (lt == NULL)
        return;
    timerq_free(&lt->q);
    event_free(lt->ev);
    free(lt);
}

void looptimer_add(struct looptimer *lt, struct timerq_item *it, int64_t due)
{
    timerq_add(&lt->q, it, due);
    arm(lt);
}

void looptimer_remove(struct looptimer *lt, struct timerq_item *it)
{
    timerq_remove(&lt->q, it);
    arm(lt);
}
