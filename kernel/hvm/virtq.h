/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Split virtqueues of the virtio 1.x devices of an hvm partition (Virtual
 * I/O Device (VIRTIO) Version 1.1, 2.6 "Split Virtqueues"): the device's
 * side of the three rings in guest memory, the descriptor table, the
 * available ring the driver fills and the used ring the device returns
 * buffers in, with the event index of 2.6.7 / 2.6.10.
 *
 * This is hostile-input code: every ring address, index, descriptor,
 * length and flag comes from the guest.  A ring lies wholly inside the
 * guest's RAM, checked once when the queue is enabled (its addresses cannot
 * change while it is); every descriptor is copied out of guest memory once
 * and then checked (index inside the table, buffer wholly inside RAM, no
 * indirect descriptor since VIRTIO_F_INDIRECT_DESC is never offered, no
 * device-readable buffer after a device-writable one, a chain no longer
 * than the queue, so a loop is caught); an available index that moved by
 * more than the queue size is refused.  Any of these is reported as an
 * error with a reason: the caller stops the device.  Pure logic: the host
 * unit tests feed it hostile rings.
 */
#ifndef PARTITA_HVM_VIRTQ_H
#define PARTITA_HVM_VIRTQ_H

#include "kernel/lib/types.h"

#define VIRTQ_MAX_SIZE 256 /* the largest queue a device offers here */

/* Descriptor flags (2.6.5). */
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
/* Available ring flags (2.6.6): no interrupt wanted. */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

/** The guest's RAM as a device sees it: guest-physical [0, low_end) at
 *  ram, and [4 GiB, high_end) at ram + 4 GiB (high_end 0: nothing above
 *  4 GiB); the device windows between are not RAM. */
struct virtq_mem {
	u8 *ram;
	u64 low_end;
	u64 high_end;
};

/** The host address of guest-physical [gpa, gpa + len), or NULL unless the
 *  whole range is RAM (len 0 is refused too). */
u8 *virtq_mem_ptr(const struct virtq_mem *m, u64 gpa, u64 len);

/** One device queue.  The driver's fields (size, the three addresses) are
 *  written through the transport while the queue is disabled. */
struct virtq {
	u16 size; /* a power of two, 1..VIRTQ_MAX_SIZE when enabled */
	bool enabled;
	bool event_idx; /* VIRTIO_F_EVENT_IDX negotiated */
	u64 desc_gpa, avail_gpa, used_gpa;
	u8 *desc, *avail, *used; /* host addresses, set by virtq_enable */
	u16 last_avail;		 /* the next available entry to take */
	u16 used_idx;		 /* the device's copy of used->idx */
	u16 signalled;		 /* used_idx when the driver was last notified */
};

/** One buffer of a chain, checked to lie inside RAM. */
struct virtq_seg {
	u8 *host;
	u32 len;
	bool write; /* device-writable */
};

/** A descriptor chain taken from the available ring: its head (what goes
 *  back in the used ring), its buffers in order (the device-readable ones
 *  first), and their total lengths. */
struct virtq_chain {
	u16 head;
	unsigned count;
	u64 readable, writable;
	struct virtq_seg seg[VIRTQ_MAX_SIZE];
};

/** Resets q to disabled with the power-on size max_size (2.6). */
void virtq_reset(struct virtq *q, u16 max_size);

/**
 * Enables q: its size must be a power of two from 1 to max_size, and each
 * ring aligned (descriptors 16, available 2, used 4 bytes; 2.6 table) and
 * wholly inside RAM.  Returns 0, or -E_INVAL with the reason in *why.
 */
int virtq_enable(struct virtq *q, const struct virtq_mem *m, u16 max_size, const char **why);

/**
 * Takes the next available chain into *c.  Returns 1 if one was taken, 0
 * if the ring is empty, or -E_INVAL with the reason in *why (the ring is
 * broken: the caller stops the device).
 */
int virtq_pop(struct virtq *q, const struct virtq_mem *m, struct virtq_chain *c, const char **why);

/** Returns chain head to the driver with len bytes written (2.6.8). */
void virtq_push(struct virtq *q, u16 head, u32 len);

/**
 * After a batch of pops: with the event index, publishes how far the
 * device has read (avail_event), and returns true if more entries arrived
 * meanwhile (the caller pops again).  False without the event index.
 */
bool virtq_publish_avail_event(struct virtq *q);

/**
 * After a batch of pushes: true if the driver wants an interrupt for the
 * buffers used since the last notification (the used_event rule of 2.6.10
 * with the event index, else the NO_INTERRUPT flag of 2.6.6), and marks
 * them notified.
 */
bool virtq_should_notify(struct virtq *q);

/** Copies len bytes of c's device-readable buffers, from byte off of them,
 *  to dst.  Returns the count copied (less if they end first). */
u64 virtq_chain_read(const struct virtq_chain *c, u64 off, void *dst, u64 len);

/** Copies len bytes from src into c's device-writable buffers from byte off
 *  of them.  Returns the count copied. */
u64 virtq_chain_write(const struct virtq_chain *c, u64 off, const void *src, u64 len);

#endif
