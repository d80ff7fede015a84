#!/usr/bin/env python3
"""Alerts end to end: the real daemon, a fixture site, a fixture webhook
receiver that fails, hangs, throttles and recovers, restarts and SIGKILLs
in between, and a real systemd-journald read back with journalctl."""
import json
import os
import re
import shutil
import signal
import subprocess
import time
import uuid

import harness as h

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def journal_entries(target):
    p = subprocess.run(["journalctl", "-o", "json", "--no-pager", "SYSLOG_IDENTIFIER=upmond",
                        "UPMON_TARGET=" + target], capture_output=True, text=True)
    return [json.loads(l) for l in p.stdout.splitlines() if l.strip()]


def journal_explained(target):
    """journalctl -x for the target's entries, with upmon's catalog: its
    database, compiled into a scratch root, is mounted over the system's
    in a mount namespace of journalctl's own (journalctl -x reads the
    catalog from /var/lib/systemd/catalog alone), so nothing outside the
    test changes."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        raise h.Skip("needs root and unshare to show a catalog that is not installed")
    if not os.path.isdir("/var/lib/systemd/catalog"):
        raise h.Skip("no /var/lib/systemd/catalog to mount the test's catalog over")
    root = h.tmpdir()
    os.makedirs(os.path.join(root, "usr/lib/systemd/catalog"))
    shutil.copy(os.path.join(h.SRC, "systemd", "upmon.catalog"),
                os.path.join(root, "usr/lib/systemd/catalog"))
    subprocess.run(["journalctl", "--root=" + root, "--update-catalog"], check=True,
                   capture_output=True)
    p = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c",
         'mount --bind "$0" /var/lib/systemd/catalog && exec journalctl -x --no-pager '
         '-o short SYSLOG_IDENTIFIER=upmond "UPMON_TARGET=$1"',
         os.path.join(root, "var/lib/systemd/catalog"), target],
        capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return p.stdout


def deliveries(rcv):
    out = []
    for d in rcv.json("/_log"):
        d["json"] = json.loads(d["body"])
        d["id"] = {k.lower(): v for k, v in d["headers"].items()}.get("webhook-id")
        out.append(d)
    return out


def delivered(rcv):
    """Deliveries answered 2xx, in order."""
    return [d for d in deliveries(rcv) if d["answer"] == "ok"]


def setup(d, srv, rcv, target, extra_hook="", extra_defaults="", journald_on=True):
    secret = h.write(os.path.join(d, "secret"), SECRET + "\n")
    return h.config(d, """\
defaults: {interval: 1s, timeout: 800ms, failure_threshold: 1, recovery_threshold: 1%s}
alerts:
  journald: %s
  webhooks:
    - {name: ops, url: '%s', secret_file: %s, retry_initial: 200ms, retry_max: 1s%s}
targets:
  - {name: %s, url: '%s', labels: {team: web}}
""" % (extra_defaults, "true" if journald_on else "false", rcv.hook("/hook"), secret, extra_hook,
       target, srv.url("/site/" + target)))


def start(d, cfg, extra=()):
    return h.Daemon(["-c", cfg, "--state-dir", os.path.join(d, "state")] + list(extra))


def types(ds):
    return [x["json"]["type"] for x in ds]


def test_down_redirect_recovered_in_journal_and_webhook():
    h.journald()
    srv, rcv, d = h.http_fixture(), h.receiver_fixture(), h.tmpdir()
    target = "site-" + uuid.uuid4().hex[:8]
    dm = start(d, setup(d, srv, rcv, target))
    dm.wait_log(target + r": unknown -> up")
    srv.get("/_set?name=%s&status=503" % target)
    h.wait_until(lambda: len(delivered(rcv)) >= 1, 10, "down delivered")
    # With a body, as real servers send their redirects.
    srv.get("/_set?name=%s&status=301&location=https://example.net/moved"
            "&body=%%3Chtml%%3EMoved%%3C/html%%3E" % target)
    h.wait_until(lambda: len(delivered(rcv)) >= 2, 10, "redirect delivered")
    srv.get("/_set?name=%s&status=200" % target)
    h.wait_until(lambda: len(delivered(rcv)) >= 3, 10, "recovered delivered")
    rc, _ = dm.stop()
    assert rc == 0

    got = delivered(rcv)
    assert types(got) == ["upmon.target.down", "upmon.target.redirect",
                          "upmon.target.recovered"], types(got)
    assert all(rcv.json("/_verify?secret=" + SECRET)), "a signature does not verify"
    assert len({x["id"] for x in got}) == 3
    for x in got:
        hd = {k.lower(): v for k, v in x["headers"].items()}
        assert x["id"].startswith("msg_")
        assert abs(int(hd["webhook-timestamp"]) - x["time"]) < 5
        assert hd["content-type"] == "application/json"
        assert x["json"]["data"]["target"] == target
        assert x["json"]["data"]["labels"] == {"team": "web"}
    down, redirect, recovered = (x["json"]["data"] for x in got)
    assert down["code"] == 503 and down["state"] == "server_error"
    assert down["severity"] == "critical" and down["previous_state"] == "up"
    assert redirect["location"] == "https://example.net/moved"
    assert redirect["severity"] == "warning"
    assert recovered["previous_state"] == "redirecting" and recovered["code"] == 200

    entries = h.wait_until(lambda: len(journal_entries(target)) >= 3 and journal_entries(target),
                           10, "three journal entries")
    assert [e["UPMON_EVENT"] for e in entries] == ["down", "redirect", "recovered"]
    assert [e["PRIORITY"] for e in entries] == ["2", "4", "5"]
    assert [e["MESSAGE_ID"] for e in entries] == ["fae04c57cc4b4b288cb6f314c58b5cdd",
                                                  "4bbd98255a2a4bb18ae93a3688aaf746",
                                                  "2fc7fe3ed9ef4f9380235529adbd838f"]
    e = entries[0]
    assert e["MESSAGE"] == "%s is down: 503 Service Unavailable (%s)" % (
        target, srv.url("/site/" + target))
    for field, value in (("UPMON_URL", srv.url("/site/" + target)), ("UPMON_STATE",
                         "server_error"), ("UPMON_PREVIOUS_STATE", "up"),
                         ("UPMON_SEVERITY", "critical"), ("UPMON_CODE", "503"),
                         ("UPMON_PHRASE", "Service Unavailable"),
                         ("UPMON_CLASS", "server_error"), ("UPMON_LABEL_TEAM", "web")):
        assert e[field] == value, (field, e.get(field))
    assert "UPMON_LATENCY_MS" in e and "UPMON_HOST" in e and "UPMON_SINCE" in e
    assert entries[1]["UPMON_LOCATION"] == "https://example.net/moved"
    # No secret in any log line.
    assert not [l for l in dm.log() if "MfKQ9r8" in l]


def test_journal_catalog_reads_right():
    """The catalog's explanation of a 503, a refused connection and a
    redirect, as journalctl -x shows them: every field it names is there."""
    h.journald()
    srv, d = h.http_fixture(), h.tmpdir()
    tag = uuid.uuid4().hex[:8]
    web, refused = "web-" + tag, "refused-" + tag
    srv.get("/_set?name=%s&status=503" % web)
    cfg = h.config(d, """\
defaults: {interval: 1s, timeout: 800ms, failure_threshold: 1, recovery_threshold: 1}
targets:
  - {name: %s, url: '%s'}
  - {name: %s, url: 'http://127.0.0.1:%d/'}
""" % (web, srv.url("/site/" + web), refused, h.free_port()))
    dm = start(d, cfg)
    h.wait_until(lambda: len(journal_entries(web)) >= 1, 10, "the 503 in the journal")
    srv.get("/_set?name=%s&status=301&location=https://example.net/moved" % web)
    h.wait_until(lambda: len(journal_entries(web)) >= 2 and journal_entries(refused), 10,
                 "the redirect and the refused connection in the journal")
    dm.stop()

    shown = {target: journal_explained(target) for target in (web, refused)}
    for target, text in shown.items():
        # A field the entry lacked would be shown by its name.
        assert "UPMON_" not in text and "@" not in text, text
    assert shown[web].count("Subject:") == 2 and shown[refused].count("Subject:") == 1, shown
    assert "Subject: %s is down" % web in shown[web], shown[web]
    assert "The last probe saw: 503 Service Unavailable (class server_error)." in shown[web]
    assert ("Subject: %s redirects: 301 Moved Permanently -> https://example.net/moved" % web
            in shown[web]), shown[web]
    assert "The last probe saw: connect: " in shown[refused], shown[refused]
    assert "(class transport_error)." in shown[refused], shown[refused]


def test_cert_expiring_names_the_intermediate():
    """A site whose intermediate ends in 5 days, before its own certificate:
    the cert_expiring alert says which certificate and when, in the
    journal, both webhook formats and the log line."""
    h.journald()
    srv, rcv, d = h.tls_chain_fixture(leaf_days=60, intermediate_days=5), h.receiver_fixture(), \
        h.tmpdir()
    target = "tls-" + uuid.uuid4().hex[:8]
    cfg = h.config(d, """\
defaults: {interval: 1s, timeout: 800ms, failure_threshold: 1}
alerts:
  webhooks:
    - {name: ops, url: '%s'}
    - {name: chat, url: '%s', format: slack}
targets:
  - {name: %s, url: '%s', tls_verify: false, cert_expiry_warning: 14d}
""" % (rcv.hook("/std"), rcv.hook("/chat", "slack"), target, srv.url("/status/200")))
    dm = start(d, cfg)
    h.wait_until(lambda: len(delivered(rcv)) >= 2, 10, "cert_expiring to both webhooks")
    h.wait_until(lambda: journal_entries(target), 10, "cert_expiring in the journal")
    dm.stop()

    by = {x["path"]: x["json"] for x in delivered(rcv)}
    data = by["/std"]["data"]
    assert by["/std"]["type"] == "upmon.target.cert_expiring", by["/std"]
    assert data["cert_subject"] == srv.intermediate and data["cert_issuer"] == srv.root, data
    end = time.mktime(time.strptime(data["cert_expires"][:19], "%Y-%m-%dT%H:%M:%S")) - \
        time.timezone
    assert abs(end - (time.time() + 5 * 86400)) < 120, data["cert_expires"]
    assert data["summary"].startswith('%s: the TLS certificate "%s" issued by "%s" expires in '
                                      % (target, srv.intermediate, srv.root)), data
    assert re.search(r"expires in (4d23h|5d), at \S+Z$", data["summary"]), data
    fields = {f["title"]: f["value"] for f in by["/chat"]["attachments"][0]["fields"]}
    assert fields["Certificate"] == srv.intermediate, fields
    assert fields["Issuer"] == srv.root and fields["Expires"] == data["cert_expires"], fields
    (e,) = journal_entries(target)
    assert e["UPMON_EVENT"] == "cert_expiring", e
    assert e["UPMON_CERT_SUBJECT"] == srv.intermediate, e
    assert e["UPMON_CERT_ISSUER"] == srv.root, e
    assert e["UPMON_CERT_EXPIRES"] == data["cert_expires"], e
    assert e["MESSAGE"] == data["summary"], e
    assert [l for l in dm.log() if "alert cert_expiring: " + data["summary"] in l], dm.log()


# Control characters: C0, DEL and C1.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def test_bytes_a_site_sends_reach_no_sink_as_they_are():
    """Redirects whose Location has bytes that are not UTF-8, is longer than
    the 511 bytes kept (cut inside a character), or holds terminal escapes:
    every webhook format keeps location and the summary (the receiver
    checks each body against its schema), the journal's MESSAGE is a
    printable string (journalctl -o json shows a field with bytes that are
    not printable UTF-8 as an array of numbers, and journalctl as a blob),
    and so is every log line."""
    h.journald()
    srv, rcv, d = h.http_fixture(), h.receiver_fixture(), h.tmpdir()
    tag = uuid.uuid4().hex[:8]
    names = {k: "%s-%s" % (k, tag) for k in ("invalid", "long", "escape")}
    cfg = h.config(d, """\
defaults: {interval: 1s, timeout: 800ms, failure_threshold: 1}
alerts:
  journald: true
  webhooks:
    - {name: std, url: '%s'}
    - {name: chat, url: '%s', format: slack}
    - {name: pager, url: '%s', format: alertmanager-webhook}
targets:
%s""" % (rcv.hook("/std"), rcv.hook("/chat", "slack"), rcv.hook("/pager", "alertmanager-webhook"),
         "".join("  - {name: %s, url: '%s'}\n" % (n, srv.url("/wire/location-" + k))
                 for k, n in names.items())))
    dm = start(d, cfg)
    h.wait_until(lambda: len(delivered(rcv)) >= 9, 15, "each redirect in each format")
    journal = {k: h.wait_until(lambda: journal_entries(n), 10, "%s in the journal" % n)
               for k, n in names.items()}
    rc, _ = dm.stop()
    assert rc == 0

    # What the site sent, as JSON carries it (valid UTF-8, controls kept:
    # JSON escapes them), and as a line people read shows it.
    cut = ("http://example.net/xx" + "\u20ac" * 193).encode()[:511].decode("utf-8", "ignore")
    sent = {"invalid": "http://example.net/caf\ufffd/\ufffd\ufffd\ufffd", "long": cut,
            "escape": "http://example.net/\x1b[2J\x1b[31mred\x1b[0m\x07"}
    shown = dict(sent, escape="http://example.net/\\x1b[2J\\x1b[31mred\\x1b[0m\\x07")
    summary = {k: "%s redirects: 302 Found -> %s" % (names[k], shown[k]) for k in names}

    by = {}
    for x in delivered(rcv):
        by.setdefault(x["path"], []).append(x["json"])
    assert sorted(len(v) for v in by.values()) == [3, 3, 3], by
    for body in by["/std"]:
        data = body["data"]
        k = data["target"].split("-")[0]
        assert data["location"] == sent[k], (k, data)
        assert data["summary"] == summary[k], (k, data)
    for body in by["/chat"]:
        k = body["text"].split("-")[0]
        assert body["text"] == summary[k].replace("->", "-&gt;"), (k, body)
        fields = {f["title"]: f["value"] for f in body["attachments"][0]["fields"]}
        assert fields["Location"] == sent[k], (k, fields)
    for body in by["/pager"]:
        ann = body["alerts"][0]["annotations"]
        k = body["alerts"][0]["labels"]["target"].split("-")[0]
        assert ann["location"] == sent[k] and ann["summary"] == summary[k], (k, ann)

    for k, entries in journal.items():
        (e,) = entries
        assert isinstance(e["MESSAGE"], str), (k, e["MESSAGE"])  # not bytes
        assert e["MESSAGE"] == summary[k], (k, e["MESSAGE"])
        assert isinstance(e["UPMON_DETAIL"], str) and not CONTROL.search(e["UPMON_DETAIL"])
        # The Location as sent, but UTF-8: journalctl shows one with
        # control characters as bytes, which decode to it.
        loc = e["UPMON_LOCATION"]
        if k == "escape":
            assert bytes(loc).decode("utf-8") == sent[k], loc
        else:
            assert loc == sent[k], (k, loc)

    lines = [l for l in dm.log() if tag in l]
    assert len(lines) >= 6, dm.log()  # each change of state, and each alert
    for line in lines:
        assert not CONTROL.search(line), line
    assert any(shown["escape"] in l for l in lines), lines


def test_receiver_down_and_daemon_killed_loses_nothing():
    srv, rcv, d = h.http_fixture(), h.receiver_fixture(), h.tmpdir()
    target = "kill-" + uuid.uuid4().hex[:8]
    cfg = setup(d, srv, rcv, target, journald_on=False)
    rcv.get("/_mode?m=fail")
    dm = start(d, cfg)
    dm.wait_log(target + r": unknown -> up")
    srv.get("/_set?name=%s&status=503" % target)
    h.wait_until(lambda: len(deliveries(rcv)) >= 3, 10, "three failed attempts of the down")
    assert len({x["id"] for x in deliveries(rcv)}) == 1  # retries keep the id
    dm.send(signal.SIGKILL)
    dm.proc.wait()

    # While the daemon is dead the site recovers; the receiver comes back.
    srv.get("/_set?name=%s&status=200" % target)
    rcv.get("/_mode?m=ok")
    dm = start(d, cfg)
    h.wait_until(lambda: len(delivered(rcv)) >= 2, 15, "down and recovered delivered")
    dm.wait_log(r"from before the restart")
    got = delivered(rcv)
    assert types(got) == ["upmon.target.down", "upmon.target.recovered"], types(got)
    ids = [x["id"] for x in got]
    assert len(set(ids)) == 2, ids  # once per webhook-id
    down_id = got[0]["id"]
    assert all(x["id"] == down_id for x in deliveries(rcv)[:-1]), "the down kept its id"
    # Nothing more to send: no repeat of either.
    h.wait_until(lambda: dm.grep(target + r": unknown -> up") and
                 len(dm.grep(target + r": unknown -> up")) >= 1, 5, "probe after restart")
    rc, _ = dm.stop()
    assert rc == 0
    assert len(delivered(rcv)) == 2


def test_alert_raised_while_the_previous_is_in_flight():
    """A target's next alert waits for the one before it, then goes at once."""
    srv, rcv, d = h.http_fixture(), h.receiver_fixture(), h.tmpdir()
    target = "queue-" + uuid.uuid4().hex[:8]
    rcv.get("/_mode?m=slow:6")  # the recovered comes about 1 s after the down
    dm = start(d, setup(d, srv, rcv, target, journald_on=False))
    dm.wait_log(target + r": unknown -> up")
    srv.get("/_set?name=%s&status=503" % target)
    h.wait_until(lambda: len(deliveries(rcv)) >= 1, 10, "the down at the receiver")
    rcv.get("/_mode?m=ok")  # for what comes next; the down is still held
    srv.get("/_set?name=%s&status=200" % target)
    dm.wait_log(r"alert recovered: " + target)
    assert len(deliveries(rcv)) == 1, "the recovered went before the down was answered"
    dm.wait_log(r"delivered down .* of " + target)
    h.wait_until(lambda: len(delivered(rcv)) >= 2, 3, "the recovered, right after the down")
    assert types(delivered(rcv)) == ["upmon.target.down", "upmon.target.recovered"]
    dm.stop()


def test_restart_does_not_page_again():
    srv, rcv, d = h.http_fixture(), h.receiver_fixture(), h.tmpdir()
    target = "again-" + uuid.uuid4().hex[:8]
    cfg = setup(d, srv, rcv, target, journald_on=False)
    srv.get("/_set?name=%s&status=500" % target)
    dm = start(d, cfg)
    h.wait_until(lambda: len(delivered(rcv)) >= 1, 10, "down delivered")
    # Stopped once it has the receiver's answer: stopped before, it would
    # send the down again after the restart, as its outbox promises.
    dm.wait_log(r"webhook \w+: delivered down")
    dm.stop()
    dm = start(d, cfg, ["-v"])
    dm.wait_log(target + r": 500 server_error", count=3)  # three probes after the restart
    assert types(delivered(rcv)) == ["upmon.target.down"], types(delivered(rcv))
    srv.get("/_set?name=%s&status=200" % target)
    h.wait_until(lambda: len(delivered(rcv)) >= 2, 10, "recovered")
    assert types(delivered(rcv)) == ["upmon.target.down", "upmon.target.recovered"]
    dm.stop()


def test_hanging_receiver_never_delays_probes():
    srv, rcv, d = h.http_fixture(), h.receiver_fixture(), h.tmpdir()
    rcv.get("/_mode?m=hang")
    cfg = h.config(d, """\
defaults: {interval: 1s, timeout: 800ms, failure_threshold: 1}
alerts:
  journald: false
  webhooks:
    - {name: slowpoke, url: '%s', timeout: 5s, format: slack}
targets:
%s  - {name: tick, url: '%s'}
""" % (rcv.hook("/hook", "slack"),
       "".join("  - {name: down%d, url: '%s'}\n" % (i, srv.url("/status/503")) for i in range(8)),
       srv.url("/status/200")))
    dm = start(d, cfg, ["--stats"])
    h.wait_until(lambda: len(deliveries(rcv)) >= 4, 10, "four deliveries hanging")
    start_ticks = len([e for e in srv.json("/_log") if e[0] == "/status/200"])
    h.wait_until(lambda: len([e for e in srv.json("/_log") if e[0] == "/status/200"]) >=
                 start_ticks + 4, 10, "four more probes with the receiver hanging")
    rc, _ = dm.stop()
    stats = json.loads(dm.stdout().strip().splitlines()[-1])
    # Four attempts hang at once (the per-webhook limit), yet every probe of
    # every target started on time. A loop that waited on the receiver would
    # be seconds behind (its timeout is 5 s) and skip probes; the bounds
    # leave room for a busy machine's scheduling noise, nothing more.
    assert len(deliveries(rcv)) == 4, len(deliveries(rcv))
    assert stats["lateness_max_ms"] < 250, stats
    assert stats["skipped"] == 0 and stats["dropped"] == 0, stats
    ticks = [e[1] for e in srv.json("/_log") if e[0] == "/status/200"]
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    # (The first gap is the start-up sweep's, half to one and a half intervals.)
    assert len(ticks) >= 4 and all(0.75 < g < 1.25 for g in gaps[1:]), gaps


def test_429_retry_after_is_honoured():
    srv, rcv, d = h.http_fixture(), h.receiver_fixture(), h.tmpdir()
    target = "throttle-" + uuid.uuid4().hex[:8]
    rcv.get("/_mode?m=429:2")
    dm = start(d, setup(d, srv, rcv, target, journald_on=False))
    srv.get("/_set?name=%s&status=503" % target)
    h.wait_until(lambda: len(deliveries(rcv)) >= 1, 10, "first attempt")
    rcv.get("/_mode?m=ok")
    h.wait_until(lambda: len(delivered(rcv)) >= 1, 10, "delivered after Retry-After")
    first, second = deliveries(rcv)[:2]
    assert second["answer"] == "ok"
    assert first["id"] == second["id"]
    # retry_max is 1s, but the receiver asked for 2s.
    assert second["time"] - first["time"] >= 1.9, second["time"] - first["time"]
    dm.wait_log(r"answered 429.*attempt 2 in 2.0 s")
    dm.stop()


def test_client_error_is_not_retried():
    srv, rcv, d = h.http_fixture(), h.receiver_fixture(), h.tmpdir()
    target = "refused-" + uuid.uuid4().hex[:8]
    rcv.get("/_mode?m=refuse")
    dm = start(d, setup(d, srv, rcv, target, journald_on=False), ["--stats", "-v"])
    srv.get("/_set?name=%s&status=503" % target)
    dm.wait_log(r"webhook ops: down msg_\w+ of %s refused \(answered 400\); not retried" % target)
    # Three more probes (over two seconds) leave room for the retries a
    # 5xx would get (retry_initial 200ms, retry_max 1s): none may come.
    probes = len(dm.grep(r"debug: %s: 503" % target))
    dm.wait_log(r"debug: %s: 503" % target, count=probes + 3)
    rc, _ = dm.stop()
    stats = json.loads(dm.stdout().strip().splitlines()[-1])
    assert stats["webhook_pending"] == 0, stats
    assert len(deliveries(rcv)) == 1


def test_formats_and_routing():
    srv, rcv, d = h.http_fixture(), h.receiver_fixture(), h.tmpdir()
    cfg = h.config(d, """\
defaults: {interval: 1s, timeout: 800ms, failure_threshold: 1}
alerts:
  journald: false
  webhooks:
    - {name: chat, url: '%s', format: slack, username: upmon on mon1, icon_emoji: ':bell:'}
    - {name: pager, url: '%s', format: alertmanager-webhook, min_severity: critical}
    - {name: none, url: '%s', events: [recovered]}
targets:
  - {name: a, url: '%s', webhooks: [chat, pager, none]}
  - {name: b, url: '%s', webhooks: [chat], severity: {404: warning}}
""" % (rcv.hook("/chat", "slack"), rcv.hook("/pager", "alertmanager-webhook"), rcv.hook("/none"),
       srv.url("/status/503"), srv.url("/status/404")))
    dm = start(d, cfg)
    h.wait_until(lambda: len(deliveries(rcv)) >= 3, 10, "three deliveries")
    dm.stop()
    by = {}
    for x in deliveries(rcv):
        by.setdefault(x["path"], []).append(x["json"])
    assert sorted(t["text"] for t in by["/chat"]) == sorted([
        "a is down: 503 Service Unavailable (%s)" % srv.url("/status/503"),
        "b is down: 404 Not Found (%s)" % srv.url("/status/404")]), by["/chat"]
    # A colour bar by severity, and the facts as fields.
    chat = {t["text"].split()[0]: t["attachments"][0] for t in by["/chat"]}
    assert chat["a"]["color"] == "#d50200" and chat["b"]["color"] == "#e09d00", chat
    assert all(t["username"] == "upmon on mon1" and t["icon_emoji"] == ":bell:"
               for t in by["/chat"]), by["/chat"]
    fields = {f["title"]: f["value"] for f in chat["b"]["fields"]}
    assert fields["Code"] == "404 Not Found" and fields["URL"] == srv.url("/status/404"), fields
    assert len(by["/pager"]) == 1  # b's warning is below the pager's min_severity
    am = by["/pager"][0]
    assert am["version"] == "4" and am["status"] == "firing" and am["receiver"] == "pager"
    assert am["alerts"][0]["labels"]["target"] == "a"
    assert am["alerts"][0]["labels"]["alertname"] == "UpmonTargetDown"
    assert "/none" not in by  # it only takes recovered


def test_pending_delivery_follows_a_changed_webhook():
    """A reload that moves a webhook to a new URL: the delivery still
    pending for it goes to the new URL, with the same webhook-id."""
    srv, old, new, d = h.http_fixture(), h.receiver_fixture(), h.receiver_fixture(), h.tmpdir()
    target = "moved-" + uuid.uuid4().hex[:8]
    old.get("/_mode?m=fail")
    cfg = setup(d, srv, old, target, journald_on=False)
    dm = start(d, cfg)
    srv.get("/_set?name=%s&status=503" % target)
    h.wait_until(lambda: len(deliveries(old)) >= 2, 10, "the down failing at the old URL")
    h.write(cfg, open(cfg).read().replace(old.url("/hook"), new.hook("/hook")))
    dm.send(signal.SIGHUP)
    dm.wait_log(r"reloaded: ")
    h.wait_until(lambda: len(delivered(new)) >= 1, 10, "the down at the new URL")
    got = delivered(new)
    assert types(got) == ["upmon.target.down"], types(got)
    assert got[0]["id"] == deliveries(old)[0]["id"]  # the same delivery, not a new alert
    assert all(new.json("/_verify?secret=" + SECRET))
    n_old = len(deliveries(old))
    dm.stop()
    assert len(deliveries(old)) == n_old


def test_webhook_removed_and_added_back_while_in_flight():
    """Two reloads take a webhook away and back while an attempt of it is
    in flight: it keeps its count of attempts under way and goes on
    delivering."""
    srv, rcv, d = h.http_fixture(), h.receiver_fixture(), h.tmpdir()
    target = "readd-" + uuid.uuid4().hex[:8]
    rcv.get("/_mode?m=slow:5")
    cfg = setup(d, srv, rcv, target, journald_on=False)
    with_hook = open(cfg).read()
    without = "\n".join(l for l in with_hook.splitlines() if "webhooks:" not in l and
                        "{name: ops" not in l) + "\n"
    dm = start(d, cfg)
    dm.wait_log(target + r": unknown -> up")
    srv.get("/_set?name=%s&status=503" % target)
    h.wait_until(lambda: len(deliveries(rcv)) >= 1, 10, "the down at the receiver")
    rcv.get("/_mode?m=ok")
    for i, text in enumerate((without, with_hook)):
        h.write(cfg, text)
        dm.send(signal.SIGHUP)
        dm.wait_log(r"reloaded: ", count=i + 1)
    assert not dm.grep(r"delivered down"), "the attempt ended before the reloads"
    dm.wait_log(r"delivered down .* of " + target)
    srv.get("/_set?name=%s&status=200" % target)
    h.wait_until(lambda: len(delivered(rcv)) >= 2, 10, "the recovered delivered")
    assert types(delivered(rcv)) == ["upmon.target.down", "upmon.target.recovered"]
    dm.stop()


def test_retry_after_zero_keeps_the_back_off():
    srv, rcv, d = h.http_fixture(), h.receiver_fixture(), h.tmpdir()
    target = "zero-" + uuid.uuid4().hex[:8]
    rcv.get("/_mode?m=429:0")
    dm = start(d, setup(d, srv, rcv, target, journald_on=False))
    srv.get("/_set?name=%s&status=503" % target)
    h.wait_until(lambda: len(deliveries(rcv)) >= 3, 10, "three attempts")
    dm.stop()
    times = [x["time"] for x in deliveries(rcv)]
    # retry_initial is 200ms: at least 100 ms before the second attempt,
    # 200 ms before the third; "0" asks for no sooner than now.
    assert times[1] - times[0] >= 0.09 and times[2] - times[1] >= 0.19, times


def test_restart_keeps_the_order_of_alerts_whatever_the_clock():
    """Pending alerts are sent after a restart in the order they were
    raised, even if the wall clock stepped back in between."""
    import sqlite3
    srv, rcv, d = h.http_fixture(), h.receiver_fixture(), h.tmpdir()
    target = "clock-" + uuid.uuid4().hex[:8]
    cfg = setup(d, srv, rcv, target, journald_on=False)
    rcv.get("/_mode?m=fail")
    dm = start(d, cfg)
    dm.wait_log(target + r": unknown -> up")
    srv.get("/_set?name=%s&status=503" % target)
    dm.wait_log(r"alert down: " + target)
    srv.get("/_set?name=%s&status=200" % target)
    dm.wait_log(r"alert recovered: " + target)
    db_path = os.path.join(d, "state", "upmon.db")

    def pending():
        db = sqlite3.connect(db_path)
        try:
            return db.execute("SELECT count(*) FROM outbox").fetchone()[0]
        finally:
            db.close()
    h.wait_until(lambda: pending() == 2, 10, "both alerts committed to the outbox")
    dm.send(signal.SIGKILL)
    dm.proc.wait()
    # As if the clock had stepped back 5 s between the down and the recovered.
    db = sqlite3.connect(db_path)
    with db:
        db.execute("UPDATE outbox SET created_ms = created_ms - 5000 WHERE event = 'recovered'")
    db.close()
    rcv.get("/_mode?m=ok")
    dm = start(d, cfg)
    h.wait_until(lambda: len(delivered(rcv)) >= 2, 10, "both delivered after the restart")
    assert types(delivered(rcv)) == ["upmon.target.down", "upmon.target.recovered"]
    dm.stop()


def test_disabled_at_start_then_enabled_leaves_no_stale_state():
    """A failing target restarted disabled is forgotten, as a reload forgets
    it: turned back on once its site is fine, no later restart takes it for
    still down and reports a recovery that never happened."""
    srv, rcv, d = h.http_fixture(), h.receiver_fixture(), h.tmpdir()
    target = "off-" + uuid.uuid4().hex[:8]
    cfg = setup(d, srv, rcv, target, journald_on=False)
    on = open(cfg).read()
    off = on.replace("labels: {team: web}}", "labels: {team: web}, enabled: false}")
    assert off != on
    srv.get("/_set?name=%s&status=503" % target)
    dm = start(d, cfg)
    h.wait_until(lambda: len(delivered(rcv)) >= 1, 10, "down delivered")
    dm.stop()
    h.write(cfg, off)
    dm = start(d, cfg)
    dm.wait_log(r"started: 1 target \(1 disabled\)")
    srv.get("/_set?name=%s&status=200" % target)
    h.write(cfg, on)
    dm.send(signal.SIGHUP)
    dm.wait_log(target + r": unknown -> up")
    dm.stop()
    dm = start(d, cfg)
    dm.wait_log(target + r": unknown -> up")
    dm.stop()
    assert not dm.grep("alert recovered"), dm.log()
    assert types(delivered(rcv)) == ["upmon.target.down"], types(delivered(rcv))


def test_unusable_state_directory_is_a_clear_error():
    d = h.tmpdir()
    blocker = h.write(os.path.join(d, "file"), "not a directory")
    cfg = h.config(d, "targets:\n  - {name: a, url: 'http://127.0.0.1:9/'}\n")
    p = h.run(["-c", cfg, "--state-dir", os.path.join(blocker, "state")], timeout=10)
    assert p.returncode == 1, p
    assert "cannot create state directory %s/state: Not a directory" % blocker in p.stderr, p.stderr
    # Two daemons cannot share one state directory.
    dm = start(d, cfg)
    dm.wait_log(r"started")
    p = h.run(["-c", cfg, "--state-dir", os.path.join(d, "state")], timeout=10)
    assert p.returncode == 1
    assert "is in use by another upmond" in p.stderr, p.stderr
    dm.stop()


def outbox(d):
    """The deliveries committed to the outbox of the state database, oldest
    first: (webhook-id, event); none before the daemon made it."""
    import sqlite3
    path = os.path.join(d, "state", "upmon.db")
    if not os.path.exists(path):
        return []
    db = sqlite3.connect("file:%s?mode=rw" % path, uri=True, timeout=5)
    try:
        return db.execute("SELECT id, event FROM outbox ORDER BY rowid").fetchall()
    except sqlite3.OperationalError as e:
        if "no such table" in str(e):
            return []  # the daemon is making it
        raise
    finally:
        db.close()


def statistics(dm, count):
    """The statistics the daemon logs on its count-th SIGUSR1."""
    dm.send(signal.SIGUSR1)
    line = dm.wait_log(r"notice: statistics: ", count=count)[count - 1]
    return json.loads(line.split("statistics: ", 1)[1])


DROP_LINE = re.compile(r"error: webhook ops: (?:(\d+) pending deliveries dropped|\w+ msg_\w+ of "
                       r"\S+ dropped unsent).*more than max_pending \(5\) waiting.* \(?(\d+) "
                       r"dropped since start\)$")


def test_outbox_is_bounded_and_keeps_the_newest():
    """A receiver that holds the first attempt while a target flaps: never
    more than max_pending deliveries wait, in memory or in the outbox; the
    oldest go first, but not the one in flight; one line says the drops of
    the burst, the statistics count them; when the receiver answers again
    it gets the one it held and the newest, in order."""
    import threading
    srv, rcv, d = h.http_fixture(), h.receiver_fixture(), h.tmpdir()
    target = "flap-" + uuid.uuid4().hex[:8]
    rcv.get("/_mode?m=hang")
    cfg = setup(d, srv, rcv, target, extra_hook=", max_pending: 5, timeout: 5m",
                extra_defaults=", flap_threshold: 0", journald_on=False)
    dm = start(d, cfg, ["--stats"])
    dm.wait_log(target + r": unknown -> up")

    # The outbox, sampled all along.
    sizes, done = [], threading.Event()

    def sample():
        while not done.is_set():
            sizes.append(len(outbox(d)))
            time.sleep(0.01)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    h.cleanup(done.set)

    alerts = 12  # down, recovered, down, ... recovered
    for i in range(alerts):
        srv.get("/_set?name=%s&status=%d" % (target, 200 if i % 2 else 503))
        dm.wait_log(r"alert (down|recovered): " + target, count=i + 1)
        if i == 0:
            h.wait_until(lambda: len(deliveries(rcv)) == 1, 10, "the first down held")
        h.wait_until(lambda: len(outbox(d)) == min(i + 1, 5), 10,
                     lambda: "%d in the outbox after %d alerts" % (len(outbox(d)), i + 1))
    done.set()
    sampler.join()
    assert sizes and max(sizes) == 5, sizes

    held_id = deliveries(rcv)[0]["id"]
    kept = outbox(d)
    # The one in flight stays; of the others, the four newest.
    assert kept[0] == (held_id, "down"), kept
    assert [e for _, e in kept] == ["down", "down", "recovered", "down", "recovered"], kept
    stats = statistics(dm, 1)
    assert stats["webhooks"]["ops"] == {"pending": 5, "dropped": 7}, stats
    assert stats["webhook_pending"] == 5, stats
    # Seven drops over six seconds: one line, said at the first.
    lines = [l for l in dm.log() if DROP_LINE.search(l)]
    assert len(lines) == 1 and "(1 dropped since start)" in lines[0], lines
    assert len(dm.grep(r"webhook ops: .*dropped")) == 1, dm.grep(r"webhook ops")

    rcv.get("/_mode?m=ok")
    h.wait_until(lambda: len(delivered(rcv)) >= 5, 10, "the held one and the newest delivered")
    got = delivered(rcv)
    assert [x["id"] for x in got] == [i for i, _ in kept], (got, kept)
    assert types(got) == ["upmon.target.down", "upmon.target.down", "upmon.target.recovered",
                          "upmon.target.down", "upmon.target.recovered"], types(got)
    h.wait_until(lambda: not outbox(d), 10, "the outbox emptied")
    rc, _ = dm.stop()
    assert rc == 0
    stats = json.loads(dm.stdout().strip().splitlines()[-1])
    assert stats["webhooks"]["ops"] == {"pending": 0, "dropped": 7}, stats
    # What the first line left untold is said at the stop: every drop is
    # in one of the two lines.
    lines = [DROP_LINE.search(l) for l in dm.log() if DROP_LINE.search(l)]
    assert len(lines) == 2, dm.grep(r"dropped")
    assert sum(int(m.group(1) or 1) for m in lines) == 7, [m.group(0) for m in lines]
    assert lines[1].group(2) == "7", lines[1].group(0)
    assert len(delivered(rcv)) == 5


def test_failing_receiver_costs_few_log_lines():
    """Thousands of failed attempts, even under -q, make two warnings: the
    first failure at once, the rest summed up (here at the stop; a
    running daemon says them once a minute), with their count."""
    srv, rcv, d = h.http_fixture(), h.receiver_fixture(), h.tmpdir()
    n = 200
    rcv.get("/_mode?m=fail")
    cfg = h.config(d, """\
defaults: {interval: 1s, timeout: 800ms, failure_threshold: 1}
alerts:
  journald: false
  webhooks:
    - {name: ops, url: '%s', retry_initial: 100ms, retry_max: 1s}
targets:
%s""" % (rcv.hook("/hook"), "".join("  - {name: t%d, url: '%s'}\n" % (i, srv.url("/status/503"))
                                    for i in range(n))))
    dm = start(d, cfg, ["-q", "--stats"])
    first = dm.wait_log(r"warning: webhook ops: ", timeout=15)[0]
    assert re.search(r"webhook ops: (down msg_\w+ of t\d+ failed \(answered 500\); attempt 2 in "
                     r"0\.\d s|\d+ attempts failed \(last: answered 500\))$", first), first
    h.wait_until(lambda: rcv.json("/_count")["total"] >= 2000, 60, "2000 failed attempts")
    warnings = dm.grep(r"warning: webhook ")
    assert len(warnings) == 1, warnings[:10]
    rcv.get("/_mode?m=ok")
    h.wait_until(lambda: len({x["id"] for x in delivered(rcv)}) == n, 15, "every down delivered")
    rc, _ = dm.stop()
    assert rc == 0
    stats = json.loads(dm.stdout().strip().splitlines()[-1])
    assert stats["webhook_pending"] == 0, stats
    assert stats["webhooks"]["ops"] == {"pending": 0, "dropped": 0}, stats
    # Every failed attempt is counted in one of two lines.
    warnings = dm.grep(r"warning: webhook ")
    assert len(warnings) == 2, warnings
    m = re.search(r"webhook ops: (\d+) attempts failed in the last \d+ s \(last: answered 500\)$",
                  warnings[1])
    assert m, warnings[1]
    failed = rcv.json("/_count")["answers"]["fail"]
    told = int(m.group(1)) + (int(re.search(r"(\d+) attempts", first).group(1))
                              if "attempts failed" in first else 1)
    assert told == failed, (told, failed)
    assert not dm.grep(r"error: webhook"), dm.grep(r"error: webhook")


def test_lowered_max_pending_drops_the_excess_at_once():
    """A reload that lowers max_pending, and a start with an outbox larger
    than it (written before it was lowered, or by a version without the
    bound), drop the excess at once: at the start, the oldest."""
    srv, rcv, d = h.http_fixture(), h.receiver_fixture(), h.tmpdir()
    rcv.get("/_mode?m=fail")
    text = """\
defaults: {interval: 1s, timeout: 800ms, failure_threshold: 1}
alerts:
  journald: false
  webhooks:
    - {name: ops, url: '%s', retry_initial: 200ms, retry_max: 1s, max_pending: 1000}
targets:
%s""" % (rcv.hook("/hook"), "".join("  - {name: low%d, url: '%s'}\n" % (i, srv.url("/status/503"))
                                    for i in range(8)))
    cfg = h.config(d, text)
    dm = start(d, cfg)
    h.wait_until(lambda: len(outbox(d)) == 8, 10, "eight downs in the outbox")
    h.write(cfg, text.replace("max_pending: 1000", "max_pending: 6"))
    dm.send(signal.SIGHUP)
    dm.wait_log(r"reloaded: ")
    h.wait_until(lambda: len(outbox(d)) == 6, 5, "the outbox down to six")
    line = dm.wait_log(r"error: webhook ops: 2 pending deliveries dropped, the oldest first: "
                       r"more than max_pending \(6\) waiting \(2 dropped since start\)$")
    assert len(dm.grep(r"webhook ops: .*dropped")) == 1, line
    assert statistics(dm, 1)["webhooks"]["ops"] == {"pending": 6, "dropped": 2}
    rc, _ = dm.stop()
    assert rc == 0

    before = outbox(d)
    h.write(cfg, text.replace("max_pending: 1000", "max_pending: 5"))
    dm = start(d, cfg)
    dm.wait_log(r"error: webhook ops: \w+ %s of low\d dropped unsent: more than max_pending "
                r"\(5\) waiting \(1 dropped since start\)$" % before[0][0])
    h.wait_until(lambda: outbox(d) == before[1:], 5, "the oldest gone from the outbox")
    assert statistics(dm, 1)["webhooks"]["ops"] == {"pending": 5, "dropped": 1}
    dm.stop()


if __name__ == "__main__":
    h.main(globals())
