# SPDX-License-Identifier: BSD-2-Clause
"""Integration cases of the framebuffer console (kernel/screen.c,
drivers/fbcon.c), in QEMU with OVMF's GOP on `-vga std` and on
`-device bochs-display`.

The screen is read back from QMP screendumps and decoded cell by cell
against the font the build took (screen.py): every cell must be a glyph of
the font in one of the console's colour pairs, exactly.  A case polls the
screen until its expectations hold or its time runs out, and keeps the last
screendump as build/test/<case>/screen.png (and the decoded text as
screen.txt) either way.

- fb-console: beside the serial port; the screen's log rows are exactly the
  serial log's last lines (wrapped at the screen's width), the status row
  shows both partitions with state and CPU, prefixes have their colours.
- fb-no-serial: no serial port at all (-serial none): the core finds no
  16550 (scratch register) and the screen alone shows the boot log and a
  partition's line.
- fb-scroll: more lines than the screen holds: the oldest have scrolled
  away and the screen still equals the serial log's tail; under -icount,
  the ticker's windows start within one tick while the screen scrolls.
- fb-schedule: the timing case pv-schedule with the screen on: drawing the
  scrolling log costs no window its start (ticker's 20 starts within one
  tick) and the core reports what drawing cost.
- fb-given-away: the config passes the display device through to a
  partition: the core says so and draws nothing after it (the partition's
  line is on the serial log, not on the screen).
"""
import os
import re
import time

import screen
from harness import Case, DEFAULT_FORBID, read_lines
from cases import ICOUNT, HELLO, FAILS, TICKER_ON_TIME, ticker_window

CONF = "tests/integration/configs/"
QMP = ["-qmp", "unix:qmp.sock,server=on,wait=off"]
STD_VGA = ["-vga", "std"] + QMP
BOCHS_DISPLAY = ["-device", "bochs-display"] + QMP
STATUS = r"^ Partita \| hello cpu0 exited \| spin cpu0 running$"
SCREEN_LINE = r"^\[hv\] screen: 1280x800 framebuffer at 0x[0-9a-f]+, 160x50 text in font Lat15-Terminus16 \(8x16\)"
HELLO_ROW = r"^\[hello\] hello from partition 0 'hello': ABI \d+\.\d+, 2 MiB of memory$"


def serial_tail_matches(rows, serial, cols):
    """The screen's log rows (up to the last one written) against the serial
    log's lines from the core's first one, each cut into rows of cols."""
    lines = read_lines(serial)
    first = next((i for i, l in enumerate(lines) if l.startswith("[hv] ")), None)
    if first is None:
        return False, "no [hv] line on the serial log"
    wrapped = []
    for l in lines[first:]:
        if l == "" and l is lines[-1]:
            continue
        wrapped += [l[i:i + cols].rstrip(" ") for i in range(0, max(len(l), 1), cols)]
    while wrapped and wrapped[-1] == "":
        wrapped.pop()
    log = rows[1:]
    while log and log[-1] == "":
        log.pop()
    if not log:
        return False, "the screen's log area is empty"
    if wrapped[-len(log):] != log:
        for i, (a, b) in enumerate(zip(reversed(log), reversed(wrapped))):
            if a != b:
                return False, f"screen row {len(log) - i} is {a!r}, the serial log has {b!r}"
        return False, f"the screen has {len(log)} log rows, the serial log {len(wrapped)}"
    return True, f"{len(log)} rows equal the serial log's last lines"


def screen_steps(rows_expect, status=None, colours=(), match_serial=False,
                 absent=(), forbid=DEFAULT_FORBID, timeout=120):
    """Host steps: screendumps until every expectation holds (or timeout)."""
    def steps(port, serial):
        work = os.path.dirname(serial)
        ppm = os.path.join(work, "screen.ppm")
        qmp = screen.Qmp(os.path.join(work, "qmp.sock"))
        deadline = time.time() + timeout
        try:
            while True:
                results = []
                w, h, rgb = screen.screendump(qmp, ppm)
                cells = screen.decode(w, h, rgb, with_colours=True)
                rows = [t for t, _ in cells]
                cols = w // screen.font().width
                bad = [i for i, t in enumerate(rows) if "\x00" in t]
                results.append(("every cell is a glyph of the font", not bad,
                                 f"rows {bad[:5]} hold cells that are not" if bad else ""))
                if status:
                    ok = bool(re.search(status, rows[0]))
                    results.append(("status row", ok, "" if ok else f"status row is {rows[0]!r}"))
                for name, rx in rows_expect:
                    ok = any(re.search(rx, t) for t in rows[1:])
                    results.append((f"screen: {name}", ok, "" if ok else f"no row matches /{rx}/"))
                for name, rx, n, colour in colours:
                    hit = [c for t, c in cells[1:] if re.search(rx, t)]
                    ok = bool(hit) and all(x == colour for x in hit[0][:n])
                    results.append((f"screen: {name}", ok, "" if ok else f"colours {hit[0][:n] if hit else None}"))
                for name, rx in absent:
                    ok = not any(re.search(rx, t) for t in rows)
                    results.append((f"screen: {name}", ok, "" if ok else f"a row matches /{rx}/"))
                seen = [t for t in rows for p in forbid if re.search(p, t)]
                results.append(("screen: no forbidden line", not seen, f"{seen[:1]}" if seen else ""))
                if match_serial:
                    ok, detail = serial_tail_matches(rows, serial, cols)
                    results.append(("screen equals the serial log's tail", ok, detail))
                if all(ok for _, ok, _ in results) or time.time() > deadline:
                    break
                time.sleep(2)
        finally:
            qmp.close()
        png = os.path.join(work, "screen.png")
        screen.ppm_to_png(ppm, png)
        with open(os.path.join(work, "screen.txt"), "w") as f:
            f.write("\n".join(rows) + "\n")
        if not all(ok for _, ok, _ in results):
            results = [(n, ok, d + ("" if ok else f" (screen kept: {png})")) for n, ok, d in results]
        return results
    return steps


CASES = [
    Case("fb-console", CONF + "screen.conf",
         [HELLO, ("screen in use", SCREEN_LINE)],
         exit_code=None, qemu_args=STD_VGA, timeout=180,
         host_steps=screen_steps(
             [("banner", r"^\[hv\] Partita \d+\.\d+\.\d+, x86-64 microhypervisor$"),
              ("screen line", SCREEN_LINE), ("hello's line", HELLO_ROW),
              ("hello exits", r"^\[hv\] partition hello stopped: exited with code 0$")],
             status=STATUS,
             colours=[("[hello] in the name colour", HELLO_ROW, 7, "name"),
                      ("[hv] in the hv colour", r"^\[hv\] Partita", 4, "hv")],
             match_serial=True),
         host_steps_after=r"^\[hv\] partition hello stopped"),
    Case("fb-no-serial", CONF + "screen.conf", [],
         exit_code=None, serial=False, qemu_args=BOCHS_DISPLAY, timeout=180,
         host_steps=screen_steps(
             [("no UART found", r"^\[hv\] serial: no 16550 UART at 0x3f8 \(its scratch register does not answer\)$"),
              ("screen line", SCREEN_LINE), ("hello's line", HELLO_ROW),
              ("hello exits", r"^\[hv\] partition hello stopped: exited with code 0$")],
             status=STATUS)),
    Case("fb-scroll", CONF + "screen-scroll.conf",
         [TICKER_ON_TIME],
         exit_code=None, qemu_args=ICOUNT + STD_VGA, timeout=180,
         host_steps=screen_steps(
             [("ticker's summary", r"^\[test-ticker\] 20 window starts, late min"),
              ("ticker exits", r"^\[hv\] partition test-ticker stopped: exited with code 0$")],
             status=r"^ Partita \| test-ticker cpu0 exited \| spin cpu0 running$",
             absent=[("the banner scrolled away", r"^\[hv\] Partita \d")],
             match_serial=True, forbid=DEFAULT_FORBID + FAILS),
         host_steps_after=r"^\[hv\] partition test-ticker stopped"),
    Case("fb-given-away", CONF + "screen-given.conf",
         [HELLO, ("screen stops",
                  r"^\[hv\] screen: the framebuffer is BAR0 of 00:01\.0, given to partition hello: "
                  r"the screen console stops$")],
         exit_code=None, qemu_args=STD_VGA, timeout=180,
         host_steps=screen_steps(
             [("screen line", SCREEN_LINE),
              ("its last line", r"^\[hv\] screen: the framebuffer is BAR0 of 00:01\.0")],
             absent=[("no line after it", HELLO_ROW)]),
         host_steps_after=r"^\[hv\] partition hello stopped"),
    Case("fb-schedule", CONF + "schedule.conf",
         [HELLO, ("spin runs", r"^\[spin\] boot 1: spinning forever"),
          ticker_window(2000), ticker_window(7000), TICKER_ON_TIME,
          ("screen in use", SCREEN_LINE),
          ("drawing cost reported", r"^\[hv\] screen: \d+ cells drawn in \d+ paints \(\d+ cut short by a deadline or budget\), [1-9]\d* scrolls, a cell \d+ ns, longest paint \d+ us$")],
         qemu_args=ICOUNT + STD_VGA, timeout=120, forbid=DEFAULT_FORBID + FAILS),
]
