/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The stdlib.h of the freestanding lwIP and mbedTLS builds.  lwIP allocates
 * from its own pools (MEM_LIBC_MALLOC = 0) and needs only atoi (defined by
 * its port); mbedTLS allocates with calloc and free, which
 * guests/lib/tls/alloc.c defines for the guests that link it.
 */
#ifndef PARTITA_LIBC_STDLIB_H
#define PARTITA_LIBC_STDLIB_H

#include <stddef.h>

int atoi(const char *s);
void *calloc(size_t count, size_t size);
void free(void *p);

#endif
