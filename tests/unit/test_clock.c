/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the TSC time base's conversions (arch/x86/tsc.c): the
 * multiplications that replace a * b / c agree with the exact quotient.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "arch/x86/clock.h"

/* The exact floor(a * b / c), with the host's 128-bit division. */
static u64 exact(u64 a, u64 b, u64 c)
{
	return (u64)(((unsigned __int128)a * b) / c);
}

static u64 next_random(u64 *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Exact quotients come out exact; others at most 1 too large, and only
 * where a * 2^-64 reaches 1 / c (not for these magnitudes). */
static void scale_agrees(void **state)
{
	static const u64 rates[] = { 999992000ULL, 1000000000ULL, 3000000000ULL, 2993012345ULL,
				     100000000ULL, 14318180ULL,	  4200000001ULL };
	u64 x = 0x9e3779b97f4a7c15ULL;

	(void)state;
	for (unsigned r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
		struct clock_scale to_ns, to_ticks;
		clock_scale_init(&to_ns, NSEC_PER_SEC, rates[r]);
		clock_scale_init(&to_ticks, rates[r], NSEC_PER_SEC);
		for (unsigned i = 0; i < 100000; i++) {
			/* Up to ~2^44: hours of cycles or of nanoseconds. */
			u64 a = next_random(&x) >> (20 + i % 24);
			assert_int_equal(clock_scale_apply(&to_ns, a),
					 exact(a, NSEC_PER_SEC, rates[r]));
			assert_int_equal(clock_scale_apply(&to_ticks, a),
					 exact(a, rates[r], NSEC_PER_SEC));
		}
		/* A whole second either way. */
		assert_int_equal(clock_scale_apply(&to_ns, rates[r]), NSEC_PER_SEC);
		assert_int_equal(clock_scale_apply(&to_ticks, NSEC_PER_SEC), rates[r]);
		assert_int_equal(clock_scale_apply(&to_ns, 0), 0);
	}
}

/* The time base: before it is set, the guess; after, the measured rate. */
static void time_base(void **state)
{
	(void)state;
	assert_int_equal(clock_tsc_to_ns(CLOCK_TSC_HZ_GUESS), NSEC_PER_SEC);
	clock_set_tsc_base(2500000000ULL, 1000);
	assert_int_equal(clock_tsc_to_ns(2500), 1000);
	assert_int_equal(clock_ns_to_tsc(1000), 2500);
	assert_int_equal(clock_tsc_at(4), 1010);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scale_agrees),
		cmocka_unit_test(time_base),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
