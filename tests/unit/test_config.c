/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Host unit tests of the config parser (kernel/config.c): valid configs with
 * their exact parsed values, and refused ones with the exact line and a
 * piece of the reason.  Every text is handed to the parser in a heap buffer
 * of exactly its length, without a terminator, so AddressSanitizer catches a
 * read past the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernel/config.h"
#include "kernel/errno.h"

/* errno.c is linked only if the Makefile lists it for this test. */
#include "kernel/errno.h"

static struct config cfg;
static struct config_error err;

static int parse_n(const char *text, size_t len)
{
	char *copy = malloc(len ? len : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, text, len);
	rc = config_parse(copy, len, "t.conf", &cfg, &err);
	free(copy);
	return rc;
}

/* Parses and checks; 0 if both accept. */
static int load(const char *text)
{
	int rc = parse_n(text, strlen(text));

	if (rc == 0)
		rc = config_check(&cfg, "t.conf", &err);
	return rc;
}

static void expect_ok(const char *text)
{
	int rc = load(text);

	if (rc)
		fail_msg("refused: line %u: %s", err.line, err.reason);
}

static void expect_error_n(const char *text, size_t len, unsigned line, const char *reason)
{
	int rc = parse_n(text, len);

	if (rc == 0)
		rc = config_check(&cfg, "t.conf", &err);
	if (rc == 0)
		fail_msg("accepted, expected line %u: %s", line, reason);
	assert_int_equal(rc, -E_INVAL);
	if (err.line != line || !strstr(err.reason, reason))
		fail_msg("got line %u '%s', expected line %u '%s'", err.line, err.reason, line,
			 reason);
	assert_string_equal(err.file, "t.conf");
}

static void expect_error(const char *text, unsigned line, const char *reason)
{
	expect_error_n(text, strlen(text), line, reason);
}

#define MINIMAL "[partition a]\nkind = pv\nmemory = 16M\nimage = a.elf\n"

/* ---------------------------------------------------------------- valid -- */

static void test_minimal_defaults(void **state)
{
	(void)state;
	expect_ok(MINIMAL);
	assert_int_equal(cfg.frame_ns, CONFIG_DEFAULT_FRAME_NS);
	assert_int_equal(cfg.debug_exit_port, -1);
	assert_false(cfg.exit_after_boot);
	assert_int_equal(cfg.partition_count, 1);
	assert_int_equal(cfg.channel_count, 0);
	const struct config_partition *p = &cfg.partitions[0];
	assert_string_equal(p->name, "a");
	assert_int_equal(p->line, 1);
	assert_int_equal(p->kind, PARTITION_PV);
	assert_int_equal(p->memory, 16ULL << 20);
	assert_string_equal(p->image, "a.elf");
	assert_int_equal(p->image_line, 4);
	assert_string_equal(p->initrd, "");
	assert_string_equal(p->cmdline, "");
	assert_int_equal(p->cpu, 0);
	assert_int_equal(p->window_count, 0);
	assert_int_equal(p->caps, 0);
	assert_int_equal(p->on_fault, FAULT_HALT);
	assert_false(p->trusted);
	assert_false(p->raw);
	assert_int_equal(p->device_count, 0);
}

/* raw = yes|no (the console, README "The console: typing and hot keys"). */
static void test_raw_key(void **state)
{
	(void)state;
	expect_ok(MINIMAL "raw = yes\n");
	assert_true(cfg.partitions[0].raw);
	expect_ok(MINIMAL "raw = no\n");
	assert_false(cfg.partitions[0].raw);
	expect_error(MINIMAL "raw = maybe\n", 5, "raw");
	expect_error(MINIMAL "raw = yes\nraw = yes\n", 6, "raw");
}

static void test_full_config(void **state)
{
	(void)state;
	expect_ok("# Partita demo\n"
		  "[hypervisor]\n"
		  "frame = 20ms\n"
		  "debug_exit = 0xf4\n"
		  "exit_after_boot = yes\n"
		  "\n"
		  "[partition mgmt]\n"
		  "kind = pv\n"
		  "memory = 32M\n"
		  "image = mgmt.elf\n"
		  "cpu = 1\n"
		  "window = 0ms 5ms\n"
		  "window = 10ms 5ms\n"
		  "caps = control\n"
		  "on_fault = restart\n"
		  "device = 00:03.0\n"
		  "device = 1af4:1000\n"
		  "trusted = yes\n"
		  "[partition linux-1]\n"
		  "kind = hvm\n"
		  "memory = 0x10000000\n"
		  "image = bzImage\n"
		  "initrd = initrd.gz\n"
		  "cmdline = console=ttyS0 quiet\n"
		  "window = 0ms 20ms\n"
		  "[channel net]\n"
		  "between = mgmt linux-1\n"
		  "size = 64K\n");
	assert_int_equal(cfg.frame_ns, 20000000ULL);
	assert_int_equal(cfg.debug_exit_port, 0xf4);
	assert_true(cfg.exit_after_boot);
	assert_int_equal(cfg.partition_count, 2);

	const struct config_partition *m = config_find_partition(&cfg, "mgmt");
	assert_ptr_equal(m, &cfg.partitions[0]);
	assert_int_equal(m->line, 7);
	assert_int_equal(m->memory, 32ULL << 20);
	assert_int_equal(m->cpu, 1);
	assert_int_equal(m->window_count, 2);
	assert_int_equal(m->windows[0].offset_ns, 0);
	assert_int_equal(m->windows[0].length_ns, 5000000ULL);
	assert_int_equal(m->windows[0].line, 12);
	assert_int_equal(m->windows[1].offset_ns, 10000000ULL);
	assert_int_equal(m->windows[1].line, 13);
	assert_int_equal(m->caps, CAP_CONTROL);
	assert_int_equal(m->on_fault, FAULT_RESTART);
	assert_true(m->trusted);
	assert_int_equal(m->device_count, 2);
	assert_false(m->devices[0].by_id);
	assert_int_equal(m->devices[0].bus, 0);
	assert_int_equal(m->devices[0].dev, 3);
	assert_int_equal(m->devices[0].fn, 0);
	assert_int_equal(m->devices[0].line, 16);
	assert_true(m->devices[1].by_id);
	assert_int_equal(m->devices[1].vendor_id, 0x1af4);
	assert_int_equal(m->devices[1].device_id, 0x1000);

	const struct config_partition *l = config_find_partition(&cfg, "linux-1");
	assert_non_null(l);
	assert_int_equal(l->kind, PARTITION_HVM);
	assert_int_equal(l->memory, 256ULL << 20);
	assert_string_equal(l->image, "bzImage");
	assert_string_equal(l->initrd, "initrd.gz");
	assert_int_equal(l->initrd_line, 23);
	assert_string_equal(l->cmdline, "console=ttyS0 quiet");
	assert_int_equal(l->cpu, 0);

	assert_int_equal(cfg.channel_count, 1);
	assert_string_equal(cfg.channels[0].name, "net");
	assert_int_equal(cfg.channels[0].line, 26);
	assert_string_equal(cfg.channels[0].ends[0], "mgmt");
	assert_string_equal(cfg.channels[0].ends[1], "linux-1");
	assert_int_equal(cfg.channels[0].size, 64 * 1024);
}

static void test_sizes(void **state)
{
	static const struct {
		const char *text;
		uint64_t bytes;
	} cases[] = {
		{ "4096", 4096 },
		{ "4K", 4096 },
		{ "8k", 8192 },
		{ "0x1000", 4096 },
		{ "0X2000", 8192 },
		{ "16M", 16ULL << 20 },
		{ "0x10M", 16ULL << 20 },
		{ "2G", 2ULL << 30 },
		{ "16777216G", 16777216ULL << 30 }, /* 2^54 bytes: fits */
		{ "0xfffffffffffff000", 0xfffffffffffff000ULL },
	};
	char text[200];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "[partition a]\nkind = pv\nmemory = %s\nimage = a\n",
			 cases[i].text);
		expect_ok(text);
		assert_int_equal(cfg.partitions[0].memory, cases[i].bytes);
	}
}

static void test_size_errors(void **state)
{
	static const struct {
		const char *text;
		const char *reason;
	} cases[] = {
		{ "12Q", "memory '12Q': expected a size like 16M" },
		{ "M", "memory 'M': expected a size like 16M" },
		{ "16 M", "expected a size like 16M" },
		{ "16MB", "expected a size like 16M" },
		{ "-4K", "expected a size like 16M" },
		{ "0x", "expected a size like 16M" },
		{ "0", "memory '0': must not be 0" },
		{ "0K", "must not be 0" },
		{ "5000", "memory '5000': not a multiple of 4K" },
		{ "1M1", "expected a size like 16M" },
		{ "18446744073709551616", "too large" }, /* 2^64 */
		{ "17179869184G", "too large" },	 /* 2^64 bytes */
		{ "0x10000000000000000", "too large" },
	};
	char text[200];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "[partition a]\nkind = pv\nmemory = %s\nimage = a\n",
			 cases[i].text);
		expect_error(text, 3, cases[i].reason);
	}
	expect_error("[partition a]\nkind = pv\nmemory =   \nimage = a\n", 3,
		     "missing value for 'memory'");
}

static void test_times(void **state)
{
	static const struct {
		const char *text;
		uint64_t ns;
	} cases[] = {
		{ "1ns", 1 },
		{ "250us", 250000 },
		{ "10ms", 10000000 },
		{ "1s", 1000000000 },
		{ "18446744073s", 18446744073000000000ULL },
		{ "18446744073709551615ns", UINT64_MAX },
	};
	char text[100];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "[hypervisor]\nframe = %s\n" MINIMAL, cases[i].text);
		expect_ok(text);
		assert_int_equal(cfg.frame_ns, cases[i].ns);
	}
}

static void test_time_errors(void **state)
{
	(void)state;
	expect_error("[hypervisor]\nframe = 10\n", 2, "frame '10': expected a time like 10ms");
	expect_error("[hypervisor]\nframe = 1.5ms\n", 2, "expected a time like 10ms");
	expect_error("[hypervisor]\nframe = 10 ms\n", 2, "expected a time like 10ms");
	expect_error("[hypervisor]\nframe = 10MS\n", 2, "expected a time like 10ms");
	expect_error("[hypervisor]\nframe = 0x10ms\n", 2, "expected a time like 10ms");
	expect_error("[hypervisor]\nframe = 18446744074s\n", 2, "too large");
	expect_error("[hypervisor]\nframe = 0\n", 2, "frame '0': must not be 0");
	expect_error("[hypervisor]\nframe = 0ms\n", 2, "must not be 0");
}

static void test_hypervisor_keys(void **state)
{
	(void)state;
	expect_ok("[hypervisor]\ndebug_exit = 244\nexit_after_boot = no\n" MINIMAL);
	assert_int_equal(cfg.debug_exit_port, 244);
	assert_false(cfg.exit_after_boot);
	expect_ok("[hypervisor]\ndebug_exit = 0xffff\nexit_after_boot = true\n" MINIMAL);
	assert_int_equal(cfg.debug_exit_port, 0xffff);
	assert_true(cfg.exit_after_boot);
	expect_error("[hypervisor]\ndebug_exit = 0x10000\n", 2,
		     "debug_exit '0x10000': expected an I/O port");
	expect_error("[hypervisor]\ndebug_exit = port\n", 2, "expected an I/O port");
	expect_error("[hypervisor]\nexit_after_boot = maybe\n", 2,
		     "exit_after_boot 'maybe': expected yes or no");
	expect_error("[hypervisor]\nkind = pv\n", 2, "unknown key 'kind' in [hypervisor]");
}

static void test_windows(void **state)
{
	(void)state;
	expect_ok(MINIMAL "window = 0ms 2ms\nwindow = 2ms 3ms\nwindow =\t5ms   5ms\n");
	const struct config_partition *p = &cfg.partitions[0];
	assert_int_equal(p->window_count, 3);
	assert_int_equal(p->windows[1].offset_ns, 2000000);
	assert_int_equal(p->windows[1].length_ns, 3000000);
	assert_int_equal(p->windows[2].offset_ns, 5000000);
	assert_int_equal(p->windows[2].length_ns, 5000000);
	assert_int_equal(p->windows[2].line, 7);

	expect_error(MINIMAL "window = 0ms 0ms\n", 5, "window '0ms 0ms': zero length");
	expect_error(MINIMAL "window = 0ms 0\n", 5, "zero length");
	expect_error(MINIMAL "window = 0ms\n", 5, "expected an offset and a length");
	expect_error(MINIMAL "window = 0ms 1ms 2ms\n", 5, "expected an offset and a length");
	expect_error(MINIMAL "window = 0ms 2\n", 5, "window length '2': expected a time like 10ms");
	expect_error(MINIMAL "window = x 2ms\n", 5, "window offset 'x': expected a time like 10ms");
	expect_error(MINIMAL "window = 18446744073709551615ns 1ns\n", 5, "too large");
}

static void test_too_many_windows(void **state)
{
	char text[1024];
	int n = snprintf(text, sizeof(text), "[hypervisor]\nframe = 1s\n" MINIMAL);

	(void)state;
	for (int i = 0; i < CONFIG_MAX_WINDOWS; i++)
		n += snprintf(text + n, sizeof(text) - n, "window = %dms 1ms\n", i * 2);
	expect_ok(text);
	assert_int_equal(cfg.partitions[0].window_count, CONFIG_MAX_WINDOWS);
	snprintf(text + n, sizeof(text) - n, "window = 100ms 1ms\n");
	expect_error(text, 7 + CONFIG_MAX_WINDOWS, "too many windows in [partition a] (at most 8)");
}

static void test_window_after_frame(void **state)
{
	(void)state;
	expect_error(MINIMAL "window = 0ms 2ms\nwindow = 8ms 4ms\n", 6,
		     "window 8ms+4ms ends after the frame (10ms)");
	expect_error(MINIMAL "window = 10ms 1us\n", 5,
		     "window 10ms+1us ends after the frame (10ms)");
	/* The frame may be declared after the partitions. */
	expect_error(MINIMAL "window = 0 3ms\n[hypervisor]\nframe = 2500us\n", 5,
		     "window 0+3ms ends after the frame (2500us)");
	expect_ok(MINIMAL "window = 8ms 2ms\n");
}

static void test_window_overlap(void **state)
{
	(void)state;
	expect_error("[partition a]\nkind = pv\nmemory = 4K\nimage = a\n"
		     "window = 0ms 5ms\n"
		     "[partition b]\nkind = pv\nmemory = 4K\nimage = b\n"
		     "window = 6ms 1ms\n"
		     "window = 4ms 1ms\n",
		     11, "windows of 'a' (line 5) and 'b' (line 11) overlap on cpu 0");
	/* Found whatever the order in the file; the later line is blamed. */
	expect_error("[partition a]\nkind = pv\nmemory = 4K\nimage = a\n"
		     "window = 4ms 1ms\n"
		     "[partition b]\nkind = pv\nmemory = 4K\nimage = b\n"
		     "window = 0ms 8ms\n",
		     10, "windows of 'a' (line 5) and 'b' (line 10) overlap on cpu 0");
	/* A long window overlapping a later one past a short one in between. */
	expect_error(MINIMAL "window = 0ms 9ms\nwindow = 1ms 1ms\n", 6,
		     "windows of 'a' (line 5) and 'a' (line 6) overlap on cpu 0");
	expect_error(MINIMAL "window = 1ms 1ms\nwindow = 1ms 1ms\n", 6, "overlap");
	/* Touching windows do not overlap, nor do windows on different CPUs. */
	expect_ok("[partition a]\nkind = pv\nmemory = 4K\nimage = a\n"
		  "window = 0ms 5ms\nwindow = 5ms 5ms\n"
		  "[partition b]\nkind = pv\nmemory = 4K\nimage = b\ncpu = 1\n"
		  "window = 0ms 10ms\n");
	expect_error("[partition a]\nkind = pv\nmemory = 4K\nimage = a\ncpu = 3\n"
		     "window = 0ms 5ms\n"
		     "[partition b]\nkind = pv\nmemory = 4K\nimage = b\ncpu = 3\n"
		     "window = 4999999ns 1ns\n",
		     12, "overlap on cpu 3");
}

static void test_unknown_key(void **state)
{
	(void)state;
	expect_error("[partition hello]\nmemroy = 16M\n", 2,
		     "unknown key 'memroy' in [partition hello]");
	expect_error("[channel c]\nkind = pv\n", 2, "unknown key 'kind' in [channel c]");
	expect_error("[partition hello]\nKind = pv\n", 2, "unknown key 'Kind'");
	expect_error("[partition hello]\n = pv\n", 2, "missing key before '='");
	expect_error("[partition hello]\nkind pv\n", 2,
		     "expected 'key = value' or a [section] header");
	expect_error("[partition hello]\nkind # = pv\n", 2, "expected 'key = value'");
}

static void test_key_outside_section(void **state)
{
	(void)state;
	expect_error("# comment\n\nkind = pv\n" MINIMAL, 3, "key outside any section");
}

static void test_duplicate_key(void **state)
{
	(void)state;
	expect_error(MINIMAL "memory = 32M\n", 5,
		     "duplicate key 'memory' in [partition a] (first on line 3)");
	expect_error("[hypervisor]\nframe = 1ms\n\nframe = 2ms\n", 4, "duplicate key 'frame'");
}

static void test_duplicate_names(void **state)
{
	(void)state;
	expect_error(MINIMAL "[partition a]\n", 5,
		     "duplicate partition name 'a' (first on line 1)");
	expect_error(MINIMAL "[channel c]\nbetween = a b\n[channel c]\n", 7,
		     "duplicate channel name 'c'");
	/* Channels and partitions have separate name spaces. */
	expect_ok(MINIMAL "[partition b]\nkind = pv\nmemory = 4K\nimage = b\n"
			  "[channel a]\nbetween = a b\n");
}

static void test_names(void **state)
{
	char text[200];

	(void)state;
	expect_ok("[partition a_b-9]\nkind = pv\nmemory = 4K\nimage = a\n");
	snprintf(text, sizeof(text), "[partition %s]\nkind = pv\nmemory = 4K\nimage = a\n",
		 "abcdefghijklmnopqrstuvwxyz01234"); /* 31 characters */
	expect_ok(text);
	assert_string_equal(cfg.partitions[0].name, "abcdefghijklmnopqrstuvwxyz01234");
	expect_error("[partition abcdefghijklmnopqrstuvwxyz012345]\n", 1,
		     "too long (at most 31 characters)");
	expect_error("[partition Hello]\n", 1, "partition name 'Hello': bad character 'H'");
	expect_error("[partition a b]\n", 1, "partition name 'a b': bad character byte 0x20");
	expect_error("[partition a.b]\n", 1, "bad character '.'");
	expect_error("[partition]\n", 1, "missing partition name");
	expect_error("[channel Net]\n", 1, "channel name 'Net': bad character 'N'");
	expect_error("[partition \xc3\xa9]\n", 1, "bad character byte 0xc3");
}

static void test_sections(void **state)
{
	(void)state;
	expect_error("[network x]\n", 1, "unknown section '[network x]'");
	expect_error("[]\n", 1, "unknown section '[]'");
	expect_error("[hypervisor]\n[hypervisor]\n", 2,
		     "[hypervisor] given twice (first on line 1)");
	expect_error("[hypervisor main]\n", 1, "[hypervisor] takes no name");
	expect_error("[partition a\n", 1, "lacks its ']'");
	expect_error("[partition a] x\n", 1, "unexpected text after ']': 'x'");
	expect_ok("  [  partition   a  ]   # the first\nkind = pv\nmemory = 4K\nimage = a\n");
	assert_string_equal(cfg.partitions[0].name, "a");
}

static void test_line_too_long(void **state)
{
	char text[1200];
	size_t n;

	(void)state;
	/* "cmdline = " + 501 x's: 511 characters, accepted up to the cmdline
	 * limit, so use a comment line to hit exactly the limits. */
	n = (size_t)snprintf(text, sizeof(text), MINIMAL "#");
	memset(text + n, 'x', 510);
	n += 510;
	memcpy(text + n, "\r\n", 3);
	expect_ok(text); /* 511 characters plus CRLF */
	n = (size_t)snprintf(text, sizeof(text), MINIMAL "#");
	memset(text + n, 'x', 511);
	n += 511;
	memcpy(text + n, "\n", 2);
	expect_error(text, 5, "line too long (over 511 characters)");
	/* At the end of the text, without a newline. */
	expect_error_n(text, n, 5, "line too long");
}

static void test_crlf_and_comments(void **state)
{
	(void)state;
	expect_ok("[hypervisor]\r\nframe = 5ms   # short\r\n\r\n"
		  "[partition a]   \r\n"
		  "\tkind = hvm\t\r\n"
		  "memory = 4K# tight comment\r\n"
		  "image = a.bin \t\r\n"
		  "   # an indented comment\r\n"
		  "cmdline = x\r\n");
	assert_int_equal(cfg.frame_ns, 5000000);
	assert_int_equal(cfg.partitions[0].kind, PARTITION_HVM);
	assert_int_equal(cfg.partitions[0].memory, 4096);
	assert_string_equal(cfg.partitions[0].image, "a.bin");
	assert_string_equal(cfg.partitions[0].cmdline, "x");
	/* A stray CR inside a line is refused. */
	expect_error(MINIMAL "cmdline = a\rb\n", 5, "control character byte 0x0d");
}

static void test_no_final_newline(void **state)
{
	(void)state;
	/* The last value ends exactly at the end of the buffer. */
	expect_ok("[partition a]\nkind = pv\nimage = a\nmemory = 16M");
	assert_int_equal(cfg.partitions[0].memory, 16ULL << 20);
	expect_error("[partition a]\nkind = pv\nimage = a\nmemory = 16", 4, "not a multiple of 4K");
	expect_error("[partition a]\nkind = pv\nimage = a\nmemory = 16\r", 4,
		     "not a multiple of 4K");
	expect_error("[partition a]\nkind = pv\nimage = a\nmemory =", 4, "missing value");
	expect_error("[partition a", 1, "lacks its ']'");
}

static void test_cmdline(void **state)
{
	char text[600];
	size_t n;

	(void)state;
	expect_ok(MINIMAL "cmdline =   console=ttyS0 # not a comment  \t\n");
	assert_string_equal(cfg.partitions[0].cmdline, "console=ttyS0 # not a comment");
	expect_ok(MINIMAL "cmdline = a=b==c\n");
	assert_string_equal(cfg.partitions[0].cmdline, "a=b==c");
	expect_ok(MINIMAL "cmdline =\n");
	assert_string_equal(cfg.partitions[0].cmdline, "");

	n = (size_t)snprintf(text, sizeof(text), MINIMAL "cmdline = ");
	memset(text + n, 'c', CONFIG_CMDLINE_MAX - 1);
	text[n + CONFIG_CMDLINE_MAX - 1] = '\0';
	expect_ok(text);
	assert_int_equal(strlen(cfg.partitions[0].cmdline), CONFIG_CMDLINE_MAX - 1);
	text[n + CONFIG_CMDLINE_MAX - 1] = 'c';
	text[n + CONFIG_CMDLINE_MAX] = '\0';
	expect_error(text, 5, "cmdline too long (at most 255 characters)");
}

static void test_required_keys(void **state)
{
	(void)state;
	expect_error("[partition hello]\nkind = pv\nmemory = 16M\n\n[partition b]\n", 1,
		     "missing 'image' in [partition hello]");
	expect_error("# x\n[partition hello]\nimage = a\nmemory = 16M\n", 2,
		     "missing 'kind' in [partition hello]");
	expect_error("[partition hello]\nkind = hvm\nimage = a\n", 1,
		     "missing 'memory' in [partition hello]");
	expect_error(MINIMAL "[channel c]\nsize = 4K\n", 5, "missing 'between' in [channel c]");
}

static void test_too_many_partitions(void **state)
{
	char text[4096];
	int n = 0;

	(void)state;
	for (int i = 0; i < CONFIG_MAX_PARTITIONS; i++)
		n += snprintf(text + n, sizeof(text) - n,
			      "[partition p%d]\nkind = pv\nmemory = 4K\nimage = p\n", i);
	expect_ok(text);
	assert_int_equal(cfg.partition_count, CONFIG_MAX_PARTITIONS);
	assert_string_equal(cfg.partitions[15].name, "p15");
	assert_int_equal(cfg.partitions[15].line, 61);
	snprintf(text + n, sizeof(text) - n, "[partition extra]\n");
	expect_error(text, 65, "too many partitions (at most 16)");
}

static void test_too_many_channels(void **state)
{
	char text[4096];
	int n = snprintf(text, sizeof(text),
			 MINIMAL "[partition b]\nkind = pv\nmemory = 4K\nimage = b\n");

	(void)state;
	for (int i = 0; i < CONFIG_MAX_CHANNELS; i++)
		n += snprintf(text + n, sizeof(text) - n, "[channel c%d]\nbetween = a b\n", i);
	expect_ok(text);
	assert_int_equal(cfg.channel_count, CONFIG_MAX_CHANNELS);
	snprintf(text + n, sizeof(text) - n, "[channel more]\n");
	expect_error(text, 9 + 2 * CONFIG_MAX_CHANNELS, "too many channels (at most 16)");
}

static void test_devices(void **state)
{
	(void)state;
	expect_ok(MINIMAL "device = ff:1f.7\ndevice = 0:1.2\ndevice = ABCD:ef01\ntrusted = yes\n");
	const struct config_partition *p = &cfg.partitions[0];
	assert_int_equal(p->device_count, 3);
	assert_int_equal(p->devices[0].bus, 0xff);
	assert_int_equal(p->devices[0].dev, 0x1f);
	assert_int_equal(p->devices[0].fn, 7);
	assert_int_equal(p->devices[1].bus, 0);
	assert_int_equal(p->devices[1].dev, 1);
	assert_int_equal(p->devices[1].fn, 2);
	assert_true(p->devices[2].by_id);
	assert_int_equal(p->devices[2].vendor_id, 0xabcd);
	assert_int_equal(p->devices[2].device_id, 0xef01);
	assert_int_equal(p->devices[2].line, 7);

	static const char *const bad[] = {
		"00:03",    "0:3",	 "1af4:100",  "1af4:10000", "zz:00.0",
		"000:00.0", "00:000.0",	 "00:00.00",  "00:00.",	    ":00.0",
		"00.0:1",   "00:03.0 x", "00:03.0.1", "1af4-1000",  "00:0x3.0",
	};
	char text[200];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), MINIMAL "device = %s\n", bad[i]);
		expect_error(text, 5, "expected bb:dd.f or vvvv:dddd (hex)");
	}
	expect_error(MINIMAL "device = 00:20.0\n", 5, "device '00:20.0': device number above 1f");
	expect_error(MINIMAL "device = 00:03.8\n", 5, "function number above 7");
	expect_error(MINIMAL "device = ffff:0001\n", 5, "vendor ffff");
	expect_error(MINIMAL "device = 00:03.0\ndevice = 0:3.0\n", 6,
		     "device 00:03.0 given twice in [partition a] (first on line 5)");
}

static void test_too_many_devices(void **state)
{
	(void)state;
	expect_error(MINIMAL "device = 0:1.0\ndevice = 0:2.0\ndevice = 0:3.0\n"
			     "device = 0:4.0\ndevice = 0:5.0\n",
		     9, "too many devices in [partition a] (at most 4)");
}

static void test_device_shared(void **state)
{
	(void)state;
	expect_error(MINIMAL "device = 1af4:1000\ntrusted = yes\n"
			     "[partition b]\nkind = pv\nmemory = 4K\nimage = b\n"
			     "device = 1AF4:1000\ntrusted = yes\n",
		     11, "device 1af4:1000 is given to both 'a' (line 5) and 'b' (line 11)");
}

/* Whether a device needs `trusted` depends on the machine's IOMMU: the
 * config accepts both, the core decides at boot (kernel/dma.c). */
static void test_device_trusted_decided_at_boot(void **state)
{
	(void)state;
	expect_ok(MINIMAL "device = 00:03.0\n");
	assert_false(cfg.partitions[0].trusted);
	expect_ok(MINIMAL "device = 00:03.0\ntrusted = no\n");
	expect_ok(MINIMAL "trusted = yes\ndevice = 00:03.0\n");
	assert_true(cfg.partitions[0].trusted);
}

static void test_kind_on_fault_trusted(void **state)
{
	(void)state;
	expect_error("[partition a]\nkind = kvm\n", 2, "kind 'kvm': expected pv or hvm");
	expect_error("[partition a]\nkind = PV\n", 2, "expected pv or hvm");
	expect_error("[partition a]\nkind = pv hvm\n", 2, "kind 'pv hvm'");
	expect_error("[partition a]\non_fault = reboot\n", 2,
		     "on_fault 'reboot': expected halt or restart");
	expect_error("[partition a]\ntrusted = 1\n", 2, "trusted '1': expected yes or no");
	expect_ok(MINIMAL "on_fault = halt\ntrusted = no\n");
	assert_int_equal(cfg.partitions[0].on_fault, FAULT_HALT);
	assert_false(cfg.partitions[0].trusted);
}

static void test_cpu(void **state)
{
	(void)state;
	expect_ok(MINIMAL "cpu = 63\n");
	assert_int_equal(cfg.partitions[0].cpu, 63);
	expect_ok(MINIMAL "cpu = 0x3f\n");
	assert_int_equal(cfg.partitions[0].cpu, 63);
	expect_error(MINIMAL "cpu = 64\n", 5, "cpu 64 out of range (0..63)");
	expect_error(MINIMAL "cpu = 99999999999999999999999\n", 5, "out of range");
	expect_error(MINIMAL "cpu = -1\n", 5, "cpu '-1': expected a CPU number");
	expect_error(MINIMAL "cpu = one\n", 5, "expected a CPU number");
}

static void test_caps(void **state)
{
	(void)state;
	expect_ok(MINIMAL "caps = control\n");
	assert_int_equal(cfg.partitions[0].caps, CAP_CONTROL);
	expect_ok(MINIMAL "caps =  control , control \n");
	assert_int_equal(cfg.partitions[0].caps, CAP_CONTROL);
	expect_error(MINIMAL "caps = control, root\n", 5,
		     "unknown capability 'root' (known: control)");
	expect_error(MINIMAL "caps = control,\n", 5, "caps 'control,': empty capability");
	expect_error(MINIMAL "caps = ,\n", 5, "empty capability");
}

static void test_files(void **state)
{
	char text[200];

	(void)state;
	expect_ok("[partition a]\nkind = hvm\nmemory = 4K\nimage = Linux-6.1+x_86.bzImage\n");
	assert_string_equal(cfg.partitions[0].image, "Linux-6.1+x_86.bzImage");
	expect_error("[partition a]\nimage = boot/a.elf\n", 2,
		     "image 'boot/a.elf': bad character '/'");
	expect_error("[partition a]\nimage = a\\b\n", 2, "bad character '\\'");
	expect_error("[partition a]\ninitrd = my initrd\n", 2,
		     "initrd 'my initrd': bad character byte 0x20");
	expect_error("[partition a]\nimage = ..\n", 2, "not a file name");
	snprintf(text, sizeof(text), "[partition a]\nimage = %064d\n", 0);
	expect_error(text, 2, "too long (at most 63 characters)");
	snprintf(text, sizeof(text), "[partition a]\nkind=hvm\nmemory=4K\nimage = %063d\n", 0);
	expect_ok(text);
	assert_int_equal(strlen(cfg.partitions[0].image), 63);
	expect_error(MINIMAL "initrd = i.gz\n", 5,
		     "initrd is only for hvm partitions, and 'a' is pv");
}

static void test_channels(void **state)
{
	(void)state;
	expect_ok(MINIMAL "[partition b]\nkind = pv\nmemory = 4K\nimage = b\n"
			  "[channel c]\nbetween =  b \t a\n");
	assert_string_equal(cfg.channels[0].ends[0], "b");
	assert_string_equal(cfg.channels[0].ends[1], "a");
	assert_int_equal(cfg.channels[0].size, 4096); /* the default */
	assert_int_equal(cfg.channels[0].line, 9);

	expect_error(MINIMAL "[channel net]\nbetween = a mgmt\n", 5,
		     "channel 'net' names unknown partition 'mgmt'");
	expect_error("[channel net]\nbetween = x a\n" MINIMAL, 1,
		     "channel 'net' names unknown partition 'x'");
	expect_error(MINIMAL "[channel c]\nbetween = a a\n", 6,
		     "channel 'c' connects 'a' to itself");
	expect_error(MINIMAL "[channel c]\nbetween = a\n", 6,
		     "between 'a': expected two partition names");
	expect_error(MINIMAL "[channel c]\nbetween = a b c\n", 6, "expected two partition names");
	expect_error(MINIMAL "[channel c]\nbetween = a B\n", 6, "bad character 'B'");
	expect_error(MINIMAL "[channel c]\nbetween = a b\nsize = 100\n", 7,
		     "size '100': not a multiple of 4K");
	expect_error(MINIMAL "[channel c]\nbetween = a b\nsize = 0\n", 7, "must not be 0");
}

static void test_no_partitions(void **state)
{
	(void)state;
	expect_error("", 0, "no partitions");
	expect_error("# only a comment\n\n   \n", 0, "no partitions");
	expect_error("[hypervisor]\nframe = 1ms\n", 0, "no partitions");
	expect_error_n("", 0, 0, "no partitions");
}

static void test_nul_and_control(void **state)
{
	static const char text[] = MINIMAL "# a\0b\n";

	(void)state;
	expect_error_n(text, sizeof(text) - 1, 5, "NUL byte in column 4");
	expect_error_n("\0", 1, 1, "NUL byte");
	expect_error(MINIMAL "image\x01 = a\n", 5, "control character byte 0x01 in column 6");
	expect_error(MINIMAL "cmdline = a\x7f\n", 5, "control character byte 0x7f");
}

static void test_bom(void **state)
{
	(void)state;
	expect_ok("\xef\xbb\xbf" MINIMAL);
	assert_string_equal(cfg.partitions[0].name, "a");
	/* A BOM elsewhere is just a bad byte. */
	expect_error("\n\xef\xbb\xbf[partition a]\n", 2, "expected 'key = value'");
}

static void test_error_format(void **state)
{
	struct config_error e = { .file = "partita.conf", .line = 12 };
	char buf[64];

	(void)state;
	strcpy(e.reason, "bad thing");
	config_error_format(&e, buf, sizeof(buf));
	assert_string_equal(buf, "partita.conf:12: bad thing");
	e.line = 0;
	config_error_format(&e, buf, sizeof(buf));
	assert_string_equal(buf, "partita.conf: bad thing");
	config_error_format(&e, buf, 8);
	assert_string_equal(buf, "partita");
	config_error_format(&e, buf, 0); /* must not write */

	/* The whole chain, from a parse. */
	assert_int_equal(parse_n("[partition hello]\nmemroy = 1\n", 28), -E_INVAL);
	config_error_format(&err, buf, sizeof(buf));
	assert_string_equal(buf, "t.conf:2: unknown key 'memroy' in [partition hello]");
	/* No file name given. */
	assert_int_equal(config_parse("x", 1, NULL, &cfg, &err), -E_INVAL);
	assert_string_equal(err.file, "partita.conf");
}

static void test_long_value_quoted(void **state)
{
	char text[400];
	size_t n;

	(void)state;
	n = (size_t)snprintf(text, sizeof(text), "[partition a]\nkind = ");
	memset(text + n, 'q', 300);
	text[n + 300] = '\0';
	expect_error(text, 2, "kind 'qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq...'");
	assert_true(strlen(err.reason) < sizeof(err.reason));
}

static void test_find_partition(void **state)
{
	(void)state;
	expect_ok(MINIMAL "[partition bb]\nkind = pv\nmemory = 4K\nimage = b\n");
	assert_ptr_equal(config_find_partition(&cfg, "bb"), &cfg.partitions[1]);
	assert_ptr_equal(config_find_partition(&cfg, "a"), &cfg.partitions[0]);
	assert_null(config_find_partition(&cfg, "b"));
	assert_null(config_find_partition(&cfg, ""));
	assert_null(config_find_partition(&cfg, NULL));
}

static void test_parse_resets_output(void **state)
{
	(void)state;
	expect_ok("[hypervisor]\nframe = 1s\ndebug_exit = 1\n" MINIMAL "window = 0 1ms\n");
	expect_ok(MINIMAL);
	assert_int_equal(cfg.frame_ns, CONFIG_DEFAULT_FRAME_NS);
	assert_int_equal(cfg.debug_exit_port, -1);
	assert_int_equal(cfg.partitions[0].window_count, 0);
}

static void test_check_hand_built(void **state)
{
	(void)state;
	/* config_check on a struct not made by the parser stays in bounds. */
	memset(&cfg, 0, sizeof(cfg));
	cfg.frame_ns = 100;
	cfg.partition_count = 1000;
	cfg.partitions[0].window_count = 1000; /* clamped to 8: 7 empty ones */
	assert_int_equal(config_check(&cfg, "h", &err), -E_INVAL);
	assert_non_null(strstr(err.reason, "zero length"));
	cfg.partitions[0].window_count = 1;
	cfg.partitions[0].windows[0] = (struct config_window){ UINT64_MAX, 2, 7 };
	assert_int_equal(config_check(&cfg, "h", &err), -E_INVAL);
	assert_int_equal(err.line, 7);
	assert_non_null(strstr(err.reason, "ends after the frame (100ns)"));
	cfg.partitions[0].window_count = 0;
	cfg.partitions[1].cpu = 64;
	cfg.partitions[1].line = 9;
	assert_int_equal(config_check(&cfg, "h", &err), -E_INVAL);
	assert_int_equal(err.line, 9);
	assert_non_null(strstr(err.reason, "out of range"));
}

static void test_errno_name(void **state)
{
	(void)state;
	assert_string_equal(errno_name(-E_INVAL), "E_INVAL");
	assert_string_equal(errno_name(E_INVAL), "E_INVAL");
	assert_string_equal(errno_name(-E_NOTSUP), "E_NOTSUP");
	assert_string_equal(errno_name(E_AGAIN), "E_AGAIN");
	assert_string_equal(errno_name(0), "E_?");
	assert_string_equal(errno_name(999), "E_?");
	assert_string_equal(errno_name(INT32_MIN), "E_?");
}

/* ----------------------------------------------------- management API -- */

#define CONTROL "[partition m]\nkind = pv\nmemory = 8M\nimage = m.elf\ncaps = control\n"

static void test_api_defaults(void **state)
{
	(void)state;
	expect_ok(CONTROL);
	const struct config_api *a = &cfg.partitions[0].api;
	assert_true(a->tls);
	assert_false(a->public_read);
	assert_string_equal(a->cert, "");
	assert_string_equal(a->key, "");
	assert_string_equal(a->token, "");
	/* Defaults hold for partitions without control too. */
	expect_ok(MINIMAL);
	assert_true(cfg.partitions[0].api.tls);
}

static void test_api_keys(void **state)
{
	(void)state;
	expect_ok(CONTROL "api_cert = mgmt.crt\n"
			  "api_key = mgmt.key\n"
			  "api_token = api.token\n"
			  "api_public_read = yes\n"
			  "api_tls = yes\n");
	const struct config_api *a = &cfg.partitions[0].api;
	assert_true(a->tls);
	assert_true(a->public_read);
	assert_string_equal(a->cert, "mgmt.crt");
	assert_int_equal(a->cert_line, 6);
	assert_string_equal(a->key, "mgmt.key");
	assert_int_equal(a->key_line, 7);
	assert_string_equal(a->token, "api.token");
	assert_int_equal(a->token_line, 8);
	assert_int_equal(a->public_read_line, 9);
	assert_int_equal(a->tls_line, 10);

	expect_ok(CONTROL "api_tls = no\napi_token = t\n");
	assert_false(cfg.partitions[0].api.tls);
	assert_string_equal(cfg.partitions[0].api.token, "t");

	/* caps may come after the api keys. */
	expect_ok("[partition m]\nkind = pv\nmemory = 8M\nimage = m.elf\n"
		  "api_tls = no\ncaps = control\n");
}

static void test_api_refused(void **state)
{
	(void)state;
	expect_error(MINIMAL "api_tls = no\n", 5,
		     "api_tls is for the management API, and "
		     "[partition a] has no caps = control");
	expect_error(MINIMAL "window = 0ms 1ms\napi_token = t\n", 6,
		     "api_token is for the management API");
	expect_error(CONTROL "api_cert = c.pem\n", 6,
		     "api_cert without api_key in [partition m]: the server needs both");
	expect_error(CONTROL "api_key = k.pem\n", 6, "api_key without api_cert");
	expect_error(CONTROL "api_tls = no\napi_key = k.pem\n", 7,
		     "api_key given, but api_tls = no (line 6) serves plain HTTP");
	expect_error(CONTROL "api_cert = c\napi_key = k\napi_tls = no\n", 6,
		     "api_cert given, but api_tls = no (line 8)");
	expect_error(CONTROL "api_tls = maybe\n", 6, "api_tls 'maybe'");
	expect_error(CONTROL "api_cert = ../c.pem\napi_key = k\n", 6,
		     "api_cert '../c.pem': bad character '/'");
	expect_error(CONTROL "api_token = a\napi_token = b\n", 7, "api_token");
	expect_error(CONTROL "api_public_read = 1\n", 6, "api_public_read '1'");
}

static void test_partition_files(void **state)
{
	const char *names[CONFIG_PARTITION_FILES];
	unsigned lines[CONFIG_PARTITION_FILES];

	(void)state;
	expect_ok(CONTROL "api_cert = c.pem\napi_key = k.pem\napi_token = t\n");
	assert_int_equal(config_partition_files(&cfg.partitions[0], names, lines), 4);
	assert_string_equal(names[0], "m.elf");
	assert_int_equal(lines[0], 4);
	assert_string_equal(names[1], "c.pem");
	assert_int_equal(lines[1], 6);
	assert_string_equal(names[2], "k.pem");
	assert_string_equal(names[3], "t");
	assert_int_equal(lines[3], 8);
	expect_ok("[partition l]\nkind = hvm\nmemory = 64M\nimage = bz\ninitrd = i.gz\n");
	assert_int_equal(config_partition_files(&cfg.partitions[0], names, lines), 2);
	assert_string_equal(names[1], "i.gz");
	assert_int_equal(lines[1], 5);
}

#define MBK "[partition k]\nkind = hvm\nmemory = 64M\nimage = mb.elf\n"

static void test_modules(void **state)
{
	const char *names[CONFIG_PARTITION_FILES];
	unsigned lines[CONFIG_PARTITION_FILES];
	const struct config_partition *p;

	(void)state;
	expect_ok(MBK "module = a.bin\nmodule = b.bin  one  two # a comment\n"
		      "module = a.bin again\n");
	p = &cfg.partitions[0];
	assert_int_equal(p->module_count, 3);
	assert_string_equal(p->modules[0].file, "a.bin");
	assert_string_equal(p->modules[0].args, "");
	assert_int_equal(p->modules[0].line, 5);
	assert_string_equal(p->modules[1].file, "b.bin");
	assert_string_equal(p->modules[1].args, "one  two"); /* as written, trimmed */
	assert_int_equal(p->modules[1].line, 6);
	assert_string_equal(p->modules[2].args, "again");
	/* The loader loads, and the core finds, each module's file. */
	assert_int_equal(config_partition_files(p, names, lines), 4);
	assert_string_equal(names[0], "mb.elf");
	assert_string_equal(names[2], "b.bin");
	assert_int_equal(lines[2], 6);
	assert_int_equal(lines[3], 7);
}

static void test_module_errors(void **state)
{
	char text[2048], arg[200];

	(void)state;
	/* At most CONFIG_MAX_MODULES. */
	strcpy(text, MBK);
	for (int i = 0; i < CONFIG_MAX_MODULES; i++)
		strcat(text, "module = m.bin\n");
	expect_ok(text);
	strcat(text, "module = m.bin\n");
	expect_error(text, 5 + CONFIG_MAX_MODULES, "too many modules in [partition k] (at most 8)");
	expect_error(MBK "module = ../m.bin x\n", 5, "module '../m.bin': bad character '/'");
	expect_error(MBK "module =   # nothing\n", 5, "missing value for 'module'");
	/* The string: at most 127 characters. */
	memset(arg, 'a', 127);
	arg[127] = 0;
	snprintf(text, sizeof(text), MBK "module = m.bin %s\n", arg);
	expect_ok(text);
	snprintf(text, sizeof(text), MBK "module = m.bin %sb\n", arg);
	expect_error(text, 5, "module m.bin: its string is too long (at most 127 characters)");
	/* Not for pv partitions. */
	expect_error(MINIMAL "module = m.bin\n", 5,
		     "module is only for hvm partitions (Multiboot kernels), and 'a' is pv");
	expect_error(MINIMAL "module = m.bin\n[partition b]\nkind = pv\nmemory = 4M\nimage = b\n",
		     5, "and 'a' is pv");
}

#define HVM "[partition l]\nkind = hvm\nmemory = 64M\nimage = bz\n"

/* disk, disk_writes, disk_layer (virtio-blk, issue 13). */
static void test_disk_keys(void **state)
{
	const char *names[CONFIG_PARTITION_FILES];
	unsigned lines[CONFIG_PARTITION_FILES];
	(void)state;

	expect_ok(HVM "disk = root.img\n");
	assert_string_equal(cfg.partitions[0].disk, "root.img");
	assert_false(cfg.partitions[0].disk_layer_on);
	assert_int_equal(config_partition_files(&cfg.partitions[0], names, lines), 2);
	assert_string_equal(names[1], "root.img");
	assert_int_equal(lines[1], 5);
	expect_ok(HVM "disk_writes = layer\ndisk = root.img\n");
	assert_true(cfg.partitions[0].disk_layer_on);
	assert_int_equal(cfg.partitions[0].disk_layer, MiB(16)); /* a quarter */
	expect_ok(HVM "disk = r\ndisk_writes = layer\ndisk_layer = 1M\n");
	assert_int_equal(cfg.partitions[0].disk_layer, MiB(1));
	expect_ok(HVM "disk = r\ndisk_writes = none\n");
	assert_false(cfg.partitions[0].disk_layer_on);
	expect_error(HVM "disk = r\ndisk_writes = cow\n", 6,
		     "disk_writes 'cow': expected none or layer");
	expect_error(HVM "disk_writes = layer\n", 5, "disk_writes without disk in [partition l]");
	expect_error(HVM "disk_layer = 1M\n", 5, "disk_layer without disk in [partition l]");
	expect_error(HVM "disk = r\ndisk_layer = 1M\n", 6,
		     "disk_layer without disk_writes = layer in [partition l]");
	expect_error(HVM "disk = r\ndisk_writes = layer\ndisk_layer = 64M\n", 7,
		     "disk_layer (65536 K) must be less than memory (65536 K) in [partition l]");
	expect_error(HVM "disk = r\ndisk_writes = layer\ndisk_layer = 1000\n", 7,
		     "disk_layer '1000': not a multiple of 4K");
	expect_error(HVM "disk = a/b\n", 5, "disk 'a/b': bad character '/'");
	expect_error(MINIMAL "disk = r\n", 5, "disk is only for hvm partitions, and 'a' is pv");
	expect_error(HVM "disk = r\ndisk = s\n", 6, "disk");
}

/* ------------------------------------------------- images and instances -- */

static void test_instances(void **state)
{
	(void)state;
	expect_ok("[hypervisor]\nframe = 20ms\n"
		  "[partition web]\nkind = pv\nmemory = 2M\nimage = w.elf\ncmdline = x=1\n"
		  "window = 1ms 1ms\nwindow = 4ms 1ms\ninstances = 3\n"
		  "[partition extra]\nfrom = web\nwindow = 14ms 1ms\ncpu = 1\ncow_budget = 8K\n"
		  "[partition other]\nkind = pv\nmemory = 2M\nimage = w.elf\n");
	assert_int_equal(cfg.partition_count, 5);
	/* web-0 keeps the section's windows; the span is 1ms..5ms = 4ms. */
	assert_string_equal(cfg.partitions[0].name, "web-0");
	assert_string_equal(cfg.partitions[1].name, "web-1");
	assert_string_equal(cfg.partitions[2].name, "web-2");
	for (unsigned i = 0; i < 3; i++) {
		const struct config_partition *p = &cfg.partitions[i];
		assert_string_equal(p->group, "web");
		assert_int_equal(p->instance, i);
		assert_true(p->shared_image);
		assert_false(p->cow_budget_set);
		assert_string_equal(p->image, "w.elf");
		assert_string_equal(p->cmdline, "x=1");
		assert_int_equal(p->window_count, 2);
		assert_int_equal(p->windows[0].offset_ns, 1000000ULL + i * 4000000ULL);
		assert_int_equal(p->windows[1].offset_ns, 4000000ULL + i * 4000000ULL);
	}
	const struct config_partition *x = &cfg.partitions[3];
	assert_string_equal(x->name, "extra");
	assert_true(x->shared_image);
	assert_int_equal(x->kind, PARTITION_PV);
	assert_int_equal(x->memory, 2ULL << 20);
	assert_string_equal(x->image, "w.elf");
	assert_string_equal(x->cmdline, "x=1");
	assert_int_equal(x->cpu, 1);
	assert_true(x->cow_budget_set);
	assert_int_equal(x->cow_budget, 8192);
	/* The same file named by a section of its own is a separate load. */
	assert_false(cfg.partitions[4].shared_image);
	/* from = a plain section makes both share. */
	expect_ok(MINIMAL "window = 0ms 1ms\n[partition b]\nfrom = a\nwindow = 1ms 1ms\n"
			  "cow_budget = 0\n");
	assert_true(cfg.partitions[0].shared_image);
	assert_true(cfg.partitions[1].shared_image);
	assert_true(cfg.partitions[1].cow_budget_set);
	assert_int_equal(cfg.partitions[1].cow_budget, 0);
}

static void test_slots(void **state)
{
	(void)state;
	expect_ok(MINIMAL "window = 0ms 1ms\n[slot s]\nmemory = 4M\ncpu = 1\nwindow = 2ms 1ms\n"
			  "image = w.elf\ncow_budget = 8K\n");
	assert_int_equal(cfg.partition_count, 2);
	const struct config_partition *s = &cfg.partitions[1];
	assert_true(s->slot);
	assert_string_equal(s->name, "s");
	assert_int_equal(s->kind, PARTITION_PV);
	assert_int_equal(s->memory, 4ULL << 20);
	assert_int_equal(s->cpu, 1);
	assert_int_equal(s->window_count, 1);
	assert_string_equal(s->image, "w.elf");
	assert_false(cfg.partitions[0].slot);
	expect_ok("[slot s]\nmemory = 2M\n"); /* no image, no window */
	/* Slot windows are checked with the partitions'. */
	expect_error(MINIMAL "window = 0ms 2ms\n[slot s]\nmemory = 2M\nwindow = 1ms 1ms\n", 8,
		     "overlap");
	expect_error(MINIMAL "[slot s]\nmemory = 2M\ncaps = control\n", 7, "not for [slot s]");
	expect_error(MINIMAL "[slot s]\nwindow = 0ms 1ms\n", 5, "missing 'memory' in [slot s]");
	expect_error(MINIMAL "[slot a]\nmemory = 2M\n", 5, "duplicate partition name");
	expect_error("[slot s]\nmemory = 2M\n[partition b]\nfrom = s\n", 4, "no earlier");
}

static void test_instance_errors(void **state)
{
	(void)state;
	expect_error(MINIMAL "instances = 0\n", 5, "expected a count from 1 to 16");
	expect_error(MINIMAL "instances = 17\n", 5, "expected a count from 1 to 16");
	expect_error(MINIMAL "instances = 9\n[partition b]\nkind = pv\nmemory = 2M\nimage = "
			     "b.elf\ninstances = 8\n",
		     10, "too many partitions");
	expect_error("[partition a]\nkind = hvm\nmemory = 16M\nimage = a.elf\ninstances = 2\n", 5,
		     "pv partitions");
	expect_error(MINIMAL "device = 00:03.0\ninstances = 2\n", 6, "cannot share its devices");
	expect_error(MINIMAL "instances = 2\n[partition a-1]\nkind = pv\nmemory = 2M\nimage = "
			     "b.elf\n",
		     6, "duplicate partition name");
	expect_error(MINIMAL
		     "instances = 2\n[partition a]\nkind = pv\nmemory = 2M\nimage = b.elf\n",
		     6, "duplicate partition name");
	expect_error("[partition a-1]\nkind = pv\nmemory = 2M\nimage = b.elf\n"
		     "[partition a]\nkind = pv\nmemory = 2M\nimage = b.elf\ninstances = 2\n",
		     9, "is taken");
	expect_error(MINIMAL "[partition b]\nfrom = c\n", 6, "no earlier [partition c]");
	expect_error(MINIMAL "[partition b]\nfrom = a\nmemory = 4M\n", 7, "comes from 'a'");
	expect_error("[partition a]\nkind = hvm\nmemory = 16M\nimage = a.elf\n"
		     "[partition b]\nfrom = a\n",
		     6, "hvm partition");
	expect_error(MINIMAL "cow_budget = 5K\n", 5, "not a multiple of 4K");
	/* Shifted windows that no longer fit are refused by the check. */
	expect_error("[hypervisor]\nframe = 4ms\n" MINIMAL "window = 0ms 2ms\ninstances = 3\n", 7,
		     "ends after the frame");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disk_keys),
		cmocka_unit_test(test_minimal_defaults),
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_raw_key),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_size_errors),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_time_errors),
		cmocka_unit_test(test_hypervisor_keys),
		cmocka_unit_test(test_windows),
		cmocka_unit_test(test_too_many_windows),
		cmocka_unit_test(test_window_after_frame),
		cmocka_unit_test(test_window_overlap),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_key_outside_section),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_duplicate_names),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_line_too_long),
		cmocka_unit_test(test_crlf_and_comments),
		cmocka_unit_test(test_no_final_newline),
		cmocka_unit_test(test_instances),
		cmocka_unit_test(test_instance_errors),
		cmocka_unit_test(test_slots),
		cmocka_unit_test(test_cmdline),
		cmocka_unit_test(test_required_keys),
		cmocka_unit_test(test_too_many_partitions),
		cmocka_unit_test(test_too_many_channels),
		cmocka_unit_test(test_devices),
		cmocka_unit_test(test_too_many_devices),
		cmocka_unit_test(test_device_shared),
		cmocka_unit_test(test_device_trusted_decided_at_boot),
		cmocka_unit_test(test_kind_on_fault_trusted),
		cmocka_unit_test(test_cpu),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_channels),
		cmocka_unit_test(test_no_partitions),
		cmocka_unit_test(test_nul_and_control),
		cmocka_unit_test(test_bom),
		cmocka_unit_test(test_error_format),
		cmocka_unit_test(test_long_value_quoted),
		cmocka_unit_test(test_find_partition),
		cmocka_unit_test(test_parse_resets_output),
		cmocka_unit_test(test_check_hand_built),
		cmocka_unit_test(test_errno_name),
		cmocka_unit_test(test_api_defaults),
		cmocka_unit_test(test_api_keys),
		cmocka_unit_test(test_api_refused),
		cmocka_unit_test(test_partition_files),
		cmocka_unit_test(test_modules),
		cmocka_unit_test(test_module_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
