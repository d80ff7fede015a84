#!/usr/bin/env python3
"""/metrics as Prometheus reads it: a real Prometheus scrapes upmond on
loopback and, through its HTTP API, sees a target go 1 -> 0 -> 1 in
upmon_probe_success; live scrapes in both formats pass promtool and the
strict OpenMetrics parser; the format follows the Accept header. The
answer for thousands of targets comes in chunks, whole; a client that
leaves mid-answer, or a reload mid-answer, leaves the daemon well and
the client with an answer it can tell is broken."""
import json
import os
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request

import harness as h
from stack import Prometheus

# Run with the Python that has prometheus_client (Debian's), as the
# schema checks are.
CHECKER = os.path.join(h.SRC, "tests", "metrics", "check_exposition.py")
# Under the sanitizers everything is slower.
WAIT = 60 if h.SANITIZED else 30
OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
TEXT = "text/plain; version=0.0.4; charset=utf-8"


def upmond(targets, labels="{team: web, job: backup}", interval="1s", args=()):
    """upmond probing each (name, url) every interval, with its HTTP server
    on a port of its own; returns (daemon, base URL)."""
    d = h.tmpdir()
    port = h.free_port()
    body = "http: {listen: ['127.0.0.1:%d']}\ndefaults: {interval: %s, timeout: 900ms}\n" % (
        port, interval)
    body += "targets:\n" + "".join("  - {name: %s, url: '%s', labels: %s}\n" % (n, u, labels)
                                   for n, u in targets)
    cfg = h.config(d, body)
    dm = h.Daemon(["-c", cfg, "--state-dir", os.path.join(d, "state")] + list(args))
    base = "http://127.0.0.1:%d" % port
    h.wait_until(lambda: dm.proc.poll() is not None or scrape(base)[0] == 200, WAIT,
                 "upmond answering /metrics")
    assert dm.proc.poll() is None, dm.log()
    return dm, base


def scrape(base, accept=None):
    """GET /metrics: (status, Content-Type, body as bytes); status 0 when
    nothing answers."""
    req = urllib.request.Request(base + "/metrics", headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.headers.get("Content-Type"), r.read()
    except OSError:
        return 0, None, b""


def sample(body, name, **labels):
    """The value of the sample of name with (at least) these labels in an
    exposition, or None."""
    for line in body.decode().splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            if all('%s="%s"' % kv in line for kv in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    return None


def test_prometheus_sees_a_target_go_down_and_up():
    """The Done-when line: upmon_probe_success read back through
    Prometheus's API goes 1 -> 0 -> 1 as the site does."""
    srv = h.http_fixture()
    dm, base = upmond([("shop", srv.url("/site/shop"))])
    prom = Prometheus([base[len("http://"):]])
    t0 = time.time()
    query = 'upmon_probe_success{job="upmon",target="shop"}'

    def becomes(v):
        h.wait_until(lambda: prom.value(query) == v, WAIT,
                     lambda: "%s == %s in Prometheus (now %s); its log:\n%s" %
                     (query, v, prom.value(query), prom.tail()))

    becomes(1)
    srv.get("/_set?name=shop&status=503")
    becomes(0)
    srv.get("/_set?name=shop&status=200")
    becomes(1)

    # The same story, from the stored series (once the last step of the
    # range falls after the recovery).
    def story():
        data = prom.api("query_range", query=query, start="%.3f" % t0,
                        end="%.3f" % time.time(), step="1s")
        assert len(data["result"]) == 1, data
        values = [float(v) for _, v in data["result"][0]["values"]]
        return [v for i, v in enumerate(values) if i == 0 or values[i - 1] != v]

    h.wait_until(lambda: story() == [1, 0, 1], WAIT, lambda: "1 -> 0 -> 1, not %s" % story())

    # What else Prometheus holds: the state set, the code, the renamed
    # label, and a scrape that went well.
    assert prom.value('upmon_target_state{target="shop",upmon_target_state="up"}') == 1
    assert prom.value('upmon_probe_http_status_code{target="shop"}') == 200
    assert prom.value('upmon_probes_total{target="shop",result="server_error",'
                      'team="web",label_job="backup"}') >= 1
    assert prom.value('up{job="upmon"}') == 1
    active = prom.api("targets")["activeTargets"]
    assert [t["health"] for t in active] == ["up"], active
    assert active[0]["lastError"] == "", active
    rc, _ = dm.stop()
    assert rc == 0, dm.log()


def test_live_scrapes_pass_the_checkers():
    """promtool check metrics on the text format, and the strict
    OpenMetrics parser on OpenMetrics, of a daemon with targets up, failing
    and unreachable."""
    srv = h.http_fixture()
    dm, base = upmond([("up", srv.url("/status/200")), ("err", srv.url("/status/500")),
                       ("gone", "http://127.0.0.1:%d/" % h.free_port())])
    # Every target probed, so every family has samples.
    h.wait_until(lambda: all(sample(scrape(base)[2], "upmon_probe_success", target=t) is not None
                             for t in ("up", "err", "gone")), WAIT, "three probed targets")
    status, ctype, text = scrape(base)
    assert (status, ctype) == (200, TEXT), (status, ctype)
    status, ctype, om = scrape(base, "application/openmetrics-text;version=1.0.0")
    assert (status, ctype) == (200, OPENMETRICS), (status, ctype)
    assert om.endswith(b"# EOF\n"), om[-100:]
    assert sample(text, "upmon_probe_success", target="err") == 0
    assert sample(text, "upmon_probe_http_status_code", target="gone") == 0
    assert sample(text, "upmon_build_info") == 1
    d = h.tmpdir()
    checked = 0
    for mode, data in (("promtool", text), ("openmetrics", om)):
        path = h.write(os.path.join(d, "metrics." + mode), data.decode())
        p = subprocess.run([h.SCHEMA_PYTHON, CHECKER, mode, path], capture_output=True,
                           text=True, timeout=120)
        if p.returncode == 77:
            h.note(p.stdout.strip())
            continue
        assert p.returncode == 0, (mode, p.stdout, p.stderr)
        checked += 1
    if not checked:
        raise h.Skip("neither promtool nor prometheus_client is installed")
    rc, _ = dm.stop()
    assert rc == 0, dm.log()


def test_format_follows_accept():
    """What a browser, curl and Prometheus send, and a HEAD."""
    srv = h.http_fixture()
    dm, base = upmond([("shop", srv.url("/status/200"))])
    for accept, want in [
            (None, TEXT),
            ("*/*", TEXT),
            ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", TEXT),
            ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
             "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", OPENMETRICS),
            ("application/openmetrics-text;version=0.0.1", TEXT),
            ("text/plain;q=0.5, application/openmetrics-text;q=0.6", OPENMETRICS)]:
        status, ctype, _ = scrape(base, accept)
        assert (status, ctype) == (200, want), (accept, status, ctype)
    req = urllib.request.Request(base + "/metrics", method="HEAD")
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 200 and r.headers.get("Content-Type") == TEXT
        assert r.read() == b""
    rc, _ = dm.stop()
    assert rc == 0, dm.log()


MANY = 3000


def many_targets(args=()):
    """upmond with MANY targets, probed once a minute at a port where
    nothing listens: /metrics is some ten megabytes."""
    closed = "http://127.0.0.1:%d/" % h.free_port()
    return upmond([("t%04d" % i, closed) for i in range(MANY)], interval="60s", args=args)


def request(base, method="GET", path="/metrics", accept=None, rcvbuf=None):
    """A socket that has sent one HTTP/1.1 request (rcvbuf: a small
    receive buffer, for a client that reads slowly)."""
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(WAIT)
    s.connect(("127.0.0.1", int(base.rsplit(":", 1)[1])))
    s.sendall(("%s %s HTTP/1.1\r\nHost: upmon\r\n%s\r\n" %
               (method, path, "Accept: %s\r\n" % accept if accept else "")).encode())
    return s


def read_all(s, data=b""):
    while True:
        got = s.recv(1 << 16)
        if not got:
            s.close()
            return data
        data += got


def dechunk(raw):
    """An answer with a chunked body: (status, headers, chunk sizes, body,
    whether the last chunk came)."""
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict((k.strip().lower(), v.strip()) for k, v in
                   (line.split(":", 1) for line in lines[1:]))
    sizes, body, pos, complete = [], bytearray(), 0, False
    while True:
        eol = rest.find(b"\r\n", pos)
        if eol < 0:
            break
        n = int(rest[pos:eol], 16)
        if n == 0:
            complete = rest[eol:] == b"\r\n\r\n"
            break
        if len(rest) < eol + 4 + n:
            break
        body += rest[eol + 2:eol + 2 + n]
        assert rest[eol + 2 + n:eol + 4 + n] == b"\r\n", "a chunk without its CRLF"
        sizes.append(n)
        pos = eol + 4 + n
    return int(lines[0].split()[1]), headers, sizes, bytes(body), complete


def check(mode, data):
    """promtool or the OpenMetrics parser on data: whether it ran."""
    path = h.write(os.path.join(h.tmpdir(), "metrics." + mode), data.decode())
    p = subprocess.run([h.SCHEMA_PYTHON, CHECKER, mode, path], capture_output=True, text=True,
                       timeout=300)
    if p.returncode == 77:
        h.note(p.stdout.strip())
        return False
    assert p.returncode == 0, (mode, p.stdout[-2000:], p.stderr[-2000:])
    return True


def test_many_targets_come_in_chunks():
    """Thousands of targets: /metrics comes in chunks of bounded size,
    ends with the last chunk, holds every target, and passes the checkers
    in both formats; /api/v1/targets too; HEAD has the headers only."""
    dm, base = many_targets()
    checked = 0
    for accept, mode in ((None, "promtool"), ("application/openmetrics-text", "openmetrics")):
        status, hd, sizes, body, complete = dechunk(read_all(request(base, accept=accept)))
        assert status == 200 and complete, (status, hd, sizes[-3:])
        assert hd["transfer-encoding"] == "chunked" and "content-length" not in hd, hd
        assert hd["content-type"] == (OPENMETRICS if accept else TEXT), hd
        assert hd["content-security-policy"].startswith("default-src 'none'"), hd
        assert hd["cache-control"] == "no-store" and hd["x-content-type-options"] == "nosniff"
        # Parts of about 256 KiB, each ending with a whole line.
        assert len(body) > 5e6 and len(sizes) > 20, (len(body), len(sizes))
        assert max(sizes) < 512 * 1024, max(sizes)
        states = [line for line in body.split(b"\n") if line.startswith(b"upmon_target_state{")]
        assert len(states) == MANY * 8, len(states)
        assert body.endswith(b"# EOF\n") == bool(accept), body[-100:]
        checked += check(mode, body)
    if not checked:
        h.note("neither promtool nor prometheus_client is installed: the text is not checked")
    # The JSON API's list likewise.
    status, hd, sizes, body, complete = dechunk(read_all(request(base, path="/api/v1/targets")))
    assert status == 200 and complete and len(sizes) > 10, (status, hd, len(sizes))
    assert hd["content-type"] == "application/json", hd
    assert [t["target"] for t in json.loads(body)["targets"]] == ["t%04d" % i
                                                                  for i in range(MANY)]
    raw = read_all(request(base, "HEAD"))
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ") and rest == b"", raw[:300]
    assert b"Content-Security-Policy: " in head and b"Content-Length" not in head, head
    rc, _ = dm.stop()
    assert rc == 0, dm.log()


def test_client_leaving_mid_answer():
    """Clients that read a little and close, or reset, or never read: the
    daemon goes on answering whole, and stops cleanly (under the
    sanitizers, with nothing leaked)."""
    dm, base = many_targets()
    for how in ("close", "reset", "unread"):
        for _ in range(3):
            s = request(base, rcvbuf=8192)
            if how != "unread":
                got = b""
                while len(got) < 100000:
                    got += s.recv(1 << 16)
                assert got.startswith(b"HTTP/1.1 200 "), got[:200]
            if how == "reset":
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
            s.close()
    status, _, _, body, complete = dechunk(read_all(request(base)))
    assert status == 200 and complete and len(body) > 5e6
    assert h.http_get(base + "/healthz") == "ok\n"
    rc, _ = dm.stop()
    assert rc == 0, dm.log()


def test_reload_mid_answer_breaks_it():
    """A reload while a slow client is mid-answer: the rest would be of
    other targets, so the connection closes without the last chunk; the
    client sees a broken answer, never a short one that reads as whole.
    The next scrape is whole."""
    dm, base = many_targets(["-v"])
    s = request(base, rcvbuf=8192)
    got = b""
    while len(got) < 100000:
        got += s.recv(1 << 16)
    count = len(dm.grep(r"reloaded: |reload failed"))
    dm.send(signal.SIGHUP)
    dm.wait_log(r"reloaded: ", count=count + 1, timeout=WAIT)
    status, hd, sizes, body, complete = dechunk(read_all(s, got))
    assert status == 200 and hd["transfer-encoding"] == "chunked"
    assert not complete, (len(body), sizes[-3:])
    assert len(body) < 5e6, len(body)
    dm.wait_log(r"configuration changed while an answer was being sent")
    # HTTP clients see it as such.
    status, _, _, body, complete = dechunk(read_all(request(base)))
    assert status == 200 and complete and len(body) > 5e6
    rc, _ = dm.stop()
    assert rc == 0, dm.log()


if __name__ == "__main__":
    h.main(globals())
