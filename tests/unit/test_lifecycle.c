/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Host tests of the partition life cycle (kernel/partition.c) on the fake
 * machine (fake_arch.h): the transition table, pair by pair, against the
 * life cycle partition.h draws; that a refused transition panics and
 * changes nothing; every public transition on real partitions made from a
 * real config; that a creation failing at any step returns every page it
 * took; and 1,000 restarts that leave the page allocator where it was.
 *
 * partition.c is included, not linked, so its static set_state can be
 * driven through every pair of states.
 */
#include "kernel/partition.c"

#include <stdio.h>
#include <stdlib.h>

#include "kernel/pv_image.h"
#include "kernel/sched.h"
#include "tests/unit/fake_arch.h"
#include "tests/unit/fake_virt.h"

#define N PARTITION_STATE_COUNT

/* The life cycle of partition.h's drawing, written down again here: the
 * table in partition.c must say exactly this. */
static bool drawn(enum partition_state from, enum partition_state to)
{
	switch (from) {
	case PARTITION_UNUSABLE:
		return to == PARTITION_STOPPED; /* create succeeded */
	case PARTITION_STOPPED:
		return to == PARTITION_STARTING || to == PARTITION_UNUSABLE;
	case PARTITION_STARTING:
		return to == PARTITION_RUNNABLE || to == PARTITION_STOPPED ||
		       to == PARTITION_FAULTED || to == PARTITION_STARTING;
	case PARTITION_RUNNABLE:
	case PARTITION_WAITING:
		return to == (from == PARTITION_RUNNABLE ? PARTITION_WAITING :
							   PARTITION_RUNNABLE) ||
		       to == PARTITION_STOPPED || to == PARTITION_FAULTED ||
		       to == PARTITION_EXITED || to == PARTITION_STARTING;
	case PARTITION_FAULTED:
	case PARTITION_EXITED:
		return to == PARTITION_STARTING || to == PARTITION_UNUSABLE;
	default:
		return false;
	}
}

static const char *const pv_two = "[hypervisor]\nframe = 10ms\n"
				  "[partition a]\nkind = pv\nmemory = 2M\nimage = a.elf\n"
				  "window = 0ms 4ms\non_fault = restart\n"
				  "[partition b]\nkind = pv\nmemory = 4M\nimage = b.elf\n"
				  "window = 5ms 4ms\n";

FAKE_TEST(table_is_the_drawn_life_cycle)
{
	unsigned allowed_count = 0;

	for (unsigned from = 0; from < N; from++)
		for (unsigned to = 0; to < N; to++) {
			if (partition_transition_allowed(from, to) != drawn(from, to))
				fail_msg("%s -> %s: table says %d", state_names[from],
					 state_names[to], partition_transition_allowed(from, to));
			allowed_count += drawn(from, to);
		}
	assert_int_equal(allowed_count, 21);
	/* Out of range states are never allowed. */
	assert_false(partition_transition_allowed(N, PARTITION_STOPPED));
	assert_false(partition_transition_allowed(PARTITION_STOPPED, N));
	assert_false(partition_transition_allowed((enum partition_state) - 1, PARTITION_RUNNABLE));
}

FAKE_TEST(allowed_transitions_happen_refused_ones_panic)
{
	struct config_partition c = { .name = "t" };
	static struct partition p;
	char msg[128];

	p.cfg = &c;
	for (unsigned from = 0; from < N; from++)
		for (unsigned to = 0; to < N; to++) {
			p.state = from;
			u64 changes = partition_state_changes;
			if (drawn(from, to)) {
				set_state(&p, to);
				assert_int_equal(p.state, to);
				assert_int_equal(partition_state_changes, changes + 1);
				continue;
			}
			fake_serial_clear();
			FAKE_EXPECT_STOP(set_state(&p, to));
			assert_int_equal(fake_stop_code, HV_EXIT_PANIC);
			snprintf(msg, sizeof(msg),
				 "PANIC: partition t: no transition from %s to %s",
				 state_names[from], state_names[to]);
			fake_expect_serial(msg);
			/* Refused: nothing changed. */
			assert_int_equal(p.state, from);
			assert_int_equal(partition_state_changes, changes);
		}
}

FAKE_TEST(creation_starts_every_partition)
{
	assert_int_equal(fake_create(pv_two), 2);
	struct partition *a = fake_partition("a"), *b = fake_partition("b");
	assert_int_equal(a->state, PARTITION_RUNNABLE);
	assert_int_equal(b->state, PARTITION_RUNNABLE);
	assert_int_equal(a->boot_count, 1);
	assert_int_equal(a->ram_size, MiB(2));
	assert_int_equal(a->vcpu.regs.rip, 0x100000);
	assert_int_equal(a->vcpu.regs.rdi, PV_START_INFO_GPA);
	assert_int_equal(a->vcpu.regs.rsp, MiB(2));
	assert_int_equal(fake_vcpu(a)->resets, 1);
	assert_ptr_equal(a->vcpu.partition, a);
	/* The image was copied to 1 MiB of its RAM, the start-info is its. */
	assert_int_equal(*(u8 *)partition_gpa_ptr(a, 0x100000), 0xf4);
	const struct partita_start_info *si = phys_to_virt(a->start_info);
	assert_int_equal(si->magic, PARTITA_START_MAGIC);
	assert_string_equal(si->name, "a");
	assert_int_equal(si->mem_size, MiB(2));
	assert_int_equal(si->window_count, 1);
	assert_int_equal(si->windows[0].length_ns, 4000000);
	assert_int_equal(partition_abi_state(a), PARTITA_STATE_RUNNING);
	fake_expect_serial("partition a: 2 MiB at host");
}

FAKE_TEST(wait_signal_wake_yield)
{
	fake_create(pv_two);
	struct partition *a = fake_partition("a");

	/* A pending event is returned at once and cleared. */
	partition_signal(a, 0x4);
	assert_int_equal(partition_wait(a, 0), 0x4);
	assert_int_equal(a->state, PARTITION_RUNNABLE);
	/* A deadline already passed: no wait. */
	fake_advance_ns(1000);
	assert_int_equal(partition_wait(a, 500), 0);
	assert_int_equal(a->state, PARTITION_RUNNABLE);
	/* Waits, then wakes with the events in RAX. */
	assert_int_equal(partition_wait(a, 0), 0);
	assert_int_equal(a->state, PARTITION_WAITING);
	assert_int_equal(partition_abi_state(a), PARTITA_STATE_WAITING);
	assert_true(partition_is_live(a));
	partition_signal(a, 0x3);
	assert_int_equal(a->state, PARTITION_RUNNABLE);
	assert_int_equal(a->vcpu.regs.rax, 0x3);
	assert_int_equal(a->pending_events, 0);
	/* partition_wake: without events (hvm's interrupt). */
	partition_wait(a, 0);
	partition_wake(a);
	assert_int_equal(a->state, PARTITION_RUNNABLE);
	partition_wake(a); /* not waiting: nothing */
	assert_int_equal(a->state, PARTITION_RUNNABLE);
	/* Yield lasts until its next window begins. */
	u64 until;
	partition_yield(a);
	assert_true(a->yielded);
	assert_int_equal(partition_next_action(a, fake_now_ns(), &until), PARTITION_IDLE);
	partition_window_begins(a);
	assert_int_equal(partition_next_action(a, fake_now_ns(), &until), PARTITION_RUN);
	/* A wait with a deadline idles until it, then the partition runs with
	 * RAX 0 (HC_WAIT's result when nothing came). */
	a->vcpu.regs.rax = 77;
	u64 now = fake_now_ns();
	partition_wait(a, now + 5000);
	assert_int_equal(partition_next_action(a, now + 10, &until), PARTITION_IDLE);
	assert_int_equal(until, now + 5000);
	assert_int_equal(partition_next_action(a, now + 5000, &until), PARTITION_RUN);
	assert_int_equal(a->state, PARTITION_RUNNABLE);
	assert_int_equal(a->vcpu.regs.rax, 0);
	/* A waiting partition with no deadline idles to the window's end. */
	partition_wait(a, 0);
	assert_int_equal(partition_next_action(a, now + 1000000000, &until), PARTITION_IDLE);
	assert_int_equal(until, 0);
}

FAKE_TEST(stop_start_fault_exit)
{
	fake_create(pv_two);
	struct partition *a = fake_partition("a"), *b = fake_partition("b");
	u64 until;

	/* b halts on a fault (the default). */
	partition_fault(b, "test fault %d", 7);
	assert_int_equal(b->state, PARTITION_FAULTED);
	assert_string_equal(b->stop_reason, "test fault 7");
	assert_int_equal(partition_abi_state(b), PARTITA_STATE_FAULTED);
	fake_expect_serial("partition b stopped: test fault 7");
	assert_int_equal(partition_next_action(b, 0, &until), PARTITION_IDLE);
	partition_fault(b, "again"); /* not live: a second report is dropped */
	assert_string_equal(b->stop_reason, "test fault 7");
	partition_stop(b, "no-op");
	assert_int_equal(b->state, PARTITION_FAULTED);
	partition_exit(b, 1, "no-op");
	assert_int_equal(b->state, PARTITION_FAULTED);

	/* a restarts after a fault: STARTING, its start done in its windows. */
	partition_fault(a, "boom");
	assert_int_equal(a->state, PARTITION_STARTING);
	assert_int_equal(a->restarts, 1);
	assert_int_equal(partition_abi_state(a), PARTITA_STATE_RUNNING);
	assert_int_equal(partition_next_action(a, 0, &until), PARTITION_START_STEP);
	fake_expect_serial("partition a restarted (restart 1)");
	/* A deadline too near for one slice: no progress. */
	assert_false(partition_start_step(a, fake_now_ns() + 100));
	assert_int_equal(a->cleared, 0);
	assert_true(partition_start_step(a, ~0ULL));
	assert_int_equal(a->state, PARTITION_RUNNABLE);
	assert_int_equal(a->boot_count, 2);
	assert_true(partition_start_step(a, 0)); /* not starting: done */

	/* Its start measured as longer than a window (a slow emulator): it
	 * is refused in a window of 200 us, the estimate shrinks at each
	 * refusal, and it starts within a bounded number of windows. */
	partition_fault(a, "boom");
	fake_expect_serial("partition a restarted (restart 2)");
	a->start_ns = 1000000; /* 1 ms */
	unsigned windows = 0;
	while (!partition_start_step(a, fake_now_ns() + 200000))
		assert_true(++windows < 64);
	assert_true(windows > 0);
	assert_int_equal(a->state, PARTITION_RUNNABLE);
	assert_int_equal(a->boot_count, 3);

	/* A start asked by another partition is logged with its name. */
	assert_int_equal(partition_request_start(b, "ctl"), 0);
	assert_int_equal(b->state, PARTITION_STARTING);
	/* A start asked again while starting starts over. */
	assert_int_equal(partition_request_start(b, "ctl"), 0);
	assert_true(partition_start_step(b, ~0ULL));
	fake_expect_serial("partition b started by partition ctl (boot 2)");
	assert_int_equal(b->stop_reason[0], '\0');

	/* A running partition asked to start is stopped first. */
	assert_int_equal(partition_request_start(b, NULL), 0);
	fake_expect_serial("partition b stopped: restarted");
	assert_true(partition_start_step(b, ~0ULL));

	/* Stop, then exit of a stopped one does nothing. */
	partition_stop(b, "by test");
	assert_int_equal(b->state, PARTITION_STOPPED);
	assert_int_equal(partition_abi_state(b), PARTITA_STATE_STOPPED);
	assert_false(partition_is_live(b));
	/* Exit: EXITED with its code. */
	partition_exit(a, 42, "exited with code 42");
	assert_int_equal(a->state, PARTITION_EXITED);
	assert_int_equal(a->exit_code, 42);
	assert_int_equal(partition_abi_state(a), PARTITA_STATE_EXITED);
	struct partita_partition_info info;
	partition_info(a, &info);
	assert_int_equal(info.exit_code, 42);
	assert_int_equal(info.restarts, 2); /* the two faults above */
	assert_string_equal(info.name, "a");
}

FAKE_TEST(end_of_run_codes)
{
	int code;

	fake_create(pv_two);
	struct partition *a = fake_partition("a"), *b = fake_partition("b");
	assert_false(partitions_all_ended(&code));
	partition_exit(a, 0, "done");
	assert_false(partitions_all_ended(&code));
	partition_exit(b, 0x103, "done");
	assert_true(partitions_all_ended(&code));
	assert_int_equal(code, 3); /* the first non-zero code, 7 bits */
	partition_request_start(b, NULL);
	assert_false(partitions_all_ended(&code)); /* STARTING is not ended */
	partition_start_step(b, ~0ULL);
	partition_fault(b, "x");
	assert_true(partitions_all_ended(&code));
	assert_int_equal(code, HV_EXIT_FAULT);
	partition_stop(a, "x");
	partition_request_start(a, NULL);
	partition_start_step(a, ~0ULL);
	partition_stop(a, "stopped");
	assert_true(partitions_all_ended(&code));
	assert_int_equal(code, HV_EXIT_FAULT);
}

FAKE_TEST(end_on_exit_partition_ends_the_run)
{
	fake_create("[hypervisor]\nend_on_exit = b\n"
		    "[partition a]\nkind = pv\nmemory = 2M\nimage = a.elf\nwindow = 0ms 4ms\n"
		    "[partition b]\nkind = pv\nmemory = 2M\nimage = b.elf\nwindow = 5ms 4ms\n");
	partition_exit(fake_partition("a"), 9, "exited with code 9");
	FAKE_EXPECT_STOP(partition_exit(fake_partition("b"), 0x85, "exited with code 133"));
	assert_int_equal(fake_stop_code, 5);
	fake_expect_serial("run ended: code 5 (the end_on_exit partition exited)");
}

FAKE_TEST(destroy_returns_everything_and_is_final)
{
	u64 before = fake_free_pages();

	fake_create(pv_two);
	struct partition *a = fake_partition("a");
	assert_true(fake_free_pages() < before);
	partition_destroy(a);
	assert_int_equal(a->state, PARTITION_UNUSABLE);
	partition_destroy(a); /* twice: nothing */
	assert_int_equal(partition_request_start(a, NULL), -E_NOTSUP);
	assert_int_equal(partition_request_restart(a, "x"), -E_NOTSUP);
	assert_int_equal(a->restarts, 0);
	partition_signal(a, 1);
	assert_int_equal(a->pending_events, 0);
	partition_wait(fake_partition("b"), 0); /* destroyed while WAITING */
	partition_destroy(fake_partition("b"));
	assert_int_equal(fake_free_pages(), before);
	int code;
	assert_true(partitions_all_ended(&code));
	assert_int_equal(code, 0);
}

/*
 * A creation that fails at its k-th page allocation, for every k until it
 * succeeds: each failure leaves the partition UNUSABLE, names the step, and
 * returns every page; the other partition is made anyway.
 */
FAKE_TEST(failed_creation_unwinds_at_every_step)
{
	const char *conf =
		"[partition a]\nkind = pv\nmemory = 2M\nimage = a.elf\nwindow = 0ms 4ms\n"
		"[partition h]\nkind = hvm\nmemory = 4M\nimage = h.elf\nwindow = 5ms 4ms\n";
	u64 before = fake_free_pages();
	unsigned failures = 0;

	fake_add_pv_image("a.elf");
	fake_add_multiboot_image("h.elf");
	fake_parse(conf, &fake_cfg);
	for (u64 k = 0;; k++) {
		fake_serial_clear();
		fake_alloc_budget = k;
		unsigned started = partitions_create(&fake_cfg, &fake_bi);
		fake_alloc_budget = ~0ULL;
		for (unsigned i = 0; i < partition_count; i++) {
			struct partition *p = &partitions[i];
			if (p->state == PARTITION_UNUSABLE) {
				failures++;
				if (!fake_serial_has("failed: "))
					fail_msg("k=%llu: no step named:\n%s",
						 (unsigned long long)k, fake_serial());
				fake_expect_serial("left stopped");
			}
			partition_destroy(p);
		}
		if (fake_free_pages() != before)
			fail_msg("k=%llu: %lld pages lost\n%s", (unsigned long long)k,
				 (long long)(before - fake_free_pages()), fake_serial());
		if (started == 2)
			break;
		assert_true(k < 100);
	}
	assert_true(failures >= 8);

	/* The vCPU, the last step, failing. */
	fake_serial_clear();
	fake_vcpu_create_fails = true;
	assert_int_equal(partitions_create(&fake_cfg, &fake_bi), 1);
	fake_expect_serial("partition a: creating its vCPU failed");
	for (unsigned i = 0; i < partition_count; i++)
		partition_destroy(&partitions[i]);
	assert_int_equal(fake_free_pages(), before);
}

FAKE_TEST(creation_refusals_name_their_reason)
{
	u64 before = fake_free_pages();

	fake_pci_add(0, 3, 0, 0x8086, 0x100e);
	fake_create(
		"[partition big]\nkind = pv\nmemory = 32G\nimage = a.elf\nwindow = 0ms 1ms\n"
		"[partition noimg]\nkind = hvm\nmemory = 4M\nimage = a.elf\nwindow = 1ms 1ms\n"
		"[partition nodev]\nkind = pv\nmemory = 2M\nimage = a.elf\nwindow = 2ms 1ms\n"
		"device = 00:04.0\n"
		"[partition dev]\nkind = pv\nmemory = 2M\nimage = a.elf\nwindow = 3ms 1ms\n"
		"device = 8086:100e\n"
		"[partition huge]\nkind = pv\nmemory = 128M\nimage = a.elf\nwindow = 4ms 1ms\n");
	fake_expect_serial("partition big: checking its image failed: memory must be between");
	fake_expect_serial("partition noimg: checking its image failed: its image is neither");
	fake_expect_serial("partition nodev: device on config line");
	fake_expect_serial("partition nodev: taking its devices failed");
	/* No IOMMU, not trusted: its device's DMA would reach all memory. */
	fake_expect_serial("partition dev: device 00:03.0 is refused");
	fake_expect_serial("partition huge: allocating its memory failed: not enough contiguous");
	for (unsigned i = 0; i < partition_count; i++) {
		assert_int_equal(partitions[i].state, PARTITION_UNUSABLE);
		partition_destroy(&partitions[i]);
	}
	assert_null(pci_find_id(0x8086, 0x100e)->owner);
	assert_int_equal(fake_free_pages(), before);
}

/* A trusted partition owns a device without an IOMMU; a second partition
 * asking for the same device is refused ("already belongs"). */
FAKE_TEST(devices_are_owned_and_released)
{
	struct pci_device *d = fake_pci_add(0, 3, 0, 0x1af4, 0x1000);

	d->bars[0] = (struct pci_bar){ PCI_BAR_MEM32, 0xfeb00000, 0x1000, false };
	fake_create("[partition a]\nkind = pv\nmemory = 2M\nimage = a.elf\nwindow = 0ms 1ms\n"
		    "device = 00:03.0\ntrusted = yes\n");
	struct partition *a = fake_partition("a");
	assert_int_equal(a->state, PARTITION_RUNNABLE);
	assert_ptr_equal(d->owner, a);
	fake_expect_serial("trusted, it reaches all memory");
	/* Its BAR is mapped at gpa == hpa. */
	u64 pa, flags, size;
	assert_int_equal(pt_lookup(&a->slat.pt, 0xfeb00000, &pa, &flags, &size), 0);
	assert_int_equal(pa, 0xfeb00000);
	/* A stop clears its bus mastering. */
	assert_true(pci_read(d, 4, 2) & 4);
	partition_stop(a, "x");
	assert_false(pci_read(d, 4, 2) & 4);
	partition_destroy(a);
	assert_null(d->owner);
}

/* With an IOMMU, a device's partition gets a domain, freed on destroy. */
FAKE_TEST(devices_behind_an_iommu_get_a_domain)
{
	fake_iommu_present = true;
	fake_pci_add(0, 3, 0, 0x8086, 0x100e);
	fake_create("[partition a]\nkind = pv\nmemory = 2M\nimage = a.elf\nwindow = 0ms 1ms\n"
		    "device = 00:03.0\n");
	struct partition *a = fake_partition("a");
	assert_int_equal(a->state, PARTITION_RUNNABLE);
	assert_int_equal(fake_iommu_domains, 1);
	fake_expect_serial("through the IOMMU (fake IOMMU)");
	assert_int_equal(((struct partita_start_info *)phys_to_virt(a->start_info))->dma_offset, 0);
	partition_destroy(a);
	assert_int_equal(fake_iommu_domains, 0);
}

/*
 * 1,000 restarts, through the real exit path and scheduler: each run of a
 * ends in a triple fault (on_fault = restart), its start is done in its
 * windows, and it runs again.  Every 100th restart comes from the control
 * partition instead, and the hvm partition restarts too.  The page
 * allocator's free count ends exactly where it began.
 */
FAKE_TEST(thousand_restarts_lose_no_page)
{
	fake_create(
		"[hypervisor]\nframe = 2ms\n"
		"[partition a]\nkind = pv\nmemory = 2M\nimage = a.elf\nwindow = 0ms 1ms\n"
		"on_fault = restart\n"
		"[partition h]\nkind = hvm\nmemory = 4M\nimage = h.elf\nwindow = 1ms 500us\n"
		"on_fault = restart\n"
		"[partition ctl]\nkind = pv\nmemory = 2M\nimage = c.elf\nwindow = 1500us 400us\n"
		"caps = control\n"
		"[channel ch]\nbetween = a ctl\nsize = 8K\n");
	struct partition *a = fake_partition("a"), *h = fake_partition("h");
	u64 before = fake_free_pages();

	sched_init(&fake_cfg);
	sched_start();
	for (unsigned i = 1; i <= 1000; i++) {
		if (i % 100 == 0)
			partition_request_start(a, "ctl");
		else
			fake_push_reason(a, VMEXIT_SHUTDOWN, 10000);
		if (i % 10 == 0)
			fake_push_reason(h, VMEXIT_SHUTDOWN, 1000);
		unsigned steps = 0;
		while (a->boot_count != i + 1) {
			sched_step();
			assert_true(++steps < 100000);
		}
		assert_int_equal(a->state, PARTITION_RUNNABLE);
		assert_int_equal(fake_free_pages(), before);
	}
	/* h's faults queued beyond its share of time: let them happen. */
	for (unsigned steps = 0; fake_pending(h) || h->state != PARTITION_RUNNABLE; steps++) {
		sched_step();
		assert_true(steps < 100000);
	}
	assert_int_equal(a->restarts, 990);
	assert_int_equal(a->boot_count, 1001);
	assert_int_equal(h->restarts, 100);
	assert_int_equal(h->boot_count, 101);
	assert_int_equal(fake_free_pages(), before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table_is_the_drawn_life_cycle),
		cmocka_unit_test(allowed_transitions_happen_refused_ones_panic),
		cmocka_unit_test(creation_starts_every_partition),
		cmocka_unit_test(wait_signal_wake_yield),
		cmocka_unit_test(stop_start_fault_exit),
		cmocka_unit_test(end_of_run_codes),
		cmocka_unit_test(end_on_exit_partition_ends_the_run),
		cmocka_unit_test(destroy_returns_everything_and_is_final),
		cmocka_unit_test(failed_creation_unwinds_at_every_step),
		cmocka_unit_test(creation_refusals_name_their_reason),
		cmocka_unit_test(devices_are_owned_and_released),
		cmocka_unit_test(devices_behind_an_iommu_get_a_domain),
		cmocka_unit_test(thousand_restarts_lose_no_page),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
