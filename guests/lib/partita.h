/*
 * guests/lib: the runtime of paravirtual Partita guests.  A guest's
 * guest_main() is called with the start-info page; returning from it ends the
 * partition with that exit code.  This header declares the hypercall stubs
 * (one per call of kernel/abi/partita.h) and a few conveniences.
 */
#ifndef PARTITA_GUEST_H
#define PARTITA_GUEST_H

#include "kernel/abi/partita.h"
#include "kernel/errno.h"
#include "kernel/types.h"

/** The guest's entry point, written by each guest. */
int guest_main(const struct partita_start_info *si);

/** Raw hypercall; uses vmcall or vmmcall as CPUID says. */
long hc_call(long nr, long a0, long a1, long a2, long a3, long a4);

static inline long hc_version(void) { return hc_call(HC_VERSION, 0, 0, 0, 0, 0); }
static inline long hc_console_write(const void *buf, u64 len)
{
	return hc_call(HC_CONSOLE_WRITE, (long)(uintptr_t)buf, (long)len, 0, 0, 0);
}
static inline u64 hc_time(void) { return (u64)hc_call(HC_TIME, 0, 0, 0, 0, 0); }
static inline long hc_yield(void) { return hc_call(HC_YIELD, 0, 0, 0, 0, 0); }
static inline long hc_wait(u64 deadline_ns) { return hc_call(HC_WAIT, (long)deadline_ns, 0, 0, 0, 0); }
static inline long hc_event_signal(unsigned channel) { return hc_call(HC_EVENT_SIGNAL, channel, 0, 0, 0, 0); }
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

/** Guest-side assertion: prints file and line, then ends the partition. */
#define GUEST_ASSERT(cond)                                                         \
	do {                                                                       \
		if (!(cond)) {                                                     \
			printf("[test] FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			hc_shutdown(1);                                            \
		}                                                                  \
	} while (0)

#endif
