"""The webhook body schemas in schema/, loaded for validation: shared by the
fixture receiver (which checks every body the daemon POSTs in the
integration tests) and check_schemas.py (the schemas themselves, and the
bodies the payload builders make).

Needs jsonschema (Debian: python3-jsonschema); importing this module raises
ImportError when it is missing."""
import datetime
import json
import os
import re

import jsonschema
from jsonschema.validators import Draft202012Validator

FORMATS = ("standard", "slack", "alertmanager", "alertmanager-webhook")
SCHEMA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "schema")

_RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?"
                      r"([Zz]|[+-]\d{2}:\d{2})$")


def _date_time(s):
    """RFC 3339 date-time, checked here rather than left to an optional
    package (jsonschema checks "date-time" only with rfc3339-validator)."""
    if not isinstance(s, str):
        return True
    m = _RFC3339.match(s)
    if not m:
        return False
    y, mo, d, h, mi, sec = (int(g) for g in m.groups()[:6])
    try:
        datetime.datetime(y, mo, d, h, mi, min(sec, 59))  # 60: a leap second
    except ValueError:
        return False
    return sec <= 60


def format_checker():
    checker = jsonschema.FormatChecker()
    checker.checks("date-time")(_date_time)
    return checker


def path(fmt, directory=None):
    return os.path.join(directory or SCHEMA_DIR, "webhook-%s.schema.json" % fmt)


def load(fmt, directory=None):
    with open(path(fmt, directory)) as f:
        return json.load(f)


class Checker:
    """Validates webhook bodies against the schema of their format."""

    def __init__(self, directory=None):
        checker = format_checker()
        self.validators = {fmt: Draft202012Validator(load(fmt, directory),
                                                     format_checker=checker)
                           for fmt in FORMATS}

    def errors(self, fmt, body):
        """A list of what is wrong with body (bytes or str, as sent) for a
        webhook of format fmt; empty when it validates."""
        if fmt not in self.validators:
            return ["no schema for format %r" % fmt]
        try:
            doc = json.loads(body)
        except ValueError as e:
            return ["not JSON: %s" % e]
        out = []
        errors = self.validators[fmt].iter_errors(doc)
        for e in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]):
            where = "/".join(str(p) for p in e.absolute_path)
            out.append("at /%s: %s" % (where, e.message))
        return out
