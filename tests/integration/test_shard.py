#!/usr/bin/env python3
"""Shards and locations, seen from outside: --check-config --shard splits a
watch list into disjoint parts that cover it, the same on every run, and
growing by one shard moves names only to the new one; a running shard
probes, shows and alerts only its own targets, a reload that changes the
shard moves them, and the location is on every series of /metrics and in
the alerts."""
import json
import os
import signal
import subprocess
import urllib.request

import harness as h

WAIT = 60 if h.SANITIZED else 20
# Owners fixed by the hash (tests/unit/test_shard.c has the same): of 3
# shards and of 5.
FIXED = {"example.com": (2, 2), "api": (3, 3), "shop-fra": (1, 1),
         "www.example.org/health": (2, 5)}
NAMES = ["site-%02d" % i for i in range(40)] + sorted(FIXED)


def watch_list(d, extra="", url="http://127.0.0.1:9/"):
    body = extra + "targets:\n" + "".join(
        "  - {name: '%s', url: '%s'}\n" % (n, url) for n in NAMES)
    return h.config(d, body)


def owned(cfg, shard, extra=()):
    """--check-config --shard: (summary line, names listed)."""
    p = h.run(["--check-config", "-c", cfg, "--shard", shard] + list(extra))
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    return lines[0], lines[1:]


def test_check_config_lists_each_shard():
    d = h.tmpdir()
    cfg = watch_list(d)
    parts = {}
    for n in (3, 4, 5):
        for i in range(1, n + 1):
            summary, names = owned(cfg, "%d/%d" % (i, n))
            assert summary.endswith("; shard %d/%d: owns %d of %d targets" %
                                    (i, n, len(names), len(NAMES))), summary
            for name in names:
                assert (n, name) not in parts, ("owned twice", n, name)
                parts[(n, name)] = i
        assert sorted(k[1] for k in parts if k[0] == n) == sorted(NAMES), n
    for name, (of3, of5) in FIXED.items():
        assert parts[(3, name)] == of3 and parts[(5, name)] == of5, name
    # From 3 to 4: what moves goes to shard 4, and about a quarter does.
    moved = [n for n in NAMES if parts[(3, n)] != parts[(4, n)]]
    assert all(parts[(4, n)] == 4 for n in moved), moved
    assert 4 <= len(moved) <= 20, moved
    # The same again: nothing depends on the run.
    assert owned(cfg, "2/3")[1] == [n for n in NAMES if parts[(3, n)] == 2]


def test_check_config_shard_in_the_file_and_over_it():
    d = h.tmpdir()
    cfg = watch_list(d, "instance: {location: fra1, shard: 1/3}\n")
    p = h.run(["--check-config", "-c", cfg])
    assert p.returncode == 0 and "; shard 1/3: owns " in p.stdout, p.stdout
    assert owned(cfg, "2/3")[1] == owned(watch_list(h.tmpdir()), "2/3")[1]
    # -v: the effective instance keys and only the targets owned.
    p = h.run(["--check-config", "-v", "-c", cfg, "--shard", "3/3"])
    assert p.returncode == 0, p.stderr
    dump = json.loads(p.stdout.split("\n", 1)[1])
    assert dump["instance"] == {"location": "fra1", "shard": "3/3"}, dump["instance"]
    assert [t["name"] for t in dump["targets"]] == owned(cfg, "3/3")[1]


def test_bad_shards():
    d = h.tmpdir()
    cfg = watch_list(d)
    for bad in ("0/3", "4/3", "1/1001", "1/3x", "x", "1/-3"):
        p = h.run(["--check-config", "-c", cfg, "--shard", bad])
        assert p.returncode == 2, (bad, p.returncode)
        assert '--shard "%s" must be I/N' % bad in p.stderr, p.stderr
    cfg = watch_list(d, "instance: {shard: '2/1', location: ''}\n")
    p = h.run(["--check-config", "-c", cfg])
    assert p.returncode == 78, p.stdout
    assert 'upmon.yaml:1:19: shard "2/1" must be I/N, 1 <= I <= N <= 1000' in p.stderr, p.stderr
    assert "location needs a value" in p.stderr, p.stderr
    # A bad target fails every shard alike, not only the one that owns it.
    h.write(cfg, "targets:\n  - {name: a, url: 'http://127.0.0.1:9/'}\n"
                 "  - {name: b, url: 'ftp://127.0.0.1/'}\n")
    for i in (1, 2, 3):
        p = h.run(["--check-config", "-c", cfg, "--shard", "%d/3" % i])
        assert p.returncode == 78 and "upmon.yaml:3:" in p.stderr, (i, p.stderr)


def scrape(base, accept=None):
    """/metrics, or "" while nothing answers yet."""
    req = urllib.request.Request(base + "/metrics", headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.read().decode()
    except OSError:
        return ""


def check_exposition(base):
    """Both formats, with the location on every sample, pass promtool and
    the strict OpenMetrics parser (those installed)."""
    d = h.tmpdir()
    checker = os.path.join(h.SRC, "tests", "metrics", "check_exposition.py")
    for mode, accept in (("promtool", None),
                         ("openmetrics", "application/openmetrics-text;version=1.0.0")):
        path = h.write(os.path.join(d, "metrics." + mode), scrape(base, accept))
        p = subprocess.run([h.SCHEMA_PYTHON, checker, mode, path], capture_output=True,
                           text=True, timeout=120)
        if p.returncode == 77:
            h.note(p.stdout.strip())
            continue
        assert p.returncode == 0, (mode, p.stdout, p.stderr)


def probed(text):
    """The targets with a upmon_probe_success sample, and the label sets."""
    got = {}
    for line in text.splitlines():
        if line.startswith("upmon_probe_success{"):
            labels = line[len("upmon_probe_success{"):line.rindex("}")]
            name = labels.split('target="', 1)[1].split('"', 1)[0]
            got[name] = labels
    return got


def test_daemon_probes_its_shard_and_moves_on_reload():
    srv, rcv, d = h.http_fixture(), h.receiver_fixture(), h.tmpdir()
    port = h.free_port()
    base = "http://127.0.0.1:%d" % port
    names = ["t%d" % i for i in range(12)]

    def write(shard):
        return h.config(d, """\
instance: {location: fra1, shard: '%s'}
http: {listen: ['127.0.0.1:%d']}
defaults: {interval: 1s, timeout: 800ms, failure_threshold: 1, labels: {location: rack4}}
alerts:
  webhooks:
    - {name: ops, url: '%s', events: [down]}
    - {name: chat, url: '%s', format: slack, events: [down]}
targets:
%s""" % (shard, port, rcv.hook("/std"), rcv.hook("/chat", "slack"),
         "".join("  - {name: %s, url: '%s'}\n" % (n, srv.url("/status/503")) for n in names)))

    cfg = write("1/2")
    mine = owned(cfg, "1/2")[1]
    assert 0 < len(mine) < len(names), mine
    dm = h.Daemon(["-c", cfg, "--state-dir", os.path.join(d, "state")])
    dm.wait_log(r"started: .*; shard 1/2: owns %d of 12 targets" % len(mine), WAIT)
    h.wait_until(lambda: sorted(probed(scrape(base))) == sorted(mine), WAIT,
                 "the shard's targets probed")
    text = scrape(base)
    for line in text.splitlines():
        if not line.startswith("#"):
            assert line.split("{", 1)[1].startswith('location="fra1"'), line
    assert 'label_location="rack4"' in probed(text)[mine[0]], probed(text)
    assert 'upmon_instance_info{location="fra1",shard="1/2"} 1' in text.splitlines(), text
    check_exposition(base)

    # Alerts: only for the shard's targets, with the instance's location.
    def downs(path):
        return {json.loads(x["body"])["data"]["target"] if path == "/std" else
                json.loads(x["body"])["text"].split(" ", 1)[0]: json.loads(x["body"])
                for x in rcv.json("/_log") if x["path"] == path}
    h.wait_until(lambda: len(downs("/std")) == len(mine) and len(downs("/chat")) == len(mine),
                 WAIT, "a down alert per target of the shard")
    assert sorted(downs("/std")) == sorted(mine), downs("/std")
    for body in downs("/std").values():
        assert body["data"]["instance_location"] == "fra1", body
        assert body["data"]["location"] is None, body  # a redirect's: none
    for body in downs("/chat").values():
        fields = {f["title"]: f["value"] for f in body["attachments"][0]["fields"]}
        assert fields["Monitor location"] == "fra1", fields

    # The other half, by a reload.
    write("2/2")
    dm.send(signal.SIGHUP)
    dm.wait_log(r"reloaded: .*; shard 2/2: owns %d of 12 targets" % (12 - len(mine)), WAIT)
    h.wait_until(lambda: sorted(probed(scrape(base))) == sorted(set(names) - set(mine)), WAIT,
                 "the other shard's targets probed")
    h.wait_until(lambda: len(downs("/std")) == 12, WAIT, "alerts for the other half")
    rc, _ = dm.stop()
    assert rc == 0, dm.log()


def test_shard_on_the_command_line_holds_across_reloads():
    srv, d = h.http_fixture(), h.tmpdir()
    port = h.free_port()
    base = "http://127.0.0.1:%d" % port
    cfg = h.config(d, """\
instance: {shard: 1/2}
http: {listen: ['127.0.0.1:%d']}
defaults: {interval: 1s, timeout: 800ms}
targets:
%s""" % (port, "".join("  - {name: t%d, url: '%s'}\n" % (i, srv.url("/status/200"))
                         for i in range(12))))
    theirs = owned(cfg, "2/2")[1]
    dm = h.Daemon(["-c", cfg, "--state-dir", os.path.join(d, "state"), "--shard", "2/2"])
    h.wait_until(lambda: sorted(probed(scrape(base))) == sorted(theirs), WAIT,
                 "--shard's targets probed")
    # Without a location, no location label.
    assert "location=" not in scrape(base)
    dm.send(signal.SIGHUP)
    dm.wait_log(r"reloaded: .*; shard 2/2: owns %d of 12 targets" % len(theirs), WAIT)
    assert sorted(probed(scrape(base))) == sorted(theirs)
    rc, _ = dm.stop()
    assert rc == 0, dm.log()


if __name__ == "__main__":
    h.main(globals())
