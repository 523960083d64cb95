/*
 * The cyclic scheduler (see sched.h).  One loop per CPU: find the window the
 * current time falls in, run its partition until the window's end (a
 * one-shot LAPIC timer forces the exit), handle each exit, and halt through
 * idle time.  Times are nanoseconds of the TSC-based clock (clock.h).
 */
#include "kernel/sched.h"
#include "arch/x86/clock.h"
#include "arch/x86/cpu.h"
#include "arch/x86/fpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/traps.h"
#include "arch/x86/vcpu_state.h"
#include "drivers/uart16550.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/partition.h"
#include "kernel/hvm/platform.h"
#include "kernel/schedule.h"
#include "kernel/vmexit.h"

#define SCHED_TIMER_VECTOR 0x30
#define SCHED_EPOCH_DELAY_NS 1000000ULL /* frame 0 starts 1 ms after init */
#define MIN_TIMER_NS 1000ULL
/* Feeding the UART stops this long before a window ends, so the last byte
 * written (one port write) cannot make the next window start late. */
#define DRAIN_GUARD_NS 2000ULL

static struct schedule sched;
static const struct config *config;
static u64 epoch_ns;
static u64 late_max_ns, start_count;
static u64 run_until_tsc; /* when the running partition's run ends */
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

/* A TSC deadline DRAIN_GUARD_NS before end (ns); now if that has passed. */
static u64 drain_deadline(u64 end)
{
	u64 now = clock_now_ns();
	u64 tsc = rdtsc();

	if (end <= now + DRAIN_GUARD_NS)
		return tsc;
	return tsc + clock_ns_to_tsc(end - DRAIN_GUARD_NS - now);
}

u64 sched_exit_budget_tsc(void)
{
	u64 now = rdtsc(), budget = now + clock_ns_to_tsc(EXIT_BUDGET_NS);

	return MIN(budget, run_until_tsc > now ? run_until_tsc : now);
}

static void sched_timer_irq(struct trap_frame *f)
{
	(void)f;
	lapic_eoi();
}

void sched_init(const struct config *cfg)
{
	config = cfg;
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

/* The run ends when no partition can run any more. */
static void check_run_end(void)
{
	int code = HV_EXIT_OK;

	for (unsigned i = 0; i < partition_count; i++) {
		const struct partition *p = &partitions[i];
		if (p->state == PARTITA_STATE_RUNNING || p->state == PARTITA_STATE_WAITING)
			return;
		if (p->state == PARTITA_STATE_FAULTED)
			code = HV_EXIT_FAULT;
		else if (p->state == PARTITA_STATE_EXITED && p->exit_code && code == HV_EXIT_OK)
			code = (int)(p->exit_code & 0x7f);
	}
	hv_stop(code, "no partition can run any more");
}

void sched_end_on_exit(const struct partition *p)
{
	if (config->end_on_exit[0] && !strcmp(config->end_on_exit, p->cfg->name))
		hv_stop((int)(p->exit_code & 0x7f), "the end_on_exit partition exited");
}

/*
 * The time an exit handler of p may still take after p's run ends: its
 * slowest handler in this window or, decaying, in the ones before, plus a
 * margin.  Ending p's run that much before its window's end keeps a slow
 * handler (a log line, an emulated device) from delaying the next window:
 * a partition whose exits are expensive pays with its own time.  At most
 * half of what is left of the window.
 */
#define EXIT_GUARD_MIN_NS 2000ULL
static u64 exit_guard_ns(const struct partition *p, u64 left_ns)
{
	u64 tsc = MAX(p->exit_guard_tsc, p->exit_max_tsc);
	u64 ns = clock_tsc_to_ns(tsc + tsc / 4) + EXIT_GUARD_MIN_NS;

	return MIN(ns, left_ns / 2);
}

static void window_started(struct partition *p, u64 planned, u64 actual)
{
	u64 late = actual > planned ? actual - planned : 0;

	/* The guard follows the slowest handler, and forgets it slowly. */
	p->exit_guard_tsc = MAX(p->exit_max_tsc, p->exit_guard_tsc - p->exit_guard_tsc / 8);
	p->exit_max_tsc = 0;

	p->yielded = false;
	p->stats.windows++;
	if (late > p->stats.max_start_late_ns)
		p->stats.max_start_late_ns = late;
	if (late > late_max_ns)
		late_max_ns = late;
	start_count++;
}

/* A waiting partition wakes on an event or at its deadline; HC_WAIT then
 * returns the pending events (0 for the deadline). */
static void wake_if_due(struct partition *p, u64 now)
{
	if (p->state != PARTITA_STATE_WAITING)
		return;
	if (p->pending_events || (p->wait_deadline && now >= p->wait_deadline)) {
		p->vcpu.regs.rax = p->pending_events;
		p->pending_events = 0;
		p->state = PARTITA_STATE_RUNNING;
	}
}

static void xcr0_changed(struct partition *p)
{
	u64 x = fpu_read_xcr0();

	if (p->cfg->kind == PARTITION_HVM && fpu_xcr0_valid(x)) {
		p->vcpu.lazy.fpu->xcr0 = x;
		return;
	}
	fpu_load_xcr0(p->vcpu.lazy.fpu->xcr0);
	log_set_context(&p->console, 0);
	partition_fault(p, "XCR0 set to %#llx by XSETBV without an exit (%s)",
			(unsigned long long)x,
			p->cfg->kind == PARTITION_HVM ? "a value XSETBV must refuse" : "not allowed");
	log_set_context(NULL, 0);
}

/*
 * Runs p until an exit that needs the scheduler: the timer's interrupt (the
 * window, or a device deadline, is over) or a change of p's state.  Exits
 * that need only their handler (a hypercall, a CPUID) re-enter at once,
 * since the armed timer still bounds the window; this keeps the scheduler's
 * bookkeeping off the hypercall path.  Unmodified guests go back to the
 * scheduler after every exit, for their interrupts.
 */
static void run_vcpu(struct partition *p, u64 until_tsc, u64 window_end_tsc)
{
	struct vm_exit exit;

	for (;;) {
		fpu_load_xcr0(p->vcpu.lazy.fpu->xcr0);
		u64 t0 = rdtsc();
		virt->run(&p->vcpu, &exit);
		u64 t1 = rdtsc();
		p->cpu_tsc += t1 - t0;
		/* Where XSETBV does not exit (QEMU's SVM emulation has no
		 * intercept for it), the guest changed XCR0 behind our back. */
		if (fpu_has_xsave && fpu_read_xcr0() != p->vcpu.lazy.fpu->xcr0) {
			xcr0_changed(p);
			if (p->state != PARTITA_STATE_RUNNING)
				return; /* stopped: its exit does not matter */
		}
		fpu_load_xcr0(fpu_host_xcr0());
		/* What the hypervisor prints while handling the exit is about
		 * p: it goes to p's console queue, at p's cost. */
		log_set_context(&p->console, window_end_tsc);
		vmexit_handle(p, &exit);
		log_set_context(NULL, 0);
		u64 t2 = rdtsc();
		if (t2 - t1 > p->exit_max_tsc)
			p->exit_max_tsc = t2 - t1;
		/* The interrupt that ended the run, or the timer that is due
		 * (the handler ran into the end of p's run): take it. */
		if (exit.reason == VMEXIT_EXTINT || t2 >= until_tsc) {
			irq_enable();
			asm volatile("nop");
			irq_disable();
			return;
		}
		if (p->state != PARTITA_STATE_RUNNING || p->yielded || p->restart_pending ||
		    p->cfg->kind == PARTITION_HVM)
			return;
		/* Its console has lines to send and the UART may have room:
		 * the scheduler sends them (outside the handler's time, which
		 * would grow its guard) before it re-enters. */
		if (console_pending(&p->console) && t2 >= sink_ready_tsc)
			return;
	}
}

void sched_run(void)
{
	u64 current = ~0ULL; /* window instance being run: frame * count + index */

	irq_disable();
	log_set_queued(true);
	/* Frame 0 starts shortly after the partitions were made, and they
	 * learn when it does from their start-info page. */
	epoch_ns = clock_now_ns() + SCHED_EPOCH_DELAY_NS;
	partitions_publish_epoch(epoch_ns);
	for (;;) {
		check_run_end();
		u64 now = clock_now_ns();
		if (now < epoch_ns) {
			idle_until(epoch_ns, NULL);
			continue;
		}
		u64 frame, next;
		int w = schedule_lookup(&sched, now - epoch_ns, &frame, &next);
		u64 window_end = epoch_ns + next;
		if (w < 0) {
			current = ~0ULL;
			idle_until(window_end, NULL);
			continue;
		}
		struct partition *p = &partitions[sched.windows[w].partition];
		u64 instance = frame * sched.window_count + (u64)w;
		bool fresh = instance != current;
		if (fresh) {
			current = instance;
			window_started(p, epoch_ns + frame * sched.frame_ns + sched.windows[w].offset_ns,
				       now);
		}
		if (p->restart_pending) {
			/* Clearing its memory is done in its own windows, a
			 * slice at a time, so it never delays another's. */
			if (!partition_clear_step(p, window_end)) {
				idle_until(window_end, p);
				continue;
			}
			p->restart_pending = false;
			log_set_context(&p->console, drain_deadline(window_end));
			if (partition_start(p) == 0 && p->start_requester)
				log_guest(LOG_KIND_LIFE, "partition %s started by partition %s (boot %llu)", p->cfg->name,
					 p->start_requester, (unsigned long long)p->boot_count);
			log_set_context(NULL, 0);
			continue; /* that took time: look at the clock again */
		}
		wake_if_due(p, now);
		/* p's run ends early enough that its slowest exit handler
		 * still finishes inside its window (see exit_guard_ns). */
		u64 run_end = window_end - exit_guard_ns(p, sched.windows[w].length_ns);
		if (p->state != PARTITA_STATE_RUNNING || p->yielded || now >= run_end) {
			u64 until = window_end;
			if (p->state == PARTITA_STATE_WAITING && p->wait_deadline &&
			    p->wait_deadline < until)
				until = p->wait_deadline;
			idle_until(until, p);
			continue;
		}

		u64 until = run_end;
		if (p->cfg->kind == PARTITION_HVM) {
			u64 next_event = hvm_before_entry(p, now);
			if (next_event && next_event < until)
				until = next_event;
			if (hvm_halted(p)) {
				idle_until(until, p);
				continue;
			}
		}
		/* Its own time: the hypervisor's lines, then its own, but not
		 * before its first instruction of the window (its window
		 * starts on time, and its lines go at its next exit). */
		u64 deadline = drain_deadline(run_end);
		bool drained = log_drain_hv(deadline) && (fresh || log_drain(&p->console, deadline));
		/* What could not be sent (a busy UART at its baud rate, or
		 * another console's line on the wire) is tried again a FIFO's
		 * time later, at p's next exit after that.  No timer forces
		 * exits for it, so a partition that prints is not cut into
		 * slices while it runs. */
		if (!drained && !fresh)
			sink_ready_tsc = rdtsc() + clock_ns_to_tsc(uart_fifo_ns());
		/* The FPU and debug registers belong to the vCPU that ran
		 * last on this CPU (arch/x86/vcpu_state.h). */
		vcpu_state_load(&p->vcpu.lazy);
		now = clock_now_ns();
		arm_timer(until, now);
		u64 tsc = rdtsc();
		run_until_tsc = tsc + (until > now ? clock_ns_to_tsc(until - now) : 0);
		run_vcpu(p, run_until_tsc,
			 tsc + (window_end > now ? clock_ns_to_tsc(window_end - now) : 0));
	}
}
