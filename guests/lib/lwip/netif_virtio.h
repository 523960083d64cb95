/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * An lwIP netif over the virtio-net driver (guests/lib/virtio_net.h): the
 * partition's passed-through NIC as an Ethernet interface with a static
 * IPv4 address.  Polled from the guest's main loop, like the channel netif
 * (netif_channel.h): netif_virtio_poll() takes every received frame into
 * lwIP; frames lwIP sends go to the device at once.
 */
#ifndef PARTITA_LWIP_NETIF_VIRTIO_H
#define PARTITA_LWIP_NETIF_VIRTIO_H

#include "guests/lib/guest.h"
#include "guests/lib/virtio_net.h"

#include "lwip/ip4_addr.h"
#include "lwip/netif.h"

struct netif_virtio {
	struct netif netif;
	struct virtio_net nic;
	u64 tx_drops, rx_drops;
};

/**
 * Initializes the partition's virtio-net device and adds it to lwIP with
 * address ip/mask and gateway gw (up, link up, the default netif).
 * lwip_init() must have run.  Returns 0, an error of virtio_net_init(), or
 * -PARTITA_E_NOMEM (lwIP refused the netif).
 */
int netif_virtio_add(struct netif_virtio *nv, const struct partita_start_info *si,
		     const ip4_addr_t *ip, const ip4_addr_t *mask, const ip4_addr_t *gw);

/** Takes every frame the device has received into lwIP, and reclaims sent
 *  buffers.  Returns the number of frames received. */
unsigned netif_virtio_poll(struct netif_virtio *nv);

#endif
