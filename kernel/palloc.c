/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Bitmap page allocator (see palloc.h).  First fit from a moving hint, which
 * keeps single-page allocations cheap; multi-page and aligned requests scan
 * in aligned steps.
 */
#include "kernel/palloc.h"
#include "kernel/errno.h"

static bool bit_test(const struct palloc *pa, u64 page)
{
	return pa->bitmap[page / 64] & (1ULL << (page % 64));
}

static void bit_set(struct palloc *pa, u64 page)
{
	pa->bitmap[page / 64] |= 1ULL << (page % 64);
}

static void bit_clear(struct palloc *pa, u64 page)
{
	pa->bitmap[page / 64] &= ~(1ULL << (page % 64));
}

void palloc_init(struct palloc *pa, u64 *bitmap, u64 page_count)
{
	pa->bitmap = bitmap;
	pa->page_count = page_count;
	pa->free_count = 0;
	pa->hint = 0;
	for (u64 i = 0; i < palloc_bitmap_bytes(page_count) / 8; i++)
		bitmap[i] = ~0ULL;
}

static u64 clamp_end(const struct palloc *pa, u64 first, u64 count)
{
	if (first >= pa->page_count)
		return first;
	if (count > pa->page_count - first)
		return pa->page_count;
	return first + count;
}

void palloc_add(struct palloc *pa, u64 first, u64 count)
{
	u64 end = clamp_end(pa, first, count);

	for (u64 p = first; p < end; p++) {
		if (bit_test(pa, p)) {
			bit_clear(pa, p);
			pa->free_count++;
		}
	}
}

void palloc_remove(struct palloc *pa, u64 first, u64 count)
{
	u64 end = clamp_end(pa, first, count);

	for (u64 p = first; p < end; p++) {
		if (!bit_test(pa, p)) {
			bit_set(pa, p);
			pa->free_count--;
		}
	}
}

bool palloc_is_free(const struct palloc *pa, u64 page)
{
	return page < pa->page_count && !bit_test(pa, page);
}

/* Returns the first used page in [start, start+count), or start+count. */
static u64 first_used(const struct palloc *pa, u64 start, u64 count)
{
	for (u64 p = start; p < start + count; p++)
		if (bit_test(pa, p))
			return p;
	return start + count;
}

static bool search(struct palloc *pa, u64 from, u64 to, u64 count, u64 align, u64 *first)
{
	u64 p = ALIGN_UP(from, align);

	while (p < to && count <= to - p) {
		/* Skip whole used words quickly for single pages. */
		if (align == 1 && p % 64 == 0 && pa->bitmap[p / 64] == ~0ULL) {
			p += 64;
			continue;
		}
		u64 used = first_used(pa, p, count);
		if (used == p + count) {
			*first = p;
			return true;
		}
		p = ALIGN_UP(used + 1, align);
	}
	return false;
}

int palloc_alloc(struct palloc *pa, u64 count, u64 align, u64 *first)
{
	if (count == 0 || align == 0 || (align & (align - 1)))
		return -E_INVAL;
	if (count > pa->free_count)
		return -E_NOMEM;
	u64 hint = pa->hint < pa->page_count ? pa->hint : 0;
	/* Search from the hint to the end, then from 0 up to the hint (plus
	 * the request, so a run that straddles the hint is still found). */
	if (!search(pa, hint, pa->page_count, count, align, first) &&
	    !search(pa, 0, MIN(pa->page_count, hint + count), count, align, first))
		return -E_NOMEM;
	for (u64 p = *first; p < *first + count; p++)
		bit_set(pa, p);
	pa->free_count -= count;
	pa->hint = *first + count;
	return 0;
}

int palloc_free(struct palloc *pa, u64 first, u64 count)
{
	if (count == 0 || first >= pa->page_count || count > pa->page_count - first)
		return -E_INVAL;
	for (u64 p = first; p < first + count; p++)
		if (!bit_test(pa, p))
			return -E_INVAL;
	for (u64 p = first; p < first + count; p++)
		bit_clear(pa, p);
	pa->free_count += count;
	if (first < pa->hint)
		pa->hint = first;
	return 0;
}
