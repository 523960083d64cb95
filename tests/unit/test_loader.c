/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the UEFI loader's pure C parts (boot/loader.h): the memory
 * map conversion (memmap.c), the validation and copy of the core's ELF image
 * (elf_load.c) and the initial page tables (pagetable.c).  They run on the
 * host; page tables live in heap memory whose address stands for its
 * physical address, as pt_build() expects.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "boot/loader.h"
#include "kernel/errno.h"

/* -------------------------------------------------------------- memmap -- */

/* Room for memmap_normalize(): out and points take 2 * n entries. */
#define MAP_IN_MAX 1024

static struct boot_mem_region in_buf[MAP_IN_MAX];
static struct boot_mem_region out_buf[2 * MAP_IN_MAX];
static u64 points_buf[2 * MAP_IN_MAX];

static struct boot_mem_region region(u64 base, u64 size, u32 type)
{
	return (struct boot_mem_region){ .base = base, .size = size, .type = type };
}

static size_t normalize(const struct boot_mem_region *in, size_t n)
{
	assert_true(n <= MAP_IN_MAX);
	memcpy(in_buf, in, n * sizeof(*in));
	return memmap_normalize(in_buf, n, points_buf, out_buf);
}

static void assert_region(const struct boot_mem_region *r, u64 base, u64 size, u32 type)
{
	assert_int_equal(r->base, base);
	assert_int_equal(r->size, size);
	assert_int_equal(r->type, type);
}

/* Sorted, non-empty, non-overlapping, and no two touching ranges of a type. */
static void assert_normalized(const struct boot_mem_region *map, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		assert_true(map[i].size > 0);
		if (i == 0)
			continue;
		assert_true(map[i - 1].base + map[i - 1].size <= map[i].base);
		if (map[i - 1].base + map[i - 1].size == map[i].base)
			assert_int_not_equal(map[i - 1].type, map[i].type);
	}
}

static void efi_types_map_to_boot_types(void **state)
{
	static const struct {
		u32 efi, boot;
	} cases[] = {
		{ 0, BOOT_MEM_RESERVED },	    /* EfiReservedMemoryType */
		{ 1, BOOT_MEM_USABLE },		    /* EfiLoaderCode */
		{ 2, BOOT_MEM_USABLE },		    /* EfiLoaderData */
		{ 3, BOOT_MEM_USABLE },		    /* EfiBootServicesCode */
		{ 4, BOOT_MEM_USABLE },		    /* EfiBootServicesData */
		{ 5, BOOT_MEM_FIRMWARE_RUNTIME },   /* EfiRuntimeServicesCode */
		{ 6, BOOT_MEM_FIRMWARE_RUNTIME },   /* EfiRuntimeServicesData */
		{ 7, BOOT_MEM_USABLE },		    /* EfiConventionalMemory */
		{ 8, BOOT_MEM_UNUSABLE },	    /* EfiUnusableMemory */
		{ 9, BOOT_MEM_ACPI_RECLAIM },	    /* EfiACPIReclaimMemory */
		{ 10, BOOT_MEM_ACPI_NVS },	    /* EfiACPIMemoryNVS */
		{ 11, BOOT_MEM_MMIO },		    /* EfiMemoryMappedIO */
		{ 12, BOOT_MEM_MMIO },		    /* EfiMemoryMappedIOPortSpace */
		{ 13, BOOT_MEM_RESERVED },	    /* EfiPalCode */
		{ 14, BOOT_MEM_RESERVED },	    /* EfiPersistentMemory */
		{ 15, BOOT_MEM_RESERVED },	    /* EfiUnacceptedMemoryType */
		{ 0x70000000u, BOOT_MEM_RESERVED }, /* OEM range */
		{ 0x80000000u, BOOT_MEM_RESERVED }, /* OS range, not ours */
		{ LOADER_MEM_CORE, BOOT_MEM_CORE },
		{ LOADER_MEM_BOOT_DATA, BOOT_MEM_BOOT_DATA },
		{ LOADER_MEM_TRAMPOLINE, BOOT_MEM_TRAMPOLINE },
		{ 0xffffffffu, BOOT_MEM_RESERVED },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		u32 got = memmap_type_from_efi(cases[i].efi);

		if (got != cases[i].boot)
			fail_msg("EFI type %#x: got %u, want %u", cases[i].efi, got, cases[i].boot);
	}
}

static void strength_orders_usable_lowest(void **state)
{
	(void)state;
	for (u32 t = BOOT_MEM_RESERVED; t <= BOOT_MEM_TRAMPOLINE; t++)
		assert_true(memmap_type_strength(t) > memmap_type_strength(BOOT_MEM_USABLE));
	/* What the core owns beats ACPI reclaimable memory but never turns
	 * firmware, MMIO or reserved memory into something the core uses. */
	assert_true(memmap_type_strength(BOOT_MEM_CORE) >
		    memmap_type_strength(BOOT_MEM_ACPI_RECLAIM));
	assert_true(memmap_type_strength(BOOT_MEM_RESERVED) > memmap_type_strength(BOOT_MEM_CORE));
	assert_true(memmap_type_strength(BOOT_MEM_MMIO) > memmap_type_strength(BOOT_MEM_BOOT_DATA));
	/* Unknown types count as reserved. */
	assert_int_equal(memmap_type_strength(0), memmap_type_strength(BOOT_MEM_RESERVED));
	assert_int_equal(memmap_type_strength(99), memmap_type_strength(BOOT_MEM_RESERVED));
}

static void normalize_sorts(void **state)
{
	const struct boot_mem_region in[] = {
		region(0x300000, 0x1000, BOOT_MEM_USABLE),
		region(0x100000, 0x1000, BOOT_MEM_RESERVED),
		region(0x200000, 0x1000, BOOT_MEM_ACPI_NVS),
		region(0x0, 0x1000, BOOT_MEM_MMIO),
	};
	size_t n;
	(void)state;

	n = normalize(in, 4);
	assert_int_equal(n, 4);
	assert_region(&out_buf[0], 0x0, 0x1000, BOOT_MEM_MMIO);
	assert_region(&out_buf[1], 0x100000, 0x1000, BOOT_MEM_RESERVED);
	assert_region(&out_buf[2], 0x200000, 0x1000, BOOT_MEM_ACPI_NVS);
	assert_region(&out_buf[3], 0x300000, 0x1000, BOOT_MEM_USABLE);
}

static void normalize_merges_adjacent_same_type(void **state)
{
	/* UEFI gives one descriptor per allocation: many touching usable ones. */
	const struct boot_mem_region in[] = {
		region(0x2000, 0x1000, BOOT_MEM_USABLE),
		region(0x0, 0x1000, BOOT_MEM_USABLE),
		region(0x1000, 0x1000, BOOT_MEM_USABLE),
		region(0x3000, 0x1000, BOOT_MEM_RESERVED),
		region(0x4000, 0x2000, BOOT_MEM_RESERVED),
		region(0x8000, 0x1000, BOOT_MEM_RESERVED), /* after a hole */
		region(0x9000, 0x1000, BOOT_MEM_CORE),
		region(0xa000, 0x1000, BOOT_MEM_CORE),
	};
	size_t n;
	(void)state;

	n = normalize(in, 8);
	assert_int_equal(n, 4);
	assert_region(&out_buf[0], 0x0, 0x3000, BOOT_MEM_USABLE);
	assert_region(&out_buf[1], 0x3000, 0x3000, BOOT_MEM_RESERVED);
	assert_region(&out_buf[2], 0x8000, 0x1000, BOOT_MEM_RESERVED);
	assert_region(&out_buf[3], 0x9000, 0x2000, BOOT_MEM_CORE);
}

static void normalize_overlap_stronger_type_wins(void **state)
{
	const struct boot_mem_region in[] = {
		region(0x0, 0x100000, BOOT_MEM_USABLE),
		region(0x10000, 0x10000, BOOT_MEM_RESERVED),  /* inside usable */
		region(0x80000, 0x100000, BOOT_MEM_ACPI_NVS), /* straddles its end */
		region(0x18000, 0x4000, BOOT_MEM_USABLE),     /* inside the reserved */
	};
	size_t n;
	(void)state;

	n = normalize(in, 4);
	assert_int_equal(n, 4);
	assert_region(&out_buf[0], 0x0, 0x10000, BOOT_MEM_USABLE);
	assert_region(&out_buf[1], 0x10000, 0x10000, BOOT_MEM_RESERVED);
	assert_region(&out_buf[2], 0x20000, 0x60000, BOOT_MEM_USABLE);
	assert_region(&out_buf[3], 0x80000, 0x100000, BOOT_MEM_ACPI_NVS);
}

static void normalize_loader_types_cut_usable(void **state)
{
	/* The loader's own allocations lie inside what UEFI calls conventional
	 * memory in some maps; they must come out as themselves. */
	const struct boot_mem_region in[] = {
		region(0x0, 0x10000000, BOOT_MEM_USABLE),
		region(0x9f000, 0x1000, BOOT_MEM_TRAMPOLINE),
		region(0xdc00000, 0x200000, BOOT_MEM_CORE),
		region(0xdec3000, 0x8000, BOOT_MEM_BOOT_DATA),
	};
	size_t n;
	(void)state;

	n = normalize(in, 4);
	assert_int_equal(n, 7);
	assert_region(&out_buf[0], 0x0, 0x9f000, BOOT_MEM_USABLE);
	assert_region(&out_buf[1], 0x9f000, 0x1000, BOOT_MEM_TRAMPOLINE);
	assert_region(&out_buf[2], 0xa0000, 0xdc00000 - 0xa0000, BOOT_MEM_USABLE);
	assert_region(&out_buf[3], 0xdc00000, 0x200000, BOOT_MEM_CORE);
	assert_region(&out_buf[4], 0xde00000, 0xc3000, BOOT_MEM_USABLE);
	assert_region(&out_buf[5], 0xdec3000, 0x8000, BOOT_MEM_BOOT_DATA);
	assert_region(&out_buf[6], 0xdecb000, 0x10000000 - 0xdecb000, BOOT_MEM_USABLE);
}

static void normalize_skips_empty_and_keeps_holes(void **state)
{
	const struct boot_mem_region in[] = {
		region(0x5000, 0, BOOT_MEM_RESERVED),
		region(0x0, 0x2000, BOOT_MEM_USABLE),
		region(0x1000, 0, BOOT_MEM_UNUSABLE),
		region(0x4000, 0x2000, BOOT_MEM_USABLE),
	};
	size_t n;
	(void)state;

	n = normalize(in, 4);
	assert_int_equal(n, 2);
	assert_region(&out_buf[0], 0x0, 0x2000, BOOT_MEM_USABLE);
	assert_region(&out_buf[1], 0x4000, 0x2000, BOOT_MEM_USABLE);

	assert_int_equal(normalize(in, 0), 0);
}

static void normalize_clamps_a_wrapping_range(void **state)
{
	/* A broken descriptor whose end wraps past 2^64: clamped, not lost. */
	const struct boot_mem_region in[] = {
		region(0x1000, 0x1000, BOOT_MEM_USABLE),
		region(0xfffffffffff00000ULL, 0x200000, BOOT_MEM_RESERVED),
	};
	size_t n;
	(void)state;

	n = normalize(in, 2);
	assert_int_equal(n, 2);
	assert_region(&out_buf[0], 0x1000, 0x1000, BOOT_MEM_USABLE);
	assert_region(&out_buf[1], 0xfffffffffff00000ULL, 0xfffff, BOOT_MEM_RESERVED);
}

/* A small deterministic generator (xorshift64) for the property test. */
static u64 rng_state;

static u64 rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* The strongest type covering address a in the raw map, 0 if none. */
static u32 raw_type_at(const struct boot_mem_region *in, size_t n, u64 a)
{
	u32 best = 0;

	for (size_t i = 0; i < n; i++) {
		if (a < in[i].base || a - in[i].base >= in[i].size)
			continue;
		if (!best || memmap_type_strength(in[i].type) > memmap_type_strength(best))
			best = in[i].type;
	}
	return best;
}

static u32 map_type_at(const struct boot_mem_region *map, size_t n, u64 a)
{
	for (size_t i = 0; i < n; i++) {
		if (a >= map[i].base && a - map[i].base < map[i].size)
			return map[i].type;
	}
	return 0;
}

static void normalize_matches_brute_force(void **state)
{
	static struct boot_mem_region raw[64];
	(void)state;

	rng_state = 0x9e3779b97f4a7c15ULL;
	for (int round = 0; round < 200; round++) {
		size_t n = 1 + rng() % 64, count;

		/* Pages in a 256-page window so that ranges often overlap. */
		for (size_t i = 0; i < n; i++) {
			raw[i] = region((rng() % 256) * PAGE_SIZE, (rng() % 32) * PAGE_SIZE,
					1 + (u32)(rng() % BOOT_MEM_TRAMPOLINE));
		}
		count = normalize(raw, n);
		assert_true(count <= 2 * n);
		assert_normalized(out_buf, count);
		for (u64 page = 0; page < 300; page++) {
			u64 a = page * PAGE_SIZE;

			if (map_type_at(out_buf, count, a) != raw_type_at(raw, n, a))
				fail_msg("round %d, page %llu: type %u, want %u", round,
					 (unsigned long long)page, map_type_at(out_buf, count, a),
					 raw_type_at(raw, n, a));
		}
	}
}

static bool map_has(const struct boot_mem_region *map, size_t n, u64 base, u64 size, u32 type)
{
	for (size_t i = 0; i < n; i++) {
		if (map[i].base == base && map[i].size == size && map[i].type == type)
			return true;
	}
	return false;
}

static void fit_leaves_a_small_map_alone(void **state)
{
	struct boot_mem_region map[3] = {
		region(0x0, 0x1000, BOOT_MEM_RESERVED),
		region(0x1000, 0x1000, BOOT_MEM_USABLE),
		region(0x2000, 0x1000, BOOT_MEM_MMIO),
	};
	size_t count = 3;
	(void)state;

	assert_int_equal(memmap_fit(map, &count, 3), 0);
	assert_int_equal(count, 3);
	assert_int_equal(memmap_fit(map, &count, BOOT_MAX_MEM_REGIONS), 0);
	assert_int_equal(count, 3);
}

/*
 * A map of 400 entries, more than BOOT_MAX_MEM_REGIONS: runs of
 * usable, reserved, ACPI, core, boot data and a trampoline page, sized so
 * the order of dropping is visible.
 */
static size_t build_long_map(struct boot_mem_region *map, size_t n)
{
	static const u32 pattern[] = {
		BOOT_MEM_USABLE, BOOT_MEM_RESERVED,  BOOT_MEM_USABLE, BOOT_MEM_ACPI_NVS,
		BOOT_MEM_USABLE, BOOT_MEM_BOOT_DATA, BOOT_MEM_USABLE, BOOT_MEM_MMIO,
	};
	u64 base = 0;

	for (size_t i = 0; i < n; i++) {
		u32 type = pattern[i % 8];
		u64 size = (1 + i % 5) * PAGE_SIZE;

		if (i == 3)
			type = BOOT_MEM_TRAMPOLINE;
		if (i == n / 2)
			type = BOOT_MEM_CORE;
		map[i] = region(base, size, type);
		base += size + PAGE_SIZE; /* holes keep neighbours apart */
	}
	return n;
}

static void fit_drops_reserved_first_and_keeps_what_the_core_needs(void **state)
{
	static struct boot_mem_region map[400], orig[400];
	size_t count = build_long_map(map, 400), kept = 0;
	size_t reserved_before = 0, reserved_after = 0, acpi_after = 0;
	u64 lost;
	(void)state;

	memcpy(orig, map, sizeof(map));
	for (size_t i = 0; i < count; i++)
		reserved_before += map[i].type == BOOT_MEM_RESERVED || map[i].type == BOOT_MEM_MMIO;

	lost = memmap_fit(map, &count, BOOT_MAX_MEM_REGIONS);
	assert_int_equal(count, BOOT_MAX_MEM_REGIONS);
	assert_normalized(map, count);
	/* 400 - 256 = 144 drops: the 100 reserved/MMIO entries, then 44 of
	 * the 49 ACPI NVS ones; no usable RAM lost. */
	assert_int_equal(reserved_before, 100);
	assert_int_equal(lost, 0);
	for (size_t i = 0; i < count; i++) {
		reserved_after += map[i].type == BOOT_MEM_RESERVED || map[i].type == BOOT_MEM_MMIO;
		acpi_after += map[i].type == BOOT_MEM_ACPI_NVS;
	}
	assert_int_equal(reserved_after, 0);
	assert_int_equal(acpi_after, 49 - (144 - 100));

	/* Every core, boot-data, trampoline and usable entry is still there. */
	for (size_t i = 0; i < 400; i++) {
		u32 t = orig[i].type;

		if (t != BOOT_MEM_CORE && t != BOOT_MEM_BOOT_DATA && t != BOOT_MEM_TRAMPOLINE &&
		    t != BOOT_MEM_USABLE)
			continue;
		kept++;
		if (!map_has(map, count, orig[i].base, orig[i].size, t))
			fail_msg("entry %zu (type %u at %#llx) was dropped", i, t,
				 (unsigned long long)orig[i].base);
	}
	assert_int_equal(kept, count - acpi_after);
}

static void fit_drops_smallest_usable_last_and_counts_it(void **state)
{
	static struct boot_mem_region map[300];
	u64 lost, expect = 0;
	size_t count = 0;
	(void)state;

	/* 300 usable ranges with sizes 1..300 pages, plus core and boot data
	 * that must survive even though they are the smallest entries. */
	for (size_t i = 0; i < 298; i++)
		map[count++] = region(i * GiB(1), (300 - i) * PAGE_SIZE, BOOT_MEM_USABLE);
	map[count++] = region(400 * GiB(1), PAGE_SIZE, BOOT_MEM_CORE);
	map[count++] = region(401 * GiB(1), PAGE_SIZE, BOOT_MEM_BOOT_DATA);

	/* The 44 smallest usable ranges go: sizes 3..46 pages. */
	for (u64 pages = 3; pages < 3 + 44; pages++)
		expect += pages * PAGE_SIZE;
	lost = memmap_fit(map, &count, BOOT_MAX_MEM_REGIONS);
	assert_int_equal(count, BOOT_MAX_MEM_REGIONS);
	assert_int_equal(lost, expect);
	assert_true(map_has(map, count, 400 * GiB(1), PAGE_SIZE, BOOT_MEM_CORE));
	assert_true(map_has(map, count, 401 * GiB(1), PAGE_SIZE, BOOT_MEM_BOOT_DATA));
	for (size_t i = 0; i < count; i++) {
		if (map[i].type == BOOT_MEM_USABLE)
			assert_true(map[i].size >= 47 * PAGE_SIZE);
	}
}

static void fit_never_drops_core_boot_data_or_trampoline(void **state)
{
	static struct boot_mem_region map[8];
	size_t count = 0;
	u64 lost;
	(void)state;

	for (int i = 0; i < 3; i++) {
		map[count++] = region(i * MiB(4), PAGE_SIZE, BOOT_MEM_CORE);
		map[count++] = region(i * MiB(4) + MiB(1), PAGE_SIZE, BOOT_MEM_BOOT_DATA);
	}
	map[count++] = region(MiB(100), PAGE_SIZE, BOOT_MEM_TRAMPOLINE);
	map[count++] = region(MiB(200), PAGE_SIZE, BOOT_MEM_RESERVED);

	/* Only the reserved entry can go; the rest stays although it does not
	 * fit (the caller clamps), and the function does not loop forever. */
	lost = memmap_fit(map, &count, 4);
	assert_int_equal(lost, 0);
	assert_int_equal(count, 7);
	for (size_t i = 0; i < count; i++)
		assert_int_not_equal(map[i].type, BOOT_MEM_RESERVED);
}

/* ----------------------------------------------------------------- ELF -- */

/* Just enough of the ELF64 format (System V ABI) to build test images. */
struct test_ehdr {
	u8 e_ident[16];
	u16 e_type, e_machine;
	u32 e_version;
	u64 e_entry, e_phoff, e_shoff;
	u32 e_flags;
	u16 e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};

struct test_phdr {
	u32 p_type, p_flags;
	u64 p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
};

_Static_assert(sizeof(struct test_ehdr) == 64, "ELF64 header");
_Static_assert(sizeof(struct test_phdr) == 56, "ELF64 program header");

#define IMAGE_SIZE 0x3000
#define TEXT_OFF 0x1000
#define TEXT_SIZE 0x180
#define DATA_OFF 0x2000
#define DATA_FILESZ 0x40
#define DATA_VADDR (CORE_VIRT_BASE + 0x3000)
#define DATA_MEMSZ 0x2000 /* 0x40 bytes of data, then bss */
#define ENTRY (CORE_VIRT_BASE + 0x20)

/* 8-byte aligned, as the loader's embedded copy is (page aligned). */
static union {
	u8 bytes[IMAGE_SIZE];
	u64 align;
} image;

static struct test_ehdr *ehdr(void)
{
	return (struct test_ehdr *)image.bytes;
}

static struct test_phdr *phdr_at(unsigned i)
{
	return (struct test_phdr *)(image.bytes + ehdr()->e_phoff) + i;
}

/* A valid core: text at CORE_VIRT_BASE, data + bss 12 KiB above it, a note. */
static int elf_setup(void **state)
{
	struct test_ehdr *eh = ehdr();
	(void)state;

	memset(image.bytes, 0, sizeof(image.bytes));
	memcpy(eh->e_ident, "\177ELF", 4); /* 0x7f E L F */
	eh->e_ident[4] = 2;		   /* ELFCLASS64 */
	eh->e_ident[5] = 1;		   /* ELFDATA2LSB */
	eh->e_ident[6] = 1;		   /* EV_CURRENT */
	eh->e_type = 2;			   /* ET_EXEC */
	eh->e_machine = 62;		   /* EM_X86_64 */
	eh->e_version = 1;
	eh->e_entry = ENTRY;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(struct test_phdr);
	eh->e_phnum = 3;

	*phdr_at(0) = (struct test_phdr){
		.p_type = 1,
		.p_flags = 5,
		.p_offset = TEXT_OFF,
		.p_vaddr = CORE_VIRT_BASE,
		.p_paddr = 0,
		.p_filesz = TEXT_SIZE,
		.p_memsz = TEXT_SIZE,
		.p_align = 0x1000,
	};
	*phdr_at(1) = (struct test_phdr){
		.p_type = 4, /* PT_NOTE: ignored, even where it points */
		.p_offset = 0xffffffffffff0000ULL,
		.p_filesz = 0x100000,
		.p_memsz = 0x100000,
	};
	*phdr_at(2) = (struct test_phdr){
		.p_type = 1,
		.p_flags = 6,
		.p_offset = DATA_OFF,
		.p_vaddr = DATA_VADDR,
		.p_paddr = 0x3000,
		.p_filesz = DATA_FILESZ,
		.p_memsz = DATA_MEMSZ,
		.p_align = 0x1000,
	};
	for (unsigned i = 0; i < TEXT_SIZE; i++)
		image.bytes[TEXT_OFF + i] = (u8)(0x90 + i);
	for (unsigned i = 0; i < DATA_FILESZ; i++)
		image.bytes[DATA_OFF + i] = (u8)(0x11 * (i + 1));
	return 0;
}

static int inspect(u64 size, struct core_layout *out, const char **why)
{
	*why = NULL;
	return elf_core_inspect(image.bytes, size, out, why);
}

/* The image must be refused with a reason that contains `want`. */
static void assert_refused(u64 size, const char *want)
{
	struct core_layout out = { 0, 0 };
	const char *why;

	assert_int_equal(inspect(size, &out, &why), -E_INVAL);
	assert_non_null(why);
	if (!strstr(why, want))
		fail_msg("refused with '%s', expected a reason with '%s'", why, want);
}

static void elf_accepts_a_valid_core(void **state)
{
	struct core_layout out = { 0, 0 };
	const char *why;
	(void)state;

	assert_int_equal(inspect(IMAGE_SIZE, &out, &why), 0);
	assert_int_equal(out.span, 0x3000 + DATA_MEMSZ);
	assert_int_equal(out.entry, ENTRY);
}

static void elf_copy_places_segments_and_zeroes_the_rest(void **state)
{
	struct core_layout out = { 0, 0 };
	const char *why;
	u8 *dst;
	(void)state;

	assert_int_equal(inspect(IMAGE_SIZE, &out, &why), 0);
	dst = malloc(out.span);
	assert_non_null(dst);
	memset(dst, 0xaa, out.span);
	elf_core_copy(image.bytes, dst, out.span);

	assert_memory_equal(dst, image.bytes + TEXT_OFF, TEXT_SIZE);
	for (u64 i = TEXT_SIZE; i < 0x3000; i++)
		assert_int_equal(dst[i], 0); /* padding between segments */
	assert_memory_equal(dst + 0x3000, image.bytes + DATA_OFF, DATA_FILESZ);
	for (u64 i = 0x3000 + DATA_FILESZ; i < out.span; i++)
		assert_int_equal(dst[i], 0); /* bss */
	free(dst);
}

static void elf_refuses_bad_magic(void **state)
{
	(void)state;
	image.bytes[1] = 'e';
	assert_refused(IMAGE_SIZE, "not an ELF file");
	elf_setup(NULL);
	memset(image.bytes, 0, 64);
	assert_refused(IMAGE_SIZE, "not an ELF file");
}

static void elf_refuses_a_truncated_header(void **state)
{
	(void)state;
	assert_refused(0, "not an ELF file");
	assert_refused(4, "not an ELF file");
	assert_refused(63, "not an ELF file");
}

static void elf_refuses_class_and_byte_order(void **state)
{
	(void)state;
	ehdr()->e_ident[4] = 1; /* ELFCLASS32 */
	assert_refused(IMAGE_SIZE, "ELF64");
	elf_setup(NULL);
	ehdr()->e_ident[5] = 2; /* ELFDATA2MSB */
	assert_refused(IMAGE_SIZE, "ELF64");
	elf_setup(NULL);
	ehdr()->e_ident[6] = 0; /* EV_NONE */
	assert_refused(IMAGE_SIZE, "ELF64");
}

static void elf_refuses_wrong_machine_and_type(void **state)
{
	(void)state;
	ehdr()->e_machine = 3; /* EM_386 */
	assert_refused(IMAGE_SIZE, "x86-64");
	elf_setup(NULL);
	ehdr()->e_machine = 183; /* EM_AARCH64 */
	assert_refused(IMAGE_SIZE, "x86-64");
	elf_setup(NULL);
	ehdr()->e_type = 3; /* ET_DYN: a PIE is not what the loader places */
	assert_refused(IMAGE_SIZE, "ET_EXEC");
	elf_setup(NULL);
	ehdr()->e_type = 1; /* ET_REL */
	assert_refused(IMAGE_SIZE, "ET_EXEC");
}

static void elf_refuses_a_bad_program_header_table(void **state)
{
	(void)state;
	ehdr()->e_phnum = 0;
	assert_refused(IMAGE_SIZE, "program header");
	elf_setup(NULL);
	ehdr()->e_phentsize = 64;
	assert_refused(IMAGE_SIZE, "program header");
	elf_setup(NULL);
	ehdr()->e_phoff = IMAGE_SIZE + 8;
	assert_refused(IMAGE_SIZE, "program header");
	elf_setup(NULL);
	ehdr()->e_phoff = 0xfffffffffffffff8ULL; /* offset + size wraps */
	assert_refused(IMAGE_SIZE, "program header");
	elf_setup(NULL);
	ehdr()->e_phnum = 0xffff;
	assert_refused(IMAGE_SIZE, "program header");
	/* A file cut inside its program header table. */
	elf_setup(NULL);
	assert_refused(64 + 2 * 56 + 10, "program header");
}

static void elf_refuses_segments_outside_the_file(void **state)
{
	(void)state;
	/* The file ends before the data segment's bytes. */
	assert_refused(DATA_OFF + DATA_FILESZ - 1, "outside the file");
	assert_refused(DATA_OFF, "outside the file");

	elf_setup(NULL);
	phdr_at(2)->p_offset = IMAGE_SIZE + 0x1000;
	assert_refused(IMAGE_SIZE, "outside the file");
	elf_setup(NULL);
	phdr_at(2)->p_offset = 0xfffffffffffff000ULL; /* offset + filesz wraps */
	assert_refused(IMAGE_SIZE, "outside the file");
	elf_setup(NULL);
	phdr_at(2)->p_filesz = 0xffffffffffffffffULL;
	phdr_at(2)->p_memsz = 0xffffffffffffffffULL;
	assert_refused(IMAGE_SIZE, "outside the file");
	elf_setup(NULL);
	phdr_at(2)->p_filesz = DATA_MEMSZ + 1; /* more file than memory */
	assert_refused(IMAGE_SIZE, "outside the file");
}

static void elf_refuses_segments_outside_the_core_range(void **state)
{
	struct core_layout out = { 0, 0 };
	const char *why;
	(void)state;

	phdr_at(2)->p_vaddr = CORE_VIRT_BASE - 0x1000;
	assert_refused(IMAGE_SIZE, "CORE_VIRT_BASE");
	elf_setup(NULL);
	phdr_at(2)->p_vaddr = 0x100000; /* a low, identity-style address */
	assert_refused(IMAGE_SIZE, "CORE_VIRT_BASE");
	elf_setup(NULL);
	phdr_at(2)->p_vaddr = CORE_VIRT_BASE + GiB(1);
	assert_refused(IMAGE_SIZE, "CORE_VIRT_BASE");
	elf_setup(NULL);
	phdr_at(2)->p_vaddr = 0xfffffffffffff000ULL; /* end wraps past 2^64 */
	assert_refused(IMAGE_SIZE, "CORE_VIRT_BASE");

	/* Exactly up to the 1 GiB limit is fine; one byte more is not. */
	elf_setup(NULL);
	phdr_at(2)->p_vaddr = CORE_VIRT_BASE + GiB(1) - DATA_MEMSZ;
	assert_int_equal(inspect(IMAGE_SIZE, &out, &why), 0);
	assert_int_equal(out.span, GiB(1));
	phdr_at(2)->p_memsz = DATA_MEMSZ + 1;
	assert_refused(IMAGE_SIZE, "CORE_VIRT_BASE");
}

static void elf_refuses_an_entry_outside_the_image(void **state)
{
	(void)state;
	ehdr()->e_entry = CORE_VIRT_BASE + 0x1000; /* between the segments */
	assert_refused(IMAGE_SIZE, "entry point");
	ehdr()->e_entry = DATA_VADDR + DATA_MEMSZ; /* one past the end */
	assert_refused(IMAGE_SIZE, "entry point");
	ehdr()->e_entry = 0;
	assert_refused(IMAGE_SIZE, "entry point");
	ehdr()->e_entry = CORE_VIRT_BASE - 1;
	assert_refused(IMAGE_SIZE, "entry point");
}

static void elf_refuses_an_image_without_loadable_segments(void **state)
{
	(void)state;
	phdr_at(0)->p_type = 6;		 /* PT_PHDR */
	phdr_at(2)->p_type = 0x6474e551; /* PT_GNU_STACK */
	assert_refused(IMAGE_SIZE, "no loadable segment");
	/* A PT_LOAD of zero bytes in memory counts as none. */
	elf_setup(NULL);
	phdr_at(0)->p_memsz = 0;
	phdr_at(0)->p_filesz = 0;
	phdr_at(2)->p_memsz = 0;
	phdr_at(2)->p_filesz = 0;
	assert_refused(IMAGE_SIZE, "no loadable segment");
}

static void elf_reads_an_unaligned_program_header_table(void **state)
{
	struct core_layout out = { 0, 0 };
	const char *why;
	struct test_phdr ph[3];
	(void)state;

	/*
	 * e_phoff is only an offset: nothing in the ELF format forces it to a
	 * multiple of 8.  Move the table to an odd offset; the loader must
	 * either read it or refuse it, and never do an unaligned access.
	 */
	memcpy(ph, phdr_at(0), sizeof(ph));
	ehdr()->e_phoff = 0x101;
	memcpy(image.bytes + 0x101, ph, sizeof(ph));
	if (inspect(IMAGE_SIZE, &out, &why) == 0)
		assert_int_equal(out.span, 0x3000 + DATA_MEMSZ);
	else
		assert_non_null(why);
}

/* ---------------------------------------------------------- page tables -- */

#define PTE_P (1ULL << 0)
#define PTE_RW (1ULL << 1)
#define PTE_US (1ULL << 2)
#define PTE_PS (1ULL << 7)
#define PTE_NX (1ULL << 63)
#define PTE_ADDR 0x000ffffffffff000ULL

static void *pt_mem;
static u64 pt_mem_pages;

static u64 build(u64 top, u64 core_phys, u64 core_size)
{
	free(pt_mem);
	pt_mem_pages = pt_pages_needed(top, core_size);
	/* Exactly the pages it asked for, so ASan catches a write past them. */
	pt_mem = aligned_alloc(PAGE_SIZE, pt_mem_pages * PAGE_SIZE);
	assert_non_null(pt_mem);
	memset(pt_mem, 0xa5, pt_mem_pages * PAGE_SIZE);
	return pt_build(pt_mem, top, core_phys, core_size);
}

static int pt_teardown(void **state)
{
	(void)state;
	free(pt_mem);
	pt_mem = NULL;
	return 0;
}

/* A table entry must point into the memory pt_build() was given. */
static const u64 *next_table(u64 entry)
{
	u64 addr = entry & PTE_ADDR, base = (u64)(uintptr_t)pt_mem;

	if (addr < base || addr >= base + pt_mem_pages * PAGE_SIZE)
		fail_msg("table entry %#llx points outside the tables", (unsigned long long)entry);
	return (const u64 *)(uintptr_t)addr;
}

/* Walks 4-level tables (Intel SDM vol. 3A section 4.5); false if unmapped. */
static bool translate(u64 cr3, u64 va, u64 *pa)
{
	const u64 *pml4 = (const u64 *)(uintptr_t)cr3, *pdpt, *pd;
	u64 e;

	e = pml4[(va >> 39) & 511];
	if (!(e & PTE_P))
		return false;
	assert_int_equal(e & (PTE_RW | PTE_US | PTE_PS | PTE_NX), PTE_RW);
	pdpt = next_table(e);
	e = pdpt[(va >> 30) & 511];
	if (!(e & PTE_P))
		return false;
	assert_int_equal(e & (PTE_RW | PTE_US | PTE_PS | PTE_NX), PTE_RW);
	pd = next_table(e);
	e = pd[(va >> 21) & 511];
	if (!(e & PTE_P))
		return false;
	/* A 2 MiB page, writable, supervisor only, executable. */
	assert_int_equal(e & (PTE_RW | PTE_US | PTE_PS | PTE_NX), PTE_RW | PTE_PS);
	assert_int_equal(e & 0x1fe000ULL, 0); /* bits 20:13 are reserved */
	*pa = (e & PTE_ADDR & ~(LARGE_PAGE_SIZE - 1)) | (va & (LARGE_PAGE_SIZE - 1));
	return true;
}

static void assert_maps(u64 cr3, u64 va, u64 want)
{
	u64 pa = 0;

	if (!translate(cr3, va, &pa))
		fail_msg("%#llx is not mapped", (unsigned long long)va);
	if (pa != want)
		fail_msg("%#llx maps to %#llx, want %#llx", (unsigned long long)va,
			 (unsigned long long)pa, (unsigned long long)want);
}

static void assert_unmapped(u64 cr3, u64 va)
{
	u64 pa = 0;

	if (translate(cr3, va, &pa))
		fail_msg("%#llx is mapped (to %#llx)", (unsigned long long)va,
			 (unsigned long long)pa);
}

static void pt_counts_pages(void **state)
{
	(void)state;
	/* PML4 + PDPTs + one PD per GiB + the core's PDPT and PD. */
	assert_int_equal(pt_pages_needed(GiB(4), MiB(2)), 1 + 1 + 4 + 2);
	assert_int_equal(pt_pages_needed(GiB(1), GiB(1)), 1 + 1 + 1 + 2);
	assert_int_equal(pt_pages_needed(GiB(512), MiB(2)), 1 + 1 + 512 + 2);
	assert_int_equal(pt_pages_needed(GiB(513), MiB(2)), 1 + 2 + 513 + 2);
	assert_int_equal(pt_pages_needed(PT_MAX_TOP, MiB(2)), 1 + 128 + 65536 + 2);
}

static void pt_maps_identity_and_direct_map(void **state)
{
	u64 cr3 = build(GiB(4), MiB(220), MiB(2));
	static const u64 probes[] = {
		0,	    0x1000,	0x9f000,
		0x1234567,  MiB(220),	GiB(1) - 1,
		GiB(1),	    0xfee00000, GiB(4) - LARGE_PAGE_SIZE,
		GiB(4) - 1,
	};
	const u64 *pml4 = (const u64 *)(uintptr_t)cr3;
	(void)state;

	assert_ptr_equal((void *)(uintptr_t)cr3, pt_mem);
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		assert_maps(cr3, probes[i], probes[i]);
		assert_maps(cr3, DIRECT_MAP_BASE + probes[i], probes[i]);
	}
	assert_unmapped(cr3, GiB(4));
	assert_unmapped(cr3, GiB(512));
	assert_unmapped(cr3, DIRECT_MAP_BASE + GiB(4));
	assert_unmapped(cr3, DIRECT_MAP_BASE + GiB(512)); /* PML4 entry 257 */
	assert_unmapped(cr3, 0xffffff8000000000ULL);	  /* PML4 511, PDPT 0 */
	/* Both halves share the tables below the PML4 (the file's comment). */
	assert_int_equal(pml4[0], pml4[256]);
	for (unsigned i = 1; i < 511; i++) {
		if (i != 256)
			assert_int_equal(pml4[i], 0);
	}
}

static void pt_maps_the_core(void **state)
{
	u64 core_phys = MiB(220), cr3;
	(void)state;

	/* 3 MiB + 1 byte: two 2 MiB pages. */
	cr3 = build(GiB(4), core_phys, MiB(3) + 1);
	assert_maps(cr3, CORE_VIRT_BASE, core_phys);
	assert_maps(cr3, CORE_VIRT_BASE + 0x1234, core_phys + 0x1234);
	assert_maps(cr3, CORE_VIRT_BASE + MiB(2), core_phys + MiB(2));
	assert_maps(cr3, CORE_VIRT_BASE + MiB(4) - 1, core_phys + MiB(4) - 1);
	assert_unmapped(cr3, CORE_VIRT_BASE + MiB(4));
	assert_unmapped(cr3, CORE_VIRT_BASE - LARGE_PAGE_SIZE);
	assert_unmapped(cr3, 0xffffffffc0000000ULL); /* PDPT entry 511 */

	/* Exactly one 2 MiB page. */
	cr3 = build(GiB(1), MiB(2), MiB(2));
	assert_maps(cr3, CORE_VIRT_BASE + MiB(2) - 1, MiB(4) - 1);
	assert_unmapped(cr3, CORE_VIRT_BASE + MiB(2));

	/* The largest core, 1 GiB, placed above top (the identity map need
	 * not cover it). */
	cr3 = build(GiB(1), GiB(6), GiB(1));
	assert_maps(cr3, CORE_VIRT_BASE, GiB(6));
	assert_maps(cr3, CORE_VIRT_BASE + GiB(1) - 1, GiB(7) - 1);
	assert_unmapped(cr3, GiB(6));
}

static void pt_crosses_a_512_gib_boundary(void **state)
{
	u64 top = GiB(513), cr3 = build(top, GiB(2), MiB(2));
	const u64 *pml4 = (const u64 *)(uintptr_t)cr3;
	(void)state;

	assert_maps(cr3, GiB(512) - 1, GiB(512) - 1);
	assert_maps(cr3, GiB(512), GiB(512));
	assert_maps(cr3, GiB(512) + MiB(5) + 3, GiB(512) + MiB(5) + 3);
	assert_maps(cr3, top - 1, top - 1);
	assert_maps(cr3, DIRECT_MAP_BASE + GiB(512) + MiB(7), GiB(512) + MiB(7));
	assert_maps(cr3, DIRECT_MAP_BASE + top - 1, top - 1);
	assert_unmapped(cr3, top);
	assert_unmapped(cr3, DIRECT_MAP_BASE + top);
	assert_int_equal(pml4[1], pml4[257]);
	assert_int_equal(pml4[2], 0);
	assert_maps(cr3, CORE_VIRT_BASE + 5, GiB(2) + 5);
}

static void pt_maps_one_tib(void **state)
{
	u64 cr3 = build(GiB(1024), MiB(16), MiB(8));
	(void)state;

	for (u64 g = 0; g < 1024; g += 97) {
		assert_maps(cr3, GiB(g) + MiB(3), GiB(g) + MiB(3));
		assert_maps(cr3, DIRECT_MAP_BASE + GiB(g) + MiB(3), GiB(g) + MiB(3));
	}
	assert_maps(cr3, GiB(1024) - 1, GiB(1024) - 1);
	assert_unmapped(cr3, GiB(1024));
	assert_maps(cr3, CORE_VIRT_BASE + MiB(8) - 1, MiB(24) - 1);
	assert_unmapped(cr3, CORE_VIRT_BASE + MiB(8));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(efi_types_map_to_boot_types),
		cmocka_unit_test(strength_orders_usable_lowest),
		cmocka_unit_test(normalize_sorts),
		cmocka_unit_test(normalize_merges_adjacent_same_type),
		cmocka_unit_test(normalize_overlap_stronger_type_wins),
		cmocka_unit_test(normalize_loader_types_cut_usable),
		cmocka_unit_test(normalize_skips_empty_and_keeps_holes),
		cmocka_unit_test(normalize_clamps_a_wrapping_range),
		cmocka_unit_test(normalize_matches_brute_force),
		cmocka_unit_test(fit_leaves_a_small_map_alone),
		cmocka_unit_test(fit_drops_reserved_first_and_keeps_what_the_core_needs),
		cmocka_unit_test(fit_drops_smallest_usable_last_and_counts_it),
		cmocka_unit_test(fit_never_drops_core_boot_data_or_trampoline),

		cmocka_unit_test_setup(elf_accepts_a_valid_core, elf_setup),
		cmocka_unit_test_setup(elf_copy_places_segments_and_zeroes_the_rest, elf_setup),
		cmocka_unit_test_setup(elf_refuses_bad_magic, elf_setup),
		cmocka_unit_test_setup(elf_refuses_a_truncated_header, elf_setup),
		cmocka_unit_test_setup(elf_refuses_class_and_byte_order, elf_setup),
		cmocka_unit_test_setup(elf_refuses_wrong_machine_and_type, elf_setup),
		cmocka_unit_test_setup(elf_refuses_a_bad_program_header_table, elf_setup),
		cmocka_unit_test_setup(elf_refuses_segments_outside_the_file, elf_setup),
		cmocka_unit_test_setup(elf_refuses_segments_outside_the_core_range, elf_setup),
		cmocka_unit_test_setup(elf_refuses_an_entry_outside_the_image, elf_setup),
		cmocka_unit_test_setup(elf_refuses_an_image_without_loadable_segments, elf_setup),

		cmocka_unit_test(pt_counts_pages),
		cmocka_unit_test_teardown(pt_maps_identity_and_direct_map, pt_teardown),
		cmocka_unit_test_teardown(pt_maps_the_core, pt_teardown),
		cmocka_unit_test_teardown(pt_crosses_a_512_gib_boundary, pt_teardown),
		cmocka_unit_test_teardown(pt_maps_one_tib, pt_teardown),

		/* Last: under UBSan a misaligned read aborts the whole program. */
		cmocka_unit_test_setup(elf_reads_an_unaligned_program_header_table, elf_setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
