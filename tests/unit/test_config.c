/* Configuration: loading good files (inheritance, merging, every value),
 * and bad ones, each with the exact "FILE:LINE:COL: message" diagnostics.
 * Data files are in tests/unit/data/config; secrets are written to a
 * temporary directory made per test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "config.h"
#include "tmpdir.h"
#include "eventtype.h"
#include "util.h"

#define CONFIG_DIR  UPMON_TEST_DATA "/config"
#define DATA(f)     CONFIG_DIR "/" f
#define AT(f, rest) DATA(f) ":" rest

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

/* ---- helpers ---- */

/* Loads path and checks that it fails with exactly the diagnostics in want,
 * in that order. Frees everything before asserting, so a failure leaks
 * nothing; on a mismatch it prints both lists. */
static void check_diags(const char *path, const struct config_env *env, const char *const *want,
                        size_t nwant)
{
    struct diags d = {0};
    struct config *cfg = config_load(path, env, &d);
    bool loaded = cfg != NULL;
    bool same = d.n == nwant;

    for (size_t i = 0; same && i < nwant; i++)
        same = strcmp(d.msgs[i], want[i]) == 0;
    if (!same) {
        print_message("%s: got %zu diagnostics:\n", path, d.n);
        for (size_t i = 0; i < d.n; i++)
            print_message("  got:  %s\n", d.msgs[i]);
        for (size_t i = 0; i < nwant; i++)
            print_message("  want: %s\n", want[i]);
    }
    config_free(cfg);
    diags_free(&d);
    assert_false(loaded);
    assert_true(same);
}

#define EXPECT_DIAGS_ENV(path, env, ...)                                                           \
    do {                                                                                           \
        const char *const want_[] = {__VA_ARGS__};                                                 \
        check_diags(path, env, want_, ARRAY_SIZE(want_));                                          \
    } while (0)

#define EXPECT_DIAGS(file, ...) EXPECT_DIAGS_ENV(DATA(file), NULL, __VA_ARGS__)

/* Loads a file that must be valid. */
static struct config *load_ok(const char *path, const struct config_env *env)
{
    struct diags d = {0};
    struct config *cfg = config_load(path, env, &d);

    for (size_t i = 0; i < d.n; i++)
        print_message("unexpected: %s\n", d.msgs[i]);
    size_t n = d.n;
    diags_free(&d);
    if (n != 0)
        config_free(cfg);
    assert_int_equal(n, 0);
    assert_non_null(cfg);
    return cfg;
}

static const struct target_conf *find_target(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->ntargets; i++)
        if (strcmp(cfg->targets[i].name, name) == 0)
            return &cfg->targets[i];
    fail_msg("no target %s", name);
    return NULL;
}

static const struct webhook_conf *find_webhook(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nwebhooks; i++)
        if (strcmp(cfg->webhooks[i].name, name) == 0)
            return &cfg->webhooks[i];
    fail_msg("no webhook %s", name);
    return NULL;
}

static void assert_kv(const struct kv *kv, size_t n, size_t i, const char *key, const char *value)
{
    assert_true(i < n);
    assert_string_equal(kv[i].key, key);
    assert_string_equal(kv[i].value, value);
}

static void assert_range(const struct code_range *r, unsigned lo, unsigned hi)
{
    assert_int_equal(r->lo, lo);
    assert_int_equal(r->hi, hi);
}

static int load_good(void **state)
{
    *state = load_ok(DATA("good.yaml"), NULL);
    return 0;
}

static int free_config(void **state)
{
    config_free(*state);
    return 0;
}

/* ---- good configurations ---- */

static void good_files_and_summary(void **state)
{
    const struct config *cfg = *state;
    char buf[128];

    assert_string_equal(cfg->path, DATA("good.yaml"));
    assert_int_equal(cfg->nfiles, 3);
    assert_string_equal(cfg->files[0], DATA("good.yaml"));
    assert_string_equal(cfg->files[1], DATA("good.d/a-web.yaml"));
    assert_string_equal(cfg->files[2], DATA("good.d/b-api.yaml"));
    assert_int_equal(config_watch_files(cfg), 2);
    config_summary(cfg, buf, sizeof(buf));
    assert_string_equal(buf, "4 targets (1 disabled) from 2 watch files, 2 webhooks");
    config_summary(cfg, buf, 10);
    assert_string_equal(buf, "4 targets");

    assert_false(cfg->journald);
    assert_int_equal(cfg->max_concurrent, 50);
    assert_string_equal(cfg->user_agent, "upmon-test/1.0");

    /* Main-file targets first, then each watch list in glob order. */
    assert_int_equal(cfg->ntargets, 4);
    assert_string_equal(cfg->targets[0].name, "main-site");
    assert_string_equal(cfg->targets[1].name, "home");
    assert_string_equal(cfg->targets[2].name, "shop");
    assert_string_equal(cfg->targets[3].name, "api");
}

/* Only builtin and global defaults. */
static void good_main_target(void **state)
{
    const struct target_conf *t = find_target(*state, "main-site");

    assert_string_equal(t->file, DATA("good.yaml"));
    assert_int_equal(t->line, 40);
    assert_int_equal(t->col, 5);
    assert_string_equal(t->url, "https://www.example.org/");
    assert_string_equal(t->method, "GET");
    assert_null(t->body);
    assert_int_equal(t->interval_ms, 60000);
    assert_int_equal(t->timeout_ms, 20000);
    assert_int_equal(t->max_latency_ms, 0);
    assert_int_equal(t->cert_expiry_warning_ms, 14ull * 86400000);
    assert_int_equal(t->remind_every_ms, 0);
    assert_int_equal(t->failure_threshold, 3);
    assert_int_equal(t->recovery_threshold, 1);
    assert_int_equal(t->flap_threshold, 6);
    assert_int_equal(t->flap_window, 20);
    assert_int_equal(t->nheaders, 2);
    assert_kv(t->headers, t->nheaders, 0, "User-Agent", "upmon-test");
    assert_kv(t->headers, t->nheaders, 1, "X-Team", "core");
    assert_false(t->headers[0].secret || t->headers[1].secret); /* written in the file */
    assert_int_equal(t->nlabels, 2);
    assert_kv(t->labels, t->nlabels, 0, "env", "prod");
    assert_kv(t->labels, t->nlabels, 1, "team", "core");
    assert_int_equal(t->nexpect, 1);
    assert_range(&t->expect[0], 200, 299);
    assert_int_equal(t->nseverity, 0);
    assert_false(t->follow_redirects);
    assert_true(t->tls_verify);
    assert_true(t->enabled);
    assert_null(t->body_contains);
    assert_null(t->body_regex_src);
    assert_null(t->body_regex);
    assert_false(t->webhooks_set);
    assert_int_equal(t->nwebhooks, 0);
}

/* builtin -> global defaults -> watch-list defaults; headers and labels merge. */
static void good_watch_defaults(void **state)
{
    const struct target_conf *t = find_target(*state, "home");

    assert_string_equal(t->file, DATA("good.d/a-web.yaml"));
    assert_int_equal(t->line, 15);
    assert_int_equal(t->col, 5);
    assert_int_equal(t->interval_ms, 120000); /* watch list over global */
    assert_int_equal(t->timeout_ms, 20000);   /* global */
    assert_int_equal(t->failure_threshold, 3);
    assert_int_equal(t->recovery_threshold, 1); /* builtin */
    /* x-team replaces X-Team case-insensitively, keeping the first spelling. */
    assert_int_equal(t->nheaders, 3);
    assert_kv(t->headers, t->nheaders, 0, "User-Agent", "upmon-test");
    assert_kv(t->headers, t->nheaders, 1, "X-Team", "web");
    assert_kv(t->headers, t->nheaders, 2, "Accept", "text/html");
    assert_int_equal(t->nlabels, 4);
    assert_kv(t->labels, t->nlabels, 0, "env", "prod");
    assert_kv(t->labels, t->nlabels, 1, "team", "web");
    assert_kv(t->labels, t->nlabels, 2, "owner", "alice");
    assert_kv(t->labels, t->nlabels, 3, "tier", "1");
    assert_int_equal(t->nexpect, 1);
    assert_range(&t->expect[0], 200, 299);
    assert_int_equal(t->nseverity, 1);
    assert_range(&t->severity[0].codes, 404, 404);
    assert_int_equal(t->severity[0].severity, SEV_WARNING);
    assert_true(t->webhooks_set);
    assert_int_equal(t->nwebhooks, 1);
    assert_string_equal(t->webhooks[0], "ops");
    assert_true(t->enabled);
}

/* Every key set on the target itself. */
static void good_target_overrides(void **state)
{
    const struct target_conf *t = find_target(*state, "shop");

    assert_int_equal(t->line, 20);
    assert_int_equal(t->col, 5);
    assert_string_equal(t->url, "https://shop.example.com/cart?x=1");
    assert_string_equal(t->method, "POST");
    assert_string_equal(t->body, "{\"ping\":true}");
    assert_int_equal(t->interval_ms, 120000);
    assert_int_equal(t->timeout_ms, 5000);
    assert_int_equal(t->max_latency_ms, 2000);
    assert_int_equal(t->remind_every_ms, 30ull * 60000);
    assert_int_equal(t->cert_expiry_warning_ms, 7ull * 86400000);
    assert_int_equal(t->nheaders, 4);
    assert_kv(t->headers, t->nheaders, 0, "User-Agent", "upmon-test");
    assert_kv(t->headers, t->nheaders, 1, "X-Team", "payments");
    assert_kv(t->headers, t->nheaders, 2, "Accept", "text/html");
    assert_kv(t->headers, t->nheaders, 3, "Content-Type", "application/json");
    assert_int_equal(t->nlabels, 3);
    assert_kv(t->labels, t->nlabels, 1, "team", "web");
    /* expect and severity replace what is inherited, they do not merge. */
    assert_int_equal(t->nexpect, 2);
    assert_range(&t->expect[0], 200, 299);
    assert_range(&t->expect[1], 401, 401);
    assert_int_equal(t->nseverity, 2);
    assert_range(&t->severity[0].codes, 300, 399);
    assert_int_equal(t->severity[0].severity, SEV_OK);
    assert_range(&t->severity[1].codes, 503, 503);
    assert_int_equal(t->severity[1].severity, SEV_WARNING);
    assert_true(t->follow_redirects);
    assert_false(t->tls_verify);
    assert_false(t->enabled);
    assert_null(t->body_contains);
    assert_string_equal(t->body_regex_src, "^<!doctype html>");
    assert_non_null(t->body_regex);
    assert_int_equal(regexec(t->body_regex, "<!doctype html><p>", 0, NULL, 0), 0);
    assert_int_equal(regexec(t->body_regex, "<p><!doctype html>", 0, NULL, 0), REG_NOMATCH);
    assert_true(t->webhooks_set);
    assert_int_equal(t->nwebhooks, 1);
    assert_string_equal(t->webhooks[0], "pager");
}

/* A second watch list gets the global defaults, not the first list's. */
static void good_second_watch_list(void **state)
{
    const struct target_conf *t = find_target(*state, "api");

    assert_string_equal(t->file, DATA("good.d/b-api.yaml"));
    assert_int_equal(t->line, 5);
    assert_int_equal(t->col, 5); /* a flow mapping starts at its brace */
    assert_string_equal(t->url, "http://api.example.com:8080/health");
    assert_string_equal(t->method, "HEAD");
    assert_int_equal(t->interval_ms, 90ull * 60000);
    assert_int_equal(t->timeout_ms, 20000);
    assert_int_equal(t->failure_threshold, 5);
    assert_int_equal(t->nheaders, 2);
    assert_kv(t->headers, t->nheaders, 1, "X-Team", "core");
    assert_int_equal(t->nlabels, 2);
    assert_kv(t->labels, t->nlabels, 1, "team", "core");
    assert_int_equal(t->nseverity, 0);
    assert_true(t->webhooks_set); /* webhooks: [] routes nowhere */
    assert_int_equal(t->nwebhooks, 0);
}

static void good_webhooks(void **state)
{
    const struct config *cfg = *state;
    const struct webhook_conf *w;

    assert_int_equal(cfg->nwebhooks, 2);
    w = find_webhook(cfg, "ops");
    assert_ptr_equal(w, &cfg->webhooks[0]);
    assert_string_equal(w->file, DATA("good.yaml"));
    assert_int_equal(w->line, 20);
    assert_int_equal(w->col, 7);
    assert_string_equal(w->url, "https://hooks.example.com/upmon");
    assert_int_equal(w->format, WEBHOOK_STANDARD);
    assert_null(w->secret);
    assert_null(w->secret_source);
    assert_int_equal(w->min_severity, SEV_CRITICAL);
    assert_int_equal(w->events, (1u << EVT_DOWN) | (1u << EVT_RECOVERED));
    assert_int_equal(w->timeout_ms, 5000);
    assert_int_equal(w->max_age_ms, 86400000);
    assert_int_equal(w->max_pending, 1000);
    assert_int_equal(w->retry_initial_ms, 1000);
    assert_int_equal(w->retry_max_ms, 300000);
    assert_int_equal(w->nheaders, 1);
    assert_kv(w->headers, w->nheaders, 0, "Authorization", "Bearer abc");

    w = find_webhook(cfg, "pager");
    assert_int_equal(w->line, 27);
    assert_int_equal(w->format, WEBHOOK_ALERTMANAGER);
    assert_string_equal(webhook_format_name(w->format), "alertmanager");
    assert_int_equal(w->min_severity, SEV_WARNING);
    assert_int_equal(w->events, EVT_ALL);
    assert_int_equal(w->timeout_ms, 10000);
    assert_int_equal(w->max_age_ms, 2 * 3600000);
    assert_int_equal(w->max_pending, 50);
    assert_int_equal(w->retry_initial_ms, 2000);
    assert_int_equal(w->retry_max_ms, 60000);
    assert_int_equal(w->nheaders, 0);
}

static void good_routing(void **state)
{
    const struct config *cfg = *state;
    const struct target_conf *all = find_target(cfg, "main-site");
    const struct target_conf *ops = find_target(cfg, "home");
    const struct target_conf *pager = find_target(cfg, "shop");
    const struct target_conf *none = find_target(cfg, "api");

    assert_true(target_routes_to(all, "ops"));
    assert_true(target_routes_to(all, "pager"));
    assert_true(target_routes_to(all, "anything"));
    assert_true(target_routes_to(ops, "ops"));
    assert_false(target_routes_to(ops, "pager"));
    assert_false(target_routes_to(ops, "OPS"));
    assert_false(target_routes_to(pager, "ops"));
    assert_true(target_routes_to(pager, "pager"));
    assert_false(target_routes_to(none, "ops"));
    assert_false(target_routes_to(none, "pager"));
}

static void good_singular_summary(void **state)
{
    struct config *cfg = load_ok(DATA("single.yaml"), NULL);
    char buf[128];

    (void)state;
    config_summary(cfg, buf, sizeof(buf));
    assert_string_equal(buf, "1 target (0 disabled) from 1 watch file, 1 webhook");
    assert_int_equal(config_watch_files(cfg), 1);
    assert_string_equal(cfg->files[1], DATA("single.d/one.yaml"));
    assert_true(cfg->journald); /* the default */
    assert_int_equal(cfg->max_concurrent, 500);
    assert_string_equal(cfg->user_agent, "upmon/" UPMON_VERSION); /* one default, in the table */
    config_free(cfg);
}

/* A watch list named twice is read once; a glob matching nothing is fine. */
static void good_watch_dedupe(void **state)
{
    struct config *cfg = load_ok(DATA("dedupe.yaml"), NULL);

    (void)state;
    assert_int_equal(cfg->nfiles, 2);
    assert_int_equal(cfg->ntargets, 1);
    assert_string_equal(cfg->targets[0].name, "only");
    config_free(cfg);
}

/* A glob in the main file's directory matches the main file too: it is not
 * read again as a watch list, and other files the glob skips are not read. */
static void good_glob_skips_main_file(void **state)
{
    struct config *cfg = load_ok(DATA("self.d/upmon.yaml"), NULL);

    (void)state;
    assert_int_equal(cfg->nfiles, 2);
    assert_string_equal(cfg->files[1], DATA("self.d/web.yaml"));
    assert_int_equal(cfg->ntargets, 1);
    config_free(cfg);
}

/* Given as a bare file name (upmond -c upmon.yaml from its directory), the
 * main file is matched by its own glob as "./upmon.yaml": it is the same
 * file (device and inode), so it is not read again as a watch list. */
static void bad_main_file_by_bare_name_read_as_watch_list(void **state)
{
    char cwd[4096];
    struct diags d = {0};
    struct config *cfg;

    (void)state;
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(DATA("self.d")), 0);
    cfg = config_load("upmon.yaml", NULL, &d);
    assert_int_equal(chdir(cwd), 0);
    for (size_t i = 0; i < d.n; i++)
        print_message("got: %s\n", d.msgs[i]);
    size_t ndiags = d.n, nfiles = cfg ? cfg->nfiles : 0;
    diags_free(&d);
    config_free(cfg);
    assert_int_equal(ndiags, 0);
    assert_int_equal(nfiles, 2);
}

/* A timeout never set anywhere is clamped to a shorter interval, silently;
 * one set explicitly is kept. */
static void good_timeout_clamped(void **state)
{
    struct config *cfg = load_ok(DATA("clamp.yaml"), NULL);
    const struct target_conf *t;

    (void)state;
    t = find_target(cfg, "fast"); /* interval 3s from defaults */
    assert_int_equal(t->interval_ms, 3000);
    assert_int_equal(t->timeout_ms, 3000);
    t = find_target(cfg, "faster");
    assert_int_equal(t->interval_ms, 2000);
    assert_int_equal(t->timeout_ms, 2000);
    t = find_target(cfg, "explicit");
    assert_int_equal(t->interval_ms, 5000);
    assert_int_equal(t->timeout_ms, 4000);
    t = find_target(cfg, "slow");
    assert_int_equal(t->interval_ms, 60000);
    assert_int_equal(t->timeout_ms, 10000);
    config_free(cfg);
}

/* ---- bad files ---- */

static void bad_unknown_keys(void **state)
{
    (void)state;
    EXPECT_DIAGS(
        "unknown-key.yaml",
        AT("unknown-key.yaml",
           "2:3: unknown defaults key \"intervall\" (did you mean \"interval\"?)"),
        AT("unknown-key.yaml", "6:5: unknown target key \"frobnicate\""),
        AT("unknown-key.yaml", "7:5: unknown target key \"Timeout\" (did you mean \"timeout\"?)"));
}

static void bad_types(void **state)
{
    (void)state;
    EXPECT_DIAGS(
        "types.yaml", AT("types.yaml", "2:13: interval must be a single value, not a list"),
        AT("types.yaml",
           "3:11: expect must be a status code, a class or a list of them, not a mapping"),
        AT("types.yaml", "4:11: labels must be a mapping, not a list"),
        AT("types.yaml", "5:12: enabled must be true or false, not \"maybe\""),
        AT("types.yaml", "7:3: a watch-list path or glob must be a single value, not a mapping"),
        AT("types.yaml", "9:3: targets must be a list, not a mapping"));
}

static void bad_headers_and_labels(void **state)
{
    (void)state;
    EXPECT_DIAGS(
        "kv.yaml", AT("kv.yaml", "5:7: \"Bad Header\" is not a valid header name"),
        AT("kv.yaml", "6:16: header X-Multi must not contain line breaks or control characters"),
        AT("kv.yaml", "7:15: header X-List must be a value, or where to read it from, not a list"),
        AT("kv.yaml", "9:7: label name \"9lives\" must be letters, digits and underscores, not "
                      "starting with a digit (at most 48)"),
        AT("kv.yaml", "10:17: a label value must be a single value, not a list"),
        AT("kv.yaml", "11:12: label ctl must not contain control characters"));
}

static void bad_duplicate_target_across_files(void **state)
{
    (void)state;
    EXPECT_DIAGS("dup.yaml", AT("dup.d/two.yaml", "5:5: duplicate target name \"api\" (first "
                                                  "defined at " DATA("dup.d/one.yaml") ":4:5)"));
}

static void bad_duplicate_keys(void **state)
{
    (void)state;
    EXPECT_DIAGS("dupkey.yaml",
                 AT("dupkey.yaml", "3:3: duplicate key \"timeout\" (first given at line 2)"),
                 AT("dupkey.yaml", "8:22: duplicate key \"x\" (first given at line 8)"),
                 AT("dupkey.yaml", "9:5: duplicate key \"interval\" (first given at line 7)"));
}

/* Headers (in any case), labels and severity reject a repeated key like
 * every other mapping. */
static void bad_duplicate_keys_in_value_mappings(void **state)
{
    (void)state;
    EXPECT_DIAGS("dup-kv.yaml",
                 AT("dup-kv.yaml", "6:7: duplicate key \"Accept\" (first given at line 5)"),
                 AT("dup-kv.yaml", "9:7: duplicate key \"team\" (first given at line 8)"),
                 AT("dup-kv.yaml", "12:7: duplicate key \"404\" (first given at line 11)"));
}

static void bad_urls(void **state)
{
    char scheme[512], nohost[512], hostname[512];

    (void)state;
    /* The reason is libcurl's own text for the error it returns. A space
     * in a host was CURLUE_BAD_HOSTNAME in 7.88 and is
     * CURLUE_MALFORMED_INPUT since: asked of the libcurl loaded. */
    CURLU *u = curl_url();
    assert_non_null(u);
    CURLUcode space = curl_url_set(u, CURLUPART_URL, "https://exa mple.com/", 0);
    curl_url_cleanup(u);
    assert_true(space == CURLUE_BAD_HOSTNAME || space == CURLUE_MALFORMED_INPUT);
    snprintf(scheme, sizeof(scheme), "%s%s",
             AT("url.yaml", "3:10: url \"example.com/path\" is not a valid URL: "),
             curl_url_strerror(CURLUE_BAD_SCHEME));
    snprintf(nohost, sizeof(nohost), "%s%s",
             AT("url.yaml", "7:10: url \"http://\" is not a valid URL: "),
             curl_url_strerror(CURLUE_NO_HOST));
    snprintf(hostname, sizeof(hostname), "%s%s",
             AT("url.yaml", "9:10: url \"https://exa mple.com/\" is not a valid URL: "),
             curl_url_strerror(space));
    EXPECT_DIAGS("url.yaml", scheme,
                 AT("url.yaml",
                    "5:10: url \"ftp://example.com/file\": scheme must be http or https, not ftp"),
                 nohost, hostname, AT("url.yaml", "11:9: url needs a value"),
                 AT("url.yaml", "13:10: url must be a single value, not a list"));
}

static void bad_durations(void **state)
{
    (void)state;
    EXPECT_DIAGS("duration.yaml",
                 AT("duration.yaml", "4:15: interval: duration \"30\" has no unit (use ms, s, m, "
                                     "h or d, e.g. \"30s\")"),
                 AT("duration.yaml", "7:14: timeout: invalid duration \"10sec\": unknown unit "
                                     "\"sec\" (use ms, s, m, h or d)"),
                 AT("duration.yaml", "10:15: interval must be between 1s and 1d, not 500ms"),
                 AT("duration.yaml",
                    "13:26: cert_expiry_warning: duration \"400d\" is too long (at most 365d)"),
                 AT("duration.yaml", "16:19: remind_every must be between 1m and 365d (or 0 for "
                                     "never), not 30s"),
                 AT("duration.yaml", "19:18: max_latency: invalid duration \"30m1h\": units must "
                                     "go from largest to smallest, once each"));
}

static void bad_integers(void **state)
{
    (void)state;
    EXPECT_DIAGS("ints.yaml",
                 AT("ints.yaml", "2:22: failure_threshold must be between 1 and 100, not 0"),
                 AT("ints.yaml", "6:25: recovery_threshold must be a whole number, not \"many\""),
                 AT("ints.yaml", "7:18: flap_window must be between 2 and 64, not 1"),
                 AT("ints.yaml", "8:21: flap_threshold must be a whole number, not \"-1\""),
                 AT("ints.yaml", "9:24: failure_threshold must be between 1 and 100, not 101"));
}

/* Rules between keys; the one broken in defaults is reported once there,
 * not again for the target that inherits it. */
static void bad_cross_field_rules(void **state)
{
    (void)state;
    EXPECT_DIAGS(
        "cross.yaml",
        AT("cross.yaml", "3:3: timeout 15s is longer than interval 10s: a probe must end before "
                         "the next one is due"),
        AT("cross.yaml", "10:5: timeout 2m is longer than interval 1m: a probe must end before "
                         "the next one is due"),
        AT("cross.yaml", "15:5: max_latency 5s must be shorter than timeout 5s"),
        AT("cross.yaml", "20:5: max_latency 30s must be shorter than timeout 20s"),
        AT("cross.yaml", "26:5: flap_threshold 5 cannot exceed flap_window 4"),
        AT("cross.yaml", "31:5: remind_every 10m is shorter than interval 1h"),
        AT("cross.yaml", "36:5: a HEAD request has no body for body_contains to check"));
}

/* A target's own short interval clamps the inherited timeout (10s -> 5s)
 * below the inherited max_latency (7s): reported at the interval. */
static void bad_clamped_timeout_below_max_latency(void **state)
{
    (void)state;
    EXPECT_DIAGS("clamp-latency.yaml",
                 AT("clamp-latency.yaml", "6:5: max_latency 7s must be shorter than timeout 5s"));
}

static void engine_settings(void **state)
{
    (void)state;
    struct config *cfg = load_ok(DATA("engine-good.yaml"), NULL);
    assert_int_equal(cfg->max_concurrent, 64);
    assert_int_equal(cfg->dns_cache_ms, 300000);
    assert_int_equal(cfg->max_lookups, 16);
    assert_string_equal(cfg->user_agent, "probe/1 (ops@example.com)");
    config_free(cfg);
    cfg = load_ok(DATA("single.yaml"), NULL);
    assert_int_equal(cfg->max_concurrent, 500); /* the defaults */
    assert_int_equal(cfg->dns_cache_ms, 60000);
    assert_int_equal(cfg->max_lookups, 64);
    assert_string_equal(cfg->user_agent, "upmon/" UPMON_VERSION); /* one default, in the table */
    config_free(cfg);
    EXPECT_DIAGS("engine.yaml",
                 AT("engine.yaml", "2:19: max_concurrent must be between 1 and 100000, not 0"),
                 AT("engine.yaml", "3:14: dns_cache must be between 1s and 1h (or 0 for never), "
                                   "not 2h"),
                 AT("engine.yaml", "4:3: unknown engine key \"user_agnet\" (did you mean "
                                   "\"user_agent\"?)"),
                 AT("engine.yaml", "5:16: max_lookups must be between 1 and 10000, not 0"));
}

/* One body check per target: either text or a pattern. */
static void bad_both_body_checks(void **state)
{
    (void)state;
    EXPECT_DIAGS("both-body.yaml",
                 AT("both-body.yaml", "5:5: give body_contains or body_regex, not both"));
}

static void bad_expect_and_severity(void **state)
{
    (void)state;
    EXPECT_DIAGS("expect.yaml",
                 AT("expect.yaml", "4:14: expect: \"2x\" is not a status code (100-599) or a "
                                   "class (1xx to 5xx)"),
                 AT("expect.yaml", "4:20: expect: \"600\" is not a status code (100-599) or a "
                                   "class (1xx to 5xx)"),
                 AT("expect.yaml", "4:30: expect: \"099\" is not a status code (100-599) or a "
                                   "class (1xx to 5xx)"),
                 AT("expect.yaml", "7:13: expect must list at least one status code or class"),
                 AT("expect.yaml", "11:12: unknown severity \"warn\" (did you mean \"warning\"?)"),
                 AT("expect.yaml", "12:12: unknown severity \"critcal\" (did you mean "
                                   "\"critical\"?)"),
                 AT("expect.yaml", "13:7: severity: \"7xx\" is not a status code (100-599) or a "
                                   "class (1xx to 5xx)"),
                 AT("expect.yaml", "14:12: a severity must be a single value, not a list"),
                 AT("expect.yaml", "17:13: expect: \"6xx\" is not a status code (100-599) or a "
                                   "class (1xx to 5xx)"));
}

/* The reason is the C library's own text for the same expression. */
static void regex_diag(char *out, size_t len, const char *pos, const char *re_src)
{
    char reason[128];
    regex_t re;
    int rc = regcomp(&re, re_src, REG_EXTENDED | REG_NOSUB);

    assert_int_not_equal(rc, 0);
    regerror(rc, &re, reason, sizeof(reason));
    snprintf(out, len, "%s:%s: body_regex \"%s\" is not a valid extended regular expression: %s",
             DATA("regex.yaml"), pos, re_src, reason);
}

static void bad_body_regex(void **state)
{
    char bracket[512], paren[512];

    (void)state;
    regex_diag(bracket, sizeof(bracket), "4:17", "a[");
    regex_diag(paren, sizeof(paren), "7:17", "(unclosed");
    EXPECT_DIAGS("regex.yaml", bracket, paren);
}

/* header_matches, body_not_contains and json: what the loader makes of
 * them, and that they are inherited whole, not merged. */
static void good_assertions(void **state)
{
    (void)state;
    struct config *cfg = load_ok(DATA("assert-good.yaml"), NULL);
    const struct target_conf *t = find_target(cfg, "inherits");

    assert_int_equal(t->nheader_matches, 1);
    assert_string_equal(t->header_matches[0].name, "content-type");
    assert_string_equal(t->header_matches[0].pattern, "^application/json");
    assert_int_equal(
        regexec(&t->header_matches[0].re, "application/json; charset=utf-8", 0, NULL, 0), 0);
    assert_null(t->body_not_contains);
    assert_int_equal(t->njson, 0);

    t = find_target(cfg, "health");
    assert_int_equal(t->nheader_matches, 2); /* its own, in place of the defaults' */
    assert_string_equal(t->header_matches[0].name, "X-Health");
    assert_string_equal(t->header_matches[1].name, "X-Present");
    assert_string_equal(t->header_matches[1].pattern, "");
    assert_string_equal(t->body_not_contains, "maintenance");
    assert_int_equal(t->njson, 12);
    const struct json_assertion *j = t->json;
    /* Each value as JSON, in the order given. */
    const char *const want[] = {"\"ok\"", "\"ok\"", "1",     "0.5",      "true",   "false",
                                "null",   "null",   "\"1\"", "\"true\"", "\"yes\""};
    for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
        char *got = json_dumps(j[i].equals, JSON_ENCODE_ANY);
        print_message("%s: %s\n", j[i].path_src, got);
        assert_string_equal(got, want[i]);
        free(got);
        assert_null(j[i].pattern);
    }
    assert_string_equal(j[1].path_src, "checks[0].state");
    assert_int_equal(j[1].path.n, 3);
    assert_int_equal(j[2].path.n, 2);
    assert_string_equal(j[2].path.steps[0].key, "a.b");
    assert_int_equal(j[2].path.steps[1].index, -1);
    assert_string_equal(j[11].path_src, "version");
    assert_null(j[11].equals);
    assert_string_equal(j[11].pattern, "^2\\.");
    assert_int_equal(regexec(&j[11].re, "2.4.1", 0, NULL, 0), 0);
    assert_int_equal(regexec(&j[11].re, "20.1", 0, NULL, 0), REG_NOMATCH);

    t = find_target(cfg, "cleared");
    assert_int_equal(t->nheader_matches, 0);
    t = find_target(cfg, "head"); /* a header needs no body */
    assert_int_equal(t->nheader_matches, 1);

    /* The dump shows them as written. */
    json_t *v = config_values(cfg);
    json_t *h = json_array_get(json_object_get(v, "targets"), 1);
    char *text = json_dumps(json_object_get(h, "json"), JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(text, "{\"[\\\"a.b\\\"][-1]\":1,\"checks[0].state\":\"ok\",\"down\":false,"
                              "\"gone\":null,\"nothing\":null,\"plain\":\"yes\",\"quoted\":\"1\","
                              "\"ratio\":0.5,\"status\":\"ok\",\"up\":true,\"version\":"
                              "{\"matches\":\"^2\\\\.\"},\"word\":\"true\"}");
    free(text);
    text = json_dumps(json_object_get(h, "header_matches"), JSON_COMPACT);
    assert_string_equal(text, "{\"X-Health\":\"^ok$\",\"X-Present\":\"\"}");
    free(text);
    json_decref(v);
    config_free(cfg);
}

static void bad_assertions(void **state)
{
    char re[512], json_re[512];
    char why[128];
    regex_t r;

    (void)state;
    /* The reason for a bad pattern is the C library's own. */
    int rc = regcomp(&r, "a[", REG_EXTENDED | REG_NOSUB);
    assert_int_not_equal(rc, 0);
    regerror(rc, &r, why, sizeof(why));
    snprintf(re, sizeof(re), "%s%s",
             AT("assert-bad.yaml",
                "5:17: header_matches X-Health \"a[\" is not a valid extended regular "
                "expression: "),
             why);
    snprintf(
        json_re, sizeof(json_re), "%s%s",
        AT("assert-bad.yaml", "16:20: json m \"a[\" is not a valid extended regular expression: "),
        why);
    EXPECT_DIAGS(
        "assert-bad.yaml", re,
        AT("assert-bad.yaml", "6:7: \"Bad Name\" is not a valid header name"),
        AT("assert-bad.yaml", "7:7: duplicate key \"x-health\" (first given at line 5)"),
        AT("assert-bad.yaml", "8:15: header_matches X-List must be a single value, not a list"),
        AT("assert-bad.yaml", "9:15: header_matches X-Empty needs a value"),
        AT("assert-bad.yaml",
           "13:7: json path \"checks[x]\" is not valid: inside [ ] at character 7: an index "
           "(such as 0 or -1) or a key in double quotes"),
        AT("assert-bad.yaml",
           "14:7: json path \"a..b\" is not valid: a key is missing at character 3"),
        AT("assert-bad.yaml", "15:13: json list must be a string, a number, true, false, null or "
                              "{matches: PATTERN}, not a list"),
        json_re,
        AT("assert-bad.yaml",
           "17:11: json n: the only key here is matches, for {matches: PATTERN}"),
        AT("assert-bad.yaml", "18:10: json o: give {matches: PATTERN}, or a value"),
        AT("assert-bad.yaml", "19:7: json path \"\"q\"\" is not valid: a quote at character 1: a "
                              "quoted key goes in [ ], as [\"a.b\"]"),
        AT("assert-bad.yaml", "22:21: header_matches must be a mapping, not a list"),
        AT("assert-bad.yaml", "23:11: json must be a mapping, not a scalar"),
        AT("assert-bad.yaml", "26:5: a HEAD request has no body for json to check"),
        AT("assert-bad.yaml", "30:5: a HEAD request has no body for body_not_contains to check"));
}

static void bad_methods(void **state)
{
    (void)state;
    EXPECT_DIAGS("method.yaml",
                 AT("method.yaml", "4:13: unknown method \"GETT\" (did you mean \"GET\"?)"),
                 AT("method.yaml", "7:13: unknown method \"get\" (did you mean \"GET\"?)"),
                 AT("method.yaml", "10:13: unknown method \"PROPFIND\" (use GET, HEAD, POST, "
                                   "PUT, PATCH, DELETE or OPTIONS)"));
}

static void bad_name_and_url_in_defaults(void **state)
{
    (void)state;
    EXPECT_DIAGS(
        "defaults-name.yaml",
        AT("defaults-name.yaml", "2:3: name cannot be given in defaults, only in a target"),
        AT("defaults-name.yaml", "3:3: url cannot be given in defaults, only in a target"));
}

static void bad_target_without_name_or_url(void **state)
{
    (void)state;
    EXPECT_DIAGS("missing.yaml", AT("missing.yaml", "2:5: target no-url has no url"),
                 AT("missing.yaml", "4:5: target has no name"),
                 AT("missing.yaml", "5:5: target has no name"),
                 AT("missing.yaml", "8:5: a target must be a mapping, not a scalar"));
}

static void bad_routes(void **state)
{
    (void)state;
    EXPECT_DIAGS(
        "route.yaml",
        AT("route.yaml", "10:5: target typo routes to unknown webhook \"opz\" (did you mean "
                         "\"ops\"?)"),
        AT("route.yaml", "13:5: target unknown routes to unknown webhook \"nobody\""),
        AT("route.yaml", "16:16: a webhook name must be a single value, not a list"),
        AT("route.yaml", "19:15: webhooks must be a list of webhook names, not a mapping"));
}

/* Two unknown names in one list share a position; both are reported. */
static void bad_routes_two_unknown_in_one_list(void **state)
{
    (void)state;
    EXPECT_DIAGS(
        "route-two.yaml",
        AT("route-two.yaml", "8:5: target two-unknown routes to unknown webhook \"opz\" "
                             "(did you mean \"ops\"?)"),
        AT("route-two.yaml", "8:5: target two-unknown routes to unknown webhook \"nobody\""));
}

/* An unknown name inherited from defaults is reported once, where the
 * defaults name it, even with a target between with its own bad route. */
static void bad_routes_inherited_reported_once(void **state)
{
    (void)state;
    EXPECT_DIAGS(
        "route-defaults.yaml",
        AT("route-defaults.yaml", "2:3: target a routes to unknown webhook \"pagr\" (did "
                                  "you mean \"pager\"?)"),
        AT("route-defaults.yaml", "12:5: target own routes to unknown webhook \"nobody\""));
}

static void bad_webhooks(void **state)
{
    (void)state;
    EXPECT_DIAGS(
        "webhook.yaml", AT("webhook.yaml", "2:13: journald must be true or false, not \"perhaps\""),
        AT("webhook.yaml", "6:15: unknown webhook format \"slak\" (did you mean \"slack\"?)"),
        AT("webhook.yaml", "9:20: secret_file: cannot read /nonexistent/upmon-test.secret: No "
                           "such file or directory"),
        AT("webhook.yaml", "10:7: webhook has no name"),
        AT("webhook.yaml", "11:7: webhook no-url has no url"),
        AT("webhook.yaml", "14:22: unknown event \"recoverd\" (did you mean \"recovered\"?)"),
        AT("webhook.yaml", "15:21: unknown severity \"info\" (use ok, warning or critical)"),
        AT("webhook.yaml", "19:7: retry_max must not be shorter than retry_initial"),
        AT("webhook.yaml",
           "22:7: duplicate webhook name \"ops\" (first defined at " DATA("webhook.yaml") ":20:7)"),
        AT("webhook.yaml", "26:26: secret_credential must be a credential name, not a path"),
        AT("webhook.yaml", "27:3: unknown alerts key \"sms\""));
}

static void good_slack_webhooks(void **state)
{
    (void)state;
    struct config *cfg = load_ok(DATA("slack.yaml"), NULL);
    const struct webhook_conf *w = find_webhook(cfg, "chat");

    assert_int_equal(w->format, WEBHOOK_SLACK);
    assert_string_equal(w->username, "upmon on mon1");
    assert_string_equal(w->icon_url, "https://static.example/upmon.png");
    assert_null(w->icon_emoji);
    w = find_webhook(cfg, "mattermost");
    assert_null(w->username);
    assert_null(w->icon_url);
    assert_string_equal(w->icon_emoji, ":rotating_light:");
    w = find_webhook(cfg, "plain");
    assert_null(w->username);
    assert_null(w->icon_url);
    assert_null(w->icon_emoji);
    /* Each is seen by a reload. */
    assert_false(webhook_conf_equal(&cfg->webhooks[0], &cfg->webhooks[2]) &&
                 webhook_conf_equal(&cfg->webhooks[1], &cfg->webhooks[2]));
    config_free(cfg);
}

static void bad_slack_webhooks(void **state)
{
    (void)state;
    EXPECT_DIAGS(
        "slack-bad.yaml", AT("slack-bad.yaml", "7:7: username applies only to format: slack"),
        AT("slack-bad.yaml", "11:7: icon_emoji applies only to format: slack"),
        AT("slack-bad.yaml", "16:7: give icon_url or icon_emoji, not both"),
        AT("slack-bad.yaml", "20:19: icon_emoji must be an emoji name between colons, such as "
                             ":rotating_light:"),
        AT("slack-bad.yaml", "24:17: icon_url \"ftp://static.example/upmon.png\": scheme must be "
                             "http or https, not ftp"),
        AT("slack-bad.yaml", "28:17: username needs a value"),
        AT("slack-bad.yaml",
           "32:17: username must be 1 to 200 characters without control characters"));
}

static void bad_watch_list(void **state)
{
    (void)state;
    EXPECT_DIAGS(
        "watchlist.yaml",
        AT("watchlist.yaml",
           "3:5: watch list " DATA("watchlist.d/absent.yaml") ": No such file or directory"),
        AT("watchlist.d/typo.yaml", "1:1: a watch list needs a targets: list"),
        AT("watchlist.d/typo.yaml",
           "3:1: unknown watch-list key \"target\" (did you mean \"targets\"?)"),
        DATA("watchlist.d/empty.yaml") ": file is empty",
        AT("watchlist.d/scalar.yaml", "1:1: a watch list must be a mapping, not a scalar"));
}

static void bad_root_not_a_mapping(void **state)
{
    (void)state;
    EXPECT_DIAGS("root-list.yaml",
                 AT("root-list.yaml", "1:1: the configuration must be a mapping, not a list"));
}

static void bad_yaml_syntax(void **state)
{
    (void)state;
    EXPECT_DIAGS("syntax.yaml", AT("syntax.yaml", "4:4: did not find expected '-' indicator while "
                                                  "parsing a block collection"));
}

static void bad_empty_files(void **state)
{
    (void)state;
    EXPECT_DIAGS("empty.yaml", DATA("empty.yaml") ": file is empty");
    EXPECT_DIAGS("comment-only.yaml", DATA("comment-only.yaml") ": file is empty");
}

static void bad_missing_main_file(void **state)
{
    (void)state;
    EXPECT_DIAGS("does-not-exist.yaml",
                 DATA("does-not-exist.yaml") ": cannot open: No such file or directory");
    EXPECT_DIAGS("good.d", DATA("good.d") ": not a regular file");
}

static void bad_two_documents(void **state)
{
    (void)state;
    EXPECT_DIAGS("two-docs.yaml",
                 AT("two-docs.yaml", "5:1: only one YAML document is allowed per file"));
}

/* Every mistake in one run, sorted by file then position although the
 * loader finds them in another order (targets after alerts, engine and
 * defaults; routes last of all); a syntax error in one watch list does not
 * hide the others. */
static void bad_many_errors_sorted(void **state)
{
    (void)state;
    EXPECT_DIAGS(
        "many.yaml",
        AT("many.yaml", "5:10: url \"ftp://a.example/\": scheme must be http or https, not ftp"),
        AT("many.yaml", "6:5: unknown target key \"intervall\" (did you mean \"interval\"?)"),
        AT("many.yaml", "9:5: target b routes to unknown webhook \"opz\" (did you mean \"ops\"?)"),
        AT("many.yaml", "16:15: unknown webhook format \"slak\" (did you mean \"slack\"?)"),
        AT("many.yaml", "18:19: max_concurrent must be between 1 and 100000, not 0"),
        AT("many.yaml", "19:3: unknown engine key \"user_agnt\" (did you mean \"user_agent\"?)"),
        AT("many.yaml", "21:12: timeout must be between 10ms and 1h, not 2h"),
        AT("many.d/a.yaml", "2:11: unknown method \"GETT\" (did you mean \"GET\"?)"),
        AT("many.d/a.yaml", "6:14: expect: \"2x\" is not a status code (100-599) or a class (1xx "
                            "to 5xx)"),
        AT("many.d/a.yaml",
           "7:5: duplicate target name \"b\" (first defined at " DATA("many.yaml") ":7:5)"),
        AT("many.d/b.yaml", "4:1: found unexpected end of stream while scanning a quoted scalar"));
}

/* ---- files written per test, in a temporary directory (tmpdir.h) ---- */

/* ---- secrets ---- */

static int make_secrets(void **state)
{
    if (make_tmp(state) < 0)
        return -1;
    struct tmp *s = *state;
    write_file(s->dir, "ops", "  " SECRET " \n");
    write_file(s->dir, "plain", "hunter2\n");
    write_file(s->dir, "blank", " \n\n");
    return 0;
}

/* Whether a header's value is a secret follows the layer that gave it,
 * and is part of what a reload compares: the same value written in the
 * watch list may go to other origins, read from a file it may not. */
static void header_secrets(void **state)
{
    struct tmp *s = *state;
    char text[1024], path[256];

    snprintf(text, sizeof(text),
             "defaults:\n"
             "  headers: {X-Key: {file: %s/plain}, X-Other: {file: %s/plain}}\n"
             "targets:\n"
             "  - {name: file, url: 'http://127.0.0.1/'}\n"
             "  - {name: inline, url: 'http://127.0.0.1/', headers: {x-key: hunter2}}\n",
             s->dir, s->dir);
    write_file(s->dir, "headers.yaml", text);
    snprintf(path, sizeof(path), "%s/headers.yaml", s->dir);
    struct config *cfg = load_ok(path, NULL);
    const struct target_conf *f = find_target(cfg, "file"), *i = find_target(cfg, "inline");
    assert_kv(f->headers, f->nheaders, 0, "X-Key", "hunter2");
    assert_kv(i->headers, i->nheaders, 0, "X-Key", "hunter2");
    assert_true(f->headers[0].secret && f->headers[1].secret);
    assert_false(i->headers[0].secret);
    assert_true(i->headers[1].secret);
    /* Only the names differ: "file" as "inline" would be the same target. */
    struct target_conf as_inline = *i;
    as_inline.name = f->name;
    assert_false(target_conf_probe_equal(f, &as_inline));
    config_free(cfg);
}

static void secret_credential_good(void **state)
{
    struct tmp *s = *state;
    struct config *cfg = load_ok(DATA("secret-good.yaml"), &s->env);

    assert_int_equal(cfg->nwebhooks, 1);
    assert_string_equal(cfg->webhooks[0].secret, SECRET); /* first line, trimmed */
    assert_string_equal(cfg->webhooks[0].secret_source, "secret_credential ops");
    config_free(cfg);
}

/* ---- how a probe reaches a site ---- */

#define TLS_DIR UPMON_TEST_DATA "/tls"

static void client_options(void **state)
{
    static const struct config_env env = {.credentials_dir = TLS_DIR};
    struct config *cfg = load_ok(DATA("client-good.yaml"), &env);
    const struct target_conf *a = &cfg->targets[0], *b = &cfg->targets[1];

    (void)state;
    assert_int_equal(cfg->ntargets, 2);
    /* Files are read at load: their contents, by where they came from. */
    assert_non_null(strstr(a->ca_file.data, "-----BEGIN CERTIFICATE-----"));
    assert_string_equal(a->ca_file.source, "ca_file ../tls/ca.pem");
    assert_non_null(strstr(a->client_cert.data, "-----BEGIN CERTIFICATE-----"));
    assert_non_null(strstr(a->client_key.data, "PRIVATE KEY-----"));
    assert_string_equal(a->client_key.source, "client_key ../tls/key-a.pem");
    assert_string_equal(a->connect_to, "[::1]:8443");
    assert_string_equal(a->tls_server_name, "backend.example");
    assert_int_equal(a->tls_min_version, TLS_V1_3);
    assert_int_equal(a->http_version, HTTP_2);
    assert_string_equal(a->basic_auth_user, "monitor");
    assert_string_equal(a->basic_auth_password.data, "s3cr3t-token"); /* first line, trimmed */
    assert_null(a->proxy);
    /* A header read from a file, with its prefix, inherited from defaults:
     * a secret, which stays with the target's origin. */
    assert_int_equal(a->nheaders, 1);
    assert_string_equal(a->headers[0].value, "Bearer s3cr3t-token");
    assert_true(a->headers[0].secret);
    /* One from a credential beside it; the password stays in the URL,
     * but what people see of the URL has none. */
    assert_int_equal(b->nheaders, 2);
    assert_string_equal(b->headers[1].key, "X-Key");
    assert_string_equal(b->headers[1].value, "-----BEGIN PRIVATE KEY-----");
    assert_true(b->headers[0].secret && b->headers[1].secret);
    assert_string_equal(b->proxy, "http://user:pw@127.0.0.1:3128");
    assert_int_equal(b->http_version, HTTP_1_1);
    assert_int_equal(b->tls_min_version, TLS_V1_2);
    assert_null(b->client_cert.data);
    config_free(cfg);
}

/* What people see of a URL hides the values of its secret parameters:
 * the usual names, and those of the target and its defaults, merged. */
static void redact_query_shown(void **state)
{
    struct config *cfg = load_ok(DATA("redact.yaml"), NULL);
    const struct target_conf *usual = find_target(cfg, "usual"), *own = find_target(cfg, "own");
    const struct target_conf *sc = find_target(cfg, "scalar"), *plain = find_target(cfg, "plain");

    (void)state;
    assert_string_equal(usual->shown_url, "https://monitor@api.example/v1/health?apikey=(hidden)"
                                          "&page=2&api%5Fkey=(hidden)&Token=(hidden)#x");
    assert_string_equal(own->shown_url, "https://api.example/v1/health?session_id=(hidden)"
                                        "&code=(hidden)&sig=(hidden)&keep=1");
    assert_string_equal(sc->shown_url,
                        "https://api.example/?ticket=(hidden)&session_id=(hidden)&empty=");
    assert_string_equal(plain->shown_url, "https://api.example/?q=up");
    /* The request keeps every value. */
    assert_string_equal(own->url,
                        "https://api.example/v1/health?session_id=S1&code=C1&sig=G1&keep=1");
    /* Names from defaults first, each once whatever its case. */
    assert_int_equal(own->nredact_query, 2);
    assert_string_equal(own->redact_query[0], "session_id");
    assert_string_equal(own->redact_query[1], "code");
    assert_int_equal(plain->nredact_query, 1);
    /* The dump shows the URL as shown, and every name hidden. */
    json_t *v = config_values(cfg);
    json_t *t = json_array_get(json_object_get(v, "targets"), 1);
    assert_string_equal(json_string_value(json_object_get(t, "url")), own->shown_url);
    json_t *names = json_object_get(t, "redact_query");
    assert_int_equal(json_array_size(names), 13 + 2);
    assert_string_equal(json_string_value(json_array_get(names, 0)), "token");
    assert_string_equal(json_string_value(json_array_get(names, 14)), "code");
    char *text = json_dumps(v, 0);
    assert_null(strstr(text, "K1"));
    assert_null(strstr(text, "S1"));
    assert_null(strstr(text, "C1"));
    free(text);
    json_decref(v);
    config_free(cfg);
}

static void bad_redact_query(void **state)
{
    (void)state;
    EXPECT_DIAGS("redact-bad.yaml",
                 AT("redact-bad.yaml",
                    "4:19: redact_query must be a list of query parameter names, not a mapping"),
                 AT("redact-bad.yaml", "7:26: a query parameter name must be a single value, "
                                       "not a list"),
                 AT("redact-bad.yaml", "10:20: redact_query: a parameter name is 1 to 200 "
                                       "characters without control characters"),
                 AT("redact-bad.yaml", "10:24: redact_query: a parameter name is 1 to 200 "
                                       "characters without control characters"));
}

static void client_options_bad(void **state)
{
    static const struct config_env env = {.credentials_dir = TLS_DIR};
#define F(rest) AT("client.yaml", rest)
#define P(f)    CONFIG_DIR "/../tls/" f

    (void)state;
    EXPECT_DIAGS_ENV(
        DATA("client.yaml"), &env,
        F("4:14: ca_file: " P("not-pem.txt") " holds no PEM certificate"),
        F("5:14: ca_path: " P("ca.pem") " is not a directory"),
        F("6:18: client_cert: cannot read " P("absent.pem") ": No such file or directory"),
        F("9:5: client_cert needs client_key or client_key_credential"),
        F("10:17: client_key: " P(
            "key-encrypted.pem") " holds no PEM private key that can be read without a passphrase"),
        F("14:5: client_key is not the key of the first certificate in client_cert"),
        F("17:5: client_cert needs client_key or client_key_credential"),
        F("22:5: give client_key or client_key_credential, not both"),
        F("25:17: connect_to \"10.0.0.1:99999\" must be HOST or HOST:PORT (an IPv6 address in "
          "brackets, a port from 1 to 65535)"),
        F("26:12: proxy scheme must be http, https, socks5 or socks5h, not ftp"),
        F("27:22: tls_server_name \"10.0.0.1\" must be a host name (letters, digits, dots, "
          "hyphens)"),
        F("30:5: give connect_to or proxy, not both: through a proxy, the proxy connects"),
        F("32:5: tls_server_name needs an https URL"), F("35:17: basic_auth needs a username"),
        F("35:18: unknown basic_auth key \"user\" (did you mean \"username\"?)"),
        F("35:62: give password_file or password_credential, not both"),
        F("37:19: header X-A: cannot read " P("absent") ": No such file or directory"),
        F("38:33: header X-B: give file or credential, not both"),
        F("39:12: header X-C: give its value, or file or credential to read it from"),
        F("40:12: header X-D: give its value, or file or credential to read it from"),
        F("40:13: unknown header value key \"filename\""),
        F("41:22: unknown TLS version \"1.4\" (did you mean \"1.0\"?)"),
        F("42:19: unknown HTTP version \"3\" (use auto, 1.1 or 2)"));
#undef P
#undef F
}

/* tls_server_name given in defaults is checked against each target's URL
 * (a defaults block has none), and a target without a URL is an error,
 * not a crash. */
static void server_name_from_defaults(void **state)
{
    (void)state;
    EXPECT_DIAGS("server-name.yaml",
                 AT("server-name.yaml", "5:5: tls_server_name needs an https URL"),
                 AT("server-name.yaml", "8:5: target no-url has no url"));
}

/* ip_version against the address a probe connects to: connect_to's, else
 * the proxy's, else the URL's; reported where a key of the rule is given,
 * so a pin in defaults is reported at each target's own address, and a
 * clash within defaults once, there. */
static void ip_version_against_addresses(void **state)
{
    (void)state;
#define F(rest) AT("ip-version.yaml", rest)
    EXPECT_DIAGS("ip-version.yaml",
                 F("5:5: ip_version 6 cannot reach 127.0.0.1, the IPv4 address of url"),
                 F("15:5: ip_version 4 cannot reach [::1], the IPv6 address of url"),
                 F("17:5: ip_version 6 cannot reach 127.0.0.1, the IPv4 address of url"),
                 F("20:5: ip_version 6 cannot reach 192.0.2.1, the IPv4 address of connect_to"),
                 F("26:5: ip_version 6 cannot reach 192.0.2.1, the IPv4 address of proxy"),
                 F("31:5: ip_version 6 cannot reach 0x7f000001, the IPv4 address of connect_to"));
#undef F
    EXPECT_DIAGS("ip-version-defaults.yaml",
                 AT("ip-version-defaults.yaml",
                    "2:3: ip_version 4 cannot reach [::1], the IPv6 address of connect_to"));
}

static void secret_credential_without_directory(void **state)
{
    static const struct config_env unset = {NULL};
#define UNSET(pos, name)                                                                           \
    AT("secrets.yaml", pos ": secret_credential " name ": $CREDENTIALS_DIRECTORY is not set "      \
                           "(give it with LoadCredential= in the unit, or name a file instead)")

    (void)state;
    EXPECT_DIAGS_ENV(DATA("secrets.yaml"), NULL, UNSET("6:26", "ops"), UNSET("9:26", "plain"),
                     UNSET("12:26", "absent"), UNSET("15:26", "blank"));
    EXPECT_DIAGS_ENV(DATA("secrets.yaml"), &unset, UNSET("6:26", "ops"), UNSET("9:26", "plain"),
                     UNSET("12:26", "absent"), UNSET("15:26", "blank"));
#undef UNSET
}

static void secret_credential_bad(void **state)
{
    struct tmp *s = *state;
    char absent[512], blank[512];

    snprintf(absent, sizeof(absent), "%s%s/absent: No such file or directory",
             AT("secrets.yaml", "12:26: secret_credential: cannot read "), s->dir);
    snprintf(blank, sizeof(blank), "%s%s/blank is empty",
             AT("secrets.yaml", "15:26: secret_credential: "), s->dir);
    EXPECT_DIAGS_ENV(DATA("secrets.yaml"), &s->env,
                     AT("secrets.yaml", "6:7: the slack format is not signed; a secret is only "
                                        "used by the standard format"),
                     AT("secrets.yaml", "9:7: the secret in secret_credential plain must be "
                                        "\"whsec_\" followed by base64"),
                     absent, blank);
}

static void secret_file(void **state)
{
    struct tmp *s = *state;
    char text[1024], path[256], source[256];
    char slack[512], both[512], plain[512];
    struct config *cfg;

    snprintf(text, sizeof(text),
             "alerts:\n"
             "  webhooks:\n"
             "    - name: file\n"
             "      url: https://file.example/hook\n"
             "      secret_file: %s/ops\n",
             s->dir);
    write_file(s->dir, "file.yaml", text);
    snprintf(path, sizeof(path), "%s/file.yaml", s->dir);
    cfg = load_ok(path, NULL);
    snprintf(source, sizeof(source), "secret_file %s/ops", s->dir);
    assert_string_equal(cfg->webhooks[0].secret, SECRET);
    assert_string_equal(cfg->webhooks[0].secret_source, source);
    config_free(cfg);

    snprintf(text, sizeof(text),
             "alerts:\n"
             "  webhooks:\n"
             "    - name: slack\n"
             "      url: https://slack.example/hook\n"
             "      format: slack\n"
             "      secret_file: %s/ops\n"
             "    - name: both\n"
             "      url: https://both.example/hook\n"
             "      secret_file: %s/ops\n"
             "      secret_credential: ops\n"
             "    - name: plain\n"
             "      url: https://plain.example/hook\n"
             "      secret_file: %s/plain\n",
             s->dir, s->dir, s->dir);
    write_file(s->dir, "file-bad.yaml", text);
    snprintf(path, sizeof(path), "%s/file-bad.yaml", s->dir);
    snprintf(slack, sizeof(slack),
             "%s:6:7: the slack format is not signed; a secret is only used by the standard "
             "format",
             path);
    snprintf(both, sizeof(both), "%s:10:7: give secret_file or secret_credential, not both", path);
    snprintf(plain, sizeof(plain),
             "%s:13:7: the secret in secret_file %s/plain must be \"whsec_\" followed by base64",
             path, s->dir);
    EXPECT_DIAGS_ENV(path, &s->env, slack, both, plain);
}

/* ---- hostile files: FIFOs, dangling links, aliases, odd bytes ---- */

#define SCRATCH(s, name, text) write_bytes((s)->dir, name, text, sizeof(text) - 1)

/* Expects the diagnostics of loading dir/name; want holds "%1$s" for the
 * directory. */
static void expect_scratch(const struct tmp *s, const char *name, const char *const *want, size_t n)
{
    char path[256], buf[8][512];
    const char *w[8];

    assert_true(n <= 8);
    snprintf(path, sizeof(path), "%s/%s", s->dir, name);
    for (size_t i = 0; i < n; i++) {
        snprintf(buf[i], sizeof(buf[i]), want[i], s->dir);
        w[i] = buf[i];
    }
    check_diags(path, NULL, w, n);
}

#define EXPECT_SCRATCH(s, name, ...)                                                               \
    do {                                                                                           \
        const char *const want_[] = {__VA_ARGS__};                                                 \
        expect_scratch(s, name, want_, ARRAY_SIZE(want_));                                         \
    } while (0)

/* A FIFO is refused at once, never waited on (that would hang a reload);
 * a dangling link is reported, not skipped; a directory named alone is a
 * mistake. */
static void hostile_paths(void **state)
{
    struct tmp *s = *state;
    char path[256];

    snprintf(path, sizeof(path), "%s/w.d", s->dir);
    assert_int_equal(mkdir(path, 0700), 0);
    SCRATCH(s, "w.d/a.yaml", "targets:\n  - {name: a, url: 'http://127.0.0.1/'}\n");
    snprintf(path, sizeof(path), "%s/w.d/b.yaml", s->dir);
    assert_int_equal(symlink("/nonexistent/upmon", path), 0);
    snprintf(path, sizeof(path), "%s/w.d/c.yaml", s->dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    snprintf(path, sizeof(path), "%s/secret.fifo", s->dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    write_bytes(s->dir, "nul.secret", SECRET "\0tail\n", sizeof(SECRET) + 5);
    SCRATCH(s, "main.yaml",
            "watch: [w.d/*.yaml, w.d]\n"
            "alerts:\n"
            "  webhooks:\n"
            "    - {name: f, url: 'http://127.0.0.1/', secret_file: secret.fifo}\n"
            "    - {name: n, url: 'http://127.0.0.1/', secret_file: nul.secret}\n");
    EXPECT_SCRATCH(s, "main.yaml",
                   "%1$s/main.yaml:1:21: watch list %1$s/w.d/ is a directory (its files: "
                   "%1$s/w.d/*.yaml)",
                   "%1$s/main.yaml:4:56: secret_file: cannot read %1$s/secret.fifo: not a "
                   "regular file",
                   "%1$s/main.yaml:5:56: secret_file: %1$s/nul.secret holds a NUL byte",
                   "%1$s/w.d/b.yaml: cannot open: No such file or directory",
                   "%1$s/w.d/c.yaml: not a regular file");
    /* -c naming a FIFO */
    EXPECT_SCRATCH(s, "secret.fifo", "%1$s/secret.fifo: not a regular file");
}

/* Aliases repeat nodes, not work or errors; bytes libyaml rejects are
 * placed where they are; a value echoed in a message cannot break it
 * over lines; limits on labels and headers. */
static void hostile_contents(void **state)
{
    struct tmp *s = *state;
    char many[4096] = "targets:\n  - name: many\n    url: 'http://127.0.0.1/'\n    labels: {";

    for (int i = 0; i < 101; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "l%d: v, ", i);
    strcat(many, "last: v}\n");
    write_file(s->dir, "many.yaml", many);
    EXPECT_SCRATCH(s, "many.yaml", "%1$s/many.yaml:4:13: labels: 102 entries, at most 100");

    SCRATCH(s, "alias.yaml",
            "targets:\n"
            "  - &t {name: t, url: 'http://127.0.0.1/', labels: {a: b, a: c}}\n"
            "  - *t\n"
            "  - *t\n");
    EXPECT_SCRATCH(s, "alias.yaml",
                   "%1$s/alias.yaml:2:5: this target is repeated by an alias (*); target names "
                   "must be unique",
                   "%1$s/alias.yaml:2:59: duplicate key \"a\" (first given at line 2)");

    SCRATCH(s, "utf8.yaml",
            "targets:\n  - {name: a, url: 'http://127.0.0.1/', labels: {x: \"\xff\"}}\n");
    EXPECT_SCRATCH(s, "utf8.yaml", "%1$s/utf8.yaml:2:54: invalid leading UTF-8 octet");

    SCRATCH(s, "breaks.yaml",
            "\"a\\nb\": 1\n"
            "targets:\n"
            "  - {name: \"x\\u2028y\", url: 'http://127.0.0.1/'}\n"
            "  - {name: \"x\\u0085y\", url: 'http://127.0.0.1/'}\n");
    EXPECT_SCRATCH(s, "breaks.yaml", "%1$s/breaks.yaml:1:1: unknown key \"a?b\"",
                   "%1$s/breaks.yaml:3:12: name must be 1 to 200 characters without control "
                   "characters",
                   "%1$s/breaks.yaml:4:12: name must be 1 to 200 characters without control "
                   "characters");

    SCRATCH(s, "comments.yaml", "# only\n---\n# comments\n");
    EXPECT_SCRATCH(s, "comments.yaml", "%1$s/comments.yaml: file is empty");

    /* A timeout left to follow a shorter interval in the defaults. */
    SCRATCH(s, "latency.yaml",
            "defaults: {interval: 5s, max_latency: 7s}\n"
            "targets: [{name: a, url: 'http://127.0.0.1/'}]\n");
    EXPECT_SCRATCH(s, "latency.yaml",
                   "%1$s/latency.yaml:1:26: max_latency 7s must be shorter than timeout 5s");
}

/* ---- equality and routing ---- */

static void target_equality(void **state)
{
    struct config *a = *state;
    struct config *b = load_ok(DATA("good.yaml"), NULL);

    for (size_t i = 0; i < a->ntargets; i++)
        for (size_t j = 0; j < b->ntargets; j++)
            assert_int_equal(target_conf_equal(&a->targets[i], &b->targets[j]), i == j);

    struct target_conf *x = &a->targets[2], *y = &b->targets[2]; /* shop */
    assert_true(target_conf_equal(x, y));
    /* Where it is defined is not how it probes. */
    y->line++;
    assert_true(target_conf_equal(x, y));
    y->interval_ms++;
    assert_false(target_conf_equal(x, y));
    y->interval_ms--;
    y->enabled = !y->enabled;
    assert_false(target_conf_equal(x, y));
    y->enabled = !y->enabled;
    y->expect[1].lo = y->expect[1].hi = 402;
    assert_false(target_conf_equal(x, y));
    y->expect[1].lo = y->expect[1].hi = 401;
    y->severity[1].severity = SEV_CRITICAL;
    assert_false(target_conf_equal(x, y));
    y->severity[1].severity = SEV_WARNING;
    y->headers[1].value[0] = 'P';
    assert_false(target_conf_equal(x, y));
    y->headers[1].value[0] = 'p';
    y->labels[2].value[0] = 'A';
    assert_false(target_conf_equal(x, y));
    y->labels[2].value[0] = 'a';
    y->webhooks[0][0] = 'P';
    assert_false(target_conf_equal(x, y));
    y->webhooks[0][0] = 'p';
    y->webhooks_set = false;
    assert_false(target_conf_equal(x, y));
    y->webhooks_set = true;
    y->nwebhooks = 0;
    assert_false(target_conf_equal(x, y));
    y->nwebhooks = 1;
    y->body_regex_src[0] = '.';
    assert_false(target_conf_equal(x, y));
    y->body_regex_src[0] = '^';
    assert_true(target_conf_equal(x, y));
    config_free(b);
}

static void webhook_equality(void **state)
{
    struct config *a = *state;
    struct config *b = load_ok(DATA("good.yaml"), NULL);
    struct webhook_conf *x = &a->webhooks[0], *y = &b->webhooks[0];
    char secret[] = SECRET;

    assert_true(webhook_conf_equal(x, y));
    assert_false(webhook_conf_equal(x, &b->webhooks[1]));
    y->line++;
    assert_true(webhook_conf_equal(x, y));
    y->format = WEBHOOK_SLACK;
    assert_false(webhook_conf_equal(x, y));
    y->format = WEBHOOK_STANDARD;
    y->events = EVT_ALL;
    assert_false(webhook_conf_equal(x, y));
    y->events = x->events;
    y->retry_max_ms++;
    assert_false(webhook_conf_equal(x, y));
    y->retry_max_ms--;
    y->headers[0].value[0] = 'b';
    assert_false(webhook_conf_equal(x, y));
    y->headers[0].value[0] = 'B';
    y->secret = secret; /* a new secret is a change */
    assert_false(webhook_conf_equal(x, y));
    y->secret = NULL;
    assert_true(webhook_conf_equal(x, y));
    config_free(b);
}

static void routes_to(void **state)
{
    char *names[] = {"ops", "pager"};
    struct target_conf t = {0};

    (void)state;
    assert_true(target_routes_to(&t, "ops")); /* not set: everywhere */
    t.webhooks_set = true;
    assert_false(target_routes_to(&t, "ops")); /* set and empty: nowhere */
    t.webhooks = names;
    t.nwebhooks = 2;
    assert_true(target_routes_to(&t, "ops"));
    assert_true(target_routes_to(&t, "pager"));
    assert_false(target_routes_to(&t, "op"));
    assert_false(target_routes_to(&t, "opsx"));
    assert_false(target_routes_to(&t, ""));
}

int main(void)
{
    const struct CMUnitTest good[] = {
        cmocka_unit_test_setup_teardown(good_files_and_summary, load_good, free_config),
        cmocka_unit_test_setup_teardown(good_main_target, load_good, free_config),
        cmocka_unit_test_setup_teardown(good_watch_defaults, load_good, free_config),
        cmocka_unit_test_setup_teardown(good_target_overrides, load_good, free_config),
        cmocka_unit_test_setup_teardown(good_second_watch_list, load_good, free_config),
        cmocka_unit_test_setup_teardown(good_webhooks, load_good, free_config),
        cmocka_unit_test_setup_teardown(good_routing, load_good, free_config),
        cmocka_unit_test_setup_teardown(target_equality, load_good, free_config),
        cmocka_unit_test_setup_teardown(webhook_equality, load_good, free_config),
    };
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_singular_summary),
        cmocka_unit_test(good_watch_dedupe),
        cmocka_unit_test(good_glob_skips_main_file),
        cmocka_unit_test(bad_main_file_by_bare_name_read_as_watch_list),
        cmocka_unit_test(bad_both_body_checks),
        cmocka_unit_test(engine_settings),
        cmocka_unit_test(good_timeout_clamped),
        cmocka_unit_test(bad_unknown_keys),
        cmocka_unit_test(bad_types),
        cmocka_unit_test(bad_headers_and_labels),
        cmocka_unit_test(bad_duplicate_target_across_files),
        cmocka_unit_test(bad_duplicate_keys),
        cmocka_unit_test(bad_duplicate_keys_in_value_mappings),
        cmocka_unit_test(bad_urls),
        cmocka_unit_test(bad_durations),
        cmocka_unit_test(bad_integers),
        cmocka_unit_test(bad_cross_field_rules),
        cmocka_unit_test(bad_clamped_timeout_below_max_latency),
        cmocka_unit_test(bad_expect_and_severity),
        cmocka_unit_test(bad_body_regex),
        cmocka_unit_test(good_assertions),
        cmocka_unit_test(bad_assertions),
        cmocka_unit_test(bad_methods),
        cmocka_unit_test(bad_name_and_url_in_defaults),
        cmocka_unit_test(bad_target_without_name_or_url),
        cmocka_unit_test(bad_routes),
        cmocka_unit_test(bad_routes_two_unknown_in_one_list),
        cmocka_unit_test(bad_routes_inherited_reported_once),
        cmocka_unit_test(bad_webhooks),
        cmocka_unit_test(good_slack_webhooks),
        cmocka_unit_test(bad_slack_webhooks),
        cmocka_unit_test(bad_watch_list),
        cmocka_unit_test(bad_root_not_a_mapping),
        cmocka_unit_test(bad_yaml_syntax),
        cmocka_unit_test(bad_empty_files),
        cmocka_unit_test(bad_missing_main_file),
        cmocka_unit_test(bad_two_documents),
        cmocka_unit_test(bad_many_errors_sorted),
        cmocka_unit_test_setup_teardown(secret_credential_good, make_secrets, remove_tmp),
        cmocka_unit_test(secret_credential_without_directory),
        cmocka_unit_test_setup_teardown(secret_credential_bad, make_secrets, remove_tmp),
        cmocka_unit_test_setup_teardown(secret_file, make_secrets, remove_tmp),
        cmocka_unit_test_setup_teardown(header_secrets, make_secrets, remove_tmp),
        cmocka_unit_test(routes_to),
        cmocka_unit_test(client_options),
        cmocka_unit_test(client_options_bad),
        cmocka_unit_test(server_name_from_defaults),
        cmocka_unit_test(ip_version_against_addresses),
        cmocka_unit_test(redact_query_shown),
        cmocka_unit_test(bad_redact_query),
        cmocka_unit_test_setup_teardown(hostile_paths, make_tmp, remove_tmp),
        cmocka_unit_test_setup_teardown(hostile_contents, make_tmp, remove_tmp),
    };
    int failed = 0;

    failed += cmocka_run_group_tests_name("config (good.yaml)", good, NULL, NULL);
    failed += cmocka_run_group_tests_name("config", tests, NULL, NULL);
    return failed ? 1 : 0;
}
