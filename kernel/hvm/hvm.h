/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The virtual platform of an unmodified (hvm) partition: what a stock Linux
 * kernel or a Multiboot kernel finds in place of a PC.  One struct hvm per
 * partition holds its devices:
 *
 *   local APIC  xAPIC MMIO at 0xfee00000 and x2APIC MSRs; timer one-shot,
 *               periodic and TSC-deadline                    (vlapic.c)
 *   I/O APIC    82093AA MMIO at 0xfec00000, 24 pins           (vioapic.c)
 *   8259 PICs   ports 0x20-0x21, 0xa0-0xa1, ELCR 0x4d0-0x4d1 (vpic.c)
 *   8254 PIT    ports 0x40-0x43, and port 0x61 (channel 2 gate/output)
 *                                                             (vpit.c)
 *   16550 UART  ports 0x3f8-0x3ff, output to the partition's console
 *                                                             (vuart.c)
 *   CMOS/RTC    ports 0x70-0x71                               (vcmos.c)
 *   debug exit  port 0xf4: a write ends the partition with that code
 *   PCI bus     0xcf8/0xcfc and ECAM at 0xe0000000; host bridge 00:00.0;
 *               BARs, MSI and MSI-X of virtual devices        (vpci.c)
 *   VT-d unit   interrupt remapping only, MMIO at 0xfed90000 (viommu.c)
 *   ACPI        RSDP, XSDT, MADT, FADT, MCFG, DMAR, DSDT in guest RAM
 *                                                             (acpi_tables.c)
 *   virtio-blk  PCI 00:04.0 when the config names a disk: a shared image
 *               and a private copy-on-write layer   (virtio_blk.c, over
 *               virtio_pci.c and virtq.c)
 *
 * Interrupts: the ISA lines of the PIT (IRQ0) and the UART (IRQ4) reach
 * both the 8259 pair and the I/O APIC (IRQ0 on pin 2, the others on the pin
 * of their number), as on a PC; the MADT's interrupt source overrides say
 * so.  The guest chooses which one it unmasks.
 *
 * Every other port reads all-ones and ignores writes; every other MMIO
 * address outside RAM does the same; each unknown port or page is logged
 * once.  Nothing a guest does here can stop the hypervisor.
 *
 * Time: the guest reads the real TSC (no offset), so its clock keeps real
 * time across the windows it does not run in; device timers are deadlines on
 * the hypervisor's clock (clock_now_ns()), and an interrupt that falls due
 * outside the partition's windows is delivered at its next window.
 */
#ifndef PARTITA_HVM_H
#define PARTITA_HVM_H

#include "kernel/hvm/vioapic.h"
#include "kernel/hvm/viommu.h"
#include "kernel/hvm/vlapic.h"
#include "kernel/hvm/vpci.h"
#include "kernel/hvm/vpic.h"
#include "kernel/hvm/vpit.h"
#include "kernel/hvm/vuart.h"
#include "kernel/hvm/vcmos.h"
#include "kernel/hvm/virtio_blk.h"
#include "kernel/lib/types.h"

struct console;

#define HVM_LAPIC_BASE 0xfee00000ULL
#define HVM_IOAPIC_BASE VIOAPIC_BASE
#define HVM_UNKNOWN_LOG_MAX 32 /* distinct unknown ports/pages logged */

/** What hvm_reset needs from the partition and the clock. */
struct hvm_setup {
	const char *name;	 /* partition name, for log lines */
	struct console *console; /* where the UART's output goes */
	u64 tsc_hz;		 /* clock_tsc_hz() */
	u64 tsc_at_zero;	 /* the TSC when clock_now_ns() was 0:
	                          * rdtsc() - clock_ns_to_tsc(clock_now_ns()) */
	u64 wall_epoch;		 /* wall clock (s since 1970, UTC) at ns 0, for
	                          * the RTC; 0 if unknown (shows 1970) */
	u8 *ram;		 /* the partition's RAM, for the remapping
	                          * unit's tables (NULL: none) */
	u64 ram_size;
};

struct hvm {
	const char *name;
	struct vlapic lapic;
	struct vioapic ioapic;
	struct vpic pic;
	struct vpit pit;
	struct vuart uart;
	struct vcmos cmos;
	struct vpci pci;
	struct virtio_blk blk; /* on the bus only if the partition has a disk */
	struct viommu iommu;
	/* ports and MMIO pages already reported as unknown */
	u32 unknown_seen[HVM_UNKNOWN_LOG_MAX];
	unsigned unknown_count;
};

/** Resets every device to its power-on state (and forgets which unknown
 *  ports/pages were logged). */
void hvm_reset(struct hvm *h, const struct hvm_setup *s);

/**
 * Port I/O of the guest at time now (ns on clock_now_ns()).  For a read,
 * *value receives the result (size 1, 2 or 4 bytes in the low bits); for a
 * write it holds the value.  A 2- or 4-byte access to the byte-wide devices
 * is done byte by byte on consecutive ports.  Returns 0, or
 * HVM_EXIT_REQUESTED with *code set (the byte written) when the guest wrote
 * the debug-exit port.
 */
int hvm_port_io(struct hvm *h, u64 now, u16 port, unsigned size, bool in, u32 *value, int *code);
#define HVM_EXIT_REQUESTED 1
#define HVM_DEBUG_EXIT_PORT 0xf4

/** MMIO outside the guest's RAM (after decoding), size 1, 2, 4 or 8: reads
 *  fill *value. */
void hvm_mmio(struct hvm *h, u64 now, u64 gpa, unsigned size, bool write, u64 *value);

/** MSRs the platform emulates (x2APIC, TSC-deadline, APIC base).  Returns 0;
 *  -E_NOENT if the MSR is not the platform's (the caller decides); -E_INVAL
 *  if it is, but the access must raise #GP (x2APIC MSR outside x2APIC mode,
 *  read-only/write-only register, invalid APIC base transition). */
int hvm_msr(struct hvm *h, u64 now, u32 index, bool write, u64 *value);

/** The vector the guest should take next (highest priority pending and not
 *  masked by the APIC's TPR/ISR or the PIC), or -1.  The APIC first; the
 *  8259's output when the APIC passes it (globally or software disabled, or
 *  LINT0 unmasked ExtINT) or the I/O APIC's pin 0 does (ExtINT).  No side
 *  effects. */
int hvm_pending_vector(struct hvm *h);

/** Whether an NMI reached the vCPU since the last call (the local APIC
 *  accepted one, vlapic_take_nmi); the caller hands it to the CPU. */
bool hvm_take_nmi(struct hvm *h);

/** The guest took vector (it was injected): move it from pending to in
 *  service (APIC IRR -> ISR, or the 8259's INTA).  Call it once, when the
 *  vector returned by hvm_pending_vector is handed to virt->inject; a
 *  vector that is no longer pending is ignored. */
void hvm_ack_vector(struct hvm *h, int vector);

/** Advances the device timers to now (ns on clock_now_ns()), raising their
 *  interrupts if due.  Returns the time of the next timer event, or 0. */
u64 hvm_update_timers(struct hvm *h, u64 now);

#endif
