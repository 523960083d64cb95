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
	bool nrip_save;     /* CPUID 8000_000A EDX[3] */
	bool flush_by_asid; /* CPUID 8000_000A EDX[6] */
	u32 asid_count;     /* CPUID 8000_000A EBX */
	u32 next_asid;
	bool asid_shared;   /* more vCPUs than ASIDs: flush at every entry */
	bool ready;         /* the shared part below is set up */
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
		log_line("svm: disabled by the firmware (VM_CR.SVMDIS); enable it in the setup menu");
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
#define SEG_DATA 0x0c93   /* read/write, accessed, S, P, DB, G */
#define SEG_TSS64 0x008b  /* 64-bit busy TSS, P */
#define SEG_LDT 0x0082    /* LDT, P */

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
	0x174,      /* SYSENTER_CS */
	0x175,      /* SYSENTER_ESP */
	0x176,      /* SYSENTER_EIP */
	0x277,      /* PAT: G_PAT with nested paging */
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
	pm[base + msr / 4] &= (u8)~(3u << (2 * (msr % 4)));
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
			     SVM_INTERCEPT_RDPMC |
			     SVM_INTERCEPT_INVD | SVM_INTERCEPT_INVLPGA | SVM_INTERCEPT_IOIO |
			     SVM_INTERCEPT_MSR | SVM_INTERCEPT_TASK_SWITCH |
			     SVM_INTERCEPT_SHUTDOWN | SVM_INTERCEPT_INIT;
	/* §15.5.1: VMRUN must be intercepted; the other SVM instructions are,
	 * so a guest cannot touch the host's state or GIF. */
	c->intercept_misc2 = SVM_INTERCEPT_VMRUN | SVM_INTERCEPT_VMMCALL |
			     SVM_INTERCEPT_VMLOAD | SVM_INTERCEPT_VMSAVE | SVM_INTERCEPT_STGI |
			     SVM_INTERCEPT_CLGI | SVM_INTERCEPT_SKINIT | SVM_INTERCEPT_XSETBV;
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
	c->intercept_misc1 &= ~SVM_INTERCEPT_VINTR;
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

static void svm_inject(struct vcpu *v, enum event_kind kind, u8 vector, bool has_error,
		       u32 error_code)
{
	u64 type = kind == EVENT_EXCEPTION ? SVM_EVTINJ_TYPE_EXCEPTION
		   : kind == EVENT_NMI	   ? SVM_EVTINJ_TYPE_NMI
					   : SVM_EVTINJ_TYPE_INTR;
	u64 e = SVM_EVTINJ_VALID | type | vector;

	if (has_error)
		e |= SVM_EVTINJ_ERROR_VALID | ((u64)error_code << 32);
	vmcb_of(v)->control.event_inj = e;
}

static bool svm_interruptible(struct vcpu *v)
{
	const struct vmcb_control *c = &vmcb_of(v)->control;

	return (v->regs.rflags & RFLAGS_IF) && !(c->int_state & 1) &&
	       !(c->event_inj & SVM_EVTINJ_VALID);
}

/* §15.21.4: a virtual interrupt (V_IRQ) with the VINTR intercept set exits
 * as soon as the guest could take it; its vector is never delivered. */
static void svm_irq_window(struct vcpu *v, bool enable)
{
	struct vmcb_control *c = &vmcb_of(v)->control;

	if (enable) {
		c->int_ctl |= SVM_V_IRQ | SVM_V_IGN_TPR | (0xfULL << 16);
		c->intercept_misc1 |= SVM_INTERCEPT_VINTR;
	} else {
		c->int_ctl &= ~(SVM_V_IRQ | SVM_V_IGN_TPR | (0xfULL << 16));
		c->intercept_misc1 &= ~SVM_INTERCEPT_VINTR;
	}
}

/* Instruction lengths for exits without NRIP-save (QEMU's TCG has none):
 * the intercepted instructions have one encoding each without prefixes. */
static u32 fixed_insn_len(u64 code)
{
	switch (code) {
	case SVM_EXIT_CPUID: /* 0f a2 */
	case SVM_EXIT_MSR:   /* 0f 32 / 0f 30 */
	case SVM_EXIT_RDPMC: /* 0f 33 */
		return 2;
	case SVM_EXIT_HLT: /* f4 */
		return 1;
	case SVM_EXIT_VMMCALL: /* 0f 01 d9 */
	case SVM_EXIT_XSETBV:  /* 0f 01 d1 */
		return 3;
	default:
		return 0;
	}
}

static void decode_exit(struct vmcb *vmcb, struct vm_exit *e)
{
	const struct vmcb_control *c = &vmcb->control;
	u64 code = c->exit_code;

	/* Only the fields of this reason are set (the union's other members
	 * are not read): this runs on every exit. */
	e->raw = code;
	e->qualification = c->exit_info1;
	if (svm.nrip_save && c->next_rip > vmcb->save.rip)
		e->insn_len = (u32)(c->next_rip - vmcb->save.rip);
	else
		e->insn_len = fixed_insn_len(code);

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
	case SVM_EXIT_CPUID:
		e->reason = VMEXIT_CPUID;
		break;
	case SVM_EXIT_RDPMC:
		e->reason = VMEXIT_RDPMC;
		break;
	case SVM_EXIT_HLT:
		e->reason = VMEXIT_HLT;
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
	case SVM_EXIT_VMMCALL:
		e->reason = VMEXIT_HYPERCALL;
		break;
	case SVM_EXIT_VMRUN:
	case SVM_EXIT_VMLOAD:
	case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI:
	case SVM_EXIT_CLGI:
	case SVM_EXIT_SKINIT:
	case SVM_EXIT_INVLPGA:
		e->reason = VMEXIT_VIRT_INSN;
		break;
	case SVM_EXIT_INVALID:
		e->reason = VMEXIT_INVALID;
		break;
	case SVM_EXIT_XSETBV:
		e->reason = VMEXIT_XSETBV;
		break;
	default:
		e->reason = VMEXIT_OTHER;
		break;
	}
}

static void svm_run(struct vcpu *v, struct vm_exit *exit)
{
	struct vmcb *vmcb = vmcb_of(v);
	struct vmcb_save *s = &vmcb->save;

	s->rip = v->regs.rip;
	s->rsp = v->regs.rsp;
	s->rax = v->regs.rax;
	s->rflags = v->regs.rflags;
	if (v->hvm || v->cr_dirty) {
		s->cr0 = v->regs.cr0;
		s->cr2 = v->regs.cr2;
		s->cr3 = v->regs.cr3;
		s->cr4 = v->regs.cr4;
		/* §15.5.1: VMRUN refuses a guest EFER without SVME; the guest,
		 * which sees no SVM, never sees the bit (it reads back 0). */
		s->efer = v->regs.efer | EFER_SVME;
		v->cr_dirty = false;
	}
	if (svm.asid_shared)
		v->tlb_flush = true;
	vmcb->control.tlb_control = v->tlb_flush ? (svm.flush_by_asid ? 3 : 1) : 0;
	v->tlb_flush = false;
	vmcb->control.clean = 0; /* nothing is cached across runs */
	/* §15.30.1: the guest reads the host TSC plus this offset. */
	vmcb->control.tsc_offset = (u64)v->tsc_offset;

	/* GIF=0 holds host interrupts off from here to STGI, while the saved
	 * host IF=1 lets them end the guest's run (§15.17, §15.21.1). */
	/* Read before the run: until VMLOAD, GS is the guest's (percpu.h). */
	u64 host_state = this_cpu()->virt_host_state;
	svm_clgi();
	irq_enable();
	svm_enter(&v->regs, v->arch_page.v);
	irq_disable();
	svm_vmload(host_state);
	svm_stgi();

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
		v->regs.cs_bits = (s->cs.attrib & (1u << 9)) && (s->efer & EFER_LMA) ? 64
				  : (s->cs.attrib & (1u << 10)) ? 32 : 16;
	}
	decode_exit(vmcb, exit);

	/* §15.7.2: an event whose delivery the exit interrupted is in
	 * EXITINTINFO and must be injected again. */
	vmcb->control.event_inj = 0;
	if (vmcb->control.exit_int_info & SVM_EVTINJ_VALID)
		vmcb->control.event_inj = vmcb->control.exit_int_info;
}

/* NPT entries are ordinary long-mode page-table entries, walked as user
 * accesses (§15.25.5), so every level needs U. */
static u64 npt_leaf_flags(unsigned rights)
{
	u64 f = PTE_P | PTE_U;

	if (rights & SLAT_W)
		f |= PTE_W;
	if (!(rights & SLAT_X))
		f |= PTE_NX;
	/* PAT entry 3 (PCD+PWT) is UC at reset; the nested and guest types
	 * combine, and UC wins (§15.25.8). */
	if (rights & SLAT_UC)
		f |= PTE_PCD | PTE_PWT;
	return f;
}

const struct virt_ops svm_ops = {
	.name = "SVM",
	.cpu_enable = svm_cpu_enable,
	.vcpu_create = svm_vcpu_create,
	.vcpu_destroy = svm_vcpu_destroy,
	.vcpu_reset = svm_vcpu_reset,
	.run = svm_run,
	.inject = svm_inject,
	.interruptible = svm_interruptible,
	.irq_window = svm_irq_window,
	.slat_format = &pt_format_x86,
	.slat_leaf_flags = npt_leaf_flags,
};
