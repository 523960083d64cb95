/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the Multiboot 1 and 2 loaders (kernel/hvm/multiboot.c) with
 * synthetic images: header detection, loading by the address fields and by
 * ELF program headers, the boot information, the entry state, and refusals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/errno.h"
#include "kernel/lib/bytes.h"
#include "kernel/hvm/multiboot.h"

#define RAM_SIZE (16u << 20)

static uint8_t *ram;
static uint8_t img[0x3000];

static int setup(void **state)
{
	(void)state;
	ram = calloc(1, RAM_SIZE);
	memset(img, 0, sizeof(img));
	for (unsigned i = 0x1000; i < sizeof(img); i++)
		img[i] = (uint8_t)(i * 3);
	return ram ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(ram);
	return 0;
}

/* MB1 header at off with the address fields: the file from offset 0 loads
 * at 1 MiB, 0x1000 bytes of bss follow. */
static void mb1_address_image(uint32_t off, uint32_t flags)
{
	wr32(img, off, 0x1badb002);
	wr32(img, off + 4, flags);
	wr32(img, off + 8, (uint32_t) - (0x1badb002u + flags));
	wr32(img, off + 12, 0x100000 + off);		      /* header_addr */
	wr32(img, off + 16, 0x100000);			      /* load_addr */
	wr32(img, off + 20, 0x100000 + sizeof(img));	      /* load_end_addr */
	wr32(img, off + 24, 0x100000 + sizeof(img) + 0x1000); /* bss_end */
	wr32(img, off + 28, 0x101000);			      /* entry */
}

/* An ELF32 image: one PT_LOAD of the file's second page at paddr 2 MiB,
 * vaddr 0xc0200000 (a higher-half kernel), memsz one page more. */
static void elf32_image(void)
{
	memcpy(img, "\177ELF", 4);
	img[4] = 1;
	img[5] = 1;
	img[6] = 1;
	wr16(img, 16, 2);
	wr16(img, 18, 3);
	wr32(img, 20, 1);
	wr32(img, 24, 0xc0200010); /* entry (virtual) */
	wr32(img, 28, 52);	   /* phoff */
	wr16(img, 40, 52);
	wr16(img, 42, 32);
	wr16(img, 44, 1);
	wr32(img, 52, 1);	   /* PT_LOAD */
	wr32(img, 56, 0x1000);	   /* offset */
	wr32(img, 60, 0xc0200000); /* vaddr */
	wr32(img, 64, 0x200000);   /* paddr */
	wr32(img, 68, 0x2000);	   /* filesz */
	wr32(img, 72, 0x3000);	   /* memsz */
}

static void mb1_with_address_fields(void **state)
{
	(void)state;
	struct hvm_boot b;
	const char *why = NULL;

	mb1_address_image(0x40, (1u << 16) | 3);
	assert_int_equal(multiboot_detect(img, sizeof(img)), 1);
	memset(ram + 0x100000 + sizeof(img), 0xcc, 0x1000);
	assert_int_equal(multiboot_load(ram, RAM_SIZE, img, sizeof(img), "mb args", NULL, 0,
					0xe0000, &b, &why),
			 0);
	assert_int_equal(b.mode, VCPU_MODE_PROT32);
	assert_int_equal(b.rax, 0x2badb002);
	assert_int_equal(b.rip, 0x101000);
	assert_int_equal(b.cs, 0x10);
	assert_int_equal(b.ds, 0x18);
	assert_int_equal(b.cr3, 0);
	/* 32-bit flat code: D set, L clear. */
	uint64_t cs = rd64(ram, b.gdt_base + 0x10);
	assert_true(cs & (1ull << 54));
	assert_false(cs & (1ull << 53));
	assert_memory_equal(ram + 0x100000, img, sizeof(img));
	for (unsigned i = 0; i < 0x1000; i++)
		assert_int_equal(ram[0x100000 + sizeof(img) + i], 0); /* bss zeroed */
	/* The information (MB1 3.3). */
	uint64_t mbi = b.rbx;
	uint32_t flags = rd32(ram, mbi);
	assert_int_equal(flags & 0x245, 0x245);
	assert_int_equal(rd32(ram, mbi + 4), 639);
	assert_int_equal(rd32(ram, mbi + 8), (RAM_SIZE - 0x100000) / 1024);
	assert_string_equal((char *)ram + rd32(ram, mbi + 16), "mb args");
	assert_string_equal((char *)ram + rd32(ram, mbi + 64), "Partita");
	uint32_t len = rd32(ram, mbi + 44), at = rd32(ram, mbi + 48), n = 0;
	uint64_t ram_total = 0;
	for (uint32_t p = at; p < at + len; p += rd32(ram, p) + 4, n++)
		if (rd32(ram, p + 20) == 1)
			ram_total += rd64(ram, p + 12);
	assert_int_equal(n, 4); /* low RAM, legacy area, RAM, PCI ECAM */
	assert_int_equal(ram_total, RAM_SIZE - (0x100000 - 0x9fc00));
}

static void mb1_elf32(void **state)
{
	(void)state;
	struct hvm_boot b;
	const char *why = NULL;

	elf32_image();
	wr32(img, 0x800, 0x1badb002);
	wr32(img, 0x804, 2);
	wr32(img, 0x808, (uint32_t) - (0x1badb002u + 2));
	assert_int_equal(multiboot_load(ram, RAM_SIZE, img, sizeof(img), NULL, NULL, 0, 0, &b,
					&why),
			 0);
	assert_int_equal(b.rip, 0x200010); /* entry translated to physical */
	assert_memory_equal(ram + 0x200000, img + 0x1000, 0x2000);
	assert_string_equal((char *)ram + rd32(ram, b.rbx + 16), "");
}

static void mb2_elf32_with_tags(void **state)
{
	(void)state;
	struct hvm_boot b;
	const char *why = NULL;
	const uint32_t h = 0x800;

	elf32_image();
	/* header 16 + info request (cmdline, mmap, ACPI new) 20 -> 24 +
	 * framebuffer 20 -> 24 + end 8 */
	wr32(img, h, 0xe85250d6);
	wr32(img, h + 4, 0);
	wr32(img, h + 8, 72);
	wr32(img, h + 12, (uint32_t) - (0xe85250d6u + 72));
	wr16(img, h + 16, 1);
	wr16(img, h + 18, 0);
	wr32(img, h + 20, 20);
	wr32(img, h + 24, 1);
	wr32(img, h + 28, 6);
	wr32(img, h + 32, 15);
	wr16(img, h + 40, 5);
	wr16(img, h + 42, 0);
	wr32(img, h + 44, 20);
	wr16(img, h + 64, 0);
	wr32(img, h + 68, 8);
	assert_int_equal(multiboot_detect(img, sizeof(img)), 2);
	memcpy(ram + 0xe0000, "RSD PTR ", 8);
	ram[0xe0000 + 35] = 0x77;
	assert_int_equal(multiboot_load(ram, RAM_SIZE, img, sizeof(img), "two", NULL, 0, 0xe0000,
					&b, &why),
			 0);
	assert_int_equal(b.rax, 0x36d76289);
	assert_int_equal(b.rip, 0x200010);
	assert_int_equal(b.rbx % 8, 0);
	/* Walk the information tags (MB2 3.6). */
	uint64_t mbi = b.rbx, end = mbi + rd32(ram, mbi);
	unsigned seen = 0;
	for (uint64_t t = mbi + 8; t < end; t = (t + rd32(ram, t + 4) + 7) & ~7ull) {
		uint32_t type = rd32(ram, t), size = rd32(ram, t + 4);
		assert_true(t + size <= end);
		seen |= 1u << type;
		if (type == 1)
			assert_string_equal((char *)ram + t + 8, "two");
		if (type == 4)
			assert_int_equal(rd32(ram, t + 8), 639);
		if (type == 6) {
			assert_int_equal(rd32(ram, t + 8), 24);
			assert_int_equal((size - 16) / 24, 4);
		}
		if (type == 15) {
			assert_int_equal(size, 44);
			assert_memory_equal(ram + t + 8, ram + 0xe0000, 36);
		}
		if (type == 0) {
			assert_int_equal(t + 8, end);
			break;
		}
	}
	assert_int_equal(seen & 0xc057, 0xc057); /* 0,1,2,4,6,14,15 */
}

/* Two modules of odd sizes and a third of 0 bytes. */
static uint8_t mod_a[5000], mod_b[3];
static const struct multiboot_module mods[3] = {
	{ mod_a, sizeof(mod_a), "alpha one  two" },
	{ mod_b, sizeof(mod_b), NULL },
	{ NULL, 0, "empty" },
};

static void fill_mods(void)
{
	for (unsigned i = 0; i < sizeof(mod_a); i++)
		mod_a[i] = (uint8_t)(i * 7 + 1);
	memcpy(mod_b, "xyz", 3);
}

/* Each module page aligned, after the kernel and after the one before it,
 * holding its bytes; its string as given. */
static void check_mod(unsigned i, uint32_t start, uint32_t end, const char *string,
		      uint64_t kernel_end, uint32_t *prev_end)
{
	assert_int_equal(start % 4096, 0);
	assert_true(start >= kernel_end);
	assert_true(start >= *prev_end);
	assert_int_equal(end - start, mods[i].size);
	if (mods[i].size)
		assert_memory_equal(ram + start, mods[i].data, mods[i].size);
	assert_string_equal(string, mods[i].string ? mods[i].string : "");
	*prev_end = end;
}

static void mb1_modules(void **state)
{
	(void)state;
	struct hvm_boot b;
	const char *why = NULL;
	uint32_t prev = 0;

	fill_mods();
	mb1_address_image(0x40, (1u << 16) | 3); /* flag 0: page-aligned modules */
	assert_int_equal(multiboot_load(ram, RAM_SIZE, img, sizeof(img), "k", mods, 3, 0, &b, &why),
			 0);
	uint64_t mbi = b.rbx;
	assert_true(rd32(ram, mbi) & (1u << 3));
	assert_int_equal(rd32(ram, mbi + 20), 3);
	uint32_t list = rd32(ram, mbi + 24);
	assert_true(list >= 0xc4000 && list < 0xe0000);
	for (unsigned i = 0; i < 3; i++) {
		uint32_t e = list + 16 * i;
		check_mod(i, rd32(ram, e), rd32(ram, e + 4), (char *)ram + rd32(ram, e + 8),
			  0x100000 + sizeof(img) + 0x1000, &prev);
		assert_int_equal(rd32(ram, e + 12), 0);
	}
	/* The kernel's own bytes are intact. */
	assert_memory_equal(ram + 0x100000, img, sizeof(img));
}

static void mb1_no_modules(void **state)
{
	(void)state;
	struct hvm_boot b;
	const char *why = NULL;

	mb1_address_image(0x40, (1u << 16) | 3);
	assert_int_equal(multiboot_load(ram, RAM_SIZE, img, sizeof(img), NULL, NULL, 0, 0, &b,
					&why),
			 0);
	assert_false(rd32(ram, b.rbx) & (1u << 3));
	assert_int_equal(rd32(ram, b.rbx + 20), 0);
}

static void mb2_modules(void **state)
{
	(void)state;
	struct hvm_boot b;
	const char *why = NULL;
	const uint32_t h = 0x800;
	uint32_t prev = 0;
	unsigned n = 0;

	fill_mods();
	elf32_image();
	/* header 16 + module alignment 8 + end 8 */
	wr32(img, h, 0xe85250d6);
	wr32(img, h + 4, 0);
	wr32(img, h + 8, 32);
	wr32(img, h + 12, (uint32_t) - (0xe85250d6u + 32));
	wr16(img, h + 16, 6);
	wr32(img, h + 20, 8);
	wr16(img, h + 24, 0);
	wr32(img, h + 28, 8);
	assert_int_equal(multiboot_load(ram, RAM_SIZE, img, sizeof(img), "", mods, 3, 0, &b, &why),
			 0);
	uint64_t mbi = b.rbx, end = mbi + rd32(ram, mbi);
	for (uint64_t t = mbi + 8; t < end; t = (t + rd32(ram, t + 4) + 7) & ~7ull) {
		uint32_t type = rd32(ram, t), size = rd32(ram, t + 4);
		if (type == 0)
			break;
		if (type != 3)
			continue;
		assert_true(n < 3);
		assert_int_equal(size, 16 + strlen((char *)ram + t + 16) + 1);
		check_mod(n, rd32(ram, t + 8), rd32(ram, t + 12), (char *)ram + t + 16,
			  0x200000 + 0x3000, &prev);
		n++;
	}
	assert_int_equal(n, 3);
	assert_memory_equal(ram + 0x200000, img + 0x1000, 0x2000);
}

static void module_refusals(void **state)
{
	(void)state;
	struct hvm_boot b;
	const char *why = NULL;
	static uint8_t big[RAM_SIZE - 0x100000];
	char long_string[130];
	struct multiboot_module m[9];

	/* The kernel ends at 0x104000 (bss included): 15 MiB does not fit after it. */
	mb1_address_image(0x40, (1u << 16) | 3);
	m[0] = (struct multiboot_module){ big, sizeof(big), "" };
	assert_int_equal(multiboot_load(ram, RAM_SIZE, img, sizeof(img), NULL, m, 1, 0, &b, &why),
			 -E_INVAL);
	assert_non_null(strstr(why, "do not fit"));
	/* Exactly to the end of RAM fits. */
	m[0].size = RAM_SIZE - 0x104000;
	assert_int_equal(multiboot_load(ram, RAM_SIZE, img, sizeof(img), NULL, m, 1, 0, &b, &why),
			 0);
	memset(ram, 0, RAM_SIZE);
	m[0].size = RAM_SIZE - 0x104000 + 1;
	assert_int_equal(multiboot_load(ram, RAM_SIZE, img, sizeof(img), NULL, m, 1, 0, &b, &why),
			 -E_INVAL);
	memset(long_string, 'x', sizeof(long_string) - 1);
	long_string[sizeof(long_string) - 1] = 0;
	m[0] = (struct multiboot_module){ mod_b, sizeof(mod_b), long_string };
	assert_int_equal(multiboot_load(ram, RAM_SIZE, img, sizeof(img), NULL, m, 1, 0, &b, &why),
			 -E_INVAL);
	assert_non_null(strstr(why, "string"));
	for (unsigned i = 0; i < 9; i++)
		m[i] = (struct multiboot_module){ mod_b, sizeof(mod_b), "" };
	assert_int_equal(multiboot_load(ram, RAM_SIZE, img, sizeof(img), NULL, m, 9, 0, &b, &why),
			 -E_INVAL);
	assert_non_null(strstr(why, "more than 8"));
	/* Nothing was written by the refusals. */
	for (uint64_t i = 0x100000; i < RAM_SIZE; i += 256)
		assert_int_equal(ram[i], 0);
}

static void refuse(const char *expect)
{
	struct hvm_boot b;
	const char *why = NULL;
	if (multiboot_load(ram, RAM_SIZE, img, sizeof(img), NULL, NULL, 0, 0, &b, &why) != -E_INVAL)
		fail_msg("accepted an image that should fail with \"%s\"", expect);
	assert_non_null(why);
	if (!strstr(why, expect))
		fail_msg("why = \"%s\", expected \"%s\"", why, expect);
	for (uint64_t i = 0x100000; i < RAM_SIZE; i += 256)
		assert_int_equal(ram[i], 0);
	memset(img, 0, sizeof(img));
}

static void refusals(void **state)
{
	(void)state;
	refuse("no Multiboot header");
	wr32(img, 0x2000, 0x1badb002); /* beyond 8 KiB */
	wr32(img, 0x2008, (uint32_t)-0x1badb002u);
	refuse("no Multiboot header");
	mb1_address_image(0x40, (1u << 16) | 4); /* video mode */
	refuse("video mode");
	mb1_address_image(0x40, 1u << 16);
	wr32(img, 0x40 + 16, 0x100000 + 0x80); /* load_addr above header_addr */
	refuse("header_addr");
	mb1_address_image(0x40, 1u << 16);
	wr32(img, 0x40 + 28, 0x90000); /* entry outside */
	refuse("entry");
	mb1_address_image(0x40, 1u << 16);
	wr32(img, 0x40 + 20, 0x100000 + sizeof(img) + 1); /* past the file */
	refuse("outside the file");
	mb1_address_image(0x40, 1u << 16);
	wr32(img, 0x40 + 12, 0x80040);
	wr32(img, 0x40 + 16, 0x80000); /* below 1 MiB */
	wr32(img, 0x40 + 20, 0x80000 + sizeof(img));
	wr32(img, 0x40 + 24, 0);
	wr32(img, 0x40 + 28, 0x80100);
	refuse("outside RAM");
	elf32_image();
	wr32(img, 0x800, 0x1badb002);
	wr32(img, 0x808, (uint32_t)-0x1badb002u);
	wr32(img, 64, 0xfff000); /* segment past 16 MiB of RAM */
	refuse("outside RAM");
	elf32_image();
	wr32(img, 0x800, 0x1badb002);
	wr32(img, 0x808, (uint32_t)-0x1badb002u);
	wr32(img, 24, 0x10); /* entry outside */
	refuse("entry point");
	elf32_image();
	wr32(img, 0x800, 0x1badb002);
	wr32(img, 0x808, (uint32_t)-0x1badb002u);
	wr16(img, 44, 200); /* phnum */
	refuse("program headers");
	/* MB2: a required request the platform cannot meet (VBE, type 7). */
	elf32_image();
	wr32(img, 0x800, 0xe85250d6);
	wr32(img, 0x808, 40);
	wr32(img, 0x80c, (uint32_t) - (0xe85250d6u + 40));
	wr16(img, 0x810, 1);
	wr32(img, 0x814, 12);
	wr32(img, 0x818, 7);
	wr16(img, 0x820, 0);
	wr32(img, 0x824, 8);
	refuse("cannot give");
	/* MB2: tags without an end tag. */
	elf32_image();
	wr32(img, 0x800, 0xe85250d6);
	wr32(img, 0x808, 32);
	wr32(img, 0x80c, (uint32_t) - (0xe85250d6u + 32));
	wr16(img, 0x810, 4);
	wr32(img, 0x814, 12);
	refuse("no end tag");
	/* MB2: an unknown required tag. */
	elf32_image();
	wr32(img, 0x800, 0xe85250d6);
	wr32(img, 0x808, 32);
	wr32(img, 0x80c, (uint32_t) - (0xe85250d6u + 32));
	wr16(img, 0x810, 99);
	wr32(img, 0x814, 8);
	wr16(img, 0x818, 0);
	wr32(img, 0x81c, 8);
	refuse("unknown type");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(mb1_with_address_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(mb1_elf32, setup, teardown),
		cmocka_unit_test_setup_teardown(mb2_elf32_with_tags, setup, teardown),
		cmocka_unit_test_setup_teardown(refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(mb1_modules, setup, teardown),
		cmocka_unit_test_setup_teardown(mb1_no_modules, setup, teardown),
		cmocka_unit_test_setup_teardown(mb2_modules, setup, teardown),
		cmocka_unit_test_setup_teardown(module_refusals, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
