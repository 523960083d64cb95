/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lwIP's port to Partita's paravirtual guests (NO_SYS=1): the clock
 * (sys_now, from HC_TIME), random numbers (RDRAND when CPUID has it, else
 * the TSC through a xorshift generator), the assertion hook, and the one
 * libc function lwIP uses that the runtime lacks (atoi).  Memory is lwIP's
 * own static heap and pools (lwipopts.h): nothing here allocates.
 */
#include "guests/lib/lwip/port.h"
#include "guests/lib/cpu.h"
#include "guests/lib/guest.h"

#include "lwip/arch.h"
#include "lwip/sys.h"
#include "lwip/timeouts.h"

u32_t sys_now(void)
{
	return (u32_t)(hc_time() / 1000000ULL);
}

static int rand_mode; /* 0: not yet known, 1: RDRAND, 2: TSC and xorshift */
static u64 rand_state;

static bool cpu_has_rdrand(void)
{
	u32 eax = 1, ebx, ecx = 0, edx;

	asm volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
	return ecx & (1u << 30); /* CPUID.01H:ECX.RDRAND[bit 30] (Intel SDM Vol. 2A, CPUID) */
}

static bool rdrand32(u32 *out)
{
	/* RDRAND sets CF when it returned a random value (Intel SDM Vol. 2B,
	 * RDRAND); it may fail transiently, so try a few times. */
	for (int i = 0; i < 10; i++) {
		u32 v;
		u8 ok;
		asm volatile("rdrand %0; setc %1" : "=r"(v), "=qm"(ok) : : "cc");
		if (ok) {
			*out = v;
			return true;
		}
	}
	return false;
}

unsigned int lwip_port_rand(void)
{
	u32 v;

	if (rand_mode == 0) {
		rand_mode = cpu_has_rdrand() ? 1 : 2;
		rand_state = rdtsc() ^ 0x9e3779b97f4a7c15ULL;
		if (start_info)
			rand_state ^= (u64)start_info->partition_id << 32;
	}
	if (rand_mode == 1 && rdrand32(&v))
		return v;
	/* xorshift64 (Marsaglia, 2003), stirred with the TSC. */
	rand_state ^= rdtsc();
	rand_state ^= rand_state << 13;
	rand_state ^= rand_state >> 7;
	rand_state ^= rand_state << 17;
	return (unsigned int)(rand_state >> 16);
}

void lwip_port_assert(const char *msg, const char *file, int line)
{
	printf("[test] FAIL lwIP assertion \"%s\" at %s:%d\n", msg, file, line);
	hc_shutdown(1);
}

int atoi(const char *s)
{
	int sign = 1, v = 0;

	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	if (*s == '-' || *s == '+')
		sign = *s++ == '-' ? -1 : 1;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (*s++ - '0');
	return sign * v;
}

u64 lwip_port_sleep_deadline(void)
{
	u32_t ms = sys_timeouts_sleeptime();

	if (ms == SYS_TIMEOUTS_SLEEPTIME_INFINITE)
		return 0;
	return hc_time() + (u64)ms * 1000000ULL;
}
