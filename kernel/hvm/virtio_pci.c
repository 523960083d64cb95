/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The virtio 1.x modern PCI transport (see virtio_pci.h).  References:
 * VIRTIO 1.1, 2.1 (status), 3.1 (initialization), 4.1.4 (capabilities and
 * the common configuration), 4.1.5 (notifications and interrupts), 6
 * (reserved feature bits).  Pure logic over the virtual PCI bus (vpci.c):
 * every offset, size and value comes from the guest and is checked.
 */
#include "kernel/hvm/virtio_pci.h"
#include "kernel/errno.h"
#include "kernel/lib/bytes.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"

/* Capability types (4.1.4). */
#define CAP_COMMON 1
#define CAP_NOTIFY 2
#define CAP_ISR 3
#define CAP_DEVICE 4

#define SLOT_MMIO_SIZE 0x100000ULL /* each slot's share of the PCI window */
#define BAR1_OFF 0x10000ULL

/* The common configuration's fields (4.1.4.3), by offset. */
enum {
	CC_DFSELECT = 0x00,
	CC_DF = 0x04,
	CC_GFSELECT = 0x08,
	CC_GF = 0x0c,
	CC_MSIX = 0x10,
	CC_NUMQ = 0x12,
	CC_STATUS = 0x14,
	CC_GENERATION = 0x15,
	CC_Q_SELECT = 0x16,
	CC_Q_SIZE = 0x18,
	CC_Q_MSIX = 0x1a,
	CC_Q_ENABLE = 0x1c,
	CC_Q_NOFF = 0x1e,
	CC_Q_DESC = 0x20,
	CC_Q_DESC_HI = 0x24,
	CC_Q_AVAIL = 0x28,
	CC_Q_AVAIL_HI = 0x2c,
	CC_Q_USED = 0x30,
	CC_Q_USED_HI = 0x34,
};

/* Fields as written: offset and width (64-bit addresses as two halves,
 * which is how drivers write them, 4.1.3.1). */
static const struct {
	u8 off, len;
} cc_fields[] = {
	{ CC_DFSELECT, 4 },   { CC_DF, 4 },	{ CC_GFSELECT, 4 },  { CC_GF, 4 },
	{ CC_MSIX, 2 },	      { CC_NUMQ, 2 },	{ CC_STATUS, 1 },    { CC_GENERATION, 1 },
	{ CC_Q_SELECT, 2 },   { CC_Q_SIZE, 2 }, { CC_Q_MSIX, 2 },    { CC_Q_ENABLE, 2 },
	{ CC_Q_NOFF, 2 },     { CC_Q_DESC, 4 }, { CC_Q_DESC_HI, 4 }, { CC_Q_AVAIL, 4 },
	{ CC_Q_AVAIL_HI, 4 }, { CC_Q_USED, 4 }, { CC_Q_USED_HI, 4 },
};

static const struct virtq_mem no_mem;

bool virtio_has(const struct virtio_dev *v, u64 feature)
{
	return (v->driver_features & feature) == feature && (v->status & VIRTIO_STATUS_FEATURES_OK);
}

static struct virtq *selected(struct virtio_dev *v)
{
	return v->queue_select < v->queue_count ? &v->queue[v->queue_select] : NULL;
}

/* The common configuration as the driver reads it now. */
static void cc_snapshot(struct virtio_dev *v, u8 *b)
{
	const struct virtq *q = selected(v);
	u32 df = v->device_feature_select == 0 ? (u32)v->device_features :
		 v->device_feature_select == 1 ? (u32)(v->device_features >> 32) :
						 0;
	u32 gf = v->driver_feature_select == 0 ? (u32)v->driver_features :
		 v->driver_feature_select == 1 ? (u32)(v->driver_features >> 32) :
						 0;

	memset(b, 0, VIRTIO_COMMON_LEN);
	wr32(b, CC_DFSELECT, v->device_feature_select);
	wr32(b, CC_DF, df);
	wr32(b, CC_GFSELECT, v->driver_feature_select);
	wr32(b, CC_GF, gf);
	wr16(b, CC_MSIX, v->msix_config);
	wr16(b, CC_NUMQ, (u16)v->queue_count);
	wr8(b, CC_STATUS, v->status);
	wr8(b, CC_GENERATION, v->generation);
	wr16(b, CC_Q_SELECT, v->queue_select);
	if (!q)
		return; /* 4.1.4.3.2: a queue that is not there has size 0 */
	wr16(b, CC_Q_SIZE, q->size);
	wr16(b, CC_Q_MSIX, v->queue_vector[v->queue_select]);
	wr16(b, CC_Q_ENABLE, q->enabled);
	wr16(b, CC_Q_NOFF, v->queue_select);
	wr64(b, CC_Q_DESC, q->desc_gpa);
	wr64(b, CC_Q_AVAIL, q->avail_gpa);
	wr64(b, CC_Q_USED, q->used_gpa);
}

static void intx_level(struct virtio_dev *v)
{
	vpci_intx(&v->pci, v->isr != 0);
}

static bool msix_on(const struct virtio_dev *v)
{
	return rd16(v->pci.cfg, v->pci.msix_cap + 2) & (1u << 15);
}

/* Raises an interrupt: MSI-X vector if MSI-X is on (none if the driver
 * gave NO_VECTOR, 4.1.5.1.2.1), else the ISR bit and INTA#. */
static void interrupt(struct virtio_dev *v, u16 vector, u8 isr_bit)
{
	if (msix_on(v)) {
		if (vector != VIRTIO_MSI_NO_VECTOR)
			vpci_msix_notify(&v->pci, vector);
		return;
	}
	v->isr |= isr_bit;
	intx_level(v);
}

static void device_reset(struct virtio_dev *v)
{
	v->driver_features = 0;
	v->device_feature_select = v->driver_feature_select = 0;
	v->msix_config = VIRTIO_MSI_NO_VECTOR;
	v->status = 0;
	v->queue_select = 0;
	v->stopped = false;
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		virtq_reset(&v->queue[i], i < v->queue_count ? v->queue_max : 0);
		v->queue_vector[i] = VIRTIO_MSI_NO_VECTOR;
	}
	v->isr = 0;
	intx_level(v);
	if (v->ops && v->ops->reset)
		v->ops->reset(v);
}

void virtio_pci_stop(struct virtio_dev *v, const char *why)
{
	if (v->stopped)
		return;
	v->stopped = true;
	v->stop_count++;
	v->status |= VIRTIO_STATUS_NEEDS_RESET;
	log_guest(LOG_KIND_IO, "hvm: partition %s: %s stopped: %s (until the driver resets it)",
		  v->partition, v->kind, why);
	interrupt(v, v->msix_config, 2);
}

void virtio_pci_used(struct virtio_dev *v, unsigned q)
{
	if (q < v->queue_count && virtq_should_notify(&v->queue[q]))
		interrupt(v, v->queue_vector[q], 1);
}

static void kick(struct virtio_dev *v, unsigned q)
{
	if (q >= v->queue_count || v->stopped || !v->queue[q].enabled ||
	    !(v->status & VIRTIO_STATUS_DRIVER_OK))
		return;
	v->ops->notify(v, q);
}

static void set_status(struct virtio_dev *v, u8 s)
{
	if (s == 0) {
		device_reset(v); /* 4.1.4.3.1: writing 0 resets the device */
		return;
	}
	u8 old = v->status;
	if ((s & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
		/* 3.1.1 step 6: only a subset of the offered features, and
		 * VERSION_1 (6.1: a modern device refuses a legacy driver). */
		if ((v->driver_features & ~v->device_features) ||
		    !(v->driver_features & VIRTIO_F_VERSION_1))
			s &= (u8)~VIRTIO_STATUS_FEATURES_OK;
	}
	/* Bits the driver set stay set until a reset (2.1.2); NEEDS_RESET is
	 * the device's. */
	v->status = (u8)((old | s) & ~VIRTIO_STATUS_NEEDS_RESET) |
		    (old & VIRTIO_STATUS_NEEDS_RESET);
	if ((v->status & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK))
		for (unsigned i = 0; i < v->queue_count; i++)
			v->queue[i].event_idx = v->driver_features & VIRTIO_F_EVENT_IDX;
	if ((v->status & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK))
		for (unsigned i = 0; i < v->queue_count; i++)
			kick(v, i); /* buffers made available before DRIVER_OK */
}

static void enable_queue(struct virtio_dev *v, struct virtq *q)
{
	const char *why = "";

	if (q->enabled)
		return;
	if (virtq_enable(q, &v->mem, v->queue_max, &why))
		virtio_pci_stop(v, why);
	else
		q->event_idx = virtio_has(v, VIRTIO_F_EVENT_IDX);
}

/* A write of value to field off (its whole width after merging). */
static void cc_field_write(struct virtio_dev *v, unsigned off, u32 value)
{
	struct virtq *q = selected(v);
	bool q_writable = q && !q->enabled; /* 4.1.4.3.2: not while enabled */
	bool features_open = !(v->status & VIRTIO_STATUS_FEATURES_OK);

	switch (off) {
	case CC_DFSELECT:
		v->device_feature_select = value;
		break;
	case CC_GFSELECT:
		v->driver_feature_select = value;
		break;
	case CC_GF:
		if (!features_open || v->driver_feature_select > 1)
			break;
		if (v->driver_feature_select == 0)
			v->driver_features = (v->driver_features & ~0xffffffffULL) | value;
		else
			v->driver_features = (v->driver_features & 0xffffffffULL) |
					     ((u64)value << 32);
		break;
	case CC_MSIX:
		/* 4.1.5.1.2: a vector the device does not have reads back as
		 * NO_VECTOR. */
		v->msix_config = value < v->pci.msix_count ? (u16)value : VIRTIO_MSI_NO_VECTOR;
		break;
	case CC_STATUS:
		set_status(v, (u8)value);
		break;
	case CC_Q_SELECT:
		v->queue_select = (u16)value;
		break;
	case CC_Q_SIZE:
		if (q_writable)
			q->size = (u16)value;
		break;
	case CC_Q_MSIX:
		if (q)
			v->queue_vector[v->queue_select] =
				value < v->pci.msix_count ? (u16)value : VIRTIO_MSI_NO_VECTOR;
		break;
	case CC_Q_ENABLE:
		if (q && value == 1)
			enable_queue(v, q);
		break;
	case CC_Q_DESC:
	case CC_Q_DESC_HI:
	case CC_Q_AVAIL:
	case CC_Q_AVAIL_HI:
	case CC_Q_USED:
	case CC_Q_USED_HI: {
		if (!q_writable)
			break;
		u64 *a = off < CC_Q_AVAIL ? &q->desc_gpa :
			 off < CC_Q_USED  ? &q->avail_gpa :
					    &q->used_gpa;
		if (off & 4)
			*a = (*a & 0xffffffffULL) | ((u64)value << 32);
		else
			*a = (*a & ~0xffffffffULL) | value;
		break;
	}
	default:
		break; /* read-only fields */
	}
}

static void cc_write(struct virtio_dev *v, u64 off, unsigned size, u64 value)
{
	for (unsigned f = 0; f < ARRAY_SIZE(cc_fields); f++) {
		unsigned fo = cc_fields[f].off, fl = cc_fields[f].len;
		if (off >= fo + fl || off + size <= fo)
			continue;
		/* Merge the written bytes into the field's current value
		 * (the snapshot is taken anew: an earlier field of the same
		 * access may have been the queue select). */
		u8 b[VIRTIO_COMMON_LEN];
		cc_snapshot(v, b);
		for (unsigned i = 0; i < size; i++)
			if (off + i >= fo && off + i < fo + fl)
				b[off + i] = (u8)(value >> (8 * i));
		u32 merged = fl == 4 ? rd32(b, fo) : fl == 2 ? rd16(b, fo) : b[fo];
		cc_field_write(v, fo, merged);
	}
}

static u64 bar0_read(struct vpci_device *d, unsigned bar, u64 off, unsigned size)
{
	struct virtio_dev *v = d->ctx;
	u8 b[VIRTIO_COMMON_LEN];
	u64 r = 0;

	if (bar != 0)
		return 0;
	if (off < VIRTIO_COMMON_OFF + VIRTIO_COMMON_LEN) {
		cc_snapshot(v, b);
		for (unsigned i = 0; i < size && off + i < VIRTIO_COMMON_LEN; i++)
			r |= (u64)b[off + i] << (8 * i);
		return r;
	}
	if (off >= VIRTIO_ISR_OFF && off < VIRTIO_ISR_OFF + 4) {
		/* 4.1.4.5.1: reading clears it and deasserts INTx */
		if (off != VIRTIO_ISR_OFF)
			return 0;
		r = v->isr;
		v->isr = 0;
		intx_level(v);
		return r;
	}
	if (off >= VIRTIO_DEVICE_OFF && off < VIRTIO_DEVICE_OFF + VIRTIO_CONFIG_MAX) {
		u64 o = off - VIRTIO_DEVICE_OFF;
		for (unsigned i = 0; i < size && o + i < v->config_len; i++)
			r |= (u64)v->config[o + i] << (8 * i);
		return r;
	}
	return 0;
}

static void bar0_write(struct vpci_device *d, unsigned bar, u64 off, unsigned size, u64 value)
{
	struct virtio_dev *v = d->ctx;

	if (bar != 0)
		return;
	if (off < VIRTIO_COMMON_OFF + VIRTIO_COMMON_LEN) {
		cc_write(v, off, size, value);
		return;
	}
	/* 4.1.4.4: the driver writes the queue's index at its address */
	if (off >= VIRTIO_NOTIFY_OFF &&
	    off < VIRTIO_NOTIFY_OFF + VIRTIO_NOTIFY_MULT * v->queue_count &&
	    (off - VIRTIO_NOTIFY_OFF) % VIRTIO_NOTIFY_MULT == 0)
		kick(v, (unsigned)((off - VIRTIO_NOTIFY_OFF) / VIRTIO_NOTIFY_MULT));
	/* the device configuration is read-only here; the rest is empty */
}

static const struct vpci_ops virtio_pci_ops = {
	.bar_read = bar0_read,
	.bar_write = bar0_write,
};

/* A virtio_pci_cap (4.1.4) of type at [off, off + len) of BAR 0. */
static int add_cap(struct virtio_dev *v, u8 type, u32 off, u32 len)
{
	u8 c[18] = { 0 };
	unsigned n = type == CAP_NOTIFY ? 18 : 14;

	c[0] = (u8)(n + 2); /* cap_len counts the ID and next bytes */
	c[1] = type;
	c[2] = 0; /* BAR 0 */
	wr32(c, 6, off);
	wr32(c, 10, len);
	if (type == CAP_NOTIFY)
		wr32(c, 14, VIRTIO_NOTIFY_MULT);
	return vpci_device_add_vendor_cap(&v->pci, c, n);
}

int virtio_pci_init(struct virtio_dev *v, struct vpci *bus, unsigned slot, u16 id, u32 class_code,
		    unsigned queue_count, u16 queue_max, u64 features,
		    const struct virtio_dev_ops *ops, const struct virtq_mem *mem,
		    const char *partition, const char *kind)
{
	struct vpci_device *d = &v->pci;
	u64 base = VPCI_MMIO_BASE + slot * SLOT_MMIO_SIZE;
	int err;

	if (!slot || slot > 31 || !queue_count || queue_count > VIRTIO_MAX_QUEUES || !queue_max ||
	    queue_max > VIRTQ_MAX_SIZE || (queue_max & (queue_max - 1)) || !ops || !ops->notify ||
	    base + SLOT_MMIO_SIZE > VPCI_MMIO_END)
		return -E_INVAL;
	memset(v, 0, sizeof(*v));
	v->ops = ops;
	v->mem = mem ? *mem : no_mem;
	v->partition = partition ? partition : "?";
	v->kind = kind ? kind : "virtio";
	v->queue_count = queue_count;
	v->queue_max = queue_max;
	v->device_features = features | VIRTIO_F_VERSION_1 | VIRTIO_F_EVENT_IDX;
	/* 4.1.2.1: modern-only device ID 0x1040 + id, revision 1; the
	 * subsystem IDs: the vendor's, and the device ID. */
	vpci_device_init(d, kind, VIRTIO_PCI_VENDOR, (u16)(VIRTIO_PCI_DEVICE_BASE + id), class_code,
			 1, &virtio_pci_ops, v);
	wr16(d->cfg, 0x2c, VIRTIO_PCI_VENDOR);
	wr16(d->cfg, 0x2e, (u16)(VIRTIO_PCI_DEVICE_BASE + id));
	if ((err = vpci_device_add_bar(d, 0, VPCI_BAR_MEM32, VIRTIO_BAR0_SIZE)) ||
	    (err = vpci_device_add_bar(d, 1, VPCI_BAR_MEM32, VIRTIO_BAR1_SIZE)) ||
	    (err = vpci_device_add_msix(d, 1 + queue_count, 1, 0, 1, VIRTIO_MSIX_PBA_OFF)) ||
	    (err = add_cap(v, CAP_COMMON, VIRTIO_COMMON_OFF, VIRTIO_COMMON_LEN)) ||
	    (err = add_cap(v, CAP_ISR, VIRTIO_ISR_OFF, 4)) ||
	    (err = add_cap(v, CAP_DEVICE, VIRTIO_DEVICE_OFF, VIRTIO_CONFIG_MAX)) ||
	    (err = add_cap(v, CAP_NOTIFY, VIRTIO_NOTIFY_OFF, VIRTIO_NOTIFY_MULT * queue_count)) ||
	    (err = vpci_device_set_intx_pin(d, 1)))
		return err;
	/* The BARs placed as a PC's firmware places them (the guest may move
	 * them). */
	wr32(d->cfg, PCI_BAR0, (u32)base);
	wr32(d->cfg, PCI_BAR0 + 4, (u32)(base + BAR1_OFF));
	if ((err = vpci_register(bus, d, VPCI_DEVFN(slot, 0))))
		return err;
	device_reset(v);
	return 0;
}
