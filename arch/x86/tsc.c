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

void clock_set_tsc_base(u64 hz, u64 tsc_at_zero)
{
	tsc_hz = hz;
	tsc_at_boot = tsc_at_zero;
}

u64 clock_mul_div(u64 a, u64 b, u64 c)
{
	return (a / c) * b + (a % c) * b / c;
}

u64 clock_tsc_hz(void)
{
	return tsc_hz ? tsc_hz : CLOCK_TSC_HZ_GUESS;
}

u64 clock_tsc_to_ns(u64 cycles)
{
	return clock_mul_div(cycles, NSEC_PER_SEC, clock_tsc_hz());
}

u64 clock_ns_to_tsc(u64 ns)
{
	return clock_mul_div(ns, clock_tsc_hz(), NSEC_PER_SEC);
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
