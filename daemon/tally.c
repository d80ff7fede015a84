/* Few log lines for many like events. */
#include "tally.h"

void tally_init(struct tally *t)
{
    *t = (struct tally){0};
}

int64_t tally_add(struct tally *t, uint64_t n, int64_t now, int64_t interval)
{
    if (t->count == 0) {
        t->since = now;
        t->due = t->ever_told && now - t->told < interval ? t->told + interval : now;
    }
    t->count += n;
    return t->due;
}

uint64_t tally_take(struct tally *t, int64_t now, int64_t *since)
{
    uint64_t n = t->count;

    *since = t->since;
    if (n == 0)
        return 0;
    t->count = 0;
    t->told = now;
    t->ever_told = true;
    return n;
}
