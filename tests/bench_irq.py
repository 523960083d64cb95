#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Device interrupt latency in `make bench`: guests/irqlat (QEMU's edu
device passed through, its MSI routed to the partition by the hypervisor,
kernel/devirq.h) under QEMU TCG with -icount shift=0,sleep=off, so a TSC
cycle is one executed instruction and one ns of the instruction clock.
Measured from the device raising its MSI to the owner's HC_WAIT returning
the device's event bit, in two cases: the owner running in its window (it
raises the interrupt itself, then calls HC_WAIT) and the owner waiting in
HC_WAIT with its CPU halted (edu raises it at the end of a DMA, at a time the
guest knows).  Three machines: no IOMMU (the hypervisor programs the MSI),
AMD-Vi and VT-d (interrupt remapping entries).  Printed next to the
published Arm figures that issue 14 quotes.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402

ICOUNT = ["-icount", "shift=0,sleep=off"]
LAT = r"(\d+) samples, median (\d+), min (\d+), max (\d+) TSC cycles$"
MACHINES = [("no IOMMU (MSI programmed by the hypervisor)", "irqlat.conf", []),
            ("AMD-Vi (interrupt remapping)", "irqlat-iommu.conf", ["-device", "amd-iommu"]),
            ("VT-d (interrupt remapping)", "irqlat-iommu.conf", ["-device", "intel-iommu"])]


def run(name, config, extra):
    case = harness.Case(name, "tests/integration/configs/" + config,
                        [("done", r"^\[irqlat\] done$")], exit_code=0, timeout=600,
                        qemu_args=["-device", "edu"] + extra + ICOUNT,
                        forbid=harness.DEFAULT_FORBID + [r"FAIL"])
    results = harness.run_case(case)
    failed = [r for r in results if not r[1]]
    if failed:
        sys.exit(f"bench_irq: {name} failed: {failed[0][0]}: {failed[0][2]}")
    with open(os.path.join(ROOT, "build", "test", name, "serial.log"), errors="replace") as f:
        log = f.read()
    out = {}
    for what in ("running", "waiting"):
        m = re.search(rf"^\[irqlat\] {what}: " + LAT, log, re.M)
        if not m:
            sys.exit(f"bench_irq: {name}: no '{what}' line")
        out[what] = (int(m.group(2)), int(m.group(4)))
    return out


def main():
    print("  QEMU    device interrupt latency (edu) under -icount shift=0,sleep=off, 3 machines",
          flush=True)
    rows = []
    for k, (label, config, extra) in enumerate(MACHINES):
        r = run(f"bench-irq-{k}", config, extra)
        for what, how in (("running", "owner running in its window"),
                          ("waiting", "owner in HC_WAIT, CPU halted")):
            med, mx = r[what]
            rows.append((f"{label}, {how}", f"median {med} instructions = {med} ns, max {mx}"))
    rows.append(("published, Arm ZCU104 (RTAS'23): bare metal / Bao / Jailhouse",
                 "222 ns / 906 ns / 1,094 ns (direct injection about 223 ns)"))
    w = max(len(n) for n, _ in rows)
    print(f"\nDevice interrupt latency, raise -> owner's handler (QEMU "
          f"{subprocess_version()}, -cpu qemu64,+svm,+npt, -device edu, -icount shift=0,sleep=off)")
    for name, value in rows:
        print(f"  {name:<{w}}  {value}")
    return 0


def subprocess_version():
    import subprocess
    out = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True, text=True).stdout
    m = re.search(r"version (\S+)", out)
    return m.group(1) if m else "?"


if __name__ == "__main__":
    sys.exit(main())
