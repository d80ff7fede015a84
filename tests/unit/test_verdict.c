/* The verdict: results and policies in, state and severity out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "verdict.h"

static struct target_conf policy(void)
{
    struct target_conf t;
    memset(&t, 0, sizeof(t));
    t.name = "t";
    t.url = t.shown_url = "http://127.0.0.1/";
    t.method = "GET";
    return t;
}

static struct probe_result answer(int code, int64_t total_us)
{
    struct probe_result r;
    probe_result_init(&r);
    r.code = code;
    r.total_us = total_us;
    return r;
}

struct row {
    int code;
    enum probe_error error;
    enum target_state state;
    enum severity sev;
    enum code_class cls;
    enum probe_error verror;
};

static void check(const struct target_conf *t, const struct row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct probe_result r = answer(rows[i].code, 1000);
        struct verdict v;
        r.error = rows[i].error;
        verdict_judge(&r, t, &v);
        print_message("code %d error %d\n", rows[i].code, rows[i].error);
        assert_int_equal(v.state, rows[i].state);
        assert_int_equal(v.severity, rows[i].sev);
        assert_int_equal(v.cls, rows[i].cls);
        assert_int_equal(v.error, rows[i].verror);
    }
}

static void defaults_by_class(void **state)
{
    (void)state;
    struct target_conf t = policy();
    static const struct row rows[] = {
        {200, PERR_NONE, ST_UP, SEV_OK, CLASS_SUCCESS, PERR_NONE},
        {204, PERR_NONE, ST_UP, SEV_OK, CLASS_SUCCESS, PERR_NONE},
        {299, PERR_NONE, ST_UP, SEV_OK, CLASS_SUCCESS, PERR_NONE},
        {100, PERR_NONE, ST_UNEXPECTED, SEV_WARNING, CLASS_INFORMATIONAL, PERR_NONE},
        {301, PERR_NONE, ST_REDIRECTING, SEV_WARNING, CLASS_REDIRECTION, PERR_NONE},
        {308, PERR_NONE, ST_REDIRECTING, SEV_WARNING, CLASS_REDIRECTION, PERR_NONE},
        {404, PERR_NONE, ST_CLIENT_ERROR, SEV_CRITICAL, CLASS_CLIENT_ERROR, PERR_NONE},
        {418, PERR_NONE, ST_CLIENT_ERROR, SEV_CRITICAL, CLASS_CLIENT_ERROR, PERR_NONE},
        {503, PERR_NONE, ST_SERVER_ERROR, SEV_CRITICAL, CLASS_SERVER_ERROR, PERR_NONE},
        {599, PERR_NONE, ST_SERVER_ERROR, SEV_CRITICAL, CLASS_SERVER_ERROR, PERR_NONE},
        {600, PERR_NONE, ST_UNREACHABLE, SEV_CRITICAL, CLASS_TRANSPORT, PERR_PROTOCOL},
        {0, PERR_DNS, ST_UNREACHABLE, SEV_CRITICAL, CLASS_TRANSPORT, PERR_DNS},
        {0, PERR_CONNECT, ST_UNREACHABLE, SEV_CRITICAL, CLASS_TRANSPORT, PERR_CONNECT},
        {0, PERR_TIMEOUT, ST_UNREACHABLE, SEV_CRITICAL, CLASS_TRANSPORT, PERR_TIMEOUT},
        {0, PERR_TLS, ST_UNREACHABLE, SEV_CRITICAL, CLASS_TRANSPORT, PERR_TLS},
        {0, PERR_RESET, ST_UNREACHABLE, SEV_CRITICAL, CLASS_TRANSPORT, PERR_RESET},
        {0, PERR_PROTOCOL, ST_UNREACHABLE, SEV_CRITICAL, CLASS_TRANSPORT, PERR_PROTOCOL},
        /* A status line came, then the answer broke off. */
        {200, PERR_TIMEOUT, ST_UNREACHABLE, SEV_CRITICAL, CLASS_SUCCESS, PERR_TIMEOUT},
        {200, PERR_BODY, ST_CONTENT, SEV_CRITICAL, CLASS_SUCCESS, PERR_BODY},
    };
    check(&t, rows, sizeof(rows) / sizeof(rows[0]));
}

static void expect_and_severity_overrides(void **state)
{
    (void)state;
    struct target_conf t = policy();
    struct code_range expect[] = {{200, 200}, {301, 301}, {401, 401}};
    struct severity_rule sev[] = {
        {{400, 499}, SEV_WARNING},  {{404, 404}, SEV_OK},       {{500, 599}, SEV_WARNING},
        {{503, 503}, SEV_CRITICAL}, {{302, 302}, SEV_CRITICAL},
    };
    t.expect = expect;
    t.nexpect = 3;
    t.severity = sev;
    t.nseverity = 5;
    static const struct row rows[] = {
        {200, PERR_NONE, ST_UP, SEV_OK, CLASS_SUCCESS, PERR_NONE},
        {301, PERR_NONE, ST_UP, SEV_OK, CLASS_REDIRECTION, PERR_NONE},
        {401, PERR_NONE, ST_UP, SEV_OK, CLASS_CLIENT_ERROR, PERR_NONE},
        /* Not listed: an unexpected 2xx is a warning, never ok. */
        {204, PERR_NONE, ST_UNEXPECTED, SEV_WARNING, CLASS_SUCCESS, PERR_NONE},
        {302, PERR_NONE, ST_REDIRECTING, SEV_CRITICAL, CLASS_REDIRECTION, PERR_NONE},
        {303, PERR_NONE, ST_REDIRECTING, SEV_WARNING, CLASS_REDIRECTION, PERR_NONE},
        {403, PERR_NONE, ST_CLIENT_ERROR, SEV_WARNING, CLASS_CLIENT_ERROR, PERR_NONE},
        /* The exact code beats the class; ok means up. */
        {404, PERR_NONE, ST_UP, SEV_OK, CLASS_CLIENT_ERROR, PERR_NONE},
        {500, PERR_NONE, ST_SERVER_ERROR, SEV_WARNING, CLASS_SERVER_ERROR, PERR_NONE},
        {503, PERR_NONE, ST_SERVER_ERROR, SEV_CRITICAL, CLASS_SERVER_ERROR, PERR_NONE},
    };
    check(&t, rows, sizeof(rows) / sizeof(rows[0]));
}

static void body_check(void **state)
{
    (void)state;
    struct target_conf t = policy();
    struct probe_result r = answer(200, 1000);
    struct verdict v;

    t.body_contains = "Welcome";
    r.body_match = 0;
    verdict_judge(&r, &t, &v);
    assert_int_equal(v.state, ST_CONTENT);
    assert_int_equal(v.severity, SEV_CRITICAL);
    assert_int_equal(v.error, PERR_BODY);
    r.body_match = 1;
    verdict_judge(&r, &t, &v);
    assert_int_equal(v.state, ST_UP);
    /* A 500 fails on its status; its body is not judged. */
    r = answer(500, 1000);
    r.body_match = -1;
    verdict_judge(&r, &t, &v);
    assert_int_equal(v.state, ST_SERVER_ERROR);
}

static void max_latency(void **state)
{
    (void)state;
    struct target_conf t = policy();
    struct probe_result r = answer(200, 250000);
    struct verdict v;

    t.max_latency_ms = 200;
    verdict_judge(&r, &t, &v);
    assert_int_equal(v.state, ST_UP);
    assert_true(v.slow);
    assert_int_equal(v.severity, SEV_WARNING);
    assert_int_equal(v.error, PERR_TOO_SLOW);
    r.total_us = 200000; /* exactly the limit is not over it */
    verdict_judge(&r, &t, &v);
    assert_false(v.slow);
    assert_int_equal(v.severity, SEV_OK);
    assert_int_equal(v.error, PERR_NONE);
    /* Slowness does not matter for a failing answer. */
    r = answer(503, 900000);
    verdict_judge(&r, &t, &v);
    assert_false(v.slow);
    assert_int_equal(v.state, ST_SERVER_ERROR);
}

static void error_names(void **state)
{
    (void)state;
    assert_string_equal(probe_error_name(PERR_TOO_SLOW), "too_slow");
    assert_string_equal(probe_error_name(PERR_DNS), "dns");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_by_class), cmocka_unit_test(expect_and_severity_overrides),
        cmocka_unit_test(body_check),        cmocka_unit_test(max_latency),
        cmocka_unit_test(error_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
