/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The raw SVM instructions (AMD APM Vol. 3, "VMRUN", "VMLOAD", "VMSAVE",
 * "CLGI", "STGI").  Only the SVM back end includes this file.
 */
#ifndef PARTITA_SVM_OPS_H
#define PARTITA_SVM_OPS_H

#include "kernel/lib/types.h"

static inline void svm_clgi(void)
{
	asm volatile("clgi" ::: "memory");
}
static inline void svm_stgi(void)
{
	asm volatile("stgi" ::: "memory");
}
static inline void svm_vmsave(u64 pa)
{
	asm volatile("vmsave %%rax" : : "a"(pa) : "memory");
}
static inline void svm_vmload(u64 pa)
{
	asm volatile("vmload %%rax" : : "a"(pa) : "memory");
}

struct guest_regs;
/** Enters the guest of the VMCB at vmcb_pa (svm_entry.S): VMLOAD, VMRUN,
 *  VMSAVE, with the guest's general registers from and back to *regs.  The
 *  caller saves and restores the host's VMLOAD/VMSAVE state around it. */
void svm_enter(struct guest_regs *regs, u64 vmcb_pa);

#endif
