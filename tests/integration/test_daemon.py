#!/usr/bin/env python3
"""The foreground daemon: each change of a target's state at info, every
probe at debug, a prompt and clean stop on SIGTERM/SIGINT, its own
statistics, a run skipped while the previous probe still runs, and no leak
under valgrind."""
import json
import os
import re
import shutil
import signal

import harness as h


def daemon(d, body, extra=(), **kw):
    cfg = h.config(d, body)
    return h.Daemon(["-c", cfg, "--state-dir", os.path.join(d, "state")] + list(extra), **kw)


def test_state_changes_are_logged():
    """Each target's first result and every later change of what the probes
    see is logged at info, as "NAME: FROM -> TO (CODE PHRASE[ -> LOCATION])"
    or "NAME: FROM -> TO (ERROR: MESSAGE)"; every probe at debug with -v."""
    srv = h.http_fixture()
    d = h.tmpdir()
    dm = daemon(d, "defaults: {interval: 1s, timeout: 900ms}\ntargets:\n"
                   "  - {name: shop, url: '%s'}\n  - {name: gone, url: '%s'}\n"
                   "  - {name: moved, url: '%s'}\n  - {name: dead, url: '%s'}\n" %
                (srv.url("/site/shop"), srv.url("/status/404"),
                 srv.url("/status/301?location=/new"), "http://127.0.0.1:%d/" % h.free_port()),
                ["-v"])
    dm.wait_log(r"info: upmond .* started: 4 targets \(0 disabled\)")
    dm.wait_log(r"info: shop: unknown -> up \(200 OK\)$")
    dm.wait_log(r"info: gone: unknown -> client_error \(404 Not Found\)$")
    dm.wait_log(r"info: moved: unknown -> redirecting \(301 Moved Permanently -> %s\)$" %
                re.escape(srv.url("/new")))
    dm.wait_log(r"info: dead: unknown -> unreachable \(connect: .+\)$")
    dm.wait_log(r"debug: shop: 200 up in [0-9.]+ ms$")
    srv.get("/_set?name=shop&status=503")
    dm.wait_log(r"info: shop: up -> server_error \(503 Service Unavailable\)$")
    srv.get("/_set?name=shop&status=200")
    dm.wait_log(r"info: shop: server_error -> up \(200 OK\)$")
    # gone has been probed again by now (shop was, twice), and an unchanged
    # state is not logged again at info.
    dm.wait_log(r"debug: gone: 404 client_error in", count=2)
    for name in ("gone", "moved", "dead"):
        assert len(dm.grep(r"info: %s: " % name)) == 1, dm.grep(name)
    rc, took = dm.stop()
    assert rc == 0, dm.log()
    assert took < 1.0, took


def test_each_probe_starts_from_the_configured_url():
    """A followed redirect must not change what the next probe asks for:
    every probe requests the configured URL first (the parsed URL is shared
    by all of a target's probes)."""
    srv = h.http_fixture()
    d = h.tmpdir()
    srv.get("/_set?name=r&status=302&location=/status/200")
    dm = daemon(d, "defaults: {interval: 1s, timeout: 900ms}\ntargets:\n"
                   "  - {name: r, url: '%s', follow_redirects: true}\n" % srv.url("/site/r"),
                ["-v"])
    dm.wait_log(r"debug: r: 200 up in", count=3)
    rc, _ = dm.stop()
    assert rc == 0, dm.log()
    paths = [e[0] for e in srv.json("/_log") if not e[0].startswith("/_")]
    assert len(paths) >= 6, paths
    assert paths[:6] == ["/site/r", "/status/200"] * 3, paths


def test_stops_within_a_second_with_probes_in_flight():
    srv = h.http_fixture()
    for sig in (signal.SIGTERM, signal.SIGINT):
        d = h.tmpdir()
        # Probes that hang for their whole interval are always in flight.
        dm = daemon(d, "defaults: {interval: 2s, timeout: 2s}\ntargets:\n" + "".join(
            "  - {name: hang%d, url: '%s'}\n" % (i, srv.url("/hang")) for i in range(10)),
            ["--stats"])
        h.wait_until(lambda: len([e for e in srv.json("/_log") if e[0] == "/hang"]) >= 10,
                     what="10 hanging probes started")
        rc, took = dm.stop(sig)
        assert rc == 0, (sig, rc, dm.log())
        assert took < 1.0, (sig, took)
        assert dm.grep(r"received, stopping"), dm.log()
        stats = json.loads(dm.stdout().strip().splitlines()[-1])
        assert stats["in_flight"] >= 1, stats  # stopped with probes under way
        srv = h.http_fixture()  # a fresh log for the next signal


def test_stats_at_exit():
    srv = h.http_fixture()
    d = h.tmpdir()
    dm = daemon(d, "defaults: {interval: 1s}\ntargets:\n" + "".join(
        "  - {name: t%d, url: '%s'}\n" % (i, srv.url("/status/200")) for i in range(5)),
        ["--stats"])
    dm.wait_log(r"t4: unknown -> up")
    for i in range(5):
        dm.wait_log(r"t%d: unknown -> up" % i)
    rc, _ = dm.stop()
    assert rc == 0
    stats = json.loads(dm.stdout().strip().splitlines()[-1])
    for k in ("started", "completed", "late", "skipped", "dropped", "cancelled", "in_flight",
              "lateness_p50_ms", "lateness_p99_ms", "lateness_max_ms", "webhook_pending"):
        assert k in stats, (k, stats)
    assert stats["completed"] >= 5, stats  # each target's first probe at least
    # Every probe started has completed, is still in flight, or was cancelled.
    assert stats["started"] == stats["completed"] + stats["in_flight"] + stats["cancelled"], stats
    assert stats["cancelled"] == 0, stats  # nothing was removed by a reload
    # Fast answers, no concurrency limit: nothing waits for a slot.
    assert stats["skipped"] == 0 and stats["dropped"] == 0, stats
    assert stats["late"] <= stats["started"], stats
    assert stats["lateness_max_ms"] < 1000, stats
    assert stats["webhook_pending"] == 0, stats


def test_run_skipped_while_previous_probe_runs():
    """One slot, three targets whose probes take their whole interval: the
    last in line is still waiting when its next run comes, so that run is
    skipped rather than stacked.

    Not the simpler "one /hang target with timeout equal to interval": there
    the probe's timeout and its next run fall due at the same instant, and
    which comes first is a race. With one slot, h1 and h2 queue behind h0,
    and h1 (started when h0 times out) is certainly still running when its
    own next run is due, whatever the timing."""
    srv = h.http_fixture()
    d = h.tmpdir()
    dm = daemon(d, "engine: {max_concurrent: 1}\ndefaults: {interval: 1s, timeout: 1s}\n"
                   "targets:\n" + "".join("  - {name: h%d, url: '%s'}\n" % (i, srv.url("/hang"))
                                          for i in range(3)), ["-v", "--stats"])
    dm.wait_log(r"debug: h\d: previous probe still running, run skipped", timeout=10)
    # The second in line has waited a whole timeout for the slot: late.
    dm.wait_log(r"debug: h\d: 0 unreachable", count=2, timeout=10)
    rc, took = dm.stop()
    assert rc == 0 and took < 1.0, (rc, took)
    stats = json.loads(dm.stdout().strip().splitlines()[-1])
    assert stats["skipped"] >= 1, stats
    assert stats["late"] >= 1, stats  # waiting for the slot made them late
    assert stats["in_flight"] <= 1, stats  # the one slot is never exceeded
    assert stats["started"] == stats["completed"] + stats["in_flight"], stats


def test_silent_dns_server_never_stalls_the_loop():
    """A name whose DNS server does not answer: each probe ends at its
    timeout as a dns failure, its lookup given up, and no other probe waits
    for that lookup, nor does a reload or a stop."""
    srv, d, dns = h.http_fixture(), h.tmpdir(), h.Dns()
    wrapper = h.dns_namespace(d, dns.addr)
    tick = "  - {name: tick, url: '%s'}\n" % srv.url("/status/200")
    body = "defaults: {interval: 1s, timeout: 800ms}\ntargets:\n" + tick
    cfg = h.config(d, body + "  - {name: silent, url: 'http://upmon-silent.test/', "
                               "interval: 2s, timeout: 1s}\n")
    dm = h.Daemon(["-c", cfg, "--state-dir", os.path.join(d, "state"), "-v", "--stats"],
                  wrapper=wrapper)
    dm.wait_log(r"info: silent: unknown -> unreachable \(dns: Resolving upmon-silent\.test "
                r"timed out after 1\d\d\d ms: no answer from the name servers\)")
    dm.wait_log(r"debug: silent: 0 unreachable", count=3, timeout=15)
    h.write(cfg, body)
    dm.send(signal.SIGHUP)
    dm.wait_log(r"reloaded: 1 target")
    rc, took = dm.stop()
    assert rc == 0 and took < 1.0, (rc, took)
    stats = json.loads(dm.stdout().strip().splitlines()[-1])
    assert stats["lateness_max_ms"] < 250 and stats["dropped"] == 0, stats
    assert dns.json("/_log")["names"].get("upmon-silent.test", 0) >= 3, dns.json("/_log")


def valgrind_or_skip():
    if h.SANITIZED:
        raise h.Skip("the binary is built with sanitizers; valgrind cannot run it")
    if not shutil.which("valgrind"):
        raise h.Skip("valgrind is not installed")
    return ["valgrind", "--quiet", "--leak-check=full", "--show-leak-kinds=definite,indirect",
            "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99",
            "--track-fds=no"]


def test_valgrind_once():
    vg = valgrind_or_skip()
    srv = h.http_fixture()
    d = h.tmpdir()
    cfg = h.config(d, "\n".join([
        "targets:",
        "  - {name: a, url: '%s'}" % srv.url("/status/503"),
        "  - {name: b, url: '%s', body_contains: x}" % srv.url("/huge"),
        "  - {name: c, url: 'http://127.0.0.1:%d/'}" % h.free_port(),
        "  - {name: d, url: '%s', follow_redirects: true}" % srv.url(
            "/status/302?location=/body%3Ftext%3Dhello"),
        "  - {name: e, url: '%s', body_regex: '^h.l+o$'}" % srv.url("/body?text=hello"),
        "  - {name: f, url: '%s', timeout: 300ms}" % srv.url("/hang"),
        "  - {name: g, url: '%s'}" % srv.url("/reset"),
        "  - {name: n, url: 'http://%s.invalid/'}" % ("x" * 64),
    ]) + "\n")
    p = h.run(["--once", "--json", "-c", cfg], cmd=vg + [h.UPMOND], timeout=120)
    assert p.returncode == 2, (p.returncode, p.stderr)  # critical, and no valgrind error (99)
    assert p.stderr == "", p.stderr
    assert len(p.stdout.splitlines()) == 8, p.stdout


def test_valgrind_daemon_sigterm():
    vg = valgrind_or_skip()
    srv = h.http_fixture()
    rcv = h.receiver_fixture()
    d = h.tmpdir()
    dm = daemon(d, "defaults: {interval: 1s, failure_threshold: 1}\n"
                   "alerts:\n  journald: false\n  webhooks:\n"
                   "    - {name: r, url: '%s', format: slack}\n"
                   "targets:\n  - {name: a, url: '%s'}\n  - {name: h, url: '%s', timeout: 1s}\n" %
                (rcv.hook("/hook", "slack"), srv.url("/status/503"), srv.url("/hang")), wrapper=vg)
    dm.wait_log(r"webhook r: delivered down", timeout=60)
    rc, _ = dm.stop(timeout=60)
    assert rc == 0, (rc, dm.log())


if __name__ == "__main__":
    h.main(globals())
