#!/usr/bin/env python3
"""The shipped Prometheus rules and Grafana dashboard, against the daemon.

  check_prometheus.py rules SRC      promtool check rules, promtool test
                                     rules, and the metric names they use
  check_prometheus.py dashboard SRC  the dashboard is JSON Grafana can
                                     load, and its queries use only metric
                                     names upmond exports (and parse, when
                                     promtool is there)

The names upmond exports are those of the METRICS section of upmond(8),
which tests/unit/test_metrics.c holds to the exposition both ways; a
histogram's series are its _bucket, _sum and _count. Exits 77 when a part
that needs promtool cannot run."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
# Prometheus's own series about a scrape.
SCRAPE_NAMES = {"up"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
            "unless", "bool", "offset", "inf", "nan",
            # aggregation operators, which "by (...)" may separate from their "("
            "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
            "bottomk", "topk", "quantile", "limitk", "limit_ratio"}


def exported(src):
    """Every series name upmond exports, from upmond(8), METRICS."""
    names, name, section = set(), None, False
    lines = open(os.path.join(src, "man", "upmond.8"), encoding="utf-8").read().splitlines()
    for i, line in enumerate(lines):
        if line.startswith(".SH "):
            section = line == ".SH METRICS"
            continue
        if section and line.startswith(".B ") and i > 0 and lines[i - 1] == ".TP":
            name = line[3:].strip()
            names.add(name)
        elif section and name and line.startswith("Histogram"):
            names |= {name + "_bucket", name + "_sum", name + "_count"}
    assert len(names) > 20, "upmond(8) METRICS lists too few metrics: %s" % sorted(names)
    return names


def metric_names(expr):
    """The metric names a PromQL expression reads."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings: label values, formats
    e = re.sub(r"\{[^}]*\}", "", e)  # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)  # ranges
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1", e)
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        word = m.group(0)
        rest = e[m.end():].lstrip()
        if word in KEYWORDS or rest.startswith("("):
            continue  # a keyword, or a function
        if re.fullmatch(r"\d+[smhdwy]", word) or (m.start() and e[m.start() - 1].isdigit()):
            continue
        names.add(word)
    return names


def check_names(what, exprs, known):
    bad = []
    for expr in exprs:
        names = metric_names(expr)
        if not names:
            bad.append("%s: reads no metric: %s" % (what, expr))
        for n in sorted(names - known - SCRAPE_NAMES):
            bad.append("%s: %s is not a metric upmond exports (in %s)" % (what, n, expr))
    return bad


def promtool():
    return shutil.which("promtool")


def run(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("%s failed:\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
    print(r.stdout.strip())


def rules(src):
    path = os.path.join(src, "etc", "prometheus", "upmon.rules.yml")
    text = open(path, encoding="utf-8").read()
    # The expressions, without a YAML parser: each "expr:" is one line or a
    # block (|) indented under it.
    exprs, lines = [], text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)expr:\s*(.*)$", line)
        if not m:
            continue
        if m.group(2) not in ("|", ">", "|-", ">-"):
            exprs.append(m.group(2))
            continue
        block, indent = [], len(m.group(1))
        for nxt in lines[i + 1:]:
            if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= indent:
                break
            block.append(nxt)
        exprs.append("\n".join(block))
    assert len(exprs) >= 5, exprs
    bad = check_names("rules", exprs, exported(src))
    if bad:
        sys.exit("\n".join(bad))
    print("rules: %d expressions use only metrics upmond exports" % len(exprs))
    if not promtool():
        print("promtool not found (apt-get install prometheus): skipping its checks")
        return SKIP
    run(promtool(), "check", "rules", path)
    run(promtool(), "test", "rules",
        os.path.join(src, "tests", "prometheus", "upmon.rules.test.yml"))
    return 0


def panels_of(dash):
    for p in dash.get("panels", []):
        yield p
        yield from p.get("panels", [])


def dashboard(src):
    path = os.path.join(src, "etc", "grafana", "upmon.json")
    with open(path, encoding="utf-8") as f:
        dash = json.load(f)
    for key in ("title", "uid", "panels", "templating", "schemaVersion"):
        assert key in dash, "the dashboard has no %s" % key
    ids, exprs = set(), []
    for p in panels_of(dash):
        assert p["id"] not in ids, "panel id %s twice" % p["id"]
        ids.add(p["id"])
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24 and g["h"] > 0, p["title"]
        if p["type"] == "row":
            continue
        assert p.get("targets"), "panel %s has no query" % p["title"]
        for t in p["targets"]:
            exprs.append(t["expr"])
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    for v in variables.values():
        if v["type"] == "query":
            exprs.append(re.sub(r"^label_values\((.*),\s*\w+\)$", r"\1", v["query"]["query"]))
    bad = check_names("dashboard", exprs, exported(src))
    # Every variable a query names is defined (or Grafana's own).
    for e in exprs:
        for var in re.findall(r"\$(\w+)", e):
            if not var.startswith("__") and var not in variables:
                bad.append("dashboard: $%s is not a variable (in %s)" % (var, e))
    if bad:
        sys.exit("\n".join(bad))
    print("dashboard: %d panels, %d queries, only metrics upmond exports" % (len(ids), len(exprs)))
    if not promtool():
        print("promtool not found (apt-get install prometheus): PromQL not parsed")
        return SKIP
    # promtool parses PromQL in a rule file: each query as a recording
    # rule, Grafana's variables as what they stand for.
    with tempfile.TemporaryDirectory() as tmp:
        rules_path = os.path.join(tmp, "dashboard.rules.yml")
        with open(rules_path, "w", encoding="utf-8") as f:
            f.write("groups:\n  - name: dashboard\n    rules:\n")
            for i, e in enumerate(exprs):
                e = e.replace("$__rate_interval", "5m").replace("$__interval", "1m")
                e = re.sub(r"\$\{?(\w+)\}?", ".*", e)
                f.write("      - record: dashboard:query%d\n        expr: %s\n" % (i, json.dumps(e)))
        run(promtool(), "check", "rules", rules_path)
    return 0


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("rules", "dashboard"):
        sys.exit(__doc__)
    src = os.path.abspath(sys.argv[2])
    sys.exit(rules(src) if sys.argv[1] == "rules" else dashboard(src))


if __name__ == "__main__":
    main()
