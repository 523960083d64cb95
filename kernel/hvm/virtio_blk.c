/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * virtio-blk over a shared read-only image and a private copy-on-write
 * layer (see virtio_blk.h).  Reference: VIRTIO 1.1, 5.2 (configuration
 * layout 5.2.4, requests 5.2.6).  Pure logic: the disk, the layer and the
 * guest's RAM come in as pointers; every request field is the guest's and
 * is checked before anything is copied.
 */
#include "kernel/hvm/virtio_blk.h"
#include "kernel/errno.h"
#include "kernel/lib/bytes.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"

#define VIRTIO_ID_BLOCK 2
#define PCI_CLASS_STORAGE_OTHER 0x018000
#define REQ_HEADER 16 /* le32 type, le32 reserved, le64 sector */
#define SEG_MAX (VIRTIO_BLK_QUEUE_SIZE - 2)
/* Bounds on the work of one exit, so a partition's requests are copied in
 * its own window (DESIGN: time isolation): a buffer at most SIZE_MAX bytes
 * (VIRTIO_BLK_F_SIZE_MAX), so a request moves at most SEG_MAX * SIZE_MAX
 * (about 4 MiB); after WORK_BYTES the rest of the queue waits for the
 * partition's next run (virtio_blk_poll from its prepare hook). */
#define SIZE_MAX_BYTES (16 * 1024)
#define WORK_BYTES (2 * 1024 * 1024)

u64 blk_layer_map_bytes(u64 disk_size)
{
	u64 blocks = ALIGN_UP(disk_size, VIRTIO_BLK_BLOCK) / VIRTIO_BLK_BLOCK;

	return ALIGN_UP(blocks * sizeof(u32), PAGE_SIZE);
}

int blk_disk_init(struct blk_disk *d, const u8 *base, u64 size, u8 *layer, u64 layer_size)
{
	memset(d, 0, sizeof(*d));
	if (!base || !size || size % VIRTIO_BLK_SECTOR)
		return -E_INVAL;
	d->base = base;
	d->size = size;
	if (!layer)
		return 0;
	u64 map = blk_layer_map_bytes(size);
	if (((u64)(uintptr_t)layer & (PAGE_SIZE - 1)) || layer_size < map + VIRTIO_BLK_BLOCK)
		return -E_INVAL;
	struct blk_layer *l = &d->layer;
	l->mem = layer;
	l->size = layer_size;
	l->map = (u32 *)layer;
	l->slots = layer + map;
	l->slot_count = MIN((layer_size - map) / VIRTIO_BLK_BLOCK, 0xfffffffeULL);
	memset(layer, 0, map);
	return 0;
}

static bool in_disk(const struct blk_disk *d, u64 off, u64 len)
{
	return off <= d->size && len <= d->size - off;
}

int blk_disk_read(const struct blk_disk *d, u64 off, u8 *dst, u64 len)
{
	if (!in_disk(d, off, len))
		return -E_RANGE;
	while (len) {
		u64 block = off / VIRTIO_BLK_BLOCK, in = off % VIRTIO_BLK_BLOCK;
		u64 n = MIN(len, VIRTIO_BLK_BLOCK - in);
		u32 slot = d->layer.mem ? d->layer.map[block] : 0;
		const u8 *src = slot ? d->layer.slots + (u64)(slot - 1) * VIRTIO_BLK_BLOCK + in :
				       d->base + off;
		memcpy(dst, src, n);
		dst += n;
		off += n;
		len -= n;
	}
	return 0;
}

int blk_disk_write(struct blk_disk *d, u64 off, const u8 *src, u64 len)
{
	struct blk_layer *l = &d->layer;

	if (!in_disk(d, off, len))
		return -E_RANGE;
	if (!l->mem)
		return -E_PERM;
	while (len) {
		u64 block = off / VIRTIO_BLK_BLOCK, in = off % VIRTIO_BLK_BLOCK;
		u64 n = MIN(len, VIRTIO_BLK_BLOCK - in);
		u32 slot = l->map[block];
		if (!slot) {
			if (l->slots_used >= l->slot_count) {
				l->full_refusals++;
				return -E_NOSPC;
			}
			/* copy on write: the base's block (the disk's last
			 * block may be short: the rest reads as zero) */
			u8 *s = l->slots + l->slots_used * VIRTIO_BLK_BLOCK;
			u64 start = block * VIRTIO_BLK_BLOCK;
			u64 have = MIN((u64)VIRTIO_BLK_BLOCK, d->size - start);
			memcpy(s, d->base + start, have);
			memset(s + have, 0, VIRTIO_BLK_BLOCK - have);
			slot = (u32)++l->slots_used;
			l->map[block] = slot;
		}
		memcpy(l->slots + (u64)(slot - 1) * VIRTIO_BLK_BLOCK + in, src, n);
		src += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* The data of an IN or OUT request, buffer by buffer, to or from the disk
 * at byte offset pos. */
static int transfer(struct virtio_blk *b, bool in, u64 pos, u64 len)
{
	const struct virtq_chain *c = &b->chain;
	u64 skip = in ? 0 : REQ_HEADER; /* OUT data follow the header */

	for (unsigned i = 0; i < c->count && len; i++) {
		const struct virtq_seg *s = &c->seg[i];
		if (s->write != in)
			continue;
		if (skip >= s->len) {
			skip -= s->len;
			continue;
		}
		u64 n = MIN(s->len - skip, len);
		int err = in ? blk_disk_read(&b->disk, pos, s->host + skip, n) :
			       blk_disk_write(&b->disk, pos, s->host + skip, n);
		if (err)
			return err;
		skip = 0;
		pos += n;
		len -= n;
	}
	return 0;
}

/* One request (5.2.6): the status byte and the used length. */
static u8 request(struct virtio_blk *b, u32 *used)
{
	const struct virtq_chain *c = &b->chain;
	u8 hdr[REQ_HEADER];

	*used = 1;
	if (c->readable < REQ_HEADER || virtq_chain_read(c, 0, hdr, REQ_HEADER) != REQ_HEADER)
		return VIRTIO_BLK_S_IOERR;
	for (unsigned i = 0; i < c->count; i++)
		if (c->seg[i].len > SIZE_MAX_BYTES)
			return VIRTIO_BLK_S_IOERR; /* larger than size_max */
	u32 type = rd32(hdr, 0);
	u64 sector = rd64(hdr, 8);
	u64 len, pos;
	int err;

	switch (type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		len = type == VIRTIO_BLK_T_IN ? c->writable - 1 : c->readable - REQ_HEADER;
		if (len % VIRTIO_BLK_SECTOR || sector > b->disk.size / VIRTIO_BLK_SECTOR)
			return VIRTIO_BLK_S_IOERR;
		pos = sector * VIRTIO_BLK_SECTOR;
		err = transfer(b, type == VIRTIO_BLK_T_IN, pos, len);
		if (type == VIRTIO_BLK_T_IN)
			b->reads++;
		else
			b->writes++;
		if (type == VIRTIO_BLK_T_IN && !err)
			*used = (u32)(len + 1);
		/* once: a line the log suppressed is tried at the next one */
		if (err == -E_NOSPC && !b->full_logged)
			b->full_logged =
				log_guest(LOG_KIND_IO,
					  "hvm: partition %s: virtio-blk: the disk layer is full "
					  "(%llu blocks): writes fail",
					  b->vdev.partition,
					  (unsigned long long)b->disk.layer.slot_count);
		return err ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_FLUSH:
		/* The layer is the partition's RAM: written is stable. */
		b->flushes++;
		if (!b->flush_logged)
			b->flush_logged = log_guest(LOG_KIND_IO,
						    "hvm: partition %s: virtio-blk: first flush",
						    b->vdev.partition);
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID:
		len = MIN(c->writable - 1, (u64)sizeof(b->id));
		virtq_chain_write(c, 0, b->id, len);
		*used = (u32)(len + 1);
		return VIRTIO_BLK_S_OK;
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

static void blk_notify(struct virtio_dev *v, unsigned q)
{
	struct virtio_blk *b = (struct virtio_blk *)v; /* vdev is first */
	struct virtq *vq = &v->queue[q];
	const char *why = "";
	bool any = false;
	u64 work = 0;
	int got;

	b->pending = false;
	do {
		while ((got = virtq_pop(vq, &v->mem, &b->chain, &why)) > 0) {
			u32 used;
			work += b->chain.readable + b->chain.writable;
			if (!b->chain.writable) {
				virtio_pci_stop(v, "a request without a status byte");
				return;
			}
			u8 status = request(b, &used);
			if (status != VIRTIO_BLK_S_OK)
				b->errors++;
			virtq_chain_write(&b->chain, b->chain.writable - 1, &status, 1);
			virtq_push(vq, b->chain.head, used);
			any = true;
			if (work >= WORK_BYTES) {
				b->pending = true; /* the rest at its next run */
				break;
			}
		}
		if (got < 0) {
			virtio_pci_stop(v, why);
			return;
		}
	} while (!b->pending && virtq_publish_avail_event(vq));
	if (any)
		virtio_pci_used(v, q);
}

bool virtio_blk_poll(struct virtio_blk *b)
{
	struct virtio_dev *v = &b->vdev;

	if (!b->pending)
		return false;
	b->pending = false;
	if (!v->stopped && v->queue[0].enabled && (v->status & VIRTIO_STATUS_DRIVER_OK))
		blk_notify(v, 0);
	return b->pending;
}

static const struct virtio_dev_ops blk_ops = {
	.notify = blk_notify,
};

int virtio_blk_attach(struct virtio_blk *b, struct vpci *bus, const struct virtq_mem *mem,
		      const char *partition, const u8 *base, u64 size, u8 *layer, u64 layer_size)
{
	struct blk_disk disk;
	int err;

	if ((err = blk_disk_init(&disk, base, size, layer, layer_size)))
		return err;
	u64 features = VIRTIO_BLK_F_SIZE_MAX | VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_FLUSH |
		       (layer ? 0 : VIRTIO_BLK_F_RO);
	if ((err = virtio_pci_init(&b->vdev, bus, VIRTIO_BLK_SLOT, VIRTIO_ID_BLOCK,
				   PCI_CLASS_STORAGE_OTHER, 1, VIRTIO_BLK_QUEUE_SIZE, features,
				   &blk_ops, mem, partition, "virtio-blk")))
		return err;
	b->disk = disk;
	b->reads = b->writes = b->flushes = b->errors = 0;
	b->full_logged = b->flush_logged = b->pending = false;
	snprintf(b->id, sizeof(b->id), "partita-%s", b->vdev.partition);
	/* 5.2.4: capacity in sectors at 0, size_max at 8, seg_max at 12
	 * (geometry, blk_size and the rest are not offered: zero). */
	struct virtio_dev *v = &b->vdev;
	v->config_len = 0x3c;
	wr64(v->config, 0, size / VIRTIO_BLK_SECTOR);
	wr32(v->config, 8, SIZE_MAX_BYTES);
	wr32(v->config, 12, SEG_MAX);
	return 0;
}
