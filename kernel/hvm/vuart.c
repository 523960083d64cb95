/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The 16550A (see vuart.h).  Register map and bits from the PC16550D
 * datasheet, Table II "Summary of Registers"; interrupt priorities from
 * Table IV "Interrupt Control Functions".  The transmitter has no delay
 * while the partition's console queue has room: a byte written to THR is in
 * the console at once, and THR is empty again.  When the queue is full (its
 * lines wait for the partition's windows to reach the serial line), LSR
 * shows the transmitter busy, as a real UART's does at its baud rate, and
 * the THRE interrupt comes when the queue has room again (vuart_poll).
 *
 * The receiver FIFO is filled from the console's input ring only while it
 * has room, so it never overruns (LSR.OE stays 0): bytes wait in the ring,
 * which is bounded and counts what it drops.  With FIFOs on, the
 * received-data interrupt is "data available" (IIR 0x04) at or above the
 * trigger level of FCR bits 7:6 and "character timeout" (IIR 0x0c) below
 * it; typed bytes arrive here in bursts between the guest's runs, so the
 * timeout (four character times without a read) is taken as past at once.
 *
 * The IRQ is not gated by MCR OUT2 (as in QEMU's 16550 model): guests that
 * are tested there do not set OUT2 either.
 */
#include "kernel/hvm/vuart.h"
#include "kernel/console.h"
#include "kernel/lib/string.h"

#define IER_RDI 0x01  /* received data available */
#define IER_THRI 0x02 /* transmitter holding register empty */
#define LCR_DLAB 0x80
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define FCR_ENABLE 0x01

void vuart_reset(struct vuart *u, struct console *console)
{
	memset(u, 0, sizeof(*u));
	u->console = console;
	if (console)
		console->takes_input = true;
	u->dll = 0x0c; /* 9600 baud, as a BIOS leaves it */
	u->lcr = 0x03;
}

/* THR is "empty" while the console can take a whole line more, and while
 * another partition has the terminal raw: then this console's lines are
 * dropped when its queue is full, not refused (console_set_raw). */
static bool tx_ready(const struct vuart *u)
{
	const struct console *raw;

	if (!u->console || console_room(u->console) >= CONSOLE_LINE_WORST)
		return true;
	raw = console_raw_owner();
	return raw && raw != u->console;
}

/* The receiver FIFO's depth: 16 with FIFOs on (FCR bit 0), else the one
 * RBR of a 16450. */
static unsigned rx_depth(const struct vuart *u)
{
	return u->fcr & FCR_ENABLE ? VUART_FIFO : 1;
}

static void rx_push(struct vuart *u, u8 b)
{
	if (u->rx_count >= rx_depth(u))
		return; /* overrun: the byte is lost (only in loopback) */
	u->rx_fifo[(u->rx_head + u->rx_count) % VUART_FIFO] = b;
	u->rx_count++;
}

static void rx_clear(struct vuart *u)
{
	u->rx_head = 0;
	u->rx_count = 0;
}

void vuart_poll(struct vuart *u)
{
	if (u->tx_blocked && tx_ready(u)) {
		u->tx_blocked = false;
		u->thre_irq = true;
	}
	/* In loopback the receiver hears only the transmitter (datasheet,
	 * MCR bit 4): typed bytes wait in the ring meanwhile. */
	while (u->console && !(u->mcr & MCR_LOOP) && u->rx_count < rx_depth(u) &&
	       console_input_pending(u->console))
		rx_push(u, (u8)console_input_get(u->console));
}

bool vuart_irq(const struct vuart *u)
{
	return ((u->ier & IER_RDI) && u->rx_count) || ((u->ier & IER_THRI) && u->thre_irq);
}

/* FCR bits 7:6: the receiver FIFO's interrupt trigger level. */
static unsigned rx_trigger(const struct vuart *u)
{
	static const u8 level[4] = { 1, 4, 8, 14 };

	return level[u->fcr >> 6];
}

/* IIR: highest-priority pending interrupt (Table IV); bits 7:6 say FIFOs
 * on, which makes Linux identify a 16550A. */
static u8 iir(struct vuart *u)
{
	u8 fifo = u->fcr & FCR_ENABLE ? 0xc0 : 0;

	/* Receiver line status (priority 1) never arises: no overrun, parity,
	 * framing or break on a line with no wire. */
	if ((u->ier & IER_RDI) && u->rx_count)
		return fifo | (fifo && u->rx_count < rx_trigger(u) ? 0x0c : 0x04);
	if ((u->ier & IER_THRI) && u->thre_irq) {
		u->thre_irq = false; /* reading IIR with THRE as source clears it */
		return fifo | 0x02;
	}
	return fifo | 0x01; /* no interrupt pending */
}

/* MSR: outside loopback, carrier, DSR and CTS present; in loopback the
 * modem outputs come back (DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD). */
static u8 msr(const struct vuart *u)
{
	if (!(u->mcr & MCR_LOOP))
		return 0xb0;
	return (u8)(((u->mcr & 0x02) << 3) | ((u->mcr & 0x01) << 5) | ((u->mcr & 0x04) << 4) |
		    ((u->mcr & 0x08) << 4));
}

u8 vuart_read(struct vuart *u, unsigned offset)
{
	bool dlab = u->lcr & LCR_DLAB;

	switch (offset & 7) {
	case 0:
		if (dlab)
			return u->dll;
		if (u->rx_count) {
			u->rbr = u->rx_fifo[u->rx_head];
			u->rx_head = (u8)((u->rx_head + 1) % VUART_FIFO);
			u->rx_count--;
		}
		return u->rbr;
	case 1:
		return dlab ? u->dlm : u->ier;
	case 2:
		return iir(u);
	case 3:
		return u->lcr;
	case 4:
		return u->mcr;
	case 5:
		return (tx_ready(u) ? LSR_THRE | LSR_TEMT : 0) | (u->rx_count ? LSR_DR : 0);
	case 6:
		return msr(u);
	default:
		return u->scr;
	}
}

void vuart_write(struct vuart *u, unsigned offset, u8 v)
{
	bool dlab = u->lcr & LCR_DLAB;

	switch (offset & 7) {
	case 0:
		if (dlab) {
			u->dll = v;
			break;
		}
		if (u->mcr & MCR_LOOP) {
			rx_push(u, v); /* loopback: the byte comes back */
		} else if (u->console) {
			/* Written while LSR showed it busy: the byte is lost,
			 * as it would be on a real UART. */
			char c = (char)v;
			console_write(u->console, &c, 1, ~0ULL);
		}
		if (tx_ready(u))
			u->thre_irq = true; /* THR is empty again at once */
		else
			u->tx_blocked = true;
		break;
	case 1:
		if (dlab) {
			u->dlm = v;
			break;
		}
		/* Enabling the THRE interrupt while THR is empty raises it. */
		if ((v & IER_THRI) && !(u->ier & IER_THRI))
			u->thre_irq = true;
		u->ier = v & 0x0f;
		break;
	case 2:
		/* Bit 1 clears the receiver FIFO, and so does a change of bit 0
		 * (datasheet, "FIFO Control Register"); bits 1 and 2
		 * self-clear. */
		if ((v & 0x02) || ((v ^ u->fcr) & FCR_ENABLE))
			rx_clear(u);
		u->fcr = v & 0xc9;
		if (!(v & FCR_ENABLE))
			u->fcr = 0;
		break;
	case 3:
		u->lcr = v;
		break;
	case 4:
		u->mcr = v & 0x1f;
		break;
	case 5:
	case 6:
		break; /* LSR, MSR: writes have no defined effect here */
	default:
		u->scr = v;
		break;
	}
}
