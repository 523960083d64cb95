/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * conflood: floods its console, for the temporal-isolation cases.  It
 * calls HC_CONSOLE_WRITE in a loop, forever, with huge buffers of many
 * short lines (up to 65536 lines of two bytes asked in one call), one-line
 * writes and over-long lines; it never yields.  Beside it a ticker must
 * keep every window on time: nothing a partition does may cost time
 * outside its own windows (issue 10, section 1).
 *
 * The contract it is held to (kernel/hypercall.c, kernel/console.h): a
 * write takes what the partition's queue has room for, bounded in time, so
 * it may take fewer bytes than asked; it returns -PARTITA_E_AGAIN only when the
 * queue is full.  Whatever a write took must reach the serial line, in
 * order.  So that the case can check that, what it writes is one stream
 * the case can follow line by line (tests/integration/cases_isolation.py):
 *
 *   - letter lines "a" .. "z", "a", ... (the short-line flood), each write
 *     continuing exactly where the bytes taken by the last one ended;
 *   - over-long lines of '#' (8191 of them, then '\n'), which the console
 *     cuts into lines of CONSOLE_LINE_MAX: the case counts their bytes;
 *   - after each step of a round, a mark that says how many letter lines
 *     and '#' bytes were taken before it:
 *       "mark N: L letter lines, H hash bytes, S short writes, A again"
 *     (S: writes that took fewer bytes than asked; A: -PARTITA_E_AGAIN answers).
 *
 * Every other round it writes when its window is about to end (the last
 * `margin` ns), where the time bound of a write matters most, and again at
 * the end of its next window if the first answer was -PARTITA_E_AGAIN.  Its first
 * line carries bytes a console must not pass to the operator's terminal as
 * they are (C1 controls raw and UTF-8-encoded, ESC, a lone 0xff).  An
 * answer outside the contract (0 bytes taken of a non-empty write, more
 * than asked, an error other than -PARTITA_E_AGAIN) prints a FAIL line.
 */
#include "guests/lib/guest.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"

#define CYCLE 52 /* bytes of "a\n" .. "z\n" */

/* 65536 letter lines, plus one cycle so that any position of the stream
 * can start a write of up to 65536 lines. */
static char letters[2 * 65536 + CYCLE];
static char longline[8192];

static u64 letter_pos; /* bytes of the letter stream taken so far */
static u64 hash_bytes; /* '#' bytes taken so far */
static u64 short_writes, again_count, marks;
static bool failed;

/* Checks one answer of HC_CONSOLE_WRITE against the contract; returns the
 * bytes taken (0 for -PARTITA_E_AGAIN or an error). */
static u64 taken(long n, u64 len)
{
	if (n == -PARTITA_E_AGAIN) {
		again_count++;
		return 0;
	}
	if (n < 0 || (u64)n > len || (n == 0 && len)) {
		if (!failed) {
			failed = true;
			printf("FAIL HC_CONSOLE_WRITE of %llu bytes returned %ld\n",
			       (unsigned long long)len, n);
		}
		return 0;
	}
	if ((u64)n < len)
		short_writes++;
	return (u64)n;
}

/* One write of the next len bytes of the letter stream; returns the raw
 * answer. */
static long write_letters(u64 len)
{
	long n = hc_console_write(letters + letter_pos % CYCLE, len);

	letter_pos += taken(n, len);
	return n;
}

/* Sends the next len bytes of the letter stream, however many calls it
 * takes (-PARTITA_E_AGAIN: the queue is full; the call yielded the window). */
static void send_letters(u64 len)
{
	u64 end = letter_pos + len;

	while (letter_pos < end && !failed)
		write_letters(end - letter_pos);
}

/* Sends all of buf, however many calls it takes. */
static void send(const char *buf, u64 len)
{
	while (len && !failed) {
		u64 n = taken(hc_console_write(buf, len), len);
		buf += n;
		len -= n;
	}
}

/* Ends a letter line that a short write left half taken, so that the
 * next line of another kind starts on a line of its own. */
static void letters_to_line_end(void)
{
	if (letter_pos % 2)
		send_letters(1);
}

static void send_longline(void)
{
	letters_to_line_end();
	send(longline, sizeof(longline));
	hash_bytes += sizeof(longline) - 1;
}

static void mark(void)
{
	char buf[128];

	letters_to_line_end();
	int n = snprintf(
		buf, sizeof(buf),
		"mark %llu: %llu letter lines, %llu hash bytes, %llu short writes, %llu again\n",
		(unsigned long long)marks, (unsigned long long)(letter_pos / 2),
		(unsigned long long)hash_bytes, (unsigned long long)short_writes,
		(unsigned long long)again_count);
	send(buf, (u64)n);
	marks++;
}

/* Nanoseconds (HC_TIME's clock) to the end of the window running now,
 * from the schedule in the start-info page; 0 if none is. */
static u64 to_window_end(const struct partita_start_info *si, u64 now)
{
	u64 off = (now - si->epoch_ns) % si->frame_ns;

	for (unsigned w = 0; w < si->window_count && w < PARTITA_MAX_WINDOWS; w++)
		if (off >= si->windows[w].offset_ns &&
		    off < si->windows[w].offset_ns + si->windows[w].length_ns)
			return si->windows[w].offset_ns + si->windows[w].length_ns - off;
	return 0;
}

/* Waits for the last `margin` ns of one of its windows, then writes the
 * next len bytes of the letter stream once. */
static long letters_at_window_end(const struct partita_start_info *si, u64 len, u64 margin)
{
	for (;;) {
		u64 left = to_window_end(si, hc_time());
		if (left && left < margin)
			return write_letters(len);
	}
}

int guest_main(const struct partita_start_info *si)
{
	static const char probe[] = "console-probe: <\x9b"
				    "31m> <\xc2\x9b"
				    "32m> <\x1b[2J> <\xff> <\xc3\xa9> end\n";

	for (unsigned i = 0; i < sizeof(letters); i += 2) {
		letters[i] = (char)('a' + (i / 2) % 26);
		letters[i + 1] = '\n';
	}
	memset(longline, '#', sizeof(longline));
	longline[sizeof(longline) - 1] = '\n';
	send(probe, sizeof(probe) - 1);
	mark();
	/* The margin: three HC_TIME calls, at least 30 us (an emulator may
	 * take far longer per call than a PC). */
	u64 t0 = hc_time(), t1 = hc_time();
	u64 margin = MAX(30000ULL, 3 * (t1 - t0));
	for (u64 round = 0; !failed; round++) {
		if (round % 2 == 0) {
			/* At a window's end; again at the next one's if the
			 * queue was full. */
			for (int i = 0; i < 4; i++)
				if (letters_at_window_end(si, 2 * 4096, margin) == -PARTITA_E_AGAIN)
					letters_at_window_end(si, 2 * 4096, margin);
			mark();
		}
		for (int i = 0; i < 64; i++)
			send_letters(2); /* one line at a time */
		mark();
		send_longline();
		mark();
		write_letters(sizeof(letters) - CYCLE); /* 65536 lines asked, once */
		mark();
		send_letters(2 * 1024); /* 1024 lines, however many calls it takes */
		mark();
	}
	for (;;)
		hc_yield();
}
