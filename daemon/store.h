/* Durable state: an SQLite database (WAL mode) in the state directory that
 * holds each target's alert state (with what of its held alerts a restart
 * needs), the silences, and the outbox of webhook deliveries.
 *
 * Writes made during one pass of the loop share one transaction, committed
 * from a zero-delay timer right after: a burst of ten thousand alerts costs
 * one fsync, not ten thousand, and the loop is not held. Whoever must not
 * act before its rows are durable (a delivery's first attempt) waits for
 * the commit callback. Writes stay in memory until a commit succeeds: a
 * failed one (a full or read-only disk) is logged once and tried again
 * every few seconds, and nothing is lost if the disk comes back before
 * the daemon stops. A damaged database is moved aside at start; one
 * deleted while the daemon runs is written anew from memory. The daemon
 * never stops monitoring for any of it. */
#ifndef UPMON_STORE_H
#define UPMON_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "hold.h"
#include "state.h"

struct store;

struct delivery_row {
    const char *id;      /* webhook-id, the same on every attempt */
    const char *webhook; /* webhook name */
    const char *event;   /* event type name */
    const char *target;
    const char *body;
    int64_t created_ms; /* wall clock */
    int64_t next_ms;    /* wall clock of the next attempt */
    unsigned attempts;
    const char *last_error; /* or NULL */
};

/* Opens (creating, mode 0600) DIR/upmon.db and locks DIR, so two daemons
 * cannot share a state directory. NULL with a reason in err on failure,
 * a database that cannot be written among them. */
struct store *store_open(struct event_base *base, const char *dir, char *err, size_t errlen);
/* Commits what is pending and closes. */
void store_close(struct store *s);

/* Called after every commit, whether it reached the disk or not (a failed
 * write is logged; the daemon goes on with what it has in memory). */
void store_on_commit(struct store *s, void (*cb)(void *arg), void *arg);
/* Called when the database file was found deleted or replaced and a new
 * one started: the subscriber writes again all it has (its states, its
 * pending deliveries). cb NULL unsubscribes arg. */
void store_on_reset(struct store *s, void (*cb)(void *arg), void *arg);
/* Commits now (a failed commit is tried again when due). */
void store_flush(struct store *s);
/* Commits now whatever happened before: at stop, while the subscribers
 * of store_on_reset can still write again what a lost file held. */
void store_sync(struct store *s);

/* saved (its location too) and hold are valid during the call only; hold
 * is unknown in a row written before holds were kept. */
typedef void (*store_state_cb)(const char *name, const struct tstate_saved *saved,
                               const struct hold_saved *hold, void *arg);
int store_state_load(struct store *s, store_state_cb cb, void *arg);
/* The target's state, and what of its hold a restart needs (NULL: none). */
void store_state_save(struct store *s, const char *name, const struct tstate_saved *saved,
                      const struct hold_saved *hold);
void store_state_delete(struct store *s, const char *name);

/* A silence (silence.h) as the store keeps it. */
struct silence_row {
    uint64_t id;
    const char *target; /* or NULL */
    const char *labels; /* a JSON object, or NULL */
    const char *comment;
    int64_t start_ms, end_ms; /* wall clock */
    bool expired;
};

/* row is valid during the call only. */
typedef void (*store_silence_cb)(const struct silence_row *row, void *arg);
int store_silence_load(struct store *s, store_silence_cb cb, void *arg);
void store_silence_save(struct store *s, const struct silence_row *row);
void store_silence_delete(struct store *s, uint64_t id);

typedef void (*store_delivery_cb)(const struct delivery_row *row, void *arg);
int store_outbox_load(struct store *s, store_delivery_cb cb, void *arg);
void store_outbox_add(struct store *s, const struct delivery_row *row);
void store_outbox_update(struct store *s, const char *id, unsigned attempts, int64_t next_ms,
                         const char *last_error);
void store_outbox_delete(struct store *s, const char *id);

#endif
