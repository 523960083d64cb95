/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Reading the firmware's ACPI tables at boot: the RSDP, then the XSDT (or
 * RSDT), the MADT (CPUs, local APIC, IOAPICs, interrupt overrides), the FADT
 * (PM timer, reset register), the HPET table, the MCFG, and the IOMMU
 * tables (AMD's IVRS, Intel's DMAR: where the IOMMUs are and which PCI
 * requester IDs each one translates).  The core reads
 * the tables once, into one struct acpi_info, and never touches them again;
 * every length, checksum and address in them is checked first, because
 * firmware data is input like any other.  No AML: nothing here needs it.
 */
#ifndef PARTITA_DRIVERS_ACPI_H
#define PARTITA_DRIVERS_ACPI_H

#include "kernel/lib/types.h"

#define ACPI_MAX_CPUS 64
#define ACPI_MAX_TABLES 48
#define ACPI_MAX_IRQ_OVERRIDES 16
#define ACPI_MAX_IOMMUS 4
#define ACPI_MAX_IOMMU_SCOPES 32 /* device ranges per IOMMU */

/** One table the XSDT/RSDT lists, in firmware order. */
struct acpi_table_ref {
	char sig[5]; /* printable, NUL-terminated ('?' for odd bytes) */
	bool valid;  /* length and checksum passed */
	u64 phys;
	u32 length;
};

/** An ISA IRQ routed to another GSI (MADT type 2). */
struct acpi_irq_override {
	u8 bus_irq; /* ISA IRQ */
	u32 gsi;
	u16 flags; /* MPS INTI flags: polarity bits 1:0, trigger bits 3:2 */
};

enum acpi_iommu_kind { ACPI_IOMMU_AMD = 1, ACPI_IOMMU_INTEL = 2 };

/**
 * PCI requester IDs (bus << 8 | device << 3 | function) that one IOMMU
 * translates.  AMD (IVHD device entries): a range, optionally with the alias
 * ID its requests arrive with.  Intel (DRHD device scopes): an endpoint
 * (first == last) or a bridge, which covers the buses below it (resolved by
 * the driver, which can read the bridge's bus numbers).
 */
struct acpi_iommu_scope {
	u16 first, last;
	bool bridge;  /* Intel: first is a PCI bridge, its buses are covered */
	bool aliased; /* AMD: requests arrive as alias, not as their own ID */
	u16 alias;
};

/** One IOMMU, from an IVHD (AMD) or a DRHD (Intel). */
struct acpi_iommu {
	enum acpi_iommu_kind kind;
	u64 base;	  /* register block (MMIO) */
	u16 segment;	  /* PCI segment group */
	u8 type;	  /* AMD: IVHD type (10h, 11h, 40h) */
	u8 flags;	  /* AMD: IVHD flags; Intel: DRHD flags */
	u16 devid;	  /* AMD: the IOMMU's own PCI function */
	u16 cap_offset;	  /* AMD: its capability block in that function */
	u64 efr;	  /* AMD: EFR image (IVHD 11h/40h), 0 otherwise */
	bool include_all; /* AMD "all" entry, Intel INCLUDE_PCI_ALL */
	bool has_ioapic;  /* AMD: a special entry names the IOAPIC's ID */
	u16 ioapic_devid;
	u32 scope_count;
	u32 scope_ignored; /* entries that did not fit or are not understood */
	struct acpi_iommu_scope scopes[ACPI_MAX_IOMMU_SCOPES];
};

/** What the core learns from ACPI.  Zeroed by acpi_init() before it fills
 *  it, so a failed or partial parse leaves 0 / false in what was not found. */
struct acpi_info {
	u8 revision;	/* of the RSDP: 0 (ACPI 1.0, RSDT) or 2+ (XSDT) */
	char oem_id[7]; /* RSDP OEM ID, trailing blanks removed */

	u32 table_count;
	struct acpi_table_ref tables[ACPI_MAX_TABLES];

	/* MADT */
	bool have_madt;
	u32 cpu_count;		     /* entries stored in apic_ids */
	u32 cpu_ignored;	     /* usable CPUs beyond ACPI_MAX_CPUS */
	u32 apic_ids[ACPI_MAX_CPUS]; /* enabled or online-capable, in order */
	u64 lapic_phys;		     /* with the type 5 override applied */
	bool pcat_compat;	     /* dual 8259 PICs present (MADT flag) */
	u32 ioapic_count;
	u64 ioapic_phys; /* of the first IOAPIC */
	u32 ioapic_gsi_base;
	u8 ioapic_id;
	u32 irq_override_count;
	struct acpi_irq_override irq_overrides[ACPI_MAX_IRQ_OVERRIDES];

	/* HPET table: the event timer block, 0 if none */
	u64 hpet_phys;

	/* FADT */
	bool have_fadt;
	u16 pm_timer_port;   /* 0 if none */
	bool pm_timer_32bit; /* TMR_VAL_EXT: the counter has 32 bits, not 24 */
	u16 sci_irq;
	u8 century;	  /* CMOS index of the century, 0 if none */
	u16 boot_arch;	  /* IAPC_BOOT_ARCH flags */
	bool hw_reduced;  /* HW_REDUCED_ACPI: no fixed hardware (no PM timer) */
	bool reset_valid; /* RESET_REG_SUP and a usable register */
	u8 reset_space;	  /* GAS address space: 0 memory, 1 I/O, 2 PCI config */
	u64 reset_addr;
	u8 reset_value;

	/* MCFG: the first segment-0 ECAM window, base 0 if none */
	u64 mcfg_phys;
	u8 mcfg_bus_start;
	u8 mcfg_bus_end;

	/* IVRS or DMAR: the IOMMUs of segment 0, in table order */
	u32 iommu_count;
	struct acpi_iommu iommus[ACPI_MAX_IOMMUS];
	u8 dmar_haw;	     /* DMAR host address width (bits) */
	u8 dmar_flags;	     /* bit 0 INTR_REMAP, bit 1 X2APIC_OPT_OUT */
	u32 ivrs_ivinfo;     /* IVRS IVinfo (virtual address size etc.) */
	u32 reserved_ranges; /* IVMD / RMRR entries found (not honoured) */
};

/**
 * Finds and parses the tables reachable from the RSDP at rsdp (physical,
 * read through the direct map; if rsdp.v is 0, the legacy BIOS areas are
 * searched for one).  Logs the lines
 *   "acpi: RSDP revision R, OEM 'X', tables: SIG SIG ..."
 *   "cpus: N in the MADT, APIC IDs: a, b, ..."
 * and one line per table it had to skip.
 * Returns 0 (out filled; a missing or broken MADT/FADT/HPET table only
 * leaves its fields zero), -E_NOENT if no RSDP was given or found, -E_INVAL if the RSDP or
 * the root table (XSDT/RSDT) fails its signature, length or checksum check,
 * or if it is not mapped.  On error out is zeroed.
 */
int acpi_init(hpa_t rsdp, struct acpi_info *out);

/**
 * The physical address of the first valid table with signature sig (four
 * characters, e.g. "FACP") that acpi_init() found, or 0.
 */
u64 acpi_find_table(const struct acpi_info *acpi, const char *sig);

#endif
