/* The status page's stylesheet: its one external asset, from the daemon
 * itself (the CSP allows style-src 'self' and no inline style). Colours
 * come from classes: t-ok, t-warn, t-down and t-none (markup.h) on tags,
 * the summary, rows and the daily bars. Light and dark follow
 * prefers-color-scheme; text colours keep a contrast of at least 4.5:1
 * on their backgrounds in both. */
#include "page.h"

#include <string.h>

static const char css[] =
    ":root{color-scheme:light dark;--bg:#fff;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;"
    "--head:#f6f8fa;--link:#0969da;--ok:#1a7f37;--warn:#9a6700;--down:#cf222e;--none:#59636e;"
    "--on:#fff;--bar-none:#d1d9e0}\n"
    "@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;"
    "--line:#3d444d;--head:#151b23;--link:#4493f8;--ok:#3fb950;--warn:#d29922;--down:#f85149;"
    "--none:#9198a1;--on:#0d1117;--bar-none:#3d444d}}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0 auto;max-width:110rem;padding:1rem 1.5rem;background:var(--bg);"
    "color:var(--fg);font:15px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif}\n"
    "a{color:var(--link)}\n"
    "h1{font-size:1.6rem;margin:.2rem 0 .6rem}\n"
    "h2{font-size:1.25rem;margin:1.6rem 0 .6rem;border-bottom:1px solid var(--line);"
    "padding-bottom:.2rem}\n"
    "h3{display:inline;font-size:1.05rem;margin:0}\n"
    "small{display:block;color:var(--muted);font-size:.82em}\n"
    ".muted{color:var(--muted)}\n"
    ".overall{display:inline-block;margin:.2rem 0 .8rem;padding:.45rem .9rem;border-radius:6px;"
    "font-weight:600;font-size:1.1rem;color:var(--on);background:var(--none)}\n"
    ".overall.t-ok,.tag.t-ok{background:var(--ok)}\n"
    ".overall.t-warn,.tag.t-warn{background:var(--warn)}\n"
    ".overall.t-down,.tag.t-down{background:var(--down)}\n"
    ".counts{display:flex;flex-wrap:wrap;gap:.5rem;list-style:none;margin:0;padding:0}\n"
    ".counts li{border:1px solid var(--line);border-left:5px solid var(--none);border-radius:4px;"
    "padding:.2rem .7rem}\n"
    ".counts li.t-ok{border-left-color:var(--ok)}\n"
    ".counts li.t-warn{border-left-color:var(--warn)}\n"
    ".counts li.t-down{border-left-color:var(--down)}\n"
    ".tag{display:inline-block;margin:0 .3em .15em 0;padding:0 .45em;border-radius:1em;"
    "font-size:.85em;font-weight:600;white-space:nowrap;color:var(--on);background:var(--none)}\n"
    ".scroll{overflow-x:auto}\n"
    "table{border-collapse:collapse;width:100%;margin:.3rem 0 1rem;font-size:.93rem}\n"
    "table.groups{width:auto;min-width:min(100%,48rem)}\n"
    "h2::first-letter{text-transform:uppercase}\n"
    ".crumbs{margin-top:1rem}\n"
    "caption{text-align:left;color:var(--muted);padding:.2rem 0}\n"
    "th,td{text-align:left;vertical-align:top;padding:.4rem .45rem;"
    "border-bottom:1px solid var(--line)}\n"
    "thead th{background:var(--head);font-size:.85em;white-space:nowrap}\n"
    "thead th::first-letter{text-transform:uppercase}\n"
    /* Read aloud, not shown: the group's heading already says it. */
    ".vh{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);"
    "white-space:nowrap}\n"
    "tbody th{font-weight:600;min-width:9rem;max-width:16rem;overflow-wrap:anywhere}\n"
    "tr.r-down>th:first-child{box-shadow:inset 4px 0 var(--down)}\n"
    "tr.r-warn>th:first-child{box-shadow:inset 4px 0 var(--warn)}\n"
    ".name{display:block}\n"
    "a.url{display:block;max-width:15rem;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;"
    "font-weight:400;font-size:.8em;color:var(--muted)}\n"
    ".targets td:nth-child(3){min-width:11rem;max-width:16rem}\n"
    ".targets td:last-child{min-width:10rem}\n"
    ".targets td:nth-child(2){min-width:8rem}\n"
    ".msg{overflow-wrap:anywhere;font-family:ui-monospace,monospace}\n"
    ".num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}\n"
    ".targets thead th:nth-child(n+4):nth-child(-n+7),.groups thead th+th{text-align:right}\n"
    "abbr{text-decoration:none}\n"
    /* The strip takes the room its column has: 2 to 3 pixels a day. */
    ".days{display:flex;gap:1px;list-style:none;margin:.15rem 0;padding:0;height:1.7rem;"
    "min-width:179px;max-width:270px}\n"
    ".days li{flex:1 1 0;background:var(--bar-none)}\n"
    ".targets td:nth-child(8){width:270px}\n"
    ".days li.t-ok{background:var(--ok)}\n"
    ".days li.t-warn{background:var(--warn)}\n"
    ".days li.t-down{background:var(--down)}\n"
    ".days li:hover{outline:1px solid var(--fg)}\n"
    "p.open{margin:0 0 .3rem}\n"
    "details ul{margin:.2rem 0;padding-left:1.1rem;font-size:.85em}\n"
    "details.group{margin:.4rem 0 1rem}\n"
    "details.group>summary{cursor:pointer;padding:.3rem 0}\n"
    ".gcounts{color:var(--muted);margin-left:.5rem}\n"
    ".pager{margin:.5rem 0}\n"
    ".pager a,.pager span{margin-right:.8rem}\n"
    "footer{margin-top:2rem;color:var(--muted);font-size:.85em}\n";

uint64_t page_css_version(void)
{
    return hash64(css);
}

void page_css_handler(const struct view *v, const struct hrequest *rq, struct hreply *rp)
{
    (void)v;
    (void)rq;
    rp->content_type = "text/css; charset=utf-8";
    /* The page links it as upmon.css?v=VERSION: a new stylesheet is a new
     * address, so the old one can be kept as long as a browser likes. */
    rp->cache = "public, max-age=31536000, immutable";
    buf_append(&rp->body, css, sizeof(css) - 1);
}
