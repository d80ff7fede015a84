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

void hreply_finish(const struct view *v, struct hreply *rp)
{
    if (rp->more == NULL)
        return;
    while (rp->more(v, rp, rp->state))
        ;
    hreply_stop(rp);
}

void hreply_stop(struct hreply *rp)
{
    if (rp->state_free)
        rp->state_free(rp->state);
    rp->state = NULL;
    rp->state_free = NULL;
    rp->more = NULL;
}
