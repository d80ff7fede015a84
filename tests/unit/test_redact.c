/* Secret parameters of URLs: every usual name, names of a target's own,
 * names as URLs write them, and everything else of the URL as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "redact.h"

static void check(const char *url, char *const *names, size_t n, const char *want)
{
    char *got = redact_url(url, names, n);

    if (strcmp(got, want) != 0)
        fail_msg("%s: %s, not %s", url, got, want);
    free(got);
}

static void usual_names(void **state)
{
    static const char *const names[] = {
        "token",    "access_token", "key", "apikey", "api_key",   "secret", "client_secret",
        "password", "passwd",       "pwd", "sig",    "signature", "auth",
    };
    char url[256], want[256];

    (void)state;
    assert_int_equal(redact_ndefault, sizeof(names) / sizeof(names[0]));
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(url, sizeof(url), "https://api.example/v1?%s=s3cr3t&page=2", names[i]);
        snprintf(want, sizeof(want), "https://api.example/v1?%s=(hidden)&page=2", names[i]);
        check(url, NULL, 0, want);
    }
    /* Only whole names: a name that holds one is not one. */
    check("http://a/?tokens=1&keyword=2&monkey=3&authority=4", NULL, 0,
          "http://a/?tokens=1&keyword=2&monkey=3&authority=4");
}

static void case_and_encoding(void **state)
{
    (void)state;
    check("http://a/?APIKEY=x&Access_Token=y", NULL, 0,
          "http://a/?APIKEY=(hidden)&Access_Token=(hidden)");
    /* Names as a server decodes them: %5F is "_", %6B "k". */
    check("http://a/?api%5Fkey=x&api%5fkey=y&%6Bey=z", NULL, 0,
          "http://a/?api%5Fkey=(hidden)&api%5fkey=(hidden)&%6Bey=(hidden)");
    /* A stray "%" is itself. */
    check("http://a/?ke%y=x&key%=y", NULL, 0, "http://a/?ke%y=x&key%=y");
    /* "+" is a space in a form: "client secret" is not client_secret. */
    char *own[] = {"session id"};
    check("http://a/?session+id=x&session%20id=y&client+secret=z", own, 1,
          "http://a/?session+id=(hidden)&session%20id=(hidden)&client+secret=z");
}

static void order_repeats_and_empty_values(void **state)
{
    (void)state;
    /* Every parameter in its place, each repeat hidden. */
    check("http://a/p?a=1&token=x&b=2&token=y&c=3", NULL, 0,
          "http://a/p?a=1&token=(hidden)&b=2&token=(hidden)&c=3");
    /* Nothing to hide: no value, an empty one, an empty query. */
    check("http://a/?token&key=&sig=", NULL, 0, "http://a/?token&key=&sig=");
    check("http://a/?", NULL, 0, "http://a/?");
    check("http://a/?&&token=x&&", NULL, 0, "http://a/?&&token=(hidden)&&");
    /* The value is all up to the next "&", "=" and all. */
    check("http://a/?key=a=b;c&x=1", NULL, 0, "http://a/?key=(hidden)&x=1");
    /* A URL without a query, or without parameters of note, as it was. */
    check("https://user@a.example:8443/path/to", NULL, 0, "https://user@a.example:8443/path/to");
    check("http://a/?q=search+term&lang=en", NULL, 0, "http://a/?q=search+term&lang=en");
}

static void fragments(void **state)
{
    (void)state;
    /* The fragment ends the query. */
    check("http://a/?token=x#top", NULL, 0, "http://a/?token=(hidden)#top");
    /* A token handed back in a fragment (OAuth's implicit grant). */
    check("https://app.example/cb#access_token=x&token_type=bearer&state=1", NULL, 0,
          "https://app.example/cb#access_token=(hidden)&token_type=bearer&state=1");
    check("http://a/?page=1#key=x", NULL, 0, "http://a/?page=1#key=(hidden)");
    /* A "?" after the "#" is the fragment's: the parameters of a route of
     * the page's own router, or part of a value. */
    check("http://a/#/reset?token=x&lang=en", NULL, 0, "http://a/#/reset?token=(hidden)&lang=en");
    check("http://a/#access_token=ab?cd&x=1", NULL, 0, "http://a/#access_token=(hidden)&x=1");
    check("http://a/#x=1&token=ab?cd", NULL, 0, "http://a/#x=1&token=(hidden)");
    check("http://a/#section", NULL, 0, "http://a/#section");
}

static void names_of_the_target(void **state)
{
    char *own[] = {"X-Session", "code"};

    (void)state;
    check("http://a/?x-session=1&code=2&token=3&other=4", own, 2,
          "http://a/?x-session=(hidden)&code=(hidden)&token=(hidden)&other=4");
    assert_true(redact_name_matches("CODE", 4, own, 2));
    assert_true(redact_name_matches("api%5Fkey", 9, NULL, 0));
    assert_false(redact_name_matches("code", 4, NULL, 0));
    assert_false(redact_name_matches("cod", 3, own, 2));
    assert_false(redact_name_matches("", 0, own, 2));
    /* A relative Location, as sent. */
    check("/login?next=%2F&sig=abc", NULL, 0, "/login?next=%2F&sig=(hidden)");
    check("", NULL, 0, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(usual_names),
        cmocka_unit_test(case_and_encoding),
        cmocka_unit_test(order_repeats_and_empty_values),
        cmocka_unit_test(fragments),
        cmocka_unit_test(names_of_the_target),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
