#!/usr/bin/env python3
"""Host names, looked up by upmond itself on its loop (libevent's evdns)
and handed to curl: against a fixture DNS server on 127.53.0.0/16 that
upmond finds through its own /etc/resolv.conf (a mount namespace), with
/etc/hosts of the test's too. Every address of a name is tried, ip_version
asks for A or AAAA, names of /etc/hosts and localhost need no server,
connect_to and proxy names are looked up as well, a failure says why,
answers are shared and kept for dns_cache, at most max_lookups are in
flight, and a changed /etc/resolv.conf is read again."""
import json
import os
import re

import harness as h

HOSTS = "127.0.0.1 localhost\n::1 localhost\n127.0.0.1 upmon-hosts.test\n"


def setup(rules, options="timeout:5 attempts:2", hosts=HOSTS):
    d, dns = h.tmpdir(), h.Dns(rules)
    return d, dns, h.dns_namespace(d, dns.addr, options=options, hosts=hosts)


def once(wrapper, d, body):
    cfg = h.config(d, body)
    p = h.run(["--once", "--json", "-c", cfg], cmd=wrapper + [h.UPMOND])
    res = {}
    for line in p.stdout.splitlines():
        o = json.loads(line)
        res[o["target"]] = o
    return res, p


def test_addresses_ip_versions_and_failures():
    srv, proxy = h.http_fixture(), h.Fixture("proxy.py")
    d, dns, wrapper = setup(["multi.upmon.test=127.0.0.3,127.0.0.1",
                             "v4only.upmon.test=127.0.0.1", "dual.upmon.test=127.0.0.1,::1",
                             "v6only.upmon.test=::1", "gone.upmon.test=nxdomain",
                             "ok.upmon.test=127.0.0.1"])
    port = srv.port
    u = lambda host, path="/status/200": "http://%s:%d%s" % (host, port, path)
    res, p = once(wrapper, d, "defaults: {timeout: 3s}\ntargets:\n" + "".join(
        "  - {name: %s, url: '%s'%s}\n" % t for t in [
            # Nothing listens on 127.0.0.3: curl goes on to the next address.
            ("multi", u("multi.upmon.test"), ""),
            ("v4", u("v4only.upmon.test"), ", ip_version: 4"),
            ("v4-as-6", u("v4only.upmon.test"), ", ip_version: 6"),
            # The fixture listens on 127.0.0.1 only: [::1] is refused.
            ("dual-6", u("dual.upmon.test"), ", ip_version: 6"),
            ("dual-4", u("dual.upmon.test"), ", ip_version: 4"),
            ("dual-any", u("dual.upmon.test"), ""),
            ("v6only", u("v6only.upmon.test"), ""),
            ("gone", u("gone.upmon.test"), ""),
            ("silent", u("silent.upmon.test"), ", timeout: 300ms"),
            ("bad-name", u("x" * 64 + ".upmon.test"), ""),
            ("hosts", u("upmon-hosts.test"), ""),
            ("hosts-upper", u("UPMON-Hosts.test"), ""),
            ("localhost", u("localhost"), ""),
            ("connect-to", "http://www.upmon.invalid/status/204",
             ", connect_to: 'n1.ok.upmon.test:%d'" % port),
            ("proxied", srv.url("/status/202"),
             ", proxy: 'http://proxy.ok.upmon.test:%d'" % proxy.port),
        ]))
    assert p.returncode == 2, (p.returncode, p.stderr)
    for name in ("multi", "v4", "dual-4", "dual-any", "hosts", "hosts-upper", "localhost"):
        assert res[name]["state"] == "up", res[name]
    assert res["connect-to"]["code"] == 204 and res["connect-to"]["state"] == "up", res
    assert res["proxied"]["code"] == 202, res["proxied"]
    assert ["GET", srv.url("/status/202"), None] in proxy.json("/_log")
    for name in ("dual-6", "v6only"):
        assert res[name]["error"] == "connect", res[name]
    for name, why in (("v4-as-6", r"Could not resolve host: v4only\.upmon\.test "
                                  r"\(no IPv6 address\)"),
                      ("gone", r"Could not resolve host: gone\.upmon\.test \(no such name\)"),
                      ("silent", r"Resolving silent\.upmon\.test timed out after 3\d\d ms: "
                                 r"no answer from the name servers"),
                      ("bad-name", r"Could not resolve host: x{64}\.upmon\.test "
                                   r"\(not a valid host name\)")):
        assert res[name]["error"] == "dns" and re.fullmatch(why, res[name]["message"]), res[name]
    # The lookup is part of the probe's timings, and of its timeout.
    assert res["multi"]["timings"]["dns_ms"] > 0, res["multi"]
    assert res["multi"]["timings"]["connect_ms"] >= res["multi"]["timings"]["dns_ms"]
    assert res["silent"]["latency_ms"] < 400, res["silent"]
    asked = dns.json("/_log")["names"]
    # Names of /etc/hosts, localhost and a connect_to URL's own host are
    # never asked; an invalid name cannot be.
    for name in ("upmon-hosts.test", "localhost", "www.upmon.invalid"):
        assert name not in asked, asked
    assert not any(n.startswith("xxxx") for n in asked), asked
    assert asked.get("proxy.ok.upmon.test") and asked.get("n1.ok.upmon.test"), asked


def test_answers_are_shared_and_kept():
    """Five targets of one name: one lookup between them, and none again
    while dns_cache lasts; with dns_cache 0 each run asks again."""
    srv = h.http_fixture()
    d, dns, wrapper = setup(["ok.upmon.test=127.0.0.1"])
    for cache, names in (("60s", ("kept.ok.upmon.test",)), ("0", ("fresh.ok.upmon.test",))):
        cfg = h.config(d, "engine: {dns_cache: %s}\nalerts: {journald: false}\n"
                          "defaults: {interval: 1s}\ntargets:\n" % cache + "".join(
                              "  - {name: t%d, url: 'http://%s:%d/status/200'}\n"
                              % (i, names[0], srv.port) for i in range(5)))
        dm = h.Daemon(["-c", cfg, "--state-dir", os.path.join(d, "state-" + cache), "-v",
                       "--stats"], wrapper=wrapper)
        for i in range(5):
            dm.wait_log(r"debug: t%d: 200 up" % i, count=3)
        dm.stop()
        stats = json.loads(dm.stdout().strip().splitlines()[-1])
        asked = dns.json("/_log")["names"].get(names[0], 0)
        if cache == "60s":
            assert asked == 2, (asked, stats)  # A and AAAA, once
            assert stats["dns_lookups"] == 1 and stats["dns_cache_hits"] >= 10, stats
        else:
            assert asked >= 2 * 3, (asked, stats)  # a lookup per run at least
            assert stats["dns_cache_hits"] == 0, stats


def test_lookups_in_flight_are_bounded():
    """With max_lookups 3 and a name server that never answers, three
    lookups are out at a time; the others wait, and a probe whose lookup
    never left the queue says so."""
    srv = h.http_fixture()
    d, dns, wrapper = setup([])
    cfg = h.config(d, "engine: {max_lookups: 3}\nalerts: {journald: false}\n"
                      "defaults: {interval: 5s, timeout: 2s}\ntargets:\n" + "".join(
                          "  - {name: s%d, url: 'http://n%d.silent.upmon.test/'}\n" % (i, i)
                          for i in range(20)) +
                      "  - {name: ip, url: '%s'}\n" % srv.url("/status/200"))
    dm = h.Daemon(["-c", cfg, "--state-dir", os.path.join(d, "state")], wrapper=wrapper)
    dm.wait_log(r"info: ip: unknown -> up")
    dm.wait_log(r"s\d+: unknown -> unreachable \(dns: Resolving n\d+\.silent\.upmon\.test timed "
                r"out after 2\d\d\d ms waiting for a free lookup \(engine\.max_lookups: 3\)\)",
                timeout=10)
    dm.wait_log(r"s\d+: unknown -> unreachable \(dns: .* no answer from the name servers\)")
    dm.stop()
    # The first lookups are given up at their 2 s deadline; until then no
    # other went out: three names, A and AAAA each.
    log = dns.json("/_log")["log"]
    first = min(t for _, _, t in log)
    early = [(n, q) for n, q, t in log if t < first + 1.9]
    assert len(early) == 6 and len({n for n, _ in early}) == 3, early


def test_a_changed_resolv_conf_is_read_again():
    """The name server of /etc/resolv.conf changes while upmond runs (a
    DHCP lease, a VPN): the next lookups ask the new one, without a
    reload."""
    srv = h.http_fixture()
    d, silent, wrapper = setup([])
    answering = h.Dns(["ok.upmon.test=127.0.0.1"])
    cfg = h.config(d, "alerts: {journald: false}\ndefaults: {interval: 1s, timeout: 500ms}\n"
                      "targets:\n  - {name: t, url: 'http://n.ok.upmon.test:%d/status/200'}\n"
                      % srv.port)
    dm = h.Daemon(["-c", cfg, "--state-dir", os.path.join(d, "state")], wrapper=wrapper)
    dm.wait_log(r"info: t: unknown -> unreachable \(dns: ")
    # Written in place: the namespace sees the file bind-mounted over its own.
    h.write(os.path.join(d, "resolv.conf"),
            "nameserver %s\noptions timeout:5 attempts:2\n" % answering.addr)
    dm.wait_log(r"/etc/resolv.conf changed: 1 name server", timeout=5)
    dm.wait_log(r"info: t: unreachable -> up", timeout=5)
    assert answering.json("/_log")["names"].get("n.ok.upmon.test"), answering.json("/_log")
    dm.stop()


if __name__ == "__main__":
    h.main(globals())
