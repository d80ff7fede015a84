"""Shared helpers for upmon's integration tests: the real upmond binary,
fixture servers on 127.0.0.1 with kernel-chosen ports, temporary
directories, and a small runner. Nothing here sleeps for a fixed time to
wait for something: wait_until polls a condition against a deadline.

Each test file calls harness.main(globals()); every function named test_*
runs in order (or only those named on the command line), printing
"ok NAME" or "FAIL NAME" (and "skip NAME: why" when a precondition of one
test is missing). The file ends with a line exactly "N passed, M failed"
and exits non-zero if any failed, 77 (ctest's SKIP_RETURN_CODE) with a
"SKIP: why" line if nothing could run.

Every webhook body the fixture receiver gets is validated against the
schema of its format (schema/); a test whose receiver got a body that does
not validate fails when it returns (see Receiver).

Every process started here (fixture servers, upmond) is stopped when its
test ends, pass or fail, and again at exit; the fixture server also exits
by itself when this process dies (it watches its stdin), and upmond gets
SIGKILL from the kernel then (PR_SET_PDEATHSIG), so a killed test run
leaves nothing behind."""
import atexit
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("UPMON_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))
UPMOND = os.environ.get("UPMOND") or os.path.join(SRC, "build", "daemon", "upmond")
SANITIZED = os.environ.get("UPMON_SANITIZED", "").lower() in ("1", "on", "true", "yes")
FIXTURES = os.path.join(SRC, "tests", "fixtures")
# The fixture receiver validates webhook bodies with jsonschema: run it with
# a Python that has it (tests/CMakeLists.txt says which).
SCHEMA_PYTHON = os.environ.get("UPMON_SCHEMA_PYTHON") or sys.executable

_cleanups = []
_checks = []  # run when a test function returns; an exception fails the test
_notes = set()
_daemons = []  # every Daemon of the current test, for the report of a failure
_reporters = []  # for the whole file: what else a failure's report shows


class Skip(Exception):
    """Raised by a test whose precondition is missing (not a failure)."""


def cleanup(fn):
    """Registers fn to run when the current test ends (last in, first out)."""
    _cleanups.append(fn)
    return fn


def check_after(fn):
    """Registers fn to run when the current test function has returned, as
    part of the test: an AssertionError from it fails the test."""
    _checks.append(fn)
    return fn


def on_failure(fn):
    """Registers fn for every test of the file: when one fails, what fn
    returns (text) is printed after the failure."""
    _reporters.append(fn)
    return fn


def run_checks():
    while _checks:
        _checks.pop(0)()


def note(text):
    """Prints text once per test file."""
    if text not in _notes:
        _notes.add(text)
        print("note: " + text, flush=True)


def run_cleanups():
    while _cleanups:
        try:
            _cleanups.pop()()
        except Exception:
            traceback.print_exc()


atexit.register(run_cleanups)


def _on_signal(sig, frame):
    run_cleanups()
    sys.exit(128 + sig)


for _sig in (signal.SIGTERM, signal.SIGHUP):
    signal.signal(_sig, _on_signal)

try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _prctl = None


def _die_with_parent():
    """preexec_fn: the child gets SIGKILL if the thread that started it (here
    always the main thread, that is, this test process) dies."""
    if _prctl is not None:
        _prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


def tmpdir():
    d = tempfile.mkdtemp(prefix="upmon-test-")
    cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
    return d


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def wait_until(pred, timeout=10.0, what="condition"):
    """Polls pred() until it returns something true; fails at the deadline.
    what may be a function, called then, to describe what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" %
                                 (timeout, what() if callable(what) else what))
        time.sleep(0.02)


def free_port():
    """A port on 127.0.0.1 that nothing listens on."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def terminate(proc, grace):
    """SIGTERM, then SIGKILL after `grace` seconds; waits for the end."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Fixture:
    """A fixture server from tests/fixtures: started, its port read from its
    first line on stdout, and stopped when the test ends, pass or fail."""

    def __init__(self, script, args=(), start_timeout=10.0, python=None):
        env = dict(os.environ, UPMON_FIXTURE_PARENT="stdin")
        self.proc = subprocess.Popen([python or sys.executable, os.path.join(FIXTURES, script)] +
                                     list(args),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env=env)
        cleanup(self.stop)
        got = []
        reader = threading.Thread(target=lambda: got.append(self.proc.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(start_timeout)
        line = got[0] if got else ""
        if not line.strip().isdigit():
            raise RuntimeError("fixture %s did not print its port within %.0fs (got %r, exit %s)"
                               % (script, start_timeout, line, self.proc.poll()))
        self.port = int(line)

        self.scheme = "https" if "--tls" in args else "http"

    def url(self, path):
        return "%s://127.0.0.1:%d%s" % (self.scheme, self.port, path)

    def get(self, path):
        return http_get(self.url(path))

    def json(self, path):
        return json.loads(self.get(path))

    def stop(self):
        terminate(self.proc, 2)
        for f in (self.proc.stdin, self.proc.stdout):
            if f:
                try:
                    f.close()
                except OSError:
                    pass


def http_fixture():
    return Fixture("httpd.py")


def tls_fixture(days=30):
    """An HTTPS fixture with a fresh self-signed certificate for 127.0.0.1
    that ends in `days` days."""
    if not shutil.which("openssl"):
        raise Skip("openssl is not installed")
    d = tmpdir()
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                    "-days", str(days), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    f = Fixture("httpd.py", ["--tls", cert, key])
    f.cert = cert
    return f


def tls_chain_fixture(leaf_days=60, intermediate_days=5):
    """An HTTPS fixture for 127.0.0.1 that sends a chain: its own
    certificate, ending in leaf_days days, and the intermediate that signed
    it, ending in intermediate_days days; the root that signed that is not
    sent. The names, in RFC 2253 form, are .leaf, .intermediate and .root."""
    if not shutil.which("openssl"):
        raise Skip("openssl is not installed")
    d = tmpdir()

    def openssl(*args):
        subprocess.run(["openssl"] + list(args), cwd=d, check=True, capture_output=True)

    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    write(os.path.join(d, "ca.ext"),
          "basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\n")
    write(os.path.join(d, "leaf.ext"), "basicConstraints=CA:false\nsubjectAltName=IP:127.0.0.1\n")
    openssl("req", "-x509", *key, "-keyout", "root.key", "-out", "root.pem", "-days", "3650",
            "-subj", "/CN=upmon test root")
    openssl("req", *key, "-keyout", "int.key", "-out", "int.csr",
            "-subj", "/C=US/O=upmon tests, Inc./CN=upmon test intermediate")
    openssl("x509", "-req", "-in", "int.csr", "-CA", "root.pem", "-CAkey", "root.key",
            "-set_serial", "2", "-days", str(intermediate_days), "-extfile", "ca.ext",
            "-out", "int.pem")
    openssl("req", *key, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=127.0.0.1")
    openssl("x509", "-req", "-in", "leaf.csr", "-CA", "int.pem", "-CAkey", "int.key",
            "-set_serial", "3", "-days", str(leaf_days), "-extfile", "leaf.ext",
            "-out", "leaf.pem")
    chain = os.path.join(d, "chain.pem")
    with open(chain, "w") as out:
        for part in ("leaf.pem", "int.pem"):
            with open(os.path.join(d, part)) as f:
                out.write(f.read())
    f = Fixture("httpd.py", ["--tls", chain, os.path.join(d, "leaf.key")])
    f.leaf = "CN=127.0.0.1"
    f.intermediate = "CN=upmon test intermediate,O=upmon tests\\, Inc.,C=US"
    f.root = "CN=upmon test root"
    return f


class Nginx:
    """A real nginx (Debian's nginx-light) on 127.0.0.1, serving the given
    server-block directives, stopped when the test ends. The port is one
    the kernel chose a moment before; a clash is retried. With ssl, every
    listener speaks TLS (the directives name the certificate); servers are
    the directives of more server blocks on the same listeners, chosen by
    server_name (the first block is the default); http2 offers HTTP/2."""

    def __init__(self, directives, ipv6=False, ssl=False, servers=(), http2=False):
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.access(binary, os.X_OK):
            raise Skip("nginx is not installed (apt-get install nginx-light)")
        self.scheme = "https" if ssl else "http"
        d = tmpdir()
        for attempt in range(5):
            self.port = free_port()
            opts = (" ssl" if ssl else "") + (" http2" if http2 else "")
            listen = "    listen 127.0.0.1:%d%s;\n" % (self.port, opts)
            if ipv6:
                listen += "    listen [::1]:%d%s;\n" % (self.port, opts)
            blocks = "".join("  server {\n%s%s\n  }\n" % (listen, b)
                             for b in [directives] + list(servers))
            conf = os.path.join(d, "nginx.conf")
            write(conf, "daemon off;\nmaster_process off;\npid %s/nginx.pid;\n"
                        "error_log %s/error.log;\nevents {}\nhttp {\n  access_log off;\n"
                        "  client_body_temp_path %s;\n  proxy_temp_path %s;\n%s}\n"
                        % (d, d, d, d, blocks))
            self.proc = subprocess.Popen([binary, "-p", d, "-c", conf],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            cleanup(self.stop)
            try:
                wait_until(lambda: self.proc.poll() is not None or self._listening(), 10,
                           "nginx listening")
            except AssertionError:
                self.stop()
                raise
            if self.proc.poll() is None:
                return
            err = self.proc.stderr.read().decode(errors="replace")
            if "Address already in use" not in err:
                raise RuntimeError("nginx did not start: %s" % err)
        raise RuntimeError("nginx found no free port")

    def _listening(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            return True
        except OSError:
            return False

    def url(self, path, host="127.0.0.1"):
        return "%s://%s:%d%s" % (self.scheme, host, self.port, path)

    def stop(self):
        terminate(self.proc, 5)
        if self.proc.stderr:
            self.proc.stderr.close()


def journald():
    """A running systemd-journald: the system's, or one started here and
    left running."""
    sock = "/run/systemd/journal/socket"
    if not shutil.which("journalctl"):
        raise Skip("journalctl is not installed")
    running = subprocess.run(["pgrep", "-x", "systemd-journal"], capture_output=True).returncode
    if running == 0 and os.path.exists(sock):
        return
    binary = next((p for p in ("/lib/systemd/systemd-journald",
                               "/usr/lib/systemd/systemd-journald") if os.path.exists(p)), None)
    if binary is None or os.geteuid() != 0:
        raise Skip("no systemd-journald to start (needs the systemd package and root)")
    os.makedirs("/run/systemd/journal", exist_ok=True)
    # Left running when the test ends, as the system's would be: suites
    # run in parallel, and another may be writing to it already.
    subprocess.Popen([binary], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True)
    wait_until(lambda: os.path.exists(sock) and subprocess.run(
        ["systemd-cat", "-t", "upmon-probe", "true"]).returncode == 0, 10, "journald")


class Pki:
    """A private certificate authority made with the openssl command in a
    directory of the test's: ca.pem, and certificates it signs."""

    def __init__(self, name="upmon test CA"):
        if not shutil.which("openssl"):
            raise Skip("openssl is not installed")
        self.dir = tmpdir()
        self.ca, self.ca_key = self.path("ca.pem"), self.path("ca.key")
        self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                      "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", self.ca_key,
                      "-out", self.ca, "-days", "30", "-subj", "/CN=" + name)

    def path(self, name):
        return os.path.join(self.dir, name)

    def _openssl(self, *args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True)

    def issue(self, name, cn, san=None, client=False, days=30):
        """Signs a new key's certificate: (name.pem, name.key)."""
        cert, key, csr = self.path(name + ".pem"), self.path(name + ".key"), self.path(name + ".csr")
        ext = self.path(name + ".ext")
        write(ext, "basicConstraints=CA:FALSE\nextendedKeyUsage=%s\n%s"
              % ("clientAuth" if client else "serverAuth",
                 "subjectAltName=%s\n" % san if san else ""))
        self._openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                      "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=" + cn)
        self._openssl("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key,
                      "-CAcreateserial", "-out", cert, "-days", str(days), "-extfile", ext)
        return cert, key


class Receiver(Fixture):
    """The fixture webhook receiver. It validates every body it gets against
    the schema of the format its path was declared with (hook()), and the
    test that started it fails if one does not validate."""

    def __init__(self):
        super().__init__("receiver.py", python=SCHEMA_PYTHON)
        check_after(self.assert_valid)

    def hook(self, path, fmt="standard"):
        """The URL of a webhook of format fmt at path, for a configuration."""
        self.get("/_format?" + urllib.parse.urlencode({"path": path, "f": fmt}))
        return self.url(path)

    def assert_valid(self):
        got = self.json("/_violations")
        if got["unchecked"]:
            note("webhook bodies not validated against schema/: " + got["unchecked"])
        assert not got["violations"], "webhook bodies that do not match their schema:\n" + \
            "\n".join(got["violations"])


def receiver_fixture():
    return Receiver()


class Dns(Fixture):
    """The fixture DNS server (fixtures/dns.py) on port 53 of an address of
    127.53.0.0/16 picked at random, so that tests running at once (and
    other test runs on the machine) do not meet; .addr is the address.
    rules as dns.py takes them; with none it answers nothing. Needs root
    (port 53)."""

    def __init__(self, rules=()):
        if os.geteuid() != 0:
            raise Skip("the fixture DNS server needs root to listen on port 53")
        import random
        for attempt in range(8):
            self.addr = "127.53.%d.%d" % (random.randrange(1, 255), random.randrange(1, 255))
            try:
                super().__init__("dns.py", [self.addr] + list(rules))
                return
            except RuntimeError as e:
                err = e
        raise Skip("the fixture DNS server could not listen on 127.53.0.0/16 port 53: %s" % err)


def dns_namespace(d, nameserver, options="timeout:3 attempts:1", hosts=None):
    """A wrapper (a command prefix for Daemon or run) that runs upmond in a
    mount namespace of its own where /etc/resolv.conf names `nameserver`
    with these options, and, if hosts is given, /etc/hosts has that text.
    Skips the test where namespaces are not available."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        raise Skip("needs root and unshare(1) to give upmond its own resolv.conf")
    conf = write(os.path.join(d, "resolv.conf"),
                 "nameserver %s\noptions %s\n" % (nameserver, options))
    script = 'mount --bind "$0" /etc/resolv.conf'
    args = [conf]
    if hosts is not None:
        args.append(write(os.path.join(d, "hosts"), hosts))
        script += ' && mount --bind "$1" /etc/hosts && shift'
    probe = run([], cmd=["unshare", "-m", "sh", "-c", script + ' && cat /etc/resolv.conf'] + args)
    if probe.returncode != 0 or nameserver not in probe.stdout:
        raise Skip("cannot bind-mount resolv.conf in a mount namespace: %s" % probe.stderr)
    return ["unshare", "-m", "sh", "-c", script + ' && exec "$@"'] + args


def run(args, timeout=60, env=None, cmd=None, binary=False):
    """Runs upmond (or cmd + args) to completion; kills it and fails the test
    if it takes longer than timeout seconds. Returns the CompletedProcess,
    with .elapsed in seconds; with binary, its output as bytes, as they
    were written."""
    full = (cmd or [UPMOND]) + list(args)
    e = dict(os.environ)
    e.pop("NOTIFY_SOCKET", None)
    e.pop("JOURNAL_STREAM", None)
    e["LC_ALL"] = "C"  # messages (getopt's, strerror's) in English
    e.update(env or {})
    t0 = time.monotonic()
    try:
        p = subprocess.run(full, capture_output=True, text=not binary, timeout=timeout, env=e,
                           stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
    except subprocess.TimeoutExpired as ex:
        raise AssertionError("%s did not finish within %ss; stderr so far:\n%s" %
                             (" ".join(full), timeout, ex.stderr)) from None
    p.elapsed = time.monotonic() - t0
    return p


class Daemon:
    """upmond in the foreground; stderr is collected line by line."""

    def __init__(self, args, env=None, wrapper=None, stdout=subprocess.PIPE):
        e = dict(os.environ)
        e.pop("NOTIFY_SOCKET", None)
        e.pop("JOURNAL_STREAM", None)
        e["LC_ALL"] = "C"
        e.update(env or {})
        self.lines = []
        self.lock = threading.Lock()
        self.proc = subprocess.Popen((wrapper or []) + [UPMOND] + list(args), env=e,
                                     stdin=subprocess.DEVNULL, stdout=stdout,
                                     stderr=subprocess.PIPE, text=True,
                                     preexec_fn=_die_with_parent)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        _daemons.append(self)
        cleanup(self.kill)

    def _read(self):
        for line in self.proc.stderr:
            with self.lock:
                self.lines.append(line.rstrip("\n"))

    def log(self):
        with self.lock:
            return list(self.lines)

    def grep(self, pattern):
        r = re.compile(pattern)
        return [l for l in self.log() if r.search(l)]

    def wait_log(self, pattern, timeout=10.0, count=1):
        return wait_until(lambda: len(self.grep(pattern)) >= count and self.grep(pattern),
                          timeout, lambda: "log line /%s/ x%d; log so far:\n%s" %
                          (pattern, count, "\n".join(self.log()[-30:])))

    def send(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        """Signals and waits; returns (exit status, seconds it took)."""
        t0 = time.monotonic()
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=timeout)
        self.reader.join(timeout=5)
        return rc, time.monotonic() - t0

    def stdout(self):
        return self.proc.stdout.read() if self.proc.stdout else ""

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def config(dirpath, text, name="upmon.yaml"):
    """Writes a configuration file (YAML text) into dirpath; returns its path."""
    return write(os.path.join(dirpath, name), text)


def once_json(cfg, extra=()):
    """upmond --once --json: (exit status, {target: result}, process)."""
    p = run(["--once", "--json", "-c", cfg] + list(extra))
    results = {}
    for line in p.stdout.splitlines():
        try:
            o = json.loads(line)
        except ValueError:
            raise AssertionError("--once --json printed a line that is not JSON: %r" % line)
        assert o["target"] not in results, ("target reported twice", line)
        results[o["target"]] = o
    return p.returncode, results, p


def skip_all(reason):
    """Skips the whole file (exit 77) because a precondition is missing."""
    print("SKIP: " + reason)
    print("0 passed, 0 failed", flush=True)
    sys.exit(77)


def main(namespace):
    tests = [(n, f) for n, f in namespace.items() if n.startswith("test_") and callable(f)]
    only = sys.argv[1:]
    unknown = [n for n in only if n not in dict(tests)]
    if unknown:
        print("no such test: %s" % " ".join(unknown))
        sys.exit(2)
    passed = failed = skipped = 0
    if not os.access(UPMOND, os.X_OK):
        skip_all("upmond is not built at %s (set UPMOND to the binary)" % UPMOND)
    if not os.path.isdir(FIXTURES):
        skip_all("the fixture servers are not at %s (set UPMON_SOURCE_DIR)" % FIXTURES)
    for name, fn in tests:
        if only and name not in only:
            continue
        t0 = time.monotonic()
        try:
            fn()
            run_checks()
            passed += 1
            print("ok %s (%.1fs)" % (name, time.monotonic() - t0), flush=True)
        except Skip as e:
            skipped += 1
            print("skip %s: %s" % (name, e), flush=True)
        except Exception:
            failed += 1
            print("FAIL %s (%.1fs)" % (name, time.monotonic() - t0), flush=True)
            traceback.print_exc(file=sys.stdout)
            for check in _checks:  # what they would have found, if anything
                try:
                    check()
                except Exception as e:
                    print("-- and after the test: %s" % e)
            for n, dm in enumerate(_daemons, 1):
                print("-- upmond #%d, %s; the end of its log:" % (n, " ".join(dm.proc.args)))
                print("\n".join(dm.log()[-40:]))
            for fn in _reporters:
                try:
                    print(fn())
                except Exception as e:
                    print("-- (no report: %s)" % e)
            sys.stdout.flush()
        finally:
            del _checks[:]
            run_cleanups()
            del _daemons[:]
    if skipped:
        print("(%d skipped)" % skipped)
    all_skipped = skipped and not passed and not failed
    if all_skipped:
        print("SKIP: every test was skipped")
    print("%d passed, %d failed" % (passed, failed), flush=True)
    sys.exit(1 if failed else 77 if all_skipped else 0)
