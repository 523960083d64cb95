/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The cyclic schedulers, one per CPU, on one common epoch.  Windows come from the config; the
 * end of each is enforced by a one-shot LAPIC timer, whose interrupt ends the
 * guest's run whatever the guest does.  A partition that yields, halts or
 * waits gives up only the rest of its own window; idle time is spent halted.
 * The scheduler asks partition.c what a partition can do in its window and
 * runs it through the exit path (vmexit.c); nothing below calls it.
 */
#ifndef PARTITA_SCHED_H
#define PARTITA_SCHED_H

#include "kernel/config.h"
#include "kernel/lib/types.h"

/** Builds every CPU's schedule (the windows of the partitions with
 *  `cpu = N`); call after smp_init().  Logs one line per CPU. */
void sched_init(const struct config *cfg);

u64 sched_frame_ns(void);
u64 sched_epoch_ns(void);

/** Fixes the epoch (frame 0 starts a little after this call), publishes it
 *  to the partitions, and switches the log to queueing. */
void sched_start(void);

/**
 * One decision of the scheduler at the current time: idle until the next
 * event, continue a partition's start, or run a partition until its run
 * ends.  Ends the run of the machine when no partition can run any more.
 */
void sched_step(void);

/** sched_start, then releases the other CPUs into their loops and runs
 *  sched_step forever; CPUs without windows halt for good. */
void sched_run(void) __noreturn;

/** Worst lateness of a window start so far, in ns, and the number of
 *  window starts seen, over all CPUs. */
void sched_lateness(u64 *max_ns, u64 *count);

#endif
