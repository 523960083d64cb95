/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The virtual Intel VT-d remapping unit of an hvm partition: interrupt
 * remapping only, as a PC with an IOMMU has it, so that an OS runs its
 * local APIC in x2APIC mode (Linux refuses x2APIC without interrupt
 * remapping).  References are to the Intel Virtualization Technology for
 * Directed I/O Architecture Specification (VT-d spec): chapter 5
 * (interrupt remapping), 6.5 (invalidation queue), 7 (fault recording),
 * 8 (the DMAR ACPI table), 9.10 (the IRTE), 10.4 (registers).
 *
 * One register page at VIOMMU_BASE, announced by the DMAR table's only
 * DRHD, whose device scope lists the virtual I/O APIC and no PCI device
 * (and not INCLUDE_PCI_ALL): no DMA is ever translated here.  What it does:
 *   - VER, CAP, ECAP (IR, EIM, QI; no scalable mode, no posted interrupts);
 *   - GCMD/GSTS: SIRTP/IRTPS (latches IRTA), IRE/IRES, QIE/QIES, CFI/CFIS,
 *     and TE/TES and SRTP/RTPS accepted and reflected (nothing is
 *     translated whatever TE says);
 *   - the invalidation queue (IQA, IQH, IQT, ICS): context-cache, IOTLB,
 *     device-TLB and interrupt-entry-cache descriptors complete at once
 *     (no entry is ever cached), the invalidation-wait descriptor writes its
 *     status and sets ICS.IWC; an unknown descriptor, a tail beyond the
 *     queue or a queue outside RAM stops the queue with FSTS.IQE;
 *   - interrupt requests from the I/O APIC (its remappable-format RTEs) and
 *     from MSI/MSI-X (address bit 4): the IRTE is read from guest RAM at each
 *     request (nothing is cached, so invalidations are never late), checked,
 *     and the interrupt delivered to the local APIC; compatibility-format
 *     requests pass while IR is off or CFIS is set;
 *   - faults: one fault recording register, FSTS, the fault event interrupt
 *     (FECTL/FEDATA/FEADDR/FEUADDR), and a log line per fault, rate-limited.
 * Every address and size the guest writes is checked against its RAM when
 * it is used; the queue is walked at most once around per IQT write.
 */
#ifndef PARTITA_HVM_VIOMMU_H
#define PARTITA_HVM_VIOMMU_H

#include "kernel/lib/types.h"

struct vlapic;

#define VIOMMU_BASE 0xfed90000ULL /* the register page (DRHD base) */
#define VIOMMU_SIZE 0x1000ULL
/* The I/O APIC's source-id: the path 00:1f.0 of the DMAR's device scope
 * (a PCH's LPC bridge, where a PC's I/O APIC lives). */
#define VIOMMU_IOAPIC_BUS 0
#define VIOMMU_IOAPIC_DEV 0x1f
#define VIOMMU_IOAPIC_FN 0
#define VIOMMU_IOAPIC_SID ((VIOMMU_IOAPIC_BUS << 8) | (VIOMMU_IOAPIC_DEV << 3) | VIOMMU_IOAPIC_FN)

/* Register offsets (VT-d spec 10.4). */
#define VTD_VER 0x00
#define VTD_CAP 0x08
#define VTD_ECAP 0x10
#define VTD_GCMD 0x18
#define VTD_GSTS 0x1c
#define VTD_RTADDR 0x20
#define VTD_CCMD 0x28
#define VTD_FSTS 0x34
#define VTD_FECTL 0x38
#define VTD_FEDATA 0x3c
#define VTD_FEADDR 0x40
#define VTD_FEUADDR 0x44
#define VTD_AFLOG 0x58
#define VTD_PMEN 0x64
#define VTD_IQH 0x80
#define VTD_IQT 0x88
#define VTD_IQA 0x90
#define VTD_ICS 0x9c
#define VTD_IECTL 0xa0
#define VTD_IEDATA 0xa4
#define VTD_IEADDR 0xa8
#define VTD_IEUADDR 0xac
#define VTD_IRTA 0xb8
#define VTD_IRO 0x100 /* IVA at +0, IOTLB at +8 (ECAP.IRO) */
#define VTD_FRO 0x200 /* the fault recording register (CAP.FRO), 16 bytes */

/* GCMD / GSTS bits (10.4.4, 10.4.5). */
#define VTD_GCMD_TE (1u << 31)
#define VTD_GCMD_SRTP (1u << 30)
#define VTD_GCMD_SFL (1u << 29)
#define VTD_GCMD_EAFL (1u << 28)
#define VTD_GCMD_WBF (1u << 27)
#define VTD_GCMD_QIE (1u << 26)
#define VTD_GCMD_IRE (1u << 25)
#define VTD_GCMD_SIRTP (1u << 24)
#define VTD_GCMD_CFI (1u << 23)

/* FSTS bits (10.4.9). */
#define VTD_FSTS_PFO (1u << 0)
#define VTD_FSTS_PPF (1u << 1)
#define VTD_FSTS_IQE (1u << 4)
#define VTD_FSTS_ICE (1u << 5)
#define VTD_FSTS_ITE (1u << 6)
#define VTD_FECTL_IM (1u << 31)
#define VTD_FECTL_IP (1u << 30)

/* IRTA (10.4.29): table address 63:12, EIME 11, size 2^(S+1) in 3:0. */
#define VTD_IRTA_EIME (1ULL << 11)

/* Interrupt-remapping fault reasons (VT-d spec 7.1.3, Table 7-... "Interrupt
 * Remapping Fault Conditions"). */
#define VTD_FR_IR_REQ_RSVD 0x20	   /* reserved field in the request */
#define VTD_FR_IR_INDEX 0x21	   /* index beyond the table size */
#define VTD_FR_IR_NOT_PRESENT 0x22 /* IRTE present bit clear */
#define VTD_FR_IR_TABLE 0x23	   /* the table cannot be read */
#define VTD_FR_IR_IRTE_RSVD 0x24   /* reserved field in the IRTE */
#define VTD_FR_IR_COMPAT 0x25	   /* compatibility format blocked */
#define VTD_FR_IR_SID 0x26	   /* source-id verification failed */

/** An interrupt as the local APIC gets it (SDM Vol. 3A §11.11, or an IRTE).
 *  dest is 8 bits unless dest32. */
struct viommu_irq {
	u32 dest;
	bool logical;
	bool dest32; /* a 32-bit x2APIC destination (IRTE with EIME) */
	unsigned mode;
	u8 vector;
	bool level;
};

struct viommu {
	const char *name; /* partition, for log lines */
	struct vlapic *lapic;
	u8 *ram; /* the partition's RAM (NULL: none, every read faults) */
	u64 ram_size;

	u32 gsts;
	u64 rtaddr, ccmd, iva, iotlb;
	u64 irta;	 /* as written */
	u64 irta_active; /* as latched by SIRTP */
	u64 iqa, iqh, iqt;
	u32 ics, fsts, fectl, fedata, feaddr, feuaddr;
	u32 iectl, iedata, ieaddr, ieuaddr;
	u64 frcd[2]; /* the fault recording register */
	u64 fault_count;
	u64 fault_logged; /* fault lines printed */
};

/** Power-on state: IR, QI and translation off, no fault. ram/ram_size is
 *  the partition's RAM (guest-physical 0 at ram[0], with the MMIO hole of
 *  linux_boot.h). */
void viommu_reset(struct viommu *v, struct vlapic *lapic, u8 *ram, u64 ram_size, const char *name);

/** MMIO at offset (0-0xfff) of the register page.  Aligned dword or qword
 *  accesses only (10.4: other sizes are ignored, reads give 0). */
u64 viommu_mmio_read(struct viommu *v, u32 offset, unsigned size);
void viommu_mmio_write(struct viommu *v, u32 offset, unsigned size, u64 value);

/**
 * An interrupt request: an MSI write of data to addr from source-id sid
 * (bus << 8 | devfn), or the message an I/O APIC entry becomes.  Remapped
 * through the IRTE when IR is on and the request is in remappable format
 * (addr bit 4), else decoded as compatibility format.  Returns 0 with *out
 * filled, or -E_FAULT if the request is dropped (a fault was recorded
 * unless the IRTE disables it), or -E_INVAL if addr is not an interrupt
 * address (0xfeexxxxx).
 */
int viommu_translate(struct viommu *v, u16 sid, u64 addr, u32 data, struct viommu_irq *out);

/** viommu_translate, then delivery to the local APIC (vlapic_deliver).
 *  True if the APIC accepted the interrupt; *err gets the translation's
 *  result (may be NULL).  A level deassert message delivers nothing. */
bool viommu_send(struct viommu *v, u16 sid, u64 addr, u32 data, int *err);

/** Delivers irq to lapic (vlapic_deliver or its 32-bit form).  True if
 *  accepted. */
bool viommu_deliver(struct vlapic *lapic, const struct viommu_irq *irq);

/** Whether interrupt remapping is on (GSTS.IRES). */
bool viommu_ir_enabled(const struct viommu *v);

#endif
