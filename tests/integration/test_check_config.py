#!/usr/bin/env python3
"""upmond --check-config and the command line: summaries, every error at
its line and column with exit 78, usage errors with exit 2."""
import os

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
        '%s:14:21: unknown severity "fatal"',
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
    missing = os.path.join(d, "nope.yaml")
    p = h.run(["--check-config", "-c", missing])
    assert p.returncode == 78
    assert p.stderr.splitlines()[0] == "%s: cannot open: No such file or directory" % missing
    empty = h.config(d, "", "empty.yaml")
    p = h.run(["--check-config", "-c", empty])
    assert p.returncode == 78
    assert p.stderr.splitlines()[0] == "%s: file is empty" % empty
    comments = h.config(d, "# only a comment\n", "comments.yaml")
    p = h.run(["--check-config", "-c", comments])
    assert p.returncode == 78
    assert p.stderr.splitlines()[0] == "%s: file is empty" % comments
    cfg = h.config(d, "watch: [missing.yaml]\n", "watching.yaml")
    p = h.run(["--check-config", "-c", cfg])
    assert p.returncode == 78
    assert p.stderr.splitlines()[0] == (
        "%s:1:9: watch list %s/missing.yaml: No such file or directory" % (cfg, d)), p.stderr
    # The daemon and --once refuse a bad configuration the same way.
    for mode in ([], ["--once"]):
        p = h.run(mode + ["-c", empty, "--state-dir", d])
        assert p.returncode == 78, (mode, p)


def test_usage_errors():
    for args in (["--bogus"], ["--json"], ["stray"], ["--once", "--check-config"], ["-c"]):
        p = h.run(args)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        assert p.stderr, args


def test_help_and_version():
    p = h.run(["--help"])
    assert p.returncode == 0
    for opt in ("--config", "--state-dir", "--check-config", "--once", "--json", "--stats",
                "--verbose", "--quiet", "--version", "--help"):
        assert opt in p.stdout, opt
    p = h.run(["--version"])
    assert p.returncode == 0
    assert p.stdout.startswith("upmond ")


if __name__ == "__main__":
    h.main(globals())
