/* Loading the configuration: the main file, the watch lists it pulls in
 * by glob, and inheritance; the rules between keys are confrules.c.
 *
 * Every file is loaded into a libyaml document, then walked; each key is
 * read by its row of the schema (schema.h, confschema.c). Each problem is
 * recorded with its position and the walk goes on, so one run reports
 * every error; only a file that is not valid YAML at all stops at its
 * first syntax error. Targets inherit from the global defaults, then from
 * their watch list's defaults; headers and labels merge key by key, every
 * other key is replaced. A cross-field rule (timeout within interval, say)
 * is reported once, at the level where it is first broken. */
#include "config.h"

#include <errno.h>
#include <glob.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_impl.h"
#include "redact.h"
#include "schema.h"

/* ---- targets ---- */

static void target_conf_clear(struct target_conf *t)
{
    if (t->shown_url != t->url)
        free(t->shown_url);
    t->shown_url = NULL;
    schema_clear(&schema_target, t);
}

/* Lays the keys given in src over dst, as inheritance does. */
static void partial_overlay(struct partial *dst, const struct partial *src)
{
    for (unsigned k = 0; k < schema_target.n; k++) {
        if (!(src->g.set & KEY_BIT(k)))
            continue;
        schema_copy(&schema_target, k, &dst->t, &src->t, true);
        dst->g.set |= KEY_BIT(k);
        dst->g.pos[k] = src->g.pos[k];
    }
}

static void partial_copy(struct partial *dst, const struct partial *src)
{
    memset(dst, 0, sizeof(*dst));
    schema_copy_all(&schema_target, &dst->t, &src->t);
    dst->g.set = src->g.set;
    memcpy(dst->g.pos, src->g.pos, sizeof(dst->g.pos));
}

static void builtin_defaults(struct partial *p)
{
    memset(p, 0, sizeof(*p));
    schema_defaults(&schema_target, &p->t);
}

/* Reads a target or defaults mapping into p (which starts empty). */
static void parse_partial(struct ctx *c, const yaml_node_t *map, struct partial *p, bool defaults)
{
    schema_parse(c, &schema_target, map, &p->t, defaults ? "defaults key" : "target key", defaults,
                 &p->g);
}

/* ---- loading files ---- */

static void target_conf_finish(struct target_conf *t)
{
    char *shown = url_shown(t->url, false);
    /* Validated; only memory can fail. */
    t->shown_url =
        shown ? redact_url(shown, t->redact_query, t->nredact_query) : xstrdup("(hidden)");
    free(shown);
    if (strcmp(t->shown_url, t->url) == 0) { /* nothing hidden, as for most: one copy */
        free(t->shown_url);
        t->shown_url = t->url;
    }
    if (t->body_regex_src) {
        t->body_regex = xmalloc(sizeof(*t->body_regex));
        /* Validated when parsed; only out of memory can fail here. */
        if (regcomp(t->body_regex, t->body_regex_src, REG_EXTENDED | REG_NOSUB) != 0) {
            free(t->body_regex);
            t->body_regex = NULL;
        }
    }
}

/* A target's list of webhooks, kept to be checked once all are known. */
struct route_ref {
    char *target;
    char **names;
    size_t n;
    struct pos pos;
};

struct loader {
    struct ctx *c;
    struct partial global; /* builtin + global defaults */
    struct strmap names;   /* target name -> index + 1 */
    size_t captargets;
    struct route_ref *routes;
    size_t nroutes;
    struct pos *depends_pos; /* per target: where its depends_on was given */
    size_t capdepends;
};

static void add_route(struct loader *L, const struct partial *p)
{
    struct route_ref *r;

    L->routes = xreallocarray(L->routes, L->nroutes + 1, sizeof(*L->routes));
    r = &L->routes[L->nroutes++];
    r->target = xstrdup(p->t.name ? p->t.name : "");
    r->n = p->t.nwebhooks;
    r->names = xcalloc(r->n, sizeof(*r->names));
    for (size_t i = 0; i < r->n; i++)
        r->names[i] = xstrdup(p->t.webhooks[i]);
    r->pos = p->g.pos[K.webhooks];
}

/* A timeout never given follows a shorter interval down; returns whether
 * it did. */
static bool clamp_timeout(struct partial *p)
{
    if (!(p->g.set & KEY_BIT(K.timeout)) && p->t.timeout_ms > p->t.interval_ms) {
        p->t.timeout_ms = p->t.interval_ms;
        return true;
    }
    return false;
}

static void parse_targets(struct loader *L, const yaml_node_t *seq, const struct partial *base)
{
    struct ctx *c = L->c;
    struct config *cfg = c->cfg;

    if (is_null(seq))
        return;
    if (seq->type != YAML_SEQUENCE_NODE) {
        err_at(c, seq, "targets must be a list, not %s", node_kind(seq));
        return;
    }
    /* A YAML alias repeats a target node: the same name again, reported
     * once, without reading the node again (aliases cost nothing to write
     * and could make a small file take minutes to check). */
    bool *seen = xcalloc((size_t)(c->doc->nodes.top - c->doc->nodes.start) + 1, sizeof(*seen));
    SEQUENCE_FOREACH(c, seq, item)
    {
        yaml_node_t *tn = node(c, *item);
        struct partial own = {0};
        struct partial merged;
        bool ok;

        if (seen[*item]) {
            err_at(c, tn, "this target is repeated by an alias (*); target names must be unique");
            continue;
        }
        seen[*item] = true;
        if (!want_mapping(c, tn, "a target"))
            continue;
        size_t before = c->nitems;
        parse_partial(c, tn, &own, false);
        ok = c->nitems == before;
        if (!(own.g.given & KEY_BIT(K.name))) {
            err_at(c, tn, "target has no name");
            ok = false;
        } else if (!(own.g.given & KEY_BIT(K.url))) {
            err_at(c, tn, "target %s has no url", own.t.name ? own.t.name : "");
            ok = false;
        }
        /* Rules between keys are checked on whatever parsed, so a target
         * with one mistake still has its others reported. */
        partial_copy(&merged, base);
        partial_overlay(&merged, &own);
        if (merged.t.webhooks_set)
            add_route(L, &merged);
        if (config_cross_check(c, &merged, own.g.set, clamp_timeout(&merged)) < 0)
            ok = false;
        target_conf_clear(&own.t);
        if (!ok) {
            /* Broken, but its name may still clash with a good one. */
            uintptr_t first = merged.t.name ? (uintptr_t)strmap_get(&L->names, merged.t.name) : 0;
            if (first && (own.g.set & KEY_BIT(K.name))) {
                const struct target_conf *ft = &cfg->targets[first - 1];
                err_pos(c, merged.g.pos[K.name],
                        "duplicate target name \"%s\" (first defined at %s:%u:%u)", merged.t.name,
                        ft->file, ft->line, ft->col);
            }
            target_conf_clear(&merged.t);
            continue;
        }
        merged.t.file = c->file;
        merged.t.line = (unsigned)tn->start_mark.line + 1;
        merged.t.col = (unsigned)tn->start_mark.column + 1;
        xgrow((void **)&cfg->targets, &L->captargets, cfg->ntargets, sizeof(*cfg->targets));
        size_t idx = cfg->ntargets;
        uintptr_t first = (uintptr_t)strmap_put(&L->names, merged.t.name, (void *)(idx + 1));
        if (first != 0) {
            const struct target_conf *ft = &cfg->targets[first - 1];
            err_pos(c, merged.g.pos[K.name],
                    "duplicate target name \"%s\" (first defined at %s:%u:%u)", merged.t.name,
                    ft->file, ft->line, ft->col);
            target_conf_clear(&merged.t);
            continue;
        }
        target_conf_finish(&merged.t);
        xgrow((void **)&L->depends_pos, &L->capdepends, idx, sizeof(*L->depends_pos));
        L->depends_pos[idx] = merged.g.pos[K.depends_on];
        cfg->targets[idx] = merged.t;
        cfg->ntargets++;
    }
    free(seen);
}

/* A defaults block laid over base, checked at its own level. */
static void parse_defaults(struct ctx *c, const yaml_node_t *map, struct partial *base)
{
    struct partial own = {0};

    if (is_null(map))
        return;
    if (!want_mapping(c, map, "defaults"))
        return;
    parse_partial(c, map, &own, true);
    partial_overlay(base, &own);
    /* Checked as a target that sets nothing itself will have it. */
    struct partial eff;
    partial_copy(&eff, base);
    config_cross_check(c, &eff, own.g.set, clamp_timeout(&eff));
    target_conf_clear(&eff.t);
    target_conf_clear(&own.t);
}

/* Walks a watch list: its own defaults over the global ones, then targets. */
static void parse_watch_file(struct loader *L, size_t fileidx)
{
    struct ctx *c = L->c;
    yaml_document_t doc;

    if (load_document(c, fileidx, &doc) < 0)
        return;
    c->fileidx = fileidx;
    c->file = c->cfg->files[fileidx];
    c->doc = &doc;

    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (want_mapping(c, root, "a watch list")) {
        struct doc_nodes nodes = {0};
        struct given g = {0};
        schema_parse(c, &schema_watch, root, &nodes, "watch-list key", false, &g);
        struct partial base;
        partial_copy(&base, &L->global);
        if (nodes.defaults)
            parse_defaults(c, nodes.defaults, &base);
        if (nodes.targets)
            parse_targets(L, nodes.targets, &base);
        else
            err_at(c, root, "a watch list needs a targets: list");
        target_conf_clear(&base.t);
    }
    yaml_document_delete(&doc);
}

static bool has_glob_chars(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

/* glob(3) reports unreadable directories here. A missing one is no error
 * (an empty or absent watch.d is normal); anything else is. */
static _Thread_local int glob_errno; /* reloads load on a worker thread */
static _Thread_local const char *glob_errpath;

static int glob_err(const char *path, int err)
{
    if (err == ENOENT || err == ENOTDIR)
        return 0;
    glob_errno = err;
    glob_errpath = path;
    return 1;
}

/* Expands one watch: entry relative to the main file's directory. A file
 * matched again (by another entry, or under another spelling such as
 * "./x.yaml") is read once: files are told apart by device and inode, kept
 * in c->watch_ids beside the paths. */
static void expand_watch(struct ctx *c, const yaml_node_t *n, const char *basedir, char ***paths,
                         size_t *npaths)
{
    glob_t g;
    char *pattern;
    int rc;

    if (!want_scalar(c, n, "a watch-list path or glob"))
        return;
    if (scalar(n)[0] == '/')
        pattern = xstrdup(scalar(n));
    else
        pattern = xasprintf("%s/%s", basedir, scalar(n));
    glob_errno = 0;
    rc = glob(pattern, GLOB_MARK, glob_err, &g);
    if (rc == GLOB_NOMATCH || (rc == 0 && g.gl_pathc == 0)) {
        if (!has_glob_chars(pattern))
            err_at(c, n, "watch list %s: %s", pattern, strerror(ENOENT));
    } else if (rc == GLOB_ABORTED) {
        err_at(c, n, "watch %s: cannot read %s: %s", pattern, glob_errpath, strerror(glob_errno));
    } else if (rc != 0) {
        err_at(c, n, "watch %s: cannot expand: out of memory", pattern);
    } else {
        for (size_t i = 0; i < g.gl_pathc; i++) {
            const char *p = g.gl_pathv[i];
            size_t len = strlen(p);
            if (len && p[len - 1] == '/') {
                /* A directory a glob matched is skipped; one named alone is
                 * a mistake (its files need a glob). */
                if (!has_glob_chars(pattern))
                    err_at(c, n, "watch list %s is a directory (its files: %s*.yaml)", p, p);
                continue;
            }
            /* One that cannot be stat-ed is kept: reading it says why. */
            struct file_id id = file_id_of(p);
            bool dup = same_id(&id, &c->main_id);
            for (size_t k = 0; k < *npaths && !dup; k++)
                dup = strcmp((*paths)[k], p) == 0 || same_id(&id, &c->watch_ids[k]);
            if (dup)
                continue;
            *paths = xreallocarray(*paths, *npaths + 1, sizeof(**paths));
            c->watch_ids = xreallocarray(c->watch_ids, *npaths + 1, sizeof(*c->watch_ids));
            (*paths)[*npaths] = xstrdup(p);
            c->watch_ids[*npaths] = id;
            (*npaths)++;
        }
    }
    globfree(&g);
    free(pattern);
}

/* Every webhook a target routes to must exist; a name given once in
 * inherited defaults is reported once. */
static void check_routes(struct loader *L)
{
    struct ctx *c = L->c;
    struct config *cfg = c->cfg;
    const char **names = xcalloc(cfg->nwebhooks + 1, sizeof(*names));
    struct strmap reported = {0}; /* "file:line:col:name" */
    char **keys = NULL;
    size_t nkeys = 0;

    for (size_t i = 0; i < cfg->nwebhooks; i++)
        names[i] = cfg->webhooks[i].name;
    for (size_t i = 0; i < L->nroutes; i++) {
        const struct route_ref *r = &L->routes[i];
        for (size_t j = 0; j < r->n; j++) {
            bool found = false;
            for (size_t w = 0; w < cfg->nwebhooks && !found; w++)
                found = strcmp(r->names[j], names[w]) == 0;
            if (found)
                continue;
            char *key =
                xasprintf("%zu:%u:%u:%s", r->pos.file, r->pos.line, r->pos.col, r->names[j]);
            if (strmap_get(&reported, key)) {
                free(key);
                continue; /* inherited from defaults: said once, where they are */
            }
            keys = xreallocarray(keys, nkeys + 1, sizeof(*keys));
            keys[nkeys++] = key;
            strmap_put(&reported, key, key);
            const char *hint = closest(r->names[j], names, cfg->nwebhooks);
            if (hint)
                err_pos(c, r->pos,
                        "target %s routes to unknown webhook \"%s\" (did you mean \"%s\"?)",
                        r->target, r->names[j], hint);
            else
                err_pos(c, r->pos, "target %s routes to unknown webhook \"%s\"", r->target,
                        r->names[j]);
        }
    }
    for (size_t i = 0; i < L->nroutes; i++) {
        for (size_t j = 0; j < L->routes[i].n; j++)
            free(L->routes[i].names[j]);
        free(L->routes[i].names);
        free(L->routes[i].target);
    }
    free(L->routes);
    for (size_t i = 0; i < nkeys; i++)
        free(keys[i]);
    free(keys);
    strmap_free(&reported);
    free(names);
}

/* The http block: its keys, and the token given one way only. */
static void parse_http(struct ctx *c, const yaml_node_t *map)
{
    struct given g = {0};
    unsigned file = schema_index(&schema_http, "token_file"),
             cred = schema_index(&schema_http, "token_credential");

    schema_parse(c, &schema_http, map, c->cfg, "http key", false, &g);
    if ((g.set & KEY_BIT(file)) && (g.set & KEY_BIT(cred)))
        err_pos(c, g.pos[cred], "give token_file or token_credential, not both");
}

/* Every instance validates the whole watch list alike, so a bad file
 * fails everywhere; then keeps the targets its shard owns. A target that
 * depends_on one kept elsewhere is not held by it (holding.c skips a
 * parent it does not run). --shard goes over instance.shard. */
static void keep_own_shard(struct config *cfg, const struct config_env *env)
{
    size_t kept = 0;

    if (env && env->shard.count) {
        free(cfg->shard_spec);
        cfg->shard_spec = xasprintf("%u/%u", env->shard.index, env->shard.count);
    }
    cfg->ntargets_all = cfg->ntargets;
    if (cfg->shard_spec == NULL || shard_parse(cfg->shard_spec, &cfg->shard) < 0)
        return;
    for (size_t i = 0; i < cfg->ntargets; i++) {
        if (shard_owns(&cfg->shard, cfg->targets[i].name))
            cfg->targets[kept++] = cfg->targets[i];
        else
            target_conf_clear(&cfg->targets[i]);
    }
    cfg->ntargets = kept;
}

struct config *config_load(const char *path, const struct config_env *env, struct diags *diags)
{
    struct config *cfg = xcalloc(1, sizeof(*cfg));
    struct ctx c = {0};
    struct loader L = {0};
    yaml_document_t doc;
    char **watch_paths = NULL;
    size_t nwatch = 0;

    config_keys_init();
    cfg->path = xstrdup(path);
    schema_defaults(&schema_alerts, cfg);
    schema_defaults(&schema_engine, cfg);
    schema_defaults(&schema_http, cfg);
    schema_defaults(&schema_history, cfg);
    schema_defaults(&schema_instance, cfg);
    c.cfg = cfg;
    c.env = env;
    L.c = &c;
    builtin_defaults(&L.global);

    c.main_id = file_id_of(path);
    char *basedir = xstrdup(path);
    char *slash = strrchr(basedir, '/');
    if (slash == basedir)
        basedir[1] = '\0';
    else if (slash)
        *slash = '\0';
    else {
        free(basedir);
        basedir = xstrdup(".");
    }
    c.basedir = basedir;
    size_t mainidx = ctx_add_file(&c, path);
    if (load_document(&c, mainidx, &doc) == 0) {
        c.fileidx = mainidx;
        c.file = cfg->files[mainidx];
        c.doc = &doc;
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        if (want_mapping(&c, root, "the configuration")) {
            struct doc_nodes nodes = {0};
            struct given g = {0};
            schema_parse(&c, &schema_main, root, &nodes, "key", false, &g);
            const yaml_node_t *targets = nodes.targets, *watch = nodes.watch;
            if (nodes.defaults)
                parse_defaults(&c, nodes.defaults, &L.global);
            if (nodes.alerts && !is_null(nodes.alerts) && want_mapping(&c, nodes.alerts, "alerts"))
                schema_parse(&c, &schema_alerts, nodes.alerts, cfg, "alerts key", false, &g);
            if (nodes.engine && !is_null(nodes.engine) && want_mapping(&c, nodes.engine, "engine"))
                schema_parse(&c, &schema_engine, nodes.engine, cfg, "engine key", false, &g);
            if (nodes.http && !is_null(nodes.http) && want_mapping(&c, nodes.http, "http"))
                parse_http(&c, nodes.http);
            if (nodes.history && !is_null(nodes.history) &&
                want_mapping(&c, nodes.history, "history"))
                schema_parse(&c, &schema_history, nodes.history, cfg, "history key", false, &g);
            if (nodes.instance && !is_null(nodes.instance) &&
                want_mapping(&c, nodes.instance, "instance"))
                schema_parse(&c, &schema_instance, nodes.instance, cfg, "instance key", false, &g);
            if (nodes.maintenance)
                config_parse_maintenance(&c, nodes.maintenance);
            if (targets)
                parse_targets(&L, targets, &L.global);
            if (watch && !is_null(watch)) {
                const char *dir = c.basedir;
                if (watch->type == YAML_SEQUENCE_NODE) {
                    SEQUENCE_FOREACH(&c, watch, item)
                    expand_watch(&c, node(&c, *item), dir, &watch_paths, &nwatch);
                } else {
                    expand_watch(&c, watch, dir, &watch_paths, &nwatch);
                }
            }
        }
        yaml_document_delete(&doc);
    }
    for (size_t i = 0; i < nwatch; i++) {
        size_t idx = ctx_add_file(&c, watch_paths[i]);
        parse_watch_file(&L, idx);
        free(watch_paths[i]);
    }
    free(watch_paths);
    check_routes(&L);
    config_link_targets(&c, L.depends_pos);
    free(L.depends_pos);

    target_conf_clear(&L.global.t);
    strmap_free(&L.names);
    free(basedir);

    size_t nerrors = ctx_take_diags(&c, diags);
    free(c.watch_ids);
    if (nerrors > 0) {
        config_free(cfg);
        return NULL;
    }
    keep_own_shard(cfg, env);
    return cfg;
}

void config_free(struct config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < cfg->ntargets; i++)
        target_conf_clear(&cfg->targets[i]);
    free(cfg->targets);
    schema_clear(&schema_alerts, cfg);
    schema_clear(&schema_engine, cfg);
    schema_clear(&schema_http, cfg);
    schema_clear(&schema_history, cfg);
    schema_clear(&schema_instance, cfg);
    config_free_maintenance(cfg);
    for (size_t i = 0; i < cfg->nfiles; i++)
        free(cfg->files[i]);
    free(cfg->files);
    free(cfg->path);
    free(cfg);
}

size_t config_watch_files(const struct config *cfg)
{
    return cfg->nfiles ? cfg->nfiles - 1 : 0;
}

void config_summary(const struct config *cfg, char *out, size_t len)
{
    size_t disabled = 0;
    int n;

    for (size_t i = 0; i < cfg->ntargets; i++)
        if (!cfg->targets[i].enabled)
            disabled++;
    n = snprintf(out, len, "%zu target%s (%zu disabled) from %zu watch file%s, %zu webhook%s",
                 cfg->ntargets, cfg->ntargets == 1 ? "" : "s", disabled, config_watch_files(cfg),
                 config_watch_files(cfg) == 1 ? "" : "s", cfg->nwebhooks,
                 cfg->nwebhooks == 1 ? "" : "s");
    if (cfg->shard.count && n >= 0 && (size_t)n < len)
        snprintf(out + n, len - (size_t)n, "; shard %u/%u: owns %zu of %zu targets",
                 cfg->shard.index, cfg->shard.count, cfg->ntargets, cfg->ntargets_all);
}

bool target_conf_equal(const struct target_conf *a, const struct target_conf *b)
{
    return schema_equal(&schema_target, a, b, 0);
}

bool target_conf_probe_equal(const struct target_conf *a, const struct target_conf *b)
{
    return schema_equal(&schema_target, a, b, OPT_PROBE);
}

void webhook_conf_defaults(struct webhook_conf *w)
{
    memset(w, 0, sizeof(*w));
    schema_defaults(&schema_webhook, w);
}

bool webhook_conf_equal(const struct webhook_conf *a, const struct webhook_conf *b)
{
    return schema_equal(&schema_webhook, a, b, 0);
}

bool target_routes_to(const struct target_conf *t, const char *webhook)
{
    if (!t->webhooks_set)
        return true;
    for (size_t i = 0; i < t->nwebhooks; i++)
        if (strcmp(t->webhooks[i], webhook) == 0)
            return true;
    return false;
}
