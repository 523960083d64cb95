/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * printf-style formatting into a buffer, for the core's log and the config
 * parser's messages.  Supports the conversions the project uses:
 * %d %i %u %x %X %o %c %s %p %% with flags '-', '0', width, precision
 * (including '*') and the length modifiers hh h l ll z.
 */
#ifndef PARTITA_LIB_FORMAT_H
#define PARTITA_LIB_FORMAT_H

#include <stdarg.h>
#include <stddef.h>

#ifdef PARTITA_HOST
#include <stdio.h>
#else
/** Formats into buf (always terminated if size > 0); returns the length the
 *  full output would have had, as C's vsnprintf does. */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#endif

#endif
