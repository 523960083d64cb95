/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The vendor-neutral virtualization interface.  Each back end (AMD SVM in
 * arch/x86/svm/, Intel VMX in arch/x86/vmx/) fills one const struct virt_ops
 * and turns its exits into struct vm_exit; generic code (kernel/) never sees
 * a VMCB or a VMCS.  The back end is chosen once at boot from CPUID.
 *
 * Register state: the back end keeps the guest's general registers in
 * vcpu->regs (its entry stub saves and restores them), and copies RIP, RSP,
 * RFLAGS, the control registers, EFER and the CPL between its control
 * structure and vcpu->regs around every run, so handlers read and write
 * vcpu->regs only.  A handler that completes an instruction advances
 * regs.rip by exit.insn_len.
 */
#ifndef PARTITA_VIRT_H
#define PARTITA_VIRT_H

#include <stddef.h>

#include "arch/x86/guest_regs.h"
#include "arch/x86/pagetable.h"
#include "arch/x86/vcpu_state.h"
#include "kernel/lib/types.h"

struct partition;

struct guest_regs {
	/* Saved and restored by the back end's entry stub, in this order. */
	u64 rax, rbx, rcx, rdx, rsi, rdi, rbp;
	u64 r8, r9, r10, r11, r12, r13, r14, r15;
	/* Synchronised with the VMCB/VMCS around each run. */
	u64 rip, rsp, rflags;
	u64 cr0, cr2, cr3, cr4, efer;
	u64 cs_base;
	u8 cpl;
	u8 cs_bits; /* 16, 32 or 64: the code size of CS (L and D bits) */
};

/* The entry stubs in assembly use these offsets (arch/x86/guest_regs.h). */
_Static_assert(offsetof(struct guest_regs, rax) == REG_RAX, "guest_regs layout");
_Static_assert(offsetof(struct guest_regs, rdi) == REG_RDI, "guest_regs layout");
_Static_assert(offsetof(struct guest_regs, rbp) == REG_RBP, "guest_regs layout");
_Static_assert(offsetof(struct guest_regs, r8) == REG_R8, "guest_regs layout");
_Static_assert(offsetof(struct guest_regs, r15) == REG_R15, "guest_regs layout");

/**
 * The general register numbered as instructions number them (ModR/M and REX,
 * Intel SDM Vol. 2 §2.1.5; also VMX exit qualifications): RAX, RCX, RDX, RBX,
 * RSP, RBP, RSI, RDI, R8-R15.  n is taken mod 16.
 */
static inline u64 *guest_reg(struct guest_regs *r, unsigned n)
{
	switch (n & 15) {
	case 0:
		return &r->rax;
	case 1:
		return &r->rcx;
	case 2:
		return &r->rdx;
	case 3:
		return &r->rbx;
	case 4:
		return &r->rsp;
	case 5:
		return &r->rbp;
	case 6:
		return &r->rsi;
	case 7:
		return &r->rdi;
	case 8:
		return &r->r8;
	case 9:
		return &r->r9;
	case 10:
		return &r->r10;
	case 11:
		return &r->r11;
	case 12:
		return &r->r12;
	case 13:
		return &r->r13;
	case 14:
		return &r->r14;
	default:
		return &r->r15;
	}
}

/** Why the guest stopped running. */
enum vm_exit_reason {
	VMEXIT_NONE = 0,
	VMEXIT_CPUID,
	VMEXIT_IO,  /* exit.io */
	VMEXIT_MSR, /* exit.msr; RCX holds the index, EDX:EAX the value */
	VMEXIT_NPF, /* nested page fault / EPT violation: exit.npf */
	VMEXIT_HLT,
	VMEXIT_HYPERCALL,   /* vmmcall / vmcall */
	VMEXIT_INTR_WINDOW, /* the guest can take an interrupt now (VMX's
	                    * interrupt window; the next irq_offer delivers) */
	VMEXIT_NMI_WINDOW,  /* the back end's own step towards delivering a
	                    * latched NMI (virt_ops.nmi_raise): nothing to do */
	VMEXIT_EXTINT,	    /* a host interrupt arrived (e.g. the window timer) */
	VMEXIT_TIMER,	    /* the back end's own preemption timer expired */
	VMEXIT_SHUTDOWN,    /* triple fault */
	VMEXIT_VIRT_INSN,   /* the guest ran VMRUN/VMCALL-family instructions it
	                    * may not: the generic code injects #UD */
	VMEXIT_EXCEPTION,   /* an intercepted guest exception: exit.exception */
	VMEXIT_INVALID,	    /* entry failed or the guest state is invalid */
	VMEXIT_XSETBV,	    /* ECX = XCR index, EDX:EAX = value */
	VMEXIT_RDPMC,	    /* ECX = counter index */
	VMEXIT_CR8,	    /* MOV to/from CR8 (exit.cr8), hvm guests only:
	                    * the kind answers with its local APIC's TPR */
	VMEXIT_OTHER,	    /* anything else: exit.raw names it */
	VMEXIT_REASON_COUNT /* not a reason: how many there are (new ones go
	                    * before VMEXIT_OTHER) */
};

struct vm_exit {
	enum vm_exit_reason reason;
	u32 insn_len; /* length of the exiting instruction, 0 if unknown */
	/* insn_len is the length of the instruction's one encoding without
	 * prefixes: the CPU did not say (SVM without NRIP-save), and a
	 * prefixed instruction is longer (the kind may count its prefixes). */
	bool insn_len_unprefixed;
	u64 raw;	   /* the vendor's exit code, for logs */
	u64 qualification; /* the vendor's extra information, for logs */
	union {
		struct {
			u16 port;
			u8 size; /* 1, 2 or 4 */
			bool in;
			bool string;
			bool rep;
		} io;
		struct {
			bool write;
		} msr;
		struct {
			u64 gpa;
			bool write;
			bool fetch;
			bool present; /* a translation existed (permission fault) */
		} npf;
		struct {
			u8 vector;
			u32 error_code;
		} exception;
		struct {
			bool write; /* MOV to CR8 */
			/* The general register (guest_reg's numbering), or -1
			 * if the CPU did not say (SVM without decode assists):
			 * then insn_len is 0 too, and the kind decodes the
			 * instruction at RIP. */
			s8 gpr;
		} cr8;
	};
	/* The external interrupt offered by irq_offer that the guest took
	 * during this run (its delivery through the guest's IDT began and
	 * was not cut short by the exit); set by every run. */
	bool irq_taken;
	u8 irq_vector;
};

enum event_kind { EVENT_INTERRUPT, EVENT_NMI, EVENT_EXCEPTION };

/** How a vCPU starts (see vcpu_create). */
enum vcpu_mode {
	VCPU_MODE_LONG,	  /* 64-bit, paging on, flat segments (PV guests, and
	                   * Linux's 64-bit boot protocol) */
	VCPU_MODE_PROT32, /* 32-bit protected mode, paging off, flat segments
	                   * (the Multiboot entry state) */
	VCPU_MODE_REAL,	  /* as after reset */
};

/** What generic code asks of a new vCPU (virt_ops.vcpu_create). */
struct vcpu_config {
	enum vcpu_mode mode;
	bool hvm; /* an unmodified guest (interrupts, MSRs) */
	/* MSRs the guest may read and write without an exit (the policy's
	 * list, cpu_policy.c), each only if the back end switches it with its
	 * VMCB/VMCS or lazily; vcpu_create reports in vcpu.direct_msrs which. */
	const u32 *direct_msrs;
	unsigned direct_msr_count;
};

/** Descriptor-table state a loader wants at entry (0 fields: defaults). */
struct vcpu_boot_segments {
	u64 gdt_base;
	u16 gdt_limit;
	u16 cs; /* code selector; its hidden state is flat for the mode */
	u16 ds; /* data selector for DS, ES, SS, FS, GS */
};

struct vcpu {
	struct guest_regs regs;
	struct partition *partition;
	/* FPU/SSE/AVX, DR0-DR3, TSC_AUX: switched lazily, by generic code,
	 * when another vCPU runs on the CPU (arch/x86/vcpu_state.h). */
	struct vcpu_lazy_state lazy;
	struct vcpu_boot_segments boot_segments;
	bool hvm;	 /* unmodified guest: the platform's MSR policy */
	u32 direct_msrs; /* bit i: vcpu_config.direct_msrs[i] does not exit */
	s64 tsc_offset;	 /* the guest's TSC is the host's plus this */
	void *arch;	 /* the back end's state (VMCB or VMCS, ...) */
	hpa_t arch_page; /* its control structure's page */
	u32 asid;	 /* address-space tag (ASID / VPID), never 0 */
	bool tlb_flush;	 /* flush this vCPU's guest TLB at the next entry */
	/* Control registers: for unmodified guests the back end copies
	 * CR0/2/3/4, EFER and the CS state into regs around every run; for
	 * paravirtual ones only when cr_dirty is set (vcpu_reset sets it; a
	 * caller that changes regs.cr* sets it), as no exit handler of theirs
	 * reads them: it keeps the hypercall path short. */
	bool cr_dirty;
	/* An NMI latched for the guest (virt_ops.nmi_raise) and not yet
	 * delivered: one, as the CPU latches one (SDM Vol. 3A §6.7.1). */
	bool nmi_pending;
	/* The back end's account of the guest's NMI blocking where the CPU
	 * keeps none (SVM without vNMI): generic code leaves it alone. */
	struct {
		bool blocked;	/* an NMI was delivered, its IRET not yet done */
		bool iret_seen; /* its IRET is at iret_rip, not completed yet */
		bool stepping;	/* one instruction single-stepped to pass it */
		bool guest_tf;	/* the guest's own RFLAGS.TF when stepping began */
		u64 iret_rip;
		u64 dr6; /* the guest's DR6 when stepping began */
	} nmi;
};

/** A partition's second-level address translation (NPT or EPT). */
struct slat {
	struct pagetable pt;
};

/* Segment registers as instructions number them (SDM Vol. 2 §3.4.2.1
 * "Sreg"; also SVM's and VMX's instruction information). */
enum segment_reg { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS };

/* Access rights of a second-level mapping. */
#define SLAT_R (1u << 0)
#define SLAT_W (1u << 1)
#define SLAT_X (1u << 2)
#define SLAT_RWX (SLAT_R | SLAT_W | SLAT_X)
#define SLAT_UC (1u << 3) /* uncached: device memory (BARs) */

struct virt_ops {
	const char *name; /* "SVM" or "VMX" */

	/** Turns virtualization on on the calling CPU.  0 or -E_NOTSUP/-E_IO
	 *  with a log line saying what is missing. */
	int (*cpu_enable)(void);

	/** Allocates and initializes the vCPU's control structures as cfg
	 *  asks; regs must be set by the caller before the first run.  slat is
	 *  the partition's second-level table.  0 or -E_NOMEM / -E_NOTSUP /
	 *  -E_IO with a log line.  vcpu_destroy frees what it allocated. */
	int (*vcpu_create)(struct vcpu *v, const struct vcpu_config *cfg, struct slat *slat);
	void (*vcpu_destroy)(struct vcpu *v);
	/** Resets the vCPU to the state of vcpu_create (for a restart). */
	void (*vcpu_reset)(struct vcpu *v, enum vcpu_mode mode);

	/** Runs the guest until its next exit, which is described in *exit.
	 *  Called with interrupts disabled; host interrupts that arrive while
	 *  the guest runs end the run with VMEXIT_EXTINT and are taken by the
	 *  host when the caller enables interrupts again. */
	void (*run)(struct vcpu *v, struct vm_exit *exit);

	/** Queues an exception or NMI for delivery at the next entry.
	 *  External interrupts go through irq_offer. */
	void (*inject)(struct vcpu *v, enum event_kind kind, u8 vector, bool has_error,
		       u32 error_code);

	/**
	 * Offers external interrupt vector (0-255) to the guest for the next
	 * run, or withdraws the offer (vector < 0).  The offer replaces any
	 * earlier one.  The CPU delivers the vector through the guest's IDT
	 * once the guest can take it (RFLAGS.IF set, no interrupt shadow, no
	 * other event being injected), as a PC's CPU takes INTR; the run's
	 * vm_exit says whether it did (irq_taken), so the caller acknowledges
	 * it in its interrupt controller only then.  An offer the guest did
	 * not take lapses at the exit: offer again before every run.
	 */
	void (*irq_offer)(struct vcpu *v, int vector);

	/**
	 * Latches an NMI for the guest (vcpu.nmi_pending; more before its
	 * delivery are one, SDM Vol. 3A §6.7.1).  The back end delivers it
	 * through the guest's IDT (vector 2) at an entry where the guest does
	 * not block NMIs: not while the handler of the last one runs (until its
	 * IRET completes), not under an interrupt shadow (STI, MOV SS), nor
	 * alongside another injected event; until then it arranges an exit
	 * for the moment it can (VMEXIT_NMI_WINDOW).  It comes before an
	 * offered external interrupt, which waits.
	 */
	void (*nmi_raise)(struct vcpu *v);

	/**
	 * The instruction an exit handler just completed ran with RFLAGS.TF
	 * set: queues the single-step trap the CPU would have raised after
	 * it, a #DB with DR6.BS set (Intel SDM Vol. 3B §17.3.1.4, AMD APM
	 * Vol. 2 §13.1.3.1), unless an exception is already queued for the
	 * next entry (that one comes first; the guest's handler then sees TF).
	 */
	void (*single_step)(struct vcpu *v);

	/** The base of the guest's segment register seg (SEG_ES .. SEG_GS,
	 *  the instruction encoding's numbering), as of its last exit. */
	u64 (*segment_base)(struct vcpu *v, unsigned seg);

	/** Second-level tables: the format and the leaf bits for rights. */
	const struct pt_format *slat_format;
	u64 (*slat_leaf_flags)(unsigned rights);
};

/** The back end in use, set by virt_init(). */
extern const struct virt_ops *virt;

/** Picks the back end from CPUID and enables it on the boot CPU. 0 or an
 *  error with a log line (no SVM/VMX, disabled by firmware, ...). */
int virt_init(void);

/* Second-level tables, generic over the back end's format. */
int slat_init(struct slat *s);
int slat_map(struct slat *s, gpa_t gpa, hpa_t hpa, u64 size, unsigned rights);
int slat_unmap(struct slat *s, gpa_t gpa, u64 size);
void slat_destroy(struct slat *s);

#endif
