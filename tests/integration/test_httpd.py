#!/usr/bin/env python3
"""upmond's own HTTP server as a hostile or clumsy client meets it: the
headers every answer carries, GET and HEAD only, bad request targets,
oversized heads and bodies, a client that trickles its request or reads
the answer a little at a time (cut at http.timeout however it trickles),
the cap on connections (and the probes' schedule while clients flood the
server), the bearer token over TCP but not over the unix socket, the unix
socket's file, and listeners opened and closed by a reload."""
import http.client
import json
import os
import signal
import socket
import stat
import threading
import time

import harness as h
import httpc

CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; "
       "form-action 'none'; frame-ancestors 'none'")


def config_text(http, targets):
    return "defaults: {interval: 1s, timeout: 900ms}\nhttp: %s\ntargets:\n%s" % (http, targets)


def start(d, http, targets=None, extra=()):
    """upmond with the given http block (YAML flow text); returns it once it
    has started (every address it could listen on is open by then)."""
    if targets is None:
        targets = "  - {name: dead, url: 'http://127.0.0.1:%d/'}\n" % h.free_port()
    cfg = h.config(d, config_text(http, targets))
    dm = h.Daemon(["-c", cfg, "--state-dir", os.path.join(d, "state")] + list(extra))
    dm.wait_log(r"info: upmond .* started")
    dm.cfg = cfg
    return dm


def reload(dm, d, http, targets=None, count=1):
    if targets is None:
        targets = "  - {name: dead, url: 'http://127.0.0.1:%d/'}\n" % h.free_port()
    h.config(d, config_text(http, targets))
    dm.send(signal.SIGHUP)
    dm.wait_log(r"reloaded: |reload failed", count=count)


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return False
    except ConnectionRefusedError:
        return True


def test_answers_carry_the_security_headers():
    d = h.tmpdir()
    port = h.free_port()
    start(d, "{listen: '127.0.0.1:%d'}" % port)
    for path in ("/healthz", "/api/v1/targets", "/nothing", "/api/v1/targets/nope"):
        r = httpc.request(port, path)
        assert r.status in (200, 404), r
        assert r.headers["content-security-policy"] == CSP, r
        assert r.headers["x-content-type-options"] == "nosniff", r
        assert r.headers["referrer-policy"] == "no-referrer", r
        assert r.headers["cache-control"] == "no-store", r
        assert r.headers["connection"] == "close", r
    r = httpc.request(port, "/healthz")
    assert (r.status, r.text(), r.headers["content-type"]) == \
        (200, "ok\n", "text/plain; charset=utf-8"), r
    r = httpc.request(port, "/api/v1/targets/nope")
    assert r.headers["content-type"] == "application/json", r
    assert r.json() == {"error": "no such target"}, r


def test_only_get_and_head():
    d = h.tmpdir()
    port = h.free_port()
    dm = start(d, "{listen: '127.0.0.1:%d'}" % port)
    # The head of what GET answers (of answers that do not change meanwhile).
    for path in ("/healthz", "/api/v1/targets/nope"):
        get = httpc.request(port, path)
        head = httpc.request(port, path, "HEAD")
        assert head.status == get.status and head.body == b"", (path, head)
        assert head.headers["content-length"] == str(len(get.body)), (path, head, get)
        assert head.headers["content-type"] == get.headers["content-type"], (path, head, get)
    head = httpc.request(port, "/api/v1/targets", "HEAD")
    assert head.status == 200 and head.body == b"" and int(head.headers["content-length"]) > 0, \
        head
    for method in ("POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"):
        r = httpc.request(port, "/healthz", method)
        assert r.status == 405, (method, r)
        assert r.headers["allow"] == "GET, HEAD", (method, r)
    # A method evhttp does not know is no request at all.
    got = httpc.raw(port, b"BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert httpc.status_of(got) in (None, 400, 405, 501), got
    assert httpc.request(port, "/healthz").status == 200
    assert dm.proc.poll() is None


def test_bad_request_targets():
    d = h.tmpdir()
    port = h.free_port()
    start(d, "{listen: '127.0.0.1:%d'}" % port)
    cases = [
        (b"/../healthz", 400),
        (b"/api/../../etc/passwd", 400),
        (b"/%2e%2e/healthz", 400),
        (b"/api/v1/targets/%2E%2E", 400),
        (b"/api/v1/targets/.", 400),
        (b"//healthz", 400),
        (b"/api//v1/targets", 400),
        (b"/api/v1/targets/%zz", 400),
        (b"/api/v1/targets/%", 400),
        (b"/api/v1/targets/%00", 400),
        (b"/api/v1/targets/a%0d%0aSet-Cookie:%20x", 400),
        (b"/healthz?x=%1b[2J", 400),
        (b"/healthz?" + b"&".join(b"k%d=v" % i for i in range(17)), 400),
        (b"/" + b"a" * 5000, 414),
        (b"/etc/passwd", 404),
        (b"/static/../../etc/passwd", 400),
        (b"/api/v1/targets/nope/uptime", 404),
        (b"http://example.net/healthz", 200),
        (b"/healthz?", 200),
    ]
    for target, want in cases:
        got = httpc.raw(port, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        assert httpc.status_of(got) == want, (target, got[:300])
        if target.startswith(b"/api/") and want == 400:
            assert b"application/json" in got and b'{"error":"the path has' in got, got


def test_oversized_heads_and_bodies_are_refused():
    d = h.tmpdir()
    port = h.free_port()
    dm = start(d, "{listen: '127.0.0.1:%d'}" % port)
    t0 = time.monotonic()
    got = httpc.raw(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 20000 +
                    b"\r\n\r\n")
    assert httpc.status_of(got) in (None, 400, 413, 431), got[:200]
    many = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 60) for i in range(200))
    got = httpc.raw(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    assert httpc.status_of(got) in (None, 400, 413, 431), got[:200]
    got = httpc.raw(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"
                          b"0123456789")
    assert httpc.status_of(got) in (None, 400, 413), got[:200]
    # Refused at once, not after a timeout.
    assert time.monotonic() - t0 < 3, time.monotonic() - t0
    assert httpc.request(port, "/healthz").status == 200
    assert dm.proc.poll() is None


def trickle(port, pieces, every, timeout=20):
    """Sends pieces one by one, every seconds apart, until the server
    closes; returns (seconds from connect to the close, what came)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    t0 = time.monotonic()
    got = b""
    try:
        for p in pieces:
            s.sendall(p)
            s.settimeout(every)
            try:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
            except socket.timeout:
                continue
            except ConnectionResetError:
                break
        else:
            raise AssertionError("the server kept the connection for %.1fs" %
                                 (time.monotonic() - t0))
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        s.close()
    return time.monotonic() - t0, got


def test_a_trickled_request_is_cut_at_the_timeout():
    """A client that sends its request a byte at a time, each byte well
    within the idle timeout, is cut when http.timeout has passed since it
    connected, and holds its slot no longer."""
    d = h.tmpdir()
    port = h.free_port()
    start(d, "{listen: '127.0.0.1:%d', timeout: 1s, max_connections: 2}" % port)
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"z" * 200
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        trickle(port, [head[i:i + 1] for i in range(len(head))], 0.2))) for _ in range(2)]
    for t in threads:
        t.start()
    # While the two hold both slots, a third is turned away at once.
    time.sleep(0.3)
    r = httpc.raw(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert httpc.status_of(r) in (None, 503), r
    for t in threads:
        t.join(30)
    assert len(results) == 2, results
    for took, got in results:
        assert 0.9 <= took < 4, results
        assert httpc.status_of(got) in (None, 408, 400), got
    # The slots are free again.
    h.wait_until(lambda: httpc.request(port, "/healthz").status == 200, 5, "a free slot")


def test_a_slow_reader_is_cut_at_the_timeout():
    """A client that reads a long answer steadily but too slowly to have
    it within http.timeout, and sends a byte now and then, is never idle
    for long either way; it is cut when http.timeout has passed since its
    request all the same, and its slot is free again."""
    d = h.tmpdir()
    port = h.free_port()
    dead = h.free_port()
    # Time enough to make the answer (the sanitizers take longer), but not
    # to read it all at the pace below.
    timeout = 3 if h.SANITIZED else 1
    # An answer of 10 MB, well beyond what the kernel's buffers hold.
    targets = "".join("  - {name: 'target-%04d', url: 'http://127.0.0.1:%d/%s', interval: 1h}\n"
                      % (i, dead, "p" * 1800) for i in range(5000))
    start(d, "{listen: '127.0.0.1:%d', timeout: %ds, max_connections: 1}" % (port, timeout),
          targets)
    full = len(httpc.request(port, "/api/v1/targets", timeout=30).body)
    assert full > 10000000, full
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /api/v1/targets HTTP/1.1\r\nHost: x\r\n\r\n")
    t0 = time.monotonic()

    def read():
        # At most 64 KB every 20 ms per second of timeout, about 3 MB a
        # second with 1s: the kernel wakes the server to write more a few
        # times per timeout, but the whole takes three times as long.
        try:
            n = 0
            while s.recv(65536):
                n += 1
                if n % 20 == 0:
                    s.send(b"x")
                time.sleep(0.02 * timeout)
        except OSError:
            pass

    reader = threading.Thread(target=read)
    reader.start()
    h.wait_until(lambda: httpc.status_of(httpc.raw(
        port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")) == 200, 10, "the slot freed")
    took = time.monotonic() - t0
    reader.join(30)
    s.close()
    assert 0.9 * timeout <= took < 2 * timeout, took


def test_a_flood_of_clients_does_not_delay_probes():
    """Connections over http.max_connections are turned away at once, and
    while clients flood the server its probes start as punctually as those
    of a twin daemon beside it that nobody asks anything (both share the
    machine and whatever else runs on it)."""
    srv = h.http_fixture()
    targets = "".join("  - {name: t%d, url: '%s'}\n" % (i, srv.url("/status/200"))
                      for i in range(80))
    daemons = []
    for _ in range(2):
        port = h.free_port()
        dm = start(h.tmpdir(), "{listen: '127.0.0.1:%d', max_connections: 6, timeout: 1s}" % port,
                   targets, ["--stats"])
        daemons.append((dm, port))
    port = daemons[1][1]
    seen = {"ok": 0, "refused": 0, "other": 0}
    stop = threading.Event()

    def client():
        while not stop.is_set():
            try:
                r = httpc.request(port, "/api/v1/targets", timeout=5)
                seen["ok" if r.status == 200 else "refused" if r.status == 503 else "other"] += 1
            except (OSError, http.client.HTTPException):
                seen["refused"] += 1

    # Idle connections that hold every slot until they are cut, and
    # clients asking as fast as they can.
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(6)]
    threads = [threading.Thread(target=client, daemon=True) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(4)
    stop.set()
    for t in threads:
        t.join(10)
    for s in idle:
        s.close()
    stats = []
    for dm, _ in daemons:
        rc, _ = dm.stop()
        assert rc == 0, dm.log()
        stats.append(json.loads(dm.stdout().strip().splitlines()[-1]))
    calm, flooded = stats
    h.note("lateness p99 of the calm daemon %.1f ms, of the flooded one %.1f ms; the clients "
           "saw %s" % (calm["lateness_p99_ms"], flooded["lateness_p99_ms"], seen))
    assert seen["ok"] > 0 and seen["refused"] > 0, seen
    assert seen["other"] == 0, seen
    assert flooded["completed"] >= 0.9 * calm["completed"], (calm, flooded)
    assert flooded["skipped"] == 0 and flooded["dropped"] == 0, flooded
    # The sanitizers make each request cost several times more CPU, which
    # a loaded machine may not have to spare: there, only a stall counts.
    slack = 150 if h.SANITIZED else 15
    assert flooded["lateness_p99_ms"] <= max(calm["lateness_p99_ms"], 10) + slack, (calm, flooded)


def test_the_token_is_asked_over_tcp_only():
    d = h.tmpdir()
    port = h.free_port()
    sock = os.path.join(d, "run", "upmond.sock")
    tok = h.write(os.path.join(d, "token"), "s3cret-t0ken\n")
    start(d, "{listen: ['127.0.0.1:%d', 'unix:%s'], token_file: '%s'}" % (port, sock, tok))
    for path in ("/api/v1/targets", "/api/v1/targets/dead", "/api/v1/incidents",
                 "/api/v1/targets/dead/uptime"):
        r = httpc.request(port, path)
        assert r.status == 401, (path, r)
        assert r.headers["www-authenticate"].startswith("Bearer"), r
        assert "token" in r.json()["error"], r
        for wrong in ("Bearer s3cret-t0ke", "Bearer s3cret-t0ken2", "Basic s3cret-t0ken",
                      "s3cret-t0ken"):
            r = httpc.request(port, path, headers={"Authorization": wrong})
            assert r.status == 401, (path, wrong, r)
        r = httpc.request(port, path, headers={"Authorization": "Bearer s3cret-t0ken"})
        assert r.status in (200, 503), (path, r)  # 503: the uptime of a daemon without history
        r = httpc.request(sock, path)
        assert r.status in (200, 503), (path, r)
    assert httpc.request(port, "/healthz").status == 200


def test_the_unix_socket():
    """Its directory is made, its file is 0660, one left by a process that
    is gone is replaced, a live one or a file that is no socket is left
    alone, and it goes when upmond stops; a client with a bound name of
    its own is answered like any other."""
    d = h.tmpdir()
    sock = os.path.join(d, "run", "sub", "upmond.sock")
    os.makedirs(os.path.dirname(os.path.dirname(sock)))
    dm = start(d, "{listen: 'unix:%s'}" % sock)
    st = os.stat(sock)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660, oct(st.st_mode)
    assert httpc.request(sock, "/healthz").text() == "ok\n"
    c = socket.socket(socket.AF_UNIX)
    named = os.path.join(d, "a-client-with-a-name-longer-than-an-inet6-address.sock")
    c.bind(named)
    c.connect(sock)
    c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert c.recv(100).startswith(b"HTTP/1.1 200"), "no answer to a named client"
    c.close()
    rc, _ = dm.stop()
    assert rc == 0
    assert not os.path.exists(sock), "the socket file outlived upmond"

    # A socket file whose process is gone.
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(sock)
    stale.close()
    dm = start(d, "{listen: 'unix:%s'}" % sock)
    assert httpc.request(sock, "/healthz").status == 200
    dm.stop()

    # A live one, and a file that is not a socket, stay as they are.
    live = socket.socket(socket.AF_UNIX)
    live.bind(sock)
    live.listen(1)
    port = h.free_port()
    dm = start(d, "{listen: ['unix:%s', '127.0.0.1:%d']}" % (sock, port))
    dm.wait_log(r"error: http: cannot listen on unix:%s: another process listens" % sock)
    assert httpc.request(port, "/healthz").status == 200
    dm.stop()
    live.close()
    assert stat.S_ISSOCK(os.lstat(sock).st_mode)
    os.unlink(sock)
    h.write(sock, "mine\n")
    dm = start(d, "{listen: ['unix:%s', '127.0.0.1:%d']}" % (sock, port))
    dm.wait_log(r"error: http: cannot listen on unix:%s: .* is not a socket" % sock)
    dm.stop()
    assert open(sock).read() == "mine\n"


def test_a_reload_opens_and_closes_listeners():
    d = h.tmpdir()
    a, b = h.free_port(), h.free_port()
    sock = os.path.join(d, "upmond.sock")
    dm = start(d, "{listen: '127.0.0.1:%d'}" % a)
    assert httpc.request(a, "/healthz").status == 200
    reload(dm, d, "{listen: ['127.0.0.1:%d', 'unix:%s']}" % (b, sock))
    dm.wait_log(r"info: http: stopped listening on 127.0.0.1:%d" % a)
    assert refused(a), "still listening on the address removed"
    assert httpc.request(b, "/healthz").status == 200
    assert httpc.request(sock, "/healthz").status == 200
    reload(dm, d, "{listen: '127.0.0.1:%d'}" % b, count=2)
    assert not os.path.exists(sock)
    assert httpc.request(b, "/healthz").status == 200
    # The same address written another way is taken again.
    reload(dm, d, "{listen: 'localhost:%d'}" % b, count=3)
    assert httpc.request(b, "/healthz").status == 200
    reload(dm, d, "{}", count=4)
    assert refused(b)


def test_a_bad_http_block_on_reload_keeps_the_server():
    d = h.tmpdir()
    a = h.free_port()
    dm = start(d, "{listen: '127.0.0.1:%d'}" % a)
    for bad in ("{listen: 'nowhere'}", "{listen: '127.0.0.1:%d', max_connections: 0}" % a,
                "{listen: 'unix:relative.sock'}", "{listen: '127.0.0.1:%d', nonsense: 1}" % a):
        n = len(dm.grep(r"reload failed"))
        reload(dm, d, bad, count=len(dm.grep(r"reloaded: |reload failed")) + 1)
        assert len(dm.grep(r"reload failed")) == n + 1, (bad, dm.log()[-5:])
        assert httpc.request(a, "/healthz").status == 200, bad


def test_an_address_taken_is_logged_and_the_rest_works():
    d = h.tmpdir()
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    busy = taken.getsockname()[1]
    free = h.free_port()
    srv = h.http_fixture()
    dm = start(d, "{listen: ['127.0.0.1:%d', '127.0.0.1:%d']}" % (busy, free),
               "  - {name: shop, url: '%s'}\n" % srv.url("/status/200"))
    dm.wait_log(r"error: http: cannot listen on 127.0.0.1:%d: Address already in use" % busy)
    assert httpc.request(free, "/healthz").status == 200
    dm.wait_log(r"info: shop: unknown -> up")
    # Free again, it is taken at the next reload.
    taken.close()
    reload(dm, d, "{listen: ['127.0.0.1:%d', '127.0.0.1:%d']}" % (busy, free),
           "  - {name: shop, url: '%s'}\n" % srv.url("/status/200"))
    dm.wait_log(r"info: http: listening on 127.0.0.1:%d" % busy, count=1)
    assert httpc.request(busy, "/healthz").status == 200


h.main(globals())
