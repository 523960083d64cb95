/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Internal interface of the Multiboot2 loader (boot/mb2_*): the layout of
 * the Multiboot2 boot information (MBI) that GRUB hands over, and the pure
 * logic that turns it into a struct boot_info (boot/mb2.c), kept apart
 * from the glue that touches the machine (mb2_entry.S, mb2_main.c) so that
 * the host unit tests can run it on MBIs they build.
 *
 * The layouts are those of the Multiboot2 Specification version 2.0,
 * section 3.6 "Boot information": a fixed part (total_size, reserved), then
 * tags, each starting with (type, size) at an 8-byte aligned offset, ending
 * with a tag of type 0.
 */
#ifndef PARTITA_BOOT_MB2_H
#define PARTITA_BOOT_MB2_H

#include "boot/boot_info.h"
#include "kernel/lib/types.h"

/* Section 3.3 "I386 machine state": EAX on entry. */
#define MB2_BOOTLOADER_MAGIC 0x36d76289u

/* Section 3.6: tag types of the MBI. */
enum {
	MB2_TAG_END = 0,
	MB2_TAG_CMDLINE = 1,
	MB2_TAG_LOADER_NAME = 2,
	MB2_TAG_MODULE = 3,
	MB2_TAG_MMAP = 6,
	MB2_TAG_FRAMEBUFFER = 8,
	MB2_TAG_ACPI_OLD = 14,
	MB2_TAG_ACPI_NEW = 15,
};

/* Section 3.6.8: memory map entry types. */
enum {
	MB2_MEM_AVAILABLE = 1,
	MB2_MEM_ACPI_RECLAIMABLE = 3,
	MB2_MEM_NVS = 4,
	MB2_MEM_BADRAM = 5,
};

/* Section 3.6.12: framebuffer_type. */
#define MB2_FB_TYPE_RGB 1

struct mb2_tag {
	u32 type;
	u32 size; /* bytes, this header included, padding not */
};

struct mb2_mmap_entry {
	u64 base_addr;
	u64 length;
	u32 type;
	u32 reserved;
};

/** The framebuffer tag up to the RGB colour info (section 3.6.12): the
 *  common part is MB2_FB_COMMON_SIZE bytes (its reserved field is 16 bits
 *  wide in GRUB and the specification's multiboot2.h, whatever the text
 *  says), the six colour bytes follow for framebuffer_type 1 only. */
struct mb2_fb_tag {
	u32 type, size;
	u64 addr;
	u32 pitch, width, height;
	u8 bpp, fb_type;
	u16 reserved;
	u8 red_pos, red_size, green_pos, green_size, blue_pos, blue_size;
} __packed;

#define MB2_FB_COMMON_SIZE 32
_Static_assert(sizeof(struct mb2_mmap_entry) == 24, "mmap entry");
_Static_assert(sizeof(struct mb2_fb_tag) == 38, "framebuffer tag");

/* The loader passes on at most BOOT_MAX_MODULES files (mb2_main.c); the
 * parser records a few more, so that each stays out of the way of the
 * loader's own blocks.  An MBI with still more modules stops the boot. */
#define MB2_MAX_MODULES (BOOT_MAX_MODULES + 8)
#define MB2_MAX_SIZE MiB(1) /* an MBI claiming more is refused */

struct mb2_module {
	u64 start, end;	    /* physical, end exclusive */
	const char *string; /* the module's command line, never NULL */
};

/** What mb2_parse() found in an MBI; pointers point into the MBI. */
struct mb2_info {
	u32 total_size;
	const char *cmdline;		   /* "" if absent */
	const char *loader_name;	   /* "" if absent */
	const struct mb2_mmap_entry *mmap; /* entry i at (u8 *)mmap + i * mmap_entry_size */
	u32 mmap_count, mmap_entry_size;
	const void *rsdp_old, *rsdp_new; /* RSDP copies, NULL if absent */
	const struct mb2_fb_tag *fb;	 /* NULL if absent or too short; the
					  * colour bytes only if fb->size >= 38 */
	u32 module_count;		 /* all modules, even those not kept */
	struct mb2_module modules[MB2_MAX_MODULES];
};

/**
 * Walks the MBI at mbi (8-byte aligned, as section 3.6.1 promises) and
 * fills *out.  Every size is checked against total_size and total_size
 * against MB2_MAX_SIZE; strings that are not terminated inside their tag
 * read as "".  Returns 0, or -E_INVAL with *why set to a short reason.
 */
int mb2_parse(const void *mbi, struct mb2_info *out, const char **why);

/** The boot_info type of a Multiboot2 memory map type. */
u32 mb2_mem_type(u32 mb2_type);

/**
 * The name of a module: the first word of its command line, without any
 * directory part ("/partita/a.elf x" gives "a.elf").  Returns 0, -E_INVAL
 * for a line with no name, or -E_RANGE if the name does not fit size.
 */
int mb2_module_name(const char *string, char *name, size_t size);

/**
 * The config's module name from the loader's command line: the value of a
 * "config=NAME" word, else "partita.conf".  Writes at most size bytes.
 */
void mb2_config_name(const char *cmdline, char *name, size_t size);

/**
 * Fills *out from the framebuffer tag: a linear framebuffer of 32 bits a
 * pixel with 8-bit red, green and blue at byte positions the boot_info
 * formats name; anything else (EGA text, indexed colours, 15/16/24 bpp,
 * other orders) gives BOOT_FB_NONE.  fb may be NULL.
 */
void mb2_framebuffer(const struct mb2_fb_tag *fb, struct boot_framebuffer *out);

/* ------------------------------------------------- physical placement */

#define MB2_ARENA_MAX_USED 128

/**
 * The loader's view of physical memory while it places things: the RAM
 * the firmware's map calls available, less the ranges already in use (the
 * loader itself, the MBI, the modules, and each block taken).  Each used
 * range carries the boot_info type it gets in the final map.
 */
struct mb2_arena {
	const struct boot_mem_region *map; /* normalized (memmap_normalize) */
	size_t map_count;
	struct boot_mem_region used[MB2_ARENA_MAX_USED];
	size_t used_count;
};

/** Starts an arena over a normalized map; nothing used yet. */
void mb2_arena_init(struct mb2_arena *a, const struct boot_mem_region *map, size_t count);

/** Records [base, base + size) as used, of boot_info type type.  Returns 0
 *  or -E_NOSPC when the table is full. */
int mb2_arena_use(struct mb2_arena *a, u64 base, u64 size, u32 type);

/**
 * Takes size bytes (a multiple of PAGE_SIZE is not required; whole pages
 * are taken) aligned to align, inside [lo, hi), in RAM the map calls
 * usable and no used range touches: the lowest such block, or the highest
 * if top_down.  Records it as used with type.  Returns 0 and *out, or
 * -E_NOMEM (nothing fits) or -E_NOSPC (the used table is full).
 */
int mb2_arena_take(struct mb2_arena *a, u64 size, u64 align, u64 lo, u64 hi, bool top_down,
		   u32 type, u64 *out);

#endif
