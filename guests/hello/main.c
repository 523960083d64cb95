/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hello: the smallest paravirtual guest.  Prints who it is through the
 * console hypercall, then ends its partition with exit code 0.
 */
#include "guests/lib/guest.h"

int guest_main(const struct partita_start_info *si)
{
	long v = hc_version();

	printf("hello from partition %u '%s': ABI %ld.%ld, %llu MiB of memory\n", si->partition_id,
	       si->name, v >> 16, v & 0xffff, (unsigned long long)(si->mem_size >> 20));
	return 0;
}
