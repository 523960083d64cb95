/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Helpers shared by the benchmark guests (guests/bench and guests/benchpeer):
 * TSC reads, sorting and summaries of samples, the link between the TSC and
 * the schedule's clock, and the recorder of window starts and ends.
 *
 * Everything is measured in guest TSC cycles.  The hypervisor does not
 * offset the TSC, so the guests and the hypervisor read the same counter;
 * under QEMU with `-icount shift=0` it advances by one per instruction
 * executed by the hypervisor and its guests together, so a cycle count is an
 * instruction count and the figures are the same on every machine.
 *
 * Each guest prints its figures as "key=value" lines that tests/bench.py
 * reads; the console prefixes them with "[partition name]".
 */
#ifndef PARTITA_GUEST_BENCH_H
#define PARTITA_GUEST_BENCH_H

#include "guests/lib/guest.h"

#define NSEC_PER_SEC 1000000000ULL

/* A pause in the TSC seen by a spinning guest longer than this is a time
 * the partition did not run: the end of one of its windows.  It is far above
 * any in-window disturbance (one exit costs hundreds of cycles) and far
 * below a window (hundreds of microseconds). */
#define BENCH_GAP_MIN 20000ULL

/* Window starts recorded by each guest. */
#define BENCH_WINDOWS 100

static inline u64 bench_rdtsc(void)
{
	u32 lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

/* Intel's CPUs take vmcall, AMD's vmmcall (CPUID 0: "GenuineIntel"). */
static inline bool bench_cpu_is_intel(void)
{
	u32 eax = 0, ebx, ecx, edx;

	asm volatile("cpuid" : "+a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx));
	return ebx == 0x756e6547;
}

/* Shell sort: O(n^1.3) with these gaps, enough for ten thousand samples. */
static inline void bench_sort(s64 *v, unsigned n)
{
	static const unsigned gaps[] = { 4071, 1750, 701, 301, 132, 57, 23, 10, 4, 1 };

	for (unsigned g = 0; g < ARRAY_SIZE(gaps); g++) {
		unsigned gap = gaps[g];
		for (unsigned i = gap; i < n; i++) {
			s64 x = v[i];
			unsigned j = i;
			for (; j >= gap && v[j - gap] > x; j -= gap)
				v[j] = v[j - gap];
			v[j] = x;
		}
	}
}

struct bench_summary {
	s64 min, median, max;
	unsigned n;
};

/* Sorts v and summarises it (the median of an even count is the lower one). */
static inline struct bench_summary bench_summarize(s64 *v, unsigned n)
{
	struct bench_summary s = { 0, 0, 0, n };

	if (!n)
		return s;
	bench_sort(v, n);
	s.min = v[0];
	s.median = v[(n - 1) / 2];
	s.max = v[n - 1];
	return s;
}

static inline void bench_print(const char *what, const char *key, struct bench_summary s)
{
	printf("%s %s_min=%lld %s_median=%lld %s_max=%lld %s_n=%u\n", what, key, (long long)s.min,
	       key, (long long)s.median, key, (long long)s.max, key, s.n);
}

/* ns * hz / 1e9 and back, split so that neither product overflows. */
static inline u64 bench_ns_to_tsc(u64 ns, u64 hz)
{
	return (ns / NSEC_PER_SEC) * hz + (ns % NSEC_PER_SEC) * hz / NSEC_PER_SEC;
}

static inline u64 bench_tsc_to_ns(u64 t, u64 hz)
{
	return (t / hz) * NSEC_PER_SEC + (t % hz) * NSEC_PER_SEC / hz;
}

/*
 * The TSC value at which HC_TIME's clock read 0, so that a planned time of
 * the schedule can be turned into a TSC value.  HC_TIME reads the TSC at
 * some point between the guest's two reads around the call: t0 - ns is a
 * lower bound of the origin, too low by the instructions from the guest's
 * first read to the hypervisor's (part of one hypercall).  The best of a
 * few tries is kept, and the width of the bracket is returned in *slack.
 */
static inline u64 bench_clock_origin(u64 hz, u64 *slack)
{
	u64 best = 0, width = ~0ULL;

	for (int i = 0; i < 16; i++) {
		u64 t0 = bench_rdtsc();
		u64 ns = hc_time();
		u64 t1 = bench_rdtsc();
		u64 origin = t0 - bench_ns_to_tsc(ns, hz);
		if (origin > best)
			best = origin;
		if (t1 - t0 < width)
			width = t1 - t0;
	}
	*slack = width;
	return best;
}

/* One of this partition's windows as it ran: first and last TSC seen. */
struct bench_window {
	u64 first, last;
};

/*
 * Spins reading the TSC and records count whole windows of this partition:
 * the first window starts after the first pause (the rest of the current
 * window is skipped), and w[count].first is the start of the window after
 * the last.  The loop does nothing but read the TSC, so the partition runs
 * until the hypervisor's timer takes the CPU away.
 */
static inline void bench_record_windows(struct bench_window *w, unsigned count)
{
	u64 prev = bench_rdtsc(), now;
	unsigned n = 0;

	for (;;) {
		now = bench_rdtsc();
		if (now - prev > BENCH_GAP_MIN)
			break;
		prev = now;
	}
	w[0].first = now;
	prev = now;
	while (n < count) {
		now = bench_rdtsc();
		if (now - prev > BENCH_GAP_MIN) {
			w[n].last = prev;
			w[++n].first = now;
		}
		prev = now;
	}
}

/*
 * The planned start (a TSC value) of this partition's window nearest to
 * TSC value t, and that window's planned length in *len_tsc.  The schedule
 * comes from the start-info page: frame k starts at epoch_ns + k * frame_ns
 * on HC_TIME's clock, whose origin on the TSC is origin.
 */
static inline u64 bench_planned_start(const struct partita_start_info *si, u64 origin, u64 t,
				      u64 *len_tsc)
{
	u64 hz = si->tsc_hz;
	s64 ns = (s64)bench_tsc_to_ns(t - origin, hz);
	s64 frame = (s64)si->frame_ns, epoch = (s64)si->epoch_ns;
	s64 k = (ns - epoch) / frame;
	s64 best = 0, best_dist = -1;
	u64 best_len = 0;

	for (s64 kk = k - 1; kk <= k + 1; kk++) {
		for (u32 i = 0; i < si->window_count && i < PARTITA_MAX_WINDOWS; i++) {
			s64 planned = epoch + kk * frame + (s64)si->windows[i].offset_ns;
			s64 dist = ns > planned ? ns - planned : planned - ns;
			if (planned >= 0 && (best_dist < 0 || dist < best_dist)) {
				best = planned;
				best_dist = dist;
				best_len = si->windows[i].length_ns;
			}
		}
	}
	*len_tsc = bench_ns_to_tsc(best_len, hz);
	return origin + bench_ns_to_tsc((u64)best, hz);
}

static s64 bench_late[BENCH_WINDOWS], bench_early[BENCH_WINDOWS];
static s64 bench_span[BENCH_WINDOWS], bench_gap[BENCH_WINDOWS];

/*
 * Records BENCH_WINDOWS windows and prints one line "windows ..." with, per
 * window: late (first TSC seen minus planned start), early (planned end
 * minus last TSC seen), span (last minus first: the time this guest ran)
 * and gap (from its last instruction in a window to its first in the next).
 * late and early depend on the clock origin (see bench_clock_origin); span
 * and gap do not.
 */
static inline void bench_windows(const struct partita_start_info *si, u64 origin, u64 slack)
{
	static struct bench_window w[BENCH_WINDOWS + 1];

	bench_record_windows(w, BENCH_WINDOWS);
	for (unsigned i = 0; i < BENCH_WINDOWS; i++) {
		u64 len;
		u64 planned = bench_planned_start(si, origin, w[i].first, &len);
		bench_late[i] = (s64)(w[i].first - planned);
		bench_early[i] = (s64)(planned + len - w[i].last);
		bench_span[i] = (s64)(w[i].last - w[i].first);
		bench_gap[i] = (s64)(w[i + 1].first - w[i].last);
	}
	printf("windows origin_slack=%llu", (unsigned long long)slack);
	bench_print("", "late", bench_summarize(bench_late, BENCH_WINDOWS));
	/* bench_print ends the line; the other summaries get lines of their own. */
	bench_print("windows", "early", bench_summarize(bench_early, BENCH_WINDOWS));
	bench_print("windows", "span", bench_summarize(bench_span, BENCH_WINDOWS));
	bench_print("windows", "gap", bench_summarize(bench_gap, BENCH_WINDOWS));
}

#endif
