# SPDX-License-Identifier: BSD-2-Clause
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
keep every window: 0 missed and every start within two timer ticks
(NEIGHBOUR_US, two ticks, cases.py; BOCHS_LATE_US, cases_vmx.py).
"""
from cases import ICOUNT, NEIGHBOUR_US
from cases_vmx import BOCHS_LATE_US, VMX_ON
from cases_conformance import CONSOLE_CLEAN
from harness import Case, DEFAULT_FORBID
import re

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
    return (f"ticker's {count} window starts within two ticks, none missed",
            rf"^\[test-ticker\] {count} window starts, late min {late} us, max {late} us, "
            rf"0 outside its windows, 0 missed$")


def conflood_stream(min_marks):
    """Everything conflood's writes took reaches the serial log, in order:
    its letter lines follow "a".."z" without a gap, and each of its marks
    counts the letter lines and '#' bytes seen before it (guests/conflood).
    The lines after the last mark, flushed at the end of the run, must
    continue the letters too.  At least min_marks marks must be seen."""
    mark_rx = re.compile(r"^mark (\d+): (\d+) letter lines, (\d+) hash bytes, (\d+) short writes, (\d+) again$")

    def check(lines):
        letters = hashes = marks = 0
        last = None
        problem = None
        for i, line in enumerate(lines):
            if not line.startswith("[conflood] "):
                continue
            text = line[len("[conflood] "):]
            m = mark_rx.match(text)
            if len(text) == 1 and "a" <= text <= "z":
                if text != chr(ord("a") + letters % 26):
                    problem = (f"line {i + 1}: letter line {letters} is {text!r}, "
                               f"expected {chr(ord('a') + letters % 26)!r}")
                    break
                letters += 1
            elif text and text == "#" * len(text):
                hashes += len(text)
            elif m:
                n, want_letters, want_hashes = int(m.group(1)), int(m.group(2)), int(m.group(3))
                if n != marks or want_letters != letters or want_hashes != hashes:
                    problem = (f"line {i + 1}: mark {n} (expected mark {marks}) says {want_letters} letter lines "
                               f"and {want_hashes} hash bytes were taken before it; the log has {letters} and {hashes}")
                    break
                marks += 1
                last = text
        if problem is None and marks < min_marks:
            problem = f"only {marks} marks in the log, expected at least {min_marks}"
        ok = problem is None
        detail = (f"{marks} marks, {letters} letter lines, {hashes} hash bytes in order; last {last}" if ok
                  else problem)
        return [("every byte a write took reaches the log, in order", ok, detail)]
    return check


TICKER_FORBID = [r"^\[test-ticker\] .*FAIL", r"\[hv\] partition test-ticker stopped: (?!exited with code 0)"]
CONFLOOD_FORBID = [r"^\[conflood\] FAIL"]
CONFLOOD_PROBE = (CONSOLE_CLEAN[0], CONSOLE_CLEAN[1].replace(r"\[conformance\]", r"\[conflood\]"))

CASES = [
    Case("pv-isostate", CONF + "isostate.conf", state_checks(""),
         qemu_args=CPU + ICOUNT, timeout=60, report=STATE_REPORT,
         forbid=DEFAULT_FORBID + NO_LEAK),
    Case("hvm-isostate", CONF + "isostate-hvm.conf", state_checks(""),
         qemu_args=CPU + ICOUNT, timeout=60, report=STATE_REPORT,
         forbid=DEFAULT_FORBID + NO_LEAK + [r"FAIL: boot"]),
    Case("pv-conflood", CONF + "conflood.conf", [on_time(100, NEIGHBOUR_US), CONFLOOD_PROBE],
         qemu_args=ICOUNT, timeout=90, report=TICKER_REPORT, log_check=conflood_stream(5),
         forbid=DEFAULT_FORBID + TICKER_FORBID + CONFLOOD_FORBID),
    Case("pv-logflood", CONF + "logflood.conf", [on_time(100, NEIGHBOUR_US)],
         qemu_args=ICOUNT, timeout=90, report=TICKER_REPORT, forbid=DEFAULT_FORBID + TICKER_FORBID),
    Case("hvm-logflood", CONF + "logflood-hvm.conf", [on_time(100, NEIGHBOUR_US)],
         qemu_args=ICOUNT, timeout=90, report=TICKER_REPORT, forbid=DEFAULT_FORBID + TICKER_FORBID),
    Case("pv-tprattack", CONF + "tprattack.conf", [on_time(100, NEIGHBOUR_US)],
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
         emulator="bochs", timeout=300, report=TICKER_REPORT, log_check=conflood_stream(3),
         forbid=VMX_FORBID + TICKER_FORBID + CONFLOOD_FORBID),
    Case("vmx-logflood", CONF + "vmx-logflood.conf", [VMX_ON, on_time(60, BOCHS_LATE_US)],
         emulator="bochs", timeout=300, report=TICKER_REPORT, forbid=VMX_FORBID + TICKER_FORBID),
    Case("vmx-logflood-hvm", CONF + "vmx-logflood-hvm.conf", [VMX_ON, on_time(60, BOCHS_LATE_US)],
         emulator="bochs", timeout=300, report=TICKER_REPORT, forbid=VMX_FORBID + TICKER_FORBID),
    Case("vmx-tprattack", CONF + "vmx-tprattack.conf", [VMX_ON, on_time(60, BOCHS_LATE_US)],
         emulator="bochs", timeout=240, report=TICKER_REPORT, forbid=VMX_FORBID + TICKER_FORBID),
]
