/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The virtual I/O APIC of an hvm partition: one Intel 82093AA (datasheet
 * order 290566, "82093AA I/O Advanced Programmable Interrupt Controller")
 * at 0xfec00000 with 24 redirection entries, version 0x11.  Its registers
 * are reached through the index register IOREGSEL (offset 0x00) and the
 * data window IOWIN (offset 0x10).  Pins are driven by the platform with
 * vioapic_set_pin(); an unmasked entry sends its interrupt message to the
 * local APIC (vlapic_deliver), edge-triggered on a rising (active) edge,
 * level-triggered while the input is active and remote IRR is clear.  The
 * local APIC's EOI of a level vector (vioapic_eoi) clears remote IRR and
 * sends again if the input is still active.
 *
 * Wiring (as on a PC with the 8259s and the I/O APIC both on the ISA lines,
 * announced in the MADT's interrupt source overrides): pin 0 is the 8259
 * pair's INTR output (usable in ExtINT mode only), pin 2 is IRQ0 (the PIT),
 * pins 1 and 3-15 are ISA IRQs 1 and 3-15, pins 16-19 are the PCI bus's
 * INTx lines (vpci.h, active low), pins 20-23 are not connected.
 * Each pin has an electrical polarity (active high, or active low such as
 * the SCI on pin 9); an entry whose polarity disagrees with its line sees
 * the line as active whenever it is idle, as hardware would.
 */
#ifndef PARTITA_HVM_VIOAPIC_H
#define PARTITA_HVM_VIOAPIC_H

#include "kernel/lib/types.h"

struct vlapic;
struct viommu;

#define VIOAPIC_BASE 0xfec00000ULL
#define VIOAPIC_PINS 24
#define VIOAPIC_VERSION 0x11
#define VIOAPIC_ID 1 /* reset ID, the one in the MADT (the BSP's APIC ID is 0) */

/* Register offsets in the page and register indices (datasheet 3.0, 3.2). */
#define VIOAPIC_IOREGSEL 0x00
#define VIOAPIC_IOWIN 0x10
#define VIOAPIC_REG_ID 0x00
#define VIOAPIC_REG_VER 0x01
#define VIOAPIC_REG_ARB 0x02
#define VIOAPIC_REG_REDTBL 0x10 /* entry n: low dword 0x10 + 2n, high 0x11 + 2n */

/* Redirection entry bits (datasheet 3.2.4). */
#define VIOAPIC_RTE_VECTOR 0xffULL
#define VIOAPIC_RTE_DM_SHIFT 8
#define VIOAPIC_RTE_DEST_LOGICAL (1ULL << 11)
#define VIOAPIC_RTE_DELIVS (1ULL << 12)
#define VIOAPIC_RTE_POLARITY_LOW (1ULL << 13)
#define VIOAPIC_RTE_REMOTE_IRR (1ULL << 14)
#define VIOAPIC_RTE_LEVEL (1ULL << 15)
#define VIOAPIC_RTE_MASKED (1ULL << 16)
#define VIOAPIC_RTE_DEST_SHIFT 56

struct vioapic {
	struct vlapic *lapic; /* where messages go */
	struct viommu *iommu; /* NULL, or the remapping unit messages pass */
	u32 ioregsel;
	u32 id; /* bits 27:24 of the ID register */
	u64 rte[VIOAPIC_PINS];
	u32 active_low_lines; /* pins whose line is electrically active low */
	u32 lines;	      /* lines asserted by their devices (logical) */
	u32 seen_active;      /* the input as last seen after polarity (edges) */
};

/** Power-on state: every entry masked, ID VIOAPIC_ID, all lines idle.
 *  active_low_lines gives the lines wired active low (bit n: pin n). */
void vioapic_reset(struct vioapic *io, struct vlapic *lapic, u32 active_low_lines);

/** MMIO at offset (0-0xfff) of the page; size 1, 2, 4 or 8.  IOREGSEL and
 *  IOWIN are 32-bit registers; narrower reads see part of one, narrower
 *  writes to IOWIN are ignored, other offsets read 0. */
u64 vioapic_mmio_read(struct vioapic *io, u32 offset, unsigned size);
void vioapic_mmio_write(struct vioapic *io, u32 offset, unsigned size, u64 value);

/** The device on pin drives its line to asserted (true) or idle.  Pins
 *  outside 0-23 are ignored. */
void vioapic_set_pin(struct vioapic *io, unsigned pin, bool asserted);

/** The local APIC's EOI broadcast for vector (a level interrupt). */
void vioapic_eoi(struct vioapic *io, u8 vector);

/** Sends every message through iommu (viommu.h: remappable-format entries,
 *  bit 48, are translated there), or straight to the local APIC (NULL).
 *  Set after vioapic_reset, which clears it. */
void vioapic_set_iommu(struct vioapic *io, struct viommu *iommu);

/** Whether pin 0 is an unmasked ExtINT entry aimed at the local APIC: then
 *  the 8259's INTR reaches the CPU through the I/O APIC (virtual wire mode
 *  through the I/O APIC, MP spec 3.6.2.2). */
bool vioapic_passes_pic(const struct vioapic *io);

#endif
