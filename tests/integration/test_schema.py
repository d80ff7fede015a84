#!/usr/bin/env python3
"""The configuration schema, seen from outside: upmon.yaml(5) documents
exactly the keys of the tables (and the same defaults), the JSON Schema
that `upmond --print-schema` prints is a valid draft 2020-12 schema that
the shipped examples and every good test configuration pass and a
misspelt key fails, and `--check-config -v` shows the table's defaults
and no secret. Needs PyYAML and jsonschema (Debian: python3-yaml,
python3-jsonschema)."""
import json
import os
import re
import sys

import harness as h

try:
    import jsonschema
    import yaml
except ImportError as e:  # pragma: no cover - depends on the machine
    print("SKIP: %s (install python3-yaml and python3-jsonschema)" % e)
    sys.exit(77)

MAN = os.path.join(h.SRC, "man", "upmon.yaml.5")
ETC = os.path.join(h.SRC, "etc")
UNIT_DATA = os.path.join(h.SRC, "tests", "unit", "data", "config")


def print_schema(kind=None):
    p = h.run(["--print-schema" + ("=" + kind if kind else "")])
    assert p.returncode == 0, (kind, p.returncode, p.stderr)
    return json.loads(p.stdout)


def levels():
    """Level name -> the JSON Schema properties of that level."""
    main = print_schema("config")["properties"]
    alerts = main["alerts"]["properties"]
    window = main["targets"]["items"]["properties"]["maintenance"]["items"]["properties"]
    rule = main["maintenance"]["items"]["properties"]
    return {
        "main": main,
        "watch list": print_schema("watch-list")["properties"],
        "target": main["targets"]["items"]["properties"],
        "alerts": alerts,
        "webhook": alerts["webhooks"]["items"]["properties"],
        "engine": main["engine"]["properties"],
        "http": main["http"]["properties"],
        "history": main["history"]["properties"],
        "instance": main["instance"]["properties"],
        "window": window,
        # The main file's windows: a window's keys, and what selects targets.
        "maintenance selector": {k: v for k, v in rule.items() if k not in window},
    }


# Which part of upmon.yaml(5) documents which level.
SECTIONS = {
    "Watch lists": "watch list",
    "TOP-LEVEL KEYS": "main",
    "TARGET KEYS": "target",
    "ALERTS": "alerts",
    "Webhook keys": "webhook",
    "ENGINE": "engine",
    "HTTP SERVER": "http",
    "HISTORY": "history",
    "INSTANCE": "instance",
    "Window keys": "window",
    "Windows of the main file": "maintenance selector",
}


def man_keys():
    """Level -> {key: default as written, or None}, from every .TP entry
    of the sections above."""
    keys = {}
    section = None
    lines = open(MAN, encoding="utf-8").read().splitlines()
    for i, line in enumerate(lines):
        m = re.match(r'^\.(SH|SS) "?(.*?)"?$', line)
        if m:
            # A subsection of its own, or one inside a section it belongs to.
            if m.group(2) in SECTIONS or m.group(1) == "SH":
                section = SECTIONS.get(m.group(2))
            continue
        if line != ".TP" or section is None or i + 1 >= len(lines):
            continue
        m = re.match(r'^\.BR? (\w+)(.*)$', lines[i + 1])
        if not m:
            continue
        default = re.search(r'default "? *(\S+?) *\)?$', m.group(2))
        if default and default.group(1).startswith("none"):
            default = None  # "default none": nothing is set
        keys.setdefault(section, {})[m.group(1)] = default.group(1) if default else None
    return keys


def ms(text):
    """Milliseconds of a duration as upmon writes them (0, 250ms, 1h30m)."""
    if text in ("0", 0):
        return 0
    units = {"d": 86400000, "h": 3600000, "m": 60000, "s": 1000, "ms": 1}
    parts = re.findall(r"(\d+)(ms|d|h|m|s)", text)
    assert "".join(a + b for a, b in parts) == text, text
    return sum(int(a) * units[b] for a, b in parts)


def same_default(man, prop):
    """Whether a default as upmon.yaml(5) writes it is the table's."""
    want = prop.get("default")
    if want is None:
        return man is None
    if man is None:
        return False
    if isinstance(want, bool):
        return man == ("true" if want else "false")
    if isinstance(want, int):
        return man == str(want)
    if isinstance(want, list):  # events: every one
        return False
    if want.startswith("upmon/"):  # the user agent: upmon/VERSION
        return man == r"upmon/\fIversion\fP"
    if re.fullmatch(r"[0-9hmsd]+", want) and re.fullmatch(r"[0-9hmsd]+", man):
        return ms(man) == ms(want)
    return man == want


def test_man_page_documents_every_key_and_no_other():
    man = man_keys()
    for level, props in levels().items():
        documented = set(man.get(level, {}))
        assert documented == set(props), (
            "%s: in the tables but not in upmon.yaml(5): %s; documented but not in the "
            "tables: %s" % (level, sorted(set(props) - documented),
                            sorted(documented - set(props))))


def test_man_page_defaults_are_the_tables():
    man = man_keys()
    wrong = []
    for level, props in levels().items():
        for key, prop in props.items():
            written = man[level][key]
            if prop.get("default") is not None and isinstance(prop["default"], list):
                continue  # a list default is said in words ("every event")
            if not same_default(written, prop):
                wrong.append("%s.%s: man page says %r, the table %r"
                             % (level, key, written, prop.get("default")))
    assert not wrong, "\n".join(wrong)


def validator(kind):
    schema = print_schema(kind)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def errors(v, doc):
    return sorted(e.message for e in v.iter_errors(doc))


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def test_schemas_are_valid_and_pass_the_examples():
    main, watch = validator("config"), validator("watch-list")
    assert errors(main, load_yaml(os.path.join(ETC, "upmon.yaml"))) == []
    example = os.path.join(ETC, "watch.d", "example.yaml")
    assert errors(watch, load_yaml(example)) == []
    # The examples point editors at the installed schemas.
    first = open(example, encoding="utf-8").readline()
    assert first.startswith("# yaml-language-server: $schema=/usr/share/upmon/"), first


def test_misspelt_key_in_the_example_is_flagged():
    watch = validator("watch-list")
    doc = load_yaml(os.path.join(ETC, "watch.d", "example.yaml"))
    doc["targets"][1]["body_contain"] = doc["targets"][1].pop("body_contains")
    errs = errors(watch, doc)
    assert any("'body_contain' was unexpected" in e for e in errs), errs
    doc = load_yaml(os.path.join(ETC, "watch.d", "example.yaml"))
    doc["targets"][2]["interval"] = "1 minute"
    assert errors(watch, doc), "a bad duration must be flagged"
    doc = load_yaml(os.path.join(ETC, "watch.d", "example.yaml"))
    doc["targets"][0]["method"] = "get"
    assert errors(watch, doc), "a method in lower case must be flagged"


def test_assertion_keys_in_the_schema():
    """Editors see what the loader takes of json and header_matches, and
    flag what it refuses."""
    watch = validator("watch-list")

    def target(**keys):
        return {"targets": [dict(name="t", url="http://127.0.0.1/", **keys)]}

    good = target(json={"status": "ok", "count": 1, "up": True, "gone": None,
                        "checks[0].state": {"matches": "^ok$"}},
                  header_matches={"Content-Type": "^application/json", "X-Empty": ""},
                  body_not_contains="maintenance")
    assert errors(watch, good) == [], errors(watch, good)
    for bad in (target(json={"status": ["ok"]}), target(json={"status": {"equals": "ok"}}),
                target(json={"status": {}}), target(json={"": "ok"}), target(json=["status"]),
                target(header_matches={"Bad Name": "x"}), target(header_matches={"X-A": None}),
                target(header_matches=["X-A"]), target(body_not_contains="")):
        assert errors(watch, bad), bad


def test_every_good_test_configuration_passes():
    """What the loader accepts, the schema must accept too (an editor
    that flags a good file is worse than none)."""
    main, watch = validator("config"), validator("watch-list")
    checked = 0
    for path in ["good.yaml", "single.yaml", "assert-good.yaml", "hold-good.yaml"]:
        path = os.path.join(UNIT_DATA, path)
        p = h.run(["--check-config", "-c", path])
        assert p.returncode == 0, (path, p.stderr)
        assert errors(main, load_yaml(path)) == [], path
        checked += 1
        for d in (path[:-5] + ".d",):
            if os.path.isdir(d):
                for f in sorted(os.listdir(d)):
                    doc = load_yaml(os.path.join(d, f))
                    assert errors(watch, doc) == [], (f, errors(watch, doc))
                    checked += 1
    assert checked >= 6, checked
    # What YAML types otherwise than the loader reads it: empty blocks, a
    # quoted number, a webhook named by a number, a header with no value.
    d = h.tmpdir()
    odd = h.write(os.path.join(d, "odd.yaml"),
                  "engine:\nalerts:\n  webhooks:\n"
                  "    - {name: '2024', url: 'http://127.0.0.1:1/hook'}\n"
                  "defaults:\ntargets:\n"
                  "  - name: a\n    url: http://127.0.0.1:1/\n    headers: {X-Debug: }\n"
                  "    body_regex: 200\n    failure_threshold: '3'\n    webhooks: [2024]\n"
                  "    tls_verify: 'no'\n")
    p = h.run(["--check-config", "-c", odd])
    assert p.returncode == 0, p.stderr
    assert errors(main, load_yaml(odd)) == [], errors(main, load_yaml(odd))
    # And a watch list needs its targets, to both.
    only = h.write(os.path.join(d, "only-defaults.yaml"), "defaults: {interval: 1m}\n")
    assert errors(watch, load_yaml(only)), "a watch list without targets must be flagged"


def test_verbose_check_shows_the_table_defaults_and_no_secret():
    d = h.tmpdir()
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    h.write(os.path.join(d, "ops.secret"), secret + "\n")
    cfg = h.write(os.path.join(d, "upmon.yaml"),
                  "alerts:\n"
                  "  webhooks:\n"
                  "    - {name: ops, url: 'http://127.0.0.1/hook', secret_file: ops.secret}\n"
                  "targets:\n"
                  "  - {name: plain, url: 'http://127.0.0.1/'}\n")
    p = h.run(["--check-config", "-v", "-c", cfg])
    assert p.returncode == 0, p.stderr
    assert secret[6:] not in p.stdout
    first, rest = p.stdout.split("\n", 1)
    assert first.endswith("OK: 1 target (0 disabled) from 0 watch files, 1 webhook"), first
    dump = json.loads(rest)
    lv = levels()
    for level, got in (("target", dump["targets"][0]), ("webhook", dump["alerts"]["webhooks"][0]),
                       ("engine", dump["engine"]), ("http", dump["http"]),
                       ("history", dump["history"])):
        for key, prop in lv[level].items():
            assert key in got, (level, key)
            if "default" in prop:
                assert got[key] == prop["default"], (level, key, got[key], prop["default"])
    assert dump["alerts"]["webhooks"][0]["secret_file"] == "ops.secret"
    # A password in a URL, and a webhook URL whose path is its key, are
    # not shown either.
    cfg = h.write(os.path.join(d, "urls.yaml"),
                  "alerts:\n  webhooks:\n"
                  "    - {name: chat, format: slack,\n"
                  "       url: 'https://hooks.chat.example/services/T0/B0/KEYKEYKEY'}\n"
                  "targets:\n  - {name: auth, url: 'http://user:hunter2@127.0.0.1/health'}\n")
    p = h.run(["--check-config", "-v", "-c", cfg])
    assert p.returncode == 0, p.stderr
    assert "hunter2" not in p.stdout and "KEYKEYKEY" not in p.stdout, p.stdout
    dump = json.loads(p.stdout.split("\n", 1)[1])
    assert dump["targets"][0]["url"] == "http://user@127.0.0.1/health", dump["targets"][0]
    assert dump["alerts"]["webhooks"][0]["url"] == "https://hooks.chat.example/(hidden)"


def test_print_schema_usage():
    p = h.run(["--print-schema=yaml"])
    assert p.returncode == 2, p.returncode
    assert "--print-schema takes config or watch-list" in p.stderr, p.stderr
    assert print_schema() == print_schema("config")


if __name__ == "__main__":
    h.main(globals())
