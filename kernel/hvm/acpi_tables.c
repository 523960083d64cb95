/*
 * ACPI tables for hvm partitions (see acpi_tables.h for what they describe
 * and the power-off register).  Section numbers are those of the ACPI 6.0
 * specification.  Layout inside the area, from at_gpa:
 *
 *   +0x000  RSDP  (36 bytes; 16-byte aligned so that a legacy scan of
 *                  0xe0000-0xfffff finds it, 5.2.5.1)
 *   +0x040  FACS  (64, 64-byte aligned, 5.2.10)
 *   +0x080  RSDT  (36 + 2 * 4)
 *   +0x0c0  XSDT  (36 + 2 * 8)
 *   +0x100  FADT  (276, revision 6)
 *   +0x220  DSDT  (36 + AML)
 *   +0x260  MADT  (44 + 8 per CPU)
 */
#include "kernel/hvm/acpi_tables.h"
#include "kernel/errno.h"
#include "kernel/lib/string.h"
#include "kernel/lib/bytes.h"

#define OFF_RSDP 0x000
#define OFF_FACS 0x040
#define OFF_RSDT 0x080
#define OFF_XSDT 0x0c0
#define OFF_FADT 0x100
#define OFF_DSDT 0x220
#define OFF_MADT 0x260

#define HDR_SIZE 36  /* 5.2.6 System Description Table Header */
#define RSDP_SIZE 36 /* 5.2.5.3, revision 2 */
#define FACS_SIZE 64
#define FADT_SIZE 276 /* revision 6: ends with the Hypervisor Vendor Identity */
#define MADT_FIXED 44
#define MADT_LAPIC_SIZE 8

static const char oem_id[6] = { 'P', 'A', 'R', 'T', 'I', 'T' };
static const char oem_table_id[8] = { 'P', 'A', 'R', 'T', 'I', 'T', 'A', ' ' };

/* The DSDT's AML (20.2 "AML Grammar Definition"):
 *   DefName(NameOp 0x08, NameSeg "_S5_", DefPackage(PackageOp 0x12,
 *     PkgLength 8 (one byte, counts itself, 20.2.4), NumElements 4,
 *     BytePrefix 5, BytePrefix 5, ZeroOp, ZeroOp))
 * i.e. Name (_S5, Package () { 5, 5, 0, 0 }): SLP_TYPa = SLP_TYPb = 5. */
static const u8 dsdt_aml[] = {
	0x08, '_',
	'S',  '5',
	'_',  0x12,
	0x08, 0x04,
	0x0a, HVM_ACPI_SLP_TYP_S5,
	0x0a, HVM_ACPI_SLP_TYP_S5,
	0x00, 0x00,
};

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
	return OFF_MADT + MADT_FIXED + (u64)cpu_count * MADT_LAPIC_SIZE;
}

static void build_fadt(u8 *t, u64 base)
{
	u64 facs = base + OFF_FACS, dsdt = base + OFF_DSDT;

	/* 5.2.9, Table 5-34 (offsets in bytes). */
	header(t, "FACP", FADT_SIZE, 6);
	wr32(t, 36, (u32)facs);		     /* FIRMWARE_CTRL */
	wr32(t, 40, (u32)dsdt);		     /* DSDT */
	wr8(t, 45, 0);			     /* Preferred_PM_Profile: unspecified */
	wr16(t, 46, HVM_ACPI_SCI_IRQ);	     /* SCI_INT: an 8259 input (no IOAPIC) */
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
	 * no 8042, VGA not present, MSI not supported (no PCI here). */
	wr16(t, 109, (1u << 0) | (1u << 2) | (1u << 3));
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
	header(t, "DSDT", HDR_SIZE + sizeof(dsdt_aml), 2);
	memcpy(t + HDR_SIZE, dsdt_aml, sizeof(dsdt_aml));
	seal(t, HDR_SIZE + sizeof(dsdt_aml));

	build_fadt(a + OFF_FADT, at_gpa);

	/* MADT (5.2.12): local APIC address, PCAT_COMPAT (the 8259s are
	 * there), one Processor Local APIC structure per CPU (5.2.12.2:
	 * type 0, length 8, UID, APIC ID, flags: enabled).  No IOAPIC entry,
	 * hence no interrupt source overrides (5.2.12.5 remaps IOAPIC inputs). */
	t = a + OFF_MADT;
	u32 madt_len = (u32)(MADT_FIXED + (u64)cpu_count * MADT_LAPIC_SIZE);
	header(t, "APIC", madt_len, 4);
	wr32(t, 36, 0xfee00000u);
	wr32(t, 40, 1u << 0); /* PCAT_COMPAT */
	for (unsigned i = 0; i < cpu_count; i++) {
		u8 *e = t + MADT_FIXED + (u64)i * MADT_LAPIC_SIZE;
		wr8(e, 0, 0);
		wr8(e, 1, MADT_LAPIC_SIZE);
		wr8(e, 2, (u8)i);
		wr8(e, 3, (u8)i);
		wr32(e, 4, 1u << 0); /* enabled */
	}
	seal(t, madt_len);

	/* RSDT (5.2.7) and XSDT (5.2.8): FADT and MADT. */
	t = a + OFF_RSDT;
	header(t, "RSDT", HDR_SIZE + 2 * 4, 1);
	wr32(t, HDR_SIZE, (u32)(at_gpa + OFF_FADT));
	wr32(t, HDR_SIZE + 4, (u32)(at_gpa + OFF_MADT));
	seal(t, HDR_SIZE + 2 * 4);
	t = a + OFF_XSDT;
	header(t, "XSDT", HDR_SIZE + 2 * 8, 1);
	wr64(t, HDR_SIZE, at_gpa + OFF_FADT);
	wr64(t, HDR_SIZE + 8, at_gpa + OFF_MADT);
	seal(t, HDR_SIZE + 2 * 8);

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
