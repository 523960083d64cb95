/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The guest runtime: hypercall entry (vmcall or vmmcall, chosen from the CPU
 * vendor at start), the console printf with its line buffer, and the start
 * and end of a guest.
 */
#include "guests/lib/guest.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"

#include <stdarg.h>

const struct partita_start_info *start_info;
static bool use_vmcall; /* Intel: vmcall; AMD: vmmcall */

void guest_runtime_start(const struct partita_start_info *si) __noreturn;

long hc_call(long nr, long a0, long a1, long a2, long a3, long a4)
{
	long ret;
	register long r10 asm("r10") = a3;
	register long r8 asm("r8") = a4;

	if (use_vmcall)
		asm volatile("vmcall"
			     : "=a"(ret)
			     : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8)
			     : "memory");
	else
		asm volatile("vmmcall"
			     : "=a"(ret)
			     : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8)
			     : "memory");
	return ret;
}

static char line_buf[256];
static size_t line_len;

/* The hypervisor may take part of a write (whole lines that fit in this
 * window), or none (-PARTITA_E_AGAIN: the window ends first; it resumes in the
 * next one): send until everything is taken. */
void console_flush(void)
{
	size_t sent = 0;

	while (sent < line_len) {
		long n = hc_console_write(line_buf + sent, line_len - sent);
		if (n > 0)
			sent += (size_t)n;
		else if (n != -PARTITA_E_AGAIN)
			break; /* a bad buffer: nothing more can be done */
	}
	line_len = 0;
}

static void console_put(char c)
{
	if (line_len == sizeof(line_buf))
		console_flush();
	line_buf[line_len++] = c;
	if (c == '\n')
		console_flush();
}

int printf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (int i = 0; i < n && i < (int)sizeof(buf) - 1; i++)
		console_put(buf[i]);
	return n;
}

void hc_shutdown(long code)
{
	console_flush();
	for (;;)
		hc_call(HC_SHUTDOWN, code, 0, 0, 0, 0);
}

void guest_runtime_start(const struct partita_start_info *si)
{
	u32 ebx, ecx, edx, eax = 0;

	asm volatile("cpuid" : "+a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx));
	/* "GenuineIntel": EBX "Genu"; anything else is taken as AMD-like. */
	use_vmcall = ebx == 0x756e6547;
	start_info = si;
	hc_shutdown(guest_main(si));
}

/*
 * Exceptions (trap_init, trap_try).  The runtime's GDT has one 64-bit code
 * and one data descriptor at the selectors the hypervisor started the guest
 * with (0x08, 0x10), so reloading them changes nothing but the table's
 * address: the hypervisor's initial GDTR points at unmapped page 0, and an
 * exception needs a readable GDT to load the handler's CS.  Handlers run on
 * the interrupted stack (no TSS, no IST: the guest stays at CPL 0).
 */
struct trap_frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vector, error_code;
	u64 rip, cs, rflags, rsp, ss; /* pushed by the CPU (APM Vol. 2 §8.9.3) */
};

struct trap_jmp {
	u64 rbx, rbp, r12, r13, r14, r15, rsp, rip;
};

int trap_setjmp(struct trap_jmp *j) __attribute__((returns_twice));
__noreturn void trap_longjmp(struct trap_jmp *j, int val);
void trap_dispatch(struct trap_frame *f);
extern const u64 trap_stubs[32];

asm(".pushsection .text\n"
    ".global trap_setjmp\n"
    "trap_setjmp:\n"
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
    ".global trap_longjmp\n"
    "trap_longjmp:\n"
    "	movq 0(%rdi), %rbx\n"
    "	movq 8(%rdi), %rbp\n"
    "	movq 16(%rdi), %r12\n"
    "	movq 24(%rdi), %r13\n"
    "	movq 32(%rdi), %r14\n"
    "	movq 40(%rdi), %r15\n"
    "	movq 48(%rdi), %rsp\n"
    "	movl %esi, %eax\n"
    "	jmp *56(%rdi)\n"
    "trap_common:\n"
    "	pushq %rax\n	pushq %rbx\n	pushq %rcx\n	pushq %rdx\n	pushq %rsi\n"
    "	pushq %rdi\n	pushq %rbp\n	pushq %r8\n	pushq %r9\n	pushq %r10\n"
    "	pushq %r11\n	pushq %r12\n	pushq %r13\n	pushq %r14\n	pushq %r15\n"
    "	movq %rsp, %rdi\n"
    "	call trap_dispatch\n"
    "	popq %r15\n	popq %r14\n	popq %r13\n	popq %r12\n	popq %r11\n"
    "	popq %r10\n	popq %r9\n	popq %r8\n	popq %rbp\n	popq %rdi\n"
    "	popq %rsi\n	popq %rdx\n	popq %rcx\n	popq %rbx\n	popq %rax\n"
    "	addq $16, %rsp\n"
    "	iretq\n"
    ".altmacro\n"
    /* Vectors 8, 10-14, 17, 21, 29, 30 push an error code (APM Vol. 2
     * §8.2); the others get a zero in its place. */
    ".macro trap_stub v\n"
    "trap_stub_\\v:\n"
    "	.if !((\\v == 8) || ((\\v >= 10) && (\\v <= 14)) || (\\v == 17) || (\\v == 21) || (\\v == 29) || (\\v == 30))\n"
    "	pushq $0\n"
    "	.endif\n"
    "	pushq $\\v\n"
    "	jmp trap_common\n"
    ".endm\n"
    ".set i, 0\n"
    ".rept 32\n"
    "	trap_stub %i\n"
    "	.set i, i + 1\n"
    ".endr\n"
    ".popsection\n"
    ".pushsection .rodata\n"
    ".balign 8\n"
    ".global trap_stubs\n"
    "trap_stubs:\n"
    ".macro trap_stub_addr v\n"
    "	.quad trap_stub_\\v\n"
    ".endm\n"
    ".set i, 0\n"
    ".rept 32\n"
    "	trap_stub_addr %i\n"
    "	.set i, i + 1\n"
    ".endr\n"
    ".noaltmacro\n"
    ".popsection\n");

static const u64 trap_gdt[3] __aligned(16) = {
	0, 0x00af9b000000ffffULL, /* 0x08: 64-bit code, DPL 0 */
	0x00cf93000000ffffULL,	  /* 0x10: data */
};
static u64 trap_idt[32][2] __aligned(16);
static struct trap_jmp *trap_catcher;
static struct trap_info *trap_caught;

void trap_init(void)
{
	struct __packed {
		u16 limit;
		u64 base;
	} gdtr = { sizeof(trap_gdt) - 1, (u64)(uintptr_t)trap_gdt },
	  idtr = { sizeof(trap_idt) - 1, (u64)(uintptr_t)trap_idt };

	asm volatile("lgdt %0\n"
		     "pushq $0x08\n"
		     "leaq 1f(%%rip), %%rax\n"
		     "pushq %%rax\n"
		     "lretq\n"
		     "1: movl $0x10, %%eax\n"
		     "movl %%eax, %%ds\n"
		     "movl %%eax, %%es\n"
		     "movl %%eax, %%ss\n"
		     :
		     : "m"(gdtr)
		     : "rax", "memory");
	for (int v = 0; v < 32; v++) {
		u64 a = trap_stubs[v];
		/* 64-bit interrupt gate (APM Vol. 2 §4.8.4): selector 0x08,
		 * type 0xe, present, DPL 0. */
		trap_idt[v][0] = (a & 0xffff) | (0x08ULL << 16) | (0x8eULL << 40) |
				 ((a >> 16 & 0xffff) << 48);
		trap_idt[v][1] = a >> 32;
	}
	asm volatile("lidt %0" : : "m"(idtr) : "memory");
}

int trap_try(void (*fn)(void *arg), void *arg, struct trap_info *info)
{
	struct trap_jmp j;
	struct trap_jmp *volatile outer = trap_catcher;
	struct trap_info *volatile outer_info = trap_caught;
	int v = trap_setjmp(&j);

	if (v == 0) {
		trap_catcher = &j;
		trap_caught = info;
		fn(arg);
		v = 0;
	}
	trap_catcher = outer;
	trap_caught = outer_info;
	return v - 1;
}

void trap_triple_fault(void)
{
	struct __packed {
		u16 limit;
		u64 base;
	} idtr = { 0, 0 };

	console_flush();
	/* With a zero-limit IDT, #BP cannot be delivered (#GP), nor can #GP
	 * (#DF), nor #DF: the CPU shuts down (APM Vol. 2 §8.2.9). */
	asm volatile("lidt %0\n"
		     "int3\n"
		     :
		     : "m"(idtr));
	for (;;)
		;
}

void trap_dispatch(struct trap_frame *f)
{
	if (trap_catcher) {
		struct trap_jmp *j = trap_catcher;
		if (trap_caught) {
			u64 cr2;
			asm volatile("mov %%cr2, %0" : "=r"(cr2));
			trap_caught->vector = f->vector;
			trap_caught->error_code = f->error_code;
			trap_caught->rip = f->rip;
			trap_caught->cr2 = cr2;
		}
		trap_catcher = NULL;
		trap_longjmp(j, (int)f->vector + 1);
	}
	printf("unexpected exception %llu (error %#llx) at rip %#llx\n",
	       (unsigned long long)f->vector, (unsigned long long)f->error_code,
	       (unsigned long long)f->rip);
	trap_triple_fault();
}
