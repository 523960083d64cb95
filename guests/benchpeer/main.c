/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * benchpeer: the second partition of `make bench`.  Its windows follow the
 * bench partition's back to back, so every window start of either one is a
 * switch between two partitions.  At its first boot it only spins; the
 * bench partition restarts it once its own single-exit measurements are
 * done, and from then on both record their windows (guests/bench/bench.h)
 * at the same time.  It prints its figures and exits.
 */
#include "guests/bench/bench.h"

int guest_main(const struct partita_start_info *si)
{
	u64 origin, slack;

	if (si->boot_count < 2)
		for (;;)
			bench_rdtsc(); /* like the recorder's loop: runs to the window's end */
	origin = bench_clock_origin(si->tsc_hz, &slack);
	bench_windows(si, origin, slack);
	return 0;
}
