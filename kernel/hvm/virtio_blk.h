/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * virtio-blk for hvm partitions (VIRTIO 1.1, 5.2 "Block Device"), at PCI
 * 00:04.0 over the transport of virtio_pci.h, one request queue of 256
 * entries.  The disk is a raw image the loader read from the ESP (the
 * config's `disk = FILE`), shared by every partition that names it and
 * never written: the hypervisor maps it into no partition, and this model
 * only reads it.
 *
 *   read-only (default)   VIRTIO_BLK_F_RO is offered; a write request is
 *                         answered VIRTIO_BLK_S_IOERR.
 *   layer (disk_writes)   a private copy-on-write layer in memory taken
 *                         from the partition's budget: a map of one 32-bit
 *                         entry per 4 KiB block of the disk (0: the base's
 *                         block, n: slot n - 1), then the slots.  The first
 *                         write to a block copies it from the base into the
 *                         next free slot; reads take the slot if there is
 *                         one.  When no slot is left the write is answered
 *                         VIRTIO_BLK_S_IOERR, and nothing outside the layer
 *                         is touched.  A restart of the partition starts
 *                         with an empty layer.
 *
 * Work: one buffer is at most 16 KiB (VIRTIO_BLK_F_SIZE_MAX; a larger one
 * is answered IOERR), one exit handles about 2 MiB of requests, the rest
 * waits for the partition's next run (virtio_blk_poll).
 *
 * Requests (5.2.6): IN, OUT, FLUSH (VIRTIO_BLK_F_FLUSH: the layer is RAM,
 * so a flush has nothing to wait for, and is counted), GET_ID; any other
 * type is answered UNSUPP.  A request past the end of the disk, or whose
 * length is not whole sectors, is answered IOERR.  A chain without a
 * device-writable status byte cannot be answered: it stops the device, as
 * a broken ring does.
 */
#ifndef PARTITA_HVM_VIRTIO_BLK_H
#define PARTITA_HVM_VIRTIO_BLK_H

#include "kernel/hvm/virtio_pci.h"
#include "kernel/lib/types.h"

#define VIRTIO_BLK_SLOT 4
#define VIRTIO_BLK_QUEUE_SIZE 256
#define VIRTIO_BLK_SECTOR 512
#define VIRTIO_BLK_BLOCK 4096 /* the layer's unit */

/* Request types and status (5.2.6). */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX (1ULL << 1)
#define VIRTIO_BLK_F_SEG_MAX (1ULL << 2)
#define VIRTIO_BLK_F_RO (1ULL << 5)
#define VIRTIO_BLK_F_FLUSH (1ULL << 9)

/** A copy-on-write layer over a read-only base. */
struct blk_layer {
	u8 *mem; /* NULL: no layer, the disk is read-only */
	u64 size;
	u32 *map;	   /* one entry per block of the disk */
	u8 *slots;	   /* slot_count blocks */
	u64 slot_count;	   /* blocks the layer can hold */
	u64 slots_used;	   /* taken so far */
	u64 full_refusals; /* writes refused because no slot was left */
};

/** The disk as the device sees it: base (never written) and layer. */
struct blk_disk {
	const u8 *base;
	u64 size; /* bytes: whole sectors */
	struct blk_layer layer;
};

/** The bytes a layer over a disk of disk_size bytes needs for its map
 *  (rounded up to a page). */
u64 blk_layer_map_bytes(u64 disk_size);

/**
 * Sets up *d over base (size bytes, a multiple of the sector size), with
 * a layer in [layer, layer + layer_size) if layer is not NULL (page
 * aligned, larger than its map: at least one slot).  Clears the layer's
 * map.  Returns 0 or -E_INVAL.
 */
int blk_disk_init(struct blk_disk *d, const u8 *base, u64 size, u8 *layer, u64 layer_size);

/** Reads len bytes at byte offset off of the disk into dst.  0, or -E_RANGE
 *  (not inside the disk). */
int blk_disk_read(const struct blk_disk *d, u64 off, u8 *dst, u64 len);

/** Writes len bytes from src at byte offset off.  0; -E_RANGE (not inside
 *  the disk); -E_PERM (no layer); -E_NOSPC (the layer is full: the bytes
 *  of the blocks that had a slot are written, the others are not). */
int blk_disk_write(struct blk_disk *d, u64 off, const u8 *src, u64 len);

struct virtio_blk {
	struct virtio_dev vdev;
	struct blk_disk disk;
	char id[20]; /* GET_ID's answer (5.2.6: 20 bytes, no NUL if full) */
	u64 reads, writes, flushes, errors;
	bool full_logged, flush_logged;
	bool pending; /* requests left for the next run (virtio_blk_poll) */
	struct virtq_chain chain;
};

/**
 * Attaches a virtio-blk device at 00:04.0 of bus over the disk (base,
 * size; layer as blk_disk_init), for the partition whose RAM is mem.
 * Returns 0 or -E_INVAL.
 */
int virtio_blk_attach(struct virtio_blk *b, struct vpci *bus, const struct virtq_mem *mem,
		      const char *partition, const u8 *base, u64 size, u8 *layer, u64 layer_size);

/** Goes on with the requests one exit left (each exit copies at most about
 *  2 MiB plus one request, so the work stays in the partition's window).
 *  Returns true if some are still left. */
bool virtio_blk_poll(struct virtio_blk *b);

#endif
