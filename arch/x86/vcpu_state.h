/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * CPU state that a guest can change, that neither back end switches at VM
 * entry and exit, and that the core itself never uses: the FPU/SSE/AVX
 * registers, the debug address registers DR0-DR3 (AMD APM Vol. 2 §15.5.1
 * and Intel SDM Vol. 3C §27.3 list what VMRUN / VM entry load: DR6 and DR7
 * on SVM, only DR7 on VMX, never DR0-DR3) and IA32_TSC_AUX (read by RDTSCP
 * and RDPID; in neither the VMCB nor the VMCS).  It stays in the CPU after
 * a run and belongs to the vCPU that ran last there; vcpu_state_load()
 * saves it into that vCPU and loads the next one's when another vCPU runs,
 * so no partition ever reads what another wrote (isolation rules,
 * DESIGN.md).  Vendor-specific leftovers (DR6 on VMX, the syscall MSRs on
 * VMX) are switched by the back ends in the same lazy way.
 *
 * Ownership is per CPU: one CPU's owner is only touched by that CPU.
 */
#ifndef PARTITA_ARCH_X86_VCPU_STATE_H
#define PARTITA_ARCH_X86_VCPU_STATE_H

#include "kernel/lib/types.h"

struct fpu_state;

/** The part of a vCPU's state kept here while it is not loaded. */
struct vcpu_lazy_state {
	struct fpu_state *fpu; /* its FPU/SSE/AVX registers and XCR0 */
	u64 dr[4];	       /* DR0-DR3 */
	u64 tsc_aux;	       /* IA32_TSC_AUX */
};

/** Makes s the state loaded on this CPU, saving the previous owner's. */
void vcpu_state_load(struct vcpu_lazy_state *s);

/** Puts s in its reset state (FPU as after FNINIT, DR0-DR3 and TSC_AUX 0);
 *  if s is loaded on this CPU, it is reloaded from the reset copy at the
 *  next vcpu_state_load. */
void vcpu_state_reset(struct vcpu_lazy_state *s);

/** Forgets s (its vCPU is destroyed): it is never saved into again. */
void vcpu_state_forget(struct vcpu_lazy_state *s);

/** IA32_TSC_AUX of s, for WRMSR/RDMSR emulation (the live register if s is
 *  loaded, so RDTSCP in the guest sees what it wrote). */
u64 vcpu_state_tsc_aux(const struct vcpu_lazy_state *s);
void vcpu_state_set_tsc_aux(struct vcpu_lazy_state *s, u32 value);

#endif
