/*
 * The core's log.  Every line goes to the serial console with the prefix
 * "[hv] ", one whole line at a time.  log_line() adds prefix and newline;
 * callers pass the text without either.
 */
#ifndef PARTITA_LOG_H
#define PARTITA_LOG_H

#include "kernel/types.h"

/** Prints one "[hv] ..." line. */
void log_line(const char *fmt, ...) __printf(1, 2);

/** Prints "[name] text" as one line (text has no newline). */
void log_partition_line(const char *name, const char *text, size_t len);

/** About how many TSC cycles printing a byte of a line takes on the
 *  serial port (a running average of the lines printed so far). */
u64 log_tsc_per_byte(void);

/** Prints raw text (no prefix), for multi-part lines built by one caller and
 *  for the exception dump.  Prefer log_line(). */
void log_raw(const char *fmt, ...) __printf(1, 2);

/**
 * Stops the machine on a broken hypervisor invariant: prints "[hv] PANIC:
 * ..." and ends the run with code HV_EXIT_PANIC.  Never called for anything a
 * guest or a config file can cause.
 */
void panic(const char *fmt, ...) __printf(1, 2) __noreturn;

/* Exit codes of a run, written to the emulator's debug-exit port when the
 * config declares one (QEMU then exits with status (code << 1) | 1). */
#define HV_EXIT_OK 0
#define HV_EXIT_CONFIG 2   /* the config or a file it names was refused */
#define HV_EXIT_PANIC 3    /* hypervisor invariant broken, or CPU exception */
#define HV_EXIT_BOOT 4     /* boot failed (boot_info, memory, CPU features) */
#define HV_EXIT_FAULT 5    /* the run ended with a partition stopped by a fault */

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

/** Sets the debug-exit port hv_stop() uses (-1: none). */
void hv_set_debug_exit(int port);

#endif
