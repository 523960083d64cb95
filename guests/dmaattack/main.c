/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dmaattack: a partition that owns a virtio-net device and aims it at
 * memory that is not its own, to show what an IOMMU stops.  Its cmdline
 * names the targets, host-physical addresses a test learned from the
 * hypervisor's boot log:
 *
 *   victim=ADDR hv=ADDR attacks=NAME,NAME,...
 *
 * Attacks (one device programming each):
 *   tx-victim  a transmit buffer at `victim`: the device reads it
 *   rx-victim  every receive buffer at `victim`, then an ARP request to
 *              QEMU's gateway: the device writes the reply there
 *   tx-hv      a transmit buffer at `hv` (the hypervisor's code)
 *   rx-hv      receive buffers at `hv`
 *   msi        a receive buffer split so that the first 4 bytes of the
 *              next frame go to 0xfee00000, the local APICs' interrupt
 *              window: with the frame's destination MAC (which the ARP
 *              request chooses) they make a message-signalled interrupt
 *              with vector MSI_VECTOR, which nothing in the hypervisor
 *              expects (Intel SDM Vol. 3A §11.11: MSI address and data)
 *
 * Under an IOMMU every one of them faults, the hypervisor stops the
 * partition, and `on_fault = restart` brings it back: boot N starts with
 * attack N, so each boot gets one attack further.  An attack that is not
 * stopped within ATTACK_WAIT_NS is reported ("was not stopped") and the next
 * one follows in the same boot.  The first boot waits for the victim's event
 * on channel 0 (its memory is hashed); after the last attack the partition
 * raises that channel's event (the victim waits for it) and exits.
 */
#include "guests/lib/guest.h"
#include "guests/lib/virtio_net.h"
#include "kernel/lib/string.h"

#define ATTACK_WAIT_NS 300000000ULL /* 300 ms */
#define MAX_ATTACKS 8
#define MSI_ADDR 0xfee00000ULL /* destination APIC ID 0, physical mode */
#define MSI_VECTOR 0x9a	       /* even: the MAC it becomes is unicast */

static struct virtio_net vn;

static u64 parse_hex(const char *s)
{
	u64 v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (;; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (*s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return v;
		v = v << 4 | d;
	}
}

/* The value of `key=` in the cmdline, or NULL. */
static const char *arg(const char *cmdline, const char *key)
{
	size_t n = strlen(key);

	for (const char *p = cmdline; *p; p++)
		if ((p == cmdline || p[-1] == ' ') && !strncmp(p, key, n) && p[n] == '=')
			return p + n + 1;
	return NULL;
}

/* An ARP request for 10.0.2.2 (QEMU's user-network gateway) from
 * 10.0.2.15 (RFC 826): the gateway's answer is the frame the device then
 * receives. */
static void send_arp_request(const u8 *mac)
{
	u8 f[60];
	static const u8 ip_me[4] = { 10, 0, 2, 15 }, ip_gw[4] = { 10, 0, 2, 2 };

	memset(f, 0, sizeof(f));
	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	f[12] = 0x08, f[13] = 0x06;	 /* ARP */
	f[15] = 1;			 /* Ethernet */
	f[16] = 0x08;			 /* IPv4 */
	f[18] = 6, f[19] = 4, f[21] = 1; /* request */
	memcpy(f + 22, mac, 6);
	memcpy(f + 28, ip_me, 4);
	memcpy(f + 38, ip_gw, 4);
	virtio_net_send(&vn, f, sizeof(f));
}

int guest_main(const struct partita_start_info *si)
{
	const char *v = arg(si->cmdline, "victim"), *h = arg(si->cmdline, "hv");
	const char *list = arg(si->cmdline, "attacks");
	u64 victim = v ? parse_hex(v) : 0, hv = h ? parse_hex(h) : 0;
	char names[MAX_ATTACKS][16];
	unsigned count = 0;

	for (const char *p = list; p && *p && *p != ' ' && count < MAX_ATTACKS; count++) {
		unsigned n = 0;
		while (p[n] && p[n] != ',' && p[n] != ' ' && n < sizeof(names[0]) - 1)
			n++;
		memcpy(names[count], p, n);
		names[count][n] = '\0';
		p += n;
		if (*p == ',')
			p++;
	}
	printf("boot %llu: dma_offset %#llx, victim %#llx, hypervisor %#llx, %u attack(s)\n",
	       (unsigned long long)si->boot_count, (unsigned long long)si->dma_offset,
	       (unsigned long long)victim, (unsigned long long)hv, count);
	if (!victim || !hv || !count) {
		printf("no targets given: nothing to do\n");
		return 0;
	}
	/* The victim raises our channel's event once it has hashed its memory:
	 * attacking before that would only be overwritten by its filling.
	 * Later boots come after that. */
	if (si->boot_count == 1 && si->channel_count) {
		while (!(hc_wait(0) & 1))
			;
		printf("the victim has hashed its memory\n");
	}
	for (unsigned k = (unsigned)si->boot_count - 1; k < count; k++) {
		const char *name = names[k];
		bool msi = !strcmp(name, "msi");
		bool rx = msi || !strncmp(name, "rx-", 3);
		u64 target = msi ? MSI_ADDR : !strcmp(name + 3, "hv") ? hv : victim;
		int err = virtio_net_init(&vn, si);
		if (err) {
			printf("FAIL virtio-net init: %d\n", err);
			return 1;
		}
		u16 used = virtio_net_rx_used(&vn);
		printf("attack %u (%s): the device is told to %s %#llx\n", k + 1, name,
		       rx ? "write received frames to" : "send a frame from",
		       (unsigned long long)target);
		if (msi) {
			/* The reply goes to this MAC: its first 4 bytes are the
			 * MSI's data, fixed delivery of MSI_VECTOR. */
			static const u8 msi_mac[6] = { MSI_VECTOR, 0, 0, 0, 0x50, 0x54 };
			virtio_net_receive_split_at(&vn, MSI_ADDR, 4);
			send_arp_request(msi_mac);
		} else if (rx) {
			virtio_net_receive_at(&vn, target);
			send_arp_request(vn.mac);
		} else {
			virtio_net_send_at(&vn, target, 64);
		}
		/* A fault stops us here; otherwise the device did it. */
		u64 until = hc_time() + ATTACK_WAIT_NS;
		while (hc_time() < until)
			hc_wait(until);
		if (rx)
			printf("attack %u (%s) was not stopped: %u frame(s) written to %#llx\n",
			       k + 1, name, (unsigned)(u16)(virtio_net_rx_used(&vn) - used),
			       (unsigned long long)target);
		else
			printf("attack %u (%s) was not stopped: the device read %#llx\n", k + 1,
			       name, (unsigned long long)target);
		virtio_net_release(&vn);
	}
	printf("all %u attacks done\n", count);
	if (si->channel_count)
		hc_event_signal(0);
	return 0;
}
