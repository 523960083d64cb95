/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Entry of the conformance kernel (main.c): the Multiboot 1 header, the
 * switch from the 32-bit protected mode a Multiboot loader leaves (MB1 3.2
 * "Machine state": paging off, EAX the magic, EBX the information) to
 * 64-bit long mode, and the 256 interrupt stubs.
 *
 * Long mode (Intel SDM Vol. 3A 10.8.5 "Initializing IA-32e Mode", AMD APM
 * Vol. 2 14.6): CR4.PAE, CR3 at a PML4, EFER.LME, then CR0.PG; a 64-bit code
 * segment in our own GDT.  The page tables identity-map the first 4 GiB in
 * 2 MiB pages, supervisor only; the 1 GiB from 3 GiB (local APIC, I/O APIC,
 * firmware) is mapped uncached (PCD|PWT).  Each page directory is its own
 * page so that a test can point one entry at a page table of its own
 * (pd_tables, used by the page-walk-in-MMIO test).
 */
	.set MB_MAGIC, 0x1badb002
	.set MB_FLAGS, (1 << 0) | (1 << 1)	/* page-aligned modules, memory info */

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.section .text.start, "ax"
	.code32
	.globl _start
_start:
	cli
	cld
	mov $boot_stack_top, %esp
	mov %eax, mb_magic
	mov %ebx, mb_info

	/* PML4[0] -> PDPT, PDPT[0..3] -> pd_tables[0..3]. */
	mov $pdpt, %eax
	or $3, %eax
	mov %eax, pml4
	xor %ecx, %ecx
1:	mov %ecx, %eax
	shl $12, %eax
	add $pd_tables, %eax
	or $3, %eax
	mov %eax, pdpt(,%ecx,8)
	inc %ecx
	cmp $4, %ecx
	jne 1b

	/* 2048 PD entries: (i << 21) | PS | W | P, and PCD|PWT from 3 GiB. */
	xor %ecx, %ecx
2:	mov %ecx, %eax
	shl $21, %eax
	or $0x83, %eax
	cmp $1536, %ecx
	jb 3f
	or $0x18, %eax
3:	mov %eax, pd_tables(,%ecx,8)
	inc %ecx
	cmp $2048, %ecx
	jne 2b

	mov %cr4, %eax
	or $(1 << 5), %eax		/* PAE */
	mov %eax, %cr4
	mov $pml4, %eax
	mov %eax, %cr3
	mov $0xc0000080, %ecx		/* EFER */
	rdmsr
	or $(1 << 8), %eax		/* LME */
	wrmsr
	mov %cr0, %eax
	or $((1 << 31) | (1 << 16) | 1), %eax	/* PG, WP, PE */
	mov %eax, %cr0
	lgdt gdt_ptr
	ljmp $0x08, $long_mode

	.code64
long_mode:
	mov $0x10, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov %eax, %fs
	mov %eax, %gs
	mov $boot_stack_top, %rsp
	mov mb_magic(%rip), %edi
	mov mb_info(%rip), %esi
	call conf_main
4:	hlt
	jmp 4b

/*
 * Interrupt stubs: each pushes a zero in place of the error code where the
 * CPU pushes none (SDM Vol. 3A 6.13: 8, 10-14, 17, 21, 29, 30 push one),
 * then its vector, then the general registers; isr_dispatch(frame) may
 * change any of them, RIP and RFLAGS included, before IRETQ.
 */
isr_common:
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, %rdi
	mov %rsp, %rbx
	and $-16, %rsp
	call isr_dispatch
	mov %rbx, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rbp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rbx
	pop %rax
	add $16, %rsp
	iretq

	.altmacro
	.macro isr_stub v
isr_stub_\v:
	.if !((\v == 8) || ((\v >= 10) && (\v <= 14)) || (\v == 17) || (\v == 21) || (\v == 29) || (\v == 30))
	pushq $0
	.endif
	pushq $\v
	jmp isr_common
	.endm
	.set i, 0
	.rept 256
	isr_stub %i
	.set i, i + 1
	.endr

	.section .rodata
	.balign 8
	.globl isr_stubs
isr_stubs:
	.macro isr_addr v
	.quad isr_stub_\v
	.endm
	.set i, 0
	.rept 256
	isr_addr %i
	.set i, i + 1
	.endr
	.noaltmacro

/* GDT: null, 0x08 64-bit code, 0x10 data, 0x18 32-bit code, 0x20 64-bit
 * code DPL 3, 0x28 data DPL 3. */
	.balign 16
	.globl gdt
gdt:
	.quad 0
	.quad 0x00af9b000000ffff
	.quad 0x00cf93000000ffff
	.quad 0x00cf9b000000ffff
	.quad 0x00affb000000ffff
	.quad 0x00cff3000000ffff
gdt_end:
gdt_ptr:
	.word gdt_end - gdt - 1
	.quad gdt

	.data
	.globl mb_magic, mb_info
mb_magic: .long 0
mb_info: .long 0

	.bss
	.balign 4096
	.globl pml4, pdpt, pd_tables
pml4: .space 4096
pdpt: .space 4096
pd_tables: .space 4 * 4096
	.balign 16
	.space 32768
	.globl boot_stack_top
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
