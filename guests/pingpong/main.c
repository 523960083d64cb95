/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pingpong: two partitions joined by a channel.  Side 0 ("ping") sends
 * messages of varying sizes with a known pattern, side 1 ("pong") sends each
 * back, and ping checks every byte and reports round trips.  Events wake the
 * peer, so neither side spins: each waits in HC_WAIT until the other signals.
 * The total volume (PINGPONG_BYTES) is 1 MiB, checked byte for byte.
 */
#include "guests/lib/guest.h"
#include "guests/lib/ring.h"
#include "kernel/lib/string.h"

#define PINGPONG_BYTES (1u << 20)
#define MAX_MESSAGE 4000

static u8 out[MAX_MESSAGE], in[MAX_MESSAGE];

static u64 rdtsc(void)
{
	u32 lo, hi;
	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

static void fill(u8 *buf, u32 len, u32 seq)
{
	for (u32 i = 0; i < len; i++)
		buf[i] = (u8)(seq * 31 + i * 7 + (i >> 8));
}

/* Waits until the ring has a message, then takes it. */
static int recv_wait(struct ring_pair *rp, void *buf, u32 cap)
{
	for (;;) {
		int n = ring_recv(&rp->rx, buf, cap);
		if (n != -PARTITA_E_AGAIN)
			return n;
		hc_wait(0);
	}
}

static int ping(struct ring_pair *rp, const struct partita_start_info *si)
{
	u32 sent = 0, seq = 0;
	u64 best = ~0ULL, worst = 0, sum = 0;

	printf("channel '%s' of %llu KiB, sending %u KiB\n", si->channels[0].name,
	       (unsigned long long)(si->channels[0].size >> 10), PINGPONG_BYTES >> 10);
	while (sent < PINGPONG_BYTES) {
		u32 len = 1 + (seq * 997) % MAX_MESSAGE;
		if (len > PINGPONG_BYTES - sent)
			len = PINGPONG_BYTES - sent;
		fill(out, len, seq);
		u64 t0 = rdtsc();
		while (ring_send(&rp->tx, out, len) == -PARTITA_E_AGAIN)
			hc_wait(0);
		hc_event_signal(rp->channel);
		int n = recv_wait(rp, in, sizeof(in));
		u64 dt = rdtsc() - t0;
		GUEST_ASSERT(n == (int)len);
		GUEST_ASSERT(memcmp(in, out, len) == 0);
		sum += dt;
		best = dt < best ? dt : best;
		worst = dt > worst ? dt : worst;
		sent += len;
		seq++;
	}
	printf("%u messages, %u bytes echoed and checked byte for byte\n", seq, sent);
	printf("round trip min %llu us, mean %llu us, max %llu us\n",
	       (unsigned long long)(best * 1000000 / si->tsc_hz),
	       (unsigned long long)(sum / seq * 1000000 / si->tsc_hz),
	       (unsigned long long)(worst * 1000000 / si->tsc_hz));
	/* A zero-length message tells pong to stop. */
	while (ring_send(&rp->tx, out, 0) == -PARTITA_E_AGAIN)
		hc_wait(0);
	hc_event_signal(rp->channel);
	return 0;
}

static int pong(struct ring_pair *rp)
{
	u32 count = 0;

	printf("echoing\n");
	for (;;) {
		int n = recv_wait(rp, in, sizeof(in));
		GUEST_ASSERT(n >= 0);
		if (n == 0)
			break;
		while (ring_send(&rp->tx, in, (u32)n) == -PARTITA_E_AGAIN)
			hc_wait(0);
		hc_event_signal(rp->channel);
		count++;
	}
	printf("echoed %u messages\n", count);
	return 0;
}

int guest_main(const struct partita_start_info *si)
{
	struct ring_pair rp;

	GUEST_ASSERT(si->channel_count >= 1);
	GUEST_ASSERT(ring_attach(&rp, si, 0) == 0);
	return si->channels[0].side == 0 ? ping(&rp, si) : pong(&rp);
}
