/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the four-level table builder (arch/x86/pagetable.c), on heap
 * memory where a table's "physical" address is its pointer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/pagetable.h"
#include "kernel/errno.h"

static int tables_live;
static int alloc_budget; /* -1: unlimited */

static void *heap_alloc_table(void *ctx, u64 *phys)
{
	(void)ctx;
	if (alloc_budget == 0)
		return NULL;
	if (alloc_budget > 0)
		alloc_budget--;
	void *t = aligned_alloc(4096, 4096);
	memset(t, 0, 4096);
	*phys = (u64)(uintptr_t)t;
	tables_live++;
	return t;
}

static void *heap_table_virt(void *ctx, u64 phys)
{
	(void)ctx;
	return (void *)(uintptr_t)phys;
}

static void heap_free_table(void *ctx, void *t, u64 phys)
{
	(void)ctx;
	(void)phys;
	free(t);
	tables_live--;
}

static const struct pt_ops ops = { heap_alloc_table, heap_table_virt, heap_free_table, NULL };
static struct pagetable pt;

static int setup(void **state)
{
	(void)state;
	tables_live = 0;
	alloc_budget = -1;
	return pt_init(&pt, &pt_format_x86, &ops);
}

static int teardown(void **state)
{
	(void)state;
	pt_destroy(&pt);
	assert_int_equal(tables_live, 0);
	return 0;
}

static void maps_and_translates_4k(void **state)
{
	u64 pa, flags, size;
	(void)state;
	assert_int_equal(pt_map(&pt, 0x400000, 0x1234000, 0x3000, PTE_P | PTE_W, true), 0);
	assert_int_equal(pt_lookup(&pt, 0x401abc, &pa, &flags, &size), 0);
	assert_int_equal(pa, 0x1235abc);
	assert_int_equal(size, 4096);
	assert_true(flags & PTE_W);
	assert_false(flags & PTE_PS);
	assert_int_equal(pt_lookup(&pt, 0x403000, &pa, &flags, &size), -E_NOENT);
	assert_int_equal(pt_lookup(&pt, 0x3ff000, &pa, &flags, &size), -E_NOENT);
}

static void uses_2m_pages_when_aligned(void **state)
{
	u64 pa, flags, size;
	(void)state;
	/* 4 KiB head, two 2 MiB pages, 4 KiB tail. */
	assert_int_equal(pt_map(&pt, 0x1ff000, 0x81ff000, 0x402000, PTE_P, true), 0);
	assert_int_equal(pt_lookup(&pt, 0x1ff000, &pa, &flags, &size), 0);
	assert_int_equal(size, 4096);
	assert_int_equal(pt_lookup(&pt, 0x300123, &pa, &flags, &size), 0);
	assert_int_equal(size, 2 << 20);
	assert_int_equal(pa, 0x8300123);
	assert_true(flags & PTE_PS);
	assert_int_equal(pt_lookup(&pt, 0x600000, &pa, &flags, &size), 0);
	assert_int_equal(size, 4096);
	assert_int_equal(pa, 0x8600000);
}

static void no_2m_pages_when_refused_or_misaligned(void **state)
{
	u64 pa, flags, size;
	(void)state;
	assert_int_equal(pt_map(&pt, 0x200000, 0x400000, 0x200000, PTE_P, false), 0);
	assert_int_equal(pt_lookup(&pt, 0x200000, &pa, &flags, &size), 0);
	assert_int_equal(size, 4096);
	/* pa not 2 MiB aligned: must fall back to 4 KiB pages. */
	assert_int_equal(pt_map(&pt, 0x800000, 0x401000, 0x200000, PTE_P, true), 0);
	assert_int_equal(pt_lookup(&pt, 0x900000, &pa, &flags, &size), 0);
	assert_int_equal(size, 4096);
	assert_int_equal(pa, 0x501000);
}

static void refuses_overlap_without_change(void **state)
{
	u64 pa, flags, size;
	(void)state;
	assert_int_equal(pt_map(&pt, 0x10000, 0x10000, 0x1000, PTE_P, true), 0);
	assert_int_equal(pt_map(&pt, 0xf000, 0x90000, 0x3000, PTE_P, true), -E_EXIST);
	assert_int_equal(pt_lookup(&pt, 0xf000, &pa, &flags, &size), -E_NOENT);
	assert_int_equal(pt_lookup(&pt, 0x10000, &pa, &flags, &size), 0);
	assert_int_equal(pa, 0x10000);
}

static void rejects_bad_ranges(void **state)
{
	(void)state;
	assert_int_equal(pt_map(&pt, 0x1001, 0x1000, 0x1000, PTE_P, true), -E_INVAL);
	assert_int_equal(pt_map(&pt, 0x1000, 0x1001, 0x1000, PTE_P, true), -E_INVAL);
	assert_int_equal(pt_map(&pt, 0x1000, 0x1000, 0, PTE_P, true), -E_INVAL);
	assert_int_equal(pt_map(&pt, 0x1000, 0x1000, 0x1800, PTE_P, true), -E_INVAL);
	/* non-canonical, and a range crossing the canonical hole */
	assert_int_equal(pt_map(&pt, 0x0000800000000000ULL, 0, 0x1000, PTE_P, true), -E_INVAL);
	assert_int_equal(pt_map(&pt, 0x00007ffffffff000ULL, 0, 0x2000, PTE_P, true), -E_INVAL);
	/* physical address beyond 52 bits */
	assert_int_equal(pt_map(&pt, 0x1000, 1ULL << 52, 0x1000, PTE_P, true), -E_INVAL);
}

static void maps_the_higher_half(void **state)
{
	u64 pa, flags, size;
	(void)state;
	assert_int_equal(pt_map(&pt, 0xffffffff80000000ULL, 0x200000, 0x5000, PTE_P | PTE_NX,
				false),
			 0);
	assert_int_equal(pt_lookup(&pt, 0xffffffff80004008ULL, &pa, &flags, &size), 0);
	assert_int_equal(pa, 0x204008);
	assert_true(flags & PTE_NX);
}

static void unmap_removes_and_reports_holes(void **state)
{
	u64 pa, flags, size;
	(void)state;
	assert_int_equal(pt_map(&pt, 0x0, 0x0, 0x400000, PTE_P, true), 0);
	/* cutting a 2 MiB leaf is refused, and nothing changes */
	assert_int_equal(pt_unmap(&pt, 0x0, 0x1000), -E_INVAL);
	assert_int_equal(pt_lookup(&pt, 0x0, &pa, &flags, &size), 0);
	assert_int_equal(pt_unmap(&pt, 0x200000, 0x200000), 0);
	assert_int_equal(pt_lookup(&pt, 0x200000, &pa, &flags, &size), -E_NOENT);
	assert_int_equal(pt_lookup(&pt, 0x1fffff, &pa, &flags, &size), 0);
	assert_int_equal(pt_unmap(&pt, 0x200000, 0x1000), -E_NOENT);
	/* after unmapping, the range can be mapped again with 4 KiB pages */
	assert_int_equal(pt_map(&pt, 0x200000, 0x999000, 0x1000, PTE_P, true), 0);
	assert_int_equal(pt_lookup(&pt, 0x200000, &pa, &flags, &size), 0);
	assert_int_equal(pa, 0x999000);
}

static void out_of_memory_is_reported(void **state)
{
	(void)state;
	alloc_budget = 1; /* PDPT only; the PD cannot be allocated */
	assert_int_equal(pt_map(&pt, 0x40000000, 0x0, 0x1000, PTE_P, true), -E_NOMEM);
	alloc_budget = -1;
	assert_int_equal(pt_map(&pt, 0x40000000, 0x0, 0x1000, PTE_P, true), 0);
}

static void counts_tables(void **state)
{
	(void)state;
	assert_int_equal(pt.table_count, 1);
	assert_int_equal(pt_map(&pt, 0, 0, 1ULL << 30, PTE_P, true), 0);
	/* root + PDPT + one PD, no page tables with 2 MiB leaves */
	assert_int_equal(pt.table_count, 3);
	assert_int_equal(tables_live, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(maps_and_translates_4k, setup, teardown),
		cmocka_unit_test_setup_teardown(uses_2m_pages_when_aligned, setup, teardown),
		cmocka_unit_test_setup_teardown(no_2m_pages_when_refused_or_misaligned, setup,
						teardown),
		cmocka_unit_test_setup_teardown(refuses_overlap_without_change, setup, teardown),
		cmocka_unit_test_setup_teardown(rejects_bad_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(maps_the_higher_half, setup, teardown),
		cmocka_unit_test_setup_teardown(unmap_removes_and_reports_holes, setup, teardown),
		cmocka_unit_test_setup_teardown(out_of_memory_is_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(counts_tables, setup, teardown),
	};
	return cmocka_run_group_tests_name("pagetable", tests, NULL, NULL);
}
