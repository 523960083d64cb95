/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A driver for a modern (virtio 1.0) virtio-net PCI device passed
 * through to a paravirtual partition: QEMU's `-device
 * virtio-net-pci,disable-legacy=on` (1af4:1041).  References are to the
 * OASIS "Virtual I/O Device (VIRTIO) Version 1.0" specification.
 *
 * The device is found in start_info->devices[]; its configuration space is
 * read and written through HC_PCI_READ / HC_PCI_WRITE; its registers (common,
 * notify and device configuration, located by the vendor capabilities of
 * §4.1.4) lie in a memory BAR that the hypervisor maps at its host-physical
 * address, uncached.  One receive and one transmit split virtqueue (§2.4)
 * live in the partition's RAM; the device is given their host-physical
 * addresses, gpa + start_info->dma_offset.  Where the hypervisor routes
 * the device's MSI-X to the partition (start_info's irq), both queues
 * signal MSI-X entry 0, which raises vn->irq_event for HC_WAIT; the used
 * rings are still read by virtio_net_recv and _reclaim.  Otherwise the
 * device is told not to interrupt (VIRTQ_AVAIL_F_NO_INTERRUPT) and polled.  No offloads are negotiated: frames carry complete checksums and
 * no frame is larger than 1514 bytes.
 *
 * Use: virtio_net_init() once, then virtio_net_send() to queue a frame and
 * virtio_net_recv() to take the next one; both are non-blocking.
 */
#ifndef PARTITA_GUEST_VIRTIO_NET_H
#define PARTITA_GUEST_VIRTIO_NET_H

#include "guests/lib/guest.h"

#define VIRTIO_NET_QUEUE_SIZE 64  /* descriptors per queue, a power of 2 */
#define VIRTIO_NET_FRAME_MAX 1514 /* Ethernet header + 1500 bytes */

struct virtq_desc;
struct virtq_avail;
struct virtq_used;

/** One split virtqueue as the driver keeps it. */
struct virtio_queue {
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	u16 size;
	u16 index;	      /* queue number: 0 receive, 1 transmit (§5.1.2) */
	u16 avail_idx;	      /* next free slot of the available ring, mod 2^16 */
	u16 used_seen;	      /* used entries already consumed, mod 2^16 */
	u16 in_flight;	      /* buffers given to the device, not yet returned */
	volatile u16 *notify; /* where to write the queue number (§4.1.4.4) */
};

struct virtio_net {
	unsigned dev;		 /* index in start_info->devices[] */
	volatile u8 *common;	 /* struct virtio_pci_common_cfg (§4.1.4.3) */
	volatile u8 *device_cfg; /* struct virtio_net_config (§5.1.4) */
	volatile u8 *notify_base;
	u32 notify_mul;
	u64 features; /* negotiated */
	/* The HC_WAIT event bit of its interrupts (PARTITA_DEVICE_EVENT), or 0:
	 * polled (the device has no MSI-X, or the hypervisor routes none). */
	u32 irq_event;
	u8 mac[6];
	struct virtio_queue rx, tx;
	u64 rx_frames, tx_frames, rx_bytes, tx_bytes, tx_full, rx_bad;
};

/**
 * Finds the first virtio-net device (1af4:1041, or the transitional 1af4:1000
 * if it exposes the modern capabilities) among the partition's devices,
 * resets and initializes it (§3.1.1), fills the receive queue and sets
 * DRIVER_OK.  Prints what it found.  Returns 0, or -PARTITA_E_NOENT (no such device
 * or no BAR mapping for its capabilities), -PARTITA_E_NOTSUP (the device refuses
 * VIRTIO_F_VERSION_1 or our features), -PARTITA_E_INVAL (queues unusable).
 */
int virtio_net_init(struct virtio_net *vn, const struct partita_start_info *si);

/**
 * Queues one Ethernet frame (len <= VIRTIO_NET_FRAME_MAX) for transmission,
 * copying it.  Returns 0, -PARTITA_E_AGAIN if every transmit buffer is in flight, or
 * -PARTITA_E_INVAL if the frame is too large.
 */
int virtio_net_send(struct virtio_net *vn, const void *frame, unsigned len);

/**
 * Copies the next received frame into buf (at least VIRTIO_NET_FRAME_MAX
 * bytes) and gives its buffer back to the device.  Returns the frame's
 * length, or 0 if none is waiting.
 */
int virtio_net_recv(struct virtio_net *vn, void *buf, unsigned size);

/** Reclaims transmit buffers the device has finished with. */
void virtio_net_reclaim(struct virtio_net *vn);

/** Resets the device (status 0, §4.1.4.3.2), so that virtio_net_init() can
 *  take it up again. */
void virtio_net_release(struct virtio_net *vn);

/*
 * For tests that aim the device at addresses of their choosing (the DMA
 * attack guest, guests/dmaattack): the address is given to the device as
 * it is, without dma_offset.
 */
/** Queues one transmit buffer of len bytes at device address addr, which
 *  the device reads. */
void virtio_net_send_at(struct virtio_net *vn, u64 addr, u32 len);
/** Points every receive descriptor at device address addr: the device
 *  writes the next frame there. */
void virtio_net_receive_at(struct virtio_net *vn, u64 addr);
/** Splits the next receive buffer in three: the header to our own memory,
 *  then len bytes of the frame to device address addr, then the rest to
 *  our own memory again (a descriptor chain, §2.4.5). */
void virtio_net_receive_split_at(struct virtio_net *vn, u64 addr, u32 len);
/** Receive buffers the device has filled since init (used ring index). */
u16 virtio_net_rx_used(const struct virtio_net *vn);

#endif
