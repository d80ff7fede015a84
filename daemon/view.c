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

bool view_maintenance(const struct target_conf *t, int64_t now_ms, struct view_maint *m)
{
    struct window_span span;

    memset(m, 0, sizeof(*m));
    if (t->nwindows == 0)
        return false;
    if (windows_active(t->windows, t->nwindows, now_ms, &m->now_until, &m->now) &&
        window_current(m->now, now_ms, &span))
        m->now_from = span.start_ms;
    /* What comes after the present hold: a window that continues it is
     * part of it. */
    int64_t after = m->now ? m->now_until : now_ms;
    windows_next(t->windows, t->nwindows, after, &m->next_span, &m->next);
    return true;
}
