/*
 * Validation and placement of the core's ELF64 image (see loader.h).  The
 * core is linked at CORE_VIRT_BASE (linker.ld); the loader copies its PT_LOAD
 * segments into one physically contiguous block that stands for
 * [CORE_VIRT_BASE, CORE_VIRT_BASE + span) and zeroes the rest (bss and the
 * padding between segments).  Pure C: no firmware calls.  The structure
 * layouts are those of the System V ABI's ELF-64 object file format.
 */
#include "boot/loader.h"
#include "kernel/errno.h"
#include "kernel/lib/string.h"

#define EI_NIDENT 16
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define EV_CURRENT 1
#define ET_EXEC 2
#define EM_X86_64 62
#define PT_LOAD 1

struct elf64_ehdr {
	u8 e_ident[EI_NIDENT];
	u16 e_type;
	u16 e_machine;
	u32 e_version;
	u64 e_entry;
	u64 e_phoff;
	u64 e_shoff;
	u32 e_flags;
	u16 e_ehsize;
	u16 e_phentsize;
	u16 e_phnum;
	u16 e_shentsize;
	u16 e_shnum;
	u16 e_shstrndx;
};

struct elf64_phdr {
	u32 p_type;
	u32 p_flags;
	u64 p_offset;
	u64 p_vaddr;
	u64 p_paddr;
	u64 p_filesz;
	u64 p_memsz;
	u64 p_align;
};

_Static_assert(sizeof(struct elf64_ehdr) == 64, "ELF64 header");
_Static_assert(sizeof(struct elf64_phdr) == 56, "ELF64 program header");

/* The core may span at most one page directory (1 GiB) at CORE_VIRT_BASE. */
#define CORE_MAX_SPAN GiB(1)

static const struct elf64_phdr *phdr(const void *image, unsigned i)
{
	const struct elf64_ehdr *eh = image;

	return (const struct elf64_phdr *)((const u8 *)image + eh->e_phoff +
					   (u64)i * sizeof(struct elf64_phdr));
}

static int check_header(const struct elf64_ehdr *eh, u64 size,
			const char **why)
{
	static const u8 magic[4] = { 0x7f, 'E', 'L', 'F' };

	if (size < sizeof(*eh) || memcmp(eh->e_ident, magic, 4) != 0) {
		*why = "not an ELF file";
		return -E_INVAL;
	}
	if (eh->e_ident[4] != ELFCLASS64 || eh->e_ident[5] != ELFDATA2LSB ||
	    eh->e_ident[6] != EV_CURRENT) {
		*why = "not a little-endian ELF64 file";
		return -E_INVAL;
	}
	if (eh->e_machine != EM_X86_64 || eh->e_type != ET_EXEC) {
		*why = "not an x86-64 executable (ET_EXEC)";
		return -E_INVAL;
	}
	if (eh->e_phentsize != sizeof(struct elf64_phdr) || eh->e_phnum == 0 ||
	    eh->e_phoff > size || eh->e_phoff % 8 ||
	    (u64)eh->e_phnum * sizeof(struct elf64_phdr) > size - eh->e_phoff) {
		*why = "bad program header table";
		return -E_INVAL;
	}
	return 0;
}

/* Checks one PT_LOAD segment; returns its end relative to CORE_VIRT_BASE. */
static int check_segment(const struct elf64_phdr *ph, u64 size, u64 *end,
			 const char **why)
{
	if (ph->p_filesz > ph->p_memsz || ph->p_offset > size ||
	    ph->p_filesz > size - ph->p_offset) {
		*why = "a segment lies outside the file";
		return -E_INVAL;
	}
	if (ph->p_vaddr < CORE_VIRT_BASE ||
	    ph->p_vaddr - CORE_VIRT_BASE > CORE_MAX_SPAN ||
	    ph->p_memsz > CORE_MAX_SPAN - (ph->p_vaddr - CORE_VIRT_BASE)) {
		*why = "a segment lies outside [CORE_VIRT_BASE, +1 GiB)";
		return -E_INVAL;
	}
	*end = ph->p_vaddr - CORE_VIRT_BASE + ph->p_memsz;
	return 0;
}

int elf_core_inspect(const void *image, u64 size, struct core_layout *out,
		     const char **why)
{
	const struct elf64_ehdr *eh = image;
	bool entry_ok = false;
	u64 span = 0, end;
	unsigned i;
	int err;

	err = check_header(eh, size, why);
	if (err)
		return err;
	for (i = 0; i < eh->e_phnum; i++) {
		const struct elf64_phdr *ph = phdr(image, i);

		if (ph->p_type != PT_LOAD || ph->p_memsz == 0)
			continue;
		err = check_segment(ph, size, &end, why);
		if (err)
			return err;
		span = MAX(span, end);
		if (eh->e_entry >= ph->p_vaddr &&
		    eh->e_entry < ph->p_vaddr + ph->p_memsz)
			entry_ok = true;
	}
	if (span == 0) {
		*why = "no loadable segment";
		return -E_INVAL;
	}
	if (!entry_ok) {
		*why = "the entry point lies outside every segment";
		return -E_INVAL;
	}
	out->span = span;
	out->entry = eh->e_entry;
	return 0;
}

void elf_core_copy(const void *image, void *dst, u64 span)
{
	const struct elf64_ehdr *eh = image;
	unsigned i;

	memset(dst, 0, span);
	for (i = 0; i < eh->e_phnum; i++) {
		const struct elf64_phdr *ph = phdr(image, i);

		if (ph->p_type != PT_LOAD || ph->p_filesz == 0)
			continue;
		memcpy((u8 *)dst + (ph->p_vaddr - CORE_VIRT_BASE),
		       (const u8 *)image + ph->p_offset, ph->p_filesz);
	}
}
