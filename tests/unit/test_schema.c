/* The schema tables are the truth: every row's default parses and shows
 * as written, a change of any one key of a target or webhook makes a
 * reload see it (and restart the probe only for keys flagged so), and the
 * JSON Schema and the dump carry every row. Values are driven from the
 * rows themselves, so a new row is tested without a new test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "duration.h"
#include "schema.h"
#include "size.h"
#include "tmpdir.h"

/* Certificates and keys: see data/tls/README. */
#define TLS      UPMON_TEST_DATA "/tls"
#define SECRET_A "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SECRET_B "whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldA=="

/* The two secrets the webhook keys are loaded with. */
static int make_secrets(void **state)
{
    if (make_tmp(state) < 0)
        return -1;
    struct tmp *s = *state;
    write_file(s->dir, "a.secret", SECRET_A "\n");
    write_file(s->dir, "b.secret", SECRET_B "\n");
    /* The client keys, as credentials. */
    for (char n = 'a'; n <= 'b'; n++) {
        char from[256], to[128];
        snprintf(from, sizeof(from), "%s/key-%c.pem", TLS, n);
        snprintf(to, sizeof(to), "%s/key-%c.pem", s->dir, n);
        if (symlink(from, to) != 0)
            return -1;
    }
    return 0;
}

/* ---- defaults ---- */

/* What a row's default must show as in the dump and the JSON Schema. */
static json_t *expected_default(const struct opt *o)
{
    char err[128], buf[32];
    uint64_t ms;

    switch (o->type) {
    case OPT_BOOL:
        return json_boolean(strcmp(o->def, "true") == 0);
    case OPT_UINT:
        return json_integer(strtoll(o->def, NULL, 10));
    case OPT_DURATION:
        assert_int_equal(duration_parse(o->def, &ms, err, sizeof(err)), 0);
        duration_format(ms, buf, sizeof(buf));
        return json_string(buf);
    case OPT_SIZE:
        assert_int_equal(size_parse(o->def, &ms, err, sizeof(err)), 0);
        size_format(ms, buf, sizeof(buf));
        return json_string(buf);
    case OPT_FLAGS: {
        json_t *a = json_array();
        assert_string_equal(o->def, "all");
        for (unsigned i = 0; i < o->choices->set->count; i++)
            json_array_append_new(a, json_string(o->choices->set->name[i]));
        return a;
    }
    default:
        return json_string(o->def);
    }
}

static void check_defaults(const struct schema_level *l, void *base)
{
    schema_defaults(l, base);
    json_t *values = schema_values(l, base);
    for (unsigned i = 0; i < l->n; i++) {
        const struct opt *o = &l->opts[i];
        json_t *got = json_object_get(values, o->name);
        if (o->type == OPT_NODE)
            continue;
        assert_non_null(got);
        if (o->def == NULL)
            continue;
        json_t *want = expected_default(o);
        if (!json_equal(got, want)) {
            char *g = json_dumps(got, JSON_ENCODE_ANY), *w = json_dumps(want, JSON_ENCODE_ANY);
            print_message("%s.%s: default shows as %s, not %s\n", l->name, o->name, g, w);
            free(g);
            free(w);
            fail();
        }
        json_decref(want);
    }
    json_decref(values);
    schema_clear(l, base);
}

static void defaults_show_as_written(void **state)
{
    struct target_conf t = {0};
    struct webhook_conf w = {0};
    struct config c = {0};

    (void)state;
    check_defaults(&schema_target, &t);
    check_defaults(&schema_webhook, &w);
    check_defaults(&schema_engine, &c);
    check_defaults(&schema_alerts, &c);
    /* One user agent, defined once, with the version. */
    schema_defaults(&schema_engine, &c);
    assert_string_equal(c.user_agent, "upmon/" UPMON_VERSION);
    schema_clear(&schema_engine, &c);
}

/* ---- reload equality, row by row ---- */

/* Two values of a key that differ, as YAML. Plain keys take them from the
 * row; a compound key must be listed here, so a new one fails this test
 * until it is. */
#define SAMPLE_MAX 512

static void sample_values(const struct opt *o, char *a, char *b, size_t len)
{
    static const struct {
        const char *name, *a, *b;
    } custom[] = {
        {"headers", "{X-A: '1'}", "{X-A: '2'}"},
        {"expect", "[200]", "[201]"},
        {"severity", "{404: ok}", "{404: warning}"},
        {"body_regex", "'^a'", "'^b'"},
        {"header_matches", "{X-A: '^a'}", "{X-A: '^b'}"},
        {"json", "{status: ok}", "{status: {matches: ok}}"},
        {"labels", "{team: a}", "{team: b}"},
        {"redact_query", "[code]", "[code, state]"},
        {"webhooks", "[]", "[hook]"},
        {"secret_file", "a.secret", "b.secret"},
        {"secret_credential", "a.secret", "b.secret"},
        {"routing_key_file", "a.secret", "b.secret"},
        {"routing_key_credential", "a.secret", "b.secret"},
        {"password_file", "a.secret", "b.secret"},
        {"password_credential", "a.secret", "b.secret"},
        {"from", "a@example.com", "b@example.com"},
        {"to", "a@example.com", "[a@example.com, b@example.com]"},
        {"flap_window", "20", "21"}, /* not under the default flap_threshold */
        {"ca_file", TLS "/cert-a.pem", TLS "/cert-b.pem"},
        {"ca_path", TLS, UPMON_TEST_DATA "/config"},
        /* A certificate comes with its key, and a key with its certificate. */
        {"client_cert", TLS "/cert-a.pem\n    client_key: " TLS "/key-a.pem",
         TLS "/cert-b.pem\n    client_key: " TLS "/key-b.pem"},
        {"client_key", TLS "/key-a.pem\n    client_cert: " TLS "/cert-a.pem",
         TLS "/key-b.pem\n    client_cert: " TLS "/cert-b.pem"},
        {"client_key_credential", "key-a.pem\n    client_cert: " TLS "/cert-a.pem",
         "key-b.pem\n    client_cert: " TLS "/cert-b.pem"},
        {"basic_auth", "{username: u, password_file: a.secret}",
         "{username: u, password_credential: b.secret}"},
        {"connect_to", "'127.0.0.1:8080'", "'[::1]'"},
        {"proxy", "'http://127.0.0.1:3128'", "'socks5h://127.0.0.1:1080'"},
        {"tls_server_name", "a.example", "b.example"},
        {"name", "a", "b"},
        {"url", "'http://127.0.0.1/a'", "'http://127.0.0.1/b'"},
        {"icon_url", "'http://127.0.0.1/a.png'", "'http://127.0.0.1/b.png'"},
        {"icon_emoji", "':a:'", "':b:'"},
        {"maintenance", "[{start: '02:00', duration: 1h}]",
         "[{from: '2025-06-01T00:00:00Z', until: '2025-06-01T01:00:00Z'}]"},
        {"depends_on", "[]", "[gw]"}, /* load_with's second target */
    };

    for (size_t i = 0; i < ARRAY_SIZE(custom); i++) {
        if (strcmp(o->name, custom[i].name) == 0) {
            snprintf(a, len, "%s", custom[i].a);
            snprintf(b, len, "%s", custom[i].b);
            return;
        }
    }
    switch (o->type) {
    case OPT_STRING:
    case OPT_TEXT:
        if (o->choices) {
            snprintf(a, len, "%s", o->choices->set->name[0]);
            snprintf(b, len, "%s", o->choices->set->name[1]);
        } else {
            snprintf(a, len, "x");
            snprintf(b, len, "y");
        }
        return;
    case OPT_BOOL:
        snprintf(a, len, "true");
        snprintf(b, len, "false");
        return;
    case OPT_UINT:
        snprintf(a, len, "%llu", (unsigned long long)o->min);
        snprintf(b, len, "%llu", (unsigned long long)o->min + 1);
        return;
    case OPT_DURATION:
        snprintf(a, len, "%llums", (unsigned long long)o->min);
        snprintf(b, len, "%llums", (unsigned long long)o->min + 1);
        return;
    case OPT_SIZE:
        snprintf(a, len, "%llu", (unsigned long long)o->min);
        snprintf(b, len, "%llu", (unsigned long long)o->min + 1);
        return;
    case OPT_ENUM:
        snprintf(a, len, "%s", o->choices->set->name[0]);
        snprintf(b, len, "%s", o->choices->set->name[1]);
        return;
    case OPT_FLAGS:
        snprintf(a, len, "[%s]", o->choices->set->name[0]);
        snprintf(b, len, "[%s]", o->choices->set->name[1]);
        return;
    default:
        fail_msg("no sample values for %s: add them to sample_values()", o->name);
    }
}

/* Loads a main file with one webhook and two targets; `key: value` is
 * given to the first target, or to the webhook. The second, gw, is there
 * to be depended on. */
/* The webhook keys that only a slack-format body carries. */
static bool slack_only(const char *key)
{
    return strcmp(key, "username") == 0 || strcmp(key, "icon_url") == 0 ||
           strcmp(key, "icon_emoji") == 0;
}

/* What a webhook needs besides key for key to apply: its format and the
 * keys that format requires (not key itself). */
static void webhook_context(const char *key, char *out, size_t len)
{
    static const char *const email[] = {"from", "to", "starttls", "password_file",
                                        "password_credential"};
    bool is_email = false;

    for (size_t i = 0; i < ARRAY_SIZE(email); i++)
        is_email |= strcmp(key, email[i]) == 0;
    if (slack_only(key))
        snprintf(out, len, "      format: slack\n");
    else if (strncmp(key, "routing_key_", 12) == 0)
        snprintf(out, len, "      format: pagerduty\n");
    else if (is_email)
        snprintf(out, len, "      format: email\n%s%s%s",
                 strcmp(key, "from") ? "      from: upmon@example.com\n" : "",
                 strcmp(key, "to") ? "      to: ops@example.com\n" : "",
                 strncmp(key, "password_", 9) == 0 ? "      username: u\n" : "");
    else
        out[0] = '\0';
}

static struct config *load_with(struct tmp *s, const char *key, const char *value, bool webhook)
{
    const char *name[2] = {"t", "hook"};
    const char *url[2] = {"'http://127.0.0.1/'", "'http://127.0.0.1/hook'"};
    const char *extra[2] = {"", ""};
    char text[4096], path[128], line[SAMPLE_MAX + 256], context[256] = "";
    struct diags d = {0};

    if (webhook)
        webhook_context(key, context, sizeof(context));
    snprintf(line, sizeof(line), "%s%s: %s\n%s", webhook ? "      " : "    ", key, value, context);
    if (strstr(context, "format: email"))
        url[1] = "'smtp://127.0.0.1:2525'";
    if (strcmp(key, "name") == 0)
        name[webhook] = value;
    else if (strcmp(key, "url") == 0)
        url[webhook] = value;
    else
        extra[webhook] = line;
    if (strcmp(key, "tls_server_name") == 0)
        url[0] = "'https://127.0.0.1/'";
    snprintf(text, sizeof(text),
             "alerts:\n"
             "  webhooks:\n"
             "    - name: %s\n"
             "      url: %s\n"
             "%s"
             "targets:\n"
             "  - name: gw\n"
             "    url: 'http://127.0.0.1/gw'\n"
             "  - name: %s\n"
             "    url: %s\n"
             "%s",
             name[1], url[1], extra[1], name[0], url[0], extra[0]);
    write_file(s->dir, "main.yaml", text);
    snprintf(path, sizeof(path), "%s/main.yaml", s->dir);
    struct config *cfg = config_load(path, &s->env, &d);
    for (size_t i = 0; i < d.n; i++)
        print_message("%s=%s: %s\n", key, value, d.msgs[i]);
    diags_free(&d);
    assert_non_null(cfg);
    return cfg;
}

/* The keys that change only how answers are judged and alerted, never
 * the request or its plan (retry_interval adds runs between the plan's,
 * read as each result comes): a reload keeps the probe for these alone. A
 * second statement of the flags, on purpose: a key wrongly left without
 * OPT_PROBE would keep sending the old request after a reload. */
static bool judged_only(const char *key)
{
    static const char *const keys[] = {
        "name",         "expect",         "severity",          "max_latency",
        "labels",       "webhooks",       "failure_threshold", "recovery_threshold",
        "remind_every", "flap_threshold", "flap_window",       "header_matches",
        "redact_query", "maintenance",    "depends_on",        "retry_interval",
    };

    for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
        if (strcmp(keys[i], key) == 0)
            return true;
    return false;
}

static void every_target_key_is_seen_by_reload(void **state)
{
    struct tmp *s = *state;
    char a[SAMPLE_MAX], b[SAMPLE_MAX];

    for (unsigned i = 0; i < schema_target.n; i++) {
        const struct opt *o = &schema_target.opts[i];
        sample_values(o, a, b, sizeof(a));
        struct config *x = load_with(s, o->name, a, false);
        struct config *y = load_with(s, o->name, b, false);
        assert_int_equal(x->ntargets, 2);
        assert_int_equal(y->ntargets, 2);
        bool equal = target_conf_equal(&x->targets[1], &y->targets[1]);
        bool probe_equal = target_conf_probe_equal(&x->targets[1], &y->targets[1]);
        if (equal || probe_equal != !(o->flags & OPT_PROBE))
            print_message("target key %s (%s / %s): equal %d, probe equal %d\n", o->name, a, b,
                          equal, probe_equal);
        assert_false(equal);
        /* Only keys that change the request restart the probe. */
        assert_int_equal(probe_equal, !(o->flags & OPT_PROBE));
        assert_int_equal(probe_equal, judged_only(o->name));
        /* Loaded again, the same value is equal. */
        struct config *z = load_with(s, o->name, a, false);
        assert_true(target_conf_equal(&x->targets[1], &z->targets[1]));
        config_free(x);
        config_free(y);
        config_free(z);
    }
}

static void every_webhook_key_is_seen_by_reload(void **state)
{
    struct tmp *s = *state;
    char a[SAMPLE_MAX], b[SAMPLE_MAX];

    for (unsigned i = 0; i < schema_webhook.n; i++) {
        const struct opt *o = &schema_webhook.opts[i];
        sample_values(o, a, b, sizeof(a));
        struct config *x = load_with(s, o->name, a, true);
        struct config *y = load_with(s, o->name, b, true);
        assert_int_equal(x->nwebhooks, 1);
        if (webhook_conf_equal(&x->webhooks[0], &y->webhooks[0]))
            print_message("webhook key %s (%s / %s) is not seen\n", o->name, a, b);
        assert_false(webhook_conf_equal(&x->webhooks[0], &y->webhooks[0]));
        struct config *z = load_with(s, o->name, a, true);
        assert_true(webhook_conf_equal(&x->webhooks[0], &z->webhooks[0]));
        config_free(x);
        config_free(y);
        config_free(z);
    }
}

/* ---- the JSON Schema and the dump carry every row ---- */

static void check_props(const struct schema_level *l, json_t *props, bool defaults)
{
    size_t want = 0;

    assert_non_null(props);
    for (unsigned i = 0; i < l->n; i++) {
        const struct opt *o = &l->opts[i];
        json_t *p = json_object_get(props, o->name);
        if (defaults && (o->flags & OPT_NO_DEFAULTS)) {
            assert_null(p);
            continue;
        }
        if (p == NULL)
            print_message("%s.%s missing from the JSON Schema\n", l->name, o->name);
        assert_non_null(p);
        const char *doc = json_string_value(json_object_get(p, "description"));
        assert_non_null(doc);
        assert_int_equal(strncmp(doc, o->doc, strlen(o->doc)), 0);
        want++;
    }
    assert_int_equal(json_object_size(props), want);
}

static void json_schema_has_every_row(void **state)
{
    (void)state;
    json_t *main = config_json_schema(false), *watch = config_json_schema(true);

    json_t *mp = json_object_get(main, "properties");
    check_props(&schema_main, mp, false);
    check_props(&schema_watch, json_object_get(watch, "properties"), false);
    check_props(
        &schema_target,
        json_object_get(json_object_get(json_object_get(mp, "targets"), "items"), "properties"),
        false);
    check_props(&schema_target, json_object_get(json_object_get(mp, "defaults"), "properties"),
                true);
    check_props(&schema_engine, json_object_get(json_object_get(mp, "engine"), "properties"),
                false);
    json_t *alerts = json_object_get(json_object_get(mp, "alerts"), "properties");
    check_props(&schema_alerts, alerts, false);
    check_props(&schema_webhook,
                json_object_get(json_object_get(json_object_get(alerts, "webhooks"), "items"),
                                "properties"),
                false);
    /* Unknown keys are errors to the loader, and so to editors. */
    assert_true(json_is_false(json_object_get(main, "additionalProperties")));
    json_decref(main);
    json_decref(watch);
}

static void dump_has_every_row_and_hides_secrets(void **state)
{
    struct tmp *s = *state;
    struct config *cfg = load_with(s, "secret_file", "a.secret", true);
    json_t *v = config_values(cfg);
    json_t *t = json_array_get(json_object_get(v, "targets"), 0);
    json_t *w = json_array_get(json_object_get(json_object_get(v, "alerts"), "webhooks"), 0);

    for (unsigned i = 0; i < schema_target.n; i++)
        assert_non_null(json_object_get(t, schema_target.opts[i].name));
    for (unsigned i = 0; i < schema_webhook.n; i++)
        assert_non_null(json_object_get(w, schema_webhook.opts[i].name));
    assert_string_equal(json_string_value(json_object_get(w, "secret_file")), "a.secret");
    char *text = json_dumps(v, 0);
    assert_null(strstr(text, SECRET_A + 6));
    free(text);
    json_decref(v);
    config_free(cfg);
}

/* Messages the rows produce on their own: a hint only when it shares
 * something with the word, the choices otherwise; no empty strings. */
static void row_messages(void **state)
{
    struct tmp *s = *state;
    char path[128], want[3][256];
    struct diags d = {0};

    write_file(s->dir, "rows.yaml",
               "targets:\n"
               "  - {name: a, url: 'http://127.0.0.1/', ip_version: 0}\n"
               "  - {name: b, url: 'http://127.0.0.1/', ip_version: '6 '}\n"
               "  - {name: c, url: 'http://127.0.0.1/', body_contains: ''}\n");
    snprintf(path, sizeof(path), "%s/rows.yaml", s->dir);
    snprintf(want[0], sizeof(want[0]), "%s:2:53: unknown IP version \"0\" (use any, 4 or 6)", path);
    snprintf(want[1], sizeof(want[1]), "%s:3:53: unknown IP version \"6 \" (use any, 4 or 6)",
             path);
    snprintf(want[2], sizeof(want[2]), "%s:4:56: body_contains needs a value", path);
    assert_null(config_load(path, &s->env, &d));
    for (size_t i = 0; i < d.n; i++)
        print_message("got: %s\n", d.msgs[i]);
    assert_int_equal(d.n, 3);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(d.msgs[i], want[i]);
    diags_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_show_as_written),
        cmocka_unit_test(every_target_key_is_seen_by_reload),
        cmocka_unit_test(every_webhook_key_is_seen_by_reload),
        cmocka_unit_test(json_schema_has_every_row),
        cmocka_unit_test(dump_has_every_row_and_hides_secrets),
        cmocka_unit_test(row_messages),
    };
    return cmocka_run_group_tests(tests, make_secrets, remove_tmp);
}
