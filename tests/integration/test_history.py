#!/usr/bin/env python3
"""History with the real daemon: minute buckets and incidents in
STATE_DIRECTORY/history.db (read here with Python's sqlite3) that survive
a restart, an incident that gathers the codes and errors seen and closes
on recovery, minutes folded into hours after compact_after and rows
deleted after retention (the wall clock moved by libfaketime), a damaged
history.db moved aside, a full disk, and history turned off."""
import glob
import os
import signal
import sqlite3
import subprocess

import harness as h

FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
HOUR_MS = 3600 * 1000


def start(d, body, extra=(), **kw):
    cfg = h.config(d, body)
    return h.Daemon(["-c", cfg, "--state-dir", os.path.join(d, "state")] + list(extra), **kw)


def config(srv, names, history="", defaults=""):
    return ("defaults: {interval: 1s, timeout: 800ms, failure_threshold: 1, "
            "recovery_threshold: 1%s}\nalerts: {journald: false}\n%stargets:\n%s" %
            (defaults, history, "".join("  - {name: %s, url: '%s'}\n" % (n, srv.url("/site/" + n))
                                        for n in names)))


def query(d, sql, args=()):
    """Rows of a query on history.db, read as another program would while
    the daemon runs."""
    path = os.path.join(d, "state", "history.db")
    if not os.path.exists(path):
        return []
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=5)
    try:
        return db.execute(sql, args).fetchall()
    except sqlite3.OperationalError as e:
        if "no such table" in str(e):
            return []
        raise
    finally:
        db.close()


def probes(d, target, table="minutes"):
    rows = query(d, "SELECT sum(b.probes), sum(b.failures) FROM %s b JOIN targets t "
                    "ON t.id = b.target WHERE t.name = ?" % table, (target,))
    return tuple(x or 0 for x in rows[0]) if rows else (0, 0)


def incidents(d, target):
    return query(d, "SELECT i.id, i.start_ms, i.end_ms, i.worst, i.codes, i.errors FROM "
                    "incidents i JOIN targets t ON t.id = i.target WHERE t.name = ? "
                    "ORDER BY i.id", (target,))


def flip(srv, dm, name, status, state):
    """Sets what the site answers for name and waits for the state it
    makes (a change not seen before)."""
    line = r"info: %s: \S+ -> %s " % (name, state)
    seen = len(dm.grep(line))
    srv.get("/_set?name=%s&status=%d" % (name, status))
    dm.wait_log(line, count=seen + 1)


def test_buckets_and_incidents_survive_a_restart():
    srv, d = h.http_fixture(), h.tmpdir()
    body = config(srv, ["shop", "blog"])
    dm = start(d, body)
    dm.wait_log(r"shop: unknown -> up")
    flip(srv, dm, "blog", 503, "server_error")
    flip(srv, dm, "blog", 200, "up")
    rc, _ = dm.stop()
    assert rc == 0
    path = os.path.join(d, "state", "history.db")
    assert os.stat(path).st_mode & 0o777 == 0o600, oct(os.stat(path).st_mode)
    # The minute under way was written at stop: every probe is there.
    shop, blog = probes(d, "shop"), probes(d, "blog")
    assert shop[0] >= 1 and shop[1] == 0, shop
    assert blog[0] >= 3 and blog[1] >= 1, blog
    (first,) = incidents(d, "blog")
    assert first[3] == "server_error" and first[4] == "503" and first[2] >= first[1] > 0, first

    dm = start(d, body)
    dm.wait_log(r"blog: unknown -> up")
    flip(srv, dm, "blog", 500, "server_error")
    h.wait_until(lambda: len(incidents(d, "blog")) == 2, 10, "the new incident written")
    rc, _ = dm.stop()
    assert rc == 0
    assert probes(d, "shop")[0] > shop[0]
    rows = incidents(d, "blog")
    assert rows[0] == first, rows
    # Ids go on from where they were; it is still open.
    assert rows[1][0] > first[0] and rows[1][2] == 0 and rows[1][4] == "500", rows


def test_an_incident_gathers_codes_and_errors_and_closes_on_recovery():
    srv, d = h.http_fixture(), h.tmpdir()
    dm = start(d, config(srv, ["api"]))
    dm.wait_log(r"api: unknown -> up")
    flip(srv, dm, "api", 503, "server_error")
    # Open: written as it is, long before it ends.
    h.wait_until(lambda: incidents(d, "api") and incidents(d, "api")[0][2] == 0, 10,
                 "the open incident written")
    srv.get("/_set?name=api&status=502")
    h.wait_until(lambda: incidents(d, "api")[0][4] == "503,502", 10, "502 added")
    srv.get("/_set?name=api&status=200&delay=2000")  # over the timeout: unreachable
    dm.wait_log(r"api: server_error -> unreachable \(timeout")
    h.wait_until(lambda: incidents(d, "api")[0][3] == "unreachable", 10, "the worst state")
    flip(srv, dm, "api", 200, "up")
    h.wait_until(lambda: incidents(d, "api")[0][2] != 0, 10, "the incident closed")
    (inc,) = incidents(d, "api")
    assert inc[4] == "503,502" and inc[5] == "timeout" and inc[3] == "unreachable", inc
    assert inc[2] > inc[1], inc
    rc, _ = dm.stop()
    assert rc == 0


def faketime(d):
    if not os.path.exists(FAKETIME):
        raise h.Skip("libfaketime is not installed (apt-get install libfaketime)")
    spec = h.write(os.path.join(d, "faketime"), "+0\n")
    env = {"LD_PRELOAD": FAKETIME, "FAKETIME_TIMESTAMP_FILE": spec, "FAKETIME_NO_CACHE": "1",
           "FAKETIME_DONT_FAKE_MONOTONIC": "1",
           "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"}
    return env, lambda offset: h.write(spec, offset + "\n")


def test_minutes_fold_into_hours_and_go_after_retention():
    """Under a wall clock moved 3 hours on, the minutes of before are
    folded into hours (the same totals) and deleted (compact_after 1h);
    3 days on, past retention (1d), hours, days and incidents go, and so
    does the name of a target no longer configured."""
    srv, d = h.http_fixture(), h.tmpdir()
    env, step = faketime(d)
    history = "history: {compact_after: 1h, retention: 1d}\n"
    dm = start(d, config(srv, ["keep", "gone"], history), env=env)
    dm.wait_log(r"keep: unknown -> up")
    flip(srv, dm, "gone", 404, "client_error")
    flip(srv, dm, "gone", 200, "up")
    dm.stop()
    before = {n: probes(d, n) for n in ("keep", "gone")}
    assert before["keep"][0] >= 2 and before["gone"][1] >= 1, before
    last_minute = query(d, "SELECT max(start_ms) FROM minutes")[0][0]

    step("+3h")
    dm = start(d, config(srv, ["keep"], history), env=env)
    dm.wait_log(r"keep: unknown -> up")
    h.wait_until(lambda: not query(d, "SELECT 1 FROM minutes WHERE start_ms <= ?",
                                   (last_minute,)), 10, "the old minutes folded and deleted")
    for n in ("keep", "gone"):
        assert probes(d, n, "hours") == before[n], (n, probes(d, n, "hours"), before[n])
    assert len(incidents(d, "gone")) == 1
    dm.stop()

    step("+3d")
    dm = start(d, config(srv, ["keep"], history), env=env)
    dm.wait_log(r"keep: unknown -> up")
    h.wait_until(lambda: not query(d, "SELECT 1 FROM hours WHERE start_ms <= ?",
                                   (last_minute,)), 10, "the old hours deleted")
    h.wait_until(lambda: not incidents(d, "gone"), 10, "the incident deleted")
    assert not query(d, "SELECT 1 FROM days WHERE start_ms <= ?", (last_minute,))
    rc, _ = dm.stop()
    assert rc == 0
    assert probes(d, "keep")[0] >= 1  # this run's minutes
    assert query(d, "SELECT name FROM targets") == [("keep",)], query(d, "SELECT * FROM targets")


def test_a_removed_target_keeps_its_rows_and_its_incident_ends():
    srv, d = h.http_fixture(), h.tmpdir()
    dm = start(d, config(srv, ["stay", "old"]))
    dm.wait_log(r"stay: unknown -> up")
    flip(srv, dm, "old", 503, "server_error")
    h.wait_until(lambda: incidents(d, "old"), 10, "the open incident written")
    h.config(d, config(srv, ["stay", "new"]))
    dm.send(signal.SIGHUP)
    dm.wait_log(r"reloaded: ")
    h.wait_until(lambda: incidents(d, "old")[0][2] != 0, 10, "the incident ended with the target")
    dm.wait_log(r"new: unknown -> up")
    rc, _ = dm.stop()
    assert rc == 0
    assert probes(d, "old")[0] >= 2


def test_a_damaged_history_db_is_moved_aside():
    srv, d = h.http_fixture(), h.tmpdir()
    state = os.path.join(d, "state")
    os.makedirs(state)
    h.write(os.path.join(state, "history.db"), "this is not a database\n" * 200)
    dm = start(d, config(srv, ["shop"]))
    dm.wait_log(r"history database .*/history\.db is damaged .*: moved aside as "
                r".*history\.db\.corrupt-\d{8}T\d{6}Z; starting a new one")
    dm.wait_log(r"shop: unknown -> up")
    srv.get("/_set?name=shop&status=503")
    dm.wait_log(r"shop: up -> server_error")
    rc, _ = dm.stop()
    assert rc == 0
    assert len(glob.glob(os.path.join(state, "history.db.corrupt-*"))) == 1
    assert probes(d, "shop")[0] >= 2 and incidents(d, "shop")


def test_an_unopenable_history_db_leaves_the_daemon_probing():
    srv, d = h.http_fixture(), h.tmpdir()
    os.makedirs(os.path.join(d, "state", "history.db"))  # a directory: not a file
    dm = start(d, config(srv, ["shop"]))
    dm.wait_log(r"history database: cannot write .*history\.db: Is a directory; running "
                r"without history")
    dm.wait_log(r"shop: unknown -> up")
    rc, _ = dm.stop()
    assert rc == 0
    assert len(dm.grep(r"history")) == 1, dm.grep(r"history")


def tmpfs(size):
    d = h.tmpdir()
    if os.geteuid() != 0:
        raise h.Skip("mounting a tmpfs needs root")
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0700" % size, "upmon-hist", d],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise h.Skip("cannot mount a tmpfs here: " + p.stderr.strip())
    h.cleanup(lambda: subprocess.run(["umount", "-l", d], capture_output=True))
    return d


def test_a_full_disk_does_not_stop_probing():
    """The state directory fills up: the probes go on, the failed write is
    logged once, and what waited is written once there is room."""
    srv, d = h.http_fixture(), h.tmpdir()
    state = tmpfs("4m")
    names = ["disk-%d" % i for i in range(5)]
    cfg = h.config(d, config(srv, names))
    dm = h.Daemon(["-c", cfg, "--state-dir", state])
    for n in names:
        dm.wait_log(n + r": unknown -> up")
    filler = os.path.join(state, "filler")
    subprocess.run(["dd", "if=/dev/zero", "of=" + filler, "bs=64k"], capture_output=True)
    seen = len(srv.json("/_log"))
    for n in names:
        srv.get("/_set?name=%s&status=503" % n)
    for n in names:
        dm.wait_log(n + r": up -> server_error")
    dm.wait_log(r"history database .*: cannot write: .*full", timeout=20)
    assert len(srv.json("/_log")) > seen + 10
    os.unlink(filler)
    dm.wait_log(r"history database .*: writing again; what waited is saved", timeout=20)
    assert len(dm.grep(r"history database .*: cannot")) == 1, dm.grep(r"history database")
    rc, _ = dm.stop()
    assert rc == 0
    db = sqlite3.connect(os.path.join(state, "history.db"))
    got = db.execute("SELECT count(*) FROM incidents WHERE codes = '503'").fetchone()[0]
    db.close()
    assert got == len(names), got


def test_history_off_writes_no_database():
    srv, d = h.http_fixture(), h.tmpdir()
    dm = start(d, config(srv, ["shop"], "history: {enabled: false}\n"))
    dm.wait_log(r"shop: unknown -> up")
    flip(srv, dm, "shop", 503, "server_error")
    rc, _ = dm.stop()
    assert rc == 0
    assert not os.path.exists(os.path.join(d, "state", "history.db"))


h.main(globals())
