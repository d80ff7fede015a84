#!/usr/bin/env python3
"""upmond --once against a real HTTP server: every code of the seed table
and those registered since, unregistered and invalid codes, redirects, the
transport failures by category, body checks, policies and exit codes."""
import json
import os
import re
import socket
import time
import urllib.parse

import harness as h

SEED = os.path.join(h.SRC, "tests", "unit", "data", "http-response-codes.txt")
CLASSES = {1: "informational", 2: "success", 3: "redirection", 4: "client_error",
           5: "server_error"}


# The phrase upmond must report for each code: the seed's own (with its typo
# "Satisfable" corrected) and, for the codes registered since, the IANA
# registry's. None: the code is not registered.
PHRASES = {
    100: "Continue", 101: "Switching Protocols", 102: "Processing", 103: "Early Hints",
    200: "OK", 201: "Created", 202: "Accepted", 203: "Non-Authoritative Information",
    204: "No Content", 205: "Reset Content", 206: "Partial Content", 207: "Multi-Status",
    208: "Already Reported", 226: "IM Used",
    300: "Multiple Choices", 301: "Moved Permanently", 302: "Found", 303: "See Other",
    304: "Not Modified", 305: "Use Proxy", 306: "(Unused)", 307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
    407: "Proxy Authentication Required", 408: "Request Timeout", 409: "Conflict", 410: "Gone",
    411: "Length Required", 412: "Precondition Failed", 413: "Request Entity Too Large",
    414: "Request-URI Too Long", 415: "Unsupported Media Type",
    416: "Requested Range Not Satisfiable", 417: "Expectation Failed",
    421: "Misdirected Request", 422: "Unprocessable Content", 423: "Locked",
    424: "Failed Dependency", 425: "Too Early", 426: "Upgrade Required",
    427: None,  # unassigned
    428: "Precondition Required", 429: "Too Many Requests",
    431: "Request Header Fields Too Large", 451: "Unavailable For Legal Reasons",
    500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout", 505: "HTTP Version Not Supported",
    506: "Variant Also Negotiates", 507: "Insufficient Storage", 508: "Loop Detected",
    510: "Not Extended", 511: "Network Authentication Required",
    # Unregistered: read as the x00 of their class (RFC 9110, 15).
    299: None, 418: None, 599: None,
}


# A name that does not resolve, and whose lookup stays on this host: .invalid
# never resolves (RFC 6761), and with a label over 63 bytes the C library
# cannot even encode the query, so no packet goes to the name server.
UNRESOLVABLE = "x" * 64 + ".invalid"


def seed_codes():
    """The codes of the seed table, its "41416" read as 416."""
    codes = []
    for line in open(SEED):
        m = re.match(r"^(\d{3,5}) ", line)
        if m:
            code = int(m.group(1))
            codes.append(416 if code == 41416 else code)
    assert len(codes) == 41, codes
    assert codes == (list(range(100, 102)) + list(range(200, 207)) + list(range(300, 308)) +
                     list(range(400, 418)) + list(range(500, 506))), codes
    return codes


def expected(code):
    """(class, severity, state) of a code when the target sets no policy."""
    cls = CLASSES[code // 100]
    if code // 100 == 2:
        return cls, "ok", "up"
    if code // 100 == 1:
        return cls, "warning", "unexpected"
    if code // 100 == 3:
        return cls, "warning", "redirecting"
    return cls, "critical", "client_error" if code < 500 else "server_error"


def targets_yaml(srv, items, extra=""):
    out = ["defaults: {timeout: 3s}", "targets:"]
    for name, path, more in items:
        out.append('  - {name: %s, url: "%s"%s}' % (name, srv.url(path), more))
    return "\n".join(out) + "\n" + extra


def test_every_code_of_the_seed_table_and_since():
    srv = h.http_fixture()
    d = h.tmpdir()
    codes = sorted(set(seed_codes()) | set(PHRASES))
    for must in [308] + list(range(421, 430)) + [451, 511, 299, 418, 599]:
        assert must in codes, must
    cfg = h.config(d, targets_yaml(srv, [("c%d" % c, "/status/%d" % c, "") for c in codes]))
    rc, res, p = h.once_json(cfg)
    assert rc == 2, (rc, p.stderr)  # the worst is critical (4xx, 5xx)
    assert sorted(res) == sorted("c%d" % c for c in codes), sorted(res)
    bad = []
    for c in codes:
        r = res["c%d" % c]
        cls, sev, state = expected(c)
        want = {"target": "c%d" % c, "url": srv.url("/status/%d" % c), "code": c,
                "phrase": PHRASES[c], "class": cls, "severity": sev, "state": state,
                "error": None, "location": None}
        got = {k: r.get(k, "(missing)") for k in want}
        if got != want:
            bad.append("%d: got %s, want %s" % (c, got, want))
        if not isinstance(r.get("latency_ms"), (int, float)) or r["latency_ms"] < 0:
            bad.append("%d: latency_ms %r" % (c, r.get("latency_ms")))
    assert not bad, "\n".join(bad)


def test_codes_outside_100_599_are_protocol_errors():
    srv = h.http_fixture()
    d = h.tmpdir()
    cfg = h.config(d, targets_yaml(srv, [("c600", "/status/600", ""), ("c999", "/status/999", ""),
                                         ("c099", "/status/99", "")]))
    rc, res, _ = h.once_json(cfg)
    assert rc == 2
    for name in ("c600", "c999", "c099"):
        r = res[name]
        assert r["class"] == "transport_error", r
        assert r["error"] == "protocol", r
        assert r["severity"] == "critical", r
        assert r["state"] == "unreachable", r
        assert r["phrase"] is None, r
    # A three-digit code outside the range is what the server said: shown.
    for code in (600, 999):
        r = res["c%d" % code]
        assert r["code"] == code, r
        assert r["message"] == "status code %d is outside 100-599" % code, r


def test_redirects_seen_not_followed_unless_asked():
    srv = h.http_fixture()
    d = h.tmpdir()
    to = srv.url("/status/200")
    srv.get("/_set?name=loop&status=302&location=/site/loop")
    cfg = h.config(d, targets_yaml(srv, [
        ("plain", "/status/301?location=%s" % to, ""),
        ("relative", "/status/307?location=/elsewhere", ""),
        ("followed", "/status/302?location=%s" % to, ", follow_redirects: true"),
        ("followed_to_error", "/status/302?location=/status/503", ", follow_redirects: true"),
        ("loop", "/site/loop", ", follow_redirects: true"),
        ("expected", "/status/308?location=%s" % to, ", expect: [308]"),
    ]))
    rc, res, _ = h.once_json(cfg)
    plain = res["plain"]
    assert (plain["code"], plain["class"], plain["state"], plain["severity"], plain["error"],
            plain["location"]) == (301, "redirection", "redirecting", "warning", None, to), plain
    # A relative Location is reported as the absolute URL it leads to.
    assert res["relative"]["location"] == srv.url("/elsewhere"), res["relative"]
    assert res["relative"]["state"] == "redirecting", res["relative"]
    # Followed: the final answer is judged, and no redirect is left to report.
    assert res["followed"]["code"] == 200, res["followed"]
    assert res["followed"]["state"] == "up", res["followed"]
    assert res["followed"]["location"] is None, res["followed"]
    assert res["followed_to_error"]["code"] == 503, res["followed_to_error"]
    assert res["followed_to_error"]["state"] == "server_error", res["followed_to_error"]
    # An endless chain ends in an error, not in a hang.
    assert res["loop"]["state"] == "unreachable", res["loop"]
    assert res["loop"]["error"] == "protocol", res["loop"]
    assert res["loop"]["severity"] == "critical", res["loop"]
    assert res["expected"]["state"] == "up", res["expected"]
    assert res["expected"]["severity"] == "ok", res["expected"]
    assert res["expected"]["location"] == to, res["expected"]
    assert rc == 2  # the loop is critical


def test_followed_redirects_hop_by_hop():
    """upmond follows redirects itself, one request after another, as a
    browser does: a 303, and a 301 or 302 to a POST, turn the request into
    a GET; a 307 or 308 repeats it; a 300, or a Location to a scheme that is
    not http or https, is the answer; one timeout covers every request;
    the timings count from the start of the first; the eleventh redirect
    is an error."""
    srv = h.http_fixture()
    d = h.tmpdir()
    srv.get("/_set?name=slow1&status=302&location=/site/slow2&delay=400")
    srv.get("/_set?name=slow2&status=200&body=there&delay=400")
    srv.get("/_set?name=loop&status=302&location=/site/loop")
    follow = ", follow_redirects: true"
    cfg = h.config(d, targets_yaml(srv, [
        ("see_other", "/status/303?location=/status/200%3Fsee_other", follow
         + ", method: PUT, body: x"),
        ("temporary", "/status/307?location=/status/200%3Ftemporary", follow
         + ", method: POST, body: x"),
        ("found_post", "/status/302?location=/status/200%3Ffound_post", follow
         + ", method: POST"),
        ("found_put", "/status/302?location=/status/200%3Ffound_put", follow + ", method: PUT"),
        ("head", "/status/303?location=/status/200%3Fhead", follow + ", method: HEAD"),
        ("choices", "/status/300?location=/status/200", follow),
        ("ftp", "/status/302?location=ftp://127.0.0.1/file", follow),
        ("slow", "/site/slow1", follow + ", body_contains: there"),
        ("late", "/site/slow1", follow + ", timeout: 600ms, interval: 1s"),
        ("loop", "/site/loop", follow),
    ]))
    rc, res, p = h.once_json(cfg)
    for name in ("see_other", "temporary", "found_post", "found_put", "head", "slow"):
        assert (res[name]["code"], res[name]["state"]) == (200, "up"), res[name]
    seen = {}
    for path, _, method in srv.json("/_log"):
        seen.setdefault(path, []).append(method)
    # Each redirect asked with the target's method, and followed with the
    # method the status says.
    assert sorted(seen["/status/303"]) == ["HEAD", "PUT"], seen
    assert seen["/status/307"] == ["POST"], seen
    assert sorted(seen["/status/302"]) == ["GET", "POST", "PUT"], seen  # ftp, found_*
    assert sorted(seen["/status/200"]) == ["GET", "GET", "HEAD", "POST", "PUT"], seen
    # Not followed: the answer is judged, and its Location reported.
    assert (res["choices"]["code"], res["choices"]["state"]) == (300, "redirecting"), res
    assert res["ftp"]["location"] == "ftp://127.0.0.1/file", res["ftp"]
    assert res["ftp"]["state"] == "redirecting", res["ftp"]
    # Two answers of 400 ms each: counted from the start of the first.
    t = res["slow"]["timings"]
    assert 800 <= t["first_byte_ms"] <= t["total_ms"] == res["slow"]["latency_ms"], t
    assert t["dns_ms"] <= t["connect_ms"] <= t["first_byte_ms"], t
    # One timeout for the whole probe, not one per request.
    assert (res["late"]["state"], res["late"]["error"]) == ("unreachable", "timeout"), res["late"]
    assert res["late"]["latency_ms"] < 800, res["late"]
    assert (res["loop"]["error"], res["loop"]["message"]) == (
        "protocol", "Maximum (10) redirects followed"), res["loop"]
    assert seen["/site/loop"] == ["GET"] * 11, seen


def test_redirect_location_whatever_the_body():
    """Real servers send a body with their redirects; the Location is read
    from the header all the same, and a relative one is resolved against
    the URL asked, as RFC 9110 says."""
    srv = h.http_fixture()
    d = h.tmpdir()
    to = srv.url("/status/200")
    page = urllib.parse.quote("<html><body><h1>Moved</h1>" + "x" * 2000 + "</body></html>")
    cfg = h.config(d, targets_yaml(srv, [
        ("html", "/status/301?location=%s&body=%s" % (urllib.parse.quote(to), page), ""),
        ("dotdot", "/status/302?location=../up&body=%s" % page, ""),
        ("query", "/status/303?location=%s&body=moved" % urllib.parse.quote("?page=2"), ""),
        ("none", "/status/302?body=nowhere", ""),
    ]))
    rc, res, _ = h.once_json(cfg)
    assert res["html"]["location"] == to, res["html"]
    assert res["dotdot"]["location"] == srv.url("/up"), res["dotdot"]
    assert res["query"]["location"] == srv.url("/status/303?page=2"), res["query"]
    assert res["none"]["location"] is None, res["none"]


def test_a_real_nginx():
    """nginx's `return 301` sends an HTML body with the redirect; a page of
    its own is read to the end, and with a cap, as far as the cap."""
    d = h.tmpdir()
    page = h.write(os.path.join(d, "page.html"), "<html>" + "y" * 300000 + "</html>\n")
    ngx = h.Nginx("    location = /moved { return 301 https://example.test/new; }\n"
                  "    location = /rel { return 302 /there; }\n"
                  "    location = /ok { return 200 'fine'; }\n"
                  "    location = /page { alias %s; }" % page)
    cfg = h.config(d, "targets:\n" + "".join(
        '  - {name: %s, url: "%s"}\n' % (n, ngx.url("/" + n)) for n in ("moved", "rel", "ok")) +
        '  - {name: page, url: "%s", body_regex: "y</html>"}\n' % ngx.url("/page") +
        '  - {name: capped, url: "%s", body_regex: "y</html>", max_body: 64KiB}\n'
        % ngx.url("/page"))
    rc, res, p = h.once_json(cfg)
    assert res["page"]["state"] == "up", res["page"]
    assert res["capped"]["state"] == "content", res["capped"]
    assert res["moved"]["code"] == 301 and res["moved"]["state"] == "redirecting", res["moved"]
    assert res["moved"]["location"] == "https://example.test/new", res["moved"]
    assert res["rel"]["location"] == ngx.url("/there"), res["rel"]
    assert res["ok"]["state"] == "up", res["ok"]
    assert rc == 2, (rc, p.stdout)  # the capped check is critical


def test_only_redirects_exit_1():
    srv = h.http_fixture()
    d = h.tmpdir()
    cfg = h.config(d, targets_yaml(srv, [
        ("ok", "/status/200", ""),
        ("moved", "/status/301?location=/new", ""),
    ]))
    rc, res, p = h.once_json(cfg)
    assert rc == 1, (rc, p.stdout, p.stderr)  # the worst is the redirect's warning
    assert res["ok"]["severity"] == "ok" and res["moved"]["severity"] == "warning", res


def test_ip_version():
    """ip_version pins the address family: the fixture listens on
    127.0.0.1 only, so IPv4 reaches it and either reaches it. IPv6 pinned
    against that IPv4 address could never connect: that is the
    configuration's error, said before any probe, the same under every
    libcurl (curl 8.21 no longer applies the pin to an address, and would
    connect)."""
    srv = h.http_fixture()
    d = h.tmpdir()
    cfg = h.config(d, targets_yaml(srv, [
        ("v4", "/status/200", ", ip_version: 4"),
        ("any", "/status/200", ""),
    ]))
    rc, res, p = h.once_json(cfg)
    assert rc == 0, (rc, p.stdout, p.stderr)
    assert res["v4"]["code"] == 200 and res["any"]["code"] == 200, res

    cfg = h.config(d, targets_yaml(srv, [
        ("v4", "/status/200", ", ip_version: 4"),
        ("v6", "/status/200", ", ip_version: 6"),
    ]))
    rc, res, p = h.once_json(cfg)
    assert rc == 78 and res == {}, (rc, p.stdout, p.stderr)
    assert re.search(r":4:\d+: ip_version 6 cannot reach 127\.0\.0\.1, the IPv4 address of url$",
                     p.stderr, re.M), p.stderr


def test_the_whole_answer_is_read():
    """By default a probe reads the answer to its end, as a browser does: a
    body that stalls is a timeout, one cut short is truncated; read_body:
    false judges at the headers; max_body caps what is read."""
    srv = h.http_fixture()
    d = h.tmpdir()
    cfg = h.config(d, targets_yaml(srv, [
        ("stall", "/stall", ", timeout: 1s"),
        ("stall_headers", "/stall", ", timeout: 1s, read_body: false"),
        ("short", "/short", ""),
        ("short_headers", "/short", ", read_body: false"),
        ("huge", "/huge", ", max_body: 64KiB"),
        ("huge_check", "/huge", ", max_body: 64KiB, body_contains: nowhere"),
        ("page", "/body?text=" + "x" * 3000, ", body_contains: xxx"),
    ]))
    rc, res, p = h.once_json(cfg)
    stall, short = res["stall"], res["short"]
    assert (stall["code"], stall["state"], stall["error"]) == (200, "unreachable", "timeout"), stall
    assert (short["code"], short["state"], short["error"]) == (200, "unreachable",
                                                              "truncated"), short
    assert res["stall_headers"]["state"] == "up", res["stall_headers"]
    assert res["short_headers"]["state"] == "up", res["short_headers"]
    assert res["huge"]["state"] == "up", res["huge"]
    assert res["huge_check"]["state"] == "content", res["huge_check"]
    assert "in the first 65536 bytes" in res["huge_check"]["message"], res["huge_check"]
    assert res["page"]["state"] == "up", res["page"]
    assert rc == 2, (rc, p.stdout)


def test_ip_version_against_a_real_nginx_on_both_loopbacks():
    """nginx listens on 127.0.0.1 and [::1]: each address is reached over
    its own version, and pinning the other version against an address is
    the configuration's error, found before any probe (nginx answers on
    both, so a probe let through would have reached it)."""
    try:
        socket.socket(socket.AF_INET6).bind(("::1", 0))
    except OSError:
        raise h.Skip("no IPv6 loopback here")
    ngx = h.Nginx("    location = /ok { return 200 'fine'; }", ipv6=True)
    d = h.tmpdir()

    def targets(cases):
        return "targets:\n" + "".join(
            '  - {name: %s, url: "%s", ip_version: %s}\n' % (n, ngx.url("/ok", host), v)
            for n, host, v in cases)

    cfg = h.config(d, targets([("v6_on_v6", "[::1]", 6), ("any_on_v6", "[::1]", "any"),
                               ("v4_on_v4", "127.0.0.1", 4), ("any_on_v4", "127.0.0.1", "any")]))
    rc, res, p = h.once_json(cfg)
    assert rc == 0, (rc, p.stdout, p.stderr)
    assert all(r["state"] == "up" for r in res.values()) and len(res) == 4, res

    cfg = h.config(d, targets([("v4_on_v6", "[::1]", 4), ("v6_on_v4", "127.0.0.1", 6)]))
    rc, res, p = h.once_json(cfg)
    assert rc == 78 and res == {}, (rc, p.stdout, p.stderr)
    assert ":2:" in p.stderr and "ip_version 4 cannot reach [::1], the IPv6 address" in p.stderr
    assert ":3:" in p.stderr and "ip_version 6 cannot reach 127.0.0.1, the IPv4" in p.stderr


def test_transport_failures_by_category():
    srv = h.http_fixture()
    d = h.tmpdir()
    closed = h.free_port()
    cfg = h.config(d, "\n".join([
        "targets:",
        '  - {name: slow, url: "%s", timeout: 300ms}' % srv.url("/slow/5000"),
        '  - {name: hang, url: "%s", timeout: 300ms}' % srv.url("/hang"),
        '  - {name: reset, url: "%s"}' % srv.url("/reset"),
        '  - {name: close, url: "%s"}' % srv.url("/close"),
        '  - {name: garbage, url: "%s"}' % srv.url("/garbage"),
        '  - {name: refused, url: "http://127.0.0.1:%d/"}' % closed,
        '  - {name: nxdomain, url: "http://%s/"}' % UNRESOLVABLE,
        '  - {name: tls, url: "https://127.0.0.1:%d/"}' % srv.port,
    ]) + "\n")
    t0 = time.monotonic()
    rc, res, p = h.once_json(cfg)
    took = time.monotonic() - t0
    assert rc == 2
    want = {"slow": "timeout", "hang": "timeout", "reset": "reset", "close": "reset",
            "garbage": "protocol", "refused": "connect", "nxdomain": "dns", "tls": "tls"}
    for name, err in want.items():
        r = res[name]
        assert r["error"] == err, (name, r)
        assert r["class"] == "transport_error", r
        assert r["state"] == "unreachable", r
        assert r["severity"] == "critical", r
        assert r["code"] is None, r
        assert r["message"], r  # curl's own words
    # A timeout ends the probe at its timeout.
    assert 250 <= res["slow"]["latency_ms"] < 2000, res["slow"]
    assert 250 <= res["hang"]["latency_ms"] < 2000, res["hang"]
    # Probes run concurrently: the whole run is about one timeout, not many.
    assert took < 3.0, took


def test_probes_run_concurrently():
    """40 answers of 400 ms each: one loop runs them side by side, so the run
    takes about one of them, not 16 seconds."""
    srv = h.http_fixture()
    d = h.tmpdir()
    n = 40
    cfg = h.config(d, targets_yaml(srv, [("s%d" % i, "/slow/400", "") for i in range(n)]))
    rc, res, p = h.once_json(cfg)
    assert rc == 0, (rc, p.stderr)
    assert len(res) == n and all(r["state"] == "up" for r in res.values()), res
    assert all(r["latency_ms"] >= 400 for r in res.values()), res
    assert p.elapsed < 5.0, p.elapsed  # one after another: 16 s


def test_tls():
    srv = h.tls_fixture(days=30)
    d = h.tmpdir()
    cfg = h.config(d, targets_yaml(srv, [
        ("verified", "/status/200", ""),
        ("unverified", "/status/200", ", tls_verify: false"),
    ]))
    rc, res, _ = h.once_json(cfg)
    assert res["verified"]["error"] == "tls", res["verified"]  # self-signed
    assert res["unverified"]["state"] == "up", res["unverified"]
    assert res["unverified"]["timings"]["tls_ms"] is not None
    # The certificate's end is read from the connection: 30 days from now.
    end = time.mktime(time.strptime(res["unverified"]["cert_expires"][:19],
                                    "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert abs(end - (time.time() + 30 * 86400)) < 120, res["unverified"]["cert_expires"]
    # A certificate alone: it is the one that ends first.
    assert res["unverified"]["cert_subject"] == "CN=127.0.0.1", res["unverified"]
    assert res["unverified"]["cert_issuer"] == "CN=127.0.0.1", res["unverified"]
    assert rc == 2


def test_tls_chain_names_the_certificate_that_ends_first():
    """A site whose intermediate ends before its own certificate: the
    intermediate is the one reported, by name."""
    srv = h.tls_chain_fixture(leaf_days=60, intermediate_days=5)
    d = h.tmpdir()
    cfg = h.config(d, targets_yaml(srv, [("chain", "/status/200", ", tls_verify: false")]))
    rc, res, p = h.once_json(cfg)
    r = res["chain"]
    assert rc == 0 and r["state"] == "up", (rc, r, p.stderr)
    assert r["cert_subject"] == srv.intermediate, r
    assert r["cert_issuer"] == srv.root, r
    end = time.mktime(time.strptime(r["cert_expires"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert abs(end - (time.time() + 5 * 86400)) < 120, r["cert_expires"]


def test_huge_body_is_not_read():
    """/huge sends an endless body: a probe without a body check stops at the
    first byte, one with a check at the match or at the body cap."""
    srv = h.http_fixture()
    d = h.tmpdir()
    cfg = h.config(d, targets_yaml(srv, [
        ("status_only", "/huge", ""),
        ("needle", "/huge", ', body_contains: "needle"'),
        ("found", "/huge", ', body_contains: "xxxx"'),
        ("regex", "/huge", ', body_regex: "^y"'),
    ]))
    rc, res, p = h.once_json(cfg)
    assert p.elapsed < 3.0, p.elapsed
    assert res["status_only"]["state"] == "up", res["status_only"]
    assert res["status_only"]["error"] is None, res["status_only"]
    assert res["found"]["state"] == "up", res["found"]
    for name in ("needle", "regex"):
        r = res[name]
        assert (r["code"], r["class"], r["state"], r["severity"], r["error"]) == (
            200, "success", "content", "critical", "body"), r
        assert "first 1048576 bytes" in r["message"], r
    assert rc == 2


def test_body_checks():
    srv = h.http_fixture()
    d = h.tmpdir()
    body = "/body?text=Welcome+to+the+shop"
    cfg = h.config(d, targets_yaml(srv, [
        ("has", body, ', body_contains: "the shop"'),
        ("lacks", body, ', body_contains: "closed"'),
        ("re_ok", body, ', body_regex: "^Welcome.*shop$"'),
        ("re_bad", body, ', body_regex: "^shop"'),
        ("error_page", "/status/500?body=the+shop", ', body_contains: "the shop"'),
    ]))
    rc, res, _ = h.once_json(cfg)
    for name in ("has", "re_ok"):
        r = res[name]
        assert (r["state"], r["severity"], r["error"]) == ("up", "ok", None), r
    for name in ("lacks", "re_bad"):
        r = res[name]
        assert (r["code"], r["state"], r["severity"], r["error"]) == (
            200, "content", "critical", "body"), r
    assert res["lacks"]["message"] == 'no "closed" in the 19 bytes of the body', res["lacks"]
    assert res["re_bad"]["message"] == 'no match for "^shop" in the 19 bytes of the body', \
        res["re_bad"]
    # An error page is judged by its status, whatever its body says.
    assert res["error_page"]["state"] == "server_error", res["error_page"]
    assert res["error_page"]["error"] is None, res["error_page"]
    assert rc == 2


def test_content_assertions():
    """header_matches, body_not_contains and json: an answer whose status
    is up but which fails one is content (critical, error body), with a
    message that names the assertion; one that passes them all is up."""
    srv = h.http_fixture()
    d = h.tmpdir()
    health = (', json: {status: ok, "checks[-1].state": ok, version: {matches: "^2\\\\."}}'
              ", header_matches: {content-type: '^application/json$', X-Health: '^ok$'}"
              ", body_not_contains: maintenance")
    lines = "header=Cache-Control:no-cache&header=Cache-Control:no-store"
    cfg = h.config(d, targets_yaml(srv, [
        ("healthy", "/health/ok", health),
        ("degraded", "/health/degraded", ", json: {status: ok}"),
        ("degraded_check", "/health/degraded", ', json: {"checks[0].state": ok}'),
        ("degraded_item", "/health/degraded", ', json: {"checks[1].state": ok}'),
        ("degraded_header", "/health/degraded", ", header_matches: {X-Health: '^ok$'}"),
        ("both", "/health/degraded", ", json: {status: ok}, header_matches: {X-Health: '^ok$'}"),
        ("missing_header", "/health/ok", ", header_matches: {X-Missing: ''}"),
        ("two_lines", "/status/200?" + lines,
         ", header_matches: {cache-control: '^no-cache, no-store$'}"),
        ("no_number", "/health/ok", ", json: {version: 2.4}"),
        ("nowhere", "/health/ok", ', json: {"checks[5].state": ok}'),
        ("not_json", "/body?text=<html>hello", ", json: {status: ok}"),
        ("maintenance", "/body?text=Down+for+maintenance", ", body_not_contains: maintenance"),
        ("quick", "/body?text=Down+for+maintenance", ", body_not_contains: maintenance"
         ", read_body: false"),
        ("followed", "/status/302?location=/health/ok",
         ", follow_redirects: true, header_matches: {X-Health: '^ok$'}"),
        ("error_page", "/status/503?body=" + urllib.parse.quote('{"status": "ok"}'),
         ", json: {status: ok}"),
        ("huge", "/huge", ", json: {status: ok}, max_body: 64KiB"),
    ]))
    rc, res, p = h.once_json(cfg)
    assert rc == 2, (rc, p.stdout, p.stderr)
    for name in ("healthy", "degraded_check", "two_lines", "followed"):
        r = res[name]
        assert (r["code"], r["state"], r["severity"], r["error"], r["message"]) == (
            200, "up", "ok", None, None), r
    want = {
        "degraded": 'json status is "degraded", not "ok"',
        "degraded_item": 'json checks[1].state is "degraded", not "ok"',
        "degraded_header": 'header X-Health is "degraded", which does not match "^ok$"',
        "both": 'header X-Health is "degraded", which does not match "^ok$"',
        "missing_header": "header X-Missing is missing",
        "no_number": 'json version is "2.4.1", not 2.4',
        "nowhere": "json checks[5].state: checks has 2 items, no [5]",
        "not_json": "the body is not JSON: invalid token near '<' at line 1 column 1",
        "maintenance": '"maintenance" found in the body at byte 9',
        "quick": '"maintenance" found in the body at byte 9',
        # An endless run of x: one token, cut at max_body.
        "huge": "the body is not JSON: invalid token at line 1 column 65536 "
                "(max_body: only the first 65536 bytes were read)",
    }
    for name, message in want.items():
        r = res[name]
        assert (r["code"], r["class"], r["state"], r["severity"], r["error"]) == (
            200, "success", "content", "critical", "body"), r
        assert r["message"] == message, (name, r["message"], message)
    # An error page is judged by its status, whatever its body says.
    assert res["error_page"]["state"] == "server_error", res["error_page"]
    assert res["error_page"]["error"] is None, res["error_page"]


def test_assertions_against_a_real_nginx():
    """A real health endpoint that answers 200 and says it is degraded, in
    its JSON and in a header: content, naming the assertion; its healthy
    twin is up."""
    def health(state):
        return ("default_type application/json; add_header X-Health %s; "
                "return 200 '{\"status\":\"%s\",\"checks\":[{\"state\":\"ok\"}]}';"
                % (state, state))
    ngx = h.Nginx("    location = /healthy { %s }\n    location = /degraded { %s }"
                  % (health("ok"), health("degraded")))
    d = h.tmpdir()
    checks = {
        "json": "json: {status: ok, \"checks[0].state\": ok}",
        "header": "header_matches: {x-health: '^ok$', Content-Type: '^application/json$'}",
        "text": "body_not_contains: degraded",
    }
    cfg = h.config(d, "targets:\n" + "".join(
        '  - {name: %s_%s, url: "%s", %s}\n' % (page, kind, ngx.url("/" + page), check)
        for page in ("healthy", "degraded") for kind, check in checks.items()))
    rc, res, p = h.once_json(cfg)
    assert rc == 2, (rc, p.stdout, p.stderr)
    for kind in checks:
        r = res["healthy_" + kind]
        assert (r["code"], r["state"], r["severity"], r["error"]) == (200, "up", "ok", None), r
    want = {
        "json": 'json status is "degraded", not "ok"',
        "header": 'header x-health is "degraded", which does not match "^ok$"',
        "text": '"degraded" found in the body at byte 11',
    }
    for kind, message in want.items():
        r = res["degraded_" + kind]
        assert (r["code"], r["state"], r["severity"], r["error"]) == (
            200, "content", "critical", "body"), r
        assert r["message"] == message, (kind, r["message"], message)


def test_expect_severity_and_max_latency():
    srv = h.http_fixture()
    d = h.tmpdir()
    cfg = h.config(d, targets_yaml(srv, [
        ("auth", "/status/401", ", expect: [2xx, 401]"),
        ("moved_ok", "/status/301?location=/new", ", expect: [200, 301]"),
        ("ok_not_listed", "/status/200", ", expect: [204]"),
        ("nocontent", "/status/204", ", expect: [200]"),
        ("gone_warn", "/status/404", ", severity: {404: warning}"),
        ("class_ok", "/status/302?location=/x", ", severity: {3xx: ok}"),
        ("exact_wins", "/status/503", ", severity: {5xx: critical, 503: warning}"),
        ("class_rule", "/status/502", ", severity: {5xx: warning, 503: critical}"),
        ("slow", "/slow/300", ", max_latency: 100ms"),
        ("fast", "/status/200", ", max_latency: 2s"),
    ]))
    rc, res, _ = h.once_json(cfg)

    def check(name, state, severity, error=None):
        r = res[name]
        assert (r["state"], r["severity"], r["error"]) == (state, severity, error), r

    check("auth", "up", "ok")
    check("moved_ok", "up", "ok")
    assert res["moved_ok"]["location"] == srv.url("/new"), res["moved_ok"]
    check("ok_not_listed", "unexpected", "warning")  # a 2xx not in expect is not ok
    check("nocontent", "unexpected", "warning")
    check("gone_warn", "client_error", "warning")
    check("class_ok", "up", "ok")
    check("exact_wins", "server_error", "warning")
    check("class_rule", "server_error", "warning")
    check("slow", "up", "warning", "too_slow")
    assert res["slow"]["latency_ms"] >= 300, res["slow"]
    check("fast", "up", "ok")
    assert rc == 1  # nothing worse than warning


# What /wire/location-long sends (tests/fixtures/httpd.py): 600 bytes of
# valid UTF-8 that a cut at 511 bytes would split inside a character.
LONG_LOCATION = "http://example.net/xx" + "\u20ac" * 193
# Control characters, as bytes: C0 but the line feed that ends each line,
# DEL, and C1 in UTF-8.
CONTROL = re.compile(rb"[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")


def test_bytes_a_site_sends_stay_text():
    """A Location with bytes that are not UTF-8, one longer than the 511
    bytes kept, one with terminal escapes, and a header a check quotes
    with both: --once --json is UTF-8 and keeps every key, and the table
    on the operator's terminal has no control character."""
    srv = h.http_fixture()
    d = h.tmpdir()
    cfg = h.config(d, targets_yaml(srv, [
        ("invalid", "/wire/location-invalid", ""),
        ("long", "/wire/location-long", ""),
        ("escape", "/wire/location-escape", ""),
        ("header", "/wire/header-escape", ', header_matches: {X-Note: "^calm$"}'),
    ]))
    p = h.run(["--once", "--json", "-c", cfg], binary=True)
    assert p.returncode == 2, (p.returncode, p.stderr)
    res = {}
    for line in p.stdout.splitlines():
        o = json.loads(line.decode("utf-8"))  # strict: fails on bytes that are not UTF-8
        res[o["target"]] = o
    assert sorted(res) == ["escape", "header", "invalid", "long"], res
    assert res["invalid"]["location"] == "http://example.net/caf\ufffd/\ufffd\ufffd\ufffd", \
        res["invalid"]
    # Cut to 510 bytes: every whole character of the first 511.
    cut = LONG_LOCATION.encode()[:511].decode("utf-8", "ignore")
    assert res["long"]["location"] == cut and len(cut.encode()) == 510, res["long"]
    # JSON escapes controls itself: a program gets what was sent.
    assert res["escape"]["location"] == "http://example.net/\x1b[2J\x1b[31mred\x1b[0m\x07", \
        res["escape"]
    for name in ("invalid", "long", "escape"):
        assert res[name]["state"] == "redirecting" and res[name]["code"] == 302, res[name]
    # A message is for people: escaped where it quotes the site.
    assert res["header"]["error"] == "body", res["header"]
    assert res["header"]["message"] == ('header X-Note is "\\x1b]0;pwned\\x07 caf\ufffd", which '
                                        'does not match "^calm$"'), res["header"]

    p = h.run(["--once", "-c", cfg], binary=True)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert not CONTROL.search(p.stdout), p.stdout
    rows = {l.split()[0]: l for l in p.stdout.decode("utf-8").splitlines()[1:]}
    assert rows["escape"].endswith(
        "Found -> http://example.net/\\x1b[2J\\x1b[31mred\\x1b[0m\\x07"), rows["escape"]
    assert rows["invalid"].endswith("Found -> http://example.net/caf\ufffd/\ufffd\ufffd\ufffd"), \
        rows["invalid"]
    assert rows["long"].endswith("Found -> " + cut), rows["long"]
    assert rows["header"].endswith(
        'header X-Note is "\\x1b]0;pwned\\x07 caf\ufffd", which does not match "^calm$"'), \
        rows["header"]


def test_oversized_headers_are_protocol_errors():
    """A header line over curl's 100 KiB and a header block without end are
    the site's fault (protocol), not a local one (internal: --once would
    exit 3, unknown) nor a reset; a large header within the limits is an
    answer like any other."""
    srv = h.http_fixture()
    d = h.tmpdir()
    cfg = h.config(d, targets_yaml(srv, [
        ("line", "/wire/big-header", ""),
        ("bomb", "/wire/header-bomb", ""),
        ("large", "/wire/header-90k", ""),
    ]))
    rc, res, p = h.once_json(cfg)
    assert rc == 2, (rc, p.stderr)  # critical, not unknown
    for name in ("line", "bomb"):
        r = res[name]
        assert r["error"] == "protocol", r
        assert r["state"] == "unreachable" and r["severity"] == "critical", r
    assert "header line" in res["line"]["message"], res["line"]
    # curl 7.88 says it in its own words; from 8.6 on it says CURLE_TOO_LARGE only.
    bomb = res["bomb"]["message"]
    assert bomb.startswith("Too large response headers") or "header block" in bomb, res["bomb"]
    assert res["large"]["state"] == "up" and res["large"]["error"] is None, res["large"]


def test_exit_codes_and_table():
    srv = h.http_fixture()
    d = h.tmpdir()
    ok = h.config(d, targets_yaml(srv, [("a", "/status/200", ""), ("b", "/status/204", ""),
                                        ("off", "/status/500", ", enabled: false")]), "ok.yaml")
    p = h.run(["--once", "-c", ok])
    assert p.returncode == 0, p
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["TARGET", "STATE", "SEVERITY", "CODE", "LATENCY", "DETAIL"], lines
    assert len(lines) == 3, lines  # a header and one row per enabled target
    assert lines[1].split()[:4] == ["a", "up", "ok", "200"], lines
    assert lines[2].split()[:4] == ["b", "up", "ok", "204"], lines
    # Disabled targets are not probed at all.
    probed = sorted(e[0] for e in srv.json("/_log") if not e[0].startswith("/_"))
    assert probed == ["/status/200", "/status/204"], probed
    p = h.run(["--once", "--json", "-c", ok])
    assert p.returncode == 0, p
    assert sorted(json.loads(l)["target"] for l in p.stdout.splitlines()) == ["a", "b"], p.stdout

    mixed = h.config(d, "\n".join([
        "targets:",
        '  - {name: up, url: "%s"}' % srv.url("/status/200"),
        '  - {name: moved, url: "%s"}' % srv.url("/status/301?location=/new"),
        '  - {name: broken, url: "%s"}' % srv.url("/status/503"),
        '  - {name: odd, url: "%s"}' % srv.url("/status/599"),
        '  - {name: refused_long_name, url: "http://127.0.0.1:%d/"}' % h.free_port(),
    ]) + "\n", "mixed.yaml")
    p = h.run(["--once", "-c", mixed])
    assert p.returncode == 2, p
    lines = p.stdout.splitlines()
    assert len(lines) == 6, lines
    header = lines[0]
    assert header.startswith("TARGET" + " " * (len("refused_long_name") - len("TARGET") + 2)
                             + "STATE"), header  # the name column fits the longest name
    rows = {l.split()[0]: l for l in lines[1:]}
    assert sorted(rows) == ["broken", "moved", "odd", "refused_long_name", "up"], rows
    assert rows["up"].split()[1:4] == ["up", "ok", "200"], rows["up"]
    assert rows["moved"].split()[1:4] == ["redirecting", "warning", "301"], rows["moved"]
    assert rows["moved"].endswith("Moved Permanently -> %s" % srv.url("/new")), rows["moved"]
    assert rows["broken"].split()[1:4] == ["server_error", "critical", "503"], rows["broken"]
    assert rows["broken"].endswith("Service Unavailable"), rows["broken"]
    assert rows["odd"].split()[1:4] == ["server_error", "critical", "599"], rows["odd"]
    assert rows["odd"].endswith("(unregistered server_error)"), rows["odd"]
    assert rows["refused_long_name"].split()[1:4] == ["connect", "critical", "-"], \
        rows["refused_long_name"]

    none = h.config(d, "targets:\n  - {name: x, url: \"%s\", enabled: false}\n" %
                    srv.url("/"), "none.yaml")
    p = h.run(["--once", "-c", none])
    assert p.returncode == 3, p
    assert p.stdout == "no enabled targets\n", p.stdout
    p = h.run(["--once", "--json", "-c", none])
    assert p.returncode == 3, p
    assert p.stdout == "", p.stdout


if __name__ == "__main__":
    h.main(globals())
