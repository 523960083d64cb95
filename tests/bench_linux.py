#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Linux's boot time in a partition against the same kernel and initramfs
booted by QEMU directly, in one run of `make bench`.

Both boots run under QEMU TCG with -icount shift=5,sleep=off, so guest time
is deterministic (one instruction = 32 ns, idle time passes at once) and the
figures are the same on any machine.  The measure is the guest kernel's own
uptime (/proc/uptime) printed by the initramfs' first line: the time from
the kernel's start to its /init running.  In the partition, Linux owns 8 ms
of every 10 ms frame (tests/integration/configs/linux.conf), so a ratio of
1.25 would mean virtualization cost nothing beyond the share of the CPU.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402

ICOUNT = ["-icount", "shift=5,sleep=off"]
# RDRAND gives KASLR a new placement at each boot (without it, under
# -icount, every boot picks the same one); both boots get it.
CPU_DIRECT = "qemu64,+rdrand"
CPU_PARTITION = ["-cpu", "qemu64,+svm,+npt,+rdrand"]
UPTIME = re.compile(r"partita-test: uptime (\d+\.\d+) s")
CMDLINE = "console=ttyS0 tsc=reliable"


def direct_boot():
    build = os.path.join(ROOT, "build", "guests")
    cmd = ["qemu-system-x86_64", "-nodefaults", "-machine", "q35", "-m", "256M", "-accel", "tcg",
           "-cpu", CPU_DIRECT, "-kernel", os.path.join(build, "vmlinuz"),
           "-initrd", os.path.join(build, "initrd.gz"), "-append", CMDLINE,
           "-serial", "stdio", "-display", "none", "-no-reboot", "-monitor", "none"] + ICOUNT
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                         stdin=subprocess.DEVNULL).stdout
    m = UPTIME.search(out)
    if not m:
        sys.exit("bench_linux: the direct boot printed no uptime line")
    return float(m.group(1))


def partition_boot():
    case = harness.Case("bench-linux", "tests/integration/configs/linux.conf",
                        [("uptime", UPTIME.pattern)], exit_code=0, timeout=600,
                        qemu_args=["-m", "1G"] + CPU_PARTITION + ICOUNT)
    results = harness.run_case(case)
    failed = [r for r in results if not r[1]]
    if failed:
        sys.exit("bench_linux: the partition boot failed: " + failed[0][2])
    log = os.path.join(ROOT, "build", "test", "bench-linux", "serial.log")
    with open(log, errors="replace") as f:
        m = UPTIME.search(f.read())
    return float(m.group(1))


def main():
    print("  QEMU    Linux in a partition and directly, under -icount shift=5,sleep=off", flush=True)
    part = partition_boot()
    direct = direct_boot()
    print(f"{'Linux boot to /init (kernel uptime)':40s} partition {part:.2f} s, QEMU direct {direct:.2f} s, "
          f"ratio {part / direct:.2f} (the partition has 8 ms of every 10 ms)")


if __name__ == "__main__":
    main()
