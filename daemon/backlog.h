/* A webhook's pending deliveries in the order they were made, and which
 * to drop when it holds more than it may keep: the oldest, passing over
 * those with an attempt in flight (it is left to end; the next oldest
 * goes instead). A receiver that comes back after an outage then gets the
 * latest alerts, and the outbox, its memory and its database rows stay
 * bounded however long the outage lasts. Pure: the owner embeds a node in
 * each delivery and says which are in flight. */
#ifndef UPMON_BACKLOG_H
#define UPMON_BACKLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>

struct backlog_node {
    TAILQ_ENTRY(backlog_node) link;
};

struct backlog {
    TAILQ_HEAD(backlog_list, backlog_node) nodes; /* oldest first */
    size_t n;
};

/* Whether a node's delivery has an attempt in flight. */
typedef bool (*backlog_busy_fn)(const struct backlog_node *nd);

void backlog_init(struct backlog *b);
/* Adds nd as the newest. */
void backlog_push(struct backlog *b, struct backlog_node *nd);
void backlog_remove(struct backlog *b, struct backlog_node *nd);

/* The node to drop next so that at most cap are left: the oldest that is
 * not busy. NULL when at most cap are left, or when every one is busy.
 * The owner removes it and asks again. */
struct backlog_node *backlog_victim(const struct backlog *b, size_t cap, backlog_busy_fn busy);

#endif
