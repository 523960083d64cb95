/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ticker: shows the cyclic schedule from inside a partition.  It reads the
 * TSC in a tight loop; a jump of more than TICKER_GAP_NS between two reads
 * means the partition was off the CPU, so the second read is the start of one
 * of its windows.  It prints that start against the plan of the start-info
 * page (epoch_ns, frame_ns, its windows):
 *
 *   window 12 start +3001.250 us in frame 6 (planned +3000 us, late 1.250 us)
 *
 * A start that falls in none of its windows prints "FAIL ...", and so does
 * one that is not its next window in time order (windows in between passed
 * without it running).  It prints the first TICKER_LINES starts, and after
 * them every start that is later than all before it ("(latest so far)"), so
 * a summary's maximum can be traced to its window.  After TICKER_LINES
 * window starts it prints a summary:
 *
 *   20 window starts, late min 1.110 us, max 1.250 us, 0 outside its windows, 0 missed
 *
 * With `windows=N` in its config's cmdline (or, by default N = 20, when the
 * partition's name starts with "test"), it prints that summary after N
 * window starts and exits with code 0 (1 if a start fell outside its windows
 * or windows were missed), so a config with `end_on_exit = NAME` ends the
 * run.  Otherwise (the demo) it keeps going and prints the summary after 20
 * starts and again every TICKER_SUMMARY_EVERY.
 *
 * Times: the TSC is converted to the hypervisor's clock (HC_TIME, on which
 * epoch_ns is given) through an anchor taken at start.  The first window (the
 * one the partition boots in) is not counted, as there is no read before it.
 * A print that its window's end cuts (a slow console, an emulator that runs
 * its CPUs in turn) hides the next start inside the print: that start is
 * counted, so the order of windows is still checked, but not timed.
 * A window that directly follows another window of the same partition is not
 * seen as a start (there is no gap) and would count as missed: give the
 * ticker windows with gaps between them.
 */
#include "guests/lib/cpu.h"
#include "guests/lib/guest.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"

#define TICKER_GAP_NS 200000ULL	 /* 200 us off the CPU: a new window */
#define TICKER_EARLY_NS 20000ULL /* a start this much before plan still counts */
#define TICKER_LINES 20
#define TICKER_SUMMARY_EVERY 500

static u64 tsc_hz;
static u64 anchor_ns, anchor_tsc;

/* Pairs a TSC value with HC_TIME: the hypervisor read its clock between the
 * two TSC reads; the tightest of a few tries wins. */
static void anchor_clock(void)
{
	u64 best = ~0ULL;

	for (int i = 0; i < 4; i++) {
		u64 t0 = rdtsc();
		u64 ns = hc_time();
		u64 t1 = rdtsc();
		if (t1 - t0 < best) {
			best = t1 - t0;
			anchor_ns = ns;
			anchor_tsc = t0 + (t1 - t0) / 2;
		}
	}
}

static s64 tsc_to_clock_ns(u64 tsc)
{
	if (tsc >= anchor_tsc)
		return (s64)(anchor_ns + tsc_to_ns(tsc - anchor_tsc, tsc_hz));
	return (s64)(anchor_ns - tsc_to_ns(anchor_tsc - tsc, tsc_hz));
}

/* Prints ns as microseconds with three decimals. */
static void fmt_us(char *buf, size_t size, s64 ns)
{
	u64 a = ns < 0 ? (u64)-ns : (u64)ns;

	snprintf(buf, size, "%s%llu.%03llu", ns < 0 ? "-" : "", (unsigned long long)(a / 1000),
		 (unsigned long long)(a % 1000));
}

struct tally {
	u64 starts;
	u64 outside;
	u64 missed;	   /* windows of its own that passed without a start seen */
	u64 last_instance; /* frame * window_count + rank of the last start */
	u64 timed;	   /* starts whose lateness is known */
	u64 untimed;	   /* starts that passed while it printed */
	s64 late_min, late_max;
};

static void summary(const struct tally *t)
{
	char mn[24], mx[24];

	fmt_us(mn, sizeof(mn), t->late_min);
	fmt_us(mx, sizeof(mx), t->late_max);
	printf("%llu window starts, late min %s us, max %s us, %llu outside its windows, %llu missed\n",
	       (unsigned long long)t->timed, mn, mx, (unsigned long long)t->outside,
	       (unsigned long long)t->missed);
	if (t->untimed)
		printf("%llu more starts passed while it printed: their order checked, not timed\n",
		       (unsigned long long)t->untimed);
}

/* One window start seen at TSC value tsc.  timed: tsc is the first read
 * after the gap; otherwise the start passed while it was printing (its
 * window ended inside the print), so tsc is only some time after it: it
 * counts for the order of windows but not for lateness. */
static void window_start(const struct partita_start_info *si, struct tally *t, u64 tsc, bool print,
			 bool timed)
{
	s64 now = tsc_to_clock_ns(tsc);
	u64 rel = (u64)(now - (s64)si->epoch_ns);
	u64 frame = rel / si->frame_ns, off = rel % si->frame_ns;
	s64 half = (s64)si->frame_ns / 2, best = 0;
	int w_best = -1;
	char at[24], late[24];

	/* The window whose planned start is nearest, across the frame edge. */
	for (unsigned w = 0; w < si->window_count && w < PARTITA_MAX_WINDOWS; w++) {
		s64 d = (s64)off - (s64)si->windows[w].offset_ns;
		if (d < -half)
			d += (s64)si->frame_ns;
		else if (d > half)
			d -= (s64)si->frame_ns;
		if (w_best < 0 || (d < 0 ? -d : d) < (best < 0 ? -best : best)) {
			w_best = (int)w;
			best = d;
		}
	}
	bool inside = w_best >= 0 && best >= -(s64)TICKER_EARLY_NS &&
		      best < (s64)si->windows[w_best].length_ns;
	/* Its windows in time order: a start that is not the next one means
	 * the partition never ran in the windows between. */
	u64 rank = 0, instance = 0;
	for (unsigned w = 0; inside && w < si->window_count && w < PARTITA_MAX_WINDOWS; w++)
		rank += si->windows[w].offset_ns < si->windows[w_best].offset_ns;
	if (inside)
		instance = (u64)((s64)frame + (best < 0 && (s64)off > half ? 1 : 0)) *
				   si->window_count +
			   rank;
	/* A slow print that stayed in the window it started in. */
	if (!timed && inside && t->starts && instance == t->last_instance)
		return;
	t->starts++;
	fmt_us(at, sizeof(at), (s64)off);
	if (!inside) {
		t->outside++;
		printf("FAIL window start at +%s us in frame %llu is in none of its windows\n", at,
		       (unsigned long long)frame);
		return;
	}
	if (t->starts > 1 && instance > t->last_instance + 1) {
		t->missed += instance - t->last_instance - 1;
		printf("FAIL %llu of its windows passed without running before this start\n",
		       (unsigned long long)(instance - t->last_instance - 1));
	}
	t->last_instance = instance;
	if (!timed) {
		t->untimed++;
		return;
	}
	t->timed++;
	bool latest = t->timed > 1 && best > t->late_max;
	if (t->timed == 1 || best < t->late_min)
		t->late_min = best;
	if (t->timed == 1 || best > t->late_max)
		t->late_max = best;
	if (print || latest) {
		fmt_us(late, sizeof(late), best);
		printf("window %llu start +%s us in frame %llu (planned +%llu us, late %s us)%s\n",
		       (unsigned long long)t->starts, at, (unsigned long long)frame,
		       (unsigned long long)(si->windows[w_best].offset_ns / 1000), late,
		       print ? "" : " (latest so far)");
	}
}

/* "windows=N" in the command line: the number of window starts after which
 * it exits; 0 if absent. */
static u64 cmdline_windows(const char *cmdline)
{
	const char *p = cmdline;
	u64 n = 0;

	while (*p && strncmp(p, "windows=", 8))
		p++;
	if (!*p)
		return 0;
	for (p += 8; *p >= '0' && *p <= '9'; p++)
		n = n * 10 + (u64)(*p - '0');
	return n;
}

int guest_main(const struct partita_start_info *si)
{
	u64 exit_after = cmdline_windows(si->cmdline);
	bool test;

	if (!exit_after && !strncmp(si->name, "test", 4))
		exit_after = TICKER_LINES;
	test = exit_after != 0;
	struct tally t = { 0, 0, 0, 0, 0, 0, 0, 0 };
	u64 gap, prev;

	tsc_hz = si->tsc_hz;
	if (!tsc_hz || !si->frame_ns || !si->window_count) {
		printf("FAIL no TSC frequency, frame or windows in the start-info page\n");
		return 1;
	}
	gap = ns_to_tsc(TICKER_GAP_NS, tsc_hz);
	anchor_clock();
	printf("boot %llu: frame %llu us, %u windows, TSC %llu kHz; %s %llu window starts\n",
	       (unsigned long long)si->boot_count, (unsigned long long)(si->frame_ns / 1000),
	       si->window_count, (unsigned long long)(tsc_hz / 1000),
	       test ? "exits after" : "runs forever, summing up every",
	       (unsigned long long)(test ? exit_after : TICKER_SUMMARY_EVERY));

	prev = rdtsc();
	for (;;) {
		u64 now = rdtsc();
		if (now - prev <= gap) {
			prev = now;
			continue;
		}
		window_start(si, &t, now, t.timed < TICKER_LINES, true);
		/* Printing can take longer than the gap (an emulator without
		 * -icount), or be cut by its window's end: then the next start
		 * passed inside the print. */
		u64 after = rdtsc();
		if (after - now > gap)
			window_start(si, &t, after, false, false);
		if (test ? t.timed == exit_after :
			   t.timed == TICKER_LINES || t.timed % TICKER_SUMMARY_EVERY == 0) {
			summary(&t);
			if (test)
				return t.outside || t.missed ? 1 : 0;
		}
		prev = rdtsc();
	}
}
