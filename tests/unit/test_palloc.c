/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the page allocator's pure logic (kernel/palloc.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kernel/errno.h"
#include "kernel/palloc.h"

#define PAGES 1000
static u64 bitmap[(PAGES + 63) / 64];
static struct palloc pa;

static int setup(void **state)
{
	(void)state;
	palloc_init(&pa, bitmap, PAGES);
	return 0;
}

static void starts_empty(void **state)
{
	u64 first;
	(void)state;
	assert_int_equal(pa.free_count, 0);
	assert_int_equal(palloc_alloc(&pa, 1, 1, &first), -E_NOMEM);
}

static void hands_out_only_added_pages(void **state)
{
	u64 first;
	(void)state;
	palloc_add(&pa, 100, 10);
	assert_int_equal(pa.free_count, 10);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(palloc_alloc(&pa, 1, 1, &first), 0);
		assert_true(first >= 100 && first < 110);
	}
	assert_int_equal(palloc_alloc(&pa, 1, 1, &first), -E_NOMEM);
	assert_int_equal(pa.free_count, 0);
}

static void removed_pages_are_never_returned(void **state)
{
	u64 first;
	(void)state;
	palloc_add(&pa, 0, PAGES);
	palloc_remove(&pa, 200, 50); /* e.g. the core's image */
	while (palloc_alloc(&pa, 1, 1, &first) == 0)
		assert_false(first >= 200 && first < 250);
	assert_int_equal(pa.free_count, 0);
}

static void contiguous_and_aligned(void **state)
{
	u64 first;
	(void)state;
	palloc_add(&pa, 3, 900);
	/* pages 3..902 are free: 256-aligned runs fit at 256 and 512 only */
	assert_int_equal(palloc_alloc(&pa, 256, 256, &first), 0);
	assert_int_equal(first, 256);
	assert_int_equal(palloc_alloc(&pa, 256, 256, &first), 0);
	assert_int_equal(first, 512);
	assert_int_equal(palloc_alloc(&pa, 256, 256, &first), -E_NOMEM);
	assert_int_equal(palloc_alloc(&pa, 100, 4, &first), 0);
	assert_int_equal(first % 4, 0);
	for (u64 p = first; p < first + 100; p++)
		assert_false(palloc_is_free(&pa, p));
}

static void skips_holes_for_contiguous_runs(void **state)
{
	u64 first;
	(void)state;
	palloc_add(&pa, 10, 5);
	palloc_add(&pa, 20, 8);
	assert_int_equal(palloc_alloc(&pa, 6, 1, &first), 0);
	assert_int_equal(first, 20);
	assert_int_equal(palloc_alloc(&pa, 6, 1, &first), -E_NOMEM);
	assert_int_equal(palloc_alloc(&pa, 5, 1, &first), 0);
	assert_int_equal(first, 10);
}

static void free_returns_pages_and_detects_double_free(void **state)
{
	u64 first;
	(void)state;
	palloc_add(&pa, 0, 64);
	assert_int_equal(palloc_alloc(&pa, 8, 1, &first), 0);
	assert_int_equal(pa.free_count, 56);
	assert_int_equal(palloc_free(&pa, first, 8), 0);
	assert_int_equal(pa.free_count, 64);
	assert_int_equal(palloc_free(&pa, first, 8), -E_INVAL);
	assert_int_equal(pa.free_count, 64);
	/* A partly-free range is refused whole. */
	assert_int_equal(palloc_alloc(&pa, 4, 1, &first), 0);
	assert_int_equal(palloc_free(&pa, first, 5), -E_INVAL);
	assert_false(palloc_is_free(&pa, first));
}

static void rejects_bad_arguments(void **state)
{
	u64 first;
	(void)state;
	palloc_add(&pa, 0, 64);
	assert_int_equal(palloc_alloc(&pa, 0, 1, &first), -E_INVAL);
	assert_int_equal(palloc_alloc(&pa, 1, 3, &first), -E_INVAL);
	assert_int_equal(palloc_alloc(&pa, 1, 0, &first), -E_INVAL);
	assert_int_equal(palloc_free(&pa, PAGES, 1), -E_INVAL);
	assert_int_equal(palloc_free(&pa, PAGES - 1, 2), -E_INVAL);
	assert_int_equal(palloc_free(&pa, 0, 0), -E_INVAL);
}

static void add_beyond_bitmap_is_clamped(void **state)
{
	(void)state;
	palloc_add(&pa, PAGES - 10, 100);
	assert_int_equal(pa.free_count, 10);
	palloc_add(&pa, PAGES + 5, 100);
	assert_int_equal(pa.free_count, 10);
}

static void reuses_freed_pages_after_wrapping(void **state)
{
	u64 first, a;
	(void)state;
	palloc_add(&pa, 0, 16);
	assert_int_equal(palloc_alloc(&pa, 1, 1, &a), 0);
	for (int i = 0; i < 15; i++)
		assert_int_equal(palloc_alloc(&pa, 1, 1, &first), 0);
	assert_int_equal(palloc_free(&pa, a, 1), 0);
	assert_int_equal(palloc_alloc(&pa, 1, 1, &first), 0);
	assert_int_equal(first, a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(starts_empty, setup),
		cmocka_unit_test_setup(hands_out_only_added_pages, setup),
		cmocka_unit_test_setup(removed_pages_are_never_returned, setup),
		cmocka_unit_test_setup(contiguous_and_aligned, setup),
		cmocka_unit_test_setup(skips_holes_for_contiguous_runs, setup),
		cmocka_unit_test_setup(free_returns_pages_and_detects_double_free, setup),
		cmocka_unit_test_setup(rejects_bad_arguments, setup),
		cmocka_unit_test_setup(add_beyond_bitmap_is_clamped, setup),
		cmocka_unit_test_setup(reuses_freed_pages_after_wrapping, setup),
	};
	return cmocka_run_group_tests_name("palloc", tests, NULL, NULL);
}
