#!/usr/bin/env python3
"""upmond.service and upmond@.service under a real systemd: this build,
installed with cmake --install into a container booted for this file
(tests/system/nspawn.py), probing fixture sites and paging a fixture
webhook receiver on this machine's 127.0.0.1. systemctl, journalctl and
systemd-analyze run inside the container, as an operator would run them.

One container serves every test; each test starts from a stopped service
with no state. The units are as installed, but for two drop-ins: the
watchdog test's shortens WatchdogSec= from 30 s to 3 s, and a sanitized
build's gives the sanitizers their options."""
import base64
import json
import os
import re
import subprocess
import time
import urllib.parse

import nspawn
import harness as h

BUILD = os.environ.get("UPMON_BUILD_DIR") or os.path.dirname(os.path.dirname(h.UPMOND))
box = None  # the container
CONF = None  # the configuration directory the installed unit reads


def setup():
    global box, CONF
    nspawn.require()
    if not os.path.exists(os.path.join(BUILD, "CMakeCache.txt")):
        h.skip_all("no build to install at %s (set UPMON_BUILD_DIR)" % BUILD)
    box = nspawn.Container("upmon-service-%d" % os.getpid())
    h.note("the container booted in %.1fs" % box.boot_seconds)
    p = subprocess.run(["cmake", "--install", BUILD], env=dict(os.environ, DESTDIR=box.path("")),
                       capture_output=True, text=True)
    assert p.returncode == 0, "cmake --install into the container:\n" + p.stdout + p.stderr
    if h.SANITIZED:
        # LeakSanitizer stops the world with ptrace(2), which the unit's
        # system call filter denies, failing every exit: without it, the
        # sanitizers check all else under the unit's sandbox.
        for unit in ("upmond.service", "upmond@.service"):
            box.write("/etc/systemd/system/%s.d/50-test-sanitizers.conf" % unit,
                      "[Service]\nEnvironment=ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 "
                      "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1\n")
    box.run("systemctl", "daemon-reload")
    # What a package's trigger does (see debian/): the installed catalog
    # compiled into the journal's database.
    box.run("journalctl", "--update-catalog")
    unit = box.run("systemctl", "cat", "upmond.service").stdout
    m = re.search(r"^ExecStart=\S+/upmond -c (\S+)/upmon\.yaml$", unit, re.M)
    assert m, "no ExecStart= with -c in the installed unit:\n" + unit
    CONF = m.group(1)
    h.on_failure(lambda: "-- the journal of upmond's units in the container, its end:\n" +
                 "\n".join(box.journal("-u", "upmond.service", "-u", "upmond@*.service", "-n", "60",
                                       "-o", "short-monotonic")))


def fresh(name="upmond"):
    """The unit, stopped and with its state directory gone when the test
    ends, pass or fail."""
    u = nspawn.Unit(box, name + ".service")
    state = u.prop("StateDirectory")

    def reset():
        u.ctl("stop", check=False)
        u.ctl("reset-failed", check=False)
        box.remove("/var/lib/private/" + state)
        box.remove("/var/lib/" + state)
    h.cleanup(reset)
    return u


def configure(text, name="upmon.yaml"):
    path = box.write("%s/%s" % (CONF, name), text)
    h.cleanup(lambda: box.remove(path))
    return path


def base(rcv=None, secret=None):
    """The top of a configuration: fast probes, an alert on the first
    failure, and the receiver as a webhook of format standard."""
    hook = ""
    if rcv is not None:
        hook = ("  webhooks:\n    - {name: pager, url: '%s', format: standard, "
                "retry_initial: 200ms, retry_max: 1s%s}\n" %
                (rcv.hook("/pager"), ", secret_credential: %s" % secret if secret else ""))
    return ("defaults: {interval: 1s, timeout: 800ms, failure_threshold: 1}\n"
            "alerts:\n  journald: true\n" + hook)


def probes(srv, path):
    return [t for p, t, _ in srv.json("/_log") if p == path]


def wait_probes(srv, path, more, timeout=15):
    """Waits until the site has seen `more` more probes of path."""
    n = len(probes(srv, path))
    h.wait_until(lambda: len(probes(srv, path)) >= n + more, timeout,
                 "%d more probes of %s" % (more, path))


def deliveries(rcv):
    """Every POST the receiver got: (target, event, webhook-id, answer)."""
    out = []
    for d in rcv.json("/_log"):
        data = json.loads(d["body"])["data"]
        hdr = {k.lower(): v for k, v in d["headers"].items()}
        out.append((data["target"], data["event"], hdr.get("webhook-id"), d["answer"]))
    return out


def delivered(rcv):
    """{(target, event): how many deliveries the receiver accepted}."""
    got = {}
    for target, event, _, answer in deliveries(rcv):
        if answer == "ok":
            got[(target, event)] = got.get((target, event), 0) + 1
    return got


def uid_of(pid):
    status = box.read("/proc/%d/status" % pid)
    return int(re.search(r"^Uid:\s+(\d+)", status, re.M).group(1))


def exposure(unit):
    out = box.run("systemd-analyze", "security", "--no-pager", unit).stdout
    m = re.search(r"Overall exposure level for %s: ([0-9.]+)" % re.escape(unit), out)
    assert m, out
    return float(m.group(1))


def seconds(timespan):
    """A systemd time span as systemctl show prints it (10s, 1min 30s, 500ms)."""
    units = {"us": 1e-6, "ms": 1e-3, "s": 1, "min": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"([0-9.]+)(us|ms|s|min|h)", timespan))


def test_start_returns_once_ready_and_status_shows_the_counts():
    srv = h.http_fixture()
    u = fresh()
    configure(base() + "targets:\n  - {name: fine, url: '%s'}\n  - {name: broken, url: '%s'}\n" %
              (srv.url("/status/200"), srv.url("/status/503")))
    u.ctl("start")
    # A Type=notify service is active only once it sent READY=1, and
    # upmond sends its first STATUS= just before: both are there the
    # moment systemctl start returns.
    s = u.show("Type", "NotifyAccess", "ActiveState", "SubState", "StatusText")
    assert s["Type"] == "notify" and s["NotifyAccess"] == "main", s
    assert s["ActiveState"] == "active" and s["SubState"] == "running", s
    assert re.match(r"2 targets: \d up, 0 redirecting, \d down, \d pending$", s["StatusText"]), s
    want = 'Status: "2 targets: 1 up, 0 redirecting, 1 down, 0 pending"'
    h.wait_until(lambda: want in u.ctl("status", check=False).stdout, 10,
                 lambda: want + " in:\n" + u.ctl("status", check=False).stdout)
    assert "Main PID: %d (upmond)" % u.main_pid() in u.ctl("status", check=False).stdout


def reload_setup(srv):
    u = fresh()
    configure(base() + "watch: [reload.d/*.yaml]\n")
    team = configure("targets:\n  - {name: steady, url: '%s'}\n" % srv.url("/site/steady"),
                     "reload.d/team.yaml")
    h.cleanup(lambda: box.remove(CONF + "/reload.d"))
    u.ctl("start")
    wait_probes(srv, "/site/steady", 2)
    return u, team


def test_reload_applies_a_new_watch_list_with_no_gap():
    srv = h.http_fixture()
    u, team = reload_setup(srv)
    pid, cur = u.main_pid(), box.cursor()
    box.write(team, "targets:\n  - {name: steady, url: '%s'}\n  - {name: added, url: '%s'}\n" %
              (srv.url("/site/steady"), srv.url("/site/added")))
    at = time.time()
    u.ctl("reload")
    u.wait_journal(r"^reloaded: 2 targets \(0 disabled\) from 1 watch file", cur)
    h.wait_until(lambda: probes(srv, "/site/added"), 5, "the added target probed")
    wait_probes(srv, "/site/steady", 2)
    assert u.main_pid() == pid
    # The target that stayed was probed every second straight through.
    times = probes(srv, "/site/steady")
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert max(gaps) < 1.5, gaps
    assert [t for t in times if t > at], times
    h.wait_until(lambda: u.prop("StatusText") == "2 targets: 2 up, 0 redirecting, 0 down, "
                 "0 pending", 5, lambda: "STATUS with both up: " + u.prop("StatusText"))
    assert u.prop("ActiveState") == "active"


def test_reload_of_a_broken_watch_list_keeps_the_old_configuration():
    srv = h.http_fixture()
    u, team = reload_setup(srv)
    pid, cur = u.main_pid(), box.cursor()
    box.write(team, "targets:\n  - {name: steady, url: '%s', intervall: 2s}\n" %
              srv.url("/site/steady"))
    u.ctl("reload")  # a reload is a signal: the service takes it, and carries on
    u.wait_journal(r"^reload failed with 1 error; the previous configuration stays in use$", cur)
    errors = [l for l in u.journal(cur) if l.startswith(team + ":")]
    col = box.read(team).splitlines()[1].index("intervall") + 1
    assert errors == ['%s:2:%d: unknown target key "intervall" (did you mean "interval"?)' %
                      (team, col)], errors
    s = u.show("ActiveState", "SubState", "StatusText", "MainPID")
    assert s["ActiveState"] == "active" and s["SubState"] == "running", s
    assert int(s["MainPID"]) == pid, s
    assert s["StatusText"].startswith("reload failed with 1 error, previous configuration kept; "
                                      "1 target: "), s
    wait_probes(srv, "/site/steady", 2)  # the old configuration, still at work
    assert u.prop("ActiveState") == "active"


def test_watchdog_kills_a_frozen_daemon_and_the_restart_loses_no_alert():
    srv, rcv = h.http_fixture(), h.receiver_fixture()
    u = fresh()
    dropin = "/etc/systemd/system/upmond.service.d/50-test-watchdog.conf"
    box.write(dropin, "[Service]\nWatchdogSec=3s\n")
    box.run("systemctl", "daemon-reload")
    h.cleanup(lambda: (box.remove(dropin), box.run("systemctl", "daemon-reload")))
    rcv.get("/_mode?m=fail")
    configure(base(rcv) + "targets:\n  - {name: down, url: '%s'}\n  - {name: flip, url: '%s'}\n" %
              (srv.url("/status/503"), srv.url("/site/flip")))
    u.ctl("start")
    pid = u.main_pid()
    # The alert for "down" waits in the outbox (the receiver fails it);
    # "flip" is up and known to be.
    h.wait_until(lambda: [d for d in deliveries(rcv) if d[0] == "down"], 10, "a delivery tried")
    u.wait_journal(r"^flip: unknown -> up")
    cur = box.cursor()
    u.ctl("kill", "--kill-who=main", "--signal=SIGSTOP")
    srv.get("/_set?name=flip&status=503")  # goes down while nobody watches
    u.wait_journal(r"Watchdog timeout", cur, timeout=10)
    h.wait_until(lambda: (lambda s: s["ActiveState"] == "active" and int(s["MainPID"]) != pid)(
        u.show("ActiveState", "MainPID")), 20, "upmond restarted")
    assert u.prop("NRestarts") == "1"
    assert u.wait_journal(r"^1 webhook deliveries pending from before the restart$", cur)
    rcv.get("/_mode?m=ok")
    h.wait_until(lambda: delivered(rcv).get(("flip", "down")), 10, "flip's alert")
    h.wait_until(lambda: delivered(rcv).get(("down", "down")), 10, "down's alert, at last")
    wait_probes(srv, "/status/503", 3)  # down, seen again and again since the restart
    assert delivered(rcv) == {("down", "down"): 1, ("flip", "down"): 1}, deliveries(rcv)
    # Every attempt for "down" was the one delivery, from before the kill.
    assert len({d[2] for d in deliveries(rcv) if d[0] == "down"}) == 1, deliveries(rcv)


def test_state_survives_restarts_in_the_dynamic_users_state_directory():
    srv, rcv = h.http_fixture(), h.receiver_fixture()
    u = fresh()
    configure(base(rcv) + "targets:\n  - {name: gone, url: '%s'}\n" % srv.url("/status/503"))
    u.ctl("start")
    h.wait_until(lambda: delivered(rcv), 10, "the alert")
    uids = set()
    for _ in range(2):
        pid = u.main_pid()
        uid = uid_of(pid)
        assert 61184 <= uid <= 65519, uid  # systemd's range for dynamic users
        uids.add(uid)
        assert os.readlink(box.path("/var/lib/upmon")) == "private/upmon"
        st = os.stat(box.path("/var/lib/private/upmon/upmon.db"))
        assert st.st_uid == uid and st.st_mode & 0o777 == 0o600, (st, uid)
        cur = box.cursor()
        u.ctl("restart")
        u.wait_journal(r"^upmond \S+ started: 1 target", cur)
        wait_probes(srv, "/status/503", 3)
    assert delivered(rcv) == {("gone", "down"): 1}, deliveries(rcv)
    assert u.prop("User") == "upmond" and u.prop("DynamicUser") == "yes"


def test_load_credential_delivers_the_webhook_secret():
    srv, rcv = h.http_fixture(), h.receiver_fixture()
    u = fresh()
    secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    cred = box.write("/etc/credstore/webhook-secret", secret + "\n", mode=0o600)
    h.cleanup(lambda: box.remove("/etc/credstore"))
    configure(base(rcv, secret="webhook-secret") +
              "targets:\n  - {name: signed, url: '%s'}\n" % srv.url("/status/503"))
    u.ctl("start")
    h.wait_until(lambda: delivered(rcv), 10, "the alert")
    verified = rcv.json("/_verify?" + urllib.parse.urlencode({"secret": secret}))
    assert verified and all(verified), verified
    # The daemon's user could not have read the file itself.
    p = as_daemon(u, "cat", cred)
    assert p.returncode != 0 and secret not in p.stdout, (p.returncode, p.stdout)


def as_daemon(u, *cmd, root=False):
    """Runs cmd in the running daemon's mount namespace: as its user, in
    its user namespace, or, with root, as root (that is, with every
    permission a file's mode can give)."""
    pid = u.main_pid()
    enter = ["nsenter", "-t", str(pid), "-m"]
    if not root:
        uid = str(uid_of(pid))
        enter += ["-U", "-S", uid, "-G", uid]
    return box.run(*(enter + ["--"] + list(cmd)), check=False)


def test_the_daemon_cannot_write_outside_its_state_directory():
    srv = h.http_fixture()
    u = fresh()
    configure(base() + "targets:\n  - {name: fine, url: '%s'}\n" % srv.url("/status/200"))
    u.ctl("start")
    # Where it may write: its state and runtime directories, its own /tmp
    # and /var/tmp, and the IPC file systems, which RemoveIPC= empties.
    allowed = ("/var/lib/private/upmon", "/run/upmon", "/tmp", "/var/tmp", "/dev/shm",
               "/dev/mqueue")
    inside = lambda path: any(path == a or path.startswith(a + "/") for a in allowed)
    # Every file and directory the daemon may write to, as the kernel sees
    # it from the daemon's namespaces (access(2), which counts read-only
    # mounts), but for the kernel's own /proc and /sys: as its user, and as
    # root, who has every permission a mode can give (and its own /dev, a
    # tmpfs of PrivateDevices=).
    for root in (False, True):
        pruned = ["/proc", "/sys"] + (["/dev"] if root else [])
        cmd = ["find", "/", "("] + " -o ".join("-path " + d for d in pruned).split() + [
            ")", "-prune", "-o", "(", "-type", "d", "-o", "-type", "f", ")", "-writable", "-print"]
        writable = as_daemon(u, *cmd, root=root).stdout.splitlines()
        assert "/var/lib/private/upmon" in writable and "/tmp" in writable, writable
        outside = [w for w in writable if not inside(w)]
        assert not outside, ("as root: " if root else "") + " ".join(outside)

    # And trying it.
    touch = lambda path, root=False: as_daemon(u, "sh", "-c", 'true >> "$0"', path, root=root)
    for path in (CONF + "/upmon.yaml", CONF + "/new", "/etc/new", "/usr/sbin/new", "/var/lib/new",
                 "/var/log/new", "/run/new", "/run/lock/new", "/root/new", "/home/new", "/new"):
        for root in (False, True):
            p = touch(path, root)
            assert p.returncode != 0, "%s: the daemon%s could write %s" % (
                u.name, " (as root)" if root else "", path)
    assert touch("/var/lib/upmon/new").returncode == 0
    assert box.exists("/var/lib/private/upmon/new")
    for private in ("/tmp/new", "/var/tmp/new"):
        assert touch(private).returncode == 0
        assert as_daemon(u, "test", "-e", private).returncode == 0
        assert not box.exists(private)
    assert touch("/dev/shm/upmon-new").returncode == 0 and box.exists("/dev/shm/upmon-new")
    u.ctl("stop")
    assert not box.exists("/dev/shm/upmon-new")


def test_security_exposure_of_the_running_unit():
    srv = h.http_fixture()
    u = fresh()
    configure(base() + "targets:\n  - {name: fine, url: '%s'}\n" % srv.url("/status/200"))
    u.ctl("start")
    level = exposure("upmond.service")
    h.note("systemd-analyze security upmond.service: %.1f" % level)
    assert level <= 1.5, level


def test_journal_catalog_explains_an_alert():
    srv = h.http_fixture()
    u = fresh()
    url = srv.url("/status/503")
    configure(base() + "targets:\n  - {name: catalogued, url: '%s'}\n" % url)
    cur = box.cursor()
    u.ctl("start")
    u.wait_journal(r"^catalogued is down", cur)
    text = box.run("journalctl", "--no-pager", "-u", "upmond.service", "-x", "--after-cursor",
                   cur).stdout
    # The catalog's lines, marked as journalctl marks them (in a UTF-8 locale
    # with "\u2591\u2591 ").
    explained = [l[3:] for l in text.splitlines() if l.startswith("-- ")]
    assert "Subject: catalogued is down" in explained, text
    assert "Defined-By: upmon" in explained, text
    assert ("The monitored site catalogued (%s) stopped answering as" % url) in explained, text


def test_stop_is_prompt_and_keeps_pending_deliveries():
    srv, rcv = h.http_fixture(), h.receiver_fixture()
    u = fresh()
    rcv.get("/_mode?m=hang")  # the delivery is in flight when the stop comes
    configure(base(rcv) + "targets:\n  - {name: held, url: '%s'}\n" % srv.url("/status/503"))
    u.ctl("start")
    h.wait_until(lambda: deliveries(rcv), 10, "a delivery in flight")
    cur = box.cursor()
    t0 = time.monotonic()
    u.ctl("stop")
    took = time.monotonic() - t0
    limit = seconds(u.prop("TimeoutStopUSec"))
    assert took < limit, (took, limit)
    assert u.prop("Result") == "success"
    h.note("systemctl stop with a delivery in flight took %.2fs (TimeoutStopSec=%gs)" %
           (took, limit))
    # It ended by itself, with status 0: systemd neither killed it nor saw
    # it die of the signal.
    ended = u.journal(cur)
    assert "Terminated received, stopping" in ended, ended
    assert not [l for l in ended if re.search(r"Main process exited|Killing|timed out", l)], ended
    rcv.get("/_mode?m=fail")  # the held request ends, with nobody to hear it
    # Answered as failed before the receiver takes deliveries again: set
    # "ok" at once, the held request could read that mode and be counted
    # as delivered.
    h.wait_until(lambda: all(d[3] != "hang" for d in deliveries(rcv)), 10,
                 "the held request answered")
    rcv.get("/_mode?m=ok")
    u.ctl("start")
    u.wait_journal(r"^1 webhook deliveries pending from before the restart$", cur)
    h.wait_until(lambda: delivered(rcv), 10, "the delivery, after the start")
    wait_probes(srv, "/status/503", 3)
    assert delivered(rcv) == {("held", "down"): 1}, deliveries(rcv)
    assert len({d[2] for d in deliveries(rcv)}) == 1, deliveries(rcv)


def test_two_instances_side_by_side():
    srv = h.http_fixture()
    ua, ub = fresh("upmond@alpha"), fresh("upmond@beta")
    configure(base() + "targets:\n  - {name: a, url: '%s'}\n" % srv.url("/site/alpha"),
              "alpha.yaml")
    configure(base() + "targets:\n  - {name: b1, url: '%s'}\n  - {name: b2, url: '%s'}\n" %
              (srv.url("/site/beta1"), srv.url("/site/beta2")), "beta.yaml")
    box.run("systemctl", "start", "upmond@alpha.service", "upmond@beta.service")
    pids, uids = {}, {}
    for u, inst, n in ((ua, "alpha", "1 target: "), (ub, "beta", "2 targets: ")):
        s = u.show("ActiveState", "StatusText", "MainPID", "StateDirectory", "RuntimeDirectory")
        assert s["ActiveState"] == "active" and s["StatusText"].startswith(n), s
        assert s["StateDirectory"] == "upmon-" + inst and s["RuntimeDirectory"] == "upmon-" + inst
        pids[inst] = int(s["MainPID"])
        uids[inst] = uid_of(pids[inst])
        assert "%s/%s.yaml: OK: " % (CONF, inst) in "\n".join(u.journal())
        assert os.stat(box.path("/run/upmon-" + inst)).st_uid == uids[inst]
        db = "/var/lib/private/upmon-%s/upmon.db" % inst
        h.wait_until(lambda: box.exists(db), 5, db)
        assert os.stat(box.path(db)).st_uid == uids[inst]
        level = exposure(u.name)
        assert level <= 1.5, (u.name, level)
    assert uids["alpha"] != uids["beta"], uids
    for path in ("/site/alpha", "/site/beta1", "/site/beta2"):
        wait_probes(srv, path, 2)
    ua.ctl("stop")
    assert not box.exists("/run/upmon-alpha") and box.exists("/var/lib/private/upmon-alpha")
    wait_probes(srv, "/site/beta1", 2)
    assert ub.prop("ActiveState") == "active" and ub.main_pid() == pids["beta"]


if __name__ == "__main__":
    setup()
    h.main(globals())
