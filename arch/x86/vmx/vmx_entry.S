/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * int vmx_enter(struct guest_regs *regs, bool launched): one trip into a VMX
 * guest, and vmx_exit_stub, where the processor comes back at the VM exit.
 *
 * VM entry loads and VM exit saves RIP, RSP, RFLAGS, the control and segment
 * registers from and to the VMCS, but no general register (Intel SDM Vol. 3C
 * §27.3.2, §28.3): the general registers are swapped here, by hand, with the
 * guest's in struct guest_regs (kernel/virt.h: rax, rbx, rcx, rdx, rsi, rdi,
 * rbp, r8 .. r15, 8 bytes each).
 *
 * The VM exit loads RSP from the VMCS's HOST_RSP (§28.5.1), which is written
 * here on each entry: it points at the saved regs pointer below the host's
 * callee-saved registers, so vmx_exit_stub finds both and returns to the
 * caller of vmx_enter with 0.  VMLAUNCH/VMRESUME that fail fall through to the
 * next instruction with CF (VMfailInvalid) or ZF (VMfailValid) set (§31.2);
 * they change no register, so the host's stack is still in place.
 */
#include "arch/x86/guest_regs.h"

#define VMCS_HOST_RSP 0x6c14

	.text
	.global vmx_enter
	.type vmx_enter, @function
vmx_enter:
	/* Callee-saved registers of the host (SysV ABI). */
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	pushq %rdi                  /* regs, needed after the exit */

	movl $VMCS_HOST_RSP, %eax
	vmwrite %rsp, %rax

	/* ZF from this test picks VMLAUNCH or VMRESUME below: MOV leaves the
	 * flags alone. */
	testb %sil, %sil

	movq REG_RAX(%rdi), %rax
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

	jnz 1f
	sti
	vmlaunch
	jmp 2f
1:	sti
	vmresume
2:
	/* The entry failed: the registers hold guest values, *regs is still
	 * intact.  CF set: VMfailInvalid (1), else VMfailValid (2). */
	cli
	movl $1, %eax
	jc 3f
	movl $2, %eax
3:	addq $8, %rsp               /* regs */
	jmp .Lrestore_host

	.global vmx_exit_stub
	.type vmx_exit_stub, @function
vmx_exit_stub:
	/* VM exit: RSP = HOST_RSP, RFLAGS = 0x2 (§28.5.3). */
	pushq %rdi
	movq 8(%rsp), %rdi          /* regs */
	movq %rax, REG_RAX(%rdi)
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
	popq %rax
	movq %rax, REG_RDI(%rdi)
	xorl %eax, %eax
	addq $8, %rsp               /* regs */

.Lrestore_host:
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
	.size vmx_enter, . - vmx_enter

	.section .note.GNU-stack, "", @progbits
