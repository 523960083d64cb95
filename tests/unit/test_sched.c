/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Host tests of the cyclic scheduler (kernel/sched.c) on the fake machine:
 * the real scheduler, life cycle and exit path run real partitions from a
 * real config over several major frames, with scripted guests, and the
 * tests check where every run of a vCPU fell (fake_runs) and what each
 * partition's state became: the window plan, idle gaps, yield, wait with a
 * deadline, wake on an event, faults with and without restart (the restart
 * clearing in its own windows only), DMA faults, console output, the exit
 * guard, and the run's end codes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/iommu.h"
#include "kernel/abi/partita.h"
#include "kernel/errno.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/partition.h"
#include "kernel/pv_image.h"
#include "kernel/sched.h"
#include "tests/unit/fake_arch.h"
#include "tests/unit/fake_virt.h"

#define US 1000ULL
#define MS 1000000ULL
#define FRAME (10 * MS)

/* a: 0-3 ms; b: 4-6 ms and 8-9 ms; c: 6.5-7.5 ms; the rest is idle. */
static const char *const three =
	"[hypervisor]\nframe = 10ms\n"
	"[partition a]\nkind = pv\nmemory = 2M\nimage = a.elf\nwindow = 0ms 3ms\n"
	"[partition b]\nkind = pv\nmemory = 2M\nimage = b.elf\nwindow = 4ms 2ms\nwindow = 8ms 1ms\n"
	"[partition c]\nkind = pv\nmemory = 2M\nimage = c.elf\nwindow = 6500us 1ms\n"
	"[channel ab]\nbetween = a b\n";

static u64 epoch;

static void start(const char *conf)
{
	fake_create(conf);
	sched_init(&fake_cfg);
	sched_start();
	epoch = sched_epoch_ns();
	assert_true(epoch > fake_now_ns());
}

/* Steps the scheduler until time t (ns after the epoch). */
static void run_until(u64 t)
{
	for (unsigned steps = 0; fake_now_ns() < epoch + t; steps++) {
		sched_step();
		if (steps > 1000000)
			fail_msg("the scheduler makes no progress at %llu ns",
				 (unsigned long long)fake_now_ns());
	}
}

/* The window of partition id that holds time t (after the epoch), or -1. */
static int window_of(u32 id, u64 t, u64 *w_start, u64 *w_end)
{
	const struct config_partition *c = &fake_cfg.partitions[id];
	u64 frame = t / FRAME, off = t % FRAME;

	for (unsigned w = 0; w < c->window_count; w++)
		if (off >= c->windows[w].offset_ns &&
		    off < c->windows[w].offset_ns + c->windows[w].length_ns) {
			*w_start = frame * FRAME + c->windows[w].offset_ns;
			*w_end = *w_start + c->windows[w].length_ns;
			return (int)w;
		}
	return -1;
}

/* Every run lies inside one window of its partition. */
static void check_runs_in_windows(void)
{
	for (unsigned i = 0; i < fake_run_count; i++) {
		const struct fake_run_record *r = &fake_runs[i];
		u64 ws, we;
		if (r->start_ns < epoch)
			fail_msg("run %u of %u before the epoch", i, r->partition);
		if (window_of(r->partition, r->start_ns - epoch, &ws, &we) < 0)
			fail_msg("run %u of partition %u starts at %llu ns, outside its windows", i,
				 r->partition, (unsigned long long)(r->start_ns - epoch));
		if (r->end_ns - epoch > we)
			fail_msg("run %u of partition %u ends at %llu ns, after its window (%llu)",
				 i, r->partition, (unsigned long long)(r->end_ns - epoch),
				 (unsigned long long)we);
	}
}

/* Time partition id ran in [from, to) after the epoch. */
static u64 ran(u32 id, u64 from, u64 to)
{
	u64 sum = 0;

	for (unsigned i = 0; i < fake_run_count; i++) {
		const struct fake_run_record *r = &fake_runs[i];
		if (r->partition == id && r->start_ns >= epoch + from && r->start_ns < epoch + to)
			sum += r->end_ns - r->start_ns;
	}
	return sum;
}

/* The first run of id that starts at or after t. */
static const struct fake_run_record *first_run(u32 id, u64 t)
{
	for (unsigned i = 0; i < fake_run_count; i++)
		if (fake_runs[i].partition == id && fake_runs[i].start_ns >= epoch + t)
			return &fake_runs[i];
	return NULL;
}

FAKE_TEST(windows_over_five_frames)
{
	start(three);
	struct partition *a = fake_partition("a"), *b = fake_partition("b"),
			 *c = fake_partition("c");

	/* Before the epoch nothing runs: the CPU idles until it. */
	sched_step();
	assert_int_equal(fake_run_count, 0);
	assert_int_equal(fake_now_ns(), epoch);
	run_until(5 * FRAME);
	check_runs_in_windows();
	for (u64 f = 0; f < 5; f++) {
		u64 base = f * FRAME;
		/* Each gets (nearly) all of each of its windows: the run ends
		 * its exit guard (2 us) before the window does. */
		assert_in_range(ran(a->id, base, base + 3 * MS), 3 * MS - 3 * US, 3 * MS);
		assert_in_range(ran(b->id, base + 4 * MS, base + 6 * MS), 2 * MS - 3 * US, 2 * MS);
		assert_in_range(ran(b->id, base + 8 * MS, base + 9 * MS), 1 * MS - 3 * US, 1 * MS);
		assert_in_range(ran(c->id, base + 6500 * US, base + 7500 * US), MS - 3 * US, MS);
		/* Each window's first run begins exactly when the window does. */
		assert_int_equal(first_run(a->id, base)->start_ns, epoch + base);
		assert_int_equal(first_run(b->id, base + 4 * MS)->start_ns, epoch + base + 4 * MS);
		assert_int_equal(first_run(c->id, base + 6 * MS)->start_ns,
				 epoch + base + 6500 * US);
	}
	/* Window starts counted, none late. */
	assert_int_equal(a->stats.windows, 5);
	assert_int_equal(b->stats.windows, 10);
	assert_int_equal(c->stats.windows, 5);
	u64 late, count;
	sched_lateness(&late, &count);
	assert_int_equal(late, 0);
	assert_int_equal(count, 20);
	assert_int_equal(sched_frame_ns(), FRAME);
	/* Idle gaps were halted through, not run. */
	assert_true(fake_halt_count >= 5 * 4);
	/* Every run ended by the timer counts as an interrupt exit. */
	assert_true(a->stats.exits[PARTITA_EXIT_INTR] >= 5);
}

FAKE_TEST(yield_gives_up_the_rest_of_the_window)
{
	start(three);
	struct partition *a = fake_partition("a");

	struct fake_exit y = { .run_ns = 500 * US, .set = FAKE_RAX, .rax = HC_YIELD };
	y.e.reason = VMEXIT_HYPERCALL;
	y.e.insn_len = 3;
	fake_push(a, &y);
	run_until(2 * FRAME);
	check_runs_in_windows();
	assert_int_equal(ran(a->id, 0, 3 * MS), 500 * US);
	assert_in_range(ran(a->id, FRAME, FRAME + 3 * MS), 3 * MS - 3 * US, 3 * MS);
	/* The others are unaffected. */
	assert_int_equal(first_run(fake_partition("b")->id, 0)->start_ns, epoch + 4 * MS);
	assert_int_equal(a->vcpu.regs.rax, 0);
}

FAKE_TEST(wait_with_a_deadline)
{
	start(three);
	struct partition *a = fake_partition("a");

	/* At 1 ms: wait until 11 ms (inside its window of frame 1). */
	struct fake_exit w = {
		.run_ns = MS, .set = FAKE_RAX | FAKE_RDI, .rax = HC_WAIT, .rdi = epoch + 11 * MS
	};
	w.e.reason = VMEXIT_HYPERCALL;
	w.e.insn_len = 3;
	fake_push(a, &w);
	run_until(FRAME + 500 * US);
	assert_int_equal(a->state, PARTITION_WAITING);
	assert_int_equal(ran(a->id, 0, 3 * MS), MS);
	assert_int_equal(ran(a->id, FRAME, FRAME + 500 * US), 0);
	run_until(2 * FRAME);
	check_runs_in_windows();
	assert_int_equal(a->state, PARTITION_RUNNABLE);
	/* Woken at its deadline, in its window, with RAX 0 (no event). */
	assert_int_equal(first_run(a->id, MS + 1)->start_ns, epoch + 11 * MS);
	assert_int_equal(a->vcpu.regs.rax, 0);
	assert_in_range(ran(a->id, FRAME, FRAME + 3 * MS), 2 * MS - 3 * US, 2 * MS);
}

FAKE_TEST(wait_until_an_event_wakes_it)
{
	start(three);
	struct partition *a = fake_partition("a"), *b = fake_partition("b");

	fake_push_hypercall(a, HC_WAIT, 0, 0, 0, 0);
	/* b signals its channel 0 (to a) at 1 ms into its first window. */
	struct fake_exit s = {
		.run_ns = MS, .set = FAKE_RAX | FAKE_RDI, .rax = HC_EVENT_SIGNAL, .rdi = 0
	};
	s.e.reason = VMEXIT_HYPERCALL;
	s.e.insn_len = 3;
	fake_push(b, &s);
	run_until(4 * MS);
	assert_int_equal(a->state, PARTITION_WAITING);
	run_until(6 * MS);
	assert_int_equal(a->state, PARTITION_RUNNABLE);
	assert_int_equal(a->vcpu.regs.rax, 1); /* its channel 0's bit */
	assert_int_equal(b->vcpu.regs.rax, 0);
	run_until(FRAME + MS);
	check_runs_in_windows();
	/* It ran again only in its own next window. */
	assert_int_equal(ran(a->id, 4 * MS, FRAME), 0);
	assert_int_equal(first_run(a->id, 4 * MS)->start_ns, epoch + FRAME);
}

FAKE_TEST(fault_without_restart_stops_it_for_good)
{
	start(three);
	struct partition *a = fake_partition("a");

	fake_push_reason(a, VMEXIT_SHUTDOWN, MS);
	run_until(3 * FRAME);
	check_runs_in_windows();
	assert_int_equal(a->state, PARTITION_FAULTED);
	assert_int_equal(ran(a->id, 0, 3 * FRAME), MS);
	/* Its windows are idle; the others run as before. */
	assert_int_equal(first_run(fake_partition("c")->id, 2 * FRAME)->start_ns,
			 epoch + 2 * FRAME + 6500 * US);
	fake_expect_serial("partition a stopped: triple fault");
}

/*
 * A restart's clearing of a 16 MiB partition takes several of its windows
 * (each TSC read costs 1 us here), and is done only inside them: the others'
 * windows still start on time.
 */
FAKE_TEST(restart_clears_only_in_its_own_windows)
{
	start("[hypervisor]\nframe = 10ms\n"
	      "[partition a]\nkind = pv\nmemory = 16M\nimage = a.elf\nwindow = 0ms 3ms\n"
	      "on_fault = restart\n"
	      "[partition b]\nkind = pv\nmemory = 2M\nimage = b.elf\nwindow = 4ms 2ms\n");
	struct partition *a = fake_partition("a"), *b = fake_partition("b");
	unsigned windows_clearing = 0;
	u64 last_window = ~0ULL;

	fake_push_reason(a, VMEXIT_SHUTDOWN, MS);
	fake_rdtsc_step = 3000;
	while (a->boot_count == 1 && a->state != PARTITION_STARTING)
		sched_step();
	while (a->state == PARTITION_STARTING) {
		u64 t0 = fake_now_ns() - epoch, cleared = a->cleared, ws, we;
		sched_step();
		u64 t1 = fake_now_ns() - epoch;
		if (a->cleared == cleared && a->state == PARTITION_STARTING)
			continue;
		/* Progress: only in a's window, and not past its end (the step
		 * then idles to the window's end: a few TSC reads, at 1 us
		 * each here, after it). */
		if (window_of(a->id, t0, &ws, &we) < 0 || t1 > we + 10 * US)
			fail_msg("a's start progressed from %llu to %llu ns, outside its window",
				 (unsigned long long)t0, (unsigned long long)t1);
		if (ws != last_window) {
			windows_clearing++;
			last_window = ws;
		}
		assert_true(t0 < 20 * FRAME);
	}
	assert_int_equal(a->state, PARTITION_RUNNABLE);
	assert_int_equal(a->boot_count, 2);
	if (windows_clearing < 2)
		fail_msg("cleared in %u window(s), done at %llu ns", windows_clearing,
			 (unsigned long long)(fake_now_ns() - epoch));
	fake_rdtsc_step = 0;
	u64 now = fake_now_ns() - epoch;
	run_until(now + 2 * FRAME);
	check_runs_in_windows();
	/* b's windows kept starting on time (to the microsecond). */
	for (u64 f = 0; f * FRAME < now; f++) {
		const struct fake_run_record *r = first_run(b->id, f * FRAME + 4 * MS);
		assert_in_range(r->start_ns - epoch, f * FRAME + 4 * MS,
				f * FRAME + 4 * MS + 20 * US);
	}
}

FAKE_TEST(run_ends_when_nobody_can_run)
{
	start(three);
	fake_push_hypercall(fake_partition("a"), HC_SHUTDOWN, 0, 0, 0, 0);
	fake_push_hypercall(fake_partition("b"), HC_SHUTDOWN, 0, 0, 0, 0);
	fake_push_hypercall(fake_partition("c"), HC_SHUTDOWN, 0, 0, 0, 0);
	FAKE_EXPECT_STOP(run_until(2 * FRAME));
	assert_int_equal(fake_stop_code, 0);
	fake_expect_serial("run ended: code 0 (no partition can run any more)");
	assert_true(fake_now_ns() < epoch + FRAME);
}

FAKE_TEST(run_ends_with_the_first_exit_code)
{
	start(three);
	fake_push_hypercall(fake_partition("a"), HC_SHUTDOWN, 0, 0, 0, 0);
	fake_push_hypercall(fake_partition("b"), HC_SHUTDOWN, 3, 0, 0, 0);
	fake_push_hypercall(fake_partition("c"), HC_SHUTDOWN, 4, 0, 0, 0);
	FAKE_EXPECT_STOP(run_until(2 * FRAME));
	assert_int_equal(fake_stop_code, 3);
	fake_expect_serial("[hv] partition b stopped: exited with code 3");
}

FAKE_TEST(run_ends_with_fault_code)
{
	start(three);
	fake_push_hypercall(fake_partition("a"), HC_SHUTDOWN, 3, 0, 0, 0);
	fake_push_reason(fake_partition("b"), VMEXIT_INVALID, 100 * US);
	fake_push_hypercall(fake_partition("c"), HC_SHUTDOWN, 0, 0, 0, 0);
	FAKE_EXPECT_STOP(run_until(2 * FRAME));
	assert_int_equal(fake_stop_code, HV_EXIT_FAULT);
	fake_expect_serial("partition b stopped: invalid guest state");
}

FAKE_TEST(dma_fault_stops_the_device_owner)
{
	fake_iommu_present = true;
	fake_pci_add(0, 3, 0, 0x8086, 0x100e);
	start("[hypervisor]\nframe = 10ms\n"
	      "[partition a]\nkind = pv\nmemory = 2M\nimage = a.elf\nwindow = 0ms 3ms\n"
	      "device = 00:03.0\n"
	      "[partition b]\nkind = pv\nmemory = 2M\nimage = b.elf\nwindow = 4ms 2ms\n");
	run_until(5 * MS);
	fake_iommu_fault(IOMMU_BDF(0, 3, 0), 0x123000, true);
	fake_iommu_fault(IOMMU_BDF(0, 9, 0), 0x5000, false); /* nobody's */
	run_until(FRAME + MS);
	assert_int_equal(fake_partition("a")->state, PARTITION_FAULTED);
	assert_string_equal(fake_partition("a")->stop_reason,
			    "DMA to 0x123000 by device 00:03.0 blocked by the IOMMU (IO_PAGE_FAULT)");
	assert_int_equal(fake_partition("b")->state, PARTITION_RUNNABLE);
	assert_int_equal(ran(fake_partition("a")->id, FRAME, FRAME + MS), 0);
}

/* Console lines a partition writes go out in its own time or in idle time. */
FAKE_TEST(console_lines_go_out)
{
	start(three);
	struct partition *a = fake_partition("a");
	char *buf = partition_gpa_ptr(a, 0x200000 - 0x1000);

	memcpy(buf, "hello from a\n", 13);
	for (int i = 0; i < 3; i++)
		fake_push_hypercall(a, HC_CONSOLE_WRITE, 0x200000 - 0x1000, 13, 0, 0);
	run_until(FRAME);
	assert_int_equal(a->vcpu.regs.rax, 13);
	assert_int_equal(fake_serial_count("[a] hello from a\r\n"), 3);
	assert_int_equal(a->stats.console_bytes, 39);
}

/* Slow exit handlers (each TSC read costs 20 us here) make the scheduler end
 * that partition's later runs earlier, so its handlers finish in its window. */
FAKE_TEST(slow_exits_grow_the_exit_guard)
{
	start(three);
	struct partition *a = fake_partition("a");

	for (int i = 0; i < 20; i++)
		fake_push_cpuid(a, 0, 0);
	fake_rdtsc_step = 60000;
	run_until(3 * MS);
	fake_rdtsc_step = 0;
	assert_true(a->exit_max_tsc >= 60000);
	run_until(FRAME + 10 * US);
	assert_true(a->exit_guard_ns > 2 * US);
	run_until(2 * FRAME);
	/* a's run in frame 1 ended its guard before the window's end. */
	const struct fake_run_record *r = first_run(a->id, FRAME);
	assert_non_null(r);
	assert_true(r->end_ns <= epoch + FRAME + 3 * MS - a->exit_guard_ns + a->exit_guard_ns / 2);
	assert_true(ran(a->id, FRAME, FRAME + 3 * MS) < 3 * MS - 2 * US);
}

/* Typed input on the serial line (log.c, log_poll_input): the focus starts
 * on the first partition that takes input (b here, as if it had a 16550)
 * and says so; Ctrl-T hot keys move it with a banner each, and a typed
 * byte for a partition without an input path is dropped and counted. */
FAKE_TEST(typed_hot_keys_move_the_focus)
{
	start(three);
	struct console *b = &fake_partition("b")->console;

	b->takes_input = true;
	fake_serial_type("x\x14n\x14n\x14"
			 "7y\x14?\x14q");
	run_until(3 * FRAME);
	fake_expect_serial("[hv] console: focus on b (partition 1); Ctrl-T ? lists the hot keys");
	assert_int_equal(console_input_get(b), 'x');
	assert_false(console_input_pending(b));
	fake_expect_serial(
		"[hv] console: focus on c (partition 2): it takes no input, typed bytes are dropped");
	fake_expect_serial(
		"[hv] console: focus on a (partition 0): it takes no input, typed bytes are dropped");
	fake_expect_serial("[hv] console: Ctrl-T 7: no partition 7 (0-2); focus stays on a");
	fake_expect_serial("[hv] console: hot keys: Ctrl-T 0-9");
	fake_expect_serial("[hv] console: Ctrl-T 0x71 is no hot key");
	assert_int_equal(fake_partition("a")->console.input_dropped, 1);
}

/* With no partition that takes input, nobody polls: typed bytes stay in the
 * UART and no banner is printed. */
FAKE_TEST(no_input_partition_no_polling)
{
	start(three);
	fake_serial_type("\x14?");
	run_until(2 * FRAME);
	assert_false(fake_serial_has("console:"));
}

/* Ctrl-T r gives the focus the terminal raw: its banner comes through its
 * own console (the others are held), a held partition's lines wait, and
 * Ctrl-T r again gives the terminal back with a banner and the held lines. */
FAKE_TEST(raw_hot_key_holds_the_others)
{
	start(three);
	struct partition *a = fake_partition("a");
	struct partition *b = fake_partition("b");
	char *buf = partition_gpa_ptr(b, 0x200000 - 0x1000);

	a->console.takes_input = true;
	run_until(FRAME);
	fake_serial_type("\x14r");
	run_until(2 * FRAME);
	assert_ptr_equal(console_raw_owner(), &a->console);
	fake_expect_serial(
		"[hv] console: a has the terminal raw (no prefixes; the others' output is held); Ctrl-T r gives it back");
	memcpy(buf, "held line\n", 10);
	fake_push_hypercall(b, HC_CONSOLE_WRITE, 0x200000 - 0x1000, 10, 0, 0);
	run_until(3 * FRAME);
	assert_int_equal(b->vcpu.regs.rax, 10);
	assert_false(fake_serial_has("[b] held line"));
	fake_serial_type("\x14r");
	run_until(5 * FRAME);
	assert_null(console_raw_owner());
	fake_expect_serial(
		"[hv] console: a gave the terminal back; the others' output follows (0 lines of it dropped)");
	fake_expect_serial("[b] held line");
}

/* Tops up a partition's script with short exits (10 us of guest time each),
 * so that a window's run is cut into steps and the CPUs take turns. */
static void keep_busy(struct partition *p)
{
	struct fake_vcpu *f = p->vcpu.arch;

	while (f->tail - f->head < 8)
		fake_push_reason(p, VMEXIT_EXTINT, 10 * US);
}

/*
 * Three CPUs: a on CPU 0 and d on CPU 1 start their windows at the same
 * planned instant, CPU 2 has no windows.  The test steps CPU 0 and CPU 1 in
 * turn; the one that starts second in a frame starts 10 us late (the
 * other's first exit), which is the skew between them.  The housekeeper
 * (CPU 0) reports it every 8 frames, in idle time, with the halted CPU.
 */
FAKE_TEST(window_start_skew_between_cpus_is_reported)
{
	fake_cpus = 3;
	start("[hypervisor]\nframe = 1ms\n"
	      "[partition a]\nkind = pv\nmemory = 2M\nimage = a.elf\nwindow = 0ms 100us\n"
	      "[partition d]\nkind = pv\nmemory = 2M\nimage = d.elf\ncpu = 1\nwindow = 0ms 100us\n");
	struct partition *a = fake_partition("a"), *d = fake_partition("d");

	for (unsigned steps = 0; fake_now_ns() < epoch + 17 * MS; steps++) {
		keep_busy(a);
		keep_busy(d);
		fake_cpu = 0;
		sched_step();
		fake_cpu = 1;
		sched_step();
		if (steps > 100000)
			fail_msg("the scheduler makes no progress");
	}
	fake_cpu = 0;
	assert_int_equal(fake_serial_count("window-start skew"), 1);
	/* Frames 1 to 10 (frame 0 follows the release from start-up, not the
	 * schedule); the stepping order lets CPU 0 find idle time first in
	 * frame 10.  Each CPU's first start was 10 us late too. */
	fake_expect_serial(
		"[hv] sched: frame 10, window-start skew between CPUs over 10 shared starts: median < 11 us, max 10000 ns (cpus 1 and 0, frame 1 +0 us); start lateness max 10000 ns (cpu 0, frame 0 +0 us); halted CPUs: 2 (0 wake-ups)");
	assert_int_equal(a->stats.windows, 17);
	assert_int_equal(d->stats.windows, 17);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(windows_over_five_frames),
		cmocka_unit_test(yield_gives_up_the_rest_of_the_window),
		cmocka_unit_test(wait_with_a_deadline),
		cmocka_unit_test(wait_until_an_event_wakes_it),
		cmocka_unit_test(fault_without_restart_stops_it_for_good),
		cmocka_unit_test(restart_clears_only_in_its_own_windows),
		cmocka_unit_test(run_ends_when_nobody_can_run),
		cmocka_unit_test(run_ends_with_the_first_exit_code),
		cmocka_unit_test(run_ends_with_fault_code),
		cmocka_unit_test(dma_fault_stops_the_device_owner),
		cmocka_unit_test(console_lines_go_out),
		cmocka_unit_test(slow_exits_grow_the_exit_guard),
		cmocka_unit_test(typed_hot_keys_move_the_focus),
		cmocka_unit_test(no_input_partition_no_polling),
		cmocka_unit_test(raw_hot_key_holds_the_others),
		cmocka_unit_test(window_start_skew_between_cpus_is_reported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
