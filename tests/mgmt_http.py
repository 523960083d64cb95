#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Host-side client of the management partition's HTTP API (guests/mgmt).

Used by the integration cases (tests/integration/cases_mgmt.py) and the API
benchmark (tests/bench_api.py), and by hand:

    python3 tests/mgmt_http.py [--port 8080] GET /api/partitions
    python3 tests/mgmt_http.py POST /api/partitions/spin/restart

It speaks HTTP/1.1 over a plain socket, or over TLS when given an
ssl.SSLContext (tls=; see context()), one request per connection, so that
the tests can also send what no HTTP library would: garbage, oversized
heads.  Only 127.0.0.1 is ever contacted.
"""
import argparse
import json
import socket
import ssl
import sys
import time

HOST = "127.0.0.1"


class Response:
    def __init__(self, status, reason, headers, body):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return f"<{self.status} {self.reason}, {len(self.body)} bytes>"


def context(cafile):
    """A client TLS context that trusts only cafile (the management
    partition's certificate) and checks the name "localhost"."""
    return ssl.create_default_context(cafile=cafile)


def raw(port, data, timeout=10.0, tls=None):
    """Sends data (bytes) on a new connection (TLS if tls is a context),
    reads until the server closes; returns the bytes received (a reset
    after a response keeps what came)."""
    chunks = []
    sock = socket.create_connection((HOST, port), timeout=timeout)
    if tls:
        try:
            sock = tls.wrap_socket(sock, server_hostname="localhost")
        except Exception:
            sock.close()
            raise
    with sock as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLEOFError):
            pass  # the server answered and closed before taking it all
        # Our FIN (plain TCP only: an SSLSocket drops its TLS state on
        # shutdown; over TLS the request's Connection: close ends it).
        try:
            if not tls:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                b = s.recv(65536)
            except (ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
                break
            if not b:
                break
            chunks.append(b)
    return b"".join(chunks)


def parse(data):
    """Parses one HTTP/1.1 response; raises ValueError if it is not one."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        raise ValueError(f"no complete response head in {data[:80]!r}")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise ValueError(f"bad status line {lines[0]!r}")
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    if "content-length" in headers:
        n = int(headers["content-length"])
        if len(body) < n:
            raise ValueError(f"body of {len(body)} bytes, Content-Length {n}")
        body = body[:n]
    return Response(int(parts[1]), parts[2] if len(parts) > 2 else "", headers, body)


def request(port, method, path, body=b"", headers=None, timeout=10.0, tls=None, token=None):
    """One well-formed request; returns a Response.  token: sent as a
    bearer credential."""
    h = {"Host": f"localhost:{port}", "User-Agent": "partita-tests", "Connection": "close"}
    if token:
        h["Authorization"] = f"Bearer {token}"
    h.update(headers or {})
    if body or method == "POST":
        h["Content-Length"] = str(len(body))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items())
    return parse(raw(port, head.encode() + b"\r\n" + body, timeout, tls))


def wait_ready(port, tries=60, pause=1.0, tls=None, token=None):
    """Polls GET /api/partitions until it answers 200 (at most `tries`
    attempts); returns (ok, attempts, last error)."""
    err = None
    for i in range(1, tries + 1):
        try:
            r = request(port, "GET", "/api/partitions", timeout=5, tls=tls, token=token)
            if r.status == 200:
                return True, i, None
            err = f"status {r.status}"
        except (OSError, ValueError, ssl.SSLError) as e:
            err = f"{type(e).__name__}: {e}"
        time.sleep(pause)
    return False, tries, err


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("method")
    ap.add_argument("path")
    ap.add_argument("--data", default="")
    a = ap.parse_args()
    r = request(a.port, a.method.upper(), a.path, a.data.encode())
    print(f"HTTP {r.status} {r.reason}", file=sys.stderr)
    sys.stdout.write(r.body.decode("utf-8", errors="replace"))
    return 0 if r.status < 400 else 1


if __name__ == "__main__":
    sys.exit(main())
