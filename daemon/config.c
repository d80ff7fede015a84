/* Loading the configuration: the main file, the watch lists it pulls in
 * by glob, inheritance and the rules between keys.
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

#include "duration.h"
#include "redact.h"
#include "schema.h"
#include "secret.h"

/* Where the rules between keys find their keys in the tables. Filled once,
 * by the first load (on the main thread, before any reload runs on another),
 * from the tables by name, so the rows stay the only list of keys. */
static struct {
    bool known;
    unsigned name, url, method, interval, timeout, max_latency, body_contains, body_regex,
        body_not_contains, json, webhooks, remind_every, flap_threshold, flap_window, client_cert,
        client_key, client_key_credential, connect_to, proxy, tls_server_name, depends_on,
        retry_interval;
} K;
static struct {
    unsigned name, url, secret_file, secret_credential, retry_initial, retry_max, username,
        icon_url, icon_emoji;
} W;

static void keys_init(void)
{
    const struct schema_level *t = &schema_target, *w = &schema_webhook;

    if (K.known)
        return;
    K.known = true;
    K.name = schema_index(t, "name");
    K.url = schema_index(t, "url");
    K.method = schema_index(t, "method");
    K.interval = schema_index(t, "interval");
    K.timeout = schema_index(t, "timeout");
    K.max_latency = schema_index(t, "max_latency");
    K.body_contains = schema_index(t, "body_contains");
    K.body_regex = schema_index(t, "body_regex");
    K.body_not_contains = schema_index(t, "body_not_contains");
    K.json = schema_index(t, "json");
    K.webhooks = schema_index(t, "webhooks");
    K.remind_every = schema_index(t, "remind_every");
    K.retry_interval = schema_index(t, "retry_interval");
    K.flap_threshold = schema_index(t, "flap_threshold");
    K.flap_window = schema_index(t, "flap_window");
    K.client_cert = schema_index(t, "client_cert");
    K.client_key = schema_index(t, "client_key");
    K.client_key_credential = schema_index(t, "client_key_credential");
    K.connect_to = schema_index(t, "connect_to");
    K.proxy = schema_index(t, "proxy");
    K.tls_server_name = schema_index(t, "tls_server_name");
    K.depends_on = schema_index(t, "depends_on");
    W.name = schema_index(w, "name");
    W.url = schema_index(w, "url");
    W.secret_file = schema_index(w, "secret_file");
    W.secret_credential = schema_index(w, "secret_credential");
    W.retry_initial = schema_index(w, "retry_initial");
    W.retry_max = schema_index(w, "retry_max");
    W.username = schema_index(w, "username");
    W.icon_url = schema_index(w, "icon_url");
    W.icon_emoji = schema_index(w, "icon_emoji");
}

/* ---- targets ---- */

/* A target, or a defaults block, as far as it has been given. */
struct partial {
    struct target_conf t;
    struct given g;
};

static void target_conf_clear(struct target_conf *t)
{
    schema_clear(&schema_target, t);
    free(t->shown_url);
    t->shown_url = NULL;
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

#define OWN(k)        (own & KEY_BIT(K.k))
#define WHERE(k1, k2) (OWN(k1) ? merged->g.pos[K.k1] : merged->g.pos[K.k2])

/* The rules between the keys of a probe's client (see cross_check). */
static int client_check(struct ctx *c, const struct partial *merged, uint64_t own)
{
    const struct target_conf *t = &merged->t;
    uint64_t key_bits = KEY_BIT(K.client_key) | KEY_BIT(K.client_key_credential);
    bool own_key = own & key_bits;
    unsigned key = (merged->g.set & KEY_BIT(K.client_key)) ? K.client_key : K.client_key_credential;
    int rc = 0;

    if ((merged->g.set & key_bits) == key_bits && own_key) {
        err_pos(c,
                merged->g.pos[own & KEY_BIT(K.client_key) ? K.client_key_credential : K.client_key],
                "give client_key or client_key_credential, not both");
        rc = -1;
    } else if (!t->client_cert.data != !t->client_key.data && (OWN(client_cert) || own_key)) {
        if (t->client_cert.data)
            err_pos(c, merged->g.pos[K.client_cert],
                    "client_cert needs client_key or client_key_credential");
        else
            err_pos(c, merged->g.pos[key], "%s needs client_cert", schema_target.opts[key].name);
        rc = -1;
    } else if (t->client_cert.data && (OWN(client_cert) || own_key) &&
               !tls_key_matches(t->client_cert.data, t->client_key.data)) {
        err_pos(c, merged->g.pos[own_key ? key : K.client_cert],
                "%s is not the key of the first certificate in client_cert",
                schema_target.opts[key].name);
        rc = -1;
    }
    if (t->connect_to && t->proxy && (OWN(connect_to) || OWN(proxy))) {
        err_pos(c, merged->g.pos[OWN(connect_to) ? K.connect_to : K.proxy],
                "give connect_to or proxy, not both: through a proxy, the proxy connects");
        rc = -1;
    }
    /* A defaults block has no URL: the rule waits for the target. */
    if (t->tls_server_name && t->url && (OWN(tls_server_name) || OWN(url)) &&
        strncasecmp(t->url, "https:", 6) != 0) {
        err_pos(c, merged->g.pos[OWN(tls_server_name) ? K.tls_server_name : K.url],
                "tls_server_name needs an https URL");
        rc = -1;
    }
    return rc;
}

/* Whether body check k (a key index) is set to a check, not to none. */
static bool body_check_given(const struct target_conf *t, unsigned k)
{
    if (k == K.body_contains)
        return t->body_contains != NULL;
    if (k == K.body_regex)
        return t->body_regex_src != NULL;
    if (k == K.body_not_contains)
        return t->body_not_contains != NULL;
    return t->njson > 0;
}

/* Rules between keys. Each is reported only where one of its keys is given
 * at this level (own), so an error in defaults is not repeated per target. */
static int cross_check(struct ctx *c, const struct partial *merged, uint64_t own, bool clamped)
{
    const struct target_conf *t = &merged->t;
    char a[32], b[32];
    int rc = 0;

    if (t->timeout_ms > t->interval_ms && (merged->g.set & KEY_BIT(K.timeout)) &&
        (OWN(timeout) || OWN(interval))) {
        duration_format(t->timeout_ms, a, sizeof(a));
        duration_format(t->interval_ms, b, sizeof(b));
        err_pos(c, WHERE(timeout, interval),
                "timeout %s is longer than interval %s: a probe must end before the next one "
                "is due",
                a, b);
        rc = -1;
    }
    /* A timeout never given follows a shorter interval down, so then the
     * interval is what breaks the rule. */
    if (t->max_latency_ms && t->max_latency_ms >= t->timeout_ms &&
        (OWN(max_latency) || OWN(timeout) || (clamped && OWN(interval)))) {
        duration_format(t->max_latency_ms, a, sizeof(a));
        duration_format(t->timeout_ms, b, sizeof(b));
        struct pos where = OWN(max_latency) ? merged->g.pos[K.max_latency]
                           : OWN(timeout)   ? merged->g.pos[K.timeout]
                                            : merged->g.pos[K.interval];
        err_pos(c, where, "max_latency %s must be shorter than timeout %s", a, b);
        rc = -1;
    }
    if (t->flap_threshold && t->flap_threshold > t->flap_window &&
        (OWN(flap_threshold) || OWN(flap_window))) {
        err_pos(c, WHERE(flap_threshold, flap_window),
                "flap_threshold %u cannot exceed flap_window %u", t->flap_threshold,
                t->flap_window);
        rc = -1;
    }
    if (t->remind_every_ms && t->remind_every_ms < t->interval_ms &&
        (OWN(remind_every) || OWN(interval))) {
        duration_format(t->remind_every_ms, a, sizeof(a));
        duration_format(t->interval_ms, b, sizeof(b));
        err_pos(c, WHERE(remind_every, interval), "remind_every %s is shorter than interval %s", a,
                b);
        rc = -1;
    }
    if (t->retry_interval_ms && t->retry_interval_ms >= t->interval_ms &&
        (OWN(retry_interval) || OWN(interval))) {
        duration_format(t->retry_interval_ms, a, sizeof(a));
        duration_format(t->interval_ms, b, sizeof(b));
        err_pos(c, WHERE(retry_interval, interval),
                "retry_interval %s must be shorter than interval %s", a, b);
        rc = -1;
    }
    if (t->body_contains && t->body_regex_src && (OWN(body_contains) || OWN(body_regex))) {
        err_pos(c, merged->g.pos[OWN(body_regex) ? K.body_regex : K.body_contains],
                "give body_contains or body_regex, not both");
        rc = -1;
    }
    if (strcmp(t->method, "HEAD") == 0) {
        /* The first body check there is, and the first given here. */
        const unsigned body_keys[] = {K.body_contains, K.body_regex, K.body_not_contains, K.json};
        unsigned there = schema_target.n, here = schema_target.n;
        for (size_t i = 0; i < ARRAY_SIZE(body_keys); i++) {
            unsigned k = body_keys[i];
            if (!body_check_given(t, k))
                continue;
            if (there == schema_target.n)
                there = k;
            if (here == schema_target.n && (own & KEY_BIT(k)))
                here = k;
        }
        if (there < schema_target.n && (OWN(method) || here < schema_target.n)) {
            unsigned k = here < schema_target.n ? here : there;
            err_pos(c, merged->g.pos[OWN(method) ? K.method : k],
                    "a HEAD request has no body for %s to check", schema_target.opts[k].name);
            rc = -1;
        }
    }
    rc |= client_check(c, merged, own);
#undef WHERE
#undef OWN
    return rc;
}

/* ---- loading files ---- */

static void target_conf_finish(struct target_conf *t)
{
    char *shown = url_shown(t->url, false);
    /* Validated; only memory can fail. */
    t->shown_url =
        shown ? redact_url(shown, t->redact_query, t->nredact_query) : xstrdup("(hidden)");
    free(shown);
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
        if (cross_check(c, &merged, own.g.set, clamp_timeout(&merged)) < 0)
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
    cross_check(c, &eff, own.g.set, clamp_timeout(&eff));
    target_conf_clear(&eff.t);
    target_conf_clear(&own.t);
}

/* ---- webhooks ---- */

/* The first key given of those only a slack-format body carries, or -1. */
static int slack_only_key(const struct given *g, enum webhook_format f)
{
    const unsigned keys[] = {W.username, W.icon_url, W.icon_emoji};

    for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
        if ((g->set & KEY_BIT(keys[i])) && !(f == WEBHOOK_EMAIL && keys[i] == W.username))
            return (int)keys[i];
    return -1;
}

void config_parse_webhook(struct ctx *c, const yaml_node_t *map)
{
    struct config *cfg = c->cfg;
    struct webhook_conf w = {0};
    struct given g = {0};
    size_t before = c->nitems;

    schema_defaults(&schema_webhook, &w);
    if (!want_mapping(c, map, "a webhook")) {
        schema_clear(&schema_webhook, &w);
        return;
    }
    schema_parse(c, &schema_webhook, map, &w, "webhook key", false, &g);
    if (c->nitems == before) {
        if (!(g.set & KEY_BIT(W.name)))
            err_at(c, map, "webhook has no name");
        else if (!(g.set & KEY_BIT(W.url)))
            err_at(c, map, "webhook %s has no url", w.name);
        else if (w.retry_max_ms < w.retry_initial_ms)
            err_pos(c, g.pos[(g.set & KEY_BIT(W.retry_max)) ? W.retry_max : W.retry_initial],
                    "retry_max must not be shorter than retry_initial");
        else if ((g.set & KEY_BIT(W.secret_file)) && (g.set & KEY_BIT(W.secret_credential)))
            err_pos(c, g.pos[W.secret_credential],
                    "give secret_file or secret_credential, not both");
        else if (w.secret && w.format != WEBHOOK_STANDARD)
            err_pos(c,
                    g.pos[(g.set & KEY_BIT(W.secret_file)) ? W.secret_file : W.secret_credential],
                    "the %s format is not signed; a secret is only used by the standard format",
                    webhook_format_name(w.format));
        else if (w.format != WEBHOOK_SLACK && slack_only_key(&g, w.format) >= 0)
            err_pos(c, g.pos[slack_only_key(&g, w.format)], "%s applies only to format: slack",
                    schema_webhook.opts[slack_only_key(&g, w.format)].name);
        else if ((g.set & KEY_BIT(W.icon_url)) && (g.set & KEY_BIT(W.icon_emoji)))
            err_pos(c, g.pos[W.icon_emoji], "give icon_url or icon_emoji, not both");
        else if (w.secret && !secret_valid(w.secret))
            err_pos(c,
                    g.pos[(g.set & KEY_BIT(W.secret_file)) ? W.secret_file : W.secret_credential],
                    "the secret in %s must be \"whsec_\" followed by base64", w.secret_source);
        else if (config_check_receiver(c, &w, &g, map) < 0)
            goto discard;
        else {
            for (size_t i = 0; i < cfg->nwebhooks; i++) {
                if (strcmp(cfg->webhooks[i].name, w.name) == 0) {
                    err_pos(c, g.pos[W.name],
                            "duplicate webhook name \"%s\" (first defined at %s:%u:%u)", w.name,
                            cfg->webhooks[i].file, cfg->webhooks[i].line, cfg->webhooks[i].col);
                    goto discard;
                }
            }
            w.file = c->file;
            w.line = (unsigned)map->start_mark.line + 1;
            w.col = (unsigned)map->start_mark.column + 1;
            cfg->webhooks =
                xreallocarray(cfg->webhooks, cfg->nwebhooks + 1, sizeof(*cfg->webhooks));
            cfg->webhooks[cfg->nwebhooks++] = w;
            return;
        }
    }
discard:
    schema_clear(&schema_webhook, &w);
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

    keys_init();
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
