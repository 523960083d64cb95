/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The pure half of the Multiboot2 loader (see mb2.h): reading the MBI that
 * GRUB hands over, naming its modules, translating its memory map types and
 * framebuffer, and placing the loader's blocks (core, boot_info, page
 * tables, trampoline) in RAM nothing else uses.  It only reads the memory it
 * is given, so the host unit tests run it on MBIs they build
 * (tests/unit/test_mb2.c).  Section numbers are those of the Multiboot2
 * Specification version 2.0.
 */
#include "boot/mb2.h"
#include "kernel/errno.h"
#include "kernel/lib/string.h"

/* ------------------------------------------------------------ the MBI */

/* A string tag's text if it is terminated inside the tag, else "". */
static const char *tag_string(const struct mb2_tag *t, u32 offset)
{
	const char *s = (const char *)t + offset;

	if (t->size <= offset || strnlen(s, t->size - offset) == t->size - offset)
		return "";
	return s;
}

static int parse_tag(const struct mb2_tag *t, struct mb2_info *out, const char **why)
{
	const u8 *body = (const u8 *)(t + 1);
	u32 len = t->size - sizeof(*t);

	switch (t->type) {
	case MB2_TAG_CMDLINE: /* section 3.6.5 */
		out->cmdline = tag_string(t, sizeof(*t));
		break;
	case MB2_TAG_LOADER_NAME: /* section 3.6.9 */
		out->loader_name = tag_string(t, sizeof(*t));
		break;
	case MB2_TAG_MODULE: { /* section 3.6.6: mod_start, mod_end, string */
		u32 start, end;

		if (len < 8) {
			*why = "module tag too short";
			return -E_INVAL;
		}
		memcpy(&start, body, 4);
		memcpy(&end, body + 4, 4);
		if (end < start) {
			*why = "module ends before it starts";
			return -E_INVAL;
		}
		if (out->module_count < MB2_MAX_MODULES)
			out->modules[out->module_count] = (struct mb2_module){
				.start = start,
				.end = end,
				.string = tag_string(t, sizeof(*t) + 8),
			};
		out->module_count++;
		break;
	}
	case MB2_TAG_MMAP: { /* section 3.6.8: entry_size, entry_version */
		u32 entry_size;

		if (len < 8) {
			*why = "memory map tag too short";
			return -E_INVAL;
		}
		memcpy(&entry_size, body, 4);
		/* Entries may grow (entry_size is a multiple of 8 and at
		 * least what version 0 defines); never shrink. */
		if (entry_size < sizeof(struct mb2_mmap_entry) || entry_size % 8) {
			*why = "memory map entry size is not valid";
			return -E_INVAL;
		}
		out->mmap = (const struct mb2_mmap_entry *)(body + 8);
		out->mmap_entry_size = entry_size;
		out->mmap_count = (len - 8) / entry_size;
		break;
	}
	case MB2_TAG_FRAMEBUFFER: /* section 3.6.12 */
		/* The common part; the colour info follows for RGB only. */
		out->fb = t->size >= MB2_FB_COMMON_SIZE ? (const struct mb2_fb_tag *)t : NULL;
		break;
	case MB2_TAG_ACPI_OLD: /* section 3.6.16: a copy of the RSDP */
		if (len >= 20)
			out->rsdp_old = body;
		break;
	case MB2_TAG_ACPI_NEW: /* section 3.6.17 */
		if (len >= 36)
			out->rsdp_new = body;
		break;
	default: /* tags this loader does not need */
		break;
	}
	return 0;
}

int mb2_parse(const void *mbi, struct mb2_info *out, const char **why)
{
	const u8 *base = mbi;
	u32 total, off;

	memset(out, 0, sizeof(*out));
	out->cmdline = "";
	out->loader_name = "";
	memcpy(&total, base, 4);
	if (total < 16 || total > MB2_MAX_SIZE) {
		*why = "boot information size is not valid";
		return -E_INVAL;
	}
	out->total_size = total;

	/* Section 3.6.2: tags follow the 8-byte fixed part, each at an
	 * 8-byte aligned offset; type 0 ends them. */
	for (off = 8; off + sizeof(struct mb2_tag) <= total;) {
		const struct mb2_tag *t = (const void *)(base + off);
		int err;

		if (t->size < sizeof(*t) || t->size > total - off) {
			*why = "a tag's size runs past the boot information";
			return -E_INVAL;
		}
		if (t->type == MB2_TAG_END)
			return 0;
		err = parse_tag(t, out, why);
		if (err)
			return err;
		off += ALIGN_UP(t->size, 8);
	}
	*why = "no end tag";
	return -E_INVAL;
}

u32 mb2_mem_type(u32 mb2_type)
{
	switch (mb2_type) {
	case MB2_MEM_AVAILABLE:
		return BOOT_MEM_USABLE;
	case MB2_MEM_ACPI_RECLAIMABLE:
		return BOOT_MEM_ACPI_RECLAIM;
	case MB2_MEM_NVS:
		return BOOT_MEM_ACPI_NVS;
	case MB2_MEM_BADRAM:
		return BOOT_MEM_UNUSABLE;
	default: /* 2 and every type the specification does not define */
		return BOOT_MEM_RESERVED;
	}
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int mb2_module_name(const char *string, char *name, size_t size)
{
	const char *start, *end, *c;

	while (is_space(*string))
		string++;
	for (end = string; *end && !is_space(*end); end++)
		;
	start = string;
	for (c = string; c < end; c++)
		if (*c == '/')
			start = c + 1;
	if (start == end)
		return -E_INVAL;
	if ((size_t)(end - start) >= size)
		return -E_RANGE;
	memcpy(name, start, end - start);
	name[end - start] = 0;
	return 0;
}

void mb2_config_name(const char *cmdline, char *name, size_t size)
{
	static const char key[] = "config=";
	const char *c = cmdline;

	strlcpy(name, "partita.conf", size);
	while (*c) {
		while (is_space(*c))
			c++;
		if (!strncmp(c, key, sizeof(key) - 1)) {
			const char *v = c + sizeof(key) - 1;
			size_t n = 0;

			while (v[n] && !is_space(v[n]))
				n++;
			if (n && n < size) {
				memcpy(name, v, n);
				name[n] = 0;
			}
		}
		while (*c && !is_space(*c))
			c++;
	}
}

void mb2_framebuffer(const struct mb2_fb_tag *fb, struct boot_framebuffer *out)
{
	memset(out, 0, sizeof(*out));
	out->format = BOOT_FB_NONE;
	if (!fb || fb->size < sizeof(*fb) || fb->fb_type != MB2_FB_TYPE_RGB || fb->bpp != 32 ||
	    fb->red_size != 8 || fb->green_size != 8 || fb->blue_size != 8 || fb->green_pos != 8 ||
	    !fb->addr || !fb->width || !fb->height || fb->pitch < 4ULL * fb->width)
		return;
	/* Field positions are bit numbers within a pixel read as a
	 * little-endian 32-bit value: bit 0 is the byte at the lowest address. */
	if (fb->red_pos == 0 && fb->blue_pos == 16)
		out->format = BOOT_FB_RGBX;
	else if (fb->blue_pos == 0 && fb->red_pos == 16)
		out->format = BOOT_FB_BGRX;
	else
		return;
	out->base = fb->addr;
	out->width = fb->width;
	out->height = fb->height;
	out->stride = fb->pitch;
	out->size = (u64)fb->pitch * fb->height;
}

/* -------------------------------------------------- physical placement */

void mb2_arena_init(struct mb2_arena *a, const struct boot_mem_region *map, size_t count)
{
	a->map = map;
	a->map_count = count;
	a->used_count = 0;
}

int mb2_arena_use(struct mb2_arena *a, u64 base, u64 size, u32 type)
{
	if (a->used_count == MB2_ARENA_MAX_USED)
		return -E_NOSPC;
	a->used[a->used_count++] = (struct boot_mem_region){
		.base = base,
		.size = size,
		.type = type,
	};
	return 0;
}

/* The used range that overlaps [base, base + size), or NULL. */
static const struct boot_mem_region *clash(const struct mb2_arena *a, u64 base, u64 size)
{
	for (size_t i = 0; i < a->used_count; i++) {
		const struct boot_mem_region *u = &a->used[i];

		if (u->size && u->base < base + size && base < u->base + u->size)
			return u;
	}
	return NULL;
}

/* The lowest (or highest) fit inside [lo, hi), a window of usable RAM. */
static bool fit_in(const struct mb2_arena *a, u64 size, u64 align, u64 lo, u64 hi, bool top_down,
		   u64 *out)
{
	const struct boot_mem_region *u;
	u64 at;

	if (hi < lo || hi - lo < size)
		return false;
	if (!top_down) {
		for (at = ALIGN_UP(lo, align); at >= lo && at <= hi - size;) {
			u = clash(a, at, size);
			if (!u) {
				*out = at;
				return true;
			}
			at = ALIGN_UP(u->base + u->size, align);
		}
		return false;
	}
	for (at = ALIGN_DOWN(hi - size, align); at >= lo;) {
		u = clash(a, at, size);
		if (!u) {
			*out = at;
			return true;
		}
		if (u->base < lo + size)
			return false;
		at = ALIGN_DOWN(u->base - size, align);
	}
	return false;
}

int mb2_arena_take(struct mb2_arena *a, u64 size, u64 align, u64 lo, u64 hi, bool top_down,
		   u32 type, u64 *out)
{
	size_t n = a->map_count;

	size = ALIGN_UP(size ? size : 1, PAGE_SIZE);
	align = MAX(align, PAGE_SIZE);
	if (a->used_count == MB2_ARENA_MAX_USED)
		return -E_NOSPC;
	for (size_t k = 0; k < n; k++) {
		const struct boot_mem_region *r = &a->map[top_down ? n - 1 - k : k];
		u64 wlo = MAX(r->base, lo), whi = MIN(r->base + r->size, hi);

		if (r->type != BOOT_MEM_USABLE || whi <= wlo)
			continue;
		if (fit_in(a, size, align, wlo, whi, top_down, out))
			return mb2_arena_use(a, *out, size, type);
	}
	return -E_NOMEM;
}
