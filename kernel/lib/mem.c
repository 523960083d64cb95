/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * memcpy, memmove, memset and memcmp for the freestanding core.  Kept apart
 * from string.c because the UEFI loader takes these four from gnu-efi's libefi
 * and must not get a second definition.  gcc may emit calls to them for
 * structure copies, so they must exist even where no code names them.
 */
#include "kernel/lib/string.h"
#include "kernel/lib/types.h"

/* Bulk copies and fills move 8 bytes per step (rep movsq / stosq), then the
 * tail byte by byte. */
void *memcpy(void *dst, const void *src, size_t n)
{
	void *ret = dst;
	size_t words = n / 8, tail = n % 8;

	asm volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(words) : : "memory");
	asm volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(tail) : : "memory");
	return ret;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d == s || n == 0)
		return dst;
	if (d < s || d >= s + n)
		return memcpy(dst, src, n);
	/* Overlapping with dst above src: copy backwards. */
	while (n--)
		d[n] = s[n];
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	void *ret = dst;
	size_t words = n / 8, tail = n % 8;
	u64 pattern = 0x0101010101010101ULL * (unsigned char)c;

	asm volatile("rep stosq" : "+D"(dst), "+c"(words) : "a"(pattern) : "memory");
	asm volatile("rep stosb" : "+D"(dst), "+c"(tail) : "a"(pattern) : "memory");
	return ret;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}
