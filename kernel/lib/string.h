/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The few C string and memory functions the core needs.  The core is
 * freestanding, so these are its own; the host unit tests use the C library's
 * versions of the same functions, which have the same contracts.
 */
#ifndef PARTITA_LIB_STRING_H
#define PARTITA_LIB_STRING_H

#include <stddef.h>

#ifdef PARTITA_HOST
/* Host unit tests: the C library provides everything but strlcpy. */
#include <string.h>
size_t strlcpy(char *dst, const char *src, size_t size);
#else
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);

/** Copies at most size-1 bytes of src and always terminates dst (if size > 0).
 *  Returns strlen(src), so a result >= size means the copy was truncated. */
size_t strlcpy(char *dst, const char *src, size_t size);
#endif

#endif
