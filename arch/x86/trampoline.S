/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The start-up code of the other CPUs (application processors).  smp.c
 * copies it to the page the loader kept below 1 MiB and names that page in
 * the start-up IPI: the CPU starts there in real mode with CS = page >> 4,
 * IP = 0 (Intel SDM Vol. 3A §8.4.4.1, §9.1.4).  It goes from real mode to
 * protected mode to long mode (§9.9.1 "Switching to Protected Mode", §9.8.5
 * "Initializing IA-32e Mode"), on a page-table root smp.c built below 4 GiB
 * that maps this page at its own address and the core's half like the
 * core's own tables, and jumps to smp.c's C entry at its high address with
 * the CPU's stack and struct percpu given by the parameter block at the end.
 *
 * The code does not know where it runs: it finds the page from CS and
 * patches its two far pointers itself.  The parameter block (offsets
 * TRAMP_*) is shared by all CPUs, so smp.c starts them one at a time.
 */
#define TRAMP_CR3 0xfe0     /* u32: the page-table root (below 4 GiB) */
#define TRAMP_STACK 0xfe8   /* u64: the stack top (high virtual) */
#define TRAMP_ENTRY 0xff0   /* u64: the C entry (high virtual) */
#define TRAMP_ARG 0xff8     /* u64: its argument */

#define MSR_EFER 0xc0000080
#define EFER_LME (1 << 8)
#define EFER_NXE (1 << 11)
#define CR0_PE 1
#define CR0_MP (1 << 1)
#define CR0_ET (1 << 4)
#define CR0_NE (1 << 5)
#define CR0_WP (1 << 16)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)

#define SEL_CODE32 0x08
#define SEL_DATA 0x10
#define SEL_CODE64 0x18

	.section .rodata
	.balign 16
	.globl trampoline_start, trampoline_end
trampoline_start:
	.code16
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	/* EBX: the page's linear address. */
	xorl %ebx, %ebx
	movw %ax, %bx
	shll $4, %ebx
	/* Patch the GDT base and the far jump to 32-bit code. */
	leal (tramp_gdt - trampoline_start)(%ebx), %eax
	movl %eax, (tramp_gdt_ptr - trampoline_start + 2)
	leal (tramp_pm32 - trampoline_start)(%ebx), %eax
	movl %eax, (tramp_pm32_ptr - trampoline_start)
	lgdtl (tramp_gdt_ptr - trampoline_start)
	movl %cr0, %eax
	orl $CR0_PE, %eax
	movl %eax, %cr0
	ljmpl *(tramp_pm32_ptr - trampoline_start)

	.code32
tramp_pm32:
	movw $SEL_DATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	/* A small stack below the parameter block, for the far return. */
	leal TRAMP_CR3(%ebx), %esp
	/* §9.8.5: PAE, the root, EFER.LME (and NXE: the core's entries use
	 * the NX bit, reserved without it), then paging. */
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl TRAMP_CR3(%ebx), %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $(EFER_LME | EFER_NXE), %eax
	wrmsr
	/* CR0 as the boot CPU has it; this also clears CD and NW, which INIT
	 * leaves set (§9.1.1, Table 9-1): caches on. */
	movl $(CR0_PG | CR0_WP | CR0_NE | CR0_ET | CR0_MP | CR0_PE), %eax
	movl %eax, %cr0
	/* A far return into the 64-bit code segment. */
	pushl $SEL_CODE64
	leal (tramp_lm64 - trampoline_start)(%ebx), %eax
	pushl %eax
	lretl

	.code64
tramp_lm64:
	movl %ebx, %ebx          /* the upper halves are undefined (§3.4.1.1) */
	movq TRAMP_STACK(%rbx), %rsp
	movq TRAMP_ARG(%rbx), %rdi
	movq TRAMP_ENTRY(%rbx), %rax
	xorl %ebp, %ebp          /* ends the backtrace of the exception dump */
	jmpq *%rax

	.balign 8
tramp_gdt:
	.quad 0
	.quad 0x00cf9a000000ffff /* 0x08: 32-bit code, flat */
	.quad 0x00cf92000000ffff /* 0x10: data, flat */
	.quad 0x00af9a000000ffff /* 0x18: 64-bit code */
tramp_gdt_ptr:
	.word 4 * 8 - 1
	.long 0
	.balign 4
tramp_pm32_ptr:
	.long 0
	.word SEL_CODE32
trampoline_end:

	.section .note.GNU-stack, "", @progbits
