/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The cyclic scheduler (see sched.h).  One loop per CPU: find the window the
 * current time falls in, ask the window's partition what it can do
 * (partition_next_action), and run it until its run ends (a one-shot LAPIC
 * timer forces the exit), continue its start, or halt through idle time.
 * Times are nanoseconds of the TSC-based clock (clock.h), which all CPUs
 * share: one epoch for all, so every CPU's frame N starts at the same
 * instant.
 *
 * Locking: each CPU's struct cpu_sched is owned by that CPU and needs no
 * lock, except the fields marked "any CPU", which other CPUs read (the skew
 * measurement, the housekeeper's report) through atomics or as statistics
 * that may be a frame old.  A partition is only scheduled by its own CPU;
 * another CPU that changes what it can do (a channel event) sets the
 * partition's state through partition.c and kicks the CPU (smp_kick), which
 * makes this CPU's idle_until return, or its guest exit, and decide again.
 *
 * Temporal isolation: a partition's run ends early enough that its slowest
 * exit handler still finishes inside its window (exit_guard_ns), and console
 * lines are sent only in their owner's time or in idle time (log.c).
 */
#include "kernel/sched.h"
#include "arch/x86/clock.h"
#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/percpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/traps.h"
#include "arch/x86/vcpu_state.h"
#include "drivers/iommu.h"
#include "drivers/uart16550.h"
#include "kernel/lateness.h"
#include "kernel/devirq.h"
#include "kernel/dma.h"
#include "kernel/kind.h"
#include "kernel/lib/format.h"
#include "kernel/log.h"
#include "kernel/partition.h"
#include "kernel/schedule.h"
#include "kernel/vmexit.h"

#define SCHED_TIMER_VECTOR 0x30
#define SCHED_EPOCH_DELAY_NS 1000000ULL /* frame 0 starts 1 ms after init */
#define MIN_TIMER_NS 1000ULL
/* How often the CPU of the partition with the console's focus looks for
 * typed bytes: a 16550's 16-byte FIFO fills in 1.4 ms at 115,200 baud. */
#define INPUT_POLL_NS 1000000ULL
#define INPUT_POLL_GUARD_NS 200000ULL /* no poll this close to a window's end */
/* Emulator pacing (clock_pace_emulator): the vCPUs' turns in QEMU's
 * round robin under -icount end at least this often. */
#define EMULATOR_PACE_NS 20000ULL
/* Feeding the UART stops this long before a window ends, so the last byte
 * written (one port write) cannot make the next window start late. */
#define DRAIN_GUARD_NS 2000ULL

/* Window-start skew between CPUs: a histogram of 1 us buckets (the last
 * one holds everything beyond). */
#define SKEW_BUCKETS 256
#define SKEW_REPORT_FRAMES 8	 /* the housekeeper reports every 8 frames */
#define REPORT_ROOM_NS 200000ULL /* in idle time that lasts this long */

struct cpu_sched {
	struct schedule sched;
	u64 current;	    /* window instance being run: frame * count + index */
	u64 sink_ready_tsc; /* when a busy UART has room again */
	u64 input_poll_tsc; /* the next poll of typed input in a run (log.c) */
	u64 seen_changes;   /* partition_state_changes at the last check */
	u64 late_max_ns, start_count;
	u64 late_max_planned; /* the start it was (ns since the epoch) */
	u64 reported_frame;
	/* Any CPU reads: the last window start (planned 0 while it changes). */
	volatile u64 last_planned, last_actual;
	/* Statistics (any CPU reads, may be stale). */
	u64 skew_count, skew_max_ns;
	u64 skew_max_planned;	/* where the maximum was: the planned start, */
	unsigned skew_max_peer; /* and the other CPU */
	u32 skew_hist[SKEW_BUCKETS];
	volatile u64 halt_wakeups;
} __aligned(64);

static struct cpu_sched cpus[MAX_CPUS];
static u64 epoch_ns;
static unsigned housekeeper; /* the first CPU with windows: DMA faults, reports */
static bool several;	     /* more than one CPU is up: kicks, calls, skew */
static const struct config *sched_cfg;

static struct cpu_sched *me(void)
{
	return &cpus[cpu_index()];
}

u64 sched_frame_ns(void)
{
	return sched_cfg ? sched_cfg->frame_ns : 0;
}

u64 sched_epoch_ns(void)
{
	return epoch_ns;
}

void sched_lateness(u64 *max_ns, u64 *count)
{
	*max_ns = *count = 0;
	for (unsigned i = 0; i < smp_cpu_count(); i++) {
		*max_ns = MAX(*max_ns, cpus[i].late_max_ns);
		*count += cpus[i].start_count;
	}
}

/* A TSC deadline DRAIN_GUARD_NS before end (ns). */
static u64 drain_deadline(u64 end)
{
	return clock_tsc_at(end > DRAIN_GUARD_NS ? end - DRAIN_GUARD_NS : 0);
}

static void sched_timer_irq(struct trap_frame *f)
{
	(void)f;
	lapic_eoi();
}

/* QEMU's TCG names itself in the hypervisor CPUID leaf. */
static bool under_qemu_tcg(void)
{
	if (!(cpuid(1, 0).ecx & CPUID1_ECX_HYPERVISOR))
		return false;
	struct cpuid_regs r = cpuid(0x40000000, 0);
	return r.ebx == 0x54474354 && r.ecx == 0x43544743 &&
	       r.edx == 0x47435447; /* "TCGTCGTCGTCG" */
}

void sched_init(const struct config *cfg)
{
	bool found = false;

	sched_cfg = cfg;
	for (unsigned c = 1; c < smp_cpu_count(); c++)
		several |= smp_cpu_up(c);
	for (unsigned c = 0; c < smp_cpu_count(); c++) {
		struct cpu_sched *cs = &cpus[c];
		schedule_build(cfg, c, &cs->sched);
		cs->current = ~0ULL;
		if (!smp_cpu_up(c))
			continue;
		if (!cs->sched.window_count) {
			log_line("sched: cpu %u has no windows: it halts", c);
			continue;
		}
		if (!found)
			housekeeper = c;
		found = true;
		log_line("sched: cpu %u, frame %llu us, %u windows, timer %s", c,
			 (unsigned long long)(cs->sched.frame_ns / 1000), cs->sched.window_count,
			 "LAPIC one-shot");
	}
	if (irq_register(SCHED_TIMER_VECTOR, sched_timer_irq))
		panic("sched: timer vector %#x taken", SCHED_TIMER_VECTOR);
	unsigned busy = 0;
	for (unsigned c = 0; c < smp_cpu_count(); c++)
		busy += smp_cpu_up(c) && cpus[c].sched.window_count;
	if (busy > 1 && under_qemu_tcg() && clock_pace_emulator(EMULATOR_PACE_NS))
		log_line("sched: QEMU TCG with %u CPUs running windows: HPET timer 0 paces its vCPU turns every %llu us (no interrupt)",
			 busy, (unsigned long long)(EMULATOR_PACE_NS / 1000));
}

/*
 * Arms the one-shot timer.  A timer armed before (for a run that ended
 * early, by a fault or a yield) may have fired while interrupts were off:
 * its interrupt is taken here, first, so it cannot end the next run or
 * wake the next halt before time.
 */
static void arm_timer(u64 until, u64 now)
{
	irq_enable();
	asm volatile("nop");
	irq_disable();
	lapic_timer_oneshot_ns(until > now + MIN_TIMER_NS ? until - now : MIN_TIMER_NS,
			       SCHED_TIMER_VECTOR);
}

/*
 * Halts until the timer (or another interrupt) fires at until, sending
 * queued console lines meanwhile: in a window that owner does not use (it
 * yielded, waits or is stopped), only the hypervisor's and the owner's own;
 * in time that belongs to no window, everybody's.  A UART that is busy is
 * refilled when its FIFO has drained.
 */
static void idle_until(u64 until, struct partition *owner)
{
	for (;;) {
		u64 now = clock_now_ns();
		if (until <= now || __atomic_load_n(&this_cpu()->kick, __ATOMIC_ACQUIRE) ||
		    devirq_raised())
			return;
		u64 wake = until, deadline = drain_deadline(until);
		/* Typed input (log.c): a byte for a partition of this CPU may
		 * wake it, so the scheduler decides again.  Not just before
		 * until: a hot key's banner costs some microseconds, which must
		 * not delay the window that starts then. */
		if (now + INPUT_POLL_GUARD_NS < until && log_poll_input())
			return;
		bool drained = owner ? log_drain_hv(deadline) &&
					       log_drain(&owner->console, deadline) :
				       log_drain_any(deadline);
		if (!drained && log_sink_busy())
			wake = MIN(until, clock_now_ns() + uart_fifo_ns());
		/* Nor a wake-up for it just before until. */
		if (log_input_here() && clock_now_ns() + INPUT_POLL_NS + INPUT_POLL_GUARD_NS < wake)
			wake = clock_now_ns() + INPUT_POLL_NS;
		arm_timer(wake, clock_now_ns());
		/* A kick taken in arm_timer's interrupt window would not wake
		 * the halt: its flag says so (it is set before the IPI). */
		if (__atomic_load_n(&this_cpu()->kick, __ATOMIC_ACQUIRE) || devirq_raised())
			return;
		cpu_wait_irq(); /* sti; hlt: the timer's interrupt cannot slip in between */
		irq_disable();
	}
}

/*
 * The time an exit handler of p may still take after p's run ends: its
 * slowest handler in this window or, decaying, in the ones before, plus a
 * margin.  Ending p's run that much before its window's end keeps a slow
 * handler (a log line, an emulated device) from delaying the next window:
 * a partition whose exits are expensive pays with its own time.  At most
 * half of its window.
 */
#define EXIT_GUARD_MIN_NS 2000ULL
static u64 exit_guard_ns(const struct partition *p, u64 window_ns)
{
	u64 tsc = p->exit_max_tsc > p->exit_guard_tsc ? p->exit_max_tsc : p->exit_guard_tsc;
	u64 ns = tsc == p->exit_guard_tsc && p->exit_guard_ns ?
			 p->exit_guard_ns :
			 clock_tsc_to_ns(tsc + tsc / 4) + EXIT_GUARD_MIN_NS;

	return MIN(ns, window_ns / 2);
}

/* Publishes this start (planned last, so a reader that sees the same
 * planned time before and after reading actual has a matching pair), then
 * compares it with the other CPUs' last ones planned for the same instant.  The
 * starts of frame 0 are left out: they follow the CPUs' release from their
 * start-up halt, not the schedule. */
static void skew_record(struct cpu_sched *cs, u64 planned, u64 actual)
{
	/* Published first: of two CPUs that start at the same time, at least
	 * the later one sees the other's start (both may: then the pair is
	 * counted twice, with the same skew). */
	__atomic_store_n(&cs->last_planned, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&cs->last_actual, actual, __ATOMIC_SEQ_CST);
	__atomic_store_n(&cs->last_planned, planned, __ATOMIC_SEQ_CST);
	for (unsigned c = 0; c < smp_cpu_count(); c++) {
		struct cpu_sched *o = &cpus[c];
		if (o == cs || !o->sched.window_count)
			continue;
		u64 p1 = __atomic_load_n(&o->last_planned, __ATOMIC_ACQUIRE);
		u64 a = __atomic_load_n(&o->last_actual, __ATOMIC_ACQUIRE);
		u64 p2 = __atomic_load_n(&o->last_planned, __ATOMIC_ACQUIRE);
		if (p1 != planned || p2 != planned || planned < epoch_ns + cs->sched.frame_ns)
			continue;
		u64 skew = actual > a ? actual - a : a - actual;
		cs->skew_count++;
		if (skew > cs->skew_max_ns) {
			cs->skew_max_ns = skew;
			cs->skew_max_planned = planned - epoch_ns;
			cs->skew_max_peer = c;
		}
		cs->skew_hist[MIN(skew / 1000, SKEW_BUCKETS - 1)]++;
	}
}

/* The housekeeper's line, every SKEW_REPORT_FRAMES frames: the skew of
 * window starts planned for the same instant on different CPUs (median by
 * 1 us buckets, and the maximum), and the CPUs that halt for good. */
static void sched_report(u64 frame)
{
	u64 count = 0, max = 0, late = 0, wakeups = 0;
	u64 max_at = 0, late_at = 0;
	unsigned max_a = 0, max_b = 0, late_cpu = 0;
	u32 hist[SKEW_BUCKETS] = { 0 };
	char halted[64] = "";
	size_t hl = 0;

	for (unsigned c = 0; c < smp_cpu_count(); c++) {
		struct cpu_sched *o = &cpus[c];
		if (!smp_cpu_up(c))
			continue;
		if (!o->sched.window_count) {
			hl += snprintf(halted + hl, hl < sizeof(halted) ? sizeof(halted) - hl : 0,
				       "%s%u", hl ? "," : "", c);
			wakeups += o->halt_wakeups;
			continue;
		}
		count += o->skew_count;
		if (o->skew_max_ns > max) {
			max = o->skew_max_ns;
			max_at = o->skew_max_planned;
			max_a = o->skew_max_peer;
			max_b = c;
		}
		if (o->late_max_ns > late) {
			late = o->late_max_ns;
			late_at = o->late_max_planned;
			late_cpu = c;
		}
		for (unsigned b = 0; b < SKEW_BUCKETS; b++)
			hist[b] += o->skew_hist[b];
	}
	u64 median = 0, seen = 0;
	for (unsigned b = 0; b < SKEW_BUCKETS && count; b++) {
		seen += hist[b];
		if (2 * seen >= count) {
			median = b;
			break;
		}
	}
	u64 fns = sched_cfg->frame_ns;
	log_line("sched: frame %llu, window-start skew between CPUs over %llu shared starts: median < %llu us, max %llu ns (cpus %u and %u, frame %llu +%llu us); start lateness max %llu ns (cpu %u, frame %llu +%llu us); halted CPUs: %s (%llu wake-ups)",
		 (unsigned long long)frame, (unsigned long long)count,
		 (unsigned long long)(median + 1), (unsigned long long)max, max_a, max_b,
		 (unsigned long long)(max_at / fns), (unsigned long long)(max_at % fns / 1000),
		 (unsigned long long)late, late_cpu, (unsigned long long)(late_at / fns),
		 (unsigned long long)(late_at % fns / 1000), hl ? halted : "none",
		 (unsigned long long)wakeups);
}

static void window_started(struct partition *p, u64 planned, u64 actual)
{
	struct cpu_sched *cs = me();
	u64 late = actual > planned ? actual - planned : 0;

	/* The guard follows the slowest handler, and forgets it slowly. */
	p->exit_guard_tsc = MAX(p->exit_max_tsc, p->exit_guard_tsc - p->exit_guard_tsc / 8);
	p->exit_guard_ns =
		clock_tsc_to_ns(p->exit_guard_tsc + p->exit_guard_tsc / 4) + EXIT_GUARD_MIN_NS;
	p->exit_max_tsc = 0;
	partition_window_begins(p);
	p->stats.windows++;
	if (late > p->stats.max_start_late_ns)
		p->stats.max_start_late_ns = late;
	if (late > cs->late_max_ns) {
		cs->late_max_ns = late;
		cs->late_max_planned = planned - epoch_ns;
	}
	cs->start_count++;
	lateness_window_started(p->id, late, actual);
	if (several)
		skew_record(cs, planned, actual);
}

/* DMA isolation: a blocked DMA is its device owner's fault. */
static void poll_dma(void)
{
	static int have_iommu = -1;
	struct dma_fault_report r[4];

	if (have_iommu < 0)
		have_iommu = iommu_name() != NULL;
	if (!have_iommu)
		return;
	unsigned n = dma_poll_faults(r, ARRAY_SIZE(r));

	for (unsigned i = 0; i < n; i++)
		if (partition_is_live(r[i].p))
			partition_fault(r[i].p, "%s", r[i].reason);
}

void sched_start(void)
{
	irq_disable();
	log_set_queued(true);
	/* Frame 0 starts shortly after the partitions were made, and they
	 * learn when it does from their start-info page. */
	epoch_ns = clock_now_ns() + SCHED_EPOCH_DELAY_NS;
	partitions_publish_epoch(epoch_ns);
	for (unsigned c = 0; c < MAX_CPUS; c++)
		cpus[c].current = ~0ULL;
}

/* Runs p in its window until its run ends (or an exit needs a decision). */
static void run(struct partition *p, u64 until, u64 run_end, u64 window_end, bool fresh)
{
	/* Its own time: the hypervisor's lines, then its own, but not before
	 * its first instruction of the window (its window starts on time,
	 * and its lines go at its next exit). */
	bool drained = true;
	if (log_hv_pending() || (!fresh && console_pending(&p->console))) {
		u64 deadline = drain_deadline(run_end);
		drained = log_drain_hv(deadline) && (fresh || log_drain(&p->console, deadline));
	}
	/* What could not be sent (a busy UART at its baud rate, or another
	 * console's line on the wire) is tried again a FIFO's time later, at
	 * p's next exit after that.  No timer forces exits for it, so a
	 * partition that prints is not cut into slices while it runs. */
	if (!drained && !fresh)
		me()->sink_ready_tsc = rdtsc() + clock_ns_to_tsc(uart_fifo_ns());
	/* Typed input, in the own time of the partition that has the focus. */
	if (log_input_focus_is(&p->console) && rdtsc() >= me()->input_poll_tsc &&
	    clock_now_ns() + INPUT_POLL_GUARD_NS < run_end) {
		me()->input_poll_tsc = rdtsc() + clock_ns_to_tsc(INPUT_POLL_NS);
		if (log_poll_input() && p->kind->exits->prepare)
			p->kind->exits->prepare(p, clock_now_ns());
	}
	/* The FPU and debug registers belong to the vCPU that ran last on
	 * this CPU (arch/x86/vcpu_state.h). */
	vcpu_state_load(&p->vcpu.lazy);
	arm_timer(until, clock_now_ns());
	/* A kick taken in arm_timer's window would not end the run: decide
	 * again first (smp_call waits for this CPU). */
	if (several && __atomic_load_n(&this_cpu()->kick, __ATOMIC_ACQUIRE))
		return;
	vmexit_run(p, clock_tsc_at(until), clock_tsc_at(window_end), me()->sink_ready_tsc);
}

void sched_step(void)
{
	struct cpu_sched *cs = me();
	struct schedule *sched = &cs->sched;
	int code;

	if (several) {
		/* Kicks from now on make the next idle return at once. */
		__atomic_store_n(&this_cpu()->kick, 0, __ATOMIC_SEQ_CST);
		/* Another CPU's change to a partition of this CPU (smp_call). */
		smp_run_calls();
	}
	/* Whether the run is over changes only when a partition's state does. */
	u64 changes = __atomic_load_n(&partition_state_changes, __ATOMIC_ACQUIRE);
	if (cs->seen_changes != changes) {
		cs->seen_changes = changes;
		if (partitions_all_ended(&code))
			hv_stop(code, "no partition can run any more");
	}
	if (cpu_index() == housekeeper)
		poll_dma();
	/* Device interrupts taken since the last step become their owners'
	 * events (kernel/devirq.h). */
	u32 dev_bits;
	for (struct partition *q; (q = devirq_take(&dev_bits));)
		partition_signal(q, dev_bits);
	devirq_report();
	u64 now = clock_now_ns();
	if (now < epoch_ns) {
		idle_until(epoch_ns, NULL);
		return;
	}
	u64 frame, next;
	int w = schedule_lookup(sched, now - epoch_ns, &frame, &next);
	u64 window_end = epoch_ns + next;
	if (w < 0) {
		devirq_time_of(NULL);
		cs->current = ~0ULL;
		/* The report is made in idle time well before the next window,
		 * and only where there is more than one CPU. */
		if (several && cpu_index() == housekeeper &&
		    frame >= cs->reported_frame + SKEW_REPORT_FRAMES &&
		    window_end > now + REPORT_ROOM_NS) {
			cs->reported_frame = frame;
			sched_report(frame);
		}
		idle_until(window_end, NULL);
		return;
	}
	struct partition *p = &partitions[sched->windows[w].partition];
	devirq_time_of(p);
	u64 instance = frame * sched->window_count + (u64)w;
	bool fresh = instance != cs->current;
	if (fresh) {
		cs->current = instance;
		window_started(p, epoch_ns + frame * sched->frame_ns + sched->windows[w].offset_ns,
			       now);
	}
	u64 run_end = window_end - exit_guard_ns(p, sched->windows[w].length_ns);
	u64 next_event = p->kind->exits->prepare && (partition_is_live(p)) ?
				 p->kind->exits->prepare(p, now) :
				 0;
	u64 wait_until;

	switch (partition_next_action(p, now, &wait_until)) {
	case PARTITION_START_STEP:
		/* Clearing its memory is done in its own windows, a slice at
		 * a time, so it never delays another's. */
		log_set_context(&p->console, drain_deadline(window_end));
		bool done = partition_start_step(p, window_end);
		log_set_context(NULL, 0);
		if (!done)
			idle_until(window_end, p);
		return;
	case PARTITION_RUN:
		if (now < run_end) {
			u64 until = run_end;
			if (next_event && next_event < until)
				until = next_event;
			run(p, until, run_end, window_end, fresh);
			return;
		}
		idle_until(window_end, p);
		return;
	default: {
		u64 until = window_end;
		if (wait_until && wait_until < until)
			until = wait_until;
		if (next_event && next_event < until)
			until = next_event;
		idle_until(until, p);
		return;
	}
	}
}

/* Every CPU's loop; a CPU without windows halts with interrupts off, so
 * only an NMI, SMI or INIT could wake it (each one is counted). */
static void __noreturn sched_cpu_loop(void)
{
	struct cpu_sched *cs = me();

	if (!cs->sched.window_count) {
		irq_disable();
		this_cpu()->quiet = true;
		lapic_timer_stop();
		for (;;) {
			cpu_halt();
			cs->halt_wakeups++;
		}
	}
	for (;;)
		sched_step();
}

void sched_run(void)
{
	sched_start();
	smp_release(sched_cpu_loop);
	sched_cpu_loop();
}
