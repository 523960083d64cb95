/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * insnfuzz: runs random byte sequences at CPL 0 and at CPL 3, from a fixed
 * seed, under an IDT that catches every vector, and prints how many
 * attempts ended in each: the hypervisor must survive whatever a guest
 * executes, and keep the other partitions' windows (a ticker runs beside
 * it in the cases).
 *
 * Each attempt writes 15 random bytes and an INT3 to a sandbox code page,
 * sets every general register to the middle of a sandbox data page and RSP
 * to a sandbox stack full of the INT3's address, and jumps there with
 * RFLAGS.TF set: a #DB after each instruction counts steps, and after
 * STEP_LIMIT the attempt is abandoned (a random loop cannot hang it).  It
 * ends at the first other exception or interrupt; reaching the INT3 is
 * "completed".  Every vector goes through IST 1 to its own stack, so a
 * random RSP does not matter.
 *
 * What the random code may reach is fenced by the guest's own page tables
 * (the hypervisor's second level fences the rest):
 *   CPL 3  only the sandbox pages are user pages;
 *   CPL 0  a second set of tables maps all of its RAM read-only and
 *          no-execute, but the sandbox pages and the interrupt stubs' page,
 *          which switch to the full tables first thing.
 * At CPL 0 sequences with bytes that would end the partition (port I/O, a
 * policy fault for a paravirtual guest; MSRs; hypercalls with random
 * registers, HC_SHUTDOWN among them) or take the CPU from the guest's own
 * control (MOV to CR/DR, LGDT/LIDT/LTR, segment loads, POPF and IRET, which
 * could clear TF) are drawn again; at CPL 3 only POPF and IRET (TF) and port
 * I/O (a fault of the partition if the hypervisor's intercept came first).
 * Drawn-again sequences are counted.
 */
#include "guests/lib/cpu.h"
#include "guests/lib/guest.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"

#define STEP_LIMIT 32
#define SEQ_LEN 15

#define PTE_P (1ULL << 0)
#define PTE_W (1ULL << 1)
#define PTE_U (1ULL << 2)
#define PTE_NX (1ULL << 63)

#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA 0x1b /* 0x18 | 3 */
#define SEL_UCODE 0x23 /* 0x20 | 3 */
#define SEL_TSS 0x28

/* Pages of the sandbox and the tables; the RAM mapped is the first 4 MiB. */
static u8 sb_code[4096] __aligned(4096);
static u8 sb_data[4096] __aligned(4096);
static u8 ist_stack[2 * 4096] __aligned(4096);
static u64 full_pml4[512] __aligned(4096), full_pdpt[512] __aligned(4096),
	full_pd[512] __aligned(4096), full_pt[2][512] __aligned(4096);
static u64 lock_pml4[512] __aligned(4096), lock_pdpt[512] __aligned(4096),
	lock_pd[512] __aligned(4096), lock_pt[2][512] __aligned(4096);

static u64 gdt[8] __aligned(16);
static struct __packed {
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3, iopb;
} tss __aligned(16);
static u64 idt[256][2] __aligned(16);

u64 full_cr3, lock_cr3; /* read by the stubs */

/* The stubs: on IST 1; save RAX, switch to the full tables, save the
 * interrupted CR3 under the frame, call dispatch; on return restore CR3. */
struct fuzz_frame {
	u64 cr3, rax, vector, error;
	u64 rip, cs, rflags, rsp, ss;
};
void fuzz_dispatch(struct fuzz_frame *f);
extern const u64 fuzz_stubs[256];
asm(".pushsection .text.stubs, \"ax\"\n"
    ".balign 4096\n"
    ".global fuzz_stubs_start\n"
    "fuzz_stubs_start:\n"
    "fuzz_common:\n"
    "	pushq %rax\n"
    "	movq %cr3, %rax\n"
    "	pushq %rax\n"
    "	movq full_cr3(%rip), %rax\n" /* readable in both sets of tables */
    "	movq %rax, %cr3\n"
    "	pushq %rcx\n	pushq %rdx\n	pushq %rsi\n	pushq %rdi\n	pushq %r8\n"
    "	pushq %r9\n	pushq %r10\n	pushq %r11\n"
    "	leaq 64(%rsp), %rdi\n"
    "	cld\n"
    "	call fuzz_dispatch\n"
    "	popq %r11\n	popq %r10\n	popq %r9\n	popq %r8\n	popq %rdi\n"
    "	popq %rsi\n	popq %rdx\n	popq %rcx\n"
    "	popq %rax\n"
    "	movq %rax, %cr3\n"
    "	popq %rax\n"
    "	addq $16, %rsp\n"
    "	iretq\n"
    ".altmacro\n"
    ".macro fuzz_stub v\n"
    "fuzz_stub_\\v:\n"
    "	.if !((\\v == 8) || ((\\v >= 10) && (\\v <= 14)) || (\\v == 17) || (\\v == 21) || (\\v == 29) || (\\v == 30))\n"
    "	pushq $0\n"
    "	.endif\n"
    "	pushq $\\v\n"
    "	jmp fuzz_common\n"
    ".endm\n"
    ".set i, 0\n"
    ".rept 256\n"
    "	fuzz_stub %i\n"
    "	.set i, i + 1\n"
    ".endr\n"
    ".popsection\n"
    ".pushsection .rodata\n"
    ".balign 8\n"
    ".global fuzz_stubs\n"
    "fuzz_stubs:\n"
    ".macro fuzz_addr v\n"
    "	.quad fuzz_stub_\\v\n"
    ".endm\n"
    ".set i, 0\n"
    ".rept 256\n"
    "	fuzz_addr %i\n"
    "	.set i, i + 1\n"
    ".endr\n"
    ".noaltmacro\n"
    ".popsection\n");
extern const u8 fuzz_stubs_start[], fuzz_stubs_end[];

/* Back to the loop: the callee-saved registers and RSP of fuzz_enter. */
struct fuzz_jmp {
	u64 rbx, rbp, r12, r13, r14, r15, rsp, rip;
};
static struct fuzz_jmp back;
int fuzz_enter(struct fuzz_jmp *j, u64 rip, u64 cs, u64 rsp, u64 ss, u64 regs, u64 cr3)
	__attribute__((returns_twice));
__noreturn void fuzz_return(struct fuzz_jmp *j, int v);
/* In the stubs' section: executable in the CPL-0 tables too, where the
 * IRETQ after the switch of CR3 runs. */
asm(".pushsection .text.stubs, \"ax\"\n"
    ".global fuzz_enter\n"
    /* (j, rip, cs, rsp, ss, regs, [cr3 on the stack]) */
    "fuzz_enter:\n"
    "	movq %rbx, 0(%rdi)\n	movq %rbp, 8(%rdi)\n	movq %r12, 16(%rdi)\n"
    "	movq %r13, 24(%rdi)\n	movq %r14, 32(%rdi)\n	movq %r15, 40(%rdi)\n"
    "	leaq 8(%rsp), %rax\n	movq %rax, 48(%rdi)\n"
    "	movq (%rsp), %rax\n	movq %rax, 56(%rdi)\n"
    "	movq 8(%rsp), %r11\n" /* cr3 */
    "	pushq %r8\n"	      /* SS */
    "	pushq %rcx\n"	      /* RSP */
    "	pushq $0x102\n"	      /* RFLAGS: TF, reserved bit 1; IF clear */
    "	pushq %rdx\n"	      /* CS */
    "	pushq %rsi\n"	      /* RIP */
    "	movq %r9, %rax\n	movq %r9, %rbx\n	movq %r9, %rcx\n	movq %r9, %rdx\n"
    "	movq %r9, %rsi\n	movq %r9, %rdi\n	movq %r9, %rbp\n	movq %r9, %r8\n"
    "	movq %r9, %r10\n	movq %r9, %r12\n	movq %r9, %r13\n	movq %r9, %r14\n"
    "	movq %r9, %r15\n"
    "	movq %r11, %cr3\n"
    "	movq %r9, %r11\n"
    "	iretq\n"
    ".global fuzz_return\n"
    "fuzz_return:\n"
    "	movq 0(%rdi), %rbx\n	movq 8(%rdi), %rbp\n	movq 16(%rdi), %r12\n"
    "	movq 24(%rdi), %r13\n	movq 32(%rdi), %r14\n	movq 40(%rdi), %r15\n"
    "	movq 48(%rdi), %rsp\n	movl %esi, %eax\n	jmp *56(%rdi)\n"
    ".global fuzz_stubs_end\n"
    "fuzz_stubs_end:\n"
    ".balign 4096\n"
    ".popsection\n");

/* ---------------------------------------------------------------- */

#define END_COMPLETED 256
#define END_STEPS 257
#define END_KINDS 258
static u64 counts[2][END_KINDS];
static unsigned steps;
static u64 terminator;

void fuzz_dispatch(struct fuzz_frame *f)
{
	unsigned v = (unsigned)f->vector & 0xff;

	/* Segment registers as the loop needs them. */
	asm volatile("movl %0, %%ds; movl %0, %%es" : : "r"((u32)SEL_KDATA));
	if (v == 1 && ++steps < STEP_LIMIT && f->rip != terminator) {
		asm volatile("mov %0, %%dr6" : : "r"(0xfffe0ff0ULL));
		f->rflags |= 0x100; /* one more step */
		return;
	}
	if (v == 3 && f->rip == terminator + 1)
		fuzz_return(&back, END_COMPLETED + 1);
	if (v == 1 && f->rip == terminator)
		fuzz_return(&back, END_COMPLETED + 1);
	if (v == 1)
		fuzz_return(&back, END_STEPS + 1);
	fuzz_return(&back, (int)v + 1);
}

static u64 rng;
static u64 next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Whether a sequence may run at CPL 0 (cpl0) or CPL 3: the bytes that
 * would end the partition or take the CPU from the guest's control. */
static bool acceptable(const u8 *b, unsigned n, bool cpl0)
{
	for (unsigned i = 0; i < n; i++) {
		u8 c = b[i];
		if (c == 0x9d || c == 0xcf)
			return false; /* POPF, IRET: TF */
		if ((c >= 0xe4 && c <= 0xe7) || (c >= 0xec && c <= 0xef) ||
		    (c >= 0x6c && c <= 0x6f))
			return false; /* port I/O */
		if (!cpl0)
			continue;
		if (c == 0x8e || c == 0xf1)
			return false; /* MOV to a segment register; ICEBP */
		if (c == 0x0f && i + 1 < n) {
			u8 d = b[i + 1];
			if (d <= 0x01 || d == 0x05 || d == 0x07 || d == 0x08 || d == 0x09 ||
			    (d >= 0x20 && d <= 0x23) || (d >= 0x30 && d <= 0x37) || d == 0x78 ||
			    d == 0x79 || d == 0xa1 || d == 0xa9 || d == 0xb2 || d == 0xb4 ||
			    d == 0xb5 || d == 0xae || d == 0xc7)
				return false;
		}
	}
	return true;
}

static void build_tables(const struct partita_start_info *si)
{
	u64 ram = MIN(si->mem_size, 4ULL << 20);
	u64 sb_c = (u64)(uintptr_t)sb_code, sb_d = (u64)(uintptr_t)sb_data;
	u64 ist = (u64)(uintptr_t)ist_stack;
	u64 stubs = (u64)(uintptr_t)fuzz_stubs_start & ~0xfffULL,
	    stubs_end = (u64)(uintptr_t)fuzz_stubs_end;

	full_pml4[0] = (u64)(uintptr_t)full_pdpt | PTE_P | PTE_W | PTE_U;
	full_pdpt[0] = (u64)(uintptr_t)full_pd | PTE_P | PTE_W | PTE_U;
	lock_pml4[0] = (u64)(uintptr_t)lock_pdpt | PTE_P | PTE_W | PTE_U;
	lock_pdpt[0] = (u64)(uintptr_t)lock_pd | PTE_P | PTE_W | PTE_U;
	for (unsigned t = 0; t < 2; t++) {
		full_pd[t] = (u64)(uintptr_t)full_pt[t] | PTE_P | PTE_W | PTE_U;
		lock_pd[t] = (u64)(uintptr_t)lock_pt[t] | PTE_P | PTE_W | PTE_U;
	}
	for (u64 a = 0x1000; a < ram; a += 4096) {
		u64 *f = &full_pt[a >> 21][(a >> 12) & 511],
		    *l = &lock_pt[a >> 21][(a >> 12) & 511];
		bool sandbox = a == sb_c || a == sb_d;
		*f = a | PTE_P | PTE_W | (sandbox ? PTE_U : 0);
		*l = a | PTE_P | PTE_NX;
		if (a == sb_d || a == ist || a == ist + 4096)
			*l = a | PTE_P | PTE_W | PTE_NX;
		if (a == sb_c || (a >= stubs && a < stubs_end))
			*l = a | PTE_P;
		if (sandbox)
			*l |= PTE_U;
	}
	full_cr3 = (u64)(uintptr_t)full_pml4;
	lock_cr3 = (u64)(uintptr_t)lock_pml4;
}

static void build_descriptors(void)
{
	gdt[0] = 0;
	gdt[1] = 0x00af9b000000ffffULL; /* 0x08 kernel code */
	gdt[2] = 0x00cf93000000ffffULL; /* 0x10 kernel data */
	gdt[3] = 0x00cff3000000ffffULL; /* 0x18 user data, DPL 3 */
	gdt[4] = 0x00affb000000ffffULL; /* 0x20 user code, DPL 3 */
	u64 t = (u64)(uintptr_t)&tss;
	/* 0x28: 64-bit available TSS (type 9), 16 bytes (SDM Vol. 3A 8.2.3) */
	gdt[5] = (sizeof(tss) - 1) | ((t & 0xffffff) << 16) | (0x89ULL << 40) |
		 ((t >> 24 & 0xff) << 56);
	gdt[6] = t >> 32;
	memset(&tss, 0, sizeof(tss));
	tss.ist[0] = (u64)(uintptr_t)ist_stack + sizeof(ist_stack);
	tss.rsp[0] = tss.ist[0];
	tss.iopb = sizeof(tss);
	for (int v = 0; v < 256; v++) {
		u64 a = fuzz_stubs[v];
		/* interrupt gate, IST 1; DPL 3 for INT3 so that the terminator
		 * works from user mode */
		u64 dpl = v == 3 ? 3 : 0;
		idt[v][0] = (a & 0xffff) | ((u64)SEL_KCODE << 16) | (1ULL << 32) |
			    ((0x8eULL | dpl << 5) << 40) | ((a >> 16 & 0xffff) << 48);
		idt[v][1] = a >> 32;
	}
	struct __packed {
		u16 limit;
		u64 base;
	} gdtr = { sizeof(gdt) - 1, (u64)(uintptr_t)gdt },
	  idtr = { sizeof(idt) - 1, (u64)(uintptr_t)idt };
	asm volatile("lgdt %0\n"
		     "pushq $0x08\n"
		     "leaq 1f(%%rip), %%rax\n"
		     "pushq %%rax\n"
		     "lretq\n"
		     "1: movl $0x10, %%eax\n"
		     "movl %%eax, %%ds\n	movl %%eax, %%es\n	movl %%eax, %%ss\n"
		     "movl %%eax, %%fs\n	movl %%eax, %%gs\n"
		     "movw $0x28, %%ax\n	ltr %%ax\n"
		     :
		     : "m"(gdtr)
		     : "rax", "memory");
	asm volatile("lidt %0" : : "m"(idtr) : "memory");
}

static int attempt(bool cpl0)
{
	u64 *stack = (u64 *)(uintptr_t)sb_data;

	for (unsigned i = 256; i < 512; i++)
		stack[i] = terminator; /* random RETs come back to the INT3 */
	steps = 0;
	int v = fuzz_enter(&back, (u64)(uintptr_t)sb_code, cpl0 ? SEL_KCODE : SEL_UCODE,
			   (u64)(uintptr_t)sb_data + 3072, cpl0 ? SEL_KDATA : SEL_UDATA,
			   (u64)(uintptr_t)sb_data + 1024, cpl0 ? lock_cr3 : full_cr3);
	asm volatile("movl %0, %%ds; movl %0, %%es; movl %0, %%fs; movl %0, %%gs"
		     :
		     : "r"((u32)SEL_KDATA));
	return v - 1;
}

static u64 cmdline_u64(const char *cmdline, const char *key, u64 def)
{
	size_t n = strlen(key);

	for (const char *p = cmdline; *p; p++)
		if ((p == cmdline || p[-1] == ' ') && !strncmp(p, key, n)) {
			u64 v = 0;
			for (p += n; *p >= '0' && *p <= '9'; p++)
				v = v * 10 + (u64)(*p - '0');
			return v;
		}
	return def;
}

static void report(const char *what, const u64 *c, u64 redrawn)
{
	char line[180] = "";
	int n = 0;
	u64 high = 0;

	printf("%s: completed %llu, step limit %llu; drawn again %llu\n", what,
	       (unsigned long long)c[END_COMPLETED], (unsigned long long)c[END_STEPS],
	       (unsigned long long)redrawn);
	for (unsigned v = 0; v < 256; v++) {
		if (v >= 32) {
			high += c[v];
			continue;
		}
		if (!c[v])
			continue;
		if (n > 150) {
			printf("%s vectors:%s\n", what, line);
			n = 0;
		}
		n += snprintf(line + n, sizeof(line) - (size_t)n, " #%u %llu", v,
			      (unsigned long long)c[v]);
	}
	printf("%s vectors:%s, 32-255 %llu\n", what, n ? line : "", (unsigned long long)high);
}

int guest_main(const struct partita_start_info *si)
{
	u64 per_level = cmdline_u64(si->cmdline, "attempts=", 20000);
	u64 redrawn[2] = { 0, 0 }, total[2] = { 0, 0 };

	u64 seed = cmdline_u64(si->cmdline, "seed=", 12345);

	rng = seed * 0x9e3779b97f4a7c15ULL | 1; /* every seed its own stream */
	build_tables(si);
	build_descriptors();
	write_cr3(full_cr3);
	terminator = (u64)(uintptr_t)sb_code + SEQ_LEN;
	printf("seed %llu, %llu attempts at CPL 0 and at CPL 3, %u bytes each, %u steps at most\n",
	       (unsigned long long)seed, (unsigned long long)per_level, SEQ_LEN, STEP_LIMIT);
	for (int level = 0; level < 2; level++) {
		bool cpl0 = level == 0;
		for (u64 k = 0; k < per_level; k++) {
			u8 seq[SEQ_LEN];
			do {
				for (unsigned i = 0; i < SEQ_LEN; i++)
					seq[i] = (u8)(next_random() >> 24);
				if (!acceptable(seq, SEQ_LEN, cpl0))
					redrawn[level]++;
				else
					break;
			} while (1);
			memcpy(sb_code, seq, SEQ_LEN);
			sb_code[SEQ_LEN] = 0xcc;
			memset(sb_data, 0, 2048);
			int v = attempt(cpl0);
			counts[level][v >= 0 && v < END_KINDS ? v : END_STEPS]++;
			total[level]++;
		}
		report(cpl0 ? "CPL 0" : "CPL 3", counts[level], redrawn[level]);
	}
	printf("insnfuzz done: %llu attempts at CPL 0, %llu at CPL 3\n",
	       (unsigned long long)total[0], (unsigned long long)total[1]);
	return 0;
}
