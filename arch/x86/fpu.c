/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Guest FPU state switching (see fpu.h).  With XSAVE the whole state the
 * host's XCR0 enables is saved (Intel SDM Vol. 1 §13, AMD APM Vol. 2
 * §11.5); without it FXSAVE's 512 bytes (x87, MMX, SSE).
 */
#include "arch/x86/fpu.h"
#include "arch/x86/percpu.h"
#include "arch/x86/cpu.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"

#define CR4_OSXSAVE (1ULL << 18)

bool fpu_has_xsave;
static u64 host_xcr0;
static u32 state_size = 512;

static inline void xsetbv(u32 index, u64 v)
{
	asm volatile("xsetbv" : : "c"(index), "a"((u32)v), "d"((u32)(v >> 32)));
}

u64 fpu_xcr0_supported(void)
{
	return fpu_has_xsave ? host_xcr0 : 0;
}

bool fpu_xcr0_valid(u64 v)
{
	u64 ok = fpu_xcr0_supported();

	return ok && !(v & ~ok) && (v & 1) && (!(v & 4) || (v & 2));
}

u64 fpu_host_xcr0(void)
{
	return host_xcr0;
}

void fpu_write_xcr0(u64 xcr0)
{
	xsetbv(0, xcr0);
}

void fpu_init(void)
{
	struct cpuid_regs r = cpuid(1, 0);

	write_cr0((read_cr0() & ~((1ULL << 2) | (1ULL << 3))) | CR0_MP | CR0_NE); /* EM, TS off */
	write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
	fpu_has_xsave = r.ecx & (1u << 26);
	if (fpu_has_xsave) {
		struct cpuid_regs d = cpuid(0xd, 0);
		host_xcr0 = ((u64)d.edx << 32 | d.eax) & 0xe7; /* x87 SSE AVX, AVX-512 */
		write_cr4(read_cr4() | CR4_OSXSAVE);
		xsetbv(0, host_xcr0);
		state_size = cpuid(0xd, 0).ebx; /* for the XCR0 just set */
		if (state_size > FPU_STATE_MAX) {
			/* Keep to what fits: x87, SSE and AVX. */
			host_xcr0 &= 0x7;
			xsetbv(0, host_xcr0);
			state_size = cpuid(0xd, 0).ebx;
		}
	}
	if (cpu_index() == 0) /* the others have the same */
		log_line("fpu: %s, guest state %u bytes", fpu_has_xsave ? "XSAVE" : "FXSAVE",
			 state_size);
}

void fpu_state_reset(struct fpu_state *s)
{
	memset(s->area, 0, sizeof(s->area));
	/* FXSAVE layout: FCW at 0 (0x37f after FNINIT), MXCSR at 24 (0x1f80). */
	s->area[0] = 0x7f;
	s->area[1] = 0x03;
	s->area[24] = 0x80;
	s->area[25] = 0x1f;
	s->xcr0 = fpu_has_xsave ? 1 : 0; /* x87 only, as after reset */
}

void fpu_switch(struct fpu_state *s, struct fpu_state *t)
{
	static struct fpu_state reset_state;
	static bool reset_ready;

	if (s) {
		if (fpu_has_xsave)
			asm volatile("xsave64 %0"
				     : "+m"(s->area)
				     : "a"((u32)host_xcr0), "d"((u32)(host_xcr0 >> 32)));
		else
			asm volatile("fxsave64 %0" : "=m"(s->area));
	}
	if (!t) {
		if (!reset_ready) {
			fpu_state_reset(&reset_state);
			reset_ready = true;
		}
		t = &reset_state;
	}
	if (fpu_has_xsave)
		asm volatile("xrstor64 %0"
			     :
			     : "m"(t->area), "a"((u32)host_xcr0), "d"((u32)(host_xcr0 >> 32)));
	else
		asm volatile("fxrstor64 %0" : : "m"(t->area));
}
