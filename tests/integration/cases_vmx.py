# SPDX-License-Identifier: BSD-2-Clause
"""Integration cases of the Intel VMX back end, in Bochs (corei7_skylake_x:
VMX with EPT, VPID, unrestricted guest and the VMX-preemption timer), booting
the same BOOTX64.EFI through OVMF as the QEMU/SVM cases.

Time in Bochs.  The harness's bochsrc has `clock: sync=none` and the default
`ips` (4,000,000): Bochs's clocks (TSC, LAPIC timer, PIT, the VMX-preemption
timer) advance with executed instructions, 4 per emulated microsecond,
whatever the speed of the host, and idle time (HLT) passes at once.  So the
guests' figures are reproducible on any machine, like QEMU's under -icount.
The configs (vmx-*.conf) have longer windows than the QEMU ones: a 10 ms
frame is only 40,000 instructions here, and one console line costs about 8 ms
of emulated time at the emulated UART's 115200 baud (the hypervisor takes a
console write only if the line fits before the window's end, so a ticker
window must hold its own line).

Each case takes 20-45 s of wall time on an idle machine, about 15 s of it
OVMF; all of them but vmx-linux are in `make test`.  vmx-linux (Debian's
kernel to its /init, every instruction emulated) takes 6-9 minutes, so it
is marked slow and runs in `make test-full` only.
"""
from cases_hvm import IOAPIC_PCI, IR_FORBID, X2APIC_IR
from expect import ATTACK_CONTAINED, ATTACK_FORBID, HELLO, KASLR_LINE, mbtest_ok
from harness import Case, DEFAULT_FORBID

CONF = "tests/integration/configs/"

VMX_ON = ("vmx enabled",
          r"^\[hv\] vmx: enabled, EPT \(2 MiB pages\), VPID, unrestricted guest, preemption timer$")
VMX_CONTROLS = ("controls from the true capability MSRs",
                r"^\[hv\] vmx: VMCS revision 0x[0-9a-f]+, true controls: pin 0x[0-9a-f]+, ")
FAILS = [r"FAIL", r"\[hv\] partition test-ticker stopped: (?!exited with code 0)",
         r"\[hv\] vmx: .*failed"]

# Window-start lateness in Bochs: what lies between a window's planned start
# and its partition's first instruction is the switch path (the LAPIC
# timer's interrupt or the preemption timer, the VM exit, the scheduler, the
# FPU switch, VMRESUME).  Measured (Bochs 2.7): 146-167 us (585-670
# instructions) after idle time or a partition that halted, 265-305 us
# (1060-1220 instructions) when the timer has to take the CPU from a
# partition that spins.  The bound is 500 us = 2000 instructions, in both
# directions: a start that is late by a whole window or more, or that a
# console line delays, is far outside it.
BOCHS_LATE_US = r"-?(\d|[1-9]\d|[1-4]\d\d)\.\d{3}"


def ticker_on_time(count=20):
    return (f"ticker's {count} window starts within planned +- 500 us",
            rf"^\[test-ticker\] {count} window starts, late min {BOCHS_LATE_US} us, "
            rf"max {BOCHS_LATE_US} us, 0 outside its windows, 0 missed$")


def ticker_window(planned_ms):
    return (f"ticker window at +{planned_ms} ms",
            rf"^\[test-ticker\] window \d+ start \+{planned_ms}\d{{3}}\.\d{{3}} us in frame \d+ "
            rf"\(planned \+{planned_ms}000 us, late {BOCHS_LATE_US} us\)$")


LINUX_TIMEOUT = 1500


CASES = [
    Case("vmx-hello", CONF + "vmx-hello.conf",
         [VMX_ON, VMX_CONTROLS,
          ("guest line", r"^\[hello\] hello from partition 0 'hello': ABI \d+\.\d+, 4 MiB of memory$"),
          ("partition exited", r"^\[hv\] partition hello stopped: exited with code 0$")],
         exit_code=0, emulator="bochs", timeout=240),
    # Ticker's first window follows idle time, its second a spinning
    # partition's window.
    Case("vmx-schedule", CONF + "vmx-schedule.conf",
         [VMX_ON, HELLO, ("spin runs", r"^\[spin\] boot 1: spinning forever"),
          ticker_window(20), ticker_window(70), ticker_on_time()],
         exit_code=0, emulator="bochs", timeout=240, forbid=DEFAULT_FORBID + FAILS),
    Case("vmx-spin-isolation", CONF + "vmx-spin.conf",
         [VMX_ON, ("spin runs", r"^\[spin\] boot 1: spinning forever"),
          ticker_window(20), ticker_window(70), ticker_on_time()],
         exit_code=0, emulator="bochs", timeout=240, forbid=DEFAULT_FORBID + FAILS),
    Case("vmx-attack", CONF + "vmx-attack.conf",
         # AMD's SVM instructions are undefined on an Intel CPU: the guest's
         # own #UD handler sees them, no exit is involved.
         [VMX_ON, HELLO] + ATTACK_CONTAINED +
         [("ticker's windows all kept", r"^\[test-ticker\] 300 window starts, .* 0 missed$"),
          ticker_on_time(300)],
         exit_code=0, emulator="bochs", timeout=300,
         forbid=DEFAULT_FORBID + FAILS + ATTACK_FORBID),
    Case("vmx-fault-halt", CONF + "vmx-fault.conf",
         [VMX_ON,
          ("hello unharmed", r"^\[hello\] hello from partition 0 'hello'"),
          ("hello exited", r"^\[hv\] partition hello stopped: exited with code 0$"),
          ("ept violation stops attack",
           r"^\[hv\] partition attack stopped: read outside its memory at 0x400000 ")],
         exit_code=5, emulator="bochs", timeout=240,
         forbid=DEFAULT_FORBID + [r"partition attack restarted"]),
    Case("vmx-control", CONF + "vmx-control.conf",
         [VMX_ON, HELLO,
          ("lists partitions", r"^\[control\] partition 2 spin: running, 2048 KiB, caps 0, restarts 0"),
          ("reads stats", r"^\[control\] ok: its CPU time grows"),
          ("reads another console", r"^\[control\] ok: hello's console holds 'hello from'"),
          ("stops", r"^\[hv\] partition spin stopped: stopped by partition control$"),
          ("starts", r"^\[hv\] partition spin started by partition control \(boot 2\)$"),
          ("restarts", r"^\[hv\] partition spin stopped: restarted by partition control$"),
          ("restart count rises", r"^\[control\] ok: its restart count rose by one \(1\)$"),
          ("error returns", r"^\[control\] ok: ctl restart of itself: -E_INVAL \(-22\)$"),
          ("all checks passed", r"^\[control\] all control checks passed: 0 failures$")],
         exit_code=0, emulator="bochs", timeout=240, forbid=DEFAULT_FORBID + FAILS),
    # Unmodified guests on VMX: the Multiboot test kernel starts in flat
    # 32-bit protected mode with paging off (unrestricted guest), takes
    # LAPIC timer interrupts through interrupt-window exits, and reaches the
    # platform's devices through port exits and EPT violations (MMIO).
    Case("vmx-mbtest", CONF + "mbtest.conf",
         [VMX_ON]
         + mbtest_ok()
         + [("unknown port logged once", r"^\[hv\] hvm: partition mbtest: unknown port 0x3a0 \(read\), answered as absent$"),
            ("debug exit ends the partition", r"^\[hv\] partition mbtest stopped: debug exit with code 0$")],
         exit_code=0, emulator="bochs", timeout=240,
         forbid=DEFAULT_FORBID + [r"mbtest: FAIL", r"\[hv\] vmx: .*failed"]),
    # Debian's stock kernel to its /init and ACPI power-off: 348 s (quiet
    # host) to 519 s (loaded host) of wall time in Bochs, every instruction
    # emulated; about 1340 s of the kernel's own time at 4 instructions a
    # microsecond, so it also prints soft-lockup warnings and an X.509 load
    # timeout that are only slowness.  Only in `make test-full`.  Bochs's CPUID makes the kernel turn XSAVE off
    # (WARNING in fpu__init_system_xstate); user space then relies on
    # CPUID.1:ECX.OSXSAVE being the guest's (kernel/hvm/platform.c).
    Case("vmx-linux", CONF + "vmx-linux.conf",
         [VMX_ON,
          ("kernel boots", r"^\[linux\] \[\s*\d+\.\d+\] Linux version 6\.\d+\.\d+-\d+-amd64 .*Debian"),
          ("acpi tables found", r"^\[linux\] \[\s*\d+\.\d+\] ACPI: RSDP 0x00000000000E0000 "),
          ("uname -a", r"^\[linux\] partita-test: uname: Linux \(none\) 6\.\d+\.\d+-\d+-amd64 .* x86_64 GNU/Linux$"),
          ("cpu model line", r"^\[linux\] partita-test: cpu: model name\s*: Intel\(R\) Core\(TM\) i7-7800X"),
          # 128 MiB less the kernel's image, the initrd and reserved
          # areas: 82056 kB seen.
          ("kernel's view of memory", r"^\[linux\] partita-test: memory: MemTotal:\s+[5-9]\d{4} kB$"),
          ("placed by KASLR", KASLR_LINE),
          ] + IOAPIC_PCI + X2APIC_IR + [
          ("powers off through ACPI", r"^\[hv\] partition linux stopped: powered off \(ACPI S5\)$")],
         exit_code=0, emulator="bochs", timeout=LINUX_TIMEOUT, slow=True,
         forbid=DEFAULT_FORBID + [r"partition linux stopped: (?!powered off)", r"Kernel panic",
                                  r"\[hv\] vmx: .*failed"] + IR_FORBID),
]
