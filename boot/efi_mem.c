/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * memmove and memcmp for the UEFI loader.  gnu-efi's libefi provides memcpy
 * and memset (which gcc may call for structure copies) but not these two,
 * which the loader's own code, the shared config parser and gcc itself may
 * call.  The core has its own in kernel/lib/mem.c, which the loader cannot
 * link because it would define memcpy and memset a second time.
 */
#include "kernel/lib/string.h"

/* gcc may turn a byte loop into a call to memmove or memcmp: not here. */
#define NO_LIBCALL __attribute__((optimize("no-tree-loop-distribute-patterns")))

NO_LIBCALL void *memmove(void *dst, const void *src, size_t n);
NO_LIBCALL int memcmp(const void *a, const void *b, size_t n);

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	size_t i;

	if (d == s || n == 0)
		return dst;
	if (d < s) {
		for (i = 0; i < n; i++)
			d[i] = s[i];
	} else {
		while (n--)
			d[n] = s[n];
	}
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	size_t i;

	for (i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] - y[i];
	return 0;
}
