/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * DMA isolation of partitions (see dma.h).  The state here is per
 * partition, indexed by its id, and touched on CPU 0 only (partition life
 * cycle and the scheduler's loop).
 *
 * Which devices an IOMMU isolates: those its ACPI table lists for it
 * (iommu_covers), except a virtio device that does not offer
 * VIRTIO_F_ACCESS_PLATFORM: by the virtio specification (1.1 §6, "Reserved
 * Feature Bits") such a device uses physical addresses untranslated, and
 * QEMU's virtio devices indeed bypass its IOMMU models unless created with
 * iommu_platform=on.
 */
#include "kernel/dma.h"
#include "arch/x86/clock.h"
#include "drivers/iommu.h"
#include "drivers/pci.h"
#include "kernel/channel.h"
#include "kernel/errno.h"
#include "kernel/lib/format.h"
#include "kernel/log.h"
#include "kernel/partition.h"
#include "kernel/pv_image.h"

enum dma_mode {
	DMA_NONE = 0, /* no devices */
	DMA_ISOLATED, /* through its IOMMU domain */
	DMA_TRUSTED,  /* untranslated: a trusted partition */
	DMA_REFUSED,  /* untranslated and not trusted: may not run */
};

static struct {
	enum dma_mode mode;
	struct iommu_domain *domain;
	u32 faults_logged;
} dma[CONFIG_MAX_PARTITIONS];

#define FAULT_LOG_MAX 16 /* fault lines per partition; then only counted */
/* The scheduler's loop may turn once per exit (unmodified guests): the
 * IOMMU's registers are read at most this often. */
#define POLL_INTERVAL_NS 250000ULL

static u16 bdf_of(const struct pci_device *d)
{
	return IOMMU_BDF(d->bus, d->dev, d->fn);
}

/* Virtio PCI configuration access (virtio 1.1 §4.1.4.9): a window in
 * configuration space onto the device's BARs.  Reads the device feature
 * bits 63:32 (device_feature_select = 1, §4.1.4.3) without mapping a BAR. */
#define PCI_CAP_PTR 0x34
#define PCI_CAP_ID_VNDR 0x09
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_PCI_CFG 5
#define VIRTIO_F_ACCESS_PLATFORM_HI (1u << (33 - 32))

static bool virtio_access_platform(const struct pci_device *d)
{
	unsigned common = 0, window = 0, guard = 0;

	if (!(pci_read(d, 0x06, 2) & (1u << 4)))
		return false; /* no capability list: a legacy device */
	for (unsigned cap = pci_read(d, PCI_CAP_PTR, 1) & 0xfc; cap && guard < 48;
	     cap = pci_read(d, cap + 1, 1) & 0xfc, guard++) {
		if (pci_read(d, cap, 1) != PCI_CAP_ID_VNDR)
			continue;
		unsigned type = pci_read(d, cap + 3, 1);
		if (type == VIRTIO_PCI_CAP_COMMON_CFG && !common)
			common = cap;
		else if (type == VIRTIO_PCI_CAP_PCI_CFG && !window)
			window = cap;
	}
	if (!common || !window)
		return false; /* cannot tell: treat as untranslated */
	u32 bar = pci_read(d, common + 4, 1), off = pci_read(d, common + 8, 4);
	pci_write(d, window + 4, 1, bar);
	pci_write(d, window + 12, 4, 4);
	pci_write(d, window + 8, 4, off + 0x00); /* device_feature_select */
	pci_write(d, window + 16, 4, 1);
	pci_write(d, window + 8, 4, off + 0x04); /* device_feature */
	return pci_read(d, window + 16, 4) & VIRTIO_F_ACCESS_PLATFORM_HI;
}

/* Why d's DMA is not isolated, or NULL if the IOMMU isolates it. */
static const char *not_isolated_because(const struct pci_device *d)
{
	if (!iommu_name())
		return "there is no IOMMU";
	if (!iommu_covers(bdf_of(d)))
		return "the IOMMU's ACPI table does not cover it";
	if (d->vendor_id == 0x1af4 && !virtio_access_platform(d))
		return "it is a virtio device without VIRTIO_F_ACCESS_PLATFORM, which bypasses the IOMMU";
	return NULL;
}

/* The domain: RAM at its guest-physical addresses (from PV_RAM_START: the
 * pages below are the start-info page and a guard), and each channel where
 * this end sees it. */
static int build_domain(struct partition *p, struct iommu_domain **out)
{
	struct iommu_domain *d;
	int err = iommu_domain_create(&d);

	if (err)
		return err;
	err = iommu_map(d, PV_RAM_START, p->ram.v + PV_RAM_START, p->ram_size - PV_RAM_START,
			IOMMU_READ | IOMMU_WRITE);
	for (unsigned k = 0; !err && k < partition_channel_count(p); k++) {
		unsigned side = 0;
		const struct channel *ch = partition_channel(p, k, &side);
		err = iommu_map(d, ch->gpa[side].v, ch->mem.v, ch->size, IOMMU_READ | IOMMU_WRITE);
	}
	if (err) {
		iommu_domain_destroy(d);
		return err;
	}
	*out = d;
	return 0;
}

int dma_partition_create(struct partition *p)
{
	const char *why = NULL;
	const struct pci_device *culprit = NULL;
	int err;

	if (!p->device_count)
		return 0;
	for (unsigned i = 0; i < p->device_count && !why; i++) {
		why = not_isolated_because(p->devices[i]);
		culprit = p->devices[i];
	}
	if (why) {
		if (p->cfg->trusted) {
			dma[p->id].mode = DMA_TRUSTED;
			log_line("partition %s: DMA of device %02x:%02x.%x is not isolated (%s): "
				 "trusted, it reaches all memory; dma_offset %#llx",
				 p->cfg->name, culprit->bus, culprit->dev, culprit->fn, why,
				 (unsigned long long)p->ram.v);
			return 0;
		}
		dma[p->id].mode = DMA_REFUSED;
		log_line("partition %s: device %02x:%02x.%x is refused: its DMA would reach all memory "
			 "(%s); only a partition declared 'trusted = yes' may own it",
			 p->cfg->name, culprit->bus, culprit->dev, culprit->fn, why);
		return -E_PERM;
	}
	if ((err = build_domain(p, &dma[p->id].domain))) {
		log_line("partition %s: cannot build its IOMMU domain (%s)", p->cfg->name,
			 errno_name(err));
		return err;
	}
	dma[p->id].mode = DMA_ISOLATED;
	log_line("partition %s: DMA of its device(s) through the IOMMU (%s), domain %u (%llu tables): its RAM "
		 "and %u channel(s) at their guest-physical addresses, dma_offset 0",
		 p->cfg->name, iommu_name(), dma[p->id].domain->id,
		 (unsigned long long)dma[p->id].domain->table_count, partition_channel_count(p));
	return 0;
}

int dma_partition_start(struct partition *p)
{
	switch (dma[p->id].mode) {
	case DMA_REFUSED:
		return -E_PERM;
	case DMA_ISOLATED:
		for (unsigned i = 0; i < p->device_count; i++) {
			int err = iommu_attach(dma[p->id].domain, bdf_of(p->devices[i]));
			if (err) {
				log_line("partition %s: cannot attach %02x:%02x.%x to its domain (%s)",
					 p->cfg->name, p->devices[i]->bus, p->devices[i]->dev,
					 p->devices[i]->fn, errno_name(err));
				dma_partition_stop(p);
				return err;
			}
		}
		return 0;
	default:
		return 0;
	}
}

void dma_partition_stop(struct partition *p)
{
	if (dma[p->id].mode != DMA_ISOLATED)
		return;
	for (unsigned i = 0; i < p->device_count; i++)
		iommu_detach(bdf_of(p->devices[i]));
}

void dma_partition_destroy(struct partition *p)
{
	dma_partition_stop(p);
	if (dma[p->id].domain)
		iommu_domain_destroy(dma[p->id].domain);
	dma[p->id].domain = NULL;
	dma[p->id].mode = DMA_NONE;
}

u64 dma_offset(const struct partition *p)
{
	return dma[p->id].mode == DMA_ISOLATED ? 0 : p->ram.v;
}

/*
 * A blocked request whose requester the IOMMU did not record (QEMU 7.2's
 * AMD-Vi, see amd_iommu.c).  Only a function with Bus Master Enable set can
 * issue DMA (PCI Local Bus 3.0 §6.2.2), and the core clears it on every
 * device nobody owns and on every stopped partition's devices: if exactly
 * one owned device has it on, the request was its.  Returns its requester
 * ID, or -1 if that does not single one out.
 */
static int only_bus_master(void)
{
	int found = -1;

	for (unsigned i = 0; i < pci_device_count(); i++) {
		const struct pci_device *d = pci_device_at(i);
		if (!d->owner || !(pci_read(d, 0x04, 2) & 4u))
			continue;
		if (found >= 0)
			return -1;
		found = bdf_of(d);
	}
	return found;
}

unsigned dma_poll_faults(struct dma_fault_report *out, unsigned max)
{
	struct iommu_fault f[8];
	static u64 next_poll;
	u64 now;
	unsigned reports = 0;

	if (!iommu_name() || (now = clock_now_ns()) < next_poll)
		return 0;
	next_poll = now + POLL_INTERVAL_NS;
	unsigned n = iommu_poll_faults(f, ARRAY_SIZE(f));

	for (unsigned i = 0; i < n; i++) {
		if (!f[i].requester_known) {
			int who = only_bus_master();
			if (who < 0) {
				log_line("iommu: a DMA request was blocked (%s); requester unknown, "
					 "more than one bus master: nobody is stopped",
					 f[i].reason);
				continue;
			}
			f[i].bdf = (u16)who;
			f[i].addr = ~0ULL;
			log_line("iommu: a DMA request was blocked (%s); %02x:%02x.%x is the only bus "
				 "master, so it was its",
				 f[i].reason, who >> 8, (who >> 3) & 31, who & 7);
		}
		u8 bus = f[i].bdf >> 8, dev = (f[i].bdf >> 3) & 31, fn = f[i].bdf & 7;
		const struct pci_device *d = pci_find_bdf(bus, dev, fn);
		struct partition *p = d ? d->owner : NULL;

		char what[48] = "address not recorded";
		if (f[i].addr != ~0ULL)
			snprintf(what, sizeof(what), "%s of %#llx",
				 !f[i].rw_known ? "access" :
				 f[i].write	? "write" :
						  "read",
				 (unsigned long long)f[i].addr);
		if (!p || dma[p->id].faults_logged < FAULT_LOG_MAX)
			log_line("iommu: DMA fault: device %02x:%02x.%x (%s%s), %s: %s (code %#x)",
				 bus, dev, fn, p ? "partition " : "owned by no partition",
				 p ? p->cfg->name : "", what, f[i].reason, f[i].code);
		if (!p)
			continue;
		dma[p->id].faults_logged++;
		if (reports == max)
			continue;
		out[reports].p = p;
		if (f[i].addr == ~0ULL)
			snprintf(out[reports].reason, sizeof(out[reports].reason),
				 "DMA by device %02x:%02x.%x blocked by the IOMMU (address not recorded)",
				 bus, dev, fn);
		else
			snprintf(out[reports].reason, sizeof(out[reports].reason),
				 "DMA to %#llx by device %02x:%02x.%x blocked by the IOMMU (%s)",
				 (unsigned long long)f[i].addr, bus, dev, fn, f[i].reason);
		reports++;
	}
	return reports;
}
