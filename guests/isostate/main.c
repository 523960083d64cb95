/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * isostate: checks that no CPU state crosses a partition switch.  Two
 * partitions run it with different seeds (cmdline "seed=N other=M"): each
 * sets every piece of state of isostate.h to its own patterns, holds it in
 * a loop that the end of its window interrupts, and reads it back.  A
 * value that comes back as the other partition's pattern is printed as
 *
 *   FAIL leak DR0: got 0x..., its own 0x... (the other partition's pattern)
 *
 * any other change as "FAIL changed NAME ...", each item once.  With
 * "switches=N" it exits after N rounds that a switch interrupted, with a
 * summary line and code 0 if nothing leaked or changed; without it, it
 * runs forever (the other side of the pair).
 */
#include "guests/isostate/isostate.h"
#include "guests/lib/cpu.h"
#include "guests/lib/guest.h"
#include "kernel/lib/string.h"

static u64 cmdline_u64(const char *cmdline, const char *key, u64 def)
{
	size_t n = strlen(key);

	for (const char *p = cmdline; *p; p++)
		if ((p == cmdline || p[-1] == ' ') && !strncmp(p, key, n)) {
			u64 v = 0;
			for (p += n; *p >= '0' && *p <= '9'; p++)
				v = v * 10 + (u64)(*p - '0');
			return v;
		}
	return def;
}

static struct iso_run_state run;

int guest_main(const struct partita_start_info *si)
{
	unsigned seed = (unsigned)cmdline_u64(si->cmdline, "seed=", 1);
	unsigned other = (unsigned)cmdline_u64(si->cmdline, "other=", seed == 1 ? 2 : 1);
	u64 switches = cmdline_u64(si->cmdline, "switches=", 0);

	trap_init(); /* our own GDT: the descriptor-based bases need one */
	return iso_run(&run, seed, other, switches, si->tsc_hz, NULL, printf);
}
