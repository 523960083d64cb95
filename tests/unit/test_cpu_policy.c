/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Host tests of the CPU policy (kernel/cpu_policy.c): CPUID as pv and hvm
 * guests see it on an AMD and an Intel host (fake_arch.c's two profiles,
 * each with features the policy must hide), and the answer to every MSR
 * the policy names, on both vendors.
 */
#include <stdio.h>
#include <string.h>

#include "kernel/abi/partita.h"
#include "kernel/cpu_policy.h"
#include "tests/unit/fake_arch.h"

enum { EAX, EBX, ECX, EDX };

static struct cpu_view view(bool hvm)
{
	struct cpu_view v = { .hvm = hvm,
			      .apic_enabled = true,
			      .xcr0 = 1,
			      .vcpu_count = 1,
			      .tsc_hz = 3000000000ULL,
			      .apic_bus_hz = 1000000000ULL };
	return v;
}

static void init(enum fake_cpu cpu, u64 xcr0_ok)
{
	fake_cpu_set(cpu);
	cpu_policy_init(fake_host_cpuid, xcr0_ok);
}

static u32 reg(const struct cpu_view *v, u32 leaf, u32 sub, int r)
{
	u32 out[4];

	cpu_policy_cpuid(v, leaf, sub, out);
	return out[r];
}

#define BIT(leaf, r, b) ((reg(&v, leaf, 0, r) >> (b)) & 1)

FAKE_TEST(vendor_and_basic_leaves)
{
	struct cpu_view v = view(true);
	u32 out[4];

	init(FAKE_CPU_AMD, 0x7);
	assert_int_equal(cpu_policy_vendor(), CPU_VENDOR_AMD);
	cpu_policy_cpuid(&v, 0, 0, out);
	assert_int_equal(out[EAX], 0xd); /* the host's 0x10, capped */
	assert_memory_equal(&out[EBX], "Auth", 4);
	cpu_policy_cpuid(&v, 0x80000000, 0, out);
	assert_int_equal(out[EAX], 0x80000008);
	init(FAKE_CPU_INTEL, 0x7);
	assert_int_equal(cpu_policy_vendor(), CPU_VENDOR_INTEL);
	cpu_policy_cpuid(&v, 0, 0, out);
	assert_memory_equal(&out[EBX], "Genu", 4);
	/* Beyond the highest basic leaf: Intel repeats it, AMD gives zeros
	 * (SDM Vol. 2A "CPUID"; APM Vol. 3). */
	u32 top[4];
	cpu_policy_cpuid(&v, 0xd, 0, top);
	cpu_policy_cpuid(&v, 0x20, 0, out);
	assert_memory_equal(out, top, 16);
	init(FAKE_CPU_AMD, 0x7);
	cpu_policy_cpuid(&v, 0x20, 0, out);
	assert_int_equal(out[EAX] | out[EBX] | out[ECX] | out[EDX], 0);
	cpu_policy_cpuid(&v, 0x80000009, 0, out);
	assert_int_equal(out[EAX] | out[EBX] | out[ECX] | out[EDX], 0);
	/* Leaves the policy does not describe: serial number, MONITOR,
	 * power management, the PMU. */
	init(FAKE_CPU_INTEL, 0x7);
	for (u32 leaf = 3; leaf <= 0xa; leaf++) {
		if (leaf == 4 || leaf == 7)
			continue;
		cpu_policy_cpuid(&v, leaf, 0, out);
		assert_int_equal(out[EAX] | out[EBX] | out[ECX] | out[EDX], 0);
	}
	/* Caches and the brand string are the host's. */
	cpu_policy_cpuid(&v, 0x80000002, 0, out);
	assert_memory_equal(out, "AMD EPYC Proces", 15);
	cpu_policy_cpuid(&v, 2, 0, out);
	assert_int_equal(out[EAX], 0x00feff01);
	/* Leaf 4 counts the vCPUs sharing each cache. */
	v.vcpu_count = 4;
	cpu_policy_cpuid(&v, 4, 0, out);
	assert_int_equal(out[EAX] >> 26, 3);
	assert_int_equal((out[EAX] >> 14) & 0xfff, 3);
	cpu_policy_cpuid(&v, 4, 1, out); /* no further cache */
	assert_int_equal(out[EAX], 0);
}

FAKE_TEST(leaf_1)
{
	struct cpu_view v = view(true);

	init(FAKE_CPU_INTEL, 0x7);
	assert_false(BIT(1, ECX, 5));  /* VMX */
	assert_false(BIT(1, ECX, 3));  /* MONITOR */
	assert_false(BIT(1, ECX, 15)); /* PDCM */
	assert_false(BIT(1, ECX, 27)); /* OSXSAVE: CR4.OSXSAVE is clear */
	assert_true(BIT(1, ECX, 31));  /* hypervisor */
	assert_true(BIT(1, ECX, 21));  /* x2APIC: emulated */
	assert_true(BIT(1, ECX, 24));  /* TSC deadline: emulated */
	assert_true(BIT(1, ECX, 26));  /* XSAVE */
	assert_true(BIT(1, ECX, 28));  /* AVX: XCR0 may hold AVX */
	assert_true(BIT(1, ECX, 0));   /* SSE3, from the host */
	assert_false(BIT(1, EDX, 21)); /* DS */
	assert_false(BIT(1, EDX, 22)); /* ACPI thermal */
	assert_false(BIT(1, EDX, 29)); /* TM */
	assert_false(BIT(1, EDX, 28)); /* HTT with one vCPU */
	assert_true(BIT(1, EDX, 9));   /* APIC */
	assert_true(BIT(1, EDX, 25));  /* SSE */
	v.osxsave = true;
	assert_true(BIT(1, ECX, 27));
	v.apic_enabled = false; /* SDM Vol. 3A §11.4.3 */
	assert_false(BIT(1, EDX, 9));
	v.vcpu_count = 2;
	v.apic_id = 1;
	assert_true(BIT(1, EDX, 28));
	assert_int_equal(reg(&v, 1, 0, EBX) >> 16, 0x0102);
	assert_int_equal(reg(&v, 1, 0, EBX) & 0xffff, 0x0800);
	/* Without XSAVE in XCR0's reach: no XSAVE, AVX, FMA, F16C; no OSXSAVE
	 * whatever CR4 says. */
	init(FAKE_CPU_INTEL, 0);
	assert_false(BIT(1, ECX, 26));
	assert_false(BIT(1, ECX, 28));
	assert_false(BIT(1, ECX, 12));
	assert_false(BIT(1, ECX, 29));
	assert_false(BIT(1, ECX, 27));
	/* x87 and SSE only: XSAVE, but no AVX. */
	init(FAKE_CPU_INTEL, 0x3);
	assert_true(BIT(1, ECX, 26));
	assert_false(BIT(1, ECX, 28));
	/* Paravirtual: no local APIC, no x2APIC, no TSC deadline. */
	init(FAKE_CPU_AMD, 0x7);
	v = view(false);
	assert_false(BIT(1, EDX, 9));
	assert_false(BIT(1, ECX, 21));
	assert_false(BIT(1, ECX, 24));
	assert_true(BIT(1, ECX, 31));
	assert_false(BIT(0x80000001, EDX, 9));
}

FAKE_TEST(leaf_7_and_extended)
{
	struct cpu_view v = view(true);

	init(FAKE_CPU_INTEL, 0x7);
	assert_true(BIT(7, EBX, 0));   /* fsgsbase */
	assert_false(BIT(7, EBX, 1));  /* TSC_ADJUST */
	assert_true(BIT(7, EBX, 5));   /* AVX2 */
	assert_false(BIT(7, EBX, 25)); /* Intel PT */
	assert_false(BIT(7, ECX, 3));  /* PKU */
	assert_false(BIT(7, ECX, 4));  /* OSPKE */
	assert_true(BIT(7, ECX, 22));  /* RDPID */
	assert_true(BIT(7, EDX, 10));  /* MD_CLEAR */
	assert_false(BIT(7, EDX, 26)); /* IBRS/IBPB */
	assert_false(BIT(7, EDX, 27)); /* STIBP */
	assert_false(BIT(7, EDX, 31)); /* SSBD */
	assert_int_equal(reg(&v, 7, 0, EAX), 0);
	assert_int_equal(reg(&v, 7, 1, EBX), 0); /* no subleaf 1 */
	init(FAKE_CPU_INTEL, 0x3);
	assert_false(BIT(7, EBX, 5)); /* AVX2 needs AVX state */
	init(FAKE_CPU_AMD, 0x7);
	assert_false(BIT(0x80000001, ECX, 2));	/* SVM */
	assert_false(BIT(0x80000001, ECX, 1));	/* CmpLegacy */
	assert_false(BIT(0x80000001, ECX, 22)); /* TOPOEXT */
	assert_false(BIT(0x80000001, ECX, 23)); /* PerfCtrCore */
	assert_true(BIT(0x80000001, ECX, 0));	/* LAHF */
	assert_true(BIT(0x80000001, ECX, 6));	/* SSE4A */
	assert_true(BIT(0x80000001, EDX, 11));	/* SYSCALL */
	assert_true(BIT(0x80000001, EDX, 20));	/* NX */
	assert_true(BIT(0x80000001, EDX, 29));	/* LM */
	assert_true(BIT(0x80000001, EDX, 27));	/* RDTSCP */
	/* AMD's copy of leaf 1 EDX follows leaf 1's policy. */
	assert_true(BIT(0x80000001, EDX, 0));			   /* FPU */
	assert_true(BIT(0x80000001, EDX, 9));			   /* APIC, for hvm */
	assert_int_equal(reg(&v, 0x80000001, 0, EBX), 0x20000000); /* PkgType */
	assert_true(BIT(0x80000007, EDX, 8));			   /* invariant TSC */
	assert_true(BIT(0x80000008, EBX, 0));			   /* CLZERO */
	assert_false(BIT(0x80000008, EBX, 1));			   /* IRPERF */
	assert_false(BIT(0x80000008, EBX, 12));			   /* IBPB */
	assert_false(BIT(0x80000008, EBX, 25));			   /* VIRT_SSBD */
	assert_int_equal(reg(&v, 0x80000008, 0, EAX), 0x3030);
	v.vcpu_count = 3;
	assert_int_equal(reg(&v, 0x80000008, 0, ECX), 2);
	init(FAKE_CPU_INTEL, 0x7);
	assert_int_equal(reg(&v, 0x80000001, 0, EBX), 0);
	assert_int_equal(reg(&v, 0x80000008, 0, ECX), 0);
}

FAKE_TEST(topology_and_hypervisor_leaves)
{
	struct cpu_view v = view(true);
	u32 out[4];

	init(FAKE_CPU_INTEL, 0x7);
	v.vcpu_count = 3;
	v.apic_id = 2;
	cpu_policy_cpuid(&v, 0xb, 0, out);
	assert_int_equal(out[EBX], 1);
	assert_int_equal(out[ECX], 0x100);
	assert_int_equal(out[EDX], 2);
	cpu_policy_cpuid(&v, 0xb, 1, out);
	assert_int_equal(out[EAX], 2); /* 3 vCPUs need 2 bits */
	assert_int_equal(out[EBX], 3);
	assert_int_equal(out[ECX], 0x201);
	cpu_policy_cpuid(&v, 0xb, 2, out);
	assert_int_equal(out[ECX], 2);
	assert_int_equal(out[EBX], 0);
	struct cpu_view pv = view(false);
	cpu_policy_cpuid(&pv, 0xb, 0, out);
	assert_int_equal(out[EAX] | out[EBX] | out[ECX] | out[EDX], 0);
	/* The hypervisor's leaves. */
	cpu_policy_cpuid(&v, PARTITA_CPUID_BASE, 0, out);
	assert_int_equal(out[EAX], PARTITA_CPUID_BASE + 0x10);
	char sig[13] = { 0 };
	memcpy(sig, &out[EBX], 4);
	memcpy(sig + 4, &out[ECX], 4);
	memcpy(sig + 8, &out[EDX], 4);
	assert_string_equal(sig, "PartitaHV");
	cpu_policy_cpuid(&pv, PARTITA_CPUID_BASE, 0, out);
	assert_int_equal(out[EAX], PARTITA_CPUID_BASE + 1);
	pv.abi_features = PARTITA_FEATURE_CONTROL;
	cpu_policy_cpuid(&pv, PARTITA_CPUID_BASE + 1, 0, out);
	assert_int_equal(out[EAX], PARTITA_ABI_VERSION);
	assert_int_equal(out[EBX], PARTITA_FEATURE_CONTROL);
	cpu_policy_cpuid(&v, PARTITA_CPUID_BASE + 0x10, 0, out);
	assert_int_equal(out[EAX], 3000000);
	assert_int_equal(out[EBX], 1000000);
	cpu_policy_cpuid(&pv, PARTITA_CPUID_BASE + 0x10, 0, out);
	assert_int_equal(out[EAX], 0);
	cpu_policy_cpuid(&v, PARTITA_CPUID_BASE + 0xff, 0, out);
	assert_int_equal(out[EAX] | out[EBX] | out[ECX] | out[EDX], 0);
}

static void sizes(u64 xcr0, u32 *size0, u32 *size1)
{
	*size0 = 0x240 + (xcr0 & 4 ? 0x100 : 0);
	*size1 = *size0 + 8;
}

FAKE_TEST(xsave_leaf)
{
	struct cpu_view v = view(true);
	u32 out[4];

	init(FAKE_CPU_INTEL, 0);
	cpu_policy_cpuid(&v, 0xd, 0, out);
	assert_int_equal(out[EAX] | out[EBX] | out[ECX] | out[EDX], 0);
	init(FAKE_CPU_INTEL, 0x7);
	cpu_policy_cpuid(&v, 0xd, 0, out);
	assert_int_equal(out[EAX], 0x7);
	assert_int_equal(out[EBX], 0x340); /* the host's: no way to measure */
	assert_int_equal(out[ECX], 0x340);
	v.xsave_sizes = sizes;
	v.xcr0 = 0x3;
	cpu_policy_cpuid(&v, 0xd, 0, out);
	assert_int_equal(out[EBX], 0x240);
	assert_int_equal(out[ECX], 0x340);
	/* Subleaf 1: XSAVEOPT, XSAVEC, XGETBV1, never XSAVES. */
	cpu_policy_cpuid(&v, 0xd, 1, out);
	assert_int_equal(out[EAX], 0x7);
	assert_int_equal(out[EBX], 0x248);
	cpu_policy_cpuid(&v, 0xd, 2, out);
	assert_int_equal(out[EAX], 0x100);
	assert_int_equal(out[ECX], 0x2);   /* user state, 64-byte aligned */
	cpu_policy_cpuid(&v, 0xd, 5, out); /* AVX-512: not allowed here */
	assert_int_equal(out[EAX] | out[EBX] | out[ECX] | out[EDX], 0);
	cpu_policy_cpuid(&v, 0xd, 63, out);
	assert_int_equal(out[EAX], 0);
}

/* The table is a whitelist: every bit the hvm policy sets is a feature it
 * names as offered, and the two views agree. */
FAKE_TEST(cpuid_bits_are_the_tables)
{
	static const struct {
		u32 leaf;
		int r;
	} words[] = {
		{ 1, ECX },	     { 1, EDX },	  { 7, EBX },
		{ 7, ECX },	     { 7, EDX },	  { 0x80000001, ECX },
		{ 0x80000001, EDX }, { 0x80000007, EDX }, { 0x80000008, EBX },
	};

	for (int cpu = 0; cpu < 2; cpu++) {
		init(cpu, 0x7);
		struct cpu_view v = view(true);
		for (unsigned w = 0; w < ARRAY_SIZE(words); w++) {
			u32 got = reg(&v, words[w].leaf, 0, words[w].r), named = 0;
			for (unsigned b = 0; b < 32; b++)
				if (cpu_policy_offers(words[w].leaf, 0, words[w].r, b))
					named |= 1u << b;
			/* AMD's mirror of leaf 1 EDX is decided in leaf 1. */
			if (words[w].leaf == 0x80000001 && words[w].r == EDX && cpu == FAKE_CPU_AMD)
				named |= reg(&v, 1, 0, EDX) & 0x0183f3ffu;
			if (got != named)
				fail_msg("cpu %d leaf %#x reg %d: %#x, the table says %#x", cpu,
					 words[w].leaf, words[w].r, got, named);
		}
		unsigned count = 0;
		bool offered;
		const char *msrs;
		for (const char *name; (name = cpu_policy_feature(count, &offered, &msrs)); count++)
			assert_true(name[0] != '\0');
		assert_true(count > 150);
	}
	assert_false(cpu_policy_offers(1, 1, ECX, 0));
	assert_false(cpu_policy_offers(1, 0, ECX, 32));
	assert_false(cpu_policy_offers(2, 0, EAX, 0));
}

/* ---------------------------------------------------------------- MSRs -- */

static enum msr_result rd(struct msr_state *s, u32 index, u64 *value)
{
	*value = 0x5a5a5a5a;
	return cpu_policy_msr(s, index, false, value, 1000000);
}

static enum msr_result wr(struct msr_state *s, u32 index, u64 value)
{
	return cpu_policy_msr(s, index, true, &value, 1000000);
}

FAKE_TEST(msrs_on_both_vendors)
{
	struct msr_state s;
	u64 v;

	msr_state_reset(&s);
	assert_int_equal(s.pat, 0x0007040600070406ULL);
	assert_int_equal(s.misc_enable, 0x1801);
	assert_int_equal(cpu_policy_direct_msr_count, 11);
	for (int cpu = 0; cpu < 2; cpu++) {
		bool intel = cpu == FAKE_CPU_INTEL;
		init(cpu, 0x7);
		msr_state_reset(&s);
		/* TSC: a per-vCPU offset. */
		assert_int_equal(wr(&s, 0x10, 1500000), MSR_DONE);
		assert_int_equal(s.tsc_offset, 500000);
		assert_int_equal(rd(&s, 0x10, &v), MSR_DONE);
		assert_int_equal(v, 1500000);
		/* The platform's devices. */
		assert_int_equal(rd(&s, 0x1b, &v), MSR_DEVICE);
		assert_int_equal(wr(&s, 0x6e0, 5), MSR_DEVICE);
		assert_int_equal(rd(&s, 0x800, &v), MSR_DEVICE);
		assert_int_equal(rd(&s, 0x8ff, &v), MSR_DEVICE);
		assert_int_equal(rd(&s, 0x900, &v), MSR_GP);
		/* Intel's identification MSRs. */
		assert_int_equal(rd(&s, 0x17, &v), intel ? MSR_DONE : MSR_GP);
		assert_int_equal(wr(&s, 0x17, 0), MSR_GP);
		assert_int_equal(rd(&s, 0x3a, &v), intel ? MSR_DONE : MSR_GP);
		if (intel)
			assert_int_equal(v, 1); /* locked, VMX off */
		assert_int_equal(rd(&s, 0x8b, &v), MSR_DONE);
		assert_int_equal(v, 0);
		assert_int_equal(wr(&s, 0x8b, 0), intel ? MSR_DONE : MSR_GP);
		/* MTRRs: no ranges; the default type is the guest's. */
		assert_int_equal(rd(&s, 0xfe, &v), MSR_DONE);
		assert_int_equal(v, 0);
		assert_int_equal(wr(&s, 0xfe, 0), MSR_GP);
		assert_int_equal(wr(&s, 0x2ff, 0x806), MSR_DONE);
		assert_int_equal(rd(&s, 0x2ff, &v), MSR_DONE);
		assert_int_equal(v, 0x806);
		assert_int_equal(wr(&s, 0x2ff, 0x802), MSR_GP);	 /* type 2 reserved */
		assert_int_equal(wr(&s, 0x2ff, 0x807), MSR_GP);	 /* type 7 */
		assert_int_equal(wr(&s, 0x2ff, 0x406), MSR_GP);	 /* FE without fixed ranges */
		assert_int_equal(wr(&s, 0x2ff, 0x1006), MSR_GP); /* reserved bit */
		assert_int_equal(rd(&s, 0x200, &v), MSR_GP);	 /* a variable range */
		/* Machine check: no banks. */
		assert_int_equal(rd(&s, 0x179, &v), MSR_DONE);
		assert_int_equal(v, 0);
		assert_int_equal(wr(&s, 0x179, 0), MSR_GP);
		assert_int_equal(wr(&s, 0x17a, 0), MSR_DONE);
		assert_int_equal(wr(&s, 0x17a, 1), MSR_GP);
		assert_int_equal(rd(&s, 0x17a, &v), MSR_DONE);
		assert_int_equal(rd(&s, 0x400, &v), MSR_GP); /* MC0_CTL */
		/* SYSENTER: CS 32 bits, ESP/EIP canonical. */
		assert_int_equal(wr(&s, 0x174, 0x1234567800000010ULL), MSR_DONE);
		assert_int_equal(rd(&s, 0x174, &v), MSR_DONE);
		assert_int_equal(v, 0x10);
		assert_int_equal(wr(&s, 0x175, 0xffff800000000000ULL), MSR_DONE);
		assert_int_equal(wr(&s, 0x176, 0x0000800000000000ULL), MSR_GP);
		assert_int_equal(rd(&s, 0x175, &v), MSR_DONE);
		assert_int_equal(v, 0xffff800000000000ULL);
		/* MISC_ENABLE: Intel only, some bits writable. */
		assert_int_equal(wr(&s, 0x1a0, ~0ULL), intel ? MSR_DONE : MSR_GP);
		assert_int_equal(rd(&s, 0x1a0, &v), intel ? MSR_DONE : MSR_GP);
		if (intel)
			assert_int_equal(v, 0x1801 | 0x4000c10009ULL);
		/* DEBUGCTL: LBR and BTF taken, nothing else. */
		assert_int_equal(wr(&s, 0x1d9, 3), MSR_DONE);
		assert_int_equal(wr(&s, 0x1d9, 4), MSR_GP);
		assert_int_equal(rd(&s, 0x1d9, &v), MSR_DONE);
		assert_int_equal(v, 0);
		/* PAT: each entry a valid type. */
		assert_int_equal(wr(&s, 0x277, 0x0606060606060606ULL), MSR_DONE);
		assert_int_equal(rd(&s, 0x277, &v), MSR_DONE);
		assert_int_equal(v, 0x0606060606060606ULL);
		assert_int_equal(wr(&s, 0x277, 0x0206060606060606ULL), MSR_GP);
		assert_int_equal(wr(&s, 0x277, 0x0806060606060606ULL), MSR_GP);
		/* EFER: what CPUID offers; LMA is the processor's; SVME never. */
		s.efer = 1ULL << 10;
		assert_int_equal(wr(&s, 0xc0000080, (1 << 0) | (1 << 8) | (1 << 11)), MSR_DONE);
		assert_int_equal(rd(&s, 0xc0000080, &v), MSR_DONE);
		assert_int_equal(v, (1 << 0) | (1 << 8) | (1 << 10) | (1 << 11));
		assert_int_equal(wr(&s, 0xc0000080, 1 << 12), MSR_GP);
		assert_int_equal(wr(&s, 0xc0000080, 1 << 14), intel ? MSR_GP : MSR_DONE);
		/* TSC_AUX: 32 bits, switched lazily. */
		assert_int_equal(wr(&s, 0xc0000103, 7), MSR_TSC_AUX);
		assert_int_equal(wr(&s, 0xc0000103, 1ULL << 32), MSR_GP);
		assert_int_equal(rd(&s, 0xc0000103, &v), MSR_TSC_AUX);
		/* AMD's legacy counters and configuration MSRs. */
		for (u32 i = 0xc0010000; i <= 0xc0010007; i++) {
			assert_int_equal(rd(&s, i, &v), intel ? MSR_GP : MSR_DONE);
			if (!intel)
				assert_int_equal(v, 0);
			assert_int_equal(wr(&s, i, 0), intel ? MSR_GP : MSR_DONE);
		}
		assert_int_equal(rd(&s, 0xc0010010, &v), intel ? MSR_GP : MSR_DONE);
		assert_int_equal(wr(&s, 0xc001001f, 0), intel ? MSR_GP : MSR_DONE);
		assert_int_equal(rd(&s, 0xc0010015, &v), intel ? MSR_GP : MSR_DONE);
		if (!intel)
			assert_int_equal(v, 1ULL << 24);
		assert_int_equal(wr(&s, 0xc0010015, 0), intel ? MSR_GP : MSR_DONE);
		assert_int_equal(rd(&s, 0xc0011029, &v), intel ? MSR_GP : MSR_DONE);
		if (!intel)
			assert_int_equal(v, 2);
		assert_int_equal(wr(&s, 0xc0011029, 2), intel ? MSR_GP : MSR_DONE);
		/* Hidden features' MSRs and unknown ones. */
		assert_int_equal(rd(&s, 0x48, &v), MSR_GP);	  /* SPEC_CTRL */
		assert_int_equal(wr(&s, 0x49, 1), MSR_GP);	  /* PRED_CMD */
		assert_int_equal(rd(&s, 0x10a, &v), MSR_GP);	  /* ARCH_CAPABILITIES */
		assert_int_equal(rd(&s, 0xc0010114, &v), MSR_GP); /* VM_CR */
		assert_int_equal(rd(&s, 0xda0, &v), MSR_GP);	  /* XSS */
		assert_int_equal(rd(&s, 0xffffffff, &v), MSR_GP);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(vendor_and_basic_leaves),
		cmocka_unit_test(leaf_1),
		cmocka_unit_test(leaf_7_and_extended),
		cmocka_unit_test(topology_and_hypervisor_leaves),
		cmocka_unit_test(xsave_leaf),
		cmocka_unit_test(cpuid_bits_are_the_tables),
		cmocka_unit_test(msrs_on_both_vendors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
