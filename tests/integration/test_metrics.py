#!/usr/bin/env python3
"""/metrics as Prometheus reads it: a real Prometheus scrapes upmond on
loopback and, through its HTTP API, sees a target go 1 -> 0 -> 1 in
upmon_probe_success; live scrapes in both formats pass promtool and the
strict OpenMetrics parser; the format follows the Accept header."""
import json
import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request

import harness as h

# Run with the Python that has prometheus_client (Debian's), as the
# schema checks are.
CHECKER = os.path.join(h.SRC, "tests", "metrics", "check_exposition.py")
# Under the sanitizers everything is slower.
WAIT = 60 if h.SANITIZED else 30
OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
TEXT = "text/plain; version=0.0.4; charset=utf-8"


def upmond(targets, labels="{team: web, job: backup}"):
    """upmond probing each (name, url) every second, with its HTTP server
    on a port of its own; returns (daemon, base URL)."""
    d = h.tmpdir()
    port = h.free_port()
    body = "http: {listen: ['127.0.0.1:%d']}\ndefaults: {interval: 1s, timeout: 900ms}\n" % port
    body += "targets:\n" + "".join("  - {name: %s, url: '%s', labels: %s}\n" % (n, u, labels)
                                   for n, u in targets)
    cfg = h.config(d, body)
    dm = h.Daemon(["-c", cfg, "--state-dir", os.path.join(d, "state")])
    base = "http://127.0.0.1:%d" % port
    h.wait_until(lambda: dm.proc.poll() is not None or scrape(base)[0] == 200, WAIT,
                 "upmond answering /metrics")
    assert dm.proc.poll() is None, dm.log()
    return dm, base


def scrape(base, accept=None):
    """GET /metrics: (status, Content-Type, body as bytes); status 0 when
    nothing answers."""
    req = urllib.request.Request(base + "/metrics", headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.headers.get("Content-Type"), r.read()
    except OSError:
        return 0, None, b""


def sample(body, name, **labels):
    """The value of the sample of name with (at least) these labels in an
    exposition, or None."""
    for line in body.decode().splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            if all('%s="%s"' % kv in line for kv in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    return None


class Prometheus:
    """A real Prometheus scraping the given targets every second, with its
    TSDB in a temporary directory; stopped when the test ends."""

    def __init__(self, targets):
        binary = shutil.which("prometheus") or "/usr/sbin/prometheus"
        if not os.access(binary, os.X_OK):
            raise h.Skip("prometheus is not installed (apt-get install prometheus)")
        d = h.tmpdir()
        cfg = h.write(os.path.join(d, "prometheus.yml"),
                      "global: {scrape_interval: 1s, scrape_timeout: 1s, "
                      "evaluation_interval: 1s}\n"
                      "scrape_configs:\n  - job_name: upmon\n"
                      "    static_configs: [{targets: [%s]}]\n" %
                      ", ".join("'%s'" % t for t in targets))
        self.log = open(os.path.join(d, "prometheus.log"), "w+")
        for _ in range(5):
            self.port = h.free_port()
            self.proc = subprocess.Popen(
                [binary, "--config.file=" + cfg, "--storage.tsdb.path=" + os.path.join(d, "tsdb"),
                 "--web.listen-address=127.0.0.1:%d" % self.port],
                stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                preexec_fn=h._die_with_parent)
            h.cleanup(self.stop)
            h.wait_until(lambda: self.proc.poll() is not None or self._ready(), WAIT,
                         lambda: "Prometheus ready; its log:\n" + self.tail())
            if self.proc.poll() is None:
                return
            if "address already in use" not in self.tail():
                raise RuntimeError("prometheus did not start:\n" + self.tail())
        raise RuntimeError("prometheus found no free port")

    def tail(self):
        self.log.flush()
        self.log.seek(0)
        return "".join(self.log.readlines()[-20:])

    def _ready(self):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % self.port,
                                        timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def api(self, path, **params):
        url = "http://127.0.0.1:%d/api/v1/%s?%s" % (self.port, path,
                                                    urllib.parse.urlencode(params))
        with urllib.request.urlopen(url, timeout=10) as r:
            o = json.loads(r.read())
        assert o["status"] == "success", o
        return o["data"]

    def value(self, expr):
        """The value of an instant query that yields one series, or None."""
        result = self.api("query", query=expr)["result"]
        assert len(result) <= 1, result
        return float(result[0]["value"][1]) if result else None

    def stop(self):
        h.terminate(self.proc, 10)
        self.log.close()


def test_prometheus_sees_a_target_go_down_and_up():
    """The Done-when line: upmon_probe_success read back through
    Prometheus's API goes 1 -> 0 -> 1 as the site does."""
    srv = h.http_fixture()
    dm, base = upmond([("shop", srv.url("/site/shop"))])
    prom = Prometheus([base[len("http://"):]])
    t0 = time.time()
    query = 'upmon_probe_success{job="upmon",target="shop"}'

    def becomes(v):
        h.wait_until(lambda: prom.value(query) == v, WAIT,
                     lambda: "%s == %s in Prometheus (now %s); its log:\n%s" %
                     (query, v, prom.value(query), prom.tail()))

    becomes(1)
    srv.get("/_set?name=shop&status=503")
    becomes(0)
    srv.get("/_set?name=shop&status=200")
    becomes(1)

    # The same story, from the stored series (once the last step of the
    # range falls after the recovery).
    def story():
        data = prom.api("query_range", query=query, start="%.3f" % t0,
                        end="%.3f" % time.time(), step="1s")
        assert len(data["result"]) == 1, data
        values = [float(v) for _, v in data["result"][0]["values"]]
        return [v for i, v in enumerate(values) if i == 0 or values[i - 1] != v]

    h.wait_until(lambda: story() == [1, 0, 1], WAIT, lambda: "1 -> 0 -> 1, not %s" % story())

    # What else Prometheus holds: the state set, the code, the renamed
    # label, and a scrape that went well.
    assert prom.value('upmon_target_state{target="shop",upmon_target_state="up"}') == 1
    assert prom.value('upmon_probe_http_status_code{target="shop"}') == 200
    assert prom.value('upmon_probes_total{target="shop",result="server_error",'
                      'team="web",label_job="backup"}') >= 1
    assert prom.value('up{job="upmon"}') == 1
    active = prom.api("targets")["activeTargets"]
    assert [t["health"] for t in active] == ["up"], active
    assert active[0]["lastError"] == "", active
    rc, _ = dm.stop()
    assert rc == 0, dm.log()


def test_live_scrapes_pass_the_checkers():
    """promtool check metrics on the text format, and the strict
    OpenMetrics parser on OpenMetrics, of a daemon with targets up, failing
    and unreachable."""
    srv = h.http_fixture()
    dm, base = upmond([("up", srv.url("/status/200")), ("err", srv.url("/status/500")),
                       ("gone", "http://127.0.0.1:%d/" % h.free_port())])
    # Every target probed, so every family has samples.
    h.wait_until(lambda: all(sample(scrape(base)[2], "upmon_probe_success", target=t) is not None
                             for t in ("up", "err", "gone")), WAIT, "three probed targets")
    status, ctype, text = scrape(base)
    assert (status, ctype) == (200, TEXT), (status, ctype)
    status, ctype, om = scrape(base, "application/openmetrics-text;version=1.0.0")
    assert (status, ctype) == (200, OPENMETRICS), (status, ctype)
    assert om.endswith(b"# EOF\n"), om[-100:]
    assert sample(text, "upmon_probe_success", target="err") == 0
    assert sample(text, "upmon_probe_http_status_code", target="gone") == 0
    assert sample(text, "upmon_build_info") == 1
    d = h.tmpdir()
    checked = 0
    for mode, data in (("promtool", text), ("openmetrics", om)):
        path = h.write(os.path.join(d, "metrics." + mode), data.decode())
        p = subprocess.run([h.SCHEMA_PYTHON, CHECKER, mode, path], capture_output=True,
                           text=True, timeout=120)
        if p.returncode == 77:
            h.note(p.stdout.strip())
            continue
        assert p.returncode == 0, (mode, p.stdout, p.stderr)
        checked += 1
    if not checked:
        raise h.Skip("neither promtool nor prometheus_client is installed")
    rc, _ = dm.stop()
    assert rc == 0, dm.log()


def test_format_follows_accept():
    """What a browser, curl and Prometheus send, and a HEAD."""
    srv = h.http_fixture()
    dm, base = upmond([("shop", srv.url("/status/200"))])
    for accept, want in [
            (None, TEXT),
            ("*/*", TEXT),
            ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", TEXT),
            ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
             "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", OPENMETRICS),
            ("application/openmetrics-text;version=0.0.1", TEXT),
            ("text/plain;q=0.5, application/openmetrics-text;q=0.6", OPENMETRICS)]:
        status, ctype, _ = scrape(base, accept)
        assert (status, ctype) == (200, want), (accept, status, ctype)
    req = urllib.request.Request(base + "/metrics", method="HEAD")
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 200 and r.headers.get("Content-Type") == TEXT
        assert r.read() == b""
    rc, _ = dm.stop()
    assert rc == 0, dm.log()


if __name__ == "__main__":
    h.main(globals())
