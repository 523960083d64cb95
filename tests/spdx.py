#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Every source file of the tree carries an SPDX line naming its licence.

  spdx.py          lists the tracked source files without one (exit 1 if any)
  spdx.py --add    adds the line to each of them, in its comment syntax
"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TAG = "SPDX-License-Identifier: BSD-2-Clause"
C_LIKE = (".c", ".h", ".S", ".ld", ".css", ".js")
HASH = (".py", ".sh", "Makefile", ".ci/run", "guests/linux/init", ".gitignore", ".clang-format")


def sources():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    return [f for f in files if f.endswith(C_LIKE) or f.endswith(HASH)]


def has_tag(path):
    with open(os.path.join(ROOT, path), errors="replace") as f:
        return any(TAG.split(":")[0] in line for _, line in zip(range(5), f))


def add_tag(path):
    full = os.path.join(ROOT, path)
    with open(full) as f:
        text = f.read()
    if path.endswith(C_LIKE):
        text = f"/* {TAG} */\n" + text
    else:
        lines = text.split("\n", 1)
        if lines[0].startswith("#!"):
            text = lines[0] + f"\n# {TAG}\n" + (lines[1] if len(lines) > 1 else "")
        else:
            text = f"# {TAG}\n" + text
    with open(full, "w") as f:
        f.write(text)


def main():
    missing = [p for p in sources() if not has_tag(p)]
    if "--add" in sys.argv:
        for p in missing:
            add_tag(p)
        print(f"spdx: added the line to {len(missing)} files")
        return 0
    for p in missing:
        print(f"{p}: no '{TAG}' line in its first 5 lines (tests/spdx.py --add adds it)")
    print(f"spdx: {len(missing)} of {len(sources())} source files without an SPDX line")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
