/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The disk of an hvm partition (the config's disk, disk_writes and
 * disk_layer keys): finding its image among the loader's modules, taking
 * the copy-on-write layer out of the partition's memory budget, attaching
 * the virtio-blk model (virtio_blk.h) at each start, and the report at its
 * end.  Called by boot.c's kind hooks and platform.c's exit paths.
 *
 * Budget: with a layer, the guest's RAM is memory - disk_layer; the layer
 * is allocated beside it, mapped into no partition, and freed with it.
 */
#ifndef PARTITA_HVM_DISK_H
#define PARTITA_HVM_DISK_H

#include "kernel/lib/types.h"

struct partition;
struct boot_info;

/** Finds the disk image and sets p->disk and p->disk_layer_size; lowers
 *  p->ram_size by the layer.  0 (also without a disk), or an error with a
 *  reason in *why. */
int hvm_disk_check(struct partition *p, const struct boot_info *bi, const char **why);

/** Allocates the layer.  0 or -E_NOMEM with *why. */
int hvm_disk_create(struct partition *p, const char **why);

/** Frees the layer (idempotent). */
void hvm_disk_destroy(struct partition *p);

/** Puts the virtio-blk device on the partition's PCI bus, over an empty
 *  layer (after hvm_reset).  0, or an error with *why. */
int hvm_disk_start(struct partition *p, const char **why);

/** One log line at the partition's end: the requests it made, the layer's
 *  use, and the CRC-32 of the base image (which nothing may change). */
void hvm_disk_report(struct partition *p);

/** CRC-32 (IEEE 802.3, reflected, as zlib's crc32) of len bytes. */
u32 hvm_disk_crc32(const u8 *b, u64 len);

#endif
