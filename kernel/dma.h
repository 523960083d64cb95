/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * DMA isolation of partitions: how the devices a partition owns reach
 * memory.  With an IOMMU that covers the device (drivers/iommu.h) the
 * partition gets a domain mapping exactly its RAM and its channels at the
 * guest-physical addresses it uses, so its start-info page says dma_offset
 * 0, and it need not be trusted.  Without one, the device's DMA reaches all
 * of the machine: only a partition declared `trusted = yes` may own it, and
 * its start-info page gives the host base of its RAM as dma_offset.
 *
 * The calls partition.c makes, in its life cycle:
 *   dma_partition_create()  once, after its devices and channels are mapped
 *   dma_partition_start()   at every start (attaches its devices)
 *   dma_partition_stop()    at every stop (blocks them again)
 *   dma_partition_destroy() if the partition is ever taken away
 *   dma_offset()            for its start-info page
 * and the scheduler calls dma_poll_faults() once per pass of its loop.
 */
#ifndef PARTITA_DMA_H
#define PARTITA_DMA_H

#include "kernel/lib/types.h"

struct partition;

/**
 * Decides, once, how p's devices reach memory, and builds its domain if an
 * IOMMU isolates all of them.  Logs the decision and its reason.  Returns 0,
 * -E_PERM (a device is not isolated and p is not trusted: p must not run),
 * or the error of building the domain.
 */
int dma_partition_create(struct partition *p);

/** Attaches p's devices to its domain.  0, or -E_PERM if p may not run with
 *  its devices (see dma_partition_create), or the IOMMU's error. */
int dma_partition_start(struct partition *p);

/** Blocks p's devices: from now on their DMA faults. */
void dma_partition_stop(struct partition *p);

/** Blocks p's devices and frees its domain. */
void dma_partition_destroy(struct partition *p);

/** What p's guest adds to a guest-physical address of its RAM to get the
 *  address its devices must use: 0 under an IOMMU, else its host base. */
u64 dma_offset(const struct partition *p);

/**
 * Takes the IOMMU's pending faults, logs each with device, address and
 * owner, and stops (or restarts, by its on_fault) the running partition
 * whose device caused it.  Called from the scheduler's loop.
 */
/** A DMA the IOMMU blocked, and the device's owner. */
struct dma_fault_report {
	struct partition *p;
	char reason[96];
};

/**
 * Reads the IOMMU's fault records (at most every 250 us), logs them, and
 * returns up to max reports of faults by devices that partitions own; the
 * caller applies the owner's on_fault policy.
 */
unsigned dma_poll_faults(struct dma_fault_report *out, unsigned max);

#endif
