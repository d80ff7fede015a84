#!/usr/bin/env python3
"""Silences and held alerts across restarts, with the real daemon, a
fixture site and the fixture webhook receiver: a silence added with
upmonctl holds a target's down alert, is listed, survives a restart
(SIGTERM and SIGKILL), and when it is expired by hand the target, still
failing, raises its alert once; writes over TCP are refused whatever the
token, and bad requests get clear errors; a silence that runs its time
lets go too; a down held by a maintenance window when the daemon is killed
is raised at the window's end after the restart, or at the first probe
when the window ended while it was stopped; a database of the schema
before these loads."""
import datetime
import json
import os
import signal
import socket
import sqlite3
import time

import harness as h
import httpc

UPMONCTL = os.environ.get("UPMONCTL") or os.path.join(os.path.dirname(h.UPMOND), "upmonctl")
SANITIZED = os.environ.get("UPMON_SANITIZED", "").lower() in ("1", "on", "true", "yes")
# Room for the daemon to start, see the site down, hold the alert, be
# killed and start again, all inside the window.
WINDOW_S = 25 if SANITIZED else 12


def ctl(dm, *args):
    return h.run(["--socket", dm.sock] + list(args), cmd=[UPMONCTL])


def delivered(rcv):
    """The data of each delivery answered 2xx, in order."""
    return [json.loads(d["body"])["data"] for d in rcv.json("/_log") if d["answer"] == "ok"]


def send(where, method, path, body=None, headers=None):
    c = httpc.connection(where)
    try:
        hd = dict(headers or {})
        if body is not None:
            hd["Content-Type"] = "application/json"
        c.request(method, path, body=body, headers=hd)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


class Setup:
    def __init__(self, extra="", targets=None):
        self.srv, self.rcv, self.d = h.http_fixture(), h.receiver_fixture(), h.tmpdir()
        self.sock = os.path.join(self.d, "run", "upmond.sock")
        self.port = h.free_port()
        tok = h.write(os.path.join(self.d, "token"), "t0ken\n")
        if targets is None:
            targets = ("  - {name: shop, url: '%s', labels: {team: web}}\n"
                       "  - {name: blog, url: '%s'}\n"
                       % (self.srv.url("/site/shop"), self.srv.url("/site/blog")))
        self.cfg = h.config(self.d, """\
defaults: {interval: 1s, timeout: 800ms, failure_threshold: 1, recovery_threshold: 1}
http: {listen: ['unix:%s', '127.0.0.1:%d'], token_file: '%s'}
alerts:
  webhooks:
    - {name: ops, url: '%s', retry_initial: 200ms}
targets:
%s""" % (self.sock, self.port, tok, self.rcv.hook("/hook"), targets) + extra)

    def start(self, env=None):
        dm = h.Daemon(["-c", self.cfg, "--state-dir", os.path.join(self.d, "state")], env=env)
        dm.sock = self.sock
        dm.wait_log(r"info: upmond .* started")
        return dm


def probes_of(port, name):
    o = httpc.get_json(port, "/api/v1/targets/" + name,
                       headers={"Authorization": "Bearer t0ken"})
    return len(o["recent"]), o


def wait_probes(port, name, more):
    """Waits until the target has been probed `more` times again."""
    n0 = probes_of(port, name)[0]
    h.wait_until(lambda: probes_of(port, name)[0] >= min(n0 + more, 60), 20,
                 "%d more probes of %s" % (more, name))


def test_silence_holds_survives_restarts_and_raises_once_when_expired():
    st = Setup()
    dm = st.start()
    dm.wait_log(r"shop: unknown -> up")

    p = ctl(dm, "silence", "add", "--target", "shop", "--for", "2h", "--comment",
            "deploy of the shop — ünïcode")
    assert p.returncode == 0, p
    sid = p.stdout.strip()
    assert sid.isdigit(), p.stdout
    dm.wait_log(r'silence %s \(target shop\) added, until .*: "deploy of the shop' % sid)

    st.srv.get("/_set?name=shop&status=503")
    dm.wait_log(r"shop: down alert held: silence %s until " % sid)
    # The other target is not silenced: its alert goes out.
    st.srv.get("/_set?name=blog&status=500")
    h.wait_until(lambda: len(delivered(st.rcv)) == 1, 10, "blog's down")
    assert [(x["target"], x["event"]) for x in delivered(st.rcv)] == [("blog", "down")]
    st.srv.get("/_set?name=blog&status=200")
    h.wait_until(lambda: len(delivered(st.rcv)) == 2, 10, "blog's recovery")
    dm.wait_log(r"alert down: blog")
    assert not dm.grep(r"alert \w+: shop"), dm.grep(r"alert ")

    def listed(dm):
        p = ctl(dm, "silence", "list")
        assert p.returncode == 0, p
        lines = p.stdout.splitlines()
        assert lines[0].split() == ["ID", "STATE", "END", "(UTC)", "HOLDS", "COMMENT"], lines
        row = lines[1].split()
        assert row[0] == sid and row[1] == "active" and row[4] == "shop", lines
        assert lines[1].endswith("deploy of the shop — ünïcode"), lines
        o = json.loads(ctl(dm, "--json", "silence", "list").stdout)
        assert [(s["id"], s["state"], s["target"]) for s in o["silences"]] == \
            [(int(sid), "active", "shop")], o
        assert probes_of(st.port, "shop")[1]["silences"] == [int(sid)]
        assert probes_of(st.port, "blog")[1]["silences"] == []

    listed(dm)
    # Across a restart, by SIGTERM and by SIGKILL: still listed, still
    # holding, nothing sent.
    for stop in (signal.SIGTERM, signal.SIGKILL):
        rc, _ = dm.stop(stop)
        assert rc == (0 if stop == signal.SIGTERM else -signal.SIGKILL), rc
        dm = st.start()
        dm.wait_log(r"1 silence in force")
        listed(dm)
        wait_probes(st.port, "shop", 3)
        assert [x["target"] for x in delivered(st.rcv)] == ["blog", "blog"], delivered(st.rcv)
        assert not dm.grep(r"alert \w+: shop"), dm.grep(r"alert ")

    p = ctl(dm, "silence", "expire", sid)
    assert p.returncode == 0 and p.stdout.strip() == "silence %s expired" % sid, p
    dm.wait_log(r"silence %s \(target shop\) expired by hand at " % sid)
    dm.wait_log(r"shop: the silence is over; raised now: down")
    h.wait_until(lambda: len(delivered(st.rcv)) == 3, 10, "the held down")
    got = delivered(st.rcv)[2]
    assert (got["target"], got["event"], got["previous_state"]) == ("shop", "down", "up"), got
    assert got["code"] == 503, got  # the details of a probe after the restart
    # Once: more probes, nothing more.
    wait_probes(st.port, "shop", 3)
    assert len(delivered(st.rcv)) == 3, delivered(st.rcv)
    assert len(dm.grep(r"alert down: shop")) == 1, dm.grep(r"alert ")
    o = json.loads(ctl(dm, "--json", "silence", "list").stdout)
    assert [(s["id"], s["state"]) for s in o["silences"]] == [(int(sid), "expired")], o
    # Expired already, or never made.
    p = ctl(dm, "silence", "expire", sid)
    assert p.returncode == 1 and "409" in p.stderr and "ended already" in p.stderr, p
    p = ctl(dm, "silence", "expire", "999")
    assert p.returncode == 1 and "404" in p.stderr, p
    rc, _ = dm.stop()
    assert rc == 0


def test_writes_only_over_the_unix_socket_and_checked():
    st = Setup()
    dm = st.start()
    body = json.dumps({"target": "shop", "duration": "1h", "comment": "x"})
    auth = {"Authorization": "Bearer t0ken"}
    # Over TCP, with the right token or none: refused.
    for hd in (auth, {}):
        status, got = send(st.port, "POST", "/api/v1/silences", body, hd)
        assert status == 403 and b"unix socket" in got, (status, got)
    status, got = send(st.port, "DELETE", "/api/v1/silences/1", None, auth)
    assert status == 403, (status, got)
    p = h.run(["--url", "http://127.0.0.1:%d" % st.port, "--token-file",
               os.path.join(st.d, "token"), "silence", "add", "--target", "shop", "--for", "1h",
               "--comment", "x"], cmd=[UPMONCTL])
    assert p.returncode == 1 and "403" in p.stderr, p
    # Reading is as the other routes: with the token.
    assert httpc.get_json(st.port, "/api/v1/silences", headers=auth)["silences"] == []
    assert httpc.request(st.port, "/api/v1/silences").status == 401
    # Other routes take no writes, even over the socket.
    status, _ = send(st.sock, "POST", "/api/v1/targets", "{}")
    assert status == 405

    bad = [
        ({"target": "shop", "duration": "10s", "comment": "x"}, 400, "duration"),
        ({"target": "shop", "duration": "31d", "comment": "x"}, 400, "duration"),
        ({"target": "shop", "duration": "1h", "comment": ""}, 400, "comment"),
        ({"target": "shop", "duration": "1h", "comment": "a\nb"}, 400, "comment"),
        ({"target": "shop", "duration": "1h", "comment": "x" * 201}, 400, "comment"),
        ({"target": "shop", "labels": {"team": "web"}, "duration": "1h", "comment": "x"}, 400,
         "either"),
        ({"labels": {"9x": "web"}, "duration": "1h", "comment": "x"}, 400, "label name"),
        ({"labels": {}, "duration": "1h", "comment": "x"}, 400, "labels"),
        ({"target": "shop", "duration": "1h", "comment": "x", "by": "me"}, 400, "unknown key"),
        ({"target": "nope", "duration": "1h", "comment": "x"}, 422, "no such target"),
        ({"labels": {"team": "ops"}, "duration": "1h", "comment": "x"}, 422, "no enabled"),
    ]
    for req, want, why in bad:
        status, got = send(st.sock, "POST", "/api/v1/silences", json.dumps(req))
        assert status == want and why in json.loads(got)["error"], (req, status, got)
    status, got = send(st.sock, "POST", "/api/v1/silences", "{not json")
    assert status == 400 and b"JSON object" in got, got
    # Too long: refused from its Content-Length, before it is read.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(st.sock)
    s.sendall(b"POST /api/v1/silences HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n")
    assert httpc.status_of(s.recv(65536)) == 413
    s.close()

    # By label, from upmonctl; its answer says what it holds now.
    p = ctl(dm, "--json", "silence", "add", "--label", "team=web", "--for", "90m", "--comment",
            "web team's deploy")
    assert p.returncode == 0, p
    o = json.loads(p.stdout)
    assert o["labels"] == {"team": "web"} and o["target"] is None and o["matching"] == 1, o
    p = ctl(dm, "silence", "list")
    assert p.stdout.splitlines()[1].split()[4] == "team=web", p.stdout
    status, got = send(st.sock, "POST", "/api/v1/silences/%d/expire" % o["id"])
    assert status == 200 and json.loads(got)["state"] == "expired", got
    p = ctl(dm, "silence", "add", "--target", "shop", "--for", "1h")
    assert p.returncode == 2, p
    p = ctl(dm, "silence", "expire", "x1")
    assert p.returncode == 2, p
    rc, _ = dm.stop()
    assert rc == 0


def window_down_killed(window_s):
    """A target in a window from now for window_s seconds, down and held,
    and the daemon killed; returns the setup and the window's end."""
    ist = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
    start = int(time.time()) - 1
    until = start + 1 + window_s

    def rfc3339(t):
        return datetime.datetime.fromtimestamp(t, ist).isoformat(timespec="seconds")

    st = Setup(targets="""\
  - name: shop
    url: '%s'
    maintenance:
      - {name: deploy, from: '%s', until: '%s'}
""" % ("URL", rfc3339(start), rfc3339(until)))
    h.write(st.cfg, open(st.cfg).read().replace("URL", st.srv.url("/site/shop")))
    dm = st.start()
    dm.wait_log(r"shop: unknown -> up")
    st.srv.get("/_set?name=shop&status=503")
    dm.wait_log(r'shop: down alert held: maintenance window "deploy" until ')
    # SIGKILL: what was committed is all there is. The log line comes
    # before the pass's commit, so the kill waits for the row.
    h.wait_until(lambda: committed_state(st, "shop") == "server_error", 10,
                 "the held down committed")
    dm.kill()
    return st, until


def committed_state(st, name):
    """The state the state database holds for a target (None: no row)."""
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(st.d, "state", "upmon.db"), uri=True)
    try:
        row = db.execute("SELECT state FROM target_state WHERE name = ?", (name,)).fetchone()
    except sqlite3.Error:
        return None  # not made yet, or busy: asked again
    finally:
        db.close()
    return row[0] if row else None


def raised_once_then_recovery(st, dm, until):
    dm.wait_log(r"shop: maintenance is over; raised now: down", timeout=WINDOW_S + 10)
    h.wait_until(lambda: len(delivered(st.rcv)) == 1, 10, "the held alert delivered")
    got = delivered(st.rcv)[0]
    # With what a probe after the restart saw.
    assert (got["event"], got["state"], got["previous_state"], got["code"]) == \
        ("down", "server_error", "up", 503), got
    raised = datetime.datetime.fromisoformat(got["time"].replace("Z", "+00:00")).timestamp()
    assert raised >= until, (got["time"], until)
    # Once, and the recovery after it as usual.
    st.srv.get("/_set?name=shop&status=200")
    h.wait_until(lambda: len(delivered(st.rcv)) == 2, 10, "the recovery")
    assert [x["event"] for x in delivered(st.rcv)] == ["down", "recovered"]
    rc, _ = dm.stop()
    assert rc == 0


def test_window_holds_a_down_across_a_restart():
    st, until = window_down_killed(WINDOW_S)
    dm = st.start()
    assert time.time() < until, "the window ended before the restart"
    raised_once_then_recovery(st, dm, until)


def test_window_ended_while_stopped_raises_at_the_first_probe():
    st, until = window_down_killed(4 if not SANITIZED else 10)
    h.wait_until(lambda: time.time() > until + 1, 20, "the window's end")
    dm = st.start()
    raised_once_then_recovery(st, dm, until)


def test_a_database_of_schema_1_loads():
    """A state database written before holds and silences were kept: its
    rows load (a target down then is down now, and known to receivers as
    such: nothing is raised), and it gains the new columns and table."""
    st = Setup()
    os.makedirs(os.path.join(st.d, "state"))
    db = sqlite3.connect(os.path.join(st.d, "state", "upmon.db"))
    db.executescript("""
        CREATE TABLE target_state (
         name TEXT PRIMARY KEY, state TEXT NOT NULL, severity TEXT NOT NULL,
         location TEXT NOT NULL, since_ms INTEGER NOT NULL, notified_ms INTEGER NOT NULL,
         cert_warned INTEGER NOT NULL, slow INTEGER NOT NULL, flapping INTEGER NOT NULL);
        CREATE TABLE outbox (
         id TEXT PRIMARY KEY, webhook TEXT NOT NULL, event TEXT NOT NULL, target TEXT NOT NULL,
         body TEXT NOT NULL, created_ms INTEGER NOT NULL, next_ms INTEGER NOT NULL,
         attempts INTEGER NOT NULL, last_error TEXT);
        PRAGMA user_version = 1;
    """)
    now_ms = int(time.time() * 1000)
    db.execute("INSERT INTO target_state VALUES ('shop', 'server_error', 'critical', '', ?, ?,"
               " 0, 0, 0)", (now_ms - 60000, now_ms - 60000))
    db.commit()
    db.close()
    st.srv.get("/_set?name=shop&status=503")
    dm = st.start()
    wait_probes(st.port, "shop", 2)
    assert probes_of(st.port, "shop")[1]["confirmed"] == "server_error"
    assert not dm.grep(r"alert \w+: shop"), dm.grep(r"alert ")
    assert delivered(st.rcv) == []
    rc, _ = dm.stop()
    assert rc == 0
    db = sqlite3.connect(os.path.join(st.d, "state", "upmon.db"))
    assert db.execute("PRAGMA user_version").fetchone()[0] == 3
    row = db.execute("SELECT state, told_state, held_state, told_since_ms FROM target_state"
                     " WHERE name = 'shop'").fetchone()
    # Not written again (nothing changed): the row keeps no hold, and
    # still reads as told what it says.
    assert row == ("server_error", None, None, None), row
    assert db.execute("SELECT COUNT(*) FROM silences").fetchone()[0] == 0
    db.close()


FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"


def test_a_silence_that_runs_its_time_lets_go():
    """A silence's end is on the wall clock: stepped past it (libfaketime,
    the monotonic clock left alone, as a real step leaves it), the held
    down is raised with the next probe, and the silence is listed ended."""
    if not os.path.exists(FAKETIME):
        raise h.Skip("libfaketime is not installed (apt-get install libfaketime)")
    st = Setup()
    spec = h.write(os.path.join(st.d, "faketime"), "+0\n")
    env = {"LD_PRELOAD": FAKETIME, "FAKETIME_TIMESTAMP_FILE": spec, "FAKETIME_NO_CACHE": "1",
           "FAKETIME_DONT_FAKE_MONOTONIC": "1",
           "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"}
    dm = st.start(env)
    dm.wait_log(r"shop: unknown -> up")
    p = ctl(dm, "silence", "add", "--label", "team=web", "--for", "1m", "--comment", "short")
    assert p.returncode == 0, p
    st.srv.get("/_set?name=shop&status=503")
    dm.wait_log(r"shop: down alert held: silence 1 until ")
    h.write(spec, "+2m\n")
    dm.wait_log(r"shop: the silence is over; raised now: down")
    h.wait_until(lambda: len(delivered(st.rcv)) == 1, 10, "the held down")
    assert (delivered(st.rcv)[0]["target"], delivered(st.rcv)[0]["event"]) == ("shop", "down")
    o = json.loads(ctl(dm, "--json", "silence", "list").stdout)
    assert [(s["id"], s["state"]) for s in o["silences"]] == [(1, "ended")], o
    assert probes_of(st.port, "shop")[1]["silences"] == []
    rc, _ = dm.stop()
    assert rc == 0


if __name__ == "__main__":
    h.main(globals())
