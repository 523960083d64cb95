/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The 8254 (see vpit.h).  References are to the Intel 8254 datasheet:
 * "Control Word Format", "Read-Back Command", "Counter Latch Command",
 * "Mode 0" ... "Mode 5", and Figure "Gate Pin Operations Summary".  A counter
 * is represented by the ticks it has counted since its count was loaded:
 * base_ticks before load_time plus the ticks from load_time to now while its
 * gate is high.
 */
#include "kernel/hvm/vpit.h"
#include "kernel/lib/string.h"

#define NSEC 1000000000ULL

static u64 ns_to_ticks(u64 ns)
{
	return ns / NSEC * VPIT_HZ + ns % NSEC * VPIT_HZ / NSEC;
}

/* The first ns at which ticks have been counted (rounded up). */
static u64 ticks_to_ns(u64 ticks)
{
	return ticks / VPIT_HZ * NSEC + (ticks % VPIT_HZ * NSEC + VPIT_HZ - 1) / VPIT_HZ;
}

void vpit_reset(struct vpit *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < 3; i++) {
		t->ch[i].rw = 3;
		t->ch[i].mode = 3;
		t->ch[i].reload = 65536;
		t->ch[i].gate = i != 2; /* channel 2's gate is port 0x61 bit 0 */
	}
}

static u64 ticks(const struct vpit_channel *c, u64 now)
{
	if (!c->counting)
		return 0;
	if (!c->gate || now < c->load_time)
		return c->base_ticks;
	return c->base_ticks + ns_to_ticks(now - c->load_time);
}

static u16 count_at(const struct vpit_channel *c, u64 now)
{
	u64 d = ticks(c, now);

	if (!c->counting)
		return (u16)c->reload;
	switch (c->mode) {
	case 2:
		return (u16)(c->reload - d % c->reload);
	case 3:
		/* square wave: counts down by two (Mode 3) */
		return (u16)(c->reload - (2 * d) % c->reload);
	default:
		return (u16)(c->reload - d); /* modes 0, 1, 4, 5 wrap */
	}
}

static bool out_at(const struct vpit_channel *c, u64 now)
{
	u64 d = ticks(c, now);

	if (!c->counting)
		return c->mode != 0; /* mode 0: low after the control word */
	switch (c->mode) {
	case 0:
	case 1:
		return d >= c->reload;
	case 2:
		/* low for the one clock the count is 1; high with gate low */
		if (!c->gate || c->reload < 2)
			return true;
		return d % c->reload != c->reload - 1;
	case 3:
		if (!c->gate)
			return true;
		return d % c->reload < (c->reload + 1) / 2;
	default: /* 4, 5: a one-clock low pulse at terminal count */
		return d != c->reload;
	}
}

bool vpit_out(const struct vpit *t, unsigned ch, u64 now)
{
	return ch < 3 && out_at(&t->ch[ch], now);
}

/* Rising edges of OUT from the load up to d ticks. */
static u64 edges(const struct vpit_channel *c, u64 d)
{
	switch (c->mode) {
	case 2:
	case 3:
		return d / c->reload;
	case 4:
		return d > c->reload;
	default:
		return d >= c->reload;
	}
}

static void schedule_irq(struct vpit_channel *c, u64 now)
{
	u64 next_tick;

	c->next_irq = 0;
	if (!c->counting)
		return;
	if (c->mode == 2 || c->mode == 3) {
		next_tick = (c->edges_seen + 1) * c->reload;
	} else if (c->edges_seen) {
		return; /* one-shot modes rise once */
	} else {
		next_tick = c->reload + (c->mode == 4);
	}
	c->next_irq = c->load_time + ticks_to_ns(next_tick - c->base_ticks);
	if ((c->mode == 2 || c->mode == 3) && ticks_to_ns(c->reload) < VPIT_MIN_PERIOD_NS &&
	    c->next_irq < now + VPIT_MIN_PERIOD_NS)
		c->next_irq = now + VPIT_MIN_PERIOD_NS;
	if (!c->next_irq)
		c->next_irq = 1;
}

static void load(struct vpit_channel *c, u64 now, u32 count)
{
	if (!count)
		count = c->bcd ? 10000 : 65536; /* 0 is the largest count */
	c->reload = count;
	c->counting = true;
	c->null_count = false;
	c->base_ticks = 0;
	c->load_time = now;
	c->edges_seen = 0;
	schedule_irq(c, now);
}

static u8 status_of(const struct vpit_channel *c, u64 now)
{
	/* Read-Back Command: Status Byte */
	return (u8)((out_at(c, now) ? 0x80 : 0) | (c->null_count ? 0x40 : 0) | (c->rw << 4) |
		    (c->mode << 1) | (c->bcd ? 1 : 0));
}

static void latch_count(struct vpit_channel *c, u64 now)
{
	if (c->count_latched)
		return; /* a second latch before the read is ignored */
	c->count_latched = true;
	c->latch_msb = false;
	c->latch = count_at(c, now);
}

static void control(struct vpit *t, u64 now, u8 v)
{
	unsigned sc = v >> 6;

	if (sc == 3) {
		/* Read-back: bit 5 low latches counts, bit 4 low statuses,
		 * bits 3:1 select counters 2:0. */
		for (unsigned i = 0; i < 3; i++) {
			if (!(v & (2u << i)))
				continue;
			if (!(v & 0x20))
				latch_count(&t->ch[i], now);
			if (!(v & 0x10) && !t->ch[i].status_latched) {
				t->ch[i].status = status_of(&t->ch[i], now);
				t->ch[i].status_latched = true;
			}
		}
		return;
	}
	struct vpit_channel *c = &t->ch[sc];
	unsigned rw = (v >> 4) & 3;
	if (!rw) {
		latch_count(c, now);
		return;
	}
	c->rw = (u8)rw;
	c->mode = (v >> 1) & 7;
	if (c->mode >= 6)
		c->mode -= 4; /* 110, 111 are modes 2, 3 */
	c->bcd = v & 1;
	c->write_msb = c->read_msb = false;
	c->count_latched = c->status_latched = false;
	c->counting = false; /* until a count is written */
	c->null_count = true;
	c->edges_seen = 0;
	c->next_irq = 0;
}

static void data_write(struct vpit_channel *c, u64 now, u8 v)
{
	switch (c->rw) {
	case 1:
		load(c, now, v);
		break;
	case 2:
		load(c, now, (u32)v << 8);
		break;
	default:
		if (!c->write_msb) {
			c->write_lsb = v;
			c->write_msb = true;
			if (c->mode == 0) {
				/* Mode 0: writing the first byte stops the
				 * count and drives OUT low. */
				c->counting = false;
				c->next_irq = 0;
			}
		} else {
			c->write_msb = false;
			load(c, now, c->write_lsb | ((u32)v << 8));
		}
		break;
	}
}

static u8 data_read(struct vpit_channel *c, u64 now)
{
	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	if (c->count_latched) {
		u16 l = c->latch;
		if (c->rw == 1) {
			c->count_latched = false;
			return (u8)l;
		}
		if (c->rw == 2) {
			c->count_latched = false;
			return (u8)(l >> 8);
		}
		if (!c->latch_msb) {
			c->latch_msb = true;
			return (u8)l;
		}
		c->count_latched = false;
		return (u8)(l >> 8);
	}
	u16 n = count_at(c, now);
	if (c->rw == 1)
		return (u8)n;
	if (c->rw == 2)
		return (u8)(n >> 8);
	c->read_msb = !c->read_msb;
	return c->read_msb ? (u8)n : (u8)(n >> 8);
}

/* Channel 2's gate from port 0x61 (Gate Pin Operations Summary). */
static void set_gate(struct vpit_channel *c, u64 now, bool gate)
{
	if (gate == c->gate)
		return;
	if (!gate) {
		c->base_ticks = ticks(c, now); /* pause */
		c->gate = false;
		return;
	}
	c->gate = true;
	c->load_time = now;
	if (c->counting && c->mode != 0 && c->mode != 4) {
		c->base_ticks = 0; /* modes 1, 2, 3, 5: a rising gate reloads */
		c->edges_seen = 0;
	}
}

u8 vpit_read(struct vpit *t, u64 now, u16 port)
{
	if (port == 0x61) {
		/* bit 4 toggles with each DRAM refresh (every 15.085 us);
		 * bit 5 is OUT2 */
		return (u8)(t->port61 | ((now / 15085) & 1 ? 0x10 : 0) |
			    (out_at(&t->ch[2], now) ? 0x20 : 0));
	}
	if (port >= 0x40 && port <= 0x42)
		return data_read(&t->ch[port - 0x40], now);
	return 0xff; /* the control port is write-only */
}

void vpit_write(struct vpit *t, u64 now, u16 port, u8 v)
{
	if (port == 0x61) {
		t->port61 = v & 0x0f;
		set_gate(&t->ch[2], now, v & 1);
	} else if (port == 0x43) {
		control(t, now, v);
	} else if (port >= 0x40 && port <= 0x42) {
		data_write(&t->ch[port - 0x40], now, v);
	}
}

u64 vpit_update(struct vpit *t, u64 now, bool *irq0)
{
	struct vpit_channel *c = &t->ch[0];

	*irq0 = false;
	if (!c->counting)
		return 0;
	u64 e = edges(c, ticks(c, now));
	if (e > c->edges_seen) {
		*irq0 = true;
		c->edges_seen = e;
	}
	schedule_irq(c, now);
	return c->next_irq;
}
