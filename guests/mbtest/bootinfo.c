/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mbtest's view of its boot loader: the Multiboot 1 information (Multiboot
 * Specification 0.6.96, 3.3) or the Multiboot 2 information (Multiboot2
 * Specification 2.0, 3.6), whichever the magic in EAX names, read into one
 * form; and the "modules" check of the modules the loader gave.
 *
 * The modules check.  The kernel's command line says how many modules to
 * expect ("modules=N", 0 if absent).  Each module must be page aligned (the
 * headers ask for it: MB1 flag 0, the MB2 module-alignment tag), lie above
 * the kernel's last byte and below the top of RAM, and not overlap another.
 * A module's string may carry "size=N" and "crc=0xXXXXXXXX" (CRC-32, the
 * IEEE polynomial as zlib computes it); both must then match its bytes.
 * Each module is printed as
 *   mbtest: module N: SIZE bytes at 0xSTART, crc32 0xCRC, string 'STRING'
 * so that a case can also compare what it knows.
 */
#include <stddef.h>

#include "mbtest.h"

#define MB1_BOOT_MAGIC 0x2badb002u
#define MB2_BOOT_MAGIC 0x36d76289u
#define MODULES_MAX 16

extern char _end[]; /* mbtest.ld: the kernel's last byte, bss included */

struct module {
	uint32_t start, end;
	const char *string;
};

static struct {
	unsigned version; /* 1 or 2; 0: not a Multiboot boot */
	bool memory;	  /* mem_lower/mem_upper given */
	uint32_t mem_lower, mem_upper;
	const char *cmdline;
	unsigned module_count; /* as the information says */
	struct module modules[MODULES_MAX];
} bi;

static inline uint32_t rd32(uint32_t addr)
{
	return *(volatile uint32_t *)addr;
}

static void add_module(uint32_t start, uint32_t end, uint32_t string)
{
	if (bi.module_count < MODULES_MAX)
		bi.modules[bi.module_count] =
			(struct module){ start, end, string ? (const char *)string : "" };
	bi.module_count++;
}

static void read_mb1(uint32_t info)
{
	uint32_t flags = rd32(info);

	bi.version = 1;
	if (flags & (1u << 0)) {
		bi.memory = true;
		bi.mem_lower = rd32(info + 4);
		bi.mem_upper = rd32(info + 8);
	}
	if (flags & (1u << 2))
		bi.cmdline = (const char *)rd32(info + 16);
	/* 3.3: mods_count, mods_addr; 16-byte entries of mod_start,
	 * mod_end, string, reserved. */
	if (flags & (1u << 3))
		for (uint32_t i = 0, list = rd32(info + 24); i < rd32(info + 20); i++)
			add_module(rd32(list + 16 * i), rd32(list + 16 * i + 4),
				   rd32(list + 16 * i + 8));
}

static void read_mb2(uint32_t info)
{
	uint32_t end = info + rd32(info);

	bi.version = 2;
	/* 3.6: total_size, reserved, then 8-byte aligned tags up to type 0. */
	for (uint32_t t = info + 8; t + 8 <= end; t = (t + rd32(t + 4) + 7) & ~7u) {
		uint32_t type = rd32(t), size = rd32(t + 4);
		if (type == 0 || size < 8)
			break;
		if (type == 1) /* 3.6.3 command line */
			bi.cmdline = (const char *)(t + 8);
		if (type == 3 && size >= 17) /* 3.6.6 module */
			add_module(rd32(t + 8), rd32(t + 12), t + 16);
		if (type == 4 && size >= 16) { /* 3.6.8 basic memory information */
			bi.memory = true;
			bi.mem_lower = rd32(t + 8);
			bi.mem_upper = rd32(t + 12);
		}
	}
}

bool boot_info_read(uint32_t magic, uint32_t info)
{
	if (!info)
		return false;
	if (magic == MB1_BOOT_MAGIC)
		read_mb1(info);
	else if (magic == MB2_BOOT_MAGIC)
		read_mb2(info);
	else
		return false;
	puts("mbtest: Multiboot ");
	putu(bi.version);
	if (bi.memory) {
		puts(", memory ");
		putu(bi.mem_lower);
		puts(" KiB low, ");
		putu(bi.mem_upper);
		puts(" KiB high");
	}
	puts(", command line '");
	puts(bi.cmdline ? bi.cmdline : "");
	puts("'\n");
	return bi.memory;
}

/* The value after "key" (e.g. "crc=") in s, as a word: NULL if absent. */
static const char *word_value(const char *s, const char *key)
{
	for (const char *w = s; w && *w;) {
		while (*w == ' ')
			w++;
		const char *k = key, *v = w;
		while (*k && *v == *k)
			k++, v++;
		if (!*k)
			return v;
		while (*w && *w != ' ')
			w++;
	}
	return NULL;
}

static uint32_t parse_uint(const char *s, unsigned base)
{
	uint32_t v = 0;

	for (;; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else
			return v;
		v = v * base + d;
	}
}

/* CRC-32 (reflected, polynomial 0xedb88320, initial and final ~0). */
static uint32_t crc32(const uint8_t *p, uint32_t n)
{
	uint32_t c = 0xffffffffu;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
	}
	return ~c;
}

void check_modules(unsigned n)
{
	const char *v = bi.cmdline ? word_value(bi.cmdline, "modules=") : NULL;
	uint32_t want = v ? parse_uint(v, 10) : 0;
	uint32_t kernel_end = (uint32_t)_end;
	uint64_t ram_top = 0x100000ull + (uint64_t)bi.mem_upper * 1024;
	bool ok = bi.module_count == want && bi.module_count <= MODULES_MAX;

	puts("mbtest: ");
	putu(bi.module_count);
	puts(" modules (expected ");
	putu(want);
	puts(")\n");
	for (unsigned i = 0; i < bi.module_count && i < MODULES_MAX; i++) {
		const struct module *m = &bi.modules[i];
		bool good = m->end >= m->start && (m->start & 0xfff) == 0 &&
			    m->start >= kernel_end && m->end <= ram_top;
		uint32_t crc = good ? crc32((const uint8_t *)m->start, m->end - m->start) : 0;

		for (unsigned j = 0; j < i; j++)
			good &= m->start >= bi.modules[j].end || m->end <= bi.modules[j].start ||
				m->start == m->end;
		puts("mbtest: module ");
		putu(i);
		puts(": ");
		putu(m->end - m->start);
		puts(" bytes at ");
		puthex(m->start);
		puts(", crc32 ");
		puthex(crc);
		puts(", string '");
		puts(m->string);
		puts("'\n");
		if ((v = word_value(m->string, "size=")) && parse_uint(v, 10) != m->end - m->start)
			good = false;
		if ((v = word_value(m->string, "crc=0x")) && parse_uint(v, 16) != crc)
			good = false;
		if (!good) {
			puts("mbtest: module ");
			putu(i);
			puts(" is misplaced, or its size or crc32 is not the one its string gives\n");
		}
		ok &= good;
	}
	report(n, "modules", ok, __FILE__, __LINE__);
}
