/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A builder for x86-64 four-level translation tables, used for the core's
 * own page tables, and shaped so the second-level tables of partitions (AMD
 * NPT uses the same format; Intel EPT differs only in its permission and
 * memory-type bits) can use it too.  Pure logic: tables are obtained and
 * reached through callbacks, so the host unit tests run it on heap memory.
 *
 * Terms: a "leaf" is a 4 KiB PTE or a 2 MiB PDE with the large-page bit.
 * Intel SDM Vol. 3A §4.5 (4-level paging); AMD APM Vol. 2 §5.3.
 */
#ifndef PARTITA_ARCH_X86_PAGETABLE_H
#define PARTITA_ARCH_X86_PAGETABLE_H

#include "kernel/lib/types.h"

#define PTE_P (1ULL << 0)
#define PTE_W (1ULL << 1)
#define PTE_U (1ULL << 2)
#define PTE_PWT (1ULL << 3)
#define PTE_PCD (1ULL << 4)
#define PTE_A (1ULL << 5)
#define PTE_D (1ULL << 6)
#define PTE_PS (1ULL << 7) /* large page, in a PDE or PDPTE */
#define PTE_G (1ULL << 8)
#define PTE_NX (1ULL << 63)
#define PTE_ADDR_MASK 0x000ffffffffff000ULL

/** How entries of one table format look.  pt_map, pt_unmap and pt_destroy
 *  build four-level tables of 8-byte entries; pt_lookup also walks the
 *  other guest paging formats (levels 3 and 2) to read guest memory. */
struct pt_format {
	u64 table_flags;  /* flags of an entry that points to a lower table */
	u64 present_mask; /* an entry is present if any of these bits is set */
	u64 large_bit;	  /* marks a large leaf in a PDE (or PDPTE) */
	u8 levels;	  /* 4 (0 means 4), 3 (PAE) or 2 (32-bit paging) */
	u8 entry_bytes;	  /* 8 (0 means 8), or 4 for 32-bit paging */
	u8 large_levels;  /* bit l: a leaf may be at level l (0 means 1 and 2) */
};

extern const struct pt_format pt_format_x86; /* core page tables and NPT */
/* The guest paging modes, for pt_lookup only (SDM Vol. 3A §4.3-4.5). */
extern const struct pt_format pt_format_x86_pae;    /* 3 levels, 2 MiB pages */
extern const struct pt_format pt_format_x86_32;	    /* 2 levels, no PSE */
extern const struct pt_format pt_format_x86_32_pse; /* 2 levels, 4 MiB pages */

struct pt_ops {
	/** Returns a zeroed 4 KiB table and its physical address, or NULL. */
	void *(*alloc_table)(void *ctx, u64 *phys);
	/** Gives a pointer to the table at physical address phys (for
	 *  pt_lookup it may return NULL: the walk then fails). */
	void *(*table_virt)(void *ctx, u64 phys);
	/** Frees a table from alloc_table (may be NULL: tables are kept). */
	void (*free_table)(void *ctx, void *table, u64 phys);
	void *ctx;
};

struct pagetable {
	const struct pt_format *fmt;
	struct pt_ops ops;
	u64 root_phys;
	u64 *root;
	u64 table_count; /* tables allocated, the root included */
};

/** Allocates the root table.  Returns 0 or -E_NOMEM. */
int pt_init(struct pagetable *pt, const struct pt_format *fmt, const struct pt_ops *ops);

/**
 * Maps [va, va+size) to [pa, pa+size) with leaf_flags (which must include
 * the present bit(s) and not the large bit).  va, pa and size must be 4 KiB
 * aligned and va canonical-in-48-bits; 2 MiB leaves are used where both
 * addresses are 2 MiB aligned and allow_large is set.  Fails without mapping
 * anything new if any page in the range is already mapped.
 * Returns 0, -E_INVAL (alignment, range), -E_EXIST, or -E_NOMEM (the range
 * may then be partly mapped: the caller destroys the table).
 */
int pt_map(struct pagetable *pt, u64 va, u64 pa, u64 size, u64 leaf_flags, bool allow_large);

/**
 * Removes the leaves covering [va, va+size).  A 2 MiB leaf must be removed
 * whole.  Returns 0, -E_INVAL (alignment, or the range cuts a 2 MiB leaf),
 * or -E_NOENT if some page in it was not mapped (the rest are removed).
 */
int pt_unmap(struct pagetable *pt, u64 va, u64 size);

/** Translates va.  Returns 0 with the physical address, the leaf's flags and
 *  its size (4 KiB or 2 MiB), or -E_NOENT. */
int pt_lookup(const struct pagetable *pt, u64 va, u64 *pa, u64 *flags, u64 *page_size);

/** Frees every table (leaves point to memory the table does not own). */
void pt_destroy(struct pagetable *pt);

/**
 * The leaf flags of a long-mode page-table entry, used as a second-level
 * table (AMD's nested paging, §15.25.5, and the host tests' fake back end):
 * present and user at every level (nested walks are user accesses),
 * writable if write, no-execute unless exec, and PCD+PWT (PAT entry 3, UC
 * at reset; UC wins when the nested and guest types combine, §15.25.8) if
 * uncached.
 */
static inline u64 pt_x86_slat_leaf_flags(bool write, bool exec, bool uncached)
{
	return PTE_P | PTE_U | (write ? PTE_W : 0) | (exec ? 0 : PTE_NX) |
	       (uncached ? PTE_PCD | PTE_PWT : 0);
}

#endif
