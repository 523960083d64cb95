/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Entry of a paravirtual guest.  The hypervisor starts it in 64-bit mode at
 * CPL 0 with its memory identity mapped, RSP at a stack it reserved, and RDI
 * pointing at the start-info page.  Returning from guest_main ends the
 * partition with that return value as exit code.
 */
	.section .text.start, "ax"
	.global _start
	.type _start, @function
_start:
	xorl %ebp, %ebp
	andq $-16, %rsp
	call guest_runtime_start   /* (start_info) -> does not return */
1:	hlt
	jmp 1b
	.size _start, . - _start

	.section .note.GNU-stack, "", @progbits
