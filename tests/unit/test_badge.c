/* Badges: a well-formed SVG per target with its state or uptime, sized
 * to its text, escaped, and a 404 badge for a name no target has. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "badge.h"
#include "markupcheck.h"
#include "pagefixture.h"

static void assert_svg(const struct hreply *rp)
{
    char why[160];
    const char *err = markup_check(rp->body.data, why, sizeof(why));

    if (err)
        fail_msg("%s", err);
    assert_string_equal(rp->content_type, "image/svg+xml");
    assert_true(strncmp(rp->body.data, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) == 0);
    assert_null(strstr(rp->body.data, "<script"));
}

/* The width attribute of the badge. */
static int svg_width(const char *svg)
{
    const char *w = strstr(svg, " width=\"");

    assert_non_null(w);
    return atoi(w + 8);
}

static void setup(struct fx *f)
{
    fx_init(f, 4);
    fx_add(f, "shop", "/etc/upmon/upmon.yaml", NULL, ST_UP, 200);
    fx_add(f, "blog", "/etc/upmon/upmon.yaml", NULL, ST_SERVER_ERROR, 503);
    fx_add(f, "docs", "/etc/upmon/upmon.yaml", NULL, ST_REDIRECTING, 301);
    fx_add(f, "new", "/etc/upmon/upmon.yaml", NULL, ST_UNKNOWN, 0);
}

/* The state in words, coloured as the page colours it. */
static void state_badges(void **state)
{
    static const struct {
        const char *tail, *word, *colour;
    } cases[] = {
        {"shop.svg", "up", "#4c1"},
        {"blog.svg", "server error", "#e05d44"},
        {"docs.svg", "redirecting", "#dfb317"},
        {"new.svg", "unknown", "#9f9f9f"},
    };
    struct fx f;
    struct hreply rp;
    char want[128];
    (void)state;

    setup(&f);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        fx_get(&f, badge_handler, "/badge/x", cases[i].tail, &rp);
        assert_int_equal(rp.status, 200);
        assert_svg(&rp);
        assert_non_null(rp.cache);
        assert_non_null(strstr(rp.cache, "max-age="));
        snprintf(want, sizeof(want), ">%s</text></g></svg>", cases[i].word);
        assert_non_null(strstr(rp.body.data, want));
        snprintf(want, sizeof(want), "fill=\"%s\"", cases[i].colour);
        assert_non_null(strstr(rp.body.data, want));
        /* Named for people who cannot see it. */
        snprintf(want, sizeof(want), "role=\"img\" aria-label=\"%.*s: %s\"",
                 (int)(strlen(cases[i].tail) - 4), cases[i].tail, cases[i].word);
        assert_non_null(strstr(rp.body.data, want));
        free(rp.body.data);
    }
    /* type=state is the default, said or not. */
    fx_query(&f, "type", "state", NULL, NULL);
    fx_get(&f, badge_handler, "/badge/x", "shop.svg", &rp);
    assert_non_null(strstr(rp.body.data, ">up</text>"));
    free(rp.body.data);
    fx_free(&f);
}

static void uptime_badges(void **state)
{
    struct fx f;
    struct hreply rp;
    (void)state;

    setup(&f);
    fx_hour(&f, 0, 0, 1000, 1, ST_SERVER_ERROR); /* 99.90% */
    fx_day(&f, 0, 0, 1000, 1, ST_SERVER_ERROR);
    fx_day(&f, 0, 3, 1000, 59, ST_SERVER_ERROR);   /* 60 in 2,000 over 7 days: 97.00% */
    fx_day(&f, 0, 20, 8000, 740, ST_SERVER_ERROR); /* 800 in 10,000 over 30: 92.00% */

    fx_query(&f, "type", "uptime", NULL, NULL);
    fx_get(&f, badge_handler, "/badge/x", "shop.svg", &rp);
    assert_int_equal(rp.status, 200);
    assert_svg(&rp);
    assert_non_null(strstr(rp.body.data, "aria-label=\"shop 24h: 99.90%\""));
    assert_non_null(strstr(rp.body.data, "fill=\"#4c1\""));
    free(rp.body.data);

    fx_query(&f, "type", "uptime", "window", "7d");
    fx_get(&f, badge_handler, "/badge/x", "shop.svg", &rp);
    assert_non_null(strstr(rp.body.data, "aria-label=\"shop 7d: 97.00%\""));
    assert_non_null(strstr(rp.body.data, "fill=\"#dfb317\""));
    free(rp.body.data);

    fx_query(&f, "type", "uptime", "window", "30d");
    fx_get(&f, badge_handler, "/badge/x", "shop.svg", &rp);
    assert_non_null(strstr(rp.body.data, "aria-label=\"shop 30d: 92.00%\""));
    assert_non_null(strstr(rp.body.data, "fill=\"#fe7d37\""));
    free(rp.body.data);

    /* Nothing probed: said so, in grey. */
    fx_get(&f, badge_handler, "/badge/x", "new.svg", &rp);
    assert_int_equal(rp.status, 200);
    assert_non_null(strstr(rp.body.data, "aria-label=\"new 30d: no data\""));
    assert_non_null(strstr(rp.body.data, "fill=\"#9f9f9f\""));
    free(rp.body.data);
    fx_free(&f);
}

/* A name no target has, or an address without .svg: 404, drawn. */
static void unknown_is_404(void **state)
{
    static const char *const tails[] = {"nope.svg", "shop", "shop.svg.svg", ".svg", "", "shop.png"};
    struct fx f;
    struct hreply rp;
    (void)state;

    setup(&f);
    for (size_t i = 0; i < ARRAY_SIZE(tails); i++) {
        fx_get(&f, badge_handler, "/badge/x", tails[i], &rp);
        assert_int_equal(rp.status, 404);
        assert_svg(&rp);
        assert_non_null(strstr(rp.body.data, ">not found</text>"));
        free(rp.body.data);
    }
    fx_free(&f);
}

static void bad_queries_refused(void **state)
{
    struct fx f;
    struct hreply rp;
    (void)state;

    setup(&f);
    fx_query(&f, "type", "<svg>", NULL, NULL);
    fx_get(&f, badge_handler, "/badge/x", "shop.svg", &rp);
    assert_int_equal(rp.status, 400);
    assert_string_equal(rp.content_type, "text/plain; charset=utf-8");
    assert_null(strstr(rp.body.data, "<svg>"));
    free(rp.body.data);
    fx_query(&f, "type", "uptime", "window", "1y");
    fx_get(&f, badge_handler, "/badge/x", "shop.svg", &rp);
    assert_int_equal(rp.status, 400);
    free(rp.body.data);
    fx_free(&f);
}

/* A name that is markup stays text, in the label, the title and the
 * accessible name; one from the address is made valid UTF-8 and cut. */
static void names_escaped(void **state)
{
    struct fx f;
    struct hreply rp;
    char tail[400];
    (void)state;

    fx_init(&f, 1);
    fx_add(&f, "a<b>&\"c'", "/etc/upmon/upmon.yaml", NULL, ST_UP, 200);
    fx_get(&f, badge_handler, "/badge/x", "a<b>&\"c'.svg", &rp);
    assert_int_equal(rp.status, 200);
    assert_svg(&rp);
    assert_null(strstr(rp.body.data, "<b>"));
    assert_int_equal(mc_count(rp.body.data, "a&lt;b&gt;&amp;&quot;c&#39;"), 4);
    free(rp.body.data);

    memset(tail, 'x', sizeof(tail));
    memcpy(tail, "<\xff\x1b", 3);
    memcpy(tail + sizeof(tail) - 5, ".svg", 5);
    fx_get(&f, badge_handler, "/badge/x", tail, &rp);
    assert_int_equal(rp.status, 404);
    assert_svg(&rp);
    assert_non_null(strstr(rp.body.data, ">&lt;\xef\xbf\xbd\\x1bxxx"));
    assert_non_null(strstr(rp.body.data, "xxx...</text>"));
    assert_true(svg_width(rp.body.data) < 800);
    free(rp.body.data);
    fx_free(&f);
}

/* Widths from the font's table: each half holds its text with padding;
 * wide letters take more room than narrow ones, CJK a whole em. */
static void text_widths(void **state)
{
    struct fx f;
    struct hreply rp;
    int narrow, wide;
    (void)state;

    assert_float_equal(badge_text_width(""), 0, 1e-9);
    assert_float_equal(badge_text_width("a"), 1230 * 11.0 / 2048, 1e-9);
    assert_float_equal(badge_text_width("up"), (1296 + 1276) * 11.0 / 2048, 1e-9);
    assert_true(badge_text_width("WWWW") > 2 * badge_text_width("iiii"));
    assert_float_equal(badge_text_width("\xe7\x9b\xa3\xe8\xa6\x96"), 22, 1e-9); /* two ideographs */
    assert_float_equal(badge_text_width("\xc3\xa9"), 1302 * 11.0 / 2048, 1e-9);

    fx_init(&f, 2);
    fx_add(&f, "iiii", "/etc/upmon/upmon.yaml", NULL, ST_UP, 200);
    fx_add(&f, "WWWW", "/etc/upmon/upmon.yaml", NULL, ST_UP, 200);
    fx_get(&f, badge_handler, "/badge/x", "iiii.svg", &rp);
    narrow = svg_width(rp.body.data);
    /* 4 x 562 units + 10 padding, then "up" + 10. */
    assert_int_equal(narrow, (int)(4 * 562 * 11.0 / 2048 + 10.5) +
                                 (int)((1296 + 1276) * 11.0 / 2048 + 10.5));
    free(rp.body.data);
    fx_get(&f, badge_handler, "/badge/x", "WWWW.svg", &rp);
    wide = svg_width(rp.body.data);
    assert_true(wide > narrow + 30);
    free(rp.body.data);
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(state_badges),   cmocka_unit_test(uptime_badges),
        cmocka_unit_test(unknown_is_404), cmocka_unit_test(bad_queries_refused),
        cmocka_unit_test(names_escaped),  cmocka_unit_test(text_widths),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
