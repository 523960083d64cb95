/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Multiboot loaders for hvm partitions: Multiboot 1 (specification 0.6.96)
 * and Multiboot 2 (specification 2.0).  The image is loaded by its address
 * fields (MB1 flag 16, MB2 address tag) or as an ELF32/ELF64 file by its
 * program headers (physical addresses), at or above 1 MiB; the boot
 * information goes to the reserved low memory of linux_boot.h's layout.
 * Modules are copied after the kernel: each page aligned (as GRUB does for
 * both versions, which meets MB1 flag 0 and the MB2 module-alignment tag),
 * in the given order, all below the device windows and 4 GiB.
 */
#ifndef PARTITA_HVM_MULTIBOOT_H
#define PARTITA_HVM_MULTIBOOT_H

#include "kernel/hvm/linux_boot.h"

#define MB1_HEADER_MAGIC 0x1badb002u
#define MB1_BOOT_MAGIC 0x2badb002u
#define MB1_SEARCH 8192u
#define MB2_HEADER_MAGIC 0xe85250d6u
#define MB2_BOOT_MAGIC 0x36d76289u
#define MB2_SEARCH 32768u

#define MULTIBOOT_MODULES_MAX 8
#define MULTIBOOT_MODULE_STRING_MAX 127 /* bytes, without the NUL */

/** A boot module: its bytes, and the string the kernel sees with it (MB1
 *  3.3 mods "string", MB2 3.6.6 "string"; NULL is ""). */
struct multiboot_module {
	const void *data;
	u64 size;
	const char *string;
};

/** Returns 2 or 1 if the image holds a valid Multiboot 2 or 1 header (2
 *  first when it holds both), else 0. */
int multiboot_detect(const void *image, u64 size);

/**
 * Loads a Multiboot kernel (version as multiboot_detect says) and writes its
 * boot information: MB1 flags, mem_lower/upper, memory map, command line,
 * boot loader name; MB2 basic memory info, memory map, command line, boot
 * loader name, and the ACPI old/new RSDP tags (copies of the RSDP at
 * rsdp_gpa, if not 0).  *out: VCPU_MODE_PROT32, eax = the boot magic, ebx =
 * the information's address, a flat 32-bit GDT, rip = the entry (MB1 3.2 /
 * MB2 3.3 "Machine state").  cmdline may be NULL.
 * Returns 0, or -E_INVAL with *why; every check precedes the first write.
 */
int multiboot_load(u8 *ram, u64 ram_size, const void *image, u64 size, const char *cmdline,
		   const struct multiboot_module *mods, unsigned mod_count, u64 rsdp_gpa,
		   struct hvm_boot *out, const char **why);

#endif
