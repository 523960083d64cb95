#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Images and instances in `make bench`: the cost of one copy-on-write fault
(an instance's first write to a shared page of its image: the exit, the
copy of 4 KiB, the new mapping, the TLB flush and the entry, as the guest
times it with RDTSC) and the memory an extra instance takes.

Runs under QEMU TCG with -icount shift=0, like tests/bench.py: a guest TSC
cycle is one executed instruction (of the guest or the hypervisor).
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402

ICOUNT = ["-icount", "shift=0,sleep=off"]
EXPECT = {
    "cow": r"^\[bench-1\] cow fault: median (\d+) cycles, a second write to the page (\d+) cycles$",
    "report": r"^\[hv\] image instance\.elf: (\d+) instances hold (\d+) pages \((\d+) shared once, "
              r"(\d+) private, (\d+) budget\); as \d+ separate loads (\d+) pages",
}


def main():
    print("  QEMU    images and instances under -icount shift=0", flush=True)
    case = harness.Case("bench-images", "tests/bench/instances.conf",
                        list(EXPECT.items()), exit_code=0, timeout=300, qemu_args=ICOUNT)
    results = harness.run_case(case)
    failed = [r for r in results if not r[1]]
    if failed:
        sys.exit(f"bench_images: failed: {failed[0][0]}: {failed[0][2]}")
    with open(os.path.join(ROOT, "build", "test", "bench-images", "serial.log"),
              errors="replace") as f:
        log = f.read()
    m = {k: re.search(p, log, re.M) for k, p in EXPECT.items()}
    n, held, shared, priv, budget, whole = map(int, m["report"].groups())
    per = (priv + budget) // n
    rows = [
        ("copy-on-write fault (first write to a shared page)",
         f"{m['cow'].group(1)} instructions (a second write: {m['cow'].group(2)})"),
        ("memory per extra instance (2 MiB, 32 KiB budget)",
         f"{per} pages = {per * 4} KiB, of {whole // n} pages as a separate load; the image's "
         f"{shared} pages once"),
    ]
    for name, value in rows:
        print(f"{name:52s} {value}")


if __name__ == "__main__":
    main()
