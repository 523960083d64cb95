/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Device interrupts of passed-through PCI devices, delivered to the device's
 * owner only.  The hypervisor, not the partition, writes the device's MSI
 * capability or MSI-X table: each device gets one hypervisor vector on its
 * owner's CPU, through the IOMMU's interrupt remapping where there is one
 * (an entry the hypervisor writes, valid for that requester ID only), else
 * as a message the hypervisor programs.  The partition cannot change the
 * address, data or enable bits (its configuration writes to the MSI and
 * MSI-X capabilities are refused, and the page of the MSI-X table is not
 * mapped into it).  The vector's interrupt becomes the event bit
 * PARTITA_DEVICE_EVENT(k) of its owner (k: the device's index in its
 * start-info page), which wakes HC_WAIT.
 *
 * The calls, and who makes them:
 *   devirq_page_hidden()     partition.c, while it maps a device's BARs
 *   devirq_partition_create() partition.c, once, after dma_partition_create
 *   devirq_partition_start()  partition.c, at every start (after DMA)
 *   devirq_partition_stop()   partition.c, at every stop
 *   devirq_partition_destroy() partition.c, if the partition is taken away
 *   devirq_config_write_allowed() hypercall.c, for HC_PCI_WRITE
 *   devirq_take(), devirq_raised() the scheduler: the interrupt handler only
 *                             records; the scheduler raises the events
 *                             (partition_signal) in its own loop.
 *
 * Lock rule: the tables are written at creation, start and stop, on the
 * owner's CPU; the interrupt handler runs on the owner's CPU too and only
 * ORs bits into `pending` (atomics), which devirq_take exchanges.
 */
#ifndef PARTITA_DEVIRQ_H
#define PARTITA_DEVIRQ_H

#include "kernel/lib/types.h"

struct partition;
struct pci_device;

/* Hypervisor vectors of device interrupts: one per device. */
#define DEVIRQ_VECTOR_BASE 0xb0
#define DEVIRQ_MAX 16

/** Whether the 4 KiB page at hpa page of d's BARs holds its MSI-X table
 *  (or its pending-bit array): such a page is not mapped into the owner. */
bool devirq_page_hidden(const struct pci_device *d, u64 page);

/**
 * Finds the MSI or MSI-X capability of each of p's devices and gives it a
 * vector.  A device with neither is left polled.  Logs what each device
 * gets.  Returns 0 or -E_NOSPC (out of vectors: that device stays polled,
 * the partition still runs, so this is logged, not returned).
 */
int devirq_partition_create(struct partition *p);

/** Programs p's devices' interrupts (through the IOMMU's remapping where
 *  there is one) and enables them.  0 or the IOMMU's error. */
int devirq_partition_start(struct partition *p);

/** Disables p's devices' interrupts and blocks their remapping entries. */
void devirq_partition_stop(struct partition *p);

/** Stops p's devices' interrupts and gives their vectors back. */
void devirq_partition_destroy(struct partition *p);

/** Whether HC_PCI_WRITE may write [offset, offset + size) of d's
 *  configuration space: not where its MSI or MSI-X capability is. */
bool devirq_config_write_allowed(const struct pci_device *d, unsigned offset, unsigned size);

/** Whether a device interrupt arrived on this CPU since its last
 *  devirq_take (the scheduler's idle loop ends its halt for it). */
bool devirq_raised(void);

/**
 * Takes the next partition of this CPU with device events that arrived
 * since the last call, and its event bits (cleared here); NULL when there
 * are none left.
 */
struct partition *devirq_take(u32 *bits);

/** How d interrupts its owner: PARTITA_DEVICE_IRQ_NONE, _MSI or _MSIX. */
unsigned devirq_device_irq(const struct pci_device *d);

/**
 * The scheduler says whose time it is on this CPU: p's window (NULL: idle
 * time).  The sources of other partitions of this CPU are masked at the
 * device (MSI-X function mask, MSI per-vector mask), p's unmasked: what a
 * device raised meanwhile is held and sent in its owner's window, so a
 * flooding device costs the others nothing but this switch.  A device
 * that cannot be masked (MSI without per-vector masking) is counted.
 */
void devirq_time_of(struct partition *p);

/* A report line for every DEVIRQ_REPORT_EVERY interrupts of a device. */
#define DEVIRQ_REPORT_EVERY 256ULL

/** Logs, for each device that took DEVIRQ_REPORT_EVERY interrupts since its
 *  last line, how many it took and how many outside its owner's windows.
 *  From the scheduler's loop (not the interrupt handler). */
void devirq_report(void);

/** Interrupts counted for p's device k since boot (for its tests). */
u64 devirq_count(const struct partition *p, unsigned k);

#endif
