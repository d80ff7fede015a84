/* curl's result codes as probe error categories, and the two that curl
 * gives a site's oversized headers: out of memory and a receive error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "outcome.h"

static enum probe_error classify(CURLcode rc, long code, bool done, uint64_t bytes,
                                 const char **why)
{
    struct outcome_seen seen = {code, done, bytes};
    return outcome_classify(rc, &seen, why);
}

static void categories(void **state)
{
    (void)state;
    const char *why;
    static const struct {
        CURLcode rc;
        enum probe_error want;
    } cases[] = {
        {CURLE_OK, PERR_NONE},
        {CURLE_COULDNT_RESOLVE_HOST, PERR_DNS},
        {CURLE_COULDNT_CONNECT, PERR_CONNECT},
        {CURLE_OPERATION_TIMEDOUT, PERR_TIMEOUT},
        {CURLE_PEER_FAILED_VERIFICATION, PERR_TLS},
        {CURLE_SSL_CONNECT_ERROR, PERR_TLS},
        {CURLE_RECV_ERROR, PERR_RESET},
        {CURLE_GOT_NOTHING, PERR_RESET},
        {CURLE_PARTIAL_FILE, PERR_TRUNCATED},
        {CURLE_BAD_CONTENT_ENCODING, PERR_BODY},
        {CURLE_WEIRD_SERVER_REPLY, PERR_PROTOCOL},
        {CURLE_UNSUPPORTED_PROTOCOL, PERR_PROTOCOL},
        {CURLE_TOO_MANY_REDIRECTS, PERR_PROTOCOL},
        {CURLE_HTTP2, PERR_PROTOCOL},
        {CURLE_OUT_OF_MEMORY, PERR_INTERNAL},
        {CURLE_FAILED_INIT, PERR_INTERNAL},
    };

    /* No answer yet, and an answer whose headers were all read. */
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(classify(cases[i].rc, 0, false, 0, &why), cases[i].want);
        assert_null(why);
        assert_int_equal(classify(cases[i].rc, 200, true, 1u << 20, &why), cases[i].want);
        assert_null(why);
    }
}

/* A header line over 100 KiB: curl 7.88's buffer for the line will not
 * grow, and it says out of memory. It is the site's doing. */
static void header_line_too_long_is_protocol(void **state)
{
    (void)state;
    const char *why;

    assert_int_equal(classify(CURLE_OUT_OF_MEMORY, 200, false, 40, &why), PERR_PROTOCOL);
    assert_non_null(why);
    assert_non_null(strstr(why, "header line"));
    /* After a 1xx, in the final answer's headers. */
    assert_int_equal(classify(CURLE_OUT_OF_MEMORY, 103, false, 90, &why), PERR_PROTOCOL);
    /* curl 8.6 and later say CURLE_TOO_LARGE (100) for a line or a block. */
    assert_int_equal(classify((CURLcode)100, 200, false, 40, &why), PERR_PROTOCOL);
    assert_non_null(why);
    assert_non_null(strstr(why, "header line"));
    /* Not in a header block, it is curl's own refusal of something else. */
    assert_int_equal(classify((CURLcode)100, 200, true, 300, &why), PERR_PROTOCOL);
    assert_null(why);
}

/* A real shortage is still ours: before any answer, or once the answer's
 * headers are in (reading the body). */
static void genuine_out_of_memory_is_internal(void **state)
{
    (void)state;
    const char *why;

    assert_int_equal(classify(CURLE_OUT_OF_MEMORY, 0, false, 0, &why), PERR_INTERNAL);
    assert_null(why);
    assert_int_equal(classify(CURLE_OUT_OF_MEMORY, 200, true, 300, &why), PERR_INTERNAL);
    assert_null(why);
}

/* Endless header lines: curl stops at 300 KiB with a receive error, its
 * own message saying so. A connection closed in the headers before that
 * is a reset. */
static void header_block_too_large_is_protocol(void **state)
{
    (void)state;
    const char *why;

    assert_int_equal(classify(CURLE_RECV_ERROR, 200, false, OUTCOME_HEADER_BLOCK_MAX - 32, &why),
                     PERR_PROTOCOL);
    assert_null(why); /* curl's "Too large response headers: N > 307200" says it */
    assert_int_equal(classify(CURLE_RECV_ERROR, 200, false, OUTCOME_HEADER_SEEN_MIN, &why),
                     PERR_PROTOCOL);
    assert_int_equal(classify(CURLE_RECV_ERROR, 200, false, OUTCOME_HEADER_SEEN_MIN - 1, &why),
                     PERR_RESET);
    assert_int_equal(classify(CURLE_RECV_ERROR, 200, false, 500, &why), PERR_RESET);
    assert_int_equal(classify(CURLE_RECV_ERROR, 0, false, 0, &why), PERR_RESET);
    /* The headers were read; the body's connection broke. */
    assert_int_equal(classify(CURLE_RECV_ERROR, 200, true, OUTCOME_HEADER_BLOCK_MAX, &why),
                     PERR_RESET);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(categories),
        cmocka_unit_test(header_line_too_long_is_protocol),
        cmocka_unit_test(genuine_out_of_memory_is_internal),
        cmocka_unit_test(header_block_too_large_is_protocol),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
