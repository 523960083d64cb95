/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The exit policy of paravirtual partitions (the kind_exits hooks of
 * pv_kind, kernel/kind.h).  A paravirtual guest talks to the hypervisor
 * through hypercalls; it may touch no port (but the POST port 0x80) and no
 * MSR, and any such access, or an access outside its memory, stops it with
 * the reason on the log.
 */
#include "arch/x86/cpu.h"
#include "kernel/hypercall.h"
#include "kernel/image.h"
#include "kernel/kind.h"
#include "kernel/log.h"
#include "kernel/partition.h"
#include "kernel/pv_image.h"

/* Port 0x80, the POST-code port, is the one port a paravirtual guest may
 * use: writes are dropped and reads give all-ones, as on a machine without a
 * POST card.  It gives benchmarks a harmless I/O exit to measure. */
#define PORT_POST 0x80

static void pv_io(struct partition *p, const struct vm_exit *e)
{
	struct guest_regs *r = &p->vcpu.regs;

	if (e->io.port == PORT_POST && !e->io.string) {
		if (e->io.in)
			r->rax = (r->rax & ~((1ULL << (8 * e->io.size)) - 1)) |
				 ((1ULL << (8 * e->io.size)) - 1);
		r->rip += e->insn_len;
		return;
	}
	partition_fault(p, "port I/O (%s of %u bytes at port %#x) is not allowed",
			e->io.in ? "read" : "write", e->io.size, e->io.port);
}

static void pv_msr(struct partition *p, const struct vm_exit *e)
{
	partition_fault(p, "%s of MSR %#llx is not allowed", e->msr.write ? "write" : "read",
			(unsigned long long)(u32)p->vcpu.regs.rcx);
}

static void pv_npf(struct partition *p, const struct vm_exit *e)
{
	const char *access = e->npf.fetch ? "execute" : e->npf.write ? "write" : "read";
	char why[96];

	/* An instance's first write to a page of its shared image. */
	switch (image_npf(p, e, why, sizeof(why))) {
	case 1:
		return;
	case 0:
		break;
	default:
		partition_fault(p, "%s", why);
		return;
	}

	if (e->npf.gpa >= PV_START_INFO_GPA && e->npf.gpa < PV_START_INFO_GPA + PAGE_SIZE)
		partition_fault(p, "%s of its read-only start-info page at %#llx (rip %#llx)",
				access, (unsigned long long)e->npf.gpa,
				(unsigned long long)p->vcpu.regs.rip);
	else
		partition_fault(p, "%s outside its memory at %#llx (rip %#llx)", access,
				(unsigned long long)e->npf.gpa,
				(unsigned long long)p->vcpu.regs.rip);
}

/* A paravirtual guest has no interrupts to wait for: HLT ends its turn in
 * this window.  With IF clear it would never wake on real hardware; here it
 * still keeps only its own windows. */
static void pv_hlt(struct partition *p, const struct vm_exit *e)
{
	struct guest_regs *r = &p->vcpu.regs;

	r->rip += e->insn_len;
	if (!(r->rflags & RFLAGS_IF) && !p->hlt_reported) {
		p->hlt_reported = true;
		log_guest(LOG_KIND_HLT,
			  "partition %s: HLT with interrupts off at %#llx; it keeps only its own windows",
			  p->cfg->name, (unsigned long long)(r->rip - e->insn_len));
	}
	partition_yield(p);
}

static void pv_xsetbv(struct partition *p, const struct vm_exit *e)
{
	(void)e;
	partition_fault(p, "XSETBV is not allowed");
}

const struct kind_exits pv_exits = {
	.io = pv_io,
	.msr = pv_msr,
	.npf = pv_npf,
	.hlt = pv_hlt,
	.hypercall = hypercall_exit,
	.xsetbv = pv_xsetbv,
	.back_to_scheduler = false,
	.xcr0_own = false,
};
