#!/usr/bin/env python3
"""The management API's requests per second, for `make bench` (called by
tests/bench.py, or alone).

Boots a config with the management partition under plain QEMU TCG (not
-icount: the figure is wall-clock time, with QEMU's user network and the
host's TCP stack in the path), waits until the API answers, then sends N
sequential `GET /api/partitions` requests from 127.0.0.1, each on its own
connection, within a time bound, and prints one line per config: requests
per second and the median and worst latency.  Exits non-zero, saying why,
if the server does not answer or a request fails.
"""
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
CONFIGS = [
    ("tests/integration/configs/mgmt.conf", "mgmt 6 ms of every 10 ms frame"),
    ("tests/integration/configs/mgmt-2of10.conf", "mgmt 2 ms of every 10 ms frame"),
]


def measure(port, n=REQUESTS, bound=TIME_BOUND_S):
    ok, tries, err = mgmt_http.wait_ready(port, tries=60, pause=0.5)
    if not ok:
        raise RuntimeError(f"the API did not answer after {tries} tries: {err}")
    lat = []
    start = time.time()
    for i in range(n):
        t = time.time()
        r = mgmt_http.request(port, "GET", "/api/partitions")
        if r.status != 200 or "partitions" not in r.json():
            raise RuntimeError(f"request {i}: status {r.status}")
        lat.append(time.time() - t)
        if time.time() - start > bound:
            break
    secs = time.time() - start
    return len(lat), secs, statistics.median(lat), max(lat)


def bench(config, what):
    figures = []

    def steps(port, serial):
        try:
            figures.append(measure(port))
            return [("requests", True, "")]
        except Exception as e:
            return [("requests", False, f"{type(e).__name__}: {e}")]
    ready = r"^\[mgmt\] http server on "
    case = harness.Case("bench-api-" + os.path.basename(config)[:-5], config,
                        [("listening", ready)], exit_code=None, nic_port=0,
                        host_steps=steps, host_steps_after=ready,
                        timeout=TIME_BOUND_S + 120)
    bad = [(n, d) for n, ok, d, _ in harness.run_case(case) if not ok]
    if bad or not figures:
        raise RuntimeError("; ".join(f"{n}: {d}" for n, d in bad) or "no figures")
    n, secs, med, worst = figures[0]
    return (f"API requests/s ({what}; plain TCG, not icount; {n} sequential GET /api/partitions "
            f"from 127.0.0.1, one connection each): {n / secs:.1f} req/s, median "
            f"{med * 1000:.1f} ms, max {worst * 1000:.1f} ms")


def main():
    for f in ["mgmt.elf", "hello.elf", "spin.elf"]:
        if not os.path.exists(os.path.join(harness.BUILD, "guests", f)):
            print(f"bench_api: FAILED: build/guests/{f} is missing: run `make all` first",
                  file=sys.stderr)
            return 1
    try:
        for config, what in CONFIGS:
            print(bench(config, what), flush=True)
    except RuntimeError as e:
        print(f"bench_api: FAILED: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
