/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the ACPI tables built for hvm partitions
 * (kernel/hvm/acpi_tables.c): checksums, lengths, the links between tables,
 * the FADT's fields, the \_S5 package, and the MADT parsed back entry by
 * entry as an OS would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/errno.h"
#include "kernel/hvm/acpi_tables.h"

#define RAM_SIZE (2u << 20)

static uint8_t *ram;

static int setup(void **state)
{
	(void)state;
	ram = calloc(1, RAM_SIZE);
	return ram ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(ram);
	return 0;
}

static uint32_t r32(uint64_t gpa)
{
	uint32_t v;
	memcpy(&v, ram + gpa, 4);
	return v;
}
static uint64_t r64(uint64_t gpa)
{
	uint64_t v;
	memcpy(&v, ram + gpa, 8);
	return v;
}
static uint16_t r16(uint64_t gpa)
{
	uint16_t v;
	memcpy(&v, ram + gpa, 2);
	return v;
}

static uint8_t sum(uint64_t gpa, uint64_t len)
{
	uint8_t s = 0;
	for (uint64_t i = 0; i < len; i++)
		s += ram[gpa + i];
	return s;
}

/* Checks a table's header at gpa and returns its length. */
static uint32_t check_table(uint64_t gpa, const char *sig)
{
	uint32_t len = r32(gpa + 4);
	assert_memory_equal(ram + gpa, sig, 4);
	assert_true(len >= 36);
	assert_int_equal(sum(gpa, len), 0);
	return len;
}

static uint64_t build(unsigned cpus)
{
	uint64_t rsdp = 0;
	const char *why = NULL;
	assert_int_equal(acpi_tables_build(ram, RAM_SIZE, HVM_ACPI_GPA, HVM_ACPI_ROOM, cpus, &rsdp,
					   &why),
			 0);
	assert_int_equal(rsdp, HVM_ACPI_GPA);
	return rsdp;
}

static uint64_t find_in_xsdt(uint64_t rsdp, const char *sig)
{
	uint64_t xsdt = r64(rsdp + 24);
	uint32_t len = check_table(xsdt, "XSDT");
	for (uint32_t off = 36; off + 8 <= len; off += 8)
		if (!memcmp(ram + r64(xsdt + off), sig, 4))
			return r64(xsdt + off);
	return 0;
}

static void rsdp_is_valid(void **state)
{
	(void)state;
	uint64_t rsdp = build(1);
	assert_memory_equal(ram + rsdp, "RSD PTR ", 8);
	assert_int_equal(rsdp % 16, 0);
	assert_int_equal(ram[rsdp + 15], 2);
	assert_int_equal(r32(rsdp + 20), 36);
	assert_int_equal(sum(rsdp, 20), 0);
	assert_int_equal(sum(rsdp, 36), 0);
	/* RSDT and XSDT list the same tables. */
	uint64_t rsdt = r32(rsdp + 16), xsdt = r64(rsdp + 24);
	assert_int_equal(check_table(rsdt, "RSDT"), 36 + 4 * 4);
	assert_int_equal(check_table(xsdt, "XSDT"), 36 + 4 * 8);
	for (int i = 0; i < 4; i++)
		assert_int_equal(r32(rsdt + 36 + 4 * i), r64(xsdt + 36 + 8 * i));
	/* Everything lies inside the area. */
	assert_true(acpi_tables_size(1) <= HVM_ACPI_ROOM);
}

static void fadt_fields(void **state)
{
	(void)state;
	uint64_t fadt = find_in_xsdt(build(1), "FACP");
	assert_true(fadt);
	assert_int_equal(check_table(fadt, "FACP"), 276);
	assert_int_equal(ram[fadt + 8], 6);
	assert_int_equal(r16(fadt + 46), 9); /* SCI_INT */
	assert_int_equal(r32(fadt + 48), 0); /* SMI_CMD */
	assert_int_equal(r32(fadt + 56), HVM_ACPI_PM1A_EVT);
	assert_int_equal(r32(fadt + 64), HVM_ACPI_PM1A_CNT);
	assert_int_equal(r32(fadt + 76), 0); /* no PM timer */
	assert_int_equal(ram[fadt + 88], 4);
	assert_int_equal(ram[fadt + 89], 2);
	assert_int_equal(ram[fadt + 108], 0x32);	   /* century */
	assert_int_equal(r16(fadt + 109) & 1, 1);	   /* legacy devices */
	assert_int_equal(r16(fadt + 109) & 2, 0);	   /* no 8042 */
	assert_int_equal(r32(fadt + 112) & (1u << 20), 0); /* not HW-reduced */
	assert_int_equal(ram[fadt + 172], 1);		   /* X_PM1a_CNT: I/O */
	assert_int_equal(r64(fadt + 176), HVM_ACPI_PM1A_CNT);
	/* FACS and DSDT, by both pointers. */
	uint64_t facs = r32(fadt + 36), dsdt = r32(fadt + 40);
	assert_int_equal(r64(fadt + 132), facs);
	assert_int_equal(r64(fadt + 140), dsdt);
	assert_memory_equal(ram + facs, "FACS", 4);
	assert_int_equal(r32(facs + 4), 64);
	assert_int_equal(facs % 64, 0);
	uint32_t dlen = check_table(dsdt, "DSDT");
	static const uint8_t s5[] = { 0x08, '_',  'S', '5',  '_', 0x12, 0x08,
				      0x04, 0x0a, 5,   0x0a, 5,	  0x00, 0x00 };
	assert_true(dlen > 36 + sizeof(s5));
	assert_memory_equal(ram + dsdt + 36, s5, sizeof(s5));
	/* IAPC_BOOT_ARCH: MSI is supported (bit 3 clear) */
	assert_int_equal(r16(fadt + 109) & 8, 0);
	/* The DSDT does not run into the MADT. */
	assert_true(dsdt + dlen <= find_in_xsdt(HVM_ACPI_GPA, "APIC"));
}

/* Decodes an AML PkgLength (ACPI 6.0 20.2.4) at p: the length, and the
 * bytes the encoding takes in *n. */
static uint32_t pkg_length(const uint8_t *p, unsigned *n)
{
	unsigned follow = p[0] >> 6;
	uint32_t len = follow ? p[0] & 0xf : p[0] & 0x3f;
	for (unsigned i = 0; i < follow; i++)
		len |= (uint32_t)p[1 + i] << (4 + 8 * i);
	*n = 1 + follow;
	return len;
}

/* The DSDT's host bridge, decoded as an AML parser would: Scope (\_SB),
 * Device (PCI0) with _HID PNP0A08, _CID PNP0A03 and a _CRS whose
 * descriptors cover the buses, the I/O ranges and the BAR window. */
static void dsdt_host_bridge(void **state)
{
	(void)state;
	uint64_t fadt = find_in_xsdt(build(1), "FACP");
	uint64_t dsdt = r32(fadt + 40);
	uint32_t dlen = r32(dsdt + 4);
	const uint8_t *p = ram + dsdt + 36 + 14, *end = ram + dsdt + dlen;
	unsigned n;
	assert_int_equal(p[0], 0x10); /* ScopeOp */
	uint32_t scope_len = pkg_length(p + 1, &n);
	assert_ptr_equal(p + 1 + scope_len, end); /* the scope ends the table */
	p += 1 + n;
	assert_memory_equal(p, "\\_SB_", 5);
	p += 5;
	assert_int_equal(p[0], 0x5b);
	assert_int_equal(p[1], 0x82);
	uint32_t dev_len = pkg_length(p + 2, &n);
	assert_ptr_equal(p + 2 + dev_len, end);
	p += 2 + n;
	assert_memory_equal(p, "PCI0", 4);
	p += 4;
	static const uint8_t hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x08 };
	static const uint8_t cid[] = { 0x08, '_', 'C', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03 };
	assert_memory_equal(p, hid, sizeof(hid));
	p += sizeof(hid);
	assert_memory_equal(p, cid, sizeof(cid));
	p += sizeof(cid);
	for (int i = 0; i < 3; i++, p += 6) /* _UID, _SEG, _BBN: Zero */
		assert_int_equal(p[5], 0x00);
	assert_memory_equal(p, "\x08_CRS\x11", 6);
	uint32_t buf_len = pkg_length(p + 6, &n);
	const uint8_t *b = p + 6 + n;
	const uint8_t *crs_end = p + 6 + buf_len;
	assert_int_equal(b[0], 0x0a);
	const uint8_t *d = b + 2, *dend = d + b[1];
	assert_ptr_equal(dend, crs_end);
	unsigned kinds = 0;
	while (d < dend) {
		if (d[0] == 0x79) { /* end tag */
			assert_ptr_equal(d + 2, dend);
			kinds |= 1u << 7;
			break;
		}
		if (d[0] & 0x80) { /* large descriptor */
			unsigned len = d[1] | d[2] << 8;
			if (d[0] == 0x88 && d[3] == 2) { /* bus numbers 0-255 */
				assert_int_equal(r16(d - ram + 8), 0);
				assert_int_equal(r16(d - ram + 10), 255);
				kinds |= 1u << 0;
			}
			if (d[0] == 0x88 && d[3] == 1)
				kinds |= 1u << 1;
			if (d[0] == 0x87 && d[3] == 0) { /* the BAR window */
				assert_int_equal(r32(d - ram + 10), 0xf0000000u);
				assert_int_equal(r32(d - ram + 14), 0xfebfffffu);
				assert_int_equal(r32(d - ram + 22), 0x0ec00000u);
				kinds |= 1u << 2;
			}
			d += 3 + len;
		} else {
			if (d[0] == 0x47) /* the configuration ports */
				assert_int_equal(r16(d - ram + 2), 0xcf8);
			d += 1 + (d[0] & 7);
		}
	}
	assert_int_equal(kinds, 0x87);

	/* _PRT (6.2.13): 31 slots x 4 pins, each Package { 0xSSSSFFFF, pin,
	 * Zero, GSI } with GSI 16 + (slot + pin) % 4; it ends the device. */
	p = crs_end;
	assert_memory_equal(p, "\x08_PRT\x12", 6);
	uint32_t prt_len = pkg_length(p + 6, &n);
	assert_ptr_equal(p + 6 + prt_len, end);
	const uint8_t *q = p + 6 + n;
	assert_int_equal(*q++, 124);
	for (unsigned slot = 1; slot < 32; slot++) {
		for (unsigned pin = 0; pin < 4; pin++) {
			assert_int_equal(q[0], 0x12);
			uint32_t elen = pkg_length(q + 1, &n);
			const uint8_t *e = q + 1 + n, *eend = q + 1 + elen;
			assert_int_equal(e[0], 4);
			assert_int_equal(e[1], 0x0c);
			assert_int_equal(r32(e + 2 - ram), slot << 16 | 0xffff);
			assert_int_equal(e[6], 0x0a);
			assert_int_equal(e[7], pin);
			assert_int_equal(e[8], 0x00);
			assert_int_equal(e[9], 0x0a);
			assert_int_equal(e[10], 16 + (slot + pin) % 4);
			assert_ptr_equal(e + 11, eend);
			q = eend;
		}
	}
	assert_ptr_equal(q, end);
}

/* MCFG: one allocation for segment 0, buses 0-255 at 0xe0000000. */
static void mcfg_allocation(void **state)
{
	(void)state;
	uint64_t mcfg = find_in_xsdt(build(1), "MCFG");
	assert_true(mcfg);
	assert_int_equal(check_table(mcfg, "MCFG"), 60);
	assert_int_equal(r64(mcfg + 44), 0xe0000000ull);
	assert_int_equal(r16(mcfg + 52), 0);
	assert_int_equal(ram[mcfg + 54], 0);
	assert_int_equal(ram[mcfg + 55], 255);
}

/* Parses the MADT as an OS does: fixed part, then type/length entries. */
static void madt_parses_back(void **state)
{
	(void)state;
	for (unsigned cpus = 1; cpus <= 255; cpus += 127) {
		memset(ram, 0, RAM_SIZE);
		uint64_t madt = find_in_xsdt(build(cpus), "APIC");
		assert_true(madt);
		uint32_t len = check_table(madt, "APIC");
		assert_int_equal(len, 44 + 8 * cpus + 12 + 2 * 10);
		assert_int_equal(r32(madt + 36), 0xfee00000u);
		assert_int_equal(r32(madt + 40), 1); /* PCAT_COMPAT */
		unsigned lapics = 0, ioapics = 0, overrides = 0;
		for (uint32_t off = 44; off < len; off += ram[madt + off + 1]) {
			assert_true(ram[madt + off + 1] >= 2);
			assert_true(off + ram[madt + off + 1] <= len);
			if (ram[madt + off] == 1) { /* the I/O APIC */
				assert_int_equal(ram[madt + off + 1], 12);
				assert_int_equal(ram[madt + off + 2], 1);
				assert_int_equal(r32(madt + off + 4), 0xfec00000u);
				assert_int_equal(r32(madt + off + 8), 0);
				ioapics++;
			}
			if (ram[madt + off] == 2) { /* overrides: IRQ0 -> 2, SCI */
				assert_int_equal(ram[madt + off + 1], 10);
				assert_int_equal(ram[madt + off + 2], 0);
				if (ram[madt + off + 3] == 0) {
					assert_int_equal(r32(madt + off + 4), 2);
					assert_int_equal(r16(madt + off + 8), 0);
				} else {
					assert_int_equal(ram[madt + off + 3], 9);
					assert_int_equal(r32(madt + off + 4), 9);
					assert_int_equal(r16(madt + off + 8), 0xf);
				}
				overrides++;
			}
			if (ram[madt + off] == 0) {
				assert_int_equal(ram[madt + off + 1], 8);
				assert_int_equal(ram[madt + off + 2], lapics); /* UID */
				assert_int_equal(ram[madt + off + 3], lapics); /* APIC ID */
				assert_int_equal(r32(madt + off + 4), 1);      /* enabled */
				lapics++;
			}
		}
		assert_int_equal(lapics, cpus);
		assert_int_equal(ioapics, 1);
		assert_int_equal(overrides, 2);
	}
}

static void refuses_bad_arguments(void **state)
{
	(void)state;
	uint64_t rsdp = 1234;
	const char *why = NULL;
	assert_int_equal(acpi_tables_build(ram, RAM_SIZE, HVM_ACPI_GPA, HVM_ACPI_ROOM, 0, &rsdp,
					   &why),
			 -E_INVAL);
	assert_non_null(why);
	assert_int_equal(acpi_tables_build(ram, RAM_SIZE, HVM_ACPI_GPA, HVM_ACPI_ROOM, 256, &rsdp,
					   &why),
			 -E_INVAL);
	assert_int_equal(acpi_tables_build(ram, RAM_SIZE, HVM_ACPI_GPA + 16, HVM_ACPI_ROOM, 1,
					   &rsdp, &why),
			 -E_INVAL);
	assert_int_equal(acpi_tables_build(ram, RAM_SIZE, HVM_ACPI_GPA, 0x100, 1, &rsdp, &why),
			 -E_INVAL);
	assert_int_equal(acpi_tables_build(ram, RAM_SIZE, RAM_SIZE - 0x40, HVM_ACPI_ROOM, 1, &rsdp,
					   &why),
			 -E_INVAL);
	assert_int_equal(acpi_tables_build(ram, RAM_SIZE, UINT64_MAX - 63, HVM_ACPI_ROOM, 1, &rsdp,
					   &why),
			 -E_INVAL);
	assert_int_equal(rsdp, 1234);
	/* Nothing was written. */
	assert_int_equal(sum(HVM_ACPI_GPA, 0x1000), 0);
	for (unsigned i = 0; i < 0x1000; i++)
		assert_int_equal(ram[HVM_ACPI_GPA + i], 0);
}

static void poweroff_value(void **state)
{
	(void)state;
	assert_true(hvm_acpi_is_poweroff((5 << 10) | (1 << 13)));
	assert_true(hvm_acpi_is_poweroff((5 << 10) | (1 << 13) | 1));
	assert_false(hvm_acpi_is_poweroff(5 << 10)); /* SLP_EN clear */
	assert_false(hvm_acpi_is_poweroff((3 << 10) | (1 << 13)));
	assert_false(hvm_acpi_is_poweroff(1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(refuses_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(rsdp_is_valid, setup, teardown),
		cmocka_unit_test_setup_teardown(fadt_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(madt_parses_back, setup, teardown),
		cmocka_unit_test_setup_teardown(dsdt_host_bridge, setup, teardown),
		cmocka_unit_test_setup_teardown(mcfg_allocation, setup, teardown),
		cmocka_unit_test(poweroff_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
