/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The stdio.h of the freestanding lwIP and mbedTLS builds: the formatting
 * functions the guest runtime provides (guests/lib/runtime.c, and
 * kernel/lib/format.c for the snprintf family).  There are no streams.
 */
#ifndef PARTITA_LIBC_STDIO_H
#define PARTITA_LIBC_STDIO_H

#include <stdarg.h>
#include <stddef.h>

int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#endif
