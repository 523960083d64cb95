/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Device interrupts of passed-through devices (see devirq.h).  References:
 * PCI Local Bus Specification 3.0 §6.8.1 (MSI capability) and §6.8.2
 * (MSI-X); Intel SDM Vol. 3A §11.11 (the message address and data a local
 * APIC accepts); the IOMMU side is in drivers/iommu.h.
 *
 * One source per device: its vector DEVIRQ_VECTOR_BASE + its slot here.  A
 * device with MSI-X gets every table entry (up to DEVIRQ_MSIX_ENTRIES) on
 * that one vector, so the partition's driver may choose any entry for a
 * queue; entries beyond stay masked.
 */
#include "kernel/devirq.h"
#include "arch/x86/lapic.h"
#include "arch/x86/percpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/traps.h"
#include "drivers/iommu.h"
#include "drivers/pci.h"
#include "kernel/abi/partita.h"
#include "kernel/errno.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/partition.h"

#define PCI_STATUS 0x06
#define PCI_STATUS_CAP_LIST (1u << 4)
#define PCI_CAP_PTR 0x34
#define PCI_CAP_ID_MSI 0x05
#define PCI_CAP_ID_MSIX 0x11

/* MSI Message Control (§6.8.1.3) */
#define MSI_CTL_ENABLE (1u << 0)
#define MSI_CTL_MME_MASK (7u << 4)
#define MSI_CTL_64BIT (1u << 7)
#define MSI_CTL_PVM (1u << 8)
/* MSI-X Message Control (§6.8.2.3) */
#define MSIX_CTL_SIZE(c) (((c)&0x7ffu) + 1)
#define MSIX_CTL_MASKALL (1u << 14)
#define MSIX_CTL_ENABLE (1u << 15)
#define MSIX_ENTRY_MASKED 1u
#define DEVIRQ_MSIX_ENTRIES 8 /* entries routed: AMD-Vi's table holds 8 */

/* Intel SDM Vol. 3A §11.11.1-2: physical destination, fixed, edge. */
#define MSI_ADDR(apic) (0xfee00000ULL | (u64)((apic)&0xff) << 12)
#define MSI_DATA(vector) ((u32)(vector))

struct source {
	struct partition *p; /* NULL: slot free */
	struct pci_device *d;
	unsigned k;   /* index among p's devices: its event bit */
	unsigned cap; /* MSI or MSI-X capability */
	bool msix;
	unsigned msix_entries; /* table size, at most DEVIRQ_MSIX_ENTRIES used */
	u64 table_hpa, pba_hpa;
	bool remapped; /* through the IOMMU */
	bool reported; /* its route was logged */
	u64 count;     /* interrupts taken */
	u32 pending;   /* event bits not yet taken (the handler ORs them) */
	/* Temporal isolation: interrupts taken in time that is not the
	 * owner's, and how often the source was masked for it. */
	bool maskable; /* MSI-X, or MSI with per-vector masking */
	bool masked;
	u64 foreign, mask_count;
	u64 last_report; /* count at the last report line */
};

static struct source sources[DEVIRQ_MAX];
static unsigned slots_used; /* every used slot is below: the scheduler's scans stop here */
static volatile u32 raised[MAX_CPUS];
/* Whose time it is on each CPU: the partition of the current window, or
 * NULL in idle time (devirq_time_of). */
static struct partition *owner_now[MAX_CPUS];

static u16 bdf_of(const struct pci_device *d)
{
	return IOMMU_BDF(d->bus, d->dev, d->fn);
}

/* The offset of capability id in d's list, or 0. */
static unsigned find_cap(const struct pci_device *d, unsigned id)
{
	unsigned guard = 0;

	if (!(pci_read(d, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST))
		return 0;
	for (unsigned cap = pci_read(d, PCI_CAP_PTR, 1) & 0xfc; cap && guard < 48;
	     cap = pci_read(d, cap + 1, 1) & 0xfc, guard++)
		if (pci_read(d, cap, 1) == id)
			return cap;
	return 0;
}

/* Host address of the structure that an MSI-X Table/PBA Offset register
 * (BIR in bits 2:0, §6.8.2.4) points at, or 0 if its BAR is not memory. */
static u64 msix_struct_hpa(const struct pci_device *d, u32 reg)
{
	const struct pci_bar *bar = &d->bars[reg & 7];

	if ((reg & 7) > 5 || (bar->kind != PCI_BAR_MEM32 && bar->kind != PCI_BAR_MEM64))
		return 0;
	return bar->base + (reg & ~7u);
}

bool devirq_page_hidden(const struct pci_device *d, u64 page)
{
	unsigned cap = find_cap(d, PCI_CAP_ID_MSIX);

	if (!cap)
		return false;
	u32 entries = MSIX_CTL_SIZE(pci_read(d, cap + 2, 2));
	u64 table = msix_struct_hpa(d, pci_read(d, cap + 4, 4));
	u64 pba = msix_struct_hpa(d, pci_read(d, cap + 8, 4));
	u64 table_end = table + 16ULL * entries, pba_end = pba + ALIGN_UP(entries, 64) / 8;

	return (table && page < table_end && page + PAGE_SIZE > table) ||
	       (pba && page < pba_end && page + PAGE_SIZE > pba);
}

/* MSI-X: the function mask (§6.8.2.3), one configuration write; MSI: the
 * mask bits register (§6.8.1.7), after the data.  A masked source keeps
 * what it would have sent pending (MSI-X's PBA, MSI's pending bits) and
 * sends it when unmasked. */
static void set_masked(struct source *s, bool masked)
{
	u32 ctl = pci_read(s->d, s->cap + 2, 2);

	if (s->msix)
		pci_write(s->d, s->cap + 2, 2,
			  masked ? ctl | MSIX_CTL_MASKALL : ctl & ~MSIX_CTL_MASKALL);
	else
		pci_write(s->d, s->cap + (ctl & MSI_CTL_64BIT ? 16 : 12), 4, masked ? 1 : 0);
	s->masked = masked;
}

static void devirq_handler(struct trap_frame *f)
{
	unsigned slot = (unsigned)f->vector - DEVIRQ_VECTOR_BASE;

	if (slot < DEVIRQ_MAX && sources[slot].p) {
		struct source *s = &sources[slot];
		__atomic_add_fetch(&s->count, 1, __ATOMIC_RELAXED);
		/* Outside its owner's time a maskable source is masked
		 * (devirq_time_of); one that still arrives (sent before the
		 * mask took, or a source that cannot be masked) costs this
		 * handler and the running partition's exit: counted, and the
		 * source masked now if it can be. */
		if (owner_now[cpu_index()] != s->p) {
			s->foreign++;
			if (s->maskable && !s->masked)
				set_masked(s, true);
		}
		__atomic_or_fetch(&s->pending, PARTITA_DEVICE_EVENT(s->k), __ATOMIC_SEQ_CST);
		__atomic_store_n(&raised[cpu_index()], 1, __ATOMIC_RELEASE);
	}
	lapic_eoi();
}

int devirq_partition_create(struct partition *p)
{
	for (unsigned k = 0; k < p->device_count; k++) {
		struct pci_device *d = p->devices[k];
		unsigned msix = find_cap(d, PCI_CAP_ID_MSIX), msi = find_cap(d, PCI_CAP_ID_MSI);
		if (!msix && !msi) {
			log_line("partition %s: device %02x:%02x.%x has neither MSI nor MSI-X: polled",
				 p->cfg->name, d->bus, d->dev, d->fn);
			continue;
		}
		unsigned slot = 0;
		while (slot < DEVIRQ_MAX && sources[slot].p)
			slot++;
		if (slot == DEVIRQ_MAX) {
			log_line("partition %s: no vector left for device %02x:%02x.%x: polled",
				 p->cfg->name, d->bus, d->dev, d->fn);
			continue;
		}
		if (irq_register(DEVIRQ_VECTOR_BASE + slot, devirq_handler)) {
			log_line("partition %s: vector %#x is taken: device %02x:%02x.%x polled",
				 p->cfg->name, DEVIRQ_VECTOR_BASE + slot, d->bus, d->dev, d->fn);
			continue;
		}
		struct source *s = &sources[slot];
		if (slot + 1 > slots_used)
			slots_used = slot + 1;
		s->p = p;
		s->d = d;
		s->k = k;
		s->msix = msix != 0;
		s->cap = msix ? msix : msi;
		s->maskable = s->msix || (pci_read(d, msi + 2, 2) & MSI_CTL_PVM);
		if (s->msix) {
			s->msix_entries = MSIX_CTL_SIZE(pci_read(d, msix + 2, 2));
			s->table_hpa = msix_struct_hpa(d, pci_read(d, msix + 4, 4));
			s->pba_hpa = msix_struct_hpa(d, pci_read(d, msix + 8, 4));
			if (!s->table_hpa ||
			    s->table_hpa + 16ULL * s->msix_entries > MAX(GiB(4), memory_top())) {
				log_line("partition %s: MSI-X table of %02x:%02x.%x is not reachable: polled",
					 p->cfg->name, d->bus, d->dev, d->fn);
				irq_unregister(DEVIRQ_VECTOR_BASE + slot);
				s->p = NULL;
				continue;
			}
		}
		log_line("partition %s: device %02x:%02x.%x interrupts: %s%s on vector %#x of cpu %u, "
			 "event bit %u",
			 p->cfg->name, d->bus, d->dev, d->fn, s->msix ? "MSI-X" : "MSI",
			 s->msix ? " (its table not mapped)" : "", DEVIRQ_VECTOR_BASE + slot,
			 p->cfg->cpu, 16 + k);
	}
	return 0;
}

/* The address and data of entry index of s: a remapping entry of the IOMMU
 * where there is one, else the message itself. */
static int message(struct source *s, unsigned index, u64 *addr, u32 *data)
{
	u8 vector = (u8)(DEVIRQ_VECTOR_BASE + (unsigned)(s - sources));
	u32 apic = smp_apic_id(s->p->cfg->cpu);
	int err = iommu_irq_route(bdf_of(s->d), index, vector, apic, addr, data);

	if (!err) {
		s->remapped = true;
		return 0;
	}
	/* Without remapping: the device writes the hypervisor's message
	 * (the IOMMU, if any, does not cover it: the partition is trusted). */
	if (err != -E_NOTSUP && err != -E_NOENT)
		return err;
	s->remapped = false;
	*addr = MSI_ADDR(apic);
	*data = MSI_DATA(vector);
	return 0;
}

static int start_msi(struct source *s)
{
	const struct pci_device *d = s->d;
	unsigned cap = s->cap;
	u32 ctl = pci_read(d, cap + 2, 2);
	u64 addr;
	u32 data;
	int err = message(s, 0, &addr, &data);

	if (err)
		return err;
	pci_write(d, cap + 2, 2, ctl & ~(MSI_CTL_ENABLE | MSI_CTL_MME_MASK)); /* one vector */
	pci_write(d, cap + 4, 4, (u32)addr);
	if (ctl & MSI_CTL_64BIT) {
		pci_write(d, cap + 8, 4, (u32)(addr >> 32));
		pci_write(d, cap + 12, 2, data);
		if (ctl & MSI_CTL_PVM)
			pci_write(d, cap + 16, 4, 0);
	} else {
		pci_write(d, cap + 8, 2, data);
		if (ctl & MSI_CTL_PVM)
			pci_write(d, cap + 12, 4, 0);
	}
	pci_write(d, cap + 2, 2, (ctl & ~MSI_CTL_MME_MASK) | MSI_CTL_ENABLE);
	return 0;
}

static int start_msix(struct source *s)
{
	const struct pci_device *d = s->d;
	volatile u32 *t = phys_to_virt(hpa(s->table_hpa));
	u32 ctl = pci_read(d, s->cap + 2, 2);

	/* Function-masked while the table changes (§6.8.2.3). */
	pci_write(d, s->cap + 2, 2, ctl | MSIX_CTL_ENABLE | MSIX_CTL_MASKALL);
	for (unsigned i = 0; i < s->msix_entries; i++) {
		volatile u32 *e = t + 4 * i;
		u64 addr;
		u32 data;
		e[3] = MSIX_ENTRY_MASKED;
		if (i >= DEVIRQ_MSIX_ENTRIES)
			continue;
		int err = message(s, i, &addr, &data);
		if (err)
			return err;
		e[0] = (u32)addr;
		e[1] = (u32)(addr >> 32);
		e[2] = data;
		e[3] = 0;
	}
	pci_write(d, s->cap + 2, 2, (ctl | MSIX_CTL_ENABLE) & ~MSIX_CTL_MASKALL);
	return 0;
}

int devirq_partition_start(struct partition *p)
{
	for (unsigned slot = 0; slot < DEVIRQ_MAX; slot++) {
		struct source *s = &sources[slot];
		if (s->p != p)
			continue;
		__atomic_store_n(&s->pending, 0, __ATOMIC_SEQ_CST);
		s->masked = false;
		int err = s->msix ? start_msix(s) : start_msi(s);
		if (!err && !s->reported) {
			s->reported = true;
			log_line("partition %s: device %02x:%02x.%x: %s %s%s%s", p->cfg->name,
				 s->d->bus, s->d->dev, s->d->fn, s->msix ? "MSI-X" : "MSI",
				 s->remapped ? "through " : "programmed by the hypervisor",
				 s->remapped ? iommu_name() : " (no interrupt remapping)",
				 s->remapped ? " interrupt remapping" : "");
		}
		if (err) {
			log_line("partition %s: cannot route the interrupts of %02x:%02x.%x (%s)",
				 p->cfg->name, s->d->bus, s->d->dev, s->d->fn, errno_name(err));
			devirq_partition_stop(p);
			return err;
		}
	}
	return 0;
}

void devirq_partition_stop(struct partition *p)
{
	for (unsigned slot = 0; slot < DEVIRQ_MAX; slot++) {
		struct source *s = &sources[slot];
		if (s->p != p)
			continue;
		u32 ctl = pci_read(s->d, s->cap + 2, 2);
		if (s->msix) {
			pci_write(s->d, s->cap + 2, 2, (ctl | MSIX_CTL_MASKALL) & ~MSIX_CTL_ENABLE);
			volatile u32 *t = phys_to_virt(hpa(s->table_hpa));
			for (unsigned i = 0; i < s->msix_entries; i++)
				t[4 * i + 3] = MSIX_ENTRY_MASKED;
		} else {
			pci_write(s->d, s->cap + 2, 2, ctl & ~MSI_CTL_ENABLE);
		}
		iommu_irq_unroute(bdf_of(s->d));
		__atomic_store_n(&s->pending, 0, __ATOMIC_SEQ_CST);
	}
}

void devirq_partition_destroy(struct partition *p)
{
	devirq_partition_stop(p);
	for (unsigned slot = 0; slot < DEVIRQ_MAX; slot++) {
		if (sources[slot].p != p)
			continue;
		irq_unregister(DEVIRQ_VECTOR_BASE + slot);
		sources[slot] = (struct source){ 0 };
	}
}

bool devirq_config_write_allowed(const struct pci_device *d, unsigned offset, unsigned size)
{
	for (unsigned slot = 0; slot < DEVIRQ_MAX; slot++) {
		const struct source *s = &sources[slot];
		if (s->d != d || !s->p)
			continue;
		/* MSI: up to 24 bytes (64-bit with masking); MSI-X: 12. */
		unsigned len = s->msix ? 12 : 24;
		if (offset < s->cap + len && offset + size > s->cap)
			return false;
	}
	return true;
}

bool devirq_raised(void)
{
	return __atomic_load_n(&raised[cpu_index()], __ATOMIC_ACQUIRE) != 0;
}

struct partition *devirq_take(u32 *bits)
{
	unsigned cpu = cpu_index();

	__atomic_store_n(&raised[cpu], 0, __ATOMIC_SEQ_CST);
	for (unsigned slot = 0; slot < slots_used; slot++) {
		struct source *s = &sources[slot];
		if (!s->p || s->p->cfg->cpu != cpu ||
		    !__atomic_load_n(&s->pending, __ATOMIC_ACQUIRE))
			continue;
		struct partition *p = s->p;
		u32 b = 0;
		for (unsigned o = slot; o < slots_used; o++)
			if (sources[o].p == p)
				b |= __atomic_exchange_n(&sources[o].pending, 0, __ATOMIC_SEQ_CST);
		*bits = b;
		return p;
	}
	return NULL;
}

u64 devirq_count(const struct partition *p, unsigned k)
{
	for (unsigned slot = 0; slot < DEVIRQ_MAX; slot++)
		if (sources[slot].p == p && sources[slot].k == k)
			return __atomic_load_n(&sources[slot].count, __ATOMIC_RELAXED);
	return 0;
}

unsigned devirq_device_irq(const struct pci_device *d)
{
	for (unsigned slot = 0; slot < DEVIRQ_MAX; slot++)
		if (sources[slot].p && sources[slot].d == d)
			return sources[slot].msix ? PARTITA_DEVICE_IRQ_MSIX :
						    PARTITA_DEVICE_IRQ_MSI;
	return PARTITA_DEVICE_IRQ_NONE;
}

void devirq_time_of(struct partition *p)
{
	unsigned cpu = cpu_index();

	if (owner_now[cpu] == p)
		return;
	owner_now[cpu] = p;
	/* The owner's sources open for its window (what they held is sent
	 * now), the others of this CPU close. */
	for (unsigned slot = 0; slot < slots_used; slot++) {
		struct source *s = &sources[slot];
		if (!s->p || s->p->cfg->cpu != cpu || !s->maskable || s->masked == (s->p != p))
			continue;
		set_masked(s, s->p != p);
		if (s->p != p)
			s->mask_count++;
	}
}

void devirq_report(void)
{
	for (unsigned slot = 0; slot < slots_used; slot++) {
		struct source *s = &sources[slot];
		u64 n = __atomic_load_n(&s->count, __ATOMIC_RELAXED);
		if (!s->p || n < s->last_report + DEVIRQ_REPORT_EVERY)
			continue;
		s->last_report = n;
		log_line("partition %s: device %02x:%02x.%x: %llu interrupts, %llu taken outside its "
			 "windows (%s%llu times)",
			 s->p->cfg->name, s->d->bus, s->d->dev, s->d->fn, (unsigned long long)n,
			 (unsigned long long)s->foreign,
			 s->maskable ? "masked between its windows " : "not maskable, ",
			 (unsigned long long)s->mask_count);
	}
}
