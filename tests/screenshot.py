#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Takes a screenshot of a real run for the README (`make screenshot`).

Boots QEMU with the command given after `--` (plus a QMP socket and the
serial log in a work folder), waits until a line of the serial log matches
--wait (or --timeout seconds pass, a failure), waits --settle seconds more
for the screen to catch up, takes a QMP screendump, checks that every cell
of it reads back as the console's font (tests/integration/screen.py) and
writes it as a PNG.

usage: screenshot.py --out docs/screen.png --wait REGEX [--settle S]
                     [--timeout S] -- qemu-system-x86_64 ARGS...
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import screen  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--wait", required=True, help="regex of a serial line")
    ap.add_argument("--settle", type=float, default=5)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("qemu", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.qemu[1:] if args.qemu[:1] == ["--"] else args.qemu
    if not cmd:
        ap.error("no QEMU command after --")

    work = tempfile.mkdtemp(prefix="partita-shot-")
    serial = os.path.join(work, "serial.log")
    sock = os.path.join(work, "qmp.sock")
    cmd = cmd + ["-serial", f"file:{serial}", "-qmp", f"unix:{sock},server=on,wait=off"]
    print("  QEMU    " + " ".join(cmd), flush=True)
    stderr = os.path.join(work, "qemu.stderr")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(stderr, "w"),
                            start_new_session=True)
    rx = re.compile(args.wait)
    try:
        start = time.time()
        while not any(rx.search(l) for l in screen_lines(serial)):
            if proc.poll() is not None:
                sys.exit(f"error: QEMU ended before a line matched /{args.wait}/ ({serial}): "
                         + open(stderr).read().strip())
            if time.time() - start > args.timeout:
                sys.exit(f"error: no line matched /{args.wait}/ in {args.timeout:.0f} s ({serial})")
            time.sleep(1)
        time.sleep(args.settle)
        qmp = screen.Qmp(sock)
        ppm = os.path.join(work, "screen.ppm")
        w, h, rgb = screen.screendump(qmp, ppm)
        qmp.close()
        rows = screen.decode(w, h, rgb)
        bad = [i for i, r in enumerate(rows) if "\x00" in r]
        if bad:
            sys.exit(f"error: screen rows {bad[:5]} do not read back as the font ({ppm})")
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        screen.write_png(args.out, w, h, rgb)
        print(f"  PNG     {args.out} ({w}x{h}; status row: {rows[0].strip()})")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def screen_lines(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", errors="replace").split("\n")
    except FileNotFoundError:
        return []


if __name__ == "__main__":
    main()
