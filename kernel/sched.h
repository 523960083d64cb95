/*
 * The cyclic scheduler of the boot CPU.  Windows come from the config; the
 * end of each is enforced by a one-shot LAPIC timer, whose interrupt ends the
 * guest's run whatever the guest does.  A partition that yields, halts or
 * waits gives up only the rest of its own window; idle time is spent halted.
 */
#ifndef PARTITA_SCHED_H
#define PARTITA_SCHED_H

#include "kernel/config.h"
#include "kernel/types.h"

/** Builds CPU 0's schedule and fixes the epoch (frame 0 starts a little
 *  after this call).  Partitions on other CPUs are reported and not run. */
void sched_init(const struct config *cfg);

u64 sched_frame_ns(void);
u64 sched_epoch_ns(void);

/** Runs the schedule forever; ends the run when no partition can run any
 *  more, or when the config's end_on_exit partition exits. */
void sched_run(void) __noreturn;

/**
 * The TSC until which an exit handler of the running partition may do work
 * whose amount the guest chooses (copying its console bytes): EXIT_BUDGET_NS
 * from now, or the end of its run if that is sooner.  Such a handler stops
 * there and reports how much it did, so no exit costs more than about that.
 */
u64 sched_exit_budget_tsc(void);
#define EXIT_BUDGET_NS 10000ULL

struct partition;
/** Ends the run if p is the config's end_on_exit partition (p exited). */
void sched_end_on_exit(const struct partition *p);

/** One window start as the scheduler saw it (for statistics and tests). */
struct window_start {
	u64 planned_ns;
	u64 actual_ns;
	u32 partition;
};

/** Worst lateness of a window start so far, in ns, and the number of
 *  window starts seen. */
void sched_lateness(u64 *max_ns, u64 *count);

#endif
