/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The vendor-neutral half of the IOMMU (see iommu.h): picks the vendor
 * driver from the ACPI tables, keeps the domains and which device is
 * attached to which, decides what the firmware says is covered, and builds
 * the I/O page tables, whose entry format each vendor gives.
 *
 * I/O page tables: levels L..1 of 512 entries, 9 address bits each above
 * the 4 KiB offset (AMD-Vi and VT-d second-level tables both index this
 * way); a level-1 entry maps 4 KiB, a level-2 leaf 2 MiB.  Tables are only
 * added, never taken apart: a domain lives as long as its partition and is
 * freed whole.
 *
 * Lock rule: all of this runs on CPU 0 (boot, partition start and stop,
 * the scheduler's fault poll); nothing here is shared with another CPU.
 */
#include "drivers/iommu.h"
#include "drivers/acpi.h"
#include "drivers/pci.h"
#include "kernel/errno.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/mm.h"

#define IOMMU_MAX_DOMAINS 17 /* one per partition, and a spare */
#define IOMMU_MAX_ATTACHED 64
#define ENTRY_ADDR 0x000ffffffffff000ULL

static const struct iommu_ops *ops;
static const struct acpi_iommu *unit;  /* the IOMMU in use */
static const struct acpi_info *tables; /* for the other units' scopes */
static struct iommu_domain domains[IOMMU_MAX_DOMAINS];
static struct {
	u16 bdf;
	struct iommu_domain *domain;
} attached[IOMMU_MAX_ATTACHED];
static unsigned attached_count;

void *iommu_alloc_pages(u64 count, u64 *phys)
{
	hpa_t pa;

	if (page_alloc(count, 1, &pa))
		return NULL;
	*phys = pa.v;
	return phys_to_virt(pa);
}

void iommu_write_entry(const struct iommu_pt_format *f, volatile u64 *slot, u64 value)
{
	*slot = value;
	/* An IOMMU that does not snoop the caches reads its tables from
	 * memory: push the line out (VT-d spec §6.5.2, ECAP.C = 0). */
	if (f->flush_writes)
		asm volatile("clflush %0" : "+m"(*(volatile u8 *)slot)::"memory");
}

const char *iommu_name(void)
{
	return ops ? ops->name : NULL;
}

static bool in_scope(const struct acpi_iommu *u, u16 bdf, bool *aliased)
{
	for (u32 i = 0; i < u->scope_count; i++) {
		const struct acpi_iommu_scope *s = &u->scopes[i];
		if (s->bridge) {
			/* A bridge covers the buses behind it: its secondary
			 * through its subordinate bus (PCI-to-PCI Bridge
			 * Architecture Spec 1.2 §3.2.5.3-5). */
			const struct pci_device *b = pci_find_bdf((u8)(s->first >> 8),
								  (s->first >> 3) & 31,
								  s->first & 7);
			if (b && (pci_read(b, 0x19, 1) <= bdf >> 8) &&
			    (bdf >> 8) <= pci_read(b, 0x1a, 1))
				return true;
		}
		if (s->first <= bdf && bdf <= s->last) {
			*aliased = s->aliased && s->alias != bdf;
			return true;
		}
	}
	return false;
}

bool iommu_covers(u16 bdf)
{
	bool aliased = false;

	if (!ops)
		return false;
	if (unit->devid == bdf && unit->kind == ACPI_IOMMU_AMD)
		return false; /* the IOMMU itself */
	if (in_scope(unit, bdf, &aliased))
		return !aliased;
	if (!unit->include_all)
		return false;
	/* Intel's INCLUDE_PCI_ALL: every device no other unit lists. */
	for (u32 i = 0; i < tables->iommu_count; i++)
		if (&tables->iommus[i] != unit && in_scope(&tables->iommus[i], bdf, &aliased))
			return false;
	return true;
}

int iommu_init(const struct acpi_info *acpi)
{
	const struct acpi_iommu *u = NULL;
	int err;

	for (u32 i = 0; i < acpi->iommu_count && !u; i++)
		u = &acpi->iommus[i];
	if (!u) {
		log_line(
			"iommu: none in the ACPI tables (no IVRS or DMAR): device DMA is not isolated");
		return -E_NOENT;
	}
	if (acpi->iommu_count > 1)
		log_line("iommu: %u units; only the first is used, devices behind the others are not isolated",
			 acpi->iommu_count);
	const struct iommu_ops *o = u->kind == ACPI_IOMMU_AMD ? &amd_iommu_ops : &intel_vtd_ops;
	if (u->base == 0 || u->base + PAGE_SIZE > MAX(GiB(4), memory_top())) {
		log_line("iommu: %s registers at %#llx are outside the direct map; not used",
			 o->name, (unsigned long long)u->base);
		return -E_NOTSUP;
	}
	tables = acpi;
	unit = u;
	err = o->init(acpi, u);
	if (err) {
		log_line("iommu: %s at %#llx not usable (%s): device DMA is not isolated", o->name,
			 (unsigned long long)u->base, errno_name(err));
		unit = NULL;
		return err;
	}
	ops = o;
	/* Devices nobody owns stay off the bus as well (PCI Local Bus 3.0
	 * §6.2.2: no DMA without Bus Master Enable); a partition's driver
	 * turns it on for its own devices.  The IOMMU's function is left
	 * alone. */
	for (unsigned i = 0; i < pci_device_count(); i++) {
		const struct pci_device *d = pci_device_at(i);
		u16 bdf = IOMMU_BDF(d->bus, d->dev, d->fn);
		if (u->kind == ACPI_IOMMU_AMD && bdf == u->devid)
			continue;
		if (pci_read(d, 0x04, 2) & 4u)
			pci_write(d, 0x04, 2, pci_read(d, 0x04, 2) & ~4u);
	}
	return 0;
}

int iommu_domain_create(struct iommu_domain **out)
{
	if (!ops)
		return -E_NOENT;
	for (unsigned i = 0; i < IOMMU_MAX_DOMAINS; i++) {
		struct iommu_domain *d = &domains[i];
		if (d->used)
			continue;
		if (i + 1 > ops->max_domain_id())
			return -E_NOSPC;
		u64 phys;
		u64 *root = iommu_alloc_pages(1, &phys);
		if (!root)
			return -E_NOMEM;
		d->levels = ops->levels();
		for (unsigned k = 0; k < 512; k++)
			iommu_write_entry(ops->pt, &root[k], ops->pt->empty_entry(d->levels));
		d->used = true;
		d->id = (u16)(i + 1); /* 0 stays the ID of blocked devices */
		d->root = phys;
		d->table_count = 1;
		*out = d;
		return 0;
	}
	return -E_NOSPC;
}

static unsigned index_at(u64 iova, unsigned level)
{
	return (iova >> (12 + 9 * (level - 1))) & 511;
}

/* One leaf at leaf_level (1: 4 KiB, 2: 2 MiB), creating tables on the way. */
static int map_one(struct iommu_domain *d, u64 iova, u64 pa, unsigned leaf_level, unsigned rights)
{
	const struct iommu_pt_format *f = ops->pt;
	volatile u64 *table = phys_to_virt(hpa(d->root));

	for (unsigned l = d->levels; l > leaf_level; l--) {
		volatile u64 *e = &table[index_at(iova, l)];
		if (!f->present(*e)) {
			u64 phys;
			u64 *t = iommu_alloc_pages(1, &phys);
			if (!t)
				return -E_NOMEM;
			d->table_count++;
			for (unsigned k = 0; k < 512; k++)
				iommu_write_entry(f, &t[k], f->empty_entry(l - 1));
			iommu_write_entry(f, e, f->table_entry(phys, l));
		} else if (f->is_leaf(*e, l)) {
			return -E_EXIST;
		}
		table = phys_to_virt(hpa(*e & ENTRY_ADDR));
	}
	volatile u64 *e = &table[index_at(iova, leaf_level)];
	if (f->present(*e))
		return -E_EXIST;
	iommu_write_entry(f, e, f->leaf_entry(pa, leaf_level, rights));
	return 0;
}

int iommu_map(struct iommu_domain *d, u64 iova, u64 pa, u64 size, unsigned rights)
{
	u64 limit;

	if (!ops || !d || !d->used)
		return -E_NOENT;
	limit = 1ULL << (12 + 9 * d->levels);
	if ((iova | pa | size) & (PAGE_SIZE - 1) || size == 0 || iova + size < iova ||
	    iova + size > limit || !(rights & (IOMMU_READ | IOMMU_WRITE)))
		return -E_INVAL;
	for (u64 off = 0; off < size;) {
		bool large = ops->pt->large_pages && !((iova + off) & (LARGE_PAGE_SIZE - 1)) &&
			     !((pa + off) & (LARGE_PAGE_SIZE - 1)) && size - off >= LARGE_PAGE_SIZE;
		int err = map_one(d, iova + off, pa + off, large ? 2 : 1, rights);
		if (err)
			return err;
		off += large ? LARGE_PAGE_SIZE : PAGE_SIZE;
	}
	return 0;
}

static void free_tables(u64 phys, unsigned level)
{
	const struct iommu_pt_format *f = ops->pt;
	u64 *t = phys_to_virt(hpa(phys));

	if (level > 1)
		for (unsigned k = 0; k < 512; k++)
			if (f->present(t[k]) && !f->is_leaf(t[k], level))
				free_tables(t[k] & ENTRY_ADDR, level - 1);
	page_free(hpa(phys), 1);
}

static int attached_index(u16 bdf)
{
	for (unsigned i = 0; i < attached_count; i++)
		if (attached[i].bdf == bdf)
			return (int)i;
	return -1;
}

void iommu_domain_destroy(struct iommu_domain *d)
{
	if (!ops || !d || !d->used)
		return;
	for (unsigned i = attached_count; i-- > 0;)
		if (attached[i].domain == d)
			iommu_detach(attached[i].bdf);
	free_tables(d->root, d->levels);
	memset(d, 0, sizeof(*d));
}

int iommu_attach(struct iommu_domain *d, u16 bdf)
{
	int i, err;

	if (!ops || !d || !d->used || !iommu_covers(bdf))
		return -E_NOENT;
	i = attached_index(bdf);
	if (i >= 0)
		return attached[i].domain == d ? 0 : -E_BUSY;
	if (attached_count == IOMMU_MAX_ATTACHED)
		return -E_NOSPC;
	err = ops->attach(d, bdf);
	if (err)
		return err;
	attached[attached_count].bdf = bdf;
	attached[attached_count].domain = d;
	attached_count++;
	return 0;
}

void iommu_detach(u16 bdf)
{
	int i;

	if (!ops || (i = attached_index(bdf)) < 0)
		return;
	ops->detach(bdf, attached[i].domain);
	attached[i] = attached[--attached_count];
}

unsigned iommu_poll_faults(struct iommu_fault *out, unsigned max)
{
	return ops && max ? ops->poll_faults(out, max) : 0;
}

int iommu_irq_route(u16 bdf, unsigned index, u8 vector, u32 apic_id, u64 *addr, u32 *data)
{
	if (!ops)
		return -E_NOTSUP;
	if (!iommu_covers(bdf))
		return -E_NOENT;
	return ops->irq_route(bdf, index, vector, apic_id, addr, data);
}

void iommu_irq_unroute(u16 bdf)
{
	if (ops)
		ops->irq_unroute(bdf);
}
