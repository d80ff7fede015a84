/* A webhook's pending deliveries, and which to drop. */
#include "backlog.h"

void backlog_init(struct backlog *b)
{
    TAILQ_INIT(&b->nodes);
    b->n = 0;
}

void backlog_push(struct backlog *b, struct backlog_node *nd)
{
    TAILQ_INSERT_TAIL(&b->nodes, nd, link);
    b->n++;
}

void backlog_remove(struct backlog *b, struct backlog_node *nd)
{
    TAILQ_REMOVE(&b->nodes, nd, link);
    b->n--;
}

struct backlog_node *backlog_victim(const struct backlog *b, size_t cap, backlog_busy_fn busy)
{
    struct backlog_node *nd;

    if (b->n <= cap)
        return NULL;
    /* Few are busy (a webhook has a few attempts in flight at most), so
     * this passes over a few nodes, not the whole backlog. */
    TAILQ_FOREACH(nd, &b->nodes, link)
    {
        if (!busy(nd))
            return nd;
    }
    return NULL;
}
