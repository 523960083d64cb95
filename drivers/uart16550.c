/*
 * Polled driver for the 16550 UART at COM1, the hypervisor's console.
 * Register layout: PC16550D datasheet, National Semiconductor (1995).
 */
#include "drivers/uart16550.h"
#include "arch/x86/cpu.h"

enum {
	UART_THR = 0, /* transmit holding (DLAB=0) */
	UART_IER = 1, /* interrupt enable (DLAB=0) */
	UART_DLL = 0, /* divisor latch low (DLAB=1) */
	UART_DLM = 1, /* divisor latch high (DLAB=1) */
	UART_FCR = 2,
	UART_LCR = 3,
	UART_MCR = 4,
	UART_LSR = 5,
};

#define LSR_THR_EMPTY 0x20
#define LCR_DLAB 0x80
#define LCR_8N1 0x03

void uart_init(void)
{
	outb(UART_COM1 + UART_IER, 0x00);
	outb(UART_COM1 + UART_LCR, LCR_DLAB);
	outb(UART_COM1 + UART_DLL, 1); /* 115200 / 1 */
	outb(UART_COM1 + UART_DLM, 0);
	outb(UART_COM1 + UART_LCR, LCR_8N1);
	outb(UART_COM1 + UART_FCR, 0x07); /* enable and clear both FIFOs */
	outb(UART_COM1 + UART_MCR, 0x03); /* DTR, RTS */
}

static void uart_put_raw(char c)
{
	/* About 1 ms at 115200 baud is enough for one byte; a UART that stays
	 * busy far longer than that is absent or broken. */
	for (unsigned spins = 0; spins < 1000000; spins++) {
		if (inb(UART_COM1 + UART_LSR) & LSR_THR_EMPTY)
			break;
		cpu_relax();
	}
	outb(UART_COM1 + UART_THR, (u8)c);
}

void uart_putc(char c)
{
	if (c == '\n')
		uart_put_raw('\r');
	uart_put_raw(c);
}

void uart_write(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		uart_putc(s[i]);
}
