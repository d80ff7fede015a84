"""A real systemd for upmon's system tests: this machine's own OS booted as a
container with systemd-nspawn, so that units run under a real PID 1 even
where the machine's own PID 1 is not systemd.

The container's root is an overlay of the machine's root whose writable
layer is a tmpfs: whatever the tests install or change there (a package,
/etc, the journal) is gone when the container is, and the layer itself
shows exactly what changed, file by file (Container.changes). It boots to a
target of its own, sysinit and sockets only, so none of the machine's
services start in it; it shares the machine's network, so fixture servers
on 127.0.0.1 (tests/integration/harness.py) are reachable from inside.

Everything runs in a mount namespace of the test process's own (require()
makes it): the overlay, its tmpfs and what systemd-nspawn keeps under
/run/systemd vanish with the process, however it ends. systemd-nspawn gets
SIGTERM when the test process dies, which powers the container off."""
import atexit
import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "integration"))
import harness as h  # noqa: E402

BOOT_TARGET = "upmon-test.target"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS = 0x00020000
MS_REC, MS_PRIVATE = 0x4000, 1 << 18


def _mount(source, target, fstype, options=""):
    subprocess.run(["mount", "-t", fstype, "-o", options or "defaults", source, target],
                   check=True, capture_output=True, text=True)


def require():
    """Skips the whole test file (exit 77, saying why) unless a container
    can be booted here; then moves this process into a mount namespace of
    its own (see the module's comment). Call before anything starts a
    thread."""
    if os.geteuid() != 0:
        h.skip_all("booting a container with systemd-nspawn needs root")
    if not shutil.which("systemd-nspawn"):
        h.skip_all("systemd-nspawn is not installed (apt-get install systemd-container)")
    for tool in ("nsenter", "mount", "umount"):
        if not shutil.which(tool):
            h.skip_all("%s is not installed (util-linux, mount)" % tool)
    if not any(os.access(p, os.X_OK) for p in ("/lib/systemd/systemd", "/usr/lib/systemd/systemd")):
        h.skip_all("systemd is not installed: there is nothing to boot")
    if _libc.unshare(CLONE_NEWNS) != 0:
        h.skip_all("cannot make a mount namespace: %s" % os.strerror(ctypes.get_errno()))
    if _libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        h.skip_all("cannot make the mounts private: %s" % os.strerror(ctypes.get_errno()))
    # systemd-nspawn keeps locks and a directory per machine under
    # /run/systemd/nspawn: here, in a tmpfs of this namespace's.
    os.makedirs("/run/systemd", exist_ok=True)
    try:
        _mount("tmpfs", "/run/systemd", "tmpfs", "mode=0755")
    except subprocess.CalledProcessError as e:
        h.skip_all("cannot mount a tmpfs: %s" % e.stderr.strip())


class Container:
    """The machine's OS booted in a container named name; binds are more
    systemd-nspawn options (--bind-ro=...). Powered off at exit, or by
    poweroff()."""

    def __init__(self, name, binds=(), boot_timeout=60):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="upmon-system-")
        self.layers = os.path.join(self.dir, "layers")
        self.root = os.path.join(self.dir, "root")
        self.upper = os.path.join(self.layers, "upper")
        self.console = os.path.join(self.dir, "console.log")
        self.pid = None
        self.nspawn = None
        os.mkdir(self.layers)
        os.mkdir(self.root)
        atexit.register(self.poweroff)
        _mount("tmpfs", self.layers, "tmpfs", "mode=0755")
        os.mkdir(self.upper)
        os.mkdir(os.path.join(self.layers, "work"))
        try:
            _mount("overlay", self.root, "overlay", "lowerdir=/,upperdir=%s,workdir=%s" %
                   (self.upper, os.path.join(self.layers, "work")))
        except subprocess.CalledProcessError as e:
            h.skip_all("cannot mount an overlay of / for the container: %s" % e.stderr.strip())
        units = os.path.join(self.root, "etc/systemd/system")
        os.makedirs(units, exist_ok=True)
        h.write(os.path.join(units, BOOT_TARGET),
                "[Unit]\nDescription=upmon system tests: the base system and nothing else\n"
                "Requires=sysinit.target sockets.target\n"
                "After=sysinit.target sockets.target\nAllowIsolate=yes\n")
        with open(self.console, "w") as log:
            self.nspawn = subprocess.Popen(
                ["systemd-nspawn", "--quiet", "--directory=" + self.root, "--boot",
                 "--register=no", "--keep-unit", "--machine=" + name, "--console=read-only"] +
                list(binds) + ["--", "systemd.firstboot=off", "systemd.unit=" + BOOT_TARGET],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=_poweroff_with_parent)
        t0 = time.monotonic()
        self.pid = self._wait_init(boot_timeout)
        state = h.wait_until(self._booted, boot_timeout, lambda: "the container to boot; "
                             "console:\n" + self.console_tail())
        self.boot_seconds = time.monotonic() - t0
        if state not in ("running", "degraded"):
            raise AssertionError("the container booted %s: %s" % (state, self.run(
                "systemctl", "--failed", "--no-legend", check=False).stdout))

    def _wait_init(self, timeout):
        """The container's PID 1, as this machine sees it: the child of
        systemd-nspawn in a PID namespace of its own."""
        mine = os.readlink("/proc/self/ns/pid")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.nspawn.poll() is not None:
                h.skip_all("systemd-nspawn cannot boot a container here (exit %d):\n%s" %
                           (self.nspawn.returncode, self.console_tail()))
            try:
                with open("/proc/%d/task/%d/children" % (self.nspawn.pid, self.nspawn.pid)) as f:
                    for child in f.read().split():
                        if os.readlink("/proc/%s/ns/pid" % child) != mine:
                            return int(child)
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("systemd-nspawn started no init within %ds:\n%s" %
                             (timeout, self.console_tail()))

    def _booted(self):
        if self.nspawn.poll() is not None:
            raise AssertionError("the container stopped while booting:\n" + self.console_tail())
        p = self.run("systemctl", "is-system-running", check=False)
        state = p.stdout.strip()
        return state if state in ("running", "degraded", "maintenance") else None

    def console_tail(self, lines=40):
        try:
            with open(self.console, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def run(self, *cmd, check=True, timeout=60, input=None):
        """Runs cmd inside the container (all its namespaces, its root), with
        a clean environment; fails the test if check and it fails."""
        full = ["nsenter", "-t", str(self.pid), "-a", "env", "-i", "PATH=" + PATH, "LC_ALL=C",
                "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0", "TERM=dumb"] + list(cmd)
        try:
            p = subprocess.run(full, capture_output=True, text=True, timeout=timeout,
                               input=input, stdin=None if input is not None else subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            raise AssertionError("in the container, %s did not end within %ss; output so far:\n%s"
                                 % (" ".join(cmd), timeout, e.stdout)) from None
        if check and p.returncode != 0:
            raise AssertionError("in the container, %s failed (exit %d):\n%s%s" %
                                 (" ".join(cmd), p.returncode, p.stdout, p.stderr))
        return p

    def path(self, p):
        """Where this machine reaches the container's path p (as the
        container sees its own files, its /tmp and /run included)."""
        return "/proc/%d/root%s" % (self.pid, p)

    def write(self, p, text, mode=0o644):
        full = self.path(p)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        h.write(full, text)
        os.chmod(full, mode)
        return p

    def read(self, p):
        with open(self.path(p)) as f:
            return f.read()

    def exists(self, p):
        return os.path.lexists(self.path(p))

    def remove(self, p):
        full = self.path(p)
        if os.path.isdir(full) and not os.path.islink(full):
            shutil.rmtree(full)
        elif os.path.lexists(full):
            os.unlink(full)

    def cursor(self):
        """A journal cursor: journal(after=...) shows what came after it."""
        out = self.run("journalctl", "-n", "0", "--show-cursor", "--no-pager").stdout
        return out.strip().rsplit("-- cursor: ", 1)[1]

    def journal(self, *args, after=None):
        """The journal's lines (messages only unless args say otherwise)."""
        cmd = ["journalctl", "--no-pager", "-q"] + (["--after-cursor", after] if after else [])
        if not any(a.startswith("-o") for a in args):
            cmd += ["-o", "cat"]
        return self.run(*(cmd + list(args))).stdout.splitlines()

    def changes(self):
        """Every path the container added, changed or deleted since it was
        booted from this machine's root, as {path: kind}: kind is "dir",
        "link", "file" or "deleted" (an overlay whiteout). /run, /tmp and the
        API file systems are mounts of the container's own and not in it."""
        out = {}
        for top, dirs, files in os.walk(self.upper):
            for n in dirs + files:
                full = os.path.join(top, n)
                rel = "/" + os.path.relpath(full, self.upper)
                st = os.lstat(full)
                if os.path.islink(full):
                    out[rel] = "link"
                elif os.path.isdir(full):
                    out[rel] = "dir"
                elif (st.st_mode & 0o170000) == 0o020000 and st.st_rdev == 0:
                    out[rel] = "deleted"
                else:
                    out[rel] = "file"
        return out

    def poweroff(self, timeout=30):
        """SIGTERM to systemd-nspawn shuts the container down; then its
        mounts go."""
        if self.nspawn is not None and self.nspawn.poll() is None:
            self.nspawn.send_signal(signal.SIGTERM)
            try:
                self.nspawn.wait(timeout)
            except subprocess.TimeoutExpired:
                self.nspawn.kill()
                self.nspawn.wait()
        self.nspawn = None
        for m in (self.root, self.layers):
            if os.path.ismount(m):
                if subprocess.run(["umount", m], capture_output=True).returncode != 0:
                    subprocess.run(["umount", "-l", m], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


def _poweroff_with_parent():
    """preexec_fn: systemd-nspawn gets SIGTERM (a clean shutdown of the
    container) if the test process dies."""
    _libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG


class Unit:
    """A systemd unit in the container."""

    def __init__(self, box, name):
        self.box, self.name = box, name

    def ctl(self, *args, check=True, timeout=60):
        return self.box.run("systemctl", *(list(args) + [self.name]), check=check,
                            timeout=timeout)

    def show(self, *props):
        out = self.box.run("systemctl", "show", self.name, *("-p" + p for p in props)).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def prop(self, name):
        return self.show(name)[name]

    def main_pid(self):
        return int(self.prop("MainPID"))

    def journal(self, after=None):
        return self.box.journal("-u", self.name, after=after)

    def wait_journal(self, pattern, after=None, timeout=15, count=1):
        """Waits for count lines of this unit's journal (after the cursor)
        that match the regular expression; returns them."""
        r = re.compile(pattern)

        def matching():
            lines = [line for line in self.journal(after) if r.search(line)]
            return lines if len(lines) >= count else None
        return h.wait_until(matching, timeout, lambda: "/%s/ x%d in the journal of %s; its end:\n%s"
                            % (pattern, count, self.name, "\n".join(self.journal(after)[-30:])))
