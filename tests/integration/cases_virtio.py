# SPDX-License-Identifier: BSD-2-Clause
"""Integration cases of the virtio devices of hvm partitions (issue 13).

virtio-blk: two Debian Linux partitions boot from the same ext2 image
(build/guests/disk.img, mke2fs -d at build time), each over its own 2 MiB
copy-on-write layer.  Each mounts it, reads the base's file, writes its own
file, syncs (a virtio-blk flush), remounts after dropping the page cache and
reads its file back from the device; it must list its own file and not the
other's.  Then it fills its layer: the write fails with an I/O error in the
guest, and the hypervisor reports the full layer.  At each partition's end
the hypervisor prints the CRC-32 of the shared base image, which must equal
the file's on the host: the base is never written."""
import os
import re
import zlib

from harness import BUILD, Case, DEFAULT_FORBID

CONF = "tests/integration/configs/"
ICOUNT = ["-icount", "shift=5,sleep=off"]
LINUX_CPU = ["-cpu", "qemu64,+svm,+npt,+rdrand"]


def base_crc_check(lines, names=("a", "b")):
    """Each partition's end line names the base image's CRC-32, the same as
    the file's on the host."""
    path = os.path.join(BUILD, "guests", "disk.img")
    with open(path, "rb") as f:
        want = zlib.crc32(f.read()) & 0xffffffff
    results = []
    for name in names:
        rx = re.compile(rf"^\[hv\] hvm: partition {name}: virtio-blk at its end: .* base disk\.img crc32 ([0-9a-f]{{8}})$")
        got = [int(m.group(1), 16) for m in map(rx.match, lines) if m]
        ok = got == [want]
        results.append((f"base image of {name} unchanged (crc32)", ok,
                        "" if ok else f"crc32 lines {[hex(g) for g in got]}, the file's {want:#010x}"))
    return results


def disk_expect(name, other):
    p = rf"^\[{name}\] partita-test: disk: "
    return [
        (f"{name}: virtio-blk probed", rf"^\[{name}\] \[\s*\d+\.\d+\] virtio_blk virtio0: \[vda\] 16384 512-byte logical blocks"),
        (f"{name}: vda writable", p + r"vda 16384 sectors, read-only 0$"),
        (f"{name}: queue interrupt by MSI-X, remapped (Linux 6.1 shows IR-PCI-MSI)", rf"^\[{name}\] partita-test: virtio irq: \d+:\s+[1-9]\d*\s+IR-PCI-MSI\s+\d+-edge\s+virtio0-req\.0$"),
        (f"{name}: base file read", p + r"base says: partita base image$"),
        (f"{name}: sync", p + r"synced$"),
        (f"{name}: own file after remount", p + rf"after remount: written by {name}$"),
        (f"{name}: only its own file", p + rf"files: (?!.*\b{other}\.txt\b)(?=.*\b{name}\.txt\b)(?=.*\bhello\.txt\b).*$"),
        (f"{name}: full layer is an I/O error", p + r"6 MiB write failed: .*Input/output error$"),
        (f"{name}: layer full reported", rf"^\[hv\] hvm: partition {name}: virtio-blk: the disk layer is full \(510 blocks\): writes fail"),
        (f"{name}: flush reached the device", rf"^\[hv\] hvm: partition {name}: virtio-blk: first flush$"),
        (f"{name}: write past the end refused", p + r"write past the end failed: "),
        (f"{name}: device never stopped", rf"^\[hv\] hvm: partition {name}: virtio-blk at its end: \d+ reads, \d+ writes, [1-9]\d* flushes, [1-9]\d* errors, stopped 0 times; layer 510 of 510 blocks"),
        (f"{name}: powers off", rf"^\[hv\] partition {name} stopped: powered off \(ACPI S5\)$"),
    ]


CASES = [
    Case("virtio-blk-layers", CONF + "virtio-blk.conf",
         disk_expect("a", "b") + disk_expect("b", "a"),
         log_check=base_crc_check,
         exit_code=0, timeout=400, qemu_args=["-m", "1G"] + LINUX_CPU + ICOUNT,
         forbid=DEFAULT_FORBID + [r"Kernel panic", r"virtio-blk stopped",
                                  r"partition [ab] stopped: (?!powered off)",
                                  r"partita-test: insmod .* failed"]),
]

# make test-full: the same disk test on VMX (Bochs), one partition; Linux in
# Bochs takes minutes (cases_vmx.py's vmx-linux).
CASES += [
    Case("vmx-virtio-blk", CONF + "vmx-virtio-blk.conf",
         disk_expect("a", "b"),
         log_check=lambda lines: base_crc_check(lines, ("a",)),
         exit_code=0, emulator="bochs", timeout=2400, slow=True,
         forbid=DEFAULT_FORBID + [r"Kernel panic", r"virtio-blk stopped",
                                  r"partition a stopped: (?!powered off)",
                                  r"partita-test: insmod .* failed", r"\[hv\] vmx: .*failed"]),
]

# A disk without a layer is read-only (VIRTIO_BLK_F_RO); the same run is
# make bench's virtio-blk row (tests/bench_virtio.py): 16 sequential reads
# of the whole disk with O_DIRECT, timed by the guest under -icount.
CASES += [
    Case("virtio-blk-readonly", CONF + "bench-virtio-blk.conf",
         [("virtio-blk probed", r"^\[linux\] \[\s*\d+\.\d+\] virtio_blk virtio0: \[vda\] 16384 512-byte logical blocks"),
          ("vda read-only", r"^\[linux\] partita-test: disk: vda 16384 sectors, read-only 1$"),
          ("sequential reads timed", r"^\[linux\] partita-test: bench: disk read 128 MiB in \d+\.\d+ s; tmpfs read 128 MiB in \d+\.\d+ s$"),
          ("no write reached it", r"^\[hv\] hvm: partition linux: virtio-blk at its end: [1-9]\d* reads, 0 writes, \d+ flushes, 0 errors, stopped 0 times; layer 0 of 0 blocks"),
          ("powers off", r"^\[hv\] partition linux stopped: powered off \(ACPI S5\)$")],
         log_check=lambda lines: base_crc_check(lines, ("linux",)),
         exit_code=0, timeout=600, qemu_args=["-m", "1G"] + LINUX_CPU + ICOUNT,
         forbid=DEFAULT_FORBID + [r"Kernel panic", r"virtio-blk stopped",
                                  r"partition linux stopped: (?!powered off)"]),
]
