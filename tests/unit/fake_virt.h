/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A fake virtualization back end for host tests of the core (virt_ops of
 * kernel/virt.h): each vCPU replays a script of exits the test queued, in
 * order; each exit comes after the guest "ran" for its run_ns, unless the
 * scheduler's timer fires first (then the run ends with VMEXIT_EXTINT and
 * the rest of that time is left for the next run).  A vCPU with nothing
 * queued spins until the timer fires.  It records what the core asked of
 * it: resets, injected events, interrupt windows.
 */
#ifndef PARTITA_TESTS_FAKE_VIRT_H
#define PARTITA_TESTS_FAKE_VIRT_H

#include "kernel/partition.h"
#include "kernel/virt.h"

/* Registers a scripted exit sets before it exits (fake_exit.set). */
#define FAKE_RAX (1u << 0)
#define FAKE_RCX (1u << 1)
#define FAKE_RDX (1u << 2)
#define FAKE_RDI (1u << 3)
#define FAKE_RSI (1u << 4)
#define FAKE_R10 (1u << 5)
#define FAKE_RFLAGS (1u << 6)
#define FAKE_CPL (1u << 7)

struct fake_exit {
	struct vm_exit e;
	u64 run_ns;   /* guest time before the exit */
	unsigned set; /* FAKE_*: which of the values below the guest set */
	u64 rax, rcx, rdx, rdi, rsi, r10, rflags;
	u8 cpl;
	/** Runs "in the guest" just before the exit (may be NULL). */
	void (*fn)(struct partition *p, void *ctx);
	void *ctx;
};

#define FAKE_SCRIPT_MAX 64

struct fake_vcpu {
	struct fake_exit script[FAKE_SCRIPT_MAX];
	unsigned head, tail;
	unsigned runs, resets;
	enum vcpu_mode mode;
	struct vcpu_config cfg;
	hpa_t page; /* its "control structure": a page of the allocator */
	/* The last event injected, and how many so far. */
	enum event_kind inject_kind;
	u8 inject_vector;
	bool inject_has_error;
	unsigned injects;
	unsigned single_steps; /* single-step traps queued */
	/* The last irq_offer (-1: withdrawn), and how many so far. */
	int offered;
	unsigned offers;
	unsigned nmis; /* nmi_raise calls */
};

/** Every run of a vCPU, in order: when it began (ns) and whose it was. */
struct fake_run_record {
	u64 start_ns, end_ns;
	u32 partition;
	enum vm_exit_reason reason;
};
#define FAKE_RUNS_MAX 8192
extern struct fake_run_record fake_runs[FAKE_RUNS_MAX];
extern unsigned fake_run_count;

/** The fake back end, under the name virt.c links (svm_ops). */
extern const struct virt_ops svm_ops;
/** Makes it the back end in use (virt). */
void fake_virt_install(void);
/** The next vcpu_create fails with -E_NOMEM. */
extern bool fake_vcpu_create_fails;

struct fake_vcpu *fake_vcpu(struct partition *p);
/** Exits not replayed yet. */
unsigned fake_pending(struct partition *p);

void fake_push(struct partition *p, const struct fake_exit *x);
void fake_push_reason(struct partition *p, enum vm_exit_reason r, u64 run_ns);
void fake_push_hypercall(struct partition *p, u64 nr, u64 a0, u64 a1, u64 a2, u64 a3);
void fake_push_cpuid(struct partition *p, u32 leaf, u32 subleaf);
void fake_push_io(struct partition *p, u16 port, u8 size, bool in, u64 rax);
void fake_push_msr(struct partition *p, u32 index, bool write, u64 value);
void fake_push_npf(struct partition *p, u64 gpa, bool write, bool fetch);
void fake_push_hlt(struct partition *p, bool interrupts_on);

#endif
