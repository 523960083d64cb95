/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The initial page tables the loader hands to the core (see loader.h).
 * 4-level paging with 2 MiB pages (Intel SDM vol. 3A section 4.5, "4-Level
 * Paging"; AMD APM vol. 2 section 5.3).  Layout of the pages pt_build() fills:
 *
 *   page 0                      PML4
 *   pages 1 .. P                PDPTs of [0, top), P = top / 512 GiB rounded up
 *   pages P+1 .. P+G            page directories, G = top / 1 GiB
 *   page P+G+1                  PDPT of the core (PML4 entry 511)
 *   page P+G+2                  page directory of the core (PDPT entry 510)
 *
 * PML4 entries 0.. and 256.. point at the same PDPTs, so the identity map and
 * the direct map at DIRECT_MAP_BASE share every table below the PML4.  No
 * entry sets NX (bit 63), so the tables are valid whether or not the firmware
 * left EFER.NXE set.  Memory types come from the MTRRs (PAT entry 0, WB), so
 * MMIO below 4 GiB stays uncached as the firmware's MTRRs say.
 */
#include "boot/loader.h"
#include "kernel/lib/string.h"

#define PTE_P (1ULL << 0)
#define PTE_RW (1ULL << 1)
#define PTE_PS (1ULL << 7) /* 2 MiB page in a page-directory entry */

#define ENTRIES 512
#define PDPT_SPAN (512ULL << 30) /* bytes one PDPT maps: 512 GiB */

static u64 pdpt_count(u64 top)
{
	return (top + PDPT_SPAN - 1) / PDPT_SPAN;
}

u64 pt_pages_needed(u64 top, u64 core_size)
{
	(void)core_size; /* at most 1 GiB: one PD, whatever its size */
	return 1 + pdpt_count(top) + top / GiB(1) + 2;
}

static u64 *page(void *mem, u64 index)
{
	return (u64 *)((u8 *)mem + index * PAGE_SIZE);
}

static u64 phys(const u64 *table)
{
	return (u64)(uintptr_t)table;
}

u64 pt_build(void *mem, u64 top, u64 core_phys, u64 core_size)
{
	u64 pdpts = pdpt_count(top), gibs = top / GiB(1);
	u64 *pml4 = page(mem, 0);
	u64 *core_pdpt = page(mem, 1 + pdpts + gibs);
	u64 *core_pd = page(mem, 2 + pdpts + gibs);
	u64 i, j, addr;

	memset(mem, 0, pt_pages_needed(top, core_size) * PAGE_SIZE);

	/* [0, top): one PD per GiB, 2 MiB pages, reached through both halves. */
	for (i = 0; i < gibs; i++) {
		u64 *pd = page(mem, 1 + pdpts + i);
		u64 *pdpt = page(mem, 1 + i / ENTRIES);

		for (j = 0; j < ENTRIES; j++) {
			addr = i * GiB(1) + j * LARGE_PAGE_SIZE;
			pd[j] = addr | PTE_P | PTE_RW | PTE_PS;
		}
		pdpt[i % ENTRIES] = phys(pd) | PTE_P | PTE_RW;
	}
	for (i = 0; i < pdpts; i++) {
		u64 entry = phys(page(mem, 1 + i)) | PTE_P | PTE_RW;

		pml4[i] = entry;
		pml4[(DIRECT_MAP_BASE >> 39) % ENTRIES + i] = entry;
	}

	/* The core: PML4 entry 511, PDPT entry 510, 2 MiB pages. */
	for (j = 0; j * LARGE_PAGE_SIZE < core_size; j++)
		core_pd[j] = (core_phys + j * LARGE_PAGE_SIZE) | PTE_P | PTE_RW | PTE_PS;
	core_pdpt[(CORE_VIRT_BASE >> 30) % ENTRIES] = phys(core_pd) | PTE_P | PTE_RW;
	pml4[(CORE_VIRT_BASE >> 39) % ENTRIES] = phys(core_pdpt) | PTE_P | PTE_RW;

	return phys(pml4);
}
