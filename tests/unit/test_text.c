/* Wire text made valid UTF-8 and printable: replacements as Unicode's
 * "maximal subpart" practice says, cuts on whole characters and escapes,
 * and invariants over random bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "testrand.h"
#include "text.h"

#define FFFD "\xEF\xBF\xBD"

/* text_sanitize of the n bytes at s, into a buffer of size bytes. */
static const char *clean_n(const char *s, size_t n, size_t size, unsigned flags)
{
    static char out[1024];

    assert_true(size <= sizeof(out));
    size_t len = text_sanitize(out, size, s, n, flags);
    assert_int_equal(len, strlen(out));
    return out;
}

static const char *clean(const char *s, unsigned flags)
{
    return clean_n(s, strlen(s), 1024, flags);
}

/* Whether s is well-formed UTF-8, by jansson's own check. */
static bool valid_utf8(const char *s)
{
    json_t *j = json_string(s);
    json_decref(j);
    return j != NULL;
}

static void valid_text_is_kept(void **state)
{
    (void)state;
    const char *ok[] = {"",
                        "plain ASCII",
                        "caf\xC3\xA9",
                        "\xE2\x82\xAC 5",
                        "\xF0\x9F\x98\x80",
                        "\xEF\xBF\xBD",
                        "back\\slash",
                        "\xED\x9F\xBF", /* U+D7FF, just below the surrogates */
                        "\xF4\x8F\xBF\xBF" /* U+10FFFF */};

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_string_equal(clean(ok[i], 0), ok[i]);
        assert_string_equal(clean(ok[i], TEXT_ESCAPE | TEXT_ELLIPSIS), ok[i]);
    }
}

/* One U+FFFD per maximal subpart: what Python's decode(errors="replace")
 * and every browser give. */
static void invalid_bytes_become_replacement_characters(void **state)
{
    (void)state;
    assert_string_equal(clean("caf\xE9", 0), "caf" FFFD);
    assert_string_equal(clean("\xFF\xFE", 0), FFFD FFFD);
    assert_string_equal(clean("\x80x", 0), FFFD "x"); /* a stray continuation byte */
    /* A character cut short: one replacement for what there was of it. */
    assert_string_equal(clean("a\xE2\x82", 0), "a" FFFD);
    assert_string_equal(clean("a\xE2\x82z", 0), "a" FFFD "z");
    assert_string_equal(clean("\xF0\x9F\x98", 0), FFFD);
    assert_string_equal(clean("\xE2\x82\xE2\x82\xAC", 0), FFFD "\xE2\x82\xAC");
    /* Overlong forms, surrogates and past U+10FFFF: each byte. */
    assert_string_equal(clean("\xC0\xAF", 0), FFFD FFFD);
    assert_string_equal(clean("\xE0\x80\xAF", 0), FFFD FFFD FFFD);
    assert_string_equal(clean("\xED\xA0\x80", 0), FFFD FFFD FFFD);
    assert_string_equal(clean("\xF4\x90\x80\x80", 0), FFFD FFFD FFFD FFFD);
    assert_string_equal(clean("\xF5\x80", 0), FFFD FFFD);
    /* A NUL inside the bytes given cannot stay in a C string. */
    assert_string_equal(clean_n("a\0b", 3, 16, 0), "a" FFFD "b");
    /* Only the bytes given are read. */
    assert_string_equal(clean_n("abcdef", 3, 16, 0), "abc");
}

static void controls_are_escaped_when_asked(void **state)
{
    (void)state;
    const char *evil = "a\nb\r\tc\x1b[31m\x07\x7f\xC2\x9B"
                       "2J\\x";

    /* Kept (they are valid UTF-8) unless escaping is asked for. */
    assert_string_equal(clean(evil, 0), evil);
    assert_string_equal(clean(evil, TEXT_ESCAPE), "a\\nb\\r\\tc\\x1b[31m\\x07\\x7f\\u009b2J\\x");
    assert_string_equal(clean_n("a\0b", 3, 16, TEXT_ESCAPE), "a\\x00b");
    /* Invalid bytes next to controls: both. */
    assert_string_equal(clean("\x1b\xFF", TEXT_ESCAPE), "\\x1b" FFFD);
    /* U+00A0 and up are not controls. */
    assert_string_equal(clean("\xC2\xA0\xC2\xBF", TEXT_ESCAPE), "\xC2\xA0\xC2\xBF");
}

static void cuts_fall_between_characters(void **state)
{
    (void)state;
    const char *euros = "\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC"; /* 9 bytes */

    /* Room for 7 bytes: two characters, never a part of the third. */
    assert_string_equal(clean_n(euros, 9, 8, 0), "\xE2\x82\xAC\xE2\x82\xAC");
    /* With "...": what fits in front of it. */
    assert_string_equal(clean_n(euros, 9, 8, TEXT_ELLIPSIS), "\xE2\x82\xAC...");
    assert_string_equal(clean_n(euros, 9, 10, TEXT_ELLIPSIS), euros); /* it fits: no "..." */
    assert_string_equal(clean_n("abcdefg", 7, 8, TEXT_ELLIPSIS), "abcdefg");
    assert_string_equal(clean_n("abcdefgh", 8, 8, TEXT_ELLIPSIS), "abcd...");
    /* An escape is whole or not there. */
    assert_string_equal(clean_n("ab\x1b", 3, 6, TEXT_ESCAPE), "ab");
    assert_string_equal(clean_n("ab\x1b", 3, 7, TEXT_ESCAPE), "ab\\x1b");
    assert_string_equal(clean_n("ab\x1b"
                                "cdef",
                                7, 8, TEXT_ESCAPE | TEXT_ELLIPSIS),
                        "ab...");
    /* A replacement character too. */
    assert_string_equal(clean_n("ab\xFF", 3, 5, 0), "ab");
    /* Too small for "...": just cut. */
    assert_string_equal(clean_n("abcdef", 6, 3, TEXT_ELLIPSIS), "ab");
    assert_string_equal(clean_n("abcdef", 6, 1, TEXT_ELLIPSIS), "");
    char untouched = 'x';
    assert_int_equal(text_sanitize(&untouched, 0, "abc", 3, 0), 0);
    assert_int_equal(untouched, 'x');
}

/* Random bytes, mostly high ones and controls: the result is always valid
 * UTF-8 within its bounds, printable when escaped, and the same when
 * cleaned again. */
static void invariants_over_random_bytes(void **state)
{
    (void)state;
    static const unsigned char pick[] = {0x00, 0x07, 0x0a, 0x1b, 0x41, 0x5c, 0x7f, 0x80,
                                         0x9b, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xe2,
                                         0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff};

    for (int round = 0; round < 20000; round++) {
        char in[40], out[64], again[64];
        size_t n = (size_t)(next_rand() % sizeof(in));
        size_t size = 1 + (size_t)(next_rand() % sizeof(out));
        unsigned flags = (unsigned)(next_rand() % 4);

        for (size_t i = 0; i < n; i++)
            in[i] = (char)pick[next_rand() % sizeof(pick)];
        size_t len = text_sanitize(out, size, in, n, flags);
        assert_true(len < size);
        assert_int_equal(strlen(out), len);
        assert_true(valid_utf8(out));
        if (flags & TEXT_ESCAPE)
            for (const unsigned char *p = (const unsigned char *)out; *p; p++) {
                assert_false(*p < 0x20 || *p == 0x7f);
                assert_false(p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F);
            }
        /* Cleaned again with room to spare: unchanged. */
        text_sanitize(again, sizeof(again), out, len, flags);
        assert_string_equal(again, out);
        /* With all the room it needs, nothing is lost: a NUL, a
         * control or an invalid byte each leave a trace. */
        if (!(flags & TEXT_ELLIPSIS) && size == sizeof(out) && n > 0)
            assert_true(len > 0);
    }
}

static void json_strings_never_fail(void **state)
{
    (void)state;
    json_t *j = text_json("caf\xE9 \xE2\x82");
    assert_non_null(j);
    assert_string_equal(json_string_value(j), "caf" FFFD " " FFFD);
    json_decref(j);

    j = text_json("caf\xC3\xA9 \x1b[0m");
    assert_string_equal(json_string_value(j), "caf\xC3\xA9 \x1b[0m"); /* exact when valid */
    json_decref(j);

    j = text_json(NULL);
    assert_true(json_is_null(j));

    json_t *o = json_object();
    text_json_set(o, "location", text_json("http://example.net/\xFF"));
    assert_string_equal(json_string_value(json_object_get(o, "location")),
                        "http://example.net/" FFFD);
    json_t *a = json_array();
    text_json_append(a, text_json("\xC3"));
    assert_string_equal(json_string_value(json_array_get(a, 0)), FFFD);
    json_decref(a);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_text_is_kept),
        cmocka_unit_test(invalid_bytes_become_replacement_characters),
        cmocka_unit_test(controls_are_escaped_when_asked),
        cmocka_unit_test(cuts_fall_between_characters),
        cmocka_unit_test(invariants_over_random_bytes),
        cmocka_unit_test(json_strings_never_fail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
