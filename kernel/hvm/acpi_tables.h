/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The ACPI tables of an hvm partition, built in its RAM at start: RSDP
 * (revision 2), RSDT and XSDT, FADT (revision 6), FACS, MADT, MCFG, DMAR and a
 * DSDT with the \_S5 sleep package and the PCI host bridge.  They describe
 * the platform of hvm.h: local APICs at 0xfee00000, the I/O APIC at
 * 0xfec00000 with a PC's interrupt source overrides, the 8259 pair
 * (PCAT_COMPAT), the PCI bus with its ECAM window (vpci.h), no PM timer, the
 * CMOS RTC with its century byte, and the power-off register below.
 * References: ACPI 6.0 specification, chapters 5, 6 and 20.
 *
 * Power-off (ACPI 6.0 4.8.3.2.1 "PM1 Control Registers", 7.3.4.5 "\_S5"):
 * the FADT's PM1a control block is the 16-bit I/O port HVM_ACPI_PM1A_CNT.
 * An OS enters S5 (soft off) by writing SLP_TYP = HVM_ACPI_SLP_TYP_S5 (bits
 * 10-12) with SLP_EN (bit 13) set; the platform ends the partition on that
 * write.  Reads of the port should return SCI_EN (bit 0) set, since there is
 * no SMI command port (the system is always in ACPI mode), and the PM1a
 * event block (HVM_ACPI_PM1A_EVT, 4 bytes: status, enable) should read 0 and
 * ignore writes.  Linux's `poweroff -f` takes exactly this path.
 */
#ifndef PARTITA_HVM_ACPI_TABLES_H
#define PARTITA_HVM_ACPI_TABLES_H

#include "kernel/lib/types.h"

/* Where the tables go: the reserved BIOS area below 1 MiB (linux_boot.h),
 * 0xe0000-0xeffff. */
#define HVM_ACPI_GPA 0xe0000ULL
#define HVM_ACPI_ROOM 0x10000ULL /* same values as kernel/hvm/platform.h */

#define HVM_ACPI_PM1A_EVT 0x600 /* 4 ports: PM1_STS (16 bit), PM1_EN (16 bit) */
#define HVM_ACPI_PM1A_CNT 0x604 /* 2 ports: PM1_CNT */
#define HVM_ACPI_SLP_TYP_S5 5	/* the \_S5 package's SLP_TYPa */
#define HVM_ACPI_PM1_SCI_EN (1u << 0)
#define HVM_ACPI_PM1_SLP_TYP_SHIFT 10
#define HVM_ACPI_PM1_SLP_TYP_MASK (7u << 10)
#define HVM_ACPI_PM1_SLP_EN (1u << 13)
#define HVM_ACPI_SCI_IRQ 9
#define HVM_ACPI_CENTURY_INDEX 0x32 /* CMOS byte holding the century */
#define HVM_ACPI_MAX_CPUS 255	    /* Processor Local APIC entries (8-bit ids) */

/** True if a 16-bit write of value to HVM_ACPI_PM1A_CNT asks for S5. */
static inline bool hvm_acpi_is_poweroff(u16 value)
{
	return (value & HVM_ACPI_PM1_SLP_EN) && ((value & HVM_ACPI_PM1_SLP_TYP_MASK) >>
						 HVM_ACPI_PM1_SLP_TYP_SHIFT) == HVM_ACPI_SLP_TYP_S5;
}

/**
 * Builds the tables in ram[at_gpa, at_gpa + room), with one enabled
 * Processor Local APIC entry per CPU (APIC ids and processor UIDs 0 to
 * cpu_count - 1).  at_gpa must be 64-byte aligned (the FACS) and the area
 * must lie in RAM below 4 GiB (the RSDT and the FADT hold 32-bit pointers).
 * Returns 0 with *rsdp_gpa = the RSDP's address (at_gpa), or -E_INVAL with
 * *why (bad area, too small, cpu_count 0 or above HVM_ACPI_MAX_CPUS); RAM is
 * written only on success.
 */
int acpi_tables_build(u8 *ram, u64 ram_size, u64 at_gpa, u64 room, unsigned cpu_count,
		      u64 *rsdp_gpa, const char **why);

/** The bytes the tables take for cpu_count CPUs. */
u64 acpi_tables_size(unsigned cpu_count);

#endif
