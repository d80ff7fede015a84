#!/usr/bin/env python3
"""The status page in a real browser: upmond watches fixture sites in
three teams (some up, one redirecting, one failing with an incident),
serves / on a loopback port, and headless Chromium loads it. The rendered
page shows every target, its state and uptime figures, has nothing that
needs JavaScript (no script, no handler), and breaks no rule of the
Content-Security-Policy the server sends; the badges and the stylesheet are served as the page links
them. The screenshot is saved in the test's directory, and also where
UPMON_SCREENSHOT names (the README's docs/status-page.png)."""
import html.parser
import os
import re
import shutil
import subprocess
import urllib.error
import urllib.request

import harness as h

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CSP_DIRECTIVES = ("default-src 'none'", "style-src 'self'", "frame-ancestors 'none'")


class Dom(html.parser.HTMLParser):
    """What the checks need of a document: its text, the text of each
    table row, the attributes every element had, and its elements."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.parts, self.rows, self.row, self.tags, self.attrs = [], [], None, [], []
        self.feed(text)
        self.close()
        self.text = " ".join(" ".join(self.parts).split())

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)
        if tag == "tr":
            self.row = []

    def handle_endtag(self, tag):
        if tag == "tr" and self.row is not None:
            self.rows.append(" ".join(" ".join(self.row).split()))
            self.row = None

    def handle_data(self, data):
        self.parts.append(data)
        if self.row is not None:
            self.row.append(data)

    def rows_of(self, name):
        """The table rows whose first cell is the target name."""
        return [r for r in self.rows if r.split(" ")[0] == name]


def get(url):
    """(status, headers, body) of a GET, whatever the status."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def chromium(d, *args):
    """Runs headless Chromium with a profile of its own in d; returns the
    completed process (stdout: the DOM when asked, stderr: its log)."""
    if not CHROMIUM:
        raise h.Skip("chromium is not installed (apt-get install chromium)")
    profile = os.path.join(d, "chromium-%d" % len(os.listdir(d)))
    p = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                        "--no-first-run", "--disable-extensions", "--user-data-dir=" + profile,
                        "--enable-logging=stderr", "--v=0"] + list(args),
                       capture_output=True, text=True, timeout=90)
    assert p.returncode == 0, p.stderr[-2000:]
    return p


def start(d, srv):
    """upmond on three teams' watch lists; the base URL of its page."""
    port = h.free_port()
    os.makedirs(os.path.join(d, "watch.d"))
    srv.get("/_set?name=pay&status=200")
    srv.get("/_set?name=blog&status=200")
    h.write(os.path.join(d, "watch.d", "web.yaml"),
            "defaults: {labels: {team: web}}\ntargets:\n"
            "  - {name: shop, url: '%s'}\n"
            "  - {name: blog, url: '%s', failure_threshold: 1}\n"
            "  - {name: docs, url: '%s'}\n"
            % (srv.url("/site/shop"), srv.url("/site/blog"),
               srv.url("/status/301?location=/docs/en/")))
    h.write(os.path.join(d, "watch.d", "platform.yaml"),
            "defaults: {labels: {team: platform}}\ntargets:\n"
            "  - {name: api, url: '%s'}\n"
            "  - {name: auth, url: '%s'}\n"
            "  - {name: search, url: '%s'}\n"
            % (srv.url("/status/200"), srv.url("/status/204"), srv.url("/slow/30")))
    h.write(os.path.join(d, "watch.d", "payments.yaml"),
            "defaults: {labels: {team: payments}}\ntargets:\n"
            "  - {name: checkout, url: '%s', failure_threshold: 1}\n"
            "  - {name: invoices, url: '%s'}\n"
            % (srv.url("/site/pay"), srv.url("/status/200")))
    cfg = h.config(d, "http:\n  listen: ['127.0.0.1:%d']\n  title: Example Corp status\n"
                      "  group_by: team\n  refresh: 30s\n"
                      "defaults: {interval: 2s, timeout: 2s, failure_threshold: 3}\n"
                      "watch: [watch.d/*.yaml]\n" % port)
    dm = h.Daemon(["-c", cfg, "--state-dir", os.path.join(d, "state")])
    base = "http://127.0.0.1:%d" % port
    h.wait_until(lambda: _answers(base), 20, "the status page")
    return dm, base


def _answers(base):
    try:
        return get(base + "/")[0] == 200
    except OSError:
        return False


def page_text(base):
    return Dom(get(base + "/")[2]).text


def test_status_page_in_chromium():
    srv = h.http_fixture()
    d = h.tmpdir()
    dm, base = start(d, srv)
    # blog fails and recovers: a closed incident; checkout fails and stays
    # failing: the incident under way.
    h.wait_until(lambda: "not probed yet" not in page_text(base), 20, "every target probed")
    srv.get("/_set?name=blog&status=502")
    h.wait_until(lambda: "blog" in Dom(get(base + "/")[2]).text.split("Failing now")[1]
                 .split("By team")[0], 20, "blog failing")
    srv.get("/_set?name=blog&status=200")
    srv.get("/_set?name=pay&status=503")
    # One failing is blog too, before its next probe: checkout it must be.
    h.wait_until(lambda: (lambda t: "1 of 8 targets failing" in t and
                          "checkout" in t.split("Failing now")[1].split("By team")[0])(
                     page_text(base)), 20,
                 lambda: "checkout alone failing; page says: " + page_text(base)[:300])

    status, headers, body = get(base + "/")
    assert headers.get_content_type() == "text/html", headers
    csp = headers.get("Content-Security-Policy", "")
    for directive in CSP_DIRECTIVES:
        assert directive in csp, ("CSP", csp)

    # What the browser rendered.
    dom = Dom(chromium(d, "--dump-dom", base + "/").stdout)
    assert "Example Corp status" in dom.text
    assert "1 of 8 targets failing" in dom.text, dom.text[:400]
    states = {"shop": "up", "blog": "up", "docs": "redirecting", "api": "up", "auth": "up",
              "search": "up", "checkout": "server error", "invoices": "up"}
    for name, state in states.items():
        rows = dom.rows_of(name)
        assert rows, (name, dom.rows)
        row = rows[-1]  # its full row in its group (a failing one is listed first too)
        assert " %s since " % state in row, (name, row)
        # Latency, then uptime over 24 h, 7 d and 30 d: all probed today.
        figures = re.search(r" \d+ ms (\d+(?:\.\d\d)?%) (\d+(?:\.\d\d)?%) (\d+(?:\.\d\d)?%) ", row)
        assert figures, (name, row)
        if name in ("checkout", "blog"):
            assert figures.group(1) != "100%", (name, row)
    checkout = dom.rows_of("checkout")[-1]
    assert "503 Service Unavailable" in checkout, checkout
    assert "open since" in checkout and "server error · 503" in checkout, checkout
    blog = dom.rows_of("blog")[-1]
    assert "1 recent" in blog and "server error · 502" in blog, blog
    assert "301 Moved Permanently" in dom.rows_of("docs")[-1]
    for team in ("payments", "platform", "web"):
        assert re.search(r"\b%s \d targets?\b" % team, dom.text), (team, dom.text[:600])

    # Nothing a strict CSP would refuse, nothing from elsewhere.
    assert not {"script", "style", "iframe", "object", "embed"} & set(dom.tags), dom.tags
    assert not [a for a, _ in dom.attrs if a == "style" or a.startswith("on")], dom.attrs
    assert len([v for a, v in dom.attrs if a == "href" and v.startswith("/static/")]) == 1
    assert not [v for a, v in dom.attrs if a == "src"], dom.attrs

    # The screenshot, with the log of the browser that drew it: a CSP
    # violation would be logged there.
    shot = os.path.join(d, "status-page.png")
    p = chromium(d, "--screenshot=" + shot, "--window-size=1280,1600", "--hide-scrollbars",
                 base + "/")
    for line in p.stderr.splitlines():
        assert "Content Security Policy" not in line and "Refused to" not in line, line
    with open(shot, "rb") as f:
        png = f.read()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20000, len(png)
    out = os.environ.get("UPMON_SCREENSHOT")
    if out:
        shutil.copyfile(shot, out)
        h.note("screenshot saved to " + out)

    # The stylesheet as linked, and the badges.
    css = re.search(r'href="(/static/upmon\.css\?v=[0-9a-f]+)"', body).group(1)
    status, headers, _ = get(base + css)
    assert status == 200 and headers.get_content_type() == "text/css", (status, headers)
    assert "max-age=" in headers.get("Cache-Control", ""), headers
    status, headers, svg = get(base + "/badge/checkout.svg")
    assert status == 200 and headers.get_content_type() == "image/svg+xml", (status, headers)
    assert ">server error</text>" in svg, svg
    status, _, svg = get(base + "/badge/shop.svg?type=uptime&window=7d")
    assert status == 200 and 'aria-label="shop 7d: 100%"' in svg, svg
    status, _, svg = get(base + "/badge/nope.svg")
    assert status == 404 and ">not found</text>" in svg, (status, svg)
    rc, _ = dm.stop()
    assert rc == 0, dm.log()


h.main(globals())
