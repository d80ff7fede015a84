/* JSON paths: the syntax, each mistake with its message and position,
 * writing a path back, and walking documents to a value or to the exact
 * reason there is none. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "jpath.h"
#include "util.h"

/* A step as text, to compare parses in one line: "k:name" or "i:3". */
static void steps_text(const struct jpath *p, char *out, size_t len)
{
    size_t off = 0;

    out[0] = '\0';
    for (size_t i = 0; i < p->n && off < len; i++) {
        const struct jpath_step *st = &p->steps[i];
        int n = st->kind == JPATH_KEY
                    ? snprintf(out + off, len - off, "%sk:%s", i ? " " : "", st->key)
                    : snprintf(out + off, len - off, "%si:%lld", i ? " " : "", st->index);
        off += (size_t)n;
    }
}

static void parses(void **state)
{
    static const struct {
        const char *src, *steps, *canonical;
    } cases[] = {
        {"status", "k:status", "status"},
        {"a.b.c", "k:a k:b k:c", "a.b.c"},
        {"checks[0].state", "k:checks i:0 k:state", "checks[0].state"},
        {"checks[-1]", "k:checks i:-1", "checks[-1]"},
        {"[0].name", "i:0 k:name", "[0].name"},
        {"[2][10]", "i:2 i:10", "[2][10]"},
        {"[\"a.b\"]", "k:a.b", "[\"a.b\"]"},
        {"meta[\"build id\"].x", "k:meta k:build id k:x", "meta.build id.x"},
        {"[\"say \\\"hi\\\"\"]", "k:say \"hi\"", "[\"say \\\"hi\\\"\"]"},
        {"[\"back\\\\slash\"]", "k:back\\slash", "back\\slash"},
        {"[\"\"]", "k:", "[\"\"]"},
        {"[\"[0]\"]", "k:[0]", "[\"[0]\"]"},
        {"x-request_id", "k:x-request_id", "x-request_id"},
        {"état.ça", "k:état k:ça", "état.ça"},
        {"a[999999999]", "k:a i:999999999", "a[999999999]"},
    };
    char got[256], back[256], err[128];

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct jpath p;
        print_message("%s\n", cases[i].src);
        assert_int_equal(jpath_parse(cases[i].src, &p, err, sizeof(err)), 0);
        steps_text(&p, got, sizeof(got));
        assert_string_equal(got, cases[i].steps);
        jpath_format(&p, p.n, back, sizeof(back));
        assert_string_equal(back, cases[i].canonical);
        /* What is written back parses to the same steps. */
        struct jpath q;
        assert_int_equal(jpath_parse(back, &q, err, sizeof(err)), 0);
        steps_text(&q, back, sizeof(back));
        assert_string_equal(back, cases[i].steps);
        jpath_free(&q);
        jpath_free(&p);
    }
}

static void refuses(void **state)
{
    static const struct {
        const char *src, *err;
    } cases[] = {
        {"", "the path is empty"},
        {".a", "a key is missing at character 1"},
        {"a.", "a key is missing at character 3"},
        {"a..b", "a key is missing at character 3"},
        {"a.[0]", "a key is missing at character 3"},
        {"a]", "\"]\" at character 2: expected \".\" or \"[\""},
        {"a[0]b", "\"b\" at character 5: expected \".\" or \"[\""},
        {"]", "\"]\" at character 1"},
        {"a[", "\"[\" at character 2 is not closed"},
        {"a[0", "\"[\" at character 2 is not closed"},
        {"a[]", "inside [ ] at character 2: an index (such as 0 or -1) or a key in double quotes"},
        {"a[x]", "inside [ ] at character 2: an index (such as 0 or -1) or a key in double quotes"},
        {"a[-]", "inside [ ] at character 2: an index (such as 0 or -1) or a key in double quotes"},
        {"a[1.5]", "inside [ ] at character 2: an index (such as 0 or -1) or a key in double "
                   "quotes"},
        {"a[1234567890]", "the index at character 3 is too large"},
        {"\"a\"", "a quote at character 1: a quoted key goes in [ ], as [\"a.b\"]"},
        {"[\"a", "the quote at character 2 is not closed"},
        {"[\"a\"", "\"[\" at character 1 is not closed"},
        {"[\"a\"x]", "\"[\" at character 1 is not closed"},
        {"[\"a\\x\"]", "\\ at character 4: inside quotes only \\\" and \\\\ are escapes"},
    };
    char err[160];

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct jpath p;
        print_message("%s\n", cases[i].src);
        assert_int_equal(jpath_parse(cases[i].src, &p, err, sizeof(err)), -1);
        assert_string_equal(err, cases[i].err);
        assert_null(p.steps);
        assert_int_equal(p.n, 0);
    }
    struct jpath p;
    assert_int_equal(jpath_parse("a\tb", &p, err, sizeof(err)), -1);
    assert_string_equal(err, "a control character at character 2");
    assert_int_equal(jpath_parse("\tb", &p, err, sizeof(err)), -1);
    assert_string_equal(err, "a control character at character 1");
    assert_int_equal(jpath_parse("[\"a\nb\"]", &p, err, sizeof(err)), -1);
    assert_string_equal(err, "a control character at character 4");

    /* As deep as any answer goes, and not deeper. */
    struct buf deep = {0};
    for (int i = 0; i < JPATH_MAX_STEPS; i++)
        buf_append(&deep, "[0]", 3);
    assert_int_equal(jpath_parse(deep.data, &p, err, sizeof(err)), 0);
    assert_int_equal(p.n, JPATH_MAX_STEPS);
    jpath_free(&p);
    buf_append(&deep, ".x", 2);
    assert_int_equal(jpath_parse(deep.data, &p, err, sizeof(err)), -1);
    assert_string_equal(err, "more than 64 steps");
    buf_free(&deep);
}

/* The value at path in doc, as compact JSON, or "!" and the reason. */
static void walk(const char *doc_text, const char *path, char *out, size_t len)
{
    json_error_t e;
    json_t *doc = json_loads(doc_text, JSON_DECODE_ANY, &e);
    struct jpath p;
    char err[160];

    assert_non_null(doc);
    assert_int_equal(jpath_parse(path, &p, err, sizeof(err)), 0);
    const json_t *v = jpath_get(&p, doc, err, sizeof(err));
    if (v == NULL) {
        snprintf(out, len, "!%s", err);
    } else {
        char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        snprintf(out, len, "%s", s);
        free(s);
    }
    jpath_free(&p);
    json_decref(doc);
}

static void walks(void **state)
{
    static const char health[] =
        "{\"status\": \"degraded\", \"checks\": [{\"name\": \"db\", \"state\": \"ok\"},"
        " {\"name\": \"cache\", \"state\": \"down\"}], \"meta\": {\"a.b\": {\"c\": [1, 2.5]},"
        " \"empty\": [], \"none\": null, \"\": \"blank\"}}";
    static const struct {
        const char *doc, *path, *want;
    } cases[] = {
        {health, "status", "\"degraded\""},
        {health, "checks[0].state", "\"ok\""},
        {health, "checks[1].name", "\"cache\""},
        {health, "checks[-1].state", "\"down\""},
        {health, "checks[-2].name", "\"db\""},
        {health, "checks",
         "[{\"name\":\"db\",\"state\":\"ok\"},{\"name\":\"cache\","
         "\"state\":\"down\"}]"},
        {health, "meta[\"a.b\"].c[1]", "2.5"},
        {health, "meta.none", "null"},
        {health, "meta[\"\"]", "\"blank\""},
        /* Missing keys, each said where. */
        {health, "state", "!the body has no key \"state\""},
        {health, "checks[0].status", "!checks[0] has no key \"status\""},
        {health, "meta.a.b", "!meta has no key \"a\""},
        {health, "Status", "!the body has no key \"Status\""}, /* case matters */
        /* Indexes out of range. */
        {health, "checks[2]", "!checks has 2 items, no [2]"},
        {health, "checks[-3]", "!checks has 2 items, no [-3]"},
        {health, "meta.empty[0]", "!meta.empty has 0 items, no [0]"},
        {health, "meta[\"a.b\"].c[5]", "!meta[\"a.b\"].c has 2 items, no [5]"},
        {"[1]", "[1]", "!the body has 1 item, no [1]"},
        /* Through something that is neither. */
        {health, "status.code", "!status is a string, not an object"},
        {health, "status[0]", "!status is a string, not an array"},
        {health, "checks.state", "!checks is an array, not an object"},
        {health, "meta[0]", "!meta is an object, not an array"},
        {health, "meta.none.x", "!meta.none is null, not an object"},
        {health, "meta[\"a.b\"].c[0].x", "!meta[\"a.b\"].c[0] is a number, not an object"},
        {"true", "x", "!the body is true, not an object"},
        {"\"ok\"", "[0]", "!the body is a string, not an array"},
        {"[{\"ok\": false}]", "[0].ok", "false"},
    };
    char got[256];

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        walk(cases[i].doc, cases[i].path, got, sizeof(got));
        print_message("%s -> %s\n", cases[i].path, got);
        assert_string_equal(got, cases[i].want);
    }
}

static void kind_names(void **state)
{
    static const struct {
        const char *json, *name;
    } cases[] = {
        {"{}", "an object"}, {"[]", "an array"}, {"\"\"", "a string"}, {"1", "a number"},
        {"1.5", "a number"}, {"true", "true"},   {"false", "false"},   {"null", "null"},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        json_t *v = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
        assert_non_null(v);
        assert_string_equal(jpath_kind_name(v), cases[i].name);
        json_decref(v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses),
        cmocka_unit_test(refuses),
        cmocka_unit_test(walks),
        cmocka_unit_test(kind_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
