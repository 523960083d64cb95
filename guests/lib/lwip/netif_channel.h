/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * An lwIP netif over a channel (kernel/channel.h): a virtual Ethernet link
 * between two partitions.  Each frame is one message of the channel's ring
 * pair (guests/lib/ring.h), one ring per direction.  The netif is polled
 * from the guest's main loop; after sending, it wakes the peer with
 * HC_EVENT_SIGNAL on the channel.
 *
 * Addresses are derived, so that both ends agree without configuration:
 * - MAC 02:50:54:k:hi:lo, locally administered (bit 1 of the first octet,
 *   IEEE 802-2014 §8.2.2), from the channel index k and partition id;
 * - IPv4 10.A.B.(side + 1)/24, where A and B are the partition ids of side 0
 *   and side 1 of the channel: a /24 per pair of partitions.
 *
 * Use: netif_channel_add() once after lwip_init(), then in the main loop
 * netif_channel_poll() and sys_check_timeouts(), and before sleeping in
 * hc_wait() make sure netif_channel_poll() has run since lwIP last sent.
 */
#ifndef PARTITA_LWIP_NETIF_CHANNEL_H
#define PARTITA_LWIP_NETIF_CHANNEL_H

#include "guests/lib/guest.h"
#include "guests/lib/ring.h"

#include "lwip/ip4_addr.h"
#include "lwip/netif.h"

/** Frames kept while the tx ring is full, beyond which they are dropped. */
#define NETIF_CHANNEL_QUEUE 64

struct netif_channel {
	struct netif netif;
	struct ring_pair rings;
	const struct partita_channel_info *info;
	bool signal_pending; /* frames sent since the peer was last signalled */
	bool broken;	     /* the peer wrote a frame we cannot parse */
	u64 tx_frames, rx_frames, tx_bytes, rx_bytes;
	u64 tx_queued; /* frames that found the ring full and were queued */
	u64 tx_drops, rx_drops;
	struct pbuf *queue[NETIF_CHANNEL_QUEUE]; /* waiting for room in the ring */
	unsigned queue_head, queue_count;
};

/**
 * Attaches to channel k of this partition, adds its netif to lwIP (up, link
 * up) and, if it is the first netif, makes it the default.  lwip_init() must
 * have run.  Returns 0, or -PARTITA_E_NOENT (no channel k) / -PARTITA_E_INVAL (too small for
 * a frame) / -PARTITA_E_NOMEM (lwIP refused the netif).
 */
int netif_channel_add(struct netif_channel *nc, const struct partita_start_info *si, unsigned k);

/**
 * Sends the frames queued while the tx ring was full, takes every frame the
 * peer has sent into lwIP, then signals the peer if anything was sent since
 * the last signal (or its full ring was drained).  Returns the number of frames
 * received.
 */
unsigned netif_channel_poll(struct netif_channel *nc);

/** The IPv4 address of side `side` (0 or 1) of nc's channel. */
void netif_channel_addr(const struct netif_channel *nc, unsigned side, ip4_addr_t *out);

#endif
