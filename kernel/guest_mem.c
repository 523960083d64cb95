/*
 * Guest range and image checks (see guest_mem.h).  ELF64 layout: System V
 * ABI, "ELF-64 Object File Format" version 1.5.
 */
#include "kernel/guest_mem.h"
#include "kernel/errno.h"
#include "kernel/lib/string.h"

int guest_range_check(u64 gpa, u64 len, u64 ram_start, u64 ram_end)
{
	if (gpa < ram_start || gpa > ram_end)
		return -E_FAULT;
	if (len > ram_end - gpa)
		return -E_FAULT;
	return 0;
}

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

#define PT_LOAD 1
#define ET_EXEC 2
#define EM_X86_64 62
#define ELF_MAX_PHDRS 64

/* Copies header i out of the image (the image may be unaligned). */
static void phdr_at(const void *image, const struct elf64_ehdr *eh, unsigned i,
		    struct elf64_phdr *ph)
{
	memcpy(ph, (const u8 *)image + eh->phoff + (u64)i * sizeof(*ph), sizeof(*ph));
}

int guest_elf_check(const void *image, u64 size, u64 load_start, u64 load_end,
		    u64 *entry, u64 *image_end, const char **why)
{
	struct elf64_ehdr eh;
	bool entry_ok = false;
	unsigned loads = 0;

	*image_end = load_start;
	if (size < sizeof(eh)) {
		*why = "shorter than an ELF header";
		return -E_INVAL;
	}
	memcpy(&eh, image, sizeof(eh));
	if (memcmp(eh.ident, "\177ELF", 4)) {
		*why = "not an ELF file";
		return -E_INVAL;
	}
	if (eh.ident[4] != 2 || eh.ident[5] != 1 || eh.machine != EM_X86_64) {
		*why = "not a little-endian x86-64 ELF64 file";
		return -E_INVAL;
	}
	if (eh.type != ET_EXEC) {
		*why = "not a static executable (ET_EXEC)";
		return -E_INVAL;
	}
	if (eh.phentsize != sizeof(struct elf64_phdr) || eh.phnum == 0 ||
	    eh.phnum > ELF_MAX_PHDRS || eh.phoff > size ||
	    (u64)eh.phnum * sizeof(struct elf64_phdr) > size - eh.phoff) {
		*why = "program headers missing or outside the file";
		return -E_INVAL;
	}
	for (unsigned i = 0; i < eh.phnum; i++) {
		struct elf64_phdr ph;
		phdr_at(image, &eh, i, &ph);
		if (ph.type != PT_LOAD || ph.memsz == 0)
			continue;
		if (ph.filesz > ph.memsz || ph.offset > size || ph.filesz > size - ph.offset) {
			*why = "a segment's bytes lie outside the file";
			return -E_INVAL;
		}
		if (guest_range_check(ph.paddr, ph.memsz, load_start, load_end)) {
			*why = "a segment lies outside the partition's image area";
			return -E_INVAL;
		}
		if (eh.entry >= ph.paddr && eh.entry < ph.paddr + ph.memsz)
			entry_ok = true;
		if (ph.paddr + ph.memsz > *image_end)
			*image_end = ph.paddr + ph.memsz;
		loads++;
	}
	if (!loads) {
		*why = "no loadable segment";
		return -E_INVAL;
	}
	if (!entry_ok) {
		*why = "the entry point is outside every segment";
		return -E_INVAL;
	}
	*entry = eh.entry;
	return 0;
}

void guest_elf_segments(const void *image,
			void (*fn)(void *ctx, u64 paddr, const void *data, u64 filesz, u64 memsz),
			void *ctx)
{
	struct elf64_ehdr eh;

	memcpy(&eh, image, sizeof(eh));
	for (unsigned i = 0; i < eh.phnum; i++) {
		struct elf64_phdr ph;
		phdr_at(image, &eh, i, &ph);
		if (ph.type == PT_LOAD && ph.memsz)
			fn(ctx, ph.paddr, (const u8 *)image + ph.offset, ph.filesz, ph.memsz);
	}
}
