#!/usr/bin/env python3
"""upmon's benchmark. One command; everything stays on 127.0.0.1.

It starts its own site (nginx if installed, else the test fixture server),
generates watch lists of N targets, runs upmond for a fixed time and reads
its own statistics (--stats) and the kernel's account of its CPU time and
peak RSS (wait4), then puts the same kind of load through `wrk -H
'Connection: close'` (a bare load generator: the floor) and Monit (when
installed) in the same run, and prints one table with the ratios.

  tests/bench/bench.py [--build DIR] [--duration S] [--quick]
  tests/bench/bench.py --history ROUNDS   only history on against off, alternating
  tests/bench/bench.py --syscalls N       only system calls per probe by kind (strace -c -f)
                                          of upmond, Monit and wrk on nginx's default page
  tests/bench/bench.py --instructions N   only instructions per probe of upmond (callgrind)
  tests/bench/bench.py --fair ROUNDS      only the fair row (fair.py): upmond, Monit and wrk on
                                          nginx's default page, pinned apart, with calibration

Rows:
  load 10k          loading and validating a 10,000-target watch list
  upmond 10k/10s    10,000 targets at a 10 s interval (1,000 probes/s), IP literal
                    (history on, as by default; "history off" the same without)
  restore 10k/90d   reading at start the history of 10,000 targets with 90
                    days of it (days, hours and the last hour's minutes); then a
                    reload re-adding 100 of them and 33 new: their history read
  upmond names      the same with a host name (from /etc/hosts) in every URL
  upmond 50k/60s    50,000 targets at 60 s (833 probes/s)
  upmond slow site  10,000 targets at 10 s, each answer 100 ms late
  wrk               the floor: fresh connection per request, nothing else
  monit             1,000 `check host` entries, one at a time
Figures are per completed probe (request), CPU of the prober process only.
"""
import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


# --libcurl DIR: the directory upmond (only upmond) loads libcurl.so.4 from.
LIBCURL = None


def upmond_env():
    """The environment upmond runs with: this one, with LD_LIBRARY_PATH set
    to --libcurl's directory when given."""
    if not LIBCURL:
        return None
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = LIBCURL
    return env


def cpu_of(ru):
    return ru.ru_utime + ru.ru_stime


class Site:
    """nginx (one worker) if installed, else the fixture server. With page,
    nginx answers every path with its own default page (615 bytes on
    Debian), the page the per-probe counts are taken on."""

    def __init__(self, tmp, page=None, cpu=None):
        self.tmp = tmp
        self.port = free_port()
        nginx = shutil.which("nginx") or (os.path.exists("/usr/sbin/nginx") and "/usr/sbin/nginx")
        if nginx:
            self.kind = "nginx"
            conf = os.path.join(tmp, "nginx.conf")
            with open(conf, "w") as f:
                f.write("""\
worker_processes 1;
worker_rlimit_nofile 65536;
daemon off;
pid %(t)s/nginx.pid;
error_log %(t)s/nginx.err;
events { worker_connections 60000; multi_accept on; }
http {
  access_log off;
  client_body_temp_path %(t)s/cb; proxy_temp_path %(t)s/px; fastcgi_temp_path %(t)s/fc;
  uwsgi_temp_path %(t)s/uw; scgi_temp_path %(t)s/sc;
  server {
    listen 127.0.0.1:%(p)d backlog=4096 reuseport;
    location = /nginx_status { stub_status; }
    location / { %(answer)s }
  }
}
""" % {"t": tmp, "p": self.port, "answer": (
                "root %s; try_files /%s =404;" % os.path.split(page) if page
                else 'return 200 "ok\\n";')})
            self.proc = subprocess.Popen([nginx, "-p", tmp, "-c", conf],
                                         stderr=subprocess.DEVNULL, preexec_fn=None if cpu is None
                                         else lambda: os.sched_setaffinity(0, {cpu}))
        else:
            self.kind = "fixture (python)"
            self.proc = subprocess.Popen([sys.executable,
                                          os.path.join(SRC, "tests/fixtures/httpd.py")],
                                         stdout=subprocess.PIPE, text=True)
            self.port = int(self.proc.stdout.readline())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)

    def requests(self):
        """Requests served so far (nginx only)."""
        if self.kind != "nginx":
            return None
        import urllib.request
        body = urllib.request.urlopen("http://127.0.0.1:%d/nginx_status" % self.port).read()
        return int(body.decode().split("\n")[2].split()[2]) - 1

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def watch_list(path, n, interval, url_of, extra="", defaults="", timeout="5s"):
    with open(path, "w") as f:
        f.write("defaults: {interval: %s, timeout: %s%s}\n%stargets:\n" % (interval, timeout,
                                                                        defaults, extra))
        for i in range(n):
            f.write("  - {name: site-%05d, url: '%s'}\n" % (i, url_of(i)))
    return path


def peak_rss_mb(proc, seconds):
    """Waits up to `seconds` (less if the process ends), and returns its peak
    RSS in MB: VmHWM from /proc, read until the end. Not ru_maxrss, which on
    Linux also counts the RSS of this Python process the child was forked
    from."""
    peak = 0.0
    deadline = time.monotonic() + seconds
    while True:
        try:
            with open("/proc/%d/status" % proc.pid) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]) / 1024.0)
        except OSError:
            pass
        left = deadline - time.monotonic()
        # Ended? (Asked without reaping it: the caller's wait4 does that.)
        if left <= 0 or os.waitid(os.P_PID, proc.pid,
                                  os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
            return peak
        time.sleep(min(0.5, left))


def run_upmond(upmond, cfg, state, seconds):
    """Runs the daemon for `seconds`; returns its stats, CPU seconds and peak RSS."""
    proc = subprocess.Popen([upmond, "-q", "--stats", "-c", cfg, "--state-dir", state],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=upmond_env())
    rss = peak_rss_mb(proc, seconds)
    proc.send_signal(signal.SIGTERM)
    _, status, ru = os.wait4(proc.pid, 0)
    out = proc.stdout.read()
    err = proc.stderr.read()
    if status != 0:
        raise RuntimeError("upmond exited %d: %s" % (status, err[-2000:]))
    stats = json.loads(out.strip().splitlines()[-1])
    return stats, cpu_of(ru), rss


def row_upmond(name, stats, cpu, rss, seconds):
    done = stats["completed"]
    return {
        "name": name,
        "probes/s": done / seconds,
        "cpu_us": cpu * 1e6 / done if done else float("nan"),
        "rss_mb": rss,
        "p50": stats["lateness_p50_ms"],
        "p99": stats["lateness_p99_ms"],
        "max": stats["lateness_max_ms"],
        "missed": stats["skipped"] + stats["dropped"],
        "late": stats["late"],
    }


def bench_load(upmond, tmp, n=10000):
    cfg = watch_list(os.path.join(tmp, "load.yaml"), n, "10s",
                     lambda i: "http://127.0.0.1:8080/site/%d" % i)
    best = None
    for _ in range(5):
        t0 = time.monotonic()
        p = subprocess.run([upmond, "--check-config", "-c", cfg], capture_output=True,
                           env=upmond_env())
        took = time.monotonic() - t0
        if p.returncode != 0:
            raise RuntimeError(p.stderr.decode())
        best = took if best is None else min(best, took)
    return {"name": "load+validate %dk" % (n // 1000), "ms": best * 1000}


def bench_wrk(site, seconds):
    wrk = shutil.which("wrk")
    if not wrk:
        return None
    before = site.requests()
    proc = subprocess.Popen([wrk, "-t1", "-c8", "-d%ds" % seconds, "-H", "Connection: close",
                             "http://127.0.0.1:%d/wrk" % site.port],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    rss = peak_rss_mb(proc, seconds + 30)
    _, status, ru = os.wait4(proc.pid, 0)
    out = proc.stdout.read()
    m = re.search(r"(\d+) requests in", out)
    n = int(m.group(1)) if m else 0
    if before is not None:
        n = site.requests() - before - 1
    return {"name": "wrk -H 'Connection: close'", "probes/s": n / seconds,
            "cpu_us": cpu_of(ru) * 1e6 / n if n else float("nan"), "rss_mb": rss}


def monitrc(tmp, name, site, n, every):
    """A Monit control file of n `check host` entries on site, one run
    every `every` seconds, with its files in tmp under name."""
    rc = os.path.join(tmp, name)
    with open(rc, "w") as f:
        f.write("set daemon %d\nset logfile %s/%s.log\nset idfile %s/%s.id\n"
                "set statefile %s/%s.state\n" % (every, tmp, name, tmp, name, tmp, name))
        for i in range(n):
            f.write('check host site-%d with address 127.0.0.1\n'
                    '  if failed port %d protocol http request "/monit/%d" then alert\n'
                    % (i, site.port, i))
    os.chmod(rc, 0o600)
    return rc


def bench_monit(site, tmp, seconds, n=1000):
    monit = shutil.which("monit") or (os.path.exists("/usr/bin/monit") and "/usr/bin/monit")
    if not monit or site.kind != "nginx":
        return None
    rc = monitrc(tmp, "monit", site, n, 5)
    before = site.requests()
    proc = subprocess.Popen([monit, "-I", "-c", rc], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    rss = peak_rss_mb(proc, seconds)
    proc.send_signal(signal.SIGTERM)
    _, status, ru = os.wait4(proc.pid, 0)
    done = site.requests() - before - 1
    return {"name": "monit %d check host" % n, "probes/s": done / seconds,
            "cpu_us": cpu_of(ru) * 1e6 / done if done else float("nan"), "rss_mb": rss}


def hostname_on_loopback():
    """A name /etc/hosts maps to 127.0.0.1 (not "localhost", which curl
    answers itself), so the resolver is really used."""
    for name in (socket.gethostname(), "localhost.localdomain"):
        try:
            if name and name != "localhost" and socket.gethostbyname(name) == "127.0.0.1":
                return name
        except OSError:
            pass
    return None


def compare_reads(upmond, site, tmp, seconds, rounds):
    """CPU per probe of full reads and of headers only, run alternately so
    that the machine's drift falls on both alike; prints each run and the
    medians."""
    cpu = {"full reads": [], "headers only": []}
    for rnd in range(rounds):
        for kind, defaults in (("full reads", ""), ("headers only", ", read_body: false")):
            cfg = watch_list(os.path.join(tmp, "reads.yaml"), 10000, "10s",
                             lambda i: "http://127.0.0.1:%d/site/%d" % (site.port, i),
                             defaults=defaults)
            r = row_upmond(kind, *run_upmond(upmond, cfg, os.path.join(tmp, "r%d-%s" % (rnd, kind[0])),
                                             seconds), seconds)
            cpu[kind].append(r["cpu_us"])
            print("%-13s %6.1f us/probe, %d missed" % (kind, r["cpu_us"], r["missed"]),
                  flush=True)
    med = {k: sorted(v)[len(v) // 2] for k, v in cpu.items()}
    for k, v in cpu.items():
        print("%-13s median %.1f us/probe of %s" % (k, med[k], ", ".join("%.1f" % x for x in v)))
    print("full reads / headers only: %.2fx" % (med["full reads"] / med["headers only"]))


def compare_history(upmond, site, tmp, seconds, rounds):
    """CPU per probe with history on and off, run alternately (as
    compare_reads does); prints each run and the medians."""
    kinds = (("history on", ""), ("history off", "history: {enabled: false}\n"))
    cpu = {k: [] for k, _ in kinds}
    for rnd in range(rounds):
        for kind, extra in kinds:
            cfg = watch_list(os.path.join(tmp, "hist.yaml"), 10000, "10s",
                             lambda i: "http://127.0.0.1:%d/site/%d" % (site.port, i), extra)
            r = row_upmond(kind, *run_upmond(upmond, cfg, os.path.join(
                tmp, "h%d-%s" % (rnd, kind.split()[1])), seconds), seconds)
            cpu[kind].append(r["cpu_us"])
            print("%-12s %6.1f us/probe, %.1f MB, %d missed" % (kind, r["cpu_us"], r["rss_mb"],
                                                                 r["missed"]), flush=True)
    med = {k: sorted(v)[len(v) // 2] for k, v in cpu.items()}
    for k, v in cpu.items():
        print("%-12s median %.1f us/probe of %s" % (k, med[k], ", ".join("%.1f" % x for x in v)))
    print("history on / off: %.2fx CPU per probe (goal: at most 1.10x)" %
          (med["history on"] / med["history off"]))


def bench_restore(upmond, site, tmp, n=10000, days=90):
    """Time to read the history of n targets with `days` days of it at
    start, as the daemon logs it: a history.db written here in the
    daemon's layout (one row per target and day, per hour for the last 25
    hours, per minute for the last hour), then upmond started on it."""
    import sqlite3
    state = os.path.join(tmp, "restore")
    os.makedirs(state, exist_ok=True)
    cfg = watch_list(os.path.join(tmp, "restore.yaml"), n, "10s",
                     lambda i: "http://127.0.0.1:%d/site/%d" % (site.port, i))
    # The daemon makes the tables; then they are filled.
    proc = subprocess.Popen([upmond, "-c", cfg, "--state-dir", state],
                            stderr=subprocess.PIPE, text=True, env=upmond_env())
    for line in proc.stderr:
        if "started" in line:
            break
    proc.send_signal(signal.SIGTERM)
    proc.communicate()
    now = int(time.time() * 1000)
    hour, day, minute = 3600000, 86400000, 60000
    cur_h, today = now - now % hour, now - now % day
    db = sqlite3.connect(os.path.join(state, "history.db"))
    cols = [r[1] for r in db.execute("PRAGMA table_info(minutes)")]
    row = lambda start, t: [start, t, 360, 1, 360 * 20000, 90000] + [360] + [0] * 9 + ["up"]
    assert len(row(0, 0)) == len(cols), cols
    ph = "(%s)" % ", ".join("?" * len(cols))
    db.execute("DELETE FROM minutes")
    db.execute("DELETE FROM hours")
    db.execute("DELETE FROM days")
    db.executemany("INSERT OR IGNORE INTO targets (name) VALUES (?)",
                   (("site-%05d" % i,) for i in range(n)))
    ids = [r[0] for r in db.execute("SELECT id FROM targets ORDER BY id")]
    db.executemany("INSERT INTO days VALUES " + ph,
                   (row(today - d * day, t) for d in range(1, days) for t in ids))
    db.executemany("INSERT INTO hours VALUES " + ph,
                   (row(cur_h - k * hour, t) for k in range(1, 25) for t in ids))
    db.executemany("INSERT INTO minutes VALUES " + ph,
                   (row(cur_h + k * minute, t) for k in range(0, (now - cur_h) // minute)
                    for t in ids))
    db.execute("UPDATE meta SET value = ? WHERE key = 'hours_through'", (cur_h,))
    db.execute("UPDATE meta SET value = ? WHERE key = 'days_through'", (today,))
    db.commit()
    db.close()
    proc = subprocess.Popen([upmond, "-c", cfg, "--state-dir", state],
                            stderr=subprocess.PIPE, text=True, env=upmond_env())
    # Its log read as it comes (a full pipe would stall the daemon).
    import queue
    import threading
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l) for l in proc.stderr], daemon=True).start()

    def history_read(seconds=60):
        """ms of the next "history of N targets read" line, or None."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                m = re.search(r"history of (\d+) targets read in (\d+) ms", lines.get(timeout=1))
            except queue.Empty:
                continue
            if m:
                return float(m.group(2))
        return None

    took = history_read()
    # Memory with the history held: after the start and a sweep under way.
    rss = peak_rss_mb(proc, 5)
    # A reload that takes 100 targets out, then one that brings them back
    # with 33 new ones: what reading their history holds the loop for.
    kept = lambda i: "http://127.0.0.1:%d/site/%d" % (site.port, i)
    watch_list(cfg, n - 100, "10s", kept)
    proc.send_signal(signal.SIGHUP)
    time.sleep(3)
    with open(cfg, "a") as f:
        for i in range(n - 100, n):
            f.write("  - {name: site-%05d, url: '%s'}\n" % (i, kept(i)))
        for i in range(33):
            f.write("  - {name: new-%02d, url: '%s'}\n" % (i, kept(i)))
    proc.send_signal(signal.SIGHUP)
    reload_ms = history_read()
    proc.send_signal(signal.SIGTERM)
    proc.wait()
    size = os.path.getsize(os.path.join(state, "history.db")) / 1e6
    return {"name": "restore %dk/%dd" % (n // 1000, days), "ms": took, "db_mb": size,
            "rss_mb": rss, "reload_ms": reload_ms}



def scrape_loop(port, stop, times):
    """Fetches /metrics and / in turn until stop is set, as fast as the
    daemon answers; records (path, seconds, bytes) per fetch."""
    import http.client
    while not stop.is_set():
        for path in ("/metrics", "/"):
            t0 = time.monotonic()
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                c.request("GET", path)
                body = c.getresponse().read()
                c.close()
            except (OSError, http.client.HTTPException):
                continue  # the daemon stopping mid-answer, at the end of the run
            times.append((path, time.monotonic() - t0, len(body)))


def bench_scraped(upmond, site, tmp, seconds, n=10000):
    """The 10k/10s row while a client fetches /metrics and / in a loop:
    the schedule's lateness with the HTTP server busy, and what one
    answer of each costs (client-side time, render and transfer, on
    loopback)."""
    import threading
    port = free_port()
    cfg = watch_list(os.path.join(tmp, "scraped.yaml"), n, "10s",
                     lambda i: "http://127.0.0.1:%d/site/%d" % (site.port, i),
                     "http: {listen: ['127.0.0.1:%d']}\n" % port)
    stop, times = threading.Event(), []
    # Scrape from the second half of the run's first 10 s on: every target
    # has been probed once, so /metrics holds every series.
    def later():
        if not stop.wait(10):
            scrape_loop(port, stop, times)
    th = threading.Thread(target=later, daemon=True)
    th.start()
    try:
        s = run_upmond(upmond, cfg, os.path.join(tmp, "s5"), seconds)
    finally:
        stop.set()
        th.join()
    row = row_upmond("upmond 10k/10s, scraped", *s, seconds)
    fetch = {}
    for path in ("/metrics", "/"):
        got = sorted(t for p, t, _ in times if p == path)
        sizes = [b for p, _, b in times if p == path]
        fetch[path] = (len(got), got[len(got) // 2] * 1000 if got else float("nan"),
                       max(sizes) / 1e6 if sizes else float("nan"))
    return row, fetch


PAGE = "/var/www/html/index.nginx-debian.html"


def wait_for(proc, pred, seconds):
    """Polls pred() until true, the process ends or seconds pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        if pred():
            return True
        time.sleep(0.1)
    return False


def strace_counts(pid, site, seconds):
    """Attaches `strace -c -f` to a running prober for `seconds`, away from
    its start and its end, and returns ({call: (count, errors)}, requests
    nginx served meanwhile)."""
    out = os.path.join(site.tmp, "strace-%d.txt" % pid)
    before = site.requests()
    st = subprocess.Popen(["strace", "-c", "-f", "-o", out, "-p", str(pid)],
                          stderr=subprocess.DEVNULL)
    time.sleep(seconds)
    st.send_signal(signal.SIGINT)  # detaches and writes the summary
    st.wait()
    served = site.requests() - before - 1
    calls = {}
    with open(out) as f:
        for line in f:
            parts = line.split()
            # % time, seconds, usecs/call, calls, [errors,] syscall
            if len(parts) in (5, 6) and parts[3].isdigit() and parts[-1] != "total":
                calls[parts[-1]] = (int(parts[3]), int(parts[4]) if len(parts) == 6 else 0)
    return calls, served


def strace_after_sweep(argv, site, seconds, n, env=None):
    """Runs a prober of n checks, and counts its calls once every check has
    run twice (the first sweep is over)."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env)
    try:
        start = site.requests()
        wait_for(proc, lambda: site.requests() - start > 2 * n, 30)
        return strace_counts(proc.pid, site, seconds)
    finally:
        proc.terminate()
        proc.wait()


def syscall_upmond(upmond, site, tmp, seconds, n):
    cfg = watch_list(os.path.join(tmp, "sc.yaml"), n, "1s",
                     lambda i: "http://127.0.0.1:%d/site/%d" % (site.port, i),
                     timeout="900ms")
    return strace_after_sweep([upmond, "-q", "-c", cfg, "--state-dir",
                               os.path.join(tmp, "sc")], site, seconds, n,
                              upmond_env())


def syscall_monit(monit, site, tmp, seconds, n):
    rc = monitrc(tmp, "monit-sc", site, n, 1)
    return strace_after_sweep([monit, "-I", "-c", rc], site, seconds, n)


def syscall_wrk(wrk, site, seconds):
    proc = subprocess.Popen([wrk, "-t1", "-c8", "-d%ds" % (seconds + 10), "-H",
                             "Connection: close", "http://127.0.0.1:%d/wrk" % site.port],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(2)
        return strace_counts(proc.pid, site, seconds)
    finally:
        proc.terminate()
        proc.wait()


def syscall_table(upmond, site, tmp, seconds, n):
    """System calls per probe by kind, as `strace -c -f` counts them, for
    upmond (n targets at 1 s, full reads, history on), Monit (n `check
    host`, one at a time) and wrk with Connection: close, on the same page;
    divided by the requests nginx served while strace was attached.
    strace slows each prober down, so fewer answers arrive per epoll_wait
    than unobserved: the epoll_wait row is an upper bound; the rest is
    fixed per probe."""
    if not shutil.which("strace") or site.kind != "nginx":
        sys.exit("bench: --syscalls needs strace and nginx")
    runs = [("upmond", lambda: syscall_upmond(upmond, site, tmp, seconds, n))]
    monit, wrk = shutil.which("monit"), shutil.which("wrk")
    if monit:
        runs.append(("monit", lambda: syscall_monit(monit, site, tmp, seconds, n)))
    if wrk:
        runs.append(("wrk", lambda: syscall_wrk(wrk, site, seconds)))
    cols = []
    for name, run in runs:
        calls, served = run()
        cols.append((name, calls, served))
        print("%s: %d requests served while traced" % (name, served), flush=True)
    kinds = sorted({k for _, c, _ in cols for k in c},
                   key=lambda k: -max(c.get(k, (0, 0))[0] / max(s, 1) for _, c, s in cols))
    print()
    print("%-22s" % "calls per probe" + "".join("%12s" % name for name, _, _ in cols))
    for k in kinds:
        cells = []
        for _, c, s in cols:
            count, errors = c.get(k, (0, 0))
            per = count / s if s else float("nan")
            cells.append("%12s" % ("-" if count == 0 else
                                   "%.2f" % per + ("(%.2f!)" % (errors / s) if errors else "")))
        if any(c.strip() != "-" and float(c.split("(")[0]) >= 0.01 for c in cells):
            print("%-22s" % k + "".join(cells))
    print("%-22s" % "total" + "".join(
        "%12.2f" % (sum(v[0] for v in c.values()) / s if s else float("nan"))
        for _, c, s in cols))
    print("(N!) = of which failed; rows under 0.01 per probe left out")


def instructions_upmond(upmond, site, tmp, seconds, n):
    """Instructions upmond executes per probe, as callgrind counts them
    (deterministic, unlike CPU time on a busy machine): n targets at 1 s,
    counted from after the first sweep for `seconds`, divided by the
    requests nginx served meanwhile."""
    if not shutil.which("valgrind") or site.kind != "nginx":
        sys.exit("bench: --instructions needs valgrind and nginx")
    cfg = watch_list(os.path.join(tmp, "ir.yaml"), n, "1s",
                     lambda i: "http://127.0.0.1:%d/site/%d" % (site.port, i),
                     timeout="900ms")
    out = os.path.join(tmp, "callgrind.out")
    proc = subprocess.Popen(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                             upmond, "-q", "-c", cfg, "--state-dir", os.path.join(tmp, "ir")],
                            stderr=subprocess.DEVNULL, env=upmond_env())
    try:
        start = site.requests()
        wait_for(proc, lambda: site.requests() - start > 2 * n, 120)
        subprocess.run(["callgrind_control", "-z", str(proc.pid)], capture_output=True)
        before = site.requests()
        time.sleep(seconds)
        subprocess.run(["callgrind_control", "-d", str(proc.pid)], capture_output=True)
        served = site.requests() - before - 1
    finally:
        proc.terminate()
        proc.wait()
    ir, dump = 0, None
    for f in os.listdir(tmp):  # the dump asked for: totals since the counters were zeroed
        if f.startswith("callgrind.out."):
            with open(os.path.join(tmp, f)) as fh:
                for line in fh:
                    if line.startswith("totals:") or line.startswith("summary:"):
                        if int(line.split()[1]) > ir:
                            ir, dump = int(line.split()[1]), os.path.join(tmp, f)
    if dump and shutil.which("callgrind_annotate"):
        # Where they go: the functions that cost most, callees included.
        p = subprocess.run(["callgrind_annotate", "--auto=no", "--inclusive=yes",
                            "--threshold=100", dump], capture_output=True, text=True)
        print("\n".join([l for l in p.stdout.splitlines() if re.match(r"\s*[\d,]+ \(", l)][:40]))
    print("upmond, %d targets at 1 s under callgrind: %d probes in %d s, %.0f instructions "
          "per probe" % (n, served, seconds, ir / served if served else float("nan")))


def fmt(v, spec):
    if v is None or (isinstance(v, float) and v != v):
        return "-"
    return format(v, spec)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(SRC, "build"))
    ap.add_argument("--duration", type=int, default=40, help="seconds per upmond run")
    ap.add_argument("--quick", action="store_true", help="15 s runs, for a smoke test")
    ap.add_argument("--reads", type=int, metavar="ROUNDS",
                    help="only compare full reads with headers only, alternating, ROUNDS times")
    ap.add_argument("--scraped", action="store_true",
                    help="only the 10k/10s row with /metrics and / fetched in a loop")
    ap.add_argument("--history", type=int, metavar="ROUNDS",
                    help="only compare history on with history off, alternating, ROUNDS times")
    ap.add_argument("--syscalls", type=int, metavar="N",
                    help="only system calls per probe by kind, under strace: upmond with N "
                    "targets at 1 s, Monit with N check host, wrk; nginx's default page")
    ap.add_argument("--instructions", type=int, metavar="N",
                    help="only instructions per probe of upmond with N targets at 1 s, under "
                    "callgrind; nginx's default page")
    ap.add_argument("--libcurl", metavar="DIR",
                    help="run upmond (only upmond) with the libcurl.so.4 in DIR "
                    "(LD_LIBRARY_PATH), e.g. one tests/bench/build-curl.sh built")
    ap.add_argument("--fair", type=int, metavar="ROUNDS",
                    help="only the fair row: upmond (1k at 1 s, 10k at 10 s), Monit of the "
                    "same sizes and wrk on nginx's default page, each prober on CPU 0 and "
                    "nginx on the last CPU, ROUNDS times alternating")
    args = ap.parse_args()
    seconds = 15 if args.quick else args.duration
    upmond = os.path.join(args.build, "daemon", "upmond")
    slowsite = os.path.join(args.build, "tests", "slowsite")
    if not os.access(upmond, os.X_OK):
        sys.exit("bench: build upmond first (%s)" % upmond)
    if args.libcurl:
        global LIBCURL
        LIBCURL = os.path.abspath(args.libcurl)
        if not os.path.exists(os.path.join(LIBCURL, "libcurl.so.4")):
            sys.exit("bench: no libcurl.so.4 in %s" % LIBCURL)
    # upmond --version names the libcurl it loaded (curl_version() at run time).
    ver = subprocess.run([upmond, "--version"], capture_output=True, text=True,
                         env=upmond_env()).stdout.splitlines()
    print("upmond runs: %s" % (ver[1] if len(ver) > 1 else "?"), flush=True)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    tmp = tempfile.mkdtemp(prefix="upmon-bench-")
    fair_cpus = args.fair and os.cpu_count() > 1
    site = Site(tmp, PAGE if args.syscalls or args.instructions or args.fair else None,
                cpu=os.cpu_count() - 1 if fair_cpus else None)
    print("site: %s on 127.0.0.1:%d; %d s per run; %d cores" % (site.kind, site.port, seconds,
                                                                os.cpu_count()), flush=True)
    rows, notes = [], []
    # A mode that measures one thing: its figures, then the site is gone.
    only = None
    if args.scraped:
        def only():
            row, fetch = bench_scraped(upmond, site, tmp, seconds)
            print(row)
            for path, (count, ms, mb) in fetch.items():
                print("GET %-8s: %s ms median over %d fetches, %.1f MB" %
                      (path, fmt(ms, ".1f"), count, mb))
    elif args.fair:
        def only():
            import fair
            if not fair_cpus:
                print("note: one CPU: prober and nginx share it", flush=True)
            fair.fair_table(upmond, site, tmp, seconds, args.fair, 0, upmond_env())
    elif args.syscalls:
        def only():
            syscall_table(upmond, site, tmp, seconds, args.syscalls)
    elif args.instructions:
        def only():
            instructions_upmond(upmond, site, tmp, seconds, args.instructions)
    elif args.reads:
        def only():
            compare_reads(upmond, site, tmp, seconds, args.reads)
    elif args.history:
        def only():
            compare_history(upmond, site, tmp, seconds, args.history)
    if only:
        try:
            only()
        finally:
            site.stop()
            shutil.rmtree(tmp, ignore_errors=True)
        return
    try:
        load = bench_load(upmond, tmp)
        print("%s: %.0f ms" % (load["name"], load["ms"]), flush=True)

        cfg = watch_list(os.path.join(tmp, "10k.yaml"), 10000, "10s",
                         lambda i: "http://127.0.0.1:%d/site/%d" % (site.port, i))
        s = run_upmond(upmond, cfg, os.path.join(tmp, "s1"), seconds)
        rows.append(row_upmond("upmond 10k/10s", *s, seconds))
        print(rows[-1], flush=True)

        # The same, judged at the headers (read_body: false): what reading
        # every answer to its end costs.
        cfg = watch_list(os.path.join(tmp, "10k-headers.yaml"), 10000, "10s",
                         lambda i: "http://127.0.0.1:%d/site/%d" % (site.port, i),
                         defaults=", read_body: false")
        s = run_upmond(upmond, cfg, os.path.join(tmp, "s1h"), seconds)
        rows.append(row_upmond("upmond 10k/10s, headers only", *s, seconds))
        print(rows[-1], flush=True)

        # The same without history: what keeping it costs.
        cfg = watch_list(os.path.join(tmp, "10k-nohist.yaml"), 10000, "10s",
                         lambda i: "http://127.0.0.1:%d/site/%d" % (site.port, i),
                         "history: {enabled: false}\n")
        s = run_upmond(upmond, cfg, os.path.join(tmp, "s1n"), seconds)
        rows.append(row_upmond("upmond 10k/10s, history off", *s, seconds))
        print(rows[-1], flush=True)
        scraped, fetch = bench_scraped(upmond, site, tmp, seconds)
        rows.append(scraped)
        print(rows[-1], fetch, flush=True)
        restore = bench_restore(upmond, site, tmp)
        print("%s: %s ms, history.db %.0f MB, %.1f MB RSS; reload re-adding 100 and 33 new: %s ms"
              % (restore["name"], fmt(restore["ms"], ".0f"), restore["db_mb"],
                 restore["rss_mb"], fmt(restore["reload_ms"], ".0f")), flush=True)

        name = hostname_on_loopback()
        if name:
            cfg = watch_list(os.path.join(tmp, "names.yaml"), 10000, "10s",
                             lambda i: "http://%s:%d/site/%d" % (name, site.port, i))
            s = run_upmond(upmond, cfg, os.path.join(tmp, "s2"), seconds)
            rows.append(row_upmond("upmond 10k/10s by name", *s, seconds))
            print(rows[-1], flush=True)
        else:
            notes.append("no host name maps to 127.0.0.1 in /etc/hosts: name row skipped")

        w = bench_wrk(site, min(seconds, 15))
        if w:
            rows.append(w)
            print(w, flush=True)
        else:
            notes.append("wrk is not installed: no floor row")
        m = bench_monit(site, tmp, seconds)
        if m:
            rows.append(m)
            print(m, flush=True)
        else:
            notes.append("monit (or nginx) is not installed: no Monit row")

        cfg = watch_list(os.path.join(tmp, "50k.yaml"), 50000, "60s",
                         lambda i: "http://127.0.0.1:%d/site/%d" % (site.port, i))
        big = max(seconds, 60) if not args.quick else seconds
        s = run_upmond(upmond, cfg, os.path.join(tmp, "s3"), big)
        rows.append(row_upmond("upmond 50k/60s", *s, big))
        print(rows[-1], flush=True)

        if os.access(slowsite, os.X_OK):
            sp = subprocess.Popen([slowsite, "100"], stdout=subprocess.PIPE, text=True)
            port = int(sp.stdout.readline())
            cfg = watch_list(os.path.join(tmp, "slow.yaml"), 10000, "10s",
                             lambda i: "http://127.0.0.1:%d/site/%d" % (port, i),
                             "engine: {max_concurrent: 2000}\n")
            s = run_upmond(upmond, cfg, os.path.join(tmp, "s4"), seconds)
            sp.terminate()
            sp.wait()
            rows.append(row_upmond("upmond 10k/10s, 100 ms site", *s, seconds))
            print(rows[-1], flush=True)
        else:
            notes.append("slowsite is not built: no latency row")
    finally:
        site.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    print()
    print("%-30s %9s %10s %8s %9s %9s %9s %7s" % ("prober", "probes/s", "CPU us/pr", "RSS MB",
                                                  "late p50", "late p99", "late max", "missed"))
    for r in rows:
        print("%-30s %9s %10s %8s %9s %9s %9s %7s" % (
            r["name"], fmt(r.get("probes/s"), ".0f"), fmt(r.get("cpu_us"), ".1f"),
            fmt(r.get("rss_mb"), ".1f"), fmt(r.get("p50"), ".1f"), fmt(r.get("p99"), ".1f"),
            fmt(r.get("max"), ".1f"), fmt(r.get("missed"), "d")))
    print("%-30s %.0f ms (goal: at most 200 ms)" % (load["name"], load["ms"]))
    base = next(r for r in rows if r["name"] == "upmond 10k/10s")
    heads = next(r for r in rows if r["name"] == "upmond 10k/10s, headers only")
    print("full reads / headers only: %.2fx CPU per probe" % (base["cpu_us"] / heads["cpu_us"]))
    nohist = next(r for r in rows if r["name"] == "upmond 10k/10s, history off")
    print("history on / off: %.2fx CPU per probe (goal: at most 1.10x); RSS %.1f MB / %.1f MB" %
          (base["cpu_us"] / nohist["cpu_us"], base["rss_mb"], nohist["rss_mb"]))
    for path, (count, ms, mb) in fetch.items():
        print("GET %-8s for 10k targets: %s ms median over %d fetches, %.1f MB" %
              (path, fmt(ms, ".1f"), count, mb))
    print("lateness p99, 10k/10s scraped in a loop: %.1f ms (goal: at most 10 ms)" %
          scraped["p99"])
    print("%s: %s ms to read at start (history.db %.0f MB); peak RSS with it %.1f MB" % (
        restore["name"], fmt(restore["ms"], ".0f"), restore["db_mb"], restore["rss_mb"]))
    print("reload re-adding 100 of them and 33 new: their history read in %s ms on the loop" %
          fmt(restore["reload_ms"], ".0f"))
    floor = next((r for r in rows if r["name"].startswith("wrk")), None)
    monit = next((r for r in rows if r["name"].startswith("monit")), None)
    print()
    if floor:
        print("upmond / wrk floor:  %.2fx CPU per probe (goal: at most 1.5x)" %
              (base["cpu_us"] / floor["cpu_us"]))
    if monit:
        print("upmond / Monit:      %.2fx CPU per probe (goal: at most 1x)" %
              (base["cpu_us"] / monit["cpu_us"]))
    print("peak RSS, 10k targets: %.1f MB (goal: at most 32 MB)" % base["rss_mb"])
    print("lateness p99, 10k/10s: %.1f ms (goal: at most 10 ms); missed: %d (goal: 0)" %
          (base["p99"], base["missed"]))
    for n in notes:
        print("note: " + n)


if __name__ == "__main__":
    main()
