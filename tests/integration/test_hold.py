#!/usr/bin/env python3
"""Held alerts end to end, with the real daemon, a fixture site and the
fixture webhook receiver: a one-off maintenance window a few seconds long
(computed here, with an offset that is not UTC's) holds a down alert and
raises it at its end, or raises nothing for a site that came back inside
it; a gateway holds the down alerts of forty targets behind it, and when
it recovers, those still failing raise their own."""
import datetime
import json
import os
import time

import harness as h

# A window's length: room for the daemon to start, see the site up, then
# down, and hold the alert, even under the sanitizers.
WINDOW_S = 10
# Offsets are part of RFC 3339: the window is written in India's.
IST = datetime.timezone(datetime.timedelta(hours=5, minutes=30))


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, IST).isoformat(timespec="seconds")


def delivered(rcv):
    """The data of each delivery answered 2xx, in order."""
    return [json.loads(d["body"])["data"] for d in rcv.json("/_log") if d["answer"] == "ok"]


def window_setup(name):
    """A site, the receiver, and a target in a window from now on; returns
    them with the daemon and the window's end."""
    srv, rcv, d = h.http_fixture(), h.receiver_fixture(), h.tmpdir()
    start = int(time.time()) - 1
    until = start + 1 + WINDOW_S
    port = h.free_port()
    cfg = h.config(d, """\
defaults: {interval: 1s, timeout: 800ms, failure_threshold: 1, recovery_threshold: 1}
http: {listen: '127.0.0.1:%d'}
alerts:
  webhooks:
    - {name: ops, url: '%s', retry_initial: 200ms}
targets:
  - name: %s
    url: '%s'
    maintenance:
      - {name: deploy, from: '%s', until: '%s'}
""" % (port, rcv.hook("/hook"), name, srv.url("/site/" + name), rfc3339(start),
       rfc3339(until)))
    dm = h.Daemon(["-c", cfg, "--state-dir", os.path.join(d, "state")])
    dm.port = port
    dm.wait_log(name + r": unknown -> up")
    return srv, rcv, dm, until


def test_window_holds_a_down_alert_and_raises_it_at_its_end():
    srv, rcv, dm, until = window_setup("shop")
    srv.get("/_set?name=shop&status=503")
    held = dm.wait_log(r'shop: down alert held: maintenance window "deploy" until ')
    assert time.time() < until, "the window ended before the alert was held: %s" % held
    assert delivered(rcv) == [], "delivered inside the window"
    # The API and the status page say so.
    api = json.loads(h.http_get("http://127.0.0.1:%d/api/v1/targets/shop" % dm.port))
    held_now = api["maintenance"]["now"]
    assert held_now["window"] == "deploy", api["maintenance"]
    end = datetime.datetime.fromisoformat(held_now["until"].replace("Z", "+00:00")).timestamp()
    assert end == until, (held_now, until)
    page = h.http_get("http://127.0.0.1:%d/" % dm.port)
    assert '>maintenance</span><small>alerts held until' in page, page

    dm.wait_log(r"shop: maintenance is over; raised now: down", timeout=WINDOW_S + 10)
    h.wait_until(lambda: len(delivered(rcv)) == 1, 10, "the held alert delivered")
    got = delivered(rcv)[0]
    assert got["event"] == "down" and got["state"] == "server_error", got
    assert got["code"] == 503
    # Raised when the window ended, not when the site went down.
    raised = datetime.datetime.fromisoformat(got["time"].replace("Z", "+00:00")).timestamp()
    assert raised >= until, (got["time"], until)
    # Raised once: what follows is the recovery, not the down again.
    srv.get("/_set?name=shop&status=200")
    h.wait_until(lambda: len(delivered(rcv)) == 2, 10, "the recovery after the window")
    assert [x["event"] for x in delivered(rcv)] == ["down", "recovered"]
    rc, _ = dm.stop()
    assert rc == 0


def test_recovered_inside_the_window_raises_nothing():
    srv, rcv, dm, until = window_setup("blog")
    srv.get("/_set?name=blog&status=503")
    dm.wait_log(r"blog: down alert held: maintenance window")
    srv.get("/_set?name=blog&status=200")
    dm.wait_log(r"blog: server_error -> up")
    assert time.time() < until, "the window ended before the site came back"
    dm.wait_log(r"blog: maintenance is over; nothing to raise: it is up, as receivers last heard",
                timeout=WINDOW_S + 10)
    rc, _ = dm.stop()
    assert rc == 0
    assert delivered(rcv) == [], delivered(rcv)
    assert not dm.grep(r"alert (down|recovered)"), dm.grep(r"alert ")


def test_gateway_holds_forty_targets_and_lets_those_still_failing_alert():
    srv, rcv, d = h.http_fixture(), h.receiver_fixture(), h.tmpdir()
    # Behind the gateway, two groups of twenty: one comes back before the
    # gateway does, one is still down after. The gateway fails on its
    # first bad probe, those behind it on their third, so it is known
    # failing before any of them is.
    behind = "".join("  - {name: a%02d, url: '%s'}\n" % (i, srv.url("/site/a?n=%d" % i))
                     for i in range(20))
    behind += "".join("  - {name: b%02d, url: '%s'}\n" % (i, srv.url("/site/b?n=%d" % i))
                      for i in range(20))
    h.write(os.path.join(d, "behind.yaml"), """\
defaults: {interval: 1s, timeout: 800ms, failure_threshold: 3, recovery_threshold: 1,
           depends_on: [gw]}
targets:
""" + behind)
    cfg = h.config(d, """\
defaults: {interval: 1s, timeout: 800ms, failure_threshold: 1, recovery_threshold: 1}
watch: behind.yaml
alerts:
  webhooks:
    - {name: ops, url: '%s', retry_initial: 200ms}
targets:
  - {name: gw, url: '%s'}
""" % (rcv.hook("/hook"), srv.url("/site/gw")))
    dm = h.Daemon(["-c", cfg, "--state-dir", os.path.join(d, "state")])
    dm.wait_log(r": unknown -> up", count=41)

    for site in ("gw", "a", "b"):
        srv.get("/_set?name=%s&status=503" % site)
    dm.wait_log(r"^.*[ab]\d\d: down alert held: gw, which it depends on, is failing", count=40,
                timeout=20)
    h.wait_until(lambda: len(delivered(rcv)) >= 1, 10, "the gateway's alert")
    got = delivered(rcv)
    assert [(x["target"], x["event"]) for x in got] == [("gw", "down")], got
    assert got[0]["summary"].endswith("; 40 targets depend on it"), got[0]["summary"]

    # Twenty come back while the gateway is down: theirs was held, so
    # there is nothing to say.
    srv.get("/_set?name=a&status=200")
    dm.wait_log(r"a\d\d: server_error -> up", count=20)
    srv.get("/_set?name=gw&status=200")
    dm.wait_log(r"b\d\d: the targets it depends on are back; raised now: down", count=20)
    dm.wait_log(r"a\d\d: the targets it depends on are back; nothing to raise: it is up",
                count=20)
    h.wait_until(lambda: len(delivered(rcv)) >= 22, 10, "the recovery and twenty downs")
    rc, _ = dm.stop()
    assert rc == 0

    # The gateway's recovery and those twenty are raised together, and
    # delivered in whatever order their receivers answer.
    got = delivered(rcv)
    assert len(got) == 22, got
    assert (got[0]["target"], got[0]["event"]) == ("gw", "down")
    assert [x["event"] for x in got if x["target"] == "gw"] == ["down", "recovered"]
    rest = [x for x in got if x["target"] != "gw"]
    assert sorted(x["target"] for x in rest) == ["b%02d" % i for i in range(20)], rest
    assert all(x["event"] == "down" and x["previous_state"] == "up" for x in rest), rest
    assert all(not x["summary"].endswith("depend on it") for x in rest)


def test_a_certificate_warning_held_at_a_stop_is_raised_after_the_restart():
    """A window holds a certificate's warning and the daemon stops inside
    it. The held warning is not kept, but the state is saved as not
    warned, so the first probe after the restart (the window over) raises
    it, once."""
    tls, rcv, d = h.tls_fixture(days=5), h.receiver_fixture(), h.tmpdir()
    start = int(time.time()) - 1
    until = start + 1 + WINDOW_S
    cfg = h.config(d, """\
defaults: {interval: 1s, timeout: 800ms, failure_threshold: 1}
alerts:
  webhooks:
    - {name: ops, url: '%s', retry_initial: 200ms}
targets:
  - name: tls
    url: '%s'
    tls_verify: false
    cert_expiry_warning: 14d
    maintenance:
      - {name: renewal, from: '%s', until: '%s'}
""" % (rcv.hook("/hook"), tls.url("/status/200"), rfc3339(start), rfc3339(until)))
    args = ["-c", cfg, "--state-dir", os.path.join(d, "state")]
    dm = h.Daemon(args)
    dm.wait_log(r'tls: cert_expiring alert held: maintenance window "renewal"')
    rc, _ = dm.stop()
    assert rc == 0
    assert delivered(rcv) == [], "delivered inside the window"
    h.wait_until(lambda: time.time() > until + 0.5, WINDOW_S + 5, "the window's end")
    dm = h.Daemon(args)
    h.wait_until(lambda: len(delivered(rcv)) >= 1, 15, "the warning after the restart")
    got = delivered(rcv)
    assert [x["event"] for x in got] == ["cert_expiring"], got
    time.sleep(2)
    assert len(delivered(rcv)) == 1, "raised more than once: %s" % delivered(rcv)
    rc, _ = dm.stop()
    assert rc == 0


if __name__ == "__main__":
    h.main(globals())
