/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Sub-tests of the boot state, CPUID, CR4 and the XSAVE features: what the
 * Multiboot loader hands over, that CPUID describes the CPU consistently
 * (what it offers works, what it hides raises #GP or #UD), that CPUID with
 * prefixes resumes at the next instruction, and that XCR0 and the AVX
 * state survive exits and the partition's switches.
 */
#include "guests/conformance/conf.h"
#include "kernel/lib/string.h"

/* ---- Multiboot (Multiboot Specification 0.6.96, 3.3). */

static void t_multiboot_info(void)
{
	check(pf.mb_info != 0, "boot magic: expected 0x2badb002 in EAX");
	if (!pf.mb_info)
		return;
	const volatile u32 *mi = (const volatile u32 *)(uintptr_t)pf.mb_info;
	check(mi[0] & 1, "flags bit 0 (mem_lower/mem_upper): expected set, flags %#x", mi[0]);
	check(mi[1] >= 512 && mi[1] <= 640, "mem_lower: expected 512-640 KiB got %u", mi[1]);
	check(pf.ram_top >= 0x400000, "mem_upper: expected at least 3 MiB got %u KiB", mi[2]);
	check(mi[0] & (1u << 6), "flags bit 6 (memory map): expected set, flags %#x", mi[0]);
}

/* The module the test configs give (`module =`, QEMU's `-initrd`): the file the
 * build writes, CONFORMANCE_MODULE_SIZE bytes: a header line, then
 * byte i = (i * 131 + 7) & 0xff. */
#define CONFORMANCE_MODULE_SIZE 8192u
static void t_multiboot_module(void)
{
	const volatile u32 *mi = (const volatile u32 *)(uintptr_t)pf.mb_info;

	if (!mi)
		skip("no Multiboot information");
	if (!check(mi[0] & (1u << 3), "flags bit 3 (modules): expected set, flags %#x", mi[0]))
		return;
	if (!check(mi[5] >= 1, "mods_count: expected 1 got %u", mi[5]))
		return;
	const volatile u32 *mod = (const volatile u32 *)(uintptr_t)mi[6];
	u32 start = mod[0], end = mod[1];
	check_eq("module size", end - start, CONFORMANCE_MODULE_SIZE);
	check((start & 0xfff) == 0, "module start %#x: expected page aligned (header flag 0)",
	      start);
	const u8 *m = (const u8 *)(uintptr_t)start;
	check(!memcmp(m, "CONFORMANCE-MODULE", 18), "module header: expected 'CONFORMANCE-MODULE'");
	for (u32 i = 64; i < end - start && i < CONFORMANCE_MODULE_SIZE; i++)
		if (!check(m[i] == (u8)(i * 131 + 7), "module byte %u: expected %#x got %#x", i,
			   (u8)(i * 131 + 7), m[i]))
			break;
}

/* ---- CPUID. */

static void t_cpuid_hypervisor(void)
{
	if (pf.bare)
		skip("not under Partita");
	check(pf.hypervisor, "CPUID.1:ECX[31] (hypervisor present): expected set");
	struct cpuid_r r = cpuid(0x40000000, 0);
	check(r.a >= 0x40000001 && r.a < 0x40000100, "leaf 0x40000000 EAX (highest leaf): got %#x",
	      r.a);
	if (pf.partita)
		check_eq("leaf 0x40000001 EAX (ABI 1.x)", cpuid(0x40000001, 0).a >> 16, 1);
}

static void t_cpuid_no_vmx_svm(void)
{
	check(!(pf.l1.c & (1u << 5)), "CPUID.1:ECX[5] VMX: expected hidden");
	check(!(pf.e1.c & (1u << 2)), "CPUID.80000001:ECX[2] SVM: expected hidden");
	check(!(pf.l1.c & (1u << 6)), "CPUID.1:ECX[6] SMX: expected hidden");
}

/* The initial APIC ID (CPUID.1:EBX[31:24]) is the local APIC's ID (SDM
 * 11.4.6), and CPUID.1:EDX[9] says there is an APIC while
 * IA32_APIC_BASE.EN is set (11.4.3). */
static void t_cpuid_apic(void)
{
	u64 base;

	check(pf.l1.d & (1u << 9), "CPUID.1:EDX[9] APIC: expected set");
	if (rdmsr_safe(0x1b, &base) >= 0)
		check(false, "RDMSR IA32_APIC_BASE raised an exception");
	else
		check(base & (1u << 11), "IA32_APIC_BASE.EN: expected set at boot, got %#llx",
		      (unsigned long long)base);
	check_eq("initial APIC ID vs APIC ID register", pf.l1.b >> 24, lapic_read(0x20) >> 24);
}

/* CPUID.1:ECX[27] OSXSAVE mirrors CR4.OSXSAVE (SDM Vol. 2A CPUID). */
static void t_cpuid_osxsave(void)
{
	if (!(pf.l1.c & (1u << 26)))
		skip("no XSAVE in CPUID");
	u64 cr4 = read_cr4();
	bool was = cr4 & (1u << 18);
	check(!!(cpuid(1, 0).c & (1u << 27)) == was, "OSXSAVE before: expected %d", was);
	write_cr4_safe(cr4 ^ (1u << 18));
	check(!!(cpuid(1, 0).c & (1u << 27)) == !was, "OSXSAVE after toggling CR4: expected %d",
	      !was);
	write_cr4_safe(cr4);
	check(!!(cpuid(1, 0).c & (1u << 27)) == was, "OSXSAVE restored: expected %d", was);
}

/* CPUID with prefixes that do not change it (operand size 66, segment 2e,
 * REX.W): same result, and execution goes on right after the whole
 * instruction.  If it resumed inside the instruction, the bytes left would
 * run as another instruction (a2 = MOV moffs64, AL, whose 8-byte address is
 * the next instruction's bytes: a fault, or ESI unset). */
#define PREFIXED_CPUID(name, bytes)                                                          \
	static void name(u32 leaf, struct cpuid_r *r, u32 *marker)                           \
	{                                                                                    \
		asm volatile("xorl %%esi, %%esi\n" bytes "\n"                                \
			     "movl $0x1234abcd, %%esi\n"                                     \
			     : "=a"(r->a), "=b"(r->b), "=c"(r->c), "=d"(r->d), "=S"(*marker) \
			     : "a"(leaf), "c"(0)                                             \
			     : "memory");                                                    \
	}
PREFIXED_CPUID(cpuid_66, ".byte 0x66, 0x0f, 0xa2")
PREFIXED_CPUID(cpuid_2e, ".byte 0x2e, 0x0f, 0xa2")
PREFIXED_CPUID(cpuid_48, ".byte 0x48, 0x0f, 0xa2")
PREFIXED_CPUID(cpuid_66_2e_48, ".byte 0x66, 0x2e, 0x48, 0x0f, 0xa2")

static void t_cpuid_prefixed(void)
{
	static void (*const fns[])(u32, struct cpuid_r *, u32 *) = { cpuid_66, cpuid_2e, cpuid_48,
								     cpuid_66_2e_48 };
	static const char *const names[] = { "66 0f a2", "2e 0f a2", "48 0f a2", "66 2e 48 0f a2" };

	for (unsigned i = 0; i < ARRAY_SIZE(fns); i++) {
		for (u32 leaf = 0; leaf <= 1; leaf++) {
			struct cpuid_r r, want = cpuid(leaf, 0);
			u32 marker = 0;
			fns[i](leaf, &r, &marker);
			check(marker == 0x1234abcd,
			      "%s: the instruction after it did not run (esi %#x)", names[i],
			      marker);
			check(!memcmp(&r, &want, sizeof(r)),
			      "%s leaf %u: expected %08x %08x %08x %08x got %08x %08x %08x %08x",
			      names[i], leaf, want.a, want.b, want.c, want.d, r.a, r.b, r.c, r.d);
		}
	}
}

/* ---- CR4: each bit can be set if and only if CPUID offers its feature
 * (SDM Vol. 3A 2.5, MOV to CR4: #GP on a reserved bit). */

struct cr4_bit {
	unsigned bit;
	const char *name;
	int present; /* 1 offered, 0 hidden, -1 always #GP here (long mode) */
};

static void cr4_bits(bool offered)
{
	const u32 d1 = pf.l1.d, c1 = pf.l1.c, b7 = pf.l7.b, c7 = pf.l7.c;
	const struct cr4_bit bits[] = {
		{ 0, "VME", !!(d1 & (1u << 1)) },     { 1, "PVI", !!(d1 & (1u << 1)) },
		{ 2, "TSD", !!(d1 & (1u << 4)) },     { 3, "DE", !!(d1 & (1u << 2)) },
		{ 4, "PSE", !!(d1 & (1u << 3)) },     { 6, "MCE", !!(d1 & (1u << 7)) },
		{ 7, "PGE", !!(d1 & (1u << 13)) },    { 8, "PCE", 1 },
		{ 9, "OSFXSR", !!(d1 & (1u << 24)) }, { 10, "OSXMMEXCPT", !!(d1 & (1u << 25)) },
		{ 11, "UMIP", !!(c7 & (1u << 2)) },   { 12, "LA57 (a change in long mode)", -1 },
		{ 13, "VMXE", !!(c1 & (1u << 5)) },   { 14, "SMXE", !!(c1 & (1u << 6)) },
		{ 15, "reserved bit 15", 0 },	      { 16, "FSGSBASE", !!(b7 & 1u) },
		{ 17, "PCIDE", !!(c1 & (1u << 17)) }, { 18, "OSXSAVE", !!(c1 & (1u << 26)) },
		{ 19, "KL", !!(c7 & (1u << 23)) },    { 20, "SMEP", !!(b7 & (1u << 7)) },
		{ 21, "SMAP", !!(b7 & (1u << 20)) },  { 22, "PKE", !!(c7 & (1u << 3)) },
		{ 23, "CET", !!(c7 & (1u << 7)) },    { 24, "PKS", !!(c7 & (1u << 31)) },
		{ 28, "reserved bit 28", 0 },	      { 31, "reserved bit 31", 0 },
		{ 40, "reserved bit 40", 0 },	      { 63, "reserved bit 63", 0 },
	};
	u64 cr4 = read_cr4();

	for (unsigned i = 0; i < ARRAY_SIZE(bits); i++) {
		const struct cr4_bit *b = &bits[i];
		u64 v = cr4 | (1ULL << b->bit);
		if (v == cr4 || (b->present == 1) != offered)
			continue;
		int e = write_cr4_safe(v);
		bool was_set = read_cr4() & (1ULL << b->bit);
		write_cr4_safe(cr4);
		if (b->present == 1)
			check(e < 0 && was_set,
			      "CR4.%s (bit %u) offered by CPUID: setting it raised %s", b->name,
			      b->bit, e >= 0 ? vector_names[e] : "nothing but did not stick");
		else
			check(e == 13, "CR4.%s (bit %u)%s: expected #GP got %s", b->name, b->bit,
			      b->present == 0 ? " hidden by CPUID" : "",
			      e >= 0 ? vector_names[e] : "no exception");
	}
	check_eq("CR4 restored", read_cr4(), cr4);
}

static void t_cr4_offered(void)
{
	cr4_bits(true);
}

static void t_cr4_hidden(void)
{
	/* QEMU 7.2's TCG does not raise #GP for such a write: bare it hangs
	 * in the instruction, and in an SVM guest it fails the next VMRUN
	 * (exit code -1, VMEXIT_INVALID), which ends the partition (the
	 * hvm-invalid-state case runs this sub-test alone for that). */
	if (pf.qemu_cpu && !cmdline_has("cr4-hidden"))
		skip("QEMU's CPU: MOV to CR4 with a hidden bit hangs (bare) or fails VMRUN (SVM guest); "
		     "cmdline cr4-hidden runs it");
	cr4_bits(false);
}

/* ---- Instructions that CPUID offers or hides (#UD when hidden). */

static int try_insn(int which)
{
	fault_vector = -1;
	switch (which) {
	case 0: /* RDRAND */
		asm volatile("leaq 1f(%%rip), %%r11; movq %%r11, fixup_rip(%%rip)\n"
			     "rdrand %%eax\n1: movq $0, fixup_rip(%%rip)" ::
				     : "rax", "r11", "memory", "cc");
		break;
	case 1: /* RDSEED */
		asm volatile("leaq 1f(%%rip), %%r11; movq %%r11, fixup_rip(%%rip)\n"
			     "rdseed %%eax\n1: movq $0, fixup_rip(%%rip)" ::
				     : "rax", "r11", "memory", "cc");
		break;
	case 2: /* MONITOR (address in RAX, no hints) */
		asm volatile("leaq 1f(%%rip), %%r11; movq %%r11, fixup_rip(%%rip)\n"
			     "movq %%rsp, %%rax; xorl %%ecx, %%ecx; xorl %%edx, %%edx\n"
			     "monitor\n1: movq $0, fixup_rip(%%rip)" ::
				     : "rax", "rcx", "rdx", "r11", "memory");
		break;
	case 3: /* RDPID */
		asm volatile("leaq 1f(%%rip), %%r11; movq %%r11, fixup_rip(%%rip)\n"
			     "rdpid %%rax\n1: movq $0, fixup_rip(%%rip)" ::
				     : "rax", "r11", "memory");
		break;
	case 4: /* RDTSCP */
		asm volatile("leaq 1f(%%rip), %%r11; movq %%r11, fixup_rip(%%rip)\n"
			     "rdtscp\n1: movq $0, fixup_rip(%%rip)" ::
				     : "rax", "rcx", "rdx", "r11", "memory");
		break;
	case 5: /* INVPCID type 2 (all contexts but globals), descriptor of zeros */ {
		u64 desc[2] = { 0, 0 };
		asm volatile("leaq 1f(%%rip), %%r11; movq %%r11, fixup_rip(%%rip)\n"
			     "movl $2, %%eax; invpcid (%0), %%rax\n1: movq $0, fixup_rip(%%rip)"
			     :
			     : "r"(desc)
			     : "rax", "r11", "memory");
		break;
	}
	case 6: /* RDFSBASE (needs CR4.FSGSBASE) */
		asm volatile("leaq 1f(%%rip), %%r11; movq %%r11, fixup_rip(%%rip)\n"
			     "rdfsbase %%rax\n1: movq $0, fixup_rip(%%rip)" ::
				     : "rax", "r11", "memory");
		break;
	case 7: /* RDPKRU (needs CR4.PKE) */
		asm volatile("leaq 1f(%%rip), %%r11; movq %%r11, fixup_rip(%%rip)\n"
			     "xorl %%ecx, %%ecx; rdpkru\n1: movq $0, fixup_rip(%%rip)" ::
				     : "rax", "rcx", "rdx", "r11", "memory");
		break;
	}
	return fault_vector;
}

static void expect_insn(int which, const char *name, bool offered)
{
	int e = try_insn(which);

	if (offered)
		check(e < 0, "%s offered by CPUID: raised %s", name, e >= 0 ? vector_names[e] : "");
	else
		check(e == 6, "%s hidden by CPUID: expected #UD got %s", name,
		      e >= 0 ? vector_names[e] : "no exception");
}

static void t_cpuid_instructions(void)
{
	expect_insn(0, "RDRAND", pf.l1.c & (1u << 30));
	expect_insn(1, "RDSEED", pf.l7.b & (1u << 18));
	expect_insn(2, "MONITOR", pf.l1.c & (1u << 3));
	expect_insn(3, "RDPID", pf.l7.c & (1u << 22));
	expect_insn(4, "RDTSCP", pf.e1.d & (1u << 27));
	if (pf.l7.b & (1u << 10))
		expect_insn(5, "INVPCID", true);
	else
		expect_insn(5, "INVPCID", false);
	u64 cr4 = read_cr4();
	expect_insn(6, "RDFSBASE with CR4.FSGSBASE clear", false);
	if ((pf.l7.b & 1) && write_cr4_safe(cr4 | (1u << 16)) < 0) {
		expect_insn(6, "RDFSBASE with CR4.FSGSBASE set", true);
		write_cr4_safe(cr4);
	}
	expect_insn(7, "RDPKRU with CR4.PKE clear", false);
	if ((pf.l7.c & (1u << 3)) && write_cr4_safe(cr4 | (1u << 22)) < 0) {
		expect_insn(7, "RDPKRU with CR4.PKE set", true);
		write_cr4_safe(cr4);
	}
}

/* ---- XSAVE (SDM Vol. 1 ch. 13; Vol. 2 XSETBV, XGETBV). */

static u64 xgetbv(u32 index)
{
	u32 lo, hi;

	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(index));
	return ((u64)hi << 32) | lo;
}

static u64 xcr0_supported(void)
{
	struct cpuid_r r = cpuid(0xd, 0);

	return ((u64)r.d << 32) | r.a;
}

static void need_xsave(void)
{
	if (!(pf.l1.c & (1u << 26)))
		skip("no XSAVE in CPUID");
	write_cr4_safe(read_cr4() | (1u << 18) | (1u << 9) | (1u << 10));
}

static void t_xsave_xcr0(void)
{
	need_xsave();
	u64 s = xcr0_supported();
	check(s & 1, "CPUID.D.0 supported XCR0: x87 must be set, got %#llx", (unsigned long long)s);
	check_eq("XCR0 at reset", xgetbv(0), 1);
	check(xsetbv_safe(0, 1) < 0, "XSETBV XCR0=1 raised an exception");
	if (s & 2) {
		check(xsetbv_safe(0, 3) < 0, "XSETBV XCR0=3 raised an exception");
		check_eq("XCR0 after XSETBV 3", xgetbv(0), 3);
	}
	if ((s & 6) == 6) {
		check(xsetbv_safe(0, 7) < 0, "XSETBV XCR0=7 raised an exception");
		check_eq("XCR0 after XSETBV 7", xgetbv(0), 7);
		check_eq("XSETBV XCR0=5 (AVX without SSE): vector", (u64)xsetbv_safe(0, 5), 13);
	}
	check_eq("XSETBV XCR0=0 (no x87): vector", (u64)xsetbv_safe(0, 0), 13);
	check_eq("XSETBV XCR0=2 (no x87): vector", (u64)xsetbv_safe(0, 2), 13);
	for (unsigned b = 1; b < 63; b++)
		if (!(s & (1ULL << b))) {
			int e = xsetbv_safe(0, s | (1ULL << b));
			check(e == 13, "XSETBV with unsupported XCR0 bit %u: expected #GP got %s",
			      b, e >= 0 ? vector_names[e] : "no exception");
			break;
		}
	check_eq("XSETBV XCR1: vector", (u64)xsetbv_safe(1, 1), 13);
	check_eq("XCR0 afterwards (the last good write)", xgetbv(0),
		 (s & 6) == 6 ? 7 :
		 s & 2	      ? 3 :
				1);
	xsetbv_safe(0, 1);
}

/* Touches the hypervisor: exits of several kinds and, by waiting long
 * enough, at least two ends of the partition's window. */
static void exits_and_switches(void)
{
	for (int i = 0; i < 100; i++) {
		(void)cpuid(0, 0);
		(void)inb(UNKNOWN_PORT);
		(void)lapic_read(0x30);
	}
	delay_ns(25000000); /* 25 ms: more than two 10 ms frames */
}

static u8 ymm_pattern(unsigned reg, unsigned byte)
{
	return (u8)(0x11 * reg + 3 * byte + 1);
}

static void t_xsave_avx_survives(void)
{
	need_xsave();
	if ((xcr0_supported() & 6) != 6 || !(pf.l1.c & (1u << 28)))
		skip("no AVX in CPUID");
	static u8 in[16][32] __aligned(32), out[16][32] __aligned(32);
	for (unsigned r = 0; r < 16; r++)
		for (unsigned b = 0; b < 32; b++)
			in[r][b] = ymm_pattern(r, b), out[r][b] = 0;
	if (!check(xsetbv_safe(0, 7) < 0, "XSETBV XCR0=7 raised an exception"))
		return;
#define YMM_ALL(op, mem)                                                                           \
	asm volatile(op " 0*32(%0), %%ymm0\n" op " 1*32(%0), %%ymm1\n" op " 2*32(%0), %%ymm2\n" op \
			" 3*32(%0), %%ymm3\n" op " 4*32(%0), %%ymm4\n" op " 5*32(%0), %%ymm5\n" op \
			" 6*32(%0), %%ymm6\n" op " 7*32(%0), %%ymm7\n" op " 8*32(%0), %%ymm8\n" op \
			" 9*32(%0), %%ymm9\n" op " 10*32(%0), %%ymm10\n" op                        \
			" 11*32(%0), %%ymm11\n" op " 12*32(%0), %%ymm12\n" op                      \
			" 13*32(%0), %%ymm13\n" op " 14*32(%0), %%ymm14\n" op                      \
			" 15*32(%0), %%ymm15\n"                                                    \
		     :                                                                             \
		     : "r"(mem)                                                                    \
		     : "memory")
#define YMM_STORE_ALL(mem)                                                                           \
	asm volatile(                                                                                \
		"vmovdqu %%ymm0, 0*32(%0)\nvmovdqu %%ymm1, 1*32(%0)\nvmovdqu %%ymm2, 2*32(%0)\n"     \
		"vmovdqu %%ymm3, 3*32(%0)\nvmovdqu %%ymm4, 4*32(%0)\nvmovdqu %%ymm5, 5*32(%0)\n"     \
		"vmovdqu %%ymm6, 6*32(%0)\nvmovdqu %%ymm7, 7*32(%0)\nvmovdqu %%ymm8, 8*32(%0)\n"     \
		"vmovdqu %%ymm9, 9*32(%0)\nvmovdqu %%ymm10, 10*32(%0)\nvmovdqu %%ymm11, 11*32(%0)\n" \
		"vmovdqu %%ymm12, 12*32(%0)\nvmovdqu %%ymm13, 13*32(%0)\n"                           \
		"vmovdqu %%ymm14, 14*32(%0)\nvmovdqu %%ymm15, 15*32(%0)\n"                           \
		:                                                                                    \
		: "r"(mem)                                                                           \
		: "memory")
	YMM_ALL("vmovdqu", in);
	exits_and_switches();
	u64 xcr0 = xgetbv(0);
	check_eq("XCR0 after exits and switches", xcr0, 7);
	if (xcr0 != 7)
		return; /* AVX would raise #UD */
	YMM_STORE_ALL(out);
	for (unsigned r = 0; r < 16; r++)
		for (unsigned b = 0; b < 32; b++)
			if (!check(out[r][b] == in[r][b],
				   "ymm%u byte %u (%s half): expected %#x got %#x", r, b,
				   b < 16 ? "xmm" : "upper", in[r][b], out[r][b]))
				r = 16, b = 32;
	asm volatile("vzeroall" ::: "memory");
	xsetbv_safe(0, 1);
}

/* x87 control word and MXCSR across exits and switches. */
static void t_fpu_control_survives(void)
{
	write_cr4_safe(read_cr4() | (1u << 9) | (1u << 10));
	u16 fcw = 0x027f, fcw_out = 0;	   /* round to nearest, 53-bit, all masked but PE */
	u32 mxcsr = 0x9fc0, mxcsr_out = 0; /* FZ, DAZ, RC=00, all masked */
	asm volatile("fninit; fldcw %0" : : "m"(fcw));
	asm volatile("ldmxcsr %0" : : "m"(mxcsr));
	exits_and_switches();
	asm volatile("fnstcw %0" : "=m"(fcw_out));
	asm volatile("stmxcsr %0" : "=m"(mxcsr_out));
	check_eq("x87 control word", fcw_out, fcw);
	check_eq("MXCSR", mxcsr_out, mxcsr);
	asm volatile("fninit");
	mxcsr = 0x1f80;
	asm volatile("ldmxcsr %0" : : "m"(mxcsr));
}

static void t_xsave_features(void)
{
	need_xsave();
	struct cpuid_r d1 = cpuid(0xd, 1);
	static u8 area[8192] __aligned(64);
	int e;

	/* XGETBV with ECX=1 (XINUSE) needs CPUID.D.1:EAX[2]. */
	fault_vector = -1;
	asm volatile("leaq 1f(%%rip), %%r11; movq %%r11, fixup_rip(%%rip)\n"
		     "movl $1, %%ecx; xgetbv\n1: movq $0, fixup_rip(%%rip)" ::
			     : "rax", "rcx", "rdx", "r11", "memory");
	e = fault_vector;
	if (d1.a & 4)
		check(e < 0, "XGETBV ECX=1 offered: raised %s", e >= 0 ? vector_names[e] : "");
	else
		check(e == 13, "XGETBV ECX=1 hidden: expected #GP got %s",
		      e >= 0 ? vector_names[e] : "nothing");
	/* XSAVEOPT (D.1:EAX[0]), XSAVEC ([1]), XSAVES ([3]): #UD when hidden. */
	memset(area, 0, sizeof(area));
	fault_vector = -1;
	asm volatile("leaq 1f(%%rip), %%r11; movq %%r11, fixup_rip(%%rip)\n"
		     "movl $1, %%eax; xorl %%edx, %%edx; xsaveopt64 (%0)\n1: movq $0, fixup_rip(%%rip)"
		     :
		     : "r"(area)
		     : "rax", "rdx", "r11", "memory");
	e = fault_vector;
	check(d1.a & 1 ? e < 0 : e == 6, "XSAVEOPT %s: got %s", d1.a & 1 ? "offered" : "hidden",
	      e >= 0 ? vector_names[e] : "no exception");
	memset(area, 0, sizeof(area));
	fault_vector = -1;
	asm volatile("leaq 1f(%%rip), %%r11; movq %%r11, fixup_rip(%%rip)\n"
		     "movl $1, %%eax; xorl %%edx, %%edx; xsavec64 (%0)\n1: movq $0, fixup_rip(%%rip)"
		     :
		     : "r"(area)
		     : "rax", "rdx", "r11", "memory");
	e = fault_vector;
	check(d1.a & 2 ? e < 0 : e == 6, "XSAVEC %s: got %s", d1.a & 2 ? "offered" : "hidden",
	      e >= 0 ? vector_names[e] : "no exception");
	memset(area, 0, sizeof(area));
	fault_vector = -1;
	asm volatile("leaq 1f(%%rip), %%r11; movq %%r11, fixup_rip(%%rip)\n"
		     "movl $1, %%eax; xorl %%edx, %%edx; xsaves64 (%0)\n1: movq $0, fixup_rip(%%rip)"
		     :
		     : "r"(area)
		     : "rax", "rdx", "r11", "memory");
	e = fault_vector;
	check(d1.a & 8 ? e < 0 : e == 6, "XSAVES %s: got %s", d1.a & 8 ? "offered" : "hidden",
	      e >= 0 ? vector_names[e] : "no exception");
}

const struct subtest tests_cpu[] = {
	{ "multiboot-info", t_multiboot_info, NULL, NULL },
	{ "multiboot-module", t_multiboot_module, NULL, NULL },
	{ "cpuid-hypervisor", t_cpuid_hypervisor, NULL, NULL },
	{ "cpuid-no-vmx-svm", t_cpuid_no_vmx_svm, NULL, NULL },
	{ "cpuid-apic", t_cpuid_apic, NULL, NULL },
	{ "cpuid-osxsave", t_cpuid_osxsave, NULL, NULL },
	{ "cpuid-prefixed", t_cpuid_prefixed, NULL, NULL },
	{ "cpuid-instructions", t_cpuid_instructions, NULL, NULL },
	{ "cr4-offered-bits", t_cr4_offered, NULL, NULL },
	{ "cr4-hidden-bits", t_cr4_hidden, NULL, NULL },
	{ "xsave-xcr0", t_xsave_xcr0, NULL, NULL },
	{ "xsave-avx-survives", t_xsave_avx_survives, NULL, NULL },
	{ "xsave-features", t_xsave_features, NULL, NULL },
	{ "fpu-control-survives", t_fpu_control_survives, NULL, NULL },
};
const unsigned tests_cpu_count = ARRAY_SIZE(tests_cpu);
