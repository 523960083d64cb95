#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The management API's requests per second, for `make bench` (called by
tests/bench.py, or alone).

Boots a config with the management partition under plain QEMU TCG (not
-icount: the figure is wall-clock time, with QEMU's user network and the
host's TCP stack in the path), waits until the API answers, then sends N
sequential `GET /api/partitions` requests from 127.0.0.1 within a time
bound, and prints one line per config and way: requests per second and the
median and worst latency.  Plain HTTP and HTTPS side by side, with a new
connection per request (over TLS: a full handshake each, ECDHE-ECDSA P-256)
and over one persistent connection (HTTPS only: the handshake once).  Exits non-zero, saying why,
if the server does not answer or a request fails.
"""
import http.client
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import harness  # noqa: E402
import mgmt_http  # noqa: E402

REQUESTS = 200
TIME_BOUND_S = 120
# (config, what, TLS)
CONFIGS = [
    ("tests/integration/configs/mgmt-plain.conf", "plain HTTP, mgmt 6 ms of every 10 ms frame",
     False),
    ("tests/integration/configs/mgmt.conf", "HTTPS, mgmt 6 ms of every 10 ms frame", True),
    ("tests/integration/configs/mgmt-2of10.conf", "plain HTTP, mgmt 2 ms of every 10 ms frame",
     False),
]
CA = os.path.join(harness.BUILD, "tls", "mgmt.crt")


def token():
    with open(os.path.join(harness.BUILD, "tls", "api.token")) as f:
        return f.read().strip()


def timed(n, bound, one):
    lat = []
    start = time.time()
    for i in range(n):
        t = time.time()
        one(i)
        lat.append(time.time() - t)
        if time.time() - start > bound:
            break
    return len(lat), time.time() - start, statistics.median(lat), max(lat)


def measure(port, tls, n=REQUESTS, bound=TIME_BOUND_S):
    ctx = mgmt_http.context(CA) if tls else None
    tok = token()
    ok, tries, err = mgmt_http.wait_ready(port, tries=60, pause=0.5, tls=ctx, token=tok)
    if not ok:
        raise RuntimeError(f"the API did not answer after {tries} tries: {err}")

    def fresh(i):
        r = mgmt_http.request(port, "GET", "/api/partitions", tls=ctx, token=tok)
        if r.status != 200 or "partitions" not in r.json():
            raise RuntimeError(f"request {i}: status {r.status}")
    out = [("one connection each", timed(n, bound / 2, fresh))]
    if tls:
        conn = http.client.HTTPSConnection("localhost", port, timeout=20, context=ctx)

        def persistent(i):
            conn.request("GET", "/api/partitions", headers={"Authorization": f"Bearer {tok}"})
            r = conn.getresponse()
            if r.status != 200 or b"partitions" not in r.read():
                raise RuntimeError(f"request {i}: status {r.status}")
        out.append(("one persistent connection", timed(n, bound / 2, persistent)))
        conn.close()
    return out


def bench(config, what, tls):
    figures = []

    def steps(port, serial):
        try:
            figures.extend(measure(port, tls))
            return [("requests", True, "")]
        except Exception as e:
            return [("requests", False, f"{type(e).__name__}: {e}")]
    ready = r"^\[mgmt\] https? server on "
    case = harness.Case("bench-api-" + os.path.basename(config)[:-5], config,
                        [("listening", ready)], exit_code=None, nic_port=0,
                        nic_guest_port=443 if tls else 80,
                        qemu_args=["-cpu", "qemu64,+svm,+npt,+rdrand"],
                        host_steps=steps, host_steps_after=ready,
                        timeout=TIME_BOUND_S + 120)
    bad = [(n, d) for n, ok, d, _ in harness.run_case(case) if not ok]
    if bad or not figures:
        raise RuntimeError("; ".join(f"{n}: {d}" for n, d in bad) or "no figures")
    return "\n".join(
        f"API requests/s ({what}; plain TCG, not icount; {n} sequential GET /api/partitions "
        f"from 127.0.0.1, {how}): {n / secs:.1f} req/s, median {med * 1000:.1f} ms, "
        f"max {worst * 1000:.1f} ms" for how, (n, secs, med, worst) in figures)


def main():
    for f in ["guests/mgmt.elf", "guests/hello.elf", "guests/spin.elf", "tls/mgmt.crt",
              "tls/api.token"]:
        if not os.path.exists(os.path.join(harness.BUILD, f)):
            print(f"bench_api: FAILED: build/{f} is missing: run `make all` first",
                  file=sys.stderr)
            return 1
    try:
        for config, what, tls in CONFIGS:
            print(bench(config, what, tls), flush=True)
    except RuntimeError as e:
        print(f"bench_api: FAILED: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
