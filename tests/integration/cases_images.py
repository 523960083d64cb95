# SPDX-License-Identifier: BSD-2-Clause
"""Images and instances (kernel/image.h): partitions that share one image,
each above its own private layer of copies.

The checks recompute from build/guests/instance.elf what the hypervisor
must have shared (the pages of every segment's file bytes) and its hash,
and compare the hypervisor's own page counts with what separate loads take.
"""
import json
import os
import re
import struct

from harness import Case
import cases_mgmt

CONF = "tests/integration/configs/"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ELF = os.path.join(ROOT, "build", "guests", "instance.elf")
PAGE = 4096
MEM_PAGES = 2 * 1024 * 1024 // PAGE  # memory = 2M


def image_pages(path=ELF):
    """(lo, hi, bytes) of the shared range as kernel/image.c builds it:
    every PT_LOAD's file bytes at their physical addresses, page aligned,
    the rest zero."""
    data = open(path, "rb").read()
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    segs = []
    for i in range(phnum):
        ptype, _flags, off, _vaddr, paddr, filesz, memsz = struct.unpack_from(
            "<IIQQQQQ", data, phoff + i * phentsize)
        if ptype == 1 and memsz and filesz:
            segs.append((paddr, data[off:off + filesz]))
    lo = min(p for p, _ in segs) // PAGE * PAGE
    hi = -(-max(p + len(b) for p, b in segs) // PAGE) * PAGE
    img = bytearray(hi - lo)
    for p, b in segs:
        img[p - lo:p - lo + len(b)] = b
    return lo, hi, bytes(img)


def image_hash(img):
    """FNV-1a 64 over little-endian 64-bit words (kernel/image.c)."""
    h = 0xcbf29ce484222325
    for (w,) in struct.iter_unpack("<Q", img):
        h = ((h ^ w) * 0x100000001b3) & 0xffffffffffffffff
    return h


def instances_check(count, extra_budgets):
    """The log's page counts against separate loads, and the hash."""
    def check(lines):
        lo, hi, img = image_pages()
        shared = (hi - lo) // PAGE
        want_hash = image_hash(img)
        text = "\n".join(lines)
        res = []
        m = re.search(r"^\[hv\] image instance\.elf: loaded once, (\d+) pages shared "
                      r"\(guest-physical (0x[0-9a-f]+)-(0x[0-9a-f]+)\), hash (0x[0-9a-f]+)$",
                      text, re.M)
        res.append(("image loaded once, its pages as the ELF says", bool(m) and
                    int(m.group(1)) == shared and int(m.group(2), 16) == lo and
                    int(m.group(3), 16) == hi,
                    f"ELF: {shared} pages {lo:#x}-{hi:#x}; log: {m.groups() if m else None}"))
        res.append(("hash at load is the ELF's", bool(m) and int(m.group(4), 16) == want_hash,
                    f"ELF {want_hash:#x}, log {m.group(4) if m else None}"))
        loads = len(re.findall(r"^\[hv\] image instance\.elf: loaded once", text, re.M))
        res.append(("loaded exactly once", loads == 1, f"{loads} loads"))
        r = re.search(r"^\[hv\] image instance\.elf: (\d+) instances hold (\d+) pages \((\d+) "
                      r"shared once, (\d+) private, (\d+) budget\); as \d+ separate loads "
                      r"(\d+) pages, (\d+) saved$", text, re.M)
        n = count + len(extra_budgets)
        budgets = count * 4 + sum(min(b, shared) for b in extra_budgets)
        ok = bool(r)
        if r:
            inst, held, once, priv, budget, whole, saved = map(int, r.groups())
            ok = (inst == n and once == shared and priv == n * (MEM_PAGES - shared) and
                  budget == budgets and held == shared + priv + budget and
                  whole == n * MEM_PAGES and saved == whole - held and
                  saved == (n - 1) * shared - budget)
        res.append(("hypervisor's page counts: the image once, private layers, budgets",
                    ok, r.group(0) if r else "no report line"))
        e = re.findall(r"^\[hv\] image instance\.elf: shared pages' hash at the end "
                       r"(0x[0-9a-f]+), (.*)$", text, re.M)
        res.append(("shared pages' hash unchanged at the end", len(e) == 1 and
                    int(e[0][0], 16) == want_hash and e[0][1] == "unchanged since load",
                    str(e)))
        return res
    return check


def inst_checks(prefix, count):
    per = []
    for i in range(count):
        per += [
            (f"inst-{i} is an instance",
             rf"^\[hv\] partition inst-{i}: instance of image instance\.elf: (\d+) pages shared, "
             rf"\d+ private, cow budget 4 pages$"),
            (f"inst-{i} sees the image's data, then its own",
             rf"^\[inst-{i}\] own data ok after 10 rounds$"),
            (f"inst-{i} made 4 copies",
             rf"^\[inst-{i}\] memory after writing: shared (\d+) private (\d+) budget 4 copies 4 "),
            (f"inst-{i} restart drops its layer",
             rf"^\[inst-{i}\] memory at start: shared (\d+) private \d+ budget 4 copies 0 faults 4 "),
            (f"inst-{i} second boot sees the image's data",
             rf"^\[inst-{i}\] boot 2: fresh layer ok"),
        ]
    return per + [
        ("writer copied every page",
         r"^\[writer\] memory after writing everywhere: shared 0 private 512 budget (\d+) "
         r"copies \1 faults \1 "),
        ("greedy stopped when its budget ran out",
         r"^\[hv\] partition greedy stopped: write to shared image page 0x[0-9a-f]+ \(rip "
         r"0x[0-9a-f]+\): its cow_budget of 2 pages is used up$"),
        ("greedy wrote two pages first", r"^\[greedy\] writing big table page 2$"),
        ("greedy restarted", r"^\[greedy\] boot 2 after its budget ran out$"),
        ("run ends", r"^\[hv\] run ended: code 0 "),
    ]


def api_memory_steps(port, serial):
    """GET /api/partitions (public read): each instance's pages by layer."""
    t = cases_mgmt.Target(port, tls=False)
    results = cases_mgmt.server_answers(t)
    if not results[-1][1]:
        return results
    shared = (image_pages()[1] - image_pages()[0]) // PAGE

    def layers():
        code, status, body, _ = cases_mgmt.curl(t, "/api/partitions", tok=False)
        ps = {p["name"]: p for p in json.loads(body)["partitions"]}
        bad = []
        for n in ("web-0", "web-1"):
            m = ps[n]["memory"]
            if not (m["instance"] and m["copy_pages"] == 4 and m["budget_pages"] == 4 and
                    m["shared_pages"] == shared - 4 and
                    m["shared_pages"] + m["private_pages"] == MEM_PAGES and m["cow_faults"] == 4):
                bad.append(f"{n}: {m}")
        m = ps["mgmt"]["memory"]
        if m["instance"] or m["shared_pages"] or m["private_pages"] != 8 * 256:
            bad.append(f"mgmt: {m}")
        return not bad and status == 200, "; ".join(bad) or body[:200]
    cases_mgmt.step(results, "API: instances' shared and private pages", layers)
    return results


FORBID = [r"PANIC", r"\[hv\] exception", r"\[hv\] CPU exception", r"FAIL",
          r"CHANGED since load", r"page 3$"]

CASES = [
    Case("instances-8", CONF + "instances.conf", inst_checks("", 8), timeout=120,
         forbid=FORBID, log_check=instances_check(8, [32, 2])),
    # The management API's view of the layers (plain HTTP, public read).
    Case("mgmt-instances", CONF + "mgmt-instances.conf",
         [("listening", cases_mgmt.READY),
          ("web-0 idle", r"^\[web-0\] idle with its data written$"),
          ("web-1 idle", r"^\[web-1\] idle with its data written$")],
         exit_code=None, nic_port=0, host_steps=api_memory_steps,
         host_steps_after=r"^\[web-1\] idle with its data written$", timeout=300,
         forbid=cases_mgmt.FORBID),
    # The same on Intel VMX: EPT violations instead of nested page faults.
    Case("vmx-instances-8", CONF + "vmx-instances.conf", inst_checks("", 8), emulator="bochs",
         timeout=600, forbid=FORBID, log_check=instances_check(8, [32, 2])),
]

# Run-time partitions in slots (HC_PARTITION_CREATE / HC_PARTITION_DESTROY).
CASES += [
    Case("slots-create-destroy", CONF + "creator.conf",
         [("slots free at boot", r"^\[hv\] slot s0: free, cpu 0, 2 MiB, for partitions made at run time$"),
          ("error answers", r"^\[creator\] error answers ok, free pages unchanged$"),
          ("created", r"^\[hv\] partition child created in slot s0 from instance\.elf by partition creator$"),
          ("it runs", r"^\[child\] hello from child, made at run time \(boot 1\)$"),
          ("destroyed", r"^\[hv\] partition child destroyed by partition creator, slot s0 free$"),
          ("memory back after one", r"^\[creator\] created, ran, destroyed: free pages back at \d+$"),
          ("1000 cycles at the baseline",
           r"^\[creator\] 1000 create/destroy cycles: free pages back at the start's \d+$")],
         timeout=300, forbid=FORBID),
]
