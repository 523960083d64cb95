# SPDX-License-Identifier: BSD-2-Clause
"""Reads the core's framebuffer console back from a QEMU screendump.

QMP's `screendump` writes the display as a binary PPM (P6).  Every text cell
the core drew (drivers/fbcon.c) is read back exactly: for each colour pair
of the console's palette, a cell is that colour pair's glyph only if each of
its pixels is the foreground or the background colour and the foreground
pixels form a glyph of the font, the same PSF font the build took
(drivers/fbfont.py loads it).  A cell that matches nothing is shown as
'\\x00', so a smeared, shifted or half-drawn line cannot pass.  The result is
the screen as text: row 0 the status row, then the log rows.
"""
import json
import os
import socket
import sys
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "drivers"))
import fbfont  # noqa: E402

FONT_PATH = os.path.join(ROOT, "build", "font", "usr", "share", "consolefonts",
                         "Lat15-Terminus16.psf.gz")
# drivers/fbcon.c's palette, (foreground, background) as RGB, in its order.
PALETTE = {
    "text": (0xc8c8c8, 0x000000),
    "hv": (0xffd75f, 0x000000),
    "name": (0x5fd7ff, 0x000000),
    "status": (0xffffff, 0x1c3f73),
    "alert": (0xffffff, 0xaf1f1f),
}

_font = None


def font():
    global _font
    if _font is None:
        _font = fbfont.load(FONT_PATH)
    return _font


class Qmp:
    """A minimal QMP client over a Unix socket (QEMU's qmp-spec)."""

    def __init__(self, path, timeout=30):
        deadline = time.time() + timeout
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        self.s.settimeout(timeout)
        self.f = self.s.makefile("rwb")
        self._read()  # greeting
        self.cmd("qmp_capabilities")

    def _read(self):
        while True:
            line = self.f.readline()
            if not line:
                raise EOFError("QMP closed")
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    def cmd(self, name, **args):
        self.f.write(json.dumps({"execute": name, "arguments": args}).encode() + b"\n")
        self.f.flush()
        r = self._read()
        if "error" in r:
            raise RuntimeError(f"QMP {name}: {r['error']}")
        return r.get("return")

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def read_ppm(path):
    data = open(path, "rb").read()
    parts, pos = [], 0
    while len(parts) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos) + 1
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        parts.append(data[pos:end])
        pos = end
    pos += 1
    if parts[0] != b"P6" or parts[3] != b"255":
        raise ValueError(f"{path}: not an 8-bit P6 PPM")
    w, h = int(parts[1]), int(parts[2])
    return w, h, data[pos:pos + w * h * 3]


def write_png(path, w, h, rgb):
    """An 8-bit RGB PNG of the pixels (PNG spec: IHDR, IDAT, IEND)."""
    def chunk(kind, body):
        c = kind + body
        return len(body).to_bytes(4, "big") + c + zlib.crc32(c).to_bytes(4, "big")
    raw = b"".join(b"\x00" + rgb[y * w * 3:(y + 1) * w * 3] for y in range(h))
    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", w.to_bytes(4, "big") + h.to_bytes(4, "big") + b"\x08\x02\x00\x00\x00")
    png += chunk(b"IDAT", zlib.compress(raw, 9))
    png += chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def ppm_to_png(ppm, png):
    w, h, rgb = read_ppm(ppm)
    write_png(png, w, h, rgb)


class Decoder:
    """Glyph bitmaps of the font, keyed by their foreground pixels."""

    def __init__(self):
        f = font()
        self.w, self.h = f.width, f.height
        self.by_bits = {}
        # The glyph the core draws for each code point it maps (fbcon.c's
        # glyph_of): several code points may share one glyph; the lowest
        # code point names it.
        for cp in sorted(f.map):
            g = f.map[cp]
            key = tuple(b for row in f.bitmap(g) for b in row)
            self.by_bits.setdefault(key, chr(cp))
        self.pairs = [(name, fg.to_bytes(3, "big"), bg.to_bytes(3, "big"))
                      for name, (fg, bg) in PALETTE.items()]

    def cell(self, rgb, stride, x0, y0):
        px = [rgb[(y0 + y) * stride + (x0 + x) * 3:(y0 + y) * stride + (x0 + x) * 3 + 3]
              for y in range(self.h) for x in range(self.w)]
        for name, fg, bg in self.pairs:
            if all(p == fg or p == bg for p in px):
                ch = self.by_bits.get(tuple(p == fg for p in px))
                if ch is not None:
                    return ch, name
        return "\x00", None


def decode(w, h, rgb, with_colours=False):
    """The screen as a list of text rows (trailing spaces removed); with
    with_colours, a list of (text, [colour name per cell])."""
    d = Decoder()
    cols, rows = w // d.w, h // d.h
    out = []
    for r in range(rows):
        chars, colours = [], []
        for c in range(cols):
            ch, col = d.cell(rgb, w * 3, c * d.w, r * d.h)
            chars.append(ch)
            colours.append(col)
        text = "".join(chars).rstrip(" ")
        out.append((text, colours) if with_colours else text)
    return out


def screendump(qmp, path):
    if os.path.exists(path):
        os.unlink(path)
    qmp.cmd("screendump", filename=path)
    return read_ppm(path)
