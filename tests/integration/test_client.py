#!/usr/bin/env python3
"""How a probe reaches a site and what it presents, against a real nginx
with certificates of a private CA made for the test: ca_file, client
certificates (from a file and from a credential), connect_to and
tls_server_name with the right SNI, TLS and HTTP versions, basic_auth,
and a proxy (a fixture) instead of the environment's."""
import base64
import json
import os
import subprocess

import harness as h


def site(pki, directives, servers=(), cert=None, **kw):
    """An nginx TLS site with a certificate of pki for site.test and
    127.0.0.1 (or cert)."""
    cert = cert or pki.issue("site", "site.test", "DNS:site.test,IP:127.0.0.1")
    return h.Nginx("    ssl_certificate %s;\n    ssl_certificate_key %s;\n%s"
                   % (cert[0], cert[1], directives), ssl=True, servers=servers, **kw)


def results(p):
    """{target: result} of a finished upmond --once --json."""
    return {r["target"]: r for r in map(json.loads, p.stdout.splitlines())}


def targets(d, text, extra=()):
    cfg = h.config(d, "defaults: {timeout: 5s}\ntargets:\n" + text)
    return h.once_json(cfg, extra)


def test_private_ca():
    """A site of a private CA passes with its ca_file and fails without:
    the system's CAs do not know it, and with ca_file they are not used."""
    pki = h.Pki()
    ngx = site(pki, "    location / { return 200 'private'; }")
    d = h.tmpdir()
    rc, res, p = targets(d, """\
  - {name: with-ca, url: '%s', ca_file: %s, body_contains: private}
  - {name: without, url: '%s'}
  - {name: ca-path, url: '%s', ca_path: %s}
  - {name: system-ca, url: '%s', ca_file: /etc/ssl/certs/ca-certificates.crt}
""" % (ngx.url("/"), pki.ca, ngx.url("/"), ngx.url("/"), d, ngx.url("/")))
    assert res["with-ca"]["state"] == "up", res["with-ca"]
    for name in ("without", "system-ca", "ca-path"):  # d holds no CA at all
        assert res[name]["state"] == "unreachable" and res[name]["error"] == "tls", res[name]
    assert "certificate" in res["without"]["message"], res["without"]
    # A directory of hashed CA certificates, as openssl rehash makes it.
    hashed = h.tmpdir()
    h.write(os.path.join(hashed, "ca.pem"), open(pki.ca).read())
    subprocess.run(["openssl", "rehash", hashed], check=True, capture_output=True)
    # An http URL that redirects to the private site: the CA applies to the
    # https hop that follow_redirects takes.
    plain = h.Nginx("    location / { return 301 %s; }" % ngx.url("/"))
    rc, res, p = targets(d, "  - {name: ca-path, url: '%s', ca_path: %s}\n"
                            "  - {name: hop, url: '%s', follow_redirects: true, ca_file: %s,"
                            " body_contains: private}\n"
                         % (ngx.url("/"), hashed, plain.url("/"), pki.ca))
    assert res["ca-path"]["state"] == "up", res["ca-path"]
    assert res["hop"]["state"] == "up", res["hop"]


def test_certificate_end_is_that_of_the_verified_chain():
    """A certificate a server sends beside its chain (an old
    cross-signature, say) is not one clients rely on: its end raises
    nothing. Unverified, the chain as sent is all there is."""
    pki = h.Pki()
    stray = h.Pki("upmon stray CA")
    extra = stray.issue("extra", "stray", days=2)[0]
    cert, key = pki.issue("site", "127.0.0.1", "IP:127.0.0.1")
    bundle = h.write(os.path.join(pki.dir, "bundle.pem"), open(cert).read() + open(extra).read())
    ngx = site(pki, "    location / { return 200 'ok'; }", cert=(bundle, key))
    d = h.tmpdir()
    rc, res, p = targets(d, """\
  - {name: verified, url: '%s', ca_file: %s}
  - {name: unverified, url: '%s', tls_verify: false}
""" % (ngx.url("/"), pki.ca, ngx.url("/")))
    assert res["verified"]["state"] == "up", res["verified"]
    assert res["verified"]["cert_subject"] != "CN=stray", res["verified"]
    assert res["unverified"]["cert_subject"] == "CN=stray", res["unverified"]


def test_client_certificate():
    """A vhost that demands a client certificate answers 200 with one (its
    key from a file, or from a credential) and 400 without."""
    pki = h.Pki()
    client_ca = h.Pki("upmon client CA")
    cert, key = client_ca.issue("probe", "upmon probe", client=True)
    ngx = site(pki, "    ssl_client_certificate %s;\n    ssl_verify_client on;\n"
                    "    location / { return 200 'hello $ssl_client_s_dn'; }" % client_ca.ca)
    creds = h.tmpdir()
    h.write(os.path.join(creds, "probe-key"), open(key).read())
    d = h.tmpdir()
    rc, res, p = h.once_json(h.config(d, """\
defaults: {ca_file: %s, timeout: 5s}
targets:
  - {name: file, url: '%s', client_cert: %s, client_key: %s, body_contains: 'CN=upmon probe'}
  - {name: credential, url: '%s', client_cert: %s, client_key_credential: probe-key}
  - {name: none, url: '%s'}
""" % (pki.ca, ngx.url("/"), cert, key, ngx.url("/"), cert, ngx.url("/"))))
    assert p.returncode == 78 and "CREDENTIALS_DIRECTORY is not set" in p.stderr, p.stderr
    p = h.run(["--once", "--json", "-c", os.path.join(d, "upmon.yaml")],
              env={"CREDENTIALS_DIRECTORY": creds})
    res = results(p)
    assert res["file"]["state"] == "up", res["file"]
    assert res["credential"]["state"] == "up", res["credential"]
    assert res["none"]["code"] == 400 and res["none"]["state"] == "client_error", res["none"]


def test_client_certificate_stays_with_its_host():
    """A followed redirect to another host presents no client
    certificate; one back to the same host (another port) does."""
    pki = h.Pki()
    client_ca = h.Pki("upmon client CA")
    cert, key = client_ca.issue("probe", "upmon probe", client=True)
    ask = ("    ssl_verify_client optional_no_ca;\n"
           "    location / { return 200 'cert=[$ssl_client_s_dn]'; }")
    other = site(pki, ask, cert=pki.issue("other", "localhost", "DNS:localhost"))
    same = site(pki, ask)
    home = site(pki, "    location = /away { return 302 %s; }\n"
                     "    location = /back { return 302 %s; }"
                % (other.url("/", host="localhost"), same.url("/")))
    d = h.tmpdir()
    rc, res, p = targets(d, """\
  - {name: away, url: '%s', follow_redirects: true, tls_verify: false, client_cert: %s,
     client_key: %s, body_contains: 'cert=[]'}
  - {name: back, url: '%s', follow_redirects: true, tls_verify: false, client_cert: %s,
     client_key: %s, body_contains: 'cert=[CN=upmon probe]'}
""" % (home.url("/away"), cert, key, home.url("/back"), cert, key))
    assert res["away"]["state"] == "up", res["away"]
    assert res["back"]["state"] == "up", res["back"]


def test_connect_to_and_server_name():
    """connect_to reaches a vhost by address while the URL's host stays the
    SNI and the Host; tls_server_name sends another SNI and verifies that
    name, while the Host stays the URL's. A redirect within the site,
    followed, keeps both."""
    pki = h.Pki()
    other = pki.issue("other", "other.test", "DNS:other.test")
    ngx = site(pki, "    server_name other.test;\n"
                    "    location / { return 200 'other sni=$ssl_server_name host=$http_host'; }",
               cert=other,
               servers=["    server_name site.test;\n"
                        "    ssl_certificate %s;\n    ssl_certificate_key %s;\n"
                        "    location = /go { return 302 /landed; }\n"
                        "    location / { return 200 'site sni=$ssl_server_name host=$http_host'; }"
                        % pki.issue("site", "site.test", "DNS:site.test")])
    port = ngx.port
    d = h.tmpdir()
    rc, res, p = targets(d, """\
  - name: by-address
    url: https://site.test:%d/
    connect_to: 127.0.0.1:%d
    ca_file: %s
    body_contains: 'site sni=site.test host=site.test:%d'
  - name: by-address-v6-port-kept
    url: https://site.test:%d/
    connect_to: 127.0.0.1
    ca_file: %s
    body_contains: 'site sni=site.test'
  - name: server-name
    url: https://127.0.0.1:%d/
    tls_server_name: site.test
    ca_file: %s
    body_contains: 'sni=site.test host=127.0.0.1:%d'
  - name: wrong-name
    url: https://127.0.0.1:%d/
    tls_server_name: nowhere.test
    ca_file: %s
  - name: by-address-followed
    url: https://site.test:%d/go
    connect_to: 127.0.0.1:%d
    ca_file: %s
    follow_redirects: true
    body_contains: 'site sni=site.test host=site.test:%d'
  - name: server-name-followed
    url: https://127.0.0.1:%d/go
    tls_server_name: site.test
    ca_file: %s
    follow_redirects: true
    body_contains: 'sni=site.test host=127.0.0.1:%d'
""" % (port, port, pki.ca, port, port, pki.ca, port, pki.ca, port, port, pki.ca,
       port, port, pki.ca, port, port, pki.ca, port))
    for name in ("by-address", "by-address-v6-port-kept", "server-name", "by-address-followed",
                 "server-name-followed"):
        assert res[name]["state"] == "up", res[name]
        assert res[name]["url"].startswith("https://" + ("site.test" if "address" in name
                                                          else "127.0.0.1")), res[name]
    # The default vhost's certificate is for other.test, not nowhere.test.
    assert res["wrong-name"]["error"] == "tls", res["wrong-name"]


def test_tls_and_http_versions():
    """tls_min_version refuses an older server; http_version 2 asks for
    HTTP/2 and fails an answer over HTTP/1.1."""
    pki = h.Pki()
    old = site(pki, "    ssl_protocols TLSv1.2;\n    location / { return 200 'ok'; }")
    h2 = site(pki, "    location / { return 200 'ok'; }", http2=True)
    d = h.tmpdir()
    rc, res, p = targets(d, """\
  - {name: tls12, url: '%s', ca_file: %s}
  - {name: tls13-wanted, url: '%s', ca_file: %s, tls_min_version: 1.3}
  - {name: h1-only-site, url: '%s', ca_file: %s, http_version: 2}
  - {name: h2, url: '%s', ca_file: %s, http_version: 2}
  - {name: h2-auto, url: '%s', ca_file: %s}
  - {name: h1, url: '%s', ca_file: %s, http_version: 1.1}
""" % (old.url("/"), pki.ca, old.url("/"), pki.ca, old.url("/"), pki.ca, h2.url("/"), pki.ca,
       h2.url("/"), pki.ca, h2.url("/"), pki.ca))
    assert res["tls12"]["state"] == "up", res["tls12"]
    assert res["tls13-wanted"]["error"] == "tls", res["tls13-wanted"]
    assert res["h1-only-site"]["error"] == "protocol", res["h1-only-site"]
    assert "not HTTP/2" in res["h1-only-site"]["message"], res["h1-only-site"]
    for name in ("h2", "h2-auto", "h1"):
        assert res[name]["state"] == "up", res[name]


def test_basic_auth():
    """basic_auth sends the username and the password read from a file."""
    d = h.tmpdir()
    hashed = subprocess.run(["openssl", "passwd", "-apr1", "correct horse"], check=True,
                            capture_output=True, text=True).stdout.strip()
    users = h.write(os.path.join(d, "htpasswd"), "monitor:%s\n" % hashed)
    # Served from a file: nginx's `return` would answer before the check.
    page = h.write(os.path.join(d, "page.html"), "members only\n")
    ngx = h.Nginx("    location = /members { auth_basic private; auth_basic_user_file %s; "
                  "alias %s; }" % (users, page))
    good = h.write(os.path.join(d, "good"), "correct horse\n")
    bad = h.write(os.path.join(d, "bad"), "wrong horse\n")
    rc, res, p = targets(d, """\
  - {name: good, url: '%s', basic_auth: {username: monitor, password_file: good},
     body_contains: 'members only'}
  - {name: bad, url: '%s', basic_auth: {username: monitor, password_file: %s}}
  - {name: none, url: '%s'}
""" % (ngx.url("/members"), ngx.url("/members"), bad, ngx.url("/members")))
    assert res["good"]["state"] == "up", res["good"]
    assert res["bad"]["code"] == 401 and res["none"]["code"] == 401, (res["bad"], res["none"])
    assert good.endswith("/good")  # read from beside the main file


def test_proxy_and_not_the_environment():
    """proxy sends http requests in absolute form and tunnels https; the
    environment's proxy variables are ignored either way."""
    proxy = h.Fixture("proxy.py")
    srv = h.http_fixture()
    tls = h.tls_fixture()
    d = h.tmpdir()
    cfg = h.config(d, """\
defaults: {timeout: 5s}
targets:
  - {name: plain, url: '%s', proxy: 'http://probe:pw@127.0.0.1:%d'}
  - {name: tunnel, url: '%s', proxy: 'http://127.0.0.1:%d', ca_file: %s}
  - {name: direct, url: '%s'}
""" % (srv.url("/status/200?via=proxy"), proxy.port, tls.url("/status/204"), proxy.port,
       tls.cert, srv.url("/status/200?direct")))
    # A proxy that does not exist: if used, it would fail every probe.
    p = h.run(["--once", "--json", "-c", cfg],
              env={"http_proxy": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
                   "ALL_PROXY": "http://127.0.0.1:9", "no_proxy": ""})
    res = results(p)
    for name, code in (("plain", 200), ("tunnel", 204), ("direct", 200)):
        assert res[name]["code"] == code and res[name]["state"] == "up", res[name]
    # Through the tunnel, the certificate is the site's, as direct.
    assert res["tunnel"].get("cert_expires"), res["tunnel"]
    seen = proxy.json("/_log")
    assert ["GET", srv.url("/status/200?via=proxy"), "Basic cHJvYmU6cHc="] in seen, seen
    assert ["CONNECT", "127.0.0.1:%d" % tls.port, None] in seen, seen
    assert not any("direct" in s[1] for s in seen), seen
    # The proxy's password is not in what people see.
    out = h.run(["--check-config", "-v", "-c", cfg])
    assert "probe@127.0.0.1" in out.stdout and ":pw@" not in out.stdout, out.stdout


def test_secret_headers_stay_with_their_origin():
    """Followed redirects take a header whose value is a secret (read from
    a credential or a file), an Authorization header and basic_auth to the
    target's own origin only: the first site gets them and redirects to a
    second site on another port, which must get none of them but still
    the plain header. A redirect within the first site keeps them, and so
    does one that comes back to it from the second."""
    key, token, pw = "key-PLANTED-9e1f", "file-PLANTED-44a0", "basic-PLANTED-c7d2"
    basic = "Basic " + base64.b64encode(("monitor:" + pw).encode()).decode()
    # The second site: 418 if any secret arrived, 400 without the plain
    # header, 200 otherwise; it sends one probe home again.
    other = h.Nginx(
        "    location = /landing {\n"
        "      if ($http_x_api_key) { return 418; }\n"
        "      if ($http_x_file_token) { return 418; }\n"
        "      if ($http_authorization) { return 418; }\n"
        "      if ($http_x_plain != plain) { return 400; }\n"
        "      if ($request_method != $arg_method) { return 405; }\n"
        "      return 200 'clean';\n"
        "    }\n"
        "    location = /bounce { return 302 $arg_to; }\n")
    # The first site: 403 unless the secrets came, then where it sends.
    first = h.Nginx(
        "    set $ok '';\n"
        "    if ($http_x_api_key = '%s') { set $ok k; }\n"
        "    if ($http_x_file_token = '%s') { set $ok ${ok}f; }\n"
        "    location = /cross {\n"
        "      if ($ok != kf) { return 403; }\n"
        "      return 302 http://127.0.0.1:%d/landing?method=GET;\n"
        "    }\n"
        "    location = /same { if ($ok != kf) { return 403; } return 302 /home; }\n"
        "    location = /away {\n"
        "      if ($ok != kf) { return 403; }\n"
        "      return 302 http://127.0.0.1:%d/bounce?to=http://127.0.0.1:$server_port/home;\n"
        "    }\n"
        "    location = /home {\n"
        "      if ($ok != kf) { return 403; }\n"
        "      if ($http_x_plain != plain) { return 400; }\n"
        "      return 200 'home';\n"
        "    }\n"
        "    location = /basic {\n"
        "      if ($http_authorization != '%s') { return 401; }\n"
        "      return 307 http://127.0.0.1:%d/landing?method=$request_method;\n"
        "    }\n"
        "    location = /bearer {\n"
        "      if ($http_authorization != 'Bearer inline') { return 401; }\n"
        "      return 307 http://127.0.0.1:%d/landing?method=$request_method;\n"
        "    }\n"
        "    location = /post { return 302 http://127.0.0.1:%d/landing?method=GET; }\n"
        % (key, token, other.port, other.port, basic, other.port, other.port, other.port))
    d = h.tmpdir()
    creds = h.tmpdir()
    h.write(os.path.join(creds, "api-key"), key + "\n")
    h.write(os.path.join(d, "token"), token + "\n")
    h.write(os.path.join(d, "pw"), pw + "\n")
    cfg = h.config(d, """\
defaults:
  timeout: 5s
  follow_redirects: true
  headers: {X-Api-Key: {credential: api-key}, X-File-Token: {file: token}, X-Plain: plain}
targets:
  - {name: cross, url: '%s', body_contains: clean}
  - {name: same, url: '%s', body_contains: home}
  - {name: away-and-back, url: '%s', body_contains: home}
  - {name: basic, url: '%s', basic_auth: {username: monitor, password_file: pw}}
  - {name: inline, url: '%s', headers: {Authorization: Bearer inline}}
  - {name: post, url: '%s', method: POST, body: 'a=1'}
  - {name: unfollowed, url: '%s', follow_redirects: false}
""" % (first.url("/cross"), first.url("/same"), first.url("/away"),
       first.url("/basic"), first.url("/bearer"), first.url("/post"), first.url("/cross")))
    p = h.run(["--once", "--json", "-c", cfg], env={"CREDENTIALS_DIRECTORY": creds})
    res = results(p)
    # Across origins: the secrets reached the first site (or it would have
    # said 403 or 401) and not the second (418); the plain header did (or
    # 400); a 307 kept the method, a 302 made the POST a GET (or 405).
    for name in ("cross", "same", "away-and-back", "basic", "inline", "post"):
        r = res[name]
        assert (r["code"], r["state"]) == (200, "up"), r
    assert res["unfollowed"]["code"] == 302, res["unfollowed"]
    # The probe follows on its own, each request after another: what the
    # answers took adds up from the start of the probe.
    t = res["cross"]["timings"]
    assert 0 <= t["connect_ms"] <= t["first_byte_ms"] <= t["total_ms"], t
    assert res["cross"]["latency_ms"] == t["total_ms"], res["cross"]
    out = p.stdout + p.stderr
    for secret in (key, token, pw, base64.b64encode(("monitor:" + pw).encode()).decode()):
        assert secret not in out, out


if __name__ == "__main__":
    h.main(globals())
