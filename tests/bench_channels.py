#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Channel benchmarks of `make bench`: throughput and latency between two
partitions over the raw ring and through lwIP TCP, and the ring's throughput
as a share of the same guest's memcpy bandwidth.

Runs under QEMU TCG with -icount shift=0, like tests/bench.py: the guest
TSC counts executed instructions (1 GHz), so "MB/s" here are megabytes per
second of that instruction clock: deterministic, comparable with each other
and with memcpy, not with real hardware.
"""
import concurrent.futures
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402

ICOUNT = ["-icount", "shift=0,sleep=off"]


def run(name, config, expect):
    case = harness.Case(name, config, [(k, p) for k, p in expect.items()], exit_code=0,
                        timeout=900, qemu_args=ICOUNT)
    results = harness.run_case(case)
    failed = [r for r in results if not r[1]]
    if failed:
        sys.exit(f"bench_channels: {name} failed: {failed[0][0]}: {failed[0][2]}")
    with open(os.path.join(ROOT, "build", "test", name, "serial.log"), errors="replace") as f:
        log = f.read()
    return {k: re.search(p, log, re.M) for k, p in expect.items()}


def main():
    print("  QEMU    channel benchmarks under -icount shift=0 (a few minutes; most of it is the firmware)",
          flush=True)
    # The two boots are independent: one per core.
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
        fr = ex.submit(run, "bench-channels", "tests/bench/chanbench.conf", {
            "memcpy": r"^\[sender\] memcpy 64 KiB: (\d+) cycles/KiB, (\d+) MB/s$",
            "rtt": r"^\[sender\] ring round trip of 64 bytes: min (\d+) cycles, median (\d+) cycles$",
            "stream": r"^\[sender\] ring stream: (\d+) bytes in (\d+) cycles, (\d+) MB/s, ([\d.]+)% of memcpy$",
        })
        ft = ex.submit(run, "bench-tcp", "tests/integration/configs/tcpecho.conf", {
            "rtt": r"^\[client\] round trip of 64 bytes, 100 times: min (\d+) us, mean (\d+) us",
            "tput": r"^\[client\] throughput (\d+) KB/s each way",
        })
        r, t = fr.result(), ft.result()
    rows = [
        ("memcpy in a partition (64 KiB)", f"{r['memcpy'].group(2)} MB/s ({r['memcpy'].group(1)} cycles/KiB)"),
        ("channel ring stream (4000-byte msgs)", f"{r['stream'].group(3)} MB/s = {r['stream'].group(4)}% of memcpy "
                                                 f"(4 MiB channel, 2 ms frame, 1 ms each side)"),
        ("channel ring round trip (64 bytes)", f"{r['rtt'].group(2)} cycles median, min {r['rtt'].group(1)}"),
        ("lwIP TCP over a channel", f"{int(t['tput'].group(1)) / 1000:.1f} MB/s each way (1 MiB echoed, "
                                    f"2 ms frame, 1 ms each side)"),
        ("lwIP TCP round trip (64 bytes)", f"{t['rtt'].group(1)} us min, {t['rtt'].group(2)} us mean"),
    ]
    for name, value in rows:
        print(f"{name:40s} {value}")


if __name__ == "__main__":
    main()
