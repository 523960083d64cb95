/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Single-producer, single-consumer message rings over a channel's shared
 * memory (kernel/channel.h).  A channel carries two rings, one per
 * direction: the first half of the memory carries side 0's messages to side
 * 1, the second half side 1's to side 0.
 *
 * Memory ordering: x86 keeps stores in order with other stores and loads in
 * order with other loads (Intel SDM Vol. 3A §9.2.2), so a producer that
 * writes the message, then publishes the new head, and a consumer that reads
 * the head, then the message, then publishes the new tail, need only stop
 * the compiler from reordering: the release stores and acquire loads below.
 */
#ifndef PARTITA_GUEST_RING_H
#define PARTITA_GUEST_RING_H

#include "kernel/abi/partita.h"
#include "kernel/lib/types.h"

#define RING_MAGIC 0x474e4952u /* "RING" */

/** Shared header of one ring, at the start of its half of the channel. */
struct ring_shared {
	u32 magic;
	u32 size; /* bytes of data after the header */
	u8 pad0[56];
	u32 head; /* written by the producer: bytes produced, mod 2^32 */
	u8 pad1[60];
	u32 tail; /* written by the consumer: bytes consumed, mod 2^32 */
	u8 pad2[60];
};
_Static_assert(sizeof(struct ring_shared) == 192, "ring header");

struct ring {
	struct ring_shared *shared;
	u8 *data;
	u32 size;
};

/** The two rings of one channel as one partition sees them. */
struct ring_pair {
	struct ring tx;
	struct ring rx;
	unsigned channel; /* index for hc_event_signal */
};

/**
 * Attaches to channel k of this partition.  Side 0 initializes both rings
 * when it finds them uninitialized; side 1 waits (with hc_yield) until side
 * 0 has.  Returns 0 or -PARTITA_E_NOENT / -PARTITA_E_INVAL (channel too small).
 */
int ring_attach(struct ring_pair *rp, const struct partita_start_info *si, unsigned k);

/** The largest message ring_send accepts. */
u32 ring_max_message(const struct ring *r);

/** Queues one message.  0, -PARTITA_E_AGAIN if there is no room now, -PARTITA_E_INVAL if
 *  it can never fit. */
int ring_send(struct ring *r, const void *msg, u32 len);

/** Takes one message into buf.  Returns its length, -PARTITA_E_AGAIN if the ring
 *  is empty, or -PARTITA_E_NOSPC (the message stays) if cap is too small. */
int ring_recv(struct ring *r, void *buf, u32 cap);

/** Bytes of free space and of queued data. */
u32 ring_free(const struct ring *r);
u32 ring_used(const struct ring *r);

#endif
