/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Window-start lateness (see lateness.h).
 *
 * Noted by the scheduler of each partition's CPU at every window start and
 * read by the control partition, possibly on another CPU: the fields are
 * 64-bit words written with plain stores (atomic on x86-64), and a reader
 * may see a sum and a count from two neighbouring starts.  That is good
 * enough for statistics and needs no lock on the scheduler's path.
 */
#include "kernel/lateness.h"
#include "kernel/config.h"
#include "kernel/lib/string.h"

void lateness_note(struct lateness *l, u64 late_ns, u64 now_ns)
{
	u64 second = now_ns / 1000000000ULL;

	l->sum_ns += late_ns;
	l->starts++;
	if (second != l->second) {
		l->prev_max_ns = second == l->second + 1 ? l->cur_max_ns : 0;
		l->cur_max_ns = 0;
		l->second = second;
	}
	l->cur_max_ns = MAX(l->cur_max_ns, late_ns);
}

void lateness_report(const struct lateness *l, u64 now_ns, struct partita_partition_counters *out)
{
	u64 second = now_ns / 1000000000ULL;

	out->late_sum_ns = l->sum_ns;
	out->late_starts = l->starts;
	if (l->starts && l->second + 1 == second)
		out->late_max_last_s_ns = l->cur_max_ns;
	else if (l->starts && l->second == second)
		out->late_max_last_s_ns = l->prev_max_ns;
	else
		out->late_max_last_s_ns = 0; /* no start in the last second */
}

static struct lateness records[CONFIG_MAX_PARTITIONS];

void lateness_window_started(u32 id, u64 late_ns, u64 now_ns)
{
	if (id < CONFIG_MAX_PARTITIONS)
		lateness_note(&records[id], late_ns, now_ns);
}

const struct lateness *lateness_of(u32 id)
{
	return id < CONFIG_MAX_PARTITIONS ? &records[id] : NULL;
}
