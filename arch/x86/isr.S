/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Entry stubs for all 256 interrupt vectors.  Each stub makes every vector
 * look the same to the common path: it pushes a zero where the CPU pushed no
 * error code, then the vector number, and jumps to isr_common, which saves
 * the general registers as a struct trap_frame (arch/x86/traps.h) and calls
 * trap_dispatch(frame).  Stubs are 16 bytes apart, so traps.c finds the stub
 * of vector v at isr_stubs + 16 * v.
 */

/* Vectors for which the CPU pushes an error code (Intel SDM Vol. 3A §6.15):
 * #DF 8, #TS 10, #NP 11, #SS 12, #GP 13, #PF 14, #AC 17, #CP 21, #VC 29,
 * #SX 30. */
#define HAS_ERROR_CODE(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || \
			   (v) == 21 || (v) == 29 || (v) == 30)

	.section .text
	.code64

	.balign 16
	.globl isr_stubs
isr_stubs:
	.set .Lvec, 0
	.rept 256
1:
	.if !HAS_ERROR_CODE(.Lvec)
	pushq $0
	.endif
	pushq $.Lvec
	jmp isr_common
	/* Pads to 16 bytes with int3; the assembler refuses (".org backwards")
	 * if a stub ever grows beyond 16. */
	.org 1b + 16, 0xcc
	.set .Lvec, .Lvec + 1
	.endr

isr_common:
	/* Registers in the order of struct trap_frame, RAX at the highest
	 * address. */
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15

	/* The C code may assume the ABI's clear direction flag. */
	cld
	movq %rsp, %rdi
	/* Link the frame into the RBP chain so a backtrace taken inside a
	 * handler continues into the interrupted code: a fake frame of saved
	 * RBP and the interrupted RIP. */
	pushq 17 * 8(%rdi)	/* frame->rip */
	pushq %rbp
	movq %rsp, %rbp
	/* The CPU aligns RSP to 16 before pushing its frame (§6.14.2), and the
	 * frame (176 bytes) plus the two pushes keep it aligned; align anyway
	 * in case the interrupted code ran on a misaligned stack. */
	andq $-16, %rsp
	call trap_dispatch
	movq %rbp, %rsp
	addq $16, %rsp

	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	/* Vector and error code. */
	addq $16, %rsp
	iretq

	.section .note.GNU-stack, "", @progbits
