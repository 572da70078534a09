/*
 * MADT discovery over fake low memory: where the RSDP may be, RSDT vs XSDT,
 * which processor entries count, and rejection of damaged tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libsmp/madt.h"
#include "tests/unit/smp/lowmem.h"

static struct smp_cpu_list out;

static int setup(void **state)
{
	lowmem_reset();
	memset(&out, 0xa5, sizeof(out)); /* the parser must not rely on a zeroed result */
	return 0;
}

static void assert_ids(const uint32_t *ids, uint32_t n)
{
	assert_int_equal(out.count, n);
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(out.apic_id[i], ids[i]);
}

static void assert_error(int err, int expected, const char *table, uint64_t pa)
{
	assert_int_equal(err, expected);
	assert_non_null(out.error_table);
	assert_string_equal(out.error_table, table);
	assert_int_equal(out.error_pa, pa);
	assert_true(strlen(madt_strerror(err)) > 10);
}

static void test_rsdp_in_bios_area_rsdt(void **state)
{
	const uint8_t ids[] = {0, 1, 2, 3};
	const uint32_t want[] = {0, 1, 2, 3};

	acpi_put_machine(ids, 4);
	assert_int_equal(madt_find_cpus(&out), MADT_OK);
	assert_ids(want, 4);
	assert_int_equal(out.dropped, 0);
}

static void test_rsdp_found_at_top_of_bios_area(void **state)
{
	const uint8_t ids[] = {7};
	const uint32_t want[] = {7};

	acpi_put_machine(ids, 1);
	memset(lowmem + RSDP_PA, 0, 36);
	acpi_put_rsdp(0xfffe0, 0, RSDT_PA, 0); /* the last slot that holds 20 bytes */
	assert_int_equal(madt_find_cpus(&out), MADT_OK);
	assert_ids(want, 1);
}

static void test_rsdp_off_16_byte_boundary_is_not_found(void **state)
{
	const uint8_t ids[] = {0};

	acpi_put_machine(ids, 1);
	memset(lowmem + RSDP_PA, 0, 36);
	acpi_put_rsdp(RSDP_PA + 4, 0, RSDT_PA, 0);
	assert_error(madt_find_cpus(&out), MADT_ERR_NO_RSDP, "RSDP", 0);
}

static void test_ebda_is_searched_before_bios_area(void **state)
{
	const uint8_t ids[] = {0, 1};
	const uint8_t other_ids[] = {4, 5, 6};
	const uint32_t want[] = {4, 5, 6};
	const uint64_t t2[] = {0x111000};
	struct madt_body m;

	acpi_put_machine(ids, 2); /* RSDP in the BIOS area -> CPUs 0, 1 */
	/* EBDA at segment 0x9fc0 (BDA word at 0x40e); its RSDP -> CPUs 4, 5, 6. */
	lowmem[0x40e] = 0xc0;
	lowmem[0x40f] = 0x9f;
	madt_begin(&m);
	for (int i = 0; i < 3; i++)
		madt_add_lapic(&m, (uint8_t)i, other_ids[i], 1);
	madt_put(0x111000, &m);
	acpi_put_rsdt(0x110000, t2, 1);
	acpi_put_rsdp(0x9fc00 + 0x40, 0, 0x110000, 0);
	assert_int_equal(madt_find_cpus(&out), MADT_OK);
	assert_ids(want, 3);
}

static void test_ebda_only_first_kib_is_searched(void **state)
{
	const uint8_t ids[] = {0};

	acpi_put_machine(ids, 1);
	memset(lowmem + RSDP_PA, 0, 36);
	lowmem[0x40e] = 0x00;
	lowmem[0x40f] = 0x90; /* EBDA at 0x90000 */
	acpi_put_rsdp(0x90000 + 1024, 0, RSDT_PA, 0);
	assert_int_equal(madt_find_cpus(&out), MADT_ERR_NO_RSDP);
	acpi_put_rsdp(0x90000 + 1024 - 32, 0, RSDT_PA, 0);
	assert_int_equal(madt_find_cpus(&out), MADT_OK);
}

static void test_xsdt_preferred_when_revision_2(void **state)
{
	const uint8_t ids[] = {0, 1}; /* reachable through the RSDT */
	const uint32_t want[] = {8, 9};
	const uint64_t tables[] = {FACP_PA, 0x120000};
	struct madt_body m;

	acpi_put_machine(ids, 2);
	madt_begin(&m);
	madt_add_lapic(&m, 0, 8, 1);
	madt_add_lapic(&m, 1, 9, 1);
	madt_put(0x120000, &m);
	acpi_put_xsdt(XSDT_PA, tables, 2);
	acpi_put_rsdp(RSDP_PA, 2, RSDT_PA, XSDT_PA);
	assert_int_equal(madt_find_cpus(&out), MADT_OK);
	assert_ids(want, 2);

	/* Revision 0 has no XSDT field: the same tables go through the RSDT. */
	acpi_put_rsdp(RSDP_PA, 0, RSDT_PA, 0);
	const uint32_t want_rsdt[] = {0, 1};
	assert_int_equal(madt_find_cpus(&out), MADT_OK);
	assert_ids(want_rsdt, 2);
}

static void test_revision_2_with_zero_xsdt_uses_rsdt(void **state)
{
	const uint8_t ids[] = {3, 4};
	const uint32_t want[] = {3, 4};

	acpi_put_machine(ids, 2);
	acpi_put_rsdp(RSDP_PA, 2, RSDT_PA, 0);
	assert_int_equal(madt_find_cpus(&out), MADT_OK);
	assert_ids(want, 2);
}

static void test_disabled_skipped_online_capable_kept(void **state)
{
	const uint64_t tables[] = {MADT_PA};
	const uint32_t want[] = {0, 2, 3};
	struct madt_body m;

	madt_begin(&m);
	madt_add_lapic(&m, 0, 0, 1); /* enabled */
	madt_add_lapic(&m, 1, 1, 0); /* disabled, not online-capable */
	madt_add_ioapic(&m, 9, 0xfec00000u);
	madt_add_lapic(&m, 2, 2, 2);    /* online-capable */
	madt_add_lapic(&m, 3, 3, 3);    /* both */
	madt_add_lapic(&m, 4, 0xff, 1); /* APIC ID 0xFF: no processor */
	madt_add_lapic(&m, 5, 5, 0x4);  /* only a reserved bit */
	madt_put(MADT_PA, &m);
	acpi_put_rsdt(RSDT_PA, tables, 1);
	acpi_put_rsdp(RSDP_PA, 0, RSDT_PA, 0);
	assert_int_equal(madt_find_cpus(&out), MADT_OK);
	assert_ids(want, 3);
}

static void test_x2apic_entries_and_duplicates(void **state)
{
	const uint64_t tables[] = {MADT_PA};
	const uint32_t want[] = {0, 1, 0x100, 0x12345};
	struct madt_body m;

	madt_begin(&m);
	madt_add_lapic(&m, 0, 0, 1);
	madt_add_lapic(&m, 1, 1, 1);
	madt_add_x2apic(&m, 0x100, 1, 2);
	madt_add_x2apic(&m, 1, 1, 1);     /* the same CPU again, as x2APIC */
	madt_add_x2apic(&m, 0x200, 0, 3); /* disabled */
	madt_add_x2apic(&m, 0x12345, 2, 4);
	madt_add_x2apic(&m, 0xffffffffu, 1, 5);
	madt_put(MADT_PA, &m);
	acpi_put_xsdt(XSDT_PA, tables, 1);
	acpi_put_rsdp(RSDP_PA, 2, 0, XSDT_PA);
	assert_int_equal(madt_find_cpus(&out), MADT_OK);
	assert_ids(want, 4);
}

static void test_more_cpus_than_supported_are_counted_as_dropped(void **state)
{
	uint8_t ids[HV_MAX_CPUS + 3];

	for (uint32_t i = 0; i < HV_MAX_CPUS + 3; i++)
		ids[i] = (uint8_t)(2 * i);
	acpi_put_machine(ids, HV_MAX_CPUS + 3);
	assert_int_equal(madt_find_cpus(&out), MADT_OK);
	assert_int_equal(out.count, HV_MAX_CPUS);
	assert_int_equal(out.dropped, 3);
	for (uint32_t i = 0; i < HV_MAX_CPUS; i++)
		assert_int_equal(out.apic_id[i], 2 * i);
}

static void test_bad_rsdp_checksums_rejected(void **state)
{
	const uint8_t ids[] = {0};

	acpi_put_machine(ids, 1);
	lowmem[RSDP_PA + 16] ^= 0x01; /* RSDT address, covered by the 20-byte checksum */
	assert_error(madt_find_cpus(&out), MADT_ERR_NO_RSDP, "RSDP", 0);

	/* ACPI 2.0: the extended checksum covers the XSDT address. */
	acpi_put_rsdp(RSDP_PA, 2, RSDT_PA, XSDT_PA);
	lowmem[RSDP_PA + 24] ^= 0x10;
	assert_int_equal(madt_find_cpus(&out), MADT_ERR_NO_RSDP);

	/* A later, valid candidate is still found. */
	acpi_put_rsdp(RSDP_PA + 0x100, 0, RSDT_PA, 0);
	assert_int_equal(madt_find_cpus(&out), MADT_OK);
}

static void test_bad_root_table_checksum_and_signature(void **state)
{
	const uint8_t ids[] = {0, 1};

	acpi_put_machine(ids, 2);
	lowmem[RSDT_PA + 36] ^= 0x01;
	assert_error(madt_find_cpus(&out), MADT_ERR_CHECKSUM, "RSDT", RSDT_PA);

	acpi_put_machine(ids, 2);
	memcpy(lowmem + RSDT_PA, "XSDT", 4);
	acpi_fix_checksum(RSDT_PA);
	assert_error(madt_find_cpus(&out), MADT_ERR_SIGNATURE, "RSDT", RSDT_PA);
}

static void test_bad_madt_checksum(void **state)
{
	const uint8_t ids[] = {0, 1};

	acpi_put_machine(ids, 2);
	lowmem[MADT_PA + 47] ^= 0x02; /* APIC ID of the first entry */
	assert_error(madt_find_cpus(&out), MADT_ERR_CHECKSUM, "MADT", MADT_PA);
}

static void set_len(uint64_t pa, uint32_t len)
{
	for (int i = 0; i < 4; i++)
		lowmem[pa + 4 + i] = (uint8_t)(len >> (8 * i));
}

static void test_table_lengths_checked(void **state)
{
	const uint8_t ids[] = {0, 1};

	/* Shorter than the header. */
	acpi_put_machine(ids, 2);
	set_len(RSDT_PA, 35);
	acpi_fix_checksum(RSDT_PA);
	assert_error(madt_find_cpus(&out), MADT_ERR_LENGTH, "RSDT", RSDT_PA);

	/* Absurdly long: rejected before anything past the header is read. */
	acpi_put_machine(ids, 2);
	set_len(MADT_PA, 0xffffffffu);
	assert_error(madt_find_cpus(&out), MADT_ERR_LENGTH, "MADT", MADT_PA);

	/* A MADT too short for its APIC address and flags. */
	acpi_put_machine(ids, 2);
	set_len(MADT_PA, 40);
	acpi_fix_checksum(MADT_PA);
	assert_error(madt_find_cpus(&out), MADT_ERR_LENGTH, "MADT", MADT_PA);
}

static void test_table_past_end_of_memory(void **state)
{
	const uint8_t ids[] = {0, 1};
	const uint64_t near_end = LOWMEM_SIZE - 64;
	const uint64_t tables[] = {near_end};

	acpi_put_machine(ids, 2);
	/* A MADT header fits, but its length runs past the end of memory. */
	memcpy(lowmem + near_end, lowmem + MADT_PA, 64);
	set_len(near_end, 200);
	acpi_put_rsdt(RSDT_PA, tables, 1);
	assert_error(madt_find_cpus(&out), MADT_ERR_UNREADABLE, "MADT", near_end);

	/* A root table outside memory altogether. */
	acpi_put_rsdp(RSDP_PA, 0, 0xfffff000u, 0);
	assert_error(madt_find_cpus(&out), MADT_ERR_UNREADABLE, "RSDT", 0xfffff000u);
}

static void test_malformed_entries_rejected(void **state)
{
	const uint64_t tables[] = {MADT_PA};
	struct madt_body m;

	/* Entry length 0 would loop forever if trusted. */
	madt_begin(&m);
	madt_add_lapic(&m, 0, 0, 1);
	madt_add_lapic(&m, 1, 1, 1);
	m.bytes[8 + 8 + 1] = 0;
	madt_put(MADT_PA, &m);
	acpi_put_rsdt(RSDT_PA, tables, 1);
	acpi_put_rsdp(RSDP_PA, 0, RSDT_PA, 0);
	assert_error(madt_find_cpus(&out), MADT_ERR_BAD_ENTRY, "MADT", MADT_PA + 44 + 8);

	/* Entry running past the end of the table. */
	madt_begin(&m);
	madt_add_lapic(&m, 0, 0, 1);
	madt_add_x2apic(&m, 5, 1, 1);
	m.len -= 4; /* table ends inside the x2APIC entry */
	madt_put(MADT_PA, &m);
	assert_error(madt_find_cpus(&out), MADT_ERR_BAD_ENTRY, "MADT", MADT_PA + 44 + 8);

	/* A local APIC entry shorter than its 8 bytes. */
	madt_begin(&m);
	madt_add_lapic(&m, 0, 0, 1);
	m.bytes[8 + 1] = 4;
	m.len -= 4;
	madt_put(MADT_PA, &m);
	assert_error(madt_find_cpus(&out), MADT_ERR_BAD_ENTRY, "MADT", MADT_PA + 44);

	/* A lone trailing byte (no room for a type and a length). */
	madt_begin(&m);
	madt_add_lapic(&m, 0, 0, 1);
	m.len += 1;
	madt_put(MADT_PA, &m);
	assert_error(madt_find_cpus(&out), MADT_ERR_BAD_ENTRY, "MADT", MADT_PA + 44 + 8);
}

static void test_no_madt_and_no_cpus(void **state)
{
	const uint64_t only_facp[] = {FACP_PA, 0};
	const uint8_t ids[] = {0};
	struct madt_body m;

	acpi_put_machine(ids, 1);
	acpi_put_rsdt(RSDT_PA, only_facp, 2); /* a null entry is skipped, not followed */
	assert_error(madt_find_cpus(&out), MADT_ERR_NO_MADT, "RSDT", RSDT_PA);

	acpi_put_machine(ids, 1);
	madt_begin(&m);
	madt_add_lapic(&m, 0, 0, 0);
	madt_add_ioapic(&m, 1, 0xfec00000u);
	madt_put(MADT_PA, &m);
	assert_error(madt_find_cpus(&out), MADT_ERR_NO_CPUS, "MADT", MADT_PA);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_rsdp_in_bios_area_rsdt, setup),
	    cmocka_unit_test_setup(test_rsdp_found_at_top_of_bios_area, setup),
	    cmocka_unit_test_setup(test_rsdp_off_16_byte_boundary_is_not_found, setup),
	    cmocka_unit_test_setup(test_ebda_is_searched_before_bios_area, setup),
	    cmocka_unit_test_setup(test_ebda_only_first_kib_is_searched, setup),
	    cmocka_unit_test_setup(test_xsdt_preferred_when_revision_2, setup),
	    cmocka_unit_test_setup(test_revision_2_with_zero_xsdt_uses_rsdt, setup),
	    cmocka_unit_test_setup(test_disabled_skipped_online_capable_kept, setup),
	    cmocka_unit_test_setup(test_x2apic_entries_and_duplicates, setup),
	    cmocka_unit_test_setup(test_more_cpus_than_supported_are_counted_as_dropped, setup),
	    cmocka_unit_test_setup(test_bad_rsdp_checksums_rejected, setup),
	    cmocka_unit_test_setup(test_bad_root_table_checksum_and_signature, setup),
	    cmocka_unit_test_setup(test_bad_madt_checksum, setup),
	    cmocka_unit_test_setup(test_table_lengths_checked, setup),
	    cmocka_unit_test_setup(test_table_past_end_of_memory, setup),
	    cmocka_unit_test_setup(test_malformed_entries_rejected, setup),
	    cmocka_unit_test_setup(test_no_madt_and_no_cpus, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
