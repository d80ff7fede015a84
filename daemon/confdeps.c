/* The rules between targets, checked once every file is read: the
 * targets that depends_on and the main file's windows name exist,
 * dependencies make no cycle, each target learns how many depend on it,
 * and the main file's windows join the targets they select. */
#include "schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- names of targets: depends_on, and the targets of a main-file window ---- */

#define NAMES(base, o)  ((char ***)FIELD(base, (o)->offset))
#define NNAMES(base, o) ((size_t *)FIELD(base, (o)->aux))

static void tnames_clear(void *base, const struct opt *o)
{
    for (size_t i = 0; i < *NNAMES(base, o); i++)
        free((*NAMES(base, o))[i]);
    free(*NAMES(base, o));
    *NAMES(base, o) = NULL;
    *NNAMES(base, o) = 0;
}

static int tnames_parse(struct ctx *c, const yaml_node_t *n, const struct opt *o, void *base)
{
    char kind[64], **v = NULL;
    size_t nv = 0, count;
    int rc = 0;

    snprintf(kind, sizeof(kind), "%s must be a list of target names", o->name);
    if (names_count(c, n, kind, &count) < 0)
        return -1;
    for (size_t i = 0; i < count; i++) {
        const yaml_node_t *it =
            n->type == YAML_SEQUENCE_NODE ? node(c, n->data.sequence.items.start[i]) : n;
        if (!want_scalar(c, it, "a target name") ||
            check_short_text(c, it, scalar(it), "a target name") < 0) {
            rc = -1;
            continue;
        }
        bool dup = false;
        for (size_t j = 0; j < nv && !dup; j++)
            dup = strcmp(v[j], scalar(it)) == 0;
        if (dup) {
            err_at(c, it, "%s: \"%s\" is given twice", o->name, scalar(it));
            rc = -1;
            continue;
        }
        v = xreallocarray(v, nv + 1, sizeof(*v));
        v[nv++] = xstrdup(scalar(it));
    }
    tnames_clear(base, o);
    *NAMES(base, o) = v;
    *NNAMES(base, o) = nv;
    return rc;
}

static void tnames_copy(void *dst, const void *src, const struct opt *o, bool merge)
{
    size_t n = *NNAMES(src, o);

    (void)merge;
    tnames_clear(dst, o);
    if (n == 0)
        return;
    *NAMES(dst, o) = xcalloc(n, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        (*NAMES(dst, o))[i] = xstrdup((*NAMES(src, o))[i]);
    *NNAMES(dst, o) = n;
}

static bool tnames_eq(const void *a, const void *b, const struct opt *o)
{
    if (*NNAMES(a, o) != *NNAMES(b, o))
        return false;
    for (size_t i = 0; i < *NNAMES(a, o); i++)
        if (strcmp((*NAMES(a, o))[i], (*NAMES(b, o))[i]) != 0)
            return false;
    return true;
}

static json_t *tnames_value(const void *base, const struct opt *o)
{
    json_t *a = json_array();

    for (size_t i = 0; i < *NNAMES(base, o); i++)
        json_array_append_new(a, json_string((*NAMES(base, o))[i]));
    return a;
}

const struct opt_ops target_names_ops = {tnames_parse, tnames_copy,  tnames_clear,
                                         tnames_eq,    tnames_value, name_list_schema};

/* ---- between targets ---- */

/* The targets by name, and what depends on what, as indices. */
struct graph {
    size_t n;
    const char **names;
    struct strmap index; /* name -> index + 1 */
    size_t *start;       /* edges of i: edge[start[i]] to edge[start[i + 1]] */
    size_t *edge;
};

/* "target x depends on unknown target ..." with a hint; said once per
 * place and name (a defaults block gives the same to many targets). */
static void unknown_name(struct ctx *c, struct strmap *said, struct pos p, const char *what,
                         const char *name, const struct graph *gr)
{
    char *key = xasprintf("%zu:%u:%u:%s", p.file, p.line, p.col, name);

    if (strmap_get(said, key)) {
        free(key);
        return;
    }
    strmap_put(said, key, key);
    const char *hint = closest(name, gr->names, gr->n);
    if (hint)
        err_pos(c, p, "%s unknown target \"%s\" (did you mean \"%s\"?)", what, name, hint);
    else
        err_pos(c, p, "%s unknown target \"%s\"", what, name);
}

static void said_free(struct strmap *said)
{
    for (size_t i = 0; i < said->cap; i++)
        free((char *)said->slots[i].key);
    strmap_free(said);
}

static void graph_build(struct ctx *c, struct graph *gr, const struct pos *depends_pos,
                        struct strmap *said)
{
    struct config *cfg = c->cfg;

    gr->n = cfg->ntargets;
    gr->names = xcalloc(gr->n + 1, sizeof(*gr->names));
    gr->start = xcalloc(gr->n + 1, sizeof(*gr->start));
    for (size_t i = 0; i < gr->n; i++) {
        gr->names[i] = cfg->targets[i].name;
        strmap_put(&gr->index, cfg->targets[i].name, (void *)(uintptr_t)(i + 1));
    }
    size_t nedges = 0;
    for (size_t i = 0; i < gr->n; i++)
        nedges += cfg->targets[i].ndepends_on;
    gr->edge = xcalloc(nedges + 1, sizeof(*gr->edge));
    nedges = 0;
    for (size_t i = 0; i < gr->n; i++) {
        const struct target_conf *t = &cfg->targets[i];
        gr->start[i] = nedges;
        for (size_t j = 0; j < t->ndepends_on; j++) {
            uintptr_t to = (uintptr_t)strmap_get(&gr->index, t->depends_on[j]);
            if (to) {
                gr->edge[nedges++] = to - 1;
            } else {
                char what[256];
                snprintf(what, sizeof(what), "target %s depends on", t->name);
                unknown_name(c, said, depends_pos[i], what, t->depends_on[j], gr);
            }
        }
    }
    gr->start[gr->n] = nedges;
}

static void graph_free(struct graph *gr)
{
    free(gr->names);
    free(gr->start);
    free(gr->edge);
    strmap_free(&gr->index);
}

/* Each target's strongly connected component (Tarjan's algorithm, with
 * an explicit stack: a chain of ten thousand targets is no recursion). */
static size_t *components(const struct graph *gr)
{
    size_t n = gr->n, counter = 0, ncomp = 0, sp = 0, cp = 0;
    size_t *index = xcalloc(n, sizeof(*index)), *low = xcalloc(n, sizeof(*low));
    size_t *comp = xcalloc(n, sizeof(*comp)), *stack = xcalloc(n, sizeof(*stack));
    size_t *call = xcalloc(n, sizeof(*call)), *next = xcalloc(n, sizeof(*next));
    bool *on = xcalloc(n, sizeof(*on));

    for (size_t root = 0; root < n; root++) {
        if (index[root])
            continue;
        call[cp++] = root;
        index[root] = low[root] = ++counter;
        next[root] = gr->start[root];
        stack[sp++] = root;
        on[root] = true;
        while (cp) {
            size_t v = call[cp - 1];
            if (next[v] < gr->start[v + 1]) {
                size_t w = gr->edge[next[v]++];
                if (!index[w]) {
                    index[w] = low[w] = ++counter;
                    next[w] = gr->start[w];
                    stack[sp++] = w;
                    on[w] = true;
                    call[cp++] = w;
                } else if (on[w] && index[w] < low[v]) {
                    low[v] = index[w];
                }
                continue;
            }
            cp--;
            if (low[v] == index[v]) {
                size_t w;
                do {
                    w = stack[--sp];
                    on[w] = false;
                    comp[w] = ncomp;
                } while (w != v);
                ncomp++;
            }
            if (cp && low[v] < low[call[cp - 1]])
                low[call[cp - 1]] = low[v];
        }
    }
    free(index);
    free(low);
    free(stack);
    free(call);
    free(next);
    free(on);
    return comp;
}

/* The names along a path, "a -> b -> a"; past a dozen, the middle is
 * left out. */
static char *path_text(const struct graph *gr, const size_t *path, size_t len)
{
    struct buf b = {0};

    for (size_t i = 0; i < len; i++) {
        if (len > 12 && i == 6) {
            buf_append(&b, " -> ...", 7);
            i = len - 6;
        }
        if (i)
            buf_append(&b, " -> ", 4);
        buf_append(&b, gr->names[path[i]], strlen(gr->names[path[i]]));
    }
    return b.data;
}

/* Reports every target that depends on itself, with the shortest cycle
 * through it (a search within its component, which is small in any
 * configuration that is not itself a mistake). Returns how many. */
static size_t report_cycles(struct ctx *c, const struct graph *gr, const struct pos *depends_pos)
{
    size_t n = gr->n, found = 0;
    size_t *comp = components(gr), *size = xcalloc(n, sizeof(*size));
    size_t *from = xcalloc(n, sizeof(*from)), *queue = xcalloc(n, sizeof(*queue));
    size_t *seen = xcalloc(n, sizeof(*seen)), *path = xcalloc(n + 1, sizeof(*path));

    for (size_t i = 0; i < n; i++)
        size[comp[i]]++;
    for (size_t v = 0; v < n; v++) {
        bool self = false;
        for (size_t e = gr->start[v]; e < gr->start[v + 1]; e++)
            self |= gr->edge[e] == v;
        if (size[comp[v]] < 2 && !self)
            continue;
        /* Breadth first from v, within its component, back to v. */
        size_t head = 0, tail = 0, last = SIZE_MAX;
        queue[tail++] = v;
        seen[v] = v + 1;
        while (head < tail && last == SIZE_MAX) {
            size_t u = queue[head++];
            for (size_t e = gr->start[u]; e < gr->start[u + 1] && last == SIZE_MAX; e++) {
                size_t w = gr->edge[e];
                if (w == v)
                    last = u;
                else if (comp[w] == comp[v] && seen[w] != v + 1) {
                    seen[w] = v + 1;
                    from[w] = u;
                    queue[tail++] = w;
                }
            }
        }
        size_t len = 0;
        path[len++] = v;
        for (size_t u = last; u != v; u = from[u])
            path[len++] = u;
        /* Walked backwards from the end: v, then the others reversed. */
        for (size_t i = 1, j = len - 1; i < j; i++, j--) {
            size_t t = path[i];
            path[i] = path[j];
            path[j] = t;
        }
        path[len++] = v;
        char *text = path_text(gr, path, len);
        err_pos(c, depends_pos[v], "target %s depends on itself: %s", gr->names[v], text);
        free(text);
        found++;
    }
    free(comp);
    free(size);
    free(from);
    free(queue);
    free(seen);
    free(path);
    return found;
}

/* How many targets depend on each, directly or through others: a search
 * back along the edges from each target something depends on. */
static void count_dependents(struct config *cfg, const struct graph *gr)
{
    size_t n = gr->n;
    size_t *rstart = xcalloc(n + 1, sizeof(*rstart)),
           *redge = xcalloc(gr->start[n] + 1, sizeof(*redge));
    size_t *fill = xcalloc(n, sizeof(*fill)), *queue = xcalloc(n, sizeof(*queue));
    size_t *seen = xcalloc(n, sizeof(*seen));

    for (size_t e = 0; e < gr->start[n]; e++)
        rstart[gr->edge[e] + 1]++;
    for (size_t i = 0; i < n; i++)
        rstart[i + 1] += rstart[i];
    for (size_t v = 0; v < n; v++)
        for (size_t e = gr->start[v]; e < gr->start[v + 1]; e++) {
            size_t p = gr->edge[e];
            redge[rstart[p] + fill[p]++] = v;
        }
    for (size_t p = 0; p < n; p++) {
        if (rstart[p] == rstart[p + 1])
            continue;
        size_t head = 0, tail = 0;
        queue[tail++] = p;
        seen[p] = p + 1;
        while (head < tail) {
            size_t u = queue[head++];
            for (size_t e = rstart[u]; e < rstart[u + 1]; e++)
                if (seen[redge[e]] != p + 1) {
                    seen[redge[e]] = p + 1;
                    queue[tail++] = redge[e];
                }
        }
        cfg->targets[p].ndependents = (unsigned)(tail - 1);
    }
    free(rstart);
    free(redge);
    free(fill);
    free(queue);
    free(seen);
}

/* Whether every label a window matches is the target's, with its value. */
static bool labels_match(const struct maint_rule *r, const struct target_conf *t)
{
    for (size_t i = 0; i < r->nmatch_labels; i++) {
        bool found = false;
        for (size_t j = 0; j < t->nlabels && !found; j++)
            found = strcmp(t->labels[j].key, r->match_labels[i].key) == 0 &&
                    strcmp(t->labels[j].value, r->match_labels[i].value) == 0;
        if (!found)
            return false;
    }
    return true;
}

static void add_window(struct target_conf *t, const struct window *w)
{
    t->windows = xreallocarray(t->windows, t->nwindows + 1, sizeof(*t->windows));
    window_conf_copy(&t->windows[t->nwindows++], w);
}

/* The main file's windows join those of the targets they select. */
static void apply_rules(struct ctx *c, const struct graph *gr, struct strmap *said)
{
    struct config *cfg = c->cfg;

    for (size_t i = 0; i < cfg->nmaintenance; i++) {
        const struct maint_rule *r = &cfg->maintenance[i];
        struct pos p = {r->file, r->line, r->col};
        for (size_t j = 0; j < r->ntargets; j++) {
            uintptr_t idx = (uintptr_t)strmap_get(&gr->index, r->targets[j]);
            if (idx)
                add_window(&cfg->targets[idx - 1], &r->w);
            else
                unknown_name(c, said, p, "maintenance window holds", r->targets[j], gr);
        }
        if (r->nmatch_labels)
            for (size_t t = 0; t < cfg->ntargets; t++)
                if (labels_match(r, &cfg->targets[t]))
                    add_window(&cfg->targets[t], &r->w);
    }
}

void config_link_targets(struct ctx *c, const struct pos *depends_pos)
{
    struct graph gr = {0};
    struct strmap said = {0};

    graph_build(c, &gr, depends_pos, &said);
    if (report_cycles(c, &gr, depends_pos) == 0)
        count_dependents(c->cfg, &gr);
    apply_rules(c, &gr, &said);
    said_free(&said);
    graph_free(&gr);
}
