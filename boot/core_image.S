/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The hypervisor core's ELF file, embedded in the loader's read-only data so
 * the ESP holds one binary.  The Makefile passes the file's path as
 * CORE_ELF_PATH; efi_main.c reads the bytes between core_image_start and
 * core_image_end and loads them (boot/elf_load.c).  Page aligned so the ELF
 * headers can be read in place.
 */
#ifndef CORE_ELF_PATH
#error "CORE_ELF_PATH must name the core's ELF file"
#endif

	.section .rodata
	.balign 4096
	.global core_image_start
	.hidden core_image_start
core_image_start:
	.incbin CORE_ELF_PATH
	.global core_image_end
	.hidden core_image_end
core_image_end:

	.section .note.GNU-stack, "", @progbits
