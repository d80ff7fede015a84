/* Following redirects: which answers, with which method, and which URLs
 * share the target's origin. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "follow.h"

static void statuses(void **state)
{
    (void)state;
    for (int code = 100; code <= 599; code++) {
        bool want = code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
        if (follow_status(code) != want)
            fail_msg("%d: %s", code, want ? "must be followed" : "is the final answer");
    }
}

static void methods(void **state)
{
    (void)state;
    /* 303: see another page, with GET, whatever was asked; a HEAD stays. */
    assert_false(follow_as_get(303, "GET"));
    assert_false(follow_as_get(303, "HEAD"));
    assert_true(follow_as_get(303, "POST"));
    assert_true(follow_as_get(303, "PUT"));
    assert_true(follow_as_get(303, "DELETE"));
    /* 301 and 302 turn only a POST into a GET, as browsers do. */
    assert_true(follow_as_get(301, "POST"));
    assert_true(follow_as_get(302, "POST"));
    assert_false(follow_as_get(301, "PUT"));
    assert_false(follow_as_get(302, "PATCH"));
    assert_false(follow_as_get(302, "GET"));
    /* 307 and 308 repeat the request as it was. */
    assert_false(follow_as_get(307, "POST"));
    assert_false(follow_as_get(308, "POST"));
    assert_false(follow_as_get(308, "DELETE"));
}

static void origins(void **state)
{
    (void)state;
    assert_true(follow_same_origin("https://a.example/x", "https://a.example/y?z=1#f"));
    assert_true(follow_same_origin("https://a.example/", "https://A.Example:443/"));
    assert_true(follow_same_origin("http://a.example/", "http://a.example:80/"));
    assert_true(follow_same_origin("http://u:p@127.0.0.1:8080/", "http://127.0.0.1:8080/x"));
    assert_true(follow_same_origin("http://[::1]:8080/", "http://[::1]:8080/x"));
    /* Another scheme, host or port is another origin. */
    assert_false(follow_same_origin("http://a.example/", "https://a.example/"));
    assert_false(follow_same_origin("https://a.example/", "https://b.example/"));
    assert_false(follow_same_origin("https://a.example/", "https://api.a.example/"));
    assert_false(follow_same_origin("http://127.0.0.1:8080/", "http://127.0.0.1:8081/"));
    assert_false(follow_same_origin("http://127.0.0.1/", "http://localhost/"));
    assert_false(follow_same_origin("https://a.example:8443/", "https://a.example/"));
    /* What is not a URL shares no origin. */
    assert_false(follow_same_origin("/relative", "/relative"));
    assert_false(follow_same_origin("", "http://a.example/"));
    assert_false(follow_same_origin("http://a.example/", "not a url"));
    /* The same host is the same site whatever the scheme and port. */
    assert_true(follow_same_host("http://a.example/", "https://A.example:8443/x"));
    assert_false(follow_same_host("https://a.example/", "https://api.a.example/"));
    assert_false(follow_same_host("http://127.0.0.1/", "http://localhost/"));
    assert_false(follow_same_host("/relative", "/relative"));
}

static void schemes(void **state)
{
    (void)state;
    assert_true(follow_scheme_ok("http://a.example/"));
    assert_true(follow_scheme_ok("https://a.example/"));
    assert_true(follow_scheme_ok("HTTPS://a.example/"));
    assert_false(follow_scheme_ok("ftp://a.example/"));
    assert_false(follow_scheme_ok("file:///etc/passwd"));
    assert_false(follow_scheme_ok("httpx://a.example/"));
    assert_false(follow_scheme_ok("/relative"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(statuses),
        cmocka_unit_test(methods),
        cmocka_unit_test(origins),
        cmocka_unit_test(schemes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
