/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The string.h of the freestanding lwIP and mbedTLS builds: the functions
 * they call, which the guest runtime provides (kernel/lib/mem.c and
 * kernel/lib/string.c).
 */
#ifndef PARTITA_LWIP_STRING_H
#define PARTITA_LWIP_STRING_H

#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strstr(const char *haystack, const char *needle); /* guests/lib/tls/libc.c */

#endif
