#!/usr/bin/env python3
"""Webhooks of format alertmanager against the fixture receiver (every body
checked against schema/webhook-alertmanager.schema.json): while the
receiver fails, re-sends do not pile up (one delivery per target is
retried, each attempt with an endsAt ahead of it), and once it is back the
firing alert comes before the recovery and no firing one after it; the
re-sends of many targets go in one request."""
import json
import os
import signal
import time

import harness as h

RESEND = "1s"


def posts(rcv, path):
    """Each POST to path: (time, webhook-id, alerts, answer)."""
    out = []
    for d in rcv.json("/_log"):
        if d["path"] != path:
            continue
        hd = {k.lower(): v for k, v in d["headers"].items()}
        out.append((d["time"], hd["webhook-id"], json.loads(d["body"]), d["answer"]))
    return out


def iso_s(t):
    """An endsAt as Unix time."""
    import datetime
    return datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def start(targets, with_args=False):
    site, rcv, d = h.http_fixture(), h.receiver_fixture(), h.tmpdir()
    lines = "".join("  - {name: %s, url: '%s'}\n" % (n, site.url("/site/" + n)) for n in targets)
    cfg = h.config(d, """\
defaults: {interval: 1s, timeout: 800ms, failure_threshold: 1, recovery_threshold: 1}
alerts:
  webhooks:
    - {name: am, url: '%s', format: alertmanager, resend_every: %s, retry_initial: 200ms,
       retry_max: 1s}
targets:
%s""" % (rcv.hook("/am", "alertmanager"), RESEND, lines))
    args = ["-c", cfg, "--state-dir", os.path.join(d, "state")]
    dm = h.Daemon(args)
    for n in targets:
        dm.wait_log(n + r": unknown -> up")
    return (site, rcv, dm, args) if with_args else (site, rcv, dm)


def test_resends_wait_for_a_failing_receiver_and_keep_their_order():
    site, rcv, dm = start(["shop", "other"])
    rcv.get("/_mode?m=fail")
    site.get("/_set?name=shop&status=503")
    site.get("/_set?name=other&status=503")
    # Attempts go on, well past a few resend_every: per target one
    # delivery is retried, no re-send is queued behind it.
    h.wait_until(lambda: len(posts(rcv, "/am")) >= 12, 30, "attempts while the receiver fails")
    tried = posts(rcv, "/am")
    ids = {}
    for t, wid, alerts, answer in tried:
        assert answer == "fail"
        for a in alerts:
            ids.setdefault(a["labels"]["target"], set()).add(wid)
            # However late the retry, the firing alert ends ahead of it.
            assert iso_s(a["endsAt"]) > t + 2, (t, a["endsAt"])
    assert ids.keys() == {"shop", "other"}, ids
    assert all(len(v) == 1 for v in ids.values()), "re-sends piled up: %s" % ids

    # shop recovers while the receiver still fails: its recovery waits
    # behind the firing alert, which must not arrive after it.
    site.get("/_set?name=shop&status=200")
    dm.wait_log(r"shop: server_error -> up")
    rcv.get("/_mode?m=ok")

    def other_resent_after_recovery():
        got = [p for p in posts(rcv, "/am") if p[3] == "ok"]
        ends = [i for i, p in enumerate(got)
                if any(a["labels"]["target"] == "shop" and iso_s(a["endsAt"]) <= p[0]
                       for a in p[2])]
        if not ends:
            return False
        later = [p for p in got[ends[0] + 1:]
                 if any(a["labels"]["target"] == "other" for a in p[2])]
        return len(later) >= 3 and (got, ends[0])

    got, end = h.wait_until(other_resent_after_recovery, 30,
                            "shop's recovery, then three re-sends of other")
    shop = [(p[0], a) for p in got for a in p[2] if a["labels"]["target"] == "shop"]
    firing = [i for i, (t, a) in enumerate(shop) if iso_s(a["endsAt"]) > t]
    resolved = [i for i, (t, a) in enumerate(shop) if iso_s(a["endsAt"]) <= t]
    assert firing and resolved and max(firing) < min(resolved), shop
    assert all(a["labels"]["alertname"] == "UpmonTargetDown" for t, a in shop), shop


def test_resends_of_many_targets_go_in_one_request():
    names = ["t%02d" % i for i in range(40)]
    site, rcv, dm = start(names)
    for n in names:
        site.get("/_set?name=%s&status=503" % n)

    # Each target is sent again once it has been quiet for most of
    # resend_every; those that came due in the same round go together.
    def batches():
        sent = [{a["labels"]["target"] for a in alerts}
                for t, wid, alerts, answer in posts(rcv, "/am")]
        many = [s for s in sent if len(s) >= 5]
        return len(many) >= 3 and many

    for targets in h.wait_until(batches, 30, "three requests with the re-sends of 5 targets"):
        assert targets <= set(names), targets


def test_a_batch_waiting_at_a_kill_still_comes_before_a_recovery():
    site, rcv, dm, args = start(["shop", "other"], with_args=True)
    site.get("/_set?name=shop&status=503")
    site.get("/_set?name=other&status=503")
    # Both outages delivered, then the receiver fails: the next re-sends of
    # both wait, in batches.
    h.wait_until(lambda: {a["labels"]["target"] for p in posts(rcv, "/am") if p[3] == "ok"
                          for a in p[2]} == {"shop", "other"}, 20, "both outages delivered")
    rcv.get("/_mode?m=fail")

    asked = [0.0]

    def pending():
        if time.monotonic() - asked[0] > 0.2:  # a line per question
            asked[0] = time.monotonic()
            dm.send(signal.SIGUSR1)
        stats = dm.grep(r"statistics: ")
        return stats and json.loads(stats[-1].split("statistics: ", 1)[1])["webhook_pending"]

    h.wait_until(lambda: pending() == 2, 20, "the re-sends of both waiting")
    # shop recovers: its recovery waits behind the batch, killed with it.
    site.get("/_set?name=shop&status=200")
    dm.wait_log(r"shop: server_error -> up")
    dm.kill()
    first_ids = {p[1] for p in posts(rcv, "/am") if p[3] == "ok"}
    rcv.get("/_mode?m=ok")
    dm = h.Daemon(args)

    def drained():
        got = [p for p in posts(rcv, "/am") if p[3] == "ok"]
        ends = [i for i, p in enumerate(got)
                if any(a["labels"]["target"] == "shop" and iso_s(a["endsAt"]) <= p[0]
                       for a in p[2])]
        later = [p for p in got[ends[0] + 1:]
                 if any(a["labels"]["target"] == "other" for a in p[2])] if ends else []
        return len(later) >= 2 and got

    got = h.wait_until(drained, 30, "shop's recovery after the restart, then other's re-sends")
    shop = [(p[0], a) for p in got for a in p[2] if a["labels"]["target"] == "shop"]
    firing = [i for i, (t, a) in enumerate(shop) if iso_s(a["endsAt"]) > t]
    resolved = [i for i, (t, a) in enumerate(shop) if iso_s(a["endsAt"]) <= t]
    assert max(firing) < min(resolved), shop
    # The batch that carried shop, queued before the kill, came after it.
    after = [p for p in posts(rcv, "/am") if p[3] == "ok" and p[1] not in first_ids]
    assert any(a["labels"]["target"] == "shop" and iso_s(a["endsAt"]) > p[0]
               for p in after for a in p[2]), after


h.main(globals())
