/*
 * mgmt: the management partition.  With the `control` capability and a
 * virtio-net NIC passed through (guests/lib/virtio_net.c), it runs lwIP with
 * a static address on QEMU's user network (10.0.2.15/24, gateway 10.0.2.2;
 * `hostfwd` brings host port 8080 to port 80 here) and serves the HTTP API
 * of api.c with the server of http.c.
 *
 * The NIC raises no interrupts: the main loop polls it, runs lwIP's timers,
 * and when nothing arrived sleeps in HC_WAIT for POLL_NS (or until lwIP's
 * next timer), which bounds the added latency while leaving the rest of its
 * windows idle.
 */
#include "guests/lib/lwip/netif_virtio.h"
#include "guests/lib/lwip/port.h"
#include "guests/mgmt/mgmt.h"

#include "lwip/init.h"
#include "lwip/timeouts.h"

#define POLL_NS 200000ULL /* 200 us between polls of an idle NIC */

static struct netif_virtio nic;

int guest_main(const struct partita_start_info *si)
{
	ip4_addr_t ip, mask, gw;
	int r;

	if (!(si->flags & PARTITA_FEATURE_CONTROL)) {
		printf("FAIL the management partition needs `caps = control`\n");
		return 1;
	}
	lwip_init();
	IP4_ADDR(&ip, 10, 0, 2, 15);
	IP4_ADDR(&mask, 255, 255, 255, 0);
	IP4_ADDR(&gw, 10, 0, 2, 2);
	r = netif_virtio_add(&nic, si, &ip, &mask, &gw);
	if (r) {
		printf("FAIL no usable virtio-net device (%d): give the partition `device = "
		       "1af4:1041` (and `trusted = yes` on a machine without an IOMMU)\n",
		       r);
		return 1;
	}
	r = http_start();
	if (r) {
		printf("FAIL cannot listen on port %d (%d)\n", HTTP_PORT, r);
		return 1;
	}
	printf("http server on %s:%d\n", ip4addr_ntoa(&ip), HTTP_PORT);
	for (;;) {
		unsigned n = netif_virtio_poll(&nic);
		sys_check_timeouts();
		if (n == 0) {
			u64 until = hc_time() + POLL_NS, timer = lwip_port_sleep_deadline();
			hc_wait(timer && timer < until ? timer : until);
		}
	}
}
