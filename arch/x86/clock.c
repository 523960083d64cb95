/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The reference clock and TSC calibration.  The TSC is the cheapest clock
 * there is, but its frequency is not architecturally reported everywhere, so
 * it is measured once at boot against a clock whose rate is known by
 * specification: the HPET (its period is in its capabilities register), the
 * ACPI PM timer (3.579545 MHz), or PIT channel 2 (1.193182 MHz), which is
 * only gated one-shot here because its counter cannot be read race-free.
 * Each measurement is taken three times and the median kept, which drops a
 * window stretched by an SMI or, under an emulator, by the host's scheduler.
 * No floating point: the core is built with -mgeneral-regs-only.  The time
 * base that results (TSC frequency and boot TSC, and the conversions) is in
 * arch/x86/tsc.c, which logs nothing, so that the log can use it.
 */
#include "arch/x86/clock.h"

#include "arch/x86/cpu.h"
#include "kernel/errno.h"
#include "kernel/lib/format.h"
#include "kernel/log.h"
#include "kernel/mm.h"

#define PM_TIMER_HZ 3579545ULL
#define PIT_HZ 1193182ULL

/* HPET registers (IA-PC HPET specification 1.0a, §2.3). */
#define HPET_CAP 0x000
#define HPET_CONFIG 0x010
#define HPET_COUNTER 0x0f0
#define HPET_CAP_COUNT_64 (1ULL << 13)
#define HPET_CONFIG_ENABLE 1ULL
#define HPET_T0_CONFIG 0x100
#define HPET_T0_COMPARATOR 0x108
#define HPET_TN_TYPE_PERIODIC (1ULL << 3) /* Tn_TYPE_CNF */
#define HPET_TN_PER_INT_CAP (1ULL << 4)
#define HPET_TN_VAL_SET (1ULL << 6)
#define HPET_TN_32BIT (1ULL << 8)
/* The specification caps the period at 100 ns (§2.3.4). */
#define HPET_MAX_PERIOD_FS 100000000ULL
#define FS_PER_SEC 1000000000000000ULL

/* PIT and the PC's port 0x61 (NMI status and control). */
#define PIT_CH2 0x42
#define PIT_CMD 0x43
#define PORT_61 0x61
#define PORT_61_GATE2 0x01
#define PORT_61_SPEAKER 0x02
#define PORT_61_OUT2 0x20

#define CALIBRATION_MS 20
#define CALIBRATION_RUNS 3
/* Reads of an unchanged reference counter before it is declared dead. */
#define STALL_READS 2000000

enum ref_kind { REF_NONE, REF_HPET, REF_PM_TIMER, REF_PIT };

static enum ref_kind ref_kind;
static u64 ref_hz;
static u64 ref_mask;	       /* width of the hardware counter */
static volatile u8 *hpet_regs; /* through the direct map */
static u16 pm_port;
static u64 ref_last_raw, ref_extended;

static bool tsc_invariant;

static u64 hpet_read64(u32 reg)
{
	return *(volatile u64 *)(hpet_regs + reg);
}

static void hpet_write64(u32 reg, u64 v)
{
	*(volatile u64 *)(hpet_regs + reg) = v;
}

static u64 ref_read_raw(void)
{
	switch (ref_kind) {
	case REF_HPET:
		if (ref_mask == ~0ULL)
			return hpet_read64(HPET_COUNTER);
		return *(volatile u32 *)(hpet_regs + HPET_COUNTER);
	case REF_PM_TIMER:
		return inl(pm_port) & ref_mask;
	default:
		return 0;
	}
}

bool clock_ref_readable(void)
{
	return ref_kind == REF_HPET || ref_kind == REF_PM_TIMER;
}

u64 clock_ref_read(void)
{
	if (!clock_ref_readable())
		return 0;
	/* Unsigned subtraction under the mask gives the ticks since the last
	 * read across one wrap of the hardware counter. */
	u64 raw = ref_read_raw();
	ref_extended += (raw - ref_last_raw) & ref_mask;
	ref_last_raw = raw;
	return ref_extended;
}

/* Whether the counter moves at all: a missing device reads constant
 * (often all ones). */
static bool ref_advances(void)
{
	u64 start = ref_read_raw();

	for (int i = 0; i < STALL_READS; i++) {
		if (ref_read_raw() != start)
			return true;
		cpu_relax();
	}
	return false;
}

static int ref_setup_hpet(u64 phys)
{
	hpet_regs = phys_to_virt(hpa(phys));
	u64 cap = hpet_read64(HPET_CAP);
	u64 period = cap >> 32;

	if (cap == ~0ULL || period == 0 || period > HPET_MAX_PERIOD_FS) {
		log_line("clock: HPET at 0x%lx has a bad period (capabilities 0x%lx), not used",
			 phys, cap);
		return -E_IO;
	}
	ref_kind = REF_HPET;
	ref_hz = FS_PER_SEC / period;
	ref_mask = (cap & HPET_CAP_COUNT_64) ? ~0ULL : 0xffffffffULL;
	/* Start the main counter; legacy replacement routing stays as the
	 * firmware left it (§2.3.5). */
	hpet_write64(HPET_CONFIG, hpet_read64(HPET_CONFIG) | HPET_CONFIG_ENABLE);
	if (!ref_advances()) {
		log_line("clock: HPET main counter does not advance, not used");
		ref_kind = REF_NONE;
		return -E_IO;
	}
	return 0;
}

static int ref_setup_pm_timer(u16 port, bool bits32)
{
	ref_kind = REF_PM_TIMER;
	pm_port = port;
	ref_hz = PM_TIMER_HZ;
	ref_mask = bits32 ? 0xffffffffULL : 0xffffffULL;
	if (!ref_advances()) {
		log_line("clock: ACPI PM timer at port 0x%x does not advance, not used", port);
		ref_kind = REF_NONE;
		return -E_IO;
	}
	return 0;
}

/* Enters a fresh tick of the reference, so a window starts on an edge
 * rather than somewhere inside a tick of unknown remaining length. */
static int ref_wait_edge(u64 *at)
{
	u64 start = clock_ref_read();

	for (int i = 0; i < STALL_READS; i++) {
		u64 now = clock_ref_read();
		if (now != start) {
			*at = now;
			return 0;
		}
		cpu_relax();
	}
	return -E_IO;
}

/* TSC cycles during ticks of the reference counter; 0 on a stall. */
static u64 tsc_per_ref_window(u64 ticks, u64 *ref_elapsed)
{
	u64 r0, r, t0, last_change;

	if (ref_wait_edge(&r0))
		return 0;
	t0 = rdtsc();
	last_change = r0;
	for (int idle = 0;; idle++) {
		r = clock_ref_read();
		if (r - r0 >= ticks)
			break;
		if (r != last_change) {
			last_change = r;
			idle = 0;
		} else if (idle > STALL_READS) {
			return 0;
		}
	}
	*ref_elapsed = r - r0;
	return rdtsc() - t0;
}

/*
 * One gated PIT channel 2 countdown of CALIBRATION_MS: mode 0 raises OUT2
 * when the count reaches zero, which port 0x61 bit 5 shows (8254 data
 * sheet; the PC/AT wiring of port 0x61).  Returns TSC cycles, 0 if OUT2
 * never rose.
 */
static u64 tsc_per_pit_window(void)
{
	u16 count = (u16)(PIT_HZ * CALIBRATION_MS / 1000);
	u8 p61 = inb(PORT_61);
	u64 t0, t1;

	/* Gate high, speaker off, then channel 2, lobyte/hibyte, mode 0. */
	outb(PORT_61, (u8)((p61 & ~PORT_61_SPEAKER) | PORT_61_GATE2));
	outb(PIT_CMD, 0xb0);
	outb(PIT_CH2, (u8)count);
	outb(PIT_CH2, (u8)(count >> 8));
	t0 = rdtsc();
	for (int i = 0; !(inb(PORT_61) & PORT_61_OUT2); i++) {
		if (i > 50 * STALL_READS) {
			outb(PORT_61, p61);
			return 0;
		}
	}
	t1 = rdtsc();
	outb(PORT_61, p61);
	return t1 - t0;
}

static u64 median3(u64 a, u64 b, u64 c)
{
	if ((a <= b && b <= c) || (c <= b && b <= a))
		return b;
	if ((b <= a && a <= c) || (c <= a && a <= b))
		return a;
	return c;
}

static u64 measure_tsc_hz(void)
{
	u64 hz[CALIBRATION_RUNS];

	for (int i = 0; i < CALIBRATION_RUNS; i++) {
		if (ref_kind == REF_PIT) {
			u64 cycles = tsc_per_pit_window();
			hz[i] = cycles * 1000 / CALIBRATION_MS;
		} else {
			u64 elapsed = 0;
			u64 cycles = tsc_per_ref_window(ref_hz * CALIBRATION_MS / 1000, &elapsed);
			hz[i] = cycles ? clock_mul_div(cycles, ref_hz, elapsed) : 0;
		}
		if (hz[i] == 0)
			return 0;
	}
	return median3(hz[0], hz[1], hz[2]);
}

/* The TSC rate CPUID states on newer Intel parts (leaf 0x15: crystal and
 * ratio; Intel SDM Vol. 2A, CPUID leaf 15H), 0 if it does not. */
static u64 cpuid_tsc_hz(void)
{
	if (cpuid(0, 0).eax < 0x15)
		return 0;
	struct cpuid_regs r = cpuid(0x15, 0);
	if (r.eax == 0 || r.ebx == 0 || r.ecx == 0)
		return 0;
	return (u64)r.ecx * r.ebx / r.eax;
}

char *clock_format_mhz(char *buf, size_t size, u64 hz)
{
	u64 khz = (hz + 500) / 1000;

	snprintf(buf, size, "%lu.%03lu", khz / 1000, khz % 1000);
	return buf;
}

int clock_init(const struct acpi_info *acpi)
{
	char tsc_text[24], ref_text[24];
	int err = 0;

	if (cpuid(0x80000000, 0).eax >= 0x80000007)
		tsc_invariant = cpuid(0x80000007, 0).edx & (1u << 8);

	ref_kind = REF_NONE;
	if (acpi->hpet_phys)
		ref_setup_hpet(acpi->hpet_phys);
	if (ref_kind == REF_NONE && acpi->pm_timer_port)
		ref_setup_pm_timer(acpi->pm_timer_port, acpi->pm_timer_32bit);
	if (ref_kind == REF_NONE) {
		ref_kind = REF_PIT;
		ref_hz = PIT_HZ;
	}

	u64 hz = measure_tsc_hz();
	if (hz == 0 && ref_kind != REF_PIT) {
		log_line("clock: %s stalled during calibration, trying the PIT", clock_ref_name());
		ref_kind = REF_PIT;
		ref_hz = PIT_HZ;
		hz = measure_tsc_hz();
	}
	if (hz == 0) {
		hz = cpuid_tsc_hz();
		log_line("clock: no reference clock works; TSC frequency %s from CPUID",
			 hz ? "taken" : "guessed, not");
		if (!hz)
			hz = CLOCK_TSC_HZ_GUESS;
		ref_kind = REF_NONE;
		ref_hz = 0;
		err = -E_IO;
	}
	clock_set_tsc_base(hz, rdtsc());

	if (!err)
		log_line("clock: TSC %s MHz, measured against the %s (%s MHz)",
			 clock_format_mhz(tsc_text, sizeof(tsc_text), hz), clock_ref_name(),
			 clock_format_mhz(ref_text, sizeof(ref_text), ref_hz));
	else
		log_line("clock: TSC %s MHz (not measured)",
			 clock_format_mhz(tsc_text, sizeof(tsc_text), hz));
	if (tsc_invariant)
		log_line("clock: TSC is invariant (CPUID 0x80000007 EDX bit 8)");
	else
		log_line("clock: TSC is not invariant (CPUID 0x80000007 EDX bit 8 clear); "
			 "its rate may change with power states");
	return err;
}

bool clock_tsc_invariant(void)
{
	return tsc_invariant;
}

const char *clock_ref_name(void)
{
	switch (ref_kind) {
	case REF_HPET:
		return "HPET";
	case REF_PM_TIMER:
		return "ACPI PM timer";
	case REF_PIT:
		return "PIT";
	default:
		return "none";
	}
}

u64 clock_ref_hz(void)
{
	return ref_hz;
}
/*
 * QEMU's TCG under -icount runs the vCPUs round robin in one thread: each
 * runs for its share of the time to the next timer deadline of the machine
 * (any device's, any CPU's), then the next one runs.  With the deadlines a
 * window apart, a CPU whose window starts may wait most of a window for the
 * vCPUs before it, which is the emulator's doing, not the schedule's.  A
 * periodic HPET comparator with its interrupt disabled puts a deadline
 * every period_ns and so bounds the turns, without interrupting any CPU
 * (IA-PC HPET 1.0a §2.3.8: Tn_INT_ENB_CNF 0 only keeps the interrupt from
 * being sent).  On a real machine it changes nothing.
 */
bool clock_pace_emulator(u64 period_ns)
{
	if (ref_kind != REF_HPET || !period_ns)
		return false;
	u64 cap = hpet_read64(HPET_CAP);
	u64 cfg = hpet_read64(HPET_T0_CONFIG);
	if (!(cfg & HPET_TN_PER_INT_CAP))
		return false;
	u64 period_fs = cap >> 32;
	u64 ticks = period_ns * 1000000ULL / period_fs;
	if (!ticks)
		ticks = 1;
	/* §2.3.9.2.2: set the type and VAL_SET, then write the comparator
	 * (the first expiry), then again (the period). */
	cfg &= ~(HPET_TN_32BIT | 0x4ULL /* Tn_INT_ENB_CNF */ | 0x2ULL /* level */);
	hpet_write64(HPET_T0_CONFIG, cfg | HPET_TN_TYPE_PERIODIC | HPET_TN_VAL_SET);
	hpet_write64(HPET_T0_COMPARATOR, hpet_read64(HPET_COUNTER) + ticks);
	hpet_write64(HPET_T0_COMPARATOR, ticks);
	return true;
}
