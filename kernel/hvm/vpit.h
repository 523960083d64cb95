/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The 8254 programmable interval timer (Intel 8254 datasheet, order 231164)
 * at ports 0x40-0x43, with the PC's port 0x61 (channel 2 gate in bit 0,
 * channel 2 output in bit 5, refresh toggle in bit 4).  Counters are not
 * stepped: their values and outputs are computed from the time of the
 * access (ns) and the time the count was loaded, at VPIT_HZ.  Channel 0's
 * gate is tied high and its output is IRQ0; channel 1 (DRAM refresh) and
 * channel 2 (speaker, calibration) raise nothing.
 *
 * Modes 0 (interrupt on terminal count), 2 (rate generator) and 3 (square
 * wave) are exact; 1, 4 and 5 count like 0 (enough for probes).  BCD
 * counting is recorded in the status but counters count in binary.
 */
#ifndef PARTITA_HVM_VPIT_H
#define PARTITA_HVM_VPIT_H

#include "kernel/lib/types.h"

#define VPIT_HZ 1193182ULL
#define VPIT_MIN_PERIOD_NS 50000ULL /* channel 0 interrupts no faster */

struct vpit_channel {
	u8 mode; /* 0-5 */
	u8 rw;	 /* 1 LSB, 2 MSB, 3 LSB then MSB */
	bool bcd;
	bool write_msb; /* rw 3: the next write is the MSB */
	bool read_msb;	/* rw 3: the next read is the MSB */
	u8 write_lsb;	/* the LSB waiting for its MSB */
	bool count_latched;
	u16 latch;
	bool latch_msb; /* rw 3: the latched MSB is next */
	bool status_latched;
	u8 status;
	bool null_count; /* a count was written and not yet loaded */
	bool gate;
	bool counting;	/* a count is loaded and the counter runs */
	u32 reload;	/* 1-65536 */
	u64 load_time;	/* ns when counting (re)started */
	u64 base_ticks; /* ticks counted before load_time (gate pauses) */
	u64 edges_seen; /* channel 0: output rising edges already raised */
	u64 next_irq;	/* channel 0: ns of the next rising edge, 0: none */
};

struct vpit {
	struct vpit_channel ch[3];
	u8 port61; /* bits 0-3 as written */
};

void vpit_reset(struct vpit *t);

/** Port access (0x40-0x43, 0x61); one byte; now in ns. */
u8 vpit_read(struct vpit *t, u64 now, u16 port);
void vpit_write(struct vpit *t, u64 now, u16 port, u8 value);

/** The output pin of channel ch at now. */
bool vpit_out(const struct vpit *t, unsigned ch, u64 now);

/** Advances channel 0 to now: *irq0 is set if its output rose since the
 *  last call (several rises are coalesced into one).  Returns the ns of the
 *  next rise, or 0. */
u64 vpit_update(struct vpit *t, u64 now, bool *irq0);

#endif
