#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""`make bench`: boots the benchmark config under QEMU with -icount shift=0
and prints a table of Partita's costs, in guest TSC cycles.

Under -icount shift=0 QEMU's TSC advances by one per executed instruction
(hypervisor and guests together), so a cycle here is an instruction and the
figures are the same on every machine.  The guests (guests/bench,
guests/benchpeer; config tests/bench/bench.conf) print "key=value" lines;
this script boots them through tests/integration/harness.py, reads those
lines from the serial log, adds the hypervisor's memory (build/core.elf, the
partition log lines) and the line count of the privileged code, and prints
the table.  It exits non-zero, saying why, if a figure is missing.  It is not
part of `make test`.

Then it boots the same guests in Bochs (Intel VMX, corei7_skylake_x; config
tests/integration/configs/vmx-bench.conf, the same partitions with longer
windows) and prints the same table for the VMX back end.  Bochs's clock
(`clock: sync=none`, default ips of 4,000,000) also advances by executed
instructions: its TSC runs at 4 MHz and one cycle there is one emulated
instruction (a VM exit or entry counts as one), so those figures are
deterministic too.  `BENCH_ONLY=qemu` or `BENCH_ONLY=bochs` runs one of the
two.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402

CONFIG = "tests/bench/bench.conf"
VMX_CONFIG = "tests/integration/configs/vmx-bench.conf"
ICOUNT = ["-icount", "shift=0"]
CPU = "qemu64,+svm,+npt"
PRIVILEGED_DIRS = ["kernel", "arch", "drivers"]


class BenchError(Exception):
    pass


def fail(msg):
    raise BenchError(msg)


def guest_lines(lines, name):
    """The 'key=value' lines a partition printed, as (first word, {k: int})."""
    out = []
    prefix = f"[{name}] "
    for l in lines:
        if not l.startswith(prefix):
            continue
        words = l[len(prefix):].split()
        if not words:
            continue
        vals = {}
        for w in words[1:]:
            k, _, v = w.partition("=")
            try:
                vals[k] = int(v)
            except ValueError:
                vals[k] = v
        out.append((words[0], vals))
    return out


def merged(records, first):
    """All key=values of the lines that start with `first`, merged."""
    vals = {}
    for w, v in records:
        if w == first:
            vals.update(v)
    return vals


def need(vals, key, what):
    if key not in vals or not isinstance(vals[key], int):
        fail(f"{what}: no figure '{key}' in the guest's output")
    return vals[key]


def run_bochs():
    """The benchmark guests in Bochs (VMX): (lines, serial, secs)."""
    case = harness.Case("bench-vmx", VMX_CONFIG,
                        [("bench finished", r"^\[bench\] done$"),
                         ("peer windows", r"^\[benchpeer\] windows .*gap_median=")],
                        exit_code=0, emulator="bochs", timeout=400,
                        forbid=harness.DEFAULT_FORBID + [r"FAIL", r"stopped: (?!exited|restarted by partition bench)"])
    print(f"  BOCHS   {VMX_CONFIG} (Intel VMX, instruction-counted clock; about 1 minute, "
          "most of it the firmware)", flush=True)
    results = harness.run_case(case)
    serial = os.path.join(harness.BUILD, "test", "bench-vmx", "serial.log")
    bad = [(n, d) for n, ok, d, _ in results if not ok]
    if bad:
        fail("the Bochs benchmark run failed:\n" + "\n".join(f"  {n}: {d}" for n, d in bad))
    return harness.read_lines(serial), serial, results[-1][2]


def vmx_shared_pages():
    """Pages the VMX back end allocates once for all partitions: VMXON
    region, I/O bitmaps, MSR bitmap (arch/x86/vmx/vmx.c)."""
    with open(os.path.join(ROOT, "arch", "x86", "vmx", "vmx.c")) as f:
        src = f.read()
    io = re.search(r"#define IO_BITMAP_PAGES (\d+)", src)
    msr = re.search(r"#define MSR_BITMAP_PAGES (\d+)", src)
    if not io or not msr:
        return None
    return 1 + int(io.group(1)) + int(msr.group(1))


def bochs_version():
    out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "bochs"], capture_output=True,
                         text=True).stdout
    return out.strip() or "?"


# The rows and heading that differ between the back ends (table()).
SVM_TABLE = {"control": "VMCB 4096", "shared": lambda: svm_shared_pages(),
             "shared_row": ("  SVM pages shared by all partitions",
                            "(host save, host state, IOPM, MSRPM)"),
             "title": lambda: f"QEMU {qemu_version()} TCG, -cpu {CPU}, -icount shift=0 "
                              f"(1 TSC cycle = 1 instruction)"}
VMX_TABLE = {"control": "VMCS 4096 + VMX state 4096", "control_pages": 2,
             "shared": vmx_shared_pages,
             "shared_row": ("  VMX pages shared by all partitions",
                            "(VMXON region, I/O bitmaps, MSR bitmap)"),
             "title": lambda: f"Bochs {bochs_version()}, cpu corei7_skylake_x (VMX, EPT), "
                              f"clock sync=none, 4 MHz TSC (1 TSC cycle = 1 emulated instruction)"}


def run():
    case = harness.Case("bench", CONFIG,
                        [("bench finished", r"^\[bench\] done$"),
                         ("peer windows", r"^\[benchpeer\] windows .*gap_median=")],
                        exit_code=0, qemu_args=ICOUNT, timeout=300,
                        forbid=harness.DEFAULT_FORBID + [r"FAIL", r"stopped: (?!exited|restarted by partition bench)"])
    for f in ["bench.elf", "benchpeer.elf"]:
        if not os.path.exists(os.path.join(harness.BUILD, "guests", f)):
            fail(f"build/guests/{f} is missing: run `make all` first (make bench does)")
    print("  QEMU    tests/bench/bench.conf under -icount shift=0 (about 2 minutes; "
          "most of it is the firmware)", flush=True)
    results = harness.run_case(case)
    serial = os.path.join(harness.BUILD, "test", "bench", "serial.log")
    bad = [(n, d) for n, ok, d, _ in results if not ok]
    if bad:
        fail("the benchmark run failed:\n" + "\n".join(f"  {n}: {d}" for n, d in bad))
    secs = results[-1][2]
    return harness.read_lines(serial), serial, secs


def core_memory():
    elf = os.path.join(harness.BUILD, "core.elf")
    out = subprocess.run(["size", elf], capture_output=True, text=True, check=True).stdout
    text, data, bss = (int(x) for x in out.splitlines()[1].split()[:3])
    # sizeof(struct partition): the static table over its length.
    nm = subprocess.run(["nm", "-S", elf], capture_output=True, text=True, check=True).stdout
    m = re.search(r"^[0-9a-f]+ ([0-9a-f]+) [bB] partitions$", nm, re.M)
    with open(os.path.join(ROOT, "kernel", "config.h")) as f:
        n = re.search(r"#define CONFIG_MAX_PARTITIONS (\d+)", f.read())
    if not m or not n:
        fail("cannot find the partition table (nm partitions, CONFIG_MAX_PARTITIONS)")
    return text, data, bss, int(m.group(1), 16) // int(n.group(1)), int(n.group(1))


def svm_shared_pages():
    """Pages the SVM back end allocates once for all partitions: host save
    area, host state, I/O and MSR permission maps (arch/x86/svm/svm.c)."""
    with open(os.path.join(ROOT, "arch", "x86", "svm", "svm.c")) as f:
        src = f.read()
    io = re.search(r"#define IOPM_PAGES (\d+)", src)
    msr = re.search(r"#define MSRPM_PAGES (\d+)", src)
    if not io or not msr:
        return None
    return 2 + int(io.group(1)) + int(msr.group(1))


def code_lines():
    """Physical lines, and lines that are neither blank nor only comment, of
    every .c, .h and .S file under kernel/, arch/ and drivers/."""
    per_dir = {}
    for d in PRIVILEGED_DIRS:
        total = code = files = 0
        for dirpath, _, names in os.walk(os.path.join(ROOT, d)):
            for name in sorted(names):
                if not name.endswith((".c", ".h", ".S")):
                    continue
                with open(os.path.join(dirpath, name), errors="replace") as f:
                    src = f.read()
                files += 1
                total += src.count("\n")
                stripped = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), src, flags=re.S)
                stripped = re.sub(r"//[^\n]*", "", stripped)
                code += sum(1 for l in stripped.splitlines() if l.strip())
        per_dir[d] = (files, total, code)
    return per_dir


def qemu_version():
    out = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True, text=True).stdout
    m = re.search(r"version (\S+)", out)
    return m.group(1) if m else "?"


def table(lines, secs, backend=None):
    bench = guest_lines(lines, "bench")
    peer = guest_lines(lines, "benchpeer")
    rows = []

    def row(name, value):
        rows.append((name, value))

    tsc = merged(bench, "tsc_read")
    for key, name in [("hypercall", "null hypercall round trip"),
                      ("cpuid", "CPUID exit round trip"),
                      ("io_out", "I/O exit round trip (OUT)"),
                      ("io_in", "I/O exit round trip (IN)")]:
        v = merged(bench, key)
        row(name, f"{need(v, 'median', key):6d} cycles (min {need(v, 'min', key)}, "
                  f"n={need(v, 'n', key)})")
    row("  (TSC read pair, subtracted)", f"{need(tsc, 'median', 'tsc_read'):6d} cycles (min {need(tsc, 'min', 'tsc_read')})")

    wa, wb = merged(bench, "windows"), merged(peer, "windows")
    for v, who in [(wa, "bench"), (wb, "benchpeer")]:
        for k in ["gap_median", "span_median", "late_median", "late_max", "late_min",
                  "late_n", "origin_slack"]:
            need(v, k, f"{who} windows")
    # A's gap (its last instruction in a window to its first in the next)
    # holds the switch to B, B's run and the switch back; B's span is B's
    # run.  Both without any clock origin, so these are exact.
    pair_a = wa["gap_median"] - wb["span_median"]
    pair_b = wb["gap_median"] - wa["span_median"]
    row("window switch, partition to partition",
        f"{(pair_a + pair_b) // 4:6d} cycles (two switches per frame: {pair_a} and {pair_b}; "
        f"n={wa['late_n']}+{wb['late_n']})")
    # Lateness needs the TSC value of a planned start, found through HC_TIME:
    # too early by the exit half of that hypercall.  A partition that spins
    # is stopped at its planned end to the instruction (the LAPIC timer runs
    # on the same instruction clock), so its "early" figure at window ends
    # is minus that error, and it is taken out here.  Jitter (max - min)
    # needs no origin at all.
    for v, who in [(wa, "bench"), (wb, "benchpeer")]:
        fix = need(v, "early_median", f"{who} windows")
        row(f"window start lateness ({who})",
            f"{v['late_median'] + fix:6d} cycles median, max {v['late_max'] + fix}, jitter (max-min) "
            f"{v['late_max'] - v['late_min']} (n={v['late_n']}; raw {v['late_median']}, "
            f"origin error {-fix})")
    stats = [v for w, v in bench if w == "hv_stats"]
    if stats:
        row("  hypervisor's record, max late (whole run)",
            ", ".join(f"{s.get('partition')} {s.get('max_start_late_ns')} ns" for s in stats))

    text, data, bss, part_size, part_max = core_memory()
    row("core image (build/core.elf)",
        f"{(text + data + bss) // 1024:6d} KiB (text+rodata {text}, data {data}, bss {bss} bytes; "
        f"bss holds the table of {part_max} partitions)")
    slat = {m.group(1): int(m.group(2)) for m in
            (re.search(r"^\[hv\] partition (\S+): .*second-level tables (\d+) pages", l)
             for l in lines) if m}
    if "bench" not in slat:
        fail("no '[hv] partition bench: ... second-level tables N pages' line")
    backend = backend or SVM_TABLE
    pages = backend.get("control_pages", 1) + 1 + slat["bench"]  # VMCB/VMCS, start-info, NPT/EPT
    row("per-partition overhead (4 MiB guest)",
        f"{(pages * 4096 + part_size) // 1024:6d} KiB ({backend['control']} + start-info 4096 + "
        f"{'EPT' if backend is VMX_TABLE else 'NPT'} "
        f"{slat['bench']} x 4096 + struct partition {part_size} bytes, with its console)")
    shared = backend["shared"]()
    if shared:
        row(backend["shared_row"][0], f"{shared * 4:6d} KiB {backend['shared_row'][1]}")
    per_dir = code_lines()
    files = sum(f for f, _, _ in per_dir.values())
    total = sum(t for _, t, _ in per_dir.values())
    code = sum(c for _, _, c in per_dir.values())
    row("privileged code (kernel/ arch/ drivers/)",
        f"{total:6d} lines in {files} .c/.h/.S files ({code} not blank or comment; "
        + ", ".join(f"{d}/ {t}" for d, (_, t, _) in per_dir.items()) + ")")

    width = max(len(n) for n, _ in rows)
    out = [f"Partita benchmarks — {backend['title']()}"]
    out += [f"{n:<{width}}  {v}" for n, v in rows]
    out.append(f"(round trips: median of single samples, less the TSC read pair; run {secs.strip('()')})")
    return "\n".join(out)


def main():
    only = os.environ.get("BENCH_ONLY", "")
    status = 0
    if only != "bochs":
        try:
            lines, serial, secs = run()
            print(table(lines, secs))
        except BenchError as e:
            print(f"bench: FAILED: {e}", file=sys.stderr)
            status = 1
    if only != "qemu":
        try:
            lines, serial, secs = run_bochs()
            print(table(lines, secs, VMX_TABLE))
        except BenchError as e:
            print(f"bench (Bochs, VMX): FAILED: {e}", file=sys.stderr)
            status = 1
    if only in ("", "api"):
        # The management API's requests per second: wall-clock, plain TCG.
        import bench_api
        status |= bench_api.main()
    return status


if __name__ == "__main__":
    sys.exit(main())
