/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the virtual I/O APIC (kernel/hvm/vioapic.c) and of the
 * local APIC's side of it (messages, level EOI broadcast; vlapic.c):
 * registers through IOREGSEL/IOWIN with hostile indices and sizes, edge and
 * level delivery, remote IRR, masking, polarity, destinations, ExtINT.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/errno.h"
#include "kernel/hvm/vioapic.h"
#include "kernel/hvm/vlapic.h"
#include "kernel/log.h"

static int log_count;

void log_line(const char *fmt, ...)
{
	(void)fmt;
	log_count++;
}

bool log_guest(enum log_kind kind, const char *fmt, ...)
{
	(void)kind;
	(void)fmt;
	log_count++;
	return true;
}

static struct vlapic a;
static struct vioapic io;

static void eoi_hook(void *ctx, u8 vector)
{
	vioapic_eoi(ctx, vector);
}

static int setup(void **state)
{
	(void)state;
	log_count = 0;
	vlapic_reset(&a, "linux", 1000000000ULL, 0);
	vlapic_set_eoi_hook(&a, eoi_hook, &io);
	vlapic_mmio_write(&a, 0, APIC_SVR, 4, APIC_SVR_ENABLE | 0xff);
	vioapic_reset(&io, &a, 1u << 9);
	return 0;
}

static u32 rd(u32 index)
{
	vioapic_mmio_write(&io, VIOAPIC_IOREGSEL, 4, index);
	return (u32)vioapic_mmio_read(&io, VIOAPIC_IOWIN, 4);
}

static void wr(u32 index, u32 v)
{
	vioapic_mmio_write(&io, VIOAPIC_IOREGSEL, 4, index);
	vioapic_mmio_write(&io, VIOAPIC_IOWIN, 4, v);
}

static void set_rte(unsigned pin, u64 e)
{
	wr(0x11 + 2 * pin, (u32)(e >> 32));
	wr(0x10 + 2 * pin, (u32)e);
}

static u64 get_rte(unsigned pin)
{
	return rd(0x10 + 2 * pin) | (u64)rd(0x11 + 2 * pin) << 32;
}

static bool irr(unsigned v)
{
	return a.irr[v / 32] & (1u << (v % 32));
}

/* The guest takes the interrupt and ends it. */
static void take_and_eoi(int vector)
{
	assert_int_equal(vlapic_pending(&a), vector);
	vlapic_ack(&a, vector);
	vlapic_mmio_write(&a, 0, APIC_EOI, 4, 0);
}

static void registers_at_reset(void **state)
{
	(void)state;
	assert_int_equal(rd(VIOAPIC_REG_ID), 1u << 24);
	assert_int_equal(rd(VIOAPIC_REG_VER), 0x00170011);
	assert_int_equal(rd(VIOAPIC_REG_ARB), 1u << 24);
	for (unsigned pin = 0; pin < 24; pin++)
		assert_int_equal(get_rte(pin), VIOAPIC_RTE_MASKED);
	/* ID: only bits 27:24 are kept; version and arbitration are read-only */
	wr(VIOAPIC_REG_ID, 0xffffffff);
	assert_int_equal(rd(VIOAPIC_REG_ID), 0x0f000000);
	wr(VIOAPIC_REG_VER, 0);
	assert_int_equal(rd(VIOAPIC_REG_VER), 0x00170011);
	/* Entries: delivery status and remote IRR read-only, the high dword
	 * keeps only the destination and the extended destination (55:48,
	 * the format and handle of a remappable entry). */
	set_rte(5, 0xffffffffffffffffULL);
	assert_int_equal(get_rte(5), 0xffff00000001afffULL);
	/* IOREGSEL keeps 8 bits and reads back */
	vioapic_mmio_write(&io, VIOAPIC_IOREGSEL, 4, 0x12345601);
	assert_int_equal(vioapic_mmio_read(&io, VIOAPIC_IOREGSEL, 4), 0x01);
	assert_int_equal(vioapic_mmio_read(&io, VIOAPIC_IOWIN, 4), 0x00170011);
	/* a byte read of IOWIN sees part of the register */
	assert_int_equal(vioapic_mmio_read(&io, VIOAPIC_IOWIN + 2, 1), 0x17);
}

static void hostile_indices_and_sizes(void **state)
{
	(void)state;
	/* indices past the table (0x40 and up) read 0 and ignore writes */
	for (u32 i = 0x40; i < 0x100; i++) {
		wr(i, 0xffffffff);
		assert_int_equal(rd(i), 0);
	}
	for (u32 i = 3; i < 0x10; i++)
		assert_int_equal(rd(i), 0);
	for (unsigned pin = 0; pin < 24; pin++)
		assert_int_equal(get_rte(pin), VIOAPIC_RTE_MASKED);
	/* narrow or misplaced writes to IOWIN are ignored */
	vioapic_mmio_write(&io, VIOAPIC_IOREGSEL, 4, 0x10);
	vioapic_mmio_write(&io, VIOAPIC_IOWIN, 1, 0x00);
	vioapic_mmio_write(&io, VIOAPIC_IOWIN + 1, 4, 0x00);
	vioapic_mmio_write(&io, VIOAPIC_IOWIN, 8, 0x00);
	assert_int_equal(get_rte(0), VIOAPIC_RTE_MASKED);
	/* reads across a dword, 8-byte reads, other offsets: 0 */
	assert_int_equal(vioapic_mmio_read(&io, VIOAPIC_IOWIN + 2, 4), 0);
	assert_int_equal(vioapic_mmio_read(&io, VIOAPIC_IOWIN, 8), 0);
	assert_int_equal(vioapic_mmio_read(&io, 0x20, 4), 0);
	assert_int_equal(vioapic_mmio_read(&io, 0xffc, 4), 0);
	assert_int_equal(vioapic_mmio_read(&io, 0x12345, 4), 0);
	/* pins out of range are ignored */
	vioapic_set_pin(&io, 24, true);
	vioapic_set_pin(&io, 0xffffffffu, true);
	assert_int_equal(io.lines, 0);
}

static void edge_delivery(void **state)
{
	(void)state;
	set_rte(2, 0x30); /* fixed, physical, dest 0, edge, high, unmasked */
	vioapic_set_pin(&io, 2, true);
	assert_true(irr(0x30));
	/* no new edge while high */
	vlapic_ack(&a, 0x30);
	vioapic_set_pin(&io, 2, true);
	assert_false(irr(0x30));
	vioapic_set_pin(&io, 2, false);
	vioapic_set_pin(&io, 2, true);
	assert_true(irr(0x30));
	/* an edge into a masked entry is lost, even after the unmask */
	vioapic_set_pin(&io, 2, false);
	vlapic_ack(&a, 0x30);
	vlapic_mmio_write(&a, 0, APIC_EOI, 4, 0);
	vlapic_mmio_write(&a, 0, APIC_EOI, 4, 0);
	set_rte(2, 0x30 | VIOAPIC_RTE_MASKED);
	vioapic_set_pin(&io, 2, true);
	vioapic_set_pin(&io, 2, false);
	set_rte(2, 0x30);
	assert_false(irr(0x30));
	assert_int_equal(get_rte(2) & VIOAPIC_RTE_REMOTE_IRR, 0);
}

static void level_remote_irr_and_eoi(void **state)
{
	(void)state;
	set_rte(10, 0x41 | VIOAPIC_RTE_LEVEL);
	vioapic_set_pin(&io, 10, true);
	assert_true(irr(0x41));
	assert_true(get_rte(10) & VIOAPIC_RTE_REMOTE_IRR);
	/* taken; the line stays high: nothing new until the EOI */
	vlapic_ack(&a, 0x41);
	vioapic_set_pin(&io, 10, true);
	assert_false(irr(0x41));
	/* EOI while still asserted: remote IRR cleared, sent again */
	vlapic_mmio_write(&a, 0, APIC_EOI, 4, 0);
	assert_true(irr(0x41));
	assert_true(get_rte(10) & VIOAPIC_RTE_REMOTE_IRR);
	/* the device lowers its line; the EOI ends it */
	vioapic_set_pin(&io, 10, false);
	take_and_eoi(0x41);
	assert_int_equal(get_rte(10) & VIOAPIC_RTE_REMOTE_IRR, 0);
	assert_int_equal(vlapic_pending(&a), -1);
	/* an EOI of an edge vector or another vector leaves remote IRR */
	vioapic_set_pin(&io, 10, true);
	assert_true(get_rte(10) & VIOAPIC_RTE_REMOTE_IRR);
	vioapic_eoi(&io, 0x42);
	assert_true(get_rte(10) & VIOAPIC_RTE_REMOTE_IRR);
	/* switching to edge clears remote IRR (Linux's EOI for 0x11 parts) */
	set_rte(10, 0x41 | VIOAPIC_RTE_MASKED);
	assert_int_equal(get_rte(10) & VIOAPIC_RTE_REMOTE_IRR, 0);
	/* a level line held while masked is delivered at the unmask */
	vlapic_ack(&a, 0x41);
	vlapic_mmio_write(&a, 0, APIC_EOI, 4, 0);
	set_rte(10, 0x41 | VIOAPIC_RTE_LEVEL | VIOAPIC_RTE_MASKED);
	assert_false(irr(0x41));
	set_rte(10, 0x41 | VIOAPIC_RTE_LEVEL);
	assert_true(irr(0x41));
}

static void polarity(void **state)
{
	(void)state;
	/* pin 9 is wired active low (the SCI): idle it is high, so an entry
	 * left active high sees it active at once, as hardware would */
	set_rte(9, 0x50 | VIOAPIC_RTE_LEVEL | VIOAPIC_RTE_POLARITY_LOW);
	assert_false(irr(0x50));
	vioapic_set_pin(&io, 9, true);
	assert_true(irr(0x50));
	vioapic_set_pin(&io, 9, false);
	take_and_eoi(0x50);
	assert_int_equal(vlapic_pending(&a), -1);
	set_rte(9, 0x50 | VIOAPIC_RTE_LEVEL);
	assert_true(irr(0x50));
	/* an active-high line with an active-low entry: active while idle */
	set_rte(9, 0x50 | VIOAPIC_RTE_LEVEL | VIOAPIC_RTE_POLARITY_LOW | VIOAPIC_RTE_MASKED);
	take_and_eoi(0x50);
	set_rte(4, 0x51 | VIOAPIC_RTE_POLARITY_LOW);
	assert_true(irr(0x51));
}

static void destinations(void **state)
{
	(void)state;
	/* physical: our ID (0) or broadcast 0xff; not ID 3 */
	set_rte(3, 0x60 | (3ULL << 56));
	vioapic_set_pin(&io, 3, true);
	assert_false(irr(0x60));
	vioapic_set_pin(&io, 3, false);
	set_rte(3, 0x60 | (0xffULL << 56));
	vioapic_set_pin(&io, 3, true);
	assert_true(irr(0x60));
	vioapic_set_pin(&io, 3, false);
	vlapic_ack(&a, 0x60);
	vlapic_mmio_write(&a, 0, APIC_EOI, 4, 0);
	/* logical, flat model: LDR bit 0 */
	vlapic_mmio_write(&a, 0, APIC_LDR, 4, 0x01000000);
	set_rte(3, 0x61 | VIOAPIC_RTE_DEST_LOGICAL | (0x02ULL << 56));
	vioapic_set_pin(&io, 3, true);
	assert_false(irr(0x61));
	vioapic_set_pin(&io, 3, false);
	set_rte(3, 0x61 | VIOAPIC_RTE_DEST_LOGICAL | (0x03ULL << 56));
	vioapic_set_pin(&io, 3, true);
	assert_true(irr(0x61));
	/* a software-disabled APIC accepts nothing */
	vioapic_set_pin(&io, 3, false);
	vlapic_ack(&a, 0x61);
	vlapic_mmio_write(&a, 0, APIC_EOI, 4, 0);
	vlapic_mmio_write(&a, 0, APIC_SVR, 4, 0xff);
	vioapic_set_pin(&io, 3, true);
	assert_false(irr(0x61));
}

static void delivery_modes(void **state)
{
	(void)state;
	/* illegal vector: the APIC's receive-illegal-vector error */
	set_rte(5, 0x05);
	vioapic_set_pin(&io, 5, true);
	vlapic_mmio_write(&a, 0, APIC_ESR, 4, 0);
	assert_int_equal(vlapic_mmio_read(&a, 0, APIC_ESR, 4) & (1u << 6), 1u << 6);
	/* NMI, SMI, INIT, reserved modes: not delivered, reported once */
	for (unsigned mode = 2; mode < 7; mode++) {
		set_rte(6, 0x70 | ((u64)mode << 8));
		vioapic_set_pin(&io, 6, true);
		vioapic_set_pin(&io, 6, false);
	}
	assert_false(irr(0x70));
	assert_int_equal(log_count, 1);
	/* ExtINT on pin 0 passes the 8259 through; masked or elsewhere not */
	assert_false(vioapic_passes_pic(&io));
	set_rte(0, 7ULL << 8);
	assert_true(vioapic_passes_pic(&io));
	set_rte(0, (7ULL << 8) | (5ULL << 56));
	assert_false(vioapic_passes_pic(&io));
	set_rte(0, (7ULL << 8) | VIOAPIC_RTE_MASKED);
	assert_false(vioapic_passes_pic(&io));
	set_rte(1, 7ULL << 8);
	assert_false(vioapic_passes_pic(&io));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(registers_at_reset, setup),
		cmocka_unit_test_setup(hostile_indices_and_sizes, setup),
		cmocka_unit_test_setup(edge_delivery, setup),
		cmocka_unit_test_setup(level_remote_irr_and_eoi, setup),
		cmocka_unit_test_setup(polarity, setup),
		cmocka_unit_test_setup(destinations, setup),
		cmocka_unit_test_setup(delivery_modes, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
