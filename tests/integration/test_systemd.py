#!/usr/bin/env python3
"""upmond under systemd's eyes: a test-owned NOTIFY_SOCKET receives READY,
STATUS, WATCHDOG, RELOADING (with MONOTONIC_USEC) and STOPPING; reloads
with a good, a broken and a shrinking configuration, and under load; log
lines as the journal wants them."""
import json
import os
import signal
import socket
import threading
import time

import harness as h


class Notify:
    """A NOTIFY_SOCKET: every datagram the daemon sends, with its time."""

    def __init__(self, d):
        self.path = os.path.join(d, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.msgs = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        h.cleanup(self.sock.close)

    def _read(self):
        while True:
            try:
                data = self.sock.recv(4096)
            except OSError:
                return
            with self.lock:
                self.msgs.append((time.monotonic(), data.decode()))

    def all(self):
        with self.lock:
            return list(self.msgs)

    def texts(self):
        return [m for _, m in self.all()]

    def wait(self, pred, timeout=10, what="notification"):
        return h.wait_until(lambda: [m for m in self.texts() if pred(m)], timeout,
                            "%s; got %r" % (what, self.texts()[-10:]))

    def statuses(self):
        return [m[len("STATUS="):] for m in self.texts() if m.startswith("STATUS=")]


def start(d, cfg, notify, extra=(), watchdog_usec=None):
    env = {"NOTIFY_SOCKET": notify.path}
    if watchdog_usec:
        env["WATCHDOG_USEC"] = str(watchdog_usec)
    return h.Daemon(["-c", cfg, "--state-dir", os.path.join(d, "state")] + list(extra), env=env)


def three_targets(srv):
    return ("defaults: {interval: 1s, timeout: 800ms, failure_threshold: 1}\n"
            "alerts: {journald: false}\ntargets:\n"
            "  - {name: up, url: '%s'}\n  - {name: moved, url: '%s'}\n"
            "  - {name: down, url: '%s'}\n" % (srv.url("/status/200"),
                                               srv.url("/status/301?location=/x"),
                                               srv.url("/status/503")))


def test_ready_status_watchdog_stopping():
    srv, d = h.http_fixture(), h.tmpdir()
    n = Notify(d)
    dm = start(d, h.config(d, three_targets(srv)), n, watchdog_usec=400000)
    n.wait(lambda m: m == "READY=1", what="READY=1")
    first = n.texts()
    assert first.index("READY=1") > 0 and first[0].startswith("STATUS=3 targets: "), first
    n.wait(lambda m: m == "STATUS=3 targets: 1 up, 1 redirecting, 1 down, 0 pending",
           what="a true STATUS")
    # The watchdog is pinged from the loop at half of WATCHDOG_USEC.
    h.wait_until(lambda: len([1 for _, m in n.all() if m == "WATCHDOG=1"]) >= 6, 5, "pings")
    pings = [t for t, m in n.all() if m == "WATCHDOG=1"]
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    # On average every 0.2 s; never a gap near WATCHDOG_USEC, even when the
    # machine is busy and one ping comes late.
    assert 0.15 < sum(gaps) / len(gaps) < 0.27 and max(gaps) < 0.38, gaps
    rc, took = dm.stop()
    assert rc == 0 and took < 1
    assert n.texts()[-1] == "STOPPING=1", n.texts()[-3:]


def test_reload_good_configuration():
    srv, rcv, d = h.http_fixture(), h.receiver_fixture(), h.tmpdir()
    n = Notify(d)
    base = ("defaults: {interval: 1s, timeout: 800ms, failure_threshold: 1}\n"
            "alerts:\n  journald: false\n  webhooks: [{name: r, url: '%s', format: slack}]\n"
            "watch: [watch.d/*.yaml]\n" % rcv.hook("/hook", "slack"))
    os.mkdir(os.path.join(d, "watch.d"))
    cfg = h.config(d, base)
    team = os.path.join(d, "watch.d", "team.yaml")
    h.write(team, "targets:\n  - {name: keep, url: '%s'}\n  - {name: failing, url: '%s'}\n"
                  "  - {name: drop, url: '%s'}\n" % (srv.url("/keep"), srv.url("/status/500"),
                                                     srv.url("/drop")))
    dm = start(d, cfg, n, ["-v"])
    dm.wait_log(r"failing: unknown -> server_error")
    dm.wait_log(r"keep: unknown -> client_error")  # the fixture answers 404 there
    h.wait_until(lambda: len(rcv.json("/_log")) >= 3, 10, "three downs (keep, failing, drop)")
    h.write(team, "targets:\n  - {name: keep, url: '%s'}\n  - {name: failing, url: '%s'}\n"
                  "  - {name: added, url: '%s'}\n" % (srv.url("/keep"), srv.url("/status/500"),
                                                      srv.url("/status/200")))
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    reload_at = time.monotonic()
    dm.send(signal.SIGHUP)
    rel = n.wait(lambda m: m.startswith("RELOADING=1"), what="RELOADING")[0]
    usec = int(rel.split("MONOTONIC_USEC=")[1])
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert before <= usec <= after, (before, usec, after)
    msgs = n.texts()
    assert "READY=1" in msgs[msgs.index(rel):], msgs
    dm.wait_log(r"reloaded: 3 targets \(0 disabled\) from 1 watch file, 1 webhook")
    dm.wait_log(r"added: unknown -> up \(200 OK\)", timeout=2)
    assert time.monotonic() - reload_at < 2.0
    # Live within a second of the reload; the removed target is probed no more.
    drops = lambda: len([e for e in srv.json("/_log") if e[0] == "/drop"])
    seen = drops()
    dm.wait_log(r"debug: failing: 500", count=len(dm.grep(r"debug: failing: 500")) + 2)
    dm.wait_log(r"debug: keep: 404", count=len(dm.grep(r"debug: keep: 404")) + 1)
    assert drops() == seen
    # The unchanged targets kept their state: no first-probe line again and
    # no alert from the reload.
    assert len(dm.grep(r"keep: unknown ->")) == 1
    assert len(dm.grep(r"failing: unknown ->")) == 1
    assert len(rcv.json("/_log")) == 3, rcv.json("/_log")
    assert n.statuses()[-1] == "3 targets: 1 up, 0 redirecting, 2 down, 0 pending", n.statuses()
    dm.stop()


def test_reload_broken_configuration_changes_nothing():
    srv, d = h.http_fixture(), h.tmpdir()
    n = Notify(d)
    cfg = h.config(d, three_targets(srv))
    dm = start(d, cfg, n, ["-v"])
    n.wait(lambda m: m == "STATUS=3 targets: 1 up, 1 redirecting, 1 down, 0 pending")
    h.write(cfg, three_targets(srv) + "  - {name: up, url: 'gopher://x/', intervall: 2s}\n")
    dm.send(signal.SIGHUP)
    dm.wait_log(r"reload failed with 3 errors; the previous configuration stays in use")
    errors = dm.grep(r"error: %s:\d+:\d+: " % cfg)
    assert [e.split("error: ", 1)[1] for e in errors] == [
        '%s:7:6: duplicate target name "up" (first defined at %s:4:5)' % (cfg, cfg),
        '%s:7:21: url "gopher://x/": scheme must be http or https, not gopher' % cfg,
        '%s:7:36: unknown target key "intervall" (did you mean "interval"?)' % cfg,
    ], errors
    status = n.wait(lambda m: m.startswith("STATUS=reload failed"), what="failed STATUS")[0]
    assert status == ("STATUS=reload failed with 3 errors, previous configuration kept; "
                      "3 targets: 1 up, 1 redirecting, 1 down, 0 pending"), status
    texts = n.texts()
    assert texts[-1] == "READY=1" or "READY=1" in texts[texts.index(status):]
    # Monitoring goes on with the old configuration.
    count = len(dm.grep(r"debug: up: 200"))
    dm.wait_log(r"debug: up: 200", count=count + 2)
    # Fixed: the next reload clears the failure.
    h.write(cfg, three_targets(srv))
    dm.send(signal.SIGHUP)
    h.wait_until(lambda: "STATUS=3 targets: 1 up, 1 redirecting, 1 down, 0 pending" in
                 n.texts()[n.texts().index(status) + 1:], 10, "STATUS without the failure")
    dm.wait_log(r"reloaded: 3 targets")
    dm.stop()


def test_reload_removes_a_target_with_its_probe_in_flight():
    srv, d = h.http_fixture(), h.tmpdir()
    n = Notify(d)
    body = ("alerts: {journald: false}\ntargets:\n"
            "  - {name: hang, url: '%s', interval: 10s, timeout: 9s}\n"
            "  - {name: tick, url: '%s', interval: 1s}\n" % (srv.url("/hang"), srv.url("/")))
    cfg = h.config(d, body)
    dm = start(d, cfg, n, ["--stats"])
    h.wait_until(lambda: [e for e in srv.json("/_log") if e[0] == "/hang"], 15, "hang in flight")
    h.write(cfg, "alerts: {journald: false}\ntargets:\n  - {name: tick, url: '%s', "
                 "interval: 1s}\n" % srv.url("/"))
    dm.send(signal.SIGHUP)
    dm.wait_log(r"reloaded: 1 target")
    rc, _ = dm.stop()
    assert rc == 0, dm.log()
    stats = json.loads(dm.stdout().strip().splitlines()[-1])
    assert stats["cancelled"] == 1, stats
    assert stats["in_flight"] == 0 or stats["in_flight"] == 1, stats


def test_reload_restarts_a_probe_only_when_its_request_changes():
    """A reload that changes only how answers are judged (labels,
    thresholds) keeps the probe in flight; one that changes the request
    (a header) stops it, so the old request is not judged by the new
    configuration."""
    srv = h.http_fixture()
    hangs = lambda: len([e for e in srv.json("/_log") if e[0] == "/hang"])
    body = ("alerts: {journald: false}\ntargets:\n"
            "  - {name: hang, url: '%s', interval: 10s, timeout: 9s, %%s}\n" % srv.url("/hang"))
    for change, cancelled in (("labels: {team: b}, failure_threshold: 3", 0),
                              ("labels: {team: a}, headers: {X-A: '1'}", 1)):
        d = h.tmpdir()
        before = hangs()
        cfg = h.config(d, body % "labels: {team: a}")
        dm = start(d, cfg, Notify(d), ["--stats"])
        h.wait_until(lambda: hangs() == before + 1, 15, "hang in flight")
        h.write(cfg, body % change)
        dm.send(signal.SIGHUP)
        dm.wait_log(r"reloaded: 1 target")
        rc, _ = dm.stop()
        assert rc == 0, dm.log()
        stats = json.loads(dm.stdout().strip().splitlines()[-1])
        assert stats["cancelled"] == cancelled, (change, stats)
        assert stats["in_flight"] == 1 - cancelled, (change, stats)


def test_reload_gives_free_slots_to_waiting_targets():
    """Targets queued for a slot start as soon as a reload makes room, not
    when the probe holding the slot ends."""
    srv, d = h.http_fixture(), h.tmpdir()
    n = Notify(d)
    hangs = lambda: len([e for e in srv.json("/_log") if e[0] == "/hang"])
    body = ("engine: {max_concurrent: %d}\nalerts: {journald: false}\n"
            "defaults: {interval: 30s, timeout: 8s}\ntargets:\n" +
            "".join("  - {name: h%d, url: '%s'}\n" % (i, srv.url("/hang")) for i in range(3)))
    cfg = h.config(d, body % 1)
    dm = start(d, cfg, n, ["--stats"])
    h.wait_until(lambda: hangs() >= 1, 10, "the first probe holding the one slot")
    h.write(cfg, body % 3)
    dm.send(signal.SIGHUP)
    dm.wait_log(r"reloaded: 3 targets")
    # The slot holder times out only after 8 s.
    h.wait_until(lambda: hangs() == 3, 3, "the two waiting targets started")
    rc, _ = dm.stop()
    stats = json.loads(dm.stdout().strip().splitlines()[-1])
    assert rc == 0 and stats["in_flight"] == 3 and stats["completed"] == 0, stats


def test_reload_under_load_misses_no_probe():
    srv, d = h.http_fixture(), h.tmpdir()
    n = Notify(d)
    targets = "".join("  - {name: t%03d, url: '%s'}\n" % (i, srv.url("/t%03d" % i))
                      for i in range(100))
    body = "defaults: {interval: 1s, timeout: 800ms}\nalerts: {journald: false}\ntargets:\n"
    cfg = h.config(d, body + targets)
    dm = start(d, cfg, n, ["--stats"])
    n.wait(lambda m: m == "READY=1")
    time_end = time.monotonic() + 5
    i = 0
    while time.monotonic() < time_end:
        # Each reload adds and removes an unrelated target.
        h.write(cfg, body + targets + "  - {name: extra%d, url: '%s'}\n" % (i, srv.url("/x")))
        dm.send(signal.SIGHUP)
        dm.wait_log(r"reloaded: 101 targets", count=i + 1)
        i += 1
        time.sleep(0.3)
    rc, _ = dm.stop()
    stats = json.loads(dm.stdout().strip().splitlines()[-1])
    assert stats["skipped"] == 0 and stats["dropped"] == 0, stats
    # Scheduling noise on a busy machine stays well under these bounds; a
    # reload that paused monitoring or restarted schedules does not.
    assert stats["lateness_max_ms"] < 250, stats
    log = srv.json("/_log")
    for t in range(100):
        times = [e[1] for e in log if e[0] == "/t%03d" % t]
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert len(times) >= 5, (t, times)
        # After the start-up sweep each target settles on its phase (the
        # first gap is planned between half and one and a half intervals;
        # a sweep started on a busy machine may reach the site late); from
        # then on, through every reload, one probe a second.
        assert 0.3 < gaps[0] < 1.7, (t, gaps)
        assert all(0.75 < g < 1.25 for g in gaps[1:]), (t, gaps)
    assert i >= 5


def test_reload_storm_folds_into_one_load_off_the_loop():
    """Hundreds of SIGHUPs in a burst, each of which would load a large
    configuration: they fold into one more load, which runs off the loop,
    so probes keep their schedule, the watchdog keeps being pinged and
    SIGTERM is answered at once."""
    srv, d = h.http_fixture(), h.tmpdir()
    n = Notify(d)
    body = ("defaults: {interval: 1s, timeout: 800ms}\nalerts: {journald: false}\ntargets:\n"
            "  - {name: live, url: '%s'}\n" % srv.url("/live") + "".join(
                "  - {name: off%05d, url: 'http://127.0.0.1:9/%d', enabled: false}\n" % (i, i)
                for i in range(20000)))
    cfg = h.config(d, body)
    dm = start(d, cfg, n, ["--stats"], watchdog_usec=400000)
    n.wait(lambda m: m == "READY=1", timeout=30)
    t0 = time.monotonic()
    for _ in range(300):
        dm.send(signal.SIGHUP)
    storm = time.monotonic()
    dm.wait_log(r"reloaded: 20001 targets")
    # Settled: READY=1 after the one RELOADING=1 (Type=notify-reload).
    n.wait(lambda m: m.startswith("RELOADING=1"))
    time.sleep(2)  # more loads would show by now: each takes a good part of a second
    reloads = dm.grep(r"reloaded: ")
    assert 1 <= len(reloads) <= 2, reloads
    assert len([m for m in n.texts() if m.startswith("RELOADING=1")]) == 1, n.texts()
    # One more signal after the storm is one more load.
    dm.send(signal.SIGHUP)
    dm.wait_log(r"reloaded: 20001 targets", count=len(reloads) + 1)
    # The start-up sweep's run is followed by a gap of half to one and a
    # half intervals (the plan's phase), and may come after the storm
    # began; from the first planned run on, one probe a second through it.
    def planned():
        live = [e[1] for e in srv.json("/_log") if e[0] == "/live"]
        return [t for t in live[1:] if t > storm]
    h.wait_until(lambda: len(planned()) >= 3, timeout=10)
    pings = [t for t, m in n.all() if m == "WATCHDOG=1" and t > t0]
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    assert pings and max(gaps) < 0.38, gaps
    rc, took = dm.stop()
    assert rc == 0 and took < 1.5, (rc, took)
    stats = json.loads(dm.stdout().strip().splitlines()[-1])
    assert stats["skipped"] == 0 and stats["lateness_max_ms"] < 250, stats
    times = planned()
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert len(times) >= 2 and all(g < 1.3 for g in gaps), gaps


def test_signals_while_starting_wait_for_the_loop():
    """SIGHUP and SIGUSR1 sent while upmond is still loading a large
    configuration are handled once it runs; they do not end it."""
    srv, d = h.http_fixture(), h.tmpdir()
    n = Notify(d)
    cfg = h.config(d, "alerts: {journald: false}\ntargets:\n  - {name: live, url: '%s'}\n" %
                   srv.url("/status/200") + "".join(
                       "  - {name: off%05d, url: 'http://127.0.0.1:9/%d', enabled: false}\n" %
                       (i, i) for i in range(20000)))
    dm = start(d, cfg, n)

    def held():
        try:
            with open("/proc/%d/status" % dm.proc.pid) as f:
                blk = [l for l in f if l.startswith("SigBlk:")][0].split()[1]
        except (OSError, IndexError):
            return False
        return int(blk, 16) & (1 << (signal.SIGHUP - 1)) and int(blk, 16) & (
            1 << (signal.SIGUSR1 - 1))
    deadline = time.monotonic() + 10
    while not held():
        assert dm.proc.poll() is None and time.monotonic() < deadline, "signals never held"
    dm.send(signal.SIGHUP)
    dm.send(signal.SIGUSR1)
    n.wait(lambda m: m == "READY=1", timeout=30)
    dm.wait_log(r"reloaded: 20001 targets \(20000 disabled\)", timeout=30)
    dm.wait_log(r"statistics: ")
    assert dm.proc.poll() is None
    rc, _ = dm.stop()
    assert rc == 0, rc


def test_log_lines_for_the_journal_and_for_people():
    srv, d = h.http_fixture(), h.tmpdir()
    cfg = h.config(d, "targets:\n  - {name: a, url: '%s', interval: 1s}\n" % srv.url("/"))
    err = os.path.join(d, "stderr")
    # The daemon with stderr on a file that $JOURNAL_STREAM names, as
    # systemd would connect it.
    import subprocess
    with open(err, "w") as f:
        st = os.fstat(f.fileno())
        env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
        proc = subprocess.Popen([h.UPMOND, "-c", cfg, "--state-dir", os.path.join(d, "s"), "-v"],
                                stderr=f, env=env)
        h.wait_until(lambda: "unknown -> " in open(err).read(), 10, "a state line")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(5) == 0
    lines = open(err).read().splitlines()
    assert lines and all(l[0] == "<" and l[2] == ">" for l in lines), lines
    assert any(l.startswith("<6>a: unknown -> ") for l in lines), lines
    assert any(l.startswith("<7>a: ") for l in lines), lines
    # On a pipe (not the journal): local time and level.
    dm = h.Daemon(["-c", cfg, "--state-dir", os.path.join(d, "t")])
    dm.wait_log(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} info: a: unknown -> ")
    dm.stop()
    assert not dm.grep(r"debug: ")
    # --quiet: warnings and errors only, though probes ran and the state of
    # the target changed (an info line without -q).
    probed = len([e for e in srv.json("/_log") if e[0] == "/"])
    dm = h.Daemon(["-c", cfg, "--state-dir", os.path.join(d, "u"), "-q"])
    h.wait_until(lambda: len([e for e in srv.json("/_log") if e[0] == "/"]) >= probed + 2, 10,
                 "two probes by the quiet daemon")
    rc, _ = dm.stop()
    assert rc == 0
    assert not dm.grep(r" info: "), dm.log()


if __name__ == "__main__":
    h.main(globals())
