/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Four-level translation table builder (see pagetable.h).
 */
#include "arch/x86/pagetable.h"
#include "kernel/errno.h"

const struct pt_format pt_format_x86 = {
	.table_flags = PTE_P | PTE_W | PTE_U,
	.present_mask = PTE_P,
	.large_bit = PTE_PS,
};

const struct pt_format pt_format_x86_pae = {
	.present_mask = PTE_P,
	.large_bit = PTE_PS,
	.levels = 3,
	.entry_bytes = 8,
	.large_levels = 1u << 1,
};

const struct pt_format pt_format_x86_32 = {
	.present_mask = PTE_P,
	.large_bit = 0,
	.levels = 2,
	.entry_bytes = 4,
	.large_levels = 0,
};

const struct pt_format pt_format_x86_32_pse = {
	.present_mask = PTE_P,
	.large_bit = PTE_PS,
	.levels = 2,
	.entry_bytes = 4,
	.large_levels = 1u << 1,
};

#define LEVEL_SHIFT(level) (12 + 9 * (level)) /* level 0 = PT ... 3 = PML4 */
#define INDEX(va, level) (((va) >> LEVEL_SHIFT(level)) & 511)

int pt_init(struct pagetable *pt, const struct pt_format *fmt, const struct pt_ops *ops)
{
	pt->fmt = fmt;
	pt->ops = *ops;
	pt->table_count = 0;
	pt->root = pt->ops.alloc_table(pt->ops.ctx, &pt->root_phys);
	if (!pt->root)
		return -E_NOMEM;
	pt->table_count = 1;
	return 0;
}

static bool present(const struct pagetable *pt, u64 e)
{
	return (e & pt->fmt->present_mask) != 0;
}

static u64 *table_at(const struct pagetable *pt, u64 entry)
{
	return pt->ops.table_virt(pt->ops.ctx, entry & PTE_ADDR_MASK);
}

/* Walks down to the table of the given level for va, creating tables if
 * create is set.  Returns NULL if a table is missing (and !create), if a
 * large leaf is in the way, or if allocation fails (*nomem set). */
static u64 *walk(struct pagetable *pt, u64 va, int level, bool create, bool *nomem)
{
	u64 *table = pt->root;

	for (int l = 3; l > level; l--) {
		u64 *e = &table[INDEX(va, l)];
		if (!present(pt, *e)) {
			if (!create)
				return NULL;
			u64 phys;
			void *t = pt->ops.alloc_table(pt->ops.ctx, &phys);
			if (!t) {
				*nomem = true;
				return NULL;
			}
			pt->table_count++;
			*e = phys | pt->fmt->table_flags;
		} else if (*e & pt->fmt->large_bit) {
			return NULL;
		}
		table = table_at(pt, *e);
	}
	return table;
}

static bool canonical48(u64 va)
{
	u64 top = va >> 47;
	return top == 0 || top == 0x1ffff;
}

static bool range_ok(u64 va, u64 size)
{
	if ((va | size) & (PAGE_SIZE - 1) || size == 0)
		return false;
	u64 last = va + size - 1;
	if (last < va)
		return false;
	/* The range must not cross the non-canonical hole. */
	return canonical48(va) && canonical48(last) && (va >> 47) == (last >> 47);
}

/* Says whether va is mapped, and how far from va the answer holds: to the
 * end of the leaf, or of the region an absent entry would have covered. */
static bool probe(const struct pagetable *pt, u64 va, u64 *span)
{
	u64 *table = pt->root;

	for (int l = 3; l >= 0; l--) {
		u64 e = table[INDEX(va, l)];
		u64 region = 1ULL << LEVEL_SHIFT(l);
		*span = region - (va & (region - 1));
		if (!present(pt, e))
			return false;
		if (l == 0 || (l <= 2 && (e & pt->fmt->large_bit)))
			return true;
		table = table_at(pt, e);
	}
	return false;
}

static bool range_is_free(const struct pagetable *pt, u64 va, u64 size)
{
	for (u64 off = 0; off < size;) {
		u64 span;
		if (probe(pt, va + off, &span))
			return false;
		off += span;
	}
	return true;
}

int pt_map(struct pagetable *pt, u64 va, u64 pa, u64 size, u64 leaf_flags, bool allow_large)
{
	bool nomem = false;

	if (!range_ok(va, size) || (pa & (PAGE_SIZE - 1)) || (pa + size - 1) < pa ||
	    ((pa + size - 1) & ~PTE_ADDR_MASK & ~(PAGE_SIZE - 1)))
		return -E_INVAL;
	if (!range_is_free(pt, va, size))
		return -E_EXIST;

	for (u64 off = 0; off < size;) {
		u64 v = va + off, p = pa + off;
		if (allow_large && !(v & (LARGE_PAGE_SIZE - 1)) && !(p & (LARGE_PAGE_SIZE - 1)) &&
		    size - off >= LARGE_PAGE_SIZE) {
			u64 *pd = walk(pt, v, 1, true, &nomem);
			u64 *e = pd ? &pd[INDEX(v, 1)] : NULL;
			/* An empty PD entry can take a large leaf; one that
			 * points to a page table already cannot. */
			if (e && !present(pt, *e)) {
				*e = p | leaf_flags | pt->fmt->large_bit;
				off += LARGE_PAGE_SIZE;
				continue;
			}
			if (nomem)
				return -E_NOMEM;
		}
		u64 *ptab = walk(pt, v, 0, true, &nomem);
		if (!ptab)
			return nomem ? -E_NOMEM : -E_EXIST;
		ptab[INDEX(v, 0)] = p | leaf_flags;
		off += PAGE_SIZE;
	}
	return 0;
}

/* Finds the leaf entry for va and its level (0 or 1), or NULL. */
static u64 *find_leaf(const struct pagetable *pt, u64 va, int *level)
{
	u64 *table = pt->root;

	for (int l = 3; l >= 0; l--) {
		u64 *e = &table[INDEX(va, l)];
		if (!present(pt, *e))
			return NULL;
		if (l == 0 || (l <= 2 && (*e & pt->fmt->large_bit))) {
			*level = l;
			return e;
		}
		table = table_at(pt, *e);
	}
	return NULL;
}

/* The generic walk of pt_lookup, for every format: entry sizes, index
 * widths and where large leaves may be (SDM Vol. 3A §4.3 32-bit, §4.4 PAE,
 * §4.5 4-level paging). */
int pt_lookup(const struct pagetable *pt, u64 va, u64 *pa, u64 *flags, u64 *page_size)
{
	const struct pt_format *f = pt->fmt;
	int levels = f->levels ? f->levels : 4;
	bool narrow = f->entry_bytes == 4;
	unsigned bits = narrow ? 10 : 9;
	u32 large = f->levels ? f->large_levels : 0x6;
	const void *table = pt->root;

	for (int l = levels - 1; l >= 0; l--) {
		if (!table)
			return -E_FAULT;
		unsigned shift = 12 + bits * (unsigned)l;
		u64 idx = (va >> shift) & ((1u << bits) - 1);
		u64 e = narrow ? ((const u32 *)table)[idx] : ((const u64 *)table)[idx];
		if (!(e & f->present_mask))
			return -E_NOENT;
		bool leaf = l == 0 || ((large >> l & 1) && (e & f->large_bit));
		if (leaf) {
			u64 psize = 1ULL << shift, base;
			if (narrow && l == 1) /* 4 MiB page, PSE-36 bits 20:13 = 39:32 */
				base = (e & 0xffc00000ULL) | ((e >> 13) & 0xff) << 32;
			else
				base = e & (narrow ? 0xfffff000ULL : PTE_ADDR_MASK) & ~(psize - 1);
			*pa = base + (va & (psize - 1));
			*flags = e & (narrow ? 0xfffULL : ~PTE_ADDR_MASK);
			*page_size = psize;
			return 0;
		}
		table = pt->ops.table_virt(pt->ops.ctx,
					   e & (narrow ? 0xfffff000ULL : PTE_ADDR_MASK));
	}
	return -E_NOENT;
}

int pt_unmap(struct pagetable *pt, u64 va, u64 size)
{
	int err = 0;

	if (!range_ok(va, size))
		return -E_INVAL;
	/* Refuse first, change after: no large leaf may be cut. */
	for (u64 off = 0; off < size; off += PAGE_SIZE) {
		int level;
		u64 *e = find_leaf(pt, va + off, &level);
		if (e && level > 0) {
			u64 psize = 1ULL << LEVEL_SHIFT(level);
			u64 v = va + off;
			if ((v & (psize - 1)) || size - off < psize)
				return -E_INVAL;
			off += psize - PAGE_SIZE;
		}
	}
	for (u64 off = 0; off < size;) {
		int level;
		u64 *e = find_leaf(pt, va + off, &level);
		if (!e) {
			err = -E_NOENT;
			off += PAGE_SIZE;
			continue;
		}
		*e = 0;
		off += 1ULL << LEVEL_SHIFT(level);
	}
	return err;
}

static void destroy_level(struct pagetable *pt, u64 *table, u64 phys, int level)
{
	if (level > 0) {
		for (int i = 0; i < 512; i++) {
			u64 e = table[i];
			if (present(pt, e) && !(level <= 2 && (e & pt->fmt->large_bit)))
				destroy_level(pt, table_at(pt, e), e & PTE_ADDR_MASK, level - 1);
		}
	}
	if (pt->ops.free_table)
		pt->ops.free_table(pt->ops.ctx, table, phys);
	pt->table_count--;
}

void pt_destroy(struct pagetable *pt)
{
	if (pt->root)
		destroy_level(pt, pt->root, pt->root_phys, 3);
	pt->root = NULL;
}
