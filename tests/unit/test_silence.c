/* Silences: requests read and refused, the matching, the JSON, and the
 * API's handlers on a view built by hand whose hands to add and expire
 * are fakes that keep the list as the daemon would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "route.h"
#include "silence.h"

#define T0   1710028800000LL /* 2024-03-10T00:00:00.000Z */
#define HOUR (3600 * 1000LL)

static struct kv web[] = {{"team", "web", false}, {"env", "prod", false}};
static struct kv ops[] = {{"team", "ops", false}};
static struct target_conf confs[3];
static struct view_target vts[3];
static struct view view;
static struct silence list[8];
static size_t nlist;
static uint64_t next_id = 1;
static int expire_status; /* what the fake expire answers when set */

static int fake_add(void *silencer, struct silence *s, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    assert_ptr_equal(silencer, &view);
    s->id = next_id++;
    silence_copy(&list[nlist++], s);
    view.nsilences = nlist;
    return 0;
}

static int fake_expire(void *silencer, uint64_t id, char *err, size_t errlen)
{
    assert_ptr_equal(silencer, &view);
    if (expire_status) {
        errbuf_set(err, errlen, "ended already");
        return expire_status;
    }
    for (size_t i = 0; i < nlist; i++)
        if (list[i].id == id) {
            list[i].end_ms = view.now_ms;
            list[i].expired = true;
        }
    return 0;
}

static int setup(void **state)
{
    (void)state;
    memset(confs, 0, sizeof(confs));
    confs[0] = (struct target_conf){.name = "shop", .labels = web, .nlabels = 2};
    confs[1] = (struct target_conf){.name = "blog", .labels = ops, .nlabels = 1};
    confs[2] = (struct target_conf){.name = "api"};
    for (size_t i = 0; i < 3; i++)
        vts[i] = (struct view_target){.conf = &confs[i]};
    view = (struct view){.targets = vts,
                         .ntargets = 3,
                         .now_ms = T0,
                         .silences = list,
                         .silencer = &view,
                         .silence_add = fake_add,
                         .silence_expire = fake_expire};
    nlist = 0;
    next_id = 1;
    expire_status = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < nlist; i++)
        silence_free(&list[i]);
    nlist = 0;
    return 0;
}

static int parse(const char *body, struct silence *s, char *err, size_t errlen)
{
    return silence_parse(body, strlen(body), T0, s, err, errlen);
}

static void requests_read(void **state)
{
    struct silence s;
    char err[256];
    (void)state;

    assert_int_equal(parse("{\"target\": \"shop\", \"duration\": \"2h\", \"comment\": \"deploy\"}",
                           &s, err, sizeof(err)),
                     0);
    assert_string_equal(s.target, "shop");
    assert_int_equal(s.nlabels, 0);
    assert_string_equal(s.comment, "deploy");
    assert_int_equal(s.start_ms, T0);
    assert_int_equal(s.end_ms, T0 + 2 * HOUR);
    assert_false(s.expired);
    silence_free(&s);

    assert_int_equal(parse("{\"labels\": {\"team\": \"web\", \"env\": \"prod\"}, \"duration\": "
                           "\"1m\", \"comment\": \"\xc3\xbc \\\\ ok\"}",
                           &s, err, sizeof(err)),
                     0);
    assert_null(s.target);
    assert_int_equal(s.nlabels, 2);
    assert_string_equal(s.labels[1].key, "env");
    assert_string_equal(s.labels[1].value, "prod");
    assert_int_equal(s.end_ms, T0 + 60000);
    char *text = silence_labels_text(&s);
    assert_string_equal(text, "{\"env\":\"prod\",\"team\":\"web\"}");
    struct silence back = {0};
    assert_int_equal(silence_labels_parse(text, &back), 0);
    assert_int_equal(back.nlabels, 2);
    assert_true(silence_matches(&back, &confs[0]));
    silence_free(&back);
    free(text);
    silence_free(&s);
    assert_int_equal(silence_labels_parse("[1]", &back), -1);
    assert_int_equal(silence_labels_parse("{}", &back), -1);
    silence_free(&back);
}

static void requests_refused(void **state)
{
    static const struct {
        const char *body, *why;
    } bad[] = {
        {"", "JSON object"},
        {"[]", "JSON object"},
        {"{\"target\": \"shop\", \"target\": \"blog\", \"duration\": \"1h\", \"comment\": \"x\"}",
         "JSON object"},
        {"{\"duration\": \"1h\", \"comment\": \"x\"}", "either"},
        {"{\"target\": \"shop\", \"labels\": {\"a\": \"b\"}, \"duration\": \"1h\", \"comment\": "
         "\"x\"}",
         "either"},
        {"{\"target\": \"\", \"duration\": \"1h\", \"comment\": \"x\"}", "target"},
        {"{\"target\": 3, \"duration\": \"1h\", \"comment\": \"x\"}", "target"},
        {"{\"target\": \"a\\u0001b\", \"duration\": \"1h\", \"comment\": \"x\"}", "target"},
        {"{\"labels\": {}, \"duration\": \"1h\", \"comment\": \"x\"}", "labels"},
        {"{\"labels\": {\"1a\": \"b\"}, \"duration\": \"1h\", \"comment\": \"x\"}", "label name"},
        {"{\"labels\": {\"a-b\": \"b\"}, \"duration\": \"1h\", \"comment\": \"x\"}", "label name"},
        {"{\"labels\": {\"a\": 1}, \"duration\": \"1h\", \"comment\": \"x\"}", "value of label a"},
        {"{\"labels\": {\"a\": \"x\\ty\"}, \"duration\": \"1h\", \"comment\": \"x\"}",
         "value of label a"},
        {"{\"target\": \"shop\", \"duration\": \"59s\", \"comment\": \"x\"}", "duration"},
        {"{\"target\": \"shop\", \"duration\": \"30d1s\", \"comment\": \"x\"}", "duration"},
        {"{\"target\": \"shop\", \"duration\": 3600, \"comment\": \"x\"}", "duration"},
        {"{\"target\": \"shop\", \"duration\": \"soon\", \"comment\": \"x\"}", "duration"},
        {"{\"target\": \"shop\", \"duration\": \"1h\"}", "comment"},
        {"{\"target\": \"shop\", \"duration\": \"1h\", \"comment\": \"\"}", "comment"},
        {"{\"target\": \"shop\", \"duration\": \"1h\", \"comment\": \"a\\nb\"}", "comment"},
        {"{\"target\": \"shop\", \"duration\": \"1h\", \"comment\": \"\xff\"}", "JSON object"},
        {"{\"target\": \"shop\", \"duration\": \"1h\", \"comment\": \"x\", \"by\": \"me\"}",
         "unknown key"},
    };
    struct silence s;
    char err[256];
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (parse(bad[i].body, &s, err, sizeof(err)) != -1 || strstr(err, bad[i].why) == NULL)
            fail_msg("%s: got \"%s\", wanted \"%s\"", bad[i].body, err, bad[i].why);
        assert_null(s.target);
        assert_null(s.comment);
    }
    /* A comment just long enough, and one byte over. */
    char body[512], comment[SILENCE_COMMENT_MAX + 2];
    memset(comment, 'c', sizeof(comment) - 1);
    comment[SILENCE_COMMENT_MAX] = '\0';
    snprintf(body, sizeof(body), "{\"target\": \"a\", \"duration\": \"30d\", \"comment\": \"%s\"}",
             comment);
    assert_int_equal(parse(body, &s, err, sizeof(err)), 0);
    silence_free(&s);
    comment[SILENCE_COMMENT_MAX] = 'c';
    comment[SILENCE_COMMENT_MAX + 1] = '\0';
    snprintf(body, sizeof(body), "{\"target\": \"a\", \"duration\": \"30d\", \"comment\": \"%s\"}",
             comment);
    assert_int_equal(parse(body, &s, err, sizeof(err)), -1);
    /* Over the size a request may have, whatever it says. */
    char *big = calloc(1, SILENCE_BODY_MAX + 2);
    memset(big, ' ', SILENCE_BODY_MAX + 1);
    assert_int_equal(silence_parse(big, SILENCE_BODY_MAX + 1, T0, &s, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "over"));
    free(big);
}

static void matching(void **state)
{
    struct silence_label team_web = {"team", "web"}, env_dev[] = {{"team", "web"}, {"env", "dev"}};
    struct silence ss[] = {
        {.id = 1, .target = "shop", .start_ms = T0, .end_ms = T0 + HOUR},
        {.id = 2, .labels = &team_web, .nlabels = 1, .start_ms = T0, .end_ms = T0 + 2 * HOUR},
        {.id = 3, .labels = env_dev, .nlabels = 2, .start_ms = T0, .end_ms = T0 + 3 * HOUR},
        {.id = 4, .target = "blog", .start_ms = T0, .end_ms = T0 + HOUR, .expired = true},
        {.id = 5, .start_ms = T0, .end_ms = T0 + 9 * HOUR}, /* selects nothing: matches none */
    };
    (void)state;

    assert_true(silence_matches(&ss[0], &confs[0]));
    assert_false(silence_matches(&ss[0], &confs[1]));
    assert_true(silence_matches(&ss[1], &confs[0]));
    assert_false(silence_matches(&ss[1], &confs[1]));
    assert_false(silence_matches(&ss[1], &confs[2]));
    assert_false(silence_matches(&ss[2], &confs[0])); /* every label must match */
    assert_false(silence_matches(&ss[4], &confs[2]));
    /* The one that ends last holds; ended ones and those not yet begun
     * hold nothing. */
    assert_ptr_equal(silence_holding(ss, 5, &confs[0], T0), &ss[1]);
    assert_ptr_equal(silence_holding(ss, 5, &confs[0], T0 + HOUR + 1), &ss[1]);
    assert_null(silence_holding(ss, 5, &confs[0], T0 + 2 * HOUR));
    assert_null(silence_holding(ss, 5, &confs[0], T0 - 1));
    assert_ptr_equal(silence_holding(ss, 5, &confs[1], T0), &ss[3]);
    assert_null(silence_holding(ss, 5, &confs[2], T0));

    json_t *ids = silence_ids_json(ss, 5, &confs[0], T0);
    char *s = json_dumps(ids, JSON_COMPACT);
    assert_string_equal(s, "[1,2]");
    free(s);
    json_decref(ids);
    json_t *o = silence_json(&ss[3], T0 + HOUR);
    s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(s, "{\"comment\":\"\",\"end\":\"2024-03-10T01:00:00.000Z\",\"id\":4,"
                           "\"labels\":null,\"start\":\"2024-03-10T00:00:00.000Z\",\"state\":"
                           "\"expired\",\"target\":\"blog\"}");
    free(s);
    json_decref(o);
}

/* A request through the route table, as httpd.c makes it. */
static json_t *ask(enum hmethod method, const char *target, const char *body, int want)
{
    static struct route_match m;
    char err[128];
    struct hreply rp = {.status = 200};

    assert_int_equal(route_find(target, &m, err, sizeof(err)), 0);
    assert_true(route_writes(m.route) || method == HM_GET);
    struct hrequest rq = {.path = m.path,
                          .tail = m.tail,
                          .query = &m.query,
                          .accept = "",
                          .trusted = true,
                          .method = method,
                          .body = body,
                          .body_len = body ? strlen(body) : 0};
    m.route->handler(&view, &rq, &rp);
    if (rp.status != want)
        fail_msg("%s: %d, wanted %d: %s", target, rp.status, want, rp.body.data);
    assert_string_equal(rp.content_type, "application/json");
    json_t *o = json_loadb(rp.body.data, rp.body.len, 0, NULL);
    assert_non_null(o);
    buf_free(&rp.body);
    return o;
}

static void api(void **state)
{
    (void)state;

    /* Only the silence routes take writes. */
    struct route_match m;
    char err[128];
    assert_int_equal(route_find("/api/v1/targets", &m, err, sizeof(err)), 0);
    assert_false(route_writes(m.route));

    json_t *o =
        ask(HM_POST, "/api/v1/silences",
            "{\"labels\": {\"team\": \"web\"}, \"duration\": \"1h\", \"comment\": \"x\"}", 201);
    assert_int_equal(json_integer_value(json_object_get(o, "id")), 1);
    assert_int_equal(json_integer_value(json_object_get(o, "matching")), 1);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "active");
    json_decref(o);
    assert_int_equal(nlist, 1);
    assert_string_equal(list[0].labels[0].value, "web");

    o = ask(HM_POST, "/api/v1/silences",
            "{\"target\": \"nope\", \"duration\": \"1h\", \"comment\": \"x\"}", 422);
    assert_string_equal(json_string_value(json_object_get(o, "error")),
                        "no such target is enabled");
    json_decref(o);
    o = ask(HM_POST, "/api/v1/silences",
            "{\"labels\": {\"team\": \"qa\"}, \"duration\": \"1h\", \"comment\": \"x\"}", 422);
    json_decref(o);
    o = ask(HM_POST, "/api/v1/silences", "{\"target\": \"shop\"}", 400);
    json_decref(o);
    o = ask(HM_DELETE, "/api/v1/silences", NULL, 405);
    json_decref(o);
    assert_int_equal(nlist, 1);

    o = ask(HM_GET, "/api/v1/silences", NULL, 200);
    json_t *a = json_object_get(o, "silences");
    assert_int_equal(json_array_size(a), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(a, 0), "id")), 1);
    json_decref(o);
    o = ask(HM_GET, "/api/v1/silences/1", NULL, 200);
    assert_string_equal(json_string_value(json_object_get(o, "comment")), "x");
    json_decref(o);
    json_decref(ask(HM_GET, "/api/v1/silences/2", NULL, 404));
    json_decref(ask(HM_GET, "/api/v1/silences/x", NULL, 404));
    json_decref(ask(HM_GET, "/api/v1/silences/99999999999999999999999", NULL, 404));
    json_decref(ask(HM_GET, "/api/v1/silences/1/expire", NULL, 405));

    expire_status = 409;
    json_decref(ask(HM_DELETE, "/api/v1/silences/1", NULL, 409));
    expire_status = 0;
    json_decref(ask(HM_DELETE, "/api/v1/silences/7", NULL, 404));
    o = ask(HM_POST, "/api/v1/silences/1/expire", NULL, 200);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "expired");
    json_decref(o);
    assert_true(list[0].expired);

    /* A view that cannot change them says so. */
    view.silence_add = NULL;
    json_decref(ask(HM_POST, "/api/v1/silences",
                    "{\"target\": \"shop\", \"duration\": \"1h\", \"comment\": \"x\"}", 503));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(requests_read, setup, teardown),
        cmocka_unit_test_setup_teardown(requests_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(matching, setup, teardown),
        cmocka_unit_test_setup_teardown(api, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
