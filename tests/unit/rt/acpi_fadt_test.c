/* rt/acpi_fadt.c: the PM1 control ports and the reset register of a FADT. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rt/acpi_fadt.h"

static uint8_t fadt[276];

static void put32(unsigned off, uint32_t v)
{
	for (unsigned i = 0; i < 4; i++)
		fadt[off + i] = (uint8_t)(v >> (8 * i));
}

static void gas(unsigned off, uint8_t space, uint64_t addr)
{
	fadt[off] = space;
	fadt[off + 1] = 8;
	put32(off + 4, (uint32_t)addr);
	put32(off + 8, (uint32_t)(addr >> 32));
}

static void table(void)
{
	memset(fadt, 0, sizeof(fadt));
	memcpy(fadt, "FACP", 4);
	put32(64, 0xb004); /* PM1a_CNT_BLK, as Bochs's BIOS */
}

/* Bochs's BIOS: a revision-1 table (116 bytes), PM1a only, no reset register. */
static void test_revision_1(void **state)
{
	(void)state;
	struct acpi_fadt_power p;
	table();
	assert_true(acpi_fadt_power(fadt, 116, &p));
	assert_int_equal(p.pm1a_cnt, 0xb004);
	assert_int_equal(p.pm1b_cnt, 0);
	assert_false(p.reset_io);
}

/* The reset register counts only with RESET_REG_SUP and in I/O space. */
static void test_reset_register(void **state)
{
	(void)state;
	struct acpi_fadt_power p;
	table();
	gas(116, 1, 0xcf9);
	fadt[128] = 0x06;
	assert_true(acpi_fadt_power(fadt, 244, &p));
	assert_false(p.reset_io); /* flag clear */
	put32(112, 1u << 10);
	assert_true(acpi_fadt_power(fadt, 244, &p));
	assert_true(p.reset_io);
	assert_int_equal(p.reset_port, 0xcf9);
	assert_int_equal(p.reset_value, 0x06);
	gas(116, 0, 0xfed00000); /* memory space: not a port */
	assert_true(acpi_fadt_power(fadt, 244, &p));
	assert_false(p.reset_io);
}

/* X_PM1a_CNT_BLK wins when set; a memory-space one is no port. */
static void test_extended_blocks(void **state)
{
	(void)state;
	struct acpi_fadt_power p;
	table();
	gas(172, 1, 0x604);
	assert_true(acpi_fadt_power(fadt, 276, &p));
	assert_int_equal(p.pm1a_cnt, 0x604);
	gas(172, 0, 0xfe000004);
	assert_true(acpi_fadt_power(fadt, 276, &p));
	assert_int_equal(p.pm1a_cnt, 0);
}

static void test_not_a_fadt(void **state)
{
	(void)state;
	struct acpi_fadt_power p;
	table();
	assert_false(acpi_fadt_power(fadt, 115, &p));
	memcpy(fadt, "APIC", 4);
	assert_false(acpi_fadt_power(fadt, 244, &p));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_revision_1),
	    cmocka_unit_test(test_reset_register),
	    cmocka_unit_test(test_extended_blocks),
	    cmocka_unit_test(test_not_a_fadt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
