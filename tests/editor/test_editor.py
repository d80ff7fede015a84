#!/usr/bin/env python3
"""The example watch list, opened in a real editor's language server
(yaml-language-server, the one VS Code, Neovim and Helix use), with the
schema `upmond --print-schema` makes: as shipped it draws no complaint; a
misspelt key, a bad duration and a lower-case method each draw one at
their line; and completion offers the target keys.

The server speaks the Language Server Protocol on stdin and stdout; this
file is the client. The server comes from the npm registry
(tests/editor/package.json); without node and npm, or when it is not
installed, the test skips (exit 77) saying so.

Usage: test_editor.py UPMOND"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
SERVER = os.path.join(HERE, "node_modules", ".bin", "yaml-language-server")
EXAMPLE = os.path.join(SRC, "etc", "watch.d", "example.yaml")


class Server:
    def __init__(self):
        self.p = subprocess.Popen([SERVER, "--stdio"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.next_id = 0
        self.lock = threading.Condition()
        self.responses = {}
        self.diagnostics = {}
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        f = self.p.stdout
        while True:
            length = None
            while True:
                line = f.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            msg = json.loads(f.read(length))
            with self.lock:
                if "id" in msg and "method" not in msg:
                    self.responses[msg["id"]] = msg
                elif msg.get("method") == "textDocument/publishDiagnostics":
                    self.diagnostics[msg["params"]["uri"]] = msg["params"]["diagnostics"]
                elif "id" in msg:  # a request of the server's: answer it
                    result = None
                    if msg.get("method") == "workspace/configuration":
                        result = [None for _ in msg["params"]["items"]]
                    self.send({"jsonrpc": "2.0", "id": msg["id"], "result": result})
                self.lock.notify_all()

    def send(self, msg):
        body = json.dumps(msg).encode()
        self.p.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.p.stdin.flush()

    def request(self, method, params, timeout=30):
        self.next_id += 1
        rid = self.next_id
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        with self.lock:
            while rid not in self.responses:
                left = deadline - time.monotonic()
                assert left > 0, "no answer to %s" % method
                self.lock.wait(left)
            return self.responses.pop(rid)

    def notify(self, method, params):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def diagnostics_of(self, uri, timeout=30):
        deadline = time.monotonic() + timeout
        with self.lock:
            while uri not in self.diagnostics:
                left = deadline - time.monotonic()
                assert left > 0, "no diagnostics for %s" % uri
                self.lock.wait(left)
            return self.diagnostics.pop(uri)

    def close(self):
        try:
            self.request("shutdown", None, timeout=5)
            self.notify("exit", None)
            self.p.wait(timeout=5)
        except Exception:
            self.p.kill()
            self.p.wait()


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    if not os.access(SERVER, os.X_OK) or shutil.which("node") is None:
        print("SKIP: yaml-language-server is not installed "
              "(cd tests/editor && npm ci)")
        return 77
    tmp = tempfile.mkdtemp(prefix="upmon-editor-")
    try:
        return run(sys.argv[1], tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(upmond, tmp):
    schema = os.path.join(tmp, "watch-list.schema.json")
    with open(schema, "w") as f:
        subprocess.run([upmond, "--print-schema=watch-list"], stdout=f, check=True)
    text = open(EXAMPLE, encoding="utf-8").read()
    # As installed, the modeline names /usr/share/upmon; here, the schema
    # just printed.
    assert text.startswith("# yaml-language-server: $schema=/usr/share/upmon/"), text[:80]
    text = re.sub(r"\$schema=\S+", "$schema=" + schema, text, count=1)
    lines = text.splitlines()

    def line_of(needle):
        return next(i for i, l in enumerate(lines) if needle in l)

    bad = (text.replace("body_contains:", "body_contain:", 1)
               .replace("interval: 1m", "interval: 1 minute", 1)
               .replace("url: https://example.com/", "url: https://example.com/\n    method: get", 1))
    srv = Server()
    passed = failed = 0
    try:
        srv.request("initialize", {"processId": os.getpid(), "rootUri": None,
                                   "capabilities": {"textDocument": {"completion": {}}}})
        srv.notify("initialized", {})
        srv.notify("workspace/didChangeConfiguration",
                   {"settings": {"yaml": {"validate": True, "completion": True,
                                          "schemaStore": {"enable": False}}}})
        def check(name, ok, detail=""):
            nonlocal passed, failed
            print(("ok " if ok else "FAIL ") + name + ("" if ok else ": " + detail))
            passed, failed = passed + ok, failed + (not ok)

        good_uri = "file://" + os.path.join(tmp, "good.yaml")
        srv.notify("textDocument/didOpen", {"textDocument": {
            "uri": good_uri, "languageId": "yaml", "version": 1, "text": text}})
        diags = srv.diagnostics_of(good_uri)
        check("the example as shipped draws no complaint", diags == [], json.dumps(diags))

        bad_uri = "file://" + os.path.join(tmp, "bad.yaml")
        srv.notify("textDocument/didOpen", {"textDocument": {
            "uri": bad_uri, "languageId": "yaml", "version": 1, "text": bad}})
        diags = srv.diagnostics_of(bad_uri)
        bad_lines = bad.splitlines()
        at = {d["range"]["start"]["line"]: d["message"] for d in diags}
        for needle, what in (("body_contain:", "the misspelt key"),
                             ("interval: 1 minute", "the bad duration"),
                             ("method: get", "the lower-case method")):
            n = next(i for i, l in enumerate(bad_lines) if needle in l)
            check("%s is flagged at its line (%d)" % (what, n + 1), n in at, json.dumps(diags))
        msg = at.get(next(i for i, l in enumerate(bad_lines) if "body_contain:" in l), "")
        check("the misspelt key's message names it", "body_contain" in msg, msg)
        check("nothing else is flagged", len(diags) == 3, json.dumps(diags))

        # Completion inside a target offers the target keys.
        n = line_of("name: example-home")
        reply = srv.request("textDocument/completion", {
            "textDocument": {"uri": good_uri}, "position": {"line": n + 1, "character": 4}})
        result = reply.get("result") or {}
        items = result.get("items", result) if isinstance(result, dict) else result
        labels = {i["label"] for i in items or []}
        want = {"interval", "timeout", "expect", "failure_threshold"}
        check("completion offers the target keys", want <= labels, sorted(labels))
    finally:
        srv.close()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
