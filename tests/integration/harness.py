# SPDX-License-Identifier: BSD-2-Clause
"""Boots one integration case in an emulator and checks its serial log.

A case names a config; the harness builds a private ESP folder for it
(BOOTX64.EFI, the config as \\partita\\partita.conf, and every guest image the
config names that the build produced), boots it in QEMU (TCG, OVMF, SVM CPU)
or Bochs (OVMF, Intel VMX CPU model), and reads the serial log.  The
emulators "qemu-iso" and "bochs-bios" boot the same files through BIOS and
GRUB instead: the harness makes a private ISO for the case with
boot/mkiso.py (the Multiboot2 loader, the config and its files as modules)
and boots it from a CD with SeaBIOS (QEMU) or Bochs's own BIOS
(bochs_cpus CPUs, whose ACPI tables list them all).

A case may instead boot a Multiboot kernel with no hypervisor at all
(emulator "qemu-kernel": QEMU's -kernel, with the case's kernel, initrd and
append from build/guests/), as the reference an hvm guest is compared
with; its exit code is then the one it wrote to the debug-exit port.

A run ends when the emulator exits (QEMU's isa-debug-exit: status is
(code << 1) | 1), or when the case's end marker appears on the serial log
(then the harness stops the emulator), or at the time bound (a failure).
A case may also give the machine a NIC (nic_port: QEMU's user network with
a host port on 127.0.0.1 forwarded to the guest's port nic_guest_port, 80
unless the case says otherwise; 0 picks a free port) and host-side steps (host_steps: called with that port and the serial
log's path once the line host_steps_after appears, while the emulator runs;
it returns [(check name, ok, detail)], reported like the expectations, and
the run then ends as at an end marker).  nic adds the NIC without a host
port; nic_args is appended to its -device option (e.g. ",iommu_platform=on").
A case may also compute its config before the run (prepare: called with the
case and its work folder, returns the config's path and extra expectations).
serial=False boots a machine without a serial port; its host_steps (with no
host_steps_after) run as soon as the emulator has started.  serial_socket
(QEMU) puts the serial port on a unix socket, serial.sock in the case's
work folder (serial_socket_path), that host_steps can connect to in order
to type into the machine; serial.log still gets every byte sent.

Each expectation of the case is reported as its own result, followed by one
"clean end" result: the exit code is the expected one, no forbidden line
(PANIC, CPU exception) was printed, and the time bound held.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import sys
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build")
OVMF = "/usr/share/ovmf/OVMF.fd"
BOCHS_BIOS = "/usr/share/bochs/BIOS-bochs-latest"
MB2_LOADER = os.path.join(BUILD, "partita-mb2.elf")
ISO_EMULATORS = ("qemu-iso", "bochs-bios")
BOCHS_EMULATORS = ("bochs", "bochs-bios")

sys.path.insert(0, os.path.join(ROOT, "boot"))
import mkiso  # noqa: E402  (boot/mkiso.py: the ISO of `make iso`)

RUN_ENDED = re.compile(r"^\[hv\] run ended: code (\d+)")
DEFAULT_FORBID = [r"PANIC", r"\[hv\] exception", r"\[hv\] CPU exception"]


@dataclass
class Case:
    name: str
    config: str                      # path relative to the repository (None: qemu-kernel)
    expect: list                     # [(check name, regex)], each must match a line
    exit_code: int = 0               # hypervisor's code; None: no exit expected
    end_marker: str = None           # regex: stop the emulator when it appears
    emulator: str = "qemu"           # "qemu", "qemu-disk", "bochs", "qemu-iso", "bochs-bios" or "qemu-kernel"
    qemu_args: list = field(default_factory=list)
    timeout: int = 60                # seconds, the whole run
    forbid: list = field(default_factory=lambda: list(DEFAULT_FORBID))
    omit_files: list = field(default_factory=list)  # named files left off the ESP
    slow: bool = False               # only in `make test-full`
    nic_port: int = None             # host port forwarded to the NIC's port 80; 0: any free one
    nic_guest_port: int = 80         # the guest's port that nic_port forwards to (443: HTTPS)
    host_steps: object = None        # fn(port, serial) -> [(check name, ok, detail)]
    host_steps_after: str = None     # regex: run host_steps once a line matches
    report: str = None               # regex: the last line it matches is shown with the result
    log_check: object = None         # fn(lines) -> [(check name, ok, detail)], on the whole serial log
    kernel: str = None               # qemu-kernel: files in build/guests/, and -append
    initrd: str = None
    append: str = ""
    nic: bool = False                # a NIC on QEMU's user network, no host port
    nic_args: str = ""               # appended to the NIC's -device option
    prepare: object = None           # fn(case, workdir) -> (config path, [(check, regex)])
    bochs_cpus: int = 1              # "bochs-bios": CPUs of the machine (cpu: count=)
    serial: bool = True              # False: no serial port at all (-serial none)
    serial_socket: bool = False      # QEMU: the serial port on a unix socket as well (typing)
    loader: str = "EFI/BOOT/BOOTX64.EFI"  # the file of build/esp booted as BOOTX64.EFI


def config_files(path):
    """The files a config names (image =, initrd =, api_cert =, api_key =,
    api_token =, module = FILE ARGS, disk =), in order."""
    names = []
    with open(path, errors="replace") as f:
        for line in f:
            m = re.match(r"\s*(image|initrd|api_cert|api_key|api_token|module|disk)\s*=\s*([^\s#]+)", line)
            if m:
                names.append(m.group(2))
    return names


def build_iso(case, workdir, conf=None):
    """The case's ISO: GRUB, the Multiboot2 loader, the config and the files
    it names that the build produced, as modules.  Bochs's term display
    stops at a graphics mode, so its ISO keeps the text console."""
    return mkiso.make_iso(MB2_LOADER, conf or os.path.join(ROOT, case.config),
                          os.path.join(BUILD, "guests"), os.path.join(workdir, "partita.iso"),
                          omit=case.omit_files, text=case.emulator == "bochs-bios",
                          log=os.path.join(workdir, "mkiso.log"))


def build_esp(case, workdir, conf=None):
    esp = os.path.join(workdir, "esp")
    os.makedirs(os.path.join(esp, "EFI", "BOOT"))
    os.makedirs(os.path.join(esp, "partita"))
    shutil.copy(os.path.join(BUILD, "esp", *case.loader.split("/")),
                os.path.join(esp, "EFI", "BOOT", "BOOTX64.EFI"))
    conf = conf or os.path.join(ROOT, case.config)
    shutil.copy(conf, os.path.join(esp, "partita", "partita.conf"))
    # A file is taken from the config's own folder (a prepared config's
    # work folder), else from the build: guest images, then the management
    # API's generated certificate, key and token (make: build/tls).
    for name in config_files(conf):
        for d in (os.path.dirname(conf), os.path.join(BUILD, "guests"), os.path.join(BUILD, "tls")):
            src = os.path.join(d, name)
            if os.path.isfile(src):
                break
        if name not in case.omit_files and os.path.isfile(src):
            shutil.copy(src, os.path.join(esp, "partita", name))
    return esp


def read_lines(path):
    try:
        with open(path, "rb") as f:
            data = f.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return []
    return [l.rstrip("\r") for l in data.split("\n")]


def serial_socket_path(serial):
    """The unix socket of a serial_socket case, from its serial log's path."""
    return os.path.join(os.path.dirname(serial), "serial.sock")


def free_port():
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# After host steps: how long the serial log may take to show the lines the
# case expects (queued console output) before the emulator is stopped.
EXPECT_SETTLE_S = 15


def wait_run(proc, serial, case, port=None, steps=None):
    """Waits for the run to end.  Returns (how, emulator status, seconds);
    host-side step results are appended to steps."""
    start = time.time()
    end = re.compile(case.end_marker) if case.end_marker else None
    # host_steps without host_steps_after run at once (a machine without a
    # serial port has no line to wait for).
    after = re.compile(case.host_steps_after or "") if case.host_steps else None
    while True:
        status = proc.poll()
        if status is not None:
            return "exited", status, time.time() - start
        lines = read_lines(serial)
        if any(RUN_ENDED.match(l) for l in lines) and case.emulator in BOCHS_EMULATORS:
            stop(proc)
            return "ended", None, time.time() - start
        if end and any(end.search(l) for l in lines):
            stop(proc)
            return "marker", None, time.time() - start
        if after and (not case.host_steps_after or any(after.search(l) for l in lines)):
            try:
                steps += case.host_steps(port, serial)
            except Exception as e:  # a broken step is a failure, not a crash
                steps.append(("host steps", False, f"{type(e).__name__}: {e}"))
            # The guest's lines about the last steps may still be queued
            # (a console drains in its owner's windows at the UART's rate):
            # wait for what the case expects before the emulator stops.
            settle_until = time.time() + EXPECT_SETTLE_S
            while time.time() < settle_until and proc.poll() is None:
                lines = read_lines(serial)
                if all(any(re.search(rx, l) for l in lines) for _, rx in case.expect):
                    break
                time.sleep(0.2)
            stop(proc)
            return "marker", None, time.time() - start
        if time.time() - start > case.timeout:
            stop(proc)
            return "timeout", None, time.time() - start
        time.sleep(0.2)


def stop(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def start_qemu_kernel(case, workdir, serial):
    """QEMU with no firmware of ours and no hypervisor: -kernel boots the
    Multiboot kernel directly (pc machine, qemu64; the case's qemu_args
    come last and may override both)."""
    cmd = ["qemu-system-x86_64", "-nodefaults", "-machine", "pc", "-m", "64M", "-accel", "tcg",
           "-cpu", "qemu64,-svm", "-display", "none", "-serial", f"file:{serial}", "-no-reboot",
           "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
           "-kernel", os.path.join(BUILD, "guests", case.kernel)]
    if case.initrd:
        cmd += ["-initrd", os.path.join(BUILD, "guests", case.initrd)]
    if case.append:
        cmd += ["-append", case.append]
    cmd += case.qemu_args
    with open(os.path.join(workdir, "command"), "w") as f:
        f.write(" ".join(cmd) + "\n")
    return subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(workdir, "qemu.stderr"), "w"),
                            start_new_session=True)


def serial_args(case, serial):
    if not case.serial:
        return ["-serial", "none"]
    if not case.serial_socket:
        return ["-serial", f"file:{serial}"]
    # A server that does not wait for its client: until host_steps
    # connect, the bytes go to the log file only.
    return ["-chardev", f"socket,id=ser0,path={serial_socket_path(serial)},server=on,wait=off,"
            f"logfile={serial}", "-serial", "chardev:ser0"]


def start_qemu(case, workdir, esp, serial, port=None):
    firmware = ["-bios", OVMF]
    if case.emulator == "qemu-disk":
        drive = ["-drive", f"format=raw,file={os.path.join(BUILD, 'partita.img')},snapshot=on"]
    elif case.emulator == "qemu-iso":
        # esp is the ISO; SeaBIOS, QEMU's default firmware, boots its CD.
        firmware = []
        drive = ["-cdrom", esp, "-boot", "d"]
    else:
        drive = ["-drive", f"format=raw,file=fat:rw:{esp}"]
    cmd = ["qemu-system-x86_64", "-nodefaults", "-machine", "q35", "-m", "256M",
           "-accel", "tcg", "-cpu", "qemu64,+svm,+npt"] + firmware + [
           "-display", "none"] + serial_args(case, serial) + [
           "-no-reboot",
           "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"] + drive
    if port is not None or case.nic:
        # The NIC (-nodefaults leaves out only the default one).  OVMF puts
        # its 64-bit BAR near the top of the physical address space (896
        # GiB with QEMU's 40 bits): the partition maps it there.
        fwd = f",hostfwd=tcp:127.0.0.1:{port}-:{case.nic_guest_port}" if port is not None else ""
        cmd += ["-netdev", f"user,id=net0{fwd}",
                "-device", "virtio-net-pci,netdev=net0,disable-legacy=on" + case.nic_args]
    # Later options override earlier ones (e.g. -machine pc, -m 1G), but
    # several -accel options are fallbacks tried in order: a case's own
    # (-accel tcg,thread=multi) replaces the default.
    if "-accel" in case.qemu_args:
        i = cmd.index("-accel")
        del cmd[i:i + 2]
    cmd += case.qemu_args
    with open(os.path.join(workdir, "command"), "w") as f:
        f.write(" ".join(cmd) + "\n")
    return subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(workdir, "qemu.stderr"), "w"),
                            start_new_session=True)


BOCHSRC = """megs: 256
romimage: file={rom}
vgaromimage: file=/usr/share/vgabios/vgabios.bin
pci: enabled=1, chipset=i440fx
{drive}
display_library: term
com1: enabled=1, mode=file, dev=serial.log
log: bochs.log
panic: action=fatal
clock: sync=none, time0=local
cpu: model=corei7_skylake_x, count={cpus}, reset_on_triple_fault=0
speaker: enabled=0
sound: driver=dummy
port_e9_hack: enabled=0
"""


def start_bochs(case, workdir, esp, serial):
    rc = os.path.join(workdir, "bochsrc")
    with open(rc, "w") as f:
        # Paths relative to workdir: Bochs 2.7 overflows a buffer on long ones.
        if case.emulator == "bochs-bios":
            # Bochs's BIOS builds ACPI (FACP, APIC) and MP tables for
            # every CPU; OVMF in Bochs hands over none (PLATFORM.md).
            rom, drive = BOCHS_BIOS, (f"ata0-master: type=cdrom, path={os.path.basename(esp)}, "
                                      "status=inserted\nboot: cdrom")
        else:
            rom, drive = OVMF, ("ata0-master: type=disk, path=esp, mode=vvfat, "
                                "journal=vvfat.redolog\nboot: disk")
        f.write(BOCHSRC.format(rom=rom, drive=drive, cpus=case.bochs_cpus))
    cont = os.path.join(workdir, "continue")
    with open(cont, "w") as f:
        f.write("c\n")
    # Bochs ignores SIGTERM (PLATFORM.md): the harness stops it with SIGKILL.
    # The dummy sound driver: Bochs 2.7's ALSA mixer thread aborts on
    # machines without a sound card ("buffer overflow detected").
    return subprocess.Popen(["bochs", "-q", "-f", rc, "-rc", cont], cwd=workdir,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(workdir, "bochs.stderr"), "w"),
                            start_new_session=True)


def run_case(case):
    """Runs one case; returns [(result name, ok, detail, skipped)]."""
    workdir = os.path.join(BUILD, "test", case.name)
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    serial = os.path.join(workdir, "serial.log")
    conf, extra = None, []
    if case.prepare:
        try:
            conf, extra = case.prepare(case, workdir)
        except Exception as e:  # a failed preparation is the case's failure
            return [(f"{case.name}/prepare", False, f"{type(e).__name__}: {e}", False)]
    try:
        if not (case.config or conf):
            esp = None  # qemu-kernel: no hypervisor, no boot medium
        elif case.emulator in ISO_EMULATORS:
            esp = build_iso(case, workdir, conf)
        else:
            esp = build_esp(case, workdir, conf)
    except (OSError, RuntimeError) as e:  # no loader, no grub-mkrescue: the case fails
        return [(f"{case.name}/boot medium", False, f"{type(e).__name__}: {e}", False)]

    port = None
    if case.nic_port is not None:
        port = case.nic_port or free_port()
    if case.emulator in BOCHS_EMULATORS:
        proc = start_bochs(case, workdir, esp, serial)
    elif case.emulator == "qemu-kernel":
        proc = start_qemu_kernel(case, workdir, serial)
    else:
        proc = start_qemu(case, workdir, esp, serial, port)
    steps = []
    how, status, secs = wait_run(proc, serial, case, port, steps)
    lines = read_lines(serial)

    results = [[f"{case.name}/{n}", bool(ok), d] for n, ok, d in steps]
    if case.host_steps and not steps:
        results.append([f"{case.name}/host steps", False,
                        f"not run: no line matches /{case.host_steps_after}/"])
    for check, pattern in case.expect + extra:
        rx = re.compile(pattern)
        ok = any(rx.search(l) for l in lines)
        results.append([f"{case.name}/{check}", ok, "" if ok else f"no line matches /{pattern}/"])
    if case.log_check:
        results += [[f"{case.name}/{n}", bool(ok), d] for n, ok, d in case.log_check(lines)]

    problems = []
    if how == "timeout":
        problems.append(f"no end within {case.timeout} s")
    forbidden = [l for l in lines for p in case.forbid if re.search(p, l)]
    if forbidden:
        problems.append(f"forbidden line: {forbidden[0]!r}")
    codes = [int(m.group(1)) for m in map(RUN_ENDED.match, lines) if m]
    if case.emulator == "qemu-kernel":
        # No hypervisor to print "run ended": the kernel's own code.
        codes = [status >> 1] if how == "exited" and status is not None and status & 1 else []
    if case.exit_code is None:
        if codes:
            problems.append(f"run ended with code {codes[0]}, expected it to keep running")
    else:
        if not codes:
            problems.append("no 'run ended' line")
        elif codes[0] != case.exit_code:
            problems.append(f"run ended with code {codes[0]}, expected {case.exit_code}")
        if how == "exited" and status != (case.exit_code << 1) | 1:
            problems.append(f"emulator exit status {status}, expected {(case.exit_code << 1) | 1}")
        if how == "marker":
            problems.append("stopped at the end marker, expected an exit")
    results.append([f"{case.name}/clean end", not problems, "; ".join(problems)])

    reported = [l for l in lines if case.report and re.search(case.report, l)]
    if reported:
        results[-1][2] = (results[-1][2] + " | " if results[-1][2] else "") + reported[-1]
    failed = [r for r in results if not r[1]]
    if failed:
        tail = "\n".join("    | " + l for l in lines[-25:])
        failed[-1][2] += f"\n    serial log kept: {serial}\n{tail}"
    else:
        # PARTITA_KEEP_ESP=1 keeps a passing case's ESP too (to boot it again by hand,
        # with its command file, e.g. under a trace).
        if not os.environ.get("PARTITA_KEEP_ESP"):
            shutil.rmtree(os.path.join(workdir, "esp"), ignore_errors=True)
        shutil.rmtree(os.path.join(workdir, "partita.iso.d"), ignore_errors=True)
        if case.emulator in ISO_EMULATORS:
            os.remove(esp)
        results[-1][2] = f"({secs:.1f} s)" + (f" {reported[-1]}" if reported else "")
    return [(n, ok, d, False) for n, ok, d in results]
