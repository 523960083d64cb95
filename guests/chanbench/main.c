/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * chanbench: throughput and latency of a channel between two partitions,
 * over the raw SPSC ring (guests/lib/ring.h), and the same guest's memcpy
 * bandwidth, the physical limit of any copy through shared memory.
 *
 * Side 0 ("sender") first times memcpy of a 64 KiB buffer, then a ping-pong
 * of 64-byte messages (latency: one round trip, events waking the peer),
 * then streams CHANBENCH_BYTES in 4000-byte messages that side 1
 * ("receiver") checks and counts; the receiver answers with one message at
 * the end, and the sender prints figures in its TSC cycles and in MB/s of
 * its TSC time:
 *
 *   [sender] memcpy 64 KiB: 123 cycles/KiB, 8123 MB/s
 *   [sender] ring round trip of 64 bytes: min 12345 cycles, median 23456 cycles
 *   [sender] ring stream: 8388608 bytes in 123456789 cycles, 67 MB/s, 0.8% of memcpy
 *
 * Both partitions run in their own windows, so stream throughput depends on
 * the schedule (given in tests/bench/chanbench.conf), not only the copy.
 */
#include "guests/lib/guest.h"
#include "guests/lib/ring.h"
#include "kernel/lib/string.h"

#define CHANBENCH_BYTES (8u << 20)
#define MESSAGE 4000
#define PINGS 64
#define COPY_BYTES (64u << 10)

static u8 src[COPY_BYTES], dst[COPY_BYTES];
static u8 msg[MESSAGE];

static u64 rdtsc(void)
{
	u32 lo, hi;
	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

static void send_wait(struct ring_pair *rp, const void *m, u32 len)
{
	while (ring_send(&rp->tx, m, len) == -PARTITA_E_AGAIN)
		hc_wait(0);
	hc_event_signal(rp->channel);
}

static int recv_wait(struct ring_pair *rp, void *buf, u32 cap)
{
	for (;;) {
		int n = ring_recv(&rp->rx, buf, cap);
		if (n != -PARTITA_E_AGAIN)
			return n;
		hc_wait(0);
	}
}

static u64 mb_per_s(u64 bytes, u64 cycles, u64 tsc_hz)
{
	return cycles ? bytes * tsc_hz / cycles / 1000000 : 0;
}

static void sort(u64 *v, unsigned n)
{
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && v[j - 1] > v[j]; j--) {
			u64 t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
}

static int sender(struct ring_pair *rp, const struct partita_start_info *si)
{
	u64 rtt[PINGS], best = ~0ULL;

	for (unsigned i = 0; i < COPY_BYTES; i++)
		src[i] = (u8)i;
	/* memcpy: the best of a few runs (a run cut by the window end is slow). */
	for (int run = 0; run < 8; run++) {
		u64 t0 = rdtsc();
		memcpy(dst, src, COPY_BYTES);
		u64 dt = rdtsc() - t0;
		best = dt < best ? dt : best;
	}
	GUEST_ASSERT(memcmp(dst, src, COPY_BYTES) == 0);
	u64 copy_mbs = mb_per_s(COPY_BYTES, best, si->tsc_hz);
	printf("memcpy 64 KiB: %llu cycles/KiB, %llu MB/s\n",
	       (unsigned long long)(best / (COPY_BYTES >> 10)), (unsigned long long)copy_mbs);

	for (unsigned i = 0; i < PINGS; i++) {
		u64 t0 = rdtsc();
		send_wait(rp, msg, 64);
		GUEST_ASSERT(recv_wait(rp, msg, sizeof(msg)) == 64);
		rtt[i] = rdtsc() - t0;
	}
	sort(rtt, PINGS);
	printf("ring round trip of 64 bytes: min %llu cycles, median %llu cycles\n",
	       (unsigned long long)rtt[0], (unsigned long long)rtt[PINGS / 2]);

	u64 t0 = rdtsc();
	for (u32 sent = 0, seq = 0; sent < CHANBENCH_BYTES; sent += MESSAGE, seq++) {
		msg[0] = (u8)seq;
		msg[MESSAGE - 1] = (u8)~seq;
		while (ring_send(&rp->tx, msg, MESSAGE) == -PARTITA_E_AGAIN) {
			hc_event_signal(rp->channel);
			hc_wait(0);
		}
	}
	hc_event_signal(rp->channel);
	u32 got;
	GUEST_ASSERT(recv_wait(rp, &got, sizeof(got)) == sizeof(got));
	u64 dt = rdtsc() - t0;
	u64 bytes = (u64)(CHANBENCH_BYTES + MESSAGE - 1) / MESSAGE * MESSAGE;
	GUEST_ASSERT(got == bytes);
	u64 ring_mbs = mb_per_s(bytes, dt, si->tsc_hz);
	printf("ring stream: %llu bytes in %llu cycles, %llu MB/s, %llu.%llu%% of memcpy\n",
	       (unsigned long long)bytes, (unsigned long long)dt, (unsigned long long)ring_mbs,
	       (unsigned long long)(ring_mbs * 100 / (copy_mbs ? copy_mbs : 1)),
	       (unsigned long long)(ring_mbs * 1000 / (copy_mbs ? copy_mbs : 1) % 10));
	return 0;
}

static int receiver(struct ring_pair *rp)
{
	u32 total = 0, seq = 0;

	for (unsigned i = 0; i < PINGS; i++) {
		int n = recv_wait(rp, msg, sizeof(msg));
		GUEST_ASSERT(n == 64);
		send_wait(rp, msg, 64);
	}
	while (total < CHANBENCH_BYTES) {
		int n = recv_wait(rp, msg, sizeof(msg));
		GUEST_ASSERT(n == MESSAGE && msg[0] == (u8)seq && msg[MESSAGE - 1] == (u8)~seq);
		total += (u32)n;
		seq++;
		/* Wake the sender now and then: it waits when the ring is full. */
		if (seq % 4 == 0)
			hc_event_signal(rp->channel);
	}
	send_wait(rp, &total, sizeof(total));
	return 0;
}

int guest_main(const struct partita_start_info *si)
{
	struct ring_pair rp;

	GUEST_ASSERT(ring_attach(&rp, si, 0) == 0);
	return si->channels[0].side == 0 ? sender(&rp, si) : receiver(&rp);
}
