"""Integration cases of unmodified (hvm) partitions: the project's Multiboot
test kernel checks the virtual platform, and Debian's stock Linux kernel
boots to its /init beside a paravirtual partition that keeps its windows."""
from expect import mbtest_ok
from harness import Case, DEFAULT_FORBID

CONF = "tests/integration/configs/"

# Deterministic time, as in the schedule cases (cases.py): one instruction is
# 32 ns and idle time passes at once.
ICOUNT = ["-icount", "shift=5,sleep=off"]

CASES = [
    Case("hvm-mbtest", CONF + "mbtest.conf",
         mbtest_ok()
         + [("unknown port logged once", r"^\[hv\] hvm: partition mbtest: unknown port 0x3a0 \(read\), answered as absent$"),
            ("debug exit ends the partition", r"^\[hv\] partition mbtest stopped: debug exit with code 0$")],
         exit_code=0, timeout=90, qemu_args=ICOUNT,
         forbid=DEFAULT_FORBID + [r"mbtest: FAIL"]),
    Case("hvm-linux", CONF + "linux-ticker.conf",
         [("kernel boots", r"^\[linux\] \[\s*\d+\.\d+\] Linux version 6\.\d+\.\d+-\d+-amd64 .*Debian"),
          ("acpi tables found", r"^\[linux\] \[\s*\d+\.\d+\] ACPI: RSDP 0x00000000000E0000 "),
          ("uname -a", r"^\[linux\] partita-test: uname: Linux \(none\) 6\.\d+\.\d+-\d+-amd64 .* x86_64 GNU/Linux$"),
          ("cpu model line", r"^\[linux\] partita-test: cpu: model name\s*: QEMU Virtual CPU"),
          ("kernel's view of memory", r"^\[linux\] partita-test: memory: MemTotal:\s+2\d{5} kB$"),
          ("powers off through ACPI", r"^\[hv\] partition linux stopped: powered off \(ACPI S5\)$"),
          ("ticker kept its windows",
           r"^\[ticker\] \d+ window starts, late min \d+\.\d{3} us, max (\d|[12]\d|3[01])\.\d{3} us, 0 outside its windows, 0 missed$")],
         exit_code=0, timeout=180, qemu_args=["-m", "1G"] + ICOUNT,
         forbid=DEFAULT_FORBID + [r"^\[ticker\] .*FAIL", r"[1-9]\d* outside its windows",
                                  r"[1-9]\d* missed", r"partition linux stopped: (?!powered off)",
                                  r"Kernel panic"]),
]
