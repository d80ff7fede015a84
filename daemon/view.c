/* The little of view.h that is code. */
#include "view.h"

#include <string.h>

const char *query_get(const struct query *q, const char *key)
{
    for (size_t i = 0; q && i < q->n; i++)
        if (strcmp(q->params[i].key, key) == 0)
            return q->params[i].value;
    return NULL;
}
