/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tcpecho: TCP over a channel, through lwIP and the channel netif
 * (guests/lib/lwip).  Side 0 of channel 0 is the client, side 1 the echo
 * server (port 7).  The client first times ROUND_TRIPS round trips of
 * ROUND_TRIP_BYTES each, then streams BULK_BYTES (1 MiB) while the server
 * echoes them, checks every byte that comes back against the pattern of its
 * place in the stream, prints round-trip and throughput figures, closes the
 * connection, and returns 0 (so that `end_on_exit` can end the run).  Any
 * error, a wrong byte, or a stall of STALL_NS ends the client with 1.
 *
 * Figures use integer arithmetic only (guests are built without floating
 * point).  Times are of the whole machine (HC_TIME / TSC), so they include the
 * windows of other partitions, during which this one does not run.
 */
#include "guests/lib/cpu.h"
#include "guests/lib/lwip/netif_channel.h"
#include "guests/lib/lwip/port.h"
#include "guests/lib/guest.h"
#include "kernel/lib/string.h"

#include "lwip/init.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"

#define ECHO_PORT 7
#define ROUND_TRIPS 100
#define ROUND_TRIP_BYTES 64
#define BULK_BYTES (1u << 20)
#define STALL_NS 20000000000ULL /* 20 s without progress: give up */

static struct netif_channel link;

/* The byte at offset off of the client's stream: position dependent, so a
 * lost, repeated or reordered segment shows. */
static u8 stream_byte(u32 off)
{
	return (u8)((off * 2654435761u) >> 24) ^ (u8)(off >> 12);
}

static void stream_fill(u8 *buf, u32 off, u32 len)
{
	for (u32 i = 0; i < len; i++)
		buf[i] = stream_byte(off + i);
}

/*
 * One round of the main loop: frames in, timers, the caller's work, frames
 * out (the peer is signalled), and a sleep until the next event or lwIP
 * timer when nothing arrived.
 */
static void net_round(void (*work)(void))
{
	unsigned n = netif_channel_poll(&link);

	sys_check_timeouts();
	if (work)
		work();
	n += netif_channel_poll(&link);
	if (n == 0)
		hc_wait(lwip_port_sleep_deadline());
}

/* ------------------------------------------------------------ client -- */

static struct {
	struct tcp_pcb *pcb;
	bool connected, failed, peer_closed;
	u32 tx_off;  /* stream bytes handed to lwIP */
	u32 tx_end;  /* ... that may be, for now */
	u32 rx_off;  /* stream bytes received and checked */
	u32 bad_off; /* the first wrong byte, if failed */
} cl;

static u8 tx_buf[TCP_MSS * 4];

static err_t client_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	(void)arg;
	if (!p) {
		cl.peer_closed = true;
		return ERR_OK;
	}
	if (err != ERR_OK) {
		pbuf_free(p);
		return err;
	}
	for (struct pbuf *q = p; q; q = q->next) {
		const u8 *b = q->payload;
		for (u32 i = 0; i < q->len; i++) {
			if (!cl.failed && b[i] != stream_byte(cl.rx_off + i)) {
				cl.failed = true;
				cl.bad_off = cl.rx_off + i;
				printf("[test] FAIL byte %u of the stream: got %#x, sent %#x\n",
				       cl.bad_off, b[i], stream_byte(cl.bad_off));
			}
		}
		cl.rx_off += q->len;
	}
	tcp_recved(pcb, p->tot_len);
	pbuf_free(p);
	return ERR_OK;
}

/* Hands lwIP as much of the stream up to tx_end as its send buffer takes. */
static void client_pump(void)
{
	bool wrote = false;

	while (cl.pcb && cl.tx_off < cl.tx_end) {
		u32 n = cl.tx_end - cl.tx_off;
		u32 room = tcp_sndbuf(cl.pcb);
		if (n > room)
			n = room;
		if (n > sizeof(tx_buf))
			n = sizeof(tx_buf);
		if (n == 0 || tcp_sndqueuelen(cl.pcb) >= TCP_SND_QUEUELEN - 4)
			break;
		stream_fill(tx_buf, cl.tx_off, n);
		if (tcp_write(cl.pcb, tx_buf, (u16_t)n, TCP_WRITE_FLAG_COPY) != ERR_OK)
			break;
		cl.tx_off += n;
		wrote = true;
	}
	if (wrote)
		tcp_output(cl.pcb);
}

static err_t client_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	(void)arg, (void)pcb, (void)len;
	client_pump();
	return ERR_OK;
}

static err_t client_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg, (void)pcb;
	cl.connected = err == ERR_OK;
	return ERR_OK;
}

static void client_err(void *arg, err_t err)
{
	(void)arg;
	printf("[test] FAIL connection error %d\n", err);
	cl.pcb = NULL; /* lwIP has freed it */
	cl.failed = true;
}

/* Runs the main loop until *flag or rx_off reaches want (whichever is
 * given); false on failure or a stall. */
static bool client_run_until(const bool *flag, u32 want)
{
	u64 last = hc_time();
	u32 last_rx = cl.rx_off;

	for (;;) {
		if (cl.failed)
			return false;
		if (flag ? *flag : cl.rx_off >= want)
			return true;
		net_round(client_pump);
		if (cl.rx_off != last_rx) {
			last_rx = cl.rx_off;
			last = hc_time();
		} else if (hc_time() - last > STALL_NS) {
			printf("[test] FAIL stalled: %u bytes sent, %u received\n", cl.tx_off,
			       cl.rx_off);
			return false;
		}
	}
}

static u64 us_of(u64 ticks, u64 hz)
{
	return tsc_to_ns(ticks, hz) / 1000;
}

static int client(const struct partita_start_info *si)
{
	ip4_addr_t server;
	u64 hz = si->tsc_hz, t0, best = ~0ULL, worst = 0, sum = 0;

	netif_channel_addr(&link, 1, &server);
	printf("client %s on channel '%s' of %llu KiB, MAC %02x:%02x:%02x:%02x:%02x:%02x\n",
	       ip4addr_ntoa(netif_ip4_addr(&link.netif)), link.info->name,
	       (unsigned long long)(link.info->size >> 10), link.netif.hwaddr[0],
	       link.netif.hwaddr[1], link.netif.hwaddr[2], link.netif.hwaddr[3],
	       link.netif.hwaddr[4], link.netif.hwaddr[5]);

	cl.pcb = tcp_new();
	GUEST_ASSERT(cl.pcb);
	tcp_nagle_disable(cl.pcb);
	tcp_recv(cl.pcb, client_recv);
	tcp_sent(cl.pcb, client_sent);
	tcp_err(cl.pcb, client_err);
	t0 = rdtsc();
	GUEST_ASSERT(tcp_connect(cl.pcb, &server, ECHO_PORT, client_connected) == ERR_OK);
	if (!client_run_until(&cl.connected, 0))
		return 1;
	printf("connected to %s:%d in %llu us\n", ip4addr_ntoa(&server), ECHO_PORT,
	       (unsigned long long)us_of(rdtsc() - t0, hz));

	for (int i = 0; i < ROUND_TRIPS; i++) {
		t0 = rdtsc();
		cl.tx_end += ROUND_TRIP_BYTES;
		client_pump();
		if (!client_run_until(NULL, cl.tx_end))
			return 1;
		u64 dt = rdtsc() - t0;
		sum += dt;
		best = dt < best ? dt : best;
		worst = dt > worst ? dt : worst;
	}
	printf("round trip of %u bytes, %u times: min %llu us, mean %llu us, max %llu us\n",
	       ROUND_TRIP_BYTES, ROUND_TRIPS, (unsigned long long)us_of(best, hz),
	       (unsigned long long)us_of(sum / ROUND_TRIPS, hz),
	       (unsigned long long)us_of(worst, hz));

	u32 start = cl.tx_end;
	t0 = rdtsc();
	cl.tx_end += BULK_BYTES;
	client_pump();
	if (!client_run_until(NULL, cl.tx_end))
		return 1;
	u64 us = us_of(rdtsc() - t0, hz);
	if (us == 0)
		us = 1;
	u32 bulk = cl.rx_off - start;
	printf("%u bytes sent, %u bytes echoed and checked byte for byte\n", cl.tx_off - start,
	       bulk);
	/* KB = 1000 bytes. */
	printf("throughput %llu KB/s each way (%u bytes out and back in %llu ms)\n",
	       (unsigned long long)((u64)bulk * 1000 / us), bulk, (unsigned long long)(us / 1000));
	printf("frames: tx %llu, rx %llu, queued on a full ring %llu, dropped %llu\n",
	       (unsigned long long)link.tx_frames, (unsigned long long)link.rx_frames,
	       (unsigned long long)link.tx_queued,
	       (unsigned long long)(link.tx_drops + link.rx_drops));

	/* Half-close, and wait for the server's FIN, so that it has reported. */
	tcp_shutdown(cl.pcb, 0, 1);
	if (!client_run_until(&cl.peer_closed, 0))
		return 1;
	tcp_close(cl.pcb);
	for (int i = 0; i < 4; i++)
		net_round(NULL);
	printf("closed\n");
	return 0;
}

/* ------------------------------------------------------------ server -- */

static struct {
	struct tcp_pcb *pcb;
	struct pbuf *pending; /* received, not yet echoed */
	bool closing;
	u32 echoed;
} sv;

/* Echoes what the send buffer takes; the receive window is reopened only
 * by what was echoed, so a slow sender side throttles the client. */
static void server_pump(void)
{
	u32 done = 0;

	while (sv.pcb && sv.pending) {
		u32 n = sv.pending->len, room = tcp_sndbuf(sv.pcb);
		if (n > room)
			n = room;
		if (n == 0 || tcp_sndqueuelen(sv.pcb) >= TCP_SND_QUEUELEN - 4)
			break;
		if (tcp_write(sv.pcb, sv.pending->payload, (u16_t)n, TCP_WRITE_FLAG_COPY) != ERR_OK)
			break;
		sv.pending = pbuf_free_header(sv.pending, (u16_t)n);
		done += n;
	}
	if (done) {
		sv.echoed += done;
		tcp_recved(sv.pcb, (u16_t)done);
		tcp_output(sv.pcb);
	}
	if (sv.pcb && sv.closing && !sv.pending) {
		printf("echoed %u bytes, client closed\n", sv.echoed);
		tcp_close(sv.pcb);
		sv.pcb = NULL;
	}
}

static err_t server_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	(void)arg, (void)pcb;
	if (!p) {
		sv.closing = true;
	} else if (err != ERR_OK) {
		pbuf_free(p);
		return err;
	} else if (sv.pending) {
		pbuf_cat(sv.pending, p);
	} else {
		sv.pending = p;
	}
	server_pump();
	return ERR_OK;
}

static err_t server_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	(void)arg, (void)pcb, (void)len;
	server_pump();
	return ERR_OK;
}

static void server_err(void *arg, err_t err)
{
	(void)arg;
	printf("connection error %d after %u bytes echoed\n", err, sv.echoed);
	sv.pcb = NULL;
	if (sv.pending)
		pbuf_free(sv.pending);
	sv.pending = NULL;
}

static err_t server_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg;
	if (err != ERR_OK || !pcb)
		return ERR_VAL;
	if (sv.pcb) {
		tcp_abort(pcb); /* one client at a time */
		return ERR_ABRT;
	}
	printf("connection from %s:%u\n", ip4addr_ntoa(&pcb->remote_ip), pcb->remote_port);
	sv = (typeof(sv)){ .pcb = pcb };
	tcp_nagle_disable(pcb);
	tcp_recv(pcb, server_recv);
	tcp_sent(pcb, server_sent);
	tcp_err(pcb, server_err);
	return ERR_OK;
}

static int server(void)
{
	struct tcp_pcb *listen = tcp_new();

	GUEST_ASSERT(listen);
	GUEST_ASSERT(tcp_bind(listen, IP_ADDR_ANY, ECHO_PORT) == ERR_OK);
	listen = tcp_listen(listen);
	GUEST_ASSERT(listen);
	tcp_accept(listen, server_accept);
	printf("echo server on %s:%d, channel '%s'\n", ip4addr_ntoa(netif_ip4_addr(&link.netif)),
	       ECHO_PORT, link.info->name);
	for (;;)
		net_round(server_pump);
}

int guest_main(const struct partita_start_info *si)
{
	GUEST_ASSERT(si->channel_count >= 1);
	lwip_init();
	GUEST_ASSERT(netif_channel_add(&link, si, 0) == 0);
	return link.info->side == 0 ? client(si) : server();
}
