/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Entry of the hypervisor core.  The UEFI loader jumps here in 64-bit mode
 * with interrupts off, its own page tables loaded (identity map, direct map at
 * DIRECT_MAP_BASE and the core at CORE_VIRT_BASE) and RDI holding the
 * physical address of the boot_info.  The loader's stack lives in memory the
 * core's page allocator will hand out, so the first thing is to move to the
 * core's own boot stack.
 */
	.section .text.entry, "ax"
	.global core_entry
	.type core_entry, @function
core_entry:
	cli
	cld
	leaq boot_stack_top(%rip), %rsp
	xorl %ebp, %ebp          /* ends the backtrace of the exception dump */
	call core_main           /* core_main(boot_info_phys) does not return */
1:	hlt
	jmp 1b
	.size core_entry, . - core_entry

	.section .bss
	.balign 4096
	.global boot_stack_bottom
boot_stack_bottom:
	.skip 32768
	.global boot_stack_top
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
