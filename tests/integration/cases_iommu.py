# SPDX-License-Identifier: BSD-2-Clause
"""Integration cases of DMA isolation (drivers/iommu.h, kernel/dma.h), in
QEMU with `-device amd-iommu` and, separately, `-device intel-iommu` (q35).

- The management partition serves its API with `trusted` removed: its NIC
  (virtio-net with iommu_platform=on) is isolated by the IOMMU.
- The DMA attack (guests/dmaattack) aims its NIC at a victim partition's RAM
  and at the hypervisor's code, reading and writing; every attack is
  blocked, reported with device and partition (and, on VT-d, address), and
  restarts the attacker (its on_fault); the victim hashes its memory before
  and after, from inside, and finds it unchanged.  The host addresses the
  attacker aims at are learned from a first boot of the same config on the
  same machine (prepare), then written into its cmdline.
- The same attack on a machine without an IOMMU, by a trusted partition,
  does reach the victim: the check above can fail.
- Without an IOMMU, a device still needs `trusted`, and the boot log says
  why; a virtio device without iommu_platform bypasses the IOMMU, so it also
  needs `trusted`, and works as before.

Bochs has no IOMMU: there are no Bochs cases here.
"""
import dataclasses
import os
import re

from harness import ROOT, Case, DEFAULT_FORBID, read_lines, build_esp, start_qemu, \
    wait_run
from cases_mgmt import READY, FORBID as MGMT_FORBID, api_steps

CONF = "tests/integration/configs/"
PLACEHOLDER = "victim=0x0000000000000000 hv=0x0000000000000000"
ATTACKS = ["tx-victim", "rx-victim", "tx-hv", "rx-hv"]
IOMMU_NIC = ",iommu_platform=on"


def learn_targets(case, workdir):
    """Boots the case's config as it is (the attacker has no targets), reads
    where the hypervisor and the victim's buffer are, and writes the config
    with those addresses in the attacker's cmdline (same length: the second
    boot places everything as the first did, which the returned
    expectations check)."""
    learn_dir = os.path.join(workdir, "learn")
    os.makedirs(learn_dir)
    learn = dataclasses.replace(case, name=case.name + "-learn", prepare=None,
                                end_marker=r"^\[victim\] buffer at gpa", timeout=120)
    src = os.path.join(ROOT, case.config)
    serial = os.path.join(learn_dir, "serial.log")
    proc = start_qemu(learn, learn_dir, build_esp(learn, learn_dir, src), serial)
    how, _, _ = wait_run(proc, serial, learn)
    text = "\n".join(read_lines(serial))
    core = re.search(r"^\[hv\] boot: .* core at (0x[0-9a-f]+)", text, re.M)
    host = re.search(r"^\[hv\] partition victim: \d+ MiB at host (0x[0-9a-f]+)", text, re.M)
    page = re.search(r"^\[victim\] buffer at gpa .* last page at gpa (0x[0-9a-f]+)", text, re.M)
    mem = re.search(r"^\[hv\] partition dmaattack: (\d+) MiB at host", text, re.M)
    if how != "marker" or not (core and host and page and mem):
        raise RuntimeError(f"learning boot ({how}) did not show the placements; log {serial}")
    victim = int(host.group(1), 16) + int(page.group(1), 16)
    hv = int(core.group(1), 16)
    # The attacker's I/O addresses run up to its RAM and its channel (2 MiB
    # aligned): a target below that would be its own memory.
    own_end = (int(mem.group(1)) << 20) + (2 << 20)
    if victim < own_end or hv < own_end:
        raise RuntimeError(f"targets {victim:#x}, {hv:#x} fall inside the attacker's own "
                           f"guest-physical range (below {own_end:#x}): the test would not leave it")
    with open(src) as f:
        conf = f.read()
    if PLACEHOLDER not in conf:
        raise RuntimeError(f"{case.config} has no '{PLACEHOLDER}'")
    filled = conf.replace(PLACEHOLDER, f"victim={victim:#018x} hv={hv:#018x}")
    path = os.path.join(workdir, "partita.conf")
    with open(path, "w") as f:
        f.write(filled)
    same = [("victim placed as in the learning boot",
             rf"^\[hv\] partition victim: \d+ MiB at host {host.group(1)},"),
            ("hypervisor placed as in the learning boot", rf"core at {core.group(1)} ")]
    return path, same, victim, hv


def prepare_vtd(case, workdir):
    path, same, victim, hv = learn_targets(case, workdir)
    # VT-d's fault records name the address and the direction.
    addr = [(f"fault: {what} of {target:#x} reported", rf"^\[hv\] iommu: DMA fault: device "
             rf"00:0\d\.0 \(partition dmaattack\), {what} of {target:#x}: ")
            for what, target in [("read", victim), ("write", victim), ("read", hv), ("write", hv)]]
    return path, same + addr


def prepare_amd(case, workdir):
    path, same, _, _ = learn_targets(case, workdir)
    return path, same


def prepare_plain(case, workdir):
    path, same, _, _ = learn_targets(case, workdir)
    return path, same


ATTACK_FORBID = DEFAULT_FORBID + [r"was not stopped", r"memory CHANGED", r"FAIL"]


def attack_expect(vendor):
    e = [(f"{vendor} on, every device blocked", rf"^\[hv\] iommu: {vendor} at 0x[0-9a-f]+ .*: on"),
         ("attacker isolated without trust", rf"^\[hv\] partition dmaattack: DMA of its device\(s\) "
                                             rf"through the IOMMU \({vendor}\), .*dma_offset 0$"),
         ("attacker sees dma_offset 0", r"^\[dmaattack\] boot 1: dma_offset 0, victim 0x[0-9a-f]+")]
    for k, name in enumerate(ATTACKS, 1):
        e.append((f"attack {k} ({name}) launched in boot {k}",
                  rf"^\[dmaattack\] attack {k} \({name}\): the device is told"))
        e.append((f"attack {k} blocked: on_fault restarts the attacker",
                  rf"^\[hv\] partition dmaattack restarted \(restart {k}\)$"))
    e += [("fault stops the attacker, names its device",
           r"^\[hv\] partition dmaattack stopped: DMA .*by device 00:0\d\.0 blocked by the IOMMU"),
          ("fault reported with device and partition",
           r"^\[hv\] iommu: DMA fault: device 00:0\d\.0 \(partition dmaattack\)"),
          ("the attacker ran out of attacks", r"^\[dmaattack\] all 4 attacks done$"),
          ("victim's memory unchanged, by its own hash",
           r"^\[victim\] memory unchanged after the attack \(hash [0-9a-f]{16}\)$")]
    return e


def mgmt_expect(vendor):
    return [("listening", READY),
            ("NIC isolated by the IOMMU, not trusted",
             rf"^\[hv\] partition mgmt: DMA of its device\(s\) through the IOMMU \({vendor}\), "
             r"domain \d+ .*dma_offset 0$"),
            ("the driver accepted VIRTIO_F_ACCESS_PLATFORM",
             r"^\[mgmt\] virtio-net 00:\d\d\.\d 1af4:1041: MAC 52:54:00:12:34:56, features 0x3\d*"),
            ("list request logged", r"^\[mgmt\] GET /api/partitions 200$"),
            ("spin restarted by mgmt", r"restarted by partition mgmt")]


CASES = [
    Case("mgmt-api-amd-iommu", CONF + "mgmt-iommu.conf", mgmt_expect("AMD-Vi"),
         exit_code=None, nic_port=0, nic_args=IOMMU_NIC, qemu_args=["-device", "amd-iommu"],
         host_steps=api_steps, host_steps_after=READY, timeout=240,
         forbid=MGMT_FORBID + [r"iommu: DMA fault"]),
    Case("mgmt-api-intel-iommu", CONF + "mgmt-iommu.conf", mgmt_expect("VT-d"),
         exit_code=None, nic_port=0, nic_args=IOMMU_NIC, qemu_args=["-device", "intel-iommu"],
         host_steps=api_steps, host_steps_after=READY, timeout=240,
         forbid=MGMT_FORBID + [r"iommu: DMA fault"]),
    Case("dma-attack-amd-iommu", CONF + "dmaattack.conf",
         attack_expect("AMD-Vi") + [
             # QEMU 7.2's AMD-Vi records no event (amd_iommu.c): the blocked
             # request is seen as a target abort and its device inferred.
             ("blocked request seen without an event", r"^\[hv\] iommu: a DMA request was blocked "
              r"\(request target-aborted, not in the event log\); 00:0\d\.0 is the only bus master")],
         exit_code=0, nic=True, nic_args=IOMMU_NIC, qemu_args=["-device", "amd-iommu"],
         prepare=prepare_amd, timeout=300, forbid=ATTACK_FORBID),
    Case("dma-attack-intel-iommu", CONF + "dmaattack.conf", attack_expect("VT-d"),
         exit_code=0, nic=True, nic_args=IOMMU_NIC, qemu_args=["-device", "intel-iommu"],
         prepare=prepare_vtd, timeout=300, forbid=ATTACK_FORBID),
    # MSI injection: the NIC writes a frame's first bytes to 0xfee00000,
    # an interrupt with vector 0x9a.  AMD-Vi's remapping target-aborts it
    # (the hypervisor sees nothing); QEMU 7.2's VT-d delivers it despite
    # remapping (it ignores compatibility-format blocking), and the
    # hypervisor drops the unexpected vector instead of stopping.
    Case("dma-msi-injection-amd-iommu", CONF + "dmaattack-msi.conf",
         [("the attack ran", r"^\[dmaattack\] attack 1 \(msi\): the device is told"),
          ("the attacker went on", r"^\[dmaattack\] all 1 attacks done$"),
          ("victim unchanged", r"^\[victim\] memory unchanged after the attack")],
         exit_code=0, nic=True, nic_args=IOMMU_NIC, qemu_args=["-device", "amd-iommu"],
         prepare=prepare_plain, timeout=300,
         forbid=DEFAULT_FORBID + [r"unexpected interrupt", r"memory CHANGED"]),
    Case("dma-msi-injection-intel-iommu", CONF + "dmaattack-msi.conf",
         [("remapping on", r"^\[hv\] iommu: VT-d .*MSIs blocked \(empty remapping table: only routed ones get entries\)$"),
          ("the MSI arrived anyway, dropped", r"^\[hv\] unexpected interrupt: vector 154 \(0x9a\) dropped"),
          ("the attacker went on", r"^\[dmaattack\] all 1 attacks done$"),
          ("victim unchanged", r"^\[victim\] memory unchanged after the attack")],
         exit_code=0, nic=True, nic_args=IOMMU_NIC, qemu_args=["-device", "intel-iommu"],
         prepare=prepare_plain, timeout=300, forbid=DEFAULT_FORBID + [r"memory CHANGED"]),
    # The control: no IOMMU, the attacker trusted (else it would not run):
    # the same device programming reaches the victim, whose hash changes.
    Case("dma-attack-without-iommu-reaches-victim", CONF + "dmaattack-trusted.conf",
         [("no IOMMU, said so", r"^\[hv\] iommu: none in the ACPI tables"),
          ("trusted: DMA not isolated", r"^\[hv\] partition dmaattack: DMA of device 00:0\d\.0 is not "
                                        r"isolated \(there is no IOMMU\): trusted"),
          ("the attack is not stopped", r"^\[dmaattack\] attack 1 \(rx-victim\) was not stopped: "
                                        r"[1-9]\d* frame\(s\) written"),
          ("the victim's hash changes", r"^\[victim\] memory CHANGED by the attack")],
         exit_code=1, nic=True, prepare=prepare_plain, timeout=300),
    # Without an IOMMU the old rule stays: an untrusted owner is refused,
    # with the reason, and the others run.
    Case("device-without-iommu-needs-trusted", CONF + "mgmt-iommu.conf",
         [("no IOMMU, said so", r"^\[hv\] iommu: none in the ACPI tables"),
          ("refused, with the reason", r"^\[hv\] partition mgmt: device 00:0\d\.0 is refused: its DMA "
                                       r"would reach all memory \(there is no IOMMU\); only a partition "
                                       r"declared 'trusted = yes' may own it"),
          ("left stopped", r"^\[hv\] partition mgmt: left stopped$"),
          ("others run", r"^\[hello\] hello from partition 0")],
         exit_code=None, nic=True, end_marker=r"^\[hello\] hello from partition 0", timeout=90),
    # A virtio NIC without iommu_platform bypasses the IOMMU (QEMU, and the
    # virtio spec without ACCESS_PLATFORM): trusted, it works as before
    # (its API over plain HTTP, as mgmt-iommu.conf's).
    Case("mgmt-virtio-bypassing-iommu-trusted", CONF + "mgmt-plain.conf",
         [("listening", READY),
          ("not isolated, and why", r"^\[hv\] partition mgmt: DMA of device 00:0\d\.0 is not isolated "
                                    r"\(it is a virtio device without VIRTIO_F_ACCESS_PLATFORM, which "
                                    r"bypasses the IOMMU\): trusted, it reaches all memory; "
                                    r"dma_offset 0x[1-9a-f][0-9a-f]*$"),
          ("list request logged", r"^\[mgmt\] GET /api/partitions 200$")],
         exit_code=None, nic_port=0, qemu_args=["-device", "amd-iommu"],
         host_steps=api_steps, host_steps_after=READY, timeout=240, forbid=MGMT_FORBID),
]
