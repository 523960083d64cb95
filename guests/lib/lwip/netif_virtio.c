/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The virtio-net netif (see netif_virtio.h).  Frames are copied both ways
 * between lwIP's pbufs and the driver's buffers: one 1.5 KB copy a frame is
 * small beside the device's own cost under emulation, and it keeps the
 * driver free of lwIP.  When every transmit buffer is in flight the sender
 * waits a little for the device to return one (QEMU handles a notified
 * transmit queue at once), then drops the frame as a busy link would; TCP
 * retransmits it.
 */
#include "guests/lib/lwip/netif_virtio.h"
#include "guests/lib/cpu.h"
#include "kernel/lib/string.h"

#include "lwip/etharp.h"
#include "lwip/pbuf.h"
#include "netif/ethernet.h"

#define NETIF_VIRTIO_MTU 1500
#define TX_WAIT_NS 2000000ULL /* how long a send waits for a free buffer */

static u8 tx_bounce[VIRTIO_NET_FRAME_MAX];
static u8 rx_bounce[VIRTIO_NET_FRAME_MAX];

static err_t virtio_linkoutput(struct netif *netif, struct pbuf *p)
{
	struct netif_virtio *nv = netif->state;
	const void *frame = p->payload;
	int r;

	if (p->tot_len > VIRTIO_NET_FRAME_MAX) {
		nv->tx_drops++;
		return ERR_IF;
	}
	if (p->len != p->tot_len) {
		pbuf_copy_partial(p, tx_bounce, p->tot_len, 0);
		frame = tx_bounce;
	}
	r = virtio_net_send(&nv->nic, frame, p->tot_len);
	if (r == -PARTITA_E_AGAIN) {
		u64 until = hc_time() + TX_WAIT_NS;
		do {
			cpu_relax();
			r = virtio_net_send(&nv->nic, frame, p->tot_len);
		} while (r == -PARTITA_E_AGAIN && hc_time() < until);
	}
	if (r) {
		nv->tx_drops++;
		return ERR_OK; /* lost on the wire */
	}
	return ERR_OK;
}

unsigned netif_virtio_poll(struct netif_virtio *nv)
{
	unsigned count = 0;
	int n;

	virtio_net_reclaim(&nv->nic);
	while ((n = virtio_net_recv(&nv->nic, rx_bounce, sizeof(rx_bounce))) > 0) {
		struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)n, PBUF_POOL);
		count++;
		if (!p) {
			nv->rx_drops++;
			continue;
		}
		pbuf_take(p, rx_bounce, (u16_t)n);
		if (nv->netif.input(p, &nv->netif) != ERR_OK) {
			nv->rx_drops++;
			pbuf_free(p);
		}
	}
	return count;
}

static err_t virtio_netif_init(struct netif *netif)
{
	struct netif_virtio *nv = netif->state;

	netif->name[0] = 'v';
	netif->name[1] = 'n';
	netif->output = etharp_output;
	netif->linkoutput = virtio_linkoutput;
	netif->mtu = NETIF_VIRTIO_MTU;
	netif->hwaddr_len = ETH_HWADDR_LEN;
	memcpy(netif->hwaddr, nv->nic.mac, ETH_HWADDR_LEN);
	netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
	return ERR_OK;
}

int netif_virtio_add(struct netif_virtio *nv, const struct partita_start_info *si,
		     const ip4_addr_t *ip, const ip4_addr_t *mask, const ip4_addr_t *gw)
{
	int r;

	memset(nv, 0, sizeof(*nv));
	r = virtio_net_init(&nv->nic, si);
	if (r)
		return r;
	if (!netif_add(&nv->netif, ip, mask, gw, nv, virtio_netif_init, ethernet_input))
		return -PARTITA_E_NOMEM;
	netif_set_default(&nv->netif);
	netif_set_up(&nv->netif);
	netif_set_link_up(&nv->netif);
	return 0;
}
