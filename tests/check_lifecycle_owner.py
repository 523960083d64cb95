#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Fails if a file of kernel/ other than kernel/partition.c writes a
partition's life-cycle fields (issue 9: "state and the scheduling flags are
assigned only in kernel/partition.c").

The fields are those of the "Life cycle: partition.c only." block of struct
partition in kernel/partition.h, read from there, so a field added to the
block is checked too.  The check is on clang's AST (clang-query), so only
fields of struct partition count: a write is an assignment (=, +=, |=, ...)
to one, ++ or --, taking its address, or passing it as the destination of
strlcpy, memcpy, memset, snprintf and the like.  A file clang cannot parse
fails the check.

The checker first checks itself on snippets it must and must not report.

    check_lifecycle_owner.py [ROOT]
"""
import os
import re
import subprocess
import sys
import tempfile

OWNER = "kernel/partition.c"
BLOCK = "/* Life cycle: partition.c only. */"
FLAGS = ["-std=gnu11", "-ffreestanding", "-I."]
FILLERS = ["strlcpy", "strcpy", "strncpy", "memcpy", "memmove", "memset", "snprintf",
           "vsnprintf", "sprintf"]


def life_cycle_fields(header_text):
    """The field names declared in the life-cycle block of struct partition."""
    start = header_text.index(BLOCK) + len(BLOCK)
    block = header_text[start:].split("\n\n", 1)[0]
    block = strip(block)
    fields = []
    for decl in block.split(";"):
        m = re.search(r"([A-Za-z_]\w*)\s*(\[[^\]]*\])?\s*$", decl.strip())
        if m:
            fields.append(m.group(1))
    if not fields:
        raise SystemExit("check_lifecycle_owner: no fields found in the life-cycle block")
    return fields


def strip(text):
    """C text without comments, string and character literals (kept as
    spaces, so line numbers stay)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(" " * (j + 1 - i))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def query(fields):
    names = ", ".join(f'"{f}"' for f in fields)
    fillers = ", ".join(f'"{f}"' for f in FILLERS)
    m = ("memberExpr(member(fieldDecl(hasAnyName(" + names +
         "), hasParent(recordDecl(hasName(\"partition\"))))))")
    return ("set output diag\n"
            "match expr(anyOf("
            f"binaryOperator(isAssignmentOperator(), hasLHS(ignoringParenImpCasts({m}))), "
            f"unaryOperator(hasAnyOperatorName(\"++\", \"--\", \"&\"), "
            f"hasUnaryOperand(ignoringParenImpCasts({m}))), "
            f"callExpr(callee(functionDecl(hasAnyName({fillers}))), "
            f"hasArgument(0, ignoringParenImpCasts({m})))))\n")


def writes(root, paths, fields):
    """(path, line, source line) for each write of a life-cycle field."""
    with tempfile.NamedTemporaryFile("w", suffix=".query", delete=False) as q:
        q.write(query(fields))
    try:
        proc = subprocess.run(["clang-query", "-f", q.name] + paths + ["--"] + FLAGS,
                              cwd=root, capture_output=True, text=True, timeout=600)
    finally:
        os.unlink(q.name)
    out = proc.stdout + proc.stderr
    if proc.returncode != 0 or re.search(r"\berror:", out):
        raise SystemExit("check_lifecycle_owner: clang-query failed:\n" + out[-4000:])
    found = []
    lines = out.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(.*?):(\d+):\d+: note: \"root\" binds here", line)
        if m:
            src = lines[i + 1].strip() if i + 1 < len(lines) else ""
            found.append((os.path.relpath(m.group(1), root), int(m.group(2)), src))
    return found


MUST = """#include "kernel/partition.h"
#include "kernel/lib/string.h"
void f(struct partition *p, struct partition *q, u32 *x);
void f(struct partition *p, struct partition *q, u32 *x)
{
	p->state = PARTITION_RUNNABLE;
	q->restarts++;
	++q->restarts;
	partitions[1].pending_events |= 4;
	p->wait_deadline += 5;
	x = &p->pending_events;
	strlcpy(p->stop_reason, "x", sizeof(p->stop_reason));
	(void)x;
}
"""
NEVER = """#include "kernel/partition.h"
#include "kernel/lib/string.h"
int g(struct partition *p, struct partita_start_info *si, char *buf);
int g(struct partition *p, struct partita_start_info *si, char *buf)
{
	/* p->state = PARTITION_RUNNABLE; */
	si->boot_count = p->boot_count;
	strlcpy(buf, p->stop_reason, 8);
	return p->state != PARTITION_STOPPED && p->restarts + 1 > 0;
}
"""


def self_test(root, fields):
    with tempfile.TemporaryDirectory() as d:
        must, never = os.path.join(d, "must.c"), os.path.join(d, "never.c")
        with open(must, "w") as f:
            f.write(MUST)
        with open(never, "w") as f:
            f.write(NEVER)
        got = writes(root, [must], fields)
        if len(got) != 7:
            raise SystemExit(f"check_lifecycle_owner: self-test: {len(got)} of 7 writes found: {got}")
        got = writes(root, [never], fields)
        if got:
            raise SystemExit(f"check_lifecycle_owner: self-test: reads reported as writes: {got}")


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "kernel", "partition.h")) as f:
        fields = life_cycle_fields(f.read())
    self_test(root, fields)
    paths = []
    for dirpath, _, files in os.walk(os.path.join(root, "kernel")):
        for name in sorted(files):
            rel = os.path.relpath(os.path.join(dirpath, name), root)
            if name.endswith(".c") and rel != OWNER:
                paths.append(rel)
    bad = writes(root, sorted(paths), fields)
    for path, line, src in bad:
        print(f"{path}:{line}: writes a life-cycle field outside {OWNER}: {src}")
    if bad:
        print(f"check_lifecycle_owner: {len(bad)} write(s) of life-cycle fields "
              f"({', '.join(fields)}) outside {OWNER}")
        return 1
    print(f"check_lifecycle_owner: ok: {len(paths)} files of kernel/, "
          f"{len(fields)} life-cycle fields written only in {OWNER}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
