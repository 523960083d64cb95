/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The TSC time base (arch/x86/clock.h): after arch/x86/clock.c has measured
 * the TSC's frequency, all of the core's time is TSC time, converted here.
 * Nothing here logs, so the log (kernel/log.c) can stamp its lines with it
 * while the calibration code logs through the log: no cycle of calls.
 */
#include "arch/x86/clock.h"

#include "arch/x86/cpu.h"

static u64 tsc_hz;
static u64 tsc_at_boot;
/* TSC cycles to ns and back, for tsc_hz (or the guess before it is known). */
static struct clock_scale to_ns, to_tsc;
static bool scaled;

static void set_scales(u64 hz)
{
	clock_scale_init(&to_ns, NSEC_PER_SEC, hz);
	clock_scale_init(&to_tsc, hz, NSEC_PER_SEC);
	scaled = true;
}

void clock_set_tsc_base(u64 hz, u64 tsc_at_zero)
{
	tsc_hz = hz;
	tsc_at_boot = tsc_at_zero;
	set_scales(clock_tsc_hz());
}

u64 clock_mul_div(u64 a, u64 b, u64 c)
{
	return (a / c) * b + (a % c) * b / c;
}

void clock_scale_init(struct clock_scale *s, u64 b, u64 c)
{
	u64 rem = b % c, q = 0;

	/* Long division of rem * 2^64 by c, a bit at a time (no 128-bit
	 * division in a freestanding core); rem < c < 2^63 never overflows. */
	for (int i = 0; i < 64; i++) {
		rem <<= 1;
		q <<= 1;
		if (rem >= c) {
			rem -= c;
			q |= 1;
		}
	}
	s->whole = b / c;
	s->frac = q + (rem != 0);
}

u64 clock_tsc_hz(void)
{
	return tsc_hz ? tsc_hz : CLOCK_TSC_HZ_GUESS;
}

u64 clock_tsc_to_ns(u64 cycles)
{
	if (!scaled)
		set_scales(clock_tsc_hz());
	return clock_scale_apply(&to_ns, cycles);
}

u64 clock_ns_to_tsc(u64 ns)
{
	if (!scaled)
		set_scales(clock_tsc_hz());
	return clock_scale_apply(&to_tsc, ns);
}

void clock_delay_us(u64 us)
{
	u64 start = rdtsc();
	u64 cycles = clock_mul_div(us, clock_tsc_hz(), 1000000);

	while (rdtsc() - start < cycles)
		cpu_relax();
}

u64 clock_now_ns(void)
{
	return clock_tsc_to_ns(rdtsc() - tsc_at_boot);
}

u64 clock_tsc_at(u64 ns)
{
	return tsc_at_boot + clock_ns_to_tsc(ns);
}
