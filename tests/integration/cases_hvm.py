# SPDX-License-Identifier: BSD-2-Clause
"""Integration cases of unmodified (hvm) partitions: the project's Multiboot
test kernel checks the virtual platform, and Debian's stock Linux kernel
boots to its /init beside a paravirtual partition that keeps its windows.

Linux boots with KASLR.  Under -icount a CPU without RDRAND gives it the same
entropy, so the same placement, at every boot; the Linux cases add RDRAND to
the CPU model, so each boot is placed anew.  Ten such boots in a row are a
`make test-full` case: some boots hung (a spin lock with interrupts off;
1 of 8 in one series) while SVM guests got their interrupts through EVENTINJ,
which QEMU delivers twice; they are virtual interrupts now
(arch/x86/svm/svm.c, svm_irq_offer)."""
from expect import KASLR_LINE, mbtest_ok
from harness import Case, DEFAULT_FORBID

CONF = "tests/integration/configs/"

# Deterministic time, as in the schedule cases (cases.py): one instruction is
# 32 ns and idle time passes at once.
ICOUNT = ["-icount", "shift=5,sleep=off"]
# Later options win: this replaces the harness's CPU model.
LINUX_CPU = ["-cpu", "qemu64,+svm,+npt,+rdrand"]
LINUX_FORBID = [r"partition linux stopped: (?!powered off)", r"Kernel panic"]

# Linux without "noapic" finds the I/O APIC in the MADT and routes the PIT
# and the UART through it; it reads the MCFG, whose ECAM window the e820 map
# reserves, and finds the host bridge on bus 0 (shared with cases_vmx.py).
IOAPIC_PCI = [
    ("no noapic on the command line", r"^\[linux\] \[\s*\d+\.\d+\] Kernel command line: (?!.*noapic)"),
    ("i/o apic in the madt", r"^\[linux\] \[\s*\d+\.\d+\] IOAPIC\[0\]: apic_id 1, version 17, address 0xfec00000, GSI 0-23$"),
    ("ecam reserved in e820", r"^\[linux\] \[\s*\d+\.\d+\] PCI: MMCONFIG at \[mem 0xe0000000-0xefffffff\] reserved in E820$"),
    ("pci root bridge from the dsdt", r"^\[linux\] \[\s*\d+\.\d+\] ACPI: PCI Root Bridge \[PCI0\] \(domain 0000 \[bus 00-ff\]\)$"),
    # "IR-IO-APIC" when the entries are remapped (kernel/hvm/viommu.c)
    ("timer through the i/o apic", r"^\[linux\] partita-test: irq: 0:\s+[1-9]\d*\s+(IR-)?IO-APIC\s+2-edge\s+timer$"),
    ("uart through the i/o apic", r"^\[linux\] partita-test: irq: 4:\s+[1-9]\d*\s+(IR-)?IO-APIC\s+4-edge\s+ttyS0$"),
    ("host bridge in sysfs", r"^\[linux\] partita-test: pci: 0000:00:00\.0 0x8086:0x29c0 class 0x060000$"),
]

# The DMAR table's remapping unit (kernel/hvm/viommu.c) lets Linux enable
# interrupt remapping, and with it x2APIC mode, which CPUID offers; the PIT
# and the UART then reach the local APIC through remapped I/O APIC entries.
X2APIC_IR = [
    ("dmar unit found", r"^\[linux\] \[\s*\d+\.\d+\] DMAR: dmar0: reg_base_addr fed90000 ver 1:0 cap [0-9a-f]+ ecap [0-9a-f]+$"),
    ("i/o apic under the unit", r"^\[linux\] \[\s*\d+\.\d+\] DMAR-IR: IOAPIC id 1 under DRHD base\s+0xfed90000 IOMMU 0$"),
    ("remapping in x2apic mode", r"^\[linux\] \[\s*\d+\.\d+\] DMAR-IR: Enabled IRQ remapping in x2apic mode$"),
    ("x2apic enabled", r"^\[linux\] \[\s*\d+\.\d+\] x2apic enabled$"),
    ("timer remapped", r"^\[linux\] partita-test: irq: 0:\s+[1-9]\d*\s+IR-IO-APIC\s+2-edge\s+timer$"),
    ("uart remapped", r"^\[linux\] partita-test: irq: 4:\s+[1-9]\d*\s+IR-IO-APIC\s+4-edge\s+ttyS0$"),
]
# A remapping fault (kernel/hvm/viommu.c's log line, or Linux's report of one)
# means an interrupt was lost.
IR_FORBID = [r"viommu: partition \S+: interrupt from", r"DMAR: \[INTR-REMAP\]",
             r"Failed to (enable|setup) irq remapping"]

CASES = [
    Case("hvm-mbtest", CONF + "mbtest.conf",
         mbtest_ok()
         + [("unknown port logged once", r"^\[hv\] hvm: partition mbtest: unknown port 0x3a0 \(read\), answered as absent$"),
            ("debug exit ends the partition", r"^\[hv\] partition mbtest stopped: debug exit with code 0$")],
         # Under -icount, QEMU's loop stops at every timer deadline: that
         # is what made an EVENTINJ interrupt arrive twice (interrupt-once).
         exit_code=0, timeout=90, qemu_args=ICOUNT,
         forbid=DEFAULT_FORBID + [r"mbtest: FAIL"]),
    Case("hvm-linux", CONF + "linux-ticker.conf",
         [("kernel boots", r"^\[linux\] \[\s*\d+\.\d+\] Linux version 6\.\d+\.\d+-\d+-amd64 .*Debian"),
          ("acpi tables found", r"^\[linux\] \[\s*\d+\.\d+\] ACPI: RSDP 0x00000000000E0000 "),
          ("uname -a", r"^\[linux\] partita-test: uname: Linux \(none\) 6\.\d+\.\d+-\d+-amd64 .* x86_64 GNU/Linux$"),
          ("cpu model line", r"^\[linux\] partita-test: cpu: model name\s*: QEMU Virtual CPU"),
          ("kernel's view of memory", r"^\[linux\] partita-test: memory: MemTotal:\s+2\d{5} kB$"),
          ("placed by KASLR", KASLR_LINE),
          ] + IOAPIC_PCI + X2APIC_IR + [
          ("powers off through ACPI", r"^\[hv\] partition linux stopped: powered off \(ACPI S5\)$"),
          ("ticker kept its windows",
           r"^\[ticker\] \d+ window starts, late min \d+\.\d{3} us, max (\d|[12]\d|3[01])\.\d{3} us, 0 outside its windows, 0 missed$")],
         exit_code=0, timeout=180, qemu_args=["-m", "1G"] + LINUX_CPU + ICOUNT,
         forbid=DEFAULT_FORBID + [r"^\[ticker\] .*FAIL", r"[1-9]\d* outside its windows",
                                  r"[1-9]\d* missed"] + LINUX_FORBID + IR_FORBID),
]

# make test-full: with nox2apic the local APIC stays in xAPIC mode; Linux
# still enables interrupt remapping, in xAPIC mode (8-bit IRTE destinations),
# and the timer and the UART work through it.
CASES += [
    Case("hvm-linux-nox2apic", CONF + "linux-nox2apic.conf",
         [("kernel boots", r"^\[linux\] \[\s*\d+\.\d+\] Linux version 6\.\d+\.\d+-\d+-amd64 .*Debian"),
          ("nox2apic on the command line", r"^\[linux\] \[\s*\d+\.\d+\] Kernel command line: .*\bnox2apic\b"),
          ("remapping in xapic mode", r"^\[linux\] \[\s*\d+\.\d+\] DMAR-IR: Enabled IRQ remapping in xapic mode$"),
          ("timer remapped", r"^\[linux\] partita-test: irq: 0:\s+[1-9]\d*\s+IR-IO-APIC\s+2-edge\s+timer$"),
          ("uart remapped", r"^\[linux\] partita-test: irq: 4:\s+[1-9]\d*\s+IR-IO-APIC\s+4-edge\s+ttyS0$"),
          ("reaches /init", r"^\[linux\] partita-test: done$"),
          ("powers off through ACPI", r"^\[hv\] partition linux stopped: powered off \(ACPI S5\)$")],
         exit_code=0, timeout=180, qemu_args=["-m", "1G"] + LINUX_CPU + ICOUNT, slow=True,
         forbid=DEFAULT_FORBID + LINUX_FORBID + IR_FORBID + [r"\] x2apic enabled$"]),
]

# make test-full: Linux alone, ten boots, each at its own KASLR placement.
CASES += [
    Case(f"hvm-linux-kaslr-{i}", CONF + "linux.conf",
         [("kernel boots", r"^\[linux\] \[\s*\d+\.\d+\] Linux version 6\.\d+\.\d+-\d+-amd64 .*Debian"),
          ("placed by KASLR", KASLR_LINE),
          ("reaches /init", r"^\[linux\] partita-test: done$"),
          ("powers off through ACPI", r"^\[hv\] partition linux stopped: powered off \(ACPI S5\)$")],
         exit_code=0, timeout=180, qemu_args=["-m", "1G"] + LINUX_CPU + ICOUNT, slow=True,
         forbid=DEFAULT_FORBID + LINUX_FORBID)
    for i in range(1, 11)
]
