"""The fair row: upmond, Monit and wrk side by side on one page.

nginx serves its default page for every path, pinned to the last CPU;
each prober runs pinned to CPU 0, one at a time: upmond with full reads and
history on (the defaults), Monit with one `check host ... protocol http`
per target, and wrk with a fresh connection per request (the floor).
Each is measured over a window after its first sweep, so start-up (loading
10,000 targets) is not in the figures: CPU from /proc/PID/stat, probes
from nginx's stub_status over the same window.

The calibration column divides each CPU figure by the CPU time of a fixed
piece of work (SHA-256 of 1 MiB) on the prober's CPU, measured in the
same run: figures from machines of different speed compare in it.
"""
import hashlib
import os
import resource
import shutil
import signal
import subprocess
import time

import bench

TICK = os.sysconf("SC_CLK_TCK")


def pin(cpu):
    """A preexec_fn that pins the child (and all it starts) to one CPU."""
    return lambda: os.sched_setaffinity(0, {cpu})


def cpu_seconds(pid):
    """User and system CPU of a process and all its threads so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def vmhwm_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def calibrate(cpu, rounds=200):
    """CPU microseconds of SHA-256 over 1 MiB on `cpu` (best of 3 runs of
    `rounds`), measured in this process, pinned there meanwhile."""
    old = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    data = b"\0" * (1 << 20)
    best = None
    try:
        for _ in range(3):
            r0 = resource.getrusage(resource.RUSAGE_SELF)
            for _ in range(rounds):
                hashlib.sha256(data).digest()
            r1 = resource.getrusage(resource.RUSAGE_SELF)
            us = (bench.cpu_of(r1) - bench.cpu_of(r0)) * 1e6 / rounds
            best = us if best is None else min(best, us)
    finally:
        os.sched_setaffinity(0, old)
    return best


def measure(proc, site, warm, seconds):
    """Waits until warm() says the first sweep is over, then measures the
    prober's CPU and the requests nginx served over `seconds`."""
    deadline = time.monotonic() + 120
    while not warm() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    if proc.poll() is not None:
        raise RuntimeError("the prober ended before it was measured")
    c0, r0 = cpu_seconds(proc.pid), site.requests()
    time.sleep(seconds)
    c1, r1 = cpu_seconds(proc.pid), site.requests()
    rss = vmhwm_mb(proc.pid)
    served = r1 - r0 - 1  # the stub_status request itself
    return {"probes/s": served / seconds, "cpu_us": (c1 - c0) * 1e6 / served if served else
            float("nan"), "rss_mb": rss}


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_swept(argv, site, n, seconds, cpu, env=None):
    """Runs a prober of n targets pinned to cpu and measures it once its
    first sweep is over (the sweep spreads the targets over at most an
    interval); stops it."""
    start = site.requests()
    proc = subprocess.Popen(argv, env=env, preexec_fn=pin(cpu), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        return measure(proc, site, lambda: site.requests() - start > 1.2 * n, seconds)
    finally:
        stop(proc)


def row_upmond(upmond, site, tmp, n, interval_s, seconds, cpu, env):
    cfg = bench.watch_list(os.path.join(tmp, "fair-%d.yaml" % n), n, "%ds" % interval_s,
                           lambda i: "http://127.0.0.1:%d/site/%d" % (site.port, i),
                           timeout="%dms" % (interval_s * 900))
    state = os.path.join(tmp, "fair-%d-%d" % (n, time.monotonic_ns()))
    r = run_swept([upmond, "-q", "-c", cfg, "--state-dir", state], site, n, seconds, cpu, env)
    r["name"] = "upmond %s/%ds" % (kshort(n), interval_s)
    return r


def row_monit(monit, site, tmp, n, interval_s, seconds, cpu):
    rc = bench.monitrc(tmp, "fair-monit-%d" % n, site, n, interval_s)
    r = run_swept([monit, "-I", "-c", rc], site, n, seconds, cpu)
    r["name"] = "monit %s/%ds" % (kshort(n), interval_s)
    return r


def row_wrk(wrk, site, seconds, cpu):
    proc = subprocess.Popen([wrk, "-t1", "-c8", "-d%ds" % (seconds + 30), "-H",
                             "Connection: close", "http://127.0.0.1:%d/wrk" % site.port],
                            preexec_fn=pin(cpu), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    t0 = time.monotonic()
    try:
        r = measure(proc, site, lambda: time.monotonic() - t0 > 2, seconds)
    finally:
        stop(proc)
    r["name"] = "wrk -H 'Connection: close'"
    return r


def kshort(n):
    return "%dk" % (n // 1000) if n % 1000 == 0 else str(n)


def fair_table(upmond, site, tmp, seconds, rounds, prober_cpu, env=None):
    """Runs every row `rounds` times, alternating, and prints each run and
    the medians with the ratios the issue asks for."""
    monit, wrk = shutil.which("monit"), shutil.which("wrk")
    if site.kind != "nginx":
        raise SystemExit("bench: --fair needs nginx (apt-get install nginx-light)")
    calib = calibrate(prober_cpu)
    print("calibration: SHA-256 of 1 MiB takes %.0f us of CPU %d" % (calib, prober_cpu),
          flush=True)
    plan = [("upmond", 1000, 1), ("monit", 1000, 1), ("upmond", 10000, 10),
            ("monit", 10000, 10), ("wrk", 0, 0)]
    runs = {}
    for rnd in range(rounds):
        for kind, n, iv in plan:
            if kind == "monit" and not monit or kind == "wrk" and not wrk:
                continue
            if kind == "upmond":
                r = row_upmond(upmond, site, tmp, n, iv, seconds, prober_cpu, env)
            elif kind == "monit":
                r = row_monit(monit, site, tmp, n, iv, seconds, prober_cpu)
            else:
                r = row_wrk(wrk, site, seconds, prober_cpu)
            runs.setdefault(r["name"], []).append(r)
            print("round %d: %-28s %8.0f probes/s %7.1f us/probe %6.1f MB" % (
                rnd + 1, r["name"], r["probes/s"], r["cpu_us"], r["rss_mb"]), flush=True)
    med = {}
    for name, rs in runs.items():
        m = dict(sorted(rs, key=lambda r: r["cpu_us"])[len(rs) // 2])
        m["all"] = [r["cpu_us"] for r in rs]
        med[name] = m
    floor = next((m for k, m in med.items() if k.startswith("wrk")), None)
    print()
    print("%-28s %9s %10s %9s %8s %8s %8s" % ("prober (median)", "probes/s", "CPU us/pr",
                                              "calib", "x wrk", "x Monit", "RSS MB"))
    for name, m in med.items():
        peer = med.get(name.replace("upmond", "monit")) if name.startswith("upmond") else None
        print("%-28s %9.0f %10.1f %9.3f %8s %8s %8.1f" % (
            name, m["probes/s"], m["cpu_us"], m["cpu_us"] / calib,
            "%.2f" % (m["cpu_us"] / floor["cpu_us"]) if floor else "-",
            "%.2f" % (m["cpu_us"] / peer["cpu_us"]) if peer else "-", m["rss_mb"]))
    print("calib: CPU per probe in units of SHA-256 of 1 MiB on the same CPU")
    print("goals: upmond at most 1x Monit of the same size, at most 1.5x wrk")
    if rounds > 1:
        for name, m in med.items():
            print("%-28s runs: %s us/probe" % (name, ", ".join("%.1f" % x for x in m["all"])))
