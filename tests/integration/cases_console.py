# SPDX-License-Identifier: BSD-2-Clause
"""Integration cases of the console's input and focus (README "The console:
typing and hot keys"): QEMU's serial port is a unix socket as well as the
log (harness serial_socket), and the host types into it.

linux-console-shell: Linux's busybox shell answers a command typed on the
machine's serial line; Ctrl-T n moves the focus to the ticker (which takes
no input, so what is typed then is dropped and never reaches the shell),
Ctrl-T 7 names no partition, Ctrl-T 0 moves it back, and the shell answers
again.  Each move prints its banner."""
import re
import socket
import threading
import time

from harness import Case, DEFAULT_FORBID, read_lines, serial_socket_path

CONF = "tests/integration/configs/"
ICOUNT = ["-icount", "shift=5,sleep=off"]
LINUX_CPU = ["-cpu", "qemu64,+svm,+npt,+rdrand"]
CTRL_T = b"\x14"

SHELL_UP = r"^\[linux\] partita-test: shell on the console$"
FOCUS_LINUX = r"^\[hv\] console: focus on linux \(partition 0\); Ctrl-T \? lists the hot keys$"
FOCUS_TICKER = (r"^\[hv\] console: focus on ticker \(partition 1\): it takes no input, "
                r"typed bytes are dropped$")
NO_SUCH = r"^\[hv\] console: Ctrl-T 7: no partition 7 \(0-1\); focus stays on ticker$"
RAW_ON = (r"^\[hv\] console: linux has the terminal raw \(no prefixes; the others' output is "
          r"held\); Ctrl-T r gives it back$")
RAW_OFF = (r"^\[hv\] console: linux gave the terminal back; the others' output follows "
           r"\(\d+ lines of it dropped\)$")
# What the shell prints while it has the terminal raw: no prefix, and the
# escape sequence (SGR reset) reaches the terminal whole.
RAW_LINE = r"^partita-raw-ok\x1b\[0m$"


def wait_line(serial, regex, after, timeout):
    """Waits until a line past the first `after` lines matches regex; returns
    the number of lines read then, or None at the timeout."""
    pat = re.compile(regex)
    end = time.time() + timeout
    while time.time() < end:
        lines = read_lines(serial)
        if any(pat.search(l) for l in lines[after:]):
            return len(lines)
        time.sleep(0.2)
    return None


def shell_steps(port, serial):
    results = []
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(serial_socket_path(serial))
    # What QEMU sends on the socket must be read, or its serial port (and
    # the hypervisor's UART) would stall once the socket's buffer is full;
    # the log file has the same bytes.
    done = threading.Event()

    def drain():
        sock.settimeout(0.5)
        while not done.is_set():
            try:
                if not sock.recv(65536):
                    return
            except socket.timeout:
                pass
            except OSError:
                return
    reader = threading.Thread(target=drain, daemon=True)
    reader.start()

    def step(name, data, regex, timeout=120):
        # read_lines ends with the unfinished line (often ""): it is
        # looked at again.
        at = max(len(read_lines(serial)) - 1, 0)
        sock.sendall(data)
        ok = wait_line(serial, regex, at, timeout) is not None
        results.append((name, ok, "" if ok else f"no line matching {regex!r} within {timeout} s"))
        return ok

    try:
        # The first line typed: the answer can only come from the shell.
        step("typed command answered", b"echo partita-$((6*7))\r", r"^\[linux\] partita-42$")
        step("ctrl-t n: banner", CTRL_T + b"n", FOCUS_TICKER, 60)
        # Typed to the ticker: dropped, so the shell never prints 49
        # (forbidden below).
        sock.sendall(b"echo partita-$((7*7))\r")
        step("ctrl-t 7: no such partition", CTRL_T + b"7", NO_SUCH, 60)
        step("ctrl-t 0: banner", CTRL_T + b"0", FOCUS_LINUX, 60)
        step("shell answers again", b"echo partita-$((8*8))\r", r"^\[linux\] partita-64$")
        # The raw terminal, for 6 s of guest time: the ticker prints a line
        # every 5 s, which must be held until the terminal is given back.
        step("ctrl-t r: raw banner", CTRL_T + b"r", RAW_ON, 60)
        step("raw output unprefixed, escapes whole",
             b"sleep 6; printf 'partita-raw-%s\\033[0m\\n' ok\r", RAW_LINE)
        if step("ctrl-t r: terminal given back", CTRL_T + b"r", RAW_OFF, 60):
            at = max(len(read_lines(serial)) - 1, 0)
            ok = wait_line(serial, r"^\[ticker\] ", at, 60) is not None
            results.append(("ticker's lines shown after raw", ok, ""))
    finally:
        done.set()
        sock.close()
        reader.join(2)
    return results


def held_while_raw(lines):
    """No [ticker] line between the raw banner and the give-back one, and
    one at least after it (6 s of raw time hold one or more)."""
    on = next((i for i, l in enumerate(lines) if re.search(RAW_ON, l)), None)
    off = next((i for i, l in enumerate(lines) if re.search(RAW_OFF, l)), None)
    if on is None or off is None or off < on:
        return [("others held while raw", False, "no raw banner pair")]
    inside = [l for l in lines[on:off] if l.startswith("[ticker] ")]
    after = [l for l in lines[off:] if l.startswith("[ticker] ")]
    return [("others held while raw", not inside and bool(after),
             f"{len(inside)} ticker lines while raw, {len(after)} after")]


CASES = [
    Case("linux-console-shell", CONF + "linux-shell.conf",
         [("shell started", SHELL_UP),
          ("focus on linux at boot", FOCUS_LINUX),
          ("command echoed by the tty", r"^\[linux\] .*# .*echo partita-\$\(\(6\*7\)\)$")],
         log_check=held_while_raw,
         exit_code=None, serial_socket=True, host_steps=shell_steps, host_steps_after=SHELL_UP,
         timeout=400, qemu_args=["-m", "1G"] + LINUX_CPU + ICOUNT,
         forbid=DEFAULT_FORBID + [r"^\[linux\] partita-49$", r"Kernel panic"]),
]
