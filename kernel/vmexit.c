/*
 * Exit handling (see vmexit.h).  A paravirtual partition may not touch ports
 * (but the POST port 0x80) or MSRs: it talks to the hypervisor through
 * hypercalls, so any other such access stops it with the reason on the log.
 */
#include "kernel/vmexit.h"
#include "arch/x86/cpu.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/hvm/platform.h"
#include "kernel/partition.h"

#define VECTOR_UD 6

static enum partita_exit_kind exit_kind(enum vm_exit_reason r)
{
	switch (r) {
	case VMEXIT_HYPERCALL:
		return PARTITA_EXIT_HYPERCALL;
	case VMEXIT_CPUID:
		return PARTITA_EXIT_CPUID;
	case VMEXIT_IO:
		return PARTITA_EXIT_IO;
	case VMEXIT_MSR:
		return PARTITA_EXIT_MSR;
	case VMEXIT_NPF:
		return PARTITA_EXIT_MMIO;
	case VMEXIT_HLT:
		return PARTITA_EXIT_HLT;
	case VMEXIT_EXTINT:
	case VMEXIT_TIMER:
	case VMEXIT_INTR_WINDOW:
		return PARTITA_EXIT_INTR;
	default:
		return PARTITA_EXIT_OTHER;
	}
}

void cpuid_emulate(const struct partition *p, u32 leaf, u32 subleaf, u32 out[4])
{
	struct cpuid_regs r = { 0, 0, 0, 0 };
	static const char sig[12] = PARTITA_CPUID_SIGNATURE;

	if (leaf >= PARTITA_CPUID_BASE && leaf < PARTITA_CPUID_BASE + 0x100) {
		if (leaf == PARTITA_CPUID_BASE) {
			r.eax = PARTITA_CPUID_BASE + 1;
			memcpy(&r.ebx, sig, 4);
			memcpy(&r.ecx, sig + 4, 4);
			memcpy(&r.edx, sig + 8, 4);
		} else if (leaf == PARTITA_CPUID_BASE + 1) {
			r.eax = PARTITA_ABI_VERSION;
			r.ebx = PARTITA_FEATURE_CHANNELS |
				(p->cfg->caps & CAP_CONTROL ? PARTITA_FEATURE_CONTROL : 0);
		}
	} else {
		r = cpuid(leaf, subleaf);
		if (leaf == 1) {
			r.ecx |= 1u << 31;  /* hypervisor present */
			r.ecx &= ~(1u << 5); /* no VMX */
			r.ecx &= ~(1u << 21); /* no x2APIC: there is no APIC here */
			r.edx &= ~(1u << 9); /* no local APIC */
		} else if (leaf == 0x80000001) {
			r.ecx &= ~(1u << 2); /* no SVM */
		} else if (leaf == 0x8000000a) {
			r.eax = r.ebx = r.ecx = r.edx = 0; /* SVM features */
		}
	}
	out[0] = r.eax;
	out[1] = r.ebx;
	out[2] = r.ecx;
	out[3] = r.edx;
}

static void handle_cpuid(struct partition *p, const struct vm_exit *e)
{
	struct guest_regs *r = &p->vcpu.regs;
	u32 out[4];

	cpuid_emulate(p, (u32)r->rax, (u32)r->rcx, out);
	r->rax = out[0];
	r->rbx = out[1];
	r->rcx = out[2];
	r->rdx = out[3];
	r->rip += e->insn_len;
}

static void handle_hlt(struct partition *p, const struct vm_exit *e)
{
	struct guest_regs *r = &p->vcpu.regs;

	r->rip += e->insn_len;
	/* A paravirtual guest has no interrupts to wait for: HLT ends its turn
	 * in this window.  With IF clear it would never wake on real hardware;
	 * here it still keeps only its own windows. */
	if (!(r->rflags & (1u << 9)) && !p->halt_reported) {
		p->halt_reported = true;
		log_guest(LOG_KIND_HLT, "partition %s: HLT with interrupts off at %#llx; it keeps only its own windows",
			 p->cfg->name, (unsigned long long)(r->rip - e->insn_len));
	}
	p->yielded = true;
}

/*
 * RDPMC.  Performance counters count for the whole machine, so a guest
 * reading them would see the others' activity: the platform shows counters
 * that never count.  AMD's four legacy counters (PerfCtr0-3, which no CPUID
 * bit announces: AMD APM Vol. 2 §13.2) read 0; any other index, and every
 * index on Intel, where CPUID leaf 0xA offers no counters, raises #GP, as
 * RDPMC does for a counter that does not exist (SDM Vol. 2B "RDPMC").
 */
void vmexit_rdpmc(struct partition *p, const struct vm_exit *e)
{
	struct guest_regs *r = &p->vcpu.regs;
	static int amd = -1;

	if (amd < 0)
		amd = cpuid(0, 0).ebx == 0x68747541; /* "Auth"enticAMD */
	if (!amd || (u32)r->rcx > 3) {
		virt->inject(&p->vcpu, EVENT_EXCEPTION, 13, true, 0);
		return;
	}
	r->rax = 0;
	r->rdx = 0;
	r->rip += e->insn_len;
}

static void handle_npf(struct partition *p, const struct vm_exit *e)
{
	const char *access = e->npf.fetch ? "execute" : e->npf.write ? "write" : "read";

	if (e->npf.gpa >= PV_START_INFO_GPA && e->npf.gpa < PV_START_INFO_GPA + PAGE_SIZE)
		partition_fault(p, "%s of its read-only start-info page at %#llx (rip %#llx)",
				access, (unsigned long long)e->npf.gpa,
				(unsigned long long)p->vcpu.regs.rip);
	else
		partition_fault(p, "%s outside its memory at %#llx (rip %#llx)", access,
				(unsigned long long)e->npf.gpa,
				(unsigned long long)p->vcpu.regs.rip);
}

/* Port 0x80, the POST-code port, is the one port a paravirtual guest may
 * use: writes are dropped and reads give all-ones, as on a machine without a
 * POST card.  It gives benchmarks a harmless I/O exit to measure. */
#define PORT_POST 0x80

static void handle_io(struct partition *p, const struct vm_exit *e)
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

void vmexit_handle(struct partition *p, struct vm_exit *e)
{
	struct guest_regs *r = &p->vcpu.regs;

	p->stats.exits[exit_kind(e->reason)]++;
	if (p->cfg->kind == PARTITION_HVM) {
		hvm_handle_exit(p, e);
		return;
	}
	switch (e->reason) {
	case VMEXIT_EXTINT:
	case VMEXIT_TIMER:
	case VMEXIT_INTR_WINDOW:
		break;
	case VMEXIT_HYPERCALL:
		hypercall_handle(p, e);
		break;
	case VMEXIT_CPUID:
		handle_cpuid(p, e);
		break;
	case VMEXIT_HLT:
		handle_hlt(p, e);
		break;
	case VMEXIT_IO:
		handle_io(p, e);
		break;
	case VMEXIT_MSR:
		partition_fault(p, "%s of MSR %#llx is not allowed",
				e->msr.write ? "write" : "read", (unsigned long long)(u32)r->rcx);
		break;
	case VMEXIT_NPF:
		handle_npf(p, e);
		break;
	case VMEXIT_VIRT_INSN:
		/* The guest sees no SVM/VMX: the instruction is undefined. */
		log_guest(LOG_KIND_UD, "partition %s: virtualization instruction at %#llx (exit %#llx): #UD injected",
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
	case VMEXIT_XSETBV:
		partition_fault(p, "XSETBV is not allowed");
		break;
	case VMEXIT_RDPMC:
		vmexit_rdpmc(p, e);
		break;
	case VMEXIT_INVALID:
		partition_fault(p, "invalid guest state (exit %#llx, %#llx) at rip %#llx",
				(unsigned long long)e->raw, (unsigned long long)e->qualification,
				(unsigned long long)r->rip);
		break;
	default:
		partition_fault(p, "unexpected exit %#llx (%#llx) at rip %#llx",
				(unsigned long long)e->raw, (unsigned long long)e->qualification,
				(unsigned long long)r->rip);
		break;
	}
}
