/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The channel netif (see netif_channel.h): Ethernet frames as messages of a
 * channel's SPSC rings.
 *
 * Sending copies the frame into the tx ring (from the pbuf directly when it
 * is one piece) and marks the peer to be signalled; netif_channel_poll()
 * sends that one signal for all the frames of a round, which saves a
 * hypercall per frame.  When the ring is full, the frame is copied into a
 * short software queue (NETIF_CHANNEL_QUEUE frames) that netif_channel_poll()
 * sends first; only when that is full too is a frame dropped, as a real
 * link would.  The sender never waits for room: both ends may be sending
 * with full rings, and each must keep draining its own rx ring for the other
 * to progress.  The receiver signals back after it has drained a ring that
 * was more than half full, so that a sender with queued frames wakes.
 *
 * Checksums: the link is memory shared by two partitions of one machine,
 * which cannot corrupt a frame in transit, so the IP, TCP, UDP and ICMP
 * checksums could be skipped on this netif (as Linux's veth marks its
 * packets CHECKSUM_UNNECESSARY).  They are kept by default: they catch a
 * peer that writes garbage, and under QEMU/TCG their cost did not show
 * above the run-to-run noise of the TCP echo test.  Build with
 * -DNETIF_CHANNEL_CHECKSUMS=0 to skip them.
 */
#include "guests/lib/lwip/netif_channel.h"
#include "kernel/lib/string.h"

#include "lwip/etharp.h"
#include "lwip/pbuf.h"
#include "netif/ethernet.h"

#ifndef NETIF_CHANNEL_CHECKSUMS
#define NETIF_CHANNEL_CHECKSUMS 1
#endif

#define NETIF_CHANNEL_MTU 1500
#define FRAME_MAX (NETIF_CHANNEL_MTU + SIZEOF_ETH_HDR)

/* Frames that arrive as a pbuf chain are sent from here (one guest CPU, so
 * one buffer serves every netif). */
static u8 tx_bounce[FRAME_MAX];
static u8 rx_bounce[FRAME_MAX];

static void signal_peer(struct netif_channel *nc)
{
	hc_event_signal(nc->rings.channel);
	nc->signal_pending = false;
}

/* Sends a frame on the ring: 0, -PARTITA_E_AGAIN (ring full) or -PARTITA_E_INVAL. */
static int channel_send(struct netif_channel *nc, struct pbuf *p)
{
	const void *frame = p->payload;
	int r;

	if (p->len != p->tot_len) {
		pbuf_copy_partial(p, tx_bounce, p->tot_len, 0);
		frame = tx_bounce;
	}
	r = ring_send(&nc->rings.tx, frame, p->tot_len);
	if (r == 0) {
		nc->tx_frames++;
		nc->tx_bytes += p->tot_len;
	}
	/* Full or not, the peer has something to read. */
	nc->signal_pending = true;
	return r;
}

/* Sends the frames queued while the ring was full, in order, as far as
 * the ring takes them. */
static void channel_flush(struct netif_channel *nc)
{
	while (nc->queue_count) {
		struct pbuf *p = nc->queue[nc->queue_head];
		if (channel_send(nc, p) == -PARTITA_E_AGAIN)
			return;
		pbuf_free(p);
		nc->queue_head = (nc->queue_head + 1) % NETIF_CHANNEL_QUEUE;
		nc->queue_count--;
	}
}

static err_t channel_linkoutput(struct netif *netif, struct pbuf *p)
{
	struct netif_channel *nc = netif->state;
	struct pbuf *copy;

	if (nc->broken || p->tot_len > FRAME_MAX) {
		nc->tx_drops++;
		return ERR_IF;
	}
	channel_flush(nc);
	if (!nc->queue_count && channel_send(nc, p) != -PARTITA_E_AGAIN)
		return ERR_OK;
	/* The ring is full: keep a copy (lwIP may rewrite a TCP segment's
	 * pbuf when it retransmits) until netif_channel_poll() can send it.
	 * Never wait here: the peer may be waiting for us to drain its ring. */
	if (nc->queue_count == NETIF_CHANNEL_QUEUE ||
	    (copy = pbuf_clone(PBUF_RAW, PBUF_RAM, p)) == NULL) {
		nc->tx_drops++;
		return ERR_OK; /* lost on the wire: TCP retransmits */
	}
	nc->queue[(nc->queue_head + nc->queue_count) % NETIF_CHANNEL_QUEUE] = copy;
	nc->queue_count++;
	nc->tx_queued++;
	return ERR_OK;
}

/* Takes one frame off the rx ring: NULL when there is none (or no pbuf for
 * it now: it stays queued). */
static struct pbuf *channel_recv(struct netif_channel *nc)
{
	struct pbuf *p;
	int n;

	if (!ring_used(&nc->rings.rx))
		return NULL;
	p = pbuf_alloc(PBUF_RAW, FRAME_MAX, PBUF_POOL);
	if (!p)
		return NULL;
	if (p->next == NULL) {
		n = ring_recv(&nc->rings.rx, p->payload, p->len);
		if (n > 0)
			pbuf_realloc(p, (u16_t)n);
	} else {
		n = ring_recv(&nc->rings.rx, rx_bounce, sizeof(rx_bounce));
		if (n > 0) {
			pbuf_realloc(p, (u16_t)n);
			pbuf_take(p, rx_bounce, (u16_t)n);
		}
	}
	if (n <= 0) {
		pbuf_free(p);
		if (n == -PARTITA_E_AGAIN)
			return NULL;
		/* A frame larger than the MTU, a corrupt ring or an empty
		 * message: the peer does not speak this protocol.  Stop using
		 * the link rather than read garbage. */
		printf("netif_channel: channel '%s': bad frame (%d), link down\n", nc->info->name,
		       n);
		nc->broken = true;
		netif_set_link_down(&nc->netif);
		return NULL;
	}
	nc->rx_frames++;
	nc->rx_bytes += (u32)n;
	return p;
}

unsigned netif_channel_poll(struct netif_channel *nc)
{
	unsigned count = 0;
	struct pbuf *p;
	bool was_full = ring_used(&nc->rings.rx) > nc->rings.rx.size / 2;

	channel_flush(nc);
	while (!nc->broken && (p = channel_recv(nc)) != NULL) {
		if (nc->netif.input(p, &nc->netif) != ERR_OK) {
			nc->rx_drops++;
			pbuf_free(p);
		}
		count++;
	}
	channel_flush(nc);
	if (nc->signal_pending || (count && was_full))
		signal_peer(nc);
	return count;
}

static err_t channel_netif_init(struct netif *netif)
{
	struct netif_channel *nc = netif->state;
	u32 id = start_info->partition_id;

	netif->name[0] = 'c';
	netif->name[1] = 'h';
	netif->output = etharp_output;
	netif->linkoutput = channel_linkoutput;
	netif->mtu = NETIF_CHANNEL_MTU;
	netif->hwaddr_len = ETH_HWADDR_LEN;
	netif->hwaddr[0] = 0x02; /* locally administered, unicast */
	netif->hwaddr[1] = 0x50;
	netif->hwaddr[2] = 0x54;
	netif->hwaddr[3] = (u8)nc->rings.channel;
	netif->hwaddr[4] = (u8)(id >> 8);
	netif->hwaddr[5] = (u8)id;
	netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
#if !NETIF_CHANNEL_CHECKSUMS
	NETIF_SET_CHECKSUM_CTRL(netif, NETIF_CHECKSUM_DISABLE_ALL);
#endif
	return ERR_OK;
}

void netif_channel_addr(const struct netif_channel *nc, unsigned side, ip4_addr_t *out)
{
	u32 own = start_info->partition_id, peer = nc->info->peer;
	u32 a = nc->info->side == 0 ? own : peer;
	u32 b = nc->info->side == 0 ? peer : own;

	IP4_ADDR(out, 10, (u8)a, (u8)b, (u8)(side + 1));
}

int netif_channel_add(struct netif_channel *nc, const struct partita_start_info *si, unsigned k)
{
	ip4_addr_t ip, mask, gw;
	int r;

	memset(nc, 0, sizeof(*nc));
	r = ring_attach(&nc->rings, si, k);
	if (r < 0)
		return r;
	if (ring_max_message(&nc->rings.tx) < FRAME_MAX)
		return -PARTITA_E_INVAL;
	nc->info = &si->channels[k];
	netif_channel_addr(nc, nc->info->side, &ip);
	IP4_ADDR(&mask, 255, 255, 255, 0);
	ip4_addr_set_zero(&gw);
	if (!netif_add(&nc->netif, &ip, &mask, &gw, nc, channel_netif_init, ethernet_input))
		return -PARTITA_E_NOMEM;
	if (!netif_default)
		netif_set_default(&nc->netif);
	netif_set_up(&nc->netif);
	netif_set_link_up(&nc->netif);
	return 0;
}
