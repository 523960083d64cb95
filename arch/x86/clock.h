/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Time for the core: a reference clock of known frequency (HPET, ACPI PM
 * timer or PIT, in that order of preference) is used once at boot to measure
 * the TSC, and from then on all time is TSC time.  The scheduler, timeouts
 * and the time hypercall build on clock_now_ns() and the conversions here.
 */
#ifndef PARTITA_ARCH_X86_CLOCK_H
#define PARTITA_ARCH_X86_CLOCK_H

#include "drivers/acpi.h"
#include "kernel/lib/types.h"

#define NSEC_PER_SEC 1000000000ULL
/* The TSC frequency used before calibration, and if calibration fails:
 * high, so that delays err on the long side. */
#define CLOCK_TSC_HZ_GUESS 4000000000ULL

/**
 * Picks the reference clock from what ACPI reported (HPET, else PM timer,
 * else the PIT, which every PC-compatible machine has), measures the TSC
 * against it and logs
 *   "clock: TSC 2993.012 MHz, measured against the HPET (100.000 MHz)"
 * and whether the TSC is invariant.  acpi may be zeroed (no ACPI).
 * Returns 0, or -E_IO if no reference clock worked or the TSC does not tick;
 * the TSC frequency is then a guess (clock_tsc_hz() still returns non-zero).
 */
int clock_init(const struct acpi_info *acpi);

/** The measured TSC frequency in Hz (a conservative guess before
 *  clock_init()). */
u64 clock_tsc_hz(void);

/** Whether CPUID reports an invariant TSC (0x80000007 EDX bit 8). */
bool clock_tsc_invariant(void);

/** "HPET", "ACPI PM timer", "PIT", or "none". */
const char *clock_ref_name(void);

/** The reference clock's frequency in Hz (0 before clock_init()). */
u64 clock_ref_hz(void);

/**
 * Whether the reference clock is a free-running counter clock_ref_read()
 * can read (HPET, PM timer); the PIT is used in one-shot gated mode only.
 */
bool clock_ref_readable(void);

/**
 * The reference counter, extended to 64 bits; valid for intervals shorter
 * than the hardware counter's wrap (4.6 s for a 24-bit PM timer) between
 * two calls.  0 if !clock_ref_readable().
 */
u64 clock_ref_read(void);

/** Busy-waits at least us microseconds on the TSC. */
void clock_delay_us(u64 us);

/** Nanoseconds since clock_init() (TSC based; wraps after 584 years). */
u64 clock_now_ns(void);

/** The TSC value at time ns of clock_now_ns()'s clock. */
u64 clock_tsc_at(u64 ns);

/** Sets the time base (clock_init() does): the TSC frequency, and the TSC
 *  value at clock_now_ns() == 0. */
void clock_set_tsc_base(u64 hz, u64 tsc_at_zero);

/** a * b / c without overflow as long as c * b and the result fit 64 bits. */
u64 clock_mul_div(u64 a, u64 b, u64 c);

/**
 * a * b / c as a multiplication, for a ratio b / c fixed at boot (the
 * scheduler converts between TSC cycles and nanoseconds a dozen times per
 * window start, and each division took ~10 instructions there).  The
 * fraction is rounded up, so an exact quotient comes out exact and any
 * other is at most 1 too large until a * 2^-64 reaches 1 / c.
 */
struct clock_scale {
	u64 whole; /* floor(b / c) */
	u64 frac;  /* ceil((b mod c) * 2^64 / c) */
};

void clock_scale_init(struct clock_scale *s, u64 b, u64 c);

static inline u64 clock_scale_apply(const struct clock_scale *s, u64 a)
{
	return a * s->whole + (u64)(((unsigned __int128)a * s->frac) >> 64);
}

/** Converts TSC cycles to nanoseconds and back, without overflow for any
 *  result that fits 64 bits. */
u64 clock_tsc_to_ns(u64 cycles);
u64 clock_ns_to_tsc(u64 ns);

/**
 * Formats hz as MHz with three decimals ("2993.012") into buf, with integer
 * arithmetic only.  Returns buf.
 */
char *clock_format_mhz(char *buf, size_t size, u64 hz);

/**
 * Makes the HPET's timer 0 expire every period_ns with its interrupt off:
 * a timer deadline for an emulator that shares its time between CPUs up
 * to the next deadline (see clock.c).  Returns false without an HPET
 * reference or a periodic timer 0.
 */
bool clock_pace_emulator(u64 period_ns);

#endif
