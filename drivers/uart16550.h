/*
 * The 16550 UART that carries the machine's serial console (COM1).
 */
#ifndef PARTITA_DRIVERS_UART16550_H
#define PARTITA_DRIVERS_UART16550_H

#include "kernel/types.h"

#define UART_COM1 0x3f8

/** Programs COM1 for 115200 baud, 8N1, FIFOs on, interrupts off. */
void uart_init(void);

/** Writes one byte; "\n" is sent as "\r\n".  Gives up on a byte after a
 *  bounded wait, so a missing or stuck UART cannot hang the core. */
void uart_putc(char c);

void uart_write(const char *s, size_t len);

#endif
