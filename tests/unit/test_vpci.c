/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the virtual PCI bus (kernel/hvm/vpci.c): the host bridge,
 * type 1 configuration through 0xcf8/0xcfc and ECAM at every size and
 * offset, absent functions, hostile addresses, the device registry, BAR
 * sizing and decoding, and MSI / MSI-X delivery into the local APIC
 * (vlapic.c) from a test device defined here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/errno.h"
#include "kernel/hvm/vlapic.h"
#include "kernel/hvm/viommu.h"
#include "kernel/hvm/vpci.h"
#include "kernel/log.h"

static int log_count;

void log_line(const char *fmt, ...)
{
	(void)fmt;
	log_count++;
}

bool log_guest(enum log_kind kind, const char *fmt, ...)
{
	(void)kind;
	(void)fmt;
	log_count++;
	return true;
}

static struct vlapic a;
static struct vpci bus;

/* The test device: a memory BAR 0 of 4 KiB whose registers echo the last
 * write (with the MSI-X table at 0x800 and the PBA at 0xc00), an I/O BAR 1
 * of 32 ports, a 64-bit BAR 2 of 1 MiB. */
static struct vpci_device dev;
static u64 last_write, last_off;
static unsigned last_bar, reads;

static u64 dev_read(struct vpci_device *d, unsigned bar, u64 off, unsigned size)
{
	(void)d;
	(void)size;
	reads++;
	last_bar = bar;
	last_off = off;
	return 0x1122334455667788ULL;
}

static void dev_write(struct vpci_device *d, unsigned bar, u64 off, unsigned size, u64 v)
{
	(void)d;
	(void)size;
	last_bar = bar;
	last_off = off;
	last_write = v;
}

static const struct vpci_ops dev_ops = { .bar_read = dev_read, .bar_write = dev_write };

static int setup(void **state)
{
	(void)state;
	log_count = 0;
	reads = 0;
	vlapic_reset(&a, "linux", 1000000000ULL, 0);
	vlapic_mmio_write(&a, 0, APIC_SVR, 4, APIC_SVR_ENABLE | 0xff);
	vpci_reset(&bus, &a, "linux");
	vpci_device_init(&dev, "testdev", 0x1af4, 0x10f0, 0xff0000, 1, &dev_ops, NULL);
	assert_int_equal(vpci_device_add_bar(&dev, 0, VPCI_BAR_MEM32, 0x1000), 0);
	assert_int_equal(vpci_device_add_bar(&dev, 1, VPCI_BAR_IO, 32), 0);
	assert_int_equal(vpci_device_add_bar(&dev, 2, VPCI_BAR_MEM64, MiB(1)), 0);
	assert_int_equal(vpci_device_add_msi(&dev), 0);
	assert_int_equal(vpci_device_add_msix(&dev, 4, 0, 0x800, 0, 0xc00), 0);
	return 0;
}

static u32 cf8_read(unsigned devfn, unsigned reg, unsigned size)
{
	u32 v = 0x80000000u | devfn << 8 | (reg & 0xfc);
	assert_true(vpci_port_io(&bus, 0xcf8, 4, false, &v));
	assert_true(vpci_port_io(&bus, (u16)(0xcfc + (reg & 3)), size, true, &v));
	return v;
}

static void cf8_write(unsigned devfn, unsigned reg, unsigned size, u32 value)
{
	u32 v = 0x80000000u | devfn << 8 | (reg & 0xfc);
	assert_true(vpci_port_io(&bus, 0xcf8, 4, false, &v));
	assert_true(vpci_port_io(&bus, (u16)(0xcfc + (reg & 3)), size, false, &value));
}

static u64 ecam(unsigned busno, unsigned devfn, unsigned reg, unsigned size)
{
	u64 v = 0;
	assert_true(vpci_mmio(&bus, VPCI_ECAM_BASE + ((u64)busno << 20) + ((u64)devfn << 12) + reg,
			      size, false, &v));
	return v;
}

static void host_bridge(void **state)
{
	(void)state;
	assert_int_equal(cf8_read(0, 0, 4), 0x29c08086);
	assert_int_equal(cf8_read(0, 0, 2), 0x8086);
	assert_int_equal(cf8_read(0, 2, 2), 0x29c0);
	assert_int_equal(cf8_read(0, 3, 1), 0x29);
	assert_int_equal(cf8_read(0, 8, 4) >> 8, 0x060000); /* class */
	assert_int_equal(cf8_read(0, 0x0e, 1), 0x00);	    /* header type 0 */
	assert_int_equal(cf8_read(0, 4, 2), 0x0006);
	/* read-only: IDs, class, command of the host bridge */
	cf8_write(0, 0, 4, 0);
	cf8_write(0, 4, 2, 0);
	cf8_write(0, 8, 4, 0);
	assert_int_equal(cf8_read(0, 0, 4), 0x29c08086);
	assert_int_equal(cf8_read(0, 4, 2), 0x0006);
	assert_int_equal(cf8_read(0, 8, 4) >> 8, 0x060000);
	/* the same through ECAM, at every size */
	assert_int_equal(ecam(0, 0, 0, 4), 0x29c08086);
	assert_int_equal(ecam(0, 0, 1, 1), 0x80);
	assert_int_equal(ecam(0, 0, 2, 2), 0x29c0);
	assert_int_equal(ecam(0, 0, 0x100, 4), 0); /* no extended capabilities */
}

static void absent_functions_read_ones(void **state)
{
	(void)state;
	assert_int_equal(cf8_read(VPCI_DEVFN(1, 0), 0, 4), 0xffffffff);
	assert_int_equal(cf8_read(VPCI_DEVFN(0, 1), 0, 2), 0xffff);
	assert_int_equal(cf8_read(VPCI_DEVFN(31, 7), 0x3f, 1), 0xff);
	assert_int_equal(ecam(1, 0, 0, 4), 0xffffffff); /* other bus */
	assert_int_equal(ecam(255, 255, 0xffc, 4), 0xffffffff);
	assert_int_equal(ecam(0, 8, 0, 8), ~0ULL);
	/* bus 1 through 0xcf8 */
	u32 v = 0x80010000u;
	vpci_port_io(&bus, 0xcf8, 4, false, &v);
	vpci_port_io(&bus, 0xcfc, 4, true, &v);
	assert_int_equal(v, 0xffffffff);
	/* a write there changes nothing and does not fail */
	v = 0;
	vpci_port_io(&bus, 0xcfc, 4, false, &v);
}

static void config_address_register(void **state)
{
	(void)state;
	u32 v = 0xffffffff;
	/* reserved bits 30:24 and 1:0 read 0 */
	vpci_port_io(&bus, 0xcf8, 4, false, &v);
	vpci_port_io(&bus, 0xcf8, 4, true, &v);
	assert_int_equal(v, 0x80fffffc);
	/* byte and word accesses at 0xcf8-0xcfb are not CONFIG_ADDRESS */
	v = 0;
	assert_true(vpci_port_io(&bus, 0xcfb, 1, false, &v));
	assert_true(vpci_port_io(&bus, 0xcf8, 2, true, &v));
	assert_int_equal(v, 0xffff);
	vpci_port_io(&bus, 0xcf8, 4, true, &v);
	assert_int_equal(v, 0x80fffffc);
	/* enable bit clear: CONFIG_DATA is no configuration cycle */
	v = 0x00000000;
	vpci_port_io(&bus, 0xcf8, 4, false, &v);
	vpci_port_io(&bus, 0xcfc, 4, true, &v);
	assert_int_equal(v, 0xffffffff);
	/* a dword at 0xcfe: two bytes of config, the rest nothing */
	v = 0x80000000;
	vpci_port_io(&bus, 0xcf8, 4, false, &v);
	vpci_port_io(&bus, 0xcfe, 4, true, &v);
	assert_int_equal(v, 0xffff29c0);
	/* ports around it are not the bus's */
	assert_false(vpci_port_io(&bus, 0xcf7, 1, true, &v));
	assert_false(vpci_port_io(&bus, 0xd00, 1, true, &v));
}

static void registry(void **state)
{
	(void)state;
	struct vpci_device f1;
	/* function 1 before function 0: refused; 00:00.0 is taken */
	vpci_device_init(&f1, "f1", 0x1234, 0x5678, 0, 0, NULL, NULL);
	assert_int_equal(vpci_register(&bus, &f1, VPCI_DEVFN(3, 1)), -E_INVAL);
	assert_int_equal(vpci_register(&bus, &dev, VPCI_DEVFN(0, 0)), -E_INVAL);
	assert_int_equal(vpci_register(&bus, &dev, VPCI_DEVFN(3, 0)), 0);
	assert_int_equal(vpci_register(&bus, &dev, VPCI_DEVFN(4, 0)), -E_INVAL); /* twice */
	assert_int_equal(cf8_read(VPCI_DEVFN(3, 0), 0x0e, 1), 0x00);
	assert_int_equal(vpci_register(&bus, &f1, VPCI_DEVFN(3, 1)), 0);
	assert_int_equal(cf8_read(VPCI_DEVFN(3, 0), 0x0e, 1), 0x80); /* multi-function */
	assert_int_equal(cf8_read(VPCI_DEVFN(3, 1), 0, 4), 0x56781234);
	/* bad declarations */
	struct vpci_device d;
	vpci_device_init(&d, "bad", 1, 2, 0, 0, NULL, NULL);
	assert_int_equal(vpci_device_add_bar(&d, 6, VPCI_BAR_MEM32, 0x1000), -E_INVAL);
	assert_int_equal(vpci_device_add_bar(&d, 0, VPCI_BAR_MEM32, 0x1001), -E_INVAL);
	assert_int_equal(vpci_device_add_bar(&d, 0, VPCI_BAR_MEM32, 8), -E_INVAL);
	assert_int_equal(vpci_device_add_bar(&d, 0, VPCI_BAR_IO, 512), -E_INVAL);
	assert_int_equal(vpci_device_add_bar(&d, 5, VPCI_BAR_MEM64, 0x1000), -E_INVAL);
	assert_int_equal(vpci_device_add_bar(&d, 0, (enum vpci_bar_kind)9, 0x1000), -E_INVAL);
	assert_int_equal(vpci_device_add_bar(&d, 0, VPCI_BAR_MEM64, 0x1000), 0);
	assert_int_equal(vpci_device_add_bar(&d, 1, VPCI_BAR_MEM32, 0x1000), -E_INVAL);
	assert_int_equal(vpci_device_add_msix(&d, 0, 0, 0, 0, 0x800), -E_INVAL);
	assert_int_equal(vpci_device_add_msix(&d, 33, 0, 0, 0, 0x800), -E_INVAL);
	assert_int_equal(vpci_device_add_msix(&d, 4, 0, 0xff8, 0, 0x800), -E_INVAL); /* past BAR */
	assert_int_equal(vpci_device_add_msix(&d, 4, 0, 0, 0, 0x10), -E_INVAL);	     /* overlap */
	assert_int_equal(vpci_device_add_msix(&d, 4, 2, 0, 0, 0x800), -E_INVAL);     /* no BAR 2 */
	assert_int_equal(vpci_device_add_msix(&d, 4, 0, 0, 0, 0x800), 0);
	assert_int_equal(vpci_device_add_msi(&d), 0);
	assert_int_equal(vpci_device_add_msi(&d), -E_INVAL);
}

static void bar_sizing_and_decoding(void **state)
{
	(void)state;
	unsigned df = VPCI_DEVFN(3, 0);
	assert_int_equal(vpci_register(&bus, &dev, df), 0);
	/* sizing: all-ones, read back the mask, as an OS does */
	cf8_write(df, 0x10, 4, 0xffffffff);
	assert_int_equal(cf8_read(df, 0x10, 4), 0xfffff000);
	cf8_write(df, 0x14, 4, 0xffffffff);
	assert_int_equal(cf8_read(df, 0x14, 4), 0x0000ffe1);
	cf8_write(df, 0x18, 4, 0xffffffff);
	cf8_write(df, 0x1c, 4, 0xffffffff);
	assert_int_equal(cf8_read(df, 0x18, 4), 0xfff00004);
	assert_int_equal(cf8_read(df, 0x1c, 4), 0xffffffff);
	cf8_write(df, 0x20, 4, 0xffffffff); /* BAR 4: not implemented */
	assert_int_equal(cf8_read(df, 0x20, 4), 0);
	/* sizing byte by byte gives the same */
	for (unsigned i = 0; i < 4; i++)
		cf8_write(df, 0x10 + i, 1, 0xff);
	assert_int_equal(cf8_read(df, 0x10, 4), 0xfffff000);
	/* place them; nothing decodes until the command register says so */
	cf8_write(df, 0x10, 4, 0xf0001234);
	assert_int_equal(cf8_read(df, 0x10, 4), 0xf0001000);
	cf8_write(df, 0x14, 4, 0xc000);
	cf8_write(df, 0x18, 4, 0x00000000);
	cf8_write(df, 0x1c, 4, 0x00000010); /* 64 GiB */
	u64 v = 0;
	assert_false(vpci_mmio(&bus, 0xf0001010, 4, false, &v));
	u32 p = 0;
	assert_false(vpci_port_io(&bus, 0xc004, 2, true, &p));
	cf8_write(df, 4, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	assert_true(vpci_mmio(&bus, 0xf0001010, 4, false, &v));
	assert_int_equal(v, 0x55667788);
	assert_int_equal(last_bar, 0);
	assert_int_equal(last_off, 0x10);
	v = 0xabcd;
	assert_true(vpci_mmio(&bus, 0x1000000040ULL, 8, true, &v));
	assert_int_equal(last_bar, 2);
	assert_int_equal(last_off, 0x40);
	assert_int_equal(last_write, 0xabcd);
	assert_true(vpci_port_io(&bus, 0xc01e, 2, true, &p));
	assert_int_equal(p, 0x7788);
	assert_int_equal(last_bar, 1);
	assert_int_equal(last_off, 0x1e);
	/* an access straddling the BAR's end, or outside it, is not decoded */
	reads = 0;
	assert_false(vpci_port_io(&bus, 0xc01e, 4, true, &p));
	assert_false(vpci_mmio(&bus, 0xf0001ffc, 8, false, &v));
	assert_false(vpci_mmio(&bus, 0xf0002000, 1, false, &v));
	assert_false(vpci_mmio(&bus, 0xf0000fff, 1, false, &v));
	assert_int_equal(reads, 0);
	/* a 64-bit BAR at the top of the address space does not wrap */
	cf8_write(df, 0x18, 4, 0xfff00000);
	cf8_write(df, 0x1c, 4, 0xffffffff);
	assert_false(vpci_mmio(&bus, 0x10, 4, false, &v));
	assert_true(vpci_mmio(&bus, 0xfffffffffff00010ULL, 4, false, &v));
	assert_false(vpci_mmio(&bus, 0xfffffffffffffffcULL, 8, false, &v));
	/* status: error bits are cleared by writing 1, others stay */
	dev.cfg[PCI_STATUS + 1] = 0xf9;
	cf8_write(df, PCI_STATUS, 2, 0xffff);
	assert_int_equal(cf8_read(df, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
}

/* Finds capability id in d's list, as a driver does. */
static unsigned find_cap(unsigned df, u8 id)
{
	unsigned off = cf8_read(df, PCI_CAP_PTR, 1), guard = 0;
	while (off && guard++ < 48) {
		if (cf8_read(df, off, 1) == id)
			return off;
		off = cf8_read(df, off + 1, 1);
	}
	return 0;
}

static bool irr(unsigned v)
{
	return a.irr[v / 32] & (1u << (v % 32));
}

static void msi(void **state)
{
	(void)state;
	unsigned df = VPCI_DEVFN(3, 0);
	assert_int_equal(vpci_register(&bus, &dev, df), 0);
	assert_true(cf8_read(df, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	unsigned c = find_cap(df, PCI_CAP_ID_MSI);
	assert_true(c >= 0x40);
	assert_int_equal(cf8_read(df, c + 2, 2), 0x0080); /* 64-bit, 1 vector */
	/* disabled: nothing */
	assert_int_equal(vpci_msi_notify(&dev), -E_AGAIN);
	cf8_write(df, c + 4, 4, 0xfee00003); /* bits 1:0 read 0 */
	assert_int_equal(cf8_read(df, c + 4, 4), 0xfee00000);
	cf8_write(df, c + 8, 4, 0);
	cf8_write(df, c + 12, 2, 0x0045);
	cf8_write(df, c + 2, 2, 0xffff); /* only enable sticks */
	assert_int_equal(cf8_read(df, c + 2, 2), 0x0081);
	assert_int_equal(vpci_msi_notify(&dev), 0);
	assert_true(irr(0x45));
	/* destination 1 (not us), logical to a bit we do not have */
	cf8_write(df, c + 4, 4, 0xfee01000);
	cf8_write(df, c + 12, 2, 0x0046);
	assert_int_equal(vpci_msi_notify(&dev), 0);
	assert_false(irr(0x46));
	vlapic_mmio_write(&a, 0, APIC_LDR, 4, 0x01000000);
	cf8_write(df, c + 4, 4, 0xfee01004);
	assert_int_equal(vpci_msi_notify(&dev), 0);
	assert_true(irr(0x46));
	/* not 0xfeexxxxx (or above 4 GiB): a memory write, not delivered */
	cf8_write(df, c + 8, 4, 1);
	cf8_write(df, c + 4, 4, 0xfee00000);
	assert_int_equal(vpci_msi_notify(&dev), -E_INVAL);
	assert_int_equal(log_count, 1);
	cf8_write(df, c + 8, 4, 0);
	cf8_write(df, c + 4, 4, 0x12340000);
	assert_int_equal(vpci_msi_notify(&dev), -E_INVAL);
	assert_int_equal(log_count, 1); /* once */
}

/* MSIs through the remapping unit (viommu.c): a remappable-format address
 * is looked up in the IRTE table from the function's source-id. */
static void msi_remapped(void **state)
{
	(void)state;
	static u8 ram[0x4000];
	static struct viommu iommu;
	unsigned df = VPCI_DEVFN(3, 0);
	memset(ram, 0, sizeof(ram));
	viommu_reset(&iommu, &a, ram, sizeof(ram), "linux");
	vpci_set_iommu(&bus, &iommu);
	assert_int_equal(vpci_register(&bus, &dev, df), 0);
	unsigned c = find_cap(df, PCI_CAP_ID_MSI);
	/* IRTE 3 at 0x1000: vector 0x47 to APIC 0 (xAPIC: DST 15:8), source
	 * validation against 00:03.0 */
	u64 lo = 1ULL | (0x47ULL << 16), hi = df | (1ULL << 18);
	memcpy(ram + 0x1000 + 3 * 16, &lo, 8);
	memcpy(ram + 0x1000 + 3 * 16 + 8, &hi, 8);
	viommu_mmio_write(&iommu, VTD_IRTA, 8, 0x1000 | 3); /* 16 entries */
	viommu_mmio_write(&iommu, VTD_GCMD, 4, VTD_GCMD_SIRTP);
	viommu_mmio_write(&iommu, VTD_GCMD, 4, VTD_GCMD_IRE);
	cf8_write(df, c + 4, 4, 0xfee00000 | (3u << 5) | (1u << 4));
	cf8_write(df, c + 8, 4, 0);
	cf8_write(df, c + 12, 2, 0);
	cf8_write(df, c + 2, 2, 1);
	assert_int_equal(vpci_msi_notify(&dev), 0);
	assert_true(irr(0x47));
	/* index 4 is not present: dropped, a fault recorded, not "not an
	 * interrupt" */
	int before = log_count;
	cf8_write(df, c + 4, 4, 0xfee00000 | (4u << 5) | (1u << 4));
	assert_int_equal(vpci_msi_notify(&dev), -E_FAULT);
	assert_true(viommu_mmio_read(&iommu, VTD_FSTS, 4) & VTD_FSTS_PPF);
	assert_int_equal(viommu_mmio_read(&iommu, VTD_FRO + 8, 4), df);
	assert_int_equal(log_count, before + 1);
	/* compatibility format is blocked while CFI is clear */
	cf8_write(df, c + 4, 4, 0xfee00000);
	cf8_write(df, c + 12, 2, 0x48);
	assert_int_equal(vpci_msi_notify(&dev), -E_FAULT);
	assert_false(irr(0x48));
}

static void msi_decoding(void **state)
{
	(void)state;
	/* SDM §11.11: broadcast, level-triggered assert (TMR), deassert */
	assert_int_equal(vpci_msi_send(&a, 0xfeeff000, 0xc050), 0);
	assert_true(irr(0x50));
	assert_true(a.tmr[0x50 / 32] & (1u << (0x50 % 32)));
	assert_int_equal(vpci_msi_send(&a, 0xfeeff000, 0x8051), 0);
	assert_false(irr(0x51));
	/* lowest priority is fixed for one CPU; NMI is not delivered */
	assert_int_equal(vpci_msi_send(&a, 0xfee00000, 0x0152), 0);
	assert_true(irr(0x52));
	assert_int_equal(vpci_msi_send(&a, 0xfee00000, 0x0453), 0);
	assert_false(irr(0x53));
	/* illegal vector: the APIC's error */
	assert_int_equal(vpci_msi_send(&a, 0xfee00000, 0x0003), 0);
	vlapic_mmio_write(&a, 0, APIC_ESR, 4, 0);
	assert_true(vlapic_mmio_read(&a, 0, APIC_ESR, 4) & (1u << 6));
	assert_int_equal(vpci_msi_send(&a, 0xfef00000, 0x0054), -E_INVAL);
	assert_int_equal(vpci_msi_send(&a, 0x1fee00000ULL, 0x0054), -E_INVAL);
}

static u64 bar0(u64 off, unsigned size, bool write, u64 v)
{
	assert_true(vpci_mmio(&bus, 0xf0000000 + off, size, write, &v));
	return v;
}

static void msix(void **state)
{
	(void)state;
	unsigned df = VPCI_DEVFN(3, 0);
	assert_int_equal(vpci_register(&bus, &dev, df), 0);
	cf8_write(df, 0x10, 4, 0xf0000000);
	cf8_write(df, 4, 2, PCI_COMMAND_MEMORY);
	unsigned c = find_cap(df, PCI_CAP_ID_MSIX);
	assert_true(c >= 0x40);
	assert_int_equal(cf8_read(df, c + 2, 2), 3); /* table size 4 */
	assert_int_equal(cf8_read(df, c + 4, 4), 0x800);
	assert_int_equal(cf8_read(df, c + 8, 4), 0xc00);
	/* entries come up masked */
	assert_int_equal(bar0(0x80c, 4, false, 0), 1);
	/* disabled: refused */
	assert_int_equal(vpci_msix_notify(&dev, 1), -E_INVAL);
	cf8_write(df, c + 2, 2, 0x8000);
	/* program entry 1: qword address, dword data, unmask */
	bar0(0x810, 8, true, 0xfee00000);
	bar0(0x818, 4, true, 0x61);
	assert_int_equal(bar0(0x810, 8, false, 0), 0xfee00000);
	assert_int_equal(bar0(0x818, 8, false, 0), 0x100000061ULL); /* data, ctrl */
	/* masked: pending in the PBA */
	assert_int_equal(vpci_msix_notify(&dev, 1), -E_AGAIN);
	assert_false(irr(0x61));
	assert_int_equal(bar0(0xc00, 8, false, 0), 2);
	/* unmask: the pending message goes out */
	bar0(0x81c, 4, true, 0xfffffffe);
	assert_true(irr(0x61));
	assert_int_equal(bar0(0xc00, 4, false, 0), 0);
	assert_int_equal(bar0(0x81c, 4, false, 0), 0); /* reserved bits stay 0 */
	vlapic_ack(&a, 0x61);
	assert_int_equal(vpci_msix_notify(&dev, 1), 0);
	assert_true(irr(0x61));
	vlapic_ack(&a, 0x61);
	/* function mask holds it; clearing the mask sends it */
	cf8_write(df, c + 2, 2, 0xc000);
	assert_int_equal(vpci_msix_notify(&dev, 1), -E_AGAIN);
	assert_false(irr(0x61));
	cf8_write(df, c + 3, 1, 0x80);
	assert_true(irr(0x61));
	/* hostile vector numbers and table accesses */
	assert_int_equal(vpci_msix_notify(&dev, 4), -E_INVAL);
	assert_int_equal(vpci_msix_notify(&dev, 0xffffffffu), -E_INVAL);
	bar0(0x811, 4, true, 0); /* misaligned: ignored */
	bar0(0x810, 2, true, 0); /* narrow: ignored */
	assert_int_equal(bar0(0x810, 4, false, 0), 0xfee00000);
	assert_int_equal(bar0(0x812, 2, false, 0), 0);
	bar0(0x83c, 8, true, 0);		       /* entry 3's last dword + past the table */
	assert_int_equal(bar0(0x83c, 4, false, 0), 1); /* unchanged */
	last_off = 0;
	bar0(0x840, 4, true, 7); /* past the table: the device's */
	assert_int_equal(last_off, 0x840);
	bar0(0xc00, 8, true, ~0ULL); /* the PBA is read-only */
	assert_int_equal(bar0(0xc00, 8, false, 0), 0);
	/* the device cannot reach vectors when MSI-X is off again */
	cf8_write(df, c + 2, 2, 0);
	assert_int_equal(vpci_msix_notify(&dev, 1), -E_INVAL);
}

static void hostile_config_accesses(void **state)
{
	(void)state;
	unsigned df = VPCI_DEVFN(3, 0);
	assert_int_equal(vpci_register(&bus, &dev, df), 0);
	/* wrong sizes and offsets: all-ones and no effect */
	assert_int_equal(vpci_cfg_read(&bus, 0, df, 0, 3), 0xffffff);
	assert_int_equal(vpci_cfg_read(&bus, 0, df, 2, 4), 0xffffffff);
	assert_int_equal(vpci_cfg_read(&bus, 0, df, 0x1000, 4), 0xffffffff);
	assert_int_equal(vpci_cfg_read(&bus, 0, 256, 0, 4), 0xffffffff);
	assert_int_equal(vpci_cfg_read(&bus, 256, df, 0, 4), 0xffffffff);
	vpci_cfg_write(&bus, 0, df, 0x10, 3, 0xffffffff);
	vpci_cfg_write(&bus, 0, df, 0x12, 4, 0xffffffff);
	vpci_cfg_write(&bus, 0, df, 0x1000, 4, 0xffffffff);
	vpci_cfg_write(&bus, 0, 1000, 0x10, 4, 0xffffffff);
	assert_int_equal(vpci_cfg_read(&bus, 0, df, 0x10, 4), 0);
	/* every dword of the space, written with all-ones: the read-only
	 * IDs and the capability list survive */
	for (unsigned r = 0; r < 0x1000; r += 4)
		vpci_cfg_write(&bus, 0, df, r, 4, 0xffffffff);
	assert_int_equal(vpci_cfg_read(&bus, 0, df, 0, 4), 0x10f01af4);
	assert_int_not_equal(find_cap(df, PCI_CAP_ID_MSI), 0);
	assert_int_not_equal(find_cap(df, PCI_CAP_ID_MSIX), 0);
	/* ECAM: unaligned and 8-byte accesses are split, never overrun */
	u64 v = 0;
	assert_true(vpci_mmio(&bus, VPCI_ECAM_BASE + 0xffe, 8, false, &v));
	assert_int_equal(v, 0xffffffffffff0000ULL); /* 2 bytes of (empty) extended space */
	assert_true(vpci_mmio(&bus, VPCI_ECAM_BASE + 1, 4, false, &v));
	assert_int_equal(v, 0x0629c080);
	assert_true(vpci_mmio(&bus, VPCI_ECAM_BASE + 0x0ffffffcULL, 4, false, &v));
	assert_int_equal(v, 0xffffffff);
	assert_false(vpci_mmio(&bus, VPCI_ECAM_BASE + VPCI_ECAM_SIZE, 4, false, &v));
	assert_false(vpci_mmio(&bus, VPCI_ECAM_BASE, 3, false, &v));
}

static int hook_calls;
static unsigned hook_gsi;
static bool hook_level;

static void intx_hook(void *ctx, unsigned gsi, bool asserted)
{
	assert_ptr_equal(ctx, &bus);
	hook_calls++;
	hook_gsi = gsi;
	hook_level = asserted;
}

static void intx_lines(void **state)
{
	(void)state;
	struct vpci_device other;
	vpci_set_intx_hook(&bus, intx_hook, &bus);
	hook_calls = 0;
	/* pins: 1-4 only, before registration; none: INTx refused */
	assert_int_equal(vpci_device_set_intx_pin(&dev, 0), -E_INVAL);
	assert_int_equal(vpci_device_set_intx_pin(&dev, 5), -E_INVAL);
	vpci_device_init(&other, "other", 0x1234, 0x0001, 0xff0000, 0, NULL, NULL);
	assert_int_equal(vpci_register(&bus, &other, VPCI_DEVFN(7, 0)), 0);
	assert_int_equal(vpci_intx(&other, true), -E_INVAL);
	assert_int_equal(vpci_device_set_intx_pin(&other, 1), -E_INVAL);
	assert_int_equal(vpci_device_set_intx_pin(&dev, 1), 0);
	assert_int_equal(vpci_intx(&dev, true), -E_INVAL); /* not on the bus */
	assert_int_equal(vpci_register(&bus, &dev, VPCI_DEVFN(3, 0)), 0);
	unsigned df = VPCI_DEVFN(3, 0);
	assert_int_equal(cf8_read(df, PCI_INTERRUPT_PIN, 1), 1);
	cf8_write(df, PCI_INTERRUPT_PIN, 1, 4); /* read-only */
	assert_int_equal(cf8_read(df, PCI_INTERRUPT_PIN, 1), 1);
	/* the swizzle: slot 3, INTA# -> GSI 19; slot 0 INTD# -> 19 */
	assert_int_equal(vpci_intx_gsi(3, 1), 19);
	assert_int_equal(vpci_intx_gsi(0, 4), 19);
	assert_int_equal(vpci_intx_gsi(1, 1), 17);
	/* assert, release: the hook sees each change once */
	assert_int_equal(vpci_intx(&dev, true), 0);
	assert_int_equal(hook_calls, 1);
	assert_int_equal(hook_gsi, 19);
	assert_true(hook_level);
	assert_true(cf8_read(df, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	vpci_intx(&dev, true);
	assert_int_equal(hook_calls, 1);
	/* INTx disable drops the line, the status bit stays */
	cf8_write(df, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(hook_calls, 2);
	assert_false(hook_level);
	assert_true(cf8_read(df, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	cf8_write(df, PCI_COMMAND, 2, 0);
	assert_true(hook_level);
	/* MSI on: no INTx */
	unsigned c = find_cap(df, PCI_CAP_ID_MSI);
	cf8_write(df, c + 2, 2, 1);
	assert_false(hook_level);
	cf8_write(df, c + 2, 2, 0);
	assert_true(hook_level);
	/* wired-OR with another slot on the same line (slot 7 INTA# is 19) */
	struct vpci_device third;
	vpci_device_init(&third, "third", 0x1234, 0x0002, 0xff0000, 0, NULL, NULL);
	assert_int_equal(vpci_device_set_intx_pin(&third, 1), 0);
	assert_int_equal(vpci_register(&bus, &third, VPCI_DEVFN(11, 0)), 0);
	assert_int_equal(vpci_intx_gsi(11, 1), 19);
	int calls = hook_calls;
	vpci_intx(&third, true);
	assert_int_equal(hook_calls, calls); /* already high */
	vpci_intx(&dev, false);
	assert_int_equal(hook_calls, calls);
	assert_false(cf8_read(df, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	vpci_intx(&third, false);
	assert_int_equal(hook_calls, calls + 1);
	assert_false(hook_level);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(host_bridge, setup),
		cmocka_unit_test_setup(absent_functions_read_ones, setup),
		cmocka_unit_test_setup(config_address_register, setup),
		cmocka_unit_test_setup(registry, setup),
		cmocka_unit_test_setup(bar_sizing_and_decoding, setup),
		cmocka_unit_test_setup(msi, setup),
		cmocka_unit_test_setup(msi_decoding, setup),
		cmocka_unit_test_setup(msi_remapped, setup),
		cmocka_unit_test_setup(msix, setup),
		cmocka_unit_test_setup(hostile_config_accesses, setup),
		cmocka_unit_test_setup(intx_lines, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
