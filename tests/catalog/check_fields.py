#!/usr/bin/env python3
"""Checks the journal catalog's texts against the entries the daemon makes.

  check_fields.py CATALOG PAYLOAD_SAMPLES

A catalog text cannot be conditional: for a field an entry does not carry,
journalctl -x shows the field's bare name ("the error UPMON_ERROR"). So
every @FIELD@ a text names must be in every entry of its MESSAGE_ID.
PAYLOAD_SAMPLES (tests/schema/payload_samples.c, on the real payload
builders) writes the journal fields of each alert the state machine raises
in its scenarios; this expands the catalog's text for each, as journalctl
does, fails for any field left unexpanded, and prints one expansion per
event type to read."""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

FIELD = re.compile(r"@([A-Za-z0-9_]+)@")
# journalctl leaves out a field longer than this (REPLACE_VAR_MAX in
# systemd's sd-journal.c), "NAME=value" counted, and shows its name.
REPLACE_VAR_MAX = 256


def read_catalog(path):
    """MESSAGE_ID -> the entry's text (Subject: header and body)."""
    entries, current = {}, None
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            m = re.match(r"^-- ([0-9a-f]{32})\s*$", line)
            if m:
                current = m.group(1)
                entries[current] = ""
            elif current:
                entries[current] += line
    return entries


def shown(name, fields):
    """Whether journalctl -x shows the value of field name, not the name."""
    value = fields.get(name)
    return value is not None and len(name) + 1 + len(value.encode()) <= REPLACE_VAR_MAX


def expand(text, fields):
    """The text as journalctl -x shows it for an entry with these fields."""
    return FIELD.sub(lambda m: fields[m.group(1)] if shown(m.group(1), fields) else m.group(1),
                     text)


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    catalog = read_catalog(sys.argv[1])
    failures, printed = [], set()
    with tempfile.TemporaryDirectory(prefix="upmon-journal-") as out:
        p = subprocess.run([sys.argv[2], out], capture_output=True, text=True)
        if p.returncode != 0:
            print("FAIL: %s exited with %d: %s" % (sys.argv[2], p.returncode, p.stderr))
            return 1
        samples = sorted(glob.glob(os.path.join(out, "journal", "*.json")))
        for path in samples:
            with open(path, encoding="utf-8") as f:
                fields = json.load(f)
            name = os.path.basename(path)
            text = catalog.get(fields["MESSAGE_ID"])
            if text is None:
                failures.append("%s: no catalog entry for MESSAGE_ID %s" %
                                (name, fields["MESSAGE_ID"]))
                continue
            expanded = expand(text, fields)
            left = sorted(set(n for n in FIELD.findall(text) if not shown(n, fields)))
            if left:
                failures.append("%s: %s left unexpanded:\n%s" % (name, ", ".join(left), expanded))
            if fields["MESSAGE_ID"] not in printed:
                printed.add(fields["MESSAGE_ID"])
                print("---- %s (%s)\n%s" % (name, fields["UPMON_EVENT"], expanded.strip()))
    unused = set(catalog) - printed
    if unused:
        failures.append("no sample entry for the catalog entries %s" % ", ".join(sorted(unused)))
    for f in failures:
        print("FAIL: " + f)
    print("%d journal entries against %d catalog entries: %s" %
          (len(samples), len(catalog), "%d failed" % len(failures) if failures else "ok"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
