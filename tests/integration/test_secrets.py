#!/usr/bin/env python3
"""No secret reaches what people see. Secrets are planted everywhere a
configuration can hold one (a basic_auth password, a header value from a
file, a header value from a credential, a URL's password, query
parameters of a URL, a proxy's password, a client key, a webhook's
signing secret, the path of a secret webhook URL) and in the Location of
answers (a token asked with and repeated, tokens handed on); the daemon
runs until each has been used (the sites and the proxy saw them) and
alerts have gone to the journal and to webhooks of every format; then
every output channel is searched for them: the log, the journal, webhook
bodies, the state directory, --once in both forms, and --check-config
with and without -v."""
import base64
import glob
import json
import os
import subprocess

import harness as h

SECRETS = {
    "basic": "pw-PLANTED-basic-7f3a",
    "bearer": "tok-PLANTED-bearer-91c2",
    "credential": "cred-PLANTED-header-3e8b",
    "urlpw": "url-PLANTED-pw-55e1",
    "proxypw": "proxy-PLANTED-pw-0b7d",
    "hookpath": "hookpath-PLANTED-4d2e",
    "signing": "whsec_UExBTlRFRC1zaWduaW5nLXNlY3JldC0wMQ==",
    "apikey": "apikey-PLANTED-query-6a9c",
    "session": "session-PLANTED-query-2f71",
    "code": "code-PLANTED-location-8d04",
    "fragment": "fragment-PLANTED-location-c3a9",
}


def forms(secret):
    """A secret as it could leak: itself, and inside the base64 of a basic
    credential."""
    out = [secret]
    for user in ("monitor", "urluser", "proxyuser"):
        out.append(base64.b64encode(("%s:%s" % (user, secret)).encode()).decode())
    return out


def leaks(text, where, key_lines):
    found = []
    for name, secret in SECRETS.items():
        for form in forms(secret):
            if form in text:
                found.append("%s: the %s secret (%s)" % (where, name, form))
    for line in key_lines:
        if line in text:
            found.append("%s: a line of the client key" % where)
    if "PRIVATE KEY" in text:
        found.append("%s: a private key" % where)
    return found


def htpasswd(d, name, user, password):
    hashed = subprocess.run(["openssl", "passwd", "-apr1", password], check=True,
                            capture_output=True, text=True).stdout.strip()
    return h.write(os.path.join(d, name), "%s:%s\n" % (user, hashed))


def test_no_secret_in_any_output():
    h.journald()
    d = h.tmpdir()
    creds = h.tmpdir()
    pki = h.Pki()
    client_ca = h.Pki("upmon client CA")
    ccert, ckey = client_ca.issue("probe", "upmon probe", client=True)
    key_lines = [l for l in open(ckey).read().splitlines() if l and "-----" not in l]
    h.write(os.path.join(creds, "probe-key"), open(ckey).read())
    h.write(os.path.join(creds, "header-token"), SECRETS["credential"] + "\n")
    h.write(os.path.join(creds, "signing"), SECRETS["signing"] + "\n")
    h.write(os.path.join(d, "basic-pw"), SECRETS["basic"] + "\n")
    h.write(os.path.join(d, "bearer"), SECRETS["bearer"] + "\n")
    page = h.write(os.path.join(d, "page.html"), "fine\n")

    basic_users = htpasswd(d, "basic.htpasswd", "monitor", SECRETS["basic"])
    url_users = htpasswd(d, "url.htpasswd", "urluser", SECRETS["urlpw"])
    # Each location answers differently when the secret arrived, so the
    # test knows each was sent; the failing ones raise alerts that carry
    # the target's URL, its message and its Location.
    ngx = h.Nginx(
        "    location = /basic { auth_basic a; auth_basic_user_file %s; alias %s; }\n"
        "    location = /bearer {\n"
        "      if ($http_authorization = 'Bearer %s') { return 503; }\n"
        "      return 403;\n"
        "    }\n"
        "    location = /credential {\n"
        "      if ($http_x_token = '%s') { return 302 /elsewhere; }\n"
        "      return 403;\n"
        "    }\n"
        "    location = /urlpw { auth_basic u; auth_basic_user_file %s; alias %s/absent; }\n"
        "    location = /proxied { return 500; }\n"
        # A relative Location is resolved against the URL, password and all.
        "    location = /urlredir { return 302 /login; }\n"
        "    location = /query {\n"
        "      set $got '';\n"
        "      if ($arg_apikey = '%s') { set $got a; }\n"
        "      if ($arg_session = '%s') { set $got ${got}s; }\n"
        "      if ($got = as) {\n"
        "        return 302 /landing?page=1&apikey=$arg_apikey&Session=$arg_session;\n"
        "      }\n"
        "      return 403;\n"
        "    }\n"
        "    location = /handoff {\n"
        "      return 302 'https://app.example/cb?code=%s#access_token=%s&state=1';\n"
        "    }\n"
        % (basic_users, page, SECRETS["bearer"], SECRETS["credential"], url_users, d,
           SECRETS["apikey"], SECRETS["session"], SECRETS["code"], SECRETS["fragment"]))
    tls = h.Nginx("    ssl_certificate %s;\n    ssl_certificate_key %s;\n"
                  "    ssl_client_certificate %s;\n    ssl_verify_client on;\n"
                  "    location / { return 503; }"
                  % (pki.issue("site", "127.0.0.1", "IP:127.0.0.1") + (client_ca.ca,)),
                  ssl=True)
    proxy = h.Fixture("proxy.py")
    rcv = h.receiver_fixture()
    port = ngx.port
    cfg = h.config(d, """\
defaults: {interval: 1s, timeout: 900ms, failure_threshold: 1, recovery_threshold: 1}
alerts:
  journald: true
  webhooks:
    - {name: std, url: '%s', secret_credential: signing, retry_initial: 200ms,
       headers: {X-Hook-Token: {credential: header-token}}}
    - {name: slack, url: '%s', format: slack}
    - {name: am, url: '%s', format: alertmanager-webhook}
targets:
  - {name: basic, url: 'http://127.0.0.1:%d/basic',
     basic_auth: {username: monitor, password_file: basic-pw}}
  - {name: bearer, url: 'http://127.0.0.1:%d/bearer',
     headers: {Authorization: {file: bearer, prefix: 'Bearer '}}}
  - {name: credential, url: 'http://127.0.0.1:%d/credential',
     headers: {X-Token: {credential: header-token}}}
  - {name: urlpw, url: 'http://urluser:%s@127.0.0.1:%d/urlpw'}
  - {name: urlredir, url: 'http://urluser:%s@127.0.0.1:%d/urlredir'}
  - {name: proxied, url: 'http://127.0.0.1:%d/proxied',
     proxy: 'http://proxyuser:%s@127.0.0.1:%d'}
  - {name: mtls, url: '%s', ca_file: %s, client_cert: %s, client_key_credential: probe-key}
  - {name: query, url: 'http://127.0.0.1:%d/query?page=1&apikey=%s&Session=%s',
     redact_query: [session]}
  - {name: handoff, url: 'http://127.0.0.1:%d/handoff', redact_query: code}
""" % (rcv.hook("/std"), rcv.hook("/slack/" + SECRETS["hookpath"], "slack"),
       rcv.hook("/am", "alertmanager-webhook"), port, port, port, SECRETS["urlpw"], port,
       SECRETS["urlpw"], port, port, SECRETS["proxypw"], proxy.port, tls.url("/"), pki.ca, ccert,
       port, SECRETS["apikey"], SECRETS["session"], port))
    env = {"CREDENTIALS_DIRECTORY": creds}
    state = os.path.join(d, "state")

    dm = h.Daemon(["-c", cfg, "--state-dir", state, "-v", "--stats"], env=env)
    down = ("bearer", "credential", "urlpw", "urlredir", "proxied", "mtls", "query", "handoff")

    def alerted():
        got = {json.loads(x["body"])["data"]["target"]
               for x in rcv.json("/_log") if x["path"] == "/std"}
        return all(t in got for t in down) and got

    h.wait_until(alerted, 15, "an alert for every failing target")
    dm.send(__import__("signal").SIGUSR1)  # the state dump, into the log
    rc, _ = dm.stop()
    assert rc == 0, dm.log()[-20:]
    channels = {"the daemon's log": "\n".join(dm.log()), "--stats": dm.stdout()}

    # Each secret was used: the answers say so.
    once = h.run(["--once", "--json", "-c", cfg], env=env)
    res = {r["target"]: r for r in map(json.loads, once.stdout.splitlines())}
    assert res["basic"]["state"] == "up", res["basic"]
    assert res["bearer"]["code"] == 503, res["bearer"]
    assert res["credential"]["code"] == 302, res["credential"]
    assert res["urlpw"]["code"] == 404, res["urlpw"]
    assert res["urlredir"]["location"] == "http://127.0.0.1:%d/login" % port, res["urlredir"]
    assert res["proxied"]["code"] == 500, res["proxied"]
    assert res["mtls"]["code"] == 503, res["mtls"]
    assert res["query"]["code"] == 302, res["query"]  # the site got both query secrets
    assert res["handoff"]["code"] == 302, res["handoff"]
    auth = "Basic " + base64.b64encode(("proxyuser:" + SECRETS["proxypw"]).encode()).decode()
    assert any(s[2] == auth for s in proxy.json("/_log")), proxy.json("/_log")
    hooks = rcv.json("/_log")
    std = [x for x in hooks if x["path"] == "/std"]
    assert all({k.lower(): v for k, v in x["headers"].items()}.get("x-hook-token") ==
               SECRETS["credential"] for x in std), std[0]["headers"]
    assert any(x["path"].endswith(SECRETS["hookpath"]) for x in hooks)
    assert any(x["path"] == "/am" for x in hooks)
    verified = rcv.json("/_verify?secret=" + SECRETS["signing"])
    assert all(ok for x, ok in zip(hooks, verified) if x["path"] == "/std"), "signatures"
    # The URL shown keeps its user, not its password.
    assert res["urlpw"]["url"] == "http://urluser@127.0.0.1:%d/urlpw" % port, res["urlpw"]
    # And its secret parameters, by the usual names and by the target's.
    assert res["query"]["url"] == ("http://127.0.0.1:%d/query?page=1&apikey=(hidden)"
                                   "&Session=(hidden)" % port), res["query"]
    # So does the Location of an answer, with the target's names: one that
    # repeats the token asked with, and one that hands tokens on.
    assert res["query"]["location"] == ("http://127.0.0.1:%d/landing?page=1&apikey=(hidden)"
                                        "&Session=(hidden)" % port), res["query"]
    assert res["handoff"]["location"] == ("https://app.example/cb?code=(hidden)"
                                          "#access_token=(hidden)&state=1"), res["handoff"]

    channels["--once --json"] = once.stdout + once.stderr
    table = h.run(["--once", "-c", cfg], env=env)
    channels["--once"] = table.stdout + table.stderr
    for args in (["--check-config"], ["--check-config", "-v"]):
        p = h.run(args + ["-c", cfg], env=env)
        assert p.returncode == 0, p.stderr
        channels[" ".join(args)] = p.stdout + p.stderr
    channels["webhook bodies"] = "\n".join(x["body"] for x in hooks)
    j = subprocess.run(["journalctl", "-o", "json", "--no-pager", "_PID=%d" % dm.proc.pid],
                       capture_output=True, text=True)
    entries = [json.loads(l) for l in j.stdout.splitlines() if l.strip()]
    assert any(e.get("UPMON_TARGET") == "urlpw" for e in entries), "no journal entries"
    channels["the journal"] = j.stdout
    for f in glob.glob(os.path.join(state, "**"), recursive=True):
        if os.path.isfile(f) and os.path.getsize(f) > 0:
            channels["state file " + os.path.basename(f)] = \
                open(f, "rb").read().decode("latin-1")

    assert any(w.startswith("state file upmon.db") for w in channels), sorted(channels)
    assert any(w.startswith("state file upmon.db") for w in channels), sorted(channels)
    found = []
    for where, text in channels.items():
        assert text, "nothing to search in " + where
        found += leaks(text, where, key_lines)
    assert not found, "\n".join(found)


if __name__ == "__main__":
    h.main(globals())
