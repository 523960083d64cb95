#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Checks the core's layering on the built objects, and the guests' includes.

The core is a stack of layers (README, "Layers").  A file may call functions
of its own layer and of the layers below it, never of a layer above, and no
two files may call each other in a cycle.  Calls are read from the objects
themselves (`nm`: each undefined function symbol resolved to the object that
defines it), so what is checked is what the linker links, not what a header
declares.  References to data, such as a kind's table of hooks, are not
calls: generic code reaches a kind's code only through those hooks.

A guest includes only the ABI (kernel/abi/) and the freestanding library
(kernel/lib/) from the core.

Usage: check_layers.py [BUILD_DIR]   (default build/core)
Exit status 0 when every rule holds; else it lists each broken rule.
"""
import collections
import fnmatch
import glob
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Bottom to top.  Patterns match object paths without ".o".
LAYERS = [
    ("library", ["kernel/lib/*", "kernel/errno"]),
    ("machine and services",
     ["arch/x86/isr", "arch/x86/traps", "arch/x86/gdt",
      "arch/x86/lapic", "arch/x86/tsc", "arch/x86/clock", "arch/x86/fpu",
      "arch/x86/paging", "arch/x86/pagetable", "arch/x86/vcpu_state",
      "arch/x86/*", "drivers/*",
      "fbfont", "kernel/console", "kernel/log", "kernel/palloc", "kernel/memory",
      "kernel/config"]),
    ("virtualization back ends", ["kernel/virt", "arch/x86/svm/*", "arch/x86/vmx/*"]),
    ("partition resources and device models",
     ["kernel/cpu_policy", "kernel/guest_mem", "kernel/image", "kernel/channel", "kernel/dma", "kernel/devirq",
      "kernel/schedule", "kernel/lateness", "kernel/hvm/hvm", "kernel/hvm/v*", "kernel/hvm/decode",
      "kernel/hvm/acpi_tables", "kernel/hvm/linux_boot", "kernel/hvm/multiboot"]),
    ("life cycle", ["kernel/partition", "kernel/kind"]),
    ("screen", ["kernel/screen"]),
    ("kinds", ["kernel/pv", "kernel/pv_image", "kernel/hypercall", "kernel/control_info",
               "kernel/hvm/platform", "kernel/hvm/boot", "kernel/hvm/disk"]),
    ("exit path", ["kernel/vmexit"]),
    ("scheduler", ["kernel/sched"]),
    ("boot", ["kernel/main", "arch/x86/entry"]),
]

# Pairs that may call each other: one unit split by language.
ALLOWED_CYCLES = [{"arch/x86/isr", "arch/x86/traps"}]


def layer_of(name):
    for i, (_, patterns) in enumerate(LAYERS):
        if name in patterns:
            return i
    for i, (_, patterns) in enumerate(LAYERS):
        if any(fnmatch.fnmatchcase(name, p) for p in patterns):
            return i
    return None


def call_graph(build):
    defs, uses = {}, collections.defaultdict(set)
    for o in glob.glob(os.path.join(build, "**", "*.o"), recursive=True):
        name = os.path.relpath(o, build)[:-2]
        out = subprocess.run(["nm", o], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] == "T":
                defs[parts[2]] = name
            elif len(parts) == 2 and parts[0] == "U":
                uses[name].add(parts[1])
        uses.setdefault(name, set())
    edges = collections.defaultdict(dict)
    for name, syms in uses.items():
        for s in sorted(syms):
            d = defs.get(s)
            if d and d != name:
                edges[name].setdefault(d, s)
    return sorted(uses), edges


def cycles(nodes, edges):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    sys.setrecursionlimit(10000)
    for v in nodes:
        if v not in index:
            visit(v)
    return out


GUEST_INCLUDE = re.compile(r'^\s*#\s*include\s+"((?:kernel|arch|drivers|boot)/[^"]+)"')


def guest_include_errors():
    errors = []
    for path in sorted(glob.glob(os.path.join(ROOT, "guests", "**", "*.[chS]"), recursive=True)):
        with open(path, errors="replace") as f:
            for n, line in enumerate(f, 1):
                m = GUEST_INCLUDE.match(line)
                if m and not m.group(1).startswith(("kernel/abi/", "kernel/lib/")):
                    errors.append(f"{os.path.relpath(path, ROOT)}:{n}: a guest includes "
                                  f"{m.group(1)}; guests may include only kernel/abi/ and kernel/lib/")
    return errors


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "core")
    nodes, edges = call_graph(build)
    if not nodes:
        print(f"check_layers: no objects under {build}; build the core first")
        return 1
    errors = []
    for n in nodes:
        if layer_of(n) is None:
            errors.append(f"{n}: in no layer; add it to LAYERS in tests/check_layers.py "
                          "and to the README's Layers section")
    for n in nodes:
        ln = layer_of(n)
        for d, sym in sorted(edges.get(n, {}).items()):
            ld = layer_of(d)
            if ln is not None and ld is not None and ld > ln:
                errors.append(f"{n} ({LAYERS[ln][0]}) calls {sym}() of {d} "
                              f"({LAYERS[ld][0]}), a layer above it")
    for comp in cycles(nodes, edges):
        if comp not in ALLOWED_CYCLES:
            errors.append("cycle of calls between " + ", ".join(sorted(comp)))
    errors += guest_include_errors()
    for e in errors:
        print(e)
    print(f"check_layers: {len(nodes)} objects, {sum(len(v) for v in edges.values())} "
          f"file-to-file call edges, {len(errors)} broken rules")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
