/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the Linux boot protocol loader (kernel/hvm/linux_boot.c)
 * with a synthetic bzImage: the setup header checks, where the kernel, the
 * zero page, the command line and the initrd land, the e820 map, the GDT and
 * page tables, and the entry state.  If build/guests/vmlinuz exists (make
 * linux), Debian's real kernel is loaded too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/errno.h"
#include "kernel/lib/bytes.h"
#include "kernel/hvm/linux_boot.h"

#define RAM_SIZE (64u << 20)
#define SETUP_SECTS 4
#define KERNEL_BYTES 0x3000u
#define IMAGE_SIZE ((SETUP_SECTS + 1) * 512 + KERNEL_BYTES)

static uint8_t *ram;
static uint8_t image[IMAGE_SIZE];
static uint8_t initrd[8192];

/* A bzImage header as boot.rst describes it, protocol 2.15, 64-bit,
 * relocatable, preferring 16 MiB, needing 8 MiB from its load address. */
static void make_image(void)
{
	memset(image, 0, sizeof(image));
	wr8(image, 0x1f1, SETUP_SECTS);
	wr32(image, 0x1f4, KERNEL_BYTES / 16);
	wr16(image, 0x1fe, 0xaa55);
	wr8(image, 0x200, 0xeb);
	wr8(image, 0x201, 0x6a); /* header ends at 0x26c */
	memcpy(image + 0x202, "HdrS", 4);
	wr16(image, 0x206, 0x020f);
	wr8(image, 0x211, 0x01);	/* LOADED_HIGH */
	wr32(image, 0x22c, 0x7fffffff); /* initrd_addr_max */
	wr32(image, 0x230, 0x200000);	/* kernel_alignment */
	wr8(image, 0x234, 1);		/* relocatable */
	wr16(image, 0x236, 0x3);	/* XLF_KERNEL_64 | ABOVE_4G */
	wr32(image, 0x238, 2047);	/* cmdline_size */
	wr64(image, 0x258, 0x1000000);	/* pref_address */
	wr32(image, 0x260, 0x800000);	/* init_size */
	for (unsigned i = 0; i < KERNEL_BYTES; i++)
		image[(SETUP_SECTS + 1) * 512 + i] = (uint8_t)(i * 7 + 1);
	for (unsigned i = 0; i < sizeof(initrd); i++)
		initrd[i] = (uint8_t)(i ^ 0x5a);
}

static int setup(void **state)
{
	(void)state;
	ram = calloc(1, RAM_SIZE);
	make_image();
	return ram ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(ram);
	return 0;
}

static int load(const char *cmdline, const void *rd, uint64_t rd_size, struct hvm_boot *b,
		const char **why)
{
	*why = NULL;
	return linux_boot_load(ram, RAM_SIZE, image, sizeof(image), rd, rd_size, cmdline, 0xe0000,
			       b, why);
}

static void loads_a_good_image(void **state)
{
	(void)state;
	struct hvm_boot b;
	const char *why;
	const uint64_t zp = HVM_BOOT_INFO_GPA;

	assert_true(linux_boot_is_bzimage(image, sizeof(image)));
	assert_int_equal(load("console=ttyS0 quiet", initrd, sizeof(initrd), &b, &why), 0);
	/* Entry state: boot.rst "64-bit BOOT PROTOCOL". */
	assert_int_equal(b.mode, VCPU_MODE_LONG);
	assert_int_equal(b.rip, 0x1000000 + 0x200);
	assert_int_equal(b.rsi, zp);
	assert_int_equal(b.cs, 0x10);
	assert_int_equal(b.ds, 0x18);
	assert_int_equal(b.rax, 0);
	assert_int_equal(b.rbx, 0);
	assert_true(b.rsp > 0x9fc00 && b.rsp <= 0x100000);
	/* The kernel at pref_address. */
	assert_memory_equal(ram + 0x1000000, image + (SETUP_SECTS + 1) * 512, KERNEL_BYTES);
	/* The zero page: setup header copied, loader fields set. */
	assert_memory_equal(ram + zp + 0x1f1, image + 0x1f1, 0x210 - 0x1f1);
	assert_int_equal(rd8(ram, zp + 0x210), 0xff);
	assert_int_equal(rd8(ram, zp + 0x211) & 0x81, 0x81);
	assert_int_not_equal(rd16(ram, zp + 0x224), 0);
	assert_int_equal(rd64(ram, zp + 0x070), 0xe0000);
	assert_int_equal(rd64(ram, zp + 0x258), 0x1000000);
	assert_string_equal((char *)ram + rd32(ram, zp + 0x228), "console=ttyS0 quiet");
	assert_int_equal(rd32(ram, zp + 0xc8), 0);
	/* The initrd: at the top of RAM, page aligned, above the kernel. */
	uint64_t rd = rd32(ram, zp + 0x218) | (uint64_t)rd32(ram, zp + 0xc0) << 32;
	assert_int_equal(rd32(ram, zp + 0x21c), sizeof(initrd));
	assert_int_equal(rd % 4096, 0);
	assert_true(rd >= 0x1000000 + 0x800000);
	assert_true(rd + sizeof(initrd) <= RAM_SIZE);
	assert_true(rd + sizeof(initrd) > RAM_SIZE - 4096);
	assert_memory_equal(ram + rd, initrd, sizeof(initrd));
	/* e820: usable low memory, reserved legacy area, RAM from 1 MiB,
	 * the reserved PCI ECAM window. */
	assert_int_equal(rd8(ram, zp + 0x1e8), 4);
	const uint64_t e = zp + 0x2d0;
	assert_int_equal(rd64(ram, e), 0);
	assert_int_equal(rd64(ram, e + 8), 0x9fc00);
	assert_int_equal(rd32(ram, e + 16), 1);
	assert_int_equal(rd64(ram, e + 20), 0x9fc00);
	assert_int_equal(rd64(ram, e + 28), 0x100000 - 0x9fc00);
	assert_int_equal(rd32(ram, e + 36), 2);
	assert_int_equal(rd64(ram, e + 40), 0x100000);
	assert_int_equal(rd64(ram, e + 48), RAM_SIZE - 0x100000);
	assert_int_equal(rd32(ram, e + 56), 1);
	assert_int_equal(rd64(ram, e + 60), 0xe0000000ull);
	assert_int_equal(rd64(ram, e + 68), 0x10000000ull);
	assert_int_equal(rd32(ram, e + 76), 2);
	/* The boot structures lie in the reserved area. */
	assert_true(b.gdt_base >= 0x9fc00 && b.gdt_base < 0x100000);
	assert_true(b.cr3 >= 0x9fc00 && b.cr3 < 0x100000);
	assert_true(zp >= 0x9fc00 && zp < 0x100000);
	/* GDT: 64-bit code (L, P, DPL 0, execute/read) and flat data. */
	assert_int_equal(b.gdt_limit, 31);
	uint64_t cs = rd64(ram, b.gdt_base + 0x10), ds = rd64(ram, b.gdt_base + 0x18);
	assert_true(cs & (1ull << 53));		 /* L */
	assert_false(cs & (1ull << 54));	 /* D must be 0 with L */
	assert_true(cs & (1ull << 47));		 /* P */
	assert_int_equal((cs >> 40) & 0xf, 0xa); /* execute/read */
	assert_true(ds & (1ull << 47));
	assert_int_equal((ds >> 40) & 0xf, 0x2); /* read/write */
	/* Page tables: identity, 2 MiB pages, covering all of RAM. */
	uint64_t pdpt = rd64(ram, b.cr3) & ~0xfffull;
	for (uint64_t a = 0; a < RAM_SIZE; a += 2u << 20) {
		uint64_t pd = rd64(ram, pdpt + (a >> 30) * 8) & ~0xfffull;
		uint64_t pde = rd64(ram, pd + ((a >> 21) & 511) * 8);
		assert_int_equal(pde & 0x83, 0x83);
		assert_int_equal(pde & ~0xfffull, a);
	}
}

static void places_kernel_low_when_pref_does_not_fit(void **state)
{
	(void)state;
	struct hvm_boot b;
	const char *why;

	wr32(image, 0x260, 60u << 20); /* 16 MiB + 60 MiB > 64 MiB */
	assert_int_equal(load(NULL, NULL, 0, &b, &why), 0);
	assert_int_equal(b.rip, 0x200000 + 0x200);
	assert_int_equal(rd8(ram, HVM_BOOT_CMDLINE_GPA), 0);
	assert_int_equal(rd32(ram, HVM_BOOT_INFO_GPA + 0x218), 0);
}

static void refuse(const char *expect, const char *cmdline, uint64_t rd_size)
{
	struct hvm_boot b;
	const char *why;
	memset(ram, 0, RAM_SIZE);
	assert_int_equal(load(cmdline, initrd, rd_size, &b, &why), -E_INVAL);
	assert_non_null(why);
	if (!strstr(why, expect))
		fail_msg("why = \"%s\", expected \"%s\"", why, expect);
	/* Validate, then act: nothing was written. */
	for (uint64_t i = 0; i < RAM_SIZE; i += 512)
		assert_int_equal(ram[i] | ram[i + 0x1f1], 0);
	make_image();
}

static void refuses_malformed_images(void **state)
{
	(void)state;
	memcpy(image + 0x202, "HdrT", 4);
	refuse("not a bzImage", NULL, 0);
	wr16(image, 0x1fe, 0);
	refuse("not a bzImage", NULL, 0);
	wr16(image, 0x206, 0x020b);
	refuse("older than 2.12", NULL, 0);
	wr16(image, 0x236, 0x2);
	refuse("no 64-bit entry", NULL, 0);
	wr8(image, 0x211, 0);
	refuse("zImage", NULL, 0);
	wr8(image, 0x1f1, 200);
	refuse("setup_sects", NULL, 0);
	wr32(image, 0x1f4, KERNEL_BYTES / 16 + 1);
	refuse("syssize", NULL, 0);
	wr32(image, 0x1f4, 0);
	refuse("syssize", NULL, 0);
	wr32(image, 0x260, 0x100);
	refuse("init_size is smaller", NULL, 0);
	wr32(image, 0x260, 0xffffffff);
	refuse("do not fit", NULL, 0);
	wr8(image, 0x234, 0); /* fixed at 16 MiB, needs 60 MiB */
	wr32(image, 0x260, 60u << 20);
	refuse("do not fit", NULL, 0);
	wr32(image, 0x230, 0x3000); /* not a power of two */
	refuse("kernel_alignment", NULL, 0);
	wr8(image, 0x201, 0x10);
	refuse("setup header length", NULL, 0);
	wr8(image, 0x201, 0xff);
	refuse("setup header length", NULL, 0);
}

static void refuses_what_does_not_fit(void **state)
{
	(void)state;
	static char longline[3000];
	memset(longline, 'x', sizeof(longline) - 1);
	refuse("command line longer", longline, 0);
	wr32(image, 0x22c, 0x1000fff); /* initrd_addr_max inside the kernel */
	wr16(image, 0x236, 0x1);
	refuse("initrd does not fit", NULL, sizeof(initrd));
	wr32(image, 0x22c, 0x1000);
	wr16(image, 0x236, 0x1);
	refuse("initrd does not fit", NULL, sizeof(initrd));
	wr32(image, 0x260, 0x800000);
	{
		struct hvm_boot b;
		const char *why;
		assert_int_equal(linux_boot_load(ram, 2u << 20, image, sizeof(image), NULL, 0, NULL,
						 0, &b, &why),
				 -E_INVAL);
		assert_non_null(strstr(why, "less than 4 MiB"));
		assert_int_equal(linux_boot_load(ram, RAM_SIZE, image, 0x200, NULL, 0, NULL, 0, &b,
						 &why),
				 -E_INVAL);
	}
}

static void memory_map_above_the_apic_window(void **state)
{
	(void)state;
	struct hvm_mem_range r[HVM_MEM_RANGES_MAX];
	unsigned n = hvm_boot_memory_map(6ull << 30, r);
	assert_int_equal(n, 5);
	assert_int_equal(r[2].base + r[2].length, 0xe0000000ull);
	assert_int_equal(r[3].base, 0xe0000000ull); /* ECAM, reserved */
	assert_int_equal(r[3].length, 0x10000000ull);
	assert_int_equal(r[3].type, HVM_MEM_RESERVED);
	assert_int_equal(r[4].base, 4ull << 30);
	assert_int_equal(r[4].length, 2ull << 30);
	/* what is RAM and what is a device window */
	assert_true(hvm_boot_is_ram(6ull << 30, 0xdfffffffull));
	assert_false(hvm_boot_is_ram(6ull << 30, 0xe0000000ull));
	assert_false(hvm_boot_is_ram(6ull << 30, 0xfec00000ull));
	assert_true(hvm_boot_is_ram(6ull << 30, 4ull << 30));
	assert_false(hvm_boot_is_ram(6ull << 30, 6ull << 30));
	for (unsigned i = 1; i < n; i++)
		assert_true(r[i].base >= r[i - 1].base + r[i - 1].length);
}

/* Debian's kernel, if `make linux` has fetched it. */
static void loads_the_real_kernel(void **state)
{
	(void)state;
	FILE *f = fopen("build/guests/vmlinuz", "rb");
	if (!f) {
		printf("skipped: build/guests/vmlinuz does not exist (make linux fetches it)\n");
		skip();
	}
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *k = malloc((size_t)size);
	assert_non_null(k);
	assert_int_equal(fread(k, 1, (size_t)size, f), (size_t)size);
	fclose(f);

	const uint64_t big = 256u << 20;
	uint8_t *r = calloc(1, big);
	struct hvm_boot b;
	const char *why = NULL;
	assert_true(linux_boot_is_bzimage(k, (uint64_t)size));
	int err = linux_boot_load(r, big, k, (uint64_t)size, initrd, sizeof(initrd),
				  "console=ttyS0", 0xe0000, &b, &why);
	if (err)
		fail_msg("real kernel refused: %s", why);
	uint64_t pref;
	memcpy(&pref, k + 0x258, 8);
	assert_int_equal(b.rip, pref + 0x200);
	unsigned setup = (k[0x1f1] ? k[0x1f1] : 4) + 1;
	assert_memory_equal(r + pref, k + setup * 512, 4096);
	free(r);
	free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(loads_a_good_image, setup, teardown),
		cmocka_unit_test_setup_teardown(places_kernel_low_when_pref_does_not_fit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(refuses_malformed_images, setup, teardown),
		cmocka_unit_test_setup_teardown(refuses_what_does_not_fit, setup, teardown),
		cmocka_unit_test(memory_map_above_the_apic_window),
		cmocka_unit_test_setup_teardown(loads_the_real_kernel, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
