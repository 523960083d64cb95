/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Guest range and image checks (see guest_mem.h); the ELF64 validator
 * itself is kernel/lib/elf.c, shared with the UEFI loader.
 */
#include "kernel/guest_mem.h"
#include "kernel/errno.h"
#include "kernel/lib/elf.h"

int guest_range_check(u64 gpa, u64 len, u64 ram_start, u64 ram_end)
{
	if (gpa < ram_start || gpa > ram_end)
		return -E_FAULT;
	if (len > ram_end - gpa)
		return -E_FAULT;
	return 0;
}

int guest_elf_check(const void *image, u64 size, u64 load_start, u64 load_end, u64 *entry,
		    u64 *image_end, const char **why)
{
	struct elf_layout l;
	int err = elf64_check(image, size, ELF_PADDR, load_start, load_end,
			      "a segment lies outside the partition's image area", &l, why);

	*image_end = l.end;
	if (!err)
		*entry = l.entry;
	return err;
}

void guest_elf_segments(const void *image,
			void (*fn)(void *ctx, u64 paddr, const void *data, u64 filesz, u64 memsz),
			void *ctx)
{
	elf64_segments(image, ELF_PADDR, fn, ctx);
}
