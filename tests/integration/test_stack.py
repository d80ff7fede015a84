#!/usr/bin/env python3
"""Several upmond instances as members of the Prometheus stack, on
loopback: three shards of one watch list in location "fra", two shards
of a subset of it in location "iad", a real Prometheus scraping all five
with the shipped rules, and a two-node Alertmanager cluster (gossip on
127.0.0.1 ports) that every instance pushes its alerts into, routing
them to a receiver written for the test.

It shows that each target is probed by exactly one shard of a location,
and that changing the number of shards moves the expected share; that a
target failing from one location does not page under the quorum rule,
and failing from two does, once; that with per-location alerting the
same outage seen from two locations reaches the receiver as one
notification; and that killing one Alertmanager node and one upmond
shard loses no notification for the targets still probed, and fires the
"upmond down" alert for the dead shard."""
import json
import os
import re
import time
import urllib.request

import yaml

import harness as h
from stack import WAIT, Alertmanager, Prometheus

RULES = os.path.join(h.SRC, "etc", "prometheus", "upmon.rules.yml")
NAMES = ["t%02d" % i for i in range(24)]
SUBSET = NAMES[:8]  # also probed from the second location
# Alertmanager: notifications of a group wait this long for more alerts,
# so both locations' alerts of one outage go out together.
GROUP_WAIT = "3s"
# The alerts upmond pushes itself; the others come from the rules.
PUSHED = "UpmonTarget(Down|Redirecting|Slow|Flapping)|UpmonCertificateExpiring"


def rules_for_the_test(d):
    """The shipped rules with every `for:` cut to a few seconds, so the
    test does not wait minutes; nothing else changed."""
    with open(RULES) as f:
        doc = yaml.safe_load(f)
    for group in doc["groups"]:
        group["interval"] = "1s"
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = "2s"
    return h.write(os.path.join(d, "upmon.rules.yml"), yaml.safe_dump(doc))


def alertmanager_config(rcv):
    """Both nodes alike: upmond's own alerts grouped by target (the
    per-location deployment), the rules' alerts by name and target."""
    hook = lambda path: {"url": rcv.hook(path, "json"), "send_resolved": False}
    return yaml.safe_dump({
        "global": {"resolve_timeout": "5s"},
        "route": {
            "receiver": "per-location",
            "group_by": ["target"],
            "group_wait": GROUP_WAIT, "group_interval": "2s", "repeat_interval": "1h",
            "routes": [
                {"matchers": ['alertname=~"%s"' % PUSHED], "receiver": "per-location",
                 "group_by": ["target"]},
                {"matchers": ['alertname!~"%s"' % PUSHED], "receiver": "rules",
                 "group_by": ["alertname", "target", "instance"]},
            ],
        },
        "receivers": [
            {"name": "per-location", "webhook_configs": [hook("/per-location")]},
            {"name": "rules", "webhook_configs": [hook("/rules")]},
        ],
    })


def watch_list(d, location, names, srv):
    text = "targets:\n" + "".join(
        "  - {name: %s, url: '%s'}\n" % (n, srv.url("/site/%s-%s" % (location, n))) for n in names)
    return h.write(os.path.join(d, "watch-%s.yaml" % location), text)


def instance(d, location, shard, of, watch, ams):
    """One upmond: its location, its shard, its own port and state, its
    alerts pushed into each Alertmanager of the cluster (one webhook each,
    as Prometheus sends to each)."""
    port = h.free_port()
    name = "%s-%d" % (location, shard)
    cfg = h.config(d, """\
instance: {location: %s}
defaults: {interval: 1s, timeout: 800ms, failure_threshold: 1, recovery_threshold: 1}
http: {listen: '127.0.0.1:%d'}
history: {enabled: false}
alerts:
  journald: false
  webhooks:
%s
watch: %s
""" % (location, port, "\n".join(
        "    - {name: am%d, format: alertmanager, url: '%s', resend_every: 2s, retry_initial: 200ms}"
        % (i, u) for i, u in enumerate(ams)), watch), name=name + ".yaml")
    dm = h.Daemon(["-c", cfg, "--state-dir", os.path.join(d, "state-" + name),
                   "--shard", "%d/%d" % (shard, of)])
    dm.port, dm.location, dm.name = port, location, name
    return dm


def metrics(dm):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % dm.port, timeout=10) as r:
        return r.read().decode()


def probed(dm):
    """The targets an instance exports, as its /metrics says."""
    return set(re.findall(r'^upmon_probe_success\{[^}]*target="([^"]+)"', metrics(dm), re.M))


def owners(cfg, n):
    """What each of n shards would own, as --check-config lists it."""
    out = {}
    for i in range(1, n + 1):
        p = h.run(["--check-config", "-c", cfg, "--shard", "%d/%d" % (i, n)])
        assert p.returncode == 0, p.stderr
        for name in re.findall(r"^\s*(w\d{4})\s*$", p.stdout, re.M):
            assert name not in out, "%s owned twice" % name
            out[name] = i
    return out


def notifications(rcv, path):
    """What Alertmanager sent to one of its receivers: each notification's
    group labels and alerts, in order."""
    out = []
    for d in rcv.json("/_log"):
        if d["path"] == path:
            body = json.loads(d["body"])
            out.append((body["groupLabels"], body["alerts"]))
    return out


def test_shares_move_as_expected_when_shards_are_added():
    d = h.tmpdir()
    names = ["w%04d" % i for i in range(1000)]
    watch = h.write(os.path.join(d, "watch.yaml"), "targets:\n" + "".join(
        "  - {name: %s, url: 'http://127.0.0.1:9/%s'}\n" % (n, n) for n in names))
    cfg = h.config(d, "watch: %s\n" % watch)
    three, four = owners(cfg, 3), owners(cfg, 4)
    assert sorted(three) == names and sorted(four) == names, "a target owned by none"
    moved = [n for n in names if three[n] != four[n]]
    # A fourth shard takes about a quarter, and only from the others: no
    # target moves between the three that stay.
    assert all(four[n] == 4 for n in moved), [(n, three[n], four[n]) for n in moved[:5]]
    assert 250 - 60 <= len(moved) <= 250 + 60, len(moved)


def test_the_stack():
    t0 = time.monotonic()
    d = h.tmpdir()
    srv, rcv = h.http_fixture(), h.receiver_fixture()
    am_config = alertmanager_config(rcv)
    cp1, cp2 = h.free_port(), h.free_port()
    am1 = Alertmanager(am_config, cluster_port=cp1, peers=["127.0.0.1:%d" % cp2])
    am2 = Alertmanager(am_config, cluster_port=cp2, peers=["127.0.0.1:%d" % cp1])
    h.wait_until(lambda: len(am1.status()["cluster"]["peers"]) == 2, WAIT,
                 "the two Alertmanagers to gossip")
    ams = [am1.url, am2.url]

    fra_watch = watch_list(d, "fra", NAMES, srv)
    iad_watch = watch_list(d, "iad", SUBSET, srv)
    fra = [instance(d, "fra", i, 3, fra_watch, ams) for i in (1, 2, 3)]
    iad = [instance(d, "iad", i, 2, iad_watch, ams) for i in (1, 2)]
    prom = Prometheus(["127.0.0.1:%d" % dm.port for dm in fra + iad],
                      rule_files=[rules_for_the_test(d)], alertmanagers=ams)

    # Each target is probed by exactly one shard of its location.
    h.wait_until(lambda: sum(len(probed(dm)) for dm in fra) == len(NAMES), WAIT,
                 "every fra target exported")
    owned = {dm.name: probed(dm) for dm in fra + iad}
    for group, names in ((fra, NAMES), (iad, SUBSET)):
        seen = [n for dm in group for n in owned[dm.name]]
        assert sorted(seen) == sorted(names), (group[0].location, owned)
    for dm in fra + iad:
        assert owned[dm.name], "%s owns nothing: %s" % (dm.name, owned)
    count = lambda loc: prom.value('count(count by (target) (upmon_probe_success{location="%s"}))'
                                   % loc)
    h.wait_until(lambda: count("fra") == len(NAMES) and count("iad") == len(SUBSET), WAIT,
                 lambda: "Prometheus to see every target once per location: %s %s" %
                 (count("fra"), count("iad")))

    # Failing from one location only: each location alerts on its own (the
    # per-location receiver hears of it), the quorum rule stays quiet.
    one, both = SUBSET[1], SUBSET[2]
    srv.get("/_set?name=fra-%s&status=503" % one)
    h.wait_until(lambda: any(g.get("target") == one for g, _ in notifications(rcv, "/per-location")),
                 WAIT, "the one-location outage notified per location")
    # Failing from both: the same outage from two places is one
    # notification of the per-location route, and one page of the quorum.
    srv.get("/_set?name=fra-%s&status=503" % both)
    srv.get("/_set?name=iad-%s&status=503" % both)

    def quorum_pages(target):
        return [a for g, alerts in notifications(rcv, "/rules") for a in alerts
                if a["labels"].get("target") == target and
                a["labels"]["alertname"] == "UpmonTargetDownQuorum"]

    h.wait_until(lambda: quorum_pages(both), WAIT, lambda: "the quorum page for %s; firing in "
                 "Prometheus: %s" % (both, prom.alerts()))
    per = [alerts for g, alerts in notifications(rcv, "/per-location") if g.get("target") == both]
    assert len(per) == 1, per
    assert sorted(a["labels"]["location"] for a in per[0]) == ["fra", "iad"], per
    assert quorum_pages(one) == [], "a one-location outage paged under the quorum rule"
    # Still one of each, a few group intervals later (the two nodes of the
    # cluster both had the alerts: their log of notifications is shared).
    time.sleep(5)
    assert len(quorum_pages(both)) == 1, quorum_pages(both)
    assert len([g for g, _ in notifications(rcv, "/per-location") if g.get("target") == both]) == 1

    # One Alertmanager and one shard die.
    am1.kill()
    dead = fra[1]
    dead.kill()
    # A new outage of a target a living shard probes is still notified,
    # once, through the other node.
    alive_owned = sorted(owned[fra[0].name] - set(SUBSET))
    late = alive_owned[0]
    srv.get("/_set?name=fra-%s&status=503" % late)
    h.wait_until(lambda: any(g.get("target") == late for g, _ in notifications(rcv, "/per-location")),
                 WAIT, "the outage after the kills notified")
    # And the stack notices the dead shard.

    def down_pages():
        return [a for g, alerts in notifications(rcv, "/rules") for a in alerts
                if a["labels"]["alertname"] == "UpmonDown" and
                a["labels"].get("instance") == "127.0.0.1:%d" % dead.port]

    h.wait_until(down_pages, WAIT, lambda: "UpmonDown for the dead shard; Prometheus: %s" %
                 prom.alerts())
    time.sleep(3)
    assert len([g for g, _ in notifications(rcv, "/per-location") if g.get("target") == late]) == 1
    for dm in fra + iad:
        if dm is not dead:
            rc, _ = dm.stop()
            assert rc == 0
    h.note("the stack test ran in %.0f s" % (time.monotonic() - t0))


h.main(globals())
