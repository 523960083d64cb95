/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the checks applied to guest pointers and guest images
 * (kernel/guest_mem.c): every hypercall pointer goes through
 * guest_range_check, every partition image through guest_elf_check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/errno.h"
#include "kernel/guest_mem.h"

#define RAM_START 0x2000ULL
#define RAM_END 0x400000ULL

static void accepts_ranges_inside(void **state)
{
	(void)state;
	assert_int_equal(guest_range_check(RAM_START, 16, RAM_START, RAM_END), 0);
	assert_int_equal(guest_range_check(RAM_END - 16, 16, RAM_START, RAM_END), 0);
	assert_int_equal(guest_range_check(RAM_START, RAM_END - RAM_START, RAM_START, RAM_END), 0);
	assert_int_equal(guest_range_check(RAM_END, 0, RAM_START, RAM_END), 0);
}

static void refuses_ranges_outside(void **state)
{
	(void)state;
	assert_int_equal(guest_range_check(0, 1, RAM_START, RAM_END), -E_FAULT);
	assert_int_equal(guest_range_check(0x1000, 8, RAM_START, RAM_END),
			 -E_FAULT); /* start-info */
	assert_int_equal(guest_range_check(RAM_START - 1, 2, RAM_START, RAM_END), -E_FAULT);
	assert_int_equal(guest_range_check(RAM_END - 15, 16, RAM_START, RAM_END), -E_FAULT);
	assert_int_equal(guest_range_check(RAM_END, 1, RAM_START, RAM_END), -E_FAULT);
	assert_int_equal(guest_range_check(RAM_END + 1, 0, RAM_START, RAM_END), -E_FAULT);
}

static void refuses_wrapping_ranges(void **state)
{
	(void)state;
	assert_int_equal(guest_range_check(RAM_START, UINT64_MAX, RAM_START, RAM_END), -E_FAULT);
	assert_int_equal(guest_range_check(UINT64_MAX, 2, RAM_START, RAM_END), -E_FAULT);
	assert_int_equal(guest_range_check(RAM_END - 8, UINT64_MAX - 4, RAM_START, RAM_END),
			 -E_FAULT);
}

/* A minimal ELF64 image: header, one program header, code bytes. */
struct image {
	uint8_t bytes[8192];
	size_t size;
};

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}
static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}
static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static void make_image(struct image *im, uint64_t paddr, uint64_t filesz, uint64_t memsz,
		       uint64_t entry)
{
	uint8_t *b = im->bytes;
	memset(im, 0, sizeof(*im));
	memcpy(b, "\177ELF", 4);
	b[4] = 2; /* ELFCLASS64 */
	b[5] = 1; /* little endian */
	b[6] = 1;
	put16(b + 16, 2);  /* ET_EXEC */
	put16(b + 18, 62); /* EM_X86_64 */
	put32(b + 20, 1);
	put64(b + 24, entry);
	put64(b + 32, 64); /* phoff */
	put16(b + 52, 64);
	put16(b + 54, 56); /* phentsize */
	put16(b + 56, 1);  /* phnum */
	uint8_t *ph = b + 64;
	put32(ph + 0, 1); /* PT_LOAD */
	put32(ph + 4, 5);
	put64(ph + 8, 0x1000); /* offset */
	put64(ph + 16, paddr);
	put64(ph + 24, paddr);
	put64(ph + 32, filesz);
	put64(ph + 40, memsz);
	put64(ph + 48, 0x1000);
	/* The file holds the headers page and the segment's bytes. */
	im->size = filesz <= sizeof(im->bytes) - 0x1000 ? 0x1000 + filesz : sizeof(im->bytes);
}

static int check(struct image *im, const char **why)
{
	uint64_t entry, end;
	return guest_elf_check(im->bytes, im->size, 0x100000, 0x3f0000, &entry, &end, why);
}

static void accepts_a_good_image(void **state)
{
	struct image im;
	uint64_t entry, end;
	const char *why = NULL;
	(void)state;
	make_image(&im, 0x100000, 0x100, 0x5000, 0x100010);
	assert_int_equal(guest_elf_check(im.bytes, im.size, 0x100000, 0x3f0000, &entry, &end, &why),
			 0);
	assert_int_equal(entry, 0x100010);
	assert_int_equal(end, 0x105000);
}

static void refuses_bad_images(void **state)
{
	struct image im;
	const char *why;
	(void)state;

	make_image(&im, 0x100000, 0x100, 0x100, 0x100000);
	im.bytes[0] = 'X';
	assert_int_equal(check(&im, &why), -E_INVAL);
	assert_string_equal(why, "not an ELF file");

	make_image(&im, 0x100000, 0x100, 0x100, 0x100000);
	put16(im.bytes + 18, 3); /* EM_386 */
	assert_int_equal(check(&im, &why), -E_INVAL);

	make_image(&im, 0x100000, 0x100, 0x100, 0x100000);
	put16(im.bytes + 16, 3); /* ET_DYN */
	assert_int_equal(check(&im, &why), -E_INVAL);

	make_image(&im, 0x100000, 0x100, 0x100, 0x100000);
	im.size = 40; /* shorter than a header */
	assert_int_equal(check(&im, &why), -E_INVAL);

	make_image(&im, 0x100000, 0x100, 0x100, 0x100000);
	put64(im.bytes + 32, im.size - 8); /* program headers beyond the file */
	assert_int_equal(check(&im, &why), -E_INVAL);

	make_image(&im, 0x100000, 0x100, 0x100, 0x100000);
	put16(im.bytes + 56, 0xffff); /* absurd phnum */
	assert_int_equal(check(&im, &why), -E_INVAL);
}

static void refuses_segments_outside(void **state)
{
	struct image im;
	const char *why;
	(void)state;

	make_image(&im, 0x1000, 0x100, 0x100, 0x1000); /* below the image base */
	assert_int_equal(check(&im, &why), -E_INVAL);
	assert_string_equal(why, "a segment lies outside the partition's image area");

	make_image(&im, 0x3ef000, 0x100, 0x2000, 0x3ef000); /* runs into the stack */
	assert_int_equal(check(&im, &why), -E_INVAL);

	make_image(&im, UINT64_MAX - 0xff, 0x10, 0x1000, UINT64_MAX - 0xff); /* wraps */
	assert_int_equal(check(&im, &why), -E_INVAL);

	make_image(&im, 0x100000, 0x200, 0x100, 0x100000); /* filesz > memsz */
	assert_int_equal(check(&im, &why), -E_INVAL);

	make_image(&im, 0x100000, 0x100, 0x100, 0x100000);
	put64(im.bytes + 64 + 8, 0xfff0); /* file bytes beyond the file */
	assert_int_equal(check(&im, &why), -E_INVAL);
	assert_string_equal(why, "a segment's bytes lie outside the file");
}

static void refuses_entry_outside_segments(void **state)
{
	struct image im;
	const char *why;
	(void)state;
	make_image(&im, 0x100000, 0x100, 0x100, 0x200000);
	assert_int_equal(check(&im, &why), -E_INVAL);
	assert_string_equal(why, "the entry point is outside every segment");
}

struct seen {
	int count;
	uint64_t paddr, filesz, memsz;
};

static void record(void *ctx, u64 paddr, const void *data, u64 filesz, u64 memsz)
{
	struct seen *s = ctx;
	(void)data;
	s->count++;
	s->paddr = paddr;
	s->filesz = filesz;
	s->memsz = memsz;
}

static void lists_loadable_segments(void **state)
{
	struct image im;
	const char *why;
	struct seen s = { 0, 0, 0, 0 };
	(void)state;
	make_image(&im, 0x100000, 0x80, 0x3000, 0x100000);
	assert_int_equal(check(&im, &why), 0);
	guest_elf_segments(im.bytes, record, &s);
	assert_int_equal(s.count, 1);
	assert_int_equal(s.paddr, 0x100000);
	assert_int_equal(s.filesz, 0x80);
	assert_int_equal(s.memsz, 0x3000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accepts_ranges_inside),
		cmocka_unit_test(refuses_ranges_outside),
		cmocka_unit_test(refuses_wrapping_ranges),
		cmocka_unit_test(accepts_a_good_image),
		cmocka_unit_test(refuses_bad_images),
		cmocka_unit_test(refuses_segments_outside),
		cmocka_unit_test(refuses_entry_outside_segments),
		cmocka_unit_test(lists_loadable_segments),
	};
	return cmocka_run_group_tests_name("guest_mem", tests, NULL, NULL);
}
