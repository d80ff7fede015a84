#!/usr/bin/env python3
"""upmond --check-config and the command line: summaries, every error at
its line and column with exit 78, usage errors with exit 2."""
import os
import re

import harness as h

BAD_WATCH = """\
defaults:
  intervall: 30s
targets:
  - name: shop
    url: ftp://shop.example.com/
    timeout: 10
  - name: shop
    url: https://example.com/
    expect: [200, 2x]
  - name: api
    url: https://api.example.com/
    interval: 5s
    timeout: 6s
    severity: {404: fatal}
    enabled: maybe
  - url: https://nameless.example.com/
"""


def test_bundled_example_is_valid():
    p = h.run(["--check-config", "-c", os.path.join(h.SRC, "etc", "upmon.yaml")])
    assert p.returncode == 0, p.stderr
    assert p.stdout.endswith(
        ": OK: 3 targets (0 disabled) from 1 watch file, 0 webhooks\n"), p.stdout
    assert p.stderr == ""


def test_summary():
    d = h.tmpdir()
    os.mkdir(os.path.join(d, "watch.d"))
    h.write(os.path.join(d, "watch.d", "a.yaml"),
            "targets:\n  - {name: a, url: 'http://127.0.0.1/a'}\n"
            "  - {name: b, url: 'http://127.0.0.1/b', enabled: false}\n")
    h.write(os.path.join(d, "watch.d", "b.yaml"),
            "targets:\n  - {name: c, url: 'http://127.0.0.1/c'}\n")
    secret = h.write(os.path.join(d, "secret"), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n")
    cfg = h.config(d, "watch: [watch.d/*.yaml]\nalerts:\n  webhooks:\n"
                      "    - {name: ops, url: 'http://127.0.0.1:9/x', secret_file: %s}\n"
                      "    - {name: chat, url: 'http://127.0.0.1:9/y', format: slack}\n" % secret)
    p = h.run(["--check-config", "-c", cfg])
    assert p.returncode == 0, p.stderr
    assert p.stdout == "%s: OK: 3 targets (1 disabled) from 2 watch files, 2 webhooks\n" % cfg


def test_every_error_at_its_line_and_column():
    d = h.tmpdir()
    os.mkdir(os.path.join(d, "watch.d"))
    watch = h.write(os.path.join(d, "watch.d", "team.yaml"), BAD_WATCH)
    cfg = h.config(d, "watch: watch.d/*.yaml\ntargets:\n  - {name: ok, url: 'http://127.0.0.1/'}\n")
    p = h.run(["--check-config", "-c", cfg])
    assert p.returncode == 78, (p.returncode, p.stderr)
    assert p.stdout == ""
    want = [
        '%s:2:3: unknown defaults key "intervall" (did you mean "interval"?)',
        '%s:5:10: url "ftp://shop.example.com/": scheme must be http or https, not ftp',
        '%s:6:14: timeout: duration "10" has no unit (use ms, s, m, h or d, e.g. "10s")',
        '%s:9:19: expect: "2x" is not a status code (100-599) or a class (1xx to 5xx)',
        '%s:13:5: timeout 6s is longer than interval 5s: a probe must end before the next one '
        'is due',
        '%s:14:21: unknown severity "fatal" (use ok, warning or critical)',
        '%s:15:14: enabled must be true or false, not "maybe"',
        '%s:16:5: target has no name',
    ]
    lines = p.stderr.splitlines()
    assert lines[:-1] == [w % watch for w in want], "\n".join(lines)
    assert lines[-1] == "upmond: 8 errors in the configuration", lines[-1]


def test_duplicate_names_across_files():
    d = h.tmpdir()
    a = h.write(os.path.join(d, "a.yaml"), "targets:\n  - name: web\n    url: http://127.0.0.1/\n")
    b = h.write(os.path.join(d, "b.yaml"), "targets:\n\n  - url: http://127.0.0.1/x\n"
                                           "    name: web\n")
    cfg = h.config(d, "watch: ['a.yaml', 'b.yaml']\n")
    p = h.run(["--check-config", "-c", cfg])
    assert p.returncode == 78
    assert p.stderr.splitlines()[0] == (
        '%s:4:5: duplicate target name "web" (first defined at %s:2:5)' % (b, a)), p.stderr


def test_yaml_syntax_error_position():
    d = h.tmpdir()
    cfg = h.config(d, "targets:\n  - name: a\n    url: [unclosed\n")
    p = h.run(["--check-config", "-c", cfg])
    assert p.returncode == 78
    first = p.stderr.splitlines()[0]
    assert first.startswith("%s:4:1: " % cfg), first


def test_missing_empty_and_unreadable_files():
    d = h.tmpdir()

    def refused(path, message):
        p = h.run(["--check-config", "-c", path])
        assert p.returncode == 78, (path, p.returncode, p.stderr)
        assert p.stdout == "", p.stdout
        assert p.stderr.splitlines() == [message, "upmond: 1 error in the configuration"], \
            p.stderr

    missing = os.path.join(d, "nope.yaml")
    refused(missing, "%s: cannot open: No such file or directory" % missing)
    empty = h.config(d, "", "empty.yaml")
    refused(empty, "%s: file is empty" % empty)
    comments = h.config(d, "# only a comment\n", "comments.yaml")
    refused(comments, "%s: file is empty" % comments)
    refused(d, "%s: not a regular file" % d)
    cfg = h.config(d, "watch: [missing.yaml]\n", "watching.yaml")
    refused(cfg, "%s:1:9: watch list %s/missing.yaml: No such file or directory" % (cfg, d))
    if os.geteuid() != 0:  # root reads it anyway
        locked = h.config(d, "targets: []\n", "locked.yaml")
        os.chmod(locked, 0)
        refused(locked, "%s: cannot open: Permission denied" % locked)
    # The daemon and --once refuse a bad configuration the same way.
    for mode in ([], ["--once"]):
        p = h.run(mode + ["-c", empty, "--state-dir", d])
        assert p.returncode == 78, (mode, p)
        assert "%s: file is empty" % empty in p.stderr.splitlines(), p.stderr


def test_usage_errors():
    cfg = os.path.join(h.SRC, "etc", "upmon.yaml")
    cases = [
        (["--bogus"], "unrecognized option"),
        (["--json"], "--json goes with --once"),
        (["--json", "-c", cfg], "--json goes with --once"),
        (["--check-config", "-c", cfg, "stray"], 'unexpected argument "stray"'),
        (["--once", "--check-config"], "exclude each other"),
        (["-c"], "requires an argument"),
        (["--state-dir"], "requires an argument"),
    ]
    for args, why in cases:
        p = h.run(args)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        assert why in p.stderr, (args, p.stderr)
        assert p.stdout == "", (args, p.stdout)  # nothing was run


def test_help_and_version():
    for flag in ("--help", "-h"):
        p = h.run([flag])
        assert p.returncode == 0, (flag, p.returncode)
        assert p.stdout.startswith("Usage: upmond"), p.stdout
        for opt in ("-c, --config", "--state-dir", "--check-config", "--print-schema", "--once",
                    "--json",
                    "--stats", "-v, --verbose", "-q, --quiet", "-V, --version", "-h, --help"):
            assert opt in p.stdout, (opt, p.stdout)
        assert p.stderr == "", p.stderr
    # The usage text also follows a usage error, on stderr.
    p = h.run(["--bogus"])
    assert "Usage: upmond" in p.stderr, p.stderr
    for flag in ("--version", "-V"):
        p = h.run([flag])
        assert p.returncode == 0, (flag, p.returncode)
        first = p.stdout.splitlines()[0]
        assert re.fullmatch(r"upmond \d+\.\d+\.\d+\S*", first), first
        assert "libcurl" in p.stdout, p.stdout


if __name__ == "__main__":
    h.main(globals())
