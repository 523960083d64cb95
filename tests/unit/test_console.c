/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of kernel/console.c: line assembly and sanitising, the output
 * queue (nothing lost, a full queue refuses), the bounded cost of a write,
 * draining under a deadline without waiting, lines never interleaved on the
 * wire, and the rate limit of guest-triggered hypervisor lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/cpu.h"
#include "kernel/console.h"

/* A sink that records what reaches the "wire" and takes room bytes at a
 * time (0: busy). */
static char wire[1 << 16];
static size_t wire_len;
static unsigned sink_room_now = 16;

static unsigned sink_room(void)
{
	return sink_room_now;
}

static void sink_put(u8 b)
{
	if (wire_len < sizeof(wire) - 1)
		wire[wire_len++] = (char)b;
	wire[wire_len] = '\0';
}

static const struct console_sink sink = { sink_room, sink_put };
static struct console a, b;

static int setup(void **state)
{
	(void)state;
	wire_len = 0;
	wire[0] = '\0';
	sink_room_now = 16;
	console_set_sink(&sink);
	console_init(&a, "alpha");
	console_init(&b, "beta");
	/* A drain that stopped mid-line in an earlier test leaves the wire
	 * owned: finish it. */
	return 0;
}

static void drain_all(struct console *c)
{
	assert_true(console_drain(c, ~0ULL));
}

static void lines_get_prefix_and_crlf(void **state)
{
	(void)state;
	assert_int_equal(console_write(&a, "hello\nwor", 9, ~0ULL), 9);
	drain_all(&a);
	assert_string_equal(wire, "[alpha] hello\r\n");
	console_write(&a, "ld\r\n", 4, ~0ULL);
	drain_all(&a);
	assert_string_equal(wire, "[alpha] hello\r\n[alpha] world\r\n");
	char tail[32];
	u64 n = console_read_tail(&a, tail, sizeof(tail));
	assert_int_equal(n, 12);
	assert_memory_equal(tail, "hello\nworld\n", 12);
}

static void control_and_bad_utf8_become_question_marks(void **state)
{
	(void)state;
	/* ESC, BEL, DEL; valid "é" (C3 A9) and "€" (E2 82 AC) stay; a C1 CSI
	 * (C2 9B), a lone continuation byte, an overlong NUL (C0 80), a
	 * surrogate (ED A0 80) and F5 are replaced. */
	const char in[] =
		"a\x1b[2Jb\x07\x7f \xc3\xa9\xe2\x82\xac \xc2\x9b \x80 \xc0\x80 \xed\xa0\x80 \xf5\n";
	console_write(&a, in, sizeof(in) - 1, ~0ULL);
	drain_all(&a);
	assert_string_equal(wire, "[alpha] a?[2Jb?? \xc3\xa9\xe2\x82\xac ?? ? ?? ??? ?\r\n");
}

static void overlong_line_is_cut_not_lost(void **state)
{
	(void)state;
	char line[CONSOLE_LINE_MAX + 10];
	memset(line, 'x', sizeof(line));
	line[sizeof(line) - 1] = '\n';
	console_write(&a, line, sizeof(line), ~0ULL);
	drain_all(&a);
	/* Two lines: CONSOLE_LINE_MAX bytes, then the rest. */
	size_t first = strlen("[alpha] ") + CONSOLE_LINE_MAX + 2;
	assert_int_equal(wire_len, first + strlen("[alpha] ") + 9 + 2);
	assert_memory_equal(wire + first - 2, "\r\n[alpha] xxxxxxxxx\r\n", 21);
}

static void full_queue_refuses_and_loses_nothing(void **state)
{
	(void)state;
	char msg[64];
	u64 lines = 0, refused_at = 0;
	for (u64 i = 0; i < 1000; i++) {
		int n = snprintf(msg, sizeof(msg), "line %04llu\n", (unsigned long long)i);
		u64 t = console_write(&a, msg, (u64)n, ~0ULL);
		if (t < (u64)n) {
			refused_at = i;
			assert_int_equal(t, 9); /* all but its newline */
			break;
		}
		lines++;
	}
	assert_true(refused_at > 0);
	assert_true(console_room(&a) < CONSOLE_LINE_WORST);
	drain_all(&a);
	assert_true(console_write(&a, "\n", 1, ~0ULL) == 1); /* room again */
	drain_all(&a);
	/* Every line taken is on the wire, in order, whole. */
	char expect[32];
	const char *at = wire;
	for (u64 i = 0; i <= lines; i++) {
		snprintf(expect, sizeof(expect), "[alpha] line %04llu\r\n", (unsigned long long)i);
		assert_memory_equal(at, expect, strlen(expect));
		at += strlen(expect);
	}
	assert_string_equal(at, "");
}

static void write_past_deadline_takes_one_line(void **state)
{
	(void)state;
	const char msg[] = "one\ntwo\nthree\n";
	assert_int_equal(console_write(&a, msg, sizeof(msg) - 1, 0), 4);
	assert_int_equal(console_write(&a, msg + 4, sizeof(msg) - 5, 0), 4);
	drain_all(&a);
	assert_string_equal(wire, "[alpha] one\r\n[alpha] two\r\n");
}

static void drain_stops_when_sink_busy_or_deadline(void **state)
{
	(void)state;
	console_write(&a, "abc\n", 4, ~0ULL);
	sink_room_now = 0;
	assert_false(console_drain(&a, ~0ULL));
	assert_true(console_sink_busy());
	assert_int_equal(wire_len, 0);
	sink_room_now = 16;
	assert_false(console_drain(&a, 0)); /* deadline passed: nothing */
	assert_false(console_sink_busy());
	assert_int_equal(wire_len, 0);
	drain_all(&a);
	assert_string_equal(wire, "[alpha] abc\r\n");
	assert_false(console_pending(&a));
}

/* Once a line has started on the wire, no other console may send until it
 * has ended, so lines never interleave. */
static unsigned limited_room = 0;
static unsigned room_once(void)
{
	unsigned r = limited_room;
	limited_room = 0;
	return r;
}
static const struct console_sink stingy = { room_once, sink_put };

static void lines_never_interleave(void **state)
{
	(void)state;
	console_set_sink(&stingy);
	console_write(&a, "first line\n", 11, ~0ULL);
	console_write(&b, "second\n", 7, ~0ULL);
	limited_room = 5;
	assert_false(console_drain(&a, ~0ULL)); /* "[alph" sent, then busy */
	limited_room = 16;
	assert_false(console_drain(&b, ~0ULL)); /* alpha owns the wire */
	assert_string_equal(wire, "[alph");
	console_set_sink(&sink);
	drain_all(&a);
	drain_all(&b);
	assert_string_equal(wire, "[alpha] first line\r\n[beta] second\r\n");
}

/* One fill that took very long (a host that descheduled the emulator) makes
 * the cost estimate large; drains with short deadlines must still get
 * through after a while, not wait forever for a fill that "does not fit". */
static int slow_puts;
static void slow_put(u8 byte)
{
	if (slow_puts-- > 0) {
		u64 t = rdtsc();
		while (rdtsc() - t < 200000000ULL) /* ~0.1 s */
			;
	}
	sink_put(byte);
}
static const struct console_sink slow = { sink_room, slow_put };

static void a_slow_fill_does_not_stop_output(void **state)
{
	(void)state;
	console_set_sink(&slow);
	slow_puts = 1;
	console_write(&a, "x\n", 2, ~0ULL);
	drain_all(&a); /* the slow one */
	console_set_sink(&sink);
	console_write(&a, "after\n", 6, ~0ULL);
	int tries = 0;
	while (console_pending(&a) && tries < 1000) {
		console_drain(&a, rdtsc() + 100000); /* ~50 us */
		tries++;
	}
	assert_false(console_pending(&a));
	assert_non_null(strstr(wire, "[alpha] after\r\n"));
}

static void hv_lines_are_rate_limited_with_a_count(void **state)
{
	(void)state;
	u64 t = 1000000000ULL;
	unsigned admitted = 0;
	for (int i = 0; i < 100; i++) {
		if (console_hv_admit(&a, LOG_KIND_UD, t)) {
			console_hv_line(&a, LOG_KIND_UD, "ud", 2);
			admitted++;
		}
	}
	assert_true(admitted >= 4 && admitted <= 16); /* a burst, not 100 */
	assert_int_equal(a.suppressed_total, 100 - admitted);
	/* Other kinds have their own bucket. */
	assert_true(console_hv_admit(&a, LOG_KIND_IO, t));
	/* A second later the bucket has refilled: the next line says how
	 * many were suppressed. */
	assert_true(console_hv_admit(&a, LOG_KIND_UD, t + 1000000000ULL));
	console_hv_line(&a, LOG_KIND_UD, "ud", 2);
	drain_all(&a);
	char expect[64];
	snprintf(expect, sizeof(expect), "[hv] ud (%u similar lines suppressed)\r\n",
		 100 - admitted);
	assert_non_null(strstr(wire, expect));
}

static void unlimited_console_is_not_limited(void **state)
{
	(void)state;
	a.unlimited = true;
	for (int i = 0; i < 100; i++)
		assert_true(console_hv_admit(&a, LOG_KIND_OTHER, 0));
	assert_int_equal(a.suppressed_total, 0);
}

static void tail_keeps_the_last_bytes(void **state)
{
	(void)state;
	char big[CONSOLE_TAIL + 104]; /* a multiple of 100 */
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	/* no newline: the line is cut at CONSOLE_LINE_MAX, drained as it goes */
	for (size_t off = 0; off < sizeof(big); off += 100) {
		console_write(&a, big + off, 100, ~0ULL);
		drain_all(&a);
	}
	char out[CONSOLE_TAIL];
	assert_int_equal(console_read_tail(&a, out, sizeof(out)), CONSOLE_TAIL);
	assert_memory_equal(out, big + 104, CONSOLE_TAIL);
	assert_int_equal(console_read_tail(&a, out, 10), 10);
	assert_memory_equal(out, big + sizeof(big) - 10, 10);
}

/* The input ring is bounded and counts what it drops; a console with no
 * receiver drops everything. */
static void input_ring_bounded_and_counted(void **state)
{
	(void)state;
	assert_false(console_input_put(&a, 'x')); /* takes no input */
	assert_int_equal(a.input_dropped, 1);
	a.takes_input = true;
	for (unsigned i = 0; i < CONSOLE_INPUT; i++)
		assert_true(console_input_put(&a, (u8)i));
	assert_false(console_input_put(&a, 'z'));
	assert_int_equal(a.input_dropped, 2);
	for (unsigned i = 0; i < CONSOLE_INPUT; i++)
		assert_int_equal(console_input_get(&a), (int)(u8)i);
	assert_int_equal(console_input_get(&a), -1);
	assert_true(console_input_put(&a, 'y'));
	assert_int_equal(console_input_get(&a), 'y');
}

/* Ctrl-T hot keys: a digit, n (wrapping), Ctrl-T Ctrl-T, help, a digit
 * with no partition, an unknown key; everything else is the partition's. */
static void focus_hot_keys(void **state)
{
	(void)state;
	struct console_focus f = { .current = 1 };
	unsigned out = 99;

	assert_int_equal(console_focus_key(&f, 'l', 3, &out), FOCUS_BYTE);
	assert_int_equal(out, 'l');
	assert_int_equal(console_focus_key(&f, FOCUS_ESCAPE, 3, &out), FOCUS_NONE);
	assert_int_equal(console_focus_key(&f, '0', 3, &out), FOCUS_MOVE);
	assert_int_equal(f.current, 0);
	assert_int_equal(console_focus_key(&f, '0', 3, &out), FOCUS_BYTE); /* no longer escaped */
	console_focus_key(&f, FOCUS_ESCAPE, 3, &out);
	assert_int_equal(console_focus_key(&f, 'n', 3, &out), FOCUS_MOVE);
	assert_int_equal(out, 1);
	console_focus_key(&f, FOCUS_ESCAPE, 3, &out);
	console_focus_key(&f, 'n', 3, &out);
	console_focus_key(&f, FOCUS_ESCAPE, 3, &out);
	assert_int_equal(console_focus_key(&f, 'n', 3, &out), FOCUS_MOVE);
	assert_int_equal(f.current, 0); /* wrapped */
	console_focus_key(&f, FOCUS_ESCAPE, 3, &out);
	assert_int_equal(console_focus_key(&f, FOCUS_ESCAPE, 3, &out), FOCUS_BYTE);
	assert_int_equal(out, FOCUS_ESCAPE);
	console_focus_key(&f, FOCUS_ESCAPE, 3, &out);
	assert_int_equal(console_focus_key(&f, '7', 3, &out), FOCUS_NO_SUCH);
	assert_int_equal(out, 7);
	assert_int_equal(f.current, 0);
	console_focus_key(&f, FOCUS_ESCAPE, 3, &out);
	assert_int_equal(console_focus_key(&f, '?', 3, &out), FOCUS_HELP);
	console_focus_key(&f, FOCUS_ESCAPE, 3, &out);
	assert_int_equal(console_focus_key(&f, 'r', 3, &out), FOCUS_RAW);
	console_focus_key(&f, FOCUS_ESCAPE, 3, &out);
	assert_int_equal(console_focus_key(&f, 'q', 3, &out), FOCUS_UNKNOWN);
	assert_int_equal(out, 'q');
	assert_int_equal(f.current, 0);
}

/* A raw console's bytes reach the wire as they are (an escape sequence
 * whole, no prefix, no line cutting); the others are held, their full
 * queue drops lines (counted) instead of stopping the writer, and they are
 * shown once the terminal is given back, after a line end. */
static void raw_terminal_holds_the_others(void **state)
{
	(void)state;
	assert_int_equal(console_write(&b, "before\n", 7, ~0ULL), 7);
	console_set_raw(&a, NULL);
	assert_ptr_equal(console_raw_owner(), &a);
	assert_int_equal(console_write(&a, "\x1b[2J\x1b[1mhi", 10, ~0ULL), 10);
	assert_int_equal(console_write(&b, "held\n", 5, ~0ULL), 5);
	assert_false(console_drain(&b, ~0ULL)); /* nothing goes out... */
	assert_true(console_pending(&b));	/* ...but it is kept */
	assert_true(console_drain(&a, ~0ULL));
	assert_string_equal(wire, "\x1b[2J\x1b[1mhi");
	/* b fills its queue: the writer is not stopped, lines are counted */
	char line[100];
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\n';
	u64 lines = 0;
	for (unsigned i = 0; i < 2 * CONSOLE_QUEUE / sizeof(line); i++)
		lines += console_write(&b, line, sizeof(line), ~0ULL) == sizeof(line);
	assert_int_equal(lines, 2 * CONSOLE_QUEUE / sizeof(line));
	assert_true(b.held_dropped > 0);
	console_set_raw(NULL, "given back");
	assert_null(console_raw_owner());
	assert_false(console_drain(&b, ~0ULL)); /* still held: a's end is not sent */
	assert_true(console_drain(&a, ~0ULL));
	assert_string_equal(wire, "\x1b[2J\x1b[1mhi\r\n[hv] given back\r\n");
	assert_true(console_drain(&b, ~0ULL));
	assert_non_null(strstr(wire, "back\r\n[beta] before\r\n[beta] held\r\n[beta] xxx"));
	assert_int_equal(console_write(&a, "\x1b\n", 2, ~0ULL), 2); /* filtered again */
	assert_true(console_drain(&a, ~0ULL));
	assert_non_null(strstr(wire, "[alpha] ?\r\n"));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, setup)
	const struct CMUnitTest tests[] = {
		T(lines_get_prefix_and_crlf),
		T(control_and_bad_utf8_become_question_marks),
		T(overlong_line_is_cut_not_lost),
		T(full_queue_refuses_and_loses_nothing),
		T(write_past_deadline_takes_one_line),
		T(drain_stops_when_sink_busy_or_deadline),
		T(lines_never_interleave),
		T(a_slow_fill_does_not_stop_output),
		T(hv_lines_are_rate_limited_with_a_count),
		T(unlimited_console_is_not_limited),
		T(tail_keeps_the_last_bytes),
		T(input_ring_bounded_and_counted),
		T(focus_hot_keys),
		T(raw_terminal_holds_the_others),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
