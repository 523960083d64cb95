/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Starting the other CPUs and running code on all of them.  The boot CPU
 * starts every CPU the MADT lists with INIT-SIPI-SIPI through the trampoline
 * page (trampoline.S), one at a time; each CPU sets itself up as the boot
 * CPU did (its own GDT, TSS and IST stacks, IDT, GS base, local APIC with a
 * check of its timer's rate, FPU) and then waits for the boot CPU to say
 * what comes next: turn on SVM or VMX, then run its own schedule.
 *
 * CPU numbers: 0 is the boot CPU, the others follow in MADT order.  A CPU
 * that does not answer, whose timer runs at another rate, or that cannot
 * turn on SVM/VMX is reported by its APIC ID and runs nothing.
 */
#ifndef PARTITA_ARCH_X86_SMP_H
#define PARTITA_ARCH_X86_SMP_H

#include "boot/boot_info.h"
#include "drivers/acpi.h"
#include "kernel/lib/types.h"

/** The vector of the scheduler's wake-up IPI (smp_kick). */
#define SMP_KICK_VECTOR 0x31
/** The vector that stops a CPU for good at the end of a run. */
#define SMP_STOP_VECTOR 0x32

/**
 * Starts every other CPU of the MADT (at most MAX_CPUS in all) and waits
 * until each is up or has failed.  Logs one line per CPU that fails and
 *   "smp: 4 CPUs up: cpu 0 (APIC ID 0), cpu 1 (APIC ID 1), ..."
 * Call on the boot CPU after lapic_timer_calibrate().  Without a trampoline
 * page or a MADT, only the boot CPU runs.
 */
void smp_init(const struct acpi_info *acpi, const struct boot_info *bi);

/** The number of CPU numbers in use (the highest up plus one). */
unsigned smp_cpu_count(void);

/** Whether CPU cpu came up (and, after smp_enable_virt, has SVM/VMX on). */
bool smp_cpu_up(unsigned cpu);
bool smp_cpu_virt(unsigned cpu);

/** The APIC ID of CPU cpu (its MADT entry, also for one that failed). */
u32 smp_apic_id(unsigned cpu);

/**
 * Has every other CPU that is up turn on the back end (virt->cpu_enable)
 * itself, after the boot CPU did; waits for all.  A CPU that cannot is
 * logged with its APIC ID.  Returns the number of CPUs with SVM/VMX on.
 */
unsigned smp_enable_virt(void);

/**
 * Lets every other CPU that is up run fn (which does not return), and
 * returns.  The boot CPU calls it when the schedule's epoch is fixed.
 */
void smp_release(void (*fn)(void));

/**
 * The end of a run: stops every other CPU (an IPI on SMP_STOP_VECTOR; each
 * one halts for good with interrupts off, whatever it ran) and waits up to
 * timeout_ns for them, so that what the caller prints last is not mixed
 * with their output.  Returns false, at once, if another CPU is already
 * stopping the machine: then the caller should halt.
 */
bool smp_stop_others(u64 timeout_ns);

/** Wakes CPU cpu from a halt or ends its guest's run: sets its kick flag
 *  and sends SMP_KICK_VECTOR (nothing if cpu is the caller). */
void smp_kick(unsigned cpu);

/**
 * Runs fn(arg) on CPU cpu, at its scheduler's next decision (it is kicked
 * for it), and waits until it ran; on the calling CPU it runs at once.
 * This is how one CPU changes state another CPU owns (a partition pinned
 * there).  While it waits, the caller runs calls made to itself, so two
 * CPUs calling each other do not deadlock.  Returns 0, or -E_BUSY if cpu
 * did not run it within timeout_ns (it then never will), -E_INVAL if cpu is
 * not up.
 */
int smp_call(unsigned cpu, void (*fn)(void *arg), void *arg, u64 timeout_ns);

/** Runs the call made to the calling CPU, if any (its scheduler calls this
 *  at every decision). */
void smp_run_calls(void);

#endif
