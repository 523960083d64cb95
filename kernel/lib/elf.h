/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Checks and walks ELF64 executables: the core's image (the UEFI loader)
 * and paravirtual guests' images (the core), one validator for both.  Pure
 * C on the bytes it is given; an image is hostile input (a guest's image
 * may be uploaded at run time), so every offset and size is checked before
 * use, headers are copied out (the image may be unaligned), and no sum can
 * overflow.  Layouts: System V ABI, "ELF-64 Object File Format" 1.5.
 */
#ifndef PARTITA_LIB_ELF_H
#define PARTITA_LIB_ELF_H

#include "kernel/lib/types.h"

/** Which address of a segment counts: the physical one (guests, loaded at
 *  guest-physical addresses) or the virtual one (the core, linked high). */
enum elf_addr { ELF_PADDR, ELF_VADDR };

struct elf_layout {
	u64 entry; /* e_entry */
	u64 end;   /* first address after the highest PT_LOAD segment */
	unsigned loads;
};

/**
 * Validates an ELF64 little-endian x86-64 ET_EXEC image of size bytes: the
 * program header table inside the file, every PT_LOAD segment's file bytes
 * inside the file, filesz <= memsz, its memory inside [lo, hi) by the
 * address `by` selects, at least one such segment, and the entry point
 * inside one.  Returns 0 with *out filled, or -E_INVAL with a short reason
 * in *why (range_why for a segment outside [lo, hi)).
 */
int elf64_check(const void *image, u64 size, enum elf_addr by, u64 lo, u64 hi,
		const char *range_why, struct elf_layout *out, const char **why);

/** Calls fn for each PT_LOAD segment (memsz > 0) of an image elf64_check
 *  accepted: its address by `by`, its file bytes and their sizes. */
void elf64_segments(const void *image, enum elf_addr by,
		    void (*fn)(void *ctx, u64 addr, const void *data, u64 filesz, u64 memsz),
		    void *ctx);

/** True if a writable (PF_W) PT_LOAD segment of an image elf64_check
 *  accepted overlaps [lo, hi). */
bool elf64_writable_at(const void *image, enum elf_addr by, u64 lo, u64 hi);

#endif
