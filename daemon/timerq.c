/* The timer queue: a binary min-heap of items embedded in their owners. */
#include "timerq.h"

#include <stdlib.h>

#include "util.h"

void timerq_init(struct timerq *q, int64_t slack)
{
    q->heap = NULL;
    q->n = q->cap = 0;
    q->slack = slack > 0 ? slack : 0;
}

void timerq_free(struct timerq *q)
{
    for (size_t i = 0; i < q->n; i++)
        q->heap[i]->index = SIZE_MAX;
    free(q->heap);
    timerq_init(q, q->slack);
}

void timerq_item_init(struct timerq_item *it, timerq_cb cb)
{
    it->due = 0;
    it->index = SIZE_MAX;
    it->cb = cb;
}

bool timerq_pending(const struct timerq_item *it)
{
    return it->index != SIZE_MAX;
}

static void place(struct timerq *q, size_t i, struct timerq_item *it)
{
    q->heap[i] = it;
    it->index = i;
}

static void sift_up(struct timerq *q, size_t i)
{
    struct timerq_item *it = q->heap[i];

    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (q->heap[parent]->due <= it->due)
            break;
        place(q, i, q->heap[parent]);
        i = parent;
    }
    place(q, i, it);
}

static void sift_down(struct timerq *q, size_t i)
{
    struct timerq_item *it = q->heap[i];

    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= q->n)
            break;
        if (child + 1 < q->n && q->heap[child + 1]->due < q->heap[child]->due)
            child++;
        if (it->due <= q->heap[child]->due)
            break;
        place(q, i, q->heap[child]);
        i = child;
    }
    place(q, i, it);
}

void timerq_add(struct timerq *q, struct timerq_item *it, int64_t due)
{
    if (timerq_pending(it))
        timerq_remove(q, it);
    xgrow((void **)&q->heap, &q->cap, q->n, sizeof(*q->heap));
    it->due = due;
    place(q, q->n++, it);
    sift_up(q, it->index);
}

void timerq_remove(struct timerq *q, struct timerq_item *it)
{
    size_t i = it->index;

    if (i == SIZE_MAX)
        return;
    it->index = SIZE_MAX;
    q->n--;
    if (i == q->n)
        return;
    place(q, i, q->heap[q->n]);
    if (i > 0 && q->heap[(i - 1) / 2]->due > q->heap[i]->due)
        sift_up(q, i);
    else
        sift_down(q, i);
}

const struct timerq_item *timerq_peek(const struct timerq *q)
{
    return q->n ? q->heap[0] : NULL;
}

/* Whether the earliest item is due in a run at now. Not due <= now +
 * slack, which overflows near INT64_MAX; due - now, when positive, always
 * fits in a uint64_t. */
static bool first_due(const struct timerq *q, int64_t now)
{
    const struct timerq_item *it = q->heap[0];

    return it->due <= now || (uint64_t)it->due - (uint64_t)now <= (uint64_t)q->slack;
}

size_t timerq_run(struct timerq *q, int64_t now)
{
    size_t ran = 0;

    while (q->n && first_due(q, now)) {
        struct timerq_item *it = q->heap[0];
        timerq_remove(q, it);
        it->cb(it, now);
        ran++;
    }
    return ran;
}
