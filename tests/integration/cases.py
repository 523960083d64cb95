# SPDX-License-Identifier: BSD-2-Clause
"""The integration cases: each boots the real BOOTX64.EFI with one config.

Expectations are regular expressions over serial lines.  Configs live in
tests/integration/configs/; guest images come from build/guests/.
"""
from expect import ATTACK_CONTAINED, ATTACK_FORBID, HELLO, attack_stop
from harness import Case, DEFAULT_FORBID

CONF = "tests/integration/configs/"

BANNER = ("banner", r"^\[hv\] Partita \d+\.\d+\.\d+, x86-64 microhypervisor$")
FIRMWARE = ("firmware and hand-off", r"^\[hv\] boot: firmware 'EDK II' rev \d+\.\d+, core at 0x[0-9a-f]*00000 ")
PAGING = ("own page tables", r"^\[hv\] paging: own tables loaded, direct map of \d+ GiB")
ACPI = ("acpi tables", r"^\[hv\] acpi: RSDP revision 2, OEM '\w+', tables: .*\bAPIC\b")
CLOCK = ("tsc calibrated", r"^\[hv\] clock: TSC \d+\.\d{3} MHz, measured against the (HPET|ACPI PM timer)")
LAPIC = ("lapic timer frequency", r"^\[hv\] lapic: x2?APIC mode, id 0, timer [1-9]\d*\.\d{3} MHz")
# 50 ms at 1000 Hz gives 50, but without -icount the emulator drops ticks
# when the host is loaded (19-32 seen with other emulators running): the
# check is that the timer interrupts at all, at no more than its rate.
TICKING = ("lapic timer ticks", r"^\[hv\] lapic: timer ticking, ([5-9]|[1-5][0-9]|60) interrupts in 50 ms at 1000 Hz$")
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
          BOOT_DONE,
          ("linux partition made", r"^\[hv\] partition linux: 256 MiB at host "),
          ("demo runs", r"^\[ticker\] window 1 start ")],
         emulator="qemu-disk", exit_code=None, end_marker=r"^\[ticker\] window 1 start ",
         qemu_args=["-m", "1G"]),
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


# ------------------------------------------------------------ partitions --
# Timing cases run under -icount, so guest time counts executed instructions
# and the figures are the same on every machine (PLATFORM.md).  shift=5 (one
# instruction = 32 ns) rather than 0: OVMF alone needs 85 s at shift=0 but
# 15 s at shift=5; sleep=off, or time spent halted (idle windows) follows the
# host's clock and window starts after idle time vary by tens of us.
ICOUNT = ["-icount", "shift=5,sleep=off"]
# "One tick": the scheduler's one-shot LAPIC timer counts at ~1 GHz, so its
# own granularity is 1 ns; what lies between a window's planned start and its
# partition's first instruction is the switch path (the timer's interrupt
# out of HLT, the scheduler, the lazy FPU and debug-register switch, VMRUN,
# and the ticker's own loop: ~620 instructions, ~920 when the partition
# before used the FPU; counted with QEMU's -singlestep -d exec trace).  The
# bound is 1000 instructions = 32 us at shift=5, in both directions.
TICK_US = r"-?(\d|[12]\d|3[01])\.\d{3}"
# Beside a neighbour that floods its console or the log, or fuzzes the
# hypercalls: two ticks (63 us).  The ticker's own switch path is 19-21 us;
# after such a neighbour's window, starts up to about 40 us late have been
# seen, an open residual of about 20 us (README, Status).  The bug these
# cases guard against delayed starts by milliseconds.
NEIGHBOUR_US = r"-?(\d|[1-5]\d|6[0-3])\.\d{3}"
def ticker_on_time(count=20):
    return (f"ticker's {count} window starts within planned +- 1 tick",
            rf"^\[test-ticker\] {count} window starts, late min {TICK_US} us, "
            rf"max {TICK_US} us, 0 outside its windows, 0 missed$")


TICKER_ON_TIME = ticker_on_time()
TICKER_DONE = ("ticker goes on through it all",
               r"^\[test-ticker\] 20 window starts, .* 0 outside its windows, \d+ missed$")
FAILS = [r"FAIL", r"\[hv\] partition test-ticker stopped: (?!exited with code 0)"]


def ticker_window(planned_us):
    return (f"ticker window at +{planned_us} us",
            rf"^\[test-ticker\] window \d+ start \+{planned_us // 1000}\d{{3}}\.\d{{3}} us in frame \d+ "
            rf"\(planned \+{planned_us} us, late {TICK_US} us\)$")


CASES += [
    Case("pv-hello", CONF + "hello.conf",
         [HELLO, ("hello exits", r"^\[hv\] partition hello stopped: exited with code 0$"),
          ("run ends when no partition can run", r"^\[hv\] run ended: code 0 \(no partition can run any more\)$")],
         timeout=30, forbid=DEFAULT_FORBID + FAILS),
    Case("pv-schedule", CONF + "schedule.conf",
         [HELLO, ("spin runs", r"^\[spin\] boot 1: spinning forever"),
          ticker_window(2000), ticker_window(7000), TICKER_ON_TIME],
         qemu_args=ICOUNT, timeout=50, forbid=DEFAULT_FORBID + FAILS),
    Case("pv-spin-isolation", CONF + "spin.conf",
         [("spin runs", r"^\[spin\] boot 1: spinning forever"),
          ticker_window(4000), ticker_window(9000), TICKER_ON_TIME],
         qemu_args=ICOUNT, timeout=50, forbid=DEFAULT_FORBID + FAILS),
    Case("pv-attack", CONF + "attack.conf",
         [HELLO] + ATTACK_CONTAINED +
         [("vmrun reported", r"^\[hv\] partition attack: virtualization instruction at 0x[0-9a-f]+ \(exit 0x80\): #UD injected$"),
          ("invlpga raised #UD in the guest", r"^\[attack\] ok: INVLPGA raised #UD at rip "),
          # A restart clears the partition's RAM in slices, in its own
          # windows only: no window of another partition is missed or late.
          ("ticker's windows all kept", r"^\[test-ticker\] 100 window starts, .* 0 missed$"),
          ticker_on_time(100)],
         qemu_args=ICOUNT, timeout=120,
         forbid=DEFAULT_FORBID + FAILS + ATTACK_FORBID),
    Case("pv-fault-halt", CONF + "fault-halt.conf",
         [HELLO,
          attack_stop("stopped on its first fault", r"read outside its memory at 0x200000 "),
          TICKER_DONE],
         qemu_args=ICOUNT, timeout=50, forbid=DEFAULT_FORBID + FAILS + [r"partition attack restarted", r"^\[attack\] attack 1:"]),
    Case("pv-control", CONF + "control.conf",
         [HELLO,
          ("lists partitions", r"^\[control\] partition 2 spin: running, 2048 KiB, caps 0, restarts 0"),
          ("reads stats", r"^\[control\] ok: its CPU time grows"),
          ("reads another console", r"^\[control\] ok: hello's console holds 'hello from'"),
          ("stops", r"^\[hv\] partition spin stopped: stopped by partition control$"),
          ("starts", r"^\[hv\] partition spin started by partition control \(boot 2\)$"),
          ("restarts", r"^\[hv\] partition spin stopped: restarted by partition control$"),
          ("restart count rises", r"^\[control\] ok: its restart count rose by one \(1\)$"),
          ("error returns", r"^\[control\] ok: ctl restart of itself: -E_INVAL \(-22\)$"),
          ("all checks passed", r"^\[control\] all control checks passed: 0 failures$")],
         qemu_args=ICOUNT, timeout=60, forbid=DEFAULT_FORBID + FAILS),
    Case("pv-control-without-cap", CONF + "control-nocap.conf",
         [("refused", r"^\[control\] ok: partition restart of another: -E_PERM \(-1\)$"),
          ("all refused", r"^\[control\] done: 0 failures$")],
         qemu_args=ICOUNT, timeout=60, forbid=DEFAULT_FORBID + FAILS + [r"by partition control"]),
]
