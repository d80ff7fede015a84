#!/usr/bin/env python3
"""Faults injected for real: the state directory on a tmpfs of a fixed
size that fills up while alerts are pending or is read-only at start, a
damaged database, one deleted while the daemon runs, a umask that would
make it world-readable, and a second daemon on the same directory after
its files are gone. No alert may be lost wherever the disk comes back.
And a name server that never answers, for hundreds of names at once: the
targets given by address and the names that resolve keep their schedule."""
import glob
import json
import os
import re
import signal
import subprocess
import time
import uuid

import harness as h

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def tmpfs(size="4m"):
    """A tmpfs of its own for a state directory (root and mount needed)."""
    d = h.tmpdir()
    if os.geteuid() != 0:
        raise h.Skip("mounting a tmpfs needs root")
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0700" % size, "upmon-faults",
                        d], capture_output=True, text=True)
    if p.returncode != 0:
        raise h.Skip("cannot mount a tmpfs here: " + p.stderr.strip())
    h.cleanup(lambda: subprocess.run(["umount", "-l", d], capture_output=True))
    return d


def remount(d, mode):
    subprocess.run(["mount", "-o", "remount,%s" % mode, d], check=True)


def setup(d, srv, rcv, names, journald=False):
    h.write(os.path.join(d, "secret"), SECRET + "\n")
    return h.config(d, """\
defaults: {interval: 1s, timeout: 800ms, failure_threshold: 1, recovery_threshold: 1}
alerts:
  journald: %s
  webhooks:
    - {name: ops, url: '%s', secret_file: secret, retry_initial: 200ms, retry_max: 1s}
targets:
%s""" % ("true" if journald else "false", rcv.hook("/hook"), "".join(
        "  - {name: %s, url: '%s'}\n" % (n, srv.url("/site/" + n)) for n in names)))


def start(cfg, state, extra=(), **kw):
    return h.Daemon(["-c", cfg, "--state-dir", state] + list(extra), **kw)


def delivered(rcv):
    """(target, event) of each delivery answered 2xx, once per webhook-id."""
    seen, out = set(), []
    for x in rcv.json("/_log"):
        hdr = {k.lower(): v for k, v in x["headers"].items()}
        if x["answer"] != "ok" or hdr["webhook-id"] in seen:
            continue
        seen.add(hdr["webhook-id"])
        body = json.loads(x["body"])
        out.append((body["data"]["target"], body["type"].rsplit(".", 1)[1]))
    return out


def flip(srv, dm, names, status, state):
    for n in names:
        srv.get("/_set?name=%s&status=%d" % (n, status))
    for n in names:
        dm.wait_log(r"%s: \S+ -> %s" % (n, state))


def fill(state):
    """Takes every block left on the state directory's tmpfs."""
    subprocess.run(["dd", "if=/dev/zero", "of=" + os.path.join(state, "filler"), "bs=64k"],
                   capture_output=True)
    return lambda: os.unlink(os.path.join(state, "filler"))


def test_full_disk_loses_no_delivery():
    """Alerts raised while the state directory is full, twice, are
    committed once it can take them, and delivered after a restart. (A
    tmpfs cannot be remounted read-only under open files; a read-only
    database fails the same way, and at start it is refused: see below.)"""
    srv, rcv, d = h.http_fixture(), h.receiver_fixture(), h.tmpdir()
    state = tmpfs("4m")
    names = ["disk-%02d-%s" % (i, uuid.uuid4().hex[:6]) for i in range(10)]
    cfg = setup(d, srv, rcv, names)
    rcv.get("/_mode?m=fail")  # everything stays in the outbox
    dm = start(cfg, state)
    for n in names:
        dm.wait_log(n + r": unknown -> up")
    flip(srv, dm, names[:5], 503, "server_error")  # committed as usual

    for period, (group, status, state_name) in enumerate(
            [(names[5:], 503, "server_error"), (names[:5], 200, "up")], 1):
        free = fill(state)
        flip(srv, dm, group, status, state_name)
        h.wait_until(lambda: len(dm.grep(r"state database .*: cannot")) == period, 10,
                     "the failed commit, logged once")
        # The state database's (the history database may fail and come
        # back too, when its writer flushed while the disk was full).
        assert len(dm.grep(r"state database .*: writing again")) == period - 1
        free()
        dm.wait_log(r"state database .*: writing again; what waited is saved", timeout=15,
                    count=period)
    assert len(dm.grep(r"state database .*: cannot")) == 2, dm.grep(r"state database")
    rc, _ = dm.stop()
    assert rc == 0 and not dm.grep(r"could not be saved"), dm.log()[-5:]

    rcv.get("/_mode?m=ok")
    dm = start(cfg, state)
    want = {(n, "down") for n in names} | {(n, "recovered") for n in names[:5]}
    h.wait_until(lambda: set(delivered(rcv)) >= want, 20,
                 lambda: "every alert delivered; missing %s" % sorted(want - set(delivered(rcv))))
    assert len(delivered(rcv)) == len(want), delivered(rcv)
    dm.stop()


def test_what_cannot_be_saved_at_stop_is_counted():
    srv, rcv, d = h.http_fixture(), h.receiver_fixture(), h.tmpdir()
    state = tmpfs("4m")
    names = ["stop-%d-%s" % (i, uuid.uuid4().hex[:6]) for i in range(3)]
    rcv.get("/_mode?m=fail")
    dm = start(setup(d, srv, rcv, names), state)
    for n in names:
        dm.wait_log(n + r": unknown -> up")
    fill(state)
    flip(srv, dm, names, 503, "server_error")
    dm.wait_log(r"state database .*: cannot")
    rc, _ = dm.stop()
    assert rc == 0
    assert dm.grep(r"3 webhook deliveries and 3 target states could not be saved"), \
        dm.grep(r"state database")


def test_unwritable_database_is_an_error_at_start():
    srv, rcv, d = h.http_fixture(), h.receiver_fixture(), h.tmpdir()
    state = tmpfs("4m")
    cfg = setup(d, srv, rcv, ["ro-" + uuid.uuid4().hex[:6]])
    dm = start(cfg, state)
    dm.wait_log(r"started: ")
    dm.stop()
    remount(state, "ro")
    p = h.run(["-c", cfg, "--state-dir", state], timeout=10)
    assert p.returncode != 0, p.stderr
    assert "cannot write " + os.path.join(state, "upmon.db") in p.stderr, p.stderr
    assert p.stderr.count("\n") <= 3, p.stderr


def test_damaged_database_is_moved_aside():
    srv, rcv, d = h.http_fixture(), h.receiver_fixture(), h.tmpdir()
    state = os.path.join(d, "state")
    os.makedirs(state)
    h.write(os.path.join(state, "upmon.db"), "this is not an SQLite database\n" * 100)
    name = "damaged-" + uuid.uuid4().hex[:6]
    dm = start(setup(d, srv, rcv, [name]), state)
    dm.wait_log(name + r": unknown -> up")
    assert dm.grep(r"upmon.db is damaged .*moved aside as .*upmon.db.corrupt-\d{8}T\d{6}Z"), \
        dm.log()[:5]
    aside = glob.glob(os.path.join(state, "upmon.db.corrupt-*"))
    assert aside and open(aside[0]).read().startswith("this is not"), aside
    dm.stop()


def test_deleted_database_is_written_again_from_memory():
    """The database deleted while the daemon runs: it notices at the next
    write and writes the alert states and pending deliveries again, in
    their order, so a restart neither pages again nor loses or reorders a
    delivery."""
    srv, rcv, d = h.http_fixture(), h.receiver_fixture(), h.tmpdir()
    state = os.path.join(d, "state")
    a, b = "del-a-" + uuid.uuid4().hex[:6], "del-b-" + uuid.uuid4().hex[:6]
    cfg = setup(d, srv, rcv, [a, b])
    rcv.get("/_mode?m=fail")
    dm = start(cfg, state)
    dm.wait_log(a + r": unknown -> up")
    dm.wait_log(b + r": unknown -> up")
    flip(srv, dm, [a, b], 503, "server_error")
    h.wait_until(lambda: rcv.json("/_log"), 10, "a failed attempt")
    for f in glob.glob(os.path.join(state, "upmon.db*")):
        os.unlink(f)
    flip(srv, dm, [a], 200, "up")  # a write: a's recovery, after its pending down
    dm.wait_log(r"was deleted; writing a new one from memory")
    rc, _ = dm.stop()
    assert rc == 0 and not dm.grep(r"could not be saved")
    rcv.get("/_mode?m=ok")
    dm = start(cfg, state)
    want = [(a, "down"), (a, "recovered"), (b, "down")]
    h.wait_until(lambda: set(delivered(rcv)) >= set(want), 15,
                 lambda: "every alert delivered: %s" % delivered(rcv))
    got = delivered(rcv)
    assert got.index((a, "down")) < got.index((a, "recovered")), got
    dm.wait_log(b + r": unknown -> server_error")
    assert not dm.grep(r"alert down: " + b), "paged again after the restart"
    dm.stop()


def test_replaced_database_keeps_no_stale_rows():
    """An old copy put back over the database while the daemon runs is
    replaced by what the daemon holds: a delivery made since is not sent
    again after a restart."""
    import sqlite3
    srv, rcv, d = h.http_fixture(), h.receiver_fixture(), h.tmpdir()
    state = os.path.join(d, "state")
    name = "old-" + uuid.uuid4().hex[:6]
    cfg = setup(d, srv, rcv, [name])
    rcv.get("/_mode?m=fail")
    dm = start(cfg, state)
    dm.wait_log(name + r": unknown -> up")
    flip(srv, dm, [name], 503, "server_error")
    h.wait_until(lambda: rcv.json("/_log"), 10, "a failed attempt")
    old = os.path.join(d, "old.db")
    live = sqlite3.connect(os.path.join(state, "upmon.db"))
    copy = sqlite3.connect(old)
    live.backup(copy)  # the pending down is in it
    copy.close()
    live.close()
    assert sqlite3.connect(old).execute("SELECT count(*) FROM outbox").fetchone()[0] == 1
    rcv.get("/_mode?m=ok")
    h.wait_until(lambda: delivered(rcv) == [(name, "down")], 10, "the down delivered")
    os.rename(old, os.path.join(state, "upmon.db"))
    flip(srv, dm, [name], 200, "up")  # a write
    dm.wait_log(r"was replaced; moved aside as .*upmon\.db\.replaced-\d{8}T\d{6}Z, writing a "
                r"new one from memory")
    assert glob.glob(os.path.join(state, "upmon.db.replaced-*"))
    h.wait_until(lambda: len(delivered(rcv)) == 2, 10, "the recovered delivered")
    dm.stop()
    # What the database holds is what the daemon held: no delivery pending.
    db = sqlite3.connect(os.path.join(state, "upmon.db"))
    rows = db.execute("SELECT event, id FROM outbox").fetchall()
    assert rows == [], (rows, dm.log()[-12:])
    db.close()
    dm = start(cfg, state)
    dm.wait_log(name + r": unknown -> up")
    time.sleep(1)
    # Every delivery answered, repeats included (a repeat keeps its id).
    ok = [x for x in rcv.json("/_log") if x["answer"] == "ok"]
    assert len(ok) == 2, [json.loads(x["body"])["type"] for x in ok]
    dm.stop()


def test_lost_state_directory_is_counted_at_stop():
    """The whole state directory removed: nothing can be written until it
    is back, and what is still unsaved at stop is counted, not dropped in
    silence."""
    import shutil
    srv, rcv, d = h.http_fixture(), h.receiver_fixture(), h.tmpdir()
    state = os.path.join(d, "state")
    names = ["gone-%d-%s" % (i, uuid.uuid4().hex[:6]) for i in range(2)]
    rcv.get("/_mode?m=fail")
    dm = start(setup(d, srv, rcv, names), state)
    for n in names:
        dm.wait_log(n + r": unknown -> up")
    shutil.rmtree(state)
    flip(srv, dm, names, 503, "server_error")
    dm.wait_log(r"state database: cannot")
    rc, _ = dm.stop()
    assert rc == 0
    assert dm.grep(r"2 webhook deliveries and 2 target states could not be saved"), \
        dm.grep(r"state database")


def test_private_database_and_a_lock_that_cannot_be_deleted():
    srv, rcv, d = h.http_fixture(), h.receiver_fixture(), h.tmpdir()
    state = os.path.join(d, "state")
    cfg = setup(d, srv, rcv, ["lock-" + uuid.uuid4().hex[:6]])
    old = os.umask(0)  # inherited: files would be world-writable
    try:
        dm = start(cfg, state)
    finally:
        os.umask(old)
    dm.wait_log(r"started: ")
    for f in glob.glob(os.path.join(state, "upmon.db*")):
        assert os.stat(f).st_mode & 0o777 == 0o600, (f, oct(os.stat(f).st_mode))
    for f in os.listdir(state):
        os.unlink(os.path.join(state, f))
    p = h.run(["-c", cfg, "--state-dir", state], timeout=10)
    assert p.returncode != 0 and "in use by another upmond" in p.stderr, p.stderr
    dm.stop()


FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"


def faketime(d):
    """The environment that runs upmond under libfaketime with the wall
    clock offset by what the returned setter writes ("+2d", "-1d"); the
    monotonic clock is left alone, as a real clock step leaves it."""
    if not os.path.exists(FAKETIME):
        raise h.Skip("libfaketime is not installed (apt-get install libfaketime)")
    spec = h.write(os.path.join(d, "faketime"), "+0\n")
    env = {"LD_PRELOAD": FAKETIME, "FAKETIME_TIMESTAMP_FILE": spec, "FAKETIME_NO_CACHE": "1",
           "FAKETIME_DONT_FAKE_MONOTONIC": "1",
           # Under AddressSanitizer the preload comes before its runtime.
           "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"}
    return env, lambda offset: h.write(spec, offset + "\n")


def test_wall_clock_steps_raise_no_false_alert():
    """Two days forward, then back: no "still down after 2d" reminder, and
    a delivery still pending is neither dropped as older than max_age nor
    held back; it goes once the receiver takes it."""
    srv, rcv, d = h.http_fixture(), h.receiver_fixture(), h.tmpdir()
    env, step = faketime(d)
    name = "clock-" + uuid.uuid4().hex[:6]
    h.write(os.path.join(d, "secret"), SECRET + "\n")
    cfg = h.config(d, """\
defaults: {interval: 1s, timeout: 800ms, failure_threshold: 1, remind_every: 1m}
alerts:
  journald: false
  webhooks:
    - {name: ops, url: '%s', secret_file: secret, max_age: 1m, retry_initial: 200ms,
       retry_max: 1s}
targets:
  - {name: %s, url: '%s'}
""" % (rcv.hook("/hook"), name, srv.url("/status/503")))
    rcv.get("/_mode?m=fail")
    dm = start(cfg, os.path.join(d, "state"), ["-v"], env=env)
    dm.wait_log(r"alert down: " + name)
    h.wait_until(lambda: rcv.json("/_log"), 10, "a failed attempt")
    step("+2d")
    # The daemon's own log lines are dated by the wall clock: the step is real.
    when = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 2 * 86400))
    h.wait_until(lambda: any(l.startswith(when) for l in dm.log()), 10, "the step in the log")
    time.sleep(3)
    step("-1d")
    time.sleep(3)
    assert not dm.grep(r"alert reminder"), dm.grep(r"alert ")
    assert not dm.grep(r"max_age"), dm.grep(r"webhook ")
    rcv.get("/_mode?m=ok")
    h.wait_until(lambda: delivered(rcv) == [(name, "down")], 10, "the down delivered")
    rc, _ = dm.stop()
    assert rc == 0


def proc_status(pid):
    """Threads and VmRSS (in MB) of a live process, from /proc."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key == "Threads":
                out["threads"] = int(value)
            elif key == "VmRSS":
                out["rss_mb"] = int(value.split()[0]) / 1024.0
    return out


def test_silent_name_server_starves_no_probe():
    """500 targets by names a name server never answers, beside targets by
    address, by names it answers (looked up anew for every probe:
    dns_cache 0), by a name of /etc/hosts and localhost, with 50 probe
    slots. The lookups have a budget of their own: a probe waiting for its
    name holds no slot, and no thread waits for the name server. So the others keep their schedule (every run, on time), the
    daemon's threads and memory stay small, and each silent name is down
    as a dns failure that says so."""
    srv, d = h.http_fixture(), h.tmpdir()
    dns = h.Dns(["ok.upmon.test=127.0.0.1"])
    # The C library's own defaults: a thread of curl's resolver would wait
    # ten seconds for each name.
    wrapper = h.dns_namespace(d, dns.addr, options="timeout:5 attempts:2",
                              hosts="127.0.0.1 localhost\n127.0.0.1 upmon-hosts.test\n")
    url = lambda host, name: "http://%s:%d/site/%s" % (host, srv.port, name)
    keep = {"ip%d" % i: url("127.0.0.1", "ip%d" % i) for i in range(20)}
    keep.update({"ok%d" % i: url("n%d.ok.upmon.test" % i, "ok%d" % i) for i in range(10)})
    keep["hosts"] = url("upmon-hosts.test", "hosts")
    keep["localhost"] = url("localhost", "localhost")
    silent = {"s%d" % i: url("n%d.silent.upmon.test" % i, "s%d" % i) for i in range(500)}
    cfg = h.config(d, "engine: {max_concurrent: 50, dns_cache: 0}\nalerts: {journald: false}\n"
                      "defaults: {interval: 1s, timeout: 450ms}\ntargets:\n" + "".join(
                          "  - {name: %s, url: '%s'}\n" % kv
                          for kv in list(keep.items()) + list(silent.items())))
    dm = h.Daemon(["-c", cfg, "--state-dir", os.path.join(d, "state"), "--stats", "-v"],
                  wrapper=wrapper)
    dm.wait_log(r"started: ")
    t0 = time.time()
    peak = {"threads": 0, "rss_mb": 0.0}
    while time.time() - t0 < 8:
        for k, v in proc_status(dm.proc.pid).items():
            peak[k] = max(peak[k], v)
        time.sleep(0.1)
    rc, _ = dm.stop()
    assert rc == 0, dm.log()[-20:]
    stats = json.loads(dm.stdout().strip().splitlines()[-1])

    # Each target that can be reached was probed about once a second, with
    # no gap between two probes much over the interval.
    seen = {}
    for path, when, _ in srv.json("/_log"):
        seen.setdefault(path.rsplit("/", 1)[1], []).append(when)
    # (After the first: the second run comes half an interval to one and a
    # half after it, as the plan settles on the target's phase.)
    late = {}
    for name in keep:
        ts = sorted(seen.get(name, []))[1:]
        gaps = [b - a for a, b in zip(ts, ts[1:])]
        if len(ts) < 5 or max(gaps) > 1.3:
            late[name] = [round(t - t0, 2) for t in sorted(seen.get(name, []))]
    assert not late, ("targets that missed runs", late, stats)
    assert not any(seen.get(n) for n in silent), "a silent name reached the site"
    # No run of those was skipped (and the site's log shows none late).
    skipped = {l.split(": ")[1] for l in dm.grep(r"debug: \S+: previous probe still running")}
    assert not skipped & set(keep), (skipped & set(keep), stats)
    assert stats["dropped"] == 0, stats
    # No thread waits for the name server; memory stays that of the daemon.
    h.note("silent name server: peak %d threads, %.1f MB resident; %d lookups, %d given up"
           % (peak["threads"], peak["rss_mb"], stats["dns_lookups"], stats["dns_abandoned"]))
    assert peak["threads"] <= 2, (peak, stats)
    # (Under AddressSanitizer the history database's writer thread and
    # its caches take about 5 MB of the margin.)
    assert peak["rss_mb"] < (72 if h.SANITIZED else 64), (peak, stats)
    # Each silent name is down, as a dns failure that says why.
    for name, u in silent.items():
        host = u.split("/")[2].split(":")[0]
        assert dm.grep(r"^.*info: %s: unknown -> unreachable \(dns: Resolving %s timed out "
                       r"after \d+ ms" % (name, re.escape(host))), (name, dm.grep(name + ":"))
    assert stats["dns_in_flight"] <= 64 and stats["dns_abandoned"] > 0, stats


if __name__ == "__main__":
    h.main(globals())
