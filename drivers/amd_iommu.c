/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * AMD-Vi: the AMD I/O Virtualization Technology (IOMMU), for iommu.c.
 * References (§) are to the "AMD I/O Virtualization Technology (IOMMU)
 * Specification", rev 3.x (#48882): §2.2 device table and I/O page tables,
 * §2.4 commands, §2.5 event log, §3.4 MMIO registers.
 *
 * Memory the IOMMU reads and writes, all from the page allocator (so never
 * in any domain):
 *   device table  32 bytes per requester ID, for every bus the MCFG covers
 *   command ring  256 commands of 16 bytes (one page)
 *   event log     256 events of 16 bytes (one page)
 *   empty table   one level-4 table whose every entry is empty: the root of
 *                 blocked devices, so that their DMA is logged as a fault
 *
 * Device table entries (§2.2.2.1): a blocked device has V = 1, TV = 1,
 * paging mode 4 and the empty table as root, with IR = IW = 1 so that the
 * walk reaches the empty entry (and logs IO_PAGE_FAULT) instead of stopping
 * at the entry's permissions.  An attached device has its domain's root
 * and ID.  Every requester ID has interrupt remapping on (IV = 1) with
 * IntCtl = 00b: its MSIs are target-aborted, so a device cannot raise an
 * interrupt with a vector of its choosing.  A device whose interrupts the
 * hypervisor routes to its owner (amd_irq_route, kernel/devirq.h) gets
 * IntCtl = 10b and its own remapping table of 8 entries, each naming the
 * hypervisor's vector and CPU; the MSI data it is given selects one.  That
 * includes the IOAPIC's ID (the IVHD's special entry): the hypervisor uses
 * no IOAPIC interrupts (its timer is the local APIC's), and QEMU 7.2 sends
 * a device's DMA writes without their requester ID, so its interrupt
 * remapping takes a virtio device's write to 0xfee00000 for the IOAPIC's.
 *
 * QEMU 7.2 (hw/i386/amd_iommu.c) differs from the specification in ways
 * this driver works with:
 *   - its page walk returns silently, with no event, when it reads an entry
 *     that is all zero; an entry with PR = 0 but a non-zero Next Level
 *     makes it log IO_PAGE_FAULT.  The specification ignores the other bits
 *     of a not-present entry, so every empty slot here is written as
 *     Next Level = 1, PR = 0 (AMD_EMPTY).
 *   - it does not log a fault for paging mode 0 with IR = IW = 0 (it just
 *     refuses the access): hence the empty-table root above.
 *   - its events carry only the devfn of the requester, not the bus; and
 *     the access type sits in flag bits 1:0 (1 read, 2 write) instead of
 *     the RW flag, which the specification defines only for PR = 1.
 *   - it writes no event at all: its amdvi_log_event() tests the overflow
 *     flag with `status | mask` instead of `&`, so it always returns before
 *     writing (fixed in later QEMU).  What it does leave on a blocked DMA is
 *     Signaled Target Abort in the IOMMU function's PCI status register.
 *     The poll therefore also reads and clears that bit and reports a fault
 *     whose requester and address the IOMMU did not record; iommu.h says
 *     how the core attributes it.
 *   - INVALIDATE_DEVTAB_ENTRY is a no-op (it caches no entries) and
 *     INVALIDATE_IOMMU_PAGES drops a domain's whole IOTLB; both are sent as
 *     the specification requires.
 */
#include "drivers/acpi.h"
#include "drivers/iommu.h"
#include "drivers/pci.h"
#include "kernel/errno.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/mm.h"

/* MMIO registers (§3.4). */
#define MMIO_DEVTAB_BASE 0x0000
#define MMIO_CMDBUF_BASE 0x0008
#define MMIO_EVTLOG_BASE 0x0010
#define MMIO_CONTROL 0x0018
#define MMIO_EXT_FEATURES 0x0030
#define MMIO_CMDBUF_HEAD 0x2000
#define MMIO_CMDBUF_TAIL 0x2008
#define MMIO_EVTLOG_HEAD 0x2010
#define MMIO_EVTLOG_TAIL 0x2018
#define MMIO_STATUS 0x2020

#define CTRL_IOMMU_EN (1ULL << 0)
#define CTRL_EVENTLOG_EN (1ULL << 2)
#define CTRL_CMDBUF_EN (1ULL << 12)

#define STATUS_EVT_OVERFLOW (1ULL << 0)
#define STATUS_EVT_INT (1ULL << 1)
#define STATUS_COMWAIT_INT (1ULL << 2)

#define EFR_IA (1ULL << 6) /* INVALIDATE_IOMMU_ALL supported */

#define RING_LEN_256 (8ULL << 56) /* ComLen / EventLen: 2^8 entries */
#define RING_BYTES 4096

/* Device table entry, first quadword (§2.2.2.1) */
#define DTE_V (1ULL << 0)
#define DTE_TV (1ULL << 1)
#define DTE_MODE(levels) ((u64)(levels) << 9)
#define DTE_IR (1ULL << 61)
#define DTE_IW (1ULL << 62)
/* third quadword: interrupt remapping (§2.2.2.1, §2.2.5) */
#define DTE_IV (1ULL << 0)
#define DTE_INTTABLEN(log2) ((u64)(log2) << 1)
#define DTE_INTCTL_ABORT (0ULL << 60)
#define DTE_INTCTL_REMAP (2ULL << 60)
/* Interrupt remapping table entry, basic format (§2.2.5.1) */
#define IRTE_REMAP_EN (1u << 0)
#define IRTE_DEST(apic) ((u32)((apic)&0xff) << 8)
#define IRTE_VECTOR(v) ((u32)(v) << 16)
#define IRT_LOG2 3 /* 8 entries per device: MSI data 2:0 picks one */
#define IRT_MAX 16 /* devices with remapped interrupts */

/* I/O page table entries (§2.2.3) */
#define PTE_PR (1ULL << 0)
#define PTE_NEXT_LEVEL(l) ((u64)(l) << 9)
#define PTE_NEXT_LEVEL_OF(e) (((e) >> 9) & 7)
#define PTE_IR (1ULL << 61)
#define PTE_IW (1ULL << 62)
#define AMD_EMPTY PTE_NEXT_LEVEL(1) /* not present; see the top of the file */

/* Commands (§2.4): opcode in bits 63:60 of the first quadword. */
#define CMD_COMPLETION_WAIT 0x1ULL
#define CMD_INV_DEVTAB_ENTRY 0x2ULL
#define CMD_INV_IOMMU_PAGES 0x3ULL
#define CMD_INV_INTERRUPT_TABLE 0x4ULL
#define CMD_INV_IOMMU_ALL 0x8ULL
#define CMD_OP(op) ((op) << 60)
#define COMPWAIT_STORE (1ULL << 0)
#define INV_PAGES_S (1ULL << 0)
#define INV_PAGES_PDE (1ULL << 1)
#define INV_PAGES_ALL_ADDR 0x7ffffffffffff000ULL /* with S: every page (§2.4.3) */

/* Events (§2.5): code in bits 63:60, flags in 59:48 of the first quadword. */
#define EVT_ILLEGAL_DEV_TABLE_ENTRY 1
#define EVT_IO_PAGE_FAULT 2
#define EVT_DEV_TAB_HW_ERROR 3
#define EVT_PAGE_TAB_HW_ERROR 4
#define EVT_ILLEGAL_COMMAND 5
#define EVT_COMMAND_HW_ERROR 6
#define EVT_IOTLB_INV_TIMEOUT 7
#define EVT_INVALID_DEVICE_REQUEST 8
#define EVT_FLAG_PR (1u << 4)
#define EVT_FLAG_RW (1u << 5)

#define LEVELS 4 /* 48-bit I/O addresses */
#define MAX_DOMAIN_ID 0xffff
#define WAIT_SPINS 10000000u

static volatile u8 *mmio;
static u64 *devtab;
static u32 devtab_entries;
static u64 *cmdbuf;
static u32 cmd_tail;
static const u64 *evtlog;
static u32 evt_head;
static u64 empty_root;
static volatile u64 *comp_sem;
static u64 comp_sem_phys, comp_seq;
static u64 efr;
/* Devices whose interrupts are remapped (amd_irq_route): their tables. */
static struct {
	u16 devid;
	bool active; /* routed now; else its MSIs abort */
	u32 *table;
	u64 phys;
} irts[IRT_MAX];
static unsigned irt_count;

static u64 rd(unsigned reg)
{
	return *(volatile u64 *)(mmio + reg);
}

static void wr(unsigned reg, u64 v)
{
	*(volatile u64 *)(mmio + reg) = v;
}

/* ---- page-table format (§2.2.3) ---- */

static u64 amd_table_entry(u64 phys, unsigned level)
{
	return phys | PTE_PR | PTE_NEXT_LEVEL(level - 1) | PTE_IR | PTE_IW;
}

static u64 amd_leaf_entry(u64 phys, unsigned level, unsigned rights)
{
	/* Next Level 0 in a level-2 entry: a 2 MiB page (§2.2.3, Table
	 * "I/O page translation entry"). */
	(void)level;
	return phys | PTE_PR | (rights & IOMMU_READ ? PTE_IR : 0) |
	       (rights & IOMMU_WRITE ? PTE_IW : 0);
}

static u64 amd_empty_entry(unsigned level)
{
	(void)level;
	return AMD_EMPTY;
}

static bool amd_present(u64 e)
{
	return e & PTE_PR;
}

static bool amd_is_leaf(u64 e, unsigned level)
{
	return level > 1 && PTE_NEXT_LEVEL_OF(e) == 0;
}

static const struct iommu_pt_format amd_pt = {
	.table_entry = amd_table_entry,
	.leaf_entry = amd_leaf_entry,
	.empty_entry = amd_empty_entry,
	.present = amd_present,
	.is_leaf = amd_is_leaf,
	.large_pages = true,
	.flush_writes = false, /* the IOMMU's table reads are coherent */
};

/* ---- commands ---- */

static void queue_command(u64 lo, u64 hi)
{
	u64 *slot = cmdbuf + cmd_tail / 8;

	/* The ring has 256 slots and every caller waits for completion after
	 * at most a few commands, so the head is never overrun. */
	slot[0] = lo;
	slot[1] = hi;
	cmd_tail = (cmd_tail + 16) % RING_BYTES;
	asm volatile("sfence" ::: "memory");
	wr(MMIO_CMDBUF_TAIL, cmd_tail);
}

/* COMPLETION_WAIT with a store (§2.4.1): returns once the IOMMU has
 * executed every earlier command, or -E_IO after a bounded wait. */
static int wait_commands(void)
{
	u64 seq = ++comp_seq;

	queue_command(CMD_OP(CMD_COMPLETION_WAIT) | (comp_sem_phys & 0x000ffffffffffff8ULL) |
			      COMPWAIT_STORE,
		      seq);
	for (u32 i = 0; i < WAIT_SPINS; i++) {
		if (*comp_sem == seq)
			return 0;
		asm volatile("pause");
	}
	log_line("iommu: AMD-Vi: COMPLETION_WAIT did not complete (command head %#llx, tail %#x)",
		 (unsigned long long)rd(MMIO_CMDBUF_HEAD), cmd_tail);
	return -E_IO;
}

static void invalidate_devtab_entry(u16 devid)
{
	queue_command(CMD_OP(CMD_INV_DEVTAB_ENTRY) | devid, 0);
}

static void invalidate_domain(u16 domain)
{
	queue_command(CMD_OP(CMD_INV_IOMMU_PAGES) | (u64)domain << 32,
		      INV_PAGES_ALL_ADDR | INV_PAGES_S | INV_PAGES_PDE);
}

/* ---- device table ---- */

static int irt_index(u16 devid)
{
	for (unsigned i = 0; i < irt_count; i++)
		if (irts[i].devid == devid)
			return (int)i;
	return -1;
}

/* The interrupt quadword of devid's entry: its own remapping table if it
 * has one (IntCtl 10b: fixed and arbitrated MSIs through the table), else
 * every MSI target-aborted (IntCtl 00b). */
static u64 dte_interrupts(u16 devid)
{
	int i = irt_index(devid);

	if (i < 0 || !irts[i].active)
		return DTE_IV | DTE_INTCTL_ABORT;
	return DTE_IV | DTE_INTTABLEN(IRT_LOG2) | irts[i].phys | DTE_INTCTL_REMAP;
}

static void write_dte(u16 devid, u64 root, u16 domain)
{
	volatile u64 *e = (volatile u64 *)devtab + 4ULL * devid;

	/* §2.2.2: the IOMMU may read an entry at any time; write the
	 * quadwords that V = 1 makes it use before the first one. */
	e[3] = 0;
	e[2] = dte_interrupts(devid);
	e[1] = domain;
	asm volatile("" ::: "memory");
	e[0] = DTE_V | DTE_TV | DTE_MODE(LEVELS) | root | DTE_IR | DTE_IW;
}

static int amd_attach(struct iommu_domain *d, u16 bdf)
{
	if (bdf >= devtab_entries)
		return -E_RANGE;
	write_dte(bdf, d->root, d->id);
	invalidate_devtab_entry(bdf);
	return wait_commands();
}

static void amd_detach(u16 bdf, const struct iommu_domain *was)
{
	if (bdf >= devtab_entries)
		return;
	write_dte(bdf, empty_root, 0);
	invalidate_devtab_entry(bdf);
	/* Its translations are still in the IOTLB under the old domain. */
	invalidate_domain(was->id);
	wait_commands();
}

/* ---- interrupt remapping (§2.2.5) ---- */

static void invalidate_interrupt_table(u16 devid)
{
	queue_command(CMD_OP(CMD_INV_INTERRUPT_TABLE) | devid, 0);
}

/* Index `index` of bdf's table sends vector to the CPU with apic_id (fixed,
 * physical destination, edge); the device then writes data = index to
 * 0xfee00000 (§2.2.5: the MSI data's low bits select the entry). */
static int amd_irq_route(u16 bdf, unsigned index, u8 vector, u32 apic_id, u64 *addr, u32 *data)
{
	int i = irt_index(bdf);

	if (bdf >= devtab_entries || index >= (1u << IRT_LOG2) || apic_id > 0xff)
		return -E_RANGE;
	if (i < 0) {
		u64 phys;
		u32 *t;
		if (irt_count == IRT_MAX || !(t = iommu_alloc_pages(1, &phys)))
			return -E_NOSPC;
		i = (int)irt_count++;
		irts[i].devid = bdf;
		irts[i].table = t;
		irts[i].phys = phys;
	}
	irts[i].table[index] = IRTE_REMAP_EN | IRTE_DEST(apic_id) | IRTE_VECTOR(vector);
	irts[i].active = true;
	volatile u64 *e = (volatile u64 *)devtab + 4ULL * bdf;
	e[2] = dte_interrupts(bdf);
	invalidate_devtab_entry(bdf);
	invalidate_interrupt_table(bdf);
	*addr = 0xfee00000ULL;
	*data = index;
	return wait_commands();
}

static void amd_irq_unroute(u16 bdf)
{
	int i = irt_index(bdf);

	if (i < 0)
		return;
	/* The table page stays with the device: a later route reuses it. */
	irts[i].active = false;
	volatile u64 *e = (volatile u64 *)devtab + 4ULL * bdf;
	e[2] = dte_interrupts(bdf);
	memset(irts[i].table, 0, PAGE_SIZE);
	invalidate_devtab_entry(bdf);
	invalidate_interrupt_table(bdf);
	wait_commands();
}

/* ---- events ---- */

static const char *event_name(unsigned code)
{
	switch (code) {
	case EVT_ILLEGAL_DEV_TABLE_ENTRY:
		return "illegal device table entry";
	case EVT_IO_PAGE_FAULT:
		return "I/O page fault";
	case EVT_DEV_TAB_HW_ERROR:
		return "device table hardware error";
	case EVT_PAGE_TAB_HW_ERROR:
		return "page table hardware error";
	case EVT_ILLEGAL_COMMAND:
		return "illegal command";
	case EVT_COMMAND_HW_ERROR:
		return "command hardware error";
	case EVT_IOTLB_INV_TIMEOUT:
		return "IOTLB invalidation timeout";
	case EVT_INVALID_DEVICE_REQUEST:
		return "invalid device request";
	default:
		return "unknown event";
	}
}

static u16 iommu_bdf; /* the IOMMU's own PCI function */

#define PCI_STATUS 0x06
#define PCI_STATUS_SIG_TARGET_ABORT (1u << 11) /* RW1C */

static unsigned amd_poll_faults(struct iommu_fault *out, unsigned max)
{
	unsigned n = 0;
	u64 status = rd(MMIO_STATUS);

	while (n < max) {
		u32 tail = (u32)rd(MMIO_EVTLOG_TAIL) & (RING_BYTES - 1);
		if (evt_head == tail)
			break;
		const volatile u64 *ev = evtlog + evt_head / 8;
		u64 lo = ev[0], hi = ev[1];
		unsigned code = (unsigned)(lo >> 60), flags = (unsigned)(lo >> 48) & 0xfff;
		out[n].requester_known = true;
		out[n].bdf = (u16)lo;
		out[n].addr = hi;
		out[n].rw_known = code == EVT_IO_PAGE_FAULT && (flags & EVT_FLAG_PR);
		out[n].write = out[n].rw_known && (flags & EVT_FLAG_RW);
		out[n].code = code << 16 | flags;
		out[n].reason = event_name(code);
		n++;
		evt_head = (evt_head + 16) % RING_BYTES;
		wr(MMIO_EVTLOG_HEAD, evt_head);
	}
	if (status & STATUS_EVT_OVERFLOW) {
		/* §2.5: events were lost.  Restart the log: off, clear the
		 * flag, empty ring, on. */
		log_line("iommu: AMD-Vi: event log overflowed; events were lost");
		wr(MMIO_CONTROL, rd(MMIO_CONTROL) & ~CTRL_EVENTLOG_EN);
		wr(MMIO_STATUS, STATUS_EVT_OVERFLOW);
		wr(MMIO_EVTLOG_HEAD, 0);
		wr(MMIO_EVTLOG_TAIL, 0);
		evt_head = 0;
		wr(MMIO_CONTROL, rd(MMIO_CONTROL) | CTRL_EVENTLOG_EN);
	}
	if (status & (STATUS_EVT_INT | STATUS_COMWAIT_INT))
		wr(MMIO_STATUS, status & (STATUS_EVT_INT | STATUS_COMWAIT_INT));

	/* A blocked request the event log did not record (see the top). */
	const struct pci_device *self =
		pci_find_bdf(iommu_bdf >> 8, (iommu_bdf >> 3) & 31, iommu_bdf & 7);
	if (self && (pci_read(self, PCI_STATUS, 2) & PCI_STATUS_SIG_TARGET_ABORT)) {
		pci_write(self, PCI_STATUS, 2, PCI_STATUS_SIG_TARGET_ABORT);
		if (n == 0 && max > 0) {
			memset(&out[0], 0, sizeof(out[0]));
			out[0].reason = "request target-aborted, not in the event log";
			n = 1;
		}
	}
	return n;
}

/* ---- set-up (§3.3: the order of initialization) ---- */

static unsigned amd_levels(void)
{
	return LEVELS;
}

static u16 amd_max_domain_id(void)
{
	return MAX_DOMAIN_ID;
}

static int amd_init(const struct acpi_info *acpi, const struct acpi_iommu *u)
{
	u64 phys;
	unsigned buses = acpi->mcfg_phys ? acpi->mcfg_bus_end + 1u : 256u;

	mmio = phys_to_virt(hpa(u->base));
	iommu_bdf = u->devid;
	efr = rd(MMIO_EXT_FEATURES);
	if (rd(MMIO_CONTROL) & CTRL_IOMMU_EN)
		log_line("iommu: AMD-Vi was left on by the firmware; reprogramming it");
	wr(MMIO_CONTROL, 0);

	/* Device table: 32 bytes per requester ID of every bus, a multiple
	 * of 4 KiB, size field = 4 KiB units - 1 (§3.4.1). */
	devtab_entries = buses * 256;
	u64 devtab_pages = (u64)devtab_entries * 32 / PAGE_SIZE;
	u64 *dt = iommu_alloc_pages(devtab_pages, &phys);
	u64 cb_phys, ev_phys, er_phys, sem_phys;
	u64 *cb = iommu_alloc_pages(1, &cb_phys);
	u64 *ev = iommu_alloc_pages(1, &ev_phys);
	u64 *er = iommu_alloc_pages(1, &er_phys);
	u64 *sem = iommu_alloc_pages(1, &sem_phys);
	if (!dt || !cb || !ev || !er || !sem)
		return -E_NOMEM;
	devtab = dt;
	cmdbuf = cb;
	evtlog = ev;
	empty_root = er_phys;
	comp_sem = sem;
	comp_sem_phys = sem_phys;
	for (unsigned k = 0; k < 512; k++)
		er[k] = AMD_EMPTY;
	/* Every requester ID starts blocked, whether a device answers at it
	 * or not: a function that appears later (or hides) stays fenced. */
	for (u32 id = 0; id < devtab_entries; id++)
		write_dte((u16)id, empty_root, 0);

	wr(MMIO_DEVTAB_BASE, phys | (devtab_pages - 1));
	wr(MMIO_CMDBUF_BASE, cb_phys | RING_LEN_256);
	wr(MMIO_CMDBUF_HEAD, 0);
	wr(MMIO_CMDBUF_TAIL, 0);
	cmd_tail = 0;
	wr(MMIO_EVTLOG_BASE, ev_phys | RING_LEN_256);
	wr(MMIO_EVTLOG_HEAD, 0);
	wr(MMIO_EVTLOG_TAIL, 0);
	evt_head = 0;
	wr(MMIO_STATUS, STATUS_EVT_OVERFLOW | STATUS_EVT_INT | STATUS_COMWAIT_INT);
	wr(MMIO_CONTROL, CTRL_CMDBUF_EN | CTRL_EVENTLOG_EN | CTRL_IOMMU_EN);

	/* Whatever the IOMMU cached from the firmware's tables goes. */
	if (efr & EFR_IA) {
		queue_command(CMD_OP(CMD_INV_IOMMU_ALL), 0);
	} else {
		for (u32 id = 0; id < devtab_entries; id++) {
			invalidate_devtab_entry((u16)id);
			if ((id & 63) == 63 && wait_commands())
				return -E_IO;
		}
	}
	int err = wait_commands();
	if (err)
		return err;
	log_line("iommu: AMD-Vi at %#llx (IVHD type %#x, PCI %02x:%02x.%x), EFR %#llx: on, "
		 "%u requester IDs blocked, %u-level I/O page tables, event log polled, device MSIs blocked but those routed to their owner",
		 (unsigned long long)u->base, u->type, u->devid >> 8, (u->devid >> 3) & 31,
		 u->devid & 7, (unsigned long long)efr, devtab_entries, LEVELS);
	return 0;
}

const struct iommu_ops amd_iommu_ops = {
	.name = "AMD-Vi",
	.init = amd_init,
	.pt = &amd_pt,
	.levels = amd_levels,
	.max_domain_id = amd_max_domain_id,
	.attach = amd_attach,
	.detach = amd_detach,
	.poll_faults = amd_poll_faults,
	.irq_route = amd_irq_route,
	.irq_unroute = amd_irq_unroute,
};
