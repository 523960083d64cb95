/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Multiboot 1 and 2 loaders (see multiboot.h).  "MB1 n" cites the
 * Multiboot Specification version 0.6.96, "MB2 n" the Multiboot2
 * Specification version 2.0; ELF: System V ABI (generic and the i386 and
 * x86-64 supplements).  Everything is read through byte offsets, because
 * the image need not be aligned.
 */
#include "kernel/hvm/multiboot.h"
#include "kernel/errno.h"
#include "kernel/lib/string.h"
#include "kernel/lib/bytes.h"

#define LOADER_NAME "Partita"
#define MAX_SEGMENTS 16

/* MB1 3.1.2 "The magic fields of Multiboot header". */
#define MB1_FLAG_PAGE_ALIGN (1u << 0)
#define MB1_FLAG_MEMORY_INFO (1u << 1)
#define MB1_FLAG_VIDEO_MODE (1u << 2)
#define MB1_FLAG_ADDRESS (1u << 16)
/* MB1 3.3 "Boot information format": flags of the information. */
#define MB1_INFO_MEMORY (1u << 0)
#define MB1_INFO_CMDLINE (1u << 2)
#define MB1_INFO_MODS (1u << 3)
#define MB1_INFO_MMAP (1u << 6)
#define MB1_INFO_LOADER_NAME (1u << 9)
#define MB1_INFO_SIZE 88

/* MB2 3.1.3 header tags and 3.6 information tags. */
#define MB2_TAG_OPTIONAL 1u
enum {
	MB2_HT_END = 0,
	MB2_HT_INFO_REQ = 1,
	MB2_HT_ADDRESS = 2,
	MB2_HT_ENTRY = 3,
	MB2_HT_CONSOLE = 4,
	MB2_HT_FRAMEBUFFER = 5,
	MB2_HT_MODULE_ALIGN = 6,
	MB2_HT_EFI_BS = 7,
	MB2_HT_ENTRY_EFI32 = 8,
	MB2_HT_ENTRY_EFI64 = 9,
	MB2_HT_RELOCATABLE = 10,
};
enum {
	MB2_IT_END = 0,
	MB2_IT_CMDLINE = 1,
	MB2_IT_LOADER_NAME = 2,
	MB2_IT_MODULE = 3,
	MB2_IT_MEMINFO = 4,
	MB2_IT_MMAP = 6,
	MB2_IT_ACPI_OLD = 14,
	MB2_IT_ACPI_NEW = 15,
};

/* MB1 3.1.1: 32-bit aligned, within the first 8192 bytes, and
 * magic + flags + checksum == 0. */
static bool find_mb1(const u8 *img, u64 size, u64 *at)
{
	for (u64 off = 0; off + 12 <= MIN(size, (u64)MB1_SEARCH); off += 4) {
		if (rd32(img, off) == MB1_HEADER_MAGIC &&
		    (u32)(rd32(img, off) + rd32(img, off + 4) + rd32(img, off + 8)) == 0) {
			*at = off;
			return true;
		}
	}
	return false;
}

/* MB2 3.1.1: 64-bit aligned, within the first 32768 bytes, the whole header
 * inside them; magic + architecture + header_length + checksum == 0;
 * architecture 0 (i386 protected mode). */
static bool find_mb2(const u8 *img, u64 size, u64 *at)
{
	for (u64 off = 0; off + 16 <= MIN(size, (u64)MB2_SEARCH); off += 8) {
		u32 len = rd32(img, off + 8);
		if (rd32(img, off) != MB2_HEADER_MAGIC || rd32(img, off + 4) != 0)
			continue;
		if ((u32)(rd32(img, off) + rd32(img, off + 4) + len + rd32(img, off + 12)) != 0)
			continue;
		if (len < 16 || len > MB2_SEARCH - off || len > size - off)
			continue;
		*at = off;
		return true;
	}
	return false;
}

int multiboot_detect(const void *image, u64 size)
{
	u64 at;

	if (find_mb2(image, size, &at))
		return 2;
	if (find_mb1(image, size, &at))
		return 1;
	return 0;
}

/* What to copy: checked completely before anything is written. */
struct segment {
	u64 offset, paddr, filesz, memsz;
};
struct plan {
	struct segment seg[MAX_SEGMENTS];
	unsigned count;
	u64 entry;
	const struct multiboot_module *mods;
	unsigned mod_count;
	u64 mod_at[MULTIBOOT_MODULES_MAX];
};

static int add_segment(struct plan *pl, u64 ram_size, u64 file_size, u64 offset, u64 paddr,
		       u64 filesz, u64 memsz, const char **why)
{
	u64 limit = MIN(MIN(ram_size, HVM_BOOT_MMIO_HOLE), GiB(4));

	if (filesz > memsz || offset > file_size || filesz > file_size - offset) {
		*why = "a segment's bytes lie outside the file";
		return -E_INVAL;
	}
	if (paddr < HVM_BOOT_HIGH_RAM || paddr > limit || memsz > limit - paddr) {
		*why = "a segment lies outside RAM from 1 MiB (or above 4 GiB)";
		return -E_INVAL;
	}
	if (pl->count == MAX_SEGMENTS) {
		*why = "more than 16 loadable segments";
		return -E_INVAL;
	}
	pl->seg[pl->count++] = (struct segment){ offset, paddr, filesz, memsz };
	return 0;
}

/* The a.out kludge: MB1 3.1.3 (flag 16) and the MB2 address tag (3.1.5):
 * the file from (header offset - (header_addr - load_addr)) up to
 * load_end_addr (0: end of file) goes to load_addr; bss up to bss_end_addr
 * (0: none) is zeroed. */
static int plan_address(struct plan *pl, u64 ram_size, u64 size, u64 hdr_off, u32 header_addr,
			u32 load_addr, u32 load_end, u32 bss_end, u32 entry, const char **why)
{
	u64 offset, filesz, memsz;

	if (load_addr == 0xffffffffu) { /* MB2: load from the file's start */
		if (header_addr < hdr_off) {
			*why = "header_addr below the file's start";
			return -E_INVAL;
		}
		load_addr = (u32)(header_addr - hdr_off);
	}
	if (load_addr > header_addr || header_addr - load_addr > hdr_off) {
		*why = "header_addr and load_addr do not match the header's offset";
		return -E_INVAL;
	}
	offset = hdr_off - (header_addr - load_addr);
	if (load_end && load_end < load_addr) {
		*why = "load_end_addr below load_addr";
		return -E_INVAL;
	}
	filesz = load_end ? (u64)load_end - load_addr : size - offset;
	if (bss_end && bss_end < load_addr + filesz) {
		*why = "bss_end_addr below the end of the loaded text and data";
		return -E_INVAL;
	}
	memsz = bss_end ? (u64)bss_end - load_addr : filesz;
	if (add_segment(pl, ram_size, size, offset, load_addr, filesz, memsz, why))
		return -E_INVAL;
	if (entry < load_addr || entry >= load_addr + memsz) {
		*why = "the entry address is outside the loaded image";
		return -E_INVAL;
	}
	pl->entry = entry;
	return 0;
}

/* An ELF32 (EM_386) or ELF64 (EM_X86_64) executable, loaded by the physical
 * addresses of its PT_LOAD segments; the entry (a virtual address) is
 * translated through the segment that holds it, as GRUB does. */
static int plan_elf(struct plan *pl, u64 ram_size, const u8 *img, u64 size, const char **why)
{
	bool is64;
	u64 phoff, entry, phentsize, phnum;
	bool entry_found = false;

	if (size < 52 || memcmp(img, "\177ELF", 4)) {
		*why = "neither the address fields nor an ELF file";
		return -E_INVAL;
	}
	is64 = img[4] == 2;
	if ((img[4] != 1 && img[4] != 2) || img[5] != 1 || (is64 && size < 64)) {
		*why = "not a little-endian ELF32 or ELF64 file";
		return -E_INVAL;
	}
	if (rd16(img, 16) != 2 || rd16(img, 18) != (is64 ? 62 : 3)) {
		*why = "not an x86 executable (ET_EXEC, EM_386 or EM_X86_64)";
		return -E_INVAL;
	}
	entry = is64 ? rd64(img, 24) : rd32(img, 24);
	phoff = is64 ? rd64(img, 32) : rd32(img, 28);
	phentsize = rd16(img, is64 ? 54 : 42);
	phnum = rd16(img, is64 ? 56 : 44);
	if (phentsize != (is64 ? 56u : 32u) || phnum == 0 || phnum > 64 || phoff > size ||
	    phnum * phentsize > size - phoff) {
		*why = "program headers missing or outside the file";
		return -E_INVAL;
	}
	for (u64 i = 0; i < phnum; i++) {
		const u64 ph = phoff + i * phentsize;
		u64 offset, vaddr, paddr, filesz, memsz;
		if (rd32(img, ph) != 1 /* PT_LOAD */)
			continue;
		if (is64) {
			offset = rd64(img, ph + 8);
			vaddr = rd64(img, ph + 16);
			paddr = rd64(img, ph + 24);
			filesz = rd64(img, ph + 32);
			memsz = rd64(img, ph + 40);
		} else {
			offset = rd32(img, ph + 4);
			vaddr = rd32(img, ph + 8);
			paddr = rd32(img, ph + 12);
			filesz = rd32(img, ph + 16);
			memsz = rd32(img, ph + 20);
		}
		if (memsz == 0)
			continue;
		if (add_segment(pl, ram_size, size, offset, paddr, filesz, memsz, why))
			return -E_INVAL;
		if (!entry_found && entry >= vaddr && entry - vaddr < memsz) {
			pl->entry = paddr + (entry - vaddr);
			entry_found = true;
		}
	}
	if (!pl->count) {
		*why = "no loadable segment";
		return -E_INVAL;
	}
	if (!entry_found) {
		*why = "the entry point is outside every segment";
		return -E_INVAL;
	}
	return 0;
}

/*
 * The modules go after the kernel's highest byte, in order, each page
 * aligned: GRUB aligns every module to 4 KiB (MULTIBOOT_MOD_ALIGN) for both
 * versions, which is what MB1 flag 0 (3.1.2) and the MB2 module-alignment
 * tag (3.1.12) ask for.  Nothing else lies above 1 MiB (the information,
 * the GDT and the ACPI tables are below it, linux_boot.h), and everything
 * must end below add_segment's limit: the information holds 32-bit
 * addresses (MB1 3.3 mods, MB2 3.6.6).  A module of 0 bytes gets start ==
 * end at the next page.
 */
static int plan_modules(struct plan *pl, u64 ram_size, const struct multiboot_module *mods,
			unsigned count, const char **why)
{
	u64 limit = MIN(MIN(ram_size, HVM_BOOT_MMIO_HOLE), GiB(4)), at = 0;

	if (count > MULTIBOOT_MODULES_MAX) {
		*why = "more than 8 modules";
		return -E_INVAL;
	}
	for (unsigned i = 0; i < pl->count; i++)
		at = MAX(at, pl->seg[i].paddr + pl->seg[i].memsz);
	for (unsigned i = 0; i < count; i++) {
		if (!mods[i].data && mods[i].size) {
			*why = "a module without its bytes";
			return -E_INVAL;
		}
		if (mods[i].string && strnlen(mods[i].string, MULTIBOOT_MODULE_STRING_MAX + 1) >
					      MULTIBOOT_MODULE_STRING_MAX) {
			*why = "a module's string is longer than 127 bytes";
			return -E_INVAL;
		}
		at = ALIGN_UP(at, PAGE_SIZE);
		if (at > limit || mods[i].size > limit - at) {
			*why = "the modules do not fit in RAM after the kernel (below the device "
			       "windows and 4 GiB)";
			return -E_INVAL;
		}
		pl->mod_at[i] = at;
		at += mods[i].size;
	}
	pl->mods = mods;
	pl->mod_count = count;
	return 0;
}

static void apply(u8 *ram, const u8 *img, const struct plan *pl)
{
	for (unsigned i = 0; i < pl->count; i++) {
		const struct segment *s = &pl->seg[i];
		memcpy(ram + s->paddr, img + s->offset, s->filesz);
		memset(ram + s->paddr + s->filesz, 0, s->memsz - s->filesz);
	}
	for (unsigned i = 0; i < pl->mod_count; i++)
		if (pl->mods[i].size)
			memcpy(ram + pl->mod_at[i], pl->mods[i].data, pl->mods[i].size);
}

static const char *mod_string(const struct plan *pl, unsigned i)
{
	return pl->mods[i].string ? pl->mods[i].string : "";
}

static int check_cmdline(const char *cmdline, u64 *len, const char **why)
{
	*len = cmdline ? strnlen(cmdline, HVM_BOOT_CMDLINE_MAX + 1) : 0;
	if (*len > HVM_BOOT_CMDLINE_MAX) {
		*why = "command line longer than 4095 bytes";
		return -E_INVAL;
	}
	return 0;
}

static int check_rsdp(u64 ram_size, u64 rsdp_gpa, const char **why)
{
	if (rsdp_gpa && (rsdp_gpa > ram_size || ram_size - rsdp_gpa < 36)) {
		*why = "the RSDP lies outside RAM";
		return -E_INVAL;
	}
	return 0;
}

/* ---- Multiboot 1 ---------------------------------------------------- */

static int load_mb1(u8 *ram, u64 ram_size, const u8 *img, u64 size, const char *cmdline,
		    const struct multiboot_module *mods, unsigned mod_count, struct hvm_boot *out,
		    const char **why)
{
	struct hvm_mem_range map[HVM_MEM_RANGES_MAX];
	struct plan pl = { 0 };
	u64 hdr, cmdline_len;
	u32 flags;

	find_mb1(img, size, &hdr);
	flags = rd32(img, hdr + 4);
	/* MB1 3.1.2: a boot loader that cannot meet a requirement in bits
	 * 0-15 must fail.  Bit 0 (page-aligned modules) always holds
	 * (plan_modules), bit 1 (memory information) is given; bit 2 asks for
	 * a video mode and there is no display. */
	if (flags & 0xffffu & ~(MB1_FLAG_PAGE_ALIGN | MB1_FLAG_MEMORY_INFO)) {
		*why = (flags & MB1_FLAG_VIDEO_MODE) ?
			       "Multiboot header requests a video mode (no display)" :
			       "Multiboot header requires an unknown feature";
		return -E_INVAL;
	}
	if (flags & MB1_FLAG_ADDRESS) {
		if (hdr + 32 > size) {
			*why = "Multiboot header's address fields outside the file";
			return -E_INVAL;
		}
		if (plan_address(&pl, ram_size, size, hdr, rd32(img, hdr + 12), rd32(img, hdr + 16),
				 rd32(img, hdr + 20), rd32(img, hdr + 24), rd32(img, hdr + 28),
				 why))
			return -E_INVAL;
	} else if (plan_elf(&pl, ram_size, img, size, why)) {
		return -E_INVAL;
	}
	if (check_cmdline(cmdline, &cmdline_len, why) ||
	    plan_modules(&pl, ram_size, mods, mod_count, why))
		return -E_INVAL;

	apply(ram, img, &pl);

	/* MB1 3.3 "Boot information format". */
	u8 *info = ram + HVM_BOOT_INFO_GPA;
	u8 *scratch = ram + HVM_BOOT_SCRATCH_GPA;
	unsigned n = hvm_boot_memory_map(ram_size, map);
	u64 mmap_len = 0;

	memset(info, 0, MB1_INFO_SIZE);
	wr32(info, 0, MB1_INFO_MEMORY | MB1_INFO_CMDLINE | MB1_INFO_MMAP | MB1_INFO_LOADER_NAME);
	wr32(info, 4, (u32)(HVM_BOOT_LOW_RAM_END / 1024)); /* mem_lower, KiB */
	/* mem_upper: KiB from 1 MiB to the first hole. */
	wr32(info, 8, (u32)((MIN(ram_size, HVM_BOOT_MMIO_HOLE) - HVM_BOOT_HIGH_RAM) / 1024));
	memset(ram + HVM_BOOT_CMDLINE_GPA, 0, HVM_BOOT_CMDLINE_MAX + 1);
	if (cmdline_len)
		memcpy(ram + HVM_BOOT_CMDLINE_GPA, cmdline, cmdline_len);
	wr32(info, 16, (u32)HVM_BOOT_CMDLINE_GPA);
	/* MB1 3.3: each entry is size (not counting itself), base, length, type. */
	for (unsigned i = 0; i < n; i++, mmap_len += 24) {
		wr32(scratch, mmap_len, 20);
		wr64(scratch, mmap_len + 4, map[i].base);
		wr64(scratch, mmap_len + 12, map[i].length);
		wr32(scratch, mmap_len + 20, map[i].type);
	}
	wr32(info, 44, (u32)mmap_len);
	wr32(info, 48, (u32)HVM_BOOT_SCRATCH_GPA);
	memcpy(scratch + mmap_len, LOADER_NAME, sizeof(LOADER_NAME));
	wr32(info, 64, (u32)(HVM_BOOT_SCRATCH_GPA + mmap_len));
	/* MB1 3.3 mods: 16-byte entries of mod_start, mod_end (the first
	 * byte after it), string and a reserved 0, then the strings, each
	 * 4-byte aligned as GRUB lays them out.  At most 8 x (16 + 128)
	 * bytes: far inside the scratch area. */
	if (pl.mod_count) {
		u64 list = ALIGN_UP(mmap_len + sizeof(LOADER_NAME), 4);
		u64 str = list + 16 * pl.mod_count;
		wr32(info, 0, rd32(info, 0) | MB1_INFO_MODS);
		wr32(info, 20, pl.mod_count);
		wr32(info, 24, (u32)(HVM_BOOT_SCRATCH_GPA + list));
		for (unsigned i = 0; i < pl.mod_count; i++, list += 16) {
			u64 len = strlen(mod_string(&pl, i)) + 1;
			wr32(scratch, list, (u32)pl.mod_at[i]);
			wr32(scratch, list + 4, (u32)(pl.mod_at[i] + pl.mods[i].size));
			wr32(scratch, list + 8, (u32)(HVM_BOOT_SCRATCH_GPA + str));
			wr32(scratch, list + 12, 0);
			memcpy(scratch + str, mod_string(&pl, i), len);
			str = ALIGN_UP(str + len, 4);
		}
	}

	out->rax = MB1_BOOT_MAGIC;
	out->rbx = HVM_BOOT_INFO_GPA;
	out->rip = pl.entry;
	return 0;
}

/* ---- Multiboot 2 ---------------------------------------------------- */

static bool mb2_can_provide(u32 type, u64 rsdp_gpa)
{
	switch (type) {
	case MB2_IT_CMDLINE:
	case MB2_IT_LOADER_NAME:
	case MB2_IT_MODULE: /* one tag per module; none if there are none */
	case MB2_IT_MEMINFO:
	case MB2_IT_MMAP:
		return true;
	case MB2_IT_ACPI_OLD:
	case MB2_IT_ACPI_NEW:
		return rsdp_gpa != 0;
	default:
		return false;
	}
}

/* Appends one information tag: type, size, then the payload; tags start
 * 8-byte aligned (MB2 3.6.1). */
static u8 *mb2_tag(u8 *p, u32 type, u32 size)
{
	wr32(p, 0, type);
	wr32(p, 4, size);
	return p + 8;
}

static int load_mb2(u8 *ram, u64 ram_size, const u8 *img, u64 size, const char *cmdline,
		    const struct multiboot_module *mods, unsigned mod_count, u64 rsdp_gpa,
		    struct hvm_boot *out, const char **why)
{
	struct hvm_mem_range map[HVM_MEM_RANGES_MAX];
	struct plan pl = { 0 };
	u64 hdr, end, cmdline_len;
	u32 address[4] = { 0 }, entry = 0;
	bool have_address = false, have_entry = false;

	find_mb2(img, size, &hdr);
	end = hdr + rd32(img, hdr + 8);
	/* MB2 3.1.3: tags follow the 16-byte header, each 8-byte aligned,
	 * until the end tag (type 0, size 8). */
	for (u64 t = hdr + 16;; t = ALIGN_UP(t + rd32(img, t + 4), 8)) {
		if (t + 8 > end) {
			*why = "Multiboot2 header tags run past the header (no end tag)";
			return -E_INVAL;
		}
		u16 type = rd16(img, t), flags = rd16(img, t + 2);
		u32 tsize = rd32(img, t + 4);
		bool optional = flags & MB2_TAG_OPTIONAL;
		if (tsize < 8 || tsize > end - t) {
			*why = "Multiboot2 header tag with a bad size";
			return -E_INVAL;
		}
		if (type == MB2_HT_END)
			break;
		switch (type) {
		case MB2_HT_INFO_REQ:
			/* 3.1.4: fail on a request we cannot meet unless the
			 * tag is optional. */
			for (u64 r = t + 8; r + 4 <= t + tsize; r += 4) {
				if (!optional && !mb2_can_provide(rd32(img, r), rsdp_gpa)) {
					*why = "Multiboot2 header requires information the platform cannot give";
					return -E_INVAL;
				}
			}
			break;
		case MB2_HT_ADDRESS:
			if (tsize < 24) {
				*why = "Multiboot2 address tag too short";
				return -E_INVAL;
			}
			for (unsigned i = 0; i < 4; i++)
				address[i] = rd32(img, t + 8 + 4 * i);
			have_address = true;
			break;
		case MB2_HT_ENTRY:
			if (tsize < 12) {
				*why = "Multiboot2 entry address tag too short";
				return -E_INVAL;
			}
			entry = rd32(img, t + 8);
			have_entry = true;
			break;
		case MB2_HT_CONSOLE:	  /* the serial console is there */
		case MB2_HT_FRAMEBUFFER:  /* no display: no framebuffer tag given */
		case MB2_HT_MODULE_ALIGN: /* always page aligned */
		case MB2_HT_EFI_BS:	  /* EFI-only tags (3.1.9-3.1.11): */
		case MB2_HT_ENTRY_EFI32:  /* not an EFI boot, so the plain */
		case MB2_HT_ENTRY_EFI64:  /* entry applies */
		case MB2_HT_RELOCATABLE:  /* loaded where it was linked */
			break;
		default:
			if (!optional) {
				*why = "Multiboot2 header has a required tag of unknown type";
				return -E_INVAL;
			}
		}
	}
	if (have_address) {
		if (!have_entry) {
			*why = "Multiboot2 address tag without an entry address tag";
			return -E_INVAL;
		}
		if (plan_address(&pl, ram_size, size, hdr, address[0], address[1], address[2],
				 address[3], entry, why))
			return -E_INVAL;
	} else {
		if (plan_elf(&pl, ram_size, img, size, why))
			return -E_INVAL;
		if (have_entry) {
			bool inside = false;
			for (unsigned i = 0; i < pl.count; i++)
				inside |= entry >= pl.seg[i].paddr &&
					  entry - pl.seg[i].paddr < pl.seg[i].memsz;
			if (!inside) {
				*why = "the entry address is outside the loaded image";
				return -E_INVAL;
			}
			pl.entry = entry;
		}
	}
	if (check_cmdline(cmdline, &cmdline_len, why) || check_rsdp(ram_size, rsdp_gpa, why) ||
	    plan_modules(&pl, ram_size, mods, mod_count, why))
		return -E_INVAL;

	apply(ram, img, &pl);

	/* MB2 3.6 "Boot information format": total_size, reserved, tags. */
	u8 *base = ram + HVM_BOOT_SCRATCH_GPA, *p = base + 8, *q;
	unsigned n = hvm_boot_memory_map(ram_size, map);

	q = mb2_tag(p, MB2_IT_MEMINFO, 16); /* 3.6.8 */
	wr32(q, 0, (u32)(HVM_BOOT_LOW_RAM_END / 1024));
	wr32(q, 4, (u32)((MIN(ram_size, HVM_BOOT_MMIO_HOLE) - HVM_BOOT_HIGH_RAM) / 1024));
	p += 16;

	q = mb2_tag(p, MB2_IT_MMAP, 16 + 24 * n); /* 3.6.8: entry_size 24, version 0 */
	wr32(q, 0, 24);
	wr32(q, 4, 0);
	for (unsigned i = 0; i < n; i++) {
		wr64(q, 8 + 24 * i, map[i].base);
		wr64(q, 16 + 24 * i, map[i].length);
		wr32(q, 24 + 24 * i, map[i].type);
		wr32(q, 28 + 24 * i, 0);
	}
	p += ALIGN_UP(16 + 24 * n, 8);

	q = mb2_tag(p, MB2_IT_CMDLINE, (u32)(8 + cmdline_len + 1)); /* 3.6.3 */
	if (cmdline_len)
		memcpy(q, cmdline, cmdline_len);
	q[cmdline_len] = 0;
	p += ALIGN_UP(8 + cmdline_len + 1, 8);

	q = mb2_tag(p, MB2_IT_LOADER_NAME, 8 + sizeof(LOADER_NAME)); /* 3.6.4 */
	memcpy(q, LOADER_NAME, sizeof(LOADER_NAME));
	p += ALIGN_UP(8 + sizeof(LOADER_NAME), 8);

	/* 3.6.6: mod_start, mod_end (the first byte after it), the string;
	 * in the given order, as GRUB lists them. */
	for (unsigned i = 0; i < pl.mod_count; i++) {
		u64 len = strlen(mod_string(&pl, i)) + 1;
		q = mb2_tag(p, MB2_IT_MODULE, (u32)(16 + len));
		wr32(q, 0, (u32)pl.mod_at[i]);
		wr32(q, 4, (u32)(pl.mod_at[i] + pl.mods[i].size));
		memcpy(q + 8, mod_string(&pl, i), len);
		p += ALIGN_UP(16 + len, 8);
	}

	if (rsdp_gpa) {
		/* 3.6.15/3.6.16: copies of the RSDP, version 1 (20 bytes)
		 * and version 2 (36 bytes). */
		q = mb2_tag(p, MB2_IT_ACPI_OLD, 8 + 20);
		memcpy(q, ram + rsdp_gpa, 20);
		p += ALIGN_UP(8 + 20, 8);
		q = mb2_tag(p, MB2_IT_ACPI_NEW, 8 + 36);
		memcpy(q, ram + rsdp_gpa, 36);
		p += ALIGN_UP(8 + 36, 8);
	}
	mb2_tag(p, MB2_IT_END, 8);
	p += 8;
	wr32(base, 0, (u32)(p - base));
	wr32(base, 4, 0);

	out->rax = MB2_BOOT_MAGIC;
	out->rbx = HVM_BOOT_SCRATCH_GPA;
	out->rip = pl.entry;
	return 0;
}

int multiboot_load(u8 *ram, u64 ram_size, const void *image, u64 size, const char *cmdline,
		   const struct multiboot_module *mods, unsigned mod_count, u64 rsdp_gpa,
		   struct hvm_boot *out, const char **why)
{
	int version = multiboot_detect(image, size);
	struct hvm_boot b = { 0 };
	int err;

	err = hvm_boot_check_ram(ram_size, why);
	if (err)
		return err;
	if (!version) {
		*why = "no Multiboot header (magic and checksum) in the first 8 or 32 KiB";
		return -E_INVAL;
	}
	err = version == 2 ?
		      load_mb2(ram, ram_size, image, size, cmdline, mods, mod_count, rsdp_gpa, &b,
			       why) :
		      load_mb1(ram, ram_size, image, size, cmdline, mods, mod_count, &b, why);
	if (err)
		return err;
	/* MB1 3.2 / MB2 3.3 "Machine state": 32-bit protected mode, paging
	 * off, CS and the data segments flat, interrupts off; ESP is the OS's
	 * to set (a small stack is given anyway). */
	b.mode = VCPU_MODE_PROT32;
	hvm_boot_write_gdt(ram, false, &b);
	b.rsp = HVM_BOOT_STACK_TOP;
	*out = b;
	return 0;
}
