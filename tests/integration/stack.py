"""The Prometheus stack for the tests, real and on loopback: Prometheus
(scraping, rules, alerting) and Alertmanager (alone, or as a cluster
gossiping on 127.0.0.1 ports), each with its data in a temporary
directory, on a port the test picks (taken again if another process got
it first), stopped when the test ends. A test that needs one and finds
it absent is skipped, with what to install."""
import json
import os
import shutil
import subprocess
import urllib.parse
import urllib.request

import harness as h

# Under the sanitizers everything is slower.
WAIT = 60 if h.SANITIZED else 30


def _binary(names, package):
    for name in names:
        path = shutil.which(name) or (os.path.exists("/usr/bin/" + name) and "/usr/bin/" + name)
        if path and os.access(path, os.X_OK):
            return path
    raise h.Skip("%s is not installed (apt-get install %s)" % (names[0], package))


def _get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read()


class Server:
    """A process that serves HTTP on a port of 127.0.0.1 given on its
    command line, with its output in a log file."""

    def __init__(self, name, argv_for_port, ready_path, tries=5):
        self.name = name
        d = h.tmpdir()
        self.dir = d
        self.log = open(os.path.join(d, name + ".log"), "w+")
        self.ready_path = ready_path
        for _ in range(tries):
            self.port = h.free_port()
            self.proc = subprocess.Popen(argv_for_port(self.port), stdout=self.log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         preexec_fn=h._die_with_parent)
            h.cleanup(self.stop)
            h.wait_until(lambda: self.proc.poll() is not None or self.ready(), WAIT,
                         lambda: "%s ready; its log:\n%s" % (name, self.tail()))
            if self.proc.poll() is None:
                return
            if "address already in use" not in self.tail():
                raise RuntimeError("%s did not start:\n%s" % (name, self.tail()))
        raise RuntimeError("%s found no free port" % name)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def tail(self, n=30):
        self.log.flush()
        self.log.seek(0)
        return "".join(self.log.readlines()[-n:])

    def ready(self):
        try:
            return _get(self.url + self.ready_path, timeout=2)[0] == 200
        except OSError:
            return False

    def stop(self):
        if self.proc.poll() is None:
            h.terminate(self.proc, 10)

    def kill(self):
        self.proc.kill()
        self.proc.wait()


class Prometheus(Server):
    """Scrapes `targets` (HOST:PORT) as job `job` every second, evaluates
    the rule files every second, and sends its alerts to the
    Alertmanagers given (base URLs)."""

    def __init__(self, targets, job="upmon", rule_files=(), alertmanagers=(), labels=None):
        binary = _binary(["prometheus"], "prometheus")
        d = h.tmpdir()
        cfg = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s",
                       "evaluation_interval": "1s"},
            "rule_files": list(rule_files),
            "scrape_configs": [{"job_name": job, "static_configs": [
                {"targets": list(targets), **({"labels": labels} if labels else {})}]}],
        }
        if alertmanagers:
            cfg["alerting"] = {"alertmanagers": [{"static_configs": [
                {"targets": [urllib.parse.urlsplit(u).netloc for u in alertmanagers]}]}]}
        path = h.write(os.path.join(d, "prometheus.yml"), json.dumps(cfg))
        super().__init__("prometheus", lambda port: [
            binary, "--config.file=" + path, "--storage.tsdb.path=" + os.path.join(d, "tsdb"),
            "--web.listen-address=127.0.0.1:%d" % port], "/-/ready")

    def api(self, path, **params):
        url = "%s/api/v1/%s?%s" % (self.url, path, urllib.parse.urlencode(params))
        o = json.loads(_get(url)[1])
        assert o["status"] == "success", o
        return o["data"]

    def query(self, expr):
        """The series of an instant query: [(labels, value)]."""
        return [(r["metric"], float(r["value"][1]))
                for r in self.api("query", query=expr)["result"]]

    def value(self, expr):
        """The value of an instant query that yields one series, or None."""
        result = self.query(expr)
        assert len(result) <= 1, result
        return result[0][1] if result else None

    def alerts(self):
        """The alerts its rules have pending or firing."""
        return self.api("alerts")["alerts"]


class Alertmanager(Server):
    """An Alertmanager with the given configuration (YAML text). Alone
    (clustering off) unless cluster_port is given; peers are the cluster
    addresses (HOST:PORT) of the others."""

    def __init__(self, config_text, cluster_port=None, peers=()):
        binary = _binary(["prometheus-alertmanager", "alertmanager"], "prometheus-alertmanager")
        d = h.tmpdir()
        path = h.write(os.path.join(d, "alertmanager.yml"), config_text)
        if cluster_port:
            cluster = ["--cluster.listen-address=127.0.0.1:%d" % cluster_port,
                       "--cluster.advertise-address=127.0.0.1:%d" % cluster_port,
                       "--cluster.gossip-interval=100ms", "--cluster.pushpull-interval=1s",
                       "--cluster.peer-timeout=2s", "--cluster.settle-timeout=2s"]
            cluster += ["--cluster.peer=" + p for p in peers]
        else:
            cluster = ["--cluster.listen-address="]
        self.cluster_port = cluster_port
        super().__init__("alertmanager", lambda port: [
            binary, "--config.file=" + path, "--storage.path=" + os.path.join(d, "data"),
            "--web.listen-address=127.0.0.1:%d" % port] + cluster, "/-/ready")

    def alerts(self, **filters):
        """Its alerts through its API v2 (active, silenced and inhibited)."""
        q = urllib.parse.urlencode([("filter", '%s="%s"' % kv) for kv in filters.items()])
        return json.loads(_get(self.url + "/api/v2/alerts?" + q)[1])

    def status(self):
        return json.loads(_get(self.url + "/api/v2/status")[1])

    def amtool(self, *args):
        """amtool's JSON answer to `amtool ARGS -o json`."""
        binary = _binary(["amtool"], "prometheus-alertmanager")
        p = subprocess.run([binary, "--alertmanager.url=" + self.url, "-o", "json"] + list(args),
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, "amtool %s: %s" % (" ".join(args), p.stderr)
        return json.loads(p.stdout)
