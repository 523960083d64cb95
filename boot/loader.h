/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Internal interface of the loaders (boot/): the UEFI loader, and the parts
 * the Multiboot2 loader (mb2_*, mb2.h) shares with it.  The UEFI loader is
 * split into firmware glue (efi_main.c, efi_util.c: everything that calls
 * UEFI) and pure logic that only touches memory it is given (elf_load.c,
 * pagetable.c, memmap.c), so the pure parts can also be built and tested on
 * the host, and reused by the Multiboot2 loader.
 *
 * Physical memory the loader allocates, by UEFI memory type.  The types are in
 * the range UEFI reserves for operating systems (>= 0x80000000, UEFI 2.10
 * section 7.2.1, AllocatePages()), so they show as themselves in the final
 * memory map and memmap.c can turn them into the boot_info types:
 *   LOADER_MEM_CORE        the core image (2 MiB aligned)       BOOT_MEM_CORE
 *   LOADER_MEM_BOOT_DATA   boot_info, config, modules, the
 *                          initial page tables                  BOOT_MEM_BOOT_DATA
 *   LOADER_MEM_TRAMPOLINE  one page below 1 MiB for SMP start    BOOT_MEM_TRAMPOLINE
 * Everything else the loader allocates (its memory map buffer and scratch) is
 * plain LoaderData and becomes usable once the core runs.
 */
#ifndef PARTITA_BOOT_LOADER_H
#define PARTITA_BOOT_LOADER_H

#include "boot/boot_info.h"
#include "kernel/lib/types.h"

#define LOADER_MEM_CORE 0x80000001u
#define LOADER_MEM_BOOT_DATA 0x80000002u
#define LOADER_MEM_TRAMPOLINE 0x80000003u

/* ------------------------------------------------------------ elf_load.c */

/** What elf_core_inspect() learned about the core's ELF image. */
struct core_layout {
	u64 span;  /* bytes from CORE_VIRT_BASE to the end of the last segment */
	u64 entry; /* virtual entry point (e_entry) */
};

/**
 * Validates an ELF64 x86-64 ET_EXEC image of size bytes whose PT_LOAD
 * segments all lie at or above CORE_VIRT_BASE, inside the file and below
 * CORE_VIRT_BASE + 1 GiB, and whose entry lies inside a segment.  Fills
 * *out.  Returns 0, or -E_INVAL with *why set to a short reason.
 */
int elf_core_inspect(const void *image, u64 size, struct core_layout *out, const char **why);

/**
 * Copies the PT_LOAD segments of an image that elf_core_inspect() accepted
 * to dst (which stands for CORE_VIRT_BASE and holds span bytes) and zeroes
 * everything else in dst, bss included.
 */
void elf_core_copy(const void *image, void *dst, u64 span);

/* ----------------------------------------------------------- pagetable.c */

/**
 * Number of 4 KiB pages pt_build() needs to map [0, top) twice (identity
 * and at DIRECT_MAP_BASE) and the core's core_size bytes at CORE_VIRT_BASE.
 * top must be a multiple of 1 GiB and at most PT_MAX_TOP; core_size at most
 * 1 GiB.
 */
u64 pt_pages_needed(u64 top, u64 core_size);

#define PT_MAX_TOP (64ULL << 40) /* 64 TiB: PML4 entries 0..127 */

/**
 * Builds 4-level tables in mem (pt_pages_needed() pages, page aligned,
 * identity-addressable: mem's address is its physical address) with 2 MiB
 * pages: [0, top) at 0 and at DIRECT_MAP_BASE, [core_phys, core_phys +
 * core_size) at CORE_VIRT_BASE.  Present, writable, supervisor, no NX bit.
 * core_phys must be 2 MiB aligned.  Returns the physical address of the PML4
 * (the value for CR3).
 */
u64 pt_build(void *mem, u64 top, u64 core_phys, u64 core_size);

/* ------------------------------------------------------------- memmap.c */

/**
 * Turns raw ranges (any order; overlaps allowed, where the type that
 * memmap_type_strength() rates higher wins) in in[0..n) into sorted,
 * non-overlapping ranges with adjacent ranges of one type merged.  out must
 * have room for 2 * n entries and points for 2 * n values.  Returns the
 * number of entries written to out.  in is sorted in place.
 */
size_t memmap_normalize(struct boot_mem_region *in, size_t n, u64 *points,
			struct boot_mem_region *out);

/**
 * Shrinks a normalized map of *count entries to at most max by dropping
 * the smallest entries, least important first: reserved/MMIO/unusable,
 * then firmware/ACPI, then usable RAM; the core image, boot data and
 * trampoline are never dropped.  A dropped range becomes a gap, which the
 * core treats as memory it must not use, so nothing unusable ever turns
 * usable.  Returns the number of usable bytes lost (0 in every sane case).
 */
u64 memmap_fit(struct boot_mem_region *map, size_t *count, size_t max);

/** Which of two overlapping types wins: the higher strength. */
int memmap_type_strength(u32 type);

/**
 * Maps a UEFI memory type (EfiConventionalMemory = 7, ...) or one of the
 * LOADER_MEM_* types to an enum boot_mem_type.
 */
u32 memmap_type_from_efi(u32 efi_type);

/* ------------------------------------------------------------ hand-off */

/**
 * Loads CR3 and jumps to the core's entry with the boot_info's physical
 * address in RDI, interrupts off.  The caller's code, stack and the
 * boot_info must be identity-mapped in both the current tables and the new
 * ones (pt_build() maps [0, top) at 0).  Both loaders end here, so the core
 * starts in the same state whichever started it.
 */
static inline __noreturn void loader_enter_core(u64 cr3, u64 entry, u64 boot_info)
{
	asm volatile("cli\n\t"
		     "mov %0, %%cr3\n\t"
		     "jmp *%1"
		     :
		     : "r"(cr3), "r"(entry), "D"(boot_info)
		     : "memory");
	__builtin_unreachable();
}

#endif
