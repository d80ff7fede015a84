/* Configuration loading and validation: inheritance and merging, and the
 * exact diagnostics for mistakes, each at its line and column. Files are
 * written to a fresh temporary directory by each test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "util.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/upmon-config-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char *cmd = xasprintf("rm -rf '%s'", dir);
    int rc = system(cmd);
    free(cmd);
    return rc;
}

static char *file(const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", dir, name);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    mkdir(path, 0755);
    *slash = '/';
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static struct config *load(const char *path, struct diags *d)
{
    struct config_env env = {NULL};
    memset(d, 0, sizeof(*d));
    return config_load(path, &env, d);
}

/* Loads path and expects exactly the given diagnostics, each written with
 * "%s" standing for the file (the one named in it). */
static void expect_errors(const char *path, const char *const *want, size_t n)
{
    struct diags d;
    struct config *cfg = load(path, &d);

    assert_null(cfg);
    for (size_t i = 0; i < d.n; i++)
        print_message("got: %s\n", d.msgs[i]);
    assert_int_equal(d.n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(d.msgs[i], want[i]);
    diags_free(&d);
}

static void inheritance_and_merging(void **state)
{
    (void)state;
    char *main_path = file(
        "upmon.yaml", "defaults:\n"
                      "  interval: 1m\n"
                      "  timeout: 5s\n"
                      "  headers: {X-Team: all, Accept: text/html}\n"
                      "  labels: {env: prod}\n"
                      "  expect: [2xx, 401]\n"
                      "watch: [watch.d/*.yaml]\n"
                      "alerts:\n"
                      "  webhooks:\n"
                      "    - {name: chat, url: 'https://chat.example/hook', format: slack}\n"
                      "    - {name: pager, url: 'https://pager.example/', format: alertmanager,\n"
                      "       min_severity: critical, events: [down, recovered]}\n"
                      "engine: {max_concurrent: 64, user_agent: probe/1}\n"
                      "targets:\n"
                      "  - {name: root, url: 'http://127.0.0.1/'}\n");
    char *w = file("watch.d/web.yaml", "defaults:\n"
                                       "  interval: 10s\n"
                                       "  headers: {X-Team: web}\n"
                                       "  labels: {team: web}\n"
                                       "targets:\n"
                                       "  - name: shop\n"
                                       "    url: https://shop.example.com/\n"
                                       "    headers: {Accept: application/json}\n"
                                       "    labels: {env: staging}\n"
                                       "    expect: 200\n"
                                       "    webhooks: [pager]\n"
                                       "    severity: {404: warning, 5xx: critical}\n"
                                       "    body_regex: '^<!doctype'\n"
                                       "    method: POST\n"
                                       "    body: '{}'\n"
                                       "  - name: quiet\n"
                                       "    url: https://quiet.example.com/\n"
                                       "    enabled: no\n"
                                       "    webhooks: []\n");
    free(file("watch.d/notes.txt", "not a watch list"));
    struct diags d;
    struct config *cfg = load(main_path, &d);
    for (size_t i = 0; i < d.n; i++)
        print_message("%s\n", d.msgs[i]);
    assert_non_null(cfg);
    assert_int_equal(cfg->ntargets, 3);
    assert_int_equal(config_watch_files(cfg), 1);
    assert_int_equal(cfg->max_concurrent, 64);
    assert_string_equal(cfg->user_agent, "probe/1");
    assert_true(cfg->journald);

    const struct target_conf *root = &cfg->targets[0];
    assert_string_equal(root->name, "root");
    assert_int_equal(root->interval_ms, 60000);
    assert_int_equal(root->timeout_ms, 5000);
    assert_int_equal(root->failure_threshold, 2);
    assert_int_equal(root->nexpect, 2);
    assert_int_equal(root->expect[0].lo, 200);
    assert_int_equal(root->expect[0].hi, 299);
    assert_int_equal(root->expect[1].lo, 401);
    assert_false(root->webhooks_set);
    assert_true(target_routes_to(root, "chat"));

    const struct target_conf *shop = &cfg->targets[1];
    assert_string_equal(shop->file, w);
    assert_int_equal(shop->line, 6);
    assert_int_equal(shop->col, 5);
    assert_int_equal(shop->interval_ms, 10000); /* the watch list's defaults */
    assert_int_equal(shop->timeout_ms, 5000);   /* the global defaults */
    /* Headers merge key by key (case-insensitively); labels too. */
    assert_int_equal(shop->nheaders, 2);
    assert_string_equal(shop->headers[0].key, "X-Team");
    assert_string_equal(shop->headers[0].value, "web");
    assert_string_equal(shop->headers[1].key, "Accept");
    assert_string_equal(shop->headers[1].value, "application/json");
    assert_int_equal(shop->nlabels, 2);
    assert_string_equal(shop->labels[0].key, "env");
    assert_string_equal(shop->labels[0].value, "staging");
    assert_string_equal(shop->labels[1].key, "team");
    /* Everything else is replaced. */
    assert_int_equal(shop->nexpect, 1);
    assert_int_equal(shop->expect[0].lo, 200);
    assert_int_equal(shop->expect[0].hi, 200);
    assert_int_equal(shop->nseverity, 2);
    assert_int_equal(shop->severity[1].codes.lo, 500);
    assert_int_equal(shop->severity[1].severity, SEV_CRITICAL);
    assert_non_null(shop->body_regex);
    assert_string_equal(shop->method, "POST");
    assert_string_equal(shop->body, "{}");
    assert_true(shop->webhooks_set);
    assert_true(target_routes_to(shop, "pager"));
    assert_false(target_routes_to(shop, "chat"));

    const struct target_conf *quiet = &cfg->targets[2];
    assert_false(quiet->enabled);
    assert_true(quiet->webhooks_set);
    assert_false(target_routes_to(quiet, "chat"));

    assert_int_equal(cfg->nwebhooks, 2);
    assert_int_equal(cfg->webhooks[1].format, WEBHOOK_ALERTMANAGER);
    assert_int_equal(cfg->webhooks[1].min_severity, SEV_CRITICAL);
    assert_int_equal(cfg->webhooks[1].events, (1u << 0) | (1u << 3));
    assert_int_equal(cfg->webhooks[0].min_severity, SEV_WARNING);
    assert_int_equal(cfg->webhooks[0].max_age_ms, 86400000);

    char summary[256];
    config_summary(cfg, summary, sizeof(summary));
    assert_string_equal(summary, "3 targets (1 disabled) from 1 watch file, 2 webhooks");

    /* Equality, for reloads. */
    struct diags d2;
    struct config *again = load(main_path, &d2);
    assert_non_null(again);
    assert_true(target_conf_equal(&cfg->targets[1], &again->targets[1]));
    assert_false(target_conf_equal(&cfg->targets[1], &again->targets[2]));
    assert_true(webhook_conf_equal(&cfg->webhooks[0], &again->webhooks[0]));
    again->targets[1].timeout_ms++;
    assert_false(target_conf_equal(&cfg->targets[1], &again->targets[1]));
    config_free(again);
    config_free(cfg);
    free(main_path);
    free(w);
}

static void timeout_follows_a_short_interval(void **state)
{
    (void)state;
    char *p =
        file("short.yaml", "targets:\n  - {name: a, url: 'http://127.0.0.1/', interval: 2s}\n");
    struct diags d;
    struct config *cfg = load(p, &d);
    assert_non_null(cfg);
    assert_int_equal(cfg->targets[0].timeout_ms, 2000); /* never set: clamped, not an error */
    config_free(cfg);
    free(p);
}

static void many_errors_in_one_run(void **state)
{
    (void)state;
    char *p = file("bad.yaml", "defaults:\n"                      /* 1 */
                               "  failure_threshold: 0\n"         /* 2 */
                               "  remind_every: 10s\n"            /* 3 */
                               "targets:\n"                       /* 4 */
                               "  - name: a\n"                    /* 5 */
                               "    url: http://\n"               /* 6 */
                               "    method: GETT\n"               /* 7 */
                               "    interval: 10 s\n"             /* 8 */
                               "    tiemout: 1s\n"                /* 9 */
                               "  - name: b\n"                    /* 10 */
                               "    url: https://b.example/\n"    /* 11 */
                               "    body_regex: '(('\n"           /* 12 */
                               "    labels: {9lives: x}\n"        /* 13 */
                               "    headers: {'Bad Header': x}\n" /* 14 */
                               "    max_latency: 20s\n"           /* 15 */
                               "    webhooks: [ops]\n"            /* 16 */
                               "  - name: c\n"                    /* 17 */
                               "    name: d\n"                    /* 18 */
                               "    url: [https://c.example/]\n"  /* 19 */
                               "  - just a string\n");            /* 20 */
    char *w[16];
    const char *fmt[] = {
        "%s:2:22: failure_threshold must be between 1 and 100, not 0",
        "%s:3:17: remind_every must be between 1m and 365d (or 0 for never), not 10s",
        "%s:6:10: url \"http://\" is not a valid URL: No host part in the URL",
        "%s:7:13: unknown method \"GETT\" (did you mean \"GET\"?)",
        "%s:8:15: interval: invalid duration \"10 s\": unknown unit \" s\" (use ms, s, m, h or d)",
        "%s:9:5: unknown target key \"tiemout\" (did you mean \"timeout\"?)",
        "%s:12:17: body_regex \"((\" is not a valid extended regular expression: Unmatched ( "
        "or \\(",
        "%s:13:14: label name \"9lives\" must be letters, digits and underscores, not starting "
        "with a digit (at most 48)",
        "%s:14:15: \"Bad Header\" is not a valid header name",
        "%s:15:5: max_latency 20s must be shorter than timeout 10s",
        "%s:16:5: target b routes to unknown webhook \"ops\"",
        "%s:18:5: duplicate key \"name\" (first given at line 17)",
        "%s:19:10: url must be a single value, not a list",
        "%s:20:5: a target must be a mapping, not a scalar",
    };
    size_t n = sizeof(fmt) / sizeof(fmt[0]);
    for (size_t i = 0; i < n; i++)
        w[i] = xasprintf(fmt[i], p);
    expect_errors(p, (const char *const *)w, n);
    for (size_t i = 0; i < n; i++)
        free(w[i]);
    free(p);
}

static void errors_across_files_in_order(void **state)
{
    (void)state;
    char *a = file("two/a.yaml", "targets:\n  - {name: web, url: 'http://127.0.0.1/'}\n");
    char *b = file("two/b.yaml", "defaults: {intervall: 1s}\ntargets:\n"
                                 "  - {name: web, url: 'http://127.0.0.1/b'}\n");
    char *m = file("two/upmon.yaml", "watch: ['*.yaml']\nalerts: {journal: true}\n");
    char *w[3];
    w[0] = xasprintf("%s:2:10: unknown alerts key \"journal\" (did you mean \"journald\"?)", m);
    w[1] = xasprintf("%s:1:12: unknown defaults key \"intervall\" (did you mean \"interval\"?)", b);
    w[2] = xasprintf("%s:3:6: duplicate target name \"web\" (first defined at %s:2:5)", b, a);
    expect_errors(m, (const char *const *)w, 3);
    for (int i = 0; i < 3; i++)
        free(w[i]);
    free(a);
    free(b);
    free(m);
}

static void webhook_mistakes(void **state)
{
    (void)state;
    char *good = file("secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n");
    char *bad = file("badsecret", "hunter2\n");
    char *text = xasprintf(
        "alerts:\n"
        "  webhooks:\n"
        "    - {name: a, url: 'https://a.example/', format: standrad}\n"               /* 3 */
        "    - {name: b, url: 'https://b.example/', secret_file: %s/none}\n"           /* 4 */
        "    - {name: c, url: 'https://c.example/', format: slack, secret_file: %s}\n" /* 5 */
        "    - {name: d, url: 'https://d.example/', secret_file: %s}\n"                /* 6 */
        "    - {name: e, url: 'https://e.example/', secret_credential: ops}\n"         /* 7 */
        "    - {name: f, url: 'https://f.example/', events: [down, up]}\n"             /* 8 */
        "    - {name: g, url: 'https://g.example/', secret_file: %s}\n"                /* 9 */
        "    - {name: g, url: 'https://g2.example/'}\n"                                /* 10 */
        "    - {url: 'https://h.example/'}\n",                                         /* 11 */
        dir, good, bad, good);
    char *p = file("hooks.yaml", text);
    char *w[8];
    w[0] =
        xasprintf("%s:3:52: unknown webhook format \"standrad\" (did you mean \"standard\"?)", p);
    w[1] =
        xasprintf("%s:4:57: secret_file: cannot read %s/none: No such file or directory", p, dir);
    w[2] = xasprintf("%s:5:59: the slack format is not signed; a secret is only used by the "
                     "standard format",
                     p);
    w[3] = xasprintf("%s:6:44: the secret in secret_file %s must be \"whsec_\" followed by base64",
                     p, bad);
    w[4] = xasprintf("%s:7:63: secret_credential ops: $CREDENTIALS_DIRECTORY is not set (give the "
                     "secret with LoadCredential= in the unit, or use secret_file)",
                     p);
    w[5] = xasprintf("%s:8:59: unknown event \"up\"", p);
    w[6] = xasprintf("%s:10:8: duplicate webhook name \"g\" (first defined at %s:9:7)", p, p);
    w[7] = xasprintf("%s:11:7: webhook has no name", p);
    expect_errors(p, (const char *const *)w, 8);
    for (int i = 0; i < 8; i++)
        free(w[i]);

    /* With $CREDENTIALS_DIRECTORY, the credential is read from there. */
    char *cred = file("creds/ops", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    char *credtext =
        xasprintf("alerts:\n  webhooks:\n"
                  "    - {name: e, url: 'https://e.example/', secret_credential: ops}\n");
    char *cp = file("cred.yaml", credtext);
    char *credir = xasprintf("%s/creds", dir);
    struct config_env env = {credir};
    struct diags d = {0};
    struct config *cfg = config_load(cp, &env, &d);
    assert_non_null(cfg);
    assert_string_equal(cfg->webhooks[0].secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    config_free(cfg);
    free(credir);
    free(cp);
    free(credtext);
    free(cred);
    free(p);
    free(text);
    free(good);
    free(bad);
}

static void files_that_are_not_configurations(void **state)
{
    (void)state;
    char *w[1];
    char *empty = file("empty.yaml", "\n# nothing\n");
    w[0] = xasprintf("%s: file is empty", empty);
    expect_errors(empty, (const char *const *)w, 1);
    free(w[0]);

    char *missing = xasprintf("%s/missing.yaml", dir);
    w[0] = xasprintf("%s: cannot open: No such file or directory", missing);
    expect_errors(missing, (const char *const *)w, 1);
    free(w[0]);

    char *two = file("two-docs.yaml", "targets: []\n---\ntargets: []\n");
    w[0] = xasprintf("%s:3:1: only one YAML document is allowed per file", two);
    expect_errors(two, (const char *const *)w, 1);
    free(w[0]);

    char *syntax = file("syntax.yaml", "targets:\n  - name: a\n   url: b\n");
    struct diags d;
    assert_null(load(syntax, &d));
    assert_int_equal(d.n, 1);
    char *prefix = xasprintf("%s:3:4: ", syntax);
    assert_memory_equal(d.msgs[0], prefix, strlen(prefix));
    diags_free(&d);

    char *list = file("list.yaml", "- a\n- b\n");
    w[0] = xasprintf("%s:1:1: the configuration must be a mapping, not a list", list);
    expect_errors(list, (const char *const *)w, 1);
    free(w[0]);

    char *nowatch = file("nowatch.yaml", "watch: none.yaml\n");
    w[0] = xasprintf("%s:1:8: watch list %s/none.yaml: No such file or directory", nowatch, dir);
    expect_errors(nowatch, (const char *const *)w, 1);
    free(w[0]);

    /* A glob that matches nothing is fine: an empty watch.d is normal. */
    char *glob = file("glob.yaml", "watch: [nothing.d/*.yaml]\n");
    struct config *cfg = load(glob, &d);
    assert_non_null(cfg);
    assert_int_equal(cfg->ntargets, 0);
    config_free(cfg);

    free(empty);
    free(missing);
    free(two);
    free(syntax);
    free(prefix);
    free(list);
    free(nowatch);
    free(glob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(inheritance_and_merging, setup, teardown),
        cmocka_unit_test_setup_teardown(timeout_follows_a_short_interval, setup, teardown),
        cmocka_unit_test_setup_teardown(many_errors_in_one_run, setup, teardown),
        cmocka_unit_test_setup_teardown(errors_across_files_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(webhook_mistakes, setup, teardown),
        cmocka_unit_test_setup_teardown(files_that_are_not_configurations, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
