/*
 * Partition consoles.  What a partition writes is cut into lines; each whole
 * line goes to the serial port as "[name] text", never interleaved with
 * another line.  The last CONSOLE_TAIL bytes are also kept for the control
 * hypercall that reads another partition's console.
 */
#ifndef PARTITA_CONSOLE_H
#define PARTITA_CONSOLE_H

#include "kernel/types.h"

#define CONSOLE_LINE_MAX 200
#define CONSOLE_TAIL 4096

struct console {
	const char *name;
	char line[CONSOLE_LINE_MAX];
	u32 line_len;
	char tail[CONSOLE_TAIL]; /* ring */
	u64 total;               /* bytes ever written */
};

void console_init(struct console *c, const char *name);

/** Takes bytes from a partition.  Control characters other than newline
 *  and tab are shown as '?', so a guest cannot drive the terminal; carriage
 *  returns are dropped. */
void console_write(struct console *c, const char *data, u64 len);

/**
 * How many of len bytes console_write can take with the lines they complete
 * printed within budget_tsc TSC cycles, at tsc_per_byte for each byte of a
 * line (0 if not even the first line fits).  Writing to the serial port
 * cannot be interrupted, so a partition must not start a line it cannot
 * finish in its window.
 */
u64 console_fit(const struct console *c, const char *data, u64 len, u64 budget_tsc,
		u64 tsc_per_byte);

/** Sends an unfinished line (e.g. when its partition stops). */
void console_flush(struct console *c);

/** Copies the last min(len, kept) bytes of the tail into buf, oldest first;
 *  returns the count. */
u64 console_read_tail(const struct console *c, char *buf, u64 len);

#endif
