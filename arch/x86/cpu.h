/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Thin wrappers around x86 instructions used by the core: port I/O, MSRs,
 * control registers, CPUID, TSC, interrupts flag.  Nothing here knows about
 * virtualization; VMX and SVM instructions live in their back ends.
 */
#ifndef PARTITA_ARCH_X86_CPU_H
#define PARTITA_ARCH_X86_CPU_H

#include "kernel/lib/types.h"

struct cpuid_regs {
	u32 eax, ebx, ecx, edx;
};

#ifdef PARTITA_FAKE_ARCH
/* The host tests of the core (tests/unit/fake_arch.c) provide these as
 * functions: ports, MSRs, CPUID, the TSC and interrupts are the test's. */
void outb(u16 port, u8 v);
void outw(u16 port, u16 v);
void outl(u16 port, u32 v);
u8 inb(u16 port);
u16 inw(u16 port);
u32 inl(u16 port);
u64 rdmsr(u32 msr);
void wrmsr(u32 msr, u64 v);
struct cpuid_regs cpuid(u32 leaf, u32 subleaf);
u64 rdtsc(void);
u64 read_cr0(void);
u64 read_cr2(void);
u64 read_cr3(void);
u64 read_cr4(void);
void write_cr0(u64 v);
void write_cr3(u64 v);
void write_cr4(u64 v);
void cpu_relax(void);
void irq_disable(void);
void irq_enable(void);
void cpu_halt(void);
void cpu_wait_irq(void);
u64 read_rflags(void);
#else
static inline void outb(u16 port, u8 v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outw(u16 port, u16 v)
{
	asm volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outl(u16 port, u32 v)
{
	asm volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
static inline u8 inb(u16 port)
{
	u8 v;
	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline u16 inw(u16 port)
{
	u16 v;
	asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline u32 inl(u16 port)
{
	u32 v;
	asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;
	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((u64)hi << 32) | lo;
}

static inline void wrmsr(u32 msr, u64 v)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}

static inline struct cpuid_regs cpuid(u32 leaf, u32 subleaf)
{
	struct cpuid_regs r;
	asm volatile("cpuid"
		     : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
		     : "a"(leaf), "c"(subleaf));
	return r;
}

static inline u64 rdtsc(void)
{
	u32 lo, hi;
	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

static inline u64 read_cr0(void)
{
	u64 v;
	asm volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}
static inline u64 read_cr2(void)
{
	u64 v;
	asm volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}
static inline u64 read_cr3(void)
{
	u64 v;
	asm volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}
static inline u64 read_cr4(void)
{
	u64 v;
	asm volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}
static inline void write_cr0(u64 v)
{
	asm volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}
static inline void write_cr3(u64 v)
{
	asm volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}
static inline void write_cr4(u64 v)
{
	asm volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}

static inline void cpu_relax(void)
{
	asm volatile("pause" ::: "memory");
}
static inline void irq_disable(void)
{
	asm volatile("cli" ::: "memory");
}
static inline void irq_enable(void)
{
	asm volatile("sti" ::: "memory");
}
static inline void cpu_halt(void)
{
	asm volatile("hlt" ::: "memory");
}
/** Enables interrupts and halts in one step, so a pending interrupt cannot
 *  slip in between (STI's one-instruction interrupt shadow). */
static inline void cpu_wait_irq(void)
{
	asm volatile("sti; hlt" ::: "memory");
}

static inline u64 read_rflags(void)
{
	u64 v;
	asm volatile("pushfq; popq %0" : "=r"(v));
	return v;
}
#endif /* PARTITA_FAKE_ARCH */

#define MSR_EFER 0xc0000080
#define MSR_APIC_BASE 0x1b
#define MSR_TSC_DEADLINE 0x6e0
#define MSR_IA32_FEATURE_CONTROL 0x3a
#define MSR_VM_CR 0xc0010114
#define MSR_VM_HSAVE_PA 0xc0010117

#define EFER_SCE (1ULL << 0)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)
#define EFER_NXE (1ULL << 11)
#define EFER_SVME (1ULL << 12)

/* RFLAGS (SDM Vol. 1 §3.4.3). */
#define RFLAGS_CF (1ULL << 0)
#define RFLAGS_FIXED1 (1ULL << 1)
#define RFLAGS_TF (1ULL << 8)
#define RFLAGS_IF (1ULL << 9)
#define RFLAGS_DF (1ULL << 10)
#define RFLAGS_RF (1ULL << 16)

/* Exception vectors (SDM Vol. 3A Table 6-1). */
#define VECTOR_DE 0
#define VECTOR_DB 1
#define VECTOR_NMI 2
#define VECTOR_BP 3
#define VECTOR_UD 6
#define VECTOR_DF 8
#define VECTOR_GP 13
#define VECTOR_PF 14

/* CPUID feature bits the core itself tests (SDM Vol. 2A Tables 3-10, 3-11;
 * AMD APM Vol. 3 Appendix E). */
#define CPUID1_ECX_VMX (1u << 5)
#define CPUID1_ECX_XSAVE (1u << 26)
#define CPUID1_ECX_HYPERVISOR (1u << 31)
#define CPUID80000001_ECX_SVM (1u << 2)
#define CPUID80000001_EDX_RDTSCP (1u << 27)
#define CPUID7_ECX_RDPID (1u << 22)

#define CR0_PE (1ULL << 0)
#define CR0_MP (1ULL << 1)
#define CR0_ET (1ULL << 4)
#define CR0_NE (1ULL << 5)
#define CR0_WP (1ULL << 16)
#define CR0_PG (1ULL << 31)
#define CR4_PSE (1ULL << 4)
#define CR4_PAE (1ULL << 5)
#define CR4_PGE (1ULL << 7)
#define CR4_OSFXSR (1ULL << 9)
#define CR4_OSXMMEXCPT (1ULL << 10)
#define CR4_VMXE (1ULL << 13)

#endif
