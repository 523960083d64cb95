/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The virtual VT-d interrupt-remapping unit (see viommu.h).  Section numbers
 * are those of the Intel VT-d Architecture Specification.  Pure logic over
 * struct viommu, the partition's RAM and the local APIC it feeds; every
 * value the guest writes is checked where it is used.
 */
#include "kernel/hvm/viommu.h"
#include "kernel/errno.h"
#include "kernel/hvm/linux_boot.h"
#include "kernel/hvm/vlapic.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"

/* VER (10.4.1): architecture version 1.0. */
#define VER_VALUE 0x10

/* CAP (10.4.2): ND = 2 (256 domains), SAGAW = 4-level (bit 10: 48-bit),
 * MGAW = 47 (48 bits), FRO in 16-byte units at 33:24, NFR - 1 = 0 (one
 * fault recording register) at 47:40, MAMV 0.  No PLMR/PHMR, no RWBF, no
 * caching mode, no posted interrupts, no first-level paging. */
#define CAP_VALUE (2ULL | (1ULL << 10) | (47ULL << 16) | ((u64)(VTD_FRO / 16) << 24) | (0ULL << 40))

/* ECAP (10.4.3): QI (1), IR (3), EIM (4), IRO in 16-byte units at 17:8.
 * C (coherency, 0) is clear: nothing is ever fetched for DMA here anyway. */
#define ECAP_VALUE ((1ULL << 1) | (1ULL << 3) | (1ULL << 4) | ((u64)(VTD_IRO / 16) << 8))

/* Invalidation descriptors (6.5.2): type in 3:0 (11:9 are the high type
 * bits, 0 here). */
#define QI_CC 1	    /* context-cache invalidate */
#define QI_IOTLB 2  /* IOTLB invalidate */
#define QI_DEVTLB 3 /* device-TLB invalidate */
#define QI_IEC 4    /* interrupt entry cache invalidate */
#define QI_WAIT 5   /* invalidation wait */
#define QI_WAIT_IF (1ULL << 4)
#define QI_WAIT_SW (1ULL << 5)
#define ICS_IWC (1u << 0)
#define IECTL_IM (1u << 31)
#define IECTL_IP (1u << 30)

/* IRTE, remapped format (9.10): low quadword. */
#define IRTE_P (1ULL << 0)
#define IRTE_FPD (1ULL << 1)
#define IRTE_DM (1ULL << 2)
#define IRTE_TM (1ULL << 4)
#define IRTE_DLM_SHIFT 5
#define IRTE_IM (1ULL << 15) /* posted: not offered (CAP.PI = 0), reserved */
#define IRTE_VECTOR_SHIFT 16
#define IRTE_LO_RSVD ((7ULL << 12) | (0xffULL << 24))
/* High quadword: SID 15:0, SQ 17:16, SVT 19:18, reserved 63:20. */
#define IRTE_HI_RSVD (~0xfffffULL)

#define FAULT_LOG_FIRST 8 /* faults logged one by one, then every 2^n-th */

void viommu_reset(struct viommu *v, struct vlapic *lapic, u8 *ram, u64 ram_size, const char *name)
{
	memset(v, 0, sizeof(*v));
	v->lapic = lapic;
	v->ram = ram;
	v->ram_size = ram_size;
	v->name = name ? name : "?";
	v->fectl = VTD_FECTL_IM; /* 10.4.10: IM is set at reset */
	v->iectl = IECTL_IM;
}

bool viommu_ir_enabled(const struct viommu *v)
{
	return v->gsts & VTD_GCMD_IRE;
}

/* The host address of guest-physical [gpa, gpa + len) if all of it is RAM
 * (not the MMIO hole), else NULL. */
static u8 *ram_at(const struct viommu *v, u64 gpa, u64 len)
{
	if (!v->ram || len == 0 || gpa >= v->ram_size || len > v->ram_size - gpa)
		return NULL;
	u64 last = gpa + len - 1;
	if (gpa < HVM_BOOT_MMIO_HOLE && last >= HVM_BOOT_MMIO_HOLE)
		return NULL;
	if (gpa >= HVM_BOOT_MMIO_HOLE && gpa < GiB(4))
		return NULL;
	return v->ram + gpa;
}

/* The fault event interrupt (7.3): an MSI in compatibility format from
 * FEDATA/FEADDR/FEUADDR (upper destination bits in FEUADDR 31:8, as for an
 * x2APIC destination). */
static void event_interrupt(struct viommu *v, u32 data, u32 addr, u32 uaddr)
{
	struct viommu_irq irq = {
		.dest = ((addr >> 12) & 0xff) | (uaddr & 0xffffff00),
		.logical = addr & (1u << 2),
		.mode = (data >> 8) & 7,
		.vector = (u8)data,
	};
	irq.dest32 = irq.dest > 0xff;
	if ((addr >> 20) == 0xfee)
		viommu_deliver(v->lapic, &irq);
}

static void fault_event(struct viommu *v)
{
	v->fectl |= VTD_FECTL_IP;
	if (!(v->fectl & VTD_FECTL_IM)) {
		v->fectl &= ~VTD_FECTL_IP;
		event_interrupt(v, v->fedata, v->feaddr, v->feuaddr);
	}
}

static void update_ppf(struct viommu *v)
{
	if (v->frcd[1] & (1ULL << 63))
		v->fsts |= VTD_FSTS_PPF;
	else
		v->fsts &= ~VTD_FSTS_PPF;
}

/* Records an interrupt-remapping fault (7.1.3, 7.3.1): the recording
 * register takes it if free (F clear) and no overflow is pending, else PFO
 * is set; then the fault event. */
static void record_fault(struct viommu *v, u16 sid, u16 index, u8 reason)
{
	v->fault_count++;
	if (v->fault_count <= FAULT_LOG_FIRST || !(v->fault_count & (v->fault_count - 1))) {
		if (log_guest(LOG_KIND_MMIO,
			      "viommu: partition %s: interrupt from %02x:%02x.%u index %u dropped, "
			      "fault reason 0x%x (%llu so far)",
			      v->name, sid >> 8, (sid >> 3) & 0x1f, sid & 7, index, reason,
			      (unsigned long long)v->fault_count))
			v->fault_logged++;
	}
	if ((v->frcd[1] & (1ULL << 63)) || (v->fsts & VTD_FSTS_PFO)) {
		v->fsts |= VTD_FSTS_PFO;
		return;
	}
	/* 10.4.14: FI 63:12 (interrupt index in 63:48 for IR faults), SID
	 * 79:64, FR 103:96, F 127. */
	v->frcd[0] = (u64)index << 48;
	v->frcd[1] = sid | ((u64)reason << 32) | (1ULL << 63);
	v->fsts &= ~(0xffu << 8); /* FRI = 0: the only register */
	bool was = v->fsts & VTD_FSTS_PPF;
	update_ppf(v);
	if (!was)
		fault_event(v);
}

/* A queue error (6.5.2.10): IQE set, the queue stops until it is cleared. */
static void queue_error(struct viommu *v)
{
	bool was = v->fsts & (VTD_FSTS_IQE | VTD_FSTS_ICE | VTD_FSTS_ITE);

	v->fsts |= VTD_FSTS_IQE;
	if (!was)
		fault_event(v);
}

static u64 queue_entries(const struct viommu *v)
{
	return 256ULL << (v->iqa & 7); /* 2^(QS + 8) 128-bit descriptors */
}

/* Fetches and completes descriptors from IQH to IQT (6.5.2): at most one
 * pass round the queue, and it stops at the first bad one (IQH stays on
 * it, as hardware leaves it). */
static void run_queue(struct viommu *v)
{
	u64 entries = queue_entries(v);
	u64 base = v->iqa & ~0xfffULL;
	u64 head = (v->iqh >> 4) & 0x7fff, tail = (v->iqt >> 4) & 0x7fff;

	if (!(v->gsts & VTD_GCMD_QIE) || (v->fsts & VTD_FSTS_IQE))
		return;
	if (tail >= entries || head >= entries) {
		queue_error(v);
		return;
	}
	for (u64 n = 0; head != tail && n < entries; n++) {
		const u8 *d = ram_at(v, base + head * 16, 16);
		u64 qw0, qw1;
		if (!d) {
			queue_error(v);
			break;
		}
		memcpy(&qw0, d, 8);
		memcpy(&qw1, d + 8, 8);
		bool ok = true;
		switch (qw0 & 0xf) {
		case QI_CC:
		case QI_IOTLB:
		case QI_DEVTLB:
		case QI_IEC:
			ok = !(qw0 & (7ULL << 9)); /* nothing is cached: done */
			break;
		case QI_WAIT:
			if (qw0 & (7ULL << 9)) {
				ok = false;
				break;
			}
			if (qw0 & QI_WAIT_SW) {
				/* status data 63:32 to the address in qw1 63:2 */
				u8 *s = ram_at(v, qw1 & ~3ULL, 4);
				u32 status = (u32)(qw0 >> 32);
				if (!s) {
					ok = false;
					break;
				}
				memcpy(s, &status, 4);
			}
			if (qw0 & QI_WAIT_IF) {
				v->ics |= ICS_IWC;
				v->iectl |= IECTL_IP;
				if (!(v->iectl & IECTL_IM)) {
					v->iectl &= ~IECTL_IP;
					event_interrupt(v, v->iedata, v->ieaddr, v->ieuaddr);
				}
			}
			break;
		default:
			ok = false;
			break;
		}
		if (!ok) {
			queue_error(v);
			break;
		}
		head = (head + 1) % entries;
	}
	v->iqh = head << 4;
}

/* GCMD (10.4.4): the persistent bits (TE, QIE, IRE, CFI) become the
 * status; the one-shot bits (SRTP, SIRTP) complete at once. */
static void write_gcmd(struct viommu *v, u32 cmd)
{
	u32 persistent = VTD_GCMD_TE | VTD_GCMD_QIE | VTD_GCMD_IRE | VTD_GCMD_CFI;
	bool qie_was = v->gsts & VTD_GCMD_QIE;

	v->gsts = (v->gsts & ~persistent) | (cmd & persistent);
	if (cmd & VTD_GCMD_SRTP)
		v->gsts |= VTD_GCMD_SRTP; /* RTPS */
	if (cmd & VTD_GCMD_SIRTP) {
		v->irta_active = v->irta;
		v->gsts |= VTD_GCMD_SIRTP; /* IRTPS */
	}
	if (qie_was && !(v->gsts & VTD_GCMD_QIE))
		v->iqh = 0; /* 10.4.22: IQH is reset when QI is disabled */
	if (!qie_was && (v->gsts & VTD_GCMD_QIE))
		run_queue(v);
}

static u64 read_reg(const struct viommu *v, u32 off)
{
	switch (off) {
	case VTD_VER:
		return VER_VALUE;
	case VTD_CAP:
		return CAP_VALUE;
	case VTD_ECAP:
		return ECAP_VALUE;
	case VTD_GCMD:
		return (u64)v->gsts << 32; /* GCMD reads 0, GSTS beside it */
	case VTD_RTADDR:
		return v->rtaddr;
	case VTD_CCMD:
		return v->ccmd;
	case VTD_FSTS - 4:
		return (u64)v->fsts << 32;
	case VTD_FECTL:
		return v->fectl | ((u64)v->fedata << 32);
	case VTD_FEADDR:
		return v->feaddr | ((u64)v->feuaddr << 32);
	case VTD_IQH:
		return v->iqh;
	case VTD_IQT:
		return v->iqt;
	case VTD_IQA:
		return v->iqa;
	case VTD_ICS - 4:
		return (u64)v->ics << 32;
	case VTD_IECTL:
		return v->iectl | ((u64)v->iedata << 32);
	case VTD_IEADDR:
		return v->ieaddr | ((u64)v->ieuaddr << 32);
	case VTD_IRTA:
		return v->irta;
	case VTD_IRO:
		return v->iva;
	case VTD_IRO + 8:
		return v->iotlb;
	case VTD_FRO:
		return v->frcd[0];
	case VTD_FRO + 8:
		return v->frcd[1];
	default:
		return 0; /* reserved and unimplemented registers read 0 */
	}
}

/* A write to the qword at off (8-aligned) whose bytes in mask changed. */
static void write_reg(struct viommu *v, u32 off, u64 value, u64 mask)
{
	u64 lo = mask & 0xffffffffULL, hi = mask >> 32;
	u64 nv = (read_reg(v, off) & ~mask) | (value & mask);

	switch (off) {
	case VTD_GCMD:
		if (lo)
			write_gcmd(v, (u32)value);
		break; /* GSTS is read-only */
	case VTD_RTADDR:
		v->rtaddr = nv & ~0x3ffULL; /* 10.4.6: 63:12 address, TTM 11:10 */
		break;
	case VTD_CCMD:
		/* 10.4.7: ICC (63) completes at once; CAIG (60:59) = CIRG. */
		if (hi)
			nv = (nv & ~((1ULL << 63) | (3ULL << 59))) | (((nv >> 61) & 3) << 59);
		v->ccmd = nv;
		break;
	case VTD_FSTS - 4:
		if (hi) {
			/* 10.4.9: PFO, IQE, ICE, ITE are write-1-to-clear */
			u32 w1c = VTD_FSTS_PFO | VTD_FSTS_IQE | VTD_FSTS_ICE | VTD_FSTS_ITE;
			bool iqe = v->fsts & VTD_FSTS_IQE;
			v->fsts &= ~((u32)(value >> 32) & w1c);
			if (iqe && !(v->fsts & VTD_FSTS_IQE))
				run_queue(v); /* fetching resumes at IQH */
		}
		break;
	case VTD_FECTL:
		if (lo) {
			bool unmask = (v->fectl & VTD_FECTL_IM) && !((u32)value & VTD_FECTL_IM);
			v->fectl = (v->fectl & VTD_FECTL_IP) | ((u32)value & VTD_FECTL_IM);
			/* 10.4.10: clearing IM with IP set sends the event */
			if (unmask && (v->fectl & VTD_FECTL_IP)) {
				v->fectl &= ~VTD_FECTL_IP;
				event_interrupt(v, v->fedata, v->feaddr, v->feuaddr);
			}
		}
		if (hi)
			v->fedata = (u32)(nv >> 32) & 0xffff;
		break;
	case VTD_FEADDR:
		v->feaddr = (u32)nv & ~3u;
		v->feuaddr = (u32)(nv >> 32);
		break;
	case VTD_IQT:
		v->iqt = nv & 0x7fff0ULL; /* 10.4.23: QT in 18:4 */
		if (lo)
			run_queue(v);
		break;
	case VTD_IQA:
		/* 10.4.24: address 63:12, DW 11 (reserved without scalable
		 * mode), QS 2:0.  Only while QI is off. */
		if (!(v->gsts & VTD_GCMD_QIE))
			v->iqa = nv & ~0xff8ULL;
		break;
	case VTD_ICS - 4:
		if (hi && (value >> 32) & ICS_IWC)
			v->ics &= ~ICS_IWC;
		break;
	case VTD_IECTL:
		if (lo) {
			bool unmask = (v->iectl & IECTL_IM) && !((u32)value & IECTL_IM);
			v->iectl = (v->iectl & IECTL_IP) | ((u32)value & IECTL_IM);
			if (unmask && (v->iectl & IECTL_IP)) {
				v->iectl &= ~IECTL_IP;
				event_interrupt(v, v->iedata, v->ieaddr, v->ieuaddr);
			}
		}
		if (hi)
			v->iedata = (u32)(nv >> 32) & 0xffff;
		break;
	case VTD_IEADDR:
		v->ieaddr = (u32)nv & ~3u;
		v->ieuaddr = (u32)(nv >> 32);
		break;
	case VTD_IRTA:
		v->irta = nv & ~0x7f0ULL; /* 10.4.29: 63:12, EIME 11, S 3:0 */
		break;
	case VTD_IRO:
		v->iva = nv;
		break;
	case VTD_IRO + 8:
		/* 10.4.8.1: IVT (63) completes at once; IAIG (58:57) = IIRG
		 * (61:60). */
		if (hi)
			nv = (nv & ~((1ULL << 63) | (3ULL << 57))) | (((nv >> 60) & 3) << 57);
		v->iotlb = nv;
		break;
	case VTD_FRO + 8:
		/* 10.4.14: F (127) is write-1-to-clear; the rest read-only */
		if (hi && ((value >> 32) & (1u << 31))) {
			v->frcd[1] &= ~(1ULL << 63);
			update_ppf(v);
		}
		break;
	default:
		break; /* read-only, reserved, unimplemented (AFLOG, PMEN, ...) */
	}
}

u64 viommu_mmio_read(struct viommu *v, u32 offset, unsigned size)
{
	offset &= 0xfff;
	if (size == 8 && !(offset & 7))
		return read_reg(v, offset);
	if (size == 4 && !(offset & 3))
		return (u32)(read_reg(v, offset & ~7u) >> (8 * (offset & 4)));
	return 0;
}

void viommu_mmio_write(struct viommu *v, u32 offset, unsigned size, u64 value)
{
	offset &= 0xfff;
	if (size == 8 && !(offset & 7))
		write_reg(v, offset, value, ~0ULL);
	else if (size == 4 && !(offset & 3))
		write_reg(v, offset & ~7u, (value & 0xffffffffULL) << (8 * (offset & 4)),
			  0xffffffffULL << (8 * (offset & 4)));
}

/* Source validation (9.10, SVT/SQ/SID of the IRTE). */
static bool sid_ok(u64 hi, u16 sid)
{
	u16 want = (u16)hi;
	unsigned sq = (hi >> 16) & 3, svt = (hi >> 18) & 3;
	static const u16 sq_mask[4] = { 0xffff, 0xfffb, 0xfff9, 0xfff8 };

	if (svt == 1)
		return (sid & sq_mask[sq]) == (want & sq_mask[sq]);
	if (svt == 2) /* requester's bus in [SID 15:8, SID 7:0] */
		return (sid >> 8) >= (want >> 8) && (sid >> 8) <= (want & 0xff);
	return true; /* 0: no validation (3 is caught as reserved) */
}

int viommu_translate(struct viommu *v, u16 sid, u64 addr, u32 data, struct viommu_irq *out)
{
	memset(out, 0, sizeof(*out));
	if ((addr >> 20) != 0xfee)
		return -E_INVAL;
	bool remappable = addr & (1u << 4);
	if (!viommu_ir_enabled(v) || !remappable) {
		if (viommu_ir_enabled(v) && !(v->gsts & VTD_GCMD_CFI)) {
			/* 5.1.2.1: compatibility format blocked */
			record_fault(v, sid, 0, VTD_FR_IR_COMPAT);
			return -E_FAULT;
		}
		/* SDM Vol. 3A §11.11.1-2: destination 19:12, DM 2; vector
		 * 7:0, delivery mode 10:8, trigger mode 15. */
		out->dest = (addr >> 12) & 0xff;
		out->logical = addr & (1u << 2);
		out->mode = (data >> 8) & 7;
		out->vector = (u8)data;
		out->level = data & (1u << 15);
		return 0;
	}
	/* 5.1.2.2: handle 19:5 with bit 15 in address bit 2, SHV in 3; with
	 * SHV the subhandle (data 15:0) is added. */
	u32 index = ((addr >> 5) & 0x7fff) | (((addr >> 2) & 1) << 15);
	if (addr & (1u << 3))
		index = (index + (data & 0xffff)) & 0xffff;
	if ((addr & 3) || (addr >> 32)) {
		record_fault(v, sid, (u16)index, VTD_FR_IR_REQ_RSVD);
		return -E_FAULT;
	}
	u64 irta = v->irta_active;
	if (index >= (2ULL << (irta & 0xf))) {
		record_fault(v, sid, (u16)index, VTD_FR_IR_INDEX);
		return -E_FAULT;
	}
	const u8 *e = ram_at(v, (irta & ~0xfffULL) + (u64)index * 16, 16);
	if (!e) {
		record_fault(v, sid, (u16)index, VTD_FR_IR_TABLE);
		return -E_FAULT;
	}
	u64 lo, hi;
	memcpy(&lo, e, 8);
	memcpy(&hi, e + 8, 8);
	bool fpd = lo & IRTE_FPD;
	bool eim = irta & VTD_IRTA_EIME;
	u8 reason = 0;
	u32 dst = (u32)(lo >> 32);
	unsigned dlm = (lo >> IRTE_DLM_SHIFT) & 7;
	if (!(lo & IRTE_P))
		reason = VTD_FR_IR_NOT_PRESENT;
	else if ((lo & (IRTE_LO_RSVD | IRTE_IM)) || (hi & IRTE_HI_RSVD) || ((hi >> 18) & 3) == 3 ||
		 dlm == 3 || dlm == 6 || (!eim && (dst & 0xffff00ffu)))
		reason = VTD_FR_IR_IRTE_RSVD; /* xAPIC: DST 15:8 only */
	else if (!sid_ok(hi, sid))
		reason = VTD_FR_IR_SID;
	if (reason) {
		/* 7.1.3: with FPD these qualified faults are not recorded */
		if (!fpd)
			record_fault(v, sid, (u16)index, reason);
		return -E_FAULT;
	}
	out->dest = eim ? dst : (dst >> 8) & 0xff;
	out->dest32 = eim;
	out->logical = lo & IRTE_DM;
	out->mode = dlm;
	out->vector = (u8)(lo >> IRTE_VECTOR_SHIFT);
	out->level = lo & IRTE_TM;
	return 0;
}

bool viommu_deliver(struct vlapic *lapic, const struct viommu_irq *irq)
{
	if (irq->dest32)
		return vlapic_deliver32(lapic, irq->dest, irq->logical, irq->mode, irq->vector,
					irq->level);
	return vlapic_deliver(lapic, (u8)irq->dest, irq->logical, irq->mode, irq->vector,
			      irq->level);
}

bool viommu_send(struct viommu *v, u16 sid, u64 addr, u32 data, int *err)
{
	struct viommu_irq irq;
	int e = viommu_translate(v, sid, addr, data, &irq);

	if (err)
		*err = e;
	if (e)
		return false;
	/* A compatibility-format level deassert (trigger 1, level 0) is a
	 * no-op for the APIC. */
	if (!(addr & (1u << 4)) || !viommu_ir_enabled(v)) {
		if ((data & (1u << 15)) && !(data & (1u << 14)))
			return false;
	}
	return viommu_deliver(v->lapic, &irq);
}
