/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Entry of the Multiboot test kernel (mbtest.c): the Multiboot 1 header
 * (Multiboot Specification 0.6.96, 3.1: magic, flags, checksum; flags bit 0
 * asks for page-aligned modules, bit 1 for memory information; no address
 * fields, the ELF headers are used) or, built with MBTEST_MB2 (mbtest2.elf),
 * the Multiboot2 header (Multiboot2 Specification 2.0, 3.1: magic,
 * architecture 0, length, checksum, then the module-alignment tag and the
 * end tag), a stack, and the interrupt stubs.  32-bit protected mode, paging
 * off, as the boot loader leaves it (3.2 / MB2 3.3 "Machine state").
 */
	.section .multiboot, "a"
#ifdef MBTEST_MB2
	.set MB2_MAGIC, 0xe85250d6
	.set MB2_LENGTH, mb2_header_end - mb2_header
	.align 8
mb2_header:
	.long MB2_MAGIC
	.long 0			/* i386 protected mode */
	.long MB2_LENGTH
	.long -(MB2_MAGIC + MB2_LENGTH)
	.short 6, 0		/* module alignment (3.1.12): page aligned */
	.long 8
	.short 0, 0		/* end */
	.long 8
mb2_header_end:
#else
	.set MB_MAGIC, 0x1badb002
	.set MB_FLAGS, (1 << 0) | (1 << 1)
	.align 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)
#endif

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
