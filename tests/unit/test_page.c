/* The status page: markup that reads well and holds under a strict CSP,
 * whatever the configuration and the sites say; failing targets first;
 * groups by label or watch file; the figures of each target; one answer
 * of bounded size for ten thousand targets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <cmocka.h>

#include "codes.h"
#include "markup.h"
#include "markupcheck.h"
#include "page.h"
#include "pagefixture.h"

static void assert_reads_well(const char *html)
{
    char why[160];
    const char *err = markup_check(html, why, sizeof(why));

    if (err)
        fail_msg("%s", err);
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, " style="));
}

/* The offset of needle in s, failing when it is not there. */
static size_t at(const char *s, const char *needle)
{
    const char *p = strstr(s, needle);

    if (!p)
        fail_msg("\"%s\" not found", needle);
    return (size_t)(p - s);
}

static void small_config(struct fx *f)
{
    fx_init(f, 8);
    f->cfg.http_group_by = (char *)"team";
    fx_add(f, "shop", "/etc/upmon/watch.d/web.yaml", "web", ST_UP, 200);
    fx_add(f, "blog", "/etc/upmon/watch.d/web.yaml", "web", ST_SERVER_ERROR, 503);
    fx_add(f, "docs", "/etc/upmon/watch.d/web.yaml", "web", ST_REDIRECTING, 301);
    fx_add(f, "api", "/etc/upmon/watch.d/api.yaml", "api", ST_UP, 200);
    fx_add(f, "auth", "/etc/upmon/watch.d/api.yaml", "api", ST_UNREACHABLE, 0);
    fx_add(f, "legacy", "/etc/upmon/upmon.yaml", NULL, ST_UNKNOWN, 0);
}

static void small_page_reads_well(void **state)
{
    struct fx f;
    struct hreply rp;
    const char *h;
    (void)state;

    small_config(&f);
    fx_get(&f, page_handler, "/", "", &rp);
    h = rp.body.data;
    assert_int_equal(rp.status, 200);
    assert_string_equal(rp.content_type, "text/html; charset=utf-8");
    assert_null(rp.cache); /* no-store: it is news */
    assert_reads_well(h);
    assert_non_null(strstr(h, "<html lang=\"en\">"));
    assert_non_null(strstr(h, "<title>Example status</title>"));
    assert_non_null(strstr(h, "<h1>Example status</h1>"));
    assert_non_null(strstr(h, "<meta http-equiv=\"refresh\" content=\"30\"/>"));
    assert_non_null(strstr(h, "<main>"));
    assert_non_null(strstr(h, "<footer>"));
    /* The summary: one line, then counts by state. */
    assert_non_null(strstr(h, "<p class=\"overall t-down\">2 of 6 targets failing</p>"));
    assert_non_null(strstr(h, "<strong>2</strong> up</li>"));
    assert_non_null(strstr(h, "<strong>1</strong> unreachable</li>"));
    assert_non_null(strstr(h, "<strong>1</strong> unknown</li>"));
    /* Small enough to be shown whole: each group folds. */
    assert_int_equal(mc_count(h, "<details class=\"group\" open=\"open\">"), 3);
    assert_null(strstr(h, "class=\"groups\""));
    /* Tables have captions and headers with a scope. */
    assert_int_equal(mc_count(h, "<table"), mc_count(h, "<caption"));
    assert_non_null(strstr(h, "<th scope=\"col\">Target</th>"));
    assert_int_equal(mc_count(h, "<th scope=\"row\">"), 6 + 2); /* every row, failing twice */
    /* State is in words, not only in colour. */
    assert_non_null(strstr(h, "<span class=\"tag t-down\">server error</span>"));
    assert_non_null(strstr(h, "<span class=\"tag t-warn\">redirecting</span>"));
    assert_non_null(strstr(h, "<small>since <time datetime=\"2026-03-15T09:00:00.000Z\">09:00 "
                              "UTC</time> (3h)</small>"));
    free(rp.body.data);
    fx_free(&f);
}

/* A window that holds a target's alerts now, and one that comes within
 * the day, are shown with its state. */
static void maintenance_shown(void **state)
{
    struct fx f;
    struct hreply rp;
    char err[256];
    struct window held = {.name = (char *)"db <upgrade>",
                          .from = (char *)"2026-03-15T11:00:00Z",
                          .until = (char *)"2026-03-15T13:30:00Z"};
    struct window soon = {.from = (char *)"2026-03-15T20:00:00Z",
                          .until = (char *)"2026-03-15T21:00:00Z"};
    (void)state;

    assert_int_equal(window_finish(&held, err, sizeof(err)), 0);
    assert_int_equal(window_finish(&soon, err, sizeof(err)), 0);
    small_config(&f);
    f.conf[1].windows = &held; /* blog, failing */
    f.conf[1].nwindows = 1;
    f.conf[0].windows = &soon; /* shop */
    f.conf[0].nwindows = 1;
    fx_get(&f, page_handler, "/", "", &rp);
    const char *h = rp.body.data;
    assert_reads_well(h);
    assert_non_null(strstr(h, "<span class=\"tag t-none\">maintenance</span><small>alerts held "
                              "until <time datetime=\"2026-03-15T13:30:00.000Z\">13:30 UTC</time> "
                              "(db &lt;upgrade&gt;)</small>"));
    assert_non_null(strstr(h, "<small>maintenance from <time datetime=\"2026-03-15T20:00:00.000Z\">"
                              "20:00 UTC</time> to <time datetime=\"2026-03-15T21:00:00.000Z\">"
                              "21:00 UTC</time></small>"));
    free(rp.body.data);
    fx_free(&f);
}

/* What a configuration or a site says can neither open a tag nor end an
 * attribute, and stays valid UTF-8 on one line. */
static void hostile_text_is_escaped(void **state)
{
    struct fx f;
    struct hreply rp;
    const char *h;
    size_t i;
    (void)state;

    fx_init(&f, 4);
    f.cfg.http_group_by = (char *)"team";
    f.cfg.http_title = (char *)"<script>alert('t')</script> & co";
    i = fx_add(&f, "<script>alert(1)</script>", "/etc/upmon/watch.d/x.yaml",
               "\"><img src=x onerror=alert(2)>", ST_SERVER_ERROR, 500);
    f.hist[i].message = xstrdup("</td><script>x</script>\x1b[2J\xff\xfe end");
    f.conf[i].shown_url = (char *)"https://example.org/?a=1&b=\"><script>";
    i = fx_add(&f, "redir", "/etc/upmon/watch.d/x.yaml", "\"><img src=x onerror=alert(2)>",
               ST_REDIRECTING, 302);
    f.hist[i].location = xstrdup("javascript:alert(3)//\"><b>");
    fx_get(&f, page_handler, "/", "", &rp);
    h = rp.body.data;
    assert_reads_well(h);
    assert_null(strstr(h, "<img"));
    assert_null(strstr(h, "<b>"));
    assert_null(strchr(h, '\x1b'));
    assert_non_null(strstr(h, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_non_null(strstr(h, "<title>&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt; &amp; "
                              "co</title>"));
    assert_non_null(strstr(h, "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"));
    assert_non_null(strstr(h, "&lt;/td&gt;&lt;script&gt;x&lt;/script&gt;\\x1b[2J\xef\xbf\xbd"));
    assert_non_null(strstr(h, "href=\"https://example.org/?a=1&amp;b=&quot;&gt;&lt;script&gt;\""));
    /* A redirect's target is shown, never linked. */
    assert_non_null(strstr(h, "to javascript:alert(3)//&quot;&gt;&lt;b&gt;</small>"));
    assert_null(strstr(h, "href=\"javascript"));
    free(rp.body.data);

    /* The group asked for comes back escaped in the answer that it does
     * not exist. */
    fx_query(&f, "group", "<i>nope</i>", NULL, NULL);
    fx_get(&f, page_handler, "/", "", &rp);
    assert_int_equal(rp.status, 404);
    assert_reads_well(rp.body.data);
    assert_non_null(strstr(rp.body.data, "No such group: &lt;i&gt;nope&lt;/i&gt;"));
    free(rp.body.data);
    fx_free(&f);
}

/* Failing targets lead: in their own list, the worst first, and at the
 * top of their group; groups by name, the unlabelled last. */
static void failing_on_top(void **state)
{
    struct fx f;
    struct hreply rp;
    const char *h;
    size_t groups;
    (void)state;

    small_config(&f);
    fx_add(&f, "status", "/etc/upmon/watch.d/web.yaml", "web", ST_CLIENT_ERROR, 404);
    fx_get(&f, page_handler, "/", "", &rp);
    h = rp.body.data;
    assert_reads_well(h);
    /* The failing list comes before the groups, unreachable before 5xx
     * before 4xx. */
    groups = at(h, "id=\"h-groups\"");
    assert_true(at(h, "id=\"h-failing\"") < groups);
    assert_true(at(h, ">auth<") < at(h, ">blog<"));
    assert_true(at(h, ">blog<") < at(h, ">status<"));
    assert_true(at(h, ">status<") < groups);
    assert_non_null(strstr(h, "<caption>3 failing, the worst first</caption>"));
    /* Groups: api, web, then the targets without a team. */
    assert_true(at(h, "<h3>api</h3>") < at(h, "<h3>web</h3>"));
    assert_true(at(h, "<h3>web</h3>") < at(h, "<h3><em>no team label</em></h3>"));
    /* In web: the 5xx, the 4xx, the redirect, then the one up. */
    h += at(h, "<h3>web</h3>");
    assert_true(at(h, ">blog<") < at(h, ">status<"));
    assert_true(at(h, ">status<") < at(h, ">docs<"));
    assert_true(at(h, ">docs<") < at(h, ">shop<"));
    free(rp.body.data);
    fx_free(&f);
}

/* Without http.group_by, by watch file: relative to the main file's
 * directory when under it, else by base name. */
static void grouped_by_watch_file(void **state)
{
    struct fx f;
    struct hreply rp;
    const char *h;
    (void)state;

    fx_init(&f, 4);
    fx_add(&f, "a", "/etc/upmon/watch.d/web.yaml", NULL, ST_UP, 200);
    fx_add(&f, "b", "/etc/upmon/upmon.yaml", "web", ST_UP, 200);
    fx_add(&f, "c", "/srv/teams/api.yaml", NULL, ST_UP, 200);
    fx_add(&f, "d", "/etc/upmon/watch.d/web.yaml", NULL, ST_UP, 200);
    fx_get(&f, page_handler, "/", "", &rp);
    h = rp.body.data;
    assert_reads_well(h);
    assert_non_null(strstr(h, "<h2 id=\"h-groups\">By watch file</h2>"));
    assert_true(at(h, "<h3>api.yaml</h3>") < at(h, "<h3>upmon.yaml</h3>"));
    assert_true(at(h, "<h3>upmon.yaml</h3>") < at(h, "<h3>watch.d/web.yaml</h3>"));
    assert_non_null(
        strstr(h, "<caption class=\"vh\">watch.d/web.yaml: 2 targets, the worst first</caption>"));
    assert_non_null(strstr(h, "<p class=\"overall t-ok\">All 4 targets up</p>"));
    free(rp.body.data);

    f.ts[1].s.state = ST_REDIRECTING;
    f.ts[2].s.state = ST_UNKNOWN;
    fx_get(&f, page_handler, "/", "", &rp);
    assert_non_null(strstr(rp.body.data, "<p class=\"overall t-warn\">No target failing; 1 "
                                         "redirecting; 1 not probed yet</p>"));
    free(rp.body.data);
    fx_free(&f);
}

/* Ninety bars, oldest first, coloured by the day's worst state, each
 * with its date and figures in a title, and the colours counted in
 * words. */
static void ninety_daily_bars(void **state)
{
    struct fx f;
    struct hreply rp;
    const char *h, *strip, *end;
    (void)state;

    fx_init(&f, 1);
    fx_add(&f, "shop", "/etc/upmon/upmon.yaml", NULL, ST_UP, 200);
    fx_day(&f, 0, 0, 720, 0, ST_UP);
    fx_day(&f, 0, 1, 200, 1, ST_SERVER_ERROR);
    fx_day(&f, 0, 2, 100, 0, ST_REDIRECTING);
    fx_get(&f, page_handler, "/", "", &rp);
    h = rp.body.data;
    assert_reads_well(h);
    strip = strstr(h, "<ol class=\"days\"");
    assert_non_null(strip);
    end = strstr(strip, "</ol>");
    assert_non_null(end);
    assert_int_equal(mc_count(strip, "<li class=\"t-") - mc_count(end, "<li class=\"t-"), 90);
    /* The oldest day, 89 days back, had nothing; today leads to the end. */
    assert_true(at(strip, "<li class=\"t-none\" title=\"2025-12-16: no data\"></li>") <
                at(strip, "title=\"2026-03-12: no data\""));
    assert_non_null(strstr(strip, "<li class=\"t-warn\" title=\"2026-03-13: 100% up, worst "
                                  "redirecting\"></li><li class=\"t-down\" title=\"2026-03-14: "
                                  "99.50% up, worst server error\"></li><li class=\"t-ok\" "
                                  "title=\"2026-03-15: 100% up, worst up\"></li></ol>"));
    assert_non_null(strstr(end, "<small>1 up · 1 redirecting · 1 failing · 87 no data</small>"));
    free(rp.body.data);
    fx_free(&f);
}

/* Uptime over 24 h from the hours, over 7 and 30 days from the days;
 * rounded down, and "no data" without probes. */
static void uptime_figures(void **state)
{
    struct fx f;
    struct hreply rp;
    const char *h;
    (void)state;

    fx_init(&f, 2);
    fx_add(&f, "shop", "/etc/upmon/upmon.yaml", NULL, ST_UP, 200);
    fx_hour(&f, 0, 0, 100, 0, ST_UP);
    fx_hour(&f, 0, 3, 100, 1, ST_SERVER_ERROR); /* 1 in 200: 99.50% */
    fx_day(&f, 0, 0, 200, 1, ST_SERVER_ERROR);
    fx_day(&f, 0, 5, 9800, 0, ST_UP);    /* 1 in 10,000 over 7 days: 99.99% */
    fx_day(&f, 0, 20, 10000, 10, ST_UP); /* 11 in 20,000 over 30: 99.94% */
    fx_add(&f, "new", "/etc/upmon/upmon.yaml", NULL, ST_UNKNOWN, 0);
    fx_get(&f, page_handler, "/", "", &rp);
    h = rp.body.data;
    assert_reads_well(h);
    assert_non_null(strstr(h, "<td class=\"num\">123 ms</td><td class=\"num\">99.50%</td>"
                              "<td class=\"num\">99.99%</td><td class=\"num\">99.94%</td>"));
    assert_non_null(strstr(h, "<td class=\"num muted\">none</td><td class=\"num muted\">no "
                              "data</td><td class=\"num muted\">no data</td><td class=\"num "
                              "muted\">no data</td>"));
    assert_non_null(strstr(h, "<span class=\"muted\">no probe yet</span>"));
    free(rp.body.data);
    fx_free(&f);
}

static void assert_meaning(const char *h, int code)
{
    struct buf want = {0};

    buf_printf(&want, "<strong>%d ", code);
    markup_text(&want, codes_phrase(code));
    buf_printf(&want, "</strong><small>");
    markup_text(&want, codes_lookup(code)->meaning);
    buf_printf(&want, "</small>");
    if (!strstr(h, want.data))
        fail_msg("not found: %s", want.data);
    buf_free(&want);
}

/* The last answer's code with its phrase and the status table's meaning;
 * an unregistered code as its class reads it; no answer by its error. */
static void codes_with_phrase_and_meaning(void **state)
{
    struct fx f;
    struct hreply rp;
    const char *h;
    size_t i;
    (void)state;

    fx_init(&f, 4);
    i = fx_add(&f, "a", "/etc/upmon/upmon.yaml", NULL, ST_SERVER_ERROR, 503);
    f.hist[i].message = xstrdup("upstream said no");
    fx_add(&f, "b", "/etc/upmon/upmon.yaml", NULL, ST_UP, 200);
    fx_add(&f, "c", "/etc/upmon/upmon.yaml", NULL, ST_CLIENT_ERROR, 499);
    i = fx_add(&f, "d", "/etc/upmon/upmon.yaml", NULL, ST_UNREACHABLE, 0);
    f.hist[i].message = xstrdup("Failed to connect to example.org port 443");
    fx_get(&f, page_handler, "/", "", &rp);
    h = rp.body.data;
    assert_reads_well(h);
    assert_meaning(h, 503);
    assert_meaning(h, 200);
    assert_non_null(strstr(h, "<small class=\"msg\">upstream said no</small>"));
    assert_non_null(strstr(h, "<strong>499</strong><small>Unregistered, read as 400 Bad "
                              "Request: "));
    assert_non_null(strstr(h, "<strong>No answer: connect</strong><small class=\"msg\">Failed "
                              "to connect to example.org port 443</small>"));
    free(rp.body.data);
    fx_free(&f);
}

/* The incident under way, with its codes and errors; the last closed
 * ones folded. */
static void incidents_shown(void **state)
{
    struct fx f;
    struct hreply rp;
    const char *h;
    struct incident open = {.id = 3,
                            .start_ms = FX_NOW - 2 * FX_HOUR,
                            .worst = ST_SERVER_ERROR,
                            .ncodes = 2,
                            .codes = {503, 502},
                            .errors = 1u << PERR_TIMEOUT};
    struct incident old = {.id = 2,
                           .start_ms = FX_NOW - 2 * FX_DAY,
                           .end_ms = FX_NOW - 2 * FX_DAY + 12 * 60000,
                           .worst = ST_UNREACHABLE,
                           .errors = 1u << PERR_CONNECT};
    struct incident older = {.id = 1,
                             .start_ms = FX_NOW - 5 * FX_DAY,
                             .end_ms = FX_NOW - 5 * FX_DAY + FX_HOUR,
                             .worst = ST_CLIENT_ERROR,
                             .ncodes = 1,
                             .codes = {404}};
    (void)state;

    fx_init(&f, 2);
    fx_add(&f, "a", "/etc/upmon/upmon.yaml", NULL, ST_SERVER_ERROR, 503);
    htarget_add_incident(&f.hist[0], &open);
    htarget_add_incident(&f.hist[0], &older);
    htarget_add_incident(&f.hist[0], &old);
    fx_add(&f, "b", "/etc/upmon/upmon.yaml", NULL, ST_UP, 200);
    fx_get(&f, page_handler, "/", "", &rp);
    h = rp.body.data;
    assert_reads_well(h);
    assert_non_null(strstr(h, "<p class=\"open\"><span class=\"tag t-down\">open</span> since "
                              "<time datetime=\"2026-03-15T10:00:00.000Z\">10:00 UTC</time> (2h): "
                              "server error · 503, 502 · timeout</p>"));
    assert_non_null(strstr(h, "<details><summary>2 recent</summary><ul><li><time "
                              "datetime=\"2026-03-13T12:00:00.000Z\">2026-03-13 12:00 "
                              "UTC</time>, 12m: unreachable · connect</li><li>"));
    assert_non_null(strstr(h, "UTC</time>, 1h: client error · 404</li></ul></details>"));
    assert_non_null(strstr(h, "<span class=\"muted\">none</span>"));
    free(rp.body.data);
    fx_free(&f);
}

static void refresh_when_configured(void **state)
{
    struct fx f;
    struct hreply rp;
    (void)state;

    small_config(&f);
    f.cfg.http_refresh_ms = 0;
    fx_get(&f, page_handler, "/", "", &rp);
    assert_null(strstr(rp.body.data, "http-equiv=\"refresh\""));
    assert_null(strstr(rp.body.data, "reloads itself"));
    free(rp.body.data);
    f.cfg.http_refresh_ms = 1500; /* whole seconds, rounded up */
    fx_get(&f, page_handler, "/", "", &rp);
    assert_non_null(strstr(rp.body.data, "<meta http-equiv=\"refresh\" content=\"2\"/>"));
    free(rp.body.data);
    fx_free(&f);
}

/* The stylesheet is the page's only asset: from here, versioned, with
 * nothing it loads in turn. */
static void stylesheet(void **state)
{
    struct fx f;
    struct hreply rp, page;
    char link[80];
    (void)state;

    small_config(&f);
    fx_get(&f, page_css_handler, "/static/upmon.css", "", &rp);
    assert_int_equal(rp.status, 200);
    assert_string_equal(rp.content_type, "text/css; charset=utf-8");
    assert_non_null(strstr(rp.cache, "max-age=31536000"));
    assert_null(strstr(rp.body.data, "url("));
    assert_null(strstr(rp.body.data, "@import"));
    assert_non_null(strstr(rp.body.data, "prefers-color-scheme:dark"));
    /* Every colour class the markup uses has a rule. */
    assert_non_null(strstr(rp.body.data, ".days li.t-down"));
    assert_non_null(strstr(rp.body.data, ".tag.t-warn"));
    fx_get(&f, page_handler, "/", "", &page);
    snprintf(link, sizeof(link), "href=\"/static/upmon.css?v=%016llx\"",
             (unsigned long long)page_css_version());
    assert_non_null(strstr(page.body.data, link));
    assert_int_equal(mc_count(page.body.data, "href=\"/static/"), 1);
    assert_int_equal(mc_count(page.body.data, "src="), 0);
    free(rp.body.data);
    free(page.body.data);
    fx_free(&f);
}

/* Past PAGE_SIZE targets the overview lists groups with links, and each
 * group has pages of PAGE_SIZE. */
static void groups_paginated(void **state)
{
    struct fx f;
    struct hreply rp;
    const char *h;
    (void)state;

    fx_init(&f, 130);
    f.cfg.http_group_by = (char *)"team";
    for (size_t i = 0; i < 120; i++)
        fx_add(&f, "t", "/etc/upmon/upmon.yaml", "a b&c", i == 77 ? ST_SERVER_ERROR : ST_UP,
               i == 77 ? 500 : 200);
    for (size_t i = 0; i < 10; i++)
        fx_add(&f, "u", "/etc/upmon/upmon.yaml", NULL, ST_UP, 200);
    fx_get(&f, page_handler, "/", "", &rp);
    h = rp.body.data;
    assert_reads_well(h);
    assert_null(strstr(h, "<details class=\"group\""));
    assert_non_null(strstr(h, "<caption>2 groups; each links to its targets</caption>"));
    assert_non_null(strstr(h, "<tr class=\"r-down\"><th scope=\"row\"><a "
                              "href=\"/?group=a%20b%26c\">a b&amp;c</a></th><td "
                              "class=\"num\">120</td><td class=\"num\">1</td>"));
    assert_non_null(strstr(h, "<a href=\"/?group=\"><em>no team label</em></a>"));
    /* The failing one is listed in full with a link to its group. */
    assert_non_null(strstr(h, "<td><a href=\"/?group=a%20b%26c\">a b&amp;c</a></td>"));
    free(rp.body.data);

    fx_query(&f, "group", "a b&c", NULL, NULL);
    fx_get(&f, page_handler, "/", "", &rp);
    h = rp.body.data;
    assert_int_equal(rp.status, 200);
    assert_reads_well(h);
    assert_non_null(strstr(h, "<title>a b&amp;c · Example status</title>"));
    assert_non_null(strstr(h, "<caption>a b&amp;c: targets 1 to 50 of 120, the worst "
                              "first</caption>"));
    assert_int_equal(mc_count(h, "<ol class=\"days\""), PAGE_SIZE);
    assert_non_null(strstr(h, "<span>Page 1 of 3</span> <a rel=\"next\" "
                              "href=\"/?group=a%20b%26c&amp;page=2\">Next</a>"));
    assert_non_null(strstr(h, "<p class=\"overall t-down\">1 of 120 targets failing</p>"));
    /* The failing one leads its group's first page. */
    assert_true(at(h, "tag t-down\">server error") < at(h, "tag t-ok\">up"));
    free(rp.body.data);

    fx_query(&f, "group", "a b&c", "page", "3");
    fx_get(&f, page_handler, "/", "", &rp);
    assert_int_equal(rp.status, 200);
    assert_int_equal(mc_count(rp.body.data, "<ol class=\"days\""), 20);
    assert_non_null(strstr(rp.body.data, "<a rel=\"prev\" href=\"/?group=a%20b%26c&amp;page=2\">"));
    assert_null(strstr(rp.body.data, "rel=\"next\""));
    free(rp.body.data);

    fx_query(&f, "group", "", NULL, NULL);
    fx_get(&f, page_handler, "/", "", &rp);
    assert_int_equal(rp.status, 200);
    assert_int_equal(mc_count(rp.body.data, "<ol class=\"days\""), 10);
    assert_null(strstr(rp.body.data, "class=\"pager\""));
    free(rp.body.data);

    fx_query(&f, "group", "a b&c", "page", "4");
    fx_get(&f, page_handler, "/", "", &rp);
    assert_int_equal(rp.status, 404);
    assert_reads_well(rp.body.data);
    free(rp.body.data);

    static const char *const bad[] = {"0", "-1", "abc", "", "2x", "99999999999999999999"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        fx_query(&f, "group", "a b&c", "page", bad[i]);
        fx_get(&f, page_handler, "/", "", &rp);
        assert_int_equal(rp.status, 400);
        assert_reads_well(rp.body.data);
        free(rp.body.data);
    }
    fx_free(&f);
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Ten thousand targets in a hundred teams, 90 days and 24 hours of
 * history each, one in a hundred failing: each answer stays small. The
 * times are printed, not judged (sanitizers slow them tenfold). */
static void ten_thousand_targets(void **state)
{
    enum { N = 10000, TEAMS = 100 };
    static char names[N][16], teams[TEAMS][16];
    struct fx f;
    struct hreply rp;
    struct timespec t0;
    double ms;
    (void)state;

    fx_init(&f, N);
    f.cfg.http_group_by = (char *)"team";
    for (size_t t = 0; t < TEAMS; t++)
        snprintf(teams[t], sizeof(teams[t]), "team-%02zu", t);
    for (size_t i = 0; i < N; i++) {
        bool failing = i % 100 == 42;

        snprintf(names[i], sizeof(names[i]), "site-%05zu", i);
        fx_add(&f, names[i], "/etc/upmon/watch.d/all.yaml", teams[i % TEAMS],
               failing ? ST_SERVER_ERROR : ST_UP, failing ? 503 : 200);
        for (int d = 0; d < HIST_DAYS; d++)
            fx_day(&f, i, d, 8640, d == 3 ? 12 : 0, d == 3 ? ST_SERVER_ERROR : ST_UP);
        for (int hr = 0; hr < 25; hr++)
            fx_hour(&f, i, hr, 360, failing && hr < 3 ? 360 : 0, failing ? ST_SERVER_ERROR : ST_UP);
    }

    clock_gettime(CLOCK_MONOTONIC, &t0);
    fx_get(&f, page_handler, "/", "", &rp);
    ms = ms_since(&t0);
    assert_int_equal(rp.status, 200);
    assert_reads_well(rp.body.data);
    assert_non_null(strstr(rp.body.data, "100 of 10000 targets failing"));
    assert_int_equal(mc_count(rp.body.data, "<td><a href=\"/?group="), 100);
    assert_true(rp.body.len < 512 * 1024);
    printf("# 10,000 targets: overview %zu bytes in %.1f ms\n", rp.body.len, ms);
    free(rp.body.data);

    fx_query(&f, "group", "team-42", "page", "2");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fx_get(&f, page_handler, "/", "", &rp);
    ms = ms_since(&t0);
    assert_int_equal(rp.status, 200);
    assert_reads_well(rp.body.data);
    assert_int_equal(mc_count(rp.body.data, "<ol class=\"days\""), PAGE_SIZE);
    assert_true(rp.body.len < 1024 * 1024);
    printf("# 10,000 targets: a group's page of %d %zu bytes in %.1f ms\n", PAGE_SIZE, rp.body.len,
           ms);
    free(rp.body.data);
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(small_page_reads_well),
        cmocka_unit_test(hostile_text_is_escaped),
        cmocka_unit_test(failing_on_top),
        cmocka_unit_test(grouped_by_watch_file),
        cmocka_unit_test(ninety_daily_bars),
        cmocka_unit_test(uptime_figures),
        cmocka_unit_test(codes_with_phrase_and_meaning),
        cmocka_unit_test(incidents_shown),
        cmocka_unit_test(maintenance_shown),
        cmocka_unit_test(refresh_when_configured),
        cmocka_unit_test(stylesheet),
        cmocka_unit_test(groups_paginated),
        cmocka_unit_test(ten_thousand_targets),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
