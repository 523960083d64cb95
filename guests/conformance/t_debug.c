/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Sub-tests of debugging and of the hypercall instruction: single-step
 * (RFLAGS.TF) over instructions a hypervisor emulates, hardware
 * breakpoints, and VMCALL/VMMCALL from a guest that knows nothing of the
 * hypervisor.
 *
 * Single-step (SDM Vol. 3B 17.3.1.4): with TF set, a #DB trap follows
 * each instruction, RIP at the next one and DR6.BS set.  POPF that sets TF
 * gives its first trap after the instruction that follows it (the POPF
 * itself does not trap), so "popf; INSN; next:" must give exactly one #DB
 * with RIP = next; the handler clears TF in the frame.
 */
#include "guests/conformance/conf.h"

static const char *vname(int e)
{
	return e >= 0 ? vector_names[e] : "no exception";
}

static volatile u32 db_count;
static volatile u64 db_rip, db_dr6;

static void hook_db(struct frame *f)
{
	u64 dr6;

	asm volatile("mov %%dr6, %0" : "=r"(dr6));
	if (db_count++ == 0) {
		db_rip = f->rip;
		db_dr6 = dr6;
	}
	f->rflags &= ~0x100ULL;	 /* TF off: one trap */
	f->rflags |= 1ULL << 16; /* RF, for instruction breakpoints */
	asm volatile("mov %0, %%dr6" : : "r"(0xfffe0ff0ULL));
}

/* Each stepper runs INSN with TF set and returns the address after it. */
#define STEPPER(name, setup, insn, clobbers...)             \
	static u64 name(void)                               \
	{                                                   \
		u64 next;                                   \
		asm volatile(setup "\n"                     \
				   "leaq 2f(%%rip), %0\n"   \
				   "pushfq\n"               \
				   "orq $0x100, (%%rsp)\n"  \
				   "popfq\n" insn "\n"      \
				   "2: nop\n"               \
				   "nop\n"                  \
			     : "=&r"(next)                  \
			     :                              \
			     : "memory", "cc", ##clobbers); \
		return next;                                \
	}

STEPPER(step_nop, "", "nop")
STEPPER(step_cpuid, "xorl %%eax, %%eax; xorl %%ecx, %%ecx", "cpuid", "rax", "rbx", "rcx", "rdx")
STEPPER(step_cpuid_66, "xorl %%eax, %%eax; xorl %%ecx, %%ecx", ".byte 0x66, 0x0f, 0xa2", "rax",
	"rbx", "rcx", "rdx")
STEPPER(step_out, "movb $0x5a, %%al; movw $0x3a0, %%dx", "outb %%al, %%dx", "rax", "rdx")
STEPPER(step_rdmsr, "movl $0x1b, %%ecx", "rdmsr", "rax", "rcx", "rdx")
STEPPER(step_wrmsr, "movl $0x1b, %%ecx; rdmsr", "wrmsr", "rax", "rcx", "rdx")
STEPPER(step_mmio_read, "movq $0xfee00030, %%rdx", "movl (%%rdx), %%eax", "rax", "rdx")
STEPPER(step_mmio_write, "movq $0xfee00080, %%rdx; xorl %%eax, %%eax", "movl %%eax, (%%rdx)", "rax",
	"rdx")
STEPPER(step_in_uart, "movw $0x3fd, %%dx", "inb %%dx, %%al", "rax", "rdx")

static void step_one(const char *what, u64 (*fn)(void))
{
	db_count = 0;
	db_rip = db_dr6 = 0;
	u64 next = fn();
	check(db_count == 1 && db_rip == next,
	      "single-step over %s: expected one #DB at %#llx got %u, the first at %#llx", what,
	      (unsigned long long)next, db_count, (unsigned long long)db_rip);
	if (db_count)
		check(db_dr6 & (1u << 14), "single-step over %s: DR6.BS clear (DR6 %#llx)", what,
		      (unsigned long long)db_dr6);
}

static void t_single_step(void)
{
	isr_hooks[1] = hook_db;
	asm volatile("mov %0, %%dr6" : : "r"(0xfffe0ff0ULL));
	step_one("NOP", step_nop);
	step_one("CPUID", step_cpuid);
	step_one("CPUID with a 66 prefix", step_cpuid_66);
	step_one("OUT to an unknown port", step_out);
	step_one("IN from the UART", step_in_uart);
	step_one("RDMSR IA32_APIC_BASE", step_rdmsr);
	step_one("WRMSR IA32_APIC_BASE", step_wrmsr);
	if (apic_setup_xapic()) {
		step_one("a load from the APIC page", step_mmio_read);
		step_one("a store to the APIC page", step_mmio_write);
	}
	isr_hooks[1] = NULL;
}

/* DR0 as a data write breakpoint on a variable, DR1 as an instruction
 * breakpoint (SDM Vol. 3B 17.2.4-17.2.5): #DB with B0 / B1 in DR6. */
static volatile u32 watched;
static void t_hw_breakpoints(void)
{
	u64 dr7;

	isr_hooks[1] = hook_db;
	db_count = 0;
	asm volatile("mov %0, %%dr0" : : "r"((u64)(uintptr_t)&watched));
	/* L0, RW0 = 01 (writes), LEN0 = 11 (4 bytes) */
	dr7 = 1 | (1u << 16) | (3u << 18);
	asm volatile("mov %0, %%dr7" : : "r"(dr7));
	watched = 1;
	asm volatile("mov %0, %%dr7" : : "r"(0x400ULL));
	check(db_count == 1 && (db_dr6 & 1), "data breakpoint: %u #DB, DR6 %#llx", db_count,
	      (unsigned long long)db_dr6);
	u64 dr0;
	asm volatile("mov %%dr0, %0" : "=r"(dr0));
	check_eq("DR0 read back", dr0, (u64)(uintptr_t)&watched);

	u64 target;
	asm volatile("leaq 3f(%%rip), %0" : "=r"(target));
	asm volatile("mov %0, %%dr1" : : "r"(target));
	db_count = 0;
	db_dr6 = 0;
	asm volatile("mov %0, %%dr7" : : "r"(0x400ULL | (1u << 2))); /* L1, execute, 1 byte */
	asm volatile("nop\n3: nop\nnop" ::: "memory");
	asm volatile("mov %0, %%dr7" : : "r"(0x400ULL));
	check(db_count == 1 && (db_dr6 & 2), "instruction breakpoint: %u #DB, DR6 %#llx", db_count,
	      (unsigned long long)db_dr6);
	isr_hooks[1] = NULL;
}

/* VMCALL (Intel) / VMMCALL (AMD).  On a PC without a hypervisor they
 * raise #UD.  A guest that finds the hypervisor bit may probe with them:
 * the hypervisor answers (RAX) and execution goes on after the whole
 * instruction, prefixes included. */
static int hypercall(bool prefixed, u64 *rax, u32 *marker)
{
	u64 a = 0;
	u32 m = 0;

	fault_vector = -1;
	if (pf.intel && !prefixed)
		asm volatile("leaq 1f(%%rip), %%r11; movq %%r11, fixup_rip(%%rip)\n"
			     "xorl %%esi, %%esi\nvmcall\nmovl $0x5151, %%esi\n1: movq $0, fixup_rip(%%rip)"
			     : "+a"(a), "=S"(m)
			     :
			     : "r11", "rcx", "rdx", "rdi", "r8", "r10", "memory");
	else if (pf.intel)
		asm volatile("leaq 1f(%%rip), %%r11; movq %%r11, fixup_rip(%%rip)\n"
			     "xorl %%esi, %%esi\n.byte 0x66, 0x0f, 0x01, 0xc1\nmovl $0x5151, %%esi\n"
			     "1: movq $0, fixup_rip(%%rip)"
			     : "+a"(a), "=S"(m)
			     :
			     : "r11", "rcx", "rdx", "rdi", "r8", "r10", "memory");
	else if (!prefixed)
		asm volatile("leaq 1f(%%rip), %%r11; movq %%r11, fixup_rip(%%rip)\n"
			     "xorl %%esi, %%esi\nvmmcall\nmovl $0x5151, %%esi\n1: movq $0, fixup_rip(%%rip)"
			     : "+a"(a), "=S"(m)
			     :
			     : "r11", "rcx", "rdx", "rdi", "r8", "r10", "memory");
	else
		asm volatile("leaq 1f(%%rip), %%r11; movq %%r11, fixup_rip(%%rip)\n"
			     "xorl %%esi, %%esi\n.byte 0x66, 0x0f, 0x01, 0xd9\nmovl $0x5151, %%esi\n"
			     "1: movq $0, fixup_rip(%%rip)"
			     : "+a"(a), "=S"(m)
			     :
			     : "r11", "rcx", "rdx", "rdi", "r8", "r10", "memory");
	*rax = a;
	*marker = m;
	return fault_vector;
}

static void check_hypercall(bool prefixed)
{
	const char *insn = pf.intel ? (prefixed ? "66 VMCALL" : "VMCALL") :
				      (prefixed ? "66 VMMCALL" : "VMMCALL");
	u64 rax;
	u32 marker;
	int e = hypercall(prefixed, &rax, &marker);

	if (pf.bare) {
		check(e == 6, "%s without a hypervisor: expected #UD got %s", insn, vname(e));
		return;
	}
	check(e < 0, "%s under a hypervisor: expected an answer, got %s", insn, vname(e));
	if (e < 0)
		check(marker == 0x5151,
		      "%s: the instruction after it did not run (resumed inside it?)", insn);
	note("%s returned RAX %#llx", insn, (unsigned long long)rax);
}

static void t_hypercall(void)
{
	check_hypercall(false);
}
static void t_hypercall_prefixed(void)
{
	check_hypercall(true);
}

static u64 step_hypercall(void)
{
	u64 next;
	if (pf.intel)
		asm volatile("xorl %%eax, %%eax\nleaq 2f(%%rip), %0\npushfq\norq $0x100, (%%rsp)\npopfq\n"
			     "vmcall\n2: nop\nnop"
			     : "=&r"(next)
			     :
			     : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r10", "memory", "cc");
	else
		asm volatile("xorl %%eax, %%eax\nleaq 2f(%%rip), %0\npushfq\norq $0x100, (%%rsp)\npopfq\n"
			     "vmmcall\n2: nop\nnop"
			     : "=&r"(next)
			     :
			     : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r10", "memory", "cc");
	return next;
}

static void t_single_step_hypercall(void)
{
	if (pf.bare)
		skip("no hypervisor: VMCALL/VMMCALL raise #UD");
	u64 rax;
	u32 marker;
	if (hypercall(false, &rax, &marker) >= 0)
		skip("the hypercall instruction raises an exception (see hypercall)");
	isr_hooks[1] = hook_db;
	step_one(pf.intel ? "VMCALL" : "VMMCALL", step_hypercall);
	isr_hooks[1] = NULL;
}

const struct subtest tests_debug[] = {
	{ "single-step-emulated", t_single_step, NULL, NULL },
	{ "single-step-hypercall", t_single_step_hypercall, NULL, NULL },
	{ "hw-breakpoints", t_hw_breakpoints, NULL, NULL },
	{ "hypercall", t_hypercall, NULL, NULL },
	{ "hypercall-prefixed", t_hypercall_prefixed, NULL, NULL },
};
const unsigned tests_debug_count = ARRAY_SIZE(tests_debug);
