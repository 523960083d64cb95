/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Each CPU's GDT and TSS (one pair per CPU, indexed by its number).  Long mode ignores segment bases and limits
 * for CS/DS/ES/SS, so the descriptors are flat; what the GDT really carries
 * is the L bit of the code segment and the TSS, whose IST entries give the
 * exceptions that can strike on a broken stack (double fault, NMI, machine
 * check) stacks of their own.  The loader's GDT lives in boot-services
 * memory the core may reuse, so the core loads its own before anything else.
 * Every CPU has a GDT and a TSS of its own, with its own IST stacks: the
 * TSS slot cannot be shared, because LTR marks the descriptor busy (Intel
 * SDM Vol. 3A §8.2.2, §8.7), and two CPUs must never share a stack.  The
 * boot CPU's IST stacks are in the image; the others' come from the page
 * allocator (smp.c).
 */
#include "arch/x86/gdt.h"

#include "arch/x86/percpu.h"

#include "kernel/lib/string.h"

/* The 64-bit TSS (Intel SDM Vol. 3A §8.7).  Packed: the RSP and IST fields
 * sit at 4-byte offsets. */
struct tss64 {
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7]; /* ist[0] is IST1 */
	u64 reserved2;
	u16 reserved3;
	u16 iomap_base;
} __packed;

_Static_assert(sizeof(struct tss64) == TSS_SIZE, "64-bit TSS layout");

struct gdt_ptr {
	u16 limit;
	u64 base;
} __packed;

/* Null, code, data, TSS low, TSS high. */
#define GDT_ENTRIES 5

/*
 * Code: P=1, DPL=0, S=1, type execute/read, L=1 (64-bit), D=0 as required
 * with L=1 (Intel SDM Vol. 3A §5.2.1).  Data: P=1, S=1, type read/write; in
 * 64-bit mode only P matters, but SS loaded at CPL0 must be writable data.
 * G=1 and limit 0xfffff keep the descriptors sane for tools that read them.
 */
#define DESC_KERNEL_CODE 0x00af9a000000ffffULL
#define DESC_KERNEL_DATA 0x00cf92000000ffffULL

/* Type 9: available 64-bit TSS; P=1, DPL=0 (Intel SDM Vol. 3A §8.2.3). */
#define DESC_TSS_AVAILABLE 0x89ULL

static u64 gdts[MAX_CPUS][GDT_ENTRIES] __aligned(16);
static struct tss64 tsss[MAX_CPUS] __aligned(16);

static u8 ist_double_fault[IST_STACK_SIZE] __aligned(16);
static u8 ist_nmi[IST_STACK_SIZE] __aligned(16);
static u8 ist_machine_check[IST_STACK_SIZE] __aligned(16);

static void tss_descriptor(u64 *slot, u64 base, u32 limit)
{
	slot[0] = (limit & 0xffffULL) | ((base & 0xffffffULL) << 16) | (DESC_TSS_AVAILABLE << 40) |
		  (((u64)limit & 0xf0000ULL) << 32) | ((base & 0xff000000ULL) << 32);
	slot[1] = base >> 32;
}

void gdt_init_cpu(unsigned cpu, const u64 ist_top[3])
{
	struct gdt_ptr gp;
	u64 *gdt = gdts[cpu];
	struct tss64 *t = &tsss[cpu];

	memset(t, 0, sizeof(*t));
	/* Stacks grow down: each IST entry points one past its stack's top,
	 * which is 16-byte aligned as the CPU wants it (§6.14.5). */
	t->ist[IST_DOUBLE_FAULT - 1] = ist_top[0];
	t->ist[IST_NMI - 1] = ist_top[1];
	t->ist[IST_MACHINE_CHECK - 1] = ist_top[2];
	/* An I/O map base at or beyond the limit means "no I/O bitmap": CPL0
	 * code is never checked against it anyway (Intel SDM Vol. 1 §19.5.2). */
	t->iomap_base = sizeof(*t);

	gdt[0] = 0;
	gdt[GDT_KERNEL_CS / 8] = DESC_KERNEL_CODE;
	gdt[GDT_KERNEL_DS / 8] = DESC_KERNEL_DATA;
	tss_descriptor(&gdt[GDT_TSS / 8], (u64)(uintptr_t)t, sizeof(*t) - 1);

	gp.limit = sizeof(gdts[0]) - 1;
	gp.base = (u64)(uintptr_t)gdt;

	/*
	 * A far return is the simplest way to load CS in 64-bit mode (there is
	 * no far jump to an immediate).  The data selectors follow; FS and GS
	 * get the null selector, which is legal in 64-bit mode and leaves their
	 * bases to the MSRs.
	 */
	asm volatile("lgdt %0\n\t"
		     "pushq %1\n\t"
		     "leaq 1f(%%rip), %%rax\n\t"
		     "pushq %%rax\n\t"
		     "lretq\n"
		     "1:\n\t"
		     "movw %w2, %%ds\n\t"
		     "movw %w2, %%es\n\t"
		     "movw %w2, %%ss\n\t"
		     "movw %w3, %%fs\n\t"
		     "movw %w3, %%gs\n\t"
		     :
		     : "m"(gp), "i"((u64)GDT_KERNEL_CS), "r"((u64)GDT_KERNEL_DS), "r"(0ULL)
		     : "rax", "memory");
	asm volatile("ltr %w0" : : "r"((u16)GDT_TSS) : "memory");
}

void gdt_init(void)
{
	const u64 ist_top[3] = {
		(u64)(uintptr_t)(ist_double_fault + sizeof(ist_double_fault)),
		(u64)(uintptr_t)(ist_nmi + sizeof(ist_nmi)),
		(u64)(uintptr_t)(ist_machine_check + sizeof(ist_machine_check)),
	};

	gdt_init_cpu(0, ist_top);
}

u64 gdt_base(void)
{
	return (u64)(uintptr_t)gdts[cpu_index()];
}

u16 gdt_limit(void)
{
	return sizeof(gdts[0]) - 1;
}

u64 gdt_tss_base(void)
{
	return (u64)(uintptr_t)&tsss[cpu_index()];
}
