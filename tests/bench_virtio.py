#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""virtio-blk sequential read throughput of a Linux partition, as a share of
the guest's own memcpy, in one run of `make bench`.

Linux (tests/integration/configs/bench-virtio-blk.conf, 8 ms of every 10 ms)
reads its whole 8 MiB disk 16 times with O_DIRECT (dd bs=1M, so every pass
reaches the device), then reads the same bytes 16 times from tmpfs (the
kernel's copy to user space: its memcpy).  Both are timed by the guest, under
QEMU TCG with -icount shift=5,sleep=off: deterministic guest time, the same
on any machine.  The window share cancels out of the ratio.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402

QEMU_ARGS = ["-m", "1G", "-cpu", "qemu64,+svm,+npt,+rdrand", "-icount", "shift=5,sleep=off"]
LINE = re.compile(r"partita-test: bench: disk read (\d+) MiB in (\d+\.\d+) s; "
                  r"tmpfs read (\d+) MiB in (\d+\.\d+) s")


def main():
    print("  QEMU    Linux reading its virtio-blk disk, under -icount shift=5,sleep=off", flush=True)
    case = harness.Case("bench-virtio-blk", "tests/integration/configs/bench-virtio-blk.conf",
                        [("bench line", LINE.pattern)], exit_code=0, timeout=900,
                        qemu_args=QEMU_ARGS)
    results = harness.run_case(case)
    failed = [r for r in results if not r[1]]
    if failed:
        sys.exit("bench_virtio: the run failed: " + failed[0][2])
    log = os.path.join(ROOT, "build", "test", "bench-virtio-blk", "serial.log")
    with open(log, errors="replace") as f:
        m = LINE.search(f.read())
    disk_mib, disk_s, mem_mib, mem_s = int(m.group(1)), float(m.group(2)), int(m.group(3)), float(m.group(4))
    disk, mem = disk_mib / disk_s, mem_mib / mem_s
    print(f"{'virtio-blk sequential read (dd 1M direct)':40s} {disk:.1f} MiB/s, guest memcpy "
          f"(tmpfs read) {mem:.1f} MiB/s, {100 * disk / mem:.0f} % of memcpy "
          f"(QEMU {' '.join(QEMU_ARGS[2:])})")


if __name__ == "__main__":
    main()
