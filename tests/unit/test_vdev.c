/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the legacy PC devices of an hvm partition and of their
 * dispatch: 8259A PICs (kernel/hvm/vpic.c), 8254 PIT (vpit.c), MC146818
 * RTC/CMOS (vcmos.c), 16550 UART (vuart.c), and hvm.c's port/MMIO/MSR
 * routing, unknown-access policy and interrupt routing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/console.h"
#include "kernel/errno.h"
#include "kernel/hvm/hvm.h"
#include "kernel/log.h"

static int log_count;
static char last_log[256];
static char out[256];
static size_t out_len;

void log_line(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_log, sizeof(last_log), fmt, ap);
	va_end(ap);
	log_count++;
}

bool log_guest(enum log_kind kind, const char *fmt, ...)
{
	va_list ap;
	(void)kind;
	va_start(ap, fmt);
	vsnprintf(last_log, sizeof(last_log), fmt, ap);
	va_end(ap);
	log_count++;
	return true;
}

/* The console the UART writes into: its queue's room decides whether the
 * transmitter is busy (console_room_left). */
static u64 console_room_left = CONSOLE_QUEUE;

u64 console_write(struct console *c, const char *data, u64 len, u64 deadline_tsc)
{
	(void)c;
	(void)deadline_tsc;
	if (console_room_left < CONSOLE_LINE_WORST)
		return 0;
	for (u64 i = 0; i < len && out_len < sizeof(out) - 1; i++)
		out[out_len++] = data[i];
	return len;
}

u64 console_room(const struct console *c)
{
	(void)c;
	return console_room_left;
}

struct console *console_raw_owner(void)
{
	return NULL;
}

/* Typed input: the same ring as console.c's (console.h), filled here. */
int console_input_get(struct console *c)
{
	if (!console_input_pending(c))
		return -1;
	return c->input[c->input_got++ % CONSOLE_INPUT];
}

static void type(struct console *c, const char *s)
{
	for (; *s; s++)
		c->input[c->input_put++ % CONSOLE_INPUT] = (u8)*s;
}

static struct hvm h;
static struct console con;

static int setup(void **state)
{
	(void)state;
	log_count = 0;
	out_len = 0;
	console_room_left = CONSOLE_QUEUE;
	memset(out, 0, sizeof(out));
	struct hvm_setup s = { .name = "linux",
			       .console = &con,
			       .tsc_hz = 1000000000ULL,
			       .wall_epoch = 1700000000ULL /* 2023-11-14 22:13:20 UTC */ };
	hvm_reset(&h, &s);
	return 0;
}

static u8 in8(u64 now, u16 port)
{
	u32 v = 0;
	int code;
	assert_int_equal(hvm_port_io(&h, now, port, 1, true, &v, &code), 0);
	return (u8)v;
}

static void out8(u64 now, u16 port, u8 value)
{
	u32 v = value;
	int code;
	assert_int_equal(hvm_port_io(&h, now, port, 1, false, &v, &code), 0);
}

/* Linux's init_8259A: ICW1-4 on both, vectors 0x30/0x38, cascade on 2. */
static void init_pics(void)
{
	out8(0, 0x21, 0xff);
	out8(0, 0xa1, 0xff);
	out8(0, 0x20, 0x11);
	out8(0, 0x21, 0x30);
	out8(0, 0x21, 0x04);
	out8(0, 0x21, 0x01);
	out8(0, 0xa0, 0x11);
	out8(0, 0xa1, 0x38);
	out8(0, 0xa1, 0x02);
	out8(0, 0xa1, 0x01);
	out8(0, 0x21, 0x00);
	out8(0, 0xa1, 0x00);
}

/* ------------------------------------------------------------- PIC -- */

static void pic_delivers_by_priority_and_eoi(void **state)
{
	(void)state;
	init_pics();
	vpic_set_irq(&h.pic, 3, true);
	vpic_set_irq(&h.pic, 1, true);
	assert_int_equal(vpic_pending(&h.pic), 0x31);
	assert_int_equal(vpic_ack(&h.pic), 0x31);
	/* IRQ3 has lower priority than in-service IRQ1 */
	assert_int_equal(vpic_pending(&h.pic), -1);
	out8(0, 0x20, 0x0b); /* OCW3: read ISR */
	assert_int_equal(in8(0, 0x20), 0x02);
	out8(0, 0x20, 0x20); /* non-specific EOI */
	assert_int_equal(in8(0, 0x20), 0x00);
	assert_int_equal(vpic_pending(&h.pic), 0x33);
	out8(0, 0x20, 0x0a); /* OCW3: read IRR: IRQ1's edge was consumed */
	assert_int_equal(in8(0, 0x20), 0x08);
}

static void pic_mask_and_edge_semantics(void **state)
{
	(void)state;
	init_pics();
	out8(0, 0x21, 0x01); /* mask IRQ0 */
	vpic_set_irq(&h.pic, 0, true);
	vpic_set_irq(&h.pic, 0, false);
	assert_int_equal(vpic_pending(&h.pic), -1);
	out8(0, 0x21, 0x00); /* the latched edge is delivered on unmask */
	assert_int_equal(vpic_pending(&h.pic), 0x30);
	vpic_ack(&h.pic);
	out8(0, 0x20, 0x60); /* specific EOI for IRQ0 */
	/* a line held high does not re-trigger in edge mode */
	vpic_set_irq(&h.pic, 4, true);
	vpic_ack(&h.pic);
	out8(0, 0x20, 0x20);
	vpic_set_irq(&h.pic, 4, true);
	assert_int_equal(vpic_pending(&h.pic), -1);
}

static void pic_cascade_through_irq2(void **state)
{
	(void)state;
	init_pics();
	vpic_set_irq(&h.pic, 12, true);
	assert_int_equal(vpic_pending(&h.pic), 0x3c);
	assert_int_equal(vpic_ack(&h.pic), 0x3c);
	out8(0, 0xa0, 0x0b);
	assert_int_equal(in8(0, 0xa0), 0x10); /* slave ISR bit 4 */
	out8(0, 0x20, 0x0b);
	assert_int_equal(in8(0, 0x20), 0x04); /* master ISR bit 2 */
	out8(0, 0xa0, 0x20);
	out8(0, 0x20, 0x20);
	assert_int_equal(in8(0, 0x20), 0x00);
}

static void pic_level_mode_via_elcr(void **state)
{
	(void)state;
	init_pics();
	out8(0, 0x4d1, 0xff);
	assert_int_equal(in8(0, 0x4d1), 0xde); /* IRQ8 and 13 are always edge */
	out8(0, 0x4d1, 0x08);		       /* IRQ11 level */
	vpic_set_irq(&h.pic, 11, true);
	assert_int_equal(vpic_ack(&h.pic), 0x3b);
	out8(0, 0xa0, 0x20);
	out8(0, 0x20, 0x20);
	/* still asserted: requests again */
	assert_int_equal(vpic_pending(&h.pic), 0x3b);
	vpic_set_irq(&h.pic, 11, false);
	assert_int_equal(vpic_pending(&h.pic), -1);
}

static void pic_auto_eoi(void **state)
{
	(void)state;
	out8(0, 0x20, 0x11);
	out8(0, 0x21, 0x20);
	out8(0, 0x21, 0x04);
	out8(0, 0x21, 0x03); /* 8086 mode, AEOI */
	out8(0, 0x21, 0x00);
	vpic_set_irq(&h.pic, 5, true);
	assert_int_equal(vpic_ack(&h.pic), 0x25);
	out8(0, 0x20, 0x0b);
	assert_int_equal(in8(0, 0x20), 0); /* nothing in service */
}

static void pic_poll_command(void **state)
{
	(void)state;
	init_pics();
	vpic_set_irq(&h.pic, 6, true);
	out8(0, 0x20, 0x0c); /* OCW3 poll */
	assert_int_equal(in8(0, 0x20), 0x86);
	assert_int_equal(vpic_pending(&h.pic), -1); /* acknowledged by the poll */
}

/* ------------------------------------------------------------- PIT -- */

#define PIT_TICK_NS(t) ((t)*1000000000ULL / VPIT_HZ)

static void pit_mode2_counts_and_raises_irq0(void **state)
{
	(void)state;
	init_pics();
	out8(0, 0x43, 0x34); /* ch0, lobyte/hibyte, mode 2 */
	out8(0, 0x40, 0x9c);
	out8(0, 0x40, 0x2e); /* 11932: 100 Hz */
	u64 next = hvm_update_timers(&h, 0);
	assert_true(next > 9999000 && next < 10001000);
	assert_int_equal(hvm_pending_vector(&h), -1);
	hvm_update_timers(&h, next);
	assert_int_equal(hvm_pending_vector(&h), 0x30); /* LINT0 ExtINT path */
	hvm_ack_vector(&h, 0x30);
	out8(next, 0x20, 0x20);
	/* periodic: the next one a period later */
	u64 next2 = hvm_update_timers(&h, next + 1);
	assert_true(next2 > next + 9999000 && next2 < next + 10001000);
	/* latch: count read in two bytes */
	out8(5000000, 0x43, 0x00);
	u16 c = in8(9000000, 0x40);
	c |= (u16)(in8(9000000, 0x40) << 8);
	assert_true(c > 11932 / 2 - 10 && c < 11932 / 2 + 10); /* latched at 5 ms */
}

static void pit_mode0_fires_once(void **state)
{
	(void)state;
	init_pics();
	out8(0, 0x43, 0x30); /* ch0 mode 0 */
	out8(0, 0x40, 100);
	out8(0, 0x40, 0);
	u64 next = hvm_update_timers(&h, 0);
	assert_true(next >= PIT_TICK_NS(100) && next <= PIT_TICK_NS(100) + 1);
	assert_int_equal(hvm_update_timers(&h, next), 0);
	assert_int_equal(hvm_pending_vector(&h), 0x30);
}

static void pit_channel2_gate_and_out_via_port61(void **state)
{
	(void)state;
	/* Linux's pit_calibrate_tsc: gate on, speaker off, ch2 mode 0 */
	out8(0, 0x61, (in8(0, 0x61) & ~0x02) | 0x01);
	out8(0, 0x43, 0xb0);
	out8(0, 0x42, 0x9b);
	out8(0, 0x42, 0x2e); /* 11931 ticks: ~10 ms */
	assert_int_equal(in8(1000000, 0x61) & 0x20, 0);
	assert_int_equal(in8(10000000, 0x61) & 0x20, 0x20);
	assert_int_equal(in8(0, 0x61) & 0x0f, 0x01);
	/* gate low stops the count */
	out8(0, 0x43, 0xb0);
	out8(0, 0x42, 0xff);
	out8(0, 0x42, 0xff);
	out8(2000000, 0x61, 0x00);
	out8(2000000, 0x43, 0x80);
	u16 a = in8(2000000, 0x42) | (u16)(in8(2000000, 0x42) << 8);
	out8(9000000, 0x43, 0x80);
	u16 b = in8(9000000, 0x42) | (u16)(in8(9000000, 0x42) << 8);
	assert_int_equal(a, b);
	assert_true(a < 0xffff - 2000);
}

static void pit_live_reads_lsb_then_msb(void **state)
{
	(void)state;
	/* Linux's quick_pit_calibrate reads ch2 without latching */
	out8(0, 0x61, 0x01);
	out8(0, 0x43, 0xb0);
	out8(0, 0x42, 0xff);
	out8(0, 0x42, 0xff);
	u64 t = PIT_TICK_NS(256 * 3) + 10;
	(void)in8(t, 0x42);
	u8 msb = in8(t, 0x42);
	assert_int_equal(msb, 0xff - 3);
}

static void pit_read_back_status(void **state)
{
	(void)state;
	out8(0, 0x43, 0x36); /* ch0 lobyte/hibyte mode 3 */
	out8(0, 0x43, 0xe2); /* read back status of ch0 */
	assert_int_equal(in8(0, 0x40),
			 0x40 | 0x30 | 0x06 | 0x80); /* null count, rw3, mode 3, out high */
	out8(0, 0x40, 0x00);
	out8(0, 0x40, 0x10);
	out8(0, 0x43, 0xe2);
	assert_int_equal(in8(0, 0x40) & 0x40, 0); /* count loaded */
}

static void pit_mode3_square_wave_counts_by_two(void **state)
{
	(void)state;
	out8(0, 0x43, 0x36);
	out8(0, 0x40, 100);
	out8(0, 0x40, 0);
	assert_true(vpit_out(&h.pit, 0, PIT_TICK_NS(10)));
	assert_false(vpit_out(&h.pit, 0, PIT_TICK_NS(60) + 1));
	out8(PIT_TICK_NS(10) + 1, 0x43, 0x00);
	assert_int_equal(in8(0, 0x40), 80);
}

/* ------------------------------------------------------------ CMOS -- */

static u8 cmos(u64 now, u8 index)
{
	out8(now, 0x70, index);
	return in8(now, 0x71);
}

static void cmos_time_in_bcd_and_binary(void **state)
{
	(void)state;
	/* 1700000000 = 2023-11-14 22:13:20 UTC, a Tuesday */
	assert_int_equal(cmos(0, 0x00), 0x20);
	assert_int_equal(cmos(0, 0x02), 0x13);
	assert_int_equal(cmos(0, 0x04), 0x22);
	assert_int_equal(cmos(0, 0x06), 3); /* Sunday = 1 */
	assert_int_equal(cmos(0, 0x07), 0x14);
	assert_int_equal(cmos(0, 0x08), 0x11);
	assert_int_equal(cmos(0, 0x09), 0x23);
	assert_int_equal(cmos(0, 0x32), 0x20);
	assert_int_equal(cmos(5000000000ULL, 0x00), 0x25); /* time runs */
	out8(0, 0x70, 0x0b);
	out8(0, 0x71, 0x06); /* binary, 24 h */
	assert_int_equal(cmos(0, 0x04), 22);
	out8(0, 0x70, 0x0b);
	out8(0, 0x71, 0x04); /* binary, 12 h */
	assert_int_equal(cmos(0, 0x04), 0x80 | 10);
}

static void cmos_status_registers(void **state)
{
	(void)state;
	for (u64 t = 0; t < 2000000000ULL; t += 99999999)
		assert_int_equal(cmos(t, 0x0a) & 0x80, 0); /* never UIP */
	assert_int_equal(cmos(0, 0x0a), 0x26);
	assert_int_equal(cmos(0, 0x0d), 0x80);
	assert_int_equal(cmos(0, 0x0c), 0x00);
	out8(0, 0x70, 0x8f); /* NMI masked, index 0x0f */
	assert_true(h.cmos.nmi_masked);
	out8(0, 0x71, 0x5a);
	assert_int_equal(cmos(0, 0x0f), 0x5a); /* NVRAM keeps it */
}

static void cmos_guest_sets_the_clock(void **state)
{
	(void)state;
	out8(0, 0x70, 0x0b);
	out8(0, 0x71, 0x82); /* SET, BCD, 24 h */
	out8(0, 0x70, 0x09);
	out8(0, 0x71, 0x30); /* year 2030 */
	out8(0, 0x70, 0x04);
	out8(0, 0x71, 0x01); /* 01 h */
	out8(0, 0x70, 0x0b);
	out8(0, 0x71, 0x02);
	assert_int_equal(cmos(0, 0x09), 0x30);
	assert_int_equal(cmos(0, 0x04), 0x01);
	assert_int_equal(cmos(0, 0x02), 0x13);
	assert_int_equal(cmos(3000000000ULL, 0x00), 0x23);
}

static void calendar_round_trip(void **state)
{
	(void)state;
	struct vcmos_tm tm;
	vcmos_from_epoch(951782400ULL, &tm); /* 2000-02-29 00:00:00 */
	assert_int_equal(tm.year, 2000);
	assert_int_equal(tm.month, 2);
	assert_int_equal(tm.mday, 29);
	assert_int_equal(tm.wday, 2);
	assert_int_equal(vcmos_to_epoch(&tm), 951782400ULL);
	for (u64 s = 0; s < 4000000000ULL; s += 86400ULL * 37 + 4321) {
		vcmos_from_epoch(s, &tm);
		assert_int_equal(vcmos_to_epoch(&tm), s);
	}
}

/* ------------------------------------------------------------ UART -- */

static void uart_output_goes_to_console(void **state)
{
	(void)state;
	const char *msg = "hi\n";
	for (const char *p = msg; *p; p++) {
		assert_true(in8(0, 0x3fd) & 0x20); /* THR empty, always */
		out8(0, 0x3f8, (u8)*p);
	}
	assert_string_equal(out, "hi\n");
	assert_int_equal(in8(0, 0x3fd) & 0x01, 0); /* no input */
}

static void uart_probe_like_linux(void **state)
{
	(void)state;
	/* IER keeps its low 4 bits */
	out8(0, 0x3f9, 0x00);
	assert_int_equal(in8(0, 0x3f9) & 0x0f, 0);
	out8(0, 0x3f9, 0x0f);
	assert_int_equal(in8(0, 0x3f9) & 0x0f, 0x0f);
	out8(0, 0x3f9, 0x00);
	/* loopback: MCR 0x1a makes MSR 0x90 */
	out8(0, 0x3fc, 0x1a);
	assert_int_equal(in8(0, 0x3fe) & 0xf0, 0x90);
	out8(0, 0x3f8, 'x'); /* looped back, not printed */
	assert_int_equal(out_len, 0);
	assert_true(in8(0, 0x3fd) & 0x01);
	assert_int_equal(in8(0, 0x3f8), 'x');
	out8(0, 0x3fc, 0x00);
	/* FIFO enabled: IIR bits 7:6 set (16550A) */
	out8(0, 0x3fa, 0x01);
	assert_int_equal(in8(0, 0x3fa) & 0xc0, 0xc0);
	/* divisor latch */
	out8(0, 0x3fb, 0x83);
	out8(0, 0x3f8, 0x01);
	out8(0, 0x3f9, 0x00);
	assert_int_equal(in8(0, 0x3f8), 0x01);
	out8(0, 0x3fb, 0x03);
	assert_int_equal(out_len, 0); /* DLL write is no output */
	out8(0, 0x3ff, 0xa5);
	assert_int_equal(in8(0, 0x3ff), 0xa5);
}

static void uart_thre_interrupt_on_irq4(void **state)
{
	(void)state;
	init_pics();
	out8(0, 0x3f9, 0x02); /* enable THRE interrupt: THR is empty */
	assert_int_equal(hvm_pending_vector(&h), 0x34);
	hvm_ack_vector(&h, 0x34);
	assert_int_equal(in8(0, 0x3fa) & 0x0f, 0x02); /* IIR: THRE */
	assert_int_equal(in8(0, 0x3fa) & 0x0f, 0x01); /* cleared by the read */
	out8(0, 0x20, 0x20);
	out8(0, 0x3f8, 'a'); /* sent at once: THRE again, a new edge */
	assert_int_equal(hvm_pending_vector(&h), 0x34);
}

/* A full console queue is a busy transmitter: LSR shows it, and the THRE
 * interrupt comes when the queue has room again (PC16550D: THRE is set when
 * the transmitter can take a byte). */
static void uart_busy_while_console_full(void **state)
{
	(void)state;
	init_pics();
	out8(0, 0x3f9, 0x02);
	hvm_ack_vector(&h, 0x34);
	in8(0, 0x3fa);
	out8(0, 0x20, 0x20);
	console_room_left = CONSOLE_LINE_WORST - 1;
	assert_int_equal(in8(0, 0x3fd) & 0x60, 0); /* THRE, TEMT clear */
	out8(0, 0x3f8, 'a');			   /* written anyway: lost */
	assert_int_equal(out_len, 0);
	assert_int_equal(hvm_pending_vector(&h), -1);
	hvm_update_timers(&h, 1000);
	assert_int_equal(hvm_pending_vector(&h), -1); /* still full */
	console_room_left = CONSOLE_QUEUE;
	hvm_update_timers(&h, 2000);
	assert_int_equal(in8(0, 0x3fd) & 0x60, 0x60);
	assert_int_equal(hvm_pending_vector(&h), 0x34);
}

/* Typed bytes reach the receiver FIFO (16 deep with FCR bit 0, one byte
 * without), LSR.DR, and IRQ4 with IER bit 0; IIR says "character timeout"
 * below the trigger level and "data available" at it (PC16550D Table IV),
 * above THRE in priority. */
static void uart_receives_typed_bytes(void **state)
{
	(void)state;
	init_pics();
	assert_true(con.takes_input); /* vuart_reset marks its console */
	con.input_put = con.input_got = 0;
	type(&con, "ab");
	assert_int_equal(in8(0, 0x3fd) & 0x01, 0); /* not before the poll */
	hvm_update_timers(&h, 1000);
	/* FIFOs off: one byte moves, the other waits in the ring */
	assert_true(in8(0, 0x3fd) & 0x01);
	assert_int_equal(hvm_pending_vector(&h), -1); /* IER bit 0 clear */
	out8(0, 0x3f9, 0x03);			      /* RDI and THRE */
	assert_int_equal(hvm_pending_vector(&h), 0x34);
	assert_int_equal(in8(0, 0x3fa) & 0x0f, 0x04); /* data before THRE */
	assert_int_equal(in8(0, 0x3f8), 'a');
	assert_int_equal(in8(0, 0x3fd) & 0x01, 0);
	assert_int_equal(in8(0, 0x3fa) & 0x0f, 0x02); /* now THRE */
	hvm_update_timers(&h, 2000);
	assert_int_equal(in8(0, 0x3f8), 'b');
	/* FIFOs on, trigger level 4 (FCR 0x41) */
	out8(0, 0x3fa, 0x41);
	type(&con, "0123456789abcdefXY");
	hvm_update_timers(&h, 3000);
	assert_int_equal(in8(0, 0x3fa) & 0x0f, 0x04); /* 16 >= 4 */
	for (int i = 0; i < 14; i++)
		assert_int_equal(in8(0, 0x3f8), "0123456789abcd"[i]);
	assert_int_equal(in8(0, 0x3fa) & 0x0f, 0x0c); /* 2 < 4: timeout */
	assert_int_equal(in8(0, 0x3f8), 'e');
	assert_int_equal(in8(0, 0x3f8), 'f');
	assert_int_equal(in8(0, 0x3fd) & 0x03, 0); /* empty, no overrun */
	hvm_update_timers(&h, 4000);
	assert_int_equal(in8(0, 0x3f8), 'X'); /* the two that waited */
	/* FCR bit 1 clears the receiver FIFO */
	out8(0, 0x3fa, 0x43);
	assert_int_equal(in8(0, 0x3fd) & 0x01, 0);
	assert_false(console_input_pending(&con));
}

/* In loopback the receiver hears only the transmitter: typed bytes wait. */
static void uart_loopback_holds_typed_bytes(void **state)
{
	(void)state;
	con.input_put = con.input_got = 0;
	out8(0, 0x3fc, 0x10);
	type(&con, "t");
	hvm_update_timers(&h, 1000);
	assert_int_equal(in8(0, 0x3fd) & 0x01, 0);
	out8(0, 0x3f8, 'x');
	assert_int_equal(in8(0, 0x3f8), 'x');
	out8(0, 0x3fc, 0x00);
	hvm_update_timers(&h, 2000);
	assert_int_equal(in8(0, 0x3f8), 't');
}

/* ------------------------------------------------------ dispatch -- */

static void unknown_port_reads_ones_and_logs_once(void **state)
{
	(void)state;
	u32 v = 0;
	int code;
	assert_int_equal(hvm_port_io(&h, 0, 0x2f9, 1, true, &v, &code), 0);
	assert_int_equal(v, 0xff);
	assert_int_equal(hvm_port_io(&h, 0, 0x2a0, 4, true, &v, &code), 0);
	assert_int_equal(v, 0xffffffff);
	assert_int_equal(log_count, 2);
	assert_string_equal(last_log,
			    "hvm: partition linux: unknown port 0x2a0 (read), answered as absent");
	hvm_port_io(&h, 0, 0x2a0, 4, true, &v, &code);
	assert_int_equal(log_count, 2);
	v = 0x80000000;
	hvm_port_io(&h, 0, 0x2a0, 4, false, &v, &code);
	assert_int_equal(log_count, 3);
	assert_non_null(strstr(last_log, "(write)"));
	/* the PCI configuration ports are known: never logged */
	hvm_port_io(&h, 0, 0xcf8, 4, false, &v, &code);
	hvm_port_io(&h, 0, 0xcfc, 4, true, &v, &code);
	assert_int_equal(v, 0x29c08086); /* the host bridge */
	v = 1;
	hvm_port_io(&h, 0, 0xcfb, 1, false, &v, &code);
	assert_int_equal(log_count, 3);
	/* port 0x80 is known (I/O delay) and never logged */
	out8(0, 0x80, 0);
	assert_int_equal(log_count, 3);
}

static void debug_exit_port(void **state)
{
	(void)state;
	u32 v = 0x42;
	int code = -1;
	assert_int_equal(hvm_port_io(&h, 0, 0xf4, 1, false, &v, &code), HVM_EXIT_REQUESTED);
	assert_int_equal(code, 0x42);
}

static void mmio_lapic_page_and_unknown_pages(void **state)
{
	(void)state;
	u64 v = 0;
	hvm_mmio(&h, 0, HVM_LAPIC_BASE + APIC_VER, 4, false, &v);
	assert_int_equal(v, 0x00050014);
	v = 0x1ff;
	hvm_mmio(&h, 0, HVM_LAPIC_BASE + APIC_SVR, 4, true, &v);
	assert_true(vlapic_sw_enabled(&h.lapic));
	assert_int_equal(log_count, 0);
	/* the I/O APIC: IOREGSEL, then the version through IOWIN */
	v = VIOAPIC_REG_VER;
	hvm_mmio(&h, 0, HVM_IOAPIC_BASE, 4, true, &v);
	hvm_mmio(&h, 0, HVM_IOAPIC_BASE + 0x10, 4, false, &v);
	assert_int_equal(v, 0x00170011);
	/* ECAM: the host bridge's IDs at 0xe0000000 */
	hvm_mmio(&h, 0, 0xe0000000, 4, false, &v);
	assert_int_equal(v, 0x29c08086);
	hvm_mmio(&h, 0, 0xe0008000, 4, false, &v); /* 00:01.0: absent */
	assert_int_equal(v, 0xffffffff);
	assert_int_equal(log_count, 0);
	hvm_mmio(&h, 0, 0xfec01000, 4, false, &v);
	assert_int_equal(v, 0xffffffff);
	assert_int_equal(log_count, 1);
	assert_string_equal(
		last_log,
		"hvm: partition linux: unknown MMIO page 0xfec01000 (read), answered as absent");
	hvm_mmio(&h, 0, 0xfed00000, 8, false, &v);
	assert_int_equal(v, ~0ULL);
	assert_int_equal(log_count, 2);
	/* in x2APIC mode the page is gone */
	v = 0xfee00000ULL | APIC_BASE_EN | APIC_BASE_EXTD;
	assert_int_equal(hvm_msr(&h, 0, MSR_IA32_APIC_BASE, true, &v), 0);
	hvm_mmio(&h, 0, HVM_LAPIC_BASE + APIC_VER, 4, false, &v);
	assert_int_equal(v, 0xffffffff);
}

static void msr_routing(void **state)
{
	(void)state;
	u64 v;
	assert_int_equal(hvm_msr(&h, 0, 0x10, false, &v), -E_NOENT);
	assert_int_equal(hvm_msr(&h, 0, 0x802, false, &v), -E_INVAL); /* xAPIC mode */
	assert_int_equal(hvm_msr(&h, 0, MSR_IA32_APIC_BASE, false, &v), 0);
	assert_int_equal(v, 0xfee00900ULL);
}

/* An NMI IPI the guest sends itself, through the APIC page or the x2APIC
 * ICR, reaches the CPU once (hvm_take_nmi) and is no vector. */
static void nmi_ipi_reaches_the_cpu(void **state)
{
	(void)state;
	u64 v = 0x1ff;
	hvm_mmio(&h, 0, HVM_LAPIC_BASE + APIC_SVR, 4, true, &v);
	assert_false(hvm_take_nmi(&h));
	v = 0;
	hvm_mmio(&h, 0, HVM_LAPIC_BASE + APIC_ICR_HI, 4, true, &v);
	v = 0x400; /* NMI, physical, to APIC ID 0: itself */
	hvm_mmio(&h, 0, HVM_LAPIC_BASE + APIC_ICR_LO, 4, true, &v);
	assert_int_equal(hvm_pending_vector(&h), -1);
	assert_true(hvm_take_nmi(&h));
	assert_false(hvm_take_nmi(&h));
	v = 0xfee00000ULL | APIC_BASE_EN | APIC_BASE_EXTD;
	assert_int_equal(hvm_msr(&h, 0, MSR_IA32_APIC_BASE, true, &v), 0);
	v = 0x400; /* x2APIC ID 0 in 63:32 */
	assert_int_equal(hvm_msr(&h, 0, 0x830, true, &v), 0);
	assert_true(hvm_take_nmi(&h));
	assert_int_equal(log_count, 0);
}

static void apic_before_pic_and_lint0_gate(void **state)
{
	(void)state;
	init_pics();
	u64 v = 0x1ff; /* APIC software-enabled; LINT0 still ExtINT from reset */
	hvm_mmio(&h, 0, HVM_LAPIC_BASE + APIC_SVR, 4, true, &v);
	v = APIC_LVT_DM_EXTINT;
	hvm_mmio(&h, 0, HVM_LAPIC_BASE + APIC_LVT_LINT0, 4, true, &v);
	vpic_set_irq(&h.pic, 1, true);
	vlapic_set_irq(&h.lapic, 0xe0, false);
	assert_int_equal(hvm_pending_vector(&h), 0xe0);
	hvm_ack_vector(&h, 0xe0);
	/* the APIC's ISR blocks nothing of the PIC's ExtINT */
	assert_int_equal(hvm_pending_vector(&h), 0x31);
	/* masking LINT0 cuts the PIC off */
	v = APIC_LVT_DM_EXTINT | APIC_LVT_MASKED;
	hvm_mmio(&h, 0, HVM_LAPIC_BASE + APIC_LVT_LINT0, 4, true, &v);
	assert_int_equal(hvm_pending_vector(&h), -1);
}

static void timers_return_earliest_deadline(void **state)
{
	(void)state;
	u64 v = 0x1ff;
	hvm_mmio(&h, 0, HVM_LAPIC_BASE + APIC_SVR, 4, true, &v);
	v = 0xb;
	hvm_mmio(&h, 0, HVM_LAPIC_BASE + APIC_TIMER_DCR, 4, true, &v);
	v = 0xec;
	hvm_mmio(&h, 0, HVM_LAPIC_BASE + APIC_LVT_TIMER, 4, true, &v);
	v = 300000;
	hvm_mmio(&h, 0, HVM_LAPIC_BASE + APIC_TIMER_ICR, 4, true, &v);
	assert_int_equal(hvm_update_timers(&h, 0), 300000);
	out8(0, 0x43, 0x34);
	out8(0, 0x40, 0xa9);
	out8(0, 0x40, 0x04); /* 1193 ticks: ~1 ms */
	assert_int_equal(hvm_update_timers(&h, 0), 300000);
	u64 next = hvm_update_timers(&h, 300000);
	assert_true(next > 999000 && next < 1001000);
	assert_int_equal(hvm_pending_vector(&h), 0xec);
}

static void ioapic_write(u32 index, u32 value)
{
	u64 v = index;
	hvm_mmio(&h, 0, HVM_IOAPIC_BASE, 4, true, &v);
	v = value;
	hvm_mmio(&h, 0, HVM_IOAPIC_BASE + 0x10, 4, true, &v);
}

static u32 ioapic_read(u32 index)
{
	u64 v = index;
	hvm_mmio(&h, 0, HVM_IOAPIC_BASE, 4, true, &v);
	hvm_mmio(&h, 0, HVM_IOAPIC_BASE + 0x10, 4, false, &v);
	return (u32)v;
}

/* The ISA lines reach the I/O APIC as on a PC: the PIT's IRQ0 on pin 2,
 * the UART's IRQ4 on pin 4, while the masked 8259 sees them too. */
static void isa_lines_through_the_ioapic(void **state)
{
	(void)state;
	init_pics();
	out8(0, 0x21, 0xff); /* the 8259 masked, as Linux leaves it */
	out8(0, 0xa1, 0xff);
	u64 v = 0x1ff;
	hvm_mmio(&h, 0, HVM_LAPIC_BASE + APIC_SVR, 4, true, &v);
	ioapic_write(0x14, 0x30); /* pin 2: vector 0x30, edge */
	ioapic_write(0x18, 0x34); /* pin 4: vector 0x34, edge */
	ioapic_write(0x10, 0x38); /* pin 0: nothing drives it as fixed */
	out8(0, 0x43, 0x34);
	out8(0, 0x40, 0xa9);
	out8(0, 0x40, 0x04); /* 1193 ticks: ~1 ms */
	hvm_update_timers(&h, 0);
	assert_int_equal(hvm_pending_vector(&h), -1);
	hvm_update_timers(&h, 1000000);
	assert_int_equal(hvm_pending_vector(&h), 0x30);
	hvm_ack_vector(&h, 0x30);
	v = 0;
	hvm_mmio(&h, 0, HVM_LAPIC_BASE + APIC_EOI, 4, true, &v);
	/* the UART's THRE interrupt */
	out8(0, 0x3f9, 0x02);
	assert_int_equal(hvm_pending_vector(&h), 0x34);
	/* a level entry for the UART: remote IRR until the EOI, cleared by
	 * the local APIC's EOI broadcast; re-sent while the line is held */
	hvm_ack_vector(&h, 0x34);
	v = 0;
	hvm_mmio(&h, 0, HVM_LAPIC_BASE + APIC_EOI, 4, true, &v);
	out8(0, 0x3f9, 0x00);
	ioapic_write(0x18, 0x35 | (1u << 15));
	out8(0, 0x3f9, 0x02);
	assert_int_equal(hvm_pending_vector(&h), 0x35);
	hvm_ack_vector(&h, 0x35);
	assert_true(ioapic_read(0x18) & (1u << 14));
	v = 0;
	hvm_mmio(&h, 0, HVM_LAPIC_BASE + APIC_EOI, 4, true, &v);
	assert_int_equal(hvm_pending_vector(&h), 0x35);
	in8(0, 0x3fa); /* IIR read: the line drops */
	hvm_ack_vector(&h, 0x35);
	hvm_mmio(&h, 0, HVM_LAPIC_BASE + APIC_EOI, 4, true, &v);
	assert_int_equal(ioapic_read(0x18) & (1u << 14), 0);
	assert_int_equal(hvm_pending_vector(&h), -1);
	assert_int_equal(log_count, 0);
}

/* With LINT0 masked, I/O APIC pin 0 in ExtINT mode carries the 8259. */
static void pic_through_ioapic_pin0_extint(void **state)
{
	(void)state;
	init_pics();
	u64 v = 0x1ff;
	hvm_mmio(&h, 0, HVM_LAPIC_BASE + APIC_SVR, 4, true, &v);
	v = APIC_LVT_DM_EXTINT | APIC_LVT_MASKED;
	hvm_mmio(&h, 0, HVM_LAPIC_BASE + APIC_LVT_LINT0, 4, true, &v);
	vpic_set_irq(&h.pic, 1, true);
	assert_int_equal(hvm_pending_vector(&h), -1);
	ioapic_write(0x10, 7u << 8); /* ExtINT, unmasked, to APIC 0 */
	assert_int_equal(hvm_pending_vector(&h), 0x31);
	hvm_ack_vector(&h, 0x31);
	out8(0, 0x20, 0x0b);
	assert_int_equal(in8(0, 0x20), 0x02); /* IRQ1 in service on the 8259 */
}

/* A PCI function's INTA# reaches I/O APIC pin 19 (slot 3), level, active
 * low as the _PRT and the wiring say. */
static void pci_intx_through_the_ioapic(void **state)
{
	(void)state;
	static struct vpci_device d;
	u64 v = 0x1ff;
	hvm_mmio(&h, 0, HVM_LAPIC_BASE + APIC_SVR, 4, true, &v);
	vpci_device_init(&d, "intx", 0x1234, 0x0001, 0xff0000, 0, NULL, NULL);
	assert_int_equal(vpci_device_set_intx_pin(&d, 1), 0);
	assert_int_equal(vpci_register(&h.pci, &d, VPCI_DEVFN(3, 0)), 0);
	u32 lvl_low = (1u << 15) | (1u << 13);
	ioapic_write(0x10 + 2 * 19, lvl_low | 0x51);
	assert_int_equal(hvm_pending_vector(&h), -1); /* idle: high, inactive */
	assert_int_equal(vpci_intx(&d, true), 0);
	assert_int_equal(hvm_pending_vector(&h), 0x51);
	hvm_ack_vector(&h, 0x51);
	assert_int_equal(vpci_intx(&d, false), 0);
	v = 0;
	hvm_mmio(&h, 0, HVM_LAPIC_BASE + APIC_EOI, 4, true, &v);
	assert_int_equal(hvm_pending_vector(&h), -1);
	assert_int_equal(ioapic_read(0x10 + 2 * 19) & (1u << 14), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, setup)
	const struct CMUnitTest tests[] = {
		T(pic_delivers_by_priority_and_eoi),
		T(pic_mask_and_edge_semantics),
		T(pic_cascade_through_irq2),
		T(pic_level_mode_via_elcr),
		T(pic_auto_eoi),
		T(pic_poll_command),
		T(pit_mode2_counts_and_raises_irq0),
		T(pit_mode0_fires_once),
		T(pit_channel2_gate_and_out_via_port61),
		T(pit_live_reads_lsb_then_msb),
		T(pit_read_back_status),
		T(pit_mode3_square_wave_counts_by_two),
		T(cmos_time_in_bcd_and_binary),
		T(cmos_status_registers),
		T(cmos_guest_sets_the_clock),
		T(calendar_round_trip),
		T(uart_output_goes_to_console),
		T(uart_probe_like_linux),
		T(uart_thre_interrupt_on_irq4),
		T(uart_busy_while_console_full),
		T(uart_receives_typed_bytes),
		T(uart_loopback_holds_typed_bytes),
		T(unknown_port_reads_ones_and_logs_once),
		T(debug_exit_port),
		T(mmio_lapic_page_and_unknown_pages),
		T(msr_routing),
		T(nmi_ipi_reaches_the_cpu),
		T(apic_before_pic_and_lint0_gate),
		T(timers_return_earliest_deadline),
		T(isa_lines_through_the_ioapic),
		T(pic_through_ioapic_pin0_extint),
		T(pci_intx_through_the_ioapic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
