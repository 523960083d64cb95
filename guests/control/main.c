/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * control: exercises the control hypercalls (HC_PARTITION_LIST, _STATS,
 * HC_CONSOLE_READ, HC_PARTITION_CTL) from a partition, and ends with exit
 * code 0 if every check passed, 1 otherwise (for `end_on_exit = NAME`).
 *
 * With the `control` capability: lists the partitions; picks a target, the
 * partition named "spin" or else the first other running one; reads its
 * statistics twice a few windows apart (its windows and CPU time must grow);
 * reads the console of a partition named "hello" if there is one (it must
 * contain "hello from"); stops the target (state stopped, windows no longer
 * grow), starts it (boot count + 1), restarts it (restart count + 1); checks
 * the error returns: bad id (-PARTITA_E_NOENT), bad op (-PARTITA_E_INVAL), itself (-PARTITA_E_INVAL),
 * start of a running partition (-PARTITA_E_BUSY), bad buffers (-PARTITA_E_FAULT).
 *
 * Without the capability: every control call must fail with -PARTITA_E_PERM.
 *
 * Each check prints "ok: ..." or "FAIL file:line: ...".
 */
#include "guests/lib/guest.h"
#include "kernel/lib/string.h"

#define MAX_PARTS 16

static unsigned failures;

static void check(bool ok, const char *what, long got, const char *file, int line)
{
	if (ok) {
		printf("ok: %s (%ld)\n", what, got);
		return;
	}
	failures++;
	printf("FAIL %s:%d: %s (got %ld)\n", file, line, what, got);
}
#define CHECK(cond, what, got) check((cond), (what), (long)(got), __FILE__, __LINE__)

static const char *state_name(u32 s)
{
	static const char *const names[] = { "stopped", "running", "waiting", "faulted", "exited" };

	return s < ARRAY_SIZE(names) ? names[s] : "?";
}

static struct partita_partition_info parts[MAX_PARTS];

static long list(void)
{
	return hc_call_whole(HC_PARTITION_LIST, (long)parts, MAX_PARTS, 0, 0);
}

static long stats(u32 id, struct partita_partition_stats *st)
{
	return hc_call(HC_PARTITION_STATS, id, (long)st, 0, 0, 0);
}

static long ctl(u32 id, long op)
{
	return hc_call(HC_PARTITION_CTL, id, op, 0, 0, 0);
}

/* Gives up a few windows, so other partitions run meanwhile. */
static void pass_windows(unsigned n)
{
	while (n--)
		hc_yield();
}

static int without_capability(const struct partita_start_info *si)
{
	struct partita_partition_stats st;
	char buf[16];

	printf("no control capability: every control call must fail\n");
	CHECK(!(si->flags & PARTITA_FEATURE_CONTROL), "start info shows no control capability",
	      si->flags);
	CHECK(hc_call_whole(HC_PARTITION_LIST, 0, 0, 0, 0) == -PARTITA_E_PERM,
	      "partition list count: -E_PERM", hc_call_whole(HC_PARTITION_LIST, 0, 0, 0, 0));
	CHECK(list() == -PARTITA_E_PERM, "partition list: -E_PERM", list());
	CHECK(stats(0, &st) == -PARTITA_E_PERM, "partition stats: -E_PERM", stats(0, &st));
	CHECK(hc_call_whole(HC_CONSOLE_READ, 0, (long)buf, sizeof(buf), 0) == -PARTITA_E_PERM,
	      "console read: -E_PERM",
	      hc_call_whole(HC_CONSOLE_READ, 0, (long)buf, sizeof(buf), 0));
	for (u32 id = 0; id < 4; id++)
		if (id != si->partition_id)
			CHECK(ctl(id, PARTITION_CTL_RESTART) == -PARTITA_E_PERM,
			      "partition restart of another: -E_PERM",
			      ctl(id, PARTITION_CTL_RESTART));
	CHECK(ctl(999, PARTITION_CTL_STOP) == -PARTITA_E_PERM, "partition stop of bad id: -E_PERM",
	      ctl(999, PARTITION_CTL_STOP));
	printf("%s: %u failures\n", failures ? "FAIL" : "done", failures);
	return failures ? 1 : 0;
}

int guest_main(const struct partita_start_info *si)
{
	struct partita_partition_stats st0, st1;
	static char con[512];
	long n, r;
	int target = -1, hello = -1;

	if (!(si->flags & PARTITA_FEATURE_CONTROL))
		return without_capability(si);

	n = hc_call_whole(HC_PARTITION_LIST, 0, 0, 0, 0);
	CHECK(n >= 2 && n <= MAX_PARTS, "partition count", n);
	r = list();
	CHECK(r == n, "partition list returns them all", r);
	for (long i = 0; i < r && i < MAX_PARTS; i++) {
		const struct partita_partition_info *p = &parts[i];
		printf("partition %u %s: %s, %llu KiB, caps %#x, restarts %u, exit code %lld\n",
		       p->id, p->name, state_name(p->state),
		       (unsigned long long)(p->mem_size >> 10), p->caps, p->restarts,
		       (long long)p->exit_code);
		if (p->id == si->partition_id)
			continue;
		if (!strcmp(p->name, "hello"))
			hello = (int)p->id;
		if (!strcmp(p->name, "spin") || (target < 0 && p->state == PARTITA_STATE_RUNNING))
			target = (int)p->id;
	}
	CHECK(r > 0 && parts[si->partition_id].id == si->partition_id &&
		      !strcmp(parts[si->partition_id].name, si->name) &&
		      parts[si->partition_id].caps,
	      "the list shows this partition with a capability", parts[si->partition_id].caps);
	CHECK(list() == r && hc_call_whole(HC_PARTITION_LIST, (long)parts, 1, 0, 0) == 1,
	      "partition list with room for one writes one", 1);
	CHECK(hc_call_whole(HC_PARTITION_LIST, 0x1000, MAX_PARTS, 0, 0) == -PARTITA_E_FAULT,
	      "partition list into the start-info page: -E_FAULT", -PARTITA_E_FAULT);
	if (target < 0) {
		printf("FAIL no other running partition to control\n");
		return 1;
	}
	printf("target: partition %d %s\n", target, parts[target].name);

	/* Statistics grow while the target runs. */
	CHECK(stats((u32)target, &st0) == 0, "partition stats of the target", 0);
	pass_windows(3);
	CHECK(stats((u32)target, &st1) == 0, "partition stats again", 0);
	printf("stats of %s: %llu windows, %llu us of CPU, %llu exits by hypercall, worst start "
	       "%llu ns late, %llu console bytes\n",
	       parts[target].name, (unsigned long long)st1.windows,
	       (unsigned long long)(st1.cpu_time_ns / 1000),
	       (unsigned long long)st1.exits[PARTITA_EXIT_HYPERCALL],
	       (unsigned long long)st1.max_start_late_ns, (unsigned long long)st1.console_bytes);
	CHECK(st1.windows > st0.windows, "its windows grow", st1.windows - st0.windows);
	CHECK(st1.cpu_time_ns > st0.cpu_time_ns, "its CPU time grows",
	      (st1.cpu_time_ns - st0.cpu_time_ns) / 1000);
	CHECK(stats(999, &st0) == -PARTITA_E_NOENT, "stats of bad id 999: -E_NOENT",
	      stats(999, &st0));
	CHECK(stats((u32)target, NULL) == -PARTITA_E_FAULT, "stats into gpa 0: -E_FAULT",
	      stats((u32)target, NULL));
	CHECK(stats((u32)target, (void *)(si->mem_size - 8)) == -PARTITA_E_FAULT,
	      "stats running past the end of its memory: -E_FAULT",
	      stats((u32)target, (void *)(si->mem_size - 8)));

	/* Another partition's console. */
	if (hello >= 0) {
		n = hc_call_whole(HC_CONSOLE_READ, hello, (long)con, sizeof(con) - 1, 0);
		CHECK(n > 0 && n < (long)sizeof(con), "console read of hello", n);
		if (n > 0 && n < (long)sizeof(con)) {
			bool found = false;
			con[n] = '\0';
			for (long i = 0; i + 10 <= n && !found; i++)
				found = !strncmp(con + i, "hello from", 10);
			CHECK(found, "hello's console holds 'hello from'", n);
		}
	}
	n = hc_call_whole(HC_CONSOLE_READ, target, (long)con, 64, 0);
	CHECK(n >= 0 && n <= 64, "console read of the target, at most 64 bytes", n);
	n = hc_call_whole(HC_CONSOLE_READ, 999, (long)con, 64, 0);
	CHECK(n == -PARTITA_E_NOENT, "console read of bad id 999: -E_NOENT", n);
	n = hc_call_whole(HC_CONSOLE_READ, target, 0, 64, 0);
	CHECK(n == -PARTITA_E_FAULT, "console read into gpa 0: -E_FAULT", n);
	n = hc_call_whole(HC_CONSOLE_READ, target, (long)(si->mem_size - 8), 64, 0);
	CHECK(n == -PARTITA_E_FAULT, "console read past the end of its memory: -E_FAULT", n);

	/* Error returns of HC_PARTITION_CTL. */
	CHECK(ctl(999, PARTITION_CTL_STOP) == -PARTITA_E_NOENT, "ctl of bad id 999: -E_NOENT",
	      ctl(999, PARTITION_CTL_STOP));
	CHECK(ctl((u32)target, 0) == -PARTITA_E_INVAL, "ctl with op 0: -E_INVAL",
	      ctl((u32)target, 0));
	CHECK(ctl((u32)target, 77) == -PARTITA_E_INVAL, "ctl with op 77: -E_INVAL",
	      ctl((u32)target, 77));
	CHECK(ctl(si->partition_id, PARTITION_CTL_RESTART) == -PARTITA_E_INVAL,
	      "ctl restart of itself: -E_INVAL", ctl(si->partition_id, PARTITION_CTL_RESTART));
	CHECK(ctl(si->partition_id, PARTITION_CTL_STOP) == -PARTITA_E_INVAL,
	      "ctl stop of itself: -E_INVAL", ctl(si->partition_id, PARTITION_CTL_STOP));
	CHECK(ctl((u32)target, PARTITION_CTL_START) == -PARTITA_E_BUSY,
	      "ctl start of a running partition: -E_BUSY", ctl((u32)target, PARTITION_CTL_START));

	/* Stop: it no longer runs. */
	list();
	u32 restarts0 = parts[target].restarts;
	CHECK(ctl((u32)target, PARTITION_CTL_STOP) == 0, "ctl stop of the target", 0);
	list();
	CHECK(parts[target].state == PARTITA_STATE_STOPPED, "the target is stopped",
	      parts[target].state);
	stats((u32)target, &st0);
	pass_windows(3);
	stats((u32)target, &st1);
	CHECK(st1.cpu_time_ns == st0.cpu_time_ns, "a stopped target gets no CPU time",
	      st1.cpu_time_ns - st0.cpu_time_ns);
	CHECK(ctl((u32)target, PARTITION_CTL_STOP) == 0, "ctl stop of a stopped partition: 0",
	      ctl((u32)target, PARTITION_CTL_STOP));

	/* Start: it runs again, from its image. */
	CHECK(ctl((u32)target, PARTITION_CTL_START) == 0, "ctl start of the target", 0);
	list();
	CHECK(parts[target].state == PARTITA_STATE_RUNNING, "the target runs again",
	      parts[target].state);
	/* A start first clears the target's memory in the target's own
	 * windows, which can take a few of them (under -icount, 2 MiB is ~8 ms
	 * of emulated time): wait up to 50 of ours for it to run. */
	stats((u32)target, &st0);
	for (unsigned i = 0; i < 50; i++) {
		pass_windows(1);
		stats((u32)target, &st1);
		if (st1.cpu_time_ns > st0.cpu_time_ns)
			break;
	}
	CHECK(st1.cpu_time_ns > st0.cpu_time_ns, "a started target gets CPU time again",
	      (st1.cpu_time_ns - st0.cpu_time_ns) / 1000);

	/* Restart: its restart count rises. */
	CHECK(ctl((u32)target, PARTITION_CTL_RESTART) == 0, "ctl restart of the target", 0);
	list();
	CHECK(parts[target].restarts == restarts0 + 1, "its restart count rose by one",
	      parts[target].restarts);
	CHECK(parts[target].state == PARTITA_STATE_RUNNING, "the target runs after the restart",
	      parts[target].state);
	pass_windows(2);

	printf("%s: %u failures\n", failures ? "FAIL" : "all control checks passed", failures);
	return failures ? 1 : 0;
}
