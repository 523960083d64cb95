/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ELF64 executables (see elf.h).
 */
#include "kernel/lib/elf.h"
#include "kernel/errno.h"
#include "kernel/lib/string.h"

struct elf64_ehdr {
	u8 ident[16];
	u16 type, machine;
	u32 version;
	u64 entry, phoff, shoff;
	u32 flags;
	u16 ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf64_phdr {
	u32 type, flags;
	u64 offset, vaddr, paddr, filesz, memsz, align;
};

_Static_assert(sizeof(struct elf64_ehdr) == 64, "ELF64 header");
_Static_assert(sizeof(struct elf64_phdr) == 56, "ELF64 program header");

#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define EV_CURRENT 1
#define ET_EXEC 2
#define EM_X86_64 62
#define PT_LOAD 1
#define PF_W 2 /* p_flags: writable */
#define ELF_MAX_PHDRS 64

static void phdr_at(const void *image, const struct elf64_ehdr *eh, unsigned i,
		    struct elf64_phdr *ph)
{
	memcpy(ph, (const u8 *)image + eh->phoff + (u64)i * sizeof(*ph), sizeof(*ph));
}

static int refuse(const char **why, const char *reason)
{
	*why = reason;
	return -E_INVAL;
}

int elf64_check(const void *image, u64 size, enum elf_addr by, u64 lo, u64 hi,
		const char *range_why, struct elf_layout *out, const char **why)
{
	static const u8 magic[4] = { 0x7f, 'E', 'L', 'F' };
	struct elf64_ehdr eh;
	bool entry_ok = false;

	out->loads = 0;
	out->end = lo;
	if (size < sizeof(eh))
		return refuse(why, "not an ELF file");
	memcpy(&eh, image, sizeof(eh));
	if (memcmp(eh.ident, magic, 4))
		return refuse(why, "not an ELF file");
	if (eh.ident[4] != ELFCLASS64 || eh.ident[5] != ELFDATA2LSB || eh.ident[6] != EV_CURRENT)
		return refuse(why, "not a little-endian ELF64 file");
	if (eh.machine != EM_X86_64)
		return refuse(why, "not an x86-64 executable");
	if (eh.type != ET_EXEC)
		return refuse(why, "not a static executable (ET_EXEC)");
	if (eh.phentsize != sizeof(struct elf64_phdr) || eh.phnum == 0 ||
	    eh.phnum > ELF_MAX_PHDRS || eh.phoff > size || eh.phoff % 8 ||
	    (u64)eh.phnum * sizeof(struct elf64_phdr) > size - eh.phoff)
		return refuse(why,
			      "bad program header table (missing, misaligned or outside the file)");
	for (unsigned i = 0; i < eh.phnum; i++) {
		struct elf64_phdr ph;
		phdr_at(image, &eh, i, &ph);
		if (ph.type != PT_LOAD || ph.memsz == 0)
			continue;
		if (ph.filesz > ph.memsz || ph.offset > size || ph.filesz > size - ph.offset)
			return refuse(why, "a segment's bytes lie outside the file");
		u64 addr = by == ELF_PADDR ? ph.paddr : ph.vaddr;
		if (addr < lo || addr > hi || ph.memsz > hi - addr)
			return refuse(why, range_why);
		if (eh.entry >= addr && eh.entry - addr < ph.memsz)
			entry_ok = true;
		if (addr + ph.memsz > out->end)
			out->end = addr + ph.memsz;
		out->loads++;
	}
	if (!out->loads)
		return refuse(why, "no loadable segment");
	if (!entry_ok)
		return refuse(why, "the entry point is outside every segment");
	out->entry = eh.entry;
	return 0;
}

void elf64_segments(const void *image, enum elf_addr by,
		    void (*fn)(void *ctx, u64 addr, const void *data, u64 filesz, u64 memsz),
		    void *ctx)
{
	struct elf64_ehdr eh;

	memcpy(&eh, image, sizeof(eh));
	for (unsigned i = 0; i < eh.phnum; i++) {
		struct elf64_phdr ph;
		phdr_at(image, &eh, i, &ph);
		if (ph.type == PT_LOAD && ph.memsz)
			fn(ctx, by == ELF_PADDR ? ph.paddr : ph.vaddr,
			   (const u8 *)image + ph.offset, ph.filesz, ph.memsz);
	}
}

bool elf64_writable_at(const void *image, enum elf_addr by, u64 lo, u64 hi)
{
	struct elf64_ehdr eh;

	memcpy(&eh, image, sizeof(eh));
	for (unsigned i = 0; i < eh.phnum; i++) {
		struct elf64_phdr ph;
		phdr_at(image, &eh, i, &ph);
		u64 a = by == ELF_PADDR ? ph.paddr : ph.vaddr;
		if (ph.type == PT_LOAD && ph.memsz && (ph.flags & PF_W) && a < hi &&
		    a + ph.memsz > lo)
			return true;
	}
	return false;
}
