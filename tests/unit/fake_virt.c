/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The fake virtualization back end of the host tests (see fake_virt.h).
 */
#include "tests/unit/fake_virt.h"

#include <stdlib.h>
#include <string.h>

#include "arch/x86/clock.h"
#include "arch/x86/cpu.h"
#include "arch/x86/pagetable.h"
#include "kernel/errno.h"
#include "kernel/mm.h"
#include "tests/unit/fake_arch.h"

#define INSN_LEN 3 /* vmmcall, cpuid+1 ...: any length the core adds to RIP */

bool fake_vcpu_create_fails;

static int fake_cpu_enable(void)
{
	return 0;
}

static int fake_vcpu_create(struct vcpu *v, const struct vcpu_config *cfg, struct slat *slat)
{
	struct fake_vcpu *f;
	int err;

	(void)slat;
	if (fake_vcpu_create_fails) {
		fake_vcpu_create_fails = false;
		return -E_NOMEM;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return -E_NOMEM;
	if ((err = page_alloc(1, 1, &f->page))) {
		free(f);
		return err;
	}
	f->cfg = *cfg;
	f->mode = cfg->mode;
	v->arch = f;
	v->arch_page = f->page;
	v->hvm = cfg->hvm;
	v->asid = 1;
	v->direct_msrs = cfg->direct_msr_count >= 32 ? ~0u : (1u << cfg->direct_msr_count) - 1;
	return 0;
}

static void fake_vcpu_destroy(struct vcpu *v)
{
	struct fake_vcpu *f = v->arch;

	if (!f)
		return;
	page_free(f->page, 1);
	free(f);
	v->arch = NULL;
}

static void fake_vcpu_reset(struct vcpu *v, enum vcpu_mode mode)
{
	struct fake_vcpu *f = v->arch;
	struct guest_regs *r = &v->regs;

	f->resets++;
	f->mode = mode;
	memset(r, 0, sizeof(*r));
	r->rflags = RFLAGS_FIXED1;
	switch (mode) {
	case VCPU_MODE_LONG:
		r->cr0 = CR0_PE | CR0_PG | CR0_ET | CR0_NE;
		r->cr4 = CR4_PAE;
		r->efer = EFER_LME | EFER_LMA;
		r->cs_bits = 64;
		break;
	case VCPU_MODE_PROT32:
		r->cr0 = CR0_PE | CR0_ET;
		r->cs_bits = 32;
		break;
	default:
		r->cr0 = CR0_ET;
		r->rip = 0xfff0;
		r->cs_base = 0xffff0000;
		r->cs_bits = 16;
		break;
	}
	v->cr_dirty = true;
}

struct fake_run_record fake_runs[FAKE_RUNS_MAX];
unsigned fake_run_count;

static void replay(struct vcpu *v, struct vm_exit *out);

static void fake_run(struct vcpu *v, struct vm_exit *out)
{
	u64 start = fake_now_ns();

	replay(v, out);
	if (fake_run_count < FAKE_RUNS_MAX)
		fake_runs[fake_run_count++] = (struct fake_run_record){ start, fake_now_ns(),
									v->partition->id,
									out->reason };
}

static void replay(struct vcpu *v, struct vm_exit *out)
{
	struct fake_vcpu *f = v->arch;

	memset(out, 0, sizeof(*out));
	f->runs++;
	/* A host interrupt pending at entry ends the run at once. */
	if (fake_irq_pending()) {
		out->reason = VMEXIT_EXTINT;
		return;
	}
	if (f->head == f->tail) {
		if (!fake_timer_deadline)
			fail_msg("a guest with no scripted exit runs with no timer armed");
		fake_set_tsc(fake_timer_deadline); /* it spins until the timer */
		out->reason = VMEXIT_EXTINT;
		return;
	}
	struct fake_exit *x = &f->script[f->head % FAKE_SCRIPT_MAX];
	u64 need = clock_ns_to_tsc(x->run_ns);
	if (fake_timer_deadline && fake_tsc() + need >= fake_timer_deadline) {
		u64 ran = clock_tsc_to_ns(fake_timer_deadline - fake_tsc());
		x->run_ns -= MIN(x->run_ns, ran);
		fake_set_tsc(fake_timer_deadline);
		out->reason = VMEXIT_EXTINT;
		return;
	}
	fake_set_tsc(fake_tsc() + need);
	f->head++;
	struct guest_regs *r = &v->regs;
	if (x->set & FAKE_RAX)
		r->rax = x->rax;
	if (x->set & FAKE_RCX)
		r->rcx = x->rcx;
	if (x->set & FAKE_RDX)
		r->rdx = x->rdx;
	if (x->set & FAKE_RDI)
		r->rdi = x->rdi;
	if (x->set & FAKE_RSI)
		r->rsi = x->rsi;
	if (x->set & FAKE_R10)
		r->r10 = x->r10;
	if (x->set & FAKE_RFLAGS)
		r->rflags = x->rflags;
	if (x->set & FAKE_CPL)
		r->cpl = x->cpl;
	if (x->fn)
		x->fn(v->partition, x->ctx);
	*out = x->e;
}

static void fake_inject(struct vcpu *v, enum event_kind kind, u8 vector, bool has_error,
			u32 error_code)
{
	struct fake_vcpu *f = v->arch;

	(void)error_code;
	f->inject_kind = kind;
	f->inject_vector = vector;
	f->inject_has_error = has_error;
	f->injects++;
}

static void fake_single_step(struct vcpu *v)
{
	struct fake_vcpu *f = v->arch;

	f->single_steps++;
}

static u64 fake_segment_base(struct vcpu *v, unsigned seg)
{
	(void)v;
	(void)seg;
	return 0;
}

static void fake_nmi_raise(struct vcpu *v)
{
	struct fake_vcpu *f = v->arch;

	v->nmi_pending = true;
	f->nmis++;
}

static void fake_irq_offer(struct vcpu *v, int vector)
{
	struct fake_vcpu *f = v->arch;

	f->offered = vector;
	f->offers++;
}

/* The fake's second-level tables are NPT's: long-mode entries. */
static u64 fake_leaf_flags(unsigned rights)
{
	return pt_x86_slat_leaf_flags(rights & SLAT_W, rights & SLAT_X, rights & SLAT_UC);
}

const struct virt_ops svm_ops = {
	.name = "fake",
	.cpu_enable = fake_cpu_enable,
	.vcpu_create = fake_vcpu_create,
	.vcpu_destroy = fake_vcpu_destroy,
	.vcpu_reset = fake_vcpu_reset,
	.run = fake_run,
	.inject = fake_inject,
	.irq_offer = fake_irq_offer,
	.nmi_raise = fake_nmi_raise,
	.single_step = fake_single_step,
	.segment_base = fake_segment_base,
	.slat_format = &pt_format_x86,
	.slat_leaf_flags = fake_leaf_flags,
};

void fake_virt_install(void)
{
	virt = &svm_ops;
	fake_vcpu_create_fails = false;
	fake_run_count = 0;
}

struct fake_vcpu *fake_vcpu(struct partition *p)
{
	assert_non_null(p->vcpu.arch);
	return p->vcpu.arch;
}

unsigned fake_pending(struct partition *p)
{
	struct fake_vcpu *f = fake_vcpu(p);

	return f->tail - f->head;
}

void fake_push(struct partition *p, const struct fake_exit *x)
{
	struct fake_vcpu *f = fake_vcpu(p);

	assert_true(f->tail - f->head < FAKE_SCRIPT_MAX);
	f->script[f->tail++ % FAKE_SCRIPT_MAX] = *x;
}

void fake_push_reason(struct partition *p, enum vm_exit_reason r, u64 run_ns)
{
	struct fake_exit x = { .run_ns = run_ns };

	x.e.reason = r;
	x.e.insn_len = INSN_LEN;
	x.e.raw = 0x400 + r;
	fake_push(p, &x);
}

void fake_push_hypercall(struct partition *p, u64 nr, u64 a0, u64 a1, u64 a2, u64 a3)
{
	struct fake_exit x = { .run_ns = 1000,
			       .set = FAKE_RAX | FAKE_RDI | FAKE_RSI | FAKE_RDX | FAKE_R10,
			       .rax = nr,
			       .rdi = a0,
			       .rsi = a1,
			       .rdx = a2,
			       .r10 = a3 };

	x.e.reason = VMEXIT_HYPERCALL;
	x.e.insn_len = INSN_LEN;
	fake_push(p, &x);
}

void fake_push_cpuid(struct partition *p, u32 leaf, u32 subleaf)
{
	struct fake_exit x = {
		.run_ns = 1000, .set = FAKE_RAX | FAKE_RCX, .rax = leaf, .rcx = subleaf
	};

	x.e.reason = VMEXIT_CPUID;
	x.e.insn_len = 2;
	fake_push(p, &x);
}

void fake_push_io(struct partition *p, u16 port, u8 size, bool in, u64 rax)
{
	struct fake_exit x = { .run_ns = 1000, .set = FAKE_RAX, .rax = rax };

	x.e.reason = VMEXIT_IO;
	x.e.insn_len = 1;
	x.e.io.port = port;
	x.e.io.size = size;
	x.e.io.in = in;
	fake_push(p, &x);
}

void fake_push_msr(struct partition *p, u32 index, bool write, u64 value)
{
	struct fake_exit x = { .run_ns = 1000,
			       .set = FAKE_RCX | FAKE_RAX | FAKE_RDX,
			       .rcx = index,
			       .rax = (u32)value,
			       .rdx = value >> 32 };

	x.e.reason = VMEXIT_MSR;
	x.e.insn_len = 2;
	x.e.msr.write = write;
	fake_push(p, &x);
}

void fake_push_npf(struct partition *p, u64 gpa_, bool write, bool fetch)
{
	struct fake_exit x = { .run_ns = 1000 };

	x.e.reason = VMEXIT_NPF;
	x.e.npf.gpa = gpa_;
	x.e.npf.write = write;
	x.e.npf.fetch = fetch;
	fake_push(p, &x);
}

void fake_push_hlt(struct partition *p, bool interrupts_on)
{
	struct fake_exit x = { .run_ns = 1000,
			       .set = FAKE_RFLAGS,
			       .rflags = RFLAGS_FIXED1 | (interrupts_on ? RFLAGS_IF : 0) };

	x.e.reason = VMEXIT_HLT;
	x.e.insn_len = 1;
	fake_push(p, &x);
}
