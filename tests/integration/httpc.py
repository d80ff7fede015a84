"""A client of upmond's own HTTP server for the tests: requests over TCP
on 127.0.0.1 or over a unix socket, parsed with http.client, and raw
bytes for what no library would send."""
import http.client
import json
import socket


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # names in lower case
        self.body = body

    def text(self):
        return self.body.decode()

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<%d %r %r>" % (self.status, self.headers, self.body[:300])


def connection(where, timeout=5):
    """where: a TCP port on 127.0.0.1, or the path of a unix socket."""
    if isinstance(where, int):
        return http.client.HTTPConnection("127.0.0.1", where, timeout=timeout)
    return UnixConnection(where, timeout)


def request(where, path, method="GET", headers=None, timeout=5):
    c = connection(where, timeout)
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        body = r.read()
        return Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, body)
    finally:
        c.close()


def get_json(where, path, status=200, headers=None):
    r = request(where, path, headers=headers)
    assert r.status == status, (path, r)
    assert r.headers["content-type"] == "application/json", r
    return r.json()


def raw(port, data, timeout=5):
    """Sends data on a new connection to 127.0.0.1:port and reads until the
    server closes; returns what came (b"" when it closed at once)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        got = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            got += chunk
        return got
    finally:
        s.close()


def status_of(reply_bytes):
    """The status code of a raw answer, or None when there was none."""
    if not reply_bytes.startswith(b"HTTP/1."):
        return None
    return int(reply_bytes.split(b" ", 2)[1])
