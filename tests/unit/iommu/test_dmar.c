/*
 * dmar_parse and dmar_hide over tables laid out as QEMU's q35 builds them
 * (one DRHD with INCLUDE_PCI_ALL and an IOAPIC scope) plus what real firmware
 * adds (a DRHD for one device, an RMRR), and corrupt variants.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libiommu/dmar.h"

static uint8_t tbl[512];
static size_t len;

static void put16(size_t off, uint16_t v)
{
	tbl[off] = (uint8_t)v;
	tbl[off + 1] = (uint8_t)(v >> 8);
}

static void put64(size_t off, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		tbl[off + i] = (uint8_t)(v >> (8 * i));
}

static void fix_checksum(void)
{
	uint8_t s = 0;
	tbl[4] = (uint8_t)len;
	tbl[5] = (uint8_t)(len >> 8);
	tbl[9] = 0;
	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + tbl[i]);
	tbl[9] = (uint8_t)(0u - s);
}

/* Scope: type, enumeration id, start bus, one path element dev.fn. */
static size_t scope(size_t off, uint8_t type, uint8_t id, uint8_t bus, uint8_t dev, uint8_t fn)
{
	tbl[off] = type;
	tbl[off + 1] = 8;
	tbl[off + 4] = id;
	tbl[off + 5] = bus;
	tbl[off + 6] = dev;
	tbl[off + 7] = fn;
	return off + 8;
}

static int build(void **state)
{
	memset(tbl, 0, sizeof(tbl));
	memcpy(tbl, "DMAR", 4);
	tbl[8] = 1;
	tbl[36] = 38; /* host address width 39 bits */
	tbl[37] = 1;  /* INTR_REMAP */
	size_t off = 48;
	/* DRHD for one GPU-like device 00:02.0 */
	put16(off, 0);
	put16(off + 2, 24);
	put64(off + 8, 0xfed90000);
	off = scope(off + 16, 1, 0, 0, 2, 0);
	/* DRHD for everything else, with the IOAPIC */
	size_t d = off;
	put16(d, 0);
	put16(d + 2, 24);
	tbl[d + 4] = 1; /* INCLUDE_PCI_ALL */
	put64(d + 8, 0xfed91000);
	off = scope(d + 16, 3, 2, 0xf0, 0x1f, 0);
	/* RMRR for a USB controller 00:14.0 */
	size_t r = off;
	put16(r, 1);
	put16(r + 2, 32);
	put64(r + 8, 0x7a000000);
	put64(r + 16, 0x7a01ffff);
	off = scope(r + 24, 1, 0, 0, 0x14, 0);
	/* An ATSR (type 2) that is skipped */
	put16(off, 2);
	put16(off + 2, 8);
	off += 8;
	len = off;
	fix_checksum();
	return 0;
}

static void test_units_scopes_and_rmrrs_are_read(void **state)
{
	struct dmar_info d;
	assert_int_equal(dmar_parse(tbl, sizeof(tbl), &d), DMAR_OK);
	assert_int_equal(d.host_addr_width, 39);
	assert_int_equal(d.flags, 1);
	assert_int_equal(d.nunits, 2);
	assert_int_equal(d.unit[0].base, 0xfed90000);
	assert_false(d.unit[0].include_all);
	assert_int_equal(d.unit[0].nscopes, 1);
	assert_int_equal(d.unit[0].scope[0].type, DMAR_SCOPE_PCI_ENDPOINT);
	assert_int_equal(d.unit[0].scope[0].dev, 2);
	assert_int_equal(d.unit[1].base, 0xfed91000);
	assert_true(d.unit[1].include_all);
	assert_int_equal(d.unit[1].scope[0].type, DMAR_SCOPE_IOAPIC);
	assert_int_equal(d.unit[1].scope[0].enum_id, 2);
	assert_int_equal(d.unit[1].scope[0].bus, 0xf0);
	assert_int_equal(d.nrmrrs, 1);
	assert_int_equal(d.rmrr[0].base, 0x7a000000);
	assert_int_equal(d.rmrr[0].limit, 0x7a01ffff);
	assert_int_equal(d.rmrr[0].scope[0].dev, 0x14);
}

static void test_bad_checksum_is_refused(void **state)
{
	struct dmar_info d;
	tbl[60] ^= 1;
	assert_int_equal(dmar_parse(tbl, sizeof(tbl), &d), DMAR_ERR_CHECKSUM);
	assert_int_equal(d.nunits, 0);
}

static void test_structure_past_the_end_is_refused(void **state)
{
	struct dmar_info d;
	put16(48 + 2, 0x400); /* first DRHD claims 1 KiB */
	fix_checksum();
	assert_int_equal(dmar_parse(tbl, sizeof(tbl), &d), DMAR_ERR_ENTRY);
}

static void test_scope_past_its_structure_is_refused(void **state)
{
	struct dmar_info d;
	tbl[48 + 16 + 1] = 40; /* the first scope claims more than its DRHD holds */
	fix_checksum();
	assert_int_equal(dmar_parse(tbl, sizeof(tbl), &d), DMAR_ERR_ENTRY);
}

static void test_table_longer_than_readable_is_refused(void **state)
{
	struct dmar_info d;
	assert_int_equal(dmar_parse(tbl, len - 1, &d), DMAR_ERR_LENGTH);
}

static void test_unaligned_unit_is_refused(void **state)
{
	struct dmar_info d;
	put64(48 + 8, 0xfed90010);
	fix_checksum();
	assert_int_equal(dmar_parse(tbl, sizeof(tbl), &d), DMAR_ERR_UNIT);
}

static void test_hidden_table_is_no_dmar_but_still_sums_to_zero(void **state)
{
	struct dmar_info d;
	dmar_hide(tbl);
	assert_memory_equal(tbl, "\0\0\0\0", 4);
	uint8_t s = 0;
	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + tbl[i]);
	assert_int_equal(s, 0);
	assert_int_equal(dmar_parse(tbl, sizeof(tbl), &d), DMAR_ERR_SIGNATURE);
	assert_int_equal(d.nunits, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_units_scopes_and_rmrrs_are_read, build),
	    cmocka_unit_test_setup(test_bad_checksum_is_refused, build),
	    cmocka_unit_test_setup(test_structure_past_the_end_is_refused, build),
	    cmocka_unit_test_setup(test_scope_past_its_structure_is_refused, build),
	    cmocka_unit_test_setup(test_table_longer_than_readable_is_refused, build),
	    cmocka_unit_test_setup(test_unaligned_unit_is_refused, build),
	    cmocka_unit_test_setup(test_hidden_table_is_no_dmar_but_still_sums_to_zero, build),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
