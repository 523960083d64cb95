/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unmodified partitions: checking, creating and starting their image (the
 * kind_image hooks of hvm_kind, kernel/kind.h).  The format is recognized
 * from the image: a Linux bzImage (linux_boot.c) or a Multiboot 1/2 kernel
 * (multiboot.c); the ACPI tables are built per partition (acpi_tables.c).
 * These hooks fill the partition's fields and return an error with a
 * reason; partition.c owns the life cycle around them.  A Multiboot
 * kernel's modules (`module =`) are found here and copied by multiboot.c.
 */
#include "arch/x86/clock.h"
#include "arch/x86/cpu.h"
#include "kernel/channel.h"
#include "kernel/errno.h"
#include "kernel/hvm/acpi_tables.h"
#include "kernel/hvm/disk.h"
#include "kernel/hvm/hvm.h"
#include "kernel/hvm/linux_boot.h"
#include "kernel/hvm/multiboot.h"
#include "kernel/hvm/platform.h"
#include "kernel/kind.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/mm.h"
#include "kernel/partition.h"

_Static_assert(CONFIG_MAX_MODULES == MULTIBOOT_MODULES_MAX, "module limits");
_Static_assert(CONFIG_MODULE_ARGS_MAX - 1 == MULTIBOOT_MODULE_STRING_MAX, "module strings");

#define HVM_MIN_MEMORY MiB(4)
#define HVM_MAX_MEMORY GiB(16)

static const void *module_data(const struct boot_module *m)
{
	return phys_to_virt(hpa(m->phys));
}

static int image_format(const struct boot_module *m)
{
	const u8 *b = module_data(m);

	/* Linux boot protocol: "HdrS" at 0x202 (Documentation/x86/boot.rst). */
	if (m->size > 0x206 && !memcmp(b + 0x202, "HdrS", 4))
		return HVM_FORMAT_BZIMAGE;
	if (multiboot_detect(b, m->size))
		return HVM_FORMAT_MULTIBOOT;
	return HVM_FORMAT_NONE;
}

static int hvm_check(struct partition *p, const struct boot_info *bi, struct vcpu_config *vcfg,
		     const char **why)
{
	const struct config_partition *c = p->cfg;

	if (c->memory < HVM_MIN_MEMORY || c->memory > HVM_MAX_MEMORY) {
		*why = "memory must be between 4 MiB and 16 GiB";
		return -E_RANGE;
	}
	if (partition_channel_count(p) || c->device_count) {
		*why = "channels and devices of hvm partitions are not supported yet";
		return -E_NOTSUP;
	}
	p->image = boot_find_module(bi, c->image);
	p->initrd = c->initrd[0] ? boot_find_module(bi, c->initrd) : NULL;
	p->hvm_format = p->image ? image_format(p->image) : HVM_FORMAT_NONE;
	if (p->hvm_format == HVM_FORMAT_NONE) {
		*why = "its image is neither a Linux bzImage nor a Multiboot kernel";
		return -E_INVAL;
	}
	/* The boot refuses these earlier (hvm_boot_check_config), with the
	 * line; a partition made otherwise is refused here. */
	if (p->hvm_format == HVM_FORMAT_MULTIBOOT && c->initrd[0]) {
		*why = "initrd is for Linux kernels: give a Multiboot kernel's files as module";
		return -E_INVAL;
	}
	if (p->hvm_format == HVM_FORMAT_BZIMAGE && c->module_count) {
		*why = "module is for Multiboot kernels: give a Linux kernel's ramdisk as initrd";
		return -E_INVAL;
	}
	if (c->module_count > CONFIG_MAX_MODULES) {
		*why = "too many modules";
		return -E_INVAL;
	}
	for (unsigned i = 0; i < c->module_count; i++) {
		p->modules[i] = boot_find_module(bi, c->modules[i].file);
		if (!p->modules[i]) {
			*why = "a module's file was not loaded";
			return -E_INVAL;
		}
	}
	p->ram_size = c->memory;
	p->map_end = p->ram_size;
	int err = hvm_disk_check(p, bi, why);
	if (err)
		return err;
	vcfg->mode = p->hvm_format == HVM_FORMAT_BZIMAGE ? VCPU_MODE_LONG : VCPU_MODE_PROT32;
	vcfg->hvm = true;
	return 0;
}

static int hvm_create(struct partition *p, const char **why)
{
	hpa_t pa;
	int err;

	if ((err = page_alloc(ALIGN_UP(sizeof(struct hvm), PAGE_SIZE) >> PAGE_SHIFT, 1, &pa))) {
		*why = "no memory for its platform";
		return err;
	}
	p->hvm = phys_to_virt(pa);
	if ((err = hvm_disk_create(p, why))) {
		page_free(pa, ALIGN_UP(sizeof(struct hvm), PAGE_SIZE) >> PAGE_SHIFT);
		p->hvm = NULL;
		return err;
	}
	/* RAM, except behind the device windows below 4 GiB (linux_boot.h):
	 * accesses there must exit to the devices. */
	err = slat_map(&p->slat, gpa(0), p->ram, MIN(p->ram_size, HVM_BOOT_MMIO_HOLE), SLAT_RWX);
	if (!err && p->ram_size > GiB(4))
		err = slat_map(&p->slat, gpa(GiB(4)), hpa(p->ram.v + GiB(4)), p->ram_size - GiB(4),
			       SLAT_RWX);
	if (err) {
		hvm_disk_destroy(p);
		page_free(pa, ALIGN_UP(sizeof(struct hvm), PAGE_SIZE) >> PAGE_SHIFT);
		p->hvm = NULL;
		*why = "cannot map its memory";
		return err;
	}
	return 0;
}

static void hvm_destroy(struct partition *p)
{
	hvm_disk_destroy(p);
	if (p->hvm)
		page_free(virt_to_phys(p->hvm),
			  ALIGN_UP(sizeof(struct hvm), PAGE_SIZE) >> PAGE_SHIFT);
	p->hvm = NULL;
}

static int hvm_start(struct partition *p, const struct kind_start *ks, const char **why)
{
	const struct config_partition *c = p->cfg;
	u8 *ram = phys_to_virt(p->ram);
	struct hvm_boot boot;
	u64 rsdp = 0;
	int err;

	(void)ks;
	*why = "its ACPI tables do not fit";
	err = acpi_tables_build(ram, p->ram_size, HVM_ACPI_GPA, HVM_ACPI_ROOM, 1, &rsdp, why);
	/* One fact of this platform Linux cannot find out well by itself:
	 * the TSC's rate (it would measure it against the PIT through
	 * thousands of port exits in a few milliseconds).  The I/O APIC is in
	 * the MADT, so Linux routes the PIT and the UART through it. */
	static char cmdline[CONFIG_CMDLINE_MAX + 48];
	snprintf(cmdline, sizeof(cmdline), "%s tsc_early_khz=%llu", c->cmdline,
		 (unsigned long long)(clock_tsc_hz() / 1000));
	if (!err && p->hvm_format == HVM_FORMAT_BZIMAGE)
		err = linux_boot_load(ram, p->ram_size, module_data(p->image), p->image->size,
				      p->initrd ? module_data(p->initrd) : NULL,
				      p->initrd ? p->initrd->size : 0, cmdline, rsdp, &boot, why);
	else if (!err) {
		struct multiboot_module mods[MULTIBOOT_MODULES_MAX];
		for (unsigned i = 0; i < c->module_count; i++)
			mods[i] = (struct multiboot_module){ module_data(p->modules[i]),
							     p->modules[i]->size,
							     c->modules[i].args };
		err = multiboot_load(ram, p->ram_size, module_data(p->image), p->image->size,
				     c->cmdline, mods, c->module_count, rsdp, &boot, why);
	}
	if (err)
		return err;
	struct hvm_setup setup = {
		.name = c->name,
		.console = &p->console,
		.tsc_hz = clock_tsc_hz(),
		.tsc_at_zero = rdtsc() - clock_ns_to_tsc(clock_now_ns()),
		.wall_epoch = 0,
		.ram = ram,
		.ram_size = p->ram_size,
	};
	hvm_reset(p->hvm, &setup);
	if ((err = hvm_disk_start(p, why)))
		return err;
	p->vcpu.boot_segments =
		(struct vcpu_boot_segments){ boot.gdt_base, boot.gdt_limit, boot.cs, boot.ds };
	virt->vcpu_reset(&p->vcpu, boot.mode);
	p->vcpu.regs.rip = boot.rip;
	p->vcpu.regs.rsp = boot.rsp;
	p->vcpu.regs.rax = boot.rax;
	p->vcpu.regs.rbx = boot.rbx;
	p->vcpu.regs.rsi = boot.rsi;
	if (boot.mode == VCPU_MODE_LONG)
		p->vcpu.regs.cr3 = boot.cr3;
	p->msrs.efer = p->vcpu.regs.efer;
	return 0;
}

static u64 hvm_start_bytes(const struct partition *p)
{
	u64 bytes = (p->image ? p->image->size : 0) + (p->initrd ? p->initrd->size : 0);

	for (unsigned i = 0; i < p->cfg->module_count; i++)
		bytes += p->modules[i] ? p->modules[i]->size : 0;
	return bytes;
}

int hvm_boot_check_config(const struct config_partition *c, const struct boot_info *bi,
			  struct config_error *err)
{
	const struct boot_module *image = boot_find_module(bi, c->image);
	int format = image ? image_format(image) : HVM_FORMAT_NONE;

	if (c->kind != PARTITION_HVM)
		return 0;
	if (format == HVM_FORMAT_MULTIBOOT && c->initrd[0]) {
		err->line = c->initrd_line;
		snprintf(err->reason, sizeof(err->reason),
			 "initrd is for Linux kernels, and the image of [partition %s] is a "
			 "Multiboot kernel: give its files as module = FILE [ARGS]",
			 c->name);
		return -E_INVAL;
	}
	if (format == HVM_FORMAT_BZIMAGE && c->module_count) {
		err->line = c->modules[0].line;
		snprintf(err->reason, sizeof(err->reason),
			 "module is for Multiboot kernels, and the image of [partition %s] is a "
			 "Linux bzImage: give its ramdisk as initrd",
			 c->name);
		return -E_INVAL;
	}
	return 0;
}

const struct kind_image hvm_image = {
	.check = hvm_check,
	.create = hvm_create,
	.destroy = hvm_destroy,
	.start = hvm_start,
	.start_bytes = hvm_start_bytes,
};
