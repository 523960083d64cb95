/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * FPU/SSE/AVX state of guests.  The core itself never touches these
 * registers (it is built -mgeneral-regs-only), so they belong to whichever
 * vCPU ran last; the scheduler swaps them when another partition's vCPU
 * runs, so no partition sees or disturbs another's.
 */
#ifndef PARTITA_ARCH_X86_FPU_H
#define PARTITA_ARCH_X86_FPU_H

#include "kernel/lib/types.h"

#define FPU_STATE_MAX 4096

struct fpu_state {
	u8 area[FPU_STATE_MAX] __aligned(64);
	u64 xcr0; /* the guest's XCR0 (XSAVE machines) */
};

/** Enables FXSAVE (and XSAVE where the CPU has it) on this CPU and logs
 *  the state size.  The host's XCR0 enables every component the CPU has. */
void fpu_init(void);

/** Puts the power-on FPU state in s (x87 control word, MXCSR). */
void fpu_state_reset(struct fpu_state *s);

/** Saves the live FPU state into s, then loads t's (either may be NULL:
 *  nothing saved / the reset state loaded). */
void fpu_switch(struct fpu_state *s, struct fpu_state *t);

/** XCR0 values a guest may set with XSETBV: 0 if the CPU has no XSAVE. */
u64 fpu_xcr0_supported(void);

/** Loads a guest's XCR0 before entry / the host's after exit (nothing to
 *  do on a CPU without XSAVE: inline, as it is on every entry and exit). */
extern bool fpu_has_xsave;
void fpu_write_xcr0(u64 xcr0);
static inline void fpu_load_xcr0(u64 xcr0)
{
	if (fpu_has_xsave && xcr0)
		fpu_write_xcr0(xcr0);
}
u64 fpu_host_xcr0(void);

/** XCR0 as the CPU has it now (XGETBV; XSAVE machines only). */
#ifdef PARTITA_FAKE_ARCH
u64 fpu_read_xcr0(void); /* the host tests' (tests/unit/fake_arch.c) */
#else
static inline u64 fpu_read_xcr0(void)
{
	u32 lo, hi;
	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((u64)hi << 32) | lo;
}
#endif

/** True if a guest may set XCR0 to v (SDM Vol. 1 §13.3: x87 always on, AVX
 *  only with SSE, nothing this CPU's host state does not save). */
bool fpu_xcr0_valid(u64 v);

#endif
