/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The ACPI table reader of the core (ACPI 6.5 specification, chapter 5).
 * It follows RSDP -> XSDT (or RSDT) -> each table, through the direct map,
 * and copies what the core needs into a struct acpi_info.  Firmware tables
 * are untrusted input: each pointer is checked to be mapped before it is
 * read, each length is bounded (ACPI_TABLE_MAX) before it is used, each
 * checksum is verified, and each MADT entry is bounded by its table; a bad
 * table is skipped with a log line, never a crash.
 */
#include "drivers/acpi.h"

#include "arch/x86/cpu.h"
#include "kernel/errno.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/lib/bytes.h"

/* No table the core reads comes near this; a larger length is corruption. */
#define ACPI_TABLE_MAX MiB(1)
#define ACPI_HEADER_SIZE 36
#define RSDP_V1_SIZE 20
#define RSDP_V2_SIZE 36

/* The RSDP (ACPI 6.5 §5.2.5.3). */
struct acpi_rsdp {
	char signature[8]; /* "RSD PTR " */
	u8 checksum;	   /* over the first 20 bytes */
	char oem_id[6];
	u8 revision;
	u32 rsdt;
	/* revision >= 2 */
	u32 length;
	u64 xsdt;
	u8 ext_checksum; /* over length bytes */
	u8 reserved[3];
} __packed;

_Static_assert(sizeof(struct acpi_rsdp) == RSDP_V2_SIZE, "RSDP layout");

/* The common header of every system description table (§5.2.6). */
struct acpi_header {
	char signature[4];
	u32 length;
	u8 revision;
	u8 checksum;
	char oem_id[6];
	char oem_table_id[8];
	u32 oem_revision;
	u32 creator_id;
	u32 creator_revision;
} __packed;

_Static_assert(sizeof(struct acpi_header) == ACPI_HEADER_SIZE, "SDT header layout");

/* Generic Address Structure (§5.2.3.2). */
struct acpi_gas {
	u8 space_id; /* 0 system memory, 1 system I/O, 2 PCI config */
	u8 bit_width;
	u8 bit_offset;
	u8 access_size;
	u64 address;
} __packed;

_Static_assert(sizeof(struct acpi_gas) == 12, "GAS layout");

#define GAS_MEMORY 0
#define GAS_IO 1

/* FADT field offsets (§5.2.9, Table 5.9); the table grew over revisions, so
 * each field is read only if the table's length covers it. */
#define FADT_SCI_INT 46
#define FADT_PM_TMR_BLK 76
#define FADT_PM_TMR_LEN 91
#define FADT_CENTURY 108
#define FADT_IAPC_BOOT_ARCH 109
#define FADT_FLAGS 112
#define FADT_RESET_REG 116
#define FADT_RESET_VALUE 128
#define FADT_X_PM_TMR_BLK 208

#define FADT_F_TMR_VAL_EXT (1u << 8)
#define FADT_F_RESET_REG_SUP (1u << 10)
#define FADT_F_HW_REDUCED_ACPI (1u << 20)

/* MADT (§5.2.12): after the header, the local APIC address and flags, then
 * variable-length entries of (type, length, ...). */
#define MADT_LAPIC_ADDR 36
#define MADT_FLAGS 40
#define MADT_ENTRIES 44
#define MADT_F_PCAT_COMPAT 1u

#define MADT_LAPIC 0
#define MADT_IOAPIC 1
#define MADT_IRQ_OVERRIDE 2
#define MADT_LAPIC_ADDR_OVERRIDE 5
#define MADT_X2APIC 9

#define MADT_CPU_ENABLED 1u
#define MADT_CPU_ONLINE_CAPABLE 2u

/* HPET description table (IA-PC HPET specification 1.0a, §3.2.4). */
#define HPET_TABLE_ADDRESS 40
#define HPET_TABLE_SIZE 56

/* MCFG (PCI Firmware Specification 3.x, §4.1.2). */
#define MCFG_ENTRIES 44
#define MCFG_ENTRY_SIZE 16

/* IVRS (AMD I/O Virtualization Technology (IOMMU) Specification, rev 3.x,
 * §5.2): after the header, IVinfo and 8 reserved bytes, then IVHD (type 10h,
 * 11h, 40h) and IVMD (20h-22h) blocks of (type, flags, length, ...). */
#define IVRS_IVINFO 36
#define IVRS_BLOCKS 48
#define IVHD_DEVID 4
#define IVHD_CAP_OFFSET 6
#define IVHD_BASE 8
#define IVHD_SEGMENT 16
#define IVHD_EFR 24
#define IVHD_10_SIZE 24
#define IVHD_11_SIZE 40

/* IVHD device entries (§5.2.2.2, Table "IVHD Device Entry Type Codes"). */
#define IVHD_DEV_PAD 0x00
#define IVHD_DEV_ALL 0x01
#define IVHD_DEV_SELECT 0x02
#define IVHD_DEV_RANGE_START 0x03
#define IVHD_DEV_RANGE_END 0x04
#define IVHD_DEV_ALIAS_SELECT 0x42
#define IVHD_DEV_ALIAS_RANGE 0x43
#define IVHD_DEV_EXT_SELECT 0x46
#define IVHD_DEV_EXT_RANGE 0x47
#define IVHD_DEV_SPECIAL 0x48
#define IVHD_DEV_ACPI_HID 0xf0

/* DMAR (Intel Virtualization Technology for Directed I/O Architecture
 * Specification, rev 3.x/4.x, chapter 8): host address width, flags, 10
 * reserved bytes, then remapping structures of (type u16, length u16). */
#define DMAR_HAW 36
#define DMAR_FLAGS 37
#define DMAR_STRUCTS 48
#define DMAR_DRHD 0
#define DMAR_RMRR 1
#define DRHD_FLAGS 4
#define DRHD_SEGMENT 6
#define DRHD_BASE 8
#define DRHD_SCOPES 16
#define DRHD_F_INCLUDE_PCI_ALL 1u
/* Device scope (§8.3.1): type, length, 2 reserved, enumeration ID, start
 * bus, then (device, function) pairs, one per bridge crossed. */
#define SCOPE_ENDPOINT 1
#define SCOPE_BRIDGE 2

/* Little-endian field reads from byte offsets; tables are packed and their
 * fields are often misaligned. */
#define PTE_PRESENT 1ULL
#define PTE_LARGE (1ULL << 7)
#define PTE_ADDR 0x000ffffffffff000ULL
#define CR4_LA57 (1ULL << 12)

/*
 * Whether the direct map has a translation for virtual address va, by a walk
 * of the live page tables (Intel SDM Vol. 3A §4.5).  The tables are reached
 * through the direct map themselves, which always covers them.  Firmware
 * pointers can point anywhere; a walk is cheaper than a fault.
 */
static bool va_mapped(u64 va)
{
	u64 table = read_cr3() & PTE_ADDR;

	if (read_cr4() & CR4_LA57)
		return true; /* 5-level paging: not set up by our loader; trust it */
	for (int level = 3; level >= 0; level--) {
		const u64 *t = phys_to_virt(hpa(table));
		u64 e = t[(va >> (12 + 9 * level)) & 511];
		if (!(e & PTE_PRESENT))
			return false;
		if (level == 0 || ((level == 1 || level == 2) && (e & PTE_LARGE)))
			return true;
		table = e & PTE_ADDR;
	}
	return true;
}

/* Whether [phys, phys + len) can be read through the direct map. */
static bool phys_readable(u64 phys, u64 len)
{
	/* MAXPHYADDR is at most 52 bits; beyond that is no address at all. */
	if (phys == 0 || len == 0 || phys >= (1ULL << 52) || len > (1ULL << 52) - phys)
		return false;
	for (u64 page = ALIGN_DOWN(phys, PAGE_SIZE); page < phys + len; page += PAGE_SIZE)
		if (!va_mapped((u64)(uintptr_t)phys_to_virt(hpa(page))))
			return false;
	return true;
}

static u8 checksum(const u8 *p, u32 len)
{
	u8 sum = 0;

	for (u32 i = 0; i < len; i++)
		sum += p[i];
	return sum;
}

/* Copies n bytes of firmware text into dst as printable ASCII. */
static void copy_printable(char *dst, const char *src, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = src[i];
		dst[i] = (c >= 0x20 && c < 0x7f) ? c : '?';
	}
	dst[n] = '\0';
}

/*
 * Checks the table at phys: mapped, a sane length, a matching checksum.
 * Returns a pointer to it or NULL after logging why it was refused.  sig_out
 * (5 bytes) receives its printable signature when the header was readable.
 */
static const u8 *table_get(u64 phys, char *sig_out, u32 *len_out)
{
	if (!phys_readable(phys, ACPI_HEADER_SIZE)) {
		log_line("acpi: table at 0x%lx is not in mapped memory, skipped", phys);
		return NULL;
	}
	const u8 *p = phys_to_virt(hpa(phys));
	u32 len = rd32(p, 4);

	copy_printable(sig_out, (const char *)p, 4);
	if (len < ACPI_HEADER_SIZE || len > ACPI_TABLE_MAX) {
		log_line("acpi: %s at 0x%lx has a bad length %u, skipped", sig_out, phys, len);
		return NULL;
	}
	if (!phys_readable(phys, len)) {
		log_line("acpi: %s at 0x%lx (%u bytes) runs into unmapped memory, skipped", sig_out,
			 phys, len);
		return NULL;
	}
	if (checksum(p, len) != 0) {
		log_line("acpi: %s at 0x%lx has a bad checksum, skipped", sig_out, phys);
		return NULL;
	}
	*len_out = len;
	return p;
}

static void add_cpu(struct acpi_info *out, u32 apic_id)
{
	for (u32 i = 0; i < out->cpu_count; i++)
		if (out->apic_ids[i] == apic_id)
			return; /* listed as both type 0 and type 9 */
	if (out->cpu_count < ACPI_MAX_CPUS)
		out->apic_ids[out->cpu_count++] = apic_id;
	else
		out->cpu_ignored++;
}

static void parse_madt(const u8 *t, u32 len, struct acpi_info *out)
{
	if (len < MADT_ENTRIES) {
		log_line("acpi: MADT too short (%u bytes), ignored", len);
		return;
	}
	out->have_madt = true;
	out->lapic_phys = rd32(t, MADT_LAPIC_ADDR);
	out->pcat_compat = rd32(t, MADT_FLAGS) & MADT_F_PCAT_COMPAT;

	for (u32 off = MADT_ENTRIES; off < len;) {
		if (len - off < 2) {
			log_line("acpi: MADT has a truncated entry at offset %u, rest ignored",
				 off);
			return;
		}
		u8 type = rd8(t, off), elen = rd8(t, off + 1);
		if (elen < 2 || elen > len - off) {
			log_line("acpi: MADT entry type %u at offset %u has a bad length %u, rest ignored",
				 type, off, elen);
			return;
		}
		const u8 *e = t + off;
		switch (type) {
		case MADT_LAPIC:
			if (elen >= 8) {
				u32 flags = rd32(e, 4);
				u8 id = rd8(e, 3);
				if ((flags & (MADT_CPU_ENABLED | MADT_CPU_ONLINE_CAPABLE)) &&
				    id != 0xff)
					add_cpu(out, id);
			}
			break;
		case MADT_X2APIC:
			if (elen >= 16) {
				u32 id = rd32(e, 4), flags = rd32(e, 8);
				if ((flags & (MADT_CPU_ENABLED | MADT_CPU_ONLINE_CAPABLE)) &&
				    id != 0xffffffffu)
					add_cpu(out, id);
			}
			break;
		case MADT_IOAPIC:
			if (elen >= 12) {
				if (out->ioapic_count == 0) {
					out->ioapic_id = rd8(e, 2);
					out->ioapic_phys = rd32(e, 4);
					out->ioapic_gsi_base = rd32(e, 8);
				}
				out->ioapic_count++;
			}
			break;
		case MADT_IRQ_OVERRIDE:
			if (elen >= 10 && out->irq_override_count < ACPI_MAX_IRQ_OVERRIDES) {
				struct acpi_irq_override *o =
					&out->irq_overrides[out->irq_override_count++];
				o->bus_irq = rd8(e, 3);
				o->gsi = rd32(e, 4);
				o->flags = rd16(e, 8);
			}
			break;
		case MADT_LAPIC_ADDR_OVERRIDE:
			/* The 64-bit address replaces the 32-bit one (§5.2.12.8). */
			if (elen >= 12 && rd64(e, 4))
				out->lapic_phys = rd64(e, 4);
			break;
		default:
			break;
		}
		off += elen;
	}
}

static void parse_fadt(const u8 *t, u32 len, struct acpi_info *out)
{
	if (len < FADT_PM_TMR_LEN + 1) {
		log_line("acpi: FADT too short (%u bytes), ignored", len);
		return;
	}
	out->have_fadt = true;
	out->sci_irq = rd16(t, FADT_SCI_INT);
	u32 flags = len >= FADT_FLAGS + 4 ? rd32(t, FADT_FLAGS) : 0;
	if (len > FADT_CENTURY)
		out->century = rd8(t, FADT_CENTURY);
	if (len >= FADT_IAPC_BOOT_ARCH + 2)
		out->boot_arch = rd16(t, FADT_IAPC_BOOT_ARCH);
	out->hw_reduced = flags & FADT_F_HW_REDUCED_ACPI;

	/* PM timer: X_PM_TMR_BLK wins when it is present, in I/O space and a
	 * real port; else the 32-bit PM_TMR_BLK, whose PM_TMR_LEN must be 4
	 * (§4.8.3.3, §5.2.9).  The core reads it with IN, so a memory-mapped
	 * timer is not used. */
	u64 port = 0;
	if (len >= FADT_X_PM_TMR_BLK + sizeof(struct acpi_gas)) {
		u8 space = rd8(t, FADT_X_PM_TMR_BLK);
		u64 addr = rd64(t, FADT_X_PM_TMR_BLK + 4);
		if (addr && space == GAS_IO && addr <= 0xfffc)
			port = addr;
		else if (addr && space != GAS_IO)
			log_line("acpi: X_PM_TMR_BLK is not in I/O space (space %u), not used",
				 space);
	}
	if (!port && rd32(t, FADT_PM_TMR_BLK) && rd8(t, FADT_PM_TMR_LEN) == 4 &&
	    rd32(t, FADT_PM_TMR_BLK) <= 0xfffc)
		port = rd32(t, FADT_PM_TMR_BLK);
	if (out->hw_reduced)
		port = 0;
	out->pm_timer_port = (u16)port;
	out->pm_timer_32bit = port && (flags & FADT_F_TMR_VAL_EXT);

	if ((flags & FADT_F_RESET_REG_SUP) && len > FADT_RESET_VALUE) {
		u8 space = rd8(t, FADT_RESET_REG);
		u64 addr = rd64(t, FADT_RESET_REG + 4);
		if (addr && space <= 2) {
			out->reset_valid = true;
			out->reset_space = space;
			out->reset_addr = addr;
			out->reset_value = rd8(t, FADT_RESET_VALUE);
		}
	}
}

static void parse_hpet(const u8 *t, u32 len, struct acpi_info *out)
{
	if (len < HPET_TABLE_SIZE) {
		log_line("acpi: HPET table too short (%u bytes), ignored", len);
		return;
	}
	u8 space = rd8(t, HPET_TABLE_ADDRESS);
	u64 addr = rd64(t, HPET_TABLE_ADDRESS + 4);
	/* The register block is 1 KiB and 1 KiB aligned (HPET spec §2.3). */
	if (space != GAS_MEMORY || addr == 0 || (addr & 0x3ff)) {
		log_line("acpi: HPET table has an unusable address 0x%lx (space %u), ignored", addr,
			 space);
		return;
	}
	if (!out->hpet_phys)
		out->hpet_phys = addr;
}

static void parse_mcfg(const u8 *t, u32 len, struct acpi_info *out)
{
	for (u32 off = MCFG_ENTRIES; off + MCFG_ENTRY_SIZE <= len; off += MCFG_ENTRY_SIZE) {
		u64 base = rd64(t, off);
		u16 segment = rd16(t, off + 8);
		u8 start = rd8(t, off + 10), end = rd8(t, off + 11);
		if (segment == 0 && base && start <= end && !out->mcfg_phys) {
			out->mcfg_phys = base;
			out->mcfg_bus_start = start;
			out->mcfg_bus_end = end;
		}
	}
}

/* The IOMMU with this register base, or a new entry for it; NULL if the
 * table is full. */
static struct acpi_iommu *iommu_slot(struct acpi_info *out, enum acpi_iommu_kind kind, u64 base)
{
	for (u32 i = 0; i < out->iommu_count; i++)
		if (out->iommus[i].kind == kind && out->iommus[i].base == base)
			return &out->iommus[i];
	if (out->iommu_count == ACPI_MAX_IOMMUS)
		return NULL;
	struct acpi_iommu *u = &out->iommus[out->iommu_count++];
	memset(u, 0, sizeof(*u));
	u->kind = kind;
	u->base = base;
	return u;
}

static void add_scope(struct acpi_iommu *u, u16 first, u16 last, bool bridge, bool aliased,
		      u16 alias)
{
	if (u->scope_count == ACPI_MAX_IOMMU_SCOPES || last < first) {
		u->scope_ignored++;
		return;
	}
	u->scopes[u->scope_count++] =
		(struct acpi_iommu_scope){ first, last, bridge, aliased, alias };
}

/* The device entries of one IVHD block (§5.2.2.2).  A range is opened by a
 * start entry (plain, alias or extended) and closed by the next end entry. */
static void parse_ivhd_entries(const u8 *b, u32 off, u32 len, struct acpi_iommu *u)
{
	int open = -1; /* type of the open range's start entry, -1: none */
	u16 start = 0, alias = 0;

	while (off + 4 <= len) {
		u8 type = rd8(b, off);
		u32 elen = type < 0x40 ? 4 : type < 0x80 ? 8 : 0;
		if (type == IVHD_DEV_ACPI_HID && off + 22 <= len)
			elen = 22 + rd8(b, off + 21); /* UID length */
		if (!elen || off + elen > len) {
			log_line("acpi: IVHD device entry type %#x at offset %u not understood, rest ignored",
				 type, off);
			u->scope_ignored++;
			return;
		}
		u16 devid = rd16(b, off + 1);
		switch (type) {
		case IVHD_DEV_PAD:
			break;
		case IVHD_DEV_ALL:
			u->include_all = true;
			break;
		case IVHD_DEV_SELECT:
		case IVHD_DEV_EXT_SELECT:
			add_scope(u, devid, devid, false, false, 0);
			break;
		case IVHD_DEV_ALIAS_SELECT:
			add_scope(u, devid, devid, false, true, rd16(b, off + 5));
			break;
		case IVHD_DEV_RANGE_START:
		case IVHD_DEV_EXT_RANGE:
		case IVHD_DEV_ALIAS_RANGE:
			open = type;
			start = devid;
			alias = type == IVHD_DEV_ALIAS_RANGE ? rd16(b, off + 5) : 0;
			break;
		case IVHD_DEV_RANGE_END:
			if (open >= 0)
				add_scope(u, start, devid, false, open == IVHD_DEV_ALIAS_RANGE,
					  alias);
			open = -1;
			break;
		case IVHD_DEV_SPECIAL:
			/* An IOAPIC (variety 1) or HPET (2): not a PCI function
			 * a partition can own, but its interrupts pass the
			 * IOMMU under this ID. */
			if (rd8(b, off + 7) == 1) {
				u->has_ioapic = true;
				u->ioapic_devid = rd16(b, off + 5);
			}
			break;
		default:
			/* ACPI devices (F0h) are not PCI functions either. */
			break;
		}
		off += elen;
	}
}

static void parse_ivrs(const u8 *t, u32 len, struct acpi_info *out)
{
	if (len < IVRS_BLOCKS) {
		log_line("acpi: IVRS too short (%u bytes), ignored", len);
		return;
	}
	out->ivrs_ivinfo = rd32(t, IVRS_IVINFO);
	for (u32 off = IVRS_BLOCKS; off + 4 <= len;) {
		u8 type = rd8(t, off);
		u16 blen = rd16(t, off + 2);
		if (blen < 4 || blen > len - off) {
			log_line("acpi: IVRS block type %#x at offset %u has a bad length %u, rest ignored",
				 type, off, blen);
			return;
		}
		const u8 *b = t + off;
		u32 hsize = type == 0x10		   ? IVHD_10_SIZE :
			    (type == 0x11 || type == 0x40) ? IVHD_11_SIZE :
							     0;
		if (hsize && blen >= hsize && rd16(b, IVHD_SEGMENT) == 0) {
			/* Firmware may describe one IOMMU by several IVHD types;
			 * software uses the highest type it knows and ignores the
			 * others (§5.2.2.1). */
			struct acpi_iommu *u = iommu_slot(out, ACPI_IOMMU_AMD, rd64(b, IVHD_BASE));
			if (!u) {
				log_line("acpi: more than %d IOMMUs, IVHD at offset %u ignored",
					 ACPI_MAX_IOMMUS, off);
			} else if (type >= u->type) {
				u->type = type;
				u->flags = rd8(b, 1);
				u->devid = rd16(b, IVHD_DEVID);
				u->cap_offset = rd16(b, IVHD_CAP_OFFSET);
				u->efr = hsize == IVHD_11_SIZE ? rd64(b, IVHD_EFR) : 0;
				u->include_all = u->has_ioapic = false;
				u->scope_count = u->scope_ignored = 0;
				parse_ivhd_entries(b, hsize, blen, u);
			}
		} else if (type >= 0x20 && type <= 0x22) {
			out->reserved_ranges++; /* IVMD: memory a device needs mapped */
		}
		off += blen;
	}
}

static void parse_dmar(const u8 *t, u32 len, struct acpi_info *out)
{
	if (len < DMAR_STRUCTS) {
		log_line("acpi: DMAR too short (%u bytes), ignored", len);
		return;
	}
	out->dmar_haw = rd8(t, DMAR_HAW) + 1; /* the table holds N - 1 */
	out->dmar_flags = rd8(t, DMAR_FLAGS);
	for (u32 off = DMAR_STRUCTS; off + 4 <= len;) {
		u16 type = rd16(t, off), slen = rd16(t, off + 2);
		if (slen < 4 || slen > len - off) {
			log_line("acpi: DMAR structure type %u at offset %u has a bad length %u, rest ignored",
				 type, off, slen);
			return;
		}
		const u8 *s = t + off;
		if (type == DMAR_RMRR) {
			out->reserved_ranges++;
		} else if (type == DMAR_DRHD && slen >= DRHD_SCOPES && rd16(s, DRHD_SEGMENT) == 0) {
			struct acpi_iommu *u =
				iommu_slot(out, ACPI_IOMMU_INTEL, rd64(s, DRHD_BASE));
			if (!u) {
				log_line("acpi: more than %d IOMMUs, DRHD at offset %u ignored",
					 ACPI_MAX_IOMMUS, off);
				off += slen;
				continue;
			}
			u->flags = rd8(s, DRHD_FLAGS);
			u->include_all = u->flags & DRHD_F_INCLUDE_PCI_ALL;
			for (u32 so = DRHD_SCOPES; so + 6 <= slen;) {
				u8 stype = rd8(s, so), sl = rd8(s, so + 1);
				if (sl < 6 || sl > slen - so) {
					u->scope_ignored++;
					break;
				}
				/* One (device, function) pair: the device sits on the
				 * start bus.  Longer paths cross bridges whose bus
				 * numbers the table does not give: not resolved. */
				if ((stype == SCOPE_ENDPOINT || stype == SCOPE_BRIDGE) && sl == 8) {
					u16 bdf = (u16)(rd8(s, so + 5) << 8 |
							(rd8(s, so + 6) & 0x1f) << 3 |
							(rd8(s, so + 7) & 7));
					add_scope(u, bdf, bdf, stype == SCOPE_BRIDGE, false, 0);
				} else if (stype == SCOPE_ENDPOINT || stype == SCOPE_BRIDGE) {
					u->scope_ignored++;
				}
				so += sl;
			}
		}
		off += slen;
	}
}

/* Validates the RSDP and picks the root table; returns its address, 0 if
 * unusable, and sets *xsdt to whether it has 8-byte entries. */
static int check_rsdp(u64 phys, struct acpi_info *out, u64 *root, bool *xsdt)
{
	if (!phys_readable(phys, RSDP_V1_SIZE)) {
		log_line("acpi: RSDP at 0x%lx is not in mapped memory", phys);
		return -E_INVAL;
	}
	const struct acpi_rsdp *r = phys_to_virt(hpa(phys));
	if (memcmp(r->signature, "RSD PTR ", 8) != 0) {
		log_line("acpi: no RSDP signature at 0x%lx", phys);
		return -E_INVAL;
	}
	if (checksum((const u8 *)r, RSDP_V1_SIZE) != 0) {
		log_line("acpi: RSDP at 0x%lx has a bad checksum", phys);
		return -E_INVAL;
	}
	out->revision = r->revision;
	copy_printable(out->oem_id, r->oem_id, 6);
	for (int i = 5; i >= 0 && out->oem_id[i] == ' '; i--)
		out->oem_id[i] = '\0';

	*root = r->rsdt;
	*xsdt = false;
	/* ACPI 2.0+ (revision 2): the XSDT supersedes the RSDT (§5.2.5.3),
	 * but only if the extended structure checks out. */
	if (r->revision >= 2) {
		u32 len = 0;
		if (phys_readable(phys, RSDP_V2_SIZE))
			len = r->length;
		if (len < RSDP_V2_SIZE || len > PAGE_SIZE || !phys_readable(phys, len) ||
		    checksum((const u8 *)r, len) != 0)
			log_line("acpi: RSDP extended part is invalid, using the RSDT");
		else if (r->xsdt) {
			*root = r->xsdt;
			*xsdt = true;
		}
	}
	if (!*root) {
		log_line("acpi: RSDP names no RSDT/XSDT");
		return -E_INVAL;
	}
	return 0;
}

static void log_summary(const struct acpi_info *out)
{
	char buf[200];
	size_t n = 0;

	for (u32 i = 0; i < out->table_count && n < sizeof(buf); i++)
		if (out->tables[i].valid)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, " %s", out->tables[i].sig);
	buf[MIN(n, sizeof(buf) - 1)] = '\0';
	log_line("acpi: RSDP revision %u, OEM '%s', tables:%s", out->revision, out->oem_id, buf);

	n = 0;
	buf[0] = '\0';
	for (u32 i = 0; i < out->cpu_count && n < sizeof(buf); i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%u", i ? ", " : "",
				      out->apic_ids[i]);
	if (out->cpu_ignored)
		log_line("cpus: %u in the MADT (only the first %u used), APIC IDs: %s",
			 out->cpu_count + out->cpu_ignored, out->cpu_count, buf);
	else
		log_line("cpus: %u in the MADT, APIC IDs: %s", out->cpu_count,
			 out->cpu_count ? buf : "none");

	log_line("acpi: LAPIC 0x%lx, %u IOAPIC(s) (first 0x%lx, GSI base %u), HPET 0x%lx, "
		 "PM timer port 0x%x (%s), MCFG 0x%lx",
		 out->lapic_phys, out->ioapic_count, out->ioapic_phys, out->ioapic_gsi_base,
		 out->hpet_phys, out->pm_timer_port, out->pm_timer_32bit ? "32-bit" : "24-bit",
		 out->mcfg_phys);
	for (u32 i = 0; i < out->iommu_count; i++) {
		const struct acpi_iommu *u = &out->iommus[i];
		log_line("acpi: %s IOMMU at %#lx: %s%u device range(s)%s%s",
			 u->kind == ACPI_IOMMU_AMD ? "AMD-Vi (IVRS)" : "VT-d (DMAR)", u->base,
			 u->include_all ? "all devices, " : "", u->scope_count,
			 u->scope_ignored ? ", some entries not understood" : "",
			 out->reserved_ranges ?
				 ", reserved memory ranges (IVMD/RMRR) not honoured" :
				 "");
	}
}

/* An RSDP with a valid signature and ACPI 1.0 checksum in [start, end),
 * searched on 16-byte boundaries; 0 if none. */
static u64 scan_range(u64 start, u64 end)
{
	if (!phys_readable(start, end - start))
		return 0;
	for (u64 pa = ALIGN_UP(start, 16); pa + RSDP_V1_SIZE <= end; pa += 16) {
		const u8 *p = phys_to_virt(hpa(pa));
		if (!memcmp(p, "RSD PTR ", 8) && checksum(p, RSDP_V1_SIZE) == 0)
			return pa;
	}
	return 0;
}

/*
 * Where legacy BIOSes keep the RSDP (ACPI 6.5 §5.2.5.1): the first KiB of
 * the EBDA, whose segment the BIOS data area holds at 0x40e, then the BIOS
 * ROM at 0xe0000-0xfffff.  Used when the loader had no RSDP (a UEFI without
 * ACPI tables, or a boot path that does not pass one).
 */
static u64 scan_bios_areas(void)
{
	u64 found = 0;

	if (phys_readable(0x40e, 2)) {
		u64 ebda = (u64)rd16(phys_to_virt(hpa(0x40e)), 0) << 4;
		if (ebda >= 0x80000 && ebda < 0xa0000)
			found = scan_range(ebda, ebda + KiB(1));
	}
	if (!found)
		found = scan_range(0xe0000, 0x100000);
	return found;
}

int acpi_init(hpa_t rsdp, struct acpi_info *out)
{
	u64 root;
	bool xsdt;
	int err;

	memset(out, 0, sizeof(*out));
	if (rsdp.v == 0) {
		rsdp = hpa(scan_bios_areas());
		if (rsdp.v == 0) {
			log_line("acpi: no RSDP from the loader nor in the BIOS areas; "
				 "assuming one CPU and no ACPI devices");
			return -E_NOENT;
		}
		log_line("acpi: no RSDP from the loader; found one at 0x%lx in the BIOS area",
			 rsdp.v);
	}
	err = check_rsdp(rsdp.v, out, &root, &xsdt);
	if (err)
		goto fail;

	char root_sig[5];
	u32 root_len;
	const u8 *rt = table_get(root, root_sig, &root_len);
	if (!rt || memcmp(rt, xsdt ? "XSDT" : "RSDT", 4) != 0) {
		log_line("acpi: the %s at 0x%lx is unusable", xsdt ? "XSDT" : "RSDT", root);
		err = -E_INVAL;
		goto fail;
	}

	u32 entry_size = xsdt ? 8 : 4;
	u32 entries = (root_len - ACPI_HEADER_SIZE) / entry_size;
	for (u32 i = 0; i < entries; i++) {
		u32 off = ACPI_HEADER_SIZE + i * entry_size;
		u64 phys = xsdt ? rd64(rt, off) : rd32(rt, off);
		char sig[5] = "????";
		u32 len = 0;
		const u8 *t = table_get(phys, sig, &len);

		if (out->table_count < ACPI_MAX_TABLES) {
			struct acpi_table_ref *ref = &out->tables[out->table_count++];
			memcpy(ref->sig, sig, sizeof(ref->sig));
			ref->valid = t != NULL;
			ref->phys = phys;
			ref->length = len;
		}
		if (!t)
			continue;
		if (!memcmp(sig, "APIC", 4) && !out->have_madt)
			parse_madt(t, len, out);
		else if (!memcmp(sig, "FACP", 4) && !out->have_fadt)
			parse_fadt(t, len, out);
		else if (!memcmp(sig, "HPET", 4))
			parse_hpet(t, len, out);
		else if (!memcmp(sig, "MCFG", 4))
			parse_mcfg(t, len, out);
		else if (!memcmp(sig, "IVRS", 4))
			parse_ivrs(t, len, out);
		else if (!memcmp(sig, "DMAR", 4))
			parse_dmar(t, len, out);
	}
	log_summary(out);
	return 0;

fail:
	memset(out, 0, sizeof(*out));
	return err;
}

u64 acpi_find_table(const struct acpi_info *acpi, const char *sig)
{
	for (u32 i = 0; i < acpi->table_count; i++)
		if (acpi->tables[i].valid && !memcmp(acpi->tables[i].sig, sig, 4))
			return acpi->tables[i].phys;
	return 0;
}
