/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Entry of the Multiboot2 loader: the Multiboot2 header GRUB looks for, the
 * 32-bit code GRUB jumps to, and the step into 64-bit mode before the C
 * half (mb2_main.c) runs.
 *
 * Why a loader of its own and not a second entry in the core.  The
 * Multiboot2 path is a second loader beside the UEFI one (boot/efi_main.c),
 * not a part of the core's image: build/partita-mb2.elf is its own link
 * unit (boot/mb2.ld, linked and loaded at 1 MiB, identity-mapped, gcc's
 * default small code model) that embeds the same core.elf as BOOTX64.EFI
 * (boot/core_image.S), places it at a 2 MiB aligned physical block, builds
 * the same page tables (boot/pagetable.c), the same kind of memory map
 * (boot/memmap.c) and the same struct boot_info, and jumps to the same
 * 64-bit entry (arch/x86/entry.S) with the same machine state.  So the core
 * is one binary that does not know which loader started it (except for
 * boot_info.source), its link script keeps every segment at
 * CORE_VIRT_BASE with -mcmodel=kernel, and nothing 32-bit or
 * low-linked enters it.  Putting the header and a .text.boot32 section in
 * core.elf instead would have tied the core to a fixed physical address
 * (GRUB loads an ELF at its p_paddr), added a low segment that the UEFI
 * loader's ELF check refuses, and made the core parse the MBI itself.
 *
 * Machine state on entry (Multiboot2 Specification 2.0, section 3.3): EAX
 * holds MB2_BOOTLOADER_MAGIC, EBX the physical address of the MBI; 32-bit
 * protected mode, paging off, flat CS and data segments, interrupts off,
 * A20 on; the GDTR and the stack pointer are undefined, so this code loads
 * its own GDT before any segment register and sets its own stack.
 */
#define MB2_HEADER_MAGIC 0xe85250d6
#define MB2_ARCH_I386 0
#define MB2_TAG_OPTIONAL 1

#define MB2_CS64 0x08
#define MB2_DS 0x10

#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define MSR_EFER 0xc0000080
#define EFER_LME (1 << 8)
#define UART_COM1 0x3f8

/* ------------------------------------------------ the Multiboot2 header */
/* Section 3.1: 8-byte aligned within the first 32 KiB of the file
 * (mb2.ld puts it first).  Header tags, each 8-byte aligned. */
	.section .mb2_header, "a"
	.balign 8
mb2_header:
	.long MB2_HEADER_MAGIC
	.long MB2_ARCH_I386
	.long mb2_header_end - mb2_header
	.long 0x100000000 - (MB2_HEADER_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))

	/* Section 3.1.4, information request: the memory map is required. */
	.balign 8
	.short 1, 0
	.long 12
	.long 6
	/* The same, optional: the ACPI RSDP copies and the framebuffer. */
	.balign 8
	.short 1, MB2_TAG_OPTIONAL
	.long 20
	.long 14, 15, 8
	/* Section 3.1.10, framebuffer, optional: 1024x768 at 32 bits a pixel
	 * preferred.  GRUB ignores the depth unless a size is given too, and
	 * falls back to a mode of its choice, or to the text console when
	 * there is no linear framebuffer. */
	.balign 8
	.short 5, MB2_TAG_OPTIONAL
	.long 20
	.long 1024, 768, 32
	/* Section 3.1.11, module alignment: every module page aligned. */
	.balign 8
	.short 6, 0
	.long 8
	/* End. */
	.balign 8
	.short 0, 0
	.long 8
mb2_header_end:

/* ------------------------------------------------------- 32-bit entry */
	.section .text.boot32, "ax"
	.code32
	.global mb2_entry
	.type mb2_entry, @function
mb2_entry:
	cli
	cld
	movl $mb2_stack_top, %esp
	movl %eax, %edi          /* the magic, for mb2_main's check */
	movl %ebx, %esi          /* the MBI */

	/* Long mode: CPUID 0x80000001 EDX bit 29 (Intel SDM Vol. 2A, CPUID;
	 * AMD APM Vol. 3, appendix E.4.2).  CPUID clobbers EBX..EDX only. */
	movl $0x80000000, %eax
	cpuid
	cmpl $0x80000001, %eax
	jb no_long_mode
	movl $0x80000001, %eax
	cpuid
	btl $29, %edx
	jnc no_long_mode

	lgdt mb2_gdt_ptr

	/* Intel SDM Vol. 3A section 9.8.5, "Initializing IA-32e Mode": with
	 * paging off, set CR4.PAE, load CR3 with the PML4, set EFER.LME, then
	 * CR0.PG, which activates IA-32e mode (compatibility mode until a far
	 * jump loads a code segment with L=1).  AMD APM Vol. 2 section
	 * 14.6.1 gives the same sequence. */
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $mb2_pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $CR0_PG, %eax
	movl %eax, %cr0
	ljmp $MB2_CS64, $mb2_entry64

no_long_mode:
	movl $no_long_mode_msg, %esi
1:	lodsb
	testb %al, %al
	jz 3f
	movb %al, %bl
	movw $UART_COM1 + 5, %dx /* LSR: wait for the transmitter */
2:	inb %dx, %al
	testb $0x20, %al
	jz 2b
	movw $UART_COM1, %dx
	movb %bl, %al
	outb %al, %dx
	jmp 1b
3:	hlt
	jmp 3b
	.size mb2_entry, . - mb2_entry

/* ------------------------------------------------------- 64-bit entry */
	.code64
mb2_entry64:
	movl $MB2_DS, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	/* The upper halves of the registers are undefined after the switch
	 * (Intel SDM Vol. 1 section 3.4.1.1): zero-extend both arguments. */
	movl %edi, %edi          /* mb2_main(magic, */
	movl %esi, %esi          /*          mbi_phys) */
	xorl %ebp, %ebp
	call mb2_main
4:	hlt
	jmp 4b

	.section .rodata
no_long_mode_msg:
	.asciz "partita loader: error: this CPU has no 64-bit mode (CPUID 0x80000001 EDX.LM)\r\n"

/* ------------------------------------------- GDT, page tables, stack */
	.section .data
	.balign 8
mb2_gdt:
	.quad 0
	.quad 0x00af9a000000ffff /* 0x08: code, 64-bit (L=1, D=0), DPL 0 */
	.quad 0x00cf92000000ffff /* 0x10: data, flat 4 GiB, writable */
mb2_gdt_end:
mb2_gdt_ptr:
	.short mb2_gdt_end - mb2_gdt - 1
	.long mb2_gdt

	/* [0, 4 GiB) identity-mapped with 2 MiB pages (Intel SDM Vol. 3A
	 * section 4.5, 4-level paging): enough for this loader, the MBI and
	 * the modules, which GRUB places below 4 GiB, and for every block
	 * mb2_main.c takes.  The core gets the tables of boot/pagetable.c. */
	.balign 4096
mb2_pml4:
	.quad mb2_pdpt + 0x3     /* present, writable */
	.fill 511, 8, 0
mb2_pdpt:
	.quad mb2_pd + 0x0003
	.quad mb2_pd + 0x1003
	.quad mb2_pd + 0x2003
	.quad mb2_pd + 0x3003
	.fill 508, 8, 0
mb2_pd:
	.set page, 0
	.rept 2048
	.quad page | 0x83        /* present, writable, 2 MiB page */
	.set page, page + 0x200000
	.endr

	.section .bss
	.balign 16
mb2_stack:
	.skip 16384
mb2_stack_top:

	.section .note.GNU-stack, "", @progbits
