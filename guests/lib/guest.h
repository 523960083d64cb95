/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * guests/lib: the runtime of paravirtual Partita guests.  A guest's
 * guest_main() is called with the start-info page; returning from it ends the
 * partition with that exit code.  This header declares the hypercall stubs
 * (one per call of kernel/abi/partita.h) and a few conveniences.
 */
#ifndef PARTITA_GUEST_H
#define PARTITA_GUEST_H

#include "kernel/abi/partita.h"
#include "kernel/abi/errno.h"
#include "kernel/lib/types.h"

/** The guest's entry point, written by each guest. */
int guest_main(const struct partita_start_info *si);

/** Raw hypercall; uses vmcall or vmmcall as CPUID says. */
long hc_call(long nr, long a0, long a1, long a2, long a3, long a4);

static inline long hc_version(void)
{
	return hc_call(HC_VERSION, 0, 0, 0, 0, 0);
}
static inline long hc_console_write(const void *buf, u64 len)
{
	return hc_call(HC_CONSOLE_WRITE, (long)(uintptr_t)buf, (long)len, 0, 0, 0);
}
static inline u64 hc_time(void)
{
	return (u64)hc_call(HC_TIME, 0, 0, 0, 0, 0);
}
static inline long hc_yield(void)
{
	return hc_call(HC_YIELD, 0, 0, 0, 0, 0);
}
/** hc_call for the calls that may answer -PARTITA_E_AGAIN because too
 *  little of this window is left for their copying (kernel/abi/partita.h):
 *  yields and calls again, which the hypervisor then makes. */
static inline long hc_call_whole(long nr, long a0, long a1, long a2, long a3)
{
	long r;

	while ((r = hc_call(nr, a0, a1, a2, a3, 0)) == -PARTITA_E_AGAIN)
		hc_yield();
	return r;
}
static inline long hc_wait(u64 deadline_ns)
{
	return hc_call(HC_WAIT, (long)deadline_ns, 0, 0, 0, 0);
}
static inline long hc_event_signal(unsigned channel)
{
	return hc_call(HC_EVENT_SIGNAL, channel, 0, 0, 0, 0);
}
static inline long hc_partition_info(struct partita_partition_info *out)
{
	return hc_call(HC_PARTITION_INFO, (long)(uintptr_t)out, 0, 0, 0, 0);
}
__noreturn void hc_shutdown(long code);

/** printf to the partition's console; output is sent a whole line at a time. */
int printf(const char *fmt, ...) __printf(1, 2);
/** Sends what printf has buffered (an unfinished line). */
void console_flush(void);

/** The start-info page, also kept here for code that has no argument. */
extern const struct partita_start_info *start_info;

/**
 * Exceptions.  A paravirtual guest starts without an IDT, so an exception
 * ends its partition as a fault.  trap_init() installs the runtime's own GDT
 * and an IDT for vectors 0-31; afterwards trap_try() runs fn(arg) and returns
 * -1 if it returned normally, or the vector of the exception it raised (with
 * *info filled), having abandoned fn at the faulting instruction.  An
 * exception outside trap_try() is printed, then escalated to a triple fault
 * so that the hypervisor's on_fault policy applies.
 */
struct trap_info {
	u64 vector;
	u64 error_code;
	u64 rip;
	u64 cr2;
};
void trap_init(void);
int trap_try(void (*fn)(void *arg), void *arg, struct trap_info *info);
/** Loads a zero-limit IDT and raises int3: a triple fault, on purpose. */
__noreturn void trap_triple_fault(void);

/** Guest-side assertion: prints file and line, then ends the partition. */
#define GUEST_ASSERT(cond)                                                            \
	do {                                                                          \
		if (!(cond)) {                                                        \
			printf("[test] FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			hc_shutdown(1);                                               \
		}                                                                     \
	} while (0)

#endif
