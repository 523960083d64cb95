/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The virtual PCI bus of an hvm partition: PCI segment 0, bus 0, with a
 * host bridge at 00:00.0, configuration space through the PC's type 1
 * mechanism (CONFIG_ADDRESS 0xcf8, CONFIG_DATA 0xcfc-0xcff; PCI Local Bus
 * Specification 3.0, 3.2.2.3.2) and through ECAM (PCI Express Base
 * Specification 3.0, 7.2.2: bus in 27:20, device 19:15, function 14:12,
 * register 11:0 of the offset) at VPCI_ECAM_BASE, announced by the MCFG
 * table and reserved in the e820 map.  Absent functions read all-ones.
 *
 * A device model fills a struct vpci_device (vpci_device_init, then BARs
 * and capabilities), registers it at a device/function number, and answers
 * the accesses to its BARs through its ops.  The bus keeps its 256-byte
 * configuration space with write masks (so BAR sizing by writing all-ones
 * and read-only fields work for every device), decodes the memory and I/O
 * BARs enabled in the command register, emulates the MSI capability and the
 * MSI-X table and PBA, and sends their messages to the local APIC
 * (vpci_msi_send, SDM Vol. 3A §11.11), and drives the INTx lines, which
 * are wired to I/O APIC pins 16-23 as the DSDT's _PRT says (vpci_intx_gsi).
 * Everything here is pure logic;
 * every offset, size and index comes from the guest and is checked.
 */
#ifndef PARTITA_HVM_VPCI_H
#define PARTITA_HVM_VPCI_H

#include "kernel/lib/types.h"

struct vlapic;
struct viommu;

/* Guest-physical layout (also in linux_boot.h's memory map): the ECAM
 * window for buses 0-255, then the window where BARs may be placed, up to
 * the I/O APIC. */
#define VPCI_ECAM_BASE 0xe0000000ULL
#define VPCI_ECAM_SIZE 0x10000000ULL /* 256 buses of 1 MiB */
#define VPCI_ECAM_BUS_LAST 255
#define VPCI_MMIO_BASE 0xf0000000ULL
#define VPCI_MMIO_END 0xfec00000ULL /* exclusive */

#define VPCI_CONFIG_ADDRESS 0xcf8
#define VPCI_CONFIG_DATA 0xcfc
#define VPCI_CFG_SIZE 256 /* conventional space; 0x100-0xfff read 0 */
#define VPCI_DEVFN(dev, fn) ((u8)(((dev) << 3) | (fn)))
#define VPCI_FUNCTIONS 256
#define VPCI_BARS 6
#define VPCI_MSIX_MAX 32 /* table entries a device may have here */

/* INTx (PCI 3.0, 2.2.6): pin P (1-4: INTA#-INTD#) of slot D reaches I/O APIC
 * pin VPCI_INTX_GSI_BASE + (D + P - 1) % 4, level-triggered, active low,
 * the usual swizzle of a PC's slots; the DSDT's _PRT lists it. */
#define VPCI_INTX_GSI_BASE 16
#define VPCI_INTX_GSI_COUNT 4
#define PCI_COMMAND_INTX_DISABLE (1u << 10)
#define PCI_STATUS_INTERRUPT (1u << 3)

/* The host bridge: Intel's 82G33/P35 DRAM controller (8086:29c0), which is
 * also what QEMU's q35 machine shows at 00:00.0. */
#define VPCI_HOST_VENDOR 0x8086
#define VPCI_HOST_DEVICE 0x29c0
#define VPCI_HOST_CLASS 0x060000 /* bridge, host bridge */

/* Configuration header offsets (PCI 3.0, 6.1). */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION 0x08
#define PCI_CLASS 0x09 /* 3 bytes: prog-if, subclass, class */
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0 0x10
#define PCI_CAP_PTR 0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d
#define PCI_COMMAND_IO (1u << 0)
#define PCI_COMMAND_MEMORY (1u << 1)
#define PCI_COMMAND_MASTER (1u << 2)
#define PCI_STATUS_CAP_LIST (1u << 4)
#define PCI_CAP_ID_MSI 0x05
#define PCI_CAP_ID_MSIX 0x11
#define PCI_CAP_ID_VNDR 0x09

enum vpci_bar_kind { VPCI_BAR_NONE, VPCI_BAR_MEM32, VPCI_BAR_MEM64, VPCI_BAR_IO };

struct vpci_bar {
	enum vpci_bar_kind kind;
	u64 size; /* a power of two: memory 16 B-2 GiB (MEM64: up to 1 TiB),
	           * I/O 4-256 B */
};

struct vpci_device;

/** What a device model answers.  The bus calls bar_read/bar_write only for
 *  an access of 1, 2, 4 or 8 bytes that lies entirely inside the BAR (and
 *  outside its MSI-X table and PBA); either may be NULL (reads 0, writes
 *  ignored). */
struct vpci_ops {
	u64 (*bar_read)(struct vpci_device *d, unsigned bar, u64 offset, unsigned size);
	void (*bar_write)(struct vpci_device *d, unsigned bar, u64 offset, unsigned size,
			  u64 value);
	/* after a configuration write of size bytes at offset (optional) */
	void (*cfg_written)(struct vpci_device *d, unsigned offset, unsigned size);
};

/* One MSI-X table entry (6.8.2.5): address low, address high, data,
 * vector control (bit 0: masked). */
struct vpci_msix_entry {
	u32 word[4];
};

struct vpci_device {
	const char *name;
	const struct vpci_ops *ops;
	void *ctx; /* the model's own state */
	struct vpci *bus;
	u8 devfn;
	bool registered;
	u8 cfg[VPCI_CFG_SIZE];
	u8 wmask[VPCI_CFG_SIZE]; /* bits the guest can write */
	u8 w1c[VPCI_CFG_SIZE];	 /* bits a write of 1 clears */
	u8 cap_end;		 /* first free byte for capabilities */
	struct vpci_bar bar[VPCI_BARS];
	u8 msi_cap;  /* offset of the MSI capability, 0: none */
	u8 msix_cap; /* offset of the MSI-X capability, 0: none */
	u16 msix_count;
	u8 msix_table_bar, msix_pba_bar;
	u32 msix_table_off, msix_pba_off;
	struct vpci_msix_entry msix[VPCI_MSIX_MAX];
	u32 msix_pending;   /* the PBA */
	bool intx_asserted; /* the device's INTx request (before INTx disable) */
};

struct vpci {
	struct vlapic *lapic;			/* where MSIs go */
	struct viommu *iommu;			/* NULL, or the unit MSIs pass */
	const char *name;			/* partition, for log lines */
	u32 config_address;			/* 0xcf8 */
	struct vpci_device *fn[VPCI_FUNCTIONS]; /* bus 0, by devfn */
	struct vpci_device host_bridge;
	bool msi_logged; /* an MSI that is not an interrupt was reported */
	/* the level of I/O APIC pin gsi changed (set by vpci_set_intx_hook) */
	void (*intx_hook)(void *ctx, unsigned gsi, bool asserted);
	void *intx_ctx;
	u8 intx_level; /* bit n: the line of GSI VPCI_INTX_GSI_BASE + n as driven */
};

/** Empties the bus and registers the host bridge at 00:00.0. */
void vpci_reset(struct vpci *bus, struct vlapic *lapic, const char *name);

/** Sends the functions' MSIs through iommu (viommu.h), which remaps those
 *  in remappable format; NULL: straight to the local APIC.  vpci_reset
 *  clears it. */
void vpci_set_iommu(struct vpci *bus, struct viommu *iommu);

/** Fills d as a type 0 function with these IDs and class (24 bits: class,
 *  subclass, prog-if), no BARs, no capabilities. */
void vpci_device_init(struct vpci_device *d, const char *name, u16 vendor, u16 device,
		      u32 class_code, u8 revision, const struct vpci_ops *ops, void *ctx);

/** Declares BAR index (0-5; a MEM64 BAR takes index and index + 1).
 *  Returns 0, or -E_INVAL (bad index, kind or size, or the slot is used). */
int vpci_device_add_bar(struct vpci_device *d, unsigned index, enum vpci_bar_kind kind, u64 size);

/** Adds an MSI capability (64-bit address, one vector).  0 or -E_INVAL
 *  (no room, already there). */
int vpci_device_add_msi(struct vpci_device *d);

/** Adds a vendor-specific capability (PCI 3.0, 6.7: ID 0x09) whose bytes
 *  after the ID and next pointer are body[0..len), read-only.  0 or
 *  -E_INVAL (no room). */
int vpci_device_add_vendor_cap(struct vpci_device *d, const u8 *body, unsigned len);

/** Adds an MSI-X capability with count (1-VPCI_MSIX_MAX) vectors, its table
 *  at table_off of BAR table_bar and its PBA at pba_off of BAR pba_bar
 *  (8-byte aligned, inside memory BARs already declared, not overlapping).
 *  0 or -E_INVAL. */
int vpci_device_add_msix(struct vpci_device *d, unsigned count, unsigned table_bar, u32 table_off,
			 unsigned pba_bar, u32 pba_off);

/** Puts d on the bus at devfn.  Function 0 of a slot must come first; a
 *  further function makes function 0 multi-function.  0, -E_INVAL (devfn
 *  taken, or function 0 missing). */
int vpci_register(struct vpci *bus, struct vpci_device *d, u8 devfn);

/** Configuration access to bus/devfn at reg (0-0xfff), size 1, 2 or 4,
 *  inside one dword.  Absent functions read all-ones. */
u32 vpci_cfg_read(struct vpci *bus, unsigned busno, unsigned devfn, unsigned reg, unsigned size);
void vpci_cfg_write(struct vpci *bus, unsigned busno, unsigned devfn, unsigned reg, unsigned size,
		    u32 value);

/** Port I/O: CONFIG_ADDRESS (dword accesses at 0xcf8), CONFIG_DATA
 *  (0xcfc-0xcff, any size), and I/O BARs.  Returns true if the bus answered
 *  (then *value holds a read's result), false if nothing is at port. */
bool vpci_port_io(struct vpci *bus, u16 port, unsigned size, bool in, u32 *value);

/** MMIO: ECAM and memory BARs.  True if the bus answered. */
bool vpci_mmio(struct vpci *bus, u64 gpa, unsigned size, bool write, u64 *value);

/** Gives d an INTx pin (1-4: INTA#-INTD#), before it is registered.  0 or
 *  -E_INVAL. */
int vpci_device_set_intx_pin(struct vpci_device *d, unsigned pin);

/** The I/O APIC pin that pin (1-4) of slot dev (0-31) is wired to. */
static inline unsigned vpci_intx_gsi(unsigned dev, unsigned pin)
{
	return VPCI_INTX_GSI_BASE + ((dev & 31) + pin - 1) % VPCI_INTX_GSI_COUNT;
}

/** Where the bus drives its INTx lines (hook(ctx, gsi, asserted) when the
 *  OR of the functions wired to gsi changes).  vpci_reset clears it. */
void vpci_set_intx_hook(struct vpci *bus, void (*hook)(void *ctx, unsigned gsi, bool asserted),
			void *ctx);

/** The device asserts (true) or releases its INTx request.  The line is
 *  driven only while the command register's INTx disable bit and MSI and
 *  MSI-X are off (PCI 3.0, 6.2.2, 6.8); the status register's interrupt
 *  bit shows the request either way.  0, or -E_INVAL (no pin, not on a
 *  bus). */
int vpci_intx(struct vpci_device *d, bool asserted);

/** Sends the interrupt message of an MSI write of data to addr (SDM Vol.
 *  3A §11.11.1-2).  Returns 0, or -E_INVAL if it is not an interrupt (not
 *  0xfeexxxxx: on hardware a memory write, not emulated here). */
int vpci_msi_send(struct vlapic *lapic, u64 addr, u32 data);

/** The device raises its MSI (if enabled by the guest).  0, -E_AGAIN if MSI
 *  is disabled, -E_INVAL if the message is not an interrupt. */
int vpci_msi_notify(struct vpci_device *d);

/** The device raises MSI-X vector: sent if enabled and unmasked, else left
 *  pending in the PBA until it is unmasked.  0, -E_AGAIN (pending), -E_INVAL
 *  (no such vector, MSI-X absent or disabled, not an interrupt). */
int vpci_msix_notify(struct vpci_device *d, unsigned vector);

#endif
