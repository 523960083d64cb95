/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The conformance kernel's shared declarations: the x86 instructions it
 * uses, the trap machinery (every exception caught, a faulting instruction
 * skipped to a fix-up label), and the sub-test API (main.c).
 *
 * A sub-test is a function that calls check*() for each property; the
 * first failed check gives its FAIL detail, skip() ends it as SKIP.  An
 * unexpected exception ends the sub-test as FAIL and the run goes on with
 * the next one.
 */
#ifndef CONFORMANCE_CONF_H
#define CONFORMANCE_CONF_H

#include "kernel/lib/types.h"

/* ---- The machine. */
#define LAPIC_BASE 0xfee00000ULL
#define COM1 0x3f8
#define DEBUG_EXIT_PORT 0xf4
#define UNKNOWN_PORT 0x3a0

/* Vectors of this kernel's interrupts. */
#define VEC_TIMER 0x40
#define VEC_SELF 0x41
#define VEC_ERROR 0xfe
#define VEC_SPURIOUS 0xff
#define VEC_PIC_BASE 0x20 /* master 0x20-0x27, slave 0x28-0x2f */

/** The interrupt frame of isr_common (start.S), lowest address first. */
struct frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vector, error_code;
	u64 rip, cs, rflags, rsp, ss;
};

/* ---- Instructions. */
static inline void outb(u16 p, u8 v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(p));
}
static inline void outw(u16 p, u16 v)
{
	asm volatile("outw %0, %1" : : "a"(v), "Nd"(p));
}
static inline void outl(u16 p, u32 v)
{
	asm volatile("outl %0, %1" : : "a"(v), "Nd"(p));
}
static inline u8 inb(u16 p)
{
	u8 v;
	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(p));
	return v;
}
static inline u16 inw(u16 p)
{
	u16 v;
	asm volatile("inw %1, %0" : "=a"(v) : "Nd"(p));
	return v;
}
static inline u32 inl(u16 p)
{
	u32 v;
	asm volatile("inl %1, %0" : "=a"(v) : "Nd"(p));
	return v;
}
static inline u64 rdtsc(void)
{
	u32 lo, hi;
	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}
struct cpuid_r {
	u32 a, b, c, d;
};
static inline struct cpuid_r cpuid(u32 leaf, u32 sub)
{
	struct cpuid_r r;
	asm volatile("cpuid" : "=a"(r.a), "=b"(r.b), "=c"(r.c), "=d"(r.d) : "a"(leaf), "c"(sub));
	return r;
}
static inline u64 read_cr0(void)
{
	u64 v;
	asm volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}
static inline u64 read_cr4(void)
{
	u64 v;
	asm volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}
static inline u64 read_cr3(void)
{
	u64 v;
	asm volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}
static inline void write_cr3(u64 v)
{
	asm volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}
static inline u64 read_cr8(void)
{
	u64 v;
	asm volatile("mov %%cr8, %0" : "=r"(v));
	return v;
}
static inline void write_cr8(u64 v)
{
	asm volatile("mov %0, %%cr8" : : "r"(v) : "memory");
}
static inline u64 read_flags(void)
{
	u64 f;
	asm volatile("pushfq; popq %0" : "=r"(f));
	return f;
}
static inline void sti(void)
{
	asm volatile("sti" ::: "memory");
}
static inline void cli(void)
{
	asm volatile("cli" ::: "memory");
}
static inline void pause(void)
{
	asm volatile("pause" ::: "memory");
}
static inline u32 mmio_read32(u64 a)
{
	return *(volatile u32 *)(uintptr_t)a;
}
static inline void mmio_write32(u64 a, u32 v)
{
	*(volatile u32 *)(uintptr_t)a = v;
}
static inline u32 lapic_read(u32 reg)
{
	return mmio_read32(LAPIC_BASE + reg);
}
static inline void lapic_write(u32 reg, u32 v)
{
	mmio_write32(LAPIC_BASE + reg, v);
}

/* ---- Faults.  Each *_safe function returns -1 if the instruction
 * completed, else the vector of the exception it raised (the instruction
 * is then skipped). */
extern volatile u64 fixup_rip;
extern volatile int fault_vector;
extern volatile u64 fault_error;
int rdmsr_safe(u32 msr, u64 *value);
int wrmsr_safe(u32 msr, u64 value);
int write_cr4_safe(u64 value);
int xsetbv_safe(u32 index, u64 value);
u64 rdmsr(u32 msr); /* an exception here fails the sub-test */
void wrmsr(u32 msr, u64 value);

/** Per-vector interrupt counts (vectors 32-255, and 2 for NMI). */
extern volatile u32 irq_count[256];
/** A handler of one vector, run instead of the default (may change f). */
typedef void (*isr_hook)(struct frame *f);
extern isr_hook isr_hooks[256];
/** Which EOI the default handler of vectors >= 32 sends. */
enum eoi_kind { EOI_NONE, EOI_XAPIC, EOI_X2APIC, EOI_PIC };
extern volatile enum eoi_kind eoi_kind;

/* ---- The platform, as found at start (main.c). */
struct platform {
	bool intel, amd;
	bool hypervisor; /* CPUID.1:ECX[31] */
	bool partita;	 /* leaf 0x40000000 says "PartitaHV" */
	bool qemu_cpu;	 /* the brand string says QEMU: QEMU's CPU emulation */
	bool bare;	 /* no hypervisor at all */
	u64 tsc_hz;
	u64 ram_top; /* end of the RAM from 1 MiB (Multiboot mem_upper) */
	u32 max_leaf, max_ext_leaf;
	struct cpuid_r l1, l7, e1;
	const char *cmdline;
	u32 mb_info;
};
extern struct platform pf;

/** Busy-waits ns nanoseconds by the TSC. */
void delay_ns(u64 ns);
/** Waits with interrupts on (HLT) until *counter reaches want or ns pass;
 *  returns whether it did. */
bool wait_count(volatile u32 *counter, u32 want, u64 ns);

/** True if the command line holds word. */
bool cmdline_has(const char *word);
/** The number after key (e.g. "period=") in the command line, or def. */
u64 cmdline_u64(const char *key, u64 def);

/* ---- Output. */
int printf(const char *fmt, ...) __printf(1, 2);

/* ---- Sub-test results. */
/** Records a failed property (the first one is reported); returns ok. */
bool check(bool ok, const char *fmt, ...) __printf(2, 3);
/** check() of got == want, with "NAME: expected WANT got GOT". */
bool check_eq(const char *what, u64 got, u64 want);
/** Ends the sub-test as SKIP with the reason; does not return. */
__noreturn void skip(const char *fmt, ...) __printf(1, 2);
/** A note printed under the sub-test's result line. */
void note(const char *fmt, ...) __printf(1, 2);

/** One sub-test.  qemu_dev: QEMU's device or MSR models are known to be
 *  wrong here (applies under bare QEMU only; Partita replaces those
 *  models); qemu_cpu: QEMU's CPU emulation is (applies whenever the CPU is
 *  QEMU's, bare or below a hypervisor that passes the feature through).
 *  A FAIL that such a reason covers is reported as SKIP with it. */
struct subtest {
	const char *name;
	void (*fn)(void);
	const char *qemu_dev;
	const char *qemu_cpu;
};

#define SUBTESTS(group)                      \
	extern const struct subtest group[]; \
	extern const unsigned group##_count
SUBTESTS(tests_cpu);
SUBTESTS(tests_msr);
SUBTESTS(tests_apic);
SUBTESTS(tests_legacy);
SUBTESTS(tests_debug);
SUBTESTS(tests_x2apic);
SUBTESTS(tests_cr8);
SUBTESTS(tests_final);

/* APIC helpers shared by the groups (t_apic.c). */
/** xAPIC mode, software-enabled, TPR 0, LVTs masked, ESR clear, EOI by
 *  MMIO from the default handler.  False if the APIC cannot be put there. */
bool apic_setup_xapic(void);
/** Sends an IPI through the xAPIC ICR (high half first). */
void xapic_send(u32 icr_lo, u8 dest);
extern const char *const vector_names[32];

#endif
