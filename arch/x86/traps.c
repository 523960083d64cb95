/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The IDT and the C side of every interrupt and exception.  All vectors
 * enter through isr.S, which hands trap_dispatch() a struct trap_frame.
 * Interrupts go to the handler registered for their vector; the local
 * APIC's spurious vector is dropped; so is an interrupt nobody registered,
 * after an EOI and a log line: a passed-through device can send a message-
 * signalled interrupt with any vector where no interrupt remapping stops it
 * (drivers/iommu.h), and a device must not stop the hypervisor.  A CPU
 * exception is a hypervisor bug, so it is reported with
 * everything needed to find it (registers, control registers, a backtrace of
 * return addresses to feed to addr2line) and the run ends.  Guests never
 * reach this path: their exceptions are intercepted by VMX/SVM and handled as
 * exits.
 */
#include "arch/x86/traps.h"

#include "arch/x86/cpu.h"
#include "arch/x86/gdt.h"
#include "arch/x86/lapic.h"
#include "arch/x86/percpu.h"
#include "boot/boot_info.h"
#include "kernel/errno.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"

#define IDT_ENTRIES 256
#define BACKTRACE_MAX 16

/* A 64-bit IDT gate (Intel SDM Vol. 3A §6.14.1, Figure 6-8). */
struct idt_gate {
	u16 offset_low;
	u16 selector;
	u8 ist;	 /* bits 2:0; the rest must be zero */
	u8 type; /* P, DPL, 0, type */
	u16 offset_mid;
	u32 offset_high;
	u32 reserved;
} __packed;

_Static_assert(sizeof(struct idt_gate) == 16, "64-bit IDT gate");

struct idt_ptr {
	u16 limit;
	u64 base;
} __packed;

/* P=1, DPL=0, type 0xE: a 64-bit interrupt gate, which clears IF on entry
 * so handlers never nest unless they re-enable interrupts (§6.12.1.3). */
#define GATE_INTERRUPT 0x8e

extern const u8 isr_stubs[]; /* isr.S: 256 stubs, 16 bytes each */
extern const u8 __core_start[], __core_end[], __text_end[];

/* One IDT per CPU (idts[0] is built by traps_init, the others are copies):
 * all gates lead to the same stubs, whose IST numbers name the CPU's own
 * stacks through its own TSS. */
static struct idt_gate idts[MAX_CPUS][IDT_ENTRIES] __aligned(16);
static irq_handler_t irq_handlers[IDT_ENTRIES];

/* How many fatal traps are being reported at once: a fault inside the dump
 * must not start another dump, which might fault again forever. */
static volatile int fatal_depth;

static const char *const exception_names[32] = {
	[0] = "#DE divide error",
	[1] = "#DB debug",
	[2] = "NMI",
	[3] = "#BP breakpoint",
	[4] = "#OF overflow",
	[5] = "#BR bound range exceeded",
	[6] = "#UD invalid opcode",
	[7] = "#NM device not available",
	[8] = "#DF double fault",
	[9] = "coprocessor segment overrun",
	[10] = "#TS invalid TSS",
	[11] = "#NP segment not present",
	[12] = "#SS stack-segment fault",
	[13] = "#GP general protection",
	[14] = "#PF page fault",
	[15] = "reserved",
	[16] = "#MF x87 floating-point error",
	[17] = "#AC alignment check",
	[18] = "#MC machine check",
	[19] = "#XM SIMD floating-point",
	[20] = "#VE virtualization exception",
	[21] = "#CP control protection",
	[28] = "#HV hypervisor injection",
	[29] = "#VC VMM communication",
	[30] = "#SX security exception",
};

const char *trap_name(unsigned vector)
{
	if (vector < 32)
		return exception_names[vector] ? exception_names[vector] : "reserved";
	if (vector == TRAP_SPURIOUS)
		return "spurious interrupt";
	return "interrupt";
}

static void set_gate(unsigned vector, const void *handler, unsigned ist)
{
	u64 addr = (u64)(uintptr_t)handler;
	struct idt_gate *g = &idts[0][vector];

	g->offset_low = (u16)addr;
	g->selector = GDT_KERNEL_CS;
	g->ist = (u8)(ist & 7);
	g->type = GATE_INTERRUPT;
	g->offset_mid = (u16)(addr >> 16);
	g->offset_high = (u32)(addr >> 32);
	g->reserved = 0;
}

static void load_idt(unsigned cpu)
{
	struct idt_ptr p = { .limit = sizeof(idts[0]) - 1, .base = (u64)(uintptr_t)idts[cpu] };

	asm volatile("lidt %0" : : "m"(p) : "memory");
}

void traps_load(void)
{
	unsigned cpu = cpu_index();

	if (cpu)
		memcpy(idts[cpu], idts[0], sizeof(idts[0]));
	load_idt(cpu);
}

void traps_init(void)
{
	for (unsigned v = 0; v < IDT_ENTRIES; v++)
		set_gate(v, isr_stubs + 16 * v, 0);
	/*
	 * The IST switches to a known-good stack unconditionally (§6.14.5):
	 * a double fault usually means the current stack is gone, and an NMI
	 * or machine check can arrive at any instruction, including the first
	 * ones of another handler before it has a usable stack.
	 */
	set_gate(TRAP_DF, isr_stubs + 16 * TRAP_DF, IST_DOUBLE_FAULT);
	set_gate(TRAP_NMI, isr_stubs + 16 * TRAP_NMI, IST_NMI);
	set_gate(TRAP_MC, isr_stubs + 16 * TRAP_MC, IST_MACHINE_CHECK);
	load_idt(0);
}

u64 traps_idt_base(void)
{
	return (u64)(uintptr_t)idts[cpu_index()];
}

int irq_register(unsigned vector, irq_handler_t h)
{
	if (vector < TRAP_FIRST_IRQ || vector >= TRAP_SPURIOUS || !h)
		return -E_INVAL;
	/* The compare-exchange makes two racing registrations safe once other
	 * CPUs run: exactly one of them wins the vector. */
	irq_handler_t expected = NULL;
	if (!__atomic_compare_exchange_n(&irq_handlers[vector], &expected, h, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return -E_BUSY;
	return 0;
}

int irq_unregister(unsigned vector)
{
	if (vector < TRAP_FIRST_IRQ || vector >= TRAP_SPURIOUS)
		return -E_INVAL;
	__atomic_store_n(&irq_handlers[vector], NULL, __ATOMIC_RELEASE);
	return 0;
}

/* In 4-level paging an address is canonical when bits 63:47 are all equal
 * (Intel SDM Vol. 1 §3.3.7.1). */
static bool is_canonical(u64 a)
{
	u64 top = a >> 47;
	return top == 0 || top == 0x1ffff;
}

/*
 * A frame pointer may be followed only where the core keeps stacks: its own
 * image (the boot stack, the IST stacks) and the direct map (stacks from the
 * page allocator).  The direct map is bounded by the 512 GiB of its PML4
 * slot; a pointer into an unmapped hole of it faults, which the nesting
 * counter turns into one short line.
 */
static bool frame_readable(u64 fp)
{
	u64 core_start = (u64)(uintptr_t)__core_start;
	u64 core_end = (u64)(uintptr_t)__core_end;

	if (fp & 7 || !is_canonical(fp))
		return false;
	if (fp >= core_start && fp + 16 <= core_end)
		return true;
	return fp >= DIRECT_MAP_BASE && fp + 16 <= DIRECT_MAP_BASE + GiB(512);
}

static bool is_core_text(u64 addr)
{
	return addr >= (u64)(uintptr_t)__core_start && addr < (u64)(uintptr_t)__text_end;
}

static void print_backtrace(u64 rip, u64 rbp)
{
	log_line("  backtrace (addr2line -e build/core.elf):");
	log_line("    #0  0x%016lx", rip);
	for (int depth = 1; depth < BACKTRACE_MAX; depth++) {
		if (!frame_readable(rbp))
			return;
		const u64 *frame = (const u64 *)(uintptr_t)rbp;
		u64 next = frame[0], ret = frame[1];
		if (!is_core_text(ret))
			return;
		log_line("    #%-2d 0x%016lx", depth, ret);
		/* Stacks grow down, so each caller's frame lies above its
		 * callee's; anything else is a corrupt chain or a loop. */
		if (next <= rbp)
			return;
		rbp = next;
	}
	log_line("    ... (stopped after %d frames)", BACKTRACE_MAX);
}

static void print_dump(const struct trap_frame *f, const char *why)
{
	unsigned v = (unsigned)f->vector;
	const struct percpu *c = this_cpu();

	if (v < TRAP_FIRST_IRQ)
		log_line("%s on cpu %u (APIC ID %u): vector %u (%s), error code 0x%lx", why,
			 c->index, c->apic_id, v, trap_name(v), f->error_code);
	else
		log_line("%s on cpu %u (APIC ID %u): vector %u (0x%02x, %s)", why, c->index,
			 c->apic_id, v, v, trap_name(v));
	if (v == TRAP_PF) {
		u64 e = f->error_code;
		/* Error code bits: Intel SDM Vol. 3A §4.7, Figure 4-12. */
		log_line("  CR2 0x%016lx (%s, %s, %s%s%s)", read_cr2(),
			 e & 1 ? "protection violation" : "not present", e & 2 ? "write" : "read",
			 e & 4 ? "user" : "supervisor", e & 8 ? ", reserved bit set" : "",
			 e & 16 ? ", instruction fetch" : "");
	}
	log_line("  RIP 0x%016lx  CS 0x%04lx  RFLAGS 0x%08lx", f->rip, f->cs, f->rflags);
	log_line("  RSP 0x%016lx  SS 0x%04lx", f->rsp, f->ss);
	log_line("  RAX 0x%016lx  RBX 0x%016lx  RCX 0x%016lx", f->rax, f->rbx, f->rcx);
	log_line("  RDX 0x%016lx  RSI 0x%016lx  RDI 0x%016lx", f->rdx, f->rsi, f->rdi);
	log_line("  RBP 0x%016lx  R8  0x%016lx  R9  0x%016lx", f->rbp, f->r8, f->r9);
	log_line("  R10 0x%016lx  R11 0x%016lx  R12 0x%016lx", f->r10, f->r11, f->r12);
	log_line("  R13 0x%016lx  R14 0x%016lx  R15 0x%016lx", f->r13, f->r14, f->r15);
	log_line("  CR0 0x%016lx  CR3 0x%016lx  CR4 0x%016lx", read_cr0(), read_cr3(), read_cr4());
	print_backtrace(f->rip, f->rbp);
}

static void __noreturn halt_forever(void)
{
	for (;;) {
		irq_disable();
		cpu_halt();
	}
}

void trap_fatal(struct trap_frame *f, const char *why)
{
	int depth = __atomic_add_fetch(&fatal_depth, 1, __ATOMIC_SEQ_CST);

	irq_disable();
	/* The exception may have hit while this CPU held the log's lock. */
	log_break_lock();
	if (depth == 1) {
		print_dump(f, why);
		hv_stop(HV_EXIT_PANIC, "cpu exception");
	}
	if (depth == 2) {
		/* The dump itself faulted: say where, once, without the parts
		 * (backtrace, control registers) that may have caused it. */
		log_line("fault while reporting a fault: vector %lu at RIP 0x%lx", f->vector,
			 f->rip);
		hv_stop(HV_EXIT_PANIC, "cpu exception");
	}
	halt_forever();
}

/* Called from isr.S only; not in the header, so -Wmissing-prototypes needs
 * this declaration. */
void trap_dispatch(struct trap_frame *f);

void trap_dispatch(struct trap_frame *f)
{
	unsigned v = (unsigned)f->vector;

	if (v >= TRAP_FIRST_IRQ) {
		/* A spurious interrupt sets no ISR bit, so it takes no EOI
		 * (Intel SDM Vol. 3A §11.9). */
		if (v == TRAP_SPURIOUS)
			return;
		irq_handler_t h = __atomic_load_n(&irq_handlers[v], __ATOMIC_ACQUIRE);
		if (h) {
			h(f);
			return;
		}
		/* Fixed delivery set its ISR bit: EOI it, or every lower
		 * priority interrupt (the scheduler's timer) stays blocked
		 * (Intel SDM Vol. 3A §11.8.4). */
		static unsigned dropped;
		lapic_eoi();
		if (dropped++ < 8)
			log_line("unexpected interrupt: vector %u (0x%02x) dropped (a device's MSI?)%s",
				 v, v, dropped == 8 ? "; further ones dropped silently" : "");
		return;
	}
	trap_fatal(f, "CPU exception");
}
