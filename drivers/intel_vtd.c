/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Intel VT-d DMA remapping, for iommu.c.  References (§) are to the "Intel
 * Virtualization Technology for Directed I/O Architecture Specification",
 * rev 3.x/4.x: §3.4 root and context tables (legacy mode), §3.7
 * second-level translation, §6.5 invalidation (queued: §6.5.2; register
 * based: §6.5.1), §7.2 primary fault logging, §10.4 registers.
 *
 * Memory the unit reads and writes, all from the page allocator:
 *   root table      256 root entries (one per bus), one page
 *   context tables  256 context entries (one per devfn), one page per bus,
 *                   made when a device of that bus is first attached
 *   invalidation    256 descriptors of 16 bytes (one page)
 *   queue
 * A device is blocked by having no present root or context entry: its
 * requests fault (reason 1 or 2) and are recorded.  An attached device's
 * context entry has its domain's second-level table and domain ID, with
 * translation type 00b (untranslated requests only: no ATS, no pass-through).
 *
 * Interrupt remapping, where the unit has it, is on with compatibility
 * format off and a table whose only present entries are those the
 * hypervisor routes to a device's owner (vtd_irq_route, kernel/devirq.h),
 * each valid for that device's requester ID only: other MSIs are blocked.  QEMU 7.2 does not
 * honour that last part: with remapping on it still delivers
 * compatibility-format MSIs (its vtd_interrupt_remap_msi() passes them
 * whatever GSTS.CFIS says), so there a device can still send one.
 *
 * Faults are polled from the fault recording registers; the fault event
 * interrupt stays masked (FECTL.IM).  While a recording register holds a
 * fault the unit records no other fault from the same requester, and with
 * every register full it only sets the overflow flag: poll often.
 */
#include "drivers/acpi.h"
#include "drivers/iommu.h"
#include "kernel/errno.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/mm.h"

/* Registers (§10.4). */
#define REG_VER 0x00
#define REG_CAP 0x08
#define REG_ECAP 0x10
#define REG_GCMD 0x18
#define REG_GSTS 0x1c
#define REG_RTADDR 0x20
#define REG_CCMD 0x28
#define REG_FSTS 0x34
#define REG_FECTL 0x38
#define REG_IQH 0x80
#define REG_IQT 0x88
#define REG_IQA 0x90
#define REG_IRTA 0xb8

#define CAP_ND(c) ((unsigned)((c)&7))
#define CAP_RWBF (1ULL << 4)
#define CAP_CM (1ULL << 7)
#define CAP_SAGAW(c) ((unsigned)(((c) >> 8) & 0x1f))
#define CAP_MGAW(c) ((unsigned)(((c) >> 16) & 0x3f) + 1)
#define CAP_FRO(c) ((unsigned)(((c) >> 24) & 0x3ff) * 16)
#define CAP_SLLPS_2M (1ULL << 34)
#define CAP_NFR(c) ((unsigned)(((c) >> 40) & 0xff) + 1)
#define CAP_DWD (1ULL << 54)
#define CAP_DRD (1ULL << 55)
#define ECAP_C (1ULL << 0)
#define ECAP_QI (1ULL << 1)
#define ECAP_IR (1ULL << 3)
#define ECAP_IRO(e) ((unsigned)(((e) >> 8) & 0x3ff) * 16)

#define GCMD_TE (1u << 31)
#define GCMD_SRTP (1u << 30)
#define GCMD_WBF (1u << 27)
#define GCMD_QIE (1u << 26)
#define GCMD_IRE (1u << 25)
#define GCMD_SIRTP (1u << 24)
/* GSTS bits that are not one-shot commands: written back with a new
 * command so that it changes nothing else (§10.4.4). */
#define GSTS_PERSISTENT 0x96ffffffu
#define GSTS_TES (1u << 31)
#define GSTS_RTPS (1u << 30)
#define GSTS_WBFS (1u << 27)
#define GSTS_QIES (1u << 26)
#define GSTS_IRES (1u << 25)
#define GSTS_IRTPS (1u << 24)
#define GSTS_CFIS (1u << 23)

#define CCMD_ICC (1ULL << 63)
#define CCMD_GLOBAL (1ULL << 61)
#define IOTLB_IVT (1ULL << 63)
#define IOTLB_GLOBAL (1ULL << 60)
#define IOTLB_DR (1ULL << 49)
#define IOTLB_DW (1ULL << 48)

#define FSTS_PFO (1u << 0)
#define FSTS_PPF (1u << 1)
#define FSTS_IQE (1u << 4)
#define FSTS_FRI(f) (((f) >> 8) & 0xff)
#define FECTL_IM (1u << 31)
#define FRCD_F (1ULL << 63)
#define FRCD_T (1ULL << 62) /* 1: read request */
#define FRCD_FR(h) ((unsigned)(((h) >> 32) & 0xff))

/* Root and context entries (§9.1, §9.3). */
#define ROOT_P 1ULL
#define CTX_P 1ULL
#define CTX_AW(levels) ((u64)((levels)-2)) /* 1: 39-bit 3-level, 2: 48-bit 4-level */
#define CTX_DID(d) ((u64)(d) << 8)

/* Second-level entries (§9.8). */
#define SL_R (1ULL << 0)
#define SL_W (1ULL << 1)
#define SL_PS (1ULL << 7)

/* Invalidation descriptors, 128 bits (§6.5.2). */
#define QI_CC 0x1ULL
#define QI_IOTLB 0x2ULL
#define QI_IEC 0x4ULL /* interrupt entry cache; granularity bit 4 = 0: global */
#define QI_WAIT 0x5ULL
#define QI_CC_GLOBAL (1ULL << 4)
#define QI_CC_DEVICE (3ULL << 4)
#define QI_IOTLB_GLOBAL (1ULL << 4)
#define QI_IOTLB_DOMAIN (2ULL << 4)
#define QI_IOTLB_DR (1ULL << 7)
#define QI_IOTLB_DW (1ULL << 6)
#define QI_WAIT_SW (1ULL << 5)
#define QI_WAIT_FN (1ULL << 6)

#define QUEUE_BYTES 4096
#define IRTA_S_256 7ULL /* 2^(S+1) = 256 interrupt remapping entries, one page */
#define WAIT_SPINS 10000000u

static volatile u8 *regs;
static u64 cap, ecap;
static unsigned levels;
static u16 max_did;
static u64 *root_table;
static u64 *queue;
static u32 queue_tail;
static volatile u32 *wait_status;
static u64 wait_status_phys;
static u32 wait_seq;
static bool use_qi;
static bool use_ir;
static u64 *irt; /* the interrupt remapping table (256 entries of 16 bytes) */
#define IRT_ENTRIES 256
/* Which entries are routed, by requester ID and MSI index. */
static struct {
	bool used;
	u16 bdf;
	unsigned index;
} irt_owner[IRT_ENTRIES];

/* Interrupt remapping table entry (§9.10), remapped format. */
#define IRTE_P (1ULL << 0)
#define IRTE_VECTOR(v) ((u64)(v) << 16)
#define IRTE_DEST_XAPIC(apic) ((u64)((apic)&0xff) << 40)
#define IRTE_SID(bdf) ((u64)(bdf))	/* high quadword */
#define IRTE_SVT_REQUESTER (1ULL << 18) /* verify the full requester ID */
/* Remappable-format MSI address (§5.1.2.2): handle 14:0 in bits 19:5,
 * handle 15 in bit 2, bit 4 = 1 (remappable), SHV = 0 (data unused). */
#define MSI_REMAPPABLE(handle) \
	(0xfee00000ULL | ((u64)(handle)&0x7fff) << 5 | 1ULL << 4 | ((u64)(handle) >> 15 & 1) << 2)

static u32 rd32(unsigned r)
{
	return *(volatile u32 *)(regs + r);
}
static u64 rd64(unsigned r)
{
	return *(volatile u64 *)(regs + r);
}
static void wr32(unsigned r, u32 v)
{
	*(volatile u32 *)(regs + r) = v;
}
static void wr64(unsigned r, u64 v)
{
	*(volatile u64 *)(regs + r) = v;
}

static int wait_status_bit(unsigned reg, u32 bit, bool set, const char *what)
{
	for (u32 i = 0; i < WAIT_SPINS; i++) {
		if (!!(rd32(reg) & bit) == set)
			return 0;
		asm volatile("pause");
	}
	log_line("iommu: VT-d: %s did not complete", what);
	return -E_IO;
}

/* One global command (§10.4.4): keep what is on, add the command, wait for
 * its status bit. */
static int global_command(u32 cmd, u32 status_bit, const char *what)
{
	wr32(REG_GCMD, (rd32(REG_GSTS) & GSTS_PERSISTENT) | cmd);
	return wait_status_bit(REG_GSTS, status_bit, true, what);
}

/* ---- page-table format (§9.8) ---- */

static u64 vtd_table_entry(u64 phys, unsigned level)
{
	(void)level;
	return phys | SL_R | SL_W;
}

static u64 vtd_leaf_entry(u64 phys, unsigned level, unsigned rights)
{
	return phys | (rights & IOMMU_READ ? SL_R : 0) | (rights & IOMMU_WRITE ? SL_W : 0) |
	       (level == 2 ? SL_PS : 0);
}

static u64 vtd_empty_entry(unsigned level)
{
	(void)level;
	return 0;
}

static bool vtd_present(u64 e)
{
	return e & (SL_R | SL_W);
}

static bool vtd_is_leaf(u64 e, unsigned level)
{
	return level > 1 && (e & SL_PS);
}

static struct iommu_pt_format vtd_pt = {
	.table_entry = vtd_table_entry,
	.leaf_entry = vtd_leaf_entry,
	.empty_entry = vtd_empty_entry,
	.present = vtd_present,
	.is_leaf = vtd_is_leaf,
	/* both decided from CAP/ECAP at init */
};

static void flush(const volatile void *p)
{
	if (vtd_pt.flush_writes)
		asm volatile("clflush %0" : "+m"(*(volatile u8 *)p)::"memory");
}

/* ---- invalidation ---- */

static void queue_descriptor(u64 lo, u64 hi)
{
	u64 *slot = queue + queue_tail / 8;

	slot[0] = lo;
	slot[1] = hi;
	flush(slot);
	queue_tail = (queue_tail + 16) % QUEUE_BYTES;
	asm volatile("sfence" ::: "memory");
	wr64(REG_IQT, queue_tail);
}

/* An invalidation wait descriptor with a status write (§6.5.2.8): every
 * earlier descriptor is done when the status word changes. */
static int wait_queue(void)
{
	u32 seq = ++wait_seq;

	queue_descriptor(QI_WAIT | QI_WAIT_SW | QI_WAIT_FN | (u64)seq << 32, wait_status_phys);
	for (u32 i = 0; i < WAIT_SPINS; i++) {
		if (*wait_status == seq)
			return 0;
		if (rd32(REG_FSTS) & FSTS_IQE)
			break;
		asm volatile("pause");
	}
	log_line("iommu: VT-d: invalidation queue stalled (fault status %#x, head %#llx, tail %#x)",
		 rd32(REG_FSTS), (unsigned long long)rd64(REG_IQH), queue_tail);
	return -E_IO;
}

static u64 drain_bits(void)
{
	return (cap & CAP_DRD ? QI_IOTLB_DR : 0) | (cap & CAP_DWD ? QI_IOTLB_DW : 0);
}

/* Context cache of one device (or all: bdf < 0), then the IOTLB of one
 * domain (or all: did 0), then wait (§6.5.3.3: context entry changes). */
static int invalidate(int bdf, u16 did)
{
	if (use_qi) {
		if (bdf >= 0)
			queue_descriptor(QI_CC | QI_CC_DEVICE | (u64)did << 16 | (u64)bdf << 32, 0);
		else
			queue_descriptor(QI_CC | QI_CC_GLOBAL, 0);
		queue_descriptor(QI_IOTLB |
					 (did ? QI_IOTLB_DOMAIN | (u64)did << 16 :
						QI_IOTLB_GLOBAL) |
					 drain_bits(),
				 0);
		return wait_queue();
	}
	/* Register-based (§6.5.1): global invalidations, simple and rare. */
	unsigned iotlb = ECAP_IRO(ecap) + 8;
	wr64(REG_CCMD, CCMD_ICC | CCMD_GLOBAL);
	for (u32 i = 0; rd64(REG_CCMD) & CCMD_ICC; i++)
		if (i > WAIT_SPINS)
			return -E_IO;
	wr64(iotlb, IOTLB_IVT | IOTLB_GLOBAL | (cap & CAP_DRD ? IOTLB_DR : 0) |
			    (cap & CAP_DWD ? IOTLB_DW : 0));
	for (u32 i = 0; rd64(iotlb) & IOTLB_IVT; i++)
		if (i > WAIT_SPINS)
			return -E_IO;
	return 0;
}

/* ---- context entries ---- */

static volatile u64 *context_entry(u16 bdf, bool create)
{
	volatile u64 *re = root_table + 2 * (bdf >> 8);

	if (!(*re & ROOT_P)) {
		u64 phys;
		u64 *ct;
		if (!create || !(ct = iommu_alloc_pages(1, &phys)))
			return NULL;
		for (unsigned k = 0; k < 512; k += 8)
			flush(ct + k);
		re[1] = 0;
		*re = phys | ROOT_P;
		flush(re);
	}
	u64 *ct = phys_to_virt(hpa(*re & 0x000ffffffffff000ULL));
	return ct + 2 * (bdf & 0xff);
}

static int vtd_attach(struct iommu_domain *d, u16 bdf)
{
	volatile u64 *ce = context_entry(bdf, true);

	if (!ce)
		return -E_NOMEM;
	/* Upper half first; the present bit, in the lower, last. */
	ce[0] = 0;
	ce[1] = CTX_AW(d->levels) | CTX_DID(d->id);
	asm volatile("" ::: "memory");
	ce[0] = d->root | CTX_P; /* translation type 00b */
	flush(ce);
	/* Not present -> present needs no invalidation without caching mode
	 * (§6.1); present -> another domain does.  Always invalidating keeps
	 * one path. */
	return invalidate(bdf, d->id);
}

static void vtd_detach(u16 bdf, const struct iommu_domain *was)
{
	volatile u64 *ce = context_entry(bdf, false);

	if (!ce)
		return;
	ce[0] = 0;
	asm volatile("" ::: "memory");
	ce[1] = 0;
	flush(ce);
	invalidate(bdf, was->id);
}

/* ---- faults (§7.2.1) ---- */

static const char *fault_reason(unsigned fr)
{
	switch (fr) {
	case 0x1:
		return "root entry not present";
	case 0x2:
		return "context entry not present";
	case 0x3:
		return "invalid context entry";
	case 0x4:
		return "address beyond the address width";
	case 0x5:
		return "write not allowed";
	case 0x6:
		return "read not allowed";
	case 0x7:
		return "paging entry unreadable";
	case 0x8:
		return "root table unreadable";
	case 0x9:
		return "context table unreadable";
	case 0xa:
		return "root entry reserved bits";
	case 0xb:
		return "context entry reserved bits";
	case 0xc:
		return "paging entry reserved bits";
	case 0xd:
		return "translation type not allowed";
	default:
		return "other fault";
	}
}

static unsigned vtd_poll_faults(struct iommu_fault *out, unsigned max)
{
	unsigned n = 0, nfr = CAP_NFR(cap), fro = CAP_FRO(cap);
	u32 fsts = rd32(REG_FSTS);

	if (fsts & FSTS_PPF) {
		unsigned i = FSTS_FRI(fsts) % nfr;
		for (unsigned k = 0; k < nfr && n < max; k++, i = (i + 1) % nfr) {
			unsigned r = fro + 16 * i;
			u64 hi = rd64(r + 8);
			if (!(hi & FRCD_F))
				continue;
			u64 lo = rd64(r);
			out[n].requester_known = true;
			out[n].bdf = (u16)hi;
			out[n].addr = lo & ~0xfffULL;
			out[n].rw_known = true;
			out[n].write = !(hi & FRCD_T);
			out[n].code = FRCD_FR(hi);
			out[n].reason = fault_reason(FRCD_FR(hi));
			n++;
			wr32(r + 12, (u32)(FRCD_F >> 32)); /* F is write-1-to-clear */
		}
	}
	if (fsts & FSTS_PFO) {
		log_line("iommu: VT-d: fault recording overflowed; faults were lost");
		wr32(REG_FSTS, FSTS_PFO);
	}
	return n;
}

/* ---- set-up ---- */

static unsigned vtd_levels(void)
{
	return levels;
}

static u16 vtd_max_domain_id(void)
{
	return max_did;
}

static int vtd_init(const struct acpi_info *acpi, const struct acpi_iommu *u)
{
	u64 phys;
	(void)acpi;

	regs = phys_to_virt(hpa(u->base));
	cap = rd64(REG_CAP);
	ecap = rd64(REG_ECAP);
	/* Adjusted guest address widths (§10.4.2 SAGAW): bit 2 is 48-bit with
	 * 4 levels, bit 1 39-bit with 3. */
	if (CAP_SAGAW(cap) & 4)
		levels = 4;
	else if (CAP_SAGAW(cap) & 2)
		levels = 3;
	else
		return -E_NOTSUP;
	/* ND: 2^(4 + 2 ND) domain IDs; 0 is reserved with caching mode. */
	unsigned nd_bits = 4 + 2 * CAP_ND(cap);
	max_did = (u16)(nd_bits >= 16 ? 0xffff : (1u << nd_bits) - 1);
	vtd_pt.large_pages = cap & CAP_SLLPS_2M;
	vtd_pt.flush_writes = !(ecap & ECAP_C);

	if (rd32(REG_GSTS) & GSTS_TES)
		log_line("iommu: VT-d was left on by the firmware; reprogramming it");
	u64 *rt = iommu_alloc_pages(1, &phys);
	u64 q_phys, s_phys;
	u64 *q = iommu_alloc_pages(1, &q_phys);
	u32 *st = iommu_alloc_pages(1, &s_phys);
	if (!rt || !q || !st)
		return -E_NOMEM;
	root_table = rt;
	queue = q;
	wait_status = st;
	wait_status_phys = s_phys;
	for (unsigned k = 0; k < 512; k += 8)
		flush(rt + k);

	wr32(REG_FECTL, FECTL_IM);
	wr64(REG_RTADDR, phys); /* legacy mode (TTM 00b) */
	int err = global_command(GCMD_SRTP, GSTS_RTPS, "setting the root table");
	if (err)
		return err;
	if (cap & CAP_RWBF) {
		wr32(REG_GCMD, (rd32(REG_GSTS) & GSTS_PERSISTENT) | GCMD_WBF);
		if ((err = wait_status_bit(REG_GSTS, GSTS_WBFS, false, "write buffer flush")))
			return err;
	}
	use_qi = ecap & ECAP_QI;
	if (use_qi) {
		queue_tail = 0;
		wr64(REG_IQT, 0);
		wr64(REG_IQA, q_phys); /* 128-bit descriptors, 2^0 pages */
		if ((err = global_command(GCMD_QIE, GSTS_QIES, "enabling the invalidation queue")))
			return err;
	}
	if ((err = invalidate(-1, 0)))
		return err;
	/* Interrupt remapping with a table of only not-present entries and
	 * compatibility format off (CFI = 0): every device MSI, in either
	 * format, is blocked (§5.1.4, §5.1.2.1), so a device cannot raise an
	 * interrupt with a vector of its choosing.  Needs queued invalidation
	 * for the interrupt entry cache (§6.5.2.7). */
	if ((ecap & ECAP_IR) && use_qi) {
		u64 irt_phys;
		irt = iommu_alloc_pages(IRT_ENTRIES * 16 / PAGE_SIZE, &irt_phys);
		if (!irt)
			return -E_NOMEM;
		for (unsigned k = 0; k < IRT_ENTRIES * 2; k += 8)
			flush(irt + k);
		wr64(REG_IRTA, irt_phys | IRTA_S_256); /* EIME 0: xAPIC IDs */
		if ((err = global_command(GCMD_SIRTP, GSTS_IRTPS, "setting the interrupt table")))
			return err;
		queue_descriptor(QI_IEC, 0);
		if ((err = wait_queue()) ||
		    (err = global_command(GCMD_IRE, GSTS_IRES, "enabling interrupt remapping")))
			return err;
		use_ir = !(rd32(REG_GSTS) & GSTS_CFIS);
	}
	/* Clear what the firmware left in the fault records. */
	for (unsigned i = 0; i < CAP_NFR(cap); i++)
		wr32(CAP_FRO(cap) + 16 * i + 12, (u32)(FRCD_F >> 32));
	wr32(REG_FSTS, FSTS_PFO | FSTS_IQE);
	if ((err = global_command(GCMD_TE, GSTS_TES, "enabling translation")))
		return err;
	log_line("iommu: VT-d at %#llx (v%u.%u, cap %#llx ecap %#llx): on, devices blocked, "
		 "%u-level tables (%u-bit), %u domains, %s invalidation, %u fault record(s)%s%s",
		 (unsigned long long)u->base, (rd32(REG_VER) >> 4) & 0xf, rd32(REG_VER) & 0xf,
		 (unsigned long long)cap, (unsigned long long)ecap, levels, levels == 4 ? 48 : 39,
		 max_did, use_qi ? "queued" : "register-based", CAP_NFR(cap),
		 vtd_pt.flush_writes ? ", tables flushed" : "",
		 use_ir ? ", MSIs blocked (empty remapping table: only routed ones get entries)" :
			  ", no interrupt remapping");
	return 0;
}

/* ---- interrupt remapping (§5.1, §9.10) ---- */

/* An entry of the remapping table sends vector to the CPU with apic_id
 * (fixed, physical, edge) for requests from bdf only (SVT = 01b, SQ = 00b:
 * all 16 bits of the source ID compared); the device writes the
 * remappable-format address naming that entry. */
static int vtd_irq_route(u16 bdf, unsigned index, u8 vector, u32 apic_id, u64 *addr, u32 *data)
{
	int free = -1;

	if (!use_ir)
		return -E_NOTSUP;
	if (apic_id > 0xff)
		return -E_RANGE;
	for (int k = 0; k < IRT_ENTRIES; k++) {
		if (irt_owner[k].used && irt_owner[k].bdf == bdf && irt_owner[k].index == index) {
			free = k;
			break;
		}
		if (!irt_owner[k].used && free < 0)
			free = k;
	}
	if (free < 0)
		return -E_NOSPC;
	irt_owner[free].used = true;
	irt_owner[free].bdf = bdf;
	irt_owner[free].index = index;
	volatile u64 *e = irt + 2 * free;
	e[0] = 0; /* not present while it changes */
	flush(e);
	e[1] = IRTE_SID(bdf) | IRTE_SVT_REQUESTER;
	e[0] = IRTE_P | IRTE_VECTOR(vector) | IRTE_DEST_XAPIC(apic_id);
	flush(e);
	queue_descriptor(QI_IEC, 0);
	*addr = MSI_REMAPPABLE(free);
	*data = 0;
	return wait_queue();
}

static void vtd_irq_unroute(u16 bdf)
{
	bool any = false;

	for (int k = 0; k < IRT_ENTRIES; k++) {
		if (!irt_owner[k].used || irt_owner[k].bdf != bdf)
			continue;
		volatile u64 *e = irt + 2 * k;
		e[0] = 0;
		e[1] = 0;
		flush(e);
		irt_owner[k].used = false;
		any = true;
	}
	if (any) {
		queue_descriptor(QI_IEC, 0);
		wait_queue();
	}
}

const struct iommu_ops intel_vtd_ops = {
	.name = "VT-d",
	.init = vtd_init,
	.pt = &vtd_pt,
	.levels = vtd_levels,
	.max_domain_id = vtd_max_domain_id,
	.attach = vtd_attach,
	.detach = vtd_detach,
	.poll_faults = vtd_poll_faults,
	.irq_route = vtd_irq_route,
	.irq_unroute = vtd_irq_unroute,
};
