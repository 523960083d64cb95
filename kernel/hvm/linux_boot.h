/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Loading an unmodified guest: the Linux/x86 boot protocol (bzImage, 64-bit
 * entry) and, in multiboot.h, Multiboot 1 and 2.  The loaders are pure
 * functions over the partition's RAM as one byte array (guest-physical 0 to
 * ram_size, identity mapped by the second-level tables): they validate the
 * image completely first, then write RAM, and describe the vCPU's first
 * state in struct hvm_boot.  Nothing here touches hardware or allocates.
 *
 * Guest-physical layout of an hvm partition of M bytes (this file owns it):
 *
 *   0x000000-0x09fbff  conventional memory, usable (e820 RAM); left empty
 *   0x09fc00-0x0fffff  reserved in the e820 map / Multiboot memory map:
 *     0x0a0000   GDT (HVM_BOOT_GDT_GPA): null, null, code 0x10, data 0x18
 *     0x0a1000   PML4, 0x0a2000 PDPT, 0x0a3000.. one PD per GiB (up to 16):
 *                identity map of 0 to max(4 GiB, M) in 2 MiB pages (Linux)
 *     0x0c0000   zero page (Linux) or Multiboot information (HVM_BOOT_INFO_GPA)
 *     0x0c1000   command line, NUL-terminated, at most 4 KiB (HVM_BOOT_CMDLINE_GPA)
 *     0x0c2000-0x0c3fff  boot stack: RSP at entry = 0x0c4000
 *     0x0c4000-0x0dffff  Multiboot 1 memory map and loader name, or the
 *                Multiboot 2 information (HVM_BOOT_SCRATCH_GPA, multiboot.c)
 *     0x0e0000-0x0effff  ACPI tables (acpi_tables.h: RSDP at 0x0e0000, where
 *                a legacy OS also scans for it)
 *   0x100000-M          usable RAM: the kernel, at its preferred address
 *                (Debian: 16 MiB) or the lowest aligned address from 1 MiB;
 *                the initrd at the top, below initrd_addr_max, page aligned
 *   0xe0000000-4 GiB    device windows, never RAM (the RAM behind them, if M is
 *                larger, is hidden and not mapped by the second-level tables):
 *     0xe0000000-0xefffffff  PCI ECAM (vpci.h), reserved in the maps
 *     0xf0000000-0xfebfffff  PCI BARs
 *     0xfec00000  I/O APIC, 0xfee00000 local APIC
 *   4 GiB-M             usable RAM (only if M > 0xe0000000)
 *
 * Nothing else above 1 MiB is reserved.
 */
#ifndef PARTITA_HVM_LINUX_BOOT_H
#define PARTITA_HVM_LINUX_BOOT_H

#include "kernel/lib/types.h"
#include "kernel/virt.h"

#define HVM_BOOT_GDT_GPA 0xa0000ULL
#define HVM_BOOT_PML4_GPA 0xa1000ULL
#define HVM_BOOT_PDPT_GPA 0xa2000ULL
#define HVM_BOOT_PD_GPA 0xa3000ULL
#define HVM_BOOT_INFO_GPA 0xc0000ULL
#define HVM_BOOT_CMDLINE_GPA 0xc1000ULL
#define HVM_BOOT_CMDLINE_MAX 4095ULL /* bytes, without the NUL */
#define HVM_BOOT_STACK_TOP 0xc4000ULL
#define HVM_BOOT_SCRATCH_GPA 0xc4000ULL /* 0xc4000-0xdffff: loader's data */
#define HVM_BOOT_SCRATCH_END 0xe0000ULL
#define HVM_BOOT_LOW_RAM_END 0x9fc00ULL /* end of usable conventional memory */
#define HVM_BOOT_HIGH_RAM 0x100000ULL	/* 1 MiB */
#define HVM_BOOT_RAM_MIN MiB(4)
#define HVM_BOOT_RAM_MAX GiB(16)	 /* the PDs end at 0xb3000 */
#define HVM_BOOT_MMIO_HOLE 0xe0000000ULL /* device windows up to 4 GiB */
#define HVM_BOOT_ECAM_BASE 0xe0000000ULL /* = VPCI_ECAM_BASE */
#define HVM_BOOT_ECAM_SIZE 0x10000000ULL

/* Segment selectors in the boot GDT (boot.rst "32-bit BOOT PROTOCOL" names
 * them __BOOT_CS and __BOOT_DS; Multiboot uses the same slots). */
#define HVM_BOOT_CS 0x10
#define HVM_BOOT_DS 0x18

/**
 * The first state of an hvm partition's vCPU, filled by a loader.  The mode
 * implies the control registers: VCPU_MODE_LONG is CR0.PE|PG, CR4.PAE,
 * EFER.LME|LMA with CS a 64-bit code segment; VCPU_MODE_PROT32 is CR0.PE only
 * (paging off), CS a flat 32-bit code segment.  In both, DS, ES, SS (and FS,
 * GS) hold ds, all segments are flat (base 0, limit 4 GiB), RFLAGS is 0x2
 * (interrupts off), and every register not named here is 0.
 */
struct hvm_boot {
	enum vcpu_mode mode;
	u64 rip;
	u64 rsp;
	u64 rax; /* Multiboot: the boot loader magic */
	u64 rbx; /* Multiboot: the information structure's address */
	u64 rsi; /* Linux: the zero page's address */
	u64 cr3; /* Linux: the PML4; 0 in 32-bit mode */
	u64 gdt_base;
	u16 gdt_limit;
	u16 cs;
	u16 ds;
};

/** Returns true if the image carries a Linux setup header ("HdrS" at 0x202). */
bool linux_boot_is_bzimage(const void *image, u64 size);

/**
 * Loads a bzImage for the 64-bit boot protocol (Documentation/x86/boot.rst,
 * "64-bit BOOT PROTOCOL"): checks the setup header, copies the protected-mode
 * kernel to its load address, writes the zero page (setup header, e820 map,
 * command line, initrd, acpi_rsdp_addr = rsdp_gpa, 0 for none), the GDT and
 * the identity page tables (see the layout above), and fills *out.
 * initrd may be NULL (initrd_size 0); cmdline may be NULL (empty).
 * Returns 0, or -E_INVAL with *why naming the problem; on an error RAM may
 * not have been written at all (every check comes first).
 */
int linux_boot_load(u8 *ram, u64 ram_size, const void *bzimage, u64 size, const void *initrd,
		    u64 initrd_size, const char *cmdline, u64 rsdp_gpa, struct hvm_boot *out,
		    const char **why);

/* Shared with multiboot.c: layout checks and the boot GDT. */

/** Checks that RAM can hold the layout above; 0 or -E_INVAL with *why. */
int hvm_boot_check_ram(u64 ram_size, const char **why);

/** One range of the guest's memory map (e820 / Multiboot types). */
struct hvm_mem_range {
	u64 base, length;
	u32 type;
};
#define HVM_MEM_RAM 1
#define HVM_MEM_RESERVED 2
#define HVM_MEM_RANGES_MAX 5

/** Fills r with the memory map of the layout above (sorted, without
 *  overlaps) and returns the number of ranges. */
/** True if gpa is RAM of a partition of ram_size bytes (not in the device
 *  windows below 4 GiB). */
static inline bool hvm_boot_is_ram(u64 ram_size, u64 gpa)
{
	return gpa < ram_size && (gpa < HVM_BOOT_MMIO_HOLE || gpa >= GiB(4));
}

unsigned hvm_boot_memory_map(u64 ram_size, struct hvm_mem_range r[HVM_MEM_RANGES_MAX]);

/** Writes the boot GDT at HVM_BOOT_GDT_GPA: a 64-bit code segment at 0x10
 *  if long, else a flat 32-bit one; a flat data segment at 0x18.  Sets
 *  out->gdt_base, gdt_limit, cs, ds. */
void hvm_boot_write_gdt(u8 *ram, bool long_mode, struct hvm_boot *out);

#endif
