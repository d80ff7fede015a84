#!/usr/bin/env python3
"""Checks the webhook body schemas in schema/ (ctest: schema, payload_schema).

  check_schemas.py SCHEMA_DIR
      Each schema is a valid JSON Schema (draft 2020-12) by its metaschema,
      its patterns compile, every property has a title or a description,
      it rejects bodies that are wrong in the ways a builder could get them
      wrong, and the example body in upmond(8) validates.

  check_schemas.py SCHEMA_DIR --samples PROGRAM
      Runs PROGRAM (tests/schema/payload_samples.c, built on the real
      payload builders) to write the bodies of a sweep of alerts into a
      temporary directory, and validates every one against the schema of
      its format. The schemas' enums must be exactly the names in the
      daemon's tables, and the samples must use every value the enums
      allow, so that neither can drift from the other unnoticed.

Exits 77 (ctest's SKIP_RETURN_CODE) when jsonschema cannot be imported."""
import collections
import copy
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
try:
    import webhook_schema as ws
    from jsonschema.validators import Draft202012Validator
except ImportError as e:
    print("SKIP: cannot import jsonschema with %s (%s); on Debian, apt-get install "
          "python3-jsonschema" % (sys.executable, e))
    sys.exit(77)

DRAFT = "https://json-schema.org/draft/2020-12/schema"
MANPAGE = os.path.join(os.path.dirname(os.path.dirname(HERE)), "man", "upmond.8")


def pointer(doc, ptr):
    for part in ptr.strip("/").split("/"):
        doc = doc[part]
    return doc


CONDITIONS = ("if", "then", "else", "allOf", "anyOf", "oneOf", "not")


def walk_properties(node, where=""):
    """Yields (where, name, subschema) for every entry of every
    "properties" in a schema, except in conditions (if, allOf, ...), which
    only narrow properties described elsewhere."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k in CONDITIONS:
                continue
            if k == "properties" and isinstance(v, dict):
                for name, sub in v.items():
                    yield "%s/properties/%s" % (where, name), name, sub
                    yield from walk_properties(sub, "%s/properties/%s" % (where, name))
            else:
                yield from walk_properties(v, "%s/%s" % (where, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk_properties(v, "%s/%d" % (where, i))


def walk_patterns(node, where=""):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "pattern" and isinstance(v, str):
                yield where, v
            else:
                yield from walk_patterns(v, "%s/%s" % (where, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk_patterns(v, "%s/%d" % (where, i))


def manpage_example():
    """The standard body shown in upmond(8), as JSON."""
    with open(MANPAGE) as f:
        text = f.read()
    m = re.search(r"A Standard Webhooks event:\n\.RS\n\.EX\n(.*?)\n\.EE", text, re.S)
    assert m, "no standard example body in %s" % MANPAGE
    return json.loads(m.group(1).replace("\\-", "-"))


# Bodies as a builder could get them wrong, each made from a valid one: the
# schema must refuse every one (a misspelt keyword would make it accept them).
def _at(doc, parts):
    for p in parts:
        doc = doc[p]
    return doc


def _drop(parts):
    return lambda doc: _at(doc, parts[:-1]).pop(parts[-1])


def _set(parts, value):
    return lambda doc: _at(doc, parts[:-1]).__setitem__(parts[-1], value)


MUTATIONS = {
    "standard": [
        ("a required member missing", _drop(["data", "code"])),
        ("an unknown member", _set(["data", "extra"], 1)),
        ("an unknown member at the top", _set(["extra"], 1)),
        ("an event not in the table", _set(["data", "event"], "exploded")),
        ("type and event disagreeing", _set(["type"], "upmon.target.recovered")),
        ("a state not in the table", _set(["data", "state"], "down")),
        ("an error named none", _set(["data", "error"], "none")),
        ("a code as a string", _set(["data", "code"], "503")),
        ("an empty message instead of null", _set(["data", "message"], "")),
        ("a time that is no date", _set(["data", "time"], "2025-02-30T09:30:00.123Z")),
        ("a time without milliseconds", _set(["timestamp"], "2025-01-15T09:30:00Z")),
        ("a null time", _set(["data", "time"], None)),
        ("a label name with a dash", _set(["data", "labels", "a-b"], "x")),
        ("a label value that is a number", _set(["data", "labels", "team"], 1)),
        ("a certificate subject without its end", _set(["data", "cert_subject"], "CN=x")),
        ("a certificate end without its subject", lambda doc: doc["data"].update(
            cert_expires="2025-01-15T09:30:00.123Z", cert_issuer="CN=root")),
        ("a control character in a certificate name", lambda doc: doc["data"].update(
            cert_expires="2025-01-15T09:30:00.123Z", cert_subject="CN=a\nb",
            cert_issuer="CN=root")),
    ],
    "slack": [
        ("an empty text", _set(["text"], "")),
        ("a member besides text", _set(["blocks"], [])),
        ("markup in the text", _set(["text"], "a<b> is down")),
        ("a bare & in the text", _set(["text"], "a&b is down")),
        ("no attachments", _drop(["attachments"])),
        ("two attachments", lambda doc: doc["attachments"].append(doc["attachments"][0])),
        ("a colour of no severity", _set(["attachments", 0, "color"], "danger")),
        ("no fallback", _drop(["attachments", 0, "fallback"])),
        ("markup in a field", _set(["attachments", 0, "fields", 0, "value"], "<@U1>")),
        ("a field of no known title", _set(["attachments", 0, "fields", 0, "title"], "Code:")),
        ("a field without short", _drop(["attachments", 0, "fields", 0, "short"])),
        ("both icon_url and icon_emoji", lambda doc: doc.update(
            icon_url="https://example.com/i.png", icon_emoji=":bell:")),
        ("an emoji without colons", _set(["icon_emoji"], "bell")),
        ("an empty username", _set(["username"], "")),
    ],
    "alertmanager": [
        ("an unknown alert name", _set([0, "labels", "alertname"], "Down")),
        ("no endsAt", _drop([0, "endsAt"])),
        ("a status", _set([0, "status"], "firing")),
        ("a fingerprint", _set([0, "fingerprint"], "0123456789abcdef")),
        ("a label missing", _drop([0, "labels", "monitor"])),
        ("an empty label value", _set([0, "labels", "team"], "")),
        ("a label name with a dash", _set([0, "labels", "a-b"], "x")),
        ("an annotation code as a number", _set([0, "annotations", "code"], 503)),
        ("a phrase without its code", lambda doc: (doc[0]["annotations"].pop("code", None),
                                                   doc[0]["annotations"].update(phrase="OK"))),
        ("an unknown annotation", _set([0, "annotations", "location"], "https://x/")),
        ("no alerts", lambda doc: doc.clear()),
    ],
    "alertmanager-webhook": [
        ("a version other than 4", _set(["version"], 4)),
        ("an unknown alert name", _set(["alerts", 0, "labels", "alertname"], "Down")),
        ("a firing alert that ended", _set(["alerts", 0, "endsAt"], "2025-01-15T09:30:00.123Z")),
        ("an annotation code as a number", _set(["commonAnnotations", "code"], 503)),
        ("a label missing", _drop(["alerts", 0, "labels", "monitor"])),
        ("a short fingerprint", _set(["alerts", 0, "fingerprint"], "abc")),
        ("a certificate subject without its end",
         _set(["alerts", 0, "annotations", "cert_subject"], "CN=x")),
        ("a resolved message with a firing alert", _set(["status"], "resolved")),
        ("no alerts", _set(["alerts"], [])),
        ("two alerts", lambda doc: doc["alerts"].append(doc["alerts"][0])),
    ],
}


def check_schemas(directory, samples=None):
    """The schemas themselves. samples: a valid body per format, to mutate."""
    failures = []
    for fmt in ws.FORMATS:
        path = ws.path(fmt, directory)
        schema = ws.load(fmt, directory)
        try:
            Draft202012Validator.check_schema(schema)
        except Exception as e:  # jsonschema.SchemaError
            failures.append("%s: not a valid schema: %s" % (path, e))
            continue
        if schema.get("$schema") != DRAFT:
            failures.append("%s: $schema is not %s" % (path, DRAFT))
        for where, p in walk_patterns(schema):
            try:
                re.compile(p)
            except re.error as e:
                failures.append("%s: %s: pattern %r: %s" % (path, where, p, e))
        for where, name, sub in walk_properties(schema):
            if isinstance(sub, dict) and not (sub.get("title") or sub.get("description")):
                failures.append("%s: %s has neither a title nor a description" % (path, where))
    if failures:
        return failures

    checker = ws.Checker(directory)
    good = dict(samples or {"slack": {
        "text": "shop is down: 503 Service Unavailable",
        "attachments": [{"color": "#d50200", "fallback": "shop is down: 503 Service Unavailable",
                         "fields": [{"title": "Code", "value": "503 Service Unavailable",
                                     "short": True}]}]}})
    if "standard" not in good:
        try:
            good["standard"] = manpage_example()
        except (OSError, AssertionError, ValueError) as e:
            failures.append("the example body of upmond(8): %s" % e)
    if "standard" in good and samples is None:
        errs = checker.errors("standard", json.dumps(good["standard"]))
        failures += ["the example body of upmond(8): " + e for e in errs]
    for fmt, cases in MUTATIONS.items():
        if fmt not in good:
            continue
        for what, mutate in cases:
            doc = copy.deepcopy(good[fmt])
            mutate(doc)
            if not checker.errors(fmt, json.dumps(doc)):
                failures.append("%s: the schema accepts a body with %s: %s" %
                                (fmt, what, json.dumps(doc)))
    return failures


SHOWN = 10  # invalid bodies shown per format; the rest are counted


def check_samples(directory, program):
    checker = ws.Checker(directory)
    failures = []
    with tempfile.TemporaryDirectory(prefix="upmon-payloads-") as out:
        p = subprocess.run([program, out], capture_output=True, text=True)
        if p.returncode != 0:
            return ["%s exited with %d:\n%s%s" % (program, p.returncode, p.stdout, p.stderr)], {}
        print(p.stdout.strip())
        with open(os.path.join(out, "names.json")) as f:
            names = json.load(f)
        bodies = {}
        for fmt in ws.FORMATS:
            bodies[fmt], invalid = [], 0
            for name in sorted(os.listdir(os.path.join(out, fmt))):
                with open(os.path.join(out, fmt, name)) as f:
                    body = f.read()
                errors = checker.errors(fmt, body)
                if errors:
                    invalid += 1
                    if invalid <= SHOWN:
                        failures.append("%s/%s:\n    %s\n    body: %s" %
                                        (fmt, name, "\n    ".join(errors), body))
                else:
                    bodies[fmt].append(json.loads(body))
            if invalid:
                failures.append("%s: %d of %d bodies do not validate against %s" %
                                (fmt, invalid, invalid + len(bodies[fmt]), ws.path(fmt, directory)))
    failures += check_enums(directory, names)
    if failures:
        return failures, {}
    counts = {fmt: len(b) for fmt, b in bodies.items()}
    # Every alert makes a body in every format, but for a push that would
    # tell Alertmanager nothing.
    counts_all = {fmt: n for fmt, n in counts.items() if fmt != "alertmanager"}
    if (len(set(counts_all.values())) != 1 or not counts["standard"]
            or not 0 < counts["alertmanager"] <= counts["standard"]):
        return ["bodies per format: %s" % counts], {}
    failures += check_coverage(directory, bodies)
    return failures, {fmt: b[0] for fmt, b in bodies.items()}


def check_enums(directory, names):
    """The schemas' enums against the daemon's own tables."""
    std, am = ws.load("standard", directory), ws.load("alertmanager-webhook", directory)
    push = ws.load("alertmanager", directory)
    want = [
        (std, "/properties/type/enum", ["upmon.target." + e for e in names["event"]]),
        (std, "/properties/data/properties/event/enum", names["event"]),
        (std, "/$defs/state/enum", names["state"]),
        (std, "/properties/data/properties/previous_state/enum", names["previous"]),
        (std, "/$defs/severity/enum", names["severity"]),
        (std, "/properties/data/properties/class/enum", names["class"]),
        (std, "/properties/data/properties/error/enum", names["error"] + [None]),
        (am, "/$defs/annotations/properties/event/enum", names["event"]),
        (am, "/$defs/annotations/properties/state/enum", names["state"]),
        (am, "/$defs/annotations/properties/error/enum", names["error"]),
        (am, "/$defs/labels/properties/severity/enum", names["severity"]),
        (push, "/$defs/annotations/properties/event/enum", names["event"]),
        (push, "/$defs/annotations/properties/state/enum", names["state"]),
        (push, "/$defs/annotations/properties/error/enum", names["error"]),
        (push, "/$defs/labels/properties/severity/enum", names["severity"]),
    ]
    failures = []
    for schema, ptr, names_ in want:
        fmt = ("standard" if schema is std else "alertmanager-webhook" if schema is am
               else "alertmanager")
        got = pointer(schema, ptr)
        if sorted(got, key=str) != sorted(names_, key=str):
            failures.append("%s schema %s is %s; the daemon's names are %s" %
                            (fmt, ptr, got, names_))
    return failures


def check_coverage(directory, bodies):
    """Every value an enum allows, and null and not null for every member
    that may be null, appear in some sample: the sweep covers the schema."""
    seen = collections.defaultdict(set)
    for doc in bodies["standard"]:
        d = doc["data"]
        for k in ("event", "state", "previous_state", "severity", "class", "error"):
            seen[k].add(d[k])
        for k in ("code", "phrase", "location", "message", "latency_ms", "since"):
            seen[k + " is null"].add(d[k] is None)
        seen["cert_expires is there"].add("cert_expires" in d)
        if "cert_expires" in d:
            seen["cert_subject is empty"].add(d["cert_subject"] == "")
    for doc in bodies["slack"]:
        for k in ("username", "icon_url", "icon_emoji"):
            seen["slack %s is there" % k].add(k in doc)
        for a in doc["attachments"]:
            seen["slack color"].add(a["color"])
            for f in a["fields"]:
                seen["slack field"].add(f["title"])
    for doc in bodies["alertmanager"]:
        seen["push number of alerts"].add(min(len(doc), 2))
        for a in doc:
            seen["push alertname"].add(a["labels"]["alertname"])
            seen["push severity"].add(a["labels"]["severity"])
            for k in ("code", "phrase", "error", "error_message", "redirect_location",
                      "cert_expires"):
                seen["push annotation %s is there" % k].add(k in a["annotations"])
    for doc in bodies["alertmanager-webhook"]:
        seen["status"].add(doc["status"])
        seen["number of alerts"].add(len(doc["alerts"]))
        for a in doc["alerts"]:
            seen["alertname"].add(a["labels"]["alertname"])
            seen["alert status"].add(a["status"])
            for k in ("code", "error", "location", "cert_expires", "cert_subject"):
                seen["annotation %s is there" % k].add(k in a["annotations"])
    std, am = ws.load("standard", directory), ws.load("alertmanager-webhook", directory)
    attachment = ws.load("slack", directory)["properties"]["attachments"]["items"]["properties"]
    data = std["properties"]["data"]["properties"]
    want = {
        "event": data["event"]["enum"],
        "state": std["$defs"]["state"]["enum"],
        "previous_state": data["previous_state"]["enum"],
        "severity": std["$defs"]["severity"]["enum"],
        "class": data["class"]["enum"],
        "error": data["error"]["enum"],
        "status": am["$defs"]["status"]["enum"],
        "alert status": am["$defs"]["status"]["enum"],
        "alertname": am["$defs"]["alertname"]["enum"],
        "number of alerts": [1],
        "push number of alerts": [1, 2],
        "push alertname": am["$defs"]["alertname"]["enum"],
        "push severity": ["warning", "critical"],
        "slack color": attachment["color"]["enum"],
        "slack field": attachment["fields"]["items"]["properties"]["title"]["enum"],
    }
    for k in seen:
        if k.endswith(" is null") or k.endswith(" is there") or k.endswith(" is empty"):
            want[k] = [True, False]
    failures = []
    for k, values in want.items():
        missing = set(values) - seen[k]
        if missing:
            failures.append("no sample has %s %s" % (k, sorted(missing, key=str)))
    return failures


def main():
    args = sys.argv[1:]
    if len(args) not in (1, 3) or (len(args) == 3 and args[1] != "--samples"):
        print(__doc__)
        return 2
    directory = args[0]
    if len(args) == 3:
        failures, first = check_samples(directory, args[2])
        if not failures:
            failures = check_schemas(directory, first)
        what = "payload samples"
    else:
        failures = check_schemas(directory)
        what = "schemas"
    for f in failures:
        print("FAIL: " + f)
    print("%s: %d failed" % (what, len(failures)) if failures else "%s: ok" % what)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
