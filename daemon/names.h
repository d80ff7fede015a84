/* Names of enum values, spelled as configuration, JSON, the journal and the
 * store spell them. Each enum that has names keeps them in one table, and
 * the two look-ups every such table needs live here. Pure. */
#ifndef UPMON_NAMES_H
#define UPMON_NAMES_H

/* A table of names indexed by value: name[v] names the value v, for every
 * v below count. fallback is what a value outside the table is called, so
 * a corrupt or out-of-range value still prints as something. The name
 * array is also what "did you mean" hints choose from. */
struct names {
    const char *const *name;
    unsigned count;
    const char *fallback;
};

/* The name of value v, or the table's fallback. */
const char *names_get(const struct names *t, unsigned v);

/* The value that s names exactly (case matters), or -1. */
int names_parse(const struct names *t, const char *s);

#endif
