/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Validation and placement of the core's ELF64 image (see loader.h).  The
 * core is linked at CORE_VIRT_BASE (linker.ld); the loader copies its PT_LOAD
 * segments into one physically contiguous block that stands for
 * [CORE_VIRT_BASE, CORE_VIRT_BASE + span) and zeroes the rest (bss and the
 * padding between segments).  Pure C: no firmware calls.  The ELF64
 * validator is kernel/lib/elf.c, shared with the core.
 */
#include "boot/loader.h"
#include "kernel/errno.h"
#include "kernel/lib/elf.h"
#include "kernel/lib/string.h"

/* The core may span at most one page directory (1 GiB) at CORE_VIRT_BASE. */
#define CORE_MAX_SPAN GiB(1)

int elf_core_inspect(const void *image, u64 size, struct core_layout *out, const char **why)
{
	struct elf_layout l;
	int err = elf64_check(image, size, ELF_VADDR, CORE_VIRT_BASE,
			      CORE_VIRT_BASE + CORE_MAX_SPAN,
			      "a segment lies outside [CORE_VIRT_BASE, +1 GiB)", &l, why);

	if (err)
		return err;
	out->span = l.end - CORE_VIRT_BASE;
	out->entry = l.entry;
	return 0;
}

struct copy_ctx {
	u8 *dst;
};

static void copy_segment(void *ctx, u64 addr, const void *data, u64 filesz, u64 memsz)
{
	struct copy_ctx *c = ctx;

	(void)memsz; /* the rest is already zero */
	memcpy(c->dst + (addr - CORE_VIRT_BASE), data, filesz);
}

void elf_core_copy(const void *image, void *dst, u64 span)
{
	struct copy_ctx c = { dst };

	memset(dst, 0, span);
	elf64_segments(image, ELF_VADDR, copy_segment, &c);
}
