#!/usr/bin/env python3
"""upmond --once against a real HTTP server: every code of the seed table
and those registered since, unregistered and invalid codes, redirects, the
transport failures by category, body checks, policies and exit codes."""
import os
import re
import time

import harness as h

SEED = os.path.join(h.SRC, "tests", "unit", "data", "http-response-codes.txt")
CLASSES = {1: "informational", 2: "success", 3: "redirection", 4: "client_error",
           5: "server_error"}


def seed_codes():
    codes = []
    for line in open(SEED):
        m = re.match(r"^(\d{3,5}) ", line)
        if m:
            code = int(m.group(1))
            codes.append(416 if code == 41416 else code)
    assert len(codes) == 41, codes
    return codes


def expected(code):
    cls = CLASSES[code // 100]
    if code // 100 == 2:
        return cls, "ok", "up"
    if code // 100 in (1, 3):
        return cls, "warning", "unexpected" if code < 200 else "redirecting"
    return cls, "critical", "client_error" if code < 500 else "server_error"


def targets_yaml(srv, items, extra=""):
    out = ["defaults: {timeout: 3s}", "targets:"]
    for name, path, more in items:
        out.append('  - {name: %s, url: "%s"%s}' % (name, srv.url(path), more))
    return "\n".join(out) + "\n" + extra


def test_every_code_of_the_seed_table_and_since():
    srv = h.http_fixture()
    d = h.tmpdir()
    registered = seed_codes() + [102, 103, 207, 208, 226, 308, 421, 422, 423, 424, 425, 426,
                                 428, 429, 431, 451, 506, 507, 508, 510, 511]
    phrases = {100: "Continue", 101: "Switching Protocols", 200: "OK", 301: "Moved Permanently",
               306: "(Unused)", 308: "Permanent Redirect", 404: "Not Found",
               413: "Request Entity Too Large", 414: "Request-URI Too Long",
               416: "Requested Range Not Satisfiable", 418: None, 421: "Misdirected Request",
               429: "Too Many Requests", 451: "Unavailable For Legal Reasons",
               503: "Service Unavailable", 505: "HTTP Version Not Supported",
               511: "Network Authentication Required", 299: None, 599: None}
    codes = sorted(set(registered + [299, 418, 599]))
    cfg = h.config(d, targets_yaml(srv, [("c%d" % c, "/status/%d" % c, "") for c in codes]))
    rc, res, p = h.once_json(cfg)
    assert rc == 2, (rc, p.stderr)
    assert len(res) == len(codes)
    for c in codes:
        r = res["c%d" % c]
        cls, sev, state = expected(c)
        assert r["code"] == c, r
        assert r["class"] == cls, r
        assert r["severity"] == sev, r
        assert r["state"] == state, r
        assert r["error"] is None, r
        if c in phrases:
            assert r["phrase"] == phrases[c], r
        elif c in registered:
            assert isinstance(r["phrase"], str) and r["phrase"], r
        for k in ("target", "url", "code", "phrase", "class", "severity", "error", "location",
                  "latency_ms"):
            assert k in r, (k, r)
        assert r["latency_ms"] >= 0


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


def test_redirects_seen_not_followed_unless_asked():
    srv = h.http_fixture()
    d = h.tmpdir()
    to = srv.url("/status/200")
    cfg = h.config(d, targets_yaml(srv, [
        ("plain", "/status/301?location=%s" % to, ""),
        ("followed", "/status/302?location=%s" % to, ", follow_redirects: true"),
        ("expected", "/status/308?location=%s" % to, ", expect: [308]"),
    ]))
    rc, res, _ = h.once_json(cfg)
    assert res["plain"]["code"] == 301
    assert res["plain"]["location"] == to
    assert res["plain"]["state"] == "redirecting"
    assert res["followed"]["code"] == 200
    assert res["followed"]["state"] == "up"
    assert res["expected"]["state"] == "up"
    assert res["expected"]["severity"] == "ok"
    assert res["expected"]["location"] == to
    assert rc == 1  # worst is the redirect's warning


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
        '  - {name: nxdomain, url: "http://no-such-host.invalid/"}',
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
    assert res["slow"]["latency_ms"] < 2000
    # Probes run concurrently: the whole run is about one timeout, not many.
    assert took < 3.0, took


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
    assert rc == 2


def test_huge_body_is_not_read():
    srv = h.http_fixture()
    d = h.tmpdir()
    cfg = h.config(d, targets_yaml(srv, [
        ("status_only", "/huge", ""),
        ("needle", "/huge", ', body_contains: "needle"'),
    ]))
    t0 = time.monotonic()
    rc, res, _ = h.once_json(cfg)
    assert time.monotonic() - t0 < 3.0
    assert res["status_only"]["state"] == "up"
    assert res["needle"]["state"] == "content"
    assert res["needle"]["error"] == "body"
    assert "first 1048576 bytes" in res["needle"]["message"]
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
    assert res["has"]["state"] == "up"
    assert res["re_ok"]["state"] == "up"
    assert res["lacks"]["state"] == "content" and res["lacks"]["error"] == "body"
    assert res["re_bad"]["state"] == "content"
    assert res["error_page"]["state"] == "server_error"  # judged by its status
    assert rc == 2


def test_expect_severity_and_max_latency():
    srv = h.http_fixture()
    d = h.tmpdir()
    cfg = h.config(d, targets_yaml(srv, [
        ("auth", "/status/401", ", expect: [2xx, 401]"),
        ("gone_ok", "/status/404", ", severity: {404: warning}"),
        ("nocontent", "/status/204", ", expect: [200]"),
        ("slow", "/slow/300", ", max_latency: 100ms"),
    ]))
    rc, res, _ = h.once_json(cfg)
    assert res["auth"]["state"] == "up" and res["auth"]["severity"] == "ok"
    assert res["gone_ok"]["state"] == "client_error"
    assert res["gone_ok"]["severity"] == "warning"
    assert res["nocontent"]["state"] == "unexpected"
    assert res["nocontent"]["severity"] == "warning"
    assert res["slow"]["state"] == "up"
    assert res["slow"]["error"] == "too_slow"
    assert res["slow"]["severity"] == "warning"
    assert rc == 1


def test_exit_codes_and_table():
    srv = h.http_fixture()
    d = h.tmpdir()
    ok = h.config(d, targets_yaml(srv, [("a", "/status/200", ""), ("b", "/status/204", ""),
                                        ("off", "/status/500", ", enabled: false")]), "ok.yaml")
    p = h.run(["--once", "-c", ok])
    assert p.returncode == 0, p
    lines = p.stdout.splitlines()
    assert lines[0].split()[:5] == ["TARGET", "STATE", "SEVERITY", "CODE", "LATENCY"], lines
    assert len(lines) == 3, lines  # the disabled target is not probed
    assert lines[1].split()[:4] == ["a", "up", "ok", "200"], lines
    assert lines[2].split()[:4] == ["b", "up", "ok", "204"], lines
    log = srv.json("/_log")
    assert not [e for e in log if e[0] == "/status/500"], log

    none = h.config(d, "targets:\n  - {name: x, url: \"%s\", enabled: false}\n" %
                    srv.url("/"), "none.yaml")
    p = h.run(["--once", "-c", none])
    assert p.returncode == 3, p
    assert "no enabled targets" in p.stdout


if __name__ == "__main__":
    h.main(globals())
