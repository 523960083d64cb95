/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The virtual 82093AA I/O APIC (see vioapic.h).  Section numbers are those
 * of the 82093AA datasheet; message delivery is the local APIC's
 * (vlapic_deliver, SDM Vol. 3A §11.11 for the message format it shares with
 * MSI).  Pure logic over struct vioapic and the local APIC it feeds.
 */
#include "kernel/hvm/vioapic.h"
#include "kernel/hvm/viommu.h"
#include "kernel/hvm/vlapic.h"
#include "kernel/lib/string.h"

/* Bits of the low dword the guest can write: vector, delivery mode,
 * destination mode, polarity, trigger mode, mask (3.2.4; delivery status
 * and remote IRR are read-only).  High dword: the destination, 63:56, and
 * the extended destination 55:48 that a PC's I/O APIC passes on in address
 * bits 11:4 of its message, which carry the interrupt format (bit 48) and
 * the handle of a remappable-format entry (VT-d spec 5.1.5.1). */
#define RTE_WRITABLE_LO 0x1afffULL
#define RTE_WRITABLE_HI 0xffff000000000000ULL

void vioapic_reset(struct vioapic *io, struct vlapic *lapic, u32 active_low_lines)
{
	memset(io, 0, sizeof(*io));
	io->lapic = lapic;
	io->id = VIOAPIC_ID;
	io->active_low_lines = active_low_lines & ((1u << VIOAPIC_PINS) - 1);
	for (unsigned i = 0; i < VIOAPIC_PINS; i++)
		io->rte[i] = VIOAPIC_RTE_MASKED; /* 3.2.4: mask set at reset */
	/* An idle active-low line is electrically high: with the entries'
	 * reset polarity (active high) it is seen as active. */
	io->seen_active = io->active_low_lines;
}

/* The input of pin as the entry sees it: the electrical level compared
 * with the entry's polarity. */
static bool input_active(const struct vioapic *io, unsigned pin)
{
	bool asserted = io->lines & (1u << pin);
	bool high = asserted != !!(io->active_low_lines & (1u << pin));
	bool low_active = io->rte[pin] & VIOAPIC_RTE_POLARITY_LOW;
	return high != low_active;
}

/* Sends the entry's message (3.2.4); a level one sets remote IRR when the
 * local APIC accepts it. */
static void send(struct vioapic *io, unsigned pin)
{
	u64 e = io->rte[pin];
	unsigned mode = (unsigned)(e >> VIOAPIC_RTE_DM_SHIFT) & 7;
	bool level = e & VIOAPIC_RTE_LEVEL;

	if (mode == VLAPIC_DM_EXTINT)
		return; /* the 8259's INTA answers: vioapic_passes_pic */
	if (io->iommu) {
		/* The entry becomes an interrupt message (VT-d spec 5.1.5.1):
		 * destination 63:56 in address 19:12, 55:48 in 11:4 (format
		 * and handle 14:0 in a remappable entry), DM or handle 15 (bit
		 * 11) in address bit 2; vector, delivery and trigger mode in
		 * the data, asserted.  The remapping unit translates it. */
		u64 addr = 0xfee00000ULL | ((e >> 56) << 12) | (((e >> 48) & 0xff) << 4) |
			   (((e >> 11) & 1) << 2);
		u32 data = (u32)(e & VIOAPIC_RTE_VECTOR) | (mode << 8) | (level ? 1u << 15 : 0) |
			   (1u << 14);
		if (viommu_send(io->iommu, VIOMMU_IOAPIC_SID, addr, data, NULL) && level)
			io->rte[pin] |= VIOAPIC_RTE_REMOTE_IRR;
		return;
	}
	if (vlapic_deliver(io->lapic, (u8)(e >> VIOAPIC_RTE_DEST_SHIFT),
			   e & VIOAPIC_RTE_DEST_LOGICAL, mode, (u8)(e & VIOAPIC_RTE_VECTOR),
			   level) &&
	    level)
		io->rte[pin] |= VIOAPIC_RTE_REMOTE_IRR;
}

/* Re-evaluates pin after its line or its entry changed. */
static void update(struct vioapic *io, unsigned pin)
{
	bool active = input_active(io, pin);
	bool was = io->seen_active & (1u << pin);
	u64 e = io->rte[pin];

	if (active)
		io->seen_active |= 1u << pin;
	else
		io->seen_active &= ~(1u << pin);
	if (e & VIOAPIC_RTE_MASKED)
		return; /* a masked edge is lost; a level waits for the unmask */
	if (e & VIOAPIC_RTE_LEVEL) {
		if (active && !(e & VIOAPIC_RTE_REMOTE_IRR))
			send(io, pin);
	} else if (active && !was) {
		send(io, pin);
	}
}

void vioapic_set_pin(struct vioapic *io, unsigned pin, bool asserted)
{
	if (pin >= VIOAPIC_PINS)
		return;
	if (asserted)
		io->lines |= 1u << pin;
	else
		io->lines &= ~(1u << pin);
	update(io, pin);
}

void vioapic_eoi(struct vioapic *io, u8 vector)
{
	for (unsigned pin = 0; pin < VIOAPIC_PINS; pin++) {
		u64 e = io->rte[pin];
		if (!(e & VIOAPIC_RTE_LEVEL) || (e & VIOAPIC_RTE_VECTOR) != vector ||
		    !(e & VIOAPIC_RTE_REMOTE_IRR))
			continue;
		io->rte[pin] &= ~VIOAPIC_RTE_REMOTE_IRR;
		update(io, pin);
	}
}

void vioapic_set_iommu(struct vioapic *io, struct viommu *iommu)
{
	io->iommu = iommu;
}

bool vioapic_passes_pic(const struct vioapic *io)
{
	u64 e = io->rte[0];

	if ((e & VIOAPIC_RTE_MASKED) || ((e >> VIOAPIC_RTE_DM_SHIFT) & 7) != VLAPIC_DM_EXTINT)
		return false;
	return vlapic_message_matches(io->lapic, (u8)(e >> VIOAPIC_RTE_DEST_SHIFT),
				      e & VIOAPIC_RTE_DEST_LOGICAL);
}

static u32 reg_read(const struct vioapic *io, u32 index)
{
	switch (index) {
	case VIOAPIC_REG_ID:
		return io->id << 24;
	case VIOAPIC_REG_VER:
		/* 3.2.2: maximum redirection entry in 23:16, version in 7:0 */
		return ((VIOAPIC_PINS - 1) << 16) | VIOAPIC_VERSION;
	case VIOAPIC_REG_ARB:
		return io->id << 24; /* 3.2.3: loaded from the ID */
	default:
		break;
	}
	if (index >= VIOAPIC_REG_REDTBL && index < VIOAPIC_REG_REDTBL + 2 * VIOAPIC_PINS) {
		u64 e = io->rte[(index - VIOAPIC_REG_REDTBL) / 2];
		return index & 1 ? (u32)(e >> 32) : (u32)e;
	}
	return 0; /* undefined registers read 0 */
}

static void reg_write(struct vioapic *io, u32 index, u32 value)
{
	if (index == VIOAPIC_REG_ID) {
		io->id = (value >> 24) & 0xf; /* 3.2.1: ID in 27:24 */
		return;
	}
	if (index < VIOAPIC_REG_REDTBL || index >= VIOAPIC_REG_REDTBL + 2 * VIOAPIC_PINS)
		return; /* version, arbitration and undefined: read-only */
	unsigned pin = (index - VIOAPIC_REG_REDTBL) / 2;
	u64 e = io->rte[pin];
	if (index & 1) {
		e = (e & ~RTE_WRITABLE_HI) | (((u64)value << 32) & RTE_WRITABLE_HI);
	} else {
		e = (e & ~RTE_WRITABLE_LO) | (value & RTE_WRITABLE_LO);
		/* Remote IRR is meaningless for edge entries and cleared when
		 * the entry becomes edge-triggered; Linux relies on that to
		 * end a level interrupt on I/O APICs without an EOI register
		 * (version 0x11 has none). */
		if (!(e & VIOAPIC_RTE_LEVEL))
			e &= ~VIOAPIC_RTE_REMOTE_IRR;
	}
	io->rte[pin] = e;
	/* A polarity change can look like an edge; an unmask sends a level
	 * interrupt whose line is active. */
	update(io, pin);
}

u64 vioapic_mmio_read(struct vioapic *io, u32 offset, unsigned size)
{
	u32 v;

	offset &= 0xfff;
	if (size > 4 || (offset & 3) + size > 4)
		return 0; /* a read across a dword: undefined, answered 0 */
	switch (offset & ~3u) {
	case VIOAPIC_IOREGSEL:
		v = io->ioregsel;
		break;
	case VIOAPIC_IOWIN:
		v = reg_read(io, io->ioregsel);
		break;
	default:
		return 0;
	}
	v >>= 8 * (offset & 3);
	return size == 4 ? v : v & ((1u << (8 * size)) - 1);
}

void vioapic_mmio_write(struct vioapic *io, u32 offset, unsigned size, u64 value)
{
	offset &= 0xfff;
	/* IOREGSEL: bits 7:0 select the register (3.1.1); a byte write to
	 * its first byte is common and sets them. */
	if (offset == VIOAPIC_IOREGSEL && (size == 1 || size == 2 || size == 4)) {
		io->ioregsel = (u32)value & 0xff;
		return;
	}
	if (offset == VIOAPIC_IOWIN && size == 4)
		reg_write(io, io->ioregsel, (u32)value);
	/* anything else: ignored (the registers are dword-only, 3.0) */
}
