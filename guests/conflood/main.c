/*
 * conflood: floods its console, for the temporal-isolation cases.  It
 * calls HC_CONSOLE_WRITE in a loop, forever, with huge buffers of many
 * short lines (up to 4096 lines of two bytes in one call), one-line writes,
 * and over-long lines; it never yields.  Beside it a ticker must keep
 * every window on time: nothing a partition does may cost time outside its
 * own windows (issue 10, section 1).  Every other round it aims at the
 * cost estimate: it writes when its window is about to end, so that no
 * line fits and the write is deferred, and again at the end of its next
 * window, where a write deferred once is taken whole.  Its first line
 * also carries bytes a
 * console must not pass to the operator's terminal as they are (C1
 * controls raw and UTF-8-encoded, ESC, a lone 0xff).
 */
#include "guests/lib/partita.h"
#include "kernel/lib/string.h"

static char lines[2 * 65536];   /* 65536 lines "x\n" */
static char longline[8192];

/* Sends len bytes, however many calls it takes (-E_AGAIN: the next window). */
static void send(const char *buf, u64 len)
{
	while (len) {
		long n = hc_console_write(buf, len);
		if (n > 0) {
			buf += n;
			len -= (u64)n;
		} else if (n != -E_AGAIN) {
			return;
		}
	}
}

/* Nanoseconds (HC_TIME's clock) to the end of the window running now,
 * from the schedule in the start-info page; 0 if none is. */
static u64 to_window_end(const struct partita_start_info *si, u64 now)
{
	u64 off = (now - si->epoch_ns) % si->frame_ns;

	for (unsigned w = 0; w < si->window_count && w < PARTITA_MAX_WINDOWS; w++)
		if (off >= si->windows[w].offset_ns && off < si->windows[w].offset_ns + si->windows[w].length_ns)
			return si->windows[w].offset_ns + si->windows[w].length_ns - off;
	return 0;
}

/* Waits for the last `margin` ns of one of its windows, then writes. */
static long write_at_window_end(const struct partita_start_info *si, const char *buf, u64 len,
				u64 margin)
{
	for (;;) {
		u64 left = to_window_end(si, hc_time());
		if (left && left < margin)
			return hc_console_write(buf, len);
	}
}

int guest_main(const struct partita_start_info *si)
{
	static const char probe[] = "console-probe: <\x9b" "31m> <\xc2\x9b" "32m> <\x1b[2J> <\xff> <\xc3\xa9> end\n";

	for (unsigned i = 0; i < sizeof(lines); i += 2) {
		lines[i] = (char)('a' + (i / 2) % 26);
		lines[i + 1] = '\n';
	}
	memset(longline, '#', sizeof(longline));
	longline[sizeof(longline) - 1] = '\n';
	send(probe, sizeof(probe) - 1);
	/* The margin: three HC_TIME calls, at least 30 us (an emulator may
	 * take far longer per call than a PC). */
	u64 t0 = hc_time(), t1 = hc_time();
	u64 margin = MAX(30000ULL, 3 * (t1 - t0));
	for (u64 round = 0;; round++) {
		/* Deferred at one window's end, taken whole at the next's. */
		for (int i = 0; i < 4; i++) {
			long n = write_at_window_end(si, lines, 2 * 4096, margin);
			if (n == -E_AGAIN)
				write_at_window_end(si, lines, 2 * 4096, margin);
		}
		send(lines, 2 * 4096);     /* 4096 short lines in one call */
		send(lines, sizeof(lines)); /* 65536 of them */
		for (int i = 0; i < 64; i++)
			send(lines, 2);     /* one line at a time */
		send(longline, sizeof(longline));
		hc_console_write(lines, 2 * 4096); /* once more, without retrying */
	}
}
