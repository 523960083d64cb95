/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spin: a partition that never gives the CPU back.  It prints one line at
 * start, then loops forever without a hypercall, a HLT or any other exit.
 * The scheduler's timer must take the CPU from it at the end of each of its
 * windows; a partition scheduled after it (guests/ticker) shows whether its
 * windows still start on time.
 */
#include "guests/lib/guest.h"

int guest_main(const struct partita_start_info *si)
{
	volatile u64 loops = 0;

	printf("boot %llu: spinning forever, never yielding\n", (unsigned long long)si->boot_count);
	console_flush();
	for (;;)
		loops++;
}
