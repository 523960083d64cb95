"""The integration cases: each boots the real BOOTX64.EFI with one config.

Expectations are regular expressions over serial lines.  Configs live in
tests/integration/configs/; guest images come from build/guests/.
"""
from harness import Case

CONF = "tests/integration/configs/"

BANNER = ("banner", r"^\[hv\] Partita \d+\.\d+\.\d+, x86-64 microhypervisor$")
FIRMWARE = ("firmware and hand-off", r"^\[hv\] boot: firmware 'EDK II' rev \d+\.\d+, core at 0x[0-9a-f]*00000 ")
PAGING = ("own page tables", r"^\[hv\] paging: own tables loaded, direct map of \d+ GiB")
ACPI = ("acpi tables", r"^\[hv\] acpi: RSDP revision 2, OEM '\w+', tables: .*\bAPIC\b")
CLOCK = ("tsc calibrated", r"^\[hv\] clock: TSC \d+\.\d{3} MHz, measured against the (HPET|ACPI PM timer)")
LAPIC = ("lapic timer frequency", r"^\[hv\] lapic: x2?APIC mode, id 0, timer [1-9]\d*\.\d{3} MHz")
# 50 ms at 1000 Hz: the count may be off by a few where the emulator lags.
TICKING = ("lapic timer ticks", r"^\[hv\] lapic: timer ticking, (4[0-9]|5[0-9]|60) interrupts in 50 ms at 1000 Hz$")
BOOT_DONE = ("boot done", r"^\[hv\] boot done in \d+ ms$")


def boot_checks(cpus="1 in the MADT, APIC IDs: 0", memory=r"2[0-5]\d"):
    return [
        BANNER, FIRMWARE,
        ("cpu with svm", r"^\[hv\] cpu: AuthenticAMD '.*', virtualization: SVM \(NPT yes, NRIP-save no\)$"),
        ("usable memory", rf"^\[hv\] memory: {memory} MiB usable, \d+ MiB free for partitions"),
        PAGING, ACPI,
        ("cpus from madt", rf"^\[hv\] cpus: {cpus}$"),
        CLOCK, LAPIC, TICKING,
        ("config summary", r"^\[hv\] config: \\partita\\partita\.conf, 2 partitions, 1 channels, frame 10ms$"),
        ("partition alpha", r"^\[hv\] partition alpha: pv, 8 MiB, image hello\.elf \(\d+ KiB\), cpu 0, windows 0ms\+3ms, caps control, on fault halt$"),
        ("partition beta", r"^\[hv\] partition beta: pv, 4 MiB, image hello\.elf \(\d+ KiB\), cpu 0, windows 5ms\+2ms 8ms\+1ms, caps none, on fault restart$"),
        BOOT_DONE,
    ]


CASES = [
    Case("boot-q35", CONF + "boot.conf", boot_checks()),
    Case("boot-pc-smp2-5g", CONF + "boot.conf",
         [BANNER, PAGING, CLOCK, LAPIC, TICKING,
          ("cpus from madt", r"^\[hv\] cpus: 2 in the MADT, APIC IDs: 0, 1$"),
          ("memory above 4 GiB", r"^\[hv\] memory: (49\d\d|5[01]\d\d) MiB usable, .* top of RAM at 0x1[0-9a-f]{8}$"),
          ("direct map beyond 4 GiB", r"^\[hv\] paging: own tables loaded, direct map of [5-9] GiB"),
          BOOT_DONE],
         qemu_args=["-machine", "pc", "-smp", "2", "-m", "5G"]),
    Case("config-bad-syntax", CONF + "bad-syntax.conf",
         [BANNER,
          ("refused naming file and line",
           r"^\[hv\] config error: \\partita\\partita\.conf:8: unknown key 'memroy'"),
          ("boot stopped", r"^\[hv\] boot stopped: the configuration was refused$")],
         exit_code=2),
    Case("config-missing-file", CONF + "missing-file.conf",
         [BANNER,
          ("refused naming file and line",
           r"^\[hv\] config error: \\partita\\partita\.conf:14: file 'nothere\.elf' not found on the boot volume"),
          ("boot stopped", r"^\[hv\] boot stopped: the configuration was refused$")],
         exit_code=2),
    Case("config-overlapping-windows", CONF + "overlap.conf",
         [("refused naming both lines",
           r"^\[hv\] config error: \\partita\\partita\.conf:1[06]: .*overlap")],
         exit_code=2),
    Case("disk-image", "guests/demo.conf",
         [BANNER, ACPI,
          ("demo partition", r"^\[hv\] partition hello: pv, 4 MiB, image hello\.elf"),
          BOOT_DONE],
         emulator="qemu-disk", exit_code=None, end_marker=r"^\[hv\] idle: "),
    Case("bochs-intel-boot", CONF + "boot.conf",
         [BANNER, FIRMWARE,
          ("cpu with vmx", r"^\[hv\] cpu: GenuineIntel '.*', virtualization: VMX"),
          ("usable memory", r"^\[hv\] memory: 2[0-5]\d MiB usable"),
          PAGING,
          # OVMF builds its ACPI tables from QEMU's fw_cfg, which Bochs
          # lacks: the core must say so and go on with one CPU and the PIT.
          ("no acpi, one cpu", r"^\[hv\] acpi: unusable, continuing with one CPU$"),
          ("tsc calibrated", r"^\[hv\] clock: TSC \d+\.\d{3} MHz, measured against the PIT"),
          ("x2apic timer", r"^\[hv\] lapic: x2APIC mode, id 0, timer [1-9]\d*\.\d{3} MHz"),
          TICKING,
          ("config summary", r"^\[hv\] config: \\partita\\partita\.conf, 2 partitions"),
          BOOT_DONE],
         emulator="bochs", timeout=240),
]
