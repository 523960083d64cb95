/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The virtual PCI bus (see vpci.h).  References: PCI Local Bus
 * Specification 3.0 (configuration header 6.1, BARs 6.2.5.1, MSI 6.8.1,
 * MSI-X 6.8.2), PCI Express Base Specification 3.0 7.2.2 (ECAM), Intel SDM
 * Vol. 3A §11.11 (the MSI address and data formats).
 */
#include "kernel/hvm/vpci.h"
#include "kernel/errno.h"
#include "kernel/hvm/viommu.h"
#include "kernel/hvm/vlapic.h"
#include "kernel/lib/bytes.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"

#define CA_ENABLE 0x80000000u
#define CA_VALID 0x80fffffcu /* enable, bus, device, function, register */
#define CAP_FIRST 0x40
#define MSI_CAP_SIZE 0x10
#define MSIX_CAP_SIZE 0x0c
#define MSI_CTRL_ENABLE (1u << 0)
#define MSI_CTRL_64BIT (1u << 7)
#define MSIX_CTRL_MASKALL (1u << 14)
#define MSIX_CTRL_ENABLE (1u << 15)
#define MSIX_ENTRY_SIZE 16
#define MSIX_CTRL_MASKED 1u

static void set_wmask(struct vpci_device *d, unsigned off, unsigned len, u32 mask)
{
	for (unsigned i = 0; i < len; i++)
		d->wmask[off + i] = (u8)(mask >> (8 * i));
}

void vpci_device_init(struct vpci_device *d, const char *name, u16 vendor, u16 device,
		      u32 class_code, u8 revision, const struct vpci_ops *ops, void *ctx)
{
	memset(d, 0, sizeof(*d));
	d->name = name ? name : "?";
	d->ops = ops;
	d->ctx = ctx;
	d->cap_end = CAP_FIRST;
	wr16(d->cfg, PCI_VENDOR_ID, vendor);
	wr16(d->cfg, PCI_DEVICE_ID, device);
	wr8(d->cfg, PCI_REVISION, revision);
	wr8(d->cfg, PCI_CLASS, (u8)class_code);
	wr16(d->cfg, PCI_CLASS + 1, (u16)(class_code >> 8));
	/* Command (6.2.2): I/O, memory, bus master, parity error response,
	 * SERR#, interrupt disable. */
	set_wmask(d, PCI_COMMAND, 2, 0x0547);
	/* Status (6.2.3): the error bits 8 and 11-15 are cleared by a 1. */
	d->w1c[PCI_STATUS + 1] = 0xf9;
	d->wmask[0x0c] = 0xff; /* cache line size */
	d->wmask[0x0d] = 0xff; /* latency timer */
	d->wmask[PCI_INTERRUPT_LINE] = 0xff;
}

int vpci_device_add_bar(struct vpci_device *d, unsigned index, enum vpci_bar_kind kind, u64 size)
{
	unsigned off = PCI_BAR0 + 4 * index;

	if (index >= VPCI_BARS || d->registered || d->bar[index].kind != VPCI_BAR_NONE)
		return -E_INVAL;
	if (!size || (size & (size - 1)))
		return -E_INVAL;
	switch (kind) {
	case VPCI_BAR_MEM32:
		if (size < 16 || size > GiB(2))
			return -E_INVAL;
		set_wmask(d, off, 4, (u32) ~(size - 1) & ~0xfu);
		wr32(d->cfg, off, 0); /* memory, 32-bit, not prefetchable */
		break;
	case VPCI_BAR_MEM64:
		if (index + 1 >= VPCI_BARS || d->bar[index + 1].kind != VPCI_BAR_NONE ||
		    size < 16 || size > (1ULL << 40))
			return -E_INVAL;
		set_wmask(d, off, 4, (u32) ~(size - 1) & ~0xfu);
		set_wmask(d, off + 4, 4, (u32)(~(size - 1) >> 32));
		wr32(d->cfg, off, 0x4);			 /* memory, 64-bit */
		d->bar[index + 1].kind = VPCI_BAR_MEM64; /* the upper half: taken */
		d->bar[index + 1].size = 0;
		break;
	case VPCI_BAR_IO:
		if (size < 4 || size > 256)
			return -E_INVAL;
		set_wmask(d, off, 4, (u32) ~(size - 1) & 0xfffcu);
		wr32(d->cfg, off, 0x1); /* I/O space */
		break;
	default:
		return -E_INVAL;
	}
	d->bar[index].kind = kind;
	d->bar[index].size = size;
	return 0;
}

/* Room for a capability of len bytes: 0 or its offset. */
static unsigned cap_alloc(struct vpci_device *d, unsigned len, u8 id)
{
	unsigned off = d->cap_end;

	if (d->registered || off + len > VPCI_CFG_SIZE)
		return 0;
	d->cap_end = (u8)MIN(ALIGN_UP(off + len, 4), 0xfcu);
	wr8(d->cfg, off, id);
	wr8(d->cfg, off + 1, d->cfg[PCI_CAP_PTR]); /* pushed at the head of the list */
	d->cfg[PCI_CAP_PTR] = (u8)off;
	wr16(d->cfg, PCI_STATUS, rd16(d->cfg, PCI_STATUS) | PCI_STATUS_CAP_LIST);
	return off;
}

int vpci_device_add_msi(struct vpci_device *d)
{
	unsigned off;

	if (d->msi_cap || !(off = cap_alloc(d, MSI_CAP_SIZE, PCI_CAP_ID_MSI)))
		return -E_INVAL;
	d->msi_cap = (u8)off;
	/* Message control: 64-bit address, one vector (MMC 0, so MME stays
	 * 0); enable is the only writable bit.  Address: bits 1:0 are 0. */
	wr16(d->cfg, off + 2, MSI_CTRL_64BIT);
	set_wmask(d, off + 2, 2, MSI_CTRL_ENABLE);
	set_wmask(d, off + 4, 4, 0xfffffffc);
	set_wmask(d, off + 8, 4, 0xffffffff);
	set_wmask(d, off + 12, 2, 0xffff);
	return 0;
}

int vpci_device_add_vendor_cap(struct vpci_device *d, const u8 *body, unsigned len)
{
	unsigned off;

	if (len > VPCI_CFG_SIZE - CAP_FIRST || !(off = cap_alloc(d, len + 2, PCI_CAP_ID_VNDR)))
		return -E_INVAL;
	memcpy(d->cfg + off + 2, body, len); /* read-only: no write mask */
	return 0;
}

/* True if [off, off + len) lies in memory BAR bar. */
static bool in_mem_bar(const struct vpci_device *d, unsigned bar, u64 off, u64 len)
{
	if (bar >= VPCI_BARS)
		return false;
	const struct vpci_bar *b = &d->bar[bar];
	if ((b->kind != VPCI_BAR_MEM32 && b->kind != VPCI_BAR_MEM64) || !b->size)
		return false;
	return off < b->size && len <= b->size - off;
}

int vpci_device_add_msix(struct vpci_device *d, unsigned count, unsigned table_bar, u32 table_off,
			 unsigned pba_bar, u32 pba_off)
{
	u64 table_len = (u64)count * MSIX_ENTRY_SIZE, pba_len = ALIGN_UP(count, 64) / 8;
	unsigned off;

	if (d->msix_cap || count == 0 || count > VPCI_MSIX_MAX || (table_off & 7) || (pba_off & 7))
		return -E_INVAL;
	if (!in_mem_bar(d, table_bar, table_off, table_len) ||
	    !in_mem_bar(d, pba_bar, pba_off, pba_len))
		return -E_INVAL;
	if (table_bar == pba_bar && table_off < pba_off + pba_len &&
	    pba_off < table_off + table_len)
		return -E_INVAL;
	if (!(off = cap_alloc(d, MSIX_CAP_SIZE, PCI_CAP_ID_MSIX)))
		return -E_INVAL;
	d->msix_cap = (u8)off;
	d->msix_count = (u16)count;
	d->msix_table_bar = (u8)table_bar;
	d->msix_table_off = table_off;
	d->msix_pba_bar = (u8)pba_bar;
	d->msix_pba_off = pba_off;
	wr16(d->cfg, off + 2, (u16)(count - 1));
	set_wmask(d, off + 2, 2, MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL);
	wr32(d->cfg, off + 4, table_off | table_bar);
	wr32(d->cfg, off + 8, pba_off | pba_bar);
	for (unsigned i = 0; i < count; i++)
		d->msix[i].word[3] = MSIX_CTRL_MASKED; /* masked at reset (6.8.2.9) */
	return 0;
}

static void host_bridge_init(struct vpci *bus)
{
	struct vpci_device *d = &bus->host_bridge;

	vpci_device_init(d, "host bridge", VPCI_HOST_VENDOR, VPCI_HOST_DEVICE, VPCI_HOST_CLASS,
			 0x02, NULL, NULL);
	/* A host bridge answers memory cycles to RAM: memory space and bus
	 * master are hard-wired on (as on the 82G33, whose command register
	 * reads 0x0006). */
	wr16(d->cfg, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	set_wmask(d, PCI_COMMAND, 2, 0);
	d->wmask[0x0c] = d->wmask[0x0d] = d->wmask[PCI_INTERRUPT_LINE] = 0;
	/* Subsystem IDs (0x2c): the same as the device's. */
	wr16(d->cfg, 0x2c, VPCI_HOST_VENDOR);
	wr16(d->cfg, 0x2e, VPCI_HOST_DEVICE);
}

void vpci_reset(struct vpci *bus, struct vlapic *lapic, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->lapic = lapic;
	bus->name = name ? name : "?";
	host_bridge_init(bus);
	vpci_register(bus, &bus->host_bridge, VPCI_DEVFN(0, 0));
}

void vpci_set_iommu(struct vpci *bus, struct viommu *iommu)
{
	bus->iommu = iommu;
}

int vpci_register(struct vpci *bus, struct vpci_device *d, u8 devfn)
{
	struct vpci_device *f0 = bus->fn[devfn & ~7u];

	if (bus->fn[devfn] || d->registered)
		return -E_INVAL;
	if ((devfn & 7) && !f0)
		return -E_INVAL;
	if (devfn & 7)
		f0->cfg[PCI_HEADER_TYPE] |= 0x80; /* multi-function */
	d->bus = bus;
	d->devfn = devfn;
	d->registered = true;
	bus->fn[devfn] = d;
	return 0;
}

/* ----------------------------------------------------------- INTx -- */

int vpci_device_set_intx_pin(struct vpci_device *d, unsigned pin)
{
	if (d->registered || pin < 1 || pin > 4)
		return -E_INVAL;
	d->cfg[PCI_INTERRUPT_PIN] = (u8)pin;
	return 0;
}

void vpci_set_intx_hook(struct vpci *bus, void (*hook)(void *ctx, unsigned gsi, bool asserted),
			void *ctx)
{
	bus->intx_hook = hook;
	bus->intx_ctx = ctx;
}

/* Whether d drives its INTx line now. */
static bool intx_driven(const struct vpci_device *d)
{
	if (!d->intx_asserted || (rd16(d->cfg, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE))
		return false;
	if (d->msi_cap && (rd16(d->cfg, d->msi_cap + 2) & MSI_CTRL_ENABLE))
		return false;
	if (d->msix_cap && (rd16(d->cfg, d->msix_cap + 2) & MSIX_CTRL_ENABLE))
		return false;
	return true;
}

/* The lines are wired-OR (PCI 3.0, 2.2.6): recomputes the one d is on. */
static void intx_update(struct vpci_device *d)
{
	struct vpci *bus = d->bus;
	unsigned pin = d->cfg[PCI_INTERRUPT_PIN];

	if (!bus || pin < 1 || pin > 4)
		return;
	unsigned gsi = vpci_intx_gsi(d->devfn >> 3, pin);
	bool level = false;
	for (unsigned f = 0; f < VPCI_FUNCTIONS; f++) {
		const struct vpci_device *o = bus->fn[f];
		unsigned opin = o ? o->cfg[PCI_INTERRUPT_PIN] : 0;
		if (opin >= 1 && opin <= 4 && vpci_intx_gsi(f >> 3, opin) == gsi && intx_driven(o))
			level = true;
	}
	u8 bit = (u8)(1u << (gsi - VPCI_INTX_GSI_BASE));
	if (!!(bus->intx_level & bit) == level)
		return;
	bus->intx_level = (u8)(level ? bus->intx_level | bit : bus->intx_level & ~bit);
	if (bus->intx_hook)
		bus->intx_hook(bus->intx_ctx, gsi, level);
}

int vpci_intx(struct vpci_device *d, bool asserted)
{
	unsigned pin = d->cfg[PCI_INTERRUPT_PIN];

	if (!d->registered || pin < 1 || pin > 4)
		return -E_INVAL;
	d->intx_asserted = asserted;
	u16 status = rd16(d->cfg, PCI_STATUS);
	wr16(d->cfg, PCI_STATUS,
	     asserted ? status | PCI_STATUS_INTERRUPT : status & ~PCI_STATUS_INTERRUPT);
	intx_update(d);
	return 0;
}

/* ---------------------------------------------------- MSI and MSI-X -- */

int vpci_msi_send(struct vlapic *lapic, u64 addr, u32 data)
{
	/* §11.11.1: address 0xfeexxxxx, destination ID in 19:12, RH in 3,
	 * DM (1: logical) in 2.  §11.11.2: vector in 7:0, delivery mode in
	 * 10:8, level in 14, trigger mode (1: level) in 15. */
	if ((addr >> 20) != 0xfee)
		return -E_INVAL;
	bool logical = addr & (1u << 2);
	bool level = (data & (1u << 15)) && (data & (1u << 14));
	/* A level-triggered deassert message does nothing here. */
	if ((data & (1u << 15)) && !(data & (1u << 14)))
		return 0;
	vlapic_deliver(lapic, (u8)(addr >> 12), logical, (data >> 8) & 7, (u8)data, level);
	return 0;
}

static int msi_send_logged(struct vpci_device *d, u64 addr, u32 data)
{
	int err;

	/* Through the remapping unit when there is one (remappable format:
	 * address bit 4, VT-d spec 5.1.2.2), from the device's source-id
	 * (bus 0, its devfn); a dropped request is its fault, logged there. */
	if (d->bus->iommu) {
		viommu_send(d->bus->iommu, d->devfn, addr, data, &err);
		if (err == -E_FAULT)
			return err;
	} else {
		err = vpci_msi_send(d->bus->lapic, addr, data);
	}
	if (err && !d->bus->msi_logged) {
		d->bus->msi_logged = true;
		log_line("hvm: partition %s: PCI %s: MSI to 0x%llx is not an interrupt; dropped "
			 "(logged once)",
			 d->bus->name, d->name, (unsigned long long)addr);
	}
	return err;
}

int vpci_msi_notify(struct vpci_device *d)
{
	unsigned c = d->msi_cap;

	if (!c || !d->registered || !(rd16(d->cfg, c + 2) & MSI_CTRL_ENABLE))
		return -E_AGAIN;
	u64 addr = rd32(d->cfg, c + 4) | ((u64)rd32(d->cfg, c + 8) << 32);
	return msi_send_logged(d, addr, rd16(d->cfg, c + 12));
}

static u16 msix_ctrl(const struct vpci_device *d)
{
	return rd16(d->cfg, d->msix_cap + 2);
}

static int msix_send(struct vpci_device *d, unsigned v)
{
	const struct vpci_msix_entry *e = &d->msix[v];

	d->msix_pending &= ~(1u << v);
	return msi_send_logged(d, e->word[0] | ((u64)e->word[1] << 32), e->word[2]);
}

int vpci_msix_notify(struct vpci_device *d, unsigned vector)
{
	if (!d->msix_cap || !d->registered || vector >= d->msix_count)
		return -E_INVAL;
	u16 ctrl = msix_ctrl(d);
	if (!(ctrl & MSIX_CTRL_ENABLE))
		return -E_INVAL;
	if ((ctrl & MSIX_CTRL_MASKALL) || (d->msix[vector].word[3] & MSIX_CTRL_MASKED)) {
		d->msix_pending |= 1u << vector; /* 6.8.2.10: pending while masked */
		return -E_AGAIN;
	}
	return msix_send(d, vector);
}

/* Sends what became unmasked (6.8.2.10). */
static void msix_flush(struct vpci_device *d)
{
	u16 ctrl = msix_ctrl(d);

	if (!(ctrl & MSIX_CTRL_ENABLE) || (ctrl & MSIX_CTRL_MASKALL))
		return;
	for (unsigned v = 0; v < d->msix_count; v++)
		if ((d->msix_pending & (1u << v)) && !(d->msix[v].word[3] & MSIX_CTRL_MASKED))
			msix_send(d, v);
}

/* The table and PBA (6.8.2.5-9): aligned dword or qword accesses only;
 * others read 0 and are ignored. */
static u64 msix_table_rw(struct vpci_device *d, u64 off, unsigned size, bool write, u64 value)
{
	if ((size != 4 && size != 8) || (off & (size - 1)))
		return 0;
	u32 *words = d->msix[off / MSIX_ENTRY_SIZE].word;
	u64 result = 0;
	for (unsigned i = 0; i < size / 4; i++) {
		unsigned w = (unsigned)((off % MSIX_ENTRY_SIZE) / 4) + i;
		u32 v = (u32)(value >> (32 * i));
		if (!write) {
			result |= (u64)words[w] << (32 * i);
			continue;
		}
		if (w == 0)
			v &= ~3u; /* address bits 1:0 are 0 */
		if (w == 3)
			v = (words[3] & ~MSIX_CTRL_MASKED) | (v & MSIX_CTRL_MASKED);
		words[w] = v;
	}
	if (write)
		msix_flush(d);
	return result;
}

static u64 msix_pba_read(const struct vpci_device *d, u64 off, unsigned size)
{
	if ((size != 4 && size != 8) || (off & (size - 1)) || off >= 8)
		return 0;
	u64 pba = d->msix_pending;
	return size == 8 ? pba : (u32)(pba >> (8 * off));
}

/* An access inside BAR bar of d, at off. */
static u64 bar_access(struct vpci_device *d, unsigned bar, u64 off, unsigned size, bool write,
		      u64 value)
{
	if (d->msix_cap) {
		u64 tlen = (u64)d->msix_count * MSIX_ENTRY_SIZE;
		u64 plen = ALIGN_UP(d->msix_count, 64) / 8;
		if (bar == d->msix_table_bar && off >= d->msix_table_off &&
		    off - d->msix_table_off < tlen) {
			if (off - d->msix_table_off + size > tlen)
				return 0;
			return msix_table_rw(d, off - d->msix_table_off, size, write, value);
		}
		if (bar == d->msix_pba_bar && off >= d->msix_pba_off &&
		    off - d->msix_pba_off < plen)
			return write ? 0 : msix_pba_read(d, off - d->msix_pba_off, size);
	}
	if (write) {
		if (d->ops && d->ops->bar_write)
			d->ops->bar_write(d, bar, off, size, value);
		return 0;
	}
	return d->ops && d->ops->bar_read ? d->ops->bar_read(d, bar, off, size) : 0;
}

/* ----------------------------------------------------- config space -- */

u32 vpci_cfg_read(struct vpci *bus, unsigned busno, unsigned devfn, unsigned reg, unsigned size)
{
	u32 ones = size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;

	if ((size != 1 && size != 2 && size != 4) || reg > 0xfff || (reg & 3) + size > 4)
		return ones;
	if (busno != 0 || devfn >= VPCI_FUNCTIONS || !bus->fn[devfn])
		return ones; /* master abort: all-ones (PCI 3.0, 6.1) */
	if (reg >= VPCI_CFG_SIZE)
		return 0; /* no extended capabilities */
	u32 v = 0;
	memcpy(&v, bus->fn[devfn]->cfg + reg, size);
	return v;
}

void vpci_cfg_write(struct vpci *bus, unsigned busno, unsigned devfn, unsigned reg, unsigned size,
		    u32 value)
{
	struct vpci_device *d;

	if ((size != 1 && size != 2 && size != 4) || reg > 0xfff || (reg & 3) + size > 4)
		return;
	if (busno != 0 || devfn >= VPCI_FUNCTIONS || !(d = bus->fn[devfn]) || reg >= VPCI_CFG_SIZE)
		return;
	for (unsigned i = 0; i < size; i++) {
		u8 b = (u8)(value >> (8 * i)), m = d->wmask[reg + i], c = d->w1c[reg + i];
		u8 old = d->cfg[reg + i];
		d->cfg[reg + i] = (u8)(((old & ~m) | (b & m)) & ~(b & c));
	}
	if (d->msix_cap && reg < d->msix_cap + 4u && reg + size > d->msix_cap + 2u)
		msix_flush(d);
	/* INTx disable, MSI enable and MSI-X enable gate the INTx line */
	intx_update(d);
	if (d->ops && d->ops->cfg_written)
		d->ops->cfg_written(d, reg, size);
}

/* An access of size bytes at reg that may cross dwords: byte by byte. */
static u64 cfg_split(struct vpci *bus, unsigned busno, unsigned devfn, unsigned reg, unsigned size,
		     bool write, u64 value)
{
	u64 result = 0;

	for (unsigned i = 0; i < size; i++) {
		if (write)
			vpci_cfg_write(bus, busno, devfn, reg + i, 1, (u8)(value >> (8 * i)));
		else
			result |= (u64)vpci_cfg_read(bus, busno, devfn, reg + i, 1) << (8 * i);
	}
	return result;
}

/* ------------------------------------------------------ decoding -- */

static u64 bar_base(const struct vpci_device *d, unsigned i)
{
	u32 lo = rd32(d->cfg, PCI_BAR0 + 4 * i);

	switch (d->bar[i].kind) {
	case VPCI_BAR_MEM32:
		return lo & ~0xfu;
	case VPCI_BAR_MEM64:
		return (lo & ~0xfull) | ((u64)rd32(d->cfg, PCI_BAR0 + 4 * i + 4) << 32);
	case VPCI_BAR_IO:
		return lo & 0xfffcu;
	default:
		return 0;
	}
}

/* The function and BAR that decode [addr, addr + size) in memory space
 * (io false) or I/O space; false if none.  The whole access must lie in
 * the BAR (one that straddles its end is not decoded by it). */
static bool decode(struct vpci *bus, bool io, u64 addr, unsigned size, struct vpci_device **out,
		   unsigned *bar, u64 *off)
{
	for (unsigned f = 0; f < VPCI_FUNCTIONS; f++) {
		struct vpci_device *d = bus->fn[f];
		if (!d)
			continue;
		u16 cmd = rd16(d->cfg, PCI_COMMAND);
		if (!(cmd & (io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)))
			continue;
		for (unsigned i = 0; i < VPCI_BARS; i++) {
			const struct vpci_bar *b = &d->bar[i];
			if (!b->size || (b->kind == VPCI_BAR_IO) != io)
				continue;
			u64 base = bar_base(d, i);
			if (addr < base || addr - base >= b->size || size > b->size - (addr - base))
				continue;
			*out = d;
			*bar = i;
			*off = addr - base;
			return true;
		}
	}
	return false;
}

bool vpci_port_io(struct vpci *bus, u16 port, unsigned size, bool in, u32 *value)
{
	u32 ones = size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;

	if (port >= VPCI_CONFIG_ADDRESS && port < VPCI_CONFIG_DATA) {
		if (port == VPCI_CONFIG_ADDRESS && size == 4) {
			if (in)
				*value = bus->config_address;
			else
				bus->config_address = *value & CA_VALID;
		} else if (in) {
			/* byte and word cycles are not CONFIG_ADDRESS: they go
			 * to the (empty) ISA bus (PCI 3.0, 3.2.2.3.2) */
			*value = ones;
		}
		return true;
	}
	if (port >= VPCI_CONFIG_DATA && port < VPCI_CONFIG_DATA + 4) {
		u32 ca = bus->config_address;
		unsigned busno = (ca >> 16) & 0xff, devfn = (ca >> 8) & 0xff;
		unsigned reg = (ca & 0xfc) + (port & 3);
		if (!(ca & CA_ENABLE)) {
			if (in)
				*value = ones; /* not a configuration cycle */
			return true;
		}
		if (size > 4 - (port & 3u)) {
			/* the bytes past 0xcff are the next ports': nothing */
			u64 v = cfg_split(bus, busno, devfn, reg, 4 - (port & 3u), !in, *value);
			if (in)
				*value = (u32)v | (ones & ~((1u << (8 * (4 - (port & 3u)))) - 1));
			return true;
		}
		if (in)
			*value = vpci_cfg_read(bus, busno, devfn, reg, size);
		else
			vpci_cfg_write(bus, busno, devfn, reg, size, *value);
		return true;
	}
	struct vpci_device *d;
	unsigned bar;
	u64 off;
	if (size != 1 && size != 2 && size != 4)
		return false;
	if (!decode(bus, true, port, size, &d, &bar, &off))
		return false;
	u64 v = bar_access(d, bar, off, size, !in, *value);
	if (in)
		*value = (u32)v & ones;
	return true;
}

bool vpci_mmio(struct vpci *bus, u64 gpa, unsigned size, bool write, u64 *value)
{
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return false;
	if (gpa >= VPCI_ECAM_BASE && gpa - VPCI_ECAM_BASE < VPCI_ECAM_SIZE) {
		u64 off = gpa - VPCI_ECAM_BASE;
		unsigned busno = (unsigned)(off >> 20), devfn = (unsigned)(off >> 12) & 0xff;
		unsigned reg = (unsigned)off & 0xfff;
		u64 v = 0;
		/* ECAM accesses are at most a dword, naturally aligned (PCIe
		 * 7.2.2); anything else is split into bytes within the same
		 * function's space. */
		if (size <= 4 && (reg & (size - 1)) == 0) {
			if (write)
				vpci_cfg_write(bus, busno, devfn, reg, size, (u32)*value);
			else
				v = vpci_cfg_read(bus, busno, devfn, reg, size);
		} else {
			unsigned n = MIN(size, 0x1000 - reg);
			v = cfg_split(bus, busno, devfn, reg, n, write, *value);
			if (n < size && !write)
				v |= ~0ULL << (8 * n); /* past the function: nothing */
		}
		if (!write)
			*value = v;
		return true;
	}
	struct vpci_device *d;
	unsigned bar;
	u64 off;
	if (!decode(bus, false, gpa, size, &d, &bar, &off))
		return false;
	u64 v = bar_access(d, bar, off, size, write, *value);
	if (!write)
		*value = size == 8 ? v : v & ((1ULL << (8 * size)) - 1);
	return true;
}
