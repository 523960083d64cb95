/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The hand-off from the UEFI loader (boot/) to the core (kernel/).
 *
 * The loader fills one struct boot_info in memory it allocated, exits boot
 * services and jumps to the core's entry with the boot_info's physical address
 * in RDI.  Everything in it is physical; the core reads it through its direct
 * map.  The structure is versioned: the core refuses a boot_info whose magic,
 * version or size it does not know.
 *
 * Physical memory the loader leaves behind, by boot_info memory type:
 *   BOOT_MEM_USABLE         free for the core's page allocator
 *   BOOT_MEM_CORE           the core image (text, data, bss), never reused
 *   BOOT_MEM_BOOT_DATA      this boot_info, the config file, the modules and
 *                           the loader's page tables: kept until the core no
 *                           longer needs them
 *   BOOT_MEM_TRAMPOLINE     one page below 1 MiB kept for the SMP trampoline
 *   BOOT_MEM_ACPI_RECLAIM, BOOT_MEM_ACPI_NVS, BOOT_MEM_FIRMWARE_RUNTIME,
 *   BOOT_MEM_RESERVED, BOOT_MEM_MMIO, BOOT_MEM_UNUSABLE  never handed out
 */
#ifndef PARTITA_BOOT_INFO_H
#define PARTITA_BOOT_INFO_H

#include "kernel/lib/types.h"

#define BOOT_INFO_MAGIC 0x544f4f4241544950ULL /* "PITABOOT" little-endian */
#define BOOT_INFO_VERSION 2

/* The core is linked at this virtual address (linker.ld); the loader maps it
 * to wherever it placed the image, at a 2 MiB aligned physical address. */
#define CORE_VIRT_BASE 0xffffffff80000000ULL
/* All of physical memory (RAM and the MMIO below 4 GiB) is mapped here, by the
 * loader's tables and then by the core's own. */
#define DIRECT_MAP_BASE 0xffff800000000000ULL

#define BOOT_MAX_MEM_REGIONS 256
#define BOOT_MAX_MODULES 32
#define BOOT_NAME_MAX 64

enum boot_mem_type {
	BOOT_MEM_USABLE = 1,
	BOOT_MEM_RESERVED,
	BOOT_MEM_ACPI_RECLAIM,
	BOOT_MEM_ACPI_NVS,
	BOOT_MEM_FIRMWARE_RUNTIME,
	BOOT_MEM_MMIO,
	BOOT_MEM_UNUSABLE,
	BOOT_MEM_CORE,
	BOOT_MEM_BOOT_DATA,
	BOOT_MEM_TRAMPOLINE,
};

/** One range of physical memory; ranges are sorted and do not overlap. */
struct boot_mem_region {
	u64 base;
	u64 size;
	u32 type; /* enum boot_mem_type */
	u32 reserved;
};

/** A file the config names (image, initrd), loaded from the ESP. */
struct boot_module {
	char name[BOOT_NAME_MAX]; /* as written in the config, e.g. "hello.elf" */
	u64 phys;		  /* page aligned */
	u64 size;		  /* bytes */
};

/** Pixel layouts of a linear framebuffer: 32 bits a pixel, the byte order
 *  of the colours in memory. */
enum boot_fb_format {
	BOOT_FB_NONE = 0,
	BOOT_FB_RGBX = 1, /* red at the lowest address (UEFI RGB reserved 8-bit) */
	BOOT_FB_BGRX = 2, /* blue at the lowest address (UEFI BGR reserved 8-bit) */
};

/** A linear framebuffer the firmware set up (UEFI GOP, or the Multiboot2
 *  framebuffer tag); format BOOT_FB_NONE if there is none the core can use. */
struct boot_framebuffer {
	u64 base;  /* physical */
	u64 size;  /* bytes */
	u32 width; /* pixels */
	u32 height;
	u32 stride; /* bytes per scan line */
	u32 format; /* enum boot_fb_format */
};

/** What started the core. */
enum boot_source {
	BOOT_SOURCE_UEFI = 1,	    /* boot/efi_main.c */
	BOOT_SOURCE_MULTIBOOT2 = 2, /* a Multiboot2 loader (GRUB) */
};

struct boot_info {
	u64 magic;   /* BOOT_INFO_MAGIC */
	u32 version; /* BOOT_INFO_VERSION */
	u32 size;    /* sizeof(struct boot_info) */

	u64 core_phys; /* physical base of the core image, 2 MiB aligned */
	u64 core_size; /* bytes, including bss, page aligned */

	u64 rsdp_phys;	     /* ACPI RSDP (2.0+ preferred), 0 if none */
	u64 trampoline_phys; /* a free page below 1 MiB, 0 if none was found */

	/* The config file exactly as read from the ESP (not terminated). */
	char config_path[BOOT_NAME_MAX]; /* e.g. "\\partita\\partita.conf" */
	u64 config_phys;
	u64 config_size;

	u32 module_count;
	u32 mem_count;
	struct boot_module modules[BOOT_MAX_MODULES];
	struct boot_mem_region mem[BOOT_MAX_MEM_REGIONS];

	char firmware_vendor[BOOT_NAME_MAX]; /* UEFI system table vendor, ASCII */
	u32 firmware_revision;
	u32 source; /* enum boot_source */

	struct boot_framebuffer fb;
};

/** The module the config calls name, or NULL.  (Names are compared within
 *  BOOT_NAME_MAX bytes; a module's name need not be terminated.) */
static inline const struct boot_module *boot_find_module(const struct boot_info *bi,
							 const char *name)
{
	for (u32 i = 0; i < bi->module_count && i < BOOT_MAX_MODULES; i++) {
		const char *m = bi->modules[i].name;
		unsigned k = 0;
		while (k < BOOT_NAME_MAX && m[k] && m[k] == name[k])
			k++;
		if (k == BOOT_NAME_MAX ? !name[k] : m[k] == name[k])
			return &bi->modules[i];
	}
	return NULL;
}

_Static_assert(sizeof(struct boot_mem_region) == 24, "boot_mem_region ABI");
_Static_assert(sizeof(struct boot_module) == 80, "boot_module ABI");
_Static_assert(sizeof(struct boot_framebuffer) == 32, "boot_framebuffer ABI");

#endif
