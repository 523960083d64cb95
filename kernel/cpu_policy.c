/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The one CPU policy (see cpu_policy.h): the feature table, CPUID generated
 * from it, and the MSR table that says how each MSR behaves and which
 * feature it belongs to.
 *
 * Why a feature is hidden, in the table's terms:
 *   - the hypervisor does not virtualize it (VMX, SVM, SMX, PT, SGX, PKS,
 *     the PMU, MONITOR/MWAIT, thermal and power management);
 *   - its state would leak between partitions or cannot be switched here
 *     (speculation-control MSRs, which would need switching on every run;
 *     XSAVES supervisor state; PKRU, outside the XCR0 the host saves);
 *   - it describes the host, not the partition (topology, DCA, xTPR).
 */
#include "kernel/cpu_policy.h"
#include "kernel/abi/partita.h"
#include "kernel/lib/string.h"

enum reg { EAX, EBX, ECX, EDX };

/* How a feature is offered to hvm guests (pv guests get the same but the
 * APIC-related ones). */
enum offer {
	OFFER_HOST,   /* if the host CPU has it */
	OFFER_ALWAYS, /* emulated by the platform: always */
	OFFER_NEVER,  /* hidden (listed to say why, and for its MSRs) */
};

struct feature {
	const char *name;
	u32 leaf;
	u8 reg, bit;
	u8 offer;
	u8 vendor;	  /* enum cpu_vendor; CPU_VENDOR_OTHER: any */
	u64 needs_xcr0;	  /* OFFER_HOST only if guests may enable these XCR0 bits */
	const char *msrs; /* for the README: the MSRs that come with it */
	const char *why;  /* OFFER_NEVER: why it is hidden */
};

#define F(n, l, r, b, o)                                       \
	{                                                      \
		n, l, r, b, o, CPU_VENDOR_OTHER, 0, NULL, NULL \
	}
#define FM(n, l, r, b, o, m)                                \
	{                                                   \
		n, l, r, b, o, CPU_VENDOR_OTHER, 0, m, NULL \
	}
#define FX(n, l, r, b, x)                                               \
	{                                                               \
		n, l, r, b, OFFER_HOST, CPU_VENDOR_OTHER, x, NULL, NULL \
	}
#define FN(n, l, r, b, why)                                             \
	{                                                               \
		n, l, r, b, OFFER_NEVER, CPU_VENDOR_OTHER, 0, NULL, why \
	}

/* Why a feature is hidden (the README's words). */
#define WHY_NOT_VIRT "not virtualized here"
#define WHY_PMU "the PMU: counters would count the other partitions too"
#define WHY_STATE "its state (MSRs) would need switching at every partition switch"
#define WHY_HOST "describes the host's topology or hardware, not the partition's"
#define WHY_GUEST "reflects the guest's own CR4 bit, set when it enables the feature"

#define XCR0_AVX 0x4ULL
#define XCR0_AVX512 0xe0ULL

static const struct feature features[] = {
	/* Leaf 1 EDX (SDM Vol. 2A Table 3-11). */
	F("fpu", 1, EDX, 0, OFFER_HOST),
	F("vme", 1, EDX, 1, OFFER_HOST),
	F("de", 1, EDX, 2, OFFER_HOST),
	F("pse", 1, EDX, 3, OFFER_HOST),
	FM("tsc", 1, EDX, 4, OFFER_HOST, "IA32_TSC (0x10): a per-vCPU offset"),
	F("msr", 1, EDX, 5, OFFER_HOST),
	F("pae", 1, EDX, 6, OFFER_HOST),
	FM("mce", 1, EDX, 7, OFFER_HOST, "MCG_CAP/MCG_STATUS (0x179-0x17a): no banks"),
	F("cx8", 1, EDX, 8, OFFER_HOST),
	FM("apic", 1, EDX, 9, OFFER_ALWAYS, "IA32_APIC_BASE (0x1b): the virtual local APIC"),
	FM("sep", 1, EDX, 11, OFFER_HOST, "SYSENTER_CS/ESP/EIP (0x174-0x176): the guest's own"),
	FM("mtrr", 1, EDX, 12, OFFER_HOST, "MTRRcap (0xfe): no ranges; MTRRdefType (0x2ff)"),
	F("pge", 1, EDX, 13, OFFER_HOST),
	F("mca", 1, EDX, 14, OFFER_HOST),
	F("cmov", 1, EDX, 15, OFFER_HOST),
	FM("pat", 1, EDX, 16, OFFER_HOST, "IA32_PAT (0x277): the guest's own"),
	F("pse36", 1, EDX, 17, OFFER_HOST),
	FN("psn", 1, EDX, 18, WHY_NOT_VIRT),
	F("clflush", 1, EDX, 19, OFFER_HOST),
	FN("ds", 1, EDX, 21, WHY_NOT_VIRT),
	FN("acpi (thermal)", 1, EDX, 22, WHY_NOT_VIRT),
	F("mmx", 1, EDX, 23, OFFER_HOST),
	F("fxsr", 1, EDX, 24, OFFER_HOST),
	F("sse", 1, EDX, 25, OFFER_HOST),
	F("sse2", 1, EDX, 26, OFFER_HOST),
	F("ss", 1, EDX, 27, OFFER_HOST),
	FN("htt", 1, EDX, 28, WHY_HOST), /* computed from the vCPU count */
	FN("tm", 1, EDX, 29, WHY_NOT_VIRT),
	FN("pbe", 1, EDX, 31, WHY_NOT_VIRT),
	/* Leaf 1 ECX (SDM Vol. 2A Table 3-10). */
	F("sse3", 1, ECX, 0, OFFER_HOST),
	F("pclmulqdq", 1, ECX, 1, OFFER_HOST),
	FN("dtes64", 1, ECX, 2, WHY_NOT_VIRT),
	FN("monitor", 1, ECX, 3, WHY_NOT_VIRT),
	FN("ds-cpl", 1, ECX, 4, WHY_NOT_VIRT),
	FN("vmx", 1, ECX, 5, WHY_NOT_VIRT),
	FN("smx", 1, ECX, 6, WHY_NOT_VIRT),
	FN("est", 1, ECX, 7, WHY_NOT_VIRT),
	FN("tm2", 1, ECX, 8, WHY_NOT_VIRT),
	F("ssse3", 1, ECX, 9, OFFER_HOST),
	FN("cnxt-id", 1, ECX, 10, WHY_NOT_VIRT),
	FN("sdbg", 1, ECX, 11, WHY_NOT_VIRT),
	FX("fma", 1, ECX, 12, XCR0_AVX),
	F("cx16", 1, ECX, 13, OFFER_HOST),
	FN("xtpr", 1, ECX, 14, WHY_HOST),
	FN("pdcm", 1, ECX, 15, WHY_PMU), /* IA32_PERF_CAPABILITIES: no PMU */
	F("pcid", 1, ECX, 17, OFFER_HOST),
	FN("dca", 1, ECX, 18, WHY_HOST),
	F("sse4.1", 1, ECX, 19, OFFER_HOST),
	F("sse4.2", 1, ECX, 20, OFFER_HOST),
	FM("x2apic", 1, ECX, 21, OFFER_ALWAYS, "x2APIC registers (0x800-0x8ff)"),
	F("movbe", 1, ECX, 22, OFFER_HOST),
	F("popcnt", 1, ECX, 23, OFFER_HOST),
	FM("tsc-deadline", 1, ECX, 24, OFFER_ALWAYS, "IA32_TSC_DEADLINE (0x6e0)"),
	F("aes", 1, ECX, 25, OFFER_HOST),
	FX("xsave", 1, ECX, 26, 0x1),
	FN("osxsave", 1, ECX, 27, WHY_GUEST), /* the guest's CR4.OSXSAVE */
	FX("avx", 1, ECX, 28, XCR0_AVX),
	FX("f16c", 1, ECX, 29, XCR0_AVX),
	F("rdrand", 1, ECX, 30, OFFER_HOST),
	F("hypervisor", 1, ECX, 31, OFFER_ALWAYS),
	/* Leaf 7 subleaf 0 EBX, ECX, EDX (SDM Vol. 2A Table 3-8). */
	F("fsgsbase", 7, EBX, 0, OFFER_HOST),
	FN("tsc_adjust", 7, EBX, 1, WHY_STATE),
	FN("sgx", 7, EBX, 2, WHY_NOT_VIRT),
	F("bmi1", 7, EBX, 3, OFFER_HOST),
	F("hle", 7, EBX, 4, OFFER_HOST),
	FX("avx2", 7, EBX, 5, XCR0_AVX),
	F("fdp_excptn_only", 7, EBX, 6, OFFER_HOST),
	F("smep", 7, EBX, 7, OFFER_HOST),
	F("bmi2", 7, EBX, 8, OFFER_HOST),
	F("erms", 7, EBX, 9, OFFER_HOST),
	F("invpcid", 7, EBX, 10, OFFER_HOST),
	F("rtm", 7, EBX, 11, OFFER_HOST),
	FN("pqm", 7, EBX, 12, WHY_NOT_VIRT),
	F("zero_fcs_fds", 7, EBX, 13, OFFER_HOST),
	FN("mpx", 7, EBX, 14, WHY_NOT_VIRT),
	FN("pqe", 7, EBX, 15, WHY_NOT_VIRT),
	FX("avx512f", 7, EBX, 16, XCR0_AVX512),
	FX("avx512dq", 7, EBX, 17, XCR0_AVX512),
	F("rdseed", 7, EBX, 18, OFFER_HOST),
	F("adx", 7, EBX, 19, OFFER_HOST),
	F("smap", 7, EBX, 20, OFFER_HOST),
	FX("avx512ifma", 7, EBX, 21, XCR0_AVX512),
	F("clflushopt", 7, EBX, 23, OFFER_HOST),
	F("clwb", 7, EBX, 24, OFFER_HOST),
	FN("intel_pt", 7, EBX, 25, WHY_NOT_VIRT),
	FX("avx512pf", 7, EBX, 26, XCR0_AVX512),
	FX("avx512er", 7, EBX, 27, XCR0_AVX512),
	FX("avx512cd", 7, EBX, 28, XCR0_AVX512),
	F("sha", 7, EBX, 29, OFFER_HOST),
	FX("avx512bw", 7, EBX, 30, XCR0_AVX512),
	FX("avx512vl", 7, EBX, 31, XCR0_AVX512),
	F("prefetchwt1", 7, ECX, 0, OFFER_HOST),
	FX("avx512vbmi", 7, ECX, 1, XCR0_AVX512),
	F("umip", 7, ECX, 2, OFFER_HOST),
	FN("pku", 7, ECX, 3, WHY_STATE), /* PKRU is outside the saved XCR0 */
	FN("ospke", 7, ECX, 4, WHY_GUEST),
	FN("waitpkg", 7, ECX, 5, WHY_NOT_VIRT),
	FX("avx512_vbmi2", 7, ECX, 6, XCR0_AVX512),
	FN("cet_ss", 7, ECX, 7, WHY_NOT_VIRT),
	F("gfni", 7, ECX, 8, OFFER_HOST),
	FX("vaes", 7, ECX, 9, XCR0_AVX),
	FX("vpclmulqdq", 7, ECX, 10, XCR0_AVX),
	FX("avx512_vnni", 7, ECX, 11, XCR0_AVX512),
	FX("avx512_bitalg", 7, ECX, 12, XCR0_AVX512),
	FN("tme", 7, ECX, 13, WHY_NOT_VIRT),
	FX("avx512_vpopcntdq", 7, ECX, 14, XCR0_AVX512),
	FN("la57", 7, ECX, 16, WHY_NOT_VIRT),
	FM("rdpid", 7, ECX, 22, OFFER_HOST, "IA32_TSC_AUX (0xc0000103)"),
	FN("kl", 7, ECX, 23, WHY_NOT_VIRT),
	F("cldemote", 7, ECX, 25, OFFER_HOST),
	F("movdiri", 7, ECX, 27, OFFER_HOST),
	F("movdir64b", 7, ECX, 28, OFFER_HOST),
	FN("enqcmd", 7, ECX, 29, WHY_NOT_VIRT),
	FN("sgx_lc", 7, ECX, 30, WHY_NOT_VIRT),
	FN("pks", 7, ECX, 31, WHY_STATE), /* IA32_PKRS: not switched */
	FX("avx512_4vnniw", 7, EDX, 2, XCR0_AVX512),
	FX("avx512_4fmaps", 7, EDX, 3, XCR0_AVX512),
	F("fsrm", 7, EDX, 4, OFFER_HOST),
	FX("avx512_vp2intersect", 7, EDX, 8, XCR0_AVX512),
	F("md_clear", 7, EDX, 10, OFFER_HOST),
	F("serialize", 7, EDX, 14, OFFER_HOST),
	FN("hybrid", 7, EDX, 15, WHY_HOST),
	F("tsxldtrk", 7, EDX, 16, OFFER_HOST),
	FN("pconfig", 7, EDX, 18, WHY_NOT_VIRT),
	FN("arch_lbr", 7, EDX, 19, WHY_NOT_VIRT),
	FN("cet_ibt", 7, EDX, 20, WHY_NOT_VIRT),
	FN("amx_bf16", 7, EDX, 22, WHY_NOT_VIRT),
	FX("avx512_fp16", 7, EDX, 23, XCR0_AVX512),
	FN("amx_tile", 7, EDX, 24, WHY_NOT_VIRT),
	FN("amx_int8", 7, EDX, 25, WHY_NOT_VIRT),
	FN("ibrs/ibpb (spec_ctrl)", 7, EDX, 26, WHY_STATE),
	FN("stibp", 7, EDX, 27, WHY_STATE),
	FN("l1d_flush", 7, EDX, 28, WHY_STATE),
	FN("arch_capabilities", 7, EDX, 29, WHY_STATE),
	FN("core_capabilities", 7, EDX, 30, WHY_STATE),
	FN("ssbd", 7, EDX, 31, WHY_STATE),
	/* Leaf 0x80000001 ECX, EDX (AMD APM Vol. 3 Appendix E.4.2). */
	F("lahf_lm", 0x80000001, ECX, 0, OFFER_HOST),
	FN("cmp_legacy", 0x80000001, ECX, 1, WHY_HOST),
	FN("svm", 0x80000001, ECX, 2, WHY_NOT_VIRT),
	FN("extapic", 0x80000001, ECX, 3, WHY_NOT_VIRT),
	FN("cr8_legacy", 0x80000001, ECX, 4, WHY_NOT_VIRT),
	F("abm", 0x80000001, ECX, 5, OFFER_HOST),
	F("sse4a", 0x80000001, ECX, 6, OFFER_HOST),
	F("misalignsse", 0x80000001, ECX, 7, OFFER_HOST),
	F("3dnowprefetch", 0x80000001, ECX, 8, OFFER_HOST),
	FN("osvw", 0x80000001, ECX, 9, WHY_NOT_VIRT),
	FN("ibs", 0x80000001, ECX, 10, WHY_NOT_VIRT),
	FX("xop", 0x80000001, ECX, 11, XCR0_AVX),
	FN("skinit", 0x80000001, ECX, 12, WHY_NOT_VIRT),
	FN("wdt", 0x80000001, ECX, 13, WHY_NOT_VIRT),
	FN("lwp", 0x80000001, ECX, 15, WHY_NOT_VIRT),
	FX("fma4", 0x80000001, ECX, 16, XCR0_AVX),
	FN("tce", 0x80000001, ECX, 17, WHY_NOT_VIRT),
	FN("nodeid_msr", 0x80000001, ECX, 19, WHY_HOST),
	F("tbm", 0x80000001, ECX, 21, OFFER_HOST),
	FN("topoext", 0x80000001, ECX, 22, WHY_HOST),
	FN("perfctr_core", 0x80000001, ECX, 23, WHY_PMU),
	FN("perfctr_nb", 0x80000001, ECX, 24, WHY_PMU),
	FN("bpext", 0x80000001, ECX, 26, WHY_NOT_VIRT),
	FN("ptsc", 0x80000001, ECX, 27, WHY_PMU),
	FN("perfctr_llc", 0x80000001, ECX, 28, WHY_PMU),
	FN("mwaitx", 0x80000001, ECX, 29, WHY_NOT_VIRT),
	/* EDX bits 0-9, 12-17, 23, 24 repeat leaf 1 on AMD: decided there. */
	FM("syscall", 0x80000001, EDX, 11, OFFER_HOST, "STAR/LSTAR/CSTAR/SFMASK: the guest's own"),
	FM("nx", 0x80000001, EDX, 20, OFFER_HOST, "EFER.NXE"),
	F("mmxext", 0x80000001, EDX, 22, OFFER_HOST),
	FM("fxsr_opt", 0x80000001, EDX, 25, OFFER_HOST, "EFER.FFXSR"),
	F("pdpe1gb", 0x80000001, EDX, 26, OFFER_HOST),
	FM("rdtscp", 0x80000001, EDX, 27, OFFER_HOST, "IA32_TSC_AUX (0xc0000103)"),
	FM("lm", 0x80000001, EDX, 29, OFFER_HOST, "EFER.LME/LMA, FS/GS/KERNEL_GS base"),
	F("3dnowext", 0x80000001, EDX, 30, OFFER_HOST),
	F("3dnow", 0x80000001, EDX, 31, OFFER_HOST),
	/* Leaf 0x80000007 EDX, leaf 0x80000008 EBX. */
	F("invariant_tsc", 0x80000007, EDX, 8, OFFER_HOST),
	F("clzero", 0x80000008, EBX, 0, OFFER_HOST),
	FN("irperf", 0x80000008, EBX, 1, WHY_PMU),
	F("xsaveerptr", 0x80000008, EBX, 2, OFFER_HOST),
	F("wbnoinvd", 0x80000008, EBX, 9, OFFER_HOST),
	FN("amd_ibpb", 0x80000008, EBX, 12, WHY_STATE),
	FN("amd_ibrs", 0x80000008, EBX, 14, WHY_STATE),
	FN("amd_stibp", 0x80000008, EBX, 15, WHY_STATE),
	FN("amd_ssbd", 0x80000008, EBX, 24, WHY_STATE),
	FN("virt_ssbd", 0x80000008, EBX, 25, WHY_STATE),
};

/* The leaves whose feature words come from the table (every other bit of
 * these words is 0). */
static const struct {
	u32 leaf;
	u8 reg;
} feature_words[] = {
	{ 1, ECX },	     { 1, EDX },	  { 7, EBX },
	{ 7, ECX },	     { 7, EDX },	  { 0x80000001, ECX },
	{ 0x80000001, EDX }, { 0x80000007, EDX }, { 0x80000008, EBX },
};

/* AMD repeats these leaf-1 EDX bits in leaf 0x80000001 EDX (APM Vol. 3
 * E.4.2): 0-9, 12-17, 23, 24. */
#define AMD_EDX_MIRROR 0x0183f3ffu

#define MAX_BASIC_LEAF 0xd
#define MAX_EXT_LEAF 0x80000008u

static struct {
	enum cpu_vendor vendor;
	u32 host_max_basic;
	u32 host_max_ext;
	u32 phys_bits;
	u64 xcr0_ok;
	u32 words[ARRAY_SIZE(feature_words)]; /* the hvm policy's feature words */
	cpuid_fn host;
} pol;

static unsigned word_index(u32 leaf, unsigned reg)
{
	for (unsigned i = 0; i < ARRAY_SIZE(feature_words); i++)
		if (feature_words[i].leaf == leaf && feature_words[i].reg == reg)
			return i;
	return ~0u;
}

static bool feature_offered(const struct feature *f, const u32 host[ARRAY_SIZE(feature_words)])
{
	unsigned w = word_index(f->leaf, f->reg);

	if (f->vendor && f->vendor != pol.vendor)
		return false;
	switch (f->offer) {
	case OFFER_ALWAYS:
		return true;
	case OFFER_HOST:
		return (host[w] >> f->bit & 1) && (f->needs_xcr0 & pol.xcr0_ok) == f->needs_xcr0;
	default:
		return false;
	}
}

void cpu_policy_init(cpuid_fn host, u64 xcr0_ok)
{
	u32 r[4], hostw[ARRAY_SIZE(feature_words)];

	memset(&pol, 0, sizeof(pol));
	pol.host = host;
	pol.xcr0_ok = xcr0_ok;
	host(0, 0, r);
	pol.host_max_basic = r[EAX];
	/* "GenuineIntel" / "AuthenticAMD" in EBX, EDX, ECX. */
	if (r[EBX] == 0x756e6547 && r[EDX] == 0x49656e69 && r[ECX] == 0x6c65746e)
		pol.vendor = CPU_VENDOR_INTEL;
	else if (r[EBX] == 0x68747541 && r[EDX] == 0x69746e65 && r[ECX] == 0x444d4163)
		pol.vendor = CPU_VENDOR_AMD;
	host(0x80000000, 0, r);
	pol.host_max_ext = r[EAX];
	if (pol.host_max_ext >= 0x80000008) {
		host(0x80000008, 0, r);
		pol.phys_bits = r[EAX] & 0xff;
	}
	for (unsigned i = 0; i < ARRAY_SIZE(feature_words); i++) {
		u32 leaf = feature_words[i].leaf;
		bool there = leaf < 0x80000000 ? leaf <= pol.host_max_basic :
						 leaf <= pol.host_max_ext;
		hostw[i] = 0;
		if (there) {
			host(leaf, 0, r);
			hostw[i] = r[feature_words[i].reg];
		}
	}
	for (unsigned i = 0; i < ARRAY_SIZE(features); i++)
		if (feature_offered(&features[i], hostw))
			pol.words[word_index(features[i].leaf, features[i].reg)] |=
				1u << features[i].bit;
	/* AMD's mirror of leaf 1 EDX in 0x80000001 EDX. */
	if (pol.vendor == CPU_VENDOR_AMD) {
		unsigned w1 = word_index(1, EDX), we = word_index(0x80000001, EDX);
		pol.words[we] = (pol.words[we] & ~AMD_EDX_MIRROR) |
				(pol.words[w1] & AMD_EDX_MIRROR & hostw[we]);
	}
}

u32 cpu_policy_phys_bits(void)
{
	/* SDM Vol. 3A §4.1.4: without leaf 0x80000008, MAXPHYADDR is 36. */
	return pol.phys_bits >= 32 && pol.phys_bits <= 52 ? pol.phys_bits : 36;
}

enum cpu_vendor cpu_policy_vendor(void)
{
	return pol.vendor;
}

bool cpu_policy_offers(u32 leaf, u32 subleaf, unsigned reg, unsigned bit)
{
	unsigned w = word_index(leaf, reg);

	if (w == ~0u || subleaf != 0 || bit > 31)
		return false;
	return pol.words[w] >> bit & 1;
}

static u32 word(u32 leaf, unsigned reg)
{
	unsigned w = word_index(leaf, reg);

	return w == ~0u ? 0 : pol.words[w];
}

/* Leaf 0xD (SDM Vol. 1 §13.2): only the components guests may enable. */
static void xsave_leaf(const struct cpu_view *v, u32 subleaf, u32 out[4])
{
	u32 r[4];
	u64 ok = pol.xcr0_ok;

	if (!cpu_policy_offers(1, 0, ECX, 26)) {
		memset(out, 0, 16);
		return;
	}
	if (subleaf == 0) {
		u32 size_now = 0, size_all = 0, dummy;
		if (v->xsave_sizes) {
			v->xsave_sizes(v->xcr0 ? v->xcr0 : 1, &size_now, &dummy);
			v->xsave_sizes(ok, &size_all, &dummy);
		}
		if (!size_now || !size_all) {
			pol.host(0xd, 0, r);
			size_now = size_now ? size_now : r[EBX];
			size_all = size_all ? size_all : r[ECX];
		}
		out[EAX] = (u32)ok;
		out[EBX] = size_now;
		out[ECX] = size_all;
		out[EDX] = (u32)(ok >> 32);
		return;
	}
	if (subleaf == 1) {
		/* XSAVEOPT, XSAVEC, XGETBV with ECX=1; no XSAVES (IA32_XSS
		 * holds supervisor state this hypervisor does not switch). */
		pol.host(0xd, 1, r);
		out[EAX] = r[EAX] & 0x7;
		out[EBX] = 0;
		out[ECX] = out[EDX] = 0;
		if (v->xsave_sizes && (out[EAX] & 2)) {
			u32 dummy;
			v->xsave_sizes(v->xcr0 ? v->xcr0 : 1, &dummy, &out[EBX]);
		}
		return;
	}
	if (subleaf < 63 && (ok >> subleaf & 1)) {
		pol.host(0xd, subleaf, out);
		out[ECX] &= 0x2; /* bit 0 (supervisor) never; bit 1: alignment */
		out[EDX] = 0;
		return;
	}
	memset(out, 0, 16);
}

void cpu_policy_cpuid(const struct cpu_view *v, u32 leaf, u32 subleaf, u32 out[4])
{
	static const char sig[12] = PARTITA_CPUID_SIGNATURE;
	u32 max_basic = pol.host_max_basic < MAX_BASIC_LEAF ? pol.host_max_basic : MAX_BASIC_LEAF;
	u32 max_ext = pol.host_max_ext < MAX_EXT_LEAF ? pol.host_max_ext : MAX_EXT_LEAF;
	u32 vcpus = v->vcpu_count ? v->vcpu_count : 1;

	memset(out, 0, 16);
	if (leaf >= PARTITA_CPUID_BASE && leaf < PARTITA_CPUID_BASE + 0x100) {
		if (leaf == PARTITA_CPUID_BASE) {
			out[EAX] = v->hvm ? PARTITA_CPUID_BASE + 0x10 : PARTITA_CPUID_BASE + 1;
			memcpy(&out[EBX], sig, 4);
			memcpy(&out[ECX], sig + 4, 4);
			memcpy(&out[EDX], sig + 8, 4);
		} else if (leaf == PARTITA_CPUID_BASE + 1) {
			out[EAX] = PARTITA_ABI_VERSION;
			out[EBX] = v->abi_features;
		} else if (leaf == PARTITA_CPUID_BASE + 0x10 && v->hvm) {
			/* The timing leaf some guests read: TSC and APIC rates
			 * in kHz. */
			out[EAX] = (u32)(v->tsc_hz / 1000);
			out[EBX] = (u32)(v->apic_bus_hz / 1000);
		}
		return;
	}
	/* Beyond the highest leaf: Intel answers with the highest basic
	 * leaf's values, AMD with zeros (SDM Vol. 2A "CPUID", APM Vol. 3). */
	if (leaf < 0x80000000 && leaf > max_basic) {
		if (pol.vendor != CPU_VENDOR_INTEL)
			return;
		leaf = max_basic;
	}
	if (leaf >= 0x80000000 && leaf > max_ext)
		return;
	u32 r[4];
	pol.host(leaf, subleaf, r);
	switch (leaf) {
	case 0:
		/* SDM Vol. 4 Table 2-2, IA32_MISC_ENABLE bit 22: with Limit
		 * CPUID Maxval set, leaf 0 reports at most leaf 2. */
		out[EAX] = v->limit_maxval && pol.vendor == CPU_VENDOR_INTEL ? MIN(max_basic, 2u) :
									       max_basic;
		out[EBX] = r[EBX];
		out[ECX] = r[ECX];
		out[EDX] = r[EDX];
		return;
	case 1:
		out[EAX] = r[EAX];
		/* Brand index and CLFLUSH size; logical processors; initial
		 * APIC ID (Table 3-10 note). */
		out[EBX] = (r[EBX] & 0xffff) | (vcpus << 16) | (v->apic_id << 24);
		out[ECX] = word(1, ECX);
		out[EDX] = word(1, EDX);
		if (vcpus > 1)
			out[EDX] |= 1u << 28; /* HTT: more than one logical CPU */
		if (v->osxsave && (out[ECX] & (1u << 26)))
			out[ECX] |= 1u << 27;
		if (!v->hvm) {
			/* Paravirtual: no interrupts, no local APIC. */
			out[EDX] &= ~(1u << 9);
			out[ECX] &= ~((1u << 21) | (1u << 24));
		} else if (!v->apic_enabled) {
			/* SDM Vol. 3A §11.4.3: with IA32_APIC_BASE.EN clear,
			 * CPUID.1:EDX.APIC reads 0. */
			out[EDX] &= ~(1u << 9);
		}
		return;
	case 2: /* cache and TLB descriptors */
		memcpy(out, r, 16);
		return;
	case 4: /* deterministic cache parameters: cores sharing, per vCPU */
		out[EAX] = (r[EAX] & 0x3ff) | ((vcpus - 1) << 14) | ((vcpus - 1) << 26);
		out[EBX] = r[EBX];
		out[ECX] = r[ECX];
		out[EDX] = r[EDX];
		if (!(r[EAX] & 0x1f))
			memset(out, 0, 16);
		return;
	case 7:
		if (subleaf == 0) {
			out[EAX] = 0; /* no subleaves beyond 0 */
			out[EBX] = word(7, EBX);
			out[ECX] = word(7, ECX);
			out[EDX] = word(7, EDX);
		}
		return;
	case 0xb:
		/* x2APIC topology (SDM Vol. 2A, leaf 0BH): one thread per
		 * core, vcpus cores. */
		if (!v->hvm)
			return;
		if (subleaf == 0) {
			out[EAX] = 0;
			out[EBX] = 1;
			out[ECX] = (1u << 8) | subleaf;
		} else if (subleaf == 1) {
			u32 shift = 0;
			while ((1u << shift) < vcpus)
				shift++;
			out[EAX] = shift;
			out[EBX] = vcpus;
			out[ECX] = (2u << 8) | subleaf;
		} else {
			out[ECX] = subleaf;
		}
		out[EDX] = v->apic_id;
		return;
	case 0xd:
		xsave_leaf(v, subleaf, out);
		return;
	case 0x80000000:
		out[EAX] = max_ext;
		out[EBX] = r[EBX];
		out[ECX] = r[ECX];
		out[EDX] = r[EDX];
		return;
	case 0x80000001:
		out[EAX] = r[EAX];
		out[EBX] = pol.vendor == CPU_VENDOR_AMD ? r[EBX] & 0xf0000000 : 0; /* PkgType */
		out[ECX] = word(0x80000001, ECX);
		out[EDX] = word(0x80000001, EDX);
		if (!v->hvm)
			out[EDX] &= ~(1u << 9); /* AMD's copy of the APIC bit */
		return;
	case 0x80000002:
	case 0x80000003:
	case 0x80000004: /* the brand string */
	case 0x80000005:
	case 0x80000006: /* caches */
		memcpy(out, r, 16);
		return;
	case 0x80000007:
		out[EDX] = word(0x80000007, EDX);
		return;
	case 0x80000008:
		out[EAX] = r[EAX] & 0xffff; /* address sizes */
		out[EBX] = word(0x80000008, EBX);
		out[ECX] = pol.vendor == CPU_VENDOR_AMD ? vcpus - 1 : 0; /* NC */
		return;
	default:
		/* A leaf the policy does not describe: nothing (leaf 3, 5, 6,
		 * 8-0xa, 0xc: the serial number, MONITOR, power management and
		 * the PMU are hidden). */
		return;
	}
}

/* ---------------------------------------------------------------- MSRs -- */

/* cpu_policy_direct_msrs: switched by VMRUN/VMLOAD (svm.c) or the VMCS and
 * lazy switching (vmx.c). */
const u32 cpu_policy_direct_msrs[] = {
	0xc0000081, /* STAR */
	0xc0000082, /* LSTAR */
	0xc0000083, /* CSTAR */
	0xc0000084, /* SFMASK */
	0xc0000100, /* FS.base */
	0xc0000101, /* GS.base */
	0xc0000102, /* KERNEL_GS_BASE */
	0x174,	    /* SYSENTER_CS */
	0x175,	    /* SYSENTER_ESP */
	0x176,	    /* SYSENTER_EIP */
	0x277,	    /* PAT */
};
const unsigned cpu_policy_direct_msr_count = ARRAY_SIZE(cpu_policy_direct_msrs);

#define EFER_SCE (1ULL << 0)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)
#define EFER_NXE (1ULL << 11)
#define EFER_FFXSR (1ULL << 14)

#define PAT_RESET 0x0007040600070406ULL
/* MISC_ENABLE (SDM Vol. 4 Table 2-2): fast strings on, BTS and PEBS
 * unavailable; what a guest may change: fast strings (0), TCC (3),
 * EIST (16), limit CPUID maxval (22), xTPR disable (23), XD disable (34),
 * turbo disable (38). */
#define MISC_ENABLE_RESET 0x1801ULL
#define MISC_ENABLE_WRITABLE 0x4000c10009ULL

void msr_state_reset(struct msr_state *s)
{
	memset(s, 0, sizeof(*s));
	s->misc_enable = MISC_ENABLE_RESET;
	s->pat = PAT_RESET;
}

static bool canonical(u64 a)
{
	return (u64)((s64)(a << 16) >> 16) == a;
}

/* SDM Vol. 3A §12.12.2: each PAT entry is UC, WC, WT, WP, WB or UC-. */
static bool pat_valid(u64 v)
{
	for (int i = 0; i < 8; i++) {
		u8 t = (u8)(v >> (8 * i));
		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}

static bool offers(u32 leaf, unsigned reg, unsigned bit)
{
	return cpu_policy_offers(leaf, 0, reg, bit);
}

#define READ_ONLY(val)                 \
	do {                           \
		if (write)             \
			return MSR_GP; \
		*value = (val);        \
		return MSR_DONE;       \
	} while (0)

enum msr_result cpu_policy_msr(struct msr_state *s, u32 index, bool write, u64 *value, u64 host_tsc)
{
	bool intel = pol.vendor == CPU_VENDOR_INTEL, amd = pol.vendor == CPU_VENDOR_AMD;
	u64 v = *value;

	switch (index) {
	case 0x10: /* IA32_TSC (SDM Vol. 3B §18.17): writes move this vCPU's TSC */
		if (!offers(1, EDX, 4))
			return MSR_GP;
		if (write)
			s->tsc_offset = (s64)(v - host_tsc);
		else
			*value = host_tsc + (u64)s->tsc_offset;
		return MSR_DONE;
	case 0x1b:  /* IA32_APIC_BASE */
	case 0x6e0: /* IA32_TSC_DEADLINE */
		return MSR_DEVICE;
	case 0x17: /* IA32_PLATFORM_ID */
		if (!intel)
			return MSR_GP;
		READ_ONLY(0);
	case 0x3a: /* IA32_FEATURE_CONTROL: locked, VMX off (there is no VMX) */
		if (!intel)
			return MSR_GP;
		READ_ONLY(1);
	case 0x8b: /* IA32_BIOS_SIGN_ID / AMD patch level: no microcode */
		if (write && !intel)
			return MSR_GP;
		if (!write)
			*value = 0;
		return MSR_DONE;
	case 0xfe: /* IA32_MTRRCAP: no fixed or variable ranges, no WC */
		if (!offers(1, EDX, 12))
			return MSR_GP;
		READ_ONLY(0);
	case 0x2ff: /* IA32_MTRR_DEF_TYPE (SDM Vol. 3A §12.11.2.1) */
		if (!offers(1, EDX, 12))
			return MSR_GP;
		if (write) {
			u8 type = (u8)v;
			/* FE needs fixed ranges (MTRRCAP.FIX is 0). */
			if ((v & ~0xcffULL) || (v & (1u << 10)) || type == 2 || type == 3 ||
			    type > 6)
				return MSR_GP;
			s->mtrr_def_type = v;
		} else {
			*value = s->mtrr_def_type;
		}
		return MSR_DONE;
	case 0x179: /* IA32_MCG_CAP: no banks, no MCG_CTL */
		if (!offers(1, EDX, 7) && !offers(1, EDX, 14))
			return MSR_GP;
		READ_ONLY(0);
	case 0x17a: /* IA32_MCG_STATUS */
		if (!offers(1, EDX, 7) && !offers(1, EDX, 14))
			return MSR_GP;
		if (write && v)
			return MSR_GP;
		if (!write)
			*value = 0;
		return MSR_DONE;
	case 0x174: /* SYSENTER_CS/ESP/EIP, where the back end cannot pass */
	case 0x175: /* them through */
	case 0x176:
		if (!offers(1, EDX, 11))
			return MSR_GP;
		if (write) {
			if (index != 0x174 && !canonical(v))
				return MSR_GP;
			s->sysenter[index - 0x174] = index == 0x174 ? (u32)v : v;
		} else {
			*value = s->sysenter[index - 0x174];
		}
		return MSR_DONE;
	case 0x1a0: /* IA32_MISC_ENABLE (Intel only) */
		if (!intel)
			return MSR_GP;
		if (write)
			s->misc_enable = (s->misc_enable & ~MISC_ENABLE_WRITABLE) |
					 (v & MISC_ENABLE_WRITABLE);
		else
			*value = s->misc_enable;
		return MSR_DONE;
	case 0x1d9: /* IA32_DEBUGCTL: LBR and BTF are taken and do nothing */
		if (write && (v & ~3ULL))
			return MSR_GP;
		if (!write)
			*value = 0;
		return MSR_DONE;
	case 0x277: /* IA32_PAT, where the back end cannot pass it through */
		if (!offers(1, EDX, 16))
			return MSR_GP;
		if (write) {
			if (!pat_valid(v))
				return MSR_GP;
			s->pat = v;
		} else {
			*value = s->pat;
		}
		return MSR_DONE;
	case 0xc0000080: { /* EFER (AMD APM Vol. 2 §3.1.7, SDM Vol. 4 Table 2-2) */
		u64 ok = EFER_LMA;
		if (offers(0x80000001, EDX, 11))
			ok |= EFER_SCE;
		if (offers(0x80000001, EDX, 29))
			ok |= EFER_LME;
		if (offers(0x80000001, EDX, 20))
			ok |= EFER_NXE;
		if (amd && offers(0x80000001, EDX, 25))
			ok |= EFER_FFXSR;
		if (write) {
			if (v & ~ok)
				return MSR_GP;
			/* LMA is the processor's: writes to it are ignored. */
			s->efer = (v & ~EFER_LMA) | (s->efer & EFER_LMA);
		} else {
			*value = s->efer;
		}
		return MSR_DONE;
	}
	case 0xc0000103: /* IA32_TSC_AUX: bits 63:32 reserved */
		if (!offers(0x80000001, EDX, 27) && !offers(7, ECX, 22))
			return MSR_GP;
		if (write && (v >> 32))
			return MSR_GP;
		return MSR_TSC_AUX;
	case 0xc0010000:
	case 0xc0010001:
	case 0xc0010002:
	case 0xc0010003: /* PerfEvtSel0-3 */
	case 0xc0010004:
	case 0xc0010005:
	case 0xc0010006:
	case 0xc0010007: /* PerfCtr0-3 */
		/* AMD's legacy counters exist on every AMD CPU (no CPUID bit,
		 * APM Vol. 2 §13.2.1): counters that never count. */
		if (!amd)
			return MSR_GP;
		if (!write)
			*value = 0;
		return MSR_DONE;
	case 0xc0010010: /* SYSCFG */
	case 0xc001001f: /* NB_CFG */
		if (!amd)
			return MSR_GP;
		if (!write)
			*value = 0;
		return MSR_DONE;
	case 0xc0010015: /* HWCR: TscFreqSel (bit 24), the TSC counts at P0 */
		if (!amd)
			return MSR_GP;
		if (!write)
			*value = 1ULL << 24;
		return MSR_DONE;
	case 0xc0011029: /* DE_CFG: LFENCE is dispatch serializing (bit 1) */
		if (!amd)
			return MSR_GP;
		if (!write)
			*value = 2;
		return MSR_DONE;
	default:
		if (index >= 0x800 && index <= 0x8ff)
			return MSR_DEVICE; /* x2APIC */
		/* Everything else: the MSR of a hidden feature (SPEC_CTRL,
		 * PRED_CMD, ARCH_CAPABILITIES, the PMU, PKRS, XSS, MTRR ranges,
		 * MCi banks, VM_CR, ...) or none at all. */
		return MSR_GP;
	}
}

bool cpu_policy_row(unsigned index, struct cpu_policy_row *out)
{
	static const char *const rules[] = { "host", "always", "never" };

	if (index >= ARRAY_SIZE(features))
		return false;
	const struct feature *f = &features[index];
	*out = (struct cpu_policy_row){
		.name = f->name,
		.leaf = f->leaf,
		.reg = f->reg,
		.bit = f->bit,
		.rule = rules[f->offer],
		.needs_xcr0 = f->needs_xcr0,
		.msrs = f->msrs,
		.why = f->why,
		.offered = cpu_policy_offers(f->leaf, 0, f->reg, f->bit),
	};
	return true;
}

const char *cpu_policy_feature(unsigned index, bool *offered, const char **msrs)
{
	struct cpu_policy_row r;

	if (!cpu_policy_row(index, &r))
		return NULL;
	*offered = r.offered;
	*msrs = r.msrs;
	return r.name;
}
