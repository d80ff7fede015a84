#!/usr/bin/env python3
"""The Debian package (debian/): built with dpkg-buildpackage -us -uc -b in a
copy of the source tree, as an operator would build it; checked with
lintian; installed with dpkg into a container of this machine's OS booted
with systemd-nspawn (tests/system/nspawn.py), where postinst enables and
starts upmond.service; upgraded to a package of a higher version, built
again from the same tree with a new debian/changelog entry, without losing
the service's state or paging again; and purged, leaving nothing behind.

The second build reuses the first one's compiled tree (-nc) and skips the
unit tests it already ran (nocheck): it is a real package of that version,
made by the same debian/rules."""
import os
import re
import shutil
import subprocess
import tempfile
import time

import nspawn
import harness as h

BUILD = os.environ.get("UPMON_BUILD_DIR") or os.path.dirname(os.path.dirname(h.UPMOND))
CATALOG_ID = "fae04c57cc4b4b288cb6f314c58b5cdd"  # "down", in systemd/upmon.catalog
work = None  # the copy of the tree and the packages built from it
debs = {}  # version -> .deb
ARCH = subprocess.run(["dpkg", "--print-architecture"], capture_output=True,
                      text=True).stdout.strip()


def project_version():
    with open(os.path.join(h.SRC, "CMakeLists.txt")) as f:
        return re.search(r"^project\(upmon VERSION ([0-9.]+)", f.read(), re.M).group(1)


VERSION = project_version()
UPGRADE = VERSION + "+rebuild1"


def setup():
    global work
    if h.SANITIZED:
        h.skip_all("the package is built from the source tree, not from this build; the "
                   "regular build's run covers it")
    nspawn.require()
    for tool, pkg in (("dpkg-buildpackage", "dpkg-dev"), ("dh", "debhelper")):
        if not shutil.which(tool):
            h.skip_all("%s is not installed (apt-get install %s)" % (tool, pkg))
    p = subprocess.run(["dpkg-checkbuilddeps"], cwd=h.SRC, capture_output=True, text=True)
    if p.returncode != 0:
        h.skip_all("the package's build dependencies are missing: " + p.stderr.strip())
    work = tempfile.mkdtemp(prefix="upmon-package-")
    import atexit
    atexit.register(shutil.rmtree, work, True)
    copy_tree(h.SRC, os.path.join(work, "upmon"))


def copy_tree(src, dst):
    """The files a clean clone has: what git tracks and what it would track,
    or, without git, the tree without build directories."""
    p = subprocess.run(["git", "-C", src, "ls-files", "-z", "--cached", "--others",
                        "--exclude-standard"], capture_output=True)
    if p.returncode == 0 and shutil.which("git"):
        for rel in p.stdout.decode().split("\0"):
            if rel and os.path.lexists(os.path.join(src, rel)):
                os.makedirs(os.path.dirname(os.path.join(dst, rel)), exist_ok=True)
                shutil.copy2(os.path.join(src, rel), os.path.join(dst, rel), follow_symlinks=False)
    else:
        shutil.copytree(src, dst, symlinks=True, ignore=shutil.ignore_patterns(
            "build*", ".git", "node_modules", "__pycache__", "obj-*", "ci-clone"))


def build(version, *extra, env=None):
    """dpkg-buildpackage -us -uc -b in the copy; returns the .deb of version."""
    t0 = time.monotonic()
    log = os.path.join(work, "build-%s.log" % version)
    e = dict(os.environ, DEB_BUILD_OPTIONS="parallel=2", LC_ALL="C.UTF-8")
    e.update(env or {})
    for k in ("UPMOND", "UPMON_BUILD_DIR", "UPMON_SOURCE_DIR"):  # the tests of the build
        e.pop(k, None)
    with open(log, "w") as out:
        rc = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b"] + list(extra),
                            cwd=os.path.join(work, "upmon"), stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, env=e).returncode
    with open(log) as f:
        assert rc == 0, "dpkg-buildpackage failed:\n" + "".join(f.readlines()[-60:])
    deb = os.path.join(work, "upmon_%s_%s.deb" % (version, ARCH))
    assert os.path.exists(deb), (deb, os.listdir(work))
    h.note("dpkg-buildpackage %s: %.0fs" % (" ".join(extra) or "-us -uc -b", time.monotonic() - t0))
    debs[version] = deb
    return deb


def deb_files(deb):
    out = subprocess.run(["dpkg-deb", "--fsys-tarfile", deb], capture_output=True, check=True)
    names = subprocess.run(["tar", "-t"], input=out.stdout, capture_output=True, check=True)
    return sorted("/" + n[2:].rstrip("/") for n in names.stdout.decode().splitlines()
                  if not n.endswith("/"))


def test_the_package_is_named_by_the_projects_version():
    deb = build(VERSION)
    field = lambda f: subprocess.run(["dpkg-deb", "-f", deb, f], capture_output=True,
                                     text=True, check=True).stdout.strip()
    assert field("Package") == "upmon" and field("Version") == VERSION
    files = deb_files(deb)
    # What cmake --install puts in place, nothing more, nothing less (but
    # for debian/'s changelog, copyright and lintian overrides, and the
    # compressed pages).
    prefix = ""
    with open(os.path.join(BUILD, "CMakeCache.txt")) as f:
        m = re.search(r"^CMAKE_INSTALL_PREFIX:PATH=(.*)$", f.read(), re.M)
        prefix = m.group(1) if m else ""
    if prefix == "/usr":
        dest = tempfile.mkdtemp(prefix="upmon-install-")
        h.cleanup(lambda: shutil.rmtree(dest, ignore_errors=True))
        subprocess.run(["cmake", "--install", BUILD], env=dict(os.environ, DESTDIR=dest),
                       capture_output=True, check=True)
        installed = sorted("/" + os.path.relpath(os.path.join(top, n), dest)
                           for top, _, names in os.walk(dest) for n in names)
        packaged = [re.sub(r"^(/usr/share/(man|doc)/.*)\.gz$", r"\1", f) for f in files
                    if f not in ("/usr/share/doc/upmon/changelog.gz",
                                 "/usr/share/doc/upmon/copyright",
                                 "/usr/share/lintian/overrides/upmon")]
        assert packaged == installed, (sorted(set(packaged) ^ set(installed)))
    else:
        h.note("the build's prefix is %s, not /usr: the package's files are not compared "
               "with cmake --install's" % prefix)
    for f in ("/usr/sbin/upmond", "/lib/systemd/system/upmond.service",
              "/lib/systemd/system/upmond@.service", "/usr/lib/systemd/catalog/upmon.catalog",
              "/etc/upmon/upmon.yaml", "/etc/upmon/watch.d/example.yaml",
              "/usr/share/man/man8/upmond.8.gz", "/usr/share/upmon/watch-list.schema.json"):
        assert f in files, (f, files)
    control = os.path.join(work, "control")
    subprocess.run(["dpkg-deb", "-e", deb, control], check=True)
    with open(os.path.join(control, "conffiles")) as f:
        assert f.read().split() == ["/etc/upmon/upmon.yaml", "/etc/upmon/watch.d/example.yaml"]


def test_lintian_finds_no_error_and_no_warning():
    if not shutil.which("lintian"):
        raise h.Skip("lintian is not installed")
    if VERSION not in debs:
        raise h.Skip("no package was built")
    changes = os.path.join(work, "upmon_%s_%s.changes" % (VERSION, ARCH))
    # Every tag left is an info one, or is overridden in debian/ with a reason.
    p = subprocess.run(["lintian", "--fail-on", "error,warning", "--info", "--display-info",
                        "--show-overrides", changes], capture_output=True, text=True)
    h.note("lintian:\n" + (p.stdout.strip() or "(nothing)"))
    assert p.returncode == 0, p.stdout + p.stderr


def test_install_upgrade_and_purge():
    if VERSION not in debs:
        raise h.Skip("no package was built")
    # The next version: one more changelog entry, the same tree.
    changelog = os.path.join(work, "upmon", "debian", "changelog")
    with open(changelog) as f:
        old = f.read()
    h.write(changelog, "upmon (%s) unstable; urgency=medium\n\n  * Rebuilt, to test upgrades.\n\n"
                       " -- upmon tests <tests@upmon.invalid>  %s\n\n" %
            (UPGRADE, time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())) + old)
    build(UPGRADE, "-nc", env={"DEB_BUILD_OPTIONS": "parallel=2 nocheck"})

    srv, rcv = h.http_fixture(), h.receiver_fixture()
    box = nspawn.Container("upmon-package-%d" % os.getpid(),
                           binds=["--bind-ro=%s:/run/upmon-packages" % work])
    h.cleanup(box.poweroff)
    h.on_failure(lambda: "-- the container's journal, its end:\n" +
                 "\n".join(box.journal("-n", "60", "-o", "short-monotonic")))
    # A container image's policy-rc.d (Docker's keeps services from
    # starting on install) has no place on a booted machine.
    if box.exists("/usr/sbin/policy-rc.d"):
        box.remove("/usr/sbin/policy-rc.d")
        h.note("removed this machine's /usr/sbin/policy-rc.d in the container")
    before = box.changes()
    u = nspawn.Unit(box, "upmond.service")
    deb = lambda v: "/run/upmon-packages/" + os.path.basename(debs[v])

    box.run("dpkg", "-i", deb(VERSION))
    assert u.ctl("is-enabled").stdout.strip() == "enabled"
    assert u.ctl("is-active").stdout.strip() == "active"  # started by postinst
    assert box.run("upmond", "--version").stdout.split()[1] == VERSION
    assert CATALOG_ID in box.run("journalctl", "--list-catalog").stdout  # systemd's trigger

    # The operator's configuration, paging the receiver.
    box.write("/etc/upmon/upmon.yaml", "defaults: {interval: 1s, timeout: 800ms, "
              "failure_threshold: 1}\nalerts:\n  webhooks:\n    - {name: pager, url: '%s', "
              "format: standard}\ntargets:\n  - {name: packaged, url: '%s'}\n" %
              (rcv.hook("/pager"), srv.url("/status/503")))
    mine = box.read("/etc/upmon/upmon.yaml")
    u.ctl("reload")
    h.wait_until(lambda: rcv.json("/_log"), 10, "the alert")
    pid = u.main_pid()

    box.run("dpkg", "-i", deb(UPGRADE))
    version = box.run("dpkg-query", "-W", "-f", "${Version}", "upmon").stdout
    assert version == UPGRADE, version
    assert u.prop("ActiveState") == "active" and u.main_pid() != pid  # restarted
    assert box.read("/etc/upmon/upmon.yaml") == mine  # a changed conffile is kept
    n = len([1 for p, _, _ in srv.json("/_log") if p == "/status/503"])
    h.wait_until(lambda: len([1 for p, _, _ in srv.json("/_log") if p == "/status/503"]) >= n + 3,
                 10, "three probes by the upgraded daemon")
    log = rcv.json("/_log")
    assert len(log) == 1 and log[0]["answer"] == "ok", log  # the state survived: no new page

    box.run("dpkg", "--purge", "upmon")
    assert u.prop("LoadState") == "not-found"
    assert CATALOG_ID not in box.run("journalctl", "--list-catalog").stdout
    after = box.changes()
    # What is left: dpkg's own records, logs, caches and the journal's
    # catalog database; nothing of the package's, no deletion of the
    # machine's files, and at most empty directories of systemd's.
    left = sorted(p for p, kind in after.items() if p not in before and kind != "dir" and
                  not re.match(r"/var/(lib/dpkg|log|cache)/|/var/lib/systemd/catalog/database$", p))
    assert not left, left
    deleted = sorted(p for p, kind in after.items() if kind == "deleted" and before.get(p) != kind)
    assert not deleted, deleted
    # (A directory of this machine's shows in the container's layer too
    # once something was written in it.)
    dirs = sorted(p for p, kind in after.items() if p not in before and kind == "dir" and
                  not os.path.lexists(p) and not re.match(r"/var/(lib/dpkg|log|cache)/", p))
    assert not [d for d in dirs if "upmon" in d], dirs
    h.note("directories left after the purge, with no file in them: %s" %
           (" ".join(dirs) or "none"))


if __name__ == "__main__":
    setup()
    h.main(globals())
