/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the virtual VT-d interrupt-remapping unit
 * (kernel/hvm/viommu.c) with the I/O APIC and the local APIC it feeds:
 * registers, the enable sequence Linux uses, the invalidation queue and its
 * wait descriptor, remapped I/O APIC entries and MSIs in x2APIC and xAPIC
 * modes, faults and their recording, and hostile table addresses and sizes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/errno.h"
#include "kernel/hvm/vioapic.h"
#include "kernel/hvm/viommu.h"
#include "kernel/hvm/vlapic.h"
#include "kernel/log.h"

static int log_count;
static char last_log[512];

void log_line(const char *fmt, ...)
{
	(void)fmt;
	log_count++;
}

bool log_guest(enum log_kind kind, const char *fmt, ...)
{
	va_list ap;
	(void)kind;
	va_start(ap, fmt);
	vsnprintf(last_log, sizeof(last_log), fmt, ap);
	va_end(ap);
	log_count++;
	return true;
}

#define RAM_SIZE (4u << 20)
#define IRT_GPA 0x100000ULL
#define IRT_S 7 /* 256 entries */
#define IQ_GPA 0x200000ULL
#define STATUS_GPA 0x300000ULL

static uint8_t *ram;
static struct vlapic a;
static struct vioapic io;
static struct viommu v;

static void eoi_hook(void *ctx, u8 vector)
{
	vioapic_eoi(ctx, vector);
}

static int setup(void **state)
{
	(void)state;
	if (!ram)
		ram = malloc(RAM_SIZE);
	memset(ram, 0, RAM_SIZE);
	log_count = 0;
	vlapic_reset(&a, "linux", 1000000000ULL, 0);
	vlapic_set_eoi_hook(&a, eoi_hook, &io);
	vlapic_mmio_write(&a, 0, APIC_SVR, 4, APIC_SVR_ENABLE | 0xff);
	vioapic_reset(&io, &a, 0);
	viommu_reset(&v, &a, ram, RAM_SIZE, "linux");
	vioapic_set_iommu(&io, &v);
	return 0;
}

static u64 rq(u32 off)
{
	return viommu_mmio_read(&v, off, 8);
}

static u32 rd(u32 off)
{
	return (u32)viommu_mmio_read(&v, off, 4);
}

static void wq(u32 off, u64 val)
{
	viommu_mmio_write(&v, off, 8, val);
}

static void wd(u32 off, u32 val)
{
	viommu_mmio_write(&v, off, 4, val);
}

static void x2apic_on(void)
{
	assert_int_equal(vlapic_msr_write(&a, 0, MSR_IA32_APIC_BASE,
					  0xfee00000ULL | APIC_BASE_BSP | APIC_BASE_EN |
						  APIC_BASE_EXTD),
			 0);
	assert_true(vlapic_x2apic(&a));
	assert_int_equal(vlapic_msr_write(&a, 0, 0x80f, APIC_SVR_ENABLE | 0xff), 0);
}

static void set_irte(unsigned index, u64 lo, u64 hi)
{
	memcpy(ram + IRT_GPA + 16 * index, &lo, 8);
	memcpy(ram + IRT_GPA + 16 * index + 8, &hi, 8);
}

/* A remapped IRTE: present, vector, destination (already placed: x2APIC
 * 32 bits, xAPIC in 15:8), level if asked. */
static u64 irte(u8 vector, u32 dst, bool level)
{
	return 1ULL | (level ? 1ULL << 4 : 0) | ((u64)vector << 16) | ((u64)dst << 32);
}

static void wait_gsts(u32 bit, bool set)
{
	/* the operations complete at once: one read must see them */
	assert_int_equal(!!(rd(VTD_GSTS) & bit), set);
}

/* IRTA, SIRTP; queue at IQ_GPA, QIE; then IRE (and CFI if asked): the
 * order Linux's intel_irq_remapping.c takes. */
static void enable_ir(bool eim, bool cfi)
{
	wq(VTD_IRTA, IRT_GPA | (eim ? VTD_IRTA_EIME : 0) | IRT_S);
	wd(VTD_GCMD, VTD_GCMD_SIRTP);
	wait_gsts(VTD_GCMD_SIRTP, true);
	wd(VTD_IQT, 0);
	wq(VTD_IQA, IQ_GPA);
	wd(VTD_GCMD, VTD_GCMD_QIE);
	wait_gsts(VTD_GCMD_QIE, true);
	wd(VTD_GCMD, VTD_GCMD_QIE | VTD_GCMD_IRE | (cfi ? VTD_GCMD_CFI : 0));
	wait_gsts(VTD_GCMD_IRE, true);
	assert_true(viommu_ir_enabled(&v));
}

static void put_desc(unsigned slot, u64 qw0, u64 qw1)
{
	memcpy(ram + IQ_GPA + 16 * slot, &qw0, 8);
	memcpy(ram + IQ_GPA + 16 * slot + 8, &qw1, 8);
}

static u32 status_word(void)
{
	u32 s;
	memcpy(&s, ram + STATUS_GPA, 4);
	return s;
}

#define WAIT_DESC(data) (5ULL | (1ULL << 5) | ((u64)(data) << 32))

static void registers_at_reset(void **state)
{
	(void)state;
	assert_int_equal(rd(VTD_VER), 0x10);
	u64 cap = rq(VTD_CAP), ecap = rq(VTD_ECAP);
	assert_int_equal(((cap >> 24) & 0x3ff) * 16, VTD_FRO); /* FRO */
	assert_int_equal((cap >> 40) & 0xff, 0);	       /* one record */
	assert_int_equal((cap >> 8) & 0x1f, 1u << 2);	       /* SAGAW 4-level */
	assert_int_equal(ecap & 0x1a, 0x1a);		       /* QI, IR, EIM */
	assert_int_equal(((ecap >> 8) & 0x3ff) * 16, VTD_IRO);
	assert_int_equal(ecap & (1ULL << 43), 0); /* no scalable mode */
	assert_int_equal(rd(VTD_CAP + 4), (u32)(cap >> 32));
	assert_int_equal(rd(VTD_GSTS), 0);
	assert_int_equal(rd(VTD_FECTL), VTD_FECTL_IM);
	assert_int_equal(rd(VTD_FSTS), 0);
	/* read-only registers keep their values; odd accesses do nothing */
	wq(VTD_CAP, 0);
	wq(VTD_ECAP, 0);
	wd(VTD_GSTS, 0xffffffff);
	assert_int_equal(rq(VTD_CAP), cap);
	assert_int_equal(rq(VTD_ECAP), ecap);
	assert_int_equal(rd(VTD_GSTS), 0);
	assert_int_equal(viommu_mmio_read(&v, VTD_CAP + 1, 4), 0);
	assert_int_equal(viommu_mmio_read(&v, VTD_CAP, 2), 0);
	assert_int_equal(viommu_mmio_read(&v, VTD_GSTS, 8), 0); /* not 8-aligned */
	viommu_mmio_write(&v, VTD_GCMD, 2, 0xffff);
	viommu_mmio_write(&v, VTD_GCMD + 1, 4, 0xffffffff);
	assert_int_equal(rd(VTD_GSTS), 0);
	/* TE and SRTP are accepted and reflected */
	wq(VTD_RTADDR, 0x123000);
	wd(VTD_GCMD, VTD_GCMD_SRTP);
	wait_gsts(VTD_GCMD_SRTP, true);
	wd(VTD_GCMD, VTD_GCMD_TE);
	wait_gsts(VTD_GCMD_TE, true);
	wd(VTD_GCMD, 0);
	wait_gsts(VTD_GCMD_TE, false);
	assert_int_equal(rq(VTD_RTADDR), 0x123000);
	/* CCMD and IOTLB invalidations complete at once */
	wq(VTD_CCMD, (1ULL << 63) | (1ULL << 61));
	assert_int_equal(rq(VTD_CCMD) >> 63, 0);
	assert_int_equal((rq(VTD_CCMD) >> 59) & 3, 1);
	wq(VTD_IRO + 8, (1ULL << 63) | (1ULL << 60));
	assert_int_equal(rq(VTD_IRO + 8) >> 63, 0);
	assert_int_equal((rq(VTD_IRO + 8) >> 57) & 3, 1);
}

static void queue_and_wait_descriptor(void **state)
{
	(void)state;
	enable_ir(true, false);
	assert_int_equal(rd(VTD_GSTS) & (VTD_GCMD_QIE | VTD_GCMD_IRE | VTD_GCMD_SIRTP),
			 VTD_GCMD_QIE | VTD_GCMD_IRE | VTD_GCMD_SIRTP);
	/* interrupt entry cache invalidation, then a wait with status */
	put_desc(0, 4, 0);
	put_desc(1, WAIT_DESC(1), STATUS_GPA);
	wd(VTD_IQT, 2 << 4);
	assert_int_equal(status_word(), 1);
	assert_int_equal(rq(VTD_IQH), 2 << 4);
	assert_int_equal(rd(VTD_FSTS), 0);
	/* a wait with IF sets ICS.IWC (write 1 clears it) */
	put_desc(2, 5ULL | (1ULL << 4), 0);
	wd(VTD_IQT, 3 << 4);
	assert_int_equal(rd(VTD_ICS), 1);
	wd(VTD_ICS, 1);
	assert_int_equal(rd(VTD_ICS), 0);
	/* disabling QI resets the head */
	wd(VTD_GCMD, VTD_GCMD_IRE);
	wait_gsts(VTD_GCMD_QIE, false);
	assert_int_equal(rq(VTD_IQH), 0);
}

static void hostile_queue(void **state)
{
	(void)state;
	enable_ir(true, false);
	/* an unknown descriptor stops the queue with IQE; IQH stays on it */
	put_desc(0, 0xf, 0);
	put_desc(1, WAIT_DESC(7), STATUS_GPA);
	wd(VTD_IQT, 2 << 4);
	assert_true(rd(VTD_FSTS) & VTD_FSTS_IQE);
	assert_int_equal(rq(VTD_IQH), 0);
	assert_int_equal(status_word(), 0);
	/* the OS replaces it (as Linux's qi_check_fault does) and clears IQE:
	 * fetching resumes */
	put_desc(0, 4, 0);
	wd(VTD_FSTS, VTD_FSTS_IQE);
	assert_int_equal(rd(VTD_FSTS) & VTD_FSTS_IQE, 0);
	assert_int_equal(status_word(), 7);
	assert_int_equal(rq(VTD_IQH), 2 << 4);
	/* a tail beyond the queue (256 entries with QS 0) */
	wd(VTD_IQT, 300 << 4);
	assert_true(rd(VTD_FSTS) & VTD_FSTS_IQE);
	wd(VTD_IQT, 2 << 4);
	wd(VTD_FSTS, VTD_FSTS_IQE);
	/* a status address outside RAM */
	put_desc(2, WAIT_DESC(9), 0xfec00000ULL);
	wd(VTD_IQT, 3 << 4);
	assert_true(rd(VTD_FSTS) & VTD_FSTS_IQE);
	/* a queue in the MMIO hole, and one beyond RAM: errors, no access */
	wd(VTD_GCMD, VTD_GCMD_IRE);
	wd(VTD_FSTS, VTD_FSTS_IQE);
	wd(VTD_IQT, 0);
	wq(VTD_IQA, 0xfed00000ULL | 7);
	wd(VTD_GCMD, VTD_GCMD_IRE | VTD_GCMD_QIE);
	wd(VTD_IQT, 1 << 4);
	assert_true(rd(VTD_FSTS) & VTD_FSTS_IQE);
	wd(VTD_GCMD, VTD_GCMD_IRE);
	wd(VTD_FSTS, VTD_FSTS_IQE);
	wd(VTD_IQT, 0);
	wq(VTD_IQA, (RAM_SIZE - 0x1000) | 7); /* 32768 entries: 512 KiB past the end */
	wd(VTD_GCMD, VTD_GCMD_IRE | VTD_GCMD_QIE);
	memset(ram + RAM_SIZE - 0x1000, 0, 0x1000);
	for (unsigned i = 0; i < 256; i++)
		memcpy(ram + RAM_SIZE - 0x1000 + 16 * i, &(u64){ 4 }, 8);
	wd(VTD_IQT, 0x7fff << 4); /* walks 256 good ones, then leaves RAM */
	assert_true(rd(VTD_FSTS) & VTD_FSTS_IQE);
	assert_int_equal(rq(VTD_IQH), 256 << 4);
	/* IQA cannot move while QI is on */
	wq(VTD_IQA, IQ_GPA);
	assert_int_equal(rq(VTD_IQA), (RAM_SIZE - 0x1000) | 7);
}

static void remapped_ioapic_x2apic(void **state)
{
	(void)state;
	x2apic_on();
	enable_ir(true, false);
	set_irte(5, irte(0x31, 0, false), 0);
	/* pin 2: remappable (bit 48), handle 5 in 63:49, vector field = pin
	 * (as Linux writes it), edge */
	vioapic_mmio_write(&io, VIOAPIC_IOREGSEL, 4, VIOAPIC_REG_REDTBL + 5);
	vioapic_mmio_write(&io, VIOAPIC_IOWIN, 4, (1u << 16) | (5u << 17));
	vioapic_mmio_write(&io, VIOAPIC_IOREGSEL, 4, VIOAPIC_REG_REDTBL + 4);
	vioapic_mmio_write(&io, VIOAPIC_IOWIN, 4, 2);
	vioapic_set_pin(&io, 2, true);
	vioapic_set_pin(&io, 2, false);
	assert_int_equal(vlapic_pending(&a), 0x31);
	vlapic_ack(&a, 0x31);
	vlapic_msr_write(&a, 0, 0x80b, 0); /* EOI */
	/* a 32-bit destination that is not ours: not delivered, no fault */
	set_irte(5, irte(0x32, 0x100, false), 0);
	vioapic_set_pin(&io, 2, true);
	vioapic_set_pin(&io, 2, false);
	assert_int_equal(vlapic_pending(&a), -1);
	assert_int_equal(rd(VTD_FSTS), 0);
	/* logical: cluster 0, member bit 0 */
	set_irte(5, irte(0x33, 1, false) | (1ULL << 2), 0);
	vioapic_set_pin(&io, 2, true);
	vioapic_set_pin(&io, 2, false);
	assert_int_equal(vlapic_pending(&a), 0x33);
	vlapic_ack(&a, 0x33);
	vlapic_msr_write(&a, 0, 0x80b, 0);
	/* level: TMR from the IRTE, remote IRR from the entry; the EOI of the
	 * real vector does not match the entry's (pin) vector, so remote IRR
	 * stays until the entry is rewritten (Linux's version 0x11 EOI) */
	set_irte(6, irte(0x41, 0, true), 0);
	vioapic_mmio_write(&io, VIOAPIC_IOREGSEL, 4, VIOAPIC_REG_REDTBL + 19);
	vioapic_mmio_write(&io, VIOAPIC_IOWIN, 4, (1u << 16) | (6u << 17));
	vioapic_mmio_write(&io, VIOAPIC_IOREGSEL, 4, VIOAPIC_REG_REDTBL + 18);
	vioapic_mmio_write(&io, VIOAPIC_IOWIN, 4, VIOAPIC_RTE_LEVEL | 9);
	vioapic_set_pin(&io, 9, true);
	assert_int_equal(vlapic_pending(&a), 0x41);
	assert_true(io.rte[9] & VIOAPIC_RTE_REMOTE_IRR);
	assert_true(a.tmr[0x41 / 32] & (1u << (0x41 % 32)));
}

static void remapped_xapic_and_msi(void **state)
{
	(void)state;
	enable_ir(false, false); /* APIC in xAPIC mode, EIME clear */
	/* xAPIC: destination in DST 15:8 */
	set_irte(6, irte(0x51, 0 << 8, false), 0x0008 | (1ULL << 18)); /* SVT 1, SQ 0, 00:01.0 */
	/* MSI: handle 4 (address 19:5), SHV, subhandle 2 in the data */
	u64 addr = 0xfee00000ULL | (4u << 5) | (1u << 4) | (1u << 3);
	int err = 1;
	assert_true(viommu_send(&v, 0x0008, addr, 2, &err));
	assert_int_equal(err, 0);
	assert_int_equal(vlapic_pending(&a), 0x51);
	vlapic_ack(&a, 0x51);
	vlapic_mmio_write(&a, 0, APIC_EOI, 4, 0);
	/* another source-id: verification fails (0x26) */
	assert_false(viommu_send(&v, 0x0010, addr, 2, &err));
	assert_int_equal(err, -E_FAULT);
	assert_int_equal((rq(VTD_FRO + 8) >> 32) & 0xff, VTD_FR_IR_SID);
	wd(VTD_FRO + 12, 1u << 31);
	/* SVT 2: bus range 0-0 */
	set_irte(6, irte(0x52, 0, false), 0x0000 | (2ULL << 18));
	assert_true(viommu_send(&v, 0x0010, addr, 2, &err));
	assert_false(viommu_send(&v, 0x0110, addr, 2, &err));
	wd(VTD_FRO + 12, 1u << 31);
	/* reserved destination bits in xAPIC mode */
	set_irte(6, irte(0x53, 0x10000, false), 0);
	assert_false(viommu_send(&v, 0x0010, addr, 2, &err));
	assert_int_equal((rq(VTD_FRO + 8) >> 32) & 0xff, VTD_FR_IR_IRTE_RSVD);
	wd(VTD_FRO + 12, 1u << 31);
	/* not an interrupt address */
	assert_false(viommu_send(&v, 0x0010, 0xfed00000ULL, 0, &err));
	assert_int_equal(err, -E_INVAL);
}

static void faults(void **state)
{
	(void)state;
	x2apic_on();
	enable_ir(true, false);
	/* the fault event: vector 0x60 to APIC 0 */
	wd(VTD_FEDATA, 0x60);
	wd(VTD_FEADDR, 0xfee00000u);
	wd(VTD_FEUADDR, 0);
	wd(VTD_FECTL, 0);
	/* entry 9 not present */
	u64 addr = 0xfee00000ULL | (9u << 5) | (1u << 4);
	int err;
	assert_false(viommu_send(&v, 0x00f8, addr, 0, &err));
	assert_int_equal(err, -E_FAULT);
	assert_true(rd(VTD_FSTS) & VTD_FSTS_PPF);
	u64 hi = rq(VTD_FRO + 8), lo = rq(VTD_FRO);
	assert_true(hi >> 63);
	assert_int_equal((hi >> 32) & 0xff, VTD_FR_IR_NOT_PRESENT);
	assert_int_equal(hi & 0xffff, 0x00f8);
	assert_int_equal(lo >> 48, 9);
	assert_int_equal(vlapic_pending(&a), 0x60);
	assert_non_null(strstr(last_log, "index 9 dropped, fault reason 0x22"));
	/* a second fault while the record is full: overflow */
	assert_false(viommu_send(&v, 0x00f8, addr, 0, &err));
	assert_true(rd(VTD_FSTS) & VTD_FSTS_PFO);
	/* the OS clears F and PFO */
	wd(VTD_FRO + 12, 1u << 31);
	wd(VTD_FSTS, VTD_FSTS_PFO);
	assert_int_equal(rd(VTD_FSTS), 0);
	/* FPD: a non-present entry is dropped without a record */
	set_irte(9, 1ULL << 1, 0);
	assert_false(viommu_send(&v, 0x00f8, addr, 0, &err));
	assert_int_equal(rd(VTD_FSTS), 0);
	/* index beyond the table (256 entries) */
	u64 big = 0xfee00000ULL | (0x7fffu << 5) | (1u << 4) | (1u << 2);
	assert_false(viommu_send(&v, 0x00f8, big, 0, &err));
	assert_int_equal((rq(VTD_FRO + 8) >> 32) & 0xff, VTD_FR_IR_INDEX);
	wd(VTD_FRO + 12, 1u << 31);
	/* posted format and reserved bits are reserved here */
	set_irte(9, irte(0x61, 0, false) | (1ULL << 15), 0);
	assert_false(viommu_send(&v, 0x00f8, addr, 0, &err));
	assert_int_equal((rq(VTD_FRO + 8) >> 32) & 0xff, VTD_FR_IR_IRTE_RSVD);
	wd(VTD_FRO + 12, 1u << 31);
	/* compatibility format is blocked while CFI is clear ... */
	assert_false(viommu_send(&v, 0x00f8, 0xfee00000ULL, 0x62, &err));
	assert_int_equal((rq(VTD_FRO + 8) >> 32) & 0xff, VTD_FR_IR_COMPAT);
	wd(VTD_FRO + 12, 1u << 31);
	/* ... and passes with it */
	wd(VTD_GCMD, VTD_GCMD_QIE | VTD_GCMD_IRE | VTD_GCMD_CFI);
	wait_gsts(VTD_GCMD_CFI, true);
	assert_true(viommu_send(&v, 0x00f8, 0xfee00000ULL, 0x62, &err));
	/* with IR off everything is compatibility format */
	wd(VTD_GCMD, VTD_GCMD_QIE);
	assert_true(viommu_send(&v, 0x00f8, 0xfee00000ULL, 0x63, &err));
}

static void hostile_tables(void **state)
{
	(void)state;
	x2apic_on();
	int err;
	u64 addr = 0xfee00000ULL | (1u << 5) | (1u << 4);
	/* a table in the MMIO hole, one past RAM, one straddling its end */
	static const u64 bad[] = { 0xfec00000ULL, 0x100000000ULL, RAM_SIZE - 0x1000 };
	for (unsigned i = 0; i < 3; i++) {
		wq(VTD_IRTA, bad[i] | VTD_IRTA_EIME | 0xf);
		wd(VTD_GCMD, VTD_GCMD_SIRTP);
		wd(VTD_GCMD, VTD_GCMD_IRE);
		u64 a2 = i == 2 ? 0xfee00000ULL | (0x7fffu << 5) | (1u << 4) | (1u << 2) : addr;
		assert_false(viommu_send(&v, 0x00f8, a2, 0, &err));
		assert_int_equal(err, -E_FAULT);
		assert_int_equal((rq(VTD_FRO + 8) >> 32) & 0xff, VTD_FR_IR_TABLE);
		wd(VTD_FRO + 12, 1u << 31);
	}
	/* no RAM at all (a platform without it) */
	viommu_reset(&v, &a, NULL, 0, "none");
	wq(VTD_IRTA, IRT_GPA | 0xf);
	wd(VTD_GCMD, VTD_GCMD_SIRTP | VTD_GCMD_IRE);
	assert_false(viommu_send(&v, 0x00f8, addr, 0, &err));
	/* IRTA as written takes effect only at SIRTP */
	viommu_reset(&v, &a, ram, RAM_SIZE, "linux");
	enable_ir(true, false);
	set_irte(1, irte(0x71, 0, false), 0);
	wq(VTD_IRTA, 0xfec00000ULL | VTD_IRTA_EIME | 0xf);
	assert_true(viommu_send(&v, 0x00f8, addr, 0, &err));
	/* rate limit: many faults, few lines */
	set_irte(1, 0, 0);
	log_count = 0;
	for (unsigned i = 0; i < 1000; i++)
		viommu_send(&v, 0x00f8, addr, 0, &err);
	assert_true(log_count <= 8 + 10);
	assert_int_equal(v.fault_count, 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(registers_at_reset, setup),
		cmocka_unit_test_setup(queue_and_wait_descriptor, setup),
		cmocka_unit_test_setup(hostile_queue, setup),
		cmocka_unit_test_setup(remapped_ioapic_x2apic, setup),
		cmocka_unit_test_setup(remapped_xapic_and_msi, setup),
		cmocka_unit_test_setup(faults, setup),
		cmocka_unit_test_setup(hostile_tables, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
