"""Fuzzing in every `make test` (issue 10): the hypercall fuzzer
(guests/hcfuzz: 500,000 random hypercalls in a partition with `control`
and as many in one without, 10^6 in all on SVM) and the instruction
fuzzer (guests/insnfuzz: random byte sequences at CPL 0 and CPL 3), each
beside a ticker.  The hypervisor must not panic or stop a partition, the
fuzzers' promises (ABI return values, canary pages) must hold, and the
ticker must keep its windows: its last summary shows 0 missed and 0
outside, and every start within one timer tick.  The counts are shown
with the result.  On VMX (Bochs) 10^5 calls a partition, for time.
"""
from cases import ICOUNT, TICK_US
from cases_vmx import BOCHS_LATE_US, VMX_ON
from harness import Case, DEFAULT_FORBID

CONF = "tests/integration/configs/"
FORBID = DEFAULT_FORBID + [r"^\[(hcfuzz|hcfuzz-ctl|insnfuzz|ticker)\] FAIL",
                           r"\[hv\] partition (ticker|hcfuzz|hcfuzz-ctl|insnfuzz) stopped: (?!exited with code 0)"]
VMX_FORBID = FORBID + [r"\[hv\] vmx: .*failed"]


def ticker_kept(late):
    return [("ticker kept its windows",
             r"^\[ticker\] \d+ window starts, late min -?[\d.]+ us, max -?[\d.]+ us, 0 outside its windows, 0 missed$"),
            ("every ticker start within one tick",
             rf"^\[hcfuzz-ctl\] ticker after the fuzzing: \d+ window starts, late min {late} us, max {late} us, ")]


def hcfuzz_checks(calls, late):
    return [("fuzzer with control", rf"^\[hcfuzz-ctl\] hcfuzz with control: {calls} calls, 0 violations, canaries intact$"),
            ("fuzzer without control", rf"^\[hcfuzz\] hcfuzz without control: {calls} calls, 0 violations, canaries intact$"),
            ("its counts", r"^\[hcfuzz-ctl\] results: ok \d+ E_NOSYS \d+ ")] + ticker_kept(late)


def insnfuzz_checks(attempts, late):
    return [("both levels run", rf"^\[insnfuzz\] insnfuzz done: {attempts} attempts at CPL 0, {attempts} at CPL 3$"),
            ("counts at CPL 0", r"^\[insnfuzz\] CPL 0: completed \d+, step limit \d+; drawn again \d+$"),
            ("counts at CPL 3", r"^\[insnfuzz\] CPL 3: completed \d+, step limit \d+; drawn again \d+$"),
            ("ticker kept its windows",
             r"^\[ticker\] \d+ window starts, late min -?[\d.]+ us, max -?[\d.]+ us, 0 outside its windows, 0 missed$"),
            ("every ticker start within one tick",
             rf"^\[ticker\] \d+ window starts, late min {late} us, max {late} us, 0 outside its windows, 0 missed$")]


CASES = [
    Case("pv-hcfuzz", CONF + "hcfuzz.conf", hcfuzz_checks(500000, TICK_US),
         qemu_args=ICOUNT, timeout=240, report=r"^\[hcfuzz-ctl\] (results|ticker after)", forbid=FORBID),
    Case("pv-insnfuzz", CONF + "insnfuzz.conf", insnfuzz_checks(20000, TICK_US),
         qemu_args=ICOUNT, timeout=180, report=r"^\[insnfuzz\] CPL 3: ", forbid=FORBID),
    Case("vmx-hcfuzz", CONF + "vmx-hcfuzz.conf", [VMX_ON] + hcfuzz_checks(100000, BOCHS_LATE_US),
         emulator="bochs", timeout=600, report=r"^\[hcfuzz-ctl\] (results|ticker after)", forbid=VMX_FORBID),
    Case("vmx-insnfuzz", CONF + "vmx-insnfuzz.conf", [VMX_ON] + insnfuzz_checks(5000, BOCHS_LATE_US),
         emulator="bochs", timeout=400, report=r"^\[insnfuzz\] CPL 3: ", forbid=VMX_FORBID),
]
