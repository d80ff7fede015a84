#!/usr/bin/env python3
"""The JSON API of the running daemon against a fixture site that goes
down and comes back: every target with the fields of --once --json and
the confirmed state, one target with its recent probes and incidents, the
incidents, the uptime series' parameters, /healthz; names that need
escaping, and unknown targets."""
import os
import time
import urllib.parse

import harness as h
import httpc


def start(d, srv, extra=""):
    port = h.free_port()
    cfg = h.config(d, """defaults: {interval: 1s, timeout: 900ms, failure_threshold: 1,
           recovery_threshold: 1}
http: {listen: '127.0.0.1:%d'}
%s
targets:
  - {name: shop, url: '%s', labels: {team: web}}
  - {name: moved, url: '%s'}
  - {name: dead, url: 'http://127.0.0.1:%d/'}
  - {name: 'a/b c', url: '%s'}
""" % (port, extra, srv.url("/site/shop"), srv.url("/status/301?location=/new"),
       h.free_port(), srv.url("/status/200")))
    dm = h.Daemon(["-c", cfg, "--state-dir", os.path.join(d, "state")])
    dm.wait_log(r"info: upmond .* started")
    dm.port, dm.cfg = port, cfg
    return dm


def targets(dm):
    return {t["target"]: t for t in httpc.get_json(dm.port, "/api/v1/targets")["targets"]}


def probed(dm):
    """Waits until every target has been probed; returns them by name."""
    return h.wait_until(lambda: (lambda t: all(v["time"] for v in t.values()) and t)(targets(dm)),
                        10, "every target probed")


def test_targets_have_the_fields_of_once_json():
    srv = h.http_fixture()
    d = h.tmpdir()
    dm = start(d, srv)
    api = probed(dm)
    rc, once, _ = h.once_json(dm.cfg)
    assert list(api) == ["shop", "moved", "dead", "a/b c"], list(api)  # configuration order
    for name, o in once.items():
        a = api[name]
        missing = set(o) - set(a)
        assert not missing, (name, missing)
        for k in ("target", "url", "code", "phrase", "class", "severity", "state", "error",
                  "location"):
            assert a[k] == o[k], (name, k, a[k], o[k])
        assert set(a["timings"]) == set(o["timings"]), a
    assert api["shop"]["labels"] == {"team": "web"}, api["shop"]
    assert api["moved"]["state"] == "redirecting" and api["moved"]["location"] == \
        srv.url("/new"), api["moved"]
    assert api["dead"]["error"] == "connect" and api["dead"]["code"] is None, api["dead"]
    for t in api.values():
        assert t["confirmed"] == t["state"], t  # thresholds of 1
        assert t["since"] and t["time"], t
        assert set(t["uptime"]) == {"24h", "7d", "30d"}, t
    assert api["shop"]["uptime"]["24h"] == 1.0, api["shop"]
    assert api["dead"]["uptime"]["24h"] == 0.0, api["dead"]
    whole = httpc.get_json(dm.port, "/api/v1/targets")
    assert whole["host"] and whole["time"], whole


def test_a_site_going_down_and_back():
    srv = h.http_fixture()
    d = h.tmpdir()
    dm = start(d, srv)
    probed(dm)
    assert targets(dm)["shop"]["confirmed"] == "up"
    srv.get("/_set?name=shop&status=503")
    h.wait_until(lambda: targets(dm)["shop"]["confirmed"] == "server_error", 10, "shop down")
    one = httpc.get_json(dm.port, "/api/v1/targets/shop")
    assert one["state"] == "server_error" and one["code"] == 503, one
    assert one["phrase"] == "Service Unavailable", one
    assert one["recent"][0]["state"] == "server_error" and one["recent"][0]["code"] == 503, one
    assert one["recent"][-1]["state"] == "up", one["recent"]  # oldest last
    inc = one["incidents"]["open"]
    assert inc and inc["target"] == "shop" and inc["end"] is None, one["incidents"]
    assert inc["worst"] == "server_error" and inc["codes"] == [503], inc
    all_inc = httpc.get_json(dm.port, "/api/v1/incidents")
    assert "shop" in [i["target"] for i in all_inc["open"]], all_inc
    assert "dead" in [i["target"] for i in all_inc["open"]], all_inc

    srv.get("/_set?name=shop&status=200")
    h.wait_until(lambda: targets(dm)["shop"]["confirmed"] == "up", 10, "shop back")
    one = httpc.get_json(dm.port, "/api/v1/targets/shop")
    assert one["incidents"]["open"] is None, one["incidents"]
    closed = one["incidents"]["recent"]
    assert len(closed) == 1 and closed[0]["id"] == inc["id"], closed
    assert closed[0]["end"] and closed[0]["codes"] == [503], closed
    assert 0 < one["uptime"]["24h"] < 1, one["uptime"]
    all_inc = httpc.get_json(dm.port, "/api/v1/incidents")
    assert "shop" not in [i["target"] for i in all_inc["open"]], all_inc
    assert [i["target"] for i in all_inc["recent"]] == ["shop"], all_inc
    assert httpc.get_json(dm.port, "/api/v1/incidents?limit=1")["recent"][0]["id"] == inc["id"]
    before = urllib.parse.quote(closed[0]["start"])
    assert httpc.get_json(dm.port, "/api/v1/incidents?before=" + before)["recent"] == []


def test_names_unknown_targets_and_bad_parameters():
    srv = h.http_fixture()
    d = h.tmpdir()
    dm = start(d, srv)
    probed(dm)
    one = httpc.get_json(dm.port, "/api/v1/targets/" + urllib.parse.quote("a/b c", safe=""))
    assert one["target"] == "a/b c" and one["state"] == "up", one
    assert httpc.get_json(dm.port, "/api/v1/targets/a%2Fb", 404) == {"error": "no such target"}
    assert httpc.get_json(dm.port, "/api/v1/targets/nope/uptime", 404)["error"]
    for q in ("limit=0", "limit=x", "before=yesterday"):
        assert "error" in httpc.get_json(dm.port, "/api/v1/incidents?" + q, 400), q
    for q in ("step=1s", "from=x", "from=1709251200&to=1709251200", "from=0&step=1m"):
        assert "error" in httpc.get_json(dm.port, "/api/v1/targets/shop/uptime?" + q, 400), q


def test_uptime_series_without_history():
    srv = h.http_fixture()
    d = h.tmpdir()
    dm = start(d, srv, "history: {enabled: false}")
    r = httpc.request(dm.port, "/api/v1/targets/shop/uptime?step=5m")
    assert r.status == 503 and r.json() == {"error": "history is off"}, r


def test_uptime_series_with_history():
    """From the history database and the minute under way: a step per
    5 minutes over the last hour, the last one with this minute's probes,
    the site's failures counted."""
    srv = h.http_fixture()
    d = h.tmpdir()
    dm = start(d, srv)
    probed(dm)
    srv.get("/_set?name=shop&status=500")
    h.wait_until(lambda: targets(dm)["shop"]["confirmed"] == "server_error", 10, "shop down")
    now = int(time.time())
    o = httpc.get_json(dm.port, "/api/v1/targets/shop/uptime?from=%d&to=%d&step=5m" %
                       (now - 3600, now + 60))
    assert o["target"] == "shop" and o["step_s"] == 300, o
    assert len(o["points"]) in (12, 13), o
    seen = [p for p in o["points"] if p["probes"]]
    assert seen, o
    probes = sum(p["probes"] for p in seen)
    failures = sum(p["failures"] for p in seen)
    assert probes >= 2 and 1 <= failures < probes, o
    assert seen[-1]["worst"] == "server_error", seen
    assert 0 < o["uptime"] < 1, o
    for p in o["points"]:
        if not p["probes"]:
            assert p["uptime"] is None and p["worst"] is None, p
    # By default, the last day by the hour (from the minute: 24 steps and
    # a short one).
    o = httpc.get_json(dm.port, "/api/v1/targets/" + urllib.parse.quote("a/b c", safe="") +
                       "/uptime")
    assert o["step_s"] == 3600 and len(o["points"]) in (24, 25), o
    assert o["points"][-1]["probes"] >= 1 and o["uptime"] == 1.0, o


def test_healthz():
    srv = h.http_fixture()
    d = h.tmpdir()
    dm = start(d, srv)
    probed(dm)
    r = httpc.request(dm.port, "/healthz")
    assert (r.status, r.text()) == (200, "ok\n"), r
    r = httpc.request(dm.port, "/healthz", "HEAD")
    assert (r.status, r.body, r.headers["content-length"]) == (200, b"", "3"), r


h.main(globals())
