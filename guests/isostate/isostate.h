/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * State isolation between partitions, from inside: the per-CPU
 * architectural state a guest at CPL 0 can write without MSRs, set to
 * patterns that depend on a seed, then held while the partition is
 * switched out and in again, then read back.  Two partitions with
 * different seeds run this side by side: a value that comes back as the
 * other seed's pattern is a leak, any other change a loss.  Used by the
 * paravirtual guest guests/isostate (main.c) and by the conformance
 * kernel's hvm variant (guests/conformance/t_iso.c), which adds the MSRs.
 *
 * Header only, included by exactly one file per image (it defines the
 * holding loop in assembly).
 *
 * What it covers: the general registers but RSP and RCX (the loop
 * counter), RFLAGS.DF, DR0-DR3, DR6, DR7 (its condition, length and
 * GE/LE fields, no breakpoint enabled), CR2, CR8 (1 or 2: a task
 * priority that blocks no vector a hypervisor would use), the x87 control word and
 * data registers, MXCSR, XMM0-15 and, with AVX usable, the upper halves
 * of YMM0-15, FS.base and GS.base (WRFSBASE/WRGSBASE where CPUID offers
 * FSGSBASE, else by loading descriptors with a base), KERNEL_GS_BASE by
 * SWAPGS, and PKRU with PKU.
 */
#ifndef GUESTS_ISOSTATE_H
#define GUESTS_ISOSTATE_H

#include "kernel/lib/types.h"

enum iso_item {
	ISO_RAX,
	ISO_RBX,
	ISO_RDX,
	ISO_RSI,
	ISO_RDI,
	ISO_RBP,
	ISO_R8,
	ISO_R9,
	ISO_R10,
	ISO_R11,
	ISO_R12,
	ISO_R13,
	ISO_R14,
	ISO_R15,
	ISO_DF,
	ISO_DR0,
	ISO_DR1,
	ISO_DR2,
	ISO_DR3,
	ISO_DR6,
	ISO_DR7,
	ISO_CR2,
	ISO_CR8,
	ISO_FCW,
	ISO_ST0,
	ISO_ST7 = ISO_ST0 + 7,
	ISO_MXCSR,
	ISO_XMM0,
	ISO_XMM15 = ISO_XMM0 + 15,
	ISO_YMMH0,
	ISO_YMMH15 = ISO_YMMH0 + 15,
	ISO_FS_BASE,
	ISO_GS_BASE,
	ISO_KERNEL_GS_BASE,
	ISO_PKRU,
	ISO_ITEMS
};

static const char *const iso_gpr_names[] = { "RAX", "RBX", "RDX", "RSI", "RDI", "RBP", "R8",
					     "R9",  "R10", "R11", "R12", "R13", "R14", "R15" };

/** Name of an item, into buf. */
static inline const char *iso_name(unsigned i, char *buf, unsigned size)
{
	static const char *const fixed[] = { "RFLAGS.DF", "DR0", "DR1", "DR2",	     "DR3",
					     "DR6",	  "DR7", "CR2", "CR8 (TPR)", "FCW" };
	const char *n = NULL;
	unsigned k = 0;

	if (i <= ISO_R15)
		n = iso_gpr_names[i];
	else if (i <= ISO_FCW)
		n = fixed[i - ISO_DF];
	else if (i <= ISO_ST7)
		n = "ST", k = i - ISO_ST0;
	else if (i == ISO_MXCSR)
		n = "MXCSR";
	else if (i <= ISO_XMM15)
		n = "XMM", k = i - ISO_XMM0;
	else if (i <= ISO_YMMH15)
		n = "YMM upper half of YMM", k = i - ISO_YMMH0;
	else if (i == ISO_FS_BASE)
		n = "FS.base";
	else if (i == ISO_GS_BASE)
		n = "GS.base";
	else if (i == ISO_KERNEL_GS_BASE)
		n = "KERNEL_GS_BASE";
	else
		n = "PKRU";
	unsigned j = 0;
	for (; n[j] && j + 3 < size; j++)
		buf[j] = n[j];
	bool indexed = (i >= ISO_ST0 && i <= ISO_ST7) || (i >= ISO_XMM0 && i <= ISO_YMMH15);
	if (indexed) {
		if (k >= 10)
			buf[j++] = (char)('0' + k / 10);
		buf[j++] = (char)('0' + k % 10);
	}
	buf[j] = 0;
	return buf;
}

/** The pattern of item i for a seed: distinct per item and per seed, a
 *  canonical user address (bits 47-63 clear) where the item is one. */
static inline u64 iso_pattern(unsigned i, unsigned seed)
{
	u64 v = 0x9e3779b97f4a7c15ULL * (i + 1) ^ (0xbf58476d1ce4e5b9ULL * seed);

	v ^= v >> 29;
	switch (i) {
	case ISO_DF:
		return seed & 1;
	case ISO_DR0:
	case ISO_DR1:
	case ISO_DR2:
	case ISO_DR3:
	case ISO_CR2:
	case ISO_FS_BASE:
	case ISO_GS_BASE:
	case ISO_KERNEL_GS_BASE:
		return (v & 0x00007ffffffff000ULL) | 0x1000;
	case ISO_DR6:
		/* B0-B3 (bits 0-3) and BS (14) writable; the rest reads fixed. */
		return 0xffff0ff0ULL | (v & 0xf) | (seed & 1 ? 1u << 14 : 0);
	case ISO_DR7:
		/* LE, GE, and the R/W and LEN fields of the four breakpoints;
		 * no L or G enable bit, so no breakpoint fires.  R/W = 10b (I/O)
		 * needs CR4.DE: avoided by clearing bit 1 of each field. */
		return 0x400 | (seed & 1 ? 0x100 : 0x200) |
		       ((v << 16) & 0xddddffff0000ULL & 0xffff0000ULL);
	case ISO_CR8:
		return seed & 1 ? 1 : 2;
	case ISO_FCW:
		/* precision and rounding fields, all exceptions masked */
		return 0x3f | ((v & 0xf) << 8) | 0x40;
	case ISO_MXCSR:
		/* all exceptions masked, rounding and FZ/DAZ from the pattern */
		return 0x1f80 | (v & 0x6040);
	case ISO_PKRU:
		return (u32)v & 0xfffffffcu; /* key 0 stays accessible */
	default:
		return v;
	}
}

/** The state of one check: every item's value. */
struct iso_state {
	u64 v[ISO_ITEMS];
	u8 xmm[16][16] __aligned(16), ymmh[16][16];
	bool fsgsbase, avx, pku;
};

/* The general registers, in the order of enum iso_item (set[ISO_DF]
 * gives RFLAGS.DF), held for `loops` iterations of a counting loop in RCX:
 * a switch of partitions during the loop finds them all live.  got
 * receives them (and DF) as they came out of the loop. */
void iso_hold(const u64 *set, u64 *got, u64 loops);
asm(".pushsection .text\n"
    ".global iso_hold\n"
    "iso_hold:\n"
    "	pushq %rbx\n	pushq %rbp\n	pushq %r12\n	pushq %r13\n	pushq %r14\n	pushq %r15\n"
    "	pushq %rsi\n"
    "	movq %rdx, %rcx\n"
    "	testq %rcx, %rcx\n	jnz 1f\n	incq %rcx\n1:\n"
    "	cld\n"
    "	testb $1, 112(%rdi)\n	jz 2f\n	std\n2:\n"
    "	movq 0(%rdi), %rax\n	movq 8(%rdi), %rbx\n	movq 16(%rdi), %rdx\n	movq 24(%rdi), %rsi\n"
    "	movq 40(%rdi), %rbp\n	movq 48(%rdi), %r8\n	movq 56(%rdi), %r9\n	movq 64(%rdi), %r10\n"
    "	movq 72(%rdi), %r11\n	movq 80(%rdi), %r12\n	movq 88(%rdi), %r13\n	movq 96(%rdi), %r14\n"
    "	movq 104(%rdi), %r15\n"
    "	movq 32(%rdi), %rdi\n"
    "3:	decq %rcx\n	jnz 3b\n"
    "	pushfq\n"
    "	cld\n"
    "	pushq %rdi\n"
    "	movq 16(%rsp), %rdi\n"
    "	movq %rax, 0(%rdi)\n	movq %rbx, 8(%rdi)\n	movq %rdx, 16(%rdi)\n	movq %rsi, 24(%rdi)\n"
    "	movq %rbp, 40(%rdi)\n	movq %r8, 48(%rdi)\n	movq %r9, 56(%rdi)\n	movq %r10, 64(%rdi)\n"
    "	movq %r11, 72(%rdi)\n	movq %r12, 80(%rdi)\n	movq %r13, 88(%rdi)\n	movq %r14, 96(%rdi)\n"
    "	movq %r15, 104(%rdi)\n"
    "	popq %rax\n	movq %rax, 32(%rdi)\n"
    "	popq %rax\n	shrq $10, %rax\n	andq $1, %rax\n	movq %rax, 112(%rdi)\n"
    "	popq %rsi\n"
    "	popq %r15\n	popq %r14\n	popq %r13\n	popq %r12\n	popq %rbp\n	popq %rbx\n"
    "	ret\n"
    ".popsection\n");

static inline u64 iso_read_dr(unsigned n)
{
	u64 v = 0;

	switch (n) {
	case 0:
		asm volatile("mov %%dr0, %0" : "=r"(v));
		break;
	case 1:
		asm volatile("mov %%dr1, %0" : "=r"(v));
		break;
	case 2:
		asm volatile("mov %%dr2, %0" : "=r"(v));
		break;
	case 3:
		asm volatile("mov %%dr3, %0" : "=r"(v));
		break;
	case 6:
		asm volatile("mov %%dr6, %0" : "=r"(v));
		break;
	case 7:
		asm volatile("mov %%dr7, %0" : "=r"(v));
		break;
	}
	return v;
}

static inline void iso_write_dr(unsigned n, u64 v)
{
	switch (n) {
	case 0:
		asm volatile("mov %0, %%dr0" : : "r"(v));
		break;
	case 1:
		asm volatile("mov %0, %%dr1" : : "r"(v));
		break;
	case 2:
		asm volatile("mov %0, %%dr2" : : "r"(v));
		break;
	case 3:
		asm volatile("mov %0, %%dr3" : : "r"(v));
		break;
	case 6:
		asm volatile("mov %0, %%dr6" : : "r"(v));
		break;
	case 7:
		asm volatile("mov %0, %%dr7" : : "r"(v));
		break;
	}
}

/* Descriptors with a base, for FS and GS where WRFSBASE is not offered
 * (SDM Vol. 3A 3.4.4: in 64-bit mode a segment load sets base[31:0]). */
static u64 iso_gdt[8] __aligned(16);

static inline void iso_load_base_by_descriptor(bool gs, u32 base)
{
	struct __packed {
		u16 limit;
		u64 base;
	} gdtr;
	u16 sel = gs ? 0x28 : 0x20;

	asm volatile("sgdt %0" : "=m"(gdtr));
	if (gdtr.base != (u64)(uintptr_t)iso_gdt) {
		const u64 *old = (const u64 *)(uintptr_t)gdtr.base;
		for (unsigned i = 0; i < 4 && i * 8 < (unsigned)gdtr.limit + 1; i++)
			iso_gdt[i] = old[i];
		gdtr.base = (u64)(uintptr_t)iso_gdt;
		gdtr.limit = sizeof(iso_gdt) - 1;
		asm volatile("lgdt %0" : : "m"(gdtr));
	}
	/* data, present, DPL 0, with the base */
	iso_gdt[sel / 8] = 0x00cf93000000ffffULL | ((u64)(base & 0xffffff) << 16) |
			   ((u64)(base >> 24) << 56);
	if (gs)
		asm volatile("movw %0, %%gs" : : "r"(sel));
	else
		asm volatile("movw %0, %%fs" : : "r"(sel));
}

static inline u64 iso_xgetbv0(void)
{
	u32 lo, hi;

	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((u64)hi << 32) | lo;
}

/** Finds what this CPU lets a CPL-0 guest use (CR4 bits it may set itself:
 *  OSFXSR for SSE, OSXSAVE for AVX if XCR0 already enables it, FSGSBASE,
 *  PKE). */
static inline void iso_setup(struct iso_state *s)
{
	u32 a, b, c, d;
	u64 cr4;

	asm volatile("mov %%cr4, %0" : "=r"(cr4));
	cr4 |= (1u << 9) | (1u << 10); /* OSFXSR, OSXMMEXCPT */
	asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	bool xsave = c & (1u << 26), avx = c & (1u << 28);
	asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
	s->fsgsbase = b & 1;
	s->pku = c & (1u << 3);
	if (xsave)
		cr4 |= 1u << 18;
	if (s->fsgsbase)
		cr4 |= 1u << 16;
	if (s->pku)
		cr4 |= 1u << 22;
	asm volatile("mov %0, %%cr4" : : "r"(cr4));
	s->avx = xsave && avx && (iso_xgetbv0() & 6) == 6;
}

static inline u64 iso_rdfsbase(void)
{
	u64 v;
	asm volatile("rdfsbase %0" : "=r"(v));
	return v;
}

static inline u64 iso_rdgsbase(void)
{
	u64 v;
	asm volatile("rdgsbase %0" : "=r"(v));
	return v;
}

/* FS and GS through a marker: with descriptors, FS.base can only be
 * checked by reading through it.  The marker page of a seed. */
static u64 iso_marker[2][512] __aligned(4096);

/** Sets every non-GPR item to the seed's patterns. */
static inline void iso_set_state(struct iso_state *s, unsigned seed)
{
	u64 p[ISO_ITEMS];

	for (unsigned i = 0; i < ISO_ITEMS; i++)
		p[i] = iso_pattern(i, seed);
	for (unsigned i = 0; i < 4; i++)
		iso_write_dr(i, p[ISO_DR0 + i]);
	iso_write_dr(6, p[ISO_DR6]);
	iso_write_dr(7, p[ISO_DR7]);
	asm volatile("mov %0, %%cr2" : : "r"(p[ISO_CR2]));
	asm volatile("mov %0, %%cr8" : : "r"(p[ISO_CR8]));
	u16 fcw = (u16)p[ISO_FCW];
	u32 mxcsr = (u32)p[ISO_MXCSR];
	asm volatile("fninit; fldcw %0" : : "m"(fcw));
	for (unsigned i = 0; i < 8; i++) /* pushed ST7 first: ST0 is the last */
		asm volatile("fildll %0" : : "m"(p[ISO_ST7 - i]));
	asm volatile("ldmxcsr %0" : : "m"(mxcsr));
	for (unsigned r = 0; r < 16; r++)
		for (unsigned b = 0; b < 16; b++) {
			s->xmm[r][b] = (u8)(iso_pattern(ISO_XMM0 + r, seed) >> (8 * (b & 7))) ^
				       (u8)b;
			s->ymmh[r][b] = (u8)(iso_pattern(ISO_YMMH0 + r, seed) >> (8 * (b & 7))) ^
					(u8)b;
		}
#define ISO_XMM_LOAD(m)                                                                            \
	asm volatile("movdqu 0(%0), %%xmm0\nmovdqu 16(%0), %%xmm1\nmovdqu 32(%0), %%xmm2\n"        \
		     "movdqu 48(%0), %%xmm3\nmovdqu 64(%0), %%xmm4\nmovdqu 80(%0), %%xmm5\n"       \
		     "movdqu 96(%0), %%xmm6\nmovdqu 112(%0), %%xmm7\nmovdqu 128(%0), %%xmm8\n"     \
		     "movdqu 144(%0), %%xmm9\nmovdqu 160(%0), %%xmm10\nmovdqu 176(%0), %%xmm11\n"  \
		     "movdqu 192(%0), %%xmm12\nmovdqu 208(%0), %%xmm13\nmovdqu 224(%0), %%xmm14\n" \
		     "movdqu 240(%0), %%xmm15\n"                                                   \
		     :                                                                             \
		     : "r"(m)                                                                      \
		     : "memory")
#define ISO_XMM_STORE(m)                                                                           \
	asm volatile("movdqu %%xmm0, 0(%0)\nmovdqu %%xmm1, 16(%0)\nmovdqu %%xmm2, 32(%0)\n"        \
		     "movdqu %%xmm3, 48(%0)\nmovdqu %%xmm4, 64(%0)\nmovdqu %%xmm5, 80(%0)\n"       \
		     "movdqu %%xmm6, 96(%0)\nmovdqu %%xmm7, 112(%0)\nmovdqu %%xmm8, 128(%0)\n"     \
		     "movdqu %%xmm9, 144(%0)\nmovdqu %%xmm10, 160(%0)\nmovdqu %%xmm11, 176(%0)\n"  \
		     "movdqu %%xmm12, 192(%0)\nmovdqu %%xmm13, 208(%0)\nmovdqu %%xmm14, 224(%0)\n" \
		     "movdqu %%xmm15, 240(%0)\n"                                                   \
		     :                                                                             \
		     : "r"(m)                                                                      \
		     : "memory")
	if (s->avx) {
		/* upper halves first (VINSERTF128 into YMMn from the XMM
		 * pattern and the upper pattern), then nothing may touch them:
		 * the code in between is general-register only */
		static u8 y[16][32] __aligned(32);
		for (unsigned r = 0; r < 16; r++)
			for (unsigned b = 0; b < 16; b++)
				y[r][b] = s->xmm[r][b], y[r][16 + b] = s->ymmh[r][b];
		asm volatile(
			"vmovdqu 0(%0), %%ymm0\nvmovdqu 32(%0), %%ymm1\nvmovdqu 64(%0), %%ymm2\n"
			"vmovdqu 96(%0), %%ymm3\nvmovdqu 128(%0), %%ymm4\nvmovdqu 160(%0), %%ymm5\n"
			"vmovdqu 192(%0), %%ymm6\nvmovdqu 224(%0), %%ymm7\nvmovdqu 256(%0), %%ymm8\n"
			"vmovdqu 288(%0), %%ymm9\nvmovdqu 320(%0), %%ymm10\nvmovdqu 352(%0), %%ymm11\n"
			"vmovdqu 384(%0), %%ymm12\nvmovdqu 416(%0), %%ymm13\nvmovdqu 448(%0), %%ymm14\n"
			"vmovdqu 480(%0), %%ymm15\n"
			:
			: "r"(y)
			: "memory");
	} else {
		ISO_XMM_LOAD(s->xmm);
	}
	u64 fsb = p[ISO_FS_BASE], gsb = p[ISO_GS_BASE], kgs = p[ISO_KERNEL_GS_BASE];
	if (s->fsgsbase) {
		asm volatile("wrgsbase %0" : : "r"(kgs));
		asm volatile("swapgs" ::: "memory");
		asm volatile("wrfsbase %0" : : "r"(fsb));
		asm volatile("wrgsbase %0" : : "r"(gsb));
	} else {
		/* bases within the marker page, which holds its own address */
		u64 m = (u64)(uintptr_t)iso_marker[seed & 1];
		for (unsigned i = 0; i < 512; i++)
			iso_marker[seed & 1][i] = m + 8 * i;
		iso_load_base_by_descriptor(true, (u32)m + 16);
		asm volatile("swapgs" ::: "memory");
		iso_load_base_by_descriptor(false, (u32)m);
		iso_load_base_by_descriptor(true, (u32)m + 8);
	}
	if (s->pku)
		asm volatile("wrpkru" : : "a"((u32)p[ISO_PKRU]), "c"(0), "d"(0));
}

/** Reads every non-GPR item back into s->v (the GPRs come from iso_hold). */
static inline void iso_get_state(struct iso_state *s, unsigned seed)
{
	for (unsigned i = 0; i < 4; i++)
		s->v[ISO_DR0 + i] = iso_read_dr(i);
	s->v[ISO_DR6] = iso_read_dr(6);
	s->v[ISO_DR7] = iso_read_dr(7);
	asm volatile("mov %%cr2, %0" : "=r"(s->v[ISO_CR2]));
	asm volatile("mov %%cr8, %0" : "=r"(s->v[ISO_CR8]));
	u16 fcw;
	u32 mxcsr;
	asm volatile("fnstcw %0" : "=m"(fcw));
	asm volatile("stmxcsr %0" : "=m"(mxcsr));
	s->v[ISO_FCW] = fcw;
	s->v[ISO_MXCSR] = mxcsr;
	for (unsigned i = 0; i < 8; i++)
		asm volatile("fistpll %0" : "=m"(s->v[ISO_ST0 + i]));
	if (s->avx) {
		static u8 y[16][32] __aligned(32);
		asm volatile(
			"vmovdqu %%ymm0, 0(%0)\nvmovdqu %%ymm1, 32(%0)\nvmovdqu %%ymm2, 64(%0)\n"
			"vmovdqu %%ymm3, 96(%0)\nvmovdqu %%ymm4, 128(%0)\nvmovdqu %%ymm5, 160(%0)\n"
			"vmovdqu %%ymm6, 192(%0)\nvmovdqu %%ymm7, 224(%0)\nvmovdqu %%ymm8, 256(%0)\n"
			"vmovdqu %%ymm9, 288(%0)\nvmovdqu %%ymm10, 320(%0)\nvmovdqu %%ymm11, 352(%0)\n"
			"vmovdqu %%ymm12, 384(%0)\nvmovdqu %%ymm13, 416(%0)\nvmovdqu %%ymm14, 448(%0)\n"
			"vmovdqu %%ymm15, 480(%0)\n"
			:
			: "r"(y)
			: "memory");
		for (unsigned r = 0; r < 16; r++)
			for (unsigned b = 0; b < 16; b++)
				s->xmm[r][b] = y[r][b], s->ymmh[r][b] = y[r][16 + b];
	} else {
		ISO_XMM_STORE(s->xmm);
	}
	/* Each vector register as one value: its bytes folded. */
	for (unsigned r = 0; r < 16; r++) {
		u64 x = 0, y = 0;
		for (unsigned b = 0; b < 16; b++)
			x = x * 131 + s->xmm[r][b], y = y * 131 + s->ymmh[r][b];
		s->v[ISO_XMM0 + r] = x;
		s->v[ISO_YMMH0 + r] = y;
	}
	if (s->fsgsbase) {
		s->v[ISO_FS_BASE] = iso_rdfsbase();
		s->v[ISO_GS_BASE] = iso_rdgsbase();
		asm volatile("swapgs" ::: "memory");
		s->v[ISO_KERNEL_GS_BASE] = iso_rdgsbase();
		asm volatile("swapgs" ::: "memory");
	} else {
		/* Read through the bases: the marker word there holds its own
		 * address; translated back to the pattern's form. */
		u64 f, g, k;
		asm volatile("movq %%fs:0, %0" : "=r"(f));
		asm volatile("movq %%gs:0, %0" : "=r"(g));
		asm volatile("swapgs; movq %%gs:0, %0; swapgs" : "=r"(k) : : "memory");
		u64 m = (u64)(uintptr_t)iso_marker[seed & 1];
		s->v[ISO_FS_BASE] = f == m ? iso_pattern(ISO_FS_BASE, seed) : f;
		s->v[ISO_GS_BASE] = g == m + 8 ? iso_pattern(ISO_GS_BASE, seed) : g;
		s->v[ISO_KERNEL_GS_BASE] = k == m + 16 ? iso_pattern(ISO_KERNEL_GS_BASE, seed) : k;
	}
	if (s->pku) {
		u32 pk;
		asm volatile("rdpkru" : "=a"(pk) : "c"(0) : "rdx");
		s->v[ISO_PKRU] = pk;
	} else {
		s->v[ISO_PKRU] = iso_pattern(ISO_PKRU, seed);
	}
}

/** State beyond this header's (the hvm variant's MSRs): count items with
 *  their names, patterns, and functions that set and read them all. */
struct iso_extra {
	unsigned count;
	const char *(*name)(unsigned i);
	u64 (*pattern)(unsigned i, unsigned seed);
	void (*set)(unsigned seed);
	void (*get)(u64 *out);
};

#define ISO_EXTRA_MAX 16

struct iso_run_state {
	struct iso_state st;
	u64 baseline[ISO_ITEMS + ISO_EXTRA_MAX], v[ISO_ITEMS + ISO_EXTRA_MAX];
	u64 set[ISO_ITEMS], got[ISO_ITEMS];
	u64 seen[ISO_ITEMS + ISO_EXTRA_MAX];
};

/* The folded form of a vector register's pattern (as iso_get_state
 * reports vector registers), for telling a leak from another change. */
static inline u64 iso_fold_pattern(unsigned i, unsigned seed)
{
	u64 x = 0;

	for (unsigned b = 0; b < 16; b++)
		x = x * 131 + (u8)((u8)(iso_pattern(i, seed) >> (8 * (b & 7))) ^ (u8)b);
	return x;
}

static inline u64 iso_rdtsc(void)
{
	u32 lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

/* One round: set, hold, read back; its length in TSC ticks. */
static inline u64 iso_round(struct iso_run_state *r, const struct iso_extra *x, unsigned seed,
			    u64 loops)
{
	u64 t0 = iso_rdtsc();

	iso_set_state(&r->st, seed);
	if (x)
		x->set(seed);
	iso_hold(r->set, r->got, loops);
	iso_get_state(&r->st, seed);
	for (unsigned i = 0; i < ISO_ITEMS; i++)
		r->v[i] = i <= ISO_DF ? r->got[i] : r->st.v[i];
	if (x)
		x->get(&r->v[ISO_ITEMS]);
	return iso_rdtsc() - t0;
}

/**
 * The check: sets, holds and reads back the state in rounds of about
 * 300 us until `switches` rounds were interrupted by a switch (0: for
 * ever), printing each item that changed once ("FAIL leak NAME" if it
 * came back as the other seed's pattern) and a summary line.  Returns 0
 * if nothing changed, 1 otherwise.
 */
static inline int iso_run(struct iso_run_state *r, unsigned seed, unsigned other, u64 switches,
			  u64 tsc_hz, const struct iso_extra *x, int (*print)(const char *fmt, ...))
{
	unsigned n = ISO_ITEMS + (x ? x->count : 0);
	char name[32];

	iso_setup(&r->st);
	for (unsigned i = 0; i <= ISO_DF; i++)
		r->set[i] = iso_pattern(i, seed);
	/* The state as this CPU reads it back with no switch in between;
	 * loops for about 300 us, from the shortest of a few rounds. */
	u64 loops = 10000, best = ~0ULL, target = tsc_hz / 3333;
	for (int i = 0; i < 5; i++) {
		u64 t = iso_round(r, x, seed, loops);
		best = t < best ? t : best;
	}
	if (best && best != ~0ULL)
		loops = loops * target / best > 1000 ? loops * target / best : 1000;
	u64 round_tsc = ~0ULL;
	for (int i = 0; i < 4; i++) {
		u64 t = iso_round(r, x, seed, loops);
		round_tsc = t < round_tsc ? t : round_tsc;
	}
	/* The baseline from a round that no switch interrupted. */
	for (int i = 0; i < 100 && iso_round(r, x, seed, loops) > 2 * round_tsc; i++)
		;
	for (unsigned i = 0; i < n; i++)
		r->baseline[i] = r->v[i];
	print("seed %u (other %u): FSGSBASE %s, AVX %s, PKU %s, %u more items; %llu loops a round "
	      "(%llu us)\n",
	      seed, other, r->st.fsgsbase ? "yes" : "no (descriptor bases)",
	      r->st.avx ? "yes" : "no", r->st.pku ? "yes" : "no", x ? x->count : 0,
	      (unsigned long long)loops, (unsigned long long)(round_tsc / (tsc_hz / 1000000)));

	u64 rounds = 0, switched = 0, leaks = 0, changes = 0;
	for (;;) {
		u64 t = iso_round(r, x, seed, loops);
		bool across = t > 3 * round_tsc;
		rounds++;
		switched += across;
		for (unsigned i = 0; i < n; i++) {
			if (r->v[i] == r->baseline[i])
				continue;
			u64 theirs = i >= ISO_ITEMS ? x->pattern(i - ISO_ITEMS, other) :
				     i >= ISO_XMM0 && i <= ISO_YMMH15 ? iso_fold_pattern(i, other) :
									iso_pattern(i, other);
			bool leak = r->v[i] == theirs;
			if (r->seen[i]++)
				continue;
			print("FAIL %s %s: got %#llx, its own %#llx%s (round %llu, %s)\n",
			      leak ? "leak" : "changed",
			      i >= ISO_ITEMS ? x->name(i - ISO_ITEMS) :
					       iso_name(i, name, sizeof(name)),
			      (unsigned long long)r->v[i], (unsigned long long)r->baseline[i],
			      leak ? " (the other partition's)" : "", (unsigned long long)rounds,
			      across ? "across a switch" : "no switch seen");
			if (leak)
				leaks++;
			else
				changes++;
		}
		if (switches && switched >= switches)
			break;
	}
	unsigned items = 0;
	for (unsigned i = 0; i < n; i++)
		items += r->seen[i] != 0;
	print("seed %u: %llu rounds, %llu across a switch, %llu leaks and %llu changes in %u of %u "
	      "items\n",
	      seed, (unsigned long long)rounds, (unsigned long long)switched,
	      (unsigned long long)leaks, (unsigned long long)changes, items, n);
	return leaks || changes ? 1 : 0;
}

#endif
