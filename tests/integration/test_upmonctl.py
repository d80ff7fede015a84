#!/usr/bin/env python3
"""upmonctl against the running daemon: the live table over the unix
socket (in colour on a terminal, unless NO_COLOR), --json, the plugin
status, a target's history, the incidents, --url with the token, and its
exit statuses when upmond cannot be reached or it is used wrong."""
import json
import os
import pty
import re
import subprocess

import harness as h

UPMONCTL = os.environ.get("UPMONCTL") or os.path.join(os.path.dirname(h.UPMOND), "upmonctl")


def ctl(*args, env=None):
    return h.run(list(args), cmd=[UPMONCTL], env=env)


def start(d, srv, http="", targets=None, history=False):
    sock = os.path.join(d, "run", "upmond.sock")
    if targets is None:
        targets = ("  - {name: shop, url: '%s'}\n  - {name: moved, url: '%s'}\n" %
                   (srv.url("/site/shop"), srv.url("/status/302?location=/there")))
    port = h.free_port()
    cfg = h.config(d, "defaults: {interval: 1s, timeout: 900ms, failure_threshold: 1,"
                      " recovery_threshold: 1}\nhistory: {enabled: %s}\n"
                      "http: {listen: ['unix:%s', '127.0.0.1:%d']%s}\ntargets:\n%s"
                   % ("true" if history else "false", sock, port, http, targets))
    dm = h.Daemon(["-c", cfg, "--state-dir", os.path.join(d, "state")])
    dm.wait_log(r"info: upmond .* started")
    dm.sock, dm.port = sock, port
    return dm


def rows(out):
    lines = out.splitlines()
    return lines[0].split(), {l.split()[0]: l.split() for l in lines[1:]}


def wait_state(dm, name, state):
    def ok():
        p = ctl("--socket", dm.sock, "status", "--json")
        return p.returncode == 0 and any(t["target"] == name and t["confirmed"] == state
                                         for t in json.loads(p.stdout)["targets"])
    h.wait_until(ok, 10, "%s %s" % (name, state))


def test_status():
    srv = h.http_fixture()
    d = h.tmpdir()
    dm = start(d, srv)
    wait_state(dm, "moved", "redirecting")
    wait_state(dm, "shop", "up")
    p = ctl("--socket", dm.sock, "status")
    assert p.returncode == 0, p
    head, r = rows(p.stdout)
    assert head == ["TARGET", "STATE", "FOR", "SEVERITY", "CODE", "LATENCY", "UPTIME", "DETAIL"], \
        head
    assert r["shop"][1] == "up" and r["shop"][3:5] == ["ok", "200"], r["shop"]
    assert r["shop"][7] == "100.00%", r["shop"]
    assert re.fullmatch(r"[0-9]+(ms|s)", r["shop"][2]), r["shop"]
    assert r["moved"][1] == "redirecting" and r["moved"][3:5] == ["warning", "302"], r["moved"]
    assert p.stdout.splitlines()[2].endswith("Found -> " + srv.url("/there")), p.stdout
    assert "\033" not in p.stdout, p.stdout  # no terminal: no colour

    # Options after the command, and --json: the API's answer.
    p = ctl("status", "--json", "--socket", dm.sock)
    assert p.returncode == 0, p
    o = json.loads(p.stdout)
    assert [t["target"] for t in o["targets"]] == ["shop", "moved"], o

    # The plugin status, from each target's last probe.
    assert ctl("--socket", dm.sock, "status", "--plugin").returncode == 1  # a redirect: warning
    srv.get("/_set?name=shop&status=500")
    wait_state(dm, "shop", "server_error")
    p = ctl("--socket", dm.sock, "status", "--plugin")
    assert p.returncode == 2, p
    assert rows(p.stdout)[1]["shop"][1] == "server_error", p.stdout


def test_colour_on_a_terminal():
    srv = h.http_fixture()
    d = h.tmpdir()
    dm = start(d, srv)
    wait_state(dm, "shop", "up")

    def on_a_terminal(env):
        master, slave = pty.openpty()
        e = dict(os.environ, TERM="xterm", **env)
        p = subprocess.Popen([UPMONCTL, "--socket", dm.sock, "status"], stdout=slave,
                             stderr=subprocess.PIPE, env=e)
        os.close(slave)
        out = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        os.close(master)
        assert p.wait(10) == 0, p.stderr.read()
        return out.decode()

    out = on_a_terminal({"NO_COLOR": ""})
    assert "\033[32mup\033[0m" in out, repr(out)
    assert "\033[32mok\033[0m" in out, repr(out)
    assert "\033[33mredirecting\033[0m" in out, repr(out)
    out = on_a_terminal({"NO_COLOR": "1"})
    assert "\033" not in out and " up " in out, repr(out)


def test_history_and_incidents():
    srv = h.http_fixture()
    d = h.tmpdir()
    dm = start(d, srv)
    wait_state(dm, "shop", "up")
    srv.get("/_set?name=shop&status=503")
    wait_state(dm, "shop", "server_error")

    # History off: the last probes, newest first.
    p = ctl("--socket", dm.sock, "history", "shop")
    assert p.returncode == 0, p
    lines = p.stdout.splitlines()
    assert "keeps no history" in lines[0], lines
    assert lines[1].split() == ["TIME", "(UTC)", "STATE", "CODE", "LATENCY"], lines
    assert lines[2].split()[2:4] == ["server_error", "503"], lines
    assert lines[-1].split()[2:4] == ["up", "200"], lines
    p = ctl("--socket", dm.sock, "history", "shop", "--json")
    assert p.returncode == 0 and json.loads(p.stdout)["target"] == "shop", p
    p = ctl("--socket", dm.sock, "history", "nope")
    assert p.returncode == 1 and "no such target" in p.stderr, p
    p = ctl("--socket", dm.sock, "history", "shop", "--since", "yesterday")
    assert p.returncode == 2 and "--since" in p.stderr, p

    p = ctl("--socket", dm.sock, "incidents")
    assert p.returncode == 0, p
    head, r = rows(p.stdout)
    assert head[:2] == ["TARGET", "START"], head
    assert r["shop"][3] == "open" and r["shop"][5:] == ["server_error", "503"], r["shop"]
    srv.get("/_set?name=shop&status=200")
    wait_state(dm, "shop", "up")
    p = ctl("--socket", dm.sock, "incidents", "--json")
    o = json.loads(p.stdout)
    assert o["open"] == [] and o["recent"][0]["target"] == "shop", o
    p = ctl("--socket", dm.sock, "incidents")
    r = rows(p.stdout)[1]
    assert r["shop"][3] != "open" and r["shop"][-2:] == ["server_error", "503"], p.stdout
    p = ctl("--socket", dm.sock, "incidents", "--limit", "0")
    assert p.returncode == 1 and "400: limit must be" in p.stderr, p


def test_history_kept():
    srv = h.http_fixture()
    d = h.tmpdir()
    dm = start(d, srv, history=True)
    wait_state(dm, "shop", "up")
    srv.get("/_set?name=shop&status=503")
    wait_state(dm, "shop", "server_error")
    p = ctl("--socket", dm.sock, "history", "shop", "--since", "1h", "--step", "5m")
    assert p.returncode == 0, p
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["TIME", "(UTC)", "PROBES", "FAILED", "UPTIME", "AVERAGE",
                                "MAXIMUM", "WORST"], lines
    assert len(lines) in (14, 15), lines  # 12 or 13 steps and the summary
    probed = [l.split() for l in lines[1:-1] if l.split()[2] != "0"]
    assert probed and probed[-1][-1] == "server_error", lines
    assert re.fullmatch(r"uptime [0-9.]+% from \S+ \S+", lines[-1]), lines[-1]
    p = ctl("--socket", dm.sock, "history", "shop", "--json", "--step", "1h")
    o = json.loads(p.stdout)
    assert o["target"] == "shop" and o["step_s"] == 3600 and len(o["points"]) in (24, 25), o
    # Back more than a week: by the day.
    o = json.loads(ctl("--socket", dm.sock, "history", "shop", "--since", "30d", "--json").stdout)
    assert o["step_s"] == 86400 and len(o["points"]) in (30, 31), o
    p = ctl("--socket", dm.sock, "history", "shop", "--step", "90s")
    assert p.returncode == 1 and "step must be a whole number of minutes" in p.stderr, p


def test_over_tcp_with_the_token():
    srv = h.http_fixture()
    d = h.tmpdir()
    tok = h.write(os.path.join(d, "token"), "t0ken\n")
    dm = start(d, srv, ", token_file: '%s'" % tok)
    wait_state(dm, "shop", "up")
    url = "http://127.0.0.1:%d" % dm.port
    p = ctl("--url", url, "status")
    assert p.returncode == 1 and "token" in p.stderr, p
    wrong = h.write(os.path.join(d, "wrong"), "nope\n")
    assert ctl("--url", url, "--token-file", wrong, "status").returncode == 1
    p = ctl("--url", url + "/", "--token-file", tok, "status")
    assert p.returncode == 0 and rows(p.stdout)[1]["shop"][1] == "up", p
    # Over the socket no token is asked.
    assert ctl("--socket", dm.sock, "status").returncode == 0


def test_exit_statuses():
    d = h.tmpdir()
    gone = os.path.join(d, "nothing.sock")
    p = ctl("--socket", gone, "status")
    assert p.returncode == 1, p
    assert p.stderr.startswith("upmonctl: cannot reach upmond at %s: " % gone), p.stderr
    assert ctl("--socket", gone, "status", "--plugin").returncode == 3
    assert ctl("--url", "http://127.0.0.1:%d" % h.free_port(), "incidents").returncode == 1
    for args in ([], ["bogus"], ["status", "extra"], ["history"], ["history", "a", "b"],
                 ["incidents", "--plugin"], ["status", "--since", "1d"],
                 ["--token-file", "/dev/null", "status"], ["--nonsense", "status"]):
        p = ctl(*args)
        assert p.returncode == 2 and "Usage: upmonctl" in p.stderr, (args, p)
    p = ctl("--help")
    assert p.returncode == 0 and "Usage: upmonctl" in p.stdout, p
    p = ctl("--version")
    assert p.returncode == 0 and p.stdout.startswith("upmonctl "), p


h.main(globals())
