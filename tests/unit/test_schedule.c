/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the cyclic schedule tables (kernel/schedule.c), built from
 * configs parsed by the real parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/config.h"
#include "kernel/schedule.h"

static struct config cfg;
static struct schedule s;

static void parse(const char *text)
{
	struct config_error err;
	int rc = config_parse(text, strlen(text), "test.conf", &cfg, &err);
	if (rc == 0)
		rc = config_check(&cfg, "test.conf", &err);
	if (rc)
		fail_msg("config refused: %u: %s", err.line, err.reason);
}

#define MS 1000000ULL

static const char *three =
	"[hypervisor]\nframe = 10ms\n"
	"[partition a]\nkind = pv\nmemory = 4M\nimage = a.elf\nwindow = 5ms 2ms\n"
	"[partition b]\nkind = pv\nmemory = 4M\nimage = b.elf\nwindow = 0ms 3ms\nwindow = 8ms 1ms\n"
	"[partition c]\nkind = pv\nmemory = 4M\nimage = c.elf\ncpu = 1\nwindow = 0ms 9ms\n";

static void builds_sorted_windows_of_one_cpu(void **state)
{
	(void)state;
	parse(three);
	schedule_build(&cfg, 0, &s);
	assert_int_equal(s.frame_ns, 10 * MS);
	assert_int_equal(s.window_count, 3);
	assert_int_equal(s.windows[0].offset_ns, 0);
	assert_int_equal(s.windows[0].partition, 1);
	assert_int_equal(s.windows[1].offset_ns, 5 * MS);
	assert_int_equal(s.windows[1].partition, 0);
	assert_int_equal(s.windows[2].offset_ns, 8 * MS);
	schedule_build(&cfg, 1, &s);
	assert_int_equal(s.window_count, 1);
	assert_int_equal(s.windows[0].partition, 2);
	schedule_build(&cfg, 2, &s);
	assert_int_equal(s.window_count, 0);
}

static void lookup_inside_windows_and_idle_gaps(void **state)
{
	u64 frame, next;
	(void)state;
	parse(three);
	schedule_build(&cfg, 0, &s);

	assert_int_equal(schedule_lookup(&s, 0, &frame, &next), 0);
	assert_int_equal(frame, 0);
	assert_int_equal(next, 3 * MS);
	assert_int_equal(schedule_lookup(&s, 3 * MS - 1, &frame, &next), 0);
	/* the end of a window is exclusive: idle until b's next window */
	assert_int_equal(schedule_lookup(&s, 3 * MS, &frame, &next), -1);
	assert_int_equal(next, 5 * MS);
	assert_int_equal(schedule_lookup(&s, 6 * MS, &frame, &next), 1);
	assert_int_equal(next, 7 * MS);
	assert_int_equal(schedule_lookup(&s, 8 * MS + 5, &frame, &next), 2);
	assert_int_equal(next, 9 * MS);
	/* idle at the end of the frame: next change is the next frame's first window */
	assert_int_equal(schedule_lookup(&s, 9 * MS + 1, &frame, &next), -1);
	assert_int_equal(next, 10 * MS);
}

static void lookup_in_later_frames(void **state)
{
	u64 frame, next;
	(void)state;
	parse(three);
	schedule_build(&cfg, 0, &s);
	assert_int_equal(schedule_lookup(&s, 123 * 10 * MS + 5 * MS, &frame, &next), 1);
	assert_int_equal(frame, 123);
	assert_int_equal(next, 123 * 10 * MS + 7 * MS);
}

static void first_window_not_at_zero(void **state)
{
	u64 frame, next;
	(void)state;
	parse("[hypervisor]\nframe = 4ms\n[partition a]\nkind = pv\nmemory = 4M\n"
	      "image = a.elf\nwindow = 1ms 1ms\n");
	schedule_build(&cfg, 0, &s);
	assert_int_equal(schedule_lookup(&s, 0, &frame, &next), -1);
	assert_int_equal(next, 1 * MS);
	assert_int_equal(schedule_lookup(&s, 3 * MS, &frame, &next), -1);
	assert_int_equal(next, 5 * MS); /* the next frame's window at 4+1 ms */
}

static void empty_schedule_is_all_idle(void **state)
{
	u64 frame, next;
	(void)state;
	parse(three);
	schedule_build(&cfg, 5, &s);
	assert_int_equal(schedule_lookup(&s, 15 * MS, &frame, &next), -1);
	assert_int_equal(frame, 1);
	assert_int_equal(next, 20 * MS);
}

static void windows_filling_the_frame_leave_no_idle(void **state)
{
	u64 frame, next;
	(void)state;
	parse("[hypervisor]\nframe = 2ms\n"
	      "[partition a]\nkind = pv\nmemory = 4M\nimage = a.elf\nwindow = 0ms 1ms\n"
	      "[partition b]\nkind = pv\nmemory = 4M\nimage = b.elf\nwindow = 1ms 1ms\n");
	schedule_build(&cfg, 0, &s);
	for (u64 t = 0; t < 20 * MS; t += 250000) {
		int w = schedule_lookup(&s, t, &frame, &next);
		assert_true(w >= 0);
		assert_true(next > t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(builds_sorted_windows_of_one_cpu),
		cmocka_unit_test(lookup_inside_windows_and_idle_gaps),
		cmocka_unit_test(lookup_in_later_frames),
		cmocka_unit_test(first_window_not_at_zero),
		cmocka_unit_test(empty_schedule_is_all_idle),
		cmocka_unit_test(windows_filling_the_frame_leave_no_idle),
	};
	return cmocka_run_group_tests_name("schedule", tests, NULL, NULL);
}
