/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The one exit path (vmexit.c): runs a partition's vCPU and answers its
 * exits, for both kinds of partition and both back ends.
 */
#ifndef PARTITA_VMEXIT_H
#define PARTITA_VMEXIT_H

#include "kernel/virt.h"

struct partition;

/** Why vmexit_run returned. */
enum run_end {
	RUN_TIME,    /* its run's time is over (the timer, a host interrupt) */
	RUN_STATE,   /* it yielded, waits, stopped, faulted or exited */
	RUN_EXIT,    /* its kind sends every exit back to the scheduler */
	RUN_CONSOLE, /* it has console lines to send */
};

/**
 * Runs p's vCPU (RUNNABLE, its state loaded on this CPU) and handles its
 * exits until one needs the scheduler.  until_tsc: when its run ends (the
 * scheduler armed the timer for it); window_end_tsc: when its window ends
 * (log lines that would not be made before are counted, not made);
 * sink_ready_tsc: when a busy UART has room again.
 */
enum run_end vmexit_run(struct partition *p, u64 until_tsc, u64 window_end_tsc, u64 sink_ready_tsc);

/** Handles one exit of p's vCPU; may stop or restart p. */
void vmexit_handle(struct partition *p, struct vm_exit *exit);

/** CPUID as p sees it: the one policy (cpu_policy.c) for its kind. */
void vmexit_cpuid(const struct partition *p, u32 leaf, u32 subleaf, u32 out[4]);

#endif
