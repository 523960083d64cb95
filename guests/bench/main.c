/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench: the benchmark guest of `make bench` (tests/bench.py, configs in
 * tests/bench/).  It measures, in guest TSC cycles, the round trip of a null
 * hypercall (HC_VERSION), of a CPUID exit (the hypervisor's own leaf
 * 0x40000000) and of an I/O exit (OUT and IN on the POST port 0x80), each
 * as many single samples bracketed by two TSC reads, less the median cost of
 * the two reads alone.  A sample that a window end interrupted is an outlier
 * at the top; the minimum and the median are what count.
 *
 * Then it restarts its peer partition (benchpeer, in the windows right after
 * its own), so that both record their windows at the same time: each
 * prints when its windows really started and ended, from which
 * tests/bench.py computes the cost of a window switch and the jitter of
 * window starts.  Last it prints the hypervisor's own statistics of both
 * partitions and ends; the config's end_on_exit ends the run.
 *
 * Needs the `control` capability (partition list, restart, statistics).
 */
#include "guests/bench/bench.h"
#include "kernel/lib/string.h"

#define SAMPLES 10000
#define PEER_NAME "benchpeer"

static s64 samples[SAMPLES];
static bool intel;

enum op { OP_NONE, OP_VMMCALL, OP_VMCALL, OP_CPUID, OP_OUT, OP_IN };

/* One sample: the TSC around one operation.  Inlined into run_samples with
 * op a constant, so each loop is the same few instructions. */
static inline __attribute__((always_inline)) u64 sample(enum op op)
{
	u64 t0, t1;
	u32 a, b, c, d;

	t0 = bench_rdtsc();
	switch (op) {
	case OP_NONE:
		break;
	/* HC_VERSION in RAX; the ABI preserves every other register. */
	case OP_VMMCALL:
		asm volatile("vmmcall" : "=a"(a) : "a"(HC_VERSION) : "memory");
		break;
	case OP_VMCALL:
		asm volatile("vmcall" : "=a"(a) : "a"(HC_VERSION) : "memory");
		break;
	case OP_CPUID:
		asm volatile("cpuid"
			     : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
			     : "a"(PARTITA_CPUID_BASE), "c"(0));
		break;
	case OP_OUT:
		asm volatile("outb %%al, $0x80" : : "a"(0) : "memory");
		break;
	case OP_IN:
		asm volatile("inb $0x80, %%al" : "=a"(a) : "a"(0) : "memory");
		break;
	}
	t1 = bench_rdtsc();
	return t1 - t0;
}

static void run_samples(enum op op)
{
	switch (op) {
#define LOOP(o)                                        \
	case o:                                        \
		for (unsigned i = 0; i < SAMPLES; i++) \
			samples[i] = (s64)sample(o);   \
		break
		LOOP(OP_NONE);
		LOOP(OP_VMMCALL);
		LOOP(OP_VMCALL);
		LOOP(OP_CPUID);
		LOOP(OP_OUT);
		LOOP(OP_IN);
#undef LOOP
	}
}

/* Measures op; prints "NAME min=.. median=.. max=.. n=.. less=BASE". */
static void measure(const char *name, enum op op, s64 base)
{
	struct bench_summary s;

	run_samples(op);
	for (unsigned i = 0; i < SAMPLES; i++)
		samples[i] -= base;
	s = bench_summarize(samples, SAMPLES);
	printf("%s min=%lld median=%lld max=%lld n=%u less=%lld\n", name, (long long)s.min,
	       (long long)s.median, (long long)s.max, s.n, (long long)base);
}

/* The check of what the exits return: the hypervisor's signature and the
 * all-ones of port 0x80. */
static void check_exits(void)
{
	u32 a, b, c, d;
	u8 v;

	GUEST_ASSERT(hc_version() == PARTITA_ABI_VERSION);
	asm volatile("cpuid"
		     : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
		     : "a"(PARTITA_CPUID_BASE), "c"(0));
	GUEST_ASSERT(b == 0x74726150); /* "Part" */
	asm volatile("inb $0x80, %%al" : "=a"(v));
	GUEST_ASSERT(v == 0xff);
}

static struct partita_partition_info infos[16];

static long find_peer(void)
{
	long n = hc_call(HC_PARTITION_LIST, (long)(uintptr_t)infos, ARRAY_SIZE(infos), 0, 0, 0);

	for (long i = 0; i < n; i++)
		if (!strcmp(infos[i].name, PEER_NAME))
			return infos[i].id;
	return -1;
}

static u32 peer_state(long id)
{
	long n = hc_call(HC_PARTITION_LIST, (long)(uintptr_t)infos, ARRAY_SIZE(infos), 0, 0, 0);

	return id < n ? infos[id].state : PARTITA_STATE_STOPPED;
}

static void print_stats(long id, const char *name)
{
	struct partita_partition_stats st;

	GUEST_ASSERT(hc_call(HC_PARTITION_STATS, id, (long)(uintptr_t)&st, 0, 0, 0) == 0);
	printf("hv_stats partition=%s windows=%llu max_start_late_ns=%llu exits_hypercall=%llu "
	       "exits_cpuid=%llu exits_io=%llu exits_intr=%llu exits_hlt=%llu\n",
	       name, (unsigned long long)st.windows, (unsigned long long)st.max_start_late_ns,
	       (unsigned long long)st.exits[PARTITA_EXIT_HYPERCALL],
	       (unsigned long long)st.exits[PARTITA_EXIT_CPUID],
	       (unsigned long long)st.exits[PARTITA_EXIT_IO],
	       (unsigned long long)st.exits[PARTITA_EXIT_INTR],
	       (unsigned long long)st.exits[PARTITA_EXIT_HLT]);
}

int guest_main(const struct partita_start_info *si)
{
	struct bench_summary base;
	u64 origin, slack;
	long peer;

	GUEST_ASSERT(si->flags & PARTITA_FEATURE_CONTROL);
	GUEST_ASSERT(si->window_count >= 1 && si->frame_ns);
	intel = bench_cpu_is_intel();
	printf("start cpu=%s tsc_hz=%llu frame_ns=%llu windows=%u\n", intel ? "intel" : "amd",
	       (unsigned long long)si->tsc_hz, (unsigned long long)si->frame_ns, si->window_count);
	check_exits();

	run_samples(OP_NONE);
	base = bench_summarize(samples, SAMPLES);
	printf("tsc_read min=%lld median=%lld max=%lld n=%u\n", (long long)base.min,
	       (long long)base.median, (long long)base.max, base.n);
	measure("hypercall", intel ? OP_VMCALL : OP_VMMCALL, base.median);
	measure("cpuid", OP_CPUID, base.median);
	measure("io_out", OP_OUT, base.median);
	measure("io_in", OP_IN, base.median);

	peer = find_peer();
	if (peer < 0) {
		printf("[test] FAIL no partition named '%s' to switch with\n", PEER_NAME);
		return 1;
	}
	GUEST_ASSERT(hc_call(HC_PARTITION_CTL, peer, PARTITION_CTL_RESTART, 0, 0, 0) == 0);
	origin = bench_clock_origin(si->tsc_hz, &slack);
	bench_windows(si, origin, slack);

	/* The peer prints its windows and exits; wait for it (bounded). */
	for (int i = 0; i < 1000 && peer_state(peer) != PARTITA_STATE_EXITED; i++)
		hc_yield();
	if (peer_state(peer) != PARTITA_STATE_EXITED) {
		printf("[test] FAIL %s did not finish\n", PEER_NAME);
		return 1;
	}
	print_stats(si->partition_id, si->name);
	print_stats(peer, PEER_NAME);
	printf("done\n");
	return 0;
}
