#!/usr/bin/env python3
"""What a silent DNS server costs upmond: many targets by host names
whose name server never answers, beside targets by IP address and by
names that do resolve, all against the fixture site on 127.0.0.1.

upmond runs in a mount namespace of its own (unshare -m) where
/etc/resolv.conf names the fixture DNS server (tests/fixtures/dns.py) on
an address of 127.53.0.0/16; nothing leaves the machine. Needs root (port
53, the namespace).

  tests/bench/silent_dns.py [--upmond PATH] [--silent 2000] [--ips 100]
      [--resolving 100] [--max-concurrent 500] [--interval 10s]
      [--timeout 5s] [--dns-cache 60s] [--seconds 60]
      [--resolv-options 'timeout:5 attempts:2']

It samples the daemon's threads and resident memory (/proc/PID/status)
twice a second, reads its CPU time (/proc/PID/stat) at the end, its
statistics (--stats) and the site's
log of requests, and prints one JSON line: the peaks, the statistics, how
many probes each kind of target got against the plan, and the longest gap
between two probes of one IP target.
"""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(SRC, "tests", "fixtures")


def fixture(script, args):
    env = dict(os.environ, UPMON_FIXTURE_PARENT="stdin")
    proc = subprocess.Popen([sys.executable, os.path.join(FIXTURES, script)] + args,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline()
    if not line.strip().isdigit():
        raise RuntimeError("%s did not start (exit %s)" % (script, proc.poll()))
    return proc, int(line)


def get_json(port, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=30) as r:
        return json.loads(r.read().decode())


def seconds_of(text):
    return float(text[:-2]) / 1000 if text.endswith("ms") else float(text[:-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--upmond", default=os.path.join(SRC, "build", "daemon", "upmond"))
    ap.add_argument("--silent", type=int, default=2000, help="targets by names never answered")
    ap.add_argument("--ips", type=int, default=100, help="targets by IP address")
    ap.add_argument("--resolving", type=int, default=100, help="targets by names that resolve")
    ap.add_argument("--max-concurrent", type=int, default=500)
    ap.add_argument("--interval", default="10s")
    ap.add_argument("--timeout", default="5s")
    ap.add_argument("--dns-cache", default="60s", help="engine.dns_cache (0: every probe asks)")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--resolv-options", default="timeout:5 attempts:2",
                    help="the options line of the namespace's resolv.conf (glibc's defaults)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("silent_dns: needs root (port 53 and a mount namespace)")

    tmp = tempfile.mkdtemp(prefix="upmon-silent-dns-")
    site, site_port = fixture("httpd.py", [])
    addr = "127.53.%d.%d" % (random.randrange(1, 255), random.randrange(1, 255))
    dns, _ = fixture("dns.py", [addr, "ok.upmon.test=127.0.0.1"])
    resolv = os.path.join(tmp, "resolv.conf")
    with open(resolv, "w") as f:
        f.write("nameserver %s\noptions %s\n" % (addr, args.resolv_options))
    cfg = os.path.join(tmp, "upmon.yaml")
    with open(cfg, "w") as f:
        f.write("engine: {max_concurrent: %d, dns_cache: %s}\nalerts: {journald: false}\n"
                "defaults: {interval: %s, timeout: %s}\ntargets:\n"
                % (args.max_concurrent, args.dns_cache, args.interval, args.timeout))
        for i in range(args.ips):
            f.write("  - {name: ip%d, url: 'http://127.0.0.1:%d/site/ip%d'}\n" % (i, site_port, i))
        for i in range(args.resolving):
            f.write("  - {name: ok%d, url: 'http://n%d.ok.upmon.test:%d/site/ok%d'}\n"
                    % (i, i, site_port, i))
        for i in range(args.silent):
            f.write("  - {name: silent%d, url: 'http://n%d.silent.upmon.test:%d/site/silent%d'}\n"
                    % (i, i, site_port, i))
    wrapper = ["unshare", "-m", "sh", "-c", 'mount --bind "$0" /etc/resolv.conf && exec "$@"',
               resolv]
    t0 = time.time()
    proc = subprocess.Popen(wrapper + [args.upmond, "--stats", "-c", cfg, "--state-dir",
                                       os.path.join(tmp, "state")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    errors = []
    threading.Thread(target=lambda: errors.extend(proc.stderr), daemon=True).start()
    peak = {"threads": 0, "rss_mb": 0.0}
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with open("/proc/%d/status" % proc.pid) as f:
                for line in f:
                    if line.startswith("Threads:"):
                        peak["threads"] = max(peak["threads"], int(line.split()[1]))
                    elif line.startswith("VmRSS:"):
                        peak["rss_mb"] = max(peak["rss_mb"], int(line.split()[1]) / 1024.0)
        except OSError:
            pass
        time.sleep(0.5)
    t1 = time.time()
    cpu = None
    try:
        with open("/proc/%d/stat" % proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        pass
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    stats = json.loads(out.strip().splitlines()[-1])
    log = get_json(site_port, "/_log")
    site.terminate()
    dns.terminate()

    # Probes the site saw, per kind, against the plan (one per interval
    # per target from its first probe on; the first comes within the
    # first interval).
    iv = seconds_of(args.interval)
    times = {}
    for path, when, _ in log:
        times.setdefault(path.rsplit("/", 1)[1], []).append(when)
    planned_per_target = int((t1 - t0) / iv)
    ip_gaps = []
    for i in range(args.ips):
        ts = sorted(times.get("ip%d" % i, []))
        ip_gaps += [b - a for a, b in zip(ts, ts[1:])]
    dns_failures = sum(1 for l in errors if "-> unreachable (dns" in l and " silent" in l)
    ok_failures = sum(1 for l in errors if "-> unreachable (dns" in l and " ok" in l)
    result = {
        "upmond": args.upmond,
        "targets": {"silent": args.silent, "ips": args.ips, "resolving": args.resolving},
        "max_concurrent": args.max_concurrent, "interval": args.interval,
        "timeout": args.timeout, "seconds": round(t1 - t0, 1),
        "peak_threads": peak["threads"], "peak_rss_mb": round(peak["rss_mb"], 1),
        "cpu_s": cpu,
        "stats": stats,
        "ip_probes": sum(len(times.get("ip%d" % i, [])) for i in range(args.ips)),
        "ok_probes": sum(len(times.get("ok%d" % i, [])) for i in range(args.resolving)),
        "ip_planned": planned_per_target * args.ips,
        "ok_planned": planned_per_target * args.resolving,
        "ip_gap_max_s": round(max(ip_gaps), 2) if ip_gaps else None,
        "silent_names_down_as_dns": dns_failures,
        "resolving_names_down_as_dns": ok_failures,
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
