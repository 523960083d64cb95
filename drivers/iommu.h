/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The IOMMU, vendor-neutral: what the core asks of AMD-Vi (amd_iommu.c) or
 * VT-d (intel_vtd.c).  A *domain* is one set of I/O page tables (an I/O
 * address space); a partition that owns devices gets one, mapping its RAM
 * and channels at the guest-physical addresses the partition uses.  Every
 * PCI function the IOMMU covers starts *blocked*: its DMA reaches nothing
 * and is reported as a fault.  Attaching a function to a domain lets its DMA
 * through that domain's tables only; detaching blocks it again.  The
 * hypervisor's own memory is in no domain, so no device reaches it.
 *
 * Faults (AMD: the event log; Intel: the fault recording registers) are
 * polled with iommu_poll_faults(); the caller decides what a fault costs the
 * device's owner.
 *
 * Devices are named by their requester ID, bdf = bus << 8 | dev << 3 | fn,
 * on PCI segment 0.
 *
 * Emulators (QEMU 7.2, checked against its source, hw/i386/amd_iommu.c and
 * intel_iommu.c):
 *   - `-device amd-iommu` and `-device intel-iommu` need `-machine q35`.  The
 *     AMD one adds a PCI function (1022:xxxx, class 0806, device ID = its
 *     devfn) at the first free slot of bus 0, registers at 0xfed80000; the
 *     Intel one is not a PCI function, registers at 0xfed90000.  Command
 *     line order does not matter in 7.2 (bus-master address spaces are made
 *     when the machine is complete).
 *   - Emulated virtio devices bypass the IOMMU unless created with
 *     `iommu_platform=on` (which needs `disable-legacy=on`); they then offer
 *     VIRTIO_F_ACCESS_PLATFORM and fail FEATURES_OK if the driver refuses it.
 *     iommu.c checks the feature before trusting the IOMMU with a virtio
 *     device.
 *   - Under TCG, `intremap` defaults to on for both (it is off only with
 *     KVM's in-kernel irqchip); `eim` stays off.  intel-iommu: `aw-bits`
 *     defaults to 39 (3-level tables only), one fault recording register,
 *     queued invalidation offered (and register-based invalidation refused
 *     while it is on), no page-walk coherency (ECAP.C = 0); with interrupt
 *     remapping on it still delivers compatibility-format MSIs.
 *   - amd-iommu 7.2 writes no event log entry at all (see amd_iommu.c for
 *     this and its other deviations); a blocked request shows only as
 *     Signaled Target Abort in its PCI function's status register.  Its
 *     interrupt remapping sees device DMA writes without requester ID and
 *     applies the IOAPIC's device table entry to them.
 *   - A DMA write to 0xfee00000-0xfeefffff is an interrupt request on both
 *     (never translated by the I/O page tables): only interrupt remapping
 *     stands between a device and the CPUs' interrupt vectors.
 *   - Bochs has no IOMMU.
 */
#ifndef PARTITA_DRIVERS_IOMMU_H
#define PARTITA_DRIVERS_IOMMU_H

#include "kernel/lib/types.h"

struct acpi_info;
struct acpi_iommu;
struct iommu_domain;

#define IOMMU_READ 1u
#define IOMMU_WRITE 2u

#define IOMMU_BDF(bus, dev, fn) ((u16)((bus) << 8 | (dev) << 3 | (fn)))

/** One DMA (or IOMMU) fault, as the hardware reported it. */
struct iommu_fault {
	bool requester_known; /* false: the IOMMU signalled a blocked request
			       * but recorded neither requester nor address */
	u16 bdf;	      /* requester */
	u64 addr;	      /* the I/O (guest-physical) address it used */
	bool rw_known;	      /* the hardware says whether it was a read or a write */
	bool write;	      /* then: a write (else a read) */
	u32 code;	      /* vendor code: AMD event type << 16 | flags, Intel reason */
	const char *reason;   /* the vendor code in words */
};

/**
 * Finds the IOMMUs of the ACPI tables (IVRS or DMAR), takes the first one of
 * a kind this build drives, sets it up with every covered device blocked,
 * and turns translation on.  Logs what it found or why there is none.
 * Returns 0, or -E_NOENT (no IOMMU: devices are not isolated), -E_NOTSUP,
 * -E_IO, -E_NOMEM (an IOMMU that cannot be used: left off).
 */
int iommu_init(const struct acpi_info *acpi);

/** "AMD-Vi", "VT-d", or NULL when no IOMMU is in use. */
const char *iommu_name(void);

/** Whether the IOMMU in use translates bdf's requests (its tables list it
 *  and nothing makes its requests arrive under another ID). */
bool iommu_covers(u16 bdf);

/** Creates an empty domain: all its I/O addresses fault.  0 or -E_NOMEM,
 *  -E_NOSPC (out of domain IDs), -E_NOENT (no IOMMU). */
int iommu_domain_create(struct iommu_domain **out);

/**
 * Maps [iova, iova + size) to [hpa, hpa + size) with rights (IOMMU_READ |
 * IOMMU_WRITE).  Addresses and size 4 KiB aligned; iova below the IOMMU's
 * address width.  Returns 0, -E_INVAL, -E_EXIST (already mapped), -E_NOMEM.
 * Only for a domain no device is attached to yet, or for new addresses.
 */
int iommu_map(struct iommu_domain *d, u64 iova, u64 hpa, u64 size, unsigned rights);

/** Detaches every device still in d, then frees its tables and ID. */
void iommu_domain_destroy(struct iommu_domain *d);

/** Lets bdf's DMA through d's tables (and only them).  0, -E_NOENT (not
 *  covered), -E_BUSY (attached to another domain: detach it first). */
int iommu_attach(struct iommu_domain *d, u16 bdf);

/** Blocks bdf again (no-op if it is not attached), with the IOMMU's caches
 *  invalidated before it returns. */
void iommu_detach(u16 bdf);

/** Takes up to max pending faults off the hardware.  Returns how many. */
unsigned iommu_poll_faults(struct iommu_fault *out, unsigned max);

/**
 * Interrupt remapping: makes MSI number index (0..7) of bdf arrive as vector
 * on the CPU whose APIC ID is apic_id (fixed delivery, physical
 * destination, edge), and returns in *addr and *data what the device's MSI
 * address and data registers must hold for it.  Every other MSI of bdf
 * stays blocked.  Returns 0, -E_NOTSUP (the IOMMU in use does not remap
 * interrupts, or there is none: program the message directly), -E_NOENT
 * (bdf is not covered), -E_RANGE, -E_NOSPC.
 */
int iommu_irq_route(u16 bdf, unsigned index, u8 vector, u32 apic_id, u64 *addr, u32 *data);

/** Blocks all of bdf's MSIs again (no-op if none is routed). */
void iommu_irq_unroute(u16 bdf);

/* ---- the vendor side ---- */

/** Domain bookkeeping shared by both drivers: one I/O page table. */
struct iommu_domain {
	bool used;
	u16 id;		 /* domain ID (AMD DomainID / VT-d DID), 1.. */
	u64 root;	 /* physical address of the top table */
	unsigned levels; /* 3 or 4 */
	u64 table_count;
};

/** How one vendor's page-table entries look (iommu.c builds the tables). */
struct iommu_pt_format {
	/* an entry of a table at level (1 = last) pointing to a lower table */
	u64 (*table_entry)(u64 phys, unsigned level);
	/* a leaf at level (1: 4 KiB, 2: 2 MiB) */
	u64 (*leaf_entry)(u64 phys, unsigned level, unsigned rights);
	/* the value of an empty slot in a table at level */
	u64 (*empty_entry)(unsigned level);
	bool (*present)(u64 entry);
	/* a present entry at level that maps memory rather than a table */
	bool (*is_leaf)(u64 entry, unsigned level);
	bool large_pages;  /* 2 MiB leaves allowed */
	bool flush_writes; /* table writes must be flushed from the caches */
};

struct iommu_ops {
	const char *name;
	/** Sets the unit up, all devices blocked, translation on. */
	int (*init)(const struct acpi_info *acpi, const struct acpi_iommu *unit);
	const struct iommu_pt_format *pt;
	/** Page-table levels of every domain (3 or 4), once init succeeded. */
	unsigned (*levels)(void);
	/** Highest usable domain ID, once init succeeded. */
	u16 (*max_domain_id)(void);
	int (*attach)(struct iommu_domain *d, u16 bdf);
	void (*detach)(u16 bdf, const struct iommu_domain *was);
	unsigned (*poll_faults)(struct iommu_fault *out, unsigned max);
	int (*irq_route)(u16 bdf, unsigned index, u8 vector, u32 apic_id, u64 *addr, u32 *data);
	void (*irq_unroute)(u16 bdf);
};

extern const struct iommu_ops amd_iommu_ops;
extern const struct iommu_ops intel_vtd_ops;

/* For the vendor drivers: one zeroed page (or run of pages) from the page
 * allocator, through the direct map; phys receives its address. */
void *iommu_alloc_pages(u64 count, u64 *phys);
/* Writes a table entry, flushed to memory if the format says so. */
void iommu_write_entry(const struct iommu_pt_format *f, volatile u64 *slot, u64 value);

#endif
