/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The physical page allocator's pure logic: a bitmap with one bit per 4 KiB
 * page from physical address 0, bit set = page not available.  It knows
 * nothing about where its bitmap lives or which pages are RAM: the core's
 * memory.c feeds it from the boot memory map, and the host unit tests feed it
 * from arrays.  Not locked; the caller serializes.
 */
#ifndef PARTITA_PALLOC_H
#define PARTITA_PALLOC_H

#include "kernel/lib/types.h"

struct palloc {
	u64 *bitmap;
	u64 page_count; /* pages covered by the bitmap */
	u64 free_count;
	u64 hint; /* where the next search starts */
};

/** Bytes of bitmap needed to cover page_count pages. */
static inline u64 palloc_bitmap_bytes(u64 page_count)
{
	return ALIGN_UP(page_count, 64) / 8;
}

/** Starts with every page unavailable. */
void palloc_init(struct palloc *pa, u64 *bitmap, u64 page_count);

/** Makes pages [first, first+count) available; the part beyond the bitmap
 *  is ignored.  For feeding the allocator at boot. */
void palloc_add(struct palloc *pa, u64 first, u64 count);

/** Makes pages unavailable again (e.g. the bitmap's own pages); the part
 *  beyond the bitmap is ignored. */
void palloc_remove(struct palloc *pa, u64 first, u64 count);

/**
 * Allocates count contiguous pages whose first page number is a multiple of
 * align (a power of two, in pages).  Returns 0 and the first page in *first,
 * or -E_NOMEM, or -E_INVAL for count 0 or a bad align.
 */
int palloc_alloc(struct palloc *pa, u64 count, u64 align, u64 *first);

/**
 * Frees pages returned by palloc_alloc.  Returns -E_INVAL, changing nothing,
 * if any page is out of range or already free (a double free).
 */
int palloc_free(struct palloc *pa, u64 first, u64 count);

/** True if the page is available. */
bool palloc_is_free(const struct palloc *pa, u64 page);

#endif
