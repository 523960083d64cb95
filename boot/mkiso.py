#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Builds a bootable ISO that starts Partita through GRUB and Multiboot2.

    python3 boot/mkiso.py --loader build/partita-mb2.elf \\
        --config guests/demo.conf --files build/guests -o build/partita.iso

The ISO holds /boot/partita-mb2.elf (the Multiboot2 loader, which embeds the
core), /partita/partita.conf (the config) and every file the config names
(image =, initrd =, module =, disk =) that exists in the --files folder, and a grub.cfg that
loads them all as Multiboot2 modules, each named by the file name the config
uses, the config as partita.conf.  A file the config names but --files lacks
is left out, so the core reports it as it does for a missing file on the ESP.
grub-mkrescue (Debian's grub-common, with grub-pc-bin for BIOS machines and
xorriso) writes the ISO; GRUB waits 0 s in its menu.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

# What grub.cfg needs on BIOS machines: Multiboot2, the CD's file system, and
# the video drivers that give the core a linear framebuffer (all_video).
GRUB_MODULES = "multiboot2 iso9660 biosdisk part_msdos normal configfile all_video"

GRUB_CFG = """\
# Made by boot/mkiso.py from {config}.
set timeout=0
set timeout_style=hidden
set default=0
insmod all_video

menuentry "Partita ({config})" {{
  multiboot2 /boot/partita-mb2.elf{cmdline}
{gfx}{modules}  boot
}}
"""


def config_files(path):
    """The files a config names (image =, initrd =, module = FILE ARGS, disk =), in
    order, each once."""
    names = []
    with open(path, errors="replace") as f:
        for line in f:
            m = re.match(r"\s*(image|initrd|module|disk)\s*=\s*([^\s#]+)", line)
            if m and m.group(2) not in names:
                names.append(m.group(2))
    return names


def stage(loader, config, files_dir, out_dir, omit=(), cmdline="", text=False):
    """Lays out the ISO's tree in out_dir (emptied first); returns it.
    text: stay in the text console (no framebuffer), e.g. for Bochs's term
    display, which stops at a 32-bit graphics mode."""
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(os.path.join(out_dir, "boot", "grub"))
    os.makedirs(os.path.join(out_dir, "partita"))
    shutil.copy(loader, os.path.join(out_dir, "boot", "partita-mb2.elf"))
    shutil.copy(config, os.path.join(out_dir, "partita", "partita.conf"))
    lines = ["  module2 /partita/partita.conf partita.conf\n"]
    for name in config_files(config):
        src = os.path.join(files_dir, name)
        if name in omit or "/" in name or not os.path.exists(src):
            continue
        shutil.copy(src, os.path.join(out_dir, "partita", name))
        lines.append(f"  module2 /partita/{name} {name}\n")
    with open(os.path.join(out_dir, "boot", "grub", "grub.cfg"), "w") as f:
        f.write(GRUB_CFG.format(config=os.path.basename(config),
                                cmdline=(" " + cmdline) if cmdline else "",
                                # After multiboot2, which sets gfxpayload
                                # from the loader's framebuffer request.
                                gfx="  set gfxpayload=text\n" if text else "",
                                modules="".join(lines)))
    return out_dir


def make_iso(loader, config, files_dir, iso, omit=(), cmdline="", text=False, log=None):
    """Builds iso; its tree stays in iso + '.d'.  Raises on failure."""
    tree = stage(loader, config, files_dir, iso + ".d", omit, cmdline, text)
    cmd = ["grub-mkrescue", "--output", iso, f"--install-modules={GRUB_MODULES}",
           "--locales=", "--fonts=", "--themes=", "--compress=no", tree]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if log:
        with open(log, "w") as f:
            f.write(" ".join(cmd) + "\n" + proc.stdout)
    if proc.returncode != 0 or not os.path.exists(iso):
        raise RuntimeError(f"grub-mkrescue failed ({proc.returncode}): {proc.stdout.strip()[-400:]}")
    return iso


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--loader", required=True, help="the Multiboot2 loader (build/partita-mb2.elf)")
    ap.add_argument("--config", required=True, help="the config; becomes partita.conf")
    ap.add_argument("--files", required=True, help="folder with the files the config names")
    ap.add_argument("--cmdline", default="", help="the loader's command line")
    ap.add_argument("--text", action="store_true", help="keep the text console (no framebuffer)")
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    try:
        make_iso(args.loader, args.config, args.files, args.output, cmdline=args.cmdline,
                 text=args.text)
    except (OSError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    names = [n for n in config_files(args.config) if os.path.exists(os.path.join(args.files, n))]
    print(f"  ISO     {args.output} ({os.path.basename(args.config)}, {len(names)} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
