# SPDX-License-Identifier: BSD-2-Clause
"""Integration cases of device interrupts (kernel/devirq.h): QEMU's `edu`
device passed through to guests/irqlat, its MSI routed by the hypervisor to
the partition as an event bit that wakes HC_WAIT, on a machine without an
IOMMU (the partition is trusted, the hypervisor programs the message), with
AMD-Vi and with VT-d (interrupt remapping entries the hypervisor writes; the
partition is not trusted).  irqlat raises interrupts itself while it runs,
and waits for the interrupt edu raises at the end of a DMA; each case checks
that every interrupt arrived, and that the wait's latency is what a woken
partition costs (far below a frame), which fails if the interrupt only
reaches the partition through a deadline or a later window.  Under
-icount shift=5,sleep=off the TSC is QEMU's virtual clock, which irqlat
needs to know when edu raised its DMA interrupt.
"""
from harness import Case, DEFAULT_FORBID

CONF = "tests/integration/configs/"
ICOUNT = ["-icount", "shift=5,sleep=off"]
EDU = ["-device", "edu"]
# Under shift=5 a TSC cycle is 1 ns and an instruction 32 ns; a wake-up
# from HC_WAIT takes a few thousand instructions: 1 ms bounds it with room,
# a frame (10 ms) does not.
LAT = r"median (\d{1,6}), min \d+, max (\d{1,6}) TSC cycles$"


def expect(how):
    return [("edu owned, its MSI routed", r"^\[hv\] partition irqlat: device 00:0\d\.0 interrupts: "
             r"MSI on vector 0xb\d of cpu 0, event bit 16$"),
            ("the guest sees MSI and its event bit",
             r"^\[irqlat\] edu 00:0\d\.0, BAR0 at 0x[0-9a-f]+, interrupts: MSI, event bit 0x10000$"),
            ("interrupts while running arrive", r"^\[irqlat\] running: 20 samples, " + LAT),
            ("interrupts while waiting wake it within 1 ms",
             r"^\[irqlat\] waiting: (1\d|20) samples, " + LAT),
            ("none lost", r"^\[irqlat\] 0 interrupts lost$"),
            ("finished", r"^\[irqlat\] done$")] + how


CASES = [
    Case("devirq-edu-no-iommu-trusted", CONF + "irqlat.conf",
         expect([("programmed by the hypervisor", r"^\[hv\] partition irqlat: device 00:0\d\.0: MSI "
                                                  r"programmed by the hypervisor \(no interrupt remapping\)"),
                 ("no IOMMU: trusted", r"^\[hv\] partition irqlat: DMA of device 00:0\d\.0 is not "
                                       r"isolated \(there is no IOMMU\): trusted")]),
         qemu_args=EDU + ICOUNT, timeout=240, report=r"^\[irqlat\] waiting:",
         forbid=DEFAULT_FORBID + [r"FAIL", r"unexpected interrupt"]),
    Case("devirq-edu-amd-iommu", CONF + "irqlat-iommu.conf",
         expect([("remapped by AMD-Vi", r"^\[hv\] partition irqlat: device 00:0\d\.0: MSI through "
                                        r"AMD-Vi interrupt remapping"),
                 ("isolated by AMD-Vi", r"^\[hv\] partition irqlat: DMA of its device\(s\) through "
                                        r"the IOMMU \(AMD-Vi\)")]),
         qemu_args=EDU + ["-device", "amd-iommu"] + ICOUNT, timeout=240,
         report=r"^\[irqlat\] waiting:",
         forbid=DEFAULT_FORBID + [r"FAIL", r"unexpected interrupt", r"iommu: DMA fault"]),
    Case("devirq-edu-intel-iommu", CONF + "irqlat-iommu.conf",
         expect([("remapped by VT-d", r"^\[hv\] partition irqlat: device 00:0\d\.0: MSI through "
                                      r"VT-d interrupt remapping"),
                 ("isolated by VT-d", r"^\[hv\] partition irqlat: DMA of its device\(s\) through "
                                      r"the IOMMU \(VT-d\)")]),
         qemu_args=EDU + ["-device", "intel-iommu"] + ICOUNT, timeout=240,
         report=r"^\[irqlat\] waiting:",
         forbid=DEFAULT_FORBID + [r"FAIL", r"unexpected interrupt", r"iommu: DMA fault"]),
]
