/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The device side of split virtqueues (see virtq.h).  Reference: VIRTIO
 * 1.1, 2.6 (layout 2.6.2, descriptors 2.6.5, available ring 2.6.6, used
 * ring 2.6.8, event suppression 2.6.7 and 2.6.10).  All fields are little
 * endian, as x86 is.  Guest memory is read through volatile accesses, each
 * field once: what is checked is what is used, whatever the guest's other
 * vCPUs write meanwhile.
 */
#include "kernel/hvm/virtq.h"
#include "kernel/errno.h"
#include "kernel/lib/string.h"

#define DESC_SIZE 16
#define AVAIL_RING 4 /* offset of the available ring's entries */
#define USED_RING 4
#define USED_ELEM 8

static u16 ld16(const u8 *p)
{
	return *(const volatile u16 *)p;
}

static u32 ld32(const u8 *p)
{
	return *(const volatile u32 *)p;
}

static u64 ld64(const u8 *p)
{
	return *(const volatile u64 *)p;
}

static void st16(u8 *p, u16 v)
{
	*(volatile u16 *)p = v;
}

static void st32(u8 *p, u32 v)
{
	*(volatile u32 *)p = v;
}

u8 *virtq_mem_ptr(const struct virtq_mem *m, u64 gpa, u64 len)
{
	if (!len || gpa + len < gpa)
		return NULL;
	if (gpa < m->low_end && len <= m->low_end - gpa)
		return m->ram + gpa;
	if (gpa >= GiB(4) && gpa < m->high_end && len <= m->high_end - gpa)
		return m->ram + gpa;
	return NULL;
}

void virtq_reset(struct virtq *q, u16 max_size)
{
	memset(q, 0, sizeof(*q));
	q->size = max_size;
}

int virtq_enable(struct virtq *q, const struct virtq_mem *m, u16 max_size, const char **why)
{
	u16 n = q->size;

	if (!n || n > max_size || (n & (n - 1))) {
		*why = "queue size is not a power of two up to the maximum";
		return -E_INVAL;
	}
	if ((q->desc_gpa & 15) || (q->avail_gpa & 1) || (q->used_gpa & 3)) {
		*why = "a ring is misaligned";
		return -E_INVAL;
	}
	/* 2.6: descriptors 16 * n; available flags, idx, n entries and
	 * used_event; used flags, idx, n elements and avail_event. */
	q->desc = virtq_mem_ptr(m, q->desc_gpa, (u64)DESC_SIZE * n);
	q->avail = virtq_mem_ptr(m, q->avail_gpa, AVAIL_RING + 2ULL * n + 2);
	q->used = virtq_mem_ptr(m, q->used_gpa, USED_RING + (u64)USED_ELEM * n + 2);
	if (!q->desc || !q->avail || !q->used) {
		q->desc = q->avail = q->used = NULL;
		*why = "a ring lies outside the guest's RAM";
		return -E_INVAL;
	}
	/* The used ring is the device's: it starts where the driver left
	 * its index (0 after a reset). */
	q->last_avail = 0;
	q->used_idx = ld16(q->used + 2);
	q->signalled = q->used_idx;
	q->enabled = true;
	return 0;
}

int virtq_pop(struct virtq *q, const struct virtq_mem *m, struct virtq_chain *c, const char **why)
{
	if (!q->enabled)
		return 0;
	u16 n = q->size, avail_idx = ld16(q->avail + 2);
	u16 pending = (u16)(avail_idx - q->last_avail);

	if (pending == 0)
		return 0;
	if (pending > n) {
		*why = "the available index ran ahead by more than the queue size";
		return -E_INVAL;
	}
	/* The entry is read after the index (x86 keeps loads in order; the
	 * compiler is told so by the volatile accesses). */
	u16 head = ld16(q->avail + AVAIL_RING + 2 * (q->last_avail & (n - 1)));
	if (head >= n) {
		*why = "an available entry names a descriptor outside the table";
		return -E_INVAL;
	}
	c->head = head;
	c->count = 0;
	c->readable = c->writable = 0;
	for (u16 i = head, steps = 0;; steps++) {
		const u8 *d = q->desc + (u64)DESC_SIZE * i;
		u64 addr = ld64(d);
		u32 len = ld32(d + 8);
		u16 flags = ld16(d + 12), next = ld16(d + 14);
		if (steps == n) {
			*why = "a descriptor chain is longer than the queue (a loop)";
			return -E_INVAL;
		}
		if (flags & VIRTQ_DESC_F_INDIRECT) {
			*why = "an indirect descriptor, which was not offered";
			return -E_INVAL;
		}
		bool write = flags & VIRTQ_DESC_F_WRITE;
		if (!write && c->writable) {
			/* 2.6.4.2: readable buffers come first */
			*why = "a device-readable buffer after a device-writable one";
			return -E_INVAL;
		}
		if (len) {
			u8 *host = virtq_mem_ptr(m, addr, len);
			if (!host) {
				*why = "a buffer lies outside the guest's RAM";
				return -E_INVAL;
			}
			c->seg[c->count++] = (struct virtq_seg){ host, len, write };
			if (write)
				c->writable += len;
			else
				c->readable += len;
		}
		if (!(flags & VIRTQ_DESC_F_NEXT))
			break;
		if (next >= n) {
			*why = "a descriptor's next is outside the table";
			return -E_INVAL;
		}
		i = next;
	}
	q->last_avail++;
	return 1;
}

void virtq_push(struct virtq *q, u16 head, u32 len)
{
	u8 *e = q->used + USED_RING + (u64)USED_ELEM * (q->used_idx & (q->size - 1));

	st32(e, head);
	st32(e + 4, len);
	q->used_idx++;
	/* 2.6.8.2: the element before the index (x86 keeps stores in order;
	 * volatile keeps the compiler from reordering them). */
	st16(q->used + 2, q->used_idx);
}

bool virtq_publish_avail_event(struct virtq *q)
{
	if (!q->enabled || !q->event_idx)
		return false;
	st16(q->used + USED_RING + (u64)USED_ELEM * q->size, q->last_avail);
	/* The store must be seen before the index is read again (a driver
	 * on another vCPU adds and checks avail_event the other way round):
	 * a full fence, store-load order (SDM Vol. 3A §8.2.2). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return ld16(q->avail + 2) != q->last_avail;
}

bool virtq_should_notify(struct virtq *q)
{
	u16 old = q->signalled, now = q->used_idx;

	if (!q->enabled)
		return false;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	q->signalled = now;
	if (old == now)
		return false;
	if (q->event_idx) {
		/* 2.6.10: interrupt if used_event lies in [old, now) */
		u16 event = ld16(q->avail + AVAIL_RING + 2ULL * q->size);
		return (u16)(now - event - 1) < (u16)(now - old);
	}
	return !(ld16(q->avail) & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

/* Copies between the buffers of one direction and a flat buffer. */
static u64 chain_copy(const struct virtq_chain *c, bool write, u64 off, u8 *flat, u64 len,
		      bool to_chain)
{
	u64 done = 0;

	for (unsigned i = 0; i < c->count && done < len; i++) {
		const struct virtq_seg *s = &c->seg[i];
		if (s->write != write)
			continue;
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		u64 n = MIN(s->len - off, len - done);
		if (to_chain)
			memcpy(s->host + off, flat + done, n);
		else
			memcpy(flat + done, s->host + off, n);
		done += n;
		off = 0;
	}
	return done;
}

u64 virtq_chain_read(const struct virtq_chain *c, u64 off, void *dst, u64 len)
{
	return chain_copy(c, false, off, dst, len, false);
}

u64 virtq_chain_write(const struct virtq_chain *c, u64 off, const void *src, u64 len)
{
	return chain_copy(c, true, off, (u8 *)src, len, true);
}
