/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * SPSC message rings (see ring.h).  A message is a 4-byte length then its
 * bytes, padded to 8 bytes; one never wraps: when it would, the producer
 * writes the marker RING_WRAP and continues at the start of the data.
 */
#include "guests/lib/ring.h"
#include "guests/lib/guest.h"
#include "kernel/lib/string.h"

#define RING_WRAP 0xffffffffu

static u32 load_acquire(const u32 *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
static void store_release(u32 *p, u32 v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* Bytes one message of len bytes takes: length word plus data, 8-aligned. */
static u32 record_size(u32 len)
{
	return (u32)ALIGN_UP(4 + (u64)len, 8);
}

u32 ring_used(const struct ring *r)
{
	return load_acquire(&r->shared->head) - load_acquire(&r->shared->tail);
}

u32 ring_free(const struct ring *r)
{
	return r->size - ring_used(r);
}

u32 ring_max_message(const struct ring *r)
{
	/* A message must fit beside a wrap marker in the worst case. */
	return r->size / 2 - 8;
}

int ring_send(struct ring *r, const void *msg, u32 len)
{
	u32 head = r->shared->head; /* only this side writes it */
	u32 tail = load_acquire(&r->shared->tail);
	u32 need = record_size(len);
	u32 at = head % r->size;
	u32 to_end = r->size - at;

	if (len > ring_max_message(r))
		return -PARTITA_E_INVAL;
	/* If the record would cross the end, waste the rest with a marker. */
	u32 total = need <= to_end ? need : to_end + need;
	if (r->size - (head - tail) < total)
		return -PARTITA_E_AGAIN;
	if (need > to_end) {
		u32 marker = RING_WRAP;
		memcpy(r->data + at, &marker, 4);
		head += to_end;
		at = 0;
	}
	memcpy(r->data + at, &len, 4);
	memcpy(r->data + at + 4, msg, len);
	store_release(&r->shared->head, head + need);
	return 0;
}

int ring_recv(struct ring *r, void *buf, u32 cap)
{
	u32 tail = r->shared->tail; /* only this side writes it */

	for (;;) {
		u32 head = load_acquire(&r->shared->head);
		if (head == tail)
			return -PARTITA_E_AGAIN;
		u32 at = tail % r->size;
		u32 len;
		memcpy(&len, r->data + at, 4);
		if (len == RING_WRAP) {
			tail += r->size - at;
			store_release(&r->shared->tail, tail);
			continue;
		}
		/* A corrupt length from a misbehaving peer must not make us
		 * read outside the ring. */
		if (len > ring_max_message(r) || record_size(len) > head - tail ||
		    record_size(len) > r->size - at)
			return -PARTITA_E_INVAL;
		if (len > cap)
			return -PARTITA_E_NOSPC;
		memcpy(buf, r->data + at + 4, len);
		store_release(&r->shared->tail, tail + record_size(len));
		return (int)len;
	}
}

static void ring_init_shared(struct ring_shared *s, u32 size)
{
	memset(s, 0, sizeof(*s));
	s->size = size;
	store_release(&s->magic, RING_MAGIC);
}

int ring_attach(struct ring_pair *rp, const struct partita_start_info *si, unsigned k)
{
	if (k >= si->channel_count)
		return -PARTITA_E_NOENT;
	const struct partita_channel_info *ci = &si->channels[k];
	u8 *base = (u8 *)(uintptr_t)ci->gpa;
	u64 half = ci->size / 2;
	if (half < sizeof(struct ring_shared) + 64)
		return -PARTITA_E_INVAL;
	/* head and tail count bytes mod 2^32 and positions are taken mod
	 * size, so size must divide 2^32: the largest power of two that fits. */
	u32 size = 1;
	while ((u64)size * 2 <= half - sizeof(struct ring_shared))
		size *= 2;
	struct ring_shared *r0 = (struct ring_shared *)base;
	struct ring_shared *r1 = (struct ring_shared *)(base + half);

	if (ci->side == 0) {
		ring_init_shared(r0, size);
		ring_init_shared(r1, size);
	} else {
		while (load_acquire(&r0->magic) != RING_MAGIC ||
		       load_acquire(&r1->magic) != RING_MAGIC)
			hc_yield();
	}
	struct ring_shared *tx = ci->side == 0 ? r0 : r1;
	struct ring_shared *rx = ci->side == 0 ? r1 : r0;
	rp->tx = (struct ring){ tx, (u8 *)(tx + 1), size };
	rp->rx = (struct ring){ rx, (u8 *)(rx + 1), size };
	rp->channel = k;
	return 0;
}
