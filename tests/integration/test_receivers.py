#!/usr/bin/env python3
"""Alerts by e-mail and to PagerDuty, end to end: the real daemon, a
fixture site, a real SMTP server (aiosmtpd, Debian's python3-aiosmtpd)
whose messages are read back with Python's email parser, and a fixture
standing in for PagerDuty's Events API v2 that checks what it is sent."""
import email
import email.policy
import email.utils
import json
import logging
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import harness as h

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult
except ImportError:
    Controller = None

# aiosmtpd 1.4 logs a warning about its own use of a name it deprecated.
logging.getLogger("mail.log").setLevel(logging.ERROR)

ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"
PASSWORD = "s3cret pass"


class Smtp:
    """An SMTP server on 127.0.0.1 with a kernel-chosen port. Each DATA is
    answered by the next reply of plan (then 250); every attempt and every
    accepted message is kept. AUTH is offered without TLS (loopback only),
    and the logins seen are kept. The addresses of refuse are refused at
    RCPT, as a mailbox that is gone."""

    def __init__(self, plan=(), refuse=()):
        self.lock = threading.Lock()
        self.plan = list(plan)
        self.refuse = set(refuse)
        self.attempts = []  # (reply, message bytes)
        self.accepted = []  # (envelope sender, recipients, message bytes)
        self.logins = []
        outer = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                if address in outer.refuse:
                    return "550 5.1.1 No such user"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                with outer.lock:
                    reply = outer.plan.pop(0) if outer.plan else "250 OK"
                    outer.attempts.append((reply, envelope.content))
                    if reply.startswith("250"):
                        outer.accepted.append((envelope.mail_from, list(envelope.rcpt_tos),
                                               envelope.content))
                return reply

        def authenticator(server, session, envelope, mechanism, auth_data):
            with outer.lock:
                outer.logins.append((auth_data.login.decode(), auth_data.password.decode()))
            return AuthResult(success=auth_data.password.decode() == PASSWORD)

        class Bound(Controller):
            # aiosmtpd 1.4 connects to self.port to start its server: with
            # port 0 that is the port it was bound to.
            def _trigger_server(self):
                self.port = self.server.sockets[0].getsockname()[1]
                super()._trigger_server()

        self.controller = Bound(Handler(), hostname="127.0.0.1", port=0,
                                authenticator=authenticator, auth_require_tls=False)
        self.controller.start()
        h.cleanup(self.controller.stop)
        self.port = self.controller.port

    def url(self):
        return "smtp://127.0.0.1:%d" % self.port

    def messages(self):
        with self.lock:
            return [(f, r, email.message_from_bytes(m, policy=email.policy.default))
                    for f, r, m in self.accepted]

    def tried(self):
        with self.lock:
            return [(reply, email.message_from_bytes(m, policy=email.policy.default))
                    for reply, m in self.attempts]


class PagerDuty:
    """Stands in for https://events.pagerduty.com/v2/enqueue: every POST is
    kept (time, path, JSON body) and answered by the next of plan (code,
    headers), then 202 as PagerDuty answers an event it takes."""

    def __init__(self, plan=()):
        self.lock = threading.Lock()
        self.plan = list(plan)
        self.posts = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with outer.lock:
                    code, headers = outer.plan.pop(0) if outer.plan else (202, {})
                    outer.posts.append({"time": time.monotonic(), "path": self.path,
                                        "type": self.headers.get("Content-Type"),
                                        "json": json.loads(body), "answer": code})
                if code == 202:
                    answer = {"status": "success", "message": "Event processed",
                              "dedup_key": json.loads(body).get("dedup_key")}
                else:
                    answer = {"status": "throttle" if code == 429 else "invalid event",
                              "message": "no"}
                data = json.dumps(answer).encode()
                self.send_response(code)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        h.cleanup(self.stop)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def url(self):
        return "http://127.0.0.1:%d/v2/enqueue" % self.server.server_address[1]

    def events(self, accepted_only=True):
        with self.lock:
            return [p for p in self.posts if p["answer"] == 202 or not accepted_only]


def need_smtp():
    if Controller is None:
        h.skip_all("python3-aiosmtpd is not installed (apt install python3-aiosmtpd), or not "
                   "for this Python")


def setup(d, site, target, hook):
    return h.config(d, """\
defaults: {interval: 1s, timeout: 800ms, failure_threshold: 1, recovery_threshold: 1}
alerts:
  journald: false
  webhooks:
    - {name: rx, retry_initial: 200ms, retry_max: 1s, %s}
targets:
  - {name: '%s', url: '%s', labels: {team: web}}
""" % (hook, target, site))


def start(d, cfg):
    return h.Daemon(["-c", cfg, "--state-dir", os.path.join(d, "state")])


def mail_hook(smtp, extra=""):
    return ("url: '%s', format: email, starttls: off, from: upmon@example.com, "
            "to: [ops@example.com, oncall@example.org]%s" % (smtp.url(), extra))


def count(getter, n, what):
    return h.wait_until(lambda: len(getter()) >= n and getter(), 20,
                        lambda: "%d %s (have %d)" % (n, what, len(getter())))


def test_a_mail_per_alert_down_then_recovered():
    smtp = Smtp()
    d = h.tmpdir()
    srv = h.http_fixture()
    target = "caf\u00e9 api \u2615"
    pw = h.write(os.path.join(d, "smtp-password"), PASSWORD + "\n")
    cfg = setup(d, srv.url("/site/api"), target,
                mail_hook(smtp, ", username: upmon, password_file: %s" % pw))
    dm = start(d, cfg)
    dm.wait_log(r": unknown -> up")
    srv.get("/_set?name=api&status=503")
    count(smtp.messages, 1, "messages")
    srv.get("/_set?name=api&status=200")
    msgs = count(smtp.messages, 2, "messages")
    assert len(msgs) == 2, [m.get("Subject") for _, _, m in msgs]

    for sender, rcpts, m in msgs:
        assert sender == "upmon@example.com"
        assert rcpts == ["ops@example.com", "oncall@example.org"]
        assert m["From"] == "upmon@example.com"
        assert [a.addr_spec for a in m["To"].addresses] == ["ops@example.com",
                                                            "oncall@example.org"]
        assert m["MIME-Version"] == "1.0"
        assert m.get_content_type() == "text/plain"
        assert m.get_content_charset() == "utf-8"
        assert m["Content-Transfer-Encoding"] == "quoted-printable"
        assert m["Auto-Submitted"] == "auto-generated"
        assert m["X-Upmon-Target"] == target
        when = email.utils.parsedate_to_datetime(m["Date"])
        assert abs(when.timestamp() - time.time()) < 60, m["Date"]
        assert m["Message-ID"].startswith("<msg_") and m["Message-ID"].endswith(">")
        # Every line within the limits, CRLF on the wire.
        for line in m.as_bytes(policy=email.policy.SMTP).split(b"\r\n"):
            assert len(line) <= 998
    down, up = msgs[0][2], msgs[1][2]
    assert down["Message-ID"] != up["Message-ID"]
    # The subject, decoded from its RFC 2047 words, says what happened.
    assert down["Subject"] == ("[upmon] %s is down: 503 Service Unavailable (%s)"
                               % (target, srv.url("/site/api"))), down["Subject"]
    assert down["X-Upmon-Event"] == "down"
    assert up["Subject"].startswith("[upmon] %s recovered: 200 OK (was server_error for "
                                    % target), up["Subject"]
    body = down.get_content()
    for fact in ("Target:      " + target, "URL:         " + srv.url("/site/api"),
                 "Event:       down", "State:       server_error (was up)",
                 "Severity:    critical", "Answer:      503 Service Unavailable",
                 "Labels:      team=web", "Monitor:     "):
        assert fact in body, (fact, body)
    assert "Meaning:" in body and "Since:" in body
    # The login went with each message.
    assert smtp.logins and all(l == ("upmon", PASSWORD) for l in smtp.logins), smtp.logins
    dm.wait_log(r"webhook rx: delivered recovered")


def test_451_is_retried_with_the_same_message():
    smtp = Smtp(plan=["451 4.7.1 Greylisted, try again later"])
    d = h.tmpdir()
    srv = h.http_fixture()
    cfg = setup(d, srv.url("/site/api"), "api", mail_hook(smtp))
    dm = start(d, cfg)
    dm.wait_log(r": unknown -> up")
    srv.get("/_set?name=api&status=503")
    msgs = count(smtp.messages, 1, "messages")
    tried = smtp.tried()
    assert [r for r, _ in tried] == ["451 4.7.1 Greylisted, try again later", "250 OK"], tried
    # The same message both times: the receiver can tell it is one.
    assert tried[0][1]["Message-ID"] == tried[1][1]["Message-ID"] == msgs[0][2]["Message-ID"]
    assert tried[0][1].get_content() == tried[1][1].get_content()
    assert dm.grep(r"webhook rx: down msg_\w+ of api failed \(.*SMTP reply 451\)")


def test_550_is_not_retried():
    smtp = Smtp(plan=["550 5.1.1 No such user"])
    d = h.tmpdir()
    srv = h.http_fixture()
    cfg = setup(d, srv.url("/site/api"), "api", mail_hook(smtp))
    dm = start(d, cfg)
    dm.wait_log(r": unknown -> up")
    srv.get("/_set?name=api&status=503")
    dm.wait_log(r"webhook rx: down msg_\w+ of api refused \(.*\(SMTP reply 550\)\); not retried")
    # The next alert goes, and the refused one was never tried again.
    srv.get("/_set?name=api&status=200")
    msgs = count(smtp.messages, 1, "messages")
    assert msgs[0][2]["X-Upmon-Event"] == "recovered"
    assert [r for r, _ in smtp.tried()] == ["550 5.1.1 No such user", "250 OK"]


def test_a_refused_address_does_not_stop_the_others():
    smtp = Smtp(refuse=["oncall@example.org"])
    d = h.tmpdir()
    srv = h.http_fixture()
    cfg = setup(d, srv.url("/site/api"), "api", mail_hook(smtp))
    dm = start(d, cfg)
    dm.wait_log(r": unknown -> up")
    srv.get("/_set?name=api&status=503")
    msgs = count(smtp.messages, 1, "messages")
    assert msgs[0][1] == ["ops@example.com"], msgs[0][1]
    assert msgs[0][2]["To"] == "ops@example.com, oncall@example.org"
    dm.wait_log(r"webhook rx: delivered down msg_\w+ of api")


def test_starttls_required_sends_nothing_in_clear():
    smtp = Smtp()
    d = h.tmpdir()
    srv = h.http_fixture()
    hook = mail_hook(smtp).replace("starttls: off", "starttls: required")
    cfg = setup(d, srv.url("/site/api"), "api", hook)
    dm = start(d, cfg)
    dm.wait_log(r": unknown -> up")
    srv.get("/_set?name=api&status=503")
    # The server offers no STARTTLS: the attempt fails, is retried, and
    # no message is sent.
    dm.wait_log(r"webhook rx: down msg_\w+ of api failed")
    assert smtp.tried() == []


def pagerduty_daemon(pd):
    """upmond with one target, api, on a fixture site that is up, and a
    pagerduty webhook posting to pd with its routing key from a file."""
    d = h.tmpdir()
    srv = h.http_fixture()
    key = h.write(os.path.join(d, "pd-key"), ROUTING_KEY + "\n")
    cfg = setup(d, srv.url("/site/api"), "api",
                "url: '%s', format: pagerduty, routing_key_file: %s" % (pd.url(), key))
    dm = start(d, cfg)
    dm.wait_log(r": unknown -> up")
    return d, srv, dm


def test_pagerduty_events():
    pd = PagerDuty(plan=[])
    d, srv, dm = pagerduty_daemon(pd)
    # The first outage and its end.
    srv.get("/_set?name=api&status=503")
    count(pd.events, 1, "events")
    srv.get("/_set?name=api&status=200")
    count(pd.events, 2, "events")
    # The second: its trigger is throttled once, with Retry-After.
    with pd.lock:
        pd.plan.append((429, {"Retry-After": "1"}))
    srv.get("/_set?name=api&status=503")
    count(pd.events, 3, "events")
    srv.get("/_set?name=api&status=200")
    ev = count(pd.events, 4, "events")

    bodies = [e["json"] for e in ev]
    assert [b["event_action"] for b in bodies] == ["trigger", "resolve", "trigger", "resolve"]
    assert all(b["routing_key"] == ROUTING_KEY for b in bodies)
    assert all(e["type"] == "application/json" and e["path"] == "/v2/enqueue" for e in ev)
    k1, k2 = bodies[0]["dedup_key"], bodies[2]["dedup_key"]
    assert bodies[1]["dedup_key"] == k1 and bodies[3]["dedup_key"] == k2
    assert k1 != k2 and k1.startswith("upmon-")
    p = bodies[0]["payload"]
    assert p["summary"] == "api is down: 503 Service Unavailable (%s)" % srv.url("/site/api")
    assert p["source"] == srv.url("/site/api")
    assert p["severity"] == "critical"
    assert p["component"] == "api" and p["class"] == "down" and p["group"] == "upmon"
    assert p["timestamp"].endswith("Z")
    assert p["custom_details"]["code"] == 503
    assert p["custom_details"]["phrase"] == "Service Unavailable"
    assert p["custom_details"]["labels"] == {"team": "web"}
    assert bodies[0]["links"][0]["href"] == srv.url("/site/api")

    # The throttled trigger was tried again, not before it was asked.
    tries = [e for e in pd.events(accepted_only=False) if e["json"]["dedup_key"] == k2
             and e["json"]["event_action"] == "trigger"]
    assert [t["answer"] for t in tries] == [429, 202], tries
    assert tries[1]["time"] - tries[0]["time"] >= 0.9, tries
    assert tries[0]["json"] == tries[1]["json"]
    dm.stop()
    # The routing key is not in the outbox, nor anywhere in the state.
    for root, _, files in os.walk(os.path.join(d, "state")):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                assert ROUTING_KEY.encode() not in fh.read(), f


def test_pagerduty_redirect_then_outage():
    """An alert that ends one kind of trouble by starting another resolves
    the first incident before it triggers its own: nothing is left open."""
    pd = PagerDuty()
    d, srv, dm = pagerduty_daemon(pd)
    srv.get("/_set?name=api&status=301&location=https://example.net/moved")
    count(pd.events, 1, "events")
    srv.get("/_set?name=api&status=503")
    count(pd.events, 3, "events")
    srv.get("/_set?name=api&status=200")
    ev = count(pd.events, 4, "events")
    got = [(e["json"]["event_action"], e["json"]["dedup_key"]) for e in ev]
    kr, kd = got[0][1], got[2][1]
    assert kr != kd, got
    assert got == [("trigger", kr), ("resolve", kr), ("trigger", kd), ("resolve", kd)], got
    assert ev[0]["json"]["payload"]["class"] == "redirect"
    assert ev[2]["json"]["payload"]["class"] == "down"


def test_pagerduty_400_is_not_retried():
    pd = PagerDuty(plan=[(400, {})])
    d, srv, dm = pagerduty_daemon(pd)
    srv.get("/_set?name=api&status=503")
    dm.wait_log(r"webhook rx: down msg_\w+ of api refused \(answered 400\); not retried")
    srv.get("/_set?name=api&status=200")
    count(pd.events, 1, "events")
    assert [(e["answer"], e["json"]["event_action"]) for e in pd.events(False)] == \
        [(400, "trigger"), (202, "resolve")]


def test_configuration_errors_at_their_place():
    d = h.tmpdir()
    cfg = h.config(d, """\
alerts:
  webhooks:
    - name: pd
      url: https://events.pagerduty.com/v2/enqueue
      format: pagerduty
    - {name: m1, url: 'smtp://127.0.0.1', format: email, to: [a@example.com]}
    - {name: m2, url: 'https://x.example', format: email, from: a@example.com, to: b@example.com}
    - {name: m3, url: 'smtp://127.0.0.1', from: 'Ops <a@example.com>', format: email, to: b@x.example}
    - {name: m4, url: 'smtp://mail.example.com', format: email, from: a@example.com,
       to: b@example.com, username: u, password_file: pw, starttls: optional}
    - {name: s1, url: 'http://127.0.0.1/', format: slack, routing_key_file: pw}
""")
    h.write(os.path.join(d, "pw"), "x\n")
    p = h.run(["--check-config", "-c", cfg])
    assert p.returncode == 78, (p.returncode, p.stderr)
    want = [
        "%s:3:7: webhook pd: format pagerduty needs routing_key_file or routing_key_credential",
        "%s:6:7: webhook m1: format email needs from and to",
        "%s:7:18: webhook m2: format email needs an smtp:// or smtps:// url",
        '%s:8:49: "Ops <a@example.com>" is not a plain e-mail address such as '
        'alerts@example.com',
        "%s:10:59: webhook m4: a password is only sent to a remote server with starttls: "
        "required or over smtps://",
        "%s:11:59: routing_key_file applies only to format: pagerduty",
    ]
    got = [l for l in p.stderr.splitlines() if l.startswith(cfg)]
    assert got == [w % cfg for w in want], "\n".join(got)


if __name__ == "__main__":
    need_smtp()
    h.main(globals())
