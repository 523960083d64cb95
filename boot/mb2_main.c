/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The Multiboot2 loader's sequence (DESIGN.md, "boot/": the entry for
 * machines and emulators without UEFI).  GRUB has loaded this loader at
 * 1 MiB, the config and the files it names as modules, and left the
 * Multiboot2 information (MBI); mb2_entry.S has switched to 64-bit mode on
 * an identity map of the first 4 GiB.  From here on the loader does what
 * boot/efi_main.c does with UEFI: read the firmware's memory map, find the
 * ACPI RSDP, reserve a page below 1 MiB for the SMP trampoline, place the
 * embedded core at a 2 MiB aligned block, build the initial page tables,
 * fill a struct boot_info and jump to the core with its address in RDI.
 *
 * Differences with the UEFI path: the files come from GRUB, named by each
 * module's command line (`module2 /partita/hello.elf hello.elf`), and the
 * config is the module named partita.conf (or config=NAME on the loader's
 * command line); the RSDP is GRUB's copy inside the MBI, which is kept as
 * boot data; nothing is allocated from a firmware, so every block is taken
 * from RAM the memory map calls available and nothing else uses (mb2.c).
 * Messages go straight to COM1; a failure stops the machine with a message,
 * since there is no firmware to return to.
 */
#include "arch/x86/cpu.h"
#include "boot/loader.h"
#include "boot/mb2.h"
#include "drivers/uart16550.h"
#include "kernel/errno.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"

#define LOW_LIMIT MiB(1)	    /* blocks other than the trampoline go above */
#define IDENTITY_TOP GiB(4)	    /* what mb2_entry.S maps */
#define TRAMPOLINE_LIMIT 0xa0000ULL /* a SIPI page, below the VGA hole */
#define MAX_MAP_ENTRIES 256	    /* of the firmware's map; more are dropped */
#define RAW_MAX (MAX_MAP_ENTRIES + MB2_ARENA_MAX_USED)

extern const u8 core_image_start[], core_image_end[];
extern const u8 __mb2_image_start[], __mb2_image_end[];

void mb2_main(u32 magic, u64 mbi_phys) __noreturn;

static struct mb2_info mbi;
static struct mb2_arena arena;
static struct boot_mem_region raw[RAW_MAX];
static struct boot_mem_region firm[2 * MAX_MAP_ENTRIES];
static struct boot_mem_region norm[2 * RAW_MAX];
static u64 points[2 * RAW_MAX];
static size_t firm_count;

/* ------------------------------------------------------------ messages */

static void put(char c)
{
	uart_tx_wait_room();
	uart_tx_put((u8)c);
}

static void vsay(const char *prefix, const char *fmt, va_list ap)
{
	char buf[256];
	const char *c;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	for (c = "partita loader: "; *c; c++)
		put(*c);
	for (c = prefix; *c; c++)
		put(*c);
	for (c = buf; *c; c++)
		put(*c);
	put('\r');
	put('\n');
}

/* Waits (bounded) until COM1 has sent every byte: the core's uart_init()
 * clears the FIFOs, which would drop the last line.  LSR bit 6, transmitter
 * empty (PC16550D datasheet, "Line Status Register"). */
static void drain_uart(void)
{
	for (unsigned spins = 0; spins < 1000000; spins++)
		if (!uart_present() || inb(UART_COM1 + 5) & 0x40)
			return;
}

static __printf(1, 2) void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay("", fmt, ap);
	va_end(ap);
}

static __printf(1, 2) void warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay("warning: ", fmt, ap);
	va_end(ap);
}

static __printf(1, 2) __noreturn void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay("error: ", fmt, ap);
	va_end(ap);
	say("stopped");
	for (;;)
		asm volatile("cli; hlt");
}

static void *ptr(u64 phys)
{
	return (void *)(uintptr_t)phys;
}

static u64 take(u64 size, u64 align, u32 type, const char *what)
{
	u64 phys;
	int err = mb2_arena_take(&arena, size, align, LOW_LIMIT, IDENTITY_TOP, false, type, &phys);

	if (err)
		fail("no free block of %llu KiB below 4 GiB for %s",
		     (unsigned long long)(ALIGN_UP(size, PAGE_SIZE) >> 10), what);
	return phys;
}

/* ------------------------------------------------------ the memory map */

/* The firmware's map, normalized; returns the top of the direct map: all
 * RAM the map names, at least 4 GiB (the MMIO hole), in whole GiB. */
static u64 read_memory_map(void)
{
	size_t i, n = mbi.mmap_count;
	u64 top = GiB(4);

	if (!mbi.mmap || !n)
		fail("the boot information has no memory map (tag 6)");
	if (n > MAX_MAP_ENTRIES) {
		warn("memory map of %zu entries, the last %zu dropped", n, n - MAX_MAP_ENTRIES);
		n = MAX_MAP_ENTRIES;
	}
	for (i = 0; i < n; i++) {
		const struct mb2_mmap_entry *e =
			(const void *)((const u8 *)mbi.mmap + i * mbi.mmap_entry_size);

		raw[i] = (struct boot_mem_region){
			.base = e->base_addr,
			.size = e->length,
			.type = mb2_mem_type(e->type),
		};
	}
	firm_count = memmap_normalize(raw, n, points, firm);
	for (i = 0; i < firm_count; i++)
		if (firm[i].type != BOOT_MEM_RESERVED && firm[i].type != BOOT_MEM_MMIO)
			top = MAX(top, firm[i].base + firm[i].size);
	mb2_arena_init(&arena, firm, firm_count);
	top = ALIGN_UP(top, GiB(1));
	if (top > PT_MAX_TOP) {
		warn("memory above %llu TiB is not mapped", (unsigned long long)(PT_MAX_TOP >> 40));
		top = PT_MAX_TOP;
	}
	return top;
}

/* What is in use before the loader takes anything: itself (free again once
 * the core runs), the MBI and the modules (boot data). */
static void mark_used(u64 mbi_phys)
{
	u32 i;

	if (mbi.module_count > MB2_MAX_MODULES)
		fail("%u modules, at most %d can be kept out of harm's way", mbi.module_count,
		     MB2_MAX_MODULES);
	mb2_arena_use(&arena, (u64)(uintptr_t)__mb2_image_start,
		      (u64)(__mb2_image_end - __mb2_image_start), BOOT_MEM_USABLE);
	mb2_arena_use(&arena, mbi_phys, mbi.total_size, BOOT_MEM_BOOT_DATA);
	for (i = 0; i < mbi.module_count; i++)
		if (mb2_arena_use(&arena, mbi.modules[i].start,
				  mbi.modules[i].end - mbi.modules[i].start, BOOT_MEM_BOOT_DATA))
			fail("too many modules to keep track of");
}

/* The final map: the firmware's, with every block in use marked. */
static void finish_memory_map(struct boot_info *info)
{
	size_t n = 0, count, i;
	u64 lost;

	for (i = 0; i < firm_count && n < RAW_MAX; i++)
		raw[n++] = firm[i];
	for (i = 0; i < arena.used_count && n < RAW_MAX; i++)
		raw[n++] = arena.used[i];
	count = memmap_normalize(raw, n, points, norm);
	lost = memmap_fit(norm, &count, BOOT_MAX_MEM_REGIONS);
	if (lost)
		warn("memory map too long, %llu KiB of RAM dropped",
		     (unsigned long long)(lost >> 10));
	count = MIN(count, (size_t)BOOT_MAX_MEM_REGIONS);
	memcpy(info->mem, norm, count * sizeof(*norm));
	info->mem_count = count;
}

/* True if the final map gives all of [base, base + size) the type type. */
static bool map_marks(const struct boot_info *info, u64 base, u64 size, u32 type)
{
	u64 at = base;

	for (u32 i = 0; i < info->mem_count && at < base + size; i++) {
		const struct boot_mem_region *r = &info->mem[i];

		if (r->base <= at && at < r->base + r->size) {
			if (r->type != type)
				return false;
			at = r->base + r->size;
		}
	}
	return at >= base + size;
}

/* The core's allocator hands out every page the map calls usable: check,
 * on the map itself, that nothing the core still needs is among them. */
static void check_memory_map(const struct boot_info *info, u64 mbi_phys, u64 cr3)
{
	const char *what = NULL;

	if (!map_marks(info, info->core_phys, info->core_size, BOOT_MEM_CORE))
		what = "the core";
	else if (!map_marks(info, (u64)(uintptr_t)info, sizeof(*info), BOOT_MEM_BOOT_DATA))
		what = "the boot_info";
	else if (!map_marks(info, mbi_phys, mbi.total_size, BOOT_MEM_BOOT_DATA))
		what = "the boot information (and its RSDP copy)";
	else if (!map_marks(info, cr3, PAGE_SIZE, BOOT_MEM_BOOT_DATA))
		what = "the page tables";
	else if (info->config_phys &&
		 !map_marks(info, info->config_phys, info->config_size, BOOT_MEM_BOOT_DATA))
		what = "the config";
	else if (info->trampoline_phys &&
		 !map_marks(info, info->trampoline_phys, PAGE_SIZE, BOOT_MEM_TRAMPOLINE))
		what = "the trampoline page";
	for (u32 i = 0; !what && i < info->module_count; i++)
		if (!map_marks(info, info->modules[i].phys, info->modules[i].size,
			       BOOT_MEM_BOOT_DATA))
			what = info->modules[i].name;
	if (what)
		fail("loader bug: the memory map does not keep %s out of the core's allocator",
		     what);
}

/* ------------------------------------------------- the boot_info parts */

static struct boot_info *new_boot_info(void)
{
	struct boot_info *info =
		ptr(take(sizeof(*info), PAGE_SIZE, BOOT_MEM_BOOT_DATA, "the boot_info"));
	size_t n = 0;

	memset(info, 0, sizeof(*info));
	info->magic = BOOT_INFO_MAGIC;
	info->version = BOOT_INFO_VERSION;
	info->size = sizeof(*info);
	info->source = BOOT_SOURCE_MULTIBOOT2;
	/* "Multiboot2 (GRUB)": the loader name's first word ("GRUB
	 * 2.06-13+deb12u2" for Debian's). */
	while (mbi.loader_name[n] && mbi.loader_name[n] != ' ')
		n++;
	if (n && n < sizeof(info->firmware_vendor) - 14)
		snprintf(info->firmware_vendor, sizeof(info->firmware_vendor), "Multiboot2 (%.*s)",
			 (int)n, mbi.loader_name);
	else
		strlcpy(info->firmware_vendor, "Multiboot2", sizeof(info->firmware_vendor));
	return info;
}

static bool have_module(const struct boot_info *info, const char *name)
{
	for (u32 i = 0; i < info->module_count; i++)
		if (!strcmp(info->modules[i].name, name))
			return true;
	return false;
}

/* The config and the files: every module by the name its command line
 * gives, the one named config_name as the config. */
static void take_modules(struct boot_info *info)
{
	char config_name[BOOT_NAME_MAX], name[BOOT_NAME_MAX];

	mb2_config_name(mbi.cmdline, config_name, sizeof(config_name));
	strlcpy(info->config_path, config_name, sizeof(info->config_path));
	for (u32 i = 0; i < mbi.module_count; i++) {
		const struct mb2_module *m = &mbi.modules[i];
		u64 size = m->end - m->start, phys = m->start;
		struct boot_module *bm;
		int err = mb2_module_name(m->string, name, sizeof(name));

		if (err) {
			warn("module %u at %#llx ('%s'): %s; not passed on", i,
			     (unsigned long long)m->start, m->string,
			     err == -E_RANGE ? "name too long" : "no name");
			continue;
		}
		if (!strcmp(name, config_name) && !info->config_phys) {
			info->config_phys = phys;
			info->config_size = size;
			say("config %s: %llu bytes", name, (unsigned long long)size);
			continue;
		}
		if (have_module(info, name) || !strcmp(name, config_name)) {
			warn("a second module named %s, not passed on", name);
			continue;
		}
		if (info->module_count == BOOT_MAX_MODULES) {
			warn("more than %d modules, %s not passed on", BOOT_MAX_MODULES, name);
			continue;
		}
		if (phys % PAGE_SIZE) {
			/* boot_module.phys is page aligned; GRUB aligns
			 * modules (the header asks), others may not. */
			phys = take(size, PAGE_SIZE, BOOT_MEM_BOOT_DATA, name);
			memcpy(ptr(phys), ptr(m->start), size);
		}
		bm = &info->modules[info->module_count++];
		strlcpy(bm->name, name, sizeof(bm->name));
		bm->phys = phys;
		bm->size = size;
		say("module %s: %llu bytes at %#llx", name, (unsigned long long)size,
		    (unsigned long long)phys);
	}
	if (!info->config_phys)
		warn("no module named %s (the config); the core will report it", config_name);
}

static void find_rsdp(struct boot_info *info)
{
	/* GRUB copies the RSDP into the MBI (sections 3.6.16, 3.6.17); the
	 * copy names the same RSDT/XSDT, and the MBI stays as boot data. */
	if (mbi.rsdp_new) {
		info->rsdp_phys = (u64)(uintptr_t)mbi.rsdp_new;
		say("ACPI 2.0 RSDP (copy in the boot information) at %#llx",
		    (unsigned long long)info->rsdp_phys);
	} else if (mbi.rsdp_old) {
		info->rsdp_phys = (u64)(uintptr_t)mbi.rsdp_old;
		say("ACPI 1.0 RSDP (copy in the boot information) at %#llx",
		    (unsigned long long)info->rsdp_phys);
	} else {
		warn("no ACPI RSDP tag; the core searches the BIOS areas");
	}
}

static void find_framebuffer(struct boot_info *info)
{
	static const char *const formats[] = { "none", "RGBX", "BGRX" };
	const struct boot_framebuffer *fb = &info->fb;

	mb2_framebuffer(mbi.fb, &info->fb);
	if (!mbi.fb)
		say("framebuffer: none (no framebuffer tag)");
	else if (fb->format == BOOT_FB_NONE)
		say("framebuffer: %ux%u, %u bits a pixel, type %u: not 32-bit RGB, none passed on",
		    mbi.fb->width, mbi.fb->height, mbi.fb->bpp, mbi.fb->fb_type);
	else
		say("framebuffer: %ux%u, %s, stride %u, at %#llx", fb->width, fb->height,
		    formats[fb->format], fb->stride, (unsigned long long)fb->base);
}

static void reserve_trampoline(struct boot_info *info)
{
	u64 page;

	/* The highest free page below 640 KiB; page 0 (the real-mode IVT and
	 * BIOS data) and 0 meaning "none" in boot_info both rule it out. */
	if (mb2_arena_take(&arena, PAGE_SIZE, PAGE_SIZE, PAGE_SIZE, TRAMPOLINE_LIMIT, true,
			   BOOT_MEM_TRAMPOLINE, &page)) {
		warn("no free page below 640 KiB for the SMP trampoline");
		return;
	}
	info->trampoline_phys = page;
	say("SMP trampoline page at %#llx", (unsigned long long)page);
}

static u64 load_core(struct boot_info *info)
{
	u64 image_size = (u64)(core_image_end - core_image_start), size, phys;
	struct core_layout layout;
	const char *why = "";

	if (elf_core_inspect(core_image_start, image_size, &layout, &why))
		fail("embedded core image: %s", why);
	/* The core is mapped with 2 MiB pages: it owns every byte they map. */
	size = ALIGN_UP(layout.span, LARGE_PAGE_SIZE);
	phys = take(size, LARGE_PAGE_SIZE, BOOT_MEM_CORE, "the core");
	elf_core_copy(core_image_start, ptr(phys), size);
	info->core_phys = phys;
	info->core_size = size;
	say("core: %llu KiB at %#llx, entry %#llx", (unsigned long long)(size >> 10),
	    (unsigned long long)phys, (unsigned long long)layout.entry);
	return layout.entry;
}

static u64 build_page_tables(const struct boot_info *info, u64 top)
{
	u64 pages = pt_pages_needed(top, info->core_size), mem, cr3;

	mem = take(pages * PAGE_SIZE, PAGE_SIZE, BOOT_MEM_BOOT_DATA, "the page tables");
	cr3 = pt_build(ptr(mem), top, info->core_phys, info->core_size);
	say("page tables: [0, %llu GiB) at 0 and %#llx, core at %#llx "
	    "(%llu pages at %#llx)",
	    (unsigned long long)(top >> 30), (unsigned long long)DIRECT_MAP_BASE,
	    (unsigned long long)CORE_VIRT_BASE, (unsigned long long)pages, (unsigned long long)mem);
	return cr3;
}

/* ---------------------------------------------------------- the sequence */

/**
 * The C entry, called by mb2_entry.S in 64-bit mode with the EAX and EBX
 * GRUB left.  Never returns: it jumps to the core, or stops the machine
 * with a message on COM1.
 */
void mb2_main(u32 magic, u64 mbi_phys)
{
	struct boot_info *info;
	const char *why = "";
	u64 top, cr3, entry;

	uart_init();
	if (magic != MB2_BOOTLOADER_MAGIC)
		fail("EAX is %#x on entry, not %#x: not started by a Multiboot2 loader", magic,
		     MB2_BOOTLOADER_MAGIC);
	if (mbi_phys % 8 || mb2_parse(ptr(mbi_phys), &mbi, &why))
		fail("boot information at %#llx: %s", (unsigned long long)mbi_phys,
		     mbi_phys % 8 ? "not 8-byte aligned" : why);
	say("Multiboot2 from '%s', command line '%s', %u modules", mbi.loader_name, mbi.cmdline,
	    mbi.module_count);

	top = read_memory_map();
	mark_used(mbi_phys);
	info = new_boot_info();
	take_modules(info);
	find_rsdp(info);
	find_framebuffer(info);
	reserve_trampoline(info);
	entry = load_core(info);
	cr3 = build_page_tables(info, top);
	finish_memory_map(info);
	check_memory_map(info, mbi_phys, cr3);
	say("%u memory regions (from %u map entries), %u modules; starting the core",
	    info->mem_count, mbi.mmap_count, info->module_count);
	drain_uart();
	loader_enter_core(cr3, entry, (u64)(uintptr_t)info);
}
