/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the Multiboot2 loader's pure C part (boot/mb2.c): reading an
 * MBI (Multiboot2 Specification 2.0, section 3.6) that the tests build tag
 * by tag, module and config names, the framebuffer and memory types, and
 * the placement of the loader's blocks in free RAM.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "boot/loader.h"
#include "boot/mb2.h"
#include "kernel/errno.h"

/* ------------------------------------------------------ an MBI builder -- */

struct mbi {
	_Alignas(8) u8 buf[16384];
	u32 off;
};

static void mbi_begin(struct mbi *m)
{
	memset(m->buf, 0xcc, sizeof(m->buf)); /* padding is not zero either */
	m->off = 8;
}

/* Appends a tag with body_size bytes of body (returned, zeroed). */
static u8 *mbi_tag(struct mbi *m, u32 type, u32 body_size)
{
	struct mb2_tag *t = (struct mb2_tag *)(m->buf + m->off);

	assert_true(m->off + 8 + body_size + 16 <= sizeof(m->buf));
	t->type = type;
	t->size = 8 + body_size;
	memset(t + 1, 0, body_size);
	m->off += ALIGN_UP(t->size, 8);
	return (u8 *)(t + 1);
}

static void mbi_string(struct mbi *m, u32 type, const char *s)
{
	memcpy(mbi_tag(m, type, strlen(s) + 1), s, strlen(s) + 1);
}

static void mbi_module(struct mbi *m, u32 start, u32 end, const char *s)
{
	u8 *b = mbi_tag(m, MB2_TAG_MODULE, 8 + strlen(s) + 1);

	memcpy(b, &start, 4);
	memcpy(b + 4, &end, 4);
	memcpy(b + 8, s, strlen(s) + 1);
}

static void mbi_mmap(struct mbi *m, u32 entry_size, const struct mb2_mmap_entry *e, u32 n)
{
	u8 *b = mbi_tag(m, MB2_TAG_MMAP, 8 + n * entry_size);
	u32 version = 0;

	memcpy(b, &entry_size, 4);
	memcpy(b + 4, &version, 4);
	for (u32 i = 0; i < n; i++)
		memcpy(b + 8 + i * entry_size, &e[i], sizeof(*e));
}

static const void *mbi_end(struct mbi *m)
{
	mbi_tag(m, MB2_TAG_END, 0);
	memcpy(m->buf, &m->off, 4);
	memset(m->buf + 4, 0, 4);
	return m->buf;
}

static struct mbi m;
static struct mb2_info info;

static const struct mb2_mmap_entry bios_map[] = {
	{ 0x0, 0x9fc00, MB2_MEM_AVAILABLE, 0 },
	{ 0x9fc00, 0x400, 2, 0 },
	{ 0xf0000, 0x10000, 2, 0 },
	{ 0x100000, 0xfef0000, MB2_MEM_AVAILABLE, 0 },
	{ 0xfff0000, 0x10000, MB2_MEM_ACPI_RECLAIMABLE, 0 },
	{ 0xfffc0000, 0x40000, 2, 0 },
};

/* ------------------------------------------------------------- parsing -- */

static void parse_reads_every_tag(void **state)
{
	const char *why = "";
	u8 *b;

	(void)state;
	mbi_begin(&m);
	mbi_string(&m, MB2_TAG_CMDLINE, "config=a.conf");
	mbi_string(&m, MB2_TAG_LOADER_NAME, "GRUB 2.06-13+deb12u2");
	mbi_module(&m, 0x200000, 0x201000, "partita.conf");
	mbi_module(&m, 0x202000, 0x20cccc, "hello.elf");
	mbi_mmap(&m, sizeof(struct mb2_mmap_entry), bios_map, ARRAY_SIZE(bios_map));
	b = mbi_tag(&m, MB2_TAG_ACPI_OLD, 20);
	memcpy(b, "RSD PTR ", 8);
	b = mbi_tag(&m, MB2_TAG_ACPI_NEW, 36);
	memcpy(b, "RSD PTR ", 8);
	mbi_tag(&m, 4, 8); /* basic meminfo: skipped */
	b = mbi_tag(&m, MB2_TAG_FRAMEBUFFER, 30);
	b[20] = 32; /* bpp */
	b[21] = MB2_FB_TYPE_RGB;
	assert_int_equal(mb2_parse(mbi_end(&m), &info, &why), 0);

	assert_string_equal(info.cmdline, "config=a.conf");
	assert_string_equal(info.loader_name, "GRUB 2.06-13+deb12u2");
	assert_int_equal(info.module_count, 2);
	assert_int_equal(info.modules[0].start, 0x200000);
	assert_int_equal(info.modules[0].end, 0x201000);
	assert_string_equal(info.modules[0].string, "partita.conf");
	assert_int_equal(info.modules[1].end, 0x20cccc);
	assert_string_equal(info.modules[1].string, "hello.elf");
	assert_int_equal(info.mmap_count, ARRAY_SIZE(bios_map));
	assert_int_equal(info.mmap[3].base_addr, 0x100000);
	assert_int_equal(info.mmap[3].length, 0xfef0000);
	assert_non_null(info.rsdp_old);
	assert_non_null(info.rsdp_new);
	assert_memory_equal(info.rsdp_new, "RSD PTR ", 8);
	assert_non_null(info.fb);
	assert_int_equal(info.fb->bpp, 32);
	assert_int_equal(info.total_size, m.off);
}

static void parse_accepts_longer_mmap_entries(void **state)
{
	const char *why = "";

	(void)state;
	mbi_begin(&m);
	mbi_mmap(&m, 32, bios_map, ARRAY_SIZE(bios_map));
	assert_int_equal(mb2_parse(mbi_end(&m), &info, &why), 0);
	assert_int_equal(info.mmap_entry_size, 32);
	assert_int_equal(info.mmap_count, ARRAY_SIZE(bios_map));
	const struct mb2_mmap_entry *e = (const void *)((const u8 *)info.mmap + 4 * 32);
	assert_int_equal(e->base_addr, 0xfff0000);
	assert_int_equal(e->type, MB2_MEM_ACPI_RECLAIMABLE);
	/* Nothing else was there. */
	assert_string_equal(info.cmdline, "");
	assert_string_equal(info.loader_name, "");
	assert_null(info.rsdp_old);
	assert_null(info.fb);
	assert_int_equal(info.module_count, 0);
}

static void parse_reads_unterminated_strings_as_empty(void **state)
{
	const char *why = "";
	u8 *b;

	(void)state;
	mbi_begin(&m);
	b = mbi_tag(&m, MB2_TAG_CMDLINE, 4);
	memcpy(b, "abcd", 4);
	mbi_module(&m, 0x1000, 0x2000, "");
	b = mbi_tag(&m, MB2_TAG_MODULE, 8); /* no string at all */
	assert_int_equal(mb2_parse(mbi_end(&m), &info, &why), 0);
	assert_string_equal(info.cmdline, "");
	assert_int_equal(info.module_count, 2);
	assert_string_equal(info.modules[0].string, "");
	assert_string_equal(info.modules[1].string, "");
}

static void expect_refused(const char *reason_part)
{
	const char *why = "";

	assert_int_equal(mb2_parse(m.buf, &info, &why), -E_INVAL);
	assert_non_null(strstr(why, reason_part));
}

static void parse_refuses_broken_mbis(void **state)
{
	u32 v;
	u8 *b;

	(void)state;
	/* Too small, too large. */
	mbi_begin(&m);
	mbi_end(&m);
	v = 8;
	memcpy(m.buf, &v, 4);
	expect_refused("size");
	v = MB2_MAX_SIZE + 8;
	memcpy(m.buf, &v, 4);
	expect_refused("size");

	/* A tag that runs past total_size, one shorter than its header. */
	mbi_begin(&m);
	mbi_string(&m, MB2_TAG_CMDLINE, "x");
	mbi_end(&m);
	((struct mb2_tag *)(m.buf + 8))->size = 4096;
	expect_refused("runs past");
	/* A size below the header's own 8 bytes: the walk would step onto the
	 * zero body, which reads as an end tag. */
	mbi_begin(&m);
	mbi_tag(&m, MB2_TAG_CMDLINE, 8);
	mbi_end(&m);
	((struct mb2_tag *)(m.buf + 8))->size = 4;
	expect_refused("runs past");

	/* No end tag inside total_size. */
	mbi_begin(&m);
	mbi_string(&m, MB2_TAG_CMDLINE, "x");
	mbi_end(&m);
	v = m.off - 8;
	memcpy(m.buf, &v, 4);
	expect_refused("no end tag");

	/* A module that ends before it starts, or is too short. */
	mbi_begin(&m);
	mbi_module(&m, 0x3000, 0x2000, "a");
	mbi_end(&m);
	expect_refused("module");
	mbi_begin(&m);
	mbi_tag(&m, MB2_TAG_MODULE, 4);
	mbi_end(&m);
	expect_refused("module");

	/* Memory map entries shorter than version 0's, or not 8-aligned. */
	mbi_begin(&m);
	mbi_mmap(&m, 16, bios_map, 2);
	mbi_end(&m);
	expect_refused("entry size");
	mbi_begin(&m);
	mbi_mmap(&m, 28, bios_map, 2);
	mbi_end(&m);
	expect_refused("entry size");
	mbi_begin(&m);
	b = mbi_tag(&m, MB2_TAG_MMAP, 4);
	(void)b;
	mbi_end(&m);
	expect_refused("memory map");
}

static void parse_keeps_track_of_extra_modules(void **state)
{
	const char *why = "";

	(void)state;
	mbi_begin(&m);
	for (u32 i = 0; i < MB2_MAX_MODULES + 3; i++)
		mbi_module(&m, 0x100000 + i * 0x1000, 0x100800 + i * 0x1000, "m");
	assert_int_equal(mb2_parse(mbi_end(&m), &info, &why), 0);
	/* All counted (the loader stops the boot), only the first kept. */
	assert_int_equal(info.module_count, MB2_MAX_MODULES + 3);
	assert_int_equal(info.modules[MB2_MAX_MODULES - 1].start,
			 0x100000 + (MB2_MAX_MODULES - 1) * 0x1000);
}

/* --------------------------------------------------------------- names -- */

static void module_names(void **state)
{
	char name[BOOT_NAME_MAX], longname[BOOT_NAME_MAX + 8];

	(void)state;
	assert_int_equal(mb2_module_name("hello.elf", name, sizeof(name)), 0);
	assert_string_equal(name, "hello.elf");
	assert_int_equal(mb2_module_name("/partita/hello.elf with args", name, sizeof(name)), 0);
	assert_string_equal(name, "hello.elf");
	assert_int_equal(mb2_module_name(" \tinitrd.gz", name, sizeof(name)), 0);
	assert_string_equal(name, "initrd.gz");
	assert_int_equal(mb2_module_name("", name, sizeof(name)), -E_INVAL);
	assert_int_equal(mb2_module_name("   ", name, sizeof(name)), -E_INVAL);
	assert_int_equal(mb2_module_name("/boot/ x", name, sizeof(name)), -E_INVAL);
	memset(longname, 'a', BOOT_NAME_MAX);
	longname[BOOT_NAME_MAX] = 0;
	assert_int_equal(mb2_module_name(longname, name, sizeof(name)), -E_RANGE);
	longname[BOOT_NAME_MAX - 1] = 0; /* 63 characters fit */
	assert_int_equal(mb2_module_name(longname, name, sizeof(name)), 0);
	assert_int_equal(strlen(name), BOOT_NAME_MAX - 1);
}

static void config_names(void **state)
{
	char name[BOOT_NAME_MAX];

	(void)state;
	mb2_config_name("", name, sizeof(name));
	assert_string_equal(name, "partita.conf");
	mb2_config_name("quiet config=demo.conf debug", name, sizeof(name));
	assert_string_equal(name, "demo.conf");
	mb2_config_name("config=", name, sizeof(name));
	assert_string_equal(name, "partita.conf");
	mb2_config_name("xconfig=no.conf", name, sizeof(name));
	assert_string_equal(name, "partita.conf");
}

/* --------------------------------------------- framebuffer, mem types -- */

static struct mb2_fb_tag rgb_fb(u8 red_pos, u8 blue_pos)
{
	return (struct mb2_fb_tag){
		.type = MB2_TAG_FRAMEBUFFER,
		.size = sizeof(struct mb2_fb_tag),
		.addr = 0xfd000000,
		.pitch = 4096,
		.width = 1024,
		.height = 768,
		.bpp = 32,
		.fb_type = MB2_FB_TYPE_RGB,
		.red_pos = red_pos,
		.red_size = 8,
		.green_pos = 8,
		.green_size = 8,
		.blue_pos = blue_pos,
		.blue_size = 8,
	};
}

static void framebuffer_formats(void **state)
{
	struct boot_framebuffer fb;
	struct mb2_fb_tag t;

	(void)state;
	t = rgb_fb(16, 0); /* QEMU's and Bochs's VBE modes */
	mb2_framebuffer(&t, &fb);
	assert_int_equal(fb.format, BOOT_FB_BGRX);
	assert_int_equal(fb.base, 0xfd000000);
	assert_int_equal(fb.width, 1024);
	assert_int_equal(fb.height, 768);
	assert_int_equal(fb.stride, 4096);
	assert_int_equal(fb.size, 4096 * 768);
	t = rgb_fb(0, 16);
	mb2_framebuffer(&t, &fb);
	assert_int_equal(fb.format, BOOT_FB_RGBX);

	/* What is not 32-bit, 8:8:8 RGB in one of the two orders. */
	t = rgb_fb(16, 0);
	t.bpp = 24;
	mb2_framebuffer(&t, &fb);
	assert_int_equal(fb.format, BOOT_FB_NONE);
	assert_int_equal(fb.base, 0);
	t = rgb_fb(16, 0);
	t.fb_type = 2; /* EGA text, no colour bytes */
	t.size = MB2_FB_COMMON_SIZE;
	mb2_framebuffer(&t, &fb);
	assert_int_equal(fb.format, BOOT_FB_NONE);
	t = rgb_fb(16, 0);
	t.size = MB2_FB_COMMON_SIZE; /* RGB claimed, colour bytes missing */
	mb2_framebuffer(&t, &fb);
	assert_int_equal(fb.format, BOOT_FB_NONE);
	t = rgb_fb(11, 0);
	mb2_framebuffer(&t, &fb);
	assert_int_equal(fb.format, BOOT_FB_NONE);
	t = rgb_fb(16, 0);
	t.red_size = 5;
	mb2_framebuffer(&t, &fb);
	assert_int_equal(fb.format, BOOT_FB_NONE);
	t = rgb_fb(16, 0);
	t.pitch = 1024 * 3;
	mb2_framebuffer(&t, &fb);
	assert_int_equal(fb.format, BOOT_FB_NONE);
	mb2_framebuffer(NULL, &fb);
	assert_int_equal(fb.format, BOOT_FB_NONE);
}

static void memory_types(void **state)
{
	(void)state;
	assert_int_equal(mb2_mem_type(MB2_MEM_AVAILABLE), BOOT_MEM_USABLE);
	assert_int_equal(mb2_mem_type(2), BOOT_MEM_RESERVED);
	assert_int_equal(mb2_mem_type(MB2_MEM_ACPI_RECLAIMABLE), BOOT_MEM_ACPI_RECLAIM);
	assert_int_equal(mb2_mem_type(MB2_MEM_NVS), BOOT_MEM_ACPI_NVS);
	assert_int_equal(mb2_mem_type(MB2_MEM_BADRAM), BOOT_MEM_UNUSABLE);
	assert_int_equal(mb2_mem_type(0), BOOT_MEM_RESERVED);
	assert_int_equal(mb2_mem_type(0x1234), BOOT_MEM_RESERVED);
}

/* ----------------------------------------------------------- placement -- */

static struct boot_mem_region raw[64], firm[128];
static u64 points[128];
static struct mb2_arena arena;

static size_t firm_from(const struct mb2_mmap_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		raw[i] = (struct boot_mem_region){ e[i].base_addr, e[i].length,
						   mb2_mem_type(e[i].type), 0 };
	return memmap_normalize(raw, n, points, firm);
}

static void arena_places_blocks_around_what_is_used(void **state)
{
	u64 at;

	(void)state;
	mb2_arena_init(&arena, firm, firm_from(bios_map, ARRAY_SIZE(bios_map)));
	assert_int_equal(mb2_arena_use(&arena, 0x100000, 0x109000, BOOT_MEM_USABLE), 0);
	assert_int_equal(mb2_arena_use(&arena, 0x209000, 0xd000, BOOT_MEM_BOOT_DATA), 0);

	/* The lowest fits above 1 MiB: a page after the module; the core at
	 * the first 2 MiB boundary past everything used. */
	assert_int_equal(mb2_arena_take(&arena, 9000, PAGE_SIZE, MiB(1), GiB(4), false,
					BOOT_MEM_BOOT_DATA, &at),
			 0);
	assert_int_equal(at, 0x216000);
	assert_int_equal(mb2_arena_take(&arena, MiB(2), MiB(2), MiB(1), GiB(4), false,
					BOOT_MEM_CORE, &at),
			 0);
	assert_int_equal(at, 0x400000);
	/* The next page goes right after the first block again. */
	assert_int_equal(mb2_arena_take(&arena, 1, PAGE_SIZE, MiB(1), GiB(4), false,
					BOOT_MEM_BOOT_DATA, &at),
			 0);
	assert_int_equal(at, 0x219000);

	/* The trampoline: the highest whole free page below 640 KiB (the
	 * first range ends at 0x9fc00), then the one below it. */
	assert_int_equal(mb2_arena_take(&arena, PAGE_SIZE, PAGE_SIZE, PAGE_SIZE, 0xa0000, true,
					BOOT_MEM_TRAMPOLINE, &at),
			 0);
	assert_int_equal(at, 0x9e000);
	assert_int_equal(mb2_arena_take(&arena, PAGE_SIZE, PAGE_SIZE, PAGE_SIZE, 0xa0000, true,
					BOOT_MEM_TRAMPOLINE, &at),
			 0);
	assert_int_equal(at, 0x9d000);

	/* Top-down in high memory: below the ACPI tables at 0xfff0000. */
	assert_int_equal(mb2_arena_take(&arena, MiB(2), MiB(2), MiB(1), GiB(4), true, BOOT_MEM_CORE,
					&at),
			 0);
	assert_int_equal(at, 0xfc00000);

	/* Nothing that large, nothing in a reserved window. */
	assert_int_equal(mb2_arena_take(&arena, MiB(512), PAGE_SIZE, MiB(1), GiB(4), false,
					BOOT_MEM_CORE, &at),
			 -E_NOMEM);
	assert_int_equal(mb2_arena_take(&arena, PAGE_SIZE, PAGE_SIZE, 0xf0000, 0x100000, false,
					BOOT_MEM_CORE, &at),
			 -E_NOMEM);
	/* Every block taken is recorded with its type. */
	assert_int_equal(arena.used_count, 8);
	assert_int_equal(arena.used[3].type, BOOT_MEM_CORE);
	assert_int_equal(arena.used[3].size, MiB(2));
	assert_int_equal(arena.used[5].type, BOOT_MEM_TRAMPOLINE);
}

static void arena_reports_a_full_table(void **state)
{
	u64 at;

	(void)state;
	mb2_arena_init(&arena, firm, firm_from(bios_map, ARRAY_SIZE(bios_map)));
	for (int i = 0; i < MB2_ARENA_MAX_USED; i++)
		assert_int_equal(mb2_arena_use(&arena, GiB(8) + i * PAGE_SIZE, PAGE_SIZE,
					       BOOT_MEM_BOOT_DATA),
				 0);
	assert_int_equal(mb2_arena_use(&arena, GiB(9), PAGE_SIZE, BOOT_MEM_BOOT_DATA), -E_NOSPC);
	assert_int_equal(mb2_arena_take(&arena, PAGE_SIZE, PAGE_SIZE, MiB(1), GiB(4), false,
					BOOT_MEM_BOOT_DATA, &at),
			 -E_NOSPC);
}

/* Is [at, at + size) inside one usable range and clear of every used one
 * (the last used entry, the block itself, excepted)? */
static bool block_free(const struct mb2_arena *a, size_t used_count, u64 at, u64 size)
{
	bool in_ram = false;

	for (size_t i = 0; i < a->map_count; i++)
		if (a->map[i].type == BOOT_MEM_USABLE && a->map[i].base <= at &&
		    at + size <= a->map[i].base + a->map[i].size)
			in_ram = true;
	if (!in_ram)
		return false;
	for (size_t i = 0; i < used_count; i++)
		if (a->used[i].base < at + size && at < a->used[i].base + a->used[i].size)
			return false;
	return true;
}

/* Random maps, used ranges and requests: every block is aligned, in RAM,
 * clear of the rest, and no lower (or higher, top-down) aligned block
 * would have fitted. */
static void arena_matches_brute_force(void **state)
{
	const u64 unit = PAGE_SIZE;

	(void)state;
	srand(11);
	for (int round = 0; round < 300; round++) {
		struct mb2_mmap_entry e[12];
		size_t n = 1 + rand() % 12;

		for (size_t i = 0; i < n; i++)
			e[i] = (struct mb2_mmap_entry){
				.base_addr = (u64)(rand() % 512) * unit,
				.length = (u64)(1 + rand() % 128) * unit + (rand() % 2) * 0x800,
				.type = rand() % 3 ? MB2_MEM_AVAILABLE : 2,
			};
		mb2_arena_init(&arena, firm, firm_from(e, n));
		for (int k = rand() % 6; k > 0; k--)
			mb2_arena_use(&arena, (u64)(rand() % 512) * unit, (1 + rand() % 16) * unit,
				      BOOT_MEM_BOOT_DATA);
		for (int k = 0; k < 10; k++) {
			u64 size = (1 + rand() % 40) * unit, align = unit << (rand() % 4), at = 0;
			u64 lo = (u64)(rand() % 256) * unit, hi = lo + (u64)(rand() % 512) * unit;
			bool down = rand() % 2;
			size_t before = arena.used_count;
			int err = mb2_arena_take(&arena, size, align, lo, hi, down, BOOT_MEM_CORE,
						 &at);

			if (!err) {
				assert_int_equal(at % align, 0);
				assert_true(at >= lo && at + size <= hi);
				assert_true(block_free(&arena, before, at, size));
				assert_int_equal(arena.used_count, before + 1);
			} else {
				assert_int_equal(err, -E_NOMEM);
				assert_int_equal(arena.used_count, before);
			}
			/* No better candidate was missed. */
			for (u64 c = ALIGN_UP(lo, align); c + size <= hi; c += align) {
				if (err)
					assert_false(block_free(&arena, before, c, size));
				else if (!down && c < at)
					assert_false(block_free(&arena, before, c, size));
				else if (down && c > at)
					assert_false(block_free(&arena, before, c, size));
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_reads_every_tag),
		cmocka_unit_test(parse_accepts_longer_mmap_entries),
		cmocka_unit_test(parse_reads_unterminated_strings_as_empty),
		cmocka_unit_test(parse_refuses_broken_mbis),
		cmocka_unit_test(parse_keeps_track_of_extra_modules),
		cmocka_unit_test(module_names),
		cmocka_unit_test(config_names),
		cmocka_unit_test(framebuffer_formats),
		cmocka_unit_test(memory_types),
		cmocka_unit_test(arena_places_blocks_around_what_is_used),
		cmocka_unit_test(arena_reports_a_full_table),
		cmocka_unit_test(arena_matches_brute_force),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
