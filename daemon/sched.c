/* Min-heap of embedded deadlines and plan arithmetic. */
#include "sched.h"

#include <stdlib.h>

#include "util.h"

void sched_init(struct sched *s)
{
    s->heap = NULL;
    s->n = s->cap = 0;
}

void sched_free(struct sched *s)
{
    for (size_t i = 0; i < s->n; i++)
        s->heap[i]->index = SIZE_MAX;
    free(s->heap);
    sched_init(s);
}

void sched_item_init(struct sched_item *it)
{
    it->due = 0;
    it->index = SIZE_MAX;
}

bool sched_pending(const struct sched_item *it)
{
    return it->index != SIZE_MAX;
}

static void place(struct sched *s, size_t i, struct sched_item *it)
{
    s->heap[i] = it;
    it->index = i;
}

static void sift_up(struct sched *s, size_t i)
{
    struct sched_item *it = s->heap[i];

    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (s->heap[parent]->due <= it->due)
            break;
        place(s, i, s->heap[parent]);
        i = parent;
    }
    place(s, i, it);
}

static void sift_down(struct sched *s, size_t i)
{
    struct sched_item *it = s->heap[i];

    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= s->n)
            break;
        if (child + 1 < s->n && s->heap[child + 1]->due < s->heap[child]->due)
            child++;
        if (it->due <= s->heap[child]->due)
            break;
        place(s, i, s->heap[child]);
        i = child;
    }
    place(s, i, it);
}

void sched_add(struct sched *s, struct sched_item *it, int64_t due)
{
    if (sched_pending(it))
        sched_remove(s, it);
    xgrow((void **)&s->heap, &s->cap, s->n, sizeof(*s->heap));
    it->due = due;
    place(s, s->n++, it);
    sift_up(s, it->index);
}

void sched_remove(struct sched *s, struct sched_item *it)
{
    size_t i = it->index;

    if (i == SIZE_MAX)
        return;
    it->index = SIZE_MAX;
    s->n--;
    if (i == s->n)
        return;
    place(s, i, s->heap[s->n]);
    if (i > 0 && s->heap[(i - 1) / 2]->due > s->heap[i]->due)
        sift_up(s, i);
    else
        sift_down(s, i);
}

struct sched_item *sched_peek(const struct sched *s)
{
    return s->n ? s->heap[0] : NULL;
}

struct sched_item *sched_pop_due(struct sched *s, int64_t now)
{
    struct sched_item *it = sched_peek(s);

    if (it == NULL || it->due > now)
        return NULL;
    sched_remove(s, it);
    return it;
}

int64_t sched_first_due(int64_t now, uint64_t interval_us, uint64_t hash)
{
    const uint64_t max_spread = 60ull * 1000000;
    uint64_t spread = interval_us < max_spread ? interval_us : max_spread;

    if (spread == 0)
        return now;
    return now + (int64_t)(hash % spread);
}

int64_t sched_next_due(int64_t planned, uint64_t interval_us, int64_t now, uint64_t *missed)
{
    int64_t iv = (int64_t)interval_us;
    int64_t next = planned + iv;

    *missed = 0;
    if (iv <= 0)
        return now;
    if (next <= now) {
        /* Keep the phase: jump to the first slot of the plan not yet past.
         * The run that starts now stands for one of those passed. */
        int64_t behind = (now - next) / iv + 1;
        *missed = (uint64_t)behind;
        next += behind * iv;
    }
    return next;
}

int64_t sched_sweep_due(int64_t now, uint64_t interval_us, uint64_t hash, size_t count)
{
    uint64_t spread = (uint64_t)count * 1000;

    if (spread > interval_us)
        spread = interval_us;
    if (spread == 0)
        return now;
    /* Mixed again, so the sweep order is not the phase order. */
    return now + (int64_t)((hash * 0x9e3779b97f4a7c15ULL >> 17) % spread);
}

int64_t sched_after_sweep(int64_t phase, int64_t swept, uint64_t interval_us, int64_t now,
                          uint64_t *missed)
{
    int64_t iv = (int64_t)interval_us;
    int64_t earliest = swept + iv / 2;
    int64_t next = phase;

    *missed = 0;
    /* The first point of the plan at least half an interval after the
     * sweep's run: never two runs almost at once. */
    if (iv > 0 && next < earliest)
        next += ((earliest - next + iv - 1) / iv) * iv;
    if (next < now)
        return sched_next_due(next - iv, interval_us, now, missed);
    return next;
}

void sched_flight_start(struct sched_flight *f, int64_t now)
{
    if (f->n++ == 0)
        f->mark = now;
}

void sched_flight_end(struct sched_flight *f, int64_t now)
{
    f->n--;
    f->mark = now;
}

void sched_flight_cancel(struct sched_flight *f, int64_t now)
{
    /* Those left in flight may have started long after the one stopped:
     * they are not held to its start. */
    if (--f->n > 0)
        f->mark = now;
}

bool sched_flight_progressing(const struct sched_flight *f, int64_t now, int64_t limit)
{
    return f->n == 0 || now - f->mark <= limit;
}
