/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Cyclic schedule tables (see schedule.h).
 */
#include "kernel/schedule.h"

void schedule_build(const struct config *cfg, unsigned cpu, struct schedule *s)
{
	s->frame_ns = cfg->frame_ns;
	s->window_count = 0;
	for (unsigned p = 0; p < cfg->partition_count; p++) {
		const struct config_partition *cp = &cfg->partitions[p];
		if (cp->cpu != cpu)
			continue;
		for (unsigned w = 0; w < cp->window_count; w++) {
			struct schedule_window sw = { cp->windows[w].offset_ns,
						      cp->windows[w].length_ns, p };
			/* Insertion sort: at most a few dozen windows. */
			unsigned i = s->window_count++;
			while (i > 0 && s->windows[i - 1].offset_ns > sw.offset_ns) {
				s->windows[i] = s->windows[i - 1];
				i--;
			}
			s->windows[i] = sw;
		}
	}
}

int schedule_lookup(const struct schedule *s, u64 t, u64 *frame, u64 *next_change)
{
	u64 f = t / s->frame_ns;
	u64 base = f * s->frame_ns;
	u64 in = t - base;

	*frame = f;
	for (unsigned i = 0; i < s->window_count; i++) {
		const struct schedule_window *w = &s->windows[i];
		if (in < w->offset_ns) {
			*next_change = base + w->offset_ns;
			return -1;
		}
		if (in < w->offset_ns + w->length_ns) {
			*next_change = base + w->offset_ns + w->length_ns;
			return (int)i;
		}
	}
	/* Idle to the end of the frame: the next change is the first window
	 * of the next frame (or the frame's end if there are no windows). */
	*next_change = base + s->frame_ns + (s->window_count ? s->windows[0].offset_ns : 0);
	return -1;
}
