/* The status page's layout: the summary, the failing targets, the groups,
 * and which targets one answer shows in full. */
#include "page.h"

#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "markup.h"
#include "pagerow.h"
#include "state.h"

#define HOUR_MS 3600000LL

struct entry {
    const struct view_target *t;
    const char *group; /* "" for a target without the grouping label */
    enum target_state state;
    int rank; /* hist_state_rank: the worst first */
    size_t order;
};

struct group {
    const char *name;
    size_t first, n; /* its entries, e[first] to e[first + n - 1] */
    unsigned by_state[ST_COUNT];
    unsigned slow, flapping;
};

struct layout {
    const struct view *v;
    struct entry *e; /* by group, then the worst first, then as configured */
    size_t n;
    struct group *g;
    size_t ng;
    unsigned by_state[ST_COUNT];
    unsigned failing, slow, flapping;
};

static void put(struct buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

/* A watch file as people know it: relative to the main file's directory
 * when it is under it (watch.d/web.yaml), else its base name. */
static const char *file_shown(const char *main, const char *file)
{
    const char *slash = main ? strrchr(main, '/') : NULL;
    size_t dir = slash ? (size_t)(slash - main) : 0;

    if (!file)
        return "";
    if (slash && strncmp(file, main, dir) == 0 && file[dir] == '/')
        return file + dir + 1;
    if (!slash && file[0] != '/')
        return file; /* both relative to the same directory */
    slash = strrchr(file, '/');
    return slash ? slash + 1 : file;
}

static const char *group_of(const struct config *cfg, const struct target_conf *t)
{
    if (!cfg->http_group_by)
        return file_shown(cfg->path, t->file);
    for (size_t i = 0; i < t->nlabels; i++)
        if (strcmp(t->labels[i].key, cfg->http_group_by) == 0)
            return t->labels[i].value;
    return "";
}

/* Groups by name, the unlabelled last; in a group, the worst first, and
 * configuration order among equals. */
static int entry_cmp(const void *pa, const void *pb)
{
    const struct entry *a = pa, *b = pb;
    int c;

    if (!a->group[0] != !b->group[0])
        return a->group[0] ? -1 : 1;
    if ((c = strcmp(a->group, b->group)) != 0)
        return c;
    if (a->rank != b->rank)
        return a->rank > b->rank ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

/* The failing list: the worst first, then as the groups are. */
static int failing_cmp(const void *pa, const void *pb)
{
    const struct entry *a = *(const struct entry *const *)pa, *b = *(const struct entry *const *)pb;

    if (a->rank != b->rank)
        return a->rank > b->rank ? -1 : 1;
    return entry_cmp(a, b);
}

static void layout_build(struct layout *L, const struct view *v)
{
    size_t cap = 0;

    memset(L, 0, sizeof(*L));
    L->v = v;
    L->n = v->ntargets;
    L->e = xcalloc(L->n ? L->n : 1, sizeof(*L->e));
    for (size_t i = 0; i < L->n; i++) {
        const struct view_target *t = &v->targets[i];
        struct entry *e = &L->e[i];

        e->t = t;
        e->group = group_of(v->cfg, t->conf);
        e->state = t->ts ? t->ts->s.state : ST_UNKNOWN;
        e->rank = hist_state_rank(e->state);
        e->order = i;
        L->by_state[e->state < ST_COUNT ? e->state : ST_UNKNOWN]++;
        L->failing += state_is_failing(e->state);
        L->slow += t->ts && t->ts->s.slow;
        L->flapping += t->ts && t->ts->s.flapping;
    }
    qsort(L->e, L->n, sizeof(*L->e), entry_cmp);
    for (size_t i = 0; i < L->n; i++) {
        struct group *g;

        if (i == 0 || strcmp(L->e[i].group, L->e[i - 1].group) != 0) {
            xgrow((void **)&L->g, &cap, L->ng, sizeof(*L->g));
            g = &L->g[L->ng++];
            memset(g, 0, sizeof(*g));
            g->name = L->e[i].group;
            g->first = i;
        }
        g = &L->g[L->ng - 1];
        g->n++;
        g->by_state[L->e[i].state < ST_COUNT ? L->e[i].state : ST_UNKNOWN]++;
        g->slow += L->e[i].t->ts && L->e[i].t->ts->s.slow;
        g->flapping += L->e[i].t->ts && L->e[i].t->ts->s.flapping;
    }
}

static void layout_free(struct layout *L)
{
    free(L->e);
    free(L->g);
}

static unsigned failing_of(const unsigned by_state[ST_COUNT])
{
    unsigned n = 0;

    for (int s = 0; s < ST_COUNT; s++)
        if (state_is_failing((enum target_state)s))
            n += by_state[s];
    return n;
}

/* What the page groups by, for headings: the label's name or "watch
 * file". */
static const char *group_word(const struct view *v)
{
    return v->cfg->http_group_by ? v->cfg->http_group_by : "watch file";
}

/* A group's name; the targets without the label are a group too. Plain
 * text where no element may be (a <title>). */
static void group_text(struct buf *b, const struct view *v, const char *name, bool plain)
{
    if (name[0]) {
        markup_text(b, name);
        return;
    }
    put(b, plain ? "no " : "<em>no ");
    markup_text(b, group_word(v));
    put(b, plain ? " label" : " label</em>");
}

static void group_name(struct buf *b, const struct view *v, const char *name)
{
    group_text(b, v, name, false);
}

static void group_href(struct buf *b, const char *name, long page)
{
    put(b, "/?group=");
    markup_query(b, name);
    if (page > 1)
        buf_printf(b, "&amp;page=%ld", page);
}

static void head(struct buf *b, const struct view *v, const char *group)
{
    const char *title = v->cfg->http_title ? v->cfg->http_title : "upmon";

    put(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>"
           "<meta name=\"color-scheme\" content=\"light dark\"/>");
    if (v->cfg->http_refresh_ms)
        buf_printf(b, "<meta http-equiv=\"refresh\" content=\"%llu\"/>",
                   (unsigned long long)((v->cfg->http_refresh_ms + 999) / 1000));
    put(b, "<title>");
    if (group) {
        group_text(b, v, group, true);
        put(b, " · ");
    }
    markup_text(b, title);
    buf_printf(b, "</title><link rel=\"stylesheet\" href=\"/static/upmon.css?v=%016llx\"/>",
               (unsigned long long)page_css_version());
    put(b, "</head><body><header class=\"top\"><h1>");
    markup_text(b, title);
    put(b, "</h1>");
}

static void foot(struct buf *b, const struct view *v)
{
    put(b, "</main><footer><p>Updated ");
    pagerow_time(b, v->now_ms, v->now_ms);
    if (v->host) {
        put(b, " by upmond on ");
        markup_text(b, v->host);
    }
    put(b, ".");
    if (v->cfg->http_refresh_ms) {
        char secs[32];

        markup_duration((int64_t)v->cfg->http_refresh_ms, secs, sizeof(secs));
        buf_printf(b, " The page reloads itself every %s.", secs);
    }
    put(b, "</p></footer></body></html>\n");
}

/* One line for all of it, then the counts by state, the worst first. */
static void summary(struct buf *b, const unsigned by_state[ST_COUNT], unsigned slow,
                    unsigned flapping)
{
    unsigned total = 0, failing = failing_of(by_state);
    int order[ST_COUNT];
    enum markup_tier tier;

    for (int s = 0; s < ST_COUNT; s++) {
        total += by_state[s];
        order[s] = s;
    }
    /* Eight states: an insertion sort by how bad each is. */
    for (int i = 1; i < ST_COUNT; i++)
        for (int j = i; j > 0 && hist_state_rank((enum target_state)order[j]) >
                                     hist_state_rank((enum target_state)order[j - 1]);
             j--) {
            int tmp = order[j];
            order[j] = order[j - 1];
            order[j - 1] = tmp;
        }

    tier = failing                    ? TIER_DOWN
           : by_state[ST_REDIRECTING] ? TIER_WARN
           : by_state[ST_UP] && total ? TIER_OK
                                      : TIER_NONE;
    buf_printf(b, "<p class=\"overall t-%s\">", markup_tier_name(tier));
    if (total == 0)
        put(b, "No targets are watched.");
    else if (failing)
        buf_printf(b, "%u of %u targets failing", failing, total);
    else if (by_state[ST_UP] + by_state[ST_REDIRECTING] == 0)
        put(b, "Waiting for the first probes");
    else if (by_state[ST_UP] == total)
        buf_printf(b, "All %u targets up", total);
    else {
        put(b, "No target failing");
        if (by_state[ST_REDIRECTING])
            buf_printf(b, "; %u redirecting", by_state[ST_REDIRECTING]);
        if (by_state[ST_UNKNOWN])
            buf_printf(b, "; %u not probed yet", by_state[ST_UNKNOWN]);
    }
    put(b, "</p><ul class=\"counts\">");
    for (int i = 0; i < ST_COUNT; i++) {
        enum target_state s = (enum target_state)order[i];

        if (!by_state[s] && s != ST_UP)
            continue;
        buf_printf(b, "<li class=\"t-%s\"><strong>%u</strong> %s</li>",
                   markup_tier_name(markup_tier(s)), by_state[s], markup_state_label(s));
    }
    if (slow)
        buf_printf(b, "<li class=\"t-warn\"><strong>%u</strong> slow</li>", slow);
    if (flapping)
        buf_printf(b, "<li class=\"t-warn\"><strong>%u</strong> flapping</li>", flapping);
    put(b, "</ul>");
}

/* The caption is only read aloud under a group's own heading, which
 * shows the same. */
static void full_table(struct buf *b, const struct layout *L, const struct group *g, size_t from,
                       size_t to, bool caption_shown)
{
    put(b, caption_shown ? "<div class=\"scroll\"><table class=\"targets\"><caption>"
                         : "<div class=\"scroll\"><table class=\"targets\"><caption class=\"vh\">");
    group_name(b, L->v, g->name);
    if (from == 0 && to == g->n)
        buf_printf(b, ": %zu target%s, the worst first", g->n, g->n == 1 ? "" : "s");
    else
        buf_printf(b, ": targets %zu to %zu of %zu, the worst first", from + 1, to, g->n);
    put(b, "</caption>");
    pagerow_full_head(b);
    put(b, "<tbody>");
    for (size_t i = from; i < to; i++)
        pagerow_full(b, L->v, L->e[g->first + i].t);
    put(b, "</tbody></table></div>");
}

static void group_counts(struct buf *b, const struct group *g)
{
    unsigned failing = failing_of(g->by_state);

    buf_printf(b, "%zu target%s", g->n, g->n == 1 ? "" : "s");
    if (failing)
        buf_printf(b, " · <span class=\"tag t-down\">%u failing</span>", failing);
    if (g->by_state[ST_REDIRECTING])
        buf_printf(b, " · <span class=\"tag t-warn\">%u redirecting</span>",
                   g->by_state[ST_REDIRECTING]);
    if (g->by_state[ST_UNKNOWN])
        buf_printf(b, " · %u not probed yet", g->by_state[ST_UNKNOWN]);
}

static void failing_section(struct buf *b, const struct layout *L, bool link_groups)
{
    const struct entry **list;
    size_t n = 0, shown;
    struct buf cell = {0};

    put(b, "<section aria-labelledby=\"h-failing\"><h2 id=\"h-failing\">Failing now</h2>");
    if (!L->failing) {
        put(b, "<p class=\"muted\">No target is failing.</p></section>");
        return;
    }
    list = xcalloc(L->failing, sizeof(*list));
    for (size_t i = 0; i < L->n; i++)
        if (state_is_failing(L->e[i].state))
            list[n++] = &L->e[i];
    qsort(list, n, sizeof(*list), failing_cmp);
    shown = n < PAGE_FAILING_MAX ? n : PAGE_FAILING_MAX;
    buf_printf(b,
               "<div class=\"scroll\"><table class=\"failing\"><caption>%zu failing, the worst "
               "first</caption>",
               n);
    pagerow_failing_head(b, group_word(L->v));
    put(b, "<tbody>");
    for (size_t i = 0; i < shown; i++) {
        cell.len = 0;
        buf_append(&cell, "", 0);
        if (link_groups) {
            put(&cell, "<a href=\"");
            group_href(&cell, list[i]->group, 1);
            put(&cell, "\">");
            group_name(&cell, L->v, list[i]->group);
            put(&cell, "</a>");
        } else {
            group_name(&cell, L->v, list[i]->group);
        }
        pagerow_failing(b, L->v, list[i]->t, cell.data);
    }
    put(b, "</tbody></table></div>");
    if (shown < n)
        buf_printf(b, "<p>The worst %zu of %zu are listed; every one is in its group below.</p>",
                   shown, n);
    put(b, "</section>");
    buf_free(&cell);
    free(list);
}

/* Every group folded out, for a configuration small enough to show whole. */
static void groups_inline(struct buf *b, const struct layout *L)
{
    for (size_t i = 0; i < L->ng; i++) {
        const struct group *g = &L->g[i];

        put(b, "<details class=\"group\" open=\"open\"><summary><h3>");
        group_name(b, L->v, g->name);
        put(b, "</h3> <span class=\"gcounts\">");
        group_counts(b, g);
        put(b, "</span></summary>");
        full_table(b, L, g, 0, g->n, false);
        put(b, "</details>");
    }
}

/* One row per group, each a link to its pages. */
static void groups_index(struct buf *b, const struct layout *L)
{
    char pct[16];

    buf_printf(b,
               "<div class=\"scroll\"><table class=\"groups\"><caption>%zu groups; each "
               "links to its targets</caption><thead><tr><th scope=\"col\">",
               L->ng);
    markup_text(b, group_word(L->v));
    put(b, "</th><th scope=\"col\">Targets</th><th scope=\"col\">Failing</th>"
           "<th scope=\"col\">Redirecting</th><th scope=\"col\">Up</th>"
           "<th scope=\"col\">Not probed</th><th scope=\"col\">"
           "<abbr title=\"Mean of the targets' uptime over the last 24 hours\">Uptime 24 h</abbr>"
           "</th></tr></thead><tbody>");
    for (size_t i = 0; i < L->ng; i++) {
        const struct group *g = &L->g[i];
        unsigned failing = failing_of(g->by_state);
        double sum = 0;
        unsigned with = 0;

        for (size_t j = 0; j < g->n; j++) {
            const struct htarget *h = L->e[g->first + j].t->hist;
            double u = h ? htarget_uptime(h, 24 * HOUR_MS, L->v->now_ms) : -1;

            if (u >= 0) {
                sum += u;
                with++;
            }
        }
        markup_uptime(with ? sum / with : -1, pct, sizeof(pct));
        buf_printf(b, "<tr class=\"r-%s\"><th scope=\"row\"><a href=\"",
                   failing                       ? "down"
                   : g->by_state[ST_REDIRECTING] ? "warn"
                                                 : "ok");
        group_href(b, g->name, 1);
        put(b, "\">");
        group_name(b, L->v, g->name);
        buf_printf(b,
                   "</a></th><td class=\"num\">%zu</td><td class=\"num\">%u</td>"
                   "<td class=\"num\">%u</td><td class=\"num\">%u</td><td class=\"num\">%u</td>"
                   "<td class=\"num\">%s</td></tr>",
                   g->n, failing, g->by_state[ST_REDIRECTING], g->by_state[ST_UP],
                   g->by_state[ST_UNKNOWN], pct);
    }
    put(b, "</tbody></table></div>");
}

static void overview(struct buf *b, const struct layout *L)
{
    bool whole = L->n <= PAGE_SIZE;

    head(b, L->v, NULL);
    summary(b, L->by_state, L->slow, L->flapping);
    put(b, "</header><main>");
    failing_section(b, L, !whole);
    put(b, "<section aria-labelledby=\"h-groups\"><h2 id=\"h-groups\">By ");
    markup_text(b, group_word(L->v));
    put(b, "</h2>");
    if (L->ng == 0)
        put(b, "<p class=\"muted\">No targets are watched.</p>");
    else if (whole)
        groups_inline(b, L);
    else
        groups_index(b, L);
    put(b, "</section>");
    foot(b, L->v);
}

static void pager(struct buf *b, const struct group *g, long page, long pages)
{
    if (pages <= 1)
        return;
    put(b, "<nav class=\"pager\" aria-label=\"Pages of this group\">");
    if (page > 1) {
        put(b, "<a rel=\"prev\" href=\"");
        group_href(b, g->name, page - 1);
        put(b, "\">Previous</a> ");
    }
    buf_printf(b, "<span>Page %ld of %ld</span>", page, pages);
    if (page < pages) {
        put(b, " <a rel=\"next\" href=\"");
        group_href(b, g->name, page + 1);
        put(b, "\">Next</a>");
    }
    put(b, "</nav>");
}

static void group_page(struct buf *b, const struct layout *L, const struct group *g, long page,
                       long pages)
{
    size_t from = (size_t)(page - 1) * PAGE_SIZE;
    size_t to = from + PAGE_SIZE < g->n ? from + PAGE_SIZE : g->n;

    head(b, L->v, g->name);
    summary(b, g->by_state, g->slow, g->flapping);
    put(b, "</header><main><nav class=\"crumbs\" aria-label=\"Breadcrumb\"><a href=\"/\">All "
           "targets</a></nav><section aria-labelledby=\"h-group\"><h2 id=\"h-group\">");
    markup_text(b, group_word(L->v));
    put(b, ": ");
    group_name(b, L->v, g->name);
    put(b, "</h2>");
    pager(b, g, page, pages);
    full_table(b, L, g, from, to, true);
    pager(b, g, page, pages);
    put(b, "</section>");
    foot(b, L->v);
}

static void error_page(struct buf *b, const struct view *v, struct hreply *rp, int status,
                       const char *what, const char *arg)
{
    rp->status = status;
    head(b, v, NULL);
    put(b, "</header><main><h2>");
    put(b, what);
    if (arg) {
        put(b, ": ");
        markup_text(b, arg);
    }
    put(b, "</h2><p><a href=\"/\">All targets</a></p>");
    foot(b, v);
}

/* "1" to "1000000", nothing else. */
static int page_parse(const char *s, long *out)
{
    long n = 0;

    if (!*s || *s == '0')
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || n > 100000)
            return -1;
        n = n * 10 + (*s - '0');
    }
    *out = n;
    return 0;
}

void page_handler(const struct view *v, const struct hrequest *rq, struct hreply *rp)
{
    const char *group = query_get(rq->query, "group");
    const char *pagearg = query_get(rq->query, "page");
    struct layout L;
    long page = 1, pages;

    rp->content_type = "text/html; charset=utf-8";
    rp->cache = NULL;
    layout_build(&L, v);
    if (pagearg && page_parse(pagearg, &page) < 0) {
        error_page(&rp->body, v, rp, 400, "Not a page number", pagearg);
    } else if (!group) {
        if (page != 1)
            error_page(&rp->body, v, rp, 404, "The overview is one page", NULL);
        else
            overview(&rp->body, &L);
    } else {
        const struct group *g = NULL;

        for (size_t i = 0; i < L.ng && !g; i++)
            if (strcmp(L.g[i].name, group) == 0)
                g = &L.g[i];
        pages = g ? (long)((g->n + PAGE_SIZE - 1) / PAGE_SIZE) : 0;
        if (!g)
            error_page(&rp->body, v, rp, 404, "No such group", group);
        else if (page > pages)
            error_page(&rp->body, v, rp, 404, "No such page", pagearg);
        else
            group_page(&rp->body, &L, g, page, pages);
    }
    layout_free(&L);
}
