/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A 16550A UART at 0x3f8-0x3ff (COM1, IRQ4) whose transmitter writes into
 * the partition's console (National Semiconductor / TI PC16550D datasheet).
 * It has no receiver input: LSR never shows data ready (except the byte
 * looped back in loopback mode, which Linux's probe uses), and the
 * transmitter is empty whenever the partition's console queue has room.  The THRE
 * interrupt is emulated, because Linux's 8250 driver sends what user space
 * writes to the tty only from its interrupt handler.
 */
#ifndef PARTITA_HVM_VUART_H
#define PARTITA_HVM_VUART_H

#include "kernel/lib/types.h"

struct console;

#define VUART_BASE 0x3f8
#define VUART_IRQ 4

struct vuart {
	struct console *console; /* where THR bytes go; NULL: dropped */
	u8 ier, lcr, mcr, scr, fcr, dll, dlm;
	u8 rbr;		 /* loopback: the last byte sent */
	bool rx_ready;	 /* loopback: rbr holds a byte */
	bool thre_irq;	 /* THRE interrupt pending (cleared by IIR read or a
	                  * THR write, set again when THR empties) */
	bool tx_blocked; /* the console was full after the last THR write */
};

void vuart_reset(struct vuart *u, struct console *console);

/** offset 0-7 from VUART_BASE; one byte. */
u8 vuart_read(struct vuart *u, unsigned offset);
void vuart_write(struct vuart *u, unsigned offset, u8 value);

/** Raises the THRE interrupt when a transmitter that was busy (its console
 *  queue full) has room again; called before each entry. */
void vuart_poll(struct vuart *u);

/** The level of the UART's interrupt output (IRQ4). */
bool vuart_irq(const struct vuart *u);

#endif
