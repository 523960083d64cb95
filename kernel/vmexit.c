/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The one exit path, for both kinds of partition and both back ends: it runs
 * a vCPU until an exit that needs the scheduler, and answers every exit,
 * generically where the kinds agree (CPUID from the one policy, RDPMC, the
 * faults that stop a partition, exits that only end a run) and through the
 * kind's hooks where they differ (kernel/kind.h: ports, MSRs, nested page
 * faults, HLT, hypercalls, interrupts).
 *
 * What the hypervisor prints while it handles an exit is about the
 * partition: it goes to the partition's console queue, at its cost, and a
 * handler that runs into the end of the partition's window is measured, so
 * the scheduler ends that partition's later runs early enough (sched.c).
 */
#include "kernel/vmexit.h"
#include "arch/x86/clock.h"
#include "arch/x86/cpu.h"
#include "arch/x86/fpu.h"
#include "kernel/cpu_policy.h"
#include "kernel/kind.h"
#include "kernel/log.h"
#include "kernel/partition.h"

/* The statistics' kind of each exit (PARTITA_EXIT_*), as a table: it is
 * counted on every exit. */
static const u8 exit_kinds[VMEXIT_REASON_COUNT] = {
	[VMEXIT_HYPERCALL] = PARTITA_EXIT_HYPERCALL,
	[VMEXIT_CPUID] = PARTITA_EXIT_CPUID,
	[VMEXIT_IO] = PARTITA_EXIT_IO,
	[VMEXIT_MSR] = PARTITA_EXIT_MSR,
	[VMEXIT_NPF] = PARTITA_EXIT_MMIO,
	[VMEXIT_HLT] = PARTITA_EXIT_HLT,
	[VMEXIT_EXTINT] = PARTITA_EXIT_INTR,
	[VMEXIT_TIMER] = PARTITA_EXIT_INTR,
	[VMEXIT_INTR_WINDOW] = PARTITA_EXIT_INTR,
	[VMEXIT_NMI_WINDOW] = PARTITA_EXIT_INTR,
	[VMEXIT_NONE] = PARTITA_EXIT_OTHER,
	[VMEXIT_SHUTDOWN] = PARTITA_EXIT_OTHER,
	[VMEXIT_VIRT_INSN] = PARTITA_EXIT_OTHER,
	[VMEXIT_EXCEPTION] = PARTITA_EXIT_OTHER,
	[VMEXIT_INVALID] = PARTITA_EXIT_OTHER,
	[VMEXIT_XSETBV] = PARTITA_EXIT_OTHER,
	[VMEXIT_RDPMC] = PARTITA_EXIT_OTHER,
	[VMEXIT_CR8] = PARTITA_EXIT_OTHER,
	[VMEXIT_OTHER] = PARTITA_EXIT_OTHER,
};

/* Back ends set only the reasons of enum vm_exit_reason, and the table has
 * a row for each: no bounds check on this path.  Its last row is
 * VMEXIT_OTHER's, so a reason added after that one would have none. */
_Static_assert(VMEXIT_OTHER + 1 == VMEXIT_REASON_COUNT, "VMEXIT_OTHER is the last reason");

/* Measures XSAVE sizes for an XCR0 (CPUID leaf 0xD's EBX values depend on
 * the XCR0 in force): briefly loads it, then the host's again. */
static void xsave_sizes(u64 xcr0, u32 *size0, u32 *size1)
{
	*size0 = *size1 = 0;
	if (!fpu_has_xsave || !fpu_xcr0_valid(xcr0))
		return;
	fpu_write_xcr0(xcr0);
	*size0 = cpuid(0xd, 0).ebx;
	*size1 = cpuid(0xd, 1).ebx;
	fpu_write_xcr0(fpu_host_xcr0());
}

void vmexit_cpuid(const struct partition *p, u32 leaf, u32 subleaf, u32 out[4])
{
	const struct guest_regs *r = &p->vcpu.regs;
	struct cpu_view v = {
		.hvm = p->kind == &hvm_kind,
		.apic_enabled = true,
		.osxsave = r->cr4 & (1ULL << 18),
		.xcr0 = p->vcpu.lazy.fpu ? p->vcpu.lazy.fpu->xcr0 : 1,
		.apic_id = 0,
		.vcpu_count = 1,
		.abi_features = PARTITA_FEATURE_CHANNELS |
				(p->cfg->caps & CAP_CONTROL ? PARTITA_FEATURE_CONTROL : 0),
		.tsc_hz = clock_tsc_hz(),
		.xsave_sizes = xsave_sizes,
	};

	if (p->kind->exits->cpu_view)
		p->kind->exits->cpu_view(p, &v);
	cpu_policy_cpuid(&v, leaf, subleaf, out);
}

static void handle_cpuid(struct partition *p, const struct vm_exit *e)
{
	struct guest_regs *r = &p->vcpu.regs;
	u32 out[4];

	vmexit_cpuid(p, (u32)r->rax, (u32)r->rcx, out);
	r->rax = out[0];
	r->rbx = out[1];
	r->rcx = out[2];
	r->rdx = out[3];
	r->rip += e->insn_len;
}

/*
 * RDPMC.  Performance counters count for the whole machine, so a guest
 * reading them would see the others' activity: the platform shows counters
 * that never count.  AMD's four legacy counters (PerfCtr0-3, which no CPUID
 * bit announces: AMD APM Vol. 2 §13.2) read 0; any other index, and every
 * index on Intel, where CPUID leaf 0xA offers no counters, raises #GP, as
 * RDPMC does for a counter that does not exist (SDM Vol. 2B "RDPMC").
 */
static void handle_rdpmc(struct partition *p, const struct vm_exit *e)
{
	struct guest_regs *r = &p->vcpu.regs;

	if (cpu_policy_vendor() != CPU_VENDOR_AMD || (u32)r->rcx > 3) {
		virt->inject(&p->vcpu, EVENT_EXCEPTION, VECTOR_GP, true, 0);
		return;
	}
	r->rax = 0;
	r->rdx = 0;
	r->rip += e->insn_len;
}

/* The dispatcher, inlined into the run loop (it runs on every exit) and
 * behind vmexit_handle(). */
static inline __attribute__((always_inline)) void
handle_exit(struct partition *p, const struct kind_exits *k, struct vm_exit *e)
{
	struct guest_regs *r = &p->vcpu.regs;

	p->stats.exits[exit_kinds[e->reason]]++;
	/* The hook first: a paravirtual kind has none, and without NRIP-save
	 * every length is unprefixed. */
	if (k->insn_prefixes && e->insn_len_unprefixed)
		e->insn_len += k->insn_prefixes(p);
	if (e->irq_taken && k->irq_taken)
		k->irq_taken(p, e->irq_vector);
	/* The most frequent exit of paravirtual guests, before the switch's
	 * table jump. */
	if (e->reason == VMEXIT_HYPERCALL) {
		k->hypercall(p, e);
		return;
	}
	switch (e->reason) {
	case VMEXIT_EXTINT:
	case VMEXIT_TIMER:
	case VMEXIT_INTR_WINDOW: /* the kind's next offer delivers */
	case VMEXIT_NMI_WINDOW:	 /* the back end's, done */
		break;
	case VMEXIT_CPUID:
		handle_cpuid(p, e);
		break;
	case VMEXIT_RDPMC:
		handle_rdpmc(p, e);
		break;
	case VMEXIT_HLT:
		k->hlt(p, e);
		break;
	case VMEXIT_IO:
		k->io(p, e);
		break;
	case VMEXIT_MSR:
		k->msr(p, e);
		break;
	case VMEXIT_NPF:
		k->npf(p, e);
		break;
	case VMEXIT_XSETBV:
		k->xsetbv(p, e);
		break;
	case VMEXIT_CR8:
		if (!k->cr8)
			goto unexpected;
		k->cr8(p, e);
		break;
	case VMEXIT_VIRT_INSN:
		/* The guest sees no SVM/VMX: the instruction is undefined. */
		log_guest(LOG_KIND_UD,
			  "partition %s: virtualization instruction at %#llx (exit %#llx): #UD injected",
			  p->cfg->name, (unsigned long long)r->rip, (unsigned long long)e->raw);
		virt->inject(&p->vcpu, EVENT_EXCEPTION, VECTOR_UD, false, 0);
		break;
	case VMEXIT_SHUTDOWN:
		partition_fault(p, "triple fault at rip %#llx", (unsigned long long)r->rip);
		break;
	case VMEXIT_EXCEPTION:
		partition_fault(p, "exception %u (error %#x) at rip %#llx", e->exception.vector,
				e->exception.error_code, (unsigned long long)r->rip);
		break;
	case VMEXIT_INVALID:
		partition_fault(p, "invalid guest state (exit %#llx, %#llx) at rip %#llx",
				(unsigned long long)e->raw, (unsigned long long)e->qualification,
				(unsigned long long)r->rip);
		break;
	default:
unexpected:
		partition_fault(p, "unexpected exit %#llx (%#llx) at rip %#llx",
				(unsigned long long)e->raw, (unsigned long long)e->qualification,
				(unsigned long long)r->rip);
		break;
	}
}

void vmexit_handle(struct partition *p, struct vm_exit *e)
{
	handle_exit(p, p->kind->exits, e);
}

/* Where XSETBV does not exit (QEMU's SVM emulation has no intercept for
 * it), the guest changed XCR0 behind the hypervisor's back: a valid value is
 * the guest's own (hvm), anything else stops it. */
static void xcr0_changed(struct partition *p)
{
	u64 x = fpu_read_xcr0();

	if (p->kind->exits->xcr0_own && fpu_xcr0_valid(x)) {
		p->vcpu.lazy.fpu->xcr0 = x;
		return;
	}
	fpu_load_xcr0(p->vcpu.lazy.fpu->xcr0);
	partition_fault(p, "XCR0 set to %#llx by XSETBV without an exit (%s)",
			(unsigned long long)x,
			p->kind->exits->xcr0_own ? "a value XSETBV must refuse" : "not allowed");
}

/* The interrupt that ended a run (or a timer that fell due while the
 * handler ran) is taken here, with the host's own handlers. */
static void take_interrupts(void)
{
	irq_enable();
	asm volatile("nop");
	irq_disable();
}

enum run_end vmexit_run(struct partition *p, u64 until_tsc, u64 window_end_tsc, u64 sink_ready_tsc)
{
	/* A partition's kind is fixed for its life. */
	const struct kind_exits *k = p->kind->exits;
	const bool back_to_scheduler = k->back_to_scheduler;
	const u64 host_xcr0 = fpu_host_xcr0();
	struct vm_exit exit;
	enum run_end end;

	p->run_until_tsc = until_tsc;
	/* What the hypervisor prints from here on is about p: it goes to p's
	 * console, before p's window ends. */
	log_set_context(&p->console, window_end_tsc);
	/* Each run's start is the end of the last exit's handling: the few
	 * checks between count as the guest's time. */
	u64 t0 = rdtsc();
	for (;;) {
		u64 guest_xcr0 = p->vcpu.lazy.fpu->xcr0;
		if (guest_xcr0 != host_xcr0)
			fpu_load_xcr0(guest_xcr0);
		virt->run(&p->vcpu, &exit);
		u64 t1 = rdtsc();
		p->cpu_tsc += t1 - t0;
		if (fpu_has_xsave) {
			u64 now_xcr0 = fpu_read_xcr0();
			if (now_xcr0 != guest_xcr0) {
				xcr0_changed(p);
				if (!partition_is_live(p)) {
					take_interrupts();
					end = RUN_STATE;
					break;
				}
			}
			if (now_xcr0 != host_xcr0)
				fpu_load_xcr0(host_xcr0);
		}
		u64 rip = p->vcpu.regs.rip;
		bool tf = p->vcpu.regs.rflags & RFLAGS_TF;
		handle_exit(p, k, &exit);
		/* An instruction completed by the handler traps as it would
		 * have on the CPU (HLT is over only when the guest wakes). */
		if (tf && p->vcpu.regs.rip != rip && exit.reason != VMEXIT_HLT &&
		    partition_is_live(p))
			virt->single_step(&p->vcpu);
		u64 t2 = rdtsc();
		if (t2 - t1 > p->exit_max_tsc)
			p->exit_max_tsc = t2 - t1;
		if (exit.reason == VMEXIT_EXTINT || t2 >= until_tsc) {
			take_interrupts();
			end = RUN_TIME;
			break;
		}
		if (p->state != PARTITION_RUNNABLE || p->yielded) {
			end = RUN_STATE;
			break;
		}
		if (back_to_scheduler) {
			end = RUN_EXIT;
			break;
		}
		/* Its console has lines to send and the UART may have room:
		 * the scheduler sends them (outside the handler's time, which
		 * would grow its guard) before it re-enters.  Mostly there are
		 * none, which is tested first. */
		if (console_pending(&p->console) && t2 >= sink_ready_tsc) {
			end = RUN_CONSOLE;
			break;
		}
		t0 = t2;
	}
	log_set_context(NULL, 0);
	return end;
}
