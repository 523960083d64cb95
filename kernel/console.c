/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Consoles and the serial line they share (see console.h): line assembly,
 * sanitising, output queues, rate-limited hypervisor lines, and draining
 * under a deadline without ever waiting for the UART.
 */
#include "kernel/console.h"
#include "arch/x86/cpu.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"

/* Rate limits of guest-triggered [hv] lines.  Faults come with restarts,
 * which clear memory in the partition's own windows and so are slow
 * anyway: more of them are shown. */
static const struct {
	u32 burst;
	u64 refill_ns;
} limit_rule[LOG_KIND_COUNT] = {
	[LOG_KIND_OTHER] = { 16, 250000000ULL },
	[LOG_KIND_LIFE] = { 32, 100000000ULL },
	[LOG_KIND_UD] = { 8, 250000000ULL },
	[LOG_KIND_IO] = { 40, 250000000ULL }, /* unknown ports are logged once each */
	[LOG_KIND_MMIO] = { 40, 250000000ULL },
	[LOG_KIND_MSR] = { 8, 250000000ULL },
	[LOG_KIND_HLT] = { 4, 1000000000ULL },
};

static const struct console_sink *sink;
static const struct console_mirror *mirror;
/* The console whose line is on the wire (started, not yet ended), or NULL:
 * only it may send until its line ends, so lines never interleave. */
static const struct console *wire_owner;
static bool sink_was_busy;
/* The console with the terminal raw (console_set_raw), or NULL; read
 * without the lock by writers on other CPUs. */
static struct console *raw_owner;
/* After raw ends: the others wait until release_owner has sent its queue
 * up to release_at (its raw bytes' line end and the note). */
static struct console *release_owner;
static u64 release_at;
/* What filling the sink once (up to its room) costs, in TSC cycles: a
 * running average that rises at once to a slower fill and falls slowly.  A
 * drain starts a fill only if it should end before the deadline.  One fill
 * stretched by the host (an emulator descheduled) must not stop all output:
 * a fill refused for the estimate lowers it, so draining always resumes. */
static u64 fill_tsc;

static void fill_measured(u64 took)
{
	fill_tsc = took > fill_tsc ? (fill_tsc + took) / 2 : fill_tsc - (fill_tsc - took) / 16;
}

void console_set_sink(const struct console_sink *s)
{
	sink = s;
}

void console_set_mirror(const struct console_mirror *m)
{
	mirror = m;
}

void console_mirror_idle(u64 deadline_tsc)
{
	if (mirror)
		mirror->paint(deadline_tsc, true);
}

void console_mirror_report(void)
{
	if (mirror && mirror->report)
		mirror->report();
}

/* One byte to the sink, and to the mirror. */
static void emit(u8 b)
{
	sink->put(b);
	if (mirror)
		mirror->put(b);
}

void console_init(struct console *c, const char *name)
{
	memset(c, 0, sizeof(*c));
	c->name = name;
	for (unsigned k = 0; k < LOG_KIND_COUNT; k++)
		c->limits[k].tokens = limit_rule[k].burst;
}

u64 console_room(const struct console *c)
{
	return CONSOLE_QUEUE - (c->queued - c->sent);
}

/* Appends n bytes (the caller checked the room), in at most two copies
 * around the ring's end. */
static void queue_bytes(struct console *c, const char *s, u64 n)
{
	u64 at = c->queued % CONSOLE_QUEUE;
	u64 first = MIN(n, CONSOLE_QUEUE - at);

	memcpy(c->queue + at, s, first);
	memcpy(c->queue, s + first, n - first);
	/* Published after the bytes: a reader on another CPU (console.h). */
	__atomic_store_n(&c->queued, c->queued + n, __ATOMIC_RELEASE);
}

/* Length of the well-formed UTF-8 sequence at s[0..n), or 0 (RFC 3629 §4,
 * the table of well-formed byte sequences). */
static unsigned utf8_sequence(const u8 *s, u64 n)
{
	u8 b = s[0];
	unsigned len;
	u8 lo = 0x80, hi = 0xbf; /* the range of the second byte */

	if (b >= 0xc2 && b <= 0xdf)
		len = 2;
	else if (b >= 0xe0 && b <= 0xef)
		len = 3, lo = b == 0xe0 ? 0xa0 : 0x80, hi = b == 0xed ? 0x9f : 0xbf;
	else if (b >= 0xf0 && b <= 0xf4)
		len = 4, lo = b == 0xf0 ? 0x90 : 0x80, hi = b == 0xf4 ? 0x8f : 0xbf;
	else
		return 0;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (unsigned i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* Rewrites a line in place: well-formed UTF-8 stays, except the C1 controls
 * U+0080-U+009F (C2 80 - C2 9F), which terminals obey as controls; every
 * byte of anything else becomes '?'.  Returns the new length. */
static u32 sanitize_line(char *line, u32 len)
{
	u8 *s = (u8 *)line;
	u32 out = 0;

	for (u32 i = 0; i < len;) {
		if (s[i] < 0x80) {
			s[out++] = s[i++];
			continue;
		}
		unsigned n = utf8_sequence(s + i, len - i);
		if (n == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0)
			n = 0; /* C1 control */
		if (n == 0) {
			s[out++] = '?';
			i++;
			continue;
		}
		for (unsigned k = 0; k < n; k++)
			s[out++] = s[i++];
	}
	return out;
}

/* Queues the assembled line as "[name] text\r\n". The caller checked room. */
static void queue_line(struct console *c)
{
	u32 len = sanitize_line(c->line, c->line_len);

	queue_bytes(c, "[", 1);
	queue_bytes(c, c->name, strlen(c->name));
	queue_bytes(c, "] ", 2);
	queue_bytes(c, c->line, len);
	queue_bytes(c, "\r\n", 2);
	c->line_len = 0;
}

/* The raw console's bytes: as they are, while its queue has room, with the
 * deadline checked every line's worth of bytes. */
static u64 write_raw(struct console *c, const char *data, u64 len, u64 deadline_tsc)
{
	u64 i;

	for (i = 0; i < len && console_room(c) > CONSOLE_LINE_WORST; i++) {
		c->tail[c->total % CONSOLE_TAIL] = data[i];
		c->total++;
		queue_bytes(c, data + i, 1);
		if (i % CONSOLE_LINE_MAX == CONSOLE_LINE_MAX - 1 && rdtsc() >= deadline_tsc)
			return i + 1;
	}
	return i;
}

u64 console_write(struct console *c, const char *data, u64 len, u64 deadline_tsc)
{
	u64 i;
	struct console *raw = __atomic_load_n(&raw_owner, __ATOMIC_ACQUIRE);

	if (raw == c)
		return write_raw(c, data, len, deadline_tsc);
	for (i = 0; i < len; i++) {
		char ch = data[i];
		bool ends = ch == '\n' || c->line_len + 1 == CONSOLE_LINE_MAX;
		if (ends && console_room(c) < CONSOLE_LINE_WORST) {
			if (!raw)
				break;
			/* Held behind a raw terminal: the writer goes on, the
			 * line is dropped and counted (console_set_raw). */
			c->line_len = 0;
			c->held_dropped++;
			continue;
		}
		if (ch == '\r')
			continue; /* line ends are the serial line's business */
		if (ch != '\n' && ch != '\t' && ((unsigned char)ch < 0x20 || ch == 0x7f))
			ch = '?';
		c->tail[c->total % CONSOLE_TAIL] = ch;
		c->total++;
		if (ch == '\n' || (c->line[c->line_len++] = ch, c->line_len == CONSOLE_LINE_MAX)) {
			queue_line(c); /* an over-long line is cut, not lost */
			if (rdtsc() >= deadline_tsc)
				return i + 1;
		}
	}
	return i;
}

bool console_flush(struct console *c)
{
	if (!c->line_len)
		return true;
	if (console_room(c) < CONSOLE_LINE_WORST)
		return false;
	queue_line(c);
	return true;
}

/* Refills the bucket for the time passed; true if a line may go out. */
static bool limit_take(struct log_limit *l, enum log_kind kind, u64 now_ns)
{
	u64 refill = limit_rule[kind].refill_ns;

	if (now_ns > l->refilled_ns) {
		u64 add = (now_ns - l->refilled_ns) / refill;
		if (add) {
			l->tokens = (u32)MIN((u64)limit_rule[kind].burst, l->tokens + add);
			l->refilled_ns += add * refill;
		}
	} else if (now_ns + refill < l->refilled_ns) {
		l->refilled_ns = now_ns; /* the clock was reset (host tests) */
	}
	if (!l->tokens)
		return false;
	l->tokens--;
	return true;
}

void console_hv_suppress(struct console *c, enum log_kind kind)
{
	c->limits[kind < LOG_KIND_COUNT ? kind : LOG_KIND_OTHER].suppressed++;
	c->suppressed_total++;
}

bool console_hv_admit(struct console *c, enum log_kind kind, u64 now_ns)
{
	if (kind >= LOG_KIND_COUNT)
		kind = LOG_KIND_OTHER;
	if (console_room(c) >= CONSOLE_LINE_WORST &&
	    (c->unlimited || limit_take(&c->limits[kind], kind, now_ns)))
		return true;
	console_hv_suppress(c, kind);
	return false;
}

bool console_hv_line(struct console *c, enum log_kind kind, const char *text, u64 len)
{
	if (kind >= LOG_KIND_COUNT)
		kind = LOG_KIND_OTHER;
	struct log_limit *l = &c->limits[kind];
	char note[40];
	int note_len = 0;

	if (len > CONSOLE_HV_LINE_MAX)
		len = CONSOLE_HV_LINE_MAX;
	if (console_room(c) < CONSOLE_LINE_WORST) {
		console_hv_suppress(c, kind);
		return false;
	}
	if (l->suppressed) {
		note_len = snprintf(note, sizeof(note), " (%u similar lines suppressed)",
				    l->suppressed);
		l->suppressed = 0;
	}
	queue_bytes(c, "[hv] ", 5);
	queue_bytes(c, text, len);
	queue_bytes(c, note, (u64)note_len);
	queue_bytes(c, "\r\n", 2);
	return true;
}

static bool drain(struct console *c, u64 deadline_tsc)
{
	unsigned room;

	sink_was_busy = false;
	if (!sink)
		return !console_pending(c);
	if (release_owner && release_owner->sent >= release_at)
		release_owner = NULL;
	if (((raw_owner && raw_owner != c) || (release_owner && release_owner != c)) &&
	    wire_owner != c)
		return !console_pending(c); /* held */
	while (console_pending(c)) {
		if (wire_owner && wire_owner != c)
			return false;
		/* One FIFO's worth at a time: its cost is bounded by the
		 * FIFO's depth, so the deadline is checked once per fill. */
		u64 t0 = rdtsc();
		if (t0 + fill_tsc >= deadline_tsc) {
			if (t0 < deadline_tsc)
				fill_tsc -= fill_tsc / 16;
			return false;
		}
		if (!(room = sink->room())) {
			sink_was_busy = true;
			return false;
		}
		for (; room && console_pending(c); room--) {
			u8 b = (u8)c->queue[c->sent % CONSOLE_QUEUE];
			emit(b);
			c->sent++;
			wire_owner = b == '\n' ? NULL : c;
		}
		fill_measured(rdtsc() - t0);
	}
	return true;
}

bool console_drain(struct console *c, u64 deadline_tsc)
{
	bool empty = drain(c, deadline_tsc);

	if (mirror)
		mirror->paint(deadline_tsc, false);
	return empty;
}

bool console_sink_busy(void)
{
	return sink_was_busy;
}

const struct console *console_wire_owner(void)
{
	return wire_owner;
}

void console_drain_sync(struct console *c, unsigned (*wait_room)(void))
{
	if (!sink)
		return;
	while (console_pending(c)) {
		unsigned room = wait_room();
		u64 t0 = rdtsc();
		for (; room && console_pending(c); room--) {
			u8 b = (u8)c->queue[c->sent % CONSOLE_QUEUE];
			emit(b);
			c->sent++;
			wire_owner = b == '\n' ? NULL : c;
		}
		fill_measured(rdtsc() - t0);
	}
	if (mirror)
		mirror->paint(~0ULL, true);
}

u64 console_read_tail(const struct console *c, char *buf, u64 len)
{
	u64 kept = MIN(c->total, (u64)CONSOLE_TAIL);
	u64 n = MIN(len, kept);
	u64 at = (c->total - n) % CONSOLE_TAIL;
	u64 first = MIN(n, CONSOLE_TAIL - at);

	memcpy(buf, c->tail + at, first);
	memcpy(buf + first, c->tail, n - first);
	return n;
}

bool console_input_put(struct console *c, u8 byte)
{
	if (!c->takes_input ||
	    c->input_put - __atomic_load_n(&c->input_got, __ATOMIC_ACQUIRE) >= CONSOLE_INPUT) {
		c->input_dropped++;
		return false;
	}
	c->input[c->input_put % CONSOLE_INPUT] = byte;
	/* Published after the byte: the consumer runs on another CPU. */
	__atomic_store_n(&c->input_put, c->input_put + 1, __ATOMIC_RELEASE);
	return true;
}

int console_input_get(struct console *c)
{
	if (!console_input_pending(c))
		return -1;
	u8 b = c->input[c->input_got % CONSOLE_INPUT];
	__atomic_store_n(&c->input_got, c->input_got + 1, __ATOMIC_RELEASE);
	return b;
}

enum focus_event console_focus_key(struct console_focus *f, u8 byte, unsigned count, unsigned *out)
{
	if (!f->escape) {
		if (byte == FOCUS_ESCAPE) {
			f->escape = true;
			return FOCUS_NONE;
		}
		*out = byte;
		return FOCUS_BYTE;
	}
	f->escape = false;
	if (byte == FOCUS_ESCAPE) {
		*out = byte;
		return FOCUS_BYTE;
	}
	if (byte >= '0' && byte <= '9') {
		*out = (unsigned)(byte - '0');
		if (*out >= count)
			return FOCUS_NO_SUCH;
		f->current = *out;
		return FOCUS_MOVE;
	}
	if (byte == 'n' && count) {
		f->current = (f->current + 1) % count;
		*out = f->current;
		return FOCUS_MOVE;
	}
	if (byte == '?' || byte == 'h')
		return FOCUS_HELP;
	if (byte == 'r')
		return FOCUS_RAW;
	*out = byte;
	return FOCUS_UNKNOWN;
}

void console_set_raw(struct console *c, const char *note)
{
	struct console *old = raw_owner;

	if (old == c)
		return;
	if (old) {
		/* What old sent raw ends its line; then the note; the others
		 * stay held until both are on the wire. */
		if (console_room(old) >= CONSOLE_LINE_WORST + 2) {
			queue_bytes(old, "\r\n", 2);
			if (note && !c)
				console_hv_line(old, LOG_KIND_LIFE, note, strlen(note));
		}
		release_owner = old;
		release_at = old->queued;
	}
	if (c) {
		if (note)
			console_hv_line(c, LOG_KIND_LIFE, note, strlen(note));
		console_flush(c);
	}
	__atomic_store_n(&raw_owner, c, __ATOMIC_RELEASE);
}

struct console *console_raw_owner(void)
{
	return raw_owner;
}
