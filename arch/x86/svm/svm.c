/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The AMD SVM back end: turns SVM on, keeps one VMCB per vCPU, runs guests
 * with nested paging, and translates #VMEXIT codes into struct vm_exit.
 * AMD APM Vol. 2, chapter 15 ("Secure Virtual Machine") is the reference for
 * every rule cited below.
 *
 * The I/O and MSR permission maps are shared by all paravirtual vCPUs and
 * deny everything: every port and MSR access exits to the generic handlers.
 */
#include "arch/x86/svm/svm_ops.h"
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "arch/x86/svm/vmcb.h"
#include "kernel/errno.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/virt.h"

#define IOPM_PAGES 3  /* 12 KiB: one bit per port, 64K ports (+ spill) */
#define MSRPM_PAGES 2 /* 8 KiB: two bits per MSR in three ranges */

static struct {
	bool nrip_save;	     /* CPUID 8000_000A EDX[3] */
	bool flush_by_asid;  /* CPUID 8000_000A EDX[6] */
	bool decode_assists; /* CPUID 8000_000A EDX[7] */
	u32 asid_count;	     /* CPUID 8000_000A EBX */
	u32 next_asid;
	bool asid_shared; /* more vCPUs than ASIDs: flush at every entry */
	bool ready;	  /* the shared part below is set up */
	/* Per CPU (percpu.h): virt_area, its VM_HSAVE_PA page, and
	 * virt_host_state, the host FS/GS/TR/... VMSAVE keeps for it. */
	hpa_t iopm;
	hpa_t msrpm;
} svm;

static struct vmcb *vmcb_of(struct vcpu *v)
{
	return v->arch;
}

/*
 * Each CPU turns SVM on itself (EFER.SVME and VM_HSAVE_PA are per CPU,
 * §15.4, §15.30.4) with its own host save area and VMSAVE page.  The first
 * call also sets up what all CPUs share: the feature set (the same on all
 * CPUs of a machine, and checked on each), the ASID allocator and the
 * permission maps.  ASIDs are global: every vCPU has its own, whichever CPU
 * it runs on, so no CPU's TLB can hold another guest's entries under it;
 * when they run out, every entry flushes (asid_shared).
 */
static int svm_cpu_enable(void)
{
	struct percpu *c = this_cpu();
	struct cpuid_regs r;
	hpa_t hsave, host_state;
	int err;

	if (!(cpuid(0x80000001, 0).ecx & (1u << 2))) {
		log_line("svm: this CPU has no SVM");
		return -E_NOTSUP;
	}
	/* §15.30.1: VM_CR.SVMDIS set by firmware means SVM is off for good. */
	if (rdmsr(MSR_VM_CR) & (1u << 4)) {
		log_line(
			"svm: disabled by the firmware (VM_CR.SVMDIS); enable it in the setup menu");
		return -E_NOTSUP;
	}
	r = cpuid(0x8000000a, 0);
	if (!(r.edx & 1)) {
		log_line("svm: this CPU has no nested paging (NPT)");
		return -E_NOTSUP;
	}
	if (!svm.ready) {
		svm.nrip_save = r.edx & (1u << 3);
		svm.flush_by_asid = r.edx & (1u << 6);
		svm.decode_assists = r.edx & (1u << 7);
		svm.asid_count = r.ebx;
		svm.next_asid = 1; /* ASID 0 is the host's (§15.16) */
		if ((err = page_alloc(IOPM_PAGES, 1, &svm.iopm)) ||
		    (err = page_alloc(MSRPM_PAGES, 1, &svm.msrpm)))
			return err;
		memset(phys_to_virt(svm.iopm), 0xff, IOPM_PAGES * PAGE_SIZE);
		memset(phys_to_virt(svm.msrpm), 0xff, MSRPM_PAGES * PAGE_SIZE);
	} else if (svm.nrip_save != !!(r.edx & (1u << 3)) || r.ebx < svm.asid_count) {
		log_line("svm: cpu %u has other SVM features than cpu 0", c->index);
		return -E_NOTSUP;
	}
	if ((err = page_alloc(1, 1, &hsave)) || (err = page_alloc(1, 1, &host_state)))
		return err;
	c->virt_area = hsave.v;
	c->virt_host_state = host_state.v;

	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	wrmsr(MSR_VM_HSAVE_PA, hsave.v);
	/* The host's FS, GS (its base: percpu.h), TR, LDTR and syscall MSRs
	 * never change: saved once, reloaded after every run (svm_run). */
	svm_vmsave(host_state.v);
	if (!svm.ready)
		log_line("svm: enabled, %u ASIDs, NRIP-save %s, flush-by-ASID %s", svm.asid_count,
			 svm.nrip_save ? "yes" : "no (next RIP computed by the hypervisor)",
			 svm.flush_by_asid ? "yes" : "no");
	else
		log_line("svm: enabled on cpu %u (APIC ID %u)", c->index, c->apic_id);
	svm.ready = true;
	return 0;
}

/* Segment attributes (§15.5.1 / Appendix B "VMCB layout, state save area"):
 * type:4 S:1 DPL:2 P:1 AVL:1 L:1 DB:1 G:1. */
#define SEG_CODE64 0x029b /* execute/read, accessed, S, P, L */
#define SEG_CODE32 0x0c9b /* execute/read, accessed, S, P, DB, G */
#define SEG_DATA 0x0c93	  /* read/write, accessed, S, P, DB, G */
#define SEG_TSS64 0x008b  /* 64-bit busy TSS, P */
#define SEG_LDT 0x0082	  /* LDT, P */

static void set_seg(struct vmcb_seg *s, u16 sel, u16 attrib, u32 limit, u64 base)
{
	s->selector = sel;
	s->attrib = attrib;
	s->limit = limit;
	s->base = base;
}

static void init_save_area(struct vcpu *v, enum vcpu_mode mode)
{
	struct vmcb_save *s = &vmcb_of(v)->save;

	memset(s, 0, sizeof(*s));
	memset(&v->regs, 0, sizeof(v->regs));
	s->g_pat = 0x0007040600070406ULL; /* the reset value of IA32_PAT */
	s->dr6 = 0xffff0ff0;
	s->dr7 = 0x400;
	set_seg(&s->ldtr, 0, SEG_LDT, 0xffff, 0);
	set_seg(&s->tr, 0, SEG_TSS64, 0x67, 0);
	/* No descriptor tables until the guest loads its own: an exception
	 * before then is a triple fault, reported as one. */
	set_seg(&s->gdtr, 0, 0, 0, 0);
	set_seg(&s->idtr, 0, 0, 0, 0);

	const struct vcpu_boot_segments *b = &v->boot_segments;
	if (b->gdt_limit)
		set_seg(&s->gdtr, 0, 0, b->gdt_limit, b->gdt_base);
	if (mode == VCPU_MODE_LONG) {
		set_seg(&s->cs, b->cs ? b->cs : 0x08, SEG_CODE64, 0xffffffff, 0);
		set_seg(&s->ds, b->ds ? b->ds : 0x10, SEG_DATA, 0xffffffff, 0);
		s->es = s->ss = s->fs = s->gs = s->ds;
		v->regs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
		v->regs.cr4 = CR4_PAE;
		v->regs.efer = EFER_LME | EFER_LMA | EFER_NXE;
	} else if (mode == VCPU_MODE_PROT32) {
		set_seg(&s->cs, b->cs ? b->cs : 0x08, SEG_CODE32, 0xffffffff, 0);
		set_seg(&s->ds, b->ds ? b->ds : 0x10, SEG_DATA, 0xffffffff, 0);
		s->es = s->ss = s->fs = s->gs = s->ds;
		v->regs.cr0 = CR0_PE | CR0_ET | CR0_NE;
		v->regs.efer = 0;
	} else {
		/* The state after RESET (APM Vol. 2 §14.1.3). */
		set_seg(&s->cs, 0xf000, 0x009b, 0xffff, 0xffff0000);
		set_seg(&s->ds, 0, 0x0093, 0xffff, 0);
		s->es = s->ss = s->fs = s->gs = s->ds;
		v->regs.cr0 = CR0_ET | (1ULL << 29) | (1ULL << 30); /* NW, CD */
		v->regs.efer = 0;
		v->regs.rip = 0xfff0;
		v->regs.rdx = 0x600; /* family 6 */
	}
	v->regs.rflags = 0x2;
	v->regs.cpl = 0;
}

/* The MSRs VMRUN, VMLOAD and VMSAVE switch with the VMCB (§15.5.1,
 * §15.5.2): these alone may be passed through to a guest, which then sees
 * only its own values.  Any other MSR exits to the generic policy. */
static const u32 vmcb_switched_msrs[] = {
	0xc0000081, /* STAR */
	0xc0000082, /* LSTAR */
	0xc0000083, /* CSTAR */
	0xc0000084, /* SFMASK */
	0xc0000100, /* FS.base */
	0xc0000101, /* GS.base */
	0xc0000102, /* KernelGSbase */
	0x174,	    /* SYSENTER_CS */
	0x175,	    /* SYSENTER_ESP */
	0x176,	    /* SYSENTER_EIP */
		    /* Not PAT: with nested paging a CPU keeps the guest's PAT in G_PAT
	 * (§15.25.8), but QEMU's TCG has no G_PAT and lets a guest write the
	 * one PAT all partitions share.  It exits to the policy, which keeps
	 * each partition's own (issue 10, hvm-isostate). */
};

static bool vmcb_switches(u32 msr)
{
	for (unsigned i = 0; i < ARRAY_SIZE(vmcb_switched_msrs); i++)
		if (vmcb_switched_msrs[i] == msr)
			return true;
	return false;
}

/* MSRPM layout (§15.11): 2 bits (read, write) per MSR; bytes 0x000-0x7ff
 * cover MSRs 0-0x1fff, 0x800-0xfff cover 0xc0000000-, 0x1000-0x17ff
 * cover 0xc0010000-. */
static void msrpm_allow(u8 *pm, u32 msr)
{
	u32 base;

	if (msr < 0x2000)
		base = 0;
	else if (msr >= 0xc0000000 && msr < 0xc0002000)
		base = 0x800, msr -= 0xc0000000;
	else if (msr >= 0xc0010000 && msr < 0xc0012000)
		base = 0x1000, msr -= 0xc0010000;
	else
		return;
	pm[base + msr / 4] &= (u8) ~(3u << (2 * (msr % 4)));
}

/* A vCPU's own MSR permission map: everything exits but the MSRs of cfg's
 * direct list that the VMCB switches. */
static int vcpu_msrpm(struct vcpu *v, const struct vcpu_config *cfg, u64 *pa_out)
{
	hpa_t pa;
	int err = page_alloc(MSRPM_PAGES, 1, &pa);

	if (err)
		return err;
	u8 *pm = phys_to_virt(pa);
	memset(pm, 0xff, MSRPM_PAGES * PAGE_SIZE);
	v->direct_msrs = 0;
	for (unsigned i = 0; i < cfg->direct_msr_count && i < 32; i++) {
		if (!vmcb_switches(cfg->direct_msrs[i]))
			continue;
		msrpm_allow(pm, cfg->direct_msrs[i]);
		v->direct_msrs |= 1u << i;
	}
	*pa_out = pa.v;
	return 0;
}

static int svm_vcpu_create(struct vcpu *v, const struct vcpu_config *cfg, struct slat *slat)
{
	struct vmcb_control *c;
	enum vcpu_mode mode = cfg->mode;
	int err = page_alloc(1, 1, &v->arch_page);

	if (err)
		return err;
	v->hvm = cfg->hvm;
	v->arch = phys_to_virt(v->arch_page);
	c = &vmcb_of(v)->control;

	/* RDPMC: the counters count for the whole machine, across partitions;
	 * the platform answers for them (kernel/vmexit.c). */
	c->intercept_misc1 = SVM_INTERCEPT_INTR | SVM_INTERCEPT_CPUID | SVM_INTERCEPT_HLT |
			     SVM_INTERCEPT_RDPMC | SVM_INTERCEPT_INVD | SVM_INTERCEPT_INVLPGA |
			     SVM_INTERCEPT_IOIO | SVM_INTERCEPT_MSR | SVM_INTERCEPT_TASK_SWITCH |
			     SVM_INTERCEPT_SHUTDOWN | SVM_INTERCEPT_INIT;
	/* §15.5.1: VMRUN must be intercepted; the other SVM instructions are,
	 * so a guest cannot touch the host's state or GIF. */
	c->intercept_misc2 = SVM_INTERCEPT_VMRUN | SVM_INTERCEPT_VMMCALL | SVM_INTERCEPT_VMLOAD |
			     SVM_INTERCEPT_VMSAVE | SVM_INTERCEPT_STGI | SVM_INTERCEPT_CLGI |
			     SVM_INTERCEPT_SKINIT | SVM_INTERCEPT_XSETBV |
			     /* hidden by the CPU policy: #UD, as on a CPU
			      * without them (issue 10) */
			     SVM_INTERCEPT_MONITOR | SVM_INTERCEPT_MWAIT | SVM_INTERCEPT_MWAIT_COND;
	/* An unmodified guest's CR8 is its local APIC's TPR (kernel/hvm):
	 * MOV CR8 exits (VMEXIT_CR8), and V_TPR stays unused (V_IGN_TPR).
	 * It also keeps QEMU 7.2's TCG from handling a CR8 write itself,
	 * which aborts (tcg_handle_interrupt) with an interrupt pending. */
	c->intercept_cr = cfg->hvm ? SVM_INTERCEPT_CR8_READ | SVM_INTERCEPT_CR8_WRITE : 0;
	c->iopm_base_pa = svm.iopm.v;
	c->msrpm_base_pa = svm.msrpm.v;
	if (cfg->direct_msr_count) {
		u64 msrpm;
		err = vcpu_msrpm(v, cfg, &msrpm);
		if (err) {
			page_free(v->arch_page, 1);
			v->arch = NULL;
			return err;
		}
		c->msrpm_base_pa = msrpm;
	}
	/* ASIDs tag TLB entries per guest (§15.16).  With more vCPUs than
	 * ASIDs (QEMU offers 16), vCPUs share them and every entry flushes
	 * its ASID, so no guest can use another's translations. */
	if (svm.next_asid >= svm.asid_count) {
		if (!svm.asid_shared)
			log_line("svm: more vCPUs than ASIDs (%u): ASIDs shared, TLB flushed at each entry",
				 svm.asid_count - 1);
		svm.asid_shared = true;
		svm.next_asid = 1;
	}
	v->asid = svm.next_asid++;
	c->asid = v->asid;
	/* §15.21.1: with V_INTR_MASKING the guest's IF masks only virtual
	 * interrupts; physical ones follow the host's IF and exit (INTR). */
	c->int_ctl = SVM_V_INTR_MASKING;
	c->np_enable = 1;
	c->n_cr3 = slat->pt.root_phys;
	c->clean = 0; /* nothing is cached across runs (§15.15): never set */
	init_save_area(v, mode);
	v->cr_dirty = true;
	v->tlb_flush = true;
	return 0;
}

static void svm_vcpu_reset(struct vcpu *v, enum vcpu_mode mode)
{
	struct vmcb_control *c = &vmcb_of(v)->control;

	init_save_area(v, mode);
	v->cr_dirty = true;
	c->event_inj = 0;
	c->int_ctl = SVM_V_INTR_MASKING;
	c->int_state = 0;
	c->intercept_misc1 &= ~SVM_INTERCEPT_IRET;
	c->intercept_exceptions &= ~(1u << VECTOR_DB);
	v->nmi_pending = false;
	memset(&v->nmi, 0, sizeof(v->nmi));
	v->tlb_flush = true;
}

static void svm_vcpu_destroy(struct vcpu *v)
{
	if (!v->arch)
		return;
	u64 msrpm = vmcb_of(v)->control.msrpm_base_pa;
	if (msrpm != svm.msrpm.v)
		page_free(hpa(msrpm), MSRPM_PAGES); /* its own (vcpu_msrpm) */
	page_free(v->arch_page, 1);
	v->arch = NULL;
}

/*
 * External interrupts reach the guest as virtual interrupts (§15.21.4):
 * V_IRQ set, the vector in V_INTR_VECTOR.  With V_INTR_MASKING the CPU takes
 * a virtual interrupt through the guest's IDT at an instruction boundary
 * where the guest's RFLAGS.IF is set and no interrupt shadow holds it, as a
 * PC's CPU takes INTR, and clears V_IRQ when it does; #VMEXIT writes V_IRQ
 * back, which tells svm_run whether the guest took it.  The platform chose
 * the vector with its own TPR and ISR, so the guest's V_TPR is ignored
 * (V_IGN_TPR), and no VINTR intercept is set: the guest takes the interrupt
 * without an exit once it enables interrupts.
 *
 * Not EVENTINJ, which delivers the event at VMRUN whatever the guest's IF
 * (§15.20) and so needs an interrupt-window exit first whenever IF is
 * clear.  Above all, QEMU's TCG (7.2, the tests' CPU) mishandles an
 * injected INTR: helper_vmrun delivers it but leaves its vector behind as
 * the CPU's pending exception (cs->exception_index), and the next time its
 * execution loop returns to the top without a #VMEXIT, an exception or an
 * interrupt in between (an icount deadline, an I/O-thread kick), it
 * delivers the vector a second time wherever the guest then is, with
 * interrupts off or not.  Linux's timer interrupt arriving a second time
 * inside its own handler, before the handler's first port access (which
 * would have exited), spins forever on the lock the first one holds, with
 * interrupts off (the KASLR hang of issue 12).  A virtual interrupt goes
 * through QEMU's ordinary interrupt path, which has no such leftover.
 */
static void svm_irq_offer(struct vcpu *v, int vector)
{
	struct vmcb_control *c = &vmcb_of(v)->control;

	c->int_ctl &= ~(SVM_V_IRQ | SVM_V_INTR_PRIO_MASK | SVM_V_INTR_VECTOR_MASK);
	c->int_ctl |= SVM_V_IGN_TPR;
	if (vector >= 0)
		c->int_ctl |= SVM_V_IRQ | SVM_V_INTR_PRIO((unsigned)vector >> 4) |
			      SVM_V_INTR_VECTOR((unsigned)vector);
}

/* Exceptions and NMIs (§15.20): delivered at VMRUN, before the guest's
 * first instruction, whatever its RFLAGS.IF.  An external interrupt is
 * offered instead (svm_irq_offer): complete_events counts on EVENTINJ
 * never holding one. */
static void svm_inject(struct vcpu *v, enum event_kind kind, u8 vector, bool has_error,
		       u32 error_code)
{
	if (kind == EVENT_INTERRUPT) {
		svm_irq_offer(v, vector);
		return;
	}
	u64 type = kind == EVENT_EXCEPTION ? SVM_EVTINJ_TYPE_EXCEPTION : SVM_EVTINJ_TYPE_NMI;
	u64 e = SVM_EVTINJ_VALID | type | vector;

	if (has_error)
		e |= SVM_EVTINJ_ERROR_VALID | ((u64)error_code << 32);
	vmcb_of(v)->control.event_inj = e;
}

#define DR6_BS (1ULL << 14) /* single step (APM Vol. 2 §13.1.1.3) */

/*
 * NMIs, without vNMI (QEMU 7.2 has none): the CPU keeps no account of the
 * guest's NMI blocking, so the back end does, in vcpu.nmi.  An NMI is
 * injected by EVENTINJ type NMI (§15.20); from then the guest blocks NMIs
 * until its handler's IRET completes (SDM Vol. 3A §6.7.1), which the IRET
 * intercept shows.  The intercept comes before the IRET runs (§15.9; RIP is
 * the IRET's), so an NMI latched by then is delivered after it: the IRET is
 * single-stepped (RFLAGS.TF set, #DB intercepted: the trap comes after the
 * IRET whatever flags it pops) and the NMI injected at that exit.  Without
 * a latched NMI the next exit at another RIP ends the blocking.  An
 * interrupt shadow (§15.21.5) blocks NMIs too, and is stepped over alike.
 */
static void svm_nmi_raise(struct vcpu *v)
{
	v->nmi_pending = true;
}

static void nmi_step(struct vcpu *v, struct vmcb *vmcb)
{
	v->nmi.stepping = true;
	v->nmi.guest_tf = vmcb->save.rflags & RFLAGS_TF;
	v->nmi.dr6 = vmcb->save.dr6;
	vmcb->save.rflags |= RFLAGS_TF;
	vmcb->control.intercept_exceptions |= 1u << VECTOR_DB;
}

/* Before a run (after the registers are in the VMCB). */
static void nmi_before_run(struct vcpu *v, struct vmcb *vmcb)
{
	struct vmcb_control *c = &vmcb->control;

	if (!v->nmi_pending)
		return;
	if (v->nmi.blocked) {
		if (v->nmi.iret_seen)
			nmi_step(v, vmcb); /* over the IRET */
		return;			   /* else the IRET intercept is set */
	}
	if (c->event_inj & SVM_EVTINJ_VALID)
		return; /* another event first; the next exit injects */
	if (c->int_state & 1) {
		nmi_step(v, vmcb); /* out of the shadow */
		return;
	}
	c->event_inj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_NMI | VECTOR_NMI;
	c->intercept_misc1 |= SVM_INTERCEPT_IRET;
	v->nmi_pending = false;
	v->nmi.blocked = true;
	v->nmi.iret_seen = false;
}

/* After a run (registers back in vcpu.regs, the exit decoded). */
static void nmi_after_run(struct vcpu *v, struct vmcb *vmcb, struct vm_exit *e)
{
	struct vmcb_control *c = &vmcb->control;
	bool step_trap = false;
	/* a step over the IRET: the flags after it are the ones it popped */
	bool over_iret = v->nmi.blocked && v->nmi.iret_seen;

	if (v->nmi.stepping) {
		v->nmi.stepping = false;
		c->intercept_exceptions &= ~(1u << VECTOR_DB);
		step_trap = e->reason == VMEXIT_EXCEPTION && e->exception.vector == VECTOR_DB;
		if (step_trap && !v->nmi.guest_tf) {
			/* ours alone: the guest sees no trap, and its DR6 as it was */
			vmcb->save.dr6 = v->nmi.dr6;
			if (!over_iret)
				v->regs.rflags &= ~RFLAGS_TF;
			e->reason = VMEXIT_NMI_WINDOW;
		} else if (step_trap) {
			/* the guest's own single step as well: its #DB */
			c->event_inj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_EXCEPTION | VECTOR_DB;
			e->reason = VMEXIT_NMI_WINDOW;
		} else if (!v->nmi.guest_tf) {
			/* the stepped instruction did not complete: TF is ours */
			v->regs.rflags &= ~RFLAGS_TF;
		}
	}
	if (v->nmi.blocked && v->nmi.iret_seen && v->regs.rip != v->nmi.iret_rip) {
		v->nmi.blocked = false; /* the IRET completed */
		v->nmi.iret_seen = false;
	}
	if (e->raw == SVM_EXIT_IRET) {
		/* §15.9: before the IRET; it runs at the next entry */
		c->intercept_misc1 &= ~SVM_INTERCEPT_IRET;
		v->nmi.iret_seen = true;
		v->nmi.iret_rip = v->regs.rip;
		e->reason = VMEXIT_NMI_WINDOW;
	}
}

static void svm_single_step(struct vcpu *v)
{
	struct vmcb *vmcb = vmcb_of(v);

	if (vmcb->control.event_inj & SVM_EVTINJ_VALID)
		return;
	/* The guest's DR6 is the VMCB's (§15.5.1): the trap sets BS in it
	 * as the CPU's own single step would. */
	vmcb->save.dr6 |= DR6_BS;
	vmcb->control.event_inj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_EXCEPTION | VECTOR_DB;
}

/* The VMCB holds every segment after the run (svm_enter's VMSAVE has FS
 * and GS, §15.5.2). */
static u64 svm_segment_base(struct vcpu *v, unsigned seg)
{
	const struct vmcb_save *s = &vmcb_of(v)->save;
	const struct vmcb_seg *all[] = { &s->es, &s->cs, &s->ss, &s->ds, &s->fs, &s->gs };

	return seg < ARRAY_SIZE(all) ? all[seg]->base : 0;
}

/* After a run: whether the guest took the offered interrupt, and which
 * event must be injected again. */
static void complete_events(struct vmcb *vmcb, struct vm_exit *e, bool offered)
{
	struct vmcb_control *c = &vmcb->control;
	u64 info = c->exit_int_info;
	bool cut_short = false;

	c->event_inj = 0;
	/* Most exits: nothing was offered and no delivery was under way.
	 * V_IRQ is clear then (the CPU only clears it, §15.21.4). */
	if (!offered && !(info & SVM_EVTINJ_VALID)) {
		e->irq_taken = false;
		e->irq_vector = 0;
		return;
	}
	/* §15.7.2: an event whose delivery the exit interrupted is in
	 * EXITINTINFO, and the guest's state is as before its delivery.  An
	 * exception or NMI is injected again.  An external interrupt can only
	 * be the offered one (svm_inject offers it too): it was not
	 * taken, is still pending in the platform and is offered again.
	 * QEMU records an interrupted virtual interrupt as an exception with
	 * its vector, 32 or above, which no exception has. */
	if (info & SVM_EVTINJ_VALID) {
		u64 type = info & SVM_EVTINJ_TYPE_MASK;
		if (type == SVM_EVTINJ_TYPE_INTR ||
		    (type == SVM_EVTINJ_TYPE_EXCEPTION && (info & SVM_EVTINJ_VECTOR_MASK) >= 32))
			cut_short = true;
		else
			c->event_inj = info;
	}
	e->irq_taken = offered && !cut_short && !(c->int_ctl & SVM_V_IRQ);
	e->irq_vector = e->irq_taken ? (u8)(c->int_ctl >> 32) : 0;
	/* An offer not taken lapses (virt.h): the platform offers anew. */
	c->int_ctl &= ~SVM_V_IRQ;
}

/* The length of the intercepted instruction: from NRIP-save where the CPU
 * has it (§15.7.1), else the one encoding without prefixes that each of
 * these instructions has (QEMU's TCG has no NRIP-save): CPUID 0f a2, RDMSR
 * 0f 32, WRMSR 0f 30, RDPMC 0f 33, HLT f4, VMMCALL 0f 01 d9, XSETBV 0f 01
 * d1. */
static inline u32 insn_len(const struct vmcb *vmcb, struct vm_exit *e, u32 encoding_len)
{
	if (svm.nrip_save && vmcb->control.next_rip > vmcb->save.rip) {
		e->insn_len_unprefixed = false;
		return (u32)(vmcb->control.next_rip - vmcb->save.rip);
	}
	e->insn_len_unprefixed = true;
	return encoding_len;
}

/* CR4 bits this CPU cannot set: the architectural ones whose feature
 * CPUID lacks, and every bit no CPU defines (APM Vol. 2 §3.1.3). */
static u64 cr4_reserved(void)
{
	struct cpuid_regs l1 = cpuid(1, 0), l7 = { 0 };
	u64 ok = 1u << 8; /* PCE */

	if (cpuid(0, 0).eax >= 7)
		l7 = cpuid(7, 0);
	ok |= l1.edx & (1u << 1) ? 0x3 : 0;	  /* VME, PVI */
	ok |= l1.edx & (1u << 2) ? 1u << 3 : 0;	  /* DE */
	ok |= l1.edx & (1u << 3) ? 1u << 4 : 0;	  /* PSE */
	ok |= l1.edx & (1u << 6) ? 1u << 5 : 0;	  /* PAE */
	ok |= l1.edx & (1u << 7) ? 1u << 6 : 0;	  /* MCE */
	ok |= l1.edx & (1u << 13) ? 1u << 7 : 0;  /* PGE */
	ok |= l1.edx & (1u << 24) ? 1u << 9 : 0;  /* OSFXSR */
	ok |= l1.edx & (1u << 25) ? 1u << 10 : 0; /* OSXMMEXCPT */
	ok |= l7.ecx & (1u << 2) ? 1u << 11 : 0;  /* UMIP */
	ok |= l7.ecx & (1u << 16) ? 1u << 12 : 0; /* LA57 */
	ok |= l7.ebx & (1u << 0) ? 1u << 16 : 0;  /* FSGSBASE */
	ok |= l1.ecx & (1u << 17) ? 1u << 17 : 0; /* PCIDE */
	ok |= l1.ecx & (1u << 26) ? 1u << 18 : 0; /* OSXSAVE */
	ok |= l7.ebx & (1u << 7) ? 1u << 20 : 0;  /* SMEP */
	ok |= l7.ebx & (1u << 20) ? 1u << 21 : 0; /* SMAP */
	ok |= l7.ecx & (1u << 3) ? 1u << 22 : 0;  /* PKE */
	ok |= l7.ecx & (1u << 7) ? 1u << 23 : 0;  /* CET */
	return ~ok;
}

/*
 * VMRUN refused the guest's state (VMEXIT_INVALID): names the consistency
 * checks of APM Vol. 2 §15.5.1 that the guest's own state fails, as the
 * VMX back end does for its entry checks.  The hypervisor's own fields
 * (intercepts, ASID, permission maps) are right by construction.
 */
static __attribute__((noinline, cold)) void report_invalid_state(const struct vmcb *vmcb,
								 const struct guest_regs *in)
{
	/* The control registers as they went in: QEMU's TCG overwrites the
	 * VMCB's with its own on a refused VMRUN. */
	const struct vmcb_save *g = &vmcb->save;
	const struct {
		u64 cr0, cr3, cr4, efer;
	} e = { in->cr0, in->cr3, in->cr4, in->efer | EFER_SVME };
	const u64 cr0_pe = 1, cr0_nw = 1ULL << 29, cr0_cd = 1ULL << 30, cr0_pg = 1ULL << 31;
	const u64 cr4_pae = 1ULL << 5, efer_lme = 1ULL << 8, efer_svme = 1ULL << 12;
	bool long_mode = (e.efer & efer_lme) && (e.cr0 & cr0_pg);
	unsigned problems = 0;

#define CHECK(bad, what)                                   \
	do {                                               \
		if (bad) {                                 \
			log_line("svm:   guest %s", what); \
			problems++;                        \
		}                                          \
	} while (0)
	u32 phys_bits = cpuid(0x80000000, 0).eax >= 0x80000008 ? cpuid(0x80000008, 0).eax & 0xff :
								 36;

	log_line("svm: VMRUN refused the guest's state (VMEXIT_INVALID): CR0 %#llx CR3 %#llx CR4 "
		 "%#llx EFER %#llx",
		 (unsigned long long)e.cr0, (unsigned long long)e.cr3, (unsigned long long)e.cr4,
		 (unsigned long long)e.efer);
	CHECK(!(e.efer & efer_svme), "EFER.SVME is clear");
	CHECK((e.cr0 & cr0_nw) && !(e.cr0 & cr0_cd), "CR0.NW is set with CR0.CD clear");
	CHECK(e.cr0 >> 32, "CR0 bits 63:32 are set");
	CHECK(long_mode ? e.cr3 >> phys_bits : e.cr3 >> 32, "CR3 has bits set above MAXPHYADDR");
	CHECK(e.cr4 & cr4_reserved(), "CR4 has a bit set that this CPU does not support");
	CHECK(g->dr6 >> 32, "DR6 bits 63:32 are set");
	CHECK(g->dr7 >> 32, "DR7 bits 63:32 are set");
	CHECK(long_mode && !(e.cr4 & cr4_pae), "EFER.LME and CR0.PG are set with CR4.PAE clear");
	CHECK(long_mode && !(e.cr0 & cr0_pe), "EFER.LME and CR0.PG are set with CR0.PE clear");
	CHECK(long_mode && (e.cr4 & cr4_pae) && (g->cs.attrib & (1u << 9)) &&
		      (g->cs.attrib & (1u << 10)),
	      "CS.L and CS.D are both set in long mode");
#undef CHECK
	if (!problems)
		log_line("svm:   none of the checks done in software failed (QEMU's TCG also gives "
			 "this exit at a MOV to CR4 that sets a bit the CPU lacks)");
}

static void decode_exit(struct vmcb *vmcb, struct vm_exit *e)
{
	const struct vmcb_control *c = &vmcb->control;
	u64 code = c->exit_code;

	/* Only the fields of this reason are set (the union's other members
	 * are not read): this runs on every exit. */
	e->raw = code;
	e->qualification = c->exit_info1;
	/* The exit paravirtual guests make most, tested before the others. */
	if (code == SVM_EXIT_VMMCALL) {
		e->reason = VMEXIT_HYPERCALL;
		e->insn_len = insn_len(vmcb, e, 3);
		return;
	}
	e->insn_len = 0;
	e->insn_len_unprefixed = false;

	if (code >= SVM_EXIT_EXCP_BASE && code < SVM_EXIT_EXCP_BASE + 32) {
		e->reason = VMEXIT_EXCEPTION;
		e->exception.vector = (u8)(code - SVM_EXIT_EXCP_BASE);
		e->exception.error_code = (u32)c->exit_info1;
		return;
	}
	switch (code) {
	case SVM_EXIT_INTR:
	case SVM_EXIT_NMI:
	case SVM_EXIT_SMI:
	case SVM_EXIT_INIT:
		e->reason = VMEXIT_EXTINT;
		break;
	case SVM_EXIT_VINTR:
		e->reason = VMEXIT_INTR_WINDOW;
		break;
	case SVM_EXIT_IRET:
		e->reason = VMEXIT_NMI_WINDOW; /* nmi_after_run's */
		break;
	case SVM_EXIT_CPUID:
		e->reason = VMEXIT_CPUID;
		e->insn_len = insn_len(vmcb, e, 2);
		break;
	case SVM_EXIT_RDPMC:
		e->reason = VMEXIT_RDPMC;
		e->insn_len = insn_len(vmcb, e, 2);
		break;
	case SVM_EXIT_HLT:
		e->reason = VMEXIT_HLT;
		e->insn_len = insn_len(vmcb, e, 1);
		break;
	case SVM_EXIT_IOIO:
		/* §15.10.2: EXITINFO1 describes the access, EXITINFO2 is the
		 * RIP of the next instruction, with or without NRIP-save. */
		e->reason = VMEXIT_IO;
		e->io.port = (u16)(c->exit_info1 >> 16);
		e->io.size = c->exit_info1 & (1u << 4) ? 1 : c->exit_info1 & (1u << 5) ? 2 : 4;
		e->io.in = c->exit_info1 & 1;
		e->io.string = c->exit_info1 & (1u << 2);
		e->io.rep = c->exit_info1 & (1u << 3);
		e->insn_len = (u32)(c->exit_info2 - vmcb->save.rip);
		break;
	case SVM_EXIT_MSR:
		e->reason = VMEXIT_MSR;
		e->msr.write = c->exit_info1 & 1;
		e->insn_len = insn_len(vmcb, e, 2);
		break;
	case SVM_EXIT_NPF:
		/* §15.25.6: EXITINFO1 is a page-fault error code, EXITINFO2
		 * the guest-physical address. */
		e->reason = VMEXIT_NPF;
		e->npf.gpa = c->exit_info2;
		e->npf.present = c->exit_info1 & 1;
		e->npf.write = c->exit_info1 & 2;
		e->npf.fetch = c->exit_info1 & 16;
		break;
	case SVM_EXIT_SHUTDOWN:
		e->reason = VMEXIT_SHUTDOWN;
		break;
	case SVM_EXIT_READ_CR8:
	case SVM_EXIT_WRITE_CR8:
		/* §15.33.1: with decode assists, EXITINFO1 bit 63 set says
		 * bits 3:0 name the MOV's register; else the kind decodes. */
		e->reason = VMEXIT_CR8;
		e->cr8.write = code == SVM_EXIT_WRITE_CR8;
		e->cr8.gpr = -1;
		if (svm.decode_assists && (c->exit_info1 >> 63)) {
			e->cr8.gpr = (s8)(c->exit_info1 & 0xf);
			e->insn_len = insn_len(vmcb, e, 3); /* 0f 20/22 /r */
		}
		break;
	case SVM_EXIT_VMRUN:
	case SVM_EXIT_VMLOAD:
	case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI:
	case SVM_EXIT_CLGI:
	case SVM_EXIT_SKINIT:
	case SVM_EXIT_INVLPGA:
	case SVM_EXIT_MONITOR:
	case SVM_EXIT_MWAIT:
	case SVM_EXIT_MWAIT_COND:
		e->reason = VMEXIT_VIRT_INSN;
		break;
	case SVM_EXIT_INVALID:
	case (u32)SVM_EXIT_INVALID:	    /* QEMU's TCG stores -1 as a 32-bit value */
		e->reason = VMEXIT_INVALID; /* reported by svm_run */
		break;
	case SVM_EXIT_XSETBV:
		e->reason = VMEXIT_XSETBV;
		e->insn_len = insn_len(vmcb, e, 3);
		break;
	default:
		e->reason = VMEXIT_OTHER;
		break;
	}
}

static void svm_run(struct vcpu *v, struct vm_exit *exit)
{
	struct vmcb *vmcb = vmcb_of(v);
	struct vmcb_control *c = &vmcb->control;
	struct vmcb_save *s = &vmcb->save;
	bool offered = c->int_ctl & SVM_V_IRQ;

	/* An instruction the generic code completed (it moved RIP: HLT after
	 * STI, say) ends the interrupt shadow it ran under (§15.21.5), so an
	 * offered interrupt is taken before the next one, as on a PC. */
	if (v->regs.rip != s->rip)
		c->int_state &= ~1ULL;
	s->rip = v->regs.rip;
	s->rsp = v->regs.rsp;
	s->rax = v->regs.rax;
	s->rflags = v->regs.rflags;
	/* cr_dirty: a caller changed regs.cr* (virt.h); for an unmodified
	 * guest it is set after every run (below), as its handlers change
	 * them without saying so. */
	if (v->cr_dirty) {
		s->cr0 = v->regs.cr0;
		s->cr2 = v->regs.cr2;
		s->cr3 = v->regs.cr3;
		s->cr4 = v->regs.cr4;
		/* §15.5.1: VMRUN refuses a guest EFER without SVME; the guest,
		 * which sees no SVM, never sees the bit (it reads back 0). */
		s->efer = v->regs.efer | EFER_SVME;
		v->cr_dirty = false;
	}
	/* TLB_CONTROL is 0 but for the one run after a flush was asked
	 * (§15.16.2); it is cleared again after that run. */
	if (v->tlb_flush || svm.asid_shared) {
		c->tlb_control = svm.flush_by_asid ? 3 : 1;
		v->tlb_flush = false;
	}
	/* §15.30.1: the guest reads the host TSC plus this offset. */
	c->tsc_offset = (u64)v->tsc_offset;
	if (v->hvm)
		nmi_before_run(v, vmcb);

	/* The host's state is found before the run: until svm_enter loads
	 * it again, GS is the guest's (percpu.h). */
	svm_enter(&v->regs, v->arch_page.v, this_cpu()->virt_host_state);
	c->tlb_control = 0;

	decode_exit(vmcb, exit);
	if (exit->reason == VMEXIT_INVALID) {
		/* The guest's registers stay as they went in, and are the
		 * VMCB's again at the next run (QEMU's TCG overwrote them). */
		report_invalid_state(vmcb, &v->regs);
		v->cr_dirty = true;
	} else {
		v->regs.rip = s->rip;
		v->regs.rsp = s->rsp;
		v->regs.rax = s->rax;
		v->regs.rflags = s->rflags;
		v->regs.cpl = s->cpl;
		if (v->hvm) {
			v->regs.cr0 = s->cr0;
			v->regs.cr2 = s->cr2;
			v->regs.cr3 = s->cr3;
			v->regs.cr4 = s->cr4;
			v->regs.efer = s->efer & ~EFER_SVME;
			v->regs.cs_base = s->cs.base;
			v->regs.cs_bits = (s->cs.attrib & (1u << 9)) && (s->efer & EFER_LMA) ? 64 :
					  (s->cs.attrib & (1u << 10))			     ? 32 :
											       16;
			v->cr_dirty = true; /* copied in again before the next run */
		}
	}
	complete_events(vmcb, exit, offered);
	if (v->hvm && exit->reason != VMEXIT_INVALID)
		nmi_after_run(v, vmcb, exit);
}

/* NPT entries are ordinary long-mode page-table entries (pagetable.h). */
static u64 npt_leaf_flags(unsigned rights)
{
	return pt_x86_slat_leaf_flags(rights & SLAT_W, rights & SLAT_X, rights & SLAT_UC);
}

const struct virt_ops svm_ops = {
	.name = "SVM",
	.cpu_enable = svm_cpu_enable,
	.vcpu_create = svm_vcpu_create,
	.vcpu_destroy = svm_vcpu_destroy,
	.vcpu_reset = svm_vcpu_reset,
	.run = svm_run,
	.inject = svm_inject,
	.irq_offer = svm_irq_offer,
	.nmi_raise = svm_nmi_raise,
	.single_step = svm_single_step,
	.segment_base = svm_segment_base,
	.slat_format = &pt_format_x86,
	.slat_leaf_flags = npt_leaf_flags,
};
