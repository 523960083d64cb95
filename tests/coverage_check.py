#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Fails `make coverage` when a file's line coverage under the host tests is
below a minimum.  Reads gcovr's --json-summary output.

    coverage_check.py SUMMARY.json MIN_PERCENT FILE...
"""
import json
import sys


def main():
    summary, minimum, files = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
    with open(summary) as f:
        found = {e["filename"]: e for e in json.load(f)["files"]}
    failed = False
    for name in files:
        e = found.get(name)
        if e is None:
            print(f"coverage: {name}: not measured at all")
            failed = True
            continue
        pct = 100.0 * e["line_covered"] / e["line_total"] if e["line_total"] else 0.0
        ok = pct >= minimum
        failed |= not ok
        print(f"coverage: {name}: {pct:.1f}% of {e['line_total']} lines "
              f"({'ok' if ok else 'below'} {minimum:g}%)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
