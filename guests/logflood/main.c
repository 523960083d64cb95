/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * logflood: makes the hypervisor log, in a loop and forever, for the
 * temporal-isolation cases: each virtualization instruction a guest may
 * not use (VMLOAD, VMSAVE, VMRUN, STGI, CLGI, SKINIT, INVLPGA on AMD;
 * VMXON, VMCLEAR, VMPTRLD, VMREAD, VMWRITE, VMLAUNCH, VMRESUME, VMXOFF on
 * Intel; the other vendor's raise #UD without an exit) makes the
 * hypervisor inject #UD, which its own IDT catches (trap_try).  It never
 * yields.  Beside it a ticker must keep every window on time: guest-
 * triggered log lines must be rate-limited and cost no time outside the
 * guest's own windows (issue 10, section 1).  It prints its count of #UDs
 * now and then.
 */
#include "guests/lib/guest.h"

static u64 area[512] __aligned(4096);

static void insn(void *arg)
{
	u64 a = (u64)(uintptr_t)area;

	switch ((int)(uintptr_t)arg) {
	case 0:
		asm volatile("vmload" : : "a"(a) : "memory");
		break;
	case 1:
		asm volatile("vmsave" : : "a"(a) : "memory");
		break;
	case 2:
		asm volatile("vmrun" : : "a"(a) : "memory");
		break;
	case 3:
		asm volatile("stgi" ::: "memory");
		break;
	case 4:
		asm volatile("clgi" ::: "memory");
		break;
	case 5:
		asm volatile("skinit" : : "a"(a) : "memory");
		break;
	case 6:
		asm volatile("invlpga" : : "a"(0), "c"(0) : "memory");
		break;
	case 7:
		asm volatile("vmxon %0" : : "m"(a) : "memory", "cc");
		break;
	case 8:
		asm volatile("vmclear %0" : : "m"(a) : "memory", "cc");
		break;
	case 9:
		asm volatile("vmptrld %0" : : "m"(a) : "memory", "cc");
		break;
	case 10: {
		u64 v;
		asm volatile("vmread %1, %0" : "=r"(v) : "r"(0ULL) : "memory", "cc");
		break;
	}
	case 11:
		asm volatile("vmwrite %0, %1" : : "r"(0ULL), "r"(0ULL) : "memory", "cc");
		break;
	case 12:
		asm volatile("vmlaunch" ::: "memory", "cc");
		break;
	case 13:
		asm volatile("vmresume" ::: "memory", "cc");
		break;
	case 14:
		asm volatile("vmxoff" ::: "memory", "cc");
		break;
	}
}

int guest_main(const struct partita_start_info *si)
{
	struct trap_info ti;
	u64 ud = 0, other = 0, none = 0, next_report = 1000;
	(void)si;

	trap_init();
	for (u64 i = 0;; i++) {
		int v = trap_try(insn, (void *)(uintptr_t)(i % 15), &ti);
		if (v == 6)
			ud++;
		else if (v < 0)
			none++;
		else
			other++;
		if (ud + other + none == next_report) {
			printf("%llu instructions: %llu #UD, %llu other exceptions, %llu completed\n",
			       (unsigned long long)next_report, (unsigned long long)ud,
			       (unsigned long long)other, (unsigned long long)none);
			next_report *= 4;
		}
	}
}
