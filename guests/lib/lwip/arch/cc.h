/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lwIP's compiler and platform header for Partita's paravirtual guests
 * (x86-64, GCC, freestanding).  Diagnostics go to the partition's console
 * through the runtime's printf; a failed lwIP assertion ends the partition.
 * The printf formats of lwIP's types are given here because a freestanding
 * build has no inttypes.h.
 */
#ifndef PARTITA_LWIP_ARCH_CC_H
#define PARTITA_LWIP_ARCH_CC_H

#define LWIP_NO_INTTYPES_H 1
#define LWIP_NO_CTYPE_H 1 /* lwIP then defines its own isdigit & co. */

#define X8_F "02x"
#define U16_F "hu"
#define S16_F "hd"
#define X16_F "hx"
#define U32_F "u"
#define S32_F "d"
#define X32_F "x"
#define SZT_F "lu"

#define BYTE_ORDER LITTLE_ENDIAN
#define lwip_htons(x) ((u16_t)__builtin_bswap16((u16_t)(x)))
#define lwip_htonl(x) ((u32_t)__builtin_bswap32((u32_t)(x)))

int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lwip_port_assert(const char *msg, const char *file, int line) __attribute__((noreturn));
unsigned int lwip_port_rand(void);

#define LWIP_PLATFORM_DIAG(x) \
	do {                  \
		printf x;     \
	} while (0)
#define LWIP_PLATFORM_ASSERT(x) lwip_port_assert((x), __FILE__, __LINE__)
#define LWIP_RAND() ((u32_t)lwip_port_rand())

#endif
