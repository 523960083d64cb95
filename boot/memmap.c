/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * From the firmware's memory map to boot_info.mem (see loader.h).  The UEFI
 * map (UEFI 2.10 section 7.2.3, GetMemoryMap()) comes in no promised order and
 * with one entry per allocation; the core wants few, sorted, non-overlapping
 * ranges.  memmap_normalize() sweeps over the boundaries of all ranges and
 * gives each elementary interval the strongest type that covers it (so a
 * firmware map with overlaps never turns reserved memory usable), then merges
 * neighbours of one type.  memmap_fit() makes the result fit the fixed table.
 * Pure C; it runs after ExitBootServices(), so it must not call the firmware.
 */
#include "boot/loader.h"
#include "kernel/lib/string.h"

/* UEFI 2.10 section 7.2.1, EFI_MEMORY_TYPE. */
enum {
	EFI_RESERVED = 0,
	EFI_LOADER_CODE,
	EFI_LOADER_DATA,
	EFI_BOOT_SERVICES_CODE,
	EFI_BOOT_SERVICES_DATA,
	EFI_RUNTIME_SERVICES_CODE,
	EFI_RUNTIME_SERVICES_DATA,
	EFI_CONVENTIONAL,
	EFI_UNUSABLE,
	EFI_ACPI_RECLAIM,
	EFI_ACPI_NVS,
	EFI_MMIO,
	EFI_MMIO_PORT_SPACE,
};

u32 memmap_type_from_efi(u32 efi_type)
{
	switch (efi_type) {
	case EFI_LOADER_CODE:
	case EFI_LOADER_DATA:
	case EFI_BOOT_SERVICES_CODE:
	case EFI_BOOT_SERVICES_DATA:
	case EFI_CONVENTIONAL:
		return BOOT_MEM_USABLE;
	case EFI_RUNTIME_SERVICES_CODE:
	case EFI_RUNTIME_SERVICES_DATA:
		return BOOT_MEM_FIRMWARE_RUNTIME;
	case EFI_UNUSABLE:
		return BOOT_MEM_UNUSABLE;
	case EFI_ACPI_RECLAIM:
		return BOOT_MEM_ACPI_RECLAIM;
	case EFI_ACPI_NVS:
		return BOOT_MEM_ACPI_NVS;
	case EFI_MMIO:
	case EFI_MMIO_PORT_SPACE:
		return BOOT_MEM_MMIO;
	case LOADER_MEM_CORE:
		return BOOT_MEM_CORE;
	case LOADER_MEM_BOOT_DATA:
		return BOOT_MEM_BOOT_DATA;
	case LOADER_MEM_TRAMPOLINE:
		return BOOT_MEM_TRAMPOLINE;
	default: /* reserved, PAL code, persistent memory, OEM types */
		return BOOT_MEM_RESERVED;
	}
}

int memmap_type_strength(u32 type)
{
	/* Usable loses to everything; among the rest, the less usable wins. */
	static const int strength[] = {
		[BOOT_MEM_USABLE] = 0,
		[BOOT_MEM_ACPI_RECLAIM] = 1,
		[BOOT_MEM_BOOT_DATA] = 2,
		[BOOT_MEM_TRAMPOLINE] = 3,
		[BOOT_MEM_CORE] = 4,
		[BOOT_MEM_ACPI_NVS] = 5,
		[BOOT_MEM_FIRMWARE_RUNTIME] = 6,
		[BOOT_MEM_MMIO] = 7,
		[BOOT_MEM_RESERVED] = 8,
		[BOOT_MEM_UNUSABLE] = 9,
	};

	if (type >= ARRAY_SIZE(strength) || type == 0)
		return strength[BOOT_MEM_RESERVED];
	return strength[type];
}

static u64 region_end(const struct boot_mem_region *r)
{
	u64 end = r->base + r->size;

	return end < r->base ? ~0ULL : end; /* clamp a range that wraps */
}

static void sort_u64(u64 *v, size_t n)
{
	size_t i, j;

	for (i = 1; i < n; i++) {
		u64 x = v[i];

		for (j = i; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

static void sort_regions(struct boot_mem_region *r, size_t n)
{
	size_t i, j;

	for (i = 1; i < n; i++) {
		struct boot_mem_region x = r[i];

		for (j = i; j > 0 && r[j - 1].base > x.base; j--)
			r[j] = r[j - 1];
		r[j] = x;
	}
}

/* The strongest type covering [lo, hi), or 0 if nothing covers it. */
static u32 type_at(const struct boot_mem_region *in, size_t n, u64 lo, u64 hi)
{
	u32 best = 0;
	size_t i;

	for (i = 0; i < n && in[i].base < hi; i++) {
		if (in[i].size == 0 || region_end(&in[i]) <= lo)
			continue;
		if (!best || memmap_type_strength(in[i].type) > memmap_type_strength(best))
			best = in[i].type;
	}
	return best;
}

size_t memmap_normalize(struct boot_mem_region *in, size_t n, u64 *points,
			struct boot_mem_region *out)
{
	size_t i, p = 0, count = 0;

	sort_regions(in, n);
	for (i = 0; i < n; i++) {
		if (in[i].size == 0)
			continue;
		points[p++] = in[i].base;
		points[p++] = region_end(&in[i]);
	}
	sort_u64(points, p);

	for (i = 0; i + 1 < p; i++) {
		u64 lo = points[i], hi = points[i + 1];
		u32 type;

		if (lo == hi)
			continue;
		type = type_at(in, n, lo, hi);
		if (!type)
			continue; /* a hole in the firmware's map */
		if (count && out[count - 1].type == type &&
		    out[count - 1].base + out[count - 1].size == lo) {
			out[count - 1].size += hi - lo;
			continue;
		}
		out[count++] = (struct boot_mem_region){
			.base = lo,
			.size = hi - lo,
			.type = type,
		};
	}
	return count;
}

/* Which entries go first when the table is too small; -1: never. */
static int drop_class(u32 type)
{
	switch (type) {
	case BOOT_MEM_RESERVED:
	case BOOT_MEM_MMIO:
	case BOOT_MEM_UNUSABLE:
		return 0;
	case BOOT_MEM_ACPI_RECLAIM:
	case BOOT_MEM_ACPI_NVS:
	case BOOT_MEM_FIRMWARE_RUNTIME:
		return 1;
	case BOOT_MEM_USABLE:
		return 2;
	default: /* core, boot data, trampoline: the core needs them */
		return -1;
	}
}

u64 memmap_fit(struct boot_mem_region *map, size_t *count, size_t max)
{
	u64 lost = 0;

	while (*count > max) {
		size_t i, victim = *count;
		int best_class = 3;

		for (i = 0; i < *count; i++) {
			int c = drop_class(map[i].type);

			if (c < 0 || c > best_class)
				continue;
			if (c < best_class || map[i].size < map[victim].size) {
				best_class = c;
				victim = i;
			}
		}
		if (victim == *count)
			break; /* only entries that must stay: cannot happen */
		if (map[victim].type == BOOT_MEM_USABLE)
			lost += map[victim].size;
		memmove(&map[victim], &map[victim + 1], (*count - victim - 1) * sizeof(*map));
		(*count)--;
	}
	return lost;
}
