/* Request targets: the routes and their tails, percent-decoding segment
 * by segment, queries, and everything a hostile client may send (bad
 * escapes, NUL and control characters, dot segments, empty segments, too
 * many or too long parts, random bytes); the bearer token's check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api.h"
#include "badge.h"
#include "metrics.h"
#include "page.h"
#include "route.h"
#include "testrand.h"

static struct route_match m;
static char err[256];

static int find(const char *target)
{
    err[0] = '\0';
    return route_find(target, &m, err, sizeof(err));
}

static void routes(void **state)
{
    (void)state;
    assert_int_equal(find("/"), 0);
    assert_ptr_equal(m.route->handler, page_handler);
    assert_false(m.route->token);
    assert_int_equal(find("/?group=web&page=2"), 0);
    assert_ptr_equal(m.route->handler, page_handler);
    assert_string_equal(query_get(&m.query, "group"), "web");
    assert_int_equal(find("/static/upmon.css?v=0123456789abcdef"), 0);
    assert_ptr_equal(m.route->handler, page_css_handler);
    assert_false(m.route->token);
    assert_int_equal(find("/badge/a%2Fb.svg?type=uptime"), 0);
    assert_ptr_equal(m.route->handler, badge_handler);
    assert_false(m.route->token);
    assert_string_equal(m.tail, "a/b.svg");
    assert_int_equal(find("/metrics"), 0);
    assert_ptr_equal(m.route->handler, metrics_handler);
    assert_true(m.route->token);

    assert_int_equal(find("/healthz"), 0);
    assert_ptr_equal(m.route->handler, healthz_handler);
    assert_false(m.route->token);
    assert_string_equal(m.path, "/healthz");
    assert_string_equal(m.tail, "");

    assert_int_equal(find("/api/v1/targets"), 0);
    assert_ptr_equal(m.route->handler, api_targets_handler);
    assert_true(m.route->token);

    assert_int_equal(find("/api/v1/targets/shop"), 0);
    assert_ptr_equal(m.route->handler, api_target_handler);
    assert_string_equal(m.tail, "shop");

    assert_int_equal(find("/api/v1/targets/shop/uptime?from=1&to=2&step=1h"), 0);
    assert_ptr_equal(m.route->handler, api_uptime_handler);
    assert_string_equal(m.tail, "shop");
    assert_int_equal(m.query.n, 3);
    assert_string_equal(query_get(&m.query, "from"), "1");
    assert_string_equal(query_get(&m.query, "to"), "2");
    assert_string_equal(query_get(&m.query, "step"), "1h");
    assert_null(query_get(&m.query, "limit"));

    assert_int_equal(find("/api/v1/incidents?limit=5"), 0);
    assert_ptr_equal(m.route->handler, api_incidents_handler);
    assert_true(m.route->token);

    /* Literal segments compare decoded. */
    assert_int_equal(find("/api/v1/%74argets"), 0);
    assert_ptr_equal(m.route->handler, api_targets_handler);
    /* Absolute-form, as a proxy sends it. */
    assert_int_equal(find("http://example.net:8080/api/v1/targets/x?a=b"), 0);
    assert_ptr_equal(m.route->handler, api_target_handler);
    assert_string_equal(m.tail, "x");
    assert_string_equal(query_get(&m.query, "a"), "b");
    assert_int_equal(find("HTTPS://example.net/healthz"), 0);
    assert_int_equal(find("http://example.net"), 0); /* the path "/" */
    assert_ptr_equal(m.route->handler, page_handler);
    assert_string_equal(m.path, "/");
}

static void not_found(void **state)
{
    (void)state;
    const char *targets[] = {
        "/nothing",
        "/api",
        "/api/v1",
        "/api/v1/targets/",          /* a trailing slash is another page */
        "/api/v1/targets/x/",        /* and so */
        "/api/v1/targets/x/uptime/", /* and so */
        "/api/v1/targets/x/other",
        "/api/v1/targets/x/uptime/y",
        "/healthz/",
        "/HEALTHZ",
        "/api/v2/targets",
        "/static/",
        "/static/other.css",
        "/static/upmon.css/x",
        "/badge/",
        "/badge/x/y.svg",
        "/metrics/",
    };
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        assert_int_equal(find(targets[i]), 404);
        assert_null(m.route);
        assert_non_null(strstr(err, "no such page"));
    }
    assert_int_equal(find("/nothing/%41"), 404);
    assert_string_equal(m.path, "/nothing/A");
}

/* A target's name may hold anything printable, "/" included. */
static void names_decoded(void **state)
{
    (void)state;
    assert_int_equal(find("/api/v1/targets/a%2Fb%20c"), 0);
    assert_ptr_equal(m.route->handler, api_target_handler);
    assert_string_equal(m.tail, "a/b c");
    assert_int_equal(find("/api/v1/targets/a%2Fuptime"), 0);
    assert_ptr_equal(m.route->handler, api_target_handler);
    assert_string_equal(m.tail, "a/uptime");
    assert_int_equal(find("/api/v1/targets/a%2Fb/uptime"), 0);
    assert_ptr_equal(m.route->handler, api_uptime_handler);
    assert_string_equal(m.tail, "a/b");
    /* '+' is a plus in a path, a space in a query. */
    assert_int_equal(find("/api/v1/targets/a+b?k=a+b%2B"), 0);
    assert_string_equal(m.tail, "a+b");
    assert_string_equal(query_get(&m.query, "k"), "a b+");
    /* UTF-8, escaped. */
    assert_int_equal(find("/api/v1/targets/caf%C3%A9"), 0);
    assert_string_equal(m.tail, "caf\xc3\xa9");
    /* Dots inside a name are no dot segment. */
    assert_int_equal(find("/api/v1/targets/...x"), 0);
    assert_string_equal(m.tail, "...x");
    assert_int_equal(find("/api/v1/targets/%2E%2E%2E"), 0);
    assert_string_equal(m.tail, "...");
}

static void refused(const char *target, int status, const char *why)
{
    int got = find(target);
    if (got != status || strstr(err, why) == NULL)
        fail_msg("%s: got %d \"%s\", want %d \"%s\"", target, got, err, status, why);
    assert_null(m.route);
}

static void hostile(void **state)
{
    (void)state;
    refused("", 400, "not a path");
    refused("*", 400, "not a path");
    refused("api/v1/targets", 400, "not a path");
    refused("ftp://x/healthz", 400, "not a path");
    refused("/a b", 400, "not a path");
    refused("/a\tb", 400, "not a path");
    refused("/a\x01", 400, "not a path");
    refused("/a\x7f", 400, "not a path");
    refused("/caf\xc3\xa9", 400, "not a path");
    refused("/healthz#x", 400, "not a path");
    refused("/%", 400, "bad percent escape");
    refused("/%4", 400, "bad percent escape");
    refused("/%zz", 400, "bad percent escape");
    refused("/%4g", 400, "bad percent escape");
    refused("/api/v1/targets/x%", 400, "bad percent escape");
    refused("/api/v1/targets/%00", 400, "control character");
    refused("/api/v1/targets/a%0Ab", 400, "control character");
    refused("/api/v1/targets/a%7F", 400, "control character");
    refused("/api/v1/targets/a%1b[2J", 400, "control character");
    refused("/..", 400, "\"..\" segment");
    refused("/.", 400, "\".\" segment");
    refused("/api/../healthz", 400, "\"..\" segment");
    refused("/api/./v1/targets", 400, "\".\" segment");
    refused("/api/v1/targets/%2e%2e", 400, "\"..\" segment");
    refused("/api/v1/targets/%2E", 400, "\".\" segment");
    refused("/api/v1/targets/.%2e/uptime", 400, "\"..\" segment");
    refused("//healthz", 400, "empty segment");
    refused("/api//v1/targets", 400, "empty segment");
    refused("/healthz?a=%", 400, "bad percent escape");
    refused("/healthz?a=%0d%0aSet-Cookie:x", 400, "control character");
    refused("/healthz?%00=1", 400, "control character");
    refused("/healthz?=1", 400, "empty");
}

static void limits(void **state)
{
    (void)state;
    char t[2 * ROUTE_MAX_TARGET];

    /* Segments */
    strcpy(t, "");
    for (int i = 0; i < ROUTE_MAX_SEGMENTS; i++)
        strcat(t, "/a");
    assert_int_equal(find(t), 404);
    strcat(t, "/a");
    refused(t, 400, "more than 16 segments");

    /* The whole target. */
    memset(t, 'a', ROUTE_MAX_TARGET);
    t[0] = '/';
    t[ROUTE_MAX_TARGET] = '\0';
    assert_int_equal(find(t), 404);
    t[ROUTE_MAX_TARGET] = 'a';
    t[ROUTE_MAX_TARGET + 1] = '\0';
    refused(t, 414, "over 4096 bytes");

    /* Parameters, by count and length. */
    strcpy(t, "/healthz?");
    for (int i = 0; i < ROUTE_MAX_PARAMS; i++)
        strcat(t, "k=v&");
    assert_int_equal(find(t), 0);
    assert_int_equal(m.query.n, ROUTE_MAX_PARAMS);
    strcat(t, "k=v");
    refused(t, 400, "more than 16 parameters");
    strcpy(t, "/healthz?&&&a&&b=&&");
    assert_int_equal(find(t), 0);
    assert_int_equal(m.query.n, 2);
    assert_string_equal(query_get(&m.query, "a"), "");
    assert_string_equal(query_get(&m.query, "b"), "");

    strcpy(t, "/healthz?");
    memset(t + 9, 'k', ROUTE_MAX_KEY);
    strcpy(t + 9 + ROUTE_MAX_KEY, "=v");
    assert_int_equal(find(t), 0);
    memset(t + 9, 'k', ROUTE_MAX_KEY + 1);
    strcpy(t + 9 + ROUTE_MAX_KEY + 1, "=v");
    refused(t, 400, "over 64 bytes");
    strcpy(t, "/healthz?v=");
    memset(t + 11, 'v', ROUTE_MAX_VALUE);
    t[11 + ROUTE_MAX_VALUE] = '\0';
    assert_int_equal(find(t), 0);
    strcpy(t + 11 + ROUTE_MAX_VALUE, "v");
    refused(t, 400, "over 1024 bytes");
    /* Escapes count decoded: three bytes sent, one kept. */
    strcpy(t, "/healthz?v=");
    for (int i = 0; i < ROUTE_MAX_VALUE; i++)
        strcat(t, "%41");
    assert_int_equal(find(t), 0);
    assert_int_equal(strlen(query_get(&m.query, "v")), ROUTE_MAX_VALUE);

    /* The longest target of the most escapes fits the buffer. */
    t[0] = '/';
    for (int i = 1; i + 3 <= ROUTE_MAX_TARGET; i += 3)
        memcpy(t + i, "%41", 3);
    t[ROUTE_MAX_TARGET - (ROUTE_MAX_TARGET - 1) % 3] = '\0';
    assert_int_equal(find(t), 404);
}

/* Random bytes, and random mixes of the characters that matter, never
 * crash or leave a route with something unchecked in its tail. */
static void fuzz(void **state)
{
    static const char alphabet[] = "/%.?&=+#aZ09\x01\x7f\xff ";
    static const char *prefixes[] = {"/api/v1/targets/", "/", "/healthz?", "http://h/"};
    char t[512];
    (void)state;

    for (int round = 0; round < 200000; round++) {
        const char *pre = prefixes[next_rand() % 4];
        size_t n = strlen(pre), len = n + next_rand() % 40;
        memcpy(t, pre, n);
        for (size_t i = n; i < len; i++) {
            uint64_t r = next_rand();
            t[i] = r & 1 ? alphabet[(r >> 1) % (sizeof(alphabet) - 1)] : (char)(r >> 8 | 1);
        }
        t[len] = '\0';
        int status = find(t);
        assert_true(status == 0 || status == 400 || status == 404 || status == 414);
        if (status != 0)
            continue;
        for (const char *p = m.tail; *p; p++)
            assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
        assert_true(strcmp(m.tail, "..") != 0 && strcmp(m.tail, ".") != 0);
        assert_int_equal(m.path[0], '/');
        for (size_t i = 0; i < m.query.n; i++)
            for (const char *p = m.query.params[i].value; *p; p++)
                assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
    }
}

static void token(void **state)
{
    (void)state;
    assert_true(route_token_ok("Bearer s3cret", "s3cret"));
    assert_true(route_token_ok("bearer   s3cret  ", "s3cret"));
    assert_true(route_token_ok("BEARER\ts3cret", "s3cret"));
    assert_false(route_token_ok(NULL, "s3cret"));
    assert_false(route_token_ok("", "s3cret"));
    assert_false(route_token_ok("Bearer", "s3cret"));
    assert_false(route_token_ok("Bearer ", "s3cret"));
    assert_false(route_token_ok("Bearers3cret", "s3cret"));
    assert_false(route_token_ok("Basic s3cret", "s3cret"));
    assert_false(route_token_ok("Bearer s3cre", "s3cret"));
    assert_false(route_token_ok("Bearer s3crett", "s3cret"));
    assert_false(route_token_ok("Bearer S3cret", "s3cret"));
    assert_false(route_token_ok("Bearer s3cret x", "s3cret"));
    assert_false(route_token_ok("Bearer \x80\x81\x82\x83\x84\x85", "s3cret"));
    /* No token set: nothing is right. */
    assert_false(route_token_ok("Bearer ", ""));
    assert_false(route_token_ok("Bearer x", NULL));
}

static void errors(void **state)
{
    struct hreply rp = {.status = 200};
    (void)state;

    route_error("/api/v1/targets/x", 404, "no such \"target\"", &rp);
    assert_int_equal(rp.status, 404);
    assert_string_equal(rp.content_type, "application/json");
    assert_string_equal(rp.body.data, "{\"error\":\"no such \\\"target\\\"\"}\n");
    route_error("/healthz", 400, "bad", &rp);
    assert_int_equal(rp.status, 400);
    assert_string_equal(rp.content_type, "text/plain; charset=utf-8");
    assert_string_equal(rp.body.data, "bad\n");
    buf_free(&rp.body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(routes),  cmocka_unit_test(not_found), cmocka_unit_test(names_decoded),
        cmocka_unit_test(hostile), cmocka_unit_test(limits),    cmocka_unit_test(fuzz),
        cmocka_unit_test(token),   cmocka_unit_test(errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
