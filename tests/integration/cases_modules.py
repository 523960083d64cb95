# SPDX-License-Identifier: BSD-2-Clause
"""Integration cases of Multiboot modules (`module = FILE [ARGS]`): the
Multiboot test kernel, built with a Multiboot 1 header (mbtest.elf) and with
a Multiboot 2 header (mbtest2.elf), is given three modules and checks them
(guests/mbtest/bootinfo.c): their count, page alignment, placement after
the kernel and inside RAM, and the size and CRC-32 that each string names,
then the rest of the virtual platform as in cases_hvm.py.  The modules are
made here (prepare): bytes that follow from a seed, so that the case knows
their CRC-32 and compares the line the kernel prints for each.  The strings
are ARGS only, without the file name, as GRUB 2 passes them for both
versions (grub-core/loader/multiboot.c gives its add_module argv + 1; Debian's
GRUB scripts put a "placeholder" word first for kernels that skip one).

On SVM (QEMU) and on VMX (Bochs, about 40 s a case); the refusals of
configs whose modules are wrong are in QEMU only (the same code decides on
both back ends)."""
import hashlib
import os
import re
import zlib

from expect import mbtest_ok
from harness import Case, DEFAULT_FORBID

CONF = "tests/integration/configs/"
BUILD_GUESTS = os.path.join(os.path.dirname(__file__), "..", "..", "build", "guests")
ICOUNT = ["-icount", "shift=5,sleep=off"]

# The files the mbmod configs name, and their sizes: one that crosses
# pages and one a byte over a page (the module after it must start on the
# next page).
MODULE_FILES = {"mod-a.bin": 20000, "mod-b.bin": 4097}


def module_bytes(name, size):
    """size bytes that follow from name (SHA-256 in counter mode)."""
    out = bytearray()
    i = 0
    while len(out) < size:
        out += hashlib.sha256(f"{name}:{i}".encode()).digest()
        i += 1
    return bytes(out[:size])


def crc(name):
    return zlib.crc32(module_bytes(name, MODULE_FILES[name]))


def prepare_modules(base):
    """prepare hook: the config base beside the module files it names."""
    def prepare(case, workdir):
        for name, size in MODULE_FILES.items():
            with open(os.path.join(workdir, name), "wb") as f:
                f.write(module_bytes(name, size))
        text = open(os.path.join(os.path.dirname(__file__), "configs", base)).read()
        path = os.path.join(workdir, base)
        with open(path, "w") as f:
            f.write(text)
        return path, []
    return prepare


def module_line(n, name, string):
    size = MODULE_FILES[name]
    return (f"module {n} ({name}): {size} bytes, crc32 and string",
            rf"^\[mbtest\] mbtest: module {n}: {size} bytes at 0x[0-9a-f]{{5}}000, "
            rf"crc32 0x{crc(name):08x}, string '{re.escape(string)}'$")


def module_checks(version):
    return [
        (f"multiboot {version} information read",
         rf"^\[mbtest\] mbtest: Multiboot {version}, memory 639 KiB low, 7168 KiB high, "
         r"command line 'mbtest modules=3'$"),
        ("three modules", r"^\[mbtest\] mbtest: 3 modules \(expected 3\)$"),
        module_line(0, "mod-a.bin", f"alpha crc=0x{crc('mod-a.bin'):08x} size=20000"),
        module_line(1, "mod-b.bin", f"beta  two spaces size=4097 crc=0x{crc('mod-b.bin'):08x}"),
        module_line(2, "mod-a.bin", ""),
        ("modules check passed", r"^\[mbtest\] mbtest: ok modules$"),
    ] + mbtest_ok() + [
        ("debug exit ends the partition",
         r"^\[hv\] partition mbtest stopped: debug exit with code 0$")]


def prepare_grub(case, workdir):
    """prepare hook of the GRUB case: the expected CRC-32 of each module is
    the one of the file in the build (conformance.mod, mbtest.elf)."""
    lines = []
    for n, (name, string) in enumerate([("conformance.mod", "gamma"), ("mbtest.elf", "")]):
        data = open(os.path.join(BUILD_GUESTS, name), "rb").read()
        lines.append((f"module {n} ({name}) through GRUB: crc32 and string",
                      rf"^\[mbtest\] mbtest: module {n}: {len(data)} bytes at 0x[0-9a-f]{{5}}000, "
                      rf"crc32 0x{zlib.crc32(data):08x}, string '{string}'$"))
    return None, lines


FORBID = DEFAULT_FORBID + [r"mbtest: FAIL", r"\[hv\] vmx: .*failed"]
REFUSED = ("boot stopped", r"^\[hv\] boot stopped: the configuration was refused$")

CASES = [
    Case("hvm-mbtest-modules", CONF + "mbmod.conf", module_checks(1), exit_code=0, timeout=90,
         qemu_args=ICOUNT, forbid=FORBID, prepare=prepare_modules("mbmod.conf")),
    Case("hvm-mbtest2-modules", CONF + "mbmod2.conf", module_checks(2), exit_code=0, timeout=90,
         qemu_args=ICOUNT, forbid=FORBID, prepare=prepare_modules("mbmod2.conf")),
    Case("vmx-mbtest-modules", CONF + "mbmod.conf", module_checks(1), exit_code=0, emulator="bochs",
         timeout=240, forbid=FORBID, prepare=prepare_modules("mbmod.conf")),
    Case("vmx-mbtest2-modules", CONF + "mbmod2.conf", module_checks(2), exit_code=0, emulator="bochs",
         timeout=240, forbid=FORBID, prepare=prepare_modules("mbmod2.conf")),
    # Through BIOS, GRUB and the Multiboot2 loader (QEMU with SeaBIOS).
    Case("mb2-qemu-mbtest2-modules", CONF + "mbmod-grub.conf",
         [("two modules", r"^\[mbtest\] mbtest: 2 modules \(expected 2\)$"),
          ("modules check passed", r"^\[mbtest\] mbtest: ok modules$"),
          ("debug exit ends the partition",
           r"^\[hv\] partition mbtest stopped: debug exit with code 0$")],
         exit_code=0, emulator="qemu-iso", qemu_args=ICOUNT, timeout=90, forbid=FORBID,
         prepare=prepare_grub),
    # A module's file missing from the boot volume: refused with its line.
    Case("config-module-missing", CONF + "mbmod-missing.conf",
         [("refused naming file and line",
           r"^\[hv\] config error: \\partita\\partita\.conf:12: file 'nothere\.bin' not found "
           r"on the boot volume"), REFUSED],
         exit_code=2),
    # Found once the image's format is known (after the files are loaded).
    Case("config-module-for-linux", CONF + "mbmod-linux.conf",
         [("refused at the module's line",
           r"^\[hv\] config error: \\partita\\partita\.conf:11: module is for Multiboot kernels, "
           r"and the image of \[partition linux\] is a Linux bzImage: give its ramdisk as "
           r"initrd$"), REFUSED],
         exit_code=2),
    Case("config-initrd-for-multiboot", CONF + "mbmod-initrd.conf",
         [("refused at the initrd's line, pointing at module",
           r"^\[hv\] config error: \\partita\\partita\.conf:11: initrd is for Linux kernels, "
           r"and the image of \[partition mbtest\] is a Multiboot kernel: give its files as "
           r"module = FILE \[ARGS\]$"), REFUSED],
         exit_code=2),
]
