/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A 16550A UART at 0x3f8-0x3ff (COM1, IRQ4) whose transmitter writes into
 * the partition's console (National Semiconductor / TI PC16550D datasheet).
 * Its receiver takes what is typed on the machine's serial line while the
 * partition has the console's focus (the console's input ring, filled by
 * kernel/log.c), and the byte looped back in loopback mode, which Linux's
 * probe uses.  The transmitter is empty whenever the partition's console
 * queue has room.  The THRE and received-data interrupts are emulated,
 * because Linux's 8250 driver sends what user space writes to the tty, and
 * reads what is typed, from its interrupt handler.
 */
#ifndef PARTITA_HVM_VUART_H
#define PARTITA_HVM_VUART_H

#include "kernel/lib/types.h"

struct console;

#define VUART_BASE 0x3f8
#define VUART_IRQ 4
#define VUART_FIFO 16

struct vuart {
	struct console *console; /* where THR bytes go; NULL: dropped */
	u8 ier, lcr, mcr, scr, fcr, dll, dlm;
	u8 rbr;			/* the last byte read from RBR */
	u8 rx_fifo[VUART_FIFO]; /* the receiver FIFO (1 byte deep with FIFOs off) */
	u8 rx_head, rx_count;
	bool thre_irq;	 /* THRE interrupt pending (cleared by IIR read or a
	                  * THR write, set again when THR empties) */
	bool tx_blocked; /* the console was full after the last THR write */
};

void vuart_reset(struct vuart *u, struct console *console);

/** offset 0-7 from VUART_BASE; one byte. */
u8 vuart_read(struct vuart *u, unsigned offset);
void vuart_write(struct vuart *u, unsigned offset, u8 value);

/** Raises the THRE interrupt when a transmitter that was busy (its console
 *  queue full) has room again, and moves typed bytes from the console's
 *  input ring into the receiver FIFO while it has room; called before each
 *  entry. */
void vuart_poll(struct vuart *u);

/** The level of the UART's interrupt output (IRQ4). */
bool vuart_irq(const struct vuart *u);

#endif
