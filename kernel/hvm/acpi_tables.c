/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ACPI tables for hvm partitions (see acpi_tables.h for what they describe
 * and the power-off register).  Section numbers are those of the ACPI 6.0
 * specification.  Layout inside the area, from at_gpa:
 *
 *   +0x000  RSDP  (36 bytes; 16-byte aligned so that a legacy scan of
 *                  0xe0000-0xfffff finds it, 5.2.5.1)
 *   +0x040  FACS  (64, 64-byte aligned, 5.2.10)
 *   +0x080  RSDT  (36 + 3 * 4)
 *   +0x100  FADT  (276, revision 6)
 *   +0x220  MCFG  (44 + 16; PCI Firmware Specification 3.0, 4.1.2)
 *   +0x260  DSDT  (36 + AML, at most 0xda0 bytes)
 *   +0x1000 MADT  (44 + 12 + 2 * 10 + 8 per CPU, at most 0x844 bytes)
 *   +0x1900 XSDT  (36 + 4 * 8)
 *   +0x1980 DMAR  (48 + 16 + 8; VT-d spec 8.1, 8.3)
 */
#include "kernel/hvm/acpi_tables.h"
#include "kernel/errno.h"
#include "kernel/hvm/vioapic.h"
#include "kernel/hvm/viommu.h"
#include "kernel/hvm/vpci.h"
#include "kernel/lib/string.h"
#include "kernel/lib/bytes.h"

#define OFF_RSDP 0x000
#define OFF_FACS 0x040
#define OFF_RSDT 0x080
#define OFF_FADT 0x100
#define OFF_MCFG 0x220
#define OFF_DSDT 0x260
#define OFF_MADT 0x1000
#define OFF_XSDT 0x1900
#define OFF_DMAR 0x1980

#define HDR_SIZE 36  /* 5.2.6 System Description Table Header */
#define RSDP_SIZE 36 /* 5.2.5.3, revision 2 */
#define FACS_SIZE 64
#define FADT_SIZE 276 /* revision 6: ends with the Hypervisor Vendor Identity */
#define MADT_FIXED 44
#define MADT_LAPIC_SIZE 8
#define MADT_IOAPIC_SIZE 12
#define MADT_ISO_SIZE 10
#define MADT_ISO_COUNT 2
#define MADT_PLATFORM (MADT_IOAPIC_SIZE + MADT_ISO_COUNT * MADT_ISO_SIZE)
#define MCFG_SIZE (44 + 16)
#define DMAR_FIXED 48
#define DMAR_DRHD_SIZE 16
#define DMAR_SCOPE_SIZE 8 /* one path entry */
#define DMAR_SIZE (DMAR_FIXED + DMAR_DRHD_SIZE + DMAR_SCOPE_SIZE)
#define TABLE_COUNT 4 /* FADT, MADT, MCFG, DMAR in the RSDT and the XSDT */

static const char oem_id[6] = { 'P', 'A', 'R', 'T', 'I', 'T' };
static const char oem_table_id[8] = { 'P', 'A', 'R', 'T', 'I', 'T', 'A', ' ' };

/* The DSDT's AML (ACPI 6.0 chapter 20 "AML Grammar Definition"):
 *
 *   Name (_S5, Package () { 5, 5, 0, 0 })     SLP_TYPa = SLP_TYPb = 5
 *   Scope (\_SB) {
 *     Device (PCI0) {                         the host bridge (6.1, 6.2)
 *       Name (_HID, EisaId ("PNP0A08"))       PCI Express root bridge
 *       Name (_CID, EisaId ("PNP0A03"))       PCI root bridge
 *       Name (_UID, 0)  Name (_SEG, 0)  Name (_BBN, 0)
 *       Name (_CRS, ResourceTemplate () {     6.4 resource descriptors
 *         WordBusNumber: buses 0-255
 *         IO: 0xcf8-0xcff (the configuration ports, consumed)
 *         WordIO: 0x0000-0x0cf7 and 0x0d00-0xffff (forwarded to the bus)
 *         DWordMemory: VPCI_MMIO_BASE-VPCI_MMIO_END (the BAR window)
 *       })
 *       Name (_PRT, Package () {               6.2.13: INTx routing
 *         Package () { 0xDDDDFFFF, P, Zero, GSI }   for slots 1-31, pins
 *       })                                    0-3 (vpci_intx_gsi)
 *     }
 *   }
 *
 * Packages carry a PkgLength (20.2.4) that counts itself: aml_open leaves
 * room for the longest form and aml_close writes the shortest one. */
static const u8 aml_s5[] = {
	0x08, '_',
	'S',  '5',
	'_',  0x12,
	0x08, 0x04,
	0x0a, HVM_ACPI_SLP_TYP_S5,
	0x0a, HVM_ACPI_SLP_TYP_S5,
	0x00, 0x00,
};

struct aml {
	u8 *b;
	u32 n;
};

static void aml_bytes(struct aml *a, const void *p, u32 len)
{
	memcpy(a->b + a->n, p, len);
	a->n += len;
}

static void aml_byte(struct aml *a, u8 v)
{
	a->b[a->n++] = v;
}

static u32 aml_open(struct aml *a)
{
	u32 at = a->n;
	a->n += 3;
	return at;
}

static void aml_close(struct aml *a, u32 at)
{
	u32 body = a->n - (at + 3);
	u32 len_bytes = body + 1 < 64 ? 1 : body + 2 < 4096 ? 2 : 3;
	u32 total = body + len_bytes;

	memmove(a->b + at + len_bytes, a->b + at + 3, body);
	if (len_bytes == 1) {
		a->b[at] = (u8)total;
	} else if (len_bytes == 2) {
		a->b[at] = (u8)(0x40 | (total & 0xf));
		a->b[at + 1] = (u8)(total >> 4);
	} else {
		a->b[at] = (u8)(0x80 | (total & 0xf));
		a->b[at + 1] = (u8)(total >> 4);
		a->b[at + 2] = (u8)(total >> 12);
	}
	a->n = at + total;
}

/* Name (seg, DWordConst v) or Name (seg, Zero). */
static void aml_name_dword(struct aml *a, const char seg[4], u32 v)
{
	aml_byte(a, 0x08); /* NameOp */
	aml_bytes(a, seg, 4);
	aml_byte(a, 0x0c); /* DWordPrefix */
	aml_bytes(a, &v, 4);
}

static void aml_name_zero(struct aml *a, const char seg[4])
{
	aml_byte(a, 0x08);
	aml_bytes(a, seg, 4);
	aml_byte(a, 0x00); /* ZeroOp */
}

/* EisaId ("PNPxxxx") as the DWord AML stores (byte order PN P x x x x):
 * three 5-bit letters, then four hex digits. */
static u32 eisa_pnp(u16 product)
{
	u16 vendor = (u16)((('P' - 0x40) << 10) | (('N' - 0x40) << 5) | ('P' - 0x40));
	return (u32)(vendor >> 8) | (u32)(vendor & 0xff) << 8 | (u32)(product >> 8) << 16 |
	       (u32)(product & 0xff) << 24;
}

/* 6.4.3.5.3 Word Address Space Descriptor: type 0 memory, 1 I/O, 2 bus. */
static void crs_word(struct aml *a, u8 type, u8 type_flags, u16 min, u16 max)
{
	u8 d[16] = { 0x88, 13, 0, type, 0x0c /* MinFixed, MaxFixed, producer */, type_flags };
	u16 len = (u16)(max - min + 1);
	memcpy(d + 8, &min, 2);
	memcpy(d + 10, &max, 2);
	memcpy(d + 14, &len, 2);
	aml_bytes(a, d, sizeof(d));
}

static u32 build_dsdt_aml(u8 *out)
{
	struct aml a = { out, 0 };

	aml_bytes(&a, aml_s5, sizeof(aml_s5));
	aml_byte(&a, 0x10); /* ScopeOp */
	u32 scope = aml_open(&a);
	aml_bytes(&a, "\\_SB_", 5);
	aml_byte(&a, 0x5b); /* DeviceOp */
	aml_byte(&a, 0x82);
	u32 dev = aml_open(&a);
	aml_bytes(&a, "PCI0", 4);
	aml_name_dword(&a, "_HID", eisa_pnp(0x0a08));
	aml_name_dword(&a, "_CID", eisa_pnp(0x0a03));
	aml_name_zero(&a, "_UID");
	aml_name_zero(&a, "_SEG");
	aml_name_zero(&a, "_BBN");
	aml_byte(&a, 0x08);
	aml_bytes(&a, "_CRS", 4);
	aml_byte(&a, 0x11); /* BufferOp */
	u32 buf = aml_open(&a);
	u32 size_at = a.n;
	aml_byte(&a, 0x0a); /* BytePrefix: the buffer's size, patched below */
	aml_byte(&a, 0);
	u32 data = a.n;
	crs_word(&a, 2, 0, 0, VPCI_ECAM_BUS_LAST);
	/* 6.4.2.5 I/O Port Descriptor: decodes 16 bits, 0xcf8, 8 ports */
	static const u8 io_cf8[] = { 0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08 };
	aml_bytes(&a, io_cf8, sizeof(io_cf8));
	crs_word(&a, 1, 3 /* ISA and non-ISA ranges */, 0x0000, 0x0cf7);
	crs_word(&a, 1, 3, 0x0d00, 0xffff);
	/* 6.4.3.5.2 DWord Address Space Descriptor: memory, read/write,
	 * non-cacheable */
	u8 mem[26] = { 0x87, 23, 0, 0, 0x0c, 0x01 };
	u32 min = (u32)VPCI_MMIO_BASE, max = (u32)(VPCI_MMIO_END - 1), len = max - min + 1;
	memcpy(mem + 10, &min, 4);
	memcpy(mem + 14, &max, 4);
	memcpy(mem + 22, &len, 4);
	aml_bytes(&a, mem, sizeof(mem));
	static const u8 end_tag[] = { 0x79, 0x00 }; /* 6.4.2.9, checksum 0: none */
	aml_bytes(&a, end_tag, sizeof(end_tag));
	a.b[size_at + 1] = (u8)(a.n - data);
	aml_close(&a, buf);
	/* _PRT: one package per slot and pin, with a global interrupt (the
	 * source is Zero, the index the GSI; 6.2.13). */
	aml_byte(&a, 0x08);
	aml_bytes(&a, "_PRT", 4);
	aml_byte(&a, 0x12); /* PackageOp */
	u32 prt = aml_open(&a);
	aml_byte(&a, 31 * 4); /* NumElements */
	for (unsigned slot = 1; slot < 32; slot++) {
		for (unsigned pin = 0; pin < 4; pin++) {
			aml_byte(&a, 0x12);
			u32 e = aml_open(&a);
			aml_byte(&a, 4);
			u32 addr = slot << 16 | 0xffff; /* any function of the slot */
			aml_byte(&a, 0x0c);
			aml_bytes(&a, &addr, 4);
			aml_byte(&a, 0x0a); /* BytePrefix */
			aml_byte(&a, (u8)pin);
			aml_byte(&a, 0x00); /* Source: Zero */
			aml_byte(&a, 0x0a);
			aml_byte(&a, (u8)vpci_intx_gsi(slot, pin + 1));
			aml_close(&a, e);
		}
	}
	aml_close(&a, prt);
	aml_close(&a, dev);
	aml_close(&a, scope);
	return a.n;
}

static u8 checksum(const u8 *p, u64 len)
{
	u8 sum = 0;

	for (u64 i = 0; i < len; i++)
		sum += p[i];
	return (u8)-sum;
}

/* 5.2.6: signature, length, revision, checksum (set last), OEM ids. */
static void header(u8 *t, const char sig[4], u32 length, u8 revision)
{
	memcpy(t, sig, 4);
	wr32(t, 4, length);
	wr8(t, 8, revision);
	memcpy(t + 10, oem_id, 6);
	memcpy(t + 16, oem_table_id, 8);
	wr32(t, 24, 1);		   /* OEM revision */
	memcpy(t + 28, "PRTA", 4); /* creator ID */
	wr32(t, 32, 1);		   /* creator revision */
}

static void seal(u8 *t, u32 length)
{
	t[9] = 0;
	t[9] = checksum(t, length);
}

/* 5.2.3.2 Generic Address Structure: a system I/O register. */
static void gas_io(u8 *p, u64 off, u8 bit_width, u8 access_size, u64 port)
{
	wr8(p, off, 1); /* address space: system I/O */
	wr8(p, off + 1, bit_width);
	wr8(p, off + 2, 0);	      /* bit offset */
	wr8(p, off + 3, access_size); /* 1 byte, 2 word, 3 dword */
	wr64(p, off + 4, port);
}

u64 acpi_tables_size(unsigned cpu_count)
{
	(void)cpu_count; /* the DMAR, after the largest MADT, ends them */
	return OFF_DMAR + DMAR_SIZE;
}

/* DMAR (VT-d spec 8.1): host address width 48 (N - 1 stored), INTR_REMAP
 * set and X2APIC_OPT_OUT clear (so the OS may run x2APIC with remapping),
 * one DRHD (8.3) for the remapping unit of viommu.h, segment 0, with
 * INCLUDE_PCI_ALL (every PCI device's interrupts are remapped by it: Linux
 * gives a device outside every unit no MSI domain once remapping is on)
 * and a device scope (8.3.1) with the I/O APIC (type 3, enumeration ID =
 * its APIC ID, path 00:1f.0).  The unit translates no DMA: the virtual
 * devices do not offer VIRTIO_F_ACCESS_PLATFORM, so their drivers hand them
 * guest-physical addresses, as QEMU's virtio devices without
 * iommu_platform=on do behind its IOMMU. */
static void build_dmar(u8 *t)
{
	header(t, "DMAR", DMAR_SIZE, 1);
	wr8(t, 36, 47);
	wr8(t, 37, 1u << 0); /* INTR_REMAP */
	u8 *d = t + DMAR_FIXED;
	wr16(d, 0, 0); /* DRHD */
	wr16(d, 2, DMAR_DRHD_SIZE + DMAR_SCOPE_SIZE);
	wr8(d, 4, 1);  /* flags: INCLUDE_PCI_ALL */
	wr8(d, 5, 0);  /* size: one 4 KiB page */
	wr16(d, 6, 0); /* segment */
	wr64(d, 8, VIOMMU_BASE);
	u8 *sc = d + DMAR_DRHD_SIZE;
	wr8(sc, 0, 3); /* IOAPIC */
	wr8(sc, 1, DMAR_SCOPE_SIZE);
	wr8(sc, 4, VIOAPIC_ID);
	wr8(sc, 5, VIOMMU_IOAPIC_BUS);
	wr8(sc, 6, VIOMMU_IOAPIC_DEV);
	wr8(sc, 7, VIOMMU_IOAPIC_FN);
	seal(t, DMAR_SIZE);
}

static void build_fadt(u8 *t, u64 base)
{
	u64 facs = base + OFF_FACS, dsdt = base + OFF_DSDT;

	/* 5.2.9, Table 5-34 (offsets in bytes). */
	header(t, "FACP", FADT_SIZE, 6);
	wr32(t, 36, (u32)facs);		     /* FIRMWARE_CTRL */
	wr32(t, 40, (u32)dsdt);		     /* DSDT */
	wr8(t, 45, 0);			     /* Preferred_PM_Profile: unspecified */
	wr16(t, 46, HVM_ACPI_SCI_IRQ);	     /* SCI_INT: ISA IRQ 9 (an override in the MADT) */
	wr32(t, 48, 0);			     /* SMI_CMD 0: ACPI mode is fixed on (4.8.2.1.1) */
	wr32(t, 56, HVM_ACPI_PM1A_EVT);	     /* PM1a_EVT_BLK */
	wr32(t, 64, HVM_ACPI_PM1A_CNT);	     /* PM1a_CNT_BLK */
	wr32(t, 76, 0);			     /* PM_TMR_BLK: the platform has no PM timer */
	wr8(t, 88, 4);			     /* PM1_EVT_LEN */
	wr8(t, 89, 2);			     /* PM1_CNT_LEN */
	wr16(t, 96, 101);		     /* P_LVL2_LAT > 100: C2 not supported */
	wr16(t, 98, 1001);		     /* P_LVL3_LAT > 1000: C3 not supported */
	wr8(t, 108, HVM_ACPI_CENTURY_INDEX); /* CENTURY */
	/* IAPC_BOOT_ARCH (5.2.9.3): LEGACY_DEVICES (UART, PIT, PIC, RTC),
	 * no 8042, VGA not present; MSI works (bit 3 clear). */
	wr16(t, 109, (1u << 0) | (1u << 2));
	/* Flags (Table 5-35): WBINVD (must be set), PROC_C1 (HLT),
	 * PWR_BUTTON and SLP_BUTTON (no fixed-feature buttons).
	 * HW_REDUCED_ACPI (bit 20) is clear: the 8259s and the RTC exist. */
	wr32(t, 112, (1u << 0) | (1u << 2) | (1u << 4) | (1u << 5));
	wr8(t, 131, 0);				  /* FADT minor version: 6.0 */
	wr64(t, 132, facs);			  /* X_FIRMWARE_CTRL */
	wr64(t, 140, dsdt);			  /* X_DSDT */
	gas_io(t, 148, 32, 2, HVM_ACPI_PM1A_EVT); /* X_PM1a_EVT_BLK */
	gas_io(t, 172, 16, 2, HVM_ACPI_PM1A_CNT); /* X_PM1a_CNT_BLK */
	memcpy(t + 268, "PARTITA\0", 8);	  /* Hypervisor Vendor Identity */
	seal(t, FADT_SIZE);
}

int acpi_tables_build(u8 *ram, u64 ram_size, u64 at_gpa, u64 room, unsigned cpu_count,
		      u64 *rsdp_gpa, const char **why)
{
	u64 size;
	u8 *a, *t;

	_Static_assert(OFF_MCFG + MCFG_SIZE <= OFF_DSDT, "MCFG overlaps the DSDT");
	_Static_assert(OFF_RSDT + HDR_SIZE + TABLE_COUNT * 4 <= OFF_FADT, "RSDT overlaps the FADT");
	_Static_assert(OFF_MADT + MADT_FIXED + MADT_PLATFORM +
				       HVM_ACPI_MAX_CPUS * MADT_LAPIC_SIZE <=
			       OFF_XSDT,
		       "MADT overlaps the XSDT");
	_Static_assert(OFF_XSDT + HDR_SIZE + TABLE_COUNT * 8 <= OFF_DMAR, "XSDT overlaps the DMAR");

	if (cpu_count == 0 || cpu_count > HVM_ACPI_MAX_CPUS) {
		*why = "ACPI tables: CPU count must be 1 to 255";
		return -E_INVAL;
	}
	size = acpi_tables_size(cpu_count);
	if (at_gpa & 63) {
		*why = "ACPI tables: area not 64-byte aligned";
		return -E_INVAL;
	}
	if (room < size) {
		*why = "ACPI tables: area too small";
		return -E_INVAL;
	}
	if (at_gpa > ram_size || size > ram_size - at_gpa || at_gpa + size > GiB(4)) {
		*why = "ACPI tables: area outside RAM or above 4 GiB";
		return -E_INVAL;
	}
	a = ram + at_gpa;
	memset(a, 0, size);

	/* FACS (5.2.10): no waking vector, no global lock use. */
	t = a + OFF_FACS;
	memcpy(t, "FACS", 4);
	wr32(t, 4, FACS_SIZE);
	wr8(t, 32, 2); /* version */

	/* DSDT (5.2.11.1): revision 2, 64-bit AML integers. */
	t = a + OFF_DSDT;
	u32 dsdt_len = HDR_SIZE + build_dsdt_aml(t + HDR_SIZE);
	header(t, "DSDT", dsdt_len, 2);
	seal(t, dsdt_len);

	/* MCFG (PCI Firmware Specification 3.0, 4.1.2): 8 reserved bytes,
	 * then one allocation: ECAM base, segment 0, buses 0-255. */
	t = a + OFF_MCFG;
	header(t, "MCFG", MCFG_SIZE, 1);
	wr64(t, 44, VPCI_ECAM_BASE);
	wr16(t, 52, 0);
	wr8(t, 54, 0);
	wr8(t, 55, VPCI_ECAM_BUS_LAST);
	seal(t, MCFG_SIZE);

	build_fadt(a + OFF_FADT, at_gpa);

	/* MADT (5.2.12): local APIC address, PCAT_COMPAT (the 8259s are
	 * there too), one Processor Local APIC structure per CPU (5.2.12.2:
	 * type 0, length 8, UID, APIC ID, flags: enabled), the I/O APIC
	 * (5.2.12.3) with GSIs 0-23, and the interrupt source overrides of a PC
	 * (5.2.12.5): ISA IRQ 0 (the PIT) is GSI 2, and the SCI, IRQ 9, is
	 * level-triggered, active low (5.2.12.5 "MPS INTI flags"). */
	t = a + OFF_MADT;
	u32 madt_len = (u32)(MADT_FIXED + MADT_PLATFORM + (u64)cpu_count * MADT_LAPIC_SIZE);
	header(t, "APIC", madt_len, 4);
	wr32(t, 36, 0xfee00000u);
	wr32(t, 40, 1u << 0); /* PCAT_COMPAT */
	u8 *e = t + MADT_FIXED;
	for (unsigned i = 0; i < cpu_count; i++, e += MADT_LAPIC_SIZE) {
		wr8(e, 0, 0);
		wr8(e, 1, MADT_LAPIC_SIZE);
		wr8(e, 2, (u8)i);
		wr8(e, 3, (u8)i);
		wr32(e, 4, 1u << 0); /* enabled */
	}
	wr8(e, 0, 1);
	wr8(e, 1, MADT_IOAPIC_SIZE);
	wr8(e, 2, VIOAPIC_ID);
	wr32(e, 4, (u32)VIOAPIC_BASE);
	wr32(e, 8, 0); /* GSI base */
	e += MADT_IOAPIC_SIZE;
	static const struct {
		u8 irq;
		u32 gsi;
		u16 flags;
	} iso[MADT_ISO_COUNT] = {
		{ 0, 2, 0x0000 }, /* conforms to the bus: edge, high */
		{ HVM_ACPI_SCI_IRQ, HVM_ACPI_SCI_IRQ, 0x000f }, /* level, active low */
	};
	for (unsigned i = 0; i < MADT_ISO_COUNT; i++, e += MADT_ISO_SIZE) {
		wr8(e, 0, 2);
		wr8(e, 1, MADT_ISO_SIZE);
		wr8(e, 2, 0); /* bus: ISA */
		wr8(e, 3, iso[i].irq);
		wr32(e, 4, iso[i].gsi);
		wr16(e, 8, iso[i].flags);
	}
	seal(t, madt_len);

	build_dmar(a + OFF_DMAR);

	/* RSDT (5.2.7) and XSDT (5.2.8): FADT, MADT, MCFG and DMAR. */
	static const u32 listed[TABLE_COUNT] = { OFF_FADT, OFF_MADT, OFF_MCFG, OFF_DMAR };
	t = a + OFF_RSDT;
	header(t, "RSDT", HDR_SIZE + TABLE_COUNT * 4, 1);
	for (unsigned i = 0; i < TABLE_COUNT; i++)
		wr32(t, HDR_SIZE + 4 * i, (u32)(at_gpa + listed[i]));
	seal(t, HDR_SIZE + TABLE_COUNT * 4);
	t = a + OFF_XSDT;
	header(t, "XSDT", HDR_SIZE + TABLE_COUNT * 8, 1);
	for (unsigned i = 0; i < TABLE_COUNT; i++)
		wr64(t, HDR_SIZE + 8 * i, at_gpa + listed[i]);
	seal(t, HDR_SIZE + TABLE_COUNT * 8);

	/* RSDP (5.2.5.3): the checksum covers the first 20 bytes (the ACPI
	 * 1.0 part), the extended checksum all 36. */
	t = a + OFF_RSDP;
	memcpy(t, "RSD PTR ", 8);
	memcpy(t + 9, oem_id, 6);
	wr8(t, 15, 2); /* revision */
	wr32(t, 16, (u32)(at_gpa + OFF_RSDT));
	wr32(t, 20, RSDP_SIZE);
	wr64(t, 24, at_gpa + OFF_XSDT);
	t[8] = checksum(t, 20);
	t[32] = checksum(t, RSDP_SIZE);

	*rsdp_gpa = at_gpa;
	return 0;
}
