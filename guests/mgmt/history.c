/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The history behind the status page's plots, kept by the management
 * partition itself: once a second (HC_TIME), each partition's share of its
 * CPU over that second (from HC_PARTITION_STATS' cpu_time_ns) and its
 * window-start lateness (from HC_SCHEDULE_INFO's counters: the worst start
 * of the last second, and the mean over the starts of that second), for
 * the last HISTORY_SAMPLES seconds, in a ring.  The API gives the share in
 * permille and the lateness in microseconds (rounded), to keep five minutes
 * of every partition within one response.
 *
 * Samples are numbered from 1; GET /api/history?since=N returns those
 * after N, so the page fetches the whole ring once and then only what is
 * new.  A sample whose interval was longer than planned (the partition did
 * not run for a while) still gives the share over its true interval.
 */
#include "guests/mgmt/mgmt.h"
#include "kernel/lib/string.h"

#define MAX_PARTS 16

struct sample {
	u16 share_permille[MAX_PARTS]; /* of its CPU's time in the interval */
	u32 late_max_ns[MAX_PARTS];    /* saturated at 4.29 s */
	u32 late_mean_ns[MAX_PARTS];
};

static struct sample ring[HISTORY_SAMPLES];
static u64 seq; /* samples taken so far: the last one is seq */
static u64 last_ns, last_cpu_ns[MAX_PARTS], last_late_sum[MAX_PARTS], last_starts[MAX_PARTS];
static struct partita_partition_info parts[MAX_PARTS];
static u32 part_count;
static struct partita_schedule_info sched;
static bool primed;

static u32 sat32(u64 v)
{
	return v > 0xffffffffULL ? 0xffffffffu : (u32)v;
}

static void take(u64 now)
{
	long n = hc_call_whole(HC_PARTITION_LIST, (long)parts, MAX_PARTS, 0, 0);
	bool have_sched = hc_call_whole(HC_SCHEDULE_INFO, (long)&sched, 0, 0, 0) == 0;
	struct sample *s = &ring[seq % HISTORY_SAMPLES];
	u64 dt = now - last_ns;

	if (n < 0)
		return;
	part_count = (u32)MIN(n, (long)MAX_PARTS);
	if (primed)
		memset(s, 0, sizeof(*s));
	for (u32 i = 0; i < part_count; i++) {
		struct partita_partition_stats st;
		u32 id = parts[i].id;
		if (id >= MAX_PARTS || hc_call(HC_PARTITION_STATS, id, (long)&st, 0, 0, 0))
			continue;
		const struct partita_partition_counters *k =
			have_sched && id < sched.partition_count ? &sched.counters[id] : NULL;
		if (primed && dt) {
			u64 d = st.cpu_time_ns - last_cpu_ns[id];
			s->share_permille[id] = (u16)MIN(d * 1000 / dt, 1000ULL);
			if (k) {
				u64 starts = k->late_starts - last_starts[id];
				s->late_max_ns[id] = sat32(k->late_max_last_s_ns);
				s->late_mean_ns[id] =
					starts ? sat32((k->late_sum_ns - last_late_sum[id]) /
						       starts) :
						 0;
			}
		}
		last_cpu_ns[id] = st.cpu_time_ns;
		if (k) {
			last_late_sum[id] = k->late_sum_ns;
			last_starts[id] = k->late_starts;
		}
	}
	last_ns = now;
	if (primed)
		seq++;
	primed = true;
}

u64 history_tick(u64 now)
{
	if (!primed || now - last_ns >= HISTORY_INTERVAL_NS)
		take(now);
	return last_ns + HISTORY_INTERVAL_NS;
}

static void series(struct http_out *o, const char *key, u64 first, u32 id, int which)
{
	out_printf(o, ",\"%s\":[", key);
	for (u64 q = first; q <= seq && !o->overflow; q++) {
		const struct sample *s = &ring[(q - 1) % HISTORY_SAMPLES];
		u64 v = which == 0 ? s->share_permille[id] :
			which == 1 ? (s->late_max_ns[id] + 500) / 1000 :
				     (s->late_mean_ns[id] + 500) / 1000;
		out_printf(o, "%s%llu", q == first ? "" : ",", (unsigned long long)v);
	}
	out_puts(o, "]");
}

void history_json(struct http_out *o, u64 since)
{
	u64 oldest = seq > HISTORY_SAMPLES ? seq - HISTORY_SAMPLES + 1 : 1;
	u64 first = MAX(since + 1, oldest);

	out_printf(o, "{\"interval_ns\":%llu,\"last\":%llu,\"first\":%llu,\"partitions\":[",
		   (unsigned long long)HISTORY_INTERVAL_NS, (unsigned long long)seq,
		   (unsigned long long)first);
	for (u32 i = 0; i < part_count; i++) {
		u32 id = parts[i].id;
		if (id >= MAX_PARTS)
			continue;
		out_printf(o, "%s{\"id\":%u,\"name\":\"", i ? "," : "", id);
		out_json_string(o, parts[i].name,
				(u32)strnlen(parts[i].name, sizeof(parts[i].name)));
		out_puts(o, "\"");
		series(o, "cpu_permille", first, id, 0);
		series(o, "late_max_us", first, id, 1);
		series(o, "late_mean_us", first, id, 2);
		out_puts(o, "}");
	}
	out_puts(o, "]}\n");
}
