/* Maintenance windows and dependencies in the configuration (confwindow.c,
 * confdeps.c): windows per target, per watch list (through its defaults)
 * and by selector in the main file; depends_on and the count of
 * dependents; and each mistake as FILE:LINE:COL. Files are written to a
 * temporary directory per test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "tmpdir.h"
#include "util.h"

static struct config *load(struct tmp *s, const char *text, struct diags *d)
{
    char path[128];

    write_file(s->dir, "main.yaml", text);
    snprintf(path, sizeof(path), "%s/main.yaml", s->dir);
    return config_load(path, &s->env, d);
}

static struct config *load_ok(struct tmp *s, const char *text)
{
    struct diags d = {0};
    struct config *cfg = load(s, text, &d);

    for (size_t i = 0; i < d.n; i++)
        print_message("unexpected: %s\n", d.msgs[i]);
    diags_free(&d);
    assert_non_null(cfg);
    return cfg;
}

/* Loads text, which must fail with exactly the messages in want (each
 * after "DIR/main.yaml:"). */
static void expect_errors(struct tmp *s, const char *text, const char *const *want, size_t n)
{
    struct diags d = {0};
    struct config *cfg = load(s, text, &d);
    bool same = d.n == n && cfg == NULL;

    for (size_t i = 0; same && i < n; i++) {
        char *full = xasprintf("%s/main.yaml:%s", s->dir, want[i]);
        same = strcmp(d.msgs[i], full) == 0;
        free(full);
    }
    if (!same) {
        for (size_t i = 0; i < d.n; i++)
            print_message("  got:  %s\n", d.msgs[i]);
        for (size_t i = 0; i < n; i++)
            print_message("  want: %s\n", want[i]);
    }
    config_free(cfg);
    diags_free(&d);
    assert_true(same);
}

#define EXPECT_ERRORS(s, text, ...)                                                                \
    do {                                                                                           \
        const char *const want_[] = {__VA_ARGS__};                                                 \
        expect_errors(s, text, want_, ARRAY_SIZE(want_));                                          \
    } while (0)

static const struct target_conf *target(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->ntargets; i++)
        if (strcmp(cfg->targets[i].name, name) == 0)
            return &cfg->targets[i];
    fail_msg("no target %s", name);
    return NULL;
}

#define URL "url: 'http://127.0.0.1/'"

static void windows_of_every_kind(void **state)
{
    struct tmp *s = *state;

    write_file(s->dir, "team.yaml",
               "defaults:\n"
               "  maintenance:\n"
               "    - {start: '04:00', duration: 30m}\n"
               "targets:\n"
               "  - {name: w1, " URL "}\n"
               "  - {name: w2, " URL ", maintenance: []}\n");
    struct config *cfg = load_ok(s, "watch: team.yaml\n"
                                    "maintenance:\n"
                                    "  - name: payments backup\n"
                                    "    comment: the nightly dump\n"
                                    "    match: {labels: {team: payments}}\n"
                                    "    start: '02:00'\n"
                                    "    duration: 2h\n"
                                    "    every: [sunday, saturday]\n"
                                    "    timezone: Europe/Berlin\n"
                                    "  - targets: [plain, w2]\n"
                                    "    from: 2025-06-01T20:00:00+02:00\n"
                                    "    until: 2025-06-01T23:00:00+02:00\n"
                                    "targets:\n"
                                    "  - name: pay\n"
                                    "    " URL "\n"
                                    "    labels: {team: payments, tier: db}\n"
                                    "    maintenance:\n"
                                    "      - {start: '23:30', duration: 1h, every: monday}\n"
                                    "  - {name: plain, " URL ", labels: {team: web}}\n");

    const struct target_conf *pay = target(cfg, "pay");
    assert_int_equal(pay->nwindows, 2); /* its own, then the selector's */
    assert_true(pay->windows[0].recurring);
    assert_int_equal(pay->windows[0].start_min, 23 * 60 + 30);
    assert_int_equal(pay->windows[0].days, 1u << 1);
    assert_string_equal(pay->windows[0].timezone, "UTC");
    assert_string_equal(pay->windows[1].name, "payments backup");
    assert_string_equal(pay->windows[1].comment, "the nightly dump");
    assert_int_equal(pay->windows[1].days, (1u << 0) | (1u << 6));
    assert_int_equal(pay->windows[1].duration_ms, 2 * 3600000);
    assert_non_null(pay->windows[1].zone);

    const struct target_conf *plain = target(cfg, "plain");
    assert_int_equal(plain->nwindows, 1);
    assert_false(plain->windows[0].recurring);
    assert_int_equal(plain->windows[0].from_ms, 1748800800000);
    assert_int_equal(plain->windows[0].until_ms, 1748811600000);

    /* A watch list's defaults: every target of the file, but one that
     * says otherwise; selectors reach into watch lists. */
    const struct target_conf *w1 = target(cfg, "w1");
    assert_int_equal(w1->nwindows, 1);
    assert_int_equal(w1->windows[0].days, WINDOW_DAILY); /* every: daily by default */
    assert_int_equal(target(cfg, "w2")->nwindows, 1);
    assert_false(target(cfg, "w2")->windows[0].recurring);

    /* The dump shows both the main file's list and each target's. */
    json_t *v = config_values(cfg);
    json_t *rules = json_object_get(v, "maintenance");
    assert_int_equal(json_array_size(rules), 2);
    json_t *first = json_array_get(rules, 0);
    assert_string_equal(json_string_value(json_object_get(first, "timezone")), "Europe/Berlin");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(first, "match"), "labels"), "team")),
                        "payments");
    json_t *t0 = json_array_get(json_object_get(v, "targets"), 0);
    json_t *win = json_array_get(json_object_get(t0, "maintenance"), 0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(win, "every"), 0)),
                        "monday");
    assert_string_equal(json_string_value(json_object_get(win, "duration")), "1h");
    json_decref(v);

    /* A reload sees a window changed, and the same file again as equal. */
    struct config *again = load_ok(s, "targets:\n"
                                      "  - name: pay\n"
                                      "    " URL "\n"
                                      "    labels: {team: payments, tier: db}\n"
                                      "    maintenance:\n"
                                      "      - {start: '23:30', duration: 1h, every: tuesday}\n");
    assert_false(target_conf_equal(pay, &again->targets[0]));
    config_free(again);
    config_free(cfg);
}

static void dependencies(void **state)
{
    struct tmp *s = *state;

    /* gateway <- lb <- a, b; gateway <- c; d alone. */
    struct config *cfg = load_ok(s, "targets:\n"
                                    "  - {name: gateway, " URL "}\n"
                                    "  - {name: lb, " URL ", depends_on: gateway}\n"
                                    "  - {name: a, " URL ", depends_on: [lb]}\n"
                                    "  - {name: b, " URL ", depends_on: [lb, gateway]}\n"
                                    "  - {name: c, " URL ", depends_on: [gateway]}\n"
                                    "  - {name: d, " URL "}\n");
    assert_int_equal(target(cfg, "gateway")->ndependents, 4);
    assert_int_equal(target(cfg, "lb")->ndependents, 2);
    assert_int_equal(target(cfg, "a")->ndependents, 0);
    assert_int_equal(target(cfg, "d")->ndependents, 0);
    assert_int_equal(target(cfg, "b")->ndepends_on, 2);
    assert_string_equal(target(cfg, "b")->depends_on[1], "gateway");
    config_free(cfg);

    /* Forty behind one gateway, through a watch list's defaults. */
    struct buf b = {0};
    const char *head =
        "defaults:\n  depends_on: [gw]\ntargets:\n  - {name: gw, " URL ", depends_on: []}\n";
    buf_append(&b, head, strlen(head));
    for (int i = 0; i < 40; i++) {
        char line[128];
        int n = snprintf(line, sizeof(line), "  - {name: site%d, " URL "}\n", i);
        buf_append(&b, line, (size_t)n);
    }
    write_file(s->dir, "sites.yaml", b.data);
    buf_free(&b);
    cfg = load_ok(s, "watch: sites.yaml\n");
    assert_int_equal(target(cfg, "gw")->ndependents, 40);
    config_free(cfg);
}

static void dependency_mistakes(void **state)
{
    struct tmp *s = *state;

    EXPECT_ERRORS(s,
                  "targets:\n"
                  "  - {name: gateway, " URL "}\n"
                  "  - {name: shop, " URL ", depends_on: [gatway, nowhere]}\n",
                  "3:44: target shop depends on unknown target \"gatway\" (did you mean "
                  "\"gateway\"?)",
                  "3:44: target shop depends on unknown target \"nowhere\"");
    /* Every target of a cycle, each with the cycle from itself; one
     * behind the cycle is not in it. */
    EXPECT_ERRORS(s,
                  "targets:\n"
                  "  - {name: a, " URL ", depends_on: [b]}\n"
                  "  - {name: b, " URL ", depends_on: [c]}\n"
                  "  - {name: c, " URL ", depends_on: [a]}\n"
                  "  - {name: d, " URL ", depends_on: [a]}\n"
                  "  - {name: e, " URL ", depends_on: [e]}\n",
                  "2:41: target a depends on itself: a -> b -> c -> a",
                  "3:41: target b depends on itself: b -> c -> a -> b",
                  "4:41: target c depends on itself: c -> a -> b -> c",
                  "6:41: target e depends on itself: e -> e");
    /* Inherited from defaults, by the target it names: said at the
     * defaults, for that target. */
    EXPECT_ERRORS(s,
                  "defaults: {depends_on: [gw]}\n"
                  "targets:\n"
                  "  - {name: gw, " URL "}\n"
                  "  - {name: x, " URL "}\n",
                  "1:12: target gw depends on itself: gw -> gw");
    EXPECT_ERRORS(s,
                  "targets:\n"
                  "  - {name: a, " URL ", depends_on: [b, b]}\n"
                  "  - {name: b, " URL ", depends_on: {b: 1}}\n",
                  "2:57: depends_on: \"b\" is given twice",
                  "3:53: depends_on must be a list of target names, not a mapping");
}

static void window_mistakes(void **state)
{
    struct tmp *s = *state;

    EXPECT_ERRORS(
        s,
        "targets:\n"
        "  - name: t\n"
        "    " URL "\n"
        "    maintenance:\n"
        "      - {start: '2:00', duration: 1h}\n"
        "      - {start: '02:00', duration: 1h, timezone: Europe/Atlantis}\n"
        "      - {start: '02:00'}\n"
        "      - {start: '02:00', duration: 1h, every: [sundy]}\n"
        "      - {start: '02:00', duration: 1h, every: []}\n"
        "      - {start: '02:00', duration: 30s}\n"
        "      - {start: '02:00', duration: 1h, from: 2025-06-01T00:00:00Z}\n"
        "      - {from: 2025-06-01T00:00:00Z}\n"
        "      - {from: 2025-06-01T00:00:00Z, until: 2025-06-01T00:00:00+00:00}\n"
        "      - {from: 2025-06-01T00:00:00, until: 2025-06-01T01:00:00Z}\n"
        "      - {from: 2025-06-01T00:00:00Z, until: 2025-06-02T00:00:00Z, every: "
        "daily}\n"
        "      - {duration: 1h}\n"
        "      - {name: x}\n"
        "      - {strat: '02:00', duration: 1h}\n",
        "5:17: start \"2:00\" must be a time of day, HH:MM from 00:00 to 23:59",
        "6:50: unknown time zone \"Europe/Atlantis\" "
        "(/usr/share/zoneinfo/Europe/Atlantis: no such zone in the system's zoneinfo)",
        "7:10: a recurring window needs a duration",
        "8:48: unknown day \"sundy\" (did you mean \"sunday\"?)",
        "9:47: every needs at least one day", "10:36: duration must be between 1m and 7d, not 30s",
        "11:40: give start (a recurring window) or from and until (a one-off one), not "
        "both",
        "12:9: a one-off window needs both from and until", "13:38: until must be later than from",
        "14:16: \"2025-06-01T00:00:00\" is not an RFC 3339 time with an offset, such as "
        "2025-06-01T02:00:00+02:00 or 2025-06-01T00:00:00Z",
        "15:67: every applies to a recurring window, one with start",
        "16:10: duration applies to a recurring window, one with start",
        "17:9: a maintenance window needs start and duration, or from and until",
        "18:10: unknown maintenance window key \"strat\" (did you mean \"start\"?)");
    EXPECT_ERRORS(s,
                  "targets:\n"
                  "  - {name: t, " URL ", maintenance: {start: '02:00'}}\n",
                  "2:54: maintenance must be a list of windows, not a mapping");
}

static void selector_mistakes(void **state)
{
    struct tmp *s = *state;

    EXPECT_ERRORS(s,
                  "maintenance:\n"
                  "  - {start: '02:00', duration: 1h}\n"
                  "  - {start: '02:00', duration: 1h, match: {labels: {a: b}}, targets: [t]}\n"
                  "  - {start: '02:00', duration: 1h, targets: [t, tt, zz]}\n"
                  "  - {start: '02:00', duration: 1h, match: {team: a}}\n"
                  "  - {start: '02:00', duration: 1h, match: {labels: {}}}\n"
                  "targets:\n"
                  "  - {name: t, " URL "}\n",
                  "2:5: a window of the main file needs match or targets: the targets it holds",
                  "3:61: give match or targets, not both",
                  "4:36: maintenance window holds unknown target \"tt\" (did you mean \"t\"?)",
                  "4:36: maintenance window holds unknown target \"zz\" (did you mean \"t\"?)",
                  "5:44: unknown match key \"team\"", "6:52: match needs at least one label");
    /* Watch lists have no maintenance list of their own. */
    write_file(s->dir, "w.yaml",
               "maintenance: []\n"
               "targets: []\n");
    struct diags d = {0};
    struct config *cfg = load(s, "watch: w.yaml\n", &d);
    assert_null(cfg);
    assert_int_equal(d.n, 1);
    assert_non_null(strstr(d.msgs[0], "w.yaml:1:1: unknown watch-list key \"maintenance\""));
    diags_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(windows_of_every_kind, make_tmp, remove_tmp),
        cmocka_unit_test_setup_teardown(dependencies, make_tmp, remove_tmp),
        cmocka_unit_test_setup_teardown(dependency_mistakes, make_tmp, remove_tmp),
        cmocka_unit_test_setup_teardown(window_mistakes, make_tmp, remove_tmp),
        cmocka_unit_test_setup_teardown(selector_mistakes, make_tmp, remove_tmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
