/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Host unit tests of the core's own vsnprintf (kernel/lib/format.c).  The
 * Makefile builds format.c here as hv_snprintf/hv_vsnprintf, so each case
 * formats the same arguments with it and with the C library's snprintf and
 * compares the text, the return value and, for every buffer size from 0 up,
 * the exact bytes written (truncation must match byte for byte).
 */

/* The Makefile's -Dsnprintf=hv_snprintf reaches this file too: undo it so
 * that snprintf below is the C library's. */
#undef snprintf
#undef vsnprintf

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

int hv_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define BUF 256

/* Both outputs, for buffer size sz, into buffers prefilled with a pattern. */
static void compare(const char *fmt, const char *hv, int hv_rc, const char *lc, int lc_rc,
		    size_t sz, const char *file, int line)
{
	if (hv_rc == lc_rc && memcmp(hv, lc, BUF) == 0)
		return;
	print_error("format \"%s\" with size %zu: hv \"%.*s\" (%d), libc \"%.*s\" (%d)\n", fmt, sz,
		    (int)strnlen(hv, 64), hv, hv_rc, (int)strnlen(lc, 64), lc, lc_rc);
	_fail(file, line);
}

/*
 * SAME(fmt, args...): the core's output equals the C library's, for the full
 * buffer and for every smaller size (including 0).
 */
#define SAME(...)                                                                                 \
	do {                                                                                      \
		char hv_[BUF], lc_[BUF];                                                          \
		int full_ = snprintf(NULL, 0, __VA_ARGS__);                                       \
		assert_true(full_ >= 0 && full_ < BUF - 1);                                       \
		for (size_t sz_ = 0; sz_ <= (size_t)full_ + 1; sz_++) {                           \
			memset(hv_, 0x5a, BUF);                                                   \
			memset(lc_, 0x5a, BUF);                                                   \
			int hr_ = hv_snprintf(sz_ ? hv_ : NULL, sz_, __VA_ARGS__);                \
			int lr_ = snprintf(sz_ ? lc_ : NULL, sz_, __VA_ARGS__);                   \
			compare(FIRST(__VA_ARGS__), hv_, hr_, lc_, lr_, sz_, __FILE__, __LINE__); \
		}                                                                                 \
	} while (0)
#define FIRST(...) FIRST_(__VA_ARGS__, 0)
#define FIRST_(a, ...) (a)

/* The core's output alone, for behaviour C leaves undefined or that differs
 * on purpose. */
#define EXPECT(expected, ...)                                      \
	do {                                                       \
		char b_[BUF];                                      \
		int r_ = hv_snprintf(b_, sizeof(b_), __VA_ARGS__); \
		assert_string_equal(b_, expected);                 \
		assert_int_equal(r_, strlen(expected));            \
	} while (0)

static void test_plain(void **state)
{
	(void)state;
	SAME("hello, world");
	SAME("100%% sure");
	SAME("%%%%");
	SAME("tab\there\n");
}

static void test_signed(void **state)
{
	(void)state;
	SAME("%d", 0);
	SAME("%d", 42);
	SAME("%d", -42);
	SAME("%i", -7);
	SAME("%d", INT32_MAX);
	SAME("%d", INT32_MIN);
	SAME("%ld", (long)INT64_MAX);
	SAME("%ld", (long)INT64_MIN);
	SAME("%lld", (long long)INT64_MIN);
	SAME("%lld", -1LL);
	SAME("%zd", (ssize_t)-5);
	SAME("%hd", (short)-32768);
	SAME("%hd", 70000); /* converted to short */
	SAME("%hhd", 300);  /* converted to signed char */
	SAME("%hhd", -129);
}

static void test_unsigned(void **state)
{
	(void)state;
	SAME("%u", 0u);
	SAME("%u", 4294967295u);
	SAME("%u", -1);
	SAME("%lu", (unsigned long)UINT64_MAX);
	SAME("%llu", (unsigned long long)UINT64_MAX);
	SAME("%llu", 12345678901234567890ULL);
	SAME("%zu", (size_t)SIZE_MAX);
	SAME("%zu", sizeof(struct { int a[3]; }));
	SAME("%hu", 65537);
	SAME("%hhu", 511);
	SAME("%o", 8u);
	SAME("%o", 0777u);
	SAME("%llo", (unsigned long long)UINT64_MAX);
}

static void test_hex(void **state)
{
	(void)state;
	SAME("%x", 0u);
	SAME("%x", 0xdeadbeefu);
	SAME("%X", 0xdeadbeefu);
	SAME("%lx", 0x123456789abcdef0UL);
	SAME("%lX", (unsigned long)UINT64_MAX);
	SAME("%llx", 0xfULL);
	SAME("%zx", (size_t)0x1000);
	SAME("%08x", 0xbeefu);
	SAME("%016lx", 0xffffffff80000000UL);
	SAME("%2x", 0x12345u);
	SAME("%02x", 7u);
	SAME("%04x:%04x", 0x1af4u, 0x1000u);
	SAME("%02x:%02x.%x", 0u, 3u, 0u);
	SAME("%hhx", 0x1ffu);
	SAME("%#x", 0u);
	SAME("%#x", 0xf4u);
	SAME("%#llx", 0xffffffff80000000ULL);
	SAME("%#X", 0xabcu);
	SAME("%#010x", 0x1234u);
	SAME("%#-10x|", 0x1234u);
	SAME("%#o", 8u);
	SAME("%#o", 0u);
	SAME("%hx", 0x1ffffu);
}

/* Flag combinations GCC warns about but C defines ('0' ignored). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
static void test_width_precision(void **state)
{
	(void)state;
	SAME("[%5d]", 42);
	SAME("[%-5d]", 42);
	SAME("[%05d]", 42);
	SAME("[%05d]", -42);
	SAME("[%-05d]", -42); /* '-' wins over '0' */
	SAME("[%1d]", -12345);
	SAME("[%.5d]", 42);
	SAME("[%.5d]", -42);
	SAME("[%8.3d]", -5);
	SAME("[%-8.3d]", -5);
	SAME("[%08.3d]", 5); /* '0' ignored with a precision */
	SAME("[%.3x]", 0xau);
	SAME("[%*d]", 6, 123);
	SAME("[%*d]", -6, 123); /* negative width: left-justified */
	SAME("[%-*d]", 6, 123);
	SAME("[%.*d]", 4, 7);
	SAME("[%.*d]", -1, 7); /* negative precision: as if none */
	SAME("[%*.*d]", 8, 4, -7);
	SAME("[%20llu]", (unsigned long long)UINT64_MAX);
	SAME("[%-24lld]", (long long)INT64_MIN);
	SAME("[%030lld]", (long long)INT64_MIN);
}

#pragma GCC diagnostic pop

static void test_strings(void **state)
{
	(void)state;
	SAME("%s", "");
	SAME("%s", "abc");
	SAME("[%8s]", "abc");
	SAME("[%-8s]", "abc");
	SAME("[%-8s|%8s]", "left", "right");
	SAME("[%2s]", "longer");
	SAME("[%.2s]", "abc");
	SAME("[%.0s]", "abc");
	SAME("[%.10s]", "abc");
	SAME("[%.*s]", 3, "abcdef");
	SAME("[%.*s]", 0, "abcdef");
	SAME("[%.*s]", -1, "abcdef"); /* negative precision: whole string */
	SAME("[%*s]", 5, "ab");
	SAME("[%*s]", -5, "ab");
	SAME("[%-6.2s]", "abcdef");
	SAME("[%s] [%s]", "partition", "hello");
	SAME("%s:%u: %s", "partita.conf", 12u, "unknown key 'memroy'");
}

static void test_char_pointer_percent(void **state)
{
	int x;

	(void)state;
	SAME("%c", 'A');
	SAME("%c%c%c", 'a', 'b', 'c');
	SAME("[%3c]", 'x');
	SAME("[%-3c]", 'x');
	SAME("%c", 0x141); /* converted to unsigned char */
	SAME("%p", (void *)&x);
	SAME("%p", (void *)0x1000);
	SAME("[%20p]", (void *)0xffff800000000000UL);
	SAME("[%-20p]", (void *)0xdeadbeef);
	SAME("%%");
	SAME("%d%%", 50);
}

static void test_mixed(void **state)
{
	(void)state;
	SAME("%s=%d (0x%x)", "a", 1, 2u);
	SAME("[%s] cpu %u: %lu exits, %llu ns, rip %016llx", "linux", 3u, 123456UL, 9876543210ULL,
	     0xffffffff81000000ULL);
	SAME("%d %i %u %x %X %o %c %s %p %%", -1, 2, 3u, 0xabu, 0xcdu, 9u, 'z', "str",
	     (void *)0x10);
}

static void test_truncation(void **state)
{
	char buf[8];

	(void)state;
	/* Return value: the length the whole output would have had. */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(hv_snprintf(buf, 5, "hello world"), 11);
	assert_string_equal(buf, "hell");
	assert_int_equal(buf[5], 'x'); /* nothing written past size */
	assert_int_equal(hv_snprintf(buf, 1, "%d", 12345), 5);
	assert_string_equal(buf, "");
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(hv_snprintf(buf, 0, "%s", "abc"), 3);
	assert_int_equal(buf[0], 'x');
	assert_int_equal(hv_snprintf(NULL, 0, "%lld", (long long)INT64_MIN), 20);
	assert_int_equal(hv_snprintf(buf, sizeof(buf), "%s", "1234567"), 7);
	assert_string_equal(buf, "1234567");
	assert_int_equal(hv_snprintf(buf, sizeof(buf), "%s", "12345678"), 8);
	assert_string_equal(buf, "1234567");
	/* Truncation of every kind of output, byte for byte (SAME tries every
	 * size). */
	SAME("%-10s|%010d|%10x|%p", "pad", -77, 0xabcu, (void *)0x1234);
}

/* Behaviour the C standard leaves undefined, fixed by format.c. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-overflow"
static void test_core_specific(void **state)
{
	(void)state;
	EXPECT("(null)", "%s", (const char *)NULL);
	EXPECT("[  (null)]", "[%8s]", (const char *)NULL);
	EXPECT("abc", "abc%");	 /* a lone '%' at the end is dropped */
	EXPECT("abc", "abc%-5"); /* so is an unfinished conversion */
	EXPECT("abc", "abc%l");
	EXPECT("0x0", "%p", (void *)0); /* glibc prints "(nil)" */
}
#pragma GCC diagnostic pop

/*
 * Known bugs in format.c (see the report): C prints nothing for a zero value
 * with precision 0, and "%.*s" must not read the byte after the precision
 * (a slice that is not terminated, like the config text).
 */
static void test_precision_zero_value(void **state)
{
	(void)state;
	SAME("[%.0d]", 0);
	SAME("[%.0x]", 0u);
	SAME("[%5.0u]", 0u);
}

static void test_precision_bounds_read(void **state)
{
	char *s = malloc(3);
	char buf[8];

	(void)state;
	assert_non_null(s);
	memcpy(s, "abc", 3); /* no terminator */
	assert_int_equal(hv_snprintf(buf, sizeof(buf), "%.*s", 3, s), 3);
	assert_string_equal(buf, "abc");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_signed),
		cmocka_unit_test(test_unsigned),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_width_precision),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_char_pointer_percent),
		cmocka_unit_test(test_mixed),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_core_specific),
		cmocka_unit_test(test_precision_zero_value),
		cmocka_unit_test(test_precision_bounds_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
