/* The status table against every row of the seed table, and the reading of
 * codes the table does not list. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codes.h"

#define SEED_ROWS 41

/* The seed's two typos, as the table corrects them. */
static const struct {
    const char *seed_code, *seed_phrase;
    int code;
    const char *phrase;
} corrections[] = {
    {"41416", "Requested Range Not Satisfable", 416, "Requested Range Not Satisfiable"},
};

static enum code_class section_class(const char *line)
{
    return (enum code_class)(line[0] - '1');
}

/* Splits what follows a seed row's code into its phrase and its meaning,
 * without the table: a phrase is in Title Case and a meaning is a
 * sentence, so the meaning begins at the first word that a lower-case
 * word follows ("Not Found The server has..."). */
static void split_row(const char *rest, char *phrase, size_t len, const char **meaning)
{
    const char *word = rest;

    for (;;) {
        const char *space = strchr(word, ' ');
        assert_non_null(space);
        if (islower((unsigned char)space[1]))
            break;
        word = space + 1;
    }
    assert_true(word > rest);
    snprintf(phrase, len, "%.*s", (int)(word - rest - 1), rest);
    *meaning = word;
}

static void every_seed_row(void **state)
{
    (void)state;
    FILE *f = fopen(UPMON_TEST_DATA "/http-response-codes.txt", "r");
    char line[1024];
    int rows = 0;
    enum code_class section = CLASS_TRANSPORT;

    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strlen(line) >= 3 && line[0] >= '1' && line[0] <= '5' && line[1] == 'x' &&
            line[2] == 'x') {
            section = section_class(line);
            continue;
        }
        char digits[8];
        if (sscanf(line, "%7[0-9]", digits) != 1 || strlen(digits) < 3)
            continue;
        rows++;
        /* "CODE PHRASE MEANING", read from the seed alone. */
        char phrase[256];
        const char *meaning;
        assert_int_equal(line[strlen(digits)], ' ');
        split_row(line + strlen(digits) + 1, phrase, sizeof(phrase), &meaning);
        int code = atoi(digits);
        const char *want_phrase = phrase;
        for (size_t i = 0; i < sizeof(corrections) / sizeof(corrections[0]); i++) {
            if (strcmp(digits, corrections[i].seed_code) == 0) {
                assert_string_equal(phrase, corrections[i].seed_phrase);
                code = corrections[i].code;
                want_phrase = corrections[i].phrase;
            }
        }
        const struct code_info *ci = codes_lookup(code);
        assert_non_null(ci);
        assert_int_equal(ci->code, code);
        assert_string_equal(codes_phrase(code), want_phrase);
        assert_string_equal(ci->meaning, meaning);
        assert_int_equal(codes_class(code), section);
        assert_int_equal(section, (enum code_class)(code / 100 - 1));
    }
    fclose(f);
    assert_int_equal(rows, SEED_ROWS);
}

static void severity_by_class(void **state)
{
    (void)state;
    assert_int_equal(codes_class_severity(CLASS_INFORMATIONAL), SEV_WARNING);
    assert_int_equal(codes_class_severity(CLASS_SUCCESS), SEV_OK);
    assert_int_equal(codes_class_severity(CLASS_REDIRECTION), SEV_WARNING);
    assert_int_equal(codes_class_severity(CLASS_CLIENT_ERROR), SEV_CRITICAL);
    assert_int_equal(codes_class_severity(CLASS_SERVER_ERROR), SEV_CRITICAL);
    assert_int_equal(codes_class_severity(CLASS_TRANSPORT), SEV_CRITICAL);
}

/* Codes registered since the seed was written, with their phrases. */
static const struct {
    int code;
    const char *phrase;
} added[] = {
    {102, "Processing"},
    {103, "Early Hints"},
    {207, "Multi-Status"},
    {208, "Already Reported"},
    {226, "IM Used"},
    {308, "Permanent Redirect"},
    {421, "Misdirected Request"},
    {422, "Unprocessable Content"},
    {423, "Locked"},
    {424, "Failed Dependency"},
    {425, "Too Early"},
    {426, "Upgrade Required"},
    {428, "Precondition Required"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {451, "Unavailable For Legal Reasons"},
    {506, "Variant Also Negotiates"},
    {507, "Insufficient Storage"},
    {508, "Loop Detected"},
    {510, "Not Extended"},
    {511, "Network Authentication Required"},
};

static void registered_since_the_seed(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(added) / sizeof(added[0]); i++) {
        assert_non_null(codes_phrase(added[i].code));
        assert_string_equal(codes_phrase(added[i].code), added[i].phrase);
    }
}

/* The binary search finds every registered code as itself and nothing
 * else: the table is in order, and holds the seed's codes and the added
 * ones, no more. */
static void lookup_finds_exactly_the_registered(void **state)
{
    (void)state;
    size_t found = 0;
    for (int code = -1; code < 1000; code++) {
        const struct code_info *ci = codes_lookup(code);
        if (ci == NULL)
            continue;
        assert_int_equal(ci->code, code);
        assert_true(codes_valid(code));
        found++;
    }
    assert_int_equal(found, SEED_ROWS + sizeof(added) / sizeof(added[0]));
}

/* RFC 9110 section 15: an unknown code is the x00 of its class. */
static void unknown_codes_by_class(void **state)
{
    (void)state;
    assert_null(codes_lookup(299));
    assert_null(codes_phrase(299));
    assert_int_equal(codes_class(299), CLASS_SUCCESS);
    assert_int_equal(codes_class(199), CLASS_INFORMATIONAL);
    assert_int_equal(codes_class(399), CLASS_REDIRECTION);
    assert_int_equal(codes_class(418), CLASS_CLIENT_ERROR);
    assert_int_equal(codes_class(599), CLASS_SERVER_ERROR);
    assert_int_equal(codes_class(100), CLASS_INFORMATIONAL);
    /* Outside 100-599: a protocol error. */
    assert_false(codes_valid(99));
    assert_false(codes_valid(600));
    assert_false(codes_valid(0));
    assert_false(codes_valid(-1));
    assert_int_equal(codes_class(600), CLASS_TRANSPORT);
    assert_int_equal(codes_class(99), CLASS_TRANSPORT);
    assert_int_equal(codes_class(0), CLASS_TRANSPORT);
}

static void names(void **state)
{
    (void)state;
    enum severity s;
    assert_string_equal(codes_class_name(CLASS_CLIENT_ERROR), "client_error");
    assert_string_equal(codes_class_name(CLASS_TRANSPORT), "transport_error");
    assert_string_equal(codes_severity_name(SEV_WARNING), "warning");
    assert_int_equal(codes_severity_parse("critical", &s), 0);
    assert_int_equal(s, SEV_CRITICAL);
    assert_int_equal(codes_severity_parse("fatal", &s), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_seed_row),
        cmocka_unit_test(severity_by_class),
        cmocka_unit_test(registered_since_the_seed),
        cmocka_unit_test(lookup_finds_exactly_the_registered),
        cmocka_unit_test(unknown_codes_by_class),
        cmocka_unit_test(names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
