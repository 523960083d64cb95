"""Integration cases of the management partition (guests/mgmt): its HTTP API
over the passed-through virtio-net NIC, driven from the host while the
emulator runs (harness Case.host_steps), with curl, headless Chromium and
tests/mgmt_http.py (for what curl will not send: garbage, oversized heads).

Every host-side request goes to 127.0.0.1 on the case's own forwarded port.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from harness import BUILD, Case, DEFAULT_FORBID

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import mgmt_http  # noqa: E402

CONF = "tests/integration/configs/"
READY = r"^\[mgmt\] http server on 10\.0\.2\.15:80$"
FORBID = DEFAULT_FORBID + [r"\[test\] FAIL", r"^\[mgmt\] FAIL", r"partition mgmt: .*stopped"]
NAMES = {"hello", "spin", "mgmt"}


def curl(port, path, method="GET"):
    """curl's view of one request: (status, body)."""
    out = subprocess.run(["curl", "-sS", "-m", "20", "-X", method, "-w", "\n%{http_code}",
                          f"http://127.0.0.1:{port}{path}"],
                         capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise RuntimeError(f"curl {method} {path}: exit {out.returncode}: {out.stderr.strip()}")
    body, _, code = out.stdout.rpartition("\n")
    return int(code), body


def partitions(port):
    code, body = curl(port, "/api/partitions")
    if code != 200:
        raise RuntimeError(f"GET /api/partitions: {code}")
    return {p["name"]: p for p in json.loads(body)["partitions"]}


def poll(what, fn, tries=160, pause=0.25):
    """Calls fn until it returns a true value (at most `tries` times: 40 s,
    as a restart clears memory in its own windows, slower on a loaded host)."""
    last = None
    for _ in range(tries):
        last = fn()
        if last:
            return last
        time.sleep(pause)
    raise RuntimeError(f"{what}: not seen after {tries} tries (last {last!r})")


def step(results, name, fn):
    """Runs one check; an exception is its failure."""
    try:
        ok, detail = fn()
    except Exception as e:
        ok, detail = False, f"{type(e).__name__}: {e}"
    results.append((name, bool(ok), "" if ok else detail))
    return ok


def server_answers(port):
    """The first result of every host-side run: the server answers at all
    (polled for up to 30 s)."""
    ok, tries, err = mgmt_http.wait_ready(port, tries=60, pause=0.5)
    return [("server answers", ok, f"(after {tries} tries)" if ok
             else f"no answer after {tries} tries: {err}")]


def api_steps(port, serial):
    """List, console, restart, stop/start, with curl."""
    results = server_answers(port)
    if not results[-1][1]:
        return results

    def listing():
        ps = partitions(port)
        bad = [f"{n}: {ps[n]['state']}" for n, want in
               [("hello", {"exited"}), ("spin", {"running"}), ("mgmt", {"running", "waiting"})]
               if n not in ps or ps[n]["state"] not in want]
        fields = {"id", "name", "kind", "state", "windows", "exits", "cpu_time_ns", "restarts"}
        missing = [f for p in ps.values() for f in fields if f not in p]
        ok = set(ps) == NAMES and not bad and not missing and ps["spin"]["windows"] > 0 \
            and ps["spin"]["cpu_time_ns"] > 0 and ps["mgmt"]["exits"]["hypercall"] > 0
        return ok, f"names {sorted(ps)}, states wrong: {bad}, fields missing: {missing}"
    step(results, "curl lists the partitions", listing)

    def console():
        code, body = curl(port, "/api/partitions/hello/console")
        text = json.loads(body)["console"]
        return code == 200 and "hello from partition 0 'hello'" in text, f"{code} {body[:200]!r}"
    step(results, "curl reads a console", console)

    def restart():
        before = partitions(port)["spin"]["restarts"]
        code, body = curl(port, "/api/partitions/spin/restart", "POST")
        if code != 200 or not json.loads(body).get("ok"):
            return False, f"POST restart: {code} {body!r}"
        after = poll("restart count", lambda: (lambda p: p["restarts"] == before + 1
                                               and p["state"] == "running")(partitions(port)["spin"]))
        text = poll("a new start on the console", lambda: (
            lambda t: "boot 2: spinning forever" in t and t)(
            json.loads(curl(port, "/api/partitions/spin/console")[1])["console"]))
        return after and text, ""
    step(results, "curl restarts a partition: its count rises, its console shows a new start", restart)

    def stop_start():
        code, _ = curl(port, "/api/partitions/spin/stop", "POST")
        stopped = poll("spin stopped", lambda: partitions(port)["spin"]["state"] == "stopped")
        code2, _ = curl(port, "/api/partitions/spin/start", "POST")
        running = poll("spin running", lambda: partitions(port)["spin"]["state"] == "running")
        code3, body3 = curl(port, "/api/partitions/spin/start", "POST")
        code4, body4 = curl(port, "/api/partitions/mgmt/restart", "POST")
        return (code, code2, code3, code4) == (200, 200, 409, 409) and stopped and running, \
            f"stop {code}, start {code2}, start again {code3} {body3!r}, itself {code4} {body4!r}"
    step(results, "stop, start; start when running and control of itself are 409", stop_start)
    return results


def chromium_steps(port, serial):
    """The status page in headless Chromium lists the partitions."""
    results = server_answers(port)
    if not results[-1][1]:
        return results

    def dom():
        exe = shutil.which("chromium") or shutil.which("chromium-browser")
        if not exe:
            return False, "no chromium (Debian package chromium; `make test` installs it)"
        with tempfile.TemporaryDirectory(dir=BUILD) as profile:
            out = subprocess.run(
                [exe, "--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--no-first-run",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={profile}", "--virtual-time-budget=3000",
                 "--dump-dom", f"http://127.0.0.1:{port}/"],
                capture_output=True, text=True, timeout=90)
        html = out.stdout
        rows = re.findall(r'<tr class="partition" data-name="([a-z0-9_-]+)"><td>\d+</td><td>\1</td>'
                          r'<td>pv</td><td class="(\w+)">\2</td>', html)
        states = dict(rows)
        ok = set(states) == NAMES and states.get("spin") == "running" and "<h1>Partita</h1>" in html
        return ok, f"rows {rows}; chromium exit {out.returncode}; {html[:300]!r} {out.stderr[-300:]!r}"
    step(results, "headless Chromium: the status page lists the partitions", dom)
    return results


BAD_REQUESTS = [
    # (check, raw request, expected status)
    ("garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 garbage\r\n\r\n", 400),
    ("garbage text line", b"HELLO THERE\r\n\r\n", 400),
    ("not HTTP/1.x", b"GET / SPDY/3\r\n\r\n", 400),
    ("header without a colon", b"GET / HTTP/1.1\r\nHost localhost\r\n\r\n", 400),
    ("oversized headers", b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"a" * 16000
     + b"\r\n\r\n", 431),
    ("unknown path", b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 404),
    ("unknown partition", b"GET /api/partitions/nosuch/console HTTP/1.1\r\nHost: x\r\n\r\n", 404),
    ("wrong method on the list", b"DELETE /api/partitions HTTP/1.1\r\nHost: x\r\n\r\n", 405),
    ("GET of an action", b"GET /api/partitions/spin/restart HTTP/1.1\r\nHost: x\r\n\r\n", 405),
    ("body too large", b"POST /api/partitions/spin/restart HTTP/1.1\r\nHost: x\r\n"
     b"Content-Length: 100000\r\n\r\n" + b"z" * 100000, 413),
]


def malformed_steps(port, serial):
    """Each bad request gets its 4xx with a JSON error, then a good one is
    answered."""
    results = server_answers(port)
    if not results[-1][1]:
        return results
    for name, data, want in BAD_REQUESTS:
        def check():
            r = mgmt_http.parse(mgmt_http.raw(port, data))
            body = r.json()
            good = mgmt_http.request(port, "GET", "/api/partitions")
            return (r.status == want and body.get("status") == want and "error" in body
                    and good.status == 200 and "partitions" in good.json()), \
                f"got {r.status} {r.body[:120]!r}, then {good.status}"
        step(results, f"{name}: {want}, then a good request is answered", check)
    # curl's own view of an error: the status and a JSON body.
    step(results, "curl sees 404 with a JSON error", lambda: (
        lambda c: (c[0] == 404 and json.loads(c[1])["status"] == 404, repr(c)))(
        curl(port, "/api/partitions/nosuch")))
    return results


def logged(status):
    return (f"[mgmt] line for a {status}", rf"^\[mgmt\] \S+ \S+ {status}$")


CASES = [
    Case("mgmt-api-curl", CONF + "mgmt.conf",
         [("virtio-net up", r"^\[mgmt\] virtio-net 00:\d\d\.\d 1af4:1041: MAC 52:54:00:12:34:56, "
                            r"features 0x1\d*, queues of \d+, polled$"),
          ("listening", READY),
          ("device passed through", r"^\[hv\] partition mgmt: owns PCI device .* 1af4:1041"),
          ("list request logged", r"^\[mgmt\] GET /api/partitions 200$"),
          ("restart logged", r"^\[mgmt\] POST /api/partitions/spin/restart 200$"),
          ("spin restarted by mgmt", r"restarted by partition mgmt"),
          logged(409)],
         exit_code=None, nic_port=0, host_steps=api_steps, host_steps_after=READY,
         timeout=180, forbid=FORBID),
    Case("mgmt-status-page-chromium", CONF + "mgmt.conf",
         [("listening", READY), ("page request logged", r"^\[mgmt\] GET / 200$")],
         exit_code=None, nic_port=0, host_steps=chromium_steps, host_steps_after=READY,
         timeout=240, forbid=FORBID),
    Case("mgmt-malformed-http", CONF + "mgmt.conf",
         [("listening", READY)] + [logged(s) for s in (400, 404, 405, 413, 431)],
         exit_code=None, nic_port=0, host_steps=malformed_steps, host_steps_after=READY,
         timeout=240, forbid=FORBID),
    # Without the NIC in the machine the partition is refused, the rest run
    # (hello exits, and then nothing is left to run: code 0).
    Case("mgmt-no-nic", CONF + "mgmt-nonic.conf",
         [("device missing, named", r"^\[hv\] partition mgmt: device on config line \d+ not found"),
          ("left stopped", r"^\[hv\] partition mgmt: left stopped$"),
          ("others run", r"^\[hello\] hello from partition 0")],
         exit_code=0),
]
