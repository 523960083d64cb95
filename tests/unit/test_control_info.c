/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Host unit tests of the pure parts of kernel/control_info.c: the schedule
 * of every CPU as HC_SCHEDULE_INFO gives it (from a parsed config), and the
 * lateness buckets (sum, count, worst start of the last whole second).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "kernel/config.h"
#include "kernel/control_info.h"
#include "kernel/lateness.h"

#define S 1000000000ULL
#define MS 1000000ULL

static struct config cfg;
static struct partita_schedule_info info;

static void parse(const char *text)
{
	struct config_error err;

	if (config_parse(text, strlen(text), "t.conf", &cfg, &err) ||
	    config_check(&cfg, "t.conf", &err))
		fail_msg("refused: line %u: %s", err.line, err.reason);
}

static void test_schedule_sorted_by_cpu_and_offset(void **state)
{
	(void)state;
	parse("[hypervisor]\nframe = 10ms\n"
	      "[partition a]\nkind = pv\nmemory = 2M\nimage = a\ncpu = 1\n"
	      "window = 5ms 1ms\nwindow = 0ms 2ms\n"
	      "[partition b]\nkind = pv\nmemory = 2M\nimage = b\n"
	      "window = 6ms 4ms\n"
	      "[partition c]\nkind = pv\nmemory = 2M\nimage = c\n"
	      "window = 1ms 2ms\n"
	      "[partition d]\nkind = pv\nmemory = 2M\nimage = d\ncpu = 1\n"
	      "window = 2ms 3ms\n");
	memset(&info, 0xa5, sizeof(info));
	control_info_fill_schedule(&cfg, &info);
	assert_int_equal(info.frame_ns, 10 * MS);
	assert_int_equal(info.window_count, 5);
	static const struct {
		uint32_t cpu, partition;
		uint64_t offset, length;
	} want[] = {
		{ 0, 2, 1 * MS, 2 * MS }, { 0, 1, 6 * MS, 4 * MS }, { 1, 0, 0, 2 * MS },
		{ 1, 3, 2 * MS, 3 * MS }, { 1, 0, 5 * MS, 1 * MS },
	};
	for (unsigned i = 0; i < 5; i++) {
		assert_int_equal(info.windows[i].cpu, want[i].cpu);
		assert_int_equal(info.windows[i].partition, want[i].partition);
		assert_int_equal(info.windows[i].offset_ns, want[i].offset);
		assert_int_equal(info.windows[i].length_ns, want[i].length);
	}
}

static void test_schedule_full(void **state)
{
	static char text[16384];
	size_t n = 0;

	(void)state;
	n += (size_t)snprintf(text + n, sizeof(text) - n, "[hypervisor]\nframe = 1s\n");
	for (int p = 0; p < CONFIG_MAX_PARTITIONS; p++) {
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "[partition p%d]\nkind = pv\nmemory = 2M\nimage = x\n", p);
		for (int w = CONFIG_MAX_WINDOWS - 1; w >= 0; w--)
			n += (size_t)snprintf(text + n, sizeof(text) - n, "window = %dms 1ms\n",
					      (p * CONFIG_MAX_WINDOWS + w) * 2);
	}
	parse(text);
	control_info_fill_schedule(&cfg, &info);
	assert_int_equal(info.window_count, PARTITA_SCHEDULE_MAX_WINDOWS);
	for (unsigned i = 0; i < info.window_count; i++) {
		assert_int_equal(info.windows[i].offset_ns, 2 * i * MS);
		assert_int_equal(info.windows[i].partition, i / CONFIG_MAX_WINDOWS);
	}
}

static void test_lateness_buckets(void **state)
{
	struct lateness l = { 0 };
	struct partita_partition_counters out;

	(void)state;
	lateness_report(&l, 5 * S, &out);
	assert_int_equal(out.late_starts, 0);
	assert_int_equal(out.late_max_last_s_ns, 0);

	lateness_note(&l, 100, 10 * S + 1);
	lateness_note(&l, 300, 10 * S + 2);
	lateness_note(&l, 200, 10 * S + 3);
	/* Within second 10: its worst is not complete yet; second 9 had none. */
	lateness_report(&l, 10 * S + 4, &out);
	assert_int_equal(out.late_sum_ns, 600);
	assert_int_equal(out.late_starts, 3);
	assert_int_equal(out.late_max_last_s_ns, 0);
	/* In second 11, the last whole second is 10. */
	lateness_report(&l, 11 * S, &out);
	assert_int_equal(out.late_max_last_s_ns, 300);
	/* A start in second 11 moves second 10 to prev. */
	lateness_note(&l, 50, 11 * S + 7);
	lateness_report(&l, 11 * S + 8, &out);
	assert_int_equal(out.late_max_last_s_ns, 300);
	assert_int_equal(out.late_starts, 4);
	lateness_report(&l, 12 * S, &out);
	assert_int_equal(out.late_max_last_s_ns, 50);
	/* Two seconds later nothing is recent. */
	lateness_report(&l, 13 * S, &out);
	assert_int_equal(out.late_max_last_s_ns, 0);
	/* A gap of seconds: prev is the empty second before. */
	lateness_note(&l, 70, 20 * S);
	lateness_report(&l, 20 * S + 1, &out);
	assert_int_equal(out.late_max_last_s_ns, 0);
	lateness_report(&l, 21 * S + 1, &out);
	assert_int_equal(out.late_max_last_s_ns, 70);
	assert_int_equal(out.late_sum_ns, 720);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schedule_sorted_by_cpu_and_offset),
		cmocka_unit_test(test_schedule_full),
		cmocka_unit_test(test_lateness_buckets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
