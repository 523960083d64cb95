/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The cyclic schedule of one physical CPU, as pure data: a major frame and
 * its windows sorted by offset, each owned by one partition.  Built from the
 * config (which already refused overlaps and overflows) and looked up by the
 * scheduler at every decision; host unit tests cover both.
 */
#ifndef PARTITA_SCHEDULE_H
#define PARTITA_SCHEDULE_H

#include "kernel/config.h"
#include "kernel/lib/types.h"

#define SCHEDULE_MAX_WINDOWS (CONFIG_MAX_PARTITIONS * CONFIG_MAX_WINDOWS)

struct schedule_window {
	u64 offset_ns;
	u64 length_ns;
	unsigned partition; /* index in the config's partitions */
};

struct schedule {
	u64 frame_ns;
	unsigned window_count;
	struct schedule_window windows[SCHEDULE_MAX_WINDOWS];
};

/** Collects the windows of the partitions on cpu, sorted by offset. */
void schedule_build(const struct config *cfg, unsigned cpu, struct schedule *s);

/**
 * Where time t (ns since the schedule's epoch) falls.  Returns the index of
 * the window that contains t, or -1 in idle time.  Always sets *frame (the
 * frame number of t) and *next_change, the absolute time (ns since the epoch)
 * at which the answer changes next: the end of t's window, or the start of
 * the next window (possibly in the next frame).
 */
int schedule_lookup(const struct schedule *s, u64 t, u64 *frame, u64 *next_change);

#endif
