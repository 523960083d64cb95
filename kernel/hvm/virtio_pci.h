/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The virtio 1.x PCI transport of the virtual devices of an hvm partition
 * (VIRTIO 1.1, 4.1 "Virtio Over PCI Bus", the modern interface only: PCI
 * device ID 0x1040 + the virtio device ID, revision 1).  A device model
 * (virtio_blk.c) embeds a struct virtio_dev and gives its device features,
 * its configuration bytes and a notify hook; this file does the rest:
 *
 *   BAR 0 (32-bit memory, 16 KiB, placed by the hypervisor as firmware
 *   would, inside the window of the DSDT's _CRS):
 *     0x0000  common configuration (4.1.4.3): features, status, queues
 *     0x1000  ISR status (4.1.4.5): read to clear, drives INTx
 *     0x2000  device-specific configuration (4.1.4.6)
 *     0x3000  notifications (4.1.4.4): queue q at 0x3000 + 4 * q
 *   BAR 1 (32-bit memory, 4 KiB): the MSI-X table at 0, the PBA at 0x800;
 *   one vector for configuration changes and one per queue (4.1.5.1.2);
 *   INTA# when MSI-X is off.
 *
 * The four capabilities (vendor-specific, 4.1.4) point there.  Features:
 * VIRTIO_F_VERSION_1 and the event index besides the device's; a driver
 * that accepts anything else, or not VERSION_1, does not get FEATURES_OK
 * (3.1.1).  The device processes a queue when the driver notifies it, in
 * the exit of that notification, and only after DRIVER_OK.
 *
 * A guest that breaks a ring (virtq.h's checks) or a request stops the
 * device: one log line names the partition, the device and the reason,
 * the status gets DEVICE_NEEDS_RESET (2.1.1), the device ignores its
 * queues until the driver resets it, and the hypervisor and every other
 * partition go on.
 */
#ifndef PARTITA_HVM_VIRTIO_PCI_H
#define PARTITA_HVM_VIRTIO_PCI_H

#include "kernel/hvm/virtq.h"
#include "kernel/hvm/vpci.h"
#include "kernel/lib/types.h"

#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040
#define VIRTIO_MAX_QUEUES 2
#define VIRTIO_CONFIG_MAX 64 /* bytes of device configuration */
#define VIRTIO_MSI_NO_VECTOR 0xffff

/* Layout of BAR 0 (above). */
#define VIRTIO_BAR0_SIZE 0x4000
#define VIRTIO_COMMON_OFF 0x0000
#define VIRTIO_COMMON_LEN 0x38
#define VIRTIO_ISR_OFF 0x1000
#define VIRTIO_DEVICE_OFF 0x2000
#define VIRTIO_NOTIFY_OFF 0x3000
#define VIRTIO_NOTIFY_MULT 4
#define VIRTIO_BAR1_SIZE 0x1000
#define VIRTIO_MSIX_PBA_OFF 0x800

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

/* Feature bits every device here has or may have (6). */
#define VIRTIO_F_EVENT_IDX (1ULL << 29)
#define VIRTIO_F_VERSION_1 (1ULL << 32)

struct virtio_dev;

/** What a device model gives the transport. */
struct virtio_dev_ops {
	/** The driver notified queue q (enabled, after DRIVER_OK, device
	 *  not stopped): take its chains and push them back. */
	void (*notify)(struct virtio_dev *v, unsigned q);
	/** The driver reset the device (status 0): forget requests. */
	void (*reset)(struct virtio_dev *v);
};

struct virtio_dev {
	struct vpci_device pci;
	const struct virtio_dev_ops *ops;
	const char *partition; /* for log lines */
	const char *kind;      /* "virtio-blk" */
	struct virtq_mem mem;
	u64 device_features, driver_features;
	u32 device_feature_select, driver_feature_select;
	u16 msix_config;
	u8 status;
	u8 generation;
	u16 queue_select;
	unsigned queue_count;
	u16 queue_max;
	struct virtq queue[VIRTIO_MAX_QUEUES];
	u16 queue_vector[VIRTIO_MAX_QUEUES];
	u8 isr; /* bit 0: a queue, bit 1: configuration (4.1.4.5) */
	bool stopped;
	u8 config[VIRTIO_CONFIG_MAX]; /* device-specific, read-only */
	unsigned config_len;
	u64 stop_count; /* times a guest broke it */
};

/**
 * Fills v as virtio device type id (5: 2 is block) with queue_count
 * queues of at most queue_max entries, device features features (besides
 * VERSION_1 and EVENT_IDX), PCI class class_code, and registers it at
 * 00:slot.0 of bus with its BARs placed in the PCI window.  The model
 * fills v->config and v->config_len after.  mem is the guest's RAM.
 * Returns 0 or -E_INVAL (bad arguments, slot taken).
 */
int virtio_pci_init(struct virtio_dev *v, struct vpci *bus, unsigned slot, u16 id, u32 class_code,
		    unsigned queue_count, u16 queue_max, u64 features,
		    const struct virtio_dev_ops *ops, const struct virtq_mem *mem,
		    const char *partition, const char *kind);

/** True if feature bit (a VIRTIO_* mask) was negotiated. */
bool virtio_has(const struct virtio_dev *v, u64 feature);

/** Stops v because the guest broke it: one log line with why, status
 *  DEVICE_NEEDS_RESET, a configuration interrupt; the queues are ignored
 *  until the driver resets the device. */
void virtio_pci_stop(struct virtio_dev *v, const char *why);

/** After pushing used buffers on queue q: interrupts the driver if it
 *  wants one (event index or NO_INTERRUPT), by MSI-X or INTx. */
void virtio_pci_used(struct virtio_dev *v, unsigned q);

#endif
