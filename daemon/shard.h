/* Shards: which targets an instance probes when several share one watch
 * list. Each target goes to the shard whose weight for its name is the
 * highest (rendezvous, or highest random weight, hashing), so every
 * target has exactly one owner, and going from N shards to N + 1 moves
 * only the targets the new shard wins, about 1/(N + 1) of them, and none
 * between the shards that stay. The weights come from a fixed hash
 * (FNV-1a 64, mixed), the same on every machine and in every run, so
 * instances that never talk agree on who owns what. Pure. */
#ifndef UPMON_SHARD_H
#define UPMON_SHARD_H

#include <stdbool.h>
#include <stdint.h>

/* The most shards a watch list may be split into. */
#define SHARD_MAX 1000

/* Shard index of count, from 1; count 0: not sharded, every target owned. */
struct shard {
    unsigned index, count;
};

/* Reads "I/N", 1 <= I <= N <= SHARD_MAX, nothing else around it. Returns
 * 0, or -1 and leaves out alone. */
int shard_parse(const char *s, struct shard *out);

/* The weight of a name for shard i (from 1). */
uint64_t shard_weight(const char *name, unsigned i);

/* The shard, from 1, of count that owns name (count >= 1). */
unsigned shard_owner(const char *name, unsigned count);

/* Whether shard s owns name (always, when s is not sharded). */
bool shard_owns(const struct shard *s, const char *name);

#endif
