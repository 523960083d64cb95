"""Isolation cases of issue 10, on SVM (QEMU) and VMX (Bochs).

State: two partitions of guests/isostate (paravirtual) or of the
conformance kernel's isolation mode (hvm, with the MSRs) set all the CPU
state they can write to their own patterns and read it back after being
switched out; any "FAIL leak NAME" or "FAIL changed NAME" line fails the
case.

Time: a console flood (guests/conflood), a log flood (guests/logflood:
#UD-raising virtualization instructions; the conformance kernel's
logflood mode for hvm: string I/O), and a task-priority attack
(guests/tprattack: MOV CR8 <- 15) each run beside test-ticker, which must
keep every window: 0 missed and every start within one timer tick
(TICK_US, cases.py; BOCHS_LATE_US, cases_vmx.py).
"""
from cases import ICOUNT, TICK_US
from cases_vmx import BOCHS_LATE_US, VMX_ON
from cases_conformance import CONSOLE_CLEAN
from harness import Case, DEFAULT_FORBID

CONF = "tests/integration/configs/"
CPU = ["-cpu", "qemu64,+svm,+npt,+xsave,+xsaveopt,+avx,+fsgsbase"]
NO_LEAK = [r"FAIL (leak|changed) "]
STATE_REPORT = r"seed 2: \d+ rounds, .* in \d+ of \d+ items$"
TICKER_REPORT = r"^\[test-ticker\] \d+ window starts, "


def state_checks(prefix):
    return [("state checked across 20 switches",
             rf"^\[test-isoread\] seed 2: \d+ rounds, 2\d across a switch, 0 leaks and 0 changes in 0 of \d+ items$"),
            ("reader exits clean", r"^\[hv\] partition test-isoread stopped: (exited|debug exit) with code 0$")]


def on_time(count, late):
    return (f"ticker's {count} window starts within one tick, none missed",
            rf"^\[test-ticker\] {count} window starts, late min {late} us, max {late} us, "
            rf"0 outside its windows, 0 missed$")


TICKER_FORBID = [r"^\[test-ticker\] .*FAIL", r"\[hv\] partition test-ticker stopped: (?!exited with code 0)"]
CONFLOOD_PROBE = (CONSOLE_CLEAN[0], CONSOLE_CLEAN[1].replace(r"\[conformance\]", r"\[conflood\]"))

CASES = [
    Case("pv-isostate", CONF + "isostate.conf", state_checks(""),
         qemu_args=CPU + ICOUNT, timeout=60, report=STATE_REPORT,
         forbid=DEFAULT_FORBID + NO_LEAK),
    Case("hvm-isostate", CONF + "isostate-hvm.conf", state_checks(""),
         qemu_args=CPU + ICOUNT, timeout=60, report=STATE_REPORT,
         forbid=DEFAULT_FORBID + NO_LEAK + [r"FAIL: boot"]),
    Case("pv-conflood", CONF + "conflood.conf", [on_time(100, TICK_US), CONFLOOD_PROBE],
         qemu_args=ICOUNT, timeout=90, report=TICKER_REPORT, forbid=DEFAULT_FORBID + TICKER_FORBID),
    Case("pv-logflood", CONF + "logflood.conf", [on_time(100, TICK_US)],
         qemu_args=ICOUNT, timeout=90, report=TICKER_REPORT, forbid=DEFAULT_FORBID + TICKER_FORBID),
    Case("hvm-logflood", CONF + "logflood-hvm.conf", [on_time(100, TICK_US)],
         qemu_args=ICOUNT, timeout=90, report=TICKER_REPORT, forbid=DEFAULT_FORBID + TICKER_FORBID),
    Case("pv-tprattack", CONF + "tprattack.conf", [on_time(100, TICK_US)],
         qemu_args=ICOUNT, timeout=90, report=TICKER_REPORT, forbid=DEFAULT_FORBID + TICKER_FORBID),
]

VMX_FORBID = DEFAULT_FORBID + [r"\[hv\] vmx: .*failed"]
CASES += [
    Case("vmx-isostate", CONF + "vmx-isostate.conf", [VMX_ON] + state_checks(""),
         emulator="bochs", timeout=240, report=STATE_REPORT, forbid=VMX_FORBID + NO_LEAK),
    Case("vmx-isostate-hvm", CONF + "vmx-isostate-hvm.conf", [VMX_ON] + state_checks(""),
         emulator="bochs", timeout=240, report=STATE_REPORT,
         forbid=VMX_FORBID + NO_LEAK + [r"FAIL: boot"]),
    Case("vmx-conflood", CONF + "vmx-conflood.conf", [VMX_ON, on_time(60, BOCHS_LATE_US), CONFLOOD_PROBE],
         emulator="bochs", timeout=300, report=TICKER_REPORT, forbid=VMX_FORBID + TICKER_FORBID),
    Case("vmx-logflood", CONF + "vmx-logflood.conf", [VMX_ON, on_time(60, BOCHS_LATE_US)],
         emulator="bochs", timeout=300, report=TICKER_REPORT, forbid=VMX_FORBID + TICKER_FORBID),
    Case("vmx-logflood-hvm", CONF + "vmx-logflood-hvm.conf", [VMX_ON, on_time(60, BOCHS_LATE_US)],
         emulator="bochs", timeout=300, report=TICKER_REPORT, forbid=VMX_FORBID + TICKER_FORBID),
    Case("vmx-tprattack", CONF + "vmx-tprattack.conf", [VMX_ON, on_time(60, BOCHS_LATE_US)],
         emulator="bochs", timeout=240, report=TICKER_REPORT, forbid=VMX_FORBID + TICKER_FORBID),
]
