# SPDX-License-Identifier: BSD-2-Clause
"""Integration cases of the BIOS boot path: GRUB starts the Multiboot2 loader
(build/partita-mb2.elf) from a CD, with the config and its files as
Multiboot2 modules (boot/mkiso.py, one ISO per case in its work folder).

- QEMU with SeaBIOS (no OVMF), the SVM CPU: the boot log carries the same
  lines as through UEFI (banner, memory, paging, ACPI, clock, LAPIC), the
  loader's own lines before them, and the pv cases run as they do there.
- Bochs with its own BIOS (BIOS-bochs-latest), which builds ACPI (FACP,
  APIC, HPET) and MP tables, unlike OVMF in Bochs: VMX partitions run, and
  with `cpu: count=2` the core finds both CPUs in the MADT it reached
  through the RSDP that GRUB copied into the boot information.

GRUB's menu waits 0 s: SeaBIOS and GRUB take about 1 s of wall time in
QEMU, Bochs's BIOS and GRUB about 2 s in Bochs (OVMF there takes 10-15 s).
"""
from cases import BANNER, BOOT_DONE, CLOCK, FAILS, ICOUNT, LAPIC, PAGING, TICKER_ON_TIME, TICKING, \
    ticker_window
from cases_vmx import FAILS as VMX_FAILS, VMX_ON, ticker_on_time as vmx_ticker_on_time, \
    ticker_window as vmx_ticker_window
from expect import HELLO
from harness import DEFAULT_FORBID, Case

CONF = "tests/integration/configs/"

FIRMWARE = ("firmware and hand-off",
            r"^\[hv\] boot: firmware 'Multiboot2 \(GRUB\)' rev 0\.0, core at 0x[0-9a-f]*00000 ")
# SeaBIOS and Bochs's BIOS both give an ACPI 1.0 RSDP (revision 0, RSDT).
ACPI = ("acpi tables", r"^\[hv\] acpi: RSDP revision 0, OEM '\w+', tables: .*\bAPIC\b")
CONFIG = ("config summary", r"^\[hv\] config: partita\.conf, 2 partitions, 1 channels, frame 10ms$")

# The loader's own lines, before the core's.
LOADER = [
    ("started by grub", r"^partita loader: Multiboot2 from 'GRUB 2\.\d+"),
    ("config module", r"^partita loader: config partita\.conf: \d+ bytes$"),
    ("module named as in the config", r"^partita loader: module hello\.elf: \d+ bytes at 0x[0-9a-f]*000$"),
    ("rsdp from the boot information", r"^partita loader: ACPI 1\.0 RSDP \(copy in the boot information\) at 0x"),
    ("trampoline page below 640 KiB", r"^partita loader: SMP trampoline page at 0x[1-9][0-9a-f]?000$"),
    ("core at a 2 MiB block", r"^partita loader: core: \d+ KiB at 0x[0-9a-f]*[02468ace]00000, entry 0xffffffff80000000$"),
    ("hand-off", r"^partita loader: \d+ memory regions \(from \d+ map entries\), \d+ modules; starting the core$"),
]


def mb2_boot_checks(cpu, acpi=ACPI, clock=CLOCK, lapic=LAPIC, cpus="1 in the MADT, APIC IDs: 0"):
    return LOADER + [
        BANNER, FIRMWARE, cpu,
        ("usable memory", r"^\[hv\] memory: 2[0-5]\d MiB usable, \d+ MiB free for partitions"),
        PAGING, acpi,
        ("cpus from madt", rf"^\[hv\] cpus: {cpus}$"),
        clock, lapic, TICKING,
    ]


SVM_CPU = ("cpu with svm", r"^\[hv\] cpu: AuthenticAMD '.*', virtualization: SVM \(NPT yes, NRIP-save no\)$")
VMX_CPU = ("cpu with vmx", r"^\[hv\] cpu: GenuineIntel '.*', virtualization: VMX$")
# Bochs's BIOS has an HPET and Bochs's LAPIC the TSC-deadline mode.
BOCHS_CLOCK = ("tsc calibrated", r"^\[hv\] clock: TSC \d+\.\d{3} MHz, measured against the HPET")
BOCHS_LAPIC = ("x2apic timer", r"^\[hv\] lapic: x2APIC mode, id 0, timer [1-9]\d*\.\d{3} MHz")
# A loader that stops or warns fails the case (it stops with a message).
MB2_FORBID = DEFAULT_FORBID + [r"^partita loader: (error|warning)"]
QEMU_VGA = ["-device", "VGA"]  # -nodefaults has no video card: GRUB would find no framebuffer

CASES = [
    # boot.conf ends the run once booted: the boot log through GRUB.
    Case("mb2-qemu-boot", CONF + "boot.conf",
         mb2_boot_checks(SVM_CPU) + [
             CONFIG,
             ("partition alpha", r"^\[hv\] partition alpha: pv, 8 MiB, image hello\.elf \(\d+ KiB\), cpu 0, "),
             BOOT_DONE],
         emulator="qemu-iso", timeout=60, forbid=MB2_FORBID),
    # The framebuffer GRUB set up (QEMU's VGA, 1024x768 as the header asks)
    # reaches the boot_info; the pv guest runs.
    Case("mb2-qemu-hello", CONF + "hello.conf",
         [("framebuffer passed on", r"^partita loader: framebuffer: 1024x768, BGRX, stride 4096, at 0x"),
          HELLO, ("hello exits", r"^\[hv\] partition hello stopped: exited with code 0$"),
          ("run ends when no partition can run", r"^\[hv\] run ended: code 0 \(no partition can run any more\)$")],
         emulator="qemu-iso", qemu_args=QEMU_VGA, timeout=60, forbid=MB2_FORBID + FAILS),
    Case("mb2-qemu-schedule", CONF + "schedule.conf",
         [HELLO, ("spin runs", r"^\[spin\] boot 1: spinning forever"),
          ticker_window(2000), ticker_window(7000), TICKER_ON_TIME],
         emulator="qemu-iso", qemu_args=ICOUNT, timeout=60, forbid=MB2_FORBID + FAILS),
    # Two CPUs and RAM above 4 GiB: GRUB's memory map reaches the core, the
    # loader's tables map all of it before the core's own do.
    Case("mb2-qemu-pc-smp2-5g", CONF + "boot.conf",
         [FIRMWARE, PAGING, CLOCK, LAPIC, TICKING,
          ("cpus from madt", r"^\[hv\] cpus: 2 in the MADT, APIC IDs: 0, 1$"),
          ("loader maps beyond 4 GiB", r"^partita loader: page tables: \[0, [5-9] GiB\) at 0 "),
          ("memory above 4 GiB", r"^\[hv\] memory: (49\d\d|5[01]\d\d) MiB usable, .* top of RAM at 0x1[0-9a-f]{8}$"),
          ("direct map beyond 4 GiB", r"^\[hv\] paging: own tables loaded, direct map of [5-9] GiB"),
          BOOT_DONE],
         emulator="qemu-iso", qemu_args=["-machine", "pc", "-smp", "2", "-m", "5G"], timeout=60,
         forbid=MB2_FORBID),
    # A file the config names but no module carries: refused with the line.
    Case("mb2-qemu-missing-file", CONF + "missing-file.conf",
         [("refused naming file and line",
           r"^\[hv\] config error: partita\.conf:14: file 'nothere\.elf' not loaded "
           r"\(no Multiboot2 module named 'nothere\.elf'\)$"),
          ("boot stopped", r"^\[hv\] boot stopped: the configuration was refused$")],
         emulator="qemu-iso", exit_code=2, timeout=60, forbid=MB2_FORBID),

    # VMX in Bochs through its own BIOS: hello, spin and the ticker, whose
    # windows keep their times as through OVMF (cases_vmx.vmx-schedule).
    Case("mb2-bochs-schedule", CONF + "vmx-schedule.conf",
         mb2_boot_checks(VMX_CPU, clock=BOCHS_CLOCK, lapic=BOCHS_LAPIC) + [
             VMX_ON, HELLO, ("spin runs", r"^\[spin\] boot 1: spinning forever"),
             vmx_ticker_window(20), vmx_ticker_window(70), vmx_ticker_on_time()],
         emulator="bochs-bios", timeout=180, forbid=MB2_FORBID + VMX_FAILS),
    # Two CPUs: the MADT of Bochs's BIOS, found through the RSDP copy.
    Case("mb2-bochs-smp2", CONF + "vmx-hello.conf",
         [FIRMWARE, ACPI, VMX_ON,
          ("cpus from madt", r"^\[hv\] cpus: 2 in the MADT, APIC IDs: 0, 1$"),
          ("guest line", r"^\[hello\] hello from partition 0 'hello': ABI \d+\.\d+, 4 MiB of memory$"),
          ("partition exited", r"^\[hv\] partition hello stopped: exited with code 0$")],
         emulator="bochs-bios", bochs_cpus=2, timeout=180, forbid=MB2_FORBID),
]
