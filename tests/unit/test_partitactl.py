#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Host tests of tools/partitactl against a stand-in of the management API:
an HTTPS server in this process (a self-signed certificate that openssl
makes for the run, in a temporary folder) that answers like guests/mgmt/api.c
for a few partitions.  They check the tables, --json, the console follow
arithmetic, the exit codes, that the token goes out as a bearer credential,
and that an untrusted certificate or a wrong host name is refused.

The real partition is checked in QEMU by tests/integration/cases_mgmt.py.
Run: python3 tests/unit/test_partitactl.py (make unit-test runs it).
"""
import contextlib
import http.server
import importlib.machinery
import importlib.util
import io
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_loader = importlib.machinery.SourceFileLoader("partitactl", os.path.join(ROOT, "tools", "partitactl"))
_spec = importlib.util.spec_from_loader("partitactl", _loader)
ctl = importlib.util.module_from_spec(_spec)
_loader.exec_module(ctl)

TOKEN = "0123456789abcdef0123456789abcdef"


def partition(pid, name, state, **kw):
    p = {"id": pid, "name": name, "kind": "pv", "state": state, "cpu": 0, "memory_kib": 2048,
         "control": False, "self": False, "restarts": 0, "exit_code": -1, "windows": 100,
         "cpu_time_ns": 2_500_000_000, "max_start_late_ns": 1500, "mean_start_late_ns": 300,
         "console_bytes": 10, "console_total": 10,
         "exits": {"hypercall": 5, "cpuid": 1, "io": 0, "msr": 0, "mmio": 0, "hlt": 0,
                   "intr": 7, "other": 0}}
    p.update(kw)
    return p


class FakeApi:
    """The state behind the stand-in server."""

    def __init__(self):
        self.parts = [partition(0, "hello", "exited", exit_code=0),
                      partition(1, "spin", "running"),
                      partition(2, "mgmt", "running", self=True, control=True, memory_kib=8192)]
        self.console = {"hello": "hello from partition 0\n", "spin": "boot 1: spinning\n",
                        "mgmt": "https server on 10.0.2.15:443\n"}
        self.total = {k: len(v) for k, v in self.console.items()}
        self.public_read = False
        self.requests = []  # (method, path, Authorization)
        self.locked = False


def make_handler(api):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def answer(self, status, body, extra=None):
            data = (json.dumps(body) + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def error(self, status, msg, extra=None):
            self.answer(status, {"error": msg, "status": status}, extra)

        def find(self, name):
            return next((p for p in api.parts if p["name"] == name), None)

        def handle_any(self, method):
            auth = self.headers.get("Authorization")
            api.requests.append((method, self.path, auth))
            if api.locked:
                return self.error(429, "too many bad tokens", {"Retry-After": "10"})
            needed = method == "POST" or not api.public_read
            if (needed or auth) and auth != f"Bearer {TOKEN}":
                return self.error(401, "the bearer token is not the API's" if auth
                                  else "this request needs the API's bearer token")
            parts = self.path.split("/")[1:]
            if self.path == "/api/partitions" and method == "GET":
                return self.answer(200, {"uptime_ns": 42_000_000_000, "self": "mgmt",
                                         "partitions": api.parts})
            if self.path == "/api/schedule" and method == "GET":
                return self.answer(200, {"frame_ns": 10_000_000, "epoch_ns": 0, "now_ns": 5,
                                         "cpus": [{"cpu": 0, "windows": [
                                             {"id": 0, "partition": "hello", "offset_ns": 0,
                                              "length_ns": 1_000_000},
                                             {"id": 1, "partition": "spin",
                                              "offset_ns": 1_000_000, "length_ns": 3_000_000}]}]})
            if len(parts) >= 3 and parts[:2] == ["api", "partitions"]:
                p = self.find(parts[2])
                if not p:
                    return self.error(404, "no such partition")
                what = parts[3] if len(parts) > 3 else ""
                if what == "" and method == "GET":
                    return self.answer(200, p)
                if what == "console" and method == "GET":
                    return self.answer(200, {"id": p["id"], "name": p["name"],
                                             "total": api.total[p["name"]],
                                             "console": api.console[p["name"]]})
                if what in ("stop", "start", "restart") and method == "POST":
                    if p["self"]:
                        return self.error(409, "the management partition does not control itself")
                    if what == "start" and p["state"] == "running":
                        return self.error(409, "the partition is already running")
                    p["state"] = "stopped" if what == "stop" else "running"
                    if what == "restart":
                        p["restarts"] += 1
                    return self.answer(200, {"name": p["name"], "action": what, "ok": True})
                return self.error(405, "method not allowed")
            return self.error(404, "no such path")

        def do_GET(self):
            self.handle_any("GET")

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            if n:
                self.rfile.read(n)
            self.handle_any("POST")

    return Handler


@unittest.skipUnless(shutil.which("openssl"), "openssl is needed to make the test certificate")
class PartitactlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="partitactl-test-")
        cls.crt, cls.key = os.path.join(cls.tmp, "t.crt"), os.path.join(cls.tmp, "t.key")
        cls.other = os.path.join(cls.tmp, "other.crt")
        for crt, key, san in ((cls.crt, cls.key, "DNS:localhost,IP:127.0.0.1"),
                              (cls.other, os.path.join(cls.tmp, "o.key"), "DNS:localhost")):
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                            "-out", crt, "-days", "2", "-subj", "/CN=test",
                            "-addext", f"subjectAltName={san}"],
                           check=True, capture_output=True)
        cls.api = FakeApi()
        cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(cls.api))
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(cls.crt, cls.key)
        cls.server.socket = tls.wrap_socket(cls.server.socket, server_side=True)
        cls.port = cls.server.server_address[1]
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.api.requests.clear()
        self.api.locked = False
        self.api.public_read = False

    def run_ctl(self, *args, env=None, token=True):
        e = {"PARTITA_URL": f"https://localhost:{self.port}", "PARTITA_CA": self.crt}
        if token:
            e["PARTITA_TOKEN"] = TOKEN
        e.update(env or {})
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = ctl.main(list(args), e)
        return code, out.getvalue(), err.getvalue()

    def test_list_table(self):
        code, out, err = self.run_ctl("list")
        self.assertEqual(code, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["Name", "ID", "Kind", "State", "CPU", "Mem(MiB)",
                                            "Windows", "Time(s)", "Restarts", "Exits"])
        self.assertEqual(lines[1].split(), ["hello", "0", "pv", "exited", "0", "2", "100", "2.5",
                                            "0", "13"])
        self.assertEqual(lines[3].split()[:4], ["mgmt", "*", "2", "pv"])
        self.assertIn("up 42 s", lines[-1])
        self.assertEqual(self.api.requests, [("GET", "/api/partitions", f"Bearer {TOKEN}")])

    def test_list_json(self):
        code, out, _ = self.run_ctl("--json", "list")
        self.assertEqual(code, 0)
        self.assertEqual([p["name"] for p in json.loads(out)["partitions"]],
                         ["hello", "spin", "mgmt"])

    def test_show(self):
        code, out, _ = self.run_ctl("show", "spin")
        self.assertEqual(code, 0)
        self.assertRegex(out, r"(?m)^state: +running$")
        self.assertRegex(out, r"(?m)^window-start lateness: +max 1.5 us, mean 300 ns$")
        code, _, err = self.run_ctl("show", "nosuch")
        self.assertEqual(code, ctl.EXIT_NOT_FOUND)
        self.assertIn("404", err)

    def test_schedule(self):
        code, out, _ = self.run_ctl("schedule")
        self.assertEqual(code, 0)
        self.assertIn("major frame 10 ms", out)
        self.assertRegex(out, r"(?m)^ *0 +1 ms +4 ms +3 ms +spin$")

    def test_console(self):
        code, out, _ = self.run_ctl("console", "hello")
        self.assertEqual((code, out), (0, "hello from partition 0\n"))

    def test_console_follow_arithmetic(self):
        self.assertEqual(ctl.new_text(10, 10, "abcdefghij"), (0, ""))
        self.assertEqual(ctl.new_text(7, 10, "abcdefghij"), (0, "hij"))
        self.assertEqual(ctl.new_text(0, 14, "abcdefghij"), (4, "abcdefghij"))

    def test_control_and_conflicts(self):
        before = self.api.parts[1]["restarts"]
        code, out, err = self.run_ctl("restart", "spin", "--wait")
        self.assertEqual(code, 0, err)
        self.assertEqual(out, "restart spin: done (now running)\n")
        self.assertEqual(self.api.parts[1]["restarts"], before + 1)
        self.assertIn(("POST", "/api/partitions/spin/restart", f"Bearer {TOKEN}"),
                      self.api.requests)
        self.assertEqual(self.run_ctl("start", "spin")[0], ctl.EXIT_CONFLICT)
        self.assertEqual(self.run_ctl("restart", "mgmt")[0], ctl.EXIT_CONFLICT)
        self.assertEqual(self.run_ctl("stop", "spin")[0], 0)
        self.assertEqual(self.api.parts[1]["state"], "stopped")
        self.assertEqual(self.run_ctl("start", "spin")[0], 0)

    def test_token_refused(self):
        code, _, err = self.run_ctl("restart", "spin", token=False)
        self.assertEqual(code, ctl.EXIT_AUTH)
        self.assertIn("401", err)
        code, _, err = self.run_ctl("list", env={"PARTITA_TOKEN": "x" * 32})
        self.assertEqual(code, ctl.EXIT_AUTH)
        self.api.locked = True
        code, _, err = self.run_ctl("list")
        self.assertEqual(code, ctl.EXIT_AUTH)
        self.assertIn("retry after 10 s", err)

    def test_public_read_without_token(self):
        self.api.public_read = True
        code, _, _ = self.run_ctl("list", token=False)
        self.assertEqual(code, 0)
        self.assertEqual(self.api.requests[-1][2], None)  # nothing sent

    def test_token_file_and_flag(self):
        path = os.path.join(self.tmp, "token")
        with open(path, "w") as f:
            f.write(TOKEN + "\n")
        code, _, _ = self.run_ctl("list", token=False, env={"PARTITA_TOKEN_FILE": path})
        self.assertEqual(code, 0)
        code, _, _ = self.run_ctl("--token-file", path, "list", token=False)
        self.assertEqual(code, 0)
        code, _, _ = self.run_ctl("--token", "wrong-token-wrong-token", "list")
        self.assertEqual(code, ctl.EXIT_AUTH)
        code, _, err = self.run_ctl("--token-file", path + ".missing", "list", token=False)
        self.assertEqual(code, ctl.EXIT_USAGE)

    def test_untrusted_certificate(self):
        code, _, err = self.run_ctl("list", env={"PARTITA_CA": self.other})
        self.assertEqual(code, ctl.EXIT_CONNECT)
        self.assertIn("not trusted", err)
        # The system's CAs do not know a self-signed certificate either.
        code, _, err = self.run_ctl("list", env={"PARTITA_CA": ""})
        self.assertEqual(code, ctl.EXIT_CONNECT, err)
        self.assertEqual(self.api.requests, [])

    def test_wrong_host_name(self):
        # The certificate names localhost and 127.0.0.1, not 127.0.0.2.
        code, _, err = self.run_ctl("list", env={"PARTITA_URL": f"https://127.0.0.2:{self.port}"})
        self.assertEqual(code, ctl.EXIT_CONNECT, err)

    def test_no_server(self):
        code, _, _ = self.run_ctl("list", env={"PARTITA_URL": "https://localhost:1"})
        self.assertEqual(code, ctl.EXIT_CONNECT)

    def test_usage(self):
        self.assertEqual(self.run_ctl("frobnicate")[0], ctl.EXIT_USAGE)
        self.assertEqual(self.run_ctl("create", "x")[0], ctl.EXIT_USAGE)
        self.assertEqual(self.run_ctl("list", env={"PARTITA_URL": "ftp://x"})[0], ctl.EXIT_USAGE)


if __name__ == "__main__":
    unittest.main(verbosity=2)
