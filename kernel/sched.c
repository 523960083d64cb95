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
#include "kernel/dma.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/partition.h"
#include "kernel/hvm/platform.h"
#include "kernel/schedule.h"
#include "kernel/vmexit.h"

#define SCHED_TIMER_VECTOR 0x30
#define SCHED_EPOCH_DELAY_NS 1000000ULL /* frame 0 starts 1 ms after init */
#define MIN_TIMER_NS 1000ULL

static struct schedule sched;
static const struct config *config;
static u64 epoch_ns;
static u64 late_max_ns, start_count;
static u64 current_window_end;

u64 sched_window_end(void)
{
	return current_window_end;
}

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

static void arm_timer(u64 until, u64 now)
{
	lapic_timer_oneshot_ns(until > now + MIN_TIMER_NS ? until - now : MIN_TIMER_NS,
			       SCHED_TIMER_VECTOR);
}

/* Halts until the timer (or another interrupt) fires. */
static void idle_until(u64 until)
{
	u64 now = clock_now_ns();

	if (until <= now)
		return;
	arm_timer(until, now);
	cpu_wait_irq(); /* sti; hlt: the timer's interrupt cannot slip in between */
	irq_disable();
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

static void window_started(struct partition *p, u64 planned, u64 actual)
{
	u64 late = actual > planned ? actual - planned : 0;

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

/*
 * Runs p until an exit that needs the scheduler: the timer's interrupt (the
 * window, or a device deadline, is over) or a change of p's state.  Exits
 * that need only their handler (a hypercall, a CPUID) re-enter at once,
 * since the armed timer still bounds the window; this keeps the scheduler's
 * bookkeeping off the hypercall path.  Unmodified guests go back to the
 * scheduler after every exit, for their interrupts.
 */
static void run_vcpu(struct partition *p)
{
	struct vm_exit exit;

	for (;;) {
		fpu_load_xcr0(p->vcpu.fpu->xcr0);
		u64 t0 = rdtsc();
		virt->run(&p->vcpu, &exit);
		p->cpu_tsc += rdtsc() - t0;
		fpu_load_xcr0(fpu_host_xcr0());
		vmexit_handle(p, &exit);
		if (exit.reason == VMEXIT_EXTINT) {
			/* Take the interrupt that ended the run. */
			irq_enable();
			asm volatile("nop");
			irq_disable();
			return;
		}
		if (p->state != PARTITA_STATE_RUNNING || p->yielded || p->restart_pending ||
		    p->cfg->kind == PARTITION_HVM)
			return;
	}
}

void sched_run(void)
{
	u64 current = ~0ULL; /* window instance being run: frame * count + index */
	struct vcpu *fpu_owner = NULL;

	irq_disable();
	/* Frame 0 starts shortly after the partitions were made, and they
	 * learn when it does from their start-info page. */
	epoch_ns = clock_now_ns() + SCHED_EPOCH_DELAY_NS;
	partitions_publish_epoch(epoch_ns);
	for (;;) {
		dma_poll_faults(); /* DMA isolation: faults stop their device's owner */
		check_run_end();
		u64 now = clock_now_ns();
		if (now < epoch_ns) {
			idle_until(epoch_ns);
			continue;
		}
		u64 frame, next;
		int w = schedule_lookup(&sched, now - epoch_ns, &frame, &next);
		u64 window_end = epoch_ns + next;
		if (w < 0) {
			current = ~0ULL;
			idle_until(window_end);
			continue;
		}
		struct partition *p = &partitions[sched.windows[w].partition];
		u64 instance = frame * sched.window_count + (u64)w;
		if (instance != current) {
			current = instance;
			window_started(p, epoch_ns + frame * sched.frame_ns + sched.windows[w].offset_ns,
				       now);
		}
		if (p->restart_pending) {
			/* Clearing its memory is done in its own windows, a
			 * slice at a time, so it never delays another's. */
			if (!partition_clear_step(p, window_end)) {
				idle_until(window_end);
				continue;
			}
			p->restart_pending = false;
			if (partition_start(p) == 0 && p->start_requester)
				log_line("partition %s started by partition %s (boot %llu)", p->cfg->name,
					 p->start_requester, (unsigned long long)p->boot_count);
			continue; /* that took time: look at the clock again */
		}
		wake_if_due(p, now);
		if (p->state != PARTITA_STATE_RUNNING || p->yielded) {
			u64 until = window_end;
			if (p->state == PARTITA_STATE_WAITING && p->wait_deadline &&
			    p->wait_deadline < until)
				until = p->wait_deadline;
			idle_until(until);
			continue;
		}

		u64 until = window_end;
		if (p->cfg->kind == PARTITION_HVM) {
			u64 next_event = hvm_before_entry(p, now);
			if (next_event && next_event < until)
				until = next_event;
			if (hvm_halted(p)) {
				idle_until(until);
				continue;
			}
		}
		/* The FPU registers belong to the vCPU that ran last. */
		if (fpu_owner != &p->vcpu) {
			fpu_switch(fpu_owner ? fpu_owner->fpu : NULL, p->vcpu.fpu);
			fpu_owner = &p->vcpu;
		}
		arm_timer(until, now);
		current_window_end = window_end;
		run_vcpu(p);
	}
}
