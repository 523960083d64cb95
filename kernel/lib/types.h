/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Basic integer and address types shared by the core, the loader and the
 * host unit tests.  Host-physical and guest-physical addresses are wrapped in
 * distinct one-member structs so the compiler refuses to mix them silently;
 * hv_virt_t-free code works on plain uint64_t only where no address space is
 * implied (sizes, counts, offsets).
 */
#ifndef PARTITA_TYPES_H
#define PARTITA_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;

/** A host-physical address. */
typedef struct {
	u64 v;
} hpa_t;
/** A guest-physical address, meaningful only together with its partition. */
typedef struct {
	u64 v;
} gpa_t;

static inline hpa_t hpa(u64 v)
{
	return (hpa_t){ v };
}
static inline gpa_t gpa(u64 v)
{
	return (gpa_t){ v };
}

#define KiB(x) ((u64)(x) << 10)
#define MiB(x) ((u64)(x) << 20)
#define GiB(x) ((u64)(x) << 30)

#define PAGE_SHIFT 12
#define PAGE_SIZE 4096ULL
#define PAGE_MASK (~(PAGE_SIZE - 1))
#define LARGE_PAGE_SIZE (2ULL << 20)

#define ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((u64)(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((u64)(a)-1))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define __packed __attribute__((packed))
#define __aligned(x) __attribute__((aligned(x)))
#define __noreturn __attribute__((noreturn))
#define __printf(a, b) __attribute__((format(printf, a, b)))
#define __unused __attribute__((unused))
/* Marks an intended fall-through between case labels (gcc and clang). */
#define fallthrough __attribute__((fallthrough))

#endif
