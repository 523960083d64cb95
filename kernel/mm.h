/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Physical memory of the core: the direct map and the page allocator.
 *
 * Virtual memory map of the core (boot/boot_info.h defines the constants):
 *
 *   0xffffffff80000000  CORE_VIRT_BASE   the core image (linker.ld), mapped
 *                                        4 KiB pages, text RX, data RW NX
 *   0xffff800000000000  DIRECT_MAP_BASE  all physical memory from 0 to the
 *                                        top of RAM (at least 4 GiB, so the
 *                                        LAPIC, IOAPIC and HPET are in it)
 *   below                                unmapped
 */
#ifndef PARTITA_MM_H
#define PARTITA_MM_H

#include "boot/boot_info.h"
#include "kernel/lib/types.h"

static inline void *phys_to_virt(hpa_t pa)
{
	return (void *)(uintptr_t)(pa.v + DIRECT_MAP_BASE);
}
static inline hpa_t virt_to_phys(const void *va)
{
	u64 v = (u64)(uintptr_t)va;
	extern u64 core_phys_base;
	if (v >= CORE_VIRT_BASE)
		return hpa(v - CORE_VIRT_BASE + core_phys_base);
	return hpa(v - DIRECT_MAP_BASE);
}

/** Physical base of the core image, set from boot_info at entry. */
extern u64 core_phys_base;

struct boot_info;

/**
 * Feeds the page allocator from the boot memory map: every BOOT_MEM_USABLE
 * page at or above 1 MiB becomes available; the core image, the boot data,
 * the trampoline page, ACPI and firmware memory never do.  Logs the usable
 * memory.  Returns 0, or -E_NOMEM if there is no room for the bitmap.
 */
int memory_init(const struct boot_info *bi);

/** Allocates count zeroed, contiguous pages aligned to align pages (a power
 *  of two).  Returns 0 and the address in *out, or -E_NOMEM. */
int page_alloc(u64 count, u64 align, hpa_t *out);

/** Frees pages from page_alloc; a bad free is a hypervisor bug and panics. */
void page_free(hpa_t pa, u64 count);

/** Highest physical address of RAM (exclusive), from the boot map. */
u64 memory_top(void);

/** True if the 2 MiB-aligned block at base holds any RAM or firmware data
 *  (anything but MMIO or holes), so it may be mapped write-back. */
bool memory_block_is_ram(u64 base, u64 size);

struct memory_stats {
	u64 usable_bytes; /* BOOT_MEM_USABLE in the boot map */
	u64 free_bytes;	  /* in the allocator now */
	u64 core_bytes;	  /* the core image */
	u64 boot_data_bytes;
};
void memory_get_stats(struct memory_stats *st);
#endif
