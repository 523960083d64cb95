/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Checks of guest-physical ranges that hypercalls receive, as pure functions
 * so the host unit tests cover every edge.  A guest pointer is usable only if
 * the whole range lies inside the caller's own RAM; nothing a guest passes is
 * trusted to be small, aligned or free of overflow.
 */
#ifndef PARTITA_GUEST_MEM_H
#define PARTITA_GUEST_MEM_H

#include "kernel/lib/types.h"

/**
 * Returns 0 if [gpa, gpa + len) lies inside [ram_start, ram_end), or
 * -E_FAULT (also for a range that wraps around the address space).  A zero
 * length is accepted if gpa itself is inside or at ram_end.
 */
int guest_range_check(u64 gpa, u64 len, u64 ram_start, u64 ram_end);

/**
 * Validates an ELF64 executable image for a paravirtual partition: x86-64,
 * ET_EXEC, program headers inside the file, every PT_LOAD segment with
 * filesz <= memsz, its file bytes inside the file and its memory inside
 * [load_start, load_end), and the entry point inside a loaded segment.
 * Returns 0 with *entry and *image_end (first byte after the highest
 * segment), or -E_INVAL with a reason in *why.
 */
int guest_elf_check(const void *image, u64 size, u64 load_start, u64 load_end, u64 *entry,
		    u64 *image_end, const char **why);

/** Calls fn for each PT_LOAD segment of an image guest_elf_check accepted. */
void guest_elf_segments(const void *image,
			void (*fn)(void *ctx, u64 paddr, const void *data, u64 filesz, u64 memsz),
			void *ctx);

#endif
