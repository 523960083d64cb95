/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The hvm variant of the state-isolation pair (guests/isostate): with
 * "isolation seed=N other=M [switches=K]" on its command line the
 * conformance kernel runs the isostate check instead of its sub-tests, and
 * adds the MSRs an unmodified guest writes directly and a paravirtual one
 * may not touch: the SYSCALL and SYSENTER MSRs, TSC_AUX (where CPUID
 * offers RDTSCP or RDPID), IA32_PAT, EFER.SCE and XCR0 (7, set with XSETBV
 * in each round).  It ends its partition
 * through the debug-exit port with 0 (nothing crossed) or 1.
 */
#include "guests/conformance/conf.h"
#include "guests/isostate/isostate.h"

void isolation_main(void);

enum {
	X_STAR,
	X_LSTAR,
	X_CSTAR,
	X_SFMASK,
	X_SYSENTER_CS,
	X_SYSENTER_ESP,
	X_SYSENTER_EIP,
	X_TSC_AUX,
	X_PAT,
	X_EFER_SCE,
	X_XCR0,
	X_COUNT
};

static const struct {
	u32 msr;
	const char *name;
} xmsr[X_COUNT] = {
	{ 0xc0000081, "STAR" },
	{ 0xc0000082, "LSTAR" },
	{ 0xc0000083, "CSTAR" },
	{ 0xc0000084, "SFMASK" },
	{ 0x174, "SYSENTER_CS" },
	{ 0x175, "SYSENTER_ESP" },
	{ 0x176, "SYSENTER_EIP" },
	{ 0xc0000103, "TSC_AUX" },
	{ 0x277, "IA32_PAT" },
	{ 0xc0000080, "EFER.SCE" },
	{ 0, "XCR0" },
};
static bool present[X_COUNT];

static const char *x_name(unsigned i)
{
	return xmsr[i].name;
}

static u64 x_pattern(unsigned i, unsigned seed)
{
	u64 v = iso_pattern(ISO_ITEMS + i, seed);

	switch (i) {
	case X_LSTAR:
	case X_CSTAR:
	case X_SYSENTER_ESP:
	case X_SYSENTER_EIP:
		return (v & 0x00007ffffffffff0ULL) |
		       0xffff800000000000ULL; /* canonical, kernel half */
	case X_SFMASK:
	case X_TSC_AUX:
		return (u32)v;
	case X_SYSENTER_CS:
		return v & 0xfff8;
	case X_PAT: {
		/* eight valid memory types (SDM 13.12.2: 0, 1, 4, 5, 6, 7) */
		static const u8 types[6] = { 0, 1, 4, 5, 6, 7 };
		u64 p = 0;
		for (unsigned k = 0; k < 8; k++)
			p |= (u64)types[(v >> (4 * k)) % 6] << (8 * k);
		return p;
	}
	case X_EFER_SCE:
		return seed & 1;
	case X_XCR0:
		return 7; /* x87, SSE, AVX: the same for both, a change is a loss */
	default:
		return v;
	}
}

static u64 xgetbv0(void)
{
	u32 lo, hi;

	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((u64)hi << 32) | lo;
}

static void x_set(unsigned seed)
{
	for (unsigned i = 0; i < X_COUNT; i++) {
		if (!present[i] || i == X_XCR0)
			continue;
		if (i == X_EFER_SCE) {
			u64 efer;
			rdmsr_safe(0xc0000080, &efer);
			wrmsr_safe(0xc0000080, (efer & ~1ULL) | x_pattern(i, seed));
		} else {
			wrmsr_safe(xmsr[i].msr, x_pattern(i, seed));
		}
	}
	if (present[X_XCR0]) /* last: after the exits of the WRMSRs */
		xsetbv_safe(0, 7);
}

static void x_get(u64 *out)
{
	/* XCR0 first: the RDMSRs below are exits */
	out[X_XCR0] = present[X_XCR0] ? xgetbv0() : 0;
	for (unsigned i = 0; i < X_XCR0; i++) {
		u64 v = 0;
		if (present[i])
			rdmsr_safe(xmsr[i].msr, &v);
		out[i] = i == X_EFER_SCE ? v & 1 : v;
	}
}

static const struct iso_extra extra = { X_COUNT, x_name, x_pattern, x_set, x_get };
static struct iso_run_state run;

void isolation_main(void)
{
	unsigned seed = (unsigned)cmdline_u64("seed=", 1);
	unsigned other = (unsigned)cmdline_u64("other=", seed == 1 ? 2 : 1);
	u64 switches = cmdline_u64("switches=", 0);

	for (unsigned i = 0; i < X_XCR0; i++) {
		u64 v;
		present[i] = rdmsr_safe(xmsr[i].msr, &v) < 0;
	}
	/* AVX on, where offered, so that the YMM upper halves are state too,
	 * and XCR0 is an item (set in each round, after the exits). */
	present[X_XCR0] = (pf.l1.c & (1u << 26)) && (pf.l1.c & (1u << 28));
	if (present[X_XCR0]) {
		write_cr4_safe(read_cr4() | (1u << 18) | (1u << 9) | (1u << 10));
		xsetbv_safe(0, 7);
	}
	/* TSC_AUX only where CPUID offers it: else it is no state. */
	present[X_TSC_AUX] &= (pf.e1.d & (1u << 27)) || (pf.l7.c & (1u << 22));
	int code = iso_run(&run, seed, other, switches, pf.tsc_hz, &extra, printf);
	outb(DEBUG_EXIT_PORT, (u8)code);
	for (;;)
		asm volatile("cli; hlt");
}
