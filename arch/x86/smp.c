/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Bringing up the other CPUs (see smp.h).
 *
 * The sequence for each CPU, one at a time because the trampoline's
 * parameter block is shared (Intel SDM Vol. 3A §8.4.4.1 "Typical BSP
 * Initialization Sequence", the INIT-SIPI-SIPI protocol of the MP spec):
 * fill the parameter block (stack, struct percpu, the temporary root), send
 * INIT, wait 10 ms, send a start-up IPI, wait 200 us, send a second one if
 * the CPU has not answered, then wait up to 100 ms for it to report CPU_UP
 * from C.
 *
 * The temporary root: the trampoline turns paging on while it still runs at
 * its low physical address, which the core's own tables do not map (they
 * map no low memory at all, on purpose).  So the APs start on a root of
 * three pages below 4 GiB (a 32-bit MOV to CR3 loads it): PML4 entry 0 maps
 * the first 2 MiB one to one, executable, and the upper half's entries are
 * the core's own, so the jump to the C entry at its high address works; the
 * C entry then loads the core's root and nothing uses the temporary one
 * again.
 *
 * Locking: smp.c's state is written by the boot CPU before it releases a
 * CPU (phase, the parameter block, percpu[] start fields) and read by the
 * released CPU after it saw the phase change (acquire/release on `phase`);
 * each CPU writes only its own percpu entry's status and virt_ok, which the
 * boot CPU reads after the CPU's answer.
 */
#include "arch/x86/smp.h"

#include "arch/x86/clock.h"
#include "arch/x86/cpu.h"
#include "arch/x86/fpu.h"
#include "arch/x86/gdt.h"
#include "arch/x86/lapic.h"
#include "arch/x86/paging.h"
#include "arch/x86/percpu.h"
#include "arch/x86/traps.h"
#include "kernel/errno.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/virt.h"

/* The parameter block at the end of the trampoline page (trampoline.S). */
#define TRAMP_CR3 0xfe0
#define TRAMP_STACK 0xfe8
#define TRAMP_ENTRY 0xff0
#define TRAMP_ARG 0xff8

#define AP_STACK_PAGES 8 /* 32 KiB, as the boot stack */
#define AP_IST_PAGES 4	 /* 16 KiB each, as IST_STACK_SIZE */
#define INIT_WAIT_US 10000
#define SIPI_WAIT_US 200
#define UP_WAIT_US 1000000 /* 1 s: an emulator may run the CPU late */
#define POLL_NS 20000ULL
#define TIMER_TOLERANCE_PERMILLE 20 /* 2 %: the scheduler uses CPU 0's rate */

#define START_PTE_P_W 0x3ULL
#define START_PTE_PS 0x80ULL

extern const u8 trampoline_start[], trampoline_end[];

struct percpu percpu[MAX_CPUS];

enum smp_phase { PHASE_BOOT, PHASE_VIRT, PHASE_RUN };

static volatile int phase;
static unsigned cpu_count = 1; /* CPU numbers used: 0 and the MADT's others */
static const struct acpi_info *acpi_saved;
static volatile u32 virt_answers;
static void (*run_fn)(void);

void percpu_init_cpu(unsigned index)
{
	struct percpu *c = &percpu[index];

	c->self = c;
	c->index = index;
	/* IA32_GS_BASE (Intel SDM Vol. 3A §3.4.4.1): the 64-bit base of GS. */
	wrmsr(0xc0000101, (u64)(uintptr_t)c);
}

unsigned smp_cpu_count(void)
{
	return cpu_count;
}

bool smp_cpu_up(unsigned cpu)
{
	return cpu < cpu_count && percpu[cpu].status == CPU_UP;
}

bool smp_cpu_virt(unsigned cpu)
{
	return smp_cpu_up(cpu) && percpu[cpu].virt_ok;
}

u32 smp_apic_id(unsigned cpu)
{
	return cpu < MAX_CPUS ? percpu[cpu].apic_id : 0;
}

static void kick_irq(struct trap_frame *f)
{
	(void)f;
	this_cpu()->ipis_received++;
	lapic_eoi();
}

static u32 stopping;	  /* a CPU ends the run */
static u32 stopped_count; /* CPUs that took the stop IPI */

static void __noreturn stop_here(void)
{
	__atomic_add_fetch(&stopped_count, 1, __ATOMIC_ACQ_REL);
	for (;;) {
		irq_disable();
		cpu_halt();
	}
}

static void stop_irq(struct trap_frame *f)
{
	(void)f;
	lapic_eoi();
	stop_here();
}

bool smp_stop_others(u64 timeout_ns)
{
	u32 expected = 0;

	if (!__atomic_compare_exchange_n(&stopping, &expected, 1, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return false;
	unsigned waiting = 0;
	for (unsigned i = 0; i < cpu_count; i++) {
		if (i == cpu_index() || percpu[i].status != CPU_UP || percpu[i].quiet)
			continue;
		lapic_send_ipi(percpu[i].apic_id, SMP_STOP_VECTOR);
		waiting++;
	}
	u64 t0 = rdtsc(), limit = clock_ns_to_tsc(timeout_ns);
	while (__atomic_load_n(&stopped_count, __ATOMIC_ACQUIRE) < waiting && rdtsc() - t0 < limit)
		cpu_relax();
	return true;
}

void smp_kick(unsigned cpu)
{
	if (cpu >= cpu_count || cpu == cpu_index() || percpu[cpu].status != CPU_UP)
		return;
	__atomic_store_n(&percpu[cpu].kick, 1, __ATOMIC_RELEASE);
	lapic_send_ipi(percpu[cpu].apic_id, SMP_KICK_VECTOR);
}

/* Halts until the boot CPU moves to phase p (it kicks every CPU then). */
static void wait_phase(int p)
{
	while (__atomic_load_n(&phase, __ATOMIC_ACQUIRE) < p) {
		cpu_wait_irq();
		irq_disable();
	}
}

/*
 * Waits until *word differs from value or the TSC passes until: halted
 * between looks (a one-shot timer or the other CPU's kick wakes it), so an
 * emulator that runs its CPUs in turn gives the time to the CPU waited for.
 * Returns whether it changed.
 */
static bool wait_change(volatile u32 *word, u32 value, u64 until)
{
	for (;;) {
		if (__atomic_load_n(word, __ATOMIC_ACQUIRE) != value)
			return true;
		if (rdtsc() >= until)
			return false;
		lapic_timer_oneshot_ns(POLL_NS, SMP_KICK_VECTOR);
		cpu_wait_irq();
		irq_disable();
	}
}

static void set_phase(int p)
{
	__atomic_store_n(&phase, p, __ATOMIC_RELEASE);
	for (unsigned i = 1; i < cpu_count; i++)
		smp_kick(i);
}

void ap_entry(struct percpu *c) __noreturn;

/* The C entry of another CPU, on its own stack (trampoline.S).  Runs on
 * the temporary root until its first statement is done. */
void ap_entry(struct percpu *c)
{
	char t1[24], t2[24];
	u64 ist_top[3];
	u64 hz = 0;

	/* From the bottom of its block: three IST stacks, then the kernel
	 * stack (start_cpu). */
	for (int i = 0; i < 3; i++)
		ist_top[i] =
			c->stack_top - (u64)(AP_STACK_PAGES + (2 - i) * AP_IST_PAGES) * PAGE_SIZE;
	write_cr3(paging_root());
	gdt_init_cpu(c->index, ist_top);
	percpu_init_cpu(c->index);
	traps_load();
	if (lapic_init(acpi_saved) || lapic_id() != c->apic_id) {
		log_line("smp: cpu %u (APIC ID %u): its local APIC does not answer as expected",
			 c->index, c->apic_id);
		goto failed;
	}
	int err = lapic_timer_check(&hz);
	u64 ref = lapic_timer_hz();
	u64 diff = hz > ref ? hz - ref : ref - hz;
	if (err || diff * 1000 > ref * TIMER_TOLERANCE_PERMILLE) {
		log_line("smp: cpu %u (APIC ID %u): its LAPIC timer runs at %s MHz, cpu 0's at %s MHz: not used",
			 c->index, c->apic_id, clock_format_mhz(t1, sizeof(t1), hz),
			 clock_format_mhz(t2, sizeof(t2), ref));
		goto failed;
	}
	fpu_init();
	log_line("smp: cpu %u (APIC ID %u) up, LAPIC timer %s MHz (cpu 0: %s MHz)", c->index,
		 c->apic_id, clock_format_mhz(t1, sizeof(t1), hz),
		 clock_format_mhz(t2, sizeof(t2), ref));
	/* The boot CPU may have given up on it (then it stays parked). */
	u32 starting = CPU_STARTING;
	if (!__atomic_compare_exchange_n(&c->status, &starting, CPU_UP, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		goto park;
	lapic_send_ipi(percpu[0].apic_id, SMP_KICK_VECTOR);

	wait_phase(PHASE_VIRT);
	c->virt_ok = virt && virt->cpu_enable() == 0;
	__atomic_add_fetch(&virt_answers, 1, __ATOMIC_ACQ_REL);
	lapic_send_ipi(percpu[0].apic_id, SMP_KICK_VECTOR);
	wait_phase(PHASE_RUN);
	if (c->virt_ok && run_fn)
		run_fn();
	goto park;
failed:
	starting = CPU_STARTING;
	__atomic_compare_exchange_n(&c->status, &starting, CPU_FAILED, false, __ATOMIC_ACQ_REL,
				    __ATOMIC_ACQUIRE);
park:
	for (;;) {
		irq_disable();
		cpu_halt();
	}
}

/* The temporary root (see the top of the file).  Returns its physical
 * address, or 0. */
static u64 build_start_root(void)
{
	hpa_t pml4, pdpt, pd;

	if (page_alloc(1, 1, &pml4) || page_alloc(1, 1, &pdpt) || page_alloc(1, 1, &pd))
		return 0;
	if ((pml4.v | pdpt.v | pd.v) >> 32) {
		log_line("smp: no memory below 4 GiB for the start-up page tables");
		return 0;
	}
	u64 *l4 = phys_to_virt(pml4), *l3 = phys_to_virt(pdpt), *l2 = phys_to_virt(pd);
	const u64 *core = phys_to_virt(hpa(paging_root()));

	for (int i = 256; i < 512; i++)
		l4[i] = core[i];
	l4[0] = pdpt.v | START_PTE_P_W;
	l3[0] = pd.v | START_PTE_P_W;
	l2[0] = 0 | START_PTE_P_W | START_PTE_PS; /* 0-2 MiB, executable, write-back */
	return pml4.v;
}

/* Starts CPU c; true once it reported from C (up or failed). */
static bool start_cpu(struct percpu *c, u8 *page, u64 page_phys, u64 root)
{
	hpa_t stack;

	if (page_alloc(AP_STACK_PAGES + 3 * AP_IST_PAGES, 1, &stack)) {
		log_line("smp: cpu %u (APIC ID %u): no memory for its stacks", c->index,
			 c->apic_id);
		return false;
	}
	/* Layout from the bottom: three IST stacks, then the kernel stack. */
	u64 base = (u64)(uintptr_t)phys_to_virt(stack);
	c->stack_top = base + (u64)(AP_STACK_PAGES + 3 * AP_IST_PAGES) * PAGE_SIZE;
	*(u32 *)(page + TRAMP_CR3) = (u32)root;
	*(u64 *)(page + TRAMP_STACK) = c->stack_top;
	*(u64 *)(page + TRAMP_ENTRY) = (u64)(uintptr_t)ap_entry;
	*(u64 *)(page + TRAMP_ARG) = (u64)(uintptr_t)c;
	c->status = CPU_STARTING;
	asm volatile("mfence" ::: "memory");

	lapic_send_init(c->apic_id);
	clock_delay_us(INIT_WAIT_US);
	volatile u32 *status = (volatile u32 *)&c->status;
	for (int sipi = 0; sipi < 2; sipi++) {
		lapic_send_startup(c->apic_id, page_phys);
		if (wait_change(status, CPU_STARTING,
				rdtsc() + clock_ns_to_tsc(SIPI_WAIT_US * 1000ULL)))
			goto answered;
	}
	if (wait_change(status, CPU_STARTING, rdtsc() + clock_ns_to_tsc(UP_WAIT_US * 1000ULL)))
		goto answered;
	u32 starting = CPU_STARTING;
	if (__atomic_compare_exchange_n(status, &starting, CPU_FAILED, false, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE)) {
		log_line("smp: cpu %u (APIC ID %u) did not start (no answer to INIT-SIPI-SIPI)",
			 c->index, c->apic_id);
		return false;
	}
answered:
	return c->status == CPU_UP;
}

void smp_init(const struct acpi_info *acpi, const struct boot_info *bi)
{
	char list[256];
	size_t len = 0;
	unsigned up = 1;

	acpi_saved = acpi;
	percpu[0].apic_id = lapic_id();
	percpu[0].status = CPU_UP;
	percpu[0].stack_top = 0;
	if (irq_register(SMP_KICK_VECTOR, kick_irq) || irq_register(SMP_STOP_VECTOR, stop_irq))
		panic("smp: vector %#x or %#x taken", SMP_KICK_VECTOR, SMP_STOP_VECTOR);

	/* CPU numbers: the boot CPU, then the MADT's others in order. */
	for (u32 i = 0; i < acpi->cpu_count; i++) {
		if (acpi->apic_ids[i] == percpu[0].apic_id)
			continue;
		if (cpu_count == MAX_CPUS) {
			log_line("smp: APIC ID %u not started (at most %u CPUs)", acpi->apic_ids[i],
				 MAX_CPUS);
			continue;
		}
		percpu[cpu_count].apic_id = acpi->apic_ids[i];
		percpu[cpu_count].index = cpu_count;
		cpu_count++;
	}
	if (cpu_count > 1) {
		u64 root = build_start_root();
		u64 tp = bi->trampoline_phys;
		size_t size = (size_t)(trampoline_end - trampoline_start);
		if (!tp || !root) {
			log_line("smp: %s: only cpu 0 runs",
				 !tp ? "the loader kept no trampoline page" : "no start-up tables");
			for (unsigned i = 1; i < cpu_count; i++)
				percpu[i].status = CPU_FAILED;
		} else {
			u8 *page = phys_to_virt(hpa(tp));
			memcpy(page, trampoline_start, size);
			for (unsigned i = 1; i < cpu_count; i++)
				up += start_cpu(&percpu[i], page, tp, root);
		}
	}
	for (unsigned i = 0; i < cpu_count && len < sizeof(list); i++)
		if (percpu[i].status == CPU_UP)
			len += snprintf(list + len, sizeof(list) - len, "%scpu %u (APIC ID %u)",
					len ? ", " : "", i, percpu[i].apic_id);
	log_line("smp: %u CPU%s up: %s", up, up == 1 ? "" : "s", list);
	if (up < cpu_count) {
		len = 0;
		for (unsigned i = 0; i < cpu_count && len < sizeof(list); i++)
			if (percpu[i].status != CPU_UP)
				len += snprintf(list + len, sizeof(list) - len,
						"%scpu %u (APIC ID %u)", len ? ", " : "", i,
						percpu[i].apic_id);
		log_line("smp: %u CPU%s not up: %s", cpu_count - up, cpu_count - up == 1 ? "" : "s",
			 list);
	}
}

unsigned smp_enable_virt(void)
{
	unsigned expect = 0, on = 1;

	percpu[0].virt_ok = true; /* virt_init() succeeded on it */
	for (unsigned i = 1; i < cpu_count; i++)
		expect += percpu[i].status == CPU_UP;
	if (!expect)
		return 1;
	set_phase(PHASE_VIRT);
	u64 until = rdtsc() + clock_ns_to_tsc(NSEC_PER_SEC);
	u32 seen;
	while ((seen = __atomic_load_n(&virt_answers, __ATOMIC_ACQUIRE)) < expect &&
	       wait_change(&virt_answers, seen, until))
		;
	for (unsigned i = 1; i < cpu_count; i++) {
		if (percpu[i].status != CPU_UP)
			continue;
		if (percpu[i].virt_ok)
			on++;
		else
			log_line("smp: cpu %u (APIC ID %u) cannot turn %s on: it runs nothing", i,
				 percpu[i].apic_id, virt ? virt->name : "SVM/VMX");
	}
	return on;
}

void smp_release(void (*fn)(void))
{
	run_fn = fn;
	set_phase(PHASE_RUN);
}

void smp_run_calls(void)
{
	struct percpu *c = this_cpu();
	/* Claimed by the exchange: a caller that gives up afterwards waits
	 * for call_done instead. */
	void (*fn)(void *) = __atomic_exchange_n(&c->call_fn, NULL, __ATOMIC_ACQ_REL);

	if (!fn)
		return;
	fn(c->call_arg);
	__atomic_store_n(&c->call_done, 1, __ATOMIC_RELEASE);
}

int smp_call(unsigned cpu, void (*fn)(void *arg), void *arg, u64 timeout_ns)
{
	if (cpu == cpu_index()) {
		fn(arg);
		return 0;
	}
	if (cpu >= cpu_count || percpu[cpu].status != CPU_UP)
		return -E_INVAL;
	struct percpu *t = &percpu[cpu];
	u64 until = rdtsc() + clock_ns_to_tsc(timeout_ns);

	/* One call at a time per target CPU. */
	while (__atomic_exchange_n(&t->call_lock, 1, __ATOMIC_ACQUIRE)) {
		smp_run_calls();
		if (rdtsc() >= until)
			return -E_BUSY;
		cpu_relax();
	}
	t->call_arg = arg;
	t->call_done = 0;
	__atomic_store_n(&t->call_fn, fn, __ATOMIC_RELEASE);
	smp_kick(cpu);
	int err = 0;
	while (!__atomic_load_n(&t->call_done, __ATOMIC_ACQUIRE)) {
		smp_run_calls();
		if (rdtsc() >= until) {
			/* Withdraw it, unless the target took it meanwhile (then
			 * it is running and call_done follows soon). */
			void (*expected)(void *) = fn;
			if (__atomic_compare_exchange_n(&t->call_fn, &expected, NULL, false,
							__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
				err = -E_BUSY;
				break;
			}
		}
		cpu_relax();
	}
	__atomic_store_n(&t->call_lock, 0, __ATOMIC_RELEASE);
	return err;
}
