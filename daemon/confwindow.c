/* Maintenance windows in the configuration: the compound keys of a
 * window (every), of a target (maintenance) and of the main file's
 * windows (match), the rules between a window's keys, and the main file's
 * list of windows, which join the targets they select once every file is
 * read (confdeps.c). */
#include "schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- checks of plain strings ---- */

int check_window_start(struct ctx *c, const yaml_node_t *v, const char *value)
{
    unsigned min;

    if (window_parse_clock(value, &min) == 0)
        return 0;
    err_at(c, v, "start \"%s\" must be a time of day, HH:MM from 00:00 to 23:59", value);
    return -1;
}

int check_window_time(struct ctx *c, const yaml_node_t *v, const char *value)
{
    int64_t ms;

    if (window_parse_time(value, &ms) == 0)
        return 0;
    err_at(c, v,
           "\"%s\" is not an RFC 3339 time with an offset, such as 2025-06-01T02:00:00+02:00 or "
           "2025-06-01T00:00:00Z",
           value);
    return -1;
}

int check_timezone(struct ctx *c, const yaml_node_t *v, const char *value)
{
    char err[512];
    struct window_zone *z = window_zone_open(value, err, sizeof(err));

    if (z) {
        window_zone_free(z);
        return 0;
    }
    err_at(c, v, "%s", err);
    return -1;
}

int check_comment(struct ctx *c, const yaml_node_t *v, const char *value)
{
    if (strlen(value) <= 1000 && !has_control_chars(value))
        return 0;
    err_at(c, v, "comment must be at most 1000 characters, without control characters");
    return -1;
}

/* ---- every: the days a recurring window starts on ---- */

static const struct names day_names = {window_day_names, 7, NULL};
static const struct choices day_choices = {"day", &day_names};

#define DAYS(base, o) ((uint32_t *)FIELD(base, (o)->offset))

static int days_parse(struct ctx *c, const yaml_node_t *v, const struct opt *o, void *base)
{
    uint32_t days = 0;
    unsigned d;
    int rc = 0;

    if (v->type == YAML_SCALAR_NODE && strcmp(scalar(v), "daily") == 0) {
        *DAYS(base, o) = WINDOW_DAILY;
        return 0;
    }
    if (v->type == YAML_SCALAR_NODE && !is_null(v)) {
        if (get_choice(c, v, &day_choices, &d) < 0)
            return -1;
        *DAYS(base, o) = 1u << d;
        return 0;
    }
    if (v->type != YAML_SEQUENCE_NODE) {
        err_at(c, v, "every must be daily, a day of the week or a list of them, not %s",
               node_kind(v));
        return -1;
    }
    SEQUENCE_FOREACH(c, v, item)
    {
        yaml_node_t *e = node(c, *item);
        if (!want_scalar(c, e, "a day of the week") || get_choice(c, e, &day_choices, &d) < 0)
            rc = -1;
        else
            days |= 1u << d;
    }
    if (rc == 0 && days == 0) {
        err_at(c, v, "every needs at least one day");
        rc = -1;
    }
    if (rc == 0)
        *DAYS(base, o) = days;
    return rc;
}

static void days_copy(void *dst, const void *src, const struct opt *o, bool merge)
{
    (void)merge;
    *DAYS(dst, o) = *DAYS(src, o);
}

static void days_clear(void *base, const struct opt *o)
{
    *DAYS(base, o) = 0;
}

static bool days_eq(const void *a, const void *b, const struct opt *o)
{
    return *DAYS(a, o) == *DAYS(b, o);
}

static json_t *days_value(const void *base, const struct opt *o)
{
    uint32_t days = *DAYS(base, o);

    if (days == 0)
        return json_null(); /* a one-off window */
    if (days == WINDOW_DAILY)
        return json_string("daily");
    json_t *a = json_array();
    for (unsigned i = 0; i < 7; i++)
        if (days & (1u << i))
            json_array_append_new(a, json_string(window_day_names[i]));
    return a;
}

static json_t *days_schema(const struct opt *o)
{
    json_t *one = schema_choices_json(&day_choices);

    (void)o;
    json_array_append_new(json_object_get(one, "enum"), json_string("daily"));
    return json_pack("{s:[o, {s:s, s:o, s:i}], s:s}", "anyOf", one, "type", "array", "items",
                     schema_choices_json(&day_choices), "minItems", 1, "default", "daily");
}

const struct opt_ops days_ops = {days_parse, days_copy,  days_clear,
                                 days_eq,    days_value, days_schema};

/* ---- one window ---- */

static void window_free_fields(struct window *w)
{
    schema_clear(&schema_window, w);
    window_clear_derived(w);
}

/* The rules between a window's keys, and its derived fields. The window
 * keys come first in both levels, so their indices are those of
 * schema_window. */
static int window_rules(struct ctx *c, const yaml_node_t *map, struct window *w,
                        const struct given *g)
{
    const struct schema_level *l = &schema_window;
    unsigned start = schema_index(l, "start"), duration = schema_index(l, "duration"),
             every = schema_index(l, "every"), tz = schema_index(l, "timezone"),
             from = schema_index(l, "from"), until = schema_index(l, "until");
    char err[512];

    if (g->set & KEY_BIT(start)) {
        if (g->set & (KEY_BIT(from) | KEY_BIT(until))) {
            err_pos(c, g->pos[(g->set & KEY_BIT(from)) ? from : until],
                    "give start (a recurring window) or from and until (a one-off one), not both");
            return -1;
        }
        if (!(g->set & KEY_BIT(duration))) {
            err_pos(c, g->pos[start], "a recurring window needs a duration");
            return -1;
        }
        if (!(g->set & KEY_BIT(every)))
            w->days = WINDOW_DAILY;
    } else {
        const unsigned recurring_only[] = {duration, every, tz};
        for (size_t i = 0; i < ARRAY_SIZE(recurring_only); i++) {
            if (g->set & KEY_BIT(recurring_only[i])) {
                err_pos(c, g->pos[recurring_only[i]],
                        "%s applies to a recurring window, one with start",
                        l->opts[recurring_only[i]].name);
                return -1;
            }
        }
        if (!(g->set & KEY_BIT(from)) && !(g->set & KEY_BIT(until))) {
            err_at(c, map, "a maintenance window needs start and duration, or from and until");
            return -1;
        }
        if (!(g->set & KEY_BIT(from)) || !(g->set & KEY_BIT(until))) {
            err_at(c, map, "a one-off window needs both from and until");
            return -1;
        }
    }
    if (window_finish(w, err, sizeof(err)) < 0) {
        err_at(c, map, "%s", err);
        return -1;
    }
    if (!w->recurring && w->until_ms <= w->from_ms) {
        err_pos(c, g->pos[until], "until must be later than from");
        return -1;
    }
    return 0;
}

/* Reads one window mapping into base, a struct window or a struct
 * maint_rule (level l); -1 when anything in it is wrong (reported). */
static int window_read(struct ctx *c, const yaml_node_t *map, const struct schema_level *l,
                       void *base, struct given *g)
{
    size_t before = c->nitems;

    if (!want_mapping(c, map, "a maintenance window"))
        return -1;
    schema_defaults(l, base);
    schema_parse(c, l, map, base, "maintenance window key", false, g);
    if (c->nitems != before)
        return -1;
    return window_rules(c, map, base, g);
}

/* ---- maintenance: a target's windows ---- */

#define WINDOWS(base, o)  ((struct window **)FIELD(base, (o)->offset))
#define NWINDOWS(base, o) ((size_t *)FIELD(base, (o)->aux))

static void windows_clear(void *base, const struct opt *o)
{
    struct window *ws = *WINDOWS(base, o);

    for (size_t i = 0; i < *NWINDOWS(base, o); i++)
        window_free_fields(&ws[i]);
    free(ws);
    *WINDOWS(base, o) = NULL;
    *NWINDOWS(base, o) = 0;
}

void window_conf_copy(struct window *dst, const struct window *src)
{
    memset(dst, 0, sizeof(*dst));
    schema_copy_all(&schema_window, dst, src);
    window_copy_derived(dst, src);
}

static int windows_parse(struct ctx *c, const yaml_node_t *v, const struct opt *o, void *base)
{
    struct window *ws = NULL;
    size_t n = 0;
    int rc = 0;

    if (!is_null(v) && v->type != YAML_SEQUENCE_NODE) {
        err_at(c, v, "maintenance must be a list of windows, not %s", node_kind(v));
        return -1;
    }
    if (!is_null(v)) {
        SEQUENCE_FOREACH(c, v, item)
        {
            struct window w = {0};
            struct given g = {0};
            if (window_read(c, node(c, *item), &schema_window, &w, &g) < 0) {
                window_free_fields(&w);
                rc = -1;
                continue;
            }
            ws = xreallocarray(ws, n + 1, sizeof(*ws));
            ws[n++] = w;
        }
    }
    windows_clear(base, o);
    *WINDOWS(base, o) = ws;
    *NWINDOWS(base, o) = n;
    return rc;
}

static void windows_copy(void *dst, const void *src, const struct opt *o, bool merge)
{
    const struct window *s = *WINDOWS(src, o);
    size_t n = *NWINDOWS(src, o);

    (void)merge;
    windows_clear(dst, o);
    if (n == 0)
        return;
    struct window *d = xcalloc(n, sizeof(*d));
    for (size_t i = 0; i < n; i++)
        window_conf_copy(&d[i], &s[i]);
    *WINDOWS(dst, o) = d;
    *NWINDOWS(dst, o) = n;
}

static bool windows_eq(const void *a, const void *b, const struct opt *o)
{
    if (*NWINDOWS(a, o) != *NWINDOWS(b, o))
        return false;
    for (size_t i = 0; i < *NWINDOWS(a, o); i++)
        if (!schema_equal(&schema_window, &(*WINDOWS(a, o))[i], &(*WINDOWS(b, o))[i], 0))
            return false;
    return true;
}

static json_t *windows_value(const void *base, const struct opt *o)
{
    json_t *a = json_array();

    for (size_t i = 0; i < *NWINDOWS(base, o); i++)
        json_array_append_new(a, schema_values(&schema_window, &(*WINDOWS(base, o))[i]));
    return a;
}

static json_t *windows_schema(const struct opt *o)
{
    (void)o;
    return json_pack("{s:[s,s], s:o}", "type", "array", "null", "items",
                     schema_level_json(&schema_window, false));
}

const struct opt_ops windows_ops = {windows_parse, windows_copy,  windows_clear,
                                    windows_eq,    windows_value, windows_schema};

/* ---- match: the labels a main-file window selects targets by ---- */

static int match_parse(struct ctx *c, const yaml_node_t *v, const struct opt *o, void *base)
{
    static const char *const keys[] = {"labels"};
    const yaml_node_t *labels = NULL;

    if (!want_mapping(c, v, "match"))
        return -1;
    MAPPING_FOREACH(c, v, pair)
    {
        yaml_node_t *k = node(c, pair->key);
        if (k->type != YAML_SCALAR_NODE || strcmp(scalar(k), "labels") != 0) {
            err_unknown(c, k, "match key", k->type == YAML_SCALAR_NODE ? scalar(k) : "", keys,
                        ARRAY_SIZE(keys));
            return -1;
        }
        labels = node(c, pair->value);
    }
    if (labels == NULL || is_null(labels)) {
        err_at(c, v, "match needs labels: the labels of the targets it selects");
        return -1;
    }
    if (labels_ops.parse(c, labels, o, base) < 0)
        return -1;
    if (*(size_t *)FIELD(base, o->aux) == 0) {
        err_at(c, labels, "match needs at least one label");
        return -1;
    }
    return 0;
}

static json_t *match_value(const void *base, const struct opt *o)
{
    return json_pack("{s:o}", "labels", labels_ops.value(base, o));
}

static json_t *match_schema(const struct opt *o)
{
    return json_pack("{s:s, s:{s:o}, s:[s], s:b}", "type", "object", "properties", "labels",
                     labels_ops.schema(o), "required", "labels", "additionalProperties", 0);
}

static void match_clear(void *base, const struct opt *o)
{
    labels_ops.clear(base, o);
}

const struct opt_ops match_ops = {
    .parse = match_parse, .clear = match_clear, .value = match_value, .schema = match_schema};

/* ---- the main file's maintenance list ---- */

static json_t *maintenance_schema(const struct opt *o)
{
    (void)o;
    return json_pack("{s:s, s:o}", "type", "array", "items",
                     schema_level_json(&schema_maint_rule, false));
}

const struct opt_ops maintenance_ops = {.schema = maintenance_schema};

static void rule_free(struct maint_rule *r)
{
    schema_clear(&schema_maint_rule, r);
    window_clear_derived(&r->w);
}

void config_parse_maintenance(struct ctx *c, const yaml_node_t *seq)
{
    struct config *cfg = c->cfg;
    unsigned match = schema_index(&schema_maint_rule, "match"),
             targets = schema_index(&schema_maint_rule, "targets");

    if (is_null(seq))
        return;
    if (seq->type != YAML_SEQUENCE_NODE) {
        err_at(c, seq, "maintenance must be a list of windows, not %s", node_kind(seq));
        return;
    }
    SEQUENCE_FOREACH(c, seq, item)
    {
        const yaml_node_t *map = node(c, *item);
        struct maint_rule r = {0};
        struct given g = {0};
        bool ok = window_read(c, map, &schema_maint_rule, &r, &g) == 0;

        if (ok && !(g.set & (KEY_BIT(match) | KEY_BIT(targets)))) {
            err_at(c, map,
                   "a window of the main file needs match or targets: the targets it "
                   "holds");
            ok = false;
        } else if (ok && (g.set & KEY_BIT(match)) && (g.set & KEY_BIT(targets))) {
            err_pos(c, g.pos[targets], "give match or targets, not both");
            ok = false;
        }
        if (!ok) {
            rule_free(&r);
            continue;
        }
        struct pos p = g.pos[(g.set & KEY_BIT(targets)) ? targets : match];
        r.file = p.file;
        r.line = p.line;
        r.col = p.col;
        cfg->maintenance =
            xreallocarray(cfg->maintenance, cfg->nmaintenance + 1, sizeof(*cfg->maintenance));
        cfg->maintenance[cfg->nmaintenance++] = r;
    }
}

void config_free_maintenance(struct config *cfg)
{
    for (size_t i = 0; i < cfg->nmaintenance; i++)
        rule_free(&cfg->maintenance[i]);
    free(cfg->maintenance);
    cfg->maintenance = NULL;
    cfg->nmaintenance = 0;
}
