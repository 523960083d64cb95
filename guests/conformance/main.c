/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * conformance: a Multiboot kernel of our own that checks, from inside, that
 * the virtual PC of an hvm partition behaves as a PC does (Intel SDM, AMD
 * APM), one sub-test at a time.  It switches to long mode (start.S), finds
 * out what CPU and platform it runs on, runs the sub-tests of t_*.c and
 * prints one line for each:
 *
 *   PASS: name
 *   FAIL: name (detail: expected X got Y)
 *   SKIP: name (reason)
 *
 * then "SUMMARY: N passed, N failed, N skipped", and writes the number of
 * failures (at most 127) to the debug-exit port 0xf4.  An unexpected
 * exception ends only the sub-test it happened in.  The command line may
 * hold "only=a,b,..." or "skip=a,b,..." (sub-test names, or a prefix ending
 * in '*'; a skipped one prints "SKIP: name (a known gap, ...)"), "verbose" (every failed check, not only the first), "timing"
 * (each sub-test's time), "cr4-hidden" (see below).  Two other modes use
 * the same kernel: "isolation seed=N ..." (t_iso.c, the hvm state-
 * isolation pair) and "logflood" (t_flood.c).
 *
 * The reference is the same kernel booted by QEMU directly (`-kernel`, same
 * CPU model without svm): under Partita every sub-test must give what bare
 * QEMU gives, except where QEMU's own emulation is known to be wrong.  Those
 * exceptions are marked on the sub-tests (struct subtest: qemu_dev for
 * QEMU's device and MSR models, which only matter under bare QEMU, since
 * Partita intercepts and replaces them; qemu_cpu for QEMU's CPU emulation,
 * which also shows through a hypervisor that passes the feature on).  Where
 * one applies, a failure is printed as "SKIP: name (known QEMU deviation:
 * ...)" and the failed check below it.  Seen with QEMU 7.2, TCG, -cpu
 * qemu64,-svm,+xsave,+xsaveopt,+avx, each against the SDM:
 *
 *   msr-tsc-write (dev)      WRMSR to IA32_TIME_STAMP_COUNTER does not change
 *                            what RDTSC or RDMSR return (SDM 18.17).
 *   msr-misc-enable (dev)    IA32_MISC_ENABLE has its bit 0 but not the
 *                            read-only BTS/PEBS-unavailable bits 11 and 12,
 *                            although CPUID shows no DS, and a write changes
 *                            them.
 *   msr-reserved-bits (dev)  EFER drops reserved bits and SVME (SVM hidden),
 *                            MTRRdefType takes the reserved type 2, and
 *                            IA32_APIC_BASE ignores its reserved bits, all
 *                            without #GP.
 *   msr-read-only-write-only (dev)  WRMSR to MTRRcap and MCG_CAP succeeds.
 *   msr-hidden-features (dev)  the MSRs of features CPUID hides (TSC_ADJUST,
 *                            TSC_AUX, SPEC_CTRL, PRED_CMD, PKRS, the PMU's,
 *                            VMX's, VM_HSAVE_PA, ...) read 0 without #GP.
 *   msr-unknown-gp (dev)     MSR numbers that exist nowhere read 0 and take
 *                            writes, without #GP.
 *   msr-canonical (cpu)      WRMSR takes non-canonical addresses in FS/GS/
 *                            KERNEL_GS_BASE, LSTAR and SYSENTER_ESP/EIP.
 *   msr-pat-invalid (cpu)    WRMSR IA32_PAT takes the reserved types 2, 3, 8.
 *   apic-esr-illegal-vector (dev)  a fixed IPI with vector 3 is delivered,
 *                            and the ESR records no illegal vector.
 *   apic-sw-disable (dev)    LVT masks can be cleared while the APIC is
 *                            software-disabled (SDM 11.4.7.2: they stay set).
 *   apic-base-reenable (dev) the APIC cannot be enabled again once
 *                            IA32_APIC_BASE.EN was cleared.
 *   idt-gate-error-code (cpu)  the #GP error code of a bad IDT gate in long
 *                            mode is vector * 16 + 2, not vector * 8 + 2.
 *   mmio-unknown-all-ones, mmio-straddle-ram-top, mmio-page-walk (dev)
 *                            unassigned physical memory reads as 0; a PC's
 *                            bus gives all-ones (master abort).
 * Sub-tests that cannot run on QEMU's CPU at all skip there, with the reason:
 * cr4-hidden-bits (MOV to CR4 with a bit QEMU treats as reserved hangs bare
 * QEMU, and fails VMRUN below SVM; the hvm-conformance-invalid-state case
 * runs it alone), and under bare QEMU x2apic-* and the TSC-deadline ones
 * (qemu64 shows neither; Partita offers both).
 * (The bare-QEMU case, tests/integration/cases_conformance.py, checks that
 * no FAIL is left there.)
 */
#include "guests/conformance/conf.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"

#include <stdarg.h>

void conf_main(u32 magic, u32 info);
void isr_dispatch(struct frame *f);

struct platform pf;

/* ------------------------------------------------------------ output -- */

static void putc_uart(char c)
{
	for (u32 i = 0; i < 1000000 && !(inb(COM1 + 5) & 0x20); i++)
		;
	outb(COM1, (u8)c);
}

static void puts_uart(const char *s)
{
	while (*s)
		putc_uart(*s++);
}

int printf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	puts_uart(buf);
	return n;
}

/* ------------------------------------------------------------- traps -- */

struct jmp {
	u64 rbx, rbp, r12, r13, r14, r15, rsp, rip;
};
int conf_setjmp(struct jmp *j) __attribute__((returns_twice));
__noreturn void conf_longjmp(struct jmp *j, int val);
asm(".pushsection .text\n"
    ".global conf_setjmp\n"
    "conf_setjmp:\n"
    "	movq %rbx, 0(%rdi)\n"
    "	movq %rbp, 8(%rdi)\n"
    "	movq %r12, 16(%rdi)\n"
    "	movq %r13, 24(%rdi)\n"
    "	movq %r14, 32(%rdi)\n"
    "	movq %r15, 40(%rdi)\n"
    "	leaq 8(%rsp), %rax\n"
    "	movq %rax, 48(%rdi)\n"
    "	movq (%rsp), %rax\n"
    "	movq %rax, 56(%rdi)\n"
    "	xorl %eax, %eax\n"
    "	ret\n"
    ".global conf_longjmp\n"
    "conf_longjmp:\n"
    "	movq 0(%rdi), %rbx\n"
    "	movq 8(%rdi), %rbp\n"
    "	movq 16(%rdi), %r12\n"
    "	movq 24(%rdi), %r13\n"
    "	movq 32(%rdi), %r14\n"
    "	movq 40(%rdi), %r15\n"
    "	movq 48(%rdi), %rsp\n"
    "	movl %esi, %eax\n"
    "	jmp *56(%rdi)\n"
    ".popsection\n");

volatile u64 fixup_rip;
volatile int fault_vector = -1;
volatile u64 fault_error;
volatile u32 irq_count[256];
isr_hook isr_hooks[256];
volatile enum eoi_kind eoi_kind;

extern const u64 isr_stubs[256];
static u64 idt[256][2] __aligned(16);

const char *const vector_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#9",  "#TS",
	"#NP", "#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
	"#22", "#23", "#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31",
};

static struct jmp test_jmp;
static bool in_test;
static char abort_detail[160];

static void idt_init(void)
{
	struct __packed {
		u16 limit;
		u64 base;
	} idtr = { sizeof(idt) - 1, (u64)(uintptr_t)idt };

	for (int v = 0; v < 256; v++) {
		u64 a = isr_stubs[v];
		/* 64-bit interrupt gate, selector 0x08, P, DPL 0 (SDM Vol. 3A
		 * 6.14.1); DPL 3 for vectors a CPL-3 test may raise is not
		 * needed: this kernel stays at CPL 0. */
		idt[v][0] = (a & 0xffff) | (0x08ULL << 16) | (0x8eULL << 40) |
			    ((a >> 16 & 0xffff) << 48);
		idt[v][1] = a >> 32;
	}
	asm volatile("lidt %0" : : "m"(idtr) : "memory");
}

void isr_dispatch(struct frame *f)
{
	unsigned v = (unsigned)f->vector & 0xff;

	if (isr_hooks[v]) {
		isr_hooks[v](f);
		return;
	}
	if (v < 32 && v != 2) {
		if (fixup_rip) {
			fault_vector = (int)v;
			fault_error = f->error_code;
			f->rip = fixup_rip;
			fixup_rip = 0;
			return;
		}
		u64 cr2;
		asm volatile("mov %%cr2, %0" : "=r"(cr2));
		snprintf(abort_detail, sizeof(abort_detail),
			 "unexpected exception %s (error %#llx) at rip %#llx, cr2 %#llx",
			 vector_names[v], (unsigned long long)f->error_code,
			 (unsigned long long)f->rip, (unsigned long long)cr2);
		if (in_test)
			conf_longjmp(&test_jmp, 1);
		printf("FAIL: boot (%s)\n", abort_detail);
		outb(DEBUG_EXIT_PORT, 0x7f);
		for (;;)
			asm volatile("cli; hlt");
	}
	irq_count[v]++;
	if (v < 32 || v == VEC_SPURIOUS)
		return; /* NMI; the spurious vector takes no EOI (SDM 11.9) */
	switch (eoi_kind) {
	case EOI_XAPIC:
		lapic_write(0xb0, 0);
		break;
	case EOI_X2APIC:
		asm volatile("wrmsr" : : "c"(0x80b), "a"(0), "d"(0));
		break;
	case EOI_PIC:
		if (v >= VEC_PIC_BASE + 8)
			outb(0xa0, 0x20);
		outb(0x20, 0x20);
		break;
	default:
		break;
	}
}

/* Each probe points fixup_rip at the label after the instruction: if it
 * faults, isr_dispatch records the vector and resumes there. */
int rdmsr_safe(u32 msr, u64 *value)
{
	u32 lo = 0, hi = 0;

	fault_vector = -1;
	asm volatile("leaq 1f(%%rip), %%r11\n"
		     "movq %%r11, fixup_rip(%%rip)\n"
		     "rdmsr\n"
		     "1: movq $0, fixup_rip(%%rip)\n"
		     : "=a"(lo), "=d"(hi)
		     : "c"(msr), "a"(0), "d"(0)
		     : "r11", "memory");
	if (value)
		*value = ((u64)hi << 32) | lo;
	return fault_vector;
}

int wrmsr_safe(u32 msr, u64 value)
{
	fault_vector = -1;
	asm volatile("leaq 1f(%%rip), %%r11\n"
		     "movq %%r11, fixup_rip(%%rip)\n"
		     "wrmsr\n"
		     "1: movq $0, fixup_rip(%%rip)\n"
		     :
		     : "c"(msr), "a"((u32)value), "d"((u32)(value >> 32))
		     : "r11", "memory");
	return fault_vector;
}

int write_cr4_safe(u64 value)
{
	fault_vector = -1;
	asm volatile("leaq 1f(%%rip), %%r11\n"
		     "movq %%r11, fixup_rip(%%rip)\n"
		     "mov %0, %%cr4\n"
		     "1: movq $0, fixup_rip(%%rip)\n"
		     :
		     : "r"(value)
		     : "r11", "memory");
	return fault_vector;
}

int xsetbv_safe(u32 index, u64 value)
{
	fault_vector = -1;
	asm volatile("leaq 1f(%%rip), %%r11\n"
		     "movq %%r11, fixup_rip(%%rip)\n"
		     "xsetbv\n"
		     "1: movq $0, fixup_rip(%%rip)\n"
		     :
		     : "c"(index), "a"((u32)value), "d"((u32)(value >> 32))
		     : "r11", "memory");
	return fault_vector;
}

static __noreturn void abort_test(const char *fmt, ...) __printf(1, 2);
static void abort_test(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(abort_detail, sizeof(abort_detail), fmt, ap);
	va_end(ap);
	conf_longjmp(&test_jmp, 1);
}

u64 rdmsr(u32 msr)
{
	u64 v;
	int e = rdmsr_safe(msr, &v);

	if (e >= 0)
		abort_test("RDMSR %#x raised %s", msr, vector_names[e]);
	return v;
}

void wrmsr(u32 msr, u64 value)
{
	int e = wrmsr_safe(msr, value);

	if (e >= 0)
		abort_test("WRMSR %#x <- %#llx raised %s", msr, (unsigned long long)value,
			   vector_names[e]);
}

/* ------------------------------------------------------------ time -- */

void delay_ns(u64 ns)
{
	u64 t0 = rdtsc(), n = ns / 1000 * (pf.tsc_hz / 1000000) + 1;

	while (rdtsc() - t0 < n)
		pause();
}

bool wait_count(volatile u32 *counter, u32 want, u64 ns)
{
	u64 t0 = rdtsc(), n = ns / 1000 * (pf.tsc_hz / 1000000) + 1;
	bool was_on = read_flags() & (1u << 9);

	sti();
	while (*counter < want && rdtsc() - t0 < n)
		pause();
	if (!was_on)
		cli();
	return *counter >= want;
}

/* One reading of the PIT's channel 2 paired with the TSC: the counter is
 * latched between two RDTSCs (8254 datasheet: Counter Latch Command), and
 * of eight tries the one whose two RDTSCs are closest
 * counts, so that a host that deschedules the emulator between the RDTSC
 * and the latch (bare QEMU follows the host's clock) does not skew it. */
static u16 pit2_sample(u64 *tsc)
{
	u64 best = ~0ULL;
	u16 count = 0;

	for (int i = 0; i < 8; i++) {
		u64 a = rdtsc();
		outb(0x43, 0x80); /* latch channel 2 */
		u64 b = rdtsc();
		u16 c = inb(0x42);
		c |= (u16)(inb(0x42) << 8);
		if (b - a < best) {
			best = b - a;
			*tsc = a + (b - a) / 2;
			count = c;
		}
	}
	return count;
}

/* The TSC's rate: Partita's timing leaf 0x40000010 (EAX: kHz), else
 * measured against the PIT's channel 2 in mode 0 (it counts down from
 * 0xffff once; its OUT, bit 5 of port 0x61, rises at zero; the gate is
 * bit 0), between two paired samples about 40 ms apart.  Only the two
 * samples matter, not the time the loop takes to notice the count, so a
 * preempted emulator measures the same rate; if OUT rose (the 55 ms ran
 * out in between), it measures again. */
static u64 tsc_rate(void)
{
	struct cpuid_r r = cpuid(0x40000000, 0);

	if (pf.hypervisor && r.a >= 0x40000010) {
		u32 khz = cpuid(0x40000010, 0).a;
		if (khz)
			return (u64)khz * 1000;
	}
	u64 t0 = 0, t1 = 0;
	u16 c0 = 0, c1 = 0;
	for (int tries = 0; tries < 5; tries++) {
		outb(0x61, (u8)((inb(0x61) & ~0x02) | 0x01));
		outb(0x43, 0xb0); /* channel 2, lobyte/hibyte, mode 0 */
		outb(0x42, 0xff);
		outb(0x42, 0xff);
		c0 = pit2_sample(&t0);
		for (u32 i = 0; i < 100000000; i++) {
			outb(0x43, 0x80);
			u16 c = inb(0x42);
			c |= (u16)(inb(0x42) << 8);
			if ((u16)(c0 - c) >= 47727 || (inb(0x61) & 0x20)) /* 40 ms */
				break;
		}
		c1 = pit2_sample(&t1);
		if (!(inb(0x61) & 0x20) && c1 < c0)
			break;
	}
	/* A PIT that never counts: 1 GHz, and the timing sub-tests fail. */
	return c1 < c0 ? (t1 - t0) * 1193182ULL / (u64)(c0 - c1) : 1000000000ULL;
}

/* ---------------------------------------------------------- results -- */

enum { RES_PASS, RES_FAIL, RES_SKIP };
static int res;
static char res_detail[200];
static unsigned res_extra; /* failed checks after the first */
static char notes[4][160];
static unsigned note_count;

static bool verbose, timing;

bool check(bool ok, const char *fmt, ...)
{
	char buf[200];
	va_list ap;

	if (ok)
		return true;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (verbose)
		printf("  check failed: %s\n", buf);
	if (res == RES_FAIL) {
		res_extra++;
		return false;
	}
	res = RES_FAIL;
	memcpy(res_detail, buf, sizeof(buf));
	return false;
}

bool check_eq(const char *what, u64 got, u64 want)
{
	return check(got == want, "%s: expected %#llx got %#llx", what, (unsigned long long)want,
		     (unsigned long long)got);
}

void skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res_detail, sizeof(res_detail), fmt, ap);
	va_end(ap);
	res = RES_SKIP;
	conf_longjmp(&test_jmp, 2);
}

void note(const char *fmt, ...)
{
	va_list ap;

	if (note_count == ARRAY_SIZE(notes))
		return;
	va_start(ap, fmt);
	vsnprintf(notes[note_count++], sizeof(notes[0]), fmt, ap);
	va_end(ap);
}

/* ---------------------------------------------------------- runner -- */

static bool name_in_list(const char *name, const char *list)
{
	size_t n = strlen(name);

	for (const char *p = list; *p && *p != ' ';) {
		const char *e = p;
		while (*e && *e != ',' && *e != ' ')
			e++;
		size_t len = (size_t)(e - p);
		if (len && p[len - 1] == '*' ? !strncmp(name, p, len - 1) :
					       len == n && !strncmp(name, p, n))
			return true;
		p = *e == ',' ? e + 1 : e;
	}
	return false;
}

static const char *cmdline_value(const char *key)
{
	size_t n = strlen(key);

	for (const char *p = pf.cmdline; p && *p; p++)
		if ((p == pf.cmdline || p[-1] == ' ') && !strncmp(p, key, n))
			return p + n;
	return NULL;
}

bool cmdline_has(const char *word)
{
	const char *v = cmdline_value(word);

	return v && (*v == 0 || *v == ' ');
}

u64 cmdline_u64(const char *key, u64 def)
{
	const char *v = cmdline_value(key);
	u64 n = 0;

	if (!v || *v < '0' || *v > '9')
		return def;
	while (*v >= '0' && *v <= '9')
		n = n * 10 + (u64)(*v++ - '0');
	return n;
}

static unsigned passed, failed, skipped;

static bool selected(const struct subtest *t)
{
	const char *only = cmdline_value("only="), *skips = cmdline_value("skip=");

	return !(only && !name_in_list(t->name, only)) && !(skips && name_in_list(t->name, skips));
}

static void run_one(const struct subtest *t)
{
	if (!selected(t)) {
		/* A known gap of the platform under test, named by the case
		 * (tests/integration/cases_conformance.py): counted, with the
		 * reason, so a summary never hides it. */
		const char *skips = cmdline_value("skip=");
		if (skips && name_in_list(t->name, skips)) {
			printf("SKIP: %s (a known gap, skipped by the command line)\n", t->name);
			skipped++;
		}
		return;
	}
	res = RES_PASS;
	res_detail[0] = 0;
	res_extra = 0;
	note_count = 0;
	in_test = true;
	u64 t_start = rdtsc();
	int j = conf_setjmp(&test_jmp);
	if (j == 0)
		t->fn();
	in_test = false;
	/* Whatever the sub-test left behind: interrupts off, no trap flag,
	 * no hooks, no fix-up. */
	cli();
	asm volatile("pushfq; andq $~0x100, (%%rsp); popfq" ::: "memory");
	fixup_rip = 0;
	memset(isr_hooks, 0, sizeof(isr_hooks));
	eoi_kind = EOI_NONE;
	if (j == 1 && res != RES_SKIP)
		check(false, "%s", abort_detail);

	if (res == RES_FAIL) {
		const char *why = pf.bare && t->qemu_dev     ? t->qemu_dev :
				  pf.qemu_cpu && t->qemu_cpu ? t->qemu_cpu :
							       NULL;
		/* Lines stay below the 200 bytes of a Partita console line. */
		if (why) {
			printf("SKIP: %s (known QEMU deviation: %.*s)\n", t->name,
			       (int)(150 - strlen(t->name)), why);
			printf("  saw: %.180s\n", res_detail);
			skipped++;
		} else {
			printf("FAIL: %s (detail: %.*s%s)\n", t->name, (int)(160 - strlen(t->name)),
			       res_detail, res_extra ? "; and more" : "");
			failed++;
		}
	} else if (res == RES_SKIP) {
		printf("SKIP: %s (%s)\n", t->name, res_detail);
		skipped++;
	} else {
		printf("PASS: %s\n", t->name);
		passed++;
	}
	for (unsigned i = 0; i < note_count; i++)
		printf("  note: %s\n", notes[i]);
	if (timing)
		printf("  time: %llu us\n",
		       (unsigned long long)((rdtsc() - t_start) / (pf.tsc_hz / 1000000)));
}

static void run_group(const struct subtest *g, unsigned n, bool announce)
{
	for (unsigned i = 0; i < n; i++) {
		if (announce && selected(&g[i]))
			printf("RUN: %s\n", g[i].name);
		run_one(&g[i]);
	}
}

static void platform_init(u32 magic, u32 info)
{
	struct cpuid_r r = cpuid(0, 0);
	char brand[49];

	pf.max_leaf = r.a;
	pf.intel = r.b == 0x756e6547; /* "Genu" */
	pf.amd = r.b == 0x68747541;   /* "Auth" */
	pf.l1 = cpuid(1, 0);
	pf.l7 = pf.max_leaf >= 7 ? cpuid(7, 0) : (struct cpuid_r){ 0, 0, 0, 0 };
	pf.max_ext_leaf = cpuid(0x80000000, 0).a;
	pf.e1 = pf.max_ext_leaf >= 0x80000001 ? cpuid(0x80000001, 0) :
						(struct cpuid_r){ 0, 0, 0, 0 };
	pf.hypervisor = pf.l1.c & (1u << 31);
	/* QEMU's TCG sets the hypervisor bit with no hypervisor behind it:
	 * only Partita's signature counts. */
	if (pf.hypervisor) {
		r = cpuid(0x40000000, 0);
		pf.partita = !memcmp(&r.b, "Part", 4) && !memcmp(&r.c, "itaH", 4) &&
			     !memcmp(&r.d, "V\0\0\0", 4);
	}
	pf.bare = !pf.partita;
	memset(brand, 0, sizeof(brand));
	if (pf.max_ext_leaf >= 0x80000004)
		for (u32 i = 0; i < 3; i++) {
			r = cpuid(0x80000002 + i, 0);
			memcpy(brand + 16 * i, &r, 16);
		}
	for (int i = 0; i + 4 <= 48; i++)
		if (!memcmp(brand + i, "QEMU", 4))
			pf.qemu_cpu = true;
	pf.mb_info = magic == 0x2badb002u ? info : 0;
	if (pf.mb_info) {
		const volatile u32 *mi = (const volatile u32 *)(uintptr_t)info;
		if (mi[0] & 1)
			pf.ram_top = 0x100000ULL + (u64)mi[2] * 1024;
		/* The end of memory (RAM and reserved RAM, e.g. a BIOS's tables
		 * at the top) that is contiguous from 1 MiB, by the memory map
		 * (MB1 3.3: size, base, length, type). */
		if (mi[0] & (1u << 6)) {
			u64 end = 0x100000;
			for (int pass = 0; pass < 8; pass++)
				for (u32 off = 0; off + 24 <= mi[11];) {
					const volatile u8 *e =
						(const volatile u8 *)(uintptr_t)(mi[12] + off);
					u64 base = *(const volatile u64 *)(e + 4),
					    len = *(const volatile u64 *)(e + 12);
					if (base <= end && base + len > end &&
					    base + len <= 0x100000000ULL)
						end = base + len;
					off += *(const volatile u32 *)e + 4;
				}
			pf.ram_top = end;
		}
		if (mi[0] & (1u << 2))
			pf.cmdline = (const char *)(uintptr_t)mi[4];
	}
	verbose = cmdline_has("verbose");
	timing = cmdline_has("timing");
	/* The 8259s as a BIOS leaves them interrupt at vectors 8-15: moved to
	 * 0x20-0x2f and masked (ICW1-ICW4, then OCW1). */
	outb(0x20, 0x11);
	outb(0xa0, 0x11);
	outb(0x21, VEC_PIC_BASE);
	outb(0xa1, VEC_PIC_BASE + 8);
	outb(0x21, 0x04);
	outb(0xa1, 0x02);
	outb(0x21, 0x01);
	outb(0xa1, 0x01);
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	pf.tsc_hz = tsc_rate();
	printf("conformance: %s CPU '%s', %s, TSC %llu kHz, RAM to %#llx, cmdline '%s'\n",
	       pf.intel ? "Intel" :
	       pf.amd	? "AMD" :
			  "other",
	       brand,
	       pf.partita    ? "under Partita" :
	       pf.hypervisor ? "under a hypervisor" :
			       "no hypervisor",
	       (unsigned long long)(pf.tsc_hz / 1000), (unsigned long long)pf.ram_top,
	       pf.cmdline ? pf.cmdline : "");
}

void conf_main(u32 magic, u32 info)
{
	idt_init();
	platform_init(magic, info);
	if (cmdline_has("isolation")) {
		extern void isolation_main(void);
		isolation_main();
	}
	if (cmdline_has("logflood")) {
		extern void logflood_main(void);
		logflood_main();
	}
	/* Not a sub-test: bytes a console must not pass to the operator's
	 * terminal as they are (C1 controls raw and UTF-8-encoded, ESC, a
	 * lone 0xff), between valid UTF-8; the integration case checks what
	 * arrives. */
	printf("console-probe: <\x9b"
	       "31m> <\xc2\x9b"
	       "32m> <\x1b[2J> <\xff> <\xc3\xa9> end\n");
	run_group(tests_cpu, tests_cpu_count, false);
	run_group(tests_msr, tests_msr_count, false);
	run_group(tests_apic, tests_apic_count, false);
	run_group(tests_legacy, tests_legacy_count, false);
	run_group(tests_debug, tests_debug_count, false);
	/* What may stop the partition of a hypervisor that gets it wrong:
	 * each is announced, so that a log ending there shows where, and the
	 * counts so far come first. */
	printf("PROGRESS: %u passed, %u failed, %u skipped before the announced sub-tests\n",
	       passed, failed, skipped);
	run_group(tests_cr8, tests_cr8_count, true);
	run_group(tests_x2apic, tests_x2apic_count, false);
	run_group(tests_final, tests_final_count, true);
	printf("SUMMARY: %u passed, %u failed, %u skipped\n", passed, failed, skipped);
	outb(DEBUG_EXIT_PORT, (u8)(failed > 127 ? 127 : failed));
	for (;;)
		asm volatile("cli; hlt");
}
