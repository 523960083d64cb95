#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""A minimal client of the Chrome DevTools Protocol, standard library only,
for the status page's test in headless Chromium (tests/integration/
cases_mgmt.py): it starts Chromium with --remote-debugging-port=0, finds the
page's target, and talks JSON over its WebSocket (RFC 6455: client frames
masked, text frames, no extensions), so that a test can evaluate script in
the page (read the DOM, press a button) and take a screenshot.

Only 127.0.0.1 is contacted: Chromium's debugging port, and the pages the
test opens.
"""
import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import time
import urllib.request


class CdpError(Exception):
    pass


class WebSocket:
    def __init__(self, host, port, path, timeout=30.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            b = self.sock.recv(4096)
            if not b:
                raise CdpError("the debugging port closed during the handshake")
            head += b
        head, _, self.buf = head.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise CdpError(f"no WebSocket: {head[:80]!r}")

    def send(self, text):
        data = text.encode()
        n = len(data)
        hdr = bytes([0x81])
        if n < 126:
            hdr += bytes([0x80 | n])
        elif n < 65536:
            hdr += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            hdr += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        self.sock.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _read(self, n):
        while len(self.buf) < n:
            b = self.sock.recv(65536)
            if not b:
                raise CdpError("the debugging connection closed")
            self.buf += b
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        """One whole message (continuation frames joined); text."""
        parts = []
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7f
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(n)  # the server does not mask
            op = b0 & 0x0f
            if op == 0x8:
                raise CdpError("Chromium closed the WebSocket")
            if op in (0x9, 0xa):
                continue  # ping, pong
            parts.append(payload)
            if b0 & 0x80:
                return b"".join(parts).decode("utf-8", errors="replace")

    def close(self):
        self.sock.close()


class Browser:
    """Headless Chromium with one page, driven over CDP."""

    def __init__(self, profile, extra_args=(), timeout=60.0):
        exe = shutil.which("chromium") or shutil.which("chromium-browser")
        if not exe:
            raise CdpError("no chromium (Debian package chromium)")
        self.proc = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--no-first-run", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", "--remote-debugging-address=127.0.0.1",
             "--remote-debugging-port=0", f"--user-data-dir={profile}",
             "--window-size=1400,1200", *extra_args, "about:blank"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(profile, "chromium.log"), "w"),
            start_new_session=True)
        self.next_id = 0
        port_file = os.path.join(profile, "DevToolsActivePort")
        deadline = time.time() + timeout
        while not os.path.exists(port_file) or os.path.getsize(port_file) == 0:
            if time.time() > deadline or self.proc.poll() is not None:
                self.quit()
                raise CdpError("Chromium did not open its debugging port")
            time.sleep(0.2)
        port = int(open(port_file).read().split()[0])
        targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list",
                                                    timeout=10).read())
        page = next(t for t in targets if t.get("type") == "page")
        path = "/" + page["webSocketDebuggerUrl"].split("/", 3)[3]
        self.ws = WebSocket("127.0.0.1", port, path)

    def call(self, method, **params):
        self.next_id += 1
        my = self.next_id
        self.ws.send(json.dumps({"id": my, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my:
                if "error" in msg:
                    raise CdpError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def evaluate(self, expr):
        """The value of a script expression in the page (awaited if a
        promise)."""
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise CdpError(f"script failed: {r['exceptionDetails'].get('text')} "
                           f"{r['exceptionDetails'].get('exception', {}).get('description', '')}")
        return r["result"].get("value")

    def wait_for(self, expr, timeout=60.0, pause=0.25):
        deadline = time.time() + timeout
        while True:
            v = self.evaluate(expr)
            if v:
                return v
            if time.time() > deadline:
                raise CdpError(f"not true after {timeout} s: {expr}")
            time.sleep(pause)

    def screenshot(self, path):
        r = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))

    def quit(self):
        try:
            if getattr(self, "ws", None):
                self.ws.close()
        finally:
            try:
                os.killpg(self.proc.pid, 9)
            except ProcessLookupError:
                pass
            self.proc.wait()
