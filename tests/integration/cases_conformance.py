# SPDX-License-Identifier: BSD-2-Clause
"""The conformance kernel (guests/conformance) on the virtual PC of an hvm
partition, on SVM (QEMU) and VMX (Bochs), and booted by QEMU directly with
no hypervisor as the reference.  Each case fails on any FAIL line of the
kernel and shows its SUMMARY line.  Under bare QEMU the sub-tests that
QEMU's own emulation gets wrong print SKIP with the reason (the list is at
the top of guests/conformance/main.c).

The CPU model is the other cases' (qemu64 with SVM and nested paging) with
XSAVE and AVX added, so that the XCR0 and AVX sub-tests run; the reference
uses the same model without SVM.  The SVM case runs under -icount, like
the other timing cases (a periodic timer faster than about 200 us leaves
no time for the guest's own code there: the exits cost instructions).
"""
from harness import Case, DEFAULT_FORBID

CONF = "tests/integration/configs/"
ICOUNT = ["-icount", "shift=5,sleep=off"]
CPU_SVM = ["-cpu", "qemu64,+svm,+npt,+xsave,+xsaveopt,+avx"]
CPU_BARE = ["-cpu", "qemu64,-svm,+xsave,+xsaveopt,+avx"]

SUMMARY = r"SUMMARY: \d+ passed, \d+ failed, \d+ skipped$"
COUNTS = r"(SUMMARY|PROGRESS): \d+ passed, \d+ failed, \d+ skipped"


def conformance_checks(prefix):
    return [("summary printed", "^" + prefix + SUMMARY),
            ("no sub-test failed", "^" + prefix + r"SUMMARY: \d+ passed, 0 failed, ")]


# What a console must not pass through raw: C1 controls (raw and UTF-8),
# ESC, invalid UTF-8 (decoded here as U+FFFD).
CONSOLE_CLEAN = ("console filters control bytes and invalid UTF-8",
                 r"^\[conformance\] console-probe: (?!.*[\u0080-\u009f\u001b\ufffd]).* end$")

CASES = [
    Case("conformance-qemu-reference", None,
         conformance_checks("") + [("debug exit with 0", r"^SUMMARY: ")],
         emulator="qemu-kernel", kernel="conformance.elf", initrd="conformance.mod",
         append="verbose", qemu_args=CPU_BARE, exit_code=0, timeout=60, report=COUNTS,
         forbid=DEFAULT_FORBID + [r"^FAIL: "]),
    Case("hvm-conformance", CONF + "conformance.conf",
         conformance_checks(r"\[conformance\] ") +
         [CONSOLE_CLEAN,
          ("debug exit ends the partition", r"^\[hv\] partition conformance stopped: debug exit with code 0$")],
         qemu_args=CPU_SVM + ICOUNT, exit_code=0, timeout=180, report=COUNTS,
         forbid=DEFAULT_FORBID + [r"^\[conformance\] FAIL: ", r"unexpected exit"]),
    Case("hvm-conformance-invalid-state", CONF + "conformance-invalid-state.conf",
         [("guest's invalid state named",
           r"^\[hv\] partition conformance stopped: .*invalid")],
         qemu_args=CPU_SVM + ICOUNT, exit_code=5, timeout=90, forbid=DEFAULT_FORBID + [r"unexpected exit"]),
    Case("vmx-conformance", CONF + "vmx-conformance.conf",
         conformance_checks(r"\[conformance\] ") +
         [CONSOLE_CLEAN,
          ("debug exit ends the partition", r"^\[hv\] partition conformance stopped: debug exit with code 0$")],
         emulator="bochs", exit_code=0, timeout=400, report=COUNTS,
         forbid=DEFAULT_FORBID + [r"^\[conformance\] FAIL: ", r"unexpected exit", r"\[hv\] vmx: .*failed"]),
]
