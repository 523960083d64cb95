/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The local APIC driver (Intel SDM Vol. 3A chapter 11, AMD APM Vol. 2
 * chapter 16).  Register offsets are the xAPIC MMIO offsets; in x2APIC mode
 * the same register is MSR 0x800 + offset / 16 (SDM §11.12.1.2), so one pair
 * of accessors covers both modes.  Only what the core itself needs is here;
 * the local APIC that guests see is emulated elsewhere.
 */
#include "arch/x86/lapic.h"

#include "arch/x86/clock.h"
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "arch/x86/traps.h"
#include "kernel/errno.h"
#include "kernel/log.h"
#include "kernel/mm.h"

/* Register offsets (SDM §11.4.1, Table 11-1). */
#define LAPIC_ID 0x020
#define LAPIC_VERSION 0x030
#define LAPIC_TPR 0x080
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_ESR 0x280
#define LAPIC_ICR_LOW 0x300
#define LAPIC_ICR_HIGH 0x310
#define LAPIC_LVT_CMCI 0x2f0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_THERMAL 0x330
#define LAPIC_LVT_PERF 0x340
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TIMER_INITIAL 0x380
#define LAPIC_TIMER_CURRENT 0x390
#define LAPIC_TIMER_DIVIDE 0x3e0

#define X2APIC_MSR_BASE 0x800

#define APIC_BASE_BSP (1ULL << 8)
#define APIC_BASE_EXTD (1ULL << 10) /* x2APIC mode */
#define APIC_BASE_EN (1ULL << 11)
#define APIC_BASE_ADDR 0x000ffffffffff000ULL

#define SVR_ENABLE (1u << 8)
#define LVT_MASKED (1u << 16)
/* Timer mode, LVT timer bits 18:17 (SDM §11.5.1, Figure 11-8). */
#define LVT_TIMER_ONESHOT (0u << 17)
#define LVT_TIMER_PERIODIC (1u << 17)
#define LVT_TIMER_TSC_DEADLINE (2u << 17)

/* Divide configuration values (bits 3, 1:0; SDM §11.5.4, Figure 11-10). */
#define DIVIDE_BY_1 0xb
#define DIVIDE_BY_16 0x3

#define CPUID1_EDX_APIC (1u << 9)
#define CPUID1_ECX_X2APIC (1u << 21)
#define CPUID1_ECX_TSC_DEADLINE (1u << 24)

#define PIC1_DATA 0x21
#define PIC2_DATA 0xa1

#define CALIBRATION_MS 20

static bool initialized;
static bool x2apic;
static volatile u8 *mmio; /* xAPIC registers through the direct map */
static u64 timer_hz;
static struct clock_scale ns_to_count; /* timer_hz / 1e9 */
static u32 timer_divide = DIVIDE_BY_1;
static bool tsc_deadline;
/* Per CPU (percpu.h): deadline_armed, the LVT is in TSC-deadline mode. */

static u32 lapic_read(u32 reg)
{
	if (x2apic)
		return (u32)rdmsr(X2APIC_MSR_BASE + (reg >> 4));
	return *(volatile u32 *)(mmio + reg);
}

static void lapic_write(u32 reg, u32 v)
{
	if (x2apic)
		wrmsr(X2APIC_MSR_BASE + (reg >> 4), v);
	else
		*(volatile u32 *)(mmio + reg) = v;
}

bool lapic_x2apic_mode(void)
{
	return x2apic;
}

u32 lapic_id(void)
{
	/* xAPIC keeps its 8-bit ID in bits 31:24; x2APIC's ID is all 32
	 * bits (SDM §11.12.5.1). */
	if (x2apic)
		return lapic_read(LAPIC_ID);
	return lapic_read(LAPIC_ID) >> 24;
}

void lapic_eoi(void)
{
	/* Any value will do, but SDM §11.8.5 asks for 0 (x2APIC: writing a
	 * non-zero value raises #GP). */
	lapic_write(LAPIC_EOI, 0);
}

/*
 * The 8259s stay programmed as the firmware left them, fully masked: with
 * the APIC handling all interrupts, an unmasked PIC could only deliver
 * ExtINT interrupts through LINT0 at vectors the firmware chose, which would
 * collide with exception vectors.
 */
static void pic_mask_all(void)
{
	outb(PIC1_DATA, 0xff);
	outb(PIC2_DATA, 0xff);
}

static int enable_mode(const struct acpi_info *acpi)
{
	u64 base = rdmsr(MSR_APIC_BASE);
	bool want_x2apic = cpuid(1, 0).ecx & CPUID1_ECX_X2APIC;

	if (want_x2apic) {
		/* From disabled or xAPIC, x2APIC is entered with EN set first
		 * and then EXTD; EXTD alone is an illegal transition (SDM
		 * §11.12.5, Figure 11-27). */
		if (!(base & APIC_BASE_EN)) {
			base |= APIC_BASE_EN;
			wrmsr(MSR_APIC_BASE, base);
		}
		if (!(base & APIC_BASE_EXTD))
			wrmsr(MSR_APIC_BASE, base | APIC_BASE_EXTD);
		x2apic = true;
		return 0;
	}
	if (base & APIC_BASE_EXTD) {
		/* Firmware left x2APIC on, though CPUID denies it: believe
		 * the MSR, leaving x2APIC needs a full APIC reset. */
		x2apic = true;
		return 0;
	}
	if (!(base & APIC_BASE_EN))
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_EN);
	u64 phys = base & APIC_BASE_ADDR;
	if (acpi->lapic_phys && acpi->lapic_phys != phys)
		log_line("lapic: MADT says 0x%lx but IA32_APIC_BASE says 0x%lx; using the MSR",
			 acpi->lapic_phys, phys);
	mmio = phys_to_virt(hpa(phys));
	x2apic = false;
	return 0;
}

int lapic_init(const struct acpi_info *acpi)
{
	int err;

	if (!(cpuid(1, 0).edx & CPUID1_EDX_APIC)) {
		log_line("lapic: this CPU has no local APIC");
		return -E_NOTSUP;
	}
	pic_mask_all();
	err = enable_mode(acpi);
	if (err)
		return err;
	tsc_deadline = cpuid(1, 0).ecx & CPUID1_ECX_TSC_DEADLINE;

	/* Max LVT entry, version register bits 23:16 (SDM §11.4.8): the CMCI
	 * LVT exists from 6 on, thermal and performance ones from 4 or 5. */
	u32 max_lvt = (lapic_read(LAPIC_VERSION) >> 16) & 0xff;

	/* Mask before enabling, so nothing fires at a vector with no
	 * handler in between.  LINT0 (ExtINT from the 8259) and LINT1 (NMI
	 * on PCs) are off: the core takes neither; the error LVT stays masked
	 * because the core sends only IPIs it knows to be valid and would only count errors. */
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT1, LVT_MASKED);
	lapic_write(LAPIC_LVT_ERROR, LVT_MASKED);
	if (max_lvt >= 4)
		lapic_write(LAPIC_LVT_PERF, LVT_MASKED);
	if (max_lvt >= 5)
		lapic_write(LAPIC_LVT_THERMAL, LVT_MASKED);
	if (max_lvt >= 6)
		lapic_write(LAPIC_LVT_CMCI, LVT_MASKED);
	lapic_write(LAPIC_TIMER_INITIAL, 0);

	lapic_write(LAPIC_TPR, 0);
	/* Software enable with spurious vector 0xff (SDM §11.9: its low four
	 * bits being ones also keeps old P6-family parts happy). */
	lapic_write(LAPIC_SVR, SVR_ENABLE | TRAP_SPURIOUS);
	/* Clear errors latched before we took over: write, then read
	 * (SDM §11.5.3). */
	lapic_write(LAPIC_ESR, 0);
	(void)lapic_read(LAPIC_ESR);
	/* Any interrupt the firmware left in service would block lower
	 * priorities; one EOI per possible in-service level clears them. */
	for (int i = 0; i < 16; i++)
		lapic_eoi();

	initialized = true;
	return 0;
}

bool lapic_has_tsc_deadline(void)
{
	return tsc_deadline;
}

u64 lapic_timer_hz(void)
{
	return timer_hz;
}

/* Counts the timer makes while the reference (or the TSC) advances by
 * CALIBRATION_MS; 0 if the counter ran out or stood still. */
static u64 measure_counts(u32 divide, u64 *hz_out)
{
	u64 ref_hz, elapsed;
	u32 start, end;

	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | LVT_TIMER_ONESHOT);
	lapic_write(LAPIC_TIMER_DIVIDE, divide);
	/* The reference is the HPET or PM timer when there is one, else the
	 * TSC (itself measured against the PIT).  Reading the reference on
	 * both sides keeps the counter reads close to the reference reads. */
	bool use_ref = clock_ref_readable();
	ref_hz = use_ref ? clock_ref_hz() : clock_tsc_hz();
	u64 window = ref_hz * CALIBRATION_MS / 1000;

	lapic_write(LAPIC_TIMER_INITIAL, 0xffffffffu);
	u64 r0 = use_ref ? clock_ref_read() : rdtsc();
	start = lapic_read(LAPIC_TIMER_CURRENT);
	u64 r;
	for (u64 spins = 0;; spins++) {
		r = use_ref ? clock_ref_read() : rdtsc();
		if (r - r0 >= window)
			break;
		if (spins > 1000000000ULL) {
			lapic_write(LAPIC_TIMER_INITIAL, 0);
			return 0;
		}
	}
	end = lapic_read(LAPIC_TIMER_CURRENT);
	elapsed = r - r0;
	lapic_write(LAPIC_TIMER_INITIAL, 0);

	/* A one-shot counter stops at 0: reaching it means the window was
	 * longer than the counter, so the count is not a measurement. */
	if (end == 0 || end >= start)
		return 0;
	u64 counts = start - end;
	*hz_out = (counts / elapsed) * ref_hz + (counts % elapsed) * ref_hz / elapsed;
	return counts;
}

/* The median of three measurements: one window stretched by an SMI or, in
 * an emulator, by translating code on first use, does not count. */
static bool measure_hz(u32 divide, u64 *hz_out)
{
	u64 hz[3];

	for (int i = 0; i < 3; i++)
		if (!measure_counts(divide, &hz[i]))
			return false;
	if ((hz[0] <= hz[1] && hz[1] <= hz[2]) || (hz[2] <= hz[1] && hz[1] <= hz[0]))
		*hz_out = hz[1];
	else if ((hz[1] <= hz[0] && hz[0] <= hz[2]) || (hz[2] <= hz[0] && hz[0] <= hz[1]))
		*hz_out = hz[0];
	else
		*hz_out = hz[2];
	return true;
}

int lapic_timer_calibrate(void)
{
	char text[24];
	u64 hz = 0;

	if (!initialized)
		return -E_NOTSUP;
	/* SDM §11.5.4: the timer counts the bus or core crystal clock
	 * divided by the divide configuration; its rate is architecturally
	 * unknown, hence the measurement.  Divide-by-1 gives the finest
	 * one-shot resolution; only a counter that would run out within the
	 * window (above ~200 GHz) needs 16. */
	timer_divide = DIVIDE_BY_1;
	if (!measure_hz(DIVIDE_BY_1, &hz)) {
		timer_divide = DIVIDE_BY_16;
		if (!measure_hz(DIVIDE_BY_16, &hz)) {
			log_line("lapic: %s mode, id %u, timer does not count",
				 x2apic ? "x2APIC" : "xAPIC", lapic_id());
			return -E_IO;
		}
	}
	timer_hz = hz;
	clock_scale_init(&ns_to_count, timer_hz, NSEC_PER_SEC);
	log_line("lapic: %s mode, id %u, timer %s MHz%s%s", x2apic ? "x2APIC" : "xAPIC", lapic_id(),
		 clock_format_mhz(text, sizeof(text), timer_hz),
		 timer_divide == DIVIDE_BY_16 ? " (divide by 16)" : "",
		 tsc_deadline ? ", TSC-deadline mode" : "");
	return 0;
}

void lapic_timer_stop(void)
{
	/* Disarm a pending deadline first; outside TSC-deadline mode the MSR
	 * write would be ignored (SDM §11.5.4.1), so it is skipped there. */
	if (this_cpu()->deadline_armed)
		wrmsr(MSR_TSC_DEADLINE, 0);
	this_cpu()->deadline_armed = false;
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	lapic_write(LAPIC_TIMER_INITIAL, 0);
}

void lapic_timer_periodic(u32 hz, u8 vector)
{
	if (!timer_hz || hz == 0)
		return;
	u64 count = timer_hz / hz;
	if (count == 0)
		count = 1;
	if (count > 0xffffffffULL)
		count = 0xffffffffULL;
	/* LVT first, then the initial count, which starts the timer
	 * (SDM §11.5.4). */
	lapic_write(LAPIC_TIMER_DIVIDE, timer_divide);
	this_cpu()->deadline_armed = false;
	lapic_write(LAPIC_LVT_TIMER, LVT_TIMER_PERIODIC | vector);
	lapic_write(LAPIC_TIMER_INITIAL, (u32)count);
}

void lapic_timer_oneshot_ns(u64 ns, u8 vector)
{
	if (!timer_hz)
		return;
	u64 count = clock_scale_apply(&ns_to_count, ns); /* ns * timer_hz / 1e9 */
	if (count == 0)
		count = 1;
	if (count > 0xffffffffULL)
		count = 0xffffffffULL;
	lapic_write(LAPIC_TIMER_DIVIDE, timer_divide);
	this_cpu()->deadline_armed = false;
	lapic_write(LAPIC_LVT_TIMER, LVT_TIMER_ONESHOT | vector);
	lapic_write(LAPIC_TIMER_INITIAL, (u32)count);
}

int lapic_timer_deadline(u64 tsc, u8 vector)
{
	if (!tsc_deadline)
		return -E_NOTSUP;
	this_cpu()->deadline_armed = true;
	lapic_write(LAPIC_LVT_TIMER, LVT_TIMER_TSC_DEADLINE | vector);
	/* In xAPIC mode the LVT write is a memory write and the deadline a
	 * WRMSR, which is not ordered after it; SDM §11.5.4.1 asks for an
	 * MFENCE so the mode switch lands first. */
	asm volatile("mfence" ::: "memory");
	wrmsr(MSR_TSC_DEADLINE, tsc ? tsc : 1);
	return 0;
}

/* ---- Inter-processor interrupts (SDM §11.6) ---------------------------- */

/* ICR bits (SDM §11.6.1, Figure 11-12). */
#define ICR_FIXED (0u << 8)
#define ICR_INIT (5u << 8)
#define ICR_STARTUP (6u << 8)
#define ICR_DELIVERY_PENDING (1u << 12)
#define ICR_LEVEL_ASSERT (1u << 14)

static void send_icr(u32 apic_id, u32 low)
{
	if (x2apic) {
		/* x2APIC: one 64-bit write of MSR 0x830, destination in bits
		 * 63:32, no delivery status to wait for (SDM §11.12.9). */
		wrmsr(X2APIC_MSR_BASE + (LAPIC_ICR_LOW >> 4), (u64)apic_id << 32 | low);
		return;
	}
	/* xAPIC: the high half first; writing the low half sends.  Wait
	 * until the previous IPI left, then for this one (§11.6.1). */
	u64 flags = read_rflags();
	irq_disable();
	while (lapic_read(LAPIC_ICR_LOW) & ICR_DELIVERY_PENDING)
		cpu_relax();
	lapic_write(LAPIC_ICR_HIGH, apic_id << 24);
	lapic_write(LAPIC_ICR_LOW, low);
	while (lapic_read(LAPIC_ICR_LOW) & ICR_DELIVERY_PENDING)
		cpu_relax();
	if (flags & RFLAGS_IF)
		irq_enable();
}

void lapic_send_ipi(u32 apic_id, u8 vector)
{
	send_icr(apic_id, ICR_FIXED | ICR_LEVEL_ASSERT | vector);
}

void lapic_send_init(u32 apic_id)
{
	/* INIT, edge triggered, level assert (SDM §8.4.4.1, "INIT-SIPI-SIPI").
	 * The INIT level de-assert of older parts is not sent: x2APIC mode
	 * does not support it and newer CPUs ignore it (§11.6.1). */
	send_icr(apic_id, ICR_INIT | ICR_LEVEL_ASSERT);
}

void lapic_send_startup(u32 apic_id, u64 page)
{
	/* The vector is the start page's number: the CPU starts in real mode
	 * at CS = vector << 8, IP = 0 (SDM §8.4.4.1, §11.6.1). */
	send_icr(apic_id, ICR_STARTUP | ICR_LEVEL_ASSERT | (u32)(page >> 12));
}

/* The timer's current count and the TSC at the same instant: the count is
 * read between two TSC reads, and a pair is kept only if those are close.
 * An emulator's vCPU thread (or an SMI) can stop between two reads for
 * milliseconds; a pair with a wide bracket would skew the rate, so the
 * tightest of a few tries is kept. */
static u32 paired_read(u64 *tsc)
{
	const u64 bound = clock_tsc_hz() / 100000; /* 10 us */
	u64 best_width = ~0ULL, best_tsc = 0;
	u32 best_count = 0;

	for (int i = 0; i < 16; i++) {
		u64 t0 = rdtsc();
		u32 count = lapic_read(LAPIC_TIMER_CURRENT);
		u64 t1 = rdtsc();
		if (t1 - t0 < best_width) {
			best_width = t1 - t0;
			best_tsc = t0 + (t1 - t0) / 2;
			best_count = count;
		}
		if (best_width <= bound)
			break;
	}
	*tsc = best_tsc;
	return best_count;
}

/* One measurement of the timer against the TSC over window cycles. */
static u64 check_once(u64 window)
{
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | LVT_TIMER_ONESHOT);
	lapic_write(LAPIC_TIMER_DIVIDE, timer_divide);
	lapic_write(LAPIC_TIMER_INITIAL, 0xffffffffu);
	u64 t0, t;
	u32 start = paired_read(&t0);
	while (rdtsc() - t0 < window)
		cpu_relax();
	u32 end = paired_read(&t);
	lapic_write(LAPIC_TIMER_INITIAL, 0);
	if (end == 0 || end >= start || t <= t0)
		return 0;
	return (u64)(start - end) * NSEC_PER_SEC / clock_tsc_to_ns(t - t0);
}

int lapic_timer_check(u64 *hz_out)
{
	/* Against the TSC, which all CPUs share: the reference clock's
	 * 64-bit extension is the boot CPU's.  The median of three, as in
	 * the calibration: one window stretched (an SMI, an emulator's
	 * thread descheduled) does not count. */
	const u64 window = clock_tsc_hz() / 500; /* 2 ms */
	u64 hz[3];

	*hz_out = 0;
	if (!initialized || !timer_hz)
		return -E_NOTSUP;
	for (int i = 0; i < 3; i++)
		if (!(hz[i] = check_once(window)))
			return -E_IO;
	u64 lo = MIN(hz[0], MIN(hz[1], hz[2])), hi = MAX(hz[0], MAX(hz[1], hz[2]));
	*hz_out = hz[0] + hz[1] + hz[2] - lo - hi;
	this_cpu()->lapic_timer_hz = *hz_out;
	return 0;
}
