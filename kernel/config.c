/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The parser of partita.conf (format, structures and contract in config.h).
 * It reads the text line by line, without copying it, through (pointer,
 * length) slices that never reach outside text[0..len); numbers are parsed
 * with overflow checks; every refusal fills a struct config_error naming the
 * line and the reason.  It uses no heap, no recursion, no floating point and
 * no mutable static state, because the same file runs in the freestanding
 * core, in the UEFI loader and on the host (unit tests, fuzzer).
 *
 * Choices the header leaves open, made here:
 *  - a value ends at '#' (a comment), except for cmdline, which takes the
 *    rest of the line verbatim; every value is trimmed of spaces and tabs;
 *  - control characters other than tab are refused, bytes >= 0x80 are not
 *    (UTF-8 comments and command lines); a UTF-8 byte-order mark is skipped;
 *  - booleans are yes/no (also true/false); memory sizes are decimal or 0x
 *    hex with an optional K, M or G suffix; times are decimal with a ns, us,
 *    ms or s suffix (a bare 0 is allowed);
 *  - image and initrd are plain file names ([A-Za-z0-9._+-], no directories);
 *    initrd is refused for pv partitions;
 *  - module = FILE [ARGS]: the first word is a file name as above, the rest
 *    of the value (trimmed, up to a '#') its string, kept as written;
 *    repeatable, refused for pv partitions;
 *  - a channel's size is optional and defaults to 4K;
 *  - a key that is not repeatable may not be given twice in one section;
 *  - the api_* keys are refused outside a partition with caps = control (the
 *    check waits for the end of the section, as caps may come later);
 *  - the same PCI device may not be passed to two partitions (config_check).
 */
#include "kernel/config.h"
#include "kernel/errno.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"

#include <stdarg.h>

/* A piece of the text: never terminated, never read beyond p[n - 1]. */
struct str {
	const char *p;
	size_t n;
};

enum section { SECT_NONE, SECT_HYPERVISOR, SECT_PARTITION, SECT_CHANNEL };

enum key {
	K_FRAME,
	K_DEBUG_EXIT,
	K_EXIT_AFTER_BOOT,
	K_CHECK,
	K_END_ON_EXIT,
	K_KIND,
	K_MEMORY,
	K_IMAGE,
	K_INITRD,
	K_CMDLINE,
	K_CPU,
	K_WINDOW,
	K_CAPS,
	K_ON_FAULT,
	K_DEVICE,
	K_TRUSTED,
	K_RAW,
	K_API_TLS,
	K_API_CERT,
	K_API_KEY,
	K_API_TOKEN,
	K_API_PUBLIC_READ,
	K_INSTANCES,
	K_FROM,
	K_COW_BUDGET,
	K_BETWEEN,
	K_SIZE,
	K_MODULE,
	K_DISK,
	K_DISK_WRITES,
	K_DISK_LAYER,
	KEY_COUNT
};

static const struct {
	enum section sect;
	const char *name;
	bool repeatable;
} keys[KEY_COUNT] = {
	[K_FRAME] = { SECT_HYPERVISOR, "frame", false },
	[K_DEBUG_EXIT] = { SECT_HYPERVISOR, "debug_exit", false },
	[K_EXIT_AFTER_BOOT] = { SECT_HYPERVISOR, "exit_after_boot", false },
	[K_CHECK] = { SECT_HYPERVISOR, "check", false },
	[K_END_ON_EXIT] = { SECT_HYPERVISOR, "end_on_exit", false },
	[K_KIND] = { SECT_PARTITION, "kind", false },
	[K_MEMORY] = { SECT_PARTITION, "memory", false },
	[K_IMAGE] = { SECT_PARTITION, "image", false },
	[K_INITRD] = { SECT_PARTITION, "initrd", false },
	[K_CMDLINE] = { SECT_PARTITION, "cmdline", false },
	[K_CPU] = { SECT_PARTITION, "cpu", false },
	[K_WINDOW] = { SECT_PARTITION, "window", true },
	[K_CAPS] = { SECT_PARTITION, "caps", false },
	[K_ON_FAULT] = { SECT_PARTITION, "on_fault", false },
	[K_DEVICE] = { SECT_PARTITION, "device", true },
	[K_TRUSTED] = { SECT_PARTITION, "trusted", false },
	[K_RAW] = { SECT_PARTITION, "raw", false },
	[K_API_TLS] = { SECT_PARTITION, "api_tls", false },
	[K_API_CERT] = { SECT_PARTITION, "api_cert", false },
	[K_API_KEY] = { SECT_PARTITION, "api_key", false },
	[K_API_TOKEN] = { SECT_PARTITION, "api_token", false },
	[K_API_PUBLIC_READ] = { SECT_PARTITION, "api_public_read", false },
	[K_INSTANCES] = { SECT_PARTITION, "instances", false },
	[K_FROM] = { SECT_PARTITION, "from", false },
	[K_COW_BUDGET] = { SECT_PARTITION, "cow_budget", false },
	[K_BETWEEN] = { SECT_CHANNEL, "between", false },
	[K_SIZE] = { SECT_CHANNEL, "size", false },
	[K_MODULE] = { SECT_PARTITION, "module", true },
	[K_DISK] = { SECT_PARTITION, "disk", false },
	[K_DISK_WRITES] = { SECT_PARTITION, "disk_writes", false },
	[K_DISK_LAYER] = { SECT_PARTITION, "disk_layer", false },
};

#define QUOTE_MAX 40 /* characters of a value quoted in a message */
#define QUOTE_BUF (QUOTE_MAX + 4)
#define CHANNEL_DEFAULT_SIZE 4096ULL

struct parser {
	struct config *cfg;
	struct config_error *err;
	unsigned line;
	enum section sect;
	unsigned sect_line;		  /* of the current header */
	unsigned hypervisor_line;	  /* 0 until [hypervisor] is seen */
	char label[CONFIG_NAME_MAX + 16]; /* "[partition NAME]" for messages */
	struct config_partition *part;
	struct config_channel *chan;
	unsigned key_line[KEY_COUNT]; /* 0: not yet given in this section */
	bool size_given;
	char from[CONFIG_NAME_MAX]; /* `from =` of the current section */
};

/* ------------------------------------------------------------ messages -- */

static void error_set(struct config_error *err, unsigned line, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void error_set(struct config_error *err, unsigned line, const char *fmt, va_list ap)
{
	err->line = line;
	vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
}

static int fail_at(struct config_error *err, unsigned line, const char *fmt, ...) __printf(3, 4);

static int fail_at(struct config_error *err, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_set(err, line, fmt, ap);
	va_end(ap);
	return -E_INVAL;
}

/* Refuses the current line. */
static int fail(struct parser *p, const char *fmt, ...) __printf(2, 3);

static int fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_set(p->err, p->line, fmt, ap);
	va_end(ap);
	return -E_INVAL;
}

/*
 * Copies a slice into buf (QUOTE_BUF bytes) for a message, shortened with
 * "..." when long.  Copying, rather than printing with "%.*s", keeps every
 * read of the text inside the slice whatever vsnprintf does with precision.
 */
static const char *quote(char *buf, struct str s)
{
	size_t n = s.n > QUOTE_MAX ? QUOTE_MAX : s.n;

	memcpy(buf, s.p, n);
	if (s.n > QUOTE_MAX) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

/* Writes a time in the largest unit that states it exactly: 8ms, 250us. */
static const char *format_time(char *buf, size_t size, u64 ns)
{
	static const struct {
		u64 div;
		const char *unit;
	} units[] = {
		{ 1000000000ULL, "s" },
		{ 1000000ULL, "ms" },
		{ 1000ULL, "us" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (ns && ns % units[i].div == 0) {
			snprintf(buf, size, "%llu%s", (unsigned long long)(ns / units[i].div),
				 units[i].unit);
			return buf;
		}
	}
	snprintf(buf, size, "%llu%s", (unsigned long long)ns, ns ? "ns" : "");
	return buf;
}

/* ------------------------------------------------------------- slices -- */

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

static struct str trim(struct str s)
{
	while (s.n && is_space(s.p[0])) {
		s.p++;
		s.n--;
	}
	while (s.n && is_space(s.p[s.n - 1]))
		s.n--;
	return s;
}

/* The index of the first c in s, or s.n. */
static size_t find(struct str s, char c)
{
	size_t i = 0;

	while (i < s.n && s.p[i] != c)
		i++;
	return i;
}

static struct str head(struct str s, size_t n)
{
	return (struct str){ s.p, n < s.n ? n : s.n };
}

static struct str tail(struct str s, size_t from)
{
	if (from >= s.n)
		return (struct str){ s.p + s.n, 0 };
	return (struct str){ s.p + from, s.n - from };
}

static struct str strip_comment(struct str s)
{
	return head(s, find(s, '#'));
}

static bool eq(struct str s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n == n && memcmp(s.p, lit, n) == 0;
}

/* Splits off the first whitespace-separated word of s (already trimmed). */
static struct str next_word(struct str *s)
{
	size_t i = 0;
	struct str w;

	while (i < s->n && !is_space(s->p[i]))
		i++;
	w = head(*s, i);
	*s = trim(tail(*s, i));
	return w;
}

/* Copies s into a terminated buffer of size bytes; false if it does not fit. */
static bool copy_str(char *dst, size_t size, struct str s)
{
	if (s.n >= size)
		return false;
	memcpy(dst, s.p, s.n);
	dst[s.n] = '\0';
	return true;
}

/* ------------------------------------------------------------- numbers -- */

enum scan { SCAN_OK, SCAN_NONE, SCAN_OVERFLOW };

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Reads an unsigned number at the start of s: decimal, or hex after "0x"
 * when allow_hex.  *used is the number of characters it took.
 */
static enum scan scan_u64(struct str s, bool allow_hex, u64 *v, size_t *used)
{
	unsigned base = 10;
	size_t i = 0, start;
	u64 x = 0;

	if (allow_hex && s.n >= 2 && s.p[0] == '0' && (s.p[1] == 'x' || s.p[1] == 'X')) {
		base = 16;
		i = 2;
	}
	start = i;
	for (; i < s.n; i++) {
		int d = hex_digit(s.p[i]);

		if (d < 0 || (unsigned)d >= base)
			break;
		if (x > (UINT64_MAX - (u64)d) / base)
			return SCAN_OVERFLOW;
		x = x * base + (u64)d;
	}
	if (i == start)
		return SCAN_NONE;
	*v = x;
	*used = i;
	return SCAN_OK;
}

/* A whole value that is a plain number (decimal or 0x hex). */
static enum scan parse_uint(struct str s, u64 *v)
{
	size_t used;
	enum scan r = scan_u64(s, true, v, &used);

	if (r == SCAN_OK && used != s.n)
		return SCAN_NONE;
	return r;
}

/* A size in bytes: a number with an optional K, M or G suffix. */
static enum scan parse_size(struct str s, u64 *v)
{
	size_t used;
	unsigned shift;
	u64 x;
	enum scan r = scan_u64(s, true, &x, &used);

	if (r != SCAN_OK)
		return r;
	s = tail(s, used);
	if (s.n == 0)
		shift = 0;
	else if (s.n == 1 && (s.p[0] == 'K' || s.p[0] == 'k'))
		shift = 10;
	else if (s.n == 1 && (s.p[0] == 'M' || s.p[0] == 'm'))
		shift = 20;
	else if (s.n == 1 && (s.p[0] == 'G' || s.p[0] == 'g'))
		shift = 30;
	else
		return SCAN_NONE;
	if (x > (UINT64_MAX >> shift))
		return SCAN_OVERFLOW;
	*v = x << shift;
	return SCAN_OK;
}

/* A time in nanoseconds: a decimal number with a ns, us, ms or s suffix. */
static enum scan parse_time(struct str s, u64 *v)
{
	size_t used;
	u64 x, mult;
	enum scan r = scan_u64(s, false, &x, &used);

	if (r != SCAN_OK)
		return r;
	s = tail(s, used);
	if (s.n == 0 && x == 0)
		mult = 1;
	else if (eq(s, "ns"))
		mult = 1;
	else if (eq(s, "us"))
		mult = 1000ULL;
	else if (eq(s, "ms"))
		mult = 1000000ULL;
	else if (eq(s, "s"))
		mult = 1000000000ULL;
	else
		return SCAN_NONE;
	if (x > UINT64_MAX / mult)
		return SCAN_OVERFLOW;
	*v = x * mult;
	return SCAN_OK;
}

/* Exactly `digits` hex digits (or 1..digits when !exact) as the whole of s. */
static bool parse_hex_field(struct str s, size_t digits, bool exact, u32 *v)
{
	u32 x = 0;

	if (s.n == 0 || s.n > digits || (exact && s.n != digits))
		return false;
	for (size_t i = 0; i < s.n; i++) {
		int d = hex_digit(s.p[i]);

		if (d < 0)
			return false;
		x = x * 16 + (u32)d;
	}
	*v = x;
	return true;
}

/* --------------------------------------------------------------- values -- */

static const char *key_name(enum key k)
{
	return keys[k].name;
}

static int value_size(struct parser *p, enum key k, struct str v, u64 *out)
{
	char q[QUOTE_BUF];

	switch (parse_size(v, out)) {
	case SCAN_OK:
		break;
	case SCAN_OVERFLOW:
		return fail(p, "%s '%s': too large", key_name(k), quote(q, v));
	default:
		return fail(p, "%s '%s': expected a size like 16M", key_name(k), quote(q, v));
	}
	if (*out == 0)
		return fail(p, "%s '%s': must not be 0", key_name(k), quote(q, v));
	if (*out % PAGE_SIZE)
		return fail(p, "%s '%s': not a multiple of 4K", key_name(k), quote(q, v));
	return 0;
}

static int value_time(struct parser *p, const char *what, struct str v, u64 *out)
{
	char q[QUOTE_BUF];

	switch (parse_time(v, out)) {
	case SCAN_OK:
		return 0;
	case SCAN_OVERFLOW:
		return fail(p, "%s '%s': too large", what, quote(q, v));
	default:
		return fail(p, "%s '%s': expected a time like 10ms", what, quote(q, v));
	}
}

static int value_bool(struct parser *p, enum key k, struct str v, bool *out)
{
	char q[QUOTE_BUF];

	if (eq(v, "yes") || eq(v, "true"))
		*out = true;
	else if (eq(v, "no") || eq(v, "false"))
		*out = false;
	else
		return fail(p, "%s '%s': expected yes or no", key_name(k), quote(q, v));
	return 0;
}

static const char *char_desc(char *buf, size_t size, char c)
{
	if ((unsigned char)c > 0x20 && (unsigned char)c < 0x7f)
		snprintf(buf, size, "'%c'", c);
	else
		snprintf(buf, size, "byte 0x%02x", (unsigned char)c);
	return buf;
}

/* A partition or channel name: [a-z0-9_-], 1..CONFIG_NAME_MAX-1 characters. */
static int check_name(struct parser *p, const char *what, struct str s)
{
	char q[QUOTE_BUF], c[16];

	if (s.n == 0)
		return fail(p, "missing %s name", what);
	if (s.n > CONFIG_NAME_MAX - 1)
		return fail(p, "%s name '%s': too long (at most %d characters)", what, quote(q, s),
			    CONFIG_NAME_MAX - 1);
	for (size_t i = 0; i < s.n; i++) {
		char ch = s.p[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-')
			continue;
		return fail(p, "%s name '%s': bad character %s (use a-z, 0-9, _ and -)", what,
			    quote(q, s), char_desc(c, sizeof(c), ch));
	}
	return 0;
}

/* A file name in \partita\ on the ESP. */
static int value_file(struct parser *p, enum key k, struct str v, char *dst)
{
	char q[QUOTE_BUF], c[16];

	if (v.n > CONFIG_FILE_MAX - 1)
		return fail(p, "%s '%s': too long (at most %d characters)", key_name(k),
			    quote(q, v), CONFIG_FILE_MAX - 1);
	if (eq(v, ".") || eq(v, ".."))
		return fail(p, "%s '%s': not a file name", key_name(k), quote(q, v));
	for (size_t i = 0; i < v.n; i++) {
		char ch = v.p[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-' || ch == '+')
			continue;
		return fail(p,
			    "%s '%s': bad character %s (a file name in \\partita\\, "
			    "without directories)",
			    key_name(k), quote(q, v), char_desc(c, sizeof(c), ch));
	}
	copy_str(dst, CONFIG_FILE_MAX, v);
	return 0;
}

static int value_window(struct parser *p, struct str v)
{
	struct config_partition *part = p->part;
	struct config_window *w;
	struct str rest = v, off_s, len_s;
	char q[QUOTE_BUF];
	u64 off, length;
	int rc;

	off_s = next_word(&rest);
	len_s = next_word(&rest);
	if (len_s.n == 0 || rest.n)
		return fail(p,
			    "window '%s': expected an offset and a length, like "
			    "'window = 0ms 2ms'",
			    quote(q, v));
	if ((rc = value_time(p, "window offset", off_s, &off)) ||
	    (rc = value_time(p, "window length", len_s, &length)))
		return rc;
	if (length == 0)
		return fail(p, "window '%s': zero length", quote(q, v));
	if (off > UINT64_MAX - length)
		return fail(p, "window '%s': too large", quote(q, v));
	if (part->window_count >= CONFIG_MAX_WINDOWS)
		return fail(p, "too many windows in %s (at most %d)", p->label, CONFIG_MAX_WINDOWS);
	w = &part->windows[part->window_count++];
	w->offset_ns = off;
	w->length_ns = length;
	w->line = p->line;
	return 0;
}

static int value_caps(struct parser *p, struct str v)
{
	struct str rest = v;
	char q[QUOTE_BUF];

	for (;;) {
		size_t comma = find(rest, ',');
		struct str cap = trim(head(rest, comma));

		if (cap.n == 0)
			return fail(p, "caps '%s': empty capability", quote(q, v));
		if (eq(cap, "control"))
			p->part->caps |= CAP_CONTROL;
		else
			return fail(p, "unknown capability '%s' (known: control)", quote(q, cap));
		if (comma == rest.n)
			return 0;
		rest = tail(rest, comma + 1);
	}
}

static void format_device(char *buf, size_t size, const struct config_device *d)
{
	if (d->by_id)
		snprintf(buf, size, "%04x:%04x", d->vendor_id, d->device_id);
	else
		snprintf(buf, size, "%02x:%02x.%x", d->bus, d->dev, d->fn);
}

static bool same_device(const struct config_device *a, const struct config_device *b)
{
	if (a->by_id != b->by_id)
		return false;
	if (a->by_id)
		return a->vendor_id == b->vendor_id && a->device_id == b->device_id;
	return a->bus == b->bus && a->dev == b->dev && a->fn == b->fn;
}

static int value_device(struct parser *p, struct str v)
{
	struct config_partition *part = p->part;
	struct config_device d = { .line = p->line };
	size_t colon = find(v, ':'), dot = find(v, '.');
	char q[QUOTE_BUF], name[16];
	u32 a, b, f;

	if (colon == v.n)
		goto bad;
	if (dot < v.n) {
		/* bus:device.function, PCI Local Bus Spec: 8, 5 and 3 bits. */
		if (dot < colon || !parse_hex_field(head(v, colon), 2, false, &a) ||
		    !parse_hex_field(head(tail(v, colon + 1), dot - colon - 1), 2, false, &b) ||
		    !parse_hex_field(tail(v, dot + 1), 1, true, &f))
			goto bad;
		if (b > 0x1f)
			return fail(p, "device '%s': device number above 1f", quote(q, v));
		if (f > 7)
			return fail(p, "device '%s': function number above 7", quote(q, v));
		d.bus = (u8)a;
		d.dev = (u8)b;
		d.fn = (u8)f;
	} else {
		if (!parse_hex_field(head(v, colon), 4, true, &a) ||
		    !parse_hex_field(tail(v, colon + 1), 4, true, &b))
			goto bad;
		if (a == 0xffff)
			return fail(p, "device '%s': vendor ffff is not a device", quote(q, v));
		d.by_id = true;
		d.vendor_id = (u16)a;
		d.device_id = (u16)b;
	}
	for (unsigned i = 0; i < part->device_count; i++) {
		if (same_device(&part->devices[i], &d)) {
			format_device(name, sizeof(name), &d);
			return fail(p, "device %s given twice in %s (first on line %u)", name,
				    p->label, part->devices[i].line);
		}
	}
	if (part->device_count >= CONFIG_MAX_DEVICES)
		return fail(p, "too many devices in %s (at most %d)", p->label, CONFIG_MAX_DEVICES);
	part->devices[part->device_count++] = d;
	return 0;
bad:
	return fail(p, "device '%s': expected bb:dd.f or vvvv:dddd (hex)", quote(q, v));
}

static int value_between(struct parser *p, struct str v)
{
	struct config_channel *ch = p->chan;
	struct str rest = v, a, b;
	char q[QUOTE_BUF];
	int rc;

	a = next_word(&rest);
	b = next_word(&rest);
	if (b.n == 0 || rest.n)
		return fail(p, "between '%s': expected two partition names", quote(q, v));
	if ((rc = check_name(p, "partition", a)) || (rc = check_name(p, "partition", b)))
		return rc;
	if (a.n == b.n && memcmp(a.p, b.p, a.n) == 0)
		return fail(p, "channel '%s' connects '%s' to itself", ch->name, quote(q, a));
	copy_str(ch->ends[0], CONFIG_NAME_MAX, a);
	copy_str(ch->ends[1], CONFIG_NAME_MAX, b);
	return 0;
}

/* module = FILE [ARGS] */
static int value_module(struct parser *p, struct str v)
{
	struct config_partition *part = p->part;
	struct config_module *m;
	struct str rest = v, file = next_word(&rest);
	int rc;

	if (part->module_count >= CONFIG_MAX_MODULES)
		return fail(p, "too many modules in %s (at most %d)", p->label, CONFIG_MAX_MODULES);
	m = &part->modules[part->module_count];
	if ((rc = value_file(p, K_MODULE, file, m->file)))
		return rc;
	if (!copy_str(m->args, CONFIG_MODULE_ARGS_MAX, rest))
		return fail(p, "module %s: its string is too long (at most %d characters)", m->file,
			    CONFIG_MODULE_ARGS_MAX - 1);
	m->line = p->line;
	part->module_count++;
	return 0;
}

static int set_value(struct parser *p, enum key k, struct str v)
{
	struct config *cfg = p->cfg;
	struct config_partition *part = p->part;
	char q[QUOTE_BUF];
	u64 x;
	int rc;

	switch (k) {
	case K_FRAME:
		if ((rc = value_time(p, "frame", v, &x)))
			return rc;
		if (x == 0)
			return fail(p, "frame '%s': must not be 0", quote(q, v));
		cfg->frame_ns = x;
		return 0;
	case K_DEBUG_EXIT:
		if (parse_uint(v, &x) != SCAN_OK || x > 0xffff)
			return fail(p, "debug_exit '%s': expected an I/O port (0..0xffff)",
				    quote(q, v));
		cfg->debug_exit_port = (int)x;
		return 0;
	case K_EXIT_AFTER_BOOT:
		return value_bool(p, k, v, &cfg->exit_after_boot);
	case K_CHECK:
		return value_bool(p, k, v, &cfg->check);
	case K_END_ON_EXIT:
		if ((rc = check_name(p, "end_on_exit partition", v)))
			return rc;
		copy_str(cfg->end_on_exit, CONFIG_NAME_MAX, v);
		cfg->end_on_exit_line = p->line;
		return 0;
	case K_KIND:
		if (eq(v, "pv"))
			part->kind = PARTITION_PV;
		else if (eq(v, "hvm"))
			part->kind = PARTITION_HVM;
		else
			return fail(p, "kind '%s': expected pv or hvm", quote(q, v));
		return 0;
	case K_MEMORY:
		return value_size(p, k, v, &part->memory);
	case K_IMAGE:
		part->image_line = p->line;
		return value_file(p, k, v, part->image);
	case K_INITRD:
		part->initrd_line = p->line;
		return value_file(p, k, v, part->initrd);
	case K_CMDLINE:
		if (!copy_str(part->cmdline, CONFIG_CMDLINE_MAX, v))
			return fail(p, "cmdline too long (at most %d characters)",
				    CONFIG_CMDLINE_MAX - 1);
		return 0;
	case K_CPU:
		switch (parse_uint(v, &x)) {
		case SCAN_OK:
			if (x < CONFIG_MAX_CPUS)
				break;
			/* out of range */
			fallthrough;
		case SCAN_OVERFLOW:
			return fail(p, "cpu %s out of range (0..%d)", quote(q, v),
				    CONFIG_MAX_CPUS - 1);
		default:
			return fail(p, "cpu '%s': expected a CPU number", quote(q, v));
		}
		part->cpu = (unsigned)x;
		part->cpu_line = p->line;
		return 0;
	case K_WINDOW:
		return value_window(p, v);
	case K_CAPS:
		return value_caps(p, v);
	case K_ON_FAULT:
		if (eq(v, "halt"))
			part->on_fault = FAULT_HALT;
		else if (eq(v, "restart"))
			part->on_fault = FAULT_RESTART;
		else
			return fail(p, "on_fault '%s': expected halt or restart", quote(q, v));
		return 0;
	case K_DEVICE:
		return value_device(p, v);
	case K_TRUSTED:
		return value_bool(p, k, v, &part->trusted);
	case K_RAW:
		return value_bool(p, k, v, &part->raw);
	case K_API_TLS:
		part->api.tls_line = p->line;
		return value_bool(p, k, v, &part->api.tls);
	case K_API_CERT:
		part->api.cert_line = p->line;
		return value_file(p, k, v, part->api.cert);
	case K_API_KEY:
		part->api.key_line = p->line;
		return value_file(p, k, v, part->api.key);
	case K_API_TOKEN:
		part->api.token_line = p->line;
		return value_file(p, k, v, part->api.token);
	case K_API_PUBLIC_READ:
		part->api.public_read_line = p->line;
		return value_bool(p, k, v, &part->api.public_read);
	case K_INSTANCES:
		if (parse_uint(v, &x) != SCAN_OK || x < 1 || x > CONFIG_MAX_PARTITIONS)
			return fail(p, "instances '%s': expected a count from 1 to %d", quote(q, v),
				    CONFIG_MAX_PARTITIONS);
		part->instances = (unsigned)x;
		return 0;
	case K_FROM:
		if ((rc = check_name(p, "from partition", v)))
			return rc;
		copy_str(p->from, CONFIG_NAME_MAX, v);
		part->from_line = p->line;
		return 0;
	case K_COW_BUDGET:
		if (eq(v, "0")) {
			x = 0;
		} else if ((rc = value_size(p, k, v, &x))) {
			return rc;
		}
		part->cow_budget = x;
		part->cow_budget_set = true;
		return 0;
	case K_BETWEEN:
		return value_between(p, v);
	case K_SIZE:
		p->size_given = true;
		return value_size(p, k, v, &p->chan->size);
	case K_MODULE:
		return value_module(p, v);
	case K_DISK:
		part->disk_line = p->line;
		return value_file(p, k, v, part->disk);
	case K_DISK_WRITES:
		part->disk_writes_line = p->line;
		if (eq(v, "none"))
			part->disk_layer_on = false;
		else if (eq(v, "layer"))
			part->disk_layer_on = true;
		else
			return fail(p, "disk_writes '%s': expected none or layer", quote(q, v));
		return 0;
	case K_DISK_LAYER:
		part->disk_layer_line = p->line;
		return value_size(p, k, v, &part->disk_layer);
	case KEY_COUNT:
		break;
	}
	return fail(p, "internal error: key %d", (int)k);
}

/* ------------------------------------------------------------- sections -- */

/* The api_* keys of a finished partition section. */
static int finish_api(struct parser *p)
{
	const struct config_partition *part = p->part;
	const struct config_api *api = &part->api;

	if (!(part->caps & CAP_CONTROL)) {
		for (enum key k = K_API_TLS; k <= K_API_PUBLIC_READ; k++)
			if (p->key_line[k])
				return fail_at(p->err, p->key_line[k],
					       "%s is for the management API, and %s has no "
					       "caps = control",
					       key_name(k), p->label);
		return 0;
	}
	if (!api->tls && (api->cert[0] || api->key[0]))
		return fail_at(p->err, api->cert[0] ? api->cert_line : api->key_line,
			       "%s given, but api_tls = no (line %u) serves plain HTTP",
			       api->cert[0] ? "api_cert" : "api_key", api->tls_line);
	if (!api->cert[0] != !api->key[0])
		return fail_at(p->err, api->cert[0] ? api->cert_line : api->key_line,
			       "%s without %s in %s: the server needs both",
			       api->cert[0] ? "api_cert" : "api_key",
			       api->cert[0] ? "api_key" : "api_cert", p->label);
	return 0;
}

/* The disk keys of a finished partition section (virtio-blk, issue 13). */
static int finish_disk(struct parser *p)
{
	struct config_partition *part = p->part;

	if (part->kind == PARTITION_PV && part->disk[0])
		return fail_at(p->err, part->disk_line,
			       "disk is only for hvm partitions, and '%s' is pv", part->name);
	if (!part->disk[0] && (part->disk_writes_line || part->disk_layer_line))
		return fail_at(p->err,
			       part->disk_writes_line ? part->disk_writes_line :
							part->disk_layer_line,
			       "%s without disk in %s",
			       part->disk_writes_line ? "disk_writes" : "disk_layer", p->label);
	if (part->disk_layer_line && !part->disk_layer_on)
		return fail_at(p->err, part->disk_layer_line,
			       "disk_layer without disk_writes = layer in %s", p->label);
	if (part->disk_layer_on && !part->disk_layer_line)
		part->disk_layer = ALIGN_DOWN(part->memory / 4, PAGE_SIZE);
	if (part->disk_layer_on && part->disk_layer >= part->memory)
		return fail_at(p->err,
			       part->disk_layer_line ? part->disk_layer_line :
						       part->disk_writes_line,
			       "disk_layer (%llu K) must be less than memory (%llu K) in %s",
			       (unsigned long long)(part->disk_layer >> 10),
			       (unsigned long long)(part->memory >> 10), p->label);
	return 0;
}

static u64 window_end(const struct config_window *w);

/* `from = NAME`: this section is one more instance of the image of the
 * earlier section NAME, whose kind, memory and image it takes. */
static int finish_from(struct parser *p)
{
	static const enum key own[] = { K_KIND, K_MEMORY, K_IMAGE, K_INITRD, K_DEVICE };
	struct config *cfg = p->cfg;
	struct config_partition *part = p->part;
	const struct config_partition *src = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(own); i++) {
		if (p->key_line[own[i]])
			return fail_at(p->err, p->key_line[own[i]],
				       "'%s' is not given in %s: it comes from '%s' (from = on "
				       "line %u)",
				       key_name(own[i]), p->label, p->from, part->from_line);
	}
	for (unsigned i = 0; i + 1 < cfg->partition_count; i++) {
		if (!strcmp(cfg->partitions[i].group, p->from) && !cfg->partitions[i].slot) {
			src = &cfg->partitions[i];
			break;
		}
	}
	if (!src)
		return fail_at(p->err, part->from_line,
			       "from = %s: no earlier [partition %s] section", p->from, p->from);
	if (src->kind != PARTITION_PV)
		return fail_at(p->err, part->from_line,
			       "from = %s: '%s' is an hvm partition (instances are pv only)",
			       p->from, src->name);
	part->kind = src->kind;
	part->memory = src->memory;
	strlcpy(part->image, src->image, sizeof(part->image));
	part->image_line = part->from_line;
	if (!p->key_line[K_CMDLINE])
		strlcpy(part->cmdline, src->cmdline, sizeof(part->cmdline));
	if (!p->key_line[K_ON_FAULT])
		part->on_fault = src->on_fault;
	if (!p->key_line[K_COW_BUDGET]) {
		part->cow_budget = src->cow_budget;
		part->cow_budget_set = src->cow_budget_set;
	}
	part->shared_image = true;
	for (unsigned i = 0; i + 1 < cfg->partition_count; i++) {
		if (!strcmp(cfg->partitions[i].group, p->from))
			cfg->partitions[i].shared_image = true;
	}
	return 0;
}

/* `instances = N`: the section becomes NAME-0 and N-1 copies follow it,
 * instance i with every window moved later by i times their span. */
static int expand_instances(struct parser *p)
{
	struct config *cfg = p->cfg;
	struct config_partition *part = p->part;
	unsigned n = part->instances, line = p->key_line[K_INSTANCES];
	char name[CONFIG_NAME_MAX + 16];
	u64 first = UINT64_MAX, last = 0, span;

	if (part->kind != PARTITION_PV)
		return fail_at(p->err, line, "instances are for pv partitions, and '%s' is hvm",
			       part->name);
	if (part->device_count)
		return fail_at(p->err, line,
			       "instances of '%s' cannot share its devices (line %u): one "
			       "device belongs to one partition",
			       part->name, part->devices[0].line);
	if (cfg->partition_count - 1 + n > CONFIG_MAX_PARTITIONS)
		return fail_at(p->err, line,
			       "%u instances of '%s' make too many partitions (at "
			       "most %d)",
			       n, part->name, CONFIG_MAX_PARTITIONS);
	if (strlen(part->name) + 1 + (n > 10 ? 2 : 1) > CONFIG_NAME_MAX - 1)
		return fail_at(p->err, line,
			       "instance names '%s-N' would be too long (at most %d characters)",
			       part->name, CONFIG_NAME_MAX - 1);
	for (unsigned w = 0; w < part->window_count; w++) {
		first = MIN(first, part->windows[w].offset_ns);
		last = MAX(last, window_end(&part->windows[w]));
	}
	span = part->window_count ? last - first : 0;
	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s-%u", part->group, i % 100);
		for (unsigned j = 0; j + 1 < cfg->partition_count; j++) {
			if (!strcmp(cfg->partitions[j].name, name))
				return fail_at(p->err, line,
					       "instance name '%s' is taken (line %u)", name,
					       cfg->partitions[j].line);
		}
	}
	part->shared_image = true;
	for (unsigned i = n; i-- > 1;)
		cfg->partitions[cfg->partition_count - 1 + i] = *part;
	cfg->partition_count += n - 1;
	for (unsigned i = 0; i < n; i++) {
		struct config_partition *inst = part + i;
		snprintf(name, sizeof(name), "%s-%u", part->group, i % 100);
		strlcpy(inst->name, name, sizeof(inst->name));
		inst->instance = i;
		for (unsigned w = 0; w < inst->window_count; w++) {
			if (i && span > (UINT64_MAX - inst->windows[w].offset_ns) / i)
				return fail_at(p->err, inst->windows[w].line,
					       "window of instance %s: too large", name);
			inst->windows[w].offset_ns += i * span;
		}
	}
	return 0;
}

/* Checks what a finished section must contain; errors name its header. */
static int finish_section(struct parser *p)
{
	struct config_partition *part = p->part;

	if (p->sect == SECT_PARTITION && part->slot) {
		/* A slot: a CPU, windows and memory for a partition made at run
		 * time (kernel/image.h); pv, sharing the image it is given. */
		static const enum key slot_keys[] = { K_MEMORY, K_CPU, K_WINDOW, K_COW_BUDGET,
						      K_IMAGE };
		for (unsigned k = 0; k < KEY_COUNT; k++) {
			bool ok = false;
			for (size_t i = 0; i < ARRAY_SIZE(slot_keys); i++)
				ok |= slot_keys[i] == (enum key)k;
			if (p->key_line[k] && !ok)
				return fail_at(p->err, p->key_line[k],
					       "'%s' is not for %s (a slot has memory, cpu, window, "
					       "cow_budget and image; the rest comes with what is "
					       "created in it)",
					       key_name((enum key)k), p->label);
		}
		if (!p->key_line[K_MEMORY])
			return fail_at(p->err, p->sect_line, "missing 'memory' in %s", p->label);
		part->kind = PARTITION_PV;
		return 0;
	}
	if (p->sect == SECT_PARTITION) {
		static const enum key required[] = { K_KIND, K_MEMORY, K_IMAGE };
		int rc;

		if (p->from[0] && (rc = finish_from(p)))
			return rc;
		for (size_t i = 0; i < ARRAY_SIZE(required) && !p->from[0]; i++) {
			if (!p->key_line[required[i]])
				return fail_at(p->err, p->sect_line, "missing '%s' in %s",
					       key_name(required[i]), p->label);
		}
		if (part->kind == PARTITION_PV && part->initrd[0])
			return fail_at(p->err, part->initrd_line,
				       "initrd is only for hvm partitions, and '%s' is pv",
				       part->name);
		if (part->kind == PARTITION_PV && part->module_count)
			return fail_at(p->err, part->modules[0].line,
				       "module is only for hvm partitions (Multiboot kernels), "
				       "and '%s' is pv",
				       part->name);
		if ((rc = finish_disk(p)))
			return rc;
		if ((rc = finish_api(p)))
			return rc;
		return part->instances ? expand_instances(p) : 0;
	} else if (p->sect == SECT_CHANNEL) {
		if (!p->key_line[K_BETWEEN])
			return fail_at(p->err, p->sect_line, "missing 'between' in %s", p->label);
		if (!p->size_given)
			p->chan->size = CHANNEL_DEFAULT_SIZE;
	}
	return 0;
}

static int start_partition(struct parser *p, struct str name)
{
	struct config *cfg = p->cfg;
	struct config_partition *part;
	char q[QUOTE_BUF];
	int rc;

	if ((rc = check_name(p, "partition", name)))
		return rc;
	for (unsigned i = 0; i < cfg->partition_count; i++) {
		if (eq(name, cfg->partitions[i].name) || eq(name, cfg->partitions[i].group))
			return fail(p, "duplicate partition name '%s' (first on line %u)",
				    quote(q, name), cfg->partitions[i].line);
	}
	if (cfg->partition_count >= CONFIG_MAX_PARTITIONS)
		return fail(p, "too many partitions (at most %d)", CONFIG_MAX_PARTITIONS);
	part = &cfg->partitions[cfg->partition_count++];
	copy_str(part->name, sizeof(part->name), name);
	copy_str(part->group, sizeof(part->group), name);
	part->line = p->line;
	part->on_fault = FAULT_HALT;
	part->api.tls = true;
	p->part = part;
	p->sect = SECT_PARTITION;
	snprintf(p->label, sizeof(p->label), "[partition %s]", part->name);
	return 0;
}

static int start_channel(struct parser *p, struct str name)
{
	struct config *cfg = p->cfg;
	struct config_channel *ch;
	char q[QUOTE_BUF];
	int rc;

	if ((rc = check_name(p, "channel", name)))
		return rc;
	for (unsigned i = 0; i < cfg->channel_count; i++) {
		if (eq(name, cfg->channels[i].name))
			return fail(p, "duplicate channel name '%s' (first on line %u)",
				    quote(q, name), cfg->channels[i].line);
	}
	if (cfg->channel_count >= CONFIG_MAX_CHANNELS)
		return fail(p, "too many channels (at most %d)", CONFIG_MAX_CHANNELS);
	ch = &cfg->channels[cfg->channel_count++];
	copy_str(ch->name, sizeof(ch->name), name);
	ch->line = p->line;
	p->chan = ch;
	p->sect = SECT_CHANNEL;
	snprintf(p->label, sizeof(p->label), "[channel %s]", ch->name);
	return 0;
}

/* s: the trimmed line without its comment, starting with '['. */
static int parse_header(struct parser *p, struct str s)
{
	size_t close = find(s, ']');
	struct str inner, word, rest;
	char q[QUOTE_BUF];
	int rc;

	if (close == s.n)
		return fail(p, "section header '%s' lacks its ']'", quote(q, s));
	if (trim(tail(s, close + 1)).n)
		return fail(p, "unexpected text after ']': '%s'",
			    quote(q, trim(tail(s, close + 1))));
	if ((rc = finish_section(p)))
		return rc;
	p->sect = SECT_NONE;
	p->part = NULL;
	p->chan = NULL;
	p->size_given = false;
	p->from[0] = '\0';
	p->sect_line = p->line;
	memset(p->key_line, 0, sizeof(p->key_line));

	inner = trim(head(tail(s, 1), close - 1));
	rest = inner;
	word = next_word(&rest);
	if (eq(word, "hypervisor")) {
		if (rest.n)
			return fail(p, "[hypervisor] takes no name");
		if (p->hypervisor_line)
			return fail(p, "[hypervisor] given twice (first on line %u)",
				    p->hypervisor_line);
		p->hypervisor_line = p->line;
		p->sect = SECT_HYPERVISOR;
		strlcpy(p->label, "[hypervisor]", sizeof(p->label));
		return 0;
	}
	if (eq(word, "partition"))
		return start_partition(p, rest);
	if (eq(word, "channel"))
		return start_channel(p, rest);
	if (eq(word, "slot")) {
		if ((rc = start_partition(p, rest)))
			return rc;
		p->part->slot = true;
		snprintf(p->label, sizeof(p->label), "[slot %s]", p->part->name);
		return 0;
	}
	return fail(p,
		    "unknown section '[%s]' (expected hypervisor, partition, "
		    "slot or channel)",
		    quote(q, inner));
}

static int parse_line(struct parser *p, struct str line)
{
	struct str s = trim(line), key, value;
	size_t eq_at, hash_at;
	char q[QUOTE_BUF], c[16];

	if (s.n == 0 || s.p[0] == '#')
		return 0;
	for (size_t i = 0; i < s.n; i++) {
		unsigned char ch = (unsigned char)s.p[i];

		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return fail(p, "control character %s in column %u",
				    char_desc(c, sizeof(c), (char)ch),
				    (unsigned)(s.p - line.p + i + 1));
	}
	if (s.p[0] == '[')
		return parse_header(p, trim(strip_comment(s)));

	eq_at = find(s, '=');
	hash_at = find(s, '#');
	if (eq_at == s.n || hash_at < eq_at)
		return fail(p, "expected 'key = value' or a [section] header, not '%s'",
			    quote(q, trim(strip_comment(s))));
	key = trim(head(s, eq_at));
	if (key.n == 0)
		return fail(p, "missing key before '='");
	if (p->sect == SECT_NONE)
		return fail(p, "key outside any section: '%s'", quote(q, key));

	enum key k = KEY_COUNT;
	for (unsigned i = 0; i < KEY_COUNT; i++) {
		if (keys[i].sect == p->sect && eq(key, keys[i].name)) {
			k = (enum key)i;
			break;
		}
	}
	if (k == KEY_COUNT)
		return fail(p, "unknown key '%s' in %s", quote(q, key), p->label);
	if (p->key_line[k] && !keys[k].repeatable)
		return fail(p, "duplicate key '%s' in %s (first on line %u)", keys[k].name,
			    p->label, p->key_line[k]);
	p->key_line[k] = p->line;

	value = tail(s, eq_at + 1);
	if (k != K_CMDLINE) {
		value = trim(strip_comment(value));
		if (value.n == 0)
			return fail(p, "missing value for '%s'", keys[k].name);
	} else {
		value = trim(value);
	}
	return set_value(p, k, value);
}

int config_parse(const char *text, size_t len, const char *file, struct config *out,
		 struct config_error *err)
{
	struct config_error spare;
	struct parser p;
	size_t pos = 0;
	int rc;

	if (!err)
		err = &spare;
	memset(err, 0, sizeof(*err));
	strlcpy(err->file, file ? file : "partita.conf", sizeof(err->file));
	memset(out, 0, sizeof(*out));
	out->frame_ns = CONFIG_DEFAULT_FRAME_NS;
	out->debug_exit_port = -1;
	memset(&p, 0, sizeof(p));
	p.cfg = out;
	p.err = err;
	if (!text && len)
		return fail_at(err, 0, "no text");

	/* A UTF-8 byte-order mark, as some Windows editors write. */
	if (len >= 3 && (u8)text[0] == 0xef && (u8)text[1] == 0xbb && (u8)text[2] == 0xbf)
		pos = 3;
	while (pos < len) {
		size_t start = pos, end;

		if (p.line == (unsigned)-1)
			return fail_at(err, 0, "too many lines");
		p.line++;
		while (pos < len && text[pos] != '\n') {
			if (text[pos] == '\0')
				return fail(&p, "NUL byte in column %u",
					    (unsigned)(pos - start + 1));
			pos++;
		}
		end = pos;
		if (pos < len)
			pos++; /* the '\n' */
		if (end > start && text[end - 1] == '\r')
			end--;
		if (end - start > CONFIG_MAX_LINE - 1)
			return fail(&p, "line too long (over %d characters)", CONFIG_MAX_LINE - 1);
		if ((rc = parse_line(&p, (struct str){ text + start, end - start })))
			return rc;
	}
	p.line = 0;
	return finish_section(&p);
}

/* ---------------------------------------------------------------- check -- */

/* A window's end, saturated, for configs not made by config_parse. */
static u64 window_end(const struct config_window *w)
{
	return w->offset_ns > UINT64_MAX - w->length_ns ? UINT64_MAX : w->offset_ns + w->length_ns;
}

static int check_windows(const struct config *cfg, unsigned part_count, struct config_error *err)
{
	struct slot {
		u8 part, win;
	} slots[CONFIG_MAX_PARTITIONS * CONFIG_MAX_WINDOWS];
	char t1[32], t2[32], t3[32];

	for (unsigned i = 0; i < part_count; i++) {
		const struct config_partition *part = &cfg->partitions[i];

		if (part->cpu >= CONFIG_MAX_CPUS)
			return fail_at(err, part->line, "cpu %u of '%s' out of range (0..%d)",
				       part->cpu, part->name, CONFIG_MAX_CPUS - 1);
	}
	for (unsigned cpu = 0; cpu < CONFIG_MAX_CPUS; cpu++) {
		unsigned n = 0;

		for (unsigned i = 0; i < part_count; i++) {
			const struct config_partition *part = &cfg->partitions[i];
			unsigned wc = MIN(part->window_count, (unsigned)CONFIG_MAX_WINDOWS);

			if (part->cpu != cpu)
				continue;
			for (unsigned j = 0; j < wc; j++)
				slots[n++] = (struct slot){ (u8)i, (u8)j };
		}
		/* Insertion sort by offset (then by line): at most 128 entries. */
		for (unsigned i = 1; i < n; i++) {
			struct slot s = slots[i];
			const struct config_window *w = &cfg->partitions[s.part].windows[s.win];
			unsigned j = i;

			while (j > 0) {
				const struct config_window *prev =
					&cfg->partitions[slots[j - 1].part]
						 .windows[slots[j - 1].win];

				if (prev->offset_ns < w->offset_ns ||
				    (prev->offset_ns == w->offset_ns && prev->line <= w->line))
					break;
				slots[j] = slots[j - 1];
				j--;
			}
			slots[j] = s;
		}
		/* The window reaching furthest so far is the only one a later
		 * window (starting no earlier) can overlap first. */
		const struct config_window *reach = NULL;
		const struct config_partition *reach_part = NULL;

		for (unsigned i = 0; i < n; i++) {
			const struct config_partition *part = &cfg->partitions[slots[i].part];
			const struct config_window *w = &part->windows[slots[i].win];

			if (w->length_ns == 0)
				return fail_at(err, w->line, "window of '%s' has zero length",
					       part->name);
			if (window_end(w) > cfg->frame_ns)
				return fail_at(err, w->line,
					       "window %s+%s ends after the frame (%s)",
					       format_time(t1, sizeof(t1), w->offset_ns),
					       format_time(t2, sizeof(t2), w->length_ns),
					       format_time(t3, sizeof(t3), cfg->frame_ns));
			if (reach && w->offset_ns < window_end(reach)) {
				const struct config_window *a = reach, *b = w;
				const struct config_partition *pa = reach_part, *pb = part;

				if (a->line > b->line) {
					a = w;
					b = reach;
					pa = part;
					pb = reach_part;
				}
				return fail_at(err, b->line,
					       "windows of '%s' (line %u) and '%s' (line %u) "
					       "overlap on cpu %u",
					       pa->name, a->line, pb->name, b->line, cpu);
			}
			if (!reach || window_end(w) > window_end(reach)) {
				reach = w;
				reach_part = part;
			}
		}
	}
	return 0;
}

int config_check(const struct config *cfg, const char *file, struct config_error *err)
{
	struct config_error spare;
	unsigned part_count, chan_count;
	char dev[16];

	if (!err)
		err = &spare;
	memset(err, 0, sizeof(*err));
	strlcpy(err->file, file ? file : "partita.conf", sizeof(err->file));
	part_count = MIN(cfg->partition_count, (unsigned)CONFIG_MAX_PARTITIONS);
	chan_count = MIN(cfg->channel_count, (unsigned)CONFIG_MAX_CHANNELS);

	if (part_count == 0)
		return fail_at(err, 0,
			       "no partitions (at least one [partition NAME] "
			       "section is needed)");
	if (cfg->frame_ns == 0)
		return fail_at(err, 0, "the frame is 0");
	if (cfg->end_on_exit[0] && !config_find_partition(cfg, cfg->end_on_exit))
		return fail_at(err, cfg->end_on_exit_line,
			       "end_on_exit names unknown partition '%s'", cfg->end_on_exit);

	for (unsigned i = 0; i < chan_count; i++) {
		const struct config_channel *ch = &cfg->channels[i];

		for (unsigned e = 0; e < 2; e++) {
			if (!config_find_partition(cfg, ch->ends[e]))
				return fail_at(err, ch->line,
					       "channel '%s' names unknown partition '%s'",
					       ch->name, ch->ends[e]);
		}
		if (strcmp(ch->ends[0], ch->ends[1]) == 0)
			return fail_at(err, ch->line, "channel '%s' connects '%s' to itself",
				       ch->name, ch->ends[0]);
	}

	/* Whether a device needs its partition declared trusted depends on
	 * the machine (an IOMMU that covers it or not): decided at boot, by
	 * kernel/dma.c, not here. */

	/* A device passed through to two partitions would let each reach into
	 * the other (DMA, shared config space). */
	for (unsigned i = 0; i < part_count; i++) {
		const struct config_partition *a = &cfg->partitions[i];

		for (unsigned j = i + 1; j < part_count; j++) {
			const struct config_partition *b = &cfg->partitions[j];

			for (unsigned x = 0; x < MIN(a->device_count, (unsigned)CONFIG_MAX_DEVICES);
			     x++) {
				for (unsigned y = 0;
				     y < MIN(b->device_count, (unsigned)CONFIG_MAX_DEVICES); y++) {
					if (!same_device(&a->devices[x], &b->devices[y]))
						continue;
					format_device(dev, sizeof(dev), &a->devices[x]);
					return fail_at(err, b->devices[y].line,
						       "device %s is given to both '%s' (line %u) "
						       "and '%s' (line %u)",
						       dev, a->name, a->devices[x].line, b->name,
						       b->devices[y].line);
				}
			}
		}
	}
	return check_windows(cfg, part_count, err);
}

void config_error_format(const struct config_error *err, char *buf, size_t size)
{
	if (!buf || !size)
		return;
	if (err->line)
		snprintf(buf, size, "%s:%u: %s", err->file, err->line, err->reason);
	else
		snprintf(buf, size, "%s: %s", err->file, err->reason);
}

unsigned config_partition_files(const struct config_partition *p,
				const char *names[CONFIG_PARTITION_FILES],
				unsigned lines[CONFIG_PARTITION_FILES])
{
	const char *all[6] = { p->image, p->initrd, p->api.cert, p->api.key, p->api.token, p->disk };
	const unsigned at[6] = { p->image_line,	  p->initrd_line,    p->api.cert_line,
				 p->api.key_line, p->api.token_line, p->disk_line };
	unsigned n = 0;

	for (unsigned i = 0; i < 6; i++) {
		if (!all[i][0])
			continue;
		names[n] = all[i];
		lines[n++] = at[i];
	}
	for (unsigned i = 0; i < MIN(p->module_count, (unsigned)CONFIG_MAX_MODULES); i++) {
		names[n] = p->modules[i].file;
		lines[n++] = p->modules[i].line;
	}
	return n;
}

const struct config_partition *config_find_partition(const struct config *cfg, const char *name)
{
	unsigned n;

	if (!cfg || !name)
		return NULL;
	n = MIN(cfg->partition_count, (unsigned)CONFIG_MAX_PARTITIONS);
	for (unsigned i = 0; i < n; i++) {
		if (strcmp(cfg->partitions[i].name, name) == 0)
			return &cfg->partitions[i];
	}
	return NULL;
}
