/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The UEFI loader's entry point and its sequence (DESIGN.md, "boot/"): read
 * \partita\partita.conf and the files it names from the ESP (images,
 * initrds, the management API's certificate, key and token), find the ACPI
 * RSDP and the GOP framebuffer, reserve a page below 1 MiB for the SMP
 * trampoline, place the embedded core at a 2 MiB aligned physical block,
 * build the initial page tables, fill a struct boot_info, exit boot services
 * and jump to the core with the boot_info's physical address in RDI.
 *
 * Until ExitBootServices() succeeds every failure is printed (what failed and
 * the EFI status) and returned to the firmware after a short pause; the
 * loader never hangs.  After it, the loader calls no firmware service and
 * prints nothing: it converts the final memory map (memmap.c), loads CR3 and
 * jumps.  A config the parser refuses is not fatal here: the loader then
 * loads no modules and the core, which parses the same bytes again, reports
 * the error with file and line on its serial log.
 */
#include "boot/efi_glue.h"
#include "boot/hwcheck.h"
#include "kernel/config.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"

#define CONFIG_MAX_SIZE MiB(1)
#define MODULE_MAX_SIZE GiB(2)
/* A SIPI vector names a page below 1 MiB; stay below the VGA hole too. */
#define TRAMPOLINE_MAX_ADDR 0x9ffffULL
/* Extra descriptors room in the memory map buffer: allocations made after
 * sizing it, and the firmware's own changes during ExitBootServices(). */
#define MAP_SLACK_DESCRIPTORS 128
#define EXIT_TRIES 8

extern const u8 core_image_start[] __attribute__((visibility("hidden")));
extern const u8 core_image_end[] __attribute__((visibility("hidden")));

struct loader {
	EFI_HANDLE image;
	EFI_FILE_HANDLE root;
	struct boot_info *info;

	/* The firmware's memory map, in a buffer allocated before exiting. */
	EFI_MEMORY_DESCRIPTOR *map;
	UINTN map_capacity; /* bytes */
	UINTN map_size, map_key, desc_size;
	UINT32 desc_version;

	/* Scratch for memmap_normalize(), sized from map_capacity. */
	struct boot_mem_region *raw, *norm;
	u64 *points;

	u64 core_entry; /* virtual */
	u64 cr3;
	bool check; /* the config asks for the hardware check only */
};

/* Seconds the check's report stays up before the firmware takes over. */
#define CHECK_WAIT_S 30

/* ------------------------------------------------------------ the config */

static EFI_STATUS read_config(struct loader *l)
{
	struct boot_info *info = l->info;
	EFI_STATUS st;

	strlcpy(info->config_path, LOADER_CONFIG_PATH, sizeof(info->config_path));
	st = efi_read_file(l->root, LOADER_CONFIG_PATH, LOADER_MEM_BOOT_DATA, CONFIG_MAX_SIZE,
			   &info->config_phys, &info->config_size);
	if (EFI_ERROR(st))
		return efi_fail(st, "cannot read %s", LOADER_CONFIG_PATH);
	efi_say("config %s: %llu bytes", LOADER_CONFIG_PATH, (unsigned long long)info->config_size);
	return EFI_SUCCESS;
}

/* A name that stays inside \partita\: no separators, no dot names. */
static bool module_name_ok(const char *name)
{
	const char *c;

	if (!name[0] || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (c = name; *c; c++)
		if (*c < 0x21 || *c > 0x7e || *c == '\\' || *c == '/')
			return false;
	return true;
}

/* Adds name to the list of wanted files unless it is empty or listed. */
static void want(const char *names[], unsigned *count, const char *name)
{
	unsigned i;

	if (!name[0])
		return;
	for (i = 0; i < *count; i++)
		if (!strcmp(names[i], name))
			return;
	if (*count < BOOT_MAX_MODULES)
		names[(*count)++] = name;
	else
		efi_warn(EFI_OUT_OF_RESOURCES, "more than %d files named, %s not loaded",
			 BOOT_MAX_MODULES, name);
}

static void load_module(struct loader *l, const char *name)
{
	struct boot_info *info = l->info;
	struct boot_module *m = &info->modules[info->module_count];
	char path[sizeof(LOADER_DIR) + CONFIG_FILE_MAX];
	EFI_STATUS st;

	if (!module_name_ok(name) || strlen(name) >= sizeof(m->name)) {
		efi_warn(EFI_INVALID_PARAMETER,
			 "file name '%s' not loaded (the core will report it)", name);
		return;
	}
	snprintf(path, sizeof(path), "%s%s", LOADER_DIR, name);
	st = efi_read_file(l->root, path, LOADER_MEM_BOOT_DATA, MODULE_MAX_SIZE, &m->phys,
			   &m->size);
	if (EFI_ERROR(st)) {
		efi_warn(st, "cannot read %s (not loaded; the core will report it)", path);
		return;
	}
	strlcpy(m->name, name, sizeof(m->name));
	info->module_count++;
	efi_say("module %s: %llu bytes at 0x%llx", name, (unsigned long long)m->size,
		(unsigned long long)m->phys);
}

/* Parses the config only to learn which files to load, then loads them. */
static EFI_STATUS load_modules(struct loader *l)
{
	const char *names[BOOT_MAX_MODULES];
	struct config_error err;
	struct config *cfg;
	unsigned i, count = 0;
	char msg[sizeof(err.file) + sizeof(err.reason) + 16];

	cfg = AllocatePool(sizeof(*cfg));
	if (!cfg)
		return efi_fail(EFI_OUT_OF_RESOURCES, "no memory to parse %s", LOADER_CONFIG_PATH);
	if (config_parse((const char *)(uintptr_t)l->info->config_phys, l->info->config_size,
			 LOADER_CONFIG_PATH, cfg, &err)) {
		config_error_format(&err, msg, sizeof(msg));
		efi_say("warning: config refused (%s); loading no files, "
			"the core will report it",
			msg);
		FreePool(cfg);
		return EFI_SUCCESS;
	}
	if (cfg->check) {
		l->check = true; /* nothing to load: the check runs instead */
		FreePool(cfg);
		return EFI_SUCCESS;
	}
	for (i = 0; i < cfg->partition_count; i++) {
		const char *files[CONFIG_PARTITION_FILES];
		unsigned lines[CONFIG_PARTITION_FILES];
		unsigned n = config_partition_files(&cfg->partitions[i], files, lines);

		for (unsigned f = 0; f < n; f++)
			want(names, &count, files[f]);
	}
	for (i = 0; i < count; i++)
		load_module(l, names[i]);
	FreePool(cfg); /* names[] point into cfg: done with them */
	return EFI_SUCCESS;
}

/* ------------------------------------------------- firmware information */

static void find_rsdp(struct loader *l)
{
	EFI_GUID acpi20 = ACPI_20_TABLE_GUID, acpi10 = ACPI_TABLE_GUID;
	u64 rsdp10 = 0;
	UINTN i;

	for (i = 0; i < ST->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &ST->ConfigurationTable[i];

		if (!CompareGuid(&t->VendorGuid, &acpi20)) {
			l->info->rsdp_phys = (u64)(uintptr_t)t->VendorTable;
			efi_say("ACPI 2.0 RSDP at 0x%llx", (unsigned long long)l->info->rsdp_phys);
			return;
		}
		if (!CompareGuid(&t->VendorGuid, &acpi10))
			rsdp10 = (u64)(uintptr_t)t->VendorTable;
	}
	l->info->rsdp_phys = rsdp10;
	if (rsdp10)
		efi_say("ACPI 1.0 RSDP at 0x%llx", (unsigned long long)rsdp10);
	else
		efi_say("warning: no ACPI RSDP in the EFI configuration table");
}

/*
 * The framebuffer of the Graphics Output Protocol (UEFI 2.10 section 12.9),
 * in the mode the firmware set, for the core's screen console.  Only 32-bit
 * pixels the core can draw are handed over: the two 8-bit-per-colour
 * layouts, or a bit mask that equals one of them.  A BltOnly mode has no
 * framebuffer at all.
 */
static void find_framebuffer(struct loader *l)
{
	EFI_GUID guid = EFI_GRAPHICS_OUTPUT_PROTOCOL_GUID;
	EFI_GRAPHICS_OUTPUT_PROTOCOL *gop = NULL;
	struct boot_framebuffer *fb = &l->info->fb;
	EFI_STATUS st;

	st = BS->LocateProtocol(&guid, NULL, (void **)&gop);
	if (EFI_ERROR(st) || !gop || !gop->Mode || !gop->Mode->Info) {
		efi_say("no graphics output (GOP): the core's console is the serial line only");
		return;
	}
	const EFI_GRAPHICS_OUTPUT_MODE_INFORMATION *info = gop->Mode->Info;
	const EFI_PIXEL_BITMASK *m = &info->PixelInformation;
	u32 format = BOOT_FB_NONE;

	switch (info->PixelFormat) {
	case PixelRedGreenBlueReserved8BitPerColor:
		format = BOOT_FB_RGBX;
		break;
	case PixelBlueGreenRedReserved8BitPerColor:
		format = BOOT_FB_BGRX;
		break;
	case PixelBitMask:
		if (m->RedMask == 0xff && m->GreenMask == 0xff00 && m->BlueMask == 0xff0000)
			format = BOOT_FB_RGBX;
		else if (m->RedMask == 0xff0000 && m->GreenMask == 0xff00 && m->BlueMask == 0xff)
			format = BOOT_FB_BGRX;
		break;
	default:
		break;
	}
	if (format == BOOT_FB_NONE || !gop->Mode->FrameBufferBase) {
		efi_say("graphics output mode %u (%ux%u) has no framebuffer the core can draw on "
			"(pixel format %u)",
			gop->Mode->Mode, info->HorizontalResolution, info->VerticalResolution,
			info->PixelFormat);
		return;
	}
	*fb = (struct boot_framebuffer){
		.base = gop->Mode->FrameBufferBase,
		.size = gop->Mode->FrameBufferSize,
		.width = info->HorizontalResolution,
		.height = info->VerticalResolution,
		.stride = info->PixelsPerScanLine * 4,
		.format = format,
	};
	efi_say("framebuffer %ux%u at 0x%llx (%llu KiB, stride %u, %s)", fb->width, fb->height,
		(unsigned long long)fb->base, (unsigned long long)(fb->size >> 10), fb->stride,
		format == BOOT_FB_RGBX ? "RGBX" : "BGRX");
}

static void firmware_vendor(struct boot_info *info)
{
	const CHAR16 *v = ST->FirmwareVendor;
	size_t i;

	for (i = 0; v && v[i] && i + 1 < sizeof(info->firmware_vendor); i++)
		info->firmware_vendor[i] = v[i] < 0x80 ? (char)v[i] : '?';
	info->firmware_vendor[i] = 0;
	info->firmware_revision = ST->FirmwareRevision;
	info->source = BOOT_SOURCE_UEFI;
}

static void reserve_trampoline(struct loader *l)
{
	u64 page = 0;
	EFI_STATUS st;

	st = efi_alloc_pages(LOADER_MEM_TRAMPOLINE, PAGE_SIZE, TRAMPOLINE_MAX_ADDR, &page);
	/* 0 means "none" in boot_info: if page 0 came back, hold it while
	 * taking another, then give it back. */
	if (!EFI_ERROR(st) && page == 0) {
		st = efi_alloc_pages(LOADER_MEM_TRAMPOLINE, PAGE_SIZE, TRAMPOLINE_MAX_ADDR, &page);
		efi_free_pages(0, PAGE_SIZE);
	}
	if (EFI_ERROR(st) || page == 0) {
		efi_warn(EFI_ERROR(st) ? st : EFI_OUT_OF_RESOURCES,
			 "no free page below 640 KiB for the SMP trampoline");
		l->info->trampoline_phys = 0;
		return;
	}
	l->info->trampoline_phys = page;
	efi_say("SMP trampoline page at 0x%llx", (unsigned long long)page);
}

/* -------------------------------------------------------------- the core */

/* Allocates size bytes at a 2 MiB aligned address: over-allocate, align,
 * and give the head and tail back. */
static EFI_STATUS alloc_2m_aligned(u64 size, u64 *phys)
{
	u64 total = size + LARGE_PAGE_SIZE - PAGE_SIZE, base, aligned;
	EFI_STATUS st;

	st = efi_alloc_pages(LOADER_MEM_CORE, total, 0, &base);
	if (EFI_ERROR(st))
		return st;
	aligned = ALIGN_UP(base, LARGE_PAGE_SIZE);
	if (aligned > base)
		efi_free_pages(base, aligned - base);
	if (base + total > aligned + size)
		efi_free_pages(aligned + size, base + total - (aligned + size));
	*phys = aligned;
	return EFI_SUCCESS;
}

static EFI_STATUS load_core(struct loader *l)
{
	u64 image_size = (u64)(core_image_end - core_image_start);
	struct core_layout layout;
	const char *why = "";
	EFI_STATUS st;
	u64 size, phys;

	if (elf_core_inspect(core_image_start, image_size, &layout, &why))
		return efi_fail(EFI_LOAD_ERROR, "embedded core image: %s", why);
	/* The core is mapped with 2 MiB pages: it owns every byte they map. */
	size = ALIGN_UP(layout.span, LARGE_PAGE_SIZE);
	st = alloc_2m_aligned(size, &phys);
	if (EFI_ERROR(st))
		return efi_fail(st, "no 2 MiB aligned block of %llu KiB for the core",
				(unsigned long long)(size >> 10));
	elf_core_copy(core_image_start, (void *)(uintptr_t)phys, size);
	l->info->core_phys = phys;
	l->info->core_size = size;
	l->core_entry = layout.entry;
	efi_say("core: %llu KiB at 0x%llx, entry 0x%llx", (unsigned long long)(size >> 10),
		(unsigned long long)phys, (unsigned long long)layout.entry);
	return EFI_SUCCESS;
}

/* --------------------------------------------------------- the memory map */

static EFI_MEMORY_DESCRIPTOR *desc(const struct loader *l, UINTN i)
{
	return (EFI_MEMORY_DESCRIPTOR *)((u8 *)l->map + i * l->desc_size);
}

static UINTN desc_count(const struct loader *l)
{
	return l->map_size / l->desc_size;
}

static EFI_STATUS get_map(struct loader *l)
{
	l->map_size = l->map_capacity;
	return BS->GetMemoryMap(&l->map_size, l->map, &l->map_key, &l->desc_size, &l->desc_version);
}

/* Allocates the map buffer and the conversion scratch, with room to spare:
 * nothing may be allocated once ExitBootServices() has been called. */
static EFI_STATUS alloc_map(struct loader *l)
{
	UINTN size = 0, n;
	EFI_STATUS st;

	st = BS->GetMemoryMap(&size, NULL, &l->map_key, &l->desc_size, &l->desc_version);
	if (st != EFI_BUFFER_TOO_SMALL || l->desc_size == 0)
		return efi_fail(st, "GetMemoryMap() refuses to give its size");
	n = size / l->desc_size + MAP_SLACK_DESCRIPTORS;
	l->map_capacity = n * l->desc_size;
	l->map = AllocatePool(l->map_capacity);
	l->raw = AllocatePool(n * sizeof(*l->raw));
	l->norm = AllocatePool(2 * n * sizeof(*l->norm));
	l->points = AllocatePool(2 * n * sizeof(*l->points));
	if (!l->map || !l->raw || !l->norm || !l->points)
		return efi_fail(EFI_OUT_OF_RESOURCES, "no memory for the memory map");
	st = get_map(l);
	if (EFI_ERROR(st))
		return efi_fail(st, "GetMemoryMap()");
	return EFI_SUCCESS;
}

/* Turns l->map into l->info->mem; pure, safe after ExitBootServices().
 * Returns the usable bytes memmap_fit() had to drop. */
static u64 convert_map(struct loader *l)
{
	UINTN i, n = desc_count(l);
	size_t count;
	u64 lost;

	for (i = 0; i < n; i++) {
		const EFI_MEMORY_DESCRIPTOR *d = desc(l, i);

		l->raw[i] = (struct boot_mem_region){
			.base = d->PhysicalStart,
			.size = d->NumberOfPages << PAGE_SHIFT,
			.type = memmap_type_from_efi(d->Type),
		};
	}
	count = memmap_normalize(l->raw, n, l->points, l->norm);
	lost = memmap_fit(l->norm, &count, BOOT_MAX_MEM_REGIONS);
	count = MIN(count, (size_t)BOOT_MAX_MEM_REGIONS);
	memcpy(l->info->mem, l->norm, count * sizeof(*l->norm));
	l->info->mem_count = count;
	return lost;
}

/* The top of the identity and direct maps: everything the map names, at
 * least 4 GiB (the MMIO hole), in whole GiB. */
static u64 map_top(const struct loader *l)
{
	u64 top = GiB(4);
	UINTN i;

	for (i = 0; i < desc_count(l); i++) {
		const EFI_MEMORY_DESCRIPTOR *d = desc(l, i);

		top = MAX(top, d->PhysicalStart + (d->NumberOfPages << PAGE_SHIFT));
	}
	return ALIGN_UP(top, GiB(1));
}

/* --------------------------------------------------------- page tables */

static u64 read_cr4(void)
{
	u64 v;

	asm volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static EFI_STATUS build_page_tables(struct loader *l)
{
	u64 top = map_top(l), pages, mem;
	EFI_STATUS st;

	/* Our tables are 4-level; with 5-level paging (CR4.LA57, Intel SDM
	 * vol. 3A section 4.5) CR3 would need a PML5, which we do not build. */
	if (read_cr4() & (1ULL << 12))
		return efi_fail(EFI_UNSUPPORTED,
				"the firmware runs with 5-level paging (CR4.LA57)");
	if (top > PT_MAX_TOP) {
		efi_warn(EFI_UNSUPPORTED, "memory above %llu TiB is not mapped",
			 (unsigned long long)(PT_MAX_TOP >> 40));
		top = PT_MAX_TOP;
	}
	pages = pt_pages_needed(top, l->info->core_size);
	st = efi_alloc_pages(LOADER_MEM_BOOT_DATA, pages * PAGE_SIZE, 0, &mem);
	if (EFI_ERROR(st))
		return efi_fail(st, "no memory for %llu page-table pages",
				(unsigned long long)pages);
	l->cr3 = pt_build((void *)(uintptr_t)mem, top, l->info->core_phys, l->info->core_size);
	efi_say("page tables: [0, %llu GiB) at 0 and 0x%llx, core at 0x%llx "
		"(%llu pages at 0x%llx)",
		(unsigned long long)(top >> 30), (unsigned long long)DIRECT_MAP_BASE,
		(unsigned long long)CORE_VIRT_BASE, (unsigned long long)pages,
		(unsigned long long)mem);
	return EFI_SUCCESS;
}

/* ----------------------------------------------------------- hand-off */

/*
 * ExitBootServices() as UEFI 2.10 section 7.4.6 requires: the map key must
 * come from the most recent GetMemoryMap(); if the map changed in between,
 * the call fails with EFI_INVALID_PARAMETER and the loader must get the map
 * again and retry.  After the first call, only the memory allocation
 * services (GetMemoryMap() among them) may be used, so the retry reuses the
 * buffer allocated beforehand and prints nothing.
 */
static EFI_STATUS exit_boot_services(struct loader *l)
{
	EFI_STATUS st = EFI_SUCCESS;
	int i;

	for (i = 0; i < EXIT_TRIES; i++) {
		st = get_map(l);
		if (EFI_ERROR(st))
			return st;
		st = BS->ExitBootServices(l->image, l->map_key);
		if (st != EFI_INVALID_PARAMETER)
			return st;
	}
	return st;
}

static EFI_STATUS alloc_boot_info(struct loader *l)
{
	u64 phys;
	EFI_STATUS st;

	st = efi_alloc_pages(LOADER_MEM_BOOT_DATA, sizeof(struct boot_info), 0, &phys);
	if (EFI_ERROR(st))
		return efi_fail(st, "no memory for the boot_info");
	l->info = (struct boot_info *)(uintptr_t)phys;
	memset(l->info, 0, sizeof(*l->info));
	l->info->magic = BOOT_INFO_MAGIC;
	l->info->version = BOOT_INFO_VERSION;
	l->info->size = sizeof(struct boot_info);
	firmware_vendor(l->info);
	return EFI_SUCCESS;
}

/* Everything up to the last moment boot services are available. */
static EFI_STATUS prepare(struct loader *l)
{
	EFI_STATUS st;
	u64 lost;

	st = alloc_boot_info(l);
	if (EFI_ERROR(st))
		return st;
	st = efi_open_boot_volume(l->image, &l->root);
	if (EFI_ERROR(st))
		return efi_fail(st, "cannot open the volume the loader came from");
	st = read_config(l);
	if (EFI_ERROR(st))
		return st;
	st = load_modules(l);
	if (EFI_ERROR(st))
		return st;
	if (l->check)
		return EFI_SUCCESS;
	l->root->Close(l->root);
	find_rsdp(l);
	find_framebuffer(l);
	reserve_trampoline(l);
	st = load_core(l);
	if (EFI_ERROR(st))
		return st;
	st = alloc_map(l);
	if (EFI_ERROR(st))
		return st;
	st = build_page_tables(l);
	if (EFI_ERROR(st))
		return st;

	/* A dry run on the current map, to say now what cannot be said later. */
	st = get_map(l);
	if (EFI_ERROR(st))
		return efi_fail(st, "GetMemoryMap()");
	lost = convert_map(l);
	if (lost)
		efi_say("warning: memory map too long, %llu KiB of RAM dropped",
			(unsigned long long)(lost >> 10));
	efi_say("%u memory regions (from %llu EFI descriptors), %u modules; "
		"exiting boot services",
		l->info->mem_count, (unsigned long long)desc_count(l), l->info->module_count);
	return EFI_SUCCESS;
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab);

/**
 * The loader's entry point.  gnu-efi's crt0 (_start) takes the firmware's
 * call, applies the loader's relocations and calls this with the System V
 * convention, so it is not EFIAPI.  Returns an error status to the firmware
 * if anything fails before ExitBootServices(); otherwise never returns.
 */
EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	struct loader l = { .image = image };
	EFI_STATUS st;

	InitializeLib(image, systab);
	Print(L"partita loader: UEFI %d.%d, firmware %s rev %x\n", systab->Hdr.Revision >> 16,
	      systab->Hdr.Revision & 0xffff, systab->FirmwareVendor, systab->FirmwareRevision);

	st = prepare(&l);
	if (EFI_ERROR(st))
		return st;
	if (l.check) {
		/* check = yes: the report, then back to the firmware. */
		bool ok = hwcheck_run();
		hwcheck_wait(CHECK_WAIT_S);
		return ok ? EFI_SUCCESS : EFI_UNSUPPORTED;
	}
	st = exit_boot_services(&l);
	if (EFI_ERROR(st)) {
		/* Boot services may be half gone (UEFI 2.10 section 7.4.6): a
		 * last word on the console, best effort, and no Stall(). */
		Print(L"partita loader: error: ExitBootServices(): %r\n", st);
		return st;
	}

	/* No boot services and no Print from here on. */
	convert_map(&l);
	/* This code, its stack and the boot_info are identity-mapped in both
	 * the firmware's tables and ours. */
	loader_enter_core(l.cr3, l.core_entry, (u64)(uintptr_t)l.info);
}
