/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The hypercalls of paravirtual partitions (kernel/abi/partita.h), behind
 * one table (hypercall.c).
 */
#ifndef PARTITA_HYPERCALL_H
#define PARTITA_HYPERCALL_H

#include "kernel/lib/types.h"

struct partition;
struct vm_exit;

/**
 * Performs hypercall nr for p with its arguments (RDI, RSI, RDX, R10) and
 * returns what goes into RAX: the result, -E_NOSYS for a number the table
 * does not list, -E_PERM for a call that needs a capability p lacks.  The
 * caller checked the CPL.  A call may change p's state (wait, yield, exit).
 */
s64 hypercall_dispatch(struct partition *p, u64 nr, u64 a0, u64 a1, u64 a2, u64 a3);

/**
 * Answers p's hypercall exit e (the pv kind's hook): #UD from guest user
 * mode, else the call of RAX with RDI, RSI, RDX, R10, its result in RAX, and
 * RIP past the instruction.  The exit path's one call for a hypercall.
 */
void hypercall_exit(struct partition *p, const struct vm_exit *e);

/** True if nr is a hypercall; *caps then says which capabilities it needs. */
bool hypercall_needs(u64 nr, u32 *caps);

#endif
