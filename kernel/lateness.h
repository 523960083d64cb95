/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Window-start lateness of every partition, as the scheduler measures it
 * (the delay between a window's planned and actual start): a sum and a
 * count since boot, and the worst start of the current and of the previous
 * whole second of HC_TIME.  The scheduler notes each start
 * (lateness_window_started); HC_SCHEDULE_INFO (control_info.c) reports
 * them.  A layer below both, so that neither calls the other.
 */
#ifndef PARTITA_LATENESS_H
#define PARTITA_LATENESS_H

#include "kernel/abi/partita.h"
#include "kernel/lib/types.h"

/** Lateness of one partition's window starts. */
struct lateness {
	u64 sum_ns, starts;
	u64 second; /* the second cur_max_ns belongs to */
	u64 cur_max_ns, prev_max_ns;
};

/** Counts one window start, late_ns late, at now_ns.  Pure. */
void lateness_note(struct lateness *l, u64 late_ns, u64 now_ns);

/** Fills the lateness counters of out from l at now_ns: late_max_last_s_ns
 *  is the worst start of the second before now's.  Pure. */
void lateness_report(const struct lateness *l, u64 now_ns, struct partita_partition_counters *out);

/** Called by the scheduler at every window start of partition id. */
void lateness_window_started(u32 id, u64 late_ns, u64 now_ns);

/** The lateness record of partition id, or NULL if id is out of range. */
const struct lateness *lateness_of(u32 id);

#endif
