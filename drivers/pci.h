/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * PCI configuration space and the devices found in it, for passing devices
 * through to partitions.  Access is through ECAM (the MCFG table) where the
 * firmware describes it, else through the legacy ports 0xcf8/0xcfc (PCI
 * Local Bus Specification 3.0, §3.2.2.3.2).
 */
#ifndef PARTITA_DRIVERS_PCI_H
#define PARTITA_DRIVERS_PCI_H

#include "kernel/lib/types.h"

struct acpi_info;
struct partition;

#define PCI_MAX_DEVICES 64

enum pci_bar_kind { PCI_BAR_NONE = 0, PCI_BAR_MEM32, PCI_BAR_MEM64, PCI_BAR_IO };

struct pci_bar {
	enum pci_bar_kind kind;
	u64 base;
	u64 size;
	bool prefetchable;
};

struct pci_device {
	u8 bus, dev, fn;
	u16 vendor_id, device_id;
	u32 class_code; /* class << 16 | subclass << 8 | prog-if */
	u8 header_type;
	struct pci_bar bars[6];
	struct partition *owner; /* passed through to, or NULL */
};

/** Finds the configuration mechanism and lists the devices on the log. */
void pci_init(const struct acpi_info *acpi);

u32 pci_read(const struct pci_device *d, unsigned offset, unsigned size);
void pci_write(const struct pci_device *d, unsigned offset, unsigned size, u32 value);

/** Looks a device up by address or by vendor:device; NULL if absent. */
struct pci_device *pci_find_bdf(u8 bus, u8 dev, u8 fn);
struct pci_device *pci_find_id(u16 vendor, u16 device);

/** The devices found, for walks over all of them: index < pci_device_count(). */
unsigned pci_device_count(void);
struct pci_device *pci_device_at(unsigned index);

/** Extended (4 KiB) configuration space is available (ECAM). */
bool pci_has_ecam(void);

#endif
