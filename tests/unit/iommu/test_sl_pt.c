/*
 * Second-level tables: 2 MiB leaves where allowed, a split when a range cuts
 * one, absent pages for protected ranges, and no new tables when the same
 * pages are protected and unprotected again (a PAL registered many times).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "hw/hw.h"
#include "hw/vtd_defs.h"
#include "libiommu/sl_pt.h"
#include "rt/palloc.h"

#define KIB4       0x1000ull
#define MIB2       0x200000ull
#define POOL_PAGES 64

static void *pool;

static int setup(void **state)
{
	palloc_reset();
	pool = aligned_alloc(KIB4, POOL_PAGES * KIB4);
	assert_non_null(pool);
	palloc_add_range(hw_ptr_phys(pool), POOL_PAGES * KIB4);
	return 0;
}

static int teardown(void **state)
{
	palloc_reset();
	free(pool);
	return 0;
}

static void test_large_pages_map_whole_2m_ranges(void **state)
{
	struct slpt t;
	unsigned level;
	assert_int_equal(slpt_init(&t, 4, true), SLPT_OK);
	assert_int_equal(slpt_set(&t, 0, 8 * MIB2, true), SLPT_OK);
	uint64_t e = slpt_leaf(&t, 3 * MIB2 + 0x1234, &level);
	assert_int_equal(level, 2);
	assert_int_equal(e, 3 * MIB2 | VTD_SL_R | VTD_SL_W | VTD_SL_PS);
	assert_int_equal(t.tables, 3); /* PML4, PDPT, PD */
	assert_int_equal(slpt_leaf(&t, 8 * MIB2, &level), 0);
}

static void test_protect_splits_and_unmaps_only_the_range(void **state)
{
	struct slpt t;
	unsigned level;
	assert_int_equal(slpt_init(&t, 3, true), SLPT_OK);
	assert_int_equal(slpt_set(&t, 0, 4 * MIB2, true), SLPT_OK);
	assert_int_equal(slpt_set(&t, MIB2 + 5 * KIB4, 2 * KIB4, false), SLPT_OK);
	assert_int_equal(slpt_leaf(&t, MIB2 + 5 * KIB4, &level), 0);
	assert_int_equal(level, 1);
	assert_int_equal(slpt_leaf(&t, MIB2 + 6 * KIB4 + 8, &level), 0);
	assert_int_equal(slpt_leaf(&t, MIB2 + 4 * KIB4, &level),
	                 (MIB2 + 4 * KIB4) | VTD_SL_R | VTD_SL_W);
	assert_int_equal(level, 1);
	assert_int_equal(slpt_leaf(&t, MIB2 + 7 * KIB4, &level),
	                 (MIB2 + 7 * KIB4) | VTD_SL_R | VTD_SL_W);
	/* the neighbouring 2 MiB pages stay large */
	assert_int_equal(slpt_leaf(&t, 0, &level), VTD_SL_R | VTD_SL_W | VTD_SL_PS);
	assert_int_equal(level, 2);
}

static void test_protect_unprotect_cycles_allocate_nothing_more(void **state)
{
	struct slpt t;
	unsigned level;
	assert_int_equal(slpt_init(&t, 4, true), SLPT_OK);
	assert_int_equal(slpt_set(&t, 0, 4 * MIB2, true), SLPT_OK);
	assert_int_equal(slpt_set(&t, MIB2, 3 * KIB4, false), SLPT_OK);
	assert_int_equal(slpt_set(&t, MIB2, 3 * KIB4, true), SLPT_OK);
	uint64_t tables = t.tables;
	size_t free_pages = palloc_free_count();
	for (int i = 0; i < 100; i++) {
		assert_int_equal(slpt_set(&t, MIB2, 3 * KIB4, false), SLPT_OK);
		assert_int_equal(slpt_set(&t, MIB2, 3 * KIB4, true), SLPT_OK);
	}
	assert_int_equal(t.tables, tables);
	assert_int_equal(palloc_free_count(), free_pages);
	assert_int_equal(slpt_leaf(&t, MIB2 + KIB4, &level), (MIB2 + KIB4) | VTD_SL_R | VTD_SL_W);
}

static void test_without_large_pages_every_leaf_is_4k(void **state)
{
	struct slpt t;
	unsigned level;
	assert_int_equal(slpt_init(&t, 3, false), SLPT_OK);
	assert_int_equal(slpt_set(&t, 0, MIB2, true), SLPT_OK);
	assert_int_equal(slpt_leaf(&t, MIB2 - KIB4, &level), (MIB2 - KIB4) | VTD_SL_R | VTD_SL_W);
	assert_int_equal(level, 1);
}

static void test_bad_ranges_are_refused(void **state)
{
	struct slpt t;
	assert_int_equal(slpt_init(&t, 3, true), SLPT_OK);
	assert_int_equal(slpt_set(&t, 0x800, KIB4, true), SLPT_ERR_RANGE);
	assert_int_equal(slpt_set(&t, 0, 0, true), SLPT_ERR_RANGE);
	assert_int_equal(slpt_set(&t, 1ull << 39, KIB4, true), SLPT_ERR_RANGE); /* 3 levels */
	assert_int_equal(slpt_set(&t, (1ull << 39) - KIB4, 2 * KIB4, true), SLPT_ERR_RANGE);
}

static void test_out_of_pages_is_reported(void **state)
{
	struct slpt t;
	assert_int_equal(slpt_init(&t, 4, false), SLPT_OK);
	/* 128 MiB of 4 KiB leaves needs 64 page tables + 2: more than the pool holds. */
	assert_int_equal(slpt_set(&t, 0, 32 * MIB2 * 2, true), SLPT_ERR_NOMEM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_large_pages_map_whole_2m_ranges, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_protect_splits_and_unmaps_only_the_range, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_protect_unprotect_cycles_allocate_nothing_more,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_without_large_pages_every_leaf_is_4k, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_bad_ranges_are_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_out_of_pages_is_reported, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
