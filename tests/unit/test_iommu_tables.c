/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the IOMMU table parsers of drivers/acpi.c: IVRS (AMD-Vi:
 * IVHD blocks, their device entries, which IVHD type wins) and DMAR (VT-d:
 * DRHD units, device scopes, INCLUDE_PCI_ALL), including the layouts QEMU
 * 7.2 builds, and tables that lie about their lengths.  The parsers are
 * static: this file includes acpi.c, with the core's log stubbed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "drivers/acpi.c"

u64 core_phys_base;
static char last_log[256];
static unsigned log_count;

void log_line(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_log, sizeof(last_log), fmt, ap);
	va_end(ap);
	log_count++;
}

static u8 t[1024];
static u32 len;

static void put8(u8 v)
{
	t[len++] = v;
}
static void put16(u16 v)
{
	put8((u8)v);
	put8((u8)(v >> 8));
}
static void put32(u32 v)
{
	put16((u16)v);
	put16((u16)(v >> 16));
}
static void put64(u64 v)
{
	put32((u32)v);
	put32((u32)(v >> 32));
}

static void header(const char *sig)
{
	memset(t, 0, sizeof(t));
	memcpy(t, sig, 4);
	len = 36;
}

/* An IVHD block: type, flags, length (patched by end_block), devid, cap
 * offset, base, segment, info, features [, EFR, reserved]. */
static u32 block_start;
static void ivhd(u8 type, u64 base, u16 devid)
{
	block_start = len;
	put8(type);
	put8(0xd1);
	put16(0);
	put16(devid);
	put16(0x40);
	put64(base);
	put16(0);
	put16(0);
	put32(0);
	if (type != 0x10) {
		put64(0x1234);
		put64(0);
	}
}
static void end_block(void)
{
	wr16(t, block_start + 2, (u16)(len - block_start));
}
static void dev4(u8 type, u16 devid)
{
	put8(type);
	put16(devid);
	put8(0);
}

static void test_ivrs_qemu(void **state)
{
	struct acpi_info a;
	(void)state;

	/* QEMU 7.2: IVinfo, one IVHD 10h with a select entry per device on
	 * bus 0, and the special IOAPIC entry (intremap on). */
	memset(&a, 0, sizeof(a));
	header("IVRS");
	put32(40u << 8);
	put64(0);
	ivhd(0x10, 0xfed80000, 0x0010);
	dev4(IVHD_DEV_SELECT, 0x0000);
	dev4(IVHD_DEV_SELECT, 0x0008);
	dev4(IVHD_DEV_SELECT, 0x0010);
	dev4(IVHD_DEV_SELECT, 0x00fa);
	put64(0x48ULL | (1ULL << 56) | ((u64)0x00a0 << 40)); /* special: IOAPIC 00:14.0 */
	end_block();
	parse_ivrs(t, len, &a);
	assert_int_equal(a.iommu_count, 1);
	const struct acpi_iommu *u = &a.iommus[0];
	assert_int_equal(u->kind, ACPI_IOMMU_AMD);
	assert_true(u->base == 0xfed80000);
	assert_int_equal(u->devid, 0x0010);
	assert_int_equal(u->cap_offset, 0x40);
	assert_int_equal(u->scope_count, 4);
	assert_int_equal(u->scopes[1].first, 0x0008);
	assert_int_equal(u->scopes[1].last, 0x0008);
	assert_false(u->include_all);
	assert_true(u->has_ioapic);
	assert_int_equal(u->ioapic_devid, 0x00a0);
	assert_int_equal(a.ivrs_ivinfo, 40u << 8);
}

static void test_ivrs_ranges_alias_all_and_types(void **state)
{
	struct acpi_info a;
	(void)state;

	memset(&a, 0, sizeof(a));
	header("IVRS");
	put32(0);
	put64(0);
	/* Type 10h with "all", then 11h for the same IOMMU with ranges:
	 * the higher type replaces the lower (AMD IOMMU spec §5.2.2.1). */
	ivhd(0x10, 0xfeb80000, 0x0002);
	dev4(IVHD_DEV_ALL, 0);
	end_block();
	ivhd(0x11, 0xfeb80000, 0x0002);
	dev4(IVHD_DEV_RANGE_START, 0x0100);
	dev4(IVHD_DEV_RANGE_END, 0x01ff);
	put8(IVHD_DEV_ALIAS_RANGE);
	put16(0x0200);
	put8(0);
	put8(0);
	put16(0x00f8);
	put8(0);
	dev4(IVHD_DEV_RANGE_END, 0x02ff);
	dev4(IVHD_DEV_PAD, 0);
	end_block();
	/* An IVMD block (memory a device needs) is counted, not honoured. */
	put8(0x20);
	put8(0);
	put16(32);
	for (int i = 0; i < 28; i++)
		put8(0);
	parse_ivrs(t, len, &a);
	assert_int_equal(a.iommu_count, 1);
	const struct acpi_iommu *u = &a.iommus[0];
	assert_int_equal(u->type, 0x11);
	assert_true(u->efr == 0x1234);
	assert_false(u->include_all);
	assert_int_equal(u->scope_count, 2);
	assert_int_equal(u->scopes[0].first, 0x0100);
	assert_int_equal(u->scopes[0].last, 0x01ff);
	assert_false(u->scopes[0].aliased);
	assert_true(u->scopes[1].aliased);
	assert_int_equal(u->scopes[1].alias, 0x00f8);
	assert_int_equal(a.reserved_ranges, 1);
}

static void test_ivrs_bad_lengths(void **state)
{
	struct acpi_info a;
	(void)state;

	/* A block longer than the table: ignored with a log line. */
	memset(&a, 0, sizeof(a));
	header("IVRS");
	put32(0);
	put64(0);
	ivhd(0x10, 0xfed80000, 0x10);
	dev4(IVHD_DEV_SELECT, 8);
	end_block();
	wr16(t, block_start + 2, 500);
	log_count = 0;
	parse_ivrs(t, len, &a);
	assert_int_equal(a.iommu_count, 0);
	assert_true(log_count > 0);

	/* An 8-byte entry cut by the block's end: the rest is dropped. */
	memset(&a, 0, sizeof(a));
	header("IVRS");
	put32(0);
	put64(0);
	ivhd(0x10, 0xfed80000, 0x10);
	dev4(IVHD_DEV_SELECT, 8);
	put8(IVHD_DEV_ALIAS_SELECT);
	put16(0x20);
	put8(0);
	end_block();
	parse_ivrs(t, len, &a);
	assert_int_equal(a.iommu_count, 1);
	assert_int_equal(a.iommus[0].scope_count, 1);
	assert_true(a.iommus[0].scope_ignored > 0);

	/* Too short for IVinfo. */
	memset(&a, 0, sizeof(a));
	parse_ivrs(t, 40, &a);
	assert_int_equal(a.iommu_count, 0);
}

static void scope(u8 type, u8 bus, u8 dev, u8 fn)
{
	put8(type);
	put8(8);
	put16(0);
	put8(0);
	put8(bus);
	put8(dev);
	put8(fn);
}

static void test_dmar_qemu_and_include_all(void **state)
{
	struct acpi_info a;
	(void)state;

	memset(&a, 0, sizeof(a));
	header("DMAR");
	put8(39 - 1);
	put8(1); /* INTR_REMAP */
	for (int i = 0; i < 10; i++)
		put8(0);
	/* QEMU 7.2: one DRHD, no INCLUDE_PCI_ALL, an IOAPIC scope and one
	 * endpoint scope per device of bus 0. */
	u32 s0 = len;
	put16(DMAR_DRHD);
	put16(0);
	put8(0);
	put8(0);
	put16(0);
	put64(0xfed90000);
	scope(3, 0xff, 0, 0); /* IOAPIC: not a PCI function */
	scope(SCOPE_ENDPOINT, 0, 0, 0);
	scope(SCOPE_ENDPOINT, 0, 1, 0);
	scope(SCOPE_BRIDGE, 0, 0x1e, 0);
	wr16(t, s0 + 2, (u16)(len - s0));
	/* A second unit for everything else, then an RMRR. */
	u32 s1 = len;
	put16(DMAR_DRHD);
	put16(0);
	put8(DRHD_F_INCLUDE_PCI_ALL);
	put8(0);
	put16(0);
	put64(0xfed91000);
	wr16(t, s1 + 2, (u16)(len - s1));
	u32 s2 = len;
	put16(DMAR_RMRR);
	put16(0);
	put16(0);
	put16(0);
	put64(0x1000);
	put64(0x1fff);
	wr16(t, s2 + 2, (u16)(len - s2));
	parse_dmar(t, len, &a);
	assert_int_equal(a.dmar_haw, 39);
	assert_int_equal(a.dmar_flags, 1);
	assert_int_equal(a.iommu_count, 2);
	const struct acpi_iommu *u = &a.iommus[0];
	assert_int_equal(u->kind, ACPI_IOMMU_INTEL);
	assert_true(u->base == 0xfed90000);
	assert_false(u->include_all);
	assert_int_equal(u->scope_count, 3);
	assert_int_equal(u->scopes[1].first, 0x0008);
	assert_false(u->scopes[1].bridge);
	assert_true(u->scopes[2].bridge);
	assert_int_equal(u->scopes[2].first, 0x00f0);
	assert_true(a.iommus[1].include_all);
	assert_int_equal(a.iommus[1].scope_count, 0);
	assert_int_equal(a.reserved_ranges, 1);
}

static void test_dmar_bad_and_long_paths(void **state)
{
	struct acpi_info a;
	(void)state;

	memset(&a, 0, sizeof(a));
	header("DMAR");
	put8(47);
	put8(0);
	for (int i = 0; i < 10; i++)
		put8(0);
	u32 s0 = len;
	put16(DMAR_DRHD);
	put16(0);
	put8(0);
	put8(0);
	put16(0);
	put64(0xfed90000);
	/* A path through a bridge (two pairs): not resolvable from the table. */
	put8(SCOPE_ENDPOINT);
	put8(10);
	put16(0);
	put8(0);
	put8(0);
	put8(0x1c);
	put8(0);
	put8(0);
	put8(0);
	/* A scope whose length runs past its structure. */
	put8(SCOPE_ENDPOINT);
	put8(40);
	put16(0);
	put8(0);
	put8(0);
	put8(2);
	put8(0);
	wr16(t, s0 + 2, (u16)(len - s0));
	parse_dmar(t, len, &a);
	assert_int_equal(a.iommu_count, 1);
	assert_int_equal(a.iommus[0].scope_count, 0);
	assert_true(a.iommus[0].scope_ignored >= 2);

	/* A structure longer than the table stops the walk. */
	memset(&a, 0, sizeof(a));
	wr16(t, s0 + 2, 900);
	log_count = 0;
	parse_dmar(t, len, &a);
	assert_int_equal(a.iommu_count, 0);
	assert_true(log_count > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ivrs_qemu),
		cmocka_unit_test(test_ivrs_ranges_alias_all_and_types),
		cmocka_unit_test(test_ivrs_bad_lengths),
		cmocka_unit_test(test_dmar_qemu_and_include_all),
		cmocka_unit_test(test_dmar_bad_and_long_paths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
