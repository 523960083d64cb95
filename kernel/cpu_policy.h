/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The virtual CPU a partition sees: one policy table (cpu_policy.c) decides,
 * per CPU feature, whether it is offered and how the MSRs that belong to it
 * behave.  CPUID is generated from the table, and every MSR access of an
 * unmodified guest is decided by it, so the two cannot drift: what CPUID
 * offers works, and what it hides raises #GP, as on a CPU without it (Intel
 * SDM Vol. 2A "CPUID", Vol. 4 "Model-Specific Registers"; AMD APM Vol. 3
 * Appendix E "CPUID", Vol. 2 Appendix A "MSR Cross-Reference").  Host unit
 * tests walk the table.
 *
 * A CPUID bit the table does not name is hidden: the table is a whitelist.
 * Paravirtual partitions get the same CPUID less the local APIC (they have
 * no interrupts) and may touch no MSR at all.
 *
 * Pure logic: the host's CPUID comes in through cpu_policy_init, the guest's
 * state through struct cpu_view.
 */
#ifndef PARTITA_CPU_POLICY_H
#define PARTITA_CPU_POLICY_H

#include "kernel/lib/types.h"

/** Reads the host CPU's CPUID (the real instruction, or a host test's). */
typedef void (*cpuid_fn)(u32 leaf, u32 subleaf, u32 out[4]);

enum cpu_vendor { CPU_VENDOR_OTHER, CPU_VENDOR_INTEL, CPU_VENDOR_AMD };

/** What a guest's CPUID depends on besides the host. */
struct cpu_view {
	bool hvm;	   /* an unmodified guest (else paravirtual) */
	bool apic_enabled; /* hvm: IA32_APIC_BASE.EN (CPUID.1:EDX.APIC follows it) */
	bool osxsave;	   /* the guest's CR4.OSXSAVE */
	bool limit_maxval; /* hvm, Intel: IA32_MISC_ENABLE bit 22 (Limit CPUID Maxval) */
	u64 xcr0;	   /* the guest's XCR0 (leaf 0xD's sizes) */
	u32 apic_id;	   /* hvm: its vCPU's APIC ID */
	u32 vcpu_count;	   /* hvm: vCPUs of the partition */
	u32 abi_features;  /* pv: PARTITA_FEATURE_* in leaf 0x40000001 */
	u64 tsc_hz;	   /* leaf 0x40000010 */
	u64 apic_bus_hz;
	/** The sizes of leaf 0xD for an XCR0 (EBX of subleaf 0, of 1), 0 if
	 *  it cannot be measured here.  NULL: the host's values. */
	void (*xsave_sizes)(u64 xcr0, u32 *size0, u32 *size1);
};

/** Captures the host's CPUID and fixes the policy (once, at boot).
 *  xcr0_ok: the XCR0 bits guests may set (fpu_xcr0_supported()). */
void cpu_policy_init(cpuid_fn host, u64 xcr0_ok);

enum cpu_vendor cpu_policy_vendor(void);

/** MAXPHYADDR as the guest sees it in CPUID.80000008H:EAX[7:0] (36 where
 *  the leaf is missing, and before cpu_policy_init). */
u32 cpu_policy_phys_bits(void);

/** CPUID as the guest sees it (leaf, subleaf -> EAX, EBX, ECX, EDX). */
void cpu_policy_cpuid(const struct cpu_view *v, u32 leaf, u32 subleaf, u32 out[4]);

/** True if the policy offers the feature CPUID.leaf.reg[bit] to hvm guests
 *  (reg 0-3: EAX-EDX); for tests and for other policies' checks. */
bool cpu_policy_offers(u32 leaf, u32 subleaf, unsigned reg, unsigned bit);

/** The per-vCPU MSR values the policy emulates. */
struct msr_state {
	u64 efer; /* mirrored into guest_regs.efer by the caller */
	u64 misc_enable;
	u64 mtrr_def_type;
	u64 pat;	 /* when the back end cannot pass PAT through */
	u64 sysenter[3]; /* likewise for SYSENTER_CS/ESP/EIP */
	s64 tsc_offset;	 /* guest TSC = host TSC + tsc_offset */
};

/** The power-on values (Intel SDM Vol. 3A Table 10-1, §12.11.2). */
void msr_state_reset(struct msr_state *s);

/** What the policy decided about an MSR access. */
enum msr_result {
	MSR_DONE,    /* answered (a read filled *value) */
	MSR_GP,	     /* raise #GP: no such MSR here, or a reserved value */
	MSR_DEVICE,  /* the platform's device (local APIC: 0x1b, 0x6e0,
	                * 0x800-0x8ff) answers */
	MSR_TSC_AUX, /* TSC_AUX: lazily switched state (vcpu_state.h) */
};

/**
 * Decides an hvm guest's RDMSR (write false: *value receives the value) or
 * WRMSR (*value holds EDX:EAX).  host_tsc is the TSC now (for IA32_TSC).
 * Direct MSRs the back end could not pass through arrive here too and are
 * emulated from s.
 */
enum msr_result cpu_policy_msr(struct msr_state *s, u32 index, bool write, u64 *value,
			       u64 host_tsc);

/** The MSRs an hvm guest may use without exits, where the back end
 *  switches them (struct vcpu_config.direct_msrs). */
extern const u32 cpu_policy_direct_msrs[];
extern const unsigned cpu_policy_direct_msr_count;

/** One row of the feature table, for the README and the tests. */
struct cpu_policy_row {
	const char *name;
	u32 leaf;
	unsigned reg, bit; /* CPUID.leaf.0:reg[bit], reg 0-3: EAX-EDX */
	const char *rule;  /* "host" (if the host has it), "always" (emulated), "never" */
	u64 needs_xcr0;	   /* "host" only if guests may enable these XCR0 bits */
	const char *msrs;  /* the MSRs that come with it and how they behave, or NULL */
	const char *why;   /* "never": why it is hidden */
	bool offered;	   /* this host's policy offers it to hvm guests */
};

/** Row index of the table (from 0) into *out; false after the last. */
bool cpu_policy_row(unsigned index, struct cpu_policy_row *out);

/** The same, short: the row's name (NULL after the last), whether this
 *  host's policy offers it, and its MSRs. */
const char *cpu_policy_feature(unsigned index, bool *offered, const char **msrs);

#endif
