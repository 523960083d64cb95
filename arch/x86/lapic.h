/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The local APIC of each CPU, as the core uses it: interrupt acceptance
 * (EOI, the spurious vector), its timer (periodic, one-shot and TSC-deadline)
 * for the scheduler's windows, and the CPU's APIC ID.  Runs in x2APIC mode
 * (MSR access) when the CPU has it, else in xAPIC mode (MMIO through the
 * direct map).  The 8259 PICs are masked for good: the core takes no legacy
 * interrupts.
 */
#ifndef PARTITA_ARCH_X86_LAPIC_H
#define PARTITA_ARCH_X86_LAPIC_H

#include "drivers/acpi.h"
#include "kernel/lib/types.h"

/**
 * Masks both 8259 PICs and enables this CPU's local APIC: x2APIC mode if
 * CPUID.1:ECX[21] says the CPU has it, else xAPIC mode at the base
 * IA32_APIC_BASE names (the MADT's address is only cross-checked).  Sets the
 * spurious vector to 0xff, software-enables the APIC, masks LINT0, LINT1,
 * the error, performance and thermal LVTs and the timer, and accepts all
 * priorities (TPR 0).  Call on each CPU; the mode is chosen on the first.
 * Returns 0, or -E_NOTSUP if the CPU has no local APIC (CPUID.1:EDX[9]).
 */
int lapic_init(const struct acpi_info *acpi);

/** Whether this CPU's local APIC runs in x2APIC mode. */
bool lapic_x2apic_mode(void);

/** This CPU's APIC ID (8 bits in xAPIC mode, 32 in x2APIC mode). */
u32 lapic_id(void);

/** Signals the end of the interrupt being serviced. */
void lapic_eoi(void);

/**
 * Measures the timer's count rate against the reference clock (clock.c;
 * against the calibrated TSC when the reference is the PIT), at divide-by-1,
 * or divide-by-16 if the counter is too fast to measure at 1.  Logs
 *   "lapic: xAPIC mode, id 0, timer 1000.000 MHz"
 * Call after clock_init(); the timer is left stopped.
 * Returns 0, -E_NOTSUP if lapic_init() did not succeed, -E_IO if the timer
 * does not count.
 */
int lapic_timer_calibrate(void);

/** The timer's count rate in Hz after the divider (0 if not calibrated). */
u64 lapic_timer_hz(void);

/** Starts the timer firing vector hz times per second (hz is clamped to
 *  the range the 32-bit counter can express). */
void lapic_timer_periodic(u32 hz, u8 vector);

/** Arms the timer to fire vector once after ns nanoseconds, at least one
 *  count and at most the 32-bit counter's range later. */
void lapic_timer_oneshot_ns(u64 ns, u8 vector);

/** Whether the timer has TSC-deadline mode (CPUID.1:ECX[24]). */
bool lapic_has_tsc_deadline(void);

/** Arms a TSC-deadline interrupt at TSC value tsc.  Returns 0, or
 *  -E_NOTSUP without TSC-deadline mode. */
int lapic_timer_deadline(u64 tsc, u8 vector);

/** Stops the timer (any mode) and masks its LVT entry. */
void lapic_timer_stop(void);

/**
 * Measures the calling CPU's timer against the TSC (the median of three
 * measurements of 2 ms), at the
 * divider lapic_timer_calibrate() chose on the boot CPU: the check that
 * another CPU's timer runs at the rate the scheduler assumes.  Returns 0
 * with the rate in *hz_out, -E_NOTSUP before calibration, -E_IO if the
 * timer does not count.
 */
int lapic_timer_check(u64 *hz_out);

/** Sends a fixed IPI with vector to the CPU with APIC ID apic_id. */
void lapic_send_ipi(u32 apic_id, u8 vector);

/** Sends INIT, then a start-up IPI naming the page (below 1 MiB, 4 KiB
 *  aligned) where the CPU starts in real mode (SDM §8.4.4.1). */
void lapic_send_init(u32 apic_id);
void lapic_send_startup(u32 apic_id, u64 page);

#endif
