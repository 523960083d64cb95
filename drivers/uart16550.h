/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The 16550 UART that carries the machine's serial console (COM1).
 */
#ifndef PARTITA_DRIVERS_UART16550_H
#define PARTITA_DRIVERS_UART16550_H

#include "kernel/lib/types.h"

#define UART_COM1 0x3f8
#define UART_BAUD 115200

/**
 * Programs COM1 for 115200 baud, 8N1, FIFOs on, interrupts off.  Finds out
 * whether a UART is there at all (its scratch register keeps what is
 * written to it) and how deep its transmit FIFO is (16 bytes on a 16550A,
 * whose IIR then reports the FIFOs enabled; 1 on older parts).  Returns
 * true if a UART answered.
 */
bool uart_init(void);

/** True if uart_init found a UART. */
bool uart_present(void);

/** Bytes the transmitter takes now without waiting: the FIFO's depth when
 *  it is empty (LSR.THRE), else 0.  Without a UART: a large number (the
 *  bytes go nowhere). */
unsigned uart_tx_room(void);

/** Writes one byte to the transmitter; the caller checked uart_tx_room. */
void uart_tx_put(u8 byte);

/** Waits (bounded: a UART that stays busy ~1 ms is taken as broken) until
 *  the transmitter has room, and returns it (at least 1).  Only for the
 *  synchronous paths: boot before partitions run, the end of a run, panics. */
unsigned uart_tx_wait_room(void);

/**
 * Takes one received byte if the receiver holds one (LSR.DR, datasheet
 * "Line Status Register"): returns it, or -1 if none (or no UART).  An
 * overrun the UART reports (LSR.OE: its receive FIFO was full when a byte
 * arrived, so that byte was lost) is counted in *overruns.  Never waits.
 */
int uart_rx_get(u64 *overruns);

/** Nanoseconds the transmitter needs to send a full FIFO at its baud rate:
 *  how long after a busy UART its room comes back. */
u64 uart_fifo_ns(void);

#endif
