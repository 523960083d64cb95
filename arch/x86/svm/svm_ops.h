/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The raw SVM instructions (AMD APM Vol. 3, "VMRUN", "VMLOAD", "VMSAVE",
 * "CLGI", "STGI").  Only the SVM back end includes this file.  A run's
 * CLGI, VMLOAD, VMRUN, VMSAVE and STGI are all in svm_entry.S; VMSAVE is
 * also used once per CPU, for the host's state.
 */
#ifndef PARTITA_SVM_OPS_H
#define PARTITA_SVM_OPS_H

#include "kernel/lib/types.h"

static inline void svm_vmsave(u64 pa)
{
	asm volatile("vmsave %%rax" : : "a"(pa) : "memory");
}

struct guest_regs;
/** Enters the guest of the VMCB at vmcb_pa (svm_entry.S): CLGI, STI,
 *  VMLOAD, VMRUN, VMSAVE, with the guest's general registers from and back
 *  to *regs, then CLI, VMLOAD of the host's state at host_state_pa (the
 *  caller's VMSAVE of it) and STGI.  Called with interrupts disabled;
 *  returns with them disabled. */
void svm_enter(struct guest_regs *regs, u64 vmcb_pa, u64 host_state_pa);

#endif
