#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Partita's test runner: host unit tests, then integration cases that boot
the real image in QEMU (and Bochs), each checked on its serial log.

Prints one line per case and the closing line "N passed, N failed[, N
skipped]".  A failing integration case keeps its whole serial log under
build/test/<case>/ and prints its last lines.
"""
import argparse
import concurrent.futures
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import harness  # noqa: E402


def all_cases():
    """Cases of tests/integration/cases.py and of every cases_*.py beside it
    (one file per feature area)."""
    import glob
    import importlib
    names = ["cases"] + sorted(
        os.path.basename(p)[:-3]
        for p in glob.glob(os.path.join(ROOT, "tests", "integration", "cases_*.py")))
    found = []
    for n in names:
        found += importlib.import_module(n).CASES
    return found


class Tally:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0

    def record(self, name, ok, detail="", skipped=False):
        if skipped:
            self.skipped += 1
            print(f"SKIP {name}: {detail}", flush=True)
        elif ok:
            self.passed += 1
            print(f"PASS {name}{(' ' + detail) if detail else ''}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL {name}: {detail}", flush=True)


OK_RE = re.compile(r"^\[\s+OK\s+\] (\S+)")
FAIL_RE = re.compile(r"^\[\s+FAILED\s+\] (\S+)$")


PY_RE = re.compile(r"^(test\w+) \(.*\) \.\.\. (ok|FAIL|ERROR|skipped.*)$")


def run_unit(binary, tally):
    """Runs one cmocka binary, or one Python unittest file (*.py, verbose),
    and records each of its test functions."""
    name = os.path.basename(binary)
    py = binary.endswith(".py")
    proc = subprocess.run([sys.executable, binary] if py else [binary],
                          capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    if py:
        res = [m.groups() for m in map(PY_RE.match, out.splitlines()) if m]
        passed = [t for t, r in res if r == "ok" or r.startswith("skipped")]
        failed = [t for t, r in res if r in ("FAIL", "ERROR")]
    else:
        passed = [m.group(1) for m in map(OK_RE.match, out.splitlines()) if m]
        failed = [m.group(1) for m in map(FAIL_RE.match, out.splitlines()) if m]
    for t in passed:
        tally.record(f"unit/{name}/{t}", True)
    for t in failed:
        tally.record(f"unit/{name}/{t}", False, "see output below")
    if failed or proc.returncode != 0:
        if not failed:
            tally.record(f"unit/{name}", False, f"exit status {proc.returncode}")
        sys.stdout.write(out[-4000:])


DONE_RE = re.compile(r"^Done (\d+) runs in (\d+) second")


def run_check(spec, tally):
    """Runs one whole-tree check, NAME=COMMAND (a shell command run from the
    top of the tree): it passes when the command exits 0.  A libFuzzer run's
    detail is its number of executions."""
    name, _, command = spec.partition("=")
    start = time.time()
    try:
        proc = subprocess.run(command, shell=True, cwd=ROOT, capture_output=True,
                              text=True, timeout=1200)
        out, rc = proc.stdout + proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) \
            else (e.stdout or ""), "timeout after 1200 s"
    lines = [l for l in out.splitlines() if l.strip()]
    done = [m for m in map(DONE_RE.match, lines) if m]
    if done:
        detail = f"({done[-1].group(1)} executions in {done[-1].group(2)} s)"
    else:
        detail = f"({time.time() - start:.0f} s)"
    if rc == 0:
        tally.record(f"check/{name}", True, detail)
    else:
        tally.record(f"check/{name}", False, f"exit status {rc}; output below")
        sys.stdout.write("\n".join(lines[-40:]) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="append", default=[], metavar="NAME=COMMAND",
                    help="a whole-tree check: passes when COMMAND exits 0")
    ap.add_argument("--unit", nargs="*", default=[])
    ap.add_argument("--integration", action="store_true")
    ap.add_argument("--full", action="store_true", help="also the slow cases")
    ap.add_argument("--only", help="run only integration cases matching this regex")
    ap.add_argument("--jobs", type=int, default=max(1, min(2, os.cpu_count() or 1)))
    args = ap.parse_args()

    tally = Tally()
    for c in args.check:
        run_check(c, tally)
    for b in args.unit:
        run_unit(b, tally)

    if args.integration:
        selected = [c for c in all_cases()
                    if (args.full or not c.slow)
                    and (not args.only or re.search(args.only, c.name))]
        start = time.time()
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as ex:
            futures = [ex.submit(harness.run_case, c) for c in selected]
            for f in futures:
                for name, ok, detail, skipped in f.result():
                    tally.record(name, ok, detail, skipped)
        print(f"integration cases took {time.time() - start:.0f} s", flush=True)

    print(f"{tally.passed} passed, {tally.failed} failed"
          + (f", {tally.skipped} skipped" if tally.skipped else ""))
    return 1 if tally.failed or (tally.passed == 0) else 0


if __name__ == "__main__":
    sys.exit(main())
