#!/usr/bin/env python3
"""retry_interval with the real daemon and the fixture site: after a first
bad probe, the probes that confirm it come retry_interval apart, not an
interval apart, so the alert comes seconds after the outage instead of
minutes; once confirmed, probes return to the target's own plan."""
import json
import os
import time

import harness as h

INTERVAL_S = 20
RETRY_S = 1


def probes(srv, name):
    """The times the site was probed."""
    return [t for path, t, _ in srv.json("/_log") if path == "/site/" + name]


def delivered(rcv):
    return [json.loads(d["body"])["data"] for d in rcv.json("/_log") if d["answer"] == "ok"]


def test_retries_confirm_an_outage_then_the_plan_goes_on():
    srv, rcv, d = h.http_fixture(), h.receiver_fixture(), h.tmpdir()
    cfg = h.config(d, """\
alerts:
  webhooks:
    - {name: ops, url: '%s', retry_initial: 200ms}
targets:
  - name: shop
    url: '%s'
    interval: %ds
    timeout: 2s
    failure_threshold: 3
    retry_interval: %ds
""" % (rcv.hook("/hook"), srv.url("/site/shop"), INTERVAL_S, RETRY_S))
    srv.get("/_set?name=shop&status=503")
    dm = h.Daemon(["-c", cfg, "--state-dir", os.path.join(d, "state")])
    # The start's sweep probes at once: the first bad probe, then two
    # retries a second apart confirm it.
    h.wait_until(lambda: len(delivered(rcv)) == 1, 15, "the down alert")
    got = delivered(rcv)[0]
    assert got["event"] == "down" and got["code"] == 503, got
    seen = probes(srv, "shop")
    assert len(seen) == 3, seen
    gaps = [b - a for a, b in zip(seen, seen[1:])]
    assert all(RETRY_S * 0.8 <= g < RETRY_S * 3 for g in gaps), gaps
    # Confirmed: no more retries, the next probe is the plan's, about an
    # interval after the first (the sweep's follow-up lands half to one
    # and a half intervals later).
    h.wait_until(lambda: len(probes(srv, "shop")) >= 4, INTERVAL_S * 2 + 5, "the planned probe")
    seen = probes(srv, "shop")
    assert seen[3] - seen[2] >= INTERVAL_S / 2 - 2 * RETRY_S, seen
    # Recovery: one good probe clears it (recovery_threshold 1), no retry.
    srv.get("/_set?name=shop&status=200")
    h.wait_until(lambda: len(delivered(rcv)) == 2, INTERVAL_S * 2 + 5, "the recovery")
    assert delivered(rcv)[1]["event"] == "recovered"
    rc, _ = dm.stop()
    assert rc == 0


def test_a_retry_longer_than_the_interval_is_an_error():
    d = h.tmpdir()
    cfg = h.config(d, """\
targets:
  - name: shop
    url: 'http://127.0.0.1:9/'
    interval: 10s
    retry_interval: 10s
""")
    p = h.run(["--check-config", "-c", cfg])
    assert p.returncode != 0
    assert "upmon.yaml:5:5: retry_interval 10s must be shorter than interval 10s" in p.stderr, \
        p.stderr


h.main(globals())
