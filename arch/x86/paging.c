/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The core's page tables (see paging.h).  The loader's tables also identity
 * map low memory; the core's do not, so a stray use of a physical address as
 * a pointer faults instead of working by accident.
 */
#include "arch/x86/paging.h"
#include "arch/x86/cpu.h"
#include "arch/x86/pagetable.h"
#include "kernel/errno.h"
#include "kernel/log.h"
#include "kernel/mm.h"

extern char __core_start[], __text_end[], __rodata_end[], __core_end[];

static struct pagetable core_pt;

static void *core_alloc_table(void *ctx, u64 *phys)
{
	hpa_t pa;

	(void)ctx;
	if (page_alloc(1, 1, &pa))
		return NULL;
	*phys = pa.v;
	return phys_to_virt(pa);
}

static void *core_table_virt(void *ctx, u64 phys)
{
	(void)ctx;
	return phys_to_virt(hpa(phys));
}

static int map_core_section(char *start, char *end, u64 flags)
{
	u64 va = (u64)start;

	return pt_map(&core_pt, va, va - CORE_VIRT_BASE + core_phys_base,
		      ALIGN_UP((u64)end - va, PAGE_SIZE), flags, false);
}

int paging_init(void)
{
	static const struct pt_ops ops = {
		.alloc_table = core_alloc_table,
		.table_virt = core_table_virt,
	};
	u64 top = ALIGN_UP(MAX(GiB(4), memory_top()), GiB(1));
	int err;

	err = pt_init(&core_pt, &pt_format_x86, &ops);
	if (err)
		return err;
	for (u64 pa = 0; pa < top; pa += LARGE_PAGE_SIZE) {
		u64 flags = PTE_P | PTE_W | PTE_NX;
		/* MTRRs normally make MMIO uncached already; PCD+PWT makes
		 * it so whatever the firmware left in them (SDM Vol. 3A
		 * §11.5.2.2, effective memory type from PAT and MTRR). */
		if (!memory_block_is_ram(pa, LARGE_PAGE_SIZE))
			flags |= PTE_PCD | PTE_PWT;
		err = pt_map(&core_pt, DIRECT_MAP_BASE + pa, pa, LARGE_PAGE_SIZE, flags, true);
		if (err)
			goto fail;
	}
	if ((err = map_core_section(__core_start, __text_end, PTE_P)) ||
	    (err = map_core_section(__text_end, __rodata_end, PTE_P | PTE_NX)) ||
	    (err = map_core_section(__rodata_end, __core_end, PTE_P | PTE_W | PTE_NX)))
		goto fail;

	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	write_cr0(read_cr0() | CR0_WP);
	write_cr3(core_pt.root_phys);
	log_line("paging: own tables loaded, direct map of %llu GiB, %llu tables",
		 (unsigned long long)(top >> 30), (unsigned long long)core_pt.table_count);
	return 0;

fail:
	log_line("paging: cannot build the core's tables (%s)", errno_name(err));
	return err;
}

u64 paging_root(void)
{
	return core_pt.root_phys;
}
