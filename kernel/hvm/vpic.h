/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The two cascaded 8259A programmable interrupt controllers of a PC (Intel
 * 8259A datasheet; ELCR from the PIIX/ICH datasheets): master at 0x20-0x21
 * with the slave's INT on its IR2, slave at 0xa0-0xa1, edge/level control
 * at 0x4d0-0x4d1.  Devices drive lines with vpic_set_irq(); the CPU side is
 * vpic_pending() (the vector INTR would deliver) and vpic_ack() (the INTA
 * cycle).
 */
#ifndef PARTITA_HVM_VPIC_H
#define PARTITA_HVM_VPIC_H

#include "kernel/lib/types.h"

struct vpic_chip {
	u8 irr, isr, imr;
	u8 lines;	 /* input levels as last driven */
	u8 elcr;	 /* 1: level triggered */
	u8 elcr_mask;	 /* which ELCR bits exist */
	u8 vector_base;	 /* ICW2 & 0xf8 */
	u8 priority_add; /* line with the highest priority (rotation) */
	u8 icw3;
	u8 init_step; /* 0: ready; 2, 3, 4: expecting ICW2..4 */
	bool icw4_needed;
	bool single;   /* ICW1 SNGL */
	bool auto_eoi; /* ICW4 AEOI */
	bool rotate_on_aeoi;
	bool sfnm;	   /* special fully nested mode (ICW4) */
	bool special_mask; /* OCW3 SMM */
	bool read_isr;	   /* OCW3 RR/RIS: port reads return ISR */
	bool poll;	   /* OCW3 P: the next read is a poll */
};

struct vpic {
	struct vpic_chip chip[2]; /* master, slave */
};

void vpic_reset(struct vpic *p);

/** Port access (0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1); one byte. */
u8 vpic_read(struct vpic *p, u16 port);
void vpic_write(struct vpic *p, u16 port, u8 value);

/** Drives line irq (0-15) to level (true: asserted). */
void vpic_set_irq(struct vpic *p, unsigned irq, bool level);

/** The vector the PIC's INTR output requests now, or -1. */
int vpic_pending(const struct vpic *p);

/** The INTA cycle: returns the vector (a spurious IRQ7/IRQ15 vector if the
 *  request went away) and moves its IRQ to in-service.  -1 if INTR is low. */
int vpic_ack(struct vpic *p);

#endif
