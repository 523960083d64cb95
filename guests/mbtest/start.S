/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Entry of the Multiboot test kernel (mbtest.c): the Multiboot 1 header
 * (Multiboot Specification 0.6.96, 3.1: magic, flags, checksum; flags bit 1
 * asks for memory information; no address fields, the ELF headers are used),
 * a stack, and the interrupt stubs.  32-bit protected mode, paging off, as
 * the boot loader leaves it (3.2 "Machine state").
 */
	.set MB_MAGIC, 0x1badb002
	.set MB_FLAGS, (1 << 1)

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.text
	.code32
	.globl _start
_start:
	cli
	mov $stack_top, %esp
	push %ebx		/* the information's address */
	push %eax		/* the boot loader magic */
	call mbtest_main
1:	hlt
	jmp 1b

/* The APIC timer's vector: count, EOI, return. */
	.globl timer_stub
timer_stub:
	push %eax
	incl timer_ticks
	movl $0, 0xfee000b0	/* EOI */
	pop %eax
	iret

/* The APIC timer's vector in the "interrupt-once" check: a handler that
 * runs long before its EOI, and counts an entry that finds itself nested
 * (the interrupt gate cleared IF, so nothing may interrupt it) or that
 * interrupted code with IF clear.  Stack after the two pushes: ECX, EAX,
 * then the frame EIP, CS, EFLAGS. */
	.globl slow_timer_stub
slow_timer_stub:
	push %eax
	push %ecx
	incl slow_depth
	cmpl $1, slow_depth
	jne 1f
	testl $0x200, 16(%esp)	/* the interrupted code's IF */
	jnz 2f
1:	incl slow_violations
2:	incl timer_ticks
	mov slow_spin, %ecx
3:	dec %ecx
	jnz 3b
	movl $0, 0xfee000b0	/* EOI */
	decl slow_depth
	pop %ecx
	pop %eax
	iret

/* The I/O APIC checks (platform.c): an edge vector that ends with an
 * EOI, and a level vector whose handler leaves the EOI to the test. */
	.globl ioapic_edge_stub
ioapic_edge_stub:
	incl ioapic_edge_count
	movl $0, 0xfee000b0	/* EOI */
	iret

	.globl ioapic_level_stub
ioapic_level_stub:
	incl ioapic_level_count
	iret

/* x2APIC mode (platform.c): the EOI is MSR 0x80b, the page is gone. */
	.globl x2apic_stub
x2apic_stub:
	push %eax
	push %ecx
	push %edx
	incl x2apic_count
	mov $0x80b, %ecx
	xor %eax, %eax
	xor %edx, %edx
	wrmsr
	pop %edx
	pop %ecx
	pop %eax
	iret

/* Any other vector at or above 32: ignored (the 8259s are masked). */
	.globl spurious_stub
spurious_stub:
	incl spurious_count
	iret

/* Exceptions (0-31): report and stop. */
	.globl exception_stub
exception_stub:
	call mbtest_exception
2:	hlt
	jmp 2b

	.bss
	.align 16
	.space 16384
stack_top:
