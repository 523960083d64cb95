# SPDX-License-Identifier: BSD-2-Clause
"""Integration cases of the hardware check (boot/hwcheck.c): `check = yes`
in [hypervisor] makes the loader print the report and return to the
firmware, and CHECK.EFI does the same on its own.  OVMF's console includes
the serial port, so the report is read from the serial log.

- check-svm: QEMU's SVM CPU with NPT and AMD's IOMMU: SVM enabled by the
  firmware, NPT, no NRIP-save (TCG), AMD-Vi found, the verdict says yes; a
  key pressed (QMP send-key) ends the wait and OVMF takes over again.
- check-no-svm: `-cpu qemu64,-svm`: the verdict says no, and why.
- check-no-npt: plain qemu64 shows SVM without NPT: no, and why.
- check-vtd-smp: Intel's IOMMU (DMAR) and four CPUs in the MADT.
- check-efi: CHECK.EFI booted alone, without any config.
- check-vmx: Bochs's Skylake model: VMX with EPT, VPID and unrestricted
  guest; the verdict says yes.
"""
import os
import re
import time

import screen
from harness import Case, read_lines

CONF = "tests/integration/configs/"
QMP = ["-qmp", "unix:qmp.sock,server=on,wait=off"]
WAIT_LINE = r"^check: press a key to return to the firmware \(or wait 30 s\)$"
CAN = ("verdict: yes", r"^check: verdict: this machine can run Partita$")


def check(name, rx):
    return (name, r"^check: " + rx)


def key_returns_to_firmware(port, serial):
    """Presses a key; the check must say it returns, well before its 30 s,
    and the firmware's boot manager must go on after it."""
    work = os.path.dirname(serial)
    qmp = screen.Qmp(os.path.join(work, "qmp.sock"))
    t0 = time.time()
    try:
        qmp.cmd("send-key", keys=[{"type": "qcode", "data": "ret"}])
        while time.time() - t0 < 25:
            lines = read_lines(serial)
            back = [i for i, l in enumerate(lines) if l == "check: returning to the firmware"]
            if back and any(re.search(r"BdsDxe: (loading|starting) Boot", l)
                            for l in lines[back[0]:]):
                return [("a key ends the wait", True, f"({time.time() - t0:.1f} s)"),
                        ("the firmware takes over again", True, "")]
            time.sleep(0.5)
    finally:
        qmp.close()
    return [("a key ends the wait", False, "no 'returning to the firmware' and BdsDxe line "
             "within 25 s of the key")]


SVM_REPORT = [
    check("vendor", r"cpu: AuthenticAMD, '"),
    check("SVM", r"virtualization: AMD SVM, revision \d+, \d+ ASIDs$"),
    check("not disabled by the firmware", r"firmware: SVM enabled \(VM_CR\.SVMDIS 0"),
    check("NPT", r"nested paging: NPT yes$"),
    check("NRIP-save (none under TCG)", r"svm features: NRIP-save no, "),
    check("TSC invariance", r"tsc: invariant (yes|no), "),
    check("memory map", r"memory: \d+ MiB usable after boot, .* \d+ regions, top of RAM 0x"),
    check("screen", r"screen: 1280x800, framebuffer at 0x[0-9a-f]+, BGRX pixels"),
]

CASES = [
    Case("check-svm", CONF + "check.conf",
         SVM_REPORT + [
             check("one CPU in the MADT", r"cpus: 1 enabled in the MADT \(APIC IDs 0\)$"),
             check("AMD-Vi", r"iommu: AMD-Vi \(IVRS\) found, 1 remapping unit"),
             CAN, ("no core started", r"^check: press a key")],
         exit_code=None, qemu_args=["-vga", "std", "-device", "amd-iommu"] + QMP,
         host_steps=key_returns_to_firmware, host_steps_after=WAIT_LINE, timeout=120,
         forbid=[r"^\[hv\]", r"PANIC"]),
    Case("check-no-svm", CONF + "check.conf",
         [check("no SVM, no VMX", r"virtualization: none \(CPUID shows neither VMX nor SVM\)$"),
          check("no IOMMU", r"iommu: none found \(no IVRS, no DMAR\)"),
          check("verdict: no", r"verdict: this machine cannot run Partita: this CPU has neither "
                r"Intel VMX nor AMD SVM \(the hypervisor it runs under hides them\)$")],
         exit_code=None, qemu_args=["-cpu", "qemu64,-svm"], end_marker=WAIT_LINE,
         timeout=120, forbid=[r"^\[hv\]", r"check: verdict: this machine can run"]),
    Case("check-no-npt", CONF + "check.conf",
         [check("SVM", r"virtualization: AMD SVM"),
          check("no NPT", r"nested paging: NPT no$"),
          check("verdict: no", r"verdict: this machine cannot run Partita: this CPU has SVM "
                r"without nested paging \(NPT\)$")],
         exit_code=None, qemu_args=["-cpu", "qemu64"], end_marker=WAIT_LINE,
         timeout=120, forbid=[r"^\[hv\]", r"check: verdict: this machine can run"]),
    Case("check-vtd-smp", CONF + "check.conf",
         [check("four CPUs in the MADT", r"cpus: 4 enabled in the MADT \(APIC IDs 0 1 2 3\)$"),
          check("VT-d", r"iommu: Intel VT-d \(DMAR\) found, 1 remapping unit"),
          check("tables listed", r"acpi: ACPI 2\.0\+, XSDT with \d+ tables: .*DMAR"), CAN],
         exit_code=None, qemu_args=["-smp", "4", "-device", "intel-iommu"],
         end_marker=WAIT_LINE, timeout=120, forbid=[r"^\[hv\]"]),
    Case("check-efi", CONF + "check.conf",
         SVM_REPORT + [CAN, ("no loader ran", r"^check: Partita hardware check")],
         exit_code=None, loader="CHECK.EFI", qemu_args=["-vga", "std"],
         end_marker=WAIT_LINE, timeout=120,
         forbid=[r"^\[hv\]", r"partita loader:"]),
    Case("check-vmx", CONF + "check.conf",
         [check("vendor", r"cpu: GenuineIntel, '"),
          check("VMX", r"virtualization: Intel VMX, VMCS revision 0x[0-9a-f]+"),
          check("not disabled by the firmware", r"firmware: (IA32_FEATURE_CONTROL unlocked|VMX enabled)"),
          check("EPT", r"nested paging: EPT yes$"),
          check("EPT features", r"ept features: 4-level walk yes, write-back yes, 2 MiB pages yes"),
          check("VPID and unrestricted guest", r"vmx features: VPID yes \(INVVPID yes\), unrestricted guest yes"),
          check("memory map", r"memory: \d+ MiB usable after boot"),
          CAN],
         exit_code=None, emulator="bochs", end_marker=WAIT_LINE, timeout=240,
         forbid=[r"^\[hv\]"]),
]
