/*
 * Partition consoles (see console.h).
 */
#include "kernel/console.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"

#define CONSOLE_PREFIX_MAX 36 /* "[" name "] " and the line end */

void console_init(struct console *c, const char *name)
{
	memset(c, 0, sizeof(*c));
	c->name = name;
}

void console_flush(struct console *c)
{
	if (!c->line_len)
		return;
	log_partition_line(c->name, c->line, c->line_len);
	c->line_len = 0;
}

void console_write(struct console *c, const char *data, u64 len)
{
	for (u64 i = 0; i < len; i++) {
		char ch = data[i];
		if (ch == '\r')
			continue; /* line ends are the serial port's business */
		if (ch != '\n' && ch != '\t' && ((unsigned char)ch < 0x20 || ch == 0x7f))
			ch = '?';
		c->tail[c->total % CONSOLE_TAIL] = ch;
		c->total++;
		if (ch == '\n') {
			log_partition_line(c->name, c->line, c->line_len);
			c->line_len = 0;
			continue;
		}
		if (c->line_len == CONSOLE_LINE_MAX)
			console_flush(c); /* an over-long line is cut, not lost */
		c->line[c->line_len++] = ch;
	}
}

u64 console_fit(const struct console *c, const char *data, u64 len, u64 budget_tsc,
		u64 tsc_per_byte)
{
	u64 line = c->line_len, cost = 0, fits = 0;

	for (u64 i = 0; i < len; i++) {
		line++;
		if (data[i] == '\n' || line >= CONSOLE_LINE_MAX) {
			cost += (line + CONSOLE_PREFIX_MAX) * tsc_per_byte;
			if (cost > budget_tsc)
				return fits;
			fits = i + 1;
			line = 0;
		}
	}
	return len; /* the rest waits in the line buffer: no output yet */
}

u64 console_read_tail(const struct console *c, char *buf, u64 len)
{
	u64 kept = MIN(c->total, (u64)CONSOLE_TAIL);
	u64 n = MIN(len, kept);
	u64 start = c->total - n;

	for (u64 i = 0; i < n; i++)
		buf[i] = c->tail[(start + i) % CONSOLE_TAIL];
	return n;
}
