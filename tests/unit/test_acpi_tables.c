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
	assert_int_equal(check_table(rsdt, "RSDT"), 36 + 2 * 4);
	assert_int_equal(check_table(xsdt, "XSDT"), 36 + 2 * 8);
	for (int i = 0; i < 2; i++)
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
	assert_int_equal(dlen, 36 + sizeof(s5));
	assert_memory_equal(ram + dsdt + 36, s5, sizeof(s5));
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
		assert_int_equal(len, 44 + 8 * cpus);
		assert_int_equal(r32(madt + 36), 0xfee00000u);
		assert_int_equal(r32(madt + 40), 1); /* PCAT_COMPAT */
		unsigned lapics = 0;
		for (uint32_t off = 44; off < len; off += ram[madt + off + 1]) {
			assert_true(ram[madt + off + 1] >= 2);
			assert_true(off + ram[madt + off + 1] <= len);
			assert_int_not_equal(ram[madt + off], 1); /* no IOAPIC */
			assert_int_not_equal(ram[madt + off], 2); /* no override */
			if (ram[madt + off] == 0) {
				assert_int_equal(ram[madt + off + 1], 8);
				assert_int_equal(ram[madt + off + 2], lapics); /* UID */
				assert_int_equal(ram[madt + off + 3], lapics); /* APIC ID */
				assert_int_equal(r32(madt + off + 4), 1);      /* enabled */
				lapics++;
			}
		}
		assert_int_equal(lapics, cpus);
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
		cmocka_unit_test(poweroff_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
