/* Content assertions: each passing and failing on bodies and headers as a
 * probe hands them over, with the exact message that names the one that
 * failed, and which failure is reported when several do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "assertion.h"
#include "config.h"
#include "util.h"

#define MAX_ITEMS 8

/* A target with room for its assertions, freed in one place. */
struct fixture {
    struct target_conf t;
    struct header_assertion h[MAX_ITEMS];
    struct json_assertion j[MAX_ITEMS];
    regex_t body_re;
};

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));

    f->t.name = "t";
    f->t.header_matches = f->h;
    f->t.json = f->j;
    f->t.max_body = 1 << 20;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    for (size_t i = 0; i < f->t.nheader_matches; i++)
        assertion_header_free(&f->h[i]);
    for (size_t i = 0; i < f->t.njson; i++)
        assertion_json_free(&f->j[i]);
    if (f->t.body_regex)
        regfree(f->t.body_regex);
    free(f);
    return 0;
}

static void add_header(struct fixture *f, const char *name, const char *pattern)
{
    char err[128];

    assert_true(f->t.nheader_matches < MAX_ITEMS);
    assert_int_equal(
        assertion_header_init(&f->h[f->t.nheader_matches++], name, pattern, err, sizeof(err)), 0);
}

/* path must equal the JSON value written in json. */
static void add_equals(struct fixture *f, const char *path, const char *json)
{
    char err[128];
    struct json_assertion *j = &f->j[f->t.njson];

    assert_true(f->t.njson < MAX_ITEMS);
    assert_int_equal(assertion_json_init(j, path, err, sizeof(err)), 0);
    json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
    assert_non_null(v);
    assertion_json_equals(j, v);
    f->t.njson++;
}

static void add_matches(struct fixture *f, const char *path, const char *pattern)
{
    char err[128];
    struct json_assertion *j = &f->j[f->t.njson];

    assert_true(f->t.njson < MAX_ITEMS);
    assert_int_equal(assertion_json_init(j, path, err, sizeof(err)), 0);
    assert_int_equal(assertion_json_matches(j, pattern, err, sizeof(err)), 0);
    f->t.njson++;
}

static void set_body_regex(struct fixture *f, const char *pattern)
{
    char err[128];

    assert_int_equal(assertion_regcomp(&f->body_re, pattern, err, sizeof(err)), 0);
    f->t.body_regex = &f->body_re;
    f->t.body_regex_src = (char *)pattern;
}

/* Response headers as a site sent them; names compare without case, as
 * curl's lookup does. */
struct headers {
    const char *name[4], *value[4];
    unsigned asked; /* how many lookups were made */
};

static char *header_of(void *arg, const char *name)
{
    struct headers *h = arg;

    h->asked++;
    for (size_t i = 0; i < 4 && h->name[i]; i++)
        if (strcasecmp(h->name[i], name) == 0)
            return xstrdup(h->value[i]);
    return NULL;
}

/* An answer with body text (NULL: none) and headers. */
static struct assertion_answer answer(const char *body, struct headers *h)
{
    struct assertion_answer a = {
        .body = body,
        .len = body ? strlen(body) : 0,
        .header = header_of,
        .arg = h,
    };
    return a;
}

/* Checks a and returns the message ("" when every assertion held). */
static const char *judge(struct fixture *f, const struct assertion_answer *a)
{
    static char msg[256];

    strcpy(msg, "untouched");
    bool ok = assertion_check(&f->t, a, msg, sizeof(msg));
    print_message("-> %s: %s\n", ok ? "ok" : "failed", msg);
    if (ok) {
        assert_string_equal(msg, "untouched"); /* a pass leaves the message alone */
        return "";
    }
    return msg;
}

static const char health_degraded[] =
    "{\"status\": \"degraded\", \"checks\": [{\"name\": \"db\", \"state\": \"ok\"}],"
    " \"version\": \"1.9.2\", \"code\": 200, \"count\": 1.0, \"maintenance\": false,"
    " \"error\": null, \"ratio\": 0.1}";
static const char health_ok[] =
    "{\"status\": \"ok\", \"checks\": [{\"name\": \"db\", \"state\": \"ok\"}],"
    " \"version\": \"2.4.1\", \"code\": 200, \"count\": 1, \"maintenance\": false,"
    " \"error\": null, \"ratio\": 0.1}";

/* ---- which assertions a target has ---- */

static void what_a_target_needs(void **state)
{
    struct fixture *f = *state;
    struct headers h = {{NULL}, {NULL}, 0};
    struct assertion_answer a = answer(NULL, &h);

    assert_false(assertion_any(&f->t));
    assert_string_equal(judge(f, &a), "");
    assert_int_equal(h.asked, 0);

    add_header(f, "X-Health", "^ok$");
    assert_true(assertion_any(&f->t));
    assert_false(assertion_needs_body(&f->t)); /* a header needs no body */
    assert_false(assertion_keeps_body(&f->t));

    f->t.body_contains = "Welcome";
    assert_true(assertion_needs_body(&f->t));
    assert_false(assertion_keeps_body(&f->t)); /* searched as it comes in */

    f->t.body_not_contains = "maintenance";
    assert_true(assertion_keeps_body(&f->t));
    f->t.body_not_contains = NULL;
    add_equals(f, "status", "\"ok\"");
    assert_true(assertion_keeps_body(&f->t));
    f->t.body_contains = NULL;
    assert_true(assertion_needs_body(&f->t));
}

/* ---- header_matches ---- */

static void header_matches(void **state)
{
    struct fixture *f = *state;
    struct headers h = {{"Content-Type", "x-health"}, {"application/json; charset=utf-8", "ok"}, 0};
    struct assertion_answer a = answer(NULL, &h);

    add_header(f, "Content-Type", "^application/json");
    add_header(f, "X-Health", "^ok$");
    assert_string_equal(judge(f, &a), "");
    assert_int_equal(h.asked, 2);

    h.value[1] = "degraded";
    assert_string_equal(judge(f, &a),
                        "header X-Health is \"degraded\", which does not match \"^ok$\"");
    h.value[1] = "OK"; /* the value's case matters */
    assert_string_equal(judge(f, &a), "header X-Health is \"OK\", which does not match \"^ok$\"");

    h.name[1] = NULL;
    assert_string_equal(judge(f, &a), "header X-Health is missing");
    a.header = NULL; /* no way to read headers: none there */
    assert_string_equal(judge(f, &a), "header Content-Type is missing");
}

static void empty_pattern_asks_only_for_the_header(void **state)
{
    struct fixture *f = *state;
    struct headers h = {{"X-Request-Id"}, {""}, 0};
    struct assertion_answer a = answer(NULL, &h);

    add_header(f, "X-Request-Id", "");
    assert_string_equal(judge(f, &a), ""); /* even sent empty */
    h.name[0] = "X-Other";
    assert_string_equal(judge(f, &a), "header X-Request-Id is missing");
}

/* What a site sends is quoted in the message: cut when long, and made
 * text when it is not. */
static void header_values_in_messages(void **state)
{
    struct fixture *f = *state;
    char longval[200], want[256];
    struct headers h = {{"Server"}, {longval}, 0};
    struct assertion_answer a = answer(NULL, &h);

    add_header(f, "Server", "^nginx");
    memset(longval, 'a', sizeof(longval) - 1);
    longval[sizeof(longval) - 1] = '\0';
    snprintf(want, sizeof(want), "header Server is \"%.57s...\", which does not match \"^nginx\"",
             longval);
    assert_string_equal(judge(f, &a), want);

    /* UTF-8, then not, a control, a cut one: U+FFFD for what is not
     * UTF-8, an escape for the control. */
    h.value[0] = "caf\xc3\xa9 \xff\x01 \xe2\x82";
    assert_string_equal(judge(f, &a), "header Server is \"caf\xc3\xa9 \xef\xbf\xbd\\x01 "
                                      "\xef\xbf\xbd\", which does not match \"^nginx\"");
    /* Terminal escapes and line breaks stay off the screen. */
    h.value[0] = "\x1b]0;pwned\x07\r\nX-Injected: 1";
    assert_string_equal(judge(f, &a), "header Server is \"\\x1b]0;pwned\\x07\\r\\nX-Injected: "
                                      "1\", which does not match \"^nginx\"");

    /* A cut never splits a character: 56 bytes, then a 2-byte one. */
    memset(longval, 'b', 56);
    memcpy(longval + 56, "\xc3\xa9xyz", 6);
    h.value[0] = longval;
    snprintf(want, sizeof(want), "header Server is \"%.56s...\", which does not match \"^nginx\"",
             longval);
    assert_string_equal(judge(f, &a), want);
}

/* ---- body_contains, body_regex, body_not_contains ---- */

static void body_contains(void **state)
{
    struct fixture *f = *state;
    struct assertion_answer a = answer("Welcome to the shop", NULL);

    f->t.body_contains = "closed";
    a.found = true;
    assert_string_equal(judge(f, &a), "");
    a.found = false;
    assert_string_equal(judge(f, &a), "no \"closed\" in the 19 bytes of the body");
    a.capped = true;
    assert_string_equal(judge(f, &a), "no \"closed\" in the first 19 bytes of the body");
    a = answer(NULL, NULL);
    assert_string_equal(judge(f, &a), "no \"closed\" in the 0 bytes of the body");
}

static void body_regex(void **state)
{
    struct fixture *f = *state;
    struct assertion_answer a = answer("Welcome to the shop", NULL);

    set_body_regex(f, "^Welcome.*shop$");
    assert_string_equal(judge(f, &a), "");
    regfree(&f->body_re);
    set_body_regex(f, "^shop");
    assert_string_equal(judge(f, &a), "no match for \"^shop\" in the 19 bytes of the body");
}

static void body_not_contains(void **state)
{
    struct fixture *f = *state;
    struct assertion_answer a = answer("All fine here", NULL);

    f->t.body_not_contains = "maintenance";
    assert_string_equal(judge(f, &a), "");
    a = answer("Down for maintenance until 5pm", NULL);
    assert_string_equal(judge(f, &a), "\"maintenance\" found in the body at byte 9");
    a = answer(NULL, NULL); /* no body has nothing in it */
    assert_string_equal(judge(f, &a), "");
    /* Searched byte by byte, past a NUL. */
    static const char binary[] = "\x89PNG\0\0maintenance";
    a.body = binary;
    a.len = sizeof(binary) - 1;
    assert_string_equal(judge(f, &a), "\"maintenance\" found in the body at byte 6");
    /* Only what was read is searched. */
    a.len = 10;
    assert_string_equal(judge(f, &a), "");
}

/* ---- json ---- */

static void json_equals(void **state)
{
    struct fixture *f = *state;
    struct assertion_answer ok = answer(health_ok, NULL);
    struct assertion_answer bad = answer(health_degraded, NULL);

    add_equals(f, "status", "\"ok\"");
    add_equals(f, "checks[0].state", "\"ok\"");
    add_equals(f, "code", "200");
    add_equals(f, "count", "1"); /* 1.0 in the degraded body: the same number */
    add_equals(f, "maintenance", "false");
    add_equals(f, "error", "null");
    assert_string_equal(judge(f, &ok), "");
    assert_string_equal(judge(f, &bad), "json status is \"degraded\", not \"ok\"");
}

static void json_equals_by_type(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *body, *want, *msg;
    } cases[] = {
        {"{\"v\": 1}", "1", ""},
        {"{\"v\": 1.0}", "1", ""},
        {"{\"v\": 1e0}", "1", ""},
        {"{\"v\": 2}", "1", "json v is 2, not 1"},
        {"{\"v\": 0.1}", "0.2", "json v is 0.1, not 0.2"},
        {"{\"v\": 2.4}", "2.40", ""},
        {"{\"v\": \"1\"}", "1", "json v is \"1\", not 1"},
        {"{\"v\": 1}", "\"1\"", "json v is 1, not \"1\""},
        {"{\"v\": true}", "true", ""},
        {"{\"v\": \"true\"}", "true", "json v is \"true\", not true"},
        {"{\"v\": false}", "true", "json v is false, not true"},
        {"{\"v\": null}", "null", ""},
        {"{\"v\": 0}", "null", "json v is 0, not null"},
        {"{\"v\": \"\"}", "null", "json v is \"\", not null"},
        {"{\"v\": \"OK\"}", "\"ok\"", "json v is \"OK\", not \"ok\""},
        {"{\"v\": {\"a\": 1}}", "\"ok\"", "json v is {\"a\":1}, not \"ok\""},
        {"{\"v\": [1, 2]}", "1", "json v is [1,2], not 1"},
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct assertion_answer a = answer(cases[i].body, NULL);
        add_equals(f, "v", cases[i].want);
        print_message("%s against %s\n", cases[i].body, cases[i].want);
        assert_string_equal(judge(f, &a), cases[i].msg);
        assertion_json_free(&f->j[0]);
        f->t.njson = 0;
    }
}

static void json_matches(void **state)
{
    struct fixture *f = *state;
    struct assertion_answer ok = answer(health_ok, NULL);
    struct assertion_answer bad = answer(health_degraded, NULL);

    add_matches(f, "version", "^2\\.");
    add_matches(f, "code", "^2[0-9][0-9]$");          /* a number's text */
    add_matches(f, "checks[-1]", "\"state\":\"ok\""); /* an object's compact JSON */
    add_matches(f, "maintenance", "^false$");
    add_matches(f, "ratio", "^0\\.1$"); /* as written, not 0.10000000000000001 */
    assert_string_equal(judge(f, &ok), "");
    assert_string_equal(judge(f, &bad),
                        "json version is \"1.9.2\", which does not match \"^2\\.\"");
}

static void json_paths_that_lead_nowhere(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *path, *msg;
    } cases[] = {
        {"state", "json state: the body has no key \"state\""},
        {"checks[1].state", "json checks[1].state: checks has 1 item, no [1]"},
        {"checks[0].status", "json checks[0].status: checks[0] has no key \"status\""},
        {"status.code", "json status.code: status is a string, not an object"},
        {"error[0]", "json error[0]: error is null, not an array"},
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct assertion_answer a = answer(health_ok, NULL);
        add_equals(f, cases[i].path, "\"ok\"");
        assert_string_equal(judge(f, &a), cases[i].msg);
        assertion_json_free(&f->j[0]);
        f->t.njson = 0;
    }
}

/* "the body is not JSON: " and the parser's own reason and position. */
static void not_json_message(const char *body, size_t len, char *out, size_t outlen)
{
    json_error_t e;

    assert_null(json_loadb(body, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e));
    snprintf(out, outlen, "the body is not JSON: %s at line %d column %d", e.text, e.line,
             e.column);
}

static void json_body_that_is_not_json(void **state)
{
    struct fixture *f = *state;
    char want[256];
    static const char html[] = "<!doctype html><p>It works";
    static const char third_line[] = "{\n  \"status\": \"ok\",\n  \"checks\": [,]\n}";
    struct assertion_answer a = answer(html, NULL);

    add_equals(f, "status", "\"ok\"");
    not_json_message(html, strlen(html), want, sizeof(want));
    assert_non_null(strstr(want, " at line 1 column 1"));
    assert_string_equal(judge(f, &a), want);

    /* The position is where the parser stopped. */
    a = answer(third_line, NULL);
    not_json_message(third_line, strlen(third_line), want, sizeof(want));
    assert_non_null(strstr(want, " at line 3 column 14"));
    assert_string_equal(judge(f, &a), want);

    /* Cut at max_body, which the message says. */
    a = answer("{\"status\": \"o", NULL);
    a.capped = true;
    not_json_message(a.body, a.len, want, sizeof(want));
    strcat(want, " (max_body: only the first 13 bytes were read)");
    assert_string_equal(judge(f, &a), want);

    /* The parser quotes the body: its control characters are escaped
     * and its bytes that are not UTF-8 replaced. */
    a = answer("{\"a\": \x1b[31m}", NULL);
    assert_string_equal(judge(f, &a),
                        "the body is not JSON: invalid token near '\\x1b' at line 1 column 7");
    a = answer("{\"a\": tru\xff}", NULL);
    assert_string_equal(judge(f, &a), "the body is not JSON: unable to decode byte 0xff near "
                                      "'tru' at line 1 column 9");
    a = answer("{\"a\": \"\xc3\x28\"}", NULL);
    json_t *msg = json_string(judge(f, &a)); /* UTF-8, whatever jansson quoted */
    assert_non_null(msg);
    json_decref(msg);

    /* No body at all, or an empty one. */
    a = answer(NULL, NULL);
    assert_string_equal(judge(f, &a), "the body is not JSON: it is empty");
    a = answer("", NULL);
    assert_string_equal(judge(f, &a), "the body is not JSON: it is empty");

    /* Any JSON value is a document; a path into a scalar leads nowhere. */
    a = answer("true", NULL);
    assert_string_equal(judge(f, &a), "json status: the body is true, not an object");
}

/* ---- several at once ---- */

static void first_failure_is_reported(void **state)
{
    struct fixture *f = *state;
    struct headers h = {{"X-Health"}, {"degraded"}, 0};
    struct assertion_answer a = answer(health_degraded, &h);

    add_header(f, "X-Health", "^ok$");
    f->t.body_not_contains = "degraded";
    add_equals(f, "checks[0].state", "\"ok\""); /* holds */
    add_equals(f, "status", "\"ok\"");
    assert_string_equal(judge(f, &a),
                        "header X-Health is \"degraded\", which does not match \"^ok$\"");
    h.value[0] = "ok";
    assert_string_equal(judge(f, &a), "\"degraded\" found in the body at byte 12");
    f->t.body_not_contains = NULL;
    assert_string_equal(judge(f, &a), "json status is \"degraded\", not \"ok\"");
    f->t.body_contains = "nowhere"; /* the body checks come before json */
    char want[128];
    snprintf(want, sizeof(want), "no \"nowhere\" in the %zu bytes of the body",
             strlen(health_degraded));
    assert_string_equal(judge(f, &a), want);
    a.found = true;
    assert_string_equal(judge(f, &a), "json status is \"degraded\", not \"ok\"");
    a = answer(health_ok, &h);
    a.found = true;
    assert_string_equal(judge(f, &a), "");
}

/* ---- the assertions' data ---- */

static void bad_patterns_and_paths(void **state)
{
    struct header_assertion h;
    struct json_assertion j;
    char err[128];

    (void)state;
    assert_int_equal(assertion_header_init(&h, "X-A", "a[", err, sizeof(err)), -1);
    assert_true(err[0] != '\0');
    assert_null(h.name);
    assert_int_equal(assertion_json_init(&j, "a..b", err, sizeof(err)), -1);
    assert_string_equal(err, "a key is missing at character 3");
    assert_int_equal(assertion_json_init(&j, "a", err, sizeof(err)), 0);
    assert_int_equal(assertion_json_matches(&j, "(", err, sizeof(err)), -1);
    assert_true(err[0] != '\0');
    assertion_json_free(&j);
}

static void same_json_values(void **state)
{
    static const struct {
        const char *a, *b;
        bool same;
    } cases[] = {
        {"1", "1", true},
        {"1", "1.0", true},
        {"0.5", "5e-1", true},
        {"1", "2", false},
        {"1", "\"1\"", false},
        {"true", "true", true},
        {"true", "false", false},
        {"null", "null", true},
        {"null", "false", false},
        {"\"a\"", "\"a\"", true},
        {"\"a\"", "\"A\"", false},
        /* Integers compare exactly, past what a double holds. */
        {"9007199254740993", "9007199254740992", false},
        {"9007199254740993", "9007199254740993", true},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        json_t *a = json_loads(cases[i].a, JSON_DECODE_ANY, NULL);
        json_t *b = json_loads(cases[i].b, JSON_DECODE_ANY, NULL);
        print_message("%s %s\n", cases[i].a, cases[i].b);
        assert_int_equal(assertion_json_same(a, b), cases[i].same);
        assert_int_equal(assertion_json_same(b, a), cases[i].same);
        json_decref(a);
        json_decref(b);
    }
}

/* A copy is equal and independent; reload tells any change apart. */
static void copies_and_equality(void **state)
{
    struct fixture *f = *state;
    struct json_assertion copy;
    char *text;

    add_equals(f, "status", "\"ok\"");
    add_matches(f, "version", "^2");
    add_equals(f, "count", "1");
    add_equals(f, "ratio", "1.0");
    for (size_t i = 0; i < f->t.njson; i++) {
        assertion_json_copy(&copy, &f->j[i]);
        assert_true(assertion_json_equal(&copy, &f->j[i]));
        assertion_json_free(&copy);
    }
    assert_false(assertion_json_equal(&f->j[0], &f->j[1]));
    /* 1 and 1.0 judge alike but are different configurations. */
    assert_false(assertion_json_equal(&f->j[2], &f->j[3]));

    json_t *v = assertion_json_expected(&f->j[1]);
    text = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    assert_string_equal(text, "{\"matches\":\"^2\"}");
    free(text);
    v = assertion_json_expected(&f->j[0]);
    text = json_dumps(v, JSON_ENCODE_ANY);
    json_decref(v);
    assert_string_equal(text, "\"ok\"");
    free(text);

    /* The copied pattern works on its own. */
    assertion_json_copy(&copy, &f->j[1]);
    assertion_json_free(&f->j[1]);
    assert_int_equal(regexec(&copy.re, "2.1", 0, NULL, 0), 0);
    assert_int_equal(regexec(&copy.re, "1.2", 0, NULL, 0), REG_NOMATCH);
    assert_string_equal(copy.path_src, "version");
    f->j[1] = copy; /* the slot back, for teardown */

    struct header_assertion a, b;
    char err[64];
    assert_int_equal(assertion_header_init(&a, "X-A", "^a", err, sizeof(err)), 0);
    assert_int_equal(assertion_header_init(&b, "X-A", "^b", err, sizeof(err)), 0);
    assert_false(assertion_header_equal(&a, &b));
    assertion_header_free(&b);
    assert_int_equal(assertion_header_init(&b, "X-A", "^a", err, sizeof(err)), 0);
    assert_true(assertion_header_equal(&a, &b));
    assertion_header_free(&a);
    assertion_header_free(&b);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(what_a_target_needs),
        T(header_matches),
        T(empty_pattern_asks_only_for_the_header),
        T(header_values_in_messages),
        T(body_contains),
        T(body_regex),
        T(body_not_contains),
        T(json_equals),
        T(json_equals_by_type),
        T(json_matches),
        T(json_paths_that_lead_nowhere),
        T(json_body_that_is_not_json),
        T(first_failure_is_reported),
        cmocka_unit_test(bad_patterns_and_paths),
        cmocka_unit_test(same_json_values),
        T(copies_and_equality),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
