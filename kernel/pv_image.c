/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Paravirtual partitions: checking, creating and starting their image (see
 * pv_image.h for the guest-physical layout).  These hooks fill the
 * partition's fields and return an error with a reason; partition.c owns
 * the life cycle around them.
 */
#include "kernel/pv_image.h"
#include "arch/x86/clock.h"
#include "arch/x86/pagetable.h"
#include "drivers/pci.h"
#include "kernel/channel.h"
#include "kernel/devirq.h"
#include "kernel/errno.h"
#include "kernel/guest_mem.h"
#include "kernel/image.h"
#include "kernel/lib/string.h"
#include "kernel/mm.h"
#include "kernel/partition.h"

static int pv_check(struct partition *p, const struct boot_info *bi, struct vcpu_config *vcfg,
		    const char **why)
{
	const struct config_partition *c = p->cfg;

	if (c->memory < PV_MIN_MEMORY || c->memory > PV_MAX_MEMORY) {
		*why = "memory must be between 2 MiB and 16 GiB";
		return -E_RANGE;
	}
	p->ram_size = c->memory;
	p->map_end = p->ram_size;
	p->image = boot_find_module(bi, c->image);
	if (!p->image) {
		*why = "its image was not loaded";
		return -E_NOENT;
	}
	int err = guest_elf_check(phys_to_virt(hpa(p->image->phys)), p->image->size, PV_IMAGE_BASE,
				  p->ram_size - PV_STACK_SIZE, &p->entry, &p->image_end, why);
	if (err)
		return err;
	/* An instance: its image's pages come from the shared copy. */
	if ((err = image_plan(p, p->image, why)))
		return err;
	vcfg->mode = VCPU_MODE_LONG;
	vcfg->hvm = false;
	return 0;
}

static int pv_create(struct partition *p, const char **why)
{
	int err;

	if ((err = page_alloc(1, 1, &p->start_info))) {
		*why = "no page for its start-info";
		return err;
	}
	if ((err = slat_map(&p->slat, gpa(PV_START_INFO_GPA), p->start_info, PAGE_SIZE, SLAT_R)) ||
	    (p->cfg->shared_image ?
		     (err = image_attach(p, why)) :
		     (err = slat_map(&p->slat, gpa(PV_RAM_START), hpa(p->ram.v + PV_RAM_START),
				     p->ram_size - PV_RAM_START, SLAT_RWX)))) {
		if (!p->cfg->shared_image)
			*why = "cannot map its memory";
		page_free(p->start_info, 1);
		p->start_info.v = 0;
		return err;
	}
	return 0;
}

static void pv_destroy(struct partition *p)
{
	image_detach(p);
	if (p->start_info.v)
		page_free(p->start_info, 1);
	p->start_info.v = 0;
}

static void copy_segment(void *ctx, u64 paddr, const void *data, u64 filesz, u64 memsz)
{
	struct partition *p = ctx;

	(void)memsz; /* the rest of the segment (bss) is already zero */
	memcpy(partition_gpa_ptr(p, paddr), data, filesz);
}

/* The guest's page tables are built in its own RAM, from PV_PAGE_TABLE_GPA
 * up to the image, with the same builder as the core's tables: a bump
 * allocator hands out the pages. */
struct guest_pt_area {
	struct partition *p;
	u64 next; /* gpa of the next free table page */
};

static void *guest_pt_alloc(void *ctx, u64 *phys)
{
	struct guest_pt_area *a = ctx;

	if (a->next >= PV_IMAGE_BASE)
		return NULL;
	*phys = a->next;
	a->next += PAGE_SIZE;
	return memset(partition_gpa_ptr(a->p, *phys), 0, PAGE_SIZE);
}

static void *guest_pt_virt(void *ctx, u64 phys)
{
	struct guest_pt_area *a = ctx;

	return partition_gpa_ptr(a->p, phys);
}

/* Identity map of RAM and channels (2 MiB pages) and of the memory BARs of
 * its devices (uncached), wherever the firmware put them. */
static int build_guest_page_tables(struct partition *p)
{
	struct guest_pt_area area = { p, PV_PAGE_TABLE_GPA };
	const struct pt_ops ops = { guest_pt_alloc, guest_pt_virt, NULL, &area };
	struct pagetable pt;
	int err;

	if ((err = pt_init(&pt, &pt_format_x86, &ops)) ||
	    (err = pt_map(&pt, 0, 0, ALIGN_UP(p->map_end, LARGE_PAGE_SIZE), PTE_P | PTE_W, true)))
		return err;
	for (unsigned d = 0; d < p->device_count; d++) {
		for (unsigned b = 0; b < 6; b++) {
			const struct pci_bar *bar = &p->devices[d]->bars[b];
			if (bar->kind != PCI_BAR_MEM32 && bar->kind != PCI_BAR_MEM64)
				continue;
			u64 start = ALIGN_DOWN(bar->base, LARGE_PAGE_SIZE);
			u64 end = ALIGN_UP(bar->base + bar->size, LARGE_PAGE_SIZE);
			for (u64 a = start; a < end; a += LARGE_PAGE_SIZE) {
				err = pt_map(&pt, a, a, LARGE_PAGE_SIZE,
					     PTE_P | PTE_W | PTE_PCD | PTE_PWT, true);
				if (err && err != -E_EXIST) /* two BARs in one 2 MiB page */
					return err;
			}
		}
	}
	return 0;
}

static void fill_start_info(struct partition *p, const struct kind_start *ks)
{
	struct partita_start_info *si = phys_to_virt(p->start_info);
	const struct config_partition *c = p->cfg;

	memset(si, 0, PAGE_SIZE);
	si->magic = PARTITA_START_MAGIC;
	si->abi_version = PARTITA_ABI_VERSION;
	si->partition_id = p->id;
	si->flags = PARTITA_FEATURE_CHANNELS |
		    (c->caps & CAP_CONTROL ? PARTITA_FEATURE_CONTROL : 0);
	strlcpy(si->name, c->name, sizeof(si->name));
	si->mem_base = 0;
	si->mem_size = p->ram_size;
	si->image_end = p->image_end;
	si->stack_top = p->ram_size;
	si->tsc_hz = clock_tsc_hz();
	si->boot_count = p->boot_count;
	si->frame_ns = ks->frame_ns;
	si->epoch_ns = ks->epoch_ns;
	si->channel_count = partition_channel_count(p);
	for (unsigned k = 0; k < si->channel_count; k++) {
		unsigned side = 0;
		const struct channel *ch = partition_channel(p, k, &side);
		struct partita_channel_info *ci = &si->channels[k];
		strlcpy(ci->name, ch->cfg->name, sizeof(ci->name));
		ci->gpa = ch->gpa[side].v;
		ci->size = ch->size;
		ci->peer = ch->ends[!side]->id;
		ci->side = side;
	}
	strlcpy(si->cmdline, c->cmdline, sizeof(si->cmdline));
	si->dma_offset = ks->dma_offset;
	si->device_count = p->device_count;
	for (unsigned d = 0; d < p->device_count; d++) {
		const struct pci_device *dev = p->devices[d];
		struct partita_device_info *di = &si->devices[d];
		di->bus = dev->bus;
		di->dev = dev->dev;
		di->fn = dev->fn;
		di->irq = (uint8_t)devirq_device_irq(dev);
		di->vendor_id = dev->vendor_id;
		di->device_id = dev->device_id;
		di->class_code = dev->class_code;
		for (unsigned b = 0; b < 6; b++) {
			di->bars[b].gpa = dev->bars[b].kind == PCI_BAR_IO ? 0 : dev->bars[b].base;
			di->bars[b].size = dev->bars[b].size;
			di->bars[b].kind = dev->bars[b].kind;
		}
	}
	si->window_count = c->window_count;
	for (unsigned w = 0; w < c->window_count && w < PARTITA_MAX_WINDOWS; w++) {
		si->windows[w].offset_ns = c->windows[w].offset_ns;
		si->windows[w].length_ns = c->windows[w].length_ns;
	}
}

static int pv_start(struct partition *p, const struct kind_start *ks, const char **why)
{
	/* An instance's image is the shared copy; a restart drops the copies
	 * its last boot made (its private RAM was cleared like any RAM). */
	if (p->layer.image)
		image_layer_drop(p);
	else
		guest_elf_segments(phys_to_virt(hpa(p->image->phys)), copy_segment, p);
	if (build_guest_page_tables(p)) {
		*why = "its page tables do not fit below its image (too many devices or too much memory)";
		return -E_NOMEM;
	}
	fill_start_info(p, ks);
	virt->vcpu_reset(&p->vcpu, VCPU_MODE_LONG);
	p->vcpu.regs.rip = p->entry;
	p->vcpu.regs.rsp = p->ram_size;
	p->vcpu.regs.rdi = PV_START_INFO_GPA;
	p->vcpu.regs.cr3 = PV_PAGE_TABLE_GPA;
	return 0;
}

static u64 pv_start_bytes(const struct partition *p)
{
	if (p->layer.image)
		return p->layer.used * PAGE_SIZE; /* the copies it drops */
	return p->image ? p->image->size : 0;
}

const struct kind_image pv_image = {
	.check = pv_check,
	.create = pv_create,
	.destroy = pv_destroy,
	.start = pv_start,
	.start_bytes = pv_start_bytes,
};
