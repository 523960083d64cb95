/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The 8259A pair (see vpic.h).  References are to the Intel 8259A datasheet
 * (order 231468): "Interrupt Sequence", "Programming the 8259A" (ICW1-4,
 * OCW1-3), "Fully Nested Mode", "End of Interrupt", "Automatic Rotation",
 * "Special Mask Mode", "Poll Command", "Edge and Level Triggered Modes".
 * Priorities are counted from priority_add: line priority_add is the
 * highest, (priority_add + 7) & 7 the lowest.
 */
#include "kernel/hvm/vpic.h"
#include "kernel/lib/string.h"

#define MASTER 0
#define SLAVE 1
#define CASCADE_IRQ 2

static void chip_init(struct vpic_chip *c, u8 elcr_mask)
{
	u8 elcr = c->elcr;

	memset(c, 0, sizeof(*c));
	c->elcr = elcr & elcr_mask;
	c->elcr_mask = elcr_mask;
}

void vpic_reset(struct vpic *p)
{
	memset(p, 0, sizeof(*p));
	/* IRQ0, 1, 2 (master) and 8, 13 (slave) are always edge (ELCR
	 * description in the PIIX4/ICH datasheets). */
	chip_init(&p->chip[MASTER], 0xf8);
	chip_init(&p->chip[SLAVE], 0xde);
	p->chip[MASTER].vector_base = 0x08; /* the BIOS's real-mode layout */
	p->chip[SLAVE].vector_base = 0x70;
	p->chip[MASTER].icw3 = 1u << CASCADE_IRQ;
	p->chip[SLAVE].icw3 = CASCADE_IRQ;
}

/* Priority rank (0 highest) of the best line in mask, 8 if none. */
static unsigned best_rank(const struct vpic_chip *c, u8 mask)
{
	if (!mask)
		return 8;
	for (unsigned r = 0; r < 8; r++)
		if (mask & (1u << ((r + c->priority_add) & 7)))
			return r;
	return 8;
}

/* The line this chip would request now (fully nested mode: only a request
 * of higher priority than everything in service), or -1. */
static int chip_request(const struct vpic_chip *c, bool master)
{
	unsigned req = best_rank(c, c->irr & ~c->imr);
	u8 in_service = c->isr;

	if (req == 8)
		return -1;
	/* Special mask mode: masked lines do not block lower ones. */
	if (c->special_mask)
		in_service &= ~c->imr;
	/* Special fully nested mode: the slave may interrupt again while its
	 * cascade line is in service on the master. */
	if (master && c->sfnm)
		in_service &= ~(1u << CASCADE_IRQ);
	if (req < best_rank(c, in_service))
		return (int)((req + c->priority_add) & 7);
	return -1;
}

static void chip_set_irq(struct vpic_chip *c, unsigned line, bool level)
{
	u8 bit = (u8)(1u << line);

	if (c->elcr & bit) {
		/* level: IRR follows the line */
		if (level)
			c->irr |= bit;
		else
			c->irr &= ~bit;
	} else if (level && !(c->lines & bit)) {
		c->irr |= bit; /* edge: a rising edge sets IRR */
	}
	if (level)
		c->lines |= bit;
	else
		c->lines &= ~bit;
}

/* The slave's INT output is the master's IR2.  It is followed as a level
 * (a request that goes away before INTA is withdrawn, instead of becoming
 * the spurious IRQ15 a real pair could give). */
static void update_cascade(struct vpic *p)
{
	struct vpic_chip *m = &p->chip[MASTER];
	u8 bit = 1u << CASCADE_IRQ;

	if (chip_request(&p->chip[SLAVE], false) >= 0) {
		m->irr |= bit;
		m->lines |= bit;
	} else {
		m->irr &= (u8)~bit;
		m->lines &= (u8)~bit;
	}
}

void vpic_set_irq(struct vpic *p, unsigned irq, bool level)
{
	if (irq >= 16 || irq == CASCADE_IRQ)
		return;
	if (irq < 8) {
		chip_set_irq(&p->chip[MASTER], irq, level);
	} else {
		chip_set_irq(&p->chip[SLAVE], irq - 8, level);
		update_cascade(p);
	}
}

int vpic_pending(const struct vpic *p)
{
	int irq = chip_request(&p->chip[MASTER], true);

	if (irq < 0)
		return -1;
	if (irq == CASCADE_IRQ) {
		int s = chip_request(&p->chip[SLAVE], false);
		return p->chip[SLAVE].vector_base + (s < 0 ? 7 : s);
	}
	return p->chip[MASTER].vector_base + irq;
}

/* INTA on one chip for line irq: in service (unless AEOI), request
 * consumed (an edge needs a new edge; a level line re-requests while high). */
static void chip_ack(struct vpic_chip *c, int irq)
{
	u8 bit = (u8)(1u << irq);

	if (c->auto_eoi) {
		if (c->rotate_on_aeoi)
			c->priority_add = (u8)((irq + 1) & 7);
	} else {
		c->isr |= bit;
	}
	if (!(c->elcr & bit))
		c->irr &= ~bit;
}

int vpic_ack(struct vpic *p)
{
	struct vpic_chip *m = &p->chip[MASTER], *s = &p->chip[SLAVE];
	int irq = chip_request(m, true), vector;

	if (irq < 0)
		return -1;
	chip_ack(m, irq);
	if (irq == CASCADE_IRQ) {
		int sirq = chip_request(s, false);
		if (sirq < 0) {
			/* the request went away: spurious IRQ15, nothing in
			 * service on the slave ("Interrupt Sequence") */
			vector = s->vector_base + 7;
		} else {
			chip_ack(s, sirq);
			vector = s->vector_base + sirq;
		}
		update_cascade(p);
	} else {
		vector = m->vector_base + irq;
	}
	return vector;
}

/* Poll command: the read is an INTA; bit 7 says whether there was a
 * request, bits 2:0 the line. */
static u8 chip_poll(struct vpic *p, unsigned which)
{
	struct vpic_chip *c = &p->chip[which];
	int irq = chip_request(c, which == MASTER);

	c->poll = false;
	if (irq < 0)
		return 0;
	chip_ack(c, irq);
	if (which == SLAVE)
		update_cascade(p);
	return (u8)(0x80 | irq);
}

u8 vpic_read(struct vpic *p, u16 port)
{
	if (port == 0x4d0 || port == 0x4d1)
		return p->chip[port & 1].elcr;
	unsigned which = port >= 0xa0 ? SLAVE : MASTER;
	struct vpic_chip *c = &p->chip[which];

	if (c->poll)
		return chip_poll(p, which);
	if (port & 1)
		return c->imr;
	return c->read_isr ? c->isr : c->irr;
}

/* Non-specific or specific EOI, with optional rotation (OCW2). */
static void ocw2(struct vpic_chip *c, u8 v)
{
	unsigned cmd = v >> 5, level = v & 7;
	int irq;

	switch (cmd) {
	case 0: /* clear rotate in AEOI mode */
		c->rotate_on_aeoi = false;
		break;
	case 4: /* set rotate in AEOI mode */
		c->rotate_on_aeoi = true;
		break;
	case 1: /* non-specific EOI */
	case 5: /* rotate on non-specific EOI */
		irq = best_rank(c, c->isr);
		if (irq == 8)
			break;
		irq = (irq + c->priority_add) & 7;
		c->isr &= (u8) ~(1u << irq);
		if (cmd == 5)
			c->priority_add = (u8)((irq + 1) & 7);
		break;
	case 3: /* specific EOI */
	case 7: /* rotate on specific EOI */
		c->isr &= (u8) ~(1u << level);
		if (cmd == 7)
			c->priority_add = (u8)((level + 1) & 7);
		break;
	case 6: /* set priority: level becomes the lowest */
		c->priority_add = (u8)((level + 1) & 7);
		break;
	default: /* 2: no operation */
		break;
	}
}

void vpic_write(struct vpic *p, u16 port, u8 v)
{
	if (port == 0x4d0 || port == 0x4d1) {
		struct vpic_chip *c = &p->chip[port & 1];
		c->elcr = v & c->elcr_mask;
		return;
	}
	unsigned which = port >= 0xa0 ? SLAVE : MASTER;
	struct vpic_chip *c = &p->chip[which];

	if (!(port & 1)) {
		if (v & 0x10) {
			/* ICW1: the edge-sense circuit is reset, IMR cleared,
			 * IR7 lowest priority, special mask mode off, reads
			 * return IRR; without IC4 the ICW4 functions are 0. */
			u8 elcr = c->elcr, mask = c->elcr_mask, base = c->vector_base,
			   icw3 = c->icw3;
			memset(c, 0, sizeof(*c));
			c->elcr = elcr;
			c->elcr_mask = mask;
			c->vector_base = base;
			c->icw3 = icw3;
			c->icw4_needed = v & 1;
			c->single = v & 2;
			c->init_step = 2;
		} else if (v & 0x08) {
			/* OCW3 */
			if (v & 0x04)
				c->poll = true;
			if (v & 0x02)
				c->read_isr = v & 0x01;
			if (v & 0x40)
				c->special_mask = v & 0x20;
		} else {
			ocw2(c, v);
		}
	} else {
		switch (c->init_step) {
		case 2: /* ICW2: vector base (T7-T3 in 8086 mode) */
			c->vector_base = v & 0xf8;
			c->init_step = c->single ? (c->icw4_needed ? 4 : 0) : 3;
			break;
		case 3: /* ICW3: cascade wiring, kept for reads only */
			c->icw3 = v;
			c->init_step = c->icw4_needed ? 4 : 0;
			break;
		case 4: /* ICW4: AEOI (bit 1), SFNM (bit 4) */
			c->auto_eoi = v & 0x02;
			c->sfnm = v & 0x10;
			c->init_step = 0;
			break;
		default: /* OCW1: the mask */
			c->imr = v;
			break;
		}
	}
	if (which == SLAVE)
		update_cascade(p);
}
