/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Sub-tests of the MSRs: the time-stamp counter and its companions, the
 * MSRs of the features CPUID offers (they must work) and of those it hides
 * (they must raise #GP), read-only and reserved bits, and MSR numbers that
 * no PC has (#GP).  References: Intel SDM Vol. 4 (MSR tables) and Vol. 2
 * (RDMSR, WRMSR: #GP(0) for a reserved or unimplemented MSR, or a reserved
 * bit set), AMD APM Vol. 2 appendix A.
 */
#include "guests/conformance/conf.h"

static const char *vname(int e)
{
	return e >= 0 ? vector_names[e] : "no exception";
}

/* The MSR must raise #GP on RDMSR and on WRMSR. */
static void expect_gp(u32 msr, const char *name)
{
	u64 v;
	int r = rdmsr_safe(msr, &v), w = wrmsr_safe(msr, 0);

	check(r == 13, "RDMSR %#x (%s): expected #GP got %s (value %#llx)", msr, name, vname(r),
	      (unsigned long long)v);
	check(w == 13, "WRMSR %#x (%s): expected #GP got %s", msr, name, vname(w));
}

/* The MSR reads; writing value back changes nothing; writing v reads v. */
static void expect_rw(u32 msr, const char *name, u64 value)
{
	u64 old, got;
	int e = rdmsr_safe(msr, &old);

	if (!check(e < 0, "RDMSR %#x (%s): raised %s", msr, name, vname(e)))
		return;
	e = wrmsr_safe(msr, value);
	if (!check(e < 0, "WRMSR %#x (%s) <- %#llx: raised %s", msr, name,
		   (unsigned long long)value, vname(e)))
		return;
	rdmsr_safe(msr, &got);
	check(got == value, "%s (%#x): wrote %#llx, read back %#llx", name, msr,
	      (unsigned long long)value, (unsigned long long)got);
	wrmsr_safe(msr, old);
}

static void expect_readable(u32 msr, const char *name)
{
	u64 v;
	int e = rdmsr_safe(msr, &v);

	check(e < 0, "RDMSR %#x (%s): raised %s", msr, name, vname(e));
}

/* ---- Time-stamp counter (SDM Vol. 3B 18.17). */

#define TSC_SLACK (1ULL << 36) /* ~68 s at 1 GHz: time between two reads */

static void t_msr_tsc_write(void)
{
	u64 t0 = rdtsc();
	u64 target = t0 + (1ULL << 40);

	/* A write sets what RDTSC and RDMSR 0x10 return from then on. */
	wrmsr(0x10, target);
	u64 t1 = rdtsc(), m = rdmsr(0x10);
	check(t1 >= target && t1 - target < TSC_SLACK,
	      "RDTSC after WRMSR TSC <- %#llx: expected at most %#llx more, got %#llx",
	      (unsigned long long)target, (unsigned long long)TSC_SLACK, (unsigned long long)t1);
	check(m >= t1 && m - t1 < TSC_SLACK,
	      "RDMSR TSC after the write: expected >= %#llx got %#llx", (unsigned long long)t1,
	      (unsigned long long)m);
	/* Backwards too. */
	wrmsr(0x10, 1000000);
	u64 t2 = rdtsc();
	check(t2 >= 1000000 && t2 < 1000000 + TSC_SLACK,
	      "RDTSC after WRMSR TSC <- 1000000: got %#llx", (unsigned long long)t2);
	/* Back to about where it would be. */
	wrmsr(0x10, t0 + (rdtsc() - 1000000) + (t1 - target));
	check(rdtsc() >= t0, "TSC restored: below its value before the test");
}

static void t_msr_tsc_adjust(void)
{
	bool offered = pf.l7.b & (1u << 1);

	if (!offered)
		skip("no IA32_TSC_ADJUST in CPUID.7.0:EBX[1] (msr-hidden-features checks its #GP)");
	/* SDM 18.17.3: writing TSC_ADJUST adds the change to the TSC; a
	 * write to the TSC adds its change to TSC_ADJUST. */
	u64 adj0 = rdmsr(0x3b), d = 1ULL << 38;
	u64 t0 = rdtsc();
	wrmsr(0x3b, adj0 + d);
	u64 t1 = rdtsc();
	check(t1 - t0 >= d && t1 - t0 < d + TSC_SLACK,
	      "TSC after TSC_ADJUST += 2^38: moved by %#llx", (unsigned long long)(t1 - t0));
	wrmsr(0x3b, adj0);
	u64 t2 = rdtsc();
	wrmsr(0x10, t2 + d);
	u64 adj1 = rdmsr(0x3b);
	check(adj1 - adj0 >= d - TSC_SLACK && adj1 - adj0 <= d,
	      "TSC_ADJUST after TSC += 2^38: changed by %#llx", (unsigned long long)(adj1 - adj0));
	wrmsr(0x3b, adj0);
}

/* TSC_AUX (0xc0000103) exists with RDTSCP or RDPID; RDTSCP returns it in
 * ECX, RDPID in its operand (SDM Vol. 2 RDTSCP, RDPID). */
static void t_msr_tsc_aux(void)
{
	bool rdtscp = pf.e1.d & (1u << 27), rdpid = pf.l7.c & (1u << 22);

	if (!rdtscp && !rdpid)
		skip("neither RDTSCP nor RDPID in CPUID (msr-hidden-features checks TSC_AUX's #GP)");
	u64 old = rdmsr(0xc0000103);
	wrmsr(0xc0000103, 0x5a5a1);
	check_eq("RDMSR TSC_AUX after writing 0x5a5a1", rdmsr(0xc0000103), 0x5a5a1);
	if (rdtscp) {
		u32 lo, hi, aux;
		u64 t0 = rdtsc();
		asm volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
		u64 t = ((u64)hi << 32) | lo;
		check_eq("RDTSCP ECX", aux, 0x5a5a1);
		check(t >= t0 && t - t0 < TSC_SLACK, "RDTSCP time %#llx vs RDTSC %#llx",
		      (unsigned long long)t, (unsigned long long)t0);
	}
	if (rdpid) {
		u64 id;
		asm volatile("rdpid %0" : "=r"(id));
		check_eq("RDPID", id, 0x5a5a1);
	}
	wrmsr(0xc0000103, old);
}

/* ---- IA32_MISC_ENABLE (0x1a0, SDM Vol. 4 Table 2-2). */

static void t_msr_misc_enable(void)
{
	u64 v;
	int e = rdmsr_safe(0x1a0, &v);

	if (pf.amd && e == 13)
		return; /* AMD CPUs have no IA32_MISC_ENABLE */
	if (!check(e < 0, "RDMSR IA32_MISC_ENABLE: raised %s", vname(e)))
		return;
	bool pmu = pf.max_leaf >= 0xa && (cpuid(0xa, 0).a & 0xff);
	bool ds = pf.l1.d & (1u << 21);
	check(v & 1, "bit 0 fast strings: expected set (its default), value %#llx",
	      (unsigned long long)v);
	check(!!(v & (1u << 7)) == pmu,
	      "bit 7 (performance monitoring available, RO): expected %d as CPUID.0AH says, value %#llx",
	      pmu, (unsigned long long)v);
	check(!!(v & (1u << 11)) == !ds,
	      "bit 11 (BTS unavailable, RO): expected %d as CPUID.1:EDX[21] DS is %d, value %#llx",
	      !ds, ds, (unsigned long long)v);
	check(!!(v & (1u << 12)) == !ds,
	      "bit 12 (PEBS unavailable, RO): expected %d as CPUID.1:EDX[21] DS is %d, value %#llx",
	      !ds, ds, (unsigned long long)v);
	if (!(v & (1u << 18)))
		check(!(pf.l1.c & (1u << 3)),
		      "bit 18 (MONITOR FSM) clear but CPUID.1:ECX[3] MONITOR set");
	/* The read-only bits keep their value whatever is written. */
	e = wrmsr_safe(0x1a0, v ^ (1u << 11) ^ (1u << 12) ^ (1u << 7));
	u64 after = rdmsr(0x1a0);
	check(e == 13 || (after & 0x1880) == (v & 0x1880),
	      "read-only bits 7, 11, 12 changed by a write: %#llx -> %#llx", (unsigned long long)v,
	      (unsigned long long)after);
	wrmsr_safe(0x1a0, v);
}

/* Bit 22, Limit CPUID Maxval: while set, CPUID.0:EAX reads at most 2. */
static void t_msr_misc_enable_limit_cpuid(void)
{
	u64 v;

	if (!pf.intel)
		skip("IA32_MISC_ENABLE bit 22 is Intel's");
	if (rdmsr_safe(0x1a0, &v) >= 0)
		skip("no IA32_MISC_ENABLE");
	if (!check(wrmsr_safe(0x1a0, v | (1u << 22)) < 0, "WRMSR MISC_ENABLE | bit 22 raised"))
		return;
	u32 max = cpuid(0, 0).a;
	wrmsr_safe(0x1a0, v);
	check(max <= 2, "CPUID.0:EAX with Limit CPUID Maxval: expected at most 2 got %#x", max);
	check_eq("CPUID.0:EAX after clearing it", cpuid(0, 0).a, pf.max_leaf);
}

/* ---- IA32_APIC_BASE (SDM 11.4.4): base, BSP (bit 8, RO), EXTD, EN;
 * bits 0-7, 9 and from MAXPHYADDR up are reserved. */
static void t_msr_apic_base(void)
{
	u64 v = rdmsr(0x1b);

	check_eq("IA32_APIC_BASE at boot (0xfee00000 | EN | BSP)", v & ~(1ULL << 10), 0xfee00900);
	wrmsr(0x1b, v);
	check_eq("IA32_APIC_BASE after writing it back", rdmsr(0x1b), v);
}

/* EFER (AMD APM Vol. 2 3.1.7, SDM Vol. 4 C000_0080H): the bits of the
 * features CPUID offers can be changed. */
static u64 efer_offered(void)
{
	u64 ok = 0;

	if (pf.e1.d & (1u << 11))
		ok |= 1; /* SCE */
	if (pf.e1.d & (1u << 20))
		ok |= 1u << 11; /* NXE */
	if (pf.amd && (pf.e1.d & (1u << 25)))
		ok |= 1u << 14; /* FFXSR */
	return ok;
}

static void t_msr_efer(void)
{
	u64 v = rdmsr(0xc0000080), ok = efer_offered();

	check((v & 0x500) == 0x500, "EFER in long mode: LME and LMA expected set, got %#llx",
	      (unsigned long long)v);
	for (unsigned b = 0; b < 64; b++) {
		u64 bit = 1ULL << b;
		if (!(ok & bit))
			continue;
		int e = wrmsr_safe(0xc0000080, v ^ bit);
		u64 got = rdmsr(0xc0000080);
		wrmsr_safe(0xc0000080, v);
		check(e < 0 && (got & bit) == ((v ^ bit) & bit),
		      "EFER bit %u (offered): toggling it raised %s or did not stick", b, vname(e));
	}
	check_eq("EFER afterwards", rdmsr(0xc0000080), v);
}

/* Reserved bits and values of intercepted MSRs raise #GP: EFER's
 * reserved bits and SVME with SVM hidden; IA32_APIC_BASE's reserved bits;
 * MTRRdefType's reserved memory type 2 (SDM 12.11.2.1). */
static void t_msr_reserved_bits(void)
{
	u64 efer = rdmsr(0xc0000080), ok = efer_offered();
	for (unsigned b = 0; b < 64; b++) {
		u64 bit = 1ULL << b;
		if (b == 8 || b == 10 || (ok & bit) || (efer & bit))
			continue; /* LME, LMA: not to be changed in long mode */
		int e = wrmsr_safe(0xc0000080, efer | bit);
		wrmsr_safe(0xc0000080, efer);
		check(e == 13, "EFER bit %u (%s): expected #GP got %s", b,
		      b == 12 ? "SVME, SVM hidden" : "reserved", vname(e));
	}
	check_eq("EFER afterwards", rdmsr(0xc0000080), efer);

	u64 v = rdmsr(0x1b);
	u32 maxphy = pf.max_ext_leaf >= 0x80000008 ? cpuid(0x80000008, 0).a & 0xff : 36;
	int e = wrmsr_safe(0x1b, v | 1);
	check(e == 13, "WRMSR APIC_BASE with reserved bit 0: expected #GP got %s", vname(e));
	e = wrmsr_safe(0x1b, v | (1u << 9));
	check(e == 13, "WRMSR APIC_BASE with reserved bit 9: expected #GP got %s", vname(e));
	if (maxphy < 52) {
		e = wrmsr_safe(0x1b, v | (1ULL << maxphy));
		check(e == 13, "WRMSR APIC_BASE with bit %u (MAXPHYADDR): expected #GP got %s",
		      maxphy, vname(e));
	}
	wrmsr_safe(0x1b, v);
	check_eq("IA32_APIC_BASE afterwards", rdmsr(0x1b), v);

	u64 def;
	if ((pf.l1.d & (1u << 12)) && rdmsr_safe(0x2ff, &def) < 0) {
		e = wrmsr_safe(0x2ff, (def & ~0xffULL) | 2);
		wrmsr_safe(0x2ff, def);
		check(e == 13, "MTRRdefType with reserved type 2: expected #GP got %s", vname(e));
	}
}

/* ---- SYSCALL/SYSENTER MSRs and the segment bases. */
static void t_msr_syscall(void)
{
	if (pf.e1.d & (1u << 11)) {
		expect_rw(0xc0000081, "STAR", 0x0023001000000000ULL);
		expect_rw(0xc0000082, "LSTAR", 0xffffffff81234560ULL);
		expect_rw(0xc0000083, "CSTAR", 0xffffffff81234570ULL);
		expect_rw(0xc0000084, "SFMASK", 0x47700);
	} else {
		expect_gp(0xc0000081, "STAR without SYSCALL");
	}
	if (pf.l1.d & (1u << 11)) {
		expect_rw(0x174, "SYSENTER_CS", 0x10);
		expect_rw(0x175, "SYSENTER_ESP", 0xffff888000123000ULL);
		expect_rw(0x176, "SYSENTER_EIP", 0xffffffff81000010ULL);
	}
}

static void t_msr_segment_bases(void)
{
	static u64 fs_buf[2] = { 0x1111222233334444ULL, 0 },
		   gs_buf[2] = { 0x5555666677778888ULL, 0 };
	u64 fs0 = rdmsr(0xc0000100), gs0 = rdmsr(0xc0000101), kgs0 = rdmsr(0xc0000102), x;

	wrmsr(0xc0000100, (u64)(uintptr_t)fs_buf);
	wrmsr(0xc0000101, (u64)(uintptr_t)gs_buf);
	wrmsr(0xc0000102, 0xffff800012345000ULL);
	asm volatile("movq %%fs:0, %0" : "=r"(x));
	check_eq("FS:0 with FS_BASE at a buffer", x, fs_buf[0]);
	asm volatile("movq %%gs:0, %0" : "=r"(x));
	check_eq("GS:0 with GS_BASE at a buffer", x, gs_buf[0]);
	/* SWAPGS exchanges GS.base and KERNEL_GS_BASE (SDM Vol. 2 SWAPGS). */
	asm volatile("swapgs" ::: "memory");
	u64 gs1 = rdmsr(0xc0000101), kgs1 = rdmsr(0xc0000102);
	asm volatile("swapgs" ::: "memory");
	check_eq("GS_BASE after SWAPGS", gs1, 0xffff800012345000ULL);
	check_eq("KERNEL_GS_BASE after SWAPGS", kgs1, (u64)(uintptr_t)gs_buf);
	check_eq("GS_BASE after the second SWAPGS", rdmsr(0xc0000101), (u64)(uintptr_t)gs_buf);
	wrmsr(0xc0000100, fs0);
	wrmsr(0xc0000101, gs0);
	wrmsr(0xc0000102, kgs0);
}

/* SDM Vol. 2 WRMSR: #GP for a non-canonical address in these MSRs. */
static void t_msr_canonical(void)
{
	static const struct {
		u32 msr;
		const char *name;
	} m[] = {
		{ 0xc0000100, "FS_BASE" },	  { 0xc0000101, "GS_BASE" },
		{ 0xc0000102, "KERNEL_GS_BASE" }, { 0xc0000082, "LSTAR" },
		{ 0x175, "SYSENTER_ESP" },	  { 0x176, "SYSENTER_EIP" },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(m); i++) {
		u64 old;
		if (rdmsr_safe(m[i].msr, &old) >= 0)
			continue;
		int e = wrmsr_safe(m[i].msr, 0x8000000000001000ULL);
		u64 now;
		rdmsr_safe(m[i].msr, &now);
		wrmsr_safe(m[i].msr, old);
		check(e == 13,
		      "WRMSR %s <- 0x8000000000001000 (non-canonical): expected #GP got %s%s",
		      m[i].name, vname(e),
		      e < 0 && now == 0x8000000000001000ULL ? ", and it stuck" : "");
	}
}

/* ---- IA32_PAT (SDM 13.12.2): reset value; types 2, 3 and 8-255 are
 * reserved and raise #GP. */
static void t_msr_pat(void)
{
	if (!(pf.l1.d & (1u << 16)))
		skip("no PAT in CPUID");
	check_eq("IA32_PAT at reset", rdmsr(0x277), 0x0007040600070406ULL);
	expect_rw(0x277, "IA32_PAT", 0x0007010600070106ULL);
}

static void t_msr_pat_invalid(void)
{
	if (!(pf.l1.d & (1u << 16)))
		skip("no PAT in CPUID");
	u64 old = rdmsr(0x277);
	int e2 = wrmsr_safe(0x277, (old & ~0xffULL) | 2);
	wrmsr_safe(0x277, old);
	int e8 = wrmsr_safe(0x277, (old & ~0xff00ULL) | 0x0800);
	wrmsr_safe(0x277, old);
	check(e2 == 13, "PAT entry 0 = 2 (reserved type): expected #GP got %s", vname(e2));
	check(e8 == 13, "PAT entry 1 = 8 (reserved type): expected #GP got %s", vname(e8));
	check_eq("IA32_PAT afterwards", rdmsr(0x277), old);
}

/* ---- MTRRs (SDM 12.11): offered by CPUID.1:EDX[12]. */
static void t_msr_mtrr(void)
{
	if (!(pf.l1.d & (1u << 12)))
		skip("no MTRRs in CPUID.1:EDX[12]");
	u64 cap;
	int e = rdmsr_safe(0xfe, &cap);
	if (!check(e < 0, "RDMSR MTRRcap: raised %s", vname(e)))
		return;
	/* Default type: E (bit 11) | FE (bit 10, with fixed MTRRs) | WB. */
	expect_rw(0x2ff, "MTRRdefType", (1u << 11) | (cap & (1u << 8) ? 1u << 10 : 0) | 6);
	unsigned vcnt = cap & 0xff;
	for (unsigned i = 0; i < vcnt && i < 16; i++) {
		expect_rw(0x200 + 2 * i, "MTRRphysBase", 0x80000006ULL);
		expect_rw(0x201 + 2 * i, "MTRRphysMask", 0xfc0000800ULL & ((1ULL << 36) - 1));
	}
	if (cap & (1u << 8)) {
		static const u32 fixed[] = { 0x250, 0x258, 0x259, 0x268, 0x269, 0x26a,
					     0x26b, 0x26c, 0x26d, 0x26e, 0x26f };
		for (unsigned i = 0; i < ARRAY_SIZE(fixed); i++)
			expect_rw(fixed[i], "fixed-range MTRR", 0x0606060606060606ULL);
	}
	note("MTRRcap %#llx: %u variable ranges, fixed %s", (unsigned long long)cap, vcnt,
	     cap & (1u << 8) ? "yes" : "no");
}

/* ---- Machine check (SDM Vol. 3B 16.3): MCG_CAP gives the bank count. */
static void t_msr_mca(void)
{
	if (!(pf.l1.d & (1u << 14)) || !(pf.l1.d & (1u << 7)))
		skip("no MCA in CPUID.1:EDX[14]");
	u64 cap;
	int e = rdmsr_safe(0x179, &cap);
	if (!check(e < 0, "RDMSR MCG_CAP: raised %s", vname(e)))
		return;
	expect_readable(0x17a, "MCG_STATUS");
	if (cap & (1u << 8))
		expect_readable(0x17b, "MCG_CTL");
	for (unsigned i = 0; i < (cap & 0xff) && i < 32; i++) {
		expect_readable(0x400 + 4 * i, "MCi_CTL");
		expect_readable(0x401 + 4 * i, "MCi_STATUS");
		check(wrmsr_safe(0x401 + 4 * i, 0) < 0, "WRMSR MC%u_STATUS <- 0 raised", i);
	}
	note("MCG_CAP %#llx: %llu banks", (unsigned long long)cap,
	     (unsigned long long)(cap & 0xff));
}

/* ---- The MSRs of CPUID features, as one table: each exists if and only
 * if CPUID offers its feature.  Performance monitoring: CPUID.0AH on Intel
 * (SDM Vol. 3B 20.2), PDCM (CPUID.1:ECX[15]) for IA32_PERF_CAPABILITIES;
 * on AMD the four legacy counters C001_0000-7 exist on every CPU since
 * the K7, six more at C001_0200 with CPUID 8000_0001:ECX[23] (APM Vol. 2
 * 13.2).  Speculation control: CPUID.7.0:EDX (Intel) and 8000_0008:EBX
 * (AMD).  The virtualization MSRs: VMX's with CPUID.1:ECX[5], SVM's
 * VM_HSAVE_PA with 8000_0001:ECX[2]. */
enum msr_access { MSR_RW, MSR_RO, MSR_WO };

struct msr_feature {
	u32 msr;
	const char *name;
	enum msr_access access;
	u64 value; /* written by the offered test (RW, WO) */
	bool offered;
};

static unsigned msr_features(struct msr_feature *f)
{
	u32 b7 = pf.l7.b, c7 = pf.l7.c, d7 = pf.l7.d, c1 = pf.l1.c, d1 = pf.l1.d;
	u32 e8 = pf.max_ext_leaf >= 0x80000008 ? cpuid(0x80000008, 0).b : 0;
	struct cpuid_r a = pf.max_leaf >= 0xa ? cpuid(0xa, 0) : (struct cpuid_r){ 0, 0, 0, 0 };
	unsigned version = a.a & 0xff, gp = (a.a >> 8) & 0xff, fixed = a.d & 0x1f;
	bool xsaves = (c1 & (1u << 26)) && pf.max_leaf >= 0xd && (cpuid(0xd, 1).a & 8);
	bool spec_ctrl = (d7 & ((1u << 26) | (1u << 27) | (1u << 31))) ||
			 (e8 & ((1u << 14) | (1u << 15) | (1u << 24)));
	bool pred_cmd = (d7 & (1u << 26)) || (e8 & (1u << 12));
	bool cet = (c7 & (1u << 7)) || (d7 & (1u << 20));
	unsigned n = 0;
#define F(m, nm, acc, val, cond) f[n++] = (struct msr_feature){ m, nm, acc, val, !!(cond) }
	F(0x3b, "IA32_TSC_ADJUST (CPUID.7.0:EBX[1])", MSR_RW, 0, b7 & (1u << 1));
	F(0xc0000103, "TSC_AUX (RDTSCP or RDPID)", MSR_RW, 0x5a5a1,
	  (pf.e1.d & (1u << 27)) || (c7 & (1u << 22)));
	F(0x6e0, "IA32_TSC_DEADLINE (CPUID.1:ECX[24])", MSR_RW, 0, c1 & (1u << 24));
	F(0x48, "IA32_SPEC_CTRL (IBRS, STIBP or SSBD)", MSR_RW, 0, spec_ctrl);
	F(0x49, "IA32_PRED_CMD (IBPB)", MSR_WO, 1, pred_cmd);
	F(0x10a, "IA32_ARCH_CAPABILITIES (CPUID.7.0:EDX[29])", MSR_RO, 0, d7 & (1u << 29));
	F(0x10b, "IA32_FLUSH_CMD (CPUID.7.0:EDX[28])", MSR_WO, 1, d7 & (1u << 28));
	F(0x6e1, "IA32_PKRS (PKS, CPUID.7.0:ECX[31])", MSR_RW, 0x55555554, c7 & (1u << 31));
	F(0x6a0, "IA32_U_CET (CET)", MSR_RW, 0, cet);
	F(0x6a2, "IA32_S_CET (CET)", MSR_RW, 0, cet);
	F(0xe1, "IA32_UMWAIT_CONTROL (WAITPKG)", MSR_RW, 0, c7 & (1u << 5));
	F(0xda0, "IA32_XSS (XSAVES)", MSR_RW, 0, xsaves);
	F(0xc1, "IA32_PMC0 (CPUID.0AH)", MSR_RW, 0, pf.intel && version >= 1 && gp >= 1);
	F(0x186, "IA32_PERFEVTSEL0 (CPUID.0AH)", MSR_RW, 0, pf.intel && version >= 1 && gp >= 1);
	F(0x309, "IA32_FIXED_CTR0 (CPUID.0AH version 2)", MSR_RW, 0, version >= 2 && fixed >= 1);
	F(0x38d, "IA32_FIXED_CTR_CTRL (CPUID.0AH version 2)", MSR_RW, 0, version >= 2);
	F(0x38e, "IA32_PERF_GLOBAL_STATUS (CPUID.0AH version 2)", MSR_RO, 0, version >= 2);
	F(0x38f, "IA32_PERF_GLOBAL_CTRL (CPUID.0AH version 2)", MSR_RW, 0, version >= 2);
	F(0x345, "IA32_PERF_CAPABILITIES (PDCM, CPUID.1:ECX[15])", MSR_RO, 0, c1 & (1u << 15));
	for (u32 i = 0; i < 4; i++) {
		F(0xc0010000 + i, "PerfEvtSel (AMD legacy)", MSR_RW, 0, pf.amd);
		F(0xc0010004 + i, "PerfCtr (AMD legacy)", MSR_RW, 0, pf.amd);
	}
	F(0xc0010200, "PerfEvtSel0 (AMD core extension, 8000_0001:ECX[23])", MSR_RW, 0,
	  pf.e1.c & (1u << 23));
	F(0xc0010201, "PerfCtr0 (AMD core extension)", MSR_RW, 0, pf.e1.c & (1u << 23));
	F(0x480, "IA32_VMX_BASIC (VMX)", MSR_RO, 0, c1 & (1u << 5));
	F(0xc0010117, "VM_HSAVE_PA (SVM)", MSR_RW, 0, pf.e1.c & (1u << 2));
	F(0xfe, "MTRRcap (MTRR)", MSR_RO, 0, d1 & (1u << 12));
	F(0x179, "MCG_CAP (MCA)", MSR_RO, 0, d1 & (1u << 14));
	F(0x277, "IA32_PAT (PAT)", MSR_RW, 0x0007040600070406ULL, d1 & (1u << 16));
	F(0x174, "SYSENTER_CS (SEP)", MSR_RW, 0x10, d1 & (1u << 11));
	F(0xc0000081, "STAR (SYSCALL)", MSR_RW, 0x0023001000000000ULL, pf.e1.d & (1u << 11));
	(void)b7;
#undef F
	return n;
}

static void t_msr_offered_features(void)
{
	struct msr_feature f[64];
	unsigned n = msr_features(f);

	for (unsigned i = 0; i < n; i++) {
		if (!f[i].offered)
			continue;
		switch (f[i].access) {
		case MSR_RW:
			expect_rw(f[i].msr, f[i].name, f[i].value);
			break;
		case MSR_RO:
			expect_readable(f[i].msr, f[i].name);
			break;
		case MSR_WO: {
			int e = wrmsr_safe(f[i].msr, f[i].value);
			check(e < 0, "WRMSR %#x (%s) <- %#llx: raised %s", f[i].msr, f[i].name,
			      (unsigned long long)f[i].value, vname(e));
			break;
		}
		}
	}
}

/* The read-only ones raise #GP on WRMSR, the write-only ones on RDMSR. */
static void t_msr_read_only_write_only(void)
{
	struct msr_feature f[64];
	unsigned n = msr_features(f);

	for (unsigned i = 0; i < n; i++) {
		u64 v = 0;
		if (!f[i].offered || f[i].access == MSR_RW)
			continue;
		if (f[i].access == MSR_RO) {
			rdmsr_safe(f[i].msr, &v);
			int e = wrmsr_safe(f[i].msr, v);
			check(e == 13, "WRMSR %#x (%s, read-only): expected #GP got %s", f[i].msr,
			      f[i].name, vname(e));
		} else {
			int e = rdmsr_safe(f[i].msr, &v);
			check(e == 13, "RDMSR %#x (%s, write-only): expected #GP got %s", f[i].msr,
			      f[i].name, vname(e));
		}
	}
}

static void t_msr_hidden_features(void)
{
	struct msr_feature f[64];
	unsigned n = msr_features(f), hidden = 0;

	for (unsigned i = 0; i < n; i++)
		if (!f[i].offered) {
			hidden++;
			if (f[i].access == MSR_WO) {
				int e = wrmsr_safe(f[i].msr, f[i].value);
				check(e == 13, "WRMSR %#x (%s, hidden): expected #GP got %s",
				      f[i].msr, f[i].name, vname(e));
			} else {
				expect_gp(f[i].msr, f[i].name);
			}
		}
	note("%u of %u feature MSRs hidden by CPUID", hidden, n);
}

/* Counting: the PMU counters CPUID offers take writes of 0 and read 0
 * back (msr-offered-features); this lists what was found. */
static void t_msr_pmu_info(void)
{
	struct cpuid_r a = pf.max_leaf >= 0xa ? cpuid(0xa, 0) : (struct cpuid_r){ 0, 0, 0, 0 };
	unsigned version = a.a & 0xff, gp = (a.a >> 8) & 0xff;

	if (pf.intel && version >= 1)
		for (u32 i = 1; i < gp && i < 8; i++) {
			expect_rw(0x186 + i, "IA32_PERFEVTSELx", 0);
			expect_rw(0xc1 + i, "IA32_PMCx", 0);
		}
	if (pf.amd && (pf.e1.c & (1u << 23)))
		for (u32 i = 1; i < 6; i++) {
			expect_rw(0xc0010200 + 2 * i, "PerfEvtSel (core extension)", 0);
			expect_rw(0xc0010201 + 2 * i, "PerfCtr (core extension)", 0);
		}
	note("CPUID.0AH: version %u, %u counters, %u fixed; PDCM %d; AMD PerfCtrExtCore %d",
	     version, gp, a.d & 0x1f, !!(pf.l1.c & (1u << 15)), !!(pf.e1.c & (1u << 23)));
}

/* MSR numbers no PC has: the unallocated parts of the three ranges and
 * of the hypervisor range 0x40000000-0x400000ff that no hypervisor here
 * defines. */
static void t_msr_unknown(void)
{
	static const u32 m[] = { 0x2345,     0x12345678, 0x400000f0, 0x80000000,
				 0xc0003000, 0xc0021000, 0xdeadbeef, 0xffffffff };

	for (unsigned i = 0; i < ARRAY_SIZE(m); i++)
		expect_gp(m[i], "no such MSR");
}

static void t_msr_bios_sign(void)
{
	expect_readable(0x8b, "IA32_BIOS_SIGN_ID / PATCH_LEVEL");
}

const struct subtest tests_msr[] = {
	{ "msr-tsc-write", t_msr_tsc_write,
	  "TCG's WRMSR to the TSC does not change what RDTSC returns", NULL },
	{ "msr-tsc-adjust", t_msr_tsc_adjust, NULL, NULL },
	{ "msr-tsc-aux", t_msr_tsc_aux, NULL, NULL },
	{ "msr-misc-enable", t_msr_misc_enable,
	  "TCG's IA32_MISC_ENABLE has no read-only BTS/PEBS-unavailable bits (11, 12) although CPUID shows no DS",
	  NULL },
	{ "msr-misc-enable-limit-cpuid", t_msr_misc_enable_limit_cpuid, NULL, NULL },
	{ "msr-apic-base", t_msr_apic_base, NULL, NULL },
	{ "msr-efer", t_msr_efer, NULL, NULL },
	{ "msr-reserved-bits", t_msr_reserved_bits,
	  "TCG's EFER and MTRRdefType drop reserved bits and values, and QEMU's APIC base MSR ignores its reserved bits, without #GP",
	  NULL },
	{ "msr-syscall", t_msr_syscall, NULL, NULL },
	{ "msr-segment-bases", t_msr_segment_bases, NULL, NULL },
	{ "msr-canonical", t_msr_canonical, NULL,
	  "TCG's WRMSR takes non-canonical addresses in the base and entry-point MSRs" },
	{ "msr-pat", t_msr_pat, NULL, NULL },
	{ "msr-pat-invalid", t_msr_pat_invalid, NULL,
	  "TCG's WRMSR IA32_PAT takes reserved memory types" },
	{ "msr-mtrr", t_msr_mtrr, NULL, NULL },
	{ "msr-mca", t_msr_mca, NULL, NULL },
	{ "msr-offered-features", t_msr_offered_features, NULL, NULL },
	{ "msr-read-only-write-only", t_msr_read_only_write_only,
	  "TCG takes writes to read-only MSRs (MTRRcap, MCG_CAP) without #GP", NULL },
	{ "msr-hidden-features", t_msr_hidden_features,
	  "TCG answers the MSRs of features its CPUID hides (reads 0, writes dropped) without #GP",
	  NULL },
	{ "msr-pmu-counters", t_msr_pmu_info, NULL, NULL },
	{ "msr-unknown-gp", t_msr_unknown,
	  "TCG reads unknown MSRs as 0 and drops writes to them, without #GP", NULL },
	{ "msr-bios-sign-id", t_msr_bios_sign, NULL, NULL },
};
const unsigned tests_msr_count = ARRAY_SIZE(tests_msr);
