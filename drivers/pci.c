/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * PCI enumeration and configuration access (see pci.h).  Bus numbers are
 * scanned brute force (every bus the MCFG covers, or 0..255 by ports): no
 * bridge programming is done, the firmware's assignment is taken as it is.
 */
#include "drivers/pci.h"
#include "arch/x86/cpu.h"
#include "drivers/acpi.h"
#include "kernel/log.h"
#include "kernel/lib/format.h"
#include "kernel/mm.h"

#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA 0xcfc

static struct pci_device devices[PCI_MAX_DEVICES];
static unsigned device_count;
static u64 ecam_base; /* 0: use the ports */
static u8 bus_first, bus_last;

bool pci_has_ecam(void)
{
	return ecam_base != 0;
}

static u32 raw_read(u8 bus, u8 dev, u8 fn, unsigned off, unsigned size)
{
	if (ecam_base) {
		/* PCI Express Base Spec §7.2.2: bus << 20 | dev << 15 | fn << 12. */
		u64 pa = ecam_base + ((u64)(bus - bus_first) << 20) + ((u64)dev << 15) +
			 ((u64)fn << 12) + off;
		volatile void *p = phys_to_virt(hpa(pa));
		return size == 1 ? *(volatile u8 *)p :
		       size == 2 ? *(volatile u16 *)p :
				   *(volatile u32 *)p;
	}
	outl(PCI_CONFIG_ADDRESS,
	     0x80000000u | (u32)bus << 16 | (u32)dev << 11 | (u32)fn << 8 | (off & 0xfc));
	u32 v = inl(PCI_CONFIG_DATA);
	return (v >> (8 * (off & 3))) & (size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1);
}

static void raw_write(u8 bus, u8 dev, u8 fn, unsigned off, unsigned size, u32 value)
{
	if (ecam_base) {
		u64 pa = ecam_base + ((u64)(bus - bus_first) << 20) + ((u64)dev << 15) +
			 ((u64)fn << 12) + off;
		volatile void *p = phys_to_virt(hpa(pa));
		if (size == 1)
			*(volatile u8 *)p = (u8)value;
		else if (size == 2)
			*(volatile u16 *)p = (u16)value;
		else
			*(volatile u32 *)p = value;
		return;
	}
	outl(PCI_CONFIG_ADDRESS,
	     0x80000000u | (u32)bus << 16 | (u32)dev << 11 | (u32)fn << 8 | (off & 0xfc));
	if (size == 4) {
		outl(PCI_CONFIG_DATA, value);
	} else {
		u32 shift = 8 * (off & 3), mask = ((1u << (8 * size)) - 1) << shift;
		u32 v = inl(PCI_CONFIG_DATA);
		outl(PCI_CONFIG_DATA, (v & ~mask) | ((value << shift) & mask));
	}
}

u32 pci_read(const struct pci_device *d, unsigned offset, unsigned size)
{
	return raw_read(d->bus, d->dev, d->fn, offset, size);
}

void pci_write(const struct pci_device *d, unsigned offset, unsigned size, u32 value)
{
	raw_write(d->bus, d->dev, d->fn, offset, size, value);
}

/* Sizes the BARs of a type-0 header (PCI Local Bus Spec 3.0 §6.2.5.1):
 * write all ones with decoding off, read back the mask, restore. */
static void size_bars(struct pci_device *d)
{
	u16 cmd = (u16)pci_read(d, 0x04, 2);

	pci_write(d, 0x04, 2, cmd & ~3u); /* memory and I/O decode off */
	for (unsigned i = 0; i < 6; i++) {
		unsigned off = 0x10 + 4 * i;
		u32 orig = pci_read(d, off, 4);
		struct pci_bar *b = &d->bars[i];
		pci_write(d, off, 4, 0xffffffffu);
		u32 mask = pci_read(d, off, 4);
		pci_write(d, off, 4, orig);
		if (!mask || mask == 0xffffffffu)
			continue;
		if (orig & 1) {
			b->kind = PCI_BAR_IO;
			b->base = orig & ~3u;
			b->size = (u16)(~(mask & ~3u) + 1);
			continue;
		}
		b->prefetchable = orig & 8;
		u64 base = orig & ~0xfULL, size_mask = mask & ~0xfULL;
		if (((orig >> 1) & 3) == 2 && i < 5) {
			u32 orig_hi = pci_read(d, off + 4, 4);
			pci_write(d, off + 4, 4, 0xffffffffu);
			u32 mask_hi = pci_read(d, off + 4, 4);
			pci_write(d, off + 4, 4, orig_hi);
			base |= (u64)orig_hi << 32;
			size_mask |= (u64)mask_hi << 32;
			b->kind = PCI_BAR_MEM64;
			b->base = base;
			b->size = ~size_mask + 1;
			i++; /* the next BAR is this one's high half */
		} else {
			b->kind = PCI_BAR_MEM32;
			b->base = base;
			b->size = (u32)(~(u32)size_mask + 1);
		}
	}
	pci_write(d, 0x04, 2, cmd);
}

static void add_device(u8 bus, u8 dev, u8 fn)
{
	struct pci_device *d;

	if (device_count == PCI_MAX_DEVICES)
		return;
	d = &devices[device_count++];
	d->bus = bus;
	d->dev = dev;
	d->fn = fn;
	d->vendor_id = (u16)raw_read(bus, dev, fn, 0x00, 2);
	d->device_id = (u16)raw_read(bus, dev, fn, 0x02, 2);
	d->class_code = raw_read(bus, dev, fn, 0x08, 4) >> 8;
	d->header_type = (u8)raw_read(bus, dev, fn, 0x0e, 1);
	if ((d->header_type & 0x7f) == 0)
		size_bars(d);
}

static void log_device(const struct pci_device *d)
{
	char bars[160];
	size_t len = 0;

	bars[0] = '\0';
	for (unsigned i = 0; i < 6 && len < sizeof(bars); i++) {
		const struct pci_bar *b = &d->bars[i];
		if (b->kind == PCI_BAR_NONE)
			continue;
		len += snprintf(bars + len, sizeof(bars) - len, ", BAR%u %s %#llx+%#llx", i,
				b->kind == PCI_BAR_IO	 ? "io" :
				b->kind == PCI_BAR_MEM64 ? "mem64" :
							   "mem",
				(unsigned long long)b->base, (unsigned long long)b->size);
	}
	log_line("pci: %02x:%02x.%x %04x:%04x class %06x%s", d->bus, d->dev, d->fn, d->vendor_id,
		 d->device_id, d->class_code, bars);
}

void pci_init(const struct acpi_info *acpi)
{
	if (acpi && acpi->mcfg_phys) {
		ecam_base = acpi->mcfg_phys;
		bus_first = acpi->mcfg_bus_start;
		bus_last = acpi->mcfg_bus_end;
	} else {
		bus_first = 0;
		bus_last = 255;
	}
	for (unsigned bus = bus_first; bus <= bus_last; bus++) {
		for (u8 dev = 0; dev < 32; dev++) {
			if ((u16)raw_read((u8)bus, dev, 0, 0, 2) == 0xffff)
				continue;
			bool multi = raw_read((u8)bus, dev, 0, 0x0e, 1) & 0x80;
			for (u8 fn = 0; fn < (multi ? 8 : 1); fn++)
				if ((u16)raw_read((u8)bus, dev, fn, 0, 2) != 0xffff)
					add_device((u8)bus, dev, fn);
		}
	}
	log_line("pci: %u devices, configuration through %s", device_count,
		 ecam_base ? "ECAM (MCFG)" : "ports 0xcf8/0xcfc");
	for (unsigned i = 0; i < device_count; i++)
		log_device(&devices[i]);
}

struct pci_device *pci_find_bdf(u8 bus, u8 dev, u8 fn)
{
	for (unsigned i = 0; i < device_count; i++)
		if (devices[i].bus == bus && devices[i].dev == dev && devices[i].fn == fn)
			return &devices[i];
	return NULL;
}

struct pci_device *pci_find_id(u16 vendor, u16 device)
{
	for (unsigned i = 0; i < device_count; i++)
		if (devices[i].vendor_id == vendor && devices[i].device_id == device)
			return &devices[i];
	return NULL;
}

unsigned pci_device_count(void)
{
	return device_count;
}

struct pci_device *pci_device_at(unsigned index)
{
	return index < device_count ? &devices[index] : NULL;
}
