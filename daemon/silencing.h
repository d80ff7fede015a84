/* Silences on the loop (silence.h): the list in memory and in the store,
 * added and expired through the API, the journal's account of them, and
 * a timer for when one ends (what it held is then let go: holding.h) and
 * for when an ended one has been listed long enough. */
#ifndef UPMON_SILENCING_H
#define UPMON_SILENCING_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "holding.h"
#include "silence.h"
#include "store.h"

struct silencing;

/* The silences the store keeps, those long ended deleted. NULL when the
 * loop cannot take a timer. */
struct silencing *silencing_new(struct event_base *base, struct store *store,
                                struct holding *holding);
void silencing_free(struct silencing *sg);

/* Those in force and those ended lately, oldest first: valid until the
 * loop next turns. */
const struct silence *silencing_list(const struct silencing *sg, size_t *n);

/* The silence that holds t's alerts at wall, or NULL. */
const struct silence *silencing_holding(const struct silencing *sg, const struct target_conf *t,
                                        int64_t wall);

/* The view's hands (view.h): silencer is the struct silencing. */
int silencing_add(void *silencer, struct silence *s, char *err, size_t errlen);
int silencing_expire(void *silencer, uint64_t id, char *err, size_t errlen);

#endif
