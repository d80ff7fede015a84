#!/usr/bin/env python3
"""upmond's alerts pushed into a real Prometheus Alertmanager (Debian's
prometheus-alertmanager), as Prometheus pushes them: two Alertmanagers on
127.0.0.1, clustering off, each a webhook of format alertmanager (an HA
pair is two webhooks), each routing to a receiver here that records its
notifications. The alert shows in `amtool alert query`, is routed to the
receiver, stays firing past Alertmanager's resolve_timeout and past the
endsAt of any one send while the site stays down (the re-sends), and is
resolved by the recovery. A second run kills upmond (SIGKILL) while the
alert fires and starts it again: the alert, sent again from the stored
state, stays firing, and the recovery resolves it."""
import http.server
import json
import os
import shutil
import subprocess
import threading
import time

import harness as h

AM = shutil.which("prometheus-alertmanager")
AMTOOL = shutil.which("amtool")
# resend_every: short, so that one send's endsAt (four of them) passes
# within the test; longer under the sanitizers, which slow a restart.
RESEND_S = 2 if h.SANITIZED else 1
RESOLVE_TIMEOUT_S = 5
# Long enough that an alert left alone would have ended: past Alertmanager's
# resolve_timeout and past the endsAt of a send.
STAY_S = max(RESOLVE_TIMEOUT_S, 4 * RESEND_S) + 3


class Notifications:
    """Alertmanager's webhook receiver: records each notification's body."""

    def __init__(self):
        got = self.got = []
        lock = self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    got.append((self.path, json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        h.cleanup(self.server.shutdown)

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def alerts(self, path, status):
        """The alerts of the notifications to path, of that status."""
        with self.lock:
            return [a for p, n in self.got if p == path for a in n["alerts"]
                    if a["status"] == status]


class Alertmanager:
    """A real Alertmanager on a port of its own, clustering off, its state
    in a temporary directory, routing everything to receiver_url."""

    def __init__(self, receiver_url):
        d = h.tmpdir()
        self.port = h.free_port()
        cfg = h.write(os.path.join(d, "alertmanager.yml"), """\
global:
  resolve_timeout: %ds
route:
  receiver: test
  group_by: [alertname, target]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: test
    webhook_configs:
      - url: '%s'
        send_resolved: true
""" % (RESOLVE_TIMEOUT_S, receiver_url))
        self.log = open(os.path.join(d, "alertmanager.log"), "w+")
        self.proc = subprocess.Popen(
            [AM, "--config.file=" + cfg, "--storage.path=" + os.path.join(d, "data"),
             "--web.listen-address=127.0.0.1:%d" % self.port, "--cluster.listen-address="],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        h.cleanup(lambda: h.terminate(self.proc, 5))
        h.wait_until(self.ready, 20, lambda: "Alertmanager ready; its log:\n" + self.tail())

    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def tail(self):
        self.log.seek(0)
        return "".join(self.log.readlines()[-20:])

    def ready(self):
        assert self.proc.poll() is None, "Alertmanager exited:\n" + self.tail()
        try:
            h.http_get(self.url() + "/-/ready", timeout=1)
            return True
        except OSError:
            return False

    def active(self, *matchers):
        """The active alerts amtool finds with those matchers."""
        p = subprocess.run([AMTOOL, "alert", "query", "--alertmanager.url=" + self.url(),
                            "-o", "json"] + list(matchers),
                           capture_output=True, text=True, timeout=20)
        assert p.returncode == 0, "amtool: %s%s" % (p.stdout, p.stderr)
        return [a for a in json.loads(p.stdout) if a["status"]["state"] == "active"]


def setup():
    site, rcv, d = h.http_fixture(), Notifications(), h.tmpdir()
    ams = [Alertmanager(rcv.url("/a")), Alertmanager(rcv.url("/b"))]
    # The first by its base URL (/api/v2/alerts is added), the second by
    # the endpoint itself.
    cfg = h.config(d, """\
defaults: {interval: 1s, timeout: 800ms, failure_threshold: 1, recovery_threshold: 1}
alerts:
  webhooks:
    - {name: am-a, url: '%s', format: alertmanager, resend_every: %ds, retry_initial: 200ms}
    - {name: am-b, url: '%s/api/v2/alerts', format: alertmanager, resend_every: %ds,
       retry_initial: 200ms}
http:
  external_url: 'https://status.example.com/'
targets:
  - {name: shop, url: '%s', labels: {team: web, severity: low}}
""" % (ams[0].url(), RESEND_S, ams[1].url(), RESEND_S, site.url("/site/shop")))
    args = ["-c", cfg, "--state-dir", os.path.join(d, "state")]
    dm = h.Daemon(args)
    dm.wait_log(r"shop: unknown -> up")
    return site, rcv, ams, dm, args


def fires(rcv, ams):
    """Waits until both Alertmanagers have the outage and notified it."""
    for am, path in zip(ams, ("/a", "/b")):
        (a,) = h.wait_until(lambda: am.active("alertname=UpmonTargetDown"), 20,
                            "UpmonTargetDown in amtool alert query")
        labels = a["labels"]
        assert labels["target"] == "shop" and labels["severity"] == "critical", labels
        # The target's own severity label does not replace upmond's.
        assert labels["team"] == "web" and labels["exported_severity"] == "low", labels
        assert a["generatorURL"] == "https://status.example.com/", a
        assert a["annotations"]["code"] == "503", a["annotations"]
        assert a["annotations"]["phrase"] == "Service Unavailable", a["annotations"]
        assert a["annotations"]["summary"].startswith("shop is "), a["annotations"]
        (n,) = h.wait_until(lambda: rcv.alerts(path, "firing"), 20,
                            "Alertmanager's firing notification to " + path)
        assert n["labels"]["alertname"] == "UpmonTargetDown", n


def stays_firing(rcv, ams, seconds):
    """Polls for `seconds`: the alert stays active in both, never resolved."""
    end = time.monotonic() + seconds

    def still():
        for am in ams:
            assert am.active("alertname=UpmonTargetDown"), \
                "the alert ended while the site was down:\n" + am.tail()
        assert not rcv.alerts("/a", "resolved") and not rcv.alerts("/b", "resolved")
        return time.monotonic() > end

    h.wait_until(still, seconds + 30, "the alert to stay firing")


def resolves(site, rcv, ams):
    site.get("/_set?name=shop&status=200")
    for am, path in zip(ams, ("/a", "/b")):
        (n,) = h.wait_until(lambda: rcv.alerts(path, "resolved"), 20,
                            "Alertmanager's resolved notification to " + path)
        assert n["labels"]["alertname"] == "UpmonTargetDown", n
        h.wait_until(lambda: not am.active("alertname=UpmonTargetDown"), 10,
                     "no active alert left")


def test_alert_fires_stays_firing_and_resolves():
    site, rcv, ams, dm, args = setup()
    site.get("/_set?name=shop&status=503")
    fires(rcv, ams)
    stays_firing(rcv, ams, STAY_S)
    resolves(site, rcv, ams)


def test_alert_stays_firing_across_a_killed_daemon():
    site, rcv, ams, dm, args = setup()
    site.get("/_set?name=shop&status=503")
    fires(rcv, ams)
    dm.kill()  # SIGKILL: no goodbye, the outbox and the state as they were
    dm = h.Daemon(args)
    dm.wait_log(r"upmond .* started")
    stays_firing(rcv, ams, STAY_S)
    resolves(site, rcv, ams)


if not AM or not AMTOOL:
    h.skip_all("prometheus-alertmanager and amtool are not installed "
               "(apt install prometheus-alertmanager)")
h.main(globals())
