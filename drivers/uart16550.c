/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Polled driver for the 16550 UART at COM1, the hypervisor's console.
 * Register layout: PC16550D datasheet, National Semiconductor (1995).
 * It never waits on the transmitter on the console's normal path
 * (kernel/console.c asks for room, then writes at most that much).
 * The receiver is polled too (uart_rx_get, kernel/log.c's log_poll_input):
 * its interrupt stays off, so receiving costs only the time of the CPU that
 * polls, when it chooses to.
 */
#include "drivers/uart16550.h"
#include "arch/x86/cpu.h"

enum {
	UART_THR = 0, /* transmit holding (DLAB=0) */
	UART_IER = 1, /* interrupt enable (DLAB=0) */
	UART_DLL = 0, /* divisor latch low (DLAB=1) */
	UART_DLM = 1, /* divisor latch high (DLAB=1) */
	UART_IIR = 2, /* interrupt identification (read) */
	UART_FCR = 2, /* FIFO control (write) */
	UART_LCR = 3,
	UART_MCR = 4,
	UART_LSR = 5,
	UART_SCR = 7,
};

#define LSR_DATA_READY 0x01
#define LSR_OVERRUN 0x02
#define LSR_THR_EMPTY 0x20
#define LCR_DLAB 0x80
#define LCR_8N1 0x03
#define IIR_FIFOS_ENABLED 0xc0
#define NO_UART_ROOM 4096

static bool present;
static unsigned fifo_depth = 1;

bool uart_init(void)
{
	/* The scratch register (datasheet: "Scratchpad Register") holds any
	 * byte; where nothing answers, reads float to all-ones. */
	outb(UART_COM1 + UART_SCR, 0x5a);
	bool a = inb(UART_COM1 + UART_SCR) == 0x5a;
	outb(UART_COM1 + UART_SCR, 0xa5);
	present = a && inb(UART_COM1 + UART_SCR) == 0xa5;
	if (!present)
		return false;
	outb(UART_COM1 + UART_IER, 0x00);
	outb(UART_COM1 + UART_LCR, LCR_DLAB);
	outb(UART_COM1 + UART_DLL, 1); /* 115200 / 1 */
	outb(UART_COM1 + UART_DLM, 0);
	outb(UART_COM1 + UART_LCR, LCR_8N1);
	outb(UART_COM1 + UART_FCR, 0x07); /* enable and clear both FIFOs */
	outb(UART_COM1 + UART_MCR, 0x03); /* DTR, RTS */
	fifo_depth = (inb(UART_COM1 + UART_IIR) & IIR_FIFOS_ENABLED) == IIR_FIFOS_ENABLED ? 16 : 1;
	return true;
}

bool uart_present(void)
{
	return present;
}

unsigned uart_tx_room(void)
{
	if (!present)
		return NO_UART_ROOM;
	return inb(UART_COM1 + UART_LSR) & LSR_THR_EMPTY ? fifo_depth : 0;
}

void uart_tx_put(u8 byte)
{
	if (present)
		outb(UART_COM1 + UART_THR, byte);
}

unsigned uart_tx_wait_room(void)
{
	/* About 1.4 ms at 115200 baud empties a full FIFO; a UART that stays
	 * busy far longer than that is broken: go on rather than hang. */
	for (unsigned spins = 0; spins < 1000000; spins++) {
		unsigned room = uart_tx_room();
		if (room)
			return room;
		cpu_relax();
	}
	return 1;
}

int uart_rx_get(u64 *overruns)
{
	if (!present)
		return -1;
	u8 lsr = inb(UART_COM1 + UART_LSR);
	if (lsr & LSR_OVERRUN)
		++*overruns; /* reading LSR cleared it */
	if (!(lsr & LSR_DATA_READY))
		return -1;
	return inb(UART_COM1 + UART_THR); /* RBR, at the THR's offset */
}

u64 uart_fifo_ns(void)
{
	/* 10 bits a byte in 8N1 (start, 8 data, stop). */
	return (u64)fifo_depth * 10 * 1000000000ULL / UART_BAUD;
}
