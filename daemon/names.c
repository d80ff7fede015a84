/* Look-ups in a table of enum names. */
#include "names.h"

#include <string.h>

const char *names_get(const struct names *t, unsigned v)
{
    return v < t->count ? t->name[v] : t->fallback;
}

int names_parse(const struct names *t, const char *s)
{
    for (unsigned i = 0; i < t->count; i++)
        if (strcmp(s, t->name[i]) == 0)
            return (int)i;
    return -1;
}
