/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Little-endian reads and writes at any byte offset of a buffer: firmware
 * tables, boot protocol headers and Multiboot structures are byte layouts
 * with no alignment promise, so they are read through memcpy rather than
 * through casts.
 */
#ifndef PARTITA_LIB_BYTES_H
#define PARTITA_LIB_BYTES_H

#include "kernel/lib/string.h"
#include "kernel/lib/types.h"

static inline u8 rd8(const u8 *p, u64 off)
{
	return p[off];
}
static inline u16 rd16(const u8 *p, u64 off)
{
	u16 v;
	memcpy(&v, p + off, 2);
	return v;
}
static inline u32 rd32(const u8 *p, u64 off)
{
	u32 v;
	memcpy(&v, p + off, 4);
	return v;
}
static inline u64 rd64(const u8 *p, u64 off)
{
	u64 v;
	memcpy(&v, p + off, 8);
	return v;
}
static inline void wr8(u8 *p, u64 off, u8 v)
{
	p[off] = v;
}
static inline void wr16(u8 *p, u64 off, u16 v)
{
	memcpy(p + off, &v, 2);
}
static inline void wr32(u8 *p, u64 off, u32 v)
{
	memcpy(p + off, &v, 4);
}
static inline void wr64(u8 *p, u64 off, u64 v)
{
	memcpy(p + off, &v, 8);
}

#endif
