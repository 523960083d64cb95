/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The Linux/x86 boot protocol for hvm partitions (see linux_boot.h for the
 * guest-physical layout).  References are to Documentation/x86/boot.rst:
 * "The Real-Mode Kernel Header" (the setup header fields and their offsets),
 * "Details of Header Fields", "Loading The Rest of The Kernel", "64-bit BOOT
 * PROTOCOL"; and Documentation/x86/zero-page.rst for the other fields of
 * struct boot_params.  Fields are read and written through byte offsets,
 * little-endian, because the image and RAM need not be aligned.
 */
#include "kernel/hvm/linux_boot.h"
#include "kernel/errno.h"
#include "kernel/lib/string.h"
#include "kernel/lib/bytes.h"

/* Setup header fields: offsets in the image and in boot_params alike. */
#define HDR_SETUP_SECTS 0x1f1	   /* u8, 0 means 4 */
#define HDR_SYSSIZE 0x1f4	   /* u32, 16-byte paragraphs (2.04+) */
#define HDR_BOOT_FLAG 0x1fe	   /* u16, 0xaa55 */
#define HDR_JUMP 0x200		   /* 2 bytes: jmp short; [0x201] = hdr end - 0x202 */
#define HDR_HEADER 0x202	   /* "HdrS" */
#define HDR_VERSION 0x206	   /* u16 */
#define HDR_TYPE_OF_LOADER 0x210   /* u8 */
#define HDR_LOADFLAGS 0x211	   /* u8 */
#define HDR_RAMDISK_IMAGE 0x218	   /* u32 */
#define HDR_RAMDISK_SIZE 0x21c	   /* u32 */
#define HDR_HEAP_END_PTR 0x224	   /* u16 */
#define HDR_CMD_LINE_PTR 0x228	   /* u32 */
#define HDR_INITRD_ADDR_MAX 0x22c  /* u32 */
#define HDR_KERNEL_ALIGNMENT 0x230 /* u32 */
#define HDR_RELOCATABLE 0x234	   /* u8 */
#define HDR_XLOADFLAGS 0x236	   /* u16 */
#define HDR_CMDLINE_SIZE 0x238	   /* u32 */
#define HDR_PREF_ADDRESS 0x258	   /* u64 */
#define HDR_INIT_SIZE 0x260	   /* u32 */
#define HDR_END_MAX 0x290	   /* boot_params: the header ends before edd_mbr_sig_buffer */

/* Other boot_params fields (zero-page.rst). */
#define BP_ACPI_RSDP_ADDR 0x070	   /* u64 */
#define BP_EXT_RAMDISK_IMAGE 0x0c0 /* u32 */
#define BP_EXT_RAMDISK_SIZE 0x0c4  /* u32 */
#define BP_EXT_CMD_LINE_PTR 0x0c8  /* u32 */
#define BP_E820_ENTRIES 0x1e8	   /* u8 */
#define BP_E820_TABLE 0x2d0	   /* struct boot_e820_entry[128], 20 bytes each */
#define BP_SIZE 0x1000

#define LOADFLAGS_LOADED_HIGH (1u << 0)
#define LOADFLAGS_CAN_USE_HEAP (1u << 7)
#define XLF_KERNEL_64 (1u << 0)
#define XLF_CAN_BE_LOADED_ABOVE_4G (1u << 1)
#define TYPE_OF_LOADER_UNDEFINED 0xff /* "no assigned ID" */
#define PROTOCOL_MIN 0x020c	      /* 2.12: xloadflags, 64-bit entry */
#define STARTUP_64_OFFSET 0x200	      /* "64-bit BOOT PROTOCOL" */
#define HEAP_END 0xde00		      /* "heap_end_ptr": offset - 0x200 */

/* PTE_* bits: arch/x86/pagetable.h (Intel SDM vol. 3A 4.5, table 4-18). */

bool linux_boot_is_bzimage(const void *image, u64 size)
{
	return size >= HDR_HEADER + 4 && !memcmp((const u8 *)image + HDR_HEADER, "HdrS", 4);
}

int hvm_boot_check_ram(u64 ram_size, const char **why)
{
	if (ram_size < HVM_BOOT_RAM_MIN) {
		*why = "the partition has less than 4 MiB of RAM";
		return -E_INVAL;
	}
	if (ram_size > HVM_BOOT_RAM_MAX) {
		*why = "the partition has more than 16 GiB of RAM (boot page tables)";
		return -E_INVAL;
	}
	if (ram_size & (PAGE_SIZE - 1)) {
		*why = "the partition's RAM is not a whole number of pages";
		return -E_INVAL;
	}
	return 0;
}

unsigned hvm_boot_memory_map(u64 ram_size, struct hvm_mem_range r[HVM_MEM_RANGES_MAX])
{
	unsigned n = 0;

	r[n++] = (struct hvm_mem_range){ 0, HVM_BOOT_LOW_RAM_END, HVM_MEM_RAM };
	r[n++] = (struct hvm_mem_range){ HVM_BOOT_LOW_RAM_END,
					 HVM_BOOT_HIGH_RAM - HVM_BOOT_LOW_RAM_END,
					 HVM_MEM_RESERVED };
	/* RAM behind the device windows is hidden; what lies beyond 4 GiB is
	 * reported there (the second-level tables map it the same way).  The
	 * ECAM window is reserved, as firmware does, so that an OS trusts
	 * the MCFG table (Linux checks it against the e820 map). */
	r[n++] = (struct hvm_mem_range){ HVM_BOOT_HIGH_RAM,
					 MIN(ram_size, HVM_BOOT_MMIO_HOLE) - HVM_BOOT_HIGH_RAM,
					 HVM_MEM_RAM };
	r[n++] = (struct hvm_mem_range){ HVM_BOOT_ECAM_BASE, HVM_BOOT_ECAM_SIZE, HVM_MEM_RESERVED };
	if (ram_size > GiB(4))
		r[n++] = (struct hvm_mem_range){ GiB(4), ram_size - GiB(4), HVM_MEM_RAM };
	return n;
}

void hvm_boot_write_gdt(u8 *ram, bool long_mode, struct hvm_boot *out)
{
	/* Flat descriptors, base 0, limit 0xfffff with G: Intel SDM vol. 3A
	 * 3.4.5 "Segment Descriptors".  Code: type 0xa (execute/read), S, P,
	 * and L (64-bit) or D (32-bit); data: type 0x2 (read/write), D/B. */
	const u64 code64 = 0x00af9a000000ffffull;
	const u64 code32 = 0x00cf9a000000ffffull;
	const u64 data = 0x00cf92000000ffffull;
	u8 *gdt = ram + HVM_BOOT_GDT_GPA;

	memset(gdt, 0, 4 * 8);
	wr64(gdt, HVM_BOOT_CS, long_mode ? code64 : code32);
	wr64(gdt, HVM_BOOT_DS, data);
	out->gdt_base = HVM_BOOT_GDT_GPA;
	out->gdt_limit = 4 * 8 - 1;
	out->cs = HVM_BOOT_CS;
	out->ds = HVM_BOOT_DS;
}

/* Identity map of [0, max(4 GiB, RAM)) in 2 MiB pages; pages above RAM (the
 * APIC windows) uncached.  Returns the PML4's address. */
static u64 write_page_tables(u8 *ram, u64 ram_size)
{
	u64 top = ALIGN_UP(MAX(ram_size, GiB(4)), GiB(1));
	u64 gib_count = top / GiB(1);

	memset(ram + HVM_BOOT_PML4_GPA, 0, 2 * PAGE_SIZE + gib_count * PAGE_SIZE);
	wr64(ram + HVM_BOOT_PML4_GPA, 0, HVM_BOOT_PDPT_GPA | PTE_P | PTE_W);
	for (u64 g = 0; g < gib_count; g++) {
		u64 pd = HVM_BOOT_PD_GPA + g * PAGE_SIZE;
		wr64(ram + HVM_BOOT_PDPT_GPA, g * 8, pd | PTE_P | PTE_W);
		for (u64 i = 0; i < 512; i++) {
			u64 addr = g * GiB(1) + i * LARGE_PAGE_SIZE;
			u64 flags = PTE_P | PTE_W | PTE_PS;
			if (addr >= ram_size || (addr >= HVM_BOOT_MMIO_HOLE && addr < GiB(4)))
				flags |= PTE_PCD | PTE_PWT;
			wr64(ram + pd, i * 8, addr | flags);
		}
	}
	return HVM_BOOT_PML4_GPA;
}

/* Where the protected-mode kernel goes ("Details of Header Fields":
 * pref_address, relocatable_kernel, kernel_alignment).  Returns 0 when it
 * cannot be placed. */
static u64 kernel_address(u64 ram_size, u64 pref, bool relocatable, u64 align, u64 init_size)
{
	u64 limit = MIN(ram_size, HVM_BOOT_MMIO_HOLE);

	if (pref >= HVM_BOOT_HIGH_RAM && pref <= limit && init_size <= limit - pref)
		return pref;
	if (!relocatable)
		return 0;
	u64 at = ALIGN_UP(HVM_BOOT_HIGH_RAM, align);
	if (at <= limit && init_size <= limit - at)
		return at;
	return 0;
}

int linux_boot_load(u8 *ram, u64 ram_size, const void *bzimage, u64 size, const void *initrd,
		    u64 initrd_size, const char *cmdline, u64 rsdp_gpa, struct hvm_boot *out,
		    const char **why)
{
	const u8 *img = bzimage;
	struct hvm_mem_range map[HVM_MEM_RANGES_MAX];
	u64 setup_size, kernel_size, load, init_size, align, cmdline_len = 0, initrd_at = 0;
	u64 hdr_end;
	u16 version, xloadflags;
	int err;

	/* ---- Validate: nothing is written before every check has passed. */
	err = hvm_boot_check_ram(ram_size, why);
	if (err)
		return err;
	if (!linux_boot_is_bzimage(img, size) || size < HDR_END_MAX ||
	    rd16(img, HDR_BOOT_FLAG) != 0xaa55) {
		*why = "not a bzImage (no \"HdrS\" setup header with boot flag 0xaa55)";
		return -E_INVAL;
	}
	version = rd16(img, HDR_VERSION);
	if (version < PROTOCOL_MIN) {
		*why = "boot protocol older than 2.12 (no 64-bit entry point)";
		return -E_INVAL;
	}
	xloadflags = rd16(img, HDR_XLOADFLAGS);
	if (!(xloadflags & XLF_KERNEL_64)) {
		*why = "the kernel has no 64-bit entry point (XLF_KERNEL_64 clear)";
		return -E_INVAL;
	}
	if (!(rd8(img, HDR_LOADFLAGS) & LOADFLAGS_LOADED_HIGH)) {
		*why = "a zImage (LOADED_HIGH clear), not a bzImage";
		return -E_INVAL;
	}
	/* "64-bit BOOT PROTOCOL": the setup header ends at 0x202 + [0x201]. */
	hdr_end = HDR_HEADER + rd8(img, HDR_JUMP + 1);
	if (hdr_end > HDR_END_MAX || hdr_end < HDR_INIT_SIZE + 4) {
		*why = "setup header length out of range";
		return -E_INVAL;
	}
	/* "Loading The Rest of The Kernel": the protected-mode kernel starts
	 * at (setup_sects + 1) * 512; setup_sects 0 means 4. */
	setup_size = ((u64)(rd8(img, HDR_SETUP_SECTS) ? rd8(img, HDR_SETUP_SECTS) : 4) + 1) * 512;
	if (setup_size >= size) {
		*why = "setup_sects points past the end of the file";
		return -E_INVAL;
	}
	kernel_size = size - setup_size;
	/* syssize counts 16-byte paragraphs; the last may be partial. */
	if (rd32(img, HDR_SYSSIZE) == 0 ||
	    (u64)rd32(img, HDR_SYSSIZE) * 16 > ALIGN_UP(kernel_size, 16)) {
		*why = "syssize does not match the file (truncated bzImage?)";
		return -E_INVAL;
	}
	init_size = rd32(img, HDR_INIT_SIZE);
	if (init_size < kernel_size) {
		*why = "init_size is smaller than the kernel itself";
		return -E_INVAL;
	}
	align = rd32(img, HDR_KERNEL_ALIGNMENT);
	if (rd8(img, HDR_RELOCATABLE) &&
	    (align < PAGE_SIZE || (align & (align - 1)) || align > GiB(1))) {
		*why = "kernel_alignment is not a power of two between 4 KiB and 1 GiB";
		return -E_INVAL;
	}
	load = kernel_address(ram_size, rd64(img, HDR_PREF_ADDRESS), rd8(img, HDR_RELOCATABLE),
			      align, init_size);
	if (!load) {
		*why = "the kernel and its init_size do not fit in the partition's RAM";
		return -E_INVAL;
	}
	if (cmdline) {
		u64 max = MIN((u64)rd32(img, HDR_CMDLINE_SIZE), HVM_BOOT_CMDLINE_MAX);
		cmdline_len = strnlen(cmdline, max + 1);
		if (cmdline_len > max) {
			*why = "command line longer than the kernel's cmdline_size";
			return -E_INVAL;
		}
	}
	if (initrd_size) {
		/* "initrd_addr_max": the highest address the initrd may
		 * occupy; above 4 GiB only with XLF_CAN_BE_LOADED_ABOVE_4G. */
		u64 top = MIN(ram_size, (u64)rd32(img, HDR_INITRD_ADDR_MAX) + 1);
		if (xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G)
			top = ram_size;
		if (top > HVM_BOOT_MMIO_HOLE && ram_size > HVM_BOOT_MMIO_HOLE && top <= GiB(4))
			top = HVM_BOOT_MMIO_HOLE;
		if (!initrd || initrd_size > top) {
			*why = "the initrd does not fit below initrd_addr_max";
			return -E_INVAL;
		}
		initrd_at = ALIGN_DOWN(top - initrd_size, PAGE_SIZE);
		/* Above the kernel's init_size, or else wholly below it. */
		if (initrd_at < load + init_size &&
		    (initrd_at < HVM_BOOT_HIGH_RAM || initrd_at + initrd_size > load)) {
			*why = "the initrd does not fit in RAM beside the kernel";
			return -E_INVAL;
		}
		if (initrd_at + initrd_size > GiB(4) &&
		    !(xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G)) {
			*why = "the initrd would lie above 4 GiB";
			return -E_INVAL;
		}
	}

	/* ---- Act. */
	memcpy(ram + load, img + setup_size, kernel_size);

	/* The zero page: all zero, then the setup header from the image
	 * ("64-bit BOOT PROTOCOL"), then the loader's fields. */
	u8 *bp = ram + HVM_BOOT_INFO_GPA;
	memset(bp, 0, BP_SIZE);
	memcpy(bp + HDR_SETUP_SECTS, img + HDR_SETUP_SECTS, hdr_end - HDR_SETUP_SECTS);
	wr8(bp, HDR_TYPE_OF_LOADER, TYPE_OF_LOADER_UNDEFINED);
	wr8(bp, HDR_LOADFLAGS, rd8(bp, HDR_LOADFLAGS) | LOADFLAGS_CAN_USE_HEAP);
	wr16(bp, HDR_HEAP_END_PTR, HEAP_END);
	/* code32_start is not used by the 64-bit entry; the kernel finds its
	 * own address from RIP (it is relocatable, or at pref_address). */

	memset(ram + HVM_BOOT_CMDLINE_GPA, 0, HVM_BOOT_CMDLINE_MAX + 1);
	if (cmdline_len)
		memcpy(ram + HVM_BOOT_CMDLINE_GPA, cmdline, cmdline_len);
	wr32(bp, HDR_CMD_LINE_PTR, (u32)HVM_BOOT_CMDLINE_GPA);
	wr32(bp, BP_EXT_CMD_LINE_PTR, (u32)(HVM_BOOT_CMDLINE_GPA >> 32));

	if (initrd_size) {
		memcpy(ram + initrd_at, initrd, initrd_size);
		wr32(bp, HDR_RAMDISK_IMAGE, (u32)initrd_at);
		wr32(bp, HDR_RAMDISK_SIZE, (u32)initrd_size);
		wr32(bp, BP_EXT_RAMDISK_IMAGE, (u32)(initrd_at >> 32));
		wr32(bp, BP_EXT_RAMDISK_SIZE, (u32)(initrd_size >> 32));
	}

	unsigned n = hvm_boot_memory_map(ram_size, map);
	for (unsigned i = 0; i < n; i++) {
		u64 e = BP_E820_TABLE + (u64)i * 20;
		wr64(bp, e, map[i].base);
		wr64(bp, e + 8, map[i].length);
		wr32(bp, e + 16, map[i].type);
	}
	wr8(bp, BP_E820_ENTRIES, (u8)n);
	wr64(bp, BP_ACPI_RSDP_ADDR, rsdp_gpa);

	/* "64-bit BOOT PROTOCOL": 64-bit mode, paging on, identity mapped
	 * kernel/zero page/command line, __BOOT_CS/__BOOT_DS flat, interrupts
	 * off, %rsi = boot_params; entry at the load address + 0x200. */
	memset(out, 0, sizeof(*out));
	out->mode = VCPU_MODE_LONG;
	hvm_boot_write_gdt(ram, true, out);
	out->cr3 = write_page_tables(ram, ram_size);
	out->rip = load + STARTUP_64_OFFSET;
	out->rsi = HVM_BOOT_INFO_GPA;
	out->rsp = HVM_BOOT_STACK_TOP;
	return 0;
}
