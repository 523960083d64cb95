/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The core's log.  Every line goes to the serial console with the prefix
 * "[hv] ", one whole line at a time.  log_line() adds prefix and newline;
 * callers pass the text without either.
 */
#ifndef PARTITA_LOG_H
#define PARTITA_LOG_H

#include "kernel/console.h"
#include "kernel/lib/types.h"

/** Prints one "[hv] ..." line. */
void log_line(const char *fmt, ...) __printf(1, 2);

/** Sets up the hv console and the serial sink; the first call of the core,
 *  after uart_init. */
void log_init(void);

/** Adds a partition's console to those log_drain_any and the end of a run
 *  drain (idempotent). */
void log_register_console(struct console *c);

/** Switches from printing at once (boot) to queueing (partitions run). */
void log_set_queued(bool queued);

/** Makes c the console that log lines go to while a partition's exit is
 *  handled (NULL: the hv console), until deadline_tsc (its window's end:
 *  a line that could not be made before it is counted, not made); returns
 *  the previous console. */
struct console *log_set_context(struct console *c, u64 deadline_tsc);

/** Prints a guest-triggered line, rate-limited per kind in the console of
 *  the current context (log_line's lines count as LOG_KIND_OTHER).  Returns
 *  true if the line was queued, false if it was counted as suppressed. */
bool log_guest(enum log_kind kind, const char *fmt, ...) __printf(2, 3);

/** Drains c's queue to the UART until deadline (TSC); true if empty. */
bool log_drain(struct console *c, u64 deadline_tsc);

/** True if the hv console has lines to send. */
bool log_hv_pending(void);

/** Drains the hv console's queue; true if empty. */
bool log_drain_hv(u64 deadline_tsc);

/** Drains every queue, round robin (idle time); true if all are empty. */
bool log_drain_any(u64 deadline_tsc);

/**
 * Polls the machine's UART for typed bytes, if this CPU is the one that
 * polls (log_input_here): hot keys move the focus (with a banner line),
 * other bytes go to the input ring of the partition with the focus.
 * Takes at most a FIFO's worth or so of bytes; never waits.  Returns the
 * number of bytes given to a partition.
 */
unsigned log_poll_input(void);

/** True if this CPU polls the UART's receiver: the partition with the
 *  console's focus runs here. */
bool log_input_here(void);

/** True if c is the console with the focus, and some partition takes
 *  input (if none does, nobody polls). */
bool log_input_focus_is(const struct console *c);

/** True if the last drain stopped because the UART was busy. */
bool log_sink_busy(void);

/**
 * Stops the machine on a broken hypervisor invariant: prints "[hv] PANIC:
 * ..." and ends the run with code HV_EXIT_PANIC.  Never called for anything a
 * guest or a config file can cause.
 */
void panic(const char *fmt, ...) __printf(1, 2) __noreturn;

/* Exit codes of a run, written to the emulator's debug-exit port when the
 * config declares one (QEMU then exits with status (code << 1) | 1). */
#define HV_EXIT_OK 0
#define HV_EXIT_CONFIG 2 /* the config or a file it names was refused */
#define HV_EXIT_PANIC 3	 /* hypervisor invariant broken, or CPU exception */
#define HV_EXIT_BOOT 4	 /* boot failed (boot_info, memory, CPU features) */
#define HV_EXIT_FAULT 5	 /* the run ended with a partition stopped by a fault */

/**
 * Ends the run: prints "[hv] run ended: code N (why)", writes the code to the
 * debug-exit port if one is known (from the config, or QEMU detected by its
 * CPUID signature), then halts this CPU forever with interrupts off.
 */
void hv_stop(int code, const char *why) __noreturn;

/**
 * For the fatal paths (exception dump, panic): from now on the log no longer
 * takes its lock, so a CPU that faulted while holding it can still report.
 * Lines of other CPUs may then interleave; the machine is stopping anyway.
 */
void log_break_lock(void);

/**
 * Gives hv_stop() the way to stop the other CPUs before it prints the last
 * lines (smp_stop_others): it returns false if another CPU is stopping the
 * machine already, and then this one only halts.
 */
void log_set_stop_others(bool (*stop_others)(u64 timeout_ns));

/** Sets the debug-exit port hv_stop() uses (-1: none). */
void hv_set_debug_exit(int port);

#endif
