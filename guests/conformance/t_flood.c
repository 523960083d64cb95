/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The hvm log flood: with "logflood" on its command line the conformance
 * kernel, instead of its sub-tests, does forever what makes a hypervisor
 * log for an unmodified guest: string I/O (REP OUTSB, REP INSB) to a port
 * nothing answers and to the UART, never yielding.  A ticker beside it
 * must keep every window on time (tests/integration/cases_isolation.py).
 */
#include "guests/conformance/conf.h"

void logflood_main(void);

void logflood_main(void)
{
	static u8 buf[64];
	u64 n = 0, next = 1000;

	printf("logflood: REP OUTSB/INSB to port %#x and OUTSB to the UART, forever\n",
	       UNKNOWN_PORT);
	for (;;) {
		u64 c = sizeof(buf);
		const void *s = buf;
		void *d = buf;
		asm volatile("cld; rep outsb" : "+c"(c), "+S"(s) : "d"(UNKNOWN_PORT) : "memory");
		c = 16;
		asm volatile("cld; rep insb" : "+c"(c), "+D"(d) : "d"(UNKNOWN_PORT) : "memory");
		s = "!";
		asm volatile("outsb"
			     : "+S"(s)
			     : "d"(COM1 + 7)
			     : "memory"); /* the scratch register */
		if (++n == next) {
			printf("logflood: %llu rounds\n", (unsigned long long)n);
			next *= 4;
		}
	}
}
