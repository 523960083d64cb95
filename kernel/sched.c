/*
 * The cyclic scheduler (see sched.h).  One loop per CPU: find the window the
 * current time falls in, ask the window's partition what it can do
 * (partition_next_action), and run it until its run ends (a one-shot LAPIC
 * timer forces the exit), continue its start, or halt through idle time.
 * Times are nanoseconds of the TSC-based clock (clock.h).
 *
 * Temporal isolation: a partition's run ends early enough that its slowest
 * exit handler still finishes inside its window (exit_guard_ns), and console
 * lines are sent only in their owner's time or in idle time (log.c).
 */
#include "kernel/sched.h"
#include "arch/x86/clock.h"
#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/traps.h"
#include "arch/x86/vcpu_state.h"
#include "drivers/iommu.h"
#include "drivers/uart16550.h"
#include "kernel/lateness.h"
#include "kernel/dma.h"
#include "kernel/kind.h"
#include "kernel/log.h"
#include "kernel/partition.h"
#include "kernel/schedule.h"
#include "kernel/vmexit.h"

#define SCHED_TIMER_VECTOR 0x30
#define SCHED_EPOCH_DELAY_NS 1000000ULL /* frame 0 starts 1 ms after init */
#define MIN_TIMER_NS 1000ULL
/* Feeding the UART stops this long before a window ends, so the last byte
 * written (one port write) cannot make the next window start late. */
#define DRAIN_GUARD_NS 2000ULL

static struct schedule sched;
static u64 epoch_ns;
static u64 late_max_ns, start_count;
static u64 current;        /* window instance being run: frame * count + index */
static u64 sink_ready_tsc; /* when a busy UART has room again */

u64 sched_frame_ns(void)
{
	return sched.frame_ns;
}

u64 sched_epoch_ns(void)
{
	return epoch_ns;
}

void sched_lateness(u64 *max_ns, u64 *count)
{
	*max_ns = late_max_ns;
	*count = start_count;
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

void sched_init(const struct config *cfg)
{
	schedule_build(cfg, 0, &sched);
	for (unsigned i = 0; i < cfg->partition_count; i++)
		if (cfg->partitions[i].cpu != 0)
			log_line("partition %s: cpu %u is not started yet (only CPU 0 runs partitions)",
				 cfg->partitions[i].name, cfg->partitions[i].cpu);
	if (irq_register(SCHED_TIMER_VECTOR, sched_timer_irq))
		panic("sched: timer vector %#x taken", SCHED_TIMER_VECTOR);
	log_line("sched: cpu 0, frame %llu us, %u windows, timer %s",
		 (unsigned long long)(sched.frame_ns / 1000), sched.window_count,
		 "LAPIC one-shot");
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
		if (until <= now)
			return;
		u64 wake = until, deadline = drain_deadline(until);
		bool drained = owner ? log_drain_hv(deadline) && log_drain(&owner->console, deadline)
				     : log_drain_any(deadline);
		if (!drained && log_sink_busy())
			wake = MIN(until, clock_now_ns() + uart_fifo_ns());
		arm_timer(wake, clock_now_ns());
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
	u64 ns = tsc == p->exit_guard_tsc && p->exit_guard_ns ? p->exit_guard_ns
			: clock_tsc_to_ns(tsc + tsc / 4) + EXIT_GUARD_MIN_NS;

	return MIN(ns, window_ns / 2);
}

static void window_started(struct partition *p, u64 planned, u64 actual)
{
	u64 late = actual > planned ? actual - planned : 0;

	/* The guard follows the slowest handler, and forgets it slowly. */
	p->exit_guard_tsc = MAX(p->exit_max_tsc, p->exit_guard_tsc - p->exit_guard_tsc / 8);
	p->exit_guard_ns = clock_tsc_to_ns(p->exit_guard_tsc + p->exit_guard_tsc / 4) +
			   EXIT_GUARD_MIN_NS;
	p->exit_max_tsc = 0;
	partition_window_begins(p);
	p->stats.windows++;
	if (late > p->stats.max_start_late_ns)
		p->stats.max_start_late_ns = late;
	if (late > late_max_ns)
		late_max_ns = late;
	start_count++;
	lateness_window_started(p->id, late, actual);
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
	current = ~0ULL;
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
		sink_ready_tsc = rdtsc() + clock_ns_to_tsc(uart_fifo_ns());
	/* The FPU and debug registers belong to the vCPU that ran last on
	 * this CPU (arch/x86/vcpu_state.h). */
	vcpu_state_load(&p->vcpu.lazy);
	arm_timer(until, clock_now_ns());
	vmexit_run(p, clock_tsc_at(until), clock_tsc_at(window_end), sink_ready_tsc);
}

void sched_step(void)
{
	static u64 seen_changes = ~0ULL;
	int code;

	/* Whether the run is over changes only when a partition's state does. */
	if (seen_changes != partition_state_changes) {
		seen_changes = partition_state_changes;
		if (partitions_all_ended(&code))
			hv_stop(code, "no partition can run any more");
	}
	poll_dma();
	u64 now = clock_now_ns();
	if (now < epoch_ns) {
		idle_until(epoch_ns, NULL);
		return;
	}
	u64 frame, next;
	int w = schedule_lookup(&sched, now - epoch_ns, &frame, &next);
	u64 window_end = epoch_ns + next;
	if (w < 0) {
		current = ~0ULL;
		idle_until(window_end, NULL);
		return;
	}
	struct partition *p = &partitions[sched.windows[w].partition];
	u64 instance = frame * sched.window_count + (u64)w;
	bool fresh = instance != current;
	if (fresh) {
		current = instance;
		window_started(p, epoch_ns + frame * sched.frame_ns + sched.windows[w].offset_ns, now);
	}
	u64 run_end = window_end - exit_guard_ns(p, sched.windows[w].length_ns);
	u64 next_event = p->kind->exits->prepare && (partition_is_live(p))
				 ? p->kind->exits->prepare(p, now) : 0;
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

void sched_run(void)
{
	sched_start();
	for (;;)
		sched_step();
}
