/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Lazy switching of the guest state no back end switches (vcpu_state.h).
 */
#include "arch/x86/vcpu_state.h"
#include "arch/x86/percpu.h"
#include "arch/x86/cpu.h"
#include "arch/x86/fpu.h"

#define MSR_TSC_AUX 0xc0000103

/* The state loaded on the calling CPU: its percpu.h lazy_owner. */
#define owner (this_cpu()->lazy_owner)
/* Whether the CPU has RDTSCP or RDPID (else TSC_AUX does not exist). */
static int has_tsc_aux = -1;

static bool tsc_aux_exists(void)
{
	if (has_tsc_aux < 0)
		has_tsc_aux = (cpuid(0x80000001, 0).edx & (1u << 27)) ||
			      (cpuid(0, 0).eax >= 7 && (cpuid(7, 0).ecx & (1u << 22)));
	return has_tsc_aux;
}

static u64 read_dr(int n)
{
	u64 v = 0;

	switch (n) {
	case 0:
		asm volatile("mov %%db0, %0" : "=r"(v));
		break;
	case 1:
		asm volatile("mov %%db1, %0" : "=r"(v));
		break;
	case 2:
		asm volatile("mov %%db2, %0" : "=r"(v));
		break;
	default:
		asm volatile("mov %%db3, %0" : "=r"(v));
		break;
	}
	return v;
}

static void write_dr(int n, u64 v)
{
	switch (n) {
	case 0:
		asm volatile("mov %0, %%db0" : : "r"(v));
		break;
	case 1:
		asm volatile("mov %0, %%db1" : : "r"(v));
		break;
	case 2:
		asm volatile("mov %0, %%db2" : : "r"(v));
		break;
	default:
		asm volatile("mov %0, %%db3" : : "r"(v));
		break;
	}
}

void vcpu_state_load(struct vcpu_lazy_state *s)
{
	if (owner == s)
		return;
	fpu_switch(owner ? owner->fpu : NULL, s->fpu);
	for (int i = 0; i < 4; i++) {
		if (owner)
			owner->dr[i] = read_dr(i);
		write_dr(i, s->dr[i]);
	}
	if (tsc_aux_exists()) {
		u64 live = rdmsr(MSR_TSC_AUX);
		if (owner)
			owner->tsc_aux = live;
		if (live != s->tsc_aux)
			wrmsr(MSR_TSC_AUX, s->tsc_aux);
	}
	owner = s;
}

void vcpu_state_reset(struct vcpu_lazy_state *s)
{
	fpu_state_reset(s->fpu);
	for (int i = 0; i < 4; i++)
		s->dr[i] = 0;
	s->tsc_aux = 0;
	if (owner == s)
		owner = NULL; /* reload the reset copy; the live one is stale */
}

void vcpu_state_forget(struct vcpu_lazy_state *s)
{
	if (owner == s)
		owner = NULL;
}

u64 vcpu_state_tsc_aux(const struct vcpu_lazy_state *s)
{
	if (owner == s && tsc_aux_exists())
		return rdmsr(MSR_TSC_AUX);
	return s->tsc_aux;
}

void vcpu_state_set_tsc_aux(struct vcpu_lazy_state *s, u32 value)
{
	s->tsc_aux = value;
	if (owner == s && tsc_aux_exists())
		wrmsr(MSR_TSC_AUX, value);
}
