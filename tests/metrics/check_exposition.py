"""Checks a /metrics exposition the way its readers read it.

    check_exposition.py promtool FILE...     the text format, with
                                             `promtool check metrics`
    check_exposition.py openmetrics FILE...  OpenMetrics 1.0.0, with the
                                             strict parser of the Python
                                             client (prometheus_client)

Exits 0 when every file passes, 1 when one does not (saying why), 77 when
the checker is not installed (apt: prometheus, python3-prometheus-client).
The integration test of /metrics runs it on live scrapes."""
import os
import shutil
import subprocess
import sys


class Unavailable(Exception):
    """The checker is not installed."""


def check_text(data):
    """Problems promtool finds in a text-format exposition (bytes), as a
    string; "" when none."""
    promtool = shutil.which("promtool")
    if promtool is None:
        raise Unavailable("promtool not found (apt install prometheus)")
    p = subprocess.run([promtool, "check", "metrics"], input=data, capture_output=True,
                       timeout=60)
    out = (p.stdout + p.stderr).decode(errors="replace").strip()
    if p.returncode != 0 or out:
        return "promtool check metrics: exit %d\n%s" % (p.returncode, out)
    return ""


def check_openmetrics(data):
    """Problems the OpenMetrics parser finds (a string; "" when none), and
    the families it read."""
    try:
        from prometheus_client.openmetrics import parser
    except ImportError:
        raise Unavailable("prometheus_client not found (apt install python3-prometheus-client)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return "not UTF-8: %s" % e, []
    if not text.endswith("# EOF\n"):
        return "does not end with '# EOF\\n'", []
    try:
        families = list(parser.text_string_to_metric_families(text))
    except Exception as e:  # the parser raises ValueError and others
        return "OpenMetrics parser: %s: %s" % (type(e).__name__, e), []
    return "", families


def main(argv):
    if len(argv) < 3 or argv[1] not in ("promtool", "openmetrics"):
        print(__doc__, file=sys.stderr)
        return 2
    failed = False
    for path in argv[2:]:
        with open(path, "rb") as f:
            data = f.read()
        try:
            if argv[1] == "promtool":
                problem = check_text(data)
            else:
                problem, families = check_openmetrics(data)
        except Unavailable as e:
            print("SKIP: %s" % e)
            return 77
        if problem:
            print("FAIL %s: %s" % (path, problem))
            failed = True
        else:
            print("ok %s" % os.path.basename(path))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
