"""Boots one integration case in an emulator and checks its serial log.

A case names a config; the harness builds a private ESP folder for it
(BOOTX64.EFI, the config as \\partita\\partita.conf, and every guest image the
config names that the build produced), boots it in QEMU (TCG, OVMF, SVM CPU)
or Bochs (OVMF, Intel VMX CPU model), and reads the serial log.

A run ends when the emulator exits (QEMU's isa-debug-exit: status is
(code << 1) | 1), or when the case's end marker appears on the serial log
(then the harness stops the emulator), or at the time bound (a failure).
A case may also give the machine a NIC (nic_port: QEMU's user network with
a host port on 127.0.0.1 forwarded to the guest's port 80; 0 picks a free
port) and host-side steps (host_steps: called with that port and the serial
log's path once the line host_steps_after appears, while the emulator runs;
it returns [(check name, ok, detail)], reported like the expectations, and
the run then ends as at an end marker).  nic adds the NIC without a host
port; nic_args is appended to its -device option (e.g. ",iommu_platform=on").
A case may also compute its config before the run (prepare: called with the
case and its work folder, returns the config's path and extra expectations).
serial=False boots a machine without a serial port; its host_steps (with no
host_steps_after) run as soon as the emulator has started.

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
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build")
OVMF = "/usr/share/ovmf/OVMF.fd"

RUN_ENDED = re.compile(r"^\[hv\] run ended: code (\d+)")
DEFAULT_FORBID = [r"PANIC", r"\[hv\] exception", r"\[hv\] CPU exception"]


@dataclass
class Case:
    name: str
    config: str                      # path relative to the repository
    expect: list                     # [(check name, regex)], each must match a line
    exit_code: int = 0               # hypervisor's code; None: no exit expected
    end_marker: str = None           # regex: stop the emulator when it appears
    emulator: str = "qemu"           # "qemu", "qemu-disk" or "bochs"
    qemu_args: list = field(default_factory=list)
    timeout: int = 60                # seconds, the whole run
    forbid: list = field(default_factory=lambda: list(DEFAULT_FORBID))
    omit_files: list = field(default_factory=list)  # named files left off the ESP
    slow: bool = False               # only in `make test-full`
    nic_port: int = None             # host port forwarded to the NIC's port 80; 0: any free one
    host_steps: object = None        # fn(port, serial) -> [(check name, ok, detail)]
    host_steps_after: str = None     # regex: run host_steps once a line matches
    nic: bool = False                # a NIC on QEMU's user network, no host port
    nic_args: str = ""               # appended to the NIC's -device option
    prepare: object = None           # fn(case, workdir) -> (config path, [(check, regex)])
    serial: bool = True              # False: no serial port at all (-serial none)
    loader: str = "EFI/BOOT/BOOTX64.EFI"  # the file of build/esp booted as BOOTX64.EFI


def config_files(path):
    """The files a config names (image =, initrd =), in order."""
    names = []
    with open(path, errors="replace") as f:
        for line in f:
            m = re.match(r"\s*(image|initrd)\s*=\s*([^\s#]+)", line)
            if m:
                names.append(m.group(2))
    return names


def build_esp(case, workdir, conf=None):
    esp = os.path.join(workdir, "esp")
    os.makedirs(os.path.join(esp, "EFI", "BOOT"))
    os.makedirs(os.path.join(esp, "partita"))
    shutil.copy(os.path.join(BUILD, "esp", *case.loader.split("/")),
                os.path.join(esp, "EFI", "BOOT", "BOOTX64.EFI"))
    conf = conf or os.path.join(ROOT, case.config)
    shutil.copy(conf, os.path.join(esp, "partita", "partita.conf"))
    for name in config_files(conf):
        src = os.path.join(BUILD, "guests", name)
        if name not in case.omit_files and os.path.exists(src):
            shutil.copy(src, os.path.join(esp, "partita", name))
    return esp


def read_lines(path):
    try:
        with open(path, "rb") as f:
            data = f.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return []
    return [l.rstrip("\r") for l in data.split("\n")]


def free_port():
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
        if any(RUN_ENDED.match(l) for l in lines) and case.emulator == "bochs":
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


def start_qemu(case, workdir, esp, serial, port=None):
    if case.emulator == "qemu-disk":
        drive = ["-drive", f"format=raw,file={os.path.join(BUILD, 'partita.img')},snapshot=on"]
    else:
        drive = ["-drive", f"format=raw,file=fat:rw:{esp}"]
    cmd = ["qemu-system-x86_64", "-nodefaults", "-machine", "q35", "-m", "256M",
           "-accel", "tcg", "-cpu", "qemu64,+svm,+npt", "-bios", OVMF,
           "-display", "none", "-serial", f"file:{serial}" if case.serial else "none",
           "-no-reboot",
           "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"] + drive
    if port is not None or case.nic:
        # The NIC (-nodefaults leaves out only the default one).  OVMF puts
        # its 64-bit BAR near the top of the physical address space (896
        # GiB with QEMU's 40 bits): the partition maps it there.
        fwd = f",hostfwd=tcp:127.0.0.1:{port}-:80" if port is not None else ""
        cmd += ["-netdev", f"user,id=net0{fwd}",
                "-device", "virtio-net-pci,netdev=net0,disable-legacy=on" + case.nic_args]
    # Later options override earlier ones (e.g. -machine pc, -m 1G).
    cmd += case.qemu_args
    with open(os.path.join(workdir, "command"), "w") as f:
        f.write(" ".join(cmd) + "\n")
    return subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(workdir, "qemu.stderr"), "w"),
                            start_new_session=True)


BOCHSRC = """megs: 256
romimage: file={ovmf}
vgaromimage: file=/usr/share/vgabios/vgabios.bin
pci: enabled=1, chipset=i440fx
ata0-master: type=disk, path=esp, mode=vvfat, journal=vvfat.redolog
boot: disk
display_library: term
com1: enabled=1, mode=file, dev=serial.log
log: bochs.log
panic: action=fatal
clock: sync=none, time0=local
cpu: model=corei7_skylake_x, reset_on_triple_fault=0
speaker: enabled=0
sound: driver=dummy
port_e9_hack: enabled=0
"""


def start_bochs(case, workdir, esp, serial):
    rc = os.path.join(workdir, "bochsrc")
    with open(rc, "w") as f:
        # Paths relative to workdir: Bochs 2.7 overflows a buffer on long ones.
        f.write(BOCHSRC.format(ovmf=OVMF))
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
    esp = build_esp(case, workdir, conf)

    port = None
    if case.nic_port is not None:
        port = case.nic_port or free_port()
    if case.emulator == "bochs":
        proc = start_bochs(case, workdir, esp, serial)
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

    problems = []
    if how == "timeout":
        problems.append(f"no end within {case.timeout} s")
    forbidden = [l for l in lines for p in case.forbid if re.search(p, l)]
    if forbidden:
        problems.append(f"forbidden line: {forbidden[0]!r}")
    codes = [int(m.group(1)) for m in map(RUN_ENDED.match, lines) if m]
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

    failed = [r for r in results if not r[1]]
    if failed:
        tail = "\n".join("    | " + l for l in lines[-25:])
        failed[-1][2] += f"\n    serial log kept: {serial}\n{tail}"
    else:
        shutil.rmtree(os.path.join(workdir, "esp"), ignore_errors=True)
        results[-1][2] = f"({secs:.1f} s)"
    return [(n, ok, d, False) for n, ok, d in results]
