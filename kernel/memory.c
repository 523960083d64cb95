/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The core's physical memory: feeds the bitmap allocator (palloc.c) from the
 * loader's memory map and hands out zeroed pages through the direct map.
 */
#include "kernel/mm.h"
#include "boot/boot_info.h"
#include "kernel/errno.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/palloc.h"

u64 core_phys_base;

static struct palloc allocator;
static volatile int alloc_lock_word;
static const struct boot_info *boot;
static u64 ram_top;
static struct memory_stats stats;

static void alloc_lock(void)
{
	while (__atomic_exchange_n(&alloc_lock_word, 1, __ATOMIC_ACQUIRE))
		__builtin_ia32_pause();
}

static void alloc_unlock(void)
{
	__atomic_store_n(&alloc_lock_word, 0, __ATOMIC_RELEASE);
}

static bool is_ram_type(u32 type)
{
	return type != BOOT_MEM_MMIO && type != BOOT_MEM_RESERVED;
}

int memory_init(const struct boot_info *bi)
{
	const u64 low_limit = MiB(1); /* legacy area and the trampoline stay out */
	u64 bitmap_bytes, bitmap_base = 0;

	boot = bi;
	for (u32 i = 0; i < bi->mem_count; i++) {
		const struct boot_mem_region *r = &bi->mem[i];
		if (is_ram_type(r->type) && r->base + r->size > ram_top)
			ram_top = r->base + r->size;
		if (r->type == BOOT_MEM_USABLE)
			stats.usable_bytes += r->size;
		if (r->type == BOOT_MEM_BOOT_DATA)
			stats.boot_data_bytes += r->size;
	}
	stats.core_bytes = bi->core_size;
	bitmap_bytes = ALIGN_UP(palloc_bitmap_bytes(ram_top >> PAGE_SHIFT), PAGE_SIZE);

	/* The bitmap takes the first usable range above 1 MiB that holds it. */
	for (u32 i = 0; i < bi->mem_count; i++) {
		const struct boot_mem_region *r = &bi->mem[i];
		u64 base = ALIGN_UP(MAX(r->base, low_limit), PAGE_SIZE);
		u64 end = ALIGN_DOWN(r->base + r->size, PAGE_SIZE);
		if (r->type == BOOT_MEM_USABLE && end > base && end - base >= bitmap_bytes) {
			bitmap_base = base;
			break;
		}
	}
	if (!bitmap_base) {
		log_line("memory: no usable range for a %llu KiB page bitmap",
			 (unsigned long long)(bitmap_bytes >> 10));
		return -E_NOMEM;
	}

	palloc_init(&allocator, phys_to_virt(hpa(bitmap_base)), ram_top >> PAGE_SHIFT);
	for (u32 i = 0; i < bi->mem_count; i++) {
		const struct boot_mem_region *r = &bi->mem[i];
		u64 base = ALIGN_UP(MAX(r->base, low_limit), PAGE_SIZE);
		u64 end = ALIGN_DOWN(r->base + r->size, PAGE_SIZE);
		if (r->type == BOOT_MEM_USABLE && end > base)
			palloc_add(&allocator, base >> PAGE_SHIFT, (end - base) >> PAGE_SHIFT);
	}
	palloc_remove(&allocator, bitmap_base >> PAGE_SHIFT, bitmap_bytes >> PAGE_SHIFT);
	/* The loader marks these, but a loader bug must not let the allocator
	 * hand out the core's own pages. */
	palloc_remove(&allocator, bi->core_phys >> PAGE_SHIFT,
		      ALIGN_UP(bi->core_size, PAGE_SIZE) >> PAGE_SHIFT);
	/* The framebuffer is device memory; a firmware that calls it usable
	 * must not get it handed out as a partition's RAM. */
	if (bi->fb.format != BOOT_FB_NONE && bi->fb.size)
		palloc_remove(&allocator, bi->fb.base >> PAGE_SHIFT,
			      (ALIGN_UP(bi->fb.base + bi->fb.size, PAGE_SIZE) >> PAGE_SHIFT) -
				      (bi->fb.base >> PAGE_SHIFT));

	log_line("memory: %llu MiB usable, %llu MiB free for partitions, top of RAM at %#llx",
		 (unsigned long long)(stats.usable_bytes >> 20),
		 (unsigned long long)((allocator.free_count << PAGE_SHIFT) >> 20),
		 (unsigned long long)ram_top);
	return 0;
}

int page_alloc(u64 count, u64 align, hpa_t *out)
{
	u64 first;
	int err;

	alloc_lock();
	err = palloc_alloc(&allocator, count, align, &first);
	alloc_unlock();
	if (err)
		return err;
	*out = hpa(first << PAGE_SHIFT);
	memset(phys_to_virt(*out), 0, count << PAGE_SHIFT);
	return 0;
}

void page_free(hpa_t pa, u64 count)
{
	int err;

	alloc_lock();
	err = palloc_free(&allocator, pa.v >> PAGE_SHIFT, count);
	alloc_unlock();
	if (err)
		panic("page_free(%#llx, %llu): not allocated", (unsigned long long)pa.v,
		      (unsigned long long)count);
}

u64 memory_top(void)
{
	return ram_top;
}

bool memory_block_is_ram(u64 base, u64 size)
{
	for (u32 i = 0; i < boot->mem_count; i++) {
		const struct boot_mem_region *r = &boot->mem[i];
		if (is_ram_type(r->type) && r->base < base + size && base < r->base + r->size)
			return true;
	}
	return false;
}

void memory_get_stats(struct memory_stats *st)
{
	*st = stats;
	alloc_lock();
	st->free_bytes = allocator.free_count << PAGE_SHIFT;
	alloc_unlock();
}
