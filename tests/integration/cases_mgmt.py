# SPDX-License-Identifier: BSD-2-Clause
"""Integration cases of the management partition (guests/mgmt): its API
over the passed-through virtio-net NIC, over HTTPS (the default: altcp_tls
with mbedTLS, the certificate, key and token that `make` generates in
build/tls) or plain HTTP (api_tls = no), driven from the host while the
emulator runs (harness Case.host_steps), with curl, openssl s_client,
tools/partitactl, headless Chromium over the DevTools protocol
(tests/cdp.py) and tests/mgmt_http.py (for what curl will not send:
garbage, oversized heads).

Every host-side request goes to 127.0.0.1 on the case's own forwarded port.
QEMU's user network shows every host client to the partition as 10.0.2.2:
one address for its rate limit, so the lockout check comes last in its case.
"""
import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import time

from harness import BUILD, ROOT, Case, DEFAULT_FORBID

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import cdp  # noqa: E402
import mgmt_http  # noqa: E402

CONF = "tests/integration/configs/"
TLS_DIR = os.path.join(BUILD, "tls")
CA = os.path.join(TLS_DIR, "mgmt.crt")
TOKEN_FILE = os.path.join(TLS_DIR, "api.token")
PARTITACTL = os.path.join(ROOT, "tools", "partitactl")
READY = r"^\[mgmt\] http server on 10\.0\.2\.15:80 \(plain HTTP, status data (public|with the token)\)$"
READY_TLS = (r"^\[mgmt\] https server on 10\.0\.2\.15:443 \(TLS 1\.2, entropy (RDSEED|RDRAND), "
             r"status data with the token\)$")
# The partition's TLS takes its random numbers from RDRAND (qemu64 has none).
RDRAND_CPU = ["-cpu", "qemu64,+svm,+npt,+rdrand"]
FORBID = DEFAULT_FORBID + [r"\[test\] FAIL", r"^\[mgmt\] FAIL", r"partition mgmt: .*stopped"]
NAMES = {"hello", "spin", "mgmt"}


def token():
    with open(TOKEN_FILE) as f:
        return f.read().strip()


class Target:
    """Where a case's API is: port, and whether it speaks TLS."""

    def __init__(self, port, tls):
        self.port, self.tls = port, tls
        self.url = f"{'https' if tls else 'http'}://localhost:{port}"
        self.ctx = mgmt_http.context(CA) if tls else None

    def request(self, method, path, tok=True, **kw):
        return mgmt_http.request(self.port, method, path, tls=self.ctx,
                                 token=token() if tok is True else tok or None, **kw)


def curl(t, path, method="GET", tok=True, ca=CA, extra=(), url=None):
    """curl's view of one request: (exit code, status, body, headers)."""
    cmd = ["curl", "-sS", "-m", "20", "-X", method, "-D", "-", "-w", "\n%{http_code}"]
    if t.tls and ca:
        cmd += ["--cacert", ca]
    if tok:
        cmd += ["-H", f"Authorization: Bearer {token() if tok is True else tok}"]
    out = subprocess.run(cmd + list(extra) + [url or t.url + path], capture_output=True, text=True,
                         timeout=30)
    if out.returncode != 0:
        return out.returncode, None, out.stderr.strip(), ""
    text, _, code = out.stdout.rpartition("\n")
    head, _, body = text.partition("\n\n")  # text mode: CRLF read as LF
    return 0, int(code), body, head.lower()


def partitions(t):
    r = t.request("GET", "/api/partitions")
    if r.status != 200:
        raise RuntimeError(f"GET /api/partitions: {r.status}")
    return {p["name"]: p for p in r.json()["partitions"]}


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


def step(results, name, fn, keep_detail=False):
    """Runs one check; an exception is its failure.  keep_detail: the detail
    is reported on a pass too (a measured figure)."""
    try:
        ok, detail = fn()
    except Exception as e:
        ok, detail = False, f"{type(e).__name__}: {e}"
    results.append((name, bool(ok), detail if (keep_detail or not ok) else ""))
    return ok


def server_answers(t):
    """The first result of every host-side run: the server answers at all
    (polled for up to 30 s)."""
    ok, tries, err = mgmt_http.wait_ready(t.port, tries=60, pause=0.5, tls=t.ctx, token=token())
    return [("server answers", ok, f"(after {tries} tries)" if ok
             else f"no answer after {tries} tries: {err}")]


def common_steps(t, results):
    """List, console, restart, stop/start (with the token), with curl."""
    def listing():
        ps = partitions(t)
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
        rc, code, body, _ = curl(t, "/api/partitions/hello/console")
        text = json.loads(body)["console"] if code == 200 else ""
        return code == 200 and "hello from partition 0 'hello'" in text, f"{rc} {code} {body[:200]!r}"
    step(results, "curl reads a console", console)

    def restart():
        before = partitions(t)["spin"]["restarts"]
        rc, code, body, _ = curl(t, "/api/partitions/spin/restart", "POST")
        if code != 200 or not json.loads(body).get("ok"):
            return False, f"POST restart: {rc} {code} {body!r}"
        after = poll("restart count", lambda: (lambda p: p["restarts"] == before + 1
                                               and p["state"] == "running")(partitions(t)["spin"]))
        text = poll("a new start on the console", lambda: (
            lambda r: f"boot {before + 2}: spinning forever" in r.json()["console"])(
            t.request("GET", "/api/partitions/spin/console")))
        return after and text, ""
    step(results, "curl restarts a partition: its count rises, its console shows a new start",
         restart)

    def stop_start():
        code = curl(t, "/api/partitions/spin/stop", "POST")[1]
        stopped = poll("spin stopped", lambda: partitions(t)["spin"]["state"] == "stopped")
        code2 = curl(t, "/api/partitions/spin/start", "POST")[1]
        running = poll("spin running", lambda: partitions(t)["spin"]["state"] == "running")
        _, code3, body3, _ = curl(t, "/api/partitions/spin/start", "POST")
        _, code4, body4, _ = curl(t, "/api/partitions/mgmt/restart", "POST")
        return (code, code2, code3, code4) == (200, 200, 409, 409) and stopped and running, \
            f"stop {code}, start {code2}, start again {code3} {body3!r}, itself {code4} {body4!r}"
    step(results, "stop, start; start when running and control of itself are 409", stop_start)

    def post_without_token():
        before = partitions(t)["spin"]["restarts"]
        _, code, body, head = curl(t, "/api/partitions/spin/restart", "POST", tok=False)
        _, code2, body2, head2 = curl(t, "/api/partitions/spin/restart", "POST",
                                      tok="not-the-token-of-this-api")
        time.sleep(1)
        after = partitions(t)["spin"]["restarts"]
        ok = (code, code2) == (401, 401) and after == before and \
            'www-authenticate: bearer realm="partita"' in head and \
            'error="invalid_token"' in head2 and json.loads(body) == {
                "error": "this request needs the API's bearer token", "status": 401}
        return ok, f"{code} {body!r} / {code2} {body2!r}, restarts {before} -> {after}"
    step(results, "POST without a token or with a wrong one: 401 and nothing done",
         post_without_token)


def api_steps(port, serial):
    """The plain HTTP API (api_tls = no, api_public_read = yes)."""
    t = Target(port, tls=False)
    results = server_answers(t)
    if not results[-1][1]:
        return results
    step(results, "public read: GET without a token is 200", lambda: (
        lambda c: (c[1] == 200 and "partitions" in json.loads(c[2]), repr(c[:3])))(
        curl(t, "/api/partitions", tok=False)))
    common_steps(t, results)
    return results


def spki_hash(cert):
    """base64 of the SHA-256 of a certificate's SubjectPublicKeyInfo, for
    Chromium's --ignore-certificate-errors-spki-list (a pin on this one key,
    not a blanket exception)."""
    pub = subprocess.run(["openssl", "x509", "-pubkey", "-noout", "-in", cert],
                         capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub,
                         capture_output=True, check=True).stdout
    import hashlib
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def other_ca(workdir):
    """A self-signed certificate for localhost that is not the partition's."""
    crt, key = os.path.join(workdir, "other.crt"), os.path.join(workdir, "other.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", crt,
                    "-days", "2", "-subj", "/CN=partita-mgmt",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return crt


def s_client(port, ca):
    """openssl s_client's handshake with the partition: (verify line,
    protocol, cipher)."""
    out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
                          "-servername", "localhost", "-verify_hostname", "localhost",
                          "-CAfile", ca, "-verify_return_error", "-brief"],
                         input="", capture_output=True, text=True, timeout=60)
    text = out.stdout + out.stderr
    return out.returncode, text


def ctl(t, *args, tok=True, ca=CA, timeout=90):
    env = dict(os.environ, PARTITA_URL=t.url)
    env.pop("PARTITA_TOKEN", None)
    env.pop("PARTITA_TOKEN_FILE", None)
    if ca:
        env["PARTITA_CA"] = ca
    if tok is True:
        env["PARTITA_TOKEN_FILE"] = TOKEN_FILE
    elif tok:
        env["PARTITA_TOKEN"] = tok
    out = subprocess.run([sys.executable, PARTITACTL, *args], env=env, capture_output=True,
                         text=True, timeout=timeout)
    return out.returncode, out.stdout, out.stderr


def tls_steps(port, serial):
    """The HTTPS API: the token, the certificate, curl, openssl s_client,
    partitactl, the handshake's time, the lockout."""
    t = Target(port, tls=True)
    results = server_answers(t)
    if not results[-1][1]:
        return results
    workdir = os.path.dirname(serial)
    wrong_ca = other_ca(workdir)

    def no_token_read():
        _, code, body, head = curl(t, "/api/partitions", tok=False)
        _, code2, body2, _ = curl(t, "/api/partitions/hello/console", tok=False)
        _, code3, body3, _ = curl(t, "/", tok=False)  # the page holds no data: public
        leak = [n for n in NAMES if n in body + body2]
        return (code, code2, code3) == (401, 401, 200) and not leak and \
            json.loads(body)["status"] == 401 and "<h1>Partita</h1>" in body3, \
            f"{code} {body!r}, {code2} {body2!r}, page {code3}, names shown: {leak}"
    step(results, "without the token: GET of the data is 401 and shows nothing, the page is served",
         no_token_read)
    common_steps(t, results)

    def curl_bad_certs():
        rc1, _, err1, _ = curl(t, "/api/partitions", ca=None)
        rc2, _, err2, _ = curl(t, "/api/partitions", ca=wrong_ca)
        # The certificate names localhost, 127.0.0.1 and 10.0.2.15, not this.
        rc3, _, err3, _ = curl(t, "/api/partitions",
                               extra=["--resolve", f"partita.invalid:{port}:127.0.0.1"],
                               url=f"https://partita.invalid:{port}/api/partitions")
        return (rc1, rc2) == (60, 60) and rc3 in (51, 60), \
            f"no CA: {rc1} {err1}; other CA: {rc2} {err2}; other name: {rc3} {err3}"
    step(results, "curl refuses the server without its CA, with another CA, under another name",
         curl_bad_certs)

    def openssl_verify():
        rc, text = s_client(port, CA)
        rc2, text2 = s_client(port, wrong_ca)
        ok = rc == 0 and re.search(r"Verification: OK", text) and \
            re.search(r"Protocol version: TLSv1\.2", text) and \
            re.search(r"Ciphersuite: ECDHE-ECDSA-", text) and rc2 != 0 and \
            re.search(r"verify error", text2)
        return ok, f"good CA: {rc} {text[-400:]!r}; other CA: {rc2} {text2[-300:]!r}"
    step(results, "openssl s_client: TLS 1.2, ECDHE-ECDSA, verified with the CA file; "
                  "refused with another", openssl_verify)

    def plain_to_tls_port():
        try:
            data = mgmt_http.raw(port, b"GET /api/partitions HTTP/1.1\r\nHost: x\r\n\r\n",
                                 timeout=15)
        except OSError as e:
            return True, f"{e}"
        return not data.startswith(b"HTTP/"), f"answered {data[:60]!r}"
    step(results, "plain HTTP to the HTTPS port gets no HTTP answer", plain_to_tls_port)

    def handshake_time():
        import socket
        import ssl
        times = []
        for _ in range(5):
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            t0 = time.time()
            ss = t.ctx.wrap_socket(s, server_hostname="localhost")
            times.append(time.time() - t0)
            ss.close()
        times.sort()
        return True, f"(TLS handshake, 5 runs: median {times[2] * 1000:.0f} ms, " \
                     f"min {times[0] * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms)"
    step(results, "TLS handshake time", handshake_time, keep_detail=True)

    partitactl_steps(t, results, wrong_ca)

    def lockout():
        codes = [curl(t, "/api/partitions", tok=f"bad-token-{i:02d}-xxxxxxxxxxxx")[1]
                 for i in range(5)]
        _, code6, body6, head6 = curl(t, "/api/partitions")  # the right one, but locked
        m = re.search(r"retry-after: (\d+)", head6)
        if not m:
            return False, f"{codes}, then {code6} {body6!r} {head6!r}"
        time.sleep(int(m.group(1)) + 1)
        _, code7, _, _ = curl(t, "/api/partitions")
        return codes == [401] * 5 and code6 == 429 and code7 == 200, \
            f"bad tokens {codes}, then good {code6} (retry after {m.group(1)} s), later {code7}"
    step(results, "5 bad tokens lock the address out (429, Retry-After), then it may again",
         lockout)
    return results


def partitactl_steps(t, results, wrong_ca):
    def listing():
        rc, out, err = ctl(t, "list")
        rows = {l.split()[0]: l.split() for l in out.splitlines()[1:] if l and l[0] != "("}
        ok = rc == 0 and set(rows) == NAMES and rows["spin"][3] == "running" and \
            rows["hello"][3] == "exited" and out.splitlines()[0].split()[:4] == \
            ["Name", "ID", "Kind", "State"]
        rc2, out2, _ = ctl(t, "--json", "list")
        ok = ok and rc2 == 0 and {p["name"] for p in json.loads(out2)["partitions"]} == NAMES
        return ok, f"{rc} {out!r} {err!r}; json {rc2}"
    step(results, "partitactl list: a table, and --json", listing)

    def show_console():
        rc, out, _ = ctl(t, "show", "spin")
        rc2, out2, _ = ctl(t, "console", "hello")
        rc3, _, err3 = ctl(t, "show", "nosuch")
        rc4, out4, _ = ctl(t, "schedule")
        return rc == 0 and re.search(r"(?m)^state: +running$", out) and rc2 == 0 and \
            "hello from partition 0 'hello'" in out2 and rc3 == 4 and rc4 == 0 and \
            re.search(r"(?m)^ *0 +1 ms +4 ms +3 ms +spin$", out4), \
            f"show {rc} {out!r}; console {rc2} {out2!r}; nosuch {rc3} {err3!r}; schedule {out4!r}"
    step(results, "partitactl show, console, schedule; an unknown partition exits 4", show_console)

    def control_and_follow():
        before = partitions(t)["spin"]["restarts"]
        env = dict(os.environ, PARTITA_URL=t.url, PARTITA_CA=CA, PARTITA_TOKEN_FILE=TOKEN_FILE)
        follow = subprocess.Popen([sys.executable, PARTITACTL, "console", "spin", "-f",
                                   "--interval", "0.5"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(3)
            rc, out, err = ctl(t, "restart", "spin", "--wait")
            want = f"boot {before + 2}: spinning forever"
            seen = ""
            deadline = time.time() + 40
            while want not in seen and time.time() < deadline:
                time.sleep(1)
                if follow.poll() is not None:
                    break
            follow.terminate()
            seen, ferr = follow.communicate(timeout=10)
        finally:
            if follow.poll() is None:
                follow.kill()
        rc2, _, err2 = ctl(t, "start", "spin")
        rc3, _, err3 = ctl(t, "restart", "mgmt")
        ok = rc == 0 and out.strip() == "restart spin: done (now running)" and \
            want in seen and rc2 == 5 and rc3 == 5
        return ok, f"restart {rc} {out!r} {err!r}; followed {seen[-300:]!r} {ferr[-200:]!r}; " \
                   f"start {rc2} {err2!r}; itself {rc3} {err3!r}"
    step(results, "partitactl restart --wait; console -f shows the new start; 409s exit 5",
         control_and_follow)

    def refused():
        rc, _, err = ctl(t, "restart", "spin", tok=None)
        rc2, _, err2 = ctl(t, "list", ca=wrong_ca)
        rc3, _, err3 = ctl(t, "list", ca=None)  # the system's CAs
        return (rc, rc2, rc3) == (3, 6, 6) and "401" in err and "not trusted" in err2, \
            f"no token {rc} {err!r}; other CA {rc2} {err2!r}; system CAs {rc3} {err3!r}"
    step(results, "partitactl without the token exits 3, with a wrong CA 6", refused)


def chromium_steps(port, serial):
    """The status page in headless Chromium: the token from the link, the
    schedule's rectangles against /api/schedule, the rows and console
    tails, and its restart button restarts spin."""
    t = Target(port, tls=True)
    results = server_answers(t)
    if not results[-1][1]:
        return results
    workdir = os.path.dirname(serial)
    sched = t.request("GET", "/api/schedule").json()
    windows = sum(len(c["windows"]) for c in sched["cpus"])
    profile = tempfile.mkdtemp(dir=workdir, prefix="chromium-")
    try:
        b = cdp.Browser(profile, [f"--ignore-certificate-errors-spki-list={spki_hash(CA)}"])
    except Exception as e:
        results.append(("headless Chromium starts", False, f"{type(e).__name__}: {e}"))
        return results
    try:
        b.call("Page.enable")
        b.call("Page.navigate", url=f"https://localhost:{port}/#token={token()}")

        def loaded():
            b.wait_for("document.body && document.body.dataset.ready === 'yes'", timeout=90)
            url = b.evaluate("location.href")
            return not url.endswith(token()) and "#" not in url, f"address {url}"
        if not step(results, "the page loads its data with the token from the link, "
                             "and takes the token off the address", loaded):
            b.screenshot(os.path.join(workdir, "status-failed.png"))
            return results

        def timeline():
            rects = b.evaluate("[...document.querySelectorAll('svg.timeline rect.window')]"
                               ".map(r => r.dataset.partition + '@' + r.dataset.offsetNs)")
            want = [f"{w['partition']}@{w['offset_ns']}" for c in sched["cpus"]
                    for w in c["windows"]]
            cpus = b.evaluate("document.querySelectorAll('svg.timeline').length")
            return rects == want and cpus == len(sched["cpus"]) and windows == 3, \
                f"rects {rects}, API windows {want}, timelines {cpus}"
        step(results, "the timeline has one rectangle per window of /api/schedule", timeline)

        def rows():
            b.wait_for("document.querySelector('.console pre[data-name=hello]') && "
                       "document.querySelector('.console pre[data-name=hello]')"
                       ".textContent.includes('hello from partition 0')", timeout=30)
            r = b.evaluate("Object.fromEntries([...document.querySelectorAll('tr.partition')]"
                           ".map(tr => [tr.dataset.name, tr.querySelector('td.state').textContent]))")
            plots = b.evaluate("document.querySelectorAll('td.plot svg.spark').length")
            return set(r) == NAMES and r["spin"] == "running" and plots == 2 * len(NAMES), \
                f"rows {r}, plots {plots}"
        step(results, "rows with state and plots for every partition, the console tails", rows)

        def button():
            before = partitions(t)["spin"]["restarts"]
            b.evaluate("document.querySelector('button[data-action=restart][data-name=spin]')"
                       ".click()")
            b.wait_for("document.getElementById('message').textContent === "
                       "'restart spin: done'", timeout=30)
            poll("restart count", lambda: partitions(t)["spin"]["restarts"] == before + 1)
            shown = b.wait_for(f"(() => {{ const tr = document.querySelector("
                               f"'tr.partition[data-name=spin] td.restarts'); "
                               f"return tr && tr.textContent === '{before + 1}'; }})()",
                               timeout=30)
            time.sleep(15)  # some seconds of history for the plots, then the picture
            b.screenshot(os.path.join(workdir, "status.png"))
            return bool(shown), f"restarts before {before}"
        step(results, "pressing restart restarts spin; the page shows the new count", button)
    except Exception as e:
        results.append(("status page", False, f"{type(e).__name__}: {e}"))
        try:
            b.screenshot(os.path.join(workdir, "status-failed.png"))
        except Exception:
            pass
    finally:
        b.quit()
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
    ("unknown partition", b"GET /api/partitions/nosuch/console HTTP/1.1\r\nHost: x\r\nAUTH\r\n\r\n",
     404),
    ("wrong method on the list", b"DELETE /api/partitions HTTP/1.1\r\nHost: x\r\nAUTH\r\n\r\n", 405),
    ("GET of an action", b"GET /api/partitions/spin/restart HTTP/1.1\r\nHost: x\r\nAUTH\r\n\r\n",
     405),
    ("two Authorization fields", b"GET /api/partitions HTTP/1.1\r\nHost: x\r\nAUTH\r\nAUTH\r\n\r\n",
     400),
    ("body too large", b"POST /api/partitions/spin/restart HTTP/1.1\r\nHost: x\r\n"
     b"Content-Length: 100000\r\n\r\n" + b"z" * 100000, 413),
]


def malformed_steps(port, serial):
    """Over TLS, each bad request gets its 4xx with a JSON error, then a
    good one is answered."""
    t = Target(port, tls=True)
    results = server_answers(t)
    if not results[-1][1]:
        return results
    auth = f"Authorization: Bearer {token()}".encode()
    for name, data, want in BAD_REQUESTS:
        def check(data=data, want=want):
            # Connection: close, as over TLS the client sends no FIN.
            req = data.replace(b"AUTH", auth).replace(b"Host: x\r\n",
                                                      b"Host: x\r\nConnection: close\r\n")
            r = mgmt_http.parse(mgmt_http.raw(port, req, tls=t.ctx))
            body = r.json()
            good = t.request("GET", "/api/partitions")
            return (r.status == want and body.get("status") == want and "error" in body
                    and good.status == 200 and "partitions" in good.json()), \
                f"got {r.status} {r.body[:120]!r}, then {good.status}"
        step(results, f"{name}: {want}, then a good request is answered", check)
    step(results, "curl sees 404 with a JSON error", lambda: (
        lambda c: (c[1] == 404 and json.loads(c[2])["status"] == 404, repr(c)))(
        curl(t, "/api/partitions/nosuch")))
    return results


def made_token_steps(port, serial):
    """No api_token: the token printed once at boot works, and the API's
    console tail of the management partition has it masked."""
    t = Target(port, tls=True)
    lines = open(serial, errors="replace").read().splitlines()
    m = next((re.search(r"^\[mgmt\] api token \(made at boot, shown once\): ([0-9a-f]{32})$", l)
              for l in lines if "api token" in l), None)
    if not m:
        return [("the made token is on the console", False, "no line")]
    made = m.group(1)
    ok, tries, err = mgmt_http.wait_ready(port, tries=60, pause=0.5, tls=t.ctx, token=made)
    results = [("the made token is accepted", ok, err or "")]
    if not ok:
        return results

    def others_refused():
        r = t.request("GET", "/api/partitions", tok=token())  # build/tls's: not this one
        return r.status == 401, f"{r.status}"
    step(results, "another token is refused", others_refused)

    def masked():
        r = t.request("GET", "/api/partitions/mgmt/console", tok=made)
        text = r.json()["console"]
        return r.status == 200 and made not in text and "shown once): " + "*" * 32 in text, \
            repr(text[-300:])
    step(results, "the API's console tail of mgmt has the token masked", masked)
    return results


def logged(status):
    return (f"[mgmt] line for a {status}", rf"^\[mgmt\] \S+ \S+ {status}$")


def cert_mismatch(case, workdir):
    """A config whose api_key is not the key of api_cert (a fresh key)."""
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-out", os.path.join(workdir, "stray.key")],
                   check=True, capture_output=True)
    with open(os.path.join(workdir, "not-a-cert.crt"), "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n")
    conf = open(os.path.join(ROOT, case.config)).read()
    conf = conf.replace("api_key = mgmt.key", "api_key = stray.key")
    path = os.path.join(workdir, "partita.conf")
    with open(path, "w") as f:
        f.write(conf)
    return path, []


def not_a_cert(case, workdir):
    path, _ = cert_mismatch(case, workdir)
    conf = open(os.path.join(ROOT, case.config)).read().replace("api_cert = mgmt.crt",
                                                                 "api_cert = not-a-cert.crt")
    with open(path, "w") as f:
        f.write(conf)
    return path, []


TLS = dict(exit_code=None, nic_port=0, nic_guest_port=443, qemu_args=RDRAND_CPU,
           host_steps_after=READY_TLS, forbid=FORBID)
REFUSED_FORBID = DEFAULT_FORBID + [r"^\[mgmt\] (https?|TLS) server on"]

CASES = [
    Case("mgmt-https", CONF + "mgmt.conf",
         [("virtio-net up", r"^\[mgmt\] virtio-net 00:\d\d\.\d 1af4:1041: MAC 52:54:00:12:34:56, "
                            r"features 0x1\d*, queues of \d+, interrupts \(MSI-X\)$"),
          ("certificate checked", r"^\[mgmt\] certificate: CN=partita-mgmt, EC key of 256 bits$"),
          ("token from the file", r"^\[mgmt\] api token: from the config's api_token file$"),
          ("listening", READY_TLS),
          ("device passed through", r"^\[hv\] partition mgmt: owns PCI device .* 1af4:1041"),
          ("list request logged", r"^\[mgmt\] GET /api/partitions 200$"),
          ("restart logged", r"^\[mgmt\] POST /api/partitions/spin/restart 200$"),
          ("spin restarted by mgmt", r"restarted by partition mgmt"),
          ("lockout logged", r"^\[mgmt\] auth: 5 bad tokens in a row from 10\.0\.2\.2: its requests "
                             r"are refused for 10 s$"),
          logged(401), logged(409), logged(429)],
         host_steps=tls_steps, timeout=600, **TLS),
    Case("mgmt-status-page-chromium", CONF + "mgmt.conf",
         [("listening", READY_TLS), ("page request logged", r"^\[mgmt\] GET / 200$"),
          ("restart by the button", r"^\[mgmt\] POST /api/partitions/spin/restart 200$")],
         host_steps=chromium_steps, timeout=400, **TLS),
    Case("mgmt-malformed-https", CONF + "mgmt.conf",
         [("listening", READY_TLS)] + [logged(s) for s in (400, 404, 405, 413, 431)],
         host_steps=malformed_steps, timeout=400, **TLS),
    Case("mgmt-made-token", CONF + "mgmt-gentoken.conf",
         [("made and shown once", r"^\[mgmt\] api token \(made at boot, shown once\): [0-9a-f]{32}$")],
         host_steps=made_token_steps, timeout=300, **TLS),
    Case("mgmt-plain-http", CONF + "mgmt-plain.conf",
         [("warned", r"^\[mgmt\] WARNING: api_tls = no: the API is plain HTTP, unencrypted; its "
                     r"token crosses the network in the clear$"),
          ("listening", READY)],
         exit_code=None, nic_port=0, host_steps=api_steps, host_steps_after=READY,
         timeout=300, forbid=FORBID),
    # Refusals before anything listens: one FAIL line with the reason.
    Case("mgmt-key-not-the-certificates", CONF + "mgmt.conf",
         [("refused, with the reason", r"^\[mgmt\] FAIL api_key is not the key of api_cert "
                                       r"\(mbedTLS error -0x[0-9a-f]{4}\)$")],
         exit_code=None, nic=True, qemu_args=RDRAND_CPU, prepare=cert_mismatch,
         end_marker=r"^\[mgmt\] FAIL", timeout=180, forbid=REFUSED_FORBID),
    Case("mgmt-not-a-certificate", CONF + "mgmt.conf",
         [("refused, with the reason", r"^\[mgmt\] FAIL api_cert is not an X\.509 certificate in "
                                       r"PEM or DER \(mbedTLS error -0x[0-9a-f]{4}\)$")],
         exit_code=None, nic=True, qemu_args=RDRAND_CPU, prepare=not_a_cert,
         end_marker=r"^\[mgmt\] FAIL", timeout=180, forbid=REFUSED_FORBID),
    Case("mgmt-tls-needs-rdrand", CONF + "mgmt.conf",
         [("refused, with the reason", r"^\[mgmt\] FAIL no RDSEED or RDRAND on this CPU: TLS needs "
                                       r"its random numbers")],
         exit_code=None, nic=True, end_marker=r"^\[mgmt\] FAIL", timeout=180,
         forbid=REFUSED_FORBID),
    # Without the NIC in the machine the partition is refused, the rest run
    # (hello exits, and then nothing is left to run: code 0).
    Case("mgmt-no-nic", CONF + "mgmt-nonic.conf",
         [("device missing, named", r"^\[hv\] partition mgmt: device on config line \d+ not found"),
          ("left stopped", r"^\[hv\] partition mgmt: left stopped$"),
          ("others run", r"^\[hello\] hello from partition 0")],
         exit_code=0),
]
