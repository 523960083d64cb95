/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Per-CPU data: the one home of everything that exists once per physical
 * CPU.  Each CPU's struct percpu lives in the array percpu[], indexed by the
 * CPU's number (0 is the boot CPU, 1.. the others in MADT order), and the
 * CPU finds its own through the GS base, which points at its entry: the
 * first field is the entry's own address, so this_cpu() is one load from
 * %gs:0.  The GS base is set right after the CPU's GDT is loaded (a null
 * selector load may clear it on some CPUs) and never changes: the SVM back
 * end restores it with VMLOAD after every run, the VMX back end through the
 * VMCS's HOST_GS_BASE, both captured on the CPU itself.
 *
 * Ownership: a CPU's entry is written only by that CPU, except what is
 * marked "any CPU" below (atomics only) and the start-up fields the boot
 * CPU fills before it sends the start-up IPI (smp.c).  Other files keep
 * their own per-CPU arrays indexed by this_cpu()->index where the state is
 * theirs (sched.c's schedules, gdt.c's tables).
 */
#ifndef PARTITA_ARCH_X86_PERCPU_H
#define PARTITA_ARCH_X86_PERCPU_H

#include "kernel/lib/types.h"

/** The most CPUs the core starts; further MADT entries are reported and
 *  left alone. */
#define MAX_CPUS 16

struct vcpu_lazy_state;
struct console;

enum cpu_status {
	CPU_ABSENT = 0, /* no such MADT entry */
	CPU_STARTING,	/* INIT-SIPI-SIPI sent, not yet answered */
	CPU_UP,		/* runs the core's code */
	CPU_FAILED,	/* did not answer the start-up IPIs */
};

struct percpu {
	struct percpu *self; /* offset 0: this_cpu() reads %gs:0 */
	unsigned index;	     /* the CPU's number, `cpu = N` in the config */
	u32 apic_id;
	volatile u32 status; /* enum cpu_status: the boot CPU and the CPU itself */
	bool virt_ok;	     /* SVM/VMX is on on this CPU */
	u64 stack_top;	     /* its kernel stack (the boot stack on CPU 0) */

	/* arch/x86/vcpu_state.c: whose lazily switched state the CPU holds. */
	struct vcpu_lazy_state *lazy_owner;
	/* arch/x86/lapic.c: the timer's LVT is in TSC-deadline mode. */
	bool deadline_armed;
	u64 lapic_timer_hz; /* measured on this CPU (equal on all, checked) */

	/* kernel/log.c: the partition whose exit this CPU handles. */
	struct console *log_context;
	u64 log_context_deadline;

	/* The back end's per-CPU state (svm.c: host save area and the host
	 * state VMSAVE keeps; vmx.c: VMXON region, current VMCS, whose
	 * syscall MSRs are loaded). */
	u64 virt_area;	     /* VM_HSAVE_PA page / VMXON region */
	u64 virt_host_state; /* svm: VMSAVE area of the host */
	u64 vmcs_current;    /* vmx: physical address of the current VMCS */
	void *vmx_msr_owner; /* vmx: struct vcpu whose lazy MSRs are loaded */

	/* Any CPU: a wake-up request (kernel/sched.c), set before the IPI. */
	volatile u32 kick;
	u64 ipis_received;
	/* This CPU: it halts for good with interrupts off (no windows), so an
	 * end of the run need not wait for it (smp_stop_others). */
	volatile bool quiet;
	/* Any CPU: one function call for this CPU to run (smp_call), guarded
	 * by call_lock; call_done is set by this CPU when it ran. */
	volatile u32 call_lock;
	void (*volatile call_fn)(void *arg);
	void *volatile call_arg;
	volatile u32 call_done;
};

extern struct percpu percpu[MAX_CPUS];

#ifdef PARTITA_FAKE_ARCH
/* Host tests (tests/unit/fake_arch.c): the CPU the test steps now. */
extern unsigned fake_cpu;
static inline struct percpu *this_cpu(void)
{
	return &percpu[fake_cpu];
}
#else
/** The calling CPU's entry.  Valid once percpu_init_cpu() ran on it. */
static inline struct percpu *this_cpu(void)
{
	struct percpu *c;

	asm volatile("movq %%gs:0, %0" : "=r"(c));
	return c;
}
#endif

/** The calling CPU's number. */
static inline unsigned cpu_index(void)
{
	return this_cpu()->index;
}

/** Points the GS base of the calling CPU at percpu[index] (after its GDT
 *  is loaded).  Cannot fail. */
void percpu_init_cpu(unsigned index);

#endif
