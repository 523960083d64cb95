/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * svm_enter(struct guest_regs *regs, u64 vmcb_pa, u64 host_state_pa): one
 * trip into an SVM guest.  VMRUN saves and restores only part of the host
 * state (AMD APM Vol. 2 §15.5.1: RAX, RSP, RIP, RFLAGS, segment selectors,
 * CRs, EFER, GDTR/IDTR), so the general registers are swapped here, by hand,
 * with the guest's in struct guest_regs (kernel/virt.h: rax, rbx, rcx, rdx,
 * rsi, rdi, rbp, r8 .. r15, 8 bytes each).  The guest's RAX and RSP live in
 * the VMCB.
 *
 * VMLOAD/VMSAVE move the state VMRUN leaves alone (FS, GS, TR, LDTR, the
 * SYSCALL and SYSENTER MSRs, KernelGSBase) between the CPU and the VMCB; the
 * host's copy of that state, saved once per CPU at host_state_pa, is loaded
 * again right after the exit.  GIF=0 holds host interrupts off from the CLGI
 * to the STGI, while the host IF=1 that VMRUN saves lets them end the guest's
 * run (§15.17, §15.21.1); they are taken once the caller enables interrupts.
 */
#include "arch/x86/guest_regs.h"

	.text
	.global svm_enter
	.type svm_enter, @function
svm_enter:
	/* Callee-saved registers of the host (SysV ABI). */
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	pushq %rdx                  /* host state, loaded after the exit */
	pushq %rdi                  /* regs, needed after the exit */

	clgi
	sti
	movq %rsi, %rax             /* VMCB physical address */
	vmload %rax

	movq REG_RBX(%rdi), %rbx
	movq REG_RCX(%rdi), %rcx
	movq REG_RDX(%rdi), %rdx
	movq REG_RSI(%rdi), %rsi
	movq REG_RBP(%rdi), %rbp
	movq REG_R8(%rdi), %r8
	movq REG_R9(%rdi), %r9
	movq REG_R10(%rdi), %r10
	movq REG_R11(%rdi), %r11
	movq REG_R12(%rdi), %r12
	movq REG_R13(%rdi), %r13
	movq REG_R14(%rdi), %r14
	movq REG_R15(%rdi), %r15
	movq REG_RDI(%rdi), %rdi

	vmrun %rax
	/* #VMEXIT: RAX, RSP and RIP are the host's again (RAX = VMCB). */
	vmsave %rax

	movq %rdi, %rax             /* the guest's RDI, while RDI is regs */
	popq %rdi                   /* regs */
	movq %rbx, REG_RBX(%rdi)
	movq %rcx, REG_RCX(%rdi)
	movq %rdx, REG_RDX(%rdi)
	movq %rsi, REG_RSI(%rdi)
	movq %rbp, REG_RBP(%rdi)
	movq %r8, REG_R8(%rdi)
	movq %r9, REG_R9(%rdi)
	movq %r10, REG_R10(%rdi)
	movq %r11, REG_R11(%rdi)
	movq %r12, REG_R12(%rdi)
	movq %r13, REG_R13(%rdi)
	movq %r14, REG_R14(%rdi)
	movq %r15, REG_R15(%rdi)
	movq %rax, REG_RDI(%rdi)

	cli
	popq %rax                   /* host state: GS is the host's again */
	vmload %rax
	stgi

	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
	.size svm_enter, . - svm_enter

	.section .note.GNU-stack, "", @progbits
