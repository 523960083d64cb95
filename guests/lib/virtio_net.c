/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The virtio-net driver (see virtio_net.h).  Section numbers (§) are of the
 * OASIS VIRTIO 1.0 specification.
 *
 * Memory: the virtqueues and their buffers are static arrays of this image,
 * so in the partition's RAM, whose guest-physical addresses the device sees
 * shifted by start_info->dma_offset (the partition's RAM is one host block).
 * Each receive descriptor owns one RX_BUF_SIZE buffer for the whole run;
 * each transmit descriptor likewise owns one, into which a frame is copied
 * behind its virtio_net_hdr.  Every descriptor is a single, unchained
 * buffer, so descriptor i is always in slot i of the tables.
 *
 * Ordering: the rings are ordinary write-back memory shared with the device
 * (QEMU's device model here: another thread on the host).  x86 keeps stores
 * in order with stores and loads with loads (Intel SDM Vol. 3A §9.2.2), so a
 * compiler barrier orders "fill the descriptor, then publish avail->idx";
 * the full fence before the notify check orders our store of avail->idx
 * before our load of used->flags (§2.4.7.2), which x86 alone does not.
 */
#include "guests/lib/virtio_net.h"
#include "kernel/lib/string.h"

/* PCI configuration space (PCI Local Bus Spec 3.0 §6.1, §6.7). */
#define PCI_COMMAND 0x04
#define PCI_COMMAND_MEMORY (1u << 1)
#define PCI_COMMAND_MASTER (1u << 2)
#define PCI_STATUS 0x06
#define PCI_STATUS_CAP_LIST (1u << 4)
#define PCI_CAP_PTR 0x34
#define PCI_CAP_ID_VNDR 0x09

/* struct virtio_pci_cap (§4.1.4): offsets inside the capability. */
#define VIRTIO_CAP_CFG_TYPE 3
#define VIRTIO_CAP_BAR 4
#define VIRTIO_CAP_OFFSET 8
#define VIRTIO_CAP_LENGTH 12
#define VIRTIO_CAP_NOTIFY_MUL 16 /* struct virtio_pci_notify_cap (§4.1.4.4) */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_DEVICE_CFG 4

/* struct virtio_pci_common_cfg (§4.1.4.3): byte offsets. */
#define COMMON_DFSELECT 0x00
#define COMMON_DF 0x04
#define COMMON_GFSELECT 0x08
#define COMMON_GF 0x0c
#define COMMON_NUMQ 0x12
#define COMMON_STATUS 0x14
#define COMMON_Q_SELECT 0x16
#define COMMON_Q_SIZE 0x18
#define COMMON_Q_MSIX 0x1a
#define COMMON_Q_ENABLE 0x1c
#define COMMON_Q_NOFF 0x1e
#define COMMON_Q_DESCLO 0x20
#define COMMON_Q_DESCHI 0x24
#define COMMON_Q_AVAILLO 0x28
#define COMMON_Q_AVAILHI 0x2c
#define COMMON_Q_USEDLO 0x30
#define COMMON_Q_USEDHI 0x34

/* Device status (§2.1). */
#define STATUS_ACKNOWLEDGE 1
#define STATUS_DRIVER 2
#define STATUS_DRIVER_OK 4
#define STATUS_FEATURES_OK 8
#define STATUS_FAILED 0x80

/* Feature bits (§5.1.3, §6). */
#define VIRTIO_NET_F_MAC (1ULL << 5)
#define VIRTIO_F_VERSION_1 (1ULL << 32)
#define VIRTIO_F_ACCESS_PLATFORM (1ULL << 33) /* VIRTIO 1.1 §6 */

/* Split virtqueues (§2.4.5, §2.4.6, §2.4.8). */
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY 1

struct virtq_desc {
	u64 addr;
	u32 len;
	u16 flags;
	u16 next;
};

struct virtq_avail {
	u16 flags;
	u16 idx;
	u16 ring[VIRTIO_NET_QUEUE_SIZE];
	u16 used_event;
};

struct virtq_used_elem {
	u32 id;
	u32 len;
};

struct virtq_used {
	u16 flags;
	u16 idx;
	struct virtq_used_elem ring[VIRTIO_NET_QUEUE_SIZE];
	u16 avail_event;
};

/* struct virtio_net_hdr (§5.1.6): with VIRTIO_F_VERSION_1 it always has
 * num_buffers, 12 bytes (§5.1.6.1). */
struct virtio_net_hdr {
	u8 flags;
	u8 gso_type;
	u16 hdr_len;
	u16 gso_size;
	u16 csum_start;
	u16 csum_offset;
	u16 num_buffers;
};
_Static_assert(sizeof(struct virtio_net_hdr) == 12, "virtio_net_hdr");

/* Without VIRTIO_NET_F_MRG_RXBUF or the GUEST_TSO/UFO features, each receive
 * buffer must take a header and a 1514-byte frame: 1526 bytes (§5.1.6.3.1). */
#define RX_BUF_SIZE 2048
#define TX_BUF_SIZE 2048
_Static_assert(RX_BUF_SIZE >= sizeof(struct virtio_net_hdr) + VIRTIO_NET_FRAME_MAX, "rx buffer");

/* One driver instance's rings and buffers (the partition has one NIC).
 * Alignments: descriptor table 16, available ring 2, used ring 4 (§2.4);
 * a page each keeps them apart. */
static struct {
	struct virtq_desc desc[VIRTIO_NET_QUEUE_SIZE] __aligned(4096);
	struct virtq_avail avail __aligned(4096);
	struct virtq_used used __aligned(4096);
} queue_mem[2];
static u8 rx_bufs[VIRTIO_NET_QUEUE_SIZE][RX_BUF_SIZE] __aligned(4096);
static u8 tx_bufs[VIRTIO_NET_QUEUE_SIZE][TX_BUF_SIZE] __aligned(4096);
static bool in_use;

#define barrier() asm volatile("" ::: "memory")
#define full_fence() asm volatile("mfence" ::: "memory")

static u64 dma_addr(const void *p)
{
	return (u64)(uintptr_t)p + start_info->dma_offset;
}

static u32 cfg_read(const struct virtio_net *vn, unsigned off, unsigned size)
{
	return (u32)hc_call(HC_PCI_READ, vn->dev, off, size, 0, 0);
}

static u8 rd8(volatile u8 *b, unsigned off)
{
	return *(volatile u8 *)(b + off);
}
static u16 rd16(volatile u8 *b, unsigned off)
{
	return *(volatile u16 *)(b + off);
}
static u32 rd32(volatile u8 *b, unsigned off)
{
	return *(volatile u32 *)(b + off);
}
static void wr8(volatile u8 *b, unsigned off, u8 v)
{
	*(volatile u8 *)(b + off) = v;
}
static void wr16(volatile u8 *b, unsigned off, u16 v)
{
	*(volatile u16 *)(b + off) = v;
}
static void wr32(volatile u8 *b, unsigned off, u32 v)
{
	*(volatile u32 *)(b + off) = v;
}

/* The address of a capability's structure: its BAR must be a memory BAR
 * that the hypervisor mapped (gpa == hpa) and hold the whole structure. */
static volatile u8 *cap_address(const struct virtio_net *vn, unsigned cap, u32 min_len)
{
	const struct partita_device_info *d = &start_info->devices[vn->dev];
	unsigned bar = cfg_read(vn, cap + VIRTIO_CAP_BAR, 1);
	u32 off = cfg_read(vn, cap + VIRTIO_CAP_OFFSET, 4);
	u32 len = cfg_read(vn, cap + VIRTIO_CAP_LENGTH, 4);

	if (bar >= 6 || (d->bars[bar].kind != 1 && d->bars[bar].kind != 2) || !d->bars[bar].gpa)
		return NULL;
	if (len < min_len || (u64)off + len > d->bars[bar].size)
		return NULL;
	return (volatile u8 *)(uintptr_t)(d->bars[bar].gpa + off);
}

/* Walks the capability list (PCI Local Bus Spec 3.0 §6.7) for the virtio
 * structures of §4.1.4; the first of each type is used, as §4.1.4.1 asks
 * of drivers. */
static int find_structures(struct virtio_net *vn)
{
	unsigned cap, guard = 0;

	if (!(cfg_read(vn, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST))
		return -PARTITA_E_NOENT;
	for (cap = cfg_read(vn, PCI_CAP_PTR, 1) & 0xfc; cap && guard < 48;
	     cap = cfg_read(vn, cap + 1, 1) & 0xfc, guard++) {
		if (cfg_read(vn, cap, 1) != PCI_CAP_ID_VNDR)
			continue;
		switch (cfg_read(vn, cap + VIRTIO_CAP_CFG_TYPE, 1)) {
		case VIRTIO_PCI_CAP_COMMON_CFG:
			if (!vn->common)
				vn->common = cap_address(vn, cap, 0x38);
			break;
		case VIRTIO_PCI_CAP_NOTIFY_CFG:
			if (!vn->notify_base) {
				vn->notify_base = cap_address(vn, cap, 2);
				vn->notify_mul = cfg_read(vn, cap + VIRTIO_CAP_NOTIFY_MUL, 4);
			}
			break;
		case VIRTIO_PCI_CAP_DEVICE_CFG:
			if (!vn->device_cfg)
				vn->device_cfg = cap_address(vn, cap, 6);
			break;
		default:
			break;
		}
	}
	return vn->common && vn->notify_base ? 0 : -PARTITA_E_NOENT;
}

static void set_status(struct virtio_net *vn, u8 bits)
{
	wr8(vn->common, COMMON_STATUS, rd8(vn->common, COMMON_STATUS) | bits);
}

/* §4.1.5.1.3: select the queue, shrink it to our size, give the device the
 * three parts' addresses, and enable it. */
static int setup_queue(struct virtio_net *vn, struct virtio_queue *q, u16 index)
{
	volatile u8 *c = vn->common;
	u16 max, noff;

	wr16(c, COMMON_Q_SELECT, index);
	max = rd16(c, COMMON_Q_SIZE);
	if (max == 0)
		return -PARTITA_E_INVAL; /* the queue does not exist */
	q->index = index;
	q->size = MIN(max, (u16)VIRTIO_NET_QUEUE_SIZE);
	if (q->size & (q->size - 1))
		return -PARTITA_E_INVAL; /* §2.4: a power of 2 */
	q->desc = queue_mem[index].desc;
	q->avail = &queue_mem[index].avail;
	q->used = &queue_mem[index].used;
	memset(&queue_mem[index], 0, sizeof(queue_mem[index]));
	wr16(c, COMMON_Q_SIZE, q->size);
	/* With MSI-X (programmed by the hypervisor, every entry on this
	 * partition's event bit) the queue signals entry 0, and the device
	 * must confirm it (§4.1.5.1.2.1: it reads back NO_VECTOR if it cannot
	 * map it); else we poll and ask the device not to interrupt (§2.4.7). */
	wr16(c, COMMON_Q_MSIX, vn->irq_event ? 0 : 0xffff); /* 0xffff: VIRTIO_MSI_NO_VECTOR */
	if (vn->irq_event && rd16(c, COMMON_Q_MSIX) != 0) {
		wr16(c, COMMON_Q_MSIX, 0xffff);
		vn->irq_event = 0;
	}
	q->avail->flags = vn->irq_event ? 0 : VIRTQ_AVAIL_F_NO_INTERRUPT;
	wr32(c, COMMON_Q_DESCLO, (u32)dma_addr(q->desc));
	wr32(c, COMMON_Q_DESCHI, (u32)(dma_addr(q->desc) >> 32));
	wr32(c, COMMON_Q_AVAILLO, (u32)dma_addr(q->avail));
	wr32(c, COMMON_Q_AVAILHI, (u32)(dma_addr(q->avail) >> 32));
	wr32(c, COMMON_Q_USEDLO, (u32)dma_addr(q->used));
	wr32(c, COMMON_Q_USEDHI, (u32)(dma_addr(q->used) >> 32));
	noff = rd16(c, COMMON_Q_NOFF);
	q->notify = (volatile u16 *)(vn->notify_base + (u32)noff * vn->notify_mul);
	wr16(c, COMMON_Q_ENABLE, 1);
	return 0;
}

static void notify(struct virtio_queue *q)
{
	full_fence();
	if (!(q->used->flags & VIRTQ_USED_F_NO_NOTIFY))
		*q->notify = q->index; /* §4.1.4.4: the queue's number */
}

/* Publishes descriptor `id` in the available ring (§2.4.6); the caller
 * notifies. */
static void make_available(struct virtio_queue *q, u16 id)
{
	q->avail->ring[q->avail_idx & (q->size - 1)] = id;
	q->avail_idx++;
	barrier(); /* the ring entry before the index (§2.4.6.2) */
	q->avail->idx = q->avail_idx;
	q->in_flight++;
}

int virtio_net_init(struct virtio_net *vn, const struct partita_start_info *si)
{
	volatile u8 *c;
	u64 offered;
	int err;

	memset(vn, 0, sizeof(*vn));
	if (in_use)
		return -PARTITA_E_BUSY;
	for (vn->dev = 0; vn->dev < si->device_count; vn->dev++) {
		const struct partita_device_info *d = &si->devices[vn->dev];
		/* 1af4:1041 is the modern network device (§4.1.2.1); the
		 * transitional 1af4:1000 may carry the capabilities too. */
		if (d->vendor_id == 0x1af4 && (d->device_id == 0x1041 || d->device_id == 0x1000))
			break;
	}
	if (vn->dev == si->device_count)
		return -PARTITA_E_NOENT;
	/* Memory decoding and bus mastering (the device reads our rings). */
	hc_call(HC_PCI_WRITE, vn->dev, PCI_COMMAND, 2,
		(long)(cfg_read(vn, PCI_COMMAND, 2) | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER), 0);
	err = find_structures(vn);
	if (err)
		return err;
	c = vn->common;

	/* §3.1.1: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK, check it,
	 * queues, DRIVER_OK.  Reset completes when status reads back 0
	 * (§4.1.4.3.2). */
	wr8(c, COMMON_STATUS, 0);
	for (unsigned i = 0; rd8(c, COMMON_STATUS) != 0; i++)
		if (i > 1000000)
			return -PARTITA_E_INVAL;
	set_status(vn, STATUS_ACKNOWLEDGE);
	set_status(vn, STATUS_DRIVER);
	wr32(c, COMMON_DFSELECT, 0);
	offered = rd32(c, COMMON_DF);
	wr32(c, COMMON_DFSELECT, 1);
	offered |= (u64)rd32(c, COMMON_DF) << 32;
	if (!(offered & VIRTIO_F_VERSION_1)) {
		set_status(vn, STATUS_FAILED);
		return -PARTITA_E_NOTSUP; /* a legacy-only device */
	}
	/* ACCESS_PLATFORM: the device uses the platform's addresses, which is
	 * what dma_offset gives (no IOMMU). */
	vn->features = offered & (VIRTIO_F_VERSION_1 | VIRTIO_NET_F_MAC | VIRTIO_F_ACCESS_PLATFORM);
	wr32(c, COMMON_GFSELECT, 0);
	wr32(c, COMMON_GF, (u32)vn->features);
	wr32(c, COMMON_GFSELECT, 1);
	wr32(c, COMMON_GF, (u32)(vn->features >> 32));
	set_status(vn, STATUS_FEATURES_OK);
	if (!(rd8(c, COMMON_STATUS) & STATUS_FEATURES_OK)) {
		set_status(vn, STATUS_FAILED);
		return -PARTITA_E_NOTSUP;
	}

	vn->irq_event = si->devices[vn->dev].irq == PARTITA_DEVICE_IRQ_MSIX ?
				PARTITA_DEVICE_EVENT(vn->dev) :
				0;
	if (rd16(c, COMMON_NUMQ) < 2 || setup_queue(vn, &vn->rx, 0) ||
	    setup_queue(vn, &vn->tx, 1)) {
		set_status(vn, STATUS_FAILED);
		return -PARTITA_E_INVAL;
	}
	in_use = true;

	if ((vn->features & VIRTIO_NET_F_MAC) && vn->device_cfg) {
		for (unsigned i = 0; i < 6; i++)
			vn->mac[i] = rd8(vn->device_cfg, i);
	} else {
		/* Locally administered (IEEE 802-2014 §8.2.2), from our id. */
		const u8 mac[6] = { 0x02, 0x50, 0x54, 0xff, 0, (u8)si->partition_id };
		memcpy(vn->mac, mac, 6);
	}

	/* Every receive buffer to the device (§5.1.6.3), device-writable. */
	for (u16 i = 0; i < vn->rx.size; i++) {
		vn->rx.desc[i].addr = dma_addr(rx_bufs[i]);
		vn->rx.desc[i].len = RX_BUF_SIZE;
		vn->rx.desc[i].flags = VIRTQ_DESC_F_WRITE;
		make_available(&vn->rx, i);
	}
	for (u16 i = 0; i < vn->tx.size; i++)
		vn->tx.desc[i].addr = dma_addr(tx_bufs[i]);
	set_status(vn, STATUS_DRIVER_OK);
	notify(&vn->rx);

	const struct partita_device_info *d = &si->devices[vn->dev];
	printf("virtio-net %02x:%02x.%x %04x:%04x: MAC %02x:%02x:%02x:%02x:%02x:%02x, features "
	       "%#llx, queues of %u, %s\n",
	       d->bus, d->dev, d->fn, d->vendor_id, d->device_id, vn->mac[0], vn->mac[1],
	       vn->mac[2], vn->mac[3], vn->mac[4], vn->mac[5], (unsigned long long)vn->features,
	       vn->rx.size, vn->irq_event ? "interrupts (MSI-X)" : "polled");
	return 0;
}

void virtio_net_reclaim(struct virtio_net *vn)
{
	struct virtio_queue *q = &vn->tx;

	barrier();
	while (q->used_seen != *(volatile u16 *)&q->used->idx) {
		q->used_seen++;
		q->in_flight--;
	}
}

int virtio_net_send(struct virtio_net *vn, const void *frame, unsigned len)
{
	struct virtio_queue *q = &vn->tx;
	struct virtio_net_hdr *hdr;
	u16 id;

	if (len > VIRTIO_NET_FRAME_MAX)
		return -PARTITA_E_INVAL;
	if (q->in_flight == q->size)
		virtio_net_reclaim(vn);
	if (q->in_flight == q->size) {
		vn->tx_full++;
		return -PARTITA_E_AGAIN;
	}
	/* Descriptor i lives in slot i and owns tx_bufs[i]; the next slot's
	 * descriptor is free when fewer than size buffers are in flight,
	 * provided the device returns them in the order given, which QEMU's
	 * transmit queue does (a device need not, §2.4.8: a driver for other
	 * devices would keep a free list instead). */
	id = q->avail_idx & (q->size - 1);
	hdr = (struct virtio_net_hdr *)tx_bufs[id];
	memset(hdr, 0, sizeof(*hdr)); /* no checksum offload, no GSO (§5.1.6.2) */
	memcpy(tx_bufs[id] + sizeof(*hdr), frame, len);
	q->desc[id].len = (u32)(sizeof(*hdr) + len);
	q->desc[id].flags = 0;
	make_available(q, id);
	notify(q);
	vn->tx_frames++;
	vn->tx_bytes += len;
	return 0;
}

int virtio_net_recv(struct virtio_net *vn, void *buf, unsigned size)
{
	struct virtio_queue *q = &vn->rx;
	struct virtq_used_elem e;
	int n;

	if (q->used_seen == *(volatile u16 *)&q->used->idx)
		return 0;
	barrier(); /* the index before the entry */
	e = q->used->ring[q->used_seen & (q->size - 1)];
	q->used_seen++;
	q->in_flight--;
	if (e.id >= q->size) {
		vn->rx_bad++;
		return 0; /* cannot give back what we do not know */
	}
	n = (int)e.len - (int)sizeof(struct virtio_net_hdr);
	if (n <= 0 || (unsigned)n > size || (unsigned)n > VIRTIO_NET_FRAME_MAX) {
		vn->rx_bad++;
		n = 0;
	} else {
		memcpy(buf, rx_bufs[e.id] + sizeof(struct virtio_net_hdr), (unsigned)n);
		vn->rx_frames++;
		vn->rx_bytes += (unsigned)n;
	}
	make_available(q, (u16)e.id);
	notify(q);
	return n;
}

void virtio_net_release(struct virtio_net *vn)
{
	if (vn->common)
		wr8(vn->common, COMMON_STATUS, 0);
	for (unsigned i = 0; vn->common && rd8(vn->common, COMMON_STATUS) != 0 && i < 1000000; i++)
		;
	in_use = false;
}

void virtio_net_send_at(struct virtio_net *vn, u64 addr, u32 len)
{
	struct virtio_queue *q = &vn->tx;
	u16 id = q->avail_idx & (q->size - 1);

	q->desc[id].addr = addr;
	q->desc[id].len = len;
	q->desc[id].flags = 0;
	make_available(q, id);
	notify(q);
}

void virtio_net_receive_at(struct virtio_net *vn, u64 addr)
{
	for (u16 i = 0; i < vn->rx.size; i++)
		vn->rx.desc[i].addr = addr;
	barrier();
	notify(&vn->rx);
}

void virtio_net_receive_split_at(struct virtio_net *vn, u64 addr, u32 len)
{
	struct virtio_queue *q = &vn->rx;
	u16 head = (u16)(q->used_seen & (q->size - 1)); /* the next one the device takes */
	u16 mid = (u16)((head + 1) & (q->size - 1)), tail = (u16)((head + 2) & (q->size - 1));

	q->desc[head].len = sizeof(struct virtio_net_hdr);
	q->desc[head].flags = VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT;
	q->desc[head].next = mid;
	q->desc[mid].addr = addr;
	q->desc[mid].len = len;
	q->desc[mid].flags = VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT;
	q->desc[mid].next = tail;
	barrier();
	notify(q);
}

u16 virtio_net_rx_used(const struct virtio_net *vn)
{
	return *(volatile u16 *)&vn->rx.used->idx;
}
