/* Rendezvous hashing over a fixed hash: not strmap's, whose seed changes
 * with each process, since shards that run apart must agree. */
#include "shard.h"

#include <errno.h>
#include <stdlib.h>

/* The last step of SplitMix64: spreads every bit of x over the whole
 * word, so weights of nearby inputs look independent. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static uint64_t fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

static uint64_t weight_of(uint64_t name_hash, unsigned i)
{
    return mix64(name_hash ^ mix64(0x9e3779b97f4a7c15ull * i));
}

uint64_t shard_weight(const char *name, unsigned i)
{
    return weight_of(fnv1a64(name), i);
}

unsigned shard_owner(const char *name, unsigned count)
{
    uint64_t h = fnv1a64(name), best = 0;
    unsigned owner = 1;

    /* A tie, which needs two equal 64-bit weights, goes to the lower
     * shard, so the answer is still the same everywhere. */
    for (unsigned i = 1; i <= count; i++) {
        uint64_t w = weight_of(h, i);
        if (i == 1 || w > best) {
            best = w;
            owner = i;
        }
    }
    return owner;
}

bool shard_owns(const struct shard *s, const char *name)
{
    return s->count == 0 || shard_owner(name, s->count) == s->index;
}

/* A number of decimal digits only, no sign or space, at most SHARD_MAX. */
static int read_number(const char *s, const char **end, unsigned *out)
{
    char *e;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long v = strtoul(s, &e, 10);
    if (errno || v < 1 || v > SHARD_MAX)
        return -1;
    *end = e;
    *out = (unsigned)v;
    return 0;
}

int shard_parse(const char *s, struct shard *out)
{
    struct shard r;
    const char *p;

    if (read_number(s, &p, &r.index) < 0 || *p != '/' || read_number(p + 1, &p, &r.count) < 0 ||
        *p != '\0' || r.index > r.count)
        return -1;
    *out = r;
    return 0;
}
